//! Plausible's time periods → local date ranges. Facts from Plausible's query builders: v1's
//! `period` counts back from `date` (default: the site's today) and includes it (`7d` is the
//! date and the 6 days before, `30d` the date and the 30 before, `6mo`/`12mo` whole calendar
//! months up to the end of the date's); v2's `date_range` shorthands end the day (`Nd`) or the
//! month (`Nmo`) before. `month` and `year` are the whole calendar month or year of the date.

use crate::stats::params::{MAX_RANGE_DAYS, YEARS, check_range};
use chrono::{Datelike, Days, Months, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Day,
    /// `date - back_first ..= date - back_last`.
    Days {
        back_first: u64,
        back_last: u64,
    },
    Month,
    /// From the first of the month `first` months before the date's to the end of the month
    /// `last` months before it.
    Months {
        first: u32,
        last: u32,
    },
    Year,
    /// footfall's longest range, ending on the date (footfall keeps no "stats start" date).
    All,
    Custom(NaiveDate, NaiveDate),
}

/// A period and the date it is relative to (`None`: the site's today).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    pub span: Span,
    pub date: Option<NaiveDate>,
}

impl When {
    /// The local range; `Err` says what is out of bounds.
    pub fn range(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), String> {
        let date = self.date.unwrap_or(today);
        let month_start = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let month_end = |d: NaiveDate| {
            month_start(d)
                .checked_add_months(Months::new(1))
                .and_then(|n| n.pred_opt())
                .unwrap_or(d)
        };
        let back = |n: u64| date.checked_sub_days(Days::new(n));
        let months_back = |n: u32| month_start(date).checked_sub_months(Months::new(n));
        let range =
            match self.span {
                Span::Day => Some((date, date)),
                Span::Days {
                    back_first,
                    back_last,
                } => back(back_first).zip(back(back_last)),
                Span::Month => Some((month_start(date), month_end(date))),
                Span::Months { first, last } => {
                    months_back(first).zip(months_back(last).map(month_end))
                }
                Span::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1)
                    .zip(NaiveDate::from_ymd_opt(date.year(), 12, 31)),
                Span::All => back(MAX_RANGE_DAYS as u64 - 1).map(|from| (from, date)),
                Span::Custom(from, to) => Some((from, to)),
            };
        let (from, to) = range.ok_or("the period reaches outside the calendar")?;
        for d in [from, to] {
            if !YEARS.contains(&d.year()) {
                return Err(format!(
                    "the period reaches {d}: dates must be between {}-01-01 and {}-12-31",
                    YEARS.start(),
                    YEARS.end()
                ));
            }
        }
        check_range(from, to)?;
        Ok((from, to))
    }
}

/// v1's periods (the OpenAPI test checks the document lists them).
pub const V1_PERIODS: [&str; 8] = ["day", "7d", "30d", "month", "6mo", "12mo", "year", "custom"];

fn date(value: &str) -> Result<NaiveDate, String> {
    crate::stats::params::parse_date("date", value.trim())
}

/// v1: `period` (default `30d`) and `date` (one date, or `FROM,TO` for `custom`).
pub fn v1(period: Option<&str>, date_param: Option<&str>) -> Result<When, (&'static str, String)> {
    let period = period.unwrap_or("30d");
    if period == "custom" {
        let (from, to) = date_param.and_then(|d| d.split_once(',')).ok_or((
            "date",
            "period=custom needs date=FROM,TO, as date=2024-01-01,2024-01-31".to_owned(),
        ))?;
        let (from, to) = (
            date(from).map_err(|e| ("date", e))?,
            date(to).map_err(|e| ("date", e))?,
        );
        return Ok(When {
            span: Span::Custom(from, to),
            date: None,
        });
    }
    let span = match period {
        "day" => Span::Day,
        "7d" => Span::Days {
            back_first: 6,
            back_last: 0,
        },
        "30d" => Span::Days {
            back_first: 30,
            back_last: 0,
        },
        "month" => Span::Month,
        "6mo" => Span::Months { first: 5, last: 0 },
        "12mo" => Span::Months { first: 11, last: 0 },
        "year" => Span::Year,
        other => {
            return Err((
                "period",
                format!(
                    "invalid period {other:?}: use day, 7d, 30d, month, 6mo, 12mo, year or custom"
                ),
            ));
        }
    };
    let date = match date_param {
        None | Some("today") => None,
        Some(d) => Some(date(d).map_err(|e| ("date", e))?),
    };
    Ok(When { span, date })
}

