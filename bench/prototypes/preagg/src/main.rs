//! build_pairs: builds candidate B's pair rollups into a COPY of footfall's SQLite database in one
//! pass over the closed days (days <= rollup_sites.built_through), aggregating in memory a day at
//! a time, then writing the rows in primary-key order.
//!
//!   build_pairs --db /work/bench-tmp/preagg.db [--site example.com]
//!
//! Tables (the same as `preagg.py build`, the all-SQL route, writes):
//! - rollup_pairs (site_id, fdim, fvalue, dim, day, value, visitors, pageviews, events)
//! - rollup_pair_visits (site_id, fdim, fvalue, day, match_day, visits, bounces, duration, pageviews)
//! See preagg.py's docstring for what each row means and how the page reads them.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::time::Instant;

/// Session-level dimensions the dashboard shows, with their `sessions` column.
const SESSION_DIMS: [(&str, &str); 14] = [
    ("entry_page", "entry_path"),
    ("exit_page", "exit_path"),
    ("source", "referrer_source"),
    ("referrer", "referrer"),
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utm_campaign", "utm_campaign"),
    ("country", "country"),
    ("region", "region"),
    ("city", "city"),
    ("browser", "browser"),
    ("browser_version", "browser_version"),
    ("os", "os"),
    ("device", "device"),
];
/// Session-level filter dimensions, as indexes into SESSION_DIMS.
const SESSION_FILTERS: [usize; 5] = [2, 7, 13, 10, 0]; // source, country, device, browser, entry_page
const D_PAGE: u16 = 14;
const D_EVENT_NAME: u16 = 15;
const D_PROP_KEY: u16 = 16;
/// Filter index of `page` (after the session filters).
const F_PAGE: u8 = 5;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Default)]
struct Pool {
    ids: HashMap<String, u32>,
    strings: Vec<String>,
}

impl Pool {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.ids.insert(s.to_owned(), id);
        id
    }
}

/// Local day numbers with a cache of the current day's UTC bounds.
struct DayOf {
    tz: Tz,
    epoch: NaiveDate,
    lo: i64,
    hi: i64,
    day: i32,
}

impl DayOf {
    fn local(&self, ts: i64) -> NaiveDate {
        DateTime::from_timestamp(ts, 0).unwrap().with_timezone(&self.tz).date_naive()
    }
    fn first_second(&self, ts: i64, target: NaiveDate) -> i64 {
        let (mut lo, mut hi) = (ts - 3 * 86_400, ts + 3 * 86_400);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.local(mid) >= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }
    fn get(&mut self, ts: i64) -> i32 {
        if ts >= self.lo && ts < self.hi {
            return self.day;
        }
        let date = self.local(ts);
        self.day = (date - self.epoch).num_days() as i32;
        self.lo = self.first_second(ts, date);
        self.hi = self.first_second(ts, date.succ_opt().unwrap());
        self.day
    }
}

struct Sess {
    visitor: i64,
    day: i32,
    pageviews: i64,
    events: i64,
    duration: i64,
    dims: [u32; 14],
}

#[derive(Default)]
struct Agg {
    visitors: Vec<i64>,
    pageviews: i64,
    events: i64,
}

/// One day's aggregates: (filter, filter value, dim, value) -> sums.
#[derive(Default)]
struct DayAgg {
    slots: HashMap<(u8, u32, u16, u32), usize>,
    aggs: Vec<Agg>,
}

impl DayAgg {
    fn add(&mut self, key: (u8, u32, u16, u32), visitor: i64, pageviews: i64, events: i64) {
        let n = self.aggs.len();
        let i = *self.slots.entry(key).or_insert(n);
        if i == n {
            self.aggs.push(Agg::default());
        }
        let a = &mut self.aggs[i];
        a.visitors.push(visitor);
        a.pageviews += pageviews;
        a.events += events;
    }
}

