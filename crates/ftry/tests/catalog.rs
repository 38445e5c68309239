//! The catalog and schedules API: service categories, services and where
//! they are offered, staff with their services, hours and time off,
//! resources, branch hours, closures and booking rules, tax classes, the
//! demo salon, and all of it under another tenant's ids and a receptionist's
//! token.

mod support;

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde_json::{json, Value};
use support::rest::{app, call, expect, get, id, patch, post, put};
use support::{config_for, count, invalid_fields, problem, Business, TestApp, TestDb};

// ---------------------------------------------------------------- helpers

/// A second branch of `business`.
async fn add_branch(app: &TestApp, business: &Business, name: &str) -> String {
    let branch = post(
        app,
        "/api/v1/locations",
        &business.access_token,
        json!({"name": name, "state_code": "29", "address": "100 Feet Road, Bengaluru"}),
    )
    .await;
    id(&branch)
}

/// Audit actions of a business, oldest first, less those of sign-up and invitations.
async fn audit_actions(app: &TestApp, tenant_id: &str) -> Vec<String> {
    let mut conn = app.db.as_ref().unwrap().admin().await;
    sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE tenant_id = $1::uuid
            AND split_part(action, '.', 1) NOT IN ('tenant', 'user', 'auth')
          ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

fn colour_service(category_id: &str) -> Value {
    json!({
        "name": "Global Colour",
        "description": "Ammonia-free colour.\nIncludes a wash and blow-dry.",
        "category_id": category_id,
        "duration_minutes": 120,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 10,
        "processing_offset_minutes": 30,
        "processing_minutes": 40,
        "price_paise": 350000,
        "tax_code": "999721",
        "resource_type": "styling_chair",
        "online_bookable": true,
        "active": true,
        "display_order": 3,
    })
}

async fn haircut(app: &TestApp, token: &str) -> Value {
    post(
        app,
        "/api/v1/services",
        token,
        json!({"name": "Women's Haircut", "duration_minutes": 45, "price_paise": 90000, "tax_code": "999721"}),
    )
    .await
}

async fn new_staff(app: &TestApp, token: &str, name: &str) -> String {
    id(&post(app, "/api/v1/staff", token, json!({"name": name})).await)
}

// ---------------------------------------------------------------- categories and services

#[tokio::test]
async fn service_categories_round_trip_and_a_taken_name_answers_409() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;

    let hair = post(
        &app,
        "/api/v1/service-categories",
        token,
        json!({"name": "  Hair  ", "display_order": 2}),
    )
    .await;
    assert_eq!(hair, json!({"id": id(&hair), "name": "Hair", "display_order": 2}));
    let nails = post(
        &app,
        "/api/v1/service-categories",
        token,
        json!({"name": "Nails"}),
    )
    .await;
    assert_eq!(
        nails,
        json!({"id": id(&nails), "name": "Nails", "display_order": 0})
    );
    assert_eq!(
        get(&app, "/api/v1/service-categories", token).await,
        json!({"items": [nails, hair]})
    );

    let renamed = patch(
        &app,
        &format!("/api/v1/service-categories/{}", id(&hair)),
        token,
        json!({"name": "Hair & Styling"}),
    )
    .await;
    assert_eq!(
        renamed,
        json!({"id": id(&hair), "name": "Hair & Styling", "display_order": 2})
    );

    let taken = call(
        &app,
        Method::POST,
        "/api/v1/service-categories",
        token,
        Some(json!({"name": "Nails"})),
    )
    .await;
    problem(taken, 409, "category_name_taken").await;
    let taken = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/service-categories/{}", id(&hair)),
        token,
        Some(json!({"name": "Nails"})),
    )
    .await;
    problem(taken, 409, "category_name_taken").await;
    let nameless = call(
        &app,
        Method::POST,
        "/api/v1/service-categories",
        token,
        Some(json!({})),
    )
    .await;
    assert_eq!(invalid_fields(nameless).await, ["name"]);

    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        [
            "service_category.created",
            "service_category.created",
            "service_category.updated"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_service_round_trips_exactly_and_patch_changes_only_what_it_names() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let category = post(
        &app,
        "/api/v1/service-categories",
        token,
        json!({"name": "Colour"}),
    )
    .await;

    let created = post(&app, "/api/v1/services", token, colour_service(&id(&category))).await;
    let service_id = id(&created);
    let mut expected = colour_service(&id(&category));
    expected["id"] = json!(service_id);
    expected["currency"] = json!("INR");
    expected["location_ids"] = json!([owner.location_id]);
    expected["created_at"] = created["created_at"].clone();
    assert!(
        created["created_at"].as_str().unwrap().ends_with('Z'),
        "{created}"
    );
    assert_eq!(created, expected);
    let path = format!("/api/v1/services/{service_id}");
    assert_eq!(get(&app, &path, token).await, expected);

    let changed = patch(
        &app,
        &path,
        token,
        json!({"price_paise": 375000, "processing_offset_minutes": null, "processing_minutes": null,
               "category_id": null, "resource_type": null, "online_bookable": false}),
    )
    .await;
    let mut after = expected.clone();
    after["price_paise"] = json!(375000);
    after["processing_offset_minutes"] = Value::Null;
    after["processing_minutes"] = Value::Null;
    after["category_id"] = Value::Null;
    after["resource_type"] = Value::Null;
    after["online_bookable"] = json!(false);
    assert_eq!(changed, after);
    assert_eq!(patch(&app, &path, token, json!({})).await, after);
    assert_eq!(
        get(&app, "/api/v1/services", token).await,
        json!({"items": [after]})
    );

    let mut conn = app.db.as_ref().unwrap().admin().await;
    let (before_price, after_price): (i64, i64) = sqlx::query_as(
        "SELECT (before->>'price_paise')::bigint, (after->>'price_paise')::bigint FROM audit_events
          WHERE tenant_id = $1::uuid AND action = 'service.updated' ORDER BY id LIMIT 1",
    )
    .bind(&owner.tenant_id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((before_price, after_price), (350000, 375000));
    app.stop().await;
}

#[tokio::test]
async fn a_service_needs_its_required_fields_and_a_known_category() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let empty = call(&app, Method::POST, "/api/v1/services", token, Some(json!({}))).await;
    assert_eq!(
        invalid_fields(empty).await,
        ["name", "duration_minutes", "price_paise", "tax_code"]
    );
    let stranger = app.signup("Rose Spa").await;
    let theirs = post(
        &app,
        "/api/v1/service-categories",
        &stranger.access_token,
        json!({"name": "Colour"}),
    )
    .await;
    let foreign_category = call(
        &app,
        Method::POST,
        "/api/v1/services",
        token,
        Some(colour_service(&id(&theirs))),
    )
    .await;
    problem(foreign_category, 404, "not_found").await;
    let unknown_field = call(
        &app,
        Method::POST,
        "/api/v1/services",
        token,
        Some(
            json!({"name": "Cut", "duration_minutes": 30, "price_paise": 1, "tax_code": "999721", "gst": 18}),
        ),
    )
    .await;
    problem(unknown_field, 422, "invalid_body").await;
    assert_eq!(count(&app, "SELECT count(*) FROM services", &[]).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_processing_gap_must_lie_strictly_inside_the_duration() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let base =
        json!({"name": "Root Touch-up", "duration_minutes": 60, "price_paise": 180000, "tax_code": "999721"});
    for (offset, minutes, field) in [
        (json!(20), json!(40), "processing_offset_minutes"),
        (json!(0), json!(30), "processing_offset_minutes"),
        (json!(50), json!(30), "processing_offset_minutes"),
        (json!(10), json!(-5), "processing_offset_minutes"),
        (json!(20), Value::Null, "processing_minutes"),
    ] {
        let mut body = base.clone();
        body["processing_offset_minutes"] = offset.clone();
        body["processing_minutes"] = minutes.clone();
        let refused = call(&app, Method::POST, "/api/v1/services", token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, [field], "{offset} + {minutes}");
    }
    let mut fits = base.clone();
    fits["processing_offset_minutes"] = json!(20);
    fits["processing_minutes"] = json!(39);
    let service = post(&app, "/api/v1/services", token, fits).await;
    // Shortening the service would push the gap past its end.
    let shortened = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}", id(&service)),
        token,
        Some(json!({"duration_minutes": 59})),
    )
    .await;
    assert_eq!(invalid_fields(shortened).await, ["processing_offset_minutes"]);
    assert_eq!(count(&app, "SELECT count(*) FROM services", &[]).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn zero_negative_and_oversized_durations_buffers_and_prices_are_422() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    for (field, value) in [
        ("duration_minutes", json!(0)),
        ("duration_minutes", json!(-30)),
        ("duration_minutes", json!(4)),
        ("duration_minutes", json!(721)),
        ("buffer_before_minutes", json!(-1)),
        ("buffer_after_minutes", json!(241)),
        ("price_paise", json!(-100)),
        ("price_paise", json!(100_000_001)),
        ("resource_type", json!("Spa Room")),
    ] {
        let mut body =
            json!({"name": "Cut", "duration_minutes": 30, "price_paise": 50000, "tax_code": "999721"});
        body[field] = value.clone();
        let refused = call(&app, Method::POST, "/api/v1/services", token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, [field], "{field} = {value}");
    }
    let service = haircut(&app, token).await;
    let zero = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}", id(&service)),
        token,
        Some(json!({"duration_minutes": 0})),
    )
    .await;
    assert_eq!(invalid_fields(zero).await, ["duration_minutes"]);
    let fraction = call(
        &app,
        Method::POST,
        "/api/v1/services",
        token,
        Some(json!({"name": "Cut", "duration_minutes": 30, "price_paise": 499.5, "tax_code": "999721"})),
    )
    .await;
    problem(fraction, 422, "invalid_body").await;
    assert_eq!(count(&app, "SELECT count(*) FROM services", &[]).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_tax_code_is_422_and_tax_classes_show_todays_rate_to_anyone_signed_in() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    for code in ["999999", "9997", "99972A", ""] {
        let refused = call(
            &app,
            Method::POST,
            "/api/v1/services",
            token,
            Some(json!({"name": "Cut", "duration_minutes": 30, "price_paise": 50000, "tax_code": code})),
        )
        .await;
        assert_eq!(invalid_fields(refused).await, ["tax_code"], "{code}");
    }
    let service = haircut(&app, token).await;
    let refused = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}", id(&service)),
        token,
        Some(json!({"tax_code": "999720"})),
    )
    .await;
    assert_eq!(invalid_fields(refused).await, ["tax_code"]);

    let (_, stylist, _) = app.add_member(token, &owner.tenant_id, &["stylist"]).await;
    let classes = get(&app, "/api/v1/tax-classes", &stylist).await;
    let codes: Vec<(&str, i64, &str)> = classes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap(),
                c["rate_bp"].as_i64().unwrap(),
                c["effective_from"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("3304", 1800, "2017-07-01"),
            ("3305", 500, "2025-09-22"),
            ("3401", 500, "2025-09-22"),
            ("999721", 500, "2025-09-22"),
            ("999722", 500, "2025-09-22"),
            ("999723", 500, "2025-09-22"),
            ("999729", 500, "2025-09-22"),
        ]
    );
    let anonymous = app.get("/api/v1/tax-classes").await;
    problem(anonymous, 401, "unauthenticated").await;
    app.stop().await;
}

