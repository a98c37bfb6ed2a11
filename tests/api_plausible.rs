//! Plausible's Stats API against footfall, on both backends, on the hand-worked data set of
//! `support::known`: each Plausible-style request (v1 parameters with `site_id`, and
//! `POST /api/v2/query`) gives the numbers of the equivalent footfall-style request — and the
//! hand-worked ones — in Plausible's shapes; what footfall cannot answer exactly is a 400 that
//! names the part.

#[path = "support/api_client.rs"]
mod api_client;
mod support;

use api_client::{Api, api_lines};
use footfall::stats::Dimension as D;
use footfall::stats::goal::Goal;
use serde_json::{Value, json};
use support::Backend;
use support::known::{A, B, breakdowns};

both_backends!(
    v1_parameters_give_the_numbers_of_footfalls_own_in_plausibles_shapes,
    v1_goals_comparisons_and_refusals,
    v2_queries_answer_with_results_meta_and_query,
    v2_refuses_what_footfall_cannot_answer_exactly,
);

/// The range A..B as footfall's parameters, and `extra`.
fn ff<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![("site", "example.com"), ("from", A), ("to", B)];
    pairs.extend_from_slice(extra);
    pairs
}

const RANGE: &str = "2026-06-10,2026-06-11";

/// The range A..B as Plausible's v1 parameters, and `extra`.
fn pl<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("site_id", "example.com"),
        ("period", "custom"),
        ("date", RANGE),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// Plausible's name for a footfall dimension.
fn property(d: &D) -> String {
    match d {
        D::Page => "event:page".into(),
        D::EventName => "event:name".into(),
        D::Prop(key) => format!("event:props:{key}"),
        other => format!("visit:{}", other.name()),
    }
}

const ALL: &str = "visitors,visits,pageviews,events,views_per_visit,bounce_rate,visit_duration";

async fn post(api: &Api, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = api
        .app
        .client
        .post(format!("{}/api/v2/query", api.app.address))
        .json(body);
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /api/v2/query: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status} is not JSON ({e}): {text}"));
    (status, body)
}

async fn query(api: &Api, body: Value) -> Value {
    let (status, answer) = post(api, Some(&api.key), &body).await;
    assert_eq!(status, 200, "{body}: {answer}");
    answer
}

