//! Retail products and stock over HTTP: products round trip exactly, SKUs
//! and barcodes are unique, HSN codes must be of goods; stock moves only in
//! whole, audited movements, never below zero unless the business allows it
//! (also under concurrency); low-stock flags; the movements list; the demo
//! shelf; and all of it under a receptionist's token and another tenant's ids.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::rest::{app, call, expect, get, id, patch, post};
use support::{config_for, count, invalid_fields, problem, Business, TestApp, TestDb};

// ---------------------------------------------------------------- helpers

/// Audit actions of a business about products and stock, oldest first.
async fn audit_actions(app: &TestApp, tenant_id: &str) -> Vec<String> {
    let mut conn = app.db.as_ref().unwrap().admin().await;
    sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE tenant_id = $1::uuid
            AND split_part(action, '.', 1) IN ('product', 'stock')
          ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

/// Every row of stock levels and movements, as text, read as the superuser.
async fn stock_rows(app: &TestApp) -> Vec<String> {
    let mut conn = app.db.as_ref().unwrap().admin().await;
    sqlx::query_scalar(
        "SELECT t::text FROM stock_levels t UNION ALL SELECT m::text FROM stock_movements m ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

async fn allow_negative_stock(app: &TestApp, business: &Business, allowed: bool) {
    support::tenant_settings(
        app,
        &business.access_token,
        json!({"allow_negative_stock": allowed}),
    )
    .await;
}

fn shampoo() -> Value {
    json!({
        "sku": "HC-ABS-SH300",
        "barcode": "8901030001079",
        "name": "Absolut Repair Shampoo 300 ml",
        "hsn_code": "3305",
        "price_paise": 115000,
        "cost_paise": 78000,
        "low_stock_threshold": 4,
        "active": true,
    })
}

async fn product(app: &TestApp, token: &str, sku: &str, name: &str, threshold: i64) -> String {
    id(&post(
        app,
        "/api/v1/products",
        token,
        json!({"sku": sku, "name": name, "hsn_code": "3304", "price_paise": 59900,
               "low_stock_threshold": threshold}),
    )
    .await)
}

fn movements_path(business: &Business) -> String {
    format!("/api/v1/locations/{}/stock/movements", business.location_id)
}

fn stock_path(business: &Business) -> String {
    format!("/api/v1/locations/{}/stock", business.location_id)
}

/// Record a movement at the business's branch; the created answer.
async fn moved(app: &TestApp, business: &Business, product_id: &str, kind: &str, quantity: i64) -> Value {
    post(
        app,
        &movements_path(business),
        &business.access_token,
        json!({"product_id": product_id, "kind": kind, "quantity": quantity}),
    )
    .await
}

/// The quantity the branch's stock list shows for a product.
async fn quantity(app: &TestApp, business: &Business, product_id: &str) -> i64 {
    let stock = get(app, &stock_path(business), &business.access_token).await;
    stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["product_id"] == product_id)
        .expect("the product in the stock list")["quantity"]
        .as_i64()
        .unwrap()
}

// ---------------------------------------------------------------- products

#[tokio::test]
async fn a_product_round_trips_exactly_and_patch_changes_only_what_it_names() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;

    let created = post(&app, "/api/v1/products", token, shampoo()).await;
    let product_id = id(&created);
    let mut expected = shampoo();
    expected["id"] = json!(product_id);
    expected["created_at"] = created["created_at"].clone();
    assert!(
        created["created_at"].as_str().unwrap().ends_with('Z'),
        "{created}"
    );
    assert_eq!(created, expected);
    let path = format!("/api/v1/products/{product_id}");
    assert_eq!(get(&app, &path, token).await, expected);

    let changed = patch(
        &app,
        &path,
        token,
        json!({"price_paise": 119500, "barcode": null, "name": "  Absolut Repair Shampoo 300ml  ",
               "active": false}),
    )
    .await;
    let mut after = expected.clone();
    after["price_paise"] = json!(119500);
    after["barcode"] = Value::Null;
    after["name"] = json!("Absolut Repair Shampoo 300ml");
    after["active"] = json!(false);
    assert_eq!(changed, after);
    assert_eq!(patch(&app, &path, token, json!({})).await, after);
    assert_eq!(
        get(&app, "/api/v1/products", token).await,
        json!({"items": [after]})
    );

    let mut conn = app.db.as_ref().unwrap().admin().await;
    let (before_price, after_price): (i64, i64) = sqlx::query_as(
        "SELECT (before->>'price_paise')::bigint, (after->>'price_paise')::bigint FROM audit_events
          WHERE tenant_id = $1::uuid AND action = 'product.updated' ORDER BY id LIMIT 1",
    )
    .bind(&owner.tenant_id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((before_price, after_price), (115000, 119500));
    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        ["product.created", "product.updated", "product.updated"]
    );
    app.stop().await;
}

#[tokio::test]
async fn products_are_listed_by_name_and_filtered_by_state_and_name_or_sku_prefix() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let serum = product(&app, token, "SK-VTC-SR30", "Vitamin C Serum 30 ml", 6).await;
    let lipstick = product(&app, token, "MU-LIP-RED", "matte Lipstick, Ruby Red", 3).await;
    let compact = product(&app, token, "MU-CMP-IVR", "Perfect Radiance Compact", 3).await;
    patch(
        &app,
        &format!("/api/v1/products/{compact}"),
        token,
        json!({"active": false}),
    )
    .await;

    let ids = |body: Value| -> Vec<String> { body["items"].as_array().unwrap().iter().map(id).collect() };
    assert_eq!(
        ids(get(&app, "/api/v1/products", token).await),
        [lipstick.as_str(), compact.as_str(), serum.as_str()]
    );
    assert_eq!(
        ids(get(&app, "/api/v1/products?active=true", token).await),
        [lipstick.as_str(), serum.as_str()]
    );
    assert_eq!(
        ids(get(&app, "/api/v1/products?active=false", token).await),
        [compact.as_str()]
    );
    assert_eq!(
        ids(get(&app, "/api/v1/products?q=MATTE", token).await),
        [lipstick.as_str()]
    );
    assert_eq!(
        ids(get(&app, "/api/v1/products?q=mu-", token).await),
        [lipstick.as_str(), compact.as_str()]
    );
    assert_eq!(
        ids(get(&app, "/api/v1/products?q=mu-&active=true", token).await),
        [lipstick.as_str()]
    );
    assert!(ids(get(&app, "/api/v1/products?q=%25", token).await).is_empty());
    let nul = call(&app, Method::GET, "/api/v1/products?q=a%00b", token, None).await;
    assert_eq!(invalid_fields(nul).await, ["q"]);
    let bad_state = call(&app, Method::GET, "/api/v1/products?active=maybe", token, None).await;
    problem(bad_state, 400, "invalid_query").await;
    app.stop().await;
}

