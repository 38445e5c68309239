//! Reading the admin listener's metrics.

use super::TestApp;

/// The value of the sample `name{labels}` (labels exactly as exposed, or
/// empty for none), if the scrape has it.
pub fn sample(scrape: &str, name: &str, labels: &str) -> Option<f64> {
    let key = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(&key))
        .map(|value| value.split_whitespace().next().unwrap().parse().unwrap())
}

/// A scrape as Prometheus asks for it: OpenMetrics.
pub async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(format!("http://{}/metrics", app.admin_addr))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "a complete exposition");
    text
}

/// The metrics of a process's admin listener on `port`, as curl would get
/// them.
pub async fn scrape_port(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Scrape `port` until `done` holds for a scrape (a counter that moves once
/// a peer has answered, say), 30 s at most; that scrape.
pub async fn scrape_until(port: u16, what: &str, done: impl Fn(&str) -> bool) -> String {
    let started = std::time::Instant::now();
    loop {
        let text = scrape_port(port).await;
        if done(&text) {
            return text;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{what} never held:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
