//! The query engine: columnar day segments of each site's events and visits, which answer the
//! dashboard's and the API's questions in memory instead of scanning raw rows with SQL. See
//! `docs/query-engine.md` for why it looks the way it does.
//!
//! - Closed days (`build`): the builder writes one segment per site and day to the `segments`
//!   table, off the request path; every collector loads them (`Engine::refresh`), so a restart
//!   costs a read of the table, not a rebuild.
//! - Open days (today, and yesterday for `CLOSE_AFTER` after midnight): the engine reads the
//!   events stored since it last looked, with their visits (`open`), and rebuilds those days'
//!   segments in memory when a question needs them — at most twice a second.
//! - A question the engine cannot answer exactly (another time zone than the site's, days the
//!   builder has not reached, hours that do not line up with the site's days) gets `None`, and
//!   the store answers it from raw rows (`store::sql`), the reference the engine is tested
//!   against.
//! - Every question runs under its request's deadline (`store::deadline`): scans look at the clock
//!   between days and give up with `TimedOut`, and what the engine shares between questions stays
//!   whole when one of them is dropped half way.

pub(crate) mod build;
pub(crate) mod codec;
pub(crate) mod column;
mod engagement;
pub(crate) mod filter;
mod funnel;
mod goals;
pub(crate) mod load;
mod open;
mod pool;
pub(crate) mod rows;
pub(crate) mod scan;
pub(crate) mod segment;

use crate::domain::{SiteId, TimeZone};
use crate::stats::calendar::{self, day_number, local_day};
use crate::stats::goal::Goal;
use crate::stats::{
    Aggregate, BreakdownRow, Dimension, EngagementSums, Interval, Metrics, Point, StatsQuery,
};
use crate::store::StoreError;
use crate::store::deadline::{self, Deadline};
use crate::store::sql::exec::Exec;
use crate::store::sql::segments as statements;
use filter::{Compiled, Matches, Pred, StepTest};
use scan::{Day, EngagedMemo, Memo, Question};
use segment::Segment;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use build::{BuildReport, CLOSE_AFTER};

/// Builds the segments of every closed day now and loads them. Call it after writing history in
/// bulk (`seed`, imports); `spawn` keeps them up to date in a running server.
pub async fn build_pending<S: crate::store::StatsStore + ?Sized>(
    store: &S,
) -> Result<BuildReport, StoreError> {
    store.build_segments(chrono::Utc::now()).await
}

/// Keeps the engine current until aborted: loads new segments and (while someone looks at them)
/// the open days every `refresh`, and runs the builder every `build`. Failures are logged and
/// tried again on the next tick.
pub fn spawn(
    store: crate::store::DynStore,
    refresh: Duration,
    build: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(refresh);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_build: Option<Instant> = None;
        loop {
            tick.tick().await;
            if last_build.is_none_or(|t| t.elapsed() >= build) {
                last_build = Some(Instant::now());
                let started = Instant::now();
                match store.build_segments(chrono::Utc::now()).await {
                    Ok(report) if report.days > 0 => tracing::info!(
                        days = report.days,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "segments built"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(
                        error = %e,
                        cause = ?std::error::Error::source(&e),
                        "building segments failed; trying again later"
                    ),
                }
            } else if let Err(e) = store.refresh_segments().await {
                tracing::warn!(
                    error = %e,
                    cause = ?std::error::Error::source(&e),
                    "loading segments failed; trying again later"
                );
            }
        }
    })
}

/// How old the open days may be when a question reads them: an accepted event shows within this
/// (plus the writer's flush interval).
const FRESH: Duration = Duration::from_millis(500);
/// How many days after its last built one a site's open part may hold; further behind, the builder
/// is catching up (after an import, say) and questions are answered from raw rows meanwhile.
const MAX_OPEN_DAYS: i64 = 3;
/// Filter sets whose matches a segment keeps (10–15 MB each over a year of 10M events): the
/// one of the filtered page being looked at, whose every widget (and the previous period's top
/// figures) asks with the same filters.
const MATCH_CACHE: usize = 1;
/// Segment rows loaded per statement (each is a few MB at 10M events a month).
const LOAD_BATCH: i64 = 2;

