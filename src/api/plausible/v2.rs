//! `POST /api/v2/query`: Plausible's v2 query (`site_id`, `metrics`, `date_range`, `dimensions`,
//! `filters`, `order_by`, `pagination`, `include`) answered as `{results, meta, query}`, behind
//! the same API keys as `/api/v1/stats`. One dimension at a time — a property or a time bucket —
//! since footfall's breakdowns and series have one; anything footfall cannot answer exactly is a
//! 400 whose `parameter` names the part of the query.

use super::answer::{Ask, By, Key, Parts};
use super::names::{self, PMetric};
use super::v1::time_label;
use super::{filters, period};
use crate::api::ApiError;
use crate::api::auth::{authenticate, site_for};
use crate::api::params::BadParameter;
use crate::domain::SiteDomain;
use crate::stats::Interval;
use crate::store::DynStore;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Months, NaiveDate, Utc};
use serde_json::{Map, Value, json};

/// The keys a query may have.
pub const KEYS: [&str; 9] = [
    "site_id",
    "metrics",
    "date_range",
    "date",
    "dimensions",
    "filters",
    "order_by",
    "pagination",
    "include",
];
/// Rows per answer unless `pagination.limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: i64 = 10_000;

const NO_IMPORTS: &str = "footfall has no imported stats for this site yet: the results are \
                          footfall's own figures";

fn bad(parameter: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(BadParameter {
        parameter: parameter.to_owned(),
        message: message.into(),
    })
}

fn strings(v: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    v.as_array()
        .ok_or_else(|| bad(name, format!("{name} must be a list of strings")))?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(name, format!("{name}: {s} is not a string")))
        })
        .collect()
}

/// A time dimension's bucket; `time` picks one from the range as Plausible does.
fn time_interval(name: &str, from: NaiveDate, to: NaiveDate) -> Option<Result<Interval, ApiError>> {
    Some(Ok(match name {
        "time:hour" => Interval::Hour,
        "time:day" => Interval::Day,
        "time:week" => Interval::Week,
        "time:month" => Interval::Month,
        "time" => {
            let a_month_on = from.checked_add_months(Months::new(1)).unwrap_or(from);
            if to >= a_month_on {
                Interval::Month
            } else if to > from {
                Interval::Day
            } else {
                Interval::Hour
            }
        }
        "time:minute" => {
            return Some(Err(bad(
                "dimensions",
                "time:minute: footfall's finest bucket is the hour",
            )));
        }
        _ => return None,
    }))
}

