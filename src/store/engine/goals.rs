//! Goal conversions from segments (`StatsStore::goal_conversions`): every goal of the Goals table
//! in one pass over the view's matches, instead of one filtered question per goal — which would
//! also push the view's own matches out of each segment's cache (`MATCH_CACHE`). A goal's
//! conversions are the events passing its test among the view's event rows: exactly those of
//! the view's question with the goal's filters added (all event-level), so visitors are
//! counted per day on the event grain, as `scan::aggregate` counts them.
//!
//! Most goals test only an event's name and path: those are looked up in dictionary masks as
//! each event goes by, all goals at once; a goal with a prop gets its bit set first.

use super::column::Bits;
use super::filter::{Mask, StepTest};
use super::scan::Question;

/// How one goal is tested on one segment.
enum Test {
    /// Masks over the name and path dictionaries (`None`: any).
    Codes(Mask, Mask),
    Bits(Bits),
}

impl Test {
    #[inline]
    fn passes(&self, e: usize, name: u32, path: u32) -> bool {
        match self {
            Self::Codes(n, p) => {
                n.as_ref().is_none_or(|m| m[name as usize])
                    && p.as_ref().is_none_or(|m| m[path as usize])
            }
            Self::Bits(bits) => bits.get(e),
        }
    }
}

/// (visitors, pageviews, events) per goal.
pub(crate) fn conversions(q: &Question, goals: &[StepTest]) -> Vec<(i64, i64, i64)> {
    let mut out = vec![(0, 0, 0); goals.len()];
    for day in &q.days {
        if q.deadline.passed() {
            break;
        }
        let seg = day.seg;
        let v = &seg.visits;
        let events = &seg.events;
        let pageview = events.pageview_code();
        let tests: Vec<Test> = goals
            .iter()
            .map(|g| match g.masks(seg) {
                Some((name, path)) => Test::Codes(name, path),
                None => Test::Bits(g.bits(seg)),
            })
            .collect();
        // Visits are in visitor order: a visitor counts once per goal, when it first converts.
        let mut last = vec![u32::MAX; goals.len()];
        let rows = &day.m.event_rows;
        for s in 0..v.len {
            let visitor = v.visitor.get(s);
            for e in v.events_of(s) {
                if !rows.get(e) {
                    continue;
                }
                let (name, path) = (events.name.code(e), events.path.code(e));
                let is_pageview = i64::from(Some(name) == pageview);
                for ((test, tally), seen) in tests.iter().zip(&mut out).zip(&mut last) {
                    if test.passes(e, name, path) {
                        if *seen != visitor {
                            tally.0 += 1;
                            *seen = visitor;
                        }
                        tally.1 += is_pageview;
                        tally.2 += 1;
                    }
                }
            }
        }
    }
    out
}
