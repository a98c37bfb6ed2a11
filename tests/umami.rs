//! Umami's snippet and senders against footfall (issue 15): `footfall site add|set --umami-id`
//! maps an Umami website id to a site, and `POST /api/send` stores Umami's event payload for
//! it, field by field, as `/api/event` would; bots, unknown ids and bad values are answered as
//! the contract says.

mod support;

use footfall::store::StoredEvent;
use serde_json::{Value, json};
use support::{Backend, CHROME_UA, Options, TestApp, TestDb, footfall, text};

both_backends!(
    umami_ids_are_added_set_listed_and_refused_when_bad_or_taken,
    umami_events_posted_to_api_send_are_stored_field_by_field,
    api_send_answers_bots_unknown_ids_and_bad_values_as_umami_clients_expect,
);

const ID: &str = "94db1cb1-74f4-4a40-ad6c-962362670409";
const OTHER_ID: &str = "0f6c1c2e-3b1a-4c5d-9e8f-112233445566";

async fn umami_ids_are_added_set_listed_and_refused_when_bad_or_taken(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let run = |args: &[&str]| footfall(&db, args);
    let added = run(&[
        "site",
        "add",
        "example.com",
        "--umami-id",
        &ID.to_uppercase(),
    ]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains(&format!("Umami website id {ID}")));
    assert!(run(&["site", "add", "other.org"]).status.success());

    let taken = run(&["site", "add", "third.net", "--umami-id", ID]);
    assert!(!taken.status.success());
    assert!(
        text(&taken.stderr).contains("belongs to another site"),
        "{}",
        text(&taken.stderr)
    );
    let bad = run(&["site", "add", "third.net", "--umami-id", "not-a-uuid"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("is not an Umami website id"));

    let set = run(&["site", "set", "other.org", "--umami-id", OTHER_ID]);
    assert!(set.status.success(), "{}", text(&set.stderr));
    let steal = run(&["site", "set", "other.org", "--umami-id", ID]);
    assert!(!steal.status.success());
    assert!(text(&steal.stderr).contains("belongs to another site"));
    let unknown = run(&["site", "set", "nowhere.org", "--umami-id", ID]);
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no site nowhere.org"));

    let list = text(&run(&["site", "list"]).stdout);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split('\t').skip(1).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["example.com", "UTC", ID],
            vec!["other.org", "UTC", OTHER_ID],
        ],
        "{list}"
    );
    // A failed command changed nothing; `none` removes an id.
    assert!(
        run(&["site", "set", "example.com", "--umami-id", "none"])
            .status
            .success()
    );
    let list = text(&run(&["site", "list"]).stdout);
    assert!(list.contains("example.com\tUTC\t-"), "{list}");
    assert!(!list.contains("third.net"), "{list}");
    db.cleanup().await;
}

/// A server whose example.com is Umami website `ID`, mapped with the command.
async fn spawn_mapped(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    let added = footfall(&db, &["site", "add", "example.com", "--umami-id", ID]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    let options = Options {
        sites: Vec::new(),
        ..Options::default()
    };
    Some(TestApp::spawn_on(db, options).await)
}

async fn post_send(app: &TestApp, body: &str, content_type: &str, ua: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/api/send", app.address))
        .header("Content-Type", content_type)
        .header("User-Agent", ua)
        .body(body.to_owned())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /api/send: {e}"));
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );
    (status, response.json().await.unwrap_or(Value::Null))
}

fn event(payload: Value) -> String {
    json!({"type": "event", "payload": payload}).to_string()
}

