//! The goal filter (`goal is NAME`): the visits that converted on a goal, whole, on the
//! hand-worked data set of `support::known` — in the query layer (raw rows), in the stats API
//! (the engine: `Api::spawn` builds the segments), in the dashboard's URL and in CSV exports; the
//! goals of the stats API (`property=goal`) and saved segments there (`segment=ID`).

#[path = "support/api_client.rs"]
mod api_client;
#[path = "support/browser.rs"]
mod browser;
mod support;

use api_client::{Api, api_figures, api_lines};
use footfall::stats::goal::{self, Goal};
use footfall::stats::{Dimension as D, Filter, FilterOp};
use serde_json::json;
use support::Backend;
use support::known::{A, B, fixture};
use support::visits::{lines, query};

both_backends!(
    a_goal_filter_keeps_the_visits_that_converted_in_the_range_whole,
    the_api_understands_goal_filters_goal_rows_and_saved_segments,
    dashboard_urls_and_exports_understand_goal_filters,
);

fn goals() -> Vec<Goal> {
    [
        Goal::page("Pricing", "/pricing"),
        Goal::page("Blog", "/blog/**"),
        Goal::event("Pro signup", "Signup", Some("plan=pro")),
    ]
    .into_iter()
    .map(|g| g.unwrap_or_else(|e| panic!("{e}")))
    .collect()
}

