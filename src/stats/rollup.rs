//! Rollups: per-day aggregates that make dashboards fast, and the builder that keeps them exact.
//!
//! Visitor ids rotate daily, so "visitors" over a range is a sum of per-day distinct counts and
//! every per-day aggregate is additive. The builder stores, per site and *local* day:
//! - `rollup_totals`: visitors, pageviews, events (of events on that day) and visits, bounces,
//!   duration, visit pageviews (of visits that started that day);
//! - `rollup_dims`: per dimension and value (every `Dimension::FIXED`, `prop:KEY` per key, and
//!   `prop_key` for `prop_keys`) the visitors, pageviews and events, plus visits, bounces and
//!   duration for session-level dimensions; `''` stands for "not set". Besides single days
//!   (level 0) it keeps aligned blocks of 2, 4 … 256 days, so "last 30 days" sums about seven
//!   blocks per value instead of thirty days;
//! - `rollup_sites`: per site, the time zone the rollups were built in and the last day they are
//!   complete for (`built_through`).
//!
//! Questions read rollups for days up to `built_through` and raw rows after it (today, and
//! yesterday during the first minutes after midnight), in one statement, and get exactly the
//! answer the raw rows alone would give. Filtered questions read raw rows, except aggregates and
//! daily series with a single `Is` filter on a session-level dimension.
//!
//! Freshness: a day is built once it has been over for `CLOSE_AFTER`. Late events (imports, a
//! visit going on past midnight, clients that send late) are found through a watermark on event
//! ids: every run looks at the events stored since the last one, and rebuilds the closed days they
//! touch — the event's day and its visit's start day — with the blocks holding them. Between runs
//! (a minute by default) such days may lag behind the raw rows.
//!
//! Concurrency: on Postgres a run holds an advisory lock (several collectors share a database) and
//! a watermark only moves past ids once every transaction that might still commit a lower id has
//! ended. SQLite assumes one process (runs within it are serialised); its ids are assigned in
//! commit order by its single writer.

use crate::domain::TimeZone;
use crate::store::sql::plan::Raw;
use crate::store::sql::{Dialect, Kind, Row, Sql, rollup as statements};
use crate::store::{DynStore, StatsStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

use super::calendar::local_day;

/// How long after its local midnight a day counts as closed and is rolled up. Visits still going
/// on and late batches would otherwise rebuild it right away.
pub const CLOSE_AFTER: Duration = Duration::from_secs(10 * 60);

/// A visit longer than this is not believed when working out which days an event touched.
const MAX_VISIT_DAYS: i64 = 31;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// False when another collector was building and this run left it to them.
    pub ran: bool,
    /// Site-days (re)computed.
    pub days: u64,
}

/// Brings every site's rollups up to date now. Call it after writing history in bulk (`seed`,
/// imports); `spawn_rollups` runs it periodically.
pub async fn rollup_pending<S: StatsStore + ?Sized>(store: &S) -> Result<RollupReport, StoreError> {
    store.build_rollups(Utc::now()).await
}

/// Runs the builder every `every` until the task is aborted. Failures are logged and retried on
/// the next tick.
pub fn spawn_rollups(store: DynStore, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let started = Instant::now();
            match store.build_rollups(Utc::now()).await {
                Ok(report) if report.days > 0 => tracing::info!(
                    days = report.days,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "rollups built"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    error = %e,
                    cause = ?std::error::Error::source(&e),
                    "building rollups failed; retrying on the next tick"
                ),
            }
        }
    })
}

