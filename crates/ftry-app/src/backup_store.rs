//! An S3-compatible bucket that backups go to (AWS S3, MinIO, Ceph, R2,
//! Backblaze B2…): objects written, read, listed and deleted with signed
//! requests. A dump is streamed into it while pg_dump writes it: in parts
//! of `part_size` bytes (a multipart upload) once it outgrows one part, so
//! nothing larger than a part is ever held in memory or on disk.

use std::time::Duration;

use rusty_s3::actions::{CreateMultipartUpload, ListObjectsV2, S3Action as _};
use rusty_s3::{Bucket, Credentials, UrlStyle};

use crate::backup::BackupError;
use crate::settings::Secret;

/// How long a signed request stays valid: it is sent at once.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// The smallest part S3 accepts (every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// S3 numbers at most this many parts.
const MAX_PARTS: usize = 10_000;

/// Where the bucket is and who writes to it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The service's URL, e.g. `https://s3.ap-south-1.amazonaws.com` or
    /// `http://minio.internal:9000`.
    pub endpoint: url::Url,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// `https://host/bucket/key` instead of `https://bucket.host/key`
    /// (most S3-compatible servers want it).
    pub path_style: bool,
    /// Put before every object's name, e.g. `ftry/production/`.
    pub prefix: String,
    /// Bytes of each part of a multipart upload (at least 5 MiB).
    pub part_size: usize,
}

/// A bucket ready to be written to.
pub struct S3Store {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    part_size: usize,
    http: reqwest::Client,
}

fn failed(what: &str, name: &str) -> impl FnOnce(reqwest::Error) -> BackupError {
    let what = format!("cannot {what} {name} in the object store");
    move |e| BackupError::Io(format!("{what}: {e}"))
}

/// The text of the first `<tag>` of an S3 answer.
fn xml_field(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find("</")? + start;
    Some(body[start..end].to_owned())
}

/// The store's refusal: its status and the code and message of its XML.
async fn refused(what: &str, name: &str, response: reqwest::Response) -> BackupError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let detail = match (xml_field(&body, "Code"), xml_field(&body, "Message")) {
        (Some(code), Some(message)) => format!(": {code}: {message}"),
        (Some(code), None) => format!(": {code}"),
        _ => String::new(),
    };
    BackupError::Io(format!(
        "cannot {what} {name} in the object store: {status}{detail}"
    ))
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Result<Self, String> {
        if settings.part_size < MIN_PART_SIZE {
            return Err(format!("parts of at least {MIN_PART_SIZE} bytes (S3's smallest)"));
        }
        let style = if settings.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            settings.endpoint.clone(),
            style,
            settings.bucket.clone(),
            settings.region.clone(),
        )
        .map_err(|e| format!("bucket {}: {e}", settings.bucket))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            bucket,
            credentials: Credentials::new(
                settings.access_key_id.clone(),
                settings.secret_access_key.expose().to_owned(),
            ),
            prefix: settings.prefix.clone(),
            part_size: settings.part_size,
            http,
        })
    }

    /// Where it writes, for people: `s3://bucket/prefix`.
    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket.name(), self.prefix)
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Write a small object whole.
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), BackupError> {
        let key = self.key(name);
        let url = self
            .bucket
            .put_object(Some(&self.credentials), &key)
            .sign(SIGNED_FOR);
        let response = self
            .http
            .put(url)
            .body(bytes)
            .send()
            .await
            .map_err(failed("write", name))?;
        if !response.status().is_success() {
            return Err(refused("write", name, response).await);
        }
        Ok(())
    }

    /// Start reading an object; `None` when there is none of that name.
    pub async fn get(&self, name: &str) -> Result<Option<reqwest::Response>, BackupError> {
        let key = self.key(name);
        let url = self
            .bucket
            .get_object(Some(&self.credentials), &key)
            .sign(SIGNED_FOR);
        let response = self.http.get(url).send().await.map_err(failed("read", name))?;
        match response.status() {
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => Ok(Some(response)),
            _ => Err(refused("read", name, response).await),
        }
    }

    /// Delete an object (one that is not there is no error).
    pub async fn delete(&self, name: &str) -> Result<(), BackupError> {
        let key = self.key(name);
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), &key)
            .sign(SIGNED_FOR);
        let response = self
            .http
            .delete(url)
            .send()
            .await
            .map_err(failed("delete", name))?;
        if !response.status().is_success() && response.status() != reqwest::StatusCode::NOT_FOUND {
            return Err(refused("delete", name, response).await);
        }
        Ok(())
    }

    /// The names (without the prefix) of every object under the prefix.
    pub async fn names(&self) -> Result<Vec<String>, BackupError> {
        let mut names = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let mut action: ListObjectsV2 = self.bucket.list_objects_v2(Some(&self.credentials));
            if !self.prefix.is_empty() {
                action.with_prefix(self.prefix.as_str());
            }
            if let Some(token) = &continuation {
                action.with_continuation_token(token.as_str());
            }
            let url = action.sign(SIGNED_FOR);
            let response = self
                .http
                .get(url)
                .send()
                .await
                .map_err(failed("list", "the backups"))?;
            if !response.status().is_success() {
                return Err(refused("list", "the backups", response).await);
            }
            let text = response.text().await.map_err(failed("list", "the backups"))?;
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| BackupError::Io(format!("the object store's listing cannot be read: {e}")))?;
            names.extend(
                page.contents
                    .into_iter()
                    .filter_map(|object| object.key.strip_prefix(&self.prefix).map(str::to_owned)),
            );
            match page.next_continuation_token {
                Some(token) => continuation = Some(token),
                None => return Ok(names),
            }
        }
    }

    /// An object written as it comes, in parts.
    pub fn upload(&self, name: &str) -> Upload<'_> {
        Upload {
            store: self,
            name: name.to_owned(),
            key: self.key(name),
            buffer: Vec::with_capacity(self.part_size),
            upload_id: None,
            etags: Vec::new(),
        }
    }
}

