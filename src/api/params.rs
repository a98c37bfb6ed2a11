//! The stats API's query string → a validated request. Strict on purpose: an unknown or repeated
//! parameter is a 400 (it is usually a typo that would otherwise be silently ignored), and every
//! error names its parameter. Dates and filters are read exactly as the dashboard reads them
//! (`stats::params`); several filters are several `filters=` parameters, all of which must hold.

use crate::domain::SiteDomain;
use crate::stats::params::{MAX_FILTERS, check_range, parse_date, parse_filter};
use crate::stats::period::Period;
use crate::stats::{Dimension, Filter, Interval};

pub use super::endpoint::{Endpoint, Metric};
use chrono::NaiveDate;

/// Breakdown rows per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;
/// Longest range an hourly series may cover, in days.
pub const MAX_HOURLY_DAYS: i64 = 31;

/// A parameter that was wrong, and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter {
    pub parameter: String,
    pub message: String,
}

impl BadParameter {
    fn new(parameter: &str, message: impl Into<String>) -> Self {
        Self {
            parameter: parameter.to_owned(),
            message: message.into(),
        }
    }
}

/// A checked request; dates are resolved against the site's "today" later (`range`).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub site: SiteDomain,
    pub period: Period,
    pub filters: Vec<Filter>,
    pub metrics: Vec<Metric>,
    /// Timeseries only; `None` = day, or hour for a one-day range.
    pub interval: Option<Interval>,
    /// Breakdown only (required there).
    pub property: Option<Dimension>,
    /// A saved segment's id (`segment=ID`), whose filters hold with `filters`.
    pub segment: Option<i64>,
    /// Funnel only: the goal names of its steps, in order (`steps`, repeated).
    pub steps: Vec<String>,
    pub limit: u32,
    pub page: u32,
}

impl Request {
    /// The local date range for `today` (the site's), checked against the interval.
    pub fn range(
        &self,
        today: NaiveDate,
    ) -> Result<(NaiveDate, NaiveDate, Interval), BadParameter> {
        let (from, to) = self.period.range(today);
        let days = (to - from).num_days() + 1;
        let interval = self.interval.unwrap_or(if days == 1 {
            Interval::Hour
        } else {
            Interval::Day
        });
        if interval == Interval::Hour && days > MAX_HOURLY_DAYS {
            return Err(BadParameter::new(
                "interval",
                format!(
                    "interval=hour covers at most {MAX_HOURLY_DAYS} days; this range has {days}: use interval=day"
                ),
            ));
        }
        Ok((from, to, interval))
    }

    /// Rows to skip for `page`.
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.limit)
    }
}

