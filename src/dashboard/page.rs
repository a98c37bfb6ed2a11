//! A site's dashboard: top figures with the change against the previous period, the chart, and
//! one table per breakdown. Every number comes from `StatsStore`; the queries run concurrently.

use super::DashboardError;
use super::chart::{self, Chart};
use super::export;
use super::format;
use super::params::{self, View};
use crate::domain::Site;
use crate::stats::goal::{self, Goal};
use crate::stats::period::{self, Period};
use crate::stats::{
    Aggregate, BreakdownRow, Dimension, EngagementSums, Filter, FilterOp, Interval, Metrics,
    StatsQuery,
};
use crate::store::DynStore;
use crate::web::layout::Layout;
use askama::Template;
use chrono::{TimeDelta, Utc};
use futures_util::future::try_join_all;

/// Rows per breakdown table.
const ROWS: i64 = 10;
/// Prop keys shown for custom events.
const PROP_KEYS: i64 = 3;
/// The custom event a site's "not found" template sends, and its prop with the missing path:
/// `footfall('404', {props: {path: location.pathname}})`.
pub const NOT_FOUND_EVENT: &str = "404";
pub const NOT_FOUND_PROP: &str = "path";

/// The tables, grouped as on the page.
const GROUPS: &[(&str, &[Dimension])] = &[
    (
        "Pages",
        &[Dimension::Page, Dimension::EntryPage, Dimension::ExitPage],
    ),
    (
        "Sources",
        &[
            Dimension::Source,
            Dimension::Referrer,
            Dimension::UtmSource,
            Dimension::UtmMedium,
            Dimension::UtmCampaign,
        ],
    ),
    (
        "Locations",
        &[Dimension::Country, Dimension::Region, Dimension::City],
    ),
    (
        "Devices",
        &[
            Dimension::Browser,
            Dimension::BrowserVersion,
            Dimension::Os,
            Dimension::Device,
        ],
    ),
];

pub struct PeriodLink {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

pub struct Chip {
    pub label: String,
    pub remove_href: String,
}

/// A goal's line in the Goals table.
pub struct GoalRow {
    pub name: String,
    /// What converts, in words (`pageview /blog/**`).
    pub target: String,
    /// The view with the goal's filters added.
    pub href: String,
    pub uniques: String,
    pub total: String,
    /// Converted visitors ÷ all visitors of the view, e.g. "12.5%".
    pub rate: String,
    pub bar: u32,
    /// A revenue goal's total and mean amount in its currency ("1,234.50 EUR"); empty for the
    /// others.
    pub revenue: String,
    pub average: String,
    /// Conversions with amounts in other currencies, counted but not summed ("2 in other
    /// currencies, not summed"); empty when there are none.
    pub other: String,
}

/// A saved segment in the menu.
pub struct SegmentLink {
    pub name: String,
    pub href: String,
    pub active: bool,
    pub delete_action: String,
}

pub struct TopStat {
    pub label: &'static str,
    pub value: String,
    /// e.g. "+12%"; empty when there is nothing to compare with.
    pub change: String,
    /// `up` / `down` for the arrow, `good` / `bad` for the colour.
    pub direction: &'static str,
    pub tone: &'static str,
}

pub struct Row {
    pub label: String,
    /// The dimension's value ('' where not set), as the row's filter has it.
    pub value: String,
    pub href: String,
    pub visitors: String,
    pub pageviews: String,
    pub bar: u32,
    /// A word on the row after its label ("from Google"); empty for none.
    pub note: String,
    /// The values of the table's `extra` columns.
    pub extra: Vec<String>,
}

pub struct Table {
    pub title: String,
    pub metric: &'static str,
    /// The second column's heading.
    pub second: &'static str,
    pub rows: Vec<Row>,
    /// Headings (and their explanations) of columns after the second: the pages table's
    /// engagement figures, where the view has any.
    pub extra: Vec<(&'static str, &'static str)>,
    /// This table's rows, all of them, as CSV for the same view.
    pub export_href: String,
}

pub struct Group {
    pub title: &'static str,
    pub tables: Vec<Table>,
}

#[derive(Template)]
#[template(path = "dashboard/page.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub site: String,
    pub base: String,
    pub shared: bool,
    pub period_label: String,
    pub periods: Vec<PeriodLink>,
    pub from: String,
    pub to: String,
    pub chips: Vec<Chip>,
    pub top: Vec<TopStat>,
    pub chart: Chart,
    pub current_visitors: i64,
    pub groups: Vec<Group>,
    pub no_events: bool,
    pub query_string: String,
    /// The active filters in URL form, for the custom-range form's hidden fields.
    pub filter_params: Vec<String>,
    /// The raw events of this view as CSV.
    pub events_export_href: String,
    /// The site's goals and their conversions in this view.
    pub goals: Vec<GoalRow>,
    /// Some goal is a revenue goal: the table has revenue columns.
    pub revenue_goals: bool,
    /// The site's saved segments (none on a shared page).
    pub segments: Vec<SegmentLink>,
    /// The view's filters (the segment's included) as a query string, for the form that saves
    /// them as a segment; empty when there is nothing to save (no filters, a shared page).
    pub save_view: String,
}

