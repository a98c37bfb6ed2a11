//! Engagement updates (issue 14): `{"n":"engagement", …, "e": ms, "s": percent}` posted to the
//! collection endpoint raise `engaged_ms` and `scroll_depth` of the pageview they belong to — the
//! latest of that path in the visit — and change nothing else: no event, no visit. Through the
//! real server and HTTP, read back with SQL and `/metrics`, on SQLite and Postgres.

#[path = "support/browser.rs"]
mod browser;
#[macro_use]
mod support;

use serde_json::Value;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp, TestDb};

both_backends!(
    updates_raise_their_pageview_to_the_largest_figures_and_change_no_visit,
    an_update_goes_to_the_latest_pageview_of_its_path_in_the_visit,
    updates_without_their_pageview_change_nothing_and_are_counted_unmatched,
    a_pageview_and_its_update_in_one_batch_are_applied_in_order,
    bad_figures_get_a_400_naming_the_field_and_change_nothing,
    a_bots_update_is_filtered_like_its_pageviews,
);

/// An engagement update for `https://example.com{path}` with `e` and `s` as raw JSON text.
fn update(path: &str, e: &str, s: &str) -> String {
    format!(
        r#"{{"n":"engagement","u":"https://example.com{path}","d":"example.com","e":{e},"s":{s}}}"#
    )
}

/// Every stored event's name, path, `engaged_ms` and `scroll_depth`, in insert order.
type Row = (String, String, Option<i64>, Option<i64>);

