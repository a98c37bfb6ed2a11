//! `GET /static/app.css` and `GET /static/live.js`: the dashboard's stylesheet and the live
//! view's script, embedded in the binary. Pages link them with a content hash in the query
//! (`app_css_href`, `live_js_href`), so browsers may keep that URL for a year; any other URL is
//! cached for a day and revalidated with the ETag.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::LazyLock;

/// A file served from the binary, with its content-hash version worked out once.
struct Embedded {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    /// `v=` and the first 16 hex digits of the body's BLAKE3 hash.
    query: String,
    etag: String,
    href: String,
}

impl Embedded {
    fn new(path: &'static str, content_type: &'static str, body: &'static str) -> Self {
        let version = &blake3::hash(body.as_bytes()).to_hex()[..16];
        Self {
            path,
            content_type,
            body,
            query: format!("v={version}"),
            etag: format!("\"{version}\""),
            href: format!("{path}?v={version}"),
        }
    }

    fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let versioned = req.query_string() == self.query;
        let (mut response, fresh) = super::revalidate(req, &self.etag);
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
        response.content_type(self.content_type).body(self.body)
    }
}

static APP_CSS: LazyLock<Embedded> = LazyLock::new(|| {
    Embedded::new(
        "/static/app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
});

static LIVE_JS: LazyLock<Embedded> = LazyLock::new(|| {
    Embedded::new(
        "/static/live.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/live.js"),
    )
});

/// The URL pages link the stylesheet with.
pub fn app_css_href() -> &'static str {
    APP_CSS.href.as_str()
}

/// The URL the live view loads its script from.
pub fn live_js_href() -> &'static str {
    LIVE_JS.href.as_str()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for asset in [&APP_CSS, &LIVE_JS] {
        let asset: &'static Embedded = asset;
        cfg.route(
            asset.path,
            web::get().to(move |req: HttpRequest| async move { asset.respond(&req) }),
        );
    }
}