#[tokio::test]
async fn a_taken_sku_or_barcode_answers_409_and_writes_nothing() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    post(&app, "/api/v1/products", token, shampoo()).await;
    let conditioner = post(
        &app,
        "/api/v1/products",
        token,
        json!({"sku": "HC-ABS-CN200", "barcode": "8901030001147", "name": "Absolut Repair Conditioner",
               "hsn_code": "3305", "price_paise": 110000}),
    )
    .await;

    let mut same_sku = shampoo();
    same_sku["barcode"] = json!("8901030009999");
    let refused = call(&app, Method::POST, "/api/v1/products", token, Some(same_sku)).await;
    problem(refused, 409, "sku_taken").await;
    let mut same_barcode = shampoo();
    same_barcode["sku"] = json!("HC-ABS-SH500");
    let refused = call(&app, Method::POST, "/api/v1/products", token, Some(same_barcode)).await;
    problem(refused, 409, "barcode_taken").await;

    let path = format!("/api/v1/products/{}", id(&conditioner));
    let refused = call(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"sku": "HC-ABS-SH300"})),
    )
    .await;
    problem(refused, 409, "sku_taken").await;
    let refused = call(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"barcode": "8901030001079"})),
    )
    .await;
    problem(refused, 409, "barcode_taken").await;
    assert_eq!(get(&app, &path, token).await, conditioner);

    // Another business may use the same SKU and barcode.
    let other = app.signup("Rose Spa").await;
    post(&app, "/api/v1/products", &other.access_token, shampoo()).await;

    assert_eq!(count(&app, "SELECT count(*) FROM products", &[]).await, 3);
    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        ["product.created", "product.created"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_product_needs_its_required_fields_and_an_hsn_code_of_goods() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let empty = call(&app, Method::POST, "/api/v1/products", token, Some(json!({}))).await;
    assert_eq!(
        invalid_fields(empty).await,
        ["sku", "name", "hsn_code", "price_paise"]
    );
    for code in ["999721", "9999", "33O5"] {
        let mut body = shampoo();
        body["hsn_code"] = json!(code);
        let refused = call(&app, Method::POST, "/api/v1/products", token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, ["hsn_code"], "{code}");
    }
    let created = post(&app, "/api/v1/products", token, shampoo()).await;
    let refused = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/products/{}", id(&created)),
        token,
        Some(json!({"hsn_code": "999722"})),
    )
    .await;
    assert_eq!(invalid_fields(refused).await, ["hsn_code"]);
    let unknown_field = call(
        &app,
        Method::POST,
        "/api/v1/products",
        token,
        Some(json!({"sku": "X1", "name": "Soap", "hsn_code": "3401", "price_paise": 1, "gst": 18})),
    )
    .await;
    problem(unknown_field, 422, "invalid_body").await;
    assert_eq!(count(&app, "SELECT count(*) FROM products", &[]).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn negative_or_oversized_amounts_and_malformed_skus_and_barcodes_are_422() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    for (field, value) in [
        ("price_paise", json!(-100)),
        ("price_paise", json!(100_000_001)),
        ("cost_paise", json!(-1)),
        ("low_stock_threshold", json!(-1)),
        ("sku", json!("")),
        ("sku", json!("HC ABS")),
        ("sku", json!("x".repeat(41))),
        ("barcode", json!("1234567")),
        ("barcode", json!("123456789012345")),
        ("barcode", json!("89010300O1079")),
        ("name", json!("   ")),
        ("name", json!("Shampoo\u{0}")),
    ] {
        let mut body = shampoo();
        body[field] = value.clone();
        let refused = call(&app, Method::POST, "/api/v1/products", token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, [field], "{field} = {value}");
    }
    let created = post(&app, "/api/v1/products", token, shampoo()).await;
    let path = format!("/api/v1/products/{}", id(&created));
    let negative = call(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"price_paise": -1, "cost_paise": -1})),
    )
    .await;
    assert_eq!(invalid_fields(negative).await, ["price_paise", "cost_paise"]);
    let fraction = call(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"price_paise": 99.5})),
    )
    .await;
    problem(fraction, 422, "invalid_body").await;
    assert_eq!(get(&app, &path, token).await, created);
    app.stop().await;
}

