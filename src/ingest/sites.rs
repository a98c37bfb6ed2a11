//! The sites footfall collects for, held in memory so the listener never queries the database.
//! Refreshed every few seconds (`REFRESH_EVERY`: a site deleted by another collector stops being
//! accepted here within that), soon after a request names a domain we do not know (a site just
//! added with `footfall site add` from another process), and at once when this process deletes
//! a site (`forget`). Umami website ids (`/api/send`) are read with the sites.

use crate::domain::{Site, SiteId};
use crate::store::{IngestStore, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// How often every collector re-reads the site list: the longest a site deleted elsewhere is
/// still accepted here. The list is a handful of rows, so this costs next to nothing.
pub const REFRESH_EVERY: Duration = Duration::from_secs(4);

#[derive(Debug, Default)]
struct Known {
    /// Shared, so a lookup on the request path costs a reference count, not a copy.
    by_domain: HashMap<String, Arc<Site>>,
    ids: HashSet<SiteId>,
    /// Umami website id (lower-case) → site.
    umami: HashMap<String, SiteId>,
}

#[derive(Debug, Default)]
pub struct SiteCache {
    known: RwLock<Known>,
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
        let umami = store.umami_ids().await?;
        self.replace(sites);
        let umami = umami
            .into_iter()
            .map(|(id, site)| (id.as_str().to_owned(), site))
            .collect();
        self.known.write().unwrap_or_else(|p| p.into_inner()).umami = umami;
        Ok(())
    }

    /// Holds exactly `sites` from now on (a list just read from the store); Umami ids of sites
    /// no longer there go with them.
    pub fn replace(&self, sites: Vec<Site>) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        known.ids = sites.iter().map(|s| s.id).collect();
        known.by_domain = sites
            .into_iter()
            .map(|s| (s.domain.as_str().to_owned(), Arc::new(s)))
            .collect();
        let Known { ids, umami, .. } = &mut *known;
        umami.retain(|_, site| ids.contains(site));
    }

    /// The site an Umami website id (lower-case) is mapped to. A miss asks the refresher to
    /// look again, as for a domain.
    pub fn by_umami_id(&self, id: &str) -> Option<Arc<Site>> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        let hit = known
            .umami
            .get(id)
            .and_then(|site| known.by_domain.values().find(|s| s.id == *site).cloned());
        if hit.is_none() {
            self.missed.notify_one();
        }
        hit
    }

    /// The site registered as `domain` (lower-case). A miss asks the refresher to look again.
    pub fn get(&self, domain: &str) -> Option<Arc<Site>> {
        let hit = self
            .known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_domain
            .get(domain)
            .cloned();
        if hit.is_none() {
            self.missed.notify_one();
        }
        hit
    }

    /// Whether `site` still exists, as far as the last refresh knows.
    pub fn contains(&self, site: SiteId) -> bool {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .ids
            .contains(&site)
    }

    /// Drops a site this process just deleted: its events are refused from now on.
    pub fn forget(&self, site: SiteId) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        known.ids.remove(&site);
        known.by_domain.retain(|_, s| s.id != site);
        known.umami.retain(|_, s| *s != site);
    }
}

/// Refreshes every `every`, and after a miss, but then at most once per `min_gap` so a stream
/// of events for an unknown domain cannot hammer the database.
pub fn spawn_refresh(
    cache: Arc<SiteCache>,
    store: Arc<dyn IngestStore>,
    every: Duration,
    min_gap: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let missed = tokio::select! {
                () = tokio::time::sleep(every) => false,
                () = cache.missed.notified() => true,
            };
            if let Err(e) = cache.refresh(store.as_ref()).await {
                tracing::warn!(error = %e, "refreshing the site list failed");
            }
            if missed {
                tokio::time::sleep(min_gap).await;
            }
        }
    })
}
