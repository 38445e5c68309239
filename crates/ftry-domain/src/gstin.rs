//! GST identification numbers (GSTIN) and state codes.
//!
//! A GSTIN is 15 characters: the two-digit state code, the holder's PAN
//! (5 letters, 4 digits, 1 letter), an entity number (1-9, A-Z), a letter
//! (`Z` today) and a check character computed over the first 14 by the
//! base-36 Luhn-style scheme below.

use std::fmt;

const CHARSET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// GST state and union-territory codes, with `97` (other territory).
const STATES: [(&str, &str); 38] = [
    ("01", "Jammu and Kashmir"),
    ("02", "Himachal Pradesh"),
    ("03", "Punjab"),
    ("04", "Chandigarh"),
    ("05", "Uttarakhand"),
    ("06", "Haryana"),
    ("07", "Delhi"),
    ("08", "Rajasthan"),
    ("09", "Uttar Pradesh"),
    ("10", "Bihar"),
    ("11", "Sikkim"),
    ("12", "Arunachal Pradesh"),
    ("13", "Nagaland"),
    ("14", "Manipur"),
    ("15", "Mizoram"),
    ("16", "Tripura"),
    ("17", "Meghalaya"),
    ("18", "Assam"),
    ("19", "West Bengal"),
    ("20", "Jharkhand"),
    ("21", "Odisha"),
    ("22", "Chhattisgarh"),
    ("23", "Madhya Pradesh"),
    ("24", "Gujarat"),
    ("26", "Dadra and Nagar Haveli and Daman and Diu"),
    ("27", "Maharashtra"),
    ("29", "Karnataka"),
    ("30", "Goa"),
    ("31", "Lakshadweep"),
    ("32", "Kerala"),
    ("33", "Tamil Nadu"),
    ("34", "Puducherry"),
    ("35", "Andaman and Nicobar Islands"),
    ("36", "Telangana"),
    ("37", "Andhra Pradesh"),
    ("38", "Ladakh"),
    ("97", "Other Territory"),
    ("99", "Centre Jurisdiction"),
];

/// The name of a GST state code, if it is one.
/// Every state and union territory with its GST code, in code order.
pub fn states() -> &'static [(&'static str, &'static str)] {
    &STATES
}

pub fn state_name(code: &str) -> Option<&'static str> {
    STATES.iter().find(|(c, _)| *c == code).map(|(_, name)| *name)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidGstin {
    #[error("a GSTIN has 15 characters: state code, PAN, entity number, Z and a check character")]
    Format,
    #[error("`{0}` is not a GST state code")]
    State(String),
    #[error("the check character does not match; the GSTIN has a typo")]
    CheckCharacter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gstin(String);

impl Gstin {
    pub fn parse(text: &str) -> Result<Self, InvalidGstin> {
        let text = text.trim().to_ascii_uppercase();
        let b = text.as_bytes();
        let shape_ok = b.len() == 15
            && b[..2].iter().all(u8::is_ascii_digit)
            && b[2..7].iter().all(u8::is_ascii_uppercase)
            && b[7..11].iter().all(u8::is_ascii_digit)
            && b[11].is_ascii_uppercase()
            && (b[12].is_ascii_uppercase() || (b'1'..=b'9').contains(&b[12]))
            && b[13].is_ascii_uppercase()
            && b[14].is_ascii_alphanumeric();
        if !shape_ok {
            return Err(InvalidGstin::Format);
        }
        if state_name(&text[..2]).is_none() {
            return Err(InvalidGstin::State(text[..2].to_owned()));
        }
        if check_character(&b[..14]) != Some(b[14]) {
            return Err(InvalidGstin::CheckCharacter);
        }
        Ok(Self(text))
    }

    pub fn state_code(&self) -> &str {
        &self.0[..2]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gstin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The check character of the first 14 characters: each character's value
/// times alternating weights 1 and 2, each product folded to quotient +
/// remainder by 36, summed; the check value makes the sum a multiple of 36.
pub fn check_character(first14: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in first14.iter().enumerate() {
        let value = CHARSET.iter().position(|x| x == c)? as u32;
        let product = value * if i % 2 == 0 { 1 } else { 2 };
        sum += product / 36 + product % 36;
    }
    Some(CHARSET[((36 - sum % 36) % 36) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_gstins_are_accepted() {
        // GSTINs printed on large Indian companies' public invoices.
        for gstin in ["27AAACR5055K1Z7", "33AAACH7409R1Z8", "24AAACC1206D1ZM"] {
            assert_eq!(
                Gstin::parse(gstin).map(|g| g.to_string()),
                Ok(gstin.to_string()),
                "{gstin}"
            );
        }
    }

    #[test]
    fn lowercase_and_spaces_are_normalized() {
        assert_eq!(
            Gstin::parse(" 27aaacr5055k1z7 ").unwrap().as_str(),
            "27AAACR5055K1Z7"
        );
    }

    #[test]
    fn shape_state_and_typos_are_told_apart() {
        assert_eq!(Gstin::parse("27AAACR5055K1Z"), Err(InvalidGstin::Format));
        assert_eq!(Gstin::parse("27AAAC15055K1Z7"), Err(InvalidGstin::Format));
        assert_eq!(
            Gstin::parse("28AAACR5055K1Z7"),
            Err(InvalidGstin::State("28".into()))
        );
        assert_eq!(Gstin::parse("27AAACR5055K1Z8"), Err(InvalidGstin::CheckCharacter));
        assert_eq!(Gstin::parse("27AAACR5056K1Z7"), Err(InvalidGstin::CheckCharacter));
    }

    #[test]
    fn state_names() {
        assert_eq!(state_name("27"), Some("Maharashtra"));
        assert_eq!(state_name("29"), Some("Karnataka"));
        assert_eq!(state_name("25"), None);
    }

    proptest! {
        /// Any single-character change to a valid GSTIN's body is detected.
        #[test]
        fn single_substitutions_are_detected(pos in 0usize..14, replacement in 0usize..36) {
            let valid = b"27AAACR5055K1Z7";
            let mut changed = valid.to_vec();
            prop_assume!(CHARSET[replacement] != changed[pos]);
            changed[pos] = CHARSET[replacement];
            prop_assert_ne!(check_character(&changed[..14]), Some(b'7'));
        }
    }
}
