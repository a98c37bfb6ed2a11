//! Writer: drains the queue into batches and commits each batch in one transaction. A batch is
//! written when it holds `batch_size` events or `flush_interval` after its first event arrived,
//! whichever comes first. A transient failure (database unreachable, busy) is retried with
//! backoff while the events stay in memory (the queue fills meanwhile and the listener answers
//! 503); a batch the database refuses outright is written event by event, so one bad event is
//! dropped (logged and counted) instead of blocking every event behind it. On shutdown the queue is
//! closed and drained to the database before `run` returns.

use super::logic::{SESSION_TIMEOUT, Sessionizer};
use crate::domain::{Batch, Event};
use crate::metrics::Metrics;
use crate::store::{IngestStore, StoreError};
use chrono::Utc;
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

/// What the writer did, reported when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterReport {
    pub stored: u64,
    pub batches: u64,
}

pub struct Writer {
    store: Arc<dyn IngestStore>,
    metrics: Arc<Metrics>,
    config: WriterConfig,
    sessions: Sessionizer,
}

impl Writer {
    /// A writer that continues the visits still open in the database.
    pub async fn new(
        store: Arc<dyn IngestStore>,
        metrics: Arc<Metrics>,
        config: WriterConfig,
    ) -> Result<Self, StoreError> {
        let open = store.open_sessions(Utc::now() - SESSION_TIMEOUT).await?;
        Ok(Self {
            store,
            metrics,
            config: WriterConfig {
                batch_size: config.batch_size.max(1),
                ..config
            },
            sessions: Sessionizer::new(SESSION_TIMEOUT, open),
        })
    }

    /// Runs until `shutdown` turns true (then drains what is queued) or every sender is gone.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Event>,
        mut shutdown: watch::Receiver<bool>,
    ) -> WriterReport {
        let mut report = WriterReport::default();
        let mut closing = *shutdown.borrow();
        if closing {
            rx.close();
        }
        let size = self.config.batch_size;
        let mut buf: Vec<Event> = Vec::with_capacity(size);
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
            let n = events.len() as u64;
            self.write(events).await;
            report.stored += n;
            report.batches += 1;
        }
        tracing::info!(
            stored = report.stored,
            batches = report.batches,
            "writer stopped"
        );
        report
    }

    async fn write(&mut self, events: Vec<Event>) {
        let batch = Arc::new(self.sessions.assign(events));
        let Err(e) = self.commit(&batch).await else {
            return;
        };
        // The database refuses this batch and will keep refusing it: find the events it
        // refuses instead of blocking the pipeline behind them.
        tracing::error!(
            error = %e,
            cause = ?std::error::Error::source(&e),
            events = batch.len(),
            "a batch failed permanently; writing its events one by one"
        );
        for single in batch.split().into_iter().map(Arc::new) {
            if let Err(e) = self.commit(&single).await {
                self.metrics.dropped.fetch_add(1, Relaxed);
                tracing::error!(
                    error = %e,
                    cause = ?std::error::Error::source(&e),
                    site = single.events[0].site_id.0,
                    name = single.events[0].name.as_str(),
                    "the database refuses an event; dropping it"
                );
            }
        }
    }

    /// Writes one batch, retrying with backoff for as long as the failure is transient (the
    /// events stay in memory meanwhile). Returns the error of a permanent failure.
    async fn commit(&self, batch: &Arc<Batch>) -> Result<(), StoreError> {
        let mut delay = RETRY_FIRST;
        loop {
            let started = Instant::now();
            match self.store.write_batch(batch.clone()).await {
                Ok(()) => {
                    let n = batch.len() as u64;
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
                        return Err(e);
                    }
                    tracing::error!(
                        error = %e,
                        cause = ?std::error::Error::source(&e),
                        events = batch.len(),
                        retry_in_ms = delay.as_millis() as u64,
                        "writing a batch failed; keeping it and retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        }
    }
}
