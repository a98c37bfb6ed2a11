//! CSV downloads of a dashboard view: `GET {base}/export/{property}.csv` (one breakdown, every
//! row) and `GET {base}/export/events.csv` (the raw events), where `{base}` is `/sites/{domain}`
//! (logged in) or `/share/{token}` (a share link), with the view's period and filters in the query
//! string exactly as on the dashboard page. Errors are short JSON (`{"error": "…"}`): the client
//! is a download or a script, not a person reading a page; a page of the export that runs past
//! the query timeout is a `503` (the first page) or a body cut short (a later one: the status
//! line is long gone).

use crate::auth::{self, CurrentUser};
use crate::dashboard::params;
use crate::domain::Site;
use crate::export::{self, Audience};
use crate::http_error::{self, TIMED_OUT};
use crate::stats::Dimension;
use crate::store::{DynStore, StoreError, deadline};
use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, ResponseError};
use futures_util::StreamExt;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    BadRequest(String),
    #[error("unknown site")]
    NotFound,
    #[error("the database failed")]
    Store(#[from] StoreError),
}

impl ResponseError for ExportError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Store(StoreError::TimedOut | StoreError::Replica(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Self::Store(StoreError::TimedOut) => {
                return http_error::timed_out().json(serde_json::json!({ "error": TIMED_OUT }));
            }
            Self::Store(e @ StoreError::Replica(cause)) => {
                tracing::warn!(error = %e, cause = %cause, "export: the read replica did not answer");
                return http_error::timed_out()
                    .json(serde_json::json!({ "error": http_error::REPLICA_UNAVAILABLE }));
            }
            Self::Store(e) => {
                tracing::error!(error = %e, cause = ?std::error::Error::source(e), "export query failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code()).json(serde_json::json!({ "error": message }))
    }
}

/// What a download holds.
#[derive(Debug, Clone, PartialEq)]
enum What {
    Events,
    Breakdown(Dimension),
}

impl What {
    /// `events.csv` or `{property}.csv` (`page.csv`, `prop:plan.csv`).
    fn parse(file: &str) -> Result<Self, ExportError> {
        let stem = file.strip_suffix(".csv").ok_or_else(|| {
            ExportError::BadRequest(format!(
                "export {file:?} must be events.csv or PROPERTY.csv"
            ))
        })?;
        if stem == "events" {
            return Ok(Self::Events);
        }
        Dimension::parse(stem).map(Self::Breakdown).ok_or_else(|| {
            ExportError::BadRequest(format!(
                "property {stem:?} is unknown: use page, entry_page, exit_page, source, referrer, \
                 utm_source, utm_medium, utm_campaign, utm_content, utm_term, country, region, \
                 city, browser, browser_version, os, os_version, device, event_name or prop:KEY"
            ))
        })
    }

    /// For the file name: letters, digits, `-` and `_` only.
    fn slug(&self) -> String {
        let name = match self {
            Self::Events => "events".to_owned(),
            Self::Breakdown(d) => d.to_string(),
        };
        name.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }
}

/// The path of a view's export of `what` (`events` or a dimension), under `base`.
pub fn href(base: &str, what: &str, query_string: &str) -> String {
    format!("{base}/export/{}.csv?{query_string}", encode_segment(what))
}

/// Percent-encodes a path segment (prop keys are free text).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/sites/{domain}/export/{file}`, for a logged-in user.
pub async fn logged_in(
    _user: CurrentUser,
    store: web::Data<DynStore>,
    path: web::Path<(String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ExportError> {
    let (domain, file) = path.into_inner();
    let site = store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.domain.as_str() == domain)
        .ok_or(ExportError::NotFound)?;
    respond(
        store.get_ref().clone(),
        &site,
        &file,
        &query,
        Audience::Users,
    )
    .await
}

/// `/share/{token}/export/{file}`: a share link may download what it may see, and raw events
/// without anything that follows one visitor (`export::PUBLIC_EVENT_COLUMNS`).
pub async fn shared(
    store: web::Data<DynStore>,
    path: web::Path<(String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ExportError> {
    let (token, file) = path.into_inner();
    let site_id = auth::share::site_for_token(store.as_ref().as_ref(), &token)
        .await?
        .ok_or(ExportError::NotFound)?;
    let site = store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.id == site_id)
        .ok_or(ExportError::NotFound)?;
    let mut response = respond(
        store.get_ref().clone(),
        &site,
        &file,
        &query,
        Audience::Public,
    )
    .await?;
    // The token is in the URL: keep the download out of shared caches.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// The download: its first page read before the status line is sent, so that a bad or slow export
/// still answers with its error; the later pages as the client takes them, each with a query
/// timeout of its own (an export of millions of events takes as long as it takes, a page not).
async fn respond(
    store: DynStore,
    site: &Site,
    file: &str,
    pairs: &[(String, String)],
    audience: Audience,
) -> Result<HttpResponse, ExportError> {
    let what = What::parse(file)?;
    let view = params::parse(pairs).map_err(ExportError::BadRequest)?;
    let saved = match view.segment {
        Some(_) => store.saved_segments(site.id).await?,
        None => Vec::new(),
    };
    let goals = store.goals(site.id).await?;
    let view = params::resolve(site, &saved, &goals, view).map_err(ExportError::BadRequest)?;
    let query = view.query(site);
    let (from, to) = (query.from, query.to);
    let filename = format!("{}-{}-{from}-{to}.csv", site.domain, what.slug());
    let mut pages = match what {
        What::Events => export::events(store, query, audience).boxed(),
        What::Breakdown(dimension) => export::breakdown(store, query, dimension).boxed(),
    };
    let first = pages.next().await.transpose()?;
    let timeout = deadline::timeout();
    let rest = futures_util::stream::unfold(pages, move |mut pages| async move {
        let next = match timeout {
            Some(timeout) => deadline::within(timeout, pages.next()).await,
            None => pages.next().await,
        };
        next.map(|page| (page, pages))
    });
    let body = futures_util::stream::iter(first.map(Ok))
        .chain(rest)
        .map(|chunk| {
            chunk.map(Bytes::from).inspect_err(|e| {
                // The status line is long gone: the client sees the body cut short.
                tracing::error!(error = %e, cause = ?std::error::Error::source(e), "export stream failed");
            })
        });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_files_name_events_or_a_property() {
        assert_eq!(What::parse("events.csv").ok(), Some(What::Events));
        assert_eq!(
            What::parse("prop:plan.csv").ok(),
            Some(What::Breakdown(Dimension::Prop("plan".into())))
        );
        assert!(What::parse("planet.csv").is_err());
        assert!(What::parse("page").is_err());
        assert_eq!(
            What::Breakdown(Dimension::Prop("a b/c".into())).slug(),
            "prop-a-b-c"
        );
    }

    #[test]
    fn export_links_encode_the_property_as_one_path_segment() {
        assert_eq!(
            href("/sites/example.com", "prop:a b/c", "period=7d"),
            "/sites/example.com/export/prop:a%20b%2Fc.csv?period=7d"
        );
    }
}
