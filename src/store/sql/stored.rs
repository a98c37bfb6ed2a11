//! Stored events and sessions as read back (live view, export, tests): the columns every such
//! query selects, and the one decoder of each.

use super::{Kind, Row};
use crate::store::{StoreError, StoredEvent, StoredSession};

/// The columns of a stored event, from `events e`, in `EVENT_KINDS` order.
pub(crate) const EVENT_COLUMNS: &str = "e.id, e.site_id, e.created_at, e.visitor_id, \
     e.session_id, e.name, e.hostname, e.path, e.referrer, e.referrer_source, e.utm_source, \
     e.utm_medium, e.utm_campaign, e.utm_content, e.utm_term, e.browser, e.browser_version, e.os, \
     e.os_version, e.device, e.country, e.region, e.city, CAST(e.viewport_width AS BIGINT), \
     CAST(e.props AS TEXT), e.revenue_micros, e.revenue_currency, e.engaged_ms, \
     CAST(e.scroll_depth AS BIGINT)";

pub(crate) const EVENT_KINDS: [Kind; 29] = [
    Kind::Int,    // id
    Kind::Int,    // site_id
    Kind::Time,   // created_at
    Kind::Int,    // visitor_id
    Kind::Int,    // session_id
    Kind::Text,   // name
    Kind::Text,   // hostname
    Kind::Text,   // path
    Kind::Text,   // referrer
    Kind::Text,   // referrer_source
    Kind::Text,   // utm_source
    Kind::Text,   // utm_medium
    Kind::Text,   // utm_campaign
    Kind::Text,   // utm_content
    Kind::Text,   // utm_term
    Kind::Text,   // browser
    Kind::Text,   // browser_version
    Kind::Text,   // os
    Kind::Text,   // os_version
    Kind::Text,   // device
    Kind::Text,   // country
    Kind::Text,   // region
    Kind::Text,   // city
    Kind::OptInt, // viewport_width
    Kind::Text,   // props, JSON text
    Kind::OptInt, // revenue_micros
    Kind::Text,   // revenue_currency
    Kind::OptInt, // engaged_ms
    Kind::OptInt, // scroll_depth
];

pub(crate) fn stored_event(row: &Row) -> Result<StoredEvent, StoreError> {
    let id = row.int(0)?;
    let viewport_width = row
        .opt_int(23)?
        .map(i32::try_from)
        .transpose()
        .map_err(|_| StoreError::Corrupt(format!("viewport_width of event {id}")))?;
    Ok(StoredEvent {
        id,
        site_id: row.int(1)?,
        created_at: row.time(2)?,
        visitor_id: row.int(3)?,
        session_id: row.int(4)?,
        name: row.string(5)?,
        hostname: row.string(6)?,
        path: row.string(7)?,
        referrer: row.text(8)?,
        referrer_source: row.text(9)?,
        utm_source: row.text(10)?,
        utm_medium: row.text(11)?,
        utm_campaign: row.text(12)?,
        utm_content: row.text(13)?,
        utm_term: row.text(14)?,
        browser: row.string(15)?,
        browser_version: row.string(16)?,
        os: row.string(17)?,
        os_version: row.string(18)?,
        device: row.string(19)?,
        country: row.text(20)?,
        region: row.text(21)?,
        city: row.text(22)?,
        viewport_width,
        props: row
            .text(24)?
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("props: {e}")))?,
        revenue_micros: row.opt_int(25)?,
        revenue_currency: row.text(26)?,
        engaged_ms: row.opt_int(27)?,
        scroll_depth: row
            .opt_int(28)?
            .map(i32::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt(format!("scroll_depth of event {id}")))?,
    })
}

/// The columns of a stored session, from `sessions`, in `SESSION_KINDS` order.
pub(crate) const SESSION_COLUMNS: &str = "id, site_id, visitor_id, started_at, ended_at, \
     entry_path, exit_path, CAST(pageviews AS BIGINT), CAST(events AS BIGINT), referrer_source, \
     utm_source, browser, os, device, country";

pub(crate) const SESSION_KINDS: [Kind; 15] = [
    Kind::Int,
    Kind::Int,
    Kind::Int,
    Kind::Time,
    Kind::Time,
    Kind::Text,
    Kind::Text,
    Kind::Int,
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Text,
];

pub(crate) fn stored_session(row: &Row) -> Result<StoredSession, StoreError> {
    let id = row.int(0)?;
    let counter = |i| {
        i32::try_from(row.int(i)?)
            .map_err(|_| StoreError::Corrupt(format!("counter {i} of session {id}")))
    };
    Ok(StoredSession {
        id,
        site_id: row.int(1)?,
        visitor_id: row.int(2)?,
        started_at: row.time(3)?,
        ended_at: row.time(4)?,
        entry_path: row.string(5)?,
        exit_path: row.string(6)?,
        pageviews: counter(7)?,
        events: counter(8)?,
        referrer_source: row.text(9)?,
        utm_source: row.text(10)?,
        browser: row.string(11)?,
        os: row.string(12)?,
        device: row.string(13)?,
        country: row.text(14)?,
    })
}
