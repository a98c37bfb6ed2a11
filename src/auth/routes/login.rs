//! `GET/POST /login` and `POST /logout`.

use super::{html_with_cookie, local_path, see_other};
use crate::auth::session::{self, CurrentUser};
use crate::auth::{Auth, AuthError, CsrfForm, csrf, password};
use crate::domain::Email;
use crate::web::layout::Layout;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

/// The only thing a failed login says: which half was wrong would tell an attacker which
/// emails have accounts.
pub const WRONG_CREDENTIALS: &str = "Wrong email or password.";
const TOO_MANY_ATTEMPTS: &str = "Too many login attempts. Wait a minute, then try again.";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    email: String,
    error: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn show(
    req: HttpRequest,
    query: web::Query<NextQuery>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, AuthError> {
    let next = query.into_inner().next.unwrap_or_default();
    if session::current_user(&req).await?.is_some() {
        return Ok(see_other(local_path(&next)).finish());
    }
    if auth.store.count_users().await? == 0 {
        return Ok(see_other("/setup").finish());
    }
    form(&auth, &req, StatusCode::OK, next, String::new(), None)
}

/// The login form, with a pre-login CSRF token (setting its cookie if the browser has none).
fn form(
    auth: &Auth,
    req: &HttpRequest,
    status: StatusCode,
    next: String,
    email: String,
    error: Option<&'static str>,
) -> Result<HttpResponse, AuthError> {
    let (token, cookie) = csrf::prelogin_token(auth, req);
    let page = LoginPage {
        layout: Layout::anonymous(token),
        next,
        email,
        error,
    };
    html_with_cookie(status, &page, cookie)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    req: HttpRequest,
    form_data: web::Form<LoginForm>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, AuthError> {
    let LoginForm {
        email,
        password,
        csrf_token,
        next,
    } = form_data.into_inner();
    csrf::verify_prelogin(&req, &csrf_token)?;
    if let Err(wait) = auth.limiter.check(auth.client_ip(&req), Some(&email)) {
        tracing::info!("login attempt refused by the rate limit");
        let mut response = form(
            &auth,
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            email,
            Some(TOO_MANY_ATTEMPTS),
        )?;
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait.seconds()),
        );
        return Ok(response);
    }
    // A malformed email is just another wrong email: same work, same answer.
    let credentials = match Email::parse(&email) {
        Ok(parsed) => auth.store.user_credentials(&parsed).await?,
        Err(_) => None,
    };
    let (user, stored_hash) = match credentials {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    // Always hashed, against a dummy when the account does not exist (see `password::verify`).
    let matches = password::verify(password, stored_hash).await?;
    let Some(user) = user.filter(|_| matches) else {
        tracing::info!("login failed");
        auth.limiter.failed(auth.client_ip(&req), Some(&email));
        return form(
            &auth,
            &req,
            StatusCode::UNAUTHORIZED,
            next,
            email,
            Some(WRONG_CREDENTIALS),
        );
    };
    let cookie = session::start(&auth, &req, user.id).await?;
    tracing::info!(user = user.id.0, "logged in");
    Ok(see_other(local_path(&next)).cookie(cookie).finish())
}

#[derive(serde::Deserialize)]
pub struct Nothing {}

pub async fn logout(
    req: HttpRequest,
    form: CsrfForm<Nothing>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, AuthError> {
    let user: &CurrentUser = &form.user;
    let cookie = session::end(&auth, &req, user).await?;
    tracing::info!(user = user.user.id.0, "logged out");
    Ok(see_other("/login").cookie(cookie).finish())
}
