//! Test harness: spawns the real server on port 0 against a fresh database (a temp SQLite file,
//! or a new Postgres database when `FOOTFALL_TEST_POSTGRES_URL` is set) and speaks HTTP to it.
#![allow(dead_code)] // Each test binary uses a different part of the harness.

use footfall::config::ServeConfig;
use footfall::domain::{Site, SiteDomain, TimeZone};
use footfall::ingest::writer::WriterConfig;
use footfall::metrics::Metrics;
use footfall::startup::Application;
use footfall::store::{DynStore, StoredEvent};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable naming a Postgres server URL for the Postgres half of the suite.
pub const POSTGRES_ENV: &str = "FOOTFALL_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    admin: Option<(String, String)>,
}

impl TestDb {
    /// Always `Some`: a Postgres test without `FOOTFALL_TEST_POSTGRES_URL` fails here (it is
    /// reported ignored unless run on purpose, see `both_backends!`) rather than pass unrun.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
                let url = format!("sqlite://{}", dir.path().join("footfall.db").display());
                Some(Self {
                    url,
                    backend,
                    _dir: Some(dir),
                    admin: None,
                })
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
                    panic!("{POSTGRES_ENV} is not set: a Postgres test cannot run here")
                });
                let name = format!("footfall_test_{:016x}", rand::random::<u64>());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to {POSTGRES_ENV}: {e}"));
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
                )
                .await
                .unwrap_or_else(|e| panic!("creating {name}: {e}"));
                let mut url = url::Url::parse(&admin_url).unwrap_or_else(|e| panic!("{e}"));
                url.set_path(&name);
                Some(Self {
                    url: url.to_string(),
                    backend,
                    _dir: None,
                    admin: Some((admin_url, name)),
                })
            }
        }
    }

    /// A database that exists already and goes away with what made it (a cluster of the test's
    /// own, `support/cluster.rs`): `cleanup` leaves it alone.
    pub fn existing(url: String, backend: Backend) -> Self {
        Self {
            url,
            backend,
            _dir: None,
            admin: None,
        }
    }

    /// Drops a Postgres test database (SQLite temp dirs go on their own).
    pub async fn cleanup(self) {
        if let Some((admin_url, name)) = &self.admin
            && let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url).await
        {
            let _ = sqlx::Executor::execute(
                &mut conn,
                sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
            )
            .await;
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub store: DynStore,
    pub metrics: Arc<Metrics>,
    pub client: reqwest::Client,
    pub db: TestDb,
    handle: footfall::startup::Shutdown,
    running: tokio::task::JoinHandle<anyhow::Result<footfall::ingest::writer::WriterReport>>,
}

/// Tuning for one test's server.
#[derive(Clone, Debug)]
pub struct Options {
    pub queue_capacity: usize,
    pub writer: WriterConfig,
    pub geoip_db: Option<std::path::PathBuf>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub sites: Vec<(&'static str, &'static str)>,
    pub public_url: Option<&'static str>,
    /// `--query-timeout-ms`; the server's default when `None`.
    pub query_timeout: Option<Duration>,
    /// How long a request body may take to arrive; the server's default when `None`.
    pub body_timeout: Option<Duration>,
    /// `false`: every question is answered by SQL over the raw rows.
    pub query_engine: bool,
    /// `--database-read-url`: a read replica of the test's database for the questions
    /// (`tests/support/replica.rs`); `None`: they read on the primary.
    pub read_url: Option<String>,
    /// `--retention-days`; `None`: keep forever.
    pub retention_days: Option<u32>,
    /// How often the once-only jobs look whether they are due; the server's default when `None`.
    pub jobs_tick: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            writer: WriterConfig {
                batch_size: 100,
                flush_interval: Duration::from_millis(20),
            },
            geoip_db: None,
            trusted_proxies: Vec::new(),
            sites: vec![("example.com", "Europe/Berlin")],
            public_url: None,
            query_timeout: None,
            body_timeout: None,
            query_engine: true,
            read_url: None,
            retention_days: None,
            jobs_tick: None,
        }
    }
}

/// The account the dashboard tests log in with (`TestApp::add_owner`).
pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "correct horse battery";

pub const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

impl TestApp {
    /// Always `Some` (see `TestDb::new`).
    pub async fn spawn(backend: Backend, options: Options) -> Option<Self> {
        Some(Self::spawn_on(TestDb::new(backend).await?, options).await)
    }

