//! Listener: the HTTP collection endpoint. Reads a small body, hands it to the parser, queues
//! the event and answers 202 — never touching the database. CORS is open: the tracker posts from
//! every site's own origin.

use super::client_ip::TrustedProxies;
use super::enrich::geoip::GeoIp;
use super::error::CollectError;
use super::parser::{self, Enrichment, Parsed, RequestMeta};
use super::queue::EventQueue;
use super::sites::SiteCache;
use super::visitor::Salts;
use crate::metrics::Metrics;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

/// Largest accepted request body. A real event is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Everything the endpoint needs, shared by all workers.
pub struct Collector {
    pub sites: Arc<SiteCache>,
    pub salts: Arc<Salts>,
    pub geoip: Option<Arc<GeoIp>>,
    pub queue: EventQueue,
    pub metrics: Arc<Metrics>,
    pub trusted_proxies: TrustedProxies,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/event")
            .route(web::post().to(collect))
            .route(web::method(actix_web::http::Method::OPTIONS).to(preflight))
            .default_service(web::to(crate::http_error::method_not_allowed)),
    );
}

async fn collect(
    req: HttpRequest,
    payload: web::Payload,
    collector: web::Data<Collector>,
) -> Result<HttpResponse, CollectError> {
    counted(&collector, accept(&req, payload, &collector).await)
}

/// `result`, its error counted as a rejection.
pub(crate) fn counted(
    collector: &Collector,
    result: Result<HttpResponse, CollectError>,
) -> Result<HttpResponse, CollectError> {
    if let Err(e) = &result {
        collector.metrics.reject(e.rejection());
    }
    result
}

async fn accept(
    req: &HttpRequest,
    payload: web::Payload,
    collector: &Collector,
) -> Result<HttpResponse, CollectError> {
    let body = accepted_body(req, payload, collector).await?;
    collector.ingest(req, &body)?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .finish())
}

/// What became of a body the collector took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Queued,
    /// From a bot: counted, not stored.
    Bot,
}

impl Collector {
    /// Parses, enriches and queues one event body sent with `req`.
    pub fn ingest(&self, req: &HttpRequest, body: &[u8]) -> Result<Ingested, CollectError> {
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let peer = req
            .peer_addr()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let meta = RequestMeta {
            user_agent,
            ip: self.trusted_proxies.client_ip(peer, forwarded),
            received_at: chrono::Utc::now(),
        };
        let ctx = Enrichment {
            sites: &self.sites,
            salts: self.salts.as_ref(),
            geoip: self.geoip.as_deref(),
        };
        match parser::parse(body, meta, ctx)? {
            Parsed::Bot(why) => {
                self.metrics.bot(why);
                return Ok(Ingested::Bot);
            }
            Parsed::Event(event) => {
                self.queue.try_push(*event)?;
                self.metrics.accepted.fetch_add(1, Relaxed);
            }
            // Counted when written: applied, or unmatched (`footfall_engagement_*`).
            Parsed::Engagement(update) => self.queue.try_push(update)?,
        }
        Ok(Ingested::Queued)
    }
}

/// The body of a collection request, once its content type, its size and the queue allow it.
pub(crate) async fn accepted_body(
    req: &HttpRequest,
    payload: web::Payload,
    collector: &Collector,
) -> Result<web::BytesMut, CollectError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    parser::content_type_allowed(content_type)?;
    let body = read_body(req, payload).await?;
    // Overloaded: refuse before spending CPU on parsing an event we could not queue anyway;
    // that CPU is better left to the writer, which is what has to catch up.
    if collector.queue.is_full() {
        return Err(CollectError::QueueFull);
    }
    Ok(body)
}

/// Reads at most `MAX_BODY_BYTES`, refusing early when the declared length is already too big.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<web::BytesMut, CollectError> {
    let too_large = CollectError::TooLarge {
        max: MAX_BODY_BYTES,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large);
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(512));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| CollectError::InvalidJson(format!("reading the body failed: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Access-Control-Allow-Methods", "POST, OPTIONS"))
        .insert_header(("Access-Control-Allow-Headers", "Content-Type"))
        .insert_header(("Access-Control-Max-Age", "86400"))
        .finish()
}
