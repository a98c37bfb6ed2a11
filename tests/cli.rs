//! The `footfall` binary's commands, run as a user would, on both backends.

mod support;

use support::{Backend, TestDb, footfall, text};

both_backends!(
    site_add_and_list_work_and_refuse_duplicates_and_bad_input,
    seed_writes_exactly_the_requested_events_with_sessions,
);

async fn site_add_and_list_work_and_refuse_duplicates_and_bad_input(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let added = footfall(
        &db,
        &["site", "add", "Example.COM", "--timezone", "Europe/Berlin"],
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains("added site example.com"));

    let again = footfall(&db, &["site", "add", "example.com"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    let bad_tz = footfall(
        &db,
        &["site", "add", "other.org", "--timezone", "Mars/Base"],
    );
    assert!(!bad_tz.status.success());
    assert!(text(&bad_tz.stderr).contains("unknown time zone"));

    let bad_domain = footfall(&db, &["site", "add", "https://other.org/x"]);
    assert!(!bad_domain.status.success());
    assert!(text(&bad_domain.stderr).contains("not a domain name"));

    let list = footfall(&db, &["site", "list"]);
    assert!(list.status.success());
    let listed = text(&list.stdout);
    assert!(listed.contains("example.com\tEurope/Berlin"), "{listed}");
    assert_eq!(listed.lines().count(), 1, "{listed}");
    db.cleanup().await;
}

async fn seed_writes_exactly_the_requested_events_with_sessions(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    assert!(
        footfall(&db, &["site", "add", "example.com"])
            .status
            .success()
    );
    let unknown = footfall(
        &db,
        &[
            "seed", "--site", "nope.org", "--events", "10", "--days", "1",
        ],
    );
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no site nope.org"));

    let seeded = footfall(
        &db,
        &[
            "seed",
            "--site",
            "example.com",
            "--events",
            "20000",
            "--days",
            "7",
        ],
    );
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    assert!(
        text(&seeded.stdout).contains("seeded 20000 events"),
        "{}",
        text(&seeded.stdout)
    );

    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let site = store.list_sites().await.unwrap_or_else(|e| panic!("{e}"))[0].clone();
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        20_000
    );
    let events = store
        .recent_events(site.id, 20_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now();
    assert!(
        events
            .iter()
            .all(|e| e.created_at <= now && now - e.created_at <= chrono::TimeDelta::days(7))
    );
    let distinct = |f: fn(&footfall::store::StoredEvent) -> Option<String>| {
        events
            .iter()
            .filter_map(f)
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    assert!(
        distinct(|e| Some(e.path.clone())) > 300,
        "a long tail of paths"
    );
    assert!(
        distinct(|e| e.referrer_source.clone()) >= 10,
        "many sources"
    );
    assert!(
        distinct(|e| e.utm_campaign.clone()) >= 3,
        "several campaigns"
    );
    assert!(distinct(|e| e.country.clone()) >= 10, "many countries");
    assert!(distinct(|e| Some(e.browser.clone())) >= 5, "a browser mix");
    assert!(
        events
            .iter()
            .any(|e| e.name != "pageview" && e.props.is_some()),
        "custom events with props"
    );
    let sessions = store
        .recent_sessions(site.id, 100_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let multi_page = sessions.iter().filter(|s| s.pageviews > 1).count();
    assert!(
        multi_page * 3 > sessions.len(),
        "{multi_page} of {} visits read more than one page",
        sessions.len()
    );
    let total: i64 = sessions.iter().map(|s| i64::from(s.events)).sum();
    assert_eq!(total, 20_000, "every event belongs to a session");
    db.cleanup().await;
}
