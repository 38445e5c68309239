//! Tenancy and identity under attack: row-level security as the database
//! enforces it, every tenant route probed with another tenant's ids, forged
//! and replayed tokens, CSRF, hostile input and privilege escalation.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use ftry_app::tokens::{Claims, TokenKeys, ISSUER};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use support::{problem, Business, TestApp, TestDb};
use uuid::Uuid;

/// Tables with a `tenant_id` column that are platform data, not tenant data:
/// the platform audit log records events with no tenant or about any tenant;
/// the job queue is claimed by workers across every business (its payloads
/// carry ids only, and no API reads it), each job's handler then working
/// inside its business's own tenant context; provider message ids (ids only)
/// find the business a provider's delivery report is about.
const PLATFORM_TABLES: [&str; 3] = ["jobs", "platform_audit_events", "provider_messages"];

const SQL_DROP: &str = "'; DROP TABLE users; --";
const SQL_OR: &str = "\" OR 1=1";

// ---------------------------------------------------------------- fixtures

/// A business with rows in every tenant table: a custom role holding a
/// permission, a member who accepted an invitation (user token, outbox
/// message, user roles), two sessions with refresh tokens, audit events; and,
/// all made through the API, a service category, a service offered at the
/// branch, opening hours, a closure, a staff member with services, hours and
/// time off, a resource, two clients (one a duplicate to merge), a front-desk
/// booking made with an `Idempotency-Key`, and an online booking (a domain
/// event, a manage token); and for billing, also through the API, a product
/// with stock bought in (a stock movement), commission rates for the staff
/// member, a third visit checked out as a B2B invoice with a product line,
/// finalized (its series, a sale from stock, the visit completed) and paid in
/// cash, a credit note for part of it that restocks the product, a walk-in
/// draft, and the day's till closed.
struct Populated {
    name: String,
    /// A webhook endpoint for every event, registered before the visits.
    webhook_id: String,
    business: Business,
    owner_session_id: String,
    /// The owner's session on another device: a session the owner may end.
    other_device_session_id: String,
    role_id: String,
    member_id: String,
    member_email: String,
    member_token: String,
    member_session_id: String,
    category_id: String,
    service_id: String,
    staff_id: String,
    staff_name: String,
    time_off_id: String,
    resource_id: String,
    closure_id: String,
    client_id: String,
    client_name: String,
    client_email: String,
    duplicate_client_id: String,
    appointment_id: String,
    online_appointment_id: String,
    online_client_name: String,
    manage_token: String,
    product_id: String,
    product_name: String,
    product_sku: String,
    /// The purchase that stocked the product.
    movement_id: String,
    /// The visit that was checked out.
    billed_appointment_id: String,
    /// Finalized and paid in full.
    invoice_id: String,
    /// Finalized, for one unit of the invoice's product, not yet refunded.
    credit_note_id: String,
    /// A walk-in sale not yet finalized, with one product line (position 0).
    draft_invoice_id: String,
    /// The day whose till is closed.
    closed_day: NaiveDate,
}

/// Both businesses send the same key: each must get its own answer.
const FIXTURE_IDEMPOTENCY_KEY: &str = "fixture-booking-1";

/// The day (from today) of the fixture's bookings.
const BOOKED_DAY: i64 = 3;

/// A business customer's GSTIN (Gujarat): the fixture's invoice is B2B, so
/// the GST report lists it.
const CUSTOMER_GSTIN: &str = "24AAACC1206D1ZM";

/// Path parameters that number things within their parent rather than name a
/// record (a line's place on its invoice): the same in every business, so not
/// swapped for another business's value on their own.
const ORDINALS: [&str; 1] = ["position"];

/// `hour`:00 in Pune, where every fixture branch is, `days` from today.
fn pune(days: i64, hour: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Kolkata
        .from_local_datetime(&day(days).and_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The date `days` from today.
fn day(days: i64) -> NaiveDate {
    (Utc::now() + Duration::days(days)).date_naive()
}

/// An instant as a query parameter (RFC 3339, `Z`: nothing to escape).
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Every day of the week, 09:00–21:00.
fn whole_week() -> Value {
    json!((1..=7)
        .map(|weekday| json!({"weekday": weekday, "work": [["09:00", "21:00"]]}))
        .collect::<Vec<_>>())
}

impl Populated {
    fn tenant_id(&self) -> &str {
        &self.business.tenant_id
    }

    fn owner_token(&self) -> &str {
        &self.business.access_token
    }

    fn location_id(&self) -> &str {
        &self.business.location_id
    }

    /// Path parameter name → this business's real id of that kind.
    fn path_ids(&self) -> HashMap<&'static str, String> {
        HashMap::from([
            ("tenant_id", self.business.tenant_id.clone()),
            ("user_id", self.member_id.clone()),
            ("role_id", self.role_id.clone()),
            ("location_id", self.business.location_id.clone()),
            ("session_id", self.other_device_session_id.clone()),
            ("category_id", self.category_id.clone()),
            ("service_id", self.service_id.clone()),
            ("staff_id", self.staff_id.clone()),
            ("time_off_id", self.time_off_id.clone()),
            ("resource_id", self.resource_id.clone()),
            ("closure_id", self.closure_id.clone()),
            ("client_id", self.client_id.clone()),
            ("appointment_id", self.appointment_id.clone()),
            ("product_id", self.product_id.clone()),
            ("invoice_id", self.invoice_id.clone()),
            ("webhook_id", self.webhook_id.clone()),
            ("position", "0".to_owned()),
            // A wording's key: names, the same in every business.
            ("event", "booking_confirmed".to_owned()),
            ("channel", "email".to_owned()),
            ("language", "hi".to_owned()),
        ])
    }

    /// `path_ids`, with the invoice each route can act on: only a draft takes
    /// changes, lines and finalization; the invoice is paid in full, so what
    /// is left to settle is its credit note's refund.
    fn path_ids_for(&self, method: &Method, path: &str) -> HashMap<&'static str, String> {
        let mut ids = self.path_ids();
        let invoice = match (method.as_str(), path) {
            ("PATCH", "/api/v1/invoices/{invoice_id}")
            | ("POST", "/api/v1/invoices/{invoice_id}/lines")
            | ("DELETE", "/api/v1/invoices/{invoice_id}/lines/{position}")
            | ("POST", "/api/v1/invoices/{invoice_id}/finalize") => &self.draft_invoice_id,
            ("POST", "/api/v1/invoices/{invoice_id}/payments") => &self.credit_note_id,
            _ => return ids,
        };
        ids.insert("invoice_id", invoice.clone());
        ids
    }

    /// Values only this business has, from its scheduling and billing data:
    /// found in another business's answer, they are a leak.
    fn marks(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.category_id.clone(),
            self.service_id.clone(),
            self.staff_id.clone(),
            self.staff_name.clone(),
            self.time_off_id.clone(),
            self.resource_id.clone(),
            self.closure_id.clone(),
            self.client_id.clone(),
            self.client_name.clone(),
            self.client_email.clone(),
            self.duplicate_client_id.clone(),
            self.appointment_id.clone(),
            self.online_appointment_id.clone(),
            self.online_client_name.clone(),
            self.manage_token.clone(),
            self.product_id.clone(),
            self.product_name.clone(),
            self.product_sku.clone(),
            self.movement_id.clone(),
            self.billed_appointment_id.clone(),
            self.invoice_id.clone(),
            self.credit_note_id.clone(),
            self.draft_invoice_id.clone(),
            self.webhook_id.clone(),
        ]
    }

    /// What a request to the documented route `method path` sends besides
    /// its path: a query string and a body, both valid with this business's
    /// own ids. Sent with another business's id in the path, the only thing
    /// wrong with the request is that id. A write route of the sweep without
    /// an entry here fails the test, so the sweep grows with the routes.
    fn request_for(&self, method: &Method, path: &str) -> (String, Value) {
        let location = self.location_id();
        let query = match (method.as_str(), path) {
            ("GET", "/api/v1/appointments") => format!(
                "?location_id={location}&from={}&to={}",
                instant(pune(BOOKED_DAY - 1, 0)),
                instant(pune(BOOKED_DAY + 7, 0))
            ),
            ("GET", "/api/v1/locations/{location_id}/availability") => format!(
                "?services={}&staff={}&from={}&to={}",
                self.service_id,
                self.staff_id,
                day(BOOKED_DAY),
                day(BOOKED_DAY + 1)
            ),
            ("GET", "/api/v1/locations/{location_id}/calendar") => {
                format!("?date={}&days=7", day(BOOKED_DAY))
            }
            ("GET", "/api/v1/staff/{staff_id}/time-off") => {
                format!("?from={}&to={}", instant(pune(1, 0)), instant(pune(60, 0)))
            }
            ("GET", "/api/v1/invoices") => format!("?location_id={location}"),
            // From before the invoices were issued to after the visits.
            ("GET", "/api/v1/reports/revenue") => format!("{}&group=staff", self.report_period()),
            ("GET", "/api/v1/reports/tax" | "/api/v1/reports/staff" | "/api/v1/reports/appointments") => {
                self.report_period()
            }
            ("GET", "/api/v1/locations/{location_id}/cash-close") => {
                format!("?business_day={}", self.closed_day)
            }
            _ => String::new(),
        };
        let body = match (method.as_str(), path) {
            ("GET" | "DELETE", _) => Value::Null,
            ("PATCH", "/api/v1/users/{user_id}") => json!({"roles": ["receptionist"], "status": "active"}),
            // Takes no body; an empty object is ignored.
            ("POST", "/api/v1/users/{user_id}/unlock") => json!({}),
            ("PATCH", "/api/v1/roles/{role_id}") => {
                json!({"description": "Reads the audit log, nothing else", "permissions": ["audit:read"]})
            }
            ("PATCH", "/api/v1/service-categories/{category_id}") => {
                json!({"name": "Hair and colour", "display_order": 1})
            }
            ("PATCH", "/api/v1/services/{service_id}") => json!({
                "price_paise": 95000, "category_id": self.category_id, "location_ids": [location],
            }),
            ("PATCH", "/api/v1/resources/{resource_id}") => {
                json!({"name": "Chair 2", "location_id": location, "capacity": 1})
            }
            ("PATCH", "/api/v1/locations/{location_id}") => {
                json!({"name": "Main branch, Pune", "address": "FC Road, Pune"})
            }
            ("PUT", "/api/v1/locations/{location_id}/hours") => json!({"days": whole_week()}),
            ("POST", "/api/v1/locations/{location_id}/closures") => json!({
                "first_day": day(45), "last_day": day(46), "reason": "Diwali",
            }),
            ("PATCH", "/api/v1/locations/{location_id}/booking-rules") => {
                json!({"min_notice_minutes": 30, "slot_step_minutes": 15})
            }
            ("PATCH", "/api/v1/staff/{staff_id}") => {
                json!({"title": "Senior Stylist", "user_id": self.member_id})
            }
            ("PUT", "/api/v1/staff/{staff_id}/services") => {
                json!({"services": [{"service_id": self.service_id, "price_paise": 100000}]})
            }
            ("PUT", "/api/v1/staff/{staff_id}/hours") => {
                json!({"location_id": location, "days": whole_week()})
            }
            ("POST", "/api/v1/staff/{staff_id}/time-off") => json!({
                "starts_at": pune(35, 0), "ends_at": pune(36, 0), "reason": "Leave",
            }),
            ("PATCH", "/api/v1/clients/{client_id}") => {
                json!({"notes": "Prefers mornings", "preferred_staff_id": self.staff_id})
            }
            ("POST", "/api/v1/clients/{client_id}/merge") => {
                json!({"duplicate_id": self.duplicate_client_id})
            }
            ("POST", "/api/v1/appointments/{appointment_id}/status") => json!({"status": "confirmed"}),
            ("POST", "/api/v1/appointments/{appointment_id}/cancel") => json!({"reason": "Client called"}),
            ("POST", "/api/v1/appointments/{appointment_id}/reschedule") => json!({
                "start": pune(BOOKED_DAY + 1, 10),
                "items": [{"service_id": self.service_id, "staff_id": self.staff_id, "resource_id": self.resource_id}],
            }),
            ("PATCH", "/api/v1/products/{product_id}") => {
                json!({"price_paise": 48000, "low_stock_threshold": 3})
            }
            ("POST", "/api/v1/locations/{location_id}/stock/movements") => json!({
                "product_id": self.product_id, "kind": "purchase", "quantity": 6, "note": "Bill 4471",
            }),
            // The draft (see `path_ids_for`).
            ("PATCH", "/api/v1/invoices/{invoice_id}") => {
                json!({"tip_paise": 5000, "tip_staff_id": self.staff_id})
            }
            ("POST", "/api/v1/invoices/{invoice_id}/lines") => {
                json!({"kind": "service", "service_id": self.service_id, "staff_id": self.staff_id})
            }
            // Takes no body; an empty object is ignored.
            ("POST", "/api/v1/invoices/{invoice_id}/finalize") => json!({}),
            // A refund on the credit note (see `path_ids_for`).
            ("POST", "/api/v1/invoices/{invoice_id}/payments") => {
                json!({"method": "cash", "amount_paise": 100})
            }
            ("POST", "/api/v1/invoices/{invoice_id}/credit-notes") => {
                json!({"reason": "Haircut redone", "lines": [{"position": 0, "quantity": 1}]})
            }
            // The day before the fixture's close: not closed yet.
            ("POST", "/api/v1/locations/{location_id}/cash-close") => json!({
                "business_day": self.closed_day.pred_opt().unwrap(), "counted_cash_paise": 0,
            }),
            ("PATCH", "/api/v1/webhooks/{webhook_id}") => json!({"description": "CRM sync"}),
            // Takes no body; an empty object is ignored.
            ("POST", "/api/v1/webhooks/{webhook_id}/secret") => json!({}),
            ("PUT", "/api/v1/staff/{staff_id}/commission") => {
                json!({"service_commission_bp": 1500, "product_commission_bp": 500})
            }
            _ => panic!(
                "no valid request for {method} {path} with the caller's own ids; add one to `Populated::request_for`"
            ),
        };
        (query, body)
    }

    /// The query of a report on this business's branch, over every day of
    /// its invoices and visits.
    fn report_period(&self) -> String {
        format!(
            "?location_id={}&from={}&to={}",
            self.location_id(),
            day(-1),
            day(BOOKED_DAY + 1)
        )
    }
}

