//! The query engine's statements (`store::engine`): reading a day's events and visits to build its
//! segment, reading new events for the open days, keeping the `segments` table and the builder's
//! progress. Instants are read as whole unix seconds on both engines (`Dialect::epoch`).

use super::filters::{Col, session_value};
use super::{Dialect, Kind, Sql};
use crate::store::engine::rows::SESSION_DIMS;

/// The columns of a visit row, in `SESSION_DIMS` order after the counters.
fn visit_columns(d: Dialect, alias: &str) -> String {
    let mut cols = vec![
        format!("{alias}.id"),
        format!("{alias}.visitor_id"),
        d.epoch(&format!("{alias}.started_at")),
        d.epoch(&format!("{alias}.ended_at")),
        format!("CAST({alias}.pageviews AS BIGINT)"),
        format!("CAST({alias}.events AS BIGINT)"),
    ];
    for dim in &SESSION_DIMS {
        if let Col::Session(c) = Col::of(dim) {
            cols.push(session_value(alias, c));
        }
    }
    cols.join(", ")
}

/// What `visit_columns` yields; the first column may be NULL (a LEFT JOIN without a visit).
pub(crate) const VISIT_KINDS: [Kind; 23] = {
    let mut kinds = [Kind::Text; 23];
    let mut i = 0;
    while i < 6 {
        kinds[i] = Kind::OptInt;
        i += 1;
    }
    kinds
};

/// The columns of an event row: id, site, time, visitor, visit, name, path, props (JSON text),
/// engaged ms and scroll depth (NULL unless an engagement update reached the pageview).
fn event_columns(d: Dialect) -> String {
    format!(
        "e.id, e.site_id, {}, e.visitor_id, e.session_id, e.name, e.path, CAST(e.props AS TEXT), \
         CAST(e.engaged_ms AS BIGINT), CAST(e.scroll_depth AS BIGINT)",
        d.epoch("e.created_at")
    )
}

pub(crate) const EVENT_KINDS: [Kind; 10] = [
    Kind::Int,
    Kind::Int,
    Kind::Int,
    Kind::Int,
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::OptInt,
    Kind::OptInt,
];

/// A site's events at instants `start..end` (no end: all later ones) (`EVENT_KINDS`).
pub(crate) fn events_between(d: Dialect, site: i64, start: i64, end: Option<i64>) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(&event_columns(d))
        .push(" FROM events e WHERE e.site_id = ")
        .int(site)
        .push(" AND e.created_at >= ")
        .time(start);
    if let Some(end) = end {
        sql.push(" AND e.created_at < ").time(end);
    }
    sql
}

/// How many events and visits a site has at (visits: that started at) instants `start..end` (no
/// end: all later ones): two BIGINTs, so that a reader can reserve room for them at once.
pub(crate) fn count_between(d: Dialect, site: i64, start: i64, end: Option<i64>) -> Sql {
    let mut sql = Sql::new(d);
    for (i, (table, column)) in [("events", "created_at"), ("sessions", "started_at")]
        .into_iter()
        .enumerate()
    {
        sql.push(if i == 0 { "SELECT (" } else { ", (" })
            .push("SELECT CAST(COUNT(*) AS BIGINT) FROM ")
            .push(table)
            .push(" WHERE site_id = ")
            .int(site)
            .push(" AND ")
            .push(column)
            .push(" >= ")
            .time(start);
        if let Some(end) = end {
            sql.push(" AND ").push(column).push(" < ").time(end);
        }
        sql.push(")");
    }
    sql
}

/// A site's visits that started at instants `start..end` (no end: all later ones)
/// (`VISIT_KINDS`). The few visits with events in a range that started before it (across
/// midnight) are fetched by id (`visits_by_id`): a range scan for them would read a whole extra
/// day of visits.
pub(crate) fn visits_between(d: Dialect, site: i64, start: i64, end: Option<i64>) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(&visit_columns(d, "s"))
        .push(" FROM sessions s WHERE s.site_id = ")
        .int(site)
        .push(" AND s.started_at >= ")
        .time(start);
    if let Some(end) = end {
        sql.push(" AND s.started_at < ").time(end);
    }
    sql
}

