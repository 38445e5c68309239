//! The tamper-evident chain of finalized documents.
//!
//! Each finalized invoice or credit note stores a hash of its own content
//! and of the previous document's hash. Editing, deleting, inserting or
//! reordering any document then shows up as the first link whose stored hash
//! no longer matches a recomputation.
//!
//! # Rules
//!
//! `document_hash = SHA-256(encoding)`, where the encoding is, in this order:
//!
//! 1. the format tag `ftry-ledger-v1` (a string, as below), so a later format
//!    can never produce the same bytes as this one;
//! 2. the previous hash: byte `0` for the first document of a chain, else
//!    byte `1` and its 32 bytes;
//! 3. the document's fields in the order of [`CanonicalDocument`], each line's
//!    in the order of [`CanonicalLine`], then the totals in the order of
//!    [`CanonicalTotals`].
//!
//! A string is its UTF-8 length as a big-endian `u32` followed by its bytes;
//! an optional string is byte `0` when absent, else byte `1` and the string;
//! an amount in paise is a big-endian `i64`; a quantity or rate a big-endian
//! `u32`; the date its ISO 8601 text (`2026-04-01`) as a string; the list of
//! lines its length as a big-endian `u32`, then each line. Every field is
//! length-prefixed or fixed-width, so no two different documents share an
//! encoding (moving a character from one field to the next changes a length).

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::money::Paise;
use crate::tax::{InvoiceLine, InvoiceTotals};

pub type Hash = [u8; 32];

const FORMAT_TAG: &str = "ftry-ledger-v1";

/// Everything a finalized document says, as it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalDocument {
    pub number: String,
    pub date: NaiveDate,
    /// Absent for an unregistered supplier.
    pub supplier_gstin: Option<String>,
    pub customer_name: String,
    pub customer_gstin: Option<String>,
    pub place_of_supply: String,
    pub lines: Vec<CanonicalLine>,
    pub totals: CanonicalTotals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalLine {
    pub description: String,
    pub code: String,
    pub quantity: u32,
    pub unit_price: Paise,
    pub line_discount: Paise,
    pub invoice_discount: Paise,
    pub taxable_value: Paise,
    pub rate_bp: u32,
    pub cgst: Paise,
    pub sgst: Paise,
    pub igst: Paise,
    pub total: Paise,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalTotals {
    pub taxable_value: Paise,
    pub cgst: Paise,
    pub sgst: Paise,
    pub igst: Paise,
    pub tip: Paise,
    pub round_off: Paise,
    pub grand_total: Paise,
}

impl From<&InvoiceLine> for CanonicalLine {
    fn from(line: &InvoiceLine) -> Self {
        Self {
            description: line.description.clone(),
            code: line.code.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            line_discount: line.line_discount,
            invoice_discount: line.invoice_discount,
            taxable_value: line.taxable_value,
            rate_bp: line.rate_bp,
            cgst: line.cgst,
            sgst: line.sgst,
            igst: line.igst,
            total: line.total,
        }
    }
}

impl From<&InvoiceTotals> for CanonicalTotals {
    fn from(totals: &InvoiceTotals) -> Self {
        Self {
            taxable_value: totals.taxable_value,
            cgst: totals.cgst,
            sgst: totals.sgst,
            igst: totals.igst,
            tip: totals.tip,
            round_off: totals.round_off,
            grand_total: totals.grand_total,
        }
    }
}

/// A document as stored: its content and the hash recorded when it was finalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedDocument {
    pub document: CanonicalDocument,
    pub hash: Hash,
}

/// The first document, counting from zero, whose stored hash does not match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the document chain is broken at document {index} ({number})")]
pub struct BrokenLink {
    pub index: usize,
    pub number: String,
}

/// The hash to store with `canonical`, chained to the previous document's.
pub fn document_hash(previous_hash: Option<Hash>, canonical: &CanonicalDocument) -> Hash {
    let mut encoder = Encoder(Sha256::new());
    encoder.text(FORMAT_TAG);
    match previous_hash {
        None => encoder.0.update([0]),
        Some(hash) => {
            encoder.0.update([1]);
            encoder.0.update(hash);
        }
    }
    encoder.document(canonical);
    encoder.0.finalize().into()
}

/// Recomputes the chain from its first document and reports the first
/// document whose stored hash differs.
pub fn verify_chain(docs: &[ChainedDocument]) -> Result<(), BrokenLink> {
    let mut previous = None;
    for (index, doc) in docs.iter().enumerate() {
        if document_hash(previous, &doc.document) != doc.hash {
            return Err(BrokenLink {
                index,
                number: doc.document.number.clone(),
            });
        }
        previous = Some(doc.hash);
    }
    Ok(())
}

struct Encoder(Sha256);

