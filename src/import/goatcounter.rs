//! GoatCounter's CSV export of pageviews, version 2 (GoatCounter 2.0 and later; the version is
//! the first header cell's prefix): `2Path,Title,Event,UserAgent,Browser,System,Session,Bot,
//! Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date`, in that order.
//!
//! - A row with `Event` true is a custom event named by its path, as GoatCounter shows it (it
//!   drops a leading `/`), with its title as the prop `title`; GoatCounter records no page for
//!   an event, so it is stored on `/`. Other rows are pageviews of `https://DOMAIN/PATH`.
//! - The visitor is the `Session` (see `ingest::visitor::hash_export_key`); a row without one
//!   is a visitor of its own.
//! - `Bot` other than 0 skips the row as a bot. Newer exports leave `UserAgent` blank: then
//!   `Browser` and `System` name the browser (`names`), else the user agent is classified.
//! - `Referrer` by its scheme: `h` a URL without its scheme; `g` a name GoatCounter gave a
//!   group of referrers ("Hacker News", "Email"), stored as the source; `c` a campaign's
//!   `utm_source`; `o` another (an Android app).
//! - `Location` gives the country (its region code is not footfall's region name). Titles of
//!   pages, `FirstVisit` (footfall makes its own visits) and the screen size are not stored.

use super::collect::{Body, Client, Collector};
use super::csv_rows::{CsvFormat, Fields, parse_time};
use super::names;
use super::report::SkipReason;
use crate::domain::{Event, Props, truncate_chars};
use crate::ingest::enrich::geoip::Geo;
use crate::ingest::parser::{ExportAgent, ExportMeta};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

pub const HEADER: [&str; 14] = [
    "2Path",
    "Title",
    "Event",
    "UserAgent",
    "Browser",
    "System",
    "Session",
    "Bot",
    "Referrer",
    "Referrer scheme",
    "Screen size",
    "Location",
    "FirstVisit",
    "Date",
];

pub struct GoatCounter {
    /// Tells apart this file's rows without a session from another file's.
    file_key: u64,
    /// Reused between rows.
    url: String,
    referrer: String,
    key: String,
}

impl CsvFormat for GoatCounter {
    const NAME: &'static str = "a GoatCounter CSV export";

    fn from_header(names: &[&str]) -> Result<Self, String> {
        if names == HEADER {
            return Ok(Self {
                file_key: rand::random(),
                url: String::new(),
                referrer: String::new(),
                key: String::new(),
            });
        }
        let first = names.first().copied().unwrap_or_default();
        if let Some(version) = first.strip_suffix("Path").filter(|v| !v.is_empty()) {
            return Err(format!(
                "it is a version {version} GoatCounter export; footfall reads version 2, which \
                 GoatCounter 2.0 and later write: export it again"
            ));
        }
        Err(format!(
            "expected {}, whose first line is `{}`; found `{}`",
            Self::NAME,
            HEADER.join(","),
            truncate_chars(&names.join(","), 120)
        ))
    }

    fn time(&self, row: &Fields<'_>) -> Option<DateTime<Utc>> {
        parse_time(row.get(HEADER.len() - 1))
    }

