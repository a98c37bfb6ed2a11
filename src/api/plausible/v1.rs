//! Plausible's Stats API v1 parameters on `/api/v1/stats/{aggregate,timeseries,breakdown}`.
//! A request that names its site with `site_id` (Plausible's name; footfall's own is `site`) is
//! read with Plausible's parameters and answered in Plausible's shapes; any other is footfall's
//! own, answered exactly as before. As footfall's own, it is strict: an unknown or repeated
//! parameter is a 400 naming it.

use super::answer::{Ask, By, Key, Parts, change};
use super::names::{self, PMetric};
use super::{filters, period};
use crate::api::ApiError;
use crate::api::auth::{authenticate, site_for};
use crate::api::params::{BadParameter, DEFAULT_LIMIT, Endpoint, MAX_LIMIT};
use crate::domain::SiteDomain;
use crate::stats::period::previous;
use crate::stats::{Dimension, Interval};
use crate::store::DynStore;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Datelike, Utc};
use serde_json::{Map, Value, json};

/// The parameters each endpoint takes in Plausible's form (the OpenAPI test checks them).
pub fn parameters(endpoint: Endpoint) -> &'static [&'static str] {
    match endpoint {
        Endpoint::Aggregate => &[
            "site_id",
            "period",
            "date",
            "metrics",
            "filters",
            "compare",
            "with_imported",
        ],
        Endpoint::Timeseries => &[
            "site_id",
            "period",
            "date",
            "metrics",
            "filters",
            "interval",
            "with_imported",
        ],
        Endpoint::Breakdown => &[
            "site_id",
            "period",
            "date",
            "metrics",
            "filters",
            "property",
            "limit",
            "page",
            "with_imported",
        ],
        Endpoint::Funnel => &[],
    }
}

/// True when the request speaks Plausible's parameters (names its site with `site_id`).
pub fn asks(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(n, _)| n == "site_id")
}

const NO_IMPORTS: &str =
    "footfall has no imported stats for this site: the results are footfall's own figures";

fn bad(parameter: &str, message: impl Into<String>) -> BadParameter {
    BadParameter {
        parameter: parameter.to_owned(),
        message: message.into(),
    }
}

/// The request's pairs checked: each known to the endpoint and given once.
fn checked<'a>(
    endpoint: Endpoint,
    pairs: &'a [(String, String)],
) -> Result<impl Fn(&str) -> Option<&'a str>, BadParameter> {
    let accepted = parameters(endpoint);
    for (name, _) in pairs {
        if !accepted.contains(&name.as_str()) {
            let hint = if name == "site" {
                " (footfall's own name for the site; with site_id, use Plausible's names only)"
            } else {
                ""
            };
            return Err(bad(
                name,
                format!(
                    "unknown parameter {name:?}{hint}: with site_id, /api/v1/stats/{} takes {}",
                    endpoint.name(),
                    accepted.join(", ")
                ),
            ));
        }
        if pairs.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(bad(name, format!("{name} is given more than once")));
        }
    }
    Ok(move |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    })
}

