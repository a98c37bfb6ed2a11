//! What a backend is to the stores: its statements' runner (`Exec`), its batch writer, its
//! query engine, and the segment builder's connection (`Session`, `Pooled`). Above both the SQL
//! layer and the engine, so that neither imports the other's user.

use super::engine::Engine;
use super::engine::build::{BuildReport, BuildSession};
use super::once::{Held, Job};
use super::sql::exec::{Driver, Exec};
use super::sql::{Dialect, Kind, Row, Sql};
use super::{BatchOutcome, StoreError};
use crate::domain::Batch;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Connection as _, Database};
use std::sync::Arc;

/// The segment builder's one connection (which holds the builder's lock, where there is one).
pub(crate) struct Session<'a, DB: Database>(pub &'a mut DB::Connection);

#[async_trait]
impl<DB: Driver> BuildSession for Session<'_, DB> {
    fn dialect(&self) -> Dialect {
        DB::DIALECT
    }

    async fn fetch(&mut self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        DB::fetch_on(self.0, sql, kinds).await
    }

    async fn atomically(&mut self, statements: &[Sql]) -> Result<(), StoreError> {
        let mut tx = self.0.begin().await?;
        for sql in statements {
            DB::execute_on(&mut tx, sql).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The segment builder on a store's pools, taking a connection per read and per transaction: on
/// SQLite the builder must not hold the one writer connection between its transactions (sites,
/// salts and logins write through it too).
pub(crate) struct Pooled<'a>(pub &'a dyn Exec);

#[async_trait]
impl BuildSession for Pooled<'_> {
    fn dialect(&self) -> Dialect {
        self.0.dialect()
    }

    async fn fetch(&mut self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        self.0.fetch(sql, kinds).await
    }

    async fn atomically(&mut self, statements: &[Sql]) -> Result<(), StoreError> {
        let mut tx = self.0.begin().await?;
        for sql in statements {
            tx.execute(sql).await?;
        }
        tx.commit().await
    }
}

/// What a backend provides beyond running statements: the parts that really differ. The stores'
/// traits (`IngestStore`, `AuthStore`, `StatsStore`) are implemented once for every `Backend`.
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// "sqlite" or "postgres", for logs and metrics.
    fn name(&self) -> &'static str;
    /// Everything but questions: sites, logins, sessions, API keys, the writer's statements.
    fn exec(&self) -> &dyn Exec;
    /// Questions (the dashboard's, the API's, exports', and the query engine's reads), on a pool of
    /// their own under each request's budget (`store::deadline`), so that a slow view cannot hold
    /// up logins and writes.
    fn stats(&self) -> &dyn Exec;
    /// Questions that must see the latest commits, so never on a read replica: the segment
    /// builder's reads (its watermark and its writes are on the primary) and the settings page's
    /// installation check. The same pool as `stats` where there is no replica.
    fn fresh(&self) -> &dyn Exec;
    /// The health check's own connection, which no question can take.
    fn health(&self) -> &dyn Exec;
    /// Writes a batch atomically (each engine has its own fast path).
    async fn write_batch(&self, batch: Arc<Batch>) -> Result<BatchOutcome, StoreError>;
    /// The query engine, unless the store was opened without one (to answer from raw rows).
    fn engine(&self) -> Option<&Engine>;
    /// Runs the segment builder (`engine::build`) under its job's lock (`Job::Segments`); a
    /// run that finds another process building leaves it to them.
    async fn build_segments(&self, now: DateTime<Utc>) -> Result<BuildReport, StoreError>;
    /// Takes `job` if no other process holds it (`store::once`).
    async fn lock(&self, job: Job) -> Result<Option<Held>, StoreError>;
    /// Gives a job back.
    async fn unlock(&self, held: Held);
    /// Makes the event partitions due by `now` (`Job::Partitions`); returns how many were made.
    /// SQLite has none.
    async fn keep_partitions(&self, _now: DateTime<Utc>) -> Result<u32, StoreError> {
        Ok(0)
    }
    /// Drops the event partitions holding only events before `before` (retention); returns how
    /// many went. SQLite has none: retention deletes rows there.
    async fn drop_partitions_before(&self, _before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
