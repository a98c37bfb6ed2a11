//! `footfall import --format goatcounter` and `--format umami` run as a user would, on both
//! backends, against small exports written here from the formats' documented columns (by the
//! `csv` crate, so quoting is an independent writer's): visitors, a custom event, bots, broken
//! rows, quoted fields with commas, quotes and line breaks. The totals below are counted by hand
//! from the rows, and checked against what is stored.

mod support;

use chrono::{DateTime, Utc};
use footfall::store::{DynStore, StoredEvent, StoredSession};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use support::{Backend, IPHONE_UA, TestDb, add_site, footfall_in, open_store, text};

both_backends!(
    a_goatcounter_export_is_imported_with_its_visitors_events_and_sources,
    an_umami_export_is_imported_with_its_columns_in_any_order,
    a_file_of_another_format_is_refused_before_anything_is_stored,
    an_export_cut_short_keeps_the_rows_before_and_exits_non_zero,
);

const GOATCOUNTER_HEADER: &str = "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const ALICE: &str = "287fb97cbed4e4f-8e4f5c975b8fee06";
const BOB: &str = "c8b722d57674550-bcd20ab1989d7739";
const CAROL: &str = "1a2b3c4d5e6f708-0918273645546372";
const DAVE: &str = "99aa88bb77cc66d-d55ee44ff3300112";

/// One record as a CSV writer writes it, with its line break.
fn record(fields: &[&str]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer
        .write_record(fields)
        .unwrap_or_else(|e| panic!("{e}"));
    writer.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

/// A GoatCounter row: path, title, event, user agent, browser, system, session, bot, referrer,
/// referrer scheme, screen size, location, date (FirstVisit is always 1).
#[expect(
    clippy::too_many_arguments,
    reason = "one argument a column, as the export has them"
)]
fn gc(
    path: &str,
    title: &str,
    event: &str,
    (ua, browser, system): (&str, &str, &str),
    session: &str,
    bot: &str,
    (referrer, scheme): (&str, &str),
    (size, location): (&str, &str),
    date: &str,
) -> Vec<u8> {
    record(&[
        path, title, event, ua, browser, system, session, bot, referrer, scheme, size, location,
        "1", date,
    ])
}

const WINDOWS_CHROME: (&str, &str, &str) = ("", "Chrome 131", "Windows 10");
const NO_REFERRER: (&str, &str) = ("", "");

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
    gz.finish().unwrap_or_else(|e| panic!("{e}"))
}

/// Day 1 (14 March 2026, UTC) of a GoatCounter export; the line each row starts on is noted.
#[rustfmt::skip]
fn goatcounter_day1() -> Vec<u8> {
    let de = ("1920,0,1", "DE-BE");
    let mut file = format!("{GOATCOUNTER_HEADER}\n").into_bytes();
    for row in [
        // 2: Alice, from Google (a referrer GoatCounter grouped under a name).
        gc("/", "Home", "0", WINDOWS_CHROME, ALICE, "0", ("Google", "g"), de, "2026-03-14T10:00:00Z"),
        // 3-4: a title with a comma, quotes and a line break (titles are not stored).
        gc("/pricing", "Pricing, \"plans\"\nand more", "false", WINDOWS_CHROME, ALICE, "0", NO_REFERRER, de, "2026-03-14T10:05:00Z"),
        // 5: her custom event, titled.
        gc("signup-click", "Sign up, \"now\"", "1", WINDOWS_CHROME, ALICE, "0", NO_REFERRER, de, "2026-03-14T10:06:00Z"),
        // 6: three hours later, a second visit.
        gc("/docs", "Docs", "0", WINDOWS_CHROME, ALICE, "0", NO_REFERRER, de, "2026-03-14T13:00:00Z"),
        // 7-8: Bob, an older export that kept the user agent, from Reddit.
        gc("/blog/hello", "Hello", "0", (IPHONE_UA, "Safari 17.4", "iOS 17.4"), BOB, "0", ("www.reddit.com/r/rust", "h"), ("390,0,3", "US-CA"), "2026-03-14T18:00:00Z"),
        gc("/blog/second", "Second", "0", (IPHONE_UA, "Safari 17.4", "iOS 17.4"), BOB, "0", NO_REFERRER, ("390,0,3", "US-CA"), "2026-03-14T18:02:00Z"),
        // 9: malformed, no date.
        gc("/", "Home", "0", WINDOWS_CHROME, ALICE, "0", NO_REFERRER, de, "yesterday"),
    ] {
        file.extend(row);
    }
    // 10: malformed, three fields.
    file.extend_from_slice(b"/x,X,0\n");
    // 11: GoatCounter's own bot flag.
    file.extend(gc("/", "Home", "0", WINDOWS_CHROME, "eeee", "3", NO_REFERRER, de, "2026-03-14T19:00:00Z"));
    // 12: a blank line; 13: a crawler's user agent with the flag unset.
    file.extend_from_slice(b"\n");
    file.extend(gc("/", "Home", "0", (GOOGLEBOT, "", ""), "ffff", "0", NO_REFERRER, ("", ""), "2026-03-14T19:30:00Z"));
    // 14: malformed, Event is not a boolean.
    file.extend(gc("/", "Home", "maybe", WINDOWS_CHROME, ALICE, "0", NO_REFERRER, de, "2026-03-14T20:00:00Z"));
    file
}