async fn umami_events_posted_to_api_send_are_stored_field_by_field(backend: Backend) {
    let Some(app) = spawn_mapped(backend).await else {
        return;
    };
    let page = json!({
        "website": ID,
        "hostname": "example.com",
        "screen": "1920x1080",
        "language": "de-DE",
        "title": "Pricing",
        "url": "https://example.com/pricing?utm_source=newsletter#plans",
        "referrer": "https://news.ycombinator.com/item?id=1",
        "tag": "spring",
        "id": "user-42",
    });
    let mut custom = page.clone();
    custom["name"] = json!("Signup");
    custom["data"] = json!({"plan": "pro", "seats": 3, "trial": true});
    // Older trackers and many server-side senders send a path and the host.
    let server_side = json!({"website": ID.to_uppercase(), "hostname": "www.example.com", "url": "/docs/intro", "referrer": ""});
    for (body, content_type) in [
        (event(page.clone()), "application/json"),
        (event(custom), "application/json"),
        // What footfall's /script.js sends (sendBeacon: text/plain).
        (event(server_side), "text/plain;charset=UTF-8"),
    ] {
        let (status, answer) = post_send(&app, &body, content_type, CHROME_UA).await;
        assert_eq!(status, 200, "{body}: {answer}");
        // No `cache` token: Umami's tracker then sends no x-umami-cache header.
        assert_eq!(answer, json!({}));
    }
    // An identify call is taken and nothing of it kept.
    let identify = json!({"type": "identify", "payload": {"website": ID, "id": "user-42", "data": {"email": "a@b.c"}}});
    assert_eq!(
        post_send(&app, &identify.to_string(), "application/json", CHROME_UA).await,
        (200, json!({}))
    );

    let mut events = app.wait_for_events("example.com", 3).await;
    events.sort_by_key(|e| e.id);
    let row = |e: &StoredEvent| {
        (
            e.name.clone(),
            e.hostname.clone(),
            e.path.clone(),
            e.referrer_source.clone(),
            e.utm_source.clone(),
            e.viewport_width,
            e.props.clone(),
            e.browser.clone(),
        )
    };
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        events.iter().map(row).collect::<Vec<_>>(),
        [
            (
                "pageview".to_owned(),
                "example.com".to_owned(),
                "/pricing#plans".to_owned(),
                s("Hacker News"),
                s("newsletter"),
                Some(1920),
                None,
                "Chrome".to_owned(),
            ),
            (
                "Signup".to_owned(),
                "example.com".to_owned(),
                "/pricing#plans".to_owned(),
                s("Hacker News"),
                s("newsletter"),
                Some(1920),
                Some(json!({"plan": "pro", "seats": "3", "trial": "true"})),
                "Chrome".to_owned(),
            ),
            (
                "pageview".to_owned(),
                "www.example.com".to_owned(),
                "/docs/intro".to_owned(),
                None,
                None,
                None,
                None,
                "Chrome".to_owned(),
            ),
        ]
    );
    // The same visitor as /api/event would make of the same request.
    let same = r#"{"n":"pageview","u":"https://example.com/pricing","d":"example.com"}"#;
    assert_eq!(app.post_event(same, CHROME_UA).await.status(), 202);
    let all = app.wait_for_events("example.com", 4).await;
    assert!(all.iter().all(|e| e.visitor_id == all[0].visitor_id));
    let (stored, _, db) = app.stop().await;
    assert_eq!(stored, 4);
    db.cleanup().await;
}

async fn api_send_answers_bots_unknown_ids_and_bad_values_as_umami_clients_expect(
    backend: Backend,
) {
    let Some(app) = spawn_mapped(backend).await else {
        return;
    };
    let ok = json!({"website": ID, "hostname": "example.com", "url": "https://example.com/"});
    let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    assert_eq!(
        post_send(&app, &event(ok.clone()), "application/json", bot).await,
        (200, json!({"beep": "boop"}))
    );
    let with = |key: &str, value: Value| {
        let mut p = ok.clone();
        p[key] = value;
        event(p)
    };
    let cases: Vec<(String, u16, &str)> = vec![
        (
            with("website", json!(OTHER_ID)),
            404,
            "unknown Umami website id \"0f6c1c2e-3b1a-4c5d-9e8f-112233445566\"",
        ),
        (
            with("website", json!("example.com")),
            400,
            "field payload.website",
        ),
        (
            json!({"payload": ok}).to_string(),
            400,
            "field type must be \"event\"",
        ),
        (
            json!({"type": "pageview", "payload": ok}).to_string(),
            400,
            "field type",
        ),
        (
            json!({"type": "event"}).to_string(),
            400,
            "missing field `payload`",
        ),
        (
            event(json!({"website": ID, "url": "/x"})),
            400,
            "field payload.hostname",
        ),
        (
            event(json!({"website": ID, "hostname": "example.com"})),
            400,
            "missing field `payload.url`",
        ),
        (with("screen", json!("big")), 400, "field payload.screen"),
        (
            with("data", json!({"nested": {"a": 1}})),
            400,
            "field payload.data",
        ),
        (with("name", json!(7)), 400, "field payload.name"),
        (
            with("url", json!("https://elsewhere.org/")),
            400,
            "is not example.com",
        ),
        ("{not json".to_owned(), 400, "invalid JSON"),
    ];
    for (body, status, message) in &cases {
        let (got, answer) = post_send(&app, body, "application/json", CHROME_UA).await;
        assert_eq!(got, *status, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{body}: {error}");
    }

    // Umami's tracker posts JSON with fetch: the preflight allows it and its cache header.
    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/send", app.address),
        )
        .header("Origin", "https://example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(preflight.status(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("content-type") && allowed.contains("x-umami-cache"));

    let site = app.site("example.com").await;
    let (_, store, db) = app.stop().await;
    assert_eq!(store.count_events(site.id).await.unwrap_or(-1), 0);
    db.cleanup().await;
}
