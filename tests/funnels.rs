//! Funnels (`stats::funnel`): hand-worked on the data set of `support::known`, from raw rows (the
//! store as `fixture` leaves it) and from the query engine (the stats API: `Api::spawn` builds the
//! segments) with the same numbers — order within a visit, repeated steps, steps in other visits
//! not counted, a visit that crosses midnight, periods and filters — on the funnel page too, and
//! bad funnels refused.

#[path = "support/api_client.rs"]
mod api_client;
#[path = "support/browser.rs"]
mod browser;
mod support;

use api_client::Api;
use footfall::stats::funnel;
use footfall::stats::goal::Goal;
use footfall::stats::{Dimension as D, Filter, FilterOp};
use serde_json::{Value, json};
use support::Backend;
use support::known::{A, B, fixture};
use support::visits::query;

both_backends!(
    funnels_count_visits_that_reached_the_steps_in_order,
    the_api_answers_funnels_from_the_engine_with_the_same_numbers,
    the_funnel_page_draws_and_tabulates_the_steps_of_the_view,
);

fn goals() -> Vec<Goal> {
    [
        Goal::page("Home", "/"),
        Goal::page("Pricing", "/pricing"),
        Goal::page("Thanks", "/thanks"),
        Goal::page("Blog", "/blog/**"),
        Goal::page("Any page", "/**"),
        Goal::event("Signup", "Signup", None),
    ]
    .into_iter()
    .map(|g| g.unwrap_or_else(|e| panic!("{e}")))
    .collect()
}

fn steps(names: &[&str]) -> Vec<Goal> {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    funnel::steps(&names, &goals(), "example.com").unwrap_or_else(|e| panic!("{e}"))
}

fn filter(dimension: D, value: &str) -> Filter {
    Filter {
        dimension,
        op: FilterOp::Is,
        value: value.into(),
    }
}

/// (steps, from, to, filters, visitors per step), worked out from `support::known`'s table.
type Case = (
    &'static [&'static str],
    &'static str,
    &'static str,
    Vec<Filter>,
    Vec<i64>,
);

fn cases() -> Vec<Case> {
    vec![
        // Visit 1 (/ then /pricing), visit 4 (/ on A, /pricing after midnight on B) and visit 5
        // (/ only): step 1 has visitors 1, 3 and 4; step 2 visitors 1 and 3.
        (&["Home", "Pricing"], A, B, vec![], vec![3, 2]),
        // Out of order does not count: no visit saw / after /pricing. Visitors 1, 2, 3 and 5 saw
        // /pricing.
        (&["Pricing", "Home"], A, B, vec![], vec![4, 0]),
        // Steps in different visits do not add up: visitor 1 saw /pricing in visit 1 and the
        // blog in visit 3, the same day.
        (&["Pricing", "Blog"], A, B, vec![], vec![4, 0]),
        // A goal twice needs two conversions: visits 1, 4 and 6 have two pageviews or more
        // (visitors 1, 3, 5), visit 1 alone has three.
        (&["Any page", "Any page"], A, B, vec![], vec![5, 3]),
        (
            &["Any page", "Any page", "Any page"],
            A,
            B,
            vec![],
            vec![5, 3, 1],
        ),
        // Four steps with an event among them: visit 1 went all the way.
        (
            &["Home", "Pricing", "Signup", "Thanks"],
            A,
            B,
            vec![],
            vec![3, 2, 1, 1],
        ),
        // One event counts for one step, and events between steps are fine (the Signup came
        // between /pricing and /thanks).
        (&["Pricing", "Thanks"], A, B, vec![], vec![4, 1]),
        // The period: on A, visit 4 stops at / (its /pricing is on B); on B, visit 4 has no /.
        (&["Home", "Pricing"], A, A, vec![], vec![2, 1]),
        (&["Home", "Pricing"], B, B, vec![], vec![1, 0]),
        // A visit filter: mobile is visits 2 and 5.
        (
            &["Home", "Pricing"],
            A,
            B,
            vec![filter(D::Device, "mobile")],
            vec![1, 0],
        ),
        // An event filter keeps the visits with such an event, all of whose events count: only
        // visit 1 saw /thanks.
        (
            &["Home", "Pricing"],
            A,
            B,
            vec![filter(D::Page, "/thanks")],
            vec![1, 1],
        ),
        // A goal filter likewise: visits that converted on Pricing (1, 2, 4, 6).
        (
            &["Home", "Pricing"],
            A,
            B,
            vec![footfall::stats::goal::converted(
                &steps(&["Pricing", "Home"])[0],
            )],
            vec![2, 2],
        ),
    ]
}

