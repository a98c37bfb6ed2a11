//! Text as people read it: the characters no visitor text may carry (`is_hidden_char`), and
//! percent-decoding. Browsers send page URLs percent-encoded (`/über`
//! arrives as `/%C3%BCber`); footfall stores and shows them decoded, as an address bar shows
//! them, so that one form is stored, shown, exported, filtered on and linked to.
//!
//! Two rules:
//! - `for_display` (paths, the fragment in hash mode, a referrer's path, prop values): decodes
//!   a `%XX` sequence only where the bytes are valid UTF-8 and the character is one that reads
//!   the same decoded — letters of any script, digits and `-._~`. Everything that would change
//!   the address's meaning or hide what it says stays encoded: `%25` (`%`), `/ ? # & =`, space,
//!   quotes and brackets, control characters, invisible and direction-changing characters
//!   (`is_hidden_char`), other spaces, slash look-alikes, and any byte that is not part of valid
//!   UTF-8. So a decoded value can always be told apart from another, and decoding it again
//!   changes nothing.
//! - `query_value` (UTM parameters): a query parameter's value is text, not an address, so it is
//!   decoded in full (`+` is a space) — except bytes that are not valid UTF-8, which stay
//!   encoded rather than turn into U+FFFD.
//!
//! Escapes kept are written with upper-case hex digits (RFC 3986's normal form).

use std::borrow::Cow;

/// Characters no visitor text may carry into the dashboard: control characters (C0, C1, DEL),
/// line and paragraph separators, and the invisible formatting characters that hide text or
/// change its direction (bidirectional embeddings, overrides and isolates, zero-width characters,
/// the byte-order mark, soft hyphen, tag characters).
///
/// The rule per field a visitor sends: names chosen by the site's own code — the event name
/// (`n`) and prop keys — are refused with a 400 naming the field, since such a name is a bug to
/// fix; values that can come from visitors — UTM parameters and prop values — have these
/// characters removed, so the event is kept. Paths, referrers and hosts never hold them: the URL
/// parser percent-encodes them, and `decode::for_display` keeps them encoded.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `s` as an address bar shows it (see the module's first rule). Idempotent.
pub fn for_display(s: &str) -> Cow<'_, str> {
    decode(s, Rule::Display)
}

/// A query parameter's value (or name) decoded in full, `+` as a space; invalid UTF-8 stays
/// encoded.
pub fn query_value(s: &str) -> Cow<'_, str> {
    decode(s, Rule::Query)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Display,
    Query,
}

/// Characters that look like `/` (or `.`) in an address and could make one path read as
/// another; address bars keep them encoded too.
const LOOKALIKES: [char; 7] = [
    '\u{2024}', '\u{2044}', '\u{2215}', '\u{2571}', '\u{29F8}', '\u{FF0E}', '\u{FF0F}',
];

impl Rule {
    fn shows(self, c: char) -> bool {
        match self {
            Self::Query => true,
            Self::Display if c.is_ascii() => {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
            }
            Self::Display => !is_hidden_char(c) && !c.is_whitespace() && !LOOKALIKES.contains(&c),
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn push_escaped(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
}

/// Writes a run of decoded escapes: characters the rule shows as themselves, the rest (and every
/// byte of invalid UTF-8) encoded again.
fn flush(run: &mut Vec<u8>, rule: Rule, out: &mut String) {
    for chunk in run.utf8_chunks() {
        for c in chunk.valid().chars() {
            if rule.shows(c) {
                out.push(c);
            } else {
                push_escaped(out, c.encode_utf8(&mut [0; 4]).as_bytes());
            }
        }
        push_escaped(out, chunk.invalid());
    }
    run.clear();
}

fn decode(s: &str, rule: Rule) -> Cow<'_, str> {
    let plus = rule == Rule::Query;
    let special = |b: u8| b == b'%' || (plus && b == b'+');
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| special(b)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut run = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let escape = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        if let Some(b) = escape {
            run.push(b);
            i += 3;
            continue;
        }
        flush(&mut run, rule, &mut out);
        // Copy up to the next byte that may start an escape; both are ASCII, so the slice
        // boundaries are character boundaries.
        let end = bytes[i + 1..]
            .iter()
            .position(|&b| special(b))
            .map_or(bytes.len(), |p| i + 1 + p);
        if plus && bytes[i] == b'+' {
            out.push(' ');
            out.push_str(&s[i + 1..end]);
        } else {
            out.push_str(&s[i..end]);
        }
        i = end;
    }
    flush(&mut run, rule, &mut out);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_of_any_script_are_shown_decoded() {
        assert_eq!(for_display("/%C3%BCber"), "/über");
        assert_eq!(for_display("/%e6%97%a5%e6%9c%ac/%E8%AA%9E"), "/日本/語");
        assert_eq!(for_display("/caf%C3%A9?"), "/café?");
        assert_eq!(for_display("/%41%7e"), "/A~");
        assert_eq!(for_display("/plain"), "/plain");
    }

    #[test]
    fn what_would_change_the_meaning_or_hide_text_stays_encoded() {
        for kept in [
            "/a%2Fb",
            "/100%25",
            "/a%20b",
            "/%3Cscript%3E",
            "/%22q%22",
            "/a%3Fb%23c",
            "/%00",
            "/%E2%80%AEtxt",
            "/%EF%BB%BF",
            "/%E2%80%8B",
            "/%C2%A0",
            "/%E2%88%95",
            "/%EF%BC%8F",
        ] {
            assert_eq!(for_display(kept), kept);
        }
        assert_eq!(for_display("/a%2fb"), "/a%2Fb");
    }

    #[test]
    fn invalid_utf8_stays_encoded_and_stray_percents_stay_as_they_are() {
        assert_eq!(for_display("/%FF%FE"), "/%FF%FE");
        assert_eq!(for_display("/%C3"), "/%C3");
        assert_eq!(for_display("/%C3%41%BC"), "/%C3A%BC");
        assert_eq!(for_display("/%C3%BC%FF"), "/ü%FF");
        assert_eq!(for_display("50% off %"), "50% off %");
        assert_eq!(for_display("/%zz%4"), "/%zz%4");
        assert_eq!(query_value("%FFx"), "%FFx");
        assert_eq!(query_value("a%C3%A9%C3"), "aé%C3");
    }

    #[test]
    fn decoding_twice_changes_nothing() {
        for s in [
            "/%C3%BCber",
            "/%2541",
            "/%C3%41%BC",
            "/%25C3%25BC",
            "/a%2Fb%C3%BC",
            "/%F0%9F%98%80",
            "/%E2%80%AE%C3%BC",
            "%",
            "%%41",
        ] {
            let once = for_display(s).into_owned();
            assert_eq!(for_display(&once), once, "{s}");
        }
    }

    #[test]
    fn query_values_are_text_decoded_in_full() {
        assert_eq!(query_value("spring+sale%21"), "spring sale!");
        assert_eq!(query_value("%C3%A9t%C3%A9"), "été");
        assert_eq!(query_value("a%2Fb%25"), "a/b%");
        assert_eq!(query_value("a+b+"), "a b ");
        assert_eq!(query_value("plain"), "plain");
    }
}
