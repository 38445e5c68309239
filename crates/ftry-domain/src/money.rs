//! Money: amounts in paise (₹1 = 100 paise), never floating point.
//!
//! # Rules
//!
//! **Arithmetic** is checked: an operation that would leave `i64` returns
//! [`Overflow`] instead of wrapping or panicking. Products and quotients
//! (rates, discounts, back-computing a price) go through `i128` and come back
//! checked.
//!
//! **Rounding** is explicit and always half up, meaning half away from zero:
//! 2.5 paise becomes 3, −2.5 becomes −3. Money in ftry is rounded only where
//! a rule says so (tax per line, a percentage discount, the optional invoice
//! round-off to the rupee).
//!
//! **Display** uses Indian digit grouping: the last three digits, then groups
//! of two (`₹1,05,000.00`, `₹99,99,99,999.99`); a negative amount puts the
//! sign before the symbol (`-₹12.50`).
//!
//! **Amount in words** follows the Indian English printed on tax invoices:
//! `Rupees One Lakh Five Thousand and Fifty Paise Only`. Rupees are named in
//! crore, lakh, thousand and hundred (no "and" inside the rupees: `One
//! Thousand Fifty`); more than 99 crore is counted in crore (`One Thousand
//! Crore`). The paise follow after "and", singular for one (`One Paisa`). A
//! zero rupee part is still named (`Rupees Zero and Fifty Paise Only`) so
//! every amount reads with the same template; a negative amount starts with
//! `Minus`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The arithmetic left the range of an `i64` number of paise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the amount is too large")]
pub struct Overflow;

/// An amount of Indian rupees, in paise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Paise(pub i64);

const PAISE_PER_RUPEE: i64 = 100;

impl Paise {
    pub const ZERO: Paise = Paise(0);

    pub fn from_rupees(rupees: i64) -> Result<Self, Overflow> {
        rupees.checked_mul(PAISE_PER_RUPEE).map(Paise).ok_or(Overflow)
    }

    pub fn checked_add(self, other: Paise) -> Result<Self, Overflow> {
        self.0.checked_add(other.0).map(Paise).ok_or(Overflow)
    }

