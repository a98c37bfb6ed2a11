//! A dashboard view as it lives in the URL: period (`period`, `from`, `to`) and filters
//! (repeated `f=DIM:OP:VALUE`, props as `f=prop:KEY:OP:VALUE`), so every view can be bookmarked
//! and shared. The same parsing serves the stats API.

use crate::stats::period::Period;
use crate::stats::{Dimension, Filter, FilterOp};
use chrono::NaiveDate;

/// At most this many filters at once; each is a join or a subquery.
pub const MAX_FILTERS: usize = 10;
/// Longest accepted filter value, in characters (the longest stored values are URLs).
const MAX_VALUE_CHARS: usize = 2048;

#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub period: Period,
    pub filters: Vec<Filter>,
}

/// Reads a view from query pairs; `Err` names the bad parameter.
pub fn parse(pairs: &[(String, String)]) -> Result<View, String> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let date = |name: &str| -> Result<Option<NaiveDate>, String> {
        match get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("{name} must be a date like 2026-01-31, got {v:?}")),
        }
    };
    let (from, to) = (date("from")?, date("to")?);
    let period_name = get("period").unwrap_or(if from.is_some() { "custom" } else { "30d" });
    let period = Period::parse(period_name, from, to)?;
    let mut filters = Vec::new();
    for (_, raw) in pairs.iter().filter(|(k, _)| k == "f") {
        let filter = parse_filter(raw)?;
        if !filters.contains(&filter) {
            filters.push(filter);
        }
    }
    if filters.len() > MAX_FILTERS {
        return Err(format!("at most {MAX_FILTERS} filters"));
    }
    Ok(View { period, filters })
}

/// `DIM:OP:VALUE` or `prop:KEY:OP:VALUE` (the value may contain `:`).
///
/// ```
/// use footfall::dashboard::params::{format_filter, parse_filter};
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

/// The URL form of a filter, the inverse of `parse_filter`.
pub fn format_filter(filter: &Filter) -> String {
    format!("{}:{}:{}", filter.dimension, filter.op.name(), filter.value)
}

impl View {
    /// Query string (without `?`) for this view, percent-encoded.
    pub fn query_string(&self) -> String {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("period", self.period.name());
        if let Period::Custom { from, to } = self.period {
            ser.append_pair("from", &from.to_string());
            ser.append_pair("to", &to.to_string());
        }
        for f in &self.filters {
            ser.append_pair("f", &format_filter(f));
        }
        ser.finish()
    }

    pub fn with_filter(&self, filter: Filter) -> View {
        let mut view = self.clone();
        // One filter per dimension: clicking a row replaces the dimension's earlier choice.
        view.filters.retain(|f| f.dimension != filter.dimension);
        view.filters.push(filter);
        view
    }

    pub fn without_filter(&self, index: usize) -> View {
        let mut view = self.clone();
        if index < view.filters.len() {
            view.filters.remove(index);
        }
        view
    }

    pub fn with_period(&self, period: Period) -> View {
        View {
            period,
            filters: self.filters.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn a_view_round_trips_through_its_query_string() {
        let view = parse(&pairs(
            "period=7d&f=page:is:/a:b&f=prop:plan:contains:pr&f=source:is:",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(view.period, Period::Last7Days);
        assert_eq!(view.filters.len(), 3);
        assert_eq!(view.filters[0].value, "/a:b");
        assert_eq!(view.filters[1].dimension, Dimension::Prop("plan".into()));
        assert_eq!(view.filters[2].value, "");
        assert_eq!(parse(&pairs(&view.query_string())), Ok(view));
    }

    #[test]
    fn bad_parameters_are_named() {
        assert!(
            parse(&pairs("period=forever"))
                .err()
                .unwrap_or_default()
                .contains("unknown period")
        );
        assert!(
            parse(&pairs("period=custom&from=2026-13-01&to=2026-01-01"))
                .err()
                .unwrap_or_default()
                .contains("from")
        );
        assert!(
            parse(&pairs("f=planet:is:mars"))
                .err()
                .unwrap_or_default()
                .contains("unknown dimension")
        );
        assert!(
            parse(&pairs("f=page:like:x"))
                .err()
                .unwrap_or_default()
                .contains("operator")
        );
        assert!(parse(&pairs("f=page")).is_err());
    }

    #[test]
    fn defaults_to_the_last_30_days_and_custom_when_dates_are_given() {
        assert_eq!(parse(&[]).map(|v| v.period), Ok(Period::Last30Days));
        let view = parse(&pairs("from=2026-01-01&to=2026-01-31")).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(view.period, Period::Custom { .. }));
    }

    #[test]
    fn clicking_a_row_replaces_the_filter_on_that_dimension() {
        let view = parse(&pairs("f=country:is:DE")).unwrap_or_else(|e| panic!("{e}"));
        let next = view.with_filter(Filter {
            dimension: Dimension::Country,
            op: FilterOp::Is,
            value: "FR".into(),
        });
        assert_eq!(next.filters.len(), 1);
        assert_eq!(next.filters[0].value, "FR");
        assert!(next.without_filter(0).filters.is_empty());
    }
}
