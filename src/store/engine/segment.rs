//! A segment: one local day of one site, column by column. It holds the day's events and every
//! visit that has an event that day (visits that started the day before are there too, marked).
//! Visits are sorted by visitor and events by visit, so a visitor's rows are contiguous: counting
//! distinct visitors per group is then a comparison with the last visitor seen in that group,
//! with no hashing at all. Visitor ids rotate daily, so per-day distinct counts add up exactly.
//!
//! Times are kept as the hour of the day (what hourly charts need); columns are as narrow as
//! their values allow. About 12 bytes per event in all at 4 events per visit.

use super::column::{Bits, Codes, Column, ColumnBuilder, bits_of};
use super::rows::{EventRow, Rows, SESSION_DIMS, Sym};
use std::collections::HashMap;

#[derive(Debug, PartialEq)]
pub(crate) struct Segment {
    /// Local day number (days since 1970-01-01 in the site's time zone).
    pub day: i64,
    /// The day's first instant and the next day's, unix seconds.
    pub start: i64,
    pub end: i64,
    pub visits: Visits,
    pub events: Events,
}

/// The visits with an event on the segment's day, sorted by visitor.
#[derive(Debug, PartialEq)]
pub(crate) struct Visits {
    pub len: usize,
    /// Ordinal of the visit's visitor within the segment (ascending).
    pub visitor: Codes,
    /// Started on this day (only these are counted as visits of the day).
    pub started_here: Bits,
    /// Has events on other days too (started before the day, or ends after it).
    pub spans: Bits,
    /// No stored visit row: its events count, but it matches no visit-level filter or value.
    pub orphan: Bits,
    /// (index, visit id) of the visits that span days, by index.
    pub span_ids: Vec<(u32, i64)>,
    /// Hour of the day the visit started in (visits started here; 0 for the others).
    pub start_hour: Vec<u8>,
    pub pageviews: Codes,
    pub events: Codes,
    /// `ended_at - started_at`, seconds.
    pub duration: Codes,
    /// Events of visit `i` are `event_start[i]..event_start[i + 1]`.
    pub event_start: Vec<u32>,
    /// One column per `SESSION_DIMS` entry.
    pub dims: Vec<Column>,
}

impl Visits {
    /// The id of a visit that spans days.
    pub fn span_id(&self, s: usize) -> Option<i64> {
        self.span_ids
            .binary_search_by_key(&(s as u32), |(i, _)| *i)
            .ok()
            .map(|at| self.span_ids[at].1)
    }

    pub fn events_of(&self, s: usize) -> std::ops::Range<usize> {
        self.event_start[s] as usize..self.event_start[s + 1] as usize
    }
}

/// The day's events, grouped by visit in visit order, by time within a visit.
#[derive(Debug, PartialEq)]
pub(crate) struct Events {
    pub len: usize,
    pub path: Column,
    pub name: Column,
    /// Hours since the day's first instant (0–24: a day with a DST change back has 25).
    pub hour: Vec<u8>,
    /// Props, by event: `prop_event` ascending; key and value columns alongside.
    pub prop_event: Vec<u32>,
    pub prop_key: Column,
    pub prop_value: Column,
    /// Engagement figures of the pageviews that have them, by event: `engaged_event` ascending;
    /// engaged milliseconds and scroll depth (percent plus one, 0 where not set) alongside.
    /// Sparse, so a site that does not measure engagement pays nothing for it.
    pub engaged_event: Vec<u32>,
    pub engaged_ms: Vec<u32>,
    pub scroll: Vec<u8>,
}

impl Events {
    /// The name code of `pageview` in this segment, if any event has it.
    pub fn pageview_code(&self) -> Option<u32> {
        self.name.find(crate::domain::EventName::PAGEVIEW)
    }
}

/// Why a segment could not be built (a stored value out of range).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the segment of day {day}: {what}")]
pub(crate) struct BuildError {
    pub day: i64,
    pub what: String,
}

/// The longest day has 25 hours; anything else is not a day of a real time zone.
const MAX_DAY_SECS: i64 = 26 * 3600;

impl Segment {
    /// The segment of local day `day` (instants `start..end`) from `rows`: the events in that
    /// range and their visits. `None` when the day has no events.
    pub fn build(rows: &Rows, day: i64, start: i64, end: i64) -> Result<Option<Self>, BuildError> {
        Self::build_part(rows, day, start, end, |_| true)
    }

