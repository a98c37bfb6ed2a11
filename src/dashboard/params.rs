//! A dashboard view as it lives in the URL: period (`period`, `from`, `to`) and filters
//! (repeated `f=DIM:OP:VALUE`, props as `f=prop:KEY:OP:VALUE`), so every view can be bookmarked
//! and shared. Dates, ranges and filters are read by `stats::params`, which the stats API shares:
//! the dashboard, share pages and exports accept the ranges the API does, and no longer ones.

pub use crate::stats::params::{MAX_FILTERS, format_filter, parse_filter};

use crate::domain::Site;
use crate::stats::goal::{self, Goal};
use crate::stats::params::{check_range, parse_date};
use crate::stats::period::Period;
use crate::stats::{Filter, StatsQuery};
use crate::store::SavedSegment;
use chrono::{NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub period: Period,
    /// The URL's own filters (`f=`).
    pub filters: Vec<Filter>,
    /// The saved segment applied (`segment=ID`); its name and filters are filled in by
    /// `resolve`, and its filters hold with the URL's own.
    pub segment: Option<Applied>,
}

/// A saved segment in a view.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub id: i64,
    pub name: String,
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
            filters: self.all_filters(),
        }
    }

    /// The segment's filters, then the URL's own (each once).
    pub fn all_filters(&self) -> Vec<Filter> {
        let mut all = self
            .segment
            .as_ref()
            .map(|s| s.filters.clone())
            .unwrap_or_default();
        for f in &self.filters {
            if !all.contains(f) {
                all.push(f.clone());
            }
        }
        all
    }
}

/// Fills in the saved segment a view names (`segment=ID`) from `saved`, its site's segments, and
/// its goal filters (`goal:is:NAME`, its own or the segment's) from `goals`, the site's; `Err`
/// says what is wrong with them.
pub fn resolve(
    site: &Site,
    saved: &[SavedSegment],
    goals: &[Goal],
    view: View,
) -> Result<View, String> {
    let mut view = with_segment(site, saved, view)?;
    let domain = site.domain.as_str();
    goal::resolve(&mut view.filters, goals, domain)?;
    if let Some(segment) = &mut view.segment {
        goal::resolve(&mut segment.filters, goals, domain)?;
    }
    Ok(view)
}

fn with_segment(site: &Site, saved: &[SavedSegment], mut view: View) -> Result<View, String> {
    let Some(wanted) = &view.segment else {
        return Ok(view);
    };
    let saved = saved.iter().find(|s| s.id == wanted.id).ok_or_else(|| {
        format!(
            "segment {} is not one of {}'s saved segments",
            wanted.id, site.domain
        )
    })?;
    let filters = crate::stats::params::saved_filters(&saved.name, &saved.filters)?;
    view.segment = Some(Applied {
        id: saved.id,
        name: saved.name.clone(),
        filters,
    });
    if view.all_filters().len() > MAX_FILTERS {
        return Err(format!(
            "at most {MAX_FILTERS} filters, the segment's included"
        ));
    }
    Ok(view)
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
    let segment =
        match get("segment").filter(|v| !v.is_empty()) {
            None => None,
            Some(id) => Some(Applied {
                id: id.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
                    format!("segment must be a saved segment's number, not {id:?}")
                })?,
                name: String::new(),
                filters: Vec::new(),
            }),
        };
    Ok(View {
        period,
        filters,
        segment,
    })
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
        if let Some(segment) = &self.segment {
            ser.append_pair("segment", &segment.id.to_string());
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
            ..self.clone()
        }
    }

    /// This view without its saved segment.
    pub fn without_segment(&self) -> View {
        View {
            segment: None,
            ..self.clone()
        }
    }

    /// The view of saved segment `id` alone, over this view's period.
    pub fn of_segment(&self, id: i64) -> View {
        View {
            period: self.period,
            filters: Vec::new(),
            segment: Some(Applied {
                id,
                name: String::new(),
                filters: Vec::new(),
            }),
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
