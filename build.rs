//! Tells the test suite which of its optional parts can run on this machine, so that a test
//! that cannot is reported `ignored` with the reason, instead of passing without doing anything.
//! The cfgs change nothing in the library; they only mark tests (see `tests/support/mod.rs`).

use std::path::Path;
use std::process::{Command, Stdio};

/// The Chromium the browser tests drive (Debian's package).
const CHROMIUM: &str = "/usr/bin/chromium";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for cfg in [
        "footfall_skip_postgres",
        "footfall_skip_browser",
        "footfall_skip_tracker_js",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }

    println!("cargo::rerun-if-env-changed=FOOTFALL_TEST_POSTGRES_URL");
    if std::env::var_os("FOOTFALL_TEST_POSTGRES_URL").is_none() {
        println!("cargo::rustc-cfg=footfall_skip_postgres");
    }

    // Where CI requires the browser tests, they always run (and fail if they cannot).
    println!("cargo::rerun-if-env-changed=FOOTFALL_REQUIRE_BROWSER");
    if std::env::var_os("FOOTFALL_REQUIRE_BROWSER").is_some() {
        return;
    }
    let modules = Path::new("tracker-js/node_modules");
    // Notice `npm ci` (or a deleted node_modules) and a Chromium that goes away. A Chromium
    // installed later is noticed on the next change of build.rs or of these variables.
    if modules.join(".package-lock.json").exists() {
        println!("cargo::rerun-if-changed=tracker-js/node_modules/.package-lock.json");
    } else {
        println!("cargo::rerun-if-changed=tracker-js");
    }
    let chromium = Path::new(CHROMIUM).exists();
    if chromium {
        println!("cargo::rerun-if-changed={CHROMIUM}");
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let lists = ["crawler-user-agents", "user-agents"]
        .iter()
        .all(|list| modules.join(list).is_dir());
    if !(node && lists && modules.join("jsdom").is_dir()) {
        println!("cargo::rustc-cfg=footfall_skip_tracker_js");
    }
    if !(node && chromium && modules.join("playwright-core").is_dir()) {
        println!("cargo::rustc-cfg=footfall_skip_browser");
    }
}
