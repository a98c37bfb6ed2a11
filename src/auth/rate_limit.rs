//! Login rate limits, on failures only: per (account, client network), per client network, and a
//! higher ceiling per account. A wrong password from one address therefore locks that address
//! out of that account, not the owner logging in from elsewhere; one address cannot try many
//! accounts; and guessing one account from many addresses still meets the account's ceiling.
//! Successful logins never count. In memory, per process: with N instances an attacker gets N
//! times the budget, which still stops online guessing. Memory is bounded by `forget_recovered`,
//! run every minute.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A failure budget: `burst` failures at once, then one more every `60 / per_minute` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub burst: u32,
    pub per_minute: u32,
}

/// Failures per account from one client network: 5, then one every 12 s.
pub const PER_ACCOUNT_AND_NETWORK: Budget = Budget {
    burst: 5,
    per_minute: 5,
};
/// Failures per client network, whatever the accounts: 20, then one every 3 s.
pub const PER_NETWORK: Budget = Budget {
    burst: 20,
    per_minute: 20,
};
/// Failures per account from all networks together (distributed guessing): 100, then 10 a
/// minute — about 14,000 guesses a day at most, and an owner is locked out only by a real
/// attack from many addresses.
pub const PER_ACCOUNT: Budget = Budget {
    burst: 100,
    per_minute: 10,
};

/// How long to wait before the next attempt is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up, for a `Retry-After` header.
    pub fn seconds(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

/// Failures per key as a leaky bucket: each failure adds one, the level drains at the budget's
/// rate, and a key whose level would pass the burst is refused until it has drained enough.
struct Buckets<K> {
    budget: Budget,
    levels: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq> Buckets<K> {
    fn new(budget: Budget) -> Self {
        Self {
            budget,
            levels: Mutex::new(HashMap::new()),
        }
    }

    fn drain_per_sec(&self) -> f64 {
        f64::from(self.budget.per_minute.max(1)) / 60.0
    }

    fn level(&self, stored: (f64, Instant), now: Instant) -> f64 {
        let (level, at) = stored;
        (level - now.saturating_duration_since(at).as_secs_f64() * self.drain_per_sec()).max(0.0)
    }

    /// `Err` while one more failure would pass the burst.
    fn check(&self, key: &K, now: Instant) -> Result<(), RetryAfter> {
        let levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let Some(&stored) = levels.get(key) else {
            return Ok(());
        };
        let over = self.level(stored, now) + 1.0 - f64::from(self.budget.burst.max(1));
        if over <= 0.0 {
            Ok(())
        } else {
            Err(RetryAfter(Duration::from_secs_f64(
                over / self.drain_per_sec(),
            )))
        }
    }

    fn fail(&self, key: K, now: Instant) {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let level = levels
            .get(&key)
            .map_or(0.0, |&stored| self.level(stored, now));
        levels.insert(key, (level + 1.0, now));
    }

    fn forget_recovered(&self, now: Instant) {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.retain(|_, stored| self.level(*stored, now) > 0.0);
        levels.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.levels.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

pub struct LoginLimiter {
    pairs: Buckets<(String, IpAddr)>,
    networks: Buckets<IpAddr>,
    accounts: Buckets<String>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(PER_ACCOUNT_AND_NETWORK, PER_NETWORK, PER_ACCOUNT)
    }
}

impl LoginLimiter {
    pub fn new(per_pair: Budget, per_network: Budget, per_account: Budget) -> Self {
        Self {
            pairs: Buckets::new(per_pair),
            networks: Buckets::new(per_network),
            accounts: Buckets::new(per_account),
        }
    }

    /// Whether an attempt from `ip` (on `account`, when it names one) may be checked now. Counts
    /// nothing: only `failed` does.
    pub fn check(&self, ip: IpAddr, account: Option<&str>) -> Result<(), RetryAfter> {
        let now = Instant::now();
        let network = network_of(ip);
        self.networks.check(&network, now)?;
        if let Some(account) = account {
            let account = account_key(account);
            self.accounts.check(&account, now)?;
            self.pairs.check(&(account, network), now)?;
        }
        Ok(())
    }

    /// Counts a wrong password (or unknown account) from `ip` on `account`.
    pub fn failed(&self, ip: IpAddr, account: Option<&str>) {
        let now = Instant::now();
        let network = network_of(ip);
        self.networks.fail(network, now);
        if let Some(account) = account {
            let account = account_key(account);
            self.accounts.fail(account.clone(), now);
            self.pairs.fail((account, network), now);
        }
    }

    /// Drops the state of keys that are back to a full budget (they behave exactly as unseen
    /// keys), so a flood of made-up emails or addresses cannot grow memory without end.
    pub fn forget_recovered(&self) {
        let now = Instant::now();
        self.pairs.forget_recovered(now);
        self.networks.forget_recovered(now);
        self.accounts.forget_recovered(now);
    }

    /// Keys currently remembered (account and network pairs, networks, accounts).
    pub fn remembered(&self) -> (usize, usize, usize) {
        (self.pairs.len(), self.networks.len(), self.accounts.len())
    }
}

/// The unit an attacker pays for: one IPv4 address, but a whole IPv6 /64, since anyone with one
/// IPv6 address usually has the 2^64 around it too.
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::from([a, b, c, d, 0, 0, 0, 0])
        }
        v4 => v4,
    }
}

