//! API keys for the stats API. As with share links, the token is shown once, when the key is
//! made, and the database keeps only its hash. Tokens start with `ff_` so they are easy to spot
//! in a config file or a secret scanner, followed by 256 random bits (base64url, 43 characters).
//!
//! The dashboard's key page, `footfall apikey …` and the API's bearer check call these functions;
//! listing and revoking are `AuthStore::{api_keys, revoke_api_key}`.

use super::{looks_like_token, random_token};
use crate::domain::Site;
use crate::store::{ApiKey, ApiKeyScope, AuthStore, StoreError, TokenHash};
use chrono::{DateTime, TimeDelta, Utc};

/// What every API token starts with.
pub const PREFIX: &str = "ff_";
/// Characters of the token kept as its hint: the prefix and 6 random characters (36 of the 256
/// bits; the other 220 stay secret).
const HINT_CHARS: usize = PREFIX.len() + 6;
/// Longest accepted key name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// `last_used_at` is written at most this often per key, so API reads rarely write.
const TOUCH_EVERY: TimeDelta = TimeDelta::seconds(60);

/// A key's name: trimmed, 1 to 100 characters, no control characters.
pub fn parse_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the key needs a name (what it is for)".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "the name is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the name must not contain control characters".into());
    }
    Ok(name.to_owned())
}

/// Makes a key; returns it with its token, the only time the token is available.
pub async fn create_key<S: AuthStore + ?Sized>(
    store: &S,
    name: &str,
    scope: &ApiKeyScope,
) -> Result<(ApiKey, String), StoreError> {
    let token = format!("{PREFIX}{}", random_token());
    let key = store
        .create_api_key(name, &TokenHash::of(&token), &token[..HINT_CHARS], scope)
        .await?;
    Ok((key, token))
}

/// The key a bearer token belongs to, or `None` for a revoked, unknown or malformed token. A
/// found key's `last_used_at` is refreshed when it is older than a minute; a failure to record
/// that is logged, not fatal.
pub async fn key_for_token<S: AuthStore + ?Sized>(
    store: &S,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<ApiKey>, StoreError> {
    let Some(secret) = token.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    if !looks_like_token(secret) {
        return Ok(None);
    }
    let Some(key) = store.api_key_by_token(&TokenHash::of(token)).await? else {
        return Ok(None);
    };
    if key.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY)
        && let Err(e) = store.touch_api_key(key.id, now).await
    {
        tracing::warn!(key = key.id.0, error = %e, "recording an API key's use failed");
    }
    Ok(Some(key))
}

/// "all sites", or the scope's domains, comma-separated (`sites` names them).
pub fn describe_scope(scope: &ApiKeyScope, sites: &[Site]) -> String {
    match scope {
        ApiKeyScope::AllSites => "all sites".to_owned(),
        ApiKeyScope::Sites(ids) if ids.is_empty() => "no sites (all deleted)".to_owned(),
        ApiKeyScope::Sites(ids) => ids
            .iter()
            .filter_map(|id| sites.iter().find(|s| s.id == *id))
            .map(|s| s.domain.as_str())
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_name;

    #[test]
    fn key_names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  reporting  "), Ok("reporting".into()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
        assert!(parse_name("a\nb").is_err());
    }
}
