//! Filters on the hand-worked data set of `support::known`, on both backends: session-level and
//! event-level, `is`, `contains` and `matches`, empty values, combinations, and hostile values.

mod support;

use footfall::stats::{Dimension as D, Interval};
use support::Backend;
use support::known::{A, B, aggregate, fixture};
use support::visits::{breakdown, contains, expect, is, query};

both_backends!(
    a_session_level_filter_counts_whole_visits_on_the_day_they_started,
    an_event_level_filter_counts_matching_events_and_the_visits_that_had_one,
    contains_is_case_insensitive_and_matches_wildcards_literally,
    an_empty_is_means_not_set_and_an_empty_contains_means_set,
    filters_combine_with_and_on_the_same_event,
    hostile_filter_values_are_bound_and_match_nothing,
    matches_takes_one_star_within_a_segment_and_two_across,
);

fn matches(dimension: D, pattern: &str) -> footfall::stats::Filter {
    footfall::stats::Filter {
        dimension,
        op: footfall::stats::FilterOp::Matches,
        value: pattern.to_owned(),
    }
}

async fn matches_takes_one_star_within_a_segment_and_two_across(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let post = aggregate(&f, A, B, vec![is(D::Page, "/blog/post_1")]).await;
    assert_eq!(post.0, 1, "{post:?}");
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Page, "/blog/**")]).await,
        post
    );
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Page, "/blog/*")]).await,
        post
    );
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Page, "/b*/*_1")]).await,
        post
    );
    // One star stays in its segment: of the two pages with "_", only /100%_real (visit 6).
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Page, "/*_*")]).await,
        (1, 1, 1, 1, 2.0, 0.0, 180.0)
    );
    // Two cross them: every page.
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Page, "/**")]).await,
        aggregate(&f, A, B, vec![contains(D::Page, "/")]).await
    );
    // The whole value, case-sensitively, literally but for the stars.
    for nothing in ["/PRICING", "/pricin", "pricing", "/pricing/*", "/100%_rea."] {
        assert_eq!(
            aggregate(&f, A, B, vec![matches(D::Page, nothing)]).await,
            (0, 0, 0, 0, 0.0, 0.0, 0.0),
            "{nothing}"
        );
    }
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Page, "/pricing")]).await,
        aggregate(&f, A, B, vec![is(D::Page, "/pricing")]).await
    );
    // Any dimension; an empty pattern is "not set", as `is`.
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Source, "Goo*")]).await,
        aggregate(&f, A, B, vec![is(D::Source, "Google")]).await
    );
    assert_eq!(
        aggregate(&f, A, B, vec![matches(D::Source, "")]).await,
        aggregate(&f, A, B, vec![is(D::Source, "")]).await
    );
    assert_eq!(
        breakdown(
            &f.store,
            &query(&f.site, A, B, vec![matches(D::Page, "/*")]),
            D::Page
        )
        .await,
        breakdown(&f.store, &query(&f.site, A, B, vec![]), D::Page)
            .await
            .into_iter()
            .filter(|l| l.0.as_deref() != Some("/blog/post_1"))
            .collect::<Vec<_>>()
    );
    // The raw SQL (Postgres `~`, SQLite `REGEXP`) answers as the query engine does.
    let raw = footfall::store::connect_with(&f.db.url, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for pattern in ["/blog/**", "/*_*", "/**", "/b*/*_1", "/PRICING"] {
        let q = query(&f.site, A, B, vec![matches(D::Page, pattern)]);
        assert_eq!(
            raw.aggregate(&q).await.ok(),
            f.store.aggregate(&q).await.ok(),
            "{pattern}"
        );
    }
}

