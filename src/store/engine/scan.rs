//! Questions answered from segments, with exactly the meaning of the SQL path (`store::sql`,
//! metric definitions in `crate::stats`): per day, a segment's matching visits and events are
//! tallied by group (distinct visitors by comparing with the last visitor seen in that group);
//! days add up. The only figures that do not add up by day are the visit figures of questions
//! with an event-level filter or value — a visit counts once in a range however many of its days
//! matched — and only visits spanning midnight can tell the difference, so those few are carried
//! across days by id.

use super::column::Column;
use super::filter::{Compiled, Matches, prop_key};
use super::rows::session_dim;
use super::segment::Segment;
use crate::stats::{
    Aggregate, BreakdownRow, Dimension, EngagementSums, Interval, Metrics, VisitSums,
};
use crate::store::deadline::Deadline;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Per-segment tallies of unfiltered questions, kept with the segment: a closed day's unfiltered
/// figures never change, and they are what every dashboard opens with. Kept packed: a year of
/// days holds millions of them.
pub(crate) type Memo = Mutex<HashMap<Part, Box<[Packed]>>>;

/// A memoised `Tally` in 32 bytes instead of 56: one day's counts fit in 32 bits, its summed
/// durations in 64. A tally that does not fit is not memoised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed {
    visitors: u32,
    pageviews: u32,
    events: u32,
    visits: u32,
    bounces: u32,
    visit_pageviews: u32,
    duration: u64,
}

impl Packed {
    fn pack(t: &Tally) -> Option<Self> {
        let small = |n: i64| u32::try_from(n).ok();
        Some(Self {
            visitors: small(t.visitors)?,
            pageviews: small(t.pageviews)?,
            events: small(t.events)?,
            visits: small(t.visits.visits)?,
            bounces: small(t.visits.bounces)?,
            visit_pageviews: small(t.visits.pageviews)?,
            duration: u64::try_from(t.visits.duration).ok()?,
        })
    }

    fn unpack(&self) -> Tally {
        Tally {
            visitors: i64::from(self.visitors),
            pageviews: i64::from(self.pageviews),
            events: i64::from(self.events),
            visits: VisitSums {
                visits: i64::from(self.visits),
                bounces: i64::from(self.bounces),
                duration: i64::try_from(self.duration).unwrap_or(i64::MAX),
                pageviews: i64::from(self.visit_pageviews),
            },
        }
    }
}

/// What a memoised tally is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    EventTotal,
    VisitTotal,
    Breakdown(Dimension),
    PropKeys,
}

/// Per-segment engagement sums of unfiltered questions (`engagement`), by grouping: a closed
/// day's never change, and every dashboard opens with three such questions.
pub(crate) type EngagedMemo = Mutex<HashMap<Option<usize>, Arc<[EngagementSums]>>>;

/// One day of a question: its segment, what passes the filters there, and (for unfiltered
/// questions) the segment's memos.
pub(crate) struct Day<'a> {
    pub seg: &'a Segment,
    pub m: &'a Matches,
    pub memo: Option<&'a Memo>,
    pub engaged: Option<&'a EngagedMemo>,
}

impl Day<'_> {
    fn part(&self, key: Part, compute: impl FnOnce() -> Vec<Tally>) -> Arc<Vec<Tally>> {
        let Some(memo) = self.memo else {
            return Arc::new(compute());
        };
        // Computed under the lock: the dashboard asks for a segment's parts from many threads at
        // once, and each would otherwise do the same work (and hold its memory) alongside.
        let Ok(mut memo) = memo.lock() else {
            return Arc::new(compute());
        };
        if let Some(packed) = memo.get(&key) {
            return Arc::new(packed.iter().map(Packed::unpack).collect());
        }
        let tallies = compute();
        if let Some(packed) = tallies
            .iter()
            .map(Packed::pack)
            .collect::<Option<Box<[_]>>>()
        {
            memo.insert(key, packed);
        }
        Arc::new(tallies)
    }
}

