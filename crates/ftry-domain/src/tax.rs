//! The GST tax engine: from the lines of a sale to the figures of a tax
//! invoice (or a bill of supply).
//!
//! Pure: the caller passes the supplier's registration and state, the place
//! of supply, the tenant's pricing mode, the invoice date and the rate table
//! (the `tax_rates` rows); [`compute_invoice`] returns every figure the
//! document prints, or says precisely what is wrong with the input.
//!
//! # Rules
//!
//! **Rates** come from the table, never from code: for each line's SAC/HSN
//! code, the row with the latest `effective_from` on or before the invoice
//! date. A code with no row at all, or with rows only from later dates, is an
//! error.
//!
//! **Document.** A regular (GST-registered) supplier issues a tax invoice. A
//! composition or unregistered supplier issues a bill of supply: no rate is
//! looked up, no tax is charged, every tax figure is zero, the taxable value
//! is the net amount and there is no tax summary (the HSN/SAC summary still
//! lists the codes, at rate zero).
//!
//! **Supply.** One place of supply per invoice, as in the GST e-invoice
//! schema: the salon's state for services performed there, the delivery state
//! for goods delivered elsewhere. A sale mixing the two with different states
//! is two invoices; the caller splits it. Supplier state equal to the place of
//! supply is intra-state (CGST + SGST), otherwise inter-state (IGST). Both
//! must be GST state codes.
//!
//! **Lines.** Quantity is a whole number of units, at least 1; the unit price
//! is at least zero. `gross = quantity × unit price`.
//!
//! **Discounts come before tax.** A line discount (an amount, or a percentage
//! in basis points of the line's gross, rounded half up) applies first. An
//! invoice discount (an amount, or a percentage of the sum of the lines after
//! their own discounts, rounded half up) is then apportioned over the lines
//! pro rata to that post-line-discount value by largest remainder: each line
//! gets the floor of its exact share, and the paise left over go one each to
//! the lines with the largest remainders (earlier line first on a tie), so
//! the shares sum to the discount exactly and no line's share exceeds its
//! value. A discount larger than the value it applies to, a negative one, or
//! a percentage above 100% is an error. `net = gross − line discount − share
//! of the invoice discount`.
//!
//! **Tax-exclusive pricing** (prices before tax): `taxable = net`. Inter-state:
//! `IGST = round_half_up(taxable × rate / 10000)`. Intra-state: CGST and SGST
//! are each `round_half_up(taxable × (rate / 2) / 10000)`, computed once and
//! charged twice, so CGST == SGST always (the half rate of a 5% supply is
//! 2.5%, and each half is rounded on its own, as the two taxes are printed and
//! filed separately). The tax can then differ by a paisa from rounding the
//! full rate once; the equal halves are the rule.
//!
//! **Tax-inclusive pricing** (prices the client sees, tax included): the line
//! total is always exactly the net price. `taxable =
//! round_half_up(net × 10000 / (10000 + rate))` and the tax is `net −
//! taxable`: all IGST inter-state. Intra-state, CGST == SGST must still hold,
//! so when `net − taxable` is an odd number of paise the taxable value moves
//! by one paisa, to whichever neighbour is nearer the exact quotient (the
//! lower on an exact tie), and CGST = SGST = half the now even tax. Each half
//! is then within one paisa of the exclusive rule applied to the taxable
//! value. The price the client saw wins over that rule because no taxable
//! value can satisfy both: ₹1,050.20 at 5% gives taxable ₹1,000.20 and
//! ₹25.00 + ₹25.00, while ₹1,000.20 priced exclusive would be ₹25.01 +
//! ₹25.01 = ₹1,050.22, and ₹1,000.19 would be ₹25.00 + ₹25.00 = ₹1,050.19.
//!
//! **Tip** is outside the taxable value: no tax, added after the lines.
//!
//! **Round-off**, when asked for, rounds the grand total (lines and tip) half
//! up to the rupee and shows the difference as its own signed figure.
//!
//! **Totals** are exactly the sums of the line figures; the tax summary (by
//! rate) and the HSN/SAC summary (by code and rate) are sums over the lines
//! in their group.
//!
//! **Overflow.** All arithmetic is checked; amounts too large for an `i64` of
//! paise give [`TaxError::Overflow`], never a panic or a wrapped value.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::gstin::state_name;
use crate::money::{Overflow, Paise};

