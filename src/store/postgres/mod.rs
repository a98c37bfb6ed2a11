//! Postgres backend: pooled connections, timestamptz columns, JSONB props. The engine for
//! several collectors sharing one database.

mod auth;
mod stats;

use super::{
    IngestStore, OpenSession, Salt, StoreError, StoredEvent, StoredSession, insert_chunks,
    parse_domain, parse_timezone,
};
use crate::domain::{SessionId, Site, SiteDomain, SiteId, TimeZone, VisitorId};
use crate::ingest::event::Batch;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use std::sync::Arc;
use std::time::Duration;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        // sqlx takes an advisory lock here, so collectors starting together migrate once.
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn site_from_row(row: &PgRow) -> Result<Site, StoreError> {
    Ok(Site {
        id: SiteId(row.try_get("id")?),
        domain: parse_domain(row.try_get("domain")?)?,
        timezone: parse_timezone(row.try_get("timezone")?)?,
    })
}

/// A stored event as read back (`SELECT *` or the same columns).
pub(super) fn event_from_row(row: &PgRow) -> Result<StoredEvent, StoreError> {
    let props: Option<String> = row.try_get("props")?;
    Ok(StoredEvent {
        id: row.try_get("id")?,
        site_id: row.try_get("site_id")?,
        created_at: row.try_get("created_at")?,
        visitor_id: row.try_get("visitor_id")?,
        session_id: row.try_get("session_id")?,
        name: row.try_get("name")?,
        hostname: row.try_get("hostname")?,
        path: row.try_get("path")?,
        referrer: row.try_get("referrer")?,
        referrer_source: row.try_get("referrer_source")?,
        utm_source: row.try_get("utm_source")?,
        utm_medium: row.try_get("utm_medium")?,
        utm_campaign: row.try_get("utm_campaign")?,
        utm_content: row.try_get("utm_content")?,
        utm_term: row.try_get("utm_term")?,
        browser: row.try_get("browser")?,
        browser_version: row.try_get("browser_version")?,
        os: row.try_get("os")?,
        os_version: row.try_get("os_version")?,
        device: row.try_get("device")?,
        country: row.try_get("country")?,
        region: row.try_get("region")?,
        city: row.try_get("city")?,
        viewport_width: row.try_get("viewport_width")?,
        props: props
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("props: {e}")))?,
    })
}

