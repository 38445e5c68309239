//! Checkout: drafts from an appointment or a walk-in sale, lines, discounts
//! and tips, finalization (GST figures, a gapless number, the hash chain,
//! stock, the appointment completed), payments, credit notes and the ledger
//! check.

use chrono::{NaiveDate, Utc};
use ftry_domain::gstin::Gstin;
use ftry_domain::ledger::{self, CanonicalDocument, CanonicalLine, CanonicalTotals, ChainedDocument, Hash};
use ftry_domain::money::Paise;
use ftry_domain::numbering::{self, DocumentSeries, SeriesCode};
use ftry_domain::permissions::Permission;
use ftry_domain::tax::{
    self, Discount, DocumentKind, InvoiceInput, LineInput, PricingMode, Registration, TaxRate,
};
use ftry_store::audit::{self, Event, Origin};
use ftry_store::invoices::{
    self, Finalization, Invoice, Line, LineFigures, NewInvoice, NewLine, NewPayment, Payment,
};
use ftry_store::products::NewMovement;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, Validator};
use crate::{App, Principal};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// For a B2B invoice; checked by format and check character.
    pub gstin: Option<String>,
    pub address: Option<String>,
    /// Place of supply when goods go to another state; default the branch's state.
    pub state_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    pub location_id: Option<Uuid>,
    /// Bill this appointment: its services become the lines, with their staff.
    pub appointment_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub customer: Option<CustomerInput>,
}