pub async fn render(
    store: &DynStore,
    site: &Site,
    pairs: &[(String, String)],
    base: String,
    layout: Layout,
    shared: bool,
) -> Result<DashboardPage, DashboardError> {
    let view = params::parse(pairs).map_err(DashboardError::BadRequest)?;
    // Read once: for the segment the view names, and for the menu (not on shared pages).
    let saved = if !shared || view.segment.is_some() {
        store.saved_segments(site.id).await?
    } else {
        Vec::new()
    };
    let goals = store.goals(site.id).await?;
    let view = params::resolve(site, &saved, &goals, view).map_err(DashboardError::BadRequest)?;
    let query = view.query(site);
    let (from, to) = (query.from, query.to);
    let (prev_from, prev_to) = period::previous(from, to);
    let previous = StatsQuery {
        from: prev_from,
        to: prev_to,
        ..query.clone()
    };
    let interval = Interval::for_days((to - from).num_days() + 1);

    let s = store.as_ref();
    let dims: Vec<&Dimension> = GROUPS.iter().flat_map(|(_, dims)| dims.iter()).collect();
    // The view's figures by page, whose sum is the view's (every pageview has a page): one pass
    // over its measured pageviews instead of two.
    let (engaged_pages, engaged_before) = tokio::try_join!(
        s.engagement(&query, Some(&Dimension::Page)),
        s.engagement(&previous, None),
    )?;
    let mut engaged = EngagementSums::default();
    for (_, e) in &engaged_pages {
        engaged.add(e);
    }
    let (current, before, points, current_visitors, tables, events, keys) = tokio::try_join!(
        s.aggregate(&query),
        s.aggregate(&previous),
        s.timeseries(&query, interval),
        s.current_visitors(site.id, Utc::now() - TimeDelta::minutes(5)),
        try_join_all(dims.iter().map(|d| s.breakdown(&query, d, ROWS, 0))),
        s.breakdown(&query, &Dimension::EventName, ROWS + 1, 0),
        s.prop_keys(&query, PROP_KEYS),
    )?;
    let prop_dims: Vec<Dimension> = keys.into_iter().map(Dimension::Prop).collect();
    let prop_tables =
        try_join_all(prop_dims.iter().map(|d| s.breakdown(&query, d, ROWS, 0))).await?;
    // The view's event names are at hand: when they are all listed (fewer than asked for) and
    // `404` is not one of them, the view has no 404s and the table costs no query.
    let maybe_404 = events.len() as i64 > ROWS
        || events
            .iter()
            .any(|r| r.value.as_deref() == Some(NOT_FOUND_EVENT));
    let not_found = if maybe_404 {
        not_found(store, &view, &query).await?
    } else {
        Vec::new()
    };

    let link = |v: &View| format!("{base}?{}", v.query_string());
    let goals = goal_rows(store, &goals, &view, &query, current.visitors, &link).await?;
    let query_string = view.query_string();
    let table = |dim: &Dimension, rows: Vec<BreakdownRow>, metric: &'static str| Table {
        title: dim.label(),
        metric,
        second: if metric == "Events" {
            "Visitors"
        } else {
            "Pageviews"
        },
        rows: rows_for(dim, rows, &view, &link),
        extra: Vec::new(),
        export_href: export::href(&base, &dim.to_string(), &query_string),
    };
    let mut tables = tables.into_iter();
    let mut groups: Vec<Group> = GROUPS
        .iter()
        .map(|(title, dims)| Group {
            title,
            tables: dims
                .iter()
                .filter_map(|d| tables.next().map(|rows| table(d, rows, "Visitors")))
                .collect(),
        })
        .collect();
    let custom: Vec<BreakdownRow> = events
        .into_iter()
        .filter(|r| r.value.as_deref() != Some(crate::domain::EventName::PAGEVIEW))
        .take(ROWS as usize)
        .collect();
    let mut event_tables = vec![table(&Dimension::EventName, custom, "Events")];
    event_tables.extend(
        prop_dims
            .iter()
            .zip(prop_tables)
            .map(|(d, rows)| table(d, rows, "Events")),
    );
    if let Some(pages) = groups
        .first_mut()
        .and_then(|g| g.tables.first_mut())
        .filter(|_| engaged_pages.iter().any(|(_, e)| e.pageviews > 0))
    {
        add_engagement(pages, &engaged_pages);
    }
    groups.push(Group {
        title: "Custom events",
        tables: event_tables,
    });
    if !not_found.is_empty() {
        let (missing, sources): (Vec<BreakdownRow>, Vec<String>) = not_found.into_iter().unzip();
        let dim = Dimension::Prop(NOT_FOUND_PROP.to_owned());
        let in_view = view.with_filter(not_found_filter());
        let mut rows = rows_for(&dim, missing, &in_view, &link);
        for (row, source) in rows.iter_mut().zip(sources) {
            row.note = source;
        }
        groups.push(Group {
            title: "Not found",
            tables: vec![Table {
                title: "Missing pages".to_owned(),
                metric: "Hits",
                second: "Visitors",
                rows,
                extra: Vec::new(),
                export_href: export::href(&base, &dim.to_string(), &in_view.query_string()),
            }],
        });
    }

    let periods = period_links(&view, &link);
    let mut chips: Vec<Chip> = view
        .segment
        .iter()
        .map(|segment| Chip {
            label: format!("Segment {}", segment.name),
            remove_href: link(&view.without_segment()),
        })
        .collect();
    chips.extend(view.filters.iter().enumerate().map(|(i, f)| Chip {
        label: chip_label(f),
        remove_href: link(&view.without_filter(i)),
    }));
    let segments = if shared {
        Vec::new()
    } else {
        saved
            .into_iter()
            .map(|saved| SegmentLink {
                href: link(&view.of_segment(saved.id)),
                active: view.segment.as_ref().is_some_and(|s| s.id == saved.id),
                delete_action: format!("{base}/segments/{}/delete", saved.id),
                name: saved.name,
            })
            .collect()
    };
    let all = view.all_filters();
    let save_view = if shared || all.is_empty() {
        String::new()
    } else {
        params::View {
            period: view.period,
            filters: all,
            segment: None,
        }
        .query_string()
    };
    let period_label = period_label(view.period);
    Ok(DashboardPage {
        layout,
        site: site.domain.to_string(),
        base: base.clone(),
        shared,
        period_label,
        periods,
        from: from.to_string(),
        to: to.to_string(),
        chips,
        top: top_stats(
            &current,
            &before,
            engaged,
            engaged_before.first().map(|(_, e)| *e).unwrap_or_default(),
        ),
        chart: chart::build(&points, interval),
        current_visitors,
        no_events: current.events == 0 && before.events == 0 && view.filters.is_empty(),
        groups,
        events_export_href: export::href(&base, "events", &query_string),
        query_string,
        filter_params: view.filters.iter().map(params::format_filter).collect(),
        revenue_goals: goals.iter().any(|g| !g.revenue.is_empty()),
        goals,
        segments,
        save_view,
    })
}

