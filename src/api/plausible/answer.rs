//! The Plausible-style question in footfall's terms (`Ask`) and its figures, shared by the v1
//! parameters and the v2 query: the same `StatsStore` calls the footfall-style endpoints make,
//! so the same question gives the same numbers. What Plausible's shapes need beyond them is
//! worked out here: conversion rates (as footfall's goal breakdown does), engagement
//! (`StatsStore::engagement`), percentages, and orders other than the store's.

use super::filters::Where;
use super::names::PMetric;
use crate::api::ApiError;
use crate::api::params::{BadParameter, MAX_HOURLY_DAYS, Metric};
use crate::api::values::{aggregate_value, conversion_rate, row_value, store_metrics};
use crate::domain::Site;
use crate::stats::goal::{self, Goal, GoalTarget};
use crate::stats::{Dimension, EngagementSums, Filter, FilterOp, Interval, StatsQuery};
use crate::store::DynStore;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Rows sorted in memory (an order other than the store's) come from at most this many.
pub const MAX_SORTED_ROWS: i64 = 10_000;
/// At most this many values in one `is` with several values.
const MAX_ANY_OF: usize = 100;

/// What the answer is grouped by.
#[derive(Debug, Clone, PartialEq)]
pub enum By {
    Total,
    Time(Interval),
    Dimension(Dimension),
}

/// What a result list is ordered by: a metric (its index in `metrics`) or the group's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Metric(usize),
    Group,
}

/// A checked question.
pub struct Ask {
    pub site: Site,
    pub query: StatsQuery,
    pub metrics: Vec<PMetric>,
    pub by: By,
    /// Only these rows (goal names, or values of the breakdown's dimension): an `is` with
    /// several values on the dimension broken down by.
    pub only: Option<Vec<String>>,
    /// (key, descending); empty: the store's order (visitors first).
    pub order: Vec<(Key, bool)>,
    pub limit: i64,
    pub offset: i64,
    /// The goal of a goal filter, for `conversion_rate`.
    conversion_goal: Option<Goal>,
    goals: Vec<Goal>,
}

/// A breakdown row or series bucket: its group and figures, in `metrics` order.
pub struct Row {
    pub group: Option<String>,
    pub start: Option<NaiveDateTime>,
    pub figures: Vec<Value>,
    /// False for a series bucket without events (v2 leaves those out).
    pub has_data: bool,
}

fn bad(parameter: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(BadParameter {
        parameter: parameter.to_owned(),
        message: message.into(),
    })
}

/// The goal a Plausible goal filter names: by footfall name, or `Visit /path` for the pageview
/// goal of that path.
fn goal_named<'a>(goals: &'a [Goal], name: &str) -> Option<&'a Goal> {
    goals.iter().find(|g| g.name == name).or_else(|| {
        let path = name.strip_prefix("Visit ")?;
        goals
            .iter()
            .find(|g| matches!(&g.target, GoalTarget::Page(p) if p == path))
    })
}

pub struct Parts {
    pub site: Site,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub filters: Where,
    pub metrics: Vec<PMetric>,
    pub by: By,
    pub order: Vec<(Key, bool)>,
    pub limit: i64,
    pub offset: i64,
}

