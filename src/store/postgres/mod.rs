//! Postgres backend: pooled connections, timestamptz columns, JSONB props. The engine for
//! several collectors sharing one database.

mod batch;
mod partitions;

use super::backend::{Backend, Session};
use super::once::{Held, HeldBy, Job};
use super::sql::exec::{Exec, Native, Pools};
use super::sql::{Bind, Cell, Dialect, Kind};
use super::{BatchOutcome, StoreError};
use crate::domain::Batch;
use crate::store::engine::{self, Engine, build::BuildReport};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Postgres, QueryBuilder, Row as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Three pools: ten connections for questions (`stats`, under each request's deadline), five for
/// everything else (writes, which Postgres runs side by side, and logins, sessions, sites), and
/// one for the health check, so that slow views hold up neither.
///
/// With a read replica (`--database-read-url`) the ten question connections go to the replica,
/// and three more on the primary (`fresh`) serve the questions that must see the latest commits
/// (the segment builder's reads, the installation check). Everything else stays on the primary:
/// writes, logins, sessions, sites, settings, salts, the live view and the health check.
pub struct PostgresStore {
    db: Pools<Postgres>,
    stats: Pools<Postgres>,
    fresh: Pools<Postgres>,
    health: Pools<Postgres>,
    engine: Option<Engine>,
}

/// How long a question waits for a connection to the read replica. A replica that is down
/// refuses connections, which sqlx tries again until this runs out: well before a request's
/// deadline (10 s by default), even after waiting for the engine's refresh of the open days that
/// is trying too, so that the page says the replica is unavailable rather than that it was too
/// slow. Ten connections all busy for this long is a replica too loaded to answer, and says so.
const REPLICA_ACQUIRE: Duration = Duration::from_secs(3);

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, true).await
    }

    /// `query_engine: false` answers every question from raw rows (the engine's reference).
    pub async fn connect_with(url: &str, query_engine: bool) -> Result<Self, StoreError> {
        Self::connect_with_reads(url, None, query_engine).await
    }

    /// `connect_with`, questions going to the replica at `read_url` (`None`: the primary).
    /// Migrations run on the primary only; the replica is connected to lazily, so that footfall
    /// starts and collects while it is down.
    pub async fn connect_with_reads(
        url: &str,
        read_url: Option<&str>,
        query_engine: bool,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        // sqlx takes an advisory lock here, so collectors starting together migrate once.
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        // A question waits for a connection as long as its deadline allows; the pool's own
        // timeout is for the background tasks.
        let primary_questions = |connections| {
            PgPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(30))
        };
        let (stats, fresh) = match read_url {
            None => {
                let stats = primary_questions(10).connect(url).await?;
                (stats.clone(), stats)
            }
            Some(read_url) => {
                let replica = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(REPLICA_ACQUIRE)
                    .connect_lazy(read_url)?;
                probe_replica(&replica).await;
                (replica, primary_questions(3).connect(url).await?)
            }
        };
        let health = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(url)?;
        let pools = |reader, questions, replica| Pools {
            reader,
            writer: pool.clone(),
            questions,
            replica,
        };
        Ok(Self {
            db: pools(pool.clone(), false, false),
            stats: pools(stats, true, read_url.is_some()),
            fresh: pools(fresh, true, false),
            health: pools(health, false, false),
            engine: query_engine.then(Engine::default),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.writer
    }
}

/// Says at startup what the read replica is: a streaming standby, something else (a logical
/// replica, or the primary under another name), or not answering yet — which is no reason not to
/// start: collection does not need it, and questions fail with `StoreError::Replica` until it
/// answers.
async fn probe_replica(replica: &PgPool) {
    let probe = sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()").fetch_one(replica);
    match tokio::time::timeout(REPLICA_ACQUIRE, probe).await {
        Ok(Ok(true)) => tracing::info!("questions go to the read replica (a standby)"),
        Ok(Ok(false)) => tracing::warn!(
            "the read replica is not in recovery (not a streaming standby): questions go there \
             all the same"
        ),
        Ok(Err(e)) => tracing::warn!(
            error = %e,
            "the read replica does not answer; dashboard, stats API and export fail until it \
             does (collection goes on)"
        ),
        Err(_) => tracing::warn!(
            "the read replica does not answer; dashboard, stats API and export fail until it \
             does (collection goes on)"
        ),
    }
}

