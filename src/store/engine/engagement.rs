//! Engagement figures from segments (`StatsStore::engagement`): the measured pageviews among a
//! question's event rows — exactly the rows its other answers count — summed in all, per page, or
//! per attribute of their visit. Only the events with figures are looked at
//! (`Events::engaged_event`, sparse), so a day costs next to nothing where nobody measures; an
//! unfiltered question's sums of a closed day are kept with its segment (`scan::EngagedMemo`), as
//! its other unfiltered tallies are.

use super::rows::session_dim;
use super::scan::{Day, Question};
use crate::stats::{Dimension, EngagementSums};
use std::collections::HashMap;
use std::sync::Arc;

/// How measured pageviews are grouped.
#[derive(Clone, Copy)]
enum By {
    All,
    Page,
    /// Index into `SESSION_DIMS`.
    Visit(usize),
}

impl By {
    /// Its key in a segment's memo (`scan::EngagedMemo`).
    fn key(self) -> Option<usize> {
        match self {
            By::All => None,
            By::Page => Some(usize::MAX),
            By::Visit(i) => Some(i),
        }
    }
}

/// One day's sums, by code of the grouping's column (one group in all).
fn day_sums(day: &Day, by: By) -> Vec<EngagementSums> {
    let (seg, m) = (day.seg, day.m);
    let events = &seg.events;
    let v = &seg.visits;
    let groups = match by {
        By::All => 1,
        By::Page => events.path.dict.len(),
        By::Visit(i) => v.dims[i].dict.len(),
    };
    let mut sums = vec![EngagementSums::default(); groups];
    let Some(pageview) = events.pageview_code() else {
        return sums;
    };
    let mut s = 0;
    for (k, &e) in events.engaged_event.iter().enumerate() {
        let e = e as usize;
        if !m.event_rows.get(e) || events.name.code(e) != pageview {
            continue;
        }
        let group = match by {
            By::All => 0,
            By::Page => events.path.code(e),
            By::Visit(i) => {
                while v.event_start[s + 1] as usize <= e {
                    s += 1;
                }
                // Joined to its visit: an event without a visit row has no such value.
                if v.orphan.get(s) {
                    continue;
                }
                v.dims[i].code(s)
            }
        };
        let t = &mut sums[group as usize];
        t.pageviews += 1;
        t.engaged_ms += i64::from(events.engaged_ms[k]);
        t.scroll += i64::from(events.scroll[k].saturating_sub(1));
    }
    sums
}

/// `day_sums`, from the segment's memo where the question is unfiltered.
fn memoised(day: &Day, by: By) -> Arc<[EngagementSums]> {
    let Some(Ok(mut memo)) = day.engaged.map(|m| m.lock()) else {
        return day_sums(day, by).into();
    };
    memo.entry(by.key())
        .or_insert_with(|| day_sums(day, by).into())
        .clone()
}

pub(crate) fn engagement(
    q: &Question,
    by: Option<&Dimension>,
) -> Vec<(Option<String>, EngagementSums)> {
    let by = match by {
        None => By::All,
        Some(Dimension::Page) => By::Page,
        Some(d) => match session_dim(d) {
            Some(i) => By::Visit(i),
            None => return Vec::new(),
        },
    };
    let mut out: HashMap<String, EngagementSums> = HashMap::new();
    for day in &q.days {
        if q.deadline.passed() {
            break;
        }
        let col = match by {
            By::All => None,
            By::Page => Some(&day.seg.events.path),
            By::Visit(i) => Some(&day.seg.visits.dims[i]),
        };
        let sums = memoised(day, by);
        for (code, t) in sums.iter().enumerate().filter(|(_, t)| t.pageviews > 0) {
            let value = col.map_or("", |c| c.value(code as u32));
            match out.get_mut(value) {
                Some(sum) => sum.add(t),
                None => {
                    out.insert(value.to_owned(), *t);
                }
            }
        }
    }
    if matches!(by, By::All) && out.is_empty() {
        out.insert(String::new(), EngagementSums::default());
    }
    out.into_iter()
        .map(|(value, t)| ((!value.is_empty()).then_some(value), t))
        .collect()
}