impl Ask {
    /// Checks `parts` against what footfall can answer exactly; `filters` and `metrics` name the
    /// parameters errors are about (they differ between v1 and v2).
    pub async fn new(
        store: &DynStore,
        parts: Parts,
        param_filters: &str,
        param_metrics: &str,
    ) -> Result<Self, ApiError> {
        let goals = store.goals(parts.site.id).await?;
        let Where { filters, any_of } = parts.filters;
        let goal_rows = parts.by == By::Dimension(Dimension::Goal(Vec::new()));
        let mut kept = Vec::new();
        let mut only = None;
        let mut goal_names = Vec::new();
        for f in filters {
            if let Dimension::Goal(_) = f.dimension {
                let goal = goal_named(&goals, &f.value).ok_or_else(|| {
                    bad(
                        param_filters,
                        format!("{} has no goal named {:?}", parts.site.domain, f.value),
                    )
                })?;
                goal_names.push(goal.name.clone());
                if !goal_rows {
                    kept.push(Filter {
                        value: goal.name.clone(),
                        ..f
                    });
                }
            } else {
                kept.push(f);
            }
        }
        match any_of {
            None => {}
            Some((Dimension::Goal(_), names)) if goal_rows => {
                let mut found = Vec::new();
                for n in &names {
                    let goal = goal_named(&goals, n).ok_or_else(|| {
                        bad(
                            param_filters,
                            format!("{} has no goal named {n:?}", parts.site.domain),
                        )
                    })?;
                    found.push(goal.name.clone());
                }
                only = Some(found);
            }
            Some((dimension, values)) if parts.by == By::Dimension(dimension.clone()) => {
                if values.len() > MAX_ANY_OF {
                    return Err(bad(
                        param_filters,
                        format!("at most {MAX_ANY_OF} values in one filter"),
                    ));
                }
                only = Some(values);
            }
            Some((dimension, _)) => {
                return Err(bad(
                    param_filters,
                    format!(
                        "several values for {} (an OR): footfall answers it exactly only in a breakdown by that dimension",
                        dimension.name()
                    ),
                ));
            }
        }
        if goal_rows && !goal_names.is_empty() {
            // Plausible reads a goal filter on a goal breakdown as "these goals' rows".
            only = Some(match only {
                Some(o) => o.into_iter().filter(|n| goal_names.contains(n)).collect(),
                None => goal_names.clone(),
            });
        }
        let conversion_goal = match goal_names.as_slice() {
            [one] if !goal_rows => goal_named(&goals, one).cloned(),
            _ => None,
        };
        goal::resolve(&mut kept, &goals, parts.site.domain.as_str())
            .map_err(|e| bad(param_filters, e))?;

        for m in &parts.metrics {
            let refused = match (m, &parts.by) {
                (PMetric::Base(_), _) => None,
                (PMetric::ConversionRate, By::Dimension(Dimension::Goal(_))) => None,
                (PMetric::ConversionRate, By::Total) if conversion_goal.is_some() => None,
                (PMetric::ConversionRate, _) => Some(
                    "conversion_rate needs one event:goal filter on an aggregate, or a breakdown by event:goal",
                ),
                (PMetric::TimeOnPage | PMetric::ScrollDepth, By::Total) => None,
                (PMetric::TimeOnPage | PMetric::ScrollDepth, By::Dimension(d))
                    if *d == Dimension::Page
                        || (d.is_session_level() && d.goal_filters().is_none()) =>
                {
                    None
                }
                (PMetric::TimeOnPage | PMetric::ScrollDepth, _) => Some(
                    "time_on_page and scroll_depth are answered in all, by page or by a visit property, not by time, event name, custom property or goal",
                ),
                (PMetric::Percentage, By::Total) => {
                    Some("percentage needs a dimension: it is a row's share of all visitors")
                }
                (PMetric::Percentage, _) => None,
            };
            if let Some(message) = refused {
                return Err(bad(param_metrics, format!("{}: {message}", m.name())));
            }
        }
        if let By::Time(Interval::Hour) = parts.by {
            let days = (parts.to - parts.from).num_days() + 1;
            if days > MAX_HOURLY_DAYS {
                return Err(bad(
                    "interval",
                    format!(
                        "hourly figures cover at most {MAX_HOURLY_DAYS} days; this range has {days}"
                    ),
                ));
            }
        }
        Ok(Self {
            query: StatsQuery {
                site: parts.site.id,
                timezone: parts.site.timezone,
                from: parts.from,
                to: parts.to,
                filters: kept,
            },
            site: parts.site,
            metrics: parts.metrics,
            by: parts.by,
            only,
            order: parts.order,
            limit: parts.limit,
            offset: parts.offset,
            conversion_goal,
            goals,
        })
    }

    fn base_metrics(&self) -> Vec<Metric> {
        self.metrics
            .iter()
            .filter_map(|m| match m {
                PMetric::Base(b) => Some(*b),
                _ => None,
            })
            .collect()
    }

    fn wants(&self, m: PMetric) -> bool {
        self.metrics.contains(&m)
    }

    fn wants_engagement(&self) -> bool {
        self.wants(PMetric::TimeOnPage) || self.wants(PMetric::ScrollDepth)
    }

    /// The same question over `from..=to` (the previous period of a comparison).
    pub fn over(&self, from: NaiveDate, to: NaiveDate) -> Self {
        Self {
            site: self.site.clone(),
            query: StatsQuery {
                from,
                to,
                ..self.query.clone()
            },
            metrics: self.metrics.clone(),
            by: self.by.clone(),
            only: self.only.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            conversion_goal: self.conversion_goal.clone(),
            goals: self.goals.clone(),
        }
    }

