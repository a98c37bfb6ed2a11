//! Request bodies that never finish arriving, over raw TCP, on both backends: a client that sends
//! its head with a `Content-Length` and then trickles the body a byte a second is answered `408`
//! in its endpoint's error shape and cut off, on the collector and on a dashboard form (login);
//! a body that arrives in time is served as before.

mod support;

use std::time::Duration;
use support::{Backend, CHROME_UA, Options, TestApp, pageview};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

both_backends!(
    a_body_trickled_a_byte_a_second_is_cut_off_with_a_408,
    a_body_that_arrives_in_time_is_served,
);

/// How long the test server gives a body; the test waits far longer than that.
const BODY_TIMEOUT: Duration = Duration::from_secs(2);

async fn app(backend: Backend) -> Option<TestApp> {
    let options = Options {
        body_timeout: Some(BODY_TIMEOUT),
        ..Options::default()
    };
    TestApp::spawn(backend, options).await
}

/// Sends a head announcing a 200-byte body, then a byte a second, reading what comes back;
/// returns what the server answered once it closed the connection (or panics after a minute).
async fn trickle(port: u16, path: &str, content_type: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {CHROME_UA}\r\n\
         Content-Type: {content_type}\r\nContent-Length: 200\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("sending the head: {e}"));
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            tokio::time::Instant::now() < give_up,
            "{path}: still connected after a minute; answered so far: {:?}",
            String::from_utf8_lossy(&answer)
        );
        // A failed write means the server has closed its side: read what it said.
        let _ = stream.write_all(b"x").await;
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

async fn a_body_trickled_a_byte_a_second_is_cut_off_with_a_408(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let collector = trickle(app.port, "/api/event", "text/plain").await;
    assert!(
        collector.starts_with("HTTP/1.1 408"),
        "collector: {collector}"
    );
    assert!(
        collector.to_ascii_lowercase().contains("connection: close"),
        "{collector}"
    );
    assert!(
        collector.contains(r#"{"error":"the request body did not arrive within 2 seconds"}"#),
        "collector: {collector}"
    );

    let login = trickle(app.port, "/login", "application/x-www-form-urlencoded").await;
    assert!(login.starts_with("HTTP/1.1 408"), "login: {login}");
    assert!(login.contains("text/html"), "login: {login}");
    assert!(login.contains("Request timed out"), "login: {login}");

    // The server is none the worse for it.
    assert_eq!(
        app.post_event(&pageview("/"), CHROME_UA).await.status(),
        202
    );
    app.wait_for_events("example.com", 1).await;
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}

async fn a_body_that_arrives_in_time_is_served(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    // A body in two parts, the second a moment later: well within the deadline.
    let body = pageview("/in-time");
    let (first, second) = body.split_at(10);
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /api/event HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {CHROME_UA}\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream
        .write_all(second.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_string(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("no answer"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let events = app.wait_for_events("example.com", 1).await;
    assert_eq!(events[0].path, "/in-time");
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
