//! Security headers for HTML pages. Wrap any resource or scope that renders dashboard pages:
//! ```ignore
//! cfg.service(web::scope("/sites").wrap(security_headers()).route("", web::get().to(list)));
//! cfg.service(web::resource("/account").wrap(security_headers()).route(web::get().to(show)));
//! ```
//! Headers a handler sets itself win (actix's `DefaultHeaders` only fills in missing ones), so a
//! public page that may be cached can send its own `Cache-Control`. Not for the collection
//! endpoints, the tracker script, `/healthz` or `/metrics`: those are embedded or scraped, not
//! browsed.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;

/// Our pages load only their own stylesheet (and scripts, once the dashboard has some), post
/// forms only to us, and may not be framed. No inline code at all: templates never need it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// Browser features footfall never uses, switched off so an injected frame or script cannot ask.
pub const PERMISSIONS_POLICY: &str = "interest-cohort=(), camera=(), microphone=(), geolocation=()";

/// The middleware adding the headers; wrap a resource or scope with it.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add(("Permissions-Policy", PERMISSIONS_POLICY))
        // Pages show private numbers and carry CSRF tokens: no shared or back-button caches.
        .add((header::CACHE_CONTROL, "no-store"))
}
