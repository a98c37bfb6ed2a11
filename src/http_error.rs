//! The JSON error shape every HTTP area shares (collection, the stats API, the rest): unknown
//! paths, wrong methods and malformed query strings all answer `{"error": "…"}`; and what a
//! question past the query timeout answers, as JSON here and as a page on the dashboard.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// Seconds a client is asked to wait (`Retry-After`) after its question ran past the query
/// timeout (`store::deadline`).
pub const RETRY_AFTER_SECS: u32 = 30;
/// What a question past the query timeout answers, as JSON (the stats API, exports).
pub const TIMED_OUT: &str =
    "the query took too long and was stopped; ask for a shorter period or fewer filters";

/// What a question answers, as JSON, when the read replica it reads on (`--database-read-url`)
/// does not answer.
pub const REPLICA_UNAVAILABLE: &str = "the statistics are read from a replica of the database, \
     which is not answering; collection goes on; try again later";

/// `503` with `Retry-After`: the start of the answer to a question that took too long
/// (`{"error": TIMED_OUT}`) or whose read replica is down (`{"error": REPLICA_UNAVAILABLE}`).
pub fn timed_out() -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::ServiceUnavailable();
    response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
    response
}

/// JSON 404 for every unknown path, so clients get the same error shape everywhere.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": format!("no such endpoint: {} {}", req.method(), req.path())
    }))
}

/// JSON 405 for a known path with the wrong method.
pub async fn method_not_allowed(req: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(serde_json::json!({
        "error": format!("method {} is not allowed on {}", req.method(), req.path())
    }))
}

/// Malformed query strings get the JSON error shape too.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let message = format!("invalid query string: {err}");
        actix_web::error::InternalError::from_response(
            err,
            HttpResponse::BadRequest().json(serde_json::json!({ "error": message })),
        )
        .into()
    })
}
