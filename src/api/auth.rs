//! Who may ask: `Authorization: Bearer KEY` names an API key (401 without a valid one), and the
//! key must open the requested site (403 otherwise — with the same answer for a site that does
//! not exist, so keys cannot discover other sites).

use super::error::ApiError;
use crate::auth::api_key;
use crate::domain::{Site, SiteDomain};
use crate::store::{ApiKey, DynStore};
use actix_web::HttpRequest;
use actix_web::http::header;

/// The key named by the request's bearer token.
pub async fn authenticate(req: &HttpRequest, store: &DynStore) -> Result<ApiKey, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "missing API key: send the header Authorization: Bearer <key>",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(ApiError::Unauthorized(
            "malformed Authorization header: expected Bearer <key>",
        ))?;
    api_key::key_for_token(store.as_ref(), token, chrono::Utc::now())
        .await?
        .ok_or(ApiError::Unauthorized("invalid or revoked API key"))
}

/// The site `domain`, if `key` opens it.
pub async fn site_for(
    key: &ApiKey,
    store: &DynStore,
    domain: &SiteDomain,
) -> Result<Site, ApiError> {
    store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| &s.domain == domain)
        .filter(|s| key.scope.allows(s.id))
        .ok_or_else(|| ApiError::Forbidden(domain.to_string()))
}
