//! Who may ask the stats API and what it refuses, over HTTP on both backends: keys and their
//! sites (401/403 without leaking which sites exist), and a 400 naming every bad parameter.
//! (Hostile text in every parameter: `tests/api_hostile.rs`.)

#[path = "support/api_client.rs"]
mod api_client;
mod support;

use api_client::Api;
use footfall::auth::api_key;
use footfall::store::ApiKeyScope;
use serde_json::Value;
use support::Backend;
use support::known::{A, B};

both_backends!(
    a_request_needs_a_valid_key_that_opens_the_site,
    every_bad_parameter_gets_a_400_that_names_it,
);

async fn a_request_needs_a_valid_key_that_opens_the_site(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let store = api.app.store.clone();
    let other = api.app.site("other.org").await;
    let (scoped, scoped_token) = api_key::create_key(
        store.as_ref(),
        "other only",
        &ApiKeyScope::Sites(vec![other.id]),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let ask = |key: Option<String>, site: &'static str| {
        let api = &api;
        async move {
            api.get_as(
                key.as_deref(),
                "stats/aggregate",
                &[("site", site), ("period", "7d")],
            )
            .await
        }
    };
    let bearer = |token: &str| Some(format!("Bearer {token}"));

    let none = ask(None, "example.com").await;
    assert_eq!(none.status, 401);
    assert!(
        none.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("missing API key")
    );
    assert_eq!(
        none.www_authenticate.as_deref(),
        Some("Bearer realm=\"footfall\"")
    );
    assert_eq!(none.cache_control, "no-store");
    for malformed in [
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer".to_owned(),
        "Bearer   ".to_owned(),
        api.key.clone(),
        format!("Token {}", api.key),
    ] {
        let reply = ask(Some(malformed.clone()), "example.com").await;
        assert_eq!(reply.status, 401, "{malformed:?}");
        assert!(
            reply.body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("malformed")
        );
    }
    for wrong in [
        "ff_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ff_short",
        &api.key[..45],
        &api.key.to_uppercase(),
        "' OR 1=1 --",
    ] {
        let reply = ask(bearer(wrong), "example.com").await;
        assert_eq!(reply.status, 401, "{wrong:?}");
        assert_eq!(reply.body["error"], "invalid or revoked API key");
    }
    // A key is checked before the parameters: no hints for someone without one.
    let reply = api
        .get_as(
            None,
            "stats/breakdown",
            &[("site", "nope.org"), ("limit", "x")],
        )
        .await;
    assert_eq!(reply.status, 401);

    // The scheme is case-insensitive.
    let lower = ask(Some(format!("bearer {}", api.key)), "example.com").await;
    assert_eq!(lower.status, 200, "{}", lower.body);
    // The scoped key opens its site only; a site it does not open and a site that does not
    // exist get the same answer.
    assert_eq!(ask(bearer(&scoped_token), "other.org").await.status, 200);
    let out_of_scope = ask(bearer(&scoped_token), "example.com").await;
    let missing = ask(bearer(&scoped_token), "nope.org").await;
    assert_eq!((out_of_scope.status, missing.status), (403, 403));
    assert_eq!(
        out_of_scope.body["error"],
        "this API key has no access to site example.com"
    );
    assert_eq!(
        missing.body.to_string().replace("nope.org", "example.com"),
        out_of_scope.body.to_string()
    );
    assert_eq!(missing.cache_control, "no-store");
    // An all-sites key opens every site, but still gets no word on sites that do not exist.
    assert_eq!(ask(bearer(&api.key), "other.org").await.status, 200);
    let all_missing = ask(bearer(&api.key), "nope.org").await;
    assert_eq!(all_missing.status, 403);
    assert_eq!(all_missing.body, missing.body);
    for (endpoint, extra) in [
        ("stats/timeseries", ("interval", "day")),
        ("stats/breakdown", ("property", "page")),
    ] {
        let reply = api
            .get_as(
                bearer(&scoped_token).as_deref(),
                endpoint,
                &[("site", "example.com"), extra],
            )
            .await;
        assert_eq!(reply.status, 403, "{endpoint}");
    }
    // Uses are recorded.
    let listed = store.api_keys().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        listed.iter().all(|k| k.last_used_at.is_some()),
        "{listed:?}"
    );

    // Revoked: 401 from then on.
    assert!(store.revoke_api_key(scoped.id).await.unwrap_or(false));
    let revoked = ask(bearer(&scoped_token), "other.org").await;
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.body["error"], "invalid or revoked API key");

    // The description needs no key; other methods get a JSON 405.
    let doc = api.get_as(None, "openapi.json", &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    for endpoint in ["aggregate", "timeseries", "breakdown"] {
        let path = format!("/api/v1/stats/{endpoint}");
        assert!(doc.body["paths"][&path]["get"].is_object(), "{path}");
    }
    assert_eq!(
        doc.body,
        serde_json::from_str::<Value>(footfall::api::openapi::DOCUMENT).unwrap_or_default()
    );
    let post = api
        .app
        .client
        .post(format!("{}/api/v1/stats/aggregate", api.app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(post.status().as_u16(), 405);
    api.stop().await;
}

/// (endpoint, query pairs, the parameter the 400 must name)
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

async fn every_bad_parameter_gets_a_400_that_names_it(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let site = ("site", "example.com");
    let cases: Vec<Case> = vec![
        ("stats/aggregate", vec![], "site"),
        (
            "stats/aggregate",
            vec![("site", "https://example.com/")],
            "site",
        ),
        ("stats/aggregate", vec![site, ("site", "other.org")], "site"),
        ("stats/aggregate", vec![site, ("sites", "x")], "sites"),
        ("stats/aggregate", vec![site, ("f", "page:is:/")], "f"),
        (
            "stats/aggregate",
            vec![site, ("period", "forever")],
            "period",
        ),
        ("stats/aggregate", vec![site, ("period", "")], "period"),
        (
            "stats/aggregate",
            vec![site, ("from", "2026-06-31"), ("to", B)],
            "from",
        ),
        (
            "stats/aggregate",
            vec![site, ("from", A), ("to", "tomorrow")],
            "to",
        ),
        ("stats/aggregate", vec![site, ("from", A)], "to"),
        (
            "stats/aggregate",
            vec![site, ("period", "custom"), ("to", B)],
            "from",
        ),
        ("stats/aggregate", vec![site, ("from", B), ("to", A)], "to"),
        (
            "stats/aggregate",
            vec![site, ("period", "7d"), ("from", A)],
            "from",
        ),
        (
            "stats/aggregate",
            vec![site, ("from", "1969-12-31"), ("to", A)],
            "from",
        ),
        (
            "stats/aggregate",
            vec![site, ("from", "2000-01-01"), ("to", A)],
            "to",
        ),
        (
            "stats/aggregate",
            vec![site, ("metrics", "visitors,uniques")],
            "metrics",
        ),
        ("stats/aggregate", vec![site, ("metrics", "")], "metrics"),
        (
            "stats/aggregate",
            vec![site, ("filters", "planet:is:mars")],
            "filters",
        ),
        (
            "stats/aggregate",
            vec![site, ("filters", "page:like:/")],
            "filters",
        ),
        (
            "stats/aggregate",
            vec![site, ("filters", "page")],
            "filters",
        ),
        (
            "stats/aggregate",
            vec![site, ("property", "page")],
            "property",
        ),
        ("stats/aggregate", vec![site, ("limit", "10")], "limit"),
        (
            "stats/timeseries",
            vec![site, ("interval", "week")],
            "interval",
        ),
        (
            "stats/timeseries",
            vec![site, ("period", "12mo"), ("interval", "hour")],
            "interval",
        ),
        (
            "stats/timeseries",
            vec![site, ("metrics", "bounce_rate,bounces")],
            "metrics",
        ),
        ("stats/breakdown", vec![site], "property"),
        (
            "stats/breakdown",
            vec![site, ("property", "pages")],
            "property",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "prop:")],
            "property",
        ),
        (
            "stats/breakdown",
            vec![
                site,
                ("property", "page"),
                ("metrics", "visit_duration,time"),
            ],
            "metrics",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("limit", "0")],
            "limit",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("limit", "1001")],
            "limit",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("limit", "ten")],
            "limit",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("page", "0")],
            "page",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("page", "4294967296")],
            "page",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("interval", "day")],
            "interval",
        ),
    ];
    for (endpoint, pairs, parameter) in cases {
        let reply = api.get(endpoint, &pairs).await;
        assert_eq!(reply.status, 400, "{endpoint} {pairs:?}: {}", reply.body);
        assert_eq!(reply.body["parameter"], parameter, "{endpoint} {pairs:?}");
        let error = reply.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(parameter), "{endpoint} {pairs:?}: {error}");
        assert_eq!(reply.cache_control, "no-store");
    }
    // Eleven filters are too many.
    let mut pairs = vec![site];
    let many: Vec<String> = (0..11).map(|i| format!("page:is:/{i}")).collect();
    pairs.extend(many.iter().map(|f| ("filters", f.as_str())));
    let reply = api.get("stats/aggregate", &pairs).await;
    assert_eq!(
        (reply.status, &reply.body["parameter"]),
        (400, &Value::from("filters"))
    );
    api.stop().await;
}
