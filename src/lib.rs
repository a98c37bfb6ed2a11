//! footfall: self-hosted, privacy-friendly web analytics.
//!
//! A guided tour, in the order an event travels: `ingest::listener` (HTTP endpoint) →
//! `ingest::parser` (validation and `ingest::enrich`ment) → `ingest::logic` (bots, sessions) →
//! `ingest::queue` → `ingest::writer` → `store` (SQLite or Postgres). `startup` wires it, `cli`
//! drives it, `domain` holds the validated types. `seed` and `import` (access logs) are bulk
//! producers feeding the same queue and writer. The dashboard's pages sit behind `auth` and
//! share `web::layout` and `web::security`; they and the JSON stats `api` (behind API keys) ask
//! the same query layer, `stats`.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod domain;
pub mod export;
pub mod http_error;
pub mod import;
pub mod ingest;
pub mod metrics;
pub mod seed;
pub mod startup;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod web;
