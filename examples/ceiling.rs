//! The HTTP ceiling for `bench/ingest.sh`: a trivial actix-web server whose `POST /api/event`
//! only reads the body, parses the same JSON footfall's collection endpoint accepts, and answers
//! 202 (400 on bad JSON). No site lookup, enrichment, queue or database: whatever footfall does
//! beyond this is its own cost. Same worker count as footfall's default (one per core).
//!
//! Usage: `cargo run --release --example ceiling [LISTEN_ADDR]` (default 127.0.0.1:8001).

use actix_web::{App, HttpResponse, HttpServer, web};
use footfall::ingest::parser::Payload;
use std::hint::black_box;

async fn event(body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<Payload<'_>>(&body) {
        Ok(payload) => {
            black_box(&payload);
            HttpResponse::Accepted()
                .insert_header(("Access-Control-Allow-Origin", "*"))
                .finish()
        }
        Err(e) => HttpResponse::BadRequest().body(e.to_string()),
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8001".to_owned());
    println!("ceiling server listening on {listen}");
    HttpServer::new(|| {
        App::new()
            // Same body limit as footfall's collection endpoint.
            .app_data(web::PayloadConfig::new(8 * 1024))
            .route("/api/event", web::post().to(event))
            .route("/healthz", web::get().to(healthz))
    })
    .bind(listen)?
    .run()
    .await
}