/// Goal tests whose spanning conversions a segment keeps (a few ids each): a page's Goals table
/// and goal filter ask for a handful.
const SPANS_CACHE: usize = 16;

/// A goal test and the ids of the visits of a segment that span days and converted on it.
type SpanConversions = (Vec<Pred>, Arc<Vec<i64>>);

/// A segment with what questions keep of it.
pub(crate) struct Stored {
    pub seg: Segment,
    memo: Memo,
    engaged: EngagedMemo,
    matches: Mutex<Vec<(Compiled, Arc<Matches>)>>,
    /// By goal test: its `filter::spanning_conversions` on this segment.
    spans: Mutex<Vec<SpanConversions>>,
}

impl Stored {
    fn new(seg: Segment) -> Arc<Self> {
        Arc::new(Self {
            seg,
            memo: Memo::default(),
            engaged: EngagedMemo::default(),
            matches: Mutex::new(Vec::new()),
            spans: Mutex::new(Vec::new()),
        })
    }

    /// The visits that span days and converted on this one on the goal test `preds`, worked out
    /// once per segment and test: a goal filter needs them for every question of its range, and
    /// finding them tests every event of the day.
    fn converted_spans(&self, preds: &[Pred]) -> Arc<Vec<i64>> {
        let compute = || Arc::new(filter::spanning_conversions(preds, &self.seg));
        let Ok(mut cache) = self.spans.lock() else {
            return compute();
        };
        if let Some((_, ids)) = cache.iter().find(|(p, _)| p.as_slice() == preds) {
            return ids.clone();
        }
        let ids = compute();
        if cache.len() >= SPANS_CACHE {
            cache.remove(0);
        }
        cache.push((preds.to_vec(), ids.clone()));
        ids
    }

    /// The matches of `filters`, computed once per segment and filter set (most recent kept).
    fn matches(&self, filters: &Compiled) -> Arc<Matches> {
        let Ok(mut cache) = self.matches.lock() else {
            return Arc::new(filters.matches(&self.seg));
        };
        if let Some(at) = cache.iter().position(|(f, _)| f == filters) {
            let hit = cache.remove(at);
            let m = hit.1.clone();
            cache.push(hit);
            return m;
        }
        let m = Arc::new(filters.matches(&self.seg));
        if !filters.is_empty() {
            if cache.len() >= MATCH_CACHE {
                cache.remove(0);
            }
            cache.push((filters.clone(), m.clone()));
        }
        m
    }
}

/// One site's segments.
struct SiteSegments {
    tz: TimeZone,
    /// The time zone the closed segments were built in, and the last day they cover.
    built: Option<(String, i64)>,
    closed: BTreeMap<i64, Arc<Stored>>,
}

#[derive(Default)]
struct State {
    /// Closed segments have been loaded at least once.
    ready: bool,
    /// The highest `segments` row id loaded.
    loaded_upto: i64,
    sites: HashMap<i64, SiteSegments>,
}

/// How many questions the engine answered, and how many it left to raw rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineCounts {
    pub answered: u64,
    pub left_to_raw: u64,
}

/// The engine of one store: segments in memory, shared by every request.
pub(crate) struct Engine {
    answered: std::sync::atomic::AtomicU64,
    left_to_raw: std::sync::atomic::AtomicU64,
    state: RwLock<State>,
    open: tokio::sync::Mutex<open::Open>,
    /// Held while segments are loaded: a question that comes before the first load waits for it
    /// (a second or two at 10M events) instead of scanning raw rows for many seconds.
    loading: tokio::sync::Mutex<()>,
    /// When a question last needed the open days (the background refresh reads them only while
    /// someone is looking).
    watched: Mutex<Option<Instant>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self {
            answered: Default::default(),
            left_to_raw: Default::default(),
            state: RwLock::new(State::default()),
            open: tokio::sync::Mutex::new(open::Open::default()),
            loading: tokio::sync::Mutex::new(()),
            watched: Mutex::new(None),
        }
    }
}

