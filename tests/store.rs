//! The storage contract, run against both backends through the `Store` trait alone.

mod support;

use chrono::{NaiveDate, TimeDelta, Utc};
use footfall::domain::{Event, SiteDomain, TimeZone, VisitorId};
use footfall::store::StoreError;
use std::sync::Arc;
use support::{Backend, add_site, open_store};

both_backends!(
    a_visit_of_history_stays_one_visit_across_a_salt_rotation,
    adding_a_site_twice_is_a_conflict_not_a_crash,
    salts_are_shared_per_day_and_old_ones_are_deleted,
    a_visit_written_over_several_batches_is_one_session_row,
);

fn domain(d: &str) -> SiteDomain {
    SiteDomain::parse(d).unwrap_or_else(|e| panic!("{e}"))
}

/// A Firefox-on-Linux event from Germany for the writer tests; `source` sets the referrer.
fn event(
    site: footfall::domain::SiteId,
    visitor: i64,
    at: chrono::DateTime<Utc>,
    name: &str,
    path: &str,
    source: Option<&str>,
) -> Event {
    use footfall::domain::{EventName, PagePath, Props};
    Event {
        site_id: site,
        created_at: at,
        visitor_id: VisitorId(visitor),
        name: EventName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        hostname: "example.com".into(),
        path: PagePath::parse(path, None).unwrap_or_else(|e| panic!("{e}")),
        referrer: source.map(|_| "https://www.google.com/".into()),
        referrer_source: source.map(str::to_owned),
        utm: footfall::domain::Utm::default(),
        browser: "Firefox",
        browser_version: "133".into(),
        os: "Linux",
        os_version: String::new(),
        device: "desktop",
        country: Some("DE".into()),
        region: None,
        city: None,
        viewport_width: Some(1280),
        props: Props::default(),
        revenue: None,
    }
}

async fn adding_a_site_twice_is_a_conflict_not_a_crash(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let tz = TimeZone::parse("Asia/Tokyo").unwrap_or_else(|e| panic!("{e}"));
    let site = store
        .add_site(&domain("example.com"), tz)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.add_site(&domain("example.com"), tz).await,
        Err(StoreError::SiteExists(d)) if d == "example.com"
    ));
    let sites = store.list_sites().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sites, vec![site]);
    assert_eq!(sites[0].timezone.name(), "Asia/Tokyo");
    db.cleanup().await;
}

