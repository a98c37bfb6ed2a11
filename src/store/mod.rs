//! Storage: one trait, two backends (SQLite, Postgres), chosen from the database URL's scheme.
//! Every statement is written once (`sql`) and the traits are implemented once over it; a backend
//! brings its connections, its type mapping and its batch writer. The writer, the CLI and the
//! dashboard reach the database only through `Store`.

mod auth;
pub(crate) mod backend;
pub mod deadline;
pub(crate) mod engine;
pub(crate) mod live;
pub mod once;
mod postgres;
pub(crate) mod sql;
mod sqlite;
mod stats;

pub use auth::{
    ApiKey, ApiKeyId, ApiKeyScope, AuthStore, SavedSegment, ShareLink, ShareLinkId, TokenHash,
    UserCredentials,
};
pub use engine::{BuildReport, CLOSE_AFTER, EngineCounts, build_pending};
pub use live::LiveCursor;
pub use stats::StatsStore;

use crate::domain::{Batch, SessionId, Site, SiteDomain, SiteId, TimeZone, UmamiId, VisitorId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use std::time::Duration;

pub use once::{Held, Job};
pub use postgres::PostgresStore;
pub use sql::retention::RetentionReport;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("site {0} already exists")]
    SiteExists(String),
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("this site has a segment named {0:?} already")]
    SegmentExists(String),
    #[error("Umami website id {0} belongs to another site already")]
    UmamiIdTaken(String),
    #[error("this site has a goal named {0:?} already")]
    GoalExists(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// `--database-read-url` names something other than the primary where a replica cannot be
    /// used (SQLite), or is not a Postgres URL.
    #[error("{0}")]
    ReadUrl(String),
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// A question outlived its request's deadline (`deadline`) and was stopped.
    #[error("the query took longer than the query timeout")]
    TimedOut,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The read replica (`--database-read-url`) cannot be reached or could not answer: it is
    /// down, starting, refusing connections, or cancelled the query (a conflict with recovery).
    /// Only questions read there; writes, logins and the health check do not see it.
    #[error("the read replica did not answer")]
    Replica(#[source] sqlx::Error),
    /// From the SQLite batch writer's own connection (see `sqlite::batch`).
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// Whether the database refused a write for a duplicate key.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// Whether trying again later may succeed: the database is unreachable, busy or overloaded.
    /// Anything else (a constraint, a value the database refuses) fails the same way every time.
    pub fn is_transient(&self) -> bool {
        let e = match self {
            Self::Database(e) => e,
            Self::Replica(_) => return true,
            Self::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                use rusqlite::ErrorCode::{
                    DatabaseBusy, DatabaseLocked, DiskFull, SystemIoFailure,
                };
                return matches!(
                    e.code,
                    DatabaseBusy | DatabaseLocked | SystemIoFailure | DiskFull
                );
            }
            _ => return false,
        };
        transient(e)
    }

    /// A replica's failure to answer (`Replica`) for what says the replica is unreachable or
    /// unfit to answer now; a statement's own error stays what it is.
    pub(crate) fn on_replica(self) -> Self {
        match self {
            Self::Database(e) if transient(&e) || replica_misconfigured(&e) => Self::Replica(e),
            other => other,
        }
    }
}

/// Whether a sqlx error is the database being unreachable, busy or overloaded.
fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            matches!(
                code.as_ref(),
                // SQLite: SQLITE_BUSY, SQLITE_LOCKED (and their extended codes), SQLITE_IOERR, SQLITE_FULL.
                "5" | "6" | "10" | "13" | "261" | "262" | "517" | "773"
                // Postgres: serialization failure (also a standby's conflict with recovery),
                // deadlock, too many connections, admin shutdown, crash shutdown, cannot connect
                // now, and connection exceptions.
                | "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03"
            ) || code.starts_with("08")
                || code.starts_with("53")
        }
        _ => false,
    }
}

/// A read replica that takes no connection from footfall: a bad URL, refused credentials, a
/// database that is not there (yet), or one dropped under a query during recovery.
fn replica_misconfigured(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Configuration(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            code.starts_with("28") || matches!(code.as_ref(), "3D000" | "57P04")
        }
        _ => false,
    }
}

/// A salt for one UTC day's visitor hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt {
    pub day: NaiveDate,
    pub key: [u8; 32],
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key must never reach a log.
        f.debug_struct("Salt")
            .field("day", &self.day)
            .finish_non_exhaustive()
    }
}

/// Visits that started longer ago than this are not resumed after a restart (they are very rare
/// and would need an index on `ended_at` that every upsert pays for).
const MAX_RESUMED_VISIT: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A session still open when the writer starts, so visits in progress survive a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenSession {
    pub id: SessionId,
    pub visitor_id: VisitorId,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
}

/// A site's retention setting, and where its raw rows now start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteRetention {
    /// Days of raw events and visits kept (`None`: the server's `--retention-days`).
    pub days: Option<u32>,
    /// Raw rows before this have been deleted (`None`: none have).
    pub kept_from: Option<DateTime<Utc>>,
}

