//! Email addresses and phone numbers, valid by construction.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEmail {
    #[error("an email address looks like name@example.com")]
    Format,
    #[error("use the plain ASCII form of the address (internationalized domains in their xn-- form)")]
    NonAscii,
    #[error("an email address has at most 254 characters")]
    TooLong,
}

/// A lowercase email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Accepts plain ASCII addresses only: look-alike Unicode characters
    /// (Cyrillic `а` for Latin `a`) can never make a second account that
    /// reads the same as the first.
    pub fn parse(text: &str) -> Result<Self, InvalidEmail> {
        let text = text.trim();
        if text.len() > 254 {
            return Err(InvalidEmail::TooLong);
        }
        if !text.is_ascii() {
            return Err(InvalidEmail::NonAscii);
        }
        let text = text.to_ascii_lowercase();
        let (local, domain) = text.split_once('@').ok_or(InvalidEmail::Format)?;
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && labels.last().is_some_and(|tld| {
                tld.len() >= 2 && (tld.bytes().all(|b| b.is_ascii_alphabetic()) || tld.starts_with("xn--"))
            });
        if local_ok && domain_ok {
            Ok(Self(text))
        } else {
            Err(InvalidEmail::Format)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a phone number is +<country code><number> (E.164), e.g. +919876543210, or a 10-digit Indian mobile number")]
pub struct InvalidPhone;

/// A phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Spaces, dashes, dots and parentheses are ignored. Without a `+`, a
    /// 10-digit number starting 6–9 is an Indian mobile (+91), and a leading
    /// 0 or 91 before it is dropped.
    pub fn parse(text: &str) -> Result<Self, InvalidPhone> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let (international, digits) = match cleaned.strip_prefix('+') {
            Some(rest) => (true, rest.to_owned()),
            None => (false, cleaned),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidPhone);
        }
        let e164 = if international {
            digits
        } else {
            let national = match digits.len() {
                10 => digits.as_str(),
                11 if digits.starts_with('0') => &digits[1..],
                12 if digits.starts_with("91") => &digits[2..],
                _ => return Err(InvalidPhone),
            };
            if !national.starts_with(['6', '7', '8', '9']) {
                return Err(InvalidPhone);
            }
            format!("91{national}")
        };
        if !(8..=15).contains(&e164.len()) || e164.starts_with('0') {
            return Err(InvalidPhone);
        }
        Ok(Self(format!("+{e164}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_trimmed() {
        assert_eq!(
            Email::parse("  Priya.Sharma@Example.IN ").unwrap().as_str(),
            "priya.sharma@example.in"
        );
        assert_eq!(
            Email::parse("a+salon@xn--80ak6aa92e.com").unwrap().as_str(),
            "a+salon@xn--80ak6aa92e.com"
        );
    }

    #[test]
    fn malformed_and_lookalike_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.com",
            "a@@example.com",
            "a..b@example.com",
            "a@-x.com",
            "a@example.c0m1",
            "a@example.12",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail::Format), "{bad:?}");
        }
        // Cyrillic "а" in place of Latin "a".
        assert_eq!(
            Email::parse("\u{430}dmin@example.com"),
            Err(InvalidEmail::NonAscii)
        );
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(InvalidEmail::TooLong)
        );
    }

    #[test]
    fn indian_numbers_become_e164() {
        for input in [
            "98765 43210",
            "098765-43210",
            "919876543210",
            "+91 98765 43210",
            "(+91) 98765.43210",
        ] {
            assert_eq!(
                Phone::parse(input).map(|p| p.0),
                Ok("+919876543210".to_string()),
                "{input:?}"
            );
        }
        assert_eq!(
            Phone::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn impossible_numbers_are_refused() {
        for bad in [
            "",
            "12345",
            "5876543210",
            "+0123456789",
            "+1234567890123456",
            "98765abcde",
            "++919876543210",
        ] {
            assert_eq!(Phone::parse(bad), Err(InvalidPhone), "{bad:?}");
        }
    }
}
