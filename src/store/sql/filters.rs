//! Dimensions as columns, and filters as bound conditions. Session-level dimensions are columns of
//! `sessions s` (a visit's entry attributes), event-level ones of `events e`.
//!
//! - `Is` with a value: equal to it. `Is` with an empty value: not set (NULL or empty).
//! - `Contains`: a set value containing the text, ASCII case-insensitively; `%`, `_` and `\` in
//!   the text are matched literally. `Contains ""` therefore means "is set".
//! - `Matches`: a set value matching the pattern (`stats::glob`) as a regular expression: `~` on
//!   Postgres, `REGEXP` on SQLite (sqlx's, Rust's `regex`, as the query engine's). `Matches ""`
//!   means "not set", as `Is ""`.
//! - Filters of one level combine with AND on the same row: two event-level filters must hold on
//!   the same event.

use super::{Dialect, Sql};
use crate::stats::{Dimension, Filter, FilterOp};

/// Where a dimension's value lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Col {
    /// A column of `events e`.
    Event(&'static str),
    /// A column of `sessions s`.
    Session(&'static str),
    /// A key of `events e`'s props.
    Prop(String),
    /// Whether visit `s` converted on a goal: a filter only, with no value of its own.
    Converted,
}

/// The value of session column `c` of the visit row named `alias`, as dimensions read it. The
/// browser version reads "Safari 18" — browser and version — since a version alone does not say
/// whose it is ("18": Safari or Firefox?), and two browsers' equal versions are not one row.
pub(crate) fn session_value(alias: &str, c: &str) -> String {
    if c == "browser_version" {
        format!(
            "CASE WHEN COALESCE({alias}.browser_version, '') = '' THEN NULL \
             ELSE {alias}.browser || ' ' || {alias}.browser_version END"
        )
    } else {
        format!("{alias}.{c}")
    }
}

impl Col {
    pub fn of(dimension: &Dimension) -> Self {
        use Dimension as D;
        match dimension {
            D::Page => Self::Event("path"),
            D::EventName => Self::Event("name"),
            D::Prop(key) => Self::Prop(key.clone()),
            D::EntryPage => Self::Session("entry_path"),
            D::ExitPage => Self::Session("exit_path"),
            D::Source => Self::Session("referrer_source"),
            D::Referrer => Self::Session("referrer"),
            D::UtmSource => Self::Session("utm_source"),
            D::UtmMedium => Self::Session("utm_medium"),
            D::UtmCampaign => Self::Session("utm_campaign"),
            D::UtmContent => Self::Session("utm_content"),
            D::UtmTerm => Self::Session("utm_term"),
            D::Country => Self::Session("country"),
            D::Region => Self::Session("region"),
            D::City => Self::Session("city"),
            D::Browser => Self::Session("browser"),
            D::BrowserVersion => Self::Session("browser_version"),
            D::Os => Self::Session("os"),
            D::OsVersion => Self::Session("os_version"),
            D::Device => Self::Session("device"),
            D::Goal(_) => Self::Converted,
        }
    }

    pub fn is_session(&self) -> bool {
        matches!(self, Self::Session(_) | Self::Converted)
    }

    /// Pushes the value expression (NULL where not set).
    pub fn push(&self, sql: &mut Sql) {
        match self {
            Self::Event(c) => {
                sql.push("e.").push(c);
            }
            Self::Session(c) => {
                sql.push(&session_value("s", c));
            }
            // No stored key holds NUL (Postgres text cannot), so that prop is never set.
            Self::Prop(key) if key.contains('\0') => {
                sql.push("CAST(NULL AS TEXT)");
            }
            Self::Converted => {
                sql.push("CAST(NULL AS TEXT)");
            }
            // SQLite's `->>` would read a key starting with `$` as a JSON path, so look the key
            // up with json_each, where it is compared as plain text.
            Self::Prop(key) => match sql.dialect() {
                Dialect::Sqlite => {
                    sql.push("(SELECT pf.value FROM json_each(e.props) AS pf WHERE pf.key = ")
                        .text(key)
                        .push(")");
                }
                Dialect::Postgres => {
                    sql.push("(e.props ->> ").text(key).push(")");
                }
            },
        }
    }
}

/// A query's filters split by level.
#[derive(Debug, Default)]
pub(crate) struct Split<'a> {
    pub session: Vec<&'a Filter>,
    pub event: Vec<&'a Filter>,
}

impl<'a> Split<'a> {
    pub fn new(filters: &'a [Filter]) -> Self {
        let (session, event) = filters.iter().partition(|f| f.dimension.is_session_level());
        Self { session, event }
    }
}

