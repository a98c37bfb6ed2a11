//! Dashboard accounts: the people who log in. Separate from visitors, who never have accounts.

use super::Invalid;
use chrono::{DateTime, Utc};
use std::fmt;

/// Primary key of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A login email address, lower-cased so that `Ann@Example.com` and `ann@example.com` are one
/// account (the database's UNIQUE constraint then compares case-insensitively for free).
///
/// The check is deliberately loose: it catches typos such as a missing `@`, not every address
/// RFC 5322 forbids; nobody sends mail to it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest accepted address (the SMTP path limit).
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let email = input.trim().to_lowercase();
        if email.is_empty() || email.len() > Self::MAX_LEN {
            return Err(Invalid(format!(
                "an email address must be 1 to {} characters",
                Self::MAX_LEN
            )));
        }
        let well_formed = email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }) && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(Invalid(format!(
                "{:?} is not an email address (expected something like ann@example.com)",
                input.trim()
            )));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Addresses are personal data: logs get the domain only.
        let domain = self.0.rsplit_once('@').map_or("?", |(_, d)| d);
        write!(f, "Email(…@{domain})")
    }
}

/// A dashboard account as the rest of the code sees it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").map(|e| e.0),
            Ok("ann@example.com".to_owned())
        );
        assert!(Email::parse("admin@localhost").is_ok());
    }

    #[test]
    fn emails_without_a_local_part_or_domain_are_refused() {
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@.com",
            "ann@example.",
            "a n@example.com",
            "ann@exa\u{0}mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn debug_output_hides_the_local_part() {
        let email = Email::parse("ann@example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{email:?}"), "Email(…@example.com)");
    }
}
