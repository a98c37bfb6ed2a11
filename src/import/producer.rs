//! The producer: turns log files into one time-ordered stream of events for the queue. Runs on
//! a blocking thread (it reads files and inflates gzip).
//!
//! The sessionizer goes by event time, so events must reach the writer in time order even when
//! rotated files are named in any order, or when logs of several servers overlap. Files are
//! ordered by their first timestamp and merged: a file is opened once the merge reaches its
//! first timestamp, and each step takes the earliest pending event of the open files. Rotated
//! logs of one server thus stream one file at a time; overlapping ones interleave.

use super::combined;
use super::filter;
use super::report::{FileReport, SkipReason};
use super::salts::ImportSalts;
use super::source::{Line, LineReader};
use crate::domain::{Event, Site};
use crate::ingest::enrich::geoip::GeoIp;
use crate::ingest::error::CollectError;
use crate::ingest::parser::{self, Enrichment, Parsed, RequestMeta};
use crate::ingest::queue::EventQueue;
use crate::ingest::sites::SiteCache;
use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
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

/// Progress is redrawn after this many lines (indicatif also rate-limits drawing).
const PROGRESS_EVERY: u64 = 16 * 1024;

pub struct Producer {
    pub files: Vec<PlannedFile>,
    pub site: Site,
    pub sites: SiteCache,
    pub salts: ImportSalts,
    pub geoip: Option<Arc<GeoIp>>,
    pub queue: EventQueue,
    pub progress: ProgressBar,
}

/// One file being merged: its reader while open, its next page view, and its counts.
struct Stream {
    lines: Option<LineReader>,
    line_no: u64,
    pending: Option<Event>,
    report: FileReport,
}

impl Producer {
    /// Reads every file and queues its page views. Returns the reports in the order the files
    /// were given; fails only when the writer has gone away.
    pub fn run(self) -> Result<Vec<FileReport>, CollectError> {
        let Producer {
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
        let mut convert = Converter {
            site: &site,
            enrichment: Enrichment {
                sites: &sites,
                salts: &salts,
                geoip: geoip.as_deref(),
            },
            url: String::new(),
            body: Vec::new(),
        };
        let mut streams: Vec<Stream> = files
            .iter()
            .map(|f| Stream {
                lines: None,
                line_no: 0,
                pending: None,
                report: FileReport::new(f.path.clone()),
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
                match LineReader::open(&files[next].path, consumed.clone()) {
                    Ok(lines) => stream.lines = Some(lines),
                    // It opened when the command line was checked; it may have been rotated away.
                    Err(e) => stream.report.error = Some((0, e.to_string())),
                }
                if let Some(at) = stream.advance(&mut convert, &mut read) {
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
            if let Some(at) = stream.advance(&mut convert, &mut read) {
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
    /// Reads up to the next page view, makes it the pending event and returns its time; counts
    /// the lines skipped on the way (and in `read`). Closes the file at its end or on a read
    /// error, returning `None`.
    fn advance(&mut self, convert: &mut Converter<'_>, read: &mut u64) -> Option<DateTime<Utc>> {
        let lines = self.lines.as_mut()?;
        loop {
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    self.report.error = Some((self.line_no, e.to_string()));
                    break;
                }
            };
            self.line_no += 1;
            self.report.counts.read += 1;
            *read += 1;
            let result = match line {
                Line::TooLong => Err(SkipReason::Malformed),
                Line::Bytes(bytes) => convert.event(bytes),
            };
            match result {
                Ok(event) => {
                    let at = event.created_at;
                    self.pending = Some(event);
                    return Some(at);
                }
                Err(reason) => self.report.skip(reason, self.line_no),
            }
        }
        self.lines = None;
        None
    }
}

/// One log line → the collection contract's body → `parser::parse`, exactly as the listener
/// does it, with the log's client address, user agent and time as the request's.
struct Converter<'a> {
    site: &'a Site,
    enrichment: Enrichment<'a>,
    /// Reused between lines.
    url: String,
    body: Vec<u8>,
}

#[derive(serde::Serialize)]
struct Body<'a> {
    n: &'static str,
    u: &'a str,
    d: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<&'a str>,
}

impl Converter<'_> {
    fn event(&mut self, bytes: &[u8]) -> Result<Event, SkipReason> {
        let text = std::str::from_utf8(bytes).map_err(|_| SkipReason::Malformed)?;
        let line = combined::parse(text).map_err(|_| SkipReason::Malformed)?;
        let target = filter::page_target(line.method_and_target(), line.status)?;
        self.url.clear();
        if target.starts_with('/') {
            // The log has no host: the page is on the site being imported.
            let _ = write!(self.url, "https://{}{target}", self.site.domain);
        } else {
            // Absolute form (`GET http://host/path`): the parser checks the host is the site's.
            self.url.push_str(target);
        }
        self.body.clear();
        let body = Body {
            n: "pageview",
            u: &self.url,
            d: self.site.domain.as_str(),
            r: line.referer.as_deref(),
        };
        serde_json::to_writer(&mut self.body, &body).map_err(|_| SkipReason::Invalid)?;
        let meta = RequestMeta {
            user_agent: line.user_agent.as_deref().unwrap_or_default(),
            ip: line.client,
            received_at: line.time,
        };
        match parser::parse(&self.body, meta, self.enrichment) {
            Ok(Parsed::Event(event)) => Ok(*event),
            Ok(Parsed::Bot(_)) => Err(SkipReason::Bot),
            // Never: every imported line is posted as a pageview.
            Ok(Parsed::Engagement(_)) => Err(SkipReason::Invalid),
            Err(e) => {
                tracing::debug!(error = %e, "the collection parser refused an imported line");
                Err(SkipReason::Invalid)
            }
        }
    }
}
