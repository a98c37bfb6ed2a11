//! The raw row sources the questions are built from: matching events and matching visits of the
//! raw part of a plan, with their local day.

use super::super::Sql;
use super::super::filters::{Col, Split, push_conditions, session_value};
use super::super::plan::Raw;
use crate::stats::calendar::Segment;

/// Pushes the local day of `ts` (a column of unix seconds): `(ts + offset(ts)) / 86400`, the
/// offset a CASE over the plan's offset segments.
pub(crate) fn push_local_day(sql: &mut Sql, ts: &str, segments: &[Segment]) {
    sql.push("((").push(ts).push(" + ");
    match segments {
        [] => {
            sql.push("0");
        }
        [only] => {
            sql.int(only.offset);
        }
        [first, rest @ ..] => {
            sql.push("CASE");
            let mut offset = first.offset;
            for next in rest {
                sql.push(" WHEN ").push(ts).push(" < ").int(next.from);
                sql.push(" THEN ").int(offset);
                offset = next.offset;
            }
            sql.push(" ELSE ").int(offset).push(" END");
        }
    }
    sql.push(") / 86400)");
}

/// What an event row carries besides visitor, pageview flag and time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EventValue<'a> {
    None,
    Of(&'a Col),
    /// One row per prop key of the event.
    PropKey,
}

/// `SELECT [value,] visitor_id, session_id, pv, engaged_ms, scroll_depth, ts FROM events e … WHERE <site, raw range,
/// filters>`.
/// Session-level filters restrict events to those of matching visits; a session-level value
/// joins each event to its visit.
pub(crate) fn push_event_rows(
    sql: &mut Sql,
    site: i64,
    raw: &Raw,
    value: EventValue<'_>,
    filters: &Split,
) {
    let d = sql.dialect();
    sql.push("SELECT ");
    let joined = match value {
        EventValue::Of(Col::Session(c)) => {
            sql.push("COALESCE(")
                .push(&session_value("s", c))
                .push(", '') AS value, ");
            true
        }
        EventValue::Of(Col::Event(c)) => {
            sql.push("COALESCE(e.").push(c).push(", '') AS value, ");
            false
        }
        EventValue::Of(Col::Prop(_)) => {
            sql.push("pk.value AS value, ");
            false
        }
        EventValue::PropKey => {
            sql.push("pk.key AS value, ");
            false
        }
        // Never asked (`breakdown_with` answers a goal "breakdown" with no rows).
        EventValue::None | EventValue::Of(Col::Converted) => false,
    };
    sql.push("e.visitor_id AS visitor_id, e.session_id AS session_id, CASE WHEN e.name = 'pageview' THEN 1 ELSE 0 END AS pv, \
              e.engaged_ms AS engaged_ms, e.scroll_depth AS scroll_depth, ")
        .push(&d.epoch("e.created_at"))
        .push(" AS ts FROM events e");
    if joined {
        sql.push(" JOIN sessions s ON s.id = e.session_id");
    }
    if matches!(value, EventValue::Of(Col::Prop(_)) | EventValue::PropKey) {
        sql.push(&d.join_props("e.props", "pk"));
    }
    sql.push(" WHERE e.site_id = ").int(site);
    sql.push(" AND e.created_at >= ").time(raw.start);
    sql.push(" AND e.created_at < ").time(raw.end);
    if let EventValue::Of(Col::Prop(key)) = value {
        sql.push(" AND pk.key = ").text(key);
    }
    push_event_filters(sql, site, raw, filters, joined);
}

/// Pushes ` AND …` conditions that keep the events `e` matching `filters`: event-level filters on
/// the event itself, session-level ones on its visit — through `sessions s` when the statement
/// already joins it (`joined`), through a subquery otherwise. Every reader of raw events (stats,
/// export) filters through here, so they agree on what a filter means.
pub(crate) fn push_event_filters(
    sql: &mut Sql,
    site: i64,
    raw: &Raw,
    filters: &Split,
    joined: bool,
) {
    push_conditions(sql, raw.scope(site), &filters.event);
    if joined {
        push_conditions(sql, raw.scope(site), &filters.session);
    } else if !filters.session.is_empty() {
        // A visit has events in the range exactly when it started before the range's end and
        // ended at or after its start.
        sql.push(" AND e.session_id IN (SELECT s.id FROM sessions s WHERE s.site_id = ")
            .int(site);
        sql.push(" AND s.ended_at >= ").time(raw.start);
        sql.push(" AND s.started_at < ").time(raw.end);
        push_conditions(sql, raw.scope(site), &filters.session);
        sql.push(")");
    }
}