    /// `spawn` on a database that already exists (a restart, an upgrade).
    pub async fn spawn_on(db: TestDb, options: Options) -> Self {
        let store = footfall::store::connect_with_reads(
            &db.url,
            options.read_url.as_deref(),
            options.query_engine,
        )
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e:?}", db.url));
        for (domain, tz) in &options.sites {
            store
                .add_site(
                    &SiteDomain::parse(domain).unwrap_or_else(|e| panic!("{e}")),
                    TimeZone::parse(tz).unwrap_or_else(|e| panic!("{e}")),
                )
                .await
                .unwrap_or_else(|e| panic!("adding {domain}: {e}"));
        }
        let mut config = ServeConfig::new(db.url.clone());
        config.database_read_url = options.read_url;
        config.listen = "127.0.0.1:0".into();
        config.queue_capacity = options.queue_capacity;
        config.writer = options.writer;
        config.geoip_db = options.geoip_db;
        config.trusted_proxies = options.trusted_proxies;
        config.public_url = options
            .public_url
            .map(|u| url::Url::parse(u).unwrap_or_else(|e| panic!("{u}: {e}")));
        config.workers = Some(2);
        if let Some(timeout) = options.query_timeout {
            config.query_timeout = timeout;
        }
        if let Some(timeout) = options.body_timeout {
            config.body_timeout = timeout;
        }
        config.retention_days = options.retention_days;
        if let Some(tick) = options.jobs_tick {
            config.jobs_tick = tick;
        }
        let app = Application::build_with_store(config, store.clone())
            .await
            .unwrap_or_else(|e| panic!("building the app: {e:?}"));
        let port = app.port();
        let handle = app.shutdown();
        let metrics = app.metrics();
        let running = tokio::spawn(app.run_until_stopped());
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            store,
            metrics,
            client: reqwest::Client::new(),
            db,
            handle,
            running,
        }
    }

    pub async fn site(&self, domain: &str) -> Site {
        self.store
            .list_sites()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|s| s.domain.as_str() == domain)
            .unwrap_or_else(|| panic!("no site {domain}"))
    }

    /// Adds the `OWNER_EMAIL` / `OWNER_PASSWORD` account the dashboard tests log in with.
    pub async fn add_owner(&self) {
        use footfall::auth::password::{self, NewPassword};
        use footfall::domain::Email;
        let password = NewPassword::parse(OWNER_PASSWORD).unwrap_or_else(|e| panic!("{e}"));
        let hash = password::hash(password)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let email = Email::parse(OWNER_EMAIL).unwrap_or_else(|e| panic!("{e}"));
        self.store
            .add_user(&email, &hash)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// POSTs `body` to the collection endpoint as the tracker does (text/plain).
    pub async fn post_event(&self, body: &str, user_agent: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/event", self.address))
            .header("Content-Type", "text/plain;charset=UTF-8")
            .header("User-Agent", user_agent)
            .body(body.to_owned())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /api/event: {e}"))
    }

    /// Waits (up to 5 s) until `site` holds `n` events, and returns them newest first.
    pub async fn wait_for_events(&self, domain: &str, n: usize) -> Vec<StoredEvent> {
        let site = self.site(domain).await;
        let mut events = Vec::new();
        for _ in 0..250 {
            events = self
                .store
                .recent_events(site.id, 100_000)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if events.len() >= n {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} events for {domain}, found {}", events.len());
    }

    /// Graceful shutdown, exactly as on SIGTERM; returns how many events the writer stored.
    pub async fn stop(self) -> (u64, DynStore, TestDb) {
        self.handle.stop().await;
        let report = self
            .running
            .await
            .unwrap_or_else(|e| panic!("server task: {e}"))
            .unwrap_or_else(|e| panic!("server: {e:?}"));
        (report.stored, self.store, self.db)
    }
}

/// A fresh database with the schema in place, and a store on it.
pub async fn open_store(backend: Backend) -> Option<(DynStore, TestDb)> {
    let db = TestDb::new(backend).await?;
    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e:?}", db.url));
    Some((store, db))
}

pub async fn add_site(store: &DynStore, domain: &str, tz: &str) -> Site {
    store
        .add_site(
            &SiteDomain::parse(domain).unwrap_or_else(|e| panic!("{e}")),
            TimeZone::parse(tz).unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("adding {domain}: {e}"))
}