    pub fn checked_sub(self, other: Paise) -> Result<Self, Overflow> {
        self.0.checked_sub(other.0).map(Paise).ok_or(Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Self, Overflow> {
        self.0.checked_mul(factor).map(Paise).ok_or(Overflow)
    }

    /// The sum of the amounts, or [`Overflow`] if any partial sum overflows.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Paise>) -> Result<Self, Overflow> {
        amounts.into_iter().try_fold(Paise::ZERO, Paise::checked_add)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self × numerator / denominator`, rounded half up (away from zero).
    /// A zero denominator is reported as [`Overflow`].
    pub fn mul_div_half_up(self, numerator: i64, denominator: i64) -> Result<Self, Overflow> {
        let product = i128::from(self.0) * i128::from(numerator);
        let quotient = div_half_up(product, i128::from(denominator)).ok_or(Overflow)?;
        i64::try_from(quotient).map(Paise).map_err(|_| Overflow)
    }

    /// The amount rounded half up (away from zero) to whole rupees. Never out
    /// of range: `i64::MAX` ends in …07 paise and `i64::MIN` in …08.
    pub fn round_to_rupee(self) -> Self {
        let paise = self.0 % PAISE_PER_RUPEE;
        let whole = self.0 - paise;
        Paise(match paise {
            50.. => whole + PAISE_PER_RUPEE,
            ..=-50 => whole - PAISE_PER_RUPEE,
            _ => whole,
        })
    }

    /// The amount in words, as printed on an Indian tax invoice.
    pub fn in_words(self) -> String {
        let magnitude = self.0.unsigned_abs();
        let rupees = magnitude / PAISE_PER_RUPEE as u64;
        let paise = magnitude % PAISE_PER_RUPEE as u64;
        let sign = if self.0 < 0 { "Minus " } else { "" };
        let rupees = number_in_words(rupees);
        match paise {
            0 => format!("{sign}Rupees {rupees} Only"),
            1 => format!("{sign}Rupees {rupees} and One Paisa Only"),
            _ => format!("{sign}Rupees {rupees} and {} Paise Only", number_in_words(paise)),
        }
    }
}

impl fmt::Display for Paise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.unsigned_abs();
        let rupees = magnitude / PAISE_PER_RUPEE as u64;
        let paise = magnitude % PAISE_PER_RUPEE as u64;
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}₹{}.{paise:02}", indian_grouping(rupees))
    }
}

/// `numerator / denominator` rounded half away from zero; `None` for a zero
/// denominator.
fn div_half_up(numerator: i128, denominator: i128) -> Option<i128> {
    if denominator == 0 {
        return None;
    }
    let negative = (numerator < 0) != (denominator < 0);
    let (n, d) = (numerator.unsigned_abs(), denominator.unsigned_abs());
    // n / d + (remainder ≥ d / 2), without forming n + d / 2 (which could overflow).
    let rounded = n / d + u128::from(n % d >= d - n % d);
    let rounded = i128::try_from(rounded).ok()?;
    Some(if negative { -rounded } else { rounded })
}

/// `1,05,000`: the last three digits, then groups of two.
fn indian_grouping(number: u64) -> String {
    let digits = number.to_string();
    let (head, last_three) = digits.split_at(digits.len().saturating_sub(3));
    let mut grouped = String::new();
    for (i, digit) in head.chars().enumerate() {
        if i > 0 && (head.len() - i) % 2 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if !head.is_empty() {
        grouped.push(',');
    }
    grouped.push_str(last_three);
    grouped
}

const ONES: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const TENS: [&str; 10] = [
    "", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety",
];
/// 1,00,00,000.
const CRORE: u64 = 10_000_000;

/// `105000` → `One Lakh Five Thousand`.
fn number_in_words(number: u64) -> String {
    if number == 0 {
        return ONES[0].to_owned();
    }
    let mut words = Vec::new();
    if number >= CRORE {
        words.push(number_in_words(number / CRORE));
        words.push("Crore".to_owned());
    }
    let below_crore = number % CRORE;
    for (unit, limit, name) in [
        (100_000, 100, "Lakh"),
        (1_000, 100, "Thousand"),
        (100, 10, "Hundred"),
    ] {
        let count = below_crore / unit % limit;
        if count > 0 {
            words.push(below_hundred(count));
            words.push(name.to_owned());
        }
    }
    if !below_crore.is_multiple_of(100) {
        words.push(below_hundred(below_crore % 100));
    }
    words.join(" ")
}

fn below_hundred(number: u64) -> String {
    let n = number as usize;
    match n {
        0..=19 => ONES[n].to_owned(),
        _ if n.is_multiple_of(10) => TENS[n / 10].to_owned(),
        _ => format!("{} {}", TENS[n / 10], ONES[n % 10]),
    }
}

#[cfg(test)]
#[allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts read as on paper: 1_05_000_50 is ₹1,05,000.50"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_display_with_indian_digit_grouping() {
        for (paise, shown) in [
            (0, "₹0.00"),
            (1, "₹0.01"),
            (50, "₹0.50"),
            (100, "₹1.00"),
            (99_999, "₹999.99"),
            (1_00_000, "₹1,000.00"),
            (10_00_000, "₹10,000.00"),
            (1_05_00_000, "₹1,05,000.00"),
            (12_34_567_89, "₹12,34,567.89"),
            (1_00_00_000_00, "₹1,00,00,000.00"),
            (99_99_99_999_99, "₹99,99,99,999.99"),
            (1_23_45_67_890_00, "₹1,23,45,67,890.00"),
            (-1_250, "-₹12.50"),
            (-1, "-₹0.01"),
            (i64::MAX, "₹92,23,37,20,36,85,47,758.07"),
            (i64::MIN, "-₹92,23,37,20,36,85,47,758.08"),
        ] {
            assert_eq!(Paise(paise).to_string(), shown, "{paise}");
        }
    }

    #[test]
    fn amounts_in_words_read_as_on_an_indian_tax_invoice() {
        for (paise, words) in [
            (0, "Rupees Zero Only"),
            (1, "Rupees Zero and One Paisa Only"),
            (2, "Rupees Zero and Two Paise Only"),
            (99, "Rupees Zero and Ninety Nine Paise Only"),
            (100, "Rupees One Only"),
            (1_101, "Rupees Eleven and One Paisa Only"),
            (2_000, "Rupees Twenty Only"),
            (10_000, "Rupees One Hundred Only"),
            (11_900, "Rupees One Hundred Nineteen Only"),
            (1_05_000, "Rupees One Thousand Fifty Only"),
            (1_18_000, "Rupees One Thousand One Hundred Eighty Only"),
            (
                33_333,
                "Rupees Three Hundred Thirty Three and Thirty Three Paise Only",
            ),
            (1_05_000_50, "Rupees One Lakh Five Thousand and Fifty Paise Only"),
            (10_00_000_00, "Rupees Ten Lakh Only"),
            (1_00_00_000_00, "Rupees One Crore Only"),
            (
                12_34_56_789_10,
                "Rupees Twelve Crore Thirty Four Lakh Fifty Six Thousand Seven Hundred Eighty Nine \
                 and Ten Paise Only",
            ),
            (
                99_99_99_999_99,
                "Rupees Ninety Nine Crore Ninety Nine Lakh Ninety Nine Thousand Nine Hundred Ninety Nine \
                 and Ninety Nine Paise Only",
            ),
            (1_000_00_00_000_00, "Rupees One Thousand Crore Only"),
            (1_01_00_00_001_00, "Rupees One Hundred One Crore One Only"),
            (-1_250, "Minus Rupees Twelve and Fifty Paise Only"),
        ] {
            assert_eq!(Paise(paise).in_words(), words, "{paise}");
        }
    }

    #[test]
    fn the_largest_amounts_are_counted_in_crore() {
        assert_eq!(
            Paise(i64::MAX).in_words(),
            "Rupees Nine Hundred Twenty Two Crore Thirty Three Lakh Seventy Two Thousand Thirty Six Crore \
             Eighty Five Lakh Forty Seven Thousand Seven Hundred Fifty Eight and Seven Paise Only"
        );
        assert_eq!(
            Paise(i64::MIN).in_words(),
            "Minus Rupees Nine Hundred Twenty Two Crore Thirty Three Lakh Seventy Two Thousand Thirty Six \
             Crore Eighty Five Lakh Forty Seven Thousand Seven Hundred Fifty Eight and Eight Paise Only"
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let half = |paise: i64| Paise(paise).mul_div_half_up(1, 2);
        assert_eq!(half(5), Ok(Paise(3)));
        assert_eq!(half(4), Ok(Paise(2)));
        assert_eq!(half(-5), Ok(Paise(-3)));
        assert_eq!(Paise(100).mul_div_half_up(1, 3), Ok(Paise(33)));
        assert_eq!(Paise(200).mul_div_half_up(1, 3), Ok(Paise(67)));
        assert_eq!(Paise(1).mul_div_half_up(1, 0), Err(Overflow));
        assert_eq!(Paise(i64::MAX).mul_div_half_up(2, 1), Err(Overflow));
        assert_eq!(
            Paise(i64::MAX).mul_div_half_up(i64::MAX, i64::MAX),
            Ok(Paise(i64::MAX))
        );
    }

    #[test]
    fn rounding_to_the_rupee_is_half_up() {
        for (paise, rounded) in [
            (0, 0),
            (49, 0),
            (50, 100),
            (105_049, 105_000),
            (105_050, 105_100),
            (-50, -100),
        ] {
            assert_eq!(Paise(paise).round_to_rupee(), Paise(rounded), "{paise}");
        }
        assert_eq!(Paise(i64::MAX).round_to_rupee(), Paise(i64::MAX - 7));
        assert_eq!(Paise(i64::MIN).round_to_rupee(), Paise(i64::MIN + 8));
    }

    #[test]
    fn arithmetic_reports_overflow_instead_of_wrapping() {
        assert_eq!(Paise(i64::MAX).checked_add(Paise(1)), Err(Overflow));
        assert_eq!(Paise(i64::MIN).checked_sub(Paise(1)), Err(Overflow));
        assert_eq!(Paise(i64::MAX / 2 + 1).checked_mul(2), Err(Overflow));
        assert_eq!(Paise::checked_sum([Paise(i64::MAX), Paise(1)]), Err(Overflow));
        assert_eq!(Paise::checked_sum([Paise(150), Paise(-50)]), Ok(Paise(100)));
        assert_eq!(Paise::from_rupees(1_050), Ok(Paise(1_05_000)));
        assert_eq!(Paise::from_rupees(i64::MAX), Err(Overflow));
    }

    proptest! {
        #[test]
        fn rounding_to_the_rupee_moves_at_most_fifty_paise(paise in any::<i64>()) {
            let rounded = Paise(paise).round_to_rupee().0;
            prop_assert_eq!(rounded % 100, 0);
            prop_assert!((i128::from(rounded) - i128::from(paise)).abs() <= 50);
        }

        #[test]
        fn grouping_keeps_every_digit_in_order(paise in any::<i64>()) {
            let shown = Paise(paise).to_string();
            let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
            let magnitude = paise.unsigned_abs();
            prop_assert_eq!(digits, format!("{}{:02}", magnitude / 100, magnitude % 100));
            prop_assert_eq!(shown.starts_with('-'), paise < 0);
        }

        #[test]
        fn words_never_panic_and_always_close_with_only(paise in any::<i64>()) {
            let words = Paise(paise).in_words();
            prop_assert!(words.ends_with(" Only"));
            prop_assert!(!words.contains("  "));
        }
    }
}
