//! The dashboard over HTTP, as a logged-in person and as an anonymous visitor: sites, settings,
//! share links, deletion, the dashboard page, the live stream, escaping of hostile text.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, Page};
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp, pageview};

both_backends!(
    anonymous_visitors_get_no_dashboard_data,
    a_user_adds_a_site_gets_its_snippet_and_verifies_the_installation,
    the_dashboard_shows_traffic_filters_and_periods_from_the_url,
    a_share_link_shows_only_its_site_until_it_is_revoked,
    deleting_a_site_needs_its_name_and_removes_its_data,
    hostile_text_from_visitors_is_escaped_everywhere_it_is_shown,
    the_live_stream_sends_stored_events_as_server_sent_events,
    head_requests_are_answered_as_get_without_a_body,
    forwarded_host_headers_are_believed_only_from_trusted_proxies,
    the_public_url_is_used_for_snippets_share_links_and_the_origin_check,
    the_not_found_table_lists_missing_paths_with_hits_and_their_source,
    saved_segments_apply_their_filters_from_a_menu_and_the_url,
);

const FORGED: [(&str, &str); 3] = [
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "https"),
    ("Forwarded", "host=evil.example;proto=https"),
];

/// Creates a share link with `headers` on the request; returns the page's status and body.
async fn create_share_link(browser: &mut Browser, headers: &[(&str, &str)]) -> (u16, String) {
    let token = browser
        .get("/sites/example.com/settings")
        .await
        .csrf_token();
    let mut request = browser
        .request(reqwest::Method::POST, "/sites/example.com/share")
        .form(&[("csrf_token", token.as_str())]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let page = browser.send(request).await;
    (page.status, page.body)
}

async fn forwarded_host_headers_are_believed_only_from_trusted_proxies(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let ours = format!("http://127.0.0.1:{}", app.port);
    let mut request = browser.request(reqwest::Method::GET, "/sites/example.com/settings");
    for (name, value) in FORGED {
        request = request.header(name, value);
    }
    let settings = browser.send(request).await;
    assert_eq!(settings.status, 200);
    assert!(
        settings.body.contains(&format!("{ours}/js/script.js")),
        "the snippet does not use the request's host"
    );
    assert!(
        !settings.body.contains("evil.example"),
        "forged host in the snippet"
    );
    let (status, body) = create_share_link(&mut browser, &FORGED).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("{ours}/share/")),
        "share link not on our host"
    );
    assert!(!body.contains("evil.example"));
    // A cross-site form that forges the forwarded host to match its Origin is refused.
    let forged_origin = [
        ("Origin", "https://evil.example"),
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Proto", "https"),
    ];
    assert_eq!(create_share_link(&mut browser, &forged_origin).await.0, 403);
    stop(app).await;
}

