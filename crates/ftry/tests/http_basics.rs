//! The HTTP surface every route shares: probes, problem answers, request ids,
//! security headers, CORS and compression.

mod support;

use support::{config_for, problem, TestApp, TestDb};

#[tokio::test]
async fn liveness_and_readiness_answer_200_with_each_check_named() {
    let db = TestDb::create().await;
    let app = TestApp::spawn(config_for(&db)).await;

    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200);
    assert_eq!(
        live.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let checks = body["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["name"], "database");
    assert_eq!(checks[0]["status"], "ok");
    assert!(checks[0]["latency_ms"].as_f64().unwrap() >= 0.0);
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_problem_json() {
    let db = TestDb::create().await;
    let app = TestApp::spawn(config_for(&db)).await;

    problem(app.get("/no/such/page").await, 404, "not_found").await;
    problem(app.get("/api/v1/nothing-here").await, 404, "not_found").await;

    let response = app.client.delete(app.url("/health/live")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    problem(response, 405, "method_not_allowed").await;
    app.stop().await;
}

#[tokio::test]
async fn oversize_bodies_are_refused_with_413() {
    let db = TestDb::create().await;
    let mut config = config_for(&db);
    config.http.body_limit_bytes = 1024;
    let app = TestApp::spawn(config).await;

    let response = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .header("content-type", "application/json")
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    problem(response, 413, "payload_too_large").await;
    app.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
    let db = TestDb::create().await;
    let app = TestApp::spawn(config_for(&db)).await;

    let echoed = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "lb-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "lb-7f3a");

    let generated = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let body = problem(generated, 404, "not_found").await;
    assert_eq!(body["request_id"], id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn security_headers_are_on_every_response_and_hsts_only_behind_tls() {
    let db = TestDb::create().await;
    let mut config = config_for(&db);
    config.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let app = TestApp::spawn(config).await;

    for path in ["/health/live", "/missing"] {
        let response = app.get(path).await;
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(h["x-frame-options"], "DENY");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(h.get("strict-transport-security").is_none());
    }
    let over_tls = app
        .client
        .get(app.url("/health/live"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        over_tls.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    app.stop().await;
}

#[tokio::test]
async fn hsts_is_not_sent_when_an_untrusted_client_claims_tls() {
    let db = TestDb::create().await;
    let app = TestApp::spawn(config_for(&db)).await;
    let response = app
        .client
        .get(app.url("/health/live"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("strict-transport-security").is_none());
    app.stop().await;
}

#[tokio::test]
async fn cors_is_closed_by_default_and_open_to_configured_origins() {
    let db = TestDb::create().await;
    let closed = TestApp::spawn(config_for(&db)).await;
    let preflight = |app: &TestApp, origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/health/live"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let response = preflight(&closed, "https://book.example.com").await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
    closed.stop().await;

    let mut config = config_for(&db);
    config.http.cors_origins = vec!["https://book.example.com".into()];
    let open = TestApp::spawn(config).await;
    let allowed = preflight(&open, "https://book.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://book.example.com"
    );
    let other = preflight(&open, "https://evil.example.net").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    open.stop().await;
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_gzip() {
    let db = TestDb::create().await;
    let app = TestApp::spawn(config_for(&db)).await;
    // The problem body is large enough to be worth compressing.
    let response = app
        .client
        .get(app.url("/a/path/that/does/not/exist"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_invalid_bodies_get_precise_problems() {
    let app = TestApp::fresh().await;
    let signup = || app.client.post(app.url("/api/v1/auth/signup"));

    let malformed = signup()
        .header("content-type", "application/json")
        .body("{\"business_name\": ")
        .send()
        .await
        .unwrap();
    let body = problem(malformed, 400, "malformed_json").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("The body is not valid JSON"),
        "{body}"
    );

    let wrong_type = signup()
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(wrong_type, 415, "unsupported_media_type").await;
    let no_type = signup().body("{}").send().await.unwrap();
    problem(no_type, 415, "unsupported_media_type").await;

    let wrong_shape = app
        .post_json("/api/v1/auth/signup", &serde_json::json!({"business_name": 42}))
        .await;
    problem(wrong_shape, 422, "invalid_body").await;

    let invalid = app
        .post_json(
            "/api/v1/auth/signup",
            &serde_json::json!({
                "business_name": " ",
                "location": {"name": "Main", "state_code": "99x"},
                "owner": {"name": "A", "email": "not-an-email", "password": "short"},
            }),
        )
        .await;
    let body = problem(invalid, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "business_name",
            "location.state_code",
            "owner.email",
            "owner.password"
        ],
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_running_past_the_timeout_gets_503_request_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::fresh_with(|c| c.http.request_timeout_secs = 1).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/signup HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\n{{\"business",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "answered after {waited:?}"
    );
    app.stop().await;
}
