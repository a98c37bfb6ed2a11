//! `GET /api/v1/stats/{aggregate,timeseries,breakdown}` and `GET /api/v1/openapi.json`. Each
//! stats handler: check the key, read the parameters, check the site, ask `StatsStore` exactly
//! what the dashboard asks, and shape the answer. Responses are never cached (`no-store`).

use super::auth::{authenticate, site_for};
use super::error::ApiError;
use super::params::{self, BadParameter, Endpoint, Request};
use super::values::{aggregate_value, conversion_rate, row_value, store_metrics};
use crate::domain::Site;
use crate::http_error::method_not_allowed;
use crate::stats::funnel;
use crate::stats::goal::{self, Goal};
use crate::stats::params::{MAX_FILTERS, format_filter, saved_filters};
use crate::stats::{BreakdownRow, Filter, Interval, Point, StatsQuery};
use crate::store::DynStore;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::{Map, Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .service(get("/stats/aggregate", aggregate))
            .service(get("/stats/timeseries", timeseries))
            .service(get("/stats/breakdown", breakdown))
            .service(get("/stats/funnel", funnel))
            .service(get("/openapi.json", super::openapi::serve)),
    );
    cfg.service(
        web::scope("/api/v2")
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .service(
                web::resource("/query")
                    .route(web::post().to(super::plausible::v2::query))
                    .default_service(web::to(method_not_allowed)),
            ),
    );
}

/// A GET-only resource; other methods get the JSON 405.
fn get<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(web::to(method_not_allowed))
}

fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    Ok(
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map_err(|e| BadParameter {
                parameter: "query string".into(),
                message: format!("invalid query string: {e}"),
            })?
            .into_inner(),
    )
}

/// A request in Plausible's v1 parameters (`site_id`), answered in Plausible's shapes
/// (`plausible::v1`); `None` for footfall's own.
async fn plausible_v1(
    req: &HttpRequest,
    store: &DynStore,
    endpoint: Endpoint,
) -> Option<Result<HttpResponse, ApiError>> {
    let pairs = query_pairs(req).ok()?;
    if !super::plausible::v1::asks(&pairs) {
        return None;
    }
    Some(super::plausible::v1::answer(req, store, endpoint, &pairs).await)
}

/// A checked question: what was asked, about which site, as the query layer's `StatsQuery`.
struct Question {
    request: Request,
    site: Site,
    query: StatsQuery,
    interval: Interval,
    /// The site's goals.
    goals: Vec<Goal>,
}

async fn question(
    req: &HttpRequest,
    store: &DynStore,
    endpoint: Endpoint,
) -> Result<Question, ApiError> {
    let key = authenticate(req, store).await?;
    let pairs = query_pairs(req)?;
    let request = params::parse(endpoint, &pairs)?;
    let site = site_for(&key, store, &request.site).await?;
    // "Today" as the dashboard works it out: the site's local date.
    let today = Utc::now().with_timezone(&site.timezone.0).date_naive();
    let (from, to, interval) = request.range(today)?;
    let goals = store.goals(site.id).await?;
    let filters = filters(store, &site, &request, &goals).await?;
    let query = StatsQuery {
        site: site.id,
        timezone: site.timezone,
        from,
        to,
        filters,
    };
    Ok(Question {
        request,
        site,
        query,
        interval,
        goals,
    })
}

/// The question's filters: the saved segment's (`segment=ID`), then the request's own, with goal
/// filters filled in from the site's goals, as the dashboard reads them (`dashboard::params`).
async fn filters(
    store: &DynStore,
    site: &Site,
    request: &Request,
    goals: &[Goal],
) -> Result<Vec<Filter>, ApiError> {
    let bad = |message: String| BadParameter {
        parameter: "filters".into(),
        message,
    };
    let mut filters = Vec::new();
    if let Some(id) = request.segment {
        let saved = store.saved_segments(site.id).await?;
        let segment = saved
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| BadParameter {
                parameter: "segment".into(),
                message: format!(
                    "segment {id} is not one of {}'s saved segments",
                    site.domain
                ),
            })?;
        filters =
            saved_filters(&segment.name, &segment.filters).map_err(|message| BadParameter {
                parameter: "segment".into(),
                message,
            })?;
    }
    for f in &request.filters {
        if !filters.contains(f) {
            filters.push(f.clone());
        }
    }
    if filters.len() > MAX_FILTERS {
        return Err(bad(format!(
            "at most {MAX_FILTERS} filters, the segment's included"
        ))
        .into());
    }
    goal::resolve(&mut filters, goals, site.domain.as_str()).map_err(bad)?;
    Ok(filters)
}

