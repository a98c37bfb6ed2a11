//! The collection pipeline, in the order an event travels:
//! `listener` (HTTP) → `parser` (validate + `enrich`) → `logic` (bots, sessions) → `queue` →
//! `writer` (batches into the store; `spool` holds what it could not store by the shutdown
//! deadline).

pub mod client_ip;
pub mod enrich;
pub mod error;
pub mod listener;
pub mod logic;
pub mod parser;
pub mod payload;
pub mod pixel;
pub mod queue;
pub mod sites;
pub mod spool;
pub mod umami;
pub mod visitor;
pub mod writer;
