//! Times the queries of one full dashboard page (last 30 days) against a database, unfiltered and
//! filtered, and prints per-query and total milliseconds (median of the runs).
//!
//! cargo run --release --example stats_bench -- --database-url sqlite:///tmp/st1m.db --site bench.example
//!
//! `--build-segments` builds the query engine's segments first (and says how long that took).
//! `--visit-metrics` asks the series and breakdowns for their visit figures too (as the stats API
//! does for `metrics=visits,…`; the dashboard does not), to measure what that costs.

use anyhow::Context;
use chrono::{Days, NaiveDate, TimeDelta, Utc};
use clap::Parser;
use footfall::domain::Site;
use footfall::stats::period::previous;
use footfall::stats::{Dimension, Filter, FilterOp, Interval, Metrics, StatsQuery};
use footfall::store::DynStore;
use footfall::store::build_pending;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    site: String,
    /// Timed runs per query set (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Last day of the 30-day range (default: today in the site's time zone).
    #[arg(long)]
    end: Option<NaiveDate>,
    #[arg(long)]
    build_segments: bool,
    #[arg(long)]
    visit_metrics: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = footfall::store::connect(&args.database_url).await?;
    let site = store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.domain.as_str() == args.site)
        .with_context(|| format!("no site {}", args.site))?;
    if args.build_segments {
        let started = Instant::now();
        let report = build_pending(&*store).await?;
        println!(
            "segments: {} site-days built in {:.1}s",
            report.days,
            started.elapsed().as_secs_f64()
        );
    }
    let today = Utc::now().with_timezone(&site.timezone.0).date_naive();
    let to = args.end.unwrap_or(today);
    let from = to.checked_sub_days(Days::new(29)).unwrap_or(to);
    println!(
        "{} ({}), {from} to {to}, {} backend, median of {} runs",
        site.domain,
        site.timezone.name(),
        store.backend(),
        args.runs
    );
    let filter = |dimension, value: &str| Filter {
        dimension,
        op: FilterOp::Is,
        value: value.to_owned(),
    };
    for (label, filters) in [
        ("unfiltered", vec![]),
        (
            "source is Google",
            vec![filter(Dimension::Source, "Google")],
        ),
        (
            "source is Google, page is /pricing",
            vec![
                filter(Dimension::Source, "Google"),
                filter(Dimension::Page, "/pricing"),
            ],
        ),
    ] {
        let query = StatsQuery {
            site: site.id,
            timezone: site.timezone,
            from,
            to,
            filters,
        };
        let metrics = if args.visit_metrics {
            Metrics::WithVisits
        } else {
            Metrics::Counts
        };
        bench(&store, &site, &query, metrics, label, args.runs).await?;
    }
    Ok(())
}

/// One dashboard page: the queries in the order a page issues them, with their names.
async fn page(
    store: &DynStore,
    site: &Site,
    query: &StatsQuery,
    metrics: Metrics,
) -> anyhow::Result<Vec<(String, Duration)>> {
    let mut times = Vec::new();
    let (prev_from, prev_to) = previous(query.from, query.to);
    let before = StatsQuery {
        from: prev_from,
        to: prev_to,
        ..query.clone()
    };
    let t = Instant::now();
    store.aggregate(query).await?;
    times.push(("aggregate".to_owned(), t.elapsed()));
    let t = Instant::now();
    store.aggregate(&before).await?;
    times.push(("aggregate (previous)".to_owned(), t.elapsed()));
    let t = Instant::now();
    store.timeseries_with(query, Interval::Day, metrics).await?;
    times.push(("timeseries (day)".to_owned(), t.elapsed()));
    for dimension in Dimension::FIXED {
        let t = Instant::now();
        store
            .breakdown_with(query, &dimension, 10, 0, metrics)
            .await?;
        times.push((format!("breakdown {dimension}"), t.elapsed()));
    }
    let t = Instant::now();
    store.prop_keys(query, 10).await?;
    times.push(("prop_keys".to_owned(), t.elapsed()));
    let t = Instant::now();
    store
        .current_visitors(site.id, Utc::now() - TimeDelta::minutes(5))
        .await?;
    times.push(("current_visitors".to_owned(), t.elapsed()));
    Ok(times)
}

fn median(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs.get(xs.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

async fn bench(
    store: &DynStore,
    site: &Site,
    query: &StatsQuery,
    metrics: Metrics,
    label: &str,
    runs: usize,
) -> anyhow::Result<()> {
    page(store, site, query, metrics).await?;
    let mut per_query: Vec<(String, Vec<Duration>)> = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..runs.max(1) {
        let times = page(store, site, query, metrics).await?;
        totals.push(times.iter().map(|(_, d)| *d).sum());
        for (i, (name, d)) in times.into_iter().enumerate() {
            match per_query.get_mut(i) {
                Some((_, ds)) => ds.push(d),
                None => per_query.push((name, vec![d])),
            }
        }
    }
    println!("\n== {label}");
    for (name, ds) in per_query {
        println!("  {name:<28} {:>8.2} ms", median(ds));
    }
    println!("  {:<28} {:>8.2} ms", "TOTAL (median page)", median(totals));
    Ok(())
}
