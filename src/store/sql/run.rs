//! Answers `StatsStore` questions on any backend that can run an `Sql`: plans the question, runs
//! its one statement and shapes the rows into the contract's types.

use super::filters::{Col, Split};
use super::plan::{Plan, Rollup};
use super::{Dialect, Kind, Row, Sql, queries};
use crate::stats::calendar::{self, date_of};
use crate::stats::{
    Aggregate, BreakdownRow, Dimension, Interval, Metrics, Point, StatsQuery, VisitSums,
};
use crate::store::StoreError;
use crate::store::StoredEvent;
use async_trait::async_trait;
use chrono::NaiveTime;

/// What a backend provides: its dialect, and running a statement that returns rows.
#[async_trait]
pub(crate) trait Runner: Send + Sync {
    fn dialect(&self) -> Dialect;
    async fn fetch(&self, sql: &Sql, kinds: &[Kind]) -> Result<Vec<Row>, StoreError>;
}

/// The last day whose rollups are complete, if they were built in the question's time zone.
#[tracing::instrument(skip_all)]
async fn rolled_through(r: &dyn Runner, query: &StatsQuery) -> Result<Option<i64>, StoreError> {
    let mut sql = Sql::new(r.dialect());
    sql.push("SELECT CAST(built_through AS BIGINT) FROM rollup_sites WHERE site_id = ")
        .int(query.site.0)
        .push(" AND timezone = ")
        .text(query.timezone.name());
    Ok(r.fetch(&sql, &[Kind::Int])
        .await?
        .first()
        .map(|row| row.int(0)))
}

/// Plans a question, reading rollups only when `rollups` says they can answer it.
async fn plan(r: &dyn Runner, query: &StatsQuery, rollups: bool) -> Result<Plan, StoreError> {
    let built = if rollups && query.from <= query.to {
        rolled_through(r, query).await?
    } else {
        None
    };
    Ok(Plan::new(query, built))
}

#[tracing::instrument(skip_all)]
pub(crate) async fn aggregate(r: &dyn Runner, query: &StatsQuery) -> Result<Aggregate, StoreError> {
    let filters = Split::new(&query.filters);
    let plan = plan(r, query, Rollup::for_filters(&filters) != Rollup::None).await?;
    let Some(sql) = queries::aggregate(r.dialect(), &plan, &filters) else {
        return Ok(Aggregate::default());
    };
    let rows = r.fetch(&sql, &[Kind::Int; 7]).await?;
    let Some(row) = rows.first() else {
        return Ok(Aggregate::default());
    };
    let sums = VisitSums {
        visits: row.int(1),
        bounces: row.int(4),
        duration: row.int(5),
        pageviews: row.int(6),
    };
    Ok(Aggregate::new(row.int(0), row.int(2), row.int(3), sums))
}

/// The visit sums in columns `at..at + 4` of a series or breakdown row, when they were asked for.
fn visit_sums(row: &Row, at: usize, metrics: Metrics) -> Option<VisitSums> {
    (metrics == Metrics::WithVisits).then(|| VisitSums {
        visits: row.int(at),
        bounces: row.int(at + 1),
        duration: row.int(at + 2),
        pageviews: row.int(at + 3),
    })
}

#[tracing::instrument(skip_all)]
pub(crate) async fn timeseries(
    r: &dyn Runner,
    query: &StatsQuery,
    interval: Interval,
    metrics: Metrics,
) -> Result<Vec<Point>, StoreError> {
    let filters = Split::new(&query.filters);
    let rollups = interval == Interval::Day && Rollup::for_filters(&filters) != Rollup::None;
    let plan = plan(r, query, rollups).await?;
    let Some(sql) = queries::series(r.dialect(), &plan, &filters, interval, metrics) else {
        return Ok(Vec::new());
    };
    let rows = r.fetch(&sql, &[Kind::Int; 8]).await?;
    let mut found = rows.iter().map(|row| (row.int(0), row)).peekable();
    let mut points = Vec::new();
    let mut fill = |bucket: i64, start| {
        let mut point = Point {
            start,
            visitors: 0,
            pageviews: 0,
            events: 0,
            visits: (metrics == Metrics::WithVisits).then(VisitSums::default),
        };
        // Rows come in bucket order; skip any outside the range (none are expected).
        while let Some((b, row)) = found.next_if(|(b, _)| *b <= bucket) {
            if b == bucket {
                point.visitors = row.int(1);
                point.pageviews = row.int(2);
                point.events = row.int(3);
                point.visits = visit_sums(row, 4, metrics);
            }
        }
        points.push(point);
    };
    match interval {
        Interval::Day => {
            for day in plan.from..=plan.to {
                fill(day, date_of(day).and_time(NaiveTime::MIN));
            }
        }
        Interval::Hour => {
            let start = calendar::day_start(plan.tz, plan.from);
            let end = calendar::day_start(plan.tz, plan.to + 1);
            let hours = (end - start + 3599) / 3600;
            for hour in 0..hours {
                fill(hour, calendar::local_time(plan.tz, start + hour * 3600));
            }
        }
    }
    Ok(points)
}

