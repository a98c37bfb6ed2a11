//! Reading the rows a segment is built from: one closed day of a site (the builder), or the events
//! stored since the last look with their visits (the open days).

use super::rows::{Engagement, EventRow, Rows, SessionRow};
use crate::store::StoreError;
use crate::store::sql::exec::Exec;
use crate::store::sql::segments::Mark;
use crate::store::sql::{Dialect, Kind, Row, segments as statements};
use std::collections::HashSet;

/// Reads an event row (`statements::EVENT_KINDS` at `at`): its site and the event.
pub(crate) fn event(rows: &mut Rows, row: &Row, at: usize) -> Result<(i64, EventRow), StoreError> {
    let name = row.text(at + 5)?;
    let path = row.text(at + 6)?;
    let props = row.text(at + 7)?;
    let event = EventRow {
        id: row.int(at)?,
        created_at: row.int(at + 2)?,
        visitor_id: row.int(at + 3)?,
        session_id: row.int(at + 4)?,
        name: rows.symbols.intern(name.as_deref()),
        path: rows.symbols.intern(path.as_deref()),
        props: rows.props(props.as_deref()).map_err(StoreError::Corrupt)?,
        engagement: Engagement::stored(row.opt_int(at + 8)?, row.opt_int(at + 9)?),
    };
    Ok((row.int(at + 1)?, event))
}

/// Reads a visit row (`statements::VISIT_KINDS` at `at`); `None` where a LEFT JOIN found none.
pub(crate) fn visit(
    rows: &mut Rows,
    row: &Row,
    at: usize,
) -> Result<Option<SessionRow>, StoreError> {
    let Some(id) = row.opt_int(at)? else {
        return Ok(None);
    };
    let mut dims = [0; 17];
    for (i, d) in dims.iter_mut().enumerate() {
        *d = rows.symbols.intern(row.text(at + 6 + i)?.as_deref());
    }
    Ok(Some(SessionRow {
        id,
        visitor_id: row.int(at + 1)?,
        started_at: row.int(at + 2)?,
        ended_at: row.int(at + 3)?,
        pageviews: row.int(at + 4)?,
        events: row.int(at + 5)?,
        dims,
    }))
}

/// Seconds of events read per statement: sqlx holds a statement's rows whole, and a window of
/// half an hour keeps that to a few MB however busy the day.
const WINDOW: i64 = 1_800;

