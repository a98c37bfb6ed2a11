//! Plausible's names for what footfall has: properties (`event:page`, `visit:source` …) as
//! footfall's dimensions, and metrics. A name footfall has no counterpart for is an `Err` that says
//! so, never a silent guess.

use crate::api::params::Metric;
use crate::stats::Dimension;
use serde_json::{Value, json};

/// The dimension of Plausible property `name`, or why footfall cannot answer it.
pub fn dimension(name: &str) -> Result<Dimension, String> {
    use Dimension as D;
    if let Some(key) = name.strip_prefix("event:props:") {
        return Dimension::parse(&format!("prop:{key}")).ok_or_else(|| {
            format!("{name:?}: a custom property needs a key, as event:props:plan")
        });
    }
    Ok(match name {
        "event:page" => D::Page,
        "event:name" => D::EventName,
        "event:goal" => D::Goal(Vec::new()),
        "visit:entry_page" => D::EntryPage,
        "visit:exit_page" => D::ExitPage,
        "visit:source" => D::Source,
        "visit:referrer" => D::Referrer,
        "visit:utm_source" => D::UtmSource,
        "visit:utm_medium" => D::UtmMedium,
        "visit:utm_campaign" => D::UtmCampaign,
        "visit:utm_content" => D::UtmContent,
        "visit:utm_term" => D::UtmTerm,
        "visit:country" => D::Country,
        // footfall stores region and city names (as Plausible's `_name` properties hold), not
        // ISO 3166-2 codes or GeoName ids: both spellings read the names.
        "visit:region" | "visit:region_name" => D::Region,
        "visit:city" | "visit:city_name" => D::City,
        "visit:device" => D::Device,
        "visit:browser" => D::Browser,
        "visit:browser_version" => D::BrowserVersion,
        "visit:os" => D::Os,
        "visit:os_version" => D::OsVersion,
        "visit:country_name" => {
            return Err(
                "visit:country_name: footfall stores ISO country codes only; use visit:country"
                    .into(),
            );
        }
        "event:hostname" | "visit:channel" => {
            return Err(format!("{name}: footfall does not record this property"));
        }
        other => return Err(format!("unknown property {other:?}")),
    })
}

/// The key a Plausible breakdown row gives the property's value: its name without the
/// `event:`/`visit:` prefix, a custom property's key alone.
pub fn short_name(name: &str) -> &str {
    name.strip_prefix("event:props:")
        .or_else(|| name.strip_prefix("event:"))
        .or_else(|| name.strip_prefix("visit:"))
        .unwrap_or(name)
}

/// A filter value as footfall stores it. footfall's device classes are lower-case words
/// (`desktop`), Plausible's capitalised (`Desktop`): the same classes.
pub fn value_in(dimension: &Dimension, value: &str) -> String {
    match dimension {
        Dimension::Device => value.to_ascii_lowercase(),
        _ => value.to_owned(),
    }
}

/// A stored value as Plausible spells it (`null` where not set).
pub fn value_out(dimension: &Dimension, value: Option<&str>) -> Value {
    match (dimension, value) {
        (_, None) => Value::Null,
        (Dimension::Device, Some(v)) => {
            let mut chars = v.chars();
            let first: String = chars
                .next()
                .map(|c| c.to_uppercase().collect())
                .unwrap_or_default();
            json!(first + chars.as_str())
        }
        (_, Some(v)) => json!(v),
    }
}

/// footfall's browser version rows read `Safari 18` (a version alone does not say whose it is);
/// Plausible's have the browser and the version apart. Versions are major numbers, without spaces.
pub fn split_browser_version(value: &str) -> (&str, &str) {
    value.rsplit_once(' ').unwrap_or((value, ""))
}

/// A metric of the Plausible-style answers: footfall's own, or one worked out beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PMetric {
    Base(Metric),
    /// Converted visitors over the question's visitors, percent: with one goal filter, or per
    /// row of a goal breakdown.
    ConversionRate,
    /// Mean engaged time per measured pageview, seconds (`StatsStore::engagement`).
    TimeOnPage,
    /// Mean deepest scroll per measured pageview, percent.
    ScrollDepth,
    /// A row's visitors over the question's (v2, with a dimension).
    Percentage,
}

impl PMetric {
    pub fn parse(name: &str) -> Result<Self, String> {
        if let Some(m) = Metric::parse(name) {
            return Ok(Self::Base(m));
        }
        Ok(match name {
            "conversion_rate" => Self::ConversionRate,
            "time_on_page" => Self::TimeOnPage,
            "scroll_depth" => Self::ScrollDepth,
            "percentage" => Self::Percentage,
            "group_conversion_rate" | "average_revenue" | "total_revenue" | "exit_rate" => {
                return Err(format!("metric {name}: footfall cannot compute it"));
            }
            other => return Err(format!("unknown metric {other:?}")),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Base(m) => m.name(),
            Self::ConversionRate => "conversion_rate",
            Self::TimeOnPage => "time_on_page",
            Self::ScrollDepth => "scroll_depth",
            Self::Percentage => "percentage",
        }
    }

    /// Every metric the Plausible-style endpoints know, for the documentation's test.
    pub const ALL: [PMetric; 11] = [
        Self::Base(Metric::Visitors),
        Self::Base(Metric::Visits),
        Self::Base(Metric::Pageviews),
        Self::Base(Metric::ViewsPerVisit),
        Self::Base(Metric::BounceRate),
        Self::Base(Metric::VisitDuration),
        Self::Base(Metric::Events),
        Self::ConversionRate,
        Self::TimeOnPage,
        Self::ScrollDepth,
        Self::Percentage,
    ];
}

/// Every Plausible property footfall answers, for the documentation and its test.
pub const PROPERTIES: [&str; 23] = [
    "event:page",
    "event:name",
    "event:goal",
    "visit:entry_page",
    "visit:exit_page",
    "visit:source",
    "visit:referrer",
    "visit:utm_source",
    "visit:utm_medium",
    "visit:utm_campaign",
    "visit:utm_content",
    "visit:utm_term",
    "visit:country",
    "visit:region",
    "visit:region_name",
    "visit:city",
    "visit:city_name",
    "visit:device",
    "visit:browser",
    "visit:browser_version",
    "visit:os",
    "visit:os_version",
    "event:props:KEY",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_property_maps_and_the_rest_are_refused() {
        for name in PROPERTIES {
            let name = name.replace("KEY", "plan");
            assert!(dimension(&name).is_ok(), "{name}");
        }
        for name in [
            "visit:country_name",
            "event:hostname",
            "visit:channel",
            "visit:planet",
            "event:props:",
        ] {
            assert!(dimension(name).is_err(), "{name}");
        }
        assert_eq!(
            dimension("event:props:plan"),
            Ok(Dimension::Prop("plan".into()))
        );
        assert_eq!(short_name("event:props:plan"), "plan");
        assert_eq!(short_name("visit:source"), "source");
        assert_eq!(
            value_out(&Dimension::Device, Some("desktop")),
            json!("Desktop")
        );
        assert_eq!(value_in(&Dimension::Device, "Mobile"), "mobile");
        assert_eq!(
            split_browser_version("Samsung Internet 23"),
            ("Samsung Internet", "23")
        );
    }
}
