//! A synthetic nginx access log for `bench/import.sh`: LINES lines in time order over DAYS days
//! up to now, written to stdout. Roughly what a small content site's log holds: a third page
//! views, half assets, the rest crawlers, monitors, form posts and errors. Visitors return within
//! minutes often enough to make multi-page visits. Deterministic for a given seed.
//!
//! Usage: `cargo run --release --example access_log -- LINES [DAYS] > access.log`

use chrono::{TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{BufWriter, Write};

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];
const BOTS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/8.5.0",
];
const REFERRERS: &[&str] = &[
    "-",
    "-",
    "-",
    "https://www.google.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
];
const ASSETS: &[&str] = &[
    "/css/site.css",
    "/js/app.js",
    "/img/hero.webp",
    "/fonts/inter.woff2",
    "/favicon.ico",
];

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let lines: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let days: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let mut rng = StdRng::seed_from_u64(7);
    let start = Utc::now() - TimeDelta::days(days);
    let step_ms = (days * 86_400_000) / lines.max(1) as i64;
    let mut at = start;
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut recent: Vec<(u32, usize, String)> = Vec::new();
    let mut written = 0;
    while written < lines {
        at += TimeDelta::milliseconds(rng.random_range(0..=2 * step_ms.max(1)));
        let stamp = at.format("%d/%b/%Y:%H:%M:%S +0000");
        let roll: f64 = rng.random();
        if roll < 0.12 {
            let ua = BOTS[rng.random_range(0..BOTS.len())];
            let n = rng.random_range(0..5000);
            writeln!(
                out,
                r#"66.249.{}.{} - - [{stamp}] "GET /blog/post-{n} HTTP/1.1" 200 8123 "-" "{ua}""#,
                n % 250,
                n % 200
            )?;
            written += 1;
            continue;
        }
        if roll < 0.15 {
            writeln!(
                out,
                r#"203.0.113.200 - - [{stamp}] "HEAD / HTTP/1.1" 200 0 "-" "Mozilla/5.0+(compatible; UptimeRobot/2.0)""#
            )?;
            written += 1;
            continue;
        }
        // A person: often one seen in the last minutes (the next page of a visit).
        let (ip, ua, referer) = if !recent.is_empty() && rng.random::<f64>() < 0.6 {
            let (ip, ua, page) = &recent[rng.random_range(0..recent.len())];
            (*ip, *ua, format!("https://example.com{page}"))
        } else {
            let referer = REFERRERS[rng.random_range(0..REFERRERS.len())];
            (
                rng.random::<u32>(),
                rng.random_range(0..BROWSERS.len()),
                referer.to_owned(),
            )
        };
        let page = match rng.random_range(0..10) {
            0 => "/".to_owned(),
            1 => "/pricing?utm_source=newsletter".to_owned(),
            n => format!("/docs/page-{}", rng.random_range(0..300) * n),
        };
        let status = if rng.random::<f64>() < 0.04 { 404 } else { 200 };
        let [a, b, c, d] = ip.to_be_bytes();
        let ua_text = BROWSERS[ua];
        writeln!(
            out,
            r#"{a}.{b}.{c}.{d} - - [{stamp}] "GET {page} HTTP/2.0" {status} 14210 "{referer}" "{ua_text}" 0.012"#
        )?;
        written += 1;
        for asset in ASSETS.iter().take(rng.random_range(0..=3)) {
            if written >= lines {
                break;
            }
            writeln!(
                out,
                r#"{a}.{b}.{c}.{d} - - [{stamp}] "GET {asset} HTTP/2.0" 200 3021 "https://example.com{page}" "{ua_text}" 0.001"#
            )?;
            written += 1;
        }
        recent.push((ip, ua, page));
        if recent.len() > 2000 {
            recent.swap_remove(rng.random_range(0..recent.len()));
        }
    }
    out.flush()
}
