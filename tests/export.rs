//! CSV export over HTTP, on both backends: breakdowns equal the dashboard's numbers for every
//! dimension, raw events honour the period and both kinds of filter, hostile text from real
//! collection comes back intact but neutralised, and exports need the same login as the dashboard
//! (or a share link). CSV is read back with the `csv` crate, not with our own code.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, Page};
use footfall::stats::Dimension;
use support::known::{self, A, B};
use support::visits::{Profile, breakdown, contains, query, utc, visit, write};
use support::{Backend, CHROME_UA, Options, TestApp};

both_backends!(
    every_breakdown_exports_all_its_rows_with_the_dashboards_numbers,
    the_events_export_holds_the_events_of_the_period_and_filters,
    exports_stream_past_one_page_without_losing_or_repeating_rows,
    hostile_text_round_trips_through_the_export_neutralised_against_formulas,
    exports_need_a_login_or_a_share_link_and_name_bad_parameters,
    the_dashboard_links_each_table_and_the_events_to_their_export,
);

/// The known data set's two days, as a dashboard URL's query string.
const KNOWN_VIEW: &str = "period=custom&from=2026-06-10&to=2026-06-11";

/// A running app with the given sites and one user, and a browser logged in as them.
async fn app_with(
    backend: Backend,
    sites: Vec<(&'static str, &'static str)>,
) -> Option<(TestApp, Browser)> {
    let options = Options {
        sites,
        ..Options::default()
    };
    let app = TestApp::spawn(backend, options).await?;
    let browser = browser::log_in_owner(&app).await;
    Some((app, browser))
}

/// An app with no sites yet (the test adds its data set), logged in.
async fn logged_in(backend: Backend) -> Option<(TestApp, Browser)> {
    app_with(backend, Vec::new()).await
}

async fn stop(app: TestApp) {
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

/// Parses a CSV body into its header and records, failing on anything that is not RFC 4180.
fn parse_csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let header = reader
        .headers()
        .unwrap_or_else(|e| panic!("CSV header: {e}\n{body}"))
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("CSV record: {e}\n{body}"))
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    (header, records)
}

/// GETs an export and checks it is a CSV download.
async fn csv_get(browser: &mut Browser, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    assert_eq!(
        page.header("content-type"),
        Some("text/csv; charset=utf-8"),
        "{path}"
    );
    assert!(page.body.ends_with("\r\n"), "{path}: records end with CRLF");
    parse_csv(&page.body)
}

/// The column `name` of every record.
fn column(header: &[String], records: &[Vec<String>], name: &str) -> Vec<String> {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    records.iter().map(|r| r[i].clone()).collect()
}

fn lines_of(records: &[Vec<String>]) -> Vec<(String, i64, i64, i64)> {
    let n = |s: &String| s.parse::<i64>().unwrap_or_else(|e| panic!("{s:?}: {e}"));
    records
        .iter()
        .map(|r| (r[0].clone(), n(&r[1]), n(&r[2]), n(&r[3])))
        .collect()
}