#[cfg(test)]
#[allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts read as rupees_paise: 1_050_00 is ₹1,050.00"
)]
mod tests;

/// Basis points in a whole (100%).
const WHOLE_BP: u32 = 10_000;

/// The supplier's GST registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    Regular,
    Composition,
    Unregistered,
}

/// Whether the tenant's prices include GST. A tenant setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingMode {
    TaxExclusive,
    TaxInclusive,
}

/// One row of the `tax_rates` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRate {
    pub code: String,
    pub effective_from: NaiveDate,
    /// The full GST rate in basis points: 500 = 5%.
    pub rate_bp: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    Amount(Paise),
    /// A percentage in basis points: 1000 = 10%.
    PercentBp(u32),
}

/// A line as the cashier enters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub description: String,
    /// SAC (services) or HSN (goods) code.
    pub code: String,
    pub quantity: u32,
    pub unit_price: Paise,
    pub discount: Option<Discount>,
}

#[derive(Debug, Clone, Copy)]
pub struct InvoiceInput<'a> {
    pub registration: Registration,
    pub supplier_state: &'a str,
    pub place_of_supply: &'a str,
    pub pricing: PricingMode,
    pub date: NaiveDate,
    pub rates: &'a [TaxRate],
    pub lines: &'a [LineInput],
    pub invoice_discount: Option<Discount>,
    pub tip: Paise,
    pub round_off: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    TaxInvoice,
    BillOfSupply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Supply {
    IntraState,
    InterState,
}

/// What a discount applies to; a line by its index in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountTarget {
    Line(usize),
    Invoice,
}

impl fmt::Display for DiscountTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscountTarget::Line(index) => write!(f, "line {}", index + 1),
            DiscountTarget::Invoice => f.write_str("invoice"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("`{0}` is not in the tax rate table")]
    UnknownCode(String),
    #[error("no rate for `{code}` is in force on {date}")]
    NotInForce { code: String, date: NaiveDate },
}

/// Line indexes count from zero; messages count from one, as printed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("an invoice needs at least one line")]
    NoLines,
    #[error("`{0}` is not a GST state code")]
    UnknownState(String),
    #[error("line {}: the quantity must be at least 1", .line + 1)]
    ZeroQuantity { line: usize },
    #[error("line {}: the unit price cannot be negative", .line + 1)]
    NegativePrice { line: usize },
    #[error("line {}: {source}", .line + 1)]
    Rate {
        line: usize,
        #[source]
        source: RateError,
    },
    #[error("{on}: a discount cannot be negative")]
    NegativeDiscount { on: DiscountTarget },
    #[error("{on}: a discount cannot be more than 100%")]
    PercentAbove100 { on: DiscountTarget, percent_bp: u32 },
    #[error("{on}: the discount of {discount} is more than the {value} it applies to")]
    DiscountExceedsValue {
        on: DiscountTarget,
        discount: Paise,
        value: Paise,
    },
    #[error("the tip cannot be negative")]
    NegativeTip,
    #[error("the amounts are too large")]
    Overflow,
}

impl From<Overflow> for TaxError {
    fn from(_: Overflow) -> Self {
        TaxError::Overflow
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub description: String,
    pub code: String,
    pub quantity: u32,
    pub unit_price: Paise,
    pub gross: Paise,
    pub line_discount: Paise,
    /// This line's share of the invoice discount.
    pub invoice_discount: Paise,
    pub taxable_value: Paise,
    /// Zero on a bill of supply.
    pub rate_bp: u32,
    pub cgst: Paise,
    pub sgst: Paise,
    pub igst: Paise,
    /// Taxable value plus taxes.
    pub total: Paise,
}

/// Each figure is the sum of the same figure over the lines, except `tip`,
/// `round_off` and `grand_total = lines_total + tip + round_off`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceTotals {
    pub gross: Paise,
    pub line_discount: Paise,
    pub invoice_discount: Paise,
    pub taxable_value: Paise,
    pub cgst: Paise,
    pub sgst: Paise,
    pub igst: Paise,
    pub lines_total: Paise,
    pub tip: Paise,
    pub round_off: Paise,
    pub grand_total: Paise,
}

