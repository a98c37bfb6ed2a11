//! `GET /js/script.js` and `GET /js/script.engagement.js`: the tracker and its variant that also
//! reports engaged time and scroll depth (too big for the default's 1 KiB budget), embedded in
//! the binary from `static/js/` (built from `tracker-js/` and committed, so building footfall
//! needs no Node). Served precompressed when the client accepts brotli or gzip, with a long cache
//! lifetime and an ETag for revalidation.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::LazyLock;

/// One build of the tracker: the plain file and its precompressed siblings.
struct Script {
    plain: &'static [u8],
    gz: &'static [u8],
    br: &'static [u8],
    etag: String,
}

impl Script {
    fn new(plain: &'static [u8], gz: &'static [u8], br: &'static [u8]) -> Self {
        let hash = blake3::hash(plain).to_hex();
        Self {
            plain,
            gz,
            br,
            etag: format!("\"{}\"", &hash[..16]),
        }
    }
}

static DEFAULT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        include_bytes!("../../static/js/script.js"),
        include_bytes!("../../static/js/script.js.gz"),
        include_bytes!("../../static/js/script.js.br"),
    )
});

static ENGAGEMENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        include_bytes!("../../static/js/script.engagement.js"),
        include_bytes!("../../static/js/script.engagement.js.gz"),
        include_bytes!("../../static/js/script.engagement.js.br"),
    )
});

/// Browsers keep the script a day, then revalidate with the ETag (a 304 costs a few bytes).
const CACHE_CONTROL: &str = "public, max-age=86400, stale-while-revalidate=604800";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/js/script.js",
        web::get().to(|req: HttpRequest| async move { serve(&DEFAULT, &req) }),
    )
    .route(
        "/js/script.engagement.js",
        web::get().to(|req: HttpRequest| async move { serve(&ENGAGEMENT, &req) }),
    );
}

fn serve(script: &Script, req: &HttpRequest) -> HttpResponse {
    let (mut response, fresh) = super::revalidate(req, &script.etag);
    response
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("Access-Control-Allow-Origin", "*"));
    if fresh {
        return response.finish();
    }
    response.content_type("application/javascript; charset=utf-8");
    let accepted = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accepts(accepted, "br") {
        response
            .insert_header((header::CONTENT_ENCODING, "br"))
            .body(script.br)
    } else if accepts(accepted, "gzip") {
        response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(script.gz)
    } else {
        response.body(script.plain)
    }
}

/// Whether an `Accept-Encoding` value allows `coding` (present and not `q=0`).
fn accepts(header: &str, coding: &str) -> bool {
    header.split(',').any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        name.eq_ignore_ascii_case(coding) && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::accepts;

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip;q=0.8", "gzip"));
        assert!(!accepts("gzip;q=0, br", "gzip"));
        assert!(!accepts("identity", "gzip"));
        assert!(!accepts("", "br"));
    }
}
