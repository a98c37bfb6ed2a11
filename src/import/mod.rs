//! `footfall import`: page views from web server access logs, and the raw events of other
//! analytics tools' exports, sent through the same parser, queue and batch writer as live
//! events. In pipeline order: `source` (plain or gzip files) → a format's rows (`format`):
//! `access_log` (lines, `combined` parsed, `filter`ed to page views), or `csv_rows` of a
//! `goatcounter` or `umami` export (`names` for their browsers) → `collect` (the collection
//! contract's body for `ingest::parser`) → `producer` (files merged in time order) → queue →
//! writer. `salts` hashes visitors of past days; `report` counts what happened to every row.

pub mod access_log;
pub mod cli;
pub mod collect;
pub mod combined;
pub mod csv_rows;
pub mod filter;
pub mod format;
pub mod goatcounter;
pub mod names;
pub mod producer;
pub mod report;
pub mod row;
pub mod salts;
pub mod source;
pub mod umami;

use crate::domain::SiteDomain;
use crate::ingest::enrich::geoip::{GeoIp, GeoIpError};
use crate::ingest::queue;
use crate::ingest::sites::SiteCache;
use crate::ingest::writer::{Writer, WriterConfig};
use crate::metrics::Metrics;
use crate::store::{DynStore, StoreError};
use chrono::Utc;
use cli::LogFormat;
use indicatif::ProgressBar;
use producer::{PlannedFile, Producer};
use report::ImportReport;
use row::ProbeError;
use salts::ImportSalts;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub site: SiteDomain,
    pub format: LogFormat,
    pub files: Vec<PathBuf>,
    pub batch_size: usize,
    pub geoip_db: Option<PathBuf>,
    /// Shown while importing (`ProgressBar::hidden()` for none); its length is set here.
    pub progress: ProgressBar,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no site {0}: add it first with `footfall site add {0}`")]
    UnknownSite(SiteDomain),
    #[error("cannot read {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is given twice: its lines would be counted twice", path.display())]
    Duplicate { path: PathBuf },
    #[error("{} is not in the format asked for (--format {format}): {message}", path.display())]
    WrongFormat {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error(
        "--geoip-db places IP addresses, and --format {0} exports have none: their own country \
         column is imported; leave --geoip-db out"
    )]
    NoAddresses(&'static str),
    #[error(transparent)]
    GeoIp(#[from] GeoIpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the event writer stopped before the import finished")]
    WriterStopped,
    #[error("the import stopped unexpectedly")]
    Task(#[from] tokio::task::JoinError),
}

/// Checks every file (so a typo or a file of another format fails before anything is
/// written), then imports them all. Rows that cannot be imported are counted in the report,
/// never fatal; a file that stops being readable midway is reported too, after its earlier
/// rows were imported.
pub async fn run(store: DynStore, options: ImportOptions) -> Result<ImportReport, ImportError> {
    let format = options.format;
    if options.geoip_db.is_some() && !format.has_client_addresses() {
        return Err(ImportError::NoAddresses(format.name()));
    }
    let site = store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.domain == options.site)
        .ok_or_else(|| ImportError::UnknownSite(options.site.clone()))?;
    let paths = options.files.clone();
    let files = tokio::task::spawn_blocking(move || plan(format, paths)).await??;
    let geoip = match &options.geoip_db {
        Some(path) => Some(Arc::new(GeoIp::open(path)?)),
        None => None,
    };
    let sites = SiteCache::load(store.as_ref()).await?;
    let salts = ImportSalts::load(store.as_ref(), Utc::now()).await?;

    let metrics = Arc::new(Metrics::default());
    let batch_size = options.batch_size.max(1);
    let (queue, rx) = queue::bounded(batch_size * 4);
    let writer = Writer::new(
        store.clone(),
        metrics.clone(),
        WriterConfig {
            batch_size,
            flush_interval: Duration::from_secs(1),
        },
    )
    .await?;
    // Never signalled: the writer ends once the producer drops the queue.
    let (_keep_open, stop_rx) = watch::channel(false);
    let writer = tokio::spawn(writer.run(rx, stop_rx));

    let producer = Producer {
        format,
        files,
        site,
        sites,
        salts,
        geoip,
        queue,
        progress: options.progress.clone(),
    };
    let produced = tokio::task::spawn_blocking(move || producer.run()).await;
    options.progress.finish_and_clear();
    // The queue is gone with the producer (also if it panicked): the writer drains and stops.
    writer.await?;
    let files = produced?.map_err(|_| ImportError::WriterStopped)?;
    Ok(ImportReport {
        files,
        refused: metrics.dropped.load(Relaxed),
    })
}

/// Every file opened and decompressed far enough to check it is in `format` and find its first
/// timestamp.
fn plan(format: LogFormat, paths: Vec<PathBuf>) -> Result<Vec<PlannedFile>, ImportError> {
    let mut seen = std::collections::HashSet::new();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let unreadable = |source| ImportError::Unreadable {
            path: path.clone(),
            source,
        };
        let canonical = std::fs::canonicalize(&path).map_err(unreadable)?;
        if !seen.insert(canonical) {
            return Err(ImportError::Duplicate { path });
        }
        let size = std::fs::metadata(&path).map_err(unreadable)?.len();
        let first = match format.probe(&path) {
            Ok(first) => first,
            Err(ProbeError::Io(e)) => return Err(unreadable(e)),
            Err(ProbeError::NotTheFormat(message)) => {
                return Err(ImportError::WrongFormat {
                    path,
                    format: format.name(),
                    message,
                });
            }
        };
        files.push(PlannedFile { path, size, first });
    }
    Ok(files)
}