/// The taxable value and taxes of a group of lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaxFigures {
    pub taxable_value: Paise,
    pub cgst: Paise,
    pub sgst: Paise,
    pub igst: Paise,
}

impl TaxFigures {
    fn add(&mut self, line: &InvoiceLine) -> Result<(), Overflow> {
        self.taxable_value = self.taxable_value.checked_add(line.taxable_value)?;
        self.cgst = self.cgst.checked_add(line.cgst)?;
        self.sgst = self.sgst.checked_add(line.sgst)?;
        self.igst = self.igst.checked_add(line.igst)?;
        Ok(())
    }
}

/// The lines taxed at one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateSummary {
    pub rate_bp: u32,
    #[serde(flatten)]
    pub figures: TaxFigures,
}

/// The lines of one SAC/HSN code at one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeSummary {
    pub code: String,
    pub rate_bp: u32,
    pub quantity: u64,
    #[serde(flatten)]
    pub figures: TaxFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub document_kind: DocumentKind,
    pub supply: Supply,
    pub lines: Vec<InvoiceLine>,
    pub totals: InvoiceTotals,
    /// By ascending rate; empty on a bill of supply.
    pub tax_summary: Vec<RateSummary>,
    /// By code, then rate.
    pub hsn_summary: Vec<CodeSummary>,
}

/// The rate in force for `code` on `date`: the row with the latest
/// `effective_from` on or before it.
pub fn rate_in_force(rates: &[TaxRate], code: &str, date: NaiveDate) -> Result<u32, RateError> {
    let rows: Vec<&TaxRate> = rates.iter().filter(|rate| rate.code == code).collect();
    if rows.is_empty() {
        return Err(RateError::UnknownCode(code.to_owned()));
    }
    rows.into_iter()
        .filter(|rate| rate.effective_from <= date)
        .max_by_key(|rate| rate.effective_from)
        .map(|rate| rate.rate_bp)
        .ok_or_else(|| RateError::NotInForce {
            code: code.to_owned(),
            date,
        })
}

/// Every figure of the invoice for these lines; see the module rules.
pub fn compute_invoice(input: &InvoiceInput<'_>) -> Result<Invoice, TaxError> {
    for state in [input.supplier_state, input.place_of_supply] {
        if state_name(state).is_none() {
            return Err(TaxError::UnknownState(state.to_owned()));
        }
    }
    if input.lines.is_empty() {
        return Err(TaxError::NoLines);
    }
    if input.tip.is_negative() {
        return Err(TaxError::NegativeTip);
    }
    let document_kind = match input.registration {
        Registration::Regular => DocumentKind::TaxInvoice,
        Registration::Composition | Registration::Unregistered => DocumentKind::BillOfSupply,
    };
    let supply = if input.supplier_state == input.place_of_supply {
        Supply::IntraState
    } else {
        Supply::InterState
    };

    let discounted = input
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| discounted_line(index, line))
        .collect::<Result<Vec<_>, _>>()?;
    let values: Vec<Paise> = discounted.iter().map(|line| line.value).collect();
    let value = Paise::checked_sum(values.iter().copied())?;
    let invoice_discount = discount_amount(input.invoice_discount, value, DiscountTarget::Invoice)?;
    let shares = apportion(invoice_discount, &values);

    let mut lines = Vec::with_capacity(input.lines.len());
    for (index, ((line, discounted), share)) in input.lines.iter().zip(&discounted).zip(shares).enumerate() {
        let rate_bp = match document_kind {
            DocumentKind::TaxInvoice => rate_in_force(input.rates, &line.code, input.date)
                .map_err(|source| TaxError::Rate { line: index, source })?,
            DocumentKind::BillOfSupply => 0,
        };
        let net = discounted.value.checked_sub(share)?;
        let taxes = match document_kind {
            DocumentKind::TaxInvoice => line_taxes(net, rate_bp, input.pricing, supply)?,
            DocumentKind::BillOfSupply => LineTaxes::untaxed(net),
        };
        lines.push(InvoiceLine {
            description: line.description.clone(),
            code: line.code.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            gross: discounted.gross,
            line_discount: discounted.discount,
            invoice_discount: share,
            taxable_value: taxes.taxable,
            rate_bp,
            cgst: taxes.cgst,
            sgst: taxes.sgst,
            igst: taxes.igst,
            total: Paise::checked_sum([taxes.taxable, taxes.cgst, taxes.sgst, taxes.igst])?,
        });
    }

    let totals = totals(&lines, input.tip, input.round_off)?;
    let tax_summary = match document_kind {
        DocumentKind::TaxInvoice => tax_summary(&lines)?,
        DocumentKind::BillOfSupply => Vec::new(),
    };
    let hsn_summary = hsn_summary(&lines)?;
    Ok(Invoice {
        document_kind,
        supply,
        lines,
        totals,
        tax_summary,
        hsn_summary,
    })
}

