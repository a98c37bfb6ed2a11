//! `footfall`: parses the command line and hands over to the library.

use clap::Parser;

/// mimalloc: the pipeline allocates many small, short-lived strings per event; the system
/// allocator spent about a tenth of the ingest CPU profile in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    footfall::telemetry::init();
    footfall::cli::run(footfall::cli::Cli::parse()).await
}
