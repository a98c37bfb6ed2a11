//! Parser: turns a collection request into a validated, enriched `Event` (or says it came from
//! a bot). Cheap checks run first — JSON, site, user agent — so junk and bots cost little;
//! enrichment (URL, referrer, GeoIP, visitor hash) runs only for events we will keep.

use super::enrich::geoip::{Geo, GeoIp};
use super::enrich::useragent::{BotReason, Classified, UserAgent};
use super::enrich::{classify_user_agent, referrer};
use super::error::CollectError;
use super::sites::SiteCache;
use super::visitor::SaltSource;
use crate::domain::{
    ENGAGEMENT, Engagement, Event, EventName, Figures, PagePath, Props, Revenue, Site, Utm,
    VisitorId, decode, strip_hidden_chars, truncate_chars,
};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// Longest accepted page URL and referrer, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// UTM values are cut to this many characters rather than rejected: a long campaign name is the
/// site owner's doing, not the visitor's.
const MAX_UTM_CHARS: usize = 300;

use super::payload::Fields;
pub use super::payload::Payload;

/// What the listener knows about a request besides its body.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    pub user_agent: &'a str,
    pub ip: IpAddr,
    pub received_at: DateTime<Utc>,
}

/// A row of another analytics tool's export (`footfall import`): there is no IP address, so the
/// visitor is the export's own visitor or session key, hashed with the day's salt as an IP and
/// user agent are, and the place is what the export recorded.
#[derive(Debug, Clone, Copy)]
pub struct ExportMeta<'a> {
    /// Never stored: only its keyed hash is.
    pub visitor_key: &'a str,
    pub agent: ExportAgent<'a>,
    pub geo: &'a Geo,
    pub received_at: DateTime<Utc>,
}

/// The browser of an exported row: a user agent the export kept, classified as the listener
/// classifies it, or the browser, OS and device as the export names them (already mapped to
/// footfall's names, bots told apart).
#[derive(Debug, Clone, Copy)]
pub enum ExportAgent<'a> {
    UserAgent(&'a str),
    Named(&'a Classified),
}

/// Who sent an event: a request (live, or logged by a web server) or an export's row.
#[derive(Clone, Copy)]
enum Client<'a> {
    Request(RequestMeta<'a>),
    Export(ExportMeta<'a>),
}

impl Client<'_> {
    fn received_at(&self) -> DateTime<Utc> {
        match self {
            Client::Request(meta) => meta.received_at,
            Client::Export(meta) => meta.received_at,
        }
    }

    fn classify(&self) -> Classified {
        match self {
            Client::Request(meta) => classify_user_agent(meta.user_agent),
            Client::Export(ExportMeta {
                agent: ExportAgent::UserAgent(ua),
                ..
            }) => classify_user_agent(ua),
            Client::Export(ExportMeta {
                agent: ExportAgent::Named(named),
                ..
            }) => (*named).clone(),
        }
    }

    fn geo(&self, geoip: Option<&GeoIp>) -> Geo {
        match self {
            Client::Request(meta) => geoip.map(|g| g.lookup(meta.ip)).unwrap_or_default(),
            Client::Export(meta) => meta.geo.clone(),
        }
    }

    fn visitor(&self, site: &Site, ctx: Enrichment<'_>) -> VisitorId {
        match self {
            Client::Request(meta) => visitor(site, *meta, ctx),
            Client::Export(meta) => ctx.salts.export_visitor_id(
                local_day(site, meta.received_at),
                site.id,
                meta.visitor_key,
            ),
        }
    }
}

/// Lookups the parser needs; all in memory.
#[derive(Clone, Copy)]
pub struct Enrichment<'a> {
    pub sites: &'a SiteCache,
    /// The listener passes the shared daily `Salts`; an import passes keys for past days.
    pub salts: &'a dyn SaltSource,
    pub geoip: Option<&'a GeoIp>,
}

#[derive(Debug)]
pub enum Parsed {
    Event(Box<Event>),
    /// `"n":"engagement"`: new figures for a stored pageview, never an event of its own.
    Engagement(Engagement),
    Bot(BotReason),
}

pub fn parse(
    body: &[u8],
    meta: RequestMeta<'_>,
    ctx: Enrichment<'_>,
) -> Result<Parsed, CollectError> {
    parse_from(body, Client::Request(meta), ctx)
}

