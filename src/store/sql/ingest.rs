//! `IngestStore`, once for every backend: sites, salts, the visits a restarting writer resumes,
//! and events and sessions read back.

use super::retention::{self, RetentionReport};
use super::stored::{
    EVENT_COLUMNS, EVENT_KINDS, SESSION_COLUMNS, SESSION_KINDS, stored_event, stored_session,
};
use super::{Bind, Dialect, Kind, Sql};
use crate::domain::{Batch, SessionId, Site, SiteDomain, SiteId, TimeZone, UmamiId, VisitorId};
use crate::store::backend::Backend;
use crate::store::once::{self, Held, Job};
use crate::store::{
    BatchOutcome, IngestStore, MAX_RESUMED_VISIT, OpenSession, Salt, SiteRetention, StoreError,
    StoredEvent, StoredSession,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use std::time::Duration;

fn corrupt(e: crate::domain::Invalid) -> StoreError {
    StoreError::Corrupt(e.0)
}

#[async_trait]
impl<B: Backend> IngestStore for B {
    fn backend(&self) -> &'static str {
        self.name()
    }

    /// On the health check's own connection: never behind a question.
    async fn ping(&self) -> Result<(), StoreError> {
        let mut sql = Sql::new(self.health().dialect());
        sql.push("SELECT 1");
        self.health().fetch(&sql, &[]).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn add_site(&self, domain: &SiteDomain, timezone: TimeZone) -> Result<Site, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("INSERT INTO sites (domain, timezone, created_at) VALUES (")
            .list([
                Bind::Text(domain.as_str().to_owned()),
                Bind::Text(timezone.name().to_owned()),
            ])
            .push(", ")
            .now()
            .push(") RETURNING id");
        let id = super::insert_id(self.exec(), &sql, || {
            StoreError::SiteExists(domain.to_string())
        })
        .await?;
        Ok(Site {
            id: SiteId(id),
            domain: domain.clone(),
            timezone,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT id, domain, timezone FROM sites ORDER BY domain");
        let rows = self
            .exec()
            .fetch(&sql, &[Kind::Int, Kind::Text, Kind::Text])
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Site {
                    id: SiteId(row.int(0)?),
                    domain: SiteDomain::parse(&row.string(1)?).map_err(corrupt)?,
                    timezone: TimeZone::parse(&row.string(2)?).map_err(corrupt)?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn delete_site(&self, site: SiteId) -> Result<(), StoreError> {
        // Children first, in one transaction: the foreign keys cascade too, but explicit
        // deletes keep the cost visible and do not depend on the cascade being enabled.
        let d = self.exec().dialect();
        let mut tx = self.exec().begin().await?;
        // Postgres: take the site's row first. A batch being written holds a key-share lock on
        // it (its events' foreign key) and may go on to the visits deleted below; locking the
        // site first waits for such batches instead of deadlocking with one, and batches after
        // it wait on the lock and then find the site gone. (SQLite has one writer at a time.)
        if d == Dialect::Postgres {
            tx.execute(
                Sql::new(d)
                    .push("SELECT id FROM sites WHERE id = ")
                    .int(site.0)
                    .push(" FOR UPDATE"),
            )
            .await?;
        }
        for delete in [
            "DELETE FROM umami_ids WHERE site_id = ",
            "DELETE FROM events WHERE site_id = ",
            "DELETE FROM sessions WHERE site_id = ",
            "DELETE FROM sites WHERE id = ",
        ] {
            tx.execute(Sql::new(d).push(delete).int(site.0)).await?;
        }
        tx.commit().await
    }

    #[tracing::instrument(skip_all)]
    async fn salt_for_day(&self, day: NaiveDate) -> Result<Salt, StoreError> {
        let d = self.exec().dialect();
        let fresh: [u8; 32] = rand::random();
        let mut insert = Sql::new(d);
        insert
            .push("INSERT INTO salts (day, salt) VALUES (")
            .list([Bind::Date(day), Bind::Bytes(fresh.to_vec())])
            .push(") ON CONFLICT (day) DO NOTHING");
        let mut select = Sql::new(d);
        select
            .push("SELECT salt FROM salts WHERE day = ")
            .bind(Bind::Date(day));
        // Whoever inserted first, every caller reads back the one stored salt.
        let mut tx = self.exec().begin().await?;
        tx.execute(&insert).await?;
        let rows = tx.fetch(&select, &[Kind::Bytes]).await?;
        tx.commit().await?;
        let bytes = rows
            .first()
            .map(|row| row.bytes(0))
            .transpose()?
            .unwrap_or_default();
        let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            StoreError::Corrupt(format!("salt for {day} has {} bytes", bytes.len()))
        })?;
        Ok(Salt { day, key })
    }

    #[tracing::instrument(skip_all)]
    async fn delete_salts_before(&self, day: NaiveDate) -> Result<u64, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM salts WHERE day < ")
            .bind(Bind::Date(day));
        let deleted = self.exec().execute(&sql).await?;
        // The visitors of those days can never come back: their visits are closed for good. A
        // row goes once no writer has used it for a day (a writer of history, an import, uses
        // rows of visits that ended long ago).
        if self.exec().dialect() == Dialect::Postgres {
            let mut sql = Sql::new(Dialect::Postgres);
            sql.push("DELETE FROM open_visits WHERE touched_at < ")
                .at(day.and_time(chrono::NaiveTime::MIN).and_utc() - chrono::TimeDelta::days(1));
            self.exec().execute(&sql).await?;
        }
        Ok(deleted)
    }

    #[tracing::instrument(skip_all, fields(events = batch.events.len(), sessions = batch.sessions.len(), engagements = batch.engagements.len()))]
    async fn write_batch(&self, batch: Arc<Batch>) -> Result<BatchOutcome, StoreError> {
        Backend::write_batch(self, batch).await
    }

    #[tracing::instrument(skip_all)]
    async fn replayed_parts(&self, spool: &str) -> Result<Vec<i64>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT part FROM spool_replays WHERE spool = ")
            .bind(Bind::Text(spool.to_owned()));
        // On the writer's side (a transaction): what was just written is what counts.
        let mut tx = self.exec().begin().await?;
        let rows = tx.fetch(&sql, &[Kind::Int]).await?;
        tx.commit().await?;
        rows.iter().map(|row| row.int(0)).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn open_sessions(
        &self,
        ended_after: DateTime<Utc>,
    ) -> Result<Vec<OpenSession>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push(
            "SELECT id, visitor_id, started_at, ended_at FROM sessions \
             WHERE site_id IN (SELECT id FROM sites) AND started_at > ",
        )
        .at(ended_after - MAX_RESUMED_VISIT)
        .push(" AND ended_at > ")
        .at(ended_after);
        let kinds = [Kind::Int, Kind::Int, Kind::Time, Kind::Time];
        let rows = self.exec().fetch(&sql, &kinds).await?;
        rows.iter()
            .map(|row| {
                Ok(OpenSession {
                    id: SessionId(row.int(0)?),
                    visitor_id: VisitorId(row.int(1)?),
                    started_at: row.time(2)?,
                    ended_at: row.time(3)?,
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
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT ")
            .push(EVENT_COLUMNS)
            .push(" FROM events e WHERE e.site_id = ")
            .int(site.0)
            .push(" ORDER BY e.created_at DESC, e.id DESC LIMIT ")
            .int(limit);
        let rows = self.exec().fetch(&sql, &EVENT_KINDS).await?;
        rows.iter().map(stored_event).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn recent_sessions(
        &self,
        site: SiteId,
        limit: i64,
    ) -> Result<Vec<StoredSession>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT ")
            .push(SESSION_COLUMNS)
            .push(" FROM sessions WHERE site_id = ")
            .int(site.0)
            .push(" ORDER BY started_at DESC, id LIMIT ")
            .int(limit);
        let rows = self.exec().fetch(&sql, &SESSION_KINDS).await?;
        rows.iter().map(stored_session).collect()
    }

    async fn take_job(&self, job: Job, every: Duration) -> Result<Option<Held>, StoreError> {
        // Asked first without the lock (a read, where taking the lock costs a connection), then
        // again under it: another process may have finished it in between.
        if !once::due(self.exec(), job, every).await? {
            return Ok(None);
        }
        let Some(held) = Backend::lock(self, job).await? else {
            return Ok(None);
        };
        match once::due(self.exec(), job, every).await {
            Ok(true) => Ok(Some(held)),
            Ok(false) => {
                self.unlock(held).await;
                Ok(None)
            }
            Err(e) => {
                self.unlock(held).await;
                Err(e)
            }
        }
    }

    async fn end_job(&self, held: Held, finished: bool) -> Result<(), StoreError> {
        let recorded = match finished {
            true => once::finished(self.exec(), held.job()).await,
            false => Ok(()),
        };
        self.unlock(held).await;
        recorded
    }

    async fn apply_retention(
        &self,
        default_days: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Option<RetentionReport>, StoreError> {
        // Retention and the builder take turns: it must not build a day retention is deleting.
        let Some(building) = Backend::lock(self, Job::Segments).await? else {
            return Ok(None);
        };
        let result = async {
            let cutoffs = retention::cutoffs(self.exec(), default_days, now).await?;
            let mut report = RetentionReport {
                waiting: cutoffs.iter().filter(|c| c.waiting).count() as u64,
                ..RetentionReport::default()
            };
            // Recorded before any row goes, so that no day loses its rows unrecorded.
            for cutoff in &cutoffs {
                if let Some(at) = cutoff.before {
                    retention::keep_from(self.exec(), cutoff.site, at).await?;
                }
            }
            if let Some(before) = retention::common(&cutoffs) {
                report.partitions = self.drop_partitions_before(before).await?;
            }
            for cutoff in &cutoffs {
                let Some(at) = cutoff.before else { continue };
                let (events, visits) = retention::delete(self.exec(), cutoff.site, at).await?;
                report.sites += 1;
                report.events += events;
                report.visits += visits;
            }
            Ok(report)
        }
        .await;
        self.unlock(building).await;
        result.map(Some)
    }

    async fn keep_partitions(&self, now: DateTime<Utc>) -> Result<u32, StoreError> {
        Backend::keep_partitions(self, now).await
    }

    async fn site_retention(&self, site: SiteId) -> Result<SiteRetention, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT CAST(days AS BIGINT), kept_from FROM site_retention WHERE site_id = ")
            .int(site.0);
        let rows = self
            .exec()
            .fetch(&sql, &[Kind::OptInt, Kind::OptTime])
            .await?;
        let Some(row) = rows.first() else {
            return Ok(SiteRetention::default());
        };
        Ok(SiteRetention {
            days: row.opt_int(0)?.and_then(|d| u32::try_from(d).ok()),
            kept_from: row.opt_time(1)?,
        })
    }

    async fn set_site_retention(&self, site: SiteId, days: Option<u32>) -> Result<(), StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("INSERT INTO site_retention (site_id, days) VALUES (")
            .int(site.0)
            .push(", ");
        match days {
            Some(days) => sql.int(i64::from(days)),
            None => sql.push("NULL"),
        };
        sql.push(") ON CONFLICT (site_id) DO UPDATE SET days = excluded.days");
        self.exec().execute(&sql).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn umami_ids(&self) -> Result<Vec<(UmamiId, SiteId)>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT website_id, site_id FROM umami_ids ORDER BY website_id");
        let rows = self.exec().fetch(&sql, &[Kind::Text, Kind::Int]).await?;
        rows.iter()
            .map(|row| {
                let id = UmamiId::parse(&row.string(0)?).map_err(corrupt)?;
                Ok((id, SiteId(row.int(1)?)))
            })
            .collect()
    }

    /// In one transaction: the site's old id goes, the new one comes, or neither.
    #[tracing::instrument(skip_all)]
    async fn set_umami_id(&self, site: SiteId, id: Option<&UmamiId>) -> Result<(), StoreError> {
        let d = self.exec().dialect();
        let mut tx = self.exec().begin().await?;
        tx.execute(
            Sql::new(d)
                .push("DELETE FROM umami_ids WHERE site_id = ")
                .int(site.0),
        )
        .await?;
        if let Some(id) = id {
            let mut insert = Sql::new(d);
            insert
                .push("INSERT INTO umami_ids (website_id, site_id) VALUES (")
                .list([Bind::Text(id.as_str().to_owned()), Bind::Int(site.0)])
                .push(")");
            if let Err(e) = tx.execute(&insert).await {
                return Err(if e.is_unique_violation() {
                    StoreError::UmamiIdTaken(id.to_string())
                } else {
                    e
                });
            }
        }
        tx.commit().await
    }

    /// On the primary: the tag is taken by a write.
    async fn writer_tag(&self) -> Result<u64, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("INSERT INTO writers (started_at) VALUES (")
            .now()
            .push(") RETURNING id");
        let mut tx = self.exec().begin().await?;
        let rows = tx.fetch(&sql, &[Kind::Int]).await?;
        tx.commit().await?;
        let id = rows.first().map_or(Ok(0), |row| row.int(0))?;
        Ok(id.unsigned_abs())
    }

    /// On the primary: upgrades write.
    async fn run_upgrades(&self) -> Result<u64, StoreError> {
        super::upgrade::run(self.exec()).await
    }

    /// A question (a count over every event of the site), on the primary's questions pool: the
    /// installation check must see the event just sent, not a replica's view of a moment ago.
    async fn count_events(&self, site: SiteId) -> Result<i64, StoreError> {
        let mut sql = Sql::new(self.fresh().dialect());
        sql.push("SELECT COUNT(*) FROM events WHERE site_id = ")
            .int(site.0);
        let rows = self.fresh().fetch(&sql, &[Kind::Int]).await?;
        rows.first().map_or(Ok(0), |row| row.int(0))
    }
}