async fn the_public_url_is_used_for_snippets_share_links_and_the_origin_check(backend: Backend) {
    let options = Options {
        public_url: Some("https://stats.example.org"),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    let settings = browser.get("/sites/example.com/settings").await;
    assert!(
        settings
            .body
            .contains("https://stats.example.org/js/script.js"),
        "the snippet does not use --public-url"
    );
    let (status, body) =
        create_share_link(&mut browser, &[("Origin", "https://stats.example.org")]).await;
    assert_eq!(status, 200, "a form from the public origin is refused");
    assert!(body.contains("https://stats.example.org/share/"));
    let elsewhere = [("Origin", "https://evil.example"), ("Host", "evil.example")];
    assert_eq!(create_share_link(&mut browser, &elsewhere).await.0, 403);
    stop(app).await;
}

async fn head_requests_are_answered_as_get_without_a_body(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let mut anon = Browser::new(&app.address);
    for (logged_in, path, status) in [
        (false, "/login", 200),
        (false, "/sites/example.com", 303),
        (false, "/healthz", 200),
        (false, "/static/app.css", 200),
        (false, "/no/such/page", 404),
        (true, "/sites", 200),
        (true, "/sites/example.com?period=7d", 200),
        (true, "/sites/example.com/settings", 200),
    ] {
        let browser = if logged_in { &mut browser } else { &mut anon };
        let get = browser.get(path).await;
        let head = browser
            .send(browser.request(reqwest::Method::HEAD, path))
            .await;
        assert_eq!(head.status, status, "HEAD {path} (logged in: {logged_in})");
        assert_eq!(get.status, status, "GET {path} (logged in: {logged_in})");
        assert!(head.body.is_empty(), "HEAD {path} has a body");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
    }
    stop(app).await;
}

/// A running app with one user, and a browser logged in as them.
async fn logged_in(backend: Backend) -> Option<(TestApp, Browser)> {
    let app = TestApp::spawn(backend, Options::default()).await?;
    let browser = browser::log_in_owner(&app).await;
    Some((app, browser))
}

async fn stop(app: TestApp) {
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

fn assert_redirects_to_login(page: &Page, what: &str) {
    assert!(
        page.status == 303 && page.location().is_some_and(|l| l.starts_with("/login")),
        "{what}: expected a redirect to /login, got {} {:?}",
        page.status,
        page.location()
    );
}

async fn anonymous_visitors_get_no_dashboard_data(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    app.post_event(&pageview("/secret-page"), CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    let mut anon = Browser::new(&app.address);
    for path in [
        "/sites",
        "/sites/example.com",
        "/sites/example.com?period=7d",
        "/sites/example.com/settings",
        "/sites/example.com/live",
        "/sites/example.com/live/stream",
    ] {
        let page = anon.get(path).await;
        assert_redirects_to_login(&page, path);
        assert!(!page.body.contains("secret-page"), "{path} leaked data");
    }
    let page = anon
        .post("/sites", &[("domain", "evil.org"), ("timezone", "UTC")])
        .await;
    assert!(
        page.status == 303 || page.status == 403,
        "anonymous add: {}",
        page.status
    );
    let page = anon
        .post("/sites/example.com/delete", &[("confirm", "example.com")])
        .await;
    assert!(
        page.status == 303 || page.status == 403,
        "anonymous delete: {}",
        page.status
    );
    assert_eq!(app.store.list_sites().await.unwrap_or_default().len(), 1);
    assert_eq!(anon.get("/share/not-a-token").await.status, 404);
    stop(app).await;
}

async fn a_user_adds_a_site_gets_its_snippet_and_verifies_the_installation(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let sites = browser.get("/sites").await;
    assert_eq!(sites.status, 200);
    assert!(sites.body.contains("example.com"));
    assert!(
        sites
            .header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'"))
    );
    let token = sites.csrf_token();

    // CSRF, bad input and duplicates are refused with a reason.
    let no_csrf = browser
        .post("/sites", &[("domain", "new.org"), ("timezone", "UTC")])
        .await;
    assert_eq!(no_csrf.status, 403);
    for (domain, tz, message) in [
        ("https://new.org/x", "UTC", "not a domain name"),
        ("new.org", "Mars/Base", "unknown time zone"),
        ("example.com", "UTC", "already registered"),
    ] {
        let page = browser
            .post(
                "/sites",
                &[("domain", domain), ("timezone", tz), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(page.status, 400, "{domain} {tz}");
        assert!(page.body.contains(message), "{domain} {tz}: {}", page.body);
    }
    assert_eq!(app.store.list_sites().await.unwrap_or_default().len(), 1);

    let added = browser
        .post(
            "/sites",
            &[
                ("domain", "New.org"),
                ("timezone", "Europe/Berlin"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    assert_eq!(added.location(), Some("/sites/new.org/settings"));
    let settings = browser.get("/sites/new.org/settings").await;
    assert_eq!(settings.status, 200);
    assert!(
        settings.body.contains("data-domain=&#34;new.org&#34;")
            || settings.body.contains("data-domain=&quot;new.org&quot;"),
        "{}",
        settings.body
    );
    assert!(settings.body.contains("/js/script.js"));
    assert!(settings.body.contains("Europe/Berlin"));

    let before = browser.get("/sites/new.org/settings?verify=1").await;
    assert!(
        before.body.contains("No event has arrived"),
        "{}",
        before.body
    );
    let body = r#"{"n":"pageview","u":"https://new.org/","d":"new.org"}"#;
    let mut accepted = false;
    for _ in 0..50 {
        // The collector picks new sites up within a second or so.
        if app.post_event(body, CHROME_UA).await.status() == 202 {
            accepted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(accepted);
    app.wait_for_events("new.org", 1).await;
    let after = browser.get("/sites/new.org/settings?verify=1").await;
    assert!(after.body.contains("It works: 1 events"), "{}", after.body);
    stop(app).await;
}

async fn the_dashboard_shows_traffic_filters_and_periods_from_the_url(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    for path in ["/", "/pricing", "/pricing", "/docs/install"] {
        app.post_event(&pageview(path), CHROME_UA).await;
    }
    let signup =
        r#"{"n":"Signup","u":"https://example.com/pricing","d":"example.com","p":{"plan":"pro"}}"#;
    app.post_event(signup, CHROME_UA).await;
    app.wait_for_events("example.com", 5).await;

    let page = browser.get("/sites/example.com").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "Unique visitors",
        "Bounce rate",
        "Visit duration",
        "/pricing",
        "/docs/install",
        "Signup",
        "Property plan",
        "pro",
        "<svg",
        "Last 30 days",
    ] {
        assert!(page.body.contains(text), "dashboard lacks {text:?}");
    }
    // Clicking a row is a link that adds a filter to the URL.
    assert!(
        page.body.contains("f=page%3Ais%3A%2Fpricing"),
        "no filter link for /pricing"
    );
    let filtered = browser
        .get("/sites/example.com?period=30d&f=page%3Ais%3A%2Fpricing")
        .await;
    assert_eq!(filtered.status, 200);
    assert!(filtered.body.contains("Page is /pricing"), "no filter chip");
    assert!(filtered.body.contains("Remove filter"));
    let today = browser.get("/sites/example.com?period=today").await;
    assert_eq!(today.status, 200);
    assert!(
        today.body.contains("aria-current=\"page\">Today"),
        "period not marked active"
    );
    let bad = browser.get("/sites/example.com?period=forever").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown period"));
    assert_eq!(browser.get("/sites/nope.org").await.status, 404);
    stop(app).await;
}

async fn a_share_link_shows_only_its_site_until_it_is_revoked(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    app.store
        .add_site(
            &footfall::domain::SiteDomain::parse("other.org").unwrap_or_else(|e| panic!("{e}")),
            footfall::domain::TimeZone::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.post_event(&pageview("/shared-page"), CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    let settings = browser.get("/sites/example.com/settings").await;
    let created = browser
        .post(
            "/sites/example.com/share",
            &[("csrf_token", &settings.csrf_token())],
        )
        .await;
    assert_eq!(created.status, 200);
    let marker = "/share/";
    let start = created
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no share link in {}", created.body))
        + marker.len();
    let token: String = created.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(
        token.len() >= 22,
        "token {token:?} is too short to be unguessable"
    );

    let mut anon = Browser::new(&app.address);
    let shared = anon.get(&format!("/share/{token}")).await;
    assert_eq!(shared.status, 200, "{}", shared.body);
    assert!(shared.body.contains("example.com") && shared.body.contains("/shared-page"));
    assert!(!shared.body.contains("other.org"));
    assert!(
        !shared.body.contains("/settings"),
        "a shared view links to settings"
    );
    assert!(!shared.body.contains("Log out"));
    let filtered = anon
        .get(&format!("/share/{token}?f=page%3Ais%3A%2Fshared-page"))
        .await;
    assert_eq!(filtered.status, 200);
    // The token opens the dashboard only: the owner's pages stay closed.
    assert_redirects_to_login(&anon.get("/sites/example.com").await, "share visitor");

    let page = browser.get("/sites/example.com/settings").await;
    let id_marker = "/sites/example.com/share/";
    let at = page
        .body
        .find(id_marker)
        .unwrap_or_else(|| panic!("no revoke form"))
        + id_marker.len();
    let id: String = page.body[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let revoked = browser
        .post(
            &format!("/sites/example.com/share/{id}/revoke"),
            &[("csrf_token", &page.csrf_token())],
        )
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(anon.get(&format!("/share/{token}")).await.status, 404);
    stop(app).await;
}

async fn deleting_a_site_needs_its_name_and_removes_its_data(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    app.post_event(&pageview("/"), CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    let site = app.site("example.com").await;
    let settings = browser.get("/sites/example.com/settings").await;
    let token = settings.csrf_token();
    let wrong = browser
        .post(
            "/sites/example.com/delete",
            &[("confirm", "example"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("to confirm"));
    let no_csrf = browser
        .post("/sites/example.com/delete", &[("confirm", "example.com")])
        .await;
    assert_eq!(no_csrf.status, 403);
    assert_eq!(app.store.count_events(site.id).await.unwrap_or_default(), 1);
    let done = browser
        .post(
            "/sites/example.com/delete",
            &[("confirm", "example.com"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(done.status, 303);
    assert!(app.store.list_sites().await.unwrap_or_default().is_empty());
    assert_eq!(app.store.count_events(site.id).await.unwrap_or_default(), 0);
    let sites = browser.get("/sites").await;
    assert!(sites.body.contains("No site yet"));
    stop(app).await;
}

async fn hostile_text_from_visitors_is_escaped_everywhere_it_is_shown(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    const SCRIPT: &str = "<script>alert(1)</script>";
    const IMG: &str = "\"><img src=x onerror=alert(1)>";
    let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for payload in [SCRIPT, IMG] {
        let u = format!(
            "https://example.com/{}?utm_source={}&utm_medium={}&utm_campaign={}",
            enc(payload),
            enc(payload),
            enc(payload),
            enc(payload)
        );
        let body = format!(
            r#"{{"n":{},"u":{},"d":"example.com","r":{},"p":{{{}:{}}}}}"#,
            json(payload),
            json(&u),
            json(&format!("https://evil.example.org/{}", enc(payload))),
            json(payload),
            json(payload)
        );
        assert_eq!(
            app.post_event(&body, CHROME_UA).await.status(),
            202,
            "{body}"
        );
        app.post_event(&pageview(&format!("/{}", enc(payload))), CHROME_UA)
            .await;
    }
    app.wait_for_events("example.com", 4).await;
    let query = format!("?f={}", enc(&format!("utm_source:is:{SCRIPT}")));
    for path in [
        "/sites/example.com".to_owned(),
        format!("/sites/example.com{query}"),
        "/sites".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        // Escaped, the payloads are harmless text (`onerror=alert` may appear as text); what
        // must never appear is markup a browser would run.
        for raw in ["<script>alert", "<img src=x", "\"><img"] {
            assert!(
                !page.body.contains(raw),
                "{path} contains unescaped {raw:?}"
            );
        }
        if path != "/sites" {
            assert!(
                page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                    || page.body.contains("&#60;script&#62;"),
                "{path}: the payload is not shown escaped"
            );
        }
    }
    stop(app).await;
}

async fn the_live_stream_sends_stored_events_as_server_sent_events(backend: Backend) {
    let Some((app, browser)) = logged_in(backend).await else {
        return;
    };
    app.post_event(&pageview("/live-one"), CHROME_UA).await;
    app.wait_for_events("example.com", 1).await;
    let response = browser
        .request(reqwest::Method::GET, "/sites/example.com/live/stream")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut response = response;
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), response.chunk())
        .await
        .unwrap_or_else(|_| panic!("no backlog within 5 s"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&first).into_owned();
    assert!(
        text.contains("data: {") && text.contains("/live-one"),
        "{text}"
    );
    assert!(
        !text.contains("visitor"),
        "the stream must not carry visitor ids: {text}"
    );
    // New events follow within a couple of polls.
    app.post_event(&pageview("/live-two"), CHROME_UA).await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), response.chunk())
        .await
        .unwrap_or_else(|_| panic!("no new event within 5 s"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_default();
    assert!(String::from_utf8_lossy(&next).contains("/live-two"));
    drop(response);
    stop(app).await;
}

async fn the_not_found_table_lists_missing_paths_with_hits_and_their_source(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    // What the documented one-liner in a 404 template sends:
    // footfall('404', {props: {path: location.pathname}})
    let missing = |path: &str, referrer: &str| {
        let r = if referrer.is_empty() {
            String::new()
        } else {
            format!(r#","r":"{referrer}""#)
        };
        format!(
            r#"{{"n":"404","u":"https://example.com{path}","d":"example.com"{r},"p":{{"path":"{path}"}}}}"#
        )
    };
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let google = "https://www.google.com/search?q=old";
    for (body, ua) in [
        (missing("/old-page", google), CHROME_UA),
        (missing("/old-page", ""), CHROME_UA),
        (missing("/old-page", google), IPHONE_UA),
        (missing("/gone", ""), firefox),
        (pageview("/"), firefox),
    ] {
        assert_eq!(app.post_event(&body, ua).await.status(), 202);
    }
    app.wait_for_events("example.com", 5).await;

    let page = browser.get("/sites/example.com").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let start = page
        .body
        .find(r#"aria-label="Missing pages""#)
        .unwrap_or_else(|| panic!("no Not found table in:\n{}", page.body));
    let table = &page.body[start..];
    let table = &table[..table.find("</table>").unwrap_or(table.len())];
    let cells = |path: &str| {
        let at = table
            .find(&format!(">{path}</a>"))
            .unwrap_or_else(|| panic!("{path} missing from:\n{table}"));
        let row = &table[at..];
        row[..row.find("</tr>").unwrap_or(row.len())].to_owned()
    };
    let old = cells("/old-page");
    assert!(old.contains("from Google"), "{old}");
    assert!(old.contains(r#"<td class="num">3</td>"#), "3 hits: {old}");
    assert!(
        old.contains(r#"<td class="num">2</td>"#),
        "2 visitors: {old}"
    );
    let gone = cells("/gone");
    assert!(gone.contains("direct"), "{gone}");
    assert!(
        table.find("/old-page") < table.find("/gone"),
        "most hit first"
    );
    // A row filters the dashboard to that path's 404s.
    assert!(table.contains("prop%3Apath%3Ais%3A%2Fold-page"), "{table}");
    assert!(table.contains("%3Ais%3A404"), "{table}");
    // Without 404 events in the view, there is no table.
    let other = browser.get("/sites/example.com?f=page%3Ais%3A%2F").await;
    assert_eq!(other.status, 200);
    assert!(!other.body.contains("Missing pages"));
    stop(app).await;
}

/// `html` with every `href="…"` attribute left out.
fn without_hrefs(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find(" href=\"") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 7..];
        rest = &after[after.find('"').map_or(after.len(), |e| e + 1)..];
    }
    out.push_str(rest);
    out
}

/// The part of a page between `marker` and the next `end`.
fn section<'a>(body: &'a str, marker: &str, end: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in:\n{body}"));
    let rest = &body[start..];
    &rest[..rest.find(end).map_or(rest.len(), |e| e + end.len())]
}

async fn saved_segments_apply_their_filters_from_a_menu_and_the_url(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    for (path, ua) in [
        ("/pricing", CHROME_UA),
        ("/pricing", IPHONE_UA),
        ("/", CHROME_UA),
        ("/docs", firefox),
    ] {
        assert_eq!(app.post_event(&pageview(path), ua).await.status(), 202);
    }
    app.wait_for_events("example.com", 4).await;
    let filters = "f=page%3Ais%3A%2Fpricing&f=device%3Ais%3Amobile";
    let filtered = browser
        .get(&format!("/sites/example.com?period=30d&{filters}"))
        .await;
    assert_eq!(filtered.status, 200, "{}", filtered.body);
    assert!(filtered.body.contains("Save segment"), "no save form");
    let token = filtered.csrf_token();
    let view = format!("period=30d&{filters}");

    let saved = browser
        .post(
            "/sites/example.com/segments",
            &[
                ("csrf_token", &token),
                ("name", "Mobile pricing"),
                ("view", &view),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let location = saved.location().unwrap_or_default().to_owned();
    assert!(
        location.starts_with("/sites/example.com?period=30d&segment="),
        "{location}"
    );
    let id = location.rsplit('=').next().unwrap_or_default().to_owned();

    // The segment's view has the figures of its filters.
    let applied = browser.get(&location).await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    assert!(
        applied.body.contains("Segment Mobile pricing"),
        "no segment chip"
    );
    let top = |body: &str| section(body, r#"class="top-stats""#, "</section>").to_owned();
    assert_eq!(top(&applied.body), top(&filtered.body));
    // The page table's rows and figures; its links differ (they carry the segment or the filters).
    let pages = |body: &str| without_hrefs(section(body, r#"aria-label="Page""#, "</table>"));
    assert_eq!(pages(&applied.body), pages(&filtered.body));
    assert!(pages(&applied.body).contains("/pricing"));
    assert!(!pages(&applied.body).contains("/docs"));
    // A row clicked in the segment's view keeps the segment.
    assert!(
        applied.body.contains(&format!("segment={id}&#38;f=")),
        "rows keep the segment"
    );

    // The menu lists it, on any view of the site; exports take it as the dashboard does.
    let home = browser.get("/sites/example.com").await;
    let menu = section(&home.body, r#"aria-label="Saved segments""#, "</section>");
    assert!(menu.contains("Mobile pricing"), "{menu}");
    assert!(menu.contains(&format!("segment={id}")), "{menu}");
    let by_segment = browser
        .get(&format!(
            "/sites/example.com/export/page.csv?period=30d&segment={id}"
        ))
        .await;
    let by_filters = browser
        .get(&format!(
            "/sites/example.com/export/page.csv?period=30d&{filters}"
        ))
        .await;
    assert_eq!(by_segment.status, 200, "{}", by_segment.body);
    assert_eq!(by_segment.body, by_filters.body);

    // Mistakes get a page that says what to do.
    for (fields, says) in [
        (
            vec![("name", "Mobile pricing"), ("view", view.as_str())],
            "already",
        ),
        (
            vec![("name", "  "), ("view", view.as_str())],
            "needs a name",
        ),
        (
            vec![("name", "All"), ("view", "period=30d")],
            "add a filter",
        ),
        (vec![("name", "Bad"), ("view", "f=nope:is:x")], "nope"),
    ] {
        let mut fields = fields;
        fields.push(("csrf_token", &token));
        let refused = browser.post("/sites/example.com/segments", &fields).await;
        assert_eq!(refused.status, 400, "{says}: {}", refused.body);
        assert!(refused.body.contains(says), "{says}: {}", refused.body);
    }
    let no_csrf = browser
        .post(
            "/sites/example.com/segments",
            &[("name", "Sneaky"), ("view", view.as_str())],
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    for query in ["segment=999999", "segment=abc", "segment=-1"] {
        let page = browser.get(&format!("/sites/example.com?{query}")).await;
        assert_eq!(page.status, 400, "{query}");
        assert!(page.body.contains("segment"), "{query}: {}", page.body);
    }
    // Another site's segment does not apply here.
    let other = support::add_site(&app.store, "other.org", "UTC").await;
    let theirs = app
        .store
        .add_saved_segment(other.id, "Theirs", &["page:is:/".to_owned()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let page = browser
        .get(&format!("/sites/example.com?segment={}", theirs.id))
        .await;
    assert_eq!(page.status, 400);

    // Deleted, it is gone from the menu and its links say so.
    let deleted = browser
        .post(
            &format!("/sites/example.com/segments/{id}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    let home = browser.get("/sites/example.com").await;
    assert!(!home.body.contains("Mobile pricing"));
    assert_eq!(browser.get(&location).await.status, 400);
    let again = browser
        .post(
            &format!("/sites/example.com/segments/{id}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(again.status, 404);
    stop(app).await;
}