#[tokio::test]
async fn services_are_offered_per_branch_and_listed_by_branch_and_state() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let pune = owner.location_id.clone();
    let bengaluru = add_branch(&app, &owner, "Indiranagar").await;
    let everywhere = haircut(&app, token).await;
    let mut ids = vec![pune.clone(), bengaluru.clone()];
    ids.sort();
    assert_eq!(everywhere["location_ids"], json!(ids), "every branch by default");
    let spa_only = post(
        &app,
        "/api/v1/services",
        token,
        json!({"name": "Balinese Massage", "duration_minutes": 90, "price_paise": 480000,
               "tax_code": "999723", "location_ids": [bengaluru, bengaluru]}),
    )
    .await;
    assert_eq!(spa_only["location_ids"], json!([bengaluru]));
    let retired = post(
        &app,
        "/api/v1/services",
        token,
        json!({"name": "Perm", "duration_minutes": 120, "price_paise": 300000, "tax_code": "999721",
               "active": false, "location_ids": [pune]}),
    )
    .await;
    let names = |body: Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(get(&app, &format!("/api/v1/services?location_id={pune}"), token).await),
        ["Perm", "Women's Haircut"]
    );
    assert_eq!(
        names(get(&app, &format!("/api/v1/services?location_id={bengaluru}"), token).await),
        ["Balinese Massage", "Women's Haircut"]
    );
    assert_eq!(
        names(
            get(
                &app,
                &format!("/api/v1/services?location_id={pune}&active=true"),
                token
            )
            .await
        ),
        ["Women's Haircut"]
    );
    assert_eq!(
        names(get(&app, "/api/v1/services?active=false", token).await),
        ["Perm"]
    );

    let moved = patch(
        &app,
        &format!("/api/v1/services/{}", id(&spa_only)),
        token,
        json!({"location_ids": [pune]}),
    )
    .await;
    assert_eq!(moved["location_ids"], json!([pune]));
    let nowhere = patch(
        &app,
        &format!("/api/v1/services/{}", id(&retired)),
        token,
        json!({"location_ids": []}),
    )
    .await;
    assert_eq!(nowhere["location_ids"], json!([]));
    assert_eq!(
        names(get(&app, &format!("/api/v1/services?location_id={pune}"), token).await),
        ["Balinese Massage", "Women's Haircut"]
    );

    let stranger = app.signup("Rose Spa").await;
    let foreign = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}", id(&everywhere)),
        token,
        Some(json!({"location_ids": [pune, stranger.location_id]})),
    )
    .await;
    problem(foreign, 404, "not_found").await;
    assert_eq!(
        get(&app, &format!("/api/v1/services/{}", id(&everywhere)), token).await["location_ids"],
        json!(ids)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_receptionist_reads_the_menu_but_cannot_change_prices_staff_or_hours() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let service = haircut(&app, &owner.access_token).await;
    let staff_id = new_staff(&app, &owner.access_token, "Kavya Iyer").await;
    let (_, receptionist, _) = app
        .add_member(&owner.access_token, &owner.tenant_id, &["receptionist"])
        .await;
    let path = format!("/api/v1/services/{}", id(&service));
    assert_eq!(get(&app, &path, &receptionist).await, service);

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
        body["detail"].as_str().unwrap().contains("services:manage"),
        "{body}"
    );
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/services".to_owned(),
            json!({"name": "Cut", "duration_minutes": 30, "price_paise": 1, "tax_code": "999721"}),
        ),
        (
            Method::PUT,
            format!("/api/v1/staff/{staff_id}/services"),
            json!({"services": [{"service_id": id(&service), "price_paise": 100}]}),
        ),
        (
            Method::PUT,
            format!("/api/v1/staff/{staff_id}/hours"),
            json!({"location_id": owner.location_id, "days": []}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/locations/{}/booking-rules", owner.location_id),
            json!({"online_booking": false}),
        ),
    ] {
        let refused = call(&app, method, &path, &receptionist, Some(body)).await;
        problem(refused, 403, "permission_denied").await;
    }
    assert_eq!(get(&app, &path, &owner.access_token).await, service);
    app.stop().await;
}