/// A connection the builder runs on (holding the lock, where there is one).
#[async_trait]
pub(crate) trait BuildSession: Send {
    fn dialect(&self) -> Dialect;
    async fn fetch(&mut self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError>;
    /// Runs the statements in one transaction.
    async fn atomically(&mut self, statements: &[Sql]) -> Result<(), StoreError>;
}

/// Where the event watermark stands and where it moves after this run.
struct Progress {
    /// Events with ids above this and up to `upper` are new; `None` on the very first run.
    after: Option<i64>,
    upper: i64,
    save: Sql,
}

async fn progress(s: &mut dyn BuildSession) -> Result<Progress, StoreError> {
    let d = s.dialect();
    let row = match d {
        Dialect::Sqlite => s.fetch(&statements::progress(d), &[Kind::Int; 2]).await?,
        Dialect::Postgres => s.fetch(&statements::progress(d), &[Kind::Int; 6]).await?,
    };
    let row = row
        .first()
        .ok_or_else(|| StoreError::Corrupt("rollup progress query returned no row".into()))?;
    let (scanned, upper) = (row.int(0), row.int(1));
    let first_run = scanned < 0;
    Ok(match d {
        // One writer, ids handed out in commit order: everything up to the max id is visible.
        Dialect::Sqlite => Progress {
            after: (!first_run).then_some(scanned),
            upper,
            save: statements::save_progress(d, upper, None),
        },
        // Transactions may commit out of id order. A pending watermark (ids up to `pending` as of
        // a snapshot whose xmax was `pending_xmax`) is trusted once every transaction older than
        // that xmax has ended; until then the ids after `scanned` are looked at again.
        Dialect::Postgres => {
            let (pending, pending_xmax, xmin, xmax) =
                (row.int(2), row.int(3), row.int(4), row.int(5));
            let promoted = pending >= 0 && xmin >= pending_xmax;
            let safe = if promoted { pending } else { scanned };
            let save = if first_run {
                statements::save_progress(d, upper, None)
            } else if promoted || pending < 0 {
                statements::save_progress(d, safe, Some((upper, xmax)))
            } else {
                statements::save_progress(d, safe, Some((pending, pending_xmax)))
            };
            Progress {
                after: (!first_run).then_some(safe),
                upper,
                save,
            }
        }
    })
}

/// Builds what is due as of `now`. The caller holds the lock.
pub(crate) async fn build(
    s: &mut dyn BuildSession,
    now: DateTime<Utc>,
) -> Result<RollupReport, StoreError> {
    let d = s.dialect();
    let progress = progress(s).await?;
    let mut touched: BTreeMap<i64, Vec<[i64; 3]>> = BTreeMap::new();
    if let Some(after) = progress.after.filter(|a| *a < progress.upper) {
        let rows = s
            .fetch(
                &statements::changes(d, after, progress.upper),
                &[Kind::Int; 4],
            )
            .await?;
        for row in rows {
            touched
                .entry(row.int(0))
                .or_default()
                .push([row.int(1), row.int(2), row.int(3)]);
        }
    }
    let sites = s
        .fetch(
            &statements::sites(d),
            &[Kind::Int, Kind::Text, Kind::Text, Kind::Int, Kind::Int],
        )
        .await?;
    let mut report = RollupReport { ran: true, days: 0 };
    for row in sites {
        let site = row.int(0);
        let tz_name = row.text(1).unwrap_or_default();
        let Ok(tz) = TimeZone::parse(&tz_name) else {
            tracing::warn!(site, timezone = %tz_name, "site has an unknown time zone; not rolled up");
            continue;
        };
        let built = (row.int(4) == 1).then(|| (row.text(2).unwrap_or_default(), row.int(3)));
        let quarters = touched.remove(&site).unwrap_or_default();
        report.days += build_site(s, site, tz, built, &quarters, now).await?;
    }
    let mut finish = vec![progress.save];
    if report.days > 0 && d == Dialect::Postgres {
        // The raw paths' plans need statistics; autovacuum keeps them, unless it is off or has
        // not caught up with a bulk load yet. Sampling makes this cheap even on large tables.
        let mut analyze = Sql::new(d);
        analyze.push("ANALYZE events, sessions");
        finish.push(analyze);
    }
    s.atomically(&finish).await?;
    Ok(report)
}

/// Local days touched by changes of quarter hours `[event, visit start, visit first seen]`.
fn dirty_days(tz: chrono_tz::Tz, quarters: &[[i64; 3]]) -> BTreeSet<i64> {
    let mut days = BTreeSet::new();
    let day = |q: i64, end: bool| local_day(tz, q * 900 + if end { 899 } else { 0 });
    for &[event, start, seen] in quarters {
        days.insert(day(event, false));
        days.insert(day(event, true));
        let (lo, hi) = (day(start.min(seen), false), day(start.max(seen), true));
        days.extend(lo..=hi.min(lo + MAX_VISIT_DAYS));
    }
    days
}

fn day_bounds(tz: chrono_tz::Tz, day: i64) -> Raw {
    Raw {
        start: super::calendar::day_start(tz, day),
        end: super::calendar::day_start(tz, day + 1),
        segments: Vec::new(),
    }
}

async fn build_site(
    s: &mut dyn BuildSession,
    site: i64,
    tz: TimeZone,
    built: Option<(String, i64)>,
    quarters: &[[i64; 3]],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let d = s.dialect();
    let name = tz.name();
    let close_after = CLOSE_AFTER.as_secs() as i64;
    let last_closed = local_day(tz.0, now.timestamp() - close_after) - 1;
    let built = match built {
        Some((built_tz, day)) if built_tz == name => Some(day),
        Some(_) => {
            tracing::info!(
                site,
                timezone = name,
                "site time zone changed; rebuilding its rollups"
            );
            s.atomically(&statements::reset(d, site)).await?;
            None
        }
        None => None,
    };
    let mut days = 0;
    let built = match built {
        Some(built) => {
            for day in dirty_days(tz.0, quarters)
                .into_iter()
                .filter(|d| *d <= built)
            {
                let mut batch = statements::day(d, site, day, &day_bounds(tz.0, day));
                batch.extend(statements::blocks(d, site, day, built));
                s.atomically(&batch).await?;
                days += 1;
            }
            built
        }
        None => {
            let first = s
                .fetch(&statements::first_event(d, site), &[Kind::Int])
                .await?;
            match first.first().map(|row| local_day(tz.0, row.int(0))) {
                Some(first_day) if first_day <= last_closed => first_day - 1,
                _ => {
                    s.atomically(&[statements::mark_built(d, site, name, last_closed)])
                        .await?;
                    return Ok(0);
                }
            }
        }
    };
    // Extend day by day, each in its own transaction so progress is kept and the writer is never
    // held up for long. Days without events get only their blocks, many per transaction.
    let mut day = built + 1;
    while day <= last_closed {
        let next = s
            .fetch(
                &statements::next_event(d, site, day_bounds(tz.0, day).start),
                &[Kind::Int],
            )
            .await?;
        let busy = next
            .first()
            .map_or(last_closed + 1, |row| local_day(tz.0, row.int(0)))
            .clamp(day, last_closed + 1);
        let mut batch = Vec::new();
        for empty in day..busy {
            batch.extend(statements::blocks(d, site, empty, empty));
        }
        if busy == day {
            batch.extend(statements::day(d, site, day, &day_bounds(tz.0, day)));
            batch.extend(statements::blocks(d, site, day, day));
            days += 1;
        }
        let through = busy.max(day + 1) - 1;
        batch.push(statements::mark_built(d, site, name, through));
        s.atomically(&batch).await?;
        day = through + 1;
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_event_dirties_its_day_and_its_visits_start_day() {
        let tz = chrono_tz::Europe::Berlin;
        // 2026-06-30 23:30 UTC (July 1st in Berlin), in a visit seen first at 21:50 UTC.
        let event = 1_782_862_200 / 900;
        let start = (1_782_862_200 - 100 * 60) / 900;
        let days = dirty_days(tz, &[[event, start, start]]);
        let july_1 = local_day(tz, 1_782_862_200);
        assert_eq!(
            days.into_iter().collect::<Vec<_>>(),
            vec![july_1 - 1, july_1]
        );
    }
}
