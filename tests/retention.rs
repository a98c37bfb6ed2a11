//! Retention (`--retention-days`, a site's own setting): raw events and visits past it are
//! deleted, the dashboard's figures for those days stay; and the once-only jobs (`store::once`)
//! that run it: once across three collectors, taken over when their holder is gone.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::log_in_owner;
use chrono::{Days, NaiveDate, TimeDelta, Utc};
use footfall::domain::Site;
use footfall::stats::{Aggregate, Dimension};
use footfall::store::{DynStore, Job, build_pending};
use std::time::Duration;
use support::visits::{self, Line, Profile, add_site, write};
use support::{Backend, Options, TestApp, TestDb, open_store, query_int, run_sql};

fn profile() -> Profile {
    Profile {
        source: Some(("Search", "https://search.example/")),
        browser: ("Firefox", "133"),
        os: ("Linux", ""),
        device: "Desktop",
        ..Profile::default()
    }
}

/// One visit a day on each of the `days` days before today (UTC 10:00): `/` then `/dN` (N the
/// day's number modulo 3), five minutes apart.
fn history(site: &Site, days: u64, today: NaiveDate) -> Vec<footfall::domain::Event> {
    let mut events = Vec::new();
    for d in 1..=days {
        let at = (today - Days::new(d))
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let second = format!("/d{}", d % 3);
        events.extend(visits::visit(
            site,
            site.id.0 * 1000 + d as i64,
            &profile(),
            &[
                (at, "pageview", "/", &[]),
                (at + TimeDelta::minutes(5), "pageview", &second, &[]),
            ],
        ));
    }
    events
}

/// Everything the dashboard shows of the last 60 days: the top figures and three breakdowns.
async fn figures(store: &DynStore, site: &Site, today: NaiveDate) -> (Aggregate, Vec<Vec<Line>>) {
    let from = (today - Days::new(60)).to_string();
    let q = visits::query(site, &from, &today.to_string(), Vec::new());
    let aggregate = store.aggregate(&q).await.unwrap_or_else(|e| panic!("{e}"));
    let mut breakdowns = Vec::new();
    for dimension in [Dimension::Page, Dimension::EntryPage, Dimension::Source] {
        breakdowns.push(visits::breakdown(store, &q, dimension).await);
    }
    (aggregate, breakdowns)
}

async fn raw_events(db: &TestDb, site: &Site) -> i64 {
    query_int(
        db,
        &format!("SELECT count(*) FROM events WHERE site_id = {}", site.id.0),
    )
    .await
}

async fn raw_visits(db: &TestDb, site: &Site) -> i64 {
    query_int(
        db,
        &format!(
            "SELECT count(*) FROM sessions WHERE site_id = {}",
            site.id.0
        ),
    )
    .await
}

async fn retain(store: &DynStore, days: Option<u32>) -> footfall::store::RetentionReport {
    store
        .apply_retention(days, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("retention left its turn to a builder, but none runs"))
}