// ---------------------------------------------------------------- staff

#[tokio::test]
async fn staff_profiles_round_trip_and_one_account_links_to_one_profile() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let (member_id, _, _) = app.add_member(token, &owner.tenant_id, &["stylist"]).await;

    let kavya = post(
        &app,
        "/api/v1/staff",
        token,
        json!({"name": "Kavya Iyer", "title": "Senior Stylist", "colour": "#7C4DFF", "display_order": 1,
               "bookable_online": false, "user_id": member_id}),
    )
    .await;
    let expected = json!({
        "id": id(&kavya), "user_id": member_id, "name": "Kavya Iyer", "title": "Senior Stylist",
        "colour": "#7c4dff", "display_order": 1, "active": true, "bookable_online": false,
        "created_at": kavya["created_at"],
    });
    assert_eq!(kavya, expected);
    let rohan = post(&app, "/api/v1/staff", token, json!({"name": "Rohan Joshi"})).await;
    assert_eq!(rohan["title"], "");
    assert_eq!(rohan["user_id"], Value::Null);
    assert_eq!(rohan["colour"], "#00897b", "the next palette colour");

    let mut detail = expected.clone();
    detail["services"] = json!([]);
    detail["hours"] = json!([]);
    assert_eq!(
        get(&app, &format!("/api/v1/staff/{}", id(&kavya)), token).await,
        detail
    );
    assert_eq!(
        get(&app, "/api/v1/staff", token).await,
        json!({"items": [rohan, kavya]})
    );

    let taken = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/staff/{}", id(&rohan)),
        token,
        Some(json!({"user_id": member_id})),
    )
    .await;
    problem(taken, 409, "user_already_staff").await;
    let unlinked = patch(
        &app,
        &format!("/api/v1/staff/{}", id(&kavya)),
        token,
        json!({"user_id": null, "active": false, "title": ""}),
    )
    .await;
    let mut after = expected.clone();
    after["user_id"] = Value::Null;
    after["active"] = json!(false);
    after["title"] = json!("");
    assert_eq!(unlinked, after);
    let linked = patch(
        &app,
        &format!("/api/v1/staff/{}", id(&rohan)),
        token,
        json!({"user_id": member_id}),
    )
    .await;
    assert_eq!(linked["user_id"], json!(member_id));

    let stranger = app.signup("Rose Spa").await;
    let foreign_user = call(
        &app,
        Method::POST,
        "/api/v1/staff",
        token,
        Some(json!({"name": "Spy", "user_id": stranger.owner_id})),
    )
    .await;
    problem(foreign_user, 404, "not_found").await;
    for colour in ["7c4dff", "#7c4dfg", "#7c4", "purple", "#7c4dff0"] {
        let refused = call(
            &app,
            Method::POST,
            "/api/v1/staff",
            token,
            Some(json!({"name": "Anjali", "colour": colour})),
        )
        .await;
        assert_eq!(invalid_fields(refused).await, ["colour"], "{colour}");
    }
    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        ["staff.created", "staff.created", "staff.updated", "staff.updated"]
    );
    app.stop().await;
}

