//! The stats queries on the hand-worked data set of `support::known`, on both backends: the
//! aggregate, every dimension, time zones, series, and the live view.

mod support;

use footfall::stats::{Dimension as D, Interval};
use footfall::store::LiveCursor;
use support::Backend;
use support::known::{A, B, aggregate, breakdowns, fixture};
use support::visits::{Profile, breakdown, expect, query, utc};

async fn live_events(
    store: &footfall::store::DynStore,
    cursor: &mut LiveCursor,
    limit: i64,
) -> Vec<footfall::store::StoredEvent> {
    store
        .live_events(cursor, limit)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn paths(events: &[footfall::store::StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.path.as_str()).collect()
}

both_backends!(
    the_aggregate_counts_visitors_per_day_and_visits_by_their_start,
    every_dimension_breaks_down_as_worked_out_by_hand,
    an_event_at_23_30_utc_lands_on_the_next_day_in_berlin,
    hourly_and_daily_series_fill_empty_buckets_with_zeros,
    the_live_view_reads_each_event_once_through_a_cursor_and_counts_current_visitors,
);

async fn the_aggregate_counts_visitors_per_day_and_visits_by_their_start(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    // visitors 3 + 3; visits 6; pageviews 6 + 4; events 8 + 4; 10/6 views per visit;
    // 3 bounces of 6; 1800 s / 6.
    assert_eq!(
        aggregate(&f, A, B, vec![]).await,
        (6, 6, 10, 12, 1.666667, 50.0, 300.0)
    );
    // Day A alone: visits 1–4: pageviews 3+1+1+2 = 7, durations 1620, bounces 2 (visits 2, 3).
    assert_eq!(
        aggregate(&f, A, A, vec![]).await,
        (3, 4, 6, 8, 1.75, 50.0, 405.0)
    );
    // Day B alone: visits 5, 6: pageviews 1+2, durations 0+180, bounce 1.
    assert_eq!(
        aggregate(&f, B, B, vec![]).await,
        (3, 2, 4, 4, 1.5, 50.0, 90.0)
    );
    // Nothing before or after; an inverted range is empty.
    assert_eq!(
        aggregate(&f, "2026-06-01", "2026-06-09", vec![]).await,
        (0, 0, 0, 0, 0.0, 0.0, 0.0)
    );
    assert_eq!(
        aggregate(&f, B, A, vec![]).await,
        (0, 0, 0, 0, 0.0, 0.0, 0.0)
    );
    f.db.cleanup().await;
}

async fn every_dimension_breaks_down_as_worked_out_by_hand(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let q = query(&f.site, A, B, vec![]);
    let cases = breakdowns();
    for (dimension, rows) in cases {
        assert_eq!(
            breakdown(&f.store, &q, dimension.clone()).await,
            expect(&rows),
            "{dimension}"
        );
    }
    assert_eq!(
        f.store
            .prop_keys(&q, 10)
            .await
            .unwrap_or_else(|e| panic!("{e:?}")),
        vec!["plan".to_owned(), "url".to_owned()]
    );
    // Paging through a breakdown.
    let page2 = f
        .store
        .breakdown(&q, &D::Page, 2, 2)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        support::visits::lines(page2),
        expect(&[("/blog/post_1", 1, 1, 2), ("/100%_real", 1, 1, 1)])
    );
    f.db.cleanup().await;
}

async fn an_event_at_23_30_utc_lands_on_the_next_day_in_berlin(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let q = query(&f.site, A, B, vec![]);
    let berlin = f
        .store
        .timeseries(&q, Interval::Day)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let berlin: Vec<_> = berlin
        .iter()
        .map(|p| (p.start.to_string(), p.visitors, p.pageviews))
        .collect();
    assert_eq!(
        berlin,
        vec![
            ("2026-06-10 00:00:00".into(), 3, 6),
            ("2026-06-11 00:00:00".into(), 3, 4)
        ]
    );
    // The same events bucketed in UTC: 22:10 and 23:30 stay on June 10th.
    let mut in_utc = q.clone();
    in_utc.timezone = footfall::domain::TimeZone::default();
    let utc_days = f
        .store
        .timeseries(&in_utc, Interval::Day)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let utc_days: Vec<_> = utc_days.iter().map(|p| (p.visitors, p.pageviews)).collect();
    assert_eq!(utc_days, vec![(4, 8), (1, 2)]);
    // Day ranges too: June 11th in Berlin holds the 23:30 visit, in UTC it does not.
    assert_eq!(aggregate(&f, B, B, vec![]).await.0, 3);
    let mut utc_b = query(&f.site, B, B, vec![]);
    utc_b.timezone = footfall::domain::TimeZone::default();
    let a = f
        .store
        .aggregate(&utc_b)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((a.visitors, a.visits, a.pageviews), (1, 1, 2));
    f.db.cleanup().await;
}

