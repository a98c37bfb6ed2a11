//! Addresses read as an address bar shows them, on both backends: a page sent percent-encoded
//! (`/%C3%BCber`, as browsers send it) or not (`/über`, as a server-side sender may) is one page
//! `/über` in the dashboard, the live view, the CSV exports and the stats API; a filter on either
//! spelling matches it; UTM values and prop values are decoded too; what would change an
//! address's meaning or hide text (`%2F`, `%20`, direction overrides) and bytes that are not
//! UTF-8 stay encoded; and a database written before the change is decoded when footfall starts,
//! query-engine segments included.

#[path = "support/browser.rs"]
mod browser;
mod support;

use footfall::auth::api_key;
use footfall::stats::Dimension;
use footfall::store::{ApiKeyScope, build_pending};
use serde_json::{Value, json};
use std::time::Duration;
use support::visits::{breakdown, query};
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp};

both_backends!(
    addresses_read_decoded_everywhere_and_filters_match_either_spelling,
    rows_stored_encoded_before_the_upgrade_are_decoded_at_start,
);

/// Each event sent, and the path it must be stored and read as.
fn events() -> Vec<(Value, &'static str)> {
    let pv = |u: &str| json!({"n": "pageview", "u": u, "d": "example.com"});
    let mut with_utm = pv(
        "https://example.com/%E6%97%A5%E6%9C%AC?utm_campaign=%C3%A9t%C3%A9+d%27or&utm_source=%FFx",
    );
    with_utm["r"] = json!("https://news.example/%C3%A0-la-une?id=1");
    vec![
        (pv("https://example.com/%C3%BCber"), "/über"),
        (pv("https://example.com/über"), "/über"),
        (with_utm, "/日本"),
        (pv("https://example.com/%FF%FE"), "/%FF%FE"),
        (
            pv("https://example.com/%E2%80%AEgnp.exe"),
            "/%E2%80%AEgnp.exe",
        ),
        (pv("https://example.com/a%2fb%20c"), "/a%2Fb%20c"),
        (pv("https://example.com/%3Cscript%3E"), "/%3Cscript%3E"),
        (
            json!({"n": "Download", "u": "https://example.com/%C3%BCber", "d": "example.com",
                   "p": {"file": "/docs/%C3%A9t%C3%A9.pdf", "share": "50% off"}}),
            "/über",
        ),
    ]
}

struct Api<'a> {
    app: &'a TestApp,
    key: String,
}