#[tokio::test]
async fn staff_perform_services_at_their_own_price_and_duration() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let cut = haircut(&app, token).await;
    let mut colour_body = colour_service("");
    colour_body["category_id"] = Value::Null;
    let colour = post(&app, "/api/v1/services", token, colour_body).await;
    let staff_id = new_staff(&app, token, "Sneha Patwardhan").await;
    let path = format!("/api/v1/staff/{staff_id}/services");

    let performed = put(
        &app,
        &path,
        token,
        json!({"services": [
            {"service_id": id(&cut), "price_paise": 120000},
            {"service_id": id(&colour), "duration_minutes": 100, "price_paise": null},
        ]}),
    )
    .await;
    let expected = json!([
        {"service_id": id(&cut), "name": "Women's Haircut", "price_paise": 120000, "duration_minutes": null},
        {"service_id": id(&colour), "name": "Global Colour", "price_paise": null, "duration_minutes": 100},
    ]);
    assert_eq!(performed, json!({"services": expected}));
    assert_eq!(
        get(&app, &format!("/api/v1/staff/{staff_id}"), token).await["services"],
        expected
    );

    // Her 100 minutes must still contain the processing gap (minutes 30–70).
    let refused = call(
        &app,
        Method::PUT,
        &path,
        token,
        Some(json!({"services": [{"service_id": id(&colour), "duration_minutes": 70}]})),
    )
    .await;
    assert_eq!(invalid_fields(refused).await, ["services[0].duration_minutes"]);
    let refused = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/services/{}", id(&colour)),
        token,
        Some(json!({"processing_offset_minutes": 40, "processing_minutes": 60})),
    )
    .await;
    problem(refused, 409, "staff_duration_too_short").await;
    let refused = call(
        &app,
        Method::PUT,
        &path,
        token,
        Some(json!({"services": [
            {"service_id": id(&cut)}, {"service_id": id(&cut), "price_paise": -1, "duration_minutes": 0},
        ]})),
    )
    .await;
    assert_eq!(
        invalid_fields(refused).await,
        [
            "services[1].service_id",
            "services[1].price_paise",
            "services[1].duration_minutes"
        ]
    );
    let stranger = app.signup("Rose Spa").await;
    let theirs = haircut(&app, &stranger.access_token).await;
    let foreign = call(
        &app,
        Method::PUT,
        &path,
        token,
        Some(json!({"services": [{"service_id": id(&theirs)}]})),
    )
    .await;
    problem(foreign, 404, "not_found").await;
    let missing = call(&app, Method::PUT, &path, token, Some(json!({}))).await;
    assert_eq!(invalid_fields(missing).await, ["services"]);
    assert_eq!(
        get(&app, &format!("/api/v1/staff/{staff_id}"), token).await["services"],
        expected,
        "refused changes change nothing"
    );

    assert_eq!(
        put(&app, &path, token, json!({"services": []})).await,
        json!({"services": []})
    );
    assert_eq!(
        audit_actions(&app, &owner.tenant_id)
            .await
            .iter()
            .filter(|a| a.starts_with("staff.services"))
            .count(),
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn staff_hours_replace_one_branch_and_overlaps_answer_422_or_409() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let pune = owner.location_id.clone();
    let bengaluru = add_branch(&app, &owner, "Indiranagar").await;
    let staff_id = new_staff(&app, token, "Farah Sheikh").await;
    let path = format!("/api/v1/staff/{staff_id}/hours");

    let days = json!([
        {"weekday": 6, "work": [["18:00", "24:00"]], "breaks": []},
        {"weekday": 2, "work": [["14:00", "19:00"], ["09:00", "13:00"]], "breaks": [["16:00", "16:15"]]},
    ]);
    let week = put(&app, &path, token, json!({"location_id": pune, "days": days})).await;
    let sorted = json!([
        {"weekday": 2, "work": [["09:00", "13:00"], ["14:00", "19:00"]], "breaks": [["16:00", "16:15"]]},
        {"weekday": 6, "work": [["18:00", "24:00"]], "breaks": []},
    ]);
    assert_eq!(week, json!({"location_id": pune, "days": sorted}));

    // Replacing the Pune week keeps nothing of the old one.
    let tuesday_to_thursday = json!([
        {"weekday": 2, "work": [["10:00", "19:00"]], "breaks": [["14:00", "14:45"]]},
        {"weekday": 3, "work": [["10:00", "14:00"]], "breaks": []},
        {"weekday": 4, "work": [["10:00", "19:00"]], "breaks": [["14:00", "14:45"]]},
    ]);
    put(
        &app,
        &path,
        token,
        json!({"location_id": pune, "days": tuesday_to_thursday}),
    )
    .await;

    for (days, field) in [
        (
            json!([{"weekday": 5, "work": [["09:00", "13:00"], ["12:30", "18:00"]]}]),
            "days[0].work",
        ),
        (
            json!([{"weekday": 5, "work": [["09:00", "13:00"]], "breaks": [["12:45", "13:15"]]}]),
            "days[0].breaks",
        ),
        (
            json!([{"weekday": 5, "work": [["09:00", "13:00"]], "breaks": [["10:00", "10:30"], ["10:15", "10:45"]]}]),
            "days[0].breaks",
        ),
        (
            json!([{"weekday": 5, "work": [["19:00", "09:00"]]}]),
            "days[0].work[0]",
        ),
        (
            json!([{"weekday": 5, "work": [["09:00", "24:30"]]}]),
            "days[0].work[0]",
        ),
        (
            json!([{"weekday": 5, "work": [["9:00", "13:00"]]}]),
            "days[0].work[0]",
        ),
        (json!([{"weekday": 8, "work": []}]), "days[0].weekday"),
        (
            json!([{"weekday": 5, "work": []}, {"weekday": 5, "work": []}]),
            "days[1].weekday",
        ),
    ] {
        let refused = call(
            &app,
            Method::PUT,
            &path,
            token,
            Some(json!({"location_id": bengaluru, "days": days})),
        )
        .await;
        assert_eq!(invalid_fields(refused).await, [field], "{days}");
    }

    // Wednesday 12:00–15:00 in Bengaluru overlaps Wednesday 10:00–14:00 in Pune.
    let clash = call(
        &app,
        Method::PUT,
        &path,
        token,
        Some(json!({"location_id": bengaluru, "days": [{"weekday": 3, "work": [["12:00", "15:00"]]}]})),
    )
    .await;
    let body = problem(clash, 409, "staff_hours_overlap").await;
    assert!(
        body["detail"].as_str().unwrap().contains("another branch"),
        "{body}"
    );
    let weekend = json!([
        {"weekday": 3, "work": [["14:00", "18:00"]], "breaks": []},
        {"weekday": 5, "work": [["10:00", "19:00"]], "breaks": [["14:00", "14:45"]]},
    ]);
    put(
        &app,
        &path,
        token,
        json!({"location_id": bengaluru, "days": weekend}),
    )
    .await;

    let mut expected = vec![
        json!({"location_id": pune, "days": tuesday_to_thursday}),
        json!({"location_id": bengaluru, "days": weekend}),
    ];
    expected.sort_by_key(|s| s["location_id"].as_str().unwrap().to_owned());
    assert_eq!(
        get(&app, &format!("/api/v1/staff/{staff_id}"), token).await["hours"],
        json!(expected)
    );

    let stranger = app.signup("Rose Spa").await;
    let foreign = call(
        &app,
        Method::PUT,
        &path,
        token,
        Some(json!({"location_id": stranger.location_id, "days": []})),
    )
    .await;
    problem(foreign, 404, "not_found").await;
    let missing = call(&app, Method::PUT, &path, token, Some(json!({}))).await;
    assert_eq!(invalid_fields(missing).await, ["location_id", "days"]);
    // A week with no days is a week off at that branch.
    assert_eq!(
        put(&app, &path, token, json!({"location_id": bengaluru, "days": []})).await,
        json!({"location_id": bengaluru, "days": []})
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM staff_hours", &[]).await,
        5,
        "Pune's three days: 3 work + 2 breaks"
    );
    assert_eq!(
        audit_actions(&app, &owner.tenant_id)
            .await
            .iter()
            .filter(|a| *a == "staff.hours_replaced")
            .count(),
        4
    );
    app.stop().await;
}

