//! Running an `Sql` on either engine. A backend says how its engine stores each `Bind` and
//! `Kind` and how it stops a statement at a deadline (`Native`), and hands over its connection
//! pools; fetching, executing and transactions are written here once, over sqlx's generic API.

use super::{Bind, Cell, Dialect, Kind, Piece, Row, Sql};
use crate::store::{StoreError, deadline};
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use sqlx::IntoArguments;
use sqlx::{Database, Pool, QueryBuilder};
use std::time::Instant;

/// An engine's type mapping: how a bind is passed and a cell is read; and its way of stopping
/// a statement that runs past a deadline.
pub(crate) trait Native: Database {
    const DIALECT: Dialect;
    fn push_bind(qb: &mut QueryBuilder<Self>, bind: &Bind);
    fn cell(row: &Self::Row, i: usize, kind: Kind) -> Result<Cell, StoreError>;
    fn rows_affected(done: &Self::QueryResult) -> u64;
    /// Makes the database stop the statements run next on `conn` at `deadline` (`None`: never).
    fn stop_at(
        conn: &mut Self::Connection,
        deadline: Option<Instant>,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Whether `e` is the database stopping a statement as `stop_at` asked.
    fn stopped(e: &sqlx::Error) -> bool;
}

fn query<DB: Native>(sql: &Sql) -> QueryBuilder<DB> {
    let mut qb = QueryBuilder::new("");
    for piece in &sql.pieces {
        match piece {
            Piece::Text(text) => {
                qb.push(text);
            }
            Piece::Bind(bind) => DB::push_bind(&mut qb, bind),
        }
    }
    qb
}

fn decode<DB: Native>(rows: &[DB::Row], kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
    rows.iter()
        .map(|row| {
            let cells = kinds.iter().enumerate().map(|(i, k)| DB::cell(row, i, *k));
            Ok(Row(cells.collect::<Result<_, _>>()?))
        })
        .collect()
}

/// `Native` plus what sqlx's generic executor asks of an engine, said once (a bound on
/// `&mut Self::Connection` cannot be a supertrait); every engine with a `Native` mapping is one.
pub(crate) trait Driver: Native {
    fn fetch_on<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a Sql,
        kinds: &'a [Kind],
    ) -> BoxFuture<'a, Result<Vec<Row>, StoreError>>;
    fn execute_on<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a Sql,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
}

impl<DB> Driver for DB
where
    DB: Native,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    fn fetch_on<'a>(
        conn: &'a mut DB::Connection,
        sql: &'a Sql,
        kinds: &'a [Kind],
    ) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
        Box::pin(async move {
            let rows = query::<DB>(sql).build().fetch_all(&mut *conn).await?;
            decode::<DB>(&rows, kinds)
        })
    }

    fn execute_on<'a>(
        conn: &'a mut DB::Connection,
        sql: &'a Sql,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let done = query::<DB>(sql).build().execute(&mut *conn).await?;
            Ok(DB::rows_affected(&done))
        })
    }
}

/// Statements on a backend's pools: reads go to the readers, writes to the writer (on SQLite
/// one connection, as the engine serialises writers anyway; on Postgres the same pool).
#[async_trait]
pub(crate) trait Exec: Send + Sync {
    fn dialect(&self) -> Dialect;
    async fn fetch(&self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError>;
    /// One write statement on its own; returns the rows it affected.
    async fn execute(&self, sql: &Sql) -> Result<u64, StoreError>;
    /// A transaction on the writer; dropped without `commit`, it rolls back.
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError>;
}

#[async_trait]
pub(crate) trait Transaction: Send {
    async fn fetch(&mut self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError>;
    async fn execute(&mut self, sql: &Sql) -> Result<u64, StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// A backend's connections as one kind of work sees them: reads on `reader`, writes on `writer`.
pub(crate) struct Pools<DB: Database> {
    pub reader: Pool<DB>,
    pub writer: Pool<DB>,
    /// The reads are questions (the stats pool): each runs under its request's budget
    /// (`deadline`), and every statement on `reader` is armed with `Native::stop_at`.
    pub questions: bool,
    /// `reader` is a read replica (`--database-read-url`): its failures to answer are
    /// `StoreError::Replica`, so that they say where the trouble is.
    pub replica: bool,
}

impl<DB: Database> Clone for Pools<DB> {
    fn clone(&self) -> Self {
        Self {
            reader: self.reader.clone(),
            writer: self.writer.clone(),
            questions: self.questions,
            replica: self.replica,
        }
    }
}

impl<DB: Driver> Pools<DB> {
    /// A question's read: one of the request's connections, stopped at its deadline.
    async fn ask(&self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        let Some(budget) = deadline::current() else {
            let mut conn = self.reader.acquire().await?;
            DB::stop_at(&mut *conn, None).await?;
            return DB::fetch_on(&mut conn, sql, kinds).await;
        };
        deadline::bounded(async {
            let _turn = budget.connection().await?;
            let mut conn = self.reader.acquire().await?;
            DB::stop_at(&mut *conn, Some(budget.deadline())).await?;
            match DB::fetch_on(&mut conn, sql, kinds).await {
                Err(StoreError::Database(e)) if DB::stopped(&e) => Err(StoreError::TimedOut),
                other => other,
            }
        })
        .await
    }
}

#[async_trait]
impl<DB: Driver> Exec for Pools<DB> {
    fn dialect(&self) -> Dialect {
        DB::DIALECT
    }

    async fn fetch(&self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        let read = if self.questions {
            self.ask(sql, kinds).await
        } else {
            match self.reader.acquire().await {
                Ok(mut conn) => DB::fetch_on(&mut conn, sql, kinds).await,
                Err(e) => Err(e.into()),
            }
        };
        if self.replica {
            return read.map_err(StoreError::on_replica);
        }
        read
    }

    async fn execute(&self, sql: &Sql) -> Result<u64, StoreError> {
        DB::execute_on(&mut *self.writer.acquire().await?, sql).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        Ok(Box::new(Tx(self.writer.begin().await?)))
    }
}

struct Tx<DB: Database>(sqlx::Transaction<'static, DB>);

#[async_trait]
impl<DB: Driver> Transaction for Tx<DB> {
    async fn fetch(&mut self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError> {
        DB::fetch_on(&mut self.0, sql, kinds).await
    }

    async fn execute(&mut self, sql: &Sql) -> Result<u64, StoreError> {
        DB::execute_on(&mut self.0, sql).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}
