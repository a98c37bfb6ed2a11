//! The enriched event (or engagement update) that travels from the parser through the queue to
//! the writer, and the batch the writer hands to the store.

use super::{Engagement, EventName, PagePath, Props, Revenue, SessionId, SiteId, VisitorId};
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

/// What the queue carries: an event to store, or an engagement update for a stored pageview.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "events are nearly all of the traffic; boxing them would cost an allocation each"
)]
pub enum Hit {
    Event(Event),
    Engagement(Engagement),
}

impl Hit {
    pub fn site_id(&self) -> SiteId {
        match self {
            Self::Event(e) => e.site_id,
            Self::Engagement(e) => e.site_id,
        }
    }
}

impl From<Event> for Hit {
    fn from(event: Event) -> Self {
        Self::Event(event)
    }
}

impl From<Engagement> for Hit {
    fn from(engagement: Engagement) -> Self {
        Self::Engagement(engagement)
    }
}

/// An engagement update in a batch, with what the writer's sessionizer made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct EngagementUpdate {
    pub engagement: Engagement,
    /// How many of the batch's events came before it in the queue: its visit is the one a
    /// pageview in its place would join, so a pageview earlier in the same batch counts.
    pub after: usize,
    /// That visit and its first event's time, if the visitor has one open then (`None`: a
    /// pageview then would start a visit, so there is no pageview to update). A store that
    /// sessionizes the batch again (Postgres) looks again.
    pub visit: super::visits::Found,
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
    /// Applied after the events are inserted, in the same transaction; they change no visit.
    pub engagements: Vec<EngagementUpdate>,
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

    /// The events and updates in the order they were queued (for the spool).
    pub fn hits(&self) -> Vec<Hit> {
        let mut hits = Vec::with_capacity(self.events.len() + self.engagements.len());
        let mut updates = self.engagements.iter().peekable();
        for (i, event) in self.events.iter().enumerate() {
            while let Some(u) = updates.next_if(|u| u.after <= i) {
                hits.push(Hit::Engagement(u.engagement.clone()));
            }
            hits.push(Hit::Event(event.clone()));
        }
        hits.extend(updates.map(|u| Hit::Engagement(u.engagement.clone())));
        hits
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
        let engagements = self
            .engagements
            .iter()
            .filter(|u| keep(u.engagement.site_id))
            .map(|u| EngagementUpdate {
                after: moved_to[..u.after]
                    .iter()
                    .filter(|&&to| to != usize::MAX)
                    .count(),
                ..u.clone()
            })
            .collect();
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
            engagements,
        }
    }

    /// One batch per event, each with its own share of the session counters. Session updates
    /// are additive upserts, so writing these one by one gives the same rows as the whole batch;
    /// the writer does it to isolate an event the database refuses. Engagement updates come after
    /// the events, one batch each.
    pub fn split(&self) -> Vec<Batch> {
        let updates = self.engagements.iter().map(|u| Batch {
            engagements: vec![EngagementUpdate {
                after: 0,
                ..u.clone()
            }],
            ..Batch::default()
        });
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
                    engagements: Vec::new(),
                }
            })
            .chain(updates)
            .collect()
    }
}
