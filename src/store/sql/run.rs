//! `StatsStore`, once for every backend: each question goes to the query engine
//! (`store::engine`) and, when the engine cannot answer it exactly, to raw rows: planned, run as
//! one statement and shaped into the contract's types. Questions read on the backend's questions
//! pool and end at their request's deadline (`store::deadline`).

use super::filters::{Col, Split};
use super::plan::Plan;
use super::stored::{EVENT_KINDS, stored_event};
use super::{Kind, Row, queries};
use crate::domain::SiteId;
use crate::stats::calendar;
use crate::stats::funnel;
use crate::stats::goal::Goal;
use crate::stats::{
    Aggregate, BreakdownRow, Dimension, EngagementSums, GoalRevenue, Interval, Metrics, Point,
    StatsQuery, VisitSums,
};
use crate::store::backend::Backend;
use crate::store::engine::{BuildReport, EngineCounts};
use crate::store::{LiveCursor, StatsStore, StoreError, StoredEvent, deadline};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The visit sums in columns `at..at + 4` of a series or breakdown row, when they were asked for.
fn visit_sums(row: &Row, at: usize, metrics: Metrics) -> Result<Option<VisitSums>, StoreError> {
    if metrics != Metrics::WithVisits {
        return Ok(None);
    }
    Ok(Some(VisitSums {
        visits: row.int(at)?,
        bounces: row.int(at + 1)?,
        duration: row.int(at + 2)?,
        pageviews: row.int(at + 3)?,
    }))
}

