//! A browser version is shown and counted with its browser ("Edge 131", not "131"): two browsers
//! with the same major version are two rows, and a filter on one counts only its visits — on the
//! dashboard (the query engine) and from raw rows (SQL).

#[path = "support/browser.rs"]
mod browser;
mod support;

use footfall::stats::Dimension;
use support::{Backend, Options, TestApp, pageview, visits};

both_backends!(browser_versions_are_counted_and_shown_with_their_browser);

const CHROME_131: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const EDGE_131: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";

async fn browser_versions_are_counted_and_shown_with_their_browser(backend: Backend) {
    let options = Options {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))],
        sites: vec![("example.com", "UTC")],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    // Three Chrome 131 visitors and two Edge 131 visitors (one address each).
    for (i, ua) in [CHROME_131, CHROME_131, CHROME_131, EDGE_131, EDGE_131]
        .into_iter()
        .enumerate()
    {
        let status = app
            .client
            .post(format!("{}/api/event", app.address))
            .header("Content-Type", "text/plain")
            .header("User-Agent", ua)
            .header("X-Forwarded-For", format!("203.0.113.{}", i + 1))
            .body(pageview("/"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 202);
    }
    app.wait_for_events("example.com", 5).await;
    let site = app.site("example.com").await;
    let today = chrono::Utc::now().date_naive().to_string();

    // From raw rows, and from the engine (the app's store), the same two rows.
    let raw = footfall::store::connect_with(&app.db.url, false)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    for (what, store) in [("SQL", &raw), ("engine", &app.store)] {
        let rows = store
            .breakdown(
                &visits::query(&site, &today, &today, vec![]),
                &Dimension::BrowserVersion,
                10,
                0,
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let got: Vec<(Option<&str>, i64)> = rows
            .iter()
            .map(|r| (r.value.as_deref(), r.visitors))
            .collect();
        assert_eq!(
            got,
            [(Some("Chrome 131"), 3), (Some("Edge 131"), 2)],
            "{what}"
        );
        let edge = store
            .aggregate(&visits::query(
                &site,
                &today,
                &today,
                vec![visits::is(Dimension::BrowserVersion, "Edge 131")],
            ))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(edge.visitors, 2, "{what}: filtered on Edge 131");
    }

    // The dashboard shows the rows by name.
    let mut owner = browser::log_in_owner(&app).await;
    let page = owner.get("/sites/example.com?period=today").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Chrome 131") && page.body.contains("Edge 131"),
        "the browser version table does not name the browsers"
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
