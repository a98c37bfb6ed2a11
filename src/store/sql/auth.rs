//! `AuthStore`, once for every backend: accounts, login sessions, share links and API keys.

use super::exec::Exec;
use super::{Bind, Dialect, Kind, Row, Sql};
use crate::domain::{Email, SiteId, User, UserId};
use crate::stats::goal::{Goal, GoalTarget};
use crate::store::auth::assemble_api_keys;
use crate::store::backend::Backend;
use crate::store::{
    ApiKey, ApiKeyId, ApiKeyScope, AuthStore, SavedSegment, ShareLink, ShareLinkId, StoreError,
    TokenHash, UserCredentials,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

const USER_COLUMNS: &str = "id, email, created_at";
const USER_KINDS: [Kind; 3] = [Kind::Int, Kind::Text, Kind::Time];

fn user(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(row.int(0)?),
        email: Email::parse(&row.string(1)?).map_err(|e| StoreError::Corrupt(e.0))?,
        created_at: row.time(2)?,
    })
}

const SHARE_LINK_COLUMNS: &str = "id, site_id, hint, created_at";
const SHARE_LINK_KINDS: [Kind; 4] = [Kind::Int, Kind::Int, Kind::Text, Kind::Time];

fn share_link(row: &Row) -> Result<ShareLink, StoreError> {
    Ok(ShareLink {
        id: ShareLinkId(row.int(0)?),
        site_id: SiteId(row.int(1)?),
        hint: row.string(2)?,
        created_at: row.time(3)?,
    })
}

const API_KEY_COLUMNS: &str = "id, name, hint, all_sites, created_at, last_used_at";
const API_KEY_KINDS: [Kind; 6] = [
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Bool,
    Kind::Time,
    Kind::OptTime,
];

/// A key's row, with its `all_sites` flag; `assemble_api_keys` fills in the scope.
fn api_key(row: &Row) -> Result<(ApiKey, bool), StoreError> {
    let key = ApiKey {
        id: ApiKeyId(row.int(0)?),
        name: row.string(1)?,
        hint: row.string(2)?,
        scope: ApiKeyScope::AllSites,
        created_at: row.time(4)?,
        last_used_at: row.opt_time(5)?,
    };
    Ok((key, row.bool(3)?))
}

/// The `(key, site)` grants of one key, or of all keys.
async fn grants(
    exec: &dyn Exec,
    key: Option<ApiKeyId>,
) -> Result<Vec<(ApiKeyId, SiteId)>, StoreError> {
    let mut sql = Sql::new(exec.dialect());
    sql.push("SELECT key_id, site_id FROM api_key_sites");
    if let Some(key) = key {
        sql.push(" WHERE key_id = ").int(key.0);
    }
    let rows = exec.fetch(&sql, &[Kind::Int, Kind::Int]).await?;
    rows.iter()
        .map(|row| Ok((ApiKeyId(row.int(0)?), SiteId(row.int(1)?))))
        .collect()
}

fn unique_to_user_exists(e: StoreError, email: &Email) -> StoreError {
    if e.is_unique_violation() {
        StoreError::UserExists(email.to_string())
    } else {
        e
    }
}

/// `INSERT INTO users …` with the new user's values, up to the row source.
fn insert_user(d: Dialect, email: &Email, password_hash: &str) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("INSERT INTO users (email, password_hash, created_at) SELECT ")
        .list([
            Bind::Text(email.as_str().to_owned()),
            Bind::Text(password_hash.to_owned()),
        ])
        .push(", ")
        .now();
    sql
}