#[tokio::test]
async fn overlapping_time_off_answers_409_and_the_list_follows_the_window() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let staff_id = new_staff(&app, token, "Anjali Nair").await;
    let path = format!("/api/v1/staff/{staff_id}/time-off");

    let doctor = post(
        &app,
        &path,
        token,
        json!({"starts_at": "2026-12-01T10:00:00+05:30", "ends_at": "2026-12-01T14:00:00+05:30",
               "reason": "Doctor's appointment"}),
    )
    .await;
    assert_eq!(
        doctor,
        json!({"id": id(&doctor), "staff_id": staff_id, "starts_at": "2026-12-01T04:30:00Z",
               "ends_at": "2026-12-01T08:30:00Z", "reason": "Doctor's appointment",
               "created_at": doctor["created_at"]})
    );
    let overlapping = call(
        &app,
        Method::POST,
        &path,
        token,
        Some(json!({"starts_at": "2026-12-01T13:00:00+05:30", "ends_at": "2026-12-01T18:00:00+05:30"})),
    )
    .await;
    problem(overlapping, 409, "time_off_overlaps").await;
    // The end is excluded, so time off may start exactly when another ends.
    let afternoon = post(
        &app,
        &path,
        token,
        json!({"starts_at": "2026-12-01T08:30:00Z", "ends_at": "2026-12-01T12:30:00Z"}),
    )
    .await;
    assert_eq!(afternoon["reason"], "");

    let ids = |body: Value| -> Vec<String> { body["items"].as_array().unwrap().iter().map(id).collect() };
    assert_eq!(ids(get(&app, &path, token).await), [id(&doctor), id(&afternoon)]);
    assert_eq!(
        ids(get(
            &app,
            &format!("{path}?from=2026-12-01T00:00:00Z&to=2026-12-01T08:00:00Z"),
            token
        )
        .await),
        [id(&doctor)]
    );
    assert_eq!(
        ids(get(&app, &format!("{path}?from=2026-12-01T08:30:00Z"), token).await),
        [id(&afternoon)]
    );
    assert_eq!(
        ids(get(&app, &format!("{path}?to=2026-12-01T04:30:00Z"), token).await),
        Vec::<String>::new()
    );
    let reversed = call(
        &app,
        Method::GET,
        &format!("{path}?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"),
        token,
        None,
    )
    .await;
    assert_eq!(invalid_fields(reversed).await, ["to"]);

    for (body, fields) in [
        (
            json!({"starts_at": "2026-12-05T10:00:00Z", "ends_at": "2026-12-05T10:00:00Z"}),
            vec!["ends_at"],
        ),
        (
            json!({"starts_at": "2026-12-05T10:00:00Z", "ends_at": "2028-12-05T10:00:00Z"}),
            vec!["ends_at"],
        ),
        (json!({"reason": "Leave"}), vec!["starts_at", "ends_at"]),
    ] {
        let refused = call(&app, Method::POST, &path, token, Some(body.clone())).await;
        assert_eq!(invalid_fields(refused).await, fields, "{body}");
    }
    let not_a_time = call(
        &app,
        Method::POST,
        &path,
        token,
        Some(json!({"starts_at": "tomorrow", "ends_at": "2026-12-05T10:00:00Z"})),
    )
    .await;
    problem(not_a_time, 422, "invalid_body").await;

    let one = format!("{path}/{}", id(&doctor));
    expect(call(&app, Method::DELETE, &one, token, None).await, 204).await;
    problem(
        call(&app, Method::DELETE, &one, token, None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(ids(get(&app, &path, token).await), [id(&afternoon)]);
    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        [
            "staff.created",
            "staff.time_off_added",
            "staff.time_off_added",
            "staff.time_off_removed"
        ]
    );
    app.stop().await;
}

// ---------------------------------------------------------------- resources

#[tokio::test]
async fn resources_round_trip_and_one_at_another_tenants_branch_is_404() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let bengaluru = add_branch(&app, &owner, "Indiranagar").await;

    let room = post(
        &app,
        "/api/v1/resources",
        token,
        json!({"location_id": owner.location_id, "name": "Lotus Spa Room", "resource_type": "spa_room"}),
    )
    .await;
    assert_eq!(
        room,
        json!({"id": id(&room), "location_id": owner.location_id, "name": "Lotus Spa Room",
               "resource_type": "spa_room", "capacity": 1, "active": true, "display_order": 0})
    );
    let station = post(
        &app,
        "/api/v1/resources",
        token,
        json!({"location_id": bengaluru, "name": "Nail Station", "resource_type": "nail_station",
               "capacity": 2, "display_order": 5}),
    )
    .await;
    let moved = patch(
        &app,
        &format!("/api/v1/resources/{}", id(&room)),
        token,
        json!({"location_id": bengaluru, "name": "Jasmine Spa Room", "active": false}),
    )
    .await;
    assert_eq!(
        moved,
        json!({"id": id(&room), "location_id": bengaluru, "name": "Jasmine Spa Room",
               "resource_type": "spa_room", "capacity": 1, "active": false, "display_order": 0})
    );
    assert_eq!(
        get(&app, &format!("/api/v1/resources?location_id={bengaluru}"), token).await,
        json!({"items": [moved, station]})
    );
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/resources?location_id={}", owner.location_id),
            token
        )
        .await,
        json!({"items": []})
    );

    let stranger = app.signup("Rose Spa").await;
    let foreign = call(
        &app,
        Method::POST,
        "/api/v1/resources",
        token,
        Some(json!({"location_id": stranger.location_id, "name": "Chair", "resource_type": "styling_chair"})),
    )
    .await;
    problem(foreign, 404, "not_found").await;
    let foreign = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/resources/{}", id(&station)),
        token,
        Some(json!({"location_id": stranger.location_id})),
    )
    .await;
    problem(foreign, 404, "not_found").await;
    for (field, value) in [
        ("capacity", json!(0)),
        ("capacity", json!(101)),
        ("resource_type", json!("Spa Room")),
        ("name", json!("   ")),
    ] {
        let mut body =
            json!({"location_id": owner.location_id, "name": "Chair", "resource_type": "styling_chair"});
        body[field] = value.clone();
        let refused = call(&app, Method::POST, "/api/v1/resources", token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, [field], "{field} = {value}");
    }
    let missing = call(&app, Method::POST, "/api/v1/resources", token, Some(json!({}))).await;
    assert_eq!(
        invalid_fields(missing).await,
        ["location_id", "name", "resource_type"]
    );
    assert_eq!(count(&app, "SELECT count(*) FROM resources", &[]).await, 2);
    assert_eq!(
        get(&app, "/api/v1/resources", &stranger.access_token).await,
        json!({"items": []})
    );
    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        [
            "location.created",
            "resource.created",
            "resource.created",
            "resource.updated"
        ]
    );
    app.stop().await;
}

