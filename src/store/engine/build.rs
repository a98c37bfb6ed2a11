//! The builder: keeps the `segments` table complete for every closed day (one that has been over
//! for `CLOSE_AFTER`) and exact when late events arrive. It runs in the background, off the
//! request path, one day per transaction; collectors load what it writes (`Engine::refresh`).
//!
//! Late events (imports, a visit going on past midnight, clients that send late) are found
//! through a watermark on event ids: every run looks at the events stored since the last one and
//! rebuilds the closed days they touch — the event's day and its visit's start day.
//!
//! Concurrency: a run holds its job (`Job::Segments`, `store::once`: an advisory lock on
//! Postgres, a lease on SQLite), so one runs at a time however many processes share the
//! database; on Postgres the watermark only moves past ids once every transaction that might
//! still commit a lower id has ended. SQLite's ids are assigned in commit order by its single
//! writer.
//!
//! Retention (`sql::retention`) deletes the raw rows of days whose segments are built, and takes
//! the same job while it does; days before a site's `kept_day` are never rebuilt.

use super::codec;
use super::load;
use super::segment::Segment;
use crate::domain::TimeZone;
use crate::stats::calendar::{day_start, local_day};
use crate::store::StoreError;
use crate::store::sql::exec::Exec;
use crate::store::sql::segments::Mark;
use crate::store::sql::{Dialect, Kind, Row, Sql, segments as statements};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long after its local midnight a day counts as closed and is built. Visits still going on
/// and late batches would otherwise rebuild it right away; until then it is an open day.
pub const CLOSE_AFTER: Duration = Duration::from_secs(10 * 60);

/// A visit longer than this is not believed when working out which days an event touched.
const MAX_VISIT_DAYS: i64 = 31;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// False when another collector was building and this run left it to them.
    pub ran: bool,
    /// Site-days (re)built.
    pub days: u64,
}

/// The connection the builder writes on (holding the lock, where there is one).
#[async_trait]
pub(crate) trait BuildSession: Send {
    fn dialect(&self) -> Dialect;
    async fn fetch(&mut self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError>;
    /// Runs the statements in one transaction.
    async fn atomically(&mut self, statements: &[Sql]) -> Result<(), StoreError>;
}

/// Where the watermarks stand (on events, and on the engagement log) and where they move after
/// this run.
struct Progress {
    /// Events with ids above this and up to `upper` are new; `None` on the very first run.
    after: Option<i64>,
    upper: i64,
    /// The same for the engagement log.
    log_after: Option<i64>,
    log_upper: i64,
    save: Sql,
    /// Log rows up to this id have been read by a finished run: they may be pruned.
    log_read: i64,
}

async fn progress(s: &mut dyn BuildSession, db: &dyn Exec) -> Result<Progress, StoreError> {
    let d = s.dialect();
    let rows = s.fetch(&statements::progress(d), &[Kind::Int; 6]).await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("segment progress query returned no row".into()))?;
    let mark = |at: usize| -> Result<Option<Mark>, StoreError> {
        let (scanned, pending, xmax) = (row.int(at)?, row.int(at + 1)?, row.int(at + 2)?);
        Ok((scanned >= 0).then_some((scanned, (pending >= 0).then_some((pending, xmax)))))
    };
    let (events, log) = (mark(0)?, mark(3)?);
    let now = load::snapshot(db).await?;
    let log_mark = load::next_mark(d, log, now.log_upper, &now);
    Ok(Progress {
        after: events.map(|m| m.0),
        upper: now.upper,
        log_after: log.map(|m| m.0),
        log_upper: now.log_upper,
        save: statements::save_progress(d, load::next_mark(d, events, now.upper, &now), log_mark),
        log_read: log.map_or(-1, |m| m.0),
    })
}

/// Builds what is due as of `now`: rebuilds closed days that changed, then extends every site's
/// segments to its last closed day. The caller holds the lock.
pub(crate) async fn build(
    s: &mut dyn BuildSession,
    db: &dyn Exec,
    now: DateTime<Utc>,
) -> Result<BuildReport, StoreError> {
    let d = s.dialect();
    let progress = progress(s, db).await?;
    let mut touched: BTreeMap<i64, Vec<[i64; 3]>> = BTreeMap::new();
    // Late events, and pageviews whose engagement figures were raised.
    if let Some(after) = progress.after.filter(|a| *a < progress.upper) {
        let sql = statements::changes(d, after, progress.upper);
        touch(s, &sql, &mut touched).await?;
    }
    if let Some(after) = progress.log_after.filter(|a| *a < progress.log_upper) {
        let sql = statements::engagement_changes(d, after, progress.log_upper);
        touch(s, &sql, &mut touched).await?;
    }
    // Segments of an older encoding: those sites start over.
    for row in s
        .fetch(
            &statements::outdated(d, i64::from(codec::VERSION)),
            &[Kind::Int],
        )
        .await?
    {
        let site = row.int(0)?;
        tracing::info!(site, "segments of an older format; rebuilding them");
        s.atomically(&statements::reset(d, site)).await?;
    }
    let sites = s
        .fetch(&statements::sites(d), &statements::SITE_KINDS)
        .await?;
    let mut report = BuildReport { ran: true, days: 0 };
    for row in sites {
        let site = row.int(0)?;
        let tz_name = row.string(1)?;
        let Ok(tz) = TimeZone::parse(&tz_name) else {
            tracing::warn!(site, timezone = %tz_name, "site has an unknown time zone; not built");
            continue;
        };
        let built = match row.text(2)? {
            Some(built_tz) => Some((built_tz, row.int(3)?)),
            None => None,
        };
        let quarters = touched.remove(&site).unwrap_or_default();
        let target = Target {
            site,
            tz,
            built,
            kept_day: row.opt_int(4)?,
        };
        report.days += build_site(s, db, target, &quarters, now).await?;
    }
    s.atomically(&[
        progress.save,
        statements::prune_engagements(d, progress.log_read, now.timestamp()),
    ])
    .await?;
    Ok(report)
}

