//! SIGTERM while the database is down, on the real binary: footfall keeps trying until
//! `--shutdown-timeout-secs`, writes what is still queued to a spool file in `--spool-dir`,
//! exits 0, and the next start stores every spooled event exactly once (also when it is started
//! again over a spool it already replayed), or, from a damaged spool, every event that can be
//! read. The outage is real: on Postgres a cluster of the test's own is stopped; on SQLite
//! another connection holds the database's write lock.

#[path = "support/cluster.rs"]
mod cluster;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use support::{Backend, CHROME_UA, TestDb, pageview};

both_backends!(
    sigterm_with_the_database_down_spools_the_queue_and_the_next_start_stores_it_once,
    a_damaged_spool_gives_back_what_can_be_read_and_footfall_starts_anyway,
);

/// The database of one test, and a way to take it away and give it back.
enum Db {
    Sqlite(TestDb),
    Postgres(cluster::Cluster),
}

enum Outage {
    Sqlite(sqlx::SqliteConnection),
    Postgres,
}

impl Db {
    async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Db::Sqlite(
                TestDb::new(Backend::Sqlite)
                    .await
                    .unwrap_or_else(|| panic!("a SQLite database")),
            ),
            Backend::Postgres => Db::Postgres(cluster::Cluster::start()),
        }
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(db) => db.url.clone(),
            Db::Postgres(cluster) => cluster.url(),
        }
    }

    async fn go_down(&self) -> Outage {
        use sqlx::{Connection, Executor};
        match self {
            Db::Sqlite(db) => {
                let mut conn = sqlx::SqliteConnection::connect(&db.url)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                conn.execute("BEGIN EXCLUSIVE")
                    .await
                    .unwrap_or_else(|e| panic!("locking the database: {e}"));
                Outage::Sqlite(conn)
            }
            Db::Postgres(cluster) => {
                cluster.stop();
                Outage::Postgres
            }
        }
    }

    async fn come_back(&self, outage: Outage) {
        use sqlx::Executor;
        match (self, outage) {
            (_, Outage::Sqlite(mut conn)) => {
                conn.execute("ROLLBACK")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            (Db::Postgres(cluster), Outage::Postgres) => cluster.resume(),
            (Db::Sqlite(_), Outage::Postgres) => unreachable!("a SQLite outage is a lock"),
        }
    }

    /// The paths of every stored event of example.com (one per event).
    async fn stored_paths(&self) -> Vec<String> {
        let store = footfall::store::connect(&self.url())
            .await
            .unwrap_or_else(|e| panic!("opening the database: {e:?}"));
        let site = store
            .list_sites()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|s| s.domain.as_str() == "example.com")
            .unwrap_or_else(|| panic!("no site example.com"));
        store
            .recent_events(site.id, 1_000_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|e| e.path)
            .collect()
    }
}

/// `footfall serve` as a user runs it, logging to a file.
struct Serve {
    child: Child,
    address: String,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("finding a free port: {e}"))
}

fn footfall(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_footfall"));
    command
        .env("FOOTFALL_DATABASE_URL", url)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::null());
    command
}

