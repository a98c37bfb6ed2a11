//! Local days and hours of a site's time zone as UTC instants, so SQL on either backend can bucket
//! raw timestamps without knowing about time zones: Rust works out the offsets (chrono-tz) and
//! binds them.
//!
//! Days are numbered like `DATE - 1970-01-01` (local calendar days), instants are unix seconds.

use chrono::{Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;

const DAY: i64 = 86_400;

/// Local date → day number.
pub fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.to_epoch_days())
}

/// Day number → local date (clamped to chrono's range, which day numbers from stored data never
/// leave).
pub fn date_of(day: i64) -> NaiveDate {
    let clamped = day.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    NaiveDate::from_epoch_days(clamped).unwrap_or(if day < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// UTC offset of `tz` at instant `secs`, in seconds east of UTC.
pub fn offset_at(tz: Tz, secs: i64) -> i64 {
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ),
        None => 0,
    }
}

/// The local day an instant falls on.
pub fn local_day(tz: Tz, secs: i64) -> i64 {
    (secs + offset_at(tz, secs)).div_euclid(DAY)
}

/// The first instant of local day `day`. Where midnight does not exist (a DST change at
/// midnight), the day starts at the first local time that does.
pub fn day_start(tz: Tz, day: i64) -> i64 {
    let midnight = date_of(day).and_time(NaiveTime::MIN);
    // Gaps are at most a few hours; step in quarter hours, the finest real offset granularity.
    for quarter in 0..(4 * 24) {
        let local = midnight + Duration::minutes(15 * quarter);
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.timestamp(),
            LocalResult::Ambiguous(first, _) => return first.timestamp(),
            LocalResult::None => {}
        }
    }
    midnight.and_utc().timestamp()
}

/// Local wall-clock time of an instant (for labelling buckets).
pub fn local_time(tz: Tz, secs: i64) -> NaiveDateTime {
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => t.with_timezone(&tz).naive_local(),
        None => NaiveDateTime::MIN,
    }
}

/// The buckets of a series over local days `from..=to`: `(bucket, local start)`, where a bucket is
/// the day number for daily series, and for hourly ones the hour of elapsed time since the first
/// day's first instant (so a DST day has 23 or 25, the repeated hour with the same label).
pub fn buckets(tz: Tz, from: i64, to: i64, hourly: bool) -> Vec<(i64, NaiveDateTime)> {
    if !hourly {
        return (from..=to)
            .map(|day| (day, date_of(day).and_time(NaiveTime::MIN)))
            .collect();
    }
    let start = day_start(tz, from);
    let end = day_start(tz, to + 1);
    let hours = (end - start + 3599) / 3600;
    (0..hours)
        .map(|hour| (hour, local_time(tz, start + hour * 3600)))
        .collect()
}

/// A span of constant UTC offset: from `from` (unix seconds) until the next segment's `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub from: i64,
    pub offset: i64,
}

/// The offsets in force over `[start, end)`, in time order; the first segment starts at `start`.
/// SQL turns an instant into its local day as `(t + offset(t)) / 86400`, with `offset(t)` a CASE
/// over these segments: usually one or two for a month, three for a year.
pub fn offsets(tz: Tz, start: i64, end: i64) -> Vec<Segment> {
    // Offsets change at most a few times a year and never twice in six hours: sample every six
    // hours and bisect each change down to the second.
    const STEP: i64 = 6 * 3600;
    let mut segments = vec![Segment {
        from: start,
        offset: offset_at(tz, start),
    }];
    let mut at = start;
    while at < end {
        let next = (at + STEP).min(end);
        let current = segments.last().map_or(0, |s| s.offset);
        let later = offset_at(tz, next);
        if later != current {
            // Invariant: offset(lo) == current, offset(hi) != current.
            let (mut lo, mut hi) = (at, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            if hi < end {
                segments.push(Segment {
                    from: hi,
                    offset: offset_at(tz, hi),
                });
            }
        }
        at = next;
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> i64 {
        day_number(NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default())
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn a_late_evening_in_utc_is_the_next_day_in_berlin() {
        // 2026-06-30 23:30 UTC is 2026-07-01 01:30 CEST.
        let t = 1_782_862_200;
        assert_eq!(
            local_time(chrono_tz::UTC, t).to_string(),
            "2026-06-30 23:30:00"
        );
        assert_eq!(local_day(BERLIN, t), d(2026, 7, 1));
        assert_eq!(local_day(chrono_tz::UTC, t), d(2026, 6, 30));
    }

    #[test]
    fn dst_days_are_23_and_25_hours_long_in_berlin() {
        let len = |day| day_start(BERLIN, day + 1) - day_start(BERLIN, day);
        assert_eq!(len(d(2026, 3, 29)), 23 * 3600);
        assert_eq!(len(d(2026, 10, 25)), 25 * 3600);
        assert_eq!(len(d(2026, 6, 1)), 24 * 3600);
    }

    #[test]
    fn a_day_without_midnight_starts_at_its_first_existing_minute() {
        // Santiago springs forward at 24:00 → 01:00 (2026-09-06).
        let tz = chrono_tz::America::Santiago;
        let start = day_start(tz, d(2026, 9, 6));
        assert_eq!(local_time(tz, start).to_string(), "2026-09-06 01:00:00");
        assert_eq!(local_day(tz, start), d(2026, 9, 6));
        assert_eq!(local_day(tz, start - 1), d(2026, 9, 5));
    }

    #[test]
    fn offset_segments_follow_the_dst_transitions() {
        let start = day_start(BERLIN, d(2026, 1, 1));
        let end = day_start(BERLIN, d(2027, 1, 1));
        let segments = offsets(BERLIN, start, end);
        assert_eq!(segments.len(), 3, "{segments:?}");
        assert_eq!(segments[0].offset, 3600);
        assert_eq!(segments[1].offset, 7200);
        assert_eq!(segments[2].offset, 3600);
        // 2026-03-29 01:00 UTC and 2026-10-25 01:00 UTC.
        assert_eq!(segments[1].from, 1_774_746_000);
        assert_eq!(segments[2].from, 1_792_890_000);
        for day in d(2026, 1, 1)..d(2027, 1, 1) {
            let t = day_start(BERLIN, day);
            let offset = segments
                .iter()
                .rev()
                .find(|s| s.from <= t)
                .map_or(0, |s| s.offset);
            assert_eq!((t + offset).div_euclid(DAY), day);
        }
    }
}