/// A question's days (those with data), its range and filters, and when it must be answered by.
pub(crate) struct Question<'a> {
    pub days: Vec<Day<'a>>,
    /// The range's first instant.
    pub start: i64,
    pub filters: &'a Compiled,
    pub deadline: Deadline,
}

impl<'a> Question<'a> {
    /// The days to scan, which end early once the deadline has passed (the caller then throws
    /// the partial answer away): a look at the clock per day.
    fn days(&self) -> impl Iterator<Item = &Day<'a>> {
        self.days.iter().take_while(|_| !self.deadline.passed())
    }
}

/// Sums of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub visitors: i64,
    pub pageviews: i64,
    pub events: i64,
    pub visits: VisitSums,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.visitors += other.visitors;
        self.pageviews += other.pageviews;
        self.events += other.events;
        add_sums(&mut self.visits, &other.visits);
    }
}

fn add_sums(a: &mut VisitSums, b: &VisitSums) {
    a.visits += b.visits;
    a.bounces += b.bounces;
    a.duration += b.duration;
    a.pageviews += b.pageviews;
}

fn sums_of(seg: &Segment, s: usize) -> VisitSums {
    let v = &seg.visits;
    let pv = i64::from(v.pageviews.get(s));
    VisitSums {
        visits: 1,
        bounces: i64::from(pv <= 1),
        duration: i64::from(v.duration.get(s)),
        pageviews: pv,
    }
}

/// Distinct-visitor counting per group: rows come in visitor order, so a visitor is new to a
/// group exactly when it differs from the last one the group saw.
struct Groups {
    tallies: Vec<Tally>,
    last: Vec<u32>,
}

impl Groups {
    fn new(n: usize) -> Self {
        Self {
            tallies: vec![Tally::default(); n],
            last: vec![u32::MAX; n],
        }
    }

    #[inline]
    fn at(&mut self, g: usize, visitor: u32) -> &mut Tally {
        let t = &mut self.tallies[g];
        if self.last[g] != visitor {
            self.last[g] = visitor;
            t.visitors += 1;
        }
        t
    }
}

/// Event grain: the segment's event rows (events passing the event-level filters, in visits
/// passing the visit-level ones) by `group(visit, event)`.
fn tally_events(
    seg: &Segment,
    m: &Matches,
    groups: usize,
    mut group: impl FnMut(usize, usize) -> Option<u32>,
) -> Vec<Tally> {
    let v = &seg.visits;
    let names = &seg.events.name;
    let pv = seg.events.pageview_code();
    let mut out = Groups::new(groups);
    let mut s = 0;
    for e in m.event_rows.ones() {
        while v.event_start[s + 1] as usize <= e {
            s += 1;
        }
        let Some(g) = group(s, e) else { continue };
        let t = out.at(g as usize, v.visitor.get(s));
        t.events += 1;
        t.pageviews += i64::from(Some(names.code(e)) == pv);
    }
    out.tallies
}

/// Event grain grouped by an attribute of the visit, `group(visit)`: a visit's event rows all
/// fall in its group, so it is tallied once with its counts.
fn tally_event_visits(
    seg: &Segment,
    m: &Matches,
    groups: usize,
    mut group: impl FnMut(usize) -> Option<u32>,
) -> Vec<Tally> {
    let v = &seg.visits;
    let mut out = Groups::new(groups);
    for &(s, events, pageviews) in m.per_visit(seg) {
        let s = s as usize;
        let Some(g) = group(s) else { continue };
        let t = out.at(g as usize, v.visitor.get(s));
        t.events += i64::from(events);
        t.pageviews += i64::from(pageviews);
    }
    out.tallies
}

/// Event grain by the value of prop `key`: events that have it.
fn tally_prop(seg: &Segment, m: &Matches, key: &str) -> Vec<Tally> {
    let events = &seg.events;
    let mut out = Groups::new(events.prop_value.dict.len());
    let Some(k) = prop_key(seg, key) else {
        return out.tallies;
    };
    let v = &seg.visits;
    let pv = events.pageview_code();
    let mut s = 0;
    for (i, &e) in events.prop_event.iter().enumerate() {
        let e = e as usize;
        if events.prop_key.code(i) != k || !m.event_rows.get(e) {
            continue;
        }
        while v.event_start[s + 1] as usize <= e {
            s += 1;
        }
        let t = out.at(events.prop_value.code(i) as usize, v.visitor.get(s));
        t.events += 1;
        t.pageviews += i64::from(Some(events.name.code(e)) == pv);
    }
    out.tallies
}