/// The links to the named periods, of `view` with each (`link` makes a view's address).
pub fn period_links(view: &View, link: &dyn Fn(&View) -> String) -> Vec<PeriodLink> {
    Period::NAMED
        .iter()
        .filter_map(|(name, label)| {
            let p = Period::parse(name, None, None).ok()?;
            Some(PeriodLink {
                label,
                href: link(&view.with_period(p)),
                active: p == view.period,
            })
        })
        .collect()
}

/// A period in words: "Last 7 days", or a custom range's dates.
pub fn period_label(period: Period) -> String {
    match period {
        Period::Custom { from, to } => format!("{from} – {to}"),
        p => Period::NAMED
            .iter()
            .find(|(n, _)| *n == p.name())
            .map(|(_, l)| (*l).to_owned())
            .unwrap_or_default(),
    }
}

/// Each goal's unique conversions (visitors with a converting event), total conversions (such
/// events) and conversion rate (converted visitors ÷ all visitors of the view), under the view's
/// period and filters; the goal's filters are added to the view's (all must hold).
async fn goal_rows(
    store: &DynStore,
    goals: &[Goal],
    view: &View,
    query: &StatsQuery,
    visitors: i64,
    link: &dyn Fn(&View) -> String,
) -> Result<Vec<GoalRow>, DashboardError> {
    let (answers, revenue) = tokio::try_join!(
        store.goal_conversions(query, goals, Metrics::Counts),
        try_join_all(goals.iter().map(|g| store.goal_revenue(query, g)))
    )?;
    let max = answers.iter().map(|a| a.visitors).max().unwrap_or(0).max(1);
    Ok(goals
        .iter()
        .zip(answers)
        .zip(revenue)
        .map(|((goal, a), revenue)| {
            let converted = view.with_filter(goal::converted(goal));
            let currency = goal.currency.as_deref().unwrap_or_default();
            let (revenue, average, other) = match revenue {
                Some(r) => (
                    format!("{} {currency}", format::money(r.total())),
                    if r.conversions > 0 {
                        format!("{} {currency}", format::money(r.average()))
                    } else {
                        "–".to_owned()
                    },
                    match r.other_currency {
                        0 => String::new(),
                        n => format!(
                            "{n} conversion{} in other currencies, counted but not summed",
                            if n == 1 { "" } else { "s" }
                        ),
                    },
                ),
                None => Default::default(),
            };
            GoalRow {
                revenue,
                average,
                other,
                name: goal.name.clone(),
                target: goal.describe_all(),
                href: link(&converted),
                uniques: format::compact(a.visitors),
                total: format::compact(a.events),
                rate: if visitors > 0 {
                    format!("{:.1}%", a.visitors as f64 * 100.0 / visitors as f64)
                } else {
                    "–".to_owned()
                },
                bar: u32::try_from(a.visitors * 100 / max).unwrap_or(100),
            }
        })
        .collect())
}

