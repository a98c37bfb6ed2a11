//! query: times footfall's full dashboard page (last 30 local days, per view) on the Parquet files
//! `export` wrote, through DataFusion SQL, and prints a markdown table of view -> median ms.
//!
//!   query --data /work/bench-tmp/parquet [--runs 5] [--threads 2] [--view NAME] [--detail] [--check]
//!
//! Semantics follow footfall's `src/stats/mod.rs` and `src/store/sql/queries`:
//! - visitors = SUM over local days of COUNT(DISTINCT visitor_id) that day;
//! - a session-level breakdown with only session-level filters counts visits (the `sessions`
//!   files) on their local start day; everything else counts matching events (the `events`
//!   files, widened with their visit's session-level attributes) per local event day;
//! - a `prop:KEY is V` filter reads the `props` files (one row per event and key, so one row per
//!   matching event); prop breakdowns and prop keys read `props` too;
//! - the aggregate's visits/bounces/duration are those of visits started in the range that
//!   match the session-level filters and, with event-level filters, had a matching event in it.
//! - breakdown rows: visitors desc, pageviews desc, events desc, value (byte order).

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Is,
    Contains,
}

#[derive(Clone)]
struct Filter {
    dim: &'static str,
    op: Op,
    value: &'static str,
}

/// Where a dimension lives.
#[derive(Clone, PartialEq)]
enum Col {
    /// A session-level column (in `sessions` and, widened, in `events`/`props`).
    Session(&'static str),
    /// An event column.
    Event(&'static str),
    /// A prop key.
    Prop(String),
}

fn col_of(dim: &str) -> Col {
    match dim {
        "page" => Col::Event("path"),
        "event_name" => Col::Event("name"),
        "entry_page" => Col::Session("entry_path"),
        "exit_page" => Col::Session("exit_path"),
        "source" => Col::Session("referrer_source"),
        "referrer" => Col::Session("referrer"),
        "utm_source" => Col::Session("utm_source"),
        "utm_medium" => Col::Session("utm_medium"),
        "utm_campaign" => Col::Session("utm_campaign"),
        "country" => Col::Session("country"),
        "region" => Col::Session("region"),
        "city" => Col::Session("city"),
        "browser" => Col::Session("browser"),
        "browser_version" => Col::Session("browser_version"),
        "os" => Col::Session("os"),
        "device" => Col::Session("device"),
        d => match d.strip_prefix("prop:") {
            Some(k) => Col::Prop(k.to_owned()),
            None => panic!("unknown dimension {d}"),
        },
    }
}

/// The dashboard's breakdown tables (page.rs GROUPS), in order.
const BREAKDOWNS: [&str; 15] = [
    "page",
    "entry_page",
    "exit_page",
    "source",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "region",
    "city",
    "browser",
    "browser_version",
    "os",
    "device",
];

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c.to_ascii_lowercase());
    }
    p.push('%');
    p
}

/// ` AND <cond>` for a filter on a non-prop column (stored '' = not set).
fn cond(f: &Filter) -> String {
    let c = match col_of(f.dim) {
        Col::Session(c) | Col::Event(c) => c.to_owned(),
        Col::Prop(_) => unreachable!("prop filters are handled by the source"),
    };
    match (f.op, f.value.is_empty()) {
        (Op::Is, _) => format!(" AND {c} = {}", lit(f.value)),
        (Op::Contains, true) => format!(" AND {c} <> ''"),
        // ASCII case-insensitive: lower() of an ASCII-only path equals its ASCII lowering.
        (Op::Contains, false) => format!(
            " AND lower({c}) LIKE {} ESCAPE '\\'",
            lit(&like_pattern(f.value))
        ),
    }
}

/// The period: local days `from..=to`.
#[derive(Clone, Copy)]
struct Range {
    from: i32,
    to: i32,
}

impl Range {
    fn cond(&self) -> String {
        format!("day >= {} AND day <= {}", self.from, self.to)
    }
}

struct View {
    filters: Vec<Filter>,
}