/// The days of one question, ready to scan, and its request's deadline.
struct View {
    days: Vec<(Arc<Stored>, bool)>,
    filters: Compiled,
    tz: chrono_tz::Tz,
    from: i64,
    to: i64,
    start: i64,
    deadline: Deadline,
}

impl View {
    /// `f`'s answer over the view's days; `TimedOut` once the deadline has passed, checked
    /// between days (matching the filters and scanning both go day by day).
    fn run<T>(&self, f: impl FnOnce(&Question) -> T) -> Result<T, StoreError> {
        let ranged;
        let filters = if self.filters.needs_spans() {
            ranged = self
                .filters
                .with_converted(self.days.iter().map(|(s, _)| s), |s, preds| {
                    s.converted_spans(preds)
                });
            &ranged
        } else {
            &self.filters
        };
        let mut matches: Vec<Arc<Matches>> = Vec::with_capacity(self.days.len());
        for (s, _) in &self.days {
            if self.deadline.passed() {
                return Err(StoreError::TimedOut);
            }
            matches.push(s.matches(filters));
        }
        let unfiltered = self.filters.is_empty();
        let q = Question {
            days: self
                .days
                .iter()
                .zip(&matches)
                .map(|((s, memo), m)| Day {
                    seg: &s.seg,
                    m,
                    memo: (unfiltered && *memo).then_some(&s.memo),
                    engaged: (unfiltered && *memo).then_some(&s.engaged),
                })
                .collect(),
            start: self.start,
            filters,
            deadline: self.deadline,
        };
        let answer = f(&q);
        if self.deadline.passed() {
            return Err(StoreError::TimedOut);
        }
        Ok(answer)
    }
}

/// Runs CPU-bound work on the engine's threads, off the async workers (the collector's requests
/// share them).
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    pool::run(f)
        .await
        .ok_or_else(|| StoreError::Corrupt("a query engine task failed".into()))
}

impl Engine {
    /// Loads what the builder wrote since the last call: site time zones and built days, new
    /// and rebuilt segments. Cheap when nothing changed.
    pub async fn refresh(&self, db: &dyn Exec) -> Result<(), StoreError> {
        let _loading = self.loading.lock().await;
        self.load(db).await
    }

    /// Loads the segments once if that has not been done yet (waiting for a load under way).
    async fn ensure_loaded(&self, db: &dyn Exec) -> Result<(), StoreError> {
        if self.read().ready {
            return Ok(());
        }
        let _loading = self.loading.lock().await;
        if self.read().ready {
            return Ok(());
        }
        self.load(db).await
    }

