//! What the stats API offers: its four endpoints with the parameters each accepts, and the
//! metrics. The OpenAPI test compares the document with these lists.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Aggregate,
    Timeseries,
    Breakdown,
    Funnel,
}

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [
        Self::Aggregate,
        Self::Timeseries,
        Self::Breakdown,
        Self::Funnel,
    ];

    /// The URL path's last segment.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aggregate => "aggregate",
            Self::Timeseries => "timeseries",
            Self::Breakdown => "breakdown",
            Self::Funnel => "funnel",
        }
    }

    /// Every query parameter the endpoint accepts (the OpenAPI test checks they are documented).
    pub fn parameters(self) -> &'static [&'static str] {
        match self {
            Self::Aggregate => &[
                "site", "period", "from", "to", "metrics", "filters", "segment",
            ],
            Self::Timeseries => &[
                "site", "period", "from", "to", "metrics", "filters", "segment", "interval",
            ],
            Self::Breakdown => &[
                "site", "period", "from", "to", "metrics", "filters", "segment", "property",
                "limit", "page",
            ],
            Self::Funnel => &[
                "site", "period", "from", "to", "filters", "segment", "steps",
            ],
        }
    }

    /// The metrics the query layer answers for this endpoint: all of them, on every endpoint
    /// but the funnel's, whose figures are its steps' visitors.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Self::Funnel => &[],
            _ => &Metric::ALL,
        }
    }

    /// The parameters that may be given more than once (each value adds one).
    pub fn repeatable(name: &str) -> bool {
        matches!(name, "filters" | "steps")
    }

    /// The metrics answered when `metrics` is not given. Series and breakdowns default to the
    /// counts, which the dashboard's queries already compute: the visit metrics of a page or
    /// event breakdown cost a scan of the range's events, so they are asked for by name.
    pub fn default_metrics(self) -> &'static [Metric] {
        match self {
            Self::Aggregate => &Metric::ALL,
            Self::Timeseries => &[Metric::Visitors, Metric::Pageviews],
            Self::Breakdown => &[Metric::Visitors, Metric::Pageviews, Metric::Events],
            Self::Funnel => &[],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
    ViewsPerVisit,
    BounceRate,
    VisitDuration,
    Events,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Self::Visitors,
        Self::Visits,
        Self::Pageviews,
        Self::ViewsPerVisit,
        Self::BounceRate,
        Self::VisitDuration,
        Self::Events,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Visitors => "visitors",
            Self::Visits => "visits",
            Self::Pageviews => "pageviews",
            Self::ViewsPerVisit => "views_per_visit",
            Self::BounceRate => "bounce_rate",
            Self::VisitDuration => "visit_duration",
            Self::Events => "events",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// True for the metrics computed from visits (`stats::VisitSums`), which series and
    /// breakdowns compute only when asked (`stats::Metrics::WithVisits`).
    pub fn is_about_visits(self) -> bool {
        matches!(
            self,
            Self::Visits | Self::ViewsPerVisit | Self::BounceRate | Self::VisitDuration
        )
    }
}