/// `parse` for a row of an export. `"n":"engagement"` is refused: exports name custom events
/// freely, and one named so is no engagement update of footfall's tracker.
pub fn parse_exported(
    body: &[u8],
    meta: ExportMeta<'_>,
    ctx: Enrichment<'_>,
) -> Result<Parsed, CollectError> {
    parse_from(body, Client::Export(meta), ctx)
}

fn parse_from(
    body: &[u8],
    client: Client<'_>,
    ctx: Enrichment<'_>,
) -> Result<Parsed, CollectError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let payload: Payload<'_> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            CollectError::InvalidJson(e.into_inner().to_string())
        } else {
            CollectError::InvalidJson(format!("field {path}: {}", e.into_inner()))
        }
    })?;
    de.end()
        .map_err(|e| CollectError::InvalidJson(e.to_string()))?;
    let payload = payload.fields()?;
    let site = site_of(payload.domain, ctx.sites)?;

    let ua: UserAgent = match client.classify() {
        Classified::Bot(why) => return Ok(Parsed::Bot(why)),
        Classified::Human(ua) => ua,
    };

    if payload.name.trim() == ENGAGEMENT {
        return match client {
            Client::Request(meta) => engagement(&payload, &site, meta, ctx).map(Parsed::Engagement),
            Client::Export(_) => Err(CollectError::InvalidField(format!(
                "field n (event name): {ENGAGEMENT:?} is reserved for the tracker's engagement updates"
            ))),
        };
    }
    let name = EventName::parse(payload.name).map_err(|e| CollectError::InvalidField(e.0))?;
    let revenue = match payload.revenue {
        None => None,
        // Revenue goals count custom events (a purchase); a page view earns nothing itself.
        Some(_) if name.is_pageview() => {
            return Err(CollectError::InvalidField(
                "field $ (revenue) belongs to custom events, not to a pageview".into(),
            ));
        }
        Some(value) => Some(Revenue::parse(value).map_err(|e| CollectError::InvalidField(e.0))?),
    };
    let (url, path) = page(payload.url, payload.hash_mode, &site)?;
    let host = url.host_str().unwrap_or_default();
    let props = match &payload.props {
        Some(map) => Props::parse(map).map_err(|e| CollectError::InvalidField(e.to_string()))?,
        None => Props::default(),
    };
    let viewport_width = match payload.width {
        None => None,
        // Browsers report whole CSS pixels; anything outside this range is not a screen.
        Some(w) if (0.0..=100_000.0).contains(&w) => Some(w.round() as i32),
        Some(_) => {
            return Err(CollectError::InvalidField(
                "field w (viewport width) must be between 0 and 100000".into(),
            ));
        }
    };
    let referrer = match payload.referrer.map(str::trim) {
        Some(r) if r.chars().count() > MAX_URL_CHARS => {
            return Err(CollectError::InvalidField(format!(
                "field r (referrer) is longer than {MAX_URL_CHARS} characters"
            )));
        }
        Some(r) if !r.is_empty() => referrer::source(r, site.domain.as_str()),
        _ => None,
    };
    let geo = client.geo(ctx.geoip);
    let visitor_id = client.visitor(&site, ctx);

    Ok(Parsed::Event(Box::new(Event {
        site_id: site.id,
        created_at: client.received_at(),
        visitor_id,
        hostname: host.to_owned(),
        path,
        utm: utm_from(&url),
        referrer_source: referrer.as_ref().map(|r| r.source.clone()),
        referrer: referrer.map(|r| r.url),
        browser: ua.browser,
        browser_version: ua.browser_version,
        os: ua.os,
        os_version: ua.os_version,
        device: ua.device.as_str(),
        country: geo.country,
        region: geo.region,
        city: geo.city,
        viewport_width,
        props,
        revenue,
        name,
    })))
}

/// An engagement update: its figures, and the page and visitor exactly as a pageview sent now
/// would have them, so that it finds that pageview. `r`, `w`, `p` and `$` are ignored: the
/// pageview carries them already, and a tracker that sends its page's props with every request
/// (as some do) loses nothing.
fn engagement(
    payload: &Fields<'_>,
    site: &Site,
    meta: RequestMeta<'_>,
    ctx: Enrichment<'_>,
) -> Result<Engagement, CollectError> {
    let figures = Figures::parse(payload.engaged, payload.scroll)
        .map_err(|e| CollectError::InvalidField(e.0))?;
    let (_, path) = page(payload.url, payload.hash_mode, site)?;
    Ok(Engagement {
        site_id: site.id,
        created_at: meta.received_at,
        visitor_id: visitor(site, meta, ctx),
        path,
        figures,
    })
}