impl View {
    fn session(&self) -> impl Iterator<Item = &Filter> {
        self.filters
            .iter()
            .filter(|f| matches!(col_of(f.dim), Col::Session(_)))
    }
    fn event_cols(&self) -> impl Iterator<Item = &Filter> {
        self.filters
            .iter()
            .filter(|f| matches!(col_of(f.dim), Col::Event(_)))
    }
    fn prop(&self) -> Option<(String, &Filter)> {
        let mut props = self.filters.iter().filter_map(|f| match col_of(f.dim) {
            Col::Prop(k) => Some((k, f)),
            _ => None,
        });
        let first = props.next();
        assert!(props.next().is_none(), "one prop filter at most in this prototype");
        if let Some((_, f)) = &first {
            assert!(f.op == Op::Is && !f.value.is_empty(), "prop filters: `is <value>` only");
        }
        first
    }
    fn has_event_filters(&self) -> bool {
        self.event_cols().next().is_some() || self.prop().is_some()
    }

    /// Conditions on session-level and event columns (not props), for `events` or `props` rows.
    fn row_conds(&self) -> String {
        self.session().chain(self.event_cols()).map(cond).collect()
    }

    /// `FROM … WHERE …` of the matching events in the range.
    fn events(&self, r: Range) -> String {
        match self.prop() {
            Some((k, f)) => format!(
                "FROM props WHERE {} AND key = {} AND value = {}{}",
                r.cond(),
                lit(&k),
                lit(f.value),
                self.row_conds()
            ),
            None => format!("FROM events WHERE {}{}", r.cond(), self.row_conds()),
        }
    }

    /// `FROM … WHERE …` of the prop rows (key `key`, or any key) of the matching events.
    fn props(&self, r: Range, key: Option<&str>) -> String {
        let mut s = format!("FROM props WHERE {}{}", r.cond(), self.row_conds());
        if let Some(k) = key {
            s += &format!(" AND key = {}", lit(k));
        }
        if let Some((pk, f)) = self.prop() {
            if key == Some(pk.as_str()) {
                s += &format!(" AND value = {}", lit(f.value));
            } else {
                s += &format!(
                    " AND event_id IN (SELECT event_id FROM props WHERE {} AND key = {} AND value = {})",
                    r.cond(),
                    lit(&pk),
                    lit(f.value)
                );
            }
        }
        s
    }

    /// `FROM sessions WHERE …`: visits started in the range matching the filters.
    fn visits(&self, r: Range) -> String {
        let mut s = format!(
            "FROM sessions WHERE {}{}",
            r.cond(),
            self.session().map(cond).collect::<String>()
        );
        if self.has_event_filters() {
            s += &format!(" AND id IN (SELECT session_id {})", self.events(r));
        }
        s
    }

    fn visit_grain(&self, breakdown: Option<&Col>) -> bool {
        let about_visits = match breakdown {
            Some(c) => matches!(c, Col::Session(_)),
            None => self.session().next().is_some(),
        };
        about_visits && !self.has_event_filters()
    }
}

const PV: &str = "CASE WHEN name = 'pageview' THEN 1 ELSE 0 END";