/// Reads a site's events at instants `start..end` (no end: all later ones, the open part) into
/// `rows`, skipping those in `held` (which gains the new ones), with the visits of the events in
/// `rows`: those that started in the range, and the few that started before it, by id. Returns
/// the times of the events added.
pub(crate) async fn range_into(
    db: &dyn Exec,
    site: i64,
    start: i64,
    end: Option<i64>,
    rows: &mut Rows,
    held: &mut HashSet<i64>,
) -> Result<Vec<i64>, StoreError> {
    let d = db.dialect();
    let now = chrono::Utc::now().timestamp();
    // Room for all of them at once: growing by doubling would hold up to three times a day's
    // rows for a moment (and an allocator keeps such peaks).
    let counts = db
        .fetch(
            &statements::count_between(d, site, start, end),
            &[Kind::Int; 2],
        )
        .await?;
    if let Some(row) = counts.first() {
        let (events, visits) = (row.int(0)?, row.int(1)?);
        rows.events
            .reserve_exact(usize::try_from(events).unwrap_or(0));
        rows.sessions.reserve(usize::try_from(visits).unwrap_or(0));
        held.reserve(usize::try_from(events).unwrap_or(0));
    }
    let mut added = Vec::new();
    let mut at = start;
    loop {
        // Windows up to the end, or (open part) up to now and then one without an end, for
        // clocks running a little ahead.
        let until = match end {
            Some(end) => Some((at + WINDOW).min(end)),
            None => (at <= now).then_some(at + WINDOW),
        };
        for row in db
            .fetch(
                &statements::events_between(d, site, at, until),
                &statements::EVENT_KINDS,
            )
            .await?
        {
            let (_, event) = event(rows, &row, 0)?;
            if held.insert(event.id) {
                added.push(event.created_at);
                rows.events.push(event);
            }
        }
        for row in db
            .fetch(
                &statements::visits_between(d, site, at, until),
                &statements::VISIT_KINDS,
            )
            .await?
        {
            if let Some(v) = visit(rows, &row, 0)? {
                rows.sessions.insert(v.id, v);
            }
        }
        match until {
            Some(next) if end.is_none_or(|end| next < end) => at = next,
            _ => break,
        }
    }
    // Visits that started before the range.
    let missing: Vec<i64> = rows
        .events
        .iter()
        .map(|e| e.session_id)
        .filter(|id| !rows.sessions.contains_key(id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for ids in missing.chunks(500) {
        for row in db
            .fetch(&statements::visits_by_id(d, ids), &statements::VISIT_KINDS)
            .await?
        {
            if let Some(v) = visit(rows, &row, 0)? {
                rows.sessions.insert(v.id, v);
            }
        }
    }
    rows.events.shrink_to_fit();
    rows.sessions.shrink_to_fit();
    Ok(added)
}

/// A site's events at instants `start..end` and all their visits.
pub(crate) async fn day(
    db: &dyn Exec,
    site: i64,
    start: i64,
    end: i64,
) -> Result<Rows, StoreError> {
    let mut rows = Rows::new();
    range_into(db, site, start, Some(end), &mut rows, &mut HashSet::new()).await?;
    Ok(rows)
}

/// Where the events table stands: highest id, snapshot xmin and xmax (0 on SQLite), and the
/// engagement log's highest id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub upper: i64,
    pub xmin: i64,
    pub xmax: i64,
    pub log_upper: i64,
}

pub(crate) async fn snapshot(db: &dyn Exec) -> Result<Snapshot, StoreError> {
    let rows = db
        .fetch(&statements::snapshot(db.dialect()), &[Kind::Int; 4])
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt("snapshot query returned no row".into()))?;
    Ok(Snapshot {
        upper: row.int(0)?,
        xmin: row.int(1)?,
        xmax: row.int(2)?,
        log_upper: row.int(3)?,
    })
}

/// Where a watermark on ids moves after a read of every id above it, up to `upper` as of `snap`
/// (`None`: nothing was read before, and everything up to `upper` is taken as read). SQLite
/// hands ids out in commit order, so all of them up to `upper` were read. On Postgres
/// transactions may commit out of id order: a pending watermark (ids up to `.0` as of a snapshot
/// whose xmax was `.1`) becomes the scanned one once every transaction older than that xmax has
/// ended, because then a read after it saw all of them; until then the ids above the scanned
/// one are read again.
pub(crate) fn next_mark(d: Dialect, mark: Option<Mark>, upper: i64, snap: &Snapshot) -> Mark {
    match (d, mark) {
        (Dialect::Sqlite, _) | (_, None) => (upper, None),
        (Dialect::Postgres, Some((scanned, pending))) => match pending {
            Some((id, xmax)) if snap.xmin >= xmax => (id, Some((upper, snap.xmax))),
            Some(pending) => (scanned, Some(pending)),
            None => (scanned, Some((upper, snap.xmax))),
        },
    }
}

/// Rows of the events query that reads new events with their visits.
pub(crate) const NEW_EVENT_KINDS: [Kind; 33] = {
    let mut kinds = [Kind::Text; 33];
    let mut i = 0;
    while i < EVENTS {
        kinds[i] = statements::EVENT_KINDS[i];
        i += 1;
    }
    while i < 33 {
        kinds[i] = statements::VISIT_KINDS[i - EVENTS];
        i += 1;
    }
    kinds
};

/// Where the visit's columns start in a row of `NEW_EVENT_KINDS`.
pub(crate) const EVENTS: usize = statements::EVENT_KINDS.len();