#[tokio::test]
async fn ten_kilobyte_texts_are_refused_with_422_and_write_nothing() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let huge = "x".repeat(10 * 1024);
    let created = post(&app, "/api/v1/products", token, shampoo()).await;
    let before = count(&app, "SELECT count(*) FROM audit_events", &[]).await;
    let mut long_name = shampoo();
    long_name["name"] = json!(huge);
    let mut long_sku = shampoo();
    long_sku["sku"] = json!(huge);
    for (method, path, body, field) in [
        (Method::POST, "/api/v1/products".to_owned(), long_name, "name"),
        (Method::POST, "/api/v1/products".to_owned(), long_sku, "sku"),
        (
            Method::PATCH,
            format!("/api/v1/products/{}", id(&created)),
            json!({"name": huge}),
            "name",
        ),
        (
            Method::PATCH,
            format!("/api/v1/products/{}", id(&created)),
            json!({"barcode": huge}),
            "barcode",
        ),
        (
            Method::POST,
            movements_path(&owner),
            json!({"product_id": id(&created), "kind": "purchase", "quantity": 1, "note": huge}),
            "note",
        ),
    ] {
        let refused = call(&app, method.clone(), &path, token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, [field], "{method} {path}");
    }
    let refused = call(
        &app,
        Method::GET,
        &format!("/api/v1/products?q={huge}"),
        token,
        None,
    )
    .await;
    assert_eq!(invalid_fields(refused).await, ["q"]);
    assert_eq!(
        count(&app, "SELECT count(*) FROM audit_events", &[]).await,
        before
    );
    assert_eq!(count(&app, "SELECT count(*) FROM products", &[]).await, 1);
    assert!(stock_rows(&app).await.is_empty());
    app.stop().await;
}

// ---------------------------------------------------------------- stock