    /// The figures of the whole question, in `metrics` order.
    pub async fn total(&self, store: &DynStore) -> Result<Vec<Value>, ApiError> {
        let all = store.aggregate(&self.query).await?;
        let engagement = if self.wants_engagement() {
            let rows = store.engagement(&self.query, None).await?;
            rows.into_iter().map(|(_, s)| s).next().unwrap_or_default()
        } else {
            EngagementSums::default()
        };
        let rate = match (&self.conversion_goal, self.wants(PMetric::ConversionRate)) {
            (Some(goal), true) => {
                // As footfall's goal breakdown: the goal's converted visitors over the visitors
                // of the question without the goal filter.
                let mut without = self.query.clone();
                without
                    .filters
                    .retain(|f| f.dimension.goal_filters().is_none());
                let (base, conversions) = tokio::try_join!(
                    store.aggregate(&without),
                    store.goal_conversions(
                        &without,
                        std::slice::from_ref(goal),
                        store_metrics(&[])
                    )
                )?;
                let converted = conversions.first().map(|a| a.visitors).unwrap_or(0);
                json!(conversion_rate(converted, base.visitors))
            }
            _ => Value::Null,
        };
        Ok(self
            .metrics
            .iter()
            .map(|m| match m {
                PMetric::Base(b) => aggregate_value(&all, *b),
                PMetric::ConversionRate => rate.clone(),
                PMetric::TimeOnPage => json!(engagement.time_on_page()),
                PMetric::ScrollDepth => json!(engagement.scroll_depth()),
                PMetric::Percentage => Value::Null,
            })
            .collect())
    }

    /// Every bucket of the range, in time order (then `order`, then paged).
    pub async fn series(&self, store: &DynStore, interval: Interval) -> Result<Vec<Row>, ApiError> {
        let points = store
            .timeseries_with(&self.query, interval, store_metrics(&self.base_metrics()))
            .await?;
        let total = if self.wants(PMetric::Percentage) {
            store.aggregate(&self.query).await?.visitors
        } else {
            0
        };
        let rows = points
            .iter()
            .map(|p| Row {
                group: None,
                start: Some(p.start),
                has_data: p.events > 0 || p.visitors > 0,
                figures: self
                    .metrics
                    .iter()
                    .map(|m| match m {
                        PMetric::Base(b) => {
                            row_value(p.visitors, p.pageviews, p.events, p.visits, *b)
                        }
                        PMetric::Percentage => json!(conversion_rate(p.visitors, total)),
                        _ => Value::Null,
                    })
                    .collect(),
            })
            .collect();
        Ok(rows)
    }

    /// The breakdown's rows, ordered and paged.
    pub async fn rows(&self, store: &DynStore) -> Result<Vec<Row>, ApiError> {
        let By::Dimension(dimension) = &self.by else {
            return Ok(Vec::new());
        };
        if dimension.goal_filters().is_some() {
            return self.goal_rows(store).await;
        }
        let metrics = store_metrics(&self.base_metrics());
        let in_store_order = self.order.is_empty()
            || (self.order.len() == 1
                && self.order[0].1
                && matches!(self.order[0].0, Key::Metric(i) if self.metrics.get(i) == Some(&PMetric::Base(Metric::Visitors))));
        let (raw, paged_by_store) = match &self.only {
            Some(values) => {
                let mut rows = Vec::new();
                for v in values {
                    let mut q = self.query.clone();
                    q.filters.push(Filter {
                        dimension: dimension.clone(),
                        op: FilterOp::Is,
                        value: v.clone(),
                    });
                    for r in store.breakdown_with(&q, dimension, 1, 0, metrics).await? {
                        if !rows
                            .iter()
                            .any(|x: &crate::stats::BreakdownRow| x.value == r.value)
                        {
                            rows.push(r);
                        }
                    }
                }
                // The store's order: visitors, pageviews, events (descending), then the value.
                rows.sort_by(|a, b| {
                    (b.visitors, b.pageviews, b.events)
                        .cmp(&(a.visitors, a.pageviews, a.events))
                        .then_with(|| a.value.cmp(&b.value))
                });
                (rows, false)
            }
            None if in_store_order => (
                store
                    .breakdown_with(&self.query, dimension, self.limit, self.offset, metrics)
                    .await?,
                true,
            ),
            None => {
                let rows = store
                    .breakdown_with(&self.query, dimension, MAX_SORTED_ROWS + 1, 0, metrics)
                    .await?;
                if rows.len() as i64 > MAX_SORTED_ROWS {
                    return Err(bad(
                        "order_by",
                        format!(
                            "this breakdown has more than {MAX_SORTED_ROWS} rows: footfall orders by visitors only there; narrow it with filters"
                        ),
                    ));
                }
                (rows, false)
            }
        };
        let total = if self.wants(PMetric::Percentage) {
            store.aggregate(&self.query).await?.visitors
        } else {
            0
        };
        let engagement: HashMap<Option<String>, EngagementSums> = if self.wants_engagement() {
            store
                .engagement(&self.query, Some(dimension))
                .await?
                .into_iter()
                .collect()
        } else {
            HashMap::new()
        };
        let rows = raw
            .into_iter()
            .map(|r| {
                let sums = engagement.get(&r.value).copied().unwrap_or_default();
                Row {
                    figures: self
                        .metrics
                        .iter()
                        .map(|m| match m {
                            PMetric::Base(b) => {
                                row_value(r.visitors, r.pageviews, r.events, r.visits, *b)
                            }
                            PMetric::Percentage => json!(conversion_rate(r.visitors, total)),
                            PMetric::TimeOnPage => json!(sums.time_on_page()),
                            PMetric::ScrollDepth => json!(sums.scroll_depth()),
                            PMetric::ConversionRate => Value::Null,
                        })
                        .collect(),
                    group: r.value,
                    start: None,
                    has_data: true,
                }
            })
            .collect();
        Ok(if paged_by_store {
            rows
        } else {
            self.order_and_page(rows)
        })
    }

