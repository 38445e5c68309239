//! What the app's forms share: the messages kept by field, and amounts typed
//! in rupees.

/// Messages by form field, each shown next to its field.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn of(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map_or("", |(_, message)| message.as_str())
    }

    /// Keeps the first message of a field.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        if self.of(&field).is_empty() {
            self.0.push((field, message.into()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A use case's refusal of fields, under the form's names for them.
    pub fn from_use_case(fields: &[ftry_app::FieldError], name: impl Fn(&str) -> String) -> Self {
        let mut errors = Self::default();
        for f in fields {
            errors.push(name(&f.field), crate::booking::sentence(&f.message));
        }
        errors
    }
}

/// A use case's refusal of fields as sentences for a page, each field named
/// by `name` ("The last day must be on or after the first day.").
pub fn in_words(fields: &[ftry_app::FieldError], name: impl Fn(&str) -> String) -> String {
    fields
        .iter()
        .map(|f| crate::booking::sentence(&format!("{} {}", name(&f.field), f.message.replace('`', ""))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A field's name in words: `last_day` → "the last day".
pub fn the_field(field: &str) -> String {
    format!("the {}", field.replace('_', " "))
}

/// An amount typed in rupees ("650", "1,250.50", "₹ 99.9") in paise; `None`
/// when it is not one (negative, more than two decimals, not a number).
pub fn paise(text: &str) -> Option<i64> {
    let cleaned: String = text
        .trim()
        .trim_start_matches('₹')
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || whole.len() > 12
    {
        return None;
    }
    let rupees: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    rupees.checked_mul(100)?.checked_add(fraction)
}

/// Paise as the form shows them for editing: `650`, `99.90`.
pub fn rupees_plain(paise: i64) -> String {
    if paise % 100 == 0 {
        (paise / 100).to_string()
    } else {
        format!("{}.{:02}", paise / 100, paise % 100)
    }
}

/// A typed field, trimmed; `None` when nothing was typed.
pub fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{paise, rupees_plain, FieldErrors};

    #[test]
    fn reads_rupees_as_people_type_them() {
        assert_eq!(paise("650"), Some(65_000));
        assert_eq!(paise("1,250.50"), Some(125_050));
        assert_eq!(paise("₹ 99.9"), Some(9_990));
        assert_eq!(paise(".5"), Some(50));
        assert_eq!(paise("0"), Some(0));
        assert_eq!(paise(""), None);
        assert_eq!(paise("-5"), None);
        assert_eq!(paise("1.005"), None);
        assert_eq!(paise("12abc"), None);
        assert_eq!(paise("9999999999999"), None);
    }

    #[test]
    fn shows_paise_for_editing() {
        assert_eq!(rupees_plain(65_000), "650");
        assert_eq!(rupees_plain(9_990), "99.90");
        assert_eq!(rupees_plain(5), "0.05");
    }

    #[test]
    fn says_a_refusal_of_fields_in_sentences() {
        let fields = [
            ftry_app::FieldError {
                field: "last_day".into(),
                message: "must be on or after `first_day`".into(),
            },
            ftry_app::FieldError {
                field: "reason".into(),
                message: "is too long".into(),
            },
        ];
        assert_eq!(
            super::in_words(&fields, super::the_field),
            "The last day must be on or after first_day. The reason is too long."
        );
    }

    #[test]
    fn keeps_the_first_message_of_a_field() {
        let mut errors = FieldErrors::default();
        errors.push("name", "Enter a name.");
        errors.push("name", "Too long.");
        assert_eq!(errors.of("name"), "Enter a name.");
        assert_eq!(errors.of("price"), "");
        assert!(!errors.is_empty());
    }
}
