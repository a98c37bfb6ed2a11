//! Throwaway: times the scan functions on a seeded SQLite database (reads rows with rusqlite).
//! FOOTFALL_ENGINE_DB=/work/data/ff10m.db cargo test --release --lib proto_bench -- --ignored --nocapture

use super::filter::Compiled;
use super::rows::{EventRow, Rows, SESSION_DIMS, SessionRow};
use super::scan::{self, Day, Question};
use super::segment::Segment;
use crate::stats::calendar;
use crate::stats::{Dimension, Filter, FilterOp, Interval, Metrics};
use crate::store::sql::filters::Col;
use std::time::Instant;

fn load(path: &str, tz: chrono_tz::Tz) -> Vec<Segment> {
    let conn = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    let (min, max): (i64, i64) = conn
        .query_row(
            "SELECT MIN(created_at), MAX(created_at) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let cols: Vec<&str> = SESSION_DIMS
        .iter()
        .map(|d| match Col::of(d) {
            Col::Session(c) => c,
            _ => "",
        })
        .collect();
    let mut out = Vec::new();
    let (first, last) = (calendar::local_day(tz, min), calendar::local_day(tz, max));
    let t = Instant::now();
    for day in first..=last {
        let (start, end) = (
            calendar::day_start(tz, day),
            calendar::day_start(tz, day + 1),
        );
        let mut rows = Rows::new();
        let mut st = conn
            .prepare("SELECT id, created_at, visitor_id, session_id, name, path, props FROM events WHERE site_id = 1 AND created_at >= ? AND created_at < ?")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut q = st.query([start, end]).unwrap_or_else(|e| panic!("{e}"));
        while let Some(r) = q.next().unwrap_or_else(|e| panic!("{e}")) {
            let name: String = r.get(4).unwrap_or_default();
            let path: String = r.get(5).unwrap_or_default();
            let props: Option<String> = r.get(6).unwrap_or_default();
            let props = rows.props(props.as_deref()).unwrap_or_default();
            let ev = EventRow {
                id: r.get(0).unwrap_or_default(),
                created_at: r.get(1).unwrap_or_default(),
                visitor_id: r.get(2).unwrap_or_default(),
                session_id: r.get(3).unwrap_or_default(),
                name: rows.symbols.intern(Some(&name)),
                path: rows.symbols.intern(Some(&path)),
                props,
            };
            rows.events.push(ev);
        }
        let sql = format!(
            "SELECT id, visitor_id, started_at, ended_at, pageviews, events, {} FROM sessions WHERE site_id = 1 AND started_at < ? AND ended_at >= ? AND started_at >= ?",
            cols.join(", ")
        );
        let mut st = conn.prepare(&sql).unwrap_or_else(|e| panic!("{e}"));
        let mut q = st
            .query([end, start, start - 2 * 86400])
            .unwrap_or_else(|e| panic!("{e}"));
        while let Some(r) = q.next().unwrap_or_else(|e| panic!("{e}")) {
            let mut dims = [0; 17];
            for (i, d) in dims.iter_mut().enumerate() {
                let v: Option<String> = r.get(6 + i).unwrap_or_default();
                *d = rows.symbols.intern(v.as_deref());
            }
            let s = SessionRow {
                id: r.get(0).unwrap_or_default(),
                visitor_id: r.get(1).unwrap_or_default(),
                started_at: r.get(2).unwrap_or_default(),
                ended_at: r.get(3).unwrap_or_default(),
                pageviews: r.get(4).unwrap_or_default(),
                events: r.get(5).unwrap_or_default(),
                dims,
            };
            rows.sessions.insert(s.id, s);
        }
        if let Some(seg) = Segment::build(&rows, day, start, end).unwrap_or_else(|e| panic!("{e}"))
        {
            out.push(seg);
        }
    }
    let bytes: usize = out.iter().map(Segment::heap_bytes).sum();
    eprintln!(
        "loaded {} segments in {:.1}s, {} MB, {} events, {} visits",
        out.len(),
        t.elapsed().as_secs_f64(),
        bytes / 1_000_000,
        out.iter().map(|s| s.events.len).sum::<usize>(),
        out.iter().map(|s| s.visits.len).sum::<usize>()
    );
    out
}

fn f(dimension: Dimension, op: FilterOp, value: &str) -> Filter {
    Filter {
        dimension,
        op,
        value: value.into(),
    }
}

fn page(segs: &[Segment], filters: &[Filter], from: i64, to: i64, tz: chrono_tz::Tz) -> usize {
    let compiled = Compiled::new(filters);
    let ask = |from: i64, to: i64| {
        let picked: Vec<&Segment> = segs
            .iter()
            .filter(|s| s.day >= from && s.day <= to)
            .collect();
        let matches: Vec<_> = picked.iter().map(|s| compiled.matches(s)).collect();
        (picked, matches)
    };
    let (picked, matches) = ask(from, to);
    let q = Question {
        days: picked
            .iter()
            .zip(&matches)
            .map(|(seg, m)| Day { seg, m, memo: None })
            .collect(),
        start: calendar::day_start(tz, from),
        filters: &compiled,
    };
    let (ppicked, pmatches) = ask(from - 30, to - 30);
    let pq = Question {
        days: ppicked
            .iter()
            .zip(&pmatches)
            .map(|(seg, m)| Day { seg, m, memo: None })
            .collect(),
        start: calendar::day_start(tz, from - 30),
        filters: &compiled,
    };
    let mut n = 0;
    let a = scan::aggregate(&q);
    let _b = scan::aggregate(&pq);
    n += a.visitors as usize;
    n += scan::series(&q, Interval::Day, Metrics::Counts).len();
    for d in Dimension::FIXED.iter() {
        n += scan::breakdown(&q, d, 10, 0, Metrics::Counts).len();
    }
    let keys = scan::prop_keys(&q, 3);
    for k in keys {
        n += scan::breakdown(&q, &Dimension::Prop(k), 10, 0, Metrics::Counts).len();
    }
    n
}

#[test]
#[ignore = "a measurement: needs FOOTFALL_ENGINE_DB"]
fn proto_bench() {
    let Ok(path) = std::env::var("FOOTFALL_ENGINE_DB") else {
        return;
    };
    let tz = chrono_tz::Europe::Berlin;
    let segs = load(&path, tz);
    let to = segs.iter().map(|s| s.day).max().unwrap_or(0);
    let from = to - 29;
    use Dimension as D;
    use FilterOp::{Contains, Is};
    let views: Vec<(&str, Vec<Filter>)> = vec![
        ("unfiltered", vec![]),
        ("source is Google", vec![f(D::Source, Is, "Google")]),
        ("page is /pricing", vec![f(D::Page, Is, "/pricing")]),
        ("country is DE", vec![f(D::Country, Is, "DE")]),
        (
            "prop:plan is pro",
            vec![f(D::Prop("plan".into()), Is, "pro")],
        ),
        ("page contains /blog", vec![f(D::Page, Contains, "/blog")]),
        ("entry_page is /", vec![f(D::EntryPage, Is, "/")]),
        (
            "DE + mobile",
            vec![f(D::Country, Is, "DE"), f(D::Device, Is, "mobile")],
        ),
        (
            "Google + /pricing + Chrome",
            vec![
                f(D::Source, Is, "Google"),
                f(D::Page, Is, "/pricing"),
                f(D::Browser, Is, "Chrome"),
            ],
        ),
    ];
    for (name, filters) in &views {
        let mut times = Vec::new();
        for _ in 0..4 {
            let t = Instant::now();
            std::hint::black_box(page(&segs, filters, from, to, tz));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        eprintln!("{name}: median {:.1} ms (min {:.1})", times[2], times[0]);
    }
    let compiled = Compiled::new(&views[1].1);
    let picked: Vec<&Segment> = segs
        .iter()
        .filter(|s| s.day >= from && s.day <= to)
        .collect();
    let matches: Vec<_> = picked.iter().map(|s| compiled.matches(s)).collect();
    let q = Question {
        days: picked
            .iter()
            .zip(&matches)
            .map(|(seg, m)| Day { seg, m, memo: None })
            .collect(),
        start: calendar::day_start(tz, from),
        filters: &compiled,
    };
    eprintln!("google agg {:?}", scan::aggregate(&q));
    eprintln!(
        "google countries {:?}",
        scan::breakdown(&q, &D::Country, 3, 0, Metrics::WithVisits)
    );
}
