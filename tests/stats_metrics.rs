//! Visit metrics (visits, bounce rate, visit duration, views per visit) and events in breakdowns
//! and time series, on both backends: worked out by hand on the known data set
//! (tests/support/known.rs has the visits table), and the invariants on generated traffic — a
//! breakdown row is the aggregate filtered on it, a daily bucket is the aggregate of its day.

mod support;

use chrono::Utc;
use footfall::stats::{
    Aggregate, BreakdownRow, Dimension as D, Filter, Interval, Metrics, Point, StatsQuery,
};
use footfall::store::DynStore;
use footfall::store::build_pending;
use support::Backend;
use support::known::{A, B, fixture};
use support::traffic::traffic;
use support::visits::{add_site, is, query, write};

both_backends!(
    breakdowns_carry_the_visit_figures_of_each_value,
    daily_buckets_count_visits_on_the_day_they_started,
    hourly_buckets_count_visits_in_the_hour_they_started,
    visit_figures_are_only_computed_when_asked_for,
    every_breakdown_row_equals_the_aggregate_filtered_on_it,
    generated_traffic_keeps_rows_and_days_equal_to_their_aggregates,
);

/// (value, visits, bounces, duration seconds, visit pageviews)
type Sums = (&'static str, i64, i64, i64, i64);

fn sums(rows: &[BreakdownRow]) -> Vec<(String, i64, i64, i64, i64)> {
    rows.iter()
        .map(|r| {
            let v = r
                .visits
                .unwrap_or_else(|| panic!("no visit figures: {r:?}"));
            let value = r.value.clone().unwrap_or_default();
            (value, v.visits, v.bounces, v.duration, v.pageviews)
        })
        .collect()
}

fn expect(rows: &[Sums]) -> Vec<(String, i64, i64, i64, i64)> {
    rows.iter()
        .map(|&(v, a, b, c, d)| (v.to_owned(), a, b, c, d))
        .collect()
}

async fn rows(store: &DynStore, q: &StatsQuery, d: &D) -> Vec<BreakdownRow> {
    store
        .breakdown_with(q, d, 100, 0, Metrics::WithVisits)
        .await
        .unwrap_or_else(|e| panic!("{d}: {e:?}"))
}

async fn points(store: &DynStore, q: &StatsQuery, interval: Interval) -> Vec<Point> {
    store
        .timeseries_with(q, interval, Metrics::WithVisits)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
}

async fn breakdowns_carry_the_visit_figures_of_each_value(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let q = query(&f.site, A, B, vec![]);
    // Visits: 1 (pv 3, 360 s), 2 (bounce, 0 s), 3 (bounce, 60 s), 4 (pv 2, 1200 s), 5 (bounce,
    // 0 s), 6 (pv 2, 180 s).
    let cases: Vec<(D, Vec<Sums>)> = vec![
        // A page's visits are those with an event on it: /pricing = 1, 2, 4 (its /pricing view
        // is on day B, the visit started on A: still one visit of the range), 6.
        (
            D::Page,
            vec![
                ("/pricing", 4, 1, 360 + 1200 + 180, 3 + 1 + 2 + 2),
                ("/", 3, 1, 360 + 1200, 3 + 2 + 1),
                ("/blog/post_1", 1, 1, 60, 1),
                ("/100%_real", 1, 0, 180, 2),
                ("/thanks", 1, 0, 360, 3),
            ],
        ),
        (
            D::EntryPage,
            vec![
                ("/", 3, 1, 1560, 6),
                ("/100%_real", 1, 0, 180, 2),
                ("/blog/post_1", 1, 1, 60, 1),
                ("/pricing", 1, 1, 0, 1),
            ],
        ),
        (
            D::Source,
            vec![
                ("Google", 2, 0, 1560, 5),
                ("", 2, 2, 0, 2),
                ("Bing", 1, 0, 180, 2),
                ("Hacker News", 1, 1, 60, 1),
            ],
        ),
        (
            D::Device,
            vec![("desktop", 4, 1, 1800, 8), ("mobile", 2, 2, 0, 2)],
        ),
        (
            D::EventName,
            vec![
                ("pageview", 6, 3, 1800, 10),
                ("Outbound Link: Click", 1, 1, 60, 1),
                ("Signup", 1, 0, 360, 3),
            ],
        ),
        (D::Prop("plan".into()), vec![("pro", 1, 0, 360, 3)]),
    ];
    for (d, want) in cases {
        assert_eq!(sums(&rows(&f.store, &q, &d).await), expect(&want), "{d}");
    }
    // With a filter: Google's visits (1 and 4) by page; "/" and /pricing both had both
    // (/pricing first: 3 events, the Signup too).
    let google = query(&f.site, A, B, vec![is(D::Source, "Google")]);
    let got = rows(&f.store, &google, &D::Page).await;
    assert_eq!(
        sums(&got),
        expect(&[
            ("/pricing", 2, 0, 1560, 5),
            ("/", 2, 0, 1560, 5),
            ("/thanks", 1, 0, 360, 3),
        ])
    );
    // The ratios: "/" = 3 visits, 1 bounce, 1,560 s, 6 pageviews.
    let all = rows(&f.store, &q, &D::Page).await;
    let home = all
        .iter()
        .find(|r| r.value.as_deref() == Some("/"))
        .and_then(|r| r.visits)
        .unwrap_or_default();
    assert_eq!(home.views_per_visit(), 2.0);
    assert_eq!(home.visit_duration(), 520.0);
    assert!((home.bounce_rate() - 100.0 / 3.0).abs() < 1e-9);
    f.db.cleanup().await;
}

/// (visitors, pageviews, events, visits, bounces, duration, visit pageviews)
type Figures = (i64, i64, i64, i64, i64, i64, i64);

fn day_figures(p: &Point) -> Figures {
    let v = p.visits.unwrap_or_default();
    (
        p.visitors,
        p.pageviews,
        p.events,
        v.visits,
        v.bounces,
        v.duration,
        v.pageviews,
    )
}

async fn daily_buckets_count_visits_on_the_day_they_started(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    // (visitors, pageviews, events, visits, bounces, duration, visit pageviews)
    let all = points(&f.store, &query(&f.site, A, B, vec![]), Interval::Day).await;
    let got: Vec<_> = all.iter().map(day_figures).collect();
    // A: visits 1–4 (pv 3+1+1+2, 360+0+60+1200 s, bounces 2 and 3); B: visits 5, 6.
    assert_eq!(got, [(3, 6, 8, 4, 2, 1620, 7), (3, 4, 4, 2, 1, 180, 3)]);

    // /pricing: on A, events of visits 1 (a view and Signup) and 2; on B, visit 4's view at
    // 00:10 and visit 6's. Visit 4 started on A but viewed /pricing on B: in neither day's
    // visits (as in each day's aggregate), though in the range's.
    let pricing = query(&f.site, A, B, vec![is(D::Page, "/pricing")]);
    let got: Vec<_> = points(&f.store, &pricing, Interval::Day)
        .await
        .iter()
        .map(day_figures)
        .collect();
    assert_eq!(got, [(2, 2, 3, 2, 1, 360, 4), (2, 2, 2, 1, 0, 180, 2)]);

    // Session-level: Google = visits 1 and 4, both started on A, whole.
    let google = query(&f.site, A, B, vec![is(D::Source, "Google")]);
    let got: Vec<_> = points(&f.store, &google, Interval::Day)
        .await
        .iter()
        .map(day_figures)
        .collect();
    assert_eq!(got, [(2, 5, 6, 2, 0, 1560, 5), (0, 0, 0, 0, 0, 0, 0)]);
    f.db.cleanup().await;
}

async fn hourly_buckets_count_visits_in_the_hour_they_started(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let nonzero = |ps: Vec<Point>| -> Vec<(String, Figures)> {
        ps.iter()
            .filter(|p| p.events > 0 || p.visits.is_some_and(|v| v.visits > 0))
            .map(|p| (p.start.format("%H").to_string(), day_figures(p)))
            .collect()
    };
    // Day A in Berlin (UTC+2): visit 1 at 12:00–12:06 (4 events), 2 at 16:00, 3 at 20:00–20:01,
    // 4 starts at 23:50 (its second view is on B).
    let got = nonzero(points(&f.store, &query(&f.site, A, A, vec![]), Interval::Hour).await);
    let h = |s: &str| s.to_owned();
    assert_eq!(
        got,
        [
            (h("12"), (1, 3, 4, 1, 0, 360, 3)),
            (h("16"), (1, 1, 1, 1, 1, 0, 1)),
            (h("20"), (1, 1, 2, 1, 1, 60, 1)),
            (h("23"), (1, 1, 1, 1, 0, 1200, 2)),
        ]
    );
    // /pricing on A: visit 1's view and Signup at 12:0x, visit 2's view at 16:00.
    let pricing = query(&f.site, A, A, vec![is(D::Page, "/pricing")]);
    let got = nonzero(points(&f.store, &pricing, Interval::Hour).await);
    assert_eq!(
        got,
        [
            (h("12"), (1, 1, 2, 1, 0, 360, 3)),
            (h("16"), (1, 1, 1, 1, 1, 0, 1)),
        ]
    );
    f.db.cleanup().await;
}

async fn visit_figures_are_only_computed_when_asked_for(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let q = query(&f.site, A, B, vec![]);
    let plain = f
        .store
        .breakdown(&q, &D::Page, 100, 0)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(plain.iter().all(|r| r.visits.is_none()), "{plain:?}");
    let with = rows(&f.store, &q, &D::Page).await;
    let counts = |rs: &[BreakdownRow]| -> Vec<_> {
        rs.iter()
            .map(|r| (r.value.clone(), r.visitors, r.pageviews, r.events))
            .collect()
    };
    assert_eq!(counts(&plain), counts(&with));
    let days = f
        .store
        .timeseries(&q, Interval::Day)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(days.iter().all(|p| p.visits.is_none()));
    assert_eq!(days.iter().map(|p| p.events).collect::<Vec<_>>(), [8, 4]);
    f.db.cleanup().await;
}

/// The row's figures as an `Aggregate` (ratios computed the same way).
fn as_aggregate(r: &BreakdownRow) -> Aggregate {
    Aggregate::new(
        r.visitors,
        r.pageviews,
        r.events,
        r.visits
            .unwrap_or_else(|| panic!("no visit figures: {r:?}")),
    )
}

fn point_aggregate(p: &Point) -> Aggregate {
    Aggregate::new(
        p.visitors,
        p.pageviews,
        p.events,
        p.visits.unwrap_or_default(),
    )
}

/// Checks every row of every dimension against `aggregate` with the row's filter added (`is ""`
/// for the not-set row), and every daily bucket against the aggregate of its day. Returns how
/// many rows were checked.
async fn check_invariants(store: &DynStore, q: &StatsQuery, dims: &[D]) -> usize {
    let mut checked = 0;
    for d in dims {
        for row in rows(store, q, d).await {
            let mut filtered = q.clone();
            filtered.filters.push(Filter {
                dimension: d.clone(),
                op: footfall::stats::FilterOp::Is,
                value: row.value.clone().unwrap_or_default(),
            });
            let want = store
                .aggregate(&filtered)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(
                as_aggregate(&row),
                want,
                "{d} {:?} with {:?}",
                row.value,
                q.filters
            );
            checked += 1;
        }
    }
    for p in points(store, q, Interval::Day).await {
        let mut day = q.clone();
        (day.from, day.to) = (p.start.date(), p.start.date());
        let want = store
            .aggregate(&day)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            point_aggregate(&p),
            want,
            "{} with {:?}",
            p.start,
            q.filters
        );
    }
    checked
}

