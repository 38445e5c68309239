//! JSON calls with a token, each asserting the status it expects: what the
//! catalog and products suites are written in.

use reqwest::{Method, Response};
use serde_json::Value;

use super::TestApp;

/// The app on a fresh database, rate limits off (these suites make many calls).
pub async fn app() -> TestApp {
    TestApp::fresh_with(|config| config.rate_limit.enabled = false).await
}

pub async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
    let request = app.authed(method, path, token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.unwrap()
}

/// The status must be `status`; the body as JSON (`Null` when empty).
pub async fn expect(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    expect(call(app, Method::GET, path, token, None).await, 200).await
}

pub async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    expect(call(app, Method::POST, path, token, Some(body)).await, 201).await
}

pub async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    expect(call(app, Method::PATCH, path, token, Some(body)).await, 200).await
}

pub async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    expect(call(app, Method::PUT, path, token, Some(body)).await, 200).await
}

pub fn id(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_owned()
}
