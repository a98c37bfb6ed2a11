//! The producer: turns the files of any format into one time-ordered stream of events for the
//! queue. Runs on a blocking thread (it reads files and inflates gzip).
//!
//! The sessionizer goes by event time, so events must reach the writer in time order even when
//! rotated files are named in any order, or when logs of several servers overlap. Files are
//! ordered by their first timestamp and merged: a file is opened once the merge reaches its
//! first timestamp, and each step takes the earliest pending event of the open files. Rotated
//! logs of one server thus stream one file at a time; overlapping ones interleave.

use super::cli::LogFormat;
use super::collect::Collector;
use super::report::FileReport;
use super::row::Rows;
use super::salts::ImportSalts;
use crate::domain::{Event, Site};
use crate::ingest::enrich::geoip::GeoIp;
use crate::ingest::error::CollectError;
use crate::ingest::parser::Enrichment;
use crate::ingest::queue::EventQueue;
use crate::ingest::sites::SiteCache;
use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A file to import, as found when checking the command line.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub size: u64,
    /// `None` when no readable line was found near its start: such files go last.
    pub first: Option<DateTime<Utc>>,
}

/// Progress is redrawn after this many rows (indicatif also rate-limits drawing).
const PROGRESS_EVERY: u64 = 16 * 1024;

pub struct Producer {
    pub format: LogFormat,
    pub files: Vec<PlannedFile>,
    pub site: Site,
    pub sites: SiteCache,
    pub salts: ImportSalts,
    pub geoip: Option<Arc<GeoIp>>,
    pub queue: EventQueue,
    pub progress: ProgressBar,
}

/// One file being merged: its rows while open, its next event, and its counts.
struct Stream {
    rows: Option<Box<dyn Rows>>,
    /// The line of the last row read.
    line_no: u64,
    pending: Option<Event>,
    report: FileReport,
}

impl Producer {
    /// Reads every file and queues its events. Returns the reports in the order the files
    /// were given; fails only when the writer has gone away.
    pub fn run(self) -> Result<Vec<FileReport>, CollectError> {
        let Producer {
            format,
            files,
            site,
            sites,
            salts,
            geoip,
            queue,
            progress,
        } = self;
        let consumed = Arc::new(AtomicU64::new(0));
        progress.set_length(files.iter().map(|f| f.size).sum());
        let mut collect = Collector::new(
            &site,
            Enrichment {
                sites: &sites,
                salts: &salts,
                geoip: geoip.as_deref(),
            },
        );
        let mut streams: Vec<Stream> = files
            .iter()
            .map(|f| Stream {
                rows: None,
                line_no: 0,
                pending: None,
                report: FileReport::new(f.path.clone(), format.unit()),
            })
            .collect();
        let mut order: Vec<usize> = (0..files.len()).collect();
        // Stable: files without a timestamp keep their command-line order, at the end.
        order.sort_by_key(|&i| (files[i].first.is_none(), files[i].first));
        let mut unopened = order.into_iter().peekable();
        // Each open file's pending event, earliest on top.
        let mut heap: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = BinaryHeap::new();
        let mut read: u64 = 0;

        loop {
            // Open every file that may hold events as early as the earliest pending one.
            while let Some(&next) = unopened.peek() {
                let due = match (heap.peek(), files[next].first) {
                    (None, _) => true,
                    (Some(Reverse((earliest, _))), Some(first)) => first <= *earliest,
                    (Some(_), None) => false,
                };
                if !due {
                    break;
                }
                unopened.next();
                let stream = &mut streams[next];
                match format.open(&files[next].path, consumed.clone()) {
                    Ok(rows) => stream.rows = Some(rows),
                    // It opened when the command line was checked; it may have been rotated away.
                    Err(e) => stream.report.error = Some((0, e.to_string())),
                }
                if let Some(at) = stream.advance(&mut collect, &mut read) {
                    heap.push(Reverse((at, next)));
                }
            }
            let Some(Reverse((_, i))) = heap.pop() else {
                break;
            };
            let stream = &mut streams[i];
            if let Some(event) = stream.pending.take() {
                queue.blocking_push(event)?;
                stream.report.counts.imported += 1;
            }
            let before = read;
            if let Some(at) = stream.advance(&mut collect, &mut read) {
                heap.push(Reverse((at, i)));
            }
            if read / PROGRESS_EVERY != before / PROGRESS_EVERY {
                progress.set_position(consumed.load(Relaxed));
            }
        }
        progress.set_position(consumed.load(Relaxed));
        Ok(streams.into_iter().map(|s| s.report).collect())
    }
}

impl Stream {
    /// Reads up to the next event, makes it the pending event and returns its time; counts the
    /// rows skipped on the way (and in `read`). Closes the file at its end or on a read error,
    /// returning `None`.
    fn advance(&mut self, collect: &mut Collector<'_>, read: &mut u64) -> Option<DateTime<Utc>> {
        let rows = self.rows.as_mut()?;
        loop {
            let row = match rows.next_row(collect) {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    self.report.error = Some((self.line_no, e.to_string()));
                    break;
                }
            };
            self.line_no = row.line;
            self.report.counts.read += 1;
            *read += 1;
            match row.result {
                Ok(event) => {
                    let at = event.created_at;
                    self.pending = Some(event);
                    return Some(at);
                }
                Err(reason) => self.report.skip(reason, row.line),
            }
        }
        self.rows = None;
        None
    }
}
