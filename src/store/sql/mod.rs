//! The analytics SQL, written once for both backends. Statements are assembled as `Sql`: SQL text
//! that comes only from this module's constants, and values that are always bound. Each backend
//! turns an `Sql` into its own `sqlx::QueryBuilder` (`?` or `$n` placeholders, its own time type)
//! and runs it; the few spots where the dialects differ are methods of `Dialect`. One text for
//! both engines is what keeps their answers identical.

pub(crate) mod auth;
pub(crate) mod exec;
pub(crate) mod filters;
pub(crate) mod ingest;
pub(crate) mod live;
pub(crate) mod plan;
pub(crate) mod queries;
pub(crate) mod retention;
pub(crate) mod run;
pub(crate) mod segments;
pub(crate) mod stored;
pub(crate) mod upgrade;

use super::StoreError;
use chrono::{DateTime, NaiveDate, Utc};
use exec::Exec;

/// Runs an `INSERT … RETURNING id` in a transaction of its own and returns the id; a duplicate
/// key is `taken()` (a site or a name that exists already).
pub(crate) async fn insert_id(
    db: &dyn Exec,
    sql: &Sql,
    taken: impl FnOnce() -> StoreError,
) -> Result<i64, StoreError> {
    let mut tx = db.begin().await?;
    let rows = match tx.fetch(sql, &[Kind::Int]).await {
        Err(e) if e.is_unique_violation() => return Err(taken()),
        rows => rows?,
    };
    tx.commit().await?;
    rows.first()
        .map(|row| row.int(0))
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt("an inserted row has no id".into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A time column as whole unix seconds (SQLite stores them; Postgres has microseconds, which
    /// are floored so that both engines put an event in the same second, hour and day).
    pub fn epoch(self, column: &str) -> String {
        match self {
            Self::Sqlite => column.to_owned(),
            Self::Postgres => format!("FLOOR(EXTRACT(EPOCH FROM {column}))::BIGINT"),
        }
    }

    /// Suffix for ORDER BY on text: byte order on both (Postgres would otherwise sort by the
    /// database's locale).
    pub fn binary_order(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " COLLATE \"C\"",
        }
    }

    /// `events e` for a scan in id order. SQLite (which has no statistics to go by) would
    /// otherwise read a time range through `events_site_time` and sort all of it by id for every
    /// page of an export, which makes paging through a range quadratic; `NOT INDEXED` still lets
    /// it seek by rowid, so each page reads only its own rows. Postgres weighs both plans itself.
    pub fn events_by_id(self) -> &'static str {
        match self {
            Self::Sqlite => "events e NOT INDEXED",
            Self::Postgres => "events e",
        }
    }

    /// A table function over an event's props, aliased `alias` with columns `key` and `value`.
    pub fn props_each(self, props: &str, alias: &str) -> String {
        match self {
            Self::Sqlite => format!("json_each({props}) AS {alias}"),
            Self::Postgres => format!("jsonb_each_text({props}) AS {alias}(key, value)"),
        }
    }

    /// The statement that makes "add the first user" atomic, where the engine needs one. SQLite
    /// runs one write at a time, so the check and the insert cannot interleave with another
    /// setup's. Under Postgres's READ COMMITTED two setups could both see an empty table and both
    /// insert; this lock mode conflicts with itself but not with readers, so setups queue and
    /// logins don't.
    pub fn lock_users_for_setup(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"),
        }
    }

    /// The snapshot columns of a live read (`store::live`), aliased `xmin`, `xmax` and `top`:
    /// on Postgres the statement's snapshot bounds (`xid8`, as integers) and the highest event id
    /// it sees, all from the snapshot the rows are read in. SQLite needs none (ids are in commit
    /// order) and gives NULLs.
    pub fn live_snapshot(self) -> &'static str {
        match self {
            Self::Sqlite => "NULL AS xmin, NULL AS xmax, NULL AS top",
            Self::Postgres => {
                "CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT) AS xmin, \
                 CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS TEXT) AS BIGINT) AS xmax, \
                 COALESCE((SELECT MAX(id) FROM events), 0) AS top"
            }
        }
    }

    /// Joins each event row to its props (`FROM events e <this>`), one row per key.
    pub fn join_props(self, props: &str, alias: &str) -> String {
        match self {
            Self::Sqlite => format!(", {}", self.props_each(props, alias)),
            Self::Postgres => format!(" CROSS JOIN LATERAL {}", self.props_each(props, alias)),
        }
    }
}

/// A value to bind. Each backend maps these to its own column types (`exec::Native`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    /// INTEGER 0/1 on SQLite, BOOLEAN on Postgres.
    Bool(bool),
    /// An instant: INTEGER unix seconds on SQLite, timestamptz (microseconds) on Postgres.
    Time(DateTime<Utc>),
    /// A calendar day: TEXT `YYYY-MM-DD` on SQLite, DATE on Postgres.
    Date(NaiveDate),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Bind(Bind),
}

