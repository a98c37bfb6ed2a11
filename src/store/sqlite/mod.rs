//! SQLite backend: one file, WAL mode, the embedded default. Times are unix seconds.

mod batch;

use super::backend::{Backend, Pooled};
use super::once::{self, Held, HeldBy, Job, Renewal};
use super::sql::exec::{Exec, Native, Pools};
use super::sql::{Bind, Cell, Dialect, Kind};
use super::{BatchOutcome, StoreError};
use crate::domain::Batch;
use crate::store::engine::{self, Engine, build::BuildReport};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteQueryResult, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row as _, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Several ways into one file: the batch writer's own connection (`batch`: events and sessions,
/// almost all the writing); one sqlx connection for the rest of the writes (sites, salts,
/// accounts, segments; SQLite serialises writers anyway, and the busy timeout covers the rare
/// overlap with a batch); and readers, which WAL lets run alongside both: four for questions
/// (`stats`, under each request's deadline), two for everything else (logins, sessions, sites),
/// and one for the health check, so that slow views hold up neither.
pub struct SqliteStore {
    db: Pools<Sqlite>,
    stats: Pools<Sqlite>,
    health: Pools<Sqlite>,
    batches: batch::BatchWriter,
    engine: Option<Engine>,
}

/// SQLite virtual machine steps between two looks at a question's deadline (a clock read each;
/// thousands of them a millisecond).
const STEPS_PER_CHECK: i32 = 10_000;

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, true).await
    }

    /// `query_engine: false` answers every question from raw rows (the engine's reference).
    pub async fn connect_with(url: &str, query_engine: bool) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a crash can lose the last transactions but never corrupts the file,
            // and commits skip an fsync each.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // `REGEXP`, for the `matches` filter (`store::sql::filters`).
            .with_regexp();
        // Page caches are per connection: 16 MB for the batch writer, 2 MB for the other
        // writes and for each reader (the dashboard reads the query engine's memory, and what
        // still reads the file reads each page about once), which bounds SQLite's own memory at
        // about 32 MB; the OS page cache does the rest.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .pragma("temp_store", "memory")
                    .pragma("cache_size", "-2000"),
            )
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&writer)
            .await
            .map_err(StoreError::Migrate)?;
        let batches = batch::BatchWriter::open(options.get_filename())?;
        // Readers use pread, not a memory map: the query engine answers the dashboard from
        // memory, and what still reads the file (the segment builder, the open day, exports)
        // reads each page about once, so a map would only add the file's pages to the
        // resident set (about 40 MB more at 10M events, measured with bench/dashboard.sh).
        // Their sorts and temporary tables spill to a file, not to memory (the bundled SQLite
        // defaults to memory):
        // a raw query over millions of rows (a time zone the engine was not built for, say)
        // sorted 130 MB in memory on one connection.
        let readers = options
            .pragma("temp_store", "file")
            .pragma("cache_size", "-2000");
        let stats = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(readers.clone())
            .await?;
        let lookups = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(readers.clone())
            .await?;
        let health = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(readers);
        let pools = |reader, questions| Pools {
            reader,
            writer: writer.clone(),
            questions,
            replica: false,
        };
        Ok(Self {
            db: pools(lookups, false),
            stats: pools(stats, true),
            health: pools(health, false),
            batches,
            engine: query_engine.then(Engine::default),
        })
    }

    /// The readers of everything but questions.
    pub fn pool(&self) -> &SqlitePool {
        &self.db.reader
    }
}

/// Instants as the batch writer stores them: whole unix seconds.
fn to_ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// Seconds as SQLite stores instants, back to an instant.
fn from_secs(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {secs}")))
}

