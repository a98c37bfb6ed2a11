//! CSV exports of what the dashboard shows: a breakdown (every row, not just the top ten) or the
//! raw events of a view. Both are streams of CSV chunks, one store page per chunk, so an export of
//! millions of events never sits in memory: the next page is read only when the client has taken
//! the previous one (the HTTP body pulls the stream).

pub mod csv;

use crate::stats::{Dimension, StatsQuery};
use crate::store::{DynStore, StoreError, StoredEvent};
use futures_util::stream::{self, Stream};

/// Events per page (per chunk of the response): large enough that per-query overhead is small,
/// small enough that a chunk (about 1.5 MB of CSV) is nothing next to the server's footprint.
pub const EVENTS_PAGE: i64 = 5_000;
/// Breakdown rows per page.
pub const BREAKDOWN_PAGE: i64 = 5_000;

/// The header of the events export: the `events` table's columns (see the README's SQL section),
/// without `site_id` (an export is of one site). `created_at` is UTC, ISO 8601.
pub const EVENT_COLUMNS: [&str; 28] = [
    "id",
    "created_at",
    "visitor_id",
    "session_id",
    "name",
    "hostname",
    "path",
    "referrer",
    "referrer_source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
    "region",
    "city",
    "viewport_width",
    "props",
    "revenue_micros",
    "revenue_currency",
    "engaged_ms",
    "scroll_depth",
];

/// Who downloads: the site's users get every column; a share link (anyone holding its URL) gets
/// `PUBLIC_EVENT_COLUMNS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Users,
    Public,
}

/// The events export of a share link: what happened, where and on what, and nothing that
/// follows one visitor — no event, visitor or session id, no full referrer URL, no region, city or
/// viewport width (fine enough to single a visitor out across events), no props (sites may
/// send what they know about their users there), no revenue (what single customers paid) and
/// no engagement figures (how one visitor read one page, kept with the visitor-level detail).
/// Breakdowns, which count, are exported whole.
pub const PUBLIC_EVENT_COLUMNS: [&str; 16] = [
    "created_at",
    "name",
    "hostname",
    "path",
    "referrer_source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
];

/// One event's record, with the columns `audience` may see (`EVENT_COLUMNS` or
/// `PUBLIC_EVENT_COLUMNS`, which is a subset in the same order).
fn write_event(w: &mut csv::Writer, e: &StoredEvent, audience: Audience) {
    let all = audience == Audience::Users;
    if all {
        w.int(e.id);
    }
    w.text(&e.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    if all {
        w.int(e.visitor_id).int(e.session_id);
    }
    w.text(&e.name).text(&e.hostname).text(&e.path);
    if all {
        w.opt_text(e.referrer.as_deref());
    }
    w.opt_text(e.referrer_source.as_deref())
        .opt_text(e.utm_source.as_deref())
        .opt_text(e.utm_medium.as_deref())
        .opt_text(e.utm_campaign.as_deref())
        .opt_text(e.utm_content.as_deref())
        .opt_text(e.utm_term.as_deref())
        .text(&e.browser)
        .text(&e.browser_version)
        .text(&e.os)
        .text(&e.os_version)
        .text(&e.device)
        .opt_text(e.country.as_deref());
    if all {
        w.opt_text(e.region.as_deref())
            .opt_text(e.city.as_deref())
            .opt_int(e.viewport_width.map(i64::from))
            // Compact JSON, keys in one order on both backends.
            .opt_text(e.props.as_ref().map(|p| p.to_string()).as_deref())
            .opt_int(e.revenue_micros)
            .opt_text(e.revenue_currency.as_deref())
            .opt_int(e.engaged_ms)
            .opt_int(e.scroll_depth.map(i64::from));
    }
    w.end();
}

/// Where a paged export is: the next page's cursor, or done.
enum Cursor {
    Start,
    After(i64),
    Done,
}

/// The raw events of `query` as CSV: a header, then every matching event in id order, with the
/// columns `audience` may see.
pub fn events(
    store: DynStore,
    query: StatsQuery,
    audience: Audience,
) -> impl Stream<Item = Result<String, StoreError>> + 'static {
    stream::try_unfold(Cursor::Start, move |cursor| {
        let (store, query) = (store.clone(), query.clone());
        async move {
            let mut w = csv::Writer::new();
            let after = match cursor {
                Cursor::Done => return Ok(None),
                Cursor::Start => {
                    match audience {
                        Audience::Users => w.record(EVENT_COLUMNS),
                        Audience::Public => w.record(PUBLIC_EVENT_COLUMNS),
                    };
                    0
                }
                Cursor::After(id) => id,
            };
            let page = store.events_page(&query, after, EVENTS_PAGE).await?;
            for event in &page {
                write_event(&mut w, event, audience);
            }
            let next = match page.last() {
                Some(last) if page.len() as i64 == EVENTS_PAGE => Cursor::After(last.id),
                _ => Cursor::Done,
            };
            Ok(Some((w.take(), next)))
        }
    })
}

/// A whole breakdown of `query` by `dimension` as CSV: the dimension's name, then visitors,
/// pageviews and events, biggest first as on the dashboard; an empty value is "not set". Pages
/// are offsets into that order, each computed anew: when today's events change the order while
/// an export runs, a row near a page boundary can appear twice or not at all (closed days never
/// change).
pub fn breakdown(
    store: DynStore,
    query: StatsQuery,
    dimension: Dimension,
) -> impl Stream<Item = Result<String, StoreError>> + 'static {
    stream::try_unfold(Cursor::Start, move |cursor| {
        let (store, query, dimension) = (store.clone(), query.clone(), dimension.clone());
        async move {
            let mut w = csv::Writer::new();
            let offset = match cursor {
                Cursor::Done => return Ok(None),
                Cursor::Start => {
                    let name = dimension.to_string();
                    w.record([name.as_str(), "visitors", "pageviews", "events"]);
                    0
                }
                Cursor::After(offset) => offset,
            };
            let rows = store
                .breakdown(&query, &dimension, BREAKDOWN_PAGE, offset)
                .await?;
            for row in &rows {
                w.opt_text(row.value.as_deref())
                    .int(row.visitors)
                    .int(row.pageviews)
                    .int(row.events)
                    .end();
            }
            let next = if rows.len() as i64 == BREAKDOWN_PAGE {
                Cursor::After(offset + BREAKDOWN_PAGE)
            } else {
                Cursor::Done
            };
            Ok(Some((w.take(), next)))
        }
    })
}
