//! The dashboard end to end in real headless Chromium: this test runs footfall, creates a user
//! and posts known events; `tracker-js/e2e/dashboard.mjs` (playwright-core driving Debian's
//! `chromium`) logs in, opens the site, clicks a row of the Page table to filter, switches the
//! period and removes the filter, reporting what it saw on screen; this test checks it.
//!
//! Needs `/usr/bin/chromium`, `node` and `tracker-js/node_modules` (`cd tracker-js && npm ci`).
//! Without them the test is reported ignored, unless `FOOTFALL_REQUIRE_BROWSER` is set (as in
//! CI), in which case it fails. Set `FOOTFALL_DASHBOARD_SCREENSHOT=/tmp/dashboard.png`
//! for a full-page screenshot of the unfiltered dashboard.

mod support;

use serde_json::{Value, json};
use support::driver::{CHROMIUM, require_browser, run_driver};
use support::{
    Backend, CHROME_UA, IPHONE_UA, OWNER_EMAIL, OWNER_PASSWORD, Options, TestApp, pageview,
};

both_backends!(browser: the_dashboard_in_a_real_browser_logs_in_filters_and_switches_periods);

const SCREENSHOT_ENV: &str = "FOOTFALL_DASHBOARD_SCREENSHOT";

/// The labels of a `{label: visitors}` object the driver read, in page order.
fn labels(rows: &Value) -> Vec<&str> {
    rows.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

async fn the_dashboard_in_a_real_browser_logs_in_filters_and_switches_periods(backend: Backend) {
    require_browser();
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    app.add_owner().await;

    // Two visitors (same IP, two user agents): one lands on / from Hacker News and reads
    // /pricing twice, the other reads /docs. Four pageviews.
    let from_hn = r#"{"n":"pageview","u":"https://example.com/","d":"example.com","r":"https://news.ycombinator.com/"}"#;
    let events = [
        (from_hn.to_owned(), CHROME_UA),
        (pageview("/pricing"), CHROME_UA),
        (pageview("/pricing"), CHROME_UA),
        (pageview("/docs"), IPHONE_UA),
    ];
    for (body, ua) in &events {
        let status = app.post_event(body, ua).await.status();
        assert_eq!(status, 202, "posting {body}");
    }
    app.wait_for_events("example.com", events.len()).await;

    let mut config = json!({
        "base": app.address,
        "email": OWNER_EMAIL,
        "password": OWNER_PASSWORD,
        "chromium": CHROMIUM,
    });
    if let Some(path) = std::env::var_os(SCREENSHOT_ENV) {
        config["screenshot"] = json!(path.to_string_lossy());
    }
    let config = config.to_string();
    let run = tokio::task::spawn_blocking(move || run_driver("dashboard.mjs", &config))
        .await
        .unwrap_or_else(|e| panic!("driver thread: {e}"));
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
    let report = run.report();
    eprintln!("dashboard.mjs saw: {report}");

    // Logged in and landed on the dashboard (the login form's `next`).
    let dashboard_url = report["dashboard_url"].as_str().unwrap_or_default();
    assert!(
        dashboard_url.ends_with("/sites/example.com"),
        "landed on {dashboard_url}"
    );

    // Before filtering: everything.
    let figures = &report["figures_before"];
    assert_eq!(figures["Unique visitors"], "2", "{figures}");
    assert_eq!(figures["Pageviews"], "4", "{figures}");
    let rows = &report["rows_before"];
    let mut before = labels(rows);
    before.sort_unstable();
    assert_eq!(before, ["/", "/docs", "/pricing"], "{rows}");
    assert_eq!(rows["/"], "1", "{rows}");
    assert_eq!(rows["/pricing"], "1", "{rows}");
    assert_eq!(rows["/docs"], "1", "{rows}");

    // Clicking /pricing in the Page table filters by it.
    let filtered_url = report["filtered_url"].as_str().unwrap_or_default();
    assert!(
        filtered_url.contains("f=page%3Ais%3A%2Fpricing"),
        "{filtered_url}"
    );
    assert_eq!(
        report["chips_filtered"],
        json!(["Page is /pricing ×"]),
        "{report}"
    );
    assert_eq!(labels(&report["rows_filtered"]), ["/pricing"], "{report}");
    let figures = &report["figures_filtered"];
    assert_eq!(figures["Unique visitors"], "1", "{figures}");
    assert_eq!(figures["Pageviews"], "2", "{figures}");

    // The table's "Export CSV" link downloads the rows on screen: the filtered view's.
    let filename = report["export_filename"].as_str().unwrap_or_default();
    assert!(
        filename.starts_with("example.com-page-") && filename.ends_with(".csv"),
        "{filename}"
    );
    let csv = report["export_csv"].as_str().unwrap_or_default();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"page,visitors,pageviews,events"),
        "{csv}"
    );
    assert_eq!(lines.len(), 2, "one row, /pricing: {csv}");
    assert!(lines[1].starts_with("/pricing,1,"), "{csv}");

    // Switching the period keeps the filter and marks the period as the current one.
    let today_url = report["today_url"].as_str().unwrap_or_default();
    assert!(today_url.contains("period=today"), "{today_url}");
    assert!(
        today_url.contains("f=page%3Ais%3A%2Fpricing"),
        "the filter did not survive the period switch: {today_url}"
    );
    assert_eq!(report["today_aria_current"], "page", "{report}");
    assert_eq!(report["active_periods"], json!(["Today"]), "{report}");
    assert_eq!(report["chip_after_period"], true, "{report}");
    assert_eq!(labels(&report["rows_today"]), ["/pricing"], "{report}");

    // Removing the chip removes the filter, and keeps the period.
    let unfiltered_url = report["unfiltered_url"].as_str().unwrap_or_default();
    assert!(!unfiltered_url.contains("f="), "{unfiltered_url}");
    assert!(unfiltered_url.contains("period=today"), "{unfiltered_url}");
    assert_eq!(report["chips_after_remove"], 0, "{report}");
    let mut after = labels(&report["rows_after_remove"]);
    after.sort_unstable();
    assert_eq!(after, ["/", "/docs", "/pricing"], "{report}");

    // No console errors, page errors or CSP violations anywhere.
    assert_eq!(
        report["console_errors"],
        json!([]),
        "the dashboard logged errors: {}",
        report["console_errors"]
    );
}