    fn event(
        &mut self,
        row: &Fields<'_>,
        line: u64,
        collect: &mut Collector<'_>,
    ) -> Result<Event, SkipReason> {
        let [
            path,
            title,
            event,
            user_agent,
            browser,
            system,
            session,
            bot,
            referrer,
            referrer_scheme,
            screen_size,
            location,
            _first_visit,
            date,
        ] = row.array().ok_or(SkipReason::Malformed)?;
        let at = parse_time(date).ok_or(SkipReason::Malformed)?;
        let is_event = parse_bool(event).ok_or(SkipReason::Malformed)?;
        let bot = match bot.trim() {
            "" => 0,
            n => n.parse::<i64>().map_err(|_| SkipReason::Malformed)?,
        };
        let path = path.trim();
        if path.is_empty() {
            return Err(SkipReason::Malformed);
        }
        if bot != 0 {
            return Err(SkipReason::Bot);
        }

        let domain = &collect.site().domain;
        self.url.clear();
        let mut props = None;
        let name = if is_event {
            let _ = write!(self.url, "https://{domain}/");
            let title = title.trim();
            if !title.is_empty() {
                let title = truncate_chars(title, Props::MAX_CHARS);
                props = Some(serde_json::Map::from_iter([(
                    "title".to_owned(),
                    title.into(),
                )]));
            }
            match path.trim_start_matches('/') {
                "" => "(no event name)",
                name => name,
            }
        } else {
            let slash = if path.starts_with('/') { "" } else { "/" };
            let _ = write!(self.url, "https://{domain}{slash}{path}");
            "pageview"
        };
        let referrer = Referrer::of(referrer_scheme, referrer.trim());
        let r = match referrer {
            Referrer::Url(prefix, rest) => {
                self.referrer.clear();
                self.referrer.push_str(prefix);
                self.referrer.push_str(rest);
                Some(self.referrer.as_str())
            }
            Referrer::Campaign(source) => {
                let sep = if self.url.contains('?') { '&' } else { '?' };
                self.url.push(sep);
                self.url.push_str("utm_source=");
                self.url
                    .extend(url::form_urlencoded::byte_serialize(source.as_bytes()));
                None
            }
            Referrer::Named(_) | Referrer::None => None,
        };

        let session = session.trim();
        self.key.clear();
        if session.chars().all(|c| c == '0' || c == '-') {
            let _ = write!(self.key, "no session: {:x} {line}", self.file_key);
        } else {
            self.key.push_str(session);
        }
        let user_agent = user_agent.trim();
        let named;
        let agent = if user_agent.is_empty() {
            named = names::classify(browser, system, None, width(screen_size));
            ExportAgent::Named(&named)
        } else {
            ExportAgent::UserAgent(user_agent)
        };
        let geo = Geo {
            country: names::country(location),
            ..Geo::default()
        };
        let body = Body {
            n: name,
            u: &self.url,
            r,
            p: props.as_ref(),
        };
        let meta = ExportMeta {
            visitor_key: &self.key,
            agent,
            geo: &geo,
            received_at: at,
        };
        let mut event = collect.event(&body, Client::Export(meta))?;
        if let Referrer::Named(name) = referrer {
            event.referrer_source = Some(truncate_chars(name, 100).to_owned());
        }
        Ok(event)
    }
}

/// A `Referrer` cell read by its `Referrer scheme`.
enum Referrer<'a> {
    /// A URL: the scheme to put back, and the rest.
    Url(&'static str, &'a str),
    Named(&'a str),
    Campaign(&'a str),
    None,
}

impl<'a> Referrer<'a> {
    fn of(scheme: &str, referrer: &'a str) -> Self {
        if referrer.is_empty() {
            return Referrer::None;
        }
        let has_scheme = referrer.contains("://");
        match scheme.trim() {
            _ if has_scheme => Referrer::Url("", referrer),
            "c" => Referrer::Campaign(referrer),
            // Android apps are named by their package: the parser knows the common ones.
            "o" if is_package(referrer) => Referrer::Url("android-app://", referrer),
            "g" | "o" if !is_host(referrer) => Referrer::Named(referrer),
            _ => Referrer::Url("https://", referrer),
        }
    }
}

/// A host with an optional path: `www.reddit.com/r/rust`, not a name such as `Hacker News`.
fn is_host(s: &str) -> bool {
    let host = s.split('/').next().unwrap_or_default();
    host.contains('.') && !s.contains(char::is_whitespace)
}

/// An Android package name: `com.google.android.gm`.
fn is_package(s: &str) -> bool {
    s.contains('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

/// Go's `strconv.ParseBool`, which GoatCounter reads this column with.
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `Screen size` is `width,height,scale`; GoatCounter keeps the width only (`1280,0,1`).
fn width(screen_size: &str) -> Option<u32> {
    let first = screen_size.split(',').next()?;
    first
        .trim()
        .parse::<f64>()
        .ok()
        .map(|w| w as u32)
        .filter(|&w| w > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_are_read_by_their_scheme() {
        let read = |scheme: &str, referrer: &str| match Referrer::of(scheme, referrer) {
            Referrer::Url(prefix, rest) => format!("{prefix}{rest}"),
            Referrer::Named(n) => format!("named {n}"),
            Referrer::Campaign(c) => format!("campaign {c}"),
            Referrer::None => "none".to_owned(),
        };
        for (scheme, referrer, expected) in [
            (
                "h",
                "www.reddit.com/r/rust",
                "https://www.reddit.com/r/rust",
            ),
            ("h", "https://lobste.rs/s/x", "https://lobste.rs/s/x"),
            ("g", "Hacker News", "named Hacker News"),
            ("g", "www.facebook.com", "https://www.facebook.com"),
            ("c", "newsletter", "campaign newsletter"),
            (
                "o",
                "com.google.android.gm",
                "android-app://com.google.android.gm",
            ),
            ("o", "Some App", "named Some App"),
            ("o", "", "none"),
        ] {
            assert_eq!(read(scheme, referrer), expected, "{scheme} {referrer}");
        }
    }
}