/// `method path` with a JSON body (for methods that carry one); asserts the
/// status and returns the JSON answer (`null` when there is none).
async fn expect(app: &TestApp, method: Method, path: &str, token: &str, body: &Value, status: u16) -> Value {
    let response = call(app, method.clone(), path, token, body).await;
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn populated(app: &TestApp, name: &str) -> Populated {
    let business = app.signup(name).await;
    let role = call(
        app,
        Method::POST,
        "/api/v1/roles",
        &business.access_token,
        &json!({"name": "auditor", "description": "Reads the audit log", "permissions": ["audit:read"]}),
    )
    .await;
    assert_eq!(role.status(), 201, "create role");
    let role_id = id_of(&json_body(role).await);
    let (member_id, member_token, member_email) = app
        .add_member(
            &business.access_token,
            &business.tenant_id,
            &["receptionist", "auditor"],
        )
        .await;
    let owner_session_id = session_of(app, &business.access_token).await;
    let other_device = app.login(&business.owner_email, &business.owner_password).await;
    let other_device_session_id = session_of(app, other_device["access_token"].as_str().unwrap()).await;
    let member_session_id = session_of(app, &member_token).await;

    // The catalog, schedules and resources, as the owner sets them up.
    let token = business.access_token.as_str();
    let location = business.location_id.as_str();
    let post =
        |path: String, body: Value| async move { expect(app, Method::POST, &path, token, &body, 201).await };
    let put =
        |path: String, body: Value| async move { expect(app, Method::PUT, &path, token, &body, 200).await };
    let category_id = id_of(&post("/api/v1/service-categories".into(), json!({"name": "Hair"})).await);
    put(
        format!("/api/v1/locations/{location}/hours"),
        json!({"days": whole_week()}),
    )
    .await;
    let closure_id = id_of(
        &post(
            format!("/api/v1/locations/{location}/closures"),
            json!({"first_day": day(40), "last_day": day(41), "reason": "Renovation"}),
        )
        .await,
    );
    let service_id = id_of(
        &post(
            "/api/v1/services".into(),
            json!({"name": "Women's Haircut", "category_id": category_id, "duration_minutes": 45,
                   "buffer_after_minutes": 15, "price_paise": 90000, "tax_code": "999721",
                   "resource_type": "styling_chair", "location_ids": [location]}),
        )
        .await,
    );
    let resource_id = id_of(
        &post(
            "/api/v1/resources".into(),
            json!({"location_id": location, "name": "Chair 1", "resource_type": "styling_chair"}),
        )
        .await,
    );
    let staff_name = format!("Kavya Iyer of {name}");
    let staff_id = id_of(&post("/api/v1/staff".into(), json!({"name": staff_name})).await);
    put(
        format!("/api/v1/staff/{staff_id}/services"),
        json!({"services": [{"service_id": service_id}]}),
    )
    .await;
    put(
        format!("/api/v1/staff/{staff_id}/hours"),
        json!({"location_id": location, "days": whole_week()}),
    )
    .await;
    let time_off_id = id_of(
        &post(
            format!("/api/v1/staff/{staff_id}/time-off"),
            json!({"starts_at": pune(30, 0), "ends_at": pune(31, 0), "reason": "Wedding"}),
        )
        .await,
    );

    // Clients, and a visit booked at the front desk with an idempotency key.
    let client_name = format!("Neha Kulkarni of {name}");
    let client_email = format!("neha.{}@example.com", Uuid::now_v7().simple());
    let client_id = id_of(
        &post(
            "/api/v1/clients".into(),
            json!({"name": client_name, "phone": "+919812345678", "email": client_email}),
        )
        .await,
    );
    let duplicate_client_id = id_of(
        &post(
            "/api/v1/clients".into(),
            json!({"name": format!("N. Kulkarni of {name}"), "phone": "+919812345679"}),
        )
        .await,
    );
    let webhook_id = id_of(
        &post(
            "/api/v1/webhooks".into(),
            json!({"url": "https://hooks.example.com/ftry", "events": ["*"]}),
        )
        .await,
    );
    // Its own messaging settings and a wording naming it.
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/v1/messaging",
            json!({"language": "hi", "dlt_entity_id": "1201000000000000001"}),
        ),
        (
            Method::PUT,
            "/api/v1/messaging/templates/booking_confirmed/email/hi",
            json!({"subject": format!("{name}: {{{{date}}}}"), "body": format!("{{{{client_name}}}}, {name}")}),
        ),
    ] {
        let saved = call(app, method, path, token, &body).await;
        assert_eq!(saved.status(), 200, "{path}");
    }
    let booked = app
        .authed(Method::POST, "/api/v1/appointments", token)
        .header("idempotency-key", FIXTURE_IDEMPOTENCY_KEY)
        .json(&json!({
            "location_id": location, "client_id": client_id, "start": pune(BOOKED_DAY, 10),
            "items": [{"service_id": service_id, "staff_id": staff_id}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 201, "front-desk booking");
    let booked = json_body(booked).await;
    // The other business used the same key first: its answer is not replayed here.
    assert_eq!(booked["location_id"], location, "{booked}");
    assert_eq!(
        booked["items"][0]["resource_id"],
        resource_id.as_str(),
        "{booked}"
    );
    let appointment_id = id_of(&booked);

    // A client books online: a domain event and a manage token.
    let online_client_name = format!("Meera Joshi of {name}");
    let online = app
        .client
        .post(app.url(&format!("/api/v1/public/{}/bookings", business.slug)))
        .header("idempotency-key", FIXTURE_IDEMPOTENCY_KEY)
        .json(&json!({
            "location_id": location, "start": pune(BOOKED_DAY, 12),
            "items": [{"service_id": service_id, "staff_id": staff_id}],
            "client": {"name": online_client_name, "phone": "+919800000001"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(online.status(), 201, "online booking");
    let online = json_body(online).await;
    let manage_token = online["manage_token"].as_str().unwrap().to_owned();
    let tenant_simple = Uuid::parse_str(&business.tenant_id).unwrap().simple().to_string();
    assert!(
        manage_token.starts_with(&format!("{tenant_simple}.")),
        "the answer is this business's own: {online}"
    );
    let day_list = expect(
        app,
        Method::GET,
        &format!(
            "/api/v1/appointments?location_id={location}&from={}&to={}",
            instant(pune(BOOKED_DAY, 0)),
            instant(pune(BOOKED_DAY + 1, 0))
        ),
        token,
        &Value::Null,
        200,
    )
    .await;
    let online_appointment_id = day_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["source"] == "online")
        .map(id_of)
        .expect("the online booking is in the day's list");

    // Billing: a product bought in, commission rates, a visit checked out
    // with the product, paid, partly credited, a walk-in draft, the till
    // closed. The product and its purchase are sent with the key the other
    // business also sends: each gets its own answer.
    let keyed = |path: String, body: Value| async move {
        let response = app
            .authed(Method::POST, &path, token)
            .header("idempotency-key", FIXTURE_IDEMPOTENCY_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "POST {path}");
        json_body(response).await
    };
    let product_name = format!("Repair Shampoo of {name}");
    let product_sku = format!("SH-{}", Uuid::now_v7().simple());
    let product = keyed(
        "/api/v1/products".into(),
        json!({"sku": product_sku, "name": product_name, "hsn_code": "3305", "price_paise": 45000,
               "low_stock_threshold": 5}),
    )
    .await;
    assert_eq!(product["name"], product_name.as_str(), "{product}");
    let product_id = id_of(&product);
    let stocked = keyed(
        format!("/api/v1/locations/{location}/stock/movements"),
        json!({"product_id": product_id, "kind": "purchase", "quantity": 20, "note": "Opening stock"}),
    )
    .await;
    assert_eq!(
        stocked["movement"]["product_id"],
        product_id.as_str(),
        "{stocked}"
    );
    let movement_id = stocked["movement"]["id"].as_str().unwrap().to_owned();
    expect(
        app,
        Method::PUT,
        &format!("/api/v1/staff/{staff_id}/commission"),
        token,
        &json!({"service_commission_bp": 1000, "product_commission_bp": 500}),
        204,
    )
    .await;
    let billed_appointment_id = id_of(
        &post(
            "/api/v1/appointments".into(),
            json!({"location_id": location, "client_id": client_id, "start": pune(BOOKED_DAY, 16),
                   "items": [{"service_id": service_id, "staff_id": staff_id}]}),
        )
        .await,
    );
    let invoice_id = id_of(
        &post(
            "/api/v1/invoices".into(),
            json!({"appointment_id": billed_appointment_id, "customer": {"gstin": CUSTOMER_GSTIN}}),
        )
        .await,
    );
    post(
        format!("/api/v1/invoices/{invoice_id}/lines"),
        json!({"kind": "product", "product_id": product_id, "quantity": 2, "staff_id": staff_id}),
    )
    .await;
    let invoice = expect(
        app,
        Method::POST,
        &format!("/api/v1/invoices/{invoice_id}/finalize"),
        token,
        &json!({}),
        200,
    )
    .await;
    let total = invoice["total_paise"].as_i64().unwrap();
    let paid = post(
        format!("/api/v1/invoices/{invoice_id}/payments"),
        json!({"method": "cash", "amount_paise": total}),
    )
    .await;
    assert_eq!(paid["payment_status"], "paid", "{paid}");
    let credit_note_id = id_of(
        &post(
            format!("/api/v1/invoices/{invoice_id}/credit-notes"),
            json!({"reason": "Damaged bottle", "lines": [{"position": 1, "quantity": 1}], "restock": true}),
        )
        .await,
    );
    let draft_invoice_id = id_of(
        &post(
            "/api/v1/invoices".into(),
            json!({"location_id": location, "client_id": client_id}),
        )
        .await,
    );
    post(
        format!("/api/v1/invoices/{draft_invoice_id}/lines"),
        json!({"kind": "product", "product_id": product_id, "quantity": 1}),
    )
    .await;
    let closed_day = day(0);
    expect(
        app,
        Method::POST,
        &format!("/api/v1/locations/{location}/cash-close"),
        token,
        &json!({"business_day": closed_day, "counted_cash_paise": total}),
        200,
    )
    .await;

    Populated {
        name: name.to_owned(),
        webhook_id,
        business,
        owner_session_id,
        other_device_session_id,
        role_id,
        member_id,
        member_email,
        member_token,
        member_session_id,
        category_id,
        service_id,
        staff_id,
        staff_name,
        time_off_id,
        resource_id,
        closure_id,
        client_id,
        client_name,
        client_email,
        duplicate_client_id,
        appointment_id,
        online_appointment_id,
        online_client_name,
        manage_token,
        product_id,
        product_name,
        product_sku,
        movement_id,
        billed_appointment_id,
        invoice_id,
        credit_note_id,
        draft_invoice_id,
        closed_day,
    }
}

async fn json_body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_owned()
}

async fn session_of(app: &TestApp, token: &str) -> String {
    let me = call(app, Method::GET, "/api/v1/auth/me", token, &Value::Null).await;
    assert_eq!(me.status(), 200, "me");
    json_body(me).await["session_id"].as_str().unwrap().to_owned()
}

/// A request with a bearer token and, for methods that carry one, a JSON body.
async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: &Value) -> reqwest::Response {
    let request = app.authed(method.clone(), path, token);
    let request = if matches!(method, Method::POST | Method::PATCH | Method::PUT) {
        request.json(body)
    } else {
        request
    };
    request.send().await.unwrap()
}

/// Assert a 422 `validation_failed` that names exactly `field`.
async fn invalid(response: reqwest::Response, field: &str) {
    let body = problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("field errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, [field], "{body}");
}

fn app_without_rate_limits() -> impl FnOnce(&mut ftry::config::Config) {
    |config| config.rate_limit.enabled = false
}

// ------------------------------------------------------------ database side

/// Tables with a `tenant_id` column, from information_schema, less the
/// documented platform tables.
async fn tenant_tables(admin: &mut PgConnection) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.table_name::text FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
          WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
          ORDER BY 1",
    )
    .fetch_all(admin)
    .await
    .unwrap();
    let tables: Vec<String> = tables
        .into_iter()
        .filter(|t| !PLATFORM_TABLES.contains(&t.as_str()))
        .collect();
    for core in ["users", "roles", "sessions", "audit_events", "locations"] {
        assert!(
            tables.iter().any(|t| t == core),
            "{core} is a tenant table: {tables:?}"
        );
    }
    tables
}

/// Rows of `tenant_id` in each table, counted as the superuser.
async fn rows_of(admin: &mut PgConnection, tables: &[String], tenant_id: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{table}\" WHERE tenant_id = $1::uuid"
        ))
        .bind(tenant_id)
        .fetch_one(&mut *admin)
        .await
        .unwrap();
        counts.insert(table.clone(), count);
    }
    counts
}

