//! The raw events of a question, for the CSV export: every stored column of the events that match
//! its range and filters, one page at a time. Pages are keyset-paginated by id (each starts after
//! the last id of the one before), so no statement or transaction stays open between pages and
//! every page costs the same however deep into the export it is.

use super::super::filters::Split;
use super::super::plan::Plan;
use super::super::{Dialect, Kind, Sql};
use super::rows::push_event_filters;

/// The columns `events_page` selects, in order (see `run::events_page` for their meaning).
pub(crate) const EVENT_KINDS: [Kind; 24] = [
    Kind::Int,    // id
    Kind::Int,    // created_at, unix seconds
    Kind::Int,    // visitor_id
    Kind::Int,    // session_id
    Kind::Text,   // name
    Kind::Text,   // hostname
    Kind::Text,   // path
    Kind::Text,   // referrer
    Kind::Text,   // referrer_source
    Kind::Text,   // utm_source
    Kind::Text,   // utm_medium
    Kind::Text,   // utm_campaign
    Kind::Text,   // utm_content
    Kind::Text,   // utm_term
    Kind::Text,   // browser
    Kind::Text,   // browser_version
    Kind::Text,   // os
    Kind::Text,   // os_version
    Kind::Text,   // device
    Kind::Text,   // country
    Kind::Text,   // region
    Kind::Text,   // city
    Kind::OptInt, // viewport_width
    Kind::Text,   // props, JSON text
];

/// Up to `limit` matching events with ids above `after_id`, by id; `None` for an empty range.
/// The plan must read every day raw (rollups hold no events).
pub(crate) fn events_page(
    d: Dialect,
    plan: &Plan,
    filters: &Split,
    after_id: i64,
    limit: i64,
) -> Option<Sql> {
    let raw = plan.raw.as_ref()?;
    let mut sql = Sql::new(d);
    sql.push("SELECT e.id, ")
        .push(&d.epoch("e.created_at"))
        .push(
            ", e.visitor_id, e.session_id, e.name, e.hostname, e.path, e.referrer, \
             e.referrer_source, e.utm_source, e.utm_medium, e.utm_campaign, e.utm_content, \
             e.utm_term, e.browser, e.browser_version, e.os, e.os_version, e.device, e.country, \
             e.region, e.city, CAST(e.viewport_width AS BIGINT), CAST(e.props AS TEXT) FROM ",
        )
        .push(d.events_by_id())
        .push(" WHERE e.site_id = ")
        .int(plan.site);
    sql.push(" AND e.created_at >= ").time(raw.start);
    sql.push(" AND e.created_at < ").time(raw.end);
    sql.push(" AND e.id > ").int(after_id);
    push_event_filters(&mut sql, plan.site, raw, filters, false);
    sql.push(" ORDER BY e.id LIMIT ").int(limit.max(0));
    Some(sql)
}

/// The smallest id of an event in the plan's range (NULL when there is none), where an export's
/// id-ordered scan starts instead of at the table's first row.
pub(crate) fn first_event_id(d: Dialect, plan: &Plan) -> Option<Sql> {
    let raw = plan.raw.as_ref()?;
    let mut sql = Sql::new(d);
    sql.push("SELECT CAST(MIN(e.id) AS BIGINT) FROM events e WHERE e.site_id = ")
        .int(plan.site);
    sql.push(" AND e.created_at >= ").time(raw.start);
    sql.push(" AND e.created_at < ").time(raw.end);
    Some(sql)
}
