//! The Postgres side of the batch writer: multi-row INSERTs of a few fixed sizes (see
//! `insert_chunks`), events and session upserts, then one statement for all the engagement
//! updates, in one transaction, which takes its transaction id before it draws event ids.

use crate::domain::visits::{self, Assigned, Found, OpenVisit, Probe};
use crate::domain::{Batch, Event, Revenue, SessionId, VisitorId};
use crate::store::{BatchOutcome, StoreError, insert_chunks};
use chrono::{DateTime, Utc};
use sqlx::query_builder::Separated;
use sqlx::{PgPool, Postgres, QueryBuilder};
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

/// The columns an event and its visit's entry share, in this order at the end of both INSERTs.
const ENTRY_COLUMNS: &str = "hostname, referrer, referrer_source, utm_source, utm_medium, \
     utm_campaign, utm_content, utm_term, browser, browser_version, os, os_version, device, \
     country, region, city";

fn push_entry(b: &mut Separated<'_, Postgres, &str>, e: &Event) {
    b.push_bind(e.hostname.as_str())
        .push_bind(e.referrer.as_deref())
        .push_bind(e.referrer_source.as_deref())
        .push_bind(e.utm.source.as_deref())
        .push_bind(e.utm.medium.as_deref())
        .push_bind(e.utm.campaign.as_deref())
        .push_bind(e.utm.content.as_deref())
        .push_bind(e.utm.term.as_deref())
        .push_bind(e.browser)
        .push_bind(e.browser_version.as_str())
        .push_bind(e.os)
        .push_bind(e.os_version.as_str())
        .push_bind(e.device)
        .push_bind(e.country.as_deref())
        .push_bind(e.region.as_deref())
        .push_bind(e.city.as_deref());
}

pub(super) async fn write(pool: &PgPool, batch: &Batch) -> Result<BatchOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    // The transaction id first, event ids after: a live stream counts on every id it has seen
    // being held by a transaction that already had its id (see `store::live`). Postgres would
    // otherwise assign it at the first row written, after that row's id was drawn.
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *tx)
        .await?;
    let (session_ids, sessions, visits) = sessionize(&mut tx, batch).await?;
    for chunk in insert_chunks(batch.events.len()) {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO events (site_id, created_at, visitor_id, session_id, name, path, \
             viewport_width, props, revenue_micros, revenue_currency, {ENTRY_COLUMNS}) "
        ));
        q.push_values(chunk, |mut b, i| {
            let e = &batch.events[i];
            b.push_bind(e.site_id.0)
                .push_bind(e.created_at)
                .push_bind(e.visitor_id.0)
                .push_bind(session_ids[i].0)
                .push_bind(e.name.as_str())
                .push_bind(e.path.as_str())
                .push_bind(e.viewport_width)
                .push_bind(e.props.to_json())
                .push_unseparated("::jsonb")
                .push_bind(e.revenue.as_ref().map(Revenue::micros))
                .push_bind(e.revenue.as_ref().map(Revenue::currency));
            push_entry(&mut b, e);
        });
        q.build().execute(&mut *tx).await?;
    }
    for chunk in insert_chunks(sessions.len()) {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO sessions (id, site_id, visitor_id, started_at, ended_at, entry_path, \
             exit_path, exit_at, pageviews, events, {ENTRY_COLUMNS}) "
        ));
        q.push_values(&sessions[chunk], |mut b, s| {
            let e = &batch.events[s.first_event];
            b.push_bind(s.id.0)
                .push_bind(e.site_id.0)
                .push_bind(e.visitor_id.0)
                .push_bind(s.started_at)
                .push_bind(s.ended_at)
                .push_bind(e.path.as_str())
                .push_bind(s.exit_path.as_deref().unwrap_or(e.path.as_str()))
                .push_bind(s.exit_at)
                .push_bind(s.pageviews)
                .push_bind(s.events);
            push_entry(&mut b, e);
        });
        q.push(UPSERT_SESSION.as_str());
        q.build().execute(&mut *tx).await?;
    }
    // After the inserts: an update's pageview may be in this batch.
    let applied = apply_engagements(&mut tx, batch, &visits).await?;
    if let Some(mark) = &batch.replay {
        sqlx::query("INSERT INTO spool_replays (spool, part, events) VALUES ($1, $2, $3)")
            .bind(mark.spool.as_str())
            .bind(mark.part)
            .bind(batch.events.len() as i64)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(BatchOutcome::of(batch, applied))
}

