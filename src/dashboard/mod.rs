//! The dashboard: server-rendered pages (askama) over the stats query layer. Usable without
//! JavaScript; only the live view streams with Server-Sent Events.
//!
//! Routes: `/sites` (list, add), `/sites/{domain}` (dashboard), `/sites/{domain}/settings`
//! (snippet, installation check, share links, retention, goals, delete), `/sites/{domain}/funnel`
//! (a funnel of the site's goals under the view), `/sites/{domain}/live` (+ `/stream`), and
//! `/share/{token}` (the read-only dashboard behind a share link); under both, `export/…` for CSV
//! downloads of the view; and `/account/api-keys` (keys for the stats API).

pub mod api_keys;
pub mod chart;
pub mod export;
pub mod format;
pub mod funnel;
pub mod goals;
pub mod live;
pub mod page;
pub mod params;
pub mod sites;

/// Registers the dashboard's routes (sites, settings, share links, live view, API keys).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    sites::configure(cfg);
    api_keys::configure(cfg);
}

use crate::domain::Site;
use crate::store::{DynStore, StoreError};
use crate::web::layout::{self, Layout};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("the database failed")]
    Store(#[from] StoreError),
    #[error("rendering the page failed")]
    Render,
}

/// What a view that ran past the query timeout says (`503` with `Retry-After`): the person can
/// ask for less.
pub const TOO_SLOW: &str = "This view took too long to compute, so it was stopped. Try a shorter \
     period or fewer filters, or try again in a minute.";

/// What a view says when the read replica its figures come from does not answer (`503` with
/// `Retry-After`).
pub const REPLICA_DOWN: &str = "The figures are read from a replica of the database, which is \
     not answering right now. Visits are still being recorded; try again in a minute.";

impl ResponseError for DashboardError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Store(StoreError::TimedOut | StoreError::Replica(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Store(_) | Self::Render => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            Self::Store(StoreError::TimedOut) => {
                tracing::info!("a dashboard view ran past the query timeout");
                let mut page = layout::error_page(
                    self.status_code(),
                    Layout::anonymous(""),
                    "This view took too long",
                    TOO_SLOW,
                );
                page.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from(crate::http_error::RETRY_AFTER_SECS),
                );
                return page;
            }
            Self::Store(e @ StoreError::Replica(cause)) => {
                tracing::warn!(error = %e, cause = %cause, "a dashboard view: the read replica did not answer");
                let mut page = layout::error_page(
                    self.status_code(),
                    Layout::anonymous(""),
                    "Figures unavailable",
                    REPLICA_DOWN,
                );
                page.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from(crate::http_error::RETRY_AFTER_SECS),
                );
                return page;
            }
            Self::Store(e) => {
                // The cause goes to the log once; the page says nothing about it.
                tracing::error!(error = %e, cause = ?std::error::Error::source(e), "dashboard query failed");
                (
                    "Something went wrong",
                    "Something went wrong on our side. Please try again.".to_owned(),
                )
            }
            Self::Render => (
                "Something went wrong",
                "Something went wrong on our side. Please try again.".to_owned(),
            ),
            Self::NotFound => ("Not found", "There is no such site or page.".to_owned()),
            Self::BadRequest(m) => ("Bad request", m.clone()),
        };
        layout::error_page(self.status_code(), Layout::anonymous(""), title, &message)
    }
}

/// The site registered as `domain`, or 404.
pub async fn site_by_domain(store: &DynStore, domain: &str) -> Result<Site, DashboardError> {
    store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.domain.as_str() == domain)
        .ok_or(DashboardError::NotFound)
}