fn not_found_filter() -> Filter {
    Filter {
        dimension: Dimension::EventName,
        op: FilterOp::Is,
        value: NOT_FOUND_EVENT.to_owned(),
    }
}

/// The "Not found" table: the paths of the view's `404` events, most hit first, each with the
/// source that sent most of its hits ("from Google", "direct"). Empty when the view has none.
async fn not_found(
    store: &DynStore,
    view: &View,
    query: &StatsQuery,
) -> Result<Vec<(BreakdownRow, String)>, DashboardError> {
    let s = store.as_ref();
    let other_event = view
        .filters
        .iter()
        .any(|f| f.dimension == Dimension::EventName && f.value != NOT_FOUND_EVENT);
    if other_event {
        return Ok(Vec::new());
    }
    let path = Dimension::Prop(NOT_FOUND_PROP.to_owned());
    let mut missing = query.clone();
    missing.filters = view.with_filter(not_found_filter()).filters;
    let rows = s.breakdown(&missing, &path, ROWS, 0).await?;
    let sources = try_join_all(rows.iter().map(|row| {
        let mut one = missing.clone();
        one.filters.retain(|f| f.dimension != path);
        one.filters.push(Filter {
            dimension: path.clone(),
            op: FilterOp::Is,
            value: row.value.clone().unwrap_or_default(),
        });
        async move { s.breakdown(&one, &Dimension::Source, 1, 0).await }
    }))
    .await?;
    Ok(rows
        .into_iter()
        .zip(sources)
        .map(|(row, top)| {
            let note = match top.first().map(|t| t.value.as_deref()) {
                Some(Some(source)) => format!("from {source}"),
                Some(None) => "direct".to_owned(),
                None => String::new(),
            };
            (row, note)
        })
        .collect())
}

fn chip_label(f: &Filter) -> String {
    let value = if f.value.is_empty() {
        "(none)"
    } else {
        f.value.as_str()
    };
    format!("{} {} {}", f.dimension.label(), f.op.name(), value)
}

