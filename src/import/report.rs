//! What an import did, per file and in total: lines (or an export's rows) read, events
//! imported, rows skipped by reason, and the lines where the unreadable ones are.

use std::fmt;
use std::path::PathBuf;

/// Why a line was not imported; a line counts under one reason only, the first that applies,
/// in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Not a combined log line or a row of the export's format, or not UTF-8.
    Malformed,
    /// Not a GET.
    Method,
    /// Any status but 2xx and 3xx.
    Status,
    /// 3xx other than 304: the browser's next request is the page view.
    Redirect,
    /// Stylesheets, scripts, images, fonts, downloads, well-known paths.
    StaticAsset,
    /// An export's row of a kind footfall does not store (Umami's link, pixel and performance
    /// events).
    EventType,
    /// Crawlers, tools and headless browsers, as live collection classifies them.
    Bot,
    /// A page request the collection parser refuses (a URL that is too long or not on the site).
    Invalid,
}

impl SkipReason {
    pub const ALL: [SkipReason; 8] = [
        SkipReason::Malformed,
        SkipReason::Method,
        SkipReason::Status,
        SkipReason::Redirect,
        SkipReason::StaticAsset,
        SkipReason::EventType,
        SkipReason::Bot,
        SkipReason::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Malformed => "malformed",
            SkipReason::Method => "method",
            SkipReason::Status => "status",
            SkipReason::Redirect => "redirect",
            SkipReason::StaticAsset => "static_asset",
            SkipReason::EventType => "event_type",
            SkipReason::Bot => "bot",
            SkipReason::Invalid => "invalid",
        }
    }

    /// Reasons worth looking up in the file: the report keeps their first line numbers.
    fn keeps_line_numbers(self) -> bool {
        matches!(self, SkipReason::Malformed | SkipReason::Invalid)
    }
}

/// Line numbers kept per reason and file; the count goes on past them.
pub const LINE_NUMBERS_KEPT: usize = 20;

/// Counts for one file, or summed over all files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub read: u64,
    pub imported: u64,
    skipped: [u64; SkipReason::ALL.len()],
}

impl Counts {
    pub fn skipped(&self, reason: SkipReason) -> u64 {
        self.skipped[reason as usize]
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    fn add(&mut self, other: &Counts) {
        self.read += other.read;
        self.imported += other.imported;
        for (mine, theirs) in self.skipped.iter_mut().zip(other.skipped) {
            *mine += theirs;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub path: PathBuf,
    /// What was read: "lines" of a log, "rows" of a CSV export.
    pub unit: &'static str,
    pub counts: Counts,
    /// The first line numbers (1-based) skipped for reasons that `keeps_line_numbers`.
    lines: [Vec<u64>; SkipReason::ALL.len()],
    /// Reading stopped early (a truncated or corrupt gzip file, an I/O error): after which
    /// line, and why. The lines before it were imported.
    pub error: Option<(u64, String)>,
}

impl FileReport {
    pub fn new(path: PathBuf, unit: &'static str) -> Self {
        Self {
            path,
            unit,
            counts: Counts::default(),
            lines: Default::default(),
            error: None,
        }
    }

    pub fn skip(&mut self, reason: SkipReason, line: u64) {
        let i = reason as usize;
        self.counts.skipped[i] += 1;
        if reason.keeps_line_numbers() && self.lines[i].len() < LINE_NUMBERS_KEPT {
            self.lines[i].push(line);
        }
    }

    pub fn lines(&self, reason: SkipReason) -> &[u64] {
        &self.lines[reason as usize]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// In the order the files were given.
    pub files: Vec<FileReport>,
    /// Imported events the database refused (logged); normally 0.
    pub refused: u64,
}

impl ImportReport {
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for file in &self.files {
            total.add(&file.counts);
        }
        total
    }

    /// What the files' counts are of (see `FileReport::unit`).
    pub fn unit(&self) -> &'static str {
        self.files.first().map_or("lines", |f| f.unit)
    }

    /// True when every file was read to its end and every event stored.
    pub fn complete(&self) -> bool {
        self.refused == 0 && self.files.iter().all(|f| f.error.is_none())
    }
}

/// `read 12 lines: imported 9, skipped 3 (bot 1, malformed 2 at lines 4, 7)`; reasons that did
/// not occur are left out.
fn write_counts(
    f: &mut fmt::Formatter<'_>,
    unit: &str,
    counts: &Counts,
    lines: Option<&[Vec<u64>; SkipReason::ALL.len()]>,
) -> fmt::Result {
    write!(
        f,
        "read {} {unit}: imported {}, skipped {}",
        counts.read,
        counts.imported,
        counts.skipped_total()
    )?;
    let mut first = true;
    for reason in SkipReason::ALL {
        let n = counts.skipped(reason);
        if n == 0 {
            continue;
        }
        f.write_str(if first { " (" } else { ", " })?;
        first = false;
        write!(f, "{} {n}", reason.as_str())?;
        let kept = lines.map_or(&[][..], |l| &l[reason as usize][..]);
        if !kept.is_empty() {
            f.write_str(" at lines ")?;
            for (i, line) in kept.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{line}")?;
            }
            if n > kept.len() as u64 {
                f.write_str(", …")?;
            }
        }
    }
    if !first {
        f.write_str(")")?;
    }
    Ok(())
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        write_counts(f, self.unit, &self.counts, Some(&self.lines))?;
        if let Some((line, error)) = &self.error {
            write!(f, "; reading stopped after line {line}: {error}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            writeln!(f, "{file}")?;
        }
        f.write_str("total: ")?;
        write_counts(f, self.unit(), &self.total(), None)?;
        if self.refused > 0 {
            write!(
                f,
                "; the database refused {} of the imported events (see the log)",
                self.refused
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_reason_that_occurred_with_line_numbers_for_malformed_lines() {
        let mut a = FileReport::new("access.log".into(), "lines");
        a.counts.read = 30;
        a.counts.imported = 3;
        a.skip(SkipReason::Bot, 1);
        for line in 5..30 {
            a.skip(SkipReason::Malformed, line);
        }
        a.skip(SkipReason::StaticAsset, 2);
        let mut b = FileReport::new("access.log.1.gz".into(), "lines");
        b.counts.read = 2;
        b.counts.imported = 1;
        b.skip(SkipReason::Invalid, 2);
        b.error = Some((2, "unexpected end of file".into()));
        let report = ImportReport {
            files: vec![a, b],
            refused: 0,
        };
        assert_eq!(
            report.to_string(),
            "access.log: read 30 lines: imported 3, skipped 27 (malformed 25 at lines 5, 6, 7, 8, \
             9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, …, static_asset 1, \
             bot 1)\n\
             access.log.1.gz: read 2 lines: imported 1, skipped 1 (invalid 1 at lines 2); \
             reading stopped after line 2: unexpected end of file\n\
             total: read 32 lines: imported 4, skipped 28 (malformed 25, static_asset 1, bot 1, \
             invalid 1)"
        );
        assert!(!report.complete());
    }
}
