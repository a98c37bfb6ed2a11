//! Logic: what counts. Bots are turned away in the parser (they never reach the queue); here
//! events are grouped into visits — a session is one visitor's events with gaps under
//! `timeout` — and each batch is turned into rows for the store.
//!
//! The sessionizer runs inside the writer task, so its state has a single owner and no lock, and
//! every producer that feeds the writer (listener, seed, import) gets sessions for free. It goes
//! by event time, not wall-clock time, so seeded or imported history is sessionized the same way.

use crate::domain::{Batch, Event, SessionId, SessionUpdate, VisitorId};
use crate::store::OpenSession;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;

pub const SESSION_TIMEOUT: TimeDelta = TimeDelta::minutes(30);

/// Session ids start with the visit's start time in milliseconds since 2020 (41 bits, good until
/// 2089), followed by a 22-bit sequence number. Time-ordered ids make new sessions land at the
/// end of the sessions table's primary-key B-tree, so inserts stay cheap as the table grows. The
/// sequence is per writer and starts at a random point, so ids from one writer never collide
/// (up to 4 million visits starting in one millisecond) and ids from several collectors only
/// clash if two start visits in the same millisecond with equal sequence numbers.
pub fn new_session_id(started_at: DateTime<Utc>, sequence: u32) -> SessionId {
    const EPOCH_2020_MS: i64 = 1_577_836_800_000;
    const SEQUENCE_BITS: u32 = 22;
    let ms = (started_at.timestamp_millis() - EPOCH_2020_MS).clamp(0, (1 << 41) - 1);
    SessionId((ms << SEQUENCE_BITS) | i64::from(sequence & ((1 << SEQUENCE_BITS) - 1)))
}