/// Visits by id (`VISIT_KINDS`).
pub(crate) fn visits_by_id(d: Dialect, ids: &[i64]) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(&visit_columns(d, "s"))
        .push(" FROM sessions s WHERE s.id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.int(*id);
    }
    sql.push(")");
    sql
}

/// Events after id `after` (at most `limit`, by id) with their visits as they are now:
/// `EVENT_KINDS` then `VISIT_KINDS`.
pub(crate) fn new_events(d: Dialect, after: i64, limit: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(&event_columns(d))
        .push(", ")
        .push(&visit_columns(d, "s"))
        .push(" FROM events e LEFT JOIN sessions s ON s.id = e.session_id WHERE e.id > ")
        .int(after)
        .push(" ORDER BY e.id LIMIT ")
        .int(limit);
    sql
}

/// Where the events table stands: its highest id, (Postgres) the current snapshot's xmin and
/// xmax, and the engagement log's highest id, all BIGINT. SQLite commits ids in order, so its
/// snapshot bounds are 0.
pub(crate) fn snapshot(d: Dialect) -> Sql {
    let mut sql = Sql::new(d);
    match d {
        Dialect::Sqlite => sql.push(
            "SELECT COALESCE(MAX(id), 0), 0, 0, \
             (SELECT COALESCE(MAX(id), 0) FROM engagement_log) FROM events",
        ),
        // One statement, one snapshot: the max ids and the snapshot bounds agree.
        Dialect::Postgres => sql.push(
            "SELECT COALESCE(MAX(id), 0), pg_snapshot_xmin(pg_current_snapshot())::text::bigint, \
             pg_snapshot_xmax(pg_current_snapshot())::text::bigint, \
             (SELECT COALESCE(MAX(id), 0) FROM engagement_log) FROM events",
        ),
    };
    sql
}

/// The builder's watermarks, on events and on the engagement log: for each, scanned id, pending
/// id and its xmax (-1 where unset), all BIGINT.
pub(crate) fn progress(d: Dialect) -> Sql {
    let mut sql = Sql::new(d);
    match d {
        Dialect::Sqlite => sql.push(
            "SELECT COALESCE(p.scanned_id, -1), -1, -1, COALESCE(p.log_scanned_id, -1), -1, -1 \
             FROM (SELECT 1 AS one) AS o LEFT JOIN segment_progress p ON p.id = 1",
        ),
        Dialect::Postgres => sql.push(
            "SELECT COALESCE(p.scanned_id, -1), COALESCE(p.pending_id, -1), \
             COALESCE(p.pending_xmax, -1), COALESCE(p.log_scanned_id, -1), \
             COALESCE(p.log_pending_id, -1), COALESCE(p.log_pending_xmax, -1) \
             FROM (SELECT 1 AS one) AS o LEFT JOIN segment_progress p ON p.id = 1",
        ),
    };
    sql
}

/// A watermark as saved: the id scanned through and (Postgres) a pending id with its xmax.
pub(crate) type Mark = (i64, Option<(i64, i64)>);

/// Saves both watermarks (`progress`); SQLite keeps no pending ids.
pub(crate) fn save_progress(d: Dialect, events: Mark, log: Mark) -> Sql {
    let mut sql = Sql::new(d);
    let pending = |sql: &mut Sql, p: Option<(i64, i64)>| match p {
        Some((id, xmax)) => {
            sql.push(", ").int(id).push(", ").int(xmax);
        }
        None => {
            sql.push(", NULL, NULL");
        }
    };
    match d {
        Dialect::Postgres => {
            sql.push(
                "INSERT INTO segment_progress (id, scanned_id, pending_id, pending_xmax, \
                 log_scanned_id, log_pending_id, log_pending_xmax) VALUES (1, ",
            )
            .int(events.0);
            pending(&mut sql, events.1);
            sql.push(", ").int(log.0);
            pending(&mut sql, log.1);
            sql.push(
                ") ON CONFLICT (id) DO UPDATE SET scanned_id = excluded.scanned_id, \
                 pending_id = excluded.pending_id, pending_xmax = excluded.pending_xmax, \
                 log_scanned_id = excluded.log_scanned_id, \
                 log_pending_id = excluded.log_pending_id, \
                 log_pending_xmax = excluded.log_pending_xmax",
            );
        }
        Dialect::Sqlite => {
            sql.push("INSERT INTO segment_progress (id, scanned_id, log_scanned_id) VALUES (1, ")
                .int(events.0)
                .push(", ")
                .int(log.0)
                .push(
                    ") ON CONFLICT (id) DO UPDATE SET scanned_id = excluded.scanned_id, \
                     log_scanned_id = excluded.log_scanned_id",
                );
        }
    }
    sql
}

