//! The query layer shared by the dashboard and the stats API: what a question looks like
//! (`StatsQuery`: site, local date range, filters) and what the answers are. Stores answer these
//! through `store::StatsStore`; both backends give the same numbers (one SQL text for both, see
//! `store::sql`), whether a day is read from rollups (`rollup`) or from raw rows.
//!
//! Days and hours are those of the site's time zone (`calendar`): `from..=to` are local dates, an
//! event belongs to the local day its instant falls on (23:30 UTC is the next day in Berlin in
//! summer). Hourly buckets are hours of elapsed time from local midnight, so DST days have 23 or
//! 25 of them (the repeated hour appears twice, with the same local label).
//!
//! Metric definitions (the README documents them for users):
//! - visitors: for each local day of the range, the distinct visitor ids among what is counted
//!   (see grains below); summed over the days. Visitor ids rotate daily, so per-day counts are
//!   exact and additive — and a visitor seen on two days counts twice.
//! - visits: visits (sessions) that started in the range and match the filters; a visit matches an
//!   event-level filter when it had a matching event in the range.
//! - pageviews: counted `pageview` events; events: all counted events.
//! - bounce_rate: percent of those visits with at most one pageview.
//! - visit_duration: mean of `ended_at - started_at` over those visits, in whole seconds.
//! - views_per_visit: all pageviews of those visits divided by their number.
//!
//! The ratios are computed from integer sums in Rust (`VisitSums`), so both backends agree to the
//! bit. Series buckets and breakdown rows carry the same metrics (the visit ones when asked for,
//! `Metrics`): a daily bucket is the aggregate of its day, a breakdown row the aggregate filtered
//! on its value.
//!
//! Two grains. Visitors, pageviews and events are counted either
//! - on **events**: the matching events, each on its own local day — for unfiltered aggregates and
//!   series, event-level breakdowns (page, event_name, prop:KEY), and every question that has an
//!   event-level filter; or
//! - on **visits**: the matching visits, whole (their `pageviews` and `events` totals), on the
//!   local day they started — for session-level breakdowns (source, referrer, utm_*, country,
//!   region, city, browser(+version), os(+version), device, entry_page, exit_page) and for
//!   aggregates and series whose filters are all session-level.
//!
//! So a breakdown row always equals the aggregate filtered on it: "Google: 1,944 visitors" stays
//! 1,944 after clicking it, and a page row's numbers are those of `page is <row>`. Session-level
//! dimensions are a visit's entry attributes from the `sessions` table (only a visit's first
//! event carries referrer and UTM tags).
//!
//! Breakdowns: one row per value, `value` `None` where not set (NULL or empty: direct traffic,
//! unknown country, an empty OS version); rows sorted by visitors, pageviews, events (all
//! descending), then value (byte order). `event_name` rows have `events` as their main count
//! (pageviews are zero except for `pageview`). `prop:KEY` rows group the events that have prop
//! `KEY` by its value — usually asked with an `event_name` filter (a goal's props).
//!
//! Filters (all must hold; values are always bound, never spliced into SQL):
//! - `Is` value: equal (case-sensitive). `Is ""`: not set.
//! - `Contains` text: set and containing the text, ASCII case-insensitively; `%`, `_` and `\`
//!   match themselves. `Contains ""`: set.
//! - A session-level filter keeps the visits with that entry attribute and, on the event grain,
//!   the events of those visits. An event-level filter keeps the matching events and the visits
//!   that had one; several event-level filters must hold on the same event.
//! - A goal filter (`goal is Signup`) is session-level: it keeps the visits that converted — had
//!   an event in the range matching the goal — whole, with all their events (so the pages table
//!   under it lists the pages converting visits saw, not only the goal's own page).
//! - A value no stored text can hold (a NUL character) matches nothing.

pub mod calendar;
pub mod funnel;
pub mod glob;
pub mod goal;
pub mod params;
pub mod period;

use crate::domain::{SiteId, TimeZone};
use chrono::{NaiveDate, NaiveDateTime};
use std::fmt;

