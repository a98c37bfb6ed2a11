//! Accounts, login sessions, share links and API keys. Secrets never reach the database:
//! sessions, share links and API keys are looked up by the BLAKE3 hash of their token
//! (`TokenHash`), and users keep only an argon2id hash of their password.

use super::StoreError;
use crate::domain::{Email, SiteId, User, UserId};
use crate::stats::goal::Goal;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The BLAKE3 hash of a random token (a session cookie, a share link): what the database keeps
/// instead of the token. The tokens carry 256 random bits, so a fast unsalted hash is safe.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(*blake3::hash(token.as_bytes()).as_bytes())
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Harmless on its own, but a hash in a log is still a lookup key: keep it out.
        f.write_str("TokenHash(…)")
    }
}

/// A user with the password hash, for checking a login and nothing else.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    /// An argon2id PHC string.
    pub password_hash: String,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Primary key of a share link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShareLinkId(pub i64);

/// A public read-only link to one site, as listed to its owner (the token itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub id: ShareLinkId,
    pub site_id: SiteId,
    /// The token's first characters, to tell links apart; too short to guess the rest.
    pub hint: String,
    pub created_at: DateTime<Utc>,
}

/// Primary key of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyId(pub i64);

/// Which sites an API key opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyScope {
    /// Every site, including sites added after the key.
    AllSites,
    /// Exactly these sites (by id, ascending). Deleting a site removes it from the list, so a key
    /// whose sites are all gone opens nothing.
    Sites(Vec<SiteId>),
}

impl ApiKeyScope {
    pub fn allows(&self, site: SiteId) -> bool {
        match self {
            Self::AllSites => true,
            Self::Sites(ids) => ids.contains(&site),
        }
    }
}

/// An API key as listed (the token itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    /// What the key is for, as its creator put it.
    pub name: String,
    /// The token's first characters, to tell keys apart; too short to guess the rest.
    pub hint: String,
    pub scope: ApiKeyScope,
    pub created_at: DateTime<Utc>,
    /// Roughly when the key was last used (refreshed at most once a minute); `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Builds keys from their rows and their `(key, site)` grants, as both backends read them.
pub(crate) fn assemble_api_keys(
    keys: Vec<(ApiKey, bool)>,
    grants: &[(ApiKeyId, SiteId)],
) -> Vec<ApiKey> {
    keys.into_iter()
        .map(|(mut key, all_sites)| {
            key.scope = if all_sites {
                ApiKeyScope::AllSites
            } else {
                let mut ids: Vec<SiteId> = grants
                    .iter()
                    .filter(|(k, _)| *k == key.id)
                    .map(|(_, s)| *s)
                    .collect();
                ids.sort_by_key(|s| s.0);
                ids.dedup();
                ApiKeyScope::Sites(ids)
            };
            key
        })
        .collect()
}

#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn count_users(&self) -> Result<i64, StoreError>;
    /// `StoreError::UserExists` when the email is taken.
    async fn add_user(&self, email: &Email, password_hash: &str) -> Result<User, StoreError>;
    /// Adds a user only if there is none yet (the setup page); `None` when someone was first.
    /// Atomic: two setup forms submitted at once cannot both succeed.
    async fn add_first_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Every user, by email.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError>;
    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<(), StoreError>;

    async fn create_login_session(
        &self,
        token: &TokenHash,
        user: UserId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The user a session token belongs to, unless the session expired before `now`.
    async fn login_session_user(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError>;
    /// Logs a session out; false when there was no such session.
    async fn delete_login_session(&self, token: &TokenHash) -> Result<bool, StoreError>;
    /// Logs a user out everywhere but `keep` (after a password change); returns how many went.
    async fn delete_other_login_sessions(
        &self,
        user: UserId,
        keep: &TokenHash,
    ) -> Result<u64, StoreError>;
    /// Deletes sessions that expired before `now`; returns how many went.
    async fn delete_expired_login_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn create_share_link(
        &self,
        site: SiteId,
        token: &TokenHash,
        hint: &str,
    ) -> Result<ShareLink, StoreError>;
    /// A site's links, oldest first.
    async fn share_links(&self, site: SiteId) -> Result<Vec<ShareLink>, StoreError>;
    /// Deletes a link of `site`; false when `site` has no such link (so one site's owner cannot
    /// revoke another's links by id).
    async fn revoke_share_link(&self, site: SiteId, link: ShareLinkId) -> Result<bool, StoreError>;
    /// The site a share token opens, if the link exists.
    async fn share_link_site(&self, token: &TokenHash) -> Result<Option<SiteId>, StoreError>;

    /// Stores a key (its hash) with its scope, atomically. Every site of a `Sites` scope must
    /// exist.
    async fn create_api_key(
        &self,
        name: &str,
        token: &TokenHash,
        hint: &str,
        scope: &ApiKeyScope,
    ) -> Result<ApiKey, StoreError>;
    /// Every API key, oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// The key a token belongs to, unless it was revoked (or never existed).
    async fn api_key_by_token(&self, token: &TokenHash) -> Result<Option<ApiKey>, StoreError>;
    /// Records a use of the key at `at`.
    async fn touch_api_key(&self, key: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Deletes a key; false when there was no such key.
    async fn revoke_api_key(&self, key: ApiKeyId) -> Result<bool, StoreError>;

    /// A site's saved segments, by name.
    async fn saved_segments(&self, site: SiteId) -> Result<Vec<SavedSegment>, StoreError>;
    /// Saves `filters` (as the URL writes them) under `name`; `SegmentExists` if the site has a
    /// segment of that name.
    async fn add_saved_segment(
        &self,
        site: SiteId,
        name: &str,
        filters: &[String],
    ) -> Result<SavedSegment, StoreError>;
    /// Deletes a site's segment; false when it has none with that id.
    async fn delete_saved_segment(&self, site: SiteId, id: i64) -> Result<bool, StoreError>;

    /// A site's goals, by name.
    async fn goals(&self, site: SiteId) -> Result<Vec<Goal>, StoreError>;
    /// Adds a goal; `GoalExists` if the site has one of that name.
    async fn add_goal(&self, site: SiteId, goal: &Goal) -> Result<(), StoreError>;
    /// Removes a site's goal by name; false when it has none of that name.
    async fn remove_goal(&self, site: SiteId, name: &str) -> Result<bool, StoreError>;
}

/// A named list of dashboard filters of one site (`?segment=ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSegment {
    pub id: i64,
    pub name: String,
    /// As the URL writes them: `DIM:OP:VALUE`, `prop:KEY:OP:VALUE`.
    pub filters: Vec<String>,
}
