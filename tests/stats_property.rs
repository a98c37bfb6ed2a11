//! Property test of the query engine: random data sets (several time zones, among them ones with
//! half-hour and 45-minute offsets; visits crossing local midnight; late events written after the
//! days they belong to were built; custom props with awkward keys), random periods and random
//! combinations of filters (`is`, `contains` and `matches`, visit- and event-level, goals, props,
//! values that exist, values that do not, "not set", NUL). Every question is asked of a store that answers from the
//! engine and of one that answers from raw rows with plain SQL, over the same events; the answers
//! must be identical, and the engine must have answered most of them.
//!
//! The seeds are fixed so that CI is repeatable; `FOOTFALL_PROPERTY_SEED=N` runs another one and
//! `FOOTFALL_PROPERTY_QUESTIONS=N` asks more questions per site.

mod support;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone as _, Utc};
use footfall::domain::{Engagement, Figures, Hit, Site};
use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
use footfall::stats::{Dimension as D, Filter, FilterOp, Interval, Metrics, StatsQuery};
use footfall::store::{DynStore, build_pending};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use support::traffic::AGENTS;
use support::visits::{Profile, add_site, visit};
use support::{Backend, TestDb};

both_backends!(the_engine_answers_random_questions_exactly_as_raw_sql_does);

const ZONES: [&str; 4] = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
];
const PATHS: [&str; 7] = [
    "/",
    "/pricing",
    "/blog/Rust-1",
    "/blog/x_y%",
    "/docs/Ünïcode",
    "/a/b/c",
    "/Pricing",
];
const SOURCES: [Option<(&str, &str)>; 4] = [
    None,
    Some(("Google", "https://www.google.com/")),
    Some(("Hacker News", "https://news.ycombinator.com/")),
    Some(("DuckDuckGo", "https://duckduckgo.com/")),
];
const PLACES: [Option<(&str, &str, &str)>; 3] = [
    None,
    Some(("DE", "Bavaria", "München")),
    Some(("US", "Texas", "Austin")),
];
const PROPS: [(&str, &str); 6] = [
    ("plan", "pro"),
    ("plan", "free"),
    ("url", "/a.pdf"),
    ("$weird key", "a b"),
    ("plan", ""),
    ("lang", "Ünï"),
];

/// Visits over `days` local days ending today: `per_day` a day at random times, some starting
/// just before local midnight, a few from returning visitors; each a few pageviews and custom
/// events.
fn traffic(
    rng: &mut StdRng,
    site: &Site,
    days: i64,
    per_day: usize,
    now: DateTime<Utc>,
) -> Vec<Hit> {
    let tz = site.timezone.0;
    let today = now.with_timezone(&tz).date_naive();
    let mut events = Vec::new();
    // Visitor ids of different sites never meet (the real ones hash the site in).
    let mut visitor = site.id.0 * 1_000_000;
    for d in 0..days {
        let date = today - Days::new((days - 1 - d) as u64);
        let midnight = local_midnight(tz, date);
        let mut starts: Vec<DateTime<Utc>> = (0..per_day)
            .map(|_| midnight + TimeDelta::seconds(rng.random_range(0..86_000)))
            .collect();
        starts.push(midnight + TimeDelta::seconds(86_400 - rng.random_range(60..900)));
        for at in starts.into_iter().filter(|t| *t < now) {
            if rng.random_range(0..4) != 0 {
                visitor += 1;
            }
            let ((browser, os, device), source) = (
                *AGENTS.choose(rng).unwrap_or(&AGENTS[0]),
                *SOURCES.choose(rng).unwrap_or(&None),
            );
            let profile = Profile {
                source,
                utm: (rng.random_range(0..4) == 0).then_some(("news", "email", "Spring_Sale")),
                place: *PLACES.choose(rng).unwrap_or(&None),
                browser,
                os,
                device,
            };
            let mut hits = Vec::new();
            let mut t = at;
            for n in 0..rng.random_range(1..7) {
                let path = *PATHS.choose(rng).unwrap_or(&"/");
                let custom = n > 0 && rng.random_range(0..3) == 0;
                let props: &[(&str, &str)] = if custom {
                    let k = rng.random_range(0..PROPS.len());
                    std::slice::from_ref(&PROPS[k])
                } else {
                    &[]
                };
                let name = if custom {
                    ["Signup", "Download", "Outbound Link: Click"][rng.random_range(0..3)]
                } else {
                    "pageview"
                };
                hits.push((t.min(now), name, path, props));
                t += TimeDelta::seconds(rng.random_range(10..1_200));
            }
            for event in visit(site, visitor, &profile, &hits) {
                // Most pageviews report engagement a little later (some twice, the second
                // raising the figures); a few updates find no pageview of their path.
                let update = |after: i64, ms: i64, depth: i64, path| {
                    Hit::Engagement(Engagement {
                        site_id: site.id,
                        created_at: (event.created_at + TimeDelta::seconds(after)).min(now),
                        visitor_id: event.visitor_id,
                        path,
                        figures: Figures::from_stored(ms, depth).unwrap_or_else(|e| panic!("{e}")),
                    })
                };
                let pageview = event.name.as_str() == "pageview";
                let roll = rng.random_range(0..10);
                let mut updates = Vec::new();
                if pageview && roll < 7 {
                    let (ms, depth) = (rng.random_range(0..120_000), rng.random_range(0..=100));
                    updates.push(update(3, ms, depth, event.path.clone()));
                    if roll < 2 {
                        updates.push(update(
                            5,
                            ms + 1_500,
                            (depth + 10).min(100),
                            event.path.clone(),
                        ));
                    }
                } else if roll == 9 {
                    let other = footfall::domain::PagePath::parse("/never-viewed", None)
                        .unwrap_or_else(|e| panic!("{e}"));
                    updates.push(update(2, 1_000, 50, other));
                }
                events.push(Hit::Event(event));
                events.extend(updates);
            }
        }
    }
    events
}

