//! Password hashing with argon2id (the crate's defaults: 19 MiB, t=2, p=1, OWASP's minimum).
//! A hash costs tens of milliseconds of CPU, so it runs on tokio's blocking pool, never on an
//! HTTP worker thread.

use super::AuthError;
use crate::domain::Invalid;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Shortest accepted password. Length beats composition rules.
pub const MIN_LEN: usize = 10;
/// Longest accepted password, so nobody can make us hash megabytes.
pub const MAX_LEN: usize = 1024;

/// Checked against when the email is unknown, so that a wrong email costs the same time as a
/// wrong password and response times do not reveal which accounts exist. Made with the default
/// parameters (a unit test keeps it in step with them) from a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$weQmD+8HBzxb3cUDo84eSQ$zLipBKuxqR7YHpiAugDxWYKOVn0eov45zJX+mccE/SY";

/// A password good enough to set (length only; see `MIN_LEN`).
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let chars = input.chars().count();
        if chars < MIN_LEN {
            return Err(Invalid(format!(
                "the password must have at least {MIN_LEN} characters"
            )));
        }
        if chars > MAX_LEN {
            return Err(Invalid(format!(
                "the password must have at most {MAX_LEN} characters"
            )));
        }
        Ok(Self(input.to_owned()))
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

/// An argon2id PHC string for `password`, with a fresh random salt.
pub async fn hash(password: NewPassword) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.0.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AuthError::Hashing(format!("hashing task failed: {e}")))?
}

/// Whether `password` matches `stored` (a PHC string). With no stored hash (unknown user) it
/// spends the same time on a dummy hash and answers false.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.as_deref().unwrap_or(DUMMY_HASH);
        // Over-long input is refused after the same work, not before it.
        let too_long = password.chars().count() > MAX_LEN;
        let input = if too_long { "" } else { password.as_str() };
        match Argon2::default().verify_password(input.as_bytes(), hash) {
            Ok(()) => Ok(known && !too_long),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => Err(AuthError::Hashing(format!("stored hash unusable: {e}"))),
        }
    })
    .await
    .map_err(|e| AuthError::Hashing(format!("verifying task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::phc::PasswordHash;

    #[test]
    fn the_dummy_hash_uses_todays_default_parameters() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap_or_else(|e| panic!("{e}"));
        let fresh = Argon2::default()
            .hash_password(b"anything")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dummy.algorithm, fresh.algorithm);
        assert_eq!(dummy.version, fresh.version);
        assert_eq!(dummy.params, fresh.params);
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(NewPassword::parse("123456789").is_err());
        assert!(NewPassword::parse("correct horse").is_ok());
        assert!(NewPassword::parse(&"x".repeat(MAX_LEN + 1)).is_err());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let pw = "correct horse battery".to_owned();
        let hash = hash(NewPassword::parse(&pw).unwrap_or_else(|e| panic!("{e}")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.starts_with("$argon2id$"));
        assert!(matches!(verify(pw, Some(hash.clone())).await, Ok(true)));
        assert!(matches!(
            verify("wrong".into(), Some(hash)).await,
            Ok(false)
        ));
        assert!(matches!(verify("anything".into(), None).await, Ok(false)));
    }

    #[test]
    #[ignore = "prints a fresh DUMMY_HASH when the defaults change"]
    fn print_a_dummy_hash() {
        let secret: [u8; 32] = rand::random();
        let hash = Argon2::default()
            .hash_password(&secret)
            .unwrap_or_else(|e| panic!("{e}"));
        println!("{hash}");
    }
}
