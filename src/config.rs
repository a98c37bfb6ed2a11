//! Settings of a running server, filled from the command line / environment by `cli`.

use crate::ingest::writer::WriterConfig;
use ipnet::IpNet;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://footfall.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";

#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `host:port`; port 0 picks a free port (tests).
    pub listen: String,
    pub database_url: String,
    pub queue_capacity: usize,
    pub writer: WriterConfig,
    pub geoip_db: Option<PathBuf>,
    pub trusted_proxies: Vec<IpNet>,
    /// HTTP worker threads; `None` = one per core.
    pub workers: Option<usize>,
}

impl ServeConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_owned(),
            database_url: database_url.into(),
            queue_capacity: 50_000,
            writer: WriterConfig::default(),
            geoip_db: None,
            trusted_proxies: Vec::new(),
            workers: None,
        }
    }

    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.writer.flush_interval = interval;
        self
    }
}

/// A database URL fit for logs: the password replaced.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
