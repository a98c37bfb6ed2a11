//! The stats API over HTTP on both backends, on the hand-worked data set of `support::known`:
//! every metric and property gives the hand-worked figures and the store's own answer; keys
//! and scopes; a 400 naming every bad parameter; hostile text in every parameter.

mod support;

use footfall::auth::api_key;
use footfall::domain::Site;
use footfall::stats::rollup::rollup_pending;
use footfall::stats::{Dimension as D, Filter, FilterOp};
use footfall::store::ApiKeyScope;
use serde_json::Value;
use support::known::{A, B, Row, breakdowns, figures, populate};
use support::visits::{expect, lines, query};
use support::{Backend, Options, TestApp};

both_backends!(
    every_metric_and_property_gives_the_hand_worked_figures_and_the_stores_answer,
    filters_narrow_the_answers_exactly_as_in_the_query_layer,
    breakdowns_page_through_their_rows,
    a_request_needs_a_valid_key_that_opens_the_site,
    every_bad_parameter_gets_a_400_that_names_it,
    hostile_text_in_any_parameter_is_a_400_or_an_empty_answer_never_a_server_error,
);

/// A running app with the known data set on example.com, an empty other.org, and an API key
/// for all sites.
struct Api {
    app: TestApp,
    site: Site,
    key: String,
}

struct Reply {
    status: u16,
    body: Value,
    cache_control: String,
    www_authenticate: Option<String>,
}

