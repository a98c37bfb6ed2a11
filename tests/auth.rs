//! Accounts and login end to end: the real server on port 0, a cookie-keeping client, both
//! backends. Covers setup, the CLI, login and its cookie, CSRF, rate limits, logout, access
//! control, redirects after login and the security headers.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, Page};
use footfall::auth::password::{self, NewPassword};
use footfall::domain::{Email, User};
use reqwest::Method;
use std::io::Write;
use std::process::{Command, Stdio};
use support::{Backend, Options, TestApp, pageview};

both_backends!(
    setup_creates_the_first_user_and_logs_them_in_then_refuses,
    user_add_on_the_command_line_creates_an_account_that_can_log_in,
    login_sets_a_hardened_session_cookie_with_a_new_id_every_time,
    the_session_cookie_is_secure_only_when_a_trusted_proxy_says_https,
    a_wrong_password_and_an_unknown_email_get_the_same_generic_answer,
    a_login_without_a_valid_csrf_token_or_from_another_origin_is_refused,
    the_sixth_failure_on_an_account_from_one_address_locks_that_address_out_of_it,
    one_ip_trying_many_accounts_is_refused_after_twenty_attempts,
    failures_from_a_stranger_do_not_lock_the_owner_out_and_successes_never_count,
    logout_ends_the_session_on_the_server,
    anonymous_visitors_are_sent_to_login_and_see_no_account_data,
    after_login_only_local_next_paths_are_followed,
    changing_the_password_needs_the_current_one_and_logs_out_other_browsers,
    security_headers_are_on_pages_but_not_on_collection_or_operations,
);

const PASSWORD: &str = "correct horse battery";
const ANN: &str = "ann@example.com";

