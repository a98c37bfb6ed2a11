//! Umami's CSV export of its `website_event` table, columns in any order, found by name
//! (`session_id` or Prisma's `sessionId` alike). Required: `session_id`, `created_at`,
//! `url_path`, `event_type`. Read when present: `url_query`, `utm_*`, `referrer_domain`,
//! `referrer_path`, `referrer_query`, `event_name`, `hostname`, and the session's `browser`,
//! `os`, `device`, `screen`, `country`, `city` that ClickHouse's table and Umami Cloud's export
//! carry beside each event.
//!
//! - `event_type` 1 is a pageview, 2 a custom event named `event_name` on its page; 3, 4 and 5
//!   (link, pixel and performance events) are skipped as `event_type`.
//! - The visitor is the `session_id` (see `ingest::visitor::hash_export_key`).
//! - The page is `https://HOSTNAME/url_path?url_query` (the site's domain when `hostname` is
//!   empty; a host that is not the site's makes the row invalid, as for live events), so UTM
//!   parameters come from the query as they do live; `utm_*` columns fill in what it lacks.
//! - Not stored: `page_title` (footfall keeps no titles), the region (a code, where footfall
//!   keeps the region's name), `event_data` (another table: custom events come without props).

use super::collect::{Body, Client, Collector};
use super::csv_rows::{CsvFormat, Fields, parse_time};
use super::names;
use super::report::SkipReason;
use crate::domain::{Event, truncate_chars};
use crate::ingest::enrich::geoip::Geo;
use crate::ingest::parser::{ExportAgent, ExportMeta};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

const REQUIRED: [&str; 4] = ["session_id", "created_at", "url_path", "event_type"];
const UTM: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
];

/// Where each column is.
struct Columns {
    session_id: usize,
    created_at: usize,
    url_path: usize,
    event_type: usize,
    url_query: Option<usize>,
    utm: [Option<usize>; 5],
    referrer_domain: Option<usize>,
    referrer_path: Option<usize>,
    referrer_query: Option<usize>,
    event_name: Option<usize>,
    hostname: Option<usize>,
    browser: Option<usize>,
    os: Option<usize>,
    device: Option<usize>,
    screen: Option<usize>,
    country: Option<usize>,
    city: Option<usize>,
}

pub struct Umami {
    columns: Columns,
    /// Reused between rows.
    url: String,
    referrer: String,
}