async fn add_goals(store: &footfall::store::DynStore, site: &footfall::domain::Site) {
    for g in goals() {
        store
            .add_goal(site.id, &g)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The range A..B and `extra`, as query pairs.
fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![("site", "example.com"), ("from", A), ("to", B)];
    pairs.extend_from_slice(extra);
    pairs
}

fn converted(name: &str) -> Filter {
    let all = goals();
    let g = all
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no goal {name}"));
    goal::converted(g)
}

async fn a_goal_filter_keeps_the_visits_that_converted_in_the_range_whole(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let aggregate = |from: &'static str, to: &'static str, filters: Vec<Filter>| {
        let store = f.store.clone();
        let q = query(&f.site, from, to, filters);
        async move { store.aggregate(&q).await.unwrap_or_else(|e| panic!("{e}")) }
    };
    // Pricing converts visits 1, 2 and 4 (its /pricing is at 00:10 on day B) and 6. Whole, on
    // the day they started: visitors 1, 2, 3 on A and 5 on B; pageviews 3+1+2+2, events
    // 4+1+2+2; visit 2 bounced; durations 360+0+1200+180.
    let a = aggregate(A, B, vec![converted("Pricing")]).await;
    assert_eq!(
        (a.visitors, a.visits, a.pageviews, a.events),
        (4, 4, 8, 9),
        "{a:?}"
    );
    assert_eq!((a.bounce_rate, a.visit_duration), (25.0, 435.0));
    // Day A alone: visit 4's conversion falls on B, outside the range, so it did not convert.
    let a = aggregate(A, A, vec![converted("Pricing")]).await;
    assert_eq!((a.visitors, a.visits, a.pageviews, a.events), (2, 2, 4, 5));
    // Day B alone: visit 4 converted there but started on A; visit 6 remains.
    let a = aggregate(B, B, vec![converted("Pricing")]).await;
    assert_eq!((a.visitors, a.visits, a.pageviews, a.events), (1, 1, 2, 2));
    // A goal nobody reached, and a goal filter left unresolved, match nothing.
    let nowhere =
        goal::converted(&Goal::page("Nowhere", "/nowhere").unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(aggregate(A, B, vec![nowhere]).await.visits, 0);
    let unresolved = Filter {
        dimension: D::Goal(Vec::new()),
        op: FilterOp::Is,
        value: "Pricing".into(),
    };
    assert_eq!(aggregate(A, B, vec![unresolved]).await.visitors, 0);

    // Whole visits: under Pro signup (visit 1), the pages are all of visit 1's, the Signup on
    // /pricing counted as one more event there; the sources are the converted visits' own.
    let pages = f
        .store
        .breakdown(
            &query(&f.site, A, B, vec![converted("Pro signup")]),
            &D::Page,
            10,
            0,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lines(pages),
        [
            (Some("/pricing".to_owned()), 1, 1, 2),
            (Some("/".to_owned()), 1, 1, 1),
            (Some("/thanks".to_owned()), 1, 1, 1),
        ]
    );
    let sources = f
        .store
        .breakdown(
            &query(&f.site, A, B, vec![converted("Pricing")]),
            &D::Source,
            10,
            0,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lines(sources),
        [
            (Some("Google".to_owned()), 2, 5, 6),
            (Some("Bing".to_owned()), 1, 2, 2),
            (None, 1, 1, 1),
        ]
    );
    // With another filter: Pricing converters on mobile are visit 2 alone (visitor 2).
    let device = Filter {
        dimension: D::Device,
        op: FilterOp::Is,
        value: "mobile".into(),
    };
    let a = aggregate(A, B, vec![converted("Pricing"), device]).await;
    assert_eq!((a.visitors, a.visits, a.pageviews), (1, 1, 1));
    // Two goals: both must have converted in the visit (Pricing and Pro signup: visit 1).
    let a = aggregate(A, B, vec![converted("Pricing"), converted("Pro signup")]).await;
    assert_eq!((a.visits, a.pageviews), (1, 3));
    f.db.cleanup().await;
}

async fn the_api_understands_goal_filters_goal_rows_and_saved_segments(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    add_goals(&api.app.store, &api.site).await;
    // Answered from segments here, with the numbers the raw rows give above.
    let body = api
        .ok("stats/aggregate", &with(&[("filters", "goal:is:Pricing")]))
        .await;
    assert_eq!(api_figures(&body), (4, 4, 8, 9, 2.0, 25.0, 435.0), "{body}");
    assert_eq!(body["filters"], json!(["goal:is:Pricing"]));
    let body = api
        .ok(
            "stats/aggregate",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", A),
                ("filters", "goal:is:Pricing"),
            ],
        )
        .await;
    assert_eq!(api_figures(&body).0, 2);
    let pages = api
        .ok(
            "stats/breakdown",
            &with(&[("filters", "goal:is:Pro signup"), ("property", "page")]),
        )
        .await;
    assert_eq!(
        api_lines(&pages, "page"),
        [
            (Some("/pricing".to_owned()), 1, 1, 2),
            (Some("/".to_owned()), 1, 1, 1),
            (Some("/thanks".to_owned()), 1, 1, 1),
        ]
    );

    // property=goal: a row per goal, by name, with its conversions and conversion rate (of the
    // six visitors of the range).
    let rows = api
        .ok("stats/breakdown", &with(&[("property", "goal")]))
        .await;
    assert_eq!(
        rows["results"],
        json!([
            {"goal": "Blog", "visitors": 1, "pageviews": 1, "events": 1, "conversion_rate": 16.7},
            {"goal": "Pricing", "visitors": 4, "pageviews": 4, "events": 4, "conversion_rate": 66.7},
            {"goal": "Pro signup", "visitors": 1, "pageviews": 0, "events": 1, "conversion_rate": 16.7},
        ]),
        "{rows}"
    );
    // Under a filter, of that view's visitors (mobile: visitors 2 and 4; visitor 2 saw /pricing).
    let mobile = api
        .ok(
            "stats/breakdown",
            &with(&[
                ("property", "goal"),
                ("filters", "device:is:mobile"),
                ("metrics", "visitors"),
                ("limit", "1"),
                ("page", "2"),
            ]),
        )
        .await;
    assert_eq!(
        mobile["results"],
        json!([{"goal": "Pricing", "visitors": 1, "conversion_rate": 50.0}])
    );

    // A saved segment applies as its filters would.
    let saved = api
        .app
        .store
        .add_saved_segment(
            api.site.id,
            "Bought",
            &["goal:is:Pricing".to_owned(), "device:is:desktop".to_owned()],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = saved.id.to_string();
    let by_segment = api
        .ok("stats/aggregate", &with(&[("segment", id.as_str())]))
        .await;
    let by_filters = api
        .ok(
            "stats/aggregate",
            &with(&[
                ("filters", "goal:is:Pricing"),
                ("filters", "device:is:desktop"),
            ]),
        )
        .await;
    assert_eq!(by_segment["results"], by_filters["results"]);
    assert_eq!(api_figures(&by_segment).1, 3, "visits 1, 4 and 6");
    assert_eq!(by_segment["segment"], json!(saved.id));
    let series = api
        .ok("stats/timeseries", &with(&[("segment", id.as_str())]))
        .await;
    assert_eq!(
        series["results"],
        json!([
            {"date": A, "visitors": 2, "pageviews": 5},
            {"date": B, "visitors": 1, "pageviews": 2},
        ])
    );

    // Bad goal filters and segments: 400s that name the parameter and say what is wrong.
    for (extra, parameter, says) in [
        (
            ("filters", "goal:is:Nope"),
            "filters",
            "has no goal named \"Nope\"",
        ),
        (
            ("filters", "goal:contains:Pri"),
            "filters",
            "goal:is:Signup",
        ),
        (
            ("segment", "9999"),
            "segment",
            "not one of example.com's saved segments",
        ),
        (("segment", "first"), "segment", "saved segment's number"),
    ] {
        let reply = api.get("stats/aggregate", &with(&[extra])).await;
        assert_eq!(reply.status, 400, "{extra:?}: {}", reply.body);
        assert_eq!(reply.body["parameter"], parameter, "{}", reply.body);
        let message = reply.body["error"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{extra:?}: {message}");
    }
    api.stop().await;
}

async fn dashboard_urls_and_exports_understand_goal_filters(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    add_goals(&api.app.store, &api.site).await;
    let mut browser = browser::log_in_owner(&api.app).await;
    let view = format!("from={A}&to={B}");
    // The Goals table links each goal to the view filtered on it.
    let page = browser.get(&format!("/sites/example.com?{view}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("f=goal%3Ais%3APricing"),
        "no goal link in the Goals table"
    );
    // Followed, the whole dashboard shows the converted visits, and says so in its filter chip.
    let filtered = browser
        .get(&format!("/sites/example.com?{view}&f=goal%3Ais%3APricing"))
        .await;
    assert_eq!(filtered.status, 200, "{}", filtered.body);
    assert!(filtered.body.contains("Goal is Pricing"), "no filter chip");
    // An unknown goal: a page that says which goals there are.
    let unknown = browser
        .get(&format!("/sites/example.com?{view}&f=goal%3Ais%3ANope"))
        .await;
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.body.contains("has no goal named") && unknown.body.contains("Pro signup"),
        "{}",
        unknown.body
    );
    // CSV: the events of the visits that converted on Pro signup (visit 1's four).
    let csv = browser
        .get(&format!(
            "/sites/example.com/export/events.csv?{view}&f=goal%3Ais%3APro%20signup"
        ))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let rows: Vec<&str> = csv.body.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{}", csv.body);
    assert!(rows.iter().any(|r| r.contains("/thanks")));
    let sources = browser
        .get(&format!(
            "/sites/example.com/export/source.csv?{view}&f=goal%3Ais%3APricing"
        ))
        .await;
    assert_eq!(sources.status, 200);
    assert!(sources.body.contains("Google,2,"), "{}", sources.body);
    api.stop().await;
}