/// A line after its own discount, before the invoice discount.
struct DiscountedLine {
    gross: Paise,
    discount: Paise,
    value: Paise,
}

fn discounted_line(index: usize, line: &LineInput) -> Result<DiscountedLine, TaxError> {
    if line.quantity == 0 {
        return Err(TaxError::ZeroQuantity { line: index });
    }
    if line.unit_price.is_negative() {
        return Err(TaxError::NegativePrice { line: index });
    }
    let gross = line.unit_price.checked_mul(i64::from(line.quantity))?;
    let discount = discount_amount(line.discount, gross, DiscountTarget::Line(index))?;
    Ok(DiscountedLine {
        gross,
        discount,
        value: gross.checked_sub(discount)?,
    })
}

/// The discount in paise, never more than `value`.
fn discount_amount(discount: Option<Discount>, value: Paise, on: DiscountTarget) -> Result<Paise, TaxError> {
    let amount = match discount {
        None => return Ok(Paise::ZERO),
        Some(Discount::Amount(amount)) => amount,
        Some(Discount::PercentBp(percent_bp)) if percent_bp > WHOLE_BP => {
            return Err(TaxError::PercentAbove100 { on, percent_bp })
        }
        Some(Discount::PercentBp(percent_bp)) => {
            value.mul_div_half_up(i64::from(percent_bp), i64::from(WHOLE_BP))?
        }
    };
    if amount.is_negative() {
        return Err(TaxError::NegativeDiscount { on });
    }
    if amount > value {
        return Err(TaxError::DiscountExceedsValue {
            on,
            discount: amount,
            value,
        });
    }
    Ok(amount)
}

/// Splits `amount` over `weights` pro rata by largest remainder. Requires
/// non-negative weights and `0 ≤ amount ≤ Σ weights`; then the shares sum to
/// `amount` and each share is at most its weight.
fn apportion(amount: Paise, weights: &[Paise]) -> Vec<Paise> {
    let total: i128 = weights.iter().map(|weight| i128::from(weight.0)).sum();
    if total == 0 {
        return vec![Paise::ZERO; weights.len()];
    }
    let amount = i128::from(amount.0);
    // i64 × i64 always fits an i128.
    let exact: Vec<(i128, i128)> = weights
        .iter()
        .map(|weight| {
            let product = amount * i128::from(weight.0);
            (product / total, product % total)
        })
        .collect();
    let mut left_over = amount - exact.iter().map(|(floor, _)| floor).sum::<i128>();
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    by_remainder.sort_by_key(|&index| std::cmp::Reverse(exact[index].1));
    let mut shares: Vec<i128> = exact.iter().map(|(floor, _)| *floor).collect();
    for index in by_remainder {
        if left_over == 0 {
            break;
        }
        shares[index] += 1;
        left_over -= 1;
    }
    // Each share is at most its weight, an i64.
    shares.into_iter().map(|share| Paise(share as i64)).collect()
}

struct LineTaxes {
    taxable: Paise,
    cgst: Paise,
    sgst: Paise,
    igst: Paise,
}

impl LineTaxes {
    fn untaxed(net: Paise) -> Self {
        Self {
            taxable: net,
            cgst: Paise::ZERO,
            sgst: Paise::ZERO,
            igst: Paise::ZERO,
        }
    }
}

