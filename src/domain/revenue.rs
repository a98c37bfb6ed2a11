//! Revenue a custom event carries (`"$": {"amount": 12.5, "currency": "EUR"}`): an exact whole
//! number of millionths of the currency's unit, so that sums in SQL are exact, and an ISO 4217
//! code.

use super::Invalid;

/// A checked amount of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    micros: i64,
    currency: String,
}

const AMOUNT_RULE: &str = "field $.amount must be a finite number ≥ 0 and at most 1000000000000";
const CURRENCY_RULE: &str = "field $.currency must be an ISO 4217 code such as EUR";

impl Revenue {
    /// The largest amount accepted: a trillion of any currency is no shop's single sale, and in
    /// millionths it stays far inside a 64-bit integer (10¹⁸ of 9.2 × 10¹⁸).
    pub const MAX_AMOUNT: f64 = 1e12;
    pub const MICROS_PER_UNIT: i64 = 1_000_000;
    pub const MAX_MICROS: i64 = 1_000_000_000_000 * Self::MICROS_PER_UNIT;

    /// The collection contract's `$` field. Fields other than `amount` and `currency` are
    /// ignored, so the tracker can grow without breaking older servers.
    pub fn parse(value: &serde_json::Value) -> Result<Self, Invalid> {
        let Some(object) = value.as_object() else {
            return Err(Invalid(
                "field $ (revenue) must be an object such as {\"amount\": 12.5, \"currency\": \"EUR\"}"
                    .into(),
            ));
        };
        let amount = object.get("amount").ok_or_else(|| {
            Invalid("field $.amount is missing (revenue needs an amount and a currency)".into())
        })?;
        let currency = object.get("currency").ok_or_else(|| {
            Invalid("field $.currency is missing (revenue needs an amount and a currency)".into())
        })?;
        let micros = amount
            .as_f64()
            .and_then(micros_of)
            .ok_or_else(|| Invalid(AMOUNT_RULE.into()))?;
        let currency = currency
            .as_str()
            .and_then(currency_code)
            .ok_or_else(|| Invalid(CURRENCY_RULE.into()))?;
        Ok(Self { micros, currency })
    }

    /// Revenue as it was stored (a spool line), checked again: the file is outside our control.
    pub fn from_stored(micros: i64, currency: &str) -> Result<Self, Invalid> {
        if !(0..=Self::MAX_MICROS).contains(&micros) {
            return Err(Invalid(AMOUNT_RULE.into()));
        }
        let currency = currency_code(currency).ok_or_else(|| Invalid(CURRENCY_RULE.into()))?;
        Ok(Self { micros, currency })
    }

    /// The amount in millionths of the currency's unit (12.5 EUR is 12 500 000).
    pub fn micros(&self) -> i64 {
        self.micros
    }

    /// Three upper-case ASCII letters.
    pub fn currency(&self) -> &str {
        &self.currency
    }
}

/// Three ASCII letters, upper-cased. Which codes ISO 4217 lists changes over time; the shape is
/// what is checked, so a new currency needs no new footfall.
pub fn currency_code(text: &str) -> Option<String> {
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| text.to_ascii_uppercase())
}

