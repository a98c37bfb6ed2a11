//! The statements behind `StatsStore` when it answers from raw rows (the query engine's reference,
//! and what answers the questions the engine cannot): one function per question, raw rows grouped
//! per local day and summed once more on the outside. Visitors are distinct per day, so per-day
//! counts add up exactly.

mod engagement;
mod export;
mod funnel;
mod revenue;
mod rows;
mod visits;

pub(crate) use engagement::engagement;
pub(crate) use export::{events_page, first_event_id};
pub(crate) use funnel::funnel;
pub(crate) use revenue::goal_revenue;
pub(crate) use rows::{EventValue, push_event_rows, push_visit_rows};
use rows::{day_as, hour_as, push_with_day, push_with_hour};
use visits::{push_breakdown_visits, push_series_visits};

use super::filters::{Col, Split};
use super::plan::{Grain, Plan, Raw};
use super::{Dialect, Sql};
use crate::stats::{Interval, Metrics};

/// Starts a UNION ALL part.
fn part(sql: &mut Sql, first: &mut bool) {
    if !std::mem::take(first) {
        sql.push(" UNION ALL ");
    }
}

/// visitors, visits, pageviews, events, bounces, duration, visit_pageviews — all BIGINT; `None`
/// for an empty range.
pub(crate) fn aggregate(d: Dialect, plan: &Plan, filters: &Split) -> Option<Sql> {
    if plan.is_empty() {
        return None;
    }
    let mut sql = Sql::new(d);
    sql.push(
        "SELECT CAST(COALESCE(SUM(visitors), 0) AS BIGINT), CAST(COALESCE(SUM(visits), 0) AS BIGINT), \
         CAST(COALESCE(SUM(pageviews), 0) AS BIGINT), CAST(COALESCE(SUM(events), 0) AS BIGINT), \
         CAST(COALESCE(SUM(bounces), 0) AS BIGINT), CAST(COALESCE(SUM(duration), 0) AS BIGINT), \
         CAST(COALESCE(SUM(visit_pageviews), 0) AS BIGINT) FROM (",
    );
    let mut first = true;
    if let Some(raw) = &plan.raw {
        part(&mut sql, &mut first);
        match Grain::of(filters, None) {
            Grain::Event => {
                sql.push(
                    "SELECT COUNT(DISTINCT visitor_id) AS visitors, SUM(pv) AS pageviews, \
                     COUNT(*) AS events, 0 AS visits, 0 AS bounces, 0 AS duration, \
                     0 AS visit_pageviews FROM (",
                );
                push_with_day(&mut sql, raw, |sql| {
                    push_event_rows(sql, plan.site, raw, EventValue::None, filters)
                });
                sql.push(
                    ") AS d GROUP BY day UNION ALL SELECT 0, 0, 0, COUNT(*), SUM(bounce), \
                          SUM(duration), SUM(pageviews) FROM (",
                );
                push_visit_rows(&mut sql, plan.site, raw, None, filters);
                sql.push(") AS v");
            }
            Grain::Visit => push_visits_per_day(&mut sql, plan.site, raw, filters),
        }
    }
    if first {
        return None;
    }
    sql.push(") AS parts");
    Some(sql)
}

fn push_visits_per_day(sql: &mut Sql, site: i64, raw: &Raw, filters: &Split) {
    sql.push(
        "SELECT COUNT(DISTINCT visitor_id) AS visitors, SUM(pageviews) AS pageviews, \
         SUM(events) AS events, COUNT(*) AS visits, SUM(bounce) AS bounces, \
         SUM(duration) AS duration, SUM(pageviews) AS visit_pageviews FROM (",
    );
    push_with_day(sql, raw, |sql| {
        push_visit_rows(sql, site, raw, None, filters)
    });
    sql.push(") AS d GROUP BY day");
}

/// The sums every series and breakdown statement returns after its key.
const SUMS: &str = "CAST(SUM(visitors) AS BIGINT), CAST(SUM(pageviews) AS BIGINT), \
                    CAST(SUM(events) AS BIGINT), CAST(SUM(visits) AS BIGINT), \
                    CAST(SUM(bounces) AS BIGINT), CAST(SUM(duration) AS BIGINT), \
                    CAST(SUM(visit_pageviews) AS BIGINT)";

/// The visit sums of a part that reads visit rows: zeros unless asked for, so that the engine
/// need not compute the durations (Postgres drops the unused columns of a subquery).
fn visit_sums(metrics: Metrics) -> &'static str {
    match metrics {
        Metrics::WithVisits => {
            "COUNT(*) AS visits, SUM(bounce) AS bounces, SUM(duration) AS duration, \
             SUM(pageviews) AS visit_pageviews"
        }
        Metrics::Counts => "0 AS visits, 0 AS bounces, 0 AS duration, 0 AS visit_pageviews",
    }
}

