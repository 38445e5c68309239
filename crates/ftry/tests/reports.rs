//! Reports through the API against a real PostgreSQL: revenue by day, staff,
//! service, category and payment method (JSON and CSV), the GST report
//! (B2B, B2C, HSN), staff commission and tips, appointment statistics, and
//! the day-end cash close. Every figure is computed by hand in the comments
//! next to it, in paise.
//!
//! The fixtures bill at 5% GST on services (SAC 999721) and hair products
//! (HSN 3305) and 18% on make-up (HSN 3304), with prices before tax
//! (`prices_include_tax = false`) at a Pune branch with a GSTIN, so a sale in
//! Maharashtra is CGST + SGST at half the rate each, and a sale delivered to
//! another state is IGST.

mod support;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use support::salon::{self as fixture, add_client, day, pune, Service, Setup};
use support::{admin, expect, get, invalid, post, send, TestApp};
use uuid::Uuid;

/// The branch's GSTIN (Maharashtra), so it issues tax invoices.
const SUPPLIER_GSTIN: &str = "27AAACR5055K1Z7";
/// A business customer's GSTIN (Gujarat).
const CUSTOMER_GSTIN: &str = "24AAACC1206D1ZM";

/// The suite's salon (`support::salon`): stylists who do both services, a
/// haircut (₹800, 45 min + 15 min cleanup, category "Hair") and a global
/// colour (₹3,500, category "Colour"), both SAC 999721.
struct Salon {
    base: fixture::Salon,
    haircut: Uuid,
    colour: Uuid,
    hair: Uuid,
    colour_category: Uuid,
}

impl std::ops::Deref for Salon {
    type Target = fixture::Salon;

    fn deref(&self) -> &fixture::Salon {
        &self.base
    }
}

const HAIRCUT: Service = Service {
    category: Some("Hair"),
    buffer_after_minutes: 15,
    ..Service::new("Haircut", 45, 80000)
};
const COLOUR: Service = Service {
    category: Some("Colour"),
    ..Service::new("Global colour", 120, 350000)
};

async fn salon_with(app: &TestApp, name: &str, stylist_count: usize) -> Salon {
    let setup = Setup {
        name,
        stylists: stylist_count,
        categories: &["Hair", "Colour"],
        services: &[HAIRCUT, COLOUR],
        chairs: 0,
    };
    let base = fixture::Salon::create(app, setup).await;
    Salon {
        haircut: base.services[0],
        colour: base.services[1],
        hair: base.categories[0],
        colour_category: base.categories[1],
        base,
    }
}

/// The retail products of a billing fixture, stocked at the branch.
struct Products {
    /// HSN 3305 (5%), ₹1,150.
    shampoo: Uuid,
    /// HSN 3304 (18%), ₹599.
    lipstick: Uuid,
}

/// Make the salon bill GST: prices before tax and a GSTIN on the branch;
/// add two products, 20 of each in stock.
async fn billing(app: &TestApp, salon: &Salon) -> Products {
    support::tenant_settings(app, salon.token(), json!({"prices_include_tax": false})).await;
    expect(
        send(
            app,
            salon.token(),
            Method::PATCH,
            &format!("/api/v1/locations/{}", salon.location),
            Some(&json!({"gstin": SUPPLIER_GSTIN})),
        )
        .await,
        200,
    )
    .await;
    let shampoo = product(app, salon, "HC-SH300", "Repair Shampoo 300 ml", "3305", 115000).await;
    let lipstick = product(app, salon, "MU-LIP01", "Matte Lipstick", "3304", 59900).await;
    Products { shampoo, lipstick }
}

async fn product(app: &TestApp, salon: &Salon, sku: &str, name: &str, hsn: &str, price: i64) -> Uuid {
    let token = &salon.business.access_token;
    let created = expect(
        post(
            app,
            token,
            "/api/v1/products",
            &json!({"sku": sku, "name": name, "hsn_code": hsn, "price_paise": price}),
        )
        .await,
        201,
    )
    .await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    expect(
        post(
            app,
            token,
            &format!("/api/v1/locations/{}/stock/movements", salon.location),
            &json!({"product_id": id, "kind": "purchase", "quantity": 20}),
        )
        .await,
        201,
    )
    .await;
    id
}

// ---------------------------------------------------------------- checkout

fn service_line(service: Uuid, staff: Uuid) -> Value {
    json!({"kind": "service", "service_id": service, "staff_id": staff})
}

fn product_line(product: Uuid, quantity: i32, staff: Uuid) -> Value {
    json!({"kind": "product", "product_id": product, "quantity": quantity, "staff_id": staff})
}

/// A walk-in sale: a draft for `customer`, its lines, a tip for a staff
/// member if any, finalized. Returns the finalized invoice.
async fn sale(
    app: &TestApp,
    salon: &Salon,
    customer: Value,
    lines: &[Value],
    tip: Option<(i64, Uuid)>,
) -> Value {
    sale_at(app, salon, salon.location, customer, lines, tip).await
}

