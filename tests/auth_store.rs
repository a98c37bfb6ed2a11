//! The `AuthStore` contract on both backends, through the trait alone (plus raw SQL where the
//! point is what the schema does on its own: cascades).

mod support;

use chrono::{TimeDelta, Utc};
use footfall::auth::share;
use footfall::domain::{Email, SiteId};
use footfall::store::{DynStore, ShareLink, ShareLinkId, StoreError, TokenHash};
use support::{Backend, TestDb, add_site, open_store};

both_backends!(
    users_are_unique_by_email_whatever_its_case,
    the_first_user_can_only_be_added_to_an_empty_table,
    login_sessions_are_found_by_token_hash_until_they_expire_or_end,
    share_links_resolve_to_their_site_until_revoked,
    share_links_and_sessions_go_with_their_site_or_user,
);

fn email(s: &str) -> Email {
    Email::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh store with example.com and other.org.
async fn two_sites(backend: Backend) -> Option<(DynStore, TestDb, SiteId, SiteId)> {
    let (store, db) = open_store(backend).await?;
    let site = add_site(&store, "example.com", "UTC").await.id;
    let other = add_site(&store, "other.org", "UTC").await.id;
    Some((store, db, site, other))
}

/// A new share link of `site` and its token.
async fn create_link(store: &DynStore, site: SiteId) -> (ShareLink, String) {
    share::create_link(store.as_ref(), site)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn users_are_unique_by_email_whatever_its_case(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    assert_eq!(store.count_users().await.unwrap_or(-1), 0);
    let ann = store
        .add_user(&email("Ann@Example.com"), "$argon2id$hash-a")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ann.email.as_str(), "ann@example.com");
    assert!(matches!(
        store.add_user(&email("ANN@example.COM"), "$argon2id$hash-b").await,
        Err(StoreError::UserExists(e)) if e == "ann@example.com"
    ));
    store
        .add_user(&email("bob@example.com"), "$argon2id$hash-c")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.count_users().await.unwrap_or(-1), 2);
    let listed: Vec<String> = store
        .list_users()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|u| u.email.to_string())
        .collect();
    assert_eq!(listed, ["ann@example.com", "bob@example.com"]);

    let found = store
        .user_credentials(&email("ann@EXAMPLE.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("ann not found"));
    assert_eq!(found.user, ann);
    assert_eq!(found.password_hash, "$argon2id$hash-a");
    assert!(
        store
            .user_credentials(&email("nobody@example.com"))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );

    store
        .set_password_hash(ann.id, "$argon2id$hash-new")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let changed = store
        .user_credentials(&ann.email)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|c| c.password_hash);
    assert_eq!(changed.as_deref(), Some("$argon2id$hash-new"));
    db.cleanup().await;
}

async fn the_first_user_can_only_be_added_to_an_empty_table(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    // Two setup forms submitted at the same moment: exactly one wins.
    let (ann, bob) = (email("ann@example.com"), email("bob@example.com"));
    let (a, b) = tokio::join!(
        store.add_first_user(&ann, "h1"),
        store.add_first_user(&bob, "h2"),
    );
    let a = a.unwrap_or_else(|e| panic!("{e}"));
    let b = b.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        usize::from(a.is_some()) + usize::from(b.is_some()),
        1,
        "{a:?} {b:?}"
    );
    assert_eq!(store.count_users().await.unwrap_or(-1), 1);
    let later = store
        .add_first_user(&email("eve@example.com"), "h3")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(later.is_none());
    db.cleanup().await;
}

