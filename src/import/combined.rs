//! The combined log format that nginx and Apache write by default, one line at a time:
//! `IP - user [10/Oct/2026:13:55:36 +0200] "GET /path?q HTTP/1.1" 200 2326 "referer" "agent"`.
//! A hand-written single pass: no regex, and no allocation unless a quoted field has escapes.
//! Fields that servers append after the user agent (nginx `$request_time`, a host) are ignored.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use std::borrow::Cow;
use std::net::IpAddr;

/// One parsed line. Quoted fields are unescaped; `-` fields are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine<'a> {
    pub client: IpAddr,
    /// The request time, converted from the line's UTC offset.
    pub time: DateTime<Utc>,
    /// The request line as logged, e.g. `GET /path?q HTTP/1.1`.
    pub request: Cow<'a, str>,
    pub status: u16,
    pub referer: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
}

/// What made a line unreadable (for tests and debug logs; the report counts line numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a combined log line: {0}")]
pub struct Malformed(&'static str);

impl LogLine<'_> {
    /// Method and request target, or `None` when the request line is not `METHOD TARGET
    /// [PROTOCOL]` (servers log `-` or raw bytes for requests they could not parse).
    pub fn method_and_target(&self) -> Option<(&str, &str)> {
        let mut parts = self.request.split(' ');
        let method = parts.next().filter(|m| !m.is_empty())?;
        let target = parts.next().filter(|t| !t.is_empty())?;
        match (parts.next(), parts.next()) {
            (None | Some(_), None) => Some((method, target)),
            _ => None,
        }
    }
}

pub fn parse(line: &str) -> Result<LogLine<'_>, Malformed> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (client, rest) = line.split_once(' ').ok_or(Malformed("no fields"))?;
    let client = client
        .strip_prefix('[')
        .and_then(|c| c.strip_suffix(']'))
        .unwrap_or(client)
        .parse::<IpAddr>()
        .map_err(|_| Malformed("the client is not an IP address"))?;
    // Identity and user come before the timestamp; a user name may contain spaces, so take
    // whatever precedes the bracket instead of counting fields.
    let (_, rest) = rest.split_once('[').ok_or(Malformed("no [timestamp]"))?;
    let (stamp, rest) = rest
        .split_once(']')
        .ok_or(Malformed("unterminated [timestamp]"))?;
    let time = parse_time(stamp)?;
    let (request, rest) = quoted(separator(rest)?)?;
    let (status, rest) = token(separator(rest)?);
    let status = parse_status(status)?;
    let (bytes, rest) = token(separator(rest)?);
    if bytes != "-" && !bytes.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed("the size is not a number"));
    }
    let (referer, rest) = quoted(separator(rest)?)?;
    let (user_agent, _extra) = quoted(separator(rest)?)?;
    Ok(LogLine {
        client,
        time,
        request: unescape(request),
        status,
        referer: optional(referer),
        user_agent: optional(user_agent),
    })
}

/// At least one space between fields (some formats pad with more).
fn separator(s: &str) -> Result<&str, Malformed> {
    let rest = s.trim_start_matches(' ');
    if rest.len() == s.len() || rest.is_empty() {
        return Err(Malformed("a field is missing"));
    }
    Ok(rest)
}

/// An unquoted field and the rest, which starts at the separator.
fn token(s: &str) -> (&str, &str) {
    s.split_at(s.find(' ').unwrap_or(s.len()))
}

/// A `"…"` field: its raw inside (escapes still in) and what follows the closing quote.
/// A backslash escapes the next byte, so Apache's `\"` does not end the field.
fn quoted(s: &str) -> Result<(&str, &str), Malformed> {
    let inner = s
        .strip_prefix('"')
        .ok_or(Malformed("a quoted field has no opening quote"))?;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok((&inner[..i], &inner[i + 1..])),
            _ => i += 1,
        }
    }
    Err(Malformed("a quoted field has no closing quote"))
}

