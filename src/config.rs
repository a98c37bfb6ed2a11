//! Settings of a running server, filled from the command line / environment by `cli`.

use crate::ingest::writer::WriterConfig;
use ipnet::IpNet;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://footfall.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

/// Beside the SQLite file (`sqlite://data/footfall.db` → `data`), else the working directory.
pub fn default_spool_dir(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && *path != ":memory:");
    match file.and_then(|path| std::path::Path::new(path).parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `host:port`; port 0 picks a free port (tests).
    pub listen: String,
    pub database_url: String,
    /// A read replica of `database_url` for the questions (`--database-read-url`, Postgres
    /// only); `None`: they read on the primary.
    pub database_read_url: Option<String>,
    pub queue_capacity: usize,
    pub writer: WriterConfig,
    pub geoip_db: Option<PathBuf>,
    pub trusted_proxies: Vec<IpNet>,
    /// HTTP worker threads; `None` = one per core.
    pub workers: Option<usize>,
    /// From the shutdown signal, how long the writer keeps trying the database before it
    /// spools what is still queued.
    pub shutdown_timeout: Duration,
    /// Where the shutdown spool goes; `None` = `default_spool_dir`.
    pub spool_dir: Option<PathBuf>,
    /// The address browsers reach footfall at (`--public-url`); `None`: the request's host.
    pub public_url: Option<url::Url>,
    /// How long a request's questions may take (`store::deadline`).
    pub query_timeout: Duration,
    /// How long a request's body may take to arrive (`web::body_deadline`).
    pub body_timeout: Duration,
    /// Days of raw events and visits to keep (`--retention-days`); `None`: forever. A site's
    /// own setting overrides it.
    pub retention_days: Option<u32>,
    /// How often the once-only jobs (`store::once`) look whether they are due.
    pub jobs_tick: Duration,
}

impl ServeConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_owned(),
            database_url: database_url.into(),
            database_read_url: None,
            queue_capacity: 50_000,
            writer: WriterConfig::default(),
            geoip_db: None,
            trusted_proxies: Vec::new(),
            workers: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            spool_dir: None,
            public_url: None,
            query_timeout: crate::store::deadline::DEFAULT_TIMEOUT,
            body_timeout: crate::web::body_deadline::DEFAULT_TIMEOUT,
            retention_days: None,
            jobs_tick: Duration::from_secs(60),
        }
    }

    /// The spool directory in use: `spool_dir`, or beside the SQLite file, or the working
    /// directory.
    pub fn spool_dir(&self) -> PathBuf {
        self.spool_dir
            .clone()
            .unwrap_or_else(|| default_spool_dir(&self.database_url))
    }

    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.writer.flush_interval = interval;
        self
    }
}

pub use crate::store::redact;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spool_goes_beside_the_sqlite_file_or_in_the_working_directory() {
        let dir = |url| default_spool_dir(url).display().to_string();
        assert_eq!(dir("sqlite://footfall.db"), ".");
        assert_eq!(
            dir("sqlite:///var/lib/footfall/footfall.db"),
            "/var/lib/footfall"
        );
        assert_eq!(dir("sqlite://data/f.db?mode=rwc"), "data");
        assert_eq!(dir("sqlite::memory:"), ".");
        assert_eq!(dir("postgres://footfall@db/footfall"), ".");
    }
}
