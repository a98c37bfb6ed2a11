//! Analytics queries, SQLite flavour: binds `Sql` statements (instants as unix seconds) and runs
//! them; the statements themselves are shared with Postgres (`store::sql`).

use super::{SqliteStore, event_from_row};
use crate::domain::SiteId;
use crate::stats::rollup::{self, BuildSession, RollupReport};
use crate::stats::{Aggregate, BreakdownRow, Dimension, Interval, Metrics, Point, StatsQuery};
use crate::store::sql::run::{self, Runner};
use crate::store::sql::{Bind, Cell, Dialect, Kind, Piece, Row, Sql};
use crate::store::{StatsStore, StoreError, StoredEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, QueryBuilder, Row as _, Sqlite};

/// SQLite assumes a single process; within it, builder runs take turns.
static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn builder(sql: &Sql) -> QueryBuilder<Sqlite> {
    let mut qb = QueryBuilder::new("");
    for piece in &sql.pieces {
        match piece {
            Piece::Text(text) => {
                qb.push(text);
            }
            Piece::Bind(Bind::Int(v) | Bind::Time(v)) => {
                qb.push_bind(*v);
            }
            Piece::Bind(Bind::Text(v)) => {
                qb.push_bind(v.clone());
            }
        }
    }
    qb
}

fn decode(row: &SqliteRow, kinds: &[Kind]) -> Result<Row, StoreError> {
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
impl Runner for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn fetch(&self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        let rows = builder(sql).build().fetch_all(&self.pool).await?;
        rows.iter().map(|row| decode(row, kinds)).collect()
    }
}

struct Build(PoolConnection<Sqlite>);

#[async_trait]
impl BuildSession for Build {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
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
impl StatsStore for SqliteStore {
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
        sqlx::query("SELECT * FROM events WHERE site_id = ? AND id > ? ORDER BY id LIMIT ?")
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
        let _turn = BUILDING.lock().await;
        let mut session = Build(self.pool.acquire().await?);
        rollup::build(&mut session, now).await
    }
}
