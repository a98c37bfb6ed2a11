//! The hand-written OpenAPI 3.1 description of the stats API (`openapi.json` beside this file),
//! served without a key at `GET /api/v1/openapi.json`. A test checks that it lists every
//! parameter `params` accepts, with the same enums.

use actix_web::HttpResponse;

/// The document, as JSON text.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use crate::api::params::{DEFAULT_LIMIT, Endpoint, MAX_LIMIT};
    use crate::api::plausible::names::{PMetric, PROPERTIES};
    use crate::api::plausible::{period::V1_PERIODS, v1, v2};
    use crate::stats::Dimension;
    use crate::stats::period::Period;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).unwrap_or_else(|e| panic!("openapi.json: {e}"))
    }

    /// An operation's parameters with `$ref`s resolved, by name.
    fn parameters(doc: &Value, endpoint: Endpoint) -> Vec<Value> {
        let path = format!("/api/v1/stats/{}", endpoint.name());
        doc["paths"][&path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no parameters"))
            .iter()
            .map(|p| match p["$ref"].as_str() {
                Some(r) => {
                    let name = r.trim_start_matches("#/components/parameters/");
                    doc["components"]["parameters"][name].clone()
                }
                None => p.clone(),
            })
            .collect()
    }

    fn strings(v: &Value) -> BTreeSet<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("{v} is not a list"))
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_document_describes_every_parameter_the_handlers_accept() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
            "bearer"
        );
        for endpoint in Endpoint::ALL {
            let params = parameters(&doc, endpoint);
            let documented: BTreeSet<String> = params
                .iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            // footfall's own parameters and, with `site_id`, Plausible's.
            let accepted: BTreeSet<String> = endpoint
                .parameters()
                .iter()
                .chain(v1::parameters(endpoint))
                .map(|s| (*s).to_owned())
                .collect();
            assert_eq!(documented, accepted, "{}", endpoint.name());
            assert!(params.iter().all(|p| p["in"] == "query"));
            let param = |name: &str| {
                params
                    .iter()
                    .find(|p| p["name"] == name)
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            let metrics: BTreeSet<String> = endpoint
                .metrics()
                .iter()
                .map(|m| m.name().to_owned())
                .collect();
            if metrics.is_empty() {
                assert!(param("metrics").is_null(), "{}", endpoint.name());
            } else {
                let items = &param("metrics")["schema"]["items"]["anyOf"];
                assert_eq!(
                    strings(&items[0]["enum"]),
                    metrics,
                    "{} metrics",
                    endpoint.name()
                );
                let plausible: BTreeSet<String> = PMetric::ALL
                    .iter()
                    .filter(|m| **m != PMetric::Percentage)
                    .map(|m| m.name().to_owned())
                    .collect();
                assert_eq!(strings(&items[1]["enum"]), plausible, "{}", endpoint.name());
            }
            let mut periods: BTreeSet<String> =
                Period::NAMED.iter().map(|(n, _)| (*n).to_owned()).collect();
            periods.insert("custom".into());
            let period = &param("period")["schema"]["anyOf"];
            assert_eq!(strings(&period[0]["enum"]), periods);
            assert_eq!(
                strings(&period[1]["enum"]),
                V1_PERIODS.iter().map(|p| (*p).to_owned()).collect()
            );
            for status in ["200", "400", "401", "403", "500"] {
                let path = format!("/api/v1/stats/{}", endpoint.name());
                assert!(
                    doc["paths"][&path]["get"]["responses"][status].is_object(),
                    "{path} {status}"
                );
            }
        }
        let components = &doc["components"]["parameters"];
        let dims: BTreeSet<String> = Dimension::FIXED
            .iter()
            .map(|d| d.name().to_owned())
            .collect();
        assert_eq!(
            strings(&components["property"]["schema"]["anyOf"][0]["enum"]),
            dims
        );
        let plausible: BTreeSet<String> = PROPERTIES
            .iter()
            .filter(|p| !p.ends_with("KEY"))
            .map(|p| (*p).to_owned())
            .collect();
        assert_eq!(
            strings(&components["property"]["schema"]["anyOf"][3]["enum"]),
            plausible
        );
        assert_eq!(
            strings(&components["interval"]["schema"]["anyOf"][0]["enum"]),
            ["day".to_owned(), "hour".to_owned()].into()
        );
        // POST /api/v2/query: every key of the query, every metric, the refusals.
        let query = &doc["components"]["schemas"]["PlausibleQuery"];
        let keys: BTreeSet<String> = query["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, v2::KEYS.iter().map(|k| (*k).to_owned()).collect());
        assert_eq!(
            strings(&query["properties"]["metrics"]["items"]["enum"]),
            PMetric::ALL.iter().map(|m| m.name().to_owned()).collect()
        );
        let post = &doc["paths"]["/api/v2/query"]["post"];
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/PlausibleQuery"
        );
        for status in ["200", "400", "401", "403", "500"] {
            assert!(post["responses"][status].is_object(), "v2 {status}");
        }
        assert_eq!(components["limit"]["schema"]["maximum"], MAX_LIMIT);
        assert_eq!(components["limit"]["schema"]["default"], DEFAULT_LIMIT);
        // Every `$ref` points at something.
        let text = DOCUMENT;
        for piece in text.split("\"$ref\": \"#/").skip(1) {
            let target = piece.split('"').next().unwrap_or_default();
            let found = target
                .split('/')
                .try_fold(&doc, |v, key| v.get(key))
                .is_some();
            assert!(found, "dangling $ref #/{target}");
        }
    }
}