/// What every answer starts with: the question as understood.
fn envelope(q: &Question) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("site".into(), json!(q.site.domain.as_str()));
    body.insert("timezone".into(), json!(q.site.timezone.name()));
    body.insert("period".into(), json!(q.request.period.name()));
    body.insert("from".into(), json!(q.query.from.to_string()));
    body.insert("to".into(), json!(q.query.to.to_string()));
    let filters: Vec<String> = q.request.filters.iter().map(format_filter).collect();
    body.insert("filters".into(), json!(filters));
    if let Some(id) = q.request.segment {
        body.insert("segment".into(), json!(id));
    }
    body
}

async fn aggregate(req: HttpRequest, store: web::Data<DynStore>) -> Result<HttpResponse, ApiError> {
    if let Some(answer) = plausible_v1(&req, &store, Endpoint::Aggregate).await {
        return answer;
    }
    let q = question(&req, &store, Endpoint::Aggregate).await?;
    let totals = store.aggregate(&q.query).await?;
    let results: Map<String, Value> = q
        .request
        .metrics
        .iter()
        .map(|m| (m.name().to_owned(), aggregate_value(&totals, *m)))
        .collect();
    let mut body = envelope(&q);
    body.insert("results".into(), Value::Object(results));
    Ok(HttpResponse::Ok().json(body))
}

async fn timeseries(
    req: HttpRequest,
    store: web::Data<DynStore>,
) -> Result<HttpResponse, ApiError> {
    if let Some(answer) = plausible_v1(&req, &store, Endpoint::Timeseries).await {
        return answer;
    }
    let q = question(&req, &store, Endpoint::Timeseries).await?;
    let points = store
        .timeseries_with(&q.query, q.interval, store_metrics(&q.request.metrics))
        .await?;
    let label = |p: &Point| match q.interval {
        Interval::Day | Interval::Week | Interval::Month => p.start.date().to_string(),
        Interval::Hour => p.start.format("%Y-%m-%dT%H:%M:%S").to_string(),
    };
    let results: Vec<Value> = points
        .iter()
        .map(|p| {
            let mut row = Map::new();
            row.insert("date".into(), json!(label(p)));
            for m in &q.request.metrics {
                row.insert(
                    m.name().into(),
                    row_value(p.visitors, p.pageviews, p.events, p.visits, *m),
                );
            }
            Value::Object(row)
        })
        .collect();
    let mut body = envelope(&q);
    body.insert("interval".into(), json!(q.interval));
    body.insert("results".into(), Value::Array(results));
    Ok(HttpResponse::Ok().json(body))
}

async fn breakdown(req: HttpRequest, store: web::Data<DynStore>) -> Result<HttpResponse, ApiError> {
    if let Some(answer) = plausible_v1(&req, &store, Endpoint::Breakdown).await {
        return answer;
    }
    let q = question(&req, &store, Endpoint::Breakdown).await?;
    let property = q.request.property.clone().ok_or_else(|| BadParameter {
        parameter: "property".into(),
        message: "property is required".into(),
    })?;
    if property.goal_filters().is_some() {
        return goal_breakdown(&q, &store).await;
    }
    let rows = store
        .breakdown_with(
            &q.query,
            &property,
            i64::from(q.request.limit),
            q.request.offset(),
            store_metrics(&q.request.metrics),
        )
        .await?;
    let key = property.to_string();
    let results: Vec<Value> = rows
        .iter()
        .map(|r: &BreakdownRow| {
            let mut row = Map::new();
            row.insert(key.clone(), json!(r.value));
            for m in &q.request.metrics {
                row.insert(
                    m.name().into(),
                    row_value(r.visitors, r.pageviews, r.events, r.visits, *m),
                );
            }
            Value::Object(row)
        })
        .collect();
    let mut body = envelope(&q);
    body.insert("property".into(), json!(key));
    body.insert("page".into(), json!(q.request.page));
    body.insert("limit".into(), json!(q.request.limit));
    body.insert("results".into(), Value::Array(results));
    Ok(HttpResponse::Ok().json(body))
}

