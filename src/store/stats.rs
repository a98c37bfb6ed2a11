//! The analytics queries behind the dashboard and the stats API (see `crate::stats` for the
//! question and answer types and the metric definitions).

use super::{LiveCursor, StoreError, StoredEvent};
use crate::domain::SiteId;
use crate::stats::goal::Goal;
use crate::stats::{
    Aggregate, BreakdownRow, Dimension, EngagementSums, GoalRevenue, Interval, Metrics, Point,
    StatsQuery,
};
use crate::store::engine::{BuildReport, EngineCounts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Top figures for the query.
    async fn aggregate(&self, query: &StatsQuery) -> Result<Aggregate, StoreError>;
    /// Visitors, pageviews and events per local hour or day, every bucket of the range present.
    async fn timeseries(
        &self,
        query: &StatsQuery,
        interval: Interval,
    ) -> Result<Vec<Point>, StoreError> {
        self.timeseries_with(query, interval, Metrics::Counts).await
    }
    /// `timeseries`, with the visit figures when `metrics` asks for them.
    async fn timeseries_with(
        &self,
        query: &StatsQuery,
        interval: Interval,
        metrics: Metrics,
    ) -> Result<Vec<Point>, StoreError>;
    /// Rows grouped by `dimension`, biggest first; `offset`/`limit` page through them.
    async fn breakdown(
        &self,
        query: &StatsQuery,
        dimension: &Dimension,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        self.breakdown_with(query, dimension, limit, offset, Metrics::Counts)
            .await
    }
    /// `breakdown`, with the visit figures when `metrics` asks for them (costly for event-level
    /// dimensions, see `Metrics`).
    async fn breakdown_with(
        &self,
        query: &StatsQuery,
        dimension: &Dimension,
        limit: i64,
        offset: i64,
        metrics: Metrics,
    ) -> Result<Vec<BreakdownRow>, StoreError>;
    /// Each goal's conversions under `query`, in `goals` order: the aggregate of the events that
    /// convert (its visitors are the unique conversions, its events the total ones). The
    /// conversion rate is those visitors over the visitors of `query` itself. With
    /// `Metrics::Counts` only visitors, pageviews and events are worked out (the visit figures are
    /// 0), all goals in one pass where the query engine answers; `WithVisits` asks one filtered
    /// aggregate per goal.
    async fn goal_conversions(
        &self,
        query: &StatsQuery,
        goals: &[Goal],
        metrics: Metrics,
    ) -> Result<Vec<Aggregate>, StoreError>;
    /// The revenue of `goal`'s conversions under `query` (`None` unless it is a revenue goal):
    /// its amounts in the goal's currency summed, those in other currencies counted. Read from
    /// raw rows, so only for the days whose events retention keeps.
    async fn goal_revenue(
        &self,
        query: &StatsQuery,
        goal: &Goal,
    ) -> Result<Option<GoalRevenue>, StoreError>;
    /// Visitors at each step of the funnel of `steps` (2–8 goals, `stats::funnel`) under
    /// `query`, whose filters choose the visits (`funnel::visits_of_view`).
    async fn funnel(&self, query: &StatsQuery, steps: &[Goal]) -> Result<Vec<i64>, StoreError>;
    /// The engagement figures of the pageviews under `query` (`EngagementSums`): in all
    /// (`by: None`, one row keyed `None`), or per value of `by` — the page, or a visit-level
    /// dimension — keyed as breakdown rows are (`None`: not set), values without measured
    /// pageviews left out, in no order. Other dimensions have no rows.
    async fn engagement(
        &self,
        query: &StatsQuery,
        by: Option<&Dimension>,
    ) -> Result<Vec<(Option<String>, EngagementSums)>, StoreError>;
    /// Keys of custom props seen on matching events, most used first.
    async fn prop_keys(&self, query: &StatsQuery, limit: i64) -> Result<Vec<String>, StoreError>;
    /// Distinct visitors with an event after `since` (realtime).
    async fn current_visitors(&self, site: SiteId, since: DateTime<Utc>)
    -> Result<i64, StoreError>;
    /// The live stream's next events of `cursor`'s site, oldest first, each exactly once: for a
    /// new cursor the newest `limit`, then, each call, up to `limit` of those that became
    /// visible since (see `store::live`). On an error the cursor stays where it was.
    async fn live_events(
        &self,
        cursor: &mut LiveCursor,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// Up to `limit` of the raw events matching `query` (its range and filters, applied as in
    /// every other answer), with ids above `after_id`, by id. Called in a loop with the last id
    /// seen, it pages through an export of any size in constant memory.
    async fn events_page(
        &self,
        query: &StatsQuery,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// Builds the query engine's segments of the days closed as of `now` and loads them (see
    /// `store::engine`). A store without an engine (a test fake) has nothing to do.
    async fn build_segments(&self, now: DateTime<Utc>) -> Result<BuildReport, StoreError> {
        let _ = now;
        Ok(BuildReport::default())
    }
    /// Loads segments another collector built, and reads new events into the open days while
    /// someone is looking at them.
    async fn refresh_segments(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// How many questions the query engine answered and how many it left to raw rows.
    fn engine_counts(&self) -> EngineCounts {
        EngineCounts::default()
    }
}