fn local_midnight(tz: chrono_tz::Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// A random filter: a value from the data, one absent from it, "not set", a substring in
/// another case, or a NUL.
fn random_filter(rng: &mut StdRng) -> Filter {
    // A goal filter: the visits with an event matching a goal (resolved, as the dashboard and the
    // API hand it to the store), pageview or custom event, that exists or not.
    if rng.random_range(0..6) == 0 {
        let goals = [
            footfall::stats::goal::Goal::page("Pricing", "/pricing"),
            footfall::stats::goal::Goal::page("Blog", "/blog/**"),
            footfall::stats::goal::Goal::page("Nowhere", "/nowhere/*"),
            footfall::stats::goal::Goal::event("Signup", "Signup", None),
            footfall::stats::goal::Goal::event("Pro", "Signup", Some("plan=pro")),
            footfall::stats::goal::Goal::event("Download", "Download", None),
        ];
        if let Some(Ok(goal)) = goals.choose(rng) {
            return footfall::stats::goal::converted(goal);
        }
    }
    let dims = [
        D::Page,
        D::EntryPage,
        D::ExitPage,
        D::Source,
        D::Country,
        D::City,
        D::Browser,
        D::OsVersion,
        D::Device,
        D::UtmCampaign,
        D::EventName,
        D::Prop("plan".into()),
        D::Prop("$weird key".into()),
        D::Prop("lang".into()),
    ];
    let dimension = dims.choose(rng).cloned().unwrap_or(D::Page);
    let known: &[&str] = match &dimension {
        D::Page | D::EntryPage | D::ExitPage => &PATHS,
        D::Source => &["Google", "Hacker News", "DuckDuckGo"],
        D::Country => &["DE", "US"],
        D::City => &["München", "Austin"],
        D::Browser => &["Chrome", "Safari", "Firefox"],
        D::OsVersion => &["10", "18.1"],
        D::Device => &["desktop", "mobile"],
        D::UtmCampaign => &["Spring_Sale"],
        D::EventName => &["pageview", "Signup", "Download", "Outbound Link: Click"],
        _ => &["pro", "free", "a b", "Ünï"],
    };
    let known = known.choose(rng).copied().unwrap_or("x");
    let (op, value) = match rng.random_range(0..10) {
        0 => (FilterOp::Is, String::new()),
        1 => (FilterOp::Contains, String::new()),
        2 => (FilterOp::Is, "nowhere".to_owned()),
        3 => (FilterOp::Is, format!("{known}\0")),
        4 | 5 => {
            let chars: Vec<char> = known.chars().collect();
            let a = rng.random_range(0..chars.len().max(1));
            let b = rng.random_range(a..=chars.len());
            let part: String = chars[a..b.max(a)].iter().collect();
            (FilterOp::Contains, part.to_ascii_uppercase())
        }
        // A pattern from a known value: its last segment (or its tail) made a star, or two.
        6 => {
            let head: String = match known.rfind('/') {
                Some(slash) => known[..=slash].to_owned(),
                None => known.chars().take(known.chars().count() / 2).collect(),
            };
            let star = if rng.random_range(0..2) == 0 {
                "*"
            } else {
                "**"
            };
            (FilterOp::Matches, format!("{head}{star}"))
        }
        _ => (FilterOp::Is, known.to_owned()),
    };
    Filter {
        dimension,
        op,
        value,
    }
}

fn random_question(rng: &mut StdRng, site: &Site, today: NaiveDate, days: i64) -> StatsQuery {
    let first = today - Days::new(days as u64 + 1);
    let from = first + Days::new(rng.random_range(0..days as u64 + 2));
    let span = if rng.random_range(0..3) == 0 {
        0
    } else {
        rng.random_range(0..days as u64 + 2)
    };
    let to = from + Days::new(span);
    let filters = (0..rng.random_range(0..4))
        .map(|_| random_filter(rng))
        .collect();
    StatsQuery {
        site: site.id,
        timezone: site.timezone,
        from,
        to,
        filters,
    }
}

/// Every answer to `q`, as text to compare.
async fn answers(store: &DynStore, q: &StatsQuery, rng_dims: &[D]) -> Vec<String> {
    let label = format!(
        "site {} ({}) {}..{} {:?}",
        q.site.0,
        q.timezone.name(),
        q.from,
        q.to,
        q.filters
    );
    let fail =
        |what: &str, e: footfall::store::StoreError| -> ! { panic!("{label} {what}: {e:?}") };
    let mut out = vec![format!(
        "aggregate {:?}",
        store
            .aggregate(q)
            .await
            .unwrap_or_else(|e| fail("aggregate", e))
    )];
    for metrics in [Metrics::Counts, Metrics::WithVisits] {
        out.push(format!(
            "days {metrics:?} {:?}",
            store
                .timeseries_with(q, Interval::Day, metrics)
                .await
                .unwrap_or_else(|e| fail("days", e))
        ));
    }
    if q.to <= q.from + Days::new(1) {
        out.push(format!(
            "hours {:?}",
            store
                .timeseries_with(q, Interval::Hour, Metrics::WithVisits)
                .await
                .unwrap_or_else(|e| fail("hours", e))
        ));
    }
    for d in rng_dims {
        for metrics in [Metrics::Counts, Metrics::WithVisits] {
            out.push(format!(
                "{d} {metrics:?} {:?}",
                store
                    .breakdown_with(q, d, 50, 0, metrics)
                    .await
                    .unwrap_or_else(|e| fail("breakdown", e))
            ));
        }
        out.push(format!(
            "{d} page 2 {:?}",
            store
                .breakdown(q, d, 2, 2)
                .await
                .unwrap_or_else(|e| fail("breakdown", e))
        ));
    }
    // Engagement: in all, by page and by a visit attribute (sorted: the store gives no order).
    for by in [None, Some(D::Page), Some(D::Source)] {
        let mut rows = store
            .engagement(q, by.as_ref())
            .await
            .unwrap_or_else(|e| fail("engagement", e));
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        out.push(format!("engagement by {by:?} {rows:?}"));
    }
    out.push(format!(
        "prop keys {:?}",
        store
            .prop_keys(q, 4)
            .await
            .unwrap_or_else(|e| fail("prop keys", e))
    ));
    // Funnels: in order, a goal twice, across midnight (visits that span days) and with the
    // question's filters choosing the visits.
    let goal = |g: Result<footfall::stats::goal::Goal, footfall::domain::Invalid>| {
        g.unwrap_or_else(|e| panic!("{e}"))
    };
    use footfall::stats::goal::Goal;
    let (pricing, blog, signup) = (
        goal(Goal::page("Pricing", "/pricing")),
        goal(Goal::page("Blog", "/blog/**")),
        goal(Goal::event("Signup", "Signup", None)),
    );
    // Goal conversions, all goals at once (the engine's one pass against one aggregate per goal):
    // the counts, which is what `Metrics::Counts` promises.
    let conversions = store
        .goal_conversions(
            q,
            &[
                pricing.clone(),
                blog.clone(),
                signup.clone(),
                goal(Goal::event("Pro", "Signup", Some("plan=pro"))),
            ],
            Metrics::Counts,
        )
        .await
        .unwrap_or_else(|e| fail("goal conversions", e));
    out.push(format!(
        "goal conversions {:?}",
        conversions
            .iter()
            .map(|a| (a.visitors, a.pageviews, a.events))
            .collect::<Vec<_>>()
    ));
    for steps in [
        vec![pricing.clone(), signup.clone()],
        vec![blog.clone(), blog.clone(), pricing.clone()],
        vec![signup.clone(), pricing.clone(), blog, pricing, signup],
    ] {
        out.push(format!(
            "funnel {:?} {:?}",
            steps.iter().map(|s| &s.name).collect::<Vec<_>>(),
            store
                .funnel(q, &steps)
                .await
                .unwrap_or_else(|e| fail("funnel", e))
        ));
    }
    out.into_iter().map(|a| format!("{label} {a}")).collect()
}

/// Writes events and engagement updates through one sessionizer per store, as a running writer
/// would.
async fn write(store: &DynStore, sessions: &mut Sessionizer, mut events: Vec<Hit>, batch: usize) {
    events.sort_by_key(|h| match h {
        Hit::Event(e) => e.created_at,
        Hit::Engagement(u) => u.created_at,
    });
    for chunk in events.chunks(batch) {
        store
            .write_batch(Arc::new(sessions.assign_hits(chunk.to_vec())))
            .await
            .unwrap_or_else(|e| panic!("writing a batch: {e}"));
    }
}

async fn the_engine_answers_random_questions_exactly_as_raw_sql_does(backend: Backend) {
    let seed: u64 = std::env::var("FOOTFALL_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_202);
    let questions: usize = std::env::var("FOOTFALL_PROPERTY_QUESTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // Two stores on one database: one answers from the engine, one from raw rows.
    let open = |engine| {
        let url = db.url.clone();
        async move {
            footfall::store::connect_with(&url, engine)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        }
    };
    let (fast, raw) = (open(true).await, open(false).await);
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now();
    let days = 6;
    let mut sites = Vec::new();
    let mut writer = Sessionizer::new(SESSION_TIMEOUT, 0, []);
    let mut late = Vec::new();
    for (i, zone) in ZONES.iter().enumerate() {
        let domain = format!("site{i}.example");
        let site = add_site(&fast, &domain, zone).await;
        let mut events = traffic(&mut rng, &site, days, 12, now);
        // Some events are late: written after their days were built.
        let cut = events.len() * 9 / 10;
        late.extend(events.split_off(cut));
        write(&fast, &mut writer, events, 37).await;
        sites.push(site);
    }
    build_pending(&*fast)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    write(&fast, &mut writer, late, 23).await;
    build_pending(&*fast)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    let all_dims: Vec<D> = D::FIXED
        .iter()
        .cloned()
        .chain([D::Prop("plan".into()), D::Prop("$weird key".into())])
        .collect();
    let before = fast.engine_counts();
    let mut compared = 0;
    // Questions whose engagement figures were not all zero.
    let mut measured = 0;
    for site in &sites {
        let today = now.with_timezone(&site.timezone.0).date_naive();
        for _ in 0..questions {
            let q = random_question(&mut rng, site, today, days);
            let dims: Vec<D> = all_dims.choose_multiple(&mut rng, 5).cloned().collect();
            let (a, b) = (
                answers(&fast, &q, &dims).await,
                answers(&raw, &q, &dims).await,
            );
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(
                    x, y,
                    "seed {seed}: the engine (left) and raw SQL (right) disagree"
                );
            }
            compared += a.len();
            measured += a
                .iter()
                .filter(|l| l.contains("engagement by None") && !l.contains("pageviews: 0,"))
                .count();
        }
    }
    let counts = fast.engine_counts();
    let answered = counts.answered - before.answered;
    let left = counts.left_to_raw - before.left_to_raw;
    // Hourly questions in Lord Howe's half-hour DST shift may go to raw rows; nearly all others
    // are the engine's.
    assert!(
        answered > 0 && left * 20 < answered,
        "the engine answered {answered} of {compared} questions and left {left} to raw rows"
    );
    assert_eq!(raw.engine_counts().answered, 0);
    assert!(
        measured * 4 > sites.len() * questions,
        "only {measured} questions had engagement figures"
    );
    drop((fast, raw));
    db.cleanup().await;
}
