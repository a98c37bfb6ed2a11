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
use sqlx::postgres::{PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Postgres, QueryBuilder, Row as _};
use std::sync::Arc;
use std::time::Duration;

/// Advisory lock key of the segment builder ("footfall" in ASCII, then 1).
const BUILD_LOCK: i64 = 0x666f_6f74_6661_0001;

pub struct PostgresStore {
    /// Reader and writer are the same pool: Postgres runs writers side by side.
    db: Pools<Postgres>,
    engine: Option<Engine>,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, true).await
    }

    /// `query_engine: false` answers every question from raw rows (the engine's reference).
    pub async fn connect_with(url: &str, query_engine: bool) -> Result<Self, StoreError> {
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
        Ok(Self {
            db: Pools {
                reader: pool.clone(),
                writer: pool,
            },
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
}

#[async_trait]
impl Backend for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn exec(&self) -> &dyn Exec {
        &self.db
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
        let result = engine::build::build(&mut session, &self.db, now).await;
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
