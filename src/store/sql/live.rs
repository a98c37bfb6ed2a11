//! The live stream's read: one statement returning a site's events above the cursor and, on
//! Postgres, the snapshot they were read in (see `store::live` for why and what the cursor does
//! with it).

use super::exec::Exec;
use super::stored::{EVENT_COLUMNS, EVENT_KINDS, stored_event};
use super::{Dialect, Kind, Sql};
use crate::store::live::{LiveCursor, Read, Snapshot};
use crate::store::{StoreError, StoredEvent};

/// The snapshot row always comes back, with the event columns NULL when there is no event. The
/// events are read by id (`events_by_id`): only those above the cursor, not all of the site's.
fn statement(d: Dialect, site: i64, read: Read) -> Sql {
    let order = if read.backlog { "DESC" } else { "ASC" };
    let mut sql = Sql::new(d);
    sql.push("SELECT ")
        .push(EVENT_COLUMNS)
        .push(", s.xmin, s.xmax, s.top FROM (SELECT ")
        .push(d.live_snapshot())
        .push(") AS s LEFT JOIN (SELECT e.* FROM ")
        .push(d.events_by_id())
        .push(" WHERE e.site_id = ")
        .int(site)
        .push(" AND e.id > ")
        .int(read.after)
        .push(" ORDER BY e.id ")
        .push(order)
        .push(" LIMIT ")
        .int(read.limit)
        .push(") AS e ON 1 = 1 ORDER BY e.id ")
        .push(order);
    sql
}

/// `EVENT_KINDS`, every column allowed to be NULL, then the three snapshot columns.
fn kinds() -> Vec<Kind> {
    let nullable = |k: &Kind| match k {
        Kind::Int => Kind::OptInt,
        Kind::Time => Kind::OptTime,
        other => *other,
    };
    let mut kinds: Vec<Kind> = EVENT_KINDS.iter().map(nullable).collect();
    kinds.extend([Kind::OptInt; 3]);
    kinds
}

pub(crate) async fn live_events(
    exec: &dyn Exec,
    cursor: &mut LiveCursor,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let read = cursor.next_read(limit);
    let rows = exec
        .fetch(&statement(exec.dialect(), cursor.site().0, read), &kinds())
        .await?;
    let at = EVENT_KINDS.len();
    let mut snapshot = None;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        if let (Some(xmin), Some(xmax), Some(top)) =
            (row.opt_int(at)?, row.opt_int(at + 1)?, row.opt_int(at + 2)?)
        {
            snapshot = Some(Snapshot { xmin, xmax, top });
        }
        if row.opt_int(0)?.is_some() {
            events.push(stored_event(row)?);
        }
    }
    Ok(cursor.advance(read, events, snapshot))
}