fn line_taxes(net: Paise, rate_bp: u32, pricing: PricingMode, supply: Supply) -> Result<LineTaxes, Overflow> {
    let rate = i64::from(rate_bp);
    let whole = i64::from(WHOLE_BP);
    let taxes = match (pricing, supply) {
        (PricingMode::TaxExclusive, Supply::InterState) => LineTaxes {
            igst: net.mul_div_half_up(rate, whole)?,
            ..LineTaxes::untaxed(net)
        },
        (PricingMode::TaxExclusive, Supply::IntraState) => {
            let half = net.mul_div_half_up(rate, 2 * whole)?;
            LineTaxes {
                cgst: half,
                sgst: half,
                ..LineTaxes::untaxed(net)
            }
        }
        (PricingMode::TaxInclusive, Supply::InterState) => {
            let taxable = net.mul_div_half_up(whole, whole + rate)?;
            LineTaxes {
                taxable,
                igst: net.checked_sub(taxable)?,
                ..LineTaxes::untaxed(net)
            }
        }
        (PricingMode::TaxInclusive, Supply::IntraState) => {
            let taxable = inclusive_taxable_with_even_tax(net, rate)?;
            let half = Paise(net.checked_sub(taxable)?.0 / 2);
            LineTaxes {
                taxable,
                cgst: half,
                sgst: half,
                igst: Paise::ZERO,
            }
        }
    };
    Ok(taxes)
}

/// The taxable value nearest `net × 10000 / (10000 + rate)` that leaves an
/// even tax, so that it splits into equal CGST and SGST.
fn inclusive_taxable_with_even_tax(net: Paise, rate: i64) -> Result<Paise, Overflow> {
    let whole = i64::from(WHOLE_BP);
    let rounded = net.mul_div_half_up(whole, whole + rate)?;
    if (net.0 - rounded.0) % 2 == 0 {
        return Ok(rounded);
    }
    // |t × (10000 + rate) − net × 10000|: how far t is from the exact quotient, scaled.
    let distance = |taxable: i64| {
        (i128::from(taxable) * i128::from(whole + rate) - i128::from(net.0) * i128::from(whole)).abs()
    };
    // The tax is odd, so at least one paisa: the upper neighbour is at most `net`.
    let lower = rounded.0 - 1;
    let upper = rounded.0 + 1;
    if lower >= 0 && distance(lower) <= distance(upper) {
        Ok(Paise(lower))
    } else {
        Ok(Paise(upper))
    }
}

fn totals(lines: &[InvoiceLine], tip: Paise, round_off: bool) -> Result<InvoiceTotals, Overflow> {
    let sum = |figure: fn(&InvoiceLine) -> Paise| Paise::checked_sum(lines.iter().map(figure));
    let lines_total = sum(|line| line.total)?;
    let before_round_off = lines_total.checked_add(tip)?;
    let grand_total = if round_off {
        before_round_off.round_to_rupee()
    } else {
        before_round_off
    };
    Ok(InvoiceTotals {
        gross: sum(|line| line.gross)?,
        line_discount: sum(|line| line.line_discount)?,
        invoice_discount: sum(|line| line.invoice_discount)?,
        taxable_value: sum(|line| line.taxable_value)?,
        cgst: sum(|line| line.cgst)?,
        sgst: sum(|line| line.sgst)?,
        igst: sum(|line| line.igst)?,
        lines_total,
        tip,
        round_off: grand_total.checked_sub(before_round_off)?,
        grand_total,
    })
}

fn tax_summary(lines: &[InvoiceLine]) -> Result<Vec<RateSummary>, Overflow> {
    let mut by_rate: BTreeMap<u32, RateSummary> = BTreeMap::new();
    for line in lines {
        by_rate
            .entry(line.rate_bp)
            .or_insert(RateSummary {
                rate_bp: line.rate_bp,
                figures: TaxFigures::default(),
            })
            .figures
            .add(line)?;
    }
    Ok(by_rate.into_values().collect())
}

fn hsn_summary(lines: &[InvoiceLine]) -> Result<Vec<CodeSummary>, Overflow> {
    let mut by_code: BTreeMap<(&str, u32), CodeSummary> = BTreeMap::new();
    for line in lines {
        let summary = by_code
            .entry((&line.code, line.rate_bp))
            .or_insert_with(|| CodeSummary {
                code: line.code.clone(),
                rate_bp: line.rate_bp,
                quantity: 0,
                figures: TaxFigures::default(),
            });
        summary.quantity += u64::from(line.quantity);
        summary.figures.add(line)?;
    }
    Ok(by_code.into_values().collect())
}
