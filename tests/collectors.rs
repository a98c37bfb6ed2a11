//! Several collectors on one Postgres give the figures one collector gives. The same known
//! traffic — visits of several pages, some across midnight, some with gaps just under and just
//! over 30 minutes, visitors interleaved — goes once through one writer and once round-robin,
//! event by event, through three writers, each with its own connections to the database as
//! three `footfall serve` processes have. Events that arrive together (within a minute of each
//! other) are handed over together, so the three writers' batches commit in whatever order they
//! happen to; every visit row, every event's visit, and every dashboard figure and breakdown
//! must match. Postgres only: SQLite has one writer by design.

#[path = "support/browser.rs"]
mod browser;
mod support;

use footfall::config::ServeConfig;
use footfall::domain::{Event, Site};
use footfall::ingest::writer::{Writer, WriterConfig};
use footfall::metrics::Metrics;
use footfall::startup::Application;
use footfall::stats::Dimension;
use footfall::store::{DynStore, IngestStore, build_pending};
use std::sync::Arc;
use std::time::Duration;
use support::visits::{Profile, breakdown, query, utc, visit};
use support::{Backend, CHROME_UA, Options, TestApp, TestDb, pageview};
use tokio::sync::{mpsc, watch};

#[cfg_attr(
    footfall_skip_postgres,
    ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_collectors_give_the_visits_and_figures_of_one() {
    let Some(one) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(three) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let (store_one, site_one) = open(&one).await;
    let (store_three, site_three) = open(&three).await;
    assert_eq!(site_one.id, site_three.id);

    let events = traffic(&site_one);
    run(&one, 1, &events).await;
    run(&three, 3, &events).await;

    let visits_one = visits(&store_one, &site_one).await;
    let visits_three = visits(&store_three, &site_three).await;
    assert!(visits_one.len() > 200, "{}", visits_one.len());
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter()
            .filter(|r| !b.contains(r))
            .take(5)
            .cloned()
            .collect()
    };
    assert!(
        visits_one == visits_three,
        "one collector only: {:#?}\nthree collectors only: {:#?}",
        only(&visits_one, &visits_three),
        only(&visits_three, &visits_one)
    );

    build(&store_one).await;
    build(&store_three).await;
    let q = query(&site_one, "2026-06-09", "2026-06-12", vec![]);
    let a = store_one
        .aggregate(&q)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = store_three
        .aggregate(&q)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b);
    for dimension in Dimension::FIXED {
        assert_eq!(
            breakdown(&store_one, &q, dimension.clone()).await,
            breakdown(&store_three, &q, dimension.clone()).await,
            "{dimension}"
        );
    }
    let (ts1, ts3) = (
        store_one
            .timeseries(&q, footfall::stats::Interval::Day)
            .await,
        store_three
            .timeseries(&q, footfall::stats::Interval::Day)
            .await,
    );
    assert_eq!(
        ts1.unwrap_or_else(|e| panic!("{e}")),
        ts3.unwrap_or_else(|e| panic!("{e}"))
    );
    one.cleanup().await;
    three.cleanup().await;
}

async fn open(db: &TestDb) -> (DynStore, Site) {
    let store = footfall::store::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let site = support::add_site(&store, "example.com", "UTC").await;
    (store, site)
}

async fn build(store: &DynStore) {
    let report = build_pending(store.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ran);
}

/// 24 visitors over three days: visits of 2–6 hits with gaps of 1–29 minutes, some visitors
/// back after 31 minutes (a new visit) or after exactly 29 (the same one), some across midnight.
fn traffic(site: &Site) -> Vec<Event> {
    let profiles = [
        Profile {
            source: Some(("Google", "https://www.google.com/")),
            browser: ("Chrome", "131"),
            os: ("Windows", "10"),
            device: "desktop",
            ..Profile::default()
        },
        Profile {
            utm: Some(("newsletter", "email", "june")),
            browser: ("Safari", "18"),
            os: ("iOS", "18.1"),
            device: "mobile",
            ..Profile::default()
        },
        Profile {
            source: Some(("Hacker News", "https://news.ycombinator.com/")),
            browser: ("Firefox", "133"),
            os: ("Linux", ""),
            device: "desktop",
            ..Profile::default()
        },
    ];
    let pages = ["/", "/pricing", "/blog/a", "/blog/b", "/docs", "/thanks"];
    let mut seed = 7u64;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    let mut events = Vec::new();
    for visitor in 0..24i64 {
        let profile = &profiles[visitor as usize % profiles.len()];
        // Starts between 2026-06-10 20:00 and 2026-06-11 02:00: many visits cross midnight.
        let mut at = utc("2026-06-10 20:00") + chrono::TimeDelta::minutes(next(360) as i64);
        for round in 0..3 {
            let hits = 2 + next(5) as usize;
            let mut visit_hits = Vec::new();
            for h in 0..hits {
                let name = if h == hits - 1 && next(3) == 0 {
                    "Signup"
                } else {
                    "pageview"
                };
                visit_hits.push((at, name, pages[next(pages.len() as u64) as usize]));
                at += chrono::TimeDelta::minutes(1 + next(29) as i64);
            }
            let hits: Vec<_> = visit_hits
                .iter()
                .map(|&(at, name, path)| (at, name, path, &[][..]))
                .collect();
            events.extend(visit(site, 1_000 + visitor, profile, &hits));
            // Back after just over the timeout (a new visit), or just under it (the same one).
            at += chrono::TimeDelta::minutes(match (visitor + round) % 3 {
                0 => 31,
                1 => 29,
                _ => 90,
            });
        }
    }
    events.sort_by_key(|e| e.created_at);
    events
}

