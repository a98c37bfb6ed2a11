//! Date ranges on every entry point but the API (which has its own tests), on both backends: the
//! dashboard, share pages and exports refuse what the stats API refuses, with a 400 page (HTML)
//! or a 400 JSON error (exports) naming the bound; and long ranges draw a coarser chart, weeks or
//! months, so the longest allowed range has a bounded number of points.

#[path = "support/browser.rs"]
mod browser;
mod support;

use browser::{Browser, Page};
use chrono::{Days, Utc};
use support::{Backend, CHROME_UA, Options, TestApp, pageview};

both_backends!(
    ranges_beyond_the_bounds_get_a_400_naming_them_on_every_page_and_export,
    long_ranges_draw_weeks_or_months_with_a_bounded_number_of_bars,
);

async fn stop(app: TestApp) {
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

fn assert_bad_range_page(page: &Page, bound: &str, what: &str) {
    assert_eq!(page.status, 400, "{what}: {}", page.body);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{what}"
    );
    assert!(page.body.contains(bound), "{what}: {}", page.body);
}

fn assert_bad_range_json(page: &Page, bound: &str, what: &str) {
    assert_eq!(page.status, 400, "{what}: {}", page.body);
    let json: serde_json::Value = serde_json::from_str(&page.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", page.body));
    let message = json["error"].as_str().unwrap_or_default();
    assert!(message.contains(bound), "{what}: {}", page.body);
}

async fn ranges_beyond_the_bounds_get_a_400_naming_them_on_every_page_and_export(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    let site = app.site("example.com").await;
    let (_, token) = footfall::auth::share::create_link(app.store.as_ref(), site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut anon = Browser::new(&app.address);
    let years = "between 1970-01-01 and 2999-12-31";
    let span = "at most 3660 days";
    for (range, bound) in [
        ("from=0001-01-01&to=9999-12-31", years),
        ("period=custom&from=1969-12-31&to=2026-01-01", years),
        ("from=2016-01-01&to=2026-01-08", span),
    ] {
        // The share link: one anonymous request must not be able to ask for centuries.
        let shared = format!("/share/{token}?{range}");
        assert_bad_range_page(&anon.get(&shared).await, bound, &shared);
        let dashboard = format!("/sites/example.com?{range}");
        assert_bad_range_page(&browser.get(&dashboard).await, bound, &dashboard);
        for export in [
            format!("/share/{token}/export/events.csv?{range}"),
            format!("/share/{token}/export/page.csv?{range}"),
            format!("/sites/example.com/export/events.csv?{range}"),
            format!("/sites/example.com/export/source.csv?{range}"),
        ] {
            let page = if export.starts_with("/share") {
                anon.get(&export).await
            } else {
                browser.get(&export).await
            };
            assert_bad_range_json(&page, bound, &export);
        }
    }
    // The longest allowed range is allowed everywhere.
    let longest = "from=2016-01-01&to=2026-01-07";
    assert_eq!(
        anon.get(&format!("/share/{token}?{longest}")).await.status,
        200
    );
    let export = browser
        .get(&format!("/sites/example.com/export/events.csv?{longest}"))
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    stop(app).await;
}

/// The `<title>`s of the chart's bars, in order.
fn bar_titles(page: &Page) -> Vec<String> {
    page.body
        .split("<rect class=\"bar\"")
        .skip(1)
        .map(|bar| {
            let start = bar.find("<title>").map_or(0, |i| i + "<title>".len());
            let end = bar.find("</title>").unwrap_or(start);
            bar[start..end].to_owned()
        })
        .collect()
}

async fn long_ranges_draw_weeks_or_months_with_a_bounded_number_of_bars(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, Options::default()).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    for path in ["/", "/pricing", "/"] {
        assert_eq!(
            app.post_event(&pageview(path), CHROME_UA).await.status(),
            202
        );
    }
    app.wait_for_events("example.com", 3).await;
    let site = app.site("example.com").await;
    let today = Utc::now().with_timezone(&site.timezone.0).date_naive();
    let back = |days: u64| today.checked_sub_days(Days::new(days)).unwrap_or(today);

    let view = |from: chrono::NaiveDate| format!("/sites/example.com?from={from}&to={today}");
    // The longest range (3,660 days): months, one bar each, and today's three pageviews in the
    // last.
    let page = browser.get(&view(back(3659))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let months = bar_titles(&page);
    assert!(
        (120..=122).contains(&months.len()),
        "{} monthly bars",
        months.len()
    );
    let this_month = today.format("%B %Y").to_string();
    assert_eq!(
        months.last().map(String::as_str),
        Some(format!("{this_month}: 3 pageviews, 1 visitors").as_str()),
        "{months:?}"
    );
    let summary = format!("3 pageviews over {} months", months.len());
    assert!(page.body.contains(&summary), "{summary}");

    // Half a year: weeks, labelled by their Monday (the first by the range's first day).
    let page = browser.get(&view(back(181))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let weeks = bar_titles(&page);
    assert!(
        (26..=28).contains(&weeks.len()),
        "{} weekly bars",
        weeks.len()
    );
    assert!(weeks.iter().all(|t| t.starts_with("Week of ")), "{weeks:?}");
    assert!(
        weeks[1..].iter().all(|t| t.starts_with("Week of Mon ")),
        "{weeks:?}"
    );
    assert!(
        weeks
            .last()
            .is_some_and(|t| t.ends_with(": 3 pageviews, 1 visitors")),
        "{weeks:?}"
    );

    // A month: days, as before.
    let page = browser.get("/sites/example.com?period=30d").await;
    assert_eq!(bar_titles(&page).len(), 30);
    stop(app).await;
}
