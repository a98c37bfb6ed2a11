//! `footfall import` run as a user would, on both backends, against realistic access logs made
//! here: two days of visitors (IPv4 and IPv6) with assets, bots, errors, redirects, form posts,
//! monitors and a few broken lines, logged with a +0200 offset and rotated into three files,
//! one of them gzip-compressed and all given out of order.

mod support;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use footfall::store::{DynStore, StoredEvent, StoredSession};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use support::{Backend, CHROME_UA, IPHONE_UA, TestDb, add_site, footfall_in, open_store, text};

both_backends!(
    import_counts_every_line_and_stores_page_views_with_their_fields,
    an_imported_line_from_today_gets_the_visitor_id_of_a_live_event,
    a_missing_file_or_an_unknown_site_fails_before_anything_is_imported,
    a_gzip_file_cut_short_keeps_what_was_read_and_exits_non_zero,
    logs_of_two_servers_that_overlap_in_time_are_merged_by_time,
);

const FIREFOX_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const MAC_SAFARI_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";
const ANDROID_UA: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
/// Edge, with a quote in it: the log escapes it as `\"`.
const EDGE_UA_LOGGED: &str = r#"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0 \"beta\""#;
const HUMAN_UAS: &[&str] = &[CHROME_UA, IPHONE_UA, FIREFOX_UA, MAC_SAFARI_UA, ANDROID_UA];
const BOT_UAS: &[&str] = &[
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "-",
];
const PAGES: &[&str] = &[
    "/",
    "/blog/",
    "/blog/privacy-first-analytics",
    "/blog/sqlite-in-production",
    "/docs/",
    "/docs/install",
    "/docs/configuration",
    "/about",
    "/contact",
];
const ASSETS: &[&str] = &[
    "/css/site.css",
    "/js/app.js",
    "/js/script.js",
    "/img/hero.webp",
    "/img/logo.svg",
    "/fonts/inter.woff2",
    "/favicon.ico",
];
const FIRST_REFERRERS: &[&str] = &[
    "-",
    "-",
    "https://www.google.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/AbCdEf",
];

/// What the import must do with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Imported,
    Malformed,
    Method,
    Status,
    Redirect,
    StaticAsset,
    Bot,
    Invalid,
}

/// The summary's order of skip reasons.
const REASONS: [(Kind, &str); 7] = [
    (Kind::Malformed, "malformed"),
    (Kind::Method, "method"),
    (Kind::Status, "status"),
    (Kind::Redirect, "redirect"),
    (Kind::StaticAsset, "static_asset"),
    (Kind::Bot, "bot"),
    (Kind::Invalid, "invalid"),
];

struct Entry {
    at: NaiveDateTime,
    text: Vec<u8>,
    kind: Kind,
}

/// Local time on a day of March 2026, as the server logged it (+0200).
fn local(day: u32, h: u32, m: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, day)
        .and_then(|d| d.and_hms_opt(h, m, s))
        .unwrap_or_else(|| panic!("bad time"))
}

fn utc(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    (local(day, h, m, s) - TimeDelta::hours(2)).and_utc()
}

/// An nginx combined line with `$request_time` appended, as many servers are configured.
fn entry(
    at: NaiveDateTime,
    ip: &str,
    request: &str,
    status: u16,
    referer: &str,
    ua: &str,
    kind: Kind,
) -> Entry {
    let text = format!(
        r#"{ip} - - [{}] "{request}" {status} {} "{referer}" "{ua}" 0.{:03}"#,
        at.format("%d/%b/%Y:%H:%M:%S +0200"),
        if status == 304 {
            0
        } else {
            5120 + request.len()
        },
        at.and_utc().timestamp() % 1000,
    );
    Entry {
        at,
        text: text.into_bytes(),
        kind,
    }
}

