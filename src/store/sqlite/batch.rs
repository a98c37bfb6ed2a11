//! The SQLite side of the batch writer: a connection of its own (rusqlite) that inserts each
//! event and upserts each session with one cached prepared statement, then applies the batch's
//! engagement updates, all in one transaction.
//!
//! Why not sqlx here, as everywhere else: sqlx's SQLite driver copies every bound value into an
//! owned argument list and ships each statement to a worker thread; for 24 columns × thousands
//! of rows per batch that copying was a third of the writer's time, and the writer is what
//! limits ingest. Binding borrowed values straight into a prepared statement on a blocking
//! thread does the same SQL with much less work. Both crates link the same bundled SQLite
//! (libsqlite3-sys), so the file sees one SQLite version.

use super::to_ts;
use crate::domain::{Batch, Event, Revenue};
use crate::store::{BatchOutcome, StoreError};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, ToSql, TransactionBehavior, params, params_from_iter,
};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const INSERT_EVENT: &str = "INSERT INTO events (site_id, created_at, visitor_id, session_id, name, \
     path, viewport_width, props, revenue_micros, revenue_currency, hostname, referrer, \
     referrer_source, utm_source, utm_medium, utm_campaign, utm_content, utm_term, browser, \
     browser_version, os, os_version, device, country, region, city) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// A visit's entry attributes are written when it is first seen; later batches only move its
/// end, exit page and counters. Used for visits new to the writer (and as the fallback below).
const UPSERT_SESSION: &str = "INSERT INTO sessions (id, site_id, visitor_id, started_at, ended_at, \
     entry_path, exit_path, exit_at, pageviews, events, hostname, referrer, referrer_source, \
     utm_source, utm_medium, utm_campaign, utm_content, utm_term, browser, browser_version, os, \
     os_version, device, country, region, city) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (id) DO UPDATE SET \
     started_at = MIN(sessions.started_at, excluded.started_at), \
     ended_at = MAX(sessions.ended_at, excluded.ended_at), \
     exit_path = CASE WHEN excluded.exit_at IS NOT NULL \
                      AND (sessions.exit_at IS NULL OR excluded.exit_at >= sessions.exit_at) \
                 THEN excluded.exit_path ELSE sessions.exit_path END, \
     exit_at = MAX(COALESCE(sessions.exit_at, excluded.exit_at), \
                   COALESCE(excluded.exit_at, sessions.exit_at)), \
     pageviews = sessions.pageviews + excluded.pageviews, \
     events = sessions.events + excluded.events";

/// A visit the writer already knew: a plain UPDATE by primary key with five values is much
/// cheaper than the upsert, which builds the whole 25-column row before it finds the conflict.
/// `started_at` is left out unless it moves: it is indexed (`sessions_site_time`), and SQLite
/// rewrites the index entry of every indexed column an UPDATE sets, changed or not — for every
/// event, that was a quarter of the writer's time.
/// The exit page moves only to a later pageview (`?6` is its time), whatever order they come in.
const UPDATE_SESSION: &str = "UPDATE sessions SET ended_at = MAX(ended_at, ?2), \
     exit_path = CASE WHEN ?6 IS NOT NULL AND (exit_at IS NULL OR ?6 >= exit_at) \
                 THEN ?3 ELSE exit_path END, \
     exit_at = MAX(COALESCE(exit_at, ?6), COALESCE(?6, exit_at)), \
     pageviews = pageviews + ?4, events = events + ?5 WHERE id = ?1";
const UPDATE_SESSION_AND_START: &str = "UPDATE sessions SET ended_at = MAX(ended_at, ?2), \
     exit_path = CASE WHEN ?6 IS NOT NULL AND (exit_at IS NULL OR ?6 >= exit_at) \
                 THEN ?3 ELSE exit_path END, \
     exit_at = MAX(COALESCE(exit_at, ?6), COALESCE(?6, exit_at)), \
     pageviews = pageviews + ?4, events = events + ?5, started_at = MIN(started_at, ?7) \
     WHERE id = ?1";

/// An engagement update raises the figures of the latest pageview of its path in its visit, up to
/// its own time (a reload sends the old page's update just before the new page's pageview, and
/// the two may share a batch). Through `events_session_pageviews`, which `name = 'pageview'`
/// written out lets SQLite use. Instants are whole seconds here: within one, the later row wins.
/// The pageview's row is named in the engagement log (0018), for the readers that follow the
/// events table by id.
const APPLY_ENGAGEMENT: &str = "UPDATE events SET \
     engaged_ms = MAX(COALESCE(engaged_ms, 0), ?1), \
     scroll_depth = MAX(COALESCE(scroll_depth, 0), ?2) \
     WHERE id = (SELECT id FROM events WHERE session_id = ?3 AND name = 'pageview' \
                 AND path = ?4 AND created_at <= ?5 ORDER BY created_at DESC, id DESC LIMIT 1) \
     RETURNING site_id, id, created_at";
const LOG_ENGAGEMENT: &str =
    "INSERT INTO engagement_log (site_id, event_id, event_at) VALUES (?1, ?2, ?3)";

