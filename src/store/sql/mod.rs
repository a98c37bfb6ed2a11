//! The analytics SQL, written once for both backends. Statements are assembled as `Sql`: SQL text
//! that comes only from this module's constants, and values that are always bound. Each backend
//! turns an `Sql` into its own `sqlx::QueryBuilder` (`?` or `$n` placeholders, its own time type)
//! and runs it; the few spots where the dialects differ are methods of `Dialect`. One text for
//! both engines is what keeps their answers identical.

pub(crate) mod filters;
pub(crate) mod plan;
pub(crate) mod queries;
pub(crate) mod rollup;
pub(crate) mod run;

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

    /// Joins each event row to its props (`FROM events e <this>`), one row per key.
    pub fn join_props(self, props: &str, alias: &str) -> String {
        match self {
            Self::Sqlite => format!(", {}", self.props_each(props, alias)),
            Self::Postgres => format!(" CROSS JOIN LATERAL {}", self.props_each(props, alias)),
        }
    }
}

/// A value to bind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
    /// An instant as unix seconds; bound as INTEGER on SQLite and timestamptz on Postgres.
    Time(i64),
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

    pub fn int(&mut self, v: i64) -> &mut Self {
        self.pieces.push(Piece::Bind(Bind::Int(v)));
        self
    }

    pub fn text(&mut self, v: &str) -> &mut Self {
        self.pieces.push(Piece::Bind(Bind::Text(v.to_owned())));
        self
    }

    pub fn time(&mut self, secs: i64) -> &mut Self {
        self.pieces.push(Piece::Bind(Bind::Time(secs)));
        self
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
    Text,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Int(i64),
    OptInt(Option<i64>),
    Text(Option<String>),
}

/// One result row; columns in the order of the `Kind`s asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub Vec<Cell>);

impl Row {
    pub fn int(&self, i: usize) -> i64 {
        match self.0.get(i) {
            Some(Cell::Int(v)) => *v,
            _ => 0,
        }
    }

    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Cell::OptInt(v)) => *v,
            Some(Cell::Int(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn text(&self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(Cell::Text(v)) => v.clone(),
            _ => None,
        }
    }
}
