//! Plausible's snippets and senders against footfall (issue 15): `/api/event` stores what
//! Plausible's trackers and server-side senders post the same as footfall's own payload, field
//! by field; its bad values get a 400 naming the field; every script name a Plausible snippet
//! may use is served (and an unknown one is a 404 saying what is).

mod support;

use footfall::store::StoredEvent;
use support::{Backend, CHROME_UA, Options, TestApp};

both_backends!(
    plausible_payloads_are_stored_as_footfall_payloads_are,
    plausible_fields_with_bad_values_are_refused_naming_the_field,
    every_plausible_script_name_is_served_and_unknown_ones_are_a_clear_404,
);

/// What an event says about the page and the visit, without its row's identity.
type Seen = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<serde_json::Value>,
    Option<i64>,
    Option<String>,
);

fn seen(e: &StoredEvent) -> Seen {
    (
        e.name.clone(),
        e.hostname.clone(),
        e.path.clone(),
        e.referrer_source.clone(),
        e.utm_source.clone(),
        e.utm_campaign.clone(),
        e.viewport_width,
        e.props.clone(),
        e.revenue_micros,
        e.revenue_currency.clone(),
    )
}

/// Posts each body, waits for them all, and returns what was stored, oldest first.
async fn store_all(app: &TestApp, bodies: &[&str]) -> Vec<StoredEvent> {
    for body in bodies {
        let response = app.post_event(body, CHROME_UA).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 202, "{body}: {text}");
    }
    let mut events = app.wait_for_events("example.com", bodies.len()).await;
    events.sort_by_key(|e| e.id);
    events
}