/// `amount` in millionths, rounded half up, or `None` when it is negative, not finite or above
/// `MAX_AMOUNT`.
///
/// Scaled in decimal, not in binary: `amount * 1e6` carries the error of the double into the
/// product (999999999999.99 comes out as 999999999999990016), whereas the shortest decimal
/// that reads back as the same double (what `{}` prints, never in exponent form) is the number
/// the sender wrote whenever it has at most 15 significant digits.
fn micros_of(amount: f64) -> Option<i64> {
    if !amount.is_finite() || !(0.0..=Revenue::MAX_AMOUNT).contains(&amount) {
        return None;
    }
    // `+ 0.0` turns -0 into 0, so the text has no sign.
    let text = (amount + 0.0).to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut micros = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(Revenue::MICROS_PER_UNIT)?;
    let mut digits = fraction.chars().map(|c| c.to_digit(10).map(i64::from));
    let mut place = Revenue::MICROS_PER_UNIT;
    for _ in 0..6 {
        place /= 10;
        micros += digits.next().flatten().unwrap_or(0) * place;
    }
    if digits.next().flatten().is_some_and(|d| d >= 5) {
        micros += 1;
    }
    Some(micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn micros(v: serde_json::Value) -> Result<(i64, String), String> {
        Revenue::parse(&v)
            .map(|r| (r.micros(), r.currency().to_owned()))
            .map_err(|e| e.0)
    }

    #[test]
    fn amounts_are_stored_as_exact_millionths() {
        for (amount, expected) in [
            (json!(0), 0),
            (json!(0.0), 0),
            (json!(-0.0), 0),
            (json!(12.5), 12_500_000),
            (json!(19.99), 19_990_000),
            (json!(0.1), 100_000),
            (json!(0.000001), 1),
            (json!(0.0000005), 1),
            (json!(0.00000049), 0),
            (json!(1.2345675), 1_234_568),
            (json!(999999999.999999), 999_999_999_999_999),
            (json!(999999999999.99), 999_999_999_999_990_000),
            (json!(1e12), 1_000_000_000_000_000_000),
            (json!(42), 42_000_000),
        ] {
            assert_eq!(
                micros(json!({"amount": amount, "currency": "EUR"})),
                Ok((expected, "EUR".to_owned())),
                "{amount}"
            );
        }
    }

    #[test]
    fn the_sum_of_decimal_amounts_is_exact() {
        let sum: i64 = [0.1, 0.2, 19.99, 0.01]
            .iter()
            .filter_map(|a| micros_of(*a))
            .sum();
        assert_eq!(sum, 20_300_000);
    }

    #[test]
    fn bad_amounts_are_refused() {
        for amount in [
            json!(-0.01),
            json!(-1),
            json!(1e300),
            json!(1000000000000.1),
            json!("12.5"),
            json!(null),
            json!(true),
            json!([1]),
            json!({"value": 1}),
        ] {
            assert_eq!(
                micros(json!({"amount": amount, "currency": "EUR"})),
                Err(AMOUNT_RULE.to_owned()),
                "{amount}"
            );
        }
        assert_eq!(micros_of(f64::NAN), None);
        assert_eq!(micros_of(f64::INFINITY), None);
    }

    #[test]
    fn currencies_are_three_letters_upper_cased() {
        assert_eq!(
            micros(json!({"amount": 1, "currency": "usd"})),
            Ok((1_000_000, "USD".to_owned()))
        );
        for currency in [
            json!("EURO"),
            json!("12€"),
            json!("€"),
            json!("EU"),
            json!(" EU"),
            json!("E1R"),
            json!(""),
            json!(978),
            json!(null),
        ] {
            assert_eq!(
                micros(json!({"amount": 1, "currency": currency})),
                Err(CURRENCY_RULE.to_owned()),
                "{currency}"
            );
        }
    }

    #[test]
    fn revenue_must_be_an_object_with_both_fields() {
        for value in [json!(12.5), json!("12.5 EUR"), json!([12.5, "EUR"])] {
            assert!(micros(value).is_err_and(|e| e.starts_with("field $ (revenue)")));
        }
        assert!(micros(json!({"currency": "EUR"})).is_err_and(|e| e.starts_with("field $.amount")));
        assert!(micros(json!({"amount": 1})).is_err_and(|e| e.starts_with("field $.currency")));
        assert_eq!(
            micros(json!({"amount": 1, "currency": "EUR", "note": "ignored"})),
            Ok((1_000_000, "EUR".to_owned()))
        );
    }

    #[test]
    fn stored_revenue_is_checked_again() {
        assert_eq!(
            Revenue::from_stored(12_500_000, "eur").map(|r| r.currency().to_owned()),
            Ok("EUR".to_owned())
        );
        assert!(Revenue::from_stored(-1, "EUR").is_err());
        assert!(Revenue::from_stored(i64::MAX, "EUR").is_err());
        assert!(Revenue::from_stored(1, "EURO").is_err());
    }

    #[test]
    fn every_cent_amount_round_trips() {
        // Every amount with two decimals up to 3 000.00, and some near the limit.
        let cents = (0..300_000_i64).chain((0..=1000).map(|i| 99_999_999_999_000 + i));
        for cent in cents {
            let amount: f64 = format!("{}.{:02}", cent / 100, cent % 100)
                .parse()
                .unwrap_or(f64::NAN);
            assert_eq!(micros_of(amount), Some(cent * 10_000), "{amount}");
        }
    }
}
