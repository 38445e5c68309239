//! A real browser for the web app's journeys: Debian's Chromium, headless,
//! driven over the W3C WebDriver protocol through its ChromeDriver (both
//! installed by `scripts/test-services`). Each step can save a screenshot
//! under the target directory (`target/tmp/browser/<journey>/`) for people
//! to look at.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// W3C's key for an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    endpoint: String,
    client: reqwest::Client,
    shots: PathBuf,
    step: usize,
}

fn program(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|path| std::path::Path::new(path).exists())
        .map(|path| (*path).to_owned())
        .unwrap_or_else(|| {
            panic!("none of {candidates:?} exists: run `bash scripts/test-services` to install Chromium and ChromeDriver")
        })
}

impl Browser {
    /// A fresh headless Chromium with a `width`×`height` window; screenshots
    /// go to `target/tmp/browser/<journey>/`.
    pub async fn start(journey: &str, width: u32, height: u32) -> Self {
        let port = super::free_port();
        let driver = Command::new(program(&[
            "/usr/bin/chromedriver",
            "/usr/lib/chromium/chromedriver",
        ]))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(journey);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        let mut browser = Self {
            driver,
            endpoint: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            shots,
            step: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = browser
                .client
                .get(format!("{}/status", browser.endpoint))
                .send()
                .await;
            if let Ok(ready) = ready {
                let status: Value = ready.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut options = json!({
            "binary": program(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions", "--hide-scrollbars", "--lang=en-IN",
                     format!("--window-size={width},{height}")],
        });
        // A window is never narrower than 500 px: a phone's screen is emulated.
        if width < 500 {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}});
        }
        let session = browser
            .command(
                reqwest::Method::POST,
                "/session",
                json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}),
            )
            .await;
        let id = session["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_owned();
        browser.endpoint = format!("{}/session/{id}", browser.endpoint);
        browser
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = self
            .client
            .request(method.clone(), format!("{}{path}", self.endpoint));
        let request = if method == reqwest::Method::GET {
            request
        } else {
            request.json(&body)
        };
        let response = request.send().await.expect("WebDriver request");
        let status = response.status();
        let answer: Value = response.json().await.expect("WebDriver answer");
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {answer}"
        );
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    pub async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = self
                .client
                .post(format!("{}/element", self.endpoint))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .expect("WebDriver request");
            if response.status().is_success() {
                let answer: Value = response.json().await.unwrap();
                return answer["value"][ELEMENT].as_str().unwrap().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} within 10 s on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        self.command(
            reqwest::Method::POST,
            "/elements",
            json!({"using": "css selector", "value": css}),
        )
        .await
        .as_array()
        .map_or(0, Vec::len)
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            json!({}),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// A script's result in the page (for layout facts: widths, positions).
    pub async fn eval(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Wait until the page's address contains `part`.
    pub async fn wait_for_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the browser stayed on {url}, not {part}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until the page's path (not its query, which may name another
    /// page, as the sign-in page's `next` does) starts with `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            let after_host = url.splitn(4, '/').nth(3).unwrap_or_default();
            let current = format!("/{}", after_host.split(['?', '#']).next().unwrap_or_default());
            if current.starts_with(path) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the browser stayed on {url}, not {path}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Save the page as `<n>-<step>.png`; returns its size in bytes.
    pub async fn screenshot(&mut self, step: &str) -> usize {
        self.step += 1;
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(self.shots.join(format!("{:02}-{step}.png", self.step)), &png).unwrap();
        png.len()
    }

    pub async fn quit(mut self) {
        let _ = self.client.delete(&self.endpoint).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

impl Browser {
    /// Forget one cookie of the current site (as its expiry would).
    pub async fn delete_cookie(&self, name: &str) {
        self.command(reqwest::Method::DELETE, &format!("/cookie/{name}"), json!({}))
            .await;
    }
}

impl Browser {
    /// A real mouse click on the element matching `css`, at its horizontal
    /// middle and `from_top` (0 to 1) of its height. The element must be
    /// wholly in the window.
    pub async fn click_at(&self, css: &str, from_top: f64) {
        let element = self.find(css).await;
        let rect = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{element}/rect"),
                Value::Null,
            )
            .await;
        let height = rect["height"].as_f64().unwrap();
        let from_centre = ((from_top - 0.5) * height).round() as i64;
        self.command(
            reqwest::Method::POST,
            "/actions",
            json!({"actions": [{
                "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "duration": 0, "origin": {ELEMENT: element}, "x": 0, "y": from_centre},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerUp", "button": 0},
                ],
            }]}),
        )
        .await;
    }

    /// A real mouse drag: press on the middle of the element matching `from`,
    /// move in steps, and let go over the element matching `to` at its
    /// horizontal middle and `from_top` (0 to 1) of its height.
    pub async fn drag(&self, from: &str, to: &str, from_top: f64) {
        let source = self.find(from).await;
        let target = self.find(to).await;
        let rect = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{target}/rect"),
                Value::Null,
            )
            .await;
        let height = rect["height"].as_f64().unwrap();
        let from_centre = ((from_top - 0.5) * height).round() as i64;
        self.command(
            reqwest::Method::POST,
            "/actions",
            json!({"actions": [{
                "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "duration": 0, "origin": {ELEMENT: source}, "x": 0, "y": 0},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerMove", "duration": 100, "origin": "pointer", "x": 0, "y": 12},
                    {"type": "pointerMove", "duration": 300, "origin": {ELEMENT: target}, "x": 0, "y": from_centre},
                    {"type": "pointerUp", "button": 0},
                ],
            }]}),
        )
        .await;
    }

    /// Click the element matching `css` whose text is `text` (a button among many).
    pub async fn click_text(&self, css: &str, text: &str) {
        let found = self
            .eval(&format!(
                "const el = [...document.querySelectorAll({css:?})].find(e => e.textContent === {text:?});
                 if (!el) return false; el.click(); return true;"
            ))
            .await;
        assert_eq!(found, json!(true), "no {css} reading {text}");
    }

    /// Choose the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]")).await;
    }
}

impl Browser {
    /// Wait up to 10 s for the element matching `css` to read `expected`
    /// (after a form's submission reloads the same address).
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The page may be replaced between finding the element and
            // reading it (a stale element): read again.
            let element = self.find(css).await;
            let read = self
                .client
                .get(format!("{}/element/{element}/text", self.endpoint))
                .send()
                .await
                .expect("WebDriver request");
            let seen = if read.status().is_success() {
                let answer: Value = read.json().await.unwrap_or_default();
                answer["value"].as_str().unwrap_or_default().to_owned()
            } else {
                String::new()
            };
            if seen == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} reads {seen:?}, not {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