/// v2: a `date_range` shorthand (`day`, `Nd`, `month`, `Nmo`, `year`, `all`) or a pair of dates,
/// relative to `date` when given.
pub fn v2(range: &serde_json::Value, date_param: Option<NaiveDate>) -> Result<When, String> {
    use serde_json::Value;
    let span = match range {
        Value::String(s) => match s.as_str() {
            "day" => Span::Day,
            "month" => Span::Month,
            "year" => Span::Year,
            "all" => Span::All,
            other => {
                let number = |suffix: &str| {
                    other
                        .strip_suffix(suffix)
                        .and_then(|n| n.parse::<u32>().ok())
                        .filter(|n| *n > 0)
                };
                if let Some(n) = number("mo") {
                    Span::Months { first: n, last: 1 }
                } else if let Some(n) = number("d") {
                    Span::Days {
                        back_first: u64::from(n),
                        back_last: 1,
                    }
                } else {
                    return Err(format!(
                        "date_range {other:?}: use day, 7d, 28d, 30d, 91d, month, 6mo, 12mo, year, all or [\"2024-01-01\", \"2024-01-31\"]"
                    ));
                }
            }
        },
        Value::Array(pair) => match pair.as_slice() {
            [Value::String(from), Value::String(to)] => {
                let parse = |s: &str| {
                    date(s).map_err(|_| {
                        format!("date_range: {s:?} is not a date (YYYY-MM-DD); footfall answers whole local days, not times")
                    })
                };
                Span::Custom(parse(from)?, parse(to)?)
            }
            _ => return Err("date_range must be a shorthand or two dates".into()),
        },
        _ => return Err("date_range must be a shorthand or two dates".into()),
    };
    Ok(When {
        span,
        date: date_param,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn periods_are_plausibles() {
        let today = d("2026-06-15");
        let v1 = |p: &str, date: Option<&str>| {
            v1(Some(p), date)
                .map_err(|e| e.1)
                .and_then(|w| w.range(today))
                .map(|(a, b)| (a.to_string(), b.to_string()))
        };
        let r = |a: &str, b: &str| Ok((a.to_owned(), b.to_owned()));
        assert_eq!(v1("day", None), r("2026-06-15", "2026-06-15"));
        assert_eq!(v1("7d", None), r("2026-06-09", "2026-06-15"));
        assert_eq!(v1("30d", None), r("2026-05-16", "2026-06-15"));
        assert_eq!(
            v1("month", Some("2026-02-10")),
            r("2026-02-01", "2026-02-28")
        );
        assert_eq!(v1("6mo", None), r("2026-01-01", "2026-06-30"));
        assert_eq!(v1("12mo", None), r("2025-07-01", "2026-06-30"));
        assert_eq!(v1("year", None), r("2026-01-01", "2026-12-31"));
        assert_eq!(
            v1("custom", Some("2026-01-01,2026-01-31")),
            r("2026-01-01", "2026-01-31")
        );
        assert!(v1("custom", Some("2026-01-31,2026-01-01")).is_err());
        assert!(v1("custom", None).is_err());
        assert!(v1("forever", None).is_err());
        for p in V1_PERIODS {
            let date = (p == "custom").then_some("2026-01-01,2026-01-02");
            assert!(v1(p, date).is_ok(), "{p}");
        }
        let v2 = |range: serde_json::Value| {
            v2(&range, None)
                .and_then(|w| w.range(today))
                .map(|(a, b)| (a.to_string(), b.to_string()))
        };
        assert_eq!(v2(json!("7d")), r("2026-06-08", "2026-06-14"));
        assert_eq!(v2(json!("28d")), r("2026-05-18", "2026-06-14"));
        assert_eq!(v2(json!("6mo")), r("2025-12-01", "2026-05-31"));
        assert_eq!(v2(json!("month")), r("2026-06-01", "2026-06-30"));
        assert_eq!(
            v2(json!(["2026-01-01", "2026-01-02"])),
            r("2026-01-01", "2026-01-02")
        );
        assert!(v2(json!(["2026-01-01T00:00:00Z", "2026-01-02"])).is_err());
        assert!(v2(json!("0d")).is_err());
    }
}
