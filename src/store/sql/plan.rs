//! How a question is answered: which of its days are read from rollups and which from raw rows
//! (with the UTC bounds and offsets of the raw part), and at which grain it counts.

use super::filters::{Col, Split};
use crate::stats::calendar::{self, BlockRun, Segment};
use crate::stats::{FilterOp, StatsQuery};
use chrono_tz::Tz;

/// The raw part of a question: instants `start..end`, and the offsets that turn them into days.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Raw {
    pub start: i64,
    pub end: i64,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub site: i64,
    pub tz: Tz,
    /// Days `from..=to` of the question; empty when `from > to`.
    pub from: i64,
    pub to: i64,
    /// Days read from rollups.
    pub rolled: Option<(i64, i64)>,
    /// The remaining days, read from raw rows.
    pub raw: Option<Raw>,
}

impl Plan {
    /// `built_through`: the last day whose rollups are complete, when the question may use them.
    pub fn new(query: &StatsQuery, built_through: Option<i64>) -> Self {
        let tz = query.timezone.0;
        let from = calendar::day_number(query.from);
        let to = calendar::day_number(query.to);
        let rolled_to = built_through.map_or(from - 1, |b| b.min(to));
        let rolled = (from <= rolled_to).then_some((from, rolled_to));
        let raw_from = rolled_to.max(from - 1) + 1;
        let raw = (raw_from <= to).then(|| {
            let start = calendar::day_start(tz, raw_from);
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
            rolled,
            raw,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.from > self.to
    }

    /// The rolled days as aligned blocks.
    pub fn blocks(&self) -> Vec<BlockRun> {
        self.rolled
            .map(|(from, to)| calendar::blocks(from, to))
            .unwrap_or_default()
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

/// What rollups can answer an aggregate or a time series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rollup {
    /// No filters: the daily totals.
    Totals,
    /// One `Is` filter on a session-level dimension: that value's rows.
    Value { dim: String, value: String },
    /// Anything else is read raw.
    None,
}

impl Rollup {
    pub fn for_filters(filters: &Split) -> Self {
        match (filters.session.as_slice(), filters.event.is_empty()) {
            ([], true) => Self::Totals,
            // A NUL value matches nothing, which the raw condition knows; bound against the
            // rollups it would be an error on Postgres (its text cannot hold NUL).
            ([only], true) if only.op == FilterOp::Is && !only.value.contains('\0') => {
                Self::Value {
                    dim: only.dimension.name().to_owned(),
                    value: only.value.clone(),
                }
            }
            _ => Self::None,
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
    fn built_days_come_from_rollups_and_the_rest_from_raw_rows() {
        let q = query("2026-03-01", "2026-03-31");
        let (from, to) = (calendar::day_number(q.from), calendar::day_number(q.to));
        let plan = Plan::new(&q, Some(to - 1));
        assert_eq!(plan.rolled, Some((from, to - 1)));
        let raw = plan.raw.unwrap_or_else(|| panic!("no raw part"));
        assert_eq!(raw.end - raw.start, 86_400);

        let all_raw = Plan::new(&q, None);
        assert_eq!(all_raw.rolled, None);
        let raw = all_raw.raw.unwrap_or_else(|| panic!("no raw part"));
        // March 2026 has the spring-forward day: 31 days minus one hour, two offsets.
        assert_eq!(raw.end - raw.start, 31 * 86_400 - 3600);
        assert_eq!(raw.segments.len(), 2);

        let all_rolled = Plan::new(&q, Some(to + 5));
        assert_eq!(
            (all_rolled.rolled, all_rolled.raw),
            (Some((from, to)), None)
        );

        let before = Plan::new(&q, Some(from - 3));
        assert_eq!(before.rolled, None);
        assert!(before.raw.is_some());
    }
}