/// A statement under construction: text pieces and binds, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sql {
    pub dialect: Dialect,
    pub pieces: Vec<Piece>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            pieces: Vec::new(),
        }
    }

    /// Appends SQL text. Only for text written in this module, never for input.
    pub fn push(&mut self, text: &str) -> &mut Self {
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Text(text.to_owned())),
        }
        self
    }

    pub fn bind(&mut self, v: Bind) -> &mut Self {
        self.pieces.push(Piece::Bind(v));
        self
    }

    /// Binds `values` separated by commas (the inside of a `VALUES (…)` or an `IN (…)`).
    pub fn list(&mut self, values: impl IntoIterator<Item = Bind>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self
    }

    pub fn int(&mut self, v: i64) -> &mut Self {
        self.bind(Bind::Int(v))
    }

    pub fn text(&mut self, v: &str) -> &mut Self {
        self.bind(Bind::Text(v.to_owned()))
    }

    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.bind(Bind::Bytes(v.to_vec()))
    }

    /// An instant given as unix seconds (the stats queries' unit).
    pub fn time(&mut self, secs: i64) -> &mut Self {
        // Out of chrono's range means ±262,000 years: no question asks for that.
        self.at(DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }

    pub fn at(&mut self, t: DateTime<Utc>) -> &mut Self {
        self.bind(Bind::Time(t))
    }

    /// The time of the insert, as each engine has always stored it: SQLite whole seconds of this
    /// clock, Postgres `now()` (the transaction's start, in microseconds; the columns' default).
    pub fn now(&mut self) -> &mut Self {
        match self.dialect {
            Dialect::Sqlite => self.time(Utc::now().timestamp()),
            Dialect::Postgres => self.push("now()"),
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The text with binds shown inline, for tests.
    #[cfg(test)]
    pub fn preview(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Bind(b) => {
                    let _ = write!(out, "?{b:?}");
                }
            }
        }
        out
    }
}

/// A column of a result row, as the generic code reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    /// An integer column that may be NULL.
    OptInt,
    /// A text column (NULL allowed; `Row::string` insists on a value).
    Text,
    Bytes,
    Bool,
    Time,
    /// A time column that may be NULL.
    OptTime,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Int(i64),
    OptInt(Option<i64>),
    Text(Option<String>),
    Bytes(Vec<u8>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
}

impl Cell {
    fn kind(&self) -> &'static str {
        match self {
            Self::Int(_) | Self::OptInt(_) => "integer",
            Self::Text(_) => "text",
            Self::Bytes(_) => "bytes",
            Self::Bool(_) => "boolean",
            Self::Time(_) => "time",
        }
    }
}

/// One result row; columns in the order of the `Kind`s asked for. Reading a column as another
/// kind than it was decoded as is an error: a query and its reader that drifted apart must fail,
/// not turn into zeros on the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, i: usize, expected: &str) -> Result<&Cell, StoreError> {
        self.0.get(i).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "column {i}: expected {expected}, found no column ({} decoded)",
                self.0.len()
            ))
        })
    }

    fn mismatch(i: usize, expected: &str, found: &str) -> StoreError {
        StoreError::Corrupt(format!("column {i}: expected {expected}, found {found}"))
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.cell(i, "integer")? {
            Cell::Int(v) => Ok(*v),
            Cell::OptInt(Some(v)) => Ok(*v),
            Cell::OptInt(None) => Err(Self::mismatch(i, "integer", "NULL")),
            other => Err(Self::mismatch(i, "integer", other.kind())),
        }
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(i, "integer")? {
            Cell::OptInt(v) => Ok(*v),
            Cell::Int(v) => Ok(Some(*v)),
            other => Err(Self::mismatch(i, "integer", other.kind())),
        }
    }

    /// A text column that may be NULL.
    pub fn text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i, "text")? {
            Cell::Text(v) => Ok(v.clone()),
            other => Err(Self::mismatch(i, "text", other.kind())),
        }
    }

    /// A text column that must hold a value.
    pub fn string(&self, i: usize) -> Result<String, StoreError> {
        self.text(i)?
            .ok_or_else(|| Self::mismatch(i, "text", "NULL"))
    }

    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.cell(i, "bytes")? {
            Cell::Bytes(v) => Ok(v.clone()),
            other => Err(Self::mismatch(i, "bytes", other.kind())),
        }
    }

    /// A bytes column moved out of the row (large values need not be copied).
    pub fn take_bytes(&mut self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.0.get_mut(i) {
            Some(Cell::Bytes(v)) => Ok(std::mem::take(v)),
            Some(other) => Err(Self::mismatch(i, "bytes", other.kind())),
            None => Err(Self::mismatch(i, "bytes", "no column")),
        }
    }

    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        match self.cell(i, "boolean")? {
            Cell::Bool(v) => Ok(*v),
            other => Err(Self::mismatch(i, "boolean", other.kind())),
        }
    }

    pub fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.cell(i, "time")? {
            Cell::Time(v) => Ok(*v),
            other => Err(Self::mismatch(i, "time", other.kind())),
        }
    }

    pub fn time(&self, i: usize) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time(i)?
            .ok_or_else(|| Self::mismatch(i, "time", "NULL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_column_as_another_kind_is_an_error_not_a_zero() {
        let row = Row(vec![
            Cell::Int(7),
            Cell::Text(Some("x".into())),
            Cell::OptInt(None),
            Cell::Text(None),
        ]);
        assert_eq!(row.int(0).ok(), Some(7));
        assert_eq!(row.text(1).ok(), Some(Some("x".into())));
        assert_eq!(row.opt_int(2).ok(), Some(None));

        let message = |e: Result<_, StoreError>| match e {
            Err(StoreError::Corrupt(m)) => m,
            other => panic!("expected Corrupt, got {:?}", other.map(|_: ()| ())),
        };
        assert_eq!(
            message(row.int(1).map(drop)),
            "column 1: expected integer, found text"
        );
        assert_eq!(
            message(row.text(0).map(drop)),
            "column 0: expected text, found integer"
        );
        assert_eq!(
            message(row.int(2).map(drop)),
            "column 2: expected integer, found NULL"
        );
        assert_eq!(
            message(row.string(3).map(drop)),
            "column 3: expected text, found NULL"
        );
        assert!(message(row.opt_int(9).map(drop)).starts_with("column 9: expected integer"));
        assert!(row.time(0).is_err());
        assert!(row.bool(1).is_err());
        assert!(row.bytes(0).is_err());
    }
}