#[async_trait]
impl<B: Backend> StatsStore for B {
    #[tracing::instrument(skip_all)]
    async fn aggregate(&self, query: &StatsQuery) -> Result<Aggregate, StoreError> {
        deadline::bounded(async {
            let r = self.stats();
            if let Some(engine) = self.engine()
                && let Some(answer) = engine.aggregate(r, query).await?
            {
                return Ok(answer);
            }
            let filters = Split::new(&query.filters);
            let plan = Plan::new(query);
            let Some(sql) = queries::aggregate(r.dialect(), &plan, &filters) else {
                return Ok(Aggregate::default());
            };
            let rows = r.fetch(&sql, &[Kind::Int; 7]).await?;
            let Some(row) = rows.first() else {
                return Ok(Aggregate::default());
            };
            let sums = VisitSums {
                visits: row.int(1)?,
                bounces: row.int(4)?,
                duration: row.int(5)?,
                pageviews: row.int(6)?,
            };
            Ok(Aggregate::new(row.int(0)?, row.int(2)?, row.int(3)?, sums))
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn timeseries_with(
        &self,
        query: &StatsQuery,
        interval: Interval,
        metrics: Metrics,
    ) -> Result<Vec<Point>, StoreError> {
        deadline::bounded(async {
            // Weeks and months are days added up (`stats::coarsen`), alike on both paths.
            let asked = interval;
            let interval = match interval {
                Interval::Week | Interval::Month => Interval::Day,
                other => other,
            };
            let r = self.stats();
            if let Some(engine) = self.engine()
                && let Some(answer) = engine.timeseries(r, query, interval, metrics).await?
            {
                return Ok(crate::stats::coarsen(answer, asked));
            }
            let filters = Split::new(&query.filters);
            let plan = Plan::new(query);
            let Some(sql) = queries::series(r.dialect(), &plan, &filters, interval, metrics) else {
                return Ok(Vec::new());
            };
            let rows = r.fetch(&sql, &[Kind::Int; 8]).await?;
            let buckets = rows
                .iter()
                .map(|row| Ok((row.int(0)?, row)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let buckets_of_range =
                calendar::buckets(plan.tz, plan.from, plan.to, interval == Interval::Hour);
            let points = crate::stats::points(buckets_of_range, metrics, buckets, |point, row| {
                point.visitors = row.int(1)?;
                point.pageviews = row.int(2)?;
                point.events = row.int(3)?;
                point.visits = visit_sums(row, 4, metrics)?;
                Ok::<_, StoreError>(())
            })?;
            Ok(crate::stats::coarsen(points, asked))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(dimension = %dimension))]
    async fn breakdown_with(
        &self,
        query: &StatsQuery,
        dimension: &Dimension,
        limit: i64,
        offset: i64,
        metrics: Metrics,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        deadline::bounded(async {
            let r = self.stats();
            if matches!(dimension, Dimension::Prop(key) if key.contains('\0'))
                || matches!(dimension, Dimension::Goal(_))
            {
                // No stored key holds NUL (Postgres text cannot); goals are filters, not values
                // of a row (their table asks each goal's aggregate).
                return Ok(Vec::new());
            }
            if let Some(engine) = self.engine()
                && let Some(answer) = engine
                    .breakdown(r, query, dimension, limit, offset, metrics)
                    .await?
            {
                return Ok(answer);
            }
            let filters = Split::new(&query.filters);
            let plan = Plan::new(query);
            let col = Col::of(dimension);
            let Some(sql) =
                queries::breakdown(r.dialect(), &plan, &filters, &col, limit, offset, metrics)
            else {
                return Ok(Vec::new());
            };
            let mut kinds = [Kind::Int; 8];
            kinds[0] = Kind::Text;
            let rows = r.fetch(&sql, &kinds).await?;
            rows.iter()
                .map(|row| {
                    Ok(BreakdownRow {
                        value: row.text(0)?.filter(|v| !v.is_empty()),
                        visitors: row.int(1)?,
                        pageviews: row.int(2)?,
                        events: row.int(3)?,
                        visits: visit_sums(row, 4, metrics)?,
                    })
                })
                .collect()
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn goal_conversions(
        &self,
        query: &StatsQuery,
        goals: &[Goal],
        metrics: Metrics,
    ) -> Result<Vec<Aggregate>, StoreError> {
        deadline::bounded(async {
            if metrics == Metrics::Counts
                && let Some(engine) = self.engine()
                && let Some(answer) = engine.goal_conversions(self.stats(), query, goals).await?
            {
                return Ok(answer);
            }
            futures_util::future::try_join_all(goals.iter().map(|goal| {
                let mut q = query.clone();
                q.filters.extend(goal.filters());
                async move { self.aggregate(&q).await }
            }))
            .await
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn goal_revenue(
        &self,
        query: &StatsQuery,
        goal: &Goal,
    ) -> Result<Option<GoalRevenue>, StoreError> {
        let Some(currency) = &goal.currency else {
            return Ok(None);
        };
        deadline::bounded(async {
            let mut filters = query.filters.clone();
            filters.extend(goal.filters());
            let split = Split::new(&filters);
            let plan = Plan::new(query);
            let Some(sql) = queries::goal_revenue(self.stats().dialect(), &plan, &split, currency)
            else {
                return Ok(Some(GoalRevenue::default()));
            };
            let rows = self.stats().fetch(&sql, &[Kind::Int; 3]).await?;
            let Some(row) = rows.first() else {
                return Ok(Some(GoalRevenue::default()));
            };
            Ok(Some(GoalRevenue {
                micros: row.int(0)?,
                conversions: row.int(1)?,
                other_currency: row.int(2)?,
            }))
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn funnel(&self, query: &StatsQuery, steps: &[Goal]) -> Result<Vec<i64>, StoreError> {
        deadline::bounded(async {
            let mut query = query.clone();
            query.filters = funnel::visits_of_view(&query.filters);
            let r = self.stats();
            if let Some(engine) = self.engine()
                && let Some(answer) = engine.funnel(r, &query, steps).await?
            {
                return Ok(answer);
            }
            let filters = Split::new(&query.filters);
            let plan = Plan::new(&query);
            let mut tally = funnel::Tally::new(steps.len());
            let Some(sql) = queries::funnel(r.dialect(), &plan, &filters, steps) else {
                return Ok(tally.visitors());
            };
            let rows = r.fetch(&sql, &[Kind::Int; 4]).await?;
            let mut walk = funnel::Walk::default();
            let mut visit = None;
            for row in &rows {
                let session = row.int(0)?;
                if visit != Some(session) {
                    tally.add(&walk);
                    walk = funnel::Walk::default();
                    visit = Some(session);
                }
                let passed = row.int(3)?;
                walk.event(steps.len(), row.int(2)?, row.int(1)?, |step| {
                    passed & (1 << step) != 0
                });
            }
            tally.add(&walk);
            Ok(tally.visitors())
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn engagement(
        &self,
        query: &StatsQuery,
        by: Option<&Dimension>,
    ) -> Result<Vec<(Option<String>, EngagementSums)>, StoreError> {
        deadline::bounded(async {
            let r = self.stats();
            if let Some(engine) = self.engine()
                && let Some(answer) = engine.engagement(r, query, by).await?
            {
                return Ok(answer);
            }
            let col = match by {
                None => None,
                Some(d) if *d == Dimension::Page || d.is_session_level() => Some(Col::of(d)),
                Some(_) => return Ok(Vec::new()),
            };
            let filters = Split::new(&query.filters);
            let plan = Plan::new(query);
            let Some(sql) = queries::engagement(r.dialect(), &plan, &filters, col.as_ref()) else {
                return Ok(match by {
                    None => vec![(None, EngagementSums::default())],
                    Some(_) => Vec::new(),
                });
            };
            let rows = r
                .fetch(&sql, &[Kind::Text, Kind::Int, Kind::Int, Kind::Int])
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push((
                    row.text(0)?.filter(|v| !v.is_empty()),
                    EngagementSums {
                        pageviews: row.int(1)?,
                        engaged_ms: row.int(2)?,
                        scroll: row.int(3)?,
                    },
                ));
            }
            Ok(out)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn prop_keys(&self, query: &StatsQuery, limit: i64) -> Result<Vec<String>, StoreError> {
        deadline::bounded(async {
            let r = self.stats();
            if let Some(engine) = self.engine()
                && let Some(answer) = engine.prop_keys(r, query, limit).await?
            {
                return Ok(answer);
            }
            let filters = Split::new(&query.filters);
            let plan = Plan::new(query);
            let Some(sql) = queries::prop_keys(r.dialect(), &plan, &filters, limit) else {
                return Ok(Vec::new());
            };
            let rows = r.fetch(&sql, &[Kind::Text, Kind::Int]).await?;
            let mut keys = Vec::new();
            for row in &rows {
                keys.extend(row.text(0)?);
            }
            Ok(keys)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn current_visitors(
        &self,
        site: SiteId,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        deadline::bounded(async {
            let r = self.stats();
            let sql = queries::current_visitors(r.dialect(), site.0, since.timestamp());
            let rows = r.fetch(&sql, &[Kind::Int]).await?;
            rows.first().map_or(Ok(0), |row| row.int(0))
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn live_events(
        &self,
        cursor: &mut LiveCursor,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        super::live::live_events(self.exec(), cursor, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn events_page(
        &self,
        query: &StatsQuery,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        deadline::bounded(async {
            let r = self.stats();
            let filters = Split::new(&query.filters);
            let plan = Plan::new(query);
            let mut after_id = after_id;
            if after_id <= 0 {
                // The first page: start the id-ordered scan at the range's first event.
                let Some(first) = queries::first_event_id(r.dialect(), &plan) else {
                    return Ok(Vec::new());
                };
                let rows = r.fetch(&first, &[Kind::OptInt]).await?;
                match rows
                    .first()
                    .map(|row| row.opt_int(0))
                    .transpose()?
                    .flatten()
                {
                    Some(id) => after_id = after_id.max(id - 1),
                    None => return Ok(Vec::new()),
                }
            }
            let Some(sql) = queries::events_page(r.dialect(), &plan, &filters, after_id, limit)
            else {
                return Ok(Vec::new());
            };
            let rows = r.fetch(&sql, &EVENT_KINDS).await?;
            rows.iter().map(stored_event).collect()
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn build_segments(&self, now: DateTime<Utc>) -> Result<BuildReport, StoreError> {
        let report = Backend::build_segments(self, now).await?;
        self.refresh_segments().await?;
        Ok(report)
    }

    async fn refresh_segments(&self) -> Result<(), StoreError> {
        if let Some(engine) = self.engine() {
            engine.refresh(self.stats()).await?;
            engine.refresh_open_if_watched(self.stats()).await?;
        }
        Ok(())
    }

    fn engine_counts(&self) -> EngineCounts {
        self.engine().map(|e| e.counts()).unwrap_or_default()
    }
}