/// Visitors, bots and noise that the test asserts on one by one.
#[rustfmt::skip]
fn scripted() -> Vec<Entry> {
    use Kind::*;
    let alice = "203.0.113.10";
    let bob = "2001:db8:1::7";
    let dave = "203.0.113.40";
    let google = "https://www.google.com/search?q=privacy+analytics";
    vec![
        // Alice, day 1: a visit of two pages with their assets, then another two hours later.
        entry(local(14, 10, 0, 0), alice, "GET / HTTP/1.1", 200, google, CHROME_UA, Imported),
        entry(local(14, 10, 0, 1), alice, "GET /css/site.css HTTP/1.1", 200, "https://example.com/", CHROME_UA, StaticAsset),
        entry(local(14, 10, 0, 1), alice, "GET /js/script.js HTTP/1.1", 200, "https://example.com/", CHROME_UA, StaticAsset),
        entry(local(14, 10, 0, 2), alice, "POST /api/event HTTP/1.1", 202, "https://example.com/", CHROME_UA, Method),
        entry(local(14, 10, 0, 2), alice, "GET /favicon.ico HTTP/1.1", 200, "-", CHROME_UA, StaticAsset),
        entry(local(14, 10, 10, 0), alice, "GET /pricing HTTP/1.1", 200, "https://example.com/", CHROME_UA, Imported),
        entry(local(14, 10, 10, 5), alice, "GET /files/price-list.pdf HTTP/1.1", 200, "https://example.com/pricing", CHROME_UA, StaticAsset),
        entry(local(14, 12, 10, 0), alice, "GET /docs/start HTTP/1.1", 200, "-", CHROME_UA, Imported),
        // Alice, day 2, from a newsletter.
        entry(local(15, 9, 0, 0), alice, "GET /blog/hello?utm_source=newsletter&utm_medium=email&utm_campaign=spring HTTP/2.0", 200, "-", CHROME_UA, Imported),
        // Bob on an iPhone over IPv6, from Hacker News; his second page comes from his cache.
        entry(local(14, 18, 30, 0), bob, "GET /blog/post-1 HTTP/2.0", 200, "https://news.ycombinator.com/item?id=4242", IPHONE_UA, Imported),
        entry(local(14, 18, 31, 30), bob, "GET /blog/post-2 HTTP/2.0", 304, "https://example.com/blog/post-1", IPHONE_UA, Imported),
        // Carol, at 01:30 local time: still the 13th in UTC.
        entry(local(14, 1, 30, 0), "198.51.100.23", "GET /features HTTP/1.1", 200, "https://duckduckgo.com/", FIREFOX_UA, Imported),
        // Dave reads across the log rotation at noon: one visit in two files.
        entry(local(15, 11, 55, 0), dave, "GET /changelog HTTP/1.1", 200, r#"https://search.brave.com/search?q=\"footfall\""#, EDGE_UA_LOGGED, Imported),
        entry(local(15, 12, 5, 0), dave, "GET /changelog/2026-03 HTTP/1.1", 200, "https://example.com/changelog", EDGE_UA_LOGGED, Imported),
        // A moved page: the redirect is skipped, the page it leads to is the view.
        entry(local(15, 14, 0, 0), "203.0.113.50", "GET /old-blog HTTP/1.1", 301, "-", MAC_SAFARI_UA, Redirect),
        entry(local(15, 14, 0, 1), "203.0.113.50", "GET /blog/ HTTP/1.1", 200, "-", MAC_SAFARI_UA, Imported),
        // Errors, bots, a monitor, and a proxy probe for another host.
        entry(local(15, 14, 30, 0), "203.0.113.60", "GET /checkout HTTP/1.1", 500, "https://example.com/pricing", CHROME_UA, Status),
        entry(local(15, 15, 0, 0), "66.249.66.1", "GET /pricing HTTP/1.1", 200, "-", BOT_UAS[0], Bot),
        entry(local(15, 15, 1, 0), "203.0.113.70", "GET / HTTP/1.1", 200, "-", "curl/8.5.0", Bot),
        entry(local(15, 15, 2, 0), "203.0.113.71", "GET /about HTTP/1.1", 200, "-", "-", Bot),
        entry(local(15, 15, 3, 0), "203.0.113.72", "HEAD / HTTP/1.1", 200, "-", "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", Method),
        entry(local(15, 15, 4, 0), "203.0.113.73", "GET http://proxy-judge.test/ HTTP/1.1", 200, "-", CHROME_UA, Invalid),
        entry(local(15, 15, 5, 0), "203.0.113.74", "-", 400, "-", "-", Method),
    ]
}

/// A day of ordinary traffic: people reading a few pages (each loading assets), form posts,
/// crawlers, vulnerability scanners and an uptime monitor.
fn filler(rng: &mut StdRng, day: u32, out: &mut Vec<Entry>) {
    use Kind::*;
    for v in 0..35u32 {
        let ip = if v % 5 == 0 {
            format!("2001:db8:ffff::{:x}", v + 1)
        } else {
            format!("192.0.2.{}", v + 1)
        };
        let ua = HUMAN_UAS[rng.random_range(0..HUMAN_UAS.len())];
        let mut at = local(
            day,
            rng.random_range(7..22),
            rng.random_range(0..60),
            rng.random_range(0..60),
        );
        let mut referer = FIRST_REFERRERS[rng.random_range(0..FIRST_REFERRERS.len())].to_owned();
        for _ in 0..rng.random_range(1..=6) {
            let page = PAGES[rng.random_range(0..PAGES.len())];
            let roll: f64 = rng.random();
            let (status, kind) = match roll {
                r if r < 0.05 => (404, Status),
                r if r < 0.15 => (304, Imported),
                _ => (200, Imported),
            };
            out.push(entry(
                at,
                &ip,
                &format!("GET {page} HTTP/1.1"),
                status,
                &referer,
                ua,
                kind,
            ));
            if status == 200 {
                let page_url = format!("https://example.com{page}");
                for _ in 0..rng.random_range(0..=3) {
                    let asset = ASSETS[rng.random_range(0..ASSETS.len())];
                    let request = format!("GET {asset} HTTP/1.1");
                    out.push(entry(at, &ip, &request, 200, &page_url, ua, StaticAsset));
                }
            }
            if rng.random::<f64>() < 0.1 {
                at += TimeDelta::seconds(30);
                out.push(entry(
                    at,
                    &ip,
                    "POST /contact HTTP/1.1",
                    303,
                    &referer,
                    ua,
                    Method,
                ));
            }
            at += TimeDelta::seconds(rng.random_range(20..400));
            referer = format!("https://example.com{page}");
        }
    }
    for i in 0..60u32 {
        let at = local(day, i % 24, (i * 7) % 60, i % 60);
        let ua = BOT_UAS[rng.random_range(0..BOT_UAS.len())];
        let ip = format!("198.51.100.{}", 100 + i % 50);
        let (request, status, kind) = match i % 6 {
            0 => ("GET /robots.txt HTTP/1.1", 200, StaticAsset),
            1 => ("GET /wp-login.php HTTP/1.1", 404, Status),
            2 => ("GET /.env HTTP/1.1", 404, Status),
            _ => (PAGES[rng.random_range(0..PAGES.len())], 200, Bot),
        };
        let request = if request.starts_with('/') {
            format!("GET {request} HTTP/1.1")
        } else {
            request.to_owned()
        };
        out.push(entry(at, &ip, &request, status, "-", ua, kind));
    }
    for hour in 0..24 {
        let monitor = "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)";
        let at = local(day, hour, 0, 30);
        out.push(entry(
            at,
            "203.0.113.200",
            "HEAD / HTTP/1.1",
            200,
            "-",
            monitor,
            Method,
        ));
    }
}

/// One rotated log file: its lines in time order with broken ones inserted at given lines.
struct LogFile {
    name: &'static str,
    gzip: bool,
    lines: Vec<(Vec<u8>, Kind)>,
}

impl LogFile {
    fn new(
        name: &'static str,
        gzip: bool,
        mut entries: Vec<Entry>,
        junk: &[(usize, &[u8])],
    ) -> Self {
        entries.sort_by_key(|e| e.at);
        let mut lines: Vec<(Vec<u8>, Kind)> =
            entries.into_iter().map(|e| (e.text, e.kind)).collect();
        for &(line_no, text) in junk {
            assert!(
                line_no <= lines.len() + 1,
                "{name} is too short for line {line_no}"
            );
            lines.insert(line_no - 1, (text.to_vec(), Kind::Malformed));
        }
        Self { name, gzip, lines }
    }

    fn write(&self, dir: &Path) {
        let mut bytes = Vec::new();
        for (text, _) in &self.lines {
            bytes.extend_from_slice(text);
            bytes.push(b'\n');
        }
        if self.gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&bytes).unwrap_or_else(|e| panic!("{e}"));
            bytes = gz.finish().unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(dir.join(self.name), bytes).unwrap_or_else(|e| panic!("{e}"));
    }

    fn count(&self, kind: Kind) -> usize {
        self.lines.iter().filter(|(_, k)| *k == kind).count()
    }

    /// The summary line the import must print for this file.
    fn expected_summary(&self) -> String {
        let kinds: Vec<Kind> = self.lines.iter().map(|(_, k)| *k).collect();
        summary(self.name, &kinds, true)
    }
}