#[async_trait]
impl<B: Backend> AuthStore for B {
    #[tracing::instrument(skip_all)]
    async fn count_users(&self) -> Result<i64, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT COUNT(*) FROM users");
        let rows = self.exec().fetch(&sql, &[Kind::Int]).await?;
        rows.first().map_or(Ok(0), |row| row.int(0))
    }

    #[tracing::instrument(skip_all)]
    async fn add_user(&self, email: &Email, password_hash: &str) -> Result<User, StoreError> {
        let mut sql = insert_user(self.exec().dialect(), email, password_hash);
        sql.push(" RETURNING ").push(USER_COLUMNS);
        let mut tx = self.exec().begin().await?;
        let rows = tx
            .fetch(&sql, &USER_KINDS)
            .await
            .map_err(|e| unique_to_user_exists(e, email))?;
        tx.commit().await?;
        rows.first()
            .map(user)
            .ok_or_else(|| StoreError::Corrupt("a new user vanished".into()))?
    }

    #[tracing::instrument(skip_all)]
    async fn add_first_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<Option<User>, StoreError> {
        let d = self.exec().dialect();
        let mut sql = insert_user(d, email, password_hash);
        sql.push(" WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING ")
            .push(USER_COLUMNS);
        let mut tx = self.exec().begin().await?;
        if let Some(lock) = d.lock_users_for_setup() {
            tx.execute(Sql::new(d).push(lock)).await?;
        }
        let rows = tx
            .fetch(&sql, &USER_KINDS)
            .await
            .map_err(|e| unique_to_user_exists(e, email))?;
        tx.commit().await?;
        rows.first().map(user).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT ")
            .push(USER_COLUMNS)
            .push(" FROM users ORDER BY email");
        let rows = self.exec().fetch(&sql, &USER_KINDS).await?;
        rows.iter().map(user).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT ")
            .push(USER_COLUMNS)
            .push(", password_hash FROM users WHERE email = ")
            .text(email.as_str());
        let mut kinds = USER_KINDS.to_vec();
        kinds.push(Kind::Text);
        let rows = self.exec().fetch(&sql, &kinds).await?;
        rows.first()
            .map(|row| {
                Ok(UserCredentials {
                    user: user(row)?,
                    password_hash: row.string(3)?,
                })
            })
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("UPDATE users SET password_hash = ")
            .text(password_hash)
            .push(" WHERE id = ")
            .int(user.0);
        self.exec().execute(&sql).await?;
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
        let mut sql = Sql::new(self.exec().dialect());
        sql.push(
            "INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at) VALUES (",
        )
        .list([
            Bind::Bytes(token.0.to_vec()),
            Bind::Int(user.0),
            Bind::Time(created_at),
            Bind::Time(expires_at),
        ])
        .push(")");
        self.exec().execute(&sql).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn login_session_user(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push(
            "SELECT u.id, u.email, u.created_at FROM login_sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = ",
        )
        .bytes(&token.0)
        .push(" AND s.expires_at > ")
        .at(now);
        let rows = self.exec().fetch(&sql, &USER_KINDS).await?;
        rows.first().map(user).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn delete_login_session(&self, token: &TokenHash) -> Result<bool, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM login_sessions WHERE token_hash = ")
            .bytes(&token.0);
        Ok(self.exec().execute(&sql).await? > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_other_login_sessions(
        &self,
        user: UserId,
        keep: &TokenHash,
    ) -> Result<u64, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM login_sessions WHERE user_id = ")
            .int(user.0)
            .push(" AND token_hash <> ")
            .bytes(&keep.0);
        self.exec().execute(&sql).await
    }

    #[tracing::instrument(skip_all)]
    async fn delete_expired_login_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM login_sessions WHERE expires_at <= ")
            .at(now);
        self.exec().execute(&sql).await
    }

    #[tracing::instrument(skip_all)]
    async fn create_share_link(
        &self,
        site: SiteId,
        token: &TokenHash,
        hint: &str,
    ) -> Result<ShareLink, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("INSERT INTO share_links (site_id, token_hash, hint, created_at) VALUES (")
            .list([
                Bind::Int(site.0),
                Bind::Bytes(token.0.to_vec()),
                Bind::Text(hint.to_owned()),
            ])
            .push(", ")
            .now()
            .push(") RETURNING ")
            .push(SHARE_LINK_COLUMNS);
        let mut tx = self.exec().begin().await?;
        let rows = tx.fetch(&sql, &SHARE_LINK_KINDS).await?;
        tx.commit().await?;
        rows.first()
            .map(share_link)
            .ok_or_else(|| StoreError::Corrupt("a new share link vanished".into()))?
    }

    #[tracing::instrument(skip_all)]
    async fn share_links(&self, site: SiteId) -> Result<Vec<ShareLink>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT ")
            .push(SHARE_LINK_COLUMNS)
            .push(" FROM share_links WHERE site_id = ")
            .int(site.0)
            .push(" ORDER BY created_at, id");
        let rows = self.exec().fetch(&sql, &SHARE_LINK_KINDS).await?;
        rows.iter().map(share_link).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_share_link(&self, site: SiteId, link: ShareLinkId) -> Result<bool, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM share_links WHERE id = ")
            .int(link.0)
            .push(" AND site_id = ")
            .int(site.0);
        Ok(self.exec().execute(&sql).await? > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn share_link_site(&self, token: &TokenHash) -> Result<Option<SiteId>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT site_id FROM share_links WHERE token_hash = ")
            .bytes(&token.0);
        let rows = self.exec().fetch(&sql, &[Kind::Int]).await?;
        rows.first().map(|row| Ok(SiteId(row.int(0)?))).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn create_api_key(
        &self,
        name: &str,
        token: &TokenHash,
        hint: &str,
        scope: &ApiKeyScope,
    ) -> Result<ApiKey, StoreError> {
        let d = self.exec().dialect();
        let mut sql = Sql::new(d);
        sql.push("INSERT INTO api_keys (name, token_hash, hint, all_sites, created_at) VALUES (")
            .list([
                Bind::Text(name.to_owned()),
                Bind::Bytes(token.0.to_vec()),
                Bind::Text(hint.to_owned()),
                Bind::Bool(matches!(scope, ApiKeyScope::AllSites)),
            ])
            .push(", ")
            .now()
            .push(") RETURNING ")
            .push(API_KEY_COLUMNS);
        let mut tx = self.exec().begin().await?;
        let rows = tx.fetch(&sql, &API_KEY_KINDS).await?;
        let (key, all_sites) = rows
            .first()
            .map(api_key)
            .ok_or_else(|| StoreError::Corrupt("a new API key vanished".into()))??;
        let mut grants = Vec::new();
        if let ApiKeyScope::Sites(sites) = scope {
            for site in sites {
                let mut grant = Sql::new(d);
                grant
                    .push("INSERT INTO api_key_sites (key_id, site_id) VALUES (")
                    .list([Bind::Int(key.id.0), Bind::Int(site.0)])
                    .push(") ON CONFLICT DO NOTHING");
                tx.execute(&grant).await?;
                grants.push((key.id, *site));
            }
        }
        tx.commit().await?;
        assemble_api_keys(vec![(key, all_sites)], &grants)
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a new API key vanished".into()))
    }

    #[tracing::instrument(skip_all)]
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT ")
            .push(API_KEY_COLUMNS)
            .push(" FROM api_keys ORDER BY created_at, id");
        let rows = self.exec().fetch(&sql, &API_KEY_KINDS).await?;
        let keys = rows.iter().map(api_key).collect::<Result<Vec<_>, _>>()?;
        Ok(assemble_api_keys(keys, &grants(self.exec(), None).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn api_key_by_token(&self, token: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT ")
            .push(API_KEY_COLUMNS)
            .push(" FROM api_keys WHERE token_hash = ")
            .bytes(&token.0);
        let rows = self.exec().fetch(&sql, &API_KEY_KINDS).await?;
        let Some((key, all_sites)) = rows.first().map(api_key).transpose()? else {
            return Ok(None);
        };
        let grants = grants(self.exec(), Some(key.id)).await?;
        Ok(assemble_api_keys(vec![(key, all_sites)], &grants).pop())
    }

    #[tracing::instrument(skip_all)]
    async fn touch_api_key(&self, key: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("UPDATE api_keys SET last_used_at = ")
            .at(at)
            .push(" WHERE id = ")
            .int(key.0);
        self.exec().execute(&sql).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_api_key(&self, key: ApiKeyId) -> Result<bool, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM api_keys WHERE id = ").int(key.0);
        Ok(self.exec().execute(&sql).await? > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn saved_segments(&self, site: SiteId) -> Result<Vec<SavedSegment>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("SELECT id, name, filters FROM saved_segments WHERE site_id = ")
            .int(site.0)
            .push(" ORDER BY name, id");
        let rows = self
            .exec()
            .fetch(&sql, &[Kind::Int, Kind::Text, Kind::Text])
            .await?;
        rows.iter()
            .map(|row| {
                let filters = serde_json::from_str(&row.string(2)?)
                    .map_err(|e| StoreError::Corrupt(format!("a saved segment's filters: {e}")))?;
                Ok(SavedSegment {
                    id: row.int(0)?,
                    name: row.string(1)?,
                    filters,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn add_saved_segment(
        &self,
        site: SiteId,
        name: &str,
        filters: &[String],
    ) -> Result<SavedSegment, StoreError> {
        let json = serde_json::to_string(filters)
            .map_err(|e| StoreError::Corrupt(format!("filters as JSON: {e}")))?;
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("INSERT INTO saved_segments (site_id, name, filters, created_at) VALUES (")
            .list([
                Bind::Int(site.0),
                Bind::Text(name.to_owned()),
                Bind::Text(json),
            ])
            .push(", ")
            .now()
            .push(") RETURNING id");
        let id = super::insert_id(self.exec(), &sql, || {
            StoreError::SegmentExists(name.to_owned())
        })
        .await?;
        Ok(SavedSegment {
            id,
            name: name.to_owned(),
            filters: filters.to_vec(),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn delete_saved_segment(&self, site: SiteId, id: i64) -> Result<bool, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM saved_segments WHERE id = ")
            .int(id)
            .push(" AND site_id = ")
            .int(site.0);
        Ok(self.exec().execute(&sql).await? > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn goals(&self, site: SiteId) -> Result<Vec<Goal>, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push(
            "SELECT name, path, event, prop_key, prop_value, currency FROM goals WHERE site_id = ",
        )
        .int(site.0)
        .push(" ORDER BY name, id");
        let rows = self.exec().fetch(&sql, &[Kind::Text; 6]).await?;
        rows.iter()
            .map(|row| {
                let name = row.string(0)?;
                let goal = match (row.text(1)?, row.text(2)?) {
                    (Some(path), _) => Goal::page(&name, &path),
                    (None, Some(event)) => {
                        let prop = match (row.text(3)?, row.text(4)?) {
                            (Some(k), Some(v)) => Some(format!("{k}={v}")),
                            _ => None,
                        };
                        Goal::event(&name, &event, prop.as_deref())
                    }
                    (None, None) => {
                        return Err(StoreError::Corrupt(format!("goal {name:?} has no target")));
                    }
                };
                let goal = match (goal, row.text(5)?) {
                    (Ok(goal), Some(currency)) => goal.with_revenue(&currency),
                    (goal, _) => goal,
                };
                goal.map_err(|e| StoreError::Corrupt(format!("goal {name:?}: {e}")))
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn add_goal(&self, site: SiteId, goal: &Goal) -> Result<(), StoreError> {
        let (path, event, key, value) = match &goal.target {
            GoalTarget::Page(pattern) => (Some(pattern.as_str()), None, None, None),
            GoalTarget::Event { name, prop } => (
                None,
                Some(name.as_str()),
                prop.as_ref().map(|(k, _)| k.as_str()),
                prop.as_ref().map(|(_, v)| v.as_str()),
            ),
        };
        let mut sql = Sql::new(self.exec().dialect());
        sql.push(
            "INSERT INTO goals (site_id, name, path, event, prop_key, prop_value, currency, \
             created_at) VALUES (",
        )
        .int(site.0)
        .push(", ")
        .text(&goal.name);
        for column in [path, event, key, value, goal.currency.as_deref()] {
            sql.push(", ");
            match column {
                Some(v) => sql.text(v),
                None => sql.push("NULL"),
            };
        }
        sql.push(", ").now().push(") RETURNING id");
        super::insert_id(self.exec(), &sql, || {
            StoreError::GoalExists(goal.name.clone())
        })
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn remove_goal(&self, site: SiteId, name: &str) -> Result<bool, StoreError> {
        let mut sql = Sql::new(self.exec().dialect());
        sql.push("DELETE FROM goals WHERE site_id = ")
            .int(site.0)
            .push(" AND name = ")
            .text(name);
        Ok(self.exec().execute(&sql).await? > 0)
    }
}