pub async fn query(
    req: HttpRequest,
    store: web::Data<DynStore>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let store = store.get_ref();
    let key = authenticate(&req, store).await?;
    let q: Value = serde_json::from_slice(&body)
        .map_err(|e| bad("body", format!("the body must be a JSON query: {e}")))?;
    let q = q
        .as_object()
        .ok_or_else(|| bad("body", "the body must be a JSON object"))?;
    if let Some(k) = q.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(
            k,
            format!("unknown key {k:?}: a query has {}", KEYS.join(", ")),
        ));
    }
    let domain = q
        .get("site_id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("site_id", "site_id is required: the site's domain"))?;
    let domain = SiteDomain::parse(domain)
        .map_err(|e| bad("site_id", format!("invalid site_id: {}", e.0)))?;

    let metric_names = strings(q.get("metrics").unwrap_or(&Value::Null), "metrics")?;
    if metric_names.is_empty() {
        return Err(bad("metrics", "metrics must name at least one metric"));
    }
    let mut metrics = Vec::new();
    for name in &metric_names {
        let m = PMetric::parse(name).map_err(|e| bad("metrics", e))?;
        if metrics.contains(&m) {
            return Err(bad("metrics", format!("{name} is asked for twice")));
        }
        metrics.push(m);
    }
    let date = match q.get("date") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => {
            Some(crate::stats::params::parse_date("date", d).map_err(|e| bad("date", e))?)
        }
        Some(_) => return Err(bad("date", "date must be a date, YYYY-MM-DD")),
    };
    let range = q.get("date_range").ok_or_else(|| {
        bad(
            "date_range",
            "date_range is required, e.g. \"7d\" or [\"2024-01-01\", \"2024-01-31\"]",
        )
    })?;
    let when = period::v2(range, date).map_err(|e| bad("date_range", e))?;
    let where_ = match q.get("filters") {
        None | Some(Value::Null) => filters::Where::default(),
        Some(f) => filters::parse_v2(f).map_err(|e| bad("filters", e))?,
    };
    let dimensions = match q.get("dimensions") {
        None | Some(Value::Null) => Vec::new(),
        Some(d) => strings(d, "dimensions")?,
    };
    if dimensions.len() > 1 {
        return Err(bad(
            "dimensions",
            "footfall groups by one dimension at a time (a property or a time bucket); ask once per dimension",
        ));
    }
    let (limit, offset) = pagination(q.get("pagination"))?;
    let include = q.get("include").cloned().unwrap_or(json!({}));
    let include = include
        .as_object()
        .ok_or_else(|| bad("include", "include must be an object"))?;
    let mut imports = false;
    let mut time_labels = false;
    for (k, v) in include {
        let flag = v
            .as_bool()
            .ok_or_else(|| bad("include", format!("include.{k} is true or false")))?;
        match k.as_str() {
            "imports" => imports = flag,
            "time_labels" => time_labels = flag,
            other => {
                return Err(bad(
                    "include",
                    format!(
                        "include.{other} is not supported: footfall answers imports and time_labels"
                    ),
                ));
            }
        }
    }

    let site = site_for(&key, store, &domain).await?;
    let today = Utc::now().with_timezone(&site.timezone.0).date_naive();
    let (from, to) = when.range(today).map_err(|e| bad("date_range", e))?;
    let by = match dimensions.first() {
        None => By::Total,
        Some(name) => match time_interval(name, from, to) {
            Some(interval) => By::Time(interval?),
            None => By::Dimension(names::dimension(name).map_err(|e| bad("dimensions", e))?),
        },
    };
    if time_labels && !matches!(by, By::Time(_)) {
        return Err(bad("include", "include.time_labels needs a time dimension"));
    }
    let order = order_by(q.get("order_by"), &metric_names, &dimensions, &by)?;
    let ask = Ask::new(
        store,
        Parts {
            site,
            from,
            to,
            filters: where_,
            metrics,
            by: by.clone(),
            order,
            limit,
            offset,
        },
        "filters",
        "metrics",
    )
    .await?;

    let mut meta = Map::new();
    if imports {
        meta.insert("imports_included".into(), json!(false));
        meta.insert("imports_warning".into(), json!(NO_IMPORTS));
    }
    let results: Vec<Value> = match &by {
        By::Total => vec![json!({"dimensions": [], "metrics": ask.total(store).await?})],
        By::Time(interval) => {
            let rows = ask.series(store, *interval).await?;
            if time_labels {
                let labels: Vec<String> = rows
                    .iter()
                    .map(|r| time_label(r.start, *interval))
                    .collect();
                meta.insert("time_labels".into(), json!(labels));
            }
            let rows = rows.into_iter().filter(|r| r.has_data).collect();
            ask.order_and_page(rows)
                .iter()
                .map(|r| json!({"dimensions": [time_label(r.start, *interval)], "metrics": r.figures}))
                .collect()
        }
        By::Dimension(dimension) => ask
            .rows(store)
            .await?
            .iter()
            .map(|r| {
                json!({
                    "dimensions": [names::value_out(dimension, r.group.as_deref())],
                    "metrics": r.figures,
                })
            })
            .collect(),
    };
    let mut include_echo = Map::new();
    if imports {
        include_echo.insert("imports".into(), json!(true));
    }
    if time_labels {
        include_echo.insert("time_labels".into(), json!(true));
    }
    let order_echo: Vec<Value> = ask
        .order
        .iter()
        .map(|(k, desc)| {
            let name = match k {
                Key::Metric(i) => metric_names.get(*i).cloned().unwrap_or_default(),
                Key::Group => dimensions.first().cloned().unwrap_or_default(),
            };
            json!([name, if *desc { "desc" } else { "asc" }])
        })
        .collect();
    let echo = json!({
        "site_id": ask.site.domain.as_str(),
        "metrics": metric_names,
        "date_range": [from.to_string(), to.to_string()],
        "filters": q.get("filters").cloned().unwrap_or(json!([])),
        "dimensions": dimensions,
        "order_by": order_echo,
        "include": include_echo,
        "pagination": {"limit": limit, "offset": offset},
    });
    Ok(HttpResponse::Ok().json(json!({"results": results, "meta": meta, "query": echo})))
}