async fn every_breakdown_exports_all_its_rows_with_the_dashboards_numbers(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let site = known::populate(&app.store).await;
    let dims = Dimension::FIXED.iter().cloned().chain([
        Dimension::Prop("plan".into()),
        Dimension::Prop("url".into()),
    ]);
    for filters in ["", "&f=country:is:DE", "&f=page:is:/pricing"] {
        let parsed = footfall::dashboard::params::parse(
            &url::form_urlencoded::parse(format!("{KNOWN_VIEW}{filters}").as_bytes())
                .into_owned()
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let q = query(&site, A, B, parsed.filters);
        for dim in dims.clone() {
            let path = format!("/sites/example.com/export/{dim}.csv?{KNOWN_VIEW}{filters}");
            let (header, records) = csv_get(&mut browser, &path).await;
            assert_eq!(
                header,
                [dim.to_string().as_str(), "visitors", "pageviews", "events"]
            );
            let expected: Vec<(String, i64, i64, i64)> = breakdown(&app.store, &q, dim.clone())
                .await
                .into_iter()
                .map(|(v, a, b, c)| (v.unwrap_or_default(), a, b, c))
                .collect();
            assert_eq!(lines_of(&records), expected, "{path}");
        }
    }
    // And against numbers worked out by hand (tests/support/known.rs), so a store bug that the
    // export copies cannot hide.
    let (_, records) = csv_get(
        &mut browser,
        &format!("/sites/example.com/export/source.csv?{KNOWN_VIEW}"),
    )
    .await;
    let s = |v: &str| v.to_owned();
    assert_eq!(
        lines_of(&records),
        [
            (s("Google"), 2, 5, 6),
            (s(""), 2, 2, 2),
            (s("Bing"), 1, 2, 2),
            (s("Hacker News"), 1, 1, 2),
        ]
    );
    let (_, records) = csv_get(
        &mut browser,
        &format!("/sites/example.com/export/prop:plan.csv?{KNOWN_VIEW}"),
    )
    .await;
    assert_eq!(lines_of(&records), [(s("pro"), 1, 0, 1)]);
    stop(app).await;
}

async fn the_events_export_holds_the_events_of_the_period_and_filters(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    known::populate(&app.store).await;
    let base = "/sites/example.com/export/events.csv";
    let page = browser.get(&format!("{base}?{KNOWN_VIEW}")).await;
    assert_eq!(
        page.header("content-disposition"),
        Some("attachment; filename=\"example.com-events-2026-06-10-2026-06-11.csv\"")
    );
    let (header, records) = parse_csv(&page.body);
    assert_eq!(
        header,
        footfall::export::EVENT_COLUMNS.map(str::to_owned).to_vec()
    );
    assert_eq!(records.len(), 12);
    let ids: Vec<i64> = column(&header, &records, "id")
        .iter()
        .map(|id| id.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "by id: {ids:?}");
    // The first event, every column.
    let first: Vec<(&str, &str)> = header
        .iter()
        .map(String::as_str)
        .zip(records[0].iter().map(String::as_str))
        .filter(|(h, _)| !matches!(*h, "id" | "visitor_id" | "session_id"))
        .collect();
    assert_eq!(
        first,
        [
            ("created_at", "2026-06-10T10:00:00Z"),
            ("name", "pageview"),
            ("hostname", "example.com"),
            ("path", "/"),
            ("referrer", "https://www.google.com/"),
            ("referrer_source", "Google"),
            ("utm_source", ""),
            ("utm_medium", ""),
            ("utm_campaign", ""),
            ("utm_content", ""),
            ("utm_term", ""),
            ("browser", "Chrome"),
            ("browser_version", "131"),
            ("os", "Windows"),
            ("os_version", "10"),
            ("device", "desktop"),
            ("country", "DE"),
            ("region", "Berlin"),
            ("city", "Berlin"),
            ("viewport_width", "1280"),
            ("props", ""),
            ("revenue_micros", ""),
            ("revenue_currency", ""),
            ("engaged_ms", ""),
            ("scroll_depth", ""),
        ]
    );
    assert_eq!(
        column(&header, &records, "props")
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap_or_default())
            .collect::<Vec<_>>(),
        [
            serde_json::json!({"plan": "pro"}),
            serde_json::json!({"url": "https://github.com/x"})
        ]
    );

    // Period (local days of Europe/Berlin) and filters, as on the dashboard.
    for (view, times) in [
        // Day A ends at 22:00 UTC: visit 4's second event and visit 5 are on day B.
        (
            "period=custom&from=2026-06-10&to=2026-06-10",
            &[
                "10:00", "10:02", "10:05", "10:06", "14:00", "18:00", "18:01", "21:50",
            ][..],
        ),
        // Day B starts after the table's first events: the scan starts at the range's first id.
        (
            "period=custom&from=2026-06-11&to=2026-06-11",
            &["22:10", "23:30", "09:00", "09:03"],
        ),
        // Session-level: every event of the visits that came from Google.
        (
            "f=source:is:Google",
            &["10:00", "10:02", "10:05", "10:06", "21:50", "22:10"],
        ),
        // Event-level: the matching events only.
        (
            "f=page:is:/pricing",
            &["10:02", "10:05", "14:00", "22:10", "09:03"],
        ),
        (
            "f=source:is:Google&f=page:is:/pricing",
            &["10:02", "10:05", "22:10"],
        ),
        ("f=event_name:is:Signup", &["10:05"]),
        ("f=prop:url:contains:GITHUB", &["18:01"]),
        ("f=source:is:", &["14:00", "23:30"]),
        ("f=country:is:NZ", &[]),
    ] {
        let path = if view.starts_with("period") {
            format!("{base}?{view}")
        } else {
            format!("{base}?{KNOWN_VIEW}&{view}")
        };
        let (header, records) = csv_get(&mut browser, &path).await;
        let got: Vec<String> = column(&header, &records, "created_at")
            .iter()
            .map(|t| t[11..16].to_owned())
            .collect();
        assert_eq!(got, times, "{view}");
    }
    stop(app).await;
}

