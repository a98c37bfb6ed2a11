//! Cookie-less visitor ids: a keyed BLAKE3 hash of (daily salt, site, IP, user agent). The day is
//! the site's local day (the dashboard's days), so a visit across midnight UTC in New York or
//! Berlin stays one visitor and one visit. Salts live in the database so every collector agrees
//! on them; at any instant local days in use span from UTC−12 to UTC+14, so the salts of those
//! dates (and the next, made ahead) are kept, and a salt is deleted once its date is over in every
//! time zone, after which no id of that day can be recomputed or linked to another day's. The
//! parser asks a `SaltSource` for a day's key, so an import can hash past days without them.

use crate::domain::{SiteId, VisitorId};
use crate::store::{IngestStore, Job, Salt, StoreError};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The dates some time zone is in at `now` (UTC−12 to UTC+14), and the one after, made ahead so
/// a midnight needs no database round trip: the salts that must exist.
pub fn salt_days(now: DateTime<Utc>) -> Vec<NaiveDate> {
    let first = (now - TimeDelta::hours(12)).date_naive();
    let last = (now + TimeDelta::hours(14)).date_naive();
    let mut days = Vec::with_capacity(4);
    let mut day = first;
    while day <= last {
        days.push(day);
        day = day.checked_add_days(Days::new(1)).unwrap_or(NaiveDate::MAX);
    }
    if let Some(ahead) = last.checked_add_days(Days::new(1)) {
        days.push(ahead);
    }
    days
}

/// The salts of `salt_days`, kept in memory for the request path.
#[derive(Debug, Default)]
pub struct Salts {
    days: RwLock<Vec<Salt>>,
}

impl Salts {
    /// Loads (creating when needed) the salts in use now and deletes older ones.
    pub async fn load(store: &dyn IngestStore) -> Result<Self, StoreError> {
        let salts = Self::default();
        salts.rotate(store, Utc::now()).await?;
        Ok(salts)
    }

    /// Makes sure the salts of `salt_days(now)` exist and are the ones in memory, and deletes
    /// every older salt from the database (its date is over everywhere).
    pub async fn rotate(
        &self,
        store: &dyn IngestStore,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let days = salt_days(now);
        let mut fresh = Vec::with_capacity(days.len());
        for &day in &days {
            fresh.push(store.salt_for_day(day).await?);
        }
        // Every collector loads the salts; one at a time deletes the old ones (at once: a
        // salt must not outlive its day by longer than a rotation).
        if let Some(&first) = days.first() {
            crate::store::run_once(
                store,
                Job::Salts,
                Duration::ZERO,
                store.delete_salts_before(first),
            )
            .await?;
        }
        *self.days.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}

/// Where the key for one day's visitor hashes comes from (a site's local date). Live collection uses [`Salts`],
/// shared through the database and rotated daily; importing history uses keys for days whose
/// stored salts are long gone (see `import::salts`). The parser only needs the key.
pub trait SaltSource: Send + Sync {
    /// The key for visitor hashes of events on `day` (the site's local date).
    fn key_for(&self, day: NaiveDate) -> [u8; 32];

    /// The visitor id for a request on `day`.
    fn visitor_id(&self, day: NaiveDate, site: SiteId, ip: IpAddr, user_agent: &str) -> VisitorId {
        hash(&self.key_for(day), site, ip, user_agent)
    }

