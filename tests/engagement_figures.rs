//! Engagement figures on the dashboard (issue 14): the pages table's "Time on page" and "Scroll
//! depth" (means over the pageviews that reported figures) and the top figure "Engaged time per
//! visit" (engaged time of the view's pageviews ÷ its visits), hand-computed on a small data set,
//! on SQLite and Postgres, through the real server and HTTP:
//! - today's figures, raised by updates that arrive after the dashboard first read the day (the
//!   query engine's open days follow the engagement log);
//! - closed days, whose segments the builder made before a late update came and made again after
//!   it (the builder follows the log too), read by the engine and by raw SQL alike.

#[path = "support/browser.rs"]
mod browser;
#[macro_use]
mod support;

use chrono::{DateTime, Days, TimeDelta, Utc};
use footfall::domain::{Engagement, Figures, Hit, Site};
use footfall::ingest::logic::{SESSION_TIMEOUT, Sessionizer};
use footfall::stats::{Dimension, EngagementSums, StatsQuery};
use footfall::store::{DynStore, build_pending};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use support::visits::{Profile, visit};
use support::{Backend, CHROME_UA, IPHONE_UA, Options, TestApp, open_store, pageview};

both_backends!(
    todays_figures_follow_updates_that_arrive_after_the_dashboard_read_the_day,
    closed_days_are_rebuilt_when_a_late_update_raises_their_figures,
);

const FIREFOX_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

fn update(path: &str, ms: u32, depth: u32) -> String {
    format!(
        r#"{{"n":"engagement","u":"https://example.com{path}","d":"example.com","e":{ms},"s":{depth}}}"#
    )
}

async fn post(app: &TestApp, body: &str, user_agent: &str) {
    let response = app.post_event(body, user_agent).await;
    assert_eq!(response.status(), 202, "{body}");
}

async fn wait_for_updates(app: &TestApp, n: u64) {
    for _ in 0..250 {
        if app.metrics.engagement_updates.load(Relaxed) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} engagement updates applied");
}

