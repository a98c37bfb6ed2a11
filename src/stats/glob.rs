//! Patterns of the `matches` filter (and of goals, which are built on it): `**` stands for any
//! characters, `*` for any characters but `/` (one path segment or part of one), everything else
//! for itself; the whole value must match (`/blog/**` is every page under /blog/, `/docs/*/install`
//! the install page of every version). Case-sensitive, as paths are.
//!
//! A pattern becomes one regular expression, written so that it means the same to Rust's `regex`
//! (the query engine, and SQLite's `REGEXP`, which sqlx provides with it) and to Postgres's `~`:
//! `(?s)` anchors and dots the same way in both, and every literal character is escaped with a
//! backslash, which both read as that character.

/// The regular expression of `pattern`.
pub fn to_regex(pattern: &str) -> String {
    let mut re = String::from("(?s)^");
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("**") {
            re.push_str(".*");
            rest = after;
        } else if c == '*' {
            re.push_str("[^/]*");
            rest = &rest[1..];
        } else {
            let mut buf = [0u8; 4];
            re.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            rest = &rest[c.len_utf8()..];
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        regex::Regex::new(&to_regex(pattern)).is_ok_and(|re| re.is_match(value))
    }

    #[test]
    fn one_star_stays_within_a_segment_and_two_cross_them() {
        assert!(matches("/blog/**", "/blog/2026/hello"));
        assert!(matches("/blog/**", "/blog/"));
        assert!(!matches("/blog/**", "/blog"));
        assert!(matches("/blog/*", "/blog/hello"));
        assert!(!matches("/blog/*", "/blog/2026/hello"));
        assert!(matches("/docs/*/install", "/docs/v2/install"));
        assert!(!matches("/docs/*/install", "/docs/v2/beta/install"));
        assert!(matches("/thanks", "/thanks"));
        assert!(!matches("/thanks", "/thanks/again"));
        assert!(!matches("/thanks", "/Thanks"));
    }

    #[test]
    fn everything_but_stars_is_literal() {
        assert!(matches("/a.b", "/a.b") && !matches("/a.b", "/aXb"));
        assert!(matches("/(x)+[y]?$^|\\{z}", "/(x)+[y]?$^|\\{z}"));
        assert!(matches("/über/*", "/über/straße"));
        assert!(matches("**", "a\nb"));
        assert_eq!(to_regex("/a*"), "(?s)^/a[^/]*$");
    }
}