#[async_trait]
impl IngestStore for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn add_site(&self, domain: &SiteDomain, timezone: TimeZone) -> Result<Site, StoreError> {
        let result =
            sqlx::query("INSERT INTO sites (domain, timezone) VALUES ($1, $2) RETURNING id")
                .bind(domain.as_str())
                .bind(timezone.name())
                .fetch_one(&self.pool)
                .await;
        match result {
            Ok(row) => Ok(Site {
                id: SiteId(row.try_get("id")?),
                domain: domain.clone(),
                timezone,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::SiteExists(domain.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        sqlx::query("SELECT id, domain, timezone FROM sites ORDER BY domain")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(site_from_row)
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn delete_site(&self, site: SiteId) -> Result<(), StoreError> {
        // Children first, in one transaction: the foreign keys cascade too, but explicit
        // deletes keep the cost visible and do not depend on the cascade being enabled.
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM events WHERE site_id = $1")
            .bind(site.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE site_id = $1")
            .bind(site.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sites WHERE id = $1")
            .bind(site.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn salt_for_day(&self, day: NaiveDate) -> Result<Salt, StoreError> {
        let fresh: [u8; 32] = rand::random();
        sqlx::query("INSERT INTO salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING")
            .bind(day)
            .bind(&fresh[..])
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT salt FROM salts WHERE day = $1")
            .bind(day)
            .fetch_one(&self.pool)
            .await?;
        let bytes: Vec<u8> = row.try_get("salt")?;
        let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            StoreError::Corrupt(format!("salt for {day} has {} bytes", bytes.len()))
        })?;
        Ok(Salt { day, key })
    }

    #[tracing::instrument(skip_all)]
    async fn delete_salts_before(&self, day: NaiveDate) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM salts WHERE day < $1")
            .bind(day)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(events = batch.events.len(), sessions = batch.sessions.len()))]
    async fn write_batch(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in insert_chunks(batch.events.len()) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO events (site_id, created_at, visitor_id, session_id, name, hostname, \
                 path, referrer, referrer_source, utm_source, utm_medium, utm_campaign, \
                 utm_content, utm_term, browser, browser_version, os, os_version, device, \
                 country, region, city, viewport_width, props) ",
            );
            q.push_values(chunk, |mut b, i| {
                let e = &batch.events[i];
                b.push_bind(e.site_id.0)
                    .push_bind(e.created_at)
                    .push_bind(e.visitor_id.0)
                    .push_bind(batch.session_ids[i].0)
                    .push_bind(e.name.as_str())
                    .push_bind(e.hostname.as_str())
                    .push_bind(e.path.as_str())
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
                    .push_bind(e.city.as_deref())
                    .push_bind(e.viewport_width)
                    .push_bind(e.props.to_json())
                    .push_unseparated("::jsonb");
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in insert_chunks(batch.sessions.len()) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO sessions (id, site_id, visitor_id, started_at, ended_at, entry_path, \
                 exit_path, pageviews, events, hostname, referrer, referrer_source, utm_source, \
                 utm_medium, utm_campaign, utm_content, utm_term, browser, browser_version, os, \
                 os_version, device, country, region, city) ",
            );
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
                    .push_bind(s.events)
                    .push_bind(e.hostname.as_str())
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
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn open_sessions(
        &self,
        ended_after: DateTime<Utc>,
    ) -> Result<Vec<OpenSession>, StoreError> {
        sqlx::query(
            "SELECT id, visitor_id, started_at, ended_at FROM sessions \
             WHERE site_id IN (SELECT id FROM sites) AND started_at > $1 AND ended_at > $2",
        )
        .bind(ended_after - super::MAX_RESUMED_VISIT)
        .bind(ended_after)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(OpenSession {
                id: SessionId(row.try_get("id")?),
                visitor_id: VisitorId(row.try_get("visitor_id")?),
                started_at: row.try_get("started_at")?,
                ended_at: row.try_get("ended_at")?,
            })
        })
        .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn recent_events(
        &self,
        site: SiteId,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        sqlx::query(
            "SELECT id, site_id, created_at, visitor_id, session_id, name, hostname, path, \
             referrer, referrer_source, utm_source, utm_medium, utm_campaign, utm_content, \
             utm_term, browser, browser_version, os, os_version, device, country, region, city, \
             viewport_width, props::text AS props \
             FROM events WHERE site_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(site.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn recent_sessions(
        &self,
        site: SiteId,
        limit: i64,
    ) -> Result<Vec<StoredSession>, StoreError> {
        sqlx::query(
            "SELECT * FROM sessions WHERE site_id = $1 ORDER BY started_at DESC, id LIMIT $2",
        )
        .bind(site.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredSession {
                id: row.try_get("id")?,
                site_id: row.try_get("site_id")?,
                visitor_id: row.try_get("visitor_id")?,
                started_at: row.try_get("started_at")?,
                ended_at: row.try_get("ended_at")?,
                entry_path: row.try_get("entry_path")?,
                exit_path: row.try_get("exit_path")?,
                pageviews: row.try_get("pageviews")?,
                events: row.try_get("events")?,
                referrer_source: row.try_get("referrer_source")?,
                utm_source: row.try_get("utm_source")?,
                browser: row.try_get("browser")?,
                os: row.try_get("os")?,
                device: row.try_get("device")?,
                country: row.try_get("country")?,
            })
        })
        .collect()
    }

    async fn count_events(&self, site: SiteId) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE site_id = $1")
            .bind(site.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
