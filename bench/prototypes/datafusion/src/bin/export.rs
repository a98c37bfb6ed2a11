//! export: reads footfall's SQLite database (read-only) and writes the Parquet files the `query`
//! binary reads.
//!
//!   export --db /work/data/ff10m.db --site example.com --out /work/bench-tmp/parquet [--compression lz4|zstd|snappy|none]
//!
//! Layout under --out, one file per local day (NNNNN = days since 1970-01-01 in the site's zone):
//! - `events/NNNNN.parquet`: every event of that local day, widened with its visit's session-level
//!   attributes (the entry attributes from `sessions`, as footfall's session-level dimensions are),
//!   NULL stored as '' (footfall treats NULL and '' alike: "not set").
//! - `props/NNNNN.parquet`: one row per (event, prop key) — the same columns as `events` plus
//!   `event_id`, `key`, `value`.
//! - `sessions/NNNNN.parquet`: the visits that started on that local day, with duration and a
//!   bounce flag precomputed.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Session-level dimension columns, as named in `sessions` (footfall's `Col::Session`).
const SESSION_DIMS: [&str; 17] = [
    "referrer_source",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "country",
    "region",
    "city",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "entry_path",
    "exit_path",
];

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Args {
    db: String,
    site: String,
    out: PathBuf,
    compression: Compression,
}

fn args() -> Result<Args> {
    let mut a = Args {
        db: "/work/data/ff10m.db".into(),
        site: "example.com".into(),
        out: PathBuf::from("/work/bench-tmp/parquet"),
        compression: Compression::LZ4_RAW,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or(format!("{k} needs a value"))?;
        match k.as_str() {
            "--db" => a.db = v,
            "--site" => a.site = v,
            "--out" => a.out = v.into(),
            "--compression" => {
                a.compression = match v.as_str() {
                    "lz4" => Compression::LZ4_RAW,
                    "zstd" => Compression::ZSTD(ZstdLevel::try_new(3)?),
                    "snappy" => Compression::SNAPPY,
                    "none" => Compression::UNCOMPRESSED,
                    _ => return Err(format!("unknown compression {v}").into()),
                }
            }
            _ => return Err(format!("unknown argument {k}").into()),
        }
    }
    Ok(a)
}

/// Local day number (days since 1970-01-01) of a unix second in `tz`.
struct DayOf {
    tz: Tz,
    epoch: NaiveDate,
    /// Cache: the UTC second range [lo, hi) known to map to `day`.
    lo: i64,
    hi: i64,
    day: i32,
}

impl DayOf {
    fn new(tz: Tz) -> Self {
        Self {
            tz,
            epoch: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
            lo: 0,
            hi: 0,
            day: 0,
        }
    }

    fn local(&self, ts: i64) -> NaiveDate {
        DateTime::from_timestamp(ts, 0)
            .unwrap()
            .with_timezone(&self.tz)
            .date_naive()
    }

    fn get(&mut self, ts: i64) -> i32 {
        if ts >= self.lo && ts < self.hi {
            return self.day;
        }
        let date = self.local(ts);
        let day = (date - self.epoch).num_days() as i32;
        // Find the local midnight bounds by stepping: offsets are whole minutes, so search by
        // bisection within +-2 days.
        let bound = |target: NaiveDate, this: &Self| {
            // first second whose local date >= target
            let (mut lo, mut hi) = (ts - 3 * 86_400, ts + 3 * 86_400);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if this.local(mid) >= target {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            lo
        };
        self.lo = bound(date, self);
        self.hi = bound(date.succ_opt().unwrap(), self);
        self.day = day;
        day
    }
}

/// Interned strings: session attributes repeat heavily.
#[derive(Default)]
struct Pool {
    ids: HashMap<String, u32>,
    strings: Vec<String>,
}

impl Pool {
    fn id(&mut self, s: Option<String>) -> u32 {
        let s = s.unwrap_or_default();
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.clone());
        self.ids.insert(s, id);
        id
    }
}

struct Session {
    dims: [u32; SESSION_DIMS.len()],
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn event_schema(with_props: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("day", DataType::Int32, false),
        Field::new("ts", DataType::Int64, false),
        Field::new("visitor_id", DataType::Int64, false),
        Field::new("session_id", DataType::Int64, false),
        utf8("name"),
        utf8("path"),
    ];
    fields.extend(SESSION_DIMS.iter().map(|d| utf8(d)));
    if with_props {
        fields.push(Field::new("event_id", DataType::Int64, false));
        fields.push(utf8("key"));
        fields.push(utf8("value"));
    }
    Arc::new(Schema::new(fields))
}

fn session_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("day", DataType::Int32, false),
        Field::new("id", DataType::Int64, false),
        Field::new("visitor_id", DataType::Int64, false),
        Field::new("started_at", DataType::Int64, false),
        Field::new("duration", DataType::Int64, false),
        Field::new("pageviews", DataType::Int64, false),
        Field::new("events", DataType::Int64, false),
        Field::new("bounce", DataType::Boolean, false),
    ];
    fields.extend(SESSION_DIMS.iter().map(|d| utf8(d)));
    Arc::new(Schema::new(fields))
}