/// Raises the figures of each update's pageview: the latest pageview of its path in its visit,
/// up to the update's own time (a reload sends the old page's update just before the new page's
/// pageview, and the two may share a batch). The lookup goes by `events_session_pageviews`, and
/// its bounds on created_at (the visit's first event, the update) keep it to the visit's months.
/// Several updates of one pageview in a batch count each, and the largest figures win. Each raised
/// pageview is named in the engagement log (0018), for the readers that follow the events table
/// by id. Returns how many updates found their pageview.
async fn apply_engagements(
    tx: &mut sqlx::PgConnection,
    batch: &Batch,
    visits: &[Found],
) -> Result<u64, StoreError> {
    let mut found = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (u, visit) in batch.engagements.iter().zip(visits) {
        let Some((session, since)) = visit else {
            continue;
        };
        let e = &u.engagement;
        found.0.push(session.0);
        found.1.push(e.path.as_str());
        found.2.push(*since);
        found.3.push(e.created_at);
        found.4.push(e.figures.engaged_ms());
        found.5.push(e.figures.scroll_depth());
    }
    if found.0.is_empty() {
        return Ok(0);
    }
    // A data-modifying WITH runs to completion whatever the outer query reads.
    let (matched,): (i64,) = sqlx::query_as(
        "WITH t AS (SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TIMESTAMPTZ[], \
                    $4::TIMESTAMPTZ[], $5::BIGINT[], $6::SMALLINT[]) \
                    AS t(session_id, path, since, at, ms, depth)), \
         hit AS (SELECT p.id, p.created_at, t.ms, t.depth FROM t CROSS JOIN LATERAL \
                 (SELECT e.id, e.created_at FROM events e \
                  WHERE e.session_id = t.session_id AND e.name = 'pageview' \
                    AND e.path = t.path AND e.created_at >= t.since AND e.created_at <= t.at \
                  ORDER BY e.created_at DESC, e.id DESC LIMIT 1) p), \
         raised AS (UPDATE events e SET \
                    engaged_ms = GREATEST(COALESCE(e.engaged_ms, 0), m.ms), \
                    scroll_depth = GREATEST(COALESCE(e.scroll_depth, 0), m.depth) \
                    FROM (SELECT id, created_at, MAX(ms) AS ms, MAX(depth) AS depth \
                          FROM hit GROUP BY id, created_at) m \
                    WHERE e.id = m.id AND e.created_at = m.created_at \
                    RETURNING e.site_id, e.id, e.created_at), \
         logged AS (INSERT INTO engagement_log (site_id, event_id, event_at) \
                    SELECT site_id, id, created_at FROM raised) \
         SELECT COUNT(*) FROM hit",
    )
    .bind(&found.0)
    .bind(&found.1)
    .bind(&found.2)
    .bind(&found.3)
    .bind(&found.4)
    .bind(&found.5)
    .fetch_one(&mut *tx)
    .await?;
    Ok(u64::try_from(matched).unwrap_or(0))
}

/// A batch's visits continue where the database's are, whichever collector wrote them: a batch
/// that starts earlier than the stored visit takes over its entry (page and attributes), and the
/// exit page is the latest pageview's, whatever order batches commit in.
static UPSERT_SESSION: LazyLock<String> = LazyLock::new(|| {
    // What a visit takes from its first event (the device and place are the visitor's anyway).
    const ENTRY: [&str; 9] = [
        "entry_path",
        "hostname",
        "referrer",
        "referrer_source",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
    ];
    let mut sql = String::from(
        " ON CONFLICT (id) DO UPDATE SET \
         started_at = LEAST(sessions.started_at, excluded.started_at), \
         ended_at = GREATEST(sessions.ended_at, excluded.ended_at), ",
    );
    for column in ENTRY {
        sql.push_str(&format!(
            "{column} = CASE WHEN excluded.started_at < sessions.started_at \
             THEN excluded.{column} ELSE sessions.{column} END, "
        ));
    }
    sql.push_str(
        "exit_path = CASE WHEN excluded.exit_at IS NOT NULL \
              AND (sessions.exit_at IS NULL OR excluded.exit_at >= sessions.exit_at) \
         THEN excluded.exit_path ELSE sessions.exit_path END, \
         exit_at = GREATEST(sessions.exit_at, excluded.exit_at), \
         pageviews = sessions.pageviews + excluded.pageviews, \
         events = sessions.events + excluded.events",
    );
    sql
});

