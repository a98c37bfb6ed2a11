//! Plausible's and Umami's snippets, exactly as their vendors document them, on pages in real
//! headless Chromium pointed at footfall (issue 15): each snippet variant plays its actions
//! (`tracker-js/e2e/snippets.mjs`) and this test reads back what was stored, field by field.
//!
//! Needs `/usr/bin/chromium`, `node` and `tracker-js/node_modules` (`cd tracker-js && npm ci`);
//! reported ignored without them unless `FOOTFALL_REQUIRE_BROWSER` is set.

mod support;

use footfall::domain::UmamiId;
use footfall::store::StoredEvent;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::driver::{CHROMIUM, require_browser, run_driver, serve_pages};
use support::{Backend, Options, TestApp, TestDb};

both_backends!(browser: every_snippet_variant_stores_what_its_visitor_did);

const UMAMI_ID: &str = "94db1cb1-74f4-4a40-ad6c-962362670409";
const STATS: &str = "http://stats.footfall.test";
const PLAUSIBLE_STUB: &str = "<script>window.plausible = window.plausible || function() { (window.plausible.q = window.plausible.q || []).push(arguments) }</script>";

/// A page of the customer's site embedding `head`.
fn page(head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>snippet</title>{head}</head><body>{body}</body></html>"
    )
}

