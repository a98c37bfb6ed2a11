//! HTTP routes other than collection: the tracker script, the dashboard's stylesheet and live
//! view script, health and metrics; what HTML pages share (`layout`, `security` headers); and the
//! deadline every request's body has (`body_deadline`).

pub mod assets;
pub mod body_deadline;
pub mod head;
pub mod layout;
pub mod security;
pub mod tracker;

use crate::ingest::queue::EventQueue;
use crate::metrics::{Metrics, QueueGauge};
use crate::store::DynStore;
use actix_web::{HttpResponse, web};
use std::sync::Arc;
use std::time::Duration;

/// What the operational endpoints read.
pub struct Ops {
    pub store: DynStore,
    pub metrics: Arc<Metrics>,
    pub queue: EventQueue,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(tracker::configure)
        .configure(assets::configure)
        .route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
}

/// The start of an embedded asset's response: `304 Not Modified` when the request's
/// `If-None-Match` already names `etag`, else `200`, both with the ETag; the flag says which.
pub fn revalidate(
    req: &actix_web::HttpRequest,
    etag: &str,
) -> (actix_web::HttpResponseBuilder, bool) {
    let fresh = etag_matches(req, etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((actix_web::http::header::ETAG, etag));
    (response, fresh)
}

/// Whether the request's `If-None-Match` names `etag` (a 304 will do).
fn etag_matches(req: &actix_web::HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(actix_web::http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// 200 when the database answers within two seconds, 503 otherwise. The store pings on a
/// connection of its own, so slow dashboard views do not make a healthy collector look dead.
async fn healthz(ops: web::Data<Ops>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(2), ops.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({
            "status": "ok",
            "database": ops.store.backend(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "health check: database error");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "database unavailable"}))
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database timed out"})),
    }
}

async fn metrics(ops: web::Data<Ops>) -> HttpResponse {
    let body = ops.metrics.render(QueueGauge {
        depth: ops.queue.depth(),
        capacity: ops.queue.capacity(),
    });
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
