//! Named periods (today, 7d, …) → local date ranges, and the period before for comparison.

use chrono::{Datelike, Days, Months, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Today,
    Yesterday,
    Last7Days,
    Last30Days,
    ThisMonth,
    LastMonth,
    Last12Months,
    Custom { from: NaiveDate, to: NaiveDate },
}

impl Period {
    /// The names the dashboard URL and the API use; `custom` needs `from` and `to`.
    pub const NAMED: [(&'static str, &'static str); 7] = [
        ("today", "Today"),
        ("yesterday", "Yesterday"),
        ("7d", "Last 7 days"),
        ("30d", "Last 30 days"),
        ("month", "This month"),
        ("last_month", "Last month"),
        ("12mo", "Last 12 months"),
    ];

    pub fn parse(
        name: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Self, String> {
        Ok(match name {
            "today" => Self::Today,
            "yesterday" => Self::Yesterday,
            "7d" => Self::Last7Days,
            "30d" => Self::Last30Days,
            "month" => Self::ThisMonth,
            "last_month" => Self::LastMonth,
            "12mo" => Self::Last12Months,
            "custom" => match (from, to) {
                (Some(from), Some(to)) if from <= to => Self::Custom { from, to },
                (Some(_), Some(_)) => return Err("from must not be after to".into()),
                _ => return Err("period=custom needs from and to (YYYY-MM-DD)".into()),
            },
            other => {
                return Err(format!(
                    "unknown period {other:?}: use today, yesterday, 7d, 30d, month, last_month, 12mo or custom"
                ));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Yesterday => "yesterday",
            Self::Last7Days => "7d",
            Self::Last30Days => "30d",
            Self::ThisMonth => "month",
            Self::LastMonth => "last_month",
            Self::Last12Months => "12mo",
            Self::Custom { .. } => "custom",
        }
    }

    /// The inclusive range of local dates, given the local date today.
    pub fn range(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let back = |days: u64| today.checked_sub_days(Days::new(days)).unwrap_or(today);
        match self {
            Self::Today => (today, today),
            Self::Yesterday => (back(1), back(1)),
            Self::Last7Days => (back(6), today),
            Self::Last30Days => (back(29), today),
            Self::ThisMonth => (today.with_day(1).unwrap_or(today), today),
            Self::LastMonth => {
                let first = today.with_day(1).unwrap_or(today);
                let last = first.pred_opt().unwrap_or(first);
                (last.with_day(1).unwrap_or(last), last)
            }
            Self::Last12Months => (
                today
                    .checked_sub_months(Months::new(12))
                    .and_then(|d| d.succ_opt())
                    .unwrap_or(today),
                today,
            ),
            Self::Custom { from, to } => (from, to),
        }
    }
}

/// The range of the same length just before `from..=to`, for "compared with the previous period".
pub fn previous(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let days = (to - from).num_days().max(0) as u64 + 1;
    let prev_to = from.pred_opt().unwrap_or(from);
    let prev_from = prev_to
        .checked_sub_days(Days::new(days - 1))
        .unwrap_or(prev_to);
    (prev_from, prev_to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn named_periods_map_to_local_date_ranges() {
        let today = d(2026, 3, 15);
        assert_eq!(Period::Today.range(today), (today, today));
        assert_eq!(Period::Last7Days.range(today), (d(2026, 3, 9), today));
        assert_eq!(Period::Last30Days.range(today), (d(2026, 2, 14), today));
        assert_eq!(Period::ThisMonth.range(today), (d(2026, 3, 1), today));
        assert_eq!(
            Period::LastMonth.range(today),
            (d(2026, 2, 1), d(2026, 2, 28))
        );
        assert_eq!(Period::Last12Months.range(today), (d(2025, 3, 16), today));
    }

    #[test]
    fn the_previous_period_has_the_same_length() {
        assert_eq!(
            previous(d(2026, 3, 9), d(2026, 3, 15)),
            (d(2026, 3, 2), d(2026, 3, 8))
        );
        assert_eq!(
            previous(d(2026, 3, 15), d(2026, 3, 15)),
            (d(2026, 3, 14), d(2026, 3, 14))
        );
    }

    #[test]
    fn custom_periods_need_an_ordered_range() {
        assert!(Period::parse("custom", Some(d(2026, 1, 2)), Some(d(2026, 1, 1))).is_err());
        assert!(Period::parse("custom", None, None).is_err());
        assert!(Period::parse("forever", None, None).is_err());
    }
}