pub fn parse(endpoint: Endpoint, pairs: &[(String, String)]) -> Result<Request, BadParameter> {
    let accepted = endpoint.parameters();
    for (name, _) in pairs {
        if !accepted.contains(&name.as_str()) {
            return Err(BadParameter::new(
                name,
                format!(
                    "unknown parameter {name:?}: /api/v1/stats/{} takes {}",
                    endpoint.name(),
                    accepted.join(", ")
                ),
            ));
        }
        if !Endpoint::repeatable(name) && pairs.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(BadParameter::new(
                name,
                format!("{name} is given more than once"),
            ));
        }
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    let site = get("site").ok_or_else(|| {
        BadParameter::new(
            "site",
            "site is required: the site's domain, e.g. site=example.com",
        )
    })?;
    let site = SiteDomain::parse(site)
        .map_err(|e| BadParameter::new("site", format!("invalid site: {}", e.0)))?;
    let period = period(get("period"), get("from"), get("to"))?;

    let mut filters = Vec::new();
    for (_, raw) in pairs.iter().filter(|(n, _)| n == "filters") {
        let filter = parse_filter(raw)
            .map_err(|e| BadParameter::new("filters", format!("invalid filters: {e}")))?;
        if !filters.contains(&filter) {
            filters.push(filter);
        }
    }
    if filters.len() > MAX_FILTERS {
        return Err(BadParameter::new(
            "filters",
            format!("at most {MAX_FILTERS} filters"),
        ));
    }

    let metrics = match get("metrics") {
        None => endpoint.default_metrics().to_vec(),
        Some(list) => metrics(endpoint, list)?,
    };
    let interval = match get("interval") {
        None => None,
        Some("day") => Some(Interval::Day),
        Some("hour") => Some(Interval::Hour),
        Some(other) => {
            return Err(BadParameter::new(
                "interval",
                format!("interval must be hour or day, got {other:?}"),
            ));
        }
    };
    let property = match (endpoint, get("property")) {
        (Endpoint::Breakdown, None) => {
            return Err(BadParameter::new(
                "property",
                "property is required, e.g. property=page or property=prop:plan",
            ));
        }
        (_, None) => None,
        // One row per goal of the site (`goal::resolve` is not needed: rows are the goals).
        (_, Some("goal")) => Some(Dimension::Goal(Vec::new())),
        (_, Some(name)) => Some(Dimension::parse(name).ok_or_else(|| {
            BadParameter::new(
                "property",
                format!(
                    "unknown property {name:?}: use one of {}, goal or prop:NAME",
                    Dimension::FIXED
                        .iter()
                        .map(Dimension::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?),
    };
    let segment = match get("segment") {
        None => None,
        Some(id) => Some(id.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
            BadParameter::new(
                "segment",
                format!("segment must be a saved segment's number, not {id:?}"),
            )
        })?),
    };
    let limit = number(get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = number(get("page"), "page", 1, u32::MAX)?;
    let steps = pairs
        .iter()
        .filter(|(n, _)| n == "steps")
        .map(|(_, v)| v.clone())
        .collect();
    Ok(Request {
        segment,
        steps,
        site,
        period,
        filters,
        metrics,
        interval,
        property,
        limit,
        page,
    })
}

/// `period` (default 30d), or `from` and `to` (with `period=custom` or on their own).
fn period(
    name: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Period, BadParameter> {
    // Dates and ranges as the dashboard reads them (`stats::params`).
    let date = |param: &str, value: Option<&str>| -> Result<Option<NaiveDate>, BadParameter> {
        value
            .map(|value| parse_date(param, value).map_err(|e| BadParameter::new(param, e)))
            .transpose()
    };
    let (from_date, to_date) = (date("from", from)?, date("to", to)?);
    let dates_given = from.is_some() || to.is_some();
    let name = match name {
        Some(name) if name != "custom" && dates_given => {
            let param = if from.is_some() { "from" } else { "to" };
            return Err(BadParameter::new(
                param,
                format!("{param} goes with period=custom (or no period), not period={name}"),
            ));
        }
        Some(name) => name,
        None if dates_given => "custom",
        None => "30d",
    };
    if name == "custom" {
        match (from_date, to_date) {
            (None, _) => return Err(BadParameter::new("from", "period=custom needs from and to")),
            (_, None) => return Err(BadParameter::new("to", "period=custom needs from and to")),
            (Some(f), Some(t)) => check_range(f, t).map_err(|e| BadParameter::new("to", e))?,
        }
    }
    Period::parse(name, from_date, to_date)
        .map_err(|e| BadParameter::new("period", format!("invalid period: {e}")))
}

fn metrics(endpoint: Endpoint, list: &str) -> Result<Vec<Metric>, BadParameter> {
    let supported = endpoint.metrics();
    let names = || {
        supported
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut metrics = Vec::new();
    for name in list.split(',').map(str::trim) {
        let metric = Metric::parse(name).ok_or_else(|| {
            BadParameter::new(
                "metrics",
                format!("unknown metric {name:?} in metrics: use {}", names()),
            )
        })?;
        if !supported.contains(&metric) {
            return Err(BadParameter::new(
                "metrics",
                format!(
                    "metrics: {name} is not available for {}; use {}",
                    endpoint.name(),
                    names()
                ),
            ));
        }
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    Ok(metrics)
}

fn number(value: Option<&str>, name: &str, default: u32, max: u32) -> Result<u32, BadParameter> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ if max == u32::MAX => Err(BadParameter::new(
            name,
            format!("{name} must be a whole number from 1, got {value:?}"),
        )),
        _ => Err(BadParameter::new(
            name,
            format!("{name} must be a whole number from 1 to {max}, got {value:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::params::query_pairs as pairs;

    fn bad(endpoint: Endpoint, q: &str) -> String {
        match parse(endpoint, &pairs(q)) {
            Ok(r) => panic!("{q} was accepted: {r:?}"),
            Err(e) => e.parameter,
        }
    }

    #[test]
    fn defaults_are_the_last_30_days_and_the_endpoints_metrics() {
        let r = parse(Endpoint::Aggregate, &pairs("site=Example.com"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.site.as_str(), "example.com");
        assert_eq!(r.period, Period::Last30Days);
        assert_eq!(r.metrics, Metric::ALL.to_vec());
        assert_eq!((r.limit, r.page, r.offset()), (100, 1, 0));
        let r = parse(
            Endpoint::Breakdown,
            &pairs("site=a.com&property=prop:plan&limit=5&page=3&from=2026-01-01&to=2026-01-31"),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.property, Some(Dimension::Prop("plan".into())));
        assert_eq!(r.offset(), 10);
        assert!(matches!(r.period, Period::Custom { .. }));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        use Endpoint::*;
        for (endpoint, q, param) in [
            (Aggregate, "", "site"),
            (Aggregate, "site=http://x.com/", "site"),
            (Aggregate, "site=a.com&sitee=a.com", "sitee"),
            (Aggregate, "site=a.com&site=b.com", "site"),
            (Aggregate, "site=a.com&period=forever", "period"),
            (Aggregate, "site=a.com&period=7d&from=2026-01-01", "from"),
            (Aggregate, "site=a.com&period=custom&to=2026-01-01", "from"),
            (Aggregate, "site=a.com&from=2026-01-01", "to"),
            (Aggregate, "site=a.com&from=2026-02-01&to=2026-01-01", "to"),
            (
                Aggregate,
                "site=a.com&from=1900-01-01&to=2026-01-01",
                "from",
            ),
            (Aggregate, "site=a.com&from=2000-01-01&to=2026-01-01", "to"),
            (Aggregate, "site=a.com&from=2026-1-1x&to=2026-01-01", "from"),
            (Aggregate, "site=a.com&metrics=visitors,visitorz", "metrics"),
            (Aggregate, "site=a.com&metrics=", "metrics"),
            (Aggregate, "site=a.com&filters=planet:is:mars", "filters"),
            (Aggregate, "site=a.com&filters=page:like:x", "filters"),
            (Aggregate, "site=a.com&interval=day", "interval"),
            (Timeseries, "site=a.com&interval=minute", "interval"),
            (Timeseries, "site=a.com&metrics=bounce_rate,nope", "metrics"),
            (Breakdown, "site=a.com", "property"),
            (Breakdown, "site=a.com&property=planet", "property"),
            (Breakdown, "site=a.com&property=prop:", "property"),
            (
                Breakdown,
                "site=a.com&property=page&metrics=visits,",
                "metrics",
            ),
            (Breakdown, "site=a.com&property=page&limit=0", "limit"),
            (Breakdown, "site=a.com&property=page&limit=1001", "limit"),
            (Breakdown, "site=a.com&property=page&page=0", "page"),
            (Breakdown, "site=a.com&property=page&page=-1", "page"),
        ] {
            assert_eq!(bad(endpoint, q), param, "{q}");
        }
    }

    #[test]
    fn an_hourly_series_is_limited_to_a_month() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap_or_default();
        let r = parse(Endpoint::Timeseries, &pairs("site=a.com&period=today"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.range(today).map(|r| r.2), Ok(Interval::Hour));
        let r = parse(
            Endpoint::Timeseries,
            &pairs("site=a.com&period=12mo&interval=hour"),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            r.range(today).map_err(|e| e.parameter),
            Err("interval".into())
        );
    }
}