/// The site `d` names: as registered, else without a leading `www.`. Plausible's trackers may
/// name several sites (`d: "a.com,b.com"`, one event for each); footfall stores it once, for
/// the first it knows.
pub fn site_of(d: &str, sites: &SiteCache) -> Result<std::sync::Arc<Site>, CollectError> {
    let mut first = None;
    for candidate in d.split(',') {
        let domain = candidate.trim().to_ascii_lowercase();
        let bare = domain.strip_prefix("www.");
        if let Some(site) = sites
            .get(&domain)
            .or_else(|| bare.and_then(|bare| sites.get(bare)))
        {
            return Ok(site);
        }
        first.get_or_insert(domain);
    }
    let domain = first.unwrap_or_default();
    Err(CollectError::UnknownSite(
        truncate_chars(&domain, 100).to_owned(),
    ))
}

/// The page URL `u`, checked, and its path as stored: with the fragment only in hash mode (`h`),
/// as Plausible stores it, so `/docs#install` is the page `/docs` unless the site routes by hash.
fn page(u: &str, hash_mode: bool, site: &Site) -> Result<(url::Url, PagePath), CollectError> {
    if u.chars().count() > MAX_URL_CHARS {
        return Err(CollectError::InvalidField(format!(
            "field u (page URL) is longer than {MAX_URL_CHARS} characters"
        )));
    }
    let url = url::Url::parse(u)
        .map_err(|e| CollectError::InvalidField(format!("field u (page URL) is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CollectError::InvalidField(
            "field u (page URL) must be an http or https URL".into(),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| CollectError::InvalidField("field u (page URL) has no host".into()))?;
    if !site.domain.covers_host(host) {
        return Err(CollectError::HostMismatch {
            host: truncate_chars(host, 100).to_owned(),
            domain: site.domain.to_string(),
        });
    }
    let fragment = url.fragment().filter(|_| hash_mode);
    let path = PagePath::parse(url.path(), fragment)
        .map_err(|e| CollectError::InvalidField(format!("field u: {}", e.0)))?;
    Ok((url, path))
}

/// The visitor id of this request. The site's local day, as the dashboard counts days: a visit
/// across midnight UTC on a site in New York stays one visitor.
fn visitor(site: &Site, meta: RequestMeta<'_>, ctx: Enrichment<'_>) -> VisitorId {
    ctx.salts.visitor_id(
        local_day(site, meta.received_at),
        site.id,
        meta.ip,
        meta.user_agent,
    )
}

fn local_day(site: &Site, at: DateTime<Utc>) -> chrono::NaiveDate {
    at.with_timezone(&site.timezone.0).date_naive()
}

/// UTM parameters from the page URL; every other query parameter is dropped (it may carry
/// tokens, emails or session ids).
pub fn utm_from(url: &url::Url) -> Utm {
    let mut utm = Utm::default();
    let Some(query) = url.query() else {
        return utm;
    };
    // Not `query_pairs`: it turns bytes that are not UTF-8 into U+FFFD; `query_value` keeps
    // them encoded, so they stay visible for what they are.
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match decode::query_value(key).as_ref() {
            "utm_source" => &mut utm.source,
            "utm_medium" => &mut utm.medium,
            "utm_campaign" => &mut utm.campaign,
            "utm_content" => &mut utm.content,
            "utm_term" => &mut utm.term,
            _ => continue,
        };
        // Visitors can put anything in a link's query: invisible and control characters are
        // removed rather than refused (see `domain::is_hidden_char`).
        let value = decode::query_value(value);
        let value = strip_hidden_chars(&value);
        let value = truncate_chars(value.trim(), MAX_UTM_CHARS);
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }
    utm
}

/// Whether a request's content type is one the tracker or a person with curl would send.
pub fn content_type_allowed(content_type: Option<&str>) -> Result<(), CollectError> {
    let Some(ct) = content_type else {
        return Ok(());
    };
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("text/plain")
    {
        Ok(())
    } else {
        Err(CollectError::UnsupportedMediaType(
            truncate_chars(ct, 100).to_owned(),
        ))
    }
}
