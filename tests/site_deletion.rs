//! Deleting a site while its events arrive: the deletion reaches every collector's site list
//! (this one at once, others within `sites::REFRESH_EVERY`), events still queued for it are
//! dropped in bulk, and no other site sees a 503.

#[path = "support/browser.rs"]
mod browser;
mod support;

use footfall::config::ServeConfig;
use footfall::startup::Application;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use support::{Backend, CHROME_UA, Options, TestApp, pageview};

both_backends!(
    deleting_a_site_under_load_stops_its_events_everywhere_and_no_other_site_sees_a_503,
    events_queued_for_a_site_deleted_elsewhere_are_dropped_in_bulk,
);

fn other_pageview(i: u64) -> String {
    format!(r#"{{"n":"pageview","u":"https://other.com/p/{i}","d":"other.com"}}"#)
}

/// Per-status counts of a stream of events sent by one task until told to stop.
#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    unavailable: AtomicU64,
    other: AtomicU64,
}

fn send_until(
    address: String,
    body: impl Fn(u64) -> String + Send + 'static,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut i = 0;
        while !stop.load(Relaxed) {
            i += 1;
            let status = client
                .post(format!("{address}/api/event"))
                .header("Content-Type", "text/plain")
                .header("User-Agent", CHROME_UA)
                .body(body(i))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            match status {
                202 => tally.accepted.fetch_add(1, Relaxed),
                503 => tally.unavailable.fetch_add(1, Relaxed),
                _ => tally.other.fetch_add(1, Relaxed),
            };
        }
    })
}

async fn status_of(client: &reqwest::Client, address: &str, body: &str) -> u16 {
    client
        .post(format!("{address}/api/event"))
        .header("Content-Type", "text/plain")
        .header("User-Agent", CHROME_UA)
        .body(body.to_owned())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("POST /api/event: {e}"))
}

async fn deleting_a_site_under_load_stops_its_events_everywhere_and_no_other_site_sees_a_503(
    backend: Backend,
) {
    let options = Options {
        // A small queue and big batches: a writer that falls back to writing events one by one
        // fills it within a second.
        queue_capacity: 2000,
        writer: footfall::ingest::writer::WriterConfig {
            batch_size: 500,
            flush_interval: Duration::from_millis(50),
        },
        sites: vec![("example.com", "UTC"), ("other.com", "UTC")],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    // A second collector on the same database, as behind a load balancer.
    let mut config = ServeConfig::new(app.db.url.clone());
    config.listen = "127.0.0.1:0".into();
    config.workers = Some(1);
    let second = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("second collector: {e:?}"));
    let second_address = format!("http://127.0.0.1:{}", second.port());
    let second_metrics = second.metrics();
    let second_stop = second.shutdown();
    let second_run = tokio::spawn(second.run_until_stopped());

    let stop = Arc::new(AtomicBool::new(false));
    let deleted = Arc::new(Tally::default());
    let other = Arc::new(Tally::default());
    let mut senders = Vec::new();
    for address in [&app.address, &second_address] {
        for _ in 0..2 {
            senders.push(send_until(
                address.clone(),
                |i| pageview(&format!("/d/{i}")),
                stop.clone(),
                deleted.clone(),
            ));
        }
        senders.push(send_until(
            address.clone(),
            other_pageview,
            stop.clone(),
            other.clone(),
        ));
    }
    // Under load for a moment, then the owner deletes example.com on the first collector.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(deleted.accepted.load(Relaxed) > 0 && other.accepted.load(Relaxed) > 0);
    let token = browser
        .get("/sites/example.com/settings")
        .await
        .csrf_token();
    let done = browser
        .post(
            "/sites/example.com/delete",
            &[("confirm", "example.com"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(done.status, 303, "deleting the site");

    // This collector refuses the site at once; the other one within its refresh interval.
    let client = reqwest::Client::new();
    assert_eq!(
        status_of(&client, &app.address, &pageview("/after")).await,
        404,
        "the deleting collector still accepts the deleted site"
    );
    let waited = tokio::time::Instant::now();
    loop {
        if status_of(&client, &second_address, &pageview("/after")).await == 404 {
            break;
        }
        assert!(
            waited.elapsed() < footfall::ingest::sites::REFRESH_EVERY + Duration::from_secs(6),
            "the second collector still accepts the deleted site after {:?}",
            waited.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Keep the load on a little longer, then stop sending.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Relaxed);
    for sender in senders {
        sender.await.unwrap_or_else(|e| panic!("sender: {e}"));
    }
    assert_eq!(
        other.unavailable.load(Relaxed),
        0,
        "other.com got 503s while example.com was deleted ({} accepted)",
        other.accepted.load(Relaxed)
    );
    assert_eq!(other.other.load(Relaxed), 0, "other.com got errors");

    let other_site = app.site("other.com").await;
    let metrics = app.metrics.clone();
    second_stop.stop().await;
    second_run
        .await
        .unwrap_or_else(|e| panic!("second collector: {e}"))
        .unwrap_or_else(|e| panic!("second collector: {e:?}"));
    let (_, store, db) = app.stop().await;
    let stored_other = store
        .count_events(other_site.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored_other as u64, other.accepted.load(Relaxed));
    // Every example.com event accepted was either stored before the deletion (and deleted
    // with the site) or dropped; the writers never fell back to one transaction per event.
    for (collector, metrics) in [("first", &metrics), ("second", &second_metrics)] {
        let failed = metrics.write_errors.load(Relaxed);
        assert!(
            failed <= 3,
            "{collector} collector: {failed} failed batch writes, so events of the deleted site \
             were written one by one"
        );
        assert!(metrics.rejected(footfall::metrics::Rejection::UnknownSite) > 0);
    }
    db.cleanup().await;
}

async fn events_queued_for_a_site_deleted_elsewhere_are_dropped_in_bulk(backend: Backend) {
    let options = Options {
        // Events wait in the writer long enough for the site to go first.
        writer: footfall::ingest::writer::WriterConfig {
            batch_size: 1000,
            flush_interval: Duration::from_secs(3),
        },
        sites: vec![("example.com", "UTC"), ("other.com", "UTC")],
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, options).await else {
        return;
    };
    let doomed = app.site("example.com").await;
    let kept = app.site("other.com").await;
    for i in 0..60 {
        assert_eq!(
            app.post_event(&pageview(&format!("/{i}")), CHROME_UA)
                .await
                .status(),
            202
        );
        assert_eq!(
            app.post_event(&other_pageview(i), CHROME_UA).await.status(),
            202
        );
    }
    // Another process deletes the site: this collector's cache does not know yet.
    app.store
        .delete_site(doomed.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let events = app.wait_for_events("other.com", 60).await;
    assert_eq!(events.len(), 60);
    let metrics = app.metrics.clone();
    let (stored, store, db) = app.stop().await;
    assert_eq!(stored, 60, "the writer's report counts only what it stored");
    assert_eq!(metrics.dropped.load(Relaxed), 60);
    // One refused transaction for the whole batch, not one per event.
    assert_eq!(metrics.write_errors.load(Relaxed), 1);
    assert_eq!(store.count_events(kept.id).await.unwrap_or_default(), 60);
    assert_eq!(store.count_events(doomed.id).await.unwrap_or_default(), 0);
    db.cleanup().await;
}