/// Rows in every table of the database, counted as the superuser.
async fn all_row_counts(db: &TestDb) -> BTreeMap<String, i64> {
    let mut admin = db.admin().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let mut counts = BTreeMap::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\""))
            .fetch_one(&mut admin)
            .await
            .unwrap();
        counts.insert(table, count);
    }
    counts
}

async fn set_tenant(conn: &mut PgConnection, tenant: &str) {
    sqlx::query("SELECT set_config('ftry.tenant_id', $1, true)")
        .bind(tenant)
        .execute(conn)
        .await
        .unwrap();
}

async fn app_connection(db: &TestDb) -> PgConnection {
    PgConnection::connect(&db.app_url()).await.unwrap()
}

// ------------------------------------------------------------------ 1. RLS

/// A row-level security policy: table, name, command, USING and WITH CHECK.
type Policy = (String, String, String, Option<String>, Option<String>);

#[tokio::test]
async fn rls_shows_the_app_role_only_its_own_tenants_rows_in_every_tenant_table() {
    // With a job worker, so that bookings' events become notifications.
    let app = TestApp::fresh_with(|config| {
        config.jobs.run_in_serve = true;
        config.jobs.poll_interval_ms = 50;
    })
    .await;
    let db = app.db.clone().unwrap();
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;
    let mut admin = db.admin().await;
    let started = std::time::Instant::now();
    loop {
        let handled: i64 = sqlx::query_scalar("SELECT count(DISTINCT tenant_id) FROM notifications")
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if handled == 2 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "bookings' events not handled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let tables = tenant_tables(&mut admin).await;
    let a_rows = rows_of(&mut admin, &tables, a.tenant_id()).await;
    let b_rows = rows_of(&mut admin, &tables, b.tenant_id()).await;
    for table in &tables {
        assert!(
            a_rows[table] > 0 && b_rows[table] > 0,
            "{table} has no rows of one business, so isolation is not tested on it; extend `populated`"
        );
    }

    let mut conn = app_connection(&db).await;
    let mut tx = conn.begin().await.unwrap();
    set_tenant(&mut tx, a.tenant_id()).await;
    for table in &tables {
        let seen: Vec<String> = sqlx::query_scalar(&format!("SELECT tenant_id::text FROM \"{table}\""))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let foreign: Vec<&String> = seen.iter().filter(|t| *t != a.tenant_id()).collect();
        assert!(
            foreign.is_empty(),
            "{table} shows rows of another tenant: {foreign:?}"
        );
        assert_eq!(seen.len() as i64, a_rows[table], "{table}: all of A's own rows");
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\""))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(count, a_rows[table], "{table}: count(*) without WHERE");
    }
    tx.rollback().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn rls_shows_the_app_role_no_tenant_rows_without_a_tenant_context() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let a = populated(&app, "Lotus Salon").await;
    populated(&app, "Rose Spa").await;
    let tables = tenant_tables(&mut db.admin().await).await;
    let mut conn = app_connection(&db).await;

    for table in &tables {
        let sql = format!("SELECT count(*) FROM \"{table}\"");
        let never_set: i64 = sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap();
        assert_eq!(never_set, 0, "{table} with no tenant set");

        let mut tx = conn.begin().await.unwrap();
        set_tenant(&mut tx, "").await;
        let empty: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *tx).await.unwrap();
        assert_eq!(empty, 0, "{table} with an empty tenant");
        tx.rollback().await.unwrap();

        let mut tx = conn.begin().await.unwrap();
        set_tenant(&mut tx, "not-a-uuid").await;
        let garbage = sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut *tx).await;
        // 22P02: invalid text representation (the tenant is not a uuid).
        assert_eq!(
            garbage
                .as_ref()
                .err()
                .and_then(|e| e.as_database_error())
                .and_then(|e| e.code())
                .as_deref(),
            Some("22P02"),
            "{table} with a malformed tenant answered {garbage:?}"
        );
        tx.rollback().await.unwrap();
    }

    // The login lookup states one exact address and sees only its accounts.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('ftry.login_email', $1, true)")
        .bind(&a.business.owner_email)
        .execute(&mut *tx)
        .await
        .unwrap();
    let visible: Vec<String> = sqlx::query_scalar("SELECT id::text FROM users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, [a.business.owner_id.as_str()]);
    for table in tables.iter().filter(|t| *t != "users") {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\""))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(count, 0, "{table} under a login lookup");
    }
    tx.rollback().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn rls_refuses_writes_into_another_tenant_and_confines_unfiltered_writes() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;
    let mut admin = db.admin().await;
    let tables = tenant_tables(&mut admin).await;
    let a_rows = rows_of(&mut admin, &tables, a.tenant_id()).await;
    let mut conn = app_connection(&db).await;

    let mut tx = conn.begin().await.unwrap();
    set_tenant(&mut tx, a.tenant_id()).await;
    let intrusion = sqlx::query(
        "INSERT INTO locations (tenant_id, id, name, state_code) VALUES ($1::uuid, gen_random_uuid(), 'Intruder', '27')",
    )
    .bind(b.tenant_id())
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert_eq!(
        intrusion.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501"),
        "{intrusion}"
    );
    tx.rollback().await.unwrap();

    let mut tx = conn.begin().await.unwrap();
    set_tenant(&mut tx, a.tenant_id()).await;
    let moved = sqlx::query("UPDATE users SET tenant_id = $1::uuid")
        .bind(b.tenant_id())
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        moved.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501"),
        "{moved}"
    );
    tx.rollback().await.unwrap();

    let mut tx = conn.begin().await.unwrap();
    set_tenant(&mut tx, a.tenant_id()).await;
    let renamed = sqlx::query("UPDATE locations SET name = 'Renamed'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(renamed.rows_affected() as i64, a_rows["locations"]);
    let tenants = sqlx::query("UPDATE tenants SET name = 'Renamed'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(tenants.rows_affected(), 1, "only its own registry row");
    let ended = sqlx::query("DELETE FROM refresh_tokens")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(ended.rows_affected() as i64, a_rows["refresh_tokens"]);
    tx.rollback().await.unwrap();

    // With no tenant at all, nothing is writable, the registry included.
    let untouched = sqlx::query("UPDATE tenants SET name = 'Renamed'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(untouched.rows_affected(), 0);
    app.stop().await;
}

#[tokio::test]
async fn catalog_every_tenant_table_forces_rls_and_keys_by_tenant_and_the_app_role_is_powerless() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let mut admin = db.admin().await;

    let tables: Vec<(String, bool, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                EXISTS (SELECT 1 FROM pg_index i
                         WHERE i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY (i.indkey::int2[]))
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          ORDER BY 1",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(tables.len() >= 10, "tenant tables found: {tables:?}");
    let mut violations: Vec<(String, String)> = Vec::new();
    for (table, rls, forced, pk_has_tenant) in &tables {
        if !(*rls && *forced) {
            violations.push((table.clone(), "row-level security not enabled and forced".into()));
        }
        if !pk_has_tenant {
            violations.push((table.clone(), "primary key lacks tenant_id".into()));
        }
    }
    let foreign_keys: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT src.relname::text, con.conname::text, dst.relname::text,
                EXISTS (SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(src_col, dst_col)
                         WHERE k.src_col = sa.attnum AND k.dst_col = da.attnum)
           FROM pg_constraint con
           JOIN pg_class src ON src.oid = con.conrelid
           JOIN pg_class dst ON dst.oid = con.confrelid
           JOIN pg_namespace n ON n.oid = src.relnamespace
           JOIN pg_attribute sa ON sa.attrelid = src.oid AND sa.attname = 'tenant_id' AND NOT sa.attisdropped
           JOIN pg_attribute da ON da.attrelid = dst.oid AND da.attname = 'tenant_id' AND NOT da.attisdropped
          WHERE con.contype = 'f' AND n.nspname = 'public'
          ORDER BY 1, 2",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!foreign_keys.is_empty());
    for (table, constraint, target, keyed) in &foreign_keys {
        if !keyed {
            violations.push((
                table.clone(),
                format!("foreign key {constraint} to {target} does not pair tenant_id"),
            ));
        }
    }
    let violators: BTreeSet<&str> = violations.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        violators,
        BTreeSet::from(PLATFORM_TABLES),
        "only the documented platform tables may break the tenant-table rules: {violations:#?}"
    );

    // Every policy on a tenant table is keyed on the transaction's tenant,
    // computed once per statement (a scalar subquery, not a call per row),
    // except the documented, read-only login lookup.
    let policies: Vec<Policy> = sqlx::query_as(
        "SELECT c.relname::text, p.polname::text, p.polcmd::text,
                pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
           FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
          ORDER BY 1, 2",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let mut exceptions = Vec::new();
    for (table, policy, command, using, check) in &policies {
        let keyed = |expr: &Option<String>| {
            expr.as_deref()
                .is_none_or(|e| e == "(tenant_id = ( SELECT ftry_current_tenant() AS ftry_current_tenant))")
        };
        if !(keyed(using) && keyed(check)) {
            exceptions.push((table.as_str(), policy.as_str(), command.as_str()));
        }
    }
    assert_eq!(exceptions, [("users", "login_lookup", "r")], "{policies:#?}");

    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'ftry_app'")
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!(
        !superuser && !bypass,
        "ftry_app: superuser {superuser}, bypassrls {bypass}"
    );
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c WHERE pg_has_role('ftry_app', c.relowner, 'MEMBER')
         UNION ALL
         SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'public' AND pg_has_role('ftry_app', p.proowner, 'MEMBER')",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(owned.is_empty(), "ftry_app owns {owned:?}");
    let can_create: bool = sqlx::query_scalar("SELECT has_schema_privilege('ftry_app', 'public', 'CREATE')")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(!can_create, "ftry_app can create objects in public");

    for table in [
        "audit_events",
        "platform_audit_events",
        "payments",
        "cash_closes",
        "stock_movements",
    ] {
        let (insert, update, delete, truncate, column_update): (bool, bool, bool, bool, bool) = sqlx::query_as(
            "SELECT has_table_privilege('ftry_app', $1, 'INSERT'), has_table_privilege('ftry_app', $1, 'UPDATE'),
                    has_table_privilege('ftry_app', $1, 'DELETE'), has_table_privilege('ftry_app', $1, 'TRUNCATE'),
                    has_any_column_privilege('ftry_app', $1, 'UPDATE')",
        )
        .bind(table)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert!(insert, "{table}: the service appends");
        assert!(
            !update && !delete && !truncate && !column_update,
            "{table} is append-only: update {update}, delete {delete}, truncate {truncate}, column update {column_update}"
        );
    }
    app.stop().await;
}

// ------------------------------------------------------ 4. cross-tenant API

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation of the published document: (method, path, security scheme).
async fn operations(app: &TestApp) -> Vec<(Method, String, Option<String>)> {
    let document: Value = json_body(app.get("/api/openapi.json").await).await;
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let scheme = operation["security"][0]
                .as_object()
                .and_then(|s| s.keys().next().cloned());
            found.push((method.to_uppercase().parse().unwrap(), path.clone(), scheme));
        }
    }
    found
}

/// The path with each `{name}` replaced by the fixture's id of that name.
fn fill(path: &str, ids: &HashMap<&'static str, String>) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => ids
                .get(name)
                .unwrap_or_else(|| {
                    panic!("the cross-tenant sweep has no fixture for `{name}` in {path}; add one to `Populated::path_ids`")
                })
                .clone(),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every row of `tenant_id` in each table, as text, read as the superuser.
async fn contents_of(
    admin: &mut PgConnection,
    tables: &[String],
    tenant_id: &str,
) -> BTreeMap<String, Vec<String>> {
    let mut contents = BTreeMap::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT t::text FROM \"{table}\" t WHERE tenant_id = $1::uuid ORDER BY 1"
        ))
        .bind(tenant_id)
        .fetch_all(&mut *admin)
        .await
        .unwrap();
        contents.insert(table.clone(), rows);
    }
    contents
}

