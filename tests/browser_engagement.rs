//! Engagement end to end in real headless Chromium (issue 14): a page with
//! `script.engagement.js`, a visitor who moves and scrolls for a few seconds and then closes the tab
//! (`tracker-js/e2e/engagement.mjs`), and what footfall stored: the landing pageview's engaged
//! time and scroll depth, with no event or visit figure changed by the update.
//!
//! Needs `/usr/bin/chromium`, `node` and `tracker-js/node_modules` (see `browser_tracker.rs`).

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::driver::{CHROMIUM, require_browser, run_driver, serve_page};
use support::{Backend, Options, TestApp};

both_backends!(browser: the_landing_pageview_gets_the_engaged_time_and_scroll_depth_of_its_visit);

/// A 4,000 px page with the engagement tracker.
const PAGE: &str = r#"<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>footfall engagement end-to-end</title>
<style>html, body { margin: 0; } main { height: 4000px; }</style>
<script defer data-domain="example.com" data-webdriver="allow" src="http://stats.footfall.test/js/script.engagement.js"></script>
</head>
<body><main>A long read.</main></body>
</html>
"#;

async fn the_landing_pageview_gets_the_engaged_time_and_scroll_depth_of_its_visit(
    backend: Backend,
) {
    require_browser();
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let site = app.site("example.com").await;
    let (site_port, page_server) = serve_page(PAGE);
    let config =
        json!({"site_port": site_port, "stats_port": app.port, "chromium": CHROMIUM}).to_string();
    let run = tokio::task::spawn_blocking(move || run_driver("engagement.mjs", &config))
        .await
        .unwrap_or_else(|e| panic!("driver thread: {e}"));
    let report = run.report();

    // The pageview stored and the update applied (the writer flushes within its age).
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = loop {
        let events = app
            .store
            .recent_events(site.id, 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let applied = events
            .iter()
            .any(|e| e.path == "/long" && e.engaged_ms.is_some());
        if applied {
            break events;
        }
        if Instant::now() >= deadline {
            let metrics = app
                .client
                .get(format!("{}/metrics", app.address))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .text()
                .await
                .unwrap_or_default();
            let counted: Vec<&str> = metrics
                .lines()
                .filter(|l| l.contains("engagement") || l.contains("rejected"))
                .collect();
            panic!("no engagement stored: {events:#?}\nmetrics: {counted:#?}\ndriver: {report}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    page_server.stop(true).await;
    let rows: Vec<(&str, &str, Option<i32>)> = events
        .iter()
        .rev()
        .map(|e| (e.name.as_str(), e.path.as_str(), e.scroll_depth))
        .collect();
    // The update is no event of its own. 2,000 px scrolled of 4,000 with 800 in view: 70 %.
    assert_eq!(rows, [("pageview", "/long", Some(70))], "driver: {report}");
    // About 3.5 s of activity, counted while the page was visible and focused.
    let engaged = events.iter().find_map(|e| e.engaged_ms).unwrap_or(-1);
    assert!(
        (2500..=15_000).contains(&engaged),
        "{engaged} ms
driver: {report}"
    );
    let sessions = app
        .store
        .recent_sessions(site.id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(
        (sessions[0].pageviews, sessions[0].events),
        (1, 1),
        "{sessions:#?}"
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
