//! The rollup builder's statements. A day's rows are computed from the very row sources the raw
//! queries read (`queries::push_event_rows` / `push_visit_rows`), so rollups and raw scans agree
//! by construction; blocks of 2^k days are sums of their two halves.

use super::filters::{Col, Split, session_dimensions};
use super::plan::Raw;
use super::queries::{EventValue, PROP_KEY_DIM, push_event_rows, push_visit_rows};
use super::{Dialect, Sql};
use crate::stats::calendar::{MAX_LEVEL, block_start};

const DIMS_INSERT: &str = "INSERT INTO rollup_dims (site_id, dim, level, day, value, visitors, \
                           pageviews, events, visits, bounces, duration) ";

/// Where the builder starts, per site: its time zone, and what the rollups were built with.
pub(crate) fn sites(d: Dialect) -> Sql {
    let mut sql = Sql::new(d);
    sql.push(
        "SELECT s.id, s.timezone, r.timezone, CAST(COALESCE(r.built_through, 0) AS BIGINT), \
         CAST(CASE WHEN r.site_id IS NULL THEN 0 ELSE 1 END AS BIGINT) \
         FROM sites s LEFT JOIN rollup_sites r ON r.site_id = s.id ORDER BY s.id",
    );
    sql
}

/// One column: the site's first event time (unix seconds), or no row.
pub(crate) fn first_event(d: Dialect, site: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(&d.epoch("MIN(created_at)"))
        .push(" FROM events WHERE site_id = ")
        .int(site)
        .push(" HAVING COUNT(*) > 0");
    sql
}

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

/// Forgets a site's rollups (its time zone changed).
pub(crate) fn reset(d: Dialect, site: i64) -> Vec<Sql> {
    ["rollup_dims", "rollup_totals", "rollup_sites"]
        .into_iter()
        .map(|table| {
            let mut sql = Sql::new(d);
            sql.push("DELETE FROM ")
                .push(table)
                .push(" WHERE site_id = ")
                .int(site);
            sql
        })
        .collect()
}

/// Records that a site's rollups are complete through `day`, in time zone `tz`.
pub(crate) fn mark_built(d: Dialect, site: i64, tz: &str, day: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("INSERT INTO rollup_sites (site_id, timezone, built_through) VALUES (")
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

/// One column: the first event time (unix seconds) of a site at or after `from`, or no row. Days
/// before it hold nothing to roll up: a visit starts with one of its events.
pub(crate) fn next_event(d: Dialect, site: i64, from: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(&d.epoch("MIN(created_at)"))
        .push(" FROM events WHERE site_id = ")
        .int(site)
        .push(" AND created_at >= ")
        .time(from)
        .push(" HAVING COUNT(*) > 0");
    sql
}

/// Recomputes day `day` (instants `raw.start..raw.end`) of a site: its level-0 rows.
pub(crate) fn day(d: Dialect, site: i64, day: i64, raw: &Raw) -> Vec<Sql> {
    let none = Split::default();
    let mut out = Vec::new();
    let mut stmt = |f: &dyn Fn(&mut Sql)| {
        let mut sql = Sql::new(d);
        f(&mut sql);
        out.push(sql);
    };
    stmt(&|sql| {
        sql.push("DELETE FROM rollup_totals WHERE site_id = ")
            .int(site)
            .push(" AND day = ")
            .int(day);
    });
    stmt(&|sql| {
        sql.push("DELETE FROM rollup_dims WHERE site_id = ")
            .int(site)
            .push(" AND level = 0 AND day = ")
            .int(day);
    });
    stmt(&|sql| {
        sql.push(
            "INSERT INTO rollup_totals (site_id, day, visitors, pageviews, events, visits, \
             bounces, duration, visit_pageviews) SELECT ",
        )
        .int(site)
        .push(", ")
        .int(day)
        .push(
            ", ev.visitors, ev.pageviews, ev.events, vs.visits, vs.bounces, vs.duration, \
             vs.visit_pageviews FROM (SELECT COUNT(DISTINCT visitor_id) AS visitors, \
             COALESCE(SUM(pv), 0) AS pageviews, COUNT(*) AS events FROM (",
        );
        push_event_rows(sql, site, raw, EventValue::None, &none);
        sql.push(
            ") AS r) AS ev, (SELECT COUNT(*) AS visits, COALESCE(SUM(bounce), 0) AS bounces, \
             COALESCE(SUM(duration), 0) AS duration, COALESCE(SUM(pageviews), 0) AS \
             visit_pageviews FROM (",
        );
        push_visit_rows(sql, site, raw, None, &none);
        sql.push(") AS r) AS vs WHERE ev.events > 0 OR vs.visits > 0");
    });
    for (dim, column) in [("page", "path"), ("event_name", "name")] {
        let col = Col::Event(column);
        stmt(&|sql| {
            event_dim(
                sql,
                site,
                day,
                "",
                Some(dim),
                EventValue::Of(&col),
                raw,
                &none,
            );
        });
    }
    stmt(&|sql| {
        event_dim(
            sql,
            site,
            day,
            "",
            Some(PROP_KEY_DIM),
            EventValue::PropKey,
            raw,
            &none,
        )
    });
    stmt(&|sql| {
        event_dim(
            sql,
            site,
            day,
            "pkey",
            None,
            EventValue::PropPair,
            raw,
            &none,
        )
    });
    for (dim, column) in session_dimensions() {
        stmt(&|sql| {
            sql.push(DIMS_INSERT)
                .push("SELECT ")
                .int(site)
                .push(", ")
                .text(dim)
                .push(", 0, ")
                .int(day)
                .push(
                    ", value, COUNT(DISTINCT visitor_id), SUM(pageviews), SUM(events), COUNT(*), \
                     SUM(bounce), SUM(duration) FROM (",
                );
            push_visit_rows(sql, site, raw, Some(column), &none);
            sql.push(") AS r GROUP BY value");
        });
    }
    out
}

/// Recomputes the blocks holding day `day` that end by `built_through`, smallest first (each is
/// the sum of its two halves).
pub(crate) fn blocks(d: Dialect, site: i64, day: i64, built_through: i64) -> Vec<Sql> {
    let mut out = Vec::new();
    let mut stmt = |f: &dyn Fn(&mut Sql)| {
        let mut sql = Sql::new(d);
        f(&mut sql);
        out.push(sql);
    };
    for level in 1..=MAX_LEVEL {
        let start = block_start(day, level);
        if start + (1_i64 << level) - 1 > built_through {
            break;
        }
        let half = 1_i64 << (level - 1);
        stmt(&|sql| {
            sql.push("DELETE FROM rollup_dims WHERE site_id = ")
                .int(site)
                .push(" AND level = ")
                .int(i64::from(level))
                .push(" AND day = ")
                .int(start);
        });
        stmt(&|sql| {
            sql.push(DIMS_INSERT)
                .push("SELECT site_id, dim, ")
                .int(i64::from(level))
                .push(", ")
                .int(start)
                .push(
                    ", value, SUM(visitors), SUM(pageviews), SUM(events), SUM(visits), \
                     SUM(bounces), SUM(duration) FROM rollup_dims WHERE site_id = ",
                )
                .int(site)
                .push(" AND level = ")
                .int(i64::from(level - 1))
                .push(" AND day IN (")
                .int(start)
                .push(", ")
                .int(start + half)
                .push(") GROUP BY site_id, dim, value");
        });
    }
    out
}

/// Level-0 rows of an event-level dimension: named `dim`, or `'prop:' || <dim_column>`.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per variant, all arguments named"
)]
fn event_dim(
    sql: &mut Sql,
    site: i64,
    day: i64,
    dim_column: &str,
    dim: Option<&str>,
    value: EventValue<'_>,
    raw: &Raw,
    none: &Split,
) {
    sql.push(DIMS_INSERT).push("SELECT ").int(site).push(", ");
    match dim {
        Some(name) => {
            sql.text(name);
        }
        None => {
            sql.push("'prop:' || ").push(dim_column);
        }
    }
    sql.push(", 0, ")
        .int(day)
        .push(", value, COUNT(DISTINCT visitor_id), SUM(pv), COUNT(*), 0, 0, 0 FROM (");
    push_event_rows(sql, site, raw, value, none);
    sql.push(") AS r GROUP BY ");
    if dim.is_none() {
        sql.push(dim_column).push(", ");
    }
    sql.push("value");
}