/// Sessionizes `batch` again against the visits the database holds for its visitors, whose
/// `open_visits` rows it locks for the rest of the transaction (the missing ones are inserted
/// first, in key order, so that two collectors with the same new visitor queue on one row), then
/// moves those rows on. Visits new here get the batch's fresh ids, which no writer has used.
///
/// Engagement updates are given their visit the same way, at their place among the events; the
/// visits of visitors with only updates in the batch are read without a lock, and not moved.
async fn sessionize(tx: &mut sqlx::PgConnection, batch: &Batch) -> Result<Assigned, StoreError> {
    let visitors: BTreeSet<(i64, i64)> = batch
        .events
        .iter()
        .map(|e| (e.site_id.0, e.visitor_id.0))
        .collect();
    let (sites, ids): (Vec<i64>, Vec<i64>) = visitors.iter().copied().unzip();
    // The sites first, as the writes below would lock them (their foreign keys) and as a site's
    // deletion does before it deletes these rows: locked in the other order, the two deadlock.
    sqlx::query("SELECT 1 FROM sites WHERE id = ANY($1) ORDER BY id FOR KEY SHARE")
        .bind(&sites)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO open_visits (site_id, visitor_id, session_id, started_at, ended_at) \
         SELECT s, v, 0, 'epoch', 'epoch' FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(s, v) \
         ORDER BY s, v ON CONFLICT DO NOTHING",
    )
    .bind(&sites)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    let rows: Vec<(i64, i64, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT o.visitor_id, o.session_id, o.started_at, o.ended_at FROM open_visits o \
         JOIN UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(s, v) \
           ON o.site_id = t.s AND o.visitor_id = t.v \
         ORDER BY o.site_id, o.visitor_id FOR UPDATE OF o",
    )
    .bind(&sites)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut open: HashMap<VisitorId, OpenVisit> = rows
        .into_iter()
        .filter(|r| r.1 != 0)
        .map(|(visitor, id, first_at, last_at)| {
            (
                VisitorId(visitor),
                OpenVisit {
                    id: SessionId(id),
                    first_at,
                    last_at,
                },
            )
        })
        .collect();
    let readers: BTreeSet<(i64, i64)> = batch
        .engagements
        .iter()
        .map(|u| (u.engagement.site_id.0, u.engagement.visitor_id.0))
        .filter(|key| !visitors.contains(key))
        .collect();
    if !readers.is_empty() {
        let (sites, ids): (Vec<i64>, Vec<i64>) = readers.iter().copied().unzip();
        let rows: Vec<(i64, i64, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT o.visitor_id, o.session_id, o.started_at, o.ended_at FROM open_visits o \
             JOIN UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(s, v) \
               ON o.site_id = t.s AND o.visitor_id = t.v WHERE o.session_id <> 0",
        )
        .bind(&sites)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        for (visitor, id, first_at, last_at) in rows {
            open.insert(
                VisitorId(visitor),
                OpenVisit {
                    id: SessionId(id),
                    first_at,
                    last_at,
                },
            );
        }
    }
    if batch.fresh.len() != batch.events.len() {
        return Err(StoreError::Corrupt(
            "a batch without a fresh session id per event".into(),
        ));
    }
    let probes: Vec<Probe> = batch
        .engagements
        .iter()
        .map(|u| Probe {
            after: u.after,
            visitor: u.engagement.visitor_id,
            at: u.engagement.created_at,
        })
        .collect();
    let (session_ids, sessions, found) = visits::assign_with(
        &mut open,
        &batch.events,
        &batch.fresh,
        visits::TIMEOUT,
        &probes,
    );
    let mut moved = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &(site, visitor) in &visitors {
        if let Some(v) = open.get(&VisitorId(visitor)) {
            moved.0.push(site);
            moved.1.push(visitor);
            moved.2.push(v.id.0);
            moved.3.push(v.first_at);
            moved.4.push(v.last_at);
        }
    }
    sqlx::query(
        "UPDATE open_visits o SET session_id = t.id, started_at = t.f, ended_at = t.l, \
         touched_at = now() \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TIMESTAMPTZ[], \
                     $5::TIMESTAMPTZ[]) AS t(s, v, id, f, l) \
         WHERE o.site_id = t.s AND o.visitor_id = t.v",
    )
    .bind(&moved.0)
    .bind(&moved.1)
    .bind(&moved.2)
    .bind(&moved.3)
    .bind(&moved.4)
    .execute(&mut *tx)
    .await?;
    Ok((session_ids, sessions, found))
}