/// `property=goal`: one row per goal of the site, in name order (paged as every breakdown), with
/// the asked metrics of its converting events — `visitors` the unique conversions, `events` the
/// total ones — and `conversion_rate`, converted visitors over the visitors of the question
/// (percent, 0–100); a revenue goal's row has its `revenue` too.
async fn goal_breakdown(q: &Question, store: &DynStore) -> Result<HttpResponse, ApiError> {
    let goals: Vec<Goal> = q
        .goals
        .iter()
        .skip(usize::try_from(q.request.offset()).unwrap_or(usize::MAX))
        .take(q.request.limit as usize)
        .cloned()
        .collect();
    let (all, conversions, revenue) = tokio::try_join!(
        store.aggregate(&q.query),
        store.goal_conversions(&q.query, &goals, store_metrics(&q.request.metrics)),
        futures_util::future::try_join_all(goals.iter().map(|g| store.goal_revenue(&q.query, g)))
    )?;
    let results: Vec<Value> = goals
        .iter()
        .zip(&conversions)
        .zip(revenue)
        .map(|((goal, a), revenue)| {
            let mut row = Map::new();
            row.insert("goal".into(), json!(goal.name));
            for m in &q.request.metrics {
                row.insert(m.name().into(), aggregate_value(a, *m));
            }
            row.insert(
                "conversion_rate".into(),
                json!(conversion_rate(a.visitors, all.visitors)),
            );
            if let (Some(r), Some(currency)) = (revenue, &goal.currency) {
                row.insert(
                    "revenue".into(),
                    json!({
                        "currency": currency,
                        "total": r.total(),
                        "average": r.average(),
                        "conversions": r.conversions,
                        "other_currency_conversions": r.other_currency,
                    }),
                );
            }
            Value::Object(row)
        })
        .collect();
    let mut body = envelope(q);
    body.insert("property".into(), json!("goal"));
    body.insert("page".into(), json!(q.request.page));
    body.insert("limit".into(), json!(q.request.limit));
    body.insert("results".into(), Value::Array(results));
    Ok(HttpResponse::Ok().json(body))
}

/// The funnel of `steps` (goal names, in order, 2–8): per step its goal, visitors, the percent
/// of the first step's visitors and the visitors lost since the previous step (`stats::funnel`).
async fn funnel(req: HttpRequest, store: web::Data<DynStore>) -> Result<HttpResponse, ApiError> {
    let q = question(&req, &store, Endpoint::Funnel).await?;
    let steps =
        funnel::steps(&q.request.steps, &q.goals, q.site.domain.as_str()).map_err(|message| {
            BadParameter {
                parameter: "steps".into(),
                message,
            }
        })?;
    let visitors = store.funnel(&q.query, &steps).await?;
    let results: Vec<Value> = funnel::figures(&steps, &visitors)
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "step": i + 1,
                "goal": s.goal,
                "visitors": s.visitors,
                "share_of_first": s.of_first,
                "dropped": s.dropped,
                "drop_off_rate": s.drop_off,
            })
        })
        .collect();
    let mut body = envelope(&q);
    body.insert("steps".into(), json!(q.request.steps));
    body.insert("results".into(), Value::Array(results));
    Ok(HttpResponse::Ok().json(body))
}