/// Answers a Plausible-style v1 request.
pub async fn answer(
    req: &HttpRequest,
    store: &DynStore,
    endpoint: Endpoint,
    pairs: &[(String, String)],
) -> Result<HttpResponse, ApiError> {
    let key = authenticate(req, store).await?;
    let get = checked(endpoint, pairs)?;
    let domain = get("site_id").unwrap_or_default();
    let domain = SiteDomain::parse(domain)
        .map_err(|e| bad("site_id", format!("invalid site_id: {}", e.0)))?;
    let when = period::v1(get("period"), get("date")).map_err(|(p, m)| bad(p, m))?;
    let filters = match get("filters") {
        None => filters::Where::default(),
        Some(f) => filters::parse_v1(f).map_err(|e| bad("filters", e))?,
    };
    let mut metrics = Vec::new();
    for name in get("metrics")
        .unwrap_or("visitors")
        .split(',')
        .map(str::trim)
    {
        let m = PMetric::parse(name).map_err(|e| bad("metrics", e))?;
        if m == PMetric::Percentage {
            return Err(bad("metrics", "percentage is a v2 metric (POST /api/v2/query)").into());
        }
        if metrics.contains(&m) {
            return Err(bad("metrics", format!("{name} is asked for twice")).into());
        }
        metrics.push(m);
    }
    let compare = match get("compare") {
        None => false,
        Some("previous_period") => true,
        Some(other) => {
            return Err(bad(
                "compare",
                format!("compare must be previous_period, got {other:?}"),
            )
            .into());
        }
    };
    let with_imported = match get("with_imported") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(bad(
                "with_imported",
                format!("with_imported is true or false, got {other:?}"),
            )
            .into());
        }
    };
    let property = get("property");
    let by = match endpoint {
        Endpoint::Breakdown => {
            let name = property
                .ok_or_else(|| bad("property", "property is required, e.g. property=event:page"))?;
            By::Dimension(names::dimension(name).map_err(|e| bad("property", e))?)
        }
        Endpoint::Timeseries => By::Time(match get("interval") {
            None => match when.span {
                period::Span::Day => Interval::Hour,
                period::Span::Months { .. } | period::Span::Year => Interval::Month,
                _ => Interval::Day,
            },
            Some("date" | "day") => Interval::Day,
            Some("hour") => Interval::Hour,
            Some("week") => Interval::Week,
            Some("month") => Interval::Month,
            Some(other) => {
                return Err(bad(
                    "interval",
                    format!("interval must be date, day, hour, week or month, got {other:?}"),
                )
                .into());
            }
        }),
        _ => By::Total,
    };
    let number = |name: &str, default: u32, max: u32| -> Result<u32, BadParameter> {
        match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    bad(
                        name,
                        format!("{name} must be a whole number from 1 to {max}, got {v:?}"),
                    )
                }),
        }
    };
    let limit = number("limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = number("page", 1, u32::MAX)?;

    let site = site_for(&key, store, &domain).await?;
    let today = Utc::now().with_timezone(&site.timezone.0).date_naive();
    let param = if get("date").is_some() {
        "date"
    } else {
        "period"
    };
    let (from, to) = when.range(today).map_err(|e| bad(param, e))?;
    let ask = Ask::new(
        store,
        Parts {
            site,
            from,
            to,
            filters,
            metrics,
            by: by.clone(),
            // Plausible orders a breakdown by its first metric.
            order: vec![(Key::Metric(0), true)],
            limit: i64::from(limit),
            offset: i64::from(page - 1) * i64::from(limit),
        },
        "filters",
        "metrics",
    )
    .await?;

    let mut body = Map::new();
    match (&by, property) {
        (By::Total, _) => {
            let now = ask.total(store).await?;
            let before = if compare {
                let (pf, pt) = previous(from, to);
                Some(ask.over(pf, pt).total(store).await?)
            } else {
                None
            };
            let results: Map<String, Value> = ask
                .metrics
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let value = now[i].clone();
                    let entry = match &before {
                        None => json!({ "value": value }),
                        Some(old) => json!({
                            "value": value,
                            "comparison_value": old[i],
                            "change": change(*m, &old[i], &now[i]),
                        }),
                    };
                    (m.name().to_owned(), entry)
                })
                .collect();
            body.insert("results".into(), Value::Object(results));
        }
        (By::Time(interval), _) => {
            let rows = ask.series(store, *interval).await?;
            let results: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut row = Map::new();
                    row.insert("date".into(), json!(time_label(r.start, *interval)));
                    for (m, v) in ask.metrics.iter().zip(&r.figures) {
                        row.insert(m.name().into(), v.clone());
                    }
                    Value::Object(row)
                })
                .collect();
            body.insert("results".into(), Value::Array(results));
        }
        (By::Dimension(dimension), Some(property)) => {
            let rows = ask.rows(store).await?;
            let key = names::short_name(property);
            let results: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut row = group_fields(dimension, key, r.group.as_deref());
                    for (m, v) in ask.metrics.iter().zip(&r.figures) {
                        row.insert(m.name().into(), v.clone());
                    }
                    Value::Object(row)
                })
                .collect();
            body.insert("results".into(), Value::Array(results));
        }
        (By::Dimension(_), None) => {}
    }
    if with_imported {
        body.insert("warning".into(), json!(NO_IMPORTS));
    }
    Ok(HttpResponse::Ok().json(body))
}

/// A bucket's label as Plausible writes it: the date (a month's first day), or local
/// `YYYY-MM-DD HH:MM:SS` for hours.
pub fn time_label(start: Option<chrono::NaiveDateTime>, interval: Interval) -> String {
    let Some(start) = start else {
        return String::new();
    };
    match interval {
        Interval::Hour => start.format("%Y-%m-%d %H:%M:%S").to_string(),
        Interval::Month => start.date().with_day(1).unwrap_or(start.date()).to_string(),
        Interval::Day | Interval::Week => start.date().to_string(),
    }
}

/// A breakdown row's group as Plausible keys it; a browser version row has the browser too.
pub fn group_fields(dimension: &Dimension, key: &str, value: Option<&str>) -> Map<String, Value> {
    let mut row = Map::new();
    match (dimension, value) {
        (Dimension::BrowserVersion, Some(v)) => {
            let (browser, version) = names::split_browser_version(v);
            row.insert("browser".into(), json!(browser));
            row.insert(key.into(), json!(version));
        }
        _ => {
            row.insert(key.into(), names::value_out(dimension, value));
        }
    }
    row
}