/// A stored event as read back (live view, tests).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredEvent {
    pub id: i64,
    pub site_id: i64,
    pub created_at: DateTime<Utc>,
    pub visitor_id: i64,
    pub session_id: i64,
    pub name: String,
    pub hostname: String,
    pub path: String,
    pub referrer: Option<String>,
    pub referrer_source: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_content: Option<String>,
    pub utm_term: Option<String>,
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    pub device: String,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub viewport_width: Option<i32>,
    pub props: Option<serde_json::Value>,
    /// Millionths of the currency's unit (custom events with revenue only).
    pub revenue_micros: Option<i64>,
    pub revenue_currency: Option<String>,
    /// Engaged time and deepest scroll (percent) of a pageview, once an update reached it.
    pub engaged_ms: Option<i64>,
    pub scroll_depth: Option<i32>,
}

/// What a committed batch did beyond its events: its engagement updates, each applied to the
/// pageview it belongs to or not matched to any (no open visit, no such pageview in it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub engagements_applied: u64,
    pub engagements_unmatched: u64,
}

impl BatchOutcome {
    /// `applied` of `batch`'s updates found their pageview.
    pub fn of(batch: &Batch, applied: u64) -> Self {
        let all = batch.engagements.len() as u64;
        Self {
            engagements_applied: applied.min(all),
            engagements_unmatched: all.saturating_sub(applied),
        }
    }
}

/// A stored session as read back.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredSession {
    pub id: i64,
    pub site_id: i64,
    pub visitor_id: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub entry_path: String,
    pub exit_path: String,
    pub pageviews: i32,
    pub events: i32,
    pub referrer_source: Option<String>,
    pub utm_source: Option<String>,
    pub browser: String,
    pub os: String,
    pub device: String,
    pub country: Option<String>,
}

/// Everything a backend offers. Areas are separate traits so each can be implemented (and
/// faked in tests) on its own.
pub trait Store: IngestStore + StatsStore + AuthStore + 'static {}

impl<T: IngestStore + StatsStore + AuthStore + 'static> Store for T {}

/// Sites, salts and the writer's batches: what collection needs.
#[async_trait]
pub trait IngestStore: Send + Sync {
    /// "sqlite" or "postgres", for logs and metrics.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> Result<(), StoreError>;

    async fn add_site(&self, domain: &SiteDomain, timezone: TimeZone) -> Result<Site, StoreError>;
    async fn list_sites(&self) -> Result<Vec<Site>, StoreError>;
    /// Deletes a site with all its events, sessions and share links.
    async fn delete_site(&self, site: SiteId) -> Result<(), StoreError>;

    /// The salt for `day`, created if no collector has made it yet. Concurrent callers get the
    /// same salt.
    async fn salt_for_day(&self, day: NaiveDate) -> Result<Salt, StoreError>;
    /// Deletes salts of days before `day`; returns how many went.
    async fn delete_salts_before(&self, day: NaiveDate) -> Result<u64, StoreError>;

    /// Writes a batch atomically: all its events and session updates, then its engagement
    /// updates (and its spool replay mark), or nothing.
    async fn write_batch(&self, batch: Arc<Batch>) -> Result<BatchOutcome, StoreError>;
    /// The parts of spool file `spool` already stored (see `ingest::spool`).
    async fn replayed_parts(&self, spool: &str) -> Result<Vec<i64>, StoreError>;
    async fn open_sessions(
        &self,
        ended_after: DateTime<Utc>,
    ) -> Result<Vec<OpenSession>, StoreError>;

