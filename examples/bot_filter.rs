//! How well the user-agent classifier tells crawlers from people, on two lists of user agents
//! (one per line): `cargo run --release --example bot_filter -- BOTS.txt HUMANS.txt`. Prints the
//! share of each list classified right and the humans taken for bots. `bench/bots.sh` fetches
//! the public lists it is measured on.

use footfall::ingest::enrich::useragent::{Classified, classify};

fn read(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bots, humans] = args.as_slice() else {
        eprintln!("usage: bot_filter BOTS.txt HUMANS.txt");
        std::process::exit(2);
    };
    let (bots, humans) = (read(bots), read(humans));
    let is_bot = |ua: &str| matches!(classify(ua), Classified::Bot(_));
    let caught = bots.iter().filter(|ua| is_bot(ua)).count();
    let kept: Vec<&String> = humans.iter().filter(|ua| is_bot(ua)).collect();
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    println!(
        "crawlers filtered: {caught} of {} ({:.1} %)",
        bots.len(),
        pct(caught, bots.len())
    );
    println!(
        "humans kept: {} of {} ({:.1} %)",
        humans.len() - kept.len(),
        humans.len(),
        pct(humans.len() - kept.len(), humans.len())
    );
    for ua in kept {
        println!("  taken for a bot: {ua}");
    }
    // Cost per distinct user agent (the collector caches the answer per user agent).
    let all: Vec<&String> = bots.iter().chain(&humans).collect();
    let rounds = 20;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        for ua in &all {
            std::hint::black_box(classify(ua));
        }
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / (rounds * all.len()) as f64;
    println!(
        "classify: {per:.2} µs per user agent (uncached, {} user agents)",
        all.len()
    );
}