/// `name: read … (reason n, …)`; with `line_numbers`, `kinds` is one file in order and the
/// malformed and invalid lines are named (the first 20).
fn summary(name: &str, kinds: &[Kind], line_numbers: bool) -> String {
    let count = |kind: Kind| kinds.iter().filter(|k| **k == kind).count();
    let reasons: Vec<String> = REASONS
        .iter()
        .filter(|(kind, _)| count(*kind) > 0)
        .map(|&(kind, name)| {
            let mut reason = format!("{name} {}", count(kind));
            if line_numbers && matches!(kind, Kind::Malformed | Kind::Invalid) {
                let at: Vec<String> = (1..=kinds.len())
                    .filter(|&n| kinds[n - 1] == kind)
                    .take(20)
                    .map(|n| n.to_string())
                    .collect();
                reason.push_str(&format!(" at lines {}", at.join(", ")));
            }
            reason
        })
        .collect();
    format!(
        "{name}: read {} lines: imported {}, skipped {} ({})",
        kinds.len(),
        count(Kind::Imported),
        kinds.len() - count(Kind::Imported),
        reasons.join(", ")
    )
}

/// Day 1 (14 March, local) in `access.log.2`; day 2 before noon in `access.log.1.gz`, after
/// noon in `access.log`.
fn rotated_logs() -> Vec<LogFile> {
    let mut rng = StdRng::seed_from_u64(2026);
    let mut all = scripted();
    filler(&mut rng, 14, &mut all);
    filler(&mut rng, 15, &mut all);
    let (mut day1, mut morning, mut afternoon) = (Vec::new(), Vec::new(), Vec::new());
    for e in all {
        if e.at < local(15, 0, 0, 0) {
            day1.push(e);
        } else if e.at < local(15, 12, 0, 0) {
            morning.push(e);
        } else {
            afternoon.push(e);
        }
    }
    let cut_short: &[u8] = b"192.0.2.99 - - [14/Mar/2026:11:0";
    let not_utf8: &[u8] = b"192.0.2.98 - - [14/Mar/2026:11:00:00 +0200] \"GET /\xff\xfe HTTP/1.1\" 200 5 \"-\" \"\xc3\x28\"";
    let bad_month: &[u8] =
        b"192.0.2.97 - - [15/Mrz/2026:13:00:00 +0200] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"";
    vec![
        LogFile::new(
            "access.log.2",
            false,
            day1,
            &[(17, not_utf8), (230, cut_short)],
        ),
        LogFile::new("access.log.1.gz", true, morning, &[(5, b"garbage")]),
        LogFile::new("access.log", false, afternoon, &[(40, bad_month)]),
    ]
}

