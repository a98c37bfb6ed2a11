//! Revenue on custom events (issue 14): `"$": {"amount": …, "currency": …}` posted to the
//! collection endpoint is stored exactly, as millionths and an upper-case code, read back with
//! SQL on both backends; anything else gets a 400 naming the field and stores nothing.

#[path = "support/browser.rs"]
mod browser;
#[macro_use]
mod support;

use serde_json::Value;
use support::{Backend, CHROME_UA, Options, TestApp, TestDb};

both_backends!(
    a_purchase_is_stored_with_its_exact_amount_and_currency,
    bad_revenue_gets_a_400_naming_the_field_and_stores_nothing,
);

/// A custom event on example.com carrying `revenue` as its `$` (raw JSON text).
fn purchase(name: &str, revenue: &str) -> String {
    format!(
        r#"{{"n":"{name}","u":"https://example.com/checkout","d":"example.com","$":{revenue}}}"#
    )
}

/// An event's name, `revenue_micros` and `revenue_currency`.
type Stored = (String, Option<i64>, Option<String>);

/// Every stored event's name and revenue columns, in insert order, read with plain SQL.
async fn stored_revenue(db: &TestDb) -> Vec<Stored> {
    let sql = "SELECT name, revenue_micros, revenue_currency FROM events ORDER BY id";
    with_connection!(db, |c| {
        sqlx::query_as(sql)
            .fetch_all(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
}

async fn a_purchase_is_stored_with_its_exact_amount_and_currency(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    // Event name, `$` as sent, what is stored.
    type Case = (&'static str, &'static str, Option<(i64, &'static str)>);
    let cases: [Case; 9] = [
        (
            "Purchase",
            r#"{"amount":12.5,"currency":"EUR"}"#,
            Some((12_500_000, "EUR")),
        ),
        (
            "Free trial",
            r#"{"amount":0,"currency":"usd"}"#,
            Some((0, "USD")),
        ),
        (
            "Purchase",
            r#"{"amount":19.99,"currency":"Gbp"}"#,
            Some((19_990_000, "GBP")),
        ),
        (
            "Purchase",
            r#"{"amount":0.1,"currency":"EUR"}"#,
            Some((100_000, "EUR")),
        ),
        (
            "Purchase",
            r#"{"amount":0.2,"currency":"EUR"}"#,
            Some((200_000, "EUR")),
        ),
        // The largest amount allowed, and one with cents near it (16 significant digits would
        // be past what a JSON number carries exactly).
        (
            "Contract",
            r#"{"amount":1e12,"currency":"JPY"}"#,
            Some((1_000_000_000_000_000_000, "JPY")),
        ),
        (
            "Contract",
            r#"{"amount":999999999999.99,"currency":"JPY"}"#,
            Some((999_999_999_999_990_000, "JPY")),
        ),
        // Unknown fields inside `$` are ignored; `null` is no revenue.
        (
            "Purchase",
            r#"{"amount":7,"currency":"CHF","note":"gift"}"#,
            Some((7_000_000, "CHF")),
        ),
        ("Signup", "null", None),
    ];
    for (name, revenue, _) in &cases {
        let body = purchase(name, revenue);
        let response = app.post_event(&body, CHROME_UA).await;
        assert_eq!(response.status(), 202, "{body}");
    }
    // A pageview and a custom event without `$` have none either.
    let plain = [
        support::pageview("/"),
        r#"{"n":"Signup","u":"https://example.com/","d":"example.com","p":{"plan":"pro"}}"#
            .to_owned(),
    ];
    for body in &plain {
        assert_eq!(app.post_event(body, CHROME_UA).await.status(), 202);
    }
    let events = app
        .wait_for_events("example.com", cases.len() + plain.len())
        .await;
    // What the store reads back (live view, CSV export) carries it too.
    let mut read_back: Vec<_> = events
        .iter()
        .map(|e| (e.id, e.revenue_micros, e.revenue_currency.clone()))
        .collect();
    read_back.sort();

    let stored = stored_revenue(&app.db).await;
    let mut expected: Vec<Stored> = cases
        .iter()
        .map(|(name, _, r)| {
            (
                (*name).to_owned(),
                r.map(|r| r.0),
                r.map(|r| r.1.to_owned()),
            )
        })
        .collect();
    expected.push(("pageview".into(), None, None));
    expected.push(("Signup".into(), None, None));
    // One event per request, queued and written in order.
    assert_eq!(stored, expected);
    assert_eq!(
        read_back
            .iter()
            .map(|(_, micros, currency)| (*micros, currency.clone()))
            .collect::<Vec<_>>(),
        stored
            .iter()
            .map(|(_, micros, currency)| (*micros, currency.clone()))
            .collect::<Vec<_>>()
    );

    // Sums in SQL are exact: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
    let sum = support::query_int(
        &app.db,
        "SELECT CAST(SUM(revenue_micros) AS BIGINT) FROM events \
         WHERE revenue_currency = 'EUR'",
    )
    .await;
    assert_eq!(sum, 12_500_000 + 100_000 + 200_000);

    // The raw events export holds the two columns, as stored (the engagement figures follow).
    let mut browser = browser::log_in_owner(&app).await;
    let csv = browser
        .get("/sites/example.com/export/events.csv?period=30d")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let mut lines = csv.body.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.ends_with(",props,revenue_micros,revenue_currency,engaged_ms,scroll_depth"),
        "{header}"
    );
    let mut rows: Vec<&str> = lines.collect();
    rows.sort_by_key(|row| {
        row.split(',')
            .next()
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or_default()
    });
    assert!(rows[0].ends_with(",12500000,EUR,,"), "{}", rows[0]);
    assert!(
        rows[5].ends_with(",1000000000000000000,JPY,,"),
        "{}",
        rows[5]
    );
    assert!(rows[9].ends_with(",,"), "{}", rows[9]);

    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn bad_revenue_gets_a_400_naming_the_field_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let amount = "field $.amount must be a finite number ≥ 0";
    let currency = "field $.currency must be an ISO 4217 code such as EUR";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "negative",
            purchase("Refund", r#"{"amount":-5,"currency":"EUR"}"#),
            amount,
        ),
        (
            "a hair below zero",
            purchase("Refund", r#"{"amount":-0.000001,"currency":"EUR"}"#),
            amount,
        ),
        (
            "a string",
            purchase("Purchase", r#"{"amount":"12.5","currency":"EUR"}"#),
            amount,
        ),
        (
            "NaN as a string",
            purchase("Purchase", r#"{"amount":"NaN","currency":"EUR"}"#),
            amount,
        ),
        (
            "null",
            purchase("Purchase", r#"{"amount":null,"currency":"EUR"}"#),
            amount,
        ),
        (
            "too large",
            purchase("Purchase", r#"{"amount":1e300,"currency":"EUR"}"#),
            amount,
        ),
        (
            "just past the limit",
            purchase(
                "Purchase",
                r#"{"amount":1000000000000.01,"currency":"EUR"}"#,
            ),
            amount,
        ),
        (
            "past what a double holds",
            purchase("Purchase", r#"{"amount":1e400,"currency":"EUR"}"#),
            "field $.amount",
        ),
        (
            "missing amount",
            purchase("Purchase", r#"{"currency":"EUR"}"#),
            "field $.amount is missing",
        ),
        (
            "four letters",
            purchase("Purchase", r#"{"amount":12.5,"currency":"EURO"}"#),
            currency,
        ),
        (
            "a symbol",
            purchase("Purchase", r#"{"amount":12.5,"currency":"12€"}"#),
            currency,
        ),
        (
            "a number for a currency",
            purchase("Purchase", r#"{"amount":12.5,"currency":978}"#),
            currency,
        ),
        (
            "missing currency",
            purchase("Purchase", r#"{"amount":12.5}"#),
            "field $.currency is missing",
        ),
        (
            "$ as a number",
            purchase("Purchase", "12.5"),
            "field $ (revenue) must be an object",
        ),
        (
            "$ as a string",
            purchase("Purchase", r#""12.5 EUR""#),
            "field $ (revenue) must be an object",
        ),
        (
            "$ on a pageview",
            purchase("pageview", r#"{"amount":12.5,"currency":"EUR"}"#),
            "field $ (revenue) belongs to custom events",
        ),
    ];
    for (what, body, message) in &cases {
        let response = app.post_event(body, CHROME_UA).await;
        assert_eq!(response.status(), 400, "{what}: {body}");
        let error: Value = response.json().await.unwrap_or_default();
        let error = error["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{what}: {error:?}");
    }
    let rejected = app
        .metrics
        .rejected(footfall::metrics::Rejection::InvalidField);
    assert!(rejected >= 15, "{rejected} counted as invalid_field");

    // Then one good event: once it is stored, nothing before it was.
    let good = purchase("Purchase", r#"{"amount":1,"currency":"EUR"}"#);
    assert_eq!(app.post_event(&good, CHROME_UA).await.status(), 202);
    app.wait_for_events("example.com", 1).await;
    assert_eq!(
        stored_revenue(&app.db).await,
        [(
            "Purchase".to_owned(),
            Some(1_000_000),
            Some("EUR".to_owned())
        )]
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
