//! Funnels from segments (`stats::funnel`): each visit's events walked in order, day after day —
//! a visit that spans midnight carries its walk to the next day by id, as the raw-rows path
//! walks it in one go. A visitor is the visit's visitor ordinal in the segment where it reached
//! step 1: an open day may come as several segments, each numbering its visitors from 0, but
//! they split the day by visitor, so (segment, ordinal) is as distinct as the raw path's
//! `(day, visitor_id)`.

use super::filter::StepTest;
use super::scan::Question;
use crate::stats::funnel::{Tally, Walk};
use std::collections::HashMap;

/// Visitors per step.
pub(crate) fn funnel(q: &Question, steps: &[StepTest]) -> Vec<i64> {
    let n = steps.len();
    let mut tally = Tally::new(n);
    let mut spanning: HashMap<i64, Walk> = HashMap::new();
    for (at, day) in q.days.iter().enumerate() {
        if q.deadline.passed() {
            break;
        }
        let seg = day.seg;
        let v = &seg.visits;
        let passes: Vec<_> = steps.iter().map(|s| s.bits(seg)).collect();
        for s in 0..v.len {
            if day.m.sess.as_ref().is_some_and(|sess| !sess.get(s)) {
                continue;
            }
            let span = if v.spans.get(s) { v.span_id(s) } else { None };
            let mut walk = span.and_then(|id| spanning.remove(&id)).unwrap_or_default();
            let visitor = i64::from(v.visitor.get(s));
            for e in v.events_of(s) {
                if walk.done(n) {
                    break;
                }
                walk.event(n, at as i64, visitor, |step| passes[step].get(e));
            }
            match span {
                Some(id) => {
                    spanning.insert(id, walk);
                }
                None => tally.add(&walk),
            }
        }
    }
    for walk in spanning.values() {
        tally.add(walk);
    }
    tally.visitors()
}