/// The cells of the pages table's row for `path` (label excluded), or of its headings.
fn page_row(body: &str, path: &str) -> Vec<String> {
    let table = section(body, r#"aria-label="Page""#, "</table>");
    let at = table
        .find(&format!(">{path}</a>"))
        .unwrap_or_else(|| panic!("{path} missing from:\n{table}"));
    let row = &table[at..];
    cells(
        &row[..row.find("</tr>").unwrap_or(row.len())],
        "<td class=\"num\">",
    )
}

fn page_headings(body: &str) -> Vec<String> {
    let table = section(body, r#"aria-label="Page""#, "</thead>");
    cells(table, "<th scope=\"col\" class=\"num\"")
        .into_iter()
        .map(|h| h.split_once('>').map_or(h.clone(), |(_, t)| t.to_owned()))
        .collect()
}

fn cells(html: &str, open: &str) -> Vec<String> {
    html.split(open)
        .skip(1)
        .map(|c| c[..c.find("</t").unwrap_or(c.len())].to_owned())
        .collect()
}

fn section<'a>(body: &'a str, marker: &str, end: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in:\n{body}"));
    let rest = &body[start..];
    &rest[..rest.find(end).map_or(rest.len(), |e| e + end.len())]
}

/// The top figure labelled `label`, if shown.
fn top_figure(body: &str, label: &str) -> Option<String> {
    let at = body.find(&format!(r#"<div class="stat-label">{label}</div>"#))?;
    let rest = &body[at..];
    let value = rest.split(r#"<div class="stat-value">"#).nth(1)?;
    Some(value[..value.find("</div>")?].to_owned())
}

async fn todays_figures_follow_updates_that_arrive_after_the_dashboard_read_the_day(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    // Three visits: A views /a and /b, B views /a, C views /c and reports nothing (the default
    // script).
    for (path, ua) in [
        ("/a", CHROME_UA),
        ("/b", CHROME_UA),
        ("/a", IPHONE_UA),
        ("/c", FIREFOX_UA),
    ] {
        post(&app, &pageview(path), ua).await;
    }
    app.wait_for_events("example.com", 4).await;
    let mut browser = browser::log_in_owner(&app).await;
    let page = browser.get("/sites/example.com").await;
    assert_eq!(page.status, 200, "{}", page.body);
    // Nothing measured yet: no engagement columns, no engaged time.
    assert_eq!(page_headings(&page.body), ["Visitors", "Pageviews"]);
    assert_eq!(top_figure(&page.body, "Engaged time per visit"), None);
    assert_eq!(top_figure(&page.body, "Visits").as_deref(), Some("3"));

    // B's second update raises its figures (41 s and 80% in all for /a).
    for (path, ms, depth, ua) in [
        ("/a", 10_000, 50, CHROME_UA),
        ("/b", 20_000, 100, CHROME_UA),
        ("/a", 30_000, 70, IPHONE_UA),
        ("/a", 31_000, 80, IPHONE_UA),
    ] {
        post(&app, &update(path, ms, depth), ua).await;
    }
    wait_for_updates(&app, 4).await;
    // Past the engine's freshness bound (half a second), so that the next question reads the
    // open days again.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let page = browser.get("/sites/example.com").await;
    assert_eq!(
        page_headings(&page.body),
        [
            "Visitors",
            "Pageviews",
            r#"Time on page <span class="note">(mean)</span>"#,
            r#"Scroll depth <span class="note">(mean)</span>"#
        ]
    );
    // /a: (10 s + 31 s) / 2 = 20.5 s, (50 + 80) / 2 = 65%; /b: 20 s, 100%; /c: none reported.
    assert_eq!(page_row(&page.body, "/a"), ["2", "2", "21s", "65%"]);
    assert_eq!(page_row(&page.body, "/b"), ["1", "1", "20s", "100%"]);
    assert_eq!(page_row(&page.body, "/c"), ["1", "1", "–", "–"]);
    // 61 s over 3 visits.
    assert_eq!(
        top_figure(&page.body, "Engaged time per visit").as_deref(),
        Some("20s")
    );
    // Filtered to /a: 41 s over its 2 visits.
    let page = browser.get("/sites/example.com?f=page%3Ais%3A%2Fa").await;
    assert_eq!(
        top_figure(&page.body, "Engaged time per visit").as_deref(),
        Some("21s")
    );
    assert_eq!(page_row(&page.body, "/a"), ["2", "2", "21s", "65%"]);
    // Filtered to the iPhone's visit, by a visit attribute: 31 s over 1 visit.
    let page = browser.get("/sites/example.com?f=os%3Ais%3AiOS").await;
    assert_eq!(
        top_figure(&page.body, "Engaged time per visit").as_deref(),
        Some("31s")
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

/// Writes hits through one sessionizer, as the writer does.
async fn write(store: &DynStore, sessions: &mut Sessionizer, hits: Vec<Hit>) {
    store
        .write_batch(Arc::new(sessions.assign_hits(hits)))
        .await
        .unwrap_or_else(|e| panic!("writing a batch: {e}"));
}

fn engagement(site: &Site, event: &footfall::domain::Event, ms: i64, depth: i64) -> Hit {
    Hit::Engagement(Engagement {
        site_id: site.id,
        created_at: event.created_at + TimeDelta::seconds(5),
        visitor_id: event.visitor_id,
        path: event.path.clone(),
        figures: Figures::from_stored(ms, depth).unwrap_or_else(|e| panic!("{e}")),
    })
}

async fn closed_days_are_rebuilt_when_a_late_update_raises_their_figures(backend: Backend) {
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    let site = support::add_site(&store, "example.com", "UTC").await;
    let now = Utc::now();
    let day = |ago: u64| -> DateTime<Utc> {
        (now.date_naive() - Days::new(ago))
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default()
            .and_utc()
    };
    let profile = Profile::default();
    // Three days ago: two visits, /x (12 s, 30%) then /y (8 s, 90%); and /x (20 s, 60%).
    // Two days ago: one visit on /x that reports nothing yet.
    let first = visit(
        &site,
        1,
        &profile,
        &[
            (day(3), "pageview", "/x", &[]),
            (day(3) + TimeDelta::seconds(60), "pageview", "/y", &[]),
        ],
    );
    let second = visit(
        &site,
        2,
        &profile,
        &[(day(3) + TimeDelta::hours(2), "pageview", "/x", &[])],
    );
    let third = visit(&site, 3, &profile, &[(day(2), "pageview", "/x", &[])]);
    let mut sessions = Sessionizer::new(SESSION_TIMEOUT, 0, []);
    let mut hits = Vec::new();
    for (event, ms, depth) in [(&first[0], 12_000, 30), (&first[1], 8_000, 90)] {
        hits.push(Hit::Event(event.clone()));
        hits.push(engagement(&site, event, ms, depth));
    }
    hits.push(Hit::Event(second[0].clone()));
    hits.push(engagement(&site, &second[0], 20_000, 60));
    hits.push(Hit::Event(third[0].clone()));
    write(&store, &mut sessions, hits).await;
    build_pending(&*store)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    let query = StatsQuery {
        site: site.id,
        timezone: site.timezone,
        from: now.date_naive() - Days::new(6),
        to: now.date_naive(),
        filters: Vec::new(),
    };
    let sums = |pageviews, engaged_ms, scroll| EngagementSums {
        pageviews,
        engaged_ms,
        scroll,
    };
    let by_page = |store: DynStore, query: StatsQuery| async move {
        let mut rows = store
            .engagement(&query, Some(&Dimension::Page))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    };
    assert_eq!(
        by_page(store.clone(), query.clone()).await,
        [
            (Some("/x".to_owned()), sums(2, 32_000, 90)),
            (Some("/y".to_owned()), sums(1, 8_000, 90)),
        ]
    );
    // The third visit's tab comes back and reports, after its day was built.
    write(
        &store,
        &mut sessions,
        vec![engagement(&site, &third[0], 40_000, 100)],
    )
    .await;
    let report = build_pending(&*store)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(report.days, 1, "the late update's day is built again");
    let expected = [
        (Some("/x".to_owned()), sums(3, 72_000, 190)),
        (Some("/y".to_owned()), sums(1, 8_000, 90)),
    ];
    assert_eq!(by_page(store.clone(), query.clone()).await, expected);
    let raw = footfall::store::connect_with(&db.url, false)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(by_page(raw.clone(), query.clone()).await, expected);
    assert_eq!(
        raw.engagement(&query, None).await.ok(),
        Some(vec![(None, sums(4, 80_000, 280))])
    );
    drop((raw, store));

    // And on the dashboard of a server started on that database.
    let app = TestApp::spawn_on(
        db,
        Options {
            sites: Vec::new(),
            ..Options::default()
        },
    )
    .await;
    let mut browser = browser::log_in_owner(&app).await;
    let page = browser.get("/sites/example.com?period=7d").await;
    assert_eq!(page.status, 200, "{}", page.body);
    // /x: 72 s / 3 = 24 s, 190 / 3 = 63%; /y: 8 s, 90%; 80 s over 3 visits = 27 s.
    assert_eq!(page_row(&page.body, "/x"), ["3", "3", "24s", "63%"]);
    assert_eq!(page_row(&page.body, "/y"), ["1", "1", "8s", "90%"]);
    assert_eq!(
        top_figure(&page.body, "Engaged time per visit").as_deref(),
        Some("27s")
    );
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
