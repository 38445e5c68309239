//! Invoice and credit-note numbers.
//!
//! # Rules
//!
//! GST allows at most 16 characters of letters, digits, `-` and `/`, unique
//! within a financial year (1 April – 31 March). Each location has its own
//! series, named by its series code: 1 to 5 of `A-Z` and `0-9`.
//!
//! **Invoices** are numbered `{code}/{yy-yy}/{sequence}`, e.g.
//! `PUN1/26-27/00042`. **Credit notes** have their own series,
//! `{code}/CN{yyyy}/{sequence}`, e.g. `PUN1/CN2627/0007`: the financial year
//! loses its hyphen there so that the `CN` marker fits; the two forms can
//! never be mistaken for each other.
//!
//! The sequence starts at 1 each financial year and is zero-padded to fill
//! the number to exactly 16 characters, so every number of a series has the
//! same length and sorts in issue order. A longer series code leaves fewer
//! digits: invoices get `9 − len(code)` digits (99,999 a year with a 4-letter
//! code, 9,999 with a 5-letter one), credit notes one fewer. A sequence that
//! does not fit is an error, never a longer number.
//!
//! Years are written with two digits, so the financial year must start in
//! 2000–2099 (`99-00` is 2099-2100).
//!
//! Keeping the sequence gapless and consecutive is the store's job (one
//! counter per series and year, taken in the finalizing transaction); this
//! module only says what the numbers look like.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// The most characters GST allows in a document number.
pub const MAX_LENGTH: usize = 16;
const MAX_CODE_LENGTH: usize = 5;
const CREDIT_NOTE_MARKER: &str = "CN";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberingError {
    #[error("a series code is 1 to 5 capital letters or digits, not `{0}`")]
    InvalidSeriesCode(String),
    #[error("sequences start at 1")]
    ZeroSequence,
    #[error("sequence {sequence} does not fit in 16 characters; this series ends at {max}")]
    SequenceTooLarge { sequence: u32, max: u32 },
    #[error("financial year {0} cannot be written with two-digit years")]
    YearOutOfRange(i32),
    #[error("`{0}` is not a document number of ftry's form")]
    Malformed(String),
}

/// The financial year from 1 April of `first_year` to 31 March of the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FinancialYear {
    first_year: i32,
}

impl FinancialYear {
    pub fn starting(first_year: i32) -> Self {
        Self { first_year }
    }

    pub fn first_year(self) -> i32 {
        self.first_year
    }

    pub fn last_year(self) -> i32 {
        self.first_year + 1
    }

    /// `(2026, 2027)` for the year from 1 April 2026.
    pub fn years(self) -> (i32, i32) {
        (self.first_year(), self.last_year())
    }
}

/// `2026-27`.
impl fmt::Display for FinancialYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.first_year, self.last_year().rem_euclid(100))
    }
}

/// The financial year `date` falls in.
pub fn financial_year(date: NaiveDate) -> FinancialYear {
    let first_year = if date.month() >= 4 {
        date.year()
    } else {
        date.year() - 1
    };
    FinancialYear::starting(first_year)
}

/// A location's series code, e.g. `PUN1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesCode(String);

