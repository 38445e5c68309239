//! Prometheus metrics on the admin listener: what real requests do to them,
//! and that the public port never serves them.

mod support;

use support::metrics::{sample, scrape};
use support::{config_for, problem, FtryProcess, TestApp, TestDb};

const LIVE_OK: &str = r#"method="GET",route="/health/live",status="2xx""#;
const UNMATCHED: &str = r#"method="GET",route="unmatched",status="4xx""#;

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status_class() {
    let app = TestApp::fresh().await;
    let before = scrape(&app).await;
    assert_eq!(sample(&before, "ftry_http_requests_total", LIVE_OK), None);

    for _ in 0..3 {
        assert_eq!(app.get("/health/live").await.status(), 200);
    }
    // Two unknown paths count under one bounded label, not under their own.
    assert_eq!(app.get("/no/such/page").await.status(), 404);
    assert_eq!(app.get("/another/unknown").await.status(), 404);
    let after = scrape(&app).await;
    assert_eq!(sample(&after, "ftry_http_requests_total", LIVE_OK), Some(3.0));
    assert_eq!(sample(&after, "ftry_http_requests_total", UNMATCHED), Some(2.0));
    assert_eq!(
        sample(&after, "ftry_http_request_duration_seconds_count", LIVE_OK),
        Some(3.0)
    );
    // Every request finished within the largest bucket.
    assert_eq!(
        sample(
            &after,
            "ftry_http_request_duration_seconds_bucket",
            &format!("le=\"10.0\",{LIVE_OK}")
        ),
        Some(3.0)
    );
    assert!(!after.contains("/no/such/page"), "raw paths never become labels");
    // The scrape itself is not on the public router, so it is not counted.
    assert_eq!(sample(&after, "ftry_http_requests_in_flight", ""), Some(0.0));

    // A route with a path parameter counts under its template.
    let tenant = "/api/v1/public/no-such-salon";
    assert_eq!(app.get(tenant).await.status(), 404);
    let again = scrape(&app).await;
    assert_eq!(
        sample(
            &again,
            "ftry_http_requests_total",
            r#"method="GET",route="/api/v1/public/{tenant_slug}",status="4xx""#
        ),
        Some(1.0)
    );
    assert_eq!(sample(&again, "ftry_http_requests_total", LIVE_OK), Some(3.0));
    app.stop().await;
}

#[tokio::test]
async fn pools_process_and_build_are_described() {
    let db = TestDb::create().await;
    let mut config = config_for(&db);
    config.database.max_connections = 7;
    let app = TestApp::spawn(config).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "ftry_db_pool_max_connections", r#"pool="app""#),
        Some(7.0)
    );
    let idle = sample(&text, "ftry_db_pool_connections", r#"pool="app",state="idle""#).unwrap();
    let in_use = sample(&text, "ftry_db_pool_connections", r#"pool="app",state="in_use""#).unwrap();
    assert!(
        idle + in_use >= 1.0 && idle + in_use <= 7.0,
        "idle {idle}, in use {in_use}"
    );
    assert_eq!(
        sample(
            &text,
            "ftry_build_info",
            &format!(
                r#"version="{}",git_sha="{}""#,
                env!("FTRY_VERSION"),
                env!("FTRY_GIT_SHA")
            )
        ),
        Some(1.0)
    );
    assert!(sample(&text, "process_resident_memory_bytes", "").unwrap() > 1_000_000.0);
    assert!(sample(&text, "process_open_fds", "").unwrap() >= 3.0);
    assert!(sample(&text, "process_cpu_seconds_total", "").unwrap() > 0.0);
    let started = sample(&text, "process_start_time_seconds", "").unwrap();
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        started <= now && started > now - 600.0,
        "start {started}, now {now}"
    );
    app.stop().await;
}

