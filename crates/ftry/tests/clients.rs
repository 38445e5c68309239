//! Clients over HTTP against a real PostgreSQL: create, read, change, search
//! by name prefix, phone and email; duplicate phones; encryption at rest;
//! tenant isolation; permissions; merging; precise refusals of bad input.

mod support;

use reqwest::{Method, Response};
use serde_json::{json, Value};
use support::{invalid_fields, problem, Business, TestApp};

// ---------------------------------------------------------------- helpers

/// The status must be `status`; the body as JSON.
async fn expect(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn create(app: &TestApp, token: &str, body: Value) -> Response {
    app.authed(Method::POST, "/api/v1/clients", token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn created(app: &TestApp, token: &str, body: Value) -> Value {
    expect(create(app, token, body).await, 201).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    app.authed(Method::GET, path, token).send().await.unwrap()
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> Response {
    app.authed(Method::PATCH, &format!("/api/v1/clients/{id}"), token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn merge(app: &TestApp, token: &str, target: &str, duplicate: &str) -> Response {
    app.authed(Method::POST, &format!("/api/v1/clients/{target}/merge"), token)
        .json(&json!({ "duplicate_id": duplicate }))
        .send()
        .await
        .unwrap()
}

/// The names of the clients a search finds, in order.
async fn search(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let page = expect(get(app, token, &format!("/api/v1/clients?{query}")).await, 200).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn id(client: &Value) -> &str {
    client["id"].as_str().unwrap()
}

async fn business(app: &TestApp) -> Business {
    app.signup("Lotus Salon").await
}

// ---------------------------------------------------------------- behaviour

#[tokio::test]
async fn a_client_is_created_read_changed_and_found_by_name_phone_and_email() {
    let app = TestApp::fresh().await;
    let owner = business(&app).await;
    let token = &owner.access_token;
    let client = created(
        &app,
        token,
        json!({
            "name": "  Priya Sharma ",
            "phone": "98765 43210",
            "email": "Priya.Sharma@Example.IN",
            "gender": "female",
            "birthday": "1992-04-18",
            "notes": "Prefers morning slots.\nLikes a quiet chair.",
            "tags": ["VIP", " bridal ", "vip"],
            "allergies": "Ammonia-based colour",
            "marketing_consent": true,
            "consent_channel": "whatsapp",
        }),
    )
    .await;
    assert_eq!(client["name"], "Priya Sharma");
    assert_eq!(client["phone"], "+919876543210");
    assert_eq!(client["email"], "priya.sharma@example.in");
    assert_eq!(client["birthday"], "1992-04-18");
    assert_eq!(client["tags"], json!(["vip", "bridal"]));
    assert_eq!(client["consent_channel"], "whatsapp");
    assert!(client["consent_at"].is_string());
    assert_eq!(client["merged_into"], Value::Null);
    let client_id = id(&client).to_owned();

    let read = expect(
        get(&app, token, &format!("/api/v1/clients/{client_id}")).await,
        200,
    )
    .await;
    assert_eq!(read, client);

    let changed = expect(
        patch(
            &app,
            token,
            &client_id,
            json!({ "email": null, "notes": "Prefers evenings.", "tags": ["regular"], "marketing_consent": false }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["email"], Value::Null);
    assert_eq!(changed["notes"], "Prefers evenings.");
    assert_eq!(changed["tags"], json!(["regular"]));
    assert_eq!(changed["marketing_consent"], false);
    assert_eq!(changed["consent_at"], Value::Null);
    assert_eq!(changed["consent_channel"], Value::Null);
    // Absent fields stay as they were.
    assert_eq!(changed["phone"], "+919876543210");
    assert_eq!(changed["birthday"], "1992-04-18");
    assert_eq!(changed["allergies"], "Ammonia-based colour");

    created(
        &app,
        token,
        json!({ "name": "Prakash Rao", "email": "prakash@example.in" }),
    )
    .await;
    created(&app, token, json!({ "name": "Meera Iyer" })).await;
    assert_eq!(search(&app, token, "q=PR").await, ["Prakash Rao", "Priya Sharma"]);
    assert_eq!(search(&app, token, "q=priya%20s").await, ["Priya Sharma"]);
    assert_eq!(search(&app, token, "q=sharma").await, Vec::<String>::new());
    assert_eq!(
        search(&app, token, "phone=%2B91%2098765-43210").await,
        ["Priya Sharma"]
    );
    assert_eq!(
        search(&app, token, "email=PRAKASH@example.in").await,
        ["Prakash Rao"]
    );
    // The cleared email no longer finds anyone.
    assert!(search(&app, token, "email=priya.sharma@example.in")
        .await
        .is_empty());
    assert_eq!(
        search(&app, token, "q=p&phone=9876543210").await,
        ["Priya Sharma"]
    );
    assert!(search(&app, token, "q=meera&phone=9876543210").await.is_empty());
    assert_eq!(
        search(&app, token, "").await,
        ["Meera Iyer", "Prakash Rao", "Priya Sharma"]
    );
}

#[tokio::test]
async fn search_pages_walk_every_client_once_in_name_order() {
    let app = TestApp::fresh().await;
    let owner = business(&app).await;
    let token = &owner.access_token;
    // Equal names are ordered by id, so a page boundary between them loses nothing.
    for name in ["Zoya", "anil", "Bela", "Anil", "anil", "Chitra", "anita"] {
        created(&app, token, json!({ "name": name })).await;
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let query = match &cursor {
            Some(c) => format!("/api/v1/clients?limit=2&cursor={c}"),
            None => "/api/v1/clients?limit=2".to_owned(),
        };
        let page = expect(get(&app, token, &query).await, 200).await;
        for item in page["items"].as_array().unwrap() {
            names.push(item["name"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let lowercase: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    assert_eq!(
        lowercase,
        ["anil", "anil", "anil", "anita", "bela", "chitra", "zoya"]
    );
    let an = search(&app, token, "q=ANI&limit=100").await;
    assert_eq!(an.len(), 4);
    invalid_fields(get(&app, token, "/api/v1/clients?limit=0").await).await;
}

#[tokio::test]
async fn a_second_client_with_the_same_phone_is_refused_naming_the_first() {
    let app = TestApp::fresh().await;
    let owner = business(&app).await;
    let token = &owner.access_token;
    let first = created(
        &app,
        token,
        json!({ "name": "Priya Sharma", "phone": "+919876543210" }),
    )
    .await;
    let body = problem(
        create(
            &app,
            token,
            json!({ "name": "P. Sharma", "phone": "09876543210" }),
        )
        .await,
        409,
        "client_exists",
    )
    .await;
    assert_eq!(body["existing_client_id"], id(&first));
    assert_eq!(search(&app, token, "").await, ["Priya Sharma"]);

    // Changing another client to that number is refused the same way.
    let other = created(
        &app,
        token,
        json!({ "name": "Kavya Nair", "phone": "9123456789" }),
    )
    .await;
    let body = problem(
        patch(&app, token, id(&other), json!({ "phone": "98765 43210" })).await,
        409,
        "client_exists",
    )
    .await;
    assert_eq!(body["existing_client_id"], id(&first));
    // Setting a client's own number again is no change at all.
    let same = expect(
        patch(&app, token, id(&first), json!({ "phone": "+91 98765 43210" })).await,
        200,
    )
    .await;
    assert_eq!(same["updated_at"], first["updated_at"]);

    let document = expect(app.get("/api/openapi.json").await, 200).await;
    let conflict = document["paths"]["/api/v1/clients"]["post"]["responses"]["409"]["description"]
        .as_str()
        .unwrap();
    assert!(conflict.contains("existing_client_id"), "{conflict}");
    for schema in [
        "Client",
        "NewClient",
        "ClientChanges",
        "ClientPage",
        "MergeRequest",
    ] {
        assert!(document["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn phone_and_email_are_stored_encrypted_and_never_written_to_the_audit_log() {
    let app = TestApp::fresh().await;
    let owner = business(&app).await;
    let token = &owner.access_token;
    let client = created(
        &app,
        token,
        json!({ "name": "Priya Sharma", "phone": "9876543210", "email": "priya.sharma@example.in" }),
    )
    .await;
    expect(
        patch(
            &app,
            token,
            id(&client),
            json!({ "phone": "9123456789", "email": "priya@example.in" }),
        )
        .await,
        200,
    )
    .await;

    let mut admin = app.db.as_ref().unwrap().admin().await;
    let (row,): (String,) = sqlx::query_as("SELECT row_to_json(c)::text FROM clients c WHERE id = $1::uuid")
        .bind(id(&client))
        .fetch_one(&mut admin)
        .await
        .unwrap();
    type Stored = (Vec<u8>, String, Vec<u8>, Vec<u8>, String, Vec<u8>);
    let (phone, phone_key, phone_index, email, email_key, email_index): Stored = sqlx::query_as(
        "SELECT phone_ciphertext, phone_key_id, phone_index, email_ciphertext, email_key_id, email_index
           FROM clients WHERE id = $1::uuid",
    )
    .bind(id(&client))
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!((phone_key.as_str(), email_key.as_str()), ("test-1", "test-1"));
    assert_eq!((phone_index.len(), email_index.len()), (32, 32));
    // nonce (12) + text + tag (16)
    assert_eq!(phone.len(), 12 + "+919123456789".len() + 16);
    assert_eq!(email.len(), 12 + "priya@example.in".len() + 16);
    for needle in ["9123456789", "priya@example", "9876543210", "priya.sharma"] {
        assert!(!row.contains(needle), "{needle} readable in {row}");
        for bytes in [&phone, &email, &phone_index, &email_index] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} readable in the stored bytes"
            );
        }
    }

    let (events,): (String,) = sqlx::query_as(
        "SELECT json_agg(json_build_object('action', action, 'before', before, 'after', after)
                         ORDER BY id)::text
           FROM audit_events WHERE resource_type = 'client' AND resource_id = $1",
    )
    .bind(id(&client))
    .fetch_one(&mut admin)
    .await
    .unwrap();
    let events: Value = serde_json::from_str(&events).unwrap();
    assert_eq!(
        events,
        json!([
            { "action": "client.created", "before": null, "after": { "fields": ["name", "phone", "email"] } },
            { "action": "client.updated", "before": null, "after": { "changed": ["phone", "email"] } },
        ])
    );
}

#[tokio::test]
async fn another_business_cannot_see_or_change_a_client() {
    let app = TestApp::fresh().await;
    let lotus = app.signup("Lotus Salon").await;
    let jasmine = app.signup("Jasmine Spa").await;
    let client = created(
        &app,
        &lotus.access_token,
        json!({ "name": "Priya Sharma", "phone": "9876543210", "email": "priya@example.in" }),
    )
    .await;
    let path = format!("/api/v1/clients/{}", id(&client));
    let other = &jasmine.access_token;
    problem(get(&app, other, &path).await, 404, "not_found").await;
    problem(
        patch(&app, other, id(&client), json!({ "name": "Mine now" })).await,
        404,
        "not_found",
    )
    .await;
    let own = created(&app, other, json!({ "name": "Kavya Nair" })).await;
    problem(merge(&app, other, id(&client), id(&own)).await, 404, "not_found").await;
    assert_eq!(
        invalid_fields(merge(&app, other, id(&own), id(&client)).await).await,
        ["duplicate_id"]
    );
    assert_eq!(search(&app, other, "q=priya").await, Vec::<String>::new());
    assert_eq!(
        search(&app, other, "phone=9876543210").await,
        Vec::<String>::new()
    );
    assert_eq!(
        search(&app, other, "email=priya@example.in").await,
        Vec::<String>::new()
    );
    // The same person may be a client of both businesses.
    created(&app, other, json!({ "name": "Priya S", "phone": "9876543210" })).await;
    let unchanged = expect(get(&app, &lotus.access_token, &path).await, 200).await;
    assert_eq!(unchanged, client);
}

#[tokio::test]
async fn receptionists_manage_clients_and_stylists_cannot_read_them() {
    let app = TestApp::fresh().await;
    let owner = business(&app).await;
    let (_, receptionist, _) = app
        .add_member(&owner.access_token, &owner.tenant_id, &["receptionist"])
        .await;
    let (_, stylist, _) = app
        .add_member(&owner.access_token, &owner.tenant_id, &["stylist"])
        .await;
    let client = created(&app, &receptionist, json!({ "name": "Priya Sharma" })).await;
    expect(
        patch(&app, &receptionist, id(&client), json!({ "notes": "Walk-in" })).await,
        200,
    )
    .await;
    assert_eq!(search(&app, &receptionist, "q=pri").await, ["Priya Sharma"]);

    let path = format!("/api/v1/clients/{}", id(&client));
    for response in [
        get(&app, &stylist, "/api/v1/clients").await,
        get(&app, &stylist, &path).await,
        create(&app, &stylist, json!({ "name": "Someone" })).await,
        patch(&app, &stylist, id(&client), json!({ "notes": "x" })).await,
    ] {
        problem(response, 403, "permission_denied").await;
    }
}

#[tokio::test]
async fn merging_keeps_the_target_fills_its_gaps_and_hides_the_duplicate() {
    let app = TestApp::fresh().await;
    let owner = business(&app).await;
    let token = &owner.access_token;
    let target = created(
        &app,
        token,
        json!({ "name": "Priya Sharma", "email": "priya@example.in", "notes": "Prefers mornings.",
                "tags": ["vip"], "gender": "female" }),
    )
    .await;
    let duplicate = created(
        &app,
        token,
        json!({ "name": "Priya S", "phone": "9876543210", "email": "p.sharma@example.in",
                "birthday": "1992-04-18", "notes": "Patch test done 2026-10-01.", "tags": ["bridal", "VIP"],
                "gender": "other", "marketing_consent": true, "consent_channel": "paper_form" }),
    )
    .await;
    let earlier = created(&app, token, json!({ "name": "Priya (old card)" })).await;
    expect(merge(&app, token, id(&duplicate), id(&earlier)).await, 200).await;

    let merged = expect(merge(&app, token, id(&target), id(&duplicate)).await, 200).await;
    assert_eq!(merged["id"], target["id"]);
    assert_eq!(merged["name"], "Priya Sharma");
    // The target's own values win; its gaps are filled from the duplicate.
    assert_eq!(merged["email"], "priya@example.in");
    assert_eq!(merged["gender"], "female");
    assert_eq!(merged["phone"], "+919876543210");
    assert_eq!(merged["birthday"], "1992-04-18");
    assert_eq!(merged["tags"], json!(["vip", "bridal"]));
    assert_eq!(
        merged["notes"],
        "Prefers mornings.\n\nPatch test done 2026-10-01."
    );
    assert_eq!(merged["marketing_consent"], true);
    assert_eq!(merged["consent_channel"], "paper_form");

    let hidden = expect(
        get(&app, token, &format!("/api/v1/clients/{}", id(&duplicate))).await,
        200,
    )
    .await;
    assert_eq!(hidden["merged_into"], target["id"]);
    // A record merged into the duplicate earlier now leads to the target.
    let old = expect(
        get(&app, token, &format!("/api/v1/clients/{}", id(&earlier))).await,
        200,
    )
    .await;
    assert_eq!(old["merged_into"], target["id"]);
    assert_eq!(search(&app, token, "q=priya").await, ["Priya Sharma"]);
    assert_eq!(search(&app, token, "phone=9876543210").await, ["Priya Sharma"]);
    assert!(search(&app, token, "email=p.sharma@example.in").await.is_empty());
    // The phone now belongs to the target: a new client cannot take it.
    let body = problem(
        create(&app, token, json!({ "name": "Priya", "phone": "9876543210" })).await,
        409,
        "client_exists",
    )
    .await;
    assert_eq!(body["existing_client_id"], target["id"]);

    problem(
        merge(&app, token, id(&target), id(&duplicate)).await,
        409,
        "client_merged",
    )
    .await;
    problem(
        patch(&app, token, id(&duplicate), json!({ "notes": "x" })).await,
        409,
        "client_merged",
    )
    .await;
    assert_eq!(
        invalid_fields(merge(&app, token, id(&target), id(&target)).await).await,
        ["duplicate_id"]
    );
    problem(
        merge(&app, token, "0190c6d0-0000-7000-8000-000000000000", id(&target)).await,
        404,
        "not_found",
    )
    .await;

    let mut admin = app.db.as_ref().unwrap().admin().await;
    let (after,): (Value,) =
        sqlx::query_as("SELECT after FROM audit_events WHERE action = 'client.merged' AND resource_id = $1")
            .bind(id(&target))
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(
        after,
        json!({ "duplicate_id": id(&duplicate),
                "changed": ["phone", "birthday", "notes", "tags", "marketing_consent", "consent_channel"] })
    );
}

#[tokio::test]
async fn invalid_input_is_refused_with_the_field_at_fault() {
    let app = TestApp::fresh().await;
    let owner = business(&app).await;
    let token = &owner.access_token;
    let with = |extra: Value| {
        let mut body = json!({ "name": "Priya Sharma" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, field) in [
        (json!({ "phone": "12345" }), "phone"),
        (json!({ "email": "priya@" }), "email"),
        (json!({ "birthday": "2999-01-01" }), "birthday"),
        (json!({ "notes": "x".repeat(10 * 1024) }), "notes"),
        (json!({ "gender": "robot" }), "gender"),
        (json!({ "tags": ["a".repeat(41)] }), "tags"),
        (json!({ "marketing_consent": true }), "consent_channel"),
        (json!({ "name": " " }), "name"),
    ] {
        assert_eq!(
            invalid_fields(create(&app, token, with(extra.clone())).await).await,
            [field],
            "{extra}"
        );
    }
    let body = problem(
        create(&app, token, with(json!({ "nickname": "Pri" }))).await,
        422,
        "invalid_body",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `nickname`"),
        "{body}"
    );
    problem(
        create(&app, token, with(json!({ "birthday": "18/04/1992" }))).await,
        422,
        "invalid_body",
    )
    .await;
    assert_eq!(
        invalid_fields(get(&app, token, "/api/v1/clients?phone=abc").await).await,
        ["phone"]
    );
    let client = created(&app, token, with(json!({}))).await;
    assert_eq!(
        invalid_fields(
            patch(
                &app,
                token,
                id(&client),
                json!({ "phone": "5", "birthday": "2999-01-01" })
            )
            .await
        )
        .await,
        ["phone", "birthday"]
    );
    assert_eq!(
        invalid_fields(
            patch(
                &app,
                token,
                id(&client),
                json!({ "preferred_staff_id": "0190c6d0-0000-7000-8000-000000000000" })
            )
            .await
        )
        .await,
        ["preferred_staff_id"]
    );
    assert_eq!(search(&app, token, "").await, ["Priya Sharma"]);
}

#[tokio::test]
async fn an_external_database_without_data_protection_keys_refuses_to_start() {
    let db = support::TestDb::create().await;
    let mut config = support::config_for(&db);
    config.data_protection = Default::default();
    let error = match ftry::server::prepare(config, false).await {
        Ok(_) => panic!("started without data-protection keys"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.starts_with("data_protection.keys:"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
}
