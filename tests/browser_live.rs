//! The live view end to end in real headless Chromium: this test runs footfall, creates a user
//! and posts an event; `tracker-js/e2e/live.mjs` (playwright-core driving Debian's `chromium`)
//! logs in, opens the live page, waits for its stream to connect, only then posts two more
//! events, and reports the table as it stood on screen; this test checks that the earlier event
//! was there at once and the later ones appeared, newest on top.
//!
//! Needs `/usr/bin/chromium`, `node` and `tracker-js/node_modules` (`cd tracker-js && npm ci`).
//! Without them the test is reported ignored, unless `FOOTFALL_REQUIRE_BROWSER` is set (as in
//! CI), in which case it fails.

mod support;

use serde_json::{Value, json};
use support::driver::{CHROMIUM, require_browser, run_driver};
use support::{Backend, CHROME_UA, OWNER_EMAIL, OWNER_PASSWORD, Options, TestApp, pageview};

both_backends!(browser: the_live_view_in_a_real_browser_shows_events_sent_after_it_opened);

/// The Page column of the table the driver read, top row first.
fn pages(rows: &Value) -> Vec<&str> {
    rows.as_array()
        .map(|rows| rows.iter().filter_map(|row| row[2].as_str()).collect())
        .unwrap_or_default()
}

async fn the_live_view_in_a_real_browser_shows_events_sent_after_it_opened(backend: Backend) {
    require_browser();
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    app.add_owner().await;
    let status = app
        .post_event(&pageview("/before-open"), CHROME_UA)
        .await
        .status();
    assert_eq!(status, 202);
    app.wait_for_events("example.com", 1).await;

    let config = json!({
        "base": app.address,
        "email": OWNER_EMAIL,
        "password": OWNER_PASSWORD,
        "chromium": CHROMIUM,
        "user_agent": CHROME_UA,
        "before": ["/before-open"],
        "paths": ["/after-open-1", "/after-open-2"],
    })
    .to_string();
    let run = tokio::task::spawn_blocking(move || run_driver("live.mjs", &config))
        .await
        .unwrap_or_else(|e| panic!("driver thread: {e}"));
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
    let report = run.report();
    eprintln!("live.mjs saw: {report}");

    let scripts = report["script_responses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        scripts.iter().any(|s| {
            s["url"]
                .as_str()
                .is_some_and(|u| u.contains("/static/live.js?v="))
                && s["status"] == 200
        }),
        "the page's script was not loaded: {scripts:?}"
    );
    assert_eq!(pages(&report["rows_at_open"]), ["/before-open"], "{report}");
    assert_eq!(
        pages(&report["rows_after"]),
        ["/after-open-2", "/after-open-1", "/before-open"],
        "{report}"
    );
    let row = &report["rows_after"][0];
    assert_eq!(row[1], "pageview", "{row}");
    assert_eq!(row[3], "Direct / none", "{row}");
    assert!(
        row[5].as_str().is_some_and(|d| d.contains("Chrome")),
        "{row}"
    );
    assert!(
        report["status_after"]
            .as_str()
            .is_some_and(|s| s.starts_with("Connected")),
        "{report}"
    );
    assert_eq!(
        report["console_errors"],
        json!([]),
        "the live view logged errors: {}",
        report["console_errors"]
    );
}