/// `LIKE` pattern for "contains `text`": wildcards in the text escaped with `\`, ASCII letters
/// lower-cased (see `Dialect::like_operand`).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c.to_ascii_lowercase());
    }
    pattern.push('%');
    pattern
}

/// Where a goal filter looks for its conversions: a site's events in instants `start..end` (a
/// question's raw range, `plan::Raw::scope`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope {
    pub site: i64,
    pub start: i64,
    pub end: i64,
}

/// Pushes ` AND <condition>` for each filter; goal filters look for conversions in `scope`.
pub(crate) fn push_conditions(sql: &mut Sql, scope: Scope, filters: &[&Filter]) {
    for filter in filters {
        sql.push(" AND ");
        match &filter.dimension {
            Dimension::Goal(conversions) => push_converted(sql, scope, conversions),
            _ => push_condition(sql, filter),
        }
    }
}

/// Visit `s` had an event in the range matching all of `conversions` (none: no visit did).
fn push_converted(sql: &mut Sql, scope: Scope, conversions: &[Filter]) {
    if conversions.is_empty() {
        sql.push("1 = 0");
        return;
    }
    // `events e` here is the subquery's own, whatever `e` the statement around it has.
    sql.push("s.id IN (SELECT e.session_id FROM events e WHERE e.site_id = ")
        .int(scope.site);
    sql.push(" AND e.created_at >= ").time(scope.start);
    sql.push(" AND e.created_at < ").time(scope.end);
    let inner: Vec<&Filter> = conversions.iter().collect();
    push_conditions(sql, scope, &inner);
    sql.push(")");
}

fn push_condition(sql: &mut Sql, filter: &Filter) {
    // Postgres text cannot hold NUL, so no stored value has one, and binding it would be an
    // error: such a value matches nothing.
    if filter.value.contains('\0') {
        sql.push("1 = 0");
        return;
    }
    let col = Col::of(&filter.dimension);
    match (filter.op, filter.value.is_empty()) {
        (FilterOp::Is | FilterOp::Matches, true) => {
            sql.push("COALESCE(");
            col.push(sql);
            sql.push(", '') = ''");
        }
        (FilterOp::Is, false) => {
            col.push(sql);
            sql.push(" = ").text(&filter.value);
            // Spelled out so both planners can use the partial index of custom events
            // (`events_site_custom`, migration 0005): they cannot see through a bound value.
            if filter.dimension == Dimension::EventName && filter.value != "pageview" {
                sql.push(" AND e.name <> 'pageview'");
            }
        }
        (FilterOp::Contains, true) => {
            col.push(sql);
            sql.push(" <> ''");
        }
        (FilterOp::Contains, false) => {
            let dialect = sql.dialect();
            let (open, close) = match dialect {
                Dialect::Sqlite => ("", ""),
                Dialect::Postgres => ("lower(", " COLLATE \"C\")"),
            };
            sql.push(open);
            col.push(sql);
            sql.push(close)
                .push(" LIKE ")
                .text(&contains_pattern(&filter.value))
                .push(" ESCAPE '\\'");
        }
        (FilterOp::Matches, false) => {
            sql.push("(COALESCE(");
            col.push(sql);
            sql.push(", '') <> '' AND ");
            col.push(sql);
            sql.push(match sql.dialect() {
                Dialect::Sqlite => " REGEXP ",
                Dialect::Postgres => " ~ ",
            })
            .text(&crate::stats::glob::to_regex(&filter.value))
            .push(")");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_level_dimensions_are_session_columns() {
        for d in Dimension::FIXED
            .iter()
            .chain([&Dimension::Prop("k".into())])
        {
            assert_eq!(Col::of(d).is_session(), d.is_session_level(), "{d}");
        }
    }

    #[test]
    fn like_wildcards_in_filter_values_are_escaped() {
        assert_eq!(contains_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("Ünï"), "%Ünï%");
    }

    #[test]
    fn filter_values_are_bound_never_spliced() {
        let filter = Filter {
            dimension: Dimension::Source,
            op: FilterOp::Is,
            value: "' OR 1=1 --".into(),
        };
        let mut sql = Sql::new(Dialect::Postgres);
        let scope = Scope {
            site: 1,
            start: 0,
            end: 86_400,
        };
        push_conditions(&mut sql, scope, &[&filter]);
        let text: String = sql
            .pieces
            .iter()
            .filter_map(|p| match p {
                super::super::Piece::Text(t) => Some(t.as_str()),
                super::super::Piece::Bind(_) => None,
            })
            .collect();
        assert_eq!(text, " AND s.referrer_source = ");
    }
}
