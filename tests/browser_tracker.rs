//! The tracker end to end in real headless Chromium: a page served here embeds the snippet,
//! `tracker-js/e2e/drive.mjs` (playwright-core driving Debian's `chromium`) plays a visitor, and
//! this test reads back what reached the database, field by field.
//!
//! Needs `/usr/bin/chromium`, `node` and `tracker-js/node_modules` (`cd tracker-js && npm ci`).
//! Without them the test is reported ignored, unless `FOOTFALL_REQUIRE_BROWSER` is set (as in
//! CI), in which case it fails.

mod support;

use footfall::store::StoredEvent;
use serde_json::json;
use std::time::{Duration, Instant};
use support::driver::{CHROMIUM, require_browser, run_driver, serve_page};
use support::{Backend, Options, TestApp};

both_backends!(browser: tracker_in_a_real_browser_sends_exactly_the_expected_events);

/// The user agent drive.mjs gives every browser context (not "HeadlessChrome", which footfall
/// drops as a bot).
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The customer's page, for every path. `stats.footfall.test` and `example.com` are mapped to
/// footfall and to this page's server by drive.mjs (Chromium's --host-resolver-rules).
const PAGE: &str = r#"<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>footfall end-to-end</title>
<script defer data-domain="example.com" data-webdriver="allow" src="http://stats.footfall.test/js/script.js"></script>
</head>
<body>
<button id="push" onclick="history.pushState({}, '', '/spa/page2')">page 2</button>
<button id="push-again" onclick="history.pushState({}, '', '/spa/page2')">page 2, again</button>
<button id="signup" onclick="footfall('Signup', {props: {plan: 'pro', seats: 3}, callback: function () { window.signupCallbacks = (window.signupCallbacks || 0) + 1 }})">Sign up</button>
<a id="outbound" href="https://other.org/landing">elsewhere</a>
</body>
</html>
"#;

async fn tracker_in_a_real_browser_sends_exactly_the_expected_events(backend: Backend) {
    require_browser();
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let site = app.site("example.com").await;
    let (site_port, page_server) = serve_page(PAGE);

    let config =
        json!({"site_port": site_port, "stats_port": app.port, "chromium": CHROMIUM}).to_string();
    let run = tokio::task::spawn_blocking(move || run_driver("drive.mjs", &config))
        .await
        .unwrap_or_else(|e| panic!("driver thread: {e}"));
    let report = run.report();

    // The sentinel came last; once it is stored, anything the opt-out/DNT/GPC pages had sent
    // would have been accepted too. Stopping the server then stores everything accepted.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = app
            .store
            .recent_events(site.id, 100)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if events.iter().any(|e| e.path == "/sentinel") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sentinel pageview never arrived; stored: {events:#?}\ndriver: {report}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    page_server.stop(true).await;
    let (stored, store, db) = app.stop().await;
    let mut events: Vec<StoredEvent> = store
        .recent_events(site.id, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    events.reverse(); // oldest first
    let sessions = store
        .recent_sessions(site.id, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let salt = store
        .salt_for_day(chrono::Utc::now().date_naive())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.cleanup().await;

    let dump = || format!("stored: {events:#?}\ndriver: {report}");
    let rows: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.name.as_str(), e.path.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("pageview", "/"),
            ("pageview", "/spa/page2"),
            ("pageview", "/"), // back: popstate
            ("Signup", "/"),
            ("Outbound Link: Click", "/"),
            ("pageview", "/sentinel"),
        ],
        "{}",
        dump()
    );
    assert_eq!(stored, 6, "the writer stored {stored} events\n{}", dump());

    // The landing pageview, field by field.
    let landing = &events[0];
    assert_eq!(landing.site_id, site.id.0);
    assert_eq!(landing.hostname, "example.com");
    assert_eq!(
        landing.referrer.as_deref(),
        Some("https://news.ycombinator.com/")
    );
    assert_eq!(landing.referrer_source.as_deref(), Some("Hacker News"));
    assert_eq!(landing.utm_source.as_deref(), Some("e2e"));
    assert_eq!(landing.utm_medium, None);
    assert_eq!(landing.utm_campaign.as_deref(), Some("launch"));
    assert_eq!(landing.utm_content, None);
    assert_eq!(landing.utm_term, None);
    assert_eq!(landing.browser, "Chrome");
    assert_eq!(landing.browser_version, "131");
    assert_eq!(landing.os, "Linux");
    assert_eq!(landing.device, "desktop");
    assert_eq!(landing.country, None);
    assert_eq!(landing.viewport_width, Some(1280));
    assert_eq!(landing.props, None);
    // The documented visitor hash of the day's salt, the site, the peer address and the UA.
    let ip = "127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        landing.visitor_id,
        footfall::ingest::visitor::hash(&salt.key, site.id, ip, UA).0
    );

    // What every row shares: one browser, one visitor, one visit (the sentinel's fresh browser
    // context has the same IP and UA on the same day, hence the same visitor, within the
    // session timeout).
    for e in &events {
        assert_eq!(e.hostname, "example.com", "{e:#?}");
        assert_eq!(
            (
                e.browser.as_str(),
                e.browser_version.as_str(),
                e.os.as_str()
            ),
            ("Chrome", "131", "Linux"),
            "{e:#?}"
        );
        assert_eq!(e.device, "desktop", "{e:#?}");
        assert_eq!(e.viewport_width, Some(1280), "{e:#?}");
        assert_eq!(e.visitor_id, landing.visitor_id, "{e:#?}");
        assert_eq!(e.session_id, landing.session_id, "{e:#?}");
    }
    // The SPA keeps its document.referrer; only URLs that still carry the query have UTMs.
    for (i, e) in events.iter().enumerate().take(5) {
        assert_eq!(
            e.referrer.as_deref(),
            Some("https://news.ycombinator.com/"),
            "row {i}: {e:#?}"
        );
        assert_eq!(
            e.referrer_source.as_deref(),
            Some("Hacker News"),
            "row {i}: {e:#?}"
        );
        let utm = (e.utm_source.as_deref(), e.utm_campaign.as_deref());
        if e.path == "/" {
            assert_eq!(utm, (Some("e2e"), Some("launch")), "row {i}: {e:#?}");
        } else {
            assert_eq!(utm, (None, None), "row {i}: {e:#?}");
        }
    }
    assert_eq!(events[1].props, None);
    assert_eq!(events[2].props, None);
    assert_eq!(
        events[3].props,
        Some(json!({"plan": "pro", "seats": "3"})),
        "{}",
        dump()
    );
    assert_eq!(
        events[4].props,
        Some(json!({"url": "https://other.org/landing"})),
        "{}",
        dump()
    );
    let sentinel = &events[5];
    assert_eq!(sentinel.referrer, None, "{sentinel:#?}");
    assert_eq!(sentinel.referrer_source, None, "{sentinel:#?}");
    assert_eq!(sentinel.utm_source, None, "{sentinel:#?}");
    assert_eq!(sentinel.props, None, "{sentinel:#?}");
    for e in &events {
        assert!(
            !["/optout", "/dnt", "/gpc"].contains(&e.path.as_str()),
            "sent despite opt-out/DNT/GPC: {e:#?}"
        );
    }

    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    let session = &sessions[0];
    assert_eq!(session.id, landing.session_id);
    assert_eq!(session.visitor_id, landing.visitor_id);
    assert_eq!(session.entry_path, "/");
    assert_eq!(session.exit_path, "/sentinel");
    assert_eq!((session.pageviews, session.events), (4, 6), "{session:#?}");
    assert_eq!(session.referrer_source.as_deref(), Some("Hacker News"));
}