/// Quarter hours `[event, event, event]` (the shape of `changes`) of the pageviews whose
/// engagement was raised, by site, for log ids in `after..=upto`: their figures live in their
/// own day's segment only.
pub(crate) fn engagement_changes(d: Dialect, after: i64, upto: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT site_id, ")
        .push(&d.epoch("event_at"))
        .push(" / 900 AS eq, ")
        .push(&d.epoch("event_at"))
        .push(" / 900, ")
        .push(&d.epoch("event_at"))
        .push(" / 900 FROM engagement_log WHERE id > ")
        .int(after)
        .push(" AND id <= ")
        .int(upto)
        .push(" GROUP BY site_id, eq");
    sql
}

/// Engagement log rows after id `after` (at most `limit`, by id) with the figures their pageview
/// has now: log id, site, event id, engaged ms, scroll depth (`ENGAGEMENT_KINDS`). A row whose
/// event is gone (retention, a deleted site) has none.
pub(crate) fn new_engagements(d: Dialect, after: i64, limit: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push(
        "SELECT l.id, l.site_id, l.event_id, CAST(e.engaged_ms AS BIGINT), \
         CAST(e.scroll_depth AS BIGINT) FROM engagement_log l \
         JOIN events e ON e.id = l.event_id AND e.created_at = l.event_at WHERE l.id > ",
    )
    .int(after)
    .push(" ORDER BY l.id LIMIT ")
    .int(limit);
    sql
}

pub(crate) const ENGAGEMENT_KINDS: [Kind; 5] =
    [Kind::Int, Kind::Int, Kind::Int, Kind::OptInt, Kind::OptInt];

/// Forgets the log rows the builder has read (ids up to `scanned`) once they are a day old:
/// a collector's open days read them within seconds, and one that starts afresh reads its
/// pageviews' figures from the events table itself.
pub(crate) fn prune_engagements(d: Dialect, scanned: i64, now: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("DELETE FROM engagement_log WHERE id <= ")
        .int(scanned)
        .push(" AND logged_at < ")
        .time(now - 86_400);
    sql
}

/// Per site: id, time zone, the time zone its segments were built in (NULL: never), the day
/// they are built through, and the first day whose raw rows retention kept (NULL: all).
pub(crate) fn sites(d: Dialect) -> Sql {
    let mut sql = Sql::new(d);
    sql.push(
        "SELECT s.id, s.timezone, g.timezone, CAST(COALESCE(g.built_through, 0) AS BIGINT), \
         CAST(r.kept_day AS BIGINT) FROM sites s \
         LEFT JOIN segment_sites g ON g.site_id = s.id \
         LEFT JOIN site_retention r ON r.site_id = s.id ORDER BY s.id",
    );
    sql
}

pub(crate) const SITE_KINDS: [Kind; 5] =
    [Kind::Int, Kind::Text, Kind::Text, Kind::Int, Kind::OptInt];

/// The quarter hours touched by events with ids in `after..=upto`: site, the event's quarter,
/// its visit's start quarter and the quarter its visit was first seen in (session ids begin
/// with that time in milliseconds since 2020). A visit moved to an earlier start by a late
/// event was counted on a day between the two.
pub(crate) fn changes(d: Dialect, after: i64, upto: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT e.site_id, ")
        .push(&d.epoch("e.created_at"))
        .push(" / 900 AS eq, ")
        .push(&d.epoch("s.started_at"))
        .push(
            " / 900 AS sq, ((s.id / 4194304) / 1000 + 1577836800) / 900 AS iq \
             FROM events e JOIN sessions s ON s.id = e.session_id WHERE e.id > ",
        )
        .int(after)
        .push(" AND e.id <= ")
        .int(upto)
        .push(" GROUP BY e.site_id, eq, sq, iq");
    sql
}

