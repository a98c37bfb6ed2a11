//! Segments as bytes, for the `segments` table: a closed day is encoded once when it is built and
//! decoded by every collector that loads it. Little-endian, length-prefixed, versioned; decoding
//! checks every length and code against what it indexes, so a damaged row is an error, never a
//! panic or a wrong answer.

use super::column::{Bits, Codes, Column};
use super::rows::SESSION_DIMS;
use super::segment::{Events, Segment, Visits};

const MAGIC: &[u8; 6] = b"FFSEG\0";
/// Bumped whenever the layout or the meaning of a column changes (3: the browser version column
/// holds "Safari 18"; 4: pageviews' engagement figures); rows of another version are rebuilt.
pub(crate) const VERSION: u16 = 4;

#[derive(Debug, thiserror::Error)]
#[error("segment bytes are invalid: {0}")]
pub(crate) struct DecodeError(String);

pub(crate) fn encode(seg: &Segment) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(seg.heap_bytes() + 1024));
    w.0.extend_from_slice(MAGIC);
    w.u16(VERSION);
    w.i64(seg.day);
    w.i64(seg.start);
    w.i64(seg.end);
    let v = &seg.visits;
    w.u32(v.len as u32);
    w.codes(&v.visitor);
    w.bits(&v.started_here);
    w.bits(&v.spans);
    w.bits(&v.orphan);
    w.u32(v.span_ids.len() as u32);
    for (i, id) in &v.span_ids {
        w.u32(*i);
        w.i64(*id);
    }
    w.bytes(&v.start_hour);
    w.codes(&v.pageviews);
    w.codes(&v.events);
    w.codes(&v.duration);
    w.u32s(&v.event_start);
    // Family codes first (each once), then the columns, mapped ones by family and map.
    let mut families: Vec<&Codes> = Vec::new();
    for col in &v.dims {
        if let Codes::Mapped { family, codes, .. } = &col.codes
            && usize::from(*family) == families.len()
        {
            families.push(codes);
        }
    }
    w.0.push(families.len() as u8);
    for codes in &families {
        w.codes(codes);
    }
    for col in &v.dims {
        w.column(col);
    }
    let e = &seg.events;
    w.u32(e.len as u32);
    w.column(&e.path);
    w.column(&e.name);
    w.bytes(&e.hour);
    w.u32(e.prop_event.len() as u32);
    w.u32s(&e.prop_event);
    w.column(&e.prop_key);
    w.column(&e.prop_value);
    w.u32(e.engaged_event.len() as u32);
    w.u32s(&e.engaged_event);
    w.u32s(&e.engaged_ms);
    w.bytes(&e.scroll);
    w.0
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Segment, DecodeError> {
    let mut r = Reader {
        bytes,
        at: 0,
        families: Vec::new(),
    };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(DecodeError("not a segment".into()));
    }
    let version = r.u16()?;
    if version != VERSION {
        return Err(DecodeError(format!(
            "version {version}, expected {VERSION}"
        )));
    }
    let (day, start, end) = (r.i64()?, r.i64()?, r.i64()?);
    let n = r.u32()? as usize;
    let visitor = r.codes(n)?;
    let started_here = r.bits(n)?;
    let spans = r.bits(n)?;
    let orphan = r.bits(n)?;
    let spanning = r.u32()? as usize;
    let mut span_ids = Vec::with_capacity(spanning.min(n));
    for _ in 0..spanning {
        let i = r.u32()?;
        if i as usize >= n || span_ids.last().is_some_and(|(last, _)| *last >= i) {
            return Err(DecodeError("span ids out of order".into()));
        }
        span_ids.push((i, r.i64()?));
    }
    let start_hour = r.bytes(n)?;
    let pageviews = r.codes(n)?;
    let visit_events = r.codes(n)?;
    let duration = r.codes(n)?;
    let event_start = r.u32s(n + 1)?;
    let count = r.take(1)?[0];
    let mut families = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        families.push(std::sync::Arc::new(r.codes(n)?));
    }
    r.families = families;
    let mut dims = Vec::with_capacity(SESSION_DIMS.len());
    for _ in 0..SESSION_DIMS.len() {
        dims.push(r.column(n)?);
    }
    let m = r.u32()? as usize;
    if event_start.first() != Some(&0)
        || event_start.last().map(|l| *l as usize) != Some(m)
        || event_start.windows(2).any(|w| w[0] > w[1])
    {
        return Err(DecodeError(
            "visit event ranges do not cover the events".into(),
        ));
    }
    let path = r.column(m)?;
    let name = r.column(m)?;
    let hour = r.bytes(m)?;
    let props = r.u32()? as usize;
    let prop_event = r.u32s(props)?;
    if prop_event.windows(2).any(|w| w[0] > w[1]) || prop_event.iter().any(|e| *e as usize >= m) {
        return Err(DecodeError("props out of order".into()));
    }
    let prop_key = r.column(props)?;
    let prop_value = r.column(props)?;
    let engaged = r.u32()? as usize;
    let engaged_event = r.u32s(engaged)?;
    if engaged_event.windows(2).any(|w| w[0] >= w[1])
        || engaged_event.iter().any(|e| *e as usize >= m)
    {
        return Err(DecodeError("engagement out of order".into()));
    }
    let engaged_ms = r.u32s(engaged)?;
    let scroll = r.bytes(engaged)?;
    if engaged_ms
        .iter()
        .any(|ms| *ms > crate::domain::Figures::MAX_ENGAGED_MS)
        || scroll.iter().any(|d| *d > 101)
    {
        return Err(DecodeError("engagement figures out of range".into()));
    }
    if r.at != bytes.len() {
        return Err(DecodeError("trailing bytes".into()));
    }
    Ok(Segment {
        day,
        start,
        end,
        visits: Visits {
            len: n,
            visitor,
            started_here,
            spans,
            orphan,
            span_ids,
            start_hour,
            pageviews,
            events: visit_events,
            duration,
            event_start,
            dims,
        },
        events: Events {
            len: m,
            path,
            name,
            hour,
            prop_event,
            prop_key,
            prop_value,
            engaged_event,
            engaged_ms,
            scroll,
        },
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    fn u32s(&mut self, v: &[u32]) {
        for x in v {
            self.u32(*x);
        }
    }
    fn codes(&mut self, c: &Codes) {
        match c {
            Codes::Mapped { family, map, .. } => {
                self.0.push(8);
                self.0.push(*family);
                self.u32(map.len() as u32);
                self.u32s(map);
            }
            Codes::U8(v) => {
                self.0.push(1);
                self.0.extend_from_slice(v);
            }
            Codes::U16(v) => {
                self.0.push(2);
                for x in v {
                    self.0.extend_from_slice(&x.to_le_bytes());
                }
            }
            Codes::U32(v) => {
                self.0.push(4);
                self.u32s(v);
            }
        }
    }
    fn bits(&mut self, b: &Bits) {
        for w in b.words() {
            self.0.extend_from_slice(&w.to_le_bytes());
        }
    }
    fn column(&mut self, c: &Column) {
        self.u32(c.dict.len() as u32);
        for v in &c.dict {
            self.u32(v.len() as u32);
            self.0.extend_from_slice(v.as_bytes());
        }
        self.codes(&c.codes);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The visits' family codes, which mapped columns refer to.
    families: Vec<std::sync::Arc<Codes>>,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| DecodeError(format!("truncated at byte {}", self.at)))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, DecodeError> {
        Ok(self.take(n)?.to_vec())
    }
    /// `n` u32s (a count read from the bytes is checked against what is left by `take`).
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>, DecodeError> {
        let raw = self.take(
            n.checked_mul(4)
                .ok_or_else(|| DecodeError("length".into()))?,
        )?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    fn codes(&mut self, n: usize) -> Result<Codes, DecodeError> {
        let width = self.take(1)?[0];
        Ok(match width {
            1 => Codes::U8(self.take(n)?.to_vec()),
            2 => {
                let raw = self.take(
                    n.checked_mul(2)
                        .ok_or_else(|| DecodeError("length".into()))?,
                )?;
                Codes::U16(
                    raw.chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .collect(),
                )
            }
            4 => Codes::U32(self.u32s(n)?),
            8 => {
                let family = self.take(1)?[0];
                let codes = self
                    .families
                    .get(usize::from(family))
                    .filter(|c| c.len() == n)
                    .cloned()
                    .ok_or_else(|| DecodeError(format!("no family {family}")))?;
                let len = self.u32()? as usize;
                let map = self.u32s(len)?.into_boxed_slice();
                if codes.bound() > map.len() {
                    return Err(DecodeError("family code outside its map".into()));
                }
                Codes::Mapped { family, codes, map }
            }
            w => return Err(DecodeError(format!("code width {w}"))),
        })
    }
    fn bits(&mut self, n: usize) -> Result<Bits, DecodeError> {
        let words = n.div_ceil(64);
        let raw = self.take(words * 8)?;
        let words = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        Bits::from_words(words, n).ok_or_else(|| DecodeError("bit set length".into()))
    }
    fn column(&mut self, n: usize) -> Result<Column, DecodeError> {
        let values = self.u32()? as usize;
        if values == 0 || values > self.bytes.len() {
            return Err(DecodeError(format!("dictionary of {values} values")));
        }
        let mut dict = Vec::with_capacity(values);
        for _ in 0..values {
            let len = self.u32()? as usize;
            let text = std::str::from_utf8(self.take(len)?)
                .map_err(|_| DecodeError("dictionary value is not UTF-8".into()))?;
            dict.push(text.into());
        }
        let codes = self.codes(n)?;
        if (0..n).any(|i| codes.get(i) as usize >= values) {
            return Err(DecodeError("code outside its dictionary".into()));
        }
        Ok(Column { dict, codes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::engine::rows::{Engagement, EventRow, Rows, SessionRow};

    pub(crate) fn sample() -> Segment {
        let mut rows = Rows::new();
        let home = rows.symbols.intern(Some("/"));
        let pv = rows.symbols.intern(Some("pageview"));
        let google = rows.symbols.intern(Some("Google"));
        let props = rows.props(Some(r#"{"plan":"pro"}"#)).unwrap_or_default();
        let mut dims = [0; 17];
        dims[2] = google;
        rows.sessions.insert(
            7,
            SessionRow {
                id: 7,
                visitor_id: 1,
                started_at: 1_000,
                ended_at: 90_000,
                pageviews: 2,
                events: 2,
                dims,
            },
        );
        for (id, at) in [(1, 1_000), (2, 5_000)] {
            rows.events.push(EventRow {
                id,
                created_at: at,
                visitor_id: 1,
                session_id: 7,
                name: pv,
                path: home,
                props: props.clone(),
                engagement: Engagement::stored((id == 1).then_some(12_500), Some(40)),
            });
        }
        Segment::build(&rows, 0, 0, 86_400)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no segment"))
    }

    #[test]
    fn a_segment_survives_encoding() {
        let seg = sample();
        assert_eq!(seg.visits.span_ids, vec![(0, 7)]);
        let bytes = encode(&seg);
        let back = decode(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, seg);
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xff;
            let _ = decode(&flipped);
            flipped[i] ^= 0xff;
        }
        let mut longer = bytes;
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
