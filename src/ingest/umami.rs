//! `POST /api/send`: Umami's collection endpoint, for sites that switch from Umami without
//! touching their pages (footfall's `/script.js` posts here, as do cached Umami trackers and
//! server-side senders). The body is `{"type": "event", "payload": {website, hostname, url,
//! referrer, screen, language, title, name?, data?}}`; the website id names a site mapped with
//! `footfall site set DOMAIN --umami-id UUID`. Each event becomes a collection-contract body
//! and goes through the same parser, bot filter and queue as `/api/event`.
//!
//! Umami answers an event with `{cache, sessionId, visitId}` and a bot with `{"beep": "boop"}`;
//! its tracker reads `cache` (sent back as `x-umami-cache`) and `disabled`. footfall keeps no
//! session token, so it answers `{}` — no `cache`, and the tracker sends no header.

use super::error::CollectError;
use super::listener::{Collector, Ingested, accepted_body, counted};
use crate::domain::UmamiId;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use std::borrow::Cow;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/send")
            .route(web::post().to(send))
            .route(web::method(Method::OPTIONS).to(preflight))
            .default_service(web::to(crate::http_error::method_not_allowed)),
    );
}

#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: Option<UmamiPayload<'a>>,
}

/// The fields footfall has a place for; `language`, `title`, `tag`, `id` (a distinct id) and
/// `timestamp` have none and are ignored, like every field not listed.
#[derive(Debug, Deserialize)]
struct UmamiPayload<'a> {
    #[serde(borrow, default)]
    website: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    hostname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    referrer: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    screen: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    data: Option<Value>,
}

async fn send(
    req: HttpRequest,
    payload: web::Payload,
    collector: web::Data<Collector>,
) -> Result<HttpResponse, CollectError> {
    counted(&collector, accept(&req, payload, &collector).await)
}

async fn accept(
    req: &HttpRequest,
    payload: web::Payload,
    collector: &Collector,
) -> Result<HttpResponse, CollectError> {
    let body = accepted_body(req, payload, collector).await?;
    let answer = match contract_body(&body, collector)? {
        None => json!({}),
        Some(event) => match collector.ingest(req, &event).map_err(umami_names)? {
            Ingested::Queued => json!({}),
            Ingested::Bot => json!({ "beep": "boop" }),
        },
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(answer))
}

/// The collection-contract body of an Umami event, or `None` for a body footfall takes and
/// keeps nothing of (`"type": "identify"`: footfall links no visitor to an identity).
fn contract_body(body: &[u8], collector: &Collector) -> Result<Option<Vec<u8>>, CollectError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let envelope: Envelope<'_> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        CollectError::InvalidJson(format!("field {path}: {}", e.into_inner()))
    })?;
    de.end()
        .map_err(|e| CollectError::InvalidJson(e.to_string()))?;
    match envelope.kind.as_deref() {
        Some("event") => {}
        Some("identify") => return Ok(None),
        _ => {
            return Err(CollectError::InvalidField(
                "field type must be \"event\" (or \"identify\", which footfall takes and ignores)"
                    .into(),
            ));
        }
    }
    let p = envelope
        .payload
        .ok_or_else(|| CollectError::InvalidJson("missing field `payload`".into()))?;
    let website = p
        .website
        .as_deref()
        .ok_or_else(|| CollectError::InvalidJson("missing field `payload.website`".into()))?;
    let id = UmamiId::parse(website)
        .map_err(|e| CollectError::InvalidField(format!("field payload.website: {e}")))?;
    let site = collector
        .sites
        .by_umami_id(id.as_str())
        .ok_or_else(|| CollectError::UnknownUmamiId(id.to_string()))?;
    let url = page_url(p.url.as_deref(), p.hostname.as_deref())?;
    let width = match p.screen.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(screen) => Some(
            screen
                .split_once('x')
                .and_then(|(w, _)| w.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    CollectError::InvalidField(
                        "field payload.screen must be WIDTHxHEIGHT, such as 1920x1080".into(),
                    )
                })?,
        ),
    };
    let name = p.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let event = json!({
        "n": name.unwrap_or("pageview"),
        "u": url,
        "d": site.domain.as_str(),
        "r": p.referrer.as_deref().filter(|r| !r.trim().is_empty()),
        "w": width,
        // Umami keeps the fragment in the page's path.
        "h": 1,
        "p": p.data,
    });
    Ok(Some(event.to_string().into_bytes()))
}

/// `url` as Umami's trackers send it: a full URL, or (older ones, and many server-side
/// senders) a path, of a page on `hostname`.
fn page_url(url: Option<&str>, hostname: Option<&str>) -> Result<String, CollectError> {
    let url = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CollectError::InvalidJson("missing field `payload.url`".into()))?;
    if url::Url::parse(url).is_ok() {
        return Ok(url.to_owned());
    }
    let host = hostname
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            CollectError::InvalidField(
                "field payload.url is a path, so field payload.hostname is needed".into(),
            )
        })?;
    let base = url::Url::parse(&format!("https://{host}/")).map_err(|e| {
        CollectError::InvalidField(format!("field payload.hostname is not a host name: {e}"))
    })?;
    base.join(url)
        .map(String::from)
        .map_err(|e| CollectError::InvalidField(format!("field payload.url is not a URL: {e}")))
}

/// The parser's messages name the collection contract's fields; say them as the Umami body
/// has them.
fn umami_names(e: CollectError) -> CollectError {
    let rename = |message: String| {
        [
            ("field p (props)", "field payload.data"),
            ("field n (event name)", "field payload.name"),
            ("field u (page URL)", "field payload.url"),
            ("field u:", "field payload.url:"),
            ("field r (referrer)", "field payload.referrer"),
            (
                "field w (viewport width)",
                "field payload.screen (its width)",
            ),
        ]
        .iter()
        .fold(message, |m, (from, to)| m.replace(from, to))
    };
    match e {
        CollectError::InvalidField(m) => CollectError::InvalidField(rename(m)),
        CollectError::InvalidJson(m) => CollectError::InvalidJson(rename(m)),
        other => other,
    }
}

/// Umami's tracker posts JSON with `fetch`, so browsers ask first.
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Access-Control-Allow-Methods", "POST, OPTIONS"))
        .insert_header((
            "Access-Control-Allow-Headers",
            "Content-Type, x-umami-cache",
        ))
        .insert_header(("Access-Control-Max-Age", "86400"))
        .finish()
}
