//! The open days: every site's events after its last built day, read from the events table as
//! they are stored (with their visits as they are now), and their segments, rebuilt in memory
//! when a question needs a day that changed. Reading by id after a watermark finds new events of
//! every collector writing to the database; on Postgres, where ids can commit out of order, the
//! ids after the watermark are read again until every transaction that could still commit a lower
//! one has ended (the same rule as the builder's), and events already held are skipped.
//!
//! A question that reads the open days may be dropped at any await (its request's deadline, or
//! the client going away), so what is held stays whole at every one: rows are shared with the
//! rebuild rather than lent to it, days are marked for rebuilding before their rows are read, and
//! a refresh left unfinished is done again by the next question.

use super::load::{self, NEW_EVENT_KINDS};
use super::rows::{Engagement, Rows};
use super::segment::Segment;
use super::{Stored, blocking};
use crate::domain::SiteId;
use crate::stats::calendar::{day_start, local_day};
use crate::store::StoreError;
use crate::store::sql::exec::Exec;
use crate::store::sql::segments::Mark;
use crate::store::sql::{Dialect, segments as statements};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events read per statement by id.
const PAGE: i64 = 5_000;
/// Segments per open day. A visitor's rows are all in one part, so the parts' distinct visitors
/// add up exactly, as days do; a trickle of new events rebuilds one part in `PARTS` (about 0.1 s
/// instead of 0.8 s for a day of 330k events).
const PARTS: u8 = 8;

/// The part of a visitor's rows.
fn part_of(visitor: i64) -> u8 {
    visitor.rem_euclid(i64::from(PARTS)) as u8
}

#[derive(Default)]
pub(super) struct Open {
    sites: HashMap<i64, OpenSite>,
    /// Events with ids up to `.0` are all held (or were before the days closed); Postgres: ids
    /// up to `.1.0` were read as of a snapshot whose xmax was `.1.1` (`load::next_mark`).
    scanned: Mark,
    /// The same for the engagement log: raised figures up to it are in the rows held.
    log_scanned: Mark,
    refreshed: Option<Instant>,
    /// A refresh began and did not finish (its question was dropped): the next one must not be
    /// skipped as fresh.
    unfinished: bool,
}

struct OpenSite {
    tz: chrono_tz::Tz,
    /// The first instant held.
    from: i64,
    /// Shared with a rebuild under way (copied on write, which happens only when that rebuild's
    /// question was dropped before it finished).
    rows: Arc<Rows>,
    /// Ids of the events held.
    ids: HashSet<i64>,
    /// By (day, part): each open day is cut into `PARTS` segments by visitor, so that a new event
    /// rebuilds the part of its visitor, not the whole day.
    segments: BTreeMap<(i64, u8), Arc<Stored>>,
    dirty: BTreeSet<(i64, u8)>,
    /// Read by time as well until the snapshot's xmin passes this xmax (Postgres), so that events
    /// committed after the first read but with lower ids than the watermark are not missed.
    by_time_until: Option<i64>,
}

impl OpenSite {
    fn new(tz: chrono_tz::Tz, from: i64, xmax: i64) -> Self {
        Self {
            tz,
            from,
            rows: Arc::new(Rows::new()),
            ids: HashSet::new(),
            segments: BTreeMap::new(),
            dirty: BTreeSet::new(),
            by_time_until: Some(xmax),
        }
    }

    /// Takes in one row of `statements::new_events` (event, then its visit).
    fn take(&mut self, row: &crate::store::sql::Row) -> Result<(), StoreError> {
        let rows = Arc::make_mut(&mut self.rows);
        let (_, event) = load::event(rows, row, 0)?;
        let visit = load::visit(rows, row, load::EVENTS)?;
        let held = event.created_at >= self.from;
        if let Some(v) = visit
            && (held || rows.sessions.contains_key(&v.id))
            && rows.sessions.get(&v.id) != Some(&v)
        {
            for t in [v.started_at.max(self.from), v.ended_at.max(self.from)] {
                self.dirty
                    .insert((local_day(self.tz, t), part_of(v.visitor_id)));
            }
            rows.sessions.insert(v.id, v);
        }
        if held && self.ids.insert(event.id) {
            let part = part_of(rows.visitor_of(&event));
            self.dirty
                .insert((local_day(self.tz, event.created_at), part));
            rows.events.push(event);
        }
        Ok(())
    }

