//! SQLite backend: one file, WAL mode, the embedded default. Times are unix seconds.

mod auth;
mod batch;
mod stats;

use super::{
    IngestStore, OpenSession, Salt, StoreError, StoredEvent, StoredSession, parse_domain,
    parse_timezone,
};
use crate::domain::{SessionId, Site, SiteDomain, SiteId, TimeZone, VisitorId};
use crate::ingest::event::Batch;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Three ways into one file: the batch writer's own connection (`batch`: events and sessions,
/// almost all the writing), one sqlx connection for the rest of the writes (sites, salts,
/// accounts, rollups; SQLite serialises writers anyway, and the busy timeout covers the rare
/// overlap with a batch), and a few sqlx readers, which WAL lets run alongside both.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    batches: batch::BatchWriter,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a crash can lose the last transactions but never corrupts the file,
            // and commits skip an fsync each.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        // Page caches are per connection: 16 MB for the batch writer, 2 MB for the other
        // writes, 8 MB for each reader, which bounds SQLite's own memory at about 50 MB; the OS
        // page cache does the rest.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("cache_size", "-2000"))
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&writer)
            .await
            .map_err(StoreError::Migrate)?;
        let batches = batch::BatchWriter::open(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // Readers go through a memory map, which shares the OS page cache between the pool's
            // connections: with pread, a connection whose cache another had outdated re-read
            // everything, and raw stats scans alternated between 0.1 and 0.3 s (measured on the
            // stats branch). The writer keeps pread, so ingest does not map the whole file into
            // its resident set. (2 GiB, SQLite's usual cap.)
            .connect_with(
                options
                    .pragma("cache_size", "-8000")
                    .pragma("mmap_size", "2147418112"),
            )
            .await?;
        Ok(Self {
            pool,
            writer,
            batches,
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn to_ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn from_ts(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs}")))
}

fn site_from_row(row: &SqliteRow) -> Result<Site, StoreError> {
    Ok(Site {
        id: SiteId(row.try_get("id")?),
        domain: parse_domain(row.try_get("domain")?)?,
        timezone: parse_timezone(row.try_get("timezone")?)?,
    })
}

fn salt_from_row(day: NaiveDate, bytes: &[u8]) -> Result<Salt, StoreError> {
    let key = <[u8; 32]>::try_from(bytes)
        .map_err(|_| StoreError::Corrupt(format!("salt for {day} has {} bytes", bytes.len())))?;
    Ok(Salt { day, key })
}

/// A stored event as read back (`SELECT *` or the same columns).
pub(super) fn event_from_row(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let props: Option<String> = row.try_get("props")?;
    Ok(StoredEvent {
        id: row.try_get("id")?,
        site_id: row.try_get("site_id")?,
        created_at: from_ts(row.try_get("created_at")?)?,
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
impl IngestStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn add_site(&self, domain: &SiteDomain, timezone: TimeZone) -> Result<Site, StoreError> {
        let result = sqlx::query(
            "INSERT INTO sites (domain, timezone, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(domain.as_str())
        .bind(timezone.name())
        .bind(Utc::now().timestamp())
        .fetch_one(&self.writer)
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
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM events WHERE site_id = ?")
            .bind(site.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE site_id = ?")
            .bind(site.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sites WHERE id = ?")
            .bind(site.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn salt_for_day(&self, day: NaiveDate) -> Result<Salt, StoreError> {
        let key = day.format("%Y-%m-%d").to_string();
        let fresh: [u8; 32] = rand::random();
        sqlx::query("INSERT INTO salts (day, salt) VALUES (?, ?) ON CONFLICT (day) DO NOTHING")
            .bind(&key)
            .bind(&fresh[..])
            .execute(&self.writer)
            .await?;
        let row = sqlx::query("SELECT salt FROM salts WHERE day = ?")
            .bind(&key)
            .fetch_one(&self.writer)
            .await?;
        salt_from_row(day, row.try_get::<&[u8], _>("salt")?)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_salts_before(&self, day: NaiveDate) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM salts WHERE day < ?")
            .bind(day.format("%Y-%m-%d").to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(events = batch.events.len(), sessions = batch.sessions.len()))]
    async fn write_batch(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
        self.batches.write(batch).await
    }

    #[tracing::instrument(skip_all)]
    async fn open_sessions(
        &self,
        ended_after: DateTime<Utc>,
    ) -> Result<Vec<OpenSession>, StoreError> {
        sqlx::query(
            "SELECT id, visitor_id, started_at, ended_at FROM sessions \
             WHERE site_id IN (SELECT id FROM sites) AND started_at > ? AND ended_at > ?",
        )
        .bind(to_ts(ended_after - super::MAX_RESUMED_VISIT))
        .bind(to_ts(ended_after))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(OpenSession {
                id: SessionId(row.try_get("id")?),
                visitor_id: VisitorId(row.try_get("visitor_id")?),
                started_at: from_ts(row.try_get("started_at")?)?,
                ended_at: from_ts(row.try_get("ended_at")?)?,
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
            "SELECT * FROM events WHERE site_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
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
        sqlx::query("SELECT * FROM sessions WHERE site_id = ? ORDER BY started_at DESC, id LIMIT ?")
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
                    started_at: from_ts(row.try_get("started_at")?)?,
                    ended_at: from_ts(row.try_get("ended_at")?)?,
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
        let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE site_id = ?")
            .bind(site.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
