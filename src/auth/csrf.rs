//! CSRF protection for every form. Two checks, both required:
//! - a token in the form's `csrf_token` field. Logged in, it is derived from the session token
//!   (a keyed BLAKE3 hash), so it needs no storage and dies with the session; another site can
//!   neither read it nor compute it without the HttpOnly cookie. Before login (login and setup
//!   forms) it is a double-submit token: a random `footfall_csrf` cookie whose value the form
//!   repeats, which a cross-site form cannot know.
//! - the `Origin` header, when the browser sends one (all current browsers do on POST), must be
//!   our own host.

use super::session::{self, CurrentUser};
use super::{Auth, AuthError, looks_like_token, random_token};
use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// The form field every POST form carries.
pub const CSRF_FIELD: &str = "csrf_token";
const PRELOGIN_COOKIE: &str = "footfall_csrf";
/// Checks a submitted `csrf_token` (and the `Origin` header) for a logged-in user. `CsrfForm`
/// does this for url-encoded forms; call it directly for other bodies.
pub fn verify_csrf(
    req: &HttpRequest,
    user: &CurrentUser,
    submitted: &str,
) -> Result<(), AuthError> {
    check_origin(req)?;
    if !same(submitted, &user.csrf_token()) {
        return Err(AuthError::Csrf(
            "the csrf_token field is missing or not this session's",
        ));
    }
    Ok(())
}

/// The pre-login token for a login or setup form, and the cookie to set when the browser has
/// none yet (an existing one is kept, so several open tabs all stay valid).
pub(crate) fn prelogin_token(auth: &Auth, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(existing) = req.cookie(PRELOGIN_COOKIE)
        && looks_like_token(existing.value())
    {
        return (existing.value().to_owned(), None);
    }
    let token = random_token();
    let cookie = session::cookie(
        PRELOGIN_COOKIE,
        token.clone(),
        auth.is_https(req),
        // Long enough for a form left open over lunch; a stale form just needs a reload.
        actix_web::cookie::time::Duration::hours(12),
    );
    (token, Some(cookie))
}

/// Checks a login or setup form: its token must repeat the pre-login cookie.
pub(crate) fn verify_prelogin(req: &HttpRequest, submitted: &str) -> Result<(), AuthError> {
    check_origin(req)?;
    let cookie = req
        .cookie(PRELOGIN_COOKIE)
        .ok_or(AuthError::Csrf("no footfall_csrf cookie"))?;
    if !looks_like_token(cookie.value()) || !same(submitted, cookie.value()) {
        return Err(AuthError::Csrf(
            "the csrf_token field does not match the cookie",
        ));
    }
    Ok(())
}

/// Equal and not empty, in time independent of where they differ (BLAKE3 hashes compare in
/// constant time).
fn same(submitted: &str, expected: &str) -> bool {
    !submitted.is_empty() && blake3::hash(submitted.as_bytes()) == blake3::hash(expected.as_bytes())
}

/// A present `Origin` must name the host this request was sent to. The scheme is not compared:
/// behind a TLS-terminating proxy the browser's `https` reaches us as plain HTTP.
fn check_origin(req: &HttpRequest) -> Result<(), AuthError> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let theirs = origin
        .to_str()
        .ok()
        .and_then(|o| url::Url::parse(o).ok())
        .and_then(|url| authority(&url))
        .ok_or(AuthError::Csrf("unreadable or opaque Origin header"))?;
    let ours = url::Url::parse(&Auth::of(req)?.public_origin(req))
        .ok()
        .and_then(|url| authority(&url))
        .ok_or(AuthError::Csrf("the request names no readable host"))?;
    if theirs != ours {
        return Err(AuthError::Csrf("the Origin header names another site"));
    }
    Ok(())
}

/// A url-encoded form posted by the logged-in user, its CSRF token and `Origin` checked. Use it
/// in place of `web::Form<T>`; `T` ignores the `csrf_token` field unless it declares it.
pub struct CsrfForm<T> {
    pub user: CurrentUser,
    pub data: T,
}

#[derive(serde::Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let user = CurrentUser::extract(&req).await?;
            let body = body
                .await
                .map_err(|e| AuthError::BadForm(format!("reading the body failed: {e}")))?;
            let field: TokenField = serde_urlencoded::from_bytes(&body)
                .map_err(|e| AuthError::BadForm(e.to_string()))?;
            verify_csrf(&req, &user, &field.csrf_token)?;
            let data = serde_urlencoded::from_bytes(&body)
                .map_err(|e| AuthError::BadForm(e.to_string()))?;
            Ok(Self { user, data })
        })
    }
}

/// A URL's host, with its port when that is not the scheme's default. Schemes are not
/// compared: behind a TLS-terminating proxy that is not trusted, the browser's https origin and
/// the http request footfall sees still name the same host.
fn authority(url: &url::Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}