    /// Takes in one row of `statements::new_engagements`: the figures its pageview has now,
    /// if that pageview is held (`at`: held events by id, made on first use).
    fn raise(
        &mut self,
        row: &crate::store::sql::Row,
        at: &mut Option<HashMap<i64, usize>>,
    ) -> Result<(), StoreError> {
        let id = row.int(2)?;
        if !self.ids.contains(&id) {
            return Ok(());
        }
        let engagement = Engagement::stored(row.opt_int(3)?, row.opt_int(4)?);
        let at = at.get_or_insert_with(|| {
            self.rows
                .events
                .iter()
                .enumerate()
                .map(|(i, e)| (e.id, i))
                .collect()
        });
        let Some(&i) = at.get(&id) else {
            return Ok(());
        };
        if self.rows.events[i].engagement == engagement {
            return Ok(());
        }
        let rows = Arc::make_mut(&mut self.rows);
        rows.events[i].engagement = engagement;
        let event = &rows.events[i];
        let key = (
            local_day(self.tz, event.created_at),
            part_of(rows.visitor_of(event)),
        );
        self.dirty.insert(key);
        Ok(())
    }

    /// Lets go of what is before `from` (days the builder has closed).
    fn advance(&mut self, from: i64) {
        if from <= self.from {
            return;
        }
        self.from = from;
        let first = local_day(self.tz, from);
        let rows = Arc::make_mut(&mut self.rows);
        rows.events.retain(|e| e.created_at >= from);
        self.ids = rows.events.iter().map(|e| e.id).collect();
        let visits: HashSet<i64> = rows.events.iter().map(|e| e.session_id).collect();
        rows.sessions.retain(|id, _| visits.contains(id));
        self.segments = self.segments.split_off(&(first, 0));
        self.dirty = self.dirty.split_off(&(first, 0));
    }
}

impl Open {
    /// Since the last refresh finished; `None` before one has, or after one was left unfinished.
    pub fn age(&self) -> Option<Duration> {
        self.refreshed
            .filter(|_| !self.unfinished)
            .map(|t| t.elapsed())
    }

    /// Whether the held sites are those of `bounds`, from the same instants.
    pub fn covers(&self, bounds: &HashMap<i64, (chrono_tz::Tz, i64)>) -> bool {
        bounds.len() == self.sites.len()
            && bounds.iter().all(|(id, (tz, from))| {
                self.sites
                    .get(id)
                    .is_some_and(|s| s.tz == *tz && s.from == *from)
            })
    }