/// bucket (day number, or hours since the range's start), visitors, pageviews, events, visits,
/// bounces, duration, visit_pageviews — per bucket with data, in order; the visit sums are zero
/// unless `metrics` asks for them.
pub(crate) fn series(
    d: Dialect,
    plan: &Plan,
    filters: &Split,
    interval: Interval,
    metrics: Metrics,
) -> Option<Sql> {
    if plan.is_empty() {
        return None;
    }
    let grain = Grain::of(filters, None);
    let mut sql = Sql::new(d);
    sql.push("SELECT CAST(bucket AS BIGINT), ")
        .push(SUMS)
        .push(" FROM (");
    let mut first = true;
    if let Some(raw) = &plan.raw {
        part(&mut sql, &mut first);
        // Weeks and months are asked as days (`StatsStore::timeseries_with` adds them up).
        let bucket = match interval {
            Interval::Day | Interval::Week | Interval::Month => "day",
            Interval::Hour => "bucket",
        };
        sql.push("SELECT ")
            .push(bucket)
            .push(" AS bucket, COUNT(DISTINCT visitor_id) AS visitors, ");
        match grain {
            Grain::Event => sql.push(
                "SUM(pv) AS pageviews, COUNT(*) AS events, 0 AS visits, 0 AS bounces, \
                 0 AS duration, 0 AS visit_pageviews FROM (",
            ),
            Grain::Visit => sql
                .push("SUM(pageviews) AS pageviews, SUM(events) AS events, ")
                .push(visit_sums(metrics))
                .push(" FROM ("),
        };
        let rows = |sql: &mut Sql| match grain {
            Grain::Event => push_event_rows(sql, plan.site, raw, EventValue::None, filters),
            Grain::Visit => push_visit_rows(sql, plan.site, raw, None, filters),
        };
        match interval {
            Interval::Day | Interval::Week | Interval::Month => push_with_day(&mut sql, raw, rows),
            Interval::Hour => push_with_hour(&mut sql, raw, rows),
        }
        sql.push(") AS b GROUP BY ").push(bucket);
        if grain == Grain::Event && metrics == Metrics::WithVisits {
            part(&mut sql, &mut first);
            let with_bucket = match interval {
                Interval::Day | Interval::Week | Interval::Month => day_as,
                Interval::Hour => hour_as,
            };
            push_series_visits(&mut sql, plan.site, raw, filters, with_bucket);
        }
    }
    if first {
        return None;
    }
    sql.push(") AS parts GROUP BY bucket ORDER BY bucket");
    Some(sql)
}

/// value ('' where not set), visitors, pageviews, events, visits, bounces, duration,
/// visit_pageviews — biggest first, one page of them. The visit sums are zero unless `metrics`
/// asks for them.
pub(crate) fn breakdown(
    d: Dialect,
    plan: &Plan,
    filters: &Split,
    col: &Col,
    limit: i64,
    offset: i64,
    metrics: Metrics,
) -> Option<Sql> {
    if plan.is_empty() {
        return None;
    }
    let mut sql = Sql::new(d);
    sql.push("SELECT value, ").push(SUMS).push(" FROM (");
    let mut first = true;
    let grain = Grain::of(filters, Some(col));
    if let Some(raw) = &plan.raw {
        part(&mut sql, &mut first);
        match (grain, col) {
            (Grain::Visit, Col::Session(c)) => {
                sql.push(
                    "SELECT value, COUNT(DISTINCT visitor_id) AS visitors, SUM(pageviews) AS pageviews, \
                     SUM(events) AS events, ",
                )
                .push(visit_sums(metrics))
                .push(" FROM (");
                push_with_day(&mut sql, raw, |sql| {
                    push_visit_rows(sql, plan.site, raw, Some(c), filters)
                });
            }
            _ => {
                sql.push(
                    "SELECT value, COUNT(DISTINCT visitor_id) AS visitors, SUM(pv) AS pageviews, \
                     COUNT(*) AS events, 0 AS visits, 0 AS bounces, 0 AS duration, \
                     0 AS visit_pageviews FROM (",
                );
                push_with_day(&mut sql, raw, |sql| {
                    push_event_rows(sql, plan.site, raw, EventValue::Of(col), filters)
                });
            }
        }
        sql.push(") AS d GROUP BY day, value");
    }
    if let (Grain::Event, Metrics::WithVisits, Some(raw)) = (grain, metrics, &plan.raw) {
        part(&mut sql, &mut first);
        push_breakdown_visits(&mut sql, plan.site, raw, col, filters);
    }
    if first {
        return None;
    }
    sql.push(") AS parts GROUP BY value ORDER BY 2 DESC, 3 DESC, 4 DESC, value")
        .push(d.binary_order())
        .push(" LIMIT ")
        .int(limit.max(0))
        .push(" OFFSET ")
        .int(offset.max(0));
    Some(sql)
}

/// key, events — prop keys of matching events, most used first.
pub(crate) fn prop_keys(d: Dialect, plan: &Plan, filters: &Split, limit: i64) -> Option<Sql> {
    if plan.is_empty() {
        return None;
    }
    let mut sql = Sql::new(d);
    sql.push("SELECT value, CAST(SUM(events) AS BIGINT) FROM (");
    let mut first = true;
    if let Some(raw) = &plan.raw {
        part(&mut sql, &mut first);
        sql.push("SELECT value, COUNT(*) AS events FROM (");
        push_event_rows(&mut sql, plan.site, raw, EventValue::PropKey, filters);
        sql.push(") AS k GROUP BY value");
    }
    if first {
        return None;
    }
    sql.push(") AS parts GROUP BY value ORDER BY 2 DESC, value")
        .push(d.binary_order())
        .push(" LIMIT ")
        .int(limit.max(0));
    Some(sql)
}

/// One column: distinct visitors with an event at or after `since` (whole seconds).
pub(crate) fn current_visitors(d: Dialect, site: i64, since: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT CAST(COUNT(DISTINCT visitor_id) AS BIGINT) FROM events WHERE site_id = ")
        .int(site)
        .push(" AND created_at >= ")
        .time(since);
    sql
}
