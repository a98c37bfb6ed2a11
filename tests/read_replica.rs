//! `--database-read-url` against a real streaming replica: a throwaway primary and a standby made
//! from it with `pg_basebackup -R` (`support/cluster.rs`). The dashboard, the stats API and exports
//! answer from the replica — shown by pausing its replay, when they keep the replica's older
//! figures while the primary holds more, and catch up once replay resumes — while logins,
//! settings, sites, API keys, share links and the live view work on the primary throughout. A
//! stopped replica makes the figures fail with a clear 503, and collection and `/healthz` go on.
//! SQLite refuses a read URL other than its own.
//!
//! Postgres only (a replica needs one); reported ignored where `FOOTFALL_TEST_POSTGRES_URL` is
//! not set, like the Postgres half of `both_backends!`.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cluster.rs"]
mod cluster;
mod support;

use browser::Browser;
use cluster::Cluster;
use footfall::auth::api_key;
use footfall::store::{ApiKeyScope, StoreError};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp, TestDb, pageview};

/// A primary, its streaming replica, and footfall serving with questions on the replica.
struct Replicated {
    primary: Cluster,
    replica: Cluster,
    app: TestApp,
    /// An API key for every site, made before anything was paused.
    key: String,
}

impl Replicated {
    async fn start() -> Self {
        let primary = Cluster::start_primary();
        let replica = primary.start_replica();
        let options = Options {
            sites: vec![("example.com", "UTC")],
            read_url: Some(replica.url()),
            ..Options::default()
        };
        let db = TestDb::existing(primary.url(), Backend::Postgres);
        let app = TestApp::spawn_on(db, options).await;
        app.add_owner().await;
        let (_, key) = api_key::create_key(app.store.as_ref(), "replica", &ApiKeyScope::AllSites)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            primary,
            replica,
            app,
            key,
        }
    }

    /// Sends a page view of `path` and waits until the primary has stored `total` events.
    async fn send(&self, paths: &[&str], total: usize) {
        for (i, path) in paths.iter().enumerate() {
            let ua = if i % 2 == 0 { CHROME_UA } else { IPHONE_UA };
            let response = self.app.post_event(&pageview(path), ua).await;
            assert_eq!(response.status(), 202, "POST /api/event {path}");
        }
        self.app.wait_for_events("example.com", total).await;
    }

    /// The events of example.com on one side, counted there directly.
    fn events_on(cluster: &Cluster) -> i64 {
        cluster
            .query("SELECT count(*) FROM events e JOIN sites s ON s.id = e.site_id WHERE s.domain = 'example.com'")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn api(&self, token: &str, endpoint: &str, extra: &str) -> (u16, Option<String>, Value) {
        let response = self
            .app
            .client
            .get(format!(
                "{}/api/v1/stats/{endpoint}?site=example.com&period=7d{extra}",
                self.app.address
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {endpoint}: {e}"));
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{endpoint}: {status} is not JSON ({e}): {text}"));
        (status, retry, body)
    }

    /// The stats API's page views of example.com over the last 7 days.
    async fn api_pageviews(&self, token: &str) -> i64 {
        let (status, _, body) = self.api(token, "aggregate", "").await;
        assert_eq!(status, 200, "{body}");
        body["results"]["pageviews"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pageviews in {body}"))
    }

    /// Polls the stats API (up to 15 s) until it answers `pageviews`.
    async fn api_shows(&self, pageviews: i64) {
        let until = Instant::now() + Duration::from_secs(15);
        let mut seen = self.api_pageviews(&self.key).await;
        while seen != pageviews {
            assert!(
                Instant::now() < until,
                "the stats API shows {seen} page views, expected {pageviews}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            seen = self.api_pageviews(&self.key).await;
        }
    }

    async fn stop(self) {
        let _ = self.app.stop().await;
        drop(self.replica);
        drop(self.primary);
    }
}

/// A dashboard page's body, asserting its status.
async fn page(browser: &mut Browser, path: &str, status: u16) -> String {
    let page = browser.get(path).await;
    assert_eq!(page.status, status, "GET {path}: {}", page.body);
    page.body
}

/// The first `ff_…` token in `html` (an API key as its page shows it once).
fn token_in(html: &str) -> Option<String> {
    let start = html.find("ff_")?;
    Some(
        html[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// Reads the live stream of example.com until it carries `path` (up to 10 s).
async fn live_stream_shows(browser: &Browser, path: &str) {
    let mut response = browser
        .request(Method::GET, "/sites/example.com/live/stream")
        .send()
        .await
        .unwrap_or_else(|e| panic!("live stream: {e}"));
    assert_eq!(response.status(), 200, "live stream");
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut body = String::new();
    while !body.contains(path) {
        match tokio::time::timeout_at(until, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the live stream never showed {path} ({other:?}): {body}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    footfall_skip_postgres,
    ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set"
)]
async fn figures_come_from_the_replica_and_everything_else_from_the_primary() {
    let r = Replicated::start().await;
    let mut browser = browser::log_in(&r.app).await;

    // Replicated: the figures of what was sent, on the dashboard, the API and in exports.
    r.send(&["/first", "/second", "/third"], 3).await;
    r.replica.wait_replayed(&r.primary);
    r.api_shows(3).await;
    let dashboard = page(&mut browser, "/sites/example.com?period=7d", 200).await;
    assert!(dashboard.contains("/second"), "{dashboard}");

    // Replay paused: the primary stores more, the replica (and so every figure) does not move.
    r.replica.pause_replay();
    r.send(&["/while-paused", "/while-paused"], 5).await;
    assert_eq!(Replicated::events_on(&r.primary), 5);
    assert_eq!(Replicated::events_on(&r.replica), 3);
    // Longer than the query engine's freshness and the writer's flush: any figure read on the
    // primary would show the new events by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for _ in 0..5 {
        assert_eq!(
            r.api_pageviews(&r.key).await,
            3,
            "the API reads the replica"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, _, pages) = r.api(&r.key, "breakdown", "&property=page").await;
    assert_eq!(status, 200, "{pages}");
    assert!(!pages.to_string().contains("/while-paused"), "{pages}");
    let dashboard = page(&mut browser, "/sites/example.com?period=7d", 200).await;
    assert!(dashboard.contains("/second"), "{dashboard}");
    assert!(
        !dashboard.contains("/while-paused"),
        "the dashboard reads the replica"
    );
    let csv = page(
        &mut browser,
        "/sites/example.com/export/page.csv?period=7d",
        200,
    )
    .await;
    assert!(
        csv.contains("/second") && !csv.contains("/while-paused"),
        "{csv}"
    );
    let events_csv = page(
        &mut browser,
        "/sites/example.com/export/events.csv?period=7d",
        200,
    )
    .await;
    assert_eq!(events_csv.matches("/first").count(), 1, "{events_csv}");
    assert!(!events_csv.contains("/while-paused"), "{events_csv}");

    // Everything else is on the primary, and works while the replica shows nothing new.
    // The installation check counts on the primary.
    let verify = page(&mut browser, "/sites/example.com/settings?verify=1", 200).await;
    assert!(verify.contains("5 events received"), "{verify}");
    // The live view reads the primary: it shows events the replica does not have yet.
    live_stream_shows(&browser, "/while-paused").await;
    // A new login (its session row exists on the primary only), and pages behind it.
    let mut second = browser::log_in(&r.app).await;
    page(&mut second, "/sites", 200).await;
    // A new site: added, then its settings (read back at once) and its empty dashboard.
    let token = second.get("/sites").await.csrf_token();
    let added = second
        .post(
            "/sites",
            &[
                ("domain", "paused.example"),
                ("timezone", "UTC"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let settings = page(&mut second, "/sites/paused.example/settings", 200).await;
    assert!(settings.contains("paused.example"), "{settings}");
    page(&mut second, "/sites/paused.example?period=7d", 200).await;
    // A share link: made, then opened (the link exists on the primary only; its figures are the
    // replica's).
    let shared = second
        .post("/sites/example.com/share", &[("csrf_token", &token)])
        .await;
    assert_eq!(shared.status, 200, "{}", shared.body);
    let start = shared
        .body
        .find(&format!("{}/share/", r.app.address))
        .unwrap_or_else(|| panic!("no share link in {}", shared.body))
        + r.app.address.len();
    let link: String = shared.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect();
    let mut anonymous = Browser::new(&r.app.address);
    let shared_view = page(&mut anonymous, &format!("{link}?period=7d"), 200).await;
    assert!(shared_view.contains("/second"), "{shared_view}");
    assert!(!shared_view.contains("/while-paused"), "{shared_view}");
    // An API key made on its page works at once; what it reads is the replica's.
    let created = second
        .post(
            "/account/api-keys",
            &[
                ("name", "made while paused"),
                ("scope", "all"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let new_key = token_in(&created.body).unwrap_or_else(|| panic!("no token in {}", created.body));
    assert_eq!(r.api_pageviews(&new_key).await, 3);
    // Collection went on all along.
    assert_eq!(Replicated::events_on(&r.primary), 5);
    assert_eq!(Replicated::events_on(&r.replica), 3);

    // Replay resumed: the replica catches up, and so do the figures.
    r.replica.resume_replay();
    r.replica.wait_replayed(&r.primary);
    assert_eq!(Replicated::events_on(&r.replica), 5);
    r.api_shows(5).await;
    let dashboard = page(&mut browser, "/sites/example.com?period=7d", 200).await;
    assert!(dashboard.contains("/while-paused"), "{dashboard}");
    let csv = page(
        &mut browser,
        "/sites/example.com/export/page.csv?period=7d",
        200,
    )
    .await;
    assert!(csv.contains("/while-paused"), "{csv}");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    footfall_skip_postgres,
    ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set"
)]
async fn a_stopped_replica_fails_the_figures_clearly_while_collection_and_health_go_on() {
    let r = Replicated::start().await;
    let mut browser = browser::log_in(&r.app).await;
    r.send(&["/before"], 1).await;
    r.replica.wait_replayed(&r.primary);
    r.api_shows(1).await;

    r.replica.stop();
    // The dashboard: a page that says what is wrong, to try again later.
    let down = browser.get("/sites/example.com?period=7d").await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.header("retry-after"), Some("30"));
    assert!(down.body.contains("replica"), "{}", down.body);
    assert!(!down.body.contains("took too long"), "{}", down.body);
    // The stats API and exports: JSON that says so.
    let (status, retry, body) = r.api(&r.key, "aggregate", "").await;
    assert_eq!((status, retry.as_deref()), (503, Some("30")), "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("replica"), "{body}");
    let export = browser
        .get("/sites/example.com/export/page.csv?period=7d")
        .await;
    assert_eq!(export.status, 503, "{}", export.body);
    assert!(export.body.contains("replica"), "{}", export.body);
    // The sites list is the primary's: it stays, without figures.
    let sites = page(&mut browser, "/sites", 200).await;
    assert!(
        sites.contains("example.com") && sites.contains("Figures unavailable"),
        "{sites}"
    );

    // Collection, health, logins and settings are the primary's.
    r.send(&["/during-outage"], 2).await;
    let health = r
        .app
        .client
        .get(format!("{}/healthz", r.app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), 200);
    let mut second = browser::log_in(&r.app).await;
    let verify = page(&mut second, "/sites/example.com/settings?verify=1", 200).await;
    assert!(verify.contains("2 events received"), "{verify}");
    live_stream_shows(&second, "/during-outage").await;

    // Back: it catches up, and the figures come back without a restart.
    r.replica.resume();
    r.replica.wait_replayed(&r.primary);
    r.api_shows(2).await;
    let dashboard = page(&mut browser, "/sites/example.com?period=7d", 200).await;
    assert!(dashboard.contains("/during-outage"), "{dashboard}");
    r.stop().await;
}

#[tokio::test]
async fn sqlite_refuses_a_read_url_other_than_its_own() {
    let db = TestDb::new(Backend::Sqlite)
        .await
        .unwrap_or_else(|| panic!("a SQLite database"));
    // The primary's own URL is no replica: accepted, as if unset.
    let store = footfall::store::connect_with_reads(&db.url, Some(&db.url), true).await;
    assert!(store.is_ok(), "{:?}", store.err());
    for other in [
        "postgres://footfall@127.0.0.1/footfall",
        "sqlite://elsewhere.db",
    ] {
        match footfall::store::connect_with_reads(&db.url, Some(other), true).await {
            Err(e @ StoreError::ReadUrl(_)) => {
                assert!(e.to_string().contains("--database-read-url"), "{e}");
            }
            Err(e) => panic!("{other}: {e:?}"),
            Ok(_) => panic!("{other}: SQLite took a read replica"),
        }
    }
    // A Postgres primary needs a Postgres replica; said before connecting to either.
    let wrong = footfall::store::connect_with_reads(
        "postgres://nobody@127.0.0.1:1/none",
        Some("sqlite://replica.db"),
        true,
    )
    .await;
    assert!(
        matches!(wrong, Err(StoreError::ReadUrl(_))),
        "{:?}",
        wrong.err()
    );

    // `footfall serve` says so at startup, from the flag or its variable, and exits.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (flag, env) in [
        (Some("postgres://footfall@127.0.0.1/footfall"), None),
        (None, Some("postgres://footfall@127.0.0.1/footfall")),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_footfall"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env("FOOTFALL_DATABASE_URL", &db.url)
            .env_remove("FOOTFALL_DATABASE_READ_URL")
            .env("RUST_LOG", "warn");
        if let Some(url) = flag {
            command.args(["--database-read-url", url]);
        }
        if let Some(url) = env {
            command.env("FOOTFALL_DATABASE_READ_URL", url);
        }
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("running footfall serve: {e}"));
        let stderr = support::text(&out.stderr);
        assert!(!out.status.success(), "serve started: {stderr}");
        assert!(
            stderr.contains("--database-read-url") && stderr.contains("SQLite"),
            "{stderr}"
        );
    }
    db.cleanup().await;
}