impl Api {
    async fn spawn(backend: Backend) -> Option<Self> {
        let options = Options {
            sites: vec![("other.org", "UTC")],
            ..Options::default()
        };
        let app = TestApp::spawn(backend, options).await?;
        let site = populate(&app.store).await;
        // The app's rollup task may have run before the events were written; a run that starts
        // now picks them up (a busy Postgres lock means another run is going on: try again).
        for _ in 0..100 {
            let report = rollup_pending(app.store.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if report.ran {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let (_, key) = api_key::create_key(app.store.as_ref(), "tests", &ApiKeyScope::AllSites)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Some(Self { app, site, key })
    }

    async fn get_as(&self, key: Option<&str>, endpoint: &str, pairs: &[(&str, &str)]) -> Reply {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut request = self
            .app
            .client
            .get(format!("{}/api/v1/{endpoint}?{query}", self.app.address));
        if let Some(key) = key {
            request = request.header("Authorization", key);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {endpoint}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let cache_control = header("cache-control").unwrap_or_default();
        let www_authenticate = header("www-authenticate");
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{endpoint}?{query}: {status} is not JSON ({e}): {text}"));
        Reply {
            status,
            body,
            cache_control,
            www_authenticate,
        }
    }

    async fn get(&self, endpoint: &str, pairs: &[(&str, &str)]) -> Reply {
        let bearer = format!("Bearer {}", self.key);
        self.get_as(Some(&bearer), endpoint, pairs).await
    }

    /// A 200's JSON body.
    async fn ok(&self, endpoint: &str, pairs: &[(&str, &str)]) -> Value {
        let reply = self.get(endpoint, pairs).await;
        assert_eq!(reply.status, 200, "{endpoint} {pairs:?}: {}", reply.body);
        assert_eq!(reply.cache_control, "no-store");
        reply.body
    }

    async fn stop(self) {
        let (_, _, db) = self.app.stop().await;
        db.cleanup().await;
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("{v} is not an integer"))
}

fn float(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// An aggregate's results as `known::figures` shapes them.
fn api_figures(body: &Value) -> (i64, i64, i64, i64, f64, f64, f64) {
    let r = &body["results"];
    figures(footfall::stats::Aggregate {
        visitors: int(&r["visitors"]),
        visits: int(&r["visits"]),
        pageviews: int(&r["pageviews"]),
        events: int(&r["events"]),
        views_per_visit: float(&r["views_per_visit"]),
        bounce_rate: float(&r["bounce_rate"]),
        visit_duration: float(&r["visit_duration"]),
    })
}

/// A breakdown's rows as `(value, visitors, pageviews, events)`, `None` where not set.
fn api_lines(body: &Value, property: &str) -> Vec<(Option<String>, i64, i64, i64)> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .iter()
        .map(|row| {
            (
                row[property].as_str().map(str::to_owned),
                int(&row["visitors"]),
                int(&row["pageviews"]),
                int(&row["events"]),
            )
        })
        .collect()
}

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

async fn a_request_needs_a_valid_key_that_opens_the_site(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let store = api.app.store.clone();
    let other = api.app.site("other.org").await;
    let (scoped, scoped_token) = api_key::create_key(
        store.as_ref(),
        "other only",
        &ApiKeyScope::Sites(vec![other.id]),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let ask = |key: Option<String>, site: &'static str| {
        let api = &api;
        async move {
            api.get_as(
                key.as_deref(),
                "stats/aggregate",
                &[("site", site), ("period", "7d")],
            )
            .await
        }
    };
    let bearer = |token: &str| Some(format!("Bearer {token}"));

    let none = ask(None, "example.com").await;
    assert_eq!(none.status, 401);
    assert!(
        none.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("missing API key")
    );
    assert_eq!(
        none.www_authenticate.as_deref(),
        Some("Bearer realm=\"footfall\"")
    );
    assert_eq!(none.cache_control, "no-store");
    for malformed in [
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer".to_owned(),
        "Bearer   ".to_owned(),
        api.key.clone(),
        format!("Token {}", api.key),
    ] {
        let reply = ask(Some(malformed.clone()), "example.com").await;
        assert_eq!(reply.status, 401, "{malformed:?}");
        assert!(
            reply.body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("malformed")
        );
    }
    for wrong in [
        "ff_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ff_short",
        &api.key[..45],
        &api.key.to_uppercase(),
        "' OR 1=1 --",
    ] {
        let reply = ask(bearer(wrong), "example.com").await;
        assert_eq!(reply.status, 401, "{wrong:?}");
        assert_eq!(reply.body["error"], "invalid or revoked API key");
    }
    // A key is checked before the parameters: no hints for someone without one.
    let reply = api
        .get_as(
            None,
            "stats/breakdown",
            &[("site", "nope.org"), ("limit", "x")],
        )
        .await;
    assert_eq!(reply.status, 401);

    // The scheme is case-insensitive.
    let lower = ask(Some(format!("bearer {}", api.key)), "example.com").await;
    assert_eq!(lower.status, 200, "{}", lower.body);
    // The scoped key opens its site only; a site it does not open and a site that does not
    // exist get the same answer.
    assert_eq!(ask(bearer(&scoped_token), "other.org").await.status, 200);
    let out_of_scope = ask(bearer(&scoped_token), "example.com").await;
    let missing = ask(bearer(&scoped_token), "nope.org").await;
    assert_eq!((out_of_scope.status, missing.status), (403, 403));
    assert_eq!(
        out_of_scope.body["error"],
        "this API key has no access to site example.com"
    );
    assert_eq!(
        missing.body.to_string().replace("nope.org", "example.com"),
        out_of_scope.body.to_string()
    );
    assert_eq!(missing.cache_control, "no-store");
    // An all-sites key opens every site, but still gets no word on sites that do not exist.
    assert_eq!(ask(bearer(&api.key), "other.org").await.status, 200);
    let all_missing = ask(bearer(&api.key), "nope.org").await;
    assert_eq!(all_missing.status, 403);
    assert_eq!(all_missing.body, missing.body);
    for (endpoint, extra) in [
        ("stats/timeseries", ("interval", "day")),
        ("stats/breakdown", ("property", "page")),
    ] {
        let reply = api
            .get_as(
                bearer(&scoped_token).as_deref(),
                endpoint,
                &[("site", "example.com"), extra],
            )
            .await;
        assert_eq!(reply.status, 403, "{endpoint}");
    }
    // Uses are recorded.
    let listed = store.api_keys().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        listed.iter().all(|k| k.last_used_at.is_some()),
        "{listed:?}"
    );

    // Revoked: 401 from then on.
    assert!(store.revoke_api_key(scoped.id).await.unwrap_or(false));
    let revoked = ask(bearer(&scoped_token), "other.org").await;
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.body["error"], "invalid or revoked API key");

    // The description needs no key; other methods get a JSON 405.
    let doc = api.get_as(None, "openapi.json", &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    for endpoint in ["aggregate", "timeseries", "breakdown"] {
        let path = format!("/api/v1/stats/{endpoint}");
        assert!(doc.body["paths"][&path]["get"].is_object(), "{path}");
    }
    assert_eq!(
        doc.body,
        serde_json::from_str::<Value>(footfall::api::openapi::DOCUMENT).unwrap_or_default()
    );
    let post = api
        .app
        .client
        .post(format!("{}/api/v1/stats/aggregate", api.app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(post.status().as_u16(), 405);
    api.stop().await;
}

/// (endpoint, query pairs, the parameter the 400 must name)
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

async fn every_bad_parameter_gets_a_400_that_names_it(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let site = ("site", "example.com");
    let cases: Vec<Case> = vec![
        ("stats/aggregate", vec![], "site"),
        (
            "stats/aggregate",
            vec![("site", "https://example.com/")],
            "site",
        ),
        ("stats/aggregate", vec![site, ("site", "other.org")], "site"),
        ("stats/aggregate", vec![site, ("sites", "x")], "sites"),
        ("stats/aggregate", vec![site, ("f", "page:is:/")], "f"),
        (
            "stats/aggregate",
            vec![site, ("period", "forever")],
            "period",
        ),
        ("stats/aggregate", vec![site, ("period", "")], "period"),
        (
            "stats/aggregate",
            vec![site, ("from", "2026-06-31"), ("to", B)],
            "from",
        ),
        (
            "stats/aggregate",
            vec![site, ("from", A), ("to", "tomorrow")],
            "to",
        ),
        ("stats/aggregate", vec![site, ("from", A)], "to"),
        (
            "stats/aggregate",
            vec![site, ("period", "custom"), ("to", B)],
            "from",
        ),
        ("stats/aggregate", vec![site, ("from", B), ("to", A)], "to"),
        (
            "stats/aggregate",
            vec![site, ("period", "7d"), ("from", A)],
            "from",
        ),
        (
            "stats/aggregate",
            vec![site, ("from", "1969-12-31"), ("to", A)],
            "from",
        ),
        (
            "stats/aggregate",
            vec![site, ("from", "2000-01-01"), ("to", A)],
            "to",
        ),
        (
            "stats/aggregate",
            vec![site, ("metrics", "visitors,uniques")],
            "metrics",
        ),
        ("stats/aggregate", vec![site, ("metrics", "")], "metrics"),
        (
            "stats/aggregate",
            vec![site, ("filters", "planet:is:mars")],
            "filters",
        ),
        (
            "stats/aggregate",
            vec![site, ("filters", "page:like:/")],
            "filters",
        ),
        (
            "stats/aggregate",
            vec![site, ("filters", "page")],
            "filters",
        ),
        (
            "stats/aggregate",
            vec![site, ("property", "page")],
            "property",
        ),
        ("stats/aggregate", vec![site, ("limit", "10")], "limit"),
        (
            "stats/timeseries",
            vec![site, ("interval", "week")],
            "interval",
        ),
        (
            "stats/timeseries",
            vec![site, ("period", "12mo"), ("interval", "hour")],
            "interval",
        ),
        (
            "stats/timeseries",
            vec![site, ("metrics", "visits")],
            "metrics",
        ),
        (
            "stats/timeseries",
            vec![site, ("metrics", "bounce_rate")],
            "metrics",
        ),
        ("stats/breakdown", vec![site], "property"),
        (
            "stats/breakdown",
            vec![site, ("property", "pages")],
            "property",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "prop:")],
            "property",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("metrics", "visit_duration")],
            "metrics",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("metrics", "bounce_rate")],
            "metrics",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("metrics", "views_per_visit")],
            "metrics",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("metrics", "visits")],
            "metrics",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("limit", "0")],
            "limit",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("limit", "1001")],
            "limit",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("limit", "ten")],
            "limit",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("page", "0")],
            "page",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("page", "4294967296")],
            "page",
        ),
        (
            "stats/breakdown",
            vec![site, ("property", "page"), ("interval", "day")],
            "interval",
        ),
    ];
    for (endpoint, pairs, parameter) in cases {
        let reply = api.get(endpoint, &pairs).await;
        assert_eq!(reply.status, 400, "{endpoint} {pairs:?}: {}", reply.body);
        assert_eq!(reply.body["parameter"], parameter, "{endpoint} {pairs:?}");
        let error = reply.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(parameter), "{endpoint} {pairs:?}: {error}");
        assert_eq!(reply.cache_control, "no-store");
    }
    // Eleven filters are too many.
    let mut pairs = vec![site];
    let many: Vec<String> = (0..11).map(|i| format!("page:is:/{i}")).collect();
    pairs.extend(many.iter().map(|f| ("filters", f.as_str())));
    let reply = api.get("stats/aggregate", &pairs).await;
    assert_eq!(
        (reply.status, &reply.body["parameter"]),
        (400, &Value::from("filters"))
    );
    api.stop().await;
}

