//! Goals managed on a site's settings page (`dashboard::goals`): added through the form, listed
//! with a Remove button, counted in the dashboard's Goals table; bad definitions come back as a
//! 400 settings page that says what is wrong and keeps what was typed; every form needs the
//! session's CSRF token.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, log_in_owner};
use footfall::stats::goal::Goal;
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp, pageview};

both_backends!(
    goals_added_on_the_settings_page_are_stored_listed_and_counted_on_the_dashboard,
    bad_goal_definitions_get_a_400_that_says_why_keeps_the_form_and_stores_nothing,
    goal_forms_without_the_sessions_csrf_token_are_refused,
    goals_are_removed_on_the_settings_page_and_an_unknown_name_is_a_404,
);

const SETTINGS: &str = "/sites/example.com/settings";
const ADD: &str = "/sites/example.com/goals";
const REMOVE: &str = "/sites/example.com/goals/remove";

/// The session's CSRF token, read off the settings page.
async fn token(browser: &mut Browser) -> String {
    let page = browser.get(SETTINGS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.csrf_token()
}

async fn stored_goals(app: &TestApp) -> Vec<Goal> {
    let site = app.site("example.com").await;
    app.store
        .goals(site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The cells of `goal`'s row in the dashboard's Goals table: uniques, total, conversion rate.
fn dashboard_row(body: &str, goal: &str) -> Vec<String> {
    let start = body
        .find(r#"aria-label="Goals""#)
        .unwrap_or_else(|| panic!("no Goals table in:\n{body}"));
    let table = &body[start..];
    let at = table
        .find(&format!(">{goal}</a>"))
        .unwrap_or_else(|| panic!("no {goal} in the Goals table"));
    let row = &table[at..];
    row[..row.find("</tr>").unwrap_or(row.len())]
        .split(r#"<td class="num">"#)
        .skip(1)
        .map(|c| c[..c.find("</td>").unwrap_or(c.len())].to_owned())
        .collect()
}

async fn goals_added_on_the_settings_page_are_stored_listed_and_counted_on_the_dashboard(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    // Stored before the goals exist: the goals count them all the same.
    let signup =
        r#"{"n":"Signup","u":"https://example.com/pricing","d":"example.com","p":{"plan":"pro"}}"#;
    for (body, ua) in [
        (pageview("/pricing"), CHROME_UA),
        (signup.to_owned(), CHROME_UA),
        (pageview("/blog/a"), IPHONE_UA),
        (pageview("/blog/b"), IPHONE_UA),
    ] {
        assert_eq!(app.post_event(&body, ua).await.status(), 202);
    }
    app.wait_for_events("example.com", 4).await;
    let mut browser = log_in_owner(&app).await;
    let page = browser.get(SETTINGS).await;
    assert!(page.body.contains("No goals yet."), "{}", page.body);
    assert!(
        page.body.contains(r#"<a href="/sites/example.com">the"#),
        "the Goals card links to the dashboard:\n{}",
        page.body
    );
    let token = page.csrf_token();

    let added = browser
        .post(
            ADD,
            &[
                ("csrf_token", &token),
                ("name", "Blog"),
                ("kind", "page"),
                ("path", " /blog/** "),
                // The other kind's fields are ignored.
                ("event", "Signup"),
                ("prop", "not a prop"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location(), Some(SETTINGS));
    let added = browser
        .post(
            ADD,
            &[
                ("csrf_token", &token),
                ("name", "Pro signup"),
                ("kind", "event"),
                ("path", "not a path"),
                ("event", "Signup"),
                ("prop", "plan=pro"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);

    let expected = [
        Goal::page("Blog", "/blog/**"),
        Goal::event("Pro signup", "Signup", Some("plan=pro")),
    ]
    .map(|g| g.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(stored_goals(&app).await, expected);

    let page = browser.get(SETTINGS).await;
    assert!(!page.body.contains("No goals yet."), "{}", page.body);
    for listed in [
        ">Blog</a>",
        "<td>pageview /blog/**</td>",
        ">Pro signup</a>",
        "<td>event Signup (plan = pro)</td>",
        r#"<input type="hidden" name="name" value="Blog">"#,
        r#"<input type="hidden" name="name" value="Pro signup">"#,
        r#"href="/sites/example.com?f=goal%3Ais%3APro+signup""#,
    ] {
        assert!(page.body.contains(listed), "no {listed} in:\n{}", page.body);
    }

    // Chrome (pricing, signup) and the iPhone (two blog posts): one of two visitors each.
    let dashboard = browser.get("/sites/example.com").await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert_eq!(dashboard_row(&dashboard.body, "Blog"), ["1", "2", "50.0%"]);
    assert_eq!(
        dashboard_row(&dashboard.body, "Pro signup"),
        ["1", "1", "50.0%"]
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn bad_goal_definitions_get_a_400_that_says_why_keeps_the_form_and_stores_nothing(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut browser = log_in_owner(&app).await;
    let token = token(&mut browser).await;
    let blog = browser
        .post(
            ADD,
            &[
                ("csrf_token", &token),
                ("name", "Blog"),
                ("kind", "page"),
                ("path", "/blog/**"),
            ],
        )
        .await;
    assert_eq!(blog.status, 303, "{}", blog.body);

    // (name, kind, path, event, prop), what the page says, and what the form shows again.
    let cases: &[([&str; 5], &str, &[&str])] = &[
        (
            ["", "page", "/x", "", ""],
            "The goal was not added: the goal&#39;s name is empty.",
            &[r#"name="path" value="/x""#],
        ),
        (
            ["Relative", "page", "blog/**", "", ""],
            "path must start with /",
            &[
                r#"name="name" value="Relative""#,
                r#"name="path" value="blog/**""#,
            ],
        ),
        (
            ["Pro", "event", "", "Signup", "plan"],
            "prop must be KEY=VALUE",
            &[
                r#"name="name" value="Pro""#,
                r#"value="event" checked"#,
                r#"name="event" value="Signup""#,
                r#"name="prop" value="plan""#,
            ],
        ),
        (
            ["Views", "event", "", "pageview", ""],
            "a pageview goal is a path",
            &[r#"name="event" value="pageview""#],
        ),
        (
            ["Blog", "page", "/blog/**", "", ""],
            "example.com already has a goal named",
            &[r#"name="name" value="Blog""#],
        ),
        (
            ["Funnel", "funnel", "/x", "", ""],
            "kind is page (a pageview) or event (a custom event)",
            &[r#"name="name" value="Funnel""#],
        ),
        (
            ["No kind", "", "/x", "", ""],
            "choose what converts: a pageview or a custom event",
            &[r#"name="name" value="No kind""#],
        ),
    ];
    for ([name, kind, path, event, prop], says, keeps) in cases {
        let mut fields = vec![
            ("csrf_token", token.as_str()),
            ("name", name),
            ("path", path),
            ("event", event),
            ("prop", prop),
        ];
        if !kind.is_empty() {
            fields.push(("kind", kind));
        }
        let refused = browser.post(ADD, &fields).await;
        assert_eq!(refused.status, 400, "{name:?} {kind:?}: {}", refused.body);
        assert!(
            refused
                .body
                .contains(r#"<p class="alert alert--error" role="alert">"#)
                && refused.body.contains(says),
            "{name:?} {kind:?}: no {says:?} in:\n{}",
            refused.body
        );
        for kept in *keeps {
            assert!(
                refused.body.contains(kept),
                "{name:?} {kind:?}: the form lost {kept}:\n{}",
                refused.body
            );
        }
        // Still the whole settings page, with the goals there are.
        assert!(refused.body.contains("<td>pageview /blog/**</td>"));
    }
    let expected = Goal::page("Blog", "/blog/**").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored_goals(&app).await, [expected], "only the first goal");
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn goal_forms_without_the_sessions_csrf_token_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut browser = log_in_owner(&app).await;
    let token = token(&mut browser).await;
    let goal = [("name", "Blog"), ("kind", "page"), ("path", "/blog/**")];
    let no_token = browser.post(ADD, &goal).await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let mut forged = goal.to_vec();
    forged.push(("csrf_token", "0123456789abcdef0123456789abcdef"));
    let forged = browser.post(ADD, &forged).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(stored_goals(&app).await, []);

    let mut with_token = goal.to_vec();
    with_token.push(("csrf_token", &token));
    assert_eq!(browser.post(ADD, &with_token).await.status, 303);
    let no_token = browser.post(REMOVE, &[("name", "Blog")]).await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    assert_eq!(stored_goals(&app).await.len(), 1, "not removed");

    // Another browser, with the owner's token but not their session, is sent to log in.
    let mut stranger = Browser::new(&app.address);
    let anonymous = stranger
        .post(REMOVE, &[("csrf_token", &token), ("name", "Blog")])
        .await;
    assert!(
        anonymous
            .location()
            .is_some_and(|to| to.starts_with("/login")),
        "{} {:?}",
        anonymous.status,
        anonymous.location()
    );
    assert_eq!(stored_goals(&app).await.len(), 1, "not removed");
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn goals_are_removed_on_the_settings_page_and_an_unknown_name_is_a_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let site = app.site("example.com").await;
    for goal in [
        Goal::page("Docs / install", "/docs/*/install"),
        Goal::event("Signup", "Signup", None),
    ] {
        let goal = goal.unwrap_or_else(|e| panic!("{e}"));
        app.store
            .add_goal(site.id, &goal)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut browser = log_in_owner(&app).await;
    let page = browser.get(SETTINGS).await;
    assert!(
        page.body
            .contains(r#"<input type="hidden" name="name" value="Docs / install">"#),
        "{}",
        page.body
    );
    let token = page.csrf_token();

    let removed = browser
        .post(
            REMOVE,
            &[("csrf_token", &token), ("name", "Docs / install")],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(removed.location(), Some(SETTINGS));
    let left = Goal::event("Signup", "Signup", None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored_goals(&app).await, std::slice::from_ref(&left));
    let page = browser.get(SETTINGS).await;
    assert!(!page.body.contains("Docs / install"), "{}", page.body);
    assert!(page.body.contains("<td>event Signup</td>"), "{}", page.body);

    for unknown in ["Docs / install", "Nope"] {
        let missing = browser
            .post(REMOVE, &[("csrf_token", &token), ("name", unknown)])
            .await;
        assert_eq!(missing.status, 404, "{unknown}: {}", missing.body);
    }
    assert_eq!(stored_goals(&app).await, [left]);
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
