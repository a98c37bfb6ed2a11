//! Analytics queries, Postgres flavour: binds `Sql` statements (instants as timestamptz) and runs
//! them; the statements themselves are shared with SQLite (`store::sql`). The rollup builder
//! holds an advisory lock, so of several collectors one builds at a time.

use super::{PostgresStore, event_from_row};
use crate::domain::SiteId;
use crate::stats::rollup::{self, BuildSession, RollupReport};
use crate::stats::{Aggregate, BreakdownRow, Dimension, Interval, Metrics, Point, StatsQuery};
use crate::store::sql::run::{self, Runner};
use crate::store::sql::{Bind, Cell, Dialect, Kind, Piece, Row, Sql};
use crate::store::{StatsStore, StoreError, StoredEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{Connection, Postgres, QueryBuilder, Row as _};

/// Advisory lock key of the rollup builder ("footfall" in ASCII, then 1).
const ROLLUP_LOCK: i64 = 0x666f_6f74_6661_0001;

fn builder(sql: &Sql) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new("");
    for piece in &sql.pieces {
        match piece {
            Piece::Text(text) => {
                qb.push(text);
            }
            Piece::Bind(Bind::Int(v)) => {
                qb.push_bind(*v);
            }
            Piece::Bind(Bind::Time(secs)) => {
                qb.push_bind(DateTime::from_timestamp(*secs, 0).unwrap_or_default());
            }
            Piece::Bind(Bind::Text(v)) => {
                qb.push_bind(v.clone());
            }
        }
    }
    qb
}

fn decode(row: &PgRow, kinds: &[Kind]) -> Result<Row, StoreError> {
    let cells = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            Ok(match kind {
                Kind::Int => Cell::Int(row.try_get::<i64, _>(i)?),
                Kind::OptInt => Cell::OptInt(row.try_get::<Option<i64>, _>(i)?),
                Kind::Text => Cell::Text(row.try_get::<Option<String>, _>(i)?),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Row(cells))
}

#[async_trait]
impl Runner for PostgresStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn fetch(&self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        let rows = builder(sql).build().fetch_all(&self.pool).await?;
        rows.iter().map(|row| decode(row, kinds)).collect()
    }
}

struct Build(PoolConnection<Postgres>);

#[async_trait]
impl BuildSession for Build {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn fetch(&mut self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        let rows = builder(sql).build().fetch_all(&mut *self.0).await?;
        rows.iter().map(|row| decode(row, kinds)).collect()
    }

    async fn atomically(&mut self, statements: &[Sql]) -> Result<(), StoreError> {
        let mut tx = self.0.begin().await?;
        for sql in statements {
            builder(sql).build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl StatsStore for PostgresStore {
    async fn aggregate(&self, query: &StatsQuery) -> Result<Aggregate, StoreError> {
        run::aggregate(self, query).await
    }

    async fn timeseries_with(
        &self,
        query: &StatsQuery,
        interval: Interval,
        metrics: Metrics,
    ) -> Result<Vec<Point>, StoreError> {
        run::timeseries(self, query, interval, metrics).await
    }

    async fn breakdown_with(
        &self,
        query: &StatsQuery,
        dimension: &Dimension,
        limit: i64,
        offset: i64,
        metrics: Metrics,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        run::breakdown(self, query, dimension, limit, offset, metrics).await
    }

    async fn prop_keys(&self, query: &StatsQuery, limit: i64) -> Result<Vec<String>, StoreError> {
        run::prop_keys(self, query, limit).await
    }

    async fn current_visitors(
        &self,
        site: SiteId,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        run::current_visitors(self, site.0, since).await
    }

    #[tracing::instrument(skip_all)]
    async fn events_after(
        &self,
        site: SiteId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        sqlx::query(
            "SELECT id, site_id, created_at, visitor_id, session_id, name, hostname, path, \
             referrer, referrer_source, utm_source, utm_medium, utm_campaign, utm_content, \
             utm_term, browser, browser_version, os, os_version, device, country, region, city, \
             viewport_width, props::text AS props \
             FROM events WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(site.0)
        .bind(after_id)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn events_page(
        &self,
        query: &StatsQuery,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        run::events_page(self, query, after_id, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn build_rollups(&self, now: DateTime<Utc>) -> Result<RollupReport, StoreError> {
        // A session-level lock: it lives with this connection, so a collector that dies mid-run
        // releases it with its connection.
        let mut conn = self.pool.acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(ROLLUP_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Ok(RollupReport::default());
        }
        let mut session = Build(conn);
        let result = rollup::build(&mut session, now).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(ROLLUP_LOCK)
            .execute(&mut *session.0)
            .await;
        if unlocked.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            session.0.close_on_drop();
        }
        result
    }
}