async fn exports_stream_past_one_page_without_losing_or_repeating_rows(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let site = support::visits::add_site(&app.store, "example.com", "UTC").await;
    let n = footfall::export::EVENTS_PAGE as usize + 3;
    let profile = Profile {
        browser: ("Firefox", "133"),
        os: ("Linux", ""),
        device: "desktop",
        ..Profile::default()
    };
    let start = utc("2026-03-02 00:00");
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let at = start + chrono::TimeDelta::seconds(i as i64);
        let path = format!("/p/{i}");
        events.extend(visit(
            &site,
            i as i64,
            &profile,
            &[(at, "pageview", &path, &[])],
        ));
    }
    write(&app.store, events, 1000).await;
    let view = "period=custom&from=2026-03-02&to=2026-03-02";

    let (header, records) = csv_get(
        &mut browser,
        &format!("/sites/example.com/export/events.csv?{view}"),
    )
    .await;
    let mut paths = column(&header, &records, "path");
    assert_eq!(paths.len(), n);
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), n, "no event twice");

    let (_, records) = csv_get(
        &mut browser,
        &format!("/sites/example.com/export/page.csv?{view}"),
    )
    .await;
    let mut pages: Vec<String> = records.iter().map(|r| r[0].clone()).collect();
    assert_eq!(pages.len(), n);
    pages.sort();
    pages.dedup();
    assert_eq!(pages.len(), n, "no row twice");

    // The store pages by id: small pages concatenate to the whole answer.
    let q = query(
        &site,
        "2026-03-02",
        "2026-03-02",
        vec![contains(Dimension::Page, "/p/1")],
    );
    let whole = app
        .store
        .events_page(&q, 0, 100_000)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = app
            .store
            .events_page(&q, after, 7)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let Some(last) = page.last() else { break };
        after = last.id;
        paged.extend(page);
    }
    assert_eq!(whole.len(), 1 + 10 + 100 + 1000);
    assert_eq!(paged, whole);
    stop(app).await;
}

