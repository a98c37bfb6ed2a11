//! Requests the HTTP layer cannot parse (a control character in `Content-Type`, say), sent over
//! and over to the real binary: each is refused, none reaches the queue, the log shows at most
//! one line a minute for them and `/metrics` counts them; every 4xx the collection endpoint
//! itself gives carries the JSON error.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Backend, CHROME_UA, TestDb};

both_backends!(malformed_requests_are_refused_counted_and_do_not_flood_the_log);

/// Sends raw bytes, returns the status line's code and the body.
fn raw(port: u16, request: &[u8]) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    stream.write_all(request).unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or_else(String::new, |(_, b)| b.to_owned());
    (status, body)
}

fn event_request(content_type: &[u8], body: &str) -> Vec<u8> {
    let mut request =
        b"POST /api/event HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".to_vec();
    request.extend_from_slice(format!("User-Agent: {CHROME_UA}\r\n").as_bytes());
    request.extend_from_slice(b"Content-Type: ");
    request.extend_from_slice(content_type);
    request
        .extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    request
}

async fn malformed_requests_are_refused_counted_and_do_not_flood_the_log(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_footfall"));
        command
            .args(args)
            .env("FOOTFALL_DATABASE_URL", &db.url)
            .env_remove("RUST_LOG");
        command
    };
    let added = run(&["site", "add", "example.com"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(added.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("{e}"));
    let mut serve = run(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "footfall did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let event = r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#;
    for content_type in [&b"\x7f"[..], b"application/json\x00", b"text/plain\x01"] {
        for _ in 0..20 {
            let (status, _) = raw(port, &event_request(content_type, event));
            assert_eq!(status, 400, "Content-Type {content_type:?}");
        }
    }
    // The endpoint's own refusals carry the JSON error.
    for (request, status) in [
        (event_request(b"image/png", event), 415),
        (event_request(b"application/json", "{"), 400),
        (event_request(b"application/json", &"x".repeat(9000)), 413),
        (
            b"GET /api/event HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".to_vec(),
            405,
        ),
    ] {
        let (got, body) = raw(port, &request);
        assert_eq!(got, status);
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {body:?}"));
        assert!(
            json["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let counted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("footfall_http_client_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no client error counter in {metrics}"));
    assert!(counted >= 60, "{counted} client errors counted of 60");
    assert!(
        metrics.contains("footfall_events_accepted_total 0"),
        "{metrics}"
    );

    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let status = serve.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let lines = log.lines().filter(|l| l.contains("actix_http")).count();
    assert!(
        lines <= 1,
        "{lines} log lines for 60 malformed requests:\n{log}"
    );
    db.cleanup().await;
}
