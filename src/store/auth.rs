//! Accounts, login sessions and share links. Secrets never reach the database: sessions and share
//! links are looked up by the BLAKE3 hash of their token (`TokenHash`), and users keep only an
//! argon2id hash of their password.

use super::StoreError;
use crate::domain::{Email, SiteId, User, UserId};
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
}