#[tokio::test]
async fn a_purchase_then_internal_use_moves_stock_and_records_each_movement() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let product_id = id(&post(&app, "/api/v1/products", token, shampoo()).await);

    let purchase = post(
        &app,
        &movements_path(&owner),
        token,
        json!({"product_id": product_id, "kind": "purchase", "quantity": 10, "note": "Bill 4471, Sai Traders"}),
    )
    .await;
    let movement = &purchase["movement"];
    assert_eq!(
        purchase,
        json!({
            "movement": {
                "id": id(movement), "location_id": owner.location_id, "product_id": product_id,
                "kind": "purchase", "quantity": 10, "reference": null, "note": "Bill 4471, Sai Traders",
                "actor_id": owner.owner_id, "at": movement["at"],
            },
            "stock": {
                "product_id": product_id, "sku": "HC-ABS-SH300", "name": "Absolut Repair Shampoo 300 ml",
                "quantity": 10, "low_stock_threshold": 4, "low": false,
            },
        })
    );
    let used = moved(&app, &owner, &product_id, "internal_use", -7).await;
    assert_eq!(used["movement"]["quantity"], -7);
    assert_eq!(used["movement"]["note"], "");
    assert_eq!(
        used["stock"],
        json!({"product_id": product_id, "sku": "HC-ABS-SH300", "name": "Absolut Repair Shampoo 300 ml",
               "quantity": 3, "low_stock_threshold": 4, "low": true})
    );
    assert_eq!(
        get(&app, &stock_path(&owner), token).await,
        json!({"items": [used["stock"]]})
    );
    assert_eq!(
        get(&app, &movements_path(&owner), token).await,
        json!({"items": [used["movement"], purchase["movement"]], "next_cursor": null})
    );
    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        ["product.created", "stock.moved", "stock.moved"]
    );
    let used_id = id(&used["movement"]);
    let audited: i64 = count(
        &app,
        "SELECT (after->'stock'->>'quantity')::bigint FROM audit_events
          WHERE action = 'stock.moved' AND resource_id = $1",
        &[&used_id],
    )
    .await;
    assert_eq!(audited, 3);
    app.stop().await;
}

#[tokio::test]
async fn going_below_zero_answers_409_naming_what_is_left_and_writes_nothing() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let product_id = id(&post(&app, "/api/v1/products", token, shampoo()).await);
    let never_stocked = product(&app, token, "SK-NIA-SR30", "Niacinamide Serum", 6).await;
    moved(&app, &owner, &product_id, "purchase", 2).await;
    let rows = stock_rows(&app).await;
    let audited = audit_actions(&app, &owner.tenant_id).await;

    let refused = call(
        &app,
        Method::POST,
        &movements_path(&owner),
        token,
        Some(json!({"product_id": product_id, "kind": "internal_use", "quantity": -3})),
    )
    .await;
    let body = problem(refused, 409, "insufficient_stock").await;
    assert_eq!(body["product_id"], product_id);
    assert_eq!(body["location_id"], owner.location_id);
    assert_eq!(body["available"], 2);
    assert_eq!(
        body["detail"],
        "Only 2 of Absolut Repair Shampoo 300 ml (HC-ABS-SH300) in stock at this branch; this movement takes 3."
    );
    let refused = call(
        &app,
        Method::POST,
        &movements_path(&owner),
        token,
        Some(json!({"product_id": never_stocked, "kind": "adjustment", "quantity": -1})),
    )
    .await;
    let body = problem(refused, 409, "insufficient_stock").await;
    assert_eq!(body["available"], 0);

    assert_eq!(stock_rows(&app).await, rows, "stock and movements unchanged");
    assert_eq!(audit_actions(&app, &owner.tenant_id).await, audited);
    assert_eq!(quantity(&app, &owner, &product_id).await, 2);
    assert_eq!(quantity(&app, &owner, &never_stocked).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn stock_may_go_below_zero_when_the_business_allows_it_and_receipts_always_go_in() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let product_id = id(&post(&app, "/api/v1/products", token, shampoo()).await);
    let never_stocked = product(&app, token, "SK-NIA-SR30", "Niacinamide Serum", 6).await;
    moved(&app, &owner, &product_id, "purchase", 2).await;
    allow_negative_stock(&app, &owner, true).await;

    let used = moved(&app, &owner, &product_id, "internal_use", -5).await;
    assert_eq!(used["stock"]["quantity"], -3);
    assert_eq!(used["stock"]["low"], true);
    let counted = moved(&app, &owner, &never_stocked, "adjustment", -1).await;
    assert_eq!(counted["stock"]["quantity"], -1);

    // Disallowed again: what is below zero may not fall further, but stock still comes in.
    allow_negative_stock(&app, &owner, false).await;
    let refused = call(
        &app,
        Method::POST,
        &movements_path(&owner),
        token,
        Some(json!({"product_id": product_id, "kind": "internal_use", "quantity": -1})),
    )
    .await;
    let body = problem(refused, 409, "insufficient_stock").await;
    assert_eq!(body["available"], -3);
    let received = moved(&app, &owner, &product_id, "purchase", 1).await;
    assert_eq!(received["stock"]["quantity"], -2);
    let received = moved(&app, &owner, &product_id, "return", 2).await;
    assert_eq!(received["stock"]["quantity"], 0);
    assert_eq!(count(&app, "SELECT count(*) FROM stock_movements", &[]).await, 5);
    app.stop().await;
}

