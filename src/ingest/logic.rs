//! Logic: what counts. Bots are turned away in the parser (they never reach the queue); here
//! events are grouped into visits — a session is one visitor's events with gaps under
//! `timeout` — and each batch is turned into rows for the store.
//!
//! The sessionizer runs inside the writer task, so its state has a single owner and no lock, and
//! every producer that feeds the writer (listener, seed, import) gets sessions for free. It goes
//! by event time, not wall-clock time, so seeded or imported history is sessionized the same way.

use crate::domain::visits::{self, OpenVisit, Probe, SessionIds};
use crate::domain::{Batch, Engagement, EngagementUpdate, Event, Hit, VisitorId};
use crate::store::OpenSession;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;

pub const SESSION_TIMEOUT: TimeDelta = visits::TIMEOUT;

#[derive(Debug)]
pub struct Sessionizer {
    timeout: TimeDelta,
    open: HashMap<VisitorId, OpenVisit>,
    ids: SessionIds,
    newest: Option<DateTime<Utc>>,
    last_sweep: Option<DateTime<Utc>>,
}

impl Sessionizer {
    /// `tag` is the writer's (`IngestStore::writer_tag`), so that its session ids are its own.
    pub fn new(
        timeout: TimeDelta,
        tag: u64,
        resume: impl IntoIterator<Item = OpenSession>,
    ) -> Self {
        let open = resume
            .into_iter()
            .map(|s| {
                (
                    s.visitor_id,
                    OpenVisit {
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
            ids: SessionIds::new(tag),
            newest: None,
            last_sweep: None,
        }
    }

    /// Visits currently tracked (for tests and memory accounting).
    pub fn open_sessions(&self) -> usize {
        self.open.len()
    }

    /// Assigns each event its session (`domain::visits::assign`) and sums up what each session
    /// gained; every event also gets a fresh id, for a store that sessionizes the batch again.
    pub fn assign(&mut self, events: Vec<Event>) -> Batch {
        self.assign_with(events, Vec::new())
    }

    /// `assign` for what the queue carries: events, and engagement updates, which are given the
    /// visit a pageview in their place would join, if that visit is open — they never start,
    /// extend or count in one.
    pub fn assign_hits(&mut self, hits: Vec<Hit>) -> Batch {
        let mut events = Vec::with_capacity(hits.len());
        let mut updates = Vec::new();
        for hit in hits {
            match hit {
                Hit::Event(event) => events.push(event),
                Hit::Engagement(engagement) => updates.push((events.len(), engagement)),
            }
        }
        self.assign_with(events, updates)
    }

    fn assign_with(&mut self, events: Vec<Event>, updates: Vec<(usize, Engagement)>) -> Batch {
        let fresh = self.ids.reserve(&events);
        let probes: Vec<Probe> = updates
            .iter()
            .map(|(after, u)| Probe {
                after: *after,
                visitor: u.visitor_id,
                at: u.created_at,
            })
            .collect();
        let (session_ids, sessions, visits) =
            visits::assign_with(&mut self.open, &events, &fresh, self.timeout, &probes);
        let engagements = updates
            .into_iter()
            .zip(visits)
            .map(|((after, engagement), visit)| EngagementUpdate {
                engagement,
                after,
                visit,
            })
            .collect();
        if let Some(newest) = events.iter().map(|e| e.created_at).max() {
            self.newest = Some(self.newest.map_or(newest, |n| n.max(newest)));
        }
        self.sweep();
        Batch {
            events,
            session_ids,
            fresh,
            sessions,
            replay: None,
            engagements,
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
            revenue: None,
        }
    }

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap_or_default()
    }

    #[test]
    fn a_gap_of_thirty_minutes_starts_a_new_visit() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, 1, []);
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
        let mut s = Sessionizer::new(SESSION_TIMEOUT, 1, []);
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
        let mut after_restart = Sessionizer::new(SESSION_TIMEOUT, 2, [resumed]);
        let third = after_restart.assign(vec![event(1, t(10), "pageview", "/x")]);
        assert_eq!(third.session_ids[0], first.session_ids[0]);
    }

    #[test]
    fn an_update_says_whether_its_visit_was_open_before_and_whether_its_start_moves() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, 1, []);
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

    fn engagement(visitor: i64, at: DateTime<Utc>, path: &str) -> Hit {
        Hit::Engagement(Engagement {
            site_id: SiteId(1),
            created_at: at,
            visitor_id: VisitorId(visitor),
            path: PagePath::parse(path, None).unwrap_or_else(|e| panic!("{e}")),
            figures: crate::domain::Figures::from_stored(1000, 50)
                .unwrap_or_else(|e| panic!("{e}")),
        })
    }

    #[test]
    fn an_engagement_update_finds_the_open_visit_and_changes_nothing() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, 1, []);
        let batch = s.assign_hits(vec![
            // Before its pageview: the visitor has no visit yet.
            engagement(1, t(0), "/"),
            event(1, t(0), "pageview", "/").into(),
            engagement(1, t(20), "/"),
            // Another visitor has none.
            engagement(2, t(20), "/"),
        ]);
        let visit = batch.session_ids[0];
        let found: Vec<_> = batch.engagements.iter().map(|u| u.visit).collect();
        assert_eq!(found, [None, Some((visit, t(0))), None]);
        assert_eq!(
            batch
                .engagements
                .iter()
                .map(|u| u.after)
                .collect::<Vec<_>>(),
            [0, 1, 1]
        );
        assert_eq!(
            (batch.sessions[0].events, batch.sessions[0].ended_at),
            (1, t(0))
        );
        // The update at minute 20 did not extend the visit: an update at minute 40 is past it.
        let later = s.assign_hits(vec![engagement(1, t(29), "/"), engagement(1, t(31), "/")]);
        assert!(later.events.is_empty() && later.sessions.is_empty());
        let found: Vec<_> = later.engagements.iter().map(|u| u.visit).collect();
        assert_eq!(found, [Some((visit, t(0))), None]);
        // The queue's order comes back for the spool.
        assert_eq!(batch.hits().len(), 4);
        assert!(matches!(batch.hits()[1], Hit::Event(_)));
    }

    #[test]
    fn finished_visits_are_forgotten() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, 1, []);
        s.assign((0..100).map(|v| event(v, t(0), "pageview", "/")).collect());
        assert_eq!(s.open_sessions(), 100);
        s.assign(vec![event(1000, t(120), "pageview", "/")]);
        assert_eq!(s.open_sessions(), 1);
    }

    #[test]
    fn visits_starting_in_the_same_millisecond_get_distinct_ids() {
        let mut s = Sessionizer::new(SESSION_TIMEOUT, 1, []);
        let batch = s.assign(
            (0..10_000)
                .map(|v| event(v, t(0), "pageview", "/"))
                .collect(),
        );
        let ids: std::collections::HashSet<_> = batch.session_ids.iter().collect();
        assert_eq!(ids.len(), 10_000);
    }
}