    async fn load(&self, db: &dyn Exec) -> Result<(), StoreError> {
        let d = db.dialect();
        let sites = db
            .fetch(&statements::sites(d), &statements::SITE_KINDS)
            .await?;
        let mut known = HashMap::new();
        for row in &sites {
            let tz = TimeZone::parse(&row.string(1)?).unwrap_or_default();
            let built = match row.text(2)? {
                Some(built_tz) => Some((built_tz, row.int(3)?)),
                None => None,
            };
            known.insert(row.int(0)?, (tz, built));
        }
        // Segments dropped for a time zone change come back with those built in the new zone:
        // the rows already loaded once are read again (rare: only a zone change or a reset).
        let mut cleared = false;
        {
            let mut state = self.write();
            state.sites.retain(|id, _| known.contains_key(id));
            for (id, (tz, built)) in &known {
                let site = state.sites.entry(*id).or_insert_with(|| SiteSegments {
                    tz: *tz,
                    built: None,
                    closed: BTreeMap::new(),
                });
                let same_zone = site.built.as_ref().map(|b| &b.0) == built.as_ref().map(|b| &b.0);
                if (!same_zone || site.tz != *tz) && !site.closed.is_empty() {
                    site.closed.clear();
                    cleared = true;
                }
                site.tz = *tz;
                site.built = built.clone();
            }
            if cleared {
                state.loaded_upto = 0;
            }
        }
        let mut after = self.read().loaded_upto;
        loop {
            let rows = db
                .fetch(
                    &statements::load_segments(d, after, LOAD_BATCH),
                    &statements::SEGMENT_KINDS,
                )
                .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.int(0)?;
            let mut loaded = Vec::new();
            for mut row in rows {
                let (site, day, version) = (row.int(1)?, row.int(2)?, row.int(3)?);
                if version != i64::from(codec::VERSION) {
                    continue;
                }
                match codec::decode(&row.take_bytes(4)?) {
                    Ok(seg) if seg.day == day => loaded.push((site, seg)),
                    Ok(_) | Err(_) => {
                        tracing::warn!(site, day, "a stored segment does not decode; skipped");
                    }
                }
            }
            let mut state = self.write();
            for (site, seg) in loaded {
                if let Some(s) = state.sites.get_mut(&site) {
                    s.closed.insert(seg.day, Stored::new(seg));
                }
            }
            state.loaded_upto = after;
        }
        self.write().ready = true;
        Ok(())
    }

