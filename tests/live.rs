//! The live view over HTTP, on both backends: the page's script is served and allowed, a stream
//! ends with its login session (logout, a password change in another browser) and a reconnect
//! is refused, and a stream delivers every event exactly once while several writers store events
//! at once, also when a transaction commits after later ones.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, PASSWORD, log_in};
use chrono::Utc;
use reqwest::Method;
use sqlx::Connection as _;
use std::collections::BTreeMap;
use std::time::Duration;
use support::visits::{Profile, visit, write};
use support::{Backend, CHROME_UA, Options, TestApp, pageview};
use tokio::time::Instant;

both_backends!(
    the_live_page_loads_its_script_from_a_cached_versioned_url,
    a_live_stream_ends_when_its_session_logs_out,
    a_live_stream_ends_when_the_password_is_changed_in_another_browser,
    the_live_stream_delivers_every_event_once_with_two_writers,
    an_event_committed_after_later_ones_still_reaches_the_live_stream,
);

const STREAM: &str = "/sites/example.com/live/stream";
/// Generous: a poll is a second, the writer flushes every 20 ms.
const DEADLINE: Duration = Duration::from_secs(20);

/// An open event stream and what it has sent so far.
struct Sse {
    response: reqwest::Response,
    text: String,
    ended: bool,
}

impl Sse {
    async fn open(browser: &Browser) -> Self {
        let response = browser
            .request(Method::GET, STREAM)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {STREAM}: {e}"));
        assert_eq!(response.status(), 200, "GET {STREAM}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            text: String::new(),
            ended: false,
        }
    }

