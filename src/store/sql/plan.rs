//! How a question is answered from raw rows: the UTC bounds of its local days and the offsets that
//! turn instants into days, and the grain it counts at.

use super::filters::{Col, Scope, Split};
use crate::stats::StatsQuery;
use crate::stats::calendar::{self, Segment};
use chrono_tz::Tz;

/// The raw part of a question: instants `start..end`, and the offsets that turn them into days.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Raw {
    pub start: i64,
    pub end: i64,
    pub segments: Vec<Segment>,
}

impl Raw {
    /// The range as the filters' conditions look for a goal's conversions in it.
    pub fn scope(&self, site: i64) -> Scope {
        Scope {
            site,
            start: self.start,
            end: self.end,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub site: i64,
    pub tz: Tz,
    /// Days `from..=to` of the question; empty when `from > to`.
    pub from: i64,
    pub to: i64,
    /// The question's instants, read from raw rows; `None` when the range is empty.
    pub raw: Option<Raw>,
}

impl Plan {
    pub fn new(query: &StatsQuery) -> Self {
        let tz = query.timezone.0;
        let from = calendar::day_number(query.from);
        let to = calendar::day_number(query.to);
        let raw = (from <= to).then(|| {
            let start = calendar::day_start(tz, from);
            let end = calendar::day_start(tz, to + 1);
            Raw {
                start,
                end,
                segments: calendar::offsets(tz, start, end),
            }
        });
        Self {
            site: query.site.0,
            tz,
            from,
            to,
            raw,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.from > self.to
    }
}

/// Whom the visitors, pageviews and events of an answer are counted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grain {
    /// Matching events, each on its own local day.
    Event,
    /// Matching visits, whole, on the local day they started.
    Visit,
}

impl Grain {
    /// Visits when the question is about visits only (session-level filters or breakdown, no
    /// event-level filter); events otherwise.
    pub fn of(filters: &Split, breakdown: Option<&Col>) -> Self {
        let about_visits = match breakdown {
            Some(col) => col.is_session(),
            None => !filters.session.is_empty(),
        };
        if about_visits && filters.event.is_empty() {
            Self::Visit
        } else {
            Self::Event
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SiteId, TimeZone};
    use chrono::NaiveDate;

    fn query(from: &str, to: &str) -> StatsQuery {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        StatsQuery {
            site: SiteId(1),
            timezone: TimeZone::parse("Europe/Berlin").unwrap_or_default(),
            from: day(from),
            to: day(to),
            filters: Vec::new(),
        }
    }

    #[test]
    fn a_plan_covers_the_local_days_of_the_question() {
        let q = query("2026-03-01", "2026-03-31");
        let raw = Plan::new(&q).raw.unwrap_or_else(|| panic!("no raw part"));
        // March 2026 has the spring-forward day: 31 days minus one hour, two offsets.
        assert_eq!(raw.end - raw.start, 31 * 86_400 - 3600);
        assert_eq!(raw.segments.len(), 2);
        assert!(Plan::new(&query("2026-03-02", "2026-03-01")).raw.is_none());
    }
}
