//! `GET/POST /setup`: creates the first account, and only while there is none. Afterwards both
//! answer with a redirect to `/login` and change nothing.

use super::{DEFAULT_LANDING, TOO_MANY_ATTEMPTS, html_with_cookie, see_other, with_retry_after};
use crate::auth::password::{self, NewPassword};
use crate::auth::{Auth, AuthError, csrf, session};
use crate::domain::Email;
use crate::web::layout::Layout;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

pub async fn show(req: HttpRequest, auth: web::Data<Auth>) -> Result<HttpResponse, AuthError> {
    if auth.store.count_users().await? > 0 {
        return Ok(see_other("/login").finish());
    }
    form(&auth, &req, StatusCode::OK, String::new(), None)
}

fn form(
    auth: &Auth,
    req: &HttpRequest,
    status: StatusCode,
    email: String,
    error: Option<String>,
) -> Result<HttpResponse, AuthError> {
    let (token, cookie) = csrf::prelogin_token(auth, req);
    let page = SetupPage {
        layout: Layout::anonymous(token),
        email,
        error,
    };
    html_with_cookie(status, &page, cookie)
}

#[derive(serde::Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    csrf_token: String,
}

pub async fn submit(
    req: HttpRequest,
    form_data: web::Form<SetupForm>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, AuthError> {
    if auth.store.count_users().await? > 0 {
        return Ok(see_other("/login").finish());
    }
    let SetupForm {
        email,
        password,
        password_confirm,
        csrf_token,
    } = form_data.into_inner();
    csrf::verify_prelogin(&req, &csrf_token)?;
    // Hashing costs CPU: the same per-address budget as logins.
    if let Err(wait) = auth.limiter.check(auth.client_ip(&req), None) {
        let response = form(
            &auth,
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            email,
            Some(TOO_MANY_ATTEMPTS.into()),
        )?;
        return Ok(with_retry_after(response, wait));
    }
    // Unlike a login, every setup attempt spends a hash, so every one counts.
    auth.limiter.failed(auth.client_ip(&req), None);
    let parsed = Email::parse(&email).and_then(|e| {
        if password != password_confirm {
            return Err(crate::domain::Invalid("the two passwords differ".into()));
        }
        Ok((e, NewPassword::parse(&password)?))
    });
    let (parsed_email, new_password) = match parsed {
        Ok(ok) => ok,
        Err(invalid) => {
            let message = capitalise(&invalid.0);
            return form(&auth, &req, StatusCode::BAD_REQUEST, email, Some(message));
        }
    };
    let hash = password::hash(new_password).await?;
    let Some(user) = auth.store.add_first_user(&parsed_email, &hash).await? else {
        // Someone finished setup while this form was open.
        return Ok(see_other("/login").finish());
    };
    tracing::info!(
        user = user.id.0,
        "first user created through the setup page"
    );
    let cookie = session::start(&auth, &req, user.id).await?;
    Ok(see_other(DEFAULT_LANDING).cookie(cookie).finish())
}

/// Domain error messages are sentence fragments; on a page they start a sentence.
pub(super) fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
