//! Postgres backend: pooled connections, timestamptz columns, JSONB props. The engine for
//! several collectors sharing one database.

mod batch;

use super::StoreError;
use super::backend::{Backend, Session};
use super::sql::exec::{Exec, Native, Pools};
use super::sql::{Bind, Cell, Dialect, Kind};
use crate::domain::Batch;
use crate::store::engine::{self, Engine, build::BuildReport};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Postgres, QueryBuilder, Row as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Advisory lock key of the segment builder ("footfall" in ASCII, then 1).
const BUILD_LOCK: i64 = 0x666f_6f74_6661_0001;

/// Three pools: ten connections for questions (`stats`, under each request's deadline), five for
/// everything else (writes, which Postgres runs side by side, and logins, sessions, sites), and
/// one for the health check, so that slow views hold up neither.
pub struct PostgresStore {
    db: Pools<Postgres>,
    stats: Pools<Postgres>,
    health: Pools<Postgres>,
    engine: Option<Engine>,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, true).await
    }

    /// `query_engine: false` answers every question from raw rows (the engine's reference).
    pub async fn connect_with(url: &str, query_engine: bool) -> Result<Self, StoreError> {
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
        let stats = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        let health = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(url)?;
        let pools = |reader, questions| Pools {
            reader,
            writer: pool.clone(),
            questions,
        };
        Ok(Self {
            db: pools(pool.clone(), false),
            stats: pools(stats, true),
            health: pools(health, false),
            engine: query_engine.then(Engine::default),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.writer
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

    fn health(&self) -> &dyn Exec {
        &self.health
    }

    async fn write_batch(&self, batch: Arc<Batch>) -> Result<(), StoreError> {
        batch::write(&self.db.writer, &batch).await
    }

    /// Of several collectors sharing the database, one builds at a time.
    fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    async fn build_segments(&self, now: DateTime<Utc>) -> Result<BuildReport, StoreError> {
        // A session-level lock: it lives with this connection, so a collector that dies mid-run
        // releases it with its connection.
        let mut conn = self.db.writer.acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(BUILD_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Ok(BuildReport::default());
        }
        let mut session = Session(conn);
        let result = engine::build::build(&mut session, &self.stats, now).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(BUILD_LOCK)
            .execute(&mut *session.0)
            .await;
        if unlocked.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            session.0.close_on_drop();
        }
        result
    }
}
