//! `GET /api/event.gif?d=…`: the `<noscript>` fallback. The query string carries the same fields
//! as the JSON body (`n` defaults to `pageview`; `u` defaults to the image request's `Referer`,
//! which is the page that embeds it), and the event goes through the same parser and queue.

use super::error::CollectError;
use super::listener::Collector;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;

/// The smallest transparent 1×1 GIF.
const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/event.gif", web::get().to(pixel));
}

async fn pixel(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    collector: web::Data<Collector>,
) -> Result<HttpResponse, CollectError> {
    let result = body_from_query(&req, &query).and_then(|body| collector.ingest(&req, &body));
    if let Err(e) = result {
        collector.metrics.reject(e.rejection());
        return Err(e);
    }
    Ok(HttpResponse::Ok()
        .content_type("image/gif")
        // Every view must reach us: never cached.
        .insert_header((header::CACHE_CONTROL, "no-store, max-age=0"))
        .body(GIF))
}

/// The query parameters as the JSON body the parser reads.
fn body_from_query(
    req: &HttpRequest,
    query: &HashMap<String, String>,
) -> Result<Vec<u8>, CollectError> {
    let referer = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok());
    let mut body = serde_json::Map::new();
    body.insert(
        "n".into(),
        query.get("n").map_or("pageview", String::as_str).into(),
    );
    if let Some(u) = query.get("u").map(String::as_str).or(referer) {
        body.insert("u".into(), u.into());
    }
    if let Some(d) = query.get("d") {
        body.insert("d".into(), d.as_str().into());
    }
    if let Some(r) = query.get("r") {
        body.insert("r".into(), r.as_str().into());
    }
    if !body.contains_key("u") {
        return Err(CollectError::InvalidField(
            "missing u (page URL): pass ?u=… or let the browser send a Referer".into(),
        ));
    }
    serde_json::to_vec(&body).map_err(|e| CollectError::InvalidJson(e.to_string()))
}