#[tokio::test]
async fn every_tenant_route_answers_404_for_another_tenants_ids_and_changes_nothing() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;
    let mut admin = db.admin().await;
    let tables = tenant_tables(&mut admin).await;
    let before = rows_of(&mut admin, &tables, a.tenant_id()).await;
    let contents = contents_of(&mut admin, &tables, a.tenant_id()).await;

    let mut swept = BTreeSet::new();
    let mut leaks = Vec::new();
    let mut writes = Vec::new();
    for (method, path, scheme) in operations(&app).await {
        // A wording is named by message, channel and language, never by an
        // id: each business reaches only its own (`notifications.rs` checks
        // another business's answer 404 for a wording one has).
        let named = path.starts_with("/api/v1/messaging/templates/");
        if scheme.as_deref() != Some("bearer") || !path.contains('{') || named {
            continue;
        }
        // A's ids in the path, all of them and (on nested routes) each one
        // alone among B's; B's own query and body, so only A's id is wrong.
        let (a_ids, b_ids) = (a.path_ids_for(&method, &path), b.path_ids_for(&method, &path));
        let mut targets = vec![fill(&path, &a_ids)];
        if path.matches('{').count() > 1 {
            for name in b_ids
                .keys()
                .filter(|name| !ORDINALS.contains(name) && path.contains(&format!("{{{name}}}")))
            {
                let mut mixed = b_ids.clone();
                mixed.insert(name, a_ids[name].clone());
                targets.push(fill(&path, &mixed));
            }
        }
        let (query, body) = b.request_for(&method, &path);
        for target in targets {
            let response = call(
                &app,
                method.clone(),
                &format!("{target}{query}"),
                b.owner_token(),
                &body,
            )
            .await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if status != 404 || answer["code"] != "not_found" {
                leaks.push(format!("{method} {target}{query} answered {status}: {answer}"));
            }
        }
        // The same route with B's own ids works, so the 404 above is isolation.
        if method == Method::GET {
            let own = call(
                &app,
                Method::GET,
                &format!("{}{query}", fill(&path, &b_ids)),
                b.owner_token(),
                &Value::Null,
            )
            .await;
            assert_eq!(own.status(), 200, "{method} {path} with the caller's own ids");
        } else {
            writes.push((method.clone(), path.clone()));
        }
        swept.insert(format!("{method} {path}"));
    }
    assert!(
        leaks.is_empty(),
        "cross-tenant answers other than 404 (a 422 means the route validates before its lookup, \
         or the body in `Populated::request_for` is not valid): {leaks:#?}"
    );
    for route in [
        "GET /api/v1/users/{user_id}",
        "PATCH /api/v1/users/{user_id}",
        "POST /api/v1/users/{user_id}/unlock",
        "PATCH /api/v1/roles/{role_id}",
        "DELETE /api/v1/roles/{role_id}",
        "GET /api/v1/locations/{location_id}",
        "DELETE /api/v1/auth/sessions/{session_id}",
        "GET /api/v1/clients/{client_id}",
        "PATCH /api/v1/clients/{client_id}",
        "POST /api/v1/clients/{client_id}/merge",
        "PATCH /api/v1/service-categories/{category_id}",
        "GET /api/v1/services/{service_id}",
        "PATCH /api/v1/services/{service_id}",
        "PATCH /api/v1/resources/{resource_id}",
        "GET /api/v1/locations/{location_id}/hours",
        "PUT /api/v1/locations/{location_id}/hours",
        "GET /api/v1/locations/{location_id}/closures",
        "POST /api/v1/locations/{location_id}/closures",
        "DELETE /api/v1/locations/{location_id}/closures/{closure_id}",
        "GET /api/v1/locations/{location_id}/booking-rules",
        "PATCH /api/v1/locations/{location_id}/booking-rules",
        "GET /api/v1/locations/{location_id}/availability",
        "GET /api/v1/locations/{location_id}/calendar",
        "GET /api/v1/staff/{staff_id}",
        "PATCH /api/v1/staff/{staff_id}",
        "PUT /api/v1/staff/{staff_id}/services",
        "PUT /api/v1/staff/{staff_id}/hours",
        "GET /api/v1/staff/{staff_id}/time-off",
        "POST /api/v1/staff/{staff_id}/time-off",
        "DELETE /api/v1/staff/{staff_id}/time-off/{time_off_id}",
        "GET /api/v1/appointments/{appointment_id}",
        "GET /api/v1/appointments/{appointment_id}/history",
        "POST /api/v1/appointments/{appointment_id}/status",
        "POST /api/v1/appointments/{appointment_id}/cancel",
        "POST /api/v1/appointments/{appointment_id}/reschedule",
        "GET /api/v1/products/{product_id}",
        "PATCH /api/v1/products/{product_id}",
        "GET /api/v1/locations/{location_id}/stock",
        "GET /api/v1/locations/{location_id}/stock/movements",
        "POST /api/v1/locations/{location_id}/stock/movements",
        "GET /api/v1/invoices/{invoice_id}",
        "PATCH /api/v1/invoices/{invoice_id}",
        "GET /api/v1/invoices/{invoice_id}/html",
        "POST /api/v1/invoices/{invoice_id}/lines",
        "DELETE /api/v1/invoices/{invoice_id}/lines/{position}",
        "POST /api/v1/invoices/{invoice_id}/finalize",
        "POST /api/v1/invoices/{invoice_id}/payments",
        "POST /api/v1/invoices/{invoice_id}/credit-notes",
        "GET /api/v1/locations/{location_id}/cash-close",
        "POST /api/v1/locations/{location_id}/cash-close",
        "PUT /api/v1/staff/{staff_id}/commission",
    ] {
        assert!(swept.contains(route), "{route} not swept: {swept:?}");
    }

    // The queries and bodies sent were valid: with B's own ids every write
    // succeeds. Removals and the cancellation run last, so that nothing a
    // later write needs is gone, and the draft is finalized after them, as a
    // finalized invoice takes no more changes.
    writes.sort_by_key(|(method, path)| {
        let rank = if path.ends_with("/finalize") {
            2
        } else if *method == Method::DELETE || path.ends_with("/cancel") {
            1
        } else {
            0
        };
        (rank, path.clone())
    });
    for (method, path) in writes {
        let (query, body) = b.request_for(&method, &path);
        let own = call(
            &app,
            method.clone(),
            &format!("{}{query}", fill(&path, &b.path_ids_for(&method, &path))),
            b.owner_token(),
            &body,
        )
        .await;
        let status = own.status();
        assert!(
            status.is_success(),
            "{method} {path} with the caller's own ids answered {status}: {}",
            own.text().await.unwrap()
        );
    }

    // A is exactly as it was: same rows with the same values, its member still signed in.
    assert_eq!(rows_of(&mut admin, &tables, a.tenant_id()).await, before);
    assert_eq!(contents_of(&mut admin, &tables, a.tenant_id()).await, contents);
    assert_eq!(session_of(&app, &a.member_token).await, a.member_session_id);
    app.stop().await;
}

#[tokio::test]
async fn tenant_lists_never_contain_another_tenants_records() {
    let app = TestApp::fresh().await;
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;
    let a_roles =
        json_body(call(&app, Method::GET, "/api/v1/roles", a.owner_token(), &Value::Null).await).await;
    let mut a_marks: Vec<String> = a_roles["items"].as_array().unwrap().iter().map(id_of).collect();
    a_marks.extend([
        a.business.tenant_id.clone(),
        a.business.slug.clone(),
        a.business.owner_id.clone(),
        a.business.owner_email.clone(),
        a.business.location_id.clone(),
        a.owner_session_id.clone(),
        a.other_device_session_id.clone(),
        a.member_id.clone(),
        a.member_email.clone(),
        a.member_session_id.clone(),
    ]);
    a_marks.extend(a.marks());

    // Every read of the document, as B: the lists, and each view of B's own
    // records (its branch's calendar and availability, its staff, clients,
    // appointments...).
    let b_ids = b.path_ids();
    let mut listed = BTreeMap::new();
    for (method, path, scheme) in operations(&app).await {
        if scheme.as_deref() != Some("bearer") || method != Method::GET {
            continue;
        }
        let (query, _) = b.request_for(&method, &path);
        let target = format!("{}{query}", fill(&path, &b_ids));
        let response = call(&app, Method::GET, &target, b.owner_token(), &Value::Null).await;
        assert_eq!(response.status(), 200, "GET {target}");
        let text = response.text().await.unwrap();
        let leaked: Vec<&String> = a_marks.iter().filter(|m| text.contains(m.as_str())).collect();
        assert!(leaked.is_empty(), "GET {target} shows A's {leaked:?}: {text}");
        listed.insert(path, text);
    }
    // Each list and view shows B's own records, so an empty answer cannot pass for isolation.
    for (path, own) in [
        ("/api/v1/users", &b.member_id),
        ("/api/v1/roles", &b.role_id),
        ("/api/v1/locations", &b.business.location_id),
        ("/api/v1/audit-events", &b.business.owner_id),
        ("/api/v1/auth/sessions", &b.owner_session_id),
        ("/api/v1/clients", &b.client_id),
        ("/api/v1/clients", &b.duplicate_client_id),
        ("/api/v1/clients", &b.online_client_name),
        ("/api/v1/service-categories", &b.category_id),
        ("/api/v1/services", &b.service_id),
        ("/api/v1/staff", &b.staff_id),
        ("/api/v1/resources", &b.resource_id),
        ("/api/v1/appointments", &b.appointment_id),
        ("/api/v1/appointments", &b.online_appointment_id),
        ("/api/v1/appointments/{appointment_id}", &b.client_id),
        ("/api/v1/locations/{location_id}/calendar", &b.appointment_id),
        (
            "/api/v1/locations/{location_id}/calendar",
            &b.online_appointment_id,
        ),
        ("/api/v1/locations/{location_id}/calendar", &b.client_name),
        ("/api/v1/locations/{location_id}/calendar", &b.staff_id),
        ("/api/v1/locations/{location_id}/availability", &b.staff_id),
        ("/api/v1/locations/{location_id}/closures", &b.closure_id),
        ("/api/v1/staff/{staff_id}", &b.service_id),
        ("/api/v1/staff/{staff_id}/time-off", &b.time_off_id),
        ("/api/v1/products", &b.product_id),
        ("/api/v1/webhooks", &b.webhook_id),
        ("/api/v1/products", &b.product_sku),
        ("/api/v1/products/{product_id}", &b.product_name),
        ("/api/v1/locations/{location_id}/stock", &b.product_id),
        ("/api/v1/locations/{location_id}/stock/movements", &b.movement_id),
        ("/api/v1/invoices", &b.invoice_id),
        ("/api/v1/invoices", &b.credit_note_id),
        ("/api/v1/invoices", &b.draft_invoice_id),
        ("/api/v1/invoices/{invoice_id}", &b.product_id),
        ("/api/v1/invoices/{invoice_id}/html", &b.client_name),
        (
            "/api/v1/locations/{location_id}/cash-close",
            &b.business.location_id,
        ),
        ("/api/v1/reports/revenue", &b.staff_name),
        ("/api/v1/reports/tax", &b.client_name),
        ("/api/v1/reports/staff", &b.staff_id),
    ] {
        let text = listed
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not a listed route"));
        assert!(text.contains(own.as_str()), "{path} lacks B's own {own}: {text}");
    }
    // Figures count B's own records alone: its three visits, one of them
    // checked out; its invoice and credit note; its till.
    let figures = |path: &str| -> Value { serde_json::from_str(&listed[path]).unwrap() };
    let stats = figures("/api/v1/reports/appointments");
    assert_eq!(
        (stats["total"].as_i64(), stats["completed"].as_i64()),
        (Some(3), Some(1)),
        "{stats}"
    );
    let ledger = figures("/api/v1/ledger/verify");
    assert_eq!(
        (ledger["ok"].as_bool(), ledger["documents_checked"].as_i64()),
        (Some(true), Some(2)),
        "{ledger}"
    );
    let till = figures("/api/v1/locations/{location_id}/cash-close");
    assert_eq!(till["closed"], true, "{till}");
    app.stop().await;
}

// ------------------------------------------- cross-tenant ids in bodies