async fn add_goals(api: &Api) {
    for g in [
        Goal::page("Pricing", "/pricing"),
        Goal::page("Blog", "/blog/**"),
        Goal::event("Pro signup", "Signup", Some("plan=pro")),
    ] {
        let g = g.unwrap_or_else(|e| panic!("{e}"));
        api.app
            .store
            .add_goal(api.site.id, &g)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A v1 aggregate's `{"metric": {"value": v}}` as footfall's `{"metric": v}`.
fn values(body: &Value) -> Value {
    let results = body["results"].as_object().cloned().unwrap_or_default();
    Value::Object(
        results
            .into_iter()
            .map(|(k, v)| (k, v["value"].clone()))
            .collect(),
    )
}

async fn v1_parameters_give_the_numbers_of_footfalls_own_in_plausibles_shapes(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    // Aggregate: every metric, as footfall's own answer and the hand-worked figures.
    let ours = api.ok("stats/aggregate", &ff(&[("metrics", ALL)])).await;
    let theirs = api.ok("stats/aggregate", &pl(&[("metrics", ALL)])).await;
    assert_eq!(values(&theirs), ours["results"]);
    assert_eq!(theirs["results"]["visitors"], json!({"value": 6}));
    assert_eq!(theirs["results"]["visit_duration"], json!({"value": 300.0}));
    // Plausible's shape only: no footfall envelope; `visitors` unless asked otherwise.
    let plain = api.ok("stats/aggregate", &pl(&[])).await;
    assert_eq!(plain, json!({"results": {"visitors": {"value": 6}}}));
    // `day` is one date; 7d counts back from it, including it.
    let day = api
        .ok(
            "stats/aggregate",
            &[
                ("site_id", "example.com"),
                ("period", "day"),
                ("date", B),
                ("metrics", "visitors,pageviews"),
            ],
        )
        .await;
    assert_eq!(values(&day), json!({"visitors": 3, "pageviews": 4}));
    let week = api
        .ok(
            "stats/aggregate",
            &[
                ("site_id", "example.com"),
                ("period", "7d"),
                ("date", "2026-06-16"),
            ],
        )
        .await;
    assert_eq!(values(&week), json!({"visitors": 6}));
    let month = api
        .ok(
            "stats/aggregate",
            &[
                ("site_id", "example.com"),
                ("period", "month"),
                ("date", "2026-06-30"),
            ],
        )
        .await;
    assert_eq!(values(&month), json!({"visitors": 6}));

    // Filters in Plausible's syntax narrow exactly as footfall's.
    for (plausible, footfall) in [
        ("visit:source==Google", vec!["source:is:Google"]),
        (
            "visit:source==Google;event:page~PRICING",
            vec!["source:is:Google", "page:contains:PRICING"],
        ),
        ("event:page==/blog/*", vec!["page:matches:/blog/**"]),
        ("event:page==*pricing", vec!["page:matches:**pricing"]),
        ("visit:device==Mobile", vec!["device:is:mobile"]),
        ("event:props:plan==pro", vec!["prop:plan:is:pro"]),
        (
            "visit:utm_campaign==launch_50%_off;visit:country==DE",
            vec!["utm_campaign:is:launch_50%_off", "country:is:DE"],
        ),
        (
            "visit:browser_version==131",
            vec!["browser_version:matches:** 131"],
        ),
        ("visit:city==Berlin", vec!["city:is:Berlin"]),
    ] {
        let mut pairs = ff(&[("metrics", ALL)]);
        pairs.extend(footfall.iter().map(|f| ("filters", *f)));
        let ours = api.ok("stats/aggregate", &pairs).await;
        let theirs = api
            .ok(
                "stats/aggregate",
                &pl(&[("metrics", ALL), ("filters", plausible)]),
            )
            .await;
        assert_eq!(values(&theirs), ours["results"], "{plausible}");
    }
    // Hand-worked (tests/api.rs): Google visits whose events are on a pricing page.
    let both = api
        .ok(
            "stats/aggregate",
            &pl(&[
                ("metrics", "visitors,visits,pageviews,events"),
                ("filters", "visit:source==Google;event:page~PRICING"),
            ]),
        )
        .await;
    assert_eq!(
        values(&both),
        json!({"visitors": 2, "visits": 2, "pageviews": 2, "events": 3})
    );
    // Browser version 131: Chrome (visitor 1) and Edge (visitor 5).
    let v131 = api
        .ok(
            "stats/aggregate",
            &pl(&[("filters", "visit:browser_version==131")]),
        )
        .await;
    assert_eq!(values(&v131), json!({"visitors": 2}));

    // Timeseries: a bucket per day, labelled by date; hours for one day, every one present.
    let days = api
        .ok(
            "stats/timeseries",
            &pl(&[("metrics", "visitors,pageviews")]),
        )
        .await;
    let ours = api.ok("stats/timeseries", &ff(&[])).await;
    assert_eq!(days, json!({"results": ours["results"]}));
    assert_eq!(
        days["results"],
        json!([
            {"date": A, "visitors": 3, "pageviews": 6},
            {"date": B, "visitors": 3, "pageviews": 4},
        ])
    );
    let hours = api
        .ok(
            "stats/timeseries",
            &[("site_id", "example.com"), ("period", "day"), ("date", B)],
        )
        .await;
    let hours = hours["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(hours.len(), 24);
    assert_eq!(
        hours[0],
        json!({"date": "2026-06-11 00:00:00", "visitors": 1})
    );
    assert_eq!(
        hours[11],
        json!({"date": "2026-06-11 11:00:00", "visitors": 1})
    );
    let months = api
        .ok(
            "stats/timeseries",
            &pl(&[("interval", "month"), ("metrics", "visitors,visits")]),
        )
        .await;
    assert_eq!(
        months["results"],
        json!([{"date": "2026-06-01", "visitors": 6, "visits": 6}])
    );
    let dates = api
        .ok("stats/timeseries", &pl(&[("interval", "date")]))
        .await;
    assert_eq!(dates["results"][1], json!({"date": B, "visitors": 3}));

    // Breakdowns: every property, keyed by its short name, with footfall's rows.
    for (dimension, _) in breakdowns() {
        let name = property(&dimension);
        let ours = api
            .ok(
                "stats/breakdown",
                &ff(&[("property", &dimension.to_string())]),
            )
            .await;
        let theirs = api
            .ok(
                "stats/breakdown",
                &pl(&[
                    ("property", &name),
                    ("metrics", "visitors,pageviews,events"),
                ]),
            )
            .await;
        let key = name
            .trim_start_matches("event:props:")
            .trim_start_matches("event:")
            .trim_start_matches("visit:")
            .to_owned();
        // Back to footfall's values: "Safari 18" from its two fields, "mobile" from "Mobile".
        let rows: Vec<Value> = theirs["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut row| {
                if dimension == D::BrowserVersion {
                    let joined = format!(
                        "{} {}",
                        row["browser"].as_str().unwrap_or_default(),
                        row[&key].as_str().unwrap_or_default()
                    );
                    row[&key] = json!(joined);
                }
                if dimension == D::Device {
                    let lower = row[&key].as_str().unwrap_or_default().to_lowercase();
                    row[&key] = json!(lower);
                }
                row
            })
            .collect();
        assert_eq!(
            api_lines(&json!({"results": rows}), &key),
            api_lines(&ours, &dimension.to_string()),
            "{name}"
        );
    }
    let devices = api
        .ok("stats/breakdown", &pl(&[("property", "visit:device")]))
        .await;
    assert_eq!(
        devices,
        json!({"results": [{"device": "Desktop", "visitors": 3}, {"device": "Mobile", "visitors": 2}]})
    );
    let versions = api
        .ok(
            "stats/breakdown",
            &pl(&[("property", "visit:browser_version"), ("limit", "1")]),
        )
        .await;
    assert_eq!(
        versions["results"],
        json!([{"browser": "Safari", "browser_version": "18", "visitors": 2}])
    );
    // Pages, two per page: page 2 is the third and fourth rows.
    let page2 = api
        .ok(
            "stats/breakdown",
            &pl(&[("property", "event:page"), ("limit", "2"), ("page", "2")]),
        )
        .await;
    let ours = api
        .ok(
            "stats/breakdown",
            &ff(&[("property", "page"), ("limit", "2"), ("page", "2")]),
        )
        .await;
    assert_eq!(
        page2["results"],
        json!([
            {"page": ours["results"][0]["page"], "visitors": ours["results"][0]["visitors"]},
            {"page": ours["results"][1]["page"], "visitors": ours["results"][1]["visitors"]},
        ])
    );
    // Several values of the property broken down by: exactly its rows for those values.
    let two = api
        .ok(
            "stats/breakdown",
            &pl(&[
                ("property", "visit:source"),
                ("filters", "visit:source==Google|Bing"),
                ("metrics", "visitors,pageviews,events"),
            ]),
        )
        .await;
    assert_eq!(
        api_lines(&two, "source"),
        vec![
            (Some("Google".into()), 2, 5, 6),
            (Some("Bing".into()), 1, 2, 2)
        ]
    );
    // A first metric other than visitors orders the rows (Plausible orders by it).
    let by_events = api
        .ok(
            "stats/breakdown",
            &pl(&[
                ("property", "visit:country"),
                ("metrics", "events,visitors"),
            ]),
        )
        .await;
    assert_eq!(
        by_events["results"][0],
        json!({"country": "DE", "events": 6, "visitors": 1})
    );
    // No engagement figures were sent: time on page and scroll depth are null, not 0.
    let engaged = api
        .ok(
            "stats/breakdown",
            &pl(&[
                ("property", "event:page"),
                ("metrics", "visitors,time_on_page,scroll_depth"),
                ("limit", "1"),
            ]),
        )
        .await;
    assert_eq!(
        engaged["results"],
        json!([{"page": "/pricing", "visitors": 4, "time_on_page": null, "scroll_depth": null}])
    );
    // Imports asked for: footfall's own figures, with a warning.
    let imported = api
        .ok("stats/aggregate", &pl(&[("with_imported", "true")]))
        .await;
    assert_eq!(imported["results"], json!({"visitors": {"value": 6}}));
    assert!(
        imported["warning"]
            .as_str()
            .is_some_and(|w| w.contains("imported"))
    );
    api.stop().await;
}

async fn v1_goals_comparisons_and_refusals(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    add_goals(&api).await;
    // A goal filter: footfall's goal:is:NAME; conversion_rate as its goal row has it.
    let ours = api
        .ok(
            "stats/aggregate",
            &ff(&[("filters", "goal:is:Pricing"), ("metrics", ALL)]),
        )
        .await;
    for value in ["Pricing", "Visit /pricing"] {
        let filter = format!("event:goal=={value}");
        let theirs = api
            .ok(
                "stats/aggregate",
                &pl(&[("filters", &filter), ("metrics", ALL)]),
            )
            .await;
        assert_eq!(values(&theirs), ours["results"], "{value}");
    }
    let rate = api
        .ok(
            "stats/aggregate",
            &pl(&[
                ("filters", "event:goal==Pricing"),
                ("metrics", "visitors,conversion_rate"),
            ]),
        )
        .await;
    assert_eq!(
        values(&rate),
        json!({"visitors": 4, "conversion_rate": 66.7})
    );
    // Goal rows, by visitors; a goal filter keeps those goals' rows.
    let goals = api
        .ok(
            "stats/breakdown",
            &pl(&[
                ("property", "event:goal"),
                ("metrics", "visitors,events,conversion_rate"),
            ]),
        )
        .await;
    assert_eq!(
        goals["results"],
        json!([
            {"goal": "Pricing", "visitors": 4, "events": 4, "conversion_rate": 66.7},
            {"goal": "Blog", "visitors": 1, "events": 1, "conversion_rate": 16.7},
            {"goal": "Pro signup", "visitors": 1, "events": 1, "conversion_rate": 16.7},
        ])
    );
    let two = api
        .ok(
            "stats/breakdown",
            &pl(&[
                ("property", "event:goal"),
                ("filters", "event:goal==Blog|Pro signup"),
            ]),
        )
        .await;
    assert_eq!(
        two["results"],
        json!([{"goal": "Blog", "visitors": 1}, {"goal": "Pro signup", "visitors": 1}])
    );

    // compare=previous_period: day B against day A.
    let compared = api
        .ok(
            "stats/aggregate",
            &[
                ("site_id", "example.com"),
                ("period", "day"),
                ("date", B),
                ("metrics", "visitors,pageviews,bounce_rate"),
                ("compare", "previous_period"),
            ],
        )
        .await;
    assert_eq!(
        compared["results"],
        json!({
            "visitors": {"value": 3, "comparison_value": 3, "change": 0},
            "pageviews": {"value": 4, "comparison_value": 6, "change": -33},
            "bounce_rate": {"value": 50.0, "comparison_value": 50.0, "change": 0.0},
        })
    );

    // Refusals name their parameter.
    for (endpoint, pairs, parameter) in [
        (
            "stats/aggregate",
            pl(&[("filters", "visit:country!=FR")]),
            "filters",
        ),
        (
            "stats/aggregate",
            pl(&[("filters", "visit:source==Google|Bing")]),
            "filters",
        ),
        (
            "stats/aggregate",
            pl(&[("filters", "event:page==/a*|/b")]),
            "filters",
        ),
        (
            "stats/aggregate",
            pl(&[("filters", "event:goal==Nope")]),
            "filters",
        ),
        (
            "stats/aggregate",
            pl(&[("filters", "visit:country_name==Germany")]),
            "filters",
        ),
        ("stats/aggregate", pl(&[("site", "example.com")]), "site"),
        (
            "stats/aggregate",
            pl(&[("metrics", "conversion_rate")]),
            "metrics",
        ),
        (
            "stats/aggregate",
            pl(&[("metrics", "visitors,visitors")]),
            "metrics",
        ),
        (
            "stats/aggregate",
            pl(&[("metrics", "total_revenue")]),
            "metrics",
        ),
        (
            "stats/aggregate",
            pl(&[("compare", "year_over_year")]),
            "compare",
        ),
        (
            "stats/aggregate",
            vec![("site_id", "example.com"), ("period", "forever")],
            "period",
        ),
        (
            "stats/aggregate",
            vec![("site_id", "example.com"), ("period", "custom")],
            "date",
        ),
        (
            "stats/aggregate",
            vec![
                ("site_id", "example.com"),
                ("period", "custom"),
                ("date", "2026-06-11,2026-06-10"),
            ],
            "date",
        ),
        (
            "stats/timeseries",
            pl(&[("interval", "minute")]),
            "interval",
        ),
        (
            "stats/timeseries",
            pl(&[("metrics", "time_on_page")]),
            "metrics",
        ),
        ("stats/breakdown", pl(&[]), "property"),
        (
            "stats/breakdown",
            pl(&[("property", "visit:country_name")]),
            "property",
        ),
        (
            "stats/breakdown",
            pl(&[("property", "event:hostname")]),
            "property",
        ),
        (
            "stats/breakdown",
            pl(&[("property", "event:name"), ("metrics", "time_on_page")]),
            "metrics",
        ),
        (
            "stats/breakdown",
            pl(&[("property", "event:page"), ("limit", "0")]),
            "limit",
        ),
    ] {
        let reply = api.get(endpoint, &pairs).await;
        assert_eq!(reply.status, 400, "{pairs:?}: {}", reply.body);
        assert_eq!(
            reply.body["parameter"], parameter,
            "{pairs:?}: {}",
            reply.body
        );
        assert!(reply.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // The key is checked first, and the site against it, as for footfall's own parameters.
    let reply = api.get_as(None, "stats/aggregate", &pl(&[])).await;
    assert_eq!(reply.status, 401);
    let reply = api
        .get("stats/aggregate", &[("site_id", "nowhere.example")])
        .await;
    assert_eq!(reply.status, 403);
    api.stop().await;
}

async fn v2_queries_answer_with_results_meta_and_query(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let metrics = json!([
        "visitors",
        "visits",
        "pageviews",
        "events",
        "views_per_visit",
        "bounce_rate",
        "visit_duration"
    ]);
    let ours = api.ok("stats/aggregate", &ff(&[("metrics", ALL)])).await;
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": metrics, "date_range": [A, B]}),
    )
    .await;
    let expected: Vec<Value> = ALL.split(',').map(|m| ours["results"][m].clone()).collect();
    assert_eq!(
        answer["results"],
        json!([{"dimensions": [], "metrics": expected}])
    );
    assert_eq!(answer["meta"], json!({}));
    assert_eq!(
        answer["query"],
        json!({
            "site_id": "example.com",
            "metrics": metrics,
            "date_range": [A, B],
            "filters": [],
            "dimensions": [],
            "order_by": [["visitors", "desc"]],
            "include": {},
            "pagination": {"limit": 10000, "offset": 0},
        })
    );

    // A property dimension: footfall's breakdown rows.
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors", "pageviews", "events"],
               "date_range": [A, B], "dimensions": ["visit:source"]}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([
            {"dimensions": ["Google"], "metrics": [2, 5, 6]},
            {"dimensions": [null], "metrics": [2, 2, 2]},
            {"dimensions": ["Bing"], "metrics": [1, 2, 2]},
            {"dimensions": ["Hacker News"], "metrics": [1, 1, 2]},
        ])
    );
    // Time dimensions: buckets with data only, in time order; every label in meta on request.
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors", "pageviews"],
               "date_range": [A, B], "dimensions": ["time:day"]}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([{"dimensions": [A], "metrics": [3, 6]}, {"dimensions": [B], "metrics": [3, 4]}])
    );
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": [B, B],
               "dimensions": ["time:hour"], "include": {"time_labels": true}}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([
            {"dimensions": ["2026-06-11 00:00:00"], "metrics": [1]},
            {"dimensions": ["2026-06-11 01:00:00"], "metrics": [1]},
            {"dimensions": ["2026-06-11 11:00:00"], "metrics": [1]},
        ])
    );
    assert_eq!(
        answer["meta"]["time_labels"].as_array().map(Vec::len),
        Some(24)
    );
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": [A, B],
               "dimensions": ["time:week"], "order_by": [["time:week", "desc"]]}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([{"dimensions": ["2026-06-10"], "metrics": [6]}])
    );

    // Filters: and / or / not-not, as footfall's own filters.
    for (filters, footfall) in [
        (
            json!([[
                "and",
                [
                    ["is", "visit:source", ["Google"]],
                    ["contains", "event:page", ["pricing"]]
                ]
            ]]),
            vec!["source:is:Google", "page:matches:**pricing**"],
        ),
        (
            json!([["contains", "event:page", ["PRICING"], {"case_sensitive": false}]]),
            vec!["page:contains:PRICING"],
        ),
        (
            json!([["not", ["not", ["is", "visit:country", ["US"]]]]]),
            vec!["country:is:US"],
        ),
        (
            json!([["or", [["matches", "event:page", ["^/blog/.*"]]]]]),
            vec!["page:matches:/blog/**"],
        ),
        (
            json!([
                ["matches_wildcard", "event:page", ["/blog/*"]],
                ["is", "visit:device", ["Desktop"]]
            ]),
            vec!["page:matches:/blog/**", "device:is:desktop"],
        ),
    ] {
        let mut pairs = ff(&[("metrics", ALL)]);
        pairs.extend(footfall.iter().map(|f| ("filters", *f)));
        let ours = api.ok("stats/aggregate", &pairs).await;
        let expected: Vec<Value> = ALL.split(',').map(|m| ours["results"][m].clone()).collect();
        let answer = query(
            &api,
            json!({"site_id": "example.com", "metrics": metrics, "date_range": [A, B], "filters": filters}),
        )
        .await;
        assert_eq!(
            answer["results"][0]["metrics"],
            json!(expected),
            "{filters}"
        );
        assert_eq!(answer["query"]["filters"], filters);
    }
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors", "events"], "date_range": [A, B],
               "filters": [["and", [["is", "visit:source", ["Google"]], ["contains", "event:page", ["pricing"]]]]]}),
    )
    .await;
    assert_eq!(answer["results"][0]["metrics"], json!([2, 3]));
    // An or of values on the dimension itself: exactly those rows.
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": [A, B],
               "dimensions": ["visit:source"],
               "filters": [["or", [["is", "visit:source", ["Google"]], ["is", "visit:source", ["Bing"]]]]]}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([{"dimensions": ["Google"], "metrics": [2]}, {"dimensions": ["Bing"], "metrics": [1]}])
    );

    // order_by and pagination.
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors", "pageviews"], "date_range": [A, B],
               "dimensions": ["visit:country"], "order_by": [["visitors", "asc"], ["pageviews", "desc"]]}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([
            {"dimensions": ["DE"], "metrics": [1, 4]},
            {"dimensions": ["FR"], "metrics": [1, 2]},
            {"dimensions": ["GB"], "metrics": [1, 2]},
            {"dimensions": ["US"], "metrics": [2, 2]},
        ])
    );
    let pages: Vec<Value> = breakdowns()
        .into_iter()
        .find(|(d, _)| *d == D::Page)
        .map(|(_, rows)| rows)
        .unwrap_or_default()
        .iter()
        .map(|(page, visitors, _, _)| json!({"dimensions": [page], "metrics": [visitors]}))
        .collect();
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": [A, B],
               "dimensions": ["event:page"], "pagination": {"limit": 2, "offset": 1}}),
    )
    .await;
    assert_eq!(answer["results"], json!(pages[1..3]));
    assert_eq!(
        answer["query"]["pagination"],
        json!({"limit": 2, "offset": 1})
    );

    // Percentages of the question's visitors; Plausible's device names.
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors", "percentage"], "date_range": [A, B],
               "dimensions": ["visit:device"]}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([
            {"dimensions": ["Desktop"], "metrics": [3, 50.0]},
            {"dimensions": ["Mobile"], "metrics": [2, 33.3]},
        ])
    );
    // Imports: footfall's own figures, and meta says none were included.
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": [A, B],
               "include": {"imports": true}}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([{"dimensions": [], "metrics": [6]}])
    );
    assert_eq!(answer["meta"]["imports_included"], false);
    assert!(answer["meta"]["imports_warning"].as_str().is_some());
    assert_eq!(answer["query"]["include"], json!({"imports": true}));
    // Goals as a dimension: footfall's goal rows.
    add_goals(&api).await;
    let answer = query(
        &api,
        json!({"site_id": "example.com", "metrics": ["visitors", "conversion_rate"], "date_range": [A, B],
               "dimensions": ["event:goal"], "order_by": [["visitors", "desc"]]}),
    )
    .await;
    assert_eq!(
        answer["results"],
        json!([
            {"dimensions": ["Pricing"], "metrics": [4, 66.7]},
            {"dimensions": ["Blog"], "metrics": [1, 16.7]},
            {"dimensions": ["Pro signup"], "metrics": [1, 16.7]},
        ])
    );
    api.stop().await;
}