#[tokio::test]
async fn stock_beyond_what_an_integer_holds_answers_409_and_writes_nothing() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let product_id = id(&post(&app, "/api/v1/products", &owner.access_token, shampoo()).await);
    moved(&app, &owner, &product_id, "purchase", 1).await;
    let mut conn = app.db.as_ref().unwrap().admin().await;
    sqlx::query("UPDATE stock_levels SET quantity = 2147483000")
        .execute(&mut conn)
        .await
        .unwrap();
    let rows = stock_rows(&app).await;

    let refused = call(
        &app,
        Method::POST,
        &movements_path(&owner),
        &owner.access_token,
        Some(json!({"product_id": product_id, "kind": "purchase", "quantity": 1000})),
    )
    .await;
    problem(refused, 409, "stock_out_of_range").await;
    assert_eq!(stock_rows(&app).await, rows);
    app.stop().await;
}

#[tokio::test]
async fn the_low_flag_and_filter_follow_each_products_threshold() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let conditioner = product(&app, token, "HC-CN", "Conditioner", 4).await;
    let serum = product(&app, token, "SK-SR", "Serum", 4).await;
    let soap = product(&app, token, "SP-HON", "Soap", 0).await;
    let retired = product(&app, token, "OLD-1", "Retired Gel", 0).await;
    moved(&app, &owner, &conditioner, "purchase", 4).await;
    moved(&app, &owner, &serum, "purchase", 5).await;
    moved(&app, &owner, &retired, "purchase", 1).await;
    patch(
        &app,
        &format!("/api/v1/products/{retired}"),
        token,
        json!({"active": false}),
    )
    .await;

    let item = |product_id: &str, sku: &str, name: &str, quantity: i64, threshold: i64, low: bool| {
        json!({"product_id": product_id, "sku": sku, "name": name, "quantity": quantity,
               "low_stock_threshold": threshold, "low": low})
    };
    let conditioner_item = item(&conditioner, "HC-CN", "Conditioner", 4, 4, true);
    let serum_item = item(&serum, "SK-SR", "Serum", 5, 4, false);
    let soap_item = item(&soap, "SP-HON", "Soap", 0, 0, true);
    assert_eq!(
        get(&app, &stock_path(&owner), token).await,
        json!({"items": [conditioner_item, serum_item, soap_item]})
    );
    assert_eq!(
        get(&app, &format!("{}?low=true", stock_path(&owner)), token).await,
        json!({"items": [conditioner_item, soap_item]})
    );
    assert_eq!(
        get(&app, &format!("{}?low=false", stock_path(&owner)), token).await,
        json!({"items": [serum_item]})
    );
    // Another branch holds nothing yet.
    let branch = post(
        &app,
        "/api/v1/locations",
        token,
        json!({"name": "Indiranagar", "state_code": "29", "address": "100 Feet Road, Bengaluru"}),
    )
    .await;
    let elsewhere = get(
        &app,
        &format!("/api/v1/locations/{}/stock?low=false", id(&branch)),
        token,
    )
    .await;
    assert_eq!(elsewhere, json!({"items": []}));
    app.stop().await;
}

