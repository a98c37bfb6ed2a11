//! The user-agent classifier on public lists nobody here wrote (npm devDependencies of
//! `tracker-js/`, installed by `npm ci`): the 2,118 crawler user agents of crawler-user-agents
//! must be filtered at 99 % or better, and the real browser user agents of user-agents (from
//! real traffic) kept at 99.5 % or better. `bench/bots.sh` prints the same figures.

use footfall::ingest::enrich::useragent::{Classified, classify};
use std::path::Path;

fn node_modules() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tracker-js/node_modules")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (cd tracker-js && npm ci installs the lists)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
#[cfg_attr(
    footfall_skip_tracker_js,
    ignore = "skipped: needs tracker-js/node_modules (cd tracker-js && npm ci)"
)]
fn public_crawler_lists_are_filtered_and_real_browsers_kept() {
    let crawlers: Vec<String> =
        read_json(&node_modules().join("crawler-user-agents/crawler-user-agents.json"))
            .as_array()
            .unwrap_or_else(|| panic!("crawler-user-agents.json is not a list"))
            .iter()
            .flat_map(|entry| entry["instances"].as_array().cloned().unwrap_or_default())
            .filter_map(|ua| ua.as_str().map(str::to_owned))
            .collect();
    let mut browsers: Vec<String> =
        read_json(&node_modules().join("user-agents/dist/user-agents.json"))
            .as_array()
            .unwrap_or_else(|| panic!("user-agents.json is not a list"))
            .iter()
            .filter_map(|entry| entry["userAgent"].as_str().map(str::to_owned))
            .collect();
    browsers.sort();
    browsers.dedup();
    assert!(
        crawlers.len() >= 2000,
        "{} crawler user agents",
        crawlers.len()
    );
    assert!(
        browsers.len() >= 500,
        "{} browser user agents",
        browsers.len()
    );

    let is_bot = |ua: &String| matches!(classify(ua), Classified::Bot(_));
    let missed: Vec<&String> = crawlers.iter().filter(|ua| !is_bot(ua)).collect();
    let taken: Vec<&String> = browsers.iter().filter(|ua| is_bot(ua)).collect();
    let filtered = 1.0 - missed.len() as f64 / crawlers.len() as f64;
    let kept = 1.0 - taken.len() as f64 / browsers.len() as f64;
    assert!(
        filtered >= 0.99,
        "{:.1} % of {} crawlers filtered; missed e.g. {:#?}",
        filtered * 100.0,
        crawlers.len(),
        &missed[..missed.len().min(20)]
    );
    assert!(
        kept >= 0.995,
        "{:.1} % of {} browsers kept; taken for bots: {taken:#?}",
        kept * 100.0,
        browsers.len()
    );
}
