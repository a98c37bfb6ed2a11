//! Login sessions: the `footfall_session` cookie, the `CurrentUser` extractor, and starting and
//! ending a session.

use super::{Auth, AuthError, looks_like_token, random_token};
use crate::domain::{User, UserId};
use crate::store::TokenHash;
use crate::web::layout::Layout;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use futures_util::future::LocalBoxFuture;

pub const SESSION_COOKIE: &str = "footfall_session";
/// Domain separation: this derivation of a session token is good for nothing else.
const CSRF_CONTEXT: &str = "footfall 2026-11-26 CSRF token of a login session";
/// How long a login lasts, fixed from the moment of login.
pub const SESSION_DAYS: i64 = 30;

/// The logged-in user of this request. As an extractor it requires a login (see the `auth`
/// module docs); it also knows the session's CSRF token.
#[derive(Clone)]
pub struct CurrentUser {
    pub user: User,
    token: String,
}

impl std::fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUser")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl CurrentUser {
    /// The value forms must send back in their `csrf_token` field.
    pub fn csrf_token(&self) -> String {
        // Derived from the session token, so it needs no storage and a page's script can
        // neither read it nor compute it without the HttpOnly cookie.
        URL_SAFE_NO_PAD.encode(blake3::derive_key(CSRF_CONTEXT, self.token.as_bytes()))
    }

    /// The layout for a page this user sees (navigation, logout form, CSRF token).
    pub fn layout(&self) -> Layout {
        Layout::signed_in(self.user.email.as_str(), self.csrf_token())
    }

    pub(crate) fn token_hash(&self) -> TokenHash {
        TokenHash::of(&self.token)
    }
}

/// The logged-in user, or `None`. `Err` only when the database cannot answer. Looked up once per
/// request; later calls reuse the answer.
pub async fn current_user(req: &HttpRequest) -> Result<Option<CurrentUser>, AuthError> {
    if let Some(user) = req.extensions().get::<CurrentUser>() {
        return Ok(Some(user.clone()));
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let token = cookie.value();
    if !looks_like_token(token) {
        return Ok(None);
    }
    let auth = Auth::of(req)?;
    let Some(user) = auth
        .store
        .login_session_user(&TokenHash::of(token), Utc::now())
        .await?
    else {
        return Ok(None);
    };
    let current = CurrentUser {
        user,
        token: token.to_owned(),
    };
    req.extensions_mut().insert(current.clone());
    Ok(Some(current))
}

impl FromRequest for CurrentUser {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            current_user(&req)
                .await?
                .ok_or_else(|| login_required(&req))
        })
    }
}

/// The answer to an anonymous request for a protected page: back here after logging in (for
/// page views; a form post cannot be replayed by a redirect).
pub(crate) fn login_required(req: &HttpRequest) -> AuthError {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let json = accept.contains("application/json") && !accept.contains("text/html");
    let next = (req.method() == Method::GET || req.method() == Method::HEAD)
        .then(|| req.uri().path_and_query().map(|pq| pq.as_str().to_owned()))
        .flatten();
    AuthError::LoginRequired { next, json }
}

/// Logs `user` in: a new session with a new id, and the cookie to send. A session cookie the
/// browser already carried is ended first, so a planted or shared token never survives a login.
pub(crate) async fn start(
    auth: &Auth,
    req: &HttpRequest,
    user: UserId,
) -> Result<Cookie<'static>, AuthError> {
    if let Some(old) = req.cookie(SESSION_COOKIE)
        && looks_like_token(old.value())
    {
        auth.store
            .delete_login_session(&TokenHash::of(old.value()))
            .await?;
    }
    let token = random_token();
    let now = Utc::now();
    auth.store
        .create_login_session(
            &TokenHash::of(&token),
            user,
            now,
            now + TimeDelta::days(SESSION_DAYS),
        )
        .await?;
    Ok(cookie(
        SESSION_COOKIE,
        token,
        auth.is_https(req),
        actix_web::cookie::time::Duration::days(SESSION_DAYS),
    ))
}

/// Logs the session out on the server (the cookie alone would not be enough: a copy of it
/// would still work) and returns the cookie that clears it in the browser.
pub(crate) async fn end(
    auth: &Auth,
    req: &HttpRequest,
    user: &CurrentUser,
) -> Result<Cookie<'static>, AuthError> {
    auth.store.delete_login_session(&user.token_hash()).await?;
    Ok(cookie(
        SESSION_COOKIE,
        String::new(),
        auth.is_https(req),
        actix_web::cookie::time::Duration::ZERO,
    ))
}

/// Our cookies: invisible to scripts, not sent on cross-site subrequests or posts, whole site.
pub(crate) fn cookie(
    name: &'static str,
    value: String,
    secure: bool,
    max_age: actix_web::cookie::time::Duration,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(max_age)
        .finish()
}