#[tracing::instrument(skip_all, fields(dimension = %dimension))]
pub(crate) async fn breakdown(
    r: &dyn Runner,
    query: &StatsQuery,
    dimension: &Dimension,
    limit: i64,
    offset: i64,
    metrics: Metrics,
) -> Result<Vec<BreakdownRow>, StoreError> {
    if matches!(dimension, Dimension::Prop(key) if key.contains('\0')) {
        // No stored key holds NUL (Postgres text cannot).
        return Ok(Vec::new());
    }
    let filters = Split::new(&query.filters);
    let plan = plan(r, query, filters.is_empty()).await?;
    let col = Col::of(dimension);
    let dim = dimension.to_string();
    // Visit figures of event-level values are always read raw, over the whole range.
    let full = Plan::new(query, None).raw;
    let Some(sql) = queries::breakdown(
        r.dialect(),
        &plan,
        full.as_ref(),
        &filters,
        &col,
        &dim,
        limit,
        offset,
        metrics,
    ) else {
        return Ok(Vec::new());
    };
    let mut kinds = [Kind::Int; 8];
    kinds[0] = Kind::Text;
    let rows = r.fetch(&sql, &kinds).await?;
    Ok(rows
        .iter()
        .map(|row| BreakdownRow {
            value: row.text(0).filter(|v| !v.is_empty()),
            visitors: row.int(1),
            pageviews: row.int(2),
            events: row.int(3),
            visits: visit_sums(row, 4, metrics),
        })
        .collect())
}

#[tracing::instrument(skip_all)]
pub(crate) async fn prop_keys(
    r: &dyn Runner,
    query: &StatsQuery,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let filters = Split::new(&query.filters);
    let plan = plan(r, query, filters.is_empty()).await?;
    let Some(sql) = queries::prop_keys(r.dialect(), &plan, &filters, limit) else {
        return Ok(Vec::new());
    };
    let rows = r.fetch(&sql, &[Kind::Text, Kind::Int]).await?;
    Ok(rows.iter().filter_map(|row| row.text(0)).collect())
}

#[tracing::instrument(skip_all)]
pub(crate) async fn current_visitors(
    r: &dyn Runner,
    site: i64,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<i64, StoreError> {
    let sql = queries::current_visitors(r.dialect(), site, since.timestamp());
    let rows = r.fetch(&sql, &[Kind::Int]).await?;
    Ok(rows.first().map_or(0, |row| row.int(0)))
}

/// One page of the raw events matching `query` (ids above `after_id`, by id), for the export.
#[tracing::instrument(skip_all)]
pub(crate) async fn events_page(
    r: &dyn Runner,
    query: &StatsQuery,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let filters = Split::new(&query.filters);
    // Rollups hold no events: every day is read raw.
    let plan = Plan::new(query, None);
    let mut after_id = after_id;
    if after_id <= 0 {
        // The first page: start the id-ordered scan at the range's first event.
        let Some(first) = queries::first_event_id(r.dialect(), &plan) else {
            return Ok(Vec::new());
        };
        let rows = r.fetch(&first, &[Kind::OptInt]).await?;
        match rows.first().and_then(|row| row.opt_int(0)) {
            Some(id) => after_id = after_id.max(id - 1),
            None => return Ok(Vec::new()),
        }
    }
    let Some(sql) = queries::events_page(r.dialect(), &plan, &filters, after_id, limit) else {
        return Ok(Vec::new());
    };
    let rows = r.fetch(&sql, &queries::EVENT_KINDS).await?;
    rows.iter()
        .map(|row| stored_event(plan.site, row))
        .collect()
}

fn stored_event(site_id: i64, row: &Row) -> Result<StoredEvent, StoreError> {
    let text = |i| row.text(i).unwrap_or_default();
    let created_at = row.int(1);
    let viewport_width = row
        .opt_int(22)
        .map(i32::try_from)
        .transpose()
        .map_err(|_| StoreError::Corrupt(format!("viewport_width of event {}", row.int(0))))?;
    Ok(StoredEvent {
        id: row.int(0),
        site_id,
        created_at: chrono::DateTime::from_timestamp(created_at, 0)
            .ok_or_else(|| StoreError::Corrupt(format!("timestamp {created_at}")))?,
        visitor_id: row.int(2),
        session_id: row.int(3),
        name: text(4),
        hostname: text(5),
        path: text(6),
        referrer: row.text(7),
        referrer_source: row.text(8),
        utm_source: row.text(9),
        utm_medium: row.text(10),
        utm_campaign: row.text(11),
        utm_content: row.text(12),
        utm_term: row.text(13),
        browser: text(14),
        browser_version: text(15),
        os: text(16),
        os_version: text(17),
        device: text(18),
        country: row.text(19),
        region: row.text(20),
        city: row.text(21),
        viewport_width,
        props: row
            .text(23)
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("props: {e}")))?,
    })
}
