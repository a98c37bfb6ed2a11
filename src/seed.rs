//! `footfall seed`: realistic synthetic traffic, written through the same queue and batch writer
//! as live events. Visits (not single hits) are generated: a landing page with its source, UTM
//! campaign, country and device, then more pages with realistic gaps, some custom events. Paths,
//! sources and countries have long tails so breakdowns look like a real site's.
//!
//! Visits are generated in start-time order and their events pass through a small heap, so the
//! writer receives events in time order and memory stays flat whatever the event count.

use crate::domain::{Event, EventName, PagePath, Props, Site, SiteDomain, Utm, VisitorId};
use crate::ingest::queue;
use crate::ingest::writer::{Writer, WriterConfig};
use crate::metrics::Metrics;
use crate::store::DynStore;
use anyhow::Context;
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub domain: SiteDomain,
    pub events: u64,
    pub days: u32,
    pub random_seed: u64,
    pub batch_size: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct SeedReport {
    pub events: u64,
    pub sessions: u64,
    pub elapsed: Duration,
}

pub async fn run(store: DynStore, options: SeedOptions) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let site = store
        .list_sites()
        .await?
        .into_iter()
        .find(|s| s.domain == options.domain)
        .with_context(|| {
            format!(
                "no site {}: add it first with `footfall site add {}`",
                options.domain, options.domain
            )
        })?;
    let (queue, rx) = queue::bounded(options.batch_size * 4);
    let writer = Writer::new(
        store.clone(),
        Arc::new(Metrics::default()),
        WriterConfig {
            batch_size: options.batch_size,
            flush_interval: Duration::from_secs(1),
        },
    )
    .await?;
    // Never signalled: the writer ends when the generator drops the queue.
    let (_keep_open, stop_rx) = watch::channel(false);
    let writer = tokio::spawn(writer.run(rx, stop_rx));

    let mut generator = Generator::new(&site, &options, Utc::now());
    let mut sessions = 0;
    while let Some(event) = generator.next_event() {
        queue.push(event).await?;
    }
    sessions += generator.sessions;
    drop(queue);
    let report = writer.await.context("seed writer failed")?;
    let elapsed = started.elapsed();
    // Seeded history is closed days: build their segments now rather than on the server's
    // first tick.
    let building = Instant::now();
    let built = crate::store::build_pending(store.as_ref())
        .await
        .context("building the seeded days' segments")?;
    tracing::info!(
        days = built.days,
        elapsed_ms = building.elapsed().as_millis() as u64,
        "segments built"
    );
    Ok(SeedReport {
        events: report.stored,
        sessions,
        elapsed,
    })
}

/// Weighted pick from a static table.
fn pick<'a, T>(rng: &mut StdRng, table: &'a [(u32, T)]) -> &'a T {
    let total: u32 = table.iter().map(|(w, _)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (weight, item) in table {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &table[table.len() - 1].1
}

/// A long-tailed index in `0..n`: log-uniform, so index 0 is the most common and the tail is long.
fn long_tail(rng: &mut StdRng, n: usize) -> usize {
    let x: f64 = rng.random::<f64>() * ((n + 1) as f64).ln();
    ((x.exp() - 1.0) as usize).min(n - 1)
}

/// (weight, browser, versions, os, os versions, device)
type Ua = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
    &'static str,
);
const USER_AGENTS: &[(u32, Ua)] = &[
    (
        30,
        (
            "Chrome",
            &["131", "130", "129"],
            "Windows",
            &["10"],
            "desktop",
        ),
    ),
    (
        18,
        (
            "Chrome",
            &["131", "130"],
            "Android",
            &["14", "13", "10"],
            "mobile",
        ),
    ),
    (
        14,
        ("Safari", &["18", "17"], "iOS", &["18.1", "17.6"], "mobile"),
    ),
    (8, ("Safari", &["18", "17"], "macOS", &["10.15"], "desktop")),
    (7, ("Chrome", &["131"], "macOS", &["10.15"], "desktop")),
    (6, ("Edge", &["131", "130"], "Windows", &["10"], "desktop")),
    (
        5,
        (
            "Firefox",
            &["133", "132", "128"],
            "Windows",
            &["10"],
            "desktop",
        ),
    ),
    (3, ("Firefox", &["133"], "Linux", &[""], "desktop")),
    (
        3,
        (
            "Samsung Internet",
            &["27", "26"],
            "Android",
            &["14"],
            "mobile",
        ),
    ),
    (
        2,
        ("Safari", &["18"], "iPadOS", &["18.1", "17.6"], "tablet"),
    ),
    (2, ("Chrome", &["131"], "Linux", &[""], "desktop")),
    (1, ("Opera", &["115"], "Windows", &["10"], "desktop")),
    (1, ("Chrome", &["131"], "ChromeOS", &["14541"], "desktop")),
    (1, ("Firefox", &["133"], "Android", &["14"], "mobile")),
];