/// The statements of one page, as (name, sql); the prop breakdowns come after prop_keys answers.
fn page_queries(v: &View, cur: Range, prev: Range) -> Vec<(String, String)> {
    let mut q = Vec::new();
    for (label, r) in [("aggregate", cur), ("aggregate (previous)", prev)] {
        if v.visit_grain(None) {
            q.push((
                label.to_owned(),
                format!(
                    "SELECT SUM(v), SUM(pv), SUM(ev), SUM(n), SUM(b), SUM(d), SUM(pv) AS visit_pageviews FROM (\
                     SELECT day, COUNT(DISTINCT visitor_id) v, SUM(pageviews) pv, SUM(events) ev, \
                     COUNT(*) n, SUM(CASE WHEN bounce THEN 1 ELSE 0 END) b, SUM(duration) d {} GROUP BY day)",
                    v.visits(r)
                ),
            ));
        } else {
            q.push((
                format!("{label}: counts"),
                format!(
                    "SELECT SUM(v), SUM(pv), SUM(n) FROM (SELECT day, COUNT(DISTINCT visitor_id) v, \
                     SUM({PV}) pv, COUNT(*) n {} GROUP BY day)",
                    v.events(r)
                ),
            ));
            q.push((
                format!("{label}: visits"),
                format!(
                    "SELECT COUNT(*), SUM(CASE WHEN bounce THEN 1 ELSE 0 END), SUM(duration), SUM(pageviews) {}",
                    v.visits(r)
                ),
            ));
        }
    }
    let series = if v.visit_grain(None) {
        format!(
            "SELECT day, COUNT(DISTINCT visitor_id), SUM(pageviews), SUM(events) {} GROUP BY day ORDER BY day",
            v.visits(cur)
        )
    } else {
        format!(
            "SELECT day, COUNT(DISTINCT visitor_id), SUM({PV}), COUNT(*) {} GROUP BY day ORDER BY day",
            v.events(cur)
        )
    };
    q.push(("timeseries".into(), series));
    for d in BREAKDOWNS.iter().chain(["event_name"].iter()) {
        let limit = if *d == "event_name" { 11 } else { 10 };
        q.push((format!("breakdown {d}"), breakdown(v, cur, &col_of(d), limit)));
    }
    q.push((
        "prop_keys".into(),
        format!(
            "SELECT key, COUNT(*) n {} GROUP BY key ORDER BY n DESC, key LIMIT 3",
            v.props(cur, None)
        ),
    ));
    q
}

fn breakdown(v: &View, r: Range, col: &Col, limit: usize) -> String {
    let inner = match col {
        Col::Session(c) if v.visit_grain(Some(col)) => format!(
            "SELECT day, {c} AS value, COUNT(DISTINCT visitor_id) v, SUM(pageviews) pv, SUM(events) ev {} GROUP BY day, {c}",
            v.visits(r)
        ),
        Col::Session(c) | Col::Event(c) => format!(
            "SELECT day, {c} AS value, COUNT(DISTINCT visitor_id) v, SUM({PV}) pv, COUNT(*) ev {} GROUP BY day, {c}",
            v.events(r)
        ),
        Col::Prop(k) => format!(
            "SELECT day, value, COUNT(DISTINCT visitor_id) v, SUM({PV}) pv, COUNT(*) ev {} GROUP BY day, value",
            v.props(r, Some(k))
        ),
    };
    format!(
        "SELECT value, SUM(v) AS visitors, SUM(pv) AS pageviews, SUM(ev) AS events FROM ({inner}) \
         GROUP BY value ORDER BY visitors DESC, pageviews DESC, events DESC, value LIMIT {limit}"
    )
}

async fn run(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

type Timed = Vec<(String, Duration, Vec<RecordBatch>)>;

/// Runs statements one after the other (each timed alone), or all at once, each in its own
/// task (each timed from the page's start until it finished).
async fn run_set(
    ctx: &SessionContext,
    queries: Vec<(String, String)>,
    sequential: bool,
    started: Instant,
) -> Result<Timed> {
    let mut out = Vec::new();
    if sequential {
        for (name, sql) in queries {
            let t = Instant::now();
            let b = run(ctx, &sql).await?;
            out.push((name, t.elapsed(), b));
        }
        return Ok(out);
    }
    let handles: Vec<_> = queries
        .into_iter()
        .map(|(name, sql)| {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let b = run(&ctx, &sql).await;
                (name, started.elapsed(), b)
            })
        })
        .collect();
    for h in handles {
        let (name, t, b) = h.await?;
        out.push((name, t, b?));
    }
    Ok(out)
}

/// One page: every statement concurrently (each in its own task), then the prop breakdowns for
/// the top prop keys. Returns (name, elapsed-from-page-start-when-done, batches).
async fn page(
    ctx: &SessionContext,
    v: &View,
    cur: Range,
    prev: Range,
    sequential: bool,
) -> Result<Vec<(String, Duration, Vec<RecordBatch>)>> {
    let started = Instant::now();
    let mut out = Vec::new();
    let queries = page_queries(v, cur, prev);
    out.extend(run_set(ctx, queries, sequential, started).await?);
    // Top prop keys -> a breakdown by each.
    let keys: Vec<String> = {
        let (_, _, batches) = out.iter().find(|(n, _, _)| n == "prop_keys").unwrap();
        let mut keys = Vec::new();
        for b in batches {
            let col = datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
            let a = col
                .as_any()
                .downcast_ref::<datafusion::arrow::array::StringArray>()
                .unwrap();
            keys.extend(a.iter().flatten().map(str::to_owned));
        }
        keys
    };
    let prop_q: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            (
                format!("breakdown prop:{k}"),
                breakdown(v, cur, &Col::Prop(k.clone()), 10),
            )
        })
        .collect();
    out.extend(run_set(ctx, prop_q, sequential, started).await?);
    Ok(out)
}

