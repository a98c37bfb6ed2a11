//! A visitor id lives for one local day of its site (the dashboard's days), not one UTC day: a
//! visit across midnight UTC in New York, Berlin or Kolkata stays one visitor, across local
//! midnight it does not, and daylight-saving changes do not split a day. Salts come from the
//! store as the collector loads them, and are deleted once their date is over everywhere.

mod support;

use chrono::{DateTime, TimeZone as _, Utc};
use footfall::domain::VisitorId;
use footfall::ingest::parser::{self, Enrichment, Parsed, RequestMeta};
use footfall::ingest::sites::SiteCache;
use footfall::ingest::visitor::{Salts, salt_days};
use support::{Backend, CHROME_UA, TestDb};

both_backends!(visits_across_midnight_utc_stay_one_visitor_on_local_days);

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap_or_else(|| panic!("{y}-{m}-{d} {h}:{min}"))
}

async fn salts_in_db(db: &TestDb) -> i64 {
    use sqlx::Connection;
    let sql = "SELECT COUNT(*) FROM salts";
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query_scalar(sql).fetch_one(&mut c).await
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query_scalar(sql).fetch_one(&mut c).await
        }
    }
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn visits_across_midnight_utc_stay_one_visitor_on_local_days(backend: Backend) {
    let Some((store, db)) = support::open_store(backend).await else {
        return;
    };
    for (domain, tz) in [
        ("ny.example", "America/New_York"),
        ("berlin.example", "Europe/Berlin"),
        ("kolkata.example", "Asia/Kolkata"),
    ] {
        support::add_site(&store, domain, tz).await;
    }
    let sites = SiteCache::load(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let salts = Salts::default();
    let ip = "203.0.113.9".parse().unwrap_or_else(|e| panic!("{e}"));
    // The collector's salts as of `at`, then the visitor id of a pageview at `at`.
    let visitor = async |domain: &str, at: DateTime<Utc>| -> VisitorId {
        salts
            .rotate(store.as_ref(), at)
            .await
            .unwrap_or_else(|e| panic!("rotating salts: {e}"));
        let body = format!(r#"{{"n":"pageview","u":"https://{domain}/","d":"{domain}"}}"#);
        let meta = RequestMeta {
            user_agent: CHROME_UA,
            ip,
            received_at: at,
        };
        let ctx = Enrichment {
            sites: &sites,
            salts: &salts,
            geoip: None,
        };
        match parser::parse(body.as_bytes(), meta, ctx) {
            Ok(Parsed::Event(event)) => event.visitor_id,
            other => panic!("{domain} at {at}: {other:?}"),
        }
    };

    // (site, two instants, same local day?)
    let cases = [
        // Across midnight UTC, inside one local day: 18:50 → 19:10 EST.
        (
            "ny.example",
            utc(2026, 11, 10, 23, 50),
            utc(2026, 11, 11, 0, 10),
            true,
        ),
        // Across local midnight: 23:50 → 00:10 EST.
        (
            "ny.example",
            utc(2026, 11, 11, 4, 50),
            utc(2026, 11, 11, 5, 10),
            false,
        ),
        // Spring forward (8 March 2026, 02:00 EST → 03:00 EDT): 01:50 EST → 03:10 EDT.
        (
            "ny.example",
            utc(2026, 3, 8, 6, 50),
            utc(2026, 3, 8, 7, 10),
            true,
        ),
        // Fall back (1 November 2026): 01:30 EDT → 01:30 EST, one local day of 25 hours.
        (
            "ny.example",
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 1, 6, 30),
            true,
        ),
        // …and its local midnight, 23:50 → 00:10 EST.
        (
            "ny.example",
            utc(2026, 11, 2, 4, 50),
            utc(2026, 11, 2, 5, 10),
            false,
        ),
        // Berlin: midnight UTC is 01:00 CET, inside one local day.
        (
            "berlin.example",
            utc(2026, 11, 10, 23, 50),
            utc(2026, 11, 11, 0, 10),
            true,
        ),
        // Local midnight: 23:50 → 00:10 CET.
        (
            "berlin.example",
            utc(2026, 11, 10, 22, 50),
            utc(2026, 11, 10, 23, 10),
            false,
        ),
        // Spring forward (29 March 2026, 02:00 CET → 03:00 CEST): 01:50 CET → 03:10 CEST.
        (
            "berlin.example",
            utc(2026, 3, 29, 0, 50),
            utc(2026, 3, 29, 1, 10),
            true,
        ),
        // Summer time: midnight UTC is 02:00 CEST.
        (
            "berlin.example",
            utc(2026, 7, 1, 23, 50),
            utc(2026, 7, 2, 0, 10),
            true,
        ),
        // Kolkata (UTC+05:30): midnight UTC is 05:30 IST; local midnight is 18:30 UTC.
        (
            "kolkata.example",
            utc(2026, 11, 10, 23, 50),
            utc(2026, 11, 11, 0, 10),
            true,
        ),
        (
            "kolkata.example",
            utc(2026, 11, 10, 18, 20),
            utc(2026, 11, 10, 18, 40),
            false,
        ),
    ];
    for (domain, first, second, same_day) in cases {
        let a = visitor(domain, first).await;
        let b = visitor(domain, second).await;
        assert_eq!(
            a == b,
            same_day,
            "{domain}: {first} and {second} should be {} visitor(s)",
            if same_day { "one" } else { "two" }
        );
    }

    // Salts in use are the dates some time zone is in, plus the next; older ones are deleted.
    let now = utc(2026, 12, 2, 15, 0);
    salts
        .rotate(store.as_ref(), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(salts_in_db(&db).await, salt_days(now).len() as i64);
    assert_eq!(
        salt_days(now)
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        ["2026-12-02", "2026-12-03", "2026-12-04"],
        "at 15:00 UTC every zone is on the 2nd or the 3rd"
    );
    db.cleanup().await;
}
