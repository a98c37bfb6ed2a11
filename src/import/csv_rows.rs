//! CSV exports as rows: the header checked by the format, then one record at a time with the
//! line it starts on. Quoted fields may hold commas, doubled quotes and line breaks (RFC 4180,
//! what GoatCounter's Go and Umami's JavaScript writers produce); blank lines are skipped.
//!
//! Parsed with `csv-core` into fixed buffers, so a record past `MAX_ROW_BYTES` (a stray quote
//! can make the rest of a file one "field") is skipped as malformed without being held in
//! memory, as an overlong log line is. A file that ends inside a row (no line break after it,
//! and an open quote or a row that does not read) was cut short: the row is malformed and the
//! file ends with an error, so the import exits non-zero.

use super::collect::Collector;
use super::report::SkipReason;
use super::row::{ProbeError, Row, Rows};
use super::source::{self, PROBE_ROWS};
use crate::domain::Event;
use chrono::{DateTime, NaiveDateTime, Utc};
use csv_core::ReadRecordResult;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// Longer records are malformed (the longest real ones, with a 2 KiB URL and a user agent,
/// stay far below).
pub const MAX_ROW_BYTES: usize = 64 * 1024;
/// More fields than this are malformed (Umami's widest table has about fifty columns).
const MAX_FIELDS: usize = 256;

/// One record's fields, as text.
pub struct Fields<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl<'a> Fields<'a> {
    pub fn count(&self) -> usize {
        self.ends.len()
    }

    /// Field `i`; "" when there is no such field. Checked lengths are the formats' job.
    pub fn get(&self, i: usize) -> &'a str {
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(usize::MAX)
        };
        let end = self.ends.get(i).copied().unwrap_or(0);
        self.text.get(start..end).unwrap_or_default()
    }

    /// The fields when there are exactly `N`.
    pub fn array<const N: usize>(&self) -> Option<[&'a str; N]> {
        (self.count() == N).then(|| std::array::from_fn(|i| self.get(i)))
    }

    /// Every field is whole UTF-8 text (a multi-byte character split by a delimiter is not).
    fn is_text(&self) -> bool {
        let mut start = 0;
        self.ends.iter().all(|&end| {
            let ok = self.text.is_char_boundary(start) && self.text.is_char_boundary(end);
            start = end;
            ok
        })
    }
}

/// A format of CSV export: how its header must look, and what its rows become.
pub trait CsvFormat: Sized + Send {
    /// The format as messages name it ("a GoatCounter CSV export").
    const NAME: &'static str;

    /// Reads the header's column names, or says why this file is not in the format (what was
    /// expected).
    fn from_header(names: &[&str]) -> Result<Self, String>;

    /// The row's time, if it has a readable one.
    fn time(&self, row: &Fields<'_>) -> Option<DateTime<Utc>>;

    /// The row's event (through `collect`), or why it has none. The row has as many fields as
    /// the header.
    fn event(
        &mut self,
        row: &Fields<'_>,
        line: u64,
        collect: &mut Collector<'_>,
    ) -> Result<Event, SkipReason>;
}

/// A record as read: its fields (or `None` when it was too long to hold), where it starts, and
/// how the file ended if it ended with it.
struct Record<'a> {
    line: u64,
    fields: Option<Fields<'a>>,
    /// Not UTF-8.
    binary: bool,
    /// The file ended right after it, with no line break.
    unterminated: bool,
    /// ... and with an odd number of quotes in the file: inside a quoted field.
    open_quote: bool,
}

struct CsvReader {
    inner: Box<dyn BufRead + Send>,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Where records that are too long are read to, and dropped.
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    quotes: u64,
    last_byte: Option<u8>,
    done: bool,
}

impl CsvReader {
    fn open(path: &Path, consumed: Arc<AtomicU64>) -> io::Result<Self> {
        Ok(Self {
            inner: source::open(path, consumed)?,
            core: csv_core::Reader::new(),
            out: vec![0; MAX_ROW_BYTES],
            ends: vec![0; MAX_FIELDS],
            scratch: vec![0; 4096],
            scratch_ends: vec![0; 64],
            quotes: 0,
            last_byte: None,
            done: false,
        })
    }

