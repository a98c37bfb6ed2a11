//! Visitor-hash keys for imported history. The database holds only the salts of the dates in use
//! somewhere now (`visitor::salt_days`; older ones are deleted so ids cannot be recomputed), so a
//! line from an earlier day gets a key that exists only in this import's memory: one per (local)
//! day, derived from a random key made for the run and forgotten when it ends. Such ids link one
//! visitor's requests within a day, as live ones do, and cannot be linked to any other day or
//! run. Lines from the dates in use now use the
//! stored salt, so an imported request and a live event of the same visitor today agree.

use crate::ingest::visitor::{SaltSource, salt_days};
use crate::store::{IngestStore, Salt, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub struct ImportSalts {
    run_key: [u8; 32],
    stored: Vec<Salt>,
}

impl ImportSalts {
    /// Loads (creating when needed, as any collector would) the stored salts in use at `now`.
    /// No other salt is read or written.
    pub async fn load(store: &dyn IngestStore, now: DateTime<Utc>) -> Result<Self, StoreError> {
        let mut stored = Vec::new();
        for day in salt_days(now) {
            stored.push(store.salt_for_day(day).await?);
        }
        Ok(Self::new(rand::random(), stored))
    }

    fn new(run_key: [u8; 32], stored: Vec<Salt>) -> Self {
        Self { run_key, stored }
    }
}

impl SaltSource for ImportSalts {
    fn key_for(&self, day: NaiveDate) -> [u8; 32] {
        if let Some(salt) = self.stored.iter().find(|s| s.day == day) {
            return salt.key;
        }
        // Keyed by the run's secret, so as unpredictable as a fresh random salt per day, with
        // no map to fill as days go by.
        *blake3::keyed_hash(&self.run_key, &day.num_days_from_ce().to_le_bytes()).as_bytes()
    }
}

impl std::fmt::Debug for ImportSalts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys must never reach a log.
        f.debug_struct("ImportSalts")
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap_or_default()
    }

    #[test]
    fn stored_days_use_the_stored_salt_and_past_days_a_key_of_their_own() {
        let today = Salt {
            day: day(20),
            key: [9; 32],
        };
        let salts = ImportSalts::new([1; 32], vec![today]);
        assert_eq!(salts.key_for(day(20)), [9; 32]);
        let (a, b) = (salts.key_for(day(10)), salts.key_for(day(11)));
        assert_ne!(a, b, "each day has its own key");
        assert_eq!(a, salts.key_for(day(10)), "stable within the run");
        assert_ne!(a, [9; 32]);
        let other_run = ImportSalts::new([2; 32], vec![]);
        assert_ne!(
            a,
            other_run.key_for(day(10)),
            "and different in another run"
        );
    }
}