#[tokio::test]
async fn movement_kinds_and_signs_are_checked_and_sales_come_only_from_invoices() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let product_id = id(&post(&app, "/api/v1/products", token, shampoo()).await);
    let empty = call(
        &app,
        Method::POST,
        &movements_path(&owner),
        token,
        Some(json!({})),
    )
    .await;
    assert_eq!(invalid_fields(empty).await, ["product_id", "kind", "quantity"]);
    for (kind, quantity, field) in [
        ("sale", -1, "kind"),
        ("theft", -1, "kind"),
        ("purchase", -5, "quantity"),
        ("return", -1, "quantity"),
        ("internal_use", 1, "quantity"),
        ("adjustment", 0, "quantity"),
        ("purchase", 1_000_001, "quantity"),
    ] {
        let refused = call(
            &app,
            Method::POST,
            &movements_path(&owner),
            token,
            Some(json!({"product_id": product_id, "kind": kind, "quantity": quantity})),
        )
        .await;
        assert_eq!(invalid_fields(refused).await, [field], "{kind} {quantity}");
    }
    let too_big = call(
        &app,
        Method::POST,
        &movements_path(&owner),
        token,
        Some(json!({"product_id": product_id, "kind": "purchase", "quantity": 3_000_000_000_i64})),
    )
    .await;
    problem(too_big, 422, "invalid_body").await;
    let unknown_product = call(
        &app,
        Method::POST,
        &movements_path(&owner),
        token,
        Some(json!({"product_id": uuid::Uuid::now_v7(), "kind": "purchase", "quantity": 1})),
    )
    .await;
    problem(unknown_product, 404, "not_found").await;
    assert!(stock_rows(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_movements_list_pages_newest_first_and_filters_by_product() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let shampoo_id = id(&post(&app, "/api/v1/products", token, shampoo()).await);
    let serum_id = product(&app, token, "SK-SR", "Serum", 2).await;
    let mut made = Vec::new();
    for (product_id, kind, quantity) in [
        (&shampoo_id, "purchase", 12),
        (&serum_id, "purchase", 6),
        (&shampoo_id, "internal_use", -1),
        (&shampoo_id, "adjustment", -2),
        (&serum_id, "return", 1),
    ] {
        made.push(moved(&app, &owner, product_id, kind, quantity).await["movement"].clone());
    }
    let newest_first: Vec<Value> = made.iter().rev().cloned().collect();

    let path = movements_path(&owner);
    let first = get(&app, &format!("{path}?limit=2"), token).await;
    assert_eq!(first["items"], json!(newest_first[0..2]));
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(cursor, id(&newest_first[1]));
    let second = get(&app, &format!("{path}?limit=2&cursor={cursor}"), token).await;
    assert_eq!(second["items"], json!(newest_first[2..4]));
    let cursor = second["next_cursor"].as_str().unwrap().to_owned();
    let last = get(&app, &format!("{path}?limit=2&cursor={cursor}"), token).await;
    assert_eq!(last, json!({"items": newest_first[4..], "next_cursor": null}));

    let shampoo_only = get(&app, &format!("{path}?product_id={shampoo_id}"), token).await;
    assert_eq!(
        shampoo_only,
        json!({"items": [made[3], made[2], made[0]], "next_cursor": null})
    );
    for limit in ["0", "201"] {
        let refused = call(&app, Method::GET, &format!("{path}?limit={limit}"), token, None).await;
        assert_eq!(invalid_fields(refused).await, ["limit"], "{limit}");
    }
    let unknown = call(
        &app,
        Method::GET,
        &format!("{path}?product_id={}", uuid::Uuid::now_v7()),
        token,
        None,
    )
    .await;
    problem(unknown, 404, "not_found").await;
    app.stop().await;
}

#[tokio::test]
async fn a_retried_movement_with_the_same_idempotency_key_moves_stock_once() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let product_id = id(&post(&app, "/api/v1/products", token, shampoo()).await);
    let body = json!({"product_id": product_id, "kind": "purchase", "quantity": 6});
    let send = |body: Value| {
        app.authed(Method::POST, &movements_path(&owner), token)
            .header("Idempotency-Key", "purchase-bill-4471")
            .json(&body)
            .send()
    };
    let first = expect(send(body.clone()).await.unwrap(), 201).await;
    let retried = expect(send(body.clone()).await.unwrap(), 201).await;
    assert_eq!(retried, first);
    let mut other = body.clone();
    other["quantity"] = json!(7);
    problem(send(other).await.unwrap(), 409, "idempotency_key_reused").await;
    assert_eq!(quantity(&app, &owner, &product_id).await, 6);
    assert_eq!(count(&app, "SELECT count(*) FROM stock_movements", &[]).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_internal_uses_of_one_from_ten_leave_zero_with_ten_refusals() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let product_id = id(&post(&app, "/api/v1/products", &owner.access_token, shampoo()).await);
    moved(&app, &owner, &product_id, "purchase", 10).await;

    // Twenty requests at once, each on its own task.
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let request = app
                .authed(Method::POST, &movements_path(&owner), &owner.access_token)
                .json(&json!({"product_id": product_id, "kind": "internal_use", "quantity": -1}));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body["code"].as_str().map(str::to_owned))
            })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::new();
    for attempt in attempts {
        *answers.entry(attempt.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        answers,
        [
            ((201, None), 10),
            ((409, Some("insufficient_stock".to_owned())), 10)
        ]
        .into()
    );
    assert_eq!(quantity(&app, &owner, &product_id).await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM stock_movements WHERE kind = 'internal_use'",
            &[]
        )
        .await,
        10
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_events WHERE action = 'stock.moved'",
            &[]
        )
        .await,
        11
    );
    app.stop().await;
}