impl Encoder {
    fn document(&mut self, doc: &CanonicalDocument) {
        self.text(&doc.number);
        self.text(&doc.date.format("%Y-%m-%d").to_string());
        self.optional_text(doc.supplier_gstin.as_deref());
        self.text(&doc.customer_name);
        self.optional_text(doc.customer_gstin.as_deref());
        self.text(&doc.place_of_supply);
        self.length(doc.lines.len());
        for line in &doc.lines {
            self.line(line);
        }
        let totals = &doc.totals;
        for amount in [
            totals.taxable_value,
            totals.cgst,
            totals.sgst,
            totals.igst,
            totals.tip,
            totals.round_off,
            totals.grand_total,
        ] {
            self.amount(amount);
        }
    }

    fn line(&mut self, line: &CanonicalLine) {
        self.text(&line.description);
        self.text(&line.code);
        self.0.update(line.quantity.to_be_bytes());
        self.amount(line.unit_price);
        self.amount(line.line_discount);
        self.amount(line.invoice_discount);
        self.amount(line.taxable_value);
        self.0.update(line.rate_bp.to_be_bytes());
        for amount in [line.cgst, line.sgst, line.igst, line.total] {
            self.amount(amount);
        }
    }

    fn text(&mut self, text: &str) {
        self.length(text.len());
        self.0.update(text.as_bytes());
    }

    fn optional_text(&mut self, text: Option<&str>) {
        match text {
            None => self.0.update([0]),
            Some(text) => {
                self.0.update([1]);
                self.text(text);
            }
        }
    }

    fn amount(&mut self, amount: Paise) {
        self.0.update(amount.0.to_be_bytes());
    }

    /// Lengths beyond `u32` cannot come from a real document; they are
    /// saturated rather than allowed to wrap into a shorter length.
    fn length(&mut self, length: usize) {
        self.0
            .update(u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes());
    }
}

#[cfg(test)]
#[allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts read as rupees_paise: 1_050_00 is ₹1,050.00"
)]
mod tests {
    use super::*;

    fn document(number: &str, date: &str, grand_total: i64) -> CanonicalDocument {
        CanonicalDocument {
            number: number.to_owned(),
            date: date.parse().unwrap(),
            supplier_gstin: Some("27AAACR5055K1Z7".to_owned()),
            customer_name: "Asha Patil".to_owned(),
            customer_gstin: None,
            place_of_supply: "27".to_owned(),
            lines: vec![
                CanonicalLine {
                    description: "Haircut".to_owned(),
                    code: "999721".to_owned(),
                    quantity: 1,
                    unit_price: Paise(1_000_00),
                    line_discount: Paise::ZERO,
                    invoice_discount: Paise::ZERO,
                    taxable_value: Paise(1_000_00),
                    rate_bp: 500,
                    cgst: Paise(25_00),
                    sgst: Paise(25_00),
                    igst: Paise::ZERO,
                    total: Paise(1_050_00),
                },
                CanonicalLine {
                    description: "Shampoo".to_owned(),
                    code: "3305".to_owned(),
                    quantity: 2,
                    unit_price: Paise(200_00),
                    line_discount: Paise(10_00),
                    invoice_discount: Paise(5_00),
                    taxable_value: Paise(385_00),
                    rate_bp: 500,
                    cgst: Paise(9_63),
                    sgst: Paise(9_63),
                    igst: Paise::ZERO,
                    total: Paise(404_26),
                },
            ],
            totals: CanonicalTotals {
                taxable_value: Paise(1_385_00),
                cgst: Paise(34_63),
                sgst: Paise(34_63),
                igst: Paise::ZERO,
                tip: Paise(50_00),
                round_off: Paise(grand_total % 100),
                grand_total: Paise(grand_total),
            },
        }
    }

    fn chain(documents: Vec<CanonicalDocument>) -> Vec<ChainedDocument> {
        let mut previous = None;
        documents
            .into_iter()
            .map(|document| {
                let hash = document_hash(previous, &document);
                previous = Some(hash);
                ChainedDocument { document, hash }
            })
            .collect()
    }

    fn three_documents() -> Vec<ChainedDocument> {
        chain(vec![
            document("PUN1/26-27/00001", "2026-04-01", 1_504_26),
            document("PUN1/26-27/00002", "2026-04-01", 1_600_00),
            document("PUN1/CN2627/0001", "2026-04-02", 1_504_26),
        ])
    }

