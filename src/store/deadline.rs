//! How long a request's questions may take (`--query-timeout-ms`). Every HTTP request runs inside
//! a budget (`within`, wrapped around each request in `startup`); the questions it asks of the
//! store — dashboard and share pages, exports, the stats API — then end with
//! `StoreError::TimedOut` once the request is older than the timeout, and the work stops where it
//! is: SQLite statements are interrupted (a progress handler), Postgres ones cancelled
//! (`statement_timeout`), the query engine's scans give up between days. A request also holds at
//! most `CONNECTIONS` of the questions' connections at once, so one page's twenty questions leave
//! the rest of the pool to everyone else. Outside a budget (the CLI, background tasks, tests that
//! call the store directly) nothing is bounded.

use super::StoreError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default of `--query-timeout-ms`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections of the questions' pool one request holds at most at once (of 4 on SQLite, 10 on
/// Postgres).
pub const CONNECTIONS: usize = 2;

/// One request's budget: when its questions must be answered by, and its share of connections.
#[derive(Clone)]
pub(crate) struct Budget {
    deadline: Instant,
    timeout: Duration,
    connections: Arc<Semaphore>,
}

tokio::task_local! {
    static BUDGET: Budget;
}

/// Runs `f` (a request) with `timeout` from now for its questions.
pub async fn within<F: Future>(timeout: Duration, f: F) -> F::Output {
    let budget = Budget {
        deadline: Instant::now() + timeout,
        timeout,
        connections: Arc::new(Semaphore::new(CONNECTIONS)),
    };
    BUDGET.scope(budget, f).await
}

/// The timeout of the budget `f` runs in, if any: for work that belongs to the request but runs
/// after it (the pages of a streamed export each get a budget of their own).
pub fn timeout() -> Option<Duration> {
    BUDGET.try_with(|b| b.timeout).ok()
}

/// When the current request's questions must be answered by.
pub(crate) fn current() -> Option<Budget> {
    BUDGET.try_with(Clone::clone).ok()
}

/// The current deadline, as the query engine's scans check it.
pub(crate) fn deadline() -> Deadline {
    Deadline(BUDGET.try_with(|b| b.deadline).ok())
}

/// Runs a question, ending it with `TimedOut` when the deadline passes while it waits (for a
/// connection, or for the engine's shared state); what it started stops on its own (see the
/// module doc).
pub(crate) async fn bounded<T>(
    f: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match current() {
        Some(budget) => tokio::time::timeout_at(budget.deadline.into(), f)
            .await
            .unwrap_or(Err(StoreError::TimedOut)),
        None => f.await,
    }
}

impl Budget {
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// One of the request's connections (waiting while its others are taken).
    pub async fn connection(&self) -> Result<OwnedSemaphorePermit, StoreError> {
        self.connections
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::TimedOut)
    }
}

/// A deadline, or none; cheap to check (a clock read).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Deadline(pub Option<Instant>);

impl Deadline {
    pub fn passed(self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_request_has_a_deadline() {
        assert!(current().is_none());
        assert!(!deadline().passed());
        let waited = within(Duration::from_millis(1), async {
            bounded(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await
        })
        .await;
        assert!(matches!(waited, Err(StoreError::TimedOut)));
        let quick = within(Duration::from_secs(60), async {
            assert_eq!(timeout(), Some(Duration::from_secs(60)));
            bounded(async { Ok(7) }).await
        })
        .await;
        assert!(matches!(quick, Ok(7)));
    }
}