async fn a_session_level_filter_counts_whole_visits_on_the_day_they_started(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let google = vec![is(D::Source, "Google")];
    // Visits 1 and 4 (both started on A): visitors 1 and 3, pageviews 3 + 2, events 4 + 2,
    // durations 360 + 1200, no bounce — the Google row of the source breakdown.
    assert_eq!(
        aggregate(&f, A, B, google.clone()).await,
        (2, 2, 5, 6, 2.5, 0.0, 780.0)
    );
    let q = query(&f.site, A, B, google.clone());
    // Their events: /pricing = visit 1's pageview and Signup (A) and visit 4's 22:10 pageview (B).
    assert_eq!(
        breakdown(&f.store, &q, D::Page).await,
        expect(&[("/pricing", 2, 2, 3), ("/", 2, 2, 2), ("/thanks", 1, 1, 1)])
    );
    assert_eq!(
        breakdown(&f.store, &q, D::Country).await,
        expect(&[("DE", 1, 3, 4), ("GB", 1, 2, 2)])
    );
    let days = f
        .store
        .timeseries(&q, Interval::Day)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let days: Vec<_> = days.iter().map(|p| (p.visitors, p.pageviews)).collect();
    assert_eq!(days, vec![(2, 5), (0, 0)]);
    f.db.cleanup().await;
}

async fn an_event_level_filter_counts_matching_events_and_the_visits_that_had_one(
    backend: Backend,
) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let pricing = vec![is(D::Page, "/pricing")];
    // Events 10:02, 10:05 (Signup), 14:00 on A (visitors 1, 2) and 22:10, 09:03 on B (3, 5);
    // visits 1, 2, 4, 6 had one: durations 360 + 0 + 1200 + 180, pageviews 3 + 1 + 2 + 2, one
    // bounce.
    assert_eq!(
        aggregate(&f, A, B, pricing.clone()).await,
        (4, 4, 4, 5, 2.0, 25.0, 435.0)
    );
    let q = query(&f.site, A, B, pricing.clone());
    // Matching events by their visit's source; "not set" sorts before "Bing".
    assert_eq!(
        breakdown(&f.store, &q, D::Source).await,
        expect(&[("Google", 2, 2, 3), ("", 1, 1, 1), ("Bing", 1, 1, 1)])
    );
    // The Google row again, as a filter: the same numbers, visits 1 and 4.
    let both = vec![is(D::Page, "/pricing"), is(D::Source, "Google")];
    assert_eq!(
        aggregate(&f, A, B, both).await,
        (2, 2, 2, 3, 2.5, 0.0, 780.0)
    );
    f.db.cleanup().await;
}

async fn contains_is_case_insensitive_and_matches_wildcards_literally(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Page, "PRICING")]).await,
        aggregate(&f, A, B, vec![is(D::Page, "/pricing")]).await
    );
    // "%" is only in /100%_real (09:00, visit 6).
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Page, "%")]).await,
        (1, 1, 1, 1, 2.0, 0.0, 180.0)
    );
    // "_" is in /blog/post_1 (two events of visit 3) and /100%_real.
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Page, "_")]).await,
        (2, 2, 2, 3, 1.5, 50.0, 120.0)
    );
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Page, "\\")]).await,
        (0, 0, 0, 0, 0.0, 0.0, 0.0)
    );
    // launch_50%_off contains "50%", but not "50_" ("_" is not a wildcard).
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::UtmCampaign, "50%")]).await,
        (1, 1, 1, 2, 1.0, 100.0, 60.0)
    );
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::UtmCampaign, "50_")])
            .await
            .1,
        0
    );
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Source, "goo")])
            .await
            .1,
        2
    );
    // ASCII only: "Î" does not match "î".
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Region, "île")])
            .await
            .1,
        0
    );
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Region, "Île")])
            .await
            .1,
        1
    );
    f.db.cleanup().await;
}

async fn an_empty_is_means_not_set_and_an_empty_contains_means_set(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    // Direct visits 2 (A) and 5 (B).
    assert_eq!(
        aggregate(&f, A, B, vec![is(D::Source, "")]).await,
        (2, 2, 2, 2, 1.0, 100.0, 0.0)
    );
    // Linux has an empty OS version: visit 4.
    assert_eq!(
        aggregate(&f, A, B, vec![is(D::OsVersion, "")]).await,
        (1, 1, 2, 2, 2.0, 0.0, 1200.0)
    );
    // Visits 1, 3, 4 (A: visitors 1, 3) and 6 (B: visitor 5): durations 360 + 60 + 1200 + 180.
    assert_eq!(
        aggregate(&f, A, B, vec![contains(D::Source, "")]).await,
        (3, 4, 8, 10, 2.0, 25.0, 450.0)
    );
    // Props: every event but the Signup lacks `plan`; all six visits had such an event.
    assert_eq!(
        aggregate(&f, A, B, vec![is(D::Prop("plan".into()), "")]).await,
        (6, 6, 10, 11, 1.666667, 50.0, 300.0)
    );
    assert_eq!(
        aggregate(&f, A, B, vec![is(D::Prop("plan".into()), "pro")]).await,
        (1, 1, 0, 1, 3.0, 0.0, 360.0)
    );
    f.db.cleanup().await;
}

