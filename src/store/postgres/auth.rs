//! Accounts, login sessions, share links and API keys, postgres flavour.

use super::PostgresStore;
use crate::domain::{Email, SiteId, User, UserId};
use crate::store::auth::assemble_api_keys;
use crate::store::{
    ApiKey, ApiKeyId, ApiKeyScope, AuthStore, ShareLink, ShareLinkId, StoreError, TokenHash,
    UserCredentials,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

fn user_from_row(row: &PgRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        email: Email::parse(row.try_get("email")?).map_err(|e| StoreError::Corrupt(e.0))?,
        created_at: row.try_get("created_at")?,
    })
}

fn share_link_from_row(row: &PgRow) -> Result<ShareLink, StoreError> {
    Ok(ShareLink {
        id: ShareLinkId(row.try_get("id")?),
        site_id: SiteId(row.try_get("site_id")?),
        hint: row.try_get("hint")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A key's row, with its `all_sites` flag; `assemble_api_keys` fills in the scope.
fn api_key_from_row(row: &PgRow) -> Result<(ApiKey, bool), StoreError> {
    Ok((
        ApiKey {
            id: ApiKeyId(row.try_get("id")?),
            name: row.try_get("name")?,
            hint: row.try_get("hint")?,
            scope: ApiKeyScope::AllSites,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
        },
        row.try_get("all_sites")?,
    ))
}

fn grant_from_row(row: &PgRow) -> Result<(ApiKeyId, SiteId), StoreError> {
    Ok((
        ApiKeyId(row.try_get("key_id")?),
        SiteId(row.try_get("site_id")?),
    ))
}

fn unique_to_user_exists(e: sqlx::Error, email: &Email) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::UserExists(email.to_string())
        }
        e => e.into(),
    }
}

#[async_trait]
impl AuthStore for PostgresStore {
    #[tracing::instrument(skip_all)]
    async fn count_users(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    #[tracing::instrument(skip_all)]
    async fn add_user(&self, email: &Email, password_hash: &str) -> Result<User, StoreError> {
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash) VALUES ($1, $2) \
             RETURNING id, email, created_at",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| unique_to_user_exists(e, email))?;
        user_from_row(&row)
    }

    #[tracing::instrument(skip_all)]
    async fn add_first_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<Option<User>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Under READ COMMITTED two setups could both see an empty table and both insert. This
        // lock mode conflicts with itself but not with readers, so setups queue and logins don't.
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash) \
             SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM users) \
             RETURNING id, email, created_at",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| unique_to_user_exists(e, email))?;
        tx.commit().await?;
        row.as_ref().map(user_from_row).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query("SELECT id, email, created_at FROM users ORDER BY email")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError> {
        sqlx::query("SELECT id, email, created_at, password_hash FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| {
                Ok(UserCredentials {
                    user: user_from_row(&row)?,
                    password_hash: row.try_get("password_hash")?,
                })
            })
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn create_login_session(
        &self,
        token: &TokenHash,
        user: UserId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&token.0[..])
        .bind(user.0)
        .bind(created_at)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn login_session_user(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT u.id, u.email, u.created_at FROM login_sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(&token.0[..])
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn delete_login_session(&self, token: &TokenHash) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM login_sessions WHERE token_hash = $1")
            .bind(&token.0[..])
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_other_login_sessions(
        &self,
        user: UserId,
        keep: &TokenHash,
    ) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM login_sessions WHERE user_id = $1 AND token_hash <> $2")
                .bind(user.0)
                .bind(&keep.0[..])
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all)]
    async fn delete_expired_login_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all)]
    async fn create_share_link(
        &self,
        site: SiteId,
        token: &TokenHash,
        hint: &str,
    ) -> Result<ShareLink, StoreError> {
        let row = sqlx::query(
            "INSERT INTO share_links (site_id, token_hash, hint) VALUES ($1, $2, $3) \
             RETURNING id, site_id, hint, created_at",
        )
        .bind(site.0)
        .bind(&token.0[..])
        .bind(hint)
        .fetch_one(&self.pool)
        .await?;
        share_link_from_row(&row)
    }

    #[tracing::instrument(skip_all)]
    async fn share_links(&self, site: SiteId) -> Result<Vec<ShareLink>, StoreError> {
        sqlx::query(
            "SELECT id, site_id, hint, created_at FROM share_links WHERE site_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(site.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(share_link_from_row)
        .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_share_link(&self, site: SiteId, link: ShareLinkId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM share_links WHERE id = $1 AND site_id = $2")
            .bind(link.0)
            .bind(site.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn share_link_site(&self, token: &TokenHash) -> Result<Option<SiteId>, StoreError> {
        let row = sqlx::query("SELECT site_id FROM share_links WHERE token_hash = $1")
            .bind(&token.0[..])
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(SiteId(r.try_get("site_id")?))).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn create_api_key(
        &self,
        name: &str,
        token: &TokenHash,
        hint: &str,
        scope: &ApiKeyScope,
    ) -> Result<ApiKey, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO api_keys (name, token_hash, hint, all_sites) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, hint, all_sites, created_at, last_used_at",
        )
        .bind(name)
        .bind(&token.0[..])
        .bind(hint)
        .bind(matches!(scope, ApiKeyScope::AllSites))
        .fetch_one(&mut *tx)
        .await?;
        let (key, all_sites) = api_key_from_row(&row)?;
        let mut grants = Vec::new();
        if let ApiKeyScope::Sites(sites) = scope {
            for site in sites {
                sqlx::query(
                    "INSERT INTO api_key_sites (key_id, site_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(key.id.0)
                .bind(site.0)
                .execute(&mut *tx)
                .await?;
                grants.push((key.id, *site));
            }
        }
        tx.commit().await?;
        Ok(assemble_api_keys(vec![(key, all_sites)], &grants)
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a new API key vanished".into()))?)
    }

    #[tracing::instrument(skip_all)]
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let keys = sqlx::query(
            "SELECT id, name, hint, all_sites, created_at, last_used_at FROM api_keys \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(api_key_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let grants = sqlx::query("SELECT key_id, site_id FROM api_key_sites")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(grant_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(assemble_api_keys(keys, &grants))
    }

    #[tracing::instrument(skip_all)]
    async fn api_key_by_token(&self, token: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, name, hint, all_sites, created_at, last_used_at FROM api_keys \
             WHERE token_hash = $1",
        )
        .bind(&token.0[..])
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let (key, all_sites) = api_key_from_row(&row)?;
        let grants = sqlx::query("SELECT key_id, site_id FROM api_key_sites WHERE key_id = $1")
            .bind(key.id.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(grant_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(assemble_api_keys(vec![(key, all_sites)], &grants).pop())
    }

    #[tracing::instrument(skip_all)]
    async fn touch_api_key(&self, key: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(key.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_api_key(&self, key: ApiKeyId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1")
            .bind(key.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