fn optional(raw: &str) -> Option<Cow<'_, str>> {
    match raw {
        "" | "-" => None,
        _ => Some(unescape(raw)),
    }
}

/// Undoes the servers' escaping: Apache writes `\"` and `\\`, nginx `\x22`, `\x5C` and `\xHH`
/// for every byte outside printable ASCII (so UTF-8 arrives as several `\xHH`). Any other
/// backslash is kept as it is.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            match bytes.get(i + 1) {
                Some(&next @ (b'"' | b'\\')) => {
                    out.push(next);
                    i += 2;
                    continue;
                }
                Some(b'x') => {
                    if let Some(byte) = bytes.get(i + 2..i + 4).and_then(hex_byte) {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    // Escaped bytes are whatever the client sent; a lossy decode keeps the rest readable.
    Cow::Owned(
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()),
    )
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16);
    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
}

fn parse_status(s: &str) -> Result<u16, Malformed> {
    match s.parse::<u16>() {
        Ok(code) if s.len() == 3 && (100..=599).contains(&code) => Ok(code),
        _ => Err(Malformed("the status is not an HTTP status code")),
    }
}

/// `10/Oct/2026:13:55:36 +0200` (strftime `%d/%b/%Y:%H:%M:%S %z`), to UTC.
fn parse_time(stamp: &str) -> Result<DateTime<Utc>, Malformed> {
    const BAD: Malformed = Malformed("the timestamp is not dd/Mon/yyyy:hh:mm:ss +hhmm");
    let b = stamp.as_bytes();
    if b.len() != 26
        || (b[2], b[6], b[11], b[14], b[17], b[20]) != (b'/', b'/', b':', b':', b':', b' ')
    {
        return Err(BAD);
    }
    // Bytes, not string slices: a non-ASCII character must not split a slice mid-character.
    let num = |range: std::ops::Range<usize>| -> Result<u32, Malformed> {
        b[range].iter().try_fold(0u32, |n, &c| {
            if c.is_ascii_digit() {
                Ok(n * 10 + u32::from(c - b'0'))
            } else {
                Err(BAD)
            }
        })
    };
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| m[..] == b[3..6]).ok_or(BAD)? as u32 + 1;
    let (hour, minute, second) = (num(12..14)?, num(15..17)?, num(18..20)?);
    let local = NaiveDate::from_ymd_opt(num(7..11)? as i32, month, num(0..2)?)
        .and_then(|d| d.and_hms_opt(hour, minute, second))
        .ok_or(BAD)?;
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return Err(BAD),
    };
    let (hours, minutes) = (num(22..24)?, num(24..26)?);
    if hours > 23 || minutes > 59 {
        return Err(BAD);
    }
    let offset = TimeDelta::seconds(sign * i64::from(hours * 3600 + minutes * 60));
    Ok((local - offset).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> LogLine<'_> {
        parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const NGINX: &str = r#"203.0.113.7 - - [10/Oct/2026:13:55:36 +0200] "GET /blog/post?utm_source=news HTTP/1.1" 200 2326 "https://www.google.com/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0""#;

    #[test]
    fn a_typical_nginx_line_yields_every_field_with_the_time_in_utc() {
        let line = ok(NGINX);
        assert_eq!(line.client, IpAddr::from([203, 0, 113, 7]));
        assert_eq!(line.time, utc("2026-10-10T11:55:36Z"));
        assert_eq!(
            line.method_and_target(),
            Some(("GET", "/blog/post?utm_source=news"))
        );
        assert_eq!(line.status, 200);
        assert_eq!(line.referer.as_deref(), Some("https://www.google.com/"));
        assert_eq!(
            line.user_agent.as_deref(),
            Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
        );
    }

    #[test]
    fn negative_offsets_move_the_time_forward_and_may_change_the_day() {
        let line =
            ok(r#"198.51.100.1 - - [31/Dec/2025:21:30:00 -0330] "GET / HTTP/1.1" 200 1 "-" "UA""#);
        assert_eq!(line.time, utc("2026-01-01T01:00:00Z"));
    }

    #[test]
    fn dash_fields_are_absent() {
        let line =
            ok(r#"198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 304 - "-" "-""#);
        assert_eq!(line.status, 304);
        assert_eq!(line.referer, None);
        assert_eq!(line.user_agent, None);
        let empty =
            ok(r#"198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "" """#);
        assert_eq!((empty.referer, empty.user_agent), (None, None));
    }

    #[test]
    fn escaped_quotes_and_backslashes_stay_inside_their_field() {
        let line = ok(
            r#"198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] "GET /a HTTP/1.1" 200 5 "https://ref.test/?q=\"x\"" "Mozilla/5.0 \"quoted\" tail\\""#,
        );
        assert_eq!(line.referer.as_deref(), Some(r#"https://ref.test/?q="x""#));
        assert_eq!(
            line.user_agent.as_deref(),
            Some(r#"Mozilla/5.0 "quoted" tail\"#)
        );
    }

    #[test]
    fn nginx_hex_escapes_are_decoded_back_to_utf8() {
        let line = ok(
            r#"198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] "GET /caf\xC3\xA9 HTTP/1.1" 200 5 "-" "say \x22hi\x22 \q""#,
        );
        assert_eq!(line.method_and_target(), Some(("GET", "/café")));
        assert_eq!(line.user_agent.as_deref(), Some(r#"say "hi" \q"#));
    }

    #[test]
    fn ipv6_clients_are_read_with_or_without_brackets() {
        for client in ["2001:db8::1", "[2001:db8::1]"] {
            let text = format!(
                r#"{client} - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/2.0" 200 5 "-" "UA""#
            );
            let line = ok(&text);
            assert_eq!(
                line.client,
                "2001:db8::1"
                    .parse::<IpAddr>()
                    .unwrap_or_else(|e| panic!("{e}"))
            );
        }
    }

    #[test]
    fn users_with_spaces_and_extra_trailing_fields_are_tolerated() {
        let line = ok(
            r#"198.51.100.1 - jane doe [10/Oct/2026:13:55:36 +0000] "GET /x HTTP/1.1" 200 5 "-" "UA" 0.012 "example.com" upstream=1"#,
        );
        assert_eq!(line.user_agent.as_deref(), Some("UA"));
        let crlf = ok(
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET /x HTTP/1.1\" 200 5 \"-\" \"UA\"\r\n",
        );
        assert_eq!(crlf.user_agent.as_deref(), Some("UA"));
    }

    #[test]
    fn unparseable_request_lines_parse_but_have_no_method() {
        for request in [
            "-",
            r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03",
            "GET /a b HTTP/1.1",
        ] {
            let text = format!(
                r#"198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] "{request}" 400 150 "-" "-""#
            );
            let line = ok(&text);
            assert_eq!(line.method_and_target(), None, "{request}");
        }
        let http09 = ok(r#"198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] "GET /" 200 5 "-" "-""#);
        assert_eq!(http09.method_and_target(), Some(("GET", "/")));
    }

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        for line in [
            "",
            " ",
            "garbage",
            "not-an-ip - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - 10/Oct/2026:13:55:36 +0000 \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [32/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [10/Okt/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [10/Oct/2026:25:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 2000 5 \"-\" \"UA\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 five \"-\" \"UA\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\\\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] GET / HTTP/1.1 200 5 - UA",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\\x",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"\\",
            "[10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [é/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
            "198.51.100.1 - - [10/Oct/2026:13:55:36 +0é0] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
        ] {
            assert!(parse(line).is_err(), "{line:?} was accepted");
        }
    }

    #[test]
    fn every_prefix_of_a_valid_line_is_handled_without_panicking() {
        for end in 0..NGINX.len() {
            if NGINX.is_char_boundary(end) {
                let _ = parse(&NGINX[..end]);
            }
        }
        let _ = parse(&NGINX.replace(' ', "  "));
    }
}