// ---------------------------------------------------------------- branch schedules

#[tokio::test]
async fn branch_hours_closures_and_booking_rules_round_trip() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let base = format!("/api/v1/locations/{}", owner.location_id);
    assert_eq!(
        get(&app, &format!("{base}/hours"), token).await,
        json!({"location_id": owner.location_id, "timezone": "Asia/Kolkata", "days": []})
    );

    let mut days: Vec<Value> = (2..=7)
        .map(|weekday| json!({"weekday": weekday, "work": [["10:00", "20:00"]]}))
        .collect();
    days[5] = json!({"weekday": 7, "work": [["10:00", "14:00"], ["15:00", "24:00"]]});
    let hours = json!({"location_id": owner.location_id, "timezone": "Asia/Kolkata", "days": days});
    assert_eq!(
        put(&app, &format!("{base}/hours"), token, json!({"days": days})).await,
        hours
    );
    assert_eq!(get(&app, &format!("{base}/hours"), token).await, hours);
    let refused = call(
        &app,
        Method::PUT,
        &format!("{base}/hours"),
        token,
        Some(json!({"days": [{"weekday": 1, "work": [["10:00", "20:00"], ["19:00", "21:00"]]}]})),
    )
    .await;
    assert_eq!(invalid_fields(refused).await, ["days[0].work"]);
    let breaks = call(
        &app,
        Method::PUT,
        &format!("{base}/hours"),
        token,
        Some(json!({"days": [{"weekday": 1, "work": [["10:00", "20:00"]], "breaks": [["13:00", "14:00"]]}]})),
    )
    .await;
    problem(breaks, 422, "invalid_body").await;
    let missing = call(
        &app,
        Method::PUT,
        &format!("{base}/hours"),
        token,
        Some(json!({})),
    )
    .await;
    assert_eq!(invalid_fields(missing).await, ["days"]);
    assert_eq!(get(&app, &format!("{base}/hours"), token).await, hours);

    let diwali = post(
        &app,
        &format!("{base}/closures"),
        token,
        json!({"first_day": "2026-11-08", "last_day": "2026-11-09", "reason": "Diwali"}),
    )
    .await;
    assert_eq!(
        diwali,
        json!({"id": id(&diwali), "location_id": owner.location_id, "first_day": "2026-11-08",
               "last_day": "2026-11-09", "reason": "Diwali"})
    );
    let holi = post(
        &app,
        &format!("{base}/closures"),
        token,
        json!({"first_day": "2027-03-22", "last_day": "2027-03-22"}),
    )
    .await;
    assert_eq!(
        get(&app, &format!("{base}/closures"), token).await,
        json!({"items": [diwali, holi]})
    );
    for (body, fields) in [
        (
            json!({"first_day": "2026-11-09", "last_day": "2026-11-08"}),
            vec!["last_day"],
        ),
        (
            json!({"first_day": "2026-01-01", "last_day": "2027-01-02"}),
            vec!["last_day"],
        ),
        (json!({"reason": "Renovation"}), vec!["first_day", "last_day"]),
    ] {
        let refused = call(&app, Method::POST, &format!("{base}/closures"), token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, fields);
    }
    let one = format!("{base}/closures/{}", id(&diwali));
    expect(call(&app, Method::DELETE, &one, token, None).await, 204).await;
    problem(
        call(&app, Method::DELETE, &one, token, None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        get(&app, &format!("{base}/closures"), token).await,
        json!({"items": [holi]})
    );

    let rules = format!("{base}/booking-rules");
    assert_eq!(
        get(&app, &rules, token).await,
        json!({"online_booking": true, "min_notice_minutes": 60, "max_days_ahead": 60,
               "slot_step_minutes": 15, "cancellation_window_minutes": 240})
    );
    let changed = json!({"online_booking": false, "min_notice_minutes": 120, "max_days_ahead": 90,
                         "slot_step_minutes": 30, "cancellation_window_minutes": 1440});
    assert_eq!(patch(&app, &rules, token, changed.clone()).await, changed);
    assert_eq!(
        patch(&app, &rules, token, json!({"slot_step_minutes": 10})).await["slot_step_minutes"],
        10
    );
    let refused = call(
        &app,
        Method::PATCH,
        &rules,
        token,
        Some(
            json!({"slot_step_minutes": 7, "max_days_ahead": 400, "min_notice_minutes": -1,
                    "cancellation_window_minutes": 20161}),
        ),
    )
    .await;
    assert_eq!(
        invalid_fields(refused).await,
        [
            "min_notice_minutes",
            "max_days_ahead",
            "slot_step_minutes",
            "cancellation_window_minutes"
        ]
    );
    assert_eq!(get(&app, &rules, token).await["slot_step_minutes"], 10);
    assert_eq!(
        audit_actions(&app, &owner.tenant_id).await,
        [
            "location.hours_replaced",
            "location.closure_added",
            "location.closure_added",
            "location.closure_removed",
            "location.booking_rules_updated",
            "location.booking_rules_updated"
        ]
    );
    app.stop().await;
}

// ---------------------------------------------------------------- hostile input