    /// A row per goal (those named by the filter, else every goal of the site), as footfall's
    /// `property=goal` breakdown has them.
    async fn goal_rows(&self, store: &DynStore) -> Result<Vec<Row>, ApiError> {
        let goals: Vec<Goal> = match &self.only {
            Some(names) => self
                .goals
                .iter()
                .filter(|g| names.contains(&g.name))
                .cloned()
                .collect(),
            None => self.goals.clone(),
        };
        let (all, conversions) = tokio::try_join!(
            store.aggregate(&self.query),
            store.goal_conversions(&self.query, &goals, store_metrics(&self.base_metrics()))
        )?;
        let rows = goals
            .iter()
            .zip(&conversions)
            .map(|(goal, a)| Row {
                group: Some(goal.name.clone()),
                start: None,
                has_data: true,
                figures: self
                    .metrics
                    .iter()
                    .map(|m| match m {
                        PMetric::Base(b) => aggregate_value(a, *b),
                        PMetric::ConversionRate | PMetric::Percentage => {
                            json!(conversion_rate(a.visitors, all.visitors))
                        }
                        _ => Value::Null,
                    })
                    .collect(),
            })
            .collect();
        Ok(self.order_and_page(rows))
    }

    /// `rows` sorted by `order` (the first metric, descending, when none is given; ties keep
    /// their order) and paged.
    pub fn order_and_page(&self, mut rows: Vec<Row>) -> Vec<Row> {
        let order = if self.order.is_empty() {
            vec![(Key::Metric(0), true)]
        } else {
            self.order.clone()
        };
        rows.sort_by(|a, b| {
            for (key, desc) in &order {
                let o = match key {
                    Key::Metric(i) => compare(a.figures.get(*i), b.figures.get(*i)),
                    Key::Group => a.start.cmp(&b.start).then_with(|| a.group.cmp(&b.group)),
                };
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        rows.into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.limit).unwrap_or(usize::MAX))
            .collect()
    }
}

/// JSON figures in order: numbers by value, nulls first.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let n = |v: Option<&Value>| v.and_then(Value::as_f64);
    match (n(a), n(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Plausible's change from `old` to `new`: percentage points for the bounce rate (none without
/// a previous one), else the percent change rounded (100 from nothing, 0 from nothing to nothing).
pub fn change(metric: PMetric, old: &Value, new: &Value) -> Value {
    let (Some(old), Some(new)) = (old.as_f64(), new.as_f64()) else {
        return Value::Null;
    };
    if metric == PMetric::Base(Metric::BounceRate) {
        return if old > 0.0 {
            json!(new - old)
        } else {
            Value::Null
        };
    }
    if old == 0.0 {
        return json!(if new > 0.0 { 100 } else { 0 });
    }
    json!(((new - old) / old * 100.0).round() as i64)
}