    fn next(&mut self) -> io::Result<Option<Record<'_>>> {
        if self.done {
            return Ok(None);
        }
        let first_line = self.core.line();
        let (mut out_len, mut ends_len) = (0, 0);
        let mut too_long = false;
        loop {
            let input = self.inner.fill_buf()?;
            let at_end = input.is_empty();
            let (result, read, written, ended) = if too_long {
                self.core
                    .read_record(input, &mut self.scratch, &mut self.scratch_ends)
            } else {
                self.core
                    .read_record(input, &mut self.out[out_len..], &mut self.ends[ends_len..])
            };
            let taken = &input[..read];
            self.quotes += taken.iter().filter(|&&b| b == b'"').count() as u64;
            if let Some(&last) = taken.last() {
                self.last_byte = Some(last);
            }
            self.inner.consume(read);
            if !too_long {
                out_len += written;
                ends_len += ended;
            }
            match result {
                ReadRecordResult::InputEmpty if !at_end => {}
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => too_long = true,
                ReadRecordResult::Record => {
                    return Ok(Some(
                        self.record(first_line, out_len, ends_len, too_long, at_end),
                    ));
                }
                ReadRecordResult::End | ReadRecordResult::InputEmpty => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }

    fn record(
        &self,
        first_line: u64,
        out_len: usize,
        ends_len: usize,
        too_long: bool,
        at_end: bool,
    ) -> Record<'_> {
        let unterminated = at_end && !matches!(self.last_byte, Some(b'\n' | b'\r'));
        let open_quote = unterminated && self.quotes % 2 == 1;
        if too_long {
            return Record {
                line: first_line,
                fields: None,
                binary: false,
                unterminated,
                open_quote,
            };
        }
        let bytes = &self.out[..out_len];
        // The line it starts on: where the parser is now, less the line breaks inside it and
        // the one that ended it. Counting back skips the blank lines before it.
        let inside = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let ended_by_newline = !at_end && self.last_byte == Some(b'\n');
        let line = self
            .core
            .line()
            .saturating_sub(inside + u64::from(ended_by_newline))
            .max(first_line);
        let text = std::str::from_utf8(bytes);
        let fields = Fields {
            text: text.unwrap_or_default(),
            ends: &self.ends[..ends_len],
        };
        let binary = text.is_err() || !fields.is_text();
        Record {
            line,
            fields: Some(fields),
            binary,
            unterminated,
            open_quote,
        }
    }
}

/// A header's column names, trimmed, without the UTF-8 byte-order mark that spreadsheet
/// programs put before the first.
fn header_names<'a>(header: &Fields<'a>) -> Vec<&'a str> {
    (0..header.count())
        .map(|i| header.get(i).trim_start_matches('\u{feff}').trim())
        .collect()
}

/// Opens `path` and checks its header against `F`; also returns the header's column count.
fn open_checked<F: CsvFormat>(
    path: &Path,
    consumed: Arc<AtomicU64>,
) -> Result<(CsvReader, F, usize), ProbeError> {
    let mut reader = CsvReader::open(path, consumed)?;
    let (format, columns) = match reader.next()? {
        None => {
            return Err(ProbeError::NotTheFormat(format!(
                "the file is empty: {} starts with its header line",
                F::NAME
            )));
        }
        Some(Record {
            fields: Some(header),
            binary: false,
            ..
        }) => {
            let names = header_names(&header);
            let format = F::from_header(&names).map_err(ProbeError::NotTheFormat)?;
            (format, names.len())
        }
        Some(_) => {
            return Err(ProbeError::NotTheFormat(format!(
                "its first line is not a CSV header: {} starts with one",
                F::NAME
            )));
        }
    };
    Ok((reader, format, columns))
}

