//! A client for the stats API in tests: a running app holding the hand-worked data set of
//! `known` (example.com) and an empty other.org, an API key for all sites, and short ways to ask
//! and to read answers. Used by `tests/api.rs` and `tests/api_access.rs` via `#[path]`.
#![allow(dead_code)] // Each test binary uses a different part.

use crate::support::known::{figures, populate};
use crate::support::{Backend, Options, TestApp};
use footfall::auth::api_key;
use footfall::domain::Site;
use footfall::store::ApiKeyScope;
use footfall::store::build_pending;
use serde_json::Value;

/// A running app with the known data set on example.com, an empty other.org, and an API key
/// for all sites.
pub struct Api {
    pub app: TestApp,
    pub site: Site,
    pub key: String,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub cache_control: String,
    pub www_authenticate: Option<String>,
}

impl Api {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let options = Options {
            sites: vec![("other.org", "UTC")],
            ..Options::default()
        };
        let app = TestApp::spawn(backend, options).await?;
        let site = populate(&app.store).await;
        // The app's segment builder may have run before the events were written; a run that
        // starts now picks them up (a busy Postgres lock means another run is going on: try
        // again).
        for _ in 0..100 {
            let report = build_pending(app.store.as_ref())
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

    pub async fn get_as(&self, key: Option<&str>, endpoint: &str, pairs: &[(&str, &str)]) -> Reply {
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

    pub async fn get(&self, endpoint: &str, pairs: &[(&str, &str)]) -> Reply {
        let bearer = format!("Bearer {}", self.key);
        self.get_as(Some(&bearer), endpoint, pairs).await
    }

    /// A 200's JSON body.
    pub async fn ok(&self, endpoint: &str, pairs: &[(&str, &str)]) -> Value {
        let reply = self.get(endpoint, pairs).await;
        assert_eq!(reply.status, 200, "{endpoint} {pairs:?}: {}", reply.body);
        assert_eq!(reply.cache_control, "no-store");
        reply.body
    }

    pub async fn stop(self) {
        let (_, _, db) = self.app.stop().await;
        db.cleanup().await;
    }
}

pub fn int(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("{v} is not an integer"))
}

pub fn float(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// An aggregate's results as `known::figures` shapes them.
pub fn api_figures(body: &Value) -> (i64, i64, i64, i64, f64, f64, f64) {
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
pub fn api_lines(body: &Value, property: &str) -> Vec<(Option<String>, i64, i64, i64)> {
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
