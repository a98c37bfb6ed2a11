//! Slow questions over HTTP, on both backends, answered from raw rows (no query engine) so that
//! the database really works on them: a view past `--query-timeout-ms` answers a page (or JSON)
//! saying it took too long and what to try, never a 500, on the dashboard, a share page, exports
//! and the stats API; and while slow views run, `/healthz` and other people's pages still answer.
//! No timings are asserted: "still answers" has a generous deadline.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, Page};
use footfall::domain::SiteDomain;
use footfall::seed::SeedOptions;
use footfall::store::ApiKeyScope;
use std::time::Duration;
use support::{Backend, Options, TestApp};

both_backends!(
    a_view_past_the_query_timeout_says_it_took_too_long_and_is_never_a_500,
    health_and_other_pages_answer_while_slow_views_run,
);

/// Filters that make every question of a page scan and match text.
const SLOW_VIEW: &str = "period=30d&f=page:contains:o&f=source:contains:e";

/// A server answering from raw rows with `timeout` per request, `events` seeded events on
/// example.com over the last two weeks, and a browser logged in.
async fn slow_app(backend: Backend, timeout: Duration, events: u64) -> Option<(TestApp, Browser)> {
    let options = Options {
        query_timeout: Some(timeout),
        query_engine: false,
        ..Options::default()
    };
    let app = TestApp::spawn(backend, options).await?;
    footfall::seed::run(
        app.store.clone(),
        SeedOptions {
            domain: SiteDomain::parse("example.com").unwrap_or_else(|e| panic!("{e}")),
            events,
            days: 14,
            random_seed: 3,
            batch_size: 5000,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("seeding: {e:?}"));
    let browser = browser::log_in_owner(&app).await;
    Some((app, browser))
}

async fn stop(app: TestApp) {
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

/// The dashboard's "took too long" page: 503, `Retry-After`, and what to try.
fn assert_too_slow_page(page: &Page, what: &str) {
    assert_eq!(page.status, 503, "{what}: {}", page.body);
    assert_eq!(page.header("retry-after"), Some("30"), "{what}");
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{what}"
    );
    assert!(page.body.contains("took too long"), "{what}: {}", page.body);
    assert!(
        page.body.contains("shorter period or fewer filters"),
        "{what}: {}",
        page.body
    );
}

/// The JSON answer of a question that took too long.
fn assert_too_slow_json(status: u16, retry_after: Option<&str>, body: &str, what: &str) {
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(retry_after, Some("30"), "{what}");
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"));
    let message = json["error"].as_str().unwrap_or_default();
    assert!(message.contains("took too long"), "{what}: {body}");
    assert!(message.contains("shorter period"), "{what}: {body}");
}

async fn a_view_past_the_query_timeout_says_it_took_too_long_and_is_never_a_500(backend: Backend) {
    // A millisecond: every question over 20,000 events takes longer than that, on either
    // database, so each one is stopped while it runs (or before it starts).
    let Some((app, mut browser)) = slow_app(backend, Duration::from_millis(1), 20_000).await else {
        return;
    };
    let site = app.site("example.com").await;
    for path in [
        "/sites/example.com".to_owned(),
        format!("/sites/example.com?{SLOW_VIEW}"),
        "/sites".to_owned(),
    ] {
        assert_too_slow_page(&browser.get(&path).await, &path);
    }
    let (_, token) = footfall::auth::share::create_link(app.store.as_ref(), site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut anon = Browser::new(&app.address);
    let shared = format!("/share/{token}?{SLOW_VIEW}");
    assert_too_slow_page(&anon.get(&shared).await, &shared);

    // Exports read their first page before answering, so they can still say so.
    for path in [
        format!("/sites/example.com/export/events.csv?{SLOW_VIEW}"),
        format!("/sites/example.com/export/page.csv?{SLOW_VIEW}"),
        format!("/share/{token}/export/source.csv?{SLOW_VIEW}"),
    ] {
        let page = browser.get(&path).await;
        assert_too_slow_json(page.status, page.header("retry-after"), &page.body, &path);
    }

    let (_, key) =
        footfall::auth::api_key::create_key(app.store.as_ref(), "tests", &ApiKeyScope::AllSites)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    for endpoint in [
        "aggregate?site=example.com",
        "timeseries?site=example.com&filters=page:contains:o",
        "breakdown?site=example.com&property=page&filters=source:contains:e",
    ] {
        let response = app
            .client
            .get(format!("{}/api/v1/stats/{endpoint}", app.address))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        assert_too_slow_json(status, retry_after.as_deref(), &body, endpoint);
    }

    // Nothing else is held up: the health check, and pages that ask no questions.
    let health = anon.get("/healthz").await;
    assert_eq!(health.status, 200, "{}", health.body);
    let settings = browser.get("/sites/example.com/settings").await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    stop(app).await;
}

async fn health_and_other_pages_answer_while_slow_views_run(backend: Backend) {
    let Some((app, browser)) = slow_app(backend, Duration::from_secs(4), 60_000).await else {
        return;
    };
    // Postgres: hold the events table, so every question waits on it for real until its
    // statement_timeout ends it. SQLite has no lock a reader waits on: there the questions are
    // slow by their work (filtered scans of 60,000 events, many of them at once).
    let lock = match backend {
        Backend::Postgres => {
            use sqlx::{Connection as _, Executor as _};
            let mut conn = sqlx::PgConnection::connect(&app.db.url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            conn.execute("BEGIN")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            Some(conn)
        }
        Backend::Sqlite => None,
    };

    // Many people open slow views at once, more than there are connections for questions.
    let cookie = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let slow: Vec<_> = (0..8)
        .map(|i| {
            let request = app
                .client
                .get(format!(
                    "{}/sites/example.com?{SLOW_VIEW}&f=page:contains:{}",
                    app.address,
                    ["a", "e", "i", "u"][i % 4]
                ))
                .header("Cookie", cookie.clone())
                .timeout(Duration::from_secs(120));
            tokio::spawn(async move {
                let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            })
        })
        .collect();
    // Let them start (not a timing assertion: the checks below hold whenever they run).
    tokio::time::sleep(Duration::from_millis(300)).await;

    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap_or_else(|e| panic!("/healthz did not answer: {e}"));
    assert_eq!(health.status().as_u16(), 200, "/healthz while views run");

    // Another person: a page without questions answers at once; their dashboard answers too,
    // with its numbers or the "took too long" page, never a 500.
    let mut other = Browser::new(&app.address);
    other.cookies = browser.cookies.clone();
    let settings = other.get("/sites/example.com/settings").await;
    assert_eq!(settings.status, 200, "settings while views run");
    let page = other.get("/sites/example.com?period=7d").await;
    assert!(
        page.status == 200 || page.status == 503,
        "another dashboard while views run: {} {}",
        page.status,
        page.body
    );
    if page.status == 503 {
        assert!(page.body.contains("took too long"), "{}", page.body);
    }

    if let Some(mut conn) = lock {
        use sqlx::Executor as _;
        conn.execute("ROLLBACK")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for task in slow {
        let (status, body) = task.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            status == 200 || (status == 503 && body.contains("took too long")),
            "a slow view answered {status}: {body}"
        );
    }
    // And once they are over, views answer again.
    let page = other.get("/sites/example.com?period=7d").await;
    assert!(page.status == 200 || page.status == 503, "{}", page.status);
    stop(app).await;
}