async fn funnels_count_visits_that_reached_the_steps_in_order(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    for (names, from, to, filters, expected) in cases() {
        let q = query(&f.site, from, to, filters.clone());
        let got = f
            .store
            .funnel(&q, &steps(names))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, expected, "{names:?} {from}..{to} {filters:?}");
    }
    // An empty range has no visitors at any step.
    let q = query(&f.site, B, A, vec![]);
    let got = f.store.funnel(&q, &steps(&["Home", "Pricing"])).await;
    assert_eq!(got.ok(), Some(vec![0, 0]));
    f.db.cleanup().await;
}

async fn the_api_answers_funnels_from_the_engine_with_the_same_numbers(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    for g in goals() {
        api.app
            .store
            .add_goal(api.site.id, &g)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = api.app.store.engine_counts();
    for (names, from, to, filters, expected) in cases() {
        let mut pairs = vec![("site", "example.com"), ("from", from), ("to", to)];
        let written: Vec<String> = filters
            .iter()
            .map(footfall::stats::params::format_filter)
            .collect();
        for w in &written {
            pairs.push(("filters", w.as_str()));
        }
        for n in names {
            pairs.push(("steps", n));
        }
        let body = api.ok("stats/funnel", &pairs).await;
        let visitors: Vec<i64> = body["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|r| r["visitors"].as_i64().unwrap_or(-1))
            .collect();
        assert_eq!(visitors, expected, "{names:?} {from}..{to} {written:?}");
        assert_eq!(body["steps"], json!(names));
    }
    let after = api.app.store.engine_counts();
    assert!(
        after.answered > before.answered && after.left_to_raw == before.left_to_raw,
        "the engine answered: {before:?} → {after:?}"
    );
    // Shares of the first step and drop-offs.
    let body = api
        .ok(
            "stats/funnel",
            &[
                ("site", "example.com"),
                ("from", A),
                ("to", B),
                ("steps", "Home"),
                ("steps", "Pricing"),
                ("steps", "Signup"),
                ("steps", "Thanks"),
            ],
        )
        .await;
    assert_eq!(
        body["results"],
        json!([
            {"step": 1, "goal": "Home", "visitors": 3, "share_of_first": 100.0, "dropped": 0, "drop_off_rate": 0.0},
            {"step": 2, "goal": "Pricing", "visitors": 2, "share_of_first": 66.7, "dropped": 1, "drop_off_rate": 33.3},
            {"step": 3, "goal": "Signup", "visitors": 1, "share_of_first": 33.3, "dropped": 1, "drop_off_rate": 50.0},
            {"step": 4, "goal": "Thanks", "visitors": 1, "share_of_first": 33.3, "dropped": 0, "drop_off_rate": 0.0},
        ]),
        "{body}"
    );
    // Bad funnels: a 400 naming `steps` that says what is wrong.
    let base = [("site", "example.com"), ("from", A), ("to", B)];
    let nine: Vec<(&str, &str)> = std::iter::repeat_n(("steps", "Home"), 9).collect();
    for (extra, says) in [
        (vec![], "2 to 8 steps"),
        (vec![("steps", "Home")], "2 to 8 steps"),
        (nine, "2 to 8 steps"),
        (
            vec![("steps", "Home"), ("steps", "Nope")],
            "no goal named \"Nope\"",
        ),
    ] {
        let mut pairs = base.to_vec();
        pairs.extend(extra);
        let reply = api.get("stats/funnel", &pairs).await;
        assert_eq!(reply.status, 400, "{pairs:?}: {}", reply.body);
        assert_eq!(reply.body["parameter"], "steps", "{}", reply.body);
        let message = reply.body["error"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{pairs:?}: {message}");
    }
    let reply = api
        .get(
            "stats/funnel",
            &[
                ("site", "example.com"),
                ("steps", "Home"),
                ("metrics", "visitors"),
            ],
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["parameter"], Value::from("metrics"));
    api.stop().await;
}

/// The cells of the funnel table's rows, tags stripped.
fn table_rows(body: &str) -> Vec<Vec<String>> {
    let start = body
        .find(r#"aria-label="Funnel""#)
        .unwrap_or_else(|| panic!("no funnel table in:\n{body}"));
    let table = &body[start
        ..body[start..]
            .find("</table>")
            .map_or(body.len(), |e| start + e)];
    table
        .split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text = &cell[cell.find('>').map_or(0, |i| i + 1)..];
                    text[..text.find("</td>").unwrap_or(text.len())].to_owned()
                })
                .collect()
        })
        .collect()
}

