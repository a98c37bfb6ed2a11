//! The live view: a page that shows events as they are stored, fed by Server-Sent Events from
//! `/sites/{domain}/live/stream`. The stream polls the store once a second through a
//! `LiveCursor` (which hands over each event once, also with several writers) and checks the
//! viewer's login session at every poll: it ends when the session does (logout, a password
//! change in another browser, expiry), and after `MAX_LIFETIME` in any case; the browser's
//! EventSource then reconnects, through the login check. A comment line every 15 s keeps
//! proxies from closing an idle stream.

use crate::domain::SiteId;
use crate::store::{DynStore, LiveCursor, StoredEvent, TokenHash};
use actix_web::HttpResponse;
use actix_web::web::Bytes;
use askama::Template;
use std::time::Duration;
use tokio::time::Instant;

/// Events sent when a client connects, for context.
const BACKLOG: i64 = 20;
/// At most this many events per poll.
const BATCH: i64 = 200;
const POLL: Duration = Duration::from_secs(1);
const KEEPALIVE_EVERY: u32 = 15;
/// How long one stream lasts. A session ended on the server is noticed at the next poll anyway;
/// the limit keeps a stream from holding a connection forever.
const MAX_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long the browser waits before it reconnects (the SSE `retry:` field).
const RETRY_MS: u32 = 3000;

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

/// One open stream: where it is in the site's events, and whose login it serves.
struct Stream {
    store: DynStore,
    session: TokenHash,
    cursor: LiveCursor,
    ends_at: Instant,
    opened: bool,
    idle: u32,
}

impl Stream {
    /// The next chunk of the body; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.opened {
                tokio::time::sleep(POLL).await;
            }
            if Instant::now() >= self.ends_at {
                return None;
            }
            let limit = if self.cursor.is_new() { BACKLOG } else { BATCH };
            let events = match self.store.live_events(&mut self.cursor, limit).await {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "live stream: reading events failed");
                    Vec::new()
                }
            };
            // Checked after the read, so nothing read after the session ended goes out.
            if !self.session_is_live().await {
                return None;
            }
            let mut text = String::new();
            if !self.opened {
                self.opened = true;
                text = format!("retry: {RETRY_MS}\n");
            } else if events.is_empty() {
                self.idle += 1;
                if self.idle < KEEPALIVE_EVERY {
                    continue;
                }
                text.push_str(": keepalive\n\n");
            }
            self.idle = 0;
            text.extend(events.iter().map(frame));
            return Some(Bytes::from(text));
        }
    }

    async fn session_is_live(&self) -> bool {
        match self
            .store
            .login_session_user(&self.session, chrono::Utc::now())
            .await
        {
            Ok(user) => user.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "live stream: checking the session failed, ending the stream");
                false
            }
        }
    }
}

/// The event stream of `site` for the login session `session`.
pub fn stream(store: DynStore, site: SiteId, session: TokenHash) -> HttpResponse {
    let stream = Stream {
        store,
        session,
        cursor: LiveCursor::new(site),
        ends_at: Instant::now() + MAX_LIFETIME,
        opened: false,
        idle: 0,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
