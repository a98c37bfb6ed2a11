//! The raw-rows statement of a funnel (`stats::funnel`): the range's events that pass some step,
//! in visits passing the view's filters, in time order within each visit, each with a bit per
//! step it passes. `StatsStore::funnel` walks them visit by visit.

use super::rows::{push_event_filters, push_local_day};
use crate::stats::Filter;
use crate::stats::goal::Goal;
use crate::store::sql::filters::{Split, push_conditions};
use crate::store::sql::plan::Plan;
use crate::store::sql::{Dialect, Sql};

/// `SELECT session_id, visitor_id, day, steps FROM …` ordered by visit, time and id (the query
/// engine's order within a visit); `None` for an empty range.
pub(crate) fn funnel(d: Dialect, plan: &Plan, filters: &Split, steps: &[Goal]) -> Option<Sql> {
    let raw = plan.raw.as_ref()?;
    let conditions: Vec<Vec<Filter>> = steps.iter().map(Goal::filters).collect();
    let mut sql = Sql::new(d);
    sql.push("SELECT r.session_id, r.visitor_id, ");
    push_local_day(&mut sql, "r.ts", &raw.segments);
    sql.push(" AS day, r.steps FROM (SELECT e.session_id AS session_id, e.visitor_id AS visitor_id, e.id AS id, ")
        .push(&d.epoch("e.created_at"))
        .push(" AS ts, ");
    for (i, step) in conditions.iter().enumerate() {
        if i > 0 {
            sql.push(" + ");
        }
        sql.push("CASE WHEN 1 = 1");
        push_conditions(
            &mut sql,
            raw.scope(plan.site),
            &step.iter().collect::<Vec<_>>(),
        );
        sql.push(" THEN ").int(1_i64 << i).push(" ELSE 0 END");
    }
    sql.push(" AS steps FROM events e WHERE e.site_id = ")
        .int(plan.site);
    sql.push(" AND e.created_at >= ").time(raw.start);
    sql.push(" AND e.created_at < ").time(raw.end);
    sql.push(" AND (1 = 0");
    for step in &conditions {
        sql.push(" OR (1 = 1");
        push_conditions(
            &mut sql,
            raw.scope(plan.site),
            &step.iter().collect::<Vec<_>>(),
        );
        sql.push(")");
    }
    sql.push(")");
    push_event_filters(&mut sql, plan.site, raw, filters, false);
    sql.push(") AS r ORDER BY r.session_id, r.ts, r.id");
    Some(sql)
}