/// Adds the quarter hours of `changes` (site, then `[event, visit start, visit first seen]`) to
/// `touched`, by site.
async fn touch(
    s: &mut dyn BuildSession,
    changes: &Sql,
    touched: &mut BTreeMap<i64, Vec<[i64; 3]>>,
) -> Result<(), StoreError> {
    for row in s.fetch(changes, &[Kind::Int; 4]).await? {
        touched
            .entry(row.int(0)?)
            .or_default()
            .push([row.int(1)?, row.int(2)?, row.int(3)?]);
    }
    Ok(())
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

/// Builds one day's segment from the database and the statements that store it (or remove a
/// stored one, when the day has no events).
async fn day_statements(
    db: &dyn Exec,
    site: i64,
    tz: chrono_tz::Tz,
    day: i64,
) -> Result<Vec<Sql>, StoreError> {
    let (start, end) = (day_start(tz, day), day_start(tz, day + 1));
    let rows = load::day(db, site, start, end).await?;
    // Building and encoding a day is CPU work (about a second for 330k events): on the engine's
    // threads, not the async workers that also serve the collector.
    let (segment, bytes) = super::blocking(move || {
        let segment = Segment::build(&rows, day, start, end);
        let bytes = segment
            .as_ref()
            .ok()
            .and_then(|s| s.as_ref().map(codec::encode));
        (segment, bytes)
    })
    .await?;
    let segment = segment.map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let events = segment.as_ref().map_or(0, |s| s.events.len as i64);
    Ok(statements::store_segment(
        db.dialect(),
        site,
        day,
        bytes
            .as_deref()
            .map(|b| (i64::from(codec::VERSION), events, b)),
    ))
}

/// A site as the builder finds it.
struct Target {
    site: i64,
    tz: TimeZone,
    /// The time zone its segments were built in and the day they are built through.
    built: Option<(String, i64)>,
    /// The first day whose raw rows retention kept (`None`: all).
    kept_day: Option<i64>,
}

async fn build_site(
    s: &mut dyn BuildSession,
    db: &dyn Exec,
    target: Target,
    quarters: &[[i64; 3]],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let Target {
        site,
        tz,
        built,
        kept_day,
    } = target;
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
                "site time zone changed; rebuilding its segments"
            );
            s.atomically(&statements::reset(d, site)).await?;
            None
        }
        None => None,
    };
    let mut days = 0;
    let built = match built {
        Some(built) => {
            // Days before `kept_day` lost their raw rows to retention: a late event there must
            // not rebuild a day from that one event (retention deletes it soon).
            for day in dirty_days(tz.0, quarters)
                .into_iter()
                .filter(|d| *d <= built && kept_day.is_none_or(|k| *d >= k))
            {
                s.atomically(&day_statements(db, site, tz.0, day).await?)
                    .await?;
                days += 1;
            }
            built
        }
        None => {
            let first = s
                .fetch(&statements::next_event(d, site, 0), &[Kind::Int])
                .await?;
            match first.first().map(|row| row.int(0)).transpose()? {
                Some(t) if local_day(tz.0, t) <= last_closed => local_day(tz.0, t) - 1,
                _ => {
                    s.atomically(&[statements::mark_built(d, site, name, last_closed)])
                        .await?;
                    return Ok(0);
                }
            }
        }
    };
    // Extend day by day, each in its own transaction so progress is kept and the writer is never
    // held up for long; runs of days without events are skipped in one step.
    let mut day = built + 1;
    while day <= last_closed {
        let next = s
            .fetch(
                &statements::next_event(d, site, day_start(tz.0, day)),
                &[Kind::Int],
            )
            .await?;
        let busy = match next.first() {
            Some(row) => local_day(tz.0, row.int(0)?),
            None => last_closed + 1,
        }
        .clamp(day, last_closed + 1);
        let mut batch = Vec::new();
        if busy == day {
            batch.extend(day_statements(db, site, tz.0, day).await?);
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
