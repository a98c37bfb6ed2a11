//! The live view: a page that shows events as they are stored, fed by Server-Sent Events from
//! `/sites/{domain}/live/stream`. The stream polls the store once a second for events newer than
//! the last one it sent; a comment line every 15 s keeps proxies from closing an idle stream.

use crate::domain::SiteId;
use crate::store::{DynStore, StoredEvent};
use actix_web::HttpResponse;
use actix_web::web::Bytes;
use askama::Template;
use std::time::Duration;

/// Events sent when a client connects, for context.
const BACKLOG: i64 = 20;
const POLL: Duration = Duration::from_secs(1);
const KEEPALIVE_EVERY: u32 = 15;

#[derive(Template)]
#[template(path = "dashboard/live.html")]
pub struct LivePage {
    pub layout: crate::web::layout::Layout,
    pub site: String,
    pub base: String,
    /// The live view's script (`web::assets::live_js_href`).
    pub script: &'static str,
}

/// What the browser gets per event: no visitor or session ids, nothing to single a person out.
#[derive(serde::Serialize)]
struct LiveEvent<'a> {
    id: i64,
    time: String,
    name: &'a str,
    path: &'a str,
    source: Option<&'a str>,
    country: Option<&'a str>,
    browser: &'a str,
    os: &'a str,
    device: &'a str,
}

fn frame(e: &StoredEvent) -> String {
    let live = LiveEvent {
        id: e.id,
        time: e.created_at.format("%H:%M:%S UTC").to_string(),
        name: &e.name,
        path: &e.path,
        source: e.referrer_source.as_deref(),
        country: e.country.as_deref(),
        browser: &e.browser,
        os: &e.os,
        device: &e.device,
    };
    // serde_json escapes newlines, so one event is one `data:` line.
    format!(
        "id: {}\ndata: {}\n\n",
        e.id,
        serde_json::to_string(&live).unwrap_or_default()
    )
}

struct Cursor {
    store: DynStore,
    site: SiteId,
    last_id: i64,
    idle: u32,
    first: bool,
}

pub async fn stream(store: DynStore, site: SiteId) -> HttpResponse {
    let cursor = Cursor {
        store,
        site,
        last_id: 0,
        idle: 0,
        first: true,
    };
    let body = futures_util::stream::unfold(cursor, |mut c| async move {
        if c.first {
            c.first = false;
            let mut backlog = c
                .store
                .recent_events(c.site, BACKLOG)
                .await
                .unwrap_or_default();
            backlog.reverse();
            c.last_id = backlog.last().map_or(0, |e| e.id);
            let text: String = backlog.iter().map(frame).collect();
            return Some((
                Ok::<_, actix_web::Error>(Bytes::from(format!("retry: 3000\n{text}"))),
                c,
            ));
        }
        loop {
            tokio::time::sleep(POLL).await;
            match c.store.events_after(c.site, c.last_id, 200).await {
                Ok(events) if !events.is_empty() => {
                    c.last_id = events.last().map_or(c.last_id, |e| e.id);
                    c.idle = 0;
                    let text: String = events.iter().map(frame).collect();
                    return Some((Ok(Bytes::from(text)), c));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "live stream query failed"),
            }
            c.idle += 1;
            if c.idle >= KEEPALIVE_EVERY {
                c.idle = 0;
                return Some((Ok(Bytes::from_static(b": keepalive\n\n")), c));
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