#[tokio::test]
async fn rate_limit_refusals_are_counted() {
    let db = TestDb::create().await;
    let mut config = config_for(&db);
    config.rate_limit.public = "2/1m".parse().unwrap();
    let app = TestApp::spawn(config).await;
    for _ in 0..2 {
        assert_eq!(app.get("/some-salon").await.status(), 404);
    }
    problem(app.get("/some-salon").await, 429, "rate_limited").await;
    problem(app.get("/some-salon").await, 429, "rate_limited").await;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "ftry_rate_limit_rejections_total", r#"class="public""#),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "ftry_rate_limit_rejections_total", r#"class="api""#),
        None
    );
    assert_eq!(
        sample(&text, "ftry_rate_limit_redis_fallbacks_total", ""),
        Some(0.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_public_port_does_not_serve_metrics() {
    let app = TestApp::fresh().await;
    problem(app.get("/metrics").await, 404, "not_found").await;
    // And the admin listener serves nothing but metrics.
    let other = app
        .client
        .get(format!("http://{}/api/v1/public/x", app.admin_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_binary_listens_for_metrics_on_admin_addr() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create().await;
    let admin_port = support::free_port();
    let mut ftry = FtryProcess::serve(
        &[
            ("FTRY_DATABASE_URL", db.app_url()),
            ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
            ("FTRY_ADMIN_ADDR", format!("127.0.0.1:{admin_port}")),
        ],
        dir.path(),
    );
    ftry.wait_ready(std::time::Duration::from_secs(60)).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(ftry.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let text = client
        .get(format!("http://127.0.0.1:{admin_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(sample(&text, "ftry_http_requests_total", LIVE_OK), Some(1.0));
    let ready = r#"method="GET",route="/health/ready",status="2xx""#;
    assert_eq!(
        sample(&text, "ftry_http_requests_total", ready),
        Some(1.0),
        "wait_ready stops at the first 200"
    );
    ftry.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(ftry.wait_exit(std::time::Duration::from_secs(30)).success());
}

#[tokio::test]
async fn business_events_are_counted_once_they_commit() {
    business_day(false).await;
}

#[tokio::test]
async fn per_tenant_labels_name_the_business_when_switched_on() {
    business_day(true).await;
}

/// A day of bookings, a cancellation, a checkout and logins, then the
/// counters; with `per_tenant`, the appointment, invoice and payment
/// counters also carry the business's id.
async fn business_day(per_tenant: bool) {
    use serde_json::json;
    use support::salon::{day, pune, Salon, Service, Setup};
    use support::{body, post};

    let app = TestApp::fresh_with(|config| config.admin.per_tenant_labels = per_tenant).await;
    let salon = Salon::create(
        &app,
        Setup {
            name: "Counted Salon",
            stylists: 1,
            categories: &[],
            services: &[Service::new("Haircut", 30, 50_000)],
            chairs: 0,
        },
    )
    .await;
    let token = salon.token();
    let book = |hour: u32| {
        json!({
            "location_id": salon.location, "client_id": salon.client, "start": pune(day(1), hour, 0),
            "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
        })
    };
    let kept = body(post(&app, token, "/api/v1/appointments", &book(10)).await, 201).await;
    let cancelled = body(post(&app, token, "/api/v1/appointments", &book(12)).await, 201).await;
    // A refused booking (the time is taken) counts nothing.
    assert_eq!(
        post(&app, token, "/api/v1/appointments", &book(10))
            .await
            .status(),
        409
    );
    let path = format!(
        "/api/v1/appointments/{}/cancel",
        cancelled["id"].as_str().unwrap()
    );
    body(
        post(&app, token, &path, &json!({"reason": "client called"})).await,
        200,
    )
    .await;
    let draft = body(
        post(
            &app,
            token,
            "/api/v1/invoices",
            &json!({"appointment_id": kept["id"]}),
        )
        .await,
        201,
    )
    .await;
    let invoice = draft["id"].as_str().unwrap();
    let finalized = body(
        post(
            &app,
            token,
            &format!("/api/v1/invoices/{invoice}/finalize"),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let due = finalized["due_paise"].as_i64().unwrap();
    assert_eq!(due, 50_000, "₹500, GST included (the default)");
    body(
        post(
            &app,
            token,
            &format!("/api/v1/invoices/{invoice}/payments"),
            &json!({"method": "upi", "amount_paise": due, "reference": "UPI-1"}),
        )
        .await,
        201,
    )
    .await;
    let login = |password: &str| json!({"email": salon.business.owner_email, "password": password});
    let ok = body(
        app.post_json("/api/v1/auth/login", &login(&salon.business.owner_password))
            .await,
        200,
    )
    .await;
    // The login's refresh token used twice: the second time is a reuse.
    let refresh = json!({"refresh_token": ok["refresh_token"]});
    body(app.post_json("/api/v1/auth/refresh", &refresh).await, 200).await;
    problem(
        app.post_json("/api/v1/auth/refresh", &refresh).await,
        401,
        "refresh_token_reused",
    )
    .await;
    problem(
        app.post_json("/api/v1/auth/login", &login("not-the-password"))
            .await,
        401,
        "invalid_credentials",
    )
    .await;

    let text = scrape(&app).await;
    let tenant = if per_tenant {
        format!(r#"tenant_id="{}""#, salon.tenant)
    } else {
        String::new()
    };
    // The bounded label, then the business's id when switched on.
    let with = |label: &str| match (label.is_empty(), per_tenant) {
        (_, false) => label.to_owned(),
        (true, true) => tenant.clone(),
        (false, true) => format!("{label},{tenant}"),
    };
    assert_eq!(sample(&text, "ftry_signups_total", ""), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "ftry_appointments_booked_total",
            &with(r#"source="front_desk""#)
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "ftry_appointment_status_changes_total",
            &with(r#"status="cancelled""#)
        ),
        Some(1.0)
    );
    // Finalizing the visit's invoice completed it.
    assert_eq!(
        sample(
            &text,
            "ftry_appointment_status_changes_total",
            &with(r#"status="completed""#)
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "ftry_invoices_finalized_total", &with("")),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "ftry_payments_paise_total", &with(r#"method="upi""#)),
        Some(50_000.0)
    );
    assert_eq!(
        sample(&text, "ftry_logins_total", r#"outcome="success",reason="""#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "ftry_logins_total",
            r#"outcome="failure",reason="invalid_credentials""#
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, "ftry_token_reuse_detections_total", ""), Some(1.0));
    // Only the switch puts a business's id into a label: five series.
    let series_with_tenant = text
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains(&salon.tenant.to_string()))
        .count();
    assert_eq!(series_with_tenant, if per_tenant { 5 } else { 0 }, "{text}");
    app.stop().await;
}

#[tokio::test]
async fn seeding_the_demo_salon_counts_no_business() {
    let db = TestDb::create().await;
    let prepared = ftry::server::prepare(config_for(&db), true).await.unwrap();
    let text = prepared.state.metrics.render(&prepared.state.pools);
    prepared.database.close().await.unwrap();
    let paid: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(&mut db.admin().await)
        .await
        .unwrap();
    assert!(paid > 0, "the demo salon has a month of payments");
    for family in [
        "ftry_payments_paise_total",
        "ftry_appointments_booked_total",
        "ftry_appointment_status_changes_total",
    ] {
        assert!(
            !text.contains(&format!("{family}{{")),
            "{family} counted the demo:\n{text}"
        );
    }
    assert_eq!(sample(&text, "ftry_invoices_finalized_total", ""), Some(0.0));
    assert_eq!(sample(&text, "ftry_signups_total", ""), Some(0.0));
}

#[tokio::test]
async fn connections_and_named_queries_are_timed() {
    use support::salon::{Salon, Service, Setup};

    let app = TestApp::fresh().await;
    let salon = Salon::create(
        &app,
        Setup {
            name: "Timed Salon",
            stylists: 1,
            categories: &[],
            services: &[Service::new("Haircut", 30, 50_000)],
            chairs: 0,
        },
    )
    .await;
    let count =
        |text: &str, name: &str, labels: &str| sample(text, &format!("{name}_count"), labels).unwrap_or(0.0);
    let before = scrape(&app).await;
    for _ in 0..2 {
        let found = support::get(&app, salon.token(), "/api/v1/clients?q=Neha").await;
        assert_eq!(found.status(), 200);
    }
    let after = scrape(&app).await;
    let search = r#"operation="client_search""#;
    assert_eq!(
        count(&after, "ftry_db_query_duration_seconds", search)
            - count(&before, "ftry_db_query_duration_seconds", search),
        2.0
    );
    // Each request takes two connections: one to check its session, one for
    // the search.
    let app_pool = r#"pool="app""#;
    assert_eq!(
        count(&after, "ftry_db_pool_acquire_duration_seconds", app_pool)
            - count(&before, "ftry_db_pool_acquire_duration_seconds", app_pool),
        4.0
    );
    assert_eq!(
        sample(&after, "ftry_db_pool_acquire_errors_total", app_pool),
        None,
        "no acquire has failed"
    );
    // A search is fast here: every one fell in the 100 ms bucket (the SLO's).
    let fast = sample(
        &after,
        "ftry_db_query_duration_seconds_bucket",
        r#"le="0.1",operation="client_search""#,
    )
    .unwrap();
    assert_eq!(fast, count(&after, "ftry_db_query_duration_seconds", search));
    app.stop().await;
}

#[tokio::test]
async fn redis_operations_and_their_failures_are_counted() {
    let db = TestDb::create().await;
    let mut redis = support::TestRedis::start();
    let mut config = config_for(&db);
    config.rate_limit.public = "2/1m".parse().unwrap();
    config.redis.url = Some(serde_json::from_value(serde_json::json!(redis.url())).unwrap());
    config.redis.timeout_ms = 200;
    let app = TestApp::spawn(config).await;
    let rate_limit = r#"command="rate_limit""#;
    let before = scrape(&app).await;
    assert_eq!(
        sample(&before, "ftry_redis_command_duration_seconds_count", rate_limit),
        None
    );
    assert_eq!(app.get("/some-salon").await.status(), 404);
    assert_eq!(app.get("/some-salon").await.status(), 404);
    problem(app.get("/some-salon").await, 429, "rate_limited").await;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "ftry_redis_command_duration_seconds_count", rate_limit),
        Some(3.0)
    );
    assert_eq!(sample(&text, "ftry_redis_errors_total", rate_limit), None);
    assert_eq!(
        sample(&text, "ftry_rate_limit_rejections_total", r#"class="public""#),
        Some(1.0)
    );

    redis.stop();
    // Redis is gone: the request is decided in-process, and counted as a
    // Redis error and a fallback.
    assert_eq!(app.get("/some-salon").await.status(), 404);
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "ftry_redis_errors_total", rate_limit), Some(1.0));
    assert_eq!(
        sample(&text, "ftry_rate_limit_redis_fallbacks_total", ""),
        Some(1.0)
    );
    app.stop().await;
}

/// The shipped observability set (deploy/observability): its own checks pass
/// (promtool on the rules and their unit tests, the dashboards), every metric
/// its alerts and dashboards query is in a real scrape, and promtool finds
/// that scrape well formed.
#[tokio::test]
async fn the_alerts_and_dashboards_query_only_metrics_ftry_exposes() {
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::process::{Command, Stdio};

    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/observability");
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .current_dir(&deploy)
            .output()
            .unwrap_or_else(|e| {
                panic!("{program} must be installed (scripts/test-services installs it): {e}")
            });
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{program} {args:?} failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    run("bash", &["check"]);
    let used: Vec<String> = run("python3", &["metric-names"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(used.len() >= 20, "metric names read: {used:?}");

    // Some traffic, so that labelled series have samples too.
    let app = TestApp::fresh().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let text = scrape(&app).await;
    // Without asking for OpenMetrics: the Prometheus text format, the same
    // samples.
    let plain = app
        .client
        .get(format!("http://{}/metrics", app.admin_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let plain = plain.text().await.unwrap();
    let samples = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("process_") && !l.starts_with("ftry_http_"))
            .map(|line| {
                // The pools' connections are read as they are at each scrape, and
                // the job worker takes one between the two: the same series, each
                // with its own value.
                if line.starts_with("ftry_db_pool_connections{") {
                    line.rsplit_once(' ')
                        .map_or(line, |(series, _)| series)
                        .to_owned()
                } else {
                    line.to_owned()
                }
            })
            .collect()
    };
    assert_eq!(samples(&plain), samples(&text));
    assert!(plain.contains("# TYPE ftry_signups_total counter\n"));
    assert!(!plain.contains("# EOF") && !plain.contains("# UNIT"));
    let exposed: BTreeSet<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| {
            let (name, kind) = rest.split_once(' ')?;
            Some(match kind {
                "counter" => format!("{name}_total"),
                "info" => format!("{name}_info"),
                _ => name.to_owned(),
            })
        })
        .collect();
    let missing: Vec<&String> = used.iter().filter(|name| !exposed.contains(*name)).collect();
    assert!(missing.is_empty(), "queried but not exposed: {missing:?}");

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (scripts/test-services installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(plain.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
}
