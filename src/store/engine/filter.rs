//! Filters compiled for segments: each filter becomes a test on a column's dictionary (evaluated
//! once per distinct value, not per row), and a segment's matches are bit sets of the visits and
//! events that pass. The tests mean exactly what the SQL conditions mean (`store::sql::filters`):
//! `is ""` is "not set", `contains` is an ASCII case-insensitive substring of a set value,
//! `matches` a set value matching a pattern (`stats::glob`), and a value holding NUL matches
//! nothing.

use super::column::{Bits, Column};
use super::rows::session_dim;
use super::segment::Segment;
use crate::stats::{Dimension, Filter, FilterOp};

#[derive(Debug, Clone)]
enum Test {
    Never,
    Unset,
    Set,
    Equals(String),
    /// ASCII-lowercased text.
    Contains(String),
    /// A set value matching the pattern's expression (`stats::glob`).
    Matches(regex::Regex),
}

/// Tests are compared by what they accept: expressions by their text.
impl PartialEq for Test {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Never, Self::Never) | (Self::Unset, Self::Unset) | (Self::Set, Self::Set) => {
                true
            }
            (Self::Equals(a), Self::Equals(b)) | (Self::Contains(a), Self::Contains(b)) => a == b,
            (Self::Matches(a), Self::Matches(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for Test {}

impl Test {
    fn of(filter: &Filter) -> Self {
        if filter.value.contains('\0') {
            return Self::Never;
        }
        match (filter.op, filter.value.is_empty()) {
            (FilterOp::Is, true) => Self::Unset,
            (FilterOp::Is, false) => Self::Equals(filter.value.clone()),
            (FilterOp::Contains, true) => Self::Set,
            (FilterOp::Contains, false) => Self::Contains(filter.value.to_ascii_lowercase()),
            (FilterOp::Matches, true) => Self::Unset,
            // The expression escapes every literal, so it always compiles; if it did not, it
            // would match nothing rather than everything.
            (FilterOp::Matches, false) => {
                match regex::Regex::new(&crate::stats::glob::to_regex(&filter.value)) {
                    Ok(re) => Self::Matches(re),
                    Err(_) => Self::Never,
                }
            }
        }
    }

    fn accepts(&self, value: &str) -> bool {
        match self {
            Self::Never => false,
            Self::Unset => value.is_empty(),
            Self::Set => !value.is_empty(),
            Self::Equals(v) => value == v,
            Self::Contains(t) => !value.is_empty() && contains_ascii_ci(value, t),
            Self::Matches(re) => !value.is_empty() && re.is_match(value),
        }
    }

    fn mask(&self, col: &Column) -> Vec<bool> {
        col.mask(|v| self.accepts(v))
    }
}

/// `haystack` contains `needle` (already ASCII-lowercased), ignoring ASCII case.
fn contains_ascii_ci(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Visit(usize),
    Path,
    Name,
    Prop(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pred {
    target: Target,
    test: Test,
}

/// A goal filter: the visits with an event passing `event` (all of them). A visit that spans days
/// may have converted on another day of the range than the one looked at: `spans` holds the ids
/// of those that converted on any day of it (`Compiled::with_converted`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Converted {
    event: Vec<Pred>,
    /// `None` until worked out for a range; then sorted.
    spans: Option<std::sync::Arc<Vec<i64>>>,
}

/// A question's filters, split by level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Compiled {
    visit: Vec<Pred>,
    event: Vec<Pred>,
    goals: Vec<Converted>,
}

impl Compiled {
    pub fn new(filters: &[Filter]) -> Self {
        let mut out = Self::default();
        for f in filters {
            if let Dimension::Goal(conversions) = &f.dimension {
                out.goals.push(Converted {
                    event: StepTest::new(conversions).0,
                    spans: None,
                });
                continue;
            }
            let test = Test::of(f);
            let target = match &f.dimension {
                Dimension::Page => Target::Path,
                Dimension::EventName => Target::Name,
                Dimension::Prop(key) => Target::Prop(key.clone()),
                d => match session_dim(d) {
                    Some(i) => Target::Visit(i),
                    None => Target::Path,
                },
            };
            let pred = Pred { target, test };
            if matches!(pred.target, Target::Visit(_)) {
                out.visit.push(pred);
            } else {
                out.event.push(pred);
            }
        }
        out
    }

    pub fn has_visit_filters(&self) -> bool {
        !self.visit.is_empty() || !self.goals.is_empty()
    }

    /// Whether some goal filter still needs `with_converted` for its range.
    pub fn needs_spans(&self) -> bool {
        self.goals.iter().any(|g| g.spans.is_none())
    }

    /// These filters for the range of `days`: each goal filter with the ids of the visits that
    /// span days and converted on one of them, so that such a visit passes on all its days.
    /// `converted(seg, test)` gives a day's such visits (`spanning_conversions`), which the
    /// caller keeps per segment: every widget of a page asks for the same ones.
    pub fn with_converted<'a, S: 'a>(
        &self,
        days: impl Iterator<Item = &'a S> + Clone,
        converted: impl Fn(&S, &[Pred]) -> std::sync::Arc<Vec<i64>>,
    ) -> Self {
        let mut out = self.clone();
        for goal in &mut out.goals {
            let mut ids = Vec::new();
            for day in days.clone() {
                ids.extend_from_slice(&converted(day, &goal.event));
            }
            ids.sort_unstable();
            ids.dedup();
            goal.spans = Some(std::sync::Arc::new(ids));
        }
        out
    }

    pub fn has_event_filters(&self) -> bool {
        !self.event.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.visit.is_empty() && self.event.is_empty() && self.goals.is_empty()
    }

    /// Evaluates the filters on one segment.
    pub fn matches(&self, seg: &Segment) -> Matches {
        let visits = &seg.visits;
        let events = &seg.events;
        let sess = self.has_visit_filters().then(|| {
            let masks: Vec<(usize, Vec<bool>)> = self
                .visit
                .iter()
                .filter_map(|p| match p.target {
                    Target::Visit(i) => Some((i, p.test.mask(&visits.dims[i]))),
                    _ => None,
                })
                .collect();
            let mut bits = Bits::new(visits.len);
            for s in 0..visits.len {
                if masks
                    .iter()
                    .all(|(i, mask)| mask[visits.dims[*i].code(s) as usize])
                {
                    bits.set(s);
                }
            }
            for goal in &self.goals {
                let ev = event_bits(&goal.event, seg);
                let spans = goal.spans.as_deref().map(Vec::as_slice).unwrap_or_default();
                for s in bits.clone().ones() {
                    let converted = visits.events_of(s).any(|e| ev.get(e))
                        || visits
                            .span_id(s)
                            .is_some_and(|id| spans.binary_search(&id).is_ok());
                    if !converted {
                        bits.clear(s);
                    }
                }
            }
            // A visit without its row matches no visit-level filter (the SQL joins the row).
            for s in visits.orphan.ones() {
                bits.clear(s);
            }
            bits
        });
        let ev = (!self.event.is_empty()).then(|| event_bits(&self.event, seg));
        let has_ev = ev.as_ref().map(|ev| {
            let mut bits = Bits::new(visits.len);
            for s in 0..visits.len {
                if visits.events_of(s).any(|e| ev.get(e)) {
                    bits.set(s);
                }
            }
            bits
        });
        let event_rows = match (&sess, &ev) {
            (None, None) => Bits::ones_all(events.len),
            (None, Some(ev)) => ev.clone(),
            (Some(sess), ev) => {
                let mut rows = Bits::new(events.len);
                for s in sess.ones() {
                    for e in visits.events_of(s) {
                        if ev.as_ref().is_none_or(|ev| ev.get(e)) {
                            rows.set(e);
                        }
                    }
                }
                rows
            }
        };
        let visit_rows = match &sess {
            Some(sess) => visits.started_here.and(sess),
            None => visits.started_here.clone(),
        };
        Matches {
            visit_rows,
            event_rows,
            sess,
            has_ev,
            per_visit: std::sync::OnceLock::new(),
        }
    }
}

/// Which codes of a dictionary pass (`None`: all).
pub(crate) type Mask = Option<Vec<bool>>;

/// The events that convert on a goal (its conversion filters, all event-level), compiled once
/// for every segment of a question: a funnel's step, or what a goal filter looks for.
#[derive(Debug, Clone)]
pub(crate) struct StepTest(Vec<Pred>);

impl StepTest {
    pub fn new(conversions: &[Filter]) -> Self {
        if conversions.is_empty() {
            // A goal with no conversion filters converts nothing.
            return Self(vec![Pred {
                target: Target::Name,
                test: Test::Never,
            }]);
        }
        Self(Compiled::new(conversions).event)
    }

    /// The events of `seg` that pass.
    pub fn bits(&self, seg: &Segment) -> Bits {
        event_bits(&self.0, seg)
    }

    /// The test as masks over `seg`'s name and path dictionaries (an event passes when both its
    /// codes do; `None`: any value), for tests on those columns alone; `None` when a prop is
    /// tested too (then `bits`).
    pub fn masks(&self, seg: &Segment) -> Option<(Mask, Mask)> {
        let (mut name, mut path): (Mask, Mask) = (None, None);
        for pred in &self.0 {
            let (slot, col) = match pred.target {
                Target::Name => (&mut name, &seg.events.name),
                Target::Path => (&mut path, &seg.events.path),
                Target::Prop(_) | Target::Visit(_) => return None,
            };
            let mask = pred.test.mask(col);
            *slot = Some(match slot.take() {
                Some(before) => before.iter().zip(&mask).map(|(a, b)| *a && *b).collect(),
                None => mask,
            });
        }
        Some((name, path))
    }
}

/// The events of a segment passing all of `preds` (event-level ones).
/// The ids of `seg`'s visits that span days and have an event passing `preds` (a goal's test)
/// on it, ascending.
pub(crate) fn spanning_conversions(preds: &[Pred], seg: &Segment) -> Vec<i64> {
    let v = &seg.visits;
    if v.span_ids.is_empty() {
        return Vec::new();
    }
    let ev = event_bits(preds, seg);
    v.span_ids
        .iter()
        .filter(|(s, _)| v.events_of(*s as usize).any(|e| ev.get(e)))
        .map(|(_, id)| *id)
        .collect()
}

fn event_bits(preds: &[Pred], seg: &Segment) -> Bits {
    let events = &seg.events;
    let mut all = Bits::ones_all(events.len);
    for pred in preds {
        let pass = match &pred.target {
            Target::Path | Target::Name => {
                let col = if pred.target == Target::Path {
                    &events.path
                } else {
                    &events.name
                };
                let mask = pred.test.mask(col);
                let mut bits = Bits::new(events.len);
                for e in 0..events.len {
                    if mask[col.code(e) as usize] {
                        bits.set(e);
                    }
                }
                bits
            }
            Target::Prop(key) => {
                // Events without the prop count as "not set".
                let mut bits = if pred.test.accepts("") {
                    Bits::ones_all(events.len)
                } else {
                    Bits::new(events.len)
                };
                let mask = pred.test.mask(&events.prop_value);
                if let Some(k) = prop_key(seg, key) {
                    for (i, &e) in events.prop_event.iter().enumerate() {
                        if events.prop_key.code(i) == k {
                            if mask[events.prop_value.code(i) as usize] {
                                bits.set(e as usize);
                            } else {
                                bits.clear(e as usize);
                            }
                        }
                    }
                }
                bits
            }
            Target::Visit(_) => continue,
        };
        all = all.and(&pass);
    }
    all
}

/// The code of prop key `key` in a segment (no stored key holds NUL).
pub(crate) fn prop_key(seg: &Segment, key: &str) -> Option<u32> {
    if key.contains('\0') {
        return None;
    }
    seg.events.prop_key.find(key)
}

/// Which visits and events of a segment pass a question's filters.
#[derive(Debug)]
pub(crate) struct Matches {
    /// Visits counted on the visit grain: started this day and passing the visit-level filters.
    pub visit_rows: Bits,
    /// Events counted on the event grain: passing the event-level filters, in visits passing the
    /// visit-level ones.
    pub event_rows: Bits,
    /// Visits passing the visit-level filters; `None` when there are none.
    pub sess: Option<Bits>,
    /// Visits with an event (in this segment) passing the event-level filters; `None` when there
    /// are none.
    pub has_ev: Option<Bits>,
    /// `(visit, event rows, pageview rows)` of the visits with event rows, worked out on first use:
    /// what event-grain questions grouped by a visit's attribute need.
    per_visit: std::sync::OnceLock<Vec<(u32, u32, u32)>>,
}

impl PartialEq for Matches {
    fn eq(&self, other: &Self) -> bool {
        (&self.visit_rows, &self.event_rows, &self.sess, &self.has_ev)
            == (
                &other.visit_rows,
                &other.event_rows,
                &other.sess,
                &other.has_ev,
            )
    }
}

impl Matches {
    #[inline]
    pub fn has_event(&self, s: usize) -> bool {
        self.has_ev.as_ref().is_none_or(|b| b.get(s))
    }

    /// `(visit, event rows, pageview rows)` of every visit with event rows, in visit order.
    pub fn per_visit(&self, seg: &Segment) -> &[(u32, u32, u32)] {
        self.per_visit.get_or_init(|| {
            let v = &seg.visits;
            let names = &seg.events.name;
            let pv = seg.events.pageview_code();
            let mut out: Vec<(u32, u32, u32)> = Vec::new();
            let mut s = 0;
            for e in self.event_rows.ones() {
                while v.event_start[s + 1] as usize <= e {
                    s += 1;
                }
                let is_pv = u32::from(Some(names.code(e)) == pv);
                match out.last_mut() {
                    Some(last) if last.0 == s as u32 => {
                        last.1 += 1;
                        last.2 += is_pv;
                    }
                    _ => out.push((s as u32, 1, is_pv)),
                }
            }
            out.shrink_to_fit();
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(op: FilterOp, value: &str) -> Filter {
        Filter {
            dimension: Dimension::Page,
            op,
            value: value.into(),
        }
    }

    #[test]
    fn tests_mean_what_the_sql_conditions_mean() {
        let t = |op, v| Test::of(&filter(op, v));
        assert!(t(FilterOp::Is, "").accepts(""));
        assert!(!t(FilterOp::Is, "").accepts("x"));
        assert!(t(FilterOp::Is, "/a").accepts("/a") && !t(FilterOp::Is, "/a").accepts("/A"));
        assert!(t(FilterOp::Contains, "").accepts("x") && !t(FilterOp::Contains, "").accepts(""));
        let blog = t(FilterOp::Contains, "/BLOG");
        assert!(blog.accepts("/Blog/x") && blog.accepts("/blog") && !blog.accepts("/blo"));
        // Only ASCII letters fold, as in SQLite's LIKE and Postgres' lower() under "C".
        assert!(!t(FilterOp::Contains, "ü").accepts("Ü"));
        assert!(t(FilterOp::Contains, "50%_").accepts("x50%_y"));
        assert!(!t(FilterOp::Contains, "50%").accepts("500"));
        assert!(!t(FilterOp::Is, "a\0").accepts("a\0"));
        let blog = t(FilterOp::Matches, "/blog/*");
        assert!(blog.accepts("/blog/a") && !blog.accepts("/blog/a/b") && !blog.accepts("/Blog/a"));
        assert!(t(FilterOp::Matches, "").accepts("") && !t(FilterOp::Matches, "").accepts("x"));
        assert!(
            !t(FilterOp::Matches, "**").accepts(""),
            "a pattern needs a set value"
        );
    }
}
