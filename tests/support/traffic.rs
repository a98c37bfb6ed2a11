//! Generated traffic for the rollup and metric tests: ~20 visits a day with random sources,
//! places, agents, pages and custom events, some running past local midnight (Berlin).

use super::visits::{Profile, utc, visit};
use chrono::{TimeDelta, Utc};
use footfall::domain::{Event, Site};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const PATHS: [&str; 6] = ["/", "/pricing", "/docs/a", "/docs/b", "/blog/x_y", "/about"];
const SOURCES: [Option<(&str, &str)>; 4] = [
    None,
    Some(("Google", "https://www.google.com/")),
    Some(("Bing", "https://www.bing.com/")),
    Some(("Hacker News", "https://news.ycombinator.com/")),
];
const PLACES: [Option<(&str, &str, &str)>; 3] = [
    None,
    Some(("DE", "Bavaria", "Munich")),
    Some(("US", "Texas", "Austin")),
];
/// (browser, version), (OS, version), device
pub type Agent = (
    (&'static str, &'static str),
    (&'static str, &'static str),
    &'static str,
);
pub const AGENTS: [Agent; 3] = [
    (("Chrome", "131"), ("Windows", "10"), "desktop"),
    (("Safari", "18"), ("iOS", "18.1"), "mobile"),
    (("Firefox", "133"), ("Linux", ""), "desktop"),
];

/// Visits from `first` for `days` days, ~20 a day, some running past local midnight, plus a few
/// in the hours before `until` (today, read raw).
pub fn traffic(
    site: &Site,
    seed: u64,
    first: &str,
    days: u64,
    until: chrono::DateTime<Utc>,
) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut events = Vec::new();
    let start = utc(&format!("{first} 00:00")) - TimeDelta::hours(1);
    let mut starts: Vec<_> = (0..days * 20)
        .map(|_| start + TimeDelta::seconds(rng.random_range(0..(days as i64) * 86_400)))
        .collect();
    // Late evening in Berlin, so the visit runs into the next local day.
    starts.extend((0..days).map(|d| {
        start + TimeDelta::days(d as i64) + TimeDelta::minutes(rng.random_range(1380..1435))
    }));
    starts.extend((0..6).map(|i| until - TimeDelta::minutes(15 + 25 * i)));
    for (i, at) in starts.into_iter().enumerate() {
        let ((browser, os, device), source) = (
            AGENTS[rng.random_range(0..3)],
            SOURCES[rng.random_range(0..4)],
        );
        let profile = Profile {
            source,
            utm: (rng.random_range(0..5) == 0).then_some(("news", "email", "spring_sale")),
            place: PLACES[rng.random_range(0..3)],
            browser,
            os,
            device,
        };
        let mut hits = Vec::new();
        let mut t = at;
        for n in 0..rng.random_range(1..6) {
            let path = PATHS[rng.random_range(0..PATHS.len())];
            let (name, props): (&str, &[(&str, &str)]) = match rng.random_range(0..10) {
                0 if n > 0 => ("Signup", [("plan", "pro")].as_slice()),
                1 if n > 0 => ("Signup", [("plan", "free")].as_slice()),
                2 if n > 0 => ("Download", [("url", "/a.pdf")].as_slice()),
                _ => ("pageview", [].as_slice()),
            };
            hits.push((t.min(until), name, path, props));
            t += TimeDelta::seconds(rng.random_range(20..900));
        }
        // Few visitor ids, so visitors come back the same day.
        let visitor = rng.random_range(0..12) + 100 * (i as i64 % 3);
        events.extend(visit(site, visitor, &profile, &hits));
    }
    events
}
