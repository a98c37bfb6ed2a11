//! Goals (`footfall goal add|list|remove`, `stats::goal`): defined from the command line with
//! clear errors for bad definitions, and counted at query time over stored events — so a goal
//! added after the fact has its history — on the hand-worked data set of `support::known`.

mod support;

use footfall::stats::goal::Goal;
use support::known::{A, B, fixture};
use support::visits::query;
use support::{Backend, footfall, open_store, text};

both_backends!(
    goals_are_added_listed_and_removed_from_the_command_line,
    a_goals_conversions_are_its_matching_events_history_included,
);

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
