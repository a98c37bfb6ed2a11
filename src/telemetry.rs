//! Logging setup: `tracing` to stderr, level from `RUST_LOG` (default `info`).
//!
//! The HTTP layer (actix-http) logs an ERROR line for every connection a client botches — a
//! header with control characters, a malformed request line, a reset — which a client can
//! repeat at will to flood the log. Those lines are counted (`client_errors`, in `/metrics` as
//! `footfall_http_client_errors_total`) and at most one a minute is shown.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// Where actix-http logs the connections it could not make sense of.
const HTTP_DISPATCHER: &str = "actix_http::h1::dispatcher";
const SHOW_EVERY_SECS: u64 = 60;

static CLIENT_ERRORS: AtomicU64 = AtomicU64::new(0);
static LAST_SHOWN: AtomicU64 = AtomicU64::new(0);

/// Connections the HTTP layer refused or dropped because of what the client sent.
pub fn client_errors() -> u64 {
    CLIENT_ERRORS.load(Relaxed)
}

/// Counts a dispatcher line and says whether to show it: the first, then one a minute.
fn show_client_error() -> bool {
    CLIENT_ERRORS.fetch_add(1, Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_SHOWN.load(Relaxed);
    (last == 0 || now >= last + SHOW_EVERY_SECS)
        && LAST_SHOWN
            .compare_exchange(last, now.max(1), Relaxed, Relaxed)
            .is_ok()
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn"));
    let output = fmt::layer()
        .with_writer(std::io::stderr)
        // Colours only on a terminal: log files and journald get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // Dynamic: asked for every event, not once per call site.
        .with_filter(dynamic_filter_fn(|meta, _| {
            meta.target() != HTTP_DISPATCHER || show_client_error()
        }));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .try_init();
}
