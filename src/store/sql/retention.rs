//! Retention: raw events and visits older than a site's number of days (its own setting, else
//! `--retention-days`, else forever) are deleted; the query engine's segments of those days stay,
//! so the dashboard's and the stats API's figures for them stay too (`docs/scaling.md`).
//!
//! - A day goes only once its segment is built (never past the builder's `built_through`), and
//!   the site's `kept_from` moves first, so that the builder never rebuilds a day from what is
//!   left of it (`engine::build` leaves days before `kept_from` alone).
//! - Days are the site's local days, as the segments' are: the last `days` of them are kept,
//!   today included.
//! - Postgres drops whole months of events when every site's cutoff is past them
//!   (`Backend::drop_partitions_before`); what is left, and everything on SQLite, goes in
//!   batches of `BATCH` rows, each its own short transaction, so the writer waits for one batch
//!   at most.
//! - A visit goes once it ended before the cutoff: one that runs across it stays with the days
//!   it has events on.

use super::exec::Exec;
use super::{Kind, Sql};
use crate::domain::TimeZone;
use crate::stats::calendar::{day_start, local_day};
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// Rows deleted per statement, and the pause between two.
const BATCH: i64 = 5000;
const PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// What a retention run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Sites with a retention.
    pub sites: u64,
    pub events: u64,
    pub visits: u64,
    /// Whole months of events dropped (Postgres).
    pub partitions: u64,
    /// Sites with a retention whose segments are not built yet: nothing of theirs goes until
    /// they are, and the run is tried again soon.
    pub waiting: u64,
}

/// Where a site's raw data starts to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cutoff {
    pub site: i64,
    /// Raw rows before this go, and the site's local day it starts; `None`: the site keeps
    /// everything (no retention, or its segments are not built yet).
    pub before: Option<(DateTime<Utc>, i64)>,
    /// It has a retention, but its segments are not built yet.
    pub waiting: bool,
}

/// Each site's cutoff as of `now`.
pub(crate) async fn cutoffs(
    db: &dyn Exec,
    default_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Vec<Cutoff>, StoreError> {
    let mut sql = Sql::new(db.dialect());
    sql.push(
        "SELECT s.id, s.timezone, CAST(r.days AS BIGINT), g.timezone, \
         CAST(g.built_through AS BIGINT) FROM sites s \
         LEFT JOIN site_retention r ON r.site_id = s.id \
         LEFT JOIN segment_sites g ON g.site_id = s.id ORDER BY s.id",
    );
    let rows = db
        .fetch(
            &sql,
            &[
                Kind::Int,
                Kind::Text,
                Kind::OptInt,
                Kind::Text,
                Kind::OptInt,
            ],
        )
        .await?;
    let mut cutoffs = Vec::with_capacity(rows.len());
    for row in rows {
        let site = row.int(0)?;
        let days = row.opt_int(2)?.or(default_days.map(i64::from));
        let tz = TimeZone::parse(&row.string(1)?).ok();
        let built = match (row.text(3)?, row.opt_int(4)?) {
            (Some(built_tz), Some(through)) if tz.is_some_and(|tz| tz.name() == built_tz) => {
                Some(through)
            }
            _ => None,
        };
        let before = match (days, tz, built) {
            (Some(days), Some(tz), Some(through)) => {
                let today = local_day(tz.0, now.timestamp());
                let first_kept = (today - days + 1).min(through + 1);
                DateTime::from_timestamp(day_start(tz.0, first_kept), 0).map(|t| (t, first_kept))
            }
            _ => None,
        };
        let waiting = days.is_some() && before.is_none();
        cutoffs.push(Cutoff {
            site,
            before,
            waiting,
        });
    }
    Ok(cutoffs)
}

/// The time before which no site keeps raw events, if every site has a cutoff.
pub(crate) fn common(cutoffs: &[Cutoff]) -> Option<DateTime<Utc>> {
    cutoffs
        .iter()
        .map(|c| c.before.map(|(at, _)| at))
        .min()
        .flatten()
}

/// Records that a site's raw rows before `before` (local day `day`) go: the segment builder
/// rebuilds no day before it from then on.
pub(crate) async fn keep_from(
    db: &dyn Exec,
    site: i64,
    (before, day): (DateTime<Utc>, i64),
) -> Result<(), StoreError> {
    let mut kept = Sql::new(db.dialect());
    kept.push("INSERT INTO site_retention (site_id, kept_from, kept_day) VALUES (")
        .int(site)
        .push(", ")
        .at(before)
        .push(", ")
        .int(day)
        .push(
            ") ON CONFLICT (site_id) DO UPDATE SET kept_from = excluded.kept_from, \
             kept_day = excluded.kept_day WHERE site_retention.kept_from IS NULL \
             OR site_retention.kept_from < excluded.kept_from",
        );
    db.execute(&kept).await?;
    Ok(())
}

/// Deletes one site's raw rows before `before`, events and finished visits, in batches (the
/// caller has moved `kept_from` on). Returns (events, visits) deleted.
pub(crate) async fn delete(
    db: &dyn Exec,
    site: i64,
    (before, _): (DateTime<Utc>, i64),
) -> Result<(u64, u64), StoreError> {
    let d = db.dialect();
    // Never the newest event of all: SQLite hands out max(id) + 1, so deleting it would give
    // its id again, below the segment builder's watermark and the live view's cursor.
    let mut events = Sql::new(d);
    events
        .push("DELETE FROM events WHERE site_id = ")
        .int(site)
        .push(" AND created_at < ")
        .at(before)
        .push(" AND id < (SELECT MAX(id) FROM events)")
        .push(" AND id IN (SELECT id FROM events WHERE site_id = ")
        .int(site)
        .push(" AND created_at < ")
        .at(before)
        .push(" LIMIT ")
        .int(BATCH)
        .push(")");
    let mut visits = Sql::new(d);
    visits
        .push("DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE site_id = ")
        .int(site)
        .push(" AND started_at < ")
        .at(before)
        .push(" AND ended_at < ")
        .at(before)
        .push(" LIMIT ")
        .int(BATCH)
        .push(")");
    Ok((
        in_batches(db, &events).await?,
        in_batches(db, &visits).await?,
    ))
}

/// Runs a batch DELETE until it deletes nothing; returns the rows deleted.
async fn in_batches(db: &dyn Exec, delete: &Sql) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let n = db.execute(delete).await?;
        total += n;
        if n == 0 {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_cutoff_needs_every_site_to_have_one() {
        let t = |s| DateTime::from_timestamp(s, 0);
        let cut = |site, before: Option<DateTime<Utc>>| Cutoff {
            site,
            before: before.map(|at| (at, 0)),
            waiting: false,
        };
        assert_eq!(common(&[]), None);
        assert_eq!(common(&[cut(1, t(50)), cut(2, t(10))]), t(10));
        assert_eq!(common(&[cut(1, t(50)), cut(2, None)]), None);
    }
}
