//! Work that must run once however many footfall processes share the database: the segment
//! builder, deleting old salts, retention, partition upkeep, stored-data upgrades. Each is a
//! `Job`, held by one process at a time through the database, so nothing on the request path
//! coordinates:
//!
//! - Postgres: a session-level advisory lock on a connection of its own (`Backend::lock`). A
//!   holder that crashes, or loses its connection, releases the lock with it, and the next
//!   process to try takes the job over.
//! - SQLite: a lease in the `jobs` table, renewed while the job runs (`LEASE`); a crashed
//!   holder's lease runs out and the next process to try takes the job over.
//!
//! A job due every so often (`every`) also records when it last finished, by anyone, in `jobs`:
//! three collectors running retention hourly run it once an hour in all, not three times.
//! Jobs are idempotent all the same (a holder that lost its lock half way may overlap with its
//! successor for a moment).

use super::StoreError;
use super::sql::exec::Exec;
use super::sql::{Kind, Sql};
use chrono::{TimeDelta, Utc};
use std::time::Duration;

/// What must run once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// The query engine's segment builder (`engine::build`).
    Segments,
    /// Deleting the salts (and shared open visits) of days gone by.
    Salts,
    /// Deleting raw events and visits older than the retention (`sql::retention`).
    Retention,
    /// Creating the months ahead of Postgres's event partitions (`postgres::partitions`).
    Partitions,
    /// Upgrades of stored data the migrations left pending (`sql::upgrade`).
    Upgrades,
}

impl Job {
    pub const ALL: [Job; 5] = [
        Job::Segments,
        Job::Salts,
        Job::Retention,
        Job::Partitions,
        Job::Upgrades,
    ];

    /// The job's row in `jobs`.
    pub fn name(self) -> &'static str {
        match self {
            Job::Segments => "segments",
            Job::Salts => "salts",
            Job::Retention => "retention",
            Job::Partitions => "partitions",
            Job::Upgrades => "upgrades",
        }
    }

    /// The Postgres advisory lock key: "footfa" in ASCII, then the job's number (the segment
    /// builder's 1 is the key it has always had, so an older collector still running beside a
    /// newer one during an upgrade never builds at the same time).
    pub fn lock_key(self) -> i64 {
        const BASE: i64 = 0x666f_6f74_6661_0000;
        BASE + match self {
            Job::Segments => 1,
            Job::Salts => 2,
            Job::Retention => 3,
            Job::Partitions => 4,
            Job::Upgrades => 5,
        }
    }
}

/// How long a SQLite lease lasts unless renewed; it is renewed every third of that while held.
pub const LEASE: Duration = Duration::from_secs(30);

/// A job held by this process; give it back with `IngestStore::end_job` (dropping it also
/// releases it: the Postgres connection closes, the SQLite lease stops being renewed).
pub struct Held {
    pub(crate) job: Job,
    pub(crate) by: HeldBy,
}

pub(crate) enum HeldBy {
    /// The connection holding the advisory lock, out of any pool: closing it releases the lock.
    Postgres(sqlx::PgConnection),
    /// The lease's holder number and the task renewing it.
    Sqlite { holder: i64, renew: Renewal },
}

/// The task renewing a lease, stopped when the lease is given back or dropped.
pub(crate) struct Renewal(pub tokio::task::JoinHandle<()>);

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Held {
    pub fn job(&self) -> Job {
        self.job
    }
}

/// Whether `job` last finished longer than `every` ago (or never): asked under its lock.
pub(crate) async fn due(db: &dyn Exec, job: Job, every: Duration) -> Result<bool, StoreError> {
    if every.is_zero() {
        return Ok(true);
    }
    let mut sql = Sql::new(db.dialect());
    sql.push("SELECT ran_at FROM jobs WHERE name = ")
        .text(job.name());
    let rows = db.fetch(&sql, &[Kind::OptTime]).await?;
    let ran_at = match rows.first() {
        Some(row) => row.opt_time(0)?,
        None => None,
    };
    let every = TimeDelta::from_std(every).unwrap_or(TimeDelta::MAX);
    Ok(ran_at.is_none_or(|at| Utc::now() - at >= every))
}

/// Records that `job` finished now (one more run).
pub(crate) async fn finished(db: &dyn Exec, job: Job) -> Result<(), StoreError> {
    let mut sql = Sql::new(db.dialect());
    sql.push("INSERT INTO jobs (name, ran_at, runs) VALUES (")
        .text(job.name())
        .push(", ")
        .now()
        .push(
            ", 1) ON CONFLICT (name) DO UPDATE SET ran_at = excluded.ran_at, \
             runs = jobs.runs + 1",
        );
    db.execute(&sql).await?;
    Ok(())
}

/// SQLite: takes `job`'s lease for `holder` if nobody holds it, or its holder's lease ran out.
pub(crate) async fn take_lease(db: &dyn Exec, job: Job, holder: i64) -> Result<bool, StoreError> {
    let now = Utc::now();
    let until = now + TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::MAX);
    let mut sql = Sql::new(db.dialect());
    sql.push("INSERT INTO jobs (name, holder, held_until) VALUES (")
        .text(job.name())
        .push(", ")
        .int(holder)
        .push(", ")
        .at(until)
        .push(
            ") ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             held_until = excluded.held_until \
             WHERE jobs.held_until IS NULL OR jobs.held_until < ",
        )
        .at(now);
    Ok(db.execute(&sql).await? == 1)
}

/// SQLite: moves `holder`'s lease of `job` on (false: it is not theirs any more).
pub(crate) async fn renew_lease(db: &dyn Exec, job: Job, holder: i64) -> Result<bool, StoreError> {
    let until = Utc::now() + TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::MAX);
    let mut sql = Sql::new(db.dialect());
    sql.push("UPDATE jobs SET held_until = ")
        .at(until)
        .push(" WHERE name = ")
        .text(job.name())
        .push(" AND holder = ")
        .int(holder);
    Ok(db.execute(&sql).await? == 1)
}

/// SQLite: gives `holder`'s lease of `job` back.
pub(crate) async fn end_lease(db: &dyn Exec, job: Job, holder: i64) -> Result<(), StoreError> {
    let mut sql = Sql::new(db.dialect());
    sql.push("UPDATE jobs SET holder = NULL, held_until = NULL WHERE name = ")
        .text(job.name())
        .push(" AND holder = ")
        .int(holder);
    db.execute(&sql).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_job_has_its_own_name_and_lock() {
        let names: HashSet<_> = Job::ALL.iter().map(|j| j.name()).collect();
        let keys: HashSet<_> = Job::ALL.iter().map(|j| j.lock_key()).collect();
        assert_eq!((names.len(), keys.len()), (Job::ALL.len(), Job::ALL.len()));
        // The segment builder's key from before jobs had a table.
        assert_eq!(Job::Segments.lock_key(), 0x666f_6f74_6661_0001);
    }
}
