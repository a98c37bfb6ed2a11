//! The batch writer alone, without HTTP: how much CPU the store spends per event (sessionizing,
//! inserting events, upserting sessions), on a fresh database. CPU time, not wall time, is the
//! headline, so the figure holds up on a busy machine.
//!
//! cargo run --release --example writer_bench -- --database-url sqlite:///tmp/wb.db
//!
//! Traffic resembles bench/events.lua: `--visitors` visitors picked at random, events spread
//! evenly at `--rate` events per (simulated) second, so every visitor comes back every
//! visitors/rate seconds and visits stay open — the session upserts of a busy site.

use clap::Parser;
use footfall::domain::{Event, EventName, PagePath, Props, SiteDomain, TimeZone, Utm, VisitorId};
use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 500_000)]
    events: usize,
    #[arg(long, default_value_t = 5000)]
    batch_size: usize,
    #[arg(long, default_value_t = 50_000)]
    visitors: i64,
    /// Simulated events per second (sets the events' timestamps).
    #[arg(long, default_value_t = 50_000)]
    rate: i64,
}

const PATHS: [&str; 12] = [
    "/",
    "/pricing",
    "/features",
    "/about",
    "/docs",
    "/docs/install",
    "/docs/api",
    "/blog",
    "/blog/launch",
    "/blog/privacy-first-analytics",
    "/signup",
    "/login",
];
const BROWSERS: [(&str, &str, &str, &str, &str); 4] = [
    ("Chrome", "126", "Windows", "10", "desktop"),
    ("Firefox", "127", "Linux", "", "desktop"),
    ("Safari", "17", "iOS", "17.5", "mobile"),
    ("Edge", "126", "Windows", "10", "desktop"),
];

/// User plus system CPU seconds of this process so far (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields after the command name: utime is the 12th, stime the 13th (0-based 11, 12).
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = footfall::store::connect(&args.database_url).await?;
    let domain = SiteDomain::parse("bench.example")?;
    let site = match store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.domain == domain)
    {
        Some(site) => site,
        None => store.add_site(&domain, TimeZone::parse("UTC")?).await?,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let start = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let events: Vec<Event> = (0..args.events)
        .map(|i| {
            let (browser, bv, os, ov, device) = BROWSERS[rng.random_range(0..BROWSERS.len())];
            let referred = rng.random_ratio(1, 4);
            Event {
                site_id: site.id,
                created_at: start
                    + chrono::TimeDelta::microseconds(i as i64 * 1_000_000 / args.rate.max(1)),
                visitor_id: VisitorId(rng.random_range(0..args.visitors.max(1))),
                name: EventName::pageview(),
                hostname: "bench.example".into(),
                path: PagePath::parse(PATHS[rng.random_range(0..PATHS.len())], None)
                    .unwrap_or_else(|e| panic!("{e}")),
                referrer: referred.then(|| "https://news.ycombinator.com/".into()),
                referrer_source: referred.then(|| "news.ycombinator.com".into()),
                utm: Utm::default(),
                browser,
                browser_version: bv.into(),
                os,
                os_version: ov.into(),
                device,
                country: Some("DE".into()),
                region: None,
                city: None,
                viewport_width: Some(1440),
                props: Props::default(),
                revenue: None,
            }
        })
        .collect();

    let mut sessions = Sessionizer::new(SESSION_TIMEOUT, 0, []);
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut rest = events.into_iter().peekable();
    let mut upserts = 0;
    while rest.peek().is_some() {
        let chunk: Vec<Event> = rest.by_ref().take(args.batch_size.max(1)).collect();
        let batch = Arc::new(sessions.assign(chunk));
        upserts += batch.sessions.len();
        store.write_batch(batch).await?;
    }
    let (cpu, wall) = (cpu_seconds() - cpu0, wall0.elapsed().as_secs_f64());
    println!(
        "{} events, {} session upserts, batch {}: {:.2} µs CPU per event, {:.0} events/s wall, {:.2} s CPU",
        args.events,
        upserts,
        args.batch_size,
        cpu * 1e6 / args.events as f64,
        args.events as f64 / wall,
        cpu
    );
    Ok(())
}