/// Runs `$body` with `$c` bound to a connection of the test's own to `db`, on either backend
/// (the body is written once and compiled for each).
macro_rules! with_connection {
    ($db:expr, |$c:ident| $body:expr) => {{
        use sqlx::Connection;
        match $db.backend {
            Backend::Sqlite => {
                let mut $c = sqlx::SqliteConnection::connect(&$db.url)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", $db.url));
                $body
            }
            Backend::Postgres => {
                let mut $c = sqlx::PgConnection::connect(&$db.url)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", $db.url));
                $body
            }
        }
    }};
}

/// Runs `statements` on `db` directly, on a connection of its own (to set up what an older
/// footfall or another program left there).
pub async fn run_sql(db: &TestDb, statements: &[&str]) {
    with_connection!(db, |c| {
        for sql in statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    })
}

/// The first column of the first row of `sql` on `db`, as an integer, on a connection of its own.
pub async fn query_int(db: &TestDb, sql: &str) -> i64 {
    with_connection!(db, |c| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
}

/// Runs the `footfall` binary on `db` as a user would.
pub fn footfall(db: &TestDb, args: &[&str]) -> std::process::Output {
    footfall_in(db, Path::new("."), args)
}

/// `footfall`, run in `dir`.
pub fn footfall_in(db: &TestDb, dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_footfall"))
        .args(args)
        .current_dir(dir)
        .env("FOOTFALL_DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("running footfall {args:?}: {e}"))
}

/// A command's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A pageview body for `example.com`.
pub fn pageview(path: &str) -> String {
    format!(r#"{{"n":"pageview","u":"https://example.com{path}","d":"example.com"}}"#)
}

/// Runs an async test body against SQLite and against Postgres: `both_backends!(name, body_fn)`
/// makes `name::sqlite` and `name::postgres`. Where `FOOTFALL_TEST_POSTGRES_URL` is not set (at
/// build time, see `build.rs`) the Postgres twin is reported ignored, with that reason.
/// `both_backends!(browser: name)` also marks both twins ignored where Chromium, node or
/// `tracker-js/node_modules` are missing.
#[macro_export]
macro_rules! both_backends {
    (browser: $($name:ident),* $(,)?) => {
        $(
            $crate::both_backends!(@twins $name
                [#[cfg_attr(footfall_skip_browser, ignore = "skipped: needs /usr/bin/chromium, node and tracker-js/node_modules (cd tracker-js && npm ci)")]]
                [
                    #[cfg_attr(footfall_skip_postgres, ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set")]
                    #[cfg_attr(all(footfall_skip_browser, not(footfall_skip_postgres)), ignore = "skipped: needs /usr/bin/chromium, node and tracker-js/node_modules (cd tracker-js && npm ci)")]
                ]
            );
        )*
    };
    ($($name:ident),* $(,)?) => {
        $(
            $crate::both_backends!(@twins $name
                []
                [#[cfg_attr(footfall_skip_postgres, ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set")]]
            );
        )*
    };
    (@twins $name:ident [$($sqlite:tt)*] [$($postgres:tt)*]) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $($sqlite)*
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $($postgres)*
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    };
}

pub mod geo {
    //! A tiny GeoLite2-City-shaped database built at test time (no third-party data committed).

    use mmdb_writer::{IpVersion, Value, Writer};
    use std::path::PathBuf;

    pub struct Fixture {
        pub path: PathBuf,
        _dir: tempfile::TempDir,
    }

    fn names(en: &str) -> Value {
        Value::map([("en", en)])
    }

    /// 81.2.69.0/24 → GB / England / London; 2a02:8108::/32 → DE / Bavaria / Munich.
    pub fn fixture() -> Fixture {
        let mut writer = Writer::builder("GeoLite2-City")
            .languages(["en"])
            .description(&[("en", "footfall test fixture")])
            .ip_version(IpVersion::V6)
            .build();
        for (net, iso, region, city) in [
            ("81.2.69.0/24", "GB", "England", "London"),
            ("2a02:8108::/32", "DE", "Bavaria", "Munich"),
        ] {
            let record = Value::map([
                ("city", Value::map([("names", names(city))])),
                (
                    "country",
                    Value::map([("iso_code", Value::from(iso)), ("names", names(iso))]),
                ),
                (
                    "subdivisions",
                    Value::Array(vec![Value::map([("names", names(region))])]),
                ),
            ]);
            writer
                .insert_value(
                    net.parse::<mmdb_writer::ipnet::IpNet>()
                        .unwrap_or_else(|e| panic!("{e}")),
                    record,
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("city.mmdb");
        std::fs::write(&path, writer.to_bytes().unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        Fixture { path, _dir: dir }
    }
}
pub mod driver;
pub mod known;
pub mod traffic;
pub mod visits;
