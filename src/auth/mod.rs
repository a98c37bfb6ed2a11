//! Dashboard login: accounts, login sessions, CSRF protection, login rate limits, share links,
//! API keys.
//!
//! # Using it from dashboard handlers
//! - **Require a login**: take a [`CurrentUser`] argument. Anonymous browsers are redirected
//!   (303) to `/login?next=<this path>`; a request that accepts JSON but not HTML gets
//!   `401 {"error":"login required"}` instead. For pages that work with or without a login,
//!   call [`current_user`] (`Ok(None)` = anonymous, `Err` = the database failed);
//!   `Option<CurrentUser>` works too but reads a database error as "not logged in".
//! - **Render a page**: give the page struct `layout: user.layout()` (see `web::layout`), extend
//!   `base.html`, and put `{% include "_csrf.html" %}` in every `<form method="post">`.
//! - **Accept a form**: take [`CsrfForm<T>`] instead of `web::Form<T>`: it requires the login,
//!   checks the form's `csrf_token` field against the session and the `Origin` header, and then
//!   hands over `T` (which need not declare `csrf_token`). For other bodies call
//!   [`verify_csrf`] yourself. A failed check is a 403 page.
//! - **Security headers**: wrap your scope with `web::security::security_headers()`.
//! - **Share links**: [`share::create_link`] / [`share::site_for_token`]; listing and revoking are
//!   `AuthStore::share_links` / `AuthStore::revoke_share_link`.
//! - **API keys**: [`api_key::create_key`] / [`api_key::key_for_token`]; listing and revoking
//!   are `AuthStore::api_keys` / `AuthStore::revoke_api_key`.
//!
//! Sessions: a random 256-bit token in the `footfall_session` cookie (HttpOnly, SameSite=Lax,
//! Secure over HTTPS), stored only as a BLAKE3 hash, valid for a fixed 30 days from login (no
//! sliding renewal: a stolen cookie is worth 30 days at most, and reads never write).

pub mod api_key;
pub mod cli;
mod csrf;
mod error;
pub mod password;
pub mod rate_limit;
mod routes;
pub mod session;
pub mod share;

pub use csrf::{CSRF_FIELD, CsrfForm, verify_csrf};
pub use error::{AuthError, login_url};
pub use session::{CurrentUser, current_user};

use crate::ingest::client_ip::TrustedProxies;
use crate::store::DynStore;
use actix_web::{HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rate_limit::LoginLimiter;
use std::net::IpAddr;
use std::time::Duration;
use tokio::task::JoinHandle;

/// What the auth routes and extractors share; registered as `web::Data<Auth>`.
pub struct Auth {
    store: DynStore,
    proxies: TrustedProxies,
    limiter: LoginLimiter,
    /// `--public-url`: the origin footfall is reached at, when the operator says so.
    public_origin: Option<String>,
}

impl Auth {
    pub fn new(store: DynStore, proxies: TrustedProxies) -> Self {
        Self {
            store,
            proxies,
            limiter: LoginLimiter::default(),
            public_origin: None,
        }
    }

    /// Uses `url`'s origin (scheme, host, port) as footfall's public address.
    pub fn with_public_url(mut self, url: Option<&url::Url>) -> Self {
        self.public_origin = url.map(|u| u.origin().ascii_serialization());
        self
    }

    /// The origin browsers reach footfall at, e.g. `https://stats.example.org`: `--public-url`
    /// when given; else the request's `Host`, with the forwarded host and scheme believed only
    /// from a trusted proxy (anyone else could send them). Used for the tracking snippet, share
    /// links and the CSRF `Origin` check.
    pub fn public_origin(&self, req: &HttpRequest) -> String {
        if let Some(origin) = &self.public_origin {
            return origin.clone();
        }
        if self.sent_by_trusted_proxy(req) {
            let info = req.connection_info();
            return format!("{}://{}", info.scheme(), info.host());
        }
        let scheme = if req.app_config().secure() {
            "https"
        } else {
            "http"
        };
        let host = req
            .headers()
            .get(actix_web::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_else(|| req.app_config().host());
        format!("{scheme}://{host}")
    }

    pub(crate) fn of(req: &HttpRequest) -> Result<web::Data<Self>, AuthError> {
        req.app_data::<web::Data<Self>>()
            .cloned()
            .ok_or(AuthError::NotConfigured)
    }

    /// Whether the browser reached us over HTTPS: TLS on our own socket, or an
    /// `X-Forwarded-Proto: https` from a trusted proxy (anyone else could claim it).
    pub fn is_https(&self, req: &HttpRequest) -> bool {
        if req.app_config().secure() {
            return true;
        }
        self.sent_by_trusted_proxy(req)
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                // The first entry is what the proxy nearest the browser saw.
                .and_then(|v| v.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }

    /// Whether the request comes straight from one of `--trusted-proxies`, whose forwarded
    /// headers are then believed.
    fn sent_by_trusted_proxy(&self, req: &HttpRequest) -> bool {
        req.peer_addr()
            .is_some_and(|a| self.proxies.contains(a.ip()))
    }

    /// The browser's IP, as the collector works it out (see `TrustedProxies::client_ip`).
    pub fn client_ip(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        self.proxies.client_ip(peer, forwarded)
    }
}

/// Registers `/login`, `/logout`, `/setup` and `/account`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::configure(cfg);
}

/// Keeps memory and tables small: forgets rate-limit state that has recovered (every minute) and
/// deletes expired login sessions (every hour).
pub fn spawn_housekeeping(auth: web::Data<Auth>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut minutes = 0u64;
        loop {
            tick.tick().await;
            auth.limiter.forget_recovered();
            if minutes.is_multiple_of(60) {
                match auth
                    .store
                    .delete_expired_login_sessions(chrono::Utc::now())
                    .await
                {
                    Ok(n) => tracing::debug!(deleted = n, "expired login sessions deleted"),
                    Err(e) => {
                        tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "deleting expired login sessions failed")
                    }
                }
            }
            minutes += 1;
        }
    })
}

/// A fresh secret: 256 random bits, base64url without padding (43 characters).
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Whether `s` could be a `random_token` (so garbage never reaches the database).
pub(crate) fn looks_like_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
