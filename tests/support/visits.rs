//! Test data for the stats queries: visits written through the real sessionizer and
//! `Store::write_batch`, and short ways to ask and compare questions.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use footfall::domain::{Event, EventName, PagePath, Props, Site, Utm, VisitorId};
use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
use footfall::stats::{BreakdownRow, Dimension, Filter, FilterOp, StatsQuery};
use footfall::store::DynStore;
use std::sync::Arc;

/// Who is visiting: the attributes of the visitor and of the visit's entry.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub source: Option<(&'static str, &'static str)>,
    pub utm: Option<(&'static str, &'static str, &'static str)>,
    pub place: Option<(&'static str, &'static str, &'static str)>,
    pub browser: (&'static str, &'static str),
    pub os: (&'static str, &'static str),
    pub device: &'static str,
}

/// `"2026-06-10 10:00"` (UTC) → instant.
pub fn utc(at: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S"))
        .unwrap_or_else(|e| panic!("{at}: {e}"))
        .and_utc()
}

pub fn day(d: &str) -> NaiveDate {
    NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap_or_else(|e| panic!("{d}: {e}"))
}

/// One hit of a visit: (time, event name, path, props).
pub type Hit<'a> = (DateTime<Utc>, &'a str, &'a str, &'a [(&'a str, &'a str)]);

/// The events of one visit; the first carries the referrer and UTM tags, as the tracker's do.
pub fn visit(site: &Site, visitor: i64, profile: &Profile, hits: &[Hit<'_>]) -> Vec<Event> {
    hits.iter()
        .enumerate()
        .map(|(i, &(at, name, path, props))| {
            let first = i == 0;
            let utm = profile
                .utm
                .filter(|_| first)
                .map(|(source, medium, campaign)| Utm {
                    source: Some(source.into()),
                    medium: Some(medium.into()),
                    campaign: Some(campaign.into()),
                    content: None,
                    term: None,
                })
                .unwrap_or_default();
            Event {
                site_id: site.id,
                created_at: at,
                visitor_id: VisitorId(visitor),
                name: EventName::parse(name).unwrap_or_else(|e| panic!("{e}")),
                hostname: site.domain.to_string(),
                path: PagePath::parse(path, None).unwrap_or_else(|e| panic!("{e}")),
                referrer: profile.source.filter(|_| first).map(|(_, url)| url.into()),
                referrer_source: profile.source.filter(|_| first).map(|(s, _)| s.into()),
                utm,
                browser: profile.browser.0,
                browser_version: profile.browser.1.into(),
                os: profile.os.0,
                os_version: profile.os.1.into(),
                device: profile.device,
                country: profile.place.map(|p| p.0.into()),
                region: profile.place.map(|p| p.1.into()),
                city: profile.place.map(|p| p.2.into()),
                viewport_width: Some(1280),
                props: Props::from_pairs(
                    props
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                revenue: None,
            }
        })
        .collect()
}

/// Writes events as the writer would: in time order, sessionized, in batches of `batch`.
pub async fn write(store: &DynStore, mut events: Vec<Event>, batch: usize) {
    events.sort_by_key(|e| e.created_at);
    // Each call a writer of its own, as each start of footfall is (`IngestStore::writer_tag`).
    static TAG: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tag = TAG.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut sessions = Sessionizer::new(SESSION_TIMEOUT, tag, []);
    let mut rest = events.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<Event> = rest.by_ref().take(batch.max(1)).collect();
        store
            .write_batch(Arc::new(sessions.assign(chunk)))
            .await
            .unwrap_or_else(|e| panic!("writing a batch: {e}"));
    }
}

pub use super::add_site;

pub fn query(site: &Site, from: &str, to: &str, filters: Vec<Filter>) -> StatsQuery {
    StatsQuery {
        site: site.id,
        timezone: site.timezone,
        from: day(from),
        to: day(to),
        filters,
    }
}

pub fn is(dimension: Dimension, value: &str) -> Filter {
    Filter {
        dimension,
        op: FilterOp::Is,
        value: value.to_owned(),
    }
}

pub fn contains(dimension: Dimension, value: &str) -> Filter {
    Filter {
        dimension,
        op: FilterOp::Contains,
        value: value.to_owned(),
    }
}

/// A breakdown row as a tuple, for compact expectations.
pub type Line = (Option<String>, i64, i64, i64);

pub fn lines(rows: Vec<BreakdownRow>) -> Vec<Line> {
    rows.into_iter()
        .map(|r| (r.value, r.visitors, r.pageviews, r.events))
        .collect()
}

/// Expected rows written as `(value or "", visitors, pageviews, events)`; `""` is "not set".
pub fn expect(rows: &[(&str, i64, i64, i64)]) -> Vec<Line> {
    rows.iter()
        .map(|&(v, a, b, c)| ((!v.is_empty()).then(|| v.to_owned()), a, b, c))
        .collect()
}

pub async fn breakdown(store: &DynStore, q: &StatsQuery, dimension: Dimension) -> Vec<Line> {
    lines(
        store
            .breakdown(q, &dimension, 100, 0)
            .await
            .unwrap_or_else(|e| panic!("breakdown by {dimension}: {e:?}")),
    )
}