/// A Plausible snippet loading `/js/<file>` with `attrs`.
fn plausible(file: &str, attrs: &str) -> String {
    format!(r#"<script defer data-domain="example.com"{attrs} src="{STATS}/js/{file}"></script>"#)
}

/// The customer's pages by path (every other path, and other.org, gets a plain page).
fn pages() -> HashMap<&'static str, String> {
    let mut pages = HashMap::new();
    pages.insert(
        "/plausible",
        page(
            &format!(
                "{}{PLAUSIBLE_STUB}<script>plausible('Signup', {{props: {{plan: 'pro'}}}})</script>",
                plausible("script.js", "")
            ),
            "",
        ),
    );
    pages.insert(
        "/hash",
        page(
            &plausible(
                "script.hash.js",
                &format!(r#" data-api="{STATS}/api/event""#),
            ),
            "",
        ),
    );
    pages.insert("/manual", page(&plausible("script.manual.js", ""), ""));
    pages.insert(
        "/outbound",
        page(
            &plausible("script.outbound-links.js", ""),
            r#"<a id="out" href="http://other.org/landing">elsewhere</a>"#,
        ),
    );
    pages.insert(
        "/downloads",
        page(
            &plausible("script.file-downloads.js", ""),
            r#"<a id="pdf" href="/files/report.pdf?v=1">report</a>"#,
        ),
    );
    pages.insert(
        "/tagged",
        page(
            &plausible("script.tagged-events.js", ""),
            r#"<button id="signup" class="plausible-event-name=Sign+Up plausible-event-plan=pro">Sign up</button>
            <form class="plausible-event-name=Newsletter" onsubmit="return false"><button id="subscribe">Subscribe</button></form>"#,
        ),
    );
    pages.insert(
        "/props",
        page(
            &plausible("script.pageview-props.js", r#" event-author="Ann""#),
            "",
        ),
    );
    pages.insert(
        "/admin/secret",
        page(
            &plausible("script.exclusions.js", r#" data-exclude="/admin/**""#),
            "",
        ),
    );
    pages.insert(
        "/combination",
        page(
            &plausible("script.tagged-events.outbound-links.js", ""),
            r#"<a id="docs" class="plausible-event-name=Docs" href="http://other.org/docs">docs</a>"#,
        ),
    );
    pages.insert(
        "/pa",
        page(
            &format!(
                r#"<script async src="{STATS}/js/pa-gYyxvZhkMzdzXBAtSeSNz.js"></script>
                <script>window.plausible=window.plausible||function(){{(plausible.q=plausible.q||[]).push(arguments)}},plausible.init=plausible.init||function(i){{plausible.o=i||{{}}}};plausible.init()</script>"#
            ),
            "",
        ),
    );
    pages.insert(
        "/umami",
        page(
            &format!(r#"<script defer src="{STATS}/script.js" data-website-id="{UMAMI_ID}"></script>"#),
            r#"<button id="signup" data-umami-event="Signup" data-umami-event-plan="pro">Sign up</button>"#,
        ),
    );
    pages
}

/// What each snippet's visitor does, and how many requests to footfall each step makes.
fn scenarios() -> Value {
    json!([
        {"name": "script.js, the stub, data-api-less", "steps": [
            {"goto": "/plausible?utm_source=e2e", "expect": 2},
            {"eval": "plausible('Purchase', {revenue: {amount: 9.99, currency: 'EUR'}, props: {order: '7'}})", "expect": 1},
        ]},
        {"name": "script.hash.js with data-api", "steps": [
            {"goto": "/hash#/a", "expect": 1},
            {"eval": "location.hash = '#/b'", "expect": 1},
        ]},
        {"name": "script.manual.js", "steps": [
            {"goto": "/manual", "expect": 0},
            {"eval": "history.pushState({}, '', '/manual/2')", "expect": 0},
            {"eval": "plausible('pageview', {u: 'http://example.com/users/:id'})", "expect": 1},
        ]},
        {"name": "script.outbound-links.js", "steps": [
            {"goto": "/outbound", "expect": 1},
            {"click": "#out", "expect": 1, "leaves": true},
        ]},
        {"name": "script.file-downloads.js", "steps": [
            {"goto": "/downloads", "expect": 1},
            {"click": "#pdf", "expect": 1, "leaves": true},
        ]},
        {"name": "script.tagged-events.js", "steps": [
            {"goto": "/tagged", "expect": 1},
            {"click": "#signup", "expect": 1},
            {"click": "#subscribe", "expect": 1},
        ]},
        {"name": "script.pageview-props.js", "steps": [
            {"goto": "/props", "expect": 1},
        ]},
        {"name": "script.exclusions.js", "steps": [
            {"goto": "/admin/secret", "expect": 0},
            {"eval": "history.pushState({}, '', '/blog')", "expect": 1},
        ]},
        {"name": "script.tagged-events.outbound-links.js", "steps": [
            {"goto": "/combination", "expect": 1},
            {"click": "#docs", "expect": 1, "leaves": true},
        ]},
        {"name": "pa-*.js", "steps": [
            {"goto": "/pa", "expect": 1},
        ]},
        {"name": "Umami's script.js", "steps": [
            {"goto": "/umami", "expect": 1},
            {"click": "#signup", "expect": 1},
            {"eval": "umami.track('Checkout', {total: 12})", "expect": 1},
        ]},
    ])
}

/// One stored event as this test checks it.
type Row = (
    String,
    String,
    String,
    Option<Value>,
    Option<i64>,
    Option<String>,
);

fn row(e: &StoredEvent) -> Row {
    (
        e.name.clone(),
        e.hostname.clone(),
        e.path.clone(),
        e.props.clone(),
        e.revenue_micros,
        e.utm_source.clone(),
    )
}

async fn every_snippet_variant_stores_what_its_visitor_did(backend: Backend) {
    require_browser();
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = TestApp::spawn_on(db, Options::default()).await;
    let site = app.site("example.com").await;
    let id = UmamiId::parse(UMAMI_ID).unwrap_or_else(|e| panic!("{e}"));
    app.store
        .set_umami_id(site.id, Some(&id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The collector reads the new id on its next refresh of the site list.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe = json!({"type": "event", "payload": {"website": UMAMI_ID, "url": "https://example.com/probe", "name": "probe"}});
        let status = app
            .client
            .post(format!("{}/api/send", app.address))
            .header(
                "User-Agent",
                "Googlebot/2.1 (+http://www.google.com/bot.html)",
            )
            .body(probe.to_string())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Umami id never reached the collector"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (site_port, page_server) = serve_pages(pages(), page("", "<p>elsewhere</p>"));
    let config = json!({
        "site_port": site_port,
        "stats_port": app.port,
        "chromium": CHROMIUM,
        "scenarios": scenarios(),
    })
    .to_string();
    let run = tokio::task::spawn_blocking(move || run_driver("snippets.mjs", &config))
        .await
        .unwrap_or_else(|e| panic!("driver thread: {e}"));
    let report = run.report();

    let expected: Vec<Row> = {
        let r = |name: &str, path: &str, props: Option<Value>| {
            (
                name.to_owned(),
                "example.com".to_owned(),
                path.to_owned(),
                props,
                None,
                None,
            )
        };
        vec![
            // script.js with Plausible's stub: the queued call comes after the pageview.
            (
                "pageview".into(),
                "example.com".into(),
                "/plausible".into(),
                None,
                None,
                Some("e2e".into()),
            ),
            (
                "Signup".into(),
                "example.com".into(),
                "/plausible".into(),
                Some(json!({"plan": "pro"})),
                None,
                Some("e2e".into()),
            ),
            (
                "Purchase".into(),
                "example.com".into(),
                "/plausible".into(),
                Some(json!({"order": "7"})),
                Some(9_990_000),
                Some("e2e".into()),
            ),
            r("pageview", "/hash#/a", None),
            r("pageview", "/hash#/b", None),
            r("pageview", "/users/:id", None),
            r("pageview", "/outbound", None),
            r(
                "Outbound Link: Click",
                "/outbound",
                Some(json!({"url": "http://other.org/landing"})),
            ),
            r("pageview", "/downloads", None),
            r(
                "File Download",
                "/downloads",
                Some(json!({"url": "http://example.com/files/report.pdf"})),
            ),
            r("pageview", "/tagged", None),
            r("Sign Up", "/tagged", Some(json!({"plan": "pro"}))),
            r("Newsletter", "/tagged", None),
            r("pageview", "/props", Some(json!({"author": "Ann"}))),
            r("pageview", "/blog", None),
            r("pageview", "/combination", None),
            r(
                "Docs",
                "/combination",
                Some(json!({"url": "http://other.org/docs"})),
            ),
            r("pageview", "/pa", None),
            r("pageview", "/umami", None),
            r("Signup", "/umami", Some(json!({"plan": "pro"}))),
            r("Checkout", "/umami", Some(json!({"total": "12"}))),
        ]
    };

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events;
    loop {
        events = app
            .store
            .recent_events(site.id, 1000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if events.len() >= expected.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} events arrived: {events:#?}\ndriver: {report}",
            events.len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    page_server.stop(true).await;
    let (_, store, db) = app.stop().await;
    let mut events = store
        .recent_events(site.id, 1000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    events.sort_by_key(|e| e.id);
    let mut stored: Vec<Row> = events.iter().map(row).collect();
    // The landing's pageview and the stub's queued call leave the page together, as two
    // beacons on two connections: either may be stored first.
    stored[..2].sort_by_key(|r| r.0.clone());
    let mut expected = expected;
    expected[..2].sort_by_key(|r| r.0.clone());
    assert_eq!(stored, expected, "driver: {report}");
    for e in &events {
        // The visitor's browser, not a bot; its viewport (Umami: its screen) width.
        assert_eq!(
            (e.browser.as_str(), e.device.as_str()),
            ("Chrome", "desktop"),
            "{e:?}"
        );
        assert_eq!(e.viewport_width, Some(1280), "{e:?}");
        assert_eq!(e.revenue_currency.is_some(), e.name == "Purchase", "{e:?}");
    }
    db.cleanup().await;
}