/// Visit grain: the visits that started on the segment's day and pass the visit-level filters,
/// by `group(visit)`, whole (their own pageview and event counts).
fn tally_visits(
    seg: &Segment,
    m: &Matches,
    groups: usize,
    mut group: impl FnMut(usize) -> Option<u32>,
) -> Vec<Tally> {
    let v = &seg.visits;
    let mut out = Groups::new(groups);
    for s in m.visit_rows.ones() {
        let Some(g) = group(s) else { continue };
        let t = out.at(g as usize, v.visitor.get(s));
        t.pageviews += i64::from(v.pageviews.get(s));
        t.events += i64::from(v.events.get(s));
        add_sums(&mut t.visits, &sums_of(seg, s));
    }
    out.tallies
}

/// Visit figures of visits that started in the range, pass the visit-level filters and had an
/// event passing the event-level filters in the range, by a key of the caller's. A visit that
/// spans days may have started on one day and matched on another: those are settled at the end.
struct CrossDay<K> {
    sums: HashMap<K, VisitSums>,
    /// Spanning visits with a matching event (by id).
    matched: HashSet<i64>,
    /// Spanning visits that started in the range, waiting for `matched`.
    pending: Vec<(i64, K, VisitSums)>,
}

impl<K: Hash + Eq + Clone> CrossDay<K> {
    fn new() -> Self {
        Self {
            sums: HashMap::new(),
            matched: HashSet::new(),
            pending: Vec::new(),
        }
    }

    fn day(&mut self, seg: &Segment, m: &Matches, key: impl Fn(usize) -> Option<K>) {
        let v = &seg.visits;
        if let Some(has_ev) = &m.has_ev {
            for s in v.spans.and(has_ev).ones() {
                if let Some(id) = v.span_id(s) {
                    self.matched.insert(id);
                }
            }
        }
        for s in m.visit_rows.ones() {
            let Some(k) = key(s) else { continue };
            match v.span_id(s).filter(|_| m.has_ev.is_some()) {
                Some(id) => self.pending.push((id, k, sums_of(seg, s))),
                None if m.has_event(s) => {
                    add_sums(self.sums.entry(k).or_default(), &sums_of(seg, s));
                }
                None => {}
            }
        }
    }

    fn finish(mut self) -> HashMap<K, VisitSums> {
        for (id, k, sums) in std::mem::take(&mut self.pending) {
            if self.matched.contains(&id) {
                add_sums(self.sums.entry(k).or_default(), &sums);
            }
        }
        self.sums
    }
}

/// Grain of a question (see `crate::stats`): visits when it is about visits only.
fn visit_grain(filters: &Compiled, breakdown: Option<&Dimension>) -> bool {
    let about_visits = match breakdown {
        Some(d) => d.is_session_level(),
        None => filters.has_visit_filters(),
    };
    about_visits && !filters.has_event_filters()
}

/// A day's totals on the question's grain (visit figures of the visits that started that day and,
/// with event-level filters, matched that same day).
fn day_total(d: &Day, visit_grain: bool) -> Tally {
    if visit_grain {
        d.part(Part::VisitTotal, || {
            tally_visits(d.seg, d.m, 1, |_| Some(0))
        })[0]
    } else {
        d.part(Part::EventTotal, || {
            let mut t = tally_event_visits(d.seg, d.m, 1, |_| Some(0));
            for s in d.m.visit_rows.ones() {
                if d.m.has_event(s) {
                    add_sums(&mut t[0].visits, &sums_of(d.seg, s));
                }
            }
            t
        })[0]
    }
}

