//! The stats API over HTTP on both backends, on the hand-worked data set of `support::known`:
//! every metric and property gives the hand-worked figures and the store's own answer, filters
//! narrow them as in the query layer, breakdowns page. (Keys, 400s and hostile input:
//! `tests/api_access.rs`.)

#[path = "support/api_client.rs"]
mod api_client;
mod support;

use api_client::{Api, api_figures, api_lines, float, int};
use footfall::stats::{Dimension as D, Filter, FilterOp};
use serde_json::Value;
use support::Backend;
use support::known::{A, B, Row, breakdowns, figures};
use support::visits::{expect, lines, query};

both_backends!(
    every_metric_and_property_gives_the_hand_worked_figures_and_the_stores_answer,
    filters_narrow_the_answers_exactly_as_in_the_query_layer,
    breakdowns_page_through_their_rows,
);

async fn every_metric_and_property_gives_the_hand_worked_figures_and_the_stores_answer(
    backend: Backend,
) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let range = [("site", "example.com"), ("from", A), ("to", B)];
    for ((from, to), expected) in [
        ((A, B), (6, 6, 10, 12, 1.666667, 50.0, 300.0)),
        ((A, A), (3, 4, 6, 8, 1.75, 50.0, 405.0)),
        ((B, B), (3, 2, 4, 4, 1.5, 50.0, 90.0)),
        (("2026-06-01", "2026-06-09"), (0, 0, 0, 0, 0.0, 0.0, 0.0)),
    ] {
        let body = api
            .ok(
                "stats/aggregate",
                &[("site", "example.com"), ("from", from), ("to", to)],
            )
            .await;
        assert_eq!(api_figures(&body), expected, "{from}..{to}");
        // Exactly the store's numbers, to the bit.
        let store = api
            .app
            .store
            .aggregate(&query(&api.site, from, to, vec![]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            float(&body["results"]["views_per_visit"]),
            store.views_per_visit
        );
        assert_eq!(
            float(&body["results"]["visit_duration"]),
            store.visit_duration
        );
    }
    let body = api.ok("stats/aggregate", &range).await;
    for (field, value) in [
        ("site", "example.com"),
        ("timezone", "Europe/Berlin"),
        ("period", "custom"),
        ("from", A),
        ("to", B),
    ] {
        assert_eq!(body[field], value, "{body}");
    }
    // Asking for some metrics returns those only.
    let some = api
        .ok(
            "stats/aggregate",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", B),
                ("metrics", "bounce_rate,visitors"),
            ],
        )
        .await;
    assert_eq!(
        some["results"],
        serde_json::json!({"bounce_rate": 50.0, "visitors": 6})
    );

    for (dimension, rows) in breakdowns() {
        let property = dimension.to_string();
        let mut pairs = range.to_vec();
        pairs.push(("property", &property));
        let body = api.ok("stats/breakdown", &pairs).await;
        let got = api_lines(&body, &property);
        assert_eq!(got, expect(&rows), "{property}");
        let store = api
            .app
            .store
            .breakdown(&query(&api.site, A, B, vec![]), &dimension, 100, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, lines(store), "{property}");
        assert_eq!(
            (body["page"].as_i64(), body["limit"].as_i64()),
            (Some(1), Some(100))
        );
    }

    let days = api.ok("stats/timeseries", &range).await;
    assert_eq!(days["interval"], "day");
    assert_eq!(
        days["results"],
        serde_json::json!([
            {"date": "2026-06-10", "visitors": 3, "pageviews": 6},
            {"date": "2026-06-11", "visitors": 3, "pageviews": 4},
        ])
    );
    // One day: hours by default, every hour present; 22:10 UTC is 00:10 in Berlin.
    let hours = api
        .ok(
            "stats/timeseries",
            &[
                ("site", "example.com"),
                ("from", B),
                ("to", B),
                ("metrics", "visitors"),
            ],
        )
        .await;
    assert_eq!(hours["interval"], "hour");
    let hours = hours["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(hours.len(), 24);
    assert_eq!(
        hours[0],
        serde_json::json!({"date": "2026-06-11T00:00:00", "visitors": 1})
    );
    let busy: Vec<(usize, i64)> = hours
        .iter()
        .enumerate()
        .filter(|(_, h)| int(&h["visitors"]) > 0)
        .map(|(i, h)| (i, int(&h["visitors"])))
        .collect();
    assert_eq!(busy, vec![(0, 1), (1, 1), (11, 1)]);
    let daily_one_day = api
        .ok(
            "stats/timeseries",
            &[
                ("site", "example.com"),
                ("from", B),
                ("to", B),
                ("interval", "day"),
            ],
        )
        .await;
    assert_eq!(
        daily_one_day["results"],
        serde_json::json!([{"date": "2026-06-11", "visitors": 3, "pageviews": 4}])
    );

    // Named periods are the dashboard's, counted from the site's today: only the ranges that
    // reach back to June 2026 (the data set's days) see its visitors.
    let today = chrono::Utc::now()
        .with_timezone(&api.site.timezone.0)
        .date_naive();
    for period in [
        "today",
        "yesterday",
        "7d",
        "30d",
        "month",
        "last_month",
        "12mo",
    ] {
        let body = api
            .ok(
                "stats/aggregate",
                &[("site", "example.com"), ("period", period)],
            )
            .await;
        let named = footfall::stats::period::Period::parse(period, None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let (from, to) = named.range(today);
        let (from, to) = (from.to_string(), to.to_string());
        assert_eq!(
            (&body["period"], &body["from"], &body["to"]),
            (
                &Value::from(period),
                &Value::from(from.as_str()),
                &Value::from(to.as_str())
            )
        );
        let covered = from.as_str() <= A && B <= to.as_str();
        assert_eq!(
            body["results"]["visitors"],
            if covered { 6 } else { 0 },
            "{period}"
        );
    }
    api.stop().await;
}

async fn filters_narrow_the_answers_exactly_as_in_the_query_layer(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let filter = |dimension, op, value: &str| Filter {
        dimension,
        op,
        value: value.to_owned(),
    };
    let cases: Vec<(Vec<&str>, Vec<Filter>)> = vec![
        (
            vec!["source:is:Google"],
            vec![filter(D::Source, FilterOp::Is, "Google")],
        ),
        (
            vec!["source:is:Google", "page:contains:PRICING"],
            vec![
                filter(D::Source, FilterOp::Is, "Google"),
                filter(D::Page, FilterOp::Contains, "PRICING"),
            ],
        ),
        (
            vec!["source:is:"],
            vec![filter(D::Source, FilterOp::Is, "")],
        ),
        (
            vec!["prop:plan:is:pro"],
            vec![filter(D::Prop("plan".into()), FilterOp::Is, "pro")],
        ),
        (
            vec!["page:matches:/blog/**"],
            vec![filter(D::Page, FilterOp::Matches, "/blog/**")],
        ),
        (
            vec!["page:contains:%"],
            vec![filter(D::Page, FilterOp::Contains, "%")],
        ),
        (
            vec!["utm_campaign:is:launch_50%_off", "country:is:DE"],
            vec![
                filter(D::UtmCampaign, FilterOp::Is, "launch_50%_off"),
                filter(D::Country, FilterOp::Is, "DE"),
            ],
        ),
    ];
    for (raw, filters) in cases {
        let mut pairs = vec![("site", "example.com"), ("from", A), ("to", B)];
        pairs.extend(raw.iter().map(|f| ("filters", *f)));
        let body = api.ok("stats/aggregate", &pairs).await;
        let q = query(&api.site, A, B, filters);
        let store = api
            .app
            .store
            .aggregate(&q)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(api_figures(&body), figures(store), "{raw:?}");
        assert_eq!(body["filters"], serde_json::json!(raw));
        pairs.push(("property", "page"));
        let rows = api.ok("stats/breakdown", &pairs).await;
        let store_rows = api
            .app
            .store
            .breakdown(&q, &D::Page, 100, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(api_lines(&rows, "page"), lines(store_rows), "{raw:?}");
    }
    // Hand-worked: Google visits 1 and 4; of their events those on a pricing page are 10:02 and
    // the Signup on day A (visitor 1) and 22:10 UTC, day B in Berlin (visitor 3).
    let both = api
        .ok(
            "stats/aggregate",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", B),
                ("filters", "source:is:Google"),
                ("filters", "page:contains:PRICING"),
                ("metrics", "visitors,visits,pageviews,events"),
            ],
        )
        .await;
    assert_eq!(
        both["results"],
        serde_json::json!({"visitors": 2, "visits": 2, "pageviews": 2, "events": 3})
    );
    // `%` is matched literally: only /100%_real holds one.
    let percent = api
        .ok(
            "stats/breakdown",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", B),
                ("filters", "page:contains:%"),
                ("property", "page"),
            ],
        )
        .await;
    assert_eq!(
        api_lines(&percent, "page"),
        expect(&[("/100%_real", 1, 1, 1)])
    );
    api.stop().await;
}

async fn breakdowns_page_through_their_rows(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let pages: Vec<Row> = breakdowns()
        .into_iter()
        .find(|(d, _)| *d == D::Page)
        .map(|(_, rows)| rows)
        .unwrap_or_default();
    for (page, expected) in [
        ("1", &pages[0..2]),
        ("2", &pages[2..4]),
        ("3", &pages[4..5]),
        ("4", &pages[5..]),
        ("4294967295", &pages[5..]),
    ] {
        let body = api
            .ok(
                "stats/breakdown",
                &[
                    ("site", "example.com"),
                    ("from", A),
                    ("to", B),
                    ("property", "page"),
                    ("limit", "2"),
                    ("page", page),
                ],
            )
            .await;
        assert_eq!(api_lines(&body, "page"), expect(expected), "page {page}");
        assert_eq!(body["page"].as_u64(), page.parse::<u64>().ok());
        assert_eq!(body["limit"], 2);
    }
    api.stop().await;
}