/// `footfall import --site example.com ARGS`, run in `dir`.
fn import(db: &TestDb, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["import", "--site", "example.com"];
    all.extend_from_slice(args);
    footfall_in(db, dir, &all)
}

async fn setup(backend: Backend) -> Option<(TestDb, DynStore, footfall::domain::Site)> {
    let (store, db) = open_store(backend).await?;
    let site = add_site(&store, "example.com", "Europe/Berlin").await;
    Some((db, store, site))
}

/// The one stored event at `at` on `path`.
fn event<'a>(events: &'a [StoredEvent], at: DateTime<Utc>, path: &str) -> &'a StoredEvent {
    let found: Vec<_> = events
        .iter()
        .filter(|e| e.created_at == at && e.path == path)
        .collect();
    assert_eq!(found.len(), 1, "events at {at} on {path}: {found:?}");
    found[0]
}

fn sessions_of(sessions: &[StoredSession], visitor: i64) -> Vec<&StoredSession> {
    let mut mine: Vec<_> = sessions
        .iter()
        .filter(|s| s.visitor_id == visitor)
        .collect();
    mine.sort_by_key(|s| s.started_at);
    mine
}

async fn import_counts_every_line_and_stores_page_views_with_their_fields(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let logs = rotated_logs();
    for log in &logs {
        log.write(dir.path());
    }
    let total_lines: usize = logs.iter().map(|l| l.lines.len()).sum();
    assert!(total_lines > 600, "a realistic log: {total_lines} lines");

    // Newest first, the gzip file first of all: the import must put them in time order.
    // Small batches make the sessionizer forget finished visits between batches, so events
    // arriving out of order would split visits.
    let output = import(
        &db,
        dir.path(),
        &[
            "--format",
            "combined",
            "--batch-size",
            "7",
            "access.log.1.gz",
            "access.log",
            "access.log.2",
        ],
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        !text(&output.stderr).contains("importing"),
        "no progress bar without a terminal: {}",
        text(&output.stderr)
    );
    let printed: Vec<&str> = stdout.lines().collect();
    let by_name: HashMap<&str, &LogFile> = logs.iter().map(|l| (l.name, l)).collect();
    for (i, name) in ["access.log.1.gz", "access.log", "access.log.2"]
        .iter()
        .enumerate()
    {
        assert_eq!(printed[i], by_name[name].expected_summary(), "\n{stdout}");
    }
    let all_kinds: Vec<Kind> = logs
        .iter()
        .flat_map(|l| l.lines.iter().map(|(_, k)| *k))
        .collect();
    assert_eq!(
        printed[3],
        summary("total", &all_kinds, false),
        "\n{stdout}"
    );
    for kind in [
        Kind::Malformed,
        Kind::Method,
        Kind::Status,
        Kind::Redirect,
        Kind::StaticAsset,
        Kind::Bot,
        Kind::Invalid,
    ] {
        assert!(all_kinds.contains(&kind), "the log exercises {kind:?}");
    }
    assert_eq!(logs[0].count(Kind::Malformed), 2);

    let imported = all_kinds.iter().filter(|k| **k == Kind::Imported).count();
    let events = store
        .recent_events(site.id, 100_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), imported);
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        imported as i64
    );
    let mut by_id: Vec<&StoredEvent> = events.iter().collect();
    by_id.sort_by_key(|e| e.id);
    assert!(
        by_id.windows(2).all(|w| w[0].created_at <= w[1].created_at),
        "events reached the writer in time order"
    );
    assert!(
        events
            .iter()
            .all(|e| e.name == "pageview" && e.hostname == "example.com")
    );
    assert!(
        events
            .iter()
            .all(|e| !ASSETS.contains(&e.path.as_str()) && e.path != "/api/event"),
        "no assets"
    );

    // Alice: fields, the log's offset, and one visitor id per day.
    let home = event(&events, utc(14, 10, 0, 0), "/");
    assert_eq!(home.created_at.to_rfc3339(), "2026-03-14T08:00:00+00:00");
    assert_eq!(home.referrer_source.as_deref(), Some("Google"));
    assert_eq!(
        home.referrer.as_deref(),
        Some("https://www.google.com/search")
    );
    assert_eq!(
        (
            home.browser.as_str(),
            home.os.as_str(),
            home.device.as_str()
        ),
        ("Chrome", "Windows", "desktop")
    );
    let pricing = event(&events, utc(14, 10, 10, 0), "/pricing");
    assert_eq!(
        (
            pricing.referrer.as_deref(),
            pricing.referrer_source.as_deref()
        ),
        (None, None),
        "a self-referral is no source"
    );
    let docs = event(&events, utc(14, 12, 10, 0), "/docs/start");
    assert_eq!(home.visitor_id, pricing.visitor_id);
    assert_eq!(home.visitor_id, docs.visitor_id);
    let next_day = event(&events, utc(15, 9, 0, 0), "/blog/hello");
    assert_ne!(next_day.visitor_id, home.visitor_id, "ids do not link days");
    assert_eq!(
        (
            next_day.utm_source.as_deref(),
            next_day.utm_medium.as_deref(),
            next_day.utm_campaign.as_deref()
        ),
        (Some("newsletter"), Some("email"), Some("spring"))
    );
    let sessions = store
        .recent_sessions(site.id, 100_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let alice = sessions_of(&sessions, home.visitor_id);
    assert_eq!(
        alice.len(),
        2,
        "10 minutes apart is one visit, 2 hours apart another: {alice:?}"
    );
    assert_eq!(
        (
            alice[0].pageviews,
            alice[0].entry_path.as_str(),
            alice[0].exit_path.as_str()
        ),
        (2, "/", "/pricing")
    );
    assert_eq!(
        (alice[0].started_at, alice[0].ended_at),
        (utc(14, 10, 0, 0), utc(14, 10, 10, 0))
    );
    assert_eq!(alice[0].referrer_source.as_deref(), Some("Google"));
    assert_eq!(
        (alice[1].pageviews, alice[1].entry_path.as_str()),
        (1, "/docs/start")
    );

    // Bob: IPv6, iPhone, Hacker News; his cached second page counts.
    let post1 = event(&events, utc(14, 18, 30, 0), "/blog/post-1");
    let post2 = event(&events, utc(14, 18, 31, 30), "/blog/post-2");
    assert_eq!(post1.visitor_id, post2.visitor_id);
    assert_eq!(
        (
            post1.browser.as_str(),
            post1.os.as_str(),
            post1.device.as_str()
        ),
        ("Safari", "iOS", "mobile")
    );
    assert_eq!(post1.referrer_source.as_deref(), Some("Hacker News"));
    assert_eq!(sessions_of(&sessions, post1.visitor_id).len(), 1);

    // Carol's 01:30 +0200 is 23:30 UTC the day before.
    let carol = event(&events, utc(14, 1, 30, 0), "/features");
    assert_eq!(carol.created_at.to_rfc3339(), "2026-03-13T23:30:00+00:00");
    assert_eq!(
        (carol.browser.as_str(), carol.os.as_str()),
        ("Firefox", "Linux")
    );
    assert_eq!(carol.referrer_source.as_deref(), Some("DuckDuckGo"));

    // Dave's escaped quotes are undone, and his visit spans the rotation.
    let changelog = event(&events, utc(15, 11, 55, 0), "/changelog");
    assert_eq!(changelog.browser, "Edge");
    assert_eq!(changelog.referrer_source.as_deref(), Some("Brave Search"));
    assert_eq!(
        changelog.referrer.as_deref(),
        Some("https://search.brave.com/search")
    );
    let dave = sessions_of(&sessions, changelog.visitor_id);
    assert_eq!(dave.len(), 1, "{dave:?}");
    assert_eq!(
        (dave[0].pageviews, dave[0].exit_path.as_str()),
        (2, "/changelog/2026-03")
    );

    let in_sessions: i64 = sessions.iter().map(|s| i64::from(s.events)).sum();
    assert_eq!(
        in_sessions, imported as i64,
        "every event belongs to a session"
    );
    assert!(
        sessions.iter().filter(|s| s.pageviews > 1).count() > 10,
        "multi-page visits"
    );
    db.cleanup().await;
}