/// An object being written: whole with one request when it fits in one
/// part, else as a multipart upload whose parts go as they fill.
pub struct Upload<'a> {
    store: &'a S3Store,
    name: String,
    key: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    etags: Vec<String>,
}

impl Upload<'_> {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        self.buffer.extend_from_slice(bytes);
        while self.buffer.len() >= self.store.part_size {
            let rest = self.buffer.split_off(self.store.part_size);
            let part = std::mem::replace(&mut self.buffer, rest);
            self.send_part(part).await?;
        }
        Ok(())
    }

    async fn send_part(&mut self, part: Vec<u8>) -> Result<(), BackupError> {
        let store = self.store;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let url = store
                    .bucket
                    .create_multipart_upload(Some(&store.credentials), &self.key)
                    .sign(SIGNED_FOR);
                let response = store
                    .http
                    .post(url)
                    .send()
                    .await
                    .map_err(failed("write", &self.name))?;
                if !response.status().is_success() {
                    return Err(refused("start writing", &self.name, response).await);
                }
                let text = response.text().await.map_err(failed("write", &self.name))?;
                let created = CreateMultipartUpload::parse_response(&text)
                    .map_err(|e| BackupError::Io(format!("the object store's answer cannot be read: {e}")))?;
                self.upload_id = Some(created.upload_id().to_owned());
                created.upload_id().to_owned()
            }
        };
        if self.etags.len() == MAX_PARTS {
            return Err(BackupError::Io(format!(
                "{} needs more than {MAX_PARTS} parts: set a larger backup.s3_part_size_mib",
                self.name
            )));
        }
        let number = u16::try_from(self.etags.len() + 1).expect("at most 10,000 parts");
        let url = store
            .bucket
            .upload_part(Some(&store.credentials), &self.key, number, &upload_id)
            .sign(SIGNED_FOR);
        let response = store
            .http
            .put(url)
            .body(part)
            .send()
            .await
            .map_err(failed("write", &self.name))?;
        if !response.status().is_success() {
            return Err(refused("write a part of", &self.name, response).await);
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| BackupError::Io("the object store answered a part without its ETag".into()))?;
        self.etags.push(etag.to_owned());
        Ok(())
    }

    /// Write what is left and make the object whole: how many parts it has
    /// (1 when it went in one request). Parts of one that fails are deleted.
    pub async fn finish(mut self) -> Result<usize, BackupError> {
        match self.complete().await {
            Ok(parts) => Ok(parts),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn complete(&mut self) -> Result<usize, BackupError> {
        if self.upload_id.is_none() {
            let bytes = std::mem::take(&mut self.buffer);
            self.store.put(&self.name, bytes).await?;
            return Ok(1);
        }
        if !self.buffer.is_empty() {
            let last = std::mem::take(&mut self.buffer);
            self.send_part(last).await?;
        }
        let store = self.store;
        let upload_id = self.upload_id.clone().expect("started");
        let action = store.bucket.complete_multipart_upload(
            Some(&store.credentials),
            &self.key,
            &upload_id,
            self.etags.iter().map(String::as_str),
        );
        let url = action.sign(SIGNED_FOR);
        let response = store
            .http
            .post(url)
            .body(action.body())
            .send()
            .await
            .map_err(failed("write", &self.name))?;
        if !response.status().is_success() {
            return Err(refused("finish writing", &self.name, response).await);
        }
        // S3 can answer 200 and still have failed, saying so in the body.
        let text = response.text().await.map_err(failed("write", &self.name))?;
        if text.contains("<Error>") {
            return Err(BackupError::Io(format!(
                "cannot finish writing {} in the object store: {}",
                self.name,
                xml_field(&text, "Code").unwrap_or_default()
            )));
        }
        Ok(self.etags.len())
    }

    /// Give up: the parts written so far are deleted.
    pub async fn abort(self) {
        let Some(upload_id) = &self.upload_id else {
            return;
        };
        let store = self.store;
        let url = store
            .bucket
            .abort_multipart_upload(Some(&store.credentials), &self.key, upload_id)
            .sign(SIGNED_FOR);
        if let Err(error) = store.http.delete(url).send().await {
            tracing::warn!(error = %error, object = %self.name, "could not abort a multipart upload");
        }
    }
}
