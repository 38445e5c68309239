//! Rate limits: 429 problem answers with Retry-After and RateLimit headers, a
//! budget shared through Redis by several nodes, and service that carries on
//! when Redis goes away.

mod support;

use std::time::Duration;

use support::{config_for, problem, FtryProcess, TestApp, TestDb, TestRedis};

#[tokio::test]
async fn exceeding_a_limit_gives_429_with_retry_after() {
    let db = TestDb::create().await;
    let mut config = config_for(&db);
    config.rate_limit.public = "3/1m".parse().unwrap();
    let app = TestApp::spawn(config).await;

    let mut remaining = vec![];
    for _ in 0..3 {
        let response = app.get("/some-salon").await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["ratelimit-policy"], "3;w=60");
        remaining.push(response.headers()["ratelimit"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        remaining,
        vec![
            "limit=3, remaining=2, reset=20",
            "limit=3, remaining=1, reset=40",
            "limit=3, remaining=0, reset=60"
        ]
    );
    let refused = app.get("/some-salon").await;
    assert_eq!(refused.headers()["retry-after"], "20");
    assert_eq!(refused.headers()["ratelimit"], "limit=3, remaining=0, reset=60");
    let body = problem(refused, 429, "rate_limited").await;
    assert_eq!(
        body["detail"],
        "The public limit of 3/1m for your address is used up; retry in 20 s."
    );

    // Other classes have their own budget, and probes are never limited.
    assert_eq!(app.get("/api/v1/unknown").await.status(), 404);
    for _ in 0..10 {
        assert_eq!(app.get("/health/live").await.status(), 200);
    }
    app.stop().await;
}

#[tokio::test]
async fn trusted_proxies_make_the_forwarded_client_the_key() {
    let db = TestDb::create().await;
    let mut config = config_for(&db);
    config.rate_limit.public = "1/1m".parse().unwrap();
    config.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let app = TestApp::spawn(config).await;
    let from = |ip: &'static str| app.client.get(app.url("/x")).header("x-forwarded-for", ip).send();
    assert_eq!(from("198.51.100.1").await.unwrap().status(), 404);
    assert_eq!(from("198.51.100.1").await.unwrap().status(), 429);
    assert_eq!(from("198.51.100.2").await.unwrap().status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn two_nodes_share_one_budget_through_redis_and_survive_its_loss() {
    let db = TestDb::create().await;
    let mut redis = TestRedis::start();
    let root = support::traversable_tempdir();
    let envs = [
        ("FTRY_DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
        ("REDIS_URL", redis.url()),
        ("FTRY_RATE_LIMIT_PUBLIC", "4/1m".into()),
        ("FTRY_REDIS_TIMEOUT_MS", "200".into()),
    ];
    let mut a = FtryProcess::serve(&envs, root.path());
    let mut b = FtryProcess::serve(&envs, root.path());
    a.wait_ready(Duration::from_secs(30)).await;
    b.wait_ready(Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    let status = |node: &FtryProcess| {
        let url = node.url("/salon");
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    let statuses = vec![
        status(&a).await,
        status(&b).await,
        status(&a).await,
        status(&b).await,
        status(&a).await,
        status(&b).await,
    ];
    assert_eq!(
        statuses,
        vec![404, 404, 404, 404, 429, 429],
        "one budget of 4 across both nodes"
    );

    redis.stop();
    // Each node falls back to its own in-process budget and keeps serving.
    assert_eq!(status(&a).await, 404);
    assert_eq!(status(&b).await, 404);
    let ready = client.get(a.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "Redis only degrades readiness");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    let redis_check = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "redis")
        .unwrap()
        .clone();
    assert_eq!(redis_check["status"], "fail");
    assert_eq!(redis_check["critical"], false);

    redis.resume();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let ready_a: serde_json::Value = client
            .get(a.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let body: serde_json::Value = client
            .get(b.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready_a["status"] == "ready" && body["status"] == "ready" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "redis never came back: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Back on the shared budget (the new Redis is empty): 4 more across both nodes.
    let statuses = vec![
        status(&a).await,
        status(&b).await,
        status(&a).await,
        status(&b).await,
        status(&a).await,
    ];
    assert_eq!(statuses, vec![404, 404, 404, 404, 429]);
    let logs = a.stdout_lines().join("\n");
    assert!(
        logs.contains("redis unreachable; using in-process fallbacks until it returns"),
        "{logs}"
    );
    assert!(logs.contains("redis is reachable again"), "{logs}");
}