    /// Reads until `done` holds for what was sent or the stream ends; false if it ended first.
    async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now() + DEADLINE;
        while !done(self) {
            if self.ended {
                return false;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "waited {DEADLINE:?} for {what}; the stream sent:\n{}",
                        self.text
                    )
                });
            match chunk {
                Ok(Some(bytes)) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) | Err(_) => self.ended = true,
            }
        }
        true
    }

    async fn wait_for(&mut self, path: &str) {
        let seen = self.until(path, |s| s.has(path)).await;
        assert!(seen, "the stream ended before {path}:\n{}", self.text);
    }

    async fn wait_for_end(&mut self, what: &str) {
        self.until(what, |s| s.ended).await;
    }

    /// The events sent, as (id, path), in order.
    fn events(&self) -> Vec<(i64, String)> {
        self.text
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
            .map(|e| {
                let id = e["id"].as_i64().unwrap_or_default();
                (id, e["path"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    }

    fn has(&self, path: &str) -> bool {
        self.events().iter().any(|(_, p)| p == path)
    }

    /// Asserts that no event came twice, and returns how often each path came.
    fn counts(&self) -> BTreeMap<String, usize> {
        let events = self.events();
        let mut ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            events.len(),
            "an event came twice:\n{}",
            self.text
        );
        let mut counts = BTreeMap::new();
        for (_, path) in events {
            *counts.entry(path).or_insert(0) += 1;
        }
        counts
    }
}

async fn post(app: &TestApp, path: &str) {
    let status = app.post_event(&pageview(path), CHROME_UA).await.status();
    assert_eq!(status, 202, "POST /api/event for {path}");
}

/// A browser holding `cookies`, as one that kept them from before would.
fn with_cookies(app: &TestApp, cookies: &BTreeMap<String, String>) -> Browser {
    let mut copy = Browser::new(&app.address);
    copy.cookies = cookies.clone();
    copy
}

async fn assert_stream_refused(browser: &mut Browser, why: &str) {
    let request = browser
        .request(Method::GET, STREAM)
        .header("Accept", "text/event-stream");
    let page = browser.send(request).await;
    assert!(
        page.status == 303 && page.location().is_some_and(|l| l.starts_with("/login")),
        "{why}: a reconnect got {} {:?} instead of the way to the login page",
        page.status,
        page.location()
    );
}

async fn stop(app: TestApp) {
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn the_live_page_loads_its_script_from_a_cached_versioned_url(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    let page = browser.get("/sites/example.com/live").await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "the CSP must allow our script and its EventSource: {csp}"
    );
    let src = page
        .body
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no script on the live page:\n{}", page.body))
        .to_owned();
    assert!(src.starts_with("/static/live.js?v="), "{src}");

    let mut plain = Browser::new(&app.address);
    let script = plain.get(&src).await;
    assert_eq!(script.status, 200, "GET {src}");
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        script.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(script.body.contains("new EventSource("), "{}", script.body);
    // Any other URL of it: a day, then revalidated.
    let unversioned = plain.get("/static/live.js").await;
    assert_eq!(unversioned.status, 200);
    assert_eq!(
        unversioned.header("cache-control"),
        Some("public, max-age=86400")
    );
    let etag = script.header("etag").unwrap_or_default().to_owned();
    let request = plain
        .request(Method::GET, "/static/live.js")
        .header("If-None-Match", etag);
    let revalidated = plain.send(request).await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    stop(app).await;
}

async fn a_live_stream_ends_when_its_session_logs_out(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    let kept = browser.cookies.clone();
    post(&app, "/before-logout").await;
    app.wait_for_events("example.com", 1).await;
    let mut stream = Sse::open(&browser).await;
    stream.wait_for("/before-logout").await;

    let token = browser.get("/account").await.csrf_token();
    let out = browser.post("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(out.status, 303, "logout: {}", out.body);
    post(&app, "/after-logout").await;
    app.wait_for_events("example.com", 2).await;

    stream
        .wait_for_end("the stream to end after the logout")
        .await;
    assert!(
        !stream.has("/after-logout"),
        "an event stored after the logout went out:\n{}",
        stream.text
    );
    assert_stream_refused(&mut with_cookies(&app, &kept), "after the logout").await;
    stop(app).await;
}

async fn a_live_stream_ends_when_the_password_is_changed_in_another_browser(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut laptop = browser::log_in_owner(&app).await;
    let phone = log_in(&app).await;
    let mut on_phone = Sse::open(&phone).await;
    on_phone
        .until("the stream to open", |s| !s.text.is_empty())
        .await;

    let token = laptop.get("/account").await.csrf_token();
    let new = "a much better passphrase";
    let changed = laptop
        .post(
            "/account/password",
            &[
                ("csrf_token", token.as_str()),
                ("current_password", PASSWORD),
                ("new_password", new),
                ("new_password_confirm", new),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    post(&app, "/after-change").await;
    app.wait_for_events("example.com", 1).await;

    on_phone
        .wait_for_end("the phone's stream to end after the password change")
        .await;
    assert!(
        !on_phone.has("/after-change"),
        "the logged-out phone got an event:\n{}",
        on_phone.text
    );
    assert_stream_refused(&mut with_cookies(&app, &phone.cookies), "on the phone").await;
    // The browser that changed the password stays logged in, and its stream works.
    let mut on_laptop = Sse::open(&laptop).await;
    on_laptop.wait_for("/after-change").await;
    stop(app).await;
}

async fn the_live_stream_delivers_every_event_once_with_two_writers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let browser = browser::log_in_owner(&app).await;
    let mut stream = Sse::open(&browser).await;
    stream
        .until("the stream to open", |s| !s.text.is_empty())
        .await;

    // The server's writer stores what is posted; a second store on the same database (another
    // collector, or an import) writes batches of its own at the same time.
    let site = app.site("example.com").await;
    let other = footfall::store::connect(&app.db.url)
        .await
        .unwrap_or_else(|e| panic!("a second store: {e}"));
    const EACH: usize = 40;
    let posting = async {
        for i in 0..EACH {
            post(&app, &format!("/posted-{i}")).await;
        }
    };
    let writing = async {
        for i in 0..EACH {
            let path = format!("/written-{i}");
            let hits = [(Utc::now(), "pageview", path.as_str(), &[][..])];
            write(&other, visit(&site, 7, &Profile::default(), &hits), 1).await;
        }
    };
    tokio::join!(posting, writing);
    let expected: Vec<String> = (0..EACH)
        .flat_map(|i| [format!("/posted-{i}"), format!("/written-{i}")])
        .collect();
    stream
        .until("every event", |s| expected.iter().all(|p| s.has(p)))
        .await;
    // A few more polls, for any event that would come twice.
    post(&app, "/last").await;
    stream.wait_for("/last").await;

    let counts = stream.counts();
    for path in &expected {
        assert_eq!(counts.get(path), Some(&1), "{path}:\n{}", stream.text);
    }
    assert_eq!(counts.len(), expected.len() + 1, "{counts:?}");
    stop(app).await;
}

/// Inserts an event row the way the batch writer does, in a transaction left open.
async fn hold_an_insert(backend: Backend, url: &str, site: i64, path: &str) -> HeldInsert {
    let insert = |created_at: &str| {
        format!(
            "INSERT INTO events (site_id, created_at, visitor_id, session_id, name, hostname, \
             path, browser, browser_version, os, os_version, device) VALUES ({site}, \
             {created_at}, 1, 1, 'pageview', 'example.com', '{path}', 'Chrome', '131', \
             'Windows', '10', 'Desktop')"
        )
    };
    match backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            // Identity columns hand ids out one at a time, in order, across connections: what
            // the live cursor counts on.
            let cache: i64 = sqlx::query_scalar(
                "SELECT cache_size FROM pg_sequences WHERE sequencename = 'events_id_seq'",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(cache, 1, "events_id_seq must not cache ids");
            for sql in [
                "BEGIN".to_owned(),
                "SELECT pg_current_xact_id()".to_owned(),
                insert("now()"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            HeldInsert::Postgres(conn)
        }
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let now = Utc::now().timestamp().to_string();
            for sql in ["BEGIN".to_owned(), insert(&now)] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            HeldInsert::Sqlite(conn)
        }
    }
}

enum HeldInsert {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl HeldInsert {
    async fn commit(self) {
        let done = match self {
            Self::Postgres(mut conn) => sqlx::raw_sql("COMMIT").execute(&mut conn).await.map(drop),
            Self::Sqlite(mut conn) => sqlx::raw_sql("COMMIT").execute(&mut conn).await.map(drop),
        };
        done.unwrap_or_else(|e| panic!("COMMIT: {e}"));
    }
}

async fn an_event_committed_after_later_ones_still_reaches_the_live_stream(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let browser = browser::log_in_owner(&app).await;
    post(&app, "/first").await;
    app.wait_for_events("example.com", 1).await;
    let mut stream = Sse::open(&browser).await;
    stream.wait_for("/first").await;

    // A transaction draws an id for /held and stays open while /after is posted.
    let site = app.site("example.com").await;
    let held = hold_an_insert(backend, &app.db.url, site.id.0, "/held").await;
    post(&app, "/after").await;
    match backend {
        // /after gets a higher id, commits and goes out while /held is still open.
        Backend::Postgres => stream.wait_for("/after").await,
        // SQLite: the writer waits for the open transaction's write lock (and the stream has
        // nothing new to send meanwhile).
        Backend::Sqlite => tokio::time::sleep(Duration::from_millis(500)).await,
    }
    held.commit().await;
    stream.wait_for("/held").await;
    stream.wait_for("/after").await;
    post(&app, "/last").await;
    stream.wait_for("/last").await;

    let counts = stream.counts();
    for path in ["/first", "/held", "/after", "/last"] {
        assert_eq!(counts.get(path), Some(&1), "{path}:\n{}", stream.text);
    }
    assert_eq!(counts.len(), 4, "{counts:?}");
    stop(app).await;
}
