//! Goal conversions from segments (`StatsStore::goal_conversions`): every goal of the Goals table
//! in one pass over the view's matches, instead of one filtered question per goal — which would
//! also push the view's own matches out of each segment's cache (`MATCH_CACHE`). A goal's
//! conversions are the events passing its test among the view's event rows: exactly those of
//! the view's question with the goal's filters added (all event-level), so visitors are
//! counted per day on the event grain, as `scan::aggregate` counts them.

use super::filter::StepTest;
use super::scan::Question;

/// (visitors, pageviews, events) per goal.
pub(crate) fn conversions(q: &Question, goals: &[StepTest]) -> Vec<(i64, i64, i64)> {
    let mut out = vec![(0, 0, 0); goals.len()];
    for day in &q.days {
        if q.deadline.passed() {
            break;
        }
        let seg = day.seg;
        let v = &seg.visits;
        let pageview = seg.events.pageview_code();
        for (test, tally) in goals.iter().zip(&mut out) {
            let converting = test.bits(seg).and(&day.m.event_rows);
            // Events are in visit order and visits in visitor order, so a visitor's events are
            // contiguous: a new visitor is one that differs from the last.
            let mut s = 0;
            let mut last = None;
            for e in converting.ones() {
                while v.event_start[s + 1] as usize <= e {
                    s += 1;
                }
                let visitor = v.visitor.get(s);
                if last != Some(visitor) {
                    tally.0 += 1;
                    last = Some(visitor);
                }
                tally.2 += 1;
                if Some(seg.events.name.code(e)) == pageview {
                    tally.1 += 1;
                }
            }
        }
    }
    out
}