async fn stored(db: &TestDb) -> Vec<Row> {
    let sql = "SELECT name, path, engaged_ms, CAST(scroll_depth AS BIGINT) FROM events ORDER BY id";
    with_connection!(db, |c| {
        sqlx::query_as(sql)
            .fetch_all(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
}

fn row(name: &str, path: &str, figures: Option<(i64, i64)>) -> Row {
    (
        name.to_owned(),
        path.to_owned(),
        figures.map(|f| f.0),
        figures.map(|f| f.1),
    )
}

/// The visits as stored: pageviews, events, start and end, in id order.
async fn visits(app: &TestApp) -> Vec<(i32, i32, i64, i64)> {
    let site = app.site("example.com").await;
    let mut visits: Vec<_> = app
        .store
        .recent_sessions(site.id, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|s| {
            (
                s.id,
                (
                    s.pageviews,
                    s.events,
                    s.started_at.timestamp_millis(),
                    s.ended_at.timestamp_millis(),
                ),
            )
        })
        .collect();
    visits.sort();
    visits.into_iter().map(|(_, v)| v).collect()
}

/// Waits (up to 5 s) until the writer has dealt with `n` engagement updates, applied or not.
async fn wait_for_updates(app: &TestApp, n: u64) {
    let dealt = || {
        app.metrics.engagement_updates.load(Relaxed)
            + app.metrics.engagement_unmatched.load(Relaxed)
    };
    for _ in 0..250 {
        if dealt() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} engagement updates written, found {}", dealt());
}

/// `name value` of a counter in the server's `/metrics`.
async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

async fn post(app: &TestApp, body: &str, user_agent: &str) {
    let response = app.post_event(body, user_agent).await;
    assert_eq!(response.status(), 202, "{body}");
}

async fn updates_raise_their_pageview_to_the_largest_figures_and_change_no_visit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    post(&app, &support::pageview("/post"), CHROME_UA).await;
    // `e` and `s` on a custom event are ignored (a later tracker may send them anywhere).
    let signup = r#"{"n":"Signup","u":"https://example.com/post","d":"example.com","e":1,"s":2}"#;
    post(&app, signup, CHROME_UA).await;
    app.wait_for_events("example.com", 2).await;
    let before = visits(&app).await;
    assert_eq!(before.len(), 1);
    // Past the next second, so that an update moving the visit's end would show on SQLite too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (e, s) in [("3000", "40"), ("5000", "35"), ("4000.4", "79.6")] {
        post(&app, &update("/post", e, s), CHROME_UA).await;
    }
    wait_for_updates(&app, 3).await;

    assert_eq!(
        stored(&app.db).await,
        [
            row("pageview", "/post", Some((5000, 80))),
            row("Signup", "/post", None),
        ]
    );
    assert_eq!(visits(&app).await, before, "the visit is as it was");
    let site = app.site("example.com").await;
    assert_eq!(app.store.count_events(site.id).await.ok(), Some(2));
    assert_eq!(metric(&app, "footfall_engagement_updates_total").await, 3);
    assert_eq!(metric(&app, "footfall_engagement_unmatched_total").await, 0);
    assert_eq!(metric(&app, "footfall_events_stored_total").await, 2);

    // Read back as the live view and the exports do.
    let events = app.wait_for_events("example.com", 2).await;
    let pageview = events.iter().find(|e| e.name == "pageview");
    assert_eq!(
        pageview.map(|e| (e.engaged_ms, e.scroll_depth)),
        Some((Some(5000), Some(80)))
    );
    let mut browser = browser::log_in_owner(&app).await;
    let csv = browser
        .get("/sites/example.com/export/events.csv?period=30d")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let mut lines = csv.body.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.ends_with(",revenue_currency,engaged_ms,scroll_depth"),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().any(|r| r.ends_with(",5000,80")), "{rows:?}");
    assert!(rows.iter().any(|r| r.ends_with(",,,,")), "{rows:?}");

    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn an_update_goes_to_the_latest_pageview_of_its_path_in_the_visit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    for path in ["/a", "/b", "/a"] {
        post(&app, &support::pageview(path), CHROME_UA).await;
    }
    // Hash mode (`h`), as the tracker sends it with data-hash.
    let hash_pageview =
        r#"{"n":"pageview","u":"https://example.com/app#/settings","d":"example.com","h":1}"#;
    post(&app, hash_pageview, CHROME_UA).await;
    app.wait_for_events("example.com", 4).await;
    post(&app, &update("/a", "1200", "30"), CHROME_UA).await;
    // The query string is no part of the path; hash mode's fragment is.
    let hash_update = r#"{"n":"engagement","u":"https://example.com/app?utm_source=x#/settings","d":"example.com","h":1,"e":700,"s":100}"#;
    post(&app, hash_update, CHROME_UA).await;
    wait_for_updates(&app, 2).await;
    assert_eq!(
        stored(&app.db).await,
        [
            row("pageview", "/a", None),
            row("pageview", "/b", None),
            row("pageview", "/a", Some((1200, 30))),
            row("pageview", "/app#/settings", Some((700, 100))),
        ]
    );
    assert_eq!(app.metrics.engagement_updates.load(Relaxed), 2);
    assert_eq!(visits(&app).await.len(), 1);
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn updates_without_their_pageview_change_nothing_and_are_counted_unmatched(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    post(&app, &support::pageview("/a"), CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    let before = visits(&app).await;
    // A path not viewed in the visit; the same page from another visitor (another user agent is
    // another visitor id), who has no visit at all.
    post(&app, &update("/never-viewed", "1000", "10"), CHROME_UA).await;
    post(&app, &update("/a", "1000", "10"), IPHONE_UA).await;
    wait_for_updates(&app, 2).await;
    assert_eq!(metric(&app, "footfall_engagement_unmatched_total").await, 2);
    assert_eq!(metric(&app, "footfall_engagement_updates_total").await, 0);
    assert_eq!(stored(&app.db).await, [row("pageview", "/a", None)]);
    assert_eq!(visits(&app).await, before, "no visit started or changed");
    // And the visitor's own update still finds it afterwards.
    post(&app, &update("/a", "1000", "10"), CHROME_UA).await;
    wait_for_updates(&app, 3).await;
    assert_eq!(
        stored(&app.db).await,
        [row("pageview", "/a", Some((1000, 10)))]
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn a_pageview_and_its_update_in_one_batch_are_applied_in_order(backend: Backend) {
    let mut options = Options::default();
    // Long enough that everything posted below waits for one flush.
    options.writer.flush_interval = Duration::from_millis(1500);
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    // An update before its pageview finds none: the visit does not exist yet.
    post(&app, &update("/a", "9000", "90"), CHROME_UA).await;
    post(&app, &support::pageview("/a"), CHROME_UA).await;
    post(&app, &update("/a", "2000", "20"), CHROME_UA).await;
    post(&app, &update("/a", "2500", "15"), CHROME_UA).await;
    post(&app, &support::pageview("/b"), CHROME_UA).await;
    wait_for_updates(&app, 3).await;
    assert_eq!(app.metrics.batches.load(Relaxed), 1, "one batch");
    assert_eq!(
        stored(&app.db).await,
        [
            row("pageview", "/a", Some((2500, 20))),
            row("pageview", "/b", None),
        ]
    );
    assert_eq!(app.metrics.engagement_updates.load(Relaxed), 2);
    assert_eq!(app.metrics.engagement_unmatched.load(Relaxed), 1);
    let visits = visits(&app).await;
    assert_eq!(visits.len(), 1);
    assert_eq!((visits[0].0, visits[0].1), (2, 2), "pageviews and events");
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn bad_figures_get_a_400_naming_the_field_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    post(&app, &support::pageview("/a"), CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    let e = "field e (engaged time)";
    let s = "field s (scroll depth)";
    let base = r#"{"n":"engagement","u":"https://example.com/a","d":"example.com""#;
    let cases: Vec<(&str, String, &str)> = vec![
        ("negative time", update("/a", "-1", "10"), e),
        ("past a day", update("/a", "86400001", "10"), e),
        ("time as a string", update("/a", r#""3000""#, "10"), e),
        ("NaN as a string", update("/a", r#""NaN""#, "10"), e),
        ("past what a double holds", update("/a", "1e400", "10"), e),
        ("time as null", update("/a", "null", "10"), e),
        ("time as an object", update("/a", "{}", "10"), e),
        ("missing time", format!(r#"{base},"s":10}}"#), e),
        ("negative scroll", update("/a", "10", "-5"), s),
        ("scroll past 100", update("/a", "10", "101"), s),
        ("scroll as a string", update("/a", "10", r#""80%""#), s),
        ("scroll past a double", update("/a", "10", "-1e400"), s),
        ("missing scroll", format!(r#"{base},"e":10}}"#), s),
        ("missing both", format!("{base}}}"), e),
    ];
    for (what, body, field) in &cases {
        let response = app.post_event(body, CHROME_UA).await;
        assert_eq!(response.status(), 400, "{what}: {body}");
        let error: Value = response.json().await.unwrap_or_default();
        let error = error["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(field), "{what}: {error:?}");
    }
    assert_eq!(
        app.metrics
            .rejected(footfall::metrics::Rejection::InvalidField),
        cases.len() as u64
    );
    // The URL is checked as a pageview's.
    let wrong_host =
        r#"{"n":"engagement","u":"https://evil.test/a","d":"example.com","e":1,"s":1}"#;
    assert_eq!(app.post_event(wrong_host, CHROME_UA).await.status(), 400);
    let no_url = r#"{"n":"engagement","u":"/a","d":"example.com","e":1,"s":1}"#;
    assert_eq!(app.post_event(no_url, CHROME_UA).await.status(), 400);

    // Then one good update: once it is applied, none of the above was.
    post(&app, &update("/a", "10", "10"), CHROME_UA).await;
    wait_for_updates(&app, 1).await;
    assert_eq!(app.metrics.engagement_updates.load(Relaxed), 1);
    assert_eq!(
        stored(&app.db).await,
        [row("pageview", "/a", Some((10, 10)))]
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn a_bots_update_is_filtered_like_its_pageviews(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    post(&app, &support::pageview("/a"), CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    post(&app, &update("/a", "60000", "100"), bot).await;
    assert_eq!(app.metrics.bots.load(Relaxed), 1);
    post(&app, &update("/a", "10", "10"), CHROME_UA).await;
    wait_for_updates(&app, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.metrics.engagement_updates.load(Relaxed), 1);
    assert_eq!(app.metrics.engagement_unmatched.load(Relaxed), 0);
    assert_eq!(
        stored(&app.db).await,
        [row("pageview", "/a", Some((10, 10)))]
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