    fn hex(hash: &Hash) -> String {
        hash.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    type Tampering = (&'static str, fn(&mut CanonicalDocument));

    /// One change to each field a document has.
    fn tamperings() -> Vec<Tampering> {
        vec![
            ("number", |d| d.number.push('9')),
            ("date", |d| d.date = d.date.succ_opt().unwrap()),
            ("supplier GSTIN removed", |d| d.supplier_gstin = None),
            ("supplier GSTIN", |d| {
                d.supplier_gstin = Some("27AAACR5055K1Z8".into())
            }),
            ("customer name", |d| d.customer_name = "Asha Patel".into()),
            ("customer GSTIN", |d| d.customer_gstin = Some(String::new())),
            ("place of supply", |d| d.place_of_supply = "29".into()),
            ("line removed", |d| {
                d.lines.pop();
            }),
            ("lines reordered", |d| d.lines.reverse()),
            ("description", |d| d.lines[1].description = "Conditioner".into()),
            ("code", |d| d.lines[1].code = "3304".into()),
            ("quantity", |d| d.lines[1].quantity = 3),
            ("unit price", |d| d.lines[1].unit_price = Paise(200_01)),
            ("line discount", |d| d.lines[1].line_discount = Paise(0)),
            ("invoice discount", |d| d.lines[1].invoice_discount = Paise(0)),
            ("taxable value", |d| d.lines[1].taxable_value = Paise(385_01)),
            ("rate", |d| d.lines[1].rate_bp = 1800),
            ("cgst", |d| d.lines[1].cgst = Paise(9_62)),
            ("sgst", |d| d.lines[1].sgst = Paise(9_62)),
            ("igst", |d| d.lines[1].igst = Paise(1)),
            ("line total", |d| d.lines[1].total = Paise(404_25)),
            ("total taxable value", |d| d.totals.taxable_value = Paise(0)),
            ("total cgst", |d| d.totals.cgst = Paise(0)),
            ("total sgst", |d| d.totals.sgst = Paise(0)),
            ("total igst", |d| d.totals.igst = Paise(1)),
            ("tip", |d| d.totals.tip = Paise(0)),
            ("round-off", |d| d.totals.round_off = Paise(-1)),
            ("grand total", |d| d.totals.grand_total = Paise(1)),
        ]
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify_chain(&three_documents()), Ok(()));
        assert_eq!(verify_chain(&[]), Ok(()));
    }

    #[test]
    fn changing_any_field_of_any_document_breaks_the_chain_at_that_document() {
        for index in 0..3 {
            for (field, tamper) in tamperings() {
                let mut docs = three_documents();
                tamper(&mut docs[index].document);
                assert_eq!(
                    verify_chain(&docs),
                    Err(BrokenLink {
                        index,
                        number: docs[index].document.number.clone()
                    }),
                    "{field} of document {index}"
                );
            }
        }
    }

    #[test]
    fn reordering_or_removing_documents_breaks_the_chain_where_it_happened() {
        let mut swapped = three_documents();
        swapped.swap(1, 2);
        assert_eq!(
            verify_chain(&swapped),
            Err(BrokenLink {
                index: 1,
                number: "PUN1/CN2627/0001".into()
            })
        );
        let mut removed = three_documents();
        removed.remove(1);
        assert_eq!(
            verify_chain(&removed),
            Err(BrokenLink {
                index: 1,
                number: "PUN1/CN2627/0001".into()
            })
        );
        let mut first_removed = three_documents();
        first_removed.remove(0);
        assert_eq!(
            verify_chain(&first_removed).map_err(|broken| broken.index),
            Err(0)
        );
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_next_link() {
        let mut docs = three_documents();
        docs[1].document.totals.grand_total = Paise(1);
        docs[1].hash = document_hash(Some(docs[0].hash), &docs[1].document);
        assert_eq!(verify_chain(&docs).map_err(|broken| broken.index), Err(2));
    }

    #[test]
    fn the_hash_depends_on_the_previous_hash() {
        let doc = document("PUN1/26-27/00001", "2026-04-01", 1_504_26);
        assert_ne!(document_hash(None, &doc), document_hash(Some([0; 32]), &doc));
        assert_ne!(
            document_hash(Some([0; 32]), &doc),
            document_hash(Some([1; 32]), &doc)
        );
    }

    #[test]
    fn moving_characters_between_fields_changes_the_hash() {
        let doc = document("PUN1/26-27/00001", "2026-04-01", 1_504_26);
        let mut moved = doc.clone();
        moved.lines[0].description = "Haircut9".into();
        moved.lines[0].code = "99721".into();
        assert_ne!(document_hash(None, &doc), document_hash(None, &moved));
        let mut absent = doc.clone();
        absent.customer_gstin = Some(String::new());
        assert_ne!(document_hash(None, &doc), document_hash(None, &absent));
    }

    #[test]
    fn the_encoding_is_pinned() {
        // Changing the encoding would break every stored chain: a new format
        // needs a new tag, not an edit. The value was also computed by a separate
        // implementation written from the module documentation alone.
        let doc = document("PUN1/26-27/00001", "2026-04-01", 1_504_26);
        assert_eq!(
            hex(&document_hash(None, &doc)),
            "8460561616d456b5fe78b460bd556aef1d332594a38f20a16518e137e3460bd0"
        );
    }
}