/// The time of the first readable row among the first `PROBE_ROWS`, once the header is right.
pub fn first_timestamp<F: CsvFormat>(path: &Path) -> Result<Option<DateTime<Utc>>, ProbeError> {
    let (mut reader, format, _) = open_checked::<F>(path, Arc::default())?;
    for _ in 0..PROBE_ROWS {
        match reader.next()? {
            None => break,
            Some(Record {
                fields: Some(row),
                binary: false,
                ..
            }) => {
                if let Some(at) = format.time(&row) {
                    return Ok(Some(at));
                }
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

pub struct CsvRows<F> {
    reader: CsvReader,
    format: F,
    columns: usize,
    /// The file was found cut short in the row at this line: the next call says so.
    cut_short: Option<u64>,
}

impl<F: CsvFormat> CsvRows<F> {
    pub fn open(path: &Path, consumed: Arc<AtomicU64>) -> Result<Self, ProbeError> {
        let (reader, format, columns) = open_checked(path, consumed)?;
        Ok(Self {
            reader,
            format,
            columns,
            cut_short: None,
        })
    }
}

impl<F: CsvFormat> Rows for CsvRows<F> {
    fn next_row(&mut self, collect: &mut Collector<'_>) -> io::Result<Option<Row>> {
        if let Some(line) = self.cut_short.take() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file ends inside the row at line {line}: it was cut short"),
            ));
        }
        let Some(record) = self.reader.next()? else {
            return Ok(None);
        };
        let result = match &record.fields {
            Some(fields)
                if !record.binary && !record.open_quote && fields.count() == self.columns =>
            {
                self.format.event(fields, record.line, collect)
            }
            _ => Err(SkipReason::Malformed),
        };
        if record.unterminated && (record.open_quote || result == Err(SkipReason::Malformed)) {
            self.cut_short = Some(record.line);
        }
        Ok(Some(Row {
            line: record.line,
            result,
        }))
    }
}

/// A timestamp as exports write them: RFC 3339 (`2026-03-14T10:00:00Z`, `…+02:00`), or SQL's
/// `2026-03-14 10:00:00[.123]` with an optional offset (`+00`, `+00:00`, `Z`), UTC without one.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Some(at.to_utc());
    }
    let t = s.replacen(' ', "T", 1);
    let t = t.strip_suffix(" UTC").unwrap_or(&t);
    if let Ok(at) = DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%#z") {
        return Some(at.to_utc());
    }
    let naive = t.strip_suffix('Z').unwrap_or(t);
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(bytes: &[u8]) -> Vec<(u64, Option<Vec<String>>, bool, bool)> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("export.csv");
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        let mut reader = CsvReader::open(&path, Arc::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(r) = reader.next().unwrap_or_else(|e| panic!("{e}")) {
            let fields = r
                .fields
                .as_ref()
                .map(|f| (0..f.count()).map(|i| f.get(i).to_owned()).collect());
            out.push((r.line, fields, r.unterminated, r.open_quote));
        }
        out
    }

    fn strings(fields: &[&str]) -> Option<Vec<String>> {
        Some(fields.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks_and_rows_know_their_line() {
        let text = b"a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\n\"two\nlines\",z\nlast,row";
        assert_eq!(
            records(text),
            vec![
                (1, strings(&["a", "b"]), false, false),
                (2, strings(&["x, y", "say \"hi\""]), false, false),
                (4, strings(&["two\nlines", "z"]), false, false),
                (6, strings(&["last", "row"]), true, false),
            ]
        );
    }

    #[test]
    fn a_file_cut_inside_a_quoted_field_says_so() {
        let rows = records(b"a,b\n1,\"open");
        assert_eq!(rows[1], (2, strings(&["1", "open"]), true, true));
    }

    #[test]
    fn an_overlong_record_is_dropped_without_losing_the_next() {
        let mut text = b"h\n\"".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_ROW_BYTES * 2));
        text.extend_from_slice(b"\"\nnext\n");
        let rows = records(&text);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].1, None);
        assert_eq!(rows[2], (3, strings(&["next"]), false, false));
    }

    #[test]
    fn export_timestamps_are_read_in_utc() {
        let at = |s: &str| parse_time(s).map(|t| t.to_rfc3339());
        let expected = Some("2026-03-14T10:00:00+00:00".to_owned());
        for s in [
            "2026-03-14T10:00:00Z",
            "2026-03-14T12:00:00+02:00",
            "2026-03-14 10:00:00",
            "2026-03-14 10:00:00.000",
            "2026-03-14 10:00:00+00",
            "2026-03-14 11:00:00+01:00",
            "2026-03-14 10:00:00 UTC",
            "2026-03-14T10:00:00.000Z",
        ] {
            assert_eq!(at(s), expected, "{s}");
        }
        for s in [
            "",
            "yesterday",
            "2026-03-14",
            "14/03/2026 10:00",
            "2026-13-14 10:00:00",
        ] {
            assert_eq!(at(s), None, "{s}");
        }
    }
}
