//! Checkout at the desk: an appointment's visit (or a walk-in sale) becomes a
//! draft invoice; products, a discount and a tip are added; the invoice is
//! finalized (its GST figures, number and place in the hash chain fixed) and
//! paid in one or several parts; its PDF opens from the page; a credit note
//! reverses it, whole or some quantities of some lines (products may go back
//! in stock). Every step is the API's use case.

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ftry_api::access::RequestOrigin;
use ftry_api::AppState;
use ftry_app::catalog::ServiceFilter;
use ftry_app::invoices::{
    CreditLine, CreditNoteRequest, CustomerInput, DiscountInput, DraftRequest, DraftUpdate, InvoiceView,
    LineRequest, PaymentRequest,
};
use ftry_app::products::ProductFilter;
use ftry_app::{AppError, Principal};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::format::rupees;
use crate::forms::{paise, rupees_plain, FieldErrors};
use crate::page::{self, html, Chrome, PathId};
use crate::session::{form_sender, signed_in, to_login, SignedIn};

struct LineRow {
    position: i16,
    description: String,
    staff: String,
    quantity: i32,
    unit_price: String,
    discount: String,
    taxable: String,
    gst: String,
    total: String,
}

/// A line of a finalized invoice that can still be credited.
struct CreditRow {
    position: i16,
    description: String,
    left: i32,
    /// The quantity the form offers: what is left, or what was typed.
    typed: String,
}

struct PaymentRow {
    method: &'static str,
    amount: String,
    change: String,
    reference: String,
    at: String,
}

struct Choice {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    chrome: Chrome,
    id: Uuid,
    heading: String,
    draft: bool,
    credit_note: bool,
    customer: String,
    status_label: &'static str,
    payment_label: &'static str,
    issued: String,
    lines: Vec<LineRow>,
    totals: Vec<(&'static str, String)>,
    grand_total: String,
    paid: String,
    due_paise: i64,
    due: String,
    /// The amount field: what is due, or what was typed.
    amount: String,
    methods: &'static [(&'static str, &'static str)],
    payments: Vec<PaymentRow>,
    products: Vec<Choice>,
    services: Vec<Choice>,
    staff: Vec<Choice>,
    appointment: String,
    /// The invoice a credit note credits.
    original: String,
    can_refund: bool,
    /// Who a draft is made out to, as stored or as typed: name, phone,
    /// GSTIN, address, state code.
    billed: [String; 5],
    states: &'static [(&'static str, &'static str)],
    /// The invoice's credit notes: id, number, total.
    credit_notes: Vec<(Uuid, String, String)>,
    credit_lines: Vec<CreditRow>,
    /// Whether a credited product may go back in stock.
    restockable: bool,
    errors: FieldErrors,
    /// What was typed into the form that was refused.
    typed: InvoiceForm,
}

/// Every form of the page: each sends the fields it has.
#[derive(Debug, Default, Deserialize)]
pub struct InvoiceForm {
    #[serde(default)]
    csrf: String,
    /// `service:<id>` or `product:<id>`.
    #[serde(default)]
    item: String,
    #[serde(default)]
    quantity: String,
    /// Who did the service or sold the product.
    #[serde(default)]
    staff: String,
    #[serde(default)]
    discount: String,
    /// `rupees` or `percent`.
    #[serde(default)]
    discount_kind: String,
    #[serde(default)]
    tip: String,
    #[serde(default)]
    tip_staff: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    reason: String,
    /// A checkbox of the credit note form: put credited products back in stock.
    restock: Option<String>,
    /// The draft's line to remove.
    #[serde(default)]
    position: String,
    /// Who the invoice is made out to (a business, for a B2B invoice).
    #[serde(default)]
    customer_name: String,
    #[serde(default)]
    customer_phone: String,
    #[serde(default)]
    customer_gstin: String,
    #[serde(default)]
    customer_address: String,
    /// The place of supply: a GST state code.
    #[serde(default)]
    customer_state: String,
    /// The credit note form's `credit_<position>` quantities.
    #[serde(flatten)]
    more: std::collections::BTreeMap<String, String>,
}

impl InvoiceForm {
    /// The quantities typed into the credit note form, by line position;
    /// `Err` names the first that is not a whole number.
    fn credit_quantities(&self) -> Result<Vec<(i16, i32)>, String> {
        let mut chosen = Vec::new();
        for (name, value) in &self.more {
            let Some(position) = name.strip_prefix("credit_").and_then(|p| p.parse::<i16>().ok()) else {
                continue;
            };
            let value = value.trim();
            let quantity = if value.is_empty() {
                0
            } else {
                value.parse::<i32>().map_err(|_| format!("credit_{position}"))?
            };
            chosen.push((position, quantity));
        }
        Ok(chosen)
    }
}

pub const METHODS: [(&str, &str); 6] = [
    ("cash", "Cash"),
    ("upi", "UPI"),
    ("card", "Card"),
    ("bank_transfer", "Bank transfer"),
    ("wallet", "Wallet"),
    ("other", "Other"),
];

fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|(m, _)| *m == method)
        .map_or("Other", |(_, label)| label)
}