async fn hostile_text_round_trips_through_the_export_neutralised_against_formulas(
    backend: Backend,
) {
    let Some((app, mut browser)) = app_with(backend, vec![("example.com", "UTC")]).await else {
        return;
    };
    let body = serde_json::json!({
        "n": "=1+2",
        "u": "https://example.com/a,b;c?utm_source=%3DHYPERLINK(%22http://evil%22)\
              &utm_medium=%40import&utm_campaign=-2%2B3&utm_term=a,%22b%22&utm_content=Z%C3%BCrich%20%E6%9D%B1%E4%BA%AC",
        "d": "example.com",
        "p": {
            "formula": "=cmd|' /C calc'!A0",
            "comma": "a,b",
            "quote": "say \"hi\"",
            "lines": "one\r\ntwo\nthree",
            "plus": "+49 30 1234",
            "tab": "\tindent",
            "unicode": "Grüße 🙂",
            "odd key/with space": "x"
        }
    })
    .to_string();
    assert_eq!(app.post_event(&body, CHROME_UA).await.status(), 202);
    app.wait_for_events("example.com", 1).await;

    let (header, records) = csv_get(
        &mut browser,
        "/sites/example.com/export/events.csv?period=today",
    )
    .await;
    assert_eq!(records.len(), 1);
    let get = |name: &str| column(&header, &records, name).remove(0);
    assert_eq!(get("name"), "'=1+2");
    assert_eq!(get("path"), "/a,b;c");
    assert_eq!(get("utm_source"), "'=HYPERLINK(\"http://evil\")");
    assert_eq!(get("utm_medium"), "'@import");
    assert_eq!(get("utm_campaign"), "'-2+3");
    assert_eq!(get("utm_term"), "a,\"b\"");
    assert_eq!(get("utm_content"), "Zürich 東京");
    // Props stay one JSON cell (it starts with `{`, so it needs no neutralising).
    let props: serde_json::Value =
        serde_json::from_str(&get("props")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(props["formula"], "=cmd|' /C calc'!A0");
    // Line breaks and tabs in visitor values become spaces (`domain::strip_hidden_chars`).
    assert_eq!(props["lines"], "one two three");

    for (key, expected) in [
        ("formula", "'=cmd|' /C calc'!A0"),
        ("comma", "a,b"),
        ("quote", "say \"hi\""),
        ("lines", "one two three"),
        ("plus", "'+49 30 1234"),
        ("tab", " indent"),
        ("unicode", "Grüße 🙂"),
    ] {
        let (header, records) = csv_get(
            &mut browser,
            &format!("/sites/example.com/export/prop:{key}.csv?period=today"),
        )
        .await;
        assert_eq!(header[0], format!("prop:{key}"));
        assert_eq!(
            records,
            [vec![
                expected.to_owned(),
                "1".into(),
                "0".into(),
                "1".into()
            ]],
            "prop:{key}"
        );
    }
    // A prop key that is no URL path segment as it stands, as the dashboard links it.
    let href = footfall::dashboard::export::href(
        "/sites/example.com",
        "prop:odd key/with space",
        "period=today",
    );
    let (header, records) = csv_get(&mut browser, &href).await;
    assert_eq!(header[0], "prop:odd key/with space");
    assert_eq!(records[0][0], "x");
    let (_, records) = csv_get(
        &mut browser,
        "/sites/example.com/export/utm_campaign.csv?period=today",
    )
    .await;
    assert_eq!(records[0][0], "'-2+3");
    stop(app).await;
}

fn assert_json_error(page: &Page, status: u16, mentions: &str, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.body);
    let body: serde_json::Value =
        serde_json::from_str(&page.body).unwrap_or_else(|e| panic!("{what}: {e}: {}", page.body));
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(mentions),
        "{what}: {message:?} should mention {mentions:?}"
    );
}