fn rows_for(
    dim: &Dimension,
    rows: Vec<BreakdownRow>,
    view: &View,
    link: &dyn Fn(&View) -> String,
) -> Vec<Row> {
    let event_table = matches!(dim, Dimension::EventName | Dimension::Prop(_));
    let size = |r: &BreakdownRow| if event_table { r.events } else { r.visitors };
    let max = rows.iter().map(size).max().unwrap_or(0).max(1);
    rows.into_iter()
        .map(|r| {
            let filter = Filter {
                dimension: dim.clone(),
                op: FilterOp::Is,
                value: r.value.clone().unwrap_or_default(),
            };
            Row {
                value: r.value.clone().unwrap_or_default(),
                label: r
                    .value
                    .clone()
                    .unwrap_or_else(|| empty_label(dim).to_owned()),
                href: link(&view.with_filter(filter)),
                visitors: format::compact(if event_table { r.events } else { r.visitors }),
                pageviews: format::compact(if event_table { r.visitors } else { r.pageviews }),
                bar: u32::try_from(size(&r) * 100 / max).unwrap_or(100),
                note: String::new(),
                extra: Vec::new(),
            }
        })
        .collect()
}

fn empty_label(dim: &Dimension) -> &'static str {
    match dim {
        Dimension::Source | Dimension::Referrer => "Direct / none",
        Dimension::Country | Dimension::Region | Dimension::City => "Unknown",
        _ => "(none)",
    }
}

/// The pages table's "Time on page" and "Scroll depth" columns: the means over each page's
/// measured pageviews (`EngagementSums`), "–" for a page with none.
fn add_engagement(table: &mut Table, pages: &[(Option<String>, EngagementSums)]) {
    table.extra = vec![
        (
            "Time on page",
            "Mean engaged time (page visible, visitor active) of the pageviews that reported it",
        ),
        (
            "Scroll depth",
            "Mean deepest scroll position, percent of the page, of the pageviews that reported it",
        ),
    ];
    let by_page: std::collections::HashMap<&str, &EngagementSums> = pages
        .iter()
        .map(|(page, e)| (page.as_deref().unwrap_or_default(), e))
        .collect();
    for row in &mut table.rows {
        let value = row.value.as_str();
        let e = by_page.get(value).copied().copied().unwrap_or_default();
        row.extra = vec![
            e.time_on_page()
                .map_or_else(|| "–".to_owned(), format::duration),
            e.scroll_depth()
                .map_or_else(|| "–".to_owned(), |d| format!("{d:.0}%")),
        ];
    }
}

fn top_stats(
    now: &Aggregate,
    before: &Aggregate,
    engaged: EngagementSums,
    engaged_before: EngagementSums,
) -> Vec<TopStat> {
    let stat = |label, value: String, cur: f64, prev: f64, higher_is_better: bool| {
        let (change, direction, tone) = match format::change(cur, prev) {
            Some(c) if c.abs() >= 0.5 => {
                let up = c > 0.0;
                (
                    format!("{}{:.0}%", if up { "+" } else { "−" }, c.abs()),
                    if up { "up" } else { "down" },
                    if up == higher_is_better {
                        "good"
                    } else {
                        "bad"
                    },
                )
            }
            Some(_) => ("±0%".to_owned(), "flat", "flat"),
            None => (String::new(), "flat", "flat"),
        };
        TopStat {
            label,
            value,
            change,
            direction,
            tone,
        }
    };
    let mut stats = vec![
        stat(
            "Unique visitors",
            format::compact(now.visitors),
            now.visitors as f64,
            before.visitors as f64,
            true,
        ),
        stat(
            "Visits",
            format::compact(now.visits),
            now.visits as f64,
            before.visits as f64,
            true,
        ),
        stat(
            "Pageviews",
            format::compact(now.pageviews),
            now.pageviews as f64,
            before.pageviews as f64,
            true,
        ),
        stat(
            "Views per visit",
            format!("{:.2}", now.views_per_visit),
            now.views_per_visit,
            before.views_per_visit,
            true,
        ),
        stat(
            "Bounce rate",
            format!("{:.0}%", now.bounce_rate),
            now.bounce_rate,
            before.bounce_rate,
            false,
        ),
        stat(
            "Visit duration",
            format::duration(now.visit_duration),
            now.visit_duration,
            before.visit_duration,
            true,
        ),
    ];
    // Only where something was measured (the engagement script): otherwise it would read 0s.
    if engaged.pageviews > 0 || engaged_before.pageviews > 0 {
        let (cur, prev) = (
            engaged.per_visit(now.visits),
            engaged_before.per_visit(before.visits),
        );
        stats.push(stat(
            "Engaged time per visit",
            cur.map_or_else(|| "–".to_owned(), format::duration),
            cur.unwrap_or(0.0),
            prev.unwrap_or(0.0),
            true,
        ));
    }
    stats
}
