//! A real S3-compatible server for the tests: moto in server mode, on its
//! own port, stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct S3Server {
    pub port: u16,
    child: Child,
}

impl S3Server {
    /// Started with a bucket named `bucket`.
    pub async fn start(bucket: &str) -> Self {
        let port = super::free_port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed (scripts/test-services installs moto's S3 server)");
        let server = Self { port, child };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the S3 server (moto) did not start: `bash scripts/test-services` installs it"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let created = reqwest::Client::new()
            .put(server.url(bucket))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 200, "bucket {bucket} created");
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.endpoint())
    }

    /// Read an object.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path).send().await.unwrap()
    }

    /// A request of a client with credentials (the server takes any; it
    /// refuses anonymous ones once the bucket holds objects).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().request(method, self.url(path)).header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAFTRYTEST/20261207/ap-south-1/s3/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
    }

    /// Every key the bucket holds, in order, read with the server's own
    /// listing (page after page).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        loop {
            let after = keys.last().cloned().unwrap_or_default();
            let listing = self
                .request(reqwest::Method::GET, bucket)
                .query(&[("list-type", "2"), ("start-after", after.as_str())])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            keys.extend(
                listing
                    .split("<Key>")
                    .skip(1)
                    .map(|rest| rest.split("</Key>").next().unwrap().to_owned()),
            );
            if !listing.contains("<IsTruncated>true</IsTruncated>") {
                return keys;
            }
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
