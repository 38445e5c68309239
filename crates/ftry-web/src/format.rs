//! Indian formats: rupees with lakh and crore grouping.

/// `₹1,05,000.00` for 1,05,00,000 paise: the last three digits of the rupees
/// together, then groups of two.
pub fn rupees(paise: i64) -> String {
    let sign = if paise < 0 { "-" } else { "" };
    let paise = paise.unsigned_abs();
    let digits = (paise / 100).to_string();
    let (head, last_three) = digits.split_at(digits.len().saturating_sub(3));
    let mut grouped = String::new();
    let first = head.len() % 2;
    for (i, c) in head.chars().enumerate() {
        if i > 0 && (i + 2 - first) % 2 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if !head.is_empty() {
        grouped.push(',');
    }
    grouped.push_str(last_three);
    format!("{sign}₹{grouped}.{:02}", paise % 100)
}

/// An instant as the business's logs show it: `7 Dec 2026, 21:30:05`, in
/// India's time (the audit log, messages and webhook deliveries span every
/// branch of a business, so no one branch's zone is theirs).
pub fn moment(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Kolkata)
        .format("%-d %b %Y, %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::rupees;

    #[test]
    fn groups_rupees_in_the_indian_way() {
        assert_eq!(rupees(0), "₹0.00");
        assert_eq!(rupees(5), "₹0.05");
        assert_eq!(rupees(60_000), "₹600.00");
        assert_eq!(rupees(123_456), "₹1,234.56");
        assert_eq!(rupees(10_500_000), "₹1,05,000.00");
        assert_eq!(rupees(1_234_567_899), "₹1,23,45,678.99");
        assert_eq!(rupees(-250_050), "-₹2,500.50");
    }
}