/// A discount: exactly one of an amount or a percentage (basis points: 1000 = 10%).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DiscountInput {
    pub amount_paise: Option<i64>,
    pub percent_bp: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    /// `product`, `service` or `custom`.
    pub kind: String,
    pub product_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    /// For custom lines (products and services take their own).
    pub description: Option<String>,
    /// SAC/HSN code of a custom line.
    pub code: Option<String>,
    pub quantity: Option<i32>,
    /// Default: the product's or service's price.
    pub unit_price_paise: Option<i64>,
    pub discount: Option<DiscountInput>,
    /// Who did the service or sold the product (commission).
    pub staff_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftUpdate {
    pub customer: Option<CustomerInput>,
    /// A discount on the whole invoice, before tax; `null` removes it.
    #[serde(default, deserialize_with = "crate::invoices::present")]
    pub invoice_discount: Option<Option<DiscountInput>>,
    pub tip_paise: Option<i64>,
    pub tip_staff_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// `cash`, `card`, `upi`, `bank_transfer`, `wallet` or `other`.
    pub method: String,
    pub amount_paise: i64,
    /// Cash handed over; the change is computed.
    pub tendered_paise: Option<i64>,
    pub reference: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteRequest {
    pub reason: String,
    /// Lines and quantities to credit; absent = the whole invoice.
    pub lines: Option<Vec<CreditLine>>,
    /// Put the credited products back in stock.
    #[serde(default)]
    pub restock: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLine {
    pub position: i16,
    pub quantity: i32,
}

/// An invoice with its lines and payments; a draft also shows its figures as
/// they would be if finalized now.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub invoice: Invoice,
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<Line>,
    #[schema(value_type = Vec<Object>)]
    pub payments: Vec<Payment>,
    /// Still to pay (invoices) or to refund (credit notes).
    pub due_paise: i64,
    #[schema(value_type = Option<Object>)]
    pub preview: Option<tax::Invoice>,
    /// A finalized invoice's credit notes, oldest first.
    pub credit_notes: Vec<CreditNoteRef>,
    /// What of a finalized invoice may still be credited: each line's
    /// position and quantity not yet credited (lines all credited left out).
    pub creditable: Vec<CreditLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteRef {
    pub id: Uuid,
    pub number: String,
    pub total_paise: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LedgerReport {
    pub ok: bool,
    pub series_checked: usize,
    pub documents_checked: usize,
    /// The first broken link: its series and document number.
    pub broken: Option<String>,
}

/// Distinguish an absent field from an explicit `null`.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn discount_of(input: &DiscountInput, field: &str) -> Result<Discount, AppError> {
    match (input.amount_paise, input.percent_bp) {
        (Some(amount), None) if amount >= 0 => Ok(Discount::Amount(Paise(amount))),
        (None, Some(bp)) if bp <= 10_000 => Ok(Discount::PercentBp(bp)),
        (Some(_), None) => Err(AppError::invalid(field, "the amount cannot be negative")),
        (None, Some(_)) => Err(AppError::invalid(
            field,
            "a percentage is at most 10000 basis points (100%)",
        )),
        _ => Err(AppError::invalid(
            field,
            "give exactly one of amount_paise and percent_bp",
        )),
    }
}

fn discount_json(discount: &Option<serde_json::Value>, field: &str) -> Result<Option<Discount>, AppError> {
    match discount {
        None => Ok(None),
        Some(value) => {
            let input: DiscountInput = serde_json::from_value(value.clone())
                .map_err(|e| AppError::Internal(format!("stored discount: {e}")))?;
            discount_of(&input, field).map(Some)
        }
    }
}

fn not_draft() -> AppError {
    AppError::conflict(
        "invoice_finalized",
        "A finalized invoice is never changed; issue a credit note to correct it.",
    )
}

/// What the tax engine needs to know about the business and branch, and
/// the tax table it applies.
struct Supplier {
    registration: Registration,
    pricing: PricingMode,
    round_off: bool,
    state_code: String,
    series_code: String,
    timezone: String,
    snapshot: serde_json::Value,
    gstin: Option<String>,
    rates: Vec<TaxRate>,
}

/// Registration, inclusive, round-off, state, series code, GSTIN, timezone,
/// name, address, and the tax table's codes, dates and rates.
type SupplierRow = (
    String,
    bool,
    bool,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Vec<String>,
    Vec<NaiveDate>,
    Vec<i32>,
);

/// The branch's supplier details and the tax table, in one round trip.
async fn supplier(tx: &mut sqlx::PgConnection, location_id: Uuid) -> Result<Supplier, AppError> {
    let row: Option<SupplierRow> = sqlx::query_as(
        "SELECT t.gst_registration, t.prices_include_tax, t.round_off, l.state_code, l.series_code, l.gstin,
                l.timezone, t.name, l.address, r.codes, r.dates, r.rates
           FROM locations l JOIN tenants t ON t.id = l.tenant_id,
                (SELECT COALESCE(array_agg(code ORDER BY code, effective_from), '{}') AS codes,
                        COALESCE(array_agg(effective_from ORDER BY code, effective_from), '{}') AS dates,
                        COALESCE(array_agg(rate_bp ORDER BY code, effective_from), '{}') AS rates
                   FROM tax_rates) r
          WHERE l.id = $1",
    )
    .bind(location_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (
        registration,
        inclusive,
        round_off,
        state_code,
        series_code,
        gstin,
        timezone,
        name,
        address,
        codes,
        dates,
        rates,
    ) = row.ok_or(AppError::NotFound)?;
    let rates = codes
        .into_iter()
        .zip(dates)
        .zip(rates)
        .map(|((code, effective_from), rate_bp)| TaxRate {
            code,
            effective_from,
            rate_bp: u32::try_from(rate_bp).unwrap_or(0),
        })
        .collect();
    // A branch without a GSTIN cannot charge GST, whatever the business's setting.
    let registration = match (registration.as_str(), &gstin) {
        ("regular", Some(_)) => Registration::Regular,
        ("composition", _) => Registration::Composition,
        _ => Registration::Unregistered,
    };
    Ok(Supplier {
        registration,
        pricing: if inclusive {
            PricingMode::TaxInclusive
        } else {
            PricingMode::TaxExclusive
        },
        round_off,
        snapshot: serde_json::json!({ "name": name, "address": address, "gstin": gstin, "state_code": state_code }),
        state_code,
        series_code,
        timezone,
        gstin,
        rates,
    })
}

/// The figures of a document as it stands.
fn compute(
    supplier: &Supplier,
    invoice: &Invoice,
    lines: &[Line],
    date: NaiveDate,
) -> Result<tax::Invoice, AppError> {
    let inputs = lines
        .iter()
        .map(|l| {
            Ok(LineInput {
                description: l.description.clone(),
                code: l.code.clone(),
                quantity: u32::try_from(l.quantity).unwrap_or(0),
                unit_price: Paise(l.unit_price_paise),
                discount: discount_json(&l.discount, &format!("lines[{}].discount", l.position))?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let input = InvoiceInput {
        registration: supplier.registration,
        supplier_state: &supplier.state_code,
        place_of_supply: &invoice.place_of_supply,
        pricing: supplier.pricing,
        date,
        rates: &supplier.rates,
        lines: &inputs,
        invoice_discount: discount_json(&invoice.invoice_discount, "invoice_discount")?,
        tip: Paise(invoice.tip_paise),
        // A credit note returns exact amounts: rounding each note to the rupee
        // could credit more than the invoice took.
        round_off: supplier.round_off && invoice.kind != "credit_note",
    };
    tax::compute_invoice(&input).map_err(|e| match e {
        tax::TaxError::NoLines => AppError::conflict("empty_invoice", "An invoice needs at least one line."),
        tax::TaxError::Overflow => AppError::invalid("lines", e),
        tax::TaxError::DiscountExceedsValue {
            on: tax::DiscountTarget::Invoice,
            ..
        } => AppError::invalid("invoice_discount", e),
        other => AppError::invalid("lines", other),
    })
}

fn canonical(invoice: &Invoice, lines: &[Line]) -> Result<CanonicalDocument, AppError> {
    let missing = || AppError::Internal("a finalized document lacks its figures".into());
    let totals = invoice.totals.as_ref().ok_or_else(missing)?;
    let figure = |name: &str| Paise(totals[name].as_i64().unwrap_or(0));
    Ok(CanonicalDocument {
        number: invoice.number.clone().ok_or_else(missing)?,
        date: invoice.issued_on.ok_or_else(missing)?,
        supplier_gstin: invoice
            .supplier
            .as_ref()
            .and_then(|s| s["gstin"].as_str())
            .map(str::to_owned),
        customer_name: invoice.customer_name.clone(),
        customer_gstin: invoice.customer_gstin.clone(),
        place_of_supply: invoice.place_of_supply.clone(),
        lines: lines
            .iter()
            .map(|l| CanonicalLine {
                description: l.description.clone(),
                code: l.code.clone(),
                quantity: u32::try_from(l.quantity).unwrap_or(0),
                unit_price: Paise(l.unit_price_paise),
                line_discount: Paise(l.line_discount_paise.unwrap_or(0)),
                invoice_discount: Paise(l.invoice_discount_paise.unwrap_or(0)),
                taxable_value: Paise(l.taxable_paise.unwrap_or(0)),
                rate_bp: u32::try_from(l.rate_bp.unwrap_or(0)).unwrap_or(0),
                cgst: Paise(l.cgst_paise.unwrap_or(0)),
                sgst: Paise(l.sgst_paise.unwrap_or(0)),
                igst: Paise(l.igst_paise.unwrap_or(0)),
                total: Paise(l.total_paise.unwrap_or(0)),
            })
            .collect(),
        totals: CanonicalTotals {
            taxable_value: figure("taxable_value"),
            cgst: figure("cgst"),
            sgst: figure("sgst"),
            igst: figure("igst"),
            tip: figure("tip"),
            round_off: figure("round_off"),
            grand_total: figure("grand_total"),
        },
    })
}

fn paid(payments: &[Payment]) -> i64 {
    payments.iter().map(|p| p.amount_paise).sum()
}

/// A document as the API shows it, read.
async fn view(
    tx: &mut sqlx::PgConnection,
    invoice: Invoice,
    preview: Option<tax::Invoice>,
) -> Result<InvoiceView, AppError> {
    let lines = invoices::lines(tx, invoice.id).await?;
    let payments = invoices::payments(tx, invoice.id).await?;
    view_of(tx, invoice, lines, payments, preview).await
}

/// A document as the API shows it, given its lines and payments: a
/// finalized invoice's credit notes are read.
async fn view_of(
    tx: &mut sqlx::PgConnection,
    invoice: Invoice,
    lines: Vec<Line>,
    payments: Vec<Payment>,
    preview: Option<tax::Invoice>,
) -> Result<InvoiceView, AppError> {
    let (notes, credited) = if creditable(&invoice) {
        (
            invoices::credit_notes_of(tx, invoice.id).await?,
            invoices::credited_quantities(tx, invoice.id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(assemble(invoice, lines, payments, preview, notes, &credited))
}

/// A document that has no payments and no credit notes, as the API shows
/// it: a draft, or a document finalized in the transaction that made this.
fn fresh_view(invoice: Invoice, lines: Vec<Line>) -> InvoiceView {
    assemble(invoice, lines, Vec::new(), None, Vec::new(), &[])
}

/// Whether a document can have credit notes: a finalized invoice.
fn creditable(invoice: &Invoice) -> bool {
    invoice.kind == "invoice" && invoice.status == "finalized"
}

fn assemble(
    invoice: Invoice,
    lines: Vec<Line>,
    payments: Vec<Payment>,
    preview: Option<tax::Invoice>,
    notes: Vec<(Uuid, String, i64)>,
    credited: &[(i16, i64)],
) -> InvoiceView {
    let due_paise = invoice.total_paise - paid(&payments);
    let creditable = if creditable(&invoice) {
        lines
            .iter()
            .filter_map(|l| {
                let done = credited
                    .iter()
                    .find(|(p, _)| *p == l.position)
                    .map_or(0, |(_, q)| *q);
                let left = i32::try_from(i64::from(l.quantity) - done).unwrap_or(0);
                (left > 0).then_some(CreditLine {
                    position: l.position,
                    quantity: left,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let credit_notes = notes
        .into_iter()
        .map(|(id, number, total_paise)| CreditNoteRef {
            id,
            number,
            total_paise,
        })
        .collect();
    InvoiceView {
        invoice,
        lines,
        payments,
        due_paise,
        preview,
        credit_notes,
        creditable,
    }
}

fn local_today(timezone: &str) -> NaiveDate {
    let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::Asia::Kolkata);
    Utc::now().with_timezone(&zone).date_naive()
}

fn customer_fields(
    v: &mut Validator,
    customer: &CustomerInput,
) -> (String, Option<String>, Option<String>, String, Option<String>) {
    let name = v
        .optional_text("customer.name", customer.name.as_deref(), 200)
        .unwrap_or_default();
    let phone = match customer.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => v
            .check("customer.phone", ftry_domain::contact::Phone::parse(p))
            .map(|p| p.as_str().to_owned()),
        None => None,
    };
    let gstin = match customer.gstin.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => v
            .check("customer.gstin", Gstin::parse(g))
            .map(|g| g.as_str().to_owned()),
        None => None,
    };
    let address = v
        .optional_text("customer.address", customer.address.as_deref(), 500)
        .unwrap_or_default();
    let state = match customer.state_code.as_deref() {
        Some(code) if ftry_domain::gstin::state_name(code).is_some() => Some(code.to_owned()),
        Some(_) => {
            v.push("customer.state_code", "must be a two-digit GST state code");
            None
        }
        None => None,
    };
    (name, phone, gstin, address, state)
}

impl App {
    pub async fn invoice(&self, principal: &Principal, id: Uuid) -> Result<InvoiceView, AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let invoice = invoices::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let preview = if invoice.status == "draft" {
            let supplier = supplier(&mut tx, invoice.location_id).await?;
            let lines = invoices::lines(&mut tx, id).await?;
            compute(&supplier, &invoice, &lines, local_today(&supplier.timezone)).ok()
        } else {
            None
        };
        let view = view(&mut tx, invoice, preview).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The invoice of an appointment, if it has been checked out.
    pub async fn appointment_invoice(
        &self,
        principal: &Principal,
        appointment_id: Uuid,
    ) -> Result<Option<Uuid>, AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let id = invoices::of_appointment(&mut tx, appointment_id).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The finalized invoice a receipt link names: not found when the link
    /// is not genuine or has expired.
    pub async fn receipt_invoice(&self, token: &str) -> Result<InvoiceView, AppError> {
        let (tenant, id) = self.receipt_token(token).ok_or(AppError::NotFound)?;
        let mut tx = self.pools.begin(tenant).await?;
        let invoice = invoices::get(&mut tx, id)
            .await?
            .filter(|i| i.status == "finalized")
            .ok_or(AppError::NotFound)?;
        let view = view(&mut tx, invoice, None).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn invoices(
        &self,
        principal: &Principal,
        location_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        cursor: Option<Uuid>,
        limit: i64,
    ) -> Result<(Vec<Invoice>, Option<Uuid>), AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let limit = limit.clamp(1, 200);
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        ftry_store::tenants::get_location(&mut tx, location_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut list = invoices::list(&mut tx, location_id, from, to, cursor, limit + 1).await?;
        tx.commit().await?;
        let next = (list.len() as i64 > limit).then(|| {
            list.truncate(limit as usize);
            list.last().map(|i| i.id)
        });
        Ok((list, next.flatten()))
    }

    /// Start a draft: for an appointment (its services as lines, with their
    /// staff and prices) or a walk-in sale.
    pub async fn create_draft(
        &self,
        principal: &Principal,
        request: &DraftRequest,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let mut v = Validator::default();
        let customer = request.customer.clone().unwrap_or(CustomerInput {
            name: None,
            phone: None,
            gstin: None,
            address: None,
            state_code: None,
        });
        let (mut name, phone, gstin, address, state) = customer_fields(&mut v, &customer);
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let appointment = match request.appointment_id {
            Some(id) => Some(
                ftry_store::appointments::get(&mut tx, id)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        if let Some(a) = &appointment {
            if matches!(a.status.as_str(), "cancelled" | "no_show") {
                return Err(AppError::conflict(
                    "appointment_not_billable",
                    format!("The appointment is {}.", a.status),
                ));
            }
        }
        let location_id = match (request.location_id, &appointment) {
            (_, Some(a)) => a.location_id,
            (Some(l), None) => l,
            (None, None) => {
                return Err(AppError::invalid(
                    "location_id",
                    "give a location or an appointment",
                ))
            }
        };
        let supplier = supplier(&mut tx, location_id).await?;
        let client_id = request.client_id.or(appointment.as_ref().map(|a| a.client_id));
        if let Some(client_id) = client_id {
            let client_name: Option<String> = sqlx::query_scalar("SELECT name FROM clients WHERE id = $1")
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await?;
            let client_name = client_name.ok_or(AppError::NotFound)?;
            if name.is_empty() {
                name = client_name;
            }
        }
        let id = Uuid::now_v7();
        let inserted = invoices::insert(
            &mut tx,
            principal.tenant_id,
            &NewInvoice {
                id,
                location_id,
                kind: "invoice",
                original_id: None,
                appointment_id: appointment.as_ref().map(|a| a.id),
                client_id,
                customer_name: &name,
                customer_phone: phone.as_deref(),
                customer_gstin: gstin.as_deref(),
                customer_address: &address,
                place_of_supply: state.as_deref().unwrap_or(&supplier.state_code),
                restock: false,
                reason: "",
                created_by: Some(principal.user_id),
            },
        )
        .await;
        let invoice = match inserted {
            Err(sqlx::Error::Database(e)) if e.constraint() == Some("invoices_one_per_appointment") => {
                return Err(AppError::conflict(
                    "appointment_already_billed",
                    "This appointment already has an invoice.",
                ))
            }
            other => other?,
        };
        let mut lines = Vec::new();
        if let Some(a) = &appointment {
            let items = ftry_store::appointments::items(&mut tx, &[a.id]).await?;
            let service_ids: Vec<Uuid> = items.iter().map(|i| i.service_id).collect();
            let codes: std::collections::HashMap<Uuid, String> =
                ftry_store::catalog::services_by_id(&mut tx, &service_ids)
                    .await?
                    .into_iter()
                    .map(|s| (s.id, s.fields.tax_code))
                    .collect();
            for item in items.iter().filter(|i| i.active || a.status == "completed") {
                let code = codes
                    .get(&item.service_id)
                    .ok_or_else(|| AppError::Internal("an appointment item without its service".into()))?;
                let line = invoices::add_line(
                    &mut tx,
                    principal.tenant_id,
                    id,
                    &NewLine {
                        kind: "service",
                        description: &item.service_name,
                        code,
                        quantity: 1,
                        unit_price_paise: item.price_paise,
                        discount: None,
                        discount_approved_by: None,
                        staff_id: Some(item.staff_id),
                        service_id: Some(item.service_id),
                        product_id: None,
                        appointment_item_id: Some(item.id),
                        original_position: None,
                    },
                )
                .await?;
                lines.push(line);
            }
        }
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "invoice.drafted", "invoice", id),
        )
        .await?;
        tx.commit().await?;
        Ok(fresh_view(invoice, lines))
    }

    async fn draft_for_update(&self, tx: &mut sqlx::PgConnection, id: Uuid) -> Result<Invoice, AppError> {
        let invoice = invoices::get_for_update(tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if invoice.status != "draft" {
            return Err(not_draft());
        }
        Ok(invoice)
    }

    fn approve_discount(
        &self,
        principal: &Principal,
        discount: &Option<DiscountInput>,
    ) -> Result<Option<Uuid>, AppError> {
        match discount {
            None => Ok(None),
            Some(_) => {
                principal.require(Permission::DiscountsApprove)?;
                Ok(Some(principal.user_id))
            }
        }
    }

    pub async fn add_invoice_line(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &LineRequest,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let approved_by = self.approve_discount(principal, &request.discount)?;
        if let Some(d) = &request.discount {
            discount_of(d, "discount")?;
        }
        let quantity = request.quantity.unwrap_or(1);
        if !(1..=10_000).contains(&quantity) {
            return Err(AppError::invalid("quantity", "must be 1 to 10000"));
        }
        if request
            .unit_price_paise
            .is_some_and(|p| !(0..=100_000_000).contains(&p))
        {
            return Err(AppError::invalid(
                "unit_price_paise",
                "must be 0 to 100000000 paise",
            ));
        }
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let invoice = self.draft_for_update(&mut tx, id).await?;
        let (description, code, price, product_id, service_id) = match request.kind.as_str() {
            "product" => {
                let product_id = request
                    .product_id
                    .ok_or_else(|| AppError::invalid("product_id", "is required"))?;
                let row: Option<(String, String, i64, bool)> =
                    sqlx::query_as("SELECT name, hsn_code, price_paise, active FROM products WHERE id = $1")
                        .bind(product_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let (name, hsn, price, active) = row.ok_or(AppError::NotFound)?;
                if !active {
                    return Err(AppError::invalid("product_id", "the product is not on sale"));
                }
                (name, hsn, price, Some(product_id), None)
            }
            "service" => {
                let service_id = request
                    .service_id
                    .ok_or_else(|| AppError::invalid("service_id", "is required"))?;
                let row: Option<(String, String, i64)> =
                    sqlx::query_as("SELECT name, tax_code, price_paise FROM services WHERE id = $1")
                        .bind(service_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let (name, code, price) = row.ok_or(AppError::NotFound)?;
                (name, code, price, None, Some(service_id))
            }
            "custom" => {
                let mut v = Validator::default();
                let description = v.text("description", request.description.as_deref().unwrap_or(""), 200);
                let code = request.code.clone().unwrap_or_default();
                let known: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tax_classes WHERE code = $1)")
                        .bind(&code)
                        .fetch_one(&mut *tx)
                        .await?;
                if !known {
                    v.push(
                        "code",
                        "must be a SAC/HSN code of the tax table (GET /api/v1/tax-classes)",
                    );
                }
                let price = request.unit_price_paise;
                if price.is_none() {
                    v.push("unit_price_paise", "is required for a custom line");
                }
                v.finish()?;
                (
                    description.unwrap_or_default(),
                    code,
                    price.unwrap_or(0),
                    None,
                    None,
                )
            }
            _ => return Err(AppError::invalid("kind", "must be product, service or custom")),
        };
        // A discount larger than the line is refused on the field that carries it.
        if let Some(DiscountInput {
            amount_paise: Some(amount),
            ..
        }) = &request.discount
        {
            let gross = Paise(request.unit_price_paise.unwrap_or(price))
                .checked_mul(i64::from(quantity))
                .map_err(|_| AppError::invalid("quantity", "amounts too large"))?;
            if *amount > gross.0 {
                return Err(AppError::invalid(
                    "discount",
                    format!(
                        "the discount of {} is more than the line's {gross}",
                        Paise(*amount)
                    ),
                ));
            }
        }
        if let Some(staff_id) = request.staff_id {
            ftry_store::staff::get(&mut tx, staff_id)
                .await?
                .ok_or(AppError::NotFound)?;
        }
        let position = invoices::add_line(
            &mut tx,
            principal.tenant_id,
            id,
            &NewLine {
                kind: &request.kind,
                description: &description,
                code: &code,
                quantity,
                unit_price_paise: request.unit_price_paise.unwrap_or(price),
                discount: request.discount.as_ref().map(|d| serde_json::json!(d)),
                discount_approved_by: approved_by,
                staff_id: request.staff_id,
                service_id,
                product_id,
                appointment_item_id: None,
                original_position: None,
            },
        )
        .await?
        .position;
        let lines = self.checked_draft_lines(&mut tx, &invoice).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "invoice.line_added", "invoice", id).after(
                serde_json::json!({ "position": position, "kind": request.kind, "quantity": quantity }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(fresh_view(invoice, lines))
    }

    pub async fn remove_invoice_line(
        &self,
        principal: &Principal,
        id: Uuid,
        position: i16,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let invoice = self.draft_for_update(&mut tx, id).await?;
        if !invoices::remove_line(&mut tx, id, position).await? {
            return Err(AppError::NotFound);
        }
        // An invoice discount may not outgrow the lines that are left.
        let lines = self.checked_draft_lines(&mut tx, &invoice).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "invoice.line_removed", "invoice", id)
                .after(serde_json::json!({ "position": position })),
        )
        .await?;
        tx.commit().await?;
        Ok(fresh_view(invoice, lines))
    }

    /// A draft's figures must stay computable: a discount larger than what it
    /// applies to is refused when it is entered, not at checkout. Returns the
    /// draft's lines.
    async fn checked_draft_lines(
        &self,
        tx: &mut sqlx::PgConnection,
        invoice: &Invoice,
    ) -> Result<Vec<Line>, AppError> {
        let lines = invoices::lines(tx, invoice.id).await?;
        if lines.is_empty() {
            return Ok(lines);
        }
        let supplier = supplier(tx, invoice.location_id).await?;
        compute(&supplier, invoice, &lines, local_today(&supplier.timezone))?;
        Ok(lines)
    }

    pub async fn update_draft(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &DraftUpdate,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let invoice = self.draft_for_update(&mut tx, id).await?;
        let mut v = Validator::default();
        let (name, phone, gstin, address, state) = match &request.customer {
            Some(c) => {
                let (n, p, g, a, s) = customer_fields(&mut v, c);
                (n, p, g, a, s.unwrap_or(invoice.place_of_supply.clone()))
            }
            None => (
                invoice.customer_name.clone(),
                invoice.customer_phone.clone(),
                invoice.customer_gstin.clone(),
                invoice.customer_address.clone(),
                invoice.place_of_supply.clone(),
            ),
        };
        let tip = request.tip_paise.unwrap_or(invoice.tip_paise);
        if tip < 0 {
            v.push("tip_paise", "cannot be negative");
        }
        v.finish()?;
        let (discount, approved_by) = match &request.invoice_discount {
            None => (invoice.invoice_discount.clone(), invoice.discount_approved_by),
            Some(None) => (None, None),
            Some(Some(d)) => {
                discount_of(d, "invoice_discount")?;
                (
                    Some(serde_json::json!(d)),
                    self.approve_discount(principal, &Some(d.clone()))?,
                )
            }
        };
        let tip_staff = request.tip_staff_id.or(invoice.tip_staff_id);
        if let Some(staff_id) = tip_staff {
            ftry_store::staff::get(&mut tx, staff_id)
                .await?
                .ok_or(AppError::NotFound)?;
        }
        invoices::update_draft(
            &mut tx,
            id,
            &invoices::DraftChanges {
                customer_name: &name,
                customer_phone: phone.as_deref(),
                customer_gstin: gstin.as_deref(),
                customer_address: &address,
                place_of_supply: &state,
                invoice_discount: discount,
                discount_approved_by: approved_by,
                tip_paise: tip,
                tip_staff_id: tip_staff,
            },
        )
        .await?;
        let invoice = invoices::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let lines = self.checked_draft_lines(&mut tx, &invoice).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "invoice.updated", "invoice", id),
        )
        .await?;
        tx.commit().await?;
        Ok(fresh_view(invoice, lines))
    }

    /// Finalize: figures frozen, the next number of the series, the hash
    /// chained to the previous document, stock taken, the visit completed.
    pub async fn finalize_invoice(
        &self,
        principal: &Principal,
        id: Uuid,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        principal.require(Permission::InvoicesCreate)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let invoice = self.draft_for_update(&mut tx, id).await?;
        let (completed_visit, view) = self
            .pools
            .metrics
            .timed(
                "invoice_finalize",
                finalize_in(&mut tx, principal, invoice, origin, None),
            )
            .await?;
        tx.commit().await?;
        self.business.finalized(principal.tenant_id);
        if completed_visit {
            self.business.status_changed(principal.tenant_id, "completed");
        }
        Ok(view)
    }

    /// Finalize as issued on a given day (the demo salon's history).
    pub(crate) async fn finalize_invoice_on(
        &self,
        principal: &Principal,
        id: Uuid,
        issued_on: NaiveDate,
    ) -> Result<InvoiceView, AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let invoice = self.draft_for_update(&mut tx, id).await?;
        let (_, view) = finalize_in(&mut tx, principal, invoice, &Origin::default(), Some(issued_on)).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn pay(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &PaymentRequest,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        let view = self.take_payment(principal, id, request, origin).await?;
        if view.invoice.kind != "credit_note" {
            self.business
                .paid(principal.tenant_id, &request.method, request.amount_paise);
        }
        Ok(view)
    }

    /// Take a payment (a refund on a credit note) without counting it in the
    /// business metrics: the demo salon's history uses this.
    pub(crate) async fn take_payment(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &PaymentRequest,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        principal.require(Permission::PaymentsTake)?;
        const METHODS: [&str; 6] = ["cash", "card", "upi", "bank_transfer", "wallet", "other"];
        if !METHODS.contains(&request.method.as_str()) {
            return Err(AppError::invalid(
                "method",
                "must be cash, card, upi, bank_transfer, wallet or other",
            ));
        }
        if request.amount_paise <= 0 {
            return Err(AppError::invalid("amount_paise", "must be positive"));
        }
        let mut v = Validator::default();
        let reference = v
            .optional_text("reference", request.reference.as_deref(), 100)
            .unwrap_or_default();
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let invoice = invoices::get_for_update(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if invoice.status != "finalized" {
            return Err(AppError::conflict(
                "invoice_not_finalized",
                "Finalize the invoice before taking payment.",
            ));
        }
        let payments = invoices::payments(&mut tx, id).await?;
        let due = invoice.total_paise - paid(&payments);
        let cash = request.method == "cash";
        let (amount, tendered, change) = match request.tendered_paise {
            Some(t) if !cash => {
                let _ = t;
                return Err(AppError::invalid("tendered_paise", "applies to cash only"));
            }
            Some(t) if t < request.amount_paise => {
                return Err(AppError::invalid(
                    "tendered_paise",
                    "cannot be less than the amount",
                ))
            }
            Some(t) => (request.amount_paise, Some(t), t - request.amount_paise),
            None => (request.amount_paise, None, 0),
        };
        if amount > due {
            return Err(AppError::invalid(
                "amount_paise",
                format!(
                    "is more than the {} still due; hand cash back as change instead",
                    Paise(due)
                ),
            ));
        }
        let kind = if invoice.kind == "credit_note" {
            "refund"
        } else {
            "payment"
        };
        if kind == "refund" {
            principal.require(Permission::InvoicesRefund)?;
        }
        let payment = invoices::add_payment(
            &mut tx,
            principal.tenant_id,
            &NewPayment {
                id: Uuid::now_v7(),
                invoice_id: id,
                location_id: invoice.location_id,
                kind,
                method: &request.method,
                amount_paise: amount,
                tendered_paise: tendered,
                change_paise: change,
                reference: &reference,
                received_by: Some(principal.user_id),
            },
        )
        .await?;
        let status = if amount == due { "paid" } else { "partially_paid" };
        let invoice = invoices::set_payment_status(&mut tx, id, status).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                if kind == "refund" {
                    "invoice.refunded"
                } else {
                    "invoice.paid"
                },
                "invoice",
                id,
            )
            .after(serde_json::json!({ "method": request.method, "amount_paise": amount, "status": status })),
        )
        .await?;
        ftry_store::appointments::emit(
            &mut tx,
            principal.tenant_id,
            if kind == "refund" {
                "invoice.refunded"
            } else {
                "invoice.paid"
            },
            id,
            serde_json::json!({ "method": request.method, "amount_paise": amount, "payment_status": status }),
        )
        .await?;
        // The payments as the document lists them (by time, then id).
        let mut payments = payments;
        payments.push(payment);
        payments.sort_by_key(|p| (p.received_at, p.id));
        let lines = invoices::lines(&mut tx, id).await?;
        let view = view_of(&mut tx, invoice, lines, payments, None).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A credit note against a finalized invoice: whole, or some quantities of
    /// some lines, never more than was invoiced and not yet credited.
    pub async fn credit_note(
        &self,
        principal: &Principal,
        original_id: Uuid,
        request: &CreditNoteRequest,
        origin: &Origin,
    ) -> Result<InvoiceView, AppError> {
        principal.require(Permission::InvoicesRefund)?;
        let mut v = Validator::default();
        let reason = v.text("reason", &request.reason, 500);
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let original = invoices::get_for_update(&mut tx, original_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if original.kind != "invoice" || original.status != "finalized" {
            return Err(AppError::conflict(
                "not_creditable",
                "Only a finalized invoice can be credited.",
            ));
        }
        let lines = invoices::lines(&mut tx, original_id).await?;
        let credited = invoices::credited_quantities(&mut tx, original_id).await?;
        let remaining = |position: i16, quantity: i32| -> i64 {
            i64::from(quantity)
                - credited
                    .iter()
                    .find(|(p, _)| *p == position)
                    .map_or(0, |(_, q)| *q)
        };
        let wanted: Vec<(Line, i32)> = match &request.lines {
            None => lines
                .iter()
                .filter(|l| remaining(l.position, l.quantity) > 0)
                .map(|l| {
                    (
                        l.clone(),
                        i32::try_from(remaining(l.position, l.quantity)).unwrap_or(0),
                    )
                })
                .collect(),
            Some(requested) => {
                let mut chosen = Vec::new();
                for (i, r) in requested.iter().enumerate() {
                    let line = lines
                        .iter()
                        .find(|l| l.position == r.position)
                        .ok_or_else(|| AppError::invalid(&format!("lines[{i}].position"), "no such line"))?;
                    if r.quantity < 1 || i64::from(r.quantity) > remaining(line.position, line.quantity) {
                        return Err(AppError::invalid(
                            &format!("lines[{i}].quantity"),
                            format!(
                                "must be 1 to {}, what is left to credit",
                                remaining(line.position, line.quantity)
                            ),
                        ));
                    }
                    chosen.push((line.clone(), r.quantity));
                }
                chosen
            }
        };
        if wanted.is_empty() {
            return Err(AppError::conflict(
                "nothing_to_credit",
                "Everything on this invoice has been credited.",
            ));
        }
        let id = Uuid::now_v7();
        let note = invoices::insert(
            &mut tx,
            principal.tenant_id,
            &NewInvoice {
                id,
                location_id: original.location_id,
                kind: "credit_note",
                original_id: Some(original_id),
                appointment_id: None,
                client_id: original.client_id,
                customer_name: &original.customer_name,
                customer_phone: original.customer_phone.as_deref(),
                customer_gstin: original.customer_gstin.as_deref(),
                customer_address: &original.customer_address,
                place_of_supply: &original.place_of_supply,
                restock: request.restock,
                reason: &reason.unwrap_or_default(),
                created_by: Some(principal.user_id),
            },
        )
        .await?;
        // Credited lines take the original's price and the same share of its
        // discounts per unit; taxes follow from the original's date and rates.
        // The share is the running share up to these units less the share
        // already credited, so the notes of a line add up to its discount
        // exactly and never credit more than was invoiced.
        for (line, quantity) in &wanted {
            let line_discount =
                line.line_discount_paise.unwrap_or(0) + line.invoice_discount_paise.unwrap_or(0);
            let before = i64::from(line.quantity) - remaining(line.position, line.quantity);
            let share_of = |units: i64| Paise(line_discount).mul_div_half_up(units, i64::from(line.quantity));
            let discount = share_of(before + i64::from(*quantity))
                .and_then(|upto| upto.checked_sub(share_of(before)?))
                .map_err(|_| AppError::invalid("lines", "amounts too large"))?;
            invoices::add_line(
                &mut tx,
                principal.tenant_id,
                id,
                &NewLine {
                    kind: &line.kind,
                    description: &line.description,
                    code: &line.code,
                    quantity: *quantity,
                    unit_price_paise: line.unit_price_paise,
                    discount: (discount.0 > 0).then(|| serde_json::json!({ "amount_paise": discount.0 })),
                    discount_approved_by: line.discount_approved_by,
                    staff_id: line.staff_id,
                    service_id: line.service_id,
                    product_id: line.product_id,
                    appointment_item_id: line.appointment_item_id,
                    original_position: Some(line.position),
                },
            )
            .await?;
        }
        let (_, view) = finalize_in(&mut tx, principal, note, origin, None).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Recompute every document chain of the business.
    pub async fn verify_ledger(&self, principal: &Principal) -> Result<LedgerReport, AppError> {
        principal.require(Permission::ReportsRevenue)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let report = verify_in(&mut tx).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// The ledger check for one tenant, for the operator's CLI.
    pub async fn verify_tenant_ledger(&self, slug: &str) -> Result<LedgerReport, AppError> {
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let tenant = ftry_store::tenants::find_by_slug(&mut conn, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        let mut tx = self.pools.begin(tenant.id).await?;
        let report = verify_in(&mut tx).await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// Every business's ledger at once, on a connection that sees every row
/// (a superuser's, as a restore checks the database it restored).
pub(crate) async fn verify_every_ledger(conn: &mut sqlx::PgConnection) -> Result<LedgerReport, AppError> {
    verify_in(conn).await
}

async fn verify_in(tx: &mut sqlx::PgConnection) -> Result<LedgerReport, AppError> {
    let all_series = invoices::series(tx).await?;
    let mut documents_checked = 0;
    for (location_id, kind, year) in &all_series {
        let documents = invoices::series_documents(tx, *location_id, kind, *year).await?;
        let lines_of = invoices::series_lines(tx, *location_id, kind, *year).await?;
        let mut chained = Vec::with_capacity(documents.len());
        for document in &documents {
            let lines = lines_of.get(&document.id).map(Vec::as_slice).unwrap_or_default();
            let hash: Hash = document
                .content_hash
                .as_deref()
                .and_then(|h| h.try_into().ok())
                .unwrap_or([0; 32]);
            chained.push(ChainedDocument {
                document: canonical(document, lines)?,
                hash,
            });
        }
        documents_checked += chained.len();
        if let Err(broken) = ledger::verify_chain(&chained) {
            return Ok(LedgerReport {
                ok: false,
                series_checked: all_series.len(),
                documents_checked,
                broken: Some(broken.number),
            });
        }
    }
    // The figures the reports read from the document must be its lines' sums.
    let wrong = invoices::first_with_wrong_figures(tx).await?;
    Ok(LedgerReport {
        ok: wrong.is_none(),
        series_checked: all_series.len(),
        documents_checked,
        broken: wrong,
    })
}

/// Finalize a draft invoice or credit note inside an open transaction.
async fn finalize_in(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    invoice: Invoice,
    origin: &Origin,
    issued_on: Option<NaiveDate>,
) -> Result<(bool, InvoiceView), AppError> {
    let supplier = supplier(tx, invoice.location_id).await?;
    let lines = invoices::lines(tx, invoice.id).await?;
    let today = issued_on.unwrap_or_else(|| local_today(&supplier.timezone));
    // A credit note is taxed as its invoice was: the original's date and rates.
    let tax_date = match invoice.original_id {
        Some(original) => invoices::get(tx, original)
            .await?
            .and_then(|o| o.issued_on)
            .unwrap_or(today),
        None => today,
    };
    let figures = compute(&supplier, &invoice, &lines, tax_date)?;
    // From the number on, the branch's series row is locked, and from the
    // stock level's change on, the product's level row: every till
    // finalizing at the branch (or selling that product) waits for them
    // until this transaction commits. So whatever waits for neither comes
    // first — the visit completed, the lines' figures, the stock movements
    // recorded — and after the number, one statement (the document, its
    // series, its domain event and audit event), each stock level's change
    // and the commit.
    let completed_visit = match invoice.appointment_id {
        Some(appointment_id) => complete_appointment(tx, principal, appointment_id).await?,
        None => false,
    };
    let year = numbering::financial_year(today);
    let series = if invoice.kind == "credit_note" {
        DocumentSeries::CreditNote
    } else {
        DocumentSeries::Invoice
    };
    let code = SeriesCode::parse(&supplier.series_code).map_err(|e| AppError::Internal(e.to_string()))?;
    let fy = i16::try_from(year.first_year()).unwrap_or(i16::MAX);
    let line_figures: Vec<LineFigures> = lines
        .iter()
        .zip(&figures.lines)
        .map(|(stored, f)| LineFigures {
            position: stored.position,
            line_discount_paise: f.line_discount.0,
            invoice_discount_paise: f.invoice_discount.0,
            taxable_paise: f.taxable_value.0,
            rate_bp: i32::try_from(f.rate_bp).unwrap_or(0),
            cgst_paise: f.cgst.0,
            sgst_paise: f.sgst.0,
            igst_paise: f.igst.0,
            total_paise: f.total.0,
        })
        .collect();
    let finalized_lines = invoices::set_line_figures(tx, invoice.id, &line_figures).await?;
    let movements = record_stock_for(tx, principal, &invoice, &lines).await?;

    let (sequence, previous) =
        invoices::next_in_series(tx, principal.tenant_id, invoice.location_id, &invoice.kind, fy).await?;
    let number = numbering::format_number(&code, series, year, u32::try_from(sequence).unwrap_or(u32::MAX))
        .map_err(|e| AppError::conflict("series_full", e.to_string()))?;
    let previous_hash: Option<Hash> = previous.as_deref().and_then(|h| h.try_into().ok());
    let document = CanonicalDocument {
        number: number.clone(),
        date: today,
        supplier_gstin: supplier.gstin.clone(),
        customer_name: invoice.customer_name.clone(),
        customer_gstin: invoice.customer_gstin.clone(),
        place_of_supply: invoice.place_of_supply.clone(),
        lines: figures.lines.iter().map(CanonicalLine::from).collect(),
        totals: CanonicalTotals::from(&figures.totals),
    };
    let hash = ledger::document_hash(previous_hash, &document);
    let totals = serde_json::json!({
        "gross": figures.totals.gross, "line_discount": figures.totals.line_discount,
        "invoice_discount": figures.totals.invoice_discount, "taxable_value": figures.totals.taxable_value,
        "cgst": figures.totals.cgst, "sgst": figures.totals.sgst, "igst": figures.totals.igst,
        "lines_total": figures.totals.lines_total, "tip": figures.totals.tip, "round_off": figures.totals.round_off,
        "grand_total": figures.totals.grand_total, "supply": figures.supply,
        "tax_summary": figures.tax_summary, "hsn_summary": figures.hsn_summary,
        "amount_in_words": figures.totals.grand_total.in_words(),
    });
    // The domain event and the audit event are written by the same statement.
    let credit_note = invoice.kind == "credit_note";
    let action = if credit_note {
        "credit_note.issued"
    } else {
        "invoice.finalized"
    };
    let recorded = serde_json::json!({ "number": number, "total_paise": figures.totals.grand_total });
    let finalized = invoices::finalize(
        tx,
        invoice.id,
        invoice.location_id,
        &invoice.kind,
        &Finalization {
            supplier: supplier.snapshot.clone(),
            number: &number,
            financial_year: fy,
            sequence,
            issued_on: today,
            document_kind: match figures.document_kind {
                DocumentKind::TaxInvoice => "tax_invoice",
                DocumentKind::BillOfSupply => "bill_of_supply",
            },
            totals,
            total_paise: figures.totals.grand_total.0,
            taxable_paise: figures.totals.taxable_value.0,
            tax_paise: figures
                .totals
                .cgst
                .0
                .saturating_add(figures.totals.sgst.0)
                .saturating_add(figures.totals.igst.0),
            lines_total_paise: figures.totals.lines_total.0,
            content_hash: &hash,
            previous_hash: previous.as_deref(),
            finalized_by: Some(principal.user_id),
        },
        invoices::Recorded {
            tenant_id: principal.tenant_id,
            event_kind: if credit_note {
                "invoice.credit_note_issued"
            } else {
                "invoice.finalized"
            },
            event_payload: &recorded,
            origin,
            audit: Event::new(principal.actor(), action, "invoice", invoice.id).after(&recorded),
        },
    )
    .await?;
    change_stock_for(tx, &movements, &lines).await?;
    // Just finalized, the document has no payments and no credit notes yet.
    Ok((completed_visit, fresh_view(finalized, finalized_lines)))
}

/// Products leave stock when sold, and come back when a credit note
/// restocks them: the movements recorded (one per product line, in product
/// order, so two invoices selling the same products take their level rows
/// in the same order and cannot deadlock), each with the index of its line.
/// Their levels change in [`change_stock_for`].
async fn record_stock_for(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    invoice: &Invoice,
    lines: &[Line],
) -> Result<Vec<(NewMovement<'static>, usize)>, AppError> {
    let (kind, sign) = match invoice.kind.as_str() {
        "credit_note" if invoice.restock => ("return", 1),
        "credit_note" => return Ok(Vec::new()),
        _ => ("sale", -1),
    };
    let mut products: Vec<(usize, Uuid)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.product_id.map(|p| (i, p)))
        .collect();
    products.sort_by_key(|(_, product)| *product);
    let mut movements = Vec::with_capacity(products.len());
    for (index, product_id) in products {
        let movement = NewMovement {
            id: Uuid::now_v7(),
            location_id: invoice.location_id,
            product_id,
            kind,
            quantity: sign * lines[index].quantity,
            reference: Some(invoice.id),
            note: "",
            actor_id: Some(principal.user_id),
        };
        ftry_store::products::record_movement(tx, principal.tenant_id, &movement).await?;
        movements.push((movement, index));
    }
    Ok(movements)
}

/// The stock levels of recorded movements changed; a sale of more than the
/// branch holds (where the business does not sell below zero) is refused.
async fn change_stock_for(
    tx: &mut sqlx::PgConnection,
    movements: &[(NewMovement<'static>, usize)],
    lines: &[Line],
) -> Result<(), AppError> {
    for (movement, index) in movements {
        match ftry_store::products::change_level(tx, movement).await {
            Ok(_) => {}
            Err(e) if ftry_store::products::stock_refusal(&e).is_some() => {
                let line = &lines[*index];
                return Err(AppError::conflict(
                    "insufficient_stock",
                    format!(
                        "Not enough `{}` in stock at this branch for {} units.",
                        line.description, line.quantity
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Complete the visit an invoice is for; `false` when it was already over.
async fn complete_appointment(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    id: Uuid,
) -> Result<bool, AppError> {
    let appointment = ftry_store::appointments::get_for_update(tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if matches!(appointment.status.as_str(), "completed" | "cancelled" | "no_show") {
        return Ok(false);
    }
    ftry_store::appointments::set_status(tx, id, "completed", true).await?;
    ftry_store::appointments::record_event(
        tx,
        principal.tenant_id,
        id,
        ftry_store::appointments::HistoryEntry {
            kind: "status_changed",
            from_status: Some(&appointment.status),
            to_status: Some("completed"),
            details: serde_json::json!({ "by": "checkout" }),
            actor: &crate::appointments::actor_label(principal),
        },
    )
    .await?;
    ftry_store::appointments::emit(
        tx,
        principal.tenant_id,
        "appointment.completed",
        id,
        serde_json::json!({ "from": appointment.status, "by": "checkout" }),
    )
    .await?;
    Ok(true)
}