    /// Reads what was stored since the last call, for the sites and first instants of `bounds`.
    pub async fn refresh(
        &mut self,
        db: &dyn Exec,
        bounds: &HashMap<i64, (chrono_tz::Tz, i64)>,
    ) -> Result<(), StoreError> {
        let d = db.dialect();
        self.unfinished = true;
        let snap = load::snapshot(db).await?;
        let first = self.refreshed.is_none();
        self.sites.retain(|id, _| bounds.contains_key(id));
        for (&id, &(tz, from)) in bounds {
            match self.sites.get_mut(&id) {
                Some(site) if site.tz == tz && site.from <= from => site.advance(from),
                _ => {
                    self.sites.insert(id, OpenSite::new(tz, from, snap.xmax));
                }
            }
        }
        // Sites read by time: new ones, and (Postgres) those whose first read may have missed
        // late commits.
        for (&id, site) in &mut self.sites {
            let Some(until) = site.by_time_until else {
                continue;
            };
            // Visit rows may have changed too: every held day is looked at again. Marked before
            // the read, which may stop half way (up to tomorrow: clocks run a little ahead).
            let first = local_day(site.tz, site.from);
            let today = local_day(site.tz, chrono::Utc::now().timestamp());
            for day in first..=today.max(first) + 1 {
                site.dirty.extend((0..PARTS).map(|part| (day, part)));
            }
            let rows = Arc::make_mut(&mut site.rows);
            let added = load::range_into(db, id, site.from, None, rows, &mut site.ids).await?;
            let last = local_day(site.tz, added.iter().copied().max().unwrap_or(site.from));
            for day in first..=last {
                site.dirty.extend((0..PARTS).map(|part| (day, part)));
            }
            if d == Dialect::Sqlite || snap.xmin >= until {
                site.by_time_until = None;
            }
        }
        if first {
            // Everything up to the snapshot was read by time, figures as they are (and is read
            // again by time where late commits may be missing).
            self.scanned = load::next_mark(d, None, snap.upper, &snap);
            self.log_scanned = load::next_mark(d, None, snap.log_upper, &snap);
        } else {
            let mut after = self.scanned.0;
            loop {
                let rows = db
                    .fetch(&statements::new_events(d, after, PAGE), &NEW_EVENT_KINDS)
                    .await?;
                for row in &rows {
                    if let Some(site) = self.sites.get_mut(&row.int(1)?) {
                        site.take(row)?;
                    }
                }
                match rows.last() {
                    Some(last) if rows.len() as i64 == PAGE => after = last.int(0)?,
                    _ => break,
                }
            }
            // After the events: a raised pageview not read yet comes with its figures anyway.
            let mut after = self.log_scanned.0;
            let mut positions: HashMap<i64, Option<HashMap<i64, usize>>> = HashMap::new();
            loop {
                let rows = db
                    .fetch(
                        &statements::new_engagements(d, after, PAGE),
                        &statements::ENGAGEMENT_KINDS,
                    )
                    .await?;
                for row in &rows {
                    let site = row.int(1)?;
                    if let Some(open) = self.sites.get_mut(&site) {
                        open.raise(row, positions.entry(site).or_default())?;
                    }
                }
                match rows.last() {
                    Some(last) if rows.len() as i64 == PAGE => after = last.int(0)?,
                    _ => break,
                }
            }
            self.scanned = load::next_mark(d, Some(self.scanned), snap.upper, &snap);
            self.log_scanned = load::next_mark(d, Some(self.log_scanned), snap.log_upper, &snap);
        }
        self.refreshed = Some(Instant::now());
        self.unfinished = false;
        Ok(())
    }

    /// The segments of a site's open days `from..=to` (rebuilding those that changed), or `None`
    /// when the site's open part is not held.
    pub async fn segments(
        &mut self,
        site: SiteId,
        from: i64,
        to: i64,
    ) -> Result<Option<Vec<Arc<Stored>>>, StoreError> {
        let Some(open) = self.sites.get_mut(&site.0) else {
            return Ok(None);
        };
        let first = local_day(open.tz, open.from);
        if from < first {
            return Ok(None);
        }
        if from > to {
            return Ok(Some(Vec::new()));
        }
        let range = (from, 0)..=(to, PARTS);
        let stale: Vec<(i64, u8)> = open.dirty.range(range.clone()).copied().collect();
        if !stale.is_empty() {
            // Built off the async workers, on the engine's threads, which share the rows.
            let rows = open.rows.clone();
            let tz = open.tz;
            let built = blocking(move || {
                // Each event's part, worked out once for all the parts rebuilt.
                let parts: Vec<u8> = rows
                    .events
                    .iter()
                    .map(|e| part_of(rows.visitor_of(e)))
                    .collect();
                stale
                    .iter()
                    .map(|&(day, part)| {
                        let (start, end) = (day_start(tz, day), day_start(tz, day + 1));
                        let seg = Segment::build_part(&rows, day, start, end, |i| parts[i] == part);
                        ((day, part), seg)
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
            for (key, seg) in built {
                open.dirty.remove(&key);
                match seg.map_err(|e| StoreError::Corrupt(e.to_string()))? {
                    Some(seg) => {
                        open.segments.insert(key, Stored::new(seg));
                    }
                    None => {
                        open.segments.remove(&key);
                    }
                }
            }
        }
        Ok(Some(
            open.segments.range(range).map(|(_, s)| s.clone()).collect(),
        ))
    }
}
