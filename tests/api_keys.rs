//! API keys on both backends: the `AuthStore` contract (hashing, scopes, revocation, cascades)
//! and `footfall apikey create/list/revoke` run as a user would.

mod support;

use chrono::{TimeDelta, Utc};
use footfall::auth::api_key;
use footfall::domain::SiteId;
use footfall::store::{ApiKeyScope, TokenHash};
use support::{Backend, TestDb, add_site, footfall, open_store, text};

both_backends!(
    a_key_is_found_by_its_token_only_until_it_is_revoked,
    a_scoped_key_loses_a_deleted_site_and_never_widens_to_all_sites,
    apikey_create_list_and_revoke_work_from_the_command_line,
);

async fn a_key_is_found_by_its_token_only_until_it_is_revoked(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let site = add_site(&store, "example.com", "UTC").await.id;
    let scope = ApiKeyScope::Sites(vec![site]);
    let (key, token) = api_key::create_key(store.as_ref(), "report", &scope)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(token.starts_with("ff_") && token.len() == 46, "{token}");
    assert!(token.starts_with(&key.hint) && key.hint.len() == 9);
    assert_eq!((key.name.as_str(), &key.scope), ("report", &scope));
    assert_eq!(key.last_used_at, None);

    // Only the hash is stored: the token's text is nowhere in the table.
    let listed = store.api_keys().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed, vec![key.clone()]);
    assert!(
        store
            .api_key_by_token(&TokenHash::of(&token))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );

    let now = Utc::now();
    let found = api_key::key_for_token(store.as_ref(), &token, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the key is not found by its token"));
    assert_eq!(found.id, key.id);
    assert!(found.scope.allows(site) && !found.scope.allows(SiteId(site.0 + 1)));
    let used = store.api_keys().await.unwrap_or_default()[0].last_used_at;
    assert_eq!(used.map(|t| t.timestamp()), Some(now.timestamp()));
    // Within a minute the use is not written again.
    api_key::key_for_token(store.as_ref(), &token, now + TimeDelta::seconds(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = store.api_keys().await.unwrap_or_default()[0].last_used_at;
    assert_eq!(again, used);

    for wrong in [
        "",
        "ff_",
        &token[3..],
        &format!("{}x", &token[..45]),
        &token.to_uppercase(),
    ] {
        assert!(
            api_key::key_for_token(store.as_ref(), wrong, now)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none(),
            "{wrong:?} opened the key"
        );
    }

    assert!(store.revoke_api_key(key.id).await.unwrap_or(false));
    assert!(!store.revoke_api_key(key.id).await.unwrap_or(true));
    assert!(
        api_key::key_for_token(store.as_ref(), &token, now)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    assert!(store.api_keys().await.unwrap_or_default().is_empty());
    db.cleanup().await;
}

async fn a_scoped_key_loses_a_deleted_site_and_never_widens_to_all_sites(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let gone = add_site(&store, "example.com", "UTC").await.id;
    let kept = add_site(&store, "other.org", "UTC").await.id;
    let (both, _) = api_key::create_key(
        store.as_ref(),
        "both",
        &ApiKeyScope::Sites(vec![kept, gone, kept]),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(both.scope, ApiKeyScope::Sites(vec![gone, kept]));
    let (only_gone, token) =
        api_key::create_key(store.as_ref(), "gone", &ApiKeyScope::Sites(vec![gone]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let (all, _) = api_key::create_key(store.as_ref(), "all", &ApiKeyScope::AllSites)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    store
        .delete_site(gone)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let keys = store.api_keys().await.unwrap_or_else(|e| panic!("{e}"));
    let scope_of = |id| {
        keys.iter()
            .find(|k| k.id == id)
            .map(|k| k.scope.clone())
            .unwrap_or_else(|| panic!("key {id:?} vanished"))
    };
    assert_eq!(scope_of(both.id), ApiKeyScope::Sites(vec![kept]));
    assert_eq!(scope_of(only_gone.id), ApiKeyScope::Sites(vec![]));
    assert_eq!(scope_of(all.id), ApiKeyScope::AllSites);
    let found = api_key::key_for_token(store.as_ref(), &token, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("key gone"));
    assert!(!found.scope.allows(kept));
    db.cleanup().await;
}

async fn apikey_create_list_and_revoke_work_from_the_command_line(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    for domain in ["example.com", "other.org"] {
        assert!(footfall(&db, &["site", "add", domain]).status.success());
    }
    let empty = footfall(&db, &["apikey", "list"]);
    assert!(text(&empty.stdout).contains("no API keys yet"));

    let scoped = footfall(
        &db,
        &[
            "apikey",
            "create",
            "--name",
            "weekly report",
            "--site",
            "Example.com",
        ],
    );
    assert!(scoped.status.success(), "{}", text(&scoped.stderr));
    let token = text(&scoped.stdout).trim().to_owned();
    assert!(
        token.starts_with("ff_") && token.len() == 46,
        "stdout is the token alone: {token:?}"
    );
    assert!(text(&scoped.stderr).contains("for example.com"));

    let all = footfall(&db, &["apikey", "create", "--name", "everything"]);
    assert!(all.status.success(), "{}", text(&all.stderr));
    assert!(text(&all.stderr).contains("for all sites"));

    let unknown = footfall(
        &db,
        &["apikey", "create", "--name", "x", "--site", "nope.org"],
    );
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no site nope.org"));
    let nameless = footfall(&db, &["apikey", "create", "--name", "  "]);
    assert!(!nameless.status.success());
    assert!(text(&nameless.stderr).contains("name"));

    let list = text(&footfall(&db, &["apikey", "list"]).stdout);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].contains("weekly report") && lines[0].contains("\texample.com\t"));
    assert!(lines[0].contains(&format!("{}…", &token[..9])), "{list}");
    assert!(!list.contains(&token), "list shows the whole token");
    assert!(lines[0].ends_with("never used"));
    assert!(lines[1].contains("everything") && lines[1].contains("all sites"));

    let id = lines[0].split('\t').next().unwrap_or_default();
    let revoked = footfall(&db, &["apikey", "revoke", id]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert!(text(&revoked.stdout).contains(&format!("revoked API key {id}")));
    let again = footfall(&db, &["apikey", "revoke", id]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains(&format!("no API key {id}")));
    let list = text(&footfall(&db, &["apikey", "list"]).stdout);
    assert_eq!(list.lines().count(), 1, "{list}");

    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        api_key::key_for_token(store.as_ref(), &token, Utc::now())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    db.cleanup().await;
}
