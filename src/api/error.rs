//! The API's errors, all as `{"error": "..."}` JSON (plus `"parameter"` for a 400). A 5xx body is
//! fixed; its cause goes to the log once. A question past the query timeout, or one whose read
//! replica does not answer, is a `503`.

use super::params::BadParameter;
use crate::http_error::{REPLICA_UNAVAILABLE, RETRY_AFTER_SECS, TIMED_OUT};
use crate::store::StoreError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}", .0.message)]
    BadRequest(BadParameter),
    /// No key, a malformed header, or an unknown or revoked key.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The key does not open this site — or the site does not exist: the message is the same
    /// so that a key cannot probe which sites exist.
    #[error("this API key has no access to site {0}")]
    Forbidden(String),
    #[error("the database failed")]
    Store(#[from] StoreError),
}

impl From<BadParameter> for ApiError {
    fn from(bad: BadParameter) -> Self {
        Self::BadRequest(bad)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Store(StoreError::TimedOut) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(e) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        let body = match self {
            Self::BadRequest(bad) => serde_json::json!({
                "error": bad.message,
                "parameter": bad.parameter,
            }),
            Self::Unauthorized(message) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"footfall\""));
                serde_json::json!({ "error": message })
            }
            Self::Forbidden(_) => serde_json::json!({ "error": self.to_string() }),
            Self::Store(StoreError::TimedOut) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
                serde_json::json!({ "error": TIMED_OUT })
            }
            Self::Store(e @ StoreError::Replica(cause)) => {
                tracing::warn!(error = %e, cause = %cause, "stats API: the read replica did not answer");
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
                serde_json::json!({ "error": REPLICA_UNAVAILABLE })
            }
            Self::Store(e) => {
                tracing::error!(error = %e, cause = ?std::error::Error::source(e), "stats API query failed");
                serde_json::json!({ "error": "something went wrong on our side; try again later" })
            }
        };
        response.json(body)
    }
}