async fn exports_need_a_login_or_a_share_link_and_name_bad_parameters(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    let site = known::populate(&app.store).await;
    let mut anon = Browser::new(&app.address);
    for path in [
        "/sites/example.com/export/events.csv",
        "/sites/example.com/export/page.csv?period=7d",
        "/sites/nowhere.org/export/page.csv",
    ] {
        let page = anon.get(path).await;
        assert!(
            page.status == 303 && page.location().is_some_and(|l| l.starts_with("/login")),
            "{path}: expected a redirect to /login, got {} {:?}",
            page.status,
            page.location()
        );
        assert!(!page.body.contains("pricing"), "{path} leaked data");
    }

    let base = "/sites/example.com/export";
    for (path, mentions) in [
        (
            format!("{base}/events.csv?f=planet:is:mars"),
            "unknown dimension",
        ),
        (format!("{base}/events.csv?f=page"), "filter"),
        (format!("{base}/page.csv?period=forever"), "unknown period"),
        (
            format!("{base}/page.csv?period=custom&from=2026-13-01&to=2026-06-01"),
            "from",
        ),
        (format!("{base}/planet.csv"), "property \"planet\""),
        (format!("{base}/page.json"), "PROPERTY.csv"),
    ] {
        let page = browser.get(&path).await;
        assert_json_error(&page, 400, mentions, &path);
    }
    let page = browser.get("/sites/nowhere.org/export/page.csv").await;
    assert_json_error(&page, 404, "unknown site", "unknown site");

    // A share link exports what it shows, and nothing once revoked.
    let (link, token) = footfall::auth::share::create_link(app.store.as_ref(), site.id)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let shared = format!("/share/{token}/export/events.csv?{KNOWN_VIEW}&f=source:is:Google");
    let page = anon.get(&shared).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    let own = browser
        .get(&format!(
            "{base}/events.csv?{KNOWN_VIEW}&f=source:is:Google"
        ))
        .await;
    // The same events, without anything that follows one visitor.
    let (public_header, public_rows) = parse_csv(&page.body);
    let (own_header, own_rows) = parse_csv(&own.body);
    assert_eq!(public_rows.len(), 6);
    assert_eq!(public_header, footfall::export::PUBLIC_EVENT_COLUMNS);
    for private in [
        "id",
        "visitor_id",
        "session_id",
        "referrer",
        "city",
        "region",
        "viewport_width",
        "props",
        "revenue_micros",
        "revenue_currency",
        "engaged_ms",
        "scroll_depth",
    ] {
        assert!(
            !public_header.iter().any(|c| c == private),
            "a share link exports {private}"
        );
    }
    let projected: Vec<Vec<String>> = own_rows
        .iter()
        .map(|row| {
            public_header
                .iter()
                .map(|name| {
                    let at = own_header
                        .iter()
                        .position(|c| c == name)
                        .unwrap_or_else(|| panic!("{name}"));
                    row[at].clone()
                })
                .collect()
        })
        .collect();
    assert_eq!(public_rows, projected);
    // Breakdowns are counts: a share link gets them whole.
    let shared_pages = anon
        .get(&format!("/share/{token}/export/page.csv?{KNOWN_VIEW}"))
        .await;
    let own_pages = browser.get(&format!("{base}/page.csv?{KNOWN_VIEW}")).await;
    assert_eq!(shared_pages.status, 200);
    assert_eq!(shared_pages.body, own_pages.body);
    let page = anon.get(&format!("/share/{token}/export/bogus.csv")).await;
    assert_json_error(&page, 400, "property", "shared, bad property");
    app.store
        .revoke_share_link(site.id, link.id)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_json_error(&anon.get(&shared).await, 404, "unknown site", "revoked");
    assert_json_error(
        &anon.get("/share/not-a-token/export/events.csv").await,
        404,
        "unknown site",
        "bad token",
    );
    stop(app).await;
}

async fn the_dashboard_links_each_table_and_the_events_to_their_export(backend: Backend) {
    let Some((app, mut browser)) = logged_in(backend).await else {
        return;
    };
    known::populate(&app.store).await;
    let view = format!("{KNOWN_VIEW}&f=country:is:DE");
    let page = browser.get(&format!("/sites/example.com?{view}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let links: Vec<String> = page
        .body
        .match_indices("href=\"/sites/example.com/export/")
        .map(|(i, m)| {
            let rest = &page.body[i + m.len() - "/sites/example.com/export/".len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].replace("&#38;", "&")
        })
        .collect();
    let query = "?period=custom&from=2026-06-10&to=2026-06-11&f=country%3Ais%3ADE";
    for what in [
        "events",
        "page",
        "entry_page",
        "exit_page",
        "source",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "country",
        "region",
        "city",
        "browser",
        "browser_version",
        "os",
        "device",
        "event_name",
        "prop:plan",
        "prop:url",
    ] {
        let link = format!("/sites/example.com/export/{what}.csv{query}");
        assert!(links.contains(&link), "no link {link} in {links:#?}");
    }
    // Following a link gives the filtered view's rows: the one DE visitor made both visits.
    let (_, records) = csv_get(
        &mut browser,
        &format!("/sites/example.com/export/source.csv{query}"),
    )
    .await;
    let s = |v: &str| v.to_owned();
    assert_eq!(
        lines_of(&records),
        [(s("Google"), 1, 3, 4), (s("Hacker News"), 1, 1, 2)]
    );
    stop(app).await;
}
