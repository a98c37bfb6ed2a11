//! The combined format's rows: a log's lines, parsed (`combined`), kept when they are page
//! views (`filter`), and posted as a pageview from the logged client.

use super::collect::{Body, Client, Collector};
use super::report::SkipReason;
use super::row::{Row, Rows};
use super::source::{Line, LineReader, PROBE_ROWS};
use super::{combined, filter};
use crate::domain::Event;
use crate::ingest::parser::RequestMeta;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub struct LogRows {
    lines: LineReader,
    line_no: u64,
    /// Reused between lines.
    url: String,
}

impl LogRows {
    pub fn open(path: &Path, consumed: Arc<AtomicU64>) -> io::Result<Self> {
        Ok(Self {
            lines: LineReader::open(path, consumed)?,
            line_no: 0,
            url: String::new(),
        })
    }
}

impl Rows for LogRows {
    fn next_row(&mut self, collect: &mut Collector<'_>) -> io::Result<Option<Row>> {
        let Some(line) = self.lines.next_line()? else {
            return Ok(None);
        };
        self.line_no += 1;
        let result = match line {
            Line::TooLong => Err(SkipReason::Malformed),
            Line::Bytes(bytes) => event(bytes, &mut self.url, collect),
        };
        Ok(Some(Row {
            line: self.line_no,
            result,
        }))
    }
}

/// One log line → a pageview of the logged request, from the logged client at the logged time.
fn event(bytes: &[u8], url: &mut String, collect: &mut Collector<'_>) -> Result<Event, SkipReason> {
    let text = std::str::from_utf8(bytes).map_err(|_| SkipReason::Malformed)?;
    let line = combined::parse(text).map_err(|_| SkipReason::Malformed)?;
    let target = filter::page_target(line.method_and_target(), line.status)?;
    url.clear();
    if target.starts_with('/') {
        // The log has no host: the page is on the site being imported.
        let _ = write!(url, "https://{}{target}", collect.site().domain);
    } else {
        // Absolute form (`GET http://host/path`): the parser checks the host is the site's.
        url.push_str(target);
    }
    let body = Body {
        n: "pageview",
        u: url,
        r: line.referer.as_deref(),
        p: None,
    };
    let client = Client::Request(RequestMeta {
        user_agent: line.user_agent.as_deref().unwrap_or_default(),
        ip: line.client,
        received_at: line.time,
    });
    collect.event(&body, client)
}

/// The time of the first readable line among the first `PROBE_ROWS`, to order files by.
/// Fails when the file cannot be opened or decompressed.
pub fn first_timestamp(path: &Path) -> io::Result<Option<DateTime<Utc>>> {
    let mut lines = LineReader::open(path, Arc::default())?;
    for _ in 0..PROBE_ROWS {
        match lines.next_line()? {
            None => break,
            Some(Line::TooLong) => {}
            Some(Line::Bytes(bytes)) => {
                if let Some(line) = std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| combined::parse(text).ok())
                {
                    return Ok(Some(line.time));
                }
            }
        }
    }
    Ok(None)
}