/// Day 2 (15 March).
#[rustfmt::skip]
fn goatcounter_day2() -> Vec<u8> {
    let mac = ("", "Chrome 131", "macOS 14");
    let mut file = format!("{GOATCOUNTER_HEADER}\n").into_bytes();
    let long_path = format!("/{}", "a".repeat(2100));
    for row in [
        // 2: Carol, from a campaign.
        gc("/blog/hello", "Hello", "0", ("", "Firefox 133", "Linux"), CAROL, "0", ("newsletter", "c"), ("1440,0,1", "NL"), "2026-03-15T09:00:00Z"),
        // 3-4: Alice again, and an event GoatCounter stored with its slash.
        gc("/", "Home", "0", WINDOWS_CHROME, ALICE, "0", NO_REFERRER, ("1920,0,1", "DE-BE"), "2026-03-15T10:00:00Z"),
        gc("/download-pdf", "", "true", WINDOWS_CHROME, ALICE, "0", NO_REFERRER, ("1920,0,1", "DE-BE"), "2026-03-15T10:10:00Z"),
        // 5, 6: rows without a session: a visitor each.
        gc("/about", "About", "0", mac, "0", "0", NO_REFERRER, ("", ""), "2026-03-15T11:00:00Z"),
        gc("/about", "About", "0", mac, "", "0", NO_REFERRER, ("", ""), "2026-03-15T11:01:00Z"),
        // 7: Dave on an Android phone, from the Gmail app.
        gc("/contact", "Contact", "0", ("", "Chrome 120", "Android 14"), DAVE, "0", ("com.google.android.gm", "o"), ("412,0,2.625", "US-TX"), "2026-03-15T12:00:00Z"),
        // 8: invalid, a path longer than the collection parser takes.
        gc(&long_path, "Long", "0", WINDOWS_CHROME, DAVE, "0", NO_REFERRER, ("", ""), "2026-03-15T13:00:00Z"),
    ] {
        file.extend(row);
    }
    file
}

/// `footfall import --site example.com --format FORMAT ARGS`, run in `dir`.
fn import(db: &TestDb, dir: &Path, format: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["import", "--site", "example.com", "--format", format];
    all.extend_from_slice(args);
    footfall_in(db, dir, &all)
}

async fn setup(backend: Backend) -> Option<(TestDb, DynStore, footfall::domain::Site)> {
    let (store, db) = open_store(backend).await?;
    let site = add_site(&store, "example.com", "UTC").await;
    Some((db, store, site))
}