fn payment_label(status: &str) -> &'static str {
    match status {
        "paid" => "Paid",
        "partially_paid" => "Part paid",
        "refunded" => "Refunded",
        "unpaid" => "Unpaid",
        _ => "",
    }
}

fn amount(value: &serde_json::Value, name: &str) -> i64 {
    value[name].as_i64().unwrap_or(0)
}

async fn render(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    status: StatusCode,
    view: InvoiceView,
    errors: FieldErrors,
    typed: InvoiceForm,
) -> Response {
    let invoice = &view.invoice;
    let location = state.app.location(principal, invoice.location_id).await;
    let zone = location
        .as_ref()
        .map_or(chrono_tz::Asia::Kolkata, |l| page::zone(&l.timezone));
    let staff = state.app.staff_list(principal).await.unwrap_or_default();
    let staff_name = |id: Option<Uuid>| {
        id.and_then(|id| staff.iter().find(|s| s.id == id))
            .map_or(String::new(), |s| s.fields.name.clone())
    };
    let draft = invoice.status == "draft";
    let preview = view.preview.as_ref();
    let lines = view
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let figures = preview.and_then(|p| p.lines.get(i));
            let discount = match figures {
                Some(f) => f.line_discount.0 + f.invoice_discount.0,
                None => line.line_discount_paise.unwrap_or(0) + line.invoice_discount_paise.unwrap_or(0),
            };
            let (taxable, gst, total) = match figures {
                Some(f) => (f.taxable_value.0, f.cgst.0 + f.sgst.0 + f.igst.0, f.total.0),
                None => (
                    line.taxable_paise.unwrap_or(0),
                    line.cgst_paise.unwrap_or(0)
                        + line.sgst_paise.unwrap_or(0)
                        + line.igst_paise.unwrap_or(0),
                    line.total_paise.unwrap_or(0),
                ),
            };
            let rate = figures
                .map(|f| f.rate_bp)
                .or(line.rate_bp.map(|r| r as u32))
                .unwrap_or(0);
            LineRow {
                position: line.position,
                description: line.description.clone(),
                staff: staff_name(line.staff_id),
                quantity: line.quantity,
                unit_price: rupees(line.unit_price_paise),
                discount: if discount == 0 {
                    String::new()
                } else {
                    rupees(-discount)
                },
                taxable: rupees(taxable),
                gst: format!("{} ({}%)", rupees(gst), f64::from(rate) / 100.0),
                total: rupees(total),
            }
        })
        .collect();
    let totals_json = invoice
        .totals
        .clone()
        .or_else(|| preview.and_then(|p| serde_json::to_value(&p.totals).ok()))
        .unwrap_or_default();
    let mut totals = vec![("Taxable value", rupees(amount(&totals_json, "taxable_value")))];
    for (name, label) in [("cgst", "CGST"), ("sgst", "SGST"), ("igst", "IGST")] {
        if amount(&totals_json, name) != 0 {
            totals.push((label, rupees(amount(&totals_json, name))));
        }
    }
    for (name, label) in [("tip", "Tip"), ("round_off", "Round off")] {
        if amount(&totals_json, name) != 0 {
            totals.push((label, rupees(amount(&totals_json, name))));
        }
    }
    let grand_total = amount(&totals_json, "grand_total");
    let paid: i64 = view.payments.iter().map(|p| p.amount_paise).sum();
    let services = if draft {
        state
            .app
            .services(
                principal,
                &ServiceFilter {
                    location_id: Some(invoice.location_id),
                    active: Some(true),
                },
            )
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|s| Choice {
                id: format!("service:{}", s.id),
                label: format!("{} · {}", s.fields.name, rupees(s.fields.price_paise)),
            })
            .collect()
    } else {
        Vec::new()
    };
    let products = if draft {
        let filter = ProductFilter {
            active: Some(true),
            q: None,
        };
        state
            .app
            .products(principal, &filter)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|p| Choice {
                id: format!("product:{}", p.id),
                label: format!("{} · {}", p.fields.name, rupees(p.fields.price_paise)),
            })
            .collect()
    } else {
        Vec::new()
    };
    let credit_note = invoice.kind == "credit_note";
    let heading = match (&invoice.number, credit_note) {
        (Some(number), true) => format!("Credit note {number}"),
        (Some(number), false) => format!("Invoice {number}"),
        (None, _) => "Draft invoice".to_owned(),
    };
    let page = InvoicePage {
        chrome: Chrome::signed(heading.clone(), csrf, principal),
        id: invoice.id,
        heading,
        draft,
        credit_note,
        customer: if invoice.customer_name.is_empty() {
            "Walk-in customer".to_owned()
        } else {
            invoice.customer_name.clone()
        },
        status_label: if draft { "Draft" } else { "Finalized" },
        payment_label: if draft {
            ""
        } else {
            payment_label(&invoice.payment_status)
        },
        issued: invoice
            .finalized_at
            .map(|at| at.with_timezone(&zone).format("%-d %b %Y, %H:%M").to_string())
            .unwrap_or_default(),
        lines,
        totals,
        grand_total: rupees(grand_total),
        paid: rupees(paid),
        due_paise: view.due_paise,
        due: rupees(view.due_paise),
        amount: if typed.amount.is_empty() {
            rupees_plain(view.due_paise)
        } else {
            typed.amount.clone()
        },
        methods: &METHODS,
        payments: view
            .payments
            .iter()
            .map(|p| PaymentRow {
                method: method_label(&p.method),
                amount: rupees(p.amount_paise),
                change: if p.change_paise > 0 {
                    rupees(p.change_paise)
                } else {
                    String::new()
                },
                reference: p.reference.clone(),
                at: p.received_at.with_timezone(&zone).format("%H:%M").to_string(),
            })
            .collect(),
        products,
        services,
        staff: staff
            .iter()
            .filter(|s| s.fields.active)
            .map(|s| Choice {
                id: s.id.to_string(),
                label: s.fields.name.clone(),
            })
            .collect(),
        appointment: invoice
            .appointment_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        original: invoice.original_id.map(|id| id.to_string()).unwrap_or_default(),
        can_refund: !draft && !credit_note && principal.can(Permission::InvoicesRefund),
        billed: if typed.customer_state.is_empty() {
            [
                invoice.customer_name.clone(),
                invoice.customer_phone.clone().unwrap_or_default(),
                invoice.customer_gstin.clone().unwrap_or_default(),
                invoice.customer_address.clone(),
                invoice.place_of_supply.clone(),
            ]
        } else {
            [
                typed.customer_name.clone(),
                typed.customer_phone.clone(),
                typed.customer_gstin.clone(),
                typed.customer_address.clone(),
                typed.customer_state.clone(),
            ]
        },
        states: ftry_domain::gstin::states(),
        credit_notes: view
            .credit_notes
            .iter()
            .map(|n| (n.id, n.number.clone(), rupees(n.total_paise)))
            .collect(),
        credit_lines: view
            .creditable
            .iter()
            .filter_map(|c| {
                let line = view.lines.iter().find(|l| l.position == c.position)?;
                Some(CreditRow {
                    position: c.position,
                    description: line.description.clone(),
                    left: c.quantity,
                    typed: typed
                        .more
                        .get(&format!("credit_{}", c.position))
                        .cloned()
                        .unwrap_or_else(|| c.quantity.to_string()),
                })
            })
            .collect(),
        restockable: view.creditable.iter().any(|c| {
            view.lines
                .iter()
                .any(|l| l.position == c.position && l.kind == "product")
        }),
        errors,
        typed,
    };
    html(status, &page)
}