/// `SELECT [value,] sid, visitor_id, pageviews, events, bounce, duration, ts FROM sessions s …`:
/// visits that started in the raw range and match; an event-level filter keeps the visits with
/// a matching event in the range.
pub(crate) fn push_visit_rows(
    sql: &mut Sql,
    site: i64,
    raw: &Raw,
    value: Option<&'static str>,
    filters: &Split,
) {
    let d = sql.dialect();
    sql.push("SELECT ");
    if let Some(c) = value {
        sql.push("COALESCE(")
            .push(&session_value("s", c))
            .push(", '') AS value, ");
    }
    sql.push(
        "s.id AS sid, s.visitor_id AS visitor_id, s.pageviews AS pageviews, s.events AS events, \
         CASE WHEN s.pageviews <= 1 THEN 1 ELSE 0 END AS bounce, ",
    )
    .push(&d.epoch("s.ended_at"))
    .push(" - ")
    .push(&d.epoch("s.started_at"))
    .push(" AS duration, ")
    .push(&d.epoch("s.started_at"))
    .push(" AS ts FROM sessions s WHERE s.site_id = ")
    .int(site);
    sql.push(" AND s.started_at >= ").time(raw.start);
    sql.push(" AND s.started_at < ").time(raw.end);
    push_conditions(sql, raw.scope(site), &filters.session);
    if !filters.event.is_empty() {
        sql.push(" AND s.id IN (SELECT e.session_id FROM events e WHERE e.site_id = ")
            .int(site);
        sql.push(" AND e.created_at >= ").time(raw.start);
        sql.push(" AND e.created_at < ").time(raw.end);
        push_conditions(sql, raw.scope(site), &filters.event);
        sql.push(")");
    }
}

/// Wraps a row source as `SELECT r.*, <local day> AS day FROM (<rows>) AS r`.
pub(crate) fn push_with_day(sql: &mut Sql, raw: &Raw, rows: impl Fn(&mut Sql)) {
    day_as(sql, raw, "day", &rows);
}

/// Wraps a row source as `SELECT r.*, (ts - start) / 3600 AS bucket FROM (<rows>) AS r`: hours
/// of elapsed time since the first day's local midnight, so DST days have 23 or 25 of them.
pub(crate) fn push_with_hour(sql: &mut Sql, raw: &Raw, rows: impl Fn(&mut Sql)) {
    hour_as(sql, raw, "bucket", &rows);
}

/// `push_with_day` with the column named `name`.
pub(crate) fn day_as(sql: &mut Sql, raw: &Raw, name: &str, rows: &dyn Fn(&mut Sql)) {
    sql.push("SELECT r.*, ");
    push_local_day(sql, "r.ts", &raw.segments);
    sql.push(" AS ").push(name).push(" FROM (");
    rows(sql);
    sql.push(") AS r");
}

/// `push_with_hour` with the column named `name`.
pub(crate) fn hour_as(sql: &mut Sql, raw: &Raw, name: &str, rows: &dyn Fn(&mut Sql)) {
    sql.push("SELECT r.*, (r.ts - ")
        .int(raw.start)
        .push(") / 3600 AS ")
        .push(name)
        .push(" FROM (");
    rows(sql);
    sql.push(") AS r");
}

#[cfg(test)]
mod tests {
    use super::super::super::Dialect;
    use super::*;

    #[test]
    fn the_local_day_is_a_case_over_the_offsets() {
        let mut sql = Sql::new(Dialect::Sqlite);
        let segments = [
            Segment {
                from: 0,
                offset: 3600,
            },
            Segment {
                from: 100,
                offset: 7200,
            },
        ];
        push_local_day(&mut sql, "r.ts", &segments);
        assert_eq!(
            sql.preview(),
            "((r.ts + CASE WHEN r.ts < ?Int(100) THEN ?Int(3600) ELSE ?Int(7200) END) / 86400)"
        );
    }
}