async fn hourly_and_daily_series_fill_empty_buckets_with_zeros(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let q = query(&f.site, B, B, vec![]);
    let hours = f
        .store
        .timeseries(&q, Interval::Hour)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(hours.len(), 24);
    assert_eq!(hours[0].start.to_string(), "2026-06-11 00:00:00");
    assert_eq!(hours[23].start.to_string(), "2026-06-11 23:00:00");
    let busy: Vec<_> = hours
        .iter()
        .enumerate()
        .filter(|(_, p)| p.visitors > 0)
        .map(|(i, p)| (i, p.visitors, p.pageviews))
        .collect();
    // 22:10 UTC → 00:10, 23:30 UTC → 01:30, 09:00 and 09:03 UTC → 11:00.
    assert_eq!(busy, vec![(0, 1, 1), (1, 1, 1), (11, 1, 2)]);
    let week = query(&f.site, "2026-06-08", "2026-06-14", vec![]);
    let days = f
        .store
        .timeseries(&week, Interval::Day)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let days: Vec<_> = days
        .iter()
        .map(|p| (p.start.format("%d").to_string(), p.visitors))
        .collect();
    let expected: Vec<_> = [
        ("08", 0),
        ("09", 0),
        ("10", 3),
        ("11", 3),
        ("12", 0),
        ("13", 0),
        ("14", 0),
    ]
    .into_iter()
    .map(|(d, v)| (d.to_owned(), v))
    .collect();
    assert_eq!(days, expected);
    f.db.cleanup().await;
}

async fn the_live_view_reads_each_event_once_through_a_cursor_and_counts_current_visitors(
    backend: Backend,
) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let site = f.site.id;
    // A new cursor starts with the newest events, oldest first.
    let all = live_events(&f.store, &mut LiveCursor::new(site), 100).await;
    assert_eq!(all.len(), 12);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let mut cursor = LiveCursor::new(site);
    let backlog = live_events(&f.store, &mut cursor, 2).await;
    assert_eq!(paths(&backlog), ["/100%_real", "/pricing"]);
    // Then only what was stored since (in the order stored, whatever its time), each event
    // once, at most `limit` at a time.
    assert!(live_events(&f.store, &mut cursor, 100).await.is_empty());
    let hits: [support::visits::Hit<'_>; 3] = [
        (utc("2026-06-01 12:00"), "pageview", "/late-1", &[]),
        (utc("2026-06-01 12:01"), "pageview", "/late-2", &[]),
        (utc("2026-06-01 12:02"), "pageview", "/late-3", &[]),
    ];
    let late = support::visits::visit(&f.site, 99, &Profile::default(), &hits);
    support::visits::write(&f.store, late, 10).await;
    let two = live_events(&f.store, &mut cursor, 2).await;
    assert_eq!(paths(&two), ["/late-1", "/late-2"]);
    let one = live_events(&f.store, &mut cursor, 2).await;
    assert_eq!(paths(&one), ["/late-3"]);
    assert!(live_events(&f.store, &mut cursor, 2).await.is_empty());
    // Since 23:00 UTC on the 10th: visitors 4 (23:30) and 5; since 09:01 on the 11th: 5 only.
    let current = |at: &str| {
        let store = f.store.clone();
        let site = f.site.id;
        let since = utc(at);
        async move {
            store
                .current_visitors(site, since)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        }
    };
    assert_eq!(current("2026-06-10 23:00").await, 2);
    assert_eq!(current("2026-06-11 09:01").await, 1);
    assert_eq!(current("2026-06-11 09:03").await, 1, "since is inclusive");
    assert_eq!(current("2026-06-11 09:04").await, 0);
    f.db.cleanup().await;
}
