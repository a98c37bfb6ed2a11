//! Running the Node drivers of the browser tests (`tracker-js/e2e/*.mjs`, playwright-core
//! driving Debian's `chromium`): what they need, and one run to completion with its report.

use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER_TIMEOUT: Duration = Duration::from_secs(60);

pub fn tracker_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tracker-js")
}

/// `Some(reason)` when this machine cannot run the browser tests.
fn missing_prerequisite() -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} is missing (apt-get install chromium)"));
    }
    if !tracker_dir().join("node_modules/playwright-core").exists() {
        return Some("tracker-js/node_modules/playwright-core is missing".into());
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        return Some("node is not on PATH".into());
    }
    None
}

/// Fails the test when a prerequisite is missing. A machine without them never gets here: the
/// build marks the browser tests ignored there (`build.rs`), unless `FOOTFALL_REQUIRE_BROWSER`
/// (CI) insists that they run.
pub fn require_browser() {
    if let Some(reason) = missing_prerequisite() {
        panic!(
            "the browser test cannot run: {reason} (cd tracker-js && npm ci; apt-get install chromium)"
        );
    }
}

pub struct DriverRun {
    script: &'static str,
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl DriverRun {
    /// The JSON report the driver printed last, after checking that it ran through and says ok.
    pub fn report(&self) -> Value {
        let script = self.script;
        assert!(
            self.success,
            "{script} failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        let report: Value = serde_json::from_str(self.stdout.trim().lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{script} printed no JSON report ({e}):\n{}", self.stdout));
        assert_eq!(report["ok"], true, "{report}");
        report
    }
}

/// Runs `e2e/<script>` with `config` to completion (killing it after `DRIVER_TIMEOUT`).
pub fn run_driver(script: &'static str, config: &str) -> DriverRun {
    let dir = tracker_dir();
    let mut child = Command::new("node")
        .arg(dir.join("e2e").join(script))
        .arg(config)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting node e2e/{script}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + DRIVER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let out = stdout.join().unwrap_or_default();
                let err = stderr.join().unwrap_or_default();
                panic!("{script} ran over {DRIVER_TIMEOUT:?}\nstdout:\n{out}\nstderr:\n{err}");
            }
            Err(e) => panic!("waiting for {script}: {e}"),
        }
    };
    DriverRun {
        script,
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Serves `page` for every path on 127.0.0.1:<random> (the customer's site of a browser test,
/// which the drivers map `example.com` to); returns the port and the handle that stops it.
pub fn serve_page(page: &'static str) -> (u16, actix_web::dev::ServerHandle) {
    serve_pages(HashMap::new(), page.to_owned())
}

/// `serve_page` with a page per path: `pages` by path, `fallback` for every other one.
pub fn serve_pages(
    pages: HashMap<&'static str, String>,
    fallback: String,
) -> (u16, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let pages = web::Data::new((pages, fallback));
    type Pages = (HashMap<&'static str, String>, String);
    let server = HttpServer::new(move || {
        App::new().app_data(pages.clone()).default_service(web::to(
            |req: HttpRequest, pages: web::Data<Pages>| async move {
                let (by_path, fallback) = pages.get_ref();
                let body = by_path.get(req.path()).unwrap_or(fallback).clone();
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(body)
            },
        ))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap_or_else(|e| panic!("binding the page server: {e}"));
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (port, handle)
}