/// `GET /app/invoices/{id}`.
pub async fn show(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path());
    };
    match state.app.invoice(&principal, id).await {
        Ok(view) => {
            render(
                &state,
                &principal,
                &csrf,
                StatusCode::OK,
                view,
                FieldErrors::default(),
                InvoiceForm::default(),
            )
            .await
        }
        Err(e) => page::app_error(e, &csrf),
    }
}

/// Check out an appointment: its draft invoice, or the one it already has.
pub async fn start_for_appointment(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    appointment: Uuid,
    RequestOrigin(origin): &RequestOrigin,
) -> Response {
    let request = DraftRequest {
        location_id: None,
        appointment_id: Some(appointment),
        client_id: None,
        customer: None,
    };
    match state.app.create_draft(principal, &request, origin).await {
        Ok(view) => Redirect::to(&format!("/app/invoices/{}", view.invoice.id)).into_response(),
        Err(AppError::Conflict {
            code: "appointment_already_billed",
            ..
        }) => match state.app.appointment_invoice(principal, appointment).await {
            Ok(Some(id)) => Redirect::to(&format!("/app/invoices/{id}")).into_response(),
            Ok(None) => page::app_error(AppError::NotFound, csrf),
            Err(e) => page::app_error(e, csrf),
        },
        Err(e) => page::app_error(e, csrf),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct WalkInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

/// `POST /app/invoices`: a walk-in sale, a draft with no lines yet.
pub async fn walk_in(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Form(form): Form<WalkInForm>,
) -> Response {
    let refused = (
        "No sale started",
        "The form had expired. Open the day again and retry.",
    );
    let SignedIn { principal, csrf } = match form_sender(&state, &headers, &form.csrf, "/app", refused).await
    {
        Ok(sender) => sender,
        Err(answer) => return answer,
    };
    let Ok(location) = form.location.parse::<Uuid>() else {
        return page::app_error(AppError::NotFound, &csrf);
    };
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let request = DraftRequest {
        location_id: Some(location),
        appointment_id: None,
        client_id: None,
        customer: Some(CustomerInput {
            name: optional(&form.name),
            phone: optional(&form.phone),
            gstin: None,
            address: None,
            state_code: None,
        }),
    };
    match state.app.create_draft(&principal, &request, &origin).await {
        Ok(view) => Redirect::to(&format!("/app/invoices/{}", view.invoice.id)).into_response(),
        Err(e) => page::app_error(e, &csrf),
    }
}

/// A line's `kind:id` choice.
fn item_of(choice: &str) -> Option<(&'static str, Uuid)> {
    let (kind, id) = choice.split_once(':')?;
    let kind = match kind {
        "service" => "service",
        "product" => "product",
        _ => return None,
    };
    Some((kind, id.parse().ok()?))
}

/// What a form of the invoice page asks for.
enum Asked {
    Line,
    Remove,
    Customer,
    Adjust,
    Finalize,
    Pay,
    Credit,
}

/// The use case's field names as the page's.
fn form_field(field: &str) -> String {
    match field {
        "amount_paise" => "amount",
        "tendered_paise" => "amount",
        "tip_paise" => "tip",
        "tip_staff_id" => "tip_staff",
        "product_id" | "service_id" | "kind" => "item",
        "staff_id" => "staff",
        "invoice_discount" => "discount",
        "customer.name" => "customer_name",
        "customer.phone" => "customer_phone",
        "customer.gstin" => "customer_gstin",
        "customer.address" => "customer_address",
        "customer.state_code" => "customer_state",
        other => other,
    }
    .to_owned()
}

/// The page's form for a refusal that names no field.
fn general_field(asked: &Asked) -> &'static str {
    match asked {
        Asked::Line | Asked::Remove => "item",
        Asked::Customer => "customer_name",
        Asked::Adjust => "discount",
        Asked::Finalize => "finalize",
        Asked::Pay => "amount",
        Asked::Credit => "reason",
    }
}

/// `POST /app/invoices/{id}/{line|adjust|finalize|pay|credit}`.
pub async fn action(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<InvoiceForm>,
) -> Response {
    let asked = match action.as_str() {
        "line" => Asked::Line,
        "remove" => Asked::Remove,
        "customer" => Asked::Customer,
        "adjust" => Asked::Adjust,
        "finalize" => Asked::Finalize,
        "pay" => Asked::Pay,
        "credit" => Asked::Credit,
        _ => return page::not_found().await,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return page::not_found().await;
    };
    let refused = (
        "Nothing changed",
        "The form had expired. Open the invoice again and retry.",
    );
    let back = format!("/app/invoices/{id}");
    let SignedIn { principal, csrf } = match form_sender(&state, &headers, &form.csrf, &back, refused).await {
        Ok(sender) => sender,
        Err(answer) => return answer,
    };
    let mut errors = FieldErrors::default();
    let done = match asked {
        Asked::Customer => {
            let text = |t: &str| Some(t.trim().to_owned());
            let update = DraftUpdate {
                customer: Some(CustomerInput {
                    name: text(&form.customer_name),
                    phone: text(&form.customer_phone),
                    gstin: text(&form.customer_gstin),
                    address: text(&form.customer_address),
                    state_code: text(&form.customer_state),
                }),
                invoice_discount: None,
                tip_paise: None,
                tip_staff_id: None,
            };
            Some(state.app.update_draft(&principal, id, &update, &origin).await)
        }
        Asked::Remove => match form.position.trim().parse::<i16>() {
            Ok(position) => Some(
                state
                    .app
                    .remove_invoice_line(&principal, id, position, &origin)
                    .await,
            ),
            Err(_) => Some(Err(AppError::NotFound)),
        },
        Asked::Line => match (item_of(&form.item), form.quantity.trim().parse::<i32>()) {
            (Some((kind, item)), Ok(quantity)) => {
                let request = LineRequest {
                    kind: kind.into(),
                    product_id: Some(item).filter(|_| kind == "product"),
                    service_id: Some(item).filter(|_| kind == "service"),
                    description: None,
                    code: None,
                    quantity: Some(quantity),
                    unit_price_paise: None,
                    discount: None,
                    staff_id: form.staff.parse().ok(),
                };
                Some(
                    state
                        .app
                        .add_invoice_line(&principal, id, &request, &origin)
                        .await,
                )
            }
            (item, _) => {
                if item.is_none() {
                    errors.push("item", "Pick a service or a product.");
                } else {
                    errors.push("quantity", "Enter how many, e.g. 1.");
                }
                None
            }
        },
        Asked::Adjust => {
            let discount = match form.discount.trim() {
                "" => Some(None),
                text => match (form.discount_kind.as_str(), paise(text)) {
                    ("percent", Some(hundredths)) if hundredths <= 10_000 => Some(Some(DiscountInput {
                        amount_paise: None,
                        percent_bp: Some(hundredths as u32),
                    })),
                    ("percent", _) => {
                        errors.push("discount", "Enter a percentage from 0 to 100.");
                        None
                    }
                    (_, Some(amount)) => Some(Some(DiscountInput {
                        amount_paise: Some(amount),
                        percent_bp: None,
                    })),
                    (_, None) => {
                        errors.push("discount", "Enter the discount in rupees, e.g. 100.");
                        None
                    }
                },
            };
            let tip = match form.tip.trim() {
                "" => Some(0),
                text => {
                    let tip = paise(text);
                    if tip.is_none() {
                        errors.push("tip", "Enter the tip in rupees, e.g. 50.");
                    }
                    tip
                }
            };
            let tip_staff = form.tip_staff.parse::<Uuid>().ok();
            match (discount, tip) {
                (Some(discount), Some(tip)) => {
                    let update = DraftUpdate {
                        customer: None,
                        invoice_discount: Some(discount),
                        tip_paise: Some(tip),
                        tip_staff_id: tip_staff,
                    };
                    Some(state.app.update_draft(&principal, id, &update, &origin).await)
                }
                _ => None,
            }
        }
        Asked::Finalize => Some(state.app.finalize_invoice(&principal, id, &origin).await),
        Asked::Pay => match paise(&form.amount) {
            Some(amount) if amount > 0 => {
                let cash = form.method == "cash";
                let request = PaymentRequest {
                    method: form.method.clone(),
                    amount_paise: amount,
                    tendered_paise: None,
                    reference: Some(form.reference.trim().to_owned()).filter(|r| !r.is_empty() && !cash),
                };
                Some(state.app.pay(&principal, id, &request, &origin).await)
            }
            _ => {
                errors.push("amount", "Enter the amount received in rupees, e.g. 500.");
                None
            }
        },
        Asked::Credit => match form.credit_quantities() {
            Err(field) => {
                errors.push(
                    "credit_lines",
                    format!("Enter a whole number of each item to credit ({field})."),
                );
                None
            }
            // A form without quantities (none were offered) credits what is left.
            Ok(chosen) if !chosen.is_empty() && chosen.iter().all(|(_, q)| *q == 0) => {
                errors.push("credit_lines", "Enter how many of at least one item to credit.");
                None
            }
            Ok(chosen) => {
                let asked: Vec<CreditLine> = chosen
                    .iter()
                    .filter(|(_, q)| *q != 0)
                    .map(|(position, quantity)| CreditLine {
                        position: *position,
                        quantity: *quantity,
                    })
                    .collect();
                let request = CreditNoteRequest {
                    reason: form.reason.trim().to_owned(),
                    lines: (!chosen.is_empty()).then(|| asked.clone()),
                    restock: form.restock.is_some(),
                };
                match state.app.credit_note(&principal, id, &request, &origin).await {
                    Ok(note) => {
                        return Redirect::to(&format!("/app/invoices/{}", note.invoice.id)).into_response()
                    }
                    // A refused quantity is shown next to its line.
                    Err(AppError::Validation(fields))
                        if fields.iter().any(|f| f.field.starts_with("lines[")) =>
                    {
                        for f in &fields {
                            let line = f
                                .field
                                .strip_prefix("lines[")
                                .and_then(|rest| rest.split(']').next())
                                .and_then(|i| i.parse::<usize>().ok())
                                .and_then(|i| asked.get(i));
                            let field =
                                line.map_or("credit_lines".to_owned(), |l| format!("credit_{}", l.position));
                            errors.push(field, crate::booking::sentence(&f.message));
                        }
                        None
                    }
                    Err(e) => Some(Err(e)),
                }
            }
        },
    };
    let status = match done {
        Some(Ok(_)) => return Redirect::to(&back).into_response(),
        None => StatusCode::UNPROCESSABLE_ENTITY,
        Some(Err(AppError::Validation(fields))) => {
            for f in &fields {
                let field = form_field(&f.field);
                let field = if field.contains('.') || field.contains('[') {
                    general_field(&asked).to_owned()
                } else {
                    field
                };
                errors.push(field, crate::booking::sentence(&f.message));
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Some(Err(AppError::Conflict { detail, .. } | AppError::ConflictWith { detail, .. })) => {
            errors.push(general_field(&asked), detail);
            StatusCode::CONFLICT
        }
        Some(Err(AppError::Forbidden { detail, .. })) => {
            errors.push(general_field(&asked), detail);
            StatusCode::FORBIDDEN
        }
        Some(Err(e)) => return page::app_error(e, &csrf),
    };
    match state.app.invoice(&principal, id).await {
        Ok(view) => render(&state, &principal, &csrf, status, view, errors, form).await,
        Err(e) => page::app_error(e, &csrf),
    }
}