/// What a breakdown groups by and a filter matches on. The names are the API's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dimension {
    Page,
    EntryPage,
    ExitPage,
    Source,
    Referrer,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmContent,
    UtmTerm,
    Country,
    Region,
    City,
    Browser,
    BrowserVersion,
    Os,
    OsVersion,
    Device,
    EventName,
    /// A custom property, by key (`prop:plan`).
    Prop(String),
    /// A goal, as a filter only (`goal:is:Signup`): the visits that converted, i.e. had an event
    /// in the range matching all of these (event-level) filters, the goal's (`goal::Goal::filters`).
    /// Read from a URL it is empty until `goal::resolve` fills it in from the site's goals; empty,
    /// it matches no visit.
    Goal(Vec<Filter>),
}

impl Dimension {
    /// Every dimension except `Prop`, in the order the dashboard shows them.
    pub const FIXED: [Dimension; 19] = [
        Self::Page,
        Self::EntryPage,
        Self::ExitPage,
        Self::Source,
        Self::Referrer,
        Self::UtmSource,
        Self::UtmMedium,
        Self::UtmCampaign,
        Self::UtmContent,
        Self::UtmTerm,
        Self::Country,
        Self::Region,
        Self::City,
        Self::Browser,
        Self::BrowserVersion,
        Self::Os,
        Self::OsVersion,
        Self::Device,
        Self::EventName,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        if let Some(key) = name.strip_prefix("prop:") {
            let key = key.trim();
            return (!key.is_empty() && key.chars().count() <= crate::domain::Props::MAX_CHARS)
                .then(|| Self::Prop(key.to_owned()));
        }
        Self::FIXED.into_iter().find(|d| d.name() == name)
    }

    /// True for a visit's attributes (read from `sessions`), false for an event's (page,
    /// event_name, prop:KEY). It decides how filters apply and how breakdowns count.
    pub fn is_session_level(&self) -> bool {
        !matches!(self, Self::Page | Self::EventName | Self::Prop(_))
    }

    /// The goal filter's conversion filters, for `Goal`.
    pub fn goal_filters(&self) -> Option<&[Filter]> {
        match self {
            Self::Goal(filters) => Some(filters),
            _ => None,
        }
    }