async fn serve(url: &str, spool: &Path, log: PathBuf) -> Serve {
    let port = free_port();
    let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
    let child = footfall(url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--spool-dir")
        .arg(spool)
        .args(["--shutdown-timeout-secs", "3", "--flush-interval-ms", "20"])
        .args(["--batch-size", "25"])
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("starting footfall serve: {e}"));
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "footfall serve did not start: {}",
            read(&log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Serve {
        child,
        address,
        log,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Serve {
    /// Sends example.com pageviews for `paths`; each must be answered 202.
    async fn send(&self, paths: &[String]) {
        let client = reqwest::Client::new();
        for path in paths {
            let status = client
                .post(format!("{}/api/event", self.address))
                .header("Content-Type", "text/plain")
                .header("User-Agent", CHROME_UA)
                .body(pageview(path))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or_else(|e| panic!("POST /api/event: {e}"));
            assert_eq!(status, 202, "sending {path}");
        }
    }

    /// SIGTERM, as a service manager sends it; returns the exit status and the log.
    async fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(sent.success(), "kill -TERM {pid}");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
                return (status, read(&self.log));
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!(
                    "footfall did not exit within 60 s of SIGTERM:\n{}",
                    read(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn spool_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn paths(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/{prefix}/{i}")).collect()
}

async fn wait_for_paths(db: &Db, n: usize, log: &Path) -> Vec<String> {
    let started = Instant::now();
    loop {
        let stored = db.stored_paths().await;
        if stored.len() >= n {
            return stored;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "expected {n} stored events, found {}:\n{}",
            stored.len(),
            read(log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Up to the first shutdown: events stored, the database goes away, more events accepted,
/// SIGTERM, exit 0 with one spool file. Returns the two lists of paths sent.
async fn spool_a_queue(db: &Db, spool: &Path, logs: &Path) -> (Vec<String>, Vec<String>, Outage) {
    let url = db.url();
    let added = footfall(&url)
        .args(["site", "add", "example.com"])
        .output()
        .unwrap_or_else(|e| panic!("footfall site add: {e}"));
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let first = serve(&url, spool, logs.join("first.log")).await;
    let before = paths("before", 30);
    first.send(&before).await;
    wait_for_paths(db, before.len(), &first.log).await;

    let outage = db.go_down().await;
    let during = paths("during", 40);
    first.send(&during).await;
    // Let the writer find the database gone and start retrying.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, log) = first.terminate().await;
    assert!(
        status.success(),
        "exit status {status} after SIGTERM:\n{log}"
    );
    assert!(
        log.contains("spool file"),
        "the log does not say where the queue went:\n{log}"
    );
    assert_eq!(
        spool_files(spool, ".jsonl").len(),
        1,
        "one spool file expected:\n{log}"
    );
    (before, during, outage)
}

fn sorted(paths: &[String]) -> Vec<String> {
    let mut paths = paths.to_vec();
    paths.sort();
    paths
}

async fn sigterm_with_the_database_down_spools_the_queue_and_the_next_start_stores_it_once(
    backend: Backend,
) {
    let db = Db::new(backend).await;
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spool = work.path().join("spool");
    let (before, during, outage) = spool_a_queue(&db, &spool, work.path()).await;
    let file = spool_files(&spool, ".jsonl").remove(0);
    let copy = work.path().join("spool-copy");
    std::fs::copy(&file, &copy).unwrap_or_else(|e| panic!("{e}"));

    // The database comes back; the next start stores the spooled events and deletes the file.
    db.come_back(outage).await;
    let second = serve(&db.url(), &spool, work.path().join("second.log")).await;
    let expected: Vec<String> = sorted(&[before.clone(), during.clone()].concat());
    let stored = wait_for_paths(&db, expected.len(), &second.log).await;
    let (status, log) = second.terminate().await;
    assert!(status.success(), "{log}");
    assert!(log.contains("spool file replayed"), "{log}");
    assert_eq!(
        sorted(&stored),
        expected,
        "every event 202'd is stored once"
    );
    assert!(
        spool_files(&spool, ".jsonl").is_empty(),
        "the spool file is gone"
    );

    // A start that finds the same spool again (as if the process died right after storing it,
    // before the file was deleted) stores nothing twice.
    std::fs::copy(&copy, &file).unwrap_or_else(|e| panic!("{e}"));
    let third = serve(&db.url(), &spool, work.path().join("third.log")).await;
    let started = Instant::now();
    while !spool_files(&spool, ".jsonl").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            read(&third.log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, log) = third.terminate().await;
    assert!(status.success(), "{log}");
    assert_eq!(sorted(&db.stored_paths().await), expected, "{log}");
    assert_eq!(
        spool_files(&spool, "").len(),
        0,
        "a clean shutdown leaves no spool"
    );
    let unique: BTreeSet<&String> = expected.iter().collect();
    assert_eq!(unique.len(), expected.len());
}

async fn a_damaged_spool_gives_back_what_can_be_read_and_footfall_starts_anyway(backend: Backend) {
    let db = Db::new(backend).await;
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spool = work.path().join("spool");
    let (before, during, outage) = spool_a_queue(&db, &spool, work.path()).await;
    let file = spool_files(&spool, ".jsonl").remove(0);

    // One event's line damaged on disk (line 3: the second spooled event), and the file cut
    // short inside its last line, as a crash while writing would leave it.
    let mut bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    bytes[line_starts[2] + 50] ^= 0x01;
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&file, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let unreadable: Vec<String> = [lines[2], lines[lines.len() - 1]]
        .iter()
        .map(|line| {
            let at = line.find("\"path\":\"").unwrap_or_else(|| panic!("{line}")) + 8;
            line[at..].split('"').next().unwrap_or_default().to_owned()
        })
        .collect();

    db.come_back(outage).await;
    let second = serve(&db.url(), &spool, work.path().join("second.log")).await;
    let expected: Vec<String> = sorted(
        &[before, during]
            .concat()
            .into_iter()
            .filter(|p| !unreadable.contains(p))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        expected.len(),
        68,
        "two events are unreadable: {unreadable:?}"
    );
    let stored = wait_for_paths(&db, expected.len(), &second.log).await;
    // Footfall is up and collecting.
    second.send(&["/after".to_owned()]).await;
    wait_for_paths(&db, expected.len() + 1, &second.log).await;
    let (status, log) = second.terminate().await;
    assert!(status.success(), "{log}");
    assert!(
        log.contains("damaged") && log.contains("recovered=38"),
        "the damage is not reported with what was recovered:\n{log}"
    );
    assert_eq!(sorted(&stored), expected);
    assert!(spool_files(&spool, ".jsonl").is_empty());
    assert_eq!(
        spool_files(&spool, ".damaged").len(),
        1,
        "kept for the operator"
    );
}
