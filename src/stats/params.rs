//! The text forms of a question's parts, shared by the dashboard URL (`dashboard::params`, which
//! share pages and exports read too) and the stats API (`api::params`): dates (`YYYY-MM-DD`),
//! the one rule for which ranges may be asked (`YEARS`, `MAX_RANGE_DAYS`), and filters
//! (`DIM:OP:VALUE`, props as `prop:KEY:OP:VALUE`). Errors are sentences that name what was wrong.

use super::{Dimension, Filter, FilterOp};
use chrono::{Datelike, NaiveDate};
use std::ops::RangeInclusive;

/// At most this many filters at once; each is a join or a subquery.
pub const MAX_FILTERS: usize = 10;
/// Longest accepted filter value, in characters (the longest stored values are URLs).
const MAX_VALUE_CHARS: usize = 2048;

/// Longest `from`..`to` range, in days (ten years and leap days): a question over it is still
/// answered in reasonable time, and its chart has at most some 120 monthly buckets.
pub const MAX_RANGE_DAYS: i64 = 3660;
/// Dates outside these years are refused (the store's day arithmetic is in unix seconds).
pub const YEARS: RangeInclusive<i32> = 1970..=2999;

/// A local date parameter such as `from=2026-01-31`, within `YEARS`; `name` is the parameter, for
/// the error.
pub fn parse_date(name: &str, value: &str) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("{name} must be a date like 2026-01-31, got {value:?}"))?;
    if !YEARS.contains(&date.year()) {
        return Err(format!(
            "{name} must be between {}-01-01 and {}-12-31, got {value}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(date)
}

/// A custom range `from..=to`: in order and at most `MAX_RANGE_DAYS` long. The error is about
/// `to`.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), String> {
    let days = (to - from).num_days() + 1;
    if days > MAX_RANGE_DAYS {
        return Err(format!(
            "from..to may span at most {MAX_RANGE_DAYS} days; {from}..{to} spans {days}"
        ));
    }
    if from > to {
        return Err("to must not be before from".into());
    }
    Ok(())
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
    let (dimension, rest) = match dim {
        "prop" => {
            let (key, rest) = rest.split_once(':').ok_or_else(bad)?;
            (Dimension::parse(&format!("prop:{key}")), rest)
        }
        // Filled in from the site's goals by `goal::resolve`.
        "goal" => (Some(Dimension::Goal(Vec::new())), rest),
        _ => (Dimension::parse(dim), rest),
    };
    let dimension =
        dimension.ok_or_else(|| format!("filter {raw:?}: unknown dimension {dim:?}"))?;
    let (op, value) = rest.split_once(':').ok_or_else(bad)?;
    let op = FilterOp::parse(op)
        .ok_or_else(|| format!("filter {raw:?}: operator must be is, contains or matches"))?;
    if matches!(dimension, Dimension::Goal(_)) && (op != FilterOp::Is || value.is_empty()) {
        return Err(format!(
            "filter {raw:?}: a goal filter names one goal, as goal:is:Signup"
        ));
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "filter value longer than {MAX_VALUE_CHARS} characters"
        ));
    }
    Ok(Filter {
        value: dimension.stored_form(value).into_owned(),
        dimension,
        op,
    })
}

/// The filters of saved segment `name`, stored as the URL writes them; `Err` names the segment.
pub fn saved_filters(name: &str, filters: &[String]) -> Result<Vec<Filter>, String> {
    filters
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("saved segment {name:?}: {e}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn dates_and_ranges_stay_within_the_bounds() {
        assert_eq!(parse_date("from", "2026-01-31"), Ok(d("2026-01-31")));
        for bad in ["0001-01-01", "1969-12-31", "3000-01-01", "9999-12-31"] {
            let message = parse_date("from", bad).err().unwrap_or_default();
            assert!(
                message.contains("between 1970-01-01 and 2999-12-31"),
                "{bad}: {message}"
            );
        }
        assert!(check_range(d("2016-01-01"), d("2026-01-07")).is_ok());
        assert!(check_range(d("2016-01-01"), d("2026-01-08")).is_err());
        assert!(check_range(d("2026-01-02"), d("2026-01-01")).is_err());
    }
}