impl Api<'_> {
    async fn ok(&self, endpoint: &str, pairs: &[(&str, &str)]) -> Value {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let response = self
            .app
            .client
            .get(format!("{}/api/v1/{endpoint}?{query}", self.app.address))
            .header("Authorization", format!("Bearer {}", self.key))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        assert_eq!(response.status(), 200, "{endpoint}?{query}");
        response.json().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// A breakdown's rows as (value, pageviews, events).
    async fn rows(&self, property: &str, filters: &[&str]) -> Vec<(String, i64, i64)> {
        let mut pairs = vec![
            ("site", "example.com"),
            ("period", "today"),
            ("property", property),
        ];
        pairs.extend(filters.iter().map(|f| ("filters", *f)));
        let body = self.ok("stats/breakdown", &pairs).await;
        let mut rows: Vec<_> = body["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|r| {
                (
                    r[property].as_str().unwrap_or_default().to_owned(),
                    r["pageviews"].as_i64().unwrap_or(-1),
                    r["events"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        rows.sort();
        rows
    }

    async fn pageviews(&self, filter: &str) -> i64 {
        let body = self
            .ok(
                "stats/aggregate",
                &[
                    ("site", "example.com"),
                    ("period", "today"),
                    ("filters", filter),
                ],
            )
            .await;
        body["results"]["pageviews"].as_i64().unwrap_or(-1)
    }
}

async fn addresses_read_decoded_everywhere_and_filters_match_either_spelling(backend: Backend) {
    let options = Options {
        sites: vec![("example.com", "UTC")],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    let sent = events();
    for (body, _) in &sent {
        // The one with UTM parameters and a referrer is another visitor's visit.
        let ua = if body.get("r").is_some() {
            IPHONE_UA
        } else {
            CHROME_UA
        };
        let response = app.post_event(&body.to_string(), ua).await;
        assert_eq!(response.status(), 202, "{body}");
    }
    let mut stored = app.wait_for_events("example.com", sent.len()).await;
    stored.sort_by_key(|e| e.id);
    let paths: Vec<_> = stored.iter().map(|e| e.path.as_str()).collect();
    let expected: Vec<_> = sent.iter().map(|(_, path)| *path).collect();
    assert_eq!(paths, expected);

    let (_, key) = api_key::create_key(app.store.as_ref(), "tests", &ApiKeyScope::AllSites)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let api = Api { app: &app, key };

    // The stats API: one page /über for both spellings, the rest as the rule says.
    let pages = api.rows("page", &[]).await;
    let page = |p: &str| pages.iter().find(|r| r.0 == p).cloned();
    assert_eq!(page("/über"), Some(("/über".into(), 2, 3)), "{pages:?}");
    for kept in [
        "/日本",
        "/%FF%FE",
        "/%E2%80%AEgnp.exe",
        "/a%2Fb%20c",
        "/%3Cscript%3E",
    ] {
        assert_eq!(page(kept).map(|r| r.1), Some(1), "{kept} in {pages:?}");
    }
    assert!(
        pages
            .iter()
            .all(|r| !r.0.contains("%C3") && !r.0.contains("%E6")),
        "{pages:?}"
    );
    assert_eq!(
        api.rows("utm_campaign", &[]).await,
        [("".into(), 6, 7), ("été d'or".into(), 1, 1)]
    );
    assert_eq!(
        api.rows("utm_source", &[]).await,
        [("".into(), 6, 7), ("%FFx".into(), 1, 1)]
    );
    assert_eq!(
        api.rows("referrer", &[]).await,
        [
            ("".into(), 6, 7),
            ("https://news.example/à-la-une".into(), 1, 1)
        ]
    );
    assert_eq!(
        api.rows("prop:file", &[]).await,
        [("/docs/été.pdf".into(), 0, 1)]
    );
    assert_eq!(
        api.rows("prop:share", &[]).await,
        [("50% off".into(), 0, 1)]
    );

    // A filter on the decoded page, on the encoded one and on a part of it: the same page.
    for filter in [
        "page:is:/über",
        "page:is:/%C3%BCber",
        "page:is:/%c3%bcber",
        "page:contains:über",
        "page:contains:%C3%BC",
    ] {
        assert_eq!(api.pageviews(filter).await, 2, "{filter}");
    }
    assert_eq!(api.pageviews("page:is:/%E6%97%A5%E6%9C%AC").await, 1);
    assert_eq!(api.pageviews("page:is:/a%2Fb%20c").await, 1);
    assert_eq!(api.pageviews("page:is:/a/b c").await, 0, "%2F is not /");
    assert_eq!(api.pageviews("entry_page:is:/%C3%BCber").await, 6);
    assert_eq!(
        api.pageviews("referrer:is:https://news.example/%C3%A0-la-une")
            .await,
        1
    );
    assert_eq!(
        api.rows("event_name", &["prop:file:is:/docs/%C3%A9t%C3%A9.pdf"])
            .await,
        [("Download".into(), 0, 1)]
    );

    // The dashboard: decoded labels, escaped, and filter links that lead back to the same page.
    let dashboard = browser.get("/sites/example.com?period=today").await;
    assert_eq!(dashboard.status, 200);
    for label in [
        ">/über<",
        ">/日本<",
        ">/%FF%FE<",
        ">/%E2%80%AEgnp.exe<",
        ">/%3Cscript%3E<",
    ] {
        assert!(
            dashboard.body.contains(label),
            "{label} not on the dashboard"
        );
    }
    assert!(!dashboard.body.contains(">/%C3%BCber<"));
    assert!(!dashboard.body.contains("<script>"));
    assert!(!dashboard.body.contains('\u{202E}'));
    let link = "f=page%3Ais%3A%2F%C3%BCber";
    assert!(dashboard.body.contains(link), "no filter link {link}");
    let filtered = browser
        .get("/sites/example.com?period=today&f=page%3Ais%3A%2F%C3%BCber")
        .await;
    assert_eq!(filtered.status, 200);
    assert!(filtered.body.contains("Page is /über"), "no filter chip");
    assert!(
        !filtered.body.contains(">/日本<"),
        "the filter keeps other pages out"
    );

    // The CSV exports.
    let csv = browser
        .get("/sites/example.com/export/events.csv?period=today")
        .await;
    assert_eq!(csv.status, 200);
    for text in [
        "/über",
        "/日本",
        "été d'or",
        "https://news.example/à-la-une",
        "/docs/été.pdf",
    ] {
        assert!(csv.body.contains(text), "{text} not in events.csv");
    }
    assert!(!csv.body.contains("%C3"), "{}", csv.body);
    let pages_csv = browser
        .get("/sites/example.com/export/page.csv?period=today")
        .await;
    assert!(pages_csv.body.contains("/über,"), "{}", pages_csv.body);

    // The live view's stream.
    let live = browser
        .request(reqwest::Method::GET, "/sites/example.com/live/stream")
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(live.status(), 200);
    let text = read_until(live, &["/über", "/日本", "/%FF%FE"]).await;
    assert!(!text.contains("%C3%BC"), "{text}");

    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

/// Reads an event stream until every one of `wanted` has appeared (at most 20 s).
async fn read_until(mut response: reqwest::Response, wanted: &[&str]) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !wanted.iter().all(|w| text.contains(w)) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("live stream: {wanted:?} not all seen in {text}"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("live stream ended: {text}"));
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

async fn build(store: &footfall::store::DynStore) {
    let report = build_pending(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ran);
}

async fn rows_stored_encoded_before_the_upgrade_are_decoded_at_start(backend: Backend) {
    let Some(fixture) = support::known::fixture(backend).await else {
        return;
    };
    let (store, db, site) = (fixture.store, fixture.db, fixture.site);
    build(&store).await;
    let q = query(&site, support::known::A, support::known::B, vec![]);
    let rename = |lines: Vec<support::visits::Line>, from: &str, to: &str| {
        let mut lines: Vec<_> = lines
            .into_iter()
            .map(|mut l| {
                if l.0.as_deref() == Some(from) {
                    l.0 = Some(to.to_owned());
                }
                l
            })
            .collect();
        lines.sort();
        lines
    };
    let sorted = |mut lines: Vec<support::visits::Line>| {
        lines.sort();
        lines
    };
    let mut expected = Vec::new();
    for dimension in [Dimension::Page, Dimension::EntryPage, Dimension::ExitPage] {
        let before = breakdown(&store, &q, dimension.clone()).await;
        assert!(before.iter().any(|l| l.0.as_deref() == Some("/pricing")));
        expected.push((dimension, rename(before, "/pricing", "/prïcing")));
    }
    let plan = Dimension::Prop("plan".into());
    let plans = rename(breakdown(&store, &q, plan.clone()).await, "pro", "prö");
    assert!(plans.iter().any(|l| l.0.as_deref() == Some("prö")));
    drop(store);

    // What a footfall before the change stored: the encoded form, and the upgrade pending.
    let props = match backend {
        Backend::Sqlite => "'{\"plan\":\"pr%C3%B6\"}'",
        Backend::Postgres => "CAST('{\"plan\":\"pr%C3%B6\"}' AS JSONB)",
    };
    support::run_sql(
        &db,
        &[
            "UPDATE events SET path = '/pr%C3%AFcing' WHERE path = '/pricing'",
            "UPDATE sessions SET entry_path = '/pr%C3%AFcing' WHERE entry_path = '/pricing'",
            "UPDATE sessions SET exit_path = '/pr%C3%AFcing' WHERE exit_path = '/pricing'",
            &format!(
                "UPDATE events SET props = {props} WHERE CAST(props AS TEXT) LIKE '%\"pro\"%'"
            ),
            "DELETE FROM pending_upgrades",
            "INSERT INTO pending_upgrades (name) VALUES ('decode_text')",
        ],
    )
    .await;

    // footfall serve on it decodes them in the background while it collects; the segments
    // of those days are rebuilt.
    let options = Options {
        sites: Vec::new(),
        ..Options::default()
    };
    let app = TestApp::spawn_on(db, options).await;
    let store = app.store.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // The app's own builder may hold the lock (Postgres): then it is building.
        build_pending(store.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut got = Vec::new();
        for (dimension, _) in &expected {
            got.push((
                dimension.clone(),
                sorted(breakdown(&store, &q, dimension.clone()).await),
            ));
        }
        let got_plans = sorted(breakdown(&store, &q, plan.clone()).await);
        if got == expected && got_plans == plans {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not decoded after 30 s: {got:?} {got_plans:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = store
        .recent_events(site.id, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(events.iter().all(|e| !e.path.contains("%C3")));
    drop(store);
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