/// Columns of one event-like batch under construction.
struct EventCols {
    day: Int32Builder,
    ts: Int64Builder,
    visitor: Int64Builder,
    session: Int64Builder,
    name: StringBuilder,
    path: StringBuilder,
    dims: Vec<StringBuilder>,
    props: Option<(Int64Builder, StringBuilder, StringBuilder)>,
    len: usize,
}

impl EventCols {
    fn new(with_props: bool) -> Self {
        Self {
            day: Int32Builder::new(),
            ts: Int64Builder::new(),
            visitor: Int64Builder::new(),
            session: Int64Builder::new(),
            name: StringBuilder::new(),
            path: StringBuilder::new(),
            dims: SESSION_DIMS.iter().map(|_| StringBuilder::new()).collect(),
            props: with_props
                .then(|| (Int64Builder::new(), StringBuilder::new(), StringBuilder::new())),
            len: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        day: i32,
        ts: i64,
        visitor: i64,
        session: i64,
        name: &str,
        path: &str,
        s: Option<&Session>,
        pool: &Pool,
    ) {
        self.day.append_value(day);
        self.ts.append_value(ts);
        self.visitor.append_value(visitor);
        self.session.append_value(session);
        self.name.append_value(name);
        self.path.append_value(path);
        for (i, b) in self.dims.iter_mut().enumerate() {
            b.append_value(s.map_or("", |s| pool.strings[s.dims[i] as usize].as_str()));
        }
        self.len += 1;
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.day.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.visitor.finish()),
            Arc::new(self.session.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.path.finish()),
        ];
        cols.extend(self.dims.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        if let Some((id, k, v)) = &mut self.props {
            cols.push(Arc::new(id.finish()));
            cols.push(Arc::new(k.finish()));
            cols.push(Arc::new(v.finish()));
        }
        self.len = 0;
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }
}

/// Writes one file per day, rotating when the day changes (rows arrive in time order).
struct DayFiles {
    dir: PathBuf,
    schema: SchemaRef,
    props: WriterProperties,
    current: Option<(i32, ArrowWriter<std::fs::File>)>,
    rows: u64,
}

impl DayFiles {
    fn new(out: &Path, name: &str, schema: SchemaRef, compression: Compression) -> Result<Self> {
        let dir = out.join(name);
        std::fs::create_dir_all(&dir)?;
        let props = WriterProperties::builder()
            .set_compression(compression)
            .set_max_row_group_row_count(Some(128 * 1024))
            .build();
        Ok(Self {
            dir,
            schema,
            props,
            current: None,
            rows: 0,
        })
    }

    fn write(&mut self, day: i32, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        if self.current.as_ref().map(|c| c.0) != Some(day) {
            self.close()?;
            let file = std::fs::File::create(self.dir.join(format!("{day:05}.parquet")))?;
            let w = ArrowWriter::try_new(file, self.schema.clone(), Some(self.props.clone()))?;
            self.current = Some((day, w));
        }
        self.current.as_mut().unwrap().1.write(&batch)?;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some((_, w)) = self.current.take() {
            w.close()?;
        }
        Ok(())
    }
}

const BATCH: usize = 64 * 1024;