async fn salts_are_shared_per_day_and_old_ones_are_deleted(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    // A second collector on the same database.
    let other = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
    let a = store
        .salt_for_day(day(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = other
        .salt_for_day(day(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b, "collectors must agree on a day's salt");
    let c = store
        .salt_for_day(day(2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a.key, c.key);
    assert_eq!(
        store
            .delete_salts_before(day(2))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
    let again = store
        .salt_for_day(day(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(again.key, a.key, "a deleted salt can never come back");

    // The rotation keeps today and tomorrow and deletes the rest.
    let salts = footfall::ingest::visitor::Salts::load(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(salts);
    // The salts in use start yesterday before noon UTC (UTC-12 is still there): none older.
    let in_use = footfall::ingest::visitor::salt_days(Utc::now())[0];
    assert_eq!(
        store
            .delete_salts_before(in_use)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    db.cleanup().await;
}

/// An import of history runs beside `serve`, whose salt rotation purges the shared open visits
/// every minute: a visit of June whose batches straddle a rotation stays one visit.
async fn a_visit_of_history_stays_one_visit_across_a_salt_rotation(backend: Backend) {
    use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let site = add_site(&store, "example.com", "UTC").await;
    let start = chrono::DateTime::from_timestamp(1_781_085_600, 0).unwrap_or_default(); // 2026-06-10 10:00 UTC
    let at = |minute| start + TimeDelta::minutes(minute);
    let mut sessions = Sessionizer::new(SESSION_TIMEOUT, 0, []);
    let first = vec![
        event(site.id, 7, at(0), "pageview", "/", Some("Google")),
        event(site.id, 7, at(1), "pageview", "/a", None),
    ];
    store
        .write_batch(Arc::new(sessions.assign(first)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .delete_salts_before(Utc::now().date_naive())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second = vec![event(site.id, 7, at(5), "pageview", "/b", None)];
    store
        .write_batch(Arc::new(sessions.assign(second)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = store
        .recent_sessions(site.id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].pageviews, rows[0].exit_path.as_str()), (3, "/b"));
    db.cleanup().await;
}

async fn a_visit_written_over_several_batches_is_one_session_row(backend: Backend) {
    use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let site = add_site(&store, "example.com", "UTC").await;
    let start = Utc::now() - TimeDelta::minutes(20);
    let event = |minute: i64, name: &str, path: &str, source: Option<&str>| {
        event(
            site.id,
            42,
            start + TimeDelta::minutes(minute),
            name,
            path,
            source,
        )
    };
    let mut sessions = Sessionizer::new(SESSION_TIMEOUT, 0, []);
    for batch in [
        vec![
            event(0, "pageview", "/", Some("Google")),
            event(1, "pageview", "/pricing", None),
        ],
        vec![event(2, "Signup", "/pricing", None)],
        vec![event(3, "pageview", "/thanks", None)],
    ] {
        store
            .write_batch(Arc::new(sessions.assign(batch)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let rows = store
        .recent_sessions(site.id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let s = &rows[0];
    assert_eq!((s.pageviews, s.events), (3, 4));
    assert_eq!(
        (s.entry_path.as_str(), s.exit_path.as_str()),
        ("/", "/thanks")
    );
    assert_eq!(s.ended_at - s.started_at, TimeDelta::minutes(3));
    assert_eq!(
        s.referrer_source.as_deref(),
        Some("Google"),
        "entry dimensions stay those of the first event"
    );
    let open = store
        .open_sessions(Utc::now() - SESSION_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id.0, s.id);
    assert_eq!(open[0].visitor_id, VisitorId(42));
    db.cleanup().await;
}

both_backends!(
    a_late_event_moves_a_visit_start_and_a_missing_visit_row_is_inserted,
    a_batch_with_thousands_of_visits_is_written_in_one_go,
);

/// The writer updates visits it already knows in place and inserts the rest; a late event from
/// before a stored visit's start moves the start back, and a visit the writer thought stored
/// (its first batch was refused) is inserted whole by the next batch.
async fn a_late_event_moves_a_visit_start_and_a_missing_visit_row_is_inserted(backend: Backend) {
    use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let site = add_site(&store, "example.com", "UTC").await;
    let start = Utc::now() - TimeDelta::minutes(20);
    let event = |visitor: i64, minute: i64, path: &str| {
        event(
            site.id,
            visitor,
            start + TimeDelta::minutes(minute),
            "pageview",
            path,
            None,
        )
    };
    let mut sessions = Sessionizer::new(SESSION_TIMEOUT, 0, []);
    let write = |batch| {
        let store = store.clone();
        async move {
            store
                .write_batch(Arc::new(batch))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    // Visitor 1: stored from minute 5; then minute 7 and a late minute 2 arrive together.
    write(sessions.assign(vec![event(1, 5, "/a")])).await;
    write(sessions.assign(vec![event(1, 7, "/b"), event(1, 2, "/early")])).await;
    // And another late one, in a batch of its own (as from another collector).
    write(sessions.assign(vec![event(1, 4, "/late")])).await;
    // Visitor 2: its first batch never reaches the store.
    drop(sessions.assign(vec![event(2, 1, "/lost")]));
    write(sessions.assign(vec![event(2, 3, "/kept")])).await;

    let mut rows = store
        .recent_sessions(site.id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rows.sort_by_key(|s| s.visitor_id);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let one = &rows[0];
    assert_eq!(
        one.started_at.timestamp(),
        (start + TimeDelta::minutes(2)).timestamp()
    );
    assert_eq!(
        one.ended_at.timestamp(),
        (start + TimeDelta::minutes(7)).timestamp()
    );
    assert_eq!((one.pageviews, one.events), (4, 4));
    assert_eq!(
        one.exit_path, "/b",
        "the exit page is the latest pageview, whatever order they arrive in"
    );
    let two = &rows[1];
    assert_eq!((two.pageviews, two.events), (1, 1));
    assert_eq!(
        (two.entry_path.as_str(), two.exit_path.as_str()),
        ("/kept", "/kept")
    );
    assert_eq!(
        two.started_at.timestamp(),
        (start + TimeDelta::minutes(3)).timestamp()
    );
    db.cleanup().await;
}

/// Regression: multi-row inserts must stay under the backends' bound-parameter limits however
/// many events and visits one batch holds.
async fn a_batch_with_thousands_of_visits_is_written_in_one_go(backend: Backend) {
    use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let site = add_site(&store, "example.com", "UTC").await;
    let now = Utc::now();
    let events: Vec<Event> = (0..5_000)
        .map(|i| event(site.id, i, now, "pageview", "/", None))
        .collect();
    let batch = Sessionizer::new(SESSION_TIMEOUT, 0, []).assign(events);
    assert_eq!(batch.sessions.len(), 5_000);
    store
        .write_batch(Arc::new(batch))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        5_000
    );
    assert_eq!(
        store
            .recent_sessions(site.id, 10_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len(),
        5_000
    );
    db.cleanup().await;
}