impl SeriesCode {
    pub fn parse(text: &str) -> Result<Self, NumberingError> {
        let valid = (1..=MAX_CODE_LENGTH).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(NumberingError::InvalidSeriesCode(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentSeries {
    Invoice,
    CreditNote,
}

/// A document number taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentNumber {
    pub code: SeriesCode,
    pub series: DocumentSeries,
    pub year: FinancialYear,
    pub sequence: u32,
}

/// The number of the `sequence`th document of the year in this series.
pub fn format_number(
    code: &SeriesCode,
    series: DocumentSeries,
    year: FinancialYear,
    sequence: u32,
) -> Result<String, NumberingError> {
    if !(2000..=2099).contains(&year.first_year()) {
        return Err(NumberingError::YearOutOfRange(year.first_year()));
    }
    if sequence == 0 {
        return Err(NumberingError::ZeroSequence);
    }
    let max = max_sequence(code, series);
    if sequence > max {
        return Err(NumberingError::SequenceTooLarge { sequence, max });
    }
    let width = sequence_width(code, series);
    let (first, last) = (year.first_year() % 100, year.last_year() % 100);
    Ok(match series {
        DocumentSeries::Invoice => format!("{}/{first:02}-{last:02}/{sequence:0width$}", code.0),
        DocumentSeries::CreditNote => {
            format!(
                "{}/{CREDIT_NOTE_MARKER}{first:02}{last:02}/{sequence:0width$}",
                code.0
            )
        }
    })
}

/// The last sequence number this series can reach in a year.
pub fn max_sequence(code: &SeriesCode, series: DocumentSeries) -> u32 {
    // The width is at most 8 digits (a 1-character invoice code): it fits a u32.
    10u32.pow(sequence_width(code, series) as u32) - 1
}

/// Digits left for the sequence once the code, the year and the separators are in.
fn sequence_width(code: &SeriesCode, series: DocumentSeries) -> usize {
    let year = match series {
        DocumentSeries::Invoice => "26-27".len(),
        DocumentSeries::CreditNote => CREDIT_NOTE_MARKER.len() + "2627".len(),
    };
    MAX_LENGTH - code.0.len() - year - 2
}

/// Takes a number apart; only the exact form [`format_number`] writes is accepted.
pub fn parse(text: &str) -> Result<DocumentNumber, NumberingError> {
    let malformed = || NumberingError::Malformed(text.to_owned());
    let mut parts = text.split('/');
    let (Some(code), Some(year), Some(sequence), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let code = SeriesCode::parse(code).map_err(|_| malformed())?;
    let (series, first, last) = if let Some(years) = year.strip_prefix(CREDIT_NOTE_MARKER) {
        let (first, last) = years.split_at_checked(2).ok_or_else(malformed)?;
        (DocumentSeries::CreditNote, first, last)
    } else {
        let (first, last) = year.split_once('-').ok_or_else(malformed)?;
        (DocumentSeries::Invoice, first, last)
    };
    let first_year = 2000 + two_digits(first).ok_or_else(malformed)?;
    let sequence = all_digits(sequence).ok_or_else(malformed)?;
    let number = DocumentNumber {
        code,
        series,
        year: FinancialYear::starting(first_year),
        sequence,
    };
    // Anything else the text might vary (the second year, padding) must match
    // what would be written.
    if two_digits(last) != Some((first_year + 1) % 100) {
        return Err(malformed());
    }
    match format_number(&number.code, series, number.year, sequence) {
        Ok(written) if written == text => Ok(number),
        _ => Err(malformed()),
    }
}

fn two_digits(text: &str) -> Option<i32> {
    if text.len() == 2 {
        all_digits(text).map(|n| n as i32)
    } else {
        None
    }
}

fn all_digits(text: &str) -> Option<u32> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn code(text: &str) -> SeriesCode {
        SeriesCode::parse(text).unwrap()
    }

    fn fy(first_year: i32) -> FinancialYear {
        FinancialYear::starting(first_year)
    }

    #[test]
    fn the_financial_year_runs_from_1_april_to_31_march() {
        for (on, years) in [
            ("2026-03-31", (2025, 2026)),
            ("2026-04-01", (2026, 2027)),
            ("2026-12-31", (2026, 2027)),
            ("2027-01-01", (2026, 2027)),
            ("2027-03-31", (2026, 2027)),
            ("2027-04-01", (2027, 2028)),
            ("2000-02-29", (1999, 2000)),
        ] {
            assert_eq!(financial_year(date(on)).years(), years, "{on}");
        }
        assert_eq!(fy(2026).to_string(), "2026-27");
        assert_eq!(fy(2099).to_string(), "2099-00");
    }

    #[test]
    fn invoice_numbers_fill_16_characters() {
        for (series_code, sequence, number) in [
            ("PUN1", 42, "PUN1/26-27/00042"),
            ("PUN1", 1, "PUN1/26-27/00001"),
            ("PUN1", 99_999, "PUN1/26-27/99999"),
            ("BLR12", 9_999, "BLR12/26-27/9999"),
            ("A", 1, "A/26-27/00000001"),
            ("A", 99_999_999, "A/26-27/99999999"),
        ] {
            let formatted = format_number(&code(series_code), DocumentSeries::Invoice, fy(2026), sequence);
            assert_eq!(formatted.as_deref(), Ok(number));
            assert_eq!(number.len(), MAX_LENGTH);
        }
    }

    #[test]
    fn credit_notes_have_their_own_16_character_series() {
        for (series_code, sequence, number) in [
            ("PUN1", 7, "PUN1/CN2627/0007"),
            ("PUN1", 9_999, "PUN1/CN2627/9999"),
            ("BLR12", 999, "BLR12/CN2627/999"),
            ("A", 9_999_999, "A/CN2627/9999999"),
        ] {
            let formatted = format_number(&code(series_code), DocumentSeries::CreditNote, fy(2026), sequence);
            assert_eq!(formatted.as_deref(), Ok(number));
            assert_eq!(number.len(), MAX_LENGTH);
        }
    }

    #[test]
    fn the_year_of_a_number_is_the_financial_year_of_its_date() {
        let pun1 = code("PUN1");
        let number = |on: &str| format_number(&pun1, DocumentSeries::Invoice, financial_year(date(on)), 1);
        assert_eq!(number("2027-03-31").as_deref(), Ok("PUN1/26-27/00001"));
        assert_eq!(number("2027-04-01").as_deref(), Ok("PUN1/27-28/00001"));
        assert_eq!(
            format_number(
                &pun1,
                DocumentSeries::CreditNote,
                financial_year(date("2100-03-31")),
                1
            )
            .as_deref(),
            Ok("PUN1/CN9900/0001")
        );
    }

    #[test]
    fn sequences_that_cannot_fit_are_refused() {
        assert_eq!(
            format_number(&code("PUN1"), DocumentSeries::Invoice, fy(2026), 100_000),
            Err(NumberingError::SequenceTooLarge {
                sequence: 100_000,
                max: 99_999
            })
        );
        assert_eq!(
            format_number(&code("BLR12"), DocumentSeries::CreditNote, fy(2026), 1_000),
            Err(NumberingError::SequenceTooLarge {
                sequence: 1_000,
                max: 999
            })
        );
        assert_eq!(
            format_number(&code("PUN1"), DocumentSeries::Invoice, fy(2026), 0),
            Err(NumberingError::ZeroSequence)
        );
        assert_eq!(
            format_number(&code("PUN1"), DocumentSeries::Invoice, fy(1999), 1),
            Err(NumberingError::YearOutOfRange(1999))
        );
        assert_eq!(
            format_number(&code("PUN1"), DocumentSeries::Invoice, fy(2100), 1),
            Err(NumberingError::YearOutOfRange(2100))
        );
    }

    #[test]
    fn series_codes_are_1_to_5_capitals_or_digits() {
        for valid in ["A", "PUN1", "BLR12", "12345"] {
            assert_eq!(
                SeriesCode::parse(valid).map(|c| c.as_str().to_owned()),
                Ok(valid.to_owned())
            );
        }
        for invalid in ["", "PUNE12", "pun1", "PU-1", "PU/1", "PUN 1", "ÄB"] {
            assert_eq!(
                SeriesCode::parse(invalid),
                Err(NumberingError::InvalidSeriesCode(invalid.to_owned())),
                "{invalid}"
            );
        }
    }

    #[test]
    fn numbers_parse_back_into_their_parts() {
        assert_eq!(
            parse("PUN1/26-27/00042"),
            Ok(DocumentNumber {
                code: code("PUN1"),
                series: DocumentSeries::Invoice,
                year: fy(2026),
                sequence: 42
            })
        );
        assert_eq!(
            parse("PUN1/CN2627/0007"),
            Ok(DocumentNumber {
                code: code("PUN1"),
                series: DocumentSeries::CreditNote,
                year: fy(2026),
                sequence: 7
            })
        );
        assert_eq!(parse("A/99-00/00000001").map(|n| n.year), Ok(fy(2099)));
    }

    #[test]
    fn anything_but_the_exact_written_form_is_malformed() {
        for text in [
            "",
            "PUN1/26-27/42",
            "PUN1/26-27/000042",
            "PUN1/26-28/00042",
            "PUN1/2627/00042",
            "PUN1/CN26-27/007",
            "PUN1/CN2628/0007",
            "PUN1/26-27/00000",
            "PUN1/26-27/0004a",
            "PUN1/26-27/+0042",
            "pun1/26-27/00042",
            "PUN1/26-27/00042/",
            "PUN1-26-27-00042",
            "PUN1/CN/26-27/07",
            "PUN1/CN2é/00007",
        ] {
            assert_eq!(
                parse(text),
                Err(NumberingError::Malformed(text.to_owned())),
                "{text}"
            );
        }
    }

    fn series_code_strategy() -> impl Strategy<Value = SeriesCode> {
        "[A-Z0-9]{1,5}".prop_map(|text| code(&text))
    }

    fn series_strategy() -> impl Strategy<Value = DocumentSeries> {
        prop_oneof![Just(DocumentSeries::Invoice), Just(DocumentSeries::CreditNote)]
    }

    proptest! {
        #[test]
        fn every_number_is_16_allowed_characters_and_parses_back(
            series_code in series_code_strategy(),
            series in series_strategy(),
            first_year in 2000..=2099i32,
            sequence in 1..=99_999_999u32,
        ) {
            let year = fy(first_year);
            match format_number(&series_code, series, year, sequence) {
                Ok(number) => {
                    prop_assert_eq!(number.len(), MAX_LENGTH);
                    prop_assert!(number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/'));
                    prop_assert_eq!(
                        parse(&number),
                        Ok(DocumentNumber { code: series_code, series, year, sequence })
                    );
                }
                Err(error) => prop_assert_eq!(
                    error,
                    NumberingError::SequenceTooLarge { sequence, max: max_sequence(&series_code, series) }
                ),
            }
        }

        #[test]
        fn numbers_of_a_series_sort_in_issue_order(
            series_code in series_code_strategy(),
            series in series_strategy(),
            a in 1..=999u32,
            b in 1..=999u32,
        ) {
            let number = |sequence| format_number(&series_code, series, fy(2026), sequence).unwrap();
            prop_assert_eq!(number(a).cmp(&number(b)), a.cmp(&b));
        }
    }
}