// ---------------------------------------------------------------- who may, and whose

#[tokio::test]
async fn a_receptionist_reads_products_and_stock_but_cannot_change_them() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let product = post(&app, "/api/v1/products", &owner.access_token, shampoo()).await;
    let product_id = id(&product);
    moved(&app, &owner, &product_id, "purchase", 3).await;
    let (_, receptionist, _) = app
        .add_member(&owner.access_token, &owner.tenant_id, &["receptionist"])
        .await;
    let path = format!("/api/v1/products/{product_id}");
    assert_eq!(get(&app, &path, &receptionist).await, product);
    assert_eq!(
        get(&app, "/api/v1/products", &receptionist).await,
        json!({"items": [product]})
    );
    assert_eq!(
        get(&app, &stock_path(&owner), &receptionist).await["items"][0]["quantity"],
        3
    );

    let refused = call(
        &app,
        Method::PATCH,
        &path,
        &receptionist,
        Some(json!({"price_paise": 100})),
    )
    .await;
    let body = problem(refused, 403, "permission_denied").await;
    assert!(
        body["detail"].as_str().unwrap().contains("products:manage"),
        "{body}"
    );
    for (method, path, body, permission) in [
        (
            Method::POST,
            "/api/v1/products".to_owned(),
            json!({"sku": "X-1", "name": "Gel", "hsn_code": "3305", "price_paise": 100}),
            "products:manage",
        ),
        (
            Method::POST,
            movements_path(&owner),
            json!({"product_id": product_id, "kind": "internal_use", "quantity": -1}),
            "stock:manage",
        ),
        (Method::GET, movements_path(&owner), Value::Null, "stock:manage"),
    ] {
        let body = (!body.is_null()).then_some(body);
        let refused = call(&app, method, &path, &receptionist, body).await;
        let answer = problem(refused, 403, "permission_denied").await;
        assert!(
            answer["detail"].as_str().unwrap().contains(permission),
            "{answer}"
        );
    }
    assert_eq!(get(&app, &path, &owner.access_token).await, product);
    assert_eq!(quantity(&app, &owner, &product_id).await, 3);
    app.stop().await;
}

#[tokio::test]
async fn another_businesss_products_and_branches_answer_404_and_change_nothing() {
    let app = app().await;
    let a = app.signup("Lotus Salon").await;
    let b = app.signup("Rose Spa").await;
    let theirs = id(&post(&app, "/api/v1/products", &a.access_token, shampoo()).await);
    moved(&app, &a, &theirs, "purchase", 5).await;
    let mut own = shampoo();
    own["sku"] = json!("RS-1");
    let mine = id(&post(&app, "/api/v1/products", &b.access_token, own).await);
    let rows = stock_rows(&app).await;
    let products_before = count(&app, "SELECT count(*) FROM products", &[]).await;
    let audited = audit_actions(&app, &a.tenant_id).await;

    let movement =
        |product_id: &str| json!({"product_id": product_id, "kind": "internal_use", "quantity": -1});
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/products/{theirs}"), None),
        (
            Method::PATCH,
            format!("/api/v1/products/{theirs}"),
            Some(json!({"price_paise": 1})),
        ),
        (Method::GET, stock_path(&a), None),
        (Method::GET, movements_path(&a), None),
        (Method::POST, movements_path(&a), Some(movement(&mine))),
        (Method::POST, movements_path(&b), Some(movement(&theirs))),
        (
            Method::GET,
            format!("{}?product_id={theirs}", movements_path(&b)),
            None,
        ),
    ] {
        let answer = call(&app, method.clone(), &path, &b.access_token, body).await;
        problem(answer, 404, "not_found").await;
    }
    let listed = get(&app, "/api/v1/products", &b.access_token).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(id(&listed["items"][0]), mine);
    assert_eq!(stock_rows(&app).await, rows);
    assert_eq!(
        count(&app, "SELECT count(*) FROM products", &[]).await,
        products_before
    );
    assert_eq!(audit_actions(&app, &a.tenant_id).await, audited);
    assert_eq!(quantity(&app, &a, &theirs).await, 5);
    app.stop().await;
}