    /// A filter value in the form values of this dimension are stored in: addresses (pages,
    /// referrers) and prop values decoded as an address bar shows them
    /// (`domain::decode::for_display`), so that `/über` and `/%C3%BCber` filter on the same page.
    pub fn stored_form<'a>(&self, value: &'a str) -> std::borrow::Cow<'a, str> {
        match self {
            Self::Page | Self::EntryPage | Self::ExitPage | Self::Referrer | Self::Prop(_) => {
                crate::domain::decode::for_display(value)
            }
            _ => std::borrow::Cow::Borrowed(value),
        }
    }

    /// The API / URL name: `page`, `utm_source`, `prop:plan` …
    pub fn name(&self) -> &str {
        match self {
            Self::Page => "page",
            Self::EntryPage => "entry_page",
            Self::ExitPage => "exit_page",
            Self::Source => "source",
            Self::Referrer => "referrer",
            Self::UtmSource => "utm_source",
            Self::UtmMedium => "utm_medium",
            Self::UtmCampaign => "utm_campaign",
            Self::UtmContent => "utm_content",
            Self::UtmTerm => "utm_term",
            Self::Country => "country",
            Self::Region => "region",
            Self::City => "city",
            Self::Browser => "browser",
            Self::BrowserVersion => "browser_version",
            Self::Os => "os",
            Self::OsVersion => "os_version",
            Self::Device => "device",
            Self::EventName => "event_name",
            Self::Prop(_) => "prop",
            Self::Goal(_) => "goal",
        }
    }

    /// Human label for tables and filter chips.
    pub fn label(&self) -> String {
        match self {
            Self::Page => "Page".into(),
            Self::EntryPage => "Entry page".into(),
            Self::ExitPage => "Exit page".into(),
            Self::Source => "Source".into(),
            Self::Referrer => "Referrer".into(),
            Self::UtmSource => "UTM source".into(),
            Self::UtmMedium => "UTM medium".into(),
            Self::UtmCampaign => "UTM campaign".into(),
            Self::UtmContent => "UTM content".into(),
            Self::UtmTerm => "UTM term".into(),
            Self::Country => "Country".into(),
            Self::Region => "Region".into(),
            Self::City => "City".into(),
            Self::Browser => "Browser".into(),
            Self::BrowserVersion => "Browser version".into(),
            Self::Os => "Operating system".into(),
            Self::OsVersion => "OS version".into(),
            Self::Device => "Device".into(),
            Self::EventName => "Event".into(),
            Self::Prop(key) => format!("Property {key}"),
            Self::Goal(_) => "Goal".into(),
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Prop(key) => write!(f, "prop:{key}"),
            other => f.write_str(other.name()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// Equal to the value. For an empty value: the dimension is not set (direct visits).
    Is,
    /// Contains the value, case-insensitively (ASCII).
    Contains,
    /// A set value that matches the pattern as a whole: `*` any characters but `/`, `**` any
    /// characters (`stats::glob`). An empty pattern: not set, as `is`.
    Matches,
}

impl FilterOp {
    pub fn name(self) -> &'static str {
        match self {
            Self::Is => "is",
            Self::Contains => "contains",
            Self::Matches => "matches",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "is" | "eq" | "==" => Some(Self::Is),
            "contains" | "~" => Some(Self::Contains),
            "matches" => Some(Self::Matches),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    pub dimension: Dimension,
    pub op: FilterOp,
    pub value: String,
}

/// One question: a site, an inclusive range of local dates in the site's time zone, filters
/// (all must hold).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsQuery {
    pub site: SiteId,
    pub timezone: TimeZone,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub filters: Vec<Filter>,
}

/// Which figures a time series or breakdown computes. Visitors, pageviews and events always; the
/// visit figures (visits, bounce rate, visit duration, views per visit) only when asked, because
/// for an event-level breakdown they take a scan of the range's events joined to their visits,
/// which rollups cannot answer (a visit counts once however many of its days it matched on).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Metrics {
    /// Visitors, pageviews, events.
    #[default]
    Counts,
    /// Those and the visit figures (`VisitSums`).
    WithVisits,
}

/// The integer sums behind the visit metrics of a set of visits. The ratios are computed from them
/// A revenue goal's revenue under a question (`StatsStore::goal_revenue`): amounts are exact
/// millionths of the goal's currency (`domain::Revenue`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GoalRevenue {
    /// The sum of the conversions' amounts in the goal's currency.
    pub micros: i64,
    /// Conversions with an amount in the goal's currency.
    pub conversions: i64,
    /// Conversions with an amount in another currency: counted, not summed.
    pub other_currency: i64,
}

impl GoalRevenue {
    /// The total, in units of the currency.
    pub fn total(&self) -> f64 {
        self.micros as f64 / 1e6
    }

    /// The mean amount of the conversions in the goal's currency (0 without any).
    pub fn average(&self) -> f64 {
        if self.conversions > 0 {
            self.micros as f64 / self.conversions as f64 / 1e6
        } else {
            0.0
        }
    }
}

/// here, in Rust, so that both backends agree to the bit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct VisitSums {
    pub visits: i64,
    /// Visits with at most one pageview.
    pub bounces: i64,
    /// Sum of `ended_at - started_at`, whole seconds.
    pub duration: i64,
    /// All pageviews of those visits (also those outside the range or not matching a filter).
    pub pageviews: i64,
}

impl VisitSums {
    fn per_visit(&self, n: i64) -> f64 {
        if self.visits > 0 {
            n as f64 / self.visits as f64
        } else {
            0.0
        }
    }

    pub fn views_per_visit(&self) -> f64 {
        self.per_visit(self.pageviews)
    }

    /// Percent, 0–100.
    pub fn bounce_rate(&self) -> f64 {
        self.per_visit(self.bounces) * 100.0
    }

