//! The text forms of a question's parts, shared by the dashboard URL (`dashboard::params`) and
//! the stats API (`api::params`): dates (`YYYY-MM-DD`) and filters (`DIM:OP:VALUE`, props as
//! `prop:KEY:OP:VALUE`). Errors are sentences that name what was wrong.

use super::{Dimension, Filter, FilterOp};
use chrono::NaiveDate;

/// At most this many filters at once; each is a join or a subquery.
pub const MAX_FILTERS: usize = 10;
/// Longest accepted filter value, in characters (the longest stored values are URLs).
const MAX_VALUE_CHARS: usize = 2048;

/// A local date parameter such as `from=2026-01-31`; `name` is the parameter, for the error.
pub fn parse_date(name: &str, value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("{name} must be a date like 2026-01-31, got {value:?}"))
}

/// `DIM:OP:VALUE` or `prop:KEY:OP:VALUE` (the value may contain `:`).
///
/// ```
/// use footfall::stats::params::{format_filter, parse_filter};
/// use footfall::stats::{Dimension, FilterOp};
///
/// let filter = parse_filter("prop:plan:is:pro:annual").map_err(|e| e.to_string())?;
/// assert_eq!(filter.dimension, Dimension::Prop("plan".into()));
/// assert_eq!(filter.op, FilterOp::Is);
/// assert_eq!(filter.value, "pro:annual");
/// assert_eq!(format_filter(&filter), "prop:plan:is:pro:annual");
/// assert!(parse_filter("planet:is:mars").is_err());
/// # Ok::<(), String>(())
/// ```
pub fn parse_filter(raw: &str) -> Result<Filter, String> {
    let bad = || format!("filter {raw:?} must look like page:is:/pricing or prop:plan:is:pro");
    let (dim, rest) = raw.split_once(':').ok_or_else(bad)?;
    let (dimension, rest) = if dim == "prop" {
        let (key, rest) = rest.split_once(':').ok_or_else(bad)?;
        (Dimension::parse(&format!("prop:{key}")), rest)
    } else {
        (Dimension::parse(dim), rest)
    };
    let dimension =
        dimension.ok_or_else(|| format!("filter {raw:?}: unknown dimension {dim:?}"))?;
    let (op, value) = rest.split_once(':').ok_or_else(bad)?;
    let op = FilterOp::parse(op)
        .ok_or_else(|| format!("filter {raw:?}: operator must be is or contains"))?;
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "filter value longer than {MAX_VALUE_CHARS} characters"
        ));
    }
    Ok(Filter {
        dimension,
        op,
        value: value.to_owned(),
    })
}

/// The text form of a filter, the inverse of `parse_filter`.
pub fn format_filter(filter: &Filter) -> String {
    format!("{}:{}:{}", filter.dimension, filter.op.name(), filter.value)
}

/// Query pairs as actix hands them over, from a query string (the parsers' tests).
#[cfg(test)]
pub(crate) fn query_pairs(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}
