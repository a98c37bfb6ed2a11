//! Where a live stream stands (`LiveCursor`): which of a site's events it has sent, so that each
//! poll (`StatsStore::live_events`) hands over every newly visible event exactly once.
//!
//! On SQLite this is just the last id sent. A write transaction holds the database's write lock
//! from its first insert until its commit, so rowids are handed out in commit order: once an id
//! is visible, every lower one is visible too (or was rolled back), and "ids above the last one
//! sent" misses nothing.
//!
//! On Postgres ids come from a sequence at insert, not at commit: with several writers (two
//! collectors, or an import beside the collector) a batch that commits late has ids below ones
//! already shown. So each read also returns its snapshot's `xmin` and `xmax` and the highest id
//! visible in it (`top`). Any id up to `top` was drawn before the snapshot was taken, by a
//! transaction that already had its transaction id (the batch writer takes it before it inserts,
//! see `postgres::batch`), hence an id below that snapshot's `xmax`. A later snapshot whose
//! `xmin` has reached that `xmax` has seen all of those transactions end: from then on every id
//! up to `top` is either visible or never will be. Until then the cursor keeps reading from the
//! last such settled id and skips the ids it already sent. This needs the sequence to hand ids
//! out in order across sessions (`CACHE 1`, the default for identity columns).

use super::StoredEvent;
use crate::domain::SiteId;
use std::collections::{BTreeSet, VecDeque};

/// Above this many ids sent but not yet settled (a transaction left open for long, anywhere on
/// the Postgres server, holds every cursor back), a cursor stops waiting: memory stays bounded,
/// at the price of the events, if any, that the open transaction commits later.
const MAX_UNSETTLED: usize = 10_000;
/// Earlier reads waiting to settle; past this many the newest is replaced (it settles later but
/// covers more).
const MAX_WAITING: usize = 64;

/// A live stream's read position in one site's events.
#[derive(Debug)]
pub struct LiveCursor {
    site: SiteId,
    /// False until a read succeeded; the first read returns the backlog.
    started: bool,
    /// Every event of the site with an id up to this one was sent, or will never be visible.
    settled: i64,
    /// Ids above `settled` that were sent (Postgres only).
    sent: BTreeSet<i64>,
    /// Earlier reads (Postgres only), oldest first, until every transaction running when they
    /// were taken has ended.
    waiting: VecDeque<Snapshot>,
}

/// What a Postgres read saw besides its rows: its snapshot's bounds, as transaction ids, and
/// the highest event id visible in it (of any site).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub xmin: i64,
    pub xmax: i64,
    pub top: i64,
}

/// The read a cursor wants next: the newest `limit` rows (`backlog`), or the lowest `limit`
/// rows with ids above `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Read {
    pub backlog: bool,
    pub after: i64,
    pub limit: i64,
}

impl LiveCursor {
    /// A cursor whose first read returns the site's newest events.
    pub fn new(site: SiteId) -> Self {
        Self {
            site,
            started: false,
            settled: 0,
            sent: BTreeSet::new(),
            waiting: VecDeque::new(),
        }
    }

    pub fn site(&self) -> SiteId {
        self.site
    }

    /// Whether no read has succeeded yet, so the next one returns the backlog.
    pub fn is_new(&self) -> bool {
        !self.started
    }

    /// The next read, for up to `limit` events not sent yet: the ids already sent above the
    /// settled one come back too and are skipped, so they are added to the limit.
    pub(crate) fn next_read(&self, limit: i64) -> Read {
        let sent = i64::try_from(self.sent.len()).unwrap_or(i64::MAX);
        Read {
            backlog: !self.started,
            after: self.settled,
            limit: limit.max(1).saturating_add(sent),
        }
    }

    /// Takes in what `read` returned (ordered as asked: newest first for the backlog, else
    /// lowest id first) and its snapshot (`None` on SQLite); returns the events to send, oldest
    /// first.
    pub(crate) fn advance(
        &mut self,
        read: Read,
        mut rows: Vec<StoredEvent>,
        snapshot: Option<Snapshot>,
    ) -> Vec<StoredEvent> {
        let complete = i64::try_from(rows.len()).unwrap_or(i64::MAX) < read.limit;
        if read.backlog {
            rows.reverse();
            self.started = true;
            self.settled = match snapshot {
                None => rows.last().map_or(0, |e| e.id),
                // Ids below the backlog that commit later are older than anything on the page,
                // and are not waited for.
                Some(_) => rows.first().map_or(0, |e| e.id - 1),
            };
        }
        let Some(now) = snapshot else {
            // SQLite: ids are in commit order, everything read is settled.
            if let Some(last) = rows.last() {
                self.settled = self.settled.max(last.id);
            }
            return rows;
        };
        // How far this read saw every visible event of the site: the backlog is the newest
        // rows, a short read is all there was, a full one ends at its last row.
        let covered = match rows.last() {
            _ if read.backlog || complete => i64::MAX,
            Some(last) => last.id,
            None => self.settled,
        };
        let sent = &mut self.sent;
        rows.retain(|e| sent.insert(e.id));
        while let Some(earlier) = self.waiting.front().copied()
            && earlier.xmax <= now.xmin
        {
            self.settled = self.settled.max(earlier.top.min(covered));
            if earlier.top > covered {
                break;
            }
            self.waiting.pop_front();
        }
        if now.top > self.settled && self.waiting.back().is_none_or(|w| w.top < now.top) {
            if self.waiting.len() >= MAX_WAITING {
                self.waiting.pop_back();
            }
            self.waiting.push_back(now);
        }
        if self.sent.len() > MAX_UNSETTLED {
            tracing::warn!(
                site = self.site.0,
                "a long-open database transaction holds the live view back; it stops waiting \
                 for that transaction's events"
            );
            self.settled = self.sent.last().copied().unwrap_or(self.settled);
        }
        self.sent = self.sent.split_off(&self.settled.saturating_add(1));
        let settled = self.settled;
        self.waiting.retain(|w| w.top > settled);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64) -> StoredEvent {
        StoredEvent {
            id,
            site_id: 1,
            created_at: chrono::DateTime::UNIX_EPOCH,
            visitor_id: 1,
            session_id: 1,
            name: "pageview".into(),
            hostname: "example.com".into(),
            path: format!("/{id}"),
            referrer: None,
            referrer_source: None,
            utm_source: None,
            utm_medium: None,
            utm_campaign: None,
            utm_content: None,
            utm_term: None,
            browser: String::new(),
            browser_version: String::new(),
            os: String::new(),
            os_version: String::new(),
            device: String::new(),
            country: None,
            region: None,
            city: None,
            viewport_width: None,
            props: None,
            revenue_micros: None,
            revenue_currency: None,
            engaged_ms: None,
            scroll_depth: None,
        }
    }