/// Sends `events` through `n` writers on `db`, each with its own store (connections), round
/// robin event by event; a minute's events are handed over together and stored before the next
/// minute's, as events received together are.
async fn run(db: &TestDb, n: usize, events: &[Event]) {
    let mut senders = Vec::new();
    let mut writers = Vec::new();
    let (stop, stopped) = watch::channel(false);
    let mut stores = Vec::new();
    for _ in 0..n {
        let store = footfall::store::connect(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let config = WriterConfig {
            batch_size: 4,
            flush_interval: Duration::from_millis(5),
        };
        let ingest: Arc<dyn IngestStore> = store.clone();
        let writer = Writer::new(ingest, Arc::new(Metrics::default()), config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (tx, rx) = mpsc::channel(10_000);
        writers.push(tokio::spawn(writer.run(rx, stopped.clone())));
        senders.push(tx);
        stores.push(store);
    }
    let counter = &stores[0];
    let site = events[0].site_id;
    let mut sent = 0usize;
    let mut i = 0;
    while i < events.len() {
        let minute = events[i].created_at.timestamp() / 60;
        while i < events.len() && events[i].created_at.timestamp() / 60 == minute {
            senders[sent % n]
                .send(events[i].clone().into())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sent += 1;
            i += 1;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while counter.count_events(site).await.unwrap_or(0) < sent as i64 {
            assert!(tokio::time::Instant::now() < deadline, "events not stored");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let _ = stop.send(true);
    drop(senders);
    for writer in writers {
        let report = writer.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.lost + report.dropped + report.spooled, 0);
    }
}

/// Every visit as a row without its id, and each event with the start of its visit, sorted.
async fn visits(store: &DynStore, site: &Site) -> Vec<String> {
    let sessions = store
        .recent_sessions(site.id, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let events = store
        .recent_events(site.id, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: std::collections::HashSet<_> = sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), sessions.len(), "session ids are unique");
    let start_of: std::collections::HashMap<_, _> =
        sessions.iter().map(|s| (s.id, s.started_at)).collect();
    let mut rows: Vec<String> = sessions
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.id = 0;
            format!("visit {s:?}")
        })
        .collect();
    rows.extend(events.iter().map(|e| {
        format!(
            "event {} {} {} {} in the visit of {:?}",
            e.created_at,
            e.visitor_id,
            e.name,
            e.path,
            start_of.get(&e.session_id)
        )
    }));
    rows.sort();
    rows
}

#[cfg_attr(
    footfall_skip_postgres,
    ignore = "skipped: FOOTFALL_TEST_POSTGRES_URL is not set"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_three_collectors_a_live_stream_sees_every_event_once_and_a_deleted_site_stops_on_all()
{
    let Some(app) = TestApp::spawn(Backend::Postgres, Options::default()).await else {
        return;
    };
    let mut browser = browser::log_in_owner(&app).await;
    let mut addresses = vec![app.address.clone()];
    let mut others = Vec::new();
    for _ in 0..2 {
        let mut config = ServeConfig::new(app.db.url.clone());
        config.listen = "127.0.0.1:0".into();
        config.workers = Some(1);
        let collector = Application::build(config)
            .await
            .unwrap_or_else(|e| panic!("another collector: {e:?}"));
        addresses.push(format!("http://127.0.0.1:{}", collector.port()));
        let stop = collector.shutdown();
        others.push((stop, tokio::spawn(collector.run_until_stopped())));
    }
    let client = reqwest::Client::new();
    let post = async |address: &str, body: &str| -> u16 {
        client
            .post(format!("{address}/api/event"))
            .header("Content-Type", "text/plain")
            .header("User-Agent", CHROME_UA)
            .body(body.to_owned())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("POST {address}: {e}"))
    };

    // One stream, on the first collector; events round-robin over all three.
    let mut stream = browser
        .request(reqwest::Method::GET, "/sites/example.com/live/stream")
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stream.status(), 200);
    let paths: Vec<String> = (0..60).map(|i| format!("/rr/{i}")).collect();
    for (i, path) in paths.iter().enumerate() {
        assert_eq!(
            post(&addresses[i % 3], &pageview(path)).await,
            202,
            "{path}"
        );
    }
    assert_eq!(post(&addresses[2], &pageview("/last")).await, 202);
    let mut text = String::new();
    let events = |text: &str| -> Vec<(i64, String)> {
        text.lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
            .map(|e| {
                let id = e["id"].as_i64().unwrap_or_default();
                (id, e["path"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !events(&text).iter().any(|(_, p)| p == "/last")
        || !paths
            .iter()
            .all(|p| events(&text).iter().any(|(_, q)| q == p))
    {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("not every event came:\n{text}"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the stream ended:\n{text}"));
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let seen = events(&text);
    let mut ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), seen.len(), "an event came twice:\n{text}");
    for path in &paths {
        assert_eq!(seen.iter().filter(|(_, p)| p == path).count(), 1, "{path}");
    }
    drop(stream);

    // The site deleted on the first collector stops on all three.
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
    for address in &addresses {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let status = post(address, &pageview("/after")).await;
            if status == 404 {
                break;
            }
            assert_eq!(status, 202, "{address}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "{address} still takes the deleted site"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for (stop, run) in others {
        stop.stop().await;
        run.await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    let (_, _, db) = app.stop().await;
    db.cleanup().await;
}