async fn the_funnel_page_draws_and_tabulates_the_steps_of_the_view(backend: Backend) {
    let Some(api) = Api::spawn(backend).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&api.app).await;
    let base = format!("/sites/example.com/funnel?period=custom&from={A}&to={B}");
    // No goals yet: the page says what to do.
    let page = browser.get(&base).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("A funnel needs goals"), "{}", page.body);
    for g in goals() {
        api.app
            .store
            .add_goal(api.site.id, &g)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // The dashboard's Goals table leads here, with the view.
    let dashboard = browser
        .get(&format!("/sites/example.com?period=custom&from={A}&to={B}"))
        .await;
    assert!(
        dashboard.body.contains(&format!(
            r#"href="/sites/example.com/funnel?period=custom&#38;from={A}&#38;to={B}""#
        )),
        "{}",
        dashboard.body
    );
    // Steps not chosen yet: the pickers, no funnel.
    let page = browser.get(&base).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches(r#"<select name="step">"#).count(), 8);
    assert!(!page.body.contains(r#"aria-label="Funnel""#));
    // Four steps, as the API answers them; empty pickers are no step.
    let four = format!("{base}&step=Home&step=Pricing&step=Signup&step=Thanks&step=&step=");
    let page = browser.get(&four).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let cells = |n: &str, goal: &str, rest: &[&str]| {
        let mut row = vec![n.to_owned(), goal.to_owned()];
        row.extend(rest.iter().map(|s| (*s).to_owned()));
        row
    };
    assert_eq!(
        table_rows(&page.body),
        [
            cells("1", "Home", &["3", "100.0 %", "—", "—"]),
            cells("2", "Pricing", &["2", "66.7 %", "1", "33.3 %"]),
            cells("3", "Signup", &["1", "33.3 %", "1", "50.0 %"]),
            cells("4", "Thanks", &["1", "33.3 %", "0", "0.0 %"]),
        ]
    );
    // The chart: a bar per step, its height the share of the first step (208 units for 100 %).
    assert_eq!(page.body.matches(r#"<rect class="bar""#).count(), 4);
    assert!(page.body.contains(r#"height="208""#) && page.body.contains(r#"height="139""#));
    assert!(page.body.contains(r#"<option value="Signup" selected>"#));
    // The view's filters choose the visits: mobile has visitor 4 at step 1 only.
    let mobile = browser
        .get(&format!("{base}&f=device:is:mobile&step=Home&step=Pricing"))
        .await;
    assert_eq!(
        table_rows(&mobile.body),
        [
            cells("1", "Home", &["1", "100.0 %", "—", "—"]),
            cells("2", "Pricing", &["0", "0.0 %", "1", "100.0 %"]),
        ]
    );
    assert!(mobile.body.contains("device:is:mobile"));
    // Bad funnels: a 400 page that says what is wrong.
    let nine = format!("{base}{}", "&step=Home".repeat(9));
    for (url, says) in [
        (
            format!("{base}&step=Home&step=Nope"),
            "no goal named &#34;Nope&#34;",
        ),
        (nine, "at most 8 steps"),
        (format!("{base}&f=bogus"), "filter"),
    ] {
        let page = browser.get(&url).await;
        assert_eq!(page.status, 400, "{url}: {}", page.body);
        assert!(page.body.contains(says), "{url}: {}", page.body);
    }
    api.stop().await;
}