pub(crate) fn aggregate(q: &Question) -> Aggregate {
    let mut total = Tally::default();
    if visit_grain(q.filters, None) {
        for d in q.days() {
            total.add(&day_total(d, true));
        }
    } else if !q.filters.has_event_filters() {
        for d in q.days() {
            total.add(&day_total(d, false));
        }
    } else {
        let mut cross = CrossDay::new();
        for d in q.days() {
            let t = day_total(d, false);
            total.visitors += t.visitors;
            total.pageviews += t.pageviews;
            total.events += t.events;
            cross.day(d.seg, d.m, |_| Some(()));
        }
        total.visits = cross.finish().remove(&()).unwrap_or_default();
    }
    Aggregate::new(total.visitors, total.pageviews, total.events, total.visits)
}

/// (bucket, tally) per bucket with data, in bucket order: day numbers, or hours since
/// `q.start` (every day must start a whole number of hours after `q.start`). Visit figures only
/// with `Metrics::WithVisits`.
pub(crate) fn series(q: &Question, interval: Interval, metrics: Metrics) -> Vec<(i64, Tally)> {
    let mut buckets: Vec<(i64, Tally)> = Vec::new();
    let by_visits = visit_grain(q.filters, None);
    let mut cross_hours: HashSet<(i64, i64)> = HashSet::new();
    let mut pending: Vec<(i64, i64, VisitSums)> = Vec::new();
    for d in q.days() {
        let seg = d.seg;
        match interval {
            // Weeks and months are asked as days (`StatsStore::timeseries_with` adds them up).
            Interval::Day | Interval::Week | Interval::Month => {
                buckets.push((seg.day, day_total(d, by_visits)));
            }
            Interval::Hour => {
                let base = (seg.start - q.start).div_euclid(3600);
                let v = &seg.visits;
                let hours = &seg.events.hour;
                let n = (hours.iter().copied().max().unwrap_or(0) as usize + 1).max(25);
                let tallies = if by_visits {
                    tally_visits(seg, d.m, n, |s| Some(u32::from(v.start_hour[s])))
                } else {
                    let mut t = tally_events(seg, d.m, n, |_, e| Some(u32::from(hours[e])));
                    if metrics == Metrics::WithVisits {
                        hour_visits(d, q.filters, base, &mut t, &mut cross_hours, &mut pending);
                    }
                    t
                };
                for (h, t) in tallies.into_iter().enumerate() {
                    if t != Tally::default() {
                        buckets.push((base + h as i64, t));
                    }
                }
            }
        }
    }
    let mut merged: HashMap<i64, Tally> = HashMap::new();
    for (b, t) in buckets {
        merged.entry(b).or_default().add(&t);
    }
    // Spanning visits whose start hour straddles midnight (zones with half-hour shifts).
    for (id, bucket, sums) in pending {
        if cross_hours.contains(&(id, bucket)) {
            add_sums(&mut merged.entry(bucket).or_default().visits, &sums);
        }
    }
    let mut out: Vec<(i64, Tally)> = merged.into_iter().collect();
    if metrics != Metrics::WithVisits {
        for (_, t) in &mut out {
            t.visits = VisitSums::default();
        }
    }
    out.sort_by_key(|(b, _)| *b);
    out
}

/// Visit figures of hourly buckets on the event grain: visits by the hour they started in; with
/// event-level filters, those with a matching event in that same hour.
fn hour_visits(
    d: &Day,
    filters: &Compiled,
    base: i64,
    out: &mut [Tally],
    cross_hours: &mut HashSet<(i64, i64)>,
    pending: &mut Vec<(i64, i64, VisitSums)>,
) {
    let (seg, m) = (d.seg, d.m);
    let v = &seg.visits;
    let hours = &seg.events.hour;
    let filtered = filters.has_event_filters();
    if filtered {
        for (s, id) in v.span_ids.iter().map(|(s, id)| (*s as usize, *id)) {
            for e in v.events_of(s).filter(|&e| m.event_rows.get(e)) {
                cross_hours.insert((id, base + i64::from(hours[e])));
            }
        }
    }
    for s in m.visit_rows.ones() {
        let start = v.start_hour[s];
        let matched = !filtered
            || v.events_of(s)
                .any(|e| m.event_rows.get(e) && hours[e] == start);
        if matched {
            if let Some(t) = out.get_mut(usize::from(start)) {
                add_sums(&mut t.visits, &sums_of(seg, s));
            }
        } else if let Some(id) = v.span_id(s) {
            pending.push((id, base + i64::from(start), sums_of(seg, s)));
        }
    }
}