#[tokio::test]
async fn another_tenants_ids_in_bodies_and_queries_are_refused_and_change_nothing() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;
    let (a_location, b_location) = (a.location_id(), b.location_id());
    let start = pune(BOOKED_DAY + 2, 10);
    let visit = |location: &str, client: &str, service: &str, staff: &str, resource: &str| {
        json!({"location_id": location, "client_id": client, "start": start,
               "items": [{"service_id": service, "staff_id": staff, "resource_id": resource}]})
    };
    let moved = |service: &str, staff: &str, resource: &str| {
        json!({"start": pune(BOOKED_DAY + 2, 14),
               "items": [{"service_id": service, "staff_id": staff, "resource_id": resource}]})
    };
    let new_service = |field: &str, value: Value| {
        let mut body =
            json!({"name": "Beard Trim", "duration_minutes": 20, "price_paise": 30000, "tax_code": "999721"});
        body[field] = value;
        body
    };
    let window = |location: &str| {
        format!(
            "/api/v1/appointments?location_id={location}&from={}&to={}",
            instant(pune(BOOKED_DAY - 1, 0)),
            instant(pune(BOOKED_DAY + 7, 0))
        )
    };
    let availability = |services: &str, staff: &str| {
        format!(
            "/api/v1/locations/{b_location}/availability?services={services}&staff={staff}&from={}&to={}",
            day(BOOKED_DAY),
            day(BOOKED_DAY + 1)
        )
    };
    let (appointment, client, service, staff, resource) = (
        &b.appointment_id,
        &b.client_id,
        &b.service_id,
        &b.staff_id,
        &b.resource_id,
    );
    let week = whole_week();
    let purchase = |product: &str| json!({"product_id": product, "kind": "purchase", "quantity": 1});
    let lines = format!("/api/v1/invoices/{}/lines", b.draft_invoice_id);
    // (method, path, with one of A's ids, the same with B's own id instead)
    let attempts: Vec<(Method, String, Value, Value)> = vec![
        (
            Method::POST,
            "/api/v1/appointments".into(),
            visit(a_location, client, service, staff, resource),
            visit(b_location, client, service, staff, resource),
        ),
        (
            Method::POST,
            "/api/v1/appointments".into(),
            visit(b_location, &a.client_id, service, staff, resource),
            visit(b_location, client, service, staff, resource),
        ),
        (
            Method::POST,
            "/api/v1/appointments".into(),
            visit(b_location, &a.duplicate_client_id, service, staff, resource),
            visit(b_location, client, service, staff, resource),
        ),
        (
            Method::POST,
            "/api/v1/appointments".into(),
            visit(b_location, client, &a.service_id, staff, resource),
            visit(b_location, client, service, staff, resource),
        ),
        (
            Method::POST,
            "/api/v1/appointments".into(),
            visit(b_location, client, service, &a.staff_id, resource),
            visit(b_location, client, service, staff, resource),
        ),
        (
            Method::POST,
            "/api/v1/appointments".into(),
            visit(b_location, client, service, staff, &a.resource_id),
            visit(b_location, client, service, staff, resource),
        ),
        (
            Method::POST,
            format!("/api/v1/appointments/{appointment}/reschedule"),
            moved(&a.service_id, staff, resource),
            moved(service, staff, resource),
        ),
        (
            Method::POST,
            format!("/api/v1/appointments/{appointment}/reschedule"),
            moved(service, &a.staff_id, resource),
            moved(service, staff, resource),
        ),
        (
            Method::POST,
            format!("/api/v1/appointments/{appointment}/reschedule"),
            moved(service, staff, &a.resource_id),
            moved(service, staff, resource),
        ),
        (
            Method::POST,
            "/api/v1/services".into(),
            new_service("category_id", json!(a.category_id)),
            new_service("category_id", json!(b.category_id)),
        ),
        (
            Method::POST,
            "/api/v1/services".into(),
            new_service("location_ids", json!([b_location, a_location])),
            new_service("location_ids", json!([b_location])),
        ),
        (
            Method::PATCH,
            format!("/api/v1/services/{service}"),
            json!({"category_id": a.category_id}),
            json!({"category_id": b.category_id}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/services/{service}"),
            json!({"location_ids": [a_location]}),
            json!({"location_ids": [b_location]}),
        ),
        (
            Method::POST,
            "/api/v1/resources".into(),
            json!({"location_id": a_location, "name": "Spa room", "resource_type": "spa_room"}),
            json!({"location_id": b_location, "name": "Spa room", "resource_type": "spa_room"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/resources/{resource}"),
            json!({"location_id": a_location}),
            json!({"location_id": b_location}),
        ),
        (
            Method::POST,
            "/api/v1/staff".into(),
            json!({"name": "Ravi Kumar", "user_id": a.member_id}),
            json!({"name": "Ravi Kumar", "user_id": b.member_id}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/staff/{staff}"),
            json!({"user_id": a.business.owner_id}),
            json!({"user_id": b.business.owner_id}),
        ),
        (
            Method::PUT,
            format!("/api/v1/staff/{staff}/services"),
            json!({"services": [{"service_id": service}, {"service_id": a.service_id}]}),
            json!({"services": [{"service_id": service}]}),
        ),
        (
            Method::PUT,
            format!("/api/v1/staff/{staff}/hours"),
            json!({"location_id": a_location, "days": week}),
            json!({"location_id": b_location, "days": week}),
        ),
        (
            Method::POST,
            "/api/v1/clients".into(),
            json!({"name": "Anita Rao", "preferred_staff_id": a.staff_id}),
            json!({"name": "Anita Rao", "preferred_staff_id": staff}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/clients/{client}"),
            json!({"preferred_staff_id": a.staff_id}),
            json!({"preferred_staff_id": staff}),
        ),
        (
            Method::POST,
            format!("/api/v1/clients/{client}/merge"),
            json!({"duplicate_id": a.client_id}),
            json!({"duplicate_id": b.duplicate_client_id}),
        ),
        (
            Method::POST,
            format!("/api/v1/locations/{b_location}/stock/movements"),
            purchase(&a.product_id),
            purchase(&b.product_id),
        ),
        (
            Method::POST,
            "/api/v1/invoices".into(),
            json!({"location_id": a_location}),
            json!({"location_id": b_location}),
        ),
        (
            Method::POST,
            "/api/v1/invoices".into(),
            json!({"appointment_id": a.appointment_id}),
            json!({"appointment_id": appointment}),
        ),
        (
            Method::POST,
            "/api/v1/invoices".into(),
            json!({"location_id": b_location, "client_id": a.client_id}),
            json!({"location_id": b_location, "client_id": client}),
        ),
        (
            Method::POST,
            lines.clone(),
            json!({"kind": "product", "product_id": a.product_id}),
            json!({"kind": "product", "product_id": b.product_id}),
        ),
        (
            Method::POST,
            lines.clone(),
            json!({"kind": "service", "service_id": a.service_id}),
            json!({"kind": "service", "service_id": service}),
        ),
        (
            Method::POST,
            lines.clone(),
            json!({"kind": "service", "service_id": service, "staff_id": a.staff_id}),
            json!({"kind": "service", "service_id": service, "staff_id": staff}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/invoices/{}", b.draft_invoice_id),
            json!({"tip_paise": 2000, "tip_staff_id": a.staff_id}),
            json!({"tip_paise": 2000, "tip_staff_id": staff}),
        ),
    ];
    // (a read naming one of A's ids, the same naming B's own instead)
    let mut reads = vec![
        (window(a_location), window(b_location)),
        (availability(&a.service_id, "any"), availability(service, "any")),
        (availability(service, &a.staff_id), availability(service, staff)),
        (
            format!(
                "/api/v1/locations/{b_location}/stock/movements?product_id={}",
                a.product_id
            ),
            format!(
                "/api/v1/locations/{b_location}/stock/movements?product_id={}",
                b.product_id
            ),
        ),
    ];
    for report in ["revenue", "tax", "staff", "appointments"] {
        let report = |location: &str| {
            format!(
                "/api/v1/reports/{report}?location_id={location}&from={}&to={}",
                day(-1),
                day(BOOKED_DAY + 1)
            )
        };
        reads.push((report(a_location), report(b_location)));
    }
    let secrets = [
        a.name.as_str(),
        &a.staff_name,
        &a.client_name,
        &a.client_email,
        &a.online_client_name,
        &a.product_name,
        &a.product_sku,
    ];
    let before = all_row_counts(&db).await;
    let mut accepted = Vec::new();
    for (method, path, foreign, _) in &attempts {
        let response = call(&app, method.clone(), path, b.owner_token(), foreign).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let refused = matches!(
            (status, answer["code"].as_str()),
            (404, Some("not_found")) | (422, Some("validation_failed"))
        );
        if !refused || secrets.iter().any(|s| text.contains(s)) {
            accepted.push(format!("{method} {path} {foreign} answered {status}: {text}"));
        }
    }
    for (path, _) in &reads {
        let response = call(&app, Method::GET, path, b.owner_token(), &Value::Null).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let refused = matches!(
            (status, answer["code"].as_str()),
            (404, Some("not_found")) | (422, Some("validation_failed"))
        );
        if !refused || secrets.iter().any(|s| text.contains(s)) {
            accepted.push(format!("GET {path} answered {status}: {text}"));
        }
    }
    assert!(
        accepted.is_empty(),
        "A's ids must be refused with 404 or 422, revealing nothing: {accepted:#?}"
    );
    assert_eq!(
        all_row_counts(&db).await,
        before,
        "refused requests write nothing"
    );

    // Filters naming A's records show nothing of A.
    let mut a_marks = a.marks();
    a_marks.extend([a.business.tenant_id.clone(), a_location.to_owned()]);
    for path in [
        format!("/api/v1/services?location_id={a_location}"),
        format!("/api/v1/resources?location_id={a_location}"),
        format!("/api/v1/clients?cursor={}", a.client_id),
        // Both businesses have a client with this phone; the blind index is per business.
        "/api/v1/clients?phone=%2B919812345678".to_owned(),
        format!("/api/v1/clients?email={}", a.client_email),
        "/api/v1/clients?q=Neha".to_owned(),
        format!("/api/v1/staff/{staff}/time-off?from={}", instant(pune(0, 0))),
        format!("/api/v1/audit-events?resource_id={}", a.appointment_id),
        format!("/api/v1/audit-events?resource_id={}", a.invoice_id),
        format!("/api/v1/invoices?location_id={a_location}"),
        format!("/api/v1/products?q={}", a.product_sku),
    ] {
        let response = call(&app, Method::GET, &path, b.owner_token(), &Value::Null).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            matches!(status, 200 | 404),
            "GET {path} answered {status}: {text}"
        );
        let leaked: Vec<&String> = a_marks.iter().filter(|m| text.contains(m.as_str())).collect();
        assert!(leaked.is_empty(), "GET {path} shows A's {leaked:?}: {text}");
    }
    let by_phone = expect(
        &app,
        Method::GET,
        "/api/v1/clients?phone=%2B919812345678",
        b.owner_token(),
        &Value::Null,
        200,
    )
    .await;
    let found: Vec<String> = by_phone["items"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(
        found,
        [b.client_id.as_str()],
        "B finds its own client by the shared phone"
    );

    // With B's own ids instead, the same requests succeed: the refusals were about A's ids.
    let mut done: Vec<(&Method, &String, &Value)> = Vec::new();
    for (method, path, _, own) in &attempts {
        let request = (method, path, own);
        if done.contains(&request) {
            continue;
        }
        done.push(request);
        let response = call(&app, method.clone(), path, b.owner_token(), own).await;
        let status = response.status();
        assert!(
            status.is_success(),
            "{method} {path} {own} answered {status}: {}",
            response.text().await.unwrap()
        );
    }
    for (_, path) in &reads {
        let response = call(&app, Method::GET, path, b.owner_token(), &Value::Null).await;
        let status = response.status();
        assert_eq!(status, 200, "GET {path}: {}", response.text().await.unwrap());
    }
    app.stop().await;
}

// ------------------------------------------------------- public booking

/// A public page (no login): its status and text.
async fn public_get(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn public_pages_show_only_their_own_salon_and_refuse_another_salons_ids_and_tokens() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;

    for (own, other) in [(&a, &b), (&b, &a)] {
        let slug = &own.business.slug;
        let location = own.location_id();
        let availability = |location: &str, services: &str, staff: &str| {
            format!(
                "/api/v1/public/{slug}/locations/{location}/availability?services={services}&staff={staff}&from={}&to={}",
                day(BOOKED_DAY),
                day(BOOKED_DAY + 1)
            )
        };
        let mut other_marks = other.marks();
        other_marks.extend([
            other.business.tenant_id.clone(),
            other.business.slug.clone(),
            other.business.location_id.clone(),
        ]);
        // The salon's own pages show its own things, nothing of the other salon.
        for (page, shows) in [
            (
                format!("/api/v1/public/{slug}"),
                vec![location, own.name.as_str()],
            ),
            (
                format!("/api/v1/public/{slug}/locations/{location}/services"),
                vec![own.service_id.as_str()],
            ),
            (
                format!("/api/v1/public/{slug}/locations/{location}/staff"),
                vec![own.staff_id.as_str(), own.staff_name.as_str()],
            ),
            (
                availability(location, &own.service_id, "any"),
                vec![own.staff_id.as_str()],
            ),
            (
                format!("/api/v1/public/bookings/{}", own.manage_token),
                vec![own.staff_name.as_str()],
            ),
        ] {
            let (status, text) = public_get(&app, &page).await;
            assert_eq!(status, 200, "GET {page}: {text}");
            for mark in shows {
                assert!(text.contains(mark), "GET {page} lacks its own {mark}: {text}");
            }
            let leaked: Vec<&String> = other_marks.iter().filter(|m| text.contains(m.as_str())).collect();
            assert!(
                leaked.is_empty(),
                "GET {page} shows the other salon's {leaked:?}: {text}"
            );
        }
        let salon: Value =
            serde_json::from_str(&public_get(&app, &format!("/api/v1/public/{slug}")).await.1).unwrap();
        let branches: Vec<&str> = salon["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert_eq!(branches, [location], "{salon}");

        // The other salon's branch does not exist under this salon's slug.
        let other_location = other.location_id();
        for page in [
            format!("/api/v1/public/{slug}/locations/{other_location}/services"),
            format!("/api/v1/public/{slug}/locations/{other_location}/staff"),
            availability(other_location, &other.service_id, "any"),
            availability(other_location, &own.service_id, "any"),
        ] {
            let response = app.get(&page).await;
            assert_eq!(response.status(), 404, "GET {page}");
            problem(response, 404, "not_found").await;
        }
        // Nor does it offer the other salon's services or staff at its own branch.
        for page in [
            availability(location, &other.service_id, "any"),
            availability(location, &own.service_id, &other.staff_id),
        ] {
            let (status, text) = public_get(&app, &page).await;
            assert!(
                matches!(status, 404 | 422),
                "GET {page} answered {status}: {text}"
            );
            assert!(
                !text.contains(&other.staff_name) && !text.contains(&other.name),
                "GET {page}: {text}"
            );
        }
    }

    // Booking online at B with any of A's ids is refused and writes nothing.
    let mut admin = db.admin().await;
    let tables = tenant_tables(&mut admin).await;
    let contents = (
        contents_of(&mut admin, &tables, a.tenant_id()).await,
        contents_of(&mut admin, &tables, b.tenant_id()).await,
    );
    let before = all_row_counts(&db).await;
    let visit = |location: &str, service: &str, staff: Option<&str>| {
        json!({"location_id": location, "start": pune(BOOKED_DAY + 2, 10),
               "items": [{"service_id": service, "staff_id": staff}],
               "client": {"name": "Anita Rao", "phone": "+919800000009"}})
    };
    let book = |slug: &str, body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/public/{slug}/bookings")))
            .json(&body)
            .send()
    };
    for (body, status, code) in [
        (
            visit(a.location_id(), &a.service_id, Some(&a.staff_id)),
            404,
            "not_found",
        ),
        (
            visit(a.location_id(), &b.service_id, Some(&b.staff_id)),
            404,
            "not_found",
        ),
        (
            visit(b.location_id(), &a.service_id, None),
            422,
            "validation_failed",
        ),
        (
            visit(b.location_id(), &b.service_id, Some(&a.staff_id)),
            422,
            "validation_failed",
        ),
    ] {
        let response = book(&b.business.slug, body.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        problem(response, status, code).await;
    }

    // A's manage token with B's tenant swapped in (and B's with A's) opens nothing.
    let (a_tenant, a_secret) = a.manage_token.split_once('.').unwrap();
    let (b_tenant, b_secret) = b.manage_token.split_once('.').unwrap();
    for forged in [format!("{b_tenant}.{a_secret}"), format!("{a_tenant}.{b_secret}")] {
        let base = format!("/api/v1/public/bookings/{forged}");
        problem(app.get(&base).await, 404, "not_found").await;
        problem(
            app.post_json(&format!("{base}/cancel"), &json!({"reason": "not mine"}))
                .await,
            404,
            "not_found",
        )
        .await;
        problem(
            app.post_json(
                &format!("{base}/reschedule"),
                &json!({"start": pune(BOOKED_DAY + 2, 15)}),
            )
            .await,
            404,
            "not_found",
        )
        .await;
    }
    assert_eq!(
        all_row_counts(&db).await,
        before,
        "refused requests write nothing"
    );
    assert_eq!(
        (
            contents_of(&mut admin, &tables, a.tenant_id()).await,
            contents_of(&mut admin, &tables, b.tenant_id()).await,
        ),
        contents,
        "and change nothing"
    );

    // The genuine tokens still open their own, unchanged bookings, and B's
    // own ids book at B: the refusals above were about A's ids.
    for own in [&a, &b] {
        let (status, text) = public_get(&app, &format!("/api/v1/public/bookings/{}", own.manage_token)).await;
        assert_eq!(status, 200, "{text}");
        let booking: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(booking["status"], "booked", "{booking}");
        assert_eq!(booking["starts_at"], json!(pune(BOOKED_DAY, 12)), "{booking}");
    }
    let booked = book(
        &b.business.slug,
        visit(b.location_id(), &b.service_id, Some(&b.staff_id)),
    )
    .await
    .unwrap();
    assert_eq!(booked.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn platform_routes_refuse_tenant_tokens_with_403_platform_only() {
    let app = TestApp::fresh().await;
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;
    let mut checked = 0;
    for (method, path, scheme) in operations(&app).await {
        if scheme.as_deref() != Some("platform") {
            continue;
        }
        let target = fill(&path, &a.path_ids());
        let response = call(&app, method.clone(), &target, b.owner_token(), &json!({})).await;
        problem(response, 403, "platform_only").await;
        checked += 1;
    }
    assert!(checked >= 4, "platform operations checked: {checked}");
    app.stop().await;
}

// ------------------------------------------------------------- 5. tokens

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

/// The key the service signs with (generated into the database), read as the superuser.
async fn database_keys(db: &TestDb) -> (String, TokenKeys) {
    let (id, secret): (String, Vec<u8>) = sqlx::query_as("SELECT id, secret FROM signing_keys")
        .fetch_one(&mut db.admin().await)
        .await
        .unwrap();
    (
        id.clone(),
        TokenKeys::new(HashMap::from([(id.clone(), secret)]), id).unwrap(),
    )
}

fn user_claims(user: &str, tenant: &str, session: &str, exp: i64) -> Claims {
    Claims {
        iss: ISSUER.into(),
        typ: "user".into(),
        sub: Uuid::parse_str(user).unwrap(),
        tid: Some(Uuid::parse_str(tenant).unwrap()),
        sid: Some(Uuid::parse_str(session).unwrap()),
        imp: None,
        iat: now() - 120,
        exp,
        jti: "forged".into(),
    }
}

async fn refused_token(app: &TestApp, token: &str, why: &str) -> Value {
    let response = call(app, Method::GET, "/api/v1/auth/me", token, &Value::Null).await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer realm=\"ftry\""),
        "{why}"
    );
    let body = problem(response, 401, "invalid_token").await;
    assert!(body["detail"].is_string(), "{why}");
    body
}

#[tokio::test]
async fn forged_foreign_expired_unsigned_and_garbage_access_tokens_answer_401_invalid_token() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let a = populated(&app, "Lotus Salon").await;
    let b = populated(&app, "Rose Spa").await;
    let (kid, keys) = database_keys(&db).await;

    // Control: a token made here with the service's key is accepted, so the
    // refusals below are about the token, not the way it was made.
    let genuine = keys.sign(&user_claims(
        &b.business.owner_id,
        b.tenant_id(),
        &b.owner_session_id,
        now() + 300,
    ));
    let me = json_body(call(&app, Method::GET, "/api/v1/auth/me", &genuine, &Value::Null).await).await;
    assert_eq!(me["user"]["id"], b.business.owner_id.as_str());

    // B's real token with its payload swapped for A's owner, signature kept.
    let parts: Vec<&str> = b.owner_token().split('.').collect();
    let as_a = user_claims(
        &a.business.owner_id,
        a.tenant_id(),
        &a.owner_session_id,
        now() + 300,
    );
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64url(&serde_json::to_vec(&as_a).unwrap()),
        parts[2]
    );
    refused_token(&app, &forged, "forged payload").await;

    let stranger = TokenKeys::new(
        HashMap::from([(kid.clone(), ftry_app::tokens::random_bytes(32))]),
        kid.clone(),
    )
    .unwrap();
    refused_token(&app, &stranger.sign(&as_a), "same key id, another secret").await;
    let unknown = TokenKeys::new(
        HashMap::from([("attacker".to_string(), ftry_app::tokens::random_bytes(32))]),
        "attacker".into(),
    )
    .unwrap();
    refused_token(&app, &unknown.sign(&as_a), "unknown key id").await;

    let expired = keys.sign(&user_claims(
        &b.business.owner_id,
        b.tenant_id(),
        &b.owner_session_id,
        now() - 1,
    ));
    let body = refused_token(&app, &expired, "expired").await;
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");

    let unsigned = format!(
        "{}.{}.",
        b64url(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#).as_bytes()),
        b64url(&serde_json::to_vec(&as_a).unwrap())
    );
    refused_token(&app, &unsigned, "alg none").await;

    // A genuine signature over claims of the wrong kind is still no user token.
    let platform_claims = Claims {
        typ: "platform".into(),
        tid: None,
        sid: None,
        ..user_claims(
            &b.business.owner_id,
            b.tenant_id(),
            &b.owner_session_id,
            now() + 300,
        )
    };
    refused_token(
        &app,
        &keys.sign(&platform_claims),
        "platform claims on a tenant route",
    )
    .await;

    let long = "x".repeat(4096);
    for garbage in [
        "garbage",
        "a.b.c",
        "..",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        long.as_str(),
    ] {
        refused_token(&app, garbage, garbage).await;
    }
    app.stop().await;
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token }))
        .await
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_session_and_is_audited() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let b = app.signup("Lotus Salon").await;
    let other_device = app.login(&b.owner_email, &b.owner_password).await;

    let rotated = refresh(&app, &b.refresh_token).await;
    assert_eq!(rotated.status(), 200);
    let rotated = json_body(rotated).await;
    let session_id = rotated["session_id"].as_str().unwrap().to_owned();
    let newer_refresh = rotated["refresh_token"].as_str().unwrap();
    let newer_access = rotated["access_token"].as_str().unwrap();
    assert_ne!(newer_refresh, b.refresh_token);

    problem(refresh(&app, &b.refresh_token).await, 401, "refresh_token_reused").await;

    problem(refresh(&app, newer_refresh).await, 401, "session_revoked").await;
    for access in [newer_access, b.access_token.as_str()] {
        problem(
            call(&app, Method::GET, "/api/v1/auth/me", access, &Value::Null).await,
            401,
            "session_revoked",
        )
        .await;
    }
    // The family is one session: the other device's session lives on.
    let other_access = other_device["access_token"].as_str().unwrap();
    assert_eq!(
        call(&app, Method::GET, "/api/v1/auth/me", other_access, &Value::Null)
            .await
            .status(),
        200
    );

    let mut admin = db.admin().await;
    let reason: Option<String> =
        sqlx::query_scalar("SELECT revoked_reason FROM sessions WHERE id = $1::uuid")
            .bind(&session_id)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(reason.as_deref(), Some("token_reuse"));
    let events: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT actor_id::text, resource_id, outcome FROM audit_events
          WHERE tenant_id = $1::uuid AND action = 'auth.refresh_token_reused'",
    )
    .bind(&b.tenant_id)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(
        events,
        [(b.owner_id.clone(), Some(session_id), "denied".to_string())]
    );
    app.stop().await;
}

// --------------------------------------------------------------- 6. CSRF

/// The `Set-Cookie` line of cookie `name`.
fn set_cookie<'a>(lines: &'a [String], name: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {lines:?}"))
}

