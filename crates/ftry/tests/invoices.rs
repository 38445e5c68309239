//! Checkout and billing through the API against a real PostgreSQL: drafts
//! from appointments, GST figures worked out by hand, immutability (also in
//! the database itself), payments, credit notes, gapless numbering under
//! concurrency, the tamper-evident ledger, bad input refused precisely and
//! without half-written rows, and the printable invoice.

mod support;

use chrono::{DateTime, Datelike, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use support::salon::{self as fixture, today_in_pune, Service, Setup};
use support::{admin, body, get, invalid, post, send, TestApp};
use uuid::Uuid;

const SUPPLIER_GSTIN: &str = "27AAACR5055K1Z7";

// ---------------------------------------------------------------------------
// Fixture: the suite's salon (`support::salon`), with appointments booked
// through the API.

/// The salon with two stylists who do both services: a haircut (₹800, SAC
/// 999721) and a manicure (₹500, SAC 999722).
struct Salon {
    base: fixture::Salon,
    haircut: Uuid,
    manicure: Uuid,
}

impl std::ops::Deref for Salon {
    type Target = fixture::Salon;

    fn deref(&self) -> &fixture::Salon {
        &self.base
    }
}

const HAIRCUT: Service = Service::new("Haircut", 45, 80000);
const MANICURE: Service = Service {
    tax_code: "999722",
    ..Service::new("Manicure", 30, 50000)
};

async fn salon_with(app: &TestApp, name: &str) -> Salon {
    let setup = Setup {
        name,
        stylists: 2,
        categories: &[],
        services: &[HAIRCUT, MANICURE],
        chairs: 0,
    };
    let base = fixture::Salon::create(app, setup).await;
    Salon {
        haircut: base.services[0],
        manicure: base.services[1],
        base,
    }
}

/// The branch becomes GST-registered: it issues tax invoices.
async fn give_gstin(app: &TestApp, salon: &Salon) {
    let branch = body(
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
    assert_eq!(branch["gstin"], SUPPLIER_GSTIN);
}

/// A registered salon: the fixture with a GSTIN on its branch.
async fn registered_salon(app: &TestApp, name: &str) -> Salon {
    let salon = salon_with(app, name).await;
    give_gstin(app, &salon).await;
    salon
}

/// Change one of the business's billing settings through the API.
async fn tenant_setting(app: &TestApp, salon: &Salon, setting: &str, value: bool) {
    let mut change = serde_json::Map::new();
    change.insert(setting.into(), value.into());
    support::tenant_settings(app, salon.token(), Value::Object(change)).await;
}

/// A second branch of the business, in the same state, added as the superuser.
async fn second_branch(app: &TestApp, salon: &Salon) -> Uuid {
    let branch = Uuid::now_v7();
    let mut db = admin(app).await;
    sqlx::query(
        "INSERT INTO locations (tenant_id, id, name, state_code) VALUES ($1, $2, 'Baner branch', '27')",
    )
    .bind(salon.tenant)
    .bind(branch)
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    branch
}

async fn scalar_i64(app: &TestApp, query: &str, id: Uuid) -> i64 {
    let mut db = admin(app).await;
    let n: i64 = sqlx::query_scalar(query)
        .bind(id)
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    n
}

/// The rows billing writes for a business: invoices, lines, payments, series,
/// stock movements, domain events, audit events.
async fn written(app: &TestApp, tenant: Uuid) -> [i64; 7] {
    let mut out = [0; 7];
    for (i, table) in [
        "invoices",
        "invoice_lines",
        "payments",
        "invoice_series",
        "stock_movements",
        "domain_events",
        "audit_events",
    ]
    .iter()
    .enumerate()
    {
        out[i] = scalar_i64(
            app,
            &format!("SELECT count(*) FROM {table} WHERE tenant_id = $1"),
            tenant,
        )
        .await;
    }
    out
}

/// `hh:00` in Pune, `days` from today.
fn pune(days: i64, hour: u32) -> DateTime<Utc> {
    fixture::pune(fixture::day(days), hour, 0)
}

/// The first calendar year of the financial year (1 April – 31 March) of today in India.
fn financial_year() -> i32 {
    let today = today_in_pune();
    if today.month() >= 4 {
        today.year()
    } else {
        today.year() - 1
    }
}

/// An invoice number as DESIGN.md §6 and numbering.rs write it: 16 characters,
/// `{code}/{yy-yy}/{sequence}` with the sequence zero-padded to fill.
fn invoice_number(code: &str, sequence: u32) -> String {
    let year = financial_year();
    let prefix = format!("{code}/{:02}-{:02}/", year % 100, (year + 1) % 100);
    let number = format!("{prefix}{sequence:0width$}", width = 16 - prefix.len());
    assert_eq!(number.len(), 16);
    number
}

/// A credit-note number: `{code}/CN{yyyy}/{sequence}`, also 16 characters.
fn credit_note_number(code: &str, sequence: u32) -> String {
    let year = financial_year();
    let prefix = format!("{code}/CN{:02}{:02}/", year % 100, (year + 1) % 100);
    let number = format!("{prefix}{sequence:0width$}", width = 16 - prefix.len());
    assert_eq!(number.len(), 16);
    number
}

/// Book an appointment of these (service, stylist) items at `hour` tomorrow.
async fn book(app: &TestApp, salon: &Salon, hour: u32, items: &[(Uuid, Uuid)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(service, staff)| json!({"service_id": service, "staff_id": staff}))
        .collect();
    let request = json!({
        "location_id": salon.location, "client_id": salon.client, "start": pune(1, hour), "items": items,
    });
    body(
        post(app, salon.token(), "/api/v1/appointments", &request).await,
        201,
    )
    .await
}

/// A product created through the API with `stock` units bought in at the branch.
async fn product(app: &TestApp, salon: &Salon, sku: &str, price_paise: i64, stock: i32) -> Uuid {
    let created = post(app, salon.token(), "/api/v1/products", &json!({"sku": sku, "name": format!("Shampoo {sku}"), "hsn_code": "3305", "price_paise": price_paise}))
    .await;
    let id: Uuid = body(created, 201).await["id"].as_str().unwrap().parse().unwrap();
    if stock > 0 {
        let moved = post(
            app,
            salon.token(),
            &format!("/api/v1/locations/{}/stock/movements", salon.location),
            &json!({"product_id": id, "kind": "purchase", "quantity": stock}),
        )
        .await;
        body(moved, 201).await;
    }
    id
}

/// What the branch holds of a product, as the stock endpoint says.
async fn stock_of(app: &TestApp, salon: &Salon, product: Uuid) -> i64 {
    let stock = body(
        get(
            app,
            salon.token(),
            &format!("/api/v1/locations/{}/stock", salon.location),
        )
        .await,
        200,
    )
    .await;
    stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["product_id"] == json!(product))
        .map(|item| item["quantity"].as_i64().unwrap())
        .unwrap_or_else(|| panic!("no stock row for {product}: {stock}"))
}

async fn create_draft(app: &TestApp, token: &str, request: &Value) -> Value {
    body(post(app, token, "/api/v1/invoices", request).await, 201).await
}

/// A walk-in draft at `location`.
async fn walk_in(app: &TestApp, token: &str, location: Uuid) -> Value {
    create_draft(
        app,
        token,
        &json!({"location_id": location, "customer": {"name": "Walk-in guest"}}),
    )
    .await
}

fn id_of(invoice: &Value) -> String {
    invoice["id"].as_str().unwrap().to_owned()
}

async fn add_line(app: &TestApp, token: &str, invoice: &str, line: &Value) -> Value {
    body(
        post(app, token, &format!("/api/v1/invoices/{invoice}/lines"), line).await,
        201,
    )
    .await
}

async fn patch(app: &TestApp, token: &str, invoice: &str, changes: &Value) -> reqwest::Response {
    send(
        app,
        token,
        Method::PATCH,
        &format!("/api/v1/invoices/{invoice}"),
        Some(changes),
    )
    .await
}

async fn finalize(app: &TestApp, token: &str, invoice: &str) -> reqwest::Response {
    send(
        app,
        token,
        Method::POST,
        &format!("/api/v1/invoices/{invoice}/finalize"),
        None,
    )
    .await
}

async fn finalized(app: &TestApp, token: &str, invoice: &str) -> Value {
    body(finalize(app, token, invoice).await, 200).await
}

async fn pay(app: &TestApp, token: &str, invoice: &str, payment: &Value) -> reqwest::Response {
    post(
        app,
        token,
        &format!("/api/v1/invoices/{invoice}/payments"),
        payment,
    )
    .await
}

async fn credit(app: &TestApp, token: &str, invoice: &str, request: &Value) -> reqwest::Response {
    post(
        app,
        token,
        &format!("/api/v1/invoices/{invoice}/credit-notes"),
        request,
    )
    .await
}

async fn get_invoice(app: &TestApp, token: &str, invoice: &str) -> Value {
    body(get(app, token, &format!("/api/v1/invoices/{invoice}")).await, 200).await
}

/// A finalized walk-in invoice of one custom line (SAC 999721) at `price_paise`.
async fn quick_invoice(app: &TestApp, token: &str, location: Uuid, price_paise: i64) -> Value {
    let draft = walk_in(app, token, location).await;
    add_line(
        app,
        token,
        &id_of(&draft),
        &json!({"kind": "custom", "description": "Blow-dry", "code": "999721", "unit_price_paise": price_paise}),
    )
    .await;
    finalized(app, token, &id_of(&draft)).await
}

/// A line's figures: (description, code, quantity, unit price, line discount,
/// share of the invoice discount, taxable value, rate, CGST, SGST, IGST, total).
type Figures = (String, String, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

fn figures(line: &Value) -> Figures {
    let n = |name: &str| line[name].as_i64().unwrap_or_else(|| panic!("{name} in {line}"));
    (
        line["description"].as_str().unwrap().to_owned(),
        line["code"].as_str().unwrap().to_owned(),
        n("quantity"),
        n("unit_price_paise"),
        n("line_discount_paise"),
        n("invoice_discount_paise"),
        n("taxable_paise"),
        n("rate_bp"),
        n("cgst_paise"),
        n("sgst_paise"),
        n("igst_paise"),
        n("total_paise"),
    )
}

#[allow(clippy::too_many_arguments)]
fn line(
    description: &str,
    code: &str,
    quantity: i64,
    unit_price: i64,
    line_discount: i64,
    invoice_discount: i64,
    taxable: i64,
    rate_bp: i64,
    cgst: i64,
    sgst: i64,
    igst: i64,
    total: i64,
) -> Figures {
    (
        description.to_owned(),
        code.to_owned(),
        quantity,
        unit_price,
        line_discount,
        invoice_discount,
        taxable,
        rate_bp,
        cgst,
        sgst,
        igst,
        total,
    )
}

fn all_figures(invoice: &Value) -> Vec<Figures> {
    invoice["lines"].as_array().unwrap().iter().map(figures).collect()
}

/// The invoice totals: (taxable, CGST, SGST, IGST, lines total, tip, round-off, grand total).
fn totals(invoice: &Value) -> (i64, i64, i64, i64, i64, i64, i64, i64) {
    let t = &invoice["totals"];
    let n = |name: &str| t[name].as_i64().unwrap_or_else(|| panic!("{name} in {t}"));
    (
        n("taxable_value"),
        n("cgst"),
        n("sgst"),
        n("igst"),
        n("lines_total"),
        n("tip"),
        n("round_off"),
        n("grand_total"),
    )
}

// ---------------------------------------------------------------------------
// 1. From an appointment to a finalized tax invoice.

#[tokio::test]
async fn an_appointment_checks_out_as_a_tax_invoice_with_product_custom_line_discount_tip_and_exact_gst() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Checkout Salon").await;
    let (_, receptionist, _) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;
    let shampoo = product(&app, &salon, "SHAMPOO-250", 44950, 10).await;
    let visit = book(
        &app,
        &salon,
        10,
        &[
            (salon.haircut, salon.stylists[0]),
            (salon.manicure, salon.stylists[1]),
        ],
    )
    .await;
    let visit_id = visit["id"].as_str().unwrap();

    // The draft starts with the visit's services, their stylists and prices.
    let draft = create_draft(&app, &receptionist, &json!({"appointment_id": visit_id})).await;
    let id = id_of(&draft);
    assert_eq!(
        (
            &draft["kind"],
            &draft["status"],
            &draft["number"],
            &draft["appointment_id"],
            &draft["client_id"],
            &draft["customer_name"],
            &draft["place_of_supply"],
        ),
        (
            &json!("invoice"),
            &json!("draft"),
            &Value::Null,
            &json!(visit_id),
            &json!(salon.client),
            &json!("Neha Kulkarni"),
            &json!("27"),
        )
    );
    let services: Vec<(Value, Value, Value, Value, Value, Value)> = draft["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].clone(),
                l["description"].clone(),
                l["code"].clone(),
                l["service_id"].clone(),
                l["staff_id"].clone(),
                l["unit_price_paise"].clone(),
            )
        })
        .collect();
    assert_eq!(
        services,
        vec![
            (
                json!("service"),
                json!("Haircut"),
                json!("999721"),
                json!(salon.haircut),
                json!(salon.stylists[0]),
                json!(80000)
            ),
            (
                json!("service"),
                json!("Manicure"),
                json!("999722"),
                json!(salon.manicure),
                json!(salon.stylists[1]),
                json!(50000)
            ),
        ]
    );

    // Two bottles of shampoo sold by the second stylist, and a custom add-on.
    add_line(
        &app,
        &receptionist,
        &id,
        &json!({"kind": "product", "product_id": shampoo, "quantity": 2, "staff_id": salon.stylists[1]}),
    )
    .await;
    let draft = add_line(
        &app,
        &receptionist,
        &id,
        &json!({"kind": "custom", "description": "Head massage add-on", "code": "999723", "unit_price_paise": 25000}),
    )
    .await;
    assert_eq!(draft["lines"].as_array().unwrap().len(), 4);
    assert_eq!(draft["lines"][2]["product_id"], json!(shampoo));
    assert_eq!(draft["lines"][2]["staff_id"], json!(salon.stylists[1]));

    // A 10% invoice discount needs `discounts:approve`: the receptionist lacks it.
    let before = written(&app, salon.tenant).await;
    support::problem(
        patch(
            &app,
            &receptionist,
            &id,
            &json!({"invoice_discount": {"percent_bp": 1000}}),
        )
        .await,
        403,
        "permission_denied",
    )
    .await;
    assert_eq!(
        written(&app, salon.tenant).await,
        before,
        "a refused discount writes nothing"
    );
    assert_eq!(
        get_invoice(&app, &receptionist, &id).await["invoice_discount"],
        Value::Null
    );
    let discounted = body(
        patch(
            &app,
            salon.token(),
            &id,
            &json!({"invoice_discount": {"percent_bp": 1000}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        discounted["invoice_discount"],
        json!({"amount_paise": null, "percent_bp": 1000})
    );
    assert_eq!(discounted["discount_approved_by"], json!(salon.business.owner_id));
    // The tip goes to the first stylist; the receptionist may record it.
    let tipped = body(
        patch(
            &app,
            &receptionist,
            &id,
            &json!({"tip_paise": 10000, "tip_staff_id": salon.stylists[0]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (&tipped["tip_paise"], &tipped["tip_staff_id"]),
        (&json!(10000), &json!(salon.stylists[0]))
    );
    assert_eq!(
        tipped["invoice_discount"],
        json!({"amount_paise": null, "percent_bp": 1000}),
        "changing the tip keeps the approved discount"
    );

    // The draft previews the figures it will be finalized with.
    let preview = get_invoice(&app, &receptionist, &id).await["preview"].clone();
    assert_eq!(
        (
            &preview["document_kind"],
            &preview["totals"]["cgst"],
            &preview["totals"]["grand_total"]
        ),
        (&json!("tax_invoice"), &json!(5247), &json!(230400))
    );

    let invoice = finalized(&app, &receptionist, &id).await;
    assert_eq!(invoice["status"], "finalized");
    assert_eq!(invoice["number"], invoice_number("L1", 1));
    assert_eq!(invoice["sequence"], 1);
    assert_eq!(invoice["financial_year"], financial_year());
    assert_eq!(invoice["issued_on"], json!(today_in_pune()));
    assert_eq!(invoice["document_kind"], "tax_invoice");
    assert_eq!(invoice["payment_status"], "unpaid");
    assert_eq!(invoice["supplier"]["gstin"], SUPPLIER_GSTIN);
    assert_eq!(invoice["supplier"]["state_code"], "27");
    // Prices include tax by default; every line here is taxed at 5%.
    // Gross ₹2,449.00; 10% off = ₹244.90, exactly 10% of each line.
    // Taxable = net × 100/105, moved by a paisa where needed so CGST = SGST:
    //   Haircut   800.00 − 80.00 =  720.00 → 685.72 + 17.14 + 17.14
    //   Manicure  500.00 − 50.00 =  450.00 → 428.58 + 10.71 + 10.71
    //   Shampoo 2×449.50 − 89.90 =  809.10 → 770.58 + 19.26 + 19.26
    //   Massage   250.00 − 25.00 =  225.00 → 214.28 +  5.36 +  5.36
    assert_eq!(
        all_figures(&invoice),
        vec![
            line("Haircut", "999721", 1, 80000, 0, 8000, 68572, 500, 1714, 1714, 0, 72000),
            line("Manicure", "999722", 1, 50000, 0, 5000, 42858, 500, 1071, 1071, 0, 45000),
            line(
                "Shampoo SHAMPOO-250",
                "3305",
                2,
                44950,
                0,
                8990,
                77058,
                500,
                1926,
                1926,
                0,
                80910
            ),
            line(
                "Head massage add-on",
                "999723",
                1,
                25000,
                0,
                2500,
                21428,
                500,
                536,
                536,
                0,
                22500
            ),
        ]
    );
    // Lines ₹2,204.10 + untaxed tip ₹100.00 = ₹2,304.10, rounded off to ₹2,304.00.
    assert_eq!(
        totals(&invoice),
        (209916, 5247, 5247, 0, 220410, 10000, -10, 230400)
    );
    assert_eq!(invoice["totals"]["gross"], 244900);
    assert_eq!(invoice["totals"]["invoice_discount"], 24490);
    assert_eq!(invoice["totals"]["supply"], "intra_state");
    assert_eq!(
        invoice["totals"]["amount_in_words"],
        "Rupees Two Thousand Three Hundred Four Only"
    );
    assert_eq!(invoice["total_paise"], 230400);
    assert_eq!(invoice["due_paise"], 230400);

    assert_eq!(
        stock_of(&app, &salon, shampoo).await,
        8,
        "two bottles left the shelf"
    );
    let appointment = body(
        get(&app, salon.token(), &format!("/api/v1/appointments/{visit_id}")).await,
        200,
    )
    .await;
    assert_eq!(appointment["status"], "completed");

    let invoice_id: Uuid = id.parse().unwrap();
    let mut db = admin(&app).await;
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT kind, payload FROM domain_events WHERE subject_id = $1 ORDER BY created_at, id",
    )
    .bind(invoice_id)
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![(
            "invoice.finalized".to_owned(),
            json!({"number": invoice_number("L1", 1), "total_paise": 230400})
        )]
    );
    let audit: Vec<(String, Option<Value>)> = sqlx::query_as(
        "SELECT action, after FROM audit_events WHERE resource_type = 'invoice' AND resource_id = $1
          ORDER BY occurred_at, id",
    )
    .bind(&id)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let finalized_audit: Vec<&(String, Option<Value>)> = audit
        .iter()
        .filter(|(action, _)| action == "invoice.finalized")
        .collect();
    assert_eq!(
        finalized_audit,
        vec![&(
            "invoice.finalized".to_owned(),
            Some(json!({"number": invoice_number("L1", 1), "total_paise": 230400}))
        )]
    );
    let sold: Vec<(String, i32, Option<Uuid>)> = sqlx::query_as(
        "SELECT kind, quantity, reference FROM stock_movements WHERE product_id = $1 ORDER BY at, id",
    )
    .bind(shampoo)
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        sold,
        vec![
            ("purchase".to_owned(), 10, None),
            ("sale".to_owned(), -2, Some(invoice_id))
        ]
    );
    db.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn the_business_sets_how_it_charges_gst_and_the_next_documents_follow_while_issued_ones_stay() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Settings Salon").await;
    let before = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(totals(&before), (9524, 238, 238, 0, 10000, 0, 0, 10000));

    let change = |changes: Value| {
        let token = salon.token().to_owned();
        let app = &app;
        async move { send(app, &token, Method::PATCH, "/api/v1/tenant", Some(&changes)).await }
    };
    invalid(
        change(json!({"gst_registration": "exempt"})).await,
        "gst_registration",
    )
    .await;
    invalid(change(json!({"name": " "})).await, "name").await;
    let tenant = body(get(&app, salon.token(), "/api/v1/tenant").await, 200).await;
    assert_eq!(
        (
            &tenant["gst_registration"],
            &tenant["prices_include_tax"],
            &tenant["round_off"]
        ),
        (&json!("regular"), &json!(true), &json!(true)),
        "refused changes change nothing"
    );

    // A branch's GSTIN: its state must be the branch's; removing it means
    // bills of supply from that branch.
    let branch = format!("/api/v1/locations/{}", salon.location);
    let tamil_nadu = "33AAACH7409R1Z8";
    invalid(
        send(
            &app,
            salon.token(),
            Method::PATCH,
            &branch,
            Some(&json!({"gstin": tamil_nadu})),
        )
        .await,
        "gstin",
    )
    .await;
    invalid(
        send(
            &app,
            salon.token(),
            Method::PATCH,
            &branch,
            Some(&json!({"gstin": "27ABC"})),
        )
        .await,
        "gstin",
    )
    .await;
    let other = salon_with(&app, "Other Salon").await;
    let foreign = send(
        &app,
        other.token(),
        Method::PATCH,
        &branch,
        Some(&json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(foreign.status(), 404, "another business's branch is not found");
    let unregistered = body(
        send(
            &app,
            salon.token(),
            Method::PATCH,
            &branch,
            Some(&json!({"gstin": null})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(unregistered["gstin"], Value::Null);
    let bill = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(bill["document_kind"], "bill_of_supply");
    give_gstin(&app, &salon).await;

    // A composition dealer issues bills of supply and collects no GST.
    support::tenant_settings(&app, salon.token(), json!({"gst_registration": "composition"})).await;
    let bill = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(bill["document_kind"], "bill_of_supply");
    assert_eq!(totals(&bill), (10000, 0, 0, 0, 10000, 0, 0, 10000));

    // Registered again, with prices before tax: ₹100 + 2.5% + 2.5%.
    support::tenant_settings(
        &app,
        salon.token(),
        json!({"gst_registration": "regular", "prices_include_tax": false}),
    )
    .await;
    let after = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(after["document_kind"], "tax_invoice");
    assert_eq!(totals(&after), (10000, 250, 250, 0, 10500, 0, 0, 10500));

    // What was issued keeps its figures.
    let first = body(
        get(
            &app,
            salon.token(),
            &format!("/api/v1/invoices/{}", id_of(&before)),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(totals(&first), totals(&before));

    // The audit log keeps what each change named, before and after.
    let log = body(
        get(&app, salon.token(), "/api/v1/audit-events?action=tenant.updated").await,
        200,
    )
    .await;
    let changes: Vec<(&Value, &Value)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["before"], &e["after"]))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                &json!({"gst_registration": "composition", "prices_include_tax": true}),
                &json!({"gst_registration": "regular", "prices_include_tax": false})
            ),
            (
                &json!({"gst_registration": "regular"}),
                &json!({"gst_registration": "composition"})
            ),
        ]
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 2. The Indian examples, prices before tax.

#[tokio::test]
async fn a_1000_rupee_haircut_priced_before_tax_is_25_cgst_plus_25_sgst_or_50_igst_or_no_tax_without_a_gstin()
{
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Exclusive Pricing Salon").await;
    tenant_setting(&app, &salon, "prices_include_tax", false).await;
    let haircut = json!({"kind": "service", "service_id": salon.haircut, "unit_price_paise": 100000,
                         "staff_id": salon.stylists[0]});

    // Intra-state: ₹1,000 + CGST 2.5% ₹25 + SGST 2.5% ₹25 = ₹1,050.
    let draft = walk_in(&app, salon.token(), salon.location).await;
    add_line(&app, salon.token(), &id_of(&draft), &haircut).await;
    let local = finalized(&app, salon.token(), &id_of(&draft)).await;
    assert_eq!(local["document_kind"], "tax_invoice");
    assert_eq!(local["place_of_supply"], "27");
    assert_eq!(local["totals"]["supply"], "intra_state");
    assert_eq!(
        all_figures(&local),
        vec![line(
            "Haircut", "999721", 1, 100000, 0, 0, 100000, 500, 2500, 2500, 0, 105000
        )]
    );
    assert_eq!(totals(&local), (100000, 2500, 2500, 0, 105000, 0, 0, 105000));
    assert_eq!(
        local["totals"]["amount_in_words"],
        "Rupees One Thousand Fifty Only"
    );

    // Place of supply in Karnataka (29): inter-state, IGST 5% = ₹50.
    let draft = create_draft(
        &app,
        salon.token(),
        &json!({"location_id": salon.location, "customer": {"name": "Bengaluru Spa Pvt Ltd", "state_code": "29"}}),
    )
    .await;
    assert_eq!(draft["place_of_supply"], "29");
    add_line(&app, salon.token(), &id_of(&draft), &haircut).await;
    let inter = finalized(&app, salon.token(), &id_of(&draft)).await;
    assert_eq!(inter["number"], invoice_number("L1", 2));
    assert_eq!(inter["totals"]["supply"], "inter_state");
    assert_eq!(
        all_figures(&inter),
        vec![line(
            "Haircut", "999721", 1, 100000, 0, 0, 100000, 500, 0, 0, 5000, 105000
        )]
    );
    assert_eq!(totals(&inter), (100000, 0, 0, 5000, 105000, 0, 0, 105000));

    // A branch without a GSTIN cannot charge GST: a bill of supply, no tax.
    let unregistered = second_branch(&app, &salon).await;
    let draft = walk_in(&app, salon.token(), unregistered).await;
    add_line(&app, salon.token(), &id_of(&draft), &haircut).await;
    let bill = finalized(&app, salon.token(), &id_of(&draft)).await;
    assert_eq!(bill["document_kind"], "bill_of_supply");
    assert_eq!(
        bill["number"],
        invoice_number("L2", 1),
        "the second branch has its own series"
    );
    assert_eq!(bill["supplier"]["gstin"], Value::Null);
    assert_eq!(
        all_figures(&bill),
        vec![line(
            "Haircut", "999721", 1, 100000, 0, 0, 100000, 0, 0, 0, 0, 100000
        )]
    );
    assert_eq!(totals(&bill), (100000, 0, 0, 0, 100000, 0, 0, 100000));
    assert_eq!(bill["totals"]["tax_summary"], json!([]));
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 3. A finalized invoice never changes.

#[tokio::test]
async fn a_finalized_invoice_cannot_be_changed_through_the_api_nor_in_the_database_except_its_payment_status()
{
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Immutable Salon").await;
    let invoice = quick_invoice(&app, salon.token(), salon.location, 80000).await;
    let id = id_of(&invoice);
    let before = written(&app, salon.tenant).await;

    for response in [
        patch(&app, salon.token(), &id, &json!({"tip_paise": 5000})).await,
        patch(
            &app,
            salon.token(),
            &id,
            &json!({"customer": {"name": "Someone else"}}),
        )
        .await,
        post(
            &app,
            salon.token(),
            &format!("/api/v1/invoices/{id}/lines"),
            &json!({"kind": "custom", "description": "Extra", "code": "999721", "unit_price_paise": 100}),
        )
        .await,
        send(
            &app,
            salon.token(),
            Method::DELETE,
            &format!("/api/v1/invoices/{id}/lines/0"),
            None,
        )
        .await,
        finalize(&app, salon.token(), &id).await,
    ] {
        support::problem(response, 409, "invoice_finalized").await;
    }
    assert_eq!(written(&app, salon.tenant).await, before);
    assert_eq!(
        get_invoice(&app, salon.token(), &id).await["lines"],
        invoice["lines"]
    );

    // The database refuses it to the service's own role, whatever the code does.
    let statements = [
        format!("UPDATE invoices SET customer_name = 'Tampered' WHERE id = '{id}'"),
        format!("UPDATE invoices SET total_paise = 1 WHERE id = '{id}'"),
        format!("DELETE FROM invoices WHERE id = '{id}'"),
        format!("UPDATE invoice_lines SET taxable_paise = 1 WHERE invoice_id = '{id}'"),
        format!("DELETE FROM invoice_lines WHERE invoice_id = '{id}'"),
        format!(
            "INSERT INTO invoice_lines (tenant_id, invoice_id, position, kind, description, code, quantity,
                                        unit_price_paise)
             VALUES ('{}', '{id}', 1, 'custom', 'Sneaked in', '999721', 1, 100)",
            salon.tenant
        ),
    ];
    for statement in &statements {
        let error = as_app_role(&app, salon.tenant, statement)
            .await
            .expect_err(statement);
        let database = error.as_database_error().unwrap_or_else(|| panic!("{error}"));
        assert_eq!(
            database.code().as_deref(),
            Some("23514"),
            "check_violation: {statement}"
        );
        assert_eq!(
            database.constraint(),
            Some("finalized_is_immutable"),
            "{statement}"
        );
    }
    as_app_role(
        &app,
        salon.tenant,
        &format!("UPDATE invoices SET payment_status = 'paid' WHERE id = '{id}'"),
    )
    .await
    .expect("the payment status may change");
    let after = get_invoice(&app, salon.token(), &id).await;
    assert_eq!(after["payment_status"], "paid");
    assert_eq!(
        (&after["customer_name"], &after["total_paise"], &after["lines"]),
        (
            &invoice["customer_name"],
            &invoice["total_paise"],
            &invoice["lines"]
        )
    );
    app.stop().await;
}

/// Run one statement as the service's role (`ftry_app`) inside the tenant.
async fn as_app_role(app: &TestApp, tenant: Uuid, statement: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(&app.db.as_ref().unwrap().app_url())
        .await
        .unwrap();
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT set_config('ftry.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query(statement).execute(&mut *tx).await?;
    assert_eq!(done.rows_affected(), 1, "{statement}");
    tx.commit().await
}

// ---------------------------------------------------------------------------
// 4. Payments.

#[tokio::test]
async fn split_card_and_cash_payments_with_change_go_from_unpaid_to_partially_paid_to_paid() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Payments Salon").await;
    let (_, receptionist, _) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;
    let draft = walk_in(&app, &receptionist, salon.location).await;
    let id = id_of(&draft);
    add_line(
        &app,
        &receptionist,
        &id,
        &json!({"kind": "service", "service_id": salon.haircut, "staff_id": salon.stylists[0]}),
    )
    .await;
    support::problem(
        pay(
            &app,
            &receptionist,
            &id,
            &json!({"method": "card", "amount_paise": 80000}),
        )
        .await,
        409,
        "invoice_not_finalized",
    )
    .await;
    let invoice = finalized(&app, &receptionist, &id).await;
    assert_eq!(
        (&invoice["total_paise"], &invoice["due_paise"]),
        (&json!(80000), &json!(80000))
    );

    // More than is due, on a card: refused, nothing recorded.
    let before = written(&app, salon.tenant).await;
    invalid(
        pay(
            &app,
            &receptionist,
            &id,
            &json!({"method": "card", "amount_paise": 80001}),
        )
        .await,
        "amount_paise",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);

    // ₹300 by card, then the ₹500 left in cash from a ₹1,000 note: ₹500 change.
    let partly = body(
        pay(
            &app,
            &receptionist,
            &id,
            &json!({"method": "card", "amount_paise": 30000, "reference": "AUTH 123456"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (&partly["payment_status"], &partly["due_paise"]),
        (&json!("partially_paid"), &json!(50000))
    );
    let paid = body(
        pay(
            &app,
            &receptionist,
            &id,
            &json!({"method": "cash", "amount_paise": 50000, "tendered_paise": 100000}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (&paid["payment_status"], &paid["due_paise"]),
        (&json!("paid"), &json!(0))
    );
    let payments: Vec<(Value, Value, Value, Value, Value, Value)> = paid["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].clone(),
                p["method"].clone(),
                p["amount_paise"].clone(),
                p["tendered_paise"].clone(),
                p["change_paise"].clone(),
                p["reference"].clone(),
            )
        })
        .collect();
    assert_eq!(
        payments,
        vec![
            (
                json!("payment"),
                json!("card"),
                json!(30000),
                Value::Null,
                json!(0),
                json!("AUTH 123456")
            ),
            (
                json!("payment"),
                json!("cash"),
                json!(50000),
                json!(100000),
                json!(50000),
                json!("")
            ),
        ]
    );
    // Nothing more is due: any further payment is more than due.
    invalid(
        pay(
            &app,
            &receptionist,
            &id,
            &json!({"method": "upi", "amount_paise": 1}),
        )
        .await,
        "amount_paise",
    )
    .await;
    assert_eq!(
        get_invoice(&app, salon.token(), &id).await["payments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 5. Credit notes.

#[tokio::test]
async fn credit_notes_take_part_then_the_rest_of_an_invoice_in_their_own_series_restock_and_are_refunded() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Credit Salon").await;
    tenant_setting(&app, &salon, "round_off", false).await;
    let shampoo = product(&app, &salon, "SHAMPOO-250", 44950, 10).await;
    let draft = walk_in(&app, salon.token(), salon.location).await;
    let id = id_of(&draft);
    add_line(
        &app,
        salon.token(),
        &id,
        &json!({"kind": "service", "service_id": salon.haircut, "staff_id": salon.stylists[0]}),
    )
    .await;
    add_line(
        &app,
        salon.token(),
        &id,
        &json!({"kind": "product", "product_id": shampoo, "quantity": 2}),
    )
    .await;
    let invoice = finalized(&app, salon.token(), &id).await;
    // Haircut ₹800.00 → 761.90 + 19.05 + 19.05; 2 × ₹449.50 = ₹899.00 → 856.20 + 21.40 + 21.40.
    assert_eq!(
        all_figures(&invoice),
        vec![
            line("Haircut", "999721", 1, 80000, 0, 0, 76190, 500, 1905, 1905, 0, 80000),
            line(
                "Shampoo SHAMPOO-250",
                "3305",
                2,
                44950,
                0,
                0,
                85620,
                500,
                2140,
                2140,
                0,
                89900
            ),
        ]
    );
    assert_eq!(totals(&invoice), (161810, 4045, 4045, 0, 169900, 0, 0, 169900));
    assert_eq!(stock_of(&app, &salon, shampoo).await, 8);

    // One bottle comes back to the shelf.
    let first = body(
        credit(
            &app,
            salon.token(),
            &id,
            &json!({"reason": "Bottle damaged", "lines": [{"position": 1, "quantity": 1}], "restock": true}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (
            &first["kind"],
            &first["status"],
            &first["original_id"],
            &first["number"],
            &first["reason"]
        ),
        (
            &json!("credit_note"),
            &json!("finalized"),
            &json!(id),
            &json!(credit_note_number("L1", 1)),
            &json!("Bottle damaged")
        )
    );
    assert_eq!(first["document_kind"], "tax_invoice");
    assert_eq!(
        all_figures(&first),
        vec![line(
            "Shampoo SHAMPOO-250",
            "3305",
            1,
            44950,
            0,
            0,
            42810,
            500,
            1070,
            1070,
            0,
            44950
        )]
    );
    assert_eq!(first["lines"][0]["original_position"], 1);
    assert_eq!(totals(&first), (42810, 1070, 1070, 0, 44950, 0, 0, 44950));
    assert_eq!(stock_of(&app, &salon, shampoo).await, 9, "restocked");
    // The invoice names its credit note and what is left to credit.
    let original = body(
        get(&app, salon.token(), &format!("/api/v1/invoices/{id}")).await,
        200,
    )
    .await;
    assert_eq!(
        original["credit_notes"],
        json!([{"id": first["id"], "number": credit_note_number("L1", 1), "total_paise": 44950}])
    );
    assert_eq!(
        original["creditable"],
        json!([{"position": 0, "quantity": 1}, {"position": 1, "quantity": 1}])
    );

    // More than is left of a line: refused, nothing written.
    let before = written(&app, salon.tenant).await;
    invalid(
        credit(
            &app,
            salon.token(),
            &id,
            &json!({"reason": "Too much", "lines": [{"position": 1, "quantity": 2}]}),
        )
        .await,
        "lines[0].quantity",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);

    // The rest: the haircut and the other bottle, not restocked.
    let rest = body(
        credit(&app, salon.token(), &id, &json!({"reason": "Client unhappy"})).await,
        201,
    )
    .await;
    assert_eq!(rest["number"], credit_note_number("L1", 2));
    assert_eq!(
        all_figures(&rest),
        vec![
            line("Haircut", "999721", 1, 80000, 0, 0, 76190, 500, 1905, 1905, 0, 80000),
            line(
                "Shampoo SHAMPOO-250",
                "3305",
                1,
                44950,
                0,
                0,
                42810,
                500,
                1070,
                1070,
                0,
                44950
            ),
        ]
    );
    assert_eq!(totals(&rest), (119000, 2975, 2975, 0, 124950, 0, 0, 124950));
    assert_eq!(stock_of(&app, &salon, shampoo).await, 9, "not restocked");
    // Together the two notes credit exactly the invoice.
    assert_eq!(
        (42810 + 119000, 1070 + 2975, 44950 + 124950),
        (161810, 4045, 169900)
    );
    support::problem(
        credit(&app, salon.token(), &id, &json!({"reason": "Again"})).await,
        409,
        "nothing_to_credit",
    )
    .await;
    let original = body(
        get(&app, salon.token(), &format!("/api/v1/invoices/{id}")).await,
        200,
    )
    .await;
    assert_eq!(original["creditable"], json!([]));
    assert_eq!(original["credit_notes"].as_array().unwrap().len(), 2);
    support::problem(
        credit(
            &app,
            salon.token(),
            &id_of(&first),
            &json!({"reason": "A note of a note"}),
        )
        .await,
        409,
        "not_creditable",
    )
    .await;

    // The invoice's own series did not move.
    let next = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(next["number"], invoice_number("L1", 2));

    // The refund is paid out on the credit note.
    let refunded = body(
        pay(
            &app,
            salon.token(),
            &id_of(&first),
            &json!({"method": "cash", "amount_paise": 44950}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (
            &refunded["payment_status"],
            &refunded["due_paise"],
            &refunded["payments"][0]["kind"]
        ),
        (&json!("paid"), &json!(0), &json!("refund"))
    );
    assert_eq!(refunded["payments"][0]["amount_paise"], 44950);
    app.stop().await;
}

#[tokio::test]
async fn a_credit_note_is_taxed_at_the_rate_in_force_on_its_invoices_date_not_today() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Old Rate Salon").await;
    tenant_setting(&app, &salon, "round_off", false).await;
    let invoice = quick_invoice(&app, salon.token(), salon.location, 11800).await;
    let id: Uuid = id_of(&invoice).parse().unwrap();
    // As if issued on 1 September 2025, when hairdressing was taxed at 18%:
    // ₹118.00 = ₹100.00 + ₹9.00 + ₹9.00. Only the superuser, with triggers
    // off, can write that history.
    let mut db = admin(&app).await;
    for statement in [
        "SET session_replication_role = replica",
        "UPDATE invoices SET issued_on = date '2025-09-01' WHERE id = $1",
        "UPDATE invoice_lines SET taxable_paise = 10000, rate_bp = 1800, cgst_paise = 900, sgst_paise = 900
          WHERE invoice_id = $1",
        "SET session_replication_role = DEFAULT",
    ] {
        if statement.contains("$1") {
            sqlx::query(statement).bind(id).execute(&mut db).await.unwrap();
        } else {
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
    }
    db.close().await.unwrap();

    let note = body(
        credit(&app, salon.token(), &id.to_string(), &json!({"reason": "Refund"})).await,
        201,
    )
    .await;
    assert_eq!(note["issued_on"], json!(today_in_pune()));
    assert_eq!(
        all_figures(&note),
        vec![line(
            "Blow-dry", "999721", 1, 11800, 0, 0, 10000, 1800, 900, 900, 0, 11800
        )],
        "18% as on the invoice's date; today's 5% would be 112.38 + 2.81 + 2.81"
    );
    app.stop().await;
}

#[tokio::test]
async fn crediting_an_invoice_one_unit_at_a_time_credits_exactly_what_was_invoiced_never_a_paisa_more() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Unit Credit Salon").await;
    tenant_setting(&app, &salon, "round_off", false).await;
    let draft = walk_in(&app, salon.token(), salon.location).await;
    let id = id_of(&draft);
    add_line(
        &app,
        salon.token(),
        &id,
        &json!({"kind": "custom", "description": "Hair serum", "code": "999721", "quantity": 3,
                "unit_price_paise": 10000}),
    )
    .await;
    body(
        patch(
            &app,
            salon.token(),
            &id,
            &json!({"invoice_discount": {"amount_paise": 10}}),
        )
        .await,
        200,
    )
    .await;
    // 3 × ₹100.00 − ₹0.10 = ₹299.90 → 285.62 + 7.14 + 7.14.
    let invoice = finalized(&app, salon.token(), &id).await;
    assert_eq!(
        all_figures(&invoice),
        vec![line(
            "Hair serum",
            "999721",
            3,
            10000,
            0,
            10,
            28562,
            500,
            714,
            714,
            0,
            29990
        )]
    );

    // The ten paise of discount cannot split into three equal shares: the
    // three notes carry 3 + 4 + 3 of them (the running share, rounded).
    let mut notes = Vec::new();
    for _ in 0..3 {
        let note = body(
            credit(
                &app,
                salon.token(),
                &id,
                &json!({"reason": "Returned", "lines": [{"position": 0, "quantity": 1}]}),
            )
            .await,
            201,
        )
        .await;
        notes.push(all_figures(&note).remove(0));
    }
    assert_eq!(
        notes,
        vec![
            line(
                "Hair serum",
                "999721",
                1,
                10000,
                3,
                0,
                9521,
                500,
                238,
                238,
                0,
                9997
            ),
            line(
                "Hair serum",
                "999721",
                1,
                10000,
                4,
                0,
                9520,
                500,
                238,
                238,
                0,
                9996
            ),
            line(
                "Hair serum",
                "999721",
                1,
                10000,
                3,
                0,
                9521,
                500,
                238,
                238,
                0,
                9997
            ),
        ]
    );
    let credited: i64 = notes.iter().map(|note| note.11).sum();
    assert_eq!(credited, 29990, "exactly the invoice's ₹299.90");
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 6. Gapless numbering.

#[tokio::test]
async fn fifty_concurrent_finalizations_in_one_branch_take_numbers_1_to_50_without_gaps_or_duplicates() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Busy Salon").await;
    let mut ids = Vec::new();
    for i in 0..50 {
        let draft = walk_in(&app, salon.token(), salon.location).await;
        add_line(
            &app,
            salon.token(),
            &id_of(&draft),
            &json!({"kind": "custom", "description": format!("Service {i}"), "code": "999721",
                    "unit_price_paise": 10000 + i}),
        )
        .await;
        ids.push(id_of(&draft));
    }
    let token = salon.token().to_owned();
    let url = app.url("");
    let client = app.client.clone();
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (client, token, url, id) = (client.clone(), token.clone(), url.clone(), id.clone());
            tokio::spawn(async move {
                let response = client
                    .post(format!("{url}/api/v1/invoices/{id}/finalize"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                body(response, 200).await
            })
        })
        .collect();
    let mut numbers = Vec::new();
    let mut sequences = Vec::new();
    for task in tasks {
        let invoice = task.await.unwrap();
        numbers.push(invoice["number"].as_str().unwrap().to_owned());
        sequences.push(invoice["sequence"].as_i64().unwrap());
    }
    numbers.sort();
    sequences.sort();
    assert_eq!(sequences, (1..=50).collect::<Vec<i64>>());
    assert_eq!(
        numbers,
        (1..=50).map(|n| invoice_number("L1", n)).collect::<Vec<_>>()
    );
    let mut db = admin(&app).await;
    let series: Vec<(Uuid, String, i16, i32)> = sqlx::query_as(
        "SELECT location_id, kind, financial_year, last_sequence FROM invoice_series WHERE tenant_id = $1",
    )
    .bind(salon.tenant)
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        series,
        vec![(salon.location, "invoice".to_owned(), financial_year() as i16, 50)]
    );
    db.close().await.unwrap();
    // The chain was built in the order the numbers were taken.
    let report = body(get(&app, salon.token(), "/api/v1/ledger/verify").await, 200).await;
    assert_eq!(
        report,
        json!({"ok": true, "series_checked": 1, "documents_checked": 50, "broken": null})
    );
    app.stop().await;
}

#[tokio::test]
async fn each_branch_has_its_own_series_and_a_new_financial_year_starts_again_at_1() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Two Branch Salon").await;
    let branch = second_branch(&app, &salon).await;
    let last_year = financial_year() - 1;
    // The second branch issued 917 invoices last financial year.
    let mut db = admin(&app).await;
    sqlx::query(
        "INSERT INTO invoice_series (tenant_id, location_id, kind, financial_year, last_sequence)
         VALUES ($1, $2, 'invoice', $3, 917)",
    )
    .bind(salon.tenant)
    .bind(branch)
    .bind(last_year as i16)
    .execute(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    let first = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    let second = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    let other = quick_invoice(&app, salon.token(), branch, 10000).await;
    assert_eq!(
        (&first["number"], &second["number"], &other["number"]),
        (
            &json!(invoice_number("L1", 1)),
            &json!(invoice_number("L1", 2)),
            &json!(invoice_number("L2", 1))
        )
    );
    assert_eq!(other["financial_year"], financial_year());
    let mut db = admin(&app).await;
    let series: Vec<(Uuid, i16, i32)> = sqlx::query_as(
        "SELECT location_id, financial_year, last_sequence FROM invoice_series WHERE tenant_id = $1
          ORDER BY location_id = $2, financial_year",
    )
    .bind(salon.tenant)
    .bind(branch)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let this_year = financial_year() as i16;
    assert_eq!(
        series,
        vec![
            (salon.location, this_year, 2),
            (branch, last_year as i16, 917),
            (branch, this_year, 1)
        ]
    );
    db.close().await.unwrap();
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 7. The tamper-evident ledger.

#[tokio::test]
async fn the_ledger_verifies_and_names_the_first_document_whose_figures_were_changed_behind_the_apps_back() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Ledger Salon").await;
    let mut invoices = Vec::new();
    for price in [10000, 20000, 30000] {
        invoices.push(quick_invoice(&app, salon.token(), salon.location, price).await);
    }
    body(
        credit(
            &app,
            salon.token(),
            &id_of(&invoices[0]),
            &json!({"reason": "Refund"}),
        )
        .await,
        201,
    )
    .await;
    let verify = || async { body(get(&app, salon.token(), "/api/v1/ledger/verify").await, 200).await };
    assert_eq!(
        verify().await,
        json!({"ok": true, "series_checked": 2, "documents_checked": 4, "broken": null})
    );

    // The database owner can get past the immutability trigger; the chain still tells.
    let target: Uuid = id_of(&invoices[1]).parse().unwrap();
    past_the_trigger(
        &app,
        salon.tenant,
        "invoice_lines",
        "invoice_lines_finalized_is_immutable",
        "UPDATE invoice_lines SET taxable_paise = taxable_paise - 100 WHERE invoice_id = $1",
        target,
    )
    .await;

    // Credit notes (one document) are checked first, then the three invoices.
    assert_eq!(
        verify().await,
        json!({"ok": false, "series_checked": 2, "documents_checked": 4,
               "broken": invoice_number("L1", 2)})
    );
    app.stop().await;
}

#[tokio::test]
async fn upgrading_to_stored_figures_gives_every_business_s_issued_documents_their_lines_sums() {
    let app = TestApp::fresh().await;
    let mut expected = Vec::new();
    for name in ["Upgrade Salon", "Second Upgrade Salon"] {
        let salon = registered_salon(&app, name).await;
        for price in [10000, 25000] {
            let invoice = quick_invoice(&app, salon.token(), salon.location, price).await;
            let t = &invoice["totals"];
            let n = |k: &str| t[k].as_i64().unwrap();
            expected.push((
                invoice["number"].as_str().unwrap().to_owned(),
                salon.tenant,
                n("taxable_value"),
                n("cgst") + n("sgst") + n("igst"),
                n("lines_total"),
            ));
        }
    }
    expected.sort();
    // Back to the schema before migration 0019, the documents kept.
    let db = app.db.as_ref().unwrap();
    let mut owner = PgConnection::connect(&db.owner_url()).await.unwrap();
    sqlx::raw_sql(
        "BEGIN;
         ALTER TABLE invoices DROP CONSTRAINT invoices_figures_when_finalized;
         DROP INDEX invoices_by_location_day;
         ALTER TABLE invoices DROP COLUMN taxable_paise, DROP COLUMN tax_paise, DROP COLUMN lines_total_paise;
         CREATE INDEX invoices_by_location_day ON invoices (tenant_id, location_id, issued_on)
             WHERE status = 'finalized';
         DELETE FROM _sqlx_migrations WHERE version = 20261126000019;
         COMMIT;",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    owner.close().await.unwrap();

    // The owner role migrates, as `ftry migrate` does: under forced row-level security.
    let migrated = support::ftry_command()
        .args(["migrate"])
        .env("DATABASE_URL", db.app_url())
        .env("FTRY_DATABASE_OWNER_URL", db.owner_url())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&migrated.stdout),
        "migrations applied: 1\n",
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let mut admin = admin(&app).await;
    let stored: Vec<(String, Uuid, i64, i64, i64)> = sqlx::query_as(
        "SELECT number, tenant_id, taxable_paise, tax_paise, lines_total_paise FROM invoices
          WHERE status = 'finalized' ORDER BY number, tenant_id",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(stored, expected);
    let forced: Vec<(bool, bool)> = sqlx::query_as(
        "SELECT relforcerowsecurity, relrowsecurity FROM pg_class
          WHERE relname IN ('invoices', 'invoice_lines') ORDER BY relname",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(
        forced,
        vec![(true, true), (true, true)],
        "row-level security forced again"
    );
    app.stop().await;
}

/// As the database owner can: `update` (one row, `$1` = `target`) run with
/// `trigger` of `table` set aside, as a forger past the immutability guard would.
async fn past_the_trigger(
    app: &TestApp,
    tenant: Uuid,
    table: &str,
    trigger: &str,
    update: &str,
    target: Uuid,
) {
    let mut owner = PgConnection::connect(&app.db.as_ref().unwrap().owner_url())
        .await
        .unwrap();
    let mut tx = owner.begin().await.unwrap();
    sqlx::query("SELECT set_config('ftry.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    let changed = sqlx::query(update).bind(target).execute(&mut *tx).await.unwrap();
    assert_eq!(changed.rows_affected(), 1);
    sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    owner.close().await.unwrap();
}

#[tokio::test]
async fn the_ledger_names_a_document_whose_stored_figures_are_not_its_lines_sums() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Figures Salon").await;
    let mut invoices = Vec::new();
    for price in [10000, 20000] {
        invoices.push(quick_invoice(&app, salon.token(), salon.location, price).await);
    }
    let verify = || async { body(get(&app, salon.token(), "/api/v1/ledger/verify").await, 200).await };
    assert_eq!(
        verify().await,
        json!({"ok": true, "series_checked": 1, "documents_checked": 2, "broken": null})
    );

    // The revenue report reads these figures; the chain covers the lines, so
    // the check compares the two.
    let target: Uuid = id_of(&invoices[1]).parse().unwrap();
    past_the_trigger(
        &app,
        salon.tenant,
        "invoices",
        "invoices_finalized_is_immutable",
        "UPDATE invoices SET lines_total_paise = lines_total_paise + 100 WHERE id = $1",
        target,
    )
    .await;

    assert_eq!(
        verify().await,
        json!({"ok": false, "series_checked": 1, "documents_checked": 2,
               "broken": invoice_number("L1", 2)})
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 8. Bad input: a precise 4xx and nothing half-written.

#[tokio::test]
async fn bad_lines_and_discounts_are_refused_when_entered_and_write_nothing() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Strict Salon").await;
    let draft = walk_in(&app, salon.token(), salon.location).await;
    let id = id_of(&draft);
    add_line(
        &app,
        salon.token(),
        &id,
        &json!({"kind": "service", "service_id": salon.haircut}),
    )
    .await;
    let before = written(&app, salon.tenant).await;
    let line = |request: Value| {
        let id = id.clone();
        let app = &app;
        let token = salon.token().to_owned();
        async move { post(app, &token, &format!("/api/v1/invoices/{id}/lines"), &request).await }
    };
    invalid(
        line(json!({"kind": "service", "service_id": salon.haircut, "quantity": -1})).await,
        "quantity",
    )
    .await;
    invalid(
        line(json!({"kind": "service", "service_id": salon.haircut, "quantity": 0})).await,
        "quantity",
    )
    .await;
    invalid(
        line(json!({"kind": "service", "service_id": salon.haircut, "unit_price_paise": -100})).await,
        "unit_price_paise",
    )
    .await;
    invalid(
        line(json!({"kind": "custom", "description": "Tip jar", "code": "999721", "unit_price_paise": -1}))
            .await,
        "unit_price_paise",
    )
    .await;
    // ₹900 off an ₹800 haircut.
    invalid(
        line(json!({"kind": "service", "service_id": salon.haircut, "discount": {"amount_paise": 90000}}))
            .await,
        "discount",
    )
    .await;
    invalid(
        line(json!({"kind": "service", "service_id": salon.haircut, "discount": {"percent_bp": 10001}}))
            .await,
        "discount",
    )
    .await;
    invalid(
        line(json!({"kind": "service", "service_id": salon.haircut, "discount": {"amount_paise": -1}})).await,
        "discount",
    )
    .await;
    invalid(
        line(json!({"kind": "custom", "description": "Mystery", "code": "0000", "unit_price_paise": 100}))
            .await,
        "code",
    )
    .await;
    // ₹801 off an invoice of ₹800.
    invalid(
        patch(
            &app,
            salon.token(),
            &id,
            &json!({"invoice_discount": {"amount_paise": 80100}}),
        )
        .await,
        "invoice_discount",
    )
    .await;
    invalid(
        patch(&app, salon.token(), &id, &json!({"tip_paise": -1})).await,
        "tip_paise",
    )
    .await;
    invalid(
        patch(
            &app,
            salon.token(),
            &id,
            &json!({"customer": {"gstin": "27AAACR5055K1Z8"}}),
        )
        .await,
        "customer.gstin",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);
    let unchanged = get_invoice(&app, salon.token(), &id).await;
    assert_eq!(
        (
            unchanged["lines"].as_array().unwrap().len(),
            &unchanged["invoice_discount"],
            &unchanged["tip_paise"],
            &unchanged["customer_gstin"]
        ),
        (1, &Value::Null, &json!(0), &Value::Null)
    );

    // A wrong check character in a new draft's customer GSTIN.
    invalid(
        post(
            &app,
            salon.token(),
            "/api/v1/invoices",
            &json!({"location_id": salon.location, "customer": {"gstin": "27AAACR5055K1Z8"}}),
        )
        .await,
        "customer.gstin",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);
    app.stop().await;
}

#[tokio::test]
async fn removing_a_line_is_refused_when_it_would_leave_the_invoice_discount_larger_than_the_invoice() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Discount Salon").await;
    let draft = walk_in(&app, salon.token(), salon.location).await;
    let id = id_of(&draft);
    for service in [salon.haircut, salon.manicure] {
        add_line(
            &app,
            salon.token(),
            &id,
            &json!({"kind": "service", "service_id": service}),
        )
        .await;
    }
    // ₹600 off ₹800 + ₹500 is fine; off the ₹500 manicure alone it is not.
    body(
        patch(
            &app,
            salon.token(),
            &id,
            &json!({"invoice_discount": {"amount_paise": 60000}}),
        )
        .await,
        200,
    )
    .await;
    let before = written(&app, salon.tenant).await;
    invalid(
        send(
            &app,
            salon.token(),
            Method::DELETE,
            &format!("/api/v1/invoices/{id}/lines/0"),
            None,
        )
        .await,
        "invoice_discount",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);
    let unchanged = get_invoice(&app, salon.token(), &id).await;
    assert_eq!(unchanged["lines"].as_array().unwrap().len(), 2);
    assert_eq!(unchanged["preview"]["totals"]["grand_total"], 70000);
    app.stop().await;
}

#[tokio::test]
async fn an_empty_draft_a_second_finalization_and_overpayment_are_refused_and_consume_no_number() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Careful Salon").await;
    let empty = walk_in(&app, salon.token(), salon.location).await;
    let before = written(&app, salon.tenant).await;
    support::problem(
        finalize(&app, salon.token(), &id_of(&empty)).await,
        409,
        "empty_invoice",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);

    let invoice = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(
        invoice["number"],
        invoice_number("L1", 1),
        "the empty draft took no number"
    );
    let before = written(&app, salon.tenant).await;
    support::problem(
        finalize(&app, salon.token(), &id_of(&invoice)).await,
        409,
        "invoice_finalized",
    )
    .await;
    invalid(
        pay(
            &app,
            salon.token(),
            &id_of(&invoice),
            &json!({"method": "card", "amount_paise": 10001}),
        )
        .await,
        "amount_paise",
    )
    .await;
    invalid(
        pay(
            &app,
            salon.token(),
            &id_of(&invoice),
            &json!({"method": "card", "amount_paise": 0}),
        )
        .await,
        "amount_paise",
    )
    .await;
    invalid(
        pay(
            &app,
            salon.token(),
            &id_of(&invoice),
            &json!({"method": "cheque", "amount_paise": 100}),
        )
        .await,
        "method",
    )
    .await;
    invalid(
        pay(
            &app,
            salon.token(),
            &id_of(&invoice),
            &json!({"method": "cash", "amount_paise": 10000, "tendered_paise": 5000}),
        )
        .await,
        "tendered_paise",
    )
    .await;
    invalid(
        credit(
            &app,
            salon.token(),
            &id_of(&invoice),
            &json!({"reason": "Too much", "lines": [{"position": 0, "quantity": 2}]}),
        )
        .await,
        "lines[0].quantity",
    )
    .await;
    invalid(
        credit(
            &app,
            salon.token(),
            &id_of(&invoice),
            &json!({"reason": "No such line", "lines": [{"position": 5, "quantity": 1}]}),
        )
        .await,
        "lines[0].position",
    )
    .await;
    support::problem(
        credit(&app, salon.token(), &id_of(&empty), &json!({"reason": "A draft"})).await,
        409,
        "not_creditable",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);
    let next = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(next["number"], invoice_number("L1", 2));
    app.stop().await;
}

#[tokio::test]
async fn unknown_ids_and_another_businesss_ids_are_not_found_and_write_nothing() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Own Salon").await;
    let other = registered_salon(&app, "Other Salon").await;
    let their_product = product(&app, &other, "THEIRS-1", 10000, 5).await;
    let their_visit = book(&app, &other, 11, &[(other.haircut, other.stylists[0])]).await;
    let their_invoice = quick_invoice(&app, other.token(), other.location, 10000).await;
    let their_id = id_of(&their_invoice);

    let draft = walk_in(&app, salon.token(), salon.location).await;
    let id = id_of(&draft);
    let ours = written(&app, salon.tenant).await;
    let theirs = written(&app, other.tenant).await;
    let token = salon.token();
    let lines = format!("/api/v1/invoices/{id}/lines");
    for request in [
        json!({"kind": "product", "product_id": Uuid::now_v7()}),
        json!({"kind": "product", "product_id": their_product}),
        json!({"kind": "service", "service_id": Uuid::now_v7()}),
        json!({"kind": "service", "service_id": other.haircut}),
        json!({"kind": "service", "service_id": salon.haircut, "staff_id": other.stylists[0]}),
    ] {
        support::problem(post(&app, token, &lines, &request).await, 404, "not_found").await;
    }
    support::problem(
        patch(
            &app,
            token,
            &id,
            &json!({"tip_paise": 100, "tip_staff_id": other.stylists[0]}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    for request in [
        json!({"appointment_id": their_visit["id"]}),
        json!({"appointment_id": Uuid::now_v7()}),
        json!({"location_id": other.location}),
        json!({"location_id": salon.location, "client_id": other.client}),
    ] {
        support::problem(
            post(&app, token, "/api/v1/invoices", &request).await,
            404,
            "not_found",
        )
        .await;
    }
    for (method, path, request) in [
        (Method::GET, format!("/api/v1/invoices/{their_id}"), None),
        (Method::GET, format!("/api/v1/invoices/{their_id}/html"), None),
        (
            Method::PATCH,
            format!("/api/v1/invoices/{their_id}"),
            Some(json!({"tip_paise": 1})),
        ),
        (
            Method::POST,
            format!("/api/v1/invoices/{their_id}/lines"),
            Some(json!({"kind": "service", "service_id": salon.haircut})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/invoices/{their_id}/lines/0"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/invoices/{their_id}/finalize"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/invoices/{their_id}/payments"),
            Some(json!({"method": "cash", "amount_paise": 100})),
        ),
        (
            Method::POST,
            format!("/api/v1/invoices/{their_id}/credit-notes"),
            Some(json!({"reason": "Not ours"})),
        ),
        (Method::DELETE, format!("/api/v1/invoices/{id}/lines/7"), None),
    ] {
        support::problem(
            send(&app, token, method, &path, request.as_ref()).await,
            404,
            "not_found",
        )
        .await;
    }
    assert_eq!(written(&app, salon.tenant).await, ours);
    assert_eq!(written(&app, other.tenant).await, theirs);
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_appointment_cannot_be_billed_and_a_billed_one_not_twice() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Appointment Salon").await;
    let cancelled = book(&app, &salon, 10, &[(salon.haircut, salon.stylists[0])]).await;
    let cancelled_id = cancelled["id"].as_str().unwrap();
    body(
        post(
            &app,
            salon.token(),
            &format!("/api/v1/appointments/{cancelled_id}/cancel"),
            &json!({"reason": "Client called off"}),
        )
        .await,
        200,
    )
    .await;
    let visit = book(&app, &salon, 12, &[(salon.haircut, salon.stylists[1])]).await;
    let before = written(&app, salon.tenant).await;
    support::problem(
        post(
            &app,
            salon.token(),
            "/api/v1/invoices",
            &json!({"appointment_id": cancelled_id}),
        )
        .await,
        409,
        "appointment_not_billable",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);

    let draft = create_draft(&app, salon.token(), &json!({"appointment_id": visit["id"]})).await;
    let before = written(&app, salon.tenant).await;
    support::problem(
        post(
            &app,
            salon.token(),
            "/api/v1/invoices",
            &json!({"appointment_id": visit["id"]}),
        )
        .await,
        409,
        "appointment_already_billed",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);
    // Still refused once the first is finalized.
    finalized(&app, salon.token(), &id_of(&draft)).await;
    let before = written(&app, salon.tenant).await;
    support::problem(
        post(
            &app,
            salon.token(),
            "/api/v1/invoices",
            &json!({"appointment_id": visit["id"]}),
        )
        .await,
        409,
        "appointment_already_billed",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);
    app.stop().await;
}

#[tokio::test]
async fn selling_more_than_is_in_stock_finalizes_nothing_and_the_number_is_not_consumed() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Stock Salon").await;
    let shampoo = product(&app, &salon, "SHAMPOO-250", 44950, 3).await;
    let first = quick_invoice(&app, salon.token(), salon.location, 10000).await;
    assert_eq!(first["number"], invoice_number("L1", 1));

    let draft = walk_in(&app, salon.token(), salon.location).await;
    let id = id_of(&draft);
    add_line(
        &app,
        salon.token(),
        &id,
        &json!({"kind": "service", "service_id": salon.haircut}),
    )
    .await;
    add_line(
        &app,
        salon.token(),
        &id,
        &json!({"kind": "product", "product_id": shampoo, "quantity": 4}),
    )
    .await;
    let before = written(&app, salon.tenant).await;
    support::problem(
        finalize(&app, salon.token(), &id).await,
        409,
        "insufficient_stock",
    )
    .await;
    assert_eq!(written(&app, salon.tenant).await, before);
    let still = get_invoice(&app, salon.token(), &id).await;
    assert_eq!(
        (
            &still["status"],
            &still["number"],
            &still["lines"][1]["taxable_paise"]
        ),
        (&json!("draft"), &Value::Null, &Value::Null)
    );
    assert_eq!(stock_of(&app, &salon, shampoo).await, 3);
    assert_eq!(
        scalar_i64(
            &app,
            "SELECT last_sequence::bigint FROM invoice_series WHERE location_id = $1",
            salon.location
        )
        .await,
        1
    );

    // Three are enough: the same draft then takes the very next number.
    let removed = body(
        send(
            &app,
            salon.token(),
            Method::DELETE,
            &format!("/api/v1/invoices/{id}/lines/1"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(removed["lines"].as_array().unwrap().len(), 1);
    add_line(
        &app,
        salon.token(),
        &id,
        &json!({"kind": "product", "product_id": shampoo, "quantity": 3}),
    )
    .await;
    let sold = finalized(&app, salon.token(), &id).await;
    assert_eq!(sold["number"], invoice_number("L1", 2));
    assert_eq!(stock_of(&app, &salon, shampoo).await, 0);
    app.stop().await;
}

// ---------------------------------------------------------------------------
// 9. The printable invoice.

#[tokio::test]
async fn the_printable_invoice_shows_number_supplier_gstin_place_of_supply_and_amount_in_words() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Printable Salon").await;
    let other = salon_with(&app, "Other Printable Salon").await;
    let invoice = quick_invoice(&app, salon.token(), salon.location, 105050).await;
    let id = id_of(&invoice);
    let response = get(&app, salon.token(), &format!("/api/v1/invoices/{id}/html")).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        response.headers()
    );
    let html = response.text().await.unwrap();
    for expected in [
        "<h1>Tax invoice</h1>",
        &format!("<td>{}</td>", invoice_number("L1", 1)),
        &format!("GSTIN: {SUPPLIER_GSTIN}"),
        "<td>27 (Maharashtra)</td>",
        "<strong>₹1,051.00</strong>",
        "Rupees One Thousand Fifty One Only",
    ] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
    support::problem(
        get(&app, other.token(), &format!("/api/v1/invoices/{id}/html")).await,
        404,
        "not_found",
    )
    .await;
    app.stop().await;
}

/// `value` without its `preview` (a draft's figures as they would be today,
/// which reading a draft adds and changing one does not).
fn without_preview(mut value: Value) -> Value {
    value.as_object_mut().unwrap().remove("preview");
    value
}

#[tokio::test]
async fn every_checkout_step_answers_with_the_document_exactly_as_reading_it_afterwards_shows_it() {
    let app = TestApp::fresh().await;
    let salon = registered_salon(&app, "Answers Salon").await;
    let token = salon.token();
    let shampoo = product(&app, &salon, "ANSWER-1", 44950, 5).await;
    let visit = book(
        &app,
        &salon,
        11,
        &[
            (salon.haircut, salon.stylists[0]),
            (salon.manicure, salon.stylists[1]),
        ],
    )
    .await;

    // The draft and each change to it: as read, less the preview.
    let draft = create_draft(&app, token, &json!({"appointment_id": visit["id"]})).await;
    let id = id_of(&draft);
    let read = get_invoice(&app, token, &id).await;
    assert!(
        read["preview"].is_object(),
        "a draft read has its preview: {read}"
    );
    assert_eq!(draft["preview"], Value::Null);
    assert_eq!(without_preview(draft), without_preview(read));
    let with_product = add_line(
        &app,
        token,
        &id,
        &json!({"kind": "product", "product_id": shampoo, "quantity": 2, "discount": {"percent_bp": 1000}}),
    )
    .await;
    assert_eq!(with_product["lines"].as_array().unwrap().len(), 3);
    assert_eq!(
        without_preview(with_product),
        without_preview(get_invoice(&app, token, &id).await)
    );
    let custom = add_line(
        &app,
        token,
        &id,
        &json!({"kind": "custom", "description": "Head massage", "code": "999721", "unit_price_paise": 30000}),
    )
    .await;
    assert_eq!(
        without_preview(custom),
        without_preview(get_invoice(&app, token, &id).await)
    );
    let removed = body(
        send(
            &app,
            token,
            Method::DELETE,
            &format!("/api/v1/invoices/{id}/lines/3"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(removed["lines"].as_array().unwrap().len(), 3);
    assert_eq!(
        without_preview(removed),
        without_preview(get_invoice(&app, token, &id).await)
    );
    let changed = body(
        patch(&app, token, &id, &json!({"tip_paise": 5000, "tip_staff_id": salon.stylists[0], "invoice_discount": {"amount_paise": 2500}})).await,
        200,
    )
    .await;
    assert_eq!(changed["tip_paise"], 5000);
    assert_eq!(
        without_preview(changed),
        without_preview(get_invoice(&app, token, &id).await)
    );

    // Finalized: number, figures, totals and what may be credited, whole.
    let invoice = finalized(&app, token, &id).await;
    assert_eq!(invoice["number"], json!(invoice_number("L1", 1)));
    assert_eq!(
        invoice["creditable"],
        json!([{"position": 0, "quantity": 1}, {"position": 1, "quantity": 1}, {"position": 2, "quantity": 2}])
    );
    assert_eq!(invoice, get_invoice(&app, token, &id).await);
    let total = invoice["total_paise"].as_i64().unwrap();

    // Two payments, the second in cash with change.
    let part = body(
        pay(
            &app,
            token,
            &id,
            &json!({"method": "card", "amount_paise": 10000, "reference": "AUTH 1"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (&part["payment_status"], &part["due_paise"]),
        (&json!("partially_paid"), &json!(total - 10000))
    );
    assert_eq!(part, get_invoice(&app, token, &id).await);
    let paid = body(
        pay(
            &app,
            token,
            &id,
            &json!({"method": "cash", "amount_paise": total - 10000, "tendered_paise": total - 10000 + 700}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (
            &paid["payment_status"],
            &paid["due_paise"],
            paid["payments"].as_array().unwrap().len()
        ),
        (&json!("paid"), &json!(0), 2)
    );
    assert_eq!(paid["payments"][1]["change_paise"], 700);
    assert_eq!(paid, get_invoice(&app, token, &id).await);

    // A credit note for one bottle, and its refund.
    let note = body(
        credit(
            &app,
            token,
            &id,
            &json!({"reason": "Bottle damaged", "lines": [{"position": 2, "quantity": 1}], "restock": true}),
        )
        .await,
        201,
    )
    .await;
    let note_id = id_of(&note);
    assert_eq!(note["number"], json!(credit_note_number("L1", 1)));
    assert_eq!(note, get_invoice(&app, token, &note_id).await);
    let refunded = body(
        pay(
            &app,
            token,
            &note_id,
            &json!({"method": "cash", "amount_paise": note["total_paise"]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(refunded["due_paise"], 0);
    assert_eq!(refunded, get_invoice(&app, token, &note_id).await);
    // The invoice now names its note and what is left to credit.
    let original = get_invoice(&app, token, &id).await;
    assert_eq!(
        original["creditable"],
        json!([{"position": 0, "quantity": 1}, {"position": 1, "quantity": 1}, {"position": 2, "quantity": 1}])
    );
    assert_eq!(original["credit_notes"][0]["id"], json!(note_id));
}