#[tokio::test]
async fn ten_kilobyte_texts_are_refused_with_422_and_write_nothing() {
    let app = app().await;
    let owner = app.signup("Lotus Salon").await;
    let token = &owner.access_token;
    let huge = "x".repeat(10 * 1024);
    let service = haircut(&app, token).await;
    let staff_id = new_staff(&app, token, "Rohan Joshi").await;
    let before = count(&app, "SELECT count(*) FROM audit_events", &[]).await;
    let cases = [
        (
            Method::POST,
            "/api/v1/service-categories".to_owned(),
            json!({"name": huge}),
            "name",
        ),
        (
            Method::POST,
            "/api/v1/services".to_owned(),
            json!({"name": huge, "duration_minutes": 30, "price_paise": 1, "tax_code": "999721"}),
            "name",
        ),
        (
            Method::PATCH,
            format!("/api/v1/services/{}", id(&service)),
            json!({"description": huge}),
            "description",
        ),
        (
            Method::PATCH,
            format!("/api/v1/services/{}", id(&service)),
            json!({"resource_type": huge}),
            "resource_type",
        ),
        (
            Method::POST,
            "/api/v1/staff".to_owned(),
            json!({"name": huge}),
            "name",
        ),
        (
            Method::PATCH,
            format!("/api/v1/staff/{staff_id}"),
            json!({"title": huge}),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/resources".to_owned(),
            json!({"location_id": owner.location_id, "name": huge, "resource_type": "spa_room"}),
            "name",
        ),
        (
            Method::POST,
            format!("/api/v1/staff/{staff_id}/time-off"),
            json!({"starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-02T00:00:00Z", "reason": huge}),
            "reason",
        ),
        (
            Method::POST,
            format!("/api/v1/locations/{}/closures", owner.location_id),
            json!({"first_day": "2026-12-01", "last_day": "2026-12-01", "reason": huge}),
            "reason",
        ),
        (
            Method::PUT,
            format!("/api/v1/staff/{staff_id}/hours"),
            json!({"location_id": owner.location_id, "days": [{"weekday": 1, "work": [[huge, "10:00"]]}]}),
            "days[0].work[0]",
        ),
    ];
    for (method, path, body, field) in cases {
        let refused = call(&app, method.clone(), &path, token, Some(body)).await;
        assert_eq!(invalid_fields(refused).await, [field], "{method} {path}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM audit_events", &[]).await,
        before
    );
    assert_eq!(
        get(&app, &format!("/api/v1/services/{}", id(&service)), token).await,
        service
    );
    app.stop().await;
}

/// One of every record of the catalog and schedules, owned by `business`.
async fn fixtures(app: &TestApp, business: &Business) -> HashMap<&'static str, String> {
    let token = &business.access_token;
    let category = post(app, "/api/v1/service-categories", token, json!({"name": "Hair"})).await;
    let service = haircut(app, token).await;
    let staff_id = new_staff(app, token, "Kavya Iyer").await;
    put(
        app,
        &format!("/api/v1/staff/{staff_id}/services"),
        token,
        json!({"services": [{"service_id": id(&service)}]}),
    )
    .await;
    put(
        app,
        &format!("/api/v1/staff/{staff_id}/hours"),
        token,
        json!({"location_id": business.location_id, "days": [{"weekday": 2, "work": [["10:00", "19:00"]]}]}),
    )
    .await;
    let time_off = post(
        app,
        &format!("/api/v1/staff/{staff_id}/time-off"),
        token,
        json!({"starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-02T00:00:00Z"}),
    )
    .await;
    let resource = post(
        app,
        "/api/v1/resources",
        token,
        json!({"location_id": business.location_id, "name": "Chair 1", "resource_type": "styling_chair"}),
    )
    .await;
    put(
        app,
        &format!("/api/v1/locations/{}/hours", business.location_id),
        token,
        json!({"days": [{"weekday": 2, "work": [["10:00", "20:00"]]}]}),
    )
    .await;
    let closure = post(
        app,
        &format!("/api/v1/locations/{}/closures", business.location_id),
        token,
        json!({"first_day": "2026-11-08", "last_day": "2026-11-09"}),
    )
    .await;
    HashMap::from([
        ("category_id", id(&category)),
        ("service_id", id(&service)),
        ("staff_id", staff_id),
        ("time_off_id", id(&time_off)),
        ("resource_id", id(&resource)),
        ("location_id", business.location_id.clone()),
        ("closure_id", id(&closure)),
    ])
}

fn fill(path: &str, ids: &HashMap<&'static str, String>) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => ids
                    .get(name)
                    .unwrap_or_else(|| panic!("no fixture for `{name}` in {path}"))
                    .clone(),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Rows of every catalog and schedule table, per table.
async fn catalog_rows(app: &TestApp, tenant_id: &str) -> BTreeMap<String, i64> {
    let mut rows = BTreeMap::new();
    for table in [
        "service_categories",
        "services",
        "service_locations",
        "staff",
        "staff_services",
        "staff_hours",
        "time_off",
        "resources",
        "location_hours",
        "location_closures",
        "audit_events",
    ] {
        let sql = format!("SELECT count(*) FROM {table} WHERE tenant_id = $1::uuid");
        rows.insert(table.to_owned(), count(app, &sql, &[tenant_id]).await);
    }
    let rules = count(
        app,
        "SELECT count(*) FROM locations WHERE tenant_id = $1::uuid AND slot_step_minutes = 15 AND online_booking",
        &[tenant_id],
    )
    .await;
    rows.insert("default booking rules".into(), rules);
    rows
}

const OWN_PREFIXES: [&str; 7] = [
    "/api/v1/service-categories",
    "/api/v1/services",
    "/api/v1/staff",
    "/api/v1/resources",
    "/api/v1/locations/{location_id}/hours",
    "/api/v1/locations/{location_id}/closures",
    "/api/v1/locations/{location_id}/booking-rules",
];

#[tokio::test]
async fn every_catalog_route_answers_404_for_another_tenants_ids_and_changes_nothing() {
    let app = app().await;
    let a = app.signup("Lotus Salon").await;
    let b = app.signup("Rose Spa").await;
    let a_ids = fixtures(&app, &a).await;
    let b_ids = fixtures(&app, &b).await;
    let before = catalog_rows(&app, &a.tenant_id).await;

    let document = get(&app, "/api/openapi.json", &b.access_token).await;
    let mut swept = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.contains('{') || !OWN_PREFIXES.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            // A well-formed body, so the refusal can only come from the ids.
            let body = (method != Method::GET && method != Method::DELETE).then(|| {
                if path.ends_with("/commission") {
                    json!({"service_commission_bp": 1000, "product_commission_bp": 500})
                } else {
                    json!({})
                }
            });
            let response = call(&app, method.clone(), &fill(path, &a_ids), &b.access_token, body).await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, answer["code"].as_str()),
                (404, Some("not_found")),
                "{method} {path}: {answer}"
            );
            if method == Method::GET {
                let own = call(&app, Method::GET, &fill(path, &b_ids), &b.access_token, None).await;
                assert_eq!(own.status(), 200, "{method} {path} with the caller's own ids");
            }
            swept.push(format!("{method} {path}"));
        }
    }
    swept.sort();
    assert_eq!(
        swept,
        [
            "DELETE /api/v1/locations/{location_id}/closures/{closure_id}",
            "DELETE /api/v1/staff/{staff_id}/time-off/{time_off_id}",
            "GET /api/v1/locations/{location_id}/booking-rules",
            "GET /api/v1/locations/{location_id}/closures",
            "GET /api/v1/locations/{location_id}/hours",
            "GET /api/v1/services/{service_id}",
            "GET /api/v1/staff/{staff_id}",
            "GET /api/v1/staff/{staff_id}/time-off",
            "PATCH /api/v1/locations/{location_id}/booking-rules",
            "PATCH /api/v1/resources/{resource_id}",
            "PATCH /api/v1/service-categories/{category_id}",
            "PATCH /api/v1/services/{service_id}",
            "PATCH /api/v1/staff/{staff_id}",
            "POST /api/v1/locations/{location_id}/closures",
            "POST /api/v1/staff/{staff_id}/time-off",
            "PUT /api/v1/locations/{location_id}/hours",
            "PUT /api/v1/staff/{staff_id}/commission",
            "PUT /api/v1/staff/{staff_id}/hours",
            "PUT /api/v1/staff/{staff_id}/services",
        ]
    );

    // A's ids inside B's own writes are just as unknown.
    let token = &b.access_token;
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/services/{}", b_ids["service_id"]),
            json!({"category_id": a_ids["category_id"]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/services/{}", b_ids["service_id"]),
            json!({"location_ids": [a_ids["location_id"]]}),
        ),
        (
            Method::PUT,
            format!("/api/v1/staff/{}/services", b_ids["staff_id"]),
            json!({"services": [{"service_id": a_ids["service_id"]}]}),
        ),
        (
            Method::PUT,
            format!("/api/v1/staff/{}/hours", b_ids["staff_id"]),
            json!({"location_id": a_ids["location_id"], "days": []}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/resources/{}", b_ids["resource_id"]),
            json!({"location_id": a_ids["location_id"]}),
        ),
        (
            Method::POST,
            "/api/v1/staff".to_owned(),
            json!({"name": "Spy", "user_id": a.owner_id}),
        ),
    ] {
        let response = call(&app, method.clone(), &path, token, Some(body)).await;
        problem(response, 404, "not_found").await;
    }
    for list in [
        "/api/v1/service-categories",
        "/api/v1/services",
        "/api/v1/staff",
        "/api/v1/resources",
    ] {
        assert_eq!(
            get(&app, list, token).await["items"].as_array().unwrap().len(),
            1,
            "{list} lists only B's own record"
        );
    }
    let foreign_filter = get(
        &app,
        &format!("/api/v1/services?location_id={}", a.location_id),
        token,
    )
    .await;
    assert_eq!(foreign_filter, json!({"items": []}));
    assert_eq!(catalog_rows(&app, &a.tenant_id).await, before);
    app.stop().await;
}

