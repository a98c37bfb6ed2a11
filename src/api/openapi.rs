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
