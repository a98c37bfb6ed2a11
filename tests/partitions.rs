//! Postgres's events partitioned by month (migration 0011, `store::postgres::partitions`): an
//! existing database migrates keeping its events and ids, range questions read only their
//! months, the upkeep makes months ahead and moves strays out of the default partition, and
//! retention drops whole months. (SQLite has no partitions: retention there is batched deletes,
//! tested in tests/retention.rs on both backends.)

mod support;

use chrono::{Datelike, Days, Months, TimeZone, Utc};
use footfall::store::build_pending;
use sqlx::{Connection, PgConnection};
use support::visits::{self, Profile, add_site, write};
use support::{Backend, TestDb};

async fn connect(db: &TestDb) -> PgConnection {
    PgConnection::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn text(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn partitions(conn: &mut PgConnection) -> Vec<String> {
    text(
        conn,
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'events'::regclass ORDER BY 1",
    )
    .await
}

fn month_name(t: chrono::DateTime<Utc>) -> String {
    format!("events_{:04}_{:02}", t.year(), t.month())
}

fn month_start(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("month of {t}"))
}

const INSERT: &str = "INSERT INTO events (site_id, created_at, visitor_id, session_id, name, \
     hostname, path, browser, browser_version, os, os_version, device) VALUES ";

fn row(site: i64, at: &str) -> String {
    format!(
        "({site}, {at}, 1, 1, 'pageview', 'example.com', '/', 'Chrome', '131', 'Windows', '10', \
         'Desktop')"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    footfall_skip_postgres,
    ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set"
)]
async fn an_existing_database_is_partitioned_keeping_its_events_and_their_ids() {
    let db = TestDb::new(Backend::Postgres)
        .await
        .unwrap_or_else(|| panic!("no database"));
    // The database as the release before partitions left it: migrations up to 0010.
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new("migrations/postgres"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= 10)
        .cloned()
        .collect();
    migrator.migrations = std::borrow::Cow::Owned(before);
    let mut conn = connect(&db).await;
    migrator
        .run(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for sql in [
        "INSERT INTO sites (domain) VALUES ('example.com')".to_owned(),
        format!(
            "{INSERT}{}, {}, {}",
            row(1, "now() - INTERVAL '400 days'"),
            row(1, "now() - INTERVAL '40 days'"),
            row(1, "now()")
        ),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let old_ids = text(&mut conn, "SELECT id::text FROM events ORDER BY id").await;
    assert_eq!(old_ids.len(), 3);

    // footfall starts: the last migration partitions the table.
    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        text(&mut conn, "SELECT id::text FROM events ORDER BY id").await,
        old_ids,
        "every event kept, with its id"
    );
    let now = Utc::now();
    let next = month_start(now) + Months::new(1);
    let mut expected = vec![
        "events_default".to_owned(),
        "events_legacy".to_owned(),
        month_name(next),
        month_name(next + Months::new(1)),
    ];
    expected.sort();
    assert_eq!(partitions(&mut conn).await, expected);

    // New events get later ids from the same sequence, into their month.
    let site = support::visits::add_site(&store, "new.example", "UTC").await;
    let profile = Profile {
        browser: ("Firefox", "133"),
        os: ("Linux", ""),
        device: "Desktop",
        ..Profile::default()
    };
    write(
        &store,
        visits::visit(&site, 7, &profile, &[(now, "pageview", "/", &[])]),
        1,
    )
    .await;
    let newest = text(
        &mut conn,
        "SELECT id::text || ' ' || tableoid::regclass::text FROM events ORDER BY id DESC LIMIT 1",
    )
    .await;
    let last_old: i64 = old_ids[2].parse().unwrap_or_default();
    assert_eq!(newest, vec![format!("{} events_legacy", last_old + 1)]);

    // A question on one month reads that month alone.
    let plan = text(
        &mut conn,
        &format!(
            "EXPLAIN SELECT count(*) FROM events WHERE site_id = 1 AND created_at >= '{}' \
             AND created_at < '{}'",
            next.to_rfc3339(),
            (next + Days::new(1)).to_rfc3339()
        ),
    )
    .await
    .join("\n");
    assert!(plan.contains(&month_name(next)), "{plan}");
    assert!(
        !plan.contains("events_legacy") && !plan.contains("events_default"),
        "{plan}"
    );
    drop(conn);
    drop(store);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    footfall_skip_postgres,
    ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set"
)]
async fn the_upkeep_makes_months_ahead_and_moves_strays_out_of_the_default() {
    let (store, db) = support::open_store(Backend::Postgres)
        .await
        .unwrap_or_else(|| panic!("no database"));
    let mut conn = connect(&db).await;
    let now = Utc::now();
    let far = month_start(now) + Months::new(4) + Days::new(3);
    for sql in [
        "INSERT INTO sites (domain) VALUES ('example.com')".to_owned(),
        format!("{INSERT}{}", row(1, &format!("'{}'", far.to_rfc3339()))),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let home = "SELECT tableoid::regclass::text FROM events";
    assert_eq!(text(&mut conn, home).await, vec!["events_default"]);
    // Nothing due now: the migration made the next two months.
    assert_eq!(store.keep_partitions(now).await.ok(), Some(0));
    // Three months on, that month and the two after are made; the stray moves into its month.
    let later = now + Months::new(3);
    let made = store
        .keep_partitions(later)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(made, 3);
    assert_eq!(text(&mut conn, home).await, vec![month_name(far)]);
    assert_eq!(store.keep_partitions(later).await.ok(), Some(0));
    drop(conn);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    footfall_skip_postgres,
    ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set"
)]
async fn retention_drops_whole_months_and_the_figures_stay() {
    let (store, db) = support::open_store(Backend::Postgres)
        .await
        .unwrap_or_else(|| panic!("no database"));
    let mut conn = connect(&db).await;
    // A database partitioned for a while: months of their own back to four months ago.
    sqlx::raw_sql("ALTER TABLE events DETACH PARTITION events_legacy; DROP TABLE events_legacy")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = Utc::now();
    for back in [4, 1] {
        store
            .keep_partitions(now - Months::new(back))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    let months_before = partitions(&mut conn).await;
    let today = now.date_naive();
    let site = add_site(&store, "example.com", "UTC").await;
    let profile = Profile {
        browser: ("Firefox", "133"),
        os: ("Linux", ""),
        device: "Desktop",
        ..Profile::default()
    };
    let mut events = Vec::new();
    for d in 1..=100u64 {
        let at = (today - Days::new(d))
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default()
            .and_utc();
        events.extend(visits::visit(
            &site,
            d as i64,
            &profile,
            &[(at, "pageview", "/", &[])],
        ));
    }
    write(&store, events, 100).await;
    build_pending(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let q = visits::query(
        &site,
        &(today - Days::new(120)).to_string(),
        &today.to_string(),
        Vec::new(),
    );
    let before = store.aggregate(&q).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(before.pageviews, 100);

    let report = store
        .apply_retention(Some(10), now)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
        .unwrap_or_else(|| panic!("no turn"));
    // Months that end before the cutoff (today - 9 days) went whole.
    let cutoff = (today - Days::new(9))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let whole: Vec<_> = months_before
        .iter()
        .filter(|name| {
            (1..=5).any(|back| {
                let m = month_start(now) - Months::new(back);
                **name == month_name(m) && m + Months::new(1) <= cutoff
            })
        })
        .cloned()
        .collect();
    assert!(!whole.is_empty());
    assert_eq!(report.partitions, whole.len() as u64, "{report:?}");
    let left = partitions(&mut conn).await;
    assert!(whole.iter().all(|name| !left.contains(name)), "{left:?}");
    // The rest went row by row: only the last 9 days are left.
    let count = text(&mut conn, "SELECT count(*)::text FROM events").await;
    assert_eq!(count, vec!["9"]);
    assert_eq!(store.aggregate(&q).await.ok(), Some(before));
    drop(conn);
    db.cleanup().await;
}
