//! A dashboard view as it lives in the URL: period (`period`, `from`, `to`) and filters
//! (repeated `f=DIM:OP:VALUE`, props as `f=prop:KEY:OP:VALUE`), so every view can be bookmarked
//! and shared. Dates, ranges and filters are read by `stats::params`, which the stats API shares:
//! the dashboard, share pages and exports accept the ranges the API does, and no longer ones.

pub use crate::stats::params::{MAX_FILTERS, format_filter, parse_filter};

use crate::domain::Site;
use crate::stats::params::{check_range, parse_date};
use crate::stats::period::Period;
use crate::stats::{Filter, StatsQuery};
use chrono::{NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub period: Period,
    pub filters: Vec<Filter>,
}

impl View {
    /// The question this view asks of `site`: its period, as of today in the site's time zone,
    /// and its filters.
    pub fn query(&self, site: &Site) -> StatsQuery {
        let today = Utc::now().with_timezone(&site.timezone.0).date_naive();
        let (from, to) = self.period.range(today);
        StatsQuery {
            site: site.id,
            timezone: site.timezone,
            from,
            to,
            filters: self.filters.clone(),
        }
    }
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
            Some(v) => parse_date(name, v).map(Some),
        }
    };
    let (from, to) = (date("from")?, date("to")?);
    let period_name = get("period").unwrap_or(if from.is_some() { "custom" } else { "30d" });
    if period_name == "custom"
        && let (Some(from), Some(to)) = (from, to)
    {
        check_range(from, to)?;
    }
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
    use crate::stats::params::query_pairs as pairs;
    use crate::stats::{Dimension, FilterOp};

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
    fn ranges_are_bounded_as_in_the_api() {
        let error = |q: &str| parse(&pairs(q)).err().unwrap_or_default();
        assert!(
            error("from=0001-01-01&to=9999-12-31").contains("between 1970-01-01 and 2999-12-31")
        );
        assert!(error("from=2016-01-01&to=2026-01-08").contains("at most 3660 days"));
        assert!(error("period=custom&from=2026-01-02&to=2026-01-01").contains("before"));
        assert!(parse(&pairs("from=2016-01-01&to=2026-01-07")).is_ok());
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