async fn sale_at(
    app: &TestApp,
    salon: &Salon,
    location: Uuid,
    customer: Value,
    lines: &[Value],
    tip: Option<(i64, Uuid)>,
) -> Value {
    let token = &salon.business.access_token;
    let draft = expect(
        post(
            app,
            token,
            "/api/v1/invoices",
            &json!({"location_id": location, "customer": customer}),
        )
        .await,
        201,
    )
    .await;
    let id = draft["id"].as_str().unwrap().to_owned();
    for line in lines {
        expect(
            post(app, token, &format!("/api/v1/invoices/{id}/lines"), line).await,
            201,
        )
        .await;
    }
    if let Some((tip, staff)) = tip {
        expect(
            send(
                app,
                token,
                Method::PATCH,
                &format!("/api/v1/invoices/{id}"),
                Some(&json!({"tip_paise": tip, "tip_staff_id": staff})),
            )
            .await,
            200,
        )
        .await;
    }
    let finalized = expect(
        send(
            app,
            token,
            Method::POST,
            &format!("/api/v1/invoices/{id}/finalize"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(finalized["status"], "finalized");
    finalized
}

fn walk_in() -> Value {
    json!({"name": "Walk-in"})
}

fn id_of(document: &Value) -> &str {
    document["id"].as_str().unwrap()
}

fn issued_on(document: &Value) -> NaiveDate {
    document["issued_on"].as_str().unwrap().parse().unwrap()
}

/// Record a payment (a refund, on a credit note).
async fn pay(app: &TestApp, salon: &Salon, document: &Value, method: &str, amount: i64) -> Value {
    expect(
        post(
            app,
            salon.token(),
            &format!("/api/v1/invoices/{}/payments", id_of(document)),
            &json!({"method": method, "amount_paise": amount}),
        )
        .await,
        201,
    )
    .await
}

/// A credit note for some quantities of some lines (position, quantity).
async fn credit(app: &TestApp, salon: &Salon, invoice: &Value, lines: &[(i16, i32)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(position, quantity)| json!({"position": position, "quantity": quantity}))
        .collect();
    let note = expect(
        post(
            app,
            salon.token(),
            &format!("/api/v1/invoices/{}/credit-notes", id_of(invoice)),
            &json!({"reason": "Returned unopened", "lines": lines}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(note["kind"], "credit_note");
    note
}

/// Move a finalized invoice `days` back, as if it had been issued then. A
/// finalized invoice is immutable, so the superuser's session skips the
/// triggers for this one fixture change.
async fn backdate(app: &TestApp, invoice: &Value, days: i32) {
    let mut db = admin(app).await;
    db.execute("SET session_replication_role = replica")
        .await
        .unwrap();
    sqlx::query("UPDATE invoices SET issued_on = issued_on - $2 WHERE id = $1::uuid")
        .bind(id_of(invoice))
        .bind(days)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
}

// ---------------------------------------------------------------- reports

fn report_path(report: &str, location: Uuid, from: NaiveDate, to: NaiveDate, extra: &str) -> String {
    format!("/api/v1/reports/{report}?location_id={location}&from={from}&to={to}{extra}")
}

async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    expect(get(app, token, path).await, 200).await
}

/// A CSV answer: its content type checked, its records parsed (RFC 4180:
/// CRLF line ends, quoted fields with doubled quotes).
async fn csv(app: &TestApp, token: &str, path: &str) -> Vec<Vec<String>> {
    let response = get(app, token, path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
    parse_csv(&response.text().await.unwrap())
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => {
                assert!(field.is_empty(), "a quote inside an unquoted field: {text}");
                quoted = true;
            }
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF: {text}");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("a bare LF line end: {text:?}"),
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && record.is_empty(),
        "the last record ends with CRLF: {text:?}"
    );
    records
}

/// The CSV has the header `header` and exactly the JSON rows, in order, cell by cell.
fn assert_csv_is(records: &[Vec<String>], header: &[&str], rows: &Value) {
    let rows = rows.as_array().unwrap();
    assert_eq!(records[0], header, "the header row");
    assert_eq!(records.len(), rows.len() + 1, "{records:?}");
    for (record, row) in records[1..].iter().zip(rows) {
        let row = row.as_object().unwrap();
        assert_eq!(row.len(), header.len(), "{row:?}");
        assert_eq!(record.len(), header.len(), "{record:?}");
        for (name, cell) in header.iter().zip(record) {
            let expected = match &row[*name] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            assert_eq!(cell, &expected, "column {name} of {record:?}");
        }
    }
}

fn revenue_row(key: impl ToString, label: &str, documents: i64, taxable: i64, tax: i64, total: i64) -> Value {
    assert_eq!(taxable + tax, total, "a hand-computed figure is off: {label}");
    json!({"key": key.to_string(), "label": label, "documents": documents,
           "taxable_paise": taxable, "tax_paise": tax, "total_paise": total})
}

fn payment_row(method: &str, label: &str, documents: i64, total: i64) -> Value {
    json!({"key": method, "label": label, "documents": documents,
           "taxable_paise": 0, "tax_paise": 0, "total_paise": total})
}

/// 27 Nov 2026, as the revenue report labels a day.
fn day_label(date: NaiveDate) -> String {
    date.format("%d %b %Y").to_string()
}

const REVENUE_HEADER: [&str; 6] = [
    "documents",
    "key",
    "label",
    "tax_paise",
    "taxable_paise",
    "total_paise",
];

// ---------------------------------------------------------------------------
// 1. Revenue

/// Yesterday: invoice C, a haircut by Stylist 1, paid in cash.
/// Today:
///   A: haircut by Stylist 0, 2 × shampoo sold by Stylist 0; cash + UPI;
///   B: global colour by Stylist 1 with a ₹200 tip for Stylist 1; card;
///   a credit note for 1 shampoo of A (its total rounds off by 50 paise), refunded in cash.
#[tokio::test]
async fn revenue_by_day_staff_service_category_and_payment_method_subtracts_credit_notes_and_leaves_out_tips_and_round_off(
) {
    let app = TestApp::fresh().await;
    let salon = salon_with(&app, "Revenue Salon", 2).await;
    let products = billing(&app, &salon).await;
    let token = salon.business.access_token.clone();
    let (s0, s1) = (salon.stylists[0], salon.stylists[1]);

    // C: haircut 800.00 + CGST 20.00 + SGST 20.00 = 840.00.
    let c = sale(&app, &salon, walk_in(), &[service_line(salon.haircut, s1)], None).await;
    assert_eq!(c["total_paise"], 84000);
    pay(&app, &salon, &c, "cash", 84000).await;
    backdate(&app, &c, 1).await;

    // A: haircut 80000 + 2000 + 2000 = 84000; shampoo 2 × 115000 = 230000 + 5750 + 5750 = 241500;
    // 325500 in all, no round-off.
    let a = sale(
        &app,
        &salon,
        walk_in(),
        &[
            service_line(salon.haircut, s0),
            product_line(products.shampoo, 2, s0),
        ],
        None,
    )
    .await;
    assert_eq!(a["total_paise"], 325500);
    pay(&app, &salon, &a, "cash", 100000).await;
    let paid = pay(&app, &salon, &a, "upi", 225500).await;
    assert_eq!(paid["payment_status"], "paid");
    let today = issued_on(&a);
    let yesterday = today - Duration::days(1);

    // B: colour 350000 + 8750 + 8750 = 367500, tip 20000: 387500.
    let b = sale(
        &app,
        &salon,
        walk_in(),
        &[service_line(salon.colour, s1)],
        Some((20000, s1)),
    )
    .await;
    assert_eq!(b["total_paise"], 387500);
    pay(&app, &salon, &b, "card", 387500).await;

    // The credit note: 1 shampoo 115000 + 2875 + 2875 = 120750; credit notes are never rounded off.
    let note = credit(&app, &salon, &a, &[(1, 1)]).await;
    assert_eq!(note["total_paise"], 120750);
    assert_eq!(note["totals"]["round_off"], 0);
    pay(&app, &salon, &note, "cash", 120750).await;

    let path = |extra: &str| report_path("revenue", salon.location, yesterday, today, extra);

    // By day (the default): yesterday C; today A + B − the credit note:
    // taxable 80000 + 230000 + 350000 − 115000 = 545000, tax 4000 + 11500 + 17500 − 5750 = 27250.
    let by_day = vec![
        revenue_row(yesterday, &day_label(yesterday), 1, 80000, 4000, 84000),
        revenue_row(today, &day_label(today), 3, 545000, 27250, 572250),
    ];
    assert_eq!(report(&app, &token, &path("")).await["rows"], json!(by_day));
    assert_eq!(
        report(&app, &token, &path("&group=day")).await["rows"],
        json!(by_day)
    );
    // One day alone.
    assert_eq!(
        report(
            &app,
            &token,
            &report_path("revenue", salon.location, today, today, "")
        )
        .await["rows"],
        json!([by_day[1]])
    );

    // By staff, largest first: Stylist 1 = C + B (430000 + 21500); Stylist 0 = A's lines − the
    // credited shampoo (80000 + 230000 − 115000 = 195000; 4000 + 11500 − 5750 = 9750), in A and the note.
    let by_staff = json!([
        revenue_row(s1, "Stylist 1", 2, 430000, 21500, 451500),
        revenue_row(s0, "Stylist 0", 2, 195000, 9750, 204750),
    ]);
    assert_eq!(
        report(&app, &token, &path("&group=staff")).await["rows"],
        by_staff
    );

    // By service: the colour (B); the haircut (A and C); products together (A and the note).
    let by_service = json!([
        revenue_row(salon.colour, "Global colour", 1, 350000, 17500, 367500),
        revenue_row(salon.haircut, "Haircut", 2, 160000, 8000, 168000),
        revenue_row("product", "Product", 2, 115000, 5750, 120750),
    ]);
    assert_eq!(
        report(&app, &token, &path("&group=service")).await["rows"],
        by_service
    );

    // By category: the same figures under the services' categories.
    let by_category = json!([
        revenue_row(salon.colour_category, "Colour", 1, 350000, 17500, 367500),
        revenue_row(salon.hair, "Hair", 2, 160000, 8000, 168000),
        revenue_row("product", "Product", 2, 115000, 5750, 120750),
    ]);
    assert_eq!(
        report(&app, &token, &path("&group=category")).await["rows"],
        by_category
    );

    // By payment method, money as it moved, tips and round-off included:
    // card 387500 (B); UPI 225500 (A); cash 100000 (A) + 84000 (C) − 120750 (refund) = 63250.
    // 387500 + 225500 + 63250 = 676250 = revenue 656250 + tip 20000.
    let by_method = json!([
        payment_row("card", "Card", 1, 387500),
        payment_row("upi", "UPI", 1, 225500),
        payment_row("cash", "Cash", 3, 63250),
    ]);
    assert_eq!(
        report(&app, &token, &path("&group=payment_method")).await["rows"],
        by_method
    );

    // CSV: a header row and exactly the JSON figures.
    for (group, rows) in [
        ("day", json!(by_day)),
        ("staff", by_staff),
        ("service", by_service),
        ("category", by_category),
        ("payment_method", by_method),
    ] {
        let records = csv(&app, &token, &path(&format!("&group={group}&format=csv"))).await;
        assert_csv_is(&records, &REVENUE_HEADER, &rows);
    }
    assert_eq!(
        csv(&app, &token, &path("&group=staff&format=csv")).await[1],
        ["2", &s1.to_string(), "Stylist 1", "21500", "430000", "451500"]
    );
    invalid(get(&app, &token, &path("&format=pdf")).await, "format").await;

    // Periods: `to` before `from`, or more than 366 days after it, are refused.
    let period = |from: NaiveDate, to: NaiveDate| report_path("revenue", salon.location, from, to, "");
    invalid(get(&app, &token, &period(today, yesterday)).await, "to").await;
    invalid(
        get(&app, &token, &period(today - Duration::days(367), today)).await,
        "to",
    )
    .await;
    invalid(
        get(&app, &token, &period(today - Duration::days(1000), today)).await,
        "to",
    )
    .await;
    let year = report(&app, &token, &period(today - Duration::days(365), today)).await;
    assert_eq!(year["rows"], json!(by_day));
    // A period without sales: no rows, and a CSV of the header alone.
    let before = today - Duration::days(30);
    assert_eq!(
        report(&app, &token, &period(before, before)).await["rows"],
        json!([])
    );
    assert_eq!(
        csv(
            &app,
            &token,
            &report_path("revenue", salon.location, before, before, "&format=csv")
        )
        .await,
        [REVENUE_HEADER]
    );

    // Another business's branch is unknown; a receptionist may not see revenue.
    let other = app.signup("Other Salon").await;
    let foreign: Uuid = other.location_id.parse().unwrap();
    support::problem(
        get(
            &app,
            &token,
            &report_path("revenue", foreign, yesterday, today, ""),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let (_, receptionist, _) = app
        .add_member(&token, &salon.business.tenant_id, &["receptionist"])
        .await;
    for group in ["day", "staff", "payment_method"] {
        support::problem(
            get(&app, &receptionist, &path(&format!("&group={group}"))).await,
            403,
            "permission_denied",
        )
        .await;
    }
    support::problem(
        get(&app, &receptionist, &path("&format=csv")).await,
        403,
        "permission_denied",
    )
    .await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 2. GST report

/// 1. B2B to Lotus Events (GSTIN, Gujarat; services in Pune, so place of supply 27):
///    colour by Stylist 0 + haircut by Stylist 1.
/// 2. B2C in Pune: haircut + 2 lipsticks (18%).
/// 3. B2C delivered to Karnataka (29): 2 shampoos, IGST.
/// Credit notes: the haircut of 1 (B2B), one lipstick of 2 (B2C).
#[tokio::test]
async fn the_gst_report_lists_b2b_documents_sums_b2c_by_place_and_rate_and_summarises_hsn_with_credit_notes_negative(
) {
    let app = TestApp::fresh().await;
    let salon = salon_with(&app, "Tax Salon", 2).await;
    let products = billing(&app, &salon).await;
    let token = salon.business.access_token.clone();
    let (s0, s1) = (salon.stylists[0], salon.stylists[1]);

    // colour 350000 + 8750 + 8750; haircut 80000 + 2000 + 2000: 451500.
    let b2b = sale(
        &app,
        &salon,
        json!({"name": "Lotus Events Pvt Ltd", "gstin": CUSTOMER_GSTIN, "address": "CG Road, Ahmedabad"}),
        &[service_line(salon.colour, s0), service_line(salon.haircut, s1)],
        None,
    )
    .await;
    assert_eq!(b2b["total_paise"], 451500);
    assert_eq!(b2b["place_of_supply"], "27");
    assert_eq!(b2b["document_kind"], "tax_invoice");
    let today = issued_on(&b2b);
    // haircut 80000 + 2000 + 2000 = 84000; lipsticks 119800 + 10782 + 10782 = 141364
    // (9% of 119800 = 10782); 225364, rounded off to 225400.
    let pune_sale = sale(
        &app,
        &salon,
        walk_in(),
        &[
            service_line(salon.haircut, s0),
            product_line(products.lipstick, 2, s0),
        ],
        None,
    )
    .await;
    assert_eq!(pune_sale["total_paise"], 225400);
    // 230000 + IGST 5% 11500 = 241500.
    let bengaluru_sale = sale(
        &app,
        &salon,
        json!({"name": "Kavya Rao", "address": "Indiranagar, Bengaluru", "state_code": "29"}),
        &[product_line(products.shampoo, 2, s1)],
        None,
    )
    .await;
    assert_eq!(bengaluru_sale["total_paise"], 241500);
    // −(80000 + 2000 + 2000) = −84000 on the B2B invoice.
    let b2b_note = credit(&app, &salon, &b2b, &[(1, 1)]).await;
    assert_eq!(b2b_note["total_paise"], 84000);
    // −(59900 + 5391 + 5391) = −70682 on the Pune sale (credit notes are never rounded off).
    let b2c_note = credit(&app, &salon, &pune_sale, &[(1, 1)]).await;
    assert_eq!(b2c_note["total_paise"], 70682);

    let path = |extra: &str| report_path("tax", salon.location, today, today, extra);
    let tax = report(&app, &token, &path("")).await;
    let b2b_row = |document: &Value, kind: &str, figures: [i64; 5]| {
        json!({
            "number": document["number"], "issued_on": today.to_string(), "kind": kind,
            "customer_gstin": CUSTOMER_GSTIN, "customer_name": "Lotus Events Pvt Ltd", "place_of_supply": "27",
            "taxable_paise": figures[0], "cgst_paise": figures[1], "sgst_paise": figures[2],
            "igst_paise": figures[3], "total_paise": figures[4],
        })
    };
    let expected_b2b = json!([
        b2b_row(&b2b, "invoice", [430000, 10750, 10750, 0, 451500]),
        b2b_row(&b2b_note, "credit_note", [-80000, -2000, -2000, 0, -84000]),
    ]);
    assert!(b2b["number"].as_str().unwrap() < b2b_note["number"].as_str().unwrap());
    assert_eq!(tax["b2b"], expected_b2b);

    // B2C by place of supply and rate: Pune at 5% (the haircut), Pune at 18% (2 lipsticks − 1),
    // Karnataka at 5% (IGST).
    let b2c_row = |place: &str, rate: i64, figures: [i64; 4]| {
        json!({"place_of_supply": place, "rate_bp": rate, "taxable_paise": figures[0],
               "cgst_paise": figures[1], "sgst_paise": figures[2], "igst_paise": figures[3]})
    };
    let expected_b2c = json!([
        b2c_row("27", 500, [80000, 2000, 2000, 0]),
        b2c_row("27", 1800, [119800 - 59900, 10782 - 5391, 10782 - 5391, 0]),
        b2c_row("29", 500, [230000, 0, 0, 11500]),
    ]);
    assert_eq!(tax["b2c"], expected_b2c);

    // HSN/SAC by code and rate, B2B and B2C together, credit notes subtracted:
    // 999721: colour + haircut (B2B) + haircut (B2C) − haircut (note) = 2 units,
    // 350000 + 80000 + 80000 − 80000 = 430000, CGST = SGST = 8750 + 2000 + 2000 − 2000 = 10750.
    let hsn_row = |code: &str, description: &str, rate: i64, quantity: i64, figures: [i64; 4]| {
        json!({"code": code, "description": description, "rate_bp": rate, "quantity": quantity,
               "taxable_paise": figures[0], "cgst_paise": figures[1], "sgst_paise": figures[2],
               "igst_paise": figures[3]})
    };
    let expected_hsn = json!([
        hsn_row(
            "3304",
            "Beauty, make-up and skin-care preparations",
            1800,
            1,
            [59900, 5391, 5391, 0]
        ),
        hsn_row(
            "3305",
            "Preparations for use on the hair (shampoo, conditioner, hair oil)",
            500,
            2,
            [230000, 0, 0, 11500]
        ),
        hsn_row(
            "999721",
            "Hairdressing and barbers' services",
            500,
            2,
            [430000, 10750, 10750, 0]
        ),
    ]);
    assert_eq!(tax["hsn"], expected_hsn);

    // CSV, one section at a time, exactly the JSON (a description with commas is quoted).
    let b2b_csv = csv(&app, &token, &path("&format=csv&section=b2b")).await;
    assert_csv_is(
        &b2b_csv,
        &[
            "cgst_paise",
            "customer_gstin",
            "customer_name",
            "igst_paise",
            "issued_on",
            "kind",
            "number",
            "place_of_supply",
            "sgst_paise",
            "taxable_paise",
            "total_paise",
        ],
        &expected_b2b,
    );
    assert_eq!(b2b_csv[2][10], "-84000");
    let b2c_csv = csv(&app, &token, &path("&format=csv&section=b2c")).await;
    assert_csv_is(
        &b2c_csv,
        &[
            "cgst_paise",
            "igst_paise",
            "place_of_supply",
            "rate_bp",
            "sgst_paise",
            "taxable_paise",
        ],
        &expected_b2c,
    );
    let hsn_csv = csv(&app, &token, &path("&format=csv&section=hsn")).await;
    assert_csv_is(
        &hsn_csv,
        &[
            "cgst_paise",
            "code",
            "description",
            "igst_paise",
            "quantity",
            "rate_bp",
            "sgst_paise",
            "taxable_paise",
        ],
        &expected_hsn,
    );
    assert_eq!(
        hsn_csv[2][2],
        "Preparations for use on the hair (shampoo, conditioner, hair oil)"
    );
    for section in ["&section=gstr3b", "&section=", ""] {
        invalid(
            get(&app, &token, &path(&format!("&format=csv{section}"))).await,
            "section",
        )
        .await;
    }

    // A day without sales has empty sections.
    let quiet = report(
        &app,
        &token,
        &report_path(
            "tax",
            salon.location,
            today - Duration::days(10),
            today - Duration::days(1),
            "",
        ),
    )
    .await;
    assert_eq!(quiet, json!({"b2b": [], "b2c": [], "hsn": []}));
    // Their CSV still has its header row, and nothing else.
    for (section, header) in [("b2b", &b2b_csv[0]), ("b2c", &b2c_csv[0]), ("hsn", &hsn_csv[0])] {
        let path = report_path(
            "tax",
            salon.location,
            today - Duration::days(10),
            today - Duration::days(1),
            &format!("&format=csv&section={section}"),
        );
        assert_eq!(csv(&app, &token, &path).await, std::slice::from_ref(header));
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 3. Staff commission and tips

async fn set_commission(
    app: &TestApp,
    token: &str,
    staff: Uuid,
    service_bp: i64,
    product_bp: i64,
) -> reqwest::Response {
    send(
        app,
        token,
        Method::PUT,
        &format!("/api/v1/staff/{staff}/commission"),
        Some(&json!({"service_commission_bp": service_bp, "product_commission_bp": product_bp})),
    )
    .await
}

/// Stylist 0 (10% services, 5% products): colour + haircut, one lipstick at
/// ₹599.10, a ₹150 tip; the haircut credited back. Stylist 1 (12.5%, 2.5%):
/// a haircut and two lipsticks. Stylist 2 sold nothing and gets a ₹50 tip.
#[tokio::test]
async fn staff_commission_is_their_rate_of_the_taxable_value_they_sold_and_tips_go_to_the_tipped_stylist() {
    let app = TestApp::fresh().await;
    let salon = salon_with(&app, "Commission Salon", 3).await;
    let products = billing(&app, &salon).await;
    let token = salon.business.access_token.clone();
    let (s0, s1, s2) = (salon.stylists[0], salon.stylists[1], salon.stylists[2]);

    for (staff, service_bp, product_bp) in [(s0, 1000, 500), (s1, 1250, 250)] {
        let set = set_commission(&app, &token, staff, service_bp, product_bp).await;
        assert_eq!(set.status(), 204);
    }
    let mut lipstick = product_line(products.lipstick, 1, s0);
    lipstick["unit_price_paise"] = json!(59910);
    let first = sale(
        &app,
        &salon,
        walk_in(),
        &[
            service_line(salon.colour, s0),
            service_line(salon.haircut, s0),
            lipstick,
        ],
        Some((15000, s0)),
    )
    .await;
    assert_eq!(first["tip_paise"], 15000);
    let today = issued_on(&first);
    let mut lipsticks = product_line(products.lipstick, 2, s1);
    lipsticks["unit_price_paise"] = json!(59910);
    sale(
        &app,
        &salon,
        walk_in(),
        &[service_line(salon.haircut, s1), lipsticks],
        Some((5000, s2)),
    )
    .await;
    credit(&app, &salon, &first, &[(1, 1)]).await;

    // Stylist 0: services 350000 + 80000 − 80000 = 350000 → 10% = 35000; products 59910 → 5% =
    // 2995.5 → 2996; commission 37996; tip 15000.
    // Stylist 1: services 80000 → 12.5% = 10000; products 119820 → 2.5% = 2995.5 → 2996: 12996.
    // Stylist 2: nothing sold; tip 5000.
    let staff_row = |staff: Uuid, name: &str, figures: [i64; 4]| {
        json!({"staff_id": staff, "name": name, "service_taxable_paise": figures[0],
               "product_taxable_paise": figures[1], "commission_paise": figures[2], "tips_paise": figures[3]})
    };
    let expected = json!([
        staff_row(s0, "Stylist 0", [350000, 59910, 37996, 15000]),
        staff_row(s1, "Stylist 1", [80000, 119820, 12996, 0]),
        staff_row(s2, "Stylist 2", [0, 0, 0, 5000]),
    ]);
    let path = report_path("staff", salon.location, today, today, "");
    assert_eq!(report(&app, &token, &path).await["rows"], expected);
    let records = csv(&app, &token, &format!("{path}&format=csv")).await;
    assert_csv_is(
        &records,
        &[
            "commission_paise",
            "name",
            "product_taxable_paise",
            "service_taxable_paise",
            "staff_id",
            "tips_paise",
        ],
        &expected,
    );

    // New rates apply to the report from then on: Stylist 1 at 0% and 100%.
    assert_eq!(set_commission(&app, &token, s1, 0, 10000).await.status(), 204);
    let rows = report(&app, &token, &path).await["rows"].clone();
    assert_eq!(rows[1]["commission_paise"], 119820);

    // Rates outside 0..=10000 basis points are refused, and change nothing.
    invalid(
        set_commission(&app, &token, s0, -1, 500).await,
        "service_commission_bp",
    )
    .await;
    invalid(
        set_commission(&app, &token, s0, 1000, 10001).await,
        "product_commission_bp",
    )
    .await;
    invalid(
        set_commission(&app, &token, s0, 10001, -1).await,
        "service_commission_bp",
    )
    .await;
    assert_eq!(report(&app, &token, &path).await["rows"][0], expected[0]);

    // Another business's stylist, or nobody, is unknown.
    let other = salon_with(&app, "Other Salon", 1).await;
    support::problem(
        set_commission(&app, &token, other.stylists[0], 1000, 500).await,
        404,
        "not_found",
    )
    .await;
    support::problem(
        set_commission(&app, &token, Uuid::now_v7(), 1000, 500).await,
        404,
        "not_found",
    )
    .await;
    let mut db = admin(&app).await;
    let untouched: (i32, i32) =
        sqlx::query_as("SELECT service_commission_bp, product_commission_bp FROM staff WHERE id = $1")
            .bind(other.stylists[0])
            .fetch_one(&mut db)
            .await
            .unwrap();
    db.close().await.unwrap();
    assert_eq!(untouched, (0, 0));
    // Nor can a receptionist set rates or see the report.
    let (_, receptionist, _) = app
        .add_member(&token, &salon.business.tenant_id, &["receptionist"])
        .await;
    support::problem(
        set_commission(&app, &receptionist, s0, 0, 0).await,
        403,
        "permission_denied",
    )
    .await;
    support::problem(get(&app, &receptionist, &path).await, 403, "permission_denied").await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 4. Appointment statistics

/// Book a haircut and return the appointment's id.
async fn book(app: &TestApp, salon: &Salon, client: Uuid, start: DateTime<Utc>, staff: Uuid) -> String {
    let booked = expect(
        post(
            app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location,
                "client_id": client,
                "start": start,
                "items": [{"service_id": salon.haircut, "staff_id": staff}],
            }),
        )
        .await,
        201,
    )
    .await;
    booked["id"].as_str().unwrap().to_owned()
}

async fn move_to(app: &TestApp, salon: &Salon, id: &str, statuses: &[&str]) {
    for status in statuses {
        let changed = expect(
            post(
                app,
                salon.token(),
                &format!("/api/v1/appointments/{id}/status"),
                &json!({"status": status}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(changed["status"], *status);
    }
}

async fn cancel(app: &TestApp, salon: &Salon, id: &str) {
    let cancelled = expect(
        post(
            app,
            salon.token(),
            &format!("/api/v1/appointments/{id}/cancel"),
            &json!({"reason": "Client called to cancel"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
}

/// The period is days 2–4 from today. Before it (day 1) Neha and Chitra each
/// have a visit booked; after it (day 5) Neha has another.
///   day 2: Neha completed; Bala completed;
///   day 3: Bala no-show; Chitra cancelled (her only appointment in the period);
///   day 4: Dev booked; Esha confirmed; Neha completed.
#[tokio::test]
async fn appointment_stats_count_each_status_the_no_show_rate_and_new_and_returning_clients() {
    let app = TestApp::fresh().await;
    let salon = salon_with(&app, "Stats Salon", 2).await;
    let token = salon.business.access_token.clone();
    let (s0, s1) = (salon.stylists[0], salon.stylists[1]);
    let neha = salon.client;
    let bala = add_client(&app, &salon, "Bala Iyer", "+919812345671").await;
    let chitra = add_client(&app, &salon, "Chitra Joshi", "+919812345672").await;
    let dev = add_client(&app, &salon, "Dev Shah", "+919812345673").await;
    let esha = add_client(&app, &salon, "Esha Nair", "+919812345674").await;

    book(&app, &salon, neha, pune(day(1), 10, 0), s0).await;
    book(&app, &salon, chitra, pune(day(1), 12, 0), s0).await;
    book(&app, &salon, neha, pune(day(5), 10, 0), s0).await;

    let done = ["checked_in", "completed"];
    let a = book(&app, &salon, neha, pune(day(2), 10, 0), s0).await;
    move_to(&app, &salon, &a, &done).await;
    let a = book(&app, &salon, bala, pune(day(2), 10, 0), s1).await;
    move_to(&app, &salon, &a, &done).await;
    let a = book(&app, &salon, bala, pune(day(3), 10, 0), s0).await;
    move_to(&app, &salon, &a, &["no_show"]).await;
    let a = book(&app, &salon, chitra, pune(day(3), 12, 0), s0).await;
    cancel(&app, &salon, &a).await;
    book(&app, &salon, dev, pune(day(4), 10, 0), s0).await;
    let a = book(&app, &salon, esha, pune(day(4), 10, 0), s1).await;
    move_to(&app, &salon, &a, &["confirmed"]).await;
    let a = book(&app, &salon, neha, pune(day(4), 14, 0), s0).await;
    move_to(
        &app,
        &salon,
        &a,
        &["confirmed", "checked_in", "in_service", "completed"],
    )
    .await;

    // 7 appointments; no-show rate 1 ÷ (3 completed + 1 no-show) = 2500 bp. New: Bala, Dev and
    // Esha (first visit in the period); returning: Neha (a visit on day 1). Chitra's only
    // appointment in the period was cancelled: she is neither.
    let path = report_path("appointments", salon.location, day(2), day(4), "");
    let stats = report(&app, &token, &path).await;
    assert_eq!(
        stats,
        json!({"total": 7, "booked": 1, "confirmed": 1, "completed": 3, "cancelled": 1, "no_show": 1,
               "no_show_rate_bp": 2500, "new_clients": 3, "returning_clients": 1})
    );
    let records = csv(&app, &token, &format!("{path}&format=csv")).await;
    assert_csv_is(
        &records,
        &[
            "booked",
            "cancelled",
            "completed",
            "confirmed",
            "new_clients",
            "no_show",
            "no_show_rate_bp",
            "returning_clients",
            "total",
        ],
        &json!([stats]),
    );

    // Day 1 alone: two booked visits, both clients new; nothing due yet, so no rate.
    let first_day = report(
        &app,
        &token,
        &report_path("appointments", salon.location, day(1), day(1), ""),
    )
    .await;
    assert_eq!(
        first_day,
        json!({"total": 2, "booked": 2, "confirmed": 0, "completed": 0, "cancelled": 0, "no_show": 0,
               "no_show_rate_bp": 0, "new_clients": 2, "returning_clients": 0})
    );
    // Days 3–5: Bala's no-show against Neha's completed visit on day 4: 1 ÷ 2 = 5000 bp;
    // Bala, Neha (twice) returning; Dev, Esha new.
    let later = report(
        &app,
        &token,
        &report_path("appointments", salon.location, day(3), day(5), ""),
    )
    .await;
    assert_eq!(
        later,
        json!({"total": 6, "booked": 2, "confirmed": 1, "completed": 1, "cancelled": 1, "no_show": 1,
               "no_show_rate_bp": 5000, "new_clients": 2, "returning_clients": 2})
    );

    // The operations permission is enough: a manager may see them; a receptionist may not.
    let (_, manager, _) = app
        .add_member(&token, &salon.business.tenant_id, &["manager"])
        .await;
    assert_eq!(report(&app, &manager, &path).await, stats);
    let (_, receptionist, _) = app
        .add_member(&token, &salon.business.tenant_id, &["receptionist"])
        .await;
    support::problem(get(&app, &receptionist, &path).await, 403, "permission_denied").await;
    invalid(
        get(
            &app,
            &token,
            &report_path("appointments", salon.location, day(4), day(2), ""),
        )
        .await,
        "to",
    )
    .await;
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 5. Cash close

fn cash_close_path(location: Uuid) -> String {
    format!("/api/v1/locations/{location}/cash-close")
}

async fn get_close(app: &TestApp, token: &str, location: Uuid, business_day: NaiveDate) -> Value {
    report(
        app,
        token,
        &format!("{}?business_day={business_day}", cash_close_path(location)),
    )
    .await
}

async fn close(
    app: &TestApp,
    token: &str,
    location: Uuid,
    business_day: NaiveDate,
    counted: i64,
) -> reqwest::Response {
    post(
        app,
        token,
        &cash_close_path(location),
        &json!({"business_day": business_day, "counted_cash_paise": counted, "note": "Counted by Asha"}),
    )
    .await
}

/// At the main branch today: a haircut paid ₹500 in cash (₹1,000 tendered)
/// and ₹340 by card; a colour paid ₹2,000 in cash and ₹1,675 by UPI; the
/// haircut credited and ₹840 refunded in cash. A second branch (no GSTIN, so
/// no tax) sells a haircut for ₹800 cash.
#[tokio::test]
async fn the_cash_close_expects_cash_in_less_cash_out_records_the_counted_difference_once_and_then_shows_what_was_stored(
) {
    let app = TestApp::fresh().await;
    let salon = salon_with(&app, "Till Salon", 2).await;
    billing(&app, &salon).await;
    let token = salon.business.access_token.clone();
    let (s0, s1) = (salon.stylists[0], salon.stylists[1]);

    let haircut = sale(&app, &salon, walk_in(), &[service_line(salon.haircut, s0)], None).await;
    assert_eq!(haircut["total_paise"], 84000);
    let today = issued_on(&haircut);
    let paid = expect(
        post(
            &app,
            &token,
            &format!("/api/v1/invoices/{}/payments", id_of(&haircut)),
            &json!({"method": "cash", "amount_paise": 50000, "tendered_paise": 100000}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(paid["payments"][0]["change_paise"], 50000);
    pay(&app, &salon, &haircut, "card", 34000).await;
    let colour = sale(&app, &salon, walk_in(), &[service_line(salon.colour, s1)], None).await;
    assert_eq!(colour["total_paise"], 367500);
    pay(&app, &salon, &colour, "cash", 200000).await;
    pay(&app, &salon, &colour, "upi", 167500).await;
    let note = credit(&app, &salon, &haircut, &[(0, 1)]).await;
    assert_eq!(note["total_paise"], 84000);
    pay(&app, &salon, &note, "cash", 84000).await;

    // Cash: 50000 + 200000 − 84000 = 166000 (the change never entered the till).
    let open = get_close(&app, &token, salon.location, today).await;
    let totals = json!({"card": 34000, "cash": 166000, "upi": 167500});
    assert_eq!(
        open,
        json!({"location_id": salon.location, "business_day": today.to_string(), "totals": totals,
               "expected_cash_paise": 166000, "counted_cash_paise": null, "difference_paise": null,
               "closed": false})
    );

    // Negative counted cash is refused and closes nothing.
    invalid(
        close(&app, &token, salon.location, today, -1).await,
        "counted_cash_paise",
    )
    .await;
    assert_eq!(get_close(&app, &token, salon.location, today).await, open);

    // ₹40 more in the till than expected.
    let closed = expect(close(&app, &token, salon.location, today, 170000).await, 200).await;
    let stored = json!({"location_id": salon.location, "business_day": today.to_string(), "totals": totals,
                        "expected_cash_paise": 166000, "counted_cash_paise": 170000, "difference_paise": 4000,
                        "closed": true});
    assert_eq!(closed, stored);
    let again = support::problem(
        close(&app, &token, salon.location, today, 166000).await,
        409,
        "already_closed",
    )
    .await;
    assert!(!again["detail"].as_str().unwrap().is_empty());

    // A sale after the close does not change the stored close.
    let late = sale(&app, &salon, walk_in(), &[service_line(salon.haircut, s1)], None).await;
    pay(&app, &salon, &late, "cash", 84000).await;
    assert_eq!(get_close(&app, &token, salon.location, today).await, stored);

    // A second branch closes on its own figures: ₹5 short.
    let branch = expect(
        post(
            &app,
            &token,
            "/api/v1/locations",
            &json!({"name": "Koregaon Park", "state_code": "27", "address": "North Main Road, Pune"}),
        )
        .await,
        201,
    )
    .await;
    let branch: Uuid = branch["id"].as_str().unwrap().parse().unwrap();
    let bill = sale_at(
        &app,
        &salon,
        branch,
        walk_in(),
        &[service_line(salon.haircut, s0)],
        None,
    )
    .await;
    assert_eq!(bill["document_kind"], "bill_of_supply");
    assert_eq!(bill["total_paise"], 80000);
    pay(&app, &salon, &bill, "cash", 80000).await;
    let branch_open = get_close(&app, &token, branch, today).await;
    assert_eq!(branch_open["totals"], json!({"cash": 80000}));
    assert_eq!(branch_open["expected_cash_paise"], 80000);
    assert_eq!(branch_open["closed"], false);
    let short = expect(close(&app, &token, branch, today, 79500).await, 200).await;
    assert_eq!(short["expected_cash_paise"], 80000);
    assert_eq!(short["counted_cash_paise"], 79500);
    assert_eq!(short["difference_paise"], -500);
    assert_eq!(short["closed"], true);
    assert_eq!(get_close(&app, &token, branch, today).await, short);

    // A day without takings expects nothing.
    let yesterday = today - Duration::days(1);
    assert_eq!(
        get_close(&app, &token, salon.location, yesterday).await,
        json!({"location_id": salon.location, "business_day": yesterday.to_string(), "totals": {},
               "expected_cash_paise": 0, "counted_cash_paise": null, "difference_paise": null,
               "closed": false})
    );

    // Another business's branch is unknown, for reading and for closing.
    let other = app.signup("Other Salon").await;
    let foreign: Uuid = other.location_id.parse().unwrap();
    support::problem(
        get(
            &app,
            &token,
            &format!("{}?business_day={today}", cash_close_path(foreign)),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    support::problem(close(&app, &token, foreign, today, 0).await, 404, "not_found").await;
    app.stop().await;
}
