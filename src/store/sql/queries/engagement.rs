//! The engagement figures of a question's pageviews (`StatsStore::engagement`) from raw rows: the
//! question's own event rows (`push_event_rows`, so filters mean what they mean everywhere), the
//! measured pageviews among them summed. Sums add up across days, so no per-day grouping.

use super::rows::{EventValue, push_event_rows};
use crate::store::sql::filters::{Col, Split};
use crate::store::sql::plan::Plan;
use crate::store::sql::{Dialect, Sql};

/// `SELECT value ('' in all, or where not set), measured pageviews, engaged ms, scroll depths`,
/// one row in all (`by: None`) or one per value of `by` with measured pageviews; `None` for an
/// empty range.
pub(crate) fn engagement(
    d: Dialect,
    plan: &Plan,
    filters: &Split,
    by: Option<&Col>,
) -> Option<Sql> {
    let raw = plan.raw.as_ref()?;
    let mut sql = Sql::new(d);
    sql.push(if by.is_some() {
        "SELECT value, "
    } else {
        "SELECT '', "
    })
    .push(
        "CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(engaged_ms), 0) AS BIGINT), \
             CAST(COALESCE(SUM(COALESCE(scroll_depth, 0)), 0) AS BIGINT) FROM (",
    );
    let value = by.map_or(EventValue::None, EventValue::Of);
    push_event_rows(&mut sql, plan.site, raw, value, filters);
    sql.push(") AS r WHERE pv = 1 AND engaged_ms IS NOT NULL");
    if by.is_some() {
        sql.push(" GROUP BY value");
    }
    Some(sql)
}
