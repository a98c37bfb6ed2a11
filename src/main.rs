//! `footfall`: parses the command line and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    footfall::telemetry::init();
    footfall::cli::run(footfall::cli::Cli::parse()).await
}