    /// The newest events of a site, newest first.
    async fn recent_events(&self, site: SiteId, limit: i64)
    -> Result<Vec<StoredEvent>, StoreError>;
    async fn recent_sessions(
        &self,
        site: SiteId,
        limit: i64,
    ) -> Result<Vec<StoredSession>, StoreError>;
    async fn count_events(&self, site: SiteId) -> Result<i64, StoreError>;
    /// Runs the upgrades of stored data the migrations left pending (`sql::upgrade`), in
    /// batches, while footfall collects; returns the rows changed.
    async fn run_upgrades(&self) -> Result<u64, StoreError>;
    /// A number for a writer that is starting, different from every other writer's (modulo
    /// 1,024, `domain::visits::SessionIds`), so that the session ids it makes are its own.
    async fn writer_tag(&self) -> Result<u64, StoreError>;
    /// Takes `job` (`store::once`) if it is due — it last finished `every` ago or longer, in
    /// any process — and no other process holds it.
    async fn take_job(&self, job: Job, every: Duration) -> Result<Option<Held>, StoreError>;
    /// Gives a job back; `finished`: it ran to the end, which counts as its last run.
    async fn end_job(&self, held: Held, finished: bool) -> Result<(), StoreError>;
    /// Deletes raw events and visits past each site's retention (its own, else `default_days`)
    /// as of `now` (`sql::retention`); `None` when the segment builder is running (in any
    /// process), with which retention takes turns. Run it as `Job::Retention`.
    async fn apply_retention(
        &self,
        default_days: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Option<RetentionReport>, StoreError>;
    /// Makes the event partitions due by `now` (Postgres; SQLite has none). Run it as
    /// `Job::Partitions`.
    async fn keep_partitions(&self, now: DateTime<Utc>) -> Result<u32, StoreError>;
    /// A site's own retention and how far it went.
    async fn site_retention(&self, site: SiteId) -> Result<SiteRetention, StoreError>;
    async fn set_site_retention(&self, site: SiteId, days: Option<u32>) -> Result<(), StoreError>;

    /// Every Umami website id mapped to a site (`/api/send`).
    async fn umami_ids(&self) -> Result<Vec<(UmamiId, SiteId)>, StoreError>;
    /// Maps `id` to `site`, replacing the site's previous id; `None` removes it. An id another
    /// site has is `StoreError::UmamiIdTaken`.
    async fn set_umami_id(&self, site: SiteId, id: Option<&UmamiId>) -> Result<(), StoreError>;
}

/// Runs `work` as `job` if it is due and free (`IngestStore::take_job`); `None` when another
/// process has it or it ran less than `every` ago.
pub async fn run_once<T>(
    store: &dyn IngestStore,
    job: Job,
    every: Duration,
    work: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<Option<T>, StoreError> {
    let Some(held) = store.take_job(job, every).await? else {
        return Ok(None);
    };
    let result = work.await;
    store.end_job(held, result.is_ok()).await?;
    result.map(Some)
}

pub type DynStore = Arc<dyn Store>;

/// A database URL fit for logs: the password replaced.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Opens the database named by `url` (creating a SQLite file if missing) and runs migrations.
pub async fn connect(url: &str) -> Result<DynStore, StoreError> {
    connect_with(url, true).await
}

/// `connect`, with or without the query engine: without it every question is answered from raw
/// rows, which is what the engine's answers are tested against.
pub async fn connect_with(url: &str, query_engine: bool) -> Result<DynStore, StoreError> {
    connect_with_reads(url, None, query_engine).await
}

/// `connect_with`, the questions (dashboard, stats API, exports and the query engine's reads)
/// going to the read replica at `read_url` (`--database-read-url`); `None`, or the primary's own
/// URL, reads on the primary as before. Postgres only: SQLite has no replicas, so there any
/// other read URL is an error rather than a setting quietly ignored. Migrations run on the
/// primary alone (the replica gets them by replication).
pub async fn connect_with_reads(
    url: &str,
    read_url: Option<&str>,
    query_engine: bool,
) -> Result<DynStore, StoreError> {
    let read_url = read_url.filter(|read| *read != url);
    if url.starts_with("sqlite:") {
        if let Some(read) = read_url {
            return Err(StoreError::ReadUrl(format!(
                "--database-read-url ({}) is for a Postgres read replica; with SQLite leave it \
                 unset (or set it to the --database-url)",
                redact(read)
            )));
        }
        Ok(Arc::new(
            SqliteStore::connect_with(url, query_engine).await?,
        ))
    } else if is_postgres(url) {
        if let Some(read) = read_url.filter(|read| !is_postgres(read)) {
            return Err(StoreError::ReadUrl(format!(
                "--database-read-url ({}) must be a postgres:// URL of a replica of the \
                 --database-url",
                redact(read)
            )));
        }
        Ok(Arc::new(
            PostgresStore::connect_with_reads(url, read_url, query_engine).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Splits `n` rows into multi-row INSERTs of a few fixed sizes (256, 64, 16, 4, 1 rows). Fixed
/// shapes mean a handful of distinct statements, which the backends prepare once and cache;
/// a statement per batch size would be parsed anew for almost every batch. 256 rows stay far
/// below both backends' bound-parameter limits (SQLite 32,766, Postgres 65,535).
fn insert_chunks(n: usize) -> Vec<std::ops::Range<usize>> {
    const SIZES: [usize; 5] = [256, 64, 16, 4, 1];
    let mut chunks = Vec::new();
    let mut start = 0;
    for size in SIZES {
        while n - start >= size {
            chunks.push(start..start + size);
            start += size;
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_chunks_cover_every_row_once_in_few_shapes() {
        for n in [0, 1, 5, 255, 256, 1000, 1311, 5000] {
            let chunks = insert_chunks(n);
            assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), n);
            assert!(chunks.windows(2).all(|w| w[0].end == w[1].start));
            // 25 bound columns per session row, SQLite's limit of 32,766 parameters.
            assert!(chunks.iter().all(|c| c.len() * 25 <= 32_766));
        }
        assert_eq!(insert_chunks(1000).len(), 3 + 3 + 2 + 2);
    }

    #[test]
    fn only_an_unreachable_or_busy_database_is_worth_retrying() {
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Corrupt("x".into()).is_transient());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_transient());
        // The SQLite batch writer's own connection (rusqlite): busy is transient, a
        // constraint is not.
        let sqlite = |code| {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        assert!(sqlite(rusqlite::ffi::SQLITE_BUSY).is_transient());
        assert!(sqlite(rusqlite::ffi::SQLITE_LOCKED).is_transient());
        assert!(!sqlite(rusqlite::ffi::SQLITE_CONSTRAINT).is_transient());
    }
}
