//! The collection endpoint end to end: real server on port 0, real HTTP, read back from the
//! database. Every test runs on SQLite and (when configured) on Postgres.

mod support;

use footfall::domain::{Site, SiteDomain, SiteId, TimeZone};
use footfall::store::{IngestStore, StoreError};
use serde_json::Value;
use std::sync::atomic::Ordering;
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp, pageview};

both_backends!(
    collect_stores_a_valid_event_with_every_enriched_field,
    collect_rejects_bad_input_with_a_clear_4xx_and_stores_nothing,
    collect_answers_bots_with_202_but_stores_nothing,
    collect_answers_cors_preflight,
    collect_drops_query_strings_but_keeps_utm_and_the_hash_path,
    collect_groups_a_visitors_events_into_one_session,
    collect_believes_x_forwarded_for_only_from_trusted_proxies,
    collect_picks_up_a_site_added_while_running,
    shutdown_with_events_queued_stores_every_accepted_event,
    a_full_queue_answers_503_with_retry_after_and_loses_nothing,
    healthz_and_metrics_report_the_pipeline,
    hidden_characters_are_refused_in_names_and_removed_from_values,
);

/// The rule of `domain::is_hidden_char`: names (event name, prop keys) with control or invisible
/// formatting characters get a 400 naming the field; values (UTM, prop values) lose them.
async fn hidden_characters_are_refused_in_names_and_removed_from_values(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    for (body, field) in [
        (
            r#"{"n":"Sign\u202Eup","u":"https://example.com/","d":"example.com"}"#,
            "field n",
        ),
        (
            r#"{"n":"Sign\u0000up","u":"https://example.com/","d":"example.com"}"#,
            "field n",
        ),
        (
            r#"{"n":"\uFEFFSignup","u":"https://example.com/","d":"example.com"}"#,
            "field n",
        ),
        (
            r#"{"n":"Signup","u":"https://example.com/","d":"example.com","p":{"k\u0000":"v"}}"#,
            "field p",
        ),
        (
            r#"{"n":"Signup","u":"https://example.com/","d":"example.com","p":{"pl\u2066an":"v"}}"#,
            "field p",
        ),
    ] {
        let response = app.post_event(body, CHROME_UA).await;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap_or_default();
        let message = error["error"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {message}");
        assert!(
            !message.chars().any(footfall::domain::is_hidden_char),
            "the error echoes the hidden character: {message:?}"
        );
    }
    // U+202E (right-to-left override), U+2066 (isolate), U+2028 (line separator), NUL.
    let kept = r#"{"n":"pageview","u":"https://example.com/?utm_source=a%00b&utm_campaign=%E2%80%AEevil%E2%81%A6x%E2%80%A8y","d":"example.com","p":{"q":"v\u0000\u202Ew"}}"#;
    assert_eq!(app.post_event(kept, CHROME_UA).await.status(), 202);
    let events = app.wait_for_events("example.com", 1).await;
    assert_eq!(events.len(), 1, "only the event with clean names is stored");
    let e = &events[0];
    assert_eq!(e.utm_source.as_deref(), Some("ab"));
    // The line separator becomes a space.
    assert_eq!(e.utm_campaign.as_deref(), Some("evilx y"));
    assert_eq!(e.props, Some(serde_json::json!({"q": "vw"})));
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn collect_stores_a_valid_event_with_every_enriched_field(backend: Backend) {
    let geo = support::geo::fixture();
    let Some(app) = TestApp::spawn(
        backend,
        Options {
            geoip_db: Some(geo.path.clone()),
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))],
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let site = app.site("example.com").await;
    let response = app
        .client
        .post(format!("{}/api/event", app.address))
        .header("Content-Type", "application/json")
        .header("User-Agent", IPHONE_UA)
        .header("X-Forwarded-For", "81.2.69.160")
        .body(
            r#"{"n":"Signup","u":"https://blog.example.com/pricing?utm_source=news&utm_medium=email&utm_campaign=launch&utm_content=hero&utm_term=analytics&token=secret","d":"example.com","r":"https://news.ycombinator.com/item?id=1","w":390,"p":{"plan":"pro","seats":3}}"#,
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 202);
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );

    let events = app.wait_for_events("example.com", 1).await;
    let e = &events[0];
    assert_eq!(e.site_id, site.id.0);
    assert_eq!(e.name, "Signup");
    assert_eq!(e.hostname, "blog.example.com");
    assert_eq!(e.path, "/pricing");
    assert_eq!(
        e.referrer.as_deref(),
        Some("https://news.ycombinator.com/item")
    );
    assert_eq!(e.referrer_source.as_deref(), Some("Hacker News"));
    assert_eq!(e.utm_source.as_deref(), Some("news"));
    assert_eq!(e.utm_medium.as_deref(), Some("email"));
    assert_eq!(e.utm_campaign.as_deref(), Some("launch"));
    assert_eq!(e.utm_content.as_deref(), Some("hero"));
    assert_eq!(e.utm_term.as_deref(), Some("analytics"));
    assert_eq!(e.browser, "Safari");
    assert_eq!(e.browser_version, "17");
    assert_eq!(e.os, "iOS");
    assert_eq!(e.os_version, "17.4");
    assert_eq!(e.device, "mobile");
    assert_eq!(e.country.as_deref(), Some("GB"));
    assert_eq!(e.region.as_deref(), Some("England"));
    assert_eq!(e.city.as_deref(), Some("London"));
    assert_eq!(e.viewport_width, Some(390));
    assert_eq!(
        e.props,
        Some(serde_json::json!({"plan": "pro", "seats": "3"}))
    );
    let age = chrono::Utc::now() - e.created_at;
    assert!(
        age.num_seconds().abs() < 10,
        "created_at is {}",
        e.created_at
    );
    // The visitor id is the documented keyed hash of today's salt, site, IP and UA: nothing of
    // the IP itself is stored.
    let salt = app
        .store
        .salt_for_day(chrono::Utc::now().date_naive())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ip = "81.2.69.160".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        e.visitor_id,
        footfall::ingest::visitor::hash(&salt.key, site.id, ip, IPHONE_UA).0
    );
    let dump = serde_json::to_string(&events).unwrap_or_default();
    assert!(
        !dump.contains("81.2.69"),
        "the IP leaked into storage: {dump}"
    );
    assert!(
        !dump.contains("secret"),
        "a non-UTM query parameter was stored: {dump}"
    );

    let sessions = app
        .store
        .recent_sessions(site.id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, e.session_id);
    assert_eq!(sessions[0].entry_path, "/pricing");
    assert_eq!(sessions[0].events, 1);
    assert_eq!(sessions[0].pageviews, 0, "a custom event is not a pageview");
    assert_eq!(sessions[0].referrer_source.as_deref(), Some("Hacker News"));
    assert_eq!(sessions[0].country.as_deref(), Some("GB"));
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn collect_rejects_bad_input_with_a_clear_4xx_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let long_url = format!("https://example.com/{}", "a".repeat(2048));
    let long_ref = format!("https://ref.example.org/{}", "a".repeat(2048));
    let many_props: String = (0..31)
        .map(|i| format!("\"k{i}\":1"))
        .collect::<Vec<_>>()
        .join(",");
    let long_value = "v".repeat(301);
    let long_key = "k".repeat(301);
    let huge = format!(
        r#"{{"n":"pageview","u":"https://example.com/","d":"example.com","p":{{"x":"{}"}}}}"#,
        "a".repeat(9000)
    );
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("not JSON", "hello".into(), 400, "invalid JSON"),
        (
            "truncated JSON",
            r#"{"n":"pageview","#.into(),
            400,
            "invalid JSON",
        ),
        (
            "trailing garbage",
            format!("{} x", pageview("/")),
            400,
            "invalid JSON",
        ),
        ("a JSON array", "[1,2]".into(), 400, "invalid JSON"),
        ("empty body", String::new(), 400, "invalid JSON"),
        (
            "missing n",
            r#"{"u":"https://example.com/","d":"example.com"}"#.into(),
            400,
            "missing field `n`",
        ),
        (
            "missing u",
            r#"{"n":"pageview","d":"example.com"}"#.into(),
            400,
            "missing field `u`",
        ),
        (
            "missing d",
            r#"{"n":"pageview","u":"https://example.com/"}"#.into(),
            400,
            "missing field `d`",
        ),
        (
            "n not a string",
            r#"{"n":5,"u":"https://example.com/","d":"example.com"}"#.into(),
            400,
            "field n",
        ),
        (
            "w not a number",
            r#"{"n":"pageview","u":"https://example.com/","d":"example.com","w":"wide"}"#.into(),
            400,
            "field w",
        ),
        (
            "w out of range",
            r#"{"n":"pageview","u":"https://example.com/","d":"example.com","w":-5}"#.into(),
            400,
            "field w",
        ),
        (
            "empty name",
            r#"{"n":"  ","u":"https://example.com/","d":"example.com"}"#.into(),
            400,
            "field n",
        ),
        (
            "unknown site",
            r#"{"n":"pageview","u":"https://unknown.org/","d":"unknown.org"}"#.into(),
            404,
            "unknown site",
        ),
        (
            "host mismatch",
            r#"{"n":"pageview","u":"https://evil.org/","d":"example.com"}"#.into(),
            400,
            "is not example.com",
        ),
        (
            "lookalike host",
            r#"{"n":"pageview","u":"https://notexample.com/","d":"example.com"}"#.into(),
            400,
            "is not example.com",
        ),
        (
            "not a URL",
            r#"{"n":"pageview","u":"example.com/x","d":"example.com"}"#.into(),
            400,
            "field u",
        ),
        (
            "javascript: URL",
            r#"{"n":"pageview","u":"javascript:alert(1)","d":"example.com"}"#.into(),
            400,
            "field u",
        ),
        (
            "URL too long",
            format!(r#"{{"n":"pageview","u":"{long_url}","d":"example.com"}}"#),
            400,
            "field u",
        ),
        (
            "referrer too long",
            format!(
                r#"{{"n":"pageview","u":"https://example.com/","d":"example.com","r":"{long_ref}"}}"#
            ),
            400,
            "field r",
        ),
        (
            "too many props",
            format!(
                r#"{{"n":"x","u":"https://example.com/","d":"example.com","p":{{{many_props}}}}}"#
            ),
            400,
            "more than 30 keys",
        ),
        (
            "prop value too long",
            format!(
                r#"{{"n":"x","u":"https://example.com/","d":"example.com","p":{{"a":"{long_value}"}}}}"#
            ),
            400,
            "longer than 300",
        ),
        (
            "prop key too long",
            format!(
                r#"{{"n":"x","u":"https://example.com/","d":"example.com","p":{{"{long_key}":"a"}}}}"#
            ),
            400,
            "longer than 300",
        ),
        (
            "nested props",
            r#"{"n":"x","u":"https://example.com/","d":"example.com","p":{"a":{"b":1}}}"#.into(),
            400,
            "flat",
        ),
        (
            "props not an object",
            r#"{"n":"x","u":"https://example.com/","d":"example.com","p":[1]}"#.into(),
            400,
            "field p",
        ),
        ("body over 8 KiB", huge, 413, "larger than 8192 bytes"),
    ];
    for (what, body, status, message) in &cases {
        let response = app.post_event(body, CHROME_UA).await;
        assert_eq!(response.status().as_u16(), *status, "{what}: wrong status");
        let json: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
        let error = json["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(message),
            "{what}: error {error:?} does not mention {message:?}"
        );
    }
    // Wrong content type (a form post, curl's default) is refused before the body is read.
    let response = app
        .client
        .post(format!("{}/api/event", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("User-Agent", CHROME_UA)
        .body(pageview("/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 415);
    let json: Value = response.json().await.unwrap_or_default();
    assert!(
        json["error"]
            .as_str()
            .unwrap_or_default()
            .contains("application/json")
    );

    // Wrong method and unknown paths get the same JSON error shape.
    for (method, path, status) in [
        (reqwest::Method::GET, "/api/event", 405),
        (reqwest::Method::PUT, "/api/event", 405),
        (reqwest::Method::GET, "/api/nothing", 404),
    ] {
        let response = app
            .client
            .request(method.clone(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let json: Value = response.json().await.unwrap_or_default();
        assert!(
            json["error"].as_str().is_some_and(|e| e.contains(path)),
            "{method} {path}: {json}"
        );
    }

    // A valid sentinel after the bad ones: once it is stored, anything queued before it would
    // have been stored too.
    assert_eq!(
        app.post_event(&pageview("/sentinel"), CHROME_UA)
            .await
            .status(),
        202
    );
    let events = app.wait_for_events("example.com", 1).await;
    assert_eq!(events.len(), 1, "bad input was stored: {events:?}");
    assert_eq!(events[0].path, "/sentinel");
    let m = &app.metrics;
    use footfall::metrics::Rejection::*;
    assert_eq!(m.rejected(UnknownSite), 1);
    assert_eq!(m.rejected(HostMismatch), 2);
    assert_eq!(m.rejected(TooLarge), 1);
    assert_eq!(m.rejected(UnsupportedMediaType), 1);
    assert_eq!(
        m.rejected(InvalidJson) + m.rejected(InvalidField),
        cases.len() as u64 - 4
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn collect_answers_bots_with_202_but_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let bots = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
        "curl/8.5.0",
        "",
    ];
    for ua in bots {
        let response = app.post_event(&pageview("/bot"), ua).await;
        assert_eq!(response.status(), 202, "bot {ua:?}");
    }
    assert_eq!(
        app.post_event(&pageview("/human"), CHROME_UA)
            .await
            .status(),
        202
    );
    let events = app.wait_for_events("example.com", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].path, "/human");
    assert_eq!(
        app.metrics.bots.load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn collect_answers_cors_preflight(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let response = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/event", app.address),
        )
        .header("Origin", "https://example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 204);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("access-control-allow-origin"), "*");
    assert!(header("access-control-allow-methods").contains("POST"));
    assert!(
        header("access-control-allow-headers")
            .to_lowercase()
            .contains("content-type")
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn collect_drops_query_strings_but_keeps_utm_and_the_hash_path(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    // Hash mode (`h`, as the tracker sends it with data-hash) keeps the fragment; without it the
    // fragment is an anchor on the page, not a page of its own.
    let body = r#"{"n":"pageview","u":"https://www.example.com/app/?email=a%40b.c&utm_campaign=spring%20sale#/settings","d":"example.com","r":"https://www.example.com/other","h":1}"#;
    assert_eq!(app.post_event(body, CHROME_UA).await.status(), 202);
    let anchor = r#"{"n":"pageview","u":"https://example.com/docs#install","d":"example.com"}"#;
    assert_eq!(app.post_event(anchor, CHROME_UA).await.status(), 202);
    let events = app.wait_for_events("example.com", 2).await;
    let mut paths: Vec<&str> = events.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/app/#/settings", "/docs"]);
    let Some(e) = events.iter().find(|e| e.path.starts_with("/app")) else {
        panic!("{events:?}");
    };
    assert_eq!(e.hostname, "www.example.com");
    assert_eq!(e.utm_campaign.as_deref(), Some("spring sale"));
    assert_eq!(e.utm_source, None);
    assert_eq!(e.referrer, None, "a self-referral is not a source");
    assert_eq!(e.referrer_source, None);
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn collect_groups_a_visitors_events_into_one_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    for path in ["/", "/pricing", "/signup"] {
        assert_eq!(
            app.post_event(&pageview(path), CHROME_UA).await.status(),
            202
        );
        // Separate batches, so the session row is updated, not just inserted.
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    let custom = r#"{"n":"Signup","u":"https://example.com/signup","d":"example.com"}"#;
    assert_eq!(app.post_event(custom, CHROME_UA).await.status(), 202);
    // Another device is another visitor.
    assert_eq!(
        app.post_event(&pageview("/"), IPHONE_UA).await.status(),
        202
    );
    let events = app.wait_for_events("example.com", 5).await;
    let site = app.site("example.com").await;
    let sessions = app
        .store
        .recent_sessions(site.id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let desktop = sessions
        .iter()
        .find(|s| s.device == "desktop")
        .unwrap_or_else(|| panic!("no desktop session in {sessions:?}"));
    assert_eq!(desktop.pageviews, 3);
    assert_eq!(desktop.events, 4);
    assert_eq!(desktop.entry_path, "/");
    assert_eq!(desktop.exit_path, "/signup");
    assert!(desktop.ended_at >= desktop.started_at);
    let desktop_events = events.iter().filter(|e| e.session_id == desktop.id).count();
    assert_eq!(desktop_events, 4);
    let visitors: std::collections::HashSet<i64> = events.iter().map(|e| e.visitor_id).collect();
    assert_eq!(visitors.len(), 2);
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn collect_believes_x_forwarded_for_only_from_trusted_proxies(backend: Backend) {
    for trusted in [false, true] {
        let options = Options {
            trusted_proxies: if trusted {
                vec!["127.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))]
            } else {
                Vec::new()
            },
            ..Options::default()
        };
        let Some(app) = TestApp::spawn(backend, options).await else {
            return;
        };
        for ip in ["198.51.100.1", "198.51.100.2"] {
            let response = app
                .client
                .post(format!("{}/api/event", app.address))
                .header("User-Agent", CHROME_UA)
                .header("X-Forwarded-For", ip)
                .body(pageview("/"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(response.status(), 202);
        }
        let events = app.wait_for_events("example.com", 2).await;
        let distinct = events
            .iter()
            .map(|e| e.visitor_id)
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert_eq!(
            distinct,
            if trusted { 2 } else { 1 },
            "trusted proxies: {trusted}"
        );
        let (_, _, db) = app.stop().await;
        db.cleanup().await;
    }
}

async fn collect_picks_up_a_site_added_while_running(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let body = r#"{"n":"pageview","u":"https://late.example.org/","d":"late.example.org"}"#;
    assert_eq!(app.post_event(body, CHROME_UA).await.status(), 404);
    // As `footfall site add` from another process would.
    let other = footfall::store::connect(&app.db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    other
        .add_site(
            &footfall::domain::SiteDomain::parse("late.example.org")
                .unwrap_or_else(|e| panic!("{e}")),
            footfall::domain::TimeZone::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut status = 0;
    for _ in 0..50 {
        status = app.post_event(body, CHROME_UA).await.status().as_u16();
        if status == 202 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 202, "a new site was not picked up within 5 s");
    app.wait_for_events("late.example.org", 1).await;
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn shutdown_with_events_queued_stores_every_accepted_event(backend: Backend) {
    // Batches would only be written at 10,000 events or after a minute: everything accepted is
    // still in memory when the shutdown starts.
    let options = Options {
        writer: footfall::ingest::writer::WriterConfig {
            batch_size: 10_000,
            flush_interval: std::time::Duration::from_secs(60),
        },
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    let site = app.site("example.com").await;
    let mut sent = Vec::new();
    for i in 0..300 {
        let client = app.client.clone();
        let url = format!("{}/api/event", app.address);
        sent.push(tokio::spawn(async move {
            client
                .post(url)
                .header("User-Agent", CHROME_UA)
                .body(pageview(&format!("/page/{i}")))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut accepted = 0;
    for task in sent {
        if task.await.ok().and_then(Result::ok) == Some(202) {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 300);
    assert_eq!(
        app.store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0,
        "nothing should be written before the shutdown"
    );
    let (stored, store, db) = app.stop().await;
    assert_eq!(stored, 300);
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        300
    );
    db.cleanup().await;
}

async fn healthz_and_metrics_report_the_pipeline(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), 200);
    app.post_event(&pageview("/"), CHROME_UA).await;
    app.post_event("{", CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    // The writer counts a batch once its commit has returned, a moment after the rows can be
    // read: wait (up to 5 s) for its last count, the flush time.
    let mut text = String::new();
    for _ in 0..100 {
        text = app
            .client
            .get(format!("{}/metrics", app.address))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default();
        if text
            .lines()
            .any(|l| l == "footfall_flush_duration_seconds_count 1")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for line in [
        "footfall_events_accepted_total 1",
        "footfall_events_stored_total 1",
        "footfall_events_rejected_total{reason=\"invalid_json\"} 1",
        "footfall_queue_depth 0",
        "footfall_queue_capacity 10000",
        "footfall_batches_written_total 1",
        "footfall_batch_size_count 1",
        "footfall_flush_duration_seconds_count 1",
        "footfall_write_errors_total 0",
        "footfall_events_bots_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

/// Holds the events table locked from another connection, so the writer cannot commit.
enum Lock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

async fn lock_events_table(db: &support::TestDb) -> Lock {
    use sqlx::{Connection, Executor};
    match db.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            conn.execute("BEGIN EXCLUSIVE")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            Lock::Sqlite(conn)
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            conn.execute("BEGIN; LOCK TABLE events IN EXCLUSIVE MODE")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            Lock::Postgres(conn)
        }
    }
}

async fn unlock(lock: Lock) {
    use sqlx::Executor;
    match lock {
        Lock::Sqlite(mut c) => c.execute("COMMIT").await.map(drop),
        Lock::Postgres(mut c) => c.execute("COMMIT").await.map(drop),
    }
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn a_full_queue_answers_503_with_retry_after_and_loses_nothing(backend: Backend) {
    let options = Options {
        queue_capacity: 5,
        writer: footfall::ingest::writer::WriterConfig {
            batch_size: 5,
            flush_interval: std::time::Duration::from_millis(10),
        },
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    let site = app.site("example.com").await;
    // The database is busy: the writer holds its first batch and retries, the queue fills up.
    let lock = lock_events_table(&app.db).await;
    let mut accepted = 0;
    let mut refused = None;
    for i in 0..500 {
        let response = app
            .post_event(&pageview(&format!("/p/{i}")), CHROME_UA)
            .await;
        match response.status().as_u16() {
            202 => accepted += 1,
            503 => {
                refused = Some(response);
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("500 events were accepted into a queue of 5"));
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let json: Value = refused.json().await.unwrap_or_default();
    assert!(
        json["error"]
            .as_str()
            .unwrap_or_default()
            .contains("queue is full")
    );
    // One batch in the writer's hands, the rest in the queue.
    assert!((5..=10).contains(&accepted), "accepted {accepted}");
    assert_eq!(
        app.metrics
            .rejected(footfall::metrics::Rejection::QueueFull),
        1
    );

    unlock(lock).await;
    let (stored, store, db) = app.stop().await;
    assert_eq!(stored, accepted);
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        accepted as i64
    );
    db.cleanup().await;
}

/// A store whose first `fail` batch writes fail, as a database that went away would.
/// Batches holding an event for `poison` fail permanently, as a value the database refuses would.
struct FlakyStore {
    inner: footfall::store::DynStore,
    fail: std::sync::atomic::AtomicU32,
    poison: Option<&'static str>,
}

#[async_trait::async_trait]
impl IngestStore for FlakyStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn add_site(&self, domain: &SiteDomain, timezone: TimeZone) -> Result<Site, StoreError> {
        self.inner.add_site(domain, timezone).await
    }
    async fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        self.inner.list_sites().await
    }
    async fn delete_site(&self, site: SiteId) -> Result<(), StoreError> {
        self.inner.delete_site(site).await
    }
    async fn salt_for_day(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<footfall::store::Salt, StoreError> {
        self.inner.salt_for_day(day).await
    }
    async fn delete_salts_before(&self, day: chrono::NaiveDate) -> Result<u64, StoreError> {
        self.inner.delete_salts_before(day).await
    }
    async fn write_batch(
        &self,
        batch: std::sync::Arc<footfall::domain::Batch>,
    ) -> Result<footfall::store::BatchOutcome, StoreError> {
        if batch
            .events
            .iter()
            .any(|e| Some(e.path.as_str()) == self.poison)
        {
            return Err(StoreError::Corrupt("refused".into()));
        }
        let left = self.fail.load(Ordering::SeqCst);
        if left > 0 {
            self.fail.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::Database(sqlx::Error::PoolTimedOut));
        }
        self.inner.write_batch(batch).await
    }
    async fn replayed_parts(&self, spool: &str) -> Result<Vec<i64>, StoreError> {
        self.inner.replayed_parts(spool).await
    }
    async fn open_sessions(
        &self,
        ended_after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<footfall::store::OpenSession>, StoreError> {
        self.inner.open_sessions(ended_after).await
    }
    async fn recent_events(
        &self,
        site: SiteId,
        limit: i64,
    ) -> Result<Vec<footfall::store::StoredEvent>, StoreError> {
        self.inner.recent_events(site, limit).await
    }
    async fn recent_sessions(
        &self,
        site: SiteId,
        limit: i64,
    ) -> Result<Vec<footfall::store::StoredSession>, StoreError> {
        self.inner.recent_sessions(site, limit).await
    }
    async fn count_events(&self, site: SiteId) -> Result<i64, StoreError> {
        self.inner.count_events(site).await
    }

    async fn run_upgrades(&self) -> Result<u64, StoreError> {
        self.inner.run_upgrades().await
    }

    async fn writer_tag(&self) -> Result<u64, StoreError> {
        self.inner.writer_tag().await
    }

    async fn take_job(
        &self,
        job: footfall::store::Job,
        every: std::time::Duration,
    ) -> Result<Option<footfall::store::Held>, StoreError> {
        self.inner.take_job(job, every).await
    }

    async fn end_job(&self, held: footfall::store::Held, finished: bool) -> Result<(), StoreError> {
        self.inner.end_job(held, finished).await
    }

    async fn apply_retention(
        &self,
        default_days: Option<u32>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<footfall::store::RetentionReport>, StoreError> {
        self.inner.apply_retention(default_days, now).await
    }

    async fn keep_partitions(&self, now: chrono::DateTime<chrono::Utc>) -> Result<u32, StoreError> {
        self.inner.keep_partitions(now).await
    }

    async fn site_retention(
        &self,
        site: SiteId,
    ) -> Result<footfall::store::SiteRetention, StoreError> {
        self.inner.site_retention(site).await
    }

    async fn set_site_retention(&self, site: SiteId, days: Option<u32>) -> Result<(), StoreError> {
        self.inner.set_site_retention(site, days).await
    }
    async fn umami_ids(&self) -> Result<Vec<(footfall::domain::UmamiId, SiteId)>, StoreError> {
        self.inner.umami_ids().await
    }
    async fn set_umami_id(
        &self,
        site: SiteId,
        id: Option<&footfall::domain::UmamiId>,
    ) -> Result<(), StoreError> {
        self.inner.set_umami_id(site, id).await
    }
}

both_backends!(
    a_failed_write_is_retried_and_loses_nothing,
    an_event_the_database_refuses_is_dropped_without_blocking_the_rest,
);

/// The writer on its own (the listener in front of it is covered above): three failed writes,
/// then the database is back.
async fn a_failed_write_is_retried_and_loses_nothing(backend: Backend) {
    let Some((stored, metrics, db)) = write_through_flaky_store(backend, 3, None).await else {
        return;
    };
    assert_eq!(stored, 20);
    assert_eq!(metrics.write_errors.load(Ordering::Relaxed), 3);
    assert_eq!(metrics.dropped.load(Ordering::Relaxed), 0);
    db.cleanup().await;
}

async fn an_event_the_database_refuses_is_dropped_without_blocking_the_rest(backend: Backend) {
    let Some((stored, metrics, db)) = write_through_flaky_store(backend, 0, Some("/7")).await
    else {
        return;
    };
    assert_eq!(stored, 19);
    assert_eq!(metrics.dropped.load(Ordering::Relaxed), 1);
    db.cleanup().await;
}

/// Writes 20 pageviews (`/0` … `/19`) through a writer in front of a `FlakyStore`; returns
/// what reached the database.
async fn write_through_flaky_store(
    backend: Backend,
    fail: u32,
    poison: Option<&'static str>,
) -> Option<(
    i64,
    std::sync::Arc<footfall::metrics::Metrics>,
    support::TestDb,
)> {
    use footfall::domain::Event;
    use footfall::ingest::{parser, queue, writer};
    let db = support::TestDb::new(backend).await?;
    let real = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let site = real
        .add_site(
            &SiteDomain::parse("example.com").unwrap_or_else(|e| panic!("{e}")),
            TimeZone::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let flaky = std::sync::Arc::new(FlakyStore {
        inner: real.clone(),
        fail: std::sync::atomic::AtomicU32::new(fail),
        poison,
    });
    let metrics = std::sync::Arc::new(footfall::metrics::Metrics::default());
    let config = writer::WriterConfig {
        batch_size: 100,
        flush_interval: std::time::Duration::from_millis(10),
    };
    let w = writer::Writer::new(flaky, metrics.clone(), config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (queue, rx) = queue::bounded(100);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(w.run(rx, stop_rx));

    let sites = footfall::ingest::sites::SiteCache::load(real.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let salts = footfall::ingest::visitor::Salts::load(real.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ctx = parser::Enrichment {
        sites: &sites,
        salts: &salts,
        geoip: None,
    };
    for i in 0..20 {
        let meta = parser::RequestMeta {
            user_agent: CHROME_UA,
            ip: std::net::IpAddr::from([203, 0, 113, 7]),
            received_at: chrono::Utc::now(),
        };
        let event: Event = match parser::parse(pageview(&format!("/{i}")).as_bytes(), meta, ctx) {
            Ok(parser::Parsed::Event(e)) => *e,
            other => panic!("{other:?}"),
        };
        queue.try_push(event).unwrap_or_else(|e| panic!("{e}"));
    }
    // Failures back off 100 + 200 + 400 ms; the events wait in memory meanwhile. Stopping the
    // writer drains everything, so what is stored afterwards is final.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let _ = stop.send(true);
    running.await.unwrap_or_else(|e| panic!("{e}"));
    let stored = real
        .count_events(site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Some((stored, metrics, db))
}
