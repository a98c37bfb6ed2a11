//! The enriched event that travels from the parser through the queue to the writer, and the
//! batch the writer hands to the store.

use super::{EventName, PagePath, Props, Revenue, SessionId, SiteId, VisitorId};
use chrono::{DateTime, Utc};

/// UTM campaign parameters, taken from the page URL's query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub content: Option<String>,
    pub term: Option<String>,
}

/// A validated, enriched event. Nothing in it identifies a person: the IP and the full user agent
/// were used for the visitor hash and the device fields, then dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub site_id: SiteId,
    pub created_at: DateTime<Utc>,
    pub visitor_id: VisitorId,
    pub name: EventName,
    pub hostname: String,
    pub path: PagePath,
    pub referrer: Option<String>,
    pub referrer_source: Option<String>,
    pub utm: Utm,
    pub browser: &'static str,
    pub browser_version: String,
    pub os: &'static str,
    pub os_version: String,
    pub device: &'static str,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub viewport_width: Option<i32>,
    pub props: Props,
    /// What a custom event says it earned (`$` in the collection contract); never on a pageview.
    pub revenue: Option<Revenue>,
}

/// What one session gained in one batch. For a session the store has not seen yet, the entry
/// dimensions come from `batch.events[first_event]`; for a known one only the counters, the end
/// time and the exit page change.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionUpdate {
    pub id: SessionId,
    pub first_event: usize,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// Path of the latest pageview in this batch, if it had one, and its time.
    pub exit_path: Option<String>,
    pub exit_at: Option<DateTime<Utc>>,
    pub pageviews: i32,
    pub events: i32,
    /// The visit was open before this batch, so its row most likely exists already and only
    /// the end, the exit page and the counters change (a store may try a plain UPDATE first;
    /// it must still insert the row when it is missing).
    pub resumes: bool,
    /// An event of this batch is earlier than the visit's start as stored before it (events
    /// may arrive slightly out of order), so `started_at` must move back too.
    pub moves_start: bool,
}

/// One transaction's worth of writes.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    /// `session_ids[i]` is the session of `events[i]`.
    pub session_ids: Vec<SessionId>,
    /// `fresh[i]` is an id no visit has: the one a visit starting at `events[i]` gets when the
    /// store sessionizes the batch again (`domain::visits`, on Postgres).
    pub fresh: Vec<SessionId>,
    pub sessions: Vec<SessionUpdate>,
    /// Set when the batch replays a part of a spool file (`ingest::spool`): the store records
    /// the part in the same transaction, so it is never stored twice.
    pub replay: Option<ReplayMark>,
}

/// Part `part` of the spool file named `spool`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayMark {
    pub spool: String,
    pub part: i64,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl Batch {
    /// The batch without the events of the sites `keep` refuses, nor their visits (a visit's
    /// events all belong to one site).
    pub fn retain_sites(&self, keep: impl Fn(SiteId) -> bool) -> Batch {
        let mut moved_to = vec![usize::MAX; self.events.len()];
        let mut events = Vec::with_capacity(self.events.len());
        let mut session_ids = Vec::with_capacity(self.events.len());
        let mut fresh = Vec::with_capacity(self.events.len());
        for (i, (event, &id)) in self.events.iter().zip(&self.session_ids).enumerate() {
            if keep(event.site_id) {
                moved_to[i] = events.len();
                events.push(event.clone());
                session_ids.push(id);
                fresh.extend(self.fresh.get(i));
            }
        }
        let sessions = self
            .sessions
            .iter()
            .filter(|s| moved_to[s.first_event] != usize::MAX)
            .map(|s| SessionUpdate {
                first_event: moved_to[s.first_event],
                ..s.clone()
            })
            .collect();
        Batch {
            events,
            session_ids,
            fresh,
            sessions,
            replay: self.replay.clone(),
        }
    }

    /// One batch per event, each with its own share of the session counters. Session updates
    /// are additive upserts, so writing these one by one gives the same rows as the whole batch;
    /// the writer does it to isolate an event the database refuses.
    pub fn split(&self) -> Vec<Batch> {
        self.events
            .iter()
            .zip(&self.session_ids)
            .enumerate()
            .map(|(i, (event, &id))| {
                let pageview = event.name.is_pageview();
                Batch {
                    events: vec![event.clone()],
                    session_ids: vec![id],
                    fresh: self.fresh.get(i).copied().into_iter().collect(),
                    sessions: vec![SessionUpdate {
                        id,
                        first_event: 0,
                        started_at: event.created_at,
                        ended_at: event.created_at,
                        exit_path: pageview.then(|| event.path.as_str().to_owned()),
                        exit_at: pageview.then_some(event.created_at),
                        pageviews: i32::from(pageview),
                        events: 1,
                        // Any of these may already be stored, and any may be the earliest.
                        resumes: true,
                        moves_start: true,
                    }],
                    replay: None,
                }
            })
            .collect()
    }
}