async fn stored(
    store: &DynStore,
    site: &footfall::domain::Site,
) -> (Vec<StoredEvent>, Vec<StoredSession>) {
    let events = store
        .recent_events(site.id, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sessions = store
        .recent_sessions(site.id, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (events, sessions)
}

/// Pageviews per path.
fn pages(events: &[StoredEvent]) -> BTreeMap<&str, usize> {
    let mut pages = BTreeMap::new();
    for e in events.iter().filter(|e| e.name == "pageview") {
        *pages.entry(e.path.as_str()).or_default() += 1;
    }
    pages
}

/// Visitors as the dashboard counts them: distinct per (UTC) day, summed.
fn visitors(events: &[StoredEvent]) -> usize {
    let days: BTreeSet<_> = events
        .iter()
        .map(|e| (e.created_at.date_naive(), e.visitor_id))
        .collect();
    days.len()
}

/// Events per referrer source.
fn sources(events: &[StoredEvent]) -> BTreeMap<&str, usize> {
    let mut sources = BTreeMap::new();
    for e in events {
        if let Some(source) = &e.referrer_source {
            *sources.entry(source.as_str()).or_default() += 1;
        }
    }
    sources
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The one stored event at `time`.
fn event<'a>(events: &'a [StoredEvent], time: &str) -> &'a StoredEvent {
    let found: Vec<_> = events.iter().filter(|e| e.created_at == at(time)).collect();
    assert_eq!(found.len(), 1, "events at {time}: {found:?}");
    found[0]
}

fn device(e: &StoredEvent) -> (&str, &str, &str, &str, &str) {
    (
        e.browser.as_str(),
        e.browser_version.as_str(),
        e.os.as_str(),
        e.os_version.as_str(),
        e.device.as_str(),
    )
}

async fn a_goatcounter_export_is_imported_with_its_visitors_events_and_sources(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("day1.csv"), goatcounter_day1())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("day2.csv.gz"), gzip(&goatcounter_day2()))
        .unwrap_or_else(|e| panic!("{e}"));

    // The later file first: they are merged by time. Small batches make the sessionizer
    // forget finished visits, so events out of order would split them.
    let output = import(
        &db,
        dir.path(),
        "goatcounter",
        &["--batch-size", "3", "day2.csv.gz", "day1.csv"],
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "day2.csv.gz: read 7 rows: imported 6, skipped 1 (invalid 1 at lines 8)",
            "day1.csv: read 11 rows: imported 6, skipped 5 (malformed 3 at lines 9, 10, 14, bot 2)",
            "total: read 18 rows: imported 12, skipped 6 (malformed 3, bot 2, invalid 1)",
        ],
        "\n{stdout}"
    );

    let (events, sessions) = stored(&store, &site).await;
    assert_eq!(events.len(), 12);
    let mut by_id: Vec<&StoredEvent> = events.iter().collect();
    by_id.sort_by_key(|e| e.id);
    assert!(
        by_id.windows(2).all(|w| w[0].created_at <= w[1].created_at),
        "events reached the writer in time order"
    );
    assert_eq!(
        pages(&events),
        BTreeMap::from([
            ("/", 2),
            ("/about", 2),
            ("/blog/hello", 2),
            ("/blog/second", 1),
            ("/contact", 1),
            ("/docs", 1),
            ("/pricing", 1),
        ])
    );
    // Day 1: Alice, Bob; day 2: Carol, Alice, two without a session, Dave.
    assert_eq!(visitors(&events), 7);
    // Alice's two visits of day 1, Bob's; day 2: one each.
    assert_eq!(sessions.len(), 8, "{sessions:?}");
    assert_eq!(
        sources(&events),
        BTreeMap::from([("Gmail", 1), ("Google", 1), ("Reddit", 1)])
    );

    let home = event(&events, "2026-03-14T10:00:00Z");
    assert_eq!(
        (home.referrer_source.as_deref(), home.referrer.as_deref()),
        (Some("Google"), None),
        "a group's name is the source; there is no URL to store"
    );
    assert_eq!(device(home), ("Chrome", "131", "Windows", "10", "desktop"));
    assert_eq!(
        (home.country.as_deref(), home.region.as_deref()),
        (Some("DE"), None)
    );
    let signup = event(&events, "2026-03-14T10:06:00Z");
    assert_eq!(
        (signup.name.as_str(), signup.path.as_str()),
        ("signup-click", "/")
    );
    assert_eq!(
        signup.props,
        Some(serde_json::json!({"title": "Sign up, \"now\""}))
    );
    assert_eq!(signup.visitor_id, home.visitor_id);
    assert_eq!(signup.session_id, home.session_id, "one visit");
    let docs = event(&events, "2026-03-14T13:00:00Z");
    assert_eq!(docs.visitor_id, home.visitor_id);
    assert_ne!(docs.session_id, home.session_id, "three hours later");

    let bob = event(&events, "2026-03-14T18:00:00Z");
    assert_eq!(device(bob), ("Safari", "17", "iOS", "17.4", "mobile"));
    assert_eq!(
        bob.referrer.as_deref(),
        Some("https://www.reddit.com/r/rust")
    );
    assert_eq!(bob.country.as_deref(), Some("US"));
    assert_eq!(
        bob.session_id,
        event(&events, "2026-03-14T18:02:00Z").session_id
    );

    let carol = event(&events, "2026-03-15T09:00:00Z");
    assert_eq!(carol.utm_source.as_deref(), Some("newsletter"));
    assert_eq!(carol.referrer_source, None);
    assert_eq!(device(carol), ("Firefox", "133", "Linux", "", "desktop"));
    let alice_again = event(&events, "2026-03-15T10:00:00Z");
    assert_ne!(
        alice_again.visitor_id, home.visitor_id,
        "ids do not link days"
    );
    let download = event(&events, "2026-03-15T10:10:00Z");
    assert_eq!(
        (download.name.as_str(), download.props.as_ref()),
        ("download-pdf", None)
    );
    assert_eq!(download.visitor_id, alice_again.visitor_id);
    assert_ne!(
        event(&events, "2026-03-15T11:00:00Z").visitor_id,
        event(&events, "2026-03-15T11:01:00Z").visitor_id,
        "rows without a session are visitors of their own"
    );
    let dave = event(&events, "2026-03-15T12:00:00Z");
    assert_eq!(device(dave), ("Chrome", "120", "Android", "14", "mobile"));
    assert_eq!(
        (dave.referrer_source.as_deref(), dave.referrer.as_deref()),
        (Some("Gmail"), Some("android-app://com.google.android.gm"))
    );
    let in_sessions: i64 = sessions.iter().map(|s| i64::from(s.events)).sum();
    assert_eq!(in_sessions, 12, "every event belongs to a visit");
    db.cleanup().await;
}