async fn plausible_payloads_are_stored_as_footfall_payloads_are(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    // Each Plausible body beside the footfall body it must be stored as.
    let pairs: [(&str, &str); 9] = [
        // Plausible's trackers send location.href: the fragment is an anchor unless `h` is 1.
        (
            r#"{"n":"pageview","u":"https://example.com/docs?utm_source=news&utm_campaign=spring#install","d":"example.com","r":"https://news.ycombinator.com/item?id=1","w":1280,"v":27}"#,
            r#"{"n":"pageview","u":"https://example.com/docs?utm_source=news&utm_campaign=spring","d":"example.com","r":"https://news.ycombinator.com/item?id=1","w":1280}"#,
        ),
        // Hash mode, as script.hash.js and Plausible's hash trackers send it.
        (
            r#"{"n":"pageview","u":"https://example.com/app#/settings","d":"example.com","h":1}"#,
            r##"{"n":"pageview","u":"https://example.com/app#/settings","d":"example.com","h":true}"##,
        ),
        // The Events API's long names, as server-side senders post them.
        (
            r#"{"name":"Signup","url":"https://example.com/signup","domain":"example.com","referrer":"https://www.google.com/","screen_width":390,"props":{"plan":"pro","seats":3}}"#,
            r#"{"n":"Signup","u":"https://example.com/signup","d":"example.com","r":"https://www.google.com/","w":390,"p":{"plan":"pro","seats":3}}"#,
        ),
        // Older trackers: props as a JSON string in m (meta) or p.
        (
            r#"{"n":"Download","u":"https://example.com/files","d":"example.com","m":"{\"file\":\"a.pdf\"}"}"#,
            r#"{"n":"Download","u":"https://example.com/files","d":"example.com","p":{"file":"a.pdf"}}"#,
        ),
        (
            r#"{"n":"Upgrade","u":"https://example.com/billing","d":"example.com","p":"{\"plan\":\"team\",\"annual\":true}","props":{"ignored":"p came first"}}"#,
            r#"{"n":"Upgrade","u":"https://example.com/billing","d":"example.com","p":{"plan":"team","annual":true}}"#,
        ),
        // revenue as Plausible names it; footfall's own field is $.
        (
            r#"{"n":"Purchase","u":"https://example.com/checkout","d":"example.com","revenue":{"amount":12.5,"currency":"eur"},"p":{"order":"1"}}"#,
            r#"{"n":"Purchase","u":"https://example.com/checkout","d":"example.com","$":{"amount":12.5,"currency":"EUR"},"p":{"order":"1"}}"#,
        ),
        // i (interactive) and fields nobody here knows are ignored, not refused.
        (
            r#"{"n":"Scrolled","u":"https://example.com/long","d":"example.com","i":false,"interactive":false,"v":3,"sd":40,"x-custom":{"a":[1]}}"#,
            r#"{"n":"Scrolled","u":"https://example.com/long","d":"example.com"}"#,
        ),
        // data-domain="a.com,b.com" names several sites; footfall stores it for the first it
        // knows, and a leading www. finds the site registered without it.
        (
            r#"{"n":"pageview","u":"https://www.example.com/multi","d":"unknown.org, www.example.com"}"#,
            r#"{"n":"pageview","u":"https://www.example.com/multi","d":"example.com"}"#,
        ),
        // An empty props string is no props, as Plausible reads it.
        (
            r#"{"n":"Empty","u":"https://example.com/e","d":"example.com","m":"","p":null}"#,
            r#"{"n":"Empty","u":"https://example.com/e","d":"example.com"}"#,
        ),
    ];
    let plausible: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    let footfall: Vec<&str> = pairs.iter().map(|p| p.1).collect();
    let stored = store_all(&app, &[plausible, footfall].concat()).await;
    let (theirs, ours) = stored.split_at(pairs.len());
    for ((a, b), (body, _)) in theirs.iter().zip(ours).zip(&pairs) {
        assert_eq!(seen(a), seen(b), "{body}");
        assert_eq!(a.visitor_id, b.visitor_id, "{body}");
    }

    // And what that is, field by field.
    let props = |v: serde_json::Value| Some(v);
    let s = |v: &str| Some(v.to_owned());
    let expected: Vec<Seen> = vec![
        (
            "pageview".into(),
            "example.com".into(),
            "/docs".into(),
            s("Hacker News"),
            s("news"),
            s("spring"),
            Some(1280),
            None,
            None,
            None,
        ),
        (
            "pageview".into(),
            "example.com".into(),
            "/app#/settings".into(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ),
        (
            "Signup".into(),
            "example.com".into(),
            "/signup".into(),
            s("Google"),
            None,
            None,
            Some(390),
            props(serde_json::json!({"plan": "pro", "seats": "3"})),
            None,
            None,
        ),
        (
            "Download".into(),
            "example.com".into(),
            "/files".into(),
            None,
            None,
            None,
            None,
            props(serde_json::json!({"file": "a.pdf"})),
            None,
            None,
        ),
        (
            "Upgrade".into(),
            "example.com".into(),
            "/billing".into(),
            None,
            None,
            None,
            None,
            props(serde_json::json!({"annual": "true", "plan": "team"})),
            None,
            None,
        ),
        (
            "Purchase".into(),
            "example.com".into(),
            "/checkout".into(),
            None,
            None,
            None,
            None,
            props(serde_json::json!({"order": "1"})),
            Some(12_500_000),
            s("EUR"),
        ),
        (
            "Scrolled".into(),
            "example.com".into(),
            "/long".into(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ),
        (
            "pageview".into(),
            "www.example.com".into(),
            "/multi".into(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ),
        (
            "Empty".into(),
            "example.com".into(),
            "/e".into(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ),
    ];
    assert_eq!(theirs.iter().map(seen).collect::<Vec<_>>(), expected);
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn plausible_fields_with_bad_values_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let page = r#""u":"https://example.com/","d":"example.com""#;
    let cases: Vec<(String, u16, &str)> = vec![
        (format!(r#"{{{page}}}"#), 400, "missing field `n`"),
        (
            r#"{"name":"pageview","domain":"example.com"}"#.into(),
            400,
            "missing field `u`",
        ),
        (
            r#"{"name":"pageview","url":"https://example.com/"}"#.into(),
            400,
            "missing field `d`",
        ),
        (
            format!(r#"{{"n":"pageview",{page},"h":2}}"#),
            400,
            "field h",
        ),
        (
            format!(r#"{{"n":"pageview",{page},"hashMode":"yes"}}"#),
            400,
            "field h",
        ),
        (
            format!(r#"{{"n":"pageview",{page},"i":"no"}}"#),
            400,
            "field i (interactive)",
        ),
        (
            format!(r#"{{"n":"pageview",{page},"m":"not json"}}"#),
            400,
            "field m (props)",
        ),
        (
            format!(r#"{{"n":"pageview",{page},"props":[1,2]}}"#),
            400,
            "field props (props)",
        ),
        (
            format!(r#"{{"n":"pageview",{page},"p":"{{\"a\":{{\"b\":1}}}}"}}"#),
            400,
            "must be a string, number or boolean",
        ),
        (
            format!(r#"{{"n":"pageview",{page},"screen_width":"wide"}}"#),
            400,
            "field screen_width",
        ),
        (
            format!(r#"{{"n":"Buy",{page},"revenue":{{"amount":-1,"currency":"EUR"}}}}"#),
            400,
            "field $.amount",
        ),
        (
            r#"{"n":"pageview","u":"https://example.com/","d":"nowhere.org,other.org"}"#.into(),
            404,
            "unknown site \"nowhere.org\"",
        ),
    ];
    for (body, status, message) in &cases {
        let response = app.post_event(body, CHROME_UA).await;
        assert_eq!(response.status(), *status, "{body}");
        let json: serde_json::Value = response.json().await.unwrap_or_default();
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{body}: {error}");
    }
    let site = app.site("example.com").await;
    let (_, store, db) = app.stop().await;
    assert_eq!(store.count_events(site.id).await.unwrap_or(-1), 0);
    db.cleanup().await;
}

async fn every_plausible_script_name_is_served_and_unknown_ones_are_a_clear_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let get = |path: String| {
        app.client
            .get(format!("{}{path}", app.address))
            .header("Accept-Encoding", "identity")
            .send()
    };
    let etag = |r: &reqwest::Response| {
        r.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut etags = std::collections::HashMap::new();
    for name in [
        "script.js",
        "plausible.js",
        "script.hash.js",
        "script.outbound-links.js",
        "script.file-downloads.js",
        "script.tagged-events.js",
        "script.manual.js",
        "script.pageview-props.js",
        "script.exclusions.js",
        "script.hash.outbound-links.js",
        "script.outbound-links.hash.js",
        "plausible.outbound-links.hash.js",
        "script.compat.local.revenue.js",
        "script.local.js",
        "script.tagged-events.revenue.file-downloads.outbound-links.hash.manual.exclusions.pageview-props.compat.local.js",
        "pa-gYyxvZhkMzdzXBAtSeSNz.js",
    ] {
        let response = get(format!("/js/{name}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 200, "{name}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("application/javascript"),
            "{name}"
        );
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        etags.insert(name, etag(&response));
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains("/api/event"), "{name}");
        assert!(
            body.contains("plausible"),
            "{name}: answers to window.plausible"
        );
    }
    // The same extensions in another order are the same file; the ones footfall has no
    // behaviour for change nothing.
    assert_eq!(
        etags["script.hash.outbound-links.js"],
        etags["script.outbound-links.hash.js"]
    );
    assert_eq!(
        etags["script.hash.outbound-links.js"],
        etags["plausible.outbound-links.hash.js"]
    );
    assert_eq!(
        etags["script.local.js"],
        etags["script.compat.local.revenue.js"]
    );
    assert_eq!(etags["script.js"], etags["plausible.js"]);
    assert_ne!(etags["script.js"], etags["script.local.js"]);
    assert_ne!(etags["script.hash.js"], etags["script.manual.js"]);

    for (path, message) in [
        (
            "/js/script.hash.bogus.js",
            "unknown script extension \"bogus\"",
        ),
        ("/js/other.js", "no such script"),
        ("/js/pa-.js", "per-site script"),
    ] {
        let response = get(path.to_owned()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 404, "{path}");
        let json: serde_json::Value = response.json().await.unwrap_or_default();
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{path}: {error}");
    }

    // Umami's snippet names /script.js at the root.
    let umami = get("/script.js".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(umami.status(), 200);
    let body = umami.text().await.unwrap_or_default();
    assert!(
        body.contains("/api/send") && body.contains("umami"),
        "{body}"
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