/// (weight, (country, region, city))
const PLACES: &[(u32, (&str, &str, &str))] = &[
    (25, ("US", "California", "San Francisco")),
    (10, ("US", "New York", "New York")),
    (6, ("US", "Texas", "Austin")),
    (10, ("DE", "Berlin", "Berlin")),
    (5, ("DE", "Bavaria", "Munich")),
    (8, ("GB", "England", "London")),
    (5, ("FR", "Île-de-France", "Paris")),
    (4, ("IN", "Karnataka", "Bengaluru")),
    (4, ("CA", "Ontario", "Toronto")),
    (3, ("NL", "North Holland", "Amsterdam")),
    (3, ("BR", "São Paulo", "São Paulo")),
    (3, ("JP", "Tokyo", "Tokyo")),
    (2, ("AU", "New South Wales", "Sydney")),
    (2, ("ES", "Madrid", "Madrid")),
    (2, ("SE", "Stockholm", "Stockholm")),
    (2, ("PL", "Mazovia", "Warsaw")),
    (1, ("CH", "Zurich", "Zürich")),
    (1, ("IT", "Lombardy", "Milan")),
    (1, ("KR", "Seoul", "Seoul")),
    (1, ("MX", "Mexico City", "Mexico City")),
];

/// (weight, (source, referrer URL)); an empty source is a direct visit.
const SOURCES: &[(u32, (&str, &str))] = &[
    (40, ("", "")),
    (25, ("Google", "https://www.google.com/")),
    (5, ("Bing", "https://www.bing.com/")),
    (3, ("DuckDuckGo", "https://duckduckgo.com/")),
    (5, ("Hacker News", "https://news.ycombinator.com/")),
    (4, ("Reddit", "https://www.reddit.com/r/programming/")),
    (3, ("X", "https://t.co/")),
    (2, ("LinkedIn", "https://www.linkedin.com/")),
    (2, ("GitHub", "https://github.com/")),
    (2, ("ChatGPT", "https://chatgpt.com/")),
    (1, ("Bluesky", "https://bsky.app/")),
    (1, ("Perplexity", "https://www.perplexity.ai/")),
    (1, ("Mastodon", "https://mastodon.social/")),
    (1, ("lobste.rs", "https://lobste.rs/")),
    (1, ("dev.to", "https://dev.to/")),
];

/// (weight, (utm_source, utm_medium, utm_campaign))
const CAMPAIGNS: &[(u32, (&str, &str, &str))] = &[
    (5, ("newsletter", "email", "weekly_digest")),
    (3, ("newsletter", "email", "product_launch")),
    (2, ("twitter", "social", "spring_sale")),
    (2, ("google", "cpc", "brand_search")),
    (1, ("partner", "referral", "integration_guide")),
];

const SECTIONS: &[&str] = &[
    "blog",
    "docs",
    "guides",
    "changelog",
    "customers",
    "integrations",
];
const TOP_PAGES: &[&str] = &[
    "/",
    "/pricing",
    "/features",
    "/about",
    "/contact",
    "/signup",
    "/login",
];
/// Distinct long-tail pages per section.
const PAGES_PER_SECTION: usize = 400;

struct Pending {
    at: DateTime<Utc>,
    seq: u64,
    event: Event,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Produces events in time order.
struct Generator {
    rng: StdRng,
    site: Site,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    days: u32,
    remaining: u64,
    per_day: u64,
    day: u32,
    /// Sizes and start times of the current day's visits, in start order (reversed for pop).
    day_visits: Vec<(DateTime<Utc>, u32)>,
    day_visitors: Vec<VisitorId>,
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    sessions: u64,
}

impl Generator {
    fn new(site: &Site, options: &SeedOptions, now: DateTime<Utc>) -> Self {
        let days = options.days.max(1);
        Self {
            rng: StdRng::seed_from_u64(options.random_seed),
            site: site.clone(),
            now,
            start: now - TimeDelta::days(i64::from(days)),
            days,
            remaining: options.events,
            per_day: options.events.div_ceil(u64::from(days)),
            day: 0,
            day_visits: Vec::new(),
            day_visitors: Vec::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            sessions: 0,
        }
    }

