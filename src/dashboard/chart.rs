//! The time-series chart, drawn on the server as SVG: pageviews as bars, visitors as a line,
//! a `<title>` per bucket for hover. Coordinates are computed here; the template only places them.
//! Buckets are hours, days, weeks or months (`Interval::for_days`), so a bar is never too thin to
//! see.

use crate::stats::{Interval, Point};

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub title: String,
}

pub struct Tick {
    pub pos: String,
    pub label: String,
}

pub struct Dot {
    pub cx: String,
    pub cy: String,
}

pub struct Chart {
    pub view_box: String,
    pub bars: Vec<Bar>,
    pub line: String,
    pub dots: Vec<Dot>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub axis_y: String,
    pub left: String,
    pub right: String,
    pub summary: String,
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// A round number ≥ `max` for the top of the axis (1, 2, 5 × 10ⁿ).
fn nice_ceiling(max: i64) -> i64 {
    let max = max.max(1);
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10;
    }
}

pub fn build(points: &[Point], interval: Interval) -> Chart {
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let n = points.len().max(1) as f64;
    let slot = plot_w / n;
    let top = nice_ceiling(
        points
            .iter()
            .map(|p| p.pageviews.max(p.visitors))
            .max()
            .unwrap_or(0),
    );
    let y = |v: i64| TOP + plot_h - (v as f64 / top as f64) * plot_h;
    // Axis labels; a bar's title says more.
    let label = |p: &Point| match interval {
        Interval::Hour => p.start.format("%H:%M").to_string(),
        Interval::Day => p.start.format("%a %-d %b").to_string(),
        Interval::Week => p.start.format("%-d %b %Y").to_string(),
        Interval::Month => p.start.format("%b %Y").to_string(),
    };
    let title = |p: &Point| match interval {
        Interval::Hour | Interval::Day => label(p),
        Interval::Week => format!("Week of {}", p.start.format("%a %-d %b %Y")),
        Interval::Month => p.start.format("%B %Y").to_string(),
    };
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = LEFT + i as f64 * slot + slot * 0.15;
            let top_y = y(p.pageviews);
            Bar {
                x: px(x),
                y: px(top_y),
                width: px(slot * 0.7),
                height: px(TOP + plot_h - top_y),
                title: format!(
                    "{}: {} pageviews, {} visitors",
                    title(p),
                    p.pageviews,
                    p.visitors
                ),
            }
        })
        .collect();
    let centre = |i: usize| LEFT + i as f64 * slot + slot / 2.0;
    let line = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", centre(i), y(p.visitors)))
        .collect::<Vec<_>>()
        .join(" ");
    let dots = points
        .iter()
        .enumerate()
        .map(|(i, p)| Dot {
            cx: px(centre(i)),
            cy: px(y(p.visitors)),
        })
        .collect();
    // Evenly spaced whole-number ticks: 4 or 5 intervals, whichever divides the top.
    let intervals = if top % 4 == 0 {
        4
    } else if top % 5 == 0 {
        5
    } else {
        top.min(4)
    };
    let y_ticks = (0..=intervals)
        .map(|k| {
            let value = top * k / intervals;
            Tick {
                pos: px(y(value)),
                label: value.to_string(),
            }
        })
        .collect();
    // About six labels along the bottom, whatever the number of buckets.
    let every = (points.len() / 6).max(1);
    let x_ticks = points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, p)| Tick {
            pos: px(centre(i)),
            label: label(p),
        })
        .collect();
    let total_views: i64 = points.iter().map(|p| p.pageviews).sum();
    Chart {
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        bars,
        line,
        dots,
        y_ticks,
        x_ticks,
        axis_y: px(TOP + plot_h),
        left: px(LEFT),
        right: px(WIDTH),
        summary: format!(
            "{total_views} pageviews over {} {}",
            points.len(),
            match interval {
                Interval::Hour => "hours",
                Interval::Day => "days",
                Interval::Week => "weeks",
                Interval::Month => "months",
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn axis_tops_are_round_numbers() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(120), 200);
        assert_eq!(nice_ceiling(5000), 5000);
    }

    #[test]
    fn every_bucket_gets_a_bar_with_a_hover_title() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let points: Vec<Point> = (0..3)
            .map(|i| Point {
                start: (day + chrono::Days::new(i))
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default(),
                visitors: i as i64,
                pageviews: 2 * i as i64,
                events: 2 * i as i64,
                visits: None,
            })
            .collect();
        let chart = build(&points, Interval::Day);
        assert_eq!(chart.bars.len(), 3);
        assert_eq!(chart.bars[2].title, "Wed 4 Mar: 4 pageviews, 2 visitors");
        let labels: Vec<&str> = chart.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5"]);
    }

    #[test]
    fn weekly_and_monthly_bars_say_which_week_or_month() {
        let point = |y, m, d| Point {
            start: NaiveDate::from_ymd_opt(y, m, d)
                .unwrap_or_default()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
            visitors: 1,
            pageviews: 2,
            events: 2,
            visits: None,
        };
        let weeks = build(&[point(2026, 3, 2), point(2026, 3, 9)], Interval::Week);
        assert_eq!(
            weeks.bars[1].title,
            "Week of Mon 9 Mar 2026: 2 pageviews, 1 visitors"
        );
        assert_eq!(weeks.x_ticks[0].label, "2 Mar 2026");
        assert_eq!(weeks.summary, "4 pageviews over 2 weeks");
        let months = build(&[point(2025, 12, 1), point(2026, 1, 1)], Interval::Month);
        assert_eq!(
            months.bars[0].title,
            "December 2025: 2 pageviews, 1 visitors"
        );
        assert_eq!(months.x_ticks[1].label, "Jan 2026");
    }
}
