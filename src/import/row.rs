//! What a format's reader yields (`format`): a file's rows, each an event or the reason it was
//! skipped, and why a file could not be opened as that format.

use super::collect::Collector;
use super::report::SkipReason;
use crate::domain::Event;
use std::io;

/// One row of a file (a log line, a CSV record) and what became of it.
pub struct Row {
    /// The file's line it starts on (1-based), for the report.
    pub line: u64,
    pub result: Result<Event, SkipReason>,
}

/// A file's rows, in file order.
pub trait Rows: Send {
    /// The next row, or `None` at the end. An error (a truncated file, a failing disk) ends the
    /// file after the rows before it.
    fn next_row(&mut self, collect: &mut Collector<'_>) -> io::Result<Option<Row>>;
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The file is not in the format asked for: what was expected, and what was found.
    #[error("{0}")]
    NotTheFormat(String),
}
