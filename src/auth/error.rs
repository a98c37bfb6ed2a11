//! Why an auth-protected request failed. 4xx answers say what to do; a 5xx body is fixed and
//! generic while the cause goes to the log.

use crate::store::StoreError;
use crate::web::layout::{self, Layout};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No valid session: browsers are sent to the login page, JSON clients get a 401.
    #[error("login required")]
    LoginRequired { next: Option<String>, json: bool },
    /// A form without a valid CSRF token, or posted from another origin.
    #[error("CSRF check failed: {0}")]
    Csrf(&'static str),
    #[error("bad form: {0}")]
    BadForm(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("the auth state is not registered with the app")]
    NotConfigured,
    #[error("rendering a page failed")]
    Template(#[from] askama::Error),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// What a person sees when a form is refused by the CSRF check.
const CSRF_MESSAGE: &str = "This form has expired or was sent from another site, so it was \
    not accepted. Go back, reload the page and try again.";

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::LoginRequired { json: false, .. } => StatusCode::SEE_OTHER,
            Self::LoginRequired { json: true, .. } => StatusCode::UNAUTHORIZED,
            Self::Csrf(_) => StatusCode::FORBIDDEN,
            Self::BadForm(_) => StatusCode::BAD_REQUEST,
            Self::Hashing(_) | Self::NotConfigured | Self::Template(_) | Self::Store(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::LoginRequired { json: true, .. } => {
                return HttpResponse::Unauthorized()
                    .json(serde_json::json!({"error": "login required"}));
            }
            Self::LoginRequired { next, json: false } => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, login_url(next.as_deref())))
                    .finish();
            }
            _ => {}
        }
        let (title, message) = match self {
            Self::Csrf(reason) => {
                tracing::info!(reason, "form refused by the CSRF check");
                ("Form not accepted", CSRF_MESSAGE.to_owned())
            }
            Self::BadForm(problem) => ("Bad request", format!("The form was malformed: {problem}")),
            _ => {
                tracing::error!(error = %self, cause = ?std::error::Error::source(self), "request failed");
                (
                    "Something went wrong",
                    "Something went wrong on our side. Please try again later.".to_owned(),
                )
            }
        };
        layout::error_page(status, Layout::anonymous(""), title, &message)
    }
}

/// `/login`, with `next` (a local path to return to) percent-encoded when there is one.
pub fn login_url(next: Option<&str>) -> String {
    match next {
        Some(next) => format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ),
        None => "/login".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::login_url;

    #[test]
    fn the_return_path_is_percent_encoded() {
        assert_eq!(login_url(Some("/account")), "/login?next=%2Faccount");
        assert_eq!(
            login_url(Some("/sites/1?period=7d&x=a b")),
            "/login?next=%2Fsites%2F1%3Fperiod%3D7d%26x%3Da+b"
        );
        assert_eq!(login_url(None), "/login");
    }
}
