//! The sites footfall collects for, held in memory so the listener never queries the database.
//! Refreshed periodically, and soon after a request names a domain we do not know (a site just
//! added with `footfall site add` from another process).

use crate::domain::Site;
use crate::store::{IngestStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct SiteCache {
    /// Shared, so a lookup on the request path costs a reference count, not a copy.
    by_domain: RwLock<HashMap<String, Arc<Site>>>,
    missed: Notify,
}

impl SiteCache {
    pub async fn load(store: &dyn IngestStore) -> Result<Self, StoreError> {
        let cache = Self::default();
        cache.refresh(store).await?;
        Ok(cache)
    }

    pub async fn refresh(&self, store: &dyn IngestStore) -> Result<(), StoreError> {
        let sites = store.list_sites().await?;
        let map = sites
            .into_iter()
            .map(|s| (s.domain.as_str().to_owned(), Arc::new(s)))
            .collect();
        *self.by_domain.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    /// The site registered as `domain` (lower-case). A miss asks the refresher to look again.
    pub fn get(&self, domain: &str) -> Option<Arc<Site>> {
        let hit = self
            .by_domain
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(domain)
            .cloned();
        if hit.is_none() {
            self.missed.notify_one();
        }
        hit
    }
}

/// Refreshes every `every`, or after a miss, but at most once per `min_gap` so a stream of
/// events for an unknown domain cannot hammer the database.
pub fn spawn_refresh(
    cache: Arc<SiteCache>,
    store: Arc<dyn IngestStore>,
    every: Duration,
    min_gap: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = cache.missed.notified() => {}
            }
            if let Err(e) = cache.refresh(store.as_ref()).await {
                tracing::warn!(error = %e, "refreshing the site list failed");
            }
            tokio::time::sleep(min_gap).await;
        }
    })
}