const RECORD_REPLAY: &str = "INSERT INTO spool_replays (spool, part, events) VALUES (?, ?, ?)";

/// The writer's connection. Only the batch writer uses it, one batch at a time; the mutex is
/// there because the blocking thread that runs a batch changes from batch to batch.
pub(super) struct BatchWriter {
    conn: Arc<Mutex<Connection>>,
}

impl BatchWriter {
    /// Opens `path`, which the sqlx pools have already created and migrated (WAL is a property
    /// of the file; the other settings are per connection and match the pools').
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // This connection does almost all the writing: it gets the big page cache (16 MB).
        conn.pragma_update(None, "cache_size", -16000)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Writes the batch on a blocking thread; all of it or nothing.
    pub async fn write(&self, batch: Arc<Batch>) -> Result<BatchOutcome, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held left no transaction open (rusqlite rolls back on
            // drop), so a poisoned lock is safe to take over.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            write(&mut conn, &batch)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("the batch writer thread failed: {e}")))?
    }
}

/// What an event and the visit it starts have in common, in the order both statements list the
/// columns (hostname … city): the visit's entry attributes are its first event's.
fn dimensions(e: &Event) -> [&dyn ToSql; 16] {
    [
        &e.hostname,
        &e.referrer,
        &e.referrer_source,
        &e.utm.source,
        &e.utm.medium,
        &e.utm.campaign,
        &e.utm.content,
        &e.utm.term,
        &e.browser,
        &e.browser_version,
        &e.os,
        &e.os_version,
        &e.device,
        &e.country,
        &e.region,
        &e.city,
    ]
}

fn write(conn: &mut Connection, batch: &Batch) -> Result<BatchOutcome, StoreError> {
    // IMMEDIATE takes the write lock up front, so a busy database fails (and is retried) here
    // rather than halfway through the batch.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut applied = 0;
    {
        let mut insert = tx.prepare_cached(INSERT_EVENT)?;
        for (e, session) in batch.events.iter().zip(&batch.session_ids) {
            let props = e.props.to_json();
            let revenue = e.revenue.as_ref();
            let head: [&dyn ToSql; 10] = [
                &e.site_id.0,
                &to_ts(e.created_at),
                &e.visitor_id.0,
                &session.0,
                &e.name.as_str(),
                &e.path.as_str(),
                &e.viewport_width,
                &props,
                &revenue.map(Revenue::micros),
                &revenue.map(Revenue::currency),
            ];
            insert.execute(params_from_iter(head.into_iter().chain(dimensions(e))))?;
        }
        let mut upsert = tx.prepare_cached(UPSERT_SESSION)?;
        let mut update = tx.prepare_cached(UPDATE_SESSION)?;
        let mut update_and_start = tx.prepare_cached(UPDATE_SESSION_AND_START)?;
        for s in &batch.sessions {
            if s.resumes {
                let (id, end, exit) = (s.id.0, to_ts(s.ended_at), s.exit_path.as_deref());
                let exit_at = s.exit_at.map(to_ts);
                let changed = if s.moves_start {
                    update_and_start.execute(params![
                        id,
                        end,
                        exit,
                        s.pageviews,
                        s.events,
                        exit_at,
                        to_ts(s.started_at)
                    ])?
                } else {
                    update.execute(params![id, end, exit, s.pageviews, s.events, exit_at])?
                };
                if changed == 1 {
                    continue;
                }
                // Not stored after all (its first batch was refused, say): insert it.
            }
            let e = &batch.events[s.first_event];
            let exit_at = s.exit_at.map(to_ts);
            let head: [&dyn ToSql; 10] = [
                &s.id.0,
                &e.site_id.0,
                &e.visitor_id.0,
                &to_ts(s.started_at),
                &to_ts(s.ended_at),
                &e.path.as_str(),
                &s.exit_path.as_deref().unwrap_or(e.path.as_str()),
                &exit_at,
                &s.pageviews,
                &s.events,
            ];
            upsert.execute(params_from_iter(head.into_iter().chain(dimensions(e))))?;
        }
        // After the inserts: an update's pageview may be in this batch. One writer holds the
        // visits (the sessionizer found each update's), so there is nothing to look up again.
        let mut apply = tx.prepare_cached(APPLY_ENGAGEMENT)?;
        let mut log = tx.prepare_cached(LOG_ENGAGEMENT)?;
        for u in &batch.engagements {
            let Some((session, _)) = u.visit else {
                continue;
            };
            let e = &u.engagement;
            let raised = apply
                .query_row(
                    params![
                        e.figures.engaged_ms(),
                        e.figures.scroll_depth(),
                        session.0,
                        e.path.as_str(),
                        to_ts(e.created_at)
                    ],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    },
                )
                .optional()?;
            if let Some((site, event, at)) = raised {
                log.execute(params![site, event, at])?;
                applied += 1;
            }
        }
        if let Some(mark) = &batch.replay {
            tx.prepare_cached(RECORD_REPLAY)?.execute(params![
                mark.spool,
                mark.part,
                batch.events.len() as i64
            ])?;
        }
    }
    tx.commit()?;
    Ok(BatchOutcome::of(batch, applied))
}
