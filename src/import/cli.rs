//! `footfall import --site DOMAIN --format FORMAT FILE...`: the arguments, a progress bar on a
//! terminal, and the summary on stdout.

use super::{ImportOptions, report::ImportReport};
use crate::config::redact;
use crate::domain::SiteDomain;
use crate::store;
use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Domain of an existing site; logged and exported paths become pages of https://DOMAIN.
    #[arg(long, env = "FOOTFALL_IMPORT_SITE")]
    pub site: String,
    /// What the files are.
    #[arg(long, value_enum, env = "FOOTFALL_IMPORT_FORMAT", default_value_t = LogFormat::Combined)]
    pub format: LogFormat,
    /// Access logs or exports, plain or gzip-compressed, in any order (they are merged by time).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Events per database write.
    #[arg(long, env = "FOOTFALL_BATCH_SIZE", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// MaxMind-format database for country, region, city (as for `serve`); access logs only,
    /// exports carry their own country.
    #[arg(long, env = "FOOTFALL_GEOIP_DB")]
    pub geoip_db: Option<PathBuf>,
}

/// Access logs in the combined format only: the common format lacks the user agent, without
/// which bots (often half of a log) cannot be told from people, nor browsers and devices named.
/// Exports of other tools' raw events go through the same pipeline (see `format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// nginx's and Apache's default: `IP - user [time] "request" status bytes "referer" "agent"`.
    Combined,
    /// GoatCounter's CSV export of pageviews (version 2, its header starts `2Path,Title,…`).
    #[value(name = "goatcounter")]
    GoatCounter,
    /// Umami's CSV export of its website_event table (columns found by name).
    Umami,
}

impl LogFormat {
    /// As `--format` spells it.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Combined => "combined",
            LogFormat::GoatCounter => "goatcounter",
            LogFormat::Umami => "umami",
        }
    }
}

pub async fn run(database_url: &str, args: ImportArgs) -> anyhow::Result<()> {
    let site = SiteDomain::parse(&args.site)?;
    let store = store::connect(database_url)
        .await
        .with_context(|| format!("opening database {}", redact(database_url)))?;
    let started = std::time::Instant::now();
    let report = super::run(
        store,
        ImportOptions {
            site,
            format: args.format,
            files: args.files,
            batch_size: args.batch_size as usize,
            geoip_db: args.geoip_db,
            progress: progress_bar(),
        },
    )
    .await?;
    println!("{report}");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "in {seconds:.1}s ({:.0} {}/s)",
        report.total().read as f64 / seconds.max(1e-9),
        report.unit()
    );
    incomplete(&report)
}

/// Drawn on stderr only when it is a terminal, so scripts and tests see just the summary.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "importing {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Exit non-zero when a file could not be read to its end or the database refused events:
/// the summary above says which, and what was imported stays imported.
fn incomplete(report: &ImportReport) -> anyhow::Result<()> {
    if report.complete() {
        return Ok(());
    }
    anyhow::bail!("the import is incomplete: see the summary above")
}
