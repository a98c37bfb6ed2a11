//! A small data set whose every number is worked out by hand, for the stats tests
//! (`tests/stats.rs`, `tests/stats_filters.rs`). Nothing is rolled up: days are answered raw.
//!
//! Site example.com, Europe/Berlin (UTC+2 in June). Day A = 2026-06-10, day B = 2026-06-11
//! (local). Times are UTC; "A"/"B" is the local day.
//!
//! | visit | visitor | events (UTC)                                                  | day | source      |
//! |-------|---------|---------------------------------------------------------------|-----|-------------|
//! | 1     | 1       | 10:00 pv /, 10:02 pv /pricing, 10:05 Signup /pricing {plan:pro}, 10:06 pv /thanks | A | Google |
//! | 2     | 2       | 14:00 pv /pricing                                             | A   | (direct)    |
//! | 3     | 1       | 18:00 pv /blog/post_1, 18:01 Outbound Link: Click {url}       | A   | Hacker News + utm hn/social/launch_50%_off |
//! | 4     | 3       | 21:50 pv / (A, 23:50 local), 22:10 pv /pricing (B, 00:10 local) | A (start) | Google |
//! | 5     | 4       | 23:30 pv / (B, 01:30 local on the 11th)                       | B   | (direct)    |
//! | 6     | 5       | 06-11 09:00 pv /100%_real, 09:03 pv /pricing                  | B   | Bing        |
//!
//! Visitors: 1 DE/Berlin Chrome 131 Windows 10 desktop; 2 and 4 US/California/San Francisco
//! Safari 18 iOS 18.1 mobile; 3 GB/England/London Firefox 133 Linux "" desktop; 5
//! FR/Île-de-France/Paris Edge 131 Windows 10 desktop.
//!
//! Day A: events E1–E8 = 8, pageviews 6, visitors {1,2,3} = 3; visits 1–4 (started on A).
//! Day B: events 4 (22:10, 23:30, 09:00, 09:03), pageviews 4, visitors {3,4,5} = 3; visits 5, 6.
//! Visits: pageviews 3,1,1,2,1,2 = 10; events 4,1,2,2,1,2; durations 360,0,60,1200,0,180 = 1800 s;
//! bounces (≤ 1 pageview): 2, 3, 5.

use super::visits::{Profile, query, utc, visit, write};
use super::{Backend, TestDb};
use footfall::domain::Site;
use footfall::stats::{Aggregate, Dimension as D, Filter};
use footfall::store::DynStore;

pub type Row = (&'static str, i64, i64, i64);

const DE: (&str, &str, &str) = ("DE", "Berlin", "Berlin");
const US: (&str, &str, &str) = ("US", "California", "San Francisco");
const GOOGLE: (&str, &str) = ("Google", "https://www.google.com/");

pub struct Fixture {
    pub db: TestDb,
    pub store: DynStore,
    pub site: Site,
}

pub async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = TestDb::new(backend).await?;
    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let site = populate(&store).await;
    Some(Fixture { db, store, site })
}

/// Adds example.com (Europe/Berlin) to `store` with the data set's events; returns the site.
pub async fn populate(store: &DynStore) -> Site {
    let site = super::visits::add_site(store, "example.com", "Europe/Berlin").await;
    let v1 = Profile {
        source: Some(GOOGLE),
        place: Some(DE),
        browser: ("Chrome", "131"),
        os: ("Windows", "10"),
        device: "desktop",
        ..Profile::default()
    };
    let v1_hn = Profile {
        source: Some(("Hacker News", "https://news.ycombinator.com/")),
        utm: Some(("hn", "social", "launch_50%_off")),
        ..v1.clone()
    };
    let iphone = Profile {
        place: Some(US),
        browser: ("Safari", "18"),
        os: ("iOS", "18.1"),
        device: "mobile",
        ..Profile::default()
    };
    let v3 = Profile {
        source: Some(GOOGLE),
        place: Some(("GB", "England", "London")),
        browser: ("Firefox", "133"),
        os: ("Linux", ""),
        device: "desktop",
        ..Profile::default()
    };
    let v5 = Profile {
        source: Some(("Bing", "https://www.bing.com/")),
        place: Some(("FR", "Île-de-France", "Paris")),
        browser: ("Edge", "131"),
        os: ("Windows", "10"),
        device: "desktop",
        ..Profile::default()
    };
    let t = |s: &str| utc(&format!("2026-06-{s}"));
    let mut events = Vec::new();
    events.extend(visit(
        &site,
        1,
        &v1,
        &[
            (t("10 10:00"), "pageview", "/", &[]),
            (t("10 10:02"), "pageview", "/pricing", &[]),
            (t("10 10:05"), "Signup", "/pricing", &[("plan", "pro")]),
            (t("10 10:06"), "pageview", "/thanks", &[]),
        ],
    ));
    events.extend(visit(
        &site,
        2,
        &iphone,
        &[(t("10 14:00"), "pageview", "/pricing", &[])],
    ));
    events.extend(visit(
        &site,
        1,
        &v1_hn,
        &[
            (t("10 18:00"), "pageview", "/blog/post_1", &[]),
            (
                t("10 18:01"),
                "Outbound Link: Click",
                "/blog/post_1",
                &[("url", "https://github.com/x")],
            ),
        ],
    ));
    events.extend(visit(
        &site,
        3,
        &v3,
        &[
            (t("10 21:50"), "pageview", "/", &[]),
            (t("10 22:10"), "pageview", "/pricing", &[]),
        ],
    ));
    events.extend(visit(
        &site,
        4,
        &iphone,
        &[(t("10 23:30"), "pageview", "/", &[])],
    ));
    events.extend(visit(
        &site,
        5,
        &v5,
        &[
            (t("11 09:00"), "pageview", "/100%_real", &[]),
            (t("11 09:03"), "pageview", "/pricing", &[]),
        ],
    ));
    // Two batches, split inside visit 1, as a running writer would.
    write(store, events, 3).await;
    site
}