fn main() -> Result<()> {
    let a = args()?;
    let started = Instant::now();
    let conn = Connection::open_with_flags(
        &a.db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let (site, tz): (i64, String) = conn.query_row(
        "SELECT id, timezone FROM sites WHERE domain = ?1",
        [&a.site],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let tz: Tz = tz.parse().map_err(|e| format!("time zone: {e}"))?;
    let mut day_of = DayOf::new(tz);
    let _ = std::fs::remove_dir_all(&a.out);

    // Sessions: keep their dimensions (interned) for widening events, and write them per start day.
    let mut pool = Pool::default();
    let mut sessions: HashMap<i64, Session> = HashMap::new();
    let sschema = session_schema();
    let mut sfiles = DayFiles::new(&a.out, "sessions", sschema.clone(), a.compression)?;
    {
        let cols = SESSION_DIMS.join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT id, visitor_id, started_at, ended_at, pageviews, events, {cols} \
             FROM sessions WHERE site_id = ?1 ORDER BY started_at, id"
        ))?;
        let mut rows = stmt.query([site])?;
        let mut b = (
            Int32Builder::new(),
            Int64Builder::new(),
            Int64Builder::new(),
            Int64Builder::new(),
            Int64Builder::new(),
            Int64Builder::new(),
            Int64Builder::new(),
            BooleanBuilder::new(),
        );
        let mut dims: Vec<StringBuilder> = SESSION_DIMS.iter().map(|_| StringBuilder::new()).collect();
        let mut len = 0usize;
        let mut batch_day = None;
        let flush = |b: &mut (
            Int32Builder,
            Int64Builder,
            Int64Builder,
            Int64Builder,
            Int64Builder,
            Int64Builder,
            Int64Builder,
            BooleanBuilder,
        ),
                     dims: &mut Vec<StringBuilder>|
         -> Result<RecordBatch> {
            let mut cols: Vec<ArrayRef> = vec![
                Arc::new(b.0.finish()),
                Arc::new(b.1.finish()),
                Arc::new(b.2.finish()),
                Arc::new(b.3.finish()),
                Arc::new(b.4.finish()),
                Arc::new(b.5.finish()),
                Arc::new(b.6.finish()),
                Arc::new(b.7.finish()),
            ];
            cols.extend(dims.iter_mut().map(|d| Arc::new(d.finish()) as ArrayRef));
            Ok(RecordBatch::try_new(sschema.clone(), cols)?)
        };
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let started_at: i64 = r.get(2)?;
            let day = day_of.get(started_at);
            if batch_day.is_some_and(|d| d != day) || len == BATCH {
                let batch = flush(&mut b, &mut dims)?;
                sfiles.write(batch_day.unwrap(), batch)?;
                len = 0;
            }
            batch_day = Some(day);
            let ended_at: i64 = r.get(3)?;
            let pageviews: i64 = r.get(4)?;
            b.0.append_value(day);
            b.1.append_value(id);
            b.2.append_value(r.get(1)?);
            b.3.append_value(started_at);
            b.4.append_value(ended_at - started_at);
            b.5.append_value(pageviews);
            b.6.append_value(r.get(5)?);
            b.7.append_value(pageviews <= 1);
            let mut s = Session {
                dims: [0; SESSION_DIMS.len()],
            };
            for (i, d) in dims.iter_mut().enumerate() {
                let v: Option<String> = r.get(6 + i)?;
                d.append_value(v.as_deref().unwrap_or(""));
                s.dims[i] = pool.id(v);
            }
            sessions.insert(id, s);
            len += 1;
        }
        if len > 0 {
            let batch = flush(&mut b, &mut dims)?;
            sfiles.write(batch_day.unwrap(), batch)?;
        }
        sfiles.close()?;
    }
    let t_sessions = started.elapsed();

    // Events, in time order, widened; their props exploded into the props files.
    let eschema = event_schema(false);
    let pschema = event_schema(true);
    let mut efiles = DayFiles::new(&a.out, "events", eschema.clone(), a.compression)?;
    let mut pfiles = DayFiles::new(&a.out, "props", pschema.clone(), a.compression)?;
    {
        let mut stmt = conn.prepare(
            "SELECT id, created_at, visitor_id, session_id, name, path, props \
             FROM events WHERE site_id = ?1 ORDER BY created_at, id",
        )?;
        let mut rows = stmt.query([site])?;
        let mut ev = EventCols::new(false);
        let mut pr = EventCols::new(true);
        let (mut eday, mut pday) = (None, None);
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let ts: i64 = r.get(1)?;
            let visitor: i64 = r.get(2)?;
            let sid: i64 = r.get(3)?;
            let name = r.get_ref(4)?.as_str()?;
            let path = r.get_ref(5)?.as_str()?;
            let day = day_of.get(ts);
            let s = sessions.get(&sid);
            if eday.is_some_and(|d| d != day) || ev.len == BATCH {
                let batch = ev.finish(&eschema)?;
                efiles.write(eday.unwrap(), batch)?;
            }
            eday = Some(day);
            ev.push(day, ts, visitor, sid, name, path, s, &pool);
            if let Some(props) = r.get_ref(6)?.as_str_or_null()? {
                let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(props)?;
                for (k, v) in obj {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if pday.is_some_and(|d| d != day) || pr.len == BATCH {
                        let batch = pr.finish(&pschema)?;
                        pfiles.write(pday.unwrap(), batch)?;
                    }
                    pday = Some(day);
                    pr.push(day, ts, visitor, sid, name, path, s, &pool);
                    let p = pr.props.as_mut().unwrap();
                    p.0.append_value(id);
                    p.1.append_value(&k);
                    p.2.append_value(&v);
                }
            }
        }
        if ev.len > 0 {
            let batch = ev.finish(&eschema)?;
            efiles.write(eday.unwrap(), batch)?;
        }
        if pr.len > 0 {
            let batch = pr.finish(&pschema)?;
            pfiles.write(pday.unwrap(), batch)?;
        }
        efiles.close()?;
        pfiles.close()?;
    }
    let bytes = |d: &str| -> u64 {
        std::fs::read_dir(a.out.join(d))
            .map(|it| it.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    };
    let (eb, pb, sb) = (bytes("events"), bytes("props"), bytes("sessions"));
    println!(
        "exported {} sessions ({:.1}s), {} events, {} prop rows in {:.1}s total",
        sfiles.rows,
        t_sessions.as_secs_f64(),
        efiles.rows,
        pfiles.rows,
        started.elapsed().as_secs_f64()
    );
    println!(
        "bytes: events {eb}, props {pb}, sessions {sb}, total {} = {:.1} bytes/event",
        eb + pb + sb,
        (eb + pb + sb) as f64 / efiles.rows.max(1) as f64
    );
    Ok(())
}