async fn add_user(app: &TestApp, email: &str, password: &str) -> User {
    let hash = password::hash(NewPassword::parse(password).unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.store
        .add_user(
            &Email::parse(email).unwrap_or_else(|e| panic!("{e}")),
            &hash,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Fills in and submits the login form as a person would.
async fn login(browser: &mut Browser, email: &str, password: &str, next: &str) -> Page {
    let form = browser.get("/login").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let token = form.csrf_token();
    browser
        .post(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
                ("next", next),
            ],
        )
        .await
}

/// The session cookie's attributes, lower-cased, as a list.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

async fn setup_creates_the_first_user_and_logs_them_in_then_refuses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut browser = Browser::new(&app.address);
    let login_page = browser.get("/login").await;
    assert_eq!(login_page.status, 303);
    assert_eq!(login_page.location(), Some("/setup"));

    let form = browser.get("/setup").await;
    assert_eq!(form.status, 200);
    let token = form.csrf_token();
    let mismatch = browser
        .post(
            "/setup",
            &[
                ("email", "Ann@Example.com"),
                ("password", PASSWORD),
                ("password_confirm", "something else entirely"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 400);
    assert!(mismatch.body.contains("The two passwords differ."));
    let short = browser
        .post(
            "/setup",
            &[
                ("email", "Ann@Example.com"),
                ("password", "short"),
                ("password_confirm", "short"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(short.status, 400);
    assert!(
        short.body.contains("at least 10 characters"),
        "{}",
        short.body
    );
    assert_eq!(app.store.count_users().await.unwrap_or_default(), 0);

    let created = browser
        .post(
            "/setup",
            &[
                ("email", "Ann@Example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(created.location(), Some("/sites"));
    assert!(created.set_cookie("footfall_session").is_some());
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(
        account.body.contains(ANN),
        "the email is stored lower-cased"
    );
    let users = app.store.list_users().await.unwrap_or_default();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email.as_str(), ANN);

    // Setup is over, for everyone: the page and the form both send people to /login.
    let mut stranger = Browser::new(&app.address);
    let page = stranger.get("/setup").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/login"));
    let forged = "A".repeat(43);
    stranger
        .cookies
        .insert("footfall_csrf".into(), forged.clone());
    let second = stranger
        .post(
            "/setup",
            &[
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf_token", &forged),
            ],
        )
        .await;
    assert_eq!(second.status, 303);
    assert_eq!(second.location(), Some("/login"));
    assert!(second.set_cookie("footfall_session").is_none());
    assert_eq!(app.store.count_users().await.unwrap_or_default(), 1);
    app.stop().await.2.cleanup().await;
}

fn footfall_user(url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_footfall"))
        .args(["user"])
        .args(args)
        .env("FOOTFALL_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running footfall user {args:?}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn user_add_on_the_command_line_creates_an_account_that_can_log_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let url = app.db.url.clone();
    let added = footfall_user(
        &url,
        &["add", "Bob@Example.com", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains("added user bob@example.com"));

    let again = footfall_user(
        &url,
        &["add", "bob@example.com", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
    let short = footfall_user(
        &url,
        &["add", "eve@example.com", "--password-stdin"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(text(&short.stderr).contains("at least 10 characters"));
    let bad_email = footfall_user(&url, &["add", "not-an-email", "--password-stdin"], "x\n");
    assert!(!bad_email.status.success());
    assert!(text(&bad_email.stderr).contains("not an email address"));
    let no_terminal = footfall_user(&url, &["add", "eve@example.com"], "");
    assert!(!no_terminal.status.success());
    assert!(text(&no_terminal.stderr).contains("--password-stdin"));

    let list = footfall_user(&url, &["list"], "");
    assert!(list.status.success());
    let listed = text(&list.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("\tbob@example.com\t"), "{listed}");

    let mut browser = Browser::new(&app.address);
    let done = login(&mut browser, "bob@example.com", PASSWORD, "/account").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some("/account"));
    app.stop().await.2.cleanup().await;
}

async fn login_sets_a_hardened_session_cookie_with_a_new_id_every_time(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    let first = login(&mut browser, "Ann@Example.com", PASSWORD, "").await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(first.location(), Some("/sites"));
    let cookie = first
        .set_cookie("footfall_session")
        .unwrap_or_else(|| panic!("no session cookie"));
    let attrs = attributes(cookie);
    for wanted in ["httponly", "samesite=lax", "path=/"] {
        assert!(
            attrs.iter().any(|a| a == wanted),
            "{wanted} missing: {cookie}"
        );
    }
    assert!(!attrs.iter().any(|a| a == "secure"), "plain HTTP: {cookie}");
    assert!(attrs.iter().any(|a| a.starts_with("max-age=")), "{cookie}");
    let first_id = browser
        .cookie("footfall_session")
        .unwrap_or_default()
        .to_owned();
    assert_eq!(first_id.len(), 43, "256 random bits, base64url");
    assert_eq!(browser.get("/account").await.status, 200);

    // Logging in again (say, someone else on a shared computer) gets a fresh id, and the old
    // one stops working.
    let mut old = Browser::new(&app.address);
    old.cookies
        .insert("footfall_session".into(), first_id.clone());
    // (A logged-in browser is sent past the login page, so post the form directly; the
    // pre-login CSRF cookie is still there.)
    let token = browser
        .cookie("footfall_csrf")
        .unwrap_or_default()
        .to_owned();
    let second = browser
        .post(
            "/login",
            &[
                ("email", ANN),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(second.status, 303);
    let second_id = browser
        .cookie("footfall_session")
        .unwrap_or_default()
        .to_owned();
    assert_ne!(first_id, second_id);
    assert_eq!(browser.get("/account").await.status, 200);
    assert_eq!(old.get("/account").await.status, 303);

    // A token planted before login (session fixation) never becomes a session.
    let mut planted = Browser::new(&app.address);
    let fixed = "F".repeat(43);
    planted
        .cookies
        .insert("footfall_session".into(), fixed.clone());
    let third = login(&mut planted, ANN, PASSWORD, "").await;
    assert_eq!(third.status, 303);
    assert_ne!(planted.cookie("footfall_session"), Some(fixed.as_str()));
    app.stop().await.2.cleanup().await;
}

async fn the_session_cookie_is_secure_only_when_a_trusted_proxy_says_https(backend: Backend) {
    for (trusted, https_header, secure) in [
        (true, true, true),
        (false, true, false),
        (true, false, false),
    ] {
        let options = Options {
            trusted_proxies: if trusted {
                vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))]
            } else {
                Vec::new()
            },
            ..Options::default()
        };
        let Some(app) = TestApp::spawn(backend, options).await else {
            return;
        };
        add_user(&app, ANN, PASSWORD).await;
        let mut browser = Browser::new(&app.address);
        let with_proto = |b: &Browser, method: Method, path: &str| {
            let request = b.request(method, path);
            if https_header {
                request.header("X-Forwarded-Proto", "https")
            } else {
                request
            }
        };
        let request = with_proto(&browser, Method::GET, "/login");
        let form = browser.send(request).await;
        let csrf_cookie = form
            .set_cookie("footfall_csrf")
            .unwrap_or_default()
            .to_owned();
        let token = form.csrf_token();
        let request = with_proto(&browser, Method::POST, "/login").form(&[
            ("email", ANN),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ]);
        let done = browser.send(request).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let session_cookie = done.set_cookie("footfall_session").unwrap_or_default();
        for cookie in [session_cookie, csrf_cookie.as_str()] {
            assert_eq!(
                attributes(cookie).iter().any(|a| a == "secure"),
                secure,
                "trusted proxy: {trusted}, X-Forwarded-Proto: {https_header}: {cookie}"
            );
        }
        app.stop().await.2.cleanup().await;
    }
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_generic_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    let wrong_password = login(&mut browser, ANN, "not the password", "").await;
    let unknown_email = login(&mut browser, "nobody@example.com", PASSWORD, "").await;
    let malformed = login(&mut browser, "nobody", PASSWORD, "").await;
    for page in [&wrong_password, &unknown_email, &malformed] {
        assert_eq!(page.status, 401);
        assert!(
            page.body.contains("Wrong email or password."),
            "{}",
            page.body
        );
        assert!(page.set_cookie("footfall_session").is_none());
    }
    // Apart from the email typed back into the form, the pages are identical.
    assert_eq!(
        wrong_password.body.replace(ANN, "EMAIL"),
        unknown_email.body.replace("nobody@example.com", "EMAIL")
    );
    assert!(browser.cookie("footfall_session").is_none());
    app.stop().await.2.cleanup().await;
}

async fn a_login_without_a_valid_csrf_token_or_from_another_origin_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    let token = browser.get("/login").await.csrf_token();
    let fields = |token: &str| {
        vec![
            ("email".to_owned(), ANN.to_owned()),
            ("password".to_owned(), PASSWORD.to_owned()),
            ("csrf_token".to_owned(), token.to_owned()),
        ]
    };

    let missing = browser
        .post("/login", &[("email", ANN), ("password", PASSWORD)])
        .await;
    let wrong = {
        let request = browser
            .request(Method::POST, "/login")
            .form(&fields(&"x".repeat(43)));
        browser.send(request).await
    };
    let cross_origin = {
        let request = browser
            .request(Method::POST, "/login")
            .header("Origin", "https://evil.example")
            .form(&fields(&token));
        browser.send(request).await
    };
    let mut cookieless = Browser::new(&app.address);
    let no_cookie = {
        let request = cookieless
            .request(Method::POST, "/login")
            .form(&fields(&token));
        cookieless.send(request).await
    };
    for (what, page) in [
        ("missing token", &missing),
        ("wrong token", &wrong),
        ("cross-origin", &cross_origin),
        ("no cookie", &no_cookie),
    ] {
        assert_eq!(page.status, 403, "{what}");
        assert!(
            page.body.contains("reload the page"),
            "{what}: {}",
            page.body
        );
        assert!(page.set_cookie("footfall_session").is_none(), "{what}");
    }
    assert!(browser.cookie("footfall_session").is_none());

    // The same form from our own origin goes through.
    let request = browser
        .request(Method::POST, "/login")
        .header("Origin", app.address.clone())
        .form(&fields(&token));
    let same_origin = browser.send(request).await;
    assert_eq!(same_origin.status, 303, "{}", same_origin.body);

    // Logged in, forms need the session's token: the pre-login one is not enough.
    let request = browser
        .request(Method::POST, "/logout")
        .form(&[("csrf_token", token.as_str())]);
    let refused = browser.send(request).await;
    assert_eq!(refused.status, 403);
    assert_eq!(browser.get("/account").await.status, 200);
    app.stop().await.2.cleanup().await;
}

async fn the_sixth_failure_on_an_account_from_one_address_locks_that_address_out_of_it(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    add_user(&app, "bob@example.com", PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    for attempt in 1..=5 {
        let page = login(&mut browser, ANN, "not the password", "").await;
        assert_eq!(page.status, 401, "attempt {attempt}");
    }
    let sixth = login(&mut browser, "ANN@example.com", PASSWORD, "").await;
    assert_eq!(sixth.status, 429);
    assert!(
        sixth.body.contains("Too many login attempts"),
        "{}",
        sixth.body
    );
    let retry_after: u64 = sixth
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After"));
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(sixth.set_cookie("footfall_session").is_none());

    // Other accounts are not locked out by it.
    let bob = login(&mut browser, "bob@example.com", PASSWORD, "").await;
    assert_eq!(bob.status, 303);
    app.stop().await.2.cleanup().await;
}

/// A login form posted through the trusted proxy (127.0.0.1) on behalf of client `ip`.
fn login_from(
    browser: &Browser,
    token: &str,
    ip: &str,
    email: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    browser
        .request(Method::POST, "/login")
        .header("X-Forwarded-For", ip.to_owned())
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", token),
        ])
}

async fn one_ip_trying_many_accounts_is_refused_after_twenty_attempts(backend: Backend) {
    // Behind a trusted proxy, so the client IP comes from X-Forwarded-For as for the collector.
    let options = Options {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    let token = browser.get("/login").await.csrf_token();
    let attempt =
        |browser: &Browser, ip: &str, email: &str| login_from(browser, &token, ip, email, PASSWORD);
    for n in 0..20 {
        let request = attempt(&browser, "203.0.113.7", &format!("user{n}@example.com"));
        assert_eq!(browser.send(request).await.status, 401, "attempt {n}");
    }
    let request = attempt(&browser, "203.0.113.7", ANN);
    let refused = browser.send(request).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());

    let request = attempt(&browser, "198.51.100.4", ANN);
    let elsewhere = browser.send(request).await;
    assert_eq!(elsewhere.status, 303, "another address has its own budget");
    app.stop().await.2.cleanup().await;
}

async fn failures_from_a_stranger_do_not_lock_the_owner_out_and_successes_never_count(
    backend: Backend,
) {
    let options = Options {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    let token = browser.get("/login").await.csrf_token();
    let attempt = |browser: &Browser, ip: &str, password: &str| {
        login_from(browser, &token, ip, ANN, password)
    };
    // A stranger guesses from one address: locked out of the account after five failures.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let request = attempt(&browser, "203.0.113.7", "a wrong guess");
        statuses.push(browser.send(request).await.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    // The owner, from their own address, logs in — again and again: successes never count.
    for n in 0..12 {
        let mut owner = Browser::new(&app.address);
        let token = owner.get("/login").await.csrf_token();
        let request = login_from(&owner, &token, "198.51.100.4", ANN, PASSWORD);
        let page = owner.send(request).await;
        assert_eq!(page.status, 303, "the owner's login {n}: {}", page.body);
    }
    app.stop().await.2.cleanup().await;
}

async fn logout_ends_the_session_on_the_server(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    assert_eq!(login(&mut browser, ANN, PASSWORD, "").await.status, 303);
    let stolen = browser
        .cookie("footfall_session")
        .unwrap_or_default()
        .to_owned();
    let account = browser.get("/account").await;
    let token = account.csrf_token();

    let no_token = browser.post("/logout", &[]).await;
    assert_eq!(no_token.status, 403);
    assert_eq!(browser.get("/account").await.status, 200, "still logged in");

    let out = browser.post("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), Some("/login"));
    let cleared = out.set_cookie("footfall_session").unwrap_or_default();
    assert!(
        attributes(cleared).iter().any(|a| a == "max-age=0"),
        "{cleared}"
    );
    assert_eq!(browser.get("/account").await.status, 303);

    // A copy of the cookie kept from before is worthless too.
    let mut copy = Browser::new(&app.address);
    copy.cookies.insert("footfall_session".into(), stolen);
    let page = copy.get("/account").await;
    assert_eq!(page.status, 303);
    assert!(!page.body.contains(ANN));
    app.stop().await.2.cleanup().await;
}

async fn anonymous_visitors_are_sent_to_login_and_see_no_account_data(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut anonymous = Browser::new(&app.address);
    let page = anonymous.get("/account").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/login?next=%2Faccount"));
    assert!(!page.body.contains(ANN));

    let request = anonymous
        .request(Method::GET, "/account")
        .header("Accept", "application/json");
    let json = anonymous.send(request).await;
    assert_eq!(json.status, 401);
    assert!(json.body.contains("login required"));

    let post = anonymous
        .post(
            "/account/password",
            &[("current_password", PASSWORD), ("new_password", "x")],
        )
        .await;
    assert_eq!(post.status, 303);
    assert_eq!(post.location(), Some("/login"));

    let mut forged = Browser::new(&app.address);
    forged
        .cookies
        .insert("footfall_session".into(), "A".repeat(43));
    assert_eq!(forged.get("/account").await.status, 303);
    forged
        .cookies
        .insert("footfall_session".into(), "'; DROP TABLE users; --".into());
    assert_eq!(forged.get("/account").await.status, 303);
    app.stop().await.2.cleanup().await;
}

async fn after_login_only_local_next_paths_are_followed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    for (next, landing) in [
        ("/account", "/account"),
        ("//evil.com", "/sites"),
        ("https://evil.com/", "/sites"),
        ("/\\evil.com", "/sites"),
    ] {
        let mut browser = Browser::new(&app.address);
        let page = login(&mut browser, ANN, PASSWORD, next).await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location(), Some(landing), "next={next}");
        // Already logged in, /login itself passes people on, by the same rule.
        let again = browser
            .get(&format!("/login?next={}", urlencode(next)))
            .await;
        assert_eq!(again.status, 303);
        assert_eq!(again.location(), Some(landing), "next={next}");
    }
    app.stop().await.2.cleanup().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn changing_the_password_needs_the_current_one_and_logs_out_other_browsers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut laptop = Browser::new(&app.address);
    let mut phone = Browser::new(&app.address);
    assert_eq!(login(&mut laptop, ANN, PASSWORD, "").await.status, 303);
    assert_eq!(login(&mut phone, ANN, PASSWORD, "").await.status, 303);
    let token = laptop.get("/account").await.csrf_token();
    let new = "a much better passphrase";

    let wrong = laptop
        .post(
            "/account/password",
            &[
                ("csrf_token", token.as_str()),
                ("current_password", "not the password"),
                ("new_password", new),
                ("new_password_confirm", new),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("The current password is wrong."));

    let changed = laptop
        .post(
            "/account/password",
            &[
                ("csrf_token", token.as_str()),
                ("current_password", PASSWORD),
                ("new_password", new),
                ("new_password_confirm", new),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(changed.body.contains("Password changed."));
    assert_eq!(laptop.get("/account").await.status, 200);
    assert_eq!(phone.get("/account").await.status, 303);

    let mut fresh = Browser::new(&app.address);
    assert_eq!(login(&mut fresh, ANN, PASSWORD, "").await.status, 401);
    let email = Email::parse(ANN).unwrap_or_else(|e| panic!("{e}"));
    let stored = app.store.user_credentials(&email).await.unwrap_or_default();
    let verified = password::verify(new.to_owned(), stored.map(|c| c.password_hash)).await;
    assert!(matches!(verified, Ok(true)));
    app.stop().await.2.cleanup().await;
}

const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    (
        "permissions-policy",
        "interest-cohort=(), camera=(), microphone=(), geolocation=()",
    ),
    ("cache-control", "no-store"),
];

async fn security_headers_are_on_pages_but_not_on_collection_or_operations(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    add_user(&app, ANN, PASSWORD).await;
    let mut browser = Browser::new(&app.address);
    let login_page = browser.get("/login").await;
    assert_eq!(login_page.status, 200);
    assert_eq!(login(&mut browser, ANN, PASSWORD, "").await.status, 303);
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    for (path, page) in [("/login", &login_page), ("/account", &account)] {
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(page.header(name), Some(value), "{name} on {path}");
        }
        assert!(
            !page.body.contains("style=") && !page.body.contains("<script"),
            "no inline styles or scripts: CSP forbids them"
        );
    }

    let event = app.post_event(&pageview("/"), support::CHROME_UA).await;
    assert_eq!(event.status(), 202);
    let mut plain = Browser::new(&app.address);
    let script = plain.get("/js/script.js").await;
    let health = plain.get("/healthz").await;
    for (path, headers) in [
        ("/api/event", event.headers()),
        ("/js/script.js", &script.headers),
        ("/healthz", &health.headers),
    ] {
        assert!(
            headers.get("content-security-policy").is_none(),
            "CSP on {path}"
        );
        assert!(headers.get("x-frame-options").is_none(), "XFO on {path}");
    }

    // The stylesheet the layout links is served, cacheable and revalidatable.
    let href = account
        .body
        .split("href=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|h| h.starts_with("/static/app.css"))
        })
        .unwrap_or_else(|| panic!("no stylesheet link"))
        .to_owned();
    let css = plain.get(&href).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.body.contains("prefers-color-scheme: dark"));
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let etag = css.header("etag").unwrap_or_default().to_owned();
    let request = plain
        .request(Method::GET, "/static/app.css")
        .header("If-None-Match", etag);
    assert_eq!(plain.send(request).await.status, 304);
    app.stop().await.2.cleanup().await;
}