async fn v2_refuses_what_footfall_cannot_answer_exactly(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let base = || json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": "7d"});
    let with = |key: &str, value: Value| {
        let mut q = base();
        q[key] = value;
        q
    };
    for (body, parameter) in [
        (
            with("filters", json!([["is_not", "event:page", ["/"]]])),
            "filters",
        ),
        (
            with("filters", json!([["not", ["is", "event:page", ["/"]]]])),
            "filters",
        ),
        (
            with(
                "filters",
                json!([[
                    "or",
                    [
                        ["is", "visit:source", ["Google"]],
                        ["is", "visit:country", ["DE"]]
                    ]
                ]]),
            ),
            "filters",
        ),
        (
            with(
                "filters",
                json!([["is", "visit:source", ["Google", "Bing"]]]),
            ),
            "filters",
        ),
        (
            with(
                "filters",
                json!([["matches", "event:page", ["^/user/\\d+$"]]]),
            ),
            "filters",
        ),
        (
            with(
                "filters",
                json!([["has_done", ["is", "event:name", ["Signup"]]]]),
            ),
            "filters",
        ),
        (with("filters", json!("event:page==/")), "filters"),
        (
            with("dimensions", json!(["visit:source", "visit:country"])),
            "dimensions",
        ),
        (
            with("dimensions", json!(["visit:country_name"])),
            "dimensions",
        ),
        (with("dimensions", json!(["time:minute"])), "dimensions"),
        (with("metrics", json!([])), "metrics"),
        (
            with("metrics", json!(["visitors", "group_conversion_rate"])),
            "metrics",
        ),
        (with("metrics", json!(["percentage"])), "metrics"),
        (with("metrics", json!(["conversion_rate"])), "metrics"),
        (
            {
                let mut q = with("metrics", json!(["time_on_page"]));
                q["dimensions"] = json!(["time:day"]);
                q
            },
            "metrics",
        ),
        (with("date_range", json!("forever")), "date_range"),
        (
            with(
                "date_range",
                json!(["2026-06-10T00:00:00Z", "2026-06-11T00:00:00Z"]),
            ),
            "date_range",
        ),
        (with("pagination", json!({"limit": 0})), "pagination"),
        (
            with("order_by", json!([["bounce_rate", "desc"]])),
            "order_by",
        ),
        (with("include", json!({"total_rows": true})), "include"),
        (with("include", json!({"time_labels": true})), "include"),
        (with("sort", json!("visitors")), "sort"),
        (
            json!({"metrics": ["visitors"], "date_range": "7d"}),
            "site_id",
        ),
        (
            json!({"site_id": "example.com", "metrics": ["visitors"]}),
            "date_range",
        ),
    ] {
        let (status, answer) = post(&api, Some(&api.key), &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["parameter"], parameter, "{body}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // Not JSON at all.
    let response = api
        .app
        .client
        .post(format!("{}/api/v2/query", api.app.address))
        .header("Authorization", format!("Bearer {}", api.key))
        .body("{\"site_id\":")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 400);
    // The same keys as /api/v1: none, or a site the key does not open.
    let (status, _) = post(&api, None, &base()).await;
    assert_eq!(status, 401);
    let (status, _) = post(&api, Some("ff_nope"), &base()).await;
    assert_eq!(status, 401);
    let (status, _) = post(
        &api,
        Some(&api.key),
        &with("site_id", json!("nowhere.example")),
    )
    .await;
    assert_eq!(status, 403);
    let response = api
        .app
        .client
        .get(format!("{}/api/v2/query", api.app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 405);
    api.stop().await;
}
