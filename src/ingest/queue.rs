//! The bounded in-memory queue between the listener and the writer. Pushing never waits: a
//! full queue is an immediate 503, so a slow database shows up as refusals, not as latency.
//! It carries events and engagement updates alike (`Hit`): an update takes a place in the line
//! like an event, and is refused like one when there is none.

use super::error::CollectError;
use crate::domain::Hit;
use tokio::sync::mpsc::{self, error::TrySendError};

#[derive(Debug, Clone)]
pub struct EventQueue {
    tx: mpsc::Sender<Hit>,
}

/// A queue of `capacity` events (and updates) and the receiving end the writer drains.
pub fn bounded(capacity: usize) -> (EventQueue, mpsc::Receiver<Hit>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (EventQueue { tx }, rx)
}

impl EventQueue {
    /// For the listener: queue or refuse at once.
    pub fn try_push(&self, hit: impl Into<Hit>) -> Result<(), CollectError> {
        self.tx.try_send(hit.into()).map_err(|e| match e {
            TrySendError::Full(_) => CollectError::QueueFull,
            TrySendError::Closed(_) => CollectError::ShuttingDown,
        })
    }

    /// For bulk producers (seed, import): wait for room instead of refusing.
    pub async fn push(&self, hit: impl Into<Hit>) -> Result<(), CollectError> {
        self.tx
            .send(hit.into())
            .await
            .map_err(|_| CollectError::ShuttingDown)
    }

    /// For bulk producers on a blocking thread (import, which reads files): wait for room.
    /// Must not be called from async code, where it would stall the runtime's worker.
    pub fn blocking_push(&self, hit: impl Into<Hit>) -> Result<(), CollectError> {
        self.tx
            .blocking_send(hit.into())
            .map_err(|_| CollectError::ShuttingDown)
    }

    /// True when a push would be refused right now.
    pub fn is_full(&self) -> bool {
        self.tx.capacity() == 0
    }

    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    pub fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }
}
