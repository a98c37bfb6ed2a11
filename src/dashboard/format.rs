//! Number and label formatting shared by the dashboard templates.

/// 1234 → "1.2k", 1234567 → "1.2M".
pub fn compact(n: i64) -> String {
    let a = n.abs() as f64;
    if a < 1_000.0 {
        n.to_string()
    } else if a < 1_000_000.0 {
        trim(format!("{:.1}", n as f64 / 1e3)) + "k"
    } else {
        trim(format!("{:.1}", n as f64 / 1e6)) + "M"
    }
}

/// An amount of money with two decimals and thousands separated: 1234.5 → "1,234.50".
pub fn money(amount: f64) -> String {
    let text = format!("{:.2}", amount.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0.0 { "-" } else { "" };
    format!("{sign}{grouped}.{cents}")
}

fn trim(s: String) -> String {
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// Seconds → "2m 05s" / "45s" / "1h 02m".
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// Relative change from `previous` to `current` in percent; `None` when there is no base.
pub fn change(current: f64, previous: f64) -> Option<f64> {
    (previous > 0.0).then(|| (current - previous) / previous * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compacted() {
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1000), "1k");
        assert_eq!(compact(1260), "1.3k");
        assert_eq!(compact(2_500_000), "2.5M");
    }

    #[test]
    fn money_has_two_decimals_and_thousands() {
        assert_eq!(money(0.0), "0.00");
        assert_eq!(money(12.5), "12.50");
        assert_eq!(money(999.999), "1000.00".replace("1000", "1,000"));
        assert_eq!(money(1_234_567.891), "1,234,567.89");
        assert_eq!(money(-1234.5), "-1,234.50");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(125.0), "2m 05s");
        assert_eq!(duration(3720.0), "1h 02m");
    }

    #[test]
    fn change_needs_a_base() {
        assert_eq!(change(150.0, 100.0), Some(50.0));
        assert_eq!(change(5.0, 0.0), None);
    }
}