fn cookie_value(line: &str) -> &str {
    line.split(';').next().unwrap().split_once('=').unwrap().1
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_header_on_unsafe_requests() {
    let app = TestApp::fresh().await;
    let b = app.signup("Lotus Salon").await;
    let login = app
        .post_json(
            "/api/v1/auth/login?mode=cookie",
            &json!({"email": b.owner_email, "password": b.owner_password}),
        )
        .await;
    assert_eq!(login.status(), 200);
    let lines: Vec<String> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = json_body(login).await;
    assert!(
        body.get("access_token").is_none() && body.get("refresh_token").is_none(),
        "{body}"
    );

    let attributes =
        |line: &str| -> BTreeSet<String> { line.split(';').skip(1).map(|a| a.trim().to_owned()).collect() };
    let access = set_cookie(&lines, "ftry_access");
    let refresh_line = set_cookie(&lines, "ftry_refresh");
    let csrf = set_cookie(&lines, "ftry_csrf");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(attributes(access).contains(attribute), "{access}");
    }
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(attributes(refresh_line).contains(attribute), "{refresh_line}");
    }
    // Scripts must read the CSRF token to echo it, so it alone is not HttpOnly.
    for attribute in ["Secure", "SameSite=Strict"] {
        assert!(attributes(csrf).contains(attribute), "{csrf}");
    }
    assert!(!attributes(csrf).contains("HttpOnly"), "{csrf}");
    assert_eq!(body["csrf_token"], cookie_value(csrf));

    let session_cookies = format!(
        "ftry_access={}; ftry_csrf={}",
        cookie_value(access),
        cookie_value(csrf)
    );
    let with_cookies = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header("cookie", session_cookies.clone())
    };

    let me = with_cookies(Method::GET, "/api/v1/auth/me").send().await.unwrap();
    assert_eq!(me.status(), 200, "safe methods need no CSRF header");
    problem(
        with_cookies(Method::POST, "/api/v1/auth/logout")
            .send()
            .await
            .unwrap(),
        403,
        "csrf_failed",
    )
    .await;
    problem(
        with_cookies(Method::POST, "/api/v1/auth/logout")
            .header("x-csrf-token", "not-the-cookie")
            .send()
            .await
            .unwrap(),
        403,
        "csrf_failed",
    )
    .await;
    let refresh_cookies = format!(
        "ftry_refresh={}; ftry_csrf={}",
        cookie_value(refresh_line),
        cookie_value(csrf)
    );
    problem(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .header("cookie", refresh_cookies)
            .send()
            .await
            .unwrap(),
        403,
        "csrf_failed",
    )
    .await;
    let still = with_cookies(Method::GET, "/api/v1/auth/me").send().await.unwrap();
    assert_eq!(still.status(), 200, "refused requests changed nothing");

    let logout = with_cookies(Method::POST, "/api/v1/auth/logout")
        .header("x-csrf-token", cookie_value(csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    problem(
        with_cookies(Method::GET, "/api/v1/auth/me").send().await.unwrap(),
        401,
        "session_revoked",
    )
    .await;
    app.stop().await;
}

// ------------------------------------------------------- 7. hostile input

/// Every text field of the sign-up body, named as validation errors name them.
const SIGNUP_FIELDS: [&str; 11] = [
    "business_name",
    "slug",
    "location.name",
    "location.address",
    "location.state_code",
    "location.gstin",
    "location.timezone",
    "owner.name",
    "owner.email",
    "owner.phone",
    "owner.password",
];

fn signup_body() -> Value {
    json!({
        "business_name": "Lotus Salon",
        "slug": null,
        "location": {"name": "Main branch", "address": "FC Road, Pune", "state_code": "27",
                     "gstin": null, "timezone": "Asia/Kolkata"},
        "owner": {"name": "Asha Patil", "email": format!("owner.{}@example.com", Uuid::now_v7().simple()),
                  "phone": "+919876543210", "password": "saffron-mirror-lantern-42"},
    })
}

fn with_field(mut body: Value, field: &str, value: &str) -> Value {
    *body
        .pointer_mut(&format!("/{}", field.replace('.', "/")))
        .unwrap_or_else(|| panic!("no field {field}")) = json!(value);
    body
}

#[tokio::test]
async fn signup_refuses_10kb_text_in_every_field_with_422_and_writes_nothing() {
    let app = TestApp::fresh_with(app_without_rate_limits()).await;
    let db = app.db.clone().unwrap();
    app.signup("Existing Salon").await;
    let before = all_row_counts(&db).await;
    let long = "x".repeat(10 * 1024);
    for field in SIGNUP_FIELDS {
        let response = app
            .post_json("/api/v1/auth/signup", &with_field(signup_body(), field, &long))
            .await;
        invalid(response, field).await;
    }
    assert_eq!(all_row_counts(&db).await, before);
    app.stop().await;
}

#[tokio::test]
async fn signup_stores_sql_metacharacters_verbatim_in_names_and_refuses_them_in_structured_fields() {
    let app = TestApp::fresh_with(app_without_rate_limits()).await;
    let db = app.db.clone().unwrap();
    app.signup("Existing Salon").await;

    let before = all_row_counts(&db).await;
    for hostile in [SQL_DROP, SQL_OR] {
        for field in [
            "slug",
            "location.state_code",
            "location.gstin",
            "location.timezone",
            "owner.email",
            "owner.phone",
        ] {
            let response = app
                .post_json("/api/v1/auth/signup", &with_field(signup_body(), field, hostile))
                .await;
            invalid(response, field).await;
        }
    }
    let short = app
        .post_json(
            "/api/v1/auth/signup",
            &with_field(signup_body(), "owner.password", SQL_OR),
        )
        .await;
    invalid(short, "owner.password").await;
    assert_eq!(
        all_row_counts(&db).await,
        before,
        "refused sign-ups write nothing"
    );

    let mut admin = db.admin().await;
    for hostile in [SQL_DROP, SQL_OR] {
        let mut body = signup_body();
        for field in ["business_name", "location.name", "location.address", "owner.name"] {
            body = with_field(body, field, hostile);
        }
        let response = app.post_json("/api/v1/auth/signup", &body).await;
        assert_eq!(response.status(), 201, "{hostile}");
        let created = json_body(response).await;
        assert_eq!(created["tenant"]["name"], hostile);
        let stored: (String, String, String, String) = sqlx::query_as(
            "SELECT t.name, l.name, l.address, u.name FROM tenants t
               JOIN locations l ON l.tenant_id = t.id JOIN users u ON u.tenant_id = t.id
              WHERE t.id = $1::uuid",
        )
        .bind(created["tenant"]["id"].as_str().unwrap())
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert_eq!(
            stored,
            (hostile.into(), hostile.into(), hostile.into(), hostile.into())
        );
    }
    // Long enough for the policy, the same string is a fine password.
    let body = with_field(signup_body(), "owner.password", SQL_DROP);
    let email = body["owner"]["email"].as_str().unwrap().to_owned();
    assert_eq!(app.post_json("/api/v1/auth/signup", &body).await.status(), 201);
    app.login(&email, SQL_DROP).await;

    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(users, 4, "the users table is intact");
    app.stop().await;
}

#[tokio::test]
async fn invite_role_location_and_tenant_inputs_refuse_oversized_text_and_keep_sql_verbatim() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let b = app.signup("Lotus Salon").await;
    let token = b.access_token.as_str();
    let long = "x".repeat(10 * 1024);
    let invite = |email: &str, name: &str, role: &str| json!({"email": email, "name": name, "roles": [role]});
    let role = |name: &str, description: &str, permission: &str| json!({"name": name, "description": description, "permissions": [permission]});
    let location = |field: &str, value: &str| {
        with_field(
            json!({"name": "Baner branch", "address": "Baner Road", "state_code": "27", "gstin": null,
                   "timezone": "Asia/Kolkata"}),
            field,
            value,
        )
    };

    let before = all_row_counts(&db).await;
    let mut refusals: Vec<(&str, Value, &str)> = Vec::new();
    for bad in [long.as_str(), SQL_DROP, SQL_OR] {
        refusals.push((
            "/api/v1/users/invitations",
            invite(bad, "Ravi Kumar", "stylist"),
            "email",
        ));
        refusals.push((
            "/api/v1/users/invitations",
            invite("ravi@example.com", "Ravi Kumar", bad),
            "roles",
        ));
        refusals.push(("/api/v1/roles", role(bad, "", "clients:read"), "name"));
        refusals.push(("/api/v1/roles", role("front desk", "", bad), "permissions"));
        for field in ["state_code", "gstin", "timezone"] {
            refusals.push(("/api/v1/locations", location(field, bad), field));
        }
    }
    refusals.push((
        "/api/v1/users/invitations",
        invite("ravi@example.com", &long, "stylist"),
        "name",
    ));
    refusals.push((
        "/api/v1/roles",
        role("front desk", &long, "clients:read"),
        "description",
    ));
    for field in ["name", "address"] {
        refusals.push(("/api/v1/locations", location(field, &long), field));
    }
    for (path, body, field) in &refusals {
        invalid(call(&app, Method::POST, path, token, body).await, field).await;
    }
    invalid(
        call(
            &app,
            Method::PATCH,
            "/api/v1/tenant",
            token,
            &json!({"name": long}),
        )
        .await,
        "name",
    )
    .await;
    assert_eq!(
        all_row_counts(&db).await,
        before,
        "refused requests write nothing"
    );

    let mut admin = db.admin().await;
    for (n, hostile) in [SQL_DROP, SQL_OR].into_iter().enumerate() {
        let email = format!("staff{n}@example.com");
        let invited = call(
            &app,
            Method::POST,
            "/api/v1/users/invitations",
            token,
            &invite(&email, hostile, "stylist"),
        )
        .await;
        assert_eq!(invited.status(), 201);
        assert_eq!(json_body(invited).await["name"], hostile);

        let created = call(
            &app,
            Method::POST,
            "/api/v1/roles",
            token,
            &role(&format!("desk {n}"), hostile, "clients:read"),
        )
        .await;
        assert_eq!(created.status(), 201);
        assert_eq!(json_body(created).await["description"], hostile);

        let branch = call(
            &app,
            Method::POST,
            "/api/v1/locations",
            token,
            &with_field(location("name", hostile), "address", hostile),
        )
        .await;
        assert_eq!(branch.status(), 201);
        let branch = json_body(branch).await;
        assert_eq!(
            (&branch["name"], &branch["address"]),
            (&json!(hostile), &json!(hostile))
        );

        let renamed = call(
            &app,
            Method::PATCH,
            "/api/v1/tenant",
            token,
            &json!({"name": hostile}),
        )
        .await;
        assert_eq!(renamed.status(), 200);
        assert_eq!(json_body(renamed).await["name"], hostile);

        let stored: (String, String, String, String) = sqlx::query_as(
            "SELECT (SELECT name FROM users WHERE email = $1), (SELECT description FROM roles WHERE name = $2),
                    (SELECT address FROM locations WHERE id = $3::uuid), (SELECT name FROM tenants WHERE id = $4::uuid)",
        )
        .bind(&email)
        .bind(format!("desk {n}"))
        .bind(branch["id"].as_str().unwrap())
        .bind(&b.tenant_id)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert_eq!(
            stored,
            (hostile.into(), hostile.into(), hostile.into(), hostile.into())
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn lookalike_unicode_emails_are_refused_at_signup_and_invite() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let b = app.signup("Lotus Salon").await;
    let before = all_row_counts(&db).await;
    // The first letter is CYRILLIC SMALL LETTER A, not a Latin a.
    let lookalike = "\u{0430}sha.patil@example.com";
    invalid(
        app.post_json(
            "/api/v1/auth/signup",
            &with_field(signup_body(), "owner.email", lookalike),
        )
        .await,
        "owner.email",
    )
    .await;
    invalid(
        call(
            &app,
            Method::POST,
            "/api/v1/users/invitations",
            &b.access_token,
            &json!({"email": lookalike, "name": "Asha", "roles": ["stylist"]}),
        )
        .await,
        "email",
    )
    .await;
    assert_eq!(all_row_counts(&db).await, before);
    app.stop().await;
}

#[tokio::test]
async fn signup_with_a_taken_slug_answers_409_and_creates_no_second_tenant() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let first = app
        .post_json(
            "/api/v1/auth/signup",
            &with_field(signup_body(), "slug", "lotus-pune"),
        )
        .await;
    assert_eq!(first.status(), 201);
    let before = all_row_counts(&db).await;
    let second = with_field(
        with_field(signup_body(), "slug", "lotus-pune"),
        "business_name",
        "Another Lotus",
    );
    problem(
        app.post_json("/api/v1/auth/signup", &second).await,
        409,
        "slug_taken",
    )
    .await;
    assert_eq!(all_row_counts(&db).await, before);
    let holders: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE slug = 'lotus-pune'")
        .fetch_one(&mut db.admin().await)
        .await
        .unwrap();
    assert_eq!(holders, 1);
    app.stop().await;
}

#[tokio::test]
async fn audit_log_filters_match_sql_text_literally_and_refuse_control_characters() {
    let app = TestApp::fresh().await;
    let b = app.signup("Lotus Salon").await;
    let audit = |query: String| {
        app.authed(
            Method::GET,
            &format!("/api/v1/audit-events?{query}"),
            &b.access_token,
        )
        .send()
    };
    for field in ["action", "resource_type", "resource_id", "outcome"] {
        for hostile in ["%27%3B%20DROP%20TABLE%20users%3B%20--", "%22%20OR%201%3D1"] {
            let response = audit(format!("{field}={hostile}")).await.unwrap();
            assert_eq!(response.status(), 200, "{field}={hostile}");
            assert_eq!(json_body(response).await["items"], json!([]), "{field}={hostile}");
        }
        // PostgreSQL text cannot hold NUL: refused as input, not failed as a query.
        invalid(audit(format!("{field}=a%00b")).await.unwrap(), field).await;
    }
    let everything = json_body(audit("limit=200".into()).await.unwrap()).await;
    assert!(
        !everything["items"].as_array().unwrap().is_empty(),
        "the log is still there"
    );
    app.stop().await;
}

#[tokio::test]
async fn malformed_ids_in_tenant_route_paths_answer_400() {
    let app = TestApp::fresh().await;
    let b = populated(&app, "Lotus Salon").await;
    let mut checked = 0;
    for (method, path, scheme) in operations(&app).await {
        // A wording's key is names, checked as such (422 naming the part).
        let named = path.starts_with("/api/v1/messaging/templates/");
        if scheme.as_deref() != Some("bearer") || !path.contains('{') || named {
            continue;
        }
        // A valid query and body: the path is all that is wrong.
        let (query, body) = b.request_for(&method, &path);
        for malformed in ["not-a-uuid", "%27%3B%20DROP%20TABLE%20users%3B%20--", "%00"] {
            let ids: HashMap<&'static str, String> = b
                .path_ids()
                .into_keys()
                .map(|name| (name, malformed.to_owned()))
                .collect();
            let response = call(
                &app,
                method.clone(),
                &format!("{}{query}", fill(&path, &ids)),
                b.owner_token(),
                &body,
            )
            .await;
            problem(response, 400, "bad_request").await;
            checked += 1;
        }
    }
    assert!(checked >= 21, "checked {checked}");
    assert_eq!(session_of(&app, &b.member_token).await, b.member_session_id);
    app.stop().await;
}

// ---------------------------------------------------- 8. role escalation

async fn roles_of(db: &TestDb, user_id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT r.name FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
          WHERE ur.user_id = $1::uuid ORDER BY r.name",
    )
    .bind(user_id)
    .fetch_all(&mut db.admin().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_receptionist_cannot_invite_grant_roles_or_manage_roles() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let b = populated(&app, "Lotus Salon").await;
    let (desk_id, desk, _) = app
        .add_member(b.owner_token(), b.tenant_id(), &["receptionist"])
        .await;
    let (stylist_id, _, _) = app.add_member(b.owner_token(), b.tenant_id(), &["stylist"]).await;
    let before = all_row_counts(&db).await;

    let attempts = [
        (
            Method::POST,
            "/api/v1/users/invitations".to_owned(),
            json!({"email": "friend@example.com", "name": "Friend", "roles": ["receptionist"]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{desk_id}"),
            json!({"roles": ["owner"]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{stylist_id}"),
            json!({"roles": ["receptionist"]}),
        ),
        (
            Method::POST,
            "/api/v1/roles".to_owned(),
            json!({"name": "desk plus", "permissions": ["users:invite"]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/roles/{}", b.role_id),
            json!({"permissions": ["users:manage"]}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/roles/{}", b.role_id),
            Value::Null,
        ),
    ];
    for (method, path, body) in attempts {
        problem(
            call(&app, method, &path, &desk, &body).await,
            403,
            "permission_denied",
        )
        .await;
    }
    assert_eq!(all_row_counts(&db).await, before);
    assert_eq!(roles_of(&db, &desk_id).await, ["receptionist"]);
    assert_eq!(roles_of(&db, &stylist_id).await, ["stylist"]);
    app.stop().await;
}

#[tokio::test]
async fn an_admin_cannot_grant_the_owner_role_nor_make_a_role_with_rights_they_lack() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let b = populated(&app, "Lotus Salon").await;
    let (_, admin, _) = app.add_member(b.owner_token(), b.tenant_id(), &["admin"]).await;
    let (stylist_id, _, _) = app.add_member(b.owner_token(), b.tenant_id(), &["stylist"]).await;
    let before = all_row_counts(&db).await;

    let attempts = [
        (
            Method::PATCH,
            format!("/api/v1/users/{stylist_id}"),
            json!({"roles": ["owner"]}),
        ),
        (
            Method::POST,
            "/api/v1/users/invitations".to_owned(),
            json!({"email": "partner@example.com", "name": "Partner", "roles": ["owner"]}),
        ),
        (
            Method::POST,
            "/api/v1/roles".to_owned(),
            json!({"name": "settings", "permissions": ["tenant:update"]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/roles/{}", b.role_id),
            json!({"permissions": ["audit:read", "tenant:update"]}),
        ),
        // Nor reshape or shut out the owner, whose rights exceed the admin's.
        (
            Method::PATCH,
            format!("/api/v1/users/{}", b.business.owner_id),
            json!({"roles": ["stylist"]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", b.business.owner_id),
            json!({"status": "disabled"}),
        ),
    ];
    for (method, path, body) in attempts {
        problem(
            call(&app, method, &path, &admin, &body).await,
            403,
            "role_escalation",
        )
        .await;
    }
    assert_eq!(all_row_counts(&db).await, before);
    assert_eq!(roles_of(&db, &stylist_id).await, ["stylist"]);
    assert_eq!(roles_of(&db, &b.business.owner_id).await, ["owner"]);
    assert_eq!(session_of(&app, b.owner_token()).await, b.owner_session_id);

    // Rights the admin holds can be granted: the refusals above are about the owner role.
    let granted = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{stylist_id}"),
        &admin,
        &json!({"roles": ["manager"]}),
    )
    .await;
    assert_eq!(granted.status(), 200);
    assert_eq!(roles_of(&db, &stylist_id).await, ["manager"]);
    app.stop().await;
}

#[tokio::test]
async fn nobody_can_change_their_own_roles_or_status() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let b = app.signup("Lotus Salon").await;
    let (admin_id, admin, _) = app.add_member(&b.access_token, &b.tenant_id, &["admin"]).await;
    let attempts = [
        (
            &b.owner_id,
            b.access_token.as_str(),
            json!({"roles": ["owner", "admin"]}),
        ),
        (
            &b.owner_id,
            b.access_token.as_str(),
            json!({"status": "disabled"}),
        ),
        (&admin_id, admin.as_str(), json!({"roles": ["owner"]})),
        (&admin_id, admin.as_str(), json!({"roles": ["admin", "manager"]})),
    ];
    for (user_id, token, body) in attempts {
        problem(
            call(
                &app,
                Method::PATCH,
                &format!("/api/v1/users/{user_id}"),
                token,
                &body,
            )
            .await,
            403,
            "own_account",
        )
        .await;
    }
    assert_eq!(roles_of(&db, &b.owner_id).await, ["owner"]);
    assert_eq!(roles_of(&db, &admin_id).await, ["admin"]);
    app.stop().await;
}

#[tokio::test]
async fn signup_refuses_a_role_field_and_creates_exactly_one_owner() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let before = all_row_counts(&db).await;
    let mut top_level = signup_body();
    top_level["role"] = json!("admin");
    let mut in_owner = signup_body();
    in_owner["owner"]["roles"] = json!(["admin"]);
    for (body, field) in [(top_level, "role"), (in_owner, "roles")] {
        let refused = problem(
            app.post_json("/api/v1/auth/signup", &body).await,
            422,
            "invalid_body",
        )
        .await;
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("unknown field `{field}`")),
            "{refused}"
        );
    }
    assert_eq!(all_row_counts(&db).await, before);

    let b = app.signup("Lotus Salon").await;
    let users: Vec<String> = sqlx::query_scalar("SELECT id::text FROM users WHERE tenant_id = $1::uuid")
        .bind(&b.tenant_id)
        .fetch_all(&mut db.admin().await)
        .await
        .unwrap();
    assert_eq!(users, [b.owner_id.as_str()]);
    assert_eq!(roles_of(&db, &b.owner_id).await, ["owner"]);
    app.stop().await;
}

// ------------------------------------------- 9. permission changes apply now

#[tokio::test]
async fn removing_a_permission_from_a_role_takes_effect_on_the_holders_next_request() {
    let app = TestApp::fresh().await;
    let b = app.signup("Lotus Salon").await;
    let created = call(
        &app,
        Method::POST,
        "/api/v1/roles",
        &b.access_token,
        &json!({"name": "auditor", "permissions": ["audit:read"]}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let role_id = id_of(&json_body(created).await);
    let (_, auditor, _) = app.add_member(&b.access_token, &b.tenant_id, &["auditor"]).await;

    let allowed = call(&app, Method::GET, "/api/v1/audit-events", &auditor, &Value::Null).await;
    assert_eq!(allowed.status(), 200);

    let changed = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/roles/{role_id}"),
        &b.access_token,
        &json!({"permissions": []}),
    )
    .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(json_body(changed).await["permissions"], json!([]));

    problem(
        call(&app, Method::GET, "/api/v1/audit-events", &auditor, &Value::Null).await,
        403,
        "permission_denied",
    )
    .await;
    app.stop().await;
}

/// Every file of an export zip, by name, read as JSON.
fn export_files(path: &std::path::Path) -> BTreeMap<String, Value> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        if !name.ends_with(".json") {
            continue;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        files.insert(name, serde_json::from_str(&text).unwrap());
    }
    files
}

/// `value` with every string that is a key of `ids` replaced by its value.
fn mapped(value: &Value, ids: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(ids.get(s).cloned().unwrap_or_else(|| s.clone())),
        Value::Array(items) => Value::Array(items.iter().map(|v| mapped(v, ids)).collect()),
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), mapped(v, ids))).collect())
        }
        other => other.clone(),
    }
}