const UMAMI_HEADER: &[&str] = &[
    "event_id",
    "website_id",
    "session_id",
    "visit_id",
    "hostname",
    "browser",
    "os",
    "device",
    "screen",
    "language",
    "country",
    "region",
    "city",
    "url_path",
    "url_query",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "referrer_path",
    "referrer_query",
    "referrer_domain",
    "page_title",
    "event_type",
    "event_name",
    "tag",
    "distinct_id",
    "created_at",
];

/// A row of `UMAMI_HEADER` from the columns it sets; the rest are empty.
fn umami(set: &[(&str, &str)]) -> Vec<u8> {
    let fields: Vec<&str> = UMAMI_HEADER
        .iter()
        .map(|column| {
            set.iter()
                .find(|(name, _)| name == column)
                .map_or("", |(_, value)| *value)
        })
        .collect();
    let mut row = record(&fields);
    // Umami writes with Papa Parse: CRLF between rows.
    row.pop();
    row.extend_from_slice(b"\r\n");
    row
}

const WEBSITE: (&str, &str) = ("website_id", "02d89813-7a72-41e1-87f0-8d668f85008b");
const S1: (&str, &str) = ("session_id", "3b9a7e2c-1f4d-4e8b-9c6a-5d2e1f0a9b8c");
const S2: (&str, &str) = ("session_id", "7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f");
const S3: (&str, &str) = ("session_id", "0f1e2d3c-4b5a-4968-8776-655443322110");
const S4: (&str, &str) = ("session_id", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
const S5: (&str, &str) = ("session_id", "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716");
const PAGEVIEW: (&str, &str) = ("event_type", "1");
const MUNICH: [(&str, &str); 7] = [
    ("browser", "chrome"),
    ("os", "Windows 10"),
    ("device", "laptop"),
    ("screen", "1920x1080"),
    ("country", "DE"),
    ("region", "DE-BY"),
    ("city", "Munich"),
];

fn with(
    base: &[(&'static str, &'static str)],
    more: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    base.iter().chain(more).copied().collect()
}

/// A `website_event` export, its lines noted; the last row has no line break after it.
#[rustfmt::skip]
fn umami_export() -> Vec<u8> {
    let mut file = record(UMAMI_HEADER);
    file.pop();
    file.extend_from_slice(b"\r\n");
    let iphone = [("browser", "crios"), ("os", "iOS"), ("device", "mobile"), ("screen", "390x844"), ("country", "US")];
    let rows: Vec<Vec<(&str, &str)>> = vec![
        // 2-3: S1 from a newsletter, with a title across two lines; ClickHouse's time format.
        with(&MUNICH, &[WEBSITE, S1, PAGEVIEW, ("hostname", "example.com"), ("url_path", "/"), ("url_query", "utm_source=newsletter&utm_medium=email"), ("utm_source", "newsletter"), ("utm_medium", "email"), ("page_title", "Home, \"sweet\"\nhome"), ("created_at", "2026-03-14 08:00:00")]),
        // 4, 5: a page and a custom event on it.
        with(&MUNICH, &[WEBSITE, S1, PAGEVIEW, ("hostname", "example.com"), ("url_path", "/pricing"), ("created_at", "2026-03-14 08:03:00")]),
        with(&MUNICH, &[WEBSITE, S1, ("event_type", "2"), ("event_name", "Signup"), ("hostname", "example.com"), ("url_path", "/pricing"), ("created_at", "2026-03-14 08:04:00")]),
        // 6: S2 on an iPhone from Hacker News, ISO time.
        with(&iphone, &[WEBSITE, S2, PAGEVIEW, ("hostname", "www.example.com"), ("url_path", "/blog/post"), ("referrer_domain", "news.ycombinator.com"), ("referrer_path", "/item"), ("referrer_query", "id=42"), ("created_at", "2026-03-14T09:00:00.000Z")]),
        // 7, 8: a link event and a performance event.
        with(&iphone, &[WEBSITE, S2, ("event_type", "3"), ("url_path", "/blog/post"), ("created_at", "2026-03-14 09:01:00")]),
        with(&iphone, &[WEBSITE, S2, ("event_type", "5"), ("url_path", "/blog/post"), ("created_at", "2026-03-14 09:02:00")]),
        // 9: a crawler, as Umami names it.
        vec![WEBSITE, S3, PAGEVIEW, ("browser", "searchbot"), ("os", "Search Bot"), ("url_path", "/"), ("created_at", "2026-03-14 09:30:00")],
        // 10: invalid, another site's host.
        with(&MUNICH, &[WEBSITE, S4, PAGEVIEW, ("hostname", "evil.test"), ("url_path", "/"), ("created_at", "2026-03-14 10:00:00")]),
        // 11, 12: malformed time and event type.
        with(&MUNICH, &[WEBSITE, S4, PAGEVIEW, ("url_path", "/"), ("created_at", "not a date")]),
        with(&MUNICH, &[WEBSITE, S4, ("event_type", "7"), ("url_path", "/"), ("created_at", "2026-03-14 11:00:00")]),
        // 13: S5 the next day, Postgres's time format, a campaign only in its column.
        vec![WEBSITE, S5, PAGEVIEW, ("browser", "firefox"), ("os", "Linux"), ("device", "desktop"), ("country", "FR"), ("url_path", "/docs"), ("utm_campaign", "spring"), ("created_at", "2026-03-15 07:00:00+00")],
        // 14: malformed, a custom event without a name.
        vec![WEBSITE, S5, ("event_type", "2"), ("url_path", "/docs"), ("created_at", "2026-03-15 07:30:00+00")],
        // 15: S1 again on the next day.
        with(&MUNICH, &[WEBSITE, S1, PAGEVIEW, ("url_path", "/"), ("created_at", "2026-03-15 08:00:00")]),
    ];
    for row in rows {
        file.extend(umami(&row));
    }
    file.truncate(file.len() - 2);
    file
}

async fn an_umami_export_is_imported_with_its_columns_in_any_order(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("website_event.csv"), umami_export())
        .unwrap_or_else(|e| panic!("{e}"));
    let output = import(&db, dir.path(), "umami", &["website_event.csv"]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert_eq!(
        stdout.lines().next(),
        Some(
            "website_event.csv: read 13 rows: imported 6, skipped 7 (malformed 3 at lines 11, \
             12, 14, event_type 2, bot 1, invalid 1 at lines 10)"
        ),
        "\n{stdout}"
    );

    let (events, sessions) = stored(&store, &site).await;
    assert_eq!(events.len(), 6);
    assert_eq!(
        pages(&events),
        BTreeMap::from([("/", 2), ("/blog/post", 1), ("/docs", 1), ("/pricing", 1)])
    );
    // Day 1: S1 and S2; day 2: S5 and S1.
    assert_eq!(visitors(&events), 4);
    assert_eq!(sessions.len(), 4, "{sessions:?}");
    assert_eq!(sources(&events), BTreeMap::from([("Hacker News", 1)]));

    let home = event(&events, "2026-03-14T08:00:00Z");
    assert_eq!(
        (home.utm_source.as_deref(), home.utm_medium.as_deref()),
        (Some("newsletter"), Some("email"))
    );
    assert_eq!(device(home), ("Chrome", "", "Windows", "10", "desktop"));
    assert_eq!(
        (
            home.country.as_deref(),
            home.region.as_deref(),
            home.city.as_deref()
        ),
        (Some("DE"), None, Some("Munich"))
    );
    let signup = event(&events, "2026-03-14T08:04:00Z");
    assert_eq!(
        (signup.name.as_str(), signup.path.as_str()),
        ("Signup", "/pricing")
    );
    assert_eq!(signup.session_id, home.session_id);
    let post = event(&events, "2026-03-14T09:00:00Z");
    assert_eq!(post.hostname, "www.example.com");
    assert_eq!(device(post), ("Chrome", "", "iOS", "", "mobile"));
    assert_eq!(
        post.referrer.as_deref(),
        Some("https://news.ycombinator.com/item")
    );
    let docs = event(&events, "2026-03-15T07:00:00Z");
    assert_eq!(docs.utm_campaign.as_deref(), Some("spring"));
    assert_eq!(device(docs), ("Firefox", "", "Linux", "", "desktop"));
    let next_day = event(&events, "2026-03-15T08:00:00Z");
    assert_eq!(
        next_day.hostname, "example.com",
        "the site's, with no hostname"
    );
    assert_ne!(next_day.visitor_id, home.visitor_id, "ids do not link days");
    db.cleanup().await;
}

async fn a_file_of_another_format_is_refused_before_anything_is_stored(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).unwrap_or_else(|e| panic!("{e}"))
    };
    write("goatcounter.csv", &goatcounter_day1());
    write("umami.csv", &umami_export());
    write(
        "access.log",
        br#"203.0.113.1 - - [14/Mar/2026:10:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
    );
    write(
        "v1.csv",
        b"1Path,Title,Event,Bot,Session,FirstVisit,Referrer,Referrer scheme,Browser,Screen size,Location,Date\n",
    );
    write("empty.csv", b"");
    write(
        "no-type.csv",
        b"session_id,created_at,url_path\ns,2026-03-14 10:00:00,/\n",
    );

    // Each is refused, naming the file and what was expected; the good file given first is
    // not imported either.
    for (format, files, expected) in [
        (
            "umami",
            &["umami.csv", "goatcounter.csv"][..],
            "goatcounter.csv is not in the format asked for (--format umami): expected Umami's CSV export of website_event, whose header names the columns session_id, created_at, url_path, event_type; it has no session_id, created_at, url_path, event_type",
        ),
        (
            "goatcounter",
            &["goatcounter.csv", "umami.csv"][..],
            "umami.csv is not in the format asked for (--format goatcounter): expected a GoatCounter CSV export, whose first line is `2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date`; found `event_id,website_id,",
        ),
        (
            "goatcounter",
            &["access.log"][..],
            "access.log is not in the format asked for (--format goatcounter): expected a GoatCounter CSV export",
        ),
        (
            "goatcounter",
            &["v1.csv"][..],
            "v1.csv is not in the format asked for (--format goatcounter): it is a version 1 GoatCounter export; footfall reads version 2",
        ),
        (
            "umami",
            &["empty.csv"][..],
            "empty.csv is not in the format asked for (--format umami): the file is empty: Umami's CSV export of website_event starts with its header line",
        ),
        ("umami", &["no-type.csv"][..], "it has no event_type"),
    ] {
        let output = import(&db, dir.path(), format, files);
        let stderr = text(&output.stderr);
        assert!(
            !output.status.success(),
            "{format} {files:?}: {}",
            text(&output.stdout)
        );
        assert!(stderr.contains(expected), "{format} {files:?}:\n{stderr}");
    }
    let geoip = import(
        &db,
        dir.path(),
        "goatcounter",
        &["--geoip-db", "GeoLite2-City.mmdb", "goatcounter.csv"],
    );
    assert!(!geoip.status.success());
    assert!(
        text(&geoip.stderr).contains("--format goatcounter exports have none"),
        "{}",
        text(&geoip.stderr)
    );
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    db.cleanup().await;
}

