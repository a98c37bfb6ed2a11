//! Postgres's events are partitioned by month of `created_at` (UTC; migration 0011): retention
//! drops whole months, and a range question reads only the months it covers. This is the upkeep,
//! run once however many collectors are up (`Job::Partitions`): the partitions of this month and
//! the next `AHEAD` exist before the first event of them arrives, and events that landed in
//! `events_default` (a month nobody made in time, a clock far off) are moved into their month.
//!
//! A month is made beside the table and attached (`ATTACH PARTITION` takes a lock that lets
//! inserts and questions go on, where `CREATE TABLE … PARTITION OF` would queue behind every one
//! of them), with a CHECK that spares the attach a scan. DDL waits at most `LOCK_WAIT` for its
//! locks and is tried again at the next run, rather than holding up the writer behind a long
//! question.

use crate::store::StoreError;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone as _, Utc};
use sqlx::{PgPool, Row as _};

/// Months made ahead of the current one.
pub(super) const AHEAD: u32 = 2;
const LOCK_WAIT: &str = "SET LOCAL lock_timeout = '5s'";

/// A partition of `events`: its name and bounds (`None`: MINVALUE below, or the default
/// partition, which has neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Partition {
    pub name: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The partitions of `events`. Their bounds come back as text in the session's time zone, with
/// its offset, so casting them back is exact whatever that zone is.
pub(super) async fn list(pool: &PgPool) -> Result<Vec<Partition>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.relname::text, \
         substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']+)''\\)')::timestamptz, \
         substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'events'::regclass ORDER BY 3 NULLS LAST",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Partition {
                name: row.try_get(0)?,
                from: row.try_get(1)?,
                to: row.try_get(2)?,
            })
        })
        .collect()
}

fn month_start(day: NaiveDate) -> DateTime<Utc> {
    let first = day.with_day(1).unwrap_or(day);
    Utc.from_utc_datetime(&first.and_time(chrono::NaiveTime::MIN))
}

/// The name of the month starting at `from`: `events_YYYY_MM`.
fn month_name(from: DateTime<Utc>) -> String {
    format!("events_{:04}_{:02}", from.year(), from.month())
}

/// A bound as a literal for DDL, which takes no parameters (made here from a `DateTime`, never
/// from input).
fn literal(t: DateTime<Utc>) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S+00"))
}

/// Makes the partitions of the month of `now` and the `AHEAD` after it that no partition covers
/// yet; returns how many were made.
pub(super) async fn keep(pool: &PgPool, now: DateTime<Utc>) -> Result<u32, StoreError> {
    let existing = list(pool).await?;
    let this_month = month_start(now.date_naive());
    let mut made = 0;
    for ahead in 0..=AHEAD {
        let Some(from) = this_month.checked_add_months(Months::new(ahead)) else {
            continue;
        };
        let Some(to) = from.checked_add_months(Months::new(1)) else {
            continue;
        };
        let covered = existing
            .iter()
            .any(|p| p.to.is_some_and(|end| end > from) && p.from.is_none_or(|start| start < to));
        if !covered {
            attach_month(pool, from, to).await?;
            made += 1;
        }
    }
    Ok(made)
}

/// Makes the month `[from, to)` beside `events`, moves into it what the default partition holds
/// of it, and attaches it — all in one transaction.
async fn attach_month(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), StoreError> {
    let name = month_name(from);
    let (lo, hi) = (literal(from), literal(to));
    let mut tx = pool.begin().await?;
    for sql in [
        LOCK_WAIT.to_owned(),
        format!("CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)"),
        format!(
            "WITH moved AS (DELETE FROM events_default WHERE created_at >= {lo} AND \
             created_at < {hi} RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        format!(
            "ALTER TABLE {name} ADD CONSTRAINT {name}_range CHECK (created_at >= {lo} AND \
             created_at < {hi})"
        ),
        format!("ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})"),
        format!("CREATE INDEX {name}_id ON {name} (id)"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(partition = %name, "event partition made");
    Ok(())
}

/// Drops the partitions that hold only events before `before` (never the default one); returns
/// how many went.
pub(super) async fn drop_before(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let mut dropped = 0;
    for p in list(pool).await? {
        if p.to.is_none_or(|end| end > before) {
            continue;
        }
        let mut tx = pool.begin().await?;
        for sql in [
            LOCK_WAIT.to_owned(),
            format!("DROP TABLE \"{}\"", p.name.replace('"', "\"\"")),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(partition = %p.name, "event partition dropped (retention)");
        dropped += 1;
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_and_bounded_in_utc() {
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).single();
        let t = t.unwrap_or_default();
        let from = month_start(t.date_naive());
        assert_eq!(month_name(from), "events_2026_12");
        assert_eq!(literal(from), "'2026-12-01 00:00:00+00'");
        let next = from.checked_add_months(Months::new(1)).unwrap_or_default();
        assert_eq!(month_name(next), "events_2027_01");
    }
}