/// A table's rows as sorted JSON texts: the same rows, the same list.
fn row_texts(rows: &[Value]) -> Vec<String> {
    let mut texts: Vec<String> = rows.iter().map(Value::to_string).collect();
    texts.sort();
    texts
}

#[tokio::test]
async fn a_business_exported_and_imported_as_a_new_one_holds_the_same_content_under_new_ids() {
    let app = TestApp::fresh().await;
    let db = app.db.clone().unwrap();
    let moving = populated(&app, "Moving Salon").await;
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        support::ftry_command()
            .args(args)
            .env("DATABASE_URL", db.app_url())
            .env("FTRY_DATABASE_OWNER_URL", db.owner_url())
            .env("FTRY_BACKUP_DATABASE_URL", db.superuser_url())
            .output()
            .unwrap()
    };
    let said = |output: &std::process::Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let told = |output: &std::process::Output| {
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        stderr.lines().last().unwrap_or_default().to_owned()
    };
    let (a, b, map) = (
        dir.path().join("a.zip"),
        dir.path().join("b.zip"),
        dir.path().join("ids.json"),
    );
    let a_text = a.to_str().unwrap();
    said(&cli(&[
        "tenant",
        "export",
        &moving.business.slug,
        "--out",
        a_text,
    ]));
    let exported = export_files(&a);
    let manifest = &exported["manifest.json"];
    let tables: Vec<(String, u64)> = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    let rows: u64 = tables.iter().map(|(_, n)| n).sum();

    let imported = said(&cli(&[
        "tenant",
        "import",
        a_text,
        "--slug",
        "moved-salon",
        "--name",
        "Moved Salon",
        "--id-map",
        map.to_str().unwrap(),
    ]));
    let ids: BTreeMap<String, String> = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    let new_tenant = &ids[moving.tenant_id()];
    // The accounts that were active (the owner and the member), invited again.
    let active: Vec<&str> = exported["data/users.json"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "active")
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    let mut both = vec![moving.business.owner_email.as_str(), moving.member_email.as_str()];
    both.sort();
    let mut sorted = active.clone();
    sorted.sort();
    assert_eq!(sorted, both);
    let invited: String = active
        .iter()
        .map(|email| format!("invited {email} to choose a password\n"))
        .collect();
    assert_eq!(
        imported,
        format!(
            "imported {a_text} as moved-salon ({new_tenant}): {} tables, {rows} rows\n{invited}\
             1 webhook endpoints turned off until their secrets are replaced\n",
            tables.len()
        )
    );
    // Every id of the export has a new one, none of them an old one.
    let every_id: BTreeSet<String> = tables
        .iter()
        .flat_map(|(table, _)| exported[&format!("data/{table}.json")].as_array().unwrap().iter())
        .filter_map(|row| row["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.keys().cloned().collect::<BTreeSet<_>>(), every_id);
    assert!(ids.values().all(|new| !ids.contains_key(new)));

    said(&cli(&[
        "tenant",
        "export",
        "moved-salon",
        "--out",
        b.to_str().unwrap(),
    ]));
    let copy = export_files(&b);
    for (table, count) in &tables {
        let file = format!("data/{table}.json");
        let mut expected: Vec<Value> = exported[&file]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| mapped(r, &ids))
            .collect();
        let mut found: Vec<Value> = copy[&file].as_array().unwrap().clone();
        match table.as_str() {
            "tenants" => {
                expected[0]["slug"] = json!("moved-salon");
                expected[0]["name"] = json!("Moved Salon");
            }
            // Passwords do not travel: the active accounts are invited again.
            "users" => {
                for row in &mut expected {
                    if row["status"] == "active" {
                        row["status"] = json!("invited");
                    }
                }
            }
            // A new signing secret, off until it is replaced.
            "webhook_endpoints" => {
                for (row, now) in expected.iter_mut().zip(&found) {
                    assert!(now["disabled_at"].is_string(), "{now}");
                    row["enabled"] = json!(false);
                    row["disabled_at"] = now["disabled_at"].clone();
                    row["disabled_reason"] = json!("imported: replace its secret, then turn it on");
                }
            }
            // The one event the import adds.
            "audit_events" => {
                let added: Vec<Value> = found
                    .iter()
                    .filter(|e| e["action"] == "tenant.imported")
                    .cloned()
                    .collect();
                assert_eq!(added.len(), 1);
                assert_eq!(added[0]["resource_id"], json!(new_tenant));
                assert_eq!(
                    added[0]["after"],
                    json!({"from": moving.business.slug, "exported_at": manifest["exported_at"], "tables": tables.len(),
                           "rows": rows, "invited": 2, "webhooks_turned_off": 1})
                );
                found.retain(|e| e["action"] != "tenant.imported");
            }
            _ => {}
        }
        assert_eq!(found.len() as u64, *count, "{table}");
        assert_eq!(row_texts(&found), row_texts(&expected), "{table}");
    }
    assert!(tables.len() >= 30, "{} tables", tables.len());

    // The new business works: its ledger holds, its owner joins and sees
    // the clients with their contacts.
    let ledger = said(&cli(&["ledger", "verify", "--tenant", "moved-salon"]));
    assert!(ledger.starts_with("ledger of moved-salon: ok"), "{ledger}");
    let token = app
        .outbox_token(new_tenant, &moving.business.owner_email, "/invite/accept?token=")
        .await;
    let joined = app
        .client
        .post(app.url("/api/v1/auth/invitations/accept"))
        .json(&json!({"token": token, "password": "tamarind-kettle-orbit-77"}))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
    let owner_token = json_body(joined).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let clients = expect(
        &app,
        Method::GET,
        "/api/v1/clients",
        &owner_token,
        &Value::Null,
        200,
    )
    .await;
    let names: Vec<&str> = clients["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&moving.client_name.as_str()), "{clients}");
    let client = &ids[&moving.client_id];
    let opened = expect(
        &app,
        Method::GET,
        &format!("/api/v1/clients/{client}"),
        &owner_token,
        &Value::Null,
        200,
    )
    .await;
    assert_eq!(opened["email"], json!(moving.client_email));

    // The same slug again, or something that is not an export: refused.
    let again = cli(&["tenant", "import", a_text, "--slug", "moved-salon"]);
    assert_eq!(
        told(&again),
        "ftry: a business with the slug moved-salon exists already"
    );
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let refused = cli(&["tenant", "import", junk.to_str().unwrap(), "--slug", "junk-salon"]);
    assert!(
        told(&refused).starts_with("ftry: not a zip file: "),
        "{}",
        told(&refused)
    );
    // A file made to write where an export never does: refused, nothing written.
    let crafted = |name: &str, tables: &[(&str, Value)]| {
        use std::io::Write;
        let path = dir.path().join(name);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        let described: Vec<Value> = tables
            .iter()
            .map(|(t, rows)| json!({"name": t, "rows": rows.as_array().unwrap().len()}))
            .collect();
        zip.start_file("manifest.json", options).unwrap();
        let manifest = json!({"format": "ftry-tenant-export", "version": 1, "tenant": {"slug": "x"}, "tables": described});
        zip.write_all(manifest.to_string().as_bytes()).unwrap();
        for (table, rows) in tables {
            zip.start_file(format!("data/{table}.json"), options).unwrap();
            zip.write_all(rows.to_string().as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        path
    };
    let business = json!([{"id": "0190f000-0000-7000-8000-000000000001", "slug": "x", "name": "X"}]);
    let operators = crafted(
        "operators.zip",
        &[("tenants", business.clone()), ("platform_admins", json!([]))],
    );
    let refused = cli(&[
        "tenant",
        "import",
        operators.to_str().unwrap(),
        "--slug",
        "crafted-a",
    ]);
    assert_eq!(
        told(&refused),
        "ftry: the export holds a table platform_admins that no business export carries"
    );
    let someone_elses = json!([{"tenant_id": moving.tenant_id(), "id": "0190f000-0000-7000-8000-000000000002", "name": "Planted"}]);
    let planted = crafted(
        "planted.zip",
        &[("tenants", business), ("clients", someone_elses)],
    );
    let refused = cli(&[
        "tenant",
        "import",
        planted.to_str().unwrap(),
        "--slug",
        "crafted-b",
    ]);
    assert_eq!(
        told(&refused),
        "ftry: a row of clients belongs to another business than the export's"
    );
    let mut admin = db.admin().await;
    let made: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tenants WHERE slug IN ('crafted-a', 'crafted-b', 'junk-salon')",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(made, 0);
}
