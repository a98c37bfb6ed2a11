//! Writer: drains the queue into batches and commits each batch in one transaction. A batch is
//! written when it holds `batch_size` events or `flush_interval` after its first event arrived,
//! whichever comes first. A transient failure (database unreachable, busy) is retried with
//! backoff while the events stay in memory (the queue fills meanwhile and the listener answers
//! 503). A batch the database refuses outright most often holds events of a site deleted since
//! they were accepted: those are dropped in bulk (counted) and the rest is written at once; what
//! it still refuses is written event by event, so one bad event is dropped (logged and counted)
//! instead of blocking every event behind it.
//!
//! Engagement updates (`Hit::Engagement`) travel in the same batches, in queue order, and are
//! applied after the batch's inserts in its transaction, so a pageview in the same batch is
//! found; one whose pageview is not found is dropped and counted as unmatched.
//!
//! On shutdown the queue is closed and drained. The writer keeps trying an unreachable database
//! until the shutdown deadline; whatever it could not store by then goes to a spool file
//! (`spool`) before `run` returns, and the next start replays the spool before anything else.

use super::logic::{SESSION_TIMEOUT, Sessionizer};
use super::sites::SiteCache;
use super::spool;
use crate::domain::{Batch, Hit, ReplayMark, SiteId};
use crate::metrics::Metrics;
use crate::store::{BatchOutcome, IngestStore, StoreError};
use chrono::Utc;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    pub batch_size: usize,
    pub flush_interval: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            batch_size: 5000,
            flush_interval: Duration::from_millis(500),
        }
    }
}

const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What the writer did, reported when it stops. Every event it was handed is in exactly one of
/// `stored`, `dropped`, `spooled` and `lost`; every engagement update in one of `updated`,
/// `unmatched`, `dropped`, `spooled` and `lost`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterReport {
    /// Committed to the database (spooled events replayed at start included).
    pub stored: u64,
    /// Engagement updates applied to their pageview.
    pub updated: u64,
    /// Engagement updates whose pageview was not found (no open visit, no such pageview).
    pub unmatched: u64,
    /// Refused for good: their site was deleted, or the database refused the event.
    pub dropped: u64,
    /// Written to a spool file at shutdown, for the next start.
    pub spooled: u64,
    /// Neither stored nor spooled: the spool file could not be written (logged).
    pub lost: u64,
    pub batches: u64,
}

/// The moment the writer stops trying the database, once a shutdown has begun (`None` before).
pub type Deadline = watch::Receiver<Option<tokio::time::Instant>>;

pub struct Writer {
    store: Arc<dyn IngestStore>,
    metrics: Arc<Metrics>,
    config: WriterConfig,
    sessions: Sessionizer,
    sites: Option<Arc<SiteCache>>,
    spool_dir: Option<PathBuf>,
    deadline: Deadline,
    report: WriterReport,
}

/// Why a batch was not committed.
enum Failure {
    /// The database refuses it and will keep refusing it.
    Refused(StoreError),
    /// The shutdown deadline passed while the database was unreachable.
    OutOfTime,
}

impl Writer {
    /// A writer that continues the visits still open in the database.
    pub async fn new(
        store: Arc<dyn IngestStore>,
        metrics: Arc<Metrics>,
        config: WriterConfig,
    ) -> Result<Self, StoreError> {
        let open = store.open_sessions(Utc::now() - SESSION_TIMEOUT).await?;
        let tag = store.writer_tag().await?;
        Ok(Self {
            store,
            metrics,
            config: WriterConfig {
                batch_size: config.batch_size.max(1),
                ..config
            },
            sessions: Sessionizer::new(SESSION_TIMEOUT, tag, open),
            sites: None,
            spool_dir: None,
            // No sender: the deadline never comes (seed, import: they wait for the database).
            deadline: watch::channel(None).1,
            report: WriterReport::default(),
        })
    }

    /// Drops events of sites `sites` no longer holds before writing them (the server's writer:
    /// a site deleted from the dashboard is forgotten there at once).
    pub fn with_sites(mut self, sites: Arc<SiteCache>) -> Self {
        self.sites = Some(sites);
        self
    }

