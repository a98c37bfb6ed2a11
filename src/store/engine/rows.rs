//! The rows a segment is built from, as read from the database: events with their visit's id,
//! and the visits' rows. Text is interned (`Symbols`) so that a day held in memory (the open day)
//! costs a few words per row, not a string per cell.

use crate::stats::Dimension;
use std::collections::HashMap;

/// An interned string; 0 is "not set" (NULL or '').
pub(crate) type Sym = u32;

/// The session-level dimensions, in `Dimension::FIXED` order: the columns of a segment's visits.
pub(crate) const SESSION_DIMS: [Dimension; 17] = [
    Dimension::EntryPage,
    Dimension::ExitPage,
    Dimension::Source,
    Dimension::Referrer,
    Dimension::UtmSource,
    Dimension::UtmMedium,
    Dimension::UtmCampaign,
    Dimension::UtmContent,
    Dimension::UtmTerm,
    Dimension::Country,
    Dimension::Region,
    Dimension::City,
    Dimension::Browser,
    Dimension::BrowserVersion,
    Dimension::Os,
    Dimension::OsVersion,
    Dimension::Device,
];

/// Where `dimension` is among `SESSION_DIMS`, if it is session-level.
pub(crate) fn session_dim(dimension: &Dimension) -> Option<usize> {
    SESSION_DIMS.iter().position(|d| d == dimension)
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Symbols {
    index: HashMap<Box<str>, Sym>,
    values: Vec<Box<str>>,
}

impl Symbols {
    pub fn new() -> Self {
        let mut s = Self::default();
        s.values.push("".into());
        s.index.insert("".into(), 0);
        s
    }

    pub fn intern(&mut self, value: Option<&str>) -> Sym {
        let value = value.unwrap_or("");
        if let Some(&sym) = self.index.get(value) {
            return sym;
        }
        let sym = self.values.len() as Sym;
        self.values.push(value.into());
        self.index.insert(value.into(), sym);
        sym
    }

    pub fn get(&self, sym: Sym) -> &str {
        self.values.get(sym as usize).map_or("", |v| v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventRow {
    pub id: i64,
    /// Unix seconds.
    pub created_at: i64,
    pub visitor_id: i64,
    pub session_id: i64,
    pub name: Sym,
    pub path: Sym,
    /// (key, value) pairs.
    pub props: Box<[(Sym, Sym)]>,
    pub engagement: Engagement,
}

/// A pageview's engagement figures as the segment holds them: engaged milliseconds plus one and
/// scroll depth plus one, 0 where not set (no update reached the pageview, or not a pageview).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Engagement {
    pub engaged: u32,
    pub scroll: u8,
}

impl Engagement {
    /// From the stored columns; a value out of range (the parser bounds them: at most a day of
    /// milliseconds, 0–100 percent) is not believed, as if not set.
    pub fn stored(engaged_ms: Option<i64>, scroll_depth: Option<i64>) -> Self {
        let engaged = engaged_ms
            .filter(|ms| (0..=i64::from(crate::domain::Figures::MAX_ENGAGED_MS)).contains(ms))
            .map_or(0, |ms| ms as u32 + 1);
        let scroll = scroll_depth
            .filter(|d| (0..=100).contains(d))
            .map_or(0, |d| d as u8 + 1);
        Self { engaged, scroll }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRow {
    pub id: i64,
    pub visitor_id: i64,
    pub started_at: i64,
    pub ended_at: i64,
    pub pageviews: i64,
    pub events: i64,
    /// Values of `SESSION_DIMS`, in order.
    pub dims: [Sym; 17],
}

/// Events (any days) and the visits they belong to.
#[derive(Debug, Default, Clone)]
pub(crate) struct Rows {
    pub symbols: Symbols,
    pub events: Vec<EventRow>,
    pub sessions: HashMap<i64, SessionRow>,
}

impl Rows {
    pub fn new() -> Self {
        Self {
            symbols: Symbols::new(),
            ..Self::default()
        }
    }

    /// The visitor an event's rows are sorted under: its visit's (an event without a stored
    /// visit: its own).
    pub fn visitor_of(&self, e: &EventRow) -> i64 {
        self.sessions
            .get(&e.session_id)
            .map_or(e.visitor_id, |s| s.visitor_id)
    }

    /// Parses an event's props (a JSON object of strings, as the writer stores them).
    pub fn props(&mut self, json: Option<&str>) -> Result<Box<[(Sym, Sym)]>, String> {
        let Some(json) = json else {
            return Ok(Box::default());
        };
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| format!("props {json:?}: {e}"))?;
        Ok(map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (
                    self.symbols.intern(Some(k)),
                    self.symbols.intern(Some(&text)),
                )
            })
            .collect())
    }
}