impl Native for Postgres {
    const DIALECT: Dialect = Dialect::Postgres;

    fn push_bind(qb: &mut QueryBuilder<Self>, bind: &Bind) {
        match bind {
            Bind::Int(v) => qb.push_bind(*v),
            Bind::Time(t) => qb.push_bind(*t),
            Bind::Text(v) => qb.push_bind(v.clone()),
            Bind::Date(day) => qb.push_bind(*day),
            Bind::Bytes(v) => qb.push_bind(v.clone()),
            Bind::Bool(v) => qb.push_bind(*v),
        };
    }

    fn cell(row: &PgRow, i: usize, kind: Kind) -> Result<Cell, StoreError> {
        Ok(match kind {
            Kind::Int => Cell::Int(row.try_get(i)?),
            Kind::Time => Cell::Time(Some(row.try_get(i)?)),
            Kind::OptInt => Cell::OptInt(row.try_get(i)?),
            Kind::OptTime => Cell::Time(row.try_get(i)?),
            Kind::Text => Cell::Text(row.try_get(i)?),
            Kind::Bool => Cell::Bool(row.try_get(i)?),
            Kind::Bytes => Cell::Bytes(row.try_get(i)?),
        })
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    /// `statement_timeout` for the connection's next statements: what is left of the deadline (at
    /// least a millisecond, as 0 turns it off), or off.
    fn stop_at(
        conn: &mut PgConnection,
        deadline: Option<Instant>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let ms = deadline.map_or(0, |at| {
                at.saturating_duration_since(Instant::now())
                    .as_millis()
                    .max(1)
            });
            sqlx::query("SELECT set_config('statement_timeout', $1, false)")
                .bind(ms.to_string())
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    fn stopped(e: &sqlx::Error) -> bool {
        // query_canceled, which statement_timeout raises.
        matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
    }
}

#[async_trait]
impl Backend for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn exec(&self) -> &dyn Exec {
        &self.db
    }

    fn stats(&self) -> &dyn Exec {
        &self.stats
    }

    fn fresh(&self) -> &dyn Exec {
        &self.fresh
    }

    fn health(&self) -> &dyn Exec {
        &self.health
    }

    async fn write_batch(&self, batch: Arc<Batch>) -> Result<BatchOutcome, StoreError> {
        batch::write(&self.db.writer, &batch).await
    }

    /// Of several collectors sharing the database, one builds at a time.
    fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    async fn build_segments(&self, now: DateTime<Utc>) -> Result<BuildReport, StoreError> {
        let Some(mut held) = self.lock(Job::Segments).await? else {
            return Ok(BuildReport::default());
        };
        let HeldBy::Postgres(conn) = &mut held.by else {
            return Err(StoreError::Corrupt("a Postgres job held by a lease".into()));
        };
        // Its writes on the lock's connection, so that a builder whose connection is gone (and
        // with it the lock) cannot go on writing beside the next one; its reads on the primary
        // too: a replica may not have the events its watermark covers.
        let result = engine::build::build(&mut Session::<Postgres>(conn), &self.fresh, now).await;
        self.unlock(held).await;
        result
    }

    async fn lock(&self, job: Job) -> Result<Option<Held>, StoreError> {
        // A session-level lock on a connection out of the pool: it lives as long as the
        // connection, so a collector that dies mid-run releases it with its connection, and a
        // long job does not keep one of the writer's connections.
        let mut conn = self.db.writer.acquire().await?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(job.lock_key())
            .fetch_one(&mut conn)
            .await?;
        if !locked {
            let _ = sqlx::Connection::close(conn).await;
            return Ok(None);
        }
        Ok(Some(Held {
            job,
            by: HeldBy::Postgres(conn),
        }))
    }

    async fn keep_partitions(&self, now: DateTime<Utc>) -> Result<u32, StoreError> {
        partitions::keep(&self.db.writer, now).await
    }

    async fn drop_partitions_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        partitions::drop_before(&self.db.writer, before).await
    }

    async fn unlock(&self, held: Held) {
        // Closing the connection releases the lock, whatever state the job left it in.
        if let HeldBy::Postgres(conn) = held.by
            && let Err(e) = sqlx::Connection::close(conn).await
        {
            tracing::debug!(job = held.job.name(), error = %e, "closing a job's connection failed");
        }
    }
}
