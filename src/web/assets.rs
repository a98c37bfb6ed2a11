//! `GET /static/app.css`: the stylesheet, embedded in the binary. Pages link it with a content
//! hash in the query (`app_css_href`), so browsers may keep that URL for a year; any other URL
//! is cached for a day and revalidated with the ETag.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::LazyLock;

const APP_CSS: &str = include_str!("../../static/app.css");

/// The first 16 hex digits of the stylesheet's BLAKE3 hash.
static VERSION: LazyLock<String> =
    LazyLock::new(|| blake3::hash(APP_CSS.as_bytes()).to_hex()[..16].to_owned());
static ETAG: LazyLock<String> = LazyLock::new(|| format!("\"{}\"", VERSION.as_str()));
static HREF: LazyLock<String> = LazyLock::new(|| format!("/static/app.css?v={}", VERSION.as_str()));

/// The URL pages link the stylesheet with.
pub fn app_css_href() -> &'static str {
    HREF.as_str()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(app_css));
}

async fn app_css(req: HttpRequest) -> HttpResponse {
    let etag = ETAG.as_str();
    let versioned = req.query_string() == format!("v={}", VERSION.as_str());
    let (mut response, fresh) = super::revalidate(&req, etag);
    response
        .insert_header((
            header::CACHE_CONTROL,
            if versioned {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=86400"
            },
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return response.finish();
    }
    response
        .content_type("text/css; charset=utf-8")
        .body(APP_CSS)
}