/// SQLite has no time, date or boolean types: instants are unix seconds, days `YYYY-MM-DD`
/// text, flags 0 or 1.
impl Native for Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;

    fn push_bind(qb: &mut QueryBuilder<Self>, bind: &Bind) {
        match bind {
            Bind::Int(v) => qb.push_bind(*v),
            Bind::Time(t) => qb.push_bind(to_ts(*t)),
            Bind::Text(v) => qb.push_bind(v.clone()),
            Bind::Date(day) => qb.push_bind(day.format("%Y-%m-%d").to_string()),
            Bind::Bytes(v) => qb.push_bind(v.clone()),
            Bind::Bool(v) => qb.push_bind(i64::from(*v)),
        };
    }

    fn cell(row: &SqliteRow, i: usize, kind: Kind) -> Result<Cell, StoreError> {
        Ok(match kind {
            Kind::Int => Cell::Int(row.try_get(i)?),
            Kind::Time => Cell::Time(Some(from_secs(row.try_get(i)?)?)),
            Kind::OptInt => Cell::OptInt(row.try_get(i)?),
            Kind::OptTime => Cell::Time(
                row.try_get::<Option<i64>, _>(i)?
                    .map(from_secs)
                    .transpose()?,
            ),
            Kind::Text => Cell::Text(row.try_get(i)?),
            Kind::Bool => Cell::Bool(row.try_get::<i64, _>(i)? != 0),
            Kind::Bytes => Cell::Bytes(row.try_get(i)?),
        })
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    /// A progress handler that ends the statement (`SQLITE_INTERRUPT`) once the deadline has
    /// passed; it stays on the connection until the next statement on it sets its own.
    fn stop_at(
        conn: &mut SqliteConnection,
        deadline: Option<Instant>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut handle = conn.lock_handle().await?;
            match deadline {
                Some(at) => {
                    handle.set_progress_handler(STEPS_PER_CHECK, move || Instant::now() < at)
                }
                None => handle.remove_progress_handler(),
            }
            Ok(())
        })
    }

    fn stopped(e: &sqlx::Error) -> bool {
        // SQLITE_INTERRUPT
        matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("9"))
    }
}

#[async_trait]
impl Backend for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn exec(&self) -> &dyn Exec {
        &self.db
    }

    fn stats(&self) -> &dyn Exec {
        &self.stats
    }

    /// One file, no replica: the questions' readers see every commit.
    fn fresh(&self) -> &dyn Exec {
        &self.stats
    }

    fn health(&self) -> &dyn Exec {
        &self.health
    }

    async fn write_batch(&self, batch: Arc<Batch>) -> Result<BatchOutcome, StoreError> {
        self.batches.write(batch).await
    }

    fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    async fn build_segments(&self, now: DateTime<Utc>) -> Result<BuildReport, StoreError> {
        let Some(held) = self.lock(Job::Segments).await? else {
            return Ok(BuildReport::default());
        };
        let result = engine::build::build(&mut Pooled(&self.stats), &self.stats, now).await;
        self.unlock(held).await;
        result
    }

    /// A lease in `jobs`, renewed by a task of its own while held: SQLite has no session locks
    /// that outlive a statement, and a file may be shared by processes (two `serve`s, or an
    /// `import` beside one).
    async fn lock(&self, job: Job) -> Result<Option<Held>, StoreError> {
        let holder = rand::random::<i64>() & i64::MAX;
        if !once::take_lease(&self.db, job, holder).await? {
            return Ok(None);
        }
        let db = self.db.clone();
        let renew = tokio::spawn(async move {
            let mut tick = tokio::time::interval(once::LEASE / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                match once::renew_lease(&db, job, holder).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = job.name(), "a job's lease was taken over");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(job = job.name(), error = %e, "renewing a job's lease failed")
                    }
                }
            }
        });
        Ok(Some(Held {
            job,
            by: HeldBy::Sqlite {
                holder,
                renew: Renewal(renew),
            },
        }))
    }

    async fn unlock(&self, held: Held) {
        if let HeldBy::Sqlite { holder, renew } = held.by {
            drop(renew);
            if let Err(e) = once::end_lease(&self.db, held.job, holder).await {
                // It runs out on its own.
                tracing::warn!(job = held.job.name(), error = %e, "giving a job's lease back failed");
            }
        }
    }
}
