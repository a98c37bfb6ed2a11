//! The funnel page (`/sites/{domain}/funnel?step=…&step=…` with the dashboard's view
//! parameters): pick 2–8 of the site's goals in order, and see per step its visitors, the share
//! of the first step and the drop-off from the previous one, as a chart drawn on the server and
//! a table, for the period and filters of the view (`stats::funnel`). The URL holds it all, so a
//! funnel is shared or bookmarked as any view is.

use super::page::{self, PeriodLink};
use super::params::{self, View};
use super::{DashboardError, format};
use crate::domain::Site;
use crate::stats::funnel::{self, MAX_STEPS, MIN_STEPS};
use crate::store::DynStore;
use crate::web::layout::Layout;
use askama::Template;

/// One step as the page shows it.
pub struct StepRow {
    pub number: usize,
    pub goal: String,
    pub visitors: String,
    pub of_first: String,
    /// "—" for the first step.
    pub dropped: String,
    pub drop_off: String,
    /// The bar, in the chart's coordinates.
    pub x: f64,
    pub y: f64,
    pub height: f64,
    /// Where the label above the bar sits.
    pub label_y: f64,
}

/// One of the step pickers: its position and the goal chosen there (empty: none).
pub struct Picker {
    pub number: usize,
    pub chosen: String,
}

#[derive(Template)]
#[template(path = "dashboard/funnel.html")]
pub struct FunnelPage {
    pub layout: Layout,
    pub site: String,
    pub base: String,
    pub period_label: String,
    pub from: String,
    pub to: String,
    pub periods: Vec<PeriodLink>,
    /// The view's filters as labels (the segment's included).
    pub filters: Vec<String>,
    /// The view without the steps, back to the dashboard.
    pub dashboard_href: String,
    /// The view's parameters, kept by the step form.
    pub hidden: Vec<(String, String)>,
    pub goal_names: Vec<String>,
    pub pickers: Vec<Picker>,
    /// The funnel, when 2 or more steps are chosen.
    pub steps: Vec<StepRow>,
    pub summary: String,
    pub view_box: String,
    pub chart_width: f64,
    pub bar_width: f64,
    pub axis_y: f64,
}

/// The chart's size, in its own units (the SVG scales to the page's width).
const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 260.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 28.0;

pub async fn render(
    store: &DynStore,
    site: &Site,
    pairs: &[(String, String)],
    base: String,
    layout: Layout,
) -> Result<FunnelPage, DashboardError> {
    // Steps are this page's own parameter; the rest is a view as on the dashboard. Empty
    // pickers are no step.
    let names: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "step" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let view_pairs: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| k != "step").cloned().collect();
    let view = params::parse(&view_pairs).map_err(DashboardError::BadRequest)?;
    let saved = if view.segment.is_some() {
        store.saved_segments(site.id).await?
    } else {
        Vec::new()
    };
    let goals = store.goals(site.id).await?;
    let view = params::resolve(site, &saved, &goals, view).map_err(DashboardError::BadRequest)?;
    if names.len() > MAX_STEPS {
        return Err(DashboardError::BadRequest(format!(
            "A funnel has at most {MAX_STEPS} steps; this link has {}.",
            names.len()
        )));
    }
    let query = view.query(site);
    let mut steps = Vec::new();
    let mut summary = String::new();
    if names.len() >= MIN_STEPS {
        let chosen = funnel::steps(&names, &goals, site.domain.as_str())
            .map_err(DashboardError::BadRequest)?;
        let visitors = store.funnel(&query, &chosen).await?;
        let figures = funnel::figures(&chosen, &visitors);
        steps = rows(&figures);
        summary = figures
            .iter()
            .map(|s| format!("{}: {} visitors", s.goal, s.visitors))
            .collect::<Vec<_>>()
            .join(", ");
    }
    let link = |v: &View, steps: &[String]| {
        let mut href = format!("{base}/funnel?{}", v.query_string());
        for s in steps {
            href.push_str("&step=");
            href.push_str(&url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>());
        }
        href
    };
    let periods = page::period_links(&view, &|v: &View| link(v, &names));
    let hidden = url::form_urlencoded::parse(view.query_string().as_bytes())
        .into_owned()
        .collect();
    let pickers = (0..MAX_STEPS)
        .map(|i| Picker {
            number: i + 1,
            chosen: names.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let (from, to) = (query.from, query.to);
    let n = steps.len().max(1) as f64;
    Ok(FunnelPage {
        layout,
        site: site.domain.to_string(),
        dashboard_href: format!("{base}?{}", view.query_string()),
        base,
        period_label: page::period_label(view.period),
        from: from.to_string(),
        to: to.to_string(),
        periods,
        filters: view
            .all_filters()
            .iter()
            .map(params::format_filter)
            .collect(),
        hidden,
        goal_names: goals.iter().map(|g| g.name.clone()).collect(),
        pickers,
        steps,
        summary,
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        chart_width: WIDTH,
        bar_width: WIDTH / n * 0.6,
        axis_y: HEIGHT - BOTTOM,
    })
}

/// The table's rows and the chart's bars: heights are shares of the first step.
fn rows(figures: &[funnel::Step]) -> Vec<StepRow> {
    let n = figures.len().max(1) as f64;
    let slot = WIDTH / n;
    let plot = HEIGHT - TOP - BOTTOM;
    figures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let height = (s.of_first / 100.0 * plot).clamp(0.0, plot);
            let y = HEIGHT - BOTTOM - height;
            StepRow {
                number: i + 1,
                goal: s.goal.clone(),
                visitors: format::compact(s.visitors),
                of_first: format!("{:.1} %", s.of_first),
                dropped: if i == 0 {
                    "—".to_owned()
                } else {
                    format::compact(s.dropped)
                },
                drop_off: if i == 0 {
                    "—".to_owned()
                } else {
                    format!("{:.1} %", s.drop_off)
                },
                x: (i as f64 * slot + slot * 0.2).round(),
                y: y.round(),
                height: height.round(),
                label_y: (y - 6.0).round(),
            }
        })
        .collect()
}
