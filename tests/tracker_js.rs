//! Runs the tracker's own unit tests (node:test + jsdom, in `tracker-js/`) as part of
//! `cargo test`, so one command runs the whole suite. Reported ignored where Node or the npm
//! packages are missing — unless `FOOTFALL_REQUIRE_BROWSER` is set (CI), where that fails.

use std::path::Path;
use std::process::Command;

#[test]
#[cfg_attr(
    footfall_skip_tracker_js,
    ignore = "skipped: needs node and tracker-js/node_modules (cd tracker-js && npm ci)"
)]
fn tracker_unit_tests_pass_under_node() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tracker-js");
    let ready = dir.join("node_modules/jsdom").is_dir()
        && Command::new("node").arg("--version").output().is_ok();
    // The build found them (`build.rs`), or FOOTFALL_REQUIRE_BROWSER insists they be here.
    assert!(
        ready,
        "tracker unit tests need node and tracker-js/node_modules (cd tracker-js && npm ci)"
    );
    let output = Command::new("npm")
        .arg("test")
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("running npm test: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "npm test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // node:test prints "# pass N" / "# fail 0"; make sure tests actually ran.
    let passed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(
        passed > 20,
        "expected the tracker's unit tests to run, got:\n{stdout}"
    );
}