    fn next_event(&mut self) -> Option<Event> {
        loop {
            let next_visit = self.day_visits.last().map(|(at, _)| *at);
            match (self.heap.peek(), next_visit) {
                // Release pending events that happen before the next visit starts.
                (Some(Reverse(p)), Some(v)) if p.at <= v => {
                    return self.heap.pop().map(|Reverse(p)| p.event);
                }
                (_, Some(_)) => {
                    if let Some((at, size)) = self.day_visits.pop() {
                        self.visit(at, size);
                    }
                }
                (Some(_), None) if self.remaining > 0 && self.day < self.days => self.plan_day(),
                (Some(_), None) => return self.heap.pop().map(|Reverse(p)| p.event),
                (None, None) if self.remaining > 0 && self.day < self.days => self.plan_day(),
                (None, None) => return None,
            }
        }
    }

    /// Draws visit sizes until the day's share of events is used, then start times for them
    /// (busier in the afternoon, quieter at night, and a little quieter at weekends).
    fn plan_day(&mut self) {
        let days_left = u64::from(self.days - self.day);
        let budget = if days_left == 1 {
            self.remaining
        } else {
            self.per_day.min(self.remaining)
        };
        self.remaining -= budget;
        let day_start = self.start + TimeDelta::days(i64::from(self.day));
        self.day += 1;
        let mut sizes = Vec::new();
        let mut left = budget;
        while left > 0 {
            let size = self.visit_size().min(left as u32);
            sizes.push(size);
            left -= u64::from(size);
        }
        let mut visits: Vec<(DateTime<Utc>, u32)> = sizes
            .into_iter()
            .map(|size| (self.visit_start(day_start), size))
            .collect();
        // Popped from the end: latest first in the vector.
        visits.sort_by_key(|v| std::cmp::Reverse(v.0));
        self.day_visits = visits;
        self.day_visitors.clear();
    }

    fn visit_size(&mut self) -> u32 {
        // About 40% bounce; the rest read a few pages, some read many.
        let roll: f64 = self.rng.random();
        if roll < 0.4 {
            1
        } else if roll < 0.85 {
            self.rng.random_range(2..=5)
        } else {
            self.rng.random_range(6..=20)
        }
    }

    fn visit_start(&mut self, day_start: DateTime<Utc>) -> DateTime<Utc> {
        loop {
            let at = day_start + TimeDelta::seconds(self.rng.random_range(0..86_400));
            let hour = at.hour();
            // Daily curve: relative traffic by hour of day, peaking mid-afternoon.
            let weight = match hour {
                0..=5 => 0.25,
                6..=8 => 0.6,
                9..=17 => 1.0,
                18..=21 => 0.8,
                _ => 0.45,
            };
            if self.rng.random::<f64>() < weight && at < self.now {
                return at;
            }
        }
    }

    fn path(&mut self) -> String {
        if self.rng.random::<f64>() < 0.45 {
            TOP_PAGES[long_tail(&mut self.rng, TOP_PAGES.len())].to_owned()
        } else {
            let section = SECTIONS[long_tail(&mut self.rng, SECTIONS.len())];
            let page = long_tail(&mut self.rng, PAGES_PER_SECTION);
            format!("/{section}/{}", slug(page))
        }
    }