async fn filters_combine_with_and_on_the_same_event(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let signup_de = vec![is(D::EventName, "Signup"), is(D::Country, "DE")];
    assert_eq!(
        aggregate(&f, A, B, signup_de).await,
        (1, 1, 0, 1, 3.0, 0.0, 360.0)
    );
    // /thanks was viewed and Signup happened in visit 1, but never in one event.
    let apart = vec![is(D::Page, "/thanks"), is(D::EventName, "Signup")];
    assert_eq!(
        aggregate(&f, A, B, apart).await,
        (0, 0, 0, 0, 0.0, 0.0, 0.0)
    );
    let pricing_views = vec![is(D::Page, "/pricing"), is(D::EventName, "pageview")];
    assert_eq!(
        aggregate(&f, A, B, pricing_views).await,
        (4, 4, 4, 4, 2.0, 25.0, 435.0)
    );
    let google_gb = vec![is(D::Source, "Google"), is(D::Country, "GB")];
    assert_eq!(
        aggregate(&f, A, B, google_gb).await,
        (1, 1, 2, 2, 2.0, 0.0, 1200.0)
    );
    // A goal's props.
    let q = query(&f.site, A, B, vec![is(D::EventName, "Signup")]);
    assert_eq!(
        breakdown(&f.store, &q, D::Prop("plan".into())).await,
        expect(&[("pro", 1, 0, 1)])
    );
    assert_eq!(
        f.store
            .prop_keys(&q, 10)
            .await
            .unwrap_or_else(|e| panic!("{e:?}")),
        vec!["plan".to_owned()]
    );
    f.db.cleanup().await;
}

async fn hostile_filter_values_are_bound_and_match_nothing(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let hostile = [
        "' OR 1=1 --",
        "%",
        "_",
        "\\",
        "'",
        "\"",
        "a\"b",
        "$.plan",
        "%'; DROP TABLE events; --",
        "nul\0byte",
        ")",
    ];
    let dims = |v: &str| {
        vec![
            D::Page,
            D::Source,
            D::Country,
            D::EventName,
            D::Prop("plan".into()),
            D::Prop(v.to_owned()),
        ]
    };
    for value in hostile {
        for dimension in dims(value) {
            for filters in [
                vec![is(dimension.clone(), value)],
                vec![contains(dimension.clone(), value), is(D::Source, value)],
            ] {
                let q = query(&f.site, A, B, filters.clone());
                let a = f
                    .store
                    .aggregate(&q)
                    .await
                    .unwrap_or_else(|e| panic!("{filters:?}: {e:?}"));
                assert_eq!((a.visitors, a.visits, a.events), (0, 0, 0), "{filters:?}");
                for by in [D::Page, D::Source, dimension.clone()] {
                    let rows = f
                        .store
                        .breakdown(&q, &by, 10, 0)
                        .await
                        .unwrap_or_else(|e| panic!("{filters:?}: {e:?}"));
                    assert!(rows.is_empty(), "{filters:?} by {by}: {rows:?}");
                }
                f.store
                    .timeseries(&q, Interval::Hour)
                    .await
                    .unwrap_or_else(|e| panic!("{e:?}"));
                f.store
                    .prop_keys(&q, 10)
                    .await
                    .unwrap_or_else(|e| panic!("{e:?}"));
            }
        }
        let unfiltered = query(&f.site, A, B, vec![]);
        let rows = f
            .store
            .breakdown(&unfiltered, &D::Prop(value.to_owned()), 10, 0)
            .await;
        assert_eq!(rows.map_err(|e| e.to_string()), Ok(vec![]), "prop:{value}");
    }
    // The table is still there.
    assert_eq!(aggregate(&f, A, B, vec![]).await.3, 12);
    f.db.cleanup().await;
}
