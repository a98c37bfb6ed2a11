//! The Postgres side of the batch writer: multi-row INSERTs of a few fixed sizes (see
//! `insert_chunks`), events and session upserts in one transaction, which takes its transaction
//! id before it draws event ids.

use crate::domain::{Batch, Event};
use crate::store::{StoreError, insert_chunks};
use sqlx::query_builder::Separated;
use sqlx::{PgPool, Postgres, QueryBuilder};

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

pub(super) async fn write(pool: &PgPool, batch: &Batch) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // The transaction id first, event ids after: a live stream counts on every id it has seen
    // being held by a transaction that already had its id (see `store::live`). Postgres would
    // otherwise assign it at the first row written, after that row's id was drawn.
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *tx)
        .await?;
    for chunk in insert_chunks(batch.events.len()) {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO events (site_id, created_at, visitor_id, session_id, name, path, \
             viewport_width, props, {ENTRY_COLUMNS}) "
        ));
        q.push_values(chunk, |mut b, i| {
            let e = &batch.events[i];
            b.push_bind(e.site_id.0)
                .push_bind(e.created_at)
                .push_bind(e.visitor_id.0)
                .push_bind(batch.session_ids[i].0)
                .push_bind(e.name.as_str())
                .push_bind(e.path.as_str())
                .push_bind(e.viewport_width)
                .push_bind(e.props.to_json())
                .push_unseparated("::jsonb");
            push_entry(&mut b, e);
        });
        q.build().execute(&mut *tx).await?;
    }
    for chunk in insert_chunks(batch.sessions.len()) {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO sessions (id, site_id, visitor_id, started_at, ended_at, entry_path, \
             exit_path, pageviews, events, {ENTRY_COLUMNS}) "
        ));
        q.push_values(&batch.sessions[chunk], |mut b, s| {
            let e = &batch.events[s.first_event];
            b.push_bind(s.id.0)
                .push_bind(e.site_id.0)
                .push_bind(e.visitor_id.0)
                .push_bind(s.started_at)
                .push_bind(s.ended_at)
                .push_bind(e.path.as_str())
                .push_bind(s.exit_path.as_deref().unwrap_or(e.path.as_str()))
                .push_bind(s.pageviews)
                .push_bind(s.events);
            push_entry(&mut b, e);
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET \
             started_at = LEAST(sessions.started_at, excluded.started_at), \
             ended_at = GREATEST(sessions.ended_at, excluded.ended_at), \
             exit_path = CASE WHEN excluded.pageviews > 0 THEN excluded.exit_path \
                         ELSE sessions.exit_path END, \
             pageviews = sessions.pageviews + excluded.pageviews, \
             events = sessions.events + excluded.events",
        );
        q.build().execute(&mut *tx).await?;
    }
    if let Some(mark) = &batch.replay {
        sqlx::query("INSERT INTO spool_replays (spool, part, events) VALUES ($1, $2, $3)")
            .bind(mark.spool.as_str())
            .bind(mark.part)
            .bind(batch.events.len() as i64)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
