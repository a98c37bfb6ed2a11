//! The raw events of a question, for the CSV export: every stored column of the events that match
//! its range and filters, one page at a time. Pages are keyset-paginated by id (each starts after
//! the last id of the one before), so no statement or transaction stays open between pages and
//! every page costs the same however deep into the export it is.

use super::super::filters::Split;
use super::super::plan::Plan;
use super::super::stored::EVENT_COLUMNS;
use super::super::{Dialect, Sql};
use super::rows::push_event_filters;

/// Up to `limit` matching events (`stored::EVENT_COLUMNS`) with ids above `after_id`, by id;
/// `None` for an empty range.
pub(crate) fn events_page(
    d: Dialect,
    plan: &Plan,
    filters: &Split,
    after_id: i64,
    limit: i64,
) -> Option<Sql> {
    let raw = plan.raw.as_ref()?;
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(EVENT_COLUMNS)
        .push(" FROM ")
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
