//! Goals (`footfall goal add|list|remove`, `stats::goal`): defined from the command line with
//! clear errors for bad definitions, and counted at query time over stored events — so a goal
//! added after the fact has its history — on the hand-worked data set of `support::known`.

#[path = "support/browser.rs"]
mod browser;
mod support;

use footfall::stats::goal::Goal;
use support::known::{A, B, fixture};
use support::visits::query;
use support::{
    Backend, CHROME_UA, IPHONE_UA, Options, TestApp, footfall, open_store, pageview, text,
};

both_backends!(
    goals_are_added_listed_and_removed_from_the_command_line,
    a_goals_conversions_are_its_matching_events_history_included,
    the_dashboard_shows_each_goals_conversions_under_the_views_filters,
);

async fn the_dashboard_shows_each_goals_conversions_under_the_views_filters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let signup =
        r#"{"n":"Signup","u":"https://example.com/pricing","d":"example.com","p":{"plan":"pro"}}"#;
    for (body, ua) in [
        (pageview("/pricing"), CHROME_UA),
        (signup.to_owned(), CHROME_UA),
        (pageview("/"), IPHONE_UA),
        (pageview("/blog/a"), IPHONE_UA),
        (pageview("/blog/b"), IPHONE_UA),
    ] {
        assert_eq!(app.post_event(&body, ua).await.status(), 202);
    }
    app.wait_for_events("example.com", 5).await;
    let site = app.site("example.com").await;
    for goal in [
        Goal::page("Pricing", "/pricing"),
        Goal::page("Blog", "/blog/**"),
        Goal::event("Pro signup", "Signup", Some("plan=pro")),
    ] {
        let goal = goal.unwrap_or_else(|e| panic!("{e}"));
        app.store
            .add_goal(site.id, &goal)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut browser = browser::log_in_owner(&app).await;
    let row = |body: &str, goal: &str| {
        let start = body
            .find(r#"aria-label="Goals""#)
            .unwrap_or_else(|| panic!("no Goals table in:\n{body}"));
        let table = &body[start..];
        let at = table
            .find(&format!(">{goal}</a>"))
            .unwrap_or_else(|| panic!("no {goal} in the Goals table"));
        let row = &table[at..];
        let cells: Vec<String> = row[..row.find("</tr>").unwrap_or(row.len())]
            .split(r#"<td class="num">"#)
            .skip(1)
            .map(|c| c[..c.find("</td>").unwrap_or(c.len())].to_owned())
            .collect();
        cells
    };
    // Two visitors in the view: Chrome (pricing, signup) and the iPhone (home, two blog posts).
    let page = browser.get("/sites/example.com").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(row(&page.body, "Pricing"), ["1", "1", "50.0%"]);
    assert_eq!(row(&page.body, "Blog"), ["1", "2", "50.0%"]);
    assert_eq!(row(&page.body, "Pro signup"), ["1", "1", "50.0%"]);
    // Under a filter, of the view's visitors: the iPhone alone.
    let mobile = browser
        .get("/sites/example.com?f=device%3Ais%3Amobile")
        .await;
    assert_eq!(row(&mobile.body, "Pricing"), ["0", "0", "0.0%"]);
    assert_eq!(row(&mobile.body, "Blog"), ["1", "2", "100.0%"]);
    // A goal's row filters the view to the visits that converted.
    assert!(page.body.contains("f=goal%3Ais%3ABlog"), "no link for Blog");
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn goals_are_added_listed_and_removed_from_the_command_line(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    support::add_site(&store, "example.com", "UTC").await;
    let run = |args: &[&str]| {
        let mut all = vec!["goal"];
        all.extend_from_slice(args);
        footfall(&db, &all)
    };
    for args in [
        &[
            "add",
            "--site",
            "example.com",
            "--name",
            "Blog",
            "--path",
            "/blog/**",
        ][..],
        &[
            "add",
            "--site",
            "example.com",
            "--name",
            "Thanks",
            "--path",
            "/thanks",
        ],
        &[
            "add",
            "--site",
            "example.com",
            "--name",
            "Pro signup",
            "--event",
            "Signup",
            "--prop",
            "plan=pro",
        ],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with("added goal"),
            "{}",
            text(&out.stdout)
        );
    }
    let listed = run(&["list", "--site", "example.com"]);
    assert!(listed.status.success());
    assert_eq!(
        text(&listed.stdout),
        "Blog\tpageview /blog/**\nPro signup\tevent Signup (plan = pro)\nThanks\tpageview /thanks\n"
    );

    // Bad definitions are refused, saying what is wrong, and store nothing.
    for (args, says) in [
        (
            &[
                "add",
                "--site",
                "example.com",
                "--name",
                "Blog",
                "--path",
                "/x",
            ][..],
            "already",
        ),
        (
            &[
                "add",
                "--site",
                "example.com",
                "--name",
                "Rel",
                "--path",
                "blog/**",
            ],
            "must start with /",
        ),
        (
            &["add", "--site", "example.com", "--name", "", "--path", "/x"],
            "name is empty",
        ),
        (
            &[
                "add",
                "--site",
                "example.com",
                "--name",
                "Pv",
                "--event",
                "pageview",
            ],
            "pageview goal is a path",
        ),
        (
            &[
                "add",
                "--site",
                "example.com",
                "--name",
                "P",
                "--event",
                "Signup",
                "--prop",
                "plan",
            ],
            "KEY=VALUE",
        ),
        (
            &[
                "add",
                "--site",
                "example.com",
                "--name",
                "Both",
                "--path",
                "/x",
                "--event",
                "Signup",
            ],
            "cannot be used with",
        ),
        (
            &["add", "--site", "example.com", "--name", "None"],
            "--path",
        ),
        (
            &[
                "add",
                "--site",
                "nowhere.org",
                "--name",
                "X",
                "--path",
                "/x",
            ],
            "no site nowhere.org",
        ),
        (
            &["remove", "--site", "example.com", "--name", "Nope"],
            "has no goal named",
        ),
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let sites = store.list_sites().await.unwrap_or_else(|e| panic!("{e}"));
    let id = sites[0].id;
    assert_eq!(store.goals(id).await.map(|g| g.len()).ok(), Some(3));

    let removed = run(&["remove", "--site", "example.com", "--name", "Thanks"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    let listed = run(&["list", "--site", "example.com"]);
    assert!(!text(&listed.stdout).contains("Thanks"));
    db.cleanup().await;
}

async fn a_goals_conversions_are_its_matching_events_history_included(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    // Added after every event of the data set was stored.
    let goals = [
        Goal::page("Pricing", "/pricing"),
        Goal::page("Blog", "/blog/**"),
        Goal::page("Any page", "/**"),
        Goal::event("Pro signup", "Signup", Some("plan=pro")),
        Goal::event("Free signup", "Signup", Some("plan=free")),
        Goal::event("Outbound", "Outbound Link: Click", None),
    ];
    for goal in &goals {
        let goal = goal.as_ref().unwrap_or_else(|e| panic!("{e}"));
        f.store
            .add_goal(f.site.id, goal)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let stored = f
        .store
        .goals(f.site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.len(), goals.len());
    let all = f
        .store
        .aggregate(&query(&f.site, A, B, Vec::new()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.visitors, 6, "visitor 3 on both days");
    // (unique conversions, total conversions), worked out from the table in support::known:
    // /pricing pageviews by visitors 1, 2, 3, 5 (the Signup on /pricing is not a pageview);
    // /blog/post_1 by visitor 1; ten pageviews by all five, visitor 3 on both days (a visitor
    // is one visitor for one day); visitor 1's Signup {plan: pro}.
    let expected = [
        ("Any page", (6, 10)),
        ("Blog", (1, 1)),
        ("Free signup", (0, 0)),
        ("Outbound", (1, 1)),
        ("Pricing", (4, 4)),
        ("Pro signup", (1, 1)),
    ];
    for (goal, (name, (unique, total))) in stored.iter().zip(expected) {
        assert_eq!(goal.name, name);
        let a = f
            .store
            .aggregate(&query(&f.site, A, B, goal.filters()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.visitors, a.events), (unique, total), "{name}");
    }
    f.db.cleanup().await;
}