async fn old_raw_rows_go_and_the_figures_of_their_days_stay(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let today = Utc::now().date_naive();
    let a = add_site(&store, "a.example", "UTC").await;
    let b = add_site(&store, "b.example", "Europe/Berlin").await;
    let mut events = history(&a, 40, today);
    events.extend(history(&b, 40, today));
    write(&store, events, 50).await;
    build_pending(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (before_a, before_b) = (
        figures(&store, &a, today).await,
        figures(&store, &b, today).await,
    );
    assert_eq!(before_a.0.visitors, 40, "{before_a:?}");

    // a keeps 10 days of its own; b follows the server, which keeps everything.
    store
        .set_site_retention(a.id, Some(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = retain(&store, None).await;
    // a keeps today and the 9 days before: days 10..=40 go, two events and one visit each.
    assert_eq!(
        (report.sites, report.events, report.visits, report.waiting),
        (1, 62, 31, 0),
        "{report:?}"
    );
    assert_eq!(
        (raw_events(&db, &a).await, raw_visits(&db, &a).await),
        (18, 9)
    );
    assert_eq!(
        (raw_events(&db, &b).await, raw_visits(&db, &b).await),
        (80, 40)
    );
    assert_eq!(
        figures(&store, &a, today).await,
        before_a,
        "a's figures after retention"
    );
    assert_eq!(figures(&store, &b, today).await, before_b);
    let kept = store
        .site_retention(a.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kept.days, Some(10));
    let first_kept = (today - Days::new(9))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    assert_eq!(kept.kept_from, Some(first_kept));

    // Another collector (a fresh store) loads the same figures from the kept segments.
    let fresh = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        figures(&fresh, &a, today).await,
        before_a,
        "a fresh collector"
    );

    // A late event on a deleted day does not rebuild that day from what is left of it, and the
    // next run deletes it.
    let late = (today - Days::new(20))
        .and_hms_opt(12, 0, 0)
        .unwrap_or_default()
        .and_utc();
    write(
        &store,
        visits::visit(&a, 999, &profile(), &[(late, "pageview", "/late", &[])]),
        1,
    )
    .await;
    // (Not the newest event of all, which retention keeps: see the next test.)
    let d = add_site(&store, "d.example", "UTC").await;
    write(
        &store,
        visits::visit(&d, 1, &profile(), &[(Utc::now(), "pageview", "/", &[])]),
        1,
    )
    .await;
    build_pending(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        figures(&store, &a, today).await,
        before_a,
        "after a late event"
    );
    let report = retain(&store, None).await;
    assert_eq!((report.events, report.visits), (1, 1), "{report:?}");

    // The server's setting applies to b (and d, which has nothing old), in b's days: 30 kept,
    // days 30..=40 go.
    let report = retain(&store, Some(30)).await;
    assert_eq!(
        (report.sites, report.events, report.visits),
        (3, 22, 11),
        "{report:?}"
    );
    assert_eq!(raw_events(&db, &b).await, 58);
    assert_eq!(
        figures(&store, &b, today).await,
        before_b,
        "b's figures after retention"
    );
    // a's own 10 days still win over the server's 30.
    assert_eq!(raw_events(&db, &a).await, 18);

    // Nothing is deleted past what the segments cover: a site whose segments are not built
    // waits (and says so), its rows untouched.
    let c = add_site(&store, "c.example", "UTC").await;
    write(&store, history(&c, 20, today), 50).await;
    store
        .set_site_retention(c.id, Some(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    run_sql(
        &db,
        &[&format!(
            "DELETE FROM segment_sites WHERE site_id = {}",
            c.id.0
        )],
    )
    .await;
    let report = retain(&store, Some(30)).await;
    assert_eq!(
        (report.waiting, raw_events(&db, &c).await),
        (1, 40),
        "{report:?}"
    );
    db.cleanup().await;
}

async fn the_newest_event_stays_so_that_its_id_is_never_given_again(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let today = Utc::now().date_naive();
    // A database idle for longer than its retention: every event is past it.
    let site = add_site(&store, "idle.example", "UTC").await;
    write(&store, history(&site, 20, today), 50).await;
    build_pending(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let newest = query_int(&db, "SELECT MAX(id) FROM events").await;
    store
        .set_site_retention(site.id, Some(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = retain(&store, None).await;
    assert_eq!(report.events, 39, "{report:?}");
    assert_eq!(query_int(&db, "SELECT MAX(id) FROM events").await, newest);
    let now = Utc::now();
    write(
        &store,
        visits::visit(&site, 1, &profile(), &[(now, "pageview", "/", &[])]),
        1,
    )
    .await;
    assert!(query_int(&db, "SELECT MAX(id) FROM events").await > newest);
    db.cleanup().await;
}

/// Holds `job` as another process would: the advisory lock on a connection of the test's own
/// (Postgres), a lease that does not run out (SQLite).
enum Holder {
    Postgres(sqlx::PgConnection),
    Sqlite,
}

async fn hold(db: &TestDb, job: Job) -> Holder {
    use sqlx::Connection;
    match db.backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(job.lock_key())
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            Holder::Postgres(conn)
        }
        Backend::Sqlite => {
            let until = Utc::now().timestamp() + 3600;
            run_sql(
                db,
                &[&format!(
                    "INSERT INTO jobs (name, holder, held_until) VALUES ('{}', 42, {until})",
                    job.name()
                )],
            )
            .await;
            Holder::Sqlite
        }
    }
}

/// The holder dies: its connection goes (Postgres), its lease runs out (SQLite).
async fn crash(db: &TestDb, holder: Holder, job: Job) {
    match holder {
        Holder::Postgres(conn) => drop(conn),
        Holder::Sqlite => {
            run_sql(
                db,
                &[&format!(
                    "UPDATE jobs SET held_until = 1 WHERE name = '{}'",
                    job.name()
                )],
            )
            .await
        }
    }
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..150 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn three_collectors_run_retention_once_and_take_over_from_a_dead_holder(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let today = Utc::now().date_naive();
    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let site = add_site(&store, "example.com", "UTC").await;
    write(&store, history(&site, 20, today), 50).await;
    drop(store);

    let holder = hold(&db, Job::Retention).await;
    let options = || Options {
        sites: Vec::new(),
        retention_days: Some(5),
        jobs_tick: Some(Duration::from_millis(100)),
        ..Options::default()
    };
    let url = db.url.clone();
    let first = TestApp::spawn_on(db, options()).await;
    let mut apps = vec![first];
    for _ in 0..2 {
        apps.push(TestApp::spawn_on(TestDb::existing(url.clone(), backend), options()).await);
    }
    let db = &apps[0].db;
    // The segments get built (by one of them); retention stays with its holder.
    wait_for("the segments", async || {
        query_int(db, "SELECT count(*) FROM segments").await == 20
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        raw_events(db, &site).await,
        40,
        "retention ran while another held it"
    );

    crash(db, holder, Job::Retention).await;
    // Today and the 4 days before are kept: days 1..=4 of the history.
    wait_for("retention", async || raw_events(db, &site).await == 8).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = query_int(db, "SELECT runs FROM jobs WHERE name = 'retention'").await;
    assert_eq!(runs, 1, "three collectors, one retention run an hour");
    let mut apps = apps.into_iter();
    let first = apps.next();
    for app in apps {
        app.stop().await;
    }
    if let Some(first) = first {
        let (_, _, db) = first.stop().await;
        db.cleanup().await;
    }
}

async fn a_site_sets_its_retention_in_its_settings(backend: Backend) {
    let options = Options {
        retention_days: Some(90),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    let mut browser = log_in_owner(&app).await;
    let page = browser.get("/sites/example.com/settings").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("90 days (the server"), "{}", page.body);
    let token = page.csrf_token();

    let saved = browser
        .post(
            "/sites/example.com/retention",
            &[("csrf_token", &token), ("days", "30")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let site = app.site("example.com").await;
    let stored = app
        .store
        .site_retention(site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.days, Some(30));
    let page = browser.get("/sites/example.com/settings").await;
    assert!(page.body.contains("30 days (this site"), "{}", page.body);
    assert!(
        page.body.contains(r#"name="days" value="30""#),
        "{}",
        page.body
    );

    for bad in ["abc", "0", "-3", "36601", "1.5"] {
        let refused = browser
            .post(
                "/sites/example.com/retention",
                &[("csrf_token", &token), ("days", bad)],
            )
            .await;
        assert_eq!(refused.status, 400, "{bad}");
        assert!(
            refused
                .body
                .contains("Retention must be a whole number of days"),
            "{bad}"
        );
    }
    let no_csrf = browser
        .post("/sites/example.com/retention", &[("days", "7")])
        .await;
    assert_eq!(no_csrf.status, 403);

    let cleared = browser
        .post(
            "/sites/example.com/retention",
            &[("csrf_token", &token), ("days", "")],
        )
        .await;
    assert_eq!(cleared.status, 303);
    let stored = app
        .store
        .site_retention(site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.days, None, "empty: the server's setting");
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

both_backends!(
    old_raw_rows_go_and_the_figures_of_their_days_stay,
    the_newest_event_stays_so_that_its_id_is_never_given_again,
    three_collectors_run_retention_once_and_take_over_from_a_dead_holder,
    a_site_sets_its_retention_in_its_settings,
);