    /// Seconds.
    pub fn visit_duration(&self) -> f64 {
        self.per_visit(self.duration)
    }
}

/// The sums behind the engagement figures (`domain::Figures`: the engaged time and deepest scroll
/// that the tracker's engagement updates raise) of the pageviews under a question: the pageviews
/// in its range that pass every filter and have figures. Pageviews that no update reached (sent
/// by the default script, or whose update was lost) are left out of the means, not counted as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngagementSums {
    /// Pageviews with figures.
    pub pageviews: i64,
    /// Their engaged time, milliseconds.
    pub engaged_ms: i64,
    /// Their scroll depths, percent, summed.
    pub scroll: i64,
}

impl EngagementSums {
    pub fn add(&mut self, other: &Self) {
        self.pageviews += other.pageviews;
        self.engaged_ms += other.engaged_ms;
        self.scroll += other.scroll;
    }

    /// Mean engaged time per measured pageview, seconds; `None` without any.
    pub fn time_on_page(&self) -> Option<f64> {
        (self.pageviews > 0).then(|| self.engaged_ms as f64 / self.pageviews as f64 / 1000.0)
    }

    /// Mean deepest scroll position per measured pageview, percent; `None` without any.
    pub fn scroll_depth(&self) -> Option<f64> {
        (self.pageviews > 0).then(|| self.scroll as f64 / self.pageviews as f64)
    }

    /// Engaged time per visit, seconds, over `visits` (the question's visits): `None` when no
    /// pageview has figures, where the figure would only say that nothing was measured.
    pub fn per_visit(&self, visits: i64) -> Option<f64> {
        (self.pageviews > 0 && visits > 0).then(|| self.engaged_ms as f64 / visits as f64 / 1000.0)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Aggregate {
    pub visitors: i64,
    pub visits: i64,
    pub pageviews: i64,
    pub events: i64,
    pub views_per_visit: f64,
    /// Percent, 0–100.
    pub bounce_rate: f64,
    /// Seconds.
    pub visit_duration: f64,
}

impl Aggregate {
    /// Counts and the visit metrics of `sums`.
    pub fn new(visitors: i64, pageviews: i64, events: i64, sums: VisitSums) -> Self {
        Self {
            visitors,
            visits: sums.visits,
            pageviews,
            events,
            views_per_visit: sums.views_per_visit(),
            bounce_rate: sums.bounce_rate(),
            visit_duration: sums.visit_duration(),
        }
    }
}

/// A series' buckets. Weeks (Monday to Sunday) and months are local calendar days added up
/// (`coarsen`): their visitors are the sum of their days' (as a range's always are), and their
/// visit figures the sum of their days' too. A range's first and last buckets are cut at its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Hour,
    Day,
    Week,
    Month,
}

impl Interval {
    /// What the dashboard draws for a range of `days` local days: hours for one day, days up to
    /// about a quarter, weeks up to two years, months beyond, which keeps a chart to at most a
    /// hundred and twenty-odd buckets over the longest range allowed (`params::MAX_RANGE_DAYS`).
    pub fn for_days(days: i64) -> Self {
        match days {
            ..=1 => Self::Hour,
            2..=92 => Self::Day,
            93..=731 => Self::Week,
            _ => Self::Month,
        }
    }
}

/// One bucket of a time series; every bucket of the range is present, empty ones as zeros.
/// Counted like `Aggregate` (same grain), per bucket: visitors are distinct per bucket, and a
/// daily bucket equals the aggregate of that one day. Visits count in the bucket (day or hour)
/// they started in; with an event-level filter, a visit counts when it had a matching event in
/// that same bucket — so an hourly bucket is the aggregate of that hour, as a daily one is of its
/// day.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Point {
    /// Start of the bucket, local time.
    pub start: NaiveDateTime,
    pub visitors: i64,
    pub pageviews: i64,
    pub events: i64,
    /// With `Metrics::WithVisits` only.
    pub visits: Option<VisitSums>,
}