/// Progress through the events table. SQLite: `scanned`, max event id. Postgres additionally:
/// the pending watermark, its snapshot's xmax, and the current snapshot's xmin and xmax.
pub(crate) fn progress(d: Dialect) -> Sql {
    let mut sql = Sql::new(d);
    match d {
        Dialect::Sqlite => sql.push(
            "SELECT COALESCE(p.scanned_id, -1), (SELECT COALESCE(MAX(id), 0) FROM events) \
             FROM (SELECT 1 AS one) AS o LEFT JOIN rollup_progress p ON p.id = 1",
        ),
        // One statement, one snapshot: the max id and the snapshot bounds agree.
        Dialect::Postgres => sql.push(
            "SELECT COALESCE(p.scanned_id, -1), (SELECT COALESCE(MAX(id), 0) FROM events), \
             COALESCE(p.pending_id, -1), COALESCE(p.pending_xmax, -1), pg_snapshot_xmin(pg_current_snapshot())::text::bigint, \
             pg_snapshot_xmax(pg_current_snapshot())::text::bigint \
             FROM (SELECT 1 AS one) AS o LEFT JOIN rollup_progress p ON p.id = 1",
        ),
    };
    sql
}

pub(crate) fn save_progress(d: Dialect, scanned: i64, pending: Option<(i64, i64)>) -> Sql {
    let mut sql = Sql::new(d);
    match (d, pending) {
        (Dialect::Postgres, Some((id, xmax))) => {
            sql.push("INSERT INTO rollup_progress (id, scanned_id, pending_id, pending_xmax) VALUES (1, ")
                .int(scanned)
                .push(", ")
                .int(id)
                .push(", ")
                .int(xmax)
                .push(
                    ") ON CONFLICT (id) DO UPDATE SET scanned_id = excluded.scanned_id, \
                     pending_id = excluded.pending_id, pending_xmax = excluded.pending_xmax",
                );
        }
        _ => {
            sql.push("INSERT INTO rollup_progress (id, scanned_id) VALUES (1, ")
                .int(scanned)
                .push(") ON CONFLICT (id) DO UPDATE SET scanned_id = excluded.scanned_id");
        }
    }
    sql
}