fn pagination(p: Option<&Value>) -> Result<(i64, i64), ApiError> {
    let Some(p) = p.filter(|p| !p.is_null()) else {
        return Ok((DEFAULT_LIMIT, 0));
    };
    let p = p
        .as_object()
        .ok_or_else(|| bad("pagination", "pagination is {\"limit\": N, \"offset\": N}"))?;
    if let Some(k) = p.keys().find(|k| !matches!(k.as_str(), "limit" | "offset")) {
        return Err(bad(
            "pagination",
            format!("pagination has limit and offset, not {k:?}"),
        ));
    }
    let limit = match p.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .as_i64()
            .filter(|n| (1..=DEFAULT_LIMIT).contains(n))
            .ok_or_else(|| {
                bad(
                    "pagination",
                    format!("pagination.limit must be a whole number from 1 to {DEFAULT_LIMIT}"),
                )
            })?,
    };
    let offset = match p.get("offset") {
        None => 0,
        Some(v) => v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            bad(
                "pagination",
                "pagination.offset must be a whole number from 0",
            )
        })?,
    };
    Ok((limit, offset))
}

/// `order_by` as keys; the default is the time, ascending, for a series, else the first metric,
/// descending.
fn order_by(
    order: Option<&Value>,
    metrics: &[String],
    dimensions: &[String],
    by: &By,
) -> Result<Vec<(Key, bool)>, ApiError> {
    let default = match by {
        By::Time(_) => vec![(Key::Group, false)],
        _ => vec![(Key::Metric(0), true)],
    };
    let Some(order) = order.filter(|o| !o.is_null()) else {
        return Ok(default);
    };
    let entries = order.as_array().ok_or_else(|| {
        bad(
            "order_by",
            "order_by is a list of [name, \"asc\" | \"desc\"]",
        )
    })?;
    let mut keys = Vec::new();
    for e in entries {
        let (name, dir) = match e.as_array().map(Vec::as_slice) {
            Some([Value::String(n), Value::String(d)]) => (n, d),
            _ => {
                return Err(bad(
                    "order_by",
                    format!("order_by entry {e} must be [name, \"asc\" | \"desc\"]"),
                ));
            }
        };
        let desc = match dir.as_str() {
            "desc" => true,
            "asc" => false,
            other => {
                return Err(bad(
                    "order_by",
                    format!("order_by direction must be asc or desc, got {other:?}"),
                ));
            }
        };
        let key = if let Some(i) = metrics.iter().position(|m| m == name) {
            Key::Metric(i)
        } else if dimensions.iter().any(|d| d == name) {
            Key::Group
        } else {
            return Err(bad(
                "order_by",
                format!(
                    "order_by {name:?} is neither one of the query's metrics nor its dimension"
                ),
            ));
        };
        keys.push((key, desc));
    }
    if keys.is_empty() {
        return Ok(default);
    }
    Ok(keys)
}
