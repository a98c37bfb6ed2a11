//! Login rate limits: per account (the email typed) and per client IP, so neither guessing one
//! account's password from many addresses nor many accounts from one address gets far. In
//! memory, per process: with N instances an attacker gets N times the budget, which still stops
//! online guessing. Memory is bounded by `forget_recovered`, run every minute.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// Attempts per account per minute (as a burst, then one every 12 s).
pub const PER_ACCOUNT_PER_MINUTE: u32 = 5;
/// Attempts per client IP per minute (as a burst, then one every 3 s).
pub const PER_IP_PER_MINUTE: u32 = 20;

/// How long to wait before the next attempt is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up, for a `Retry-After` header.
    pub fn seconds(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

pub struct LoginLimiter {
    accounts: DefaultKeyedRateLimiter<String>,
    ips: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        let per_minute = |n| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self::new(
            per_minute(PER_ACCOUNT_PER_MINUTE),
            per_minute(PER_IP_PER_MINUTE),
        )
    }
}

impl LoginLimiter {
    pub fn new(per_account: Quota, per_ip: Quota) -> Self {
        Self {
            accounts: RateLimiter::keyed(per_account),
            ips: RateLimiter::keyed(per_ip),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt from `ip` (and on `account`, when the attempt names one). Refused
    /// attempts on the IP do not count against the account.
    pub fn check(&self, ip: IpAddr, account: Option<&str>) -> Result<(), RetryAfter> {
        let now = self.clock.now();
        self.ips
            .check_key(&network_of(ip))
            .map_err(|not_until| RetryAfter(not_until.wait_time_from(now)))?;
        if let Some(account) = account {
            self.accounts
                .check_key(&account_key(account))
                .map_err(|not_until| RetryAfter(not_until.wait_time_from(now)))?;
        }
        Ok(())
    }

    /// Drops the state of keys that are back to a full budget (they behave exactly as unseen
    /// keys), so a flood of made-up emails or addresses cannot grow memory without end.
    pub fn forget_recovered(&self) {
        self.accounts.retain_recent();
        self.accounts.shrink_to_fit();
        self.ips.retain_recent();
        self.ips.shrink_to_fit();
    }

    /// Keys currently remembered (accounts, IPs).
    pub fn remembered(&self) -> (usize, usize) {
        (self.accounts.len(), self.ips.len())
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

    fn nz(n: u32) -> Quota {
        Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
    }

    #[test]
    fn an_account_gets_its_burst_then_waits_whatever_the_case() {
        let limiter = LoginLimiter::new(nz(3), nz(100));
        let ip = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..3 {
            assert!(limiter.check(ip, Some("Ann@Example.com")).is_ok());
        }
        let refused = limiter.check(ip, Some("ann@example.com "));
        let wait = refused.err().map(|r| r.seconds());
        assert!(matches!(wait, Some(1..=20)), "{wait:?}");
        assert!(limiter.check(ip, Some("bob@example.com")).is_ok());
    }

    #[test]
    fn an_ip_is_limited_across_accounts() {
        let limiter = LoginLimiter::new(nz(100), nz(2));
        let ip = IpAddr::from([192, 0, 2, 1]);
        assert!(limiter.check(ip, Some("a@x")).is_ok());
        assert!(limiter.check(ip, Some("b@x")).is_ok());
        assert!(limiter.check(ip, Some("c@x")).is_err());
        assert!(
            limiter
                .check(IpAddr::from([192, 0, 2, 2]), Some("c@x"))
                .is_ok()
        );
    }

    #[test]
    fn ipv6_addresses_share_the_budget_of_their_64() {
        let limiter = LoginLimiter::new(nz(100), nz(1));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert!(limiter.check(ip("2001:db8:1:2::1"), None).is_ok());
        assert!(limiter.check(ip("2001:db8:1:2:ffff::9"), None).is_err());
        assert!(limiter.check(ip("2001:db8:1:3::1"), None).is_ok());
    }

    #[test]
    fn recovered_keys_are_forgotten() {
        let fast = Quota::per_second(NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN));
        let limiter = LoginLimiter::new(fast, fast);
        let _ = limiter.check(IpAddr::from([192, 0, 2, 1]), Some("a@x"));
        assert_eq!(limiter.remembered(), (1, 1));
        // At 1000 per second one attempt is forgotten within milliseconds.
        std::thread::sleep(Duration::from_millis(20));
        limiter.forget_recovered();
        assert_eq!(limiter.remembered(), (0, 0));
    }
}