/// (visitors, visits, pageviews, events, views per visit, bounce rate, visit duration)
pub fn figures(a: Aggregate) -> (i64, i64, i64, i64, f64, f64, f64) {
    let r = |x: f64| (x * 1e6).round() / 1e6;
    (
        a.visitors,
        a.visits,
        a.pageviews,
        a.events,
        r(a.views_per_visit),
        r(a.bounce_rate),
        r(a.visit_duration),
    )
}

pub async fn aggregate(
    f: &Fixture,
    from: &str,
    to: &str,
    filters: Vec<Filter>,
) -> (i64, i64, i64, i64, f64, f64, f64) {
    let q = query(&f.site, from, to, filters);
    figures(
        f.store
            .aggregate(&q)
            .await
            .unwrap_or_else(|e| panic!("{e:?}")),
    )
}

pub const A: &str = "2026-06-10";
pub const B: &str = "2026-06-11";

/// Every dimension's breakdown of days A and B, worked out by hand: (value, visitors, pageviews,
/// events), `""` for "not set", biggest first.
pub fn breakdowns() -> Vec<(D, Vec<Row>)> {
    let utm_none = ("", 5, 9, 10); // visits 1, 2, 4 on A (visitors 1, 2, 3) and 5, 6 on B
    let no_utm = [("", 5, 10, 12)]; // every visit
    let country = [
        ("US", 2, 2, 2),
        ("DE", 1, 4, 6),
        ("FR", 1, 2, 2),
        ("GB", 1, 2, 2),
    ];
    vec![
        // Events: "/" = visitors 1, 3 on A and 4 on B; /pricing = 1, 2 on A and 3, 5 on B, plus
        // the Signup event on it.
        (
            D::Page,
            vec![
                ("/pricing", 4, 4, 5),
                ("/", 3, 3, 3),
                ("/blog/post_1", 1, 1, 2),
                ("/100%_real", 1, 1, 1),
                ("/thanks", 1, 1, 1),
            ],
        ),
        // Visits, whole, on their start day: "/" = visits 1, 4 (A) and 5 (B).
        (
            D::EntryPage,
            vec![
                ("/", 3, 6, 7),
                ("/100%_real", 1, 2, 2),
                ("/blog/post_1", 1, 1, 2),
                ("/pricing", 1, 1, 1),
            ],
        ),
        (
            D::ExitPage,
            vec![
                ("/pricing", 3, 5, 5),
                ("/thanks", 1, 3, 4),
                ("/blog/post_1", 1, 1, 2),
                ("/", 1, 1, 1),
            ],
        ),
        (
            D::Source,
            vec![
                ("Google", 2, 5, 6),
                ("", 2, 2, 2),
                ("Bing", 1, 2, 2),
                ("Hacker News", 1, 1, 2),
            ],
        ),
        (
            D::Referrer,
            vec![
                ("https://www.google.com/", 2, 5, 6),
                ("", 2, 2, 2),
                ("https://www.bing.com/", 1, 2, 2),
                ("https://news.ycombinator.com/", 1, 1, 2),
            ],
        ),
        (D::UtmSource, vec![utm_none, ("hn", 1, 1, 2)]),
        (D::UtmMedium, vec![utm_none, ("social", 1, 1, 2)]),
        (D::UtmCampaign, vec![utm_none, ("launch_50%_off", 1, 1, 2)]),
        (D::UtmContent, no_utm.to_vec()),
        (D::UtmTerm, no_utm.to_vec()),
        (D::Country, country.to_vec()),
        (
            D::Region,
            vec![
                ("California", 2, 2, 2),
                ("Berlin", 1, 4, 6),
                ("England", 1, 2, 2),
                ("Île-de-France", 1, 2, 2),
            ],
        ),
        (
            D::City,
            vec![
                ("San Francisco", 2, 2, 2),
                ("Berlin", 1, 4, 6),
                ("London", 1, 2, 2),
                ("Paris", 1, 2, 2),
            ],
        ),
        (
            D::Browser,
            vec![
                ("Safari", 2, 2, 2),
                ("Chrome", 1, 4, 6),
                ("Edge", 1, 2, 2),
                ("Firefox", 1, 2, 2),
            ],
        ),
        // With its browser: Chrome 131 and Edge 131 are two rows.
        (
            D::BrowserVersion,
            vec![
                ("Safari 18", 2, 2, 2),
                ("Chrome 131", 1, 4, 6),
                ("Edge 131", 1, 2, 2),
                ("Firefox 133", 1, 2, 2),
            ],
        ),
        (
            D::Os,
            vec![("Windows", 2, 6, 8), ("iOS", 2, 2, 2), ("Linux", 1, 2, 2)],
        ),
        (
            D::OsVersion,
            vec![("10", 2, 6, 8), ("18.1", 2, 2, 2), ("", 1, 2, 2)],
        ),
        (D::Device, vec![("desktop", 3, 8, 10), ("mobile", 2, 2, 2)]),
        (
            D::EventName,
            vec![
                ("pageview", 6, 10, 10),
                ("Outbound Link: Click", 1, 0, 1),
                ("Signup", 1, 0, 1),
            ],
        ),
        (D::Prop("plan".into()), vec![("pro", 1, 0, 1)]),
        (
            D::Prop("url".into()),
            vec![("https://github.com/x", 1, 0, 1)],
        ),
        (D::Prop("missing".into()), vec![]),
    ]
}
