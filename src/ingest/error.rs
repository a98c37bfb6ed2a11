//! Why the collection endpoint refused an event: a 4xx that names the problem, or a 503 when
//! the queue cannot take more. The JSON body is `{"error": "…"}`.

use crate::metrics::Rejection;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidField(String),
    #[error("unknown site {0:?} (field d): add it with `footfall site add`")]
    UnknownSite(String),
    #[error(
        "unknown Umami website id {0:?} (field payload.website): map it to a site with `footfall site set DOMAIN --umami-id {0}`"
    )]
    UnknownUmamiId(String),
    #[error("page host {host:?} (field u) is not {domain} or one of its subdomains")]
    HostMismatch { host: String, domain: String },
    #[error("request body is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("unsupported content type {0:?}: send application/json or text/plain")]
    UnsupportedMediaType(String),
    #[error("event queue is full, retry later")]
    QueueFull,
    #[error("server is shutting down, retry later")]
    ShuttingDown,
}

impl CollectError {
    pub fn rejection(&self) -> Rejection {
        match self {
            Self::InvalidJson(_) => Rejection::InvalidJson,
            Self::InvalidField(_) => Rejection::InvalidField,
            Self::UnknownSite(_) | Self::UnknownUmamiId(_) => Rejection::UnknownSite,
            Self::HostMismatch { .. } => Rejection::HostMismatch,
            Self::TooLarge { .. } => Rejection::TooLarge,
            Self::UnsupportedMediaType(_) => Rejection::UnsupportedMediaType,
            Self::QueueFull => Rejection::QueueFull,
            Self::ShuttingDown => Rejection::ShuttingDown,
        }
    }
}

impl ResponseError for CollectError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) | Self::InvalidField(_) | Self::HostMismatch { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::UnknownSite(_) | Self::UnknownUmamiId(_) => StatusCode::NOT_FOUND,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::QueueFull | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(("Access-Control-Allow-Origin", "*"));
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(("Retry-After", "1"));
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}
