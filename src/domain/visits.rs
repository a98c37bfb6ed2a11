//! The visit rule, written once: a visit is one visitor's events with gaps under the timeout.
//! The writer's sessionizer (`ingest::logic`) applies it to each batch with the visits it holds
//! in memory; on Postgres the batch writer applies it again inside the batch's transaction, to
//! the visits as the database holds them (`open_visits`, locked per visitor), so that several
//! collectors writing one visitor's events give the visits one collector gives.

use super::{Event, SessionId, SessionUpdate, VisitorId};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;

/// A visit ends after this long without an event.
pub const TIMEOUT: TimeDelta = TimeDelta::minutes(30);

/// A visit still open: its id and the span of its events so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenVisit {
    pub id: SessionId,
    /// The earliest event of the visit seen so far (what the store holds as `started_at`).
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// Assigns each of `events` its visit, continuing those in `open` (which it updates), and sums up
/// what each visit gained. An event that starts a visit gets the id `fresh[i]`, an id nobody has
/// used (`SessionIds`). Events may arrive slightly out of order: anything within the timeout on
/// either side of the visit's last event belongs to it.
pub fn assign(
    open: &mut HashMap<VisitorId, OpenVisit>,
    events: &[Event],
    fresh: &[SessionId],
    timeout: TimeDelta,
) -> (Vec<SessionId>, Vec<SessionUpdate>) {
    let (ids, sessions, _) = assign_with(open, events, fresh, timeout, &[]);
    (ids, sessions)
}

/// A visit found for a probe: its id and its first event's time (`None`: no visit open then).
pub type Found = Option<(SessionId, DateTime<Utc>)>;

/// What `assign_with` answers: each event's visit, what each visit gained, each probe's visit.
pub type Assigned = (Vec<SessionId>, Vec<SessionUpdate>, Vec<Found>);

/// Where a visitor is asked about (an engagement update): after the first `after` events of the
/// batch, the visitor, and the moment.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub after: usize,
    pub visitor: VisitorId,
    pub at: DateTime<Utc>,
}

/// The visit `visitor` has open at `at`, and its first event's time: the one an event then would
/// continue (`None`: an event then would start a visit). Changes nothing.
pub fn visit_at(
    open: &HashMap<VisitorId, OpenVisit>,
    visitor: VisitorId,
    at: DateTime<Utc>,
    timeout: TimeDelta,
) -> Found {
    open.get(&visitor)
        .filter(|visit| (at - visit.last_at).abs() < timeout)
        .map(|visit| (visit.id, visit.first_at))
}

/// `assign`, also answering `visit_at` for each of `probes` (ordered by `after`) at its place
/// among the events, so that a probe sees the visits as the events before it left them.
pub fn assign_with(
    open: &mut HashMap<VisitorId, OpenVisit>,
    events: &[Event],
    fresh: &[SessionId],
    timeout: TimeDelta,
    probes: &[Probe],
) -> Assigned {
    let mut answers = Vec::with_capacity(probes.len());
    let mut pending = probes.iter().peekable();
    let mut session_ids = Vec::with_capacity(events.len());
    let mut sessions: Vec<SessionUpdate> = Vec::new();
    let mut slot_of: HashMap<SessionId, usize> = HashMap::new();
    // For each session update: the visit's start as stored before this batch, if known.
    let mut starts: Vec<Option<DateTime<Utc>>> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        while let Some(p) = pending.next_if(|p| p.after <= i) {
            answers.push(visit_at(open, p.visitor, p.at, timeout));
        }
        let at = event.created_at;
        let (id, known_start) = match open.get_mut(&event.visitor_id) {
            Some(visit) if (at - visit.last_at).abs() < timeout => {
                let known = (!slot_of.contains_key(&visit.id)).then_some(visit.first_at);
                visit.last_at = visit.last_at.max(at);
                visit.first_at = visit.first_at.min(at);
                (visit.id, known)
            }
            later => {
                let id = fresh[i];
                // A late event long before the visitor's open visit starts a visit of its own,
                // and the open one stays the one later events continue.
                if later.is_none_or(|visit| visit.first_at <= at) {
                    open.insert(
                        event.visitor_id,
                        OpenVisit {
                            id,
                            first_at: at,
                            last_at: at,
                        },
                    );
                }
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
                exit_at: None,
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
            // The exit is the latest pageview, also when a late one arrives after it.
            if update.exit_at.is_none_or(|exit| at >= exit) {
                update.exit_path = Some(event.path.as_str().to_owned());
                update.exit_at = Some(at);
            }
        }
    }
    answers.extend(pending.map(|p| visit_at(open, p.visitor, p.at, timeout)));
    (session_ids, sessions, answers)
}

/// Session ids nobody else hands out, without asking anyone on the way: the visit's start in
/// milliseconds since 2020 (41 bits, good until 2089), a 12-bit sequence, and the writer's
/// 10-bit tag, which the database hands each writer when it starts (`IngestStore::writer_tag`),
/// so two collectors never make the same id (unless 1,024 writers started while one of them ran).
/// One writer's ids only ever grow (a 4,097th visit in one millisecond takes the next
/// millisecond's first number), so they never repeat and new visits land at the end of the
/// sessions table's primary-key B-tree, which keeps inserts cheap as it grows.
#[derive(Debug, Clone)]
pub struct SessionIds {
    tag: i64,
    last: i64,
}

impl SessionIds {
    pub const TAG_BITS: u32 = 10;
    const SEQUENCE_BITS: u32 = 12;
    const EPOCH_2020_MS: i64 = 1_577_836_800_000;

    pub fn new(tag: u64) -> Self {
        Self {
            tag: i64::try_from(tag % (1 << Self::TAG_BITS)).unwrap_or(0),
            last: 0,
        }
    }

    /// A new id for a visit starting at `started_at`.
    pub fn next(&mut self, started_at: DateTime<Utc>) -> SessionId {
        let ms = (started_at.timestamp_millis() - Self::EPOCH_2020_MS).clamp(0, (1 << 41) - 1);
        let ticket = (ms << Self::SEQUENCE_BITS).max(self.last + 1);
        self.last = ticket;
        SessionId((ticket << Self::TAG_BITS) | self.tag)
    }

    /// One new id per event, for the visits these events may start.
    pub fn reserve(&mut self, events: &[Event]) -> Vec<SessionId> {
        events.iter().map(|e| self.next(e.created_at)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap_or_default()
    }

    #[test]
    fn ids_grow_stay_distinct_across_tags_and_follow_the_start_time() {
        let mut a = SessionIds::new(1);
        let mut b = SessionIds::new(2);
        let mut seen = std::collections::HashSet::new();
        let mut last = 0;
        for i in 0..10_000 {
            let id = a.next(t(i / 5_000));
            assert!(id.0 > last);
            last = id.0;
            assert!(seen.insert(id));
            assert!(seen.insert(b.next(t(i / 5_000))));
        }
        let later = SessionIds::new(1).next(t(60_000));
        assert!(later.0 > last, "a later start gives a larger id");
        // Tags are taken modulo 1,024.
        assert_eq!(
            SessionIds::new(1025).next(t(0)),
            SessionIds::new(1).next(t(0))
        );
    }
}