    /// Replays the spool files in `dir` first, and spools there what is still unwritten when
    /// `deadline` passes.
    pub fn with_spool(mut self, dir: PathBuf, deadline: Deadline) -> Self {
        self.spool_dir = Some(dir);
        self.deadline = deadline;
        self
    }

    /// Runs until `shutdown` turns true (then drains what is queued) or every sender is gone.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Hit>,
        mut shutdown: watch::Receiver<bool>,
    ) -> WriterReport {
        if let Some(dir) = self.spool_dir.clone() {
            self.replay(&dir).await;
        }
        let mut closing = *shutdown.borrow();
        if closing {
            rx.close();
        }
        let size = self.config.batch_size;
        let mut buf: Vec<Hit> = Vec::with_capacity(size);
        // Events the database could not take before the deadline; from then on every batch
        // joins them without trying the database again.
        let mut unsaved: Vec<Hit> = Vec::new();
        loop {
            // Wait for the first event of the next batch.
            tokio::select! {
                n = rx.recv_many(&mut buf, size) => if n == 0 { break },
                _ = shutdown.changed(), if !closing => {
                    closing = true;
                    rx.close();
                    continue;
                }
            }
            let deadline = tokio::time::Instant::now() + self.config.flush_interval;
            while buf.len() < size {
                let room = size - buf.len();
                tokio::select! {
                    n = rx.recv_many(&mut buf, room) => if n == 0 { break },
                    () = tokio::time::sleep_until(deadline), if !closing => break,
                    _ = shutdown.changed(), if !closing => {
                        closing = true;
                        rx.close();
                    }
                }
            }
            let events = std::mem::replace(&mut buf, Vec::with_capacity(size));
            if unsaved.is_empty() {
                unsaved = self.write(events, None).await;
            } else {
                unsaved.extend(events);
            }
        }
        if !unsaved.is_empty() {
            self.spool(unsaved);
        }
        let r = self.report;
        tracing::info!(
            stored = r.stored,
            updated = r.updated,
            unmatched = r.unmatched,
            dropped = r.dropped,
            spooled = r.spooled,
            lost = r.lost,
            batches = r.batches,
            "writer stopped"
        );
        r
    }

    /// Writes what the database could not take in time to a new spool file.
    fn spool(&mut self, events: Vec<Hit>) {
        let n = events.len() as u64;
        let Some(dir) = self.spool_dir.as_deref() else {
            // Only a writer without a spool can get here (it has no deadline either).
            self.report.lost += n;
            tracing::error!(events = n, "no spool directory: unwritten events are lost");
            return;
        };
        match spool::write(dir, &events) {
            Ok(path) => {
                self.report.spooled += n;
                tracing::warn!(
                    events = n,
                    file = %path.display(),
                    "the database could not be reached before the shutdown deadline: \
                     queued events are in the spool file, and the next start stores them"
                );
            }
            Err(e) => {
                self.report.lost += n;
                tracing::error!(
                    error = %e,
                    events = n,
                    dir = %dir.display(),
                    "writing the spool file failed: the queued events are lost"
                );
            }
        }
    }

    /// Stores the events of every spool file in `dir`, part by part (a part is a batch, marked
    /// so that it is stored once however often this runs), then deletes the file.
    async fn replay(&mut self, dir: &Path) {
        let files = match spool::pending(dir) {
            Ok(files) => files,
            Err(e) => {
                tracing::error!(error = %e, dir = %dir.display(), "cannot list the spool directory");
                return;
            }
        };
        for path in files {
            let spooled = match spool::read(&path) {
                Ok(spooled) => spooled,
                Err(e) => {
                    tracing::error!(error = %e, file = %path.display(), "cannot read a spool file; leaving it");
                    continue;
                }
            };
            let whole = spooled.is_whole();
            if !whole {
                tracing::error!(
                    file = %path.display(),
                    recovered = spooled.hits.len(),
                    written = ?spooled.declared,
                    lost = ?spooled.lost(),
                    damaged_lines = ?spooled.damaged_lines,
                    "the spool file is damaged or cut short: storing the events that could be read"
                );
            }
            let done: HashSet<i64> = match self.store.replayed_parts(&spooled.id).await {
                Ok(parts) => parts.into_iter().collect(),
                Err(e) => {
                    tracing::error!(error = %e, file = %path.display(), "cannot check the spool file's replay; leaving it for the next start");
                    continue;
                }
            };
            let n = spooled.hits.len();
            let mut unsaved = Vec::new();
            for (part, chunk) in spooled.hits.chunks(self.config.batch_size).enumerate() {
                let part = part as i64;
                if done.contains(&part) {
                    continue;
                }
                let mark = ReplayMark {
                    spool: spooled.id.clone(),
                    part,
                };
                unsaved = self.write(chunk.to_vec(), Some(mark)).await;
                if !unsaved.is_empty() {
                    break;
                }
            }
            if !unsaved.is_empty() {
                // Shut down while replaying: the parts not stored stay in the file.
                tracing::warn!(file = %path.display(), "shutdown during the spool replay; the rest stays spooled");
                return;
            }
            match spool::finish(&path, whole) {
                Ok(()) => tracing::info!(file = %path.display(), events = n, "spool file replayed"),
                Err(e) => {
                    tracing::error!(error = %e, file = %path.display(), "spool file replayed, but it could not be removed (its parts are recorded, so it will not be stored twice)")
                }
            }
        }
    }

    /// Writes one batch's events and updates; returns those the database could not take before
    /// the shutdown deadline (empty when everything was stored or dropped).
    async fn write(&mut self, mut events: Vec<Hit>, replay: Option<ReplayMark>) -> Vec<Hit> {
        // A site deleted here is gone from the cache at once: drop its events before they
        // cost a refused transaction.
        if let Some(sites) = self.sites.clone() {
            let before = events.len();
            events.retain(|e| sites.contains(e.site_id()));
            self.dropped_for_deleted_sites(before - events.len());
        }
        if events.is_empty() && replay.is_none() {
            return Vec::new();
        }
        let mut batch = self.sessions.assign_hits(events);
        batch.replay = replay;
        let mut batch = Arc::new(batch);
        let e = match self.commit(&batch).await {
            Ok(()) => return Vec::new(),
            Err(Failure::OutOfTime) => return unwrap_hits(batch),
            Err(Failure::Refused(e)) => e,
        };
        // Refused: most often because a site was deleted (by another process, or between the
        // check above and the commit). Look again and write the rest as one batch.
        if let Some(alive) = self.alive_sites().await {
            let kept = batch.retain_sites(|site| alive.contains(&site));
            let gone = batch.len() + batch.engagements.len() - kept.len() - kept.engagements.len();
            if gone > 0 {
                self.dropped_for_deleted_sites(gone);
                batch = Arc::new(kept);
                match self.commit(&batch).await {
                    Ok(()) => return Vec::new(),
                    Err(Failure::OutOfTime) => return unwrap_hits(batch),
                    Err(Failure::Refused(_)) => {}
                }
            }
        }
        // Still refused: find the events it refuses instead of blocking the pipeline behind them.
        tracing::error!(
            error = %e,
            cause = ?std::error::Error::source(&e),
            events = batch.len(),
            "a batch failed permanently; writing its events one by one"
        );
        let mut unsaved = Vec::new();
        for single in batch.split().into_iter().map(Arc::new) {
            match self.commit(&single).await {
                Ok(()) => {}
                Err(Failure::OutOfTime) => unsaved.extend(unwrap_hits(single)),
                Err(Failure::Refused(e)) => {
                    self.metrics.dropped.fetch_add(1, Relaxed);
                    self.report.dropped += 1;
                    let (site, name) = match (single.events.first(), single.engagements.first()) {
                        (Some(e), _) => (e.site_id.0, e.name.as_str()),
                        (None, Some(u)) => (u.engagement.site_id.0, crate::domain::ENGAGEMENT),
                        (None, None) => (0, ""),
                    };
                    tracing::error!(
                        error = %e,
                        cause = ?std::error::Error::source(&e),
                        site,
                        name,
                        "the database refuses an event; dropping it"
                    );
                }
            }
        }
        if let Some(mark) = batch.replay.clone().filter(|_| unsaved.is_empty()) {
            // The part's events went one by one, unmarked: record the part on its own.
            let marker = Arc::new(Batch {
                replay: Some(mark),
                ..Batch::default()
            });
            if self.commit(&marker).await.is_err() {
                tracing::error!("recording a replayed spool part failed");
            }
        }
        unsaved
    }

    /// The sites that exist now (the cache takes the same list), or `None` if that cannot be
    /// read.
    async fn alive_sites(&self) -> Option<HashSet<SiteId>> {
        match self.store.list_sites().await {
            Ok(sites) => {
                let alive = sites.iter().map(|s| s.id).collect();
                if let Some(cache) = &self.sites {
                    cache.replace(sites);
                }
                Some(alive)
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the site list failed");
                None
            }
        }
    }

    fn dropped_for_deleted_sites(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.metrics.dropped.fetch_add(n as u64, Relaxed);
        self.report.dropped += n as u64;
        tracing::warn!(events = n, "dropping events of a deleted site");
    }

    /// Writes one batch, retrying with backoff for as long as the failure is transient (the
    /// events stay in memory meanwhile) and the shutdown deadline has not passed. An attempt
    /// under way is never cut short (it might be committing): the deadline is checked between
    /// attempts, and one attempt is bounded by the store's own timeouts.
    async fn commit(&mut self, batch: &Arc<Batch>) -> Result<(), Failure> {
        let mut delay = RETRY_FIRST;
        loop {
            if self.past_deadline() {
                return Err(Failure::OutOfTime);
            }
            let started = Instant::now();
            match self.store.write_batch(batch.clone()).await {
                Ok(outcome) => {
                    self.count_engagements(outcome);
                    let n = batch.len() as u64;
                    self.report.stored += n;
                    self.report.batches += 1;
                    self.metrics.stored.fetch_add(n, Relaxed);
                    self.metrics.batches.fetch_add(1, Relaxed);
                    self.metrics.batch_size.observe(n as f64);
                    self.metrics
                        .flush_seconds
                        .observe(started.elapsed().as_secs_f64());
                    return Ok(());
                }
                Err(e) => {
                    self.metrics.write_errors.fetch_add(1, Relaxed);
                    if !e.is_transient() {
                        return Err(Failure::Refused(e));
                    }
                    tracing::error!(
                        error = %e,
                        cause = ?std::error::Error::source(&e),
                        events = batch.len(),
                        retry_in_ms = delay.as_millis() as u64,
                        "writing a batch failed; keeping it and retrying"
                    );
                    self.pause(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        }
    }

    fn count_engagements(&mut self, outcome: BatchOutcome) {
        self.report.updated += outcome.engagements_applied;
        self.report.unmatched += outcome.engagements_unmatched;
        self.metrics
            .engagement_updates
            .fetch_add(outcome.engagements_applied, Relaxed);
        self.metrics
            .engagement_unmatched
            .fetch_add(outcome.engagements_unmatched, Relaxed);
    }

    fn past_deadline(&self) -> bool {
        self.deadline
            .borrow()
            .is_some_and(|d| tokio::time::Instant::now() >= d)
    }

    /// Sleeps `delay`, or until the shutdown deadline if that comes first (it may be set or
    /// moved while sleeping).
    async fn pause(&mut self, delay: Duration) {
        let until = tokio::time::Instant::now() + delay;
        loop {
            let wake = self
                .deadline
                .borrow_and_update()
                .map_or(until, |d| d.min(until));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => return,
                changed = self.deadline.changed() => if changed.is_err() {
                    // Nobody can set a deadline any more.
                    tokio::time::sleep_until(wake).await;
                    return;
                }
            }
        }
    }
}

/// The events and updates of a batch that was not written, in queue order.
fn unwrap_hits(batch: Arc<Batch>) -> Vec<Hit> {
    batch.hits()
}
