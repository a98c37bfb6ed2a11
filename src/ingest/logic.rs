//! Logic: what counts. Bots are turned away in the parser (they never reach the queue); here
//! events are grouped into visits — a session is one visitor's events with gaps under
//! `timeout` — and each batch is turned into rows for the store.
//!
//! The sessionizer runs inside the writer task, so its state has a single owner and no lock, and
//! every producer that feeds the writer (listener, seed, import) gets sessions for free. It goes
//! by event time, not wall-clock time, so seeded or imported history is sessionized the same way.

use super::event::{Batch, Event, SessionUpdate};
use crate::domain::{SessionId, VisitorId};
use crate::store::OpenSession;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;

pub const SESSION_TIMEOUT: TimeDelta = TimeDelta::minutes(30);

#[derive(Debug, Clone, Copy)]
struct Open {
    id: SessionId,
    last_at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Sessionizer {
    timeout: TimeDelta,
    open: HashMap<VisitorId, Open>,
    newest: Option<DateTime<Utc>>,
    last_sweep: Option<DateTime<Utc>>,
}

impl Sessionizer {
    pub fn new(timeout: TimeDelta, resume: impl IntoIterator<Item = OpenSession>) -> Self {
        let open = resume
            .into_iter()
            .map(|s| {
                (
                    s.visitor_id,
                    Open {
                        id: s.id,
                        last_at: s.ended_at,
                    },
                )
            })
            .collect();
        Self {
            timeout,
            open,
            newest: None,
            last_sweep: None,
        }
    }

    /// Visits currently tracked (for tests and memory accounting).
    pub fn open_sessions(&self) -> usize {
        self.open.len()
    }

    /// Assigns each event its session and sums up what each session gained.
    pub fn assign(&mut self, events: Vec<Event>) -> Batch {
        let mut session_ids = Vec::with_capacity(events.len());
        let mut sessions: Vec<SessionUpdate> = Vec::new();
        let mut slot_of: HashMap<SessionId, usize> = HashMap::new();
        for (i, event) in events.iter().enumerate() {
            let at = event.created_at;
            let id = match self.open.get_mut(&event.visitor_id) {
                // Events may arrive slightly out of order: anything within the timeout on
                // either side of the last one belongs to the same visit.
                Some(open) if (at - open.last_at).abs() < self.timeout => {
                    open.last_at = open.last_at.max(at);
                    open.id
                }
                _ => {
                    let id = SessionId(rand::random::<i64>() & i64::MAX);
                    self.open.insert(event.visitor_id, Open { id, last_at: at });
                    id
                }
            };
            session_ids.push(id);
            let is_pageview = event.name.is_pageview();
            let slot = *slot_of.entry(id).or_insert_with(|| {
                sessions.push(SessionUpdate {
                    id,
                    first_event: i,
                    started_at: at,
                    ended_at: at,
                    exit_path: None,
                    pageviews: 0,
                    events: 0,
                });
                sessions.len() - 1
            });
            let update = &mut sessions[slot];
            update.events += 1;
            if at < update.started_at {
                update.started_at = at;
                update.first_event = i;
            }
            update.ended_at = update.ended_at.max(at);
            if is_pageview {
                update.pageviews += 1;
                update.exit_path = Some(event.path.as_str().to_owned());
            }
            self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
        }
        self.sweep();
        Batch {
            events,
            session_ids,
            sessions,
        }
    }

    /// Forgets visits that ended more than a timeout before the newest event seen, at most once
    /// per timeout, so memory is bounded by the visitors of the last hour or so.
    fn sweep(&mut self) {
        let Some(newest) = self.newest else { return };
        if self
            .last_sweep
            .is_some_and(|last| newest - last < self.timeout)
        {
            return;
        }
        let cutoff = newest - self.timeout;
        self.open.retain(|_, open| open.last_at >= cutoff);
        self.last_sweep = Some(newest);
    }
}