#[derive(Debug, Clone, Copy)]
struct Open {
    id: SessionId,
    /// The earliest event of the visit seen so far (what the store holds as `started_at`).
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Sessionizer {
    timeout: TimeDelta,
    open: HashMap<VisitorId, Open>,
    newest: Option<DateTime<Utc>>,
    last_sweep: Option<DateTime<Utc>>,
    sequence: u32,
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
                        first_at: s.started_at,
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
            sequence: rand::random(),
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
        // For each session update: the visit's start as stored before this batch, if known.
        let mut starts: Vec<Option<DateTime<Utc>>> = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let at = event.created_at;
            // (id, the visit's start as stored before this batch, if it was open before it)
            let (id, known_start) = match self.open.get_mut(&event.visitor_id) {
                // Events may arrive slightly out of order: anything within the timeout on
                // either side of the last one belongs to the same visit.
                Some(open) if (at - open.last_at).abs() < self.timeout => {
                    let known = (!slot_of.contains_key(&open.id)).then_some(open.first_at);
                    open.last_at = open.last_at.max(at);
                    open.first_at = open.first_at.min(at);
                    (open.id, known)
                }
                _ => {
                    self.sequence = self.sequence.wrapping_add(1);
                    let id = new_session_id(at, self.sequence);
                    self.open.insert(
                        event.visitor_id,
                        Open {
                            id,
                            first_at: at,
                            last_at: at,
                        },
                    );
                    (id, None)
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
                    resumes: known_start.is_some(),
                    moves_start: false,
                });
                starts.push(known_start);
                sessions.len() - 1
            });
            let update = &mut sessions[slot];
            update.events += 1;
            if at < update.started_at {
                update.started_at = at;
                update.first_event = i;
            }
            if starts[slot].is_some_and(|known| update.started_at < known) {
                update.moves_start = true;
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
            replay: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Utm;
    use crate::domain::{EventName, PagePath, Props, SiteId};

    fn event(visitor: i64, at: DateTime<Utc>, name: &str, path: &str) -> Event {
        Event {
            site_id: SiteId(1),
            created_at: at,
            visitor_id: VisitorId(visitor),
            name: EventName::parse(name).unwrap_or_else(|e| panic!("{e}")),
            hostname: "example.com".into(),
            path: PagePath::parse(path, None).unwrap_or_else(|e| panic!("{e}")),
            referrer: None,
            referrer_source: None,
            utm: Utm::default(),
            browser: "Chrome",
            browser_version: "131".into(),
            os: "Linux",
            os_version: String::new(),
            device: "desktop",
            country: None,
            region: None,
            city: None,
            viewport_width: None,
            props: Props::default(),
        }
    }

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap_or_default()
    }

    #[test]
    fn a_gap_of_thirty_minutes_starts_a_new_visit() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, []);
        let batch = s.assign(vec![
            event(1, t(0), "pageview", "/a"),
            event(1, t(29), "pageview", "/b"),
            event(1, t(59), "pageview", "/c"),
            event(2, t(1), "pageview", "/x"),
        ]);
        assert_eq!(batch.session_ids[0], batch.session_ids[1]);
        assert_ne!(batch.session_ids[1], batch.session_ids[2]);
        assert_ne!(batch.session_ids[0], batch.session_ids[3]);
        assert_eq!(batch.sessions.len(), 3);
        let first = &batch.sessions[0];
        assert_eq!((first.pageviews, first.events), (2, 2));
        assert_eq!(first.exit_path.as_deref(), Some("/b"));
        assert_eq!(first.ended_at - first.started_at, TimeDelta::minutes(29));
    }

    #[test]
    fn visits_continue_across_batches_and_restarts() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, []);
        let first = s.assign(vec![event(1, t(0), "pageview", "/")]);
        let second = s.assign(vec![event(1, t(5), "Signup", "/")]);
        assert_eq!(first.session_ids[0], second.session_ids[0]);
        assert_eq!(second.sessions[0].pageviews, 0);
        assert_eq!(second.sessions[0].exit_path, None);

        let resumed = OpenSession {
            id: first.session_ids[0],
            visitor_id: VisitorId(1),
            started_at: t(0),
            ended_at: t(5),
        };
        let mut after_restart = Sessionizer::new(SESSION_TIMEOUT, [resumed]);
        let third = after_restart.assign(vec![event(1, t(10), "pageview", "/x")]);
        assert_eq!(third.session_ids[0], first.session_ids[0]);
    }

    #[test]
    fn an_update_says_whether_its_visit_was_open_before_and_whether_its_start_moves() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, []);
        let first = s.assign(vec![event(1, t(10), "pageview", "/")]);
        assert!(!first.sessions[0].resumes && !first.sessions[0].moves_start);
        // In order: the visit continues, its start stays.
        let second = s.assign(vec![
            event(1, t(12), "pageview", "/a"),
            event(2, t(12), "pageview", "/"),
        ]);
        assert!(second.sessions[0].resumes && !second.sessions[0].moves_start);
        assert!(!second.sessions[1].resumes);
        // A late event from before the visit's start moves it back.
        let third = s.assign(vec![
            event(1, t(14), "pageview", "/b"),
            event(1, t(8), "pageview", "/early"),
        ]);
        let update = &third.sessions[0];
        assert!(update.resumes && update.moves_start);
        assert_eq!(update.started_at, t(8));
        assert_eq!(third.session_ids[0], first.session_ids[0]);
    }

    #[test]
    fn finished_visits_are_forgotten() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, []);
        s.assign((0..100).map(|v| event(v, t(0), "pageview", "/")).collect());
        assert_eq!(s.open_sessions(), 100);
        s.assign(vec![event(1000, t(120), "pageview", "/")]);
        assert_eq!(s.open_sessions(), 1);
    }

    #[test]
    fn session_ids_are_ordered_by_start_time() {
        let a = new_session_id(t(0), u32::MAX);
        let b = new_session_id(t(1), 0);
        assert!(a.0 > 0 && b.0 > a.0);
    }

    #[test]
    fn visits_starting_in_the_same_millisecond_get_distinct_ids() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, []);
        let batch = s.assign(
            (0..10_000)
                .map(|v| event(v, t(0), "pageview", "/"))
                .collect(),
        );
        let ids: std::collections::HashSet<_> = batch.session_ids.iter().collect();
        assert_eq!(ids.len(), 10_000);
    }
}