/// The number after "imported " in a summary line.
fn imported(line: &str) -> i64 {
    line.split("imported ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}

async fn an_export_cut_short_keeps_the_rows_before_and_exits_non_zero(backend: Backend) {
    let Some((db, store, site)) = setup(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Cut inside the quoted title of the last row, and inside the last row's date.
    let mut quoted = goatcounter_day1();
    quoted.extend(gc(
        "/late",
        "Late, \"open",
        "0",
        WINDOWS_CHROME,
        ALICE,
        "0",
        NO_REFERRER,
        ("", ""),
        "2026-03-14T21:00:00Z",
    ));
    let open_at = quoted
        .windows(4)
        .rposition(|w| w == b"open")
        .map_or(0, |at| at + 4);
    std::fs::write(dir.path().join("quoted.csv"), &quoted[..open_at])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut dated = goatcounter_day1();
    dated.extend(gc(
        "/late",
        "Late",
        "0",
        WINDOWS_CHROME,
        ALICE,
        "0",
        NO_REFERRER,
        ("", ""),
        "2026-03-14T21:00:00Z",
    ));
    std::fs::write(dir.path().join("dated.csv"), &dated[..dated.len() - 6])
        .unwrap_or_else(|e| panic!("{e}"));

    for name in ["quoted.csv", "dated.csv"] {
        let output = import(&db, dir.path(), "goatcounter", &[name]);
        let stdout = text(&output.stdout);
        assert!(!output.status.success(), "{name}: {stdout}");
        assert!(
            text(&output.stderr).contains("incomplete"),
            "{}",
            text(&output.stderr)
        );
        // Day 1's rows, and the broken 15th as malformed.
        assert_eq!(
            stdout.lines().next(),
            Some(
                format!(
                    "{name}: read 12 rows: imported 6, skipped 6 (malformed 4 at lines 9, 10, \
                     14, 15, bot 2); reading stopped after line 15: the file ends inside the row \
                     at line 15: it was cut short"
                )
                .as_str()
            ),
            "\n{stdout}"
        );
    }
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        12
    );

    // A gzip export cut short: what was inflated before the cut is imported.
    let mut big = format!("{GOATCOUNTER_HEADER}\n").into_bytes();
    for i in 0..20_000 {
        let date = (at("2026-03-16T00:00:00Z") + chrono::TimeDelta::seconds(i)).to_rfc3339();
        let session = format!("{:x}", i % 300);
        big.extend(gc(
            &format!("/page/{i}"),
            "Page",
            "0",
            WINDOWS_CHROME,
            &session,
            "0",
            NO_REFERRER,
            ("", ""),
            &date,
        ));
    }
    let compressed = gzip(&big);
    std::fs::write(
        dir.path().join("export.csv.gz"),
        &compressed[..compressed.len() / 2],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = import(&db, dir.path(), "goatcounter", &["export.csv.gz"]);
    let stdout = text(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.contains("reading stopped after line"), "{stdout}");
    let count = imported(first);
    assert!(count > 1000 && count < 20_000, "{stdout}");
    assert_eq!(
        store
            .count_events(site.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        12 + count
    );
    db.cleanup().await;
}