    /// The segment of the events (by index in `rows.events`) that `pick` takes: a part of a day,
    /// whose distinct visitors add up with the other parts' as days do as long as the parts
    /// split the day's events by visitor (`Rows::visitor_of`).
    pub fn build_part(
        rows: &Rows,
        day: i64,
        start: i64,
        end: i64,
        pick: impl Fn(usize) -> bool,
    ) -> Result<Option<Self>, BuildError> {
        let err = |what: String| BuildError { day, what };
        if end <= start || end - start > MAX_DAY_SECS {
            return Err(err(format!("bounds {start}..{end}")));
        }
        // Visits in visitor order; within a visit, events in time order.
        let visitor_of = |e: &EventRow| rows.visitor_of(e);
        let mut picked: Vec<usize> = (0..rows.events.len())
            .filter(|&i| (start..end).contains(&rows.events[i].created_at) && pick(i))
            .collect();
        if picked.is_empty() {
            return Ok(None);
        }
        picked.sort_by_key(|&i| {
            let e = &rows.events[i];
            (visitor_of(e), e.session_id, e.created_at, e.id)
        });

        let mut visits = VisitsBuilder::new();
        let mut events = EventsBuilder::new();
        let mut last: Option<(i64, i64)> = None;
        let mut ordinal: u32 = 0;
        for &i in &picked {
            let e = &rows.events[i];
            if last.map(|(_, s)| s) != Some(e.session_id) {
                let visitor = visitor_of(e);
                if last.is_some_and(|(v, _)| v != visitor) {
                    ordinal += 1;
                }
                visits
                    .push(rows, e.session_id, ordinal, events.len as u32, start, end)
                    .map_err(err)?;
                last = Some((visitor, e.session_id));
            }
            events.push(rows, e, ((e.created_at - start) / 3600) as u8);
        }
        visits.event_start.push(events.len as u32);
        Ok(Some(Self {
            day,
            start,
            end,
            visits: visits.finish(),
            events: events.finish(),
        }))
    }

    /// Memory held by the columns, roughly.
    pub fn heap_bytes(&self) -> usize {
        let v = &self.visits;
        let e = &self.events;
        v.visitor.heap_bytes()
            + v.started_here.heap_bytes() * 3
            + v.span_ids.len() * 16
            + v.start_hour.len()
            + v.pageviews.heap_bytes()
            + v.events.heap_bytes()
            + v.duration.heap_bytes()
            + v.event_start.len() * 4
            + v.dims.iter().map(Column::heap_bytes).sum::<usize>()
            + FAMILIES
                .iter()
                .filter_map(|m| m.first())
                .map(|&m| match &v.dims[m].codes {
                    Codes::Mapped { codes, .. } => codes.heap_bytes(),
                    other => other.heap_bytes(),
                })
                .sum::<usize>()
            + e.path.heap_bytes()
            + e.name.heap_bytes()
            + e.hour.len()
            + e.prop_event.len() * 4
            + e.prop_key.heap_bytes()
            + e.prop_value.heap_bytes()
            + e.engaged_event.len() * 9
    }
}

/// The visit columns stored as families (indices into `SESSION_DIMS`): source and referrer, the
/// UTM tags, the place, the user agent. Members of a family vary together, so a day has few
/// combinations of them: one code per visit for the combination replaces a code per member.
pub(crate) const FAMILIES: [&[usize]; 4] = [
    &[2, 3],
    &[4, 5, 6, 7, 8],
    &[9, 10, 11],
    &[12, 13, 14, 15, 16],
];

/// Turns the members of each family into mapped columns over the family's shared codes.
fn families(mut dims: Vec<Column>) -> Vec<Column> {
    for (f, members) in FAMILIES.iter().enumerate() {
        let len = members.first().map_or(0, |&m| dims[m].codes.len());
        let mut combos: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut maps: Vec<Vec<u32>> = vec![Vec::new(); members.len()];
        let mut codes = Vec::with_capacity(len);
        for s in 0..len {
            let combo: Vec<u32> = members.iter().map(|&m| dims[m].code(s)).collect();
            let next = combos.len() as u32;
            let code = *combos.entry(combo.clone()).or_insert_with(|| {
                for (map, c) in maps.iter_mut().zip(&combo) {
                    map.push(*c);
                }
                next
            });
            codes.push(code);
        }
        let shared = std::sync::Arc::new(Codes::of_counts(codes));
        for (&m, map) in members.iter().zip(maps) {
            dims[m].codes = Codes::Mapped {
                family: f as u8,
                codes: shared.clone(),
                map: map.into_boxed_slice(),
            };
        }
    }
    dims
}

/// Interned symbols → this segment's codes, for one column.
struct Coded {
    codes: HashMap<Sym, u32>,
    builder: ColumnBuilder,
}

impl Coded {
    fn new() -> Self {
        Self {
            codes: HashMap::new(),
            builder: ColumnBuilder::new(),
        }
    }

    fn push(&mut self, rows: &Rows, sym: Sym) {
        let builder = &mut self.builder;
        let code = *self
            .codes
            .entry(sym)
            .or_insert_with(|| builder.code_of(rows.symbols.get(sym)));
        self.builder.push_code(code);
    }
}

