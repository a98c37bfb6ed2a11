//! `GET /account`: who is logged in, and a form to change the password
//! (`POST /account/password`).

use super::setup::capitalise;
use super::{TOO_MANY_ATTEMPTS, with_retry_after};
use crate::auth::password::{self, NewPassword};
use crate::auth::{Auth, AuthError, CsrfForm, CurrentUser};
use crate::domain::Email;
use crate::web::layout::{self, Layout};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

fn page(
    user: &CurrentUser,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<HttpResponse, AuthError> {
    Ok(layout::render(
        status,
        &AccountPage {
            layout: user.layout(),
            email: user.user.email.to_string(),
            notice,
            error,
        },
    )?)
}

pub async fn show(user: CurrentUser) -> Result<HttpResponse, AuthError> {
    page(&user, StatusCode::OK, None, None)
}

#[derive(serde::Deserialize)]
pub struct ChangePassword {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

pub async fn change_password(
    req: HttpRequest,
    form: CsrfForm<ChangePassword>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, AuthError> {
    let CsrfForm { user, data } = form;
    let email: &Email = &user.user.email;
    // Checking the current password is a login attempt like any other.
    if let Err(wait) = auth
        .limiter
        .check(auth.client_ip(&req), Some(email.as_str()))
    {
        let response = page(
            &user,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some(TOO_MANY_ATTEMPTS.into()),
        )?;
        return Ok(with_retry_after(response, wait));
    }
    let stored = auth
        .store
        .user_credentials(email)
        .await?
        .map(|c| c.password_hash);
    if !password::verify(data.current_password, stored).await? {
        auth.limiter
            .failed(auth.client_ip(&req), Some(email.as_str()));
        let error = Some("The current password is wrong.".to_owned());
        return page(&user, StatusCode::BAD_REQUEST, None, error);
    }
    if data.new_password != data.new_password_confirm {
        let error = Some("The two new passwords differ.".to_owned());
        return page(&user, StatusCode::BAD_REQUEST, None, error);
    }
    let new_password = match NewPassword::parse(&data.new_password) {
        Ok(p) => p,
        Err(invalid) => {
            return page(
                &user,
                StatusCode::BAD_REQUEST,
                None,
                Some(capitalise(&invalid.0)),
            );
        }
    };
    let hash = password::hash(new_password).await?;
    auth.store.set_password_hash(user.user.id, &hash).await?;
    // Whoever knew the old password may be logged in elsewhere: only this browser stays.
    let ended = auth
        .store
        .delete_other_login_sessions(user.user.id, &user.token_hash())
        .await?;
    tracing::info!(
        user = user.user.id.0,
        other_sessions_ended = ended,
        "password changed"
    );
    page(
        &user,
        StatusCode::OK,
        Some("Password changed. Any other browsers logged in as you were logged out."),
        None,
    )
}
