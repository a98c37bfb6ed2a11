//! Sites: the domains footfall collects for, each with the time zone its dashboard buckets days in.

use super::Invalid;
use std::fmt;

/// Primary key of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SiteId(pub i64);

/// A registered site domain: a lower-case DNS host name without scheme, port or path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteDomain(String);

impl SiteDomain {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let domain = input.trim().trim_end_matches('.').to_ascii_lowercase();
        if domain.is_empty() || domain.len() > 253 {
            return Err(Invalid(format!(
                "site domain must be 1 to 253 characters, got {}",
                domain.len()
            )));
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !domain.split('.').all(label_ok) {
            return Err(Invalid(format!(
                "{input:?} is not a domain name (expected something like example.com, without scheme or path)"
            )));
        }
        Ok(Self(domain))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `host` is this domain or one of its subdomains (`blog.example.com` for
    /// `example.com`); `host` must already be lower-case.
    pub fn covers_host(&self, host: &str) -> bool {
        host == self.0
            || (host.len() > self.0.len()
                && host.ends_with(self.0.as_str())
                && host.as_bytes()[host.len() - self.0.len() - 1] == b'.')
    }
}

impl fmt::Display for SiteDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone name that chrono-tz knows (`Europe/Berlin`, `UTC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        input
            .trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| {
                Invalid(format!(
                    "unknown time zone {input:?} (use an IANA name such as Europe/Berlin or UTC)"
                ))
            })
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::UTC)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: SiteId,
    pub domain: SiteDomain,
    pub timezone: TimeZone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_domain_is_normalised_to_lower_case() {
        assert_eq!(
            SiteDomain::parse(" Example.COM. ").map(|d| d.0),
            Ok("example.com".to_owned())
        );
    }

    #[test]
    fn site_domain_rejects_urls_and_garbage() {
        for bad in [
            "",
            "https://example.com",
            "example.com/path",
            "exa mple.com",
            "-x.com",
            "a..b",
            "例え.jp",
        ] {
            assert!(SiteDomain::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_domain_covers_itself_and_its_subdomains_only() {
        let d = SiteDomain::parse("example.com").unwrap_or_else(|e| panic!("{e}"));
        assert!(d.covers_host("example.com"));
        assert!(d.covers_host("www.example.com"));
        assert!(d.covers_host("a.b.example.com"));
        assert!(!d.covers_host("badexample.com"));
        assert!(!d.covers_host("example.com.evil.net"));
        assert!(!d.covers_host("com"));
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(TimeZone::parse("Europe/Berlin").is_ok());
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }
}