    /// The visitor id for a row of another tool's export on `day`, from that export's own
    /// visitor or session key (it has no IP address).
    fn export_visitor_id(&self, day: NaiveDate, site: SiteId, key: &str) -> VisitorId {
        hash_export_key(&self.key_for(day), site, key)
    }
}

impl SaltSource for Salts {
    /// When `day`'s salt is not loaded (a rotation that failed because the database was away),
    /// the newest earlier salt keeps ids stable rather than inventing a salt other collectors
    /// would not share.
    fn key_for(&self, day: NaiveDate) -> [u8; 32] {
        let days = self.days.read().unwrap_or_else(|p| p.into_inner());
        let salt = days
            .iter()
            .rev()
            .find(|s| s.day <= day)
            .or_else(|| days.first());
        // None is unreachable after `load`; an all-zero key still yields a usable,
        // non-identifying id.
        salt.map_or([0; 32], |s| s.key)
    }
}

/// The keyed hash itself. IPv4 is hashed in its IPv6-mapped form so one address has one id.
pub fn hash(key: &[u8; 32], site: SiteId, ip: IpAddr, user_agent: &str) -> VisitorId {
    let ip16 = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(&site.0.to_le_bytes());
    hasher.update(&ip16);
    hasher.update(user_agent.as_bytes());
    id_of(&hasher)
}

/// The id is the digest's first 8 bytes.
fn id_of(hasher: &blake3::Hasher) -> VisitorId {
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    VisitorId(i64::from_le_bytes(first))
}

/// `hash` for an export's visitor key. The day's key is first derived for this use, so no
/// export key can hash to the id of some IP address and user agent.
pub fn hash_export_key(key: &[u8; 32], site: SiteId, export_key: &str) -> VisitorId {
    let derived = blake3::keyed_hash(key, b"footfall: visitor key of an imported export");
    let mut hasher = blake3::Hasher::new_keyed(derived.as_bytes());
    hasher.update(&site.0.to_le_bytes());
    hasher.update(export_key.as_bytes());
    id_of(&hasher)
}

/// Re-checks the salts every `every` (a new date's salt exists a day before it is used). Concurrent
/// collectors converge on the same salts through the database's primary key.
pub fn spawn_rotation(
    salts: Arc<Salts>,
    store: Arc<dyn IngestStore>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = salts.rotate(store.as_ref(), Utc::now()).await {
                tracing::warn!(error = %e, "salt rotation failed; keeping the salts in memory");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_visitor_gets_the_same_id_and_anything_else_changes_it() {
        let key = [7u8; 32];
        let ip: IpAddr = "203.0.113.5".parse().unwrap_or_else(|e| panic!("{e}"));
        let other_ip: IpAddr = "203.0.113.6".parse().unwrap_or_else(|e| panic!("{e}"));
        let a = hash(&key, SiteId(1), ip, "UA");
        assert_eq!(a, hash(&key, SiteId(1), ip, "UA"));
        assert_ne!(a, hash(&[8u8; 32], SiteId(1), ip, "UA"));
        assert_ne!(a, hash(&key, SiteId(2), ip, "UA"));
        assert_ne!(a, hash(&key, SiteId(1), other_ip, "UA"));
        assert_ne!(a, hash(&key, SiteId(1), ip, "UA2"));
    }

    #[test]
    fn a_day_without_a_loaded_salt_uses_the_newest_earlier_one() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default();
        let salts = Salts {
            days: RwLock::new(vec![
                Salt {
                    day: day(10),
                    key: [1; 32],
                },
                Salt {
                    day: day(11),
                    key: [2; 32],
                },
            ]),
        };
        assert_eq!(salts.key_for(day(10)), [1; 32]);
        assert_eq!(salts.key_for(day(11)), [2; 32]);
        assert_eq!(salts.key_for(day(12)), [2; 32]);
        assert_eq!(salts.key_for(day(9)), [1; 32]);
        assert_eq!(Salts::default().key_for(day(9)), [0; 32]);
    }

    #[test]
    fn an_export_key_hashes_per_day_key_and_site_and_never_as_an_address_would() {
        let key = [7u8; 32];
        let a = hash_export_key(&key, SiteId(1), "session-1");
        assert_eq!(a, hash_export_key(&key, SiteId(1), "session-1"));
        assert_ne!(a, hash_export_key(&[8u8; 32], SiteId(1), "session-1"));
        assert_ne!(a, hash_export_key(&key, SiteId(2), "session-1"));
        assert_ne!(a, hash_export_key(&key, SiteId(1), "session-2"));
    }

    #[test]
    fn ipv4_and_its_mapped_form_hash_alike() {
        let key = [1u8; 32];
        let v4: IpAddr = "198.51.100.1".parse().unwrap_or_else(|e| panic!("{e}"));
        let mapped: IpAddr = "::ffff:198.51.100.1"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            hash(&key, SiteId(1), v4, "x"),
            hash(&key, SiteId(1), mapped, "x")
        );
    }
}
