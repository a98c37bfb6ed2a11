//! The step every format shares: a row, written as the collection contract's body, goes through
//! `ingest::parser` exactly as a live event does, with the row's time, and its client as the
//! row knows it (a logged request's address and user agent, or an export's visitor key).

use super::report::SkipReason;
use crate::domain::{Event, Site};
use crate::ingest::parser::{self, Enrichment, ExportMeta, Parsed, RequestMeta};
use serde_json::{Map, Value};

/// The collection contract's fields an imported row fills (`d` is always the site's).
#[derive(Debug, Default)]
pub struct Body<'a> {
    pub n: &'a str,
    pub u: &'a str,
    pub r: Option<&'a str>,
    pub p: Option<&'a Map<String, Value>>,
}

#[derive(serde::Serialize)]
struct Wire<'a> {
    n: &'a str,
    u: &'a str,
    d: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<&'a Map<String, Value>>,
}

/// Who the row says sent it.
#[derive(Debug, Clone, Copy)]
pub enum Client<'a> {
    Request(RequestMeta<'a>),
    Export(ExportMeta<'a>),
}

pub struct Collector<'a> {
    site: &'a Site,
    enrichment: Enrichment<'a>,
    /// Reused between rows.
    body: Vec<u8>,
}

impl<'a> Collector<'a> {
    pub fn new(site: &'a Site, enrichment: Enrichment<'a>) -> Self {
        Self {
            site,
            enrichment,
            body: Vec::new(),
        }
    }

    /// The site being imported.
    pub fn site(&self) -> &'a Site {
        self.site
    }

    /// The event the parser makes of `body` from `client`, or why it made none.
    pub fn event(&mut self, body: &Body<'_>, client: Client<'_>) -> Result<Event, SkipReason> {
        self.body.clear();
        let wire = Wire {
            n: body.n,
            u: body.u,
            d: self.site.domain.as_str(),
            r: body.r,
            p: body.p,
        };
        serde_json::to_writer(&mut self.body, &wire).map_err(|_| SkipReason::Invalid)?;
        let parsed = match client {
            Client::Request(meta) => parser::parse(&self.body, meta, self.enrichment),
            Client::Export(meta) => parser::parse_exported(&self.body, meta, self.enrichment),
        };
        match parsed {
            Ok(Parsed::Event(event)) => Ok(*event),
            Ok(Parsed::Bot(_)) => Err(SkipReason::Bot),
            // Never: no format posts engagement updates, and exports may not (see the parser).
            Ok(Parsed::Engagement(_)) => Err(SkipReason::Invalid),
            Err(e) => {
                tracing::debug!(error = %e, "the collection parser refused an imported row");
                Err(SkipReason::Invalid)
            }
        }
    }
}
