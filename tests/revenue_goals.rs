//! Revenue goals (issue 14): a custom event goal with a currency sums its conversions' amounts
//! in that currency and counts, without summing, those in others — under the view's period and
//! filters, on the dashboard's Goals table and in the stats API — defined from the command line
//! or the settings page, with clear errors for bad definitions. Hand-computed, both backends.

#[path = "support/browser.rs"]
mod browser;
mod support;

use footfall::stats::goal::Goal;
use footfall::stats::{Dimension as D, Filter, FilterOp, GoalRevenue, StatsQuery};
use serde_json::json;
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp, footfall, pageview};

both_backends!(
    revenue_goals_sum_their_currency_and_count_the_others,
    revenue_goals_are_defined_on_the_command_line_and_the_settings_page,
);

fn purchase(amount: &str, currency: &str) -> String {
    format!(
        r#"{{"n":"Purchase","u":"https://example.com/checkout","d":"example.com","$":{{"amount":{amount},"currency":"{currency}"}}}}"#
    )
}

/// Today's question (the site's local day) with `filters`.
fn today(site: &footfall::domain::Site, filters: Vec<Filter>) -> StatsQuery {
    let day = chrono::Utc::now()
        .with_timezone(&site.timezone.0)
        .date_naive();
    StatsQuery {
        site: site.id,
        timezone: site.timezone,
        from: day,
        to: day,
        filters,
    }
}

async fn revenue_goals_sum_their_currency_and_count_the_others(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    // Desktop: 12.50 and 19.99 EUR, 5 USD, a Purchase without revenue. Mobile: 0.01 EUR.
    let purchase_plain = r#"{"n":"Purchase","u":"https://example.com/checkout","d":"example.com"}"#;
    for (body, ua) in [
        (pageview("/pricing"), CHROME_UA),
        (purchase("12.5", "EUR"), CHROME_UA),
        (purchase("19.99", "eur"), CHROME_UA),
        (purchase("5", "USD"), CHROME_UA),
        (purchase_plain.to_owned(), CHROME_UA),
        (pageview("/"), IPHONE_UA),
        (purchase("0.01", "EUR"), IPHONE_UA),
    ] {
        assert_eq!(app.post_event(&body, ua).await.status(), 202, "{body}");
    }
    app.wait_for_events("example.com", 7).await;
    let site = app.site("example.com").await;
    let revenue = Goal::event("Purchases", "Purchase", None)
        .and_then(|g| g.with_revenue("EUR"))
        .unwrap_or_else(|e| panic!("{e}"));
    let plain = Goal::page("Pricing", "/pricing").unwrap_or_else(|e| panic!("{e}"));
    for g in [&revenue, &plain] {
        app.store
            .add_goal(site.id, g)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Stored and read back as a revenue goal.
    let goals = app
        .store
        .goals(site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(goals[1].currency.as_deref(), Some("EUR"), "{goals:?}");
    assert_eq!(goals[1].describe_all(), "event Purchase, revenue in EUR");

    let ask = |filters: Vec<Filter>, goal: Goal| {
        let q = today(&site, filters);
        let store = app.store.clone();
        async move {
            store
                .goal_revenue(&q, &goal)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    // 12.50 + 19.99 + 0.01 EUR in three conversions; the USD one counted, not summed.
    let all = ask(vec![], revenue.clone()).await;
    assert_eq!(
        all,
        Some(GoalRevenue {
            micros: 32_500_000,
            conversions: 3,
            other_currency: 1
        })
    );
    assert_eq!(
        all.map(|r| (r.total(), r.average())),
        Some((32.5, 32.5 / 3.0))
    );
    // The view's filters hold: desktop has 12.50 and 19.99.
    let desktop = Filter {
        dimension: D::Device,
        op: FilterOp::Is,
        value: "desktop".into(),
    };
    let on_desktop = ask(vec![desktop], revenue.clone()).await;
    assert_eq!(
        on_desktop.map(|r| (r.micros, r.conversions)),
        Some((32_490_000, 2))
    );
    // A goal without a currency has no revenue.
    assert_eq!(ask(vec![], plain).await, None);

    // The dashboard: revenue columns, with the note on the other currency.
    let mut browser = browser::log_in_owner(&app).await;
    let page = browser.get("/sites/example.com?period=today").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let start = page
        .body
        .find(r#"aria-label="Goals""#)
        .unwrap_or_else(|| panic!("no Goals table:\n{}", page.body));
    let table = &page.body[start..];
    assert!(
        table.contains(r#"<th scope="col" class="num">Revenue</th>"#),
        "{table}"
    );
    assert!(table.contains("32.50 EUR"), "{table}");
    assert!(table.contains("10.83 EUR"), "the average of three: {table}");
    assert!(
        table.contains("1 conversion in other currencies, counted but not summed"),
        "{table}"
    );
    // The stats API's goal rows.
    let (_, key) = footfall::auth::api_key::create_key(
        app.store.as_ref(),
        "tests",
        &footfall::store::ApiKeyScope::AllSites,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let body: serde_json::Value = app
        .client
        .get(format!(
            "{}/api/v1/stats/breakdown?site=example.com&period=today&property=goal&metrics=events",
            app.address
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        body["results"],
        json!([
            {"goal": "Pricing", "events": 1, "conversion_rate": 50.0},
            {"goal": "Purchases", "events": 5, "conversion_rate": 100.0, "revenue": {
                "currency": "EUR", "total": 32.5, "average": 32.5 / 3.0, "conversions": 3,
                "other_currency_conversions": 1
            }},
        ]),
        "{body}"
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn revenue_goals_are_defined_on_the_command_line_and_the_settings_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let run = |args: &[&str]| {
        let mut all = vec!["goal", "add", "--site", "example.com"];
        all.extend_from_slice(args);
        footfall(&app.db, &all)
    };
    let ok = run(&["--name", "Sales", "--event", "Purchase", "--revenue", "usd"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("event Purchase, revenue in USD"));
    for (args, says) in [
        (
            &["--name", "Bad", "--event", "Purchase", "--revenue", "EURO"][..],
            "ISO 4217",
        ),
        (
            &["--name", "Bad", "--path", "/thanks", "--revenue", "EUR"][..],
            "revenue",
        ),
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // The settings form: a currency on an event goal; a bad one is refused, nothing stored.
    let mut browser = browser::log_in_owner(&app).await;
    let token = browser
        .get("/sites/example.com/settings")
        .await
        .csrf_token();
    let form = |name: &'static str, currency: &'static str| {
        [
            ("csrf_token", token.clone()),
            ("name", name.to_owned()),
            ("kind", "event".to_owned()),
            ("event", "Purchase".to_owned()),
            ("currency", currency.to_owned()),
        ]
    };
    let add = "/sites/example.com/goals";
    let fields = form("Euros", "eur");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let added = browser.post(add, &fields).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let fields = form("Bad", "12€");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post(add, &fields).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("ISO 4217"), "{}", refused.body);
    let site = app.site("example.com").await;
    let goals = app
        .store
        .goals(site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let currencies: Vec<(&str, Option<&str>)> = goals
        .iter()
        .map(|g| (g.name.as_str(), g.currency.as_deref()))
        .collect();
    assert_eq!(currencies, [("Euros", Some("EUR")), ("Sales", Some("USD"))]);
    let settings = browser.get("/sites/example.com/settings").await;
    assert!(settings.body.contains("event Purchase, revenue in EUR"));
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
