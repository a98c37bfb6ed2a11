//! What every format gives the producer: a check of how a file starts (run on every file before
//! anything is written; it also finds the first timestamp, to merge files by), and the file's
//! rows, each an event or a reason to skip it.

use super::cli::LogFormat;
use super::row::{ProbeError, Rows};
use super::{access_log, csv_rows, goatcounter::GoatCounter, umami::Umami};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

impl LogFormat {
    /// The time of the file's first readable row (`None` when none is found near its start),
    /// once the file is known to be in this format.
    pub fn probe(self, path: &Path) -> Result<Option<DateTime<Utc>>, ProbeError> {
        match self {
            LogFormat::Combined => Ok(access_log::first_timestamp(path)?),
            LogFormat::GoatCounter => csv_rows::first_timestamp::<GoatCounter>(path),
            LogFormat::Umami => csv_rows::first_timestamp::<Umami>(path),
        }
    }

    /// The file's rows, adding every byte read from disk to `consumed`.
    pub fn open(self, path: &Path, consumed: Arc<AtomicU64>) -> Result<Box<dyn Rows>, ProbeError> {
        Ok(match self {
            LogFormat::Combined => Box::new(access_log::LogRows::open(path, consumed)?),
            LogFormat::GoatCounter => {
                Box::new(csv_rows::CsvRows::<GoatCounter>::open(path, consumed)?)
            }
            LogFormat::Umami => Box::new(csv_rows::CsvRows::<Umami>::open(path, consumed)?),
        })
    }

    /// What the summary counts: a log's lines, a CSV export's rows (one may span lines).
    pub fn unit(self) -> &'static str {
        match self {
            LogFormat::Combined => "lines",
            LogFormat::GoatCounter | LogFormat::Umami => "rows",
        }
    }

    /// Whether rows carry the client's IP address, which a GeoIP database could place.
    pub fn has_client_addresses(self) -> bool {
        matches!(self, LogFormat::Combined)
    }
}