    fn visit(&mut self, start: DateTime<Utc>, size: u32) {
        self.sessions += 1;
        let visitor_id = if !self.day_visitors.is_empty() && self.rng.random::<f64>() < 0.2 {
            self.day_visitors[self.rng.random_range(0..self.day_visitors.len())]
        } else {
            let id = VisitorId(self.rng.random());
            self.day_visitors.push(id);
            id
        };
        let &(browser, versions, os, os_versions, device) = pick(&mut self.rng, USER_AGENTS);
        let browser_version = versions[self.rng.random_range(0..versions.len())].to_owned();
        let os_version = os_versions[self.rng.random_range(0..os_versions.len())].to_owned();
        let &(country, region, city) = pick(&mut self.rng, PLACES);
        let &(source, referrer) = pick(&mut self.rng, SOURCES);
        let utm = if self.rng.random::<f64>() < 0.1 {
            let &(s, m, c) = pick(&mut self.rng, CAMPAIGNS);
            Utm {
                source: Some(s.into()),
                medium: Some(m.into()),
                campaign: Some(c.into()),
                content: None,
                term: None,
            }
        } else {
            Utm::default()
        };
        let viewport = match device {
            "mobile" => 390,
            "tablet" => 820,
            _ => 1440,
        };
        let mut at = start;
        let mut path = self.path();
        for i in 0..size {
            // A visit that would run past "now" is squeezed into its last moment instead, so
            // exactly the requested number of events is written.
            at = at.min(self.now);
            let (name, props) = if i > 0 && self.rng.random::<f64>() < 0.12 {
                self.custom_event()
            } else {
                if i > 0 {
                    path = self.path();
                }
                (EventName::pageview(), Props::default())
            };
            let first = i == 0;
            let event = Event {
                site_id: self.site.id,
                created_at: at,
                visitor_id,
                name,
                hostname: self.site.domain.to_string(),
                path: PagePath::parse(&path, None).unwrap_or_else(|_| {
                    PagePath::parse("/", None).unwrap_or_else(|_| unreachable!())
                }),
                referrer: (first && !referrer.is_empty()).then(|| referrer.to_owned()),
                referrer_source: (first && !source.is_empty()).then(|| source.to_owned()),
                utm: if first { utm.clone() } else { Utm::default() },
                browser,
                browser_version: browser_version.clone(),
                os,
                os_version: os_version.clone(),
                device,
                country: Some(country.to_owned()),
                region: Some(region.to_owned()),
                city: Some(city.to_owned()),
                viewport_width: Some(viewport),
                props,
                revenue: None,
            };
            self.seq += 1;
            self.heap.push(Reverse(Pending {
                at,
                seq: self.seq,
                event,
            }));
            at += TimeDelta::seconds(self.rng.random_range(5..400));
        }
    }

    fn custom_event(&mut self) -> (EventName, Props) {
        let roll: f64 = self.rng.random();
        let (name, key, value) = if roll < 0.5 {
            let n = self.rng.random_range(0..40);
            (
                "Outbound Link: Click",
                "url",
                format!("https://github.com/example/project-{n}"),
            )
        } else if roll < 0.75 {
            let n = self.rng.random_range(0..10);
            (
                "File Download",
                "url",
                format!("https://{}/files/report-{n}.pdf", self.site.domain),
            )
        } else {
            let plan = ["free", "pro", "team"][self.rng.random_range(0..3)];
            ("Signup", "plan", plan.to_owned())
        };
        let name = EventName::parse(name).unwrap_or_else(|_| EventName::pageview());
        (name, Props::from_pairs(vec![(key.to_owned(), value)]))
    }
}

/// A readable, stable slug for long-tail page `n`.
fn slug(n: usize) -> String {
    const WORDS: &[&str] = &[
        "getting",
        "started",
        "privacy",
        "analytics",
        "rust",
        "sqlite",
        "postgres",
        "scaling",
        "dashboards",
        "events",
        "sessions",
        "tracking",
        "cookies",
        "gdpr",
        "performance",
        "release",
    ];
    let a = WORDS[n % WORDS.len()];
    let b = WORDS[(n / WORDS.len() + 3) % WORDS.len()];
    format!("{a}-{b}-{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SiteId, TimeZone};

    fn generator(events: u64, days: u32) -> Generator {
        let site = Site {
            id: SiteId(1),
            domain: SiteDomain::parse("example.com").unwrap_or_else(|e| panic!("{e}")),
            timezone: TimeZone::default(),
        };
        let options = SeedOptions {
            domain: site.domain.clone(),
            events,
            days,
            random_seed: 7,
            batch_size: 100,
        };
        Generator::new(&site, &options, Utc::now())
    }

    #[test]
    fn the_generator_yields_exactly_the_requested_events_in_time_order() {
        let mut g = generator(10_000, 3);
        let now = g.now;
        let start = g.start;
        let mut n = 0;
        let mut last = start;
        while let Some(e) = g.next_event() {
            assert!(e.created_at >= last, "out of order");
            assert!(e.created_at <= now && e.created_at >= start);
            last = e.created_at;
            n += 1;
        }
        assert_eq!(n, 10_000);
        assert!(g.sessions > 1_000);
    }
}