    /// One read of `cursor` answered with `ids` (those above the read's `after`, as the database
    /// would, newest first for the backlog, at most `limit`) in `snapshot`; the ids sent.
    fn poll(
        cursor: &mut LiveCursor,
        limit: i64,
        ids: &[i64],
        snapshot: Option<Snapshot>,
    ) -> Vec<i64> {
        let read = cursor.next_read(limit);
        let mut rows: Vec<i64> = ids.iter().copied().filter(|id| *id > read.after).collect();
        if read.backlog {
            rows.reverse();
        }
        rows.truncate(usize::try_from(read.limit).unwrap_or(usize::MAX));
        let rows = rows.into_iter().map(event).collect();
        cursor
            .advance(read, rows, snapshot)
            .iter()
            .map(|e| e.id)
            .collect()
    }

    fn snap(xmin: i64, xmax: i64, top: i64) -> Option<Snapshot> {
        Some(Snapshot { xmin, xmax, top })
    }

    #[test]
    fn on_sqlite_the_cursor_is_the_last_id_sent() {
        let mut c = LiveCursor::new(SiteId(1));
        assert_eq!(poll(&mut c, 2, &[1, 2, 3], None), [2, 3]);
        assert_eq!(poll(&mut c, 2, &[1, 2, 3, 4, 5, 6], None), [4, 5]);
        assert_eq!(poll(&mut c, 2, &[1, 2, 3, 4, 5, 6], None), [6]);
        assert!(poll(&mut c, 2, &[1, 2, 3, 4, 5, 6], None).is_empty());
        assert_eq!(c.next_read(2).after, 6);
    }

    #[test]
    fn an_id_that_commits_after_a_higher_one_was_sent_is_sent_once() {
        let mut c = LiveCursor::new(SiteId(1));
        assert_eq!(poll(&mut c, 20, &[5], snap(100, 100, 5)), [5]);
        // Transaction 101 holds id 6 open; 102 committed id 7.
        assert_eq!(poll(&mut c, 20, &[5, 7], snap(101, 103, 7)), [7]);
        assert!(poll(&mut c, 20, &[5, 7], snap(101, 103, 7)).is_empty());
        // 101 commits: 6 goes out, and everything up to 7 is settled.
        assert_eq!(poll(&mut c, 20, &[5, 6, 7], snap(103, 103, 7)), [6]);
        assert_eq!(c.next_read(20).after, 7);
        assert!(c.sent.is_empty() && c.waiting.is_empty());
        assert!(poll(&mut c, 20, &[5, 6, 7], snap(103, 103, 7)).is_empty());
    }

    #[test]
    fn a_full_read_settles_no_further_than_it_read() {
        let mut c = LiveCursor::new(SiteId(1));
        assert!(poll(&mut c, 20, &[], snap(10, 10, 0)).is_empty());
        // Nothing is running, but only 2 of the 4 new ids fit in this read.
        assert_eq!(poll(&mut c, 2, &[1, 2, 3, 4], snap(10, 11, 4)), [1, 2]);
        assert_eq!(poll(&mut c, 2, &[1, 2, 3, 4], snap(11, 11, 4)), [3, 4]);
        assert!(poll(&mut c, 2, &[1, 2, 3, 4], snap(11, 11, 4)).is_empty());
        assert_eq!(c.next_read(2).after, 4);
    }

    #[test]
    fn a_transaction_open_for_long_holds_the_cursor_back_only_so_far() {
        let mut c = LiveCursor::new(SiteId(1));
        assert!(poll(&mut c, 20, &[], snap(50, 60, 0)).is_empty());
        let ids: Vec<i64> = (1..=12_000).collect();
        // Transaction 50 never ends: nothing settles, until too much was sent.
        let limit = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        assert_eq!(
            poll(&mut c, limit, &ids, snap(50, 70, 12_000)).len(),
            ids.len()
        );
        assert!(c.sent.is_empty(), "{} ids kept", c.sent.len());
        assert_eq!(c.next_read(20).after, 12_000);
        assert_eq!(poll(&mut c, 20, &[12_001], snap(50, 71, 12_001)), [12_001]);
    }
}
