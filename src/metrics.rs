//! Pipeline metrics in Prometheus text format. Plain atomics owned by the app (not a global
//! registry), so each server in a test process counts only its own events.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why an event was turned away. The label values are part of the metrics contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    InvalidJson,
    InvalidField,
    UnknownSite,
    HostMismatch,
    TooLarge,
    UnsupportedMediaType,
    QueueFull,
    ShuttingDown,
}

impl Rejection {
    const ALL: [Rejection; 8] = [
        Self::InvalidJson,
        Self::InvalidField,
        Self::UnknownSite,
        Self::HostMismatch,
        Self::TooLarge,
        Self::UnsupportedMediaType,
        Self::QueueFull,
        Self::ShuttingDown,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidField => "invalid_field",
            Self::UnknownSite => "unknown_site",
            Self::HostMismatch => "host_mismatch",
            Self::TooLarge => "too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::QueueFull => "queue_full",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// Why the user-agent classifier (`ingest::enrich::useragent`) took a user agent for a bot. The
/// label values are part of the metrics contract (`footfall_bots_filtered_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotReason {
    /// No user agent at all.
    Empty,
    /// One of footfall's own tokens (`BOT_TOKENS`, the word "bot", …).
    Token,
    /// The public pattern list (`bot-patterns/`, from isbot).
    Pattern,
    /// Nothing in it a browser sends (no engine token, an unfamiliar prefix).
    NotABrowser,
}

impl BotReason {
    pub const ALL: [BotReason; 4] = [
        BotReason::Empty,
        BotReason::Token,
        BotReason::Pattern,
        BotReason::NotABrowser,
    ];

    pub fn label(self) -> &'static str {
        match self {
            BotReason::Empty => "empty",
            BotReason::Token => "token",
            BotReason::Pattern => "pattern",
            BotReason::NotABrowser => "not_a_browser",
        }
    }
}

/// A cumulative histogram with fixed bucket bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    /// Sum in millionths, so it fits an integer atomic.
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| value <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        // Saturating float→int cast; negative values never happen here.
        self.sum_micros.fetch_add((value * 1e6) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

#[derive(Debug)]
pub struct Metrics {
    pub accepted: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
    pub bots: AtomicU64,
    bots_by_reason: [AtomicU64; BotReason::ALL.len()],
    pub stored: AtomicU64,
    pub batches: AtomicU64,
    pub write_errors: AtomicU64,
    pub dropped: AtomicU64,
    /// Engagement updates applied to their pageview, and those whose pageview was not found.
    pub engagement_updates: AtomicU64,
    pub engagement_unmatched: AtomicU64,
    pub batch_size: Histogram,
    pub flush_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            accepted: AtomicU64::new(0),
            rejected: Default::default(),
            bots: AtomicU64::new(0),
            bots_by_reason: Default::default(),
            stored: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            engagement_updates: AtomicU64::new(0),
            engagement_unmatched: AtomicU64::new(0),
            batch_size: Histogram::new(&[
                1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
            ]),
            flush_seconds: Histogram::new(&[
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        }
    }
}

/// A counter family with a `reason` label.
fn by_reason<const N: usize>(out: &mut String, name: &str, help: &str, values: [(&str, u64); N]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (reason, value) in values {
        let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {value}");
    }
}

/// What the queue looks like when metrics are rendered.
#[derive(Debug, Clone, Copy)]
pub struct QueueGauge {
    pub depth: usize,
    pub capacity: usize,
}

impl Metrics {
    pub fn reject(&self, why: Rejection) {
        self.rejected[why as usize].fetch_add(1, Relaxed);
    }

    pub fn rejected(&self, why: Rejection) -> u64 {
        self.rejected[why as usize].load(Relaxed)
    }

    /// Counts an event answered 202 and dropped because it came from a bot.
    pub fn bot(&self, why: BotReason) {
        self.bots.fetch_add(1, Relaxed);
        self.bots_by_reason[why as usize].fetch_add(1, Relaxed);
    }

    pub fn render(&self, queue: QueueGauge) -> String {
        let mut out = String::with_capacity(4096);
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "footfall_events_accepted_total",
            "Events answered 202 and queued for writing.",
            self.accepted.load(Relaxed),
        );
        counter(
            "footfall_events_bots_total",
            "Events answered 202 but dropped because the client is a bot.",
            self.bots.load(Relaxed),
        );
        counter(
            "footfall_events_stored_total",
            "Events written to the database.",
            self.stored.load(Relaxed),
        );
        counter(
            "footfall_batches_written_total",
            "Batches committed to the database.",
            self.batches.load(Relaxed),
        );
        counter(
            "footfall_write_errors_total",
            "Failed batch writes (each is retried).",
            self.write_errors.load(Relaxed),
        );
        counter(
            "footfall_events_dropped_total",
            "Accepted events not stored: their site was deleted, or the database refused them (logged).",
            self.dropped.load(Relaxed),
        );
        counter(
            "footfall_engagement_updates_total",
            "Engagement updates (time on page, scroll depth) applied to their pageview.",
            self.engagement_updates.load(Relaxed),
        );
        counter(
            "footfall_engagement_unmatched_total",
            "Engagement updates dropped because their pageview was not found: no open visit of \
             the visitor, or no pageview of that path in it.",
            self.engagement_unmatched.load(Relaxed),
        );
        counter(
            "footfall_http_client_errors_total",
            "Connections the HTTP layer refused for what the client sent (malformed headers, \
             request lines); logged at most once a minute.",
            crate::telemetry::client_errors(),
        );
        by_reason(
            &mut out,
            "footfall_bots_filtered_total",
            "Bot events dropped, by why the user agent was taken for a bot.",
            BotReason::ALL
                .map(|why| (why.label(), self.bots_by_reason[why as usize].load(Relaxed))),
        );
        by_reason(
            &mut out,
            "footfall_events_rejected_total",
            "Events refused, by reason.",
            Rejection::ALL.map(|why| (why.label(), self.rejected(why))),
        );
        let _ = writeln!(
            out,
            "# HELP footfall_queue_depth Events waiting in the in-memory queue.\n# TYPE footfall_queue_depth gauge\nfootfall_queue_depth {}",
            queue.depth
        );
        let _ = writeln!(
            out,
            "# HELP footfall_queue_capacity Size of the in-memory queue.\n# TYPE footfall_queue_capacity gauge\nfootfall_queue_capacity {}",
            queue.capacity
        );
        self.batch_size
            .render(&mut out, "footfall_batch_size", "Events per written batch.");
        self.flush_seconds.render(
            &mut out,
            "footfall_flush_duration_seconds",
            "Time to write one batch, retries excluded.",
        );
        out
    }
}