async fn login_sessions_are_found_by_token_hash_until_they_expire_or_end(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let ann = store
        .add_user(&email("ann@example.com"), "h")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = Utc::now();
    let (live, expired, other) = (
        TokenHash::of("live"),
        TokenHash::of("expired"),
        TokenHash::of("other"),
    );
    for (token, expires) in [
        (&live, now + TimeDelta::days(30)),
        (&expired, now - TimeDelta::seconds(1)),
        (&other, now + TimeDelta::days(30)),
    ] {
        store
            .create_login_session(token, ann.id, now - TimeDelta::days(1), expires)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let user = |token| {
        let store = store.clone();
        async move {
            store
                .login_session_user(&token, Utc::now())
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    assert_eq!(user(live).await.map(|u| u.id), Some(ann.id));
    assert!(
        user(expired).await.is_none(),
        "expired sessions are not returned"
    );
    assert!(user(TokenHash::of("never issued")).await.is_none());

    assert_eq!(
        store.delete_expired_login_sessions(now).await.unwrap_or(0),
        1
    );
    assert_eq!(
        store
            .delete_other_login_sessions(ann.id, &live)
            .await
            .unwrap_or(0),
        1
    );
    assert!(user(other).await.is_none());
    assert!(user(live).await.is_some());
    assert!(store.delete_login_session(&live).await.unwrap_or(false));
    assert!(!store.delete_login_session(&live).await.unwrap_or(true));
    assert!(user(live).await.is_none());
    db.cleanup().await;
}

async fn share_links_resolve_to_their_site_until_revoked(backend: Backend) {
    let Some((store, db, site, other)) = two_sites(backend).await else {
        return;
    };
    let (link, token) = create_link(&store, site).await;
    let (second, second_token) = create_link(&store, site).await;
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_ne!(token, second_token);
    assert_eq!(link.site_id, site);
    assert_eq!(link.hint, token[..6]);

    let resolve = |t: String| {
        let store = store.clone();
        async move {
            share::site_for_token(store.as_ref(), &t)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    assert_eq!(resolve(token.clone()).await, Some(site));
    assert_eq!(resolve("x".repeat(43)).await, None);
    assert_eq!(resolve("../../etc/passwd".into()).await, None);
    let listed = store.share_links(site).await.unwrap_or_default();
    assert_eq!(listed, vec![link.clone(), second.clone()]);
    assert!(
        store
            .share_links(other)
            .await
            .unwrap_or_default()
            .is_empty()
    );

    // Another site's owner cannot revoke it by id; its own owner can.
    assert!(
        !store
            .revoke_share_link(other, link.id)
            .await
            .unwrap_or(true)
    );
    assert_eq!(resolve(token.clone()).await, Some(site));
    assert!(
        store
            .revoke_share_link(site, link.id)
            .await
            .unwrap_or(false)
    );
    assert_eq!(resolve(token).await, None);
    assert_eq!(resolve(second_token).await, Some(site));
    assert!(
        !store
            .revoke_share_link(site, ShareLinkId(i64::MAX))
            .await
            .unwrap_or(true)
    );
    db.cleanup().await;
}

/// Runs `sql` on the test database directly, as an operator with a SQL shell would.
async fn execute(db: &TestDb, sql: &'static str) {
    use footfall::store::{PostgresStore, SqliteStore};
    let done = match db.backend {
        Backend::Sqlite => match SqliteStore::connect(&db.url).await {
            Ok(store) => sqlx::query(sql).execute(store.pool()).await.map(drop),
            Err(e) => panic!("{e}"),
        },
        Backend::Postgres => match PostgresStore::connect(&db.url).await {
            Ok(store) => sqlx::query(sql).execute(store.pool()).await.map(drop),
            Err(e) => panic!("{e}"),
        },
    };
    done.unwrap_or_else(|e| panic!("{e}"));
}

async fn share_links_and_sessions_go_with_their_site_or_user(backend: Backend) {
    let Some((store, db, site, kept)) = two_sites(backend).await else {
        return;
    };
    let (_, token) = create_link(&store, site).await;
    let (_, kept_token) = create_link(&store, kept).await;
    execute(&db, "DELETE FROM sites WHERE domain = 'example.com'").await;
    assert_eq!(
        share::site_for_token(store.as_ref(), &token)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        None
    );
    assert!(store.share_links(site).await.unwrap_or_default().is_empty());
    assert_eq!(
        share::site_for_token(store.as_ref(), &kept_token)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some(kept)
    );

    let ann = store
        .add_user(&email("ann@example.com"), "h")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let session = TokenHash::of("session");
    let now = Utc::now();
    store
        .create_login_session(&session, ann.id, now, now + TimeDelta::days(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    execute(&db, "DELETE FROM users WHERE email = 'ann@example.com'").await;
    assert!(
        store
            .login_session_user(&session, now)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    assert!(!store.delete_login_session(&session).await.unwrap_or(true));
    db.cleanup().await;
}