// ---------------------------------------------------------------- the demo salon

#[tokio::test]
async fn the_demo_salon_has_a_retail_shelf_stocked_at_both_branches_once() {
    let db = TestDb::create().await;
    for _ in 0..2 {
        let prepared = ftry::server::prepare(config_for(&db), true).await.unwrap();
        prepared.database.close().await.unwrap();
    }
    let mut conn = db.admin().await;
    let by_code: Vec<(String, i64)> =
        sqlx::query_as("SELECT hsn_code, count(*) FROM products GROUP BY hsn_code ORDER BY hsn_code")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        by_code,
        [
            ("3304".to_owned(), 6),
            ("3305".to_owned(), 5),
            ("3401".to_owned(), 1)
        ]
    );
    let (levels, branches, negative): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT location_id), count(*) FILTER (WHERE quantity < 0) FROM stock_levels",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((levels, branches, negative), (24, 2, 0));
    let opening: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT count(*), sum(quantity) FROM stock_movements WHERE kind = 'purchase' AND note = 'Opening stock'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        opening,
        [(24, 248)],
        "one opening purchase per product and branch"
    );
    // Later demo history (sales at checkout) moves stock only through movements.
    let unexplained: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stock_levels s WHERE s.quantity <> (
            SELECT sum(m.quantity) FROM stock_movements m WHERE m.tenant_id = s.tenant_id
               AND m.location_id = s.location_id AND m.product_id = s.product_id)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(unexplained, 0, "every level is the sum of its movements");
}

#[tokio::test]
async fn the_daily_alert_mails_stock_managers_what_is_at_or_below_its_reorder_level() {
    // Set up without a job worker…
    let app = TestApp::fresh_with(|config| config.rate_limit.enabled = false).await;
    let business = app.signup("Stock Salon").await;
    let token = business.access_token.clone();
    let (_, _, manager) = app.add_member(&token, &business.tenant_id, &["manager"]).await;
    let (_, _, receptionist) = app
        .add_member(&token, &business.tenant_id, &["receptionist"])
        .await;
    let low = product(&app, &token, "SH-1", "Argan Shampoo", 5).await;
    let fine = product(&app, &token, "CO-1", "Argan Conditioner", 2).await;
    moved(&app, &business, &low, "purchase", 3).await;
    moved(&app, &business, &fine, "purchase", 10).await;
    // Another business with nothing low hears nothing.
    let other = app.signup("Calm Spa").await;
    let other_product = product(&app, &other.access_token, "OIL-1", "Massage Oil", 1).await;
    moved(&app, &other, &other_product, "purchase", 6).await;

    let db = app.db.clone().unwrap();
    app.stop().await;
    // …then a node with one: its scheduler enqueues the latest 09:00 run
    // (missed, as no node was running then), which alerts each business.
    let mut config = config_for(&db);
    config.jobs.run_in_serve = true;
    config.jobs.poll_interval_ms = 50;
    let app = TestApp::spawn(config).await;
    let mut conn = db.admin().await;
    let started = std::time::Instant::now();
    loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind IN ('stock.alerts', 'stock.alert') AND state = 'done'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        // The run and one job per business.
        if done == 3 {
            let runs: i64 =
                sqlx::query_scalar("SELECT count(*) FROM schedule_runs WHERE name = 'stock_alerts'")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert_eq!(runs, 1);
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{done} stock jobs done"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let location: String = sqlx::query_scalar("SELECT name FROM locations WHERE id = $1::uuid")
        .bind(&business.location_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let mails: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT tenant_id::text, recipient, subject, body FROM outbox_messages
          WHERE subject LIKE 'Low stock%' ORDER BY recipient",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let body = format!(
        "These products are at or below their reorder level:\n\n{location}:\n  Argan Shampoo (SH-1): 3 left, reorder at 5\n\n\
         Record the purchase when new stock arrives.\n"
    );
    let mut expected: Vec<(String, String, String, String)> = [business.owner_email.clone(), manager]
        .into_iter()
        .map(|to| {
            (
                business.tenant_id.clone(),
                to,
                "Low stock at Stock Salon: 1 product".to_owned(),
                body.clone(),
            )
        })
        .collect();
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(mails, expected);
    assert!(!mails.iter().any(|m| m.1 == receptionist));
    app.stop().await;
}
