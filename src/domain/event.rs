//! The pieces of a collected event that come from the visitor and had to be checked.

use super::Invalid;
use super::decode::is_hidden_char;
use std::borrow::Cow;

/// Cookie-less visitor id: a keyed hash of (daily salt, site, IP, user agent). Stable for one
/// visitor on one site for one UTC day, unlinkable after the salt is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisitorId(pub i64);

/// A visit: one visitor's events with gaps under the session timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub i64);

/// Cuts `s` to at most `max` characters, on a character boundary.
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((byte, _)) => &s[..byte],
        None => s,
    }
}

fn has_hidden_chars(s: &str) -> bool {
    s.chars().any(is_hidden_char)
}

/// `s` without the characters `is_hidden_char` names (borrowed when it has none). Line breaks
/// and tabs among them (`\n`, `\r\n`, `\t`, U+2028…) become one space, so words stay apart.
pub fn strip_hidden_chars(s: &str) -> Cow<'_, str> {
    if !has_hidden_chars(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if !is_hidden_char(c) {
            out.push(c);
            gap = false;
        } else if c.is_whitespace() && !gap {
            out.push(' ');
            gap = true;
        }
    }
    Cow::Owned(out)
}

/// `pageview` or a custom event name chosen by the site owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventName(String);

impl EventName {
    pub const MAX_CHARS: usize = 120;
    pub const PAGEVIEW: &'static str = "pageview";

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if name.is_empty() {
            return Err(Invalid("field n (event name) is empty".into()));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!(
                "field n (event name) is longer than {} characters",
                Self::MAX_CHARS
            )));
        }
        if has_hidden_chars(name) {
            return Err(Invalid(
                "field n (event name) contains control or invisible formatting characters".into(),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn pageview() -> Self {
        Self(Self::PAGEVIEW.to_owned())
    }

    pub fn is_pageview(&self) -> bool {
        self.0 == Self::PAGEVIEW
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A page path as stored: URL path plus the fragment when the tracker runs in hash mode, never
/// the query string; decoded as an address bar shows it (`decode::for_display`: `/über`, not
/// `/%C3%BCber`), so that any spelling of one address is one page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PagePath(String);

impl PagePath {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(path: &str, fragment: Option<&str>) -> Result<Self, Invalid> {
        let mut out = String::with_capacity(path.len() + fragment.map_or(0, |f| f.len() + 1));
        out.push_str(if path.is_empty() { "/" } else { path });
        if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
            out.push('#');
            out.push_str(fragment);
        }
        if let Cow::Owned(decoded) = super::decode::for_display(&out) {
            out = decoded;
        }
        if out.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!(
                "page path is longer than {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Flat custom properties, values kept as text. Bounded so one visitor cannot bloat the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props(Vec<(String, String)>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropsError {
    #[error("field p (props) has more than {max} keys")]
    TooMany { max: usize },
    #[error("field p (props): key {key:?} is empty or longer than {max} characters")]
    Key { key: String, max: usize },
    #[error("field p (props): key {key:?} contains control or invisible formatting characters")]
    HiddenChars { key: String },
    #[error("field p (props): value of {key:?} is longer than {max} characters")]
    Value { key: String, max: usize },
    #[error(
        "field p (props): value of {key:?} must be a string, number or boolean (props are flat)"
    )]
    NotFlat { key: String },
}

impl Props {
    pub const MAX_KEYS: usize = 30;
    pub const MAX_CHARS: usize = 300;

    pub fn parse(map: &serde_json::Map<String, serde_json::Value>) -> Result<Self, PropsError> {
        use serde_json::Value;
        if map.len() > Self::MAX_KEYS {
            return Err(PropsError::TooMany {
                max: Self::MAX_KEYS,
            });
        }
        let mut props = Vec::with_capacity(map.len());
        for (key, value) in map {
            let short_key = || truncate_chars(key, 40).to_owned();
            if key.is_empty() || key.chars().count() > Self::MAX_CHARS {
                return Err(PropsError::Key {
                    key: short_key(),
                    max: Self::MAX_CHARS,
                });
            }
            if has_hidden_chars(key) {
                return Err(PropsError::HiddenChars {
                    key: strip_hidden_chars(short_key().as_str()).into_owned(),
                });
            }
            let text = match value {
                // A value may be an address (`location.pathname`): shown as the path would be.
                Value::String(s) => super::decode::for_display(&strip_hidden_chars(s)).into_owned(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null | Value::Array(_) | Value::Object(_) => {
                    return Err(PropsError::NotFlat { key: short_key() });
                }
            };
            if text.chars().count() > Self::MAX_CHARS {
                return Err(PropsError::Value {
                    key: short_key(),
                    max: Self::MAX_CHARS,
                });
            }
            props.push((key.clone(), text));
        }
        props.sort();
        Ok(Self(props))
    }

    pub fn from_pairs(mut pairs: Vec<(String, String)>) -> Self {
        pairs.sort();
        Self(pairs)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The stored form: a JSON object of strings, or `None` when there are no props.
    pub fn to_json(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let map: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        Some(serde_json::Value::Object(map).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn event_names_are_trimmed_and_bounded() {
        assert_eq!(
            EventName::parse("  Signup ").map(|n| n.0),
            Ok("Signup".into())
        );
        assert!(EventName::parse("   ").is_err());
        assert!(EventName::parse(&"x".repeat(121)).is_err());
        assert!(EventName::parse("a\u{0}b").is_err());
        assert!(EventName::parse("a\u{202E}b").is_err());
        assert!(EventName::parse("a\u{2069}b").is_err());
        assert!(EventName::parse("a\u{200B}b").is_err());
        assert!(EventName::parse("Über-Anmeldung 日本").is_ok());
    }

    #[test]
    fn page_path_keeps_the_fragment_only_when_given() {
        assert_eq!(
            PagePath::parse("/a", None).map(|p| p.0),
            Ok("/a".to_owned())
        );
        assert_eq!(
            PagePath::parse("/", Some("/settings")).map(|p| p.0),
            Ok("/#/settings".to_owned())
        );
        assert_eq!(PagePath::parse("", None).map(|p| p.0), Ok("/".to_owned()));
        assert!(PagePath::parse(&format!("/{}", "a".repeat(2048)), None).is_err());
    }

    #[test]
    fn props_accept_flat_values_as_text() {
        let props = Props::parse(&map(json!({"plan":"pro","seats":3,"trial":false})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            props.to_json().as_deref(),
            Some(r#"{"plan":"pro","seats":"3","trial":"false"}"#)
        );
    }

    #[test]
    fn props_reject_nesting_and_oversize() {
        assert!(matches!(
            Props::parse(&map(json!({"a":{"b":1}}))),
            Err(PropsError::NotFlat { .. })
        ));
        assert!(matches!(
            Props::parse(&map(json!({"a": "x".repeat(301)}))),
            Err(PropsError::Value { .. })
        ));
        let many: serde_json::Map<_, _> = (0..31).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(matches!(
            Props::parse(&many),
            Err(PropsError::TooMany { .. })
        ));
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 10), "hi");
    }
}
