//! The visit figures of questions counted on events (event-level breakdowns, series with an
//! event-level filter): which visits had a matching event, found by joining the matching events'
//! distinct visits to `sessions`. They do not add up by day for event-level values — a visit
//! counts once in a range however many of its days it matched on.

use super::super::Sql;
use super::super::filters::{Col, Split};
use super::super::plan::Raw;
use super::rows::{EventValue, push_event_rows, push_visit_rows};

/// Wraps a row source adding a bucket column of the given name (`rows::day_as`, `rows::hour_as`).
pub(crate) type WithBucket = fn(&mut Sql, &Raw, &str, &dyn Fn(&mut Sql));

/// The columns every visit part yields after its key: zero counts, then the visit sums.
const SUMS: &str = "0 AS visitors, 0 AS pageviews, 0 AS events, COUNT(*) AS visits, \
                    SUM(v.bounce) AS bounces, SUM(v.duration) AS duration, \
                    SUM(v.pageviews) AS visit_pageviews";

/// `value, 0, 0, 0, visits, bounces, duration, visit_pageviews` per value of `col`: the visits
/// that started in `full` (the question's whole range) and match the filters with the value
/// added, as `aggregate` counts them.
pub(crate) fn push_breakdown_visits(
    sql: &mut Sql,
    site: i64,
    full: &Raw,
    col: &Col,
    filters: &Split,
) {
    match col {
        Col::Session(c) => {
            sql.push("SELECT v.value AS value, ")
                .push(SUMS)
                .push(" FROM (");
            push_visit_rows(sql, site, full, Some(c), filters);
            sql.push(") AS v GROUP BY v.value");
        }
        _ => {
            // A visit counts once per value it had a matching event with.
            sql.push("SELECT m.value AS value, ")
                .push(SUMS)
                .push(" FROM (SELECT DISTINCT x.value AS value, x.session_id AS session_id FROM (");
            push_event_rows(sql, site, full, EventValue::Of(col), filters);
            sql.push(") AS x) AS m JOIN (");
            push_visit_rows(sql, site, full, None, &Split::default());
            sql.push(") AS v ON v.sid = m.session_id GROUP BY m.value");
        }
    }
}

/// `bucket, 0, 0, 0, visits, bounces, duration, visit_pageviews` per bucket of `raw`: visits by
/// the bucket they started in; with event-level filters, those with a matching event in that
/// same bucket. `with_bucket` wraps a row source adding the bucket column `bucket`.
pub(crate) fn push_series_visits(
    sql: &mut Sql,
    site: i64,
    raw: &Raw,
    filters: &Split,
    with_bucket: WithBucket,
) {
    sql.push("SELECT v.bucket AS bucket, ")
        .push(SUMS)
        .push(" FROM (");
    if filters.event.is_empty() {
        with_bucket(sql, raw, "bucket", &|sql| {
            push_visit_rows(sql, site, raw, None, filters)
        });
        sql.push(") AS v GROUP BY v.bucket");
        return;
    }
    let session_only = Split {
        session: filters.session.clone(),
        event: Vec::new(),
    };
    with_bucket(sql, raw, "bucket", &|sql| {
        push_visit_rows(sql, site, raw, None, &session_only)
    });
    sql.push(") AS v JOIN (SELECT DISTINCT x.session_id AS session_id, x.mb AS mb FROM (");
    with_bucket(sql, raw, "mb", &|sql| {
        push_event_rows(sql, site, raw, EventValue::None, filters)
    });
    sql.push(") AS x) AS m ON m.session_id = v.sid AND m.mb = v.bucket GROUP BY v.bucket");
}