/// One column: the first event time (unix seconds) of a site at or after `from`, or no row. An
/// ORDER BY with LIMIT is a seek in `events_site_time` on both engines (a MIN with a COUNT, as
/// the rollup builder had it, counted every later event).
pub(crate) fn next_event(d: Dialect, site: i64, from: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(&d.epoch("created_at"))
        .push(" FROM events WHERE site_id = ")
        .int(site)
        .push(" AND created_at >= ")
        .time(from)
        .push(" ORDER BY created_at LIMIT 1");
    sql
}

/// Forgets a site's segments (its time zone changed, or their encoding), so that they are
/// built again from the raw rows — but for the days whose raw rows retention deleted, which
/// cannot be built again and keep the segments they have.
pub(crate) fn reset(d: Dialect, site: i64) -> Vec<Sql> {
    let mut segments = Sql::new(d);
    segments
        .push("DELETE FROM segments WHERE site_id = ")
        .int(site)
        .push(" AND NOT EXISTS (SELECT 1 FROM site_retention r WHERE r.site_id = ")
        .int(site)
        .push(" AND segments.day < r.kept_day)");
    let mut built = Sql::new(d);
    built
        .push("DELETE FROM segment_sites WHERE site_id = ")
        .int(site);
    vec![segments, built]
}

/// Sites with segments of another encoding version than `version` that can be built again
/// (days whose raw rows retention kept).
pub(crate) fn outdated(d: Dialect, version: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push(
        "SELECT DISTINCT g.site_id FROM segments g \
         LEFT JOIN site_retention r ON r.site_id = g.site_id WHERE g.version <> ",
    )
    .int(version)
    .push(" AND (r.kept_day IS NULL OR g.day >= r.kept_day)");
    sql
}

/// Records that a site's segments are complete through `day`, in time zone `tz`.
pub(crate) fn mark_built(d: Dialect, site: i64, tz: &str, day: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("INSERT INTO segment_sites (site_id, timezone, built_through) VALUES (")
        .int(site)
        .push(", ")
        .text(tz)
        .push(", ")
        .int(day)
        .push(
            ") ON CONFLICT (site_id) DO UPDATE SET timezone = excluded.timezone, \
             built_through = excluded.built_through",
        );
    sql
}

/// Replaces a day's segment (a new row, so a new id) or, with no bytes, removes it.
pub(crate) fn store_segment(
    d: Dialect,
    site: i64,
    day: i64,
    segment: Option<(i64, i64, &[u8])>,
) -> Vec<Sql> {
    let mut delete = Sql::new(d);
    delete
        .push("DELETE FROM segments WHERE site_id = ")
        .int(site)
        .push(" AND day = ")
        .int(day);
    let mut out = vec![delete];
    if let Some((version, events, bytes)) = segment {
        let mut insert = Sql::new(d);
        insert
            .push("INSERT INTO segments (site_id, day, version, events, data) VALUES (")
            .int(site)
            .push(", ")
            .int(day)
            .push(", ")
            .int(version)
            .push(", ")
            .int(events)
            .push(", ")
            .bytes(bytes)
            .push(")");
        out.push(insert);
    }
    out
}

/// Segment rows with ids above `after`, by id, at most `limit`: id, site, day, version, data.
pub(crate) fn load_segments(d: Dialect, after: i64, limit: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push(
        "SELECT id, site_id, CAST(day AS BIGINT), CAST(version AS BIGINT), data FROM segments \
         WHERE id > ",
    )
    .int(after)
    .push(" ORDER BY id LIMIT ")
    .int(limit);
    sql
}

pub(crate) const SEGMENT_KINDS: [Kind; 5] =
    [Kind::Int, Kind::Int, Kind::Int, Kind::Int, Kind::Bytes];