async fn an_imported_line_from_today_gets_the_visitor_id_of_a_live_event(backend: Backend) {
    use footfall::ingest::visitor::{SaltSource, Salts};
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let now = Utc::now();
    let ip = "198.51.100.5";
    let lines = [
        format!(
            r#"{ip} - - [{}] "GET /today HTTP/1.1" 200 5 "-" "{CHROME_UA}""#,
            now.format("%d/%b/%Y:%H:%M:%S +0000")
        ),
        format!(
            r#"{ip} - - [14/Mar/2026:10:00:00 +0000] "GET /past HTTP/1.1" 200 5 "-" "{CHROME_UA}""#
        ),
    ];
    std::fs::write(dir.path().join("access.log"), lines.join("\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let output = import(&db, dir.path(), &["access.log"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("imported 2, skipped 0"),
        "{}",
        text(&output.stdout)
    );

    let today = now.date_naive();
    // The salts in use now start yesterday before noon UTC (UTC-12 is still there): none older.
    let in_use = footfall::ingest::visitor::salt_days(now)[0];
    assert_eq!(
        store
            .delete_salts_before(in_use)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0,
        "no salt was stored for a past day"
    );
    let salts = Salts::load(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ip = ip.parse().unwrap_or_else(|e| panic!("{e}"));
    let live = salts.visitor_id(today, site.id, ip, CHROME_UA);
    let events = store
        .recent_events(site.id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id_of = |path: &str| {
        events
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.visitor_id)
            .unwrap_or_else(|| panic!("no {path}"))
    };
    assert_eq!(id_of("/today"), live.0);
    assert_ne!(id_of("/past"), live.0);
    let past_day = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap_or_else(|| panic!("date"));
    assert_ne!(
        id_of("/past"),
        salts.visitor_id(past_day, site.id, ip, CHROME_UA).0
    );
    db.cleanup().await;
}

async fn a_missing_file_or_an_unknown_site_fails_before_anything_is_imported(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let line = format!(
        r#"203.0.113.1 - - [14/Mar/2026:10:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "{CHROME_UA}""#
    );
    std::fs::write(dir.path().join("access.log"), line).unwrap_or_else(|e| panic!("{e}"));

    // Each is refused before anything is written, saying why.
    let refused = |args: &[&str], why: &str| {
        let output = footfall_in(&db, dir.path(), args);
        assert!(!output.status.success());
        assert!(
            text(&output.stderr).contains(why),
            "{}",
            text(&output.stderr)
        );
    };
    refused(
        &["import", "--site", "nope.org", "access.log"],
        "no site nope.org",
    );
    refused(
        &[
            "import",
            "--site",
            "example.com",
            "access.log",
            "access.log.1",
        ],
        "cannot read access.log.1",
    );
    refused(
        &[
            "import",
            "--site",
            "example.com",
            "access.log",
            "./access.log",
        ],
        "given twice",
    );

    let none = import(&db, dir.path(), &[]);
    assert!(!none.status.success());
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    db.cleanup().await;
}

async fn a_gzip_file_cut_short_keeps_what_was_read_and_exits_non_zero(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..20_000 {
        let at = local(14, 0, 0, 0) + TimeDelta::seconds(i);
        let ip = format!("192.0.2.{}", i % 200);
        let e = entry(
            at,
            &ip,
            &format!("GET /page/{i} HTTP/1.1"),
            200,
            "-",
            FIREFOX_UA,
            Kind::Imported,
        );
        gz.write_all(&e.text).unwrap_or_else(|e| panic!("{e}"));
        gz.write_all(b"\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let compressed = gz.finish().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("access.log.1.gz"),
        &compressed[..compressed.len() / 2],
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let output = import(&db, dir.path(), &["access.log.1.gz"]);
    let stdout = text(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        text(&output.stderr).contains("incomplete"),
        "{}",
        text(&output.stderr)
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.contains("reading stopped after line"), "{stdout}");
    let imported: i64 = first
        .split("imported ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {first}"));
    assert!(imported > 1000 && imported < 20_000, "{stdout}");
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        imported
    );
    db.cleanup().await;
}

async fn logs_of_two_servers_that_overlap_in_time_are_merged_by_time(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Behind a load balancer, one visitor's pages alternate between the servers' logs, a
    // minute apart, for three hours.
    for (name, server) in [("web1.log", 0), ("web2.log", 1)] {
        let lines: Vec<String> = (0..180)
            .filter(|minute| minute % 2 == server)
            .map(|minute| {
                let at = local(14, 9, 0, 0) + TimeDelta::minutes(minute);
                let request = format!("GET /page/{minute} HTTP/1.1");
                let e = entry(
                    at,
                    "203.0.113.9",
                    &request,
                    200,
                    "-",
                    FIREFOX_UA,
                    Kind::Imported,
                );
                text(&e.text)
            })
            .collect();
        std::fs::write(dir.path().join(name), lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    }
    let output = import(
        &db,
        dir.path(),
        &["--batch-size", "5", "web2.log", "web1.log"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut events = store
        .recent_events(site.id, 1000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    events.sort_by_key(|e| e.id);
    let minutes: Vec<i64> = events
        .iter()
        .map(|e| (e.created_at - utc(14, 9, 0, 0)).num_minutes())
        .collect();
    assert_eq!(minutes, (0..180).collect::<Vec<_>>());
    let sessions = store
        .recent_sessions(site.id, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sessions.len(), 1, "one visit: {sessions:?}");
    assert_eq!(sessions[0].pageviews, 180);
    db.cleanup().await;
}