fn views() -> Vec<(&'static str, View)> {
    let is = |dim, value| Filter {
        dim,
        op: Op::Is,
        value,
    };
    vec![
        ("unfiltered", View { filters: vec![] }),
        ("source is Google", View { filters: vec![is("source", "Google")] }),
        ("page is /pricing", View { filters: vec![is("page", "/pricing")] }),
        ("country is DE", View { filters: vec![is("country", "DE")] }),
        ("prop:plan is pro", View { filters: vec![is("prop:plan", "pro")] }),
        (
            "page contains /blog",
            View {
                filters: vec![Filter {
                    dim: "page",
                    op: Op::Contains,
                    value: "/blog",
                }],
            },
        ),
        ("entry_page is /", View { filters: vec![is("entry_page", "/")] }),
        (
            "country is DE + device is mobile",
            View {
                filters: vec![is("country", "DE"), is("device", "mobile")],
            },
        ),
        (
            "source is Google + page is /pricing + browser is Chrome",
            View {
                filters: vec![
                    is("source", "Google"),
                    is("page", "/pricing"),
                    is("browser", "Chrome"),
                ],
            },
        ),
    ]
}

fn main() -> Result<()> {
    let mut data = String::from("/work/bench-tmp/parquet");
    let mut runs = 5usize;
    let mut threads = 2usize;
    let mut only: Option<String> = None;
    let mut detail = false;
    let mut check = false;
    let mut end_day: Option<i32> = None;
    let mut pushdown = false;
    let mut dump: Option<String> = None;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--data" => data = it.next().unwrap(),
            "--runs" => runs = it.next().unwrap().parse()?,
            "--threads" => threads = it.next().unwrap().parse()?,
            "--view" => only = it.next(),
            "--end-day" => end_day = Some(it.next().unwrap().parse()?),
            "--detail" => detail = true,
            "--check" => check = true,
            "--pushdown" => pushdown = true,
            "--dump" => dump = it.next(),
            _ => return Err(format!("unknown argument {k}").into()),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut config = SessionConfig::new().with_target_partitions(threads);
        if pushdown {
            config = config
                .set_bool("datafusion.execution.parquet.pushdown_filters", true)
                .set_bool("datafusion.execution.parquet.reorder_filters", true);
        }
        let ctx = SessionContext::new_with_config(config);
        let t = Instant::now();
        for table in ["events", "props", "sessions"] {
            ctx.register_parquet(table, format!("{data}/{table}/"), ParquetReadOptions::default())
                .await?;
        }
        eprintln!("registered tables in {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
        // "Today": the last local day with data (the seed ends now).
        let to = match end_day {
            Some(d) => d,
            None => {
                let b = run(&ctx, "SELECT CAST(MAX(day) AS INT) FROM sessions").await?;
                let a = b[0]
                    .column(0)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::Int32Array>()
                    .unwrap();
                a.value(0)
            }
        };
        let cur = Range { from: to - 29, to };
        let prev = Range {
            from: to - 59,
            to: to - 30,
        };
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "days {}..={} (previous {}..={}), {threads} threads, pushdown_filters={pushdown}, load before: {}",
            cur.from, cur.to, prev.from, prev.to,
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
        let ctx = Arc::new(ctx);
        if let Some(path) = dump {
            // Every widget's answer, in preagg.py dump's shape, for checks/compare.py.
            let mut all = serde_json::Map::new();
            for (name, v) in views() {
                if only.as_deref().is_some_and(|o| o != name) {
                    continue;
                }
                let res = page(&ctx, &v, cur, prev, true).await?;
                let mut widgets = serde_json::Map::new();
                let mut agg: [Vec<String>; 2] = [vec![], vec![]];
                for (q, _, batches) in &res {
                    let mut rows: Vec<Vec<String>> = Vec::new();
                    for b in batches {
                        for r in 0..b.num_rows() {
                            rows.push(
                                (0..b.num_columns())
                                    .map(|c| {
                                        datafusion::arrow::util::display::array_value_to_string(b.column(c), r)
                                            .unwrap_or_default()
                                    })
                                    .collect(),
                            );
                        }
                    }
                    let first = rows.into_iter().next().unwrap_or_default();
                    let slot = usize::from(q.contains("previous"));
                    match q.as_str() {
                        q if q.starts_with("aggregate") && q.ends_with(": counts") => {
                            // v, pv, n -> positions 0, 2, 3
                            agg[slot].resize(6, String::new());
                            agg[slot][0] = first[0].clone();
                            agg[slot][2] = first[1].clone();
                            agg[slot][3] = first[2].clone();
                        }
                        q if q.starts_with("aggregate") && q.ends_with(": visits") => {
                            agg[slot].resize(6, String::new());
                            agg[slot][1] = first[0].clone();
                            agg[slot][4] = first[1].clone();
                            agg[slot][5] = first[2].clone();
                        }
                        q if q.starts_with("aggregate") => {
                            // v, pv, ev, n, b, d, pv -> v, n, pv, ev, b, d
                            agg[slot] = [0, 3, 1, 2, 4, 5].iter().map(|&i| first[i].clone()).collect();
                        }
                        _ => {
                            let mut rows: Vec<serde_json::Value> = Vec::new();
                            for b in batches {
                                for r in 0..b.num_rows() {
                                    rows.push(serde_json::Value::Array(
                                        (0..b.num_columns())
                                            .map(|c| {
                                                serde_json::Value::String(
                                                    datafusion::arrow::util::display::array_value_to_string(
                                                        b.column(c),
                                                        r,
                                                    )
                                                    .unwrap_or_default(),
                                                )
                                            })
                                            .collect(),
                                    ));
                                }
                            }
                            widgets.insert(q.clone(), serde_json::Value::Array(rows));
                        }
                    }
                }
                for (slot, key) in [(0, "aggregate"), (1, "aggregate (previous)")] {
                    widgets.insert(
                        key.into(),
                        serde_json::json!([agg[slot].iter().map(|s| serde_json::Value::String(s.clone())).collect::<Vec<_>>()]),
                    );
                }
                all.insert(name.into(), serde_json::Value::Object(widgets));
                eprintln!("{name}: dumped");
            }
            std::fs::write(&path, serde_json::to_string_pretty(&all)?)?;
            return Ok(());
        }
        if check {
            for (name, v) in views() {
                if only.as_deref().is_some_and(|o| o != name) {
                    continue;
                }
                let res = page(&ctx, &v, cur, prev, true).await?;
                println!("\n## {name}");
                for (q, _, b) in &res {
                    if q.starts_with("aggregate") && !q.contains("previous")
                        || q == "breakdown country"
                        || q == "breakdown page"
                        || q == "breakdown source"
                        || q.starts_with("breakdown prop:")
                    {
                        println!("{q}:\n{}", pretty_format_batches(b)?);
                    }
                }
            }
            return Ok(());
        }
        println!("\n| view | page median ms (5 runs) | min | max | load (1-min) |\n|---|---:|---:|---:|---:|");
        for (name, v) in views() {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            page(&ctx, &v, cur, prev, false).await?; // warm-up
            let mut times = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                page(&ctx, &v, cur, prev, false).await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            println!(
                "| {name} | {:.0} | {:.0} | {:.0} | {} |",
                times[times.len() / 2],
                times[0],
                times[times.len() - 1],
                load.split_whitespace().next().unwrap_or("?")
            );
            if detail {
                let res = page(&ctx, &v, cur, prev, true).await?;
                for (q, t, _) in res {
                    eprintln!("    {q:<32} {:>8.1} ms", t.as_secs_f64() * 1000.0);
                }
            }
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    Ok(())
}
