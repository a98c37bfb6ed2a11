//! The dashboard's API keys page over HTTP, as a logged-in person: make a key (the token is
//! shown once), use it, see it listed without its token, revoke it.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::Browser;
use support::{Backend, Options, TestApp};

both_backends!(a_user_makes_a_key_sees_its_token_once_and_revokes_it);

async fn logged_in(backend: Backend) -> Option<(TestApp, Browser)> {
    let options = Options {
        sites: vec![("example.com", "UTC"), ("other.org", "UTC")],
        ..Options::default()
    };
    let app = TestApp::spawn(backend, options).await?;
    let browser = browser::log_in_owner(&app).await;
    Some((app, browser))
}

/// The first `ff_…` token in `html`.
fn token_in(html: &str) -> Option<String> {
    let start = html.find("ff_")?;
    Some(
        html[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

async fn stats_status(app: &TestApp, token: &str, site: &str) -> u16 {
    app.client
        .get(format!(
            "{}/api/v1/stats/aggregate?site={site}&period=7d",
            app.address
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status()
        .as_u16()
}

async fn a_user_makes_a_key_sees_its_token_once_and_revokes_it(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let mut anonymous = Browser::new(&app.address);
    let closed = anonymous.get("/account/api-keys").await;
    assert_eq!(closed.status, 303);
    assert!(closed.location().is_some_and(|l| l.starts_with("/login")));

    let account = browser.get("/account").await;
    assert!(account.body.contains(r#"href="/account/api-keys""#));
    let empty = browser.get("/account/api-keys").await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("No keys yet"));
    let csrf = empty.csrf_token();
    let example = app.site("example.com").await.id.0.to_string();

    // Forms need the session's CSRF token.
    let forged = browser
        .post("/account/api-keys", &[("name", "x"), ("scope", "all")])
        .await;
    assert_eq!(forged.status, 403);
    // A name, and at least one site unless it is for all of them.
    let nameless = browser
        .post(
            "/account/api-keys",
            &[("name", " "), ("scope", "all"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(nameless.status, 400);
    assert!(nameless.body.contains("The key needs a name"));
    let siteless = browser
        .post(
            "/account/api-keys",
            &[
                ("name", "report"),
                ("scope", "sites"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(siteless.status, 400);
    assert!(siteless.body.contains("Choose at least one site"));
    let unknown_site = browser
        .post(
            "/account/api-keys",
            &[
                ("name", "report"),
                ("scope", "sites"),
                ("site", "999999"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(unknown_site.status, 400);
    assert!(token_in(&unknown_site.body).is_none());
    assert!(app.store.api_keys().await.unwrap_or_default().is_empty());

    let created = browser
        .post(
            "/account/api-keys",
            &[
                ("name", "weekly <report>"),
                ("scope", "sites"),
                ("site", &example),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    assert!(created.body.contains("it is not shown again"));
    assert!(
        created.body.contains("weekly &#60;report&#62;") && !created.body.contains("<report>"),
        "the name is escaped"
    );
    let token = token_in(&created.body).unwrap_or_else(|| panic!("no token in {}", created.body));
    assert_eq!(token.len(), 46, "{token}");
    assert_eq!(stats_status(&app, &token, "example.com").await, 200);
    assert_eq!(stats_status(&app, &token, "other.org").await, 403);

    // Reloading the page shows the key by its hint only, and that it was used.
    let listed = browser.get("/account/api-keys").await;
    assert!(!listed.body.contains(&token), "the token is shown again");
    assert!(listed.body.contains(&format!("{}…", &token[..9])));
    assert!(
        listed.body.contains("<td>example.com</td>"),
        "{}",
        listed.body
    );
    assert!(
        !listed.body.contains("<td>never</td>"),
        "the use is not shown"
    );
    assert!(!listed.body.contains("it is not shown again"));

    let all = browser
        .post(
            "/account/api-keys",
            &[
                ("name", "everything"),
                ("scope", "all"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(all.status, 200);
    let all_token = token_in(&all.body).unwrap_or_default();
    assert_ne!(all_token, token);
    assert!(all.body.contains("<td>all sites</td>"));
    assert_eq!(stats_status(&app, &all_token, "other.org").await, 200);

    let keys = app.store.api_keys().await.unwrap_or_else(|e| panic!("{e}"));
    let id = keys
        .iter()
        .find(|k| k.name == "weekly <report>")
        .map(|k| k.id.0)
        .unwrap_or_else(|| panic!("{keys:?}"));
    let path = format!("/account/api-keys/{id}/revoke");
    assert_eq!(
        browser.post(&path, &[]).await.status,
        403,
        "revoke without CSRF"
    );
    let revoked = browser.post(&path, &[("csrf_token", &csrf)]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(revoked.location(), Some("/account/api-keys"));
    assert_eq!(stats_status(&app, &token, "example.com").await, 401);
    assert_eq!(stats_status(&app, &all_token, "example.com").await, 200);
    let after = browser.get("/account/api-keys").await;
    assert!(!after.body.contains("weekly &#60;report&#62;"));
    assert!(after.body.contains("everything"));
    assert_eq!(
        browser.post(&path, &[("csrf_token", &csrf)]).await.status,
        404
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