    /// Reads the open days if a question wanted them lately (the background task's part).
    pub async fn refresh_open_if_watched(&self, db: &dyn Exec) -> Result<(), StoreError> {
        let watched = self
            .watched
            .lock()
            .ok()
            .and_then(|w| *w)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(300));
        if watched {
            self.fresh_open(db, FRESH).await?;
        }
        Ok(())
    }

    /// Brings the open days up to date unless they are younger than `max_age`.
    async fn fresh_open(&self, db: &dyn Exec, max_age: Duration) -> Result<(), StoreError> {
        let bounds = self.open_bounds();
        let mut open = self.open.lock().await;
        if open.age().is_some_and(|a| a < max_age) && open.covers(&bounds) {
            return Ok(());
        }
        open.refresh(db, &bounds).await
    }

    /// Per site: its time zone and the first instant of its open part.
    fn open_bounds(&self) -> HashMap<i64, (chrono_tz::Tz, i64)> {
        let state = self.read();
        state
            .sites
            .iter()
            .filter_map(|(id, s)| {
                let (built_tz, through) = s.built.as_ref()?;
                (built_tz == s.tz.name())
                    .then(|| (*id, (s.tz.0, calendar::day_start(s.tz.0, through + 1))))
            })
            .collect()
    }

    pub fn counts(&self) -> EngineCounts {
        use std::sync::atomic::Ordering::Relaxed;
        EngineCounts {
            answered: self.answered.load(Relaxed),
            left_to_raw: self.left_to_raw.load(Relaxed),
        }
    }

    /// The days of `q`, if the engine can answer it exactly (counted either way).
    async fn view(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        hourly: bool,
    ) -> Result<Option<View>, StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        let view = self.plan_view(db, q, hourly).await?;
        match &view {
            Some(_) => self.answered.fetch_add(1, Relaxed),
            None => self.left_to_raw.fetch_add(1, Relaxed),
        };
        Ok(view)
    }

    async fn plan_view(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        hourly: bool,
    ) -> Result<Option<View>, StoreError> {
        let (from, to) = (day_number(q.from), day_number(q.to));
        let site = q.site.0;
        let tz = q.timezone.0;
        self.ensure_loaded(db).await?;
        let (built_through, mut days) = {
            let state = self.read();
            let Some(s) = state.sites.get(&site).filter(|_| state.ready) else {
                return Ok(None);
            };
            let Some((built_tz, through)) = &s.built else {
                return Ok(None);
            };
            if built_tz != q.timezone.name() || s.tz != q.timezone {
                return Ok(None);
            }
            let last = to.min(*through);
            let days: Vec<(Arc<Stored>, bool)> = if from <= last {
                s.closed
                    .range(from..=last)
                    .map(|(_, st)| (st.clone(), true))
                    .collect()
            } else {
                Vec::new()
            };
            (*through, days)
        };
        if to > built_through && from <= to {
            let today = local_day(tz, chrono::Utc::now().timestamp());
            if today - built_through > MAX_OPEN_DAYS {
                return Ok(None);
            }
            if let Ok(mut w) = self.watched.lock() {
                *w = Some(Instant::now());
            }
            self.fresh_open(db, FRESH).await?;
            let mut open = self.open.lock().await;
            match open
                .segments(SiteId(site), from.max(built_through + 1), to)
                .await?
            {
                Some(segments) => days.extend(segments.into_iter().map(|s| (s, false))),
                None => return Ok(None),
            }
        }
        let start = calendar::day_start(tz, from);
        if hourly && days.iter().any(|(s, _)| (s.seg.start - start) % 3600 != 0) {
            return Ok(None);
        }
        Ok(Some(View {
            days,
            filters: Compiled::new(&q.filters),
            tz,
            from,
            to,
            start,
            deadline: deadline::deadline(),
        }))
    }

    pub async fn aggregate(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
    ) -> Result<Option<Aggregate>, StoreError> {
        if q.from > q.to {
            return Ok(Some(Aggregate::default()));
        }
        let Some(view) = self.view(db, q, false).await? else {
            return Ok(None);
        };
        blocking(move || view.run(scan::aggregate)).await?.map(Some)
    }

    pub async fn timeseries(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        interval: Interval,
        metrics: Metrics,
    ) -> Result<Option<Vec<Point>>, StoreError> {
        if q.from > q.to {
            return Ok(Some(Vec::new()));
        }
        let hourly = interval == Interval::Hour;
        let Some(view) = self.view(db, q, hourly).await? else {
            return Ok(None);
        };
        blocking(move || {
            let found = view.run(|q| scan::series(q, interval, metrics))?;
            let buckets = calendar::buckets(view.tz, view.from, view.to, hourly);
            let points = crate::stats::points(buckets, metrics, found, |point, t| {
                point.visitors = t.visitors;
                point.pageviews = t.pageviews;
                point.events = t.events;
                if metrics == Metrics::WithVisits {
                    point.visits = Some(t.visits);
                }
                Ok::<_, std::convert::Infallible>(())
            });
            Ok(points.ok())
        })
        .await?
    }

    pub async fn breakdown(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        dimension: &Dimension,
        limit: i64,
        offset: i64,
        metrics: Metrics,
    ) -> Result<Option<Vec<BreakdownRow>>, StoreError> {
        if q.from > q.to {
            return Ok(Some(Vec::new()));
        }
        let Some(view) = self.view(db, q, false).await? else {
            return Ok(None);
        };
        let dimension = dimension.clone();
        blocking(move || view.run(|q| scan::breakdown(q, &dimension, limit, offset, metrics)))
            .await?
            .map(Some)
    }

    /// Each goal's conversions under `q` — visitors, pageviews and events of its converting
    /// events — in one pass (`goals`).
    pub async fn goal_conversions(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        goals: &[Goal],
    ) -> Result<Option<Vec<Aggregate>>, StoreError> {
        if q.from > q.to {
            return Ok(Some(vec![Aggregate::default(); goals.len()]));
        }
        let Some(view) = self.view(db, q, false).await? else {
            return Ok(None);
        };
        let tests: Vec<StepTest> = goals.iter().map(|g| StepTest::new(&g.filters())).collect();
        let counts = blocking(move || view.run(|q| goals::conversions(q, &tests))).await??;
        Ok(Some(
            counts
                .into_iter()
                .map(|(visitors, pageviews, events)| {
                    Aggregate::new(visitors, pageviews, events, Default::default())
                })
                .collect(),
        ))
    }

    /// Visitors per step of the funnel of `steps` (`query`'s filters already as a funnel reads
    /// them, `stats::funnel::visits_of_view`).
    pub async fn funnel(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        steps: &[Goal],
    ) -> Result<Option<Vec<i64>>, StoreError> {
        if q.from > q.to {
            return Ok(Some(vec![0; steps.len()]));
        }
        let Some(view) = self.view(db, q, false).await? else {
            return Ok(None);
        };
        let tests: Vec<StepTest> = steps.iter().map(|g| StepTest::new(&g.filters())).collect();
        blocking(move || view.run(|q| funnel::funnel(q, &tests)))
            .await?
            .map(Some)
    }

    /// The engagement sums of `q`'s measured pageviews, in all or by `by` (`engagement`).
    pub async fn engagement(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        by: Option<&Dimension>,
    ) -> Result<Option<Vec<(Option<String>, EngagementSums)>>, StoreError> {
        if q.from > q.to {
            return Ok(Some(match by {
                None => vec![(None, EngagementSums::default())],
                Some(_) => Vec::new(),
            }));
        }
        let Some(view) = self.view(db, q, false).await? else {
            return Ok(None);
        };
        let by = by.cloned();
        blocking(move || view.run(|q| engagement::engagement(q, by.as_ref())))
            .await?
            .map(Some)
    }

    pub async fn prop_keys(
        &self,
        db: &dyn Exec,
        q: &StatsQuery,
        limit: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        if q.from > q.to {
            return Ok(Some(Vec::new()));
        }
        let Some(view) = self.view(db, q, false).await? else {
            return Ok(None);
        };
        blocking(move || view.run(|q| scan::prop_keys(q, limit)))
            .await?
            .map(Some)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::rows::{EventRow, Rows, SessionRow};
    use super::*;

    /// A view of `days` days of UTC, each with one visit of two pageviews.
    fn view(days: i64, deadline: Deadline) -> View {
        let mut rows = Rows::new();
        let (pageview, path) = (
            rows.symbols.intern(Some("pageview")),
            rows.symbols.intern(Some("/")),
        );
        for day in 0..days {
            let start = day * 86_400 + 3600;
            rows.sessions.insert(
                day,
                SessionRow {
                    id: day,
                    visitor_id: day,
                    started_at: start,
                    ended_at: start + 60,
                    pageviews: 2,
                    events: 2,
                    dims: [0; 17],
                },
            );
            for i in 0..2 {
                rows.events.push(EventRow {
                    id: day * 2 + i,
                    created_at: start + i * 60,
                    visitor_id: day,
                    session_id: day,
                    name: pageview,
                    path,
                    props: Box::default(),
                    engagement: Default::default(),
                });
            }
        }
        let days = (0..days)
            .filter_map(|day| Segment::build(&rows, day, day * 86_400, (day + 1) * 86_400).ok()?)
            .map(|seg| (Stored::new(seg), true))
            .collect();
        View {
            days,
            filters: Compiled::new(&[]),
            tz: chrono_tz::UTC,
            from: 0,
            to: 9,
            start: 0,
            deadline,
        }
    }

    #[test]
    fn a_scan_past_its_deadline_gives_up() {
        let answer = view(10, Deadline(None)).run(scan::aggregate);
        assert!(matches!(answer, Ok(a) if a.pageviews == 20 && a.visitors == 10));
        let late = Deadline(Some(Instant::now()));
        assert!(matches!(
            view(10, late).run(scan::aggregate),
            Err(StoreError::TimedOut)
        ));
        let later = Deadline(Some(Instant::now() + Duration::from_secs(3600)));
        assert!(
            view(10, later)
                .run(|q| scan::series(q, Interval::Day, Metrics::Counts))
                .is_ok()
        );
    }
}
