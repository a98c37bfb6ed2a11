//! Analytics queries, postgres flavour.

use super::PostgresStore;
use crate::domain::SiteId;
use crate::stats::{Aggregate, BreakdownRow, Dimension, Interval, Point, StatsQuery};
use crate::store::{StatsStore, StoreError, StoredEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl StatsStore for PostgresStore {
    async fn aggregate(&self, _query: &StatsQuery) -> Result<Aggregate, StoreError> {
        Err(StoreError::Corrupt("not implemented yet".into()))
    }
    async fn timeseries(
        &self,
        _query: &StatsQuery,
        _interval: Interval,
    ) -> Result<Vec<Point>, StoreError> {
        Err(StoreError::Corrupt("not implemented yet".into()))
    }
    async fn breakdown(
        &self,
        _query: &StatsQuery,
        _dimension: &Dimension,
        _limit: i64,
        _offset: i64,
    ) -> Result<Vec<BreakdownRow>, StoreError> {
        Err(StoreError::Corrupt("not implemented yet".into()))
    }
    async fn prop_keys(&self, _query: &StatsQuery, _limit: i64) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Corrupt("not implemented yet".into()))
    }
    async fn current_visitors(
        &self,
        _site: SiteId,
        _since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Err(StoreError::Corrupt("not implemented yet".into()))
    }
    async fn events_after(
        &self,
        _site: SiteId,
        _after_id: i64,
        _limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Err(StoreError::Corrupt("not implemented yet".into()))
    }
}
