//! A CSV record writer: RFC 4180 (comma-separated, CRLF line ends, a field quoted when it holds a
//! comma, a quote, CR or LF, and quotes doubled inside it), plus spreadsheet formula-injection
//! neutralisation for text. Visitors control paths, referrers, UTM tags and props, and a cell like
//! `=HYPERLINK(…)` would run as a formula when an analyst opens the file; so any text cell starting
//! with `=`, `+`, `-`, `@`, tab or CR (OWASP's list) gets a leading `'`, which spreadsheets show as
//! text. Numbers the server produced itself are written as they are.
//!
//! Small enough to own rather than pull in a crate for: we only ever write, from a few known types.

/// Bytes of CSV being built, one record at a time.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    /// Whether the current record has a field yet (so the next needs a comma).
    started: bool,
}

/// Characters that make a spreadsheet read a cell as a formula (or, for tab and CR, that some
/// strip before doing so).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A text field; an empty string and `None` are both an empty field.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.separate();
        let neutralise = value.starts_with(FORMULA_START);
        let quote = value.contains([',', '"', '\r', '\n']);
        if quote {
            self.out.push('"');
        }
        if neutralise {
            self.out.push('\'');
        }
        if quote {
            for c in value.chars() {
                if c == '"' {
                    self.out.push('"');
                }
                self.out.push(c);
            }
            self.out.push('"');
        } else {
            self.out.push_str(value);
        }
        self
    }

    pub fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        self.text(value.unwrap_or_default())
    }

    /// A number we computed or stored ourselves: never a formula, written as is.
    pub fn int(&mut self, value: i64) -> &mut Self {
        self.separate();
        self.out.push_str(&value.to_string());
        self
    }

    pub fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.text(""),
        }
    }

    /// Ends the current record.
    pub fn end(&mut self) -> &mut Self {
        self.out.push_str("\r\n");
        self.started = false;
        self
    }

    /// A whole record of text fields.
    pub fn record<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) -> &mut Self {
        for field in fields {
            self.text(field);
        }
        self.end()
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Takes what has been written, leaving the writer empty (between records).
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    fn separate(&mut self) {
        if std::mem::replace(&mut self.started, true) {
            self.out.push(',');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Writer;

    fn cell(value: &str) -> String {
        let mut w = Writer::new();
        w.text(value);
        w.take()
    }

    #[test]
    fn plain_text_is_written_as_it_is() {
        assert_eq!(cell("/blog/post"), "/blog/post");
        assert_eq!(cell(""), "");
        assert_eq!(cell("Zürich 東京 🙂"), "Zürich 東京 🙂");
        assert_eq!(cell("a'b"), "a'b");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted_with_quotes_doubled() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("\""), "\"\"\"\"");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(cell("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(cell("crlf\r\n"), "\"crlf\r\n\"");
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_as_formulas_get_a_leading_apostrophe() {
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+49 30"), "'+49 30");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        // Quoted and neutralised: the apostrophe goes inside the quotes.
        assert_eq!(
            cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(cell("\rx"), "\"'\rx\"");
        // Only the first character counts.
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell(" =1"), " =1");
    }

    #[test]
    fn records_are_comma_separated_and_end_with_crlf() {
        let mut w = Writer::new();
        w.record(["page", "visitors"]);
        w.text("/a,b").int(3).end();
        w.opt_text(None).opt_int(None).int(-1).end();
        assert_eq!(w.take(), "page,visitors\r\n\"/a,b\",3\r\n,,-1\r\n");
        assert!(w.is_empty());
    }
}
