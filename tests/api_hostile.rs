//! Hostile text in every parameter of every stats API endpoint, over HTTP on both backends: the
//! answer is a 400 or an empty result, never a server error, and nothing stored changes.

#[path = "support/api_client.rs"]
mod api_client;
mod support;

use api_client::Api;
use serde_json::Value;
use support::Backend;
use support::known::{A, B};

both_backends!(hostile_text_in_any_parameter_is_a_400_or_an_empty_answer_never_a_server_error);

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