/// The account as typed, normalised like `Email` (trimmed, lower-cased) so `Ann@x` and `ann@x`
/// share a budget, and bounded so a key cannot be megabytes.
fn account_key(account: &str) -> String {
    account
        .trim()
        .chars()
        .take(crate::domain::Email::MAX_LEN)
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(burst: u32) -> Budget {
        Budget {
            burst,
            per_minute: burst,
        }
    }

    fn fail_n(limiter: &LoginLimiter, n: u32, ip: IpAddr, account: &str) {
        for _ in 0..n {
            assert!(limiter.check(ip, Some(account)).is_ok());
            limiter.failed(ip, Some(account));
        }
    }

    #[test]
    fn failures_lock_that_address_out_of_that_account_whatever_the_case() {
        let limiter = LoginLimiter::new(budget(3), budget(100), budget(100));
        let ip = IpAddr::from([192, 0, 2, 1]);
        fail_n(&limiter, 3, ip, "Ann@Example.com");
        let refused = limiter.check(ip, Some("ann@example.com "));
        let wait = refused.err().map(|r| r.seconds());
        assert!(matches!(wait, Some(1..=20)), "{wait:?}");
        // Another account from there, and the account from elsewhere, are not affected.
        assert!(limiter.check(ip, Some("bob@example.com")).is_ok());
        assert!(
            limiter
                .check(IpAddr::from([198, 51, 100, 9]), Some("ann@example.com"))
                .is_ok()
        );
    }

    #[test]
    fn checks_alone_never_count() {
        let limiter = LoginLimiter::new(budget(2), budget(2), budget(2));
        let ip = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..100 {
            assert!(limiter.check(ip, Some("ann@example.com")).is_ok());
        }
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let limiter = LoginLimiter::new(budget(100), budget(2), budget(100));
        let ip = IpAddr::from([192, 0, 2, 1]);
        fail_n(&limiter, 1, ip, "a@x");
        fail_n(&limiter, 1, ip, "b@x");
        assert!(limiter.check(ip, Some("c@x")).is_err());
        assert!(
            limiter
                .check(IpAddr::from([192, 0, 2, 2]), Some("c@x"))
                .is_ok()
        );
    }

    #[test]
    fn an_account_has_a_ceiling_across_addresses() {
        let limiter = LoginLimiter::new(budget(100), budget(100), budget(5));
        for i in 0..5 {
            fail_n(&limiter, 1, IpAddr::from([192, 0, 2, i]), "ann@x");
        }
        assert!(
            limiter
                .check(IpAddr::from([203, 0, 113, 1]), Some("ann@x"))
                .is_err()
        );
    }

    #[test]
    fn ipv6_addresses_share_the_budget_of_their_64() {
        let limiter = LoginLimiter::new(budget(100), budget(1), budget(100));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        limiter.failed(ip("2001:db8:1:2::1"), None);
        assert!(limiter.check(ip("2001:db8:1:2:ffff::9"), None).is_err());
        assert!(limiter.check(ip("2001:db8:1:3::1"), None).is_ok());
    }

    #[test]
    fn recovered_keys_are_forgotten() {
        let fast = Budget {
            burst: 1,
            per_minute: 60_000,
        };
        let limiter = LoginLimiter::new(fast, fast, fast);
        limiter.failed(IpAddr::from([192, 0, 2, 1]), Some("a@x"));
        assert_eq!(limiter.remembered(), (1, 1, 1));
        // At 1000 a second one failure drains within milliseconds.
        std::thread::sleep(Duration::from_millis(20));
        limiter.forget_recovered();
        assert_eq!(limiter.remembered(), (0, 0, 0));
    }
}