/// A finished row: f, fvalue, dim, day, value, visitors, pageviews, events.
type Row = (u8, u32, u16, i32, u32, i64, i64, i64);

fn main() -> Result<()> {
    let mut db = String::from("/work/bench-tmp/preagg.db");
    let mut domain = String::from("example.com");
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--db" => db = it.next().ok_or("--db needs a value")?,
            "--site" => domain = it.next().ok_or("--site needs a value")?,
            _ => return Err(format!("unknown argument {k}").into()),
        }
    }
    if std::fs::canonicalize(&db)? == std::path::Path::new("/work/data/ff10m.db") {
        return Err("refusing to write into the original database: use a copy".into());
    }
    let load = || {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let started = Instant::now();
    let mut conn = Connection::open(&db)?;
    conn.pragma_update(None, "cache_size", -1_000_000)?;
    let (site, tz): (i64, String) = conn.query_row(
        "SELECT id, timezone FROM sites WHERE domain = ?1",
        [&domain],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let built: i32 = conn.query_row(
        "SELECT built_through FROM rollup_sites WHERE site_id = ?1",
        [site],
        |r| r.get(0),
    )?;
    let tz: Tz = tz.parse().map_err(|e| format!("time zone: {e}"))?;
    let mut day_of = DayOf {
        tz,
        epoch: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
        lo: 0,
        hi: 0,
        day: 0,
    };
    println!("building pair rollups for days <= {built} on {db}, load {}", load());

    // Sessions of the closed days.
    let mut pool = Pool::default();
    let mut sessions: Vec<Sess> = Vec::new();
    let mut sidx: HashMap<i64, u32> = HashMap::new();
    {
        let cols: Vec<&str> = SESSION_DIMS.iter().map(|d| d.1).collect();
        let mut stmt = conn.prepare(&format!(
            "SELECT id, visitor_id, started_at, ended_at, pageviews, events, {} FROM sessions \
             WHERE site_id = ?1 ORDER BY started_at",
            cols.join(", ")
        ))?;
        let mut rows = stmt.query([site])?;
        while let Some(r) = rows.next()? {
            let started_at: i64 = r.get(2)?;
            let day = day_of.get(started_at);
            if day > built {
                continue;
            }
            let mut dims = [0u32; 14];
            for (i, d) in dims.iter_mut().enumerate() {
                *d = pool.id(r.get_ref(6 + i)?.as_str_or_null()?.unwrap_or(""));
            }
            sidx.insert(r.get(0)?, sessions.len() as u32);
            let ended_at: i64 = r.get(3)?;
            sessions.push(Sess {
                visitor: r.get(1)?,
                day,
                pageviews: r.get(4)?,
                events: r.get(5)?,
                duration: ended_at - started_at,
                dims,
            });
        }
    }
    let t_sessions = started.elapsed().as_secs_f64();
    println!("  read {} closed-day sessions in {t_sessions:.1} s", sessions.len());

    // Sessions by start day, for the visit-grain pairs.
    let mut by_day: HashMap<i32, Vec<u32>> = HashMap::new();
    for (i, s) in sessions.iter().enumerate() {
        by_day.entry(s.day).or_default().push(i as u32);
    }
    let mut prop_dims: HashMap<u32, u16> = HashMap::new(); // prop key id -> dim id
    let mut rows_out: Vec<Row> = Vec::new();
    let mut first_match: HashMap<(u32, u32), i32> = HashMap::new(); // (session, path) -> day

    let flush = |agg: &mut DayAgg, day: i32, rows_out: &mut Vec<Row>| {
        for (&(f, fv, d, v), &i) in &agg.slots {
            let a = &mut agg.aggs[i];
            a.visitors.sort_unstable();
            a.visitors.dedup();
            rows_out.push((f, fv, d, day, v, a.visitors.len() as i64, a.pageviews, a.events));
        }
        agg.slots.clear();
        agg.aggs.clear();
    };
    let visit_grain = |agg: &mut DayAgg, day: i32, sessions: &[Sess]| {
        for &i in by_day.get(&day).map(Vec::as_slice).unwrap_or(&[]) {
            let s = &sessions[i as usize];
            for (f, &fd) in SESSION_FILTERS.iter().enumerate() {
                let fv = s.dims[fd];
                for (d, &v) in s.dims.iter().enumerate() {
                    agg.add((f as u8, fv, d as u16, v), s.visitor, s.pageviews, s.events);
                }
            }
        }
    };

    let mut agg = DayAgg::default();
    let mut cur_day: Option<i32> = None;
    let pageview = pool.id("pageview");
    let mut events = 0u64;
    {
        let mut stmt = conn.prepare(
            "SELECT created_at, visitor_id, session_id, name, path, props FROM events \
             WHERE site_id = ?1 ORDER BY created_at",
        )?;
        let mut rows = stmt.query([site])?;
        while let Some(r) = rows.next()? {
            let day = day_of.get(r.get(0)?);
            if day > built {
                break;
            }
            if cur_day != Some(day) {
                if let Some(d) = cur_day {
                    visit_grain(&mut agg, d, &sessions);
                    flush(&mut agg, d, &mut rows_out);
                }
                cur_day = Some(day);
            }
            events += 1;
            let visitor: i64 = r.get(1)?;
            let Some(&si) = sidx.get(&r.get::<_, i64>(2)?) else {
                continue;
            };
            let s = &sessions[si as usize];
            let name = pool.id(r.get_ref(3)?.as_str()?);
            let path = pool.id(r.get_ref(4)?.as_str()?);
            let pv = i64::from(name == pageview);
            // Session-level filters x event-level dims.
            for (f, &fd) in SESSION_FILTERS.iter().enumerate() {
                let fv = s.dims[fd];
                agg.add((f as u8, fv, D_PAGE, path), visitor, pv, 1);
                agg.add((f as u8, fv, D_EVENT_NAME, name), visitor, pv, 1);
            }
            // page filter x every dim.
            for (d, &v) in s.dims.iter().enumerate() {
                agg.add((F_PAGE, path, d as u16, v), visitor, pv, 1);
            }
            agg.add((F_PAGE, path, D_PAGE, path), visitor, pv, 1);
            agg.add((F_PAGE, path, D_EVENT_NAME, name), visitor, pv, 1);
            first_match.entry((si, path)).or_insert(day);
            // Props: prop_key and prop:KEY under every filter.
            if let Some(props) = r.get_ref(5)?.as_str_or_null()? {
                let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(props)?;
                for (k, v) in obj {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let kid = pool.id(&k);
                    let vid = pool.id(&v);
                    let next = 17 + prop_dims.len() as u16;
                    let pd = *prop_dims.entry(kid).or_insert(next);
                    for f in 0..6u8 {
                        let fv = if f == F_PAGE {
                            path
                        } else {
                            s.dims[SESSION_FILTERS[f as usize]]
                        };
                        agg.add((f, fv, D_PROP_KEY, kid), visitor, 0, 1);
                        agg.add((f, fv, pd, vid), visitor, pv, 1);
                    }
                }
            }
        }
    }
    if let Some(d) = cur_day {
        visit_grain(&mut agg, d, &sessions);
        flush(&mut agg, d, &mut rows_out);
    }
    let t_agg = started.elapsed().as_secs_f64();
    println!("  aggregated {events} closed-day events into {} rows in {t_agg:.1} s", rows_out.len());

    // Visits of the page filter, by start day and first matching day.
    let mut visits: HashMap<(u32, i32, i32), (i64, i64, i64, i64)> = HashMap::new();
    for (&(si, path), &mday) in &first_match {
        let s = &sessions[si as usize];
        let e = visits.entry((path, s.day, mday)).or_default();
        e.0 += 1;
        e.1 += i64::from(s.pageviews <= 1);
        e.2 += s.duration;
        e.3 += s.pageviews;
    }

    // Names of the dims and filters.
    let mut dim_names: Vec<String> = SESSION_DIMS.iter().map(|d| d.0.to_owned()).collect();
    dim_names.extend(["page", "event_name", "prop_key"].map(str::to_owned));
    let mut props_sorted: Vec<(u16, u32)> = prop_dims.iter().map(|(&k, &d)| (d, k)).collect();
    props_sorted.sort();
    for (_, k) in props_sorted {
        dim_names.push(format!("prop:{}", pool.strings[k as usize]));
    }
    let filter_names: Vec<&str> = SESSION_FILTERS
        .iter()
        .map(|&i| SESSION_DIMS[i].0)
        .chain(["page"])
        .collect();
    let s = |id: u32| pool.strings[id as usize].as_str();
    rows_out.sort_unstable_by(|a, b| {
        (filter_names[a.0 as usize], s(a.1), dim_names[a.2 as usize].as_str(), a.3, s(a.4)).cmp(&(
            filter_names[b.0 as usize],
            s(b.1),
            dim_names[b.2 as usize].as_str(),
            b.3,
            s(b.4),
        ))
    });
    let t_sort = started.elapsed().as_secs_f64();

    let tx = conn.transaction()?;
    tx.execute_batch(
        "DROP TABLE IF EXISTS rollup_pairs; DROP TABLE IF EXISTS rollup_pair_visits;
         CREATE TABLE rollup_pairs (
            site_id INTEGER NOT NULL, fdim TEXT NOT NULL, fvalue TEXT NOT NULL, dim TEXT NOT NULL,
            day INTEGER NOT NULL, value TEXT NOT NULL,
            visitors INTEGER NOT NULL, pageviews INTEGER NOT NULL, events INTEGER NOT NULL,
            PRIMARY KEY (site_id, fdim, fvalue, dim, day, value)) WITHOUT ROWID;
         CREATE TABLE rollup_pair_visits (
            site_id INTEGER NOT NULL, fdim TEXT NOT NULL, fvalue TEXT NOT NULL, day INTEGER NOT NULL,
            match_day INTEGER NOT NULL, visits INTEGER NOT NULL, bounces INTEGER NOT NULL,
            duration INTEGER NOT NULL, pageviews INTEGER NOT NULL,
            PRIMARY KEY (site_id, fdim, fvalue, day, match_day)) WITHOUT ROWID;",
    )?;
    {
        let mut ins = tx.prepare(
            "INSERT INTO rollup_pairs (site_id, fdim, fvalue, dim, day, value, visitors, pageviews, events) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for &(f, fv, d, day, v, vis, pv, ev) in &rows_out {
            ins.execute(params![
                site,
                filter_names[f as usize],
                s(fv),
                dim_names[d as usize],
                day,
                s(v),
                vis,
                pv,
                ev
            ])?;
        }
        let mut ins = tx.prepare(
            "INSERT INTO rollup_pair_visits VALUES (?1, 'page', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut vrows: Vec<_> = visits.into_iter().collect();
        vrows.sort_unstable_by(|a, b| (s(a.0.0), a.0.1, a.0.2).cmp(&(s(b.0.0), b.0.1, b.0.2)));
        for ((path, day, mday), (n, b, dur, pv)) in &vrows {
            ins.execute(params![site, s(*path), day, mday, n, b, dur, pv])?;
        }
        println!("  rollup_pair_visits: {} rows", vrows.len());
    }
    tx.commit()?;
    let total = started.elapsed().as_secs_f64();
    println!(
        "built in {total:.1} s (read sessions {t_sessions:.1} s, aggregate {:.1} s, sort {:.1} s, write {:.1} s); \
         rollup_pairs {} rows; load after {}",
        t_agg - t_sessions,
        t_sort - t_agg,
        total - t_sort,
        rows_out.len(),
        load()
    );
    Ok(())
}
