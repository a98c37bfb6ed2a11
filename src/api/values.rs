//! The API's figures as JSON values, for footfall's answers and Plausible's alike: a metric of
//! an aggregate or of a row, which sums to ask the store for, and conversion rates.

use super::params::Metric;
use crate::stats::{Aggregate, Metrics, VisitSums};
use serde_json::{Value, json};

pub(crate) fn aggregate_value(a: &Aggregate, metric: Metric) -> Value {
    match metric {
        Metric::Visitors => json!(a.visitors),
        Metric::Visits => json!(a.visits),
        Metric::Pageviews => json!(a.pageviews),
        Metric::ViewsPerVisit => json!(a.views_per_visit),
        Metric::BounceRate => json!(a.bounce_rate),
        Metric::VisitDuration => json!(a.visit_duration),
        Metric::Events => json!(a.events),
    }
}

/// A bucket's or row's value of `metric`: counts as they are, visit metrics from the sums
/// (ratios computed as the aggregate's are); null only if the sums were not asked for.
pub(crate) fn row_value(
    visitors: i64,
    pageviews: i64,
    events: i64,
    visits: Option<VisitSums>,
    metric: Metric,
) -> Value {
    match (metric, visits) {
        (Metric::Visitors, _) => json!(visitors),
        (Metric::Pageviews, _) => json!(pageviews),
        (Metric::Events, _) => json!(events),
        (_, Some(sums)) => {
            aggregate_value(&Aggregate::new(visitors, pageviews, events, sums), metric)
        }
        (_, None) => Value::Null,
    }
}

/// What the store computes for `metrics`: the visit sums only when a visit metric is asked for.
pub(crate) fn store_metrics(metrics: &[Metric]) -> Metrics {
    if metrics.iter().any(|m| m.is_about_visits()) {
        Metrics::WithVisits
    } else {
        Metrics::Counts
    }
}

/// `converted` over `visitors`, percent rounded to one decimal (0 without visitors).
pub(crate) fn conversion_rate(converted: i64, visitors: i64) -> f64 {
    if visitors > 0 {
        (converted as f64 * 1000.0 / visitors as f64).round() / 10.0
    } else {
        0.0
    }
}