/// Every bucket of a series (`calendar::buckets`), filled from `found` — (bucket, figures) in
/// bucket order, only the buckets with data; `fill` copies one's figures into its point. Buckets
/// outside the range are skipped (none are expected).
pub fn points<T, E>(
    buckets: Vec<(i64, NaiveDateTime)>,
    metrics: Metrics,
    found: impl IntoIterator<Item = (i64, T)>,
    mut fill: impl FnMut(&mut Point, T) -> Result<(), E>,
) -> Result<Vec<Point>, E> {
    let mut found = found.into_iter().peekable();
    let mut points = Vec::with_capacity(buckets.len());
    for (bucket, start) in buckets {
        let mut point = Point {
            start,
            visitors: 0,
            pageviews: 0,
            events: 0,
            visits: (metrics == Metrics::WithVisits).then(VisitSums::default),
        };
        while let Some((b, figures)) = found.next_if(|(b, _)| *b <= bucket) {
            if b == bucket {
                fill(&mut point, figures)?;
            }
        }
        points.push(point);
    }
    Ok(points)
}

/// Daily `points` (in order) added up into `interval`'s buckets; hourly and daily ones as they are.
/// A bucket starts at its first day in the range (so the first week of a range that begins on a
/// Wednesday starts on that Wednesday).
///
/// ```
/// use chrono::NaiveDate;
/// use footfall::stats::{Interval, Point, coarsen};
///
/// // Sunday 1 March to Tuesday 3 March 2026: two weeks, one month.
/// let days: Vec<Point> = (1..=3)
///     .map(|d| Point {
///         start: NaiveDate::from_ymd_opt(2026, 3, d)
///             .unwrap_or_default()
///             .and_time(chrono::NaiveTime::MIN),
///         visitors: 1,
///         pageviews: i64::from(d),
///         events: i64::from(d),
///         visits: None,
///     })
///     .collect();
/// let weeks = coarsen(days.clone(), Interval::Week);
/// assert_eq!(weeks.iter().map(|p| p.pageviews).collect::<Vec<_>>(), [1, 5]);
/// assert_eq!(weeks[1].start.to_string(), "2026-03-02 00:00:00");
/// let months = coarsen(days, Interval::Month);
/// assert_eq!((months.len(), months[0].visitors), (1, 3));
/// ```
pub fn coarsen(points: Vec<Point>, interval: Interval) -> Vec<Point> {
    use chrono::Datelike;
    let key = |p: &Point| -> i64 {
        let date = p.start.date();
        match interval {
            Interval::Hour | Interval::Day => 0,
            Interval::Week => {
                i64::from(date.to_epoch_days()) - i64::from(date.weekday().num_days_from_monday())
            }
            Interval::Month => i64::from(date.year()) * 12 + i64::from(date.month0()),
        }
    };
    if matches!(interval, Interval::Hour | Interval::Day) {
        return points;
    }
    let mut out: Vec<(i64, Point)> = Vec::new();
    for p in points {
        let k = key(&p);
        match out.last_mut() {
            Some((last, bucket)) if *last == k => {
                bucket.visitors += p.visitors;
                bucket.pageviews += p.pageviews;
                bucket.events += p.events;
                if let (Some(sums), Some(more)) = (&mut bucket.visits, &p.visits) {
                    sums.visits += more.visits;
                    sums.bounces += more.bounces;
                    sums.duration += more.duration;
                    sums.pageviews += more.pageviews;
                }
            }
            _ => out.push((k, p)),
        }
    }
    out.into_iter().map(|(_, p)| p).collect()
}

/// One row of a breakdown, biggest first (by visitors, then pageviews, then events, then value).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BreakdownRow {
    /// The dimension's value; `None` where it is not set (direct traffic, unknown country).
    pub value: Option<String>,
    pub visitors: i64,
    pub pageviews: i64,
    pub events: i64,
    /// With `Metrics::WithVisits` only: the visits of `aggregate` filtered on this row's value
    /// (for an event-level dimension, the visits that started in the range and had an event with
    /// that value in it).
    pub visits: Option<VisitSums>,
}