struct VisitsBuilder {
    visitor: Vec<u32>,
    started_here: Vec<bool>,
    spans: Vec<bool>,
    orphan: Vec<bool>,
    span_ids: Vec<(u32, i64)>,
    start_hour: Vec<u8>,
    pageviews: Vec<u32>,
    events: Vec<u32>,
    duration: Vec<u32>,
    event_start: Vec<u32>,
    dims: Vec<Coded>,
}

impl VisitsBuilder {
    fn new() -> Self {
        Self {
            visitor: Vec::new(),
            started_here: Vec::new(),
            spans: Vec::new(),
            orphan: Vec::new(),
            span_ids: Vec::new(),
            start_hour: Vec::new(),
            pageviews: Vec::new(),
            events: Vec::new(),
            duration: Vec::new(),
            event_start: Vec::new(),
            dims: SESSION_DIMS.iter().map(|_| Coded::new()).collect(),
        }
    }

    fn push(
        &mut self,
        rows: &Rows,
        id: i64,
        visitor: u32,
        first_event: u32,
        start: i64,
        end: i64,
    ) -> Result<(), String> {
        let index = self.visitor.len() as u32;
        self.visitor.push(visitor);
        self.event_start.push(first_event);
        let Some(s) = rows.sessions.get(&id) else {
            self.orphan.push(true);
            self.started_here.push(false);
            self.spans.push(false);
            self.start_hour.push(0);
            self.pageviews.push(0);
            self.events.push(0);
            self.duration.push(0);
            for dim in &mut self.dims {
                dim.builder.push_code(0);
            }
            return Ok(());
        };
        let here = (start..end).contains(&s.started_at);
        let spans = !(here && s.ended_at < end);
        self.orphan.push(false);
        self.started_here.push(here);
        self.spans.push(spans);
        if spans {
            self.span_ids.push((index, id));
        }
        self.start_hour.push(if here {
            ((s.started_at - start) / 3600) as u8
        } else {
            0
        });
        let count =
            |v: i64, what: &str| u32::try_from(v).map_err(|_| format!("visit {id}: {what} is {v}"));
        self.pageviews.push(count(s.pageviews, "pageviews")?);
        self.events.push(count(s.events, "events")?);
        self.duration
            .push(count(s.ended_at - s.started_at, "the duration")?);
        for (sym, dim) in s.dims.iter().zip(&mut self.dims) {
            dim.push(rows, *sym);
        }
        Ok(())
    }

    fn finish(self) -> Visits {
        let len = self.visitor.len();
        Visits {
            len,
            visitor: Codes::of_counts(self.visitor),
            started_here: bits_of(&self.started_here),
            spans: bits_of(&self.spans),
            orphan: bits_of(&self.orphan),
            span_ids: self.span_ids,
            start_hour: self.start_hour,
            pageviews: Codes::of_counts(self.pageviews),
            events: Codes::of_counts(self.events),
            duration: Codes::of_counts(self.duration),
            event_start: self.event_start,
            dims: families(self.dims.into_iter().map(|d| d.builder.finish()).collect()),
        }
    }
}

struct EventsBuilder {
    len: usize,
    path: Coded,
    name: Coded,
    hour: Vec<u8>,
    prop_event: Vec<u32>,
    prop_key: Coded,
    prop_value: Coded,
    engaged_event: Vec<u32>,
    engaged_ms: Vec<u32>,
    scroll: Vec<u8>,
}

impl EventsBuilder {
    fn new() -> Self {
        Self {
            len: 0,
            path: Coded::new(),
            name: Coded::new(),
            hour: Vec::new(),
            prop_event: Vec::new(),
            prop_key: Coded::new(),
            prop_value: Coded::new(),
            engaged_event: Vec::new(),
            engaged_ms: Vec::new(),
            scroll: Vec::new(),
        }
    }

    fn push(&mut self, rows: &Rows, e: &EventRow, hour: u8) {
        self.path.push(rows, e.path);
        self.name.push(rows, e.name);
        self.hour.push(hour);
        for &(k, v) in e.props.iter() {
            self.prop_event.push(self.len as u32);
            self.prop_key.push(rows, k);
            self.prop_value.push(rows, v);
        }
        if e.engagement.engaged > 0 {
            self.engaged_event.push(self.len as u32);
            self.engaged_ms.push(e.engagement.engaged - 1);
            self.scroll.push(e.engagement.scroll);
        }
        self.len += 1;
    }

    fn finish(self) -> Events {
        Events {
            len: self.len,
            path: self.path.builder.finish(),
            name: self.name.builder.finish(),
            hour: self.hour,
            prop_event: self.prop_event,
            prop_key: self.prop_key.builder.finish(),
            prop_value: self.prop_value.builder.finish(),
            engaged_event: self.engaged_event,
            engaged_ms: self.engaged_ms,
            scroll: self.scroll,
        }
    }
}