// ---------------------------------------------------------------- the demo salon

async fn demo_counts(db: &TestDb) -> BTreeMap<&'static str, i64> {
    let mut conn = db.admin().await;
    let mut counts = BTreeMap::new();
    for table in [
        "service_categories",
        "services",
        "service_locations",
        "staff",
        "staff_services",
        "staff_hours",
        "resources",
        "location_hours",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.insert(table, n);
    }
    counts
}

#[tokio::test]
async fn the_demo_salon_has_8_staff_40_services_in_6_categories_once() {
    let db = TestDb::create().await;
    for _ in 0..2 {
        let prepared = ftry::server::prepare(config_for(&db), true).await.unwrap();
        prepared.database.close().await.unwrap();
        let counts = demo_counts(&db).await;
        assert_eq!(counts["staff"], 8);
        assert_eq!(counts["services"], 40);
        assert_eq!(counts["service_categories"], 6);
        assert_eq!(counts["service_locations"], 80, "every service at both branches");
        assert_eq!(
            counts["resources"], 14,
            "4 chairs, 2 spa rooms and a nail station per branch"
        );
        assert_eq!(counts["location_hours"], 12, "Tuesday to Sunday at both branches");
    }

    let mut conn = db.admin().await;
    let closed_mondays: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM location_hours WHERE weekday = 1 OR opens <> 600 OR closes <> 1200",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(closed_mondays, 0, "10:00–20:00, Monday closed");
    let per_category: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT c.name, min(s.tax_code), count(*) FROM services s JOIN service_categories c
             ON c.tenant_id = s.tenant_id AND c.id = s.category_id
          GROUP BY c.name, c.display_order ORDER BY c.display_order",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let per_category: Vec<(&str, &str, i64)> = per_category
        .iter()
        .map(|(n, t, c)| (n.as_str(), t.as_str(), *c))
        .collect();
    assert_eq!(
        per_category,
        [
            ("Haircuts & Styling", "999721", 8),
            ("Hair Colour", "999721", 8),
            ("Hair Spa & Treatments", "999721", 6),
            ("Nails", "999722", 7),
            ("Facials & Skin", "999722", 7),
            ("Massage & Spa", "999723", 4),
        ]
    );
    let colour_gaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM services s JOIN service_categories c ON c.tenant_id = s.tenant_id
             AND c.id = s.category_id
          WHERE c.name = 'Hair Colour' AND s.processing_minutes IS NOT NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(colour_gaps, 8, "every colour service has a processing gap");
    let (cheapest, dearest): (i64, i64) =
        sqlx::query_as("SELECT min(price_paise), max(price_paise) FROM services")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        (cheapest, dearest),
        (8_000, 750_000),
        "₹80 threading to ₹7,500 balayage"
    );
    let massages_in_rooms: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM services WHERE tax_code = '999723' AND resource_type = 'spa_room'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(massages_in_rooms, 4);
    let stray_breaks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM staff_hours b WHERE b.kind = 'break' AND NOT EXISTS (
            SELECT 1 FROM staff_hours w WHERE w.kind = 'work' AND w.staff_id = b.staff_id
               AND w.location_id = b.location_id AND w.weekday = b.weekday
               AND w.starts <= b.starts AND b.ends <= w.ends)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(stray_breaks, 0, "every lunch break inside working hours");
    let working_on_mondays: i64 = sqlx::query_scalar("SELECT count(*) FROM staff_hours WHERE weekday = 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(working_on_mondays, 0);
    let everyone_works_and_performs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM staff s WHERE EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = s.id)
            AND EXISTS (SELECT 1 FROM staff_services ss WHERE ss.staff_id = s.id)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(everyone_works_and_performs, 8);
    let stylist_profile: String = sqlx::query_scalar(
        "SELECT s.name FROM staff s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
          WHERE u.email = 'stylist@lotus-demo.example'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(stylist_profile, "Kavya Iyer");
}