fn all_dimensions() -> Vec<D> {
    let mut dims = D::FIXED.to_vec();
    dims.extend([D::Prop("plan".into()), D::Prop("url".into())]);
    dims
}

fn filter_sets() -> Vec<Vec<Filter>> {
    vec![
        vec![],
        vec![is(D::Source, "Google")],
        vec![is(D::Page, "/pricing")],
        vec![is(D::Device, "desktop"), is(D::EventName, "pageview")],
    ]
}

async fn every_breakdown_row_equals_the_aggregate_filtered_on_it(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let mut checked = 0;
    for filters in filter_sets() {
        let q = query(&f.site, A, B, filters);
        checked += check_invariants(&f.store, &q, &all_dimensions()).await;
    }
    // Every dimension has rows on the known data (a test that checks nothing proves nothing).
    assert!(checked > 150, "only {checked} rows checked");
    f.db.cleanup().await;
}

async fn generated_traffic_keeps_rows_and_days_equal_to_their_aggregates(backend: Backend) {
    let Some(db) = support::TestDb::new(backend).await else {
        return;
    };
    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let site = add_site(&store, "example.com", "Europe/Berlin").await;
    let now = Utc::now();
    write(&store, traffic(&site, 5, "2026-03-25", 8, now), 50).await;
    // Built segments: every question reads them for closed days — the invariants must hold on
    // the engine's answers too.
    build_pending(&*store)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let dims = [
        D::Page,
        D::EntryPage,
        D::Source,
        D::Country,
        D::Device,
        D::EventName,
        D::Prop("plan".into()),
    ];
    let mut checked = 0;
    for filters in filter_sets() {
        let q = query(&site, "2026-03-24", "2026-04-02", filters);
        checked += check_invariants(&store, &q, &dims).await;
    }
    assert!(checked > 60, "only {checked} rows checked");
    db.cleanup().await;
}
