//! The revenue of a revenue goal's conversions (`StatsStore::goal_revenue`): summed from raw rows,
//! which are the only ones to hold amounts. The goal's conditions include its event name, so the
//! planners read the partial index of custom events (`events_site_custom`), a small part of
//! the range's rows.

use super::rows::push_event_filters;
use crate::store::sql::filters::Split;
use crate::store::sql::plan::Plan;
use crate::store::sql::{Dialect, Sql};

/// `SELECT micros in currency, conversions in it, conversions with revenue in another` over the
/// events passing `filters` (the question's and the goal's); `None` for an empty range.
pub(crate) fn goal_revenue(
    d: Dialect,
    plan: &Plan,
    filters: &Split,
    currency: &str,
) -> Option<Sql> {
    let raw = plan.raw.as_ref()?;
    let mut sql = Sql::new(d);
    sql.push("SELECT CAST(COALESCE(SUM(CASE WHEN e.revenue_currency = ")
        .text(currency)
        .push(" THEN e.revenue_micros ELSE 0 END), 0) AS BIGINT), CAST(COUNT(CASE WHEN e.revenue_currency = ")
        .text(currency)
        .push(" THEN 1 END) AS BIGINT), CAST(COUNT(CASE WHEN e.revenue_currency <> ")
        .text(currency)
        .push(" THEN 1 END) AS BIGINT) FROM events e WHERE e.site_id = ")
        .int(plan.site);
    sql.push(" AND e.created_at >= ").time(raw.start);
    sql.push(" AND e.created_at < ").time(raw.end);
    push_event_filters(&mut sql, plan.site, raw, filters, false);
    Some(sql)
}