/// Text that would change a query's meaning if it were ever spliced into SQL, and text that
/// trips up careless string handling.
const HOSTILE: &[&str] = &[
    "' OR 1=1 --",
    "\"; DROP TABLE events; --",
    "%' UNION SELECT password_hash, 1, 1 FROM users --",
    "1); DELETE FROM api_keys; --",
    "\0",
    "a\0b",
    "é🦀\u{202e}ǅ",
    "\\",
    "../../../etc/passwd",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
];

async fn hostile_text_in_any_parameter_is_a_400_or_an_empty_answer_never_a_server_error(
    backend: Backend,
) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let endpoints = ["stats/aggregate", "stats/timeseries", "stats/breakdown"];
    let base = |endpoint: &str| -> Vec<(String, String)> {
        let mut pairs = vec![
            ("site".to_owned(), "example.com".to_owned()),
            ("from".to_owned(), A.to_owned()),
            ("to".to_owned(), B.to_owned()),
        ];
        if endpoint == "stats/breakdown" {
            pairs.push(("property".into(), "page".into()));
        }
        pairs
    };
    let mut checked = 0;
    for text in HOSTILE {
        for endpoint in endpoints {
            let mut variants: Vec<(String, Vec<(String, String)>)> = Vec::new();
            // As the value of every parameter (replacing the valid one).
            for name in [
                "site", "period", "from", "to", "metrics", "property", "limit", "page", "interval",
            ] {
                let mut pairs = base(endpoint);
                pairs.retain(|(n, _)| n != name);
                pairs.push((name.to_owned(), (*text).to_owned()));
                variants.push((name.to_owned(), pairs));
            }
            // As a filter's value, a prop key and a dimension, and as a breakdown's prop key.
            for (label, extra) in [
                ("filters value is", ("filters", format!("page:is:{text}"))),
                (
                    "filters value contains",
                    ("filters", format!("page:contains:{text}")),
                ),
                (
                    "filters session value",
                    ("filters", format!("source:is:{text}")),
                ),
                ("filters prop key", ("filters", format!("prop:{text}:is:x"))),
                (
                    "filters prop value",
                    ("filters", format!("prop:plan:contains:{text}")),
                ),
                ("filters dimension", ("filters", format!("{text}:is:x"))),
                ("filters operator", ("filters", format!("page:{text}:x"))),
                ("property prop key", ("property", format!("prop:{text}"))),
                ("unknown parameter", (*text, "1".to_owned())),
            ] {
                let mut pairs = base(endpoint);
                pairs.retain(|(n, _)| n != "property" || extra.0 != "property");
                pairs.push((extra.0.to_owned(), extra.1));
                variants.push((label.to_owned(), pairs));
            }
            for (label, pairs) in variants {
                let refs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let reply = api.get(endpoint, &refs).await;
                let what = format!("{endpoint} {label} {text:?}");
                match reply.status {
                    400 => assert!(reply.body["error"].is_string(), "{what}"),
                    200 => {
                        // Nothing stored holds these texts: whatever they filter is empty.
                        let results = &reply.body["results"];
                        let empty = match results {
                            Value::Array(rows) => rows.iter().all(|r| {
                                r["visitors"].as_i64().unwrap_or(0) == 0
                                    && r["pageviews"].as_i64().unwrap_or(0) == 0
                            }),
                            other => other["visitors"] == 0,
                        };
                        assert!(
                            empty
                                || !label.starts_with("filters") && !label.starts_with("property"),
                            "{what}: {}",
                            reply.body
                        );
                    }
                    // A key scoped elsewhere would see 403; this one opens every site, and no
                    // hostile text names one.
                    status => panic!("{what}: {status} {}", reply.body),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked}");
    // Everything is still there, and the key still works.
    assert_eq!(
        api.app
            .store
            .count_events(api.site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        12
    );
    assert_eq!(api.app.store.api_keys().await.unwrap_or_default().len(), 1);
    assert_eq!(api.app.store.count_users().await.unwrap_or(-1), 0);
    let body = api
        .ok(
            "stats/aggregate",
            &[("site", "example.com"), ("from", A), ("to", B)],
        )
        .await;
    assert_eq!(body["results"]["events"], 12);
    api.stop().await;
}