/// `session_id`, `sessionId` and `Session ID` are one name.
fn squeeze(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl CsvFormat for Umami {
    const NAME: &'static str = "Umami's CSV export of website_event";

    fn from_header(names: &[&str]) -> Result<Self, String> {
        let squeezed: Vec<String> = names.iter().map(|n| squeeze(n)).collect();
        let find = |name: &str| {
            let name = squeeze(name);
            squeezed.iter().position(|n| *n == name)
        };
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|name| find(name).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "expected {}, whose header names the columns {}; it has no {} (its first \
                 line is `{}`)",
                Self::NAME,
                REQUIRED.join(", "),
                missing.join(", "),
                truncate_chars(&names.join(","), 120)
            ));
        }
        let required = |name: &str| find(name).unwrap_or_default();
        let columns = Columns {
            session_id: required("session_id"),
            created_at: required("created_at"),
            url_path: required("url_path"),
            event_type: required("event_type"),
            url_query: find("url_query"),
            utm: UTM.map(find),
            referrer_domain: find("referrer_domain"),
            referrer_path: find("referrer_path"),
            referrer_query: find("referrer_query"),
            event_name: find("event_name"),
            hostname: find("hostname"),
            browser: find("browser"),
            os: find("os"),
            device: find("device"),
            screen: find("screen"),
            country: find("country"),
            city: find("city"),
        };
        Ok(Self {
            columns,
            url: String::new(),
            referrer: String::new(),
        })
    }

    fn time(&self, row: &Fields<'_>) -> Option<DateTime<Utc>> {
        parse_time(row.get(self.columns.created_at))
    }

    fn event(
        &mut self,
        row: &Fields<'_>,
        _line: u64,
        collect: &mut Collector<'_>,
    ) -> Result<Event, SkipReason> {
        let c = &self.columns;
        let optional = |column: Option<usize>| column.map_or("", |i| row.get(i).trim());
        let at = parse_time(row.get(c.created_at)).ok_or(SkipReason::Malformed)?;
        let session = row.get(c.session_id).trim();
        let name = match row.get(c.event_type).trim() {
            "1" => "pageview",
            "2" => match optional(c.event_name) {
                "" => return Err(SkipReason::Malformed),
                name => name,
            },
            "3" | "4" | "5" => return Err(SkipReason::EventType),
            _ => return Err(SkipReason::Malformed),
        };
        if session.is_empty() {
            return Err(SkipReason::Malformed);
        }

        self.url.clear();
        let host = match optional(c.hostname) {
            "" => collect.site().domain.as_str(),
            host => host,
        };
        let path = row.get(c.url_path).trim();
        let slash = if path.starts_with('/') { "" } else { "/" };
        let _ = write!(self.url, "https://{host}{slash}{path}");
        let query = optional(c.url_query);
        let query = query.strip_prefix('?').unwrap_or(query);
        if !query.is_empty() {
            let _ = write!(self.url, "?{query}");
        }
        for (name, column) in UTM.iter().zip(c.utm) {
            let value = optional(column);
            if value.is_empty() || has_parameter(query, name) {
                continue;
            }
            self.url
                .push(if self.url.contains('?') { '&' } else { '?' });
            let _ = write!(self.url, "{name}=");
            self.url
                .extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        }

        let referrer_domain = optional(c.referrer_domain);
        let r = if referrer_domain.is_empty() {
            None
        } else {
            self.referrer.clear();
            let path = optional(c.referrer_path);
            let slash = if path.starts_with('/') { "" } else { "/" };
            let _ = write!(self.referrer, "https://{referrer_domain}{slash}{path}");
            let query = optional(c.referrer_query);
            if !query.is_empty() {
                let _ = write!(self.referrer, "?{}", query.trim_start_matches('?'));
            }
            Some(self.referrer.as_str())
        };

        let screen_width = optional(c.screen)
            .split('x')
            .next()
            .and_then(|w| w.trim().parse::<u32>().ok());
        let device = Some(optional(c.device)).filter(|d| !d.is_empty());
        let named = names::classify(optional(c.browser), optional(c.os), device, screen_width);
        let geo = Geo {
            country: names::country(optional(c.country)),
            region: None,
            city: Some(optional(c.city))
                .filter(|city| !city.is_empty())
                .map(|city| truncate_chars(city, 100).to_owned()),
        };
        let body = Body {
            n: name,
            u: &self.url,
            r,
            p: None,
        };
        let meta = ExportMeta {
            visitor_key: session,
            agent: ExportAgent::Named(&named),
            geo: &geo,
            received_at: at,
        };
        collect.event(&body, Client::Export(meta))
    }
}

/// Whether the query string sets `name`.
fn has_parameter(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_in_any_spelling_and_order() {
        let umami = Umami::from_header(&["createdAt", "Event Type", "url_path", "session_id"])
            .unwrap_or_else(|e| panic!("{e}"));
        let c = umami.columns;
        assert_eq!(
            (
                c.created_at,
                c.event_type,
                c.url_path,
                c.session_id,
                c.url_query
            ),
            (0, 1, 2, 3, None)
        );
    }

    #[test]
    fn a_header_without_the_required_columns_is_refused_naming_them() {
        let error = Umami::from_header(&["2Path", "Title", "Session", "Date"])
            .err()
            .unwrap_or_default();
        assert!(
            error.contains("it has no session_id, created_at, url_path, event_type"),
            "{error}"
        );
    }
}
