//! A throwaway Postgres cluster of one test's own (`initdb` + `pg_ctl`, as the `postgres` user
//! when the test runs as root, on a free port, in a temporary directory), for tests that stop
//! the database for real; and a primary with a streaming replica of it (`pg_basebackup -R`), for
//! the read replica's tests. Each goes, data directory and all, when dropped.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

/// The newest installed server's programs (Debian: /usr/lib/postgresql/N/bin).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| panic!("no Postgres server installed (/usr/lib/postgresql): {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .unwrap_or_else(|| panic!("no pg_ctl under /usr/lib/postgresql"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A Postgres program, run as the `postgres` user when we are root (Postgres refuses root).
fn command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(program: &Path, args: &[&str]) {
    let out = command(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("finding a free port: {e}"))
}

/// A directory the `postgres` user may write in.
fn postgres_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    if is_root() {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap_or_else(|e| panic!("chown: {e}"));
        assert!(status.success(), "chown of the cluster directory failed");
    }
    dir
}

/// Appends `lines` to a file of a data directory (as root, or as its owner).
fn append(path: &Path, lines: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .unwrap_or_else(|e| panic!("appending to {}: {e}", path.display()));
}

impl Cluster {
    /// A new cluster, started, with trust authentication for `postgres`.
    pub fn start() -> Self {
        let cluster = Self::init();
        cluster.resume();
        cluster
    }

    /// A new cluster ready to be a streaming replica's primary (`start_replica`): WAL for
    /// replicas, WAL senders, and replication connections from 127.0.0.1 trusted.
    pub fn start_primary() -> Self {
        let cluster = Self::init();
        let data = Path::new(&cluster.data()).to_path_buf();
        append(
            &data.join("postgresql.conf"),
            "\n# footfall's replica tests\nwal_level = replica\nmax_wal_senders = 5\n\
             hot_standby = on\n",
        );
        append(
            &data.join("pg_hba.conf"),
            "\nhost replication postgres 127.0.0.1/32 trust\n",
        );
        cluster.resume();
        cluster
    }

    fn init() -> Self {
        let cluster = Self {
            bin: bin_dir(),
            port: free_port(),
            dir: postgres_dir(),
        };
        let data = cluster.data();
        run(
            &cluster.bin.join("initdb"),
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        );
        cluster
    }

    /// A streaming replica of this primary (`start_primary`): a base backup with `-R` (which
    /// writes `primary_conninfo` and `standby.signal`), started on a port of its own; returns
    /// once it is in recovery and the primary shows it streaming.
    pub fn start_replica(&self) -> Cluster {
        let replica = Self {
            bin: self.bin.clone(),
            port: free_port(),
            dir: postgres_dir(),
        };
        let port = self.port.to_string();
        run(
            &self.bin.join("pg_basebackup"),
            &[
                "-R",
                "-D",
                &replica.data(),
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        replica.resume();
        wait_for("the replica to be in recovery", || {
            replica.holds("SELECT pg_is_in_recovery()")
        });
        wait_for("the primary to stream to the replica", || {
            self.holds("SELECT count(*) > 0 FROM pg_stat_replication WHERE state = 'streaming'")
        });
        replica
    }

    /// One value (psql's unaligned output) of `sql` on this cluster's `postgres` database.
    pub fn query(&self, sql: &str) -> String {
        self.try_query(sql)
            .unwrap_or_else(|e| panic!("psql {sql:?} on port {}: {e}", self.port))
    }

    fn try_query(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-p", &self.port.to_string(), "-c", sql])
            .output()
            .map_err(|e| format!("running psql: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Whether `sql` answers `t` now (false while the server does not answer).
    fn holds(&self, sql: &str) -> bool {
        self.try_query(sql).is_ok_and(|v| v == "t")
    }

    /// Waits (up to 30 s) until this replica has replayed everything `primary` had written when
    /// called.
    pub fn wait_replayed(&self, primary: &Cluster) {
        let lsn = primary.query("SELECT pg_current_wal_lsn()");
        wait_for(&format!("the replica to replay up to {lsn}"), || {
            self.holds(&format!(
                "SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"
            ))
        });
    }

    /// Pauses this replica's replay (it goes on receiving WAL but shows nothing new) and waits
    /// until it has stopped.
    pub fn pause_replay(&self) {
        self.query("SELECT pg_wal_replay_pause()");
        wait_for("replay to pause", || {
            self.holds("SELECT pg_get_wal_replay_pause_state() = 'paused'")
        });
    }

    pub fn resume_replay(&self) {
        self.query("SELECT pg_wal_replay_resume()");
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the stopped cluster again (same data, same port) and waits until it takes
    /// connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server as an outage would (fast: connections are cut).
    pub fn stop(&self) {
        run(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "fast", "-w", "stop"],
        );
    }
}

/// Polls `done` every 50 ms for up to 30 s.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Already stopped is fine; the directory goes with `dir`.
        let _ = command(&self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
    }
}
