//! Files as streams of bytes and lines: plain or gzip (told apart by the magic bytes, since rotated
//! names vary: `access.log.2.gz`, `access.log-20261010`), read in bounded chunks so a file of any
//! size takes a few hundred KiB of memory. Compressed bytes consumed are counted for the
//! progress bar.

use flate2::bufread::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const BUFFER_BYTES: usize = 256 * 1024;
/// Longer lines are malformed and skipped without being held in memory; real log lines stay
/// far below this even with long user agents and referrers.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// How far into a file to look for its first timestamp.
pub const PROBE_ROWS: usize = 1000;

pub enum Line<'a> {
    /// The line without its `\n` or `\r\n`.
    Bytes(&'a [u8]),
    TooLong,
}

pub struct LineReader {
    inner: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
}

/// `path`'s bytes, inflated when it is gzip, adding every byte read from disk to `consumed`.
pub fn open(path: &Path, consumed: Arc<AtomicU64>) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    let mut raw = BufReader::with_capacity(BUFFER_BYTES, Counting { file, consumed });
    Ok(if raw.fill_buf()?.starts_with(&GZIP_MAGIC) {
        // Multi-member: `cat a.gz b.gz` is a valid gzip file too.
        Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    })
}

impl LineReader {
    /// Opens `path` (see `open`).
    pub fn open(path: &Path, consumed: Arc<AtomicU64>) -> io::Result<Self> {
        Ok(Self {
            inner: open(path, consumed)?,
            buf: Vec::with_capacity(1024),
        })
    }

    /// The next line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        if self.buf.last() != Some(&b'\n') && n as u64 == limit {
            // Too long: drop the rest of it, a bounded chunk at a time.
            loop {
                self.buf.clear();
                let n = (&mut self.inner)
                    .take(limit)
                    .read_until(b'\n', &mut self.buf)?;
                if n == 0 || self.buf.last() == Some(&b'\n') {
                    return Ok(Some(Line::TooLong));
                }
            }
        }
        let mut line = &self.buf[..];
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Some(Line::Bytes(line)))
    }
}

struct Counting {
    file: File,
    consumed: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.consumed.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(path: &Path) -> Vec<Option<Vec<u8>>> {
        let consumed = Arc::new(AtomicU64::new(0));
        let mut reader = LineReader::open(path, consumed.clone()).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap_or_else(|e| panic!("{e}")) {
            out.push(match line {
                Line::Bytes(b) => Some(b.to_vec()),
                Line::TooLong => None,
            });
        }
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
        assert_eq!(consumed.load(Relaxed), size, "every byte is counted");
        out
    }

    #[test]
    fn plain_and_gzip_files_read_alike_whatever_their_names() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = b"one\r\ntwo\n\nthree \xff\nlast without newline";
        let plain = dir.path().join("access.log.gz");
        std::fs::write(&plain, text).unwrap_or_else(|e| panic!("{e}"));
        let gzip = dir.path().join("access.log-20261010");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text).unwrap_or_else(|e| panic!("{e}"));
        let compressed = encoder.finish().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&gzip, compressed).unwrap_or_else(|e| panic!("{e}"));
        let expected: Vec<Option<Vec<u8>>> = vec![
            Some(b"one".to_vec()),
            Some(b"two".to_vec()),
            Some(b"".to_vec()),
            Some(b"three \xff".to_vec()),
            Some(b"last without newline".to_vec()),
        ];
        assert_eq!(lines_of(&plain), expected);
        assert_eq!(lines_of(&gzip), expected);
    }

    #[test]
    fn an_overlong_line_is_skipped_without_losing_the_next_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("access.log");
        let mut text = vec![b'x'; MAX_LINE_BYTES * 3];
        text.extend_from_slice(b"\nnext\n");
        text.extend_from_slice(&vec![b'y'; MAX_LINE_BYTES]);
        text.extend_from_slice(b"\n");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        let lines = lines_of(&path);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], None);
        assert_eq!(lines[1], Some(b"next".to_vec()));
        assert_eq!(lines[2].as_ref().map(Vec::len), Some(MAX_LINE_BYTES));
    }

    #[test]
    fn a_truncated_gzip_file_is_an_error_after_the_lines_before_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("access.log.1.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..50_000 {
            writeln!(encoder, "line {i} with some text to compress")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let compressed = encoder.finish().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, &compressed[..compressed.len() / 2])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut reader = LineReader::open(&path, Arc::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut read = 0;
        let error = loop {
            match reader.next_line() {
                Ok(Some(_)) => read += 1,
                Ok(None) => panic!("a truncated file read to its end"),
                Err(e) => break e,
            }
        };
        assert!(read > 1000, "{read} lines before the error");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