pub(crate) fn breakdown(
    q: &Question,
    dimension: &Dimension,
    limit: i64,
    offset: i64,
    metrics: Metrics,
) -> Vec<BreakdownRow> {
    let mut rows: HashMap<String, Tally> = HashMap::new();
    let with_visits = metrics == Metrics::WithVisits;
    let visit_dim = session_dim(dimension);
    let key = Part::Breakdown(dimension.clone());
    if visit_grain(q.filters, Some(dimension)) {
        let Some(i) = visit_dim else {
            return Vec::new();
        };
        for d in q.days() {
            let col = &d.seg.visits.dims[i];
            let tallies = d.part(key.clone(), || {
                tally_visits(d.seg, d.m, col.dict.len(), |s| Some(col.code(s)))
            });
            merge(&mut rows, col, &tallies);
        }
    } else {
        let mut cross: CrossDay<String> = CrossDay::new();
        let mut pairs = ValueVisits::default();
        for d in q.days() {
            let seg = d.seg;
            let events = &seg.events;
            let v = &seg.visits;
            let (col, tallies) = match (dimension, visit_dim) {
                (Dimension::Page, _) => (
                    &events.path,
                    d.part(key.clone(), || {
                        tally_events(seg, d.m, events.path.dict.len(), |_, e| {
                            Some(events.path.code(e))
                        })
                    }),
                ),
                (Dimension::EventName, _) => (
                    &events.name,
                    d.part(key.clone(), || {
                        tally_events(seg, d.m, events.name.dict.len(), |_, e| {
                            Some(events.name.code(e))
                        })
                    }),
                ),
                (Dimension::Prop(k), _) => (
                    &events.prop_value,
                    d.part(key.clone(), || tally_prop(seg, d.m, k)),
                ),
                (_, Some(i)) => {
                    let col = &v.dims[i];
                    // Joined to its visit: an event without a visit row has no such value.
                    let t = tally_event_visits(seg, d.m, col.dict.len(), |s| {
                        (!v.orphan.get(s)).then(|| col.code(s))
                    });
                    (col, Arc::new(t))
                }
                (_, None) => return Vec::new(),
            };
            merge(&mut rows, col, &tallies);
            if with_visits {
                match visit_dim {
                    Some(i) => {
                        let col = &v.dims[i];
                        cross.day(seg, d.m, |s| Some(col.value(col.code(s)).to_owned()));
                    }
                    None => pairs.day(seg, d.m, dimension),
                }
            }
        }
        if with_visits {
            let sums = if visit_dim.is_some() {
                cross.finish()
            } else {
                pairs.finish()
            };
            for (value, s) in sums {
                rows.entry(value).or_default().visits = s;
            }
        }
    }
    let mut out: Vec<(String, Tally)> = rows.into_iter().collect();
    out.sort_by(|(va, a), (vb, b)| {
        (b.visitors, b.pageviews, b.events)
            .cmp(&(a.visitors, a.pageviews, a.events))
            .then_with(|| va.as_bytes().cmp(vb.as_bytes()))
    });
    out.into_iter()
        .skip(usize::try_from(offset.max(0)).unwrap_or(usize::MAX))
        .take(usize::try_from(limit.max(0)).unwrap_or(usize::MAX))
        .map(|(value, t)| BreakdownRow {
            value: (!value.is_empty()).then_some(value),
            visitors: t.visitors,
            pageviews: t.pageviews,
            events: t.events,
            visits: with_visits.then_some(t.visits),
        })
        .collect()
}

