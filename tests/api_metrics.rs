//! Every metric on the stats API's time series and breakdowns, over HTTP on both backends, on the
//! hand-worked data set of `support::known`: a daily bucket is the aggregate of its day, an
//! hourly one counts the visits that started in it, a breakdown row is the aggregate filtered on
//! its value — for every property.

#[path = "support/api_client.rs"]
mod api_client;
mod support;

use api_client::{Api, api_figures, float};
use footfall::stats::Dimension as D;
use serde_json::{Value, json};
use support::Backend;
use support::known::{A, B, breakdowns};

both_backends!(
    series_buckets_carry_every_metric_of_their_day_or_hour,
    breakdown_rows_carry_every_metric_of_their_filtered_aggregate,
    series_and_breakdowns_default_to_their_counts,
);

const ALL: &str = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events";

type Figures = (i64, i64, i64, i64, f64, f64, f64);

/// One bucket or row as (visitors, visits, pageviews, events, views/visit, bounce %, seconds).
fn figures_of(row: &Value) -> Figures {
    api_figures(&json!({ "results": row }))
}

fn results(body: &Value) -> Vec<Value> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .clone()
}

async fn series_buckets_carry_every_metric_of_their_day_or_hour(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let days = api
        .ok(
            "stats/timeseries",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", B),
                ("interval", "day"),
                ("metrics", ALL),
            ],
        )
        .await;
    let got: Vec<Figures> = results(&days).iter().map(figures_of).collect();
    // A: visits 1–4 (pageviews 3+1+1+2 = 7, bounces 2 of 4, 1,620 s / 4 = 405 s); B: visits 5, 6
    // (3 pageviews, 1 bounce of 2, 180 s / 2).
    assert_eq!(
        got,
        [
            (3, 4, 6, 8, 1.75, 50.0, 405.0),
            (3, 2, 4, 4, 1.5, 50.0, 90.0)
        ]
    );
    // … which are each day's aggregate.
    for (day, want) in [A, B].into_iter().zip(&got) {
        let agg = api
            .ok(
                "stats/aggregate",
                &[("site", "example.com"), ("from", day), ("to", day)],
            )
            .await;
        assert_eq!(&api_figures(&agg), want, "{day}");
    }

    // Hours of day A (Berlin, UTC+2): visit 1 at 12:00 (4 events), 2 at 16:00, 3 at 20:00,
    // 4 at 23:50 (its second view falls on B).
    let hours = api
        .ok(
            "stats/timeseries",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", A),
                ("interval", "hour"),
                ("metrics", ALL),
            ],
        )
        .await;
    let busy: Vec<(String, Figures)> = results(&hours)
        .iter()
        .filter(|b| float(&b["events"]) > 0.0)
        .map(|b| (b["date"].as_str().unwrap_or("").to_owned(), figures_of(b)))
        .collect();
    let at = |h: &str| format!("{A}T{h}:00:00");
    assert_eq!(
        busy,
        [
            (at("12"), (1, 1, 3, 4, 3.0, 0.0, 360.0)),
            (at("16"), (1, 1, 1, 1, 1.0, 100.0, 0.0)),
            (at("20"), (1, 1, 1, 2, 1.0, 100.0, 60.0)),
            (at("23"), (1, 1, 1, 1, 2.0, 0.0, 1200.0)),
        ]
    );
    api.stop().await;
}

async fn breakdown_rows_carry_every_metric_of_their_filtered_aggregate(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let mut checked = 0;
    for (dimension, _) in breakdowns() {
        let property = dimension.to_string();
        let body = api
            .ok(
                "stats/breakdown",
                &[
                    ("site", "example.com"),
                    ("from", A),
                    ("to", B),
                    ("property", &property),
                    ("metrics", ALL),
                ],
            )
            .await;
        for row in results(&body) {
            let value = row[&property].as_str().unwrap_or("").to_owned();
            let filter = format!("{property}:is:{value}");
            let agg = api
                .ok(
                    "stats/aggregate",
                    &[
                        ("site", "example.com"),
                        ("from", A),
                        ("to", B),
                        ("filters", &filter),
                    ],
                )
                .await;
            assert_eq!(figures_of(&row), api_figures(&agg), "{filter}");
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} rows checked");

    // By hand: /pricing = visits 1, 2, 4, 6 (pageviews 3+1+2+2, one bounce, 360+0+1200+180 s);
    // "/" = visits 1, 4, 5.
    let pages = api
        .ok(
            "stats/breakdown",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", B),
                ("property", D::Page.name()),
                ("metrics", ALL),
                ("limit", "2"),
            ],
        )
        .await;
    let got: Vec<Figures> = results(&pages).iter().map(figures_of).collect();
    assert_eq!(
        got,
        [
            (4, 4, 4, 5, 2.0, 25.0, 435.0),
            (3, 3, 3, 3, 2.0, 33.333333, 520.0)
        ]
    );
    api.stop().await;
}

async fn series_and_breakdowns_default_to_their_counts(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let range = [("site", "example.com"), ("from", A), ("to", B)];
    let keys = |row: &Value| -> Vec<String> {
        let mut k: Vec<String> = row
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    let days = api.ok("stats/timeseries", &range).await;
    assert_eq!(keys(&results(&days)[0]), ["date", "pageviews", "visitors"]);
    let mut pairs = range.to_vec();
    pairs.push(("property", "source"));
    let rows = api.ok("stats/breakdown", &pairs).await;
    assert_eq!(
        keys(&results(&rows)[0]),
        ["events", "pageviews", "source", "visitors"]
    );
    api.stop().await;
}
