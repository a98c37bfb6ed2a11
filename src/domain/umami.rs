//! Umami website ids: the UUID an Umami snippet names its site by (`data-website-id`), mapped
//! to a footfall site so that Umami snippets and senders keep working (`footfall site set
//! DOMAIN --umami-id UUID`, `/api/send`).

use super::Invalid;
use std::fmt;

/// A UUID in its usual text form, stored lower-case so that any spelling finds the site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UmamiId(String);

impl UmamiId {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let id = input.trim().to_ascii_lowercase();
        let groups: Vec<&str> = id.split('-').collect();
        let shape = groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12];
        if !shape
            || !groups
                .iter()
                .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Invalid(format!(
                "{:?} is not an Umami website id (a UUID such as 94db1cb1-74f4-4a40-ad6c-962362670409)",
                super::truncate_chars(input, 60)
            )));
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UmamiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::UmamiId;

    #[test]
    fn uuids_are_accepted_in_any_case_and_stored_lower_case() {
        let id = UmamiId::parse(" 94DB1CB1-74f4-4a40-AD6C-962362670409 ").map(|i| i.0);
        assert_eq!(id, Ok("94db1cb1-74f4-4a40-ad6c-962362670409".to_owned()));
    }

    #[test]
    fn anything_else_is_refused_with_an_example() {
        for bad in [
            "",
            "example.com",
            "94db1cb1-74f4-4a40-ad6c-96236267040",
            "94db1cb1-74f4-4a40-ad6c-96236267040g",
            "94db1cb174f44a40ad6c962362670409",
        ] {
            let err = UmamiId::parse(bad).err().map(|e| e.0).unwrap_or_default();
            assert!(err.contains("is not an Umami website id"), "{bad}: {err}");
        }
    }
}