fn merge(rows: &mut HashMap<String, Tally>, col: &Column, tallies: &[Tally]) {
    for (code, t) in tallies.iter().enumerate() {
        if t.events > 0 || t.visits.visits > 0 {
            let value = col.value(code as u32);
            match rows.get_mut(value) {
                Some(row) => row.add(t),
                None => {
                    rows.insert(value.to_owned(), *t);
                }
            }
        }
    }
}

/// Visit figures per value of an event-level dimension: a visit that started in the range counts
/// once for each value it had a matching event with, anywhere in the range.
#[derive(Default)]
struct ValueVisits {
    sums: HashMap<String, VisitSums>,
    /// (visit id, value) of spanning visits' matching events.
    pairs: HashSet<(i64, String)>,
    /// Spanning visits that started in the range.
    started: HashMap<i64, VisitSums>,
}

impl ValueVisits {
    fn day(&mut self, seg: &Segment, m: &Matches, dimension: &Dimension) {
        let v = &seg.visits;
        let events = &seg.events;
        // (visit, value code) of the event rows, in visit order.
        let mut found: Vec<(u32, u32)> = Vec::new();
        let col = match dimension {
            Dimension::Prop(key) => {
                if let Some(k) = prop_key(seg, key) {
                    let mut s = 0;
                    for (i, &e) in events.prop_event.iter().enumerate() {
                        let e = e as usize;
                        if events.prop_key.code(i) == k && m.event_rows.get(e) {
                            while v.event_start[s + 1] as usize <= e {
                                s += 1;
                            }
                            found.push((s as u32, events.prop_value.code(i)));
                        }
                    }
                }
                &events.prop_value
            }
            _ => {
                let col = if *dimension == Dimension::EventName {
                    &events.name
                } else {
                    &events.path
                };
                let mut s = 0;
                for e in m.event_rows.ones() {
                    while v.event_start[s + 1] as usize <= e {
                        s += 1;
                    }
                    found.push((s as u32, col.code(e)));
                }
                col
            }
        };
        found.sort_unstable();
        found.dedup();
        for (s, _) in &v.span_ids {
            let s = *s as usize;
            if v.started_here.get(s)
                && let Some(id) = v.span_id(s)
            {
                self.started.insert(id, sums_of(seg, s));
            }
        }
        for (s, c) in found {
            let s = s as usize;
            let value = col.value(c);
            match v.span_id(s) {
                Some(id) => {
                    self.pairs.insert((id, value.to_owned()));
                }
                None if v.started_here.get(s) => {
                    add_sums(
                        self.sums.entry(value.to_owned()).or_default(),
                        &sums_of(seg, s),
                    );
                }
                None => {}
            }
        }
    }

    fn finish(mut self) -> HashMap<String, VisitSums> {
        for (id, value) in std::mem::take(&mut self.pairs) {
            if let Some(sums) = self.started.get(&id) {
                add_sums(self.sums.entry(value).or_default(), sums);
            }
        }
        self.sums
    }
}

/// Prop keys of matching events, most used first (ties by key), at most `limit`.
pub(crate) fn prop_keys(q: &Question, limit: i64) -> Vec<String> {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for d in q.days() {
        let events = &d.seg.events;
        let per_key = d.part(Part::PropKeys, || {
            let mut t = vec![Tally::default(); events.prop_key.dict.len()];
            for (i, &e) in events.prop_event.iter().enumerate() {
                if d.m.event_rows.get(e as usize) {
                    t[events.prop_key.code(i) as usize].events += 1;
                }
            }
            t
        });
        for (code, t) in per_key.iter().enumerate().filter(|(_, t)| t.events > 0) {
            *counts
                .entry(events.prop_key.value(code as u32).to_owned())
                .or_default() += t.events;
        }
    }
    let mut keys: Vec<(String, i64)> = counts.into_iter().collect();
    keys.sort_by(|(ka, a), (kb, b)| b.cmp(a).then_with(|| ka.as_bytes().cmp(kb.as_bytes())));
    keys.into_iter()
        .take(usize::try_from(limit.max(0)).unwrap_or(usize::MAX))
        .map(|(k, _)| k)
        .collect()
}
