//! Engagement of a pageview (issue 14): how long the page was in view and how far down it was
//! read. The tracker sends `{"n":"engagement", …, "e": ms, "s": percent}` with the totals so far;
//! the writer raises the figures of the pageview it belongs to (`store`, both backends).

use super::{Invalid, PagePath, SiteId, VisitorId};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

/// The event name that marks an engagement update rather than a pageview or a custom event.
pub const ENGAGEMENT: &str = "engagement";

/// Engaged time and scroll depth, checked: what an update may raise a pageview's figures to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    engaged_ms: u32,
    scroll_depth: u8,
}

impl Figures {
    /// A day: a page cannot have been in view longer within one visit, and anything past it is
    /// a broken clock, not attention.
    pub const MAX_ENGAGED_MS: u32 = 86_400_000;
    pub const MAX_SCROLL_DEPTH: u8 = 100;

    /// The contract's `e` and `s`, as written in the body (`None`: absent or `null`). Each must
    /// be a JSON number in range; fractions are rounded to whole milliseconds and percents.
    pub fn parse(e: Option<&RawValue>, s: Option<&RawValue>) -> Result<Self, Invalid> {
        let ms = number(
            e,
            "e (engaged time)",
            f64::from(Self::MAX_ENGAGED_MS),
            "milliseconds",
        )?;
        let depth = number(
            s,
            "s (scroll depth)",
            f64::from(Self::MAX_SCROLL_DEPTH),
            "percent",
        )?;
        // In range and rounded, so the casts are exact.
        Ok(Self {
            engaged_ms: ms as u32,
            scroll_depth: depth as u8,
        })
    }

    /// Figures read back from a spool file, checked again (the file is outside our control).
    pub fn from_stored(engaged_ms: i64, scroll_depth: i64) -> Result<Self, Invalid> {
        let engaged_ms = u32::try_from(engaged_ms)
            .ok()
            .filter(|ms| *ms <= Self::MAX_ENGAGED_MS);
        let scroll_depth = u8::try_from(scroll_depth)
            .ok()
            .filter(|d| *d <= Self::MAX_SCROLL_DEPTH);
        match (engaged_ms, scroll_depth) {
            (Some(engaged_ms), Some(scroll_depth)) => Ok(Self {
                engaged_ms,
                scroll_depth,
            }),
            _ => Err(Invalid("engagement figures out of range".into())),
        }
    }

    pub fn engaged_ms(self) -> i64 {
        i64::from(self.engaged_ms)
    }

    pub fn scroll_depth(self) -> i16 {
        i16::from(self.scroll_depth)
    }
}

/// A number from 0 to `max` in the raw JSON `value`, rounded. Read from the text, not through
/// serde's `f64`, so that a number no double holds (`1e400`) gets this field's message too.
fn number(value: Option<&RawValue>, field: &str, max: f64, unit: &str) -> Result<f64, Invalid> {
    let Some(raw) = value.map(RawValue::get).filter(|raw| *raw != "null") else {
        return Err(Invalid(format!(
            "field {field} is missing: an engagement update carries it"
        )));
    };
    let refused = || {
        Invalid(format!(
            "field {field} must be a number of {unit} from 0 to {max}"
        ))
    };
    // Only a JSON number: `"12"` or `true` are not figures, whatever they could be read as.
    if !raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(refused());
    }
    let n: f64 = serde_json::from_str(raw).map_err(|_| refused())?;
    if n.is_finite() && (0.0..=max).contains(&n) {
        Ok(n.round().min(max))
    } else {
        Err(refused())
    }
}

/// One engagement update, parsed and enriched like a pageview: the same site, path and visitor
/// id a pageview sent at that moment would have.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    pub site_id: SiteId,
    pub created_at: DateTime<Utc>,
    pub visitor_id: VisitorId,
    /// The page whose pageview it updates.
    pub path: PagePath,
    pub figures: Figures,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(e: &str, s: &str) -> Result<Figures, Invalid> {
        let raw = |text: &str| serde_json::from_str::<Box<RawValue>>(text).ok();
        let (e, s) = (raw(e), raw(s));
        Figures::parse(e.as_deref(), s.as_deref())
    }

    #[test]
    fn figures_in_range_are_rounded() {
        let f = parse("3000.4", "39.5").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.engaged_ms(), f.scroll_depth()), (3000, 40));
        let f = parse("86400000", "100").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.engaged_ms(), f.scroll_depth()), (86_400_000, 100));
        let f = parse("0", "0e3").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.engaged_ms(), f.scroll_depth()), (0, 0));
        // A hair below zero rounds to -0, which is zero.
        assert!(parse("-0", "-0.0").is_ok());
    }

    #[test]
    fn anything_else_names_its_field() {
        for (e, s, field) in [
            ("-1", "10", "field e (engaged time)"),
            ("86400001", "10", "field e (engaged time)"),
            ("1e400", "10", "field e (engaged time)"),
            (r#""3000""#, "10", "field e (engaged time)"),
            (r#""NaN""#, "10", "field e (engaged time)"),
            ("true", "10", "field e (engaged time)"),
            ("[1]", "10", "field e (engaged time)"),
            ("null", "10", "field e (engaged time) is missing"),
            ("10", "100.6", "field s (scroll depth)"),
            ("10", "-3", "field s (scroll depth)"),
            ("10", "-1e400", "field s (scroll depth)"),
            ("10", "null", "field s (scroll depth) is missing"),
        ] {
            let error = parse(e, s).map_or_else(|e| e.0, |f| format!("accepted {f:?}"));
            assert!(error.starts_with(field), "e={e} s={s}: {error}");
        }
        let error = Figures::parse(None, None).map_or_else(|e| e.0, |f| format!("{f:?}"));
        assert!(
            error.starts_with("field e (engaged time) is missing"),
            "{error}"
        );
    }

    #[test]
    fn stored_figures_are_checked_again() {
        assert!(Figures::from_stored(5000, 80).is_ok());
        assert!(Figures::from_stored(-1, 80).is_err());
        assert!(Figures::from_stored(86_400_001, 80).is_err());
        assert!(Figures::from_stored(5000, 101).is_err());
    }
}
