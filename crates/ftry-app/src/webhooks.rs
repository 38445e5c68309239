//! Outbound webhooks for a business's integrations.
//!
//! An owner registers an endpoint and the events it receives. When a domain
//! event is handled, each enabled endpoint subscribed to it gets one
//! delivery, planned in the same transaction, with its body frozen; a job
//! POSTs it, signed: `Ftry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
//! of "<t>.<body>" under the endpoint's secret>`. A failed attempt is
//! retried with the queue's backoff; an endpoint that keeps failing is
//! turned off, with an audit event, and its pending deliveries abandoned.
//!
//! Endpoints must be public `https` URLs: the client resolves names itself
//! and refuses loopback, private and link-local addresses, so an endpoint
//! cannot reach into the network ftry runs in.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::jobs::{self as jobs_store, Job, NewJob};
use ftry_store::notifications::DomainEvent;
use ftry_store::webhooks::{self as store, Delivery, Endpoint, EndpointChange, NewEndpoint, SealedSecret};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgConnection;
use tracing::Instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::data_protection::Sealed;
use crate::error::{AppError, Validator};
use crate::jobs::JobFailure;
use crate::{App, Principal};

/// The events an endpoint can subscribe to, by name; `<group>.*` picks a
/// group, `*` everything.
pub const EVENTS: [(&str, &str); 15] = [
    (
        "appointment.booked",
        "A visit was booked, at the front desk or online",
    ),
    (
        "appointment.rescheduled",
        "A visit moved to another time or staff member",
    ),
    ("appointment.cancelled", "A visit was cancelled"),
    ("appointment.confirmed", "A visit was confirmed"),
    ("appointment.checked_in", "The client arrived"),
    ("appointment.in_service", "The service started"),
    ("appointment.completed", "The visit is over"),
    ("appointment.no_show", "The client did not come"),
    ("invoice.finalized", "An invoice was finalized and numbered"),
    ("invoice.paid", "A payment was recorded against an invoice"),
    ("invoice.refunded", "A refund was paid against a credit note"),
    (
        "invoice.credit_note_issued",
        "A credit note was issued against an invoice",
    ),
    ("client.created", "A client was added"),
    ("client.updated", "A client's details changed"),
    ("client.merged", "A duplicate client was merged into another"),
];

/// The object an event is about, by the event's group.
fn subject_type(event: &str) -> &'static str {
    match event.split('.').next() {
        Some("appointment") => "appointment",
        Some("invoice") => "invoice",
        Some("client") => "client",
        _ => "unknown",
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Let endpoints use plain `http` and loopback or private addresses:
    /// for development and closed networks only.
    pub allow_local_endpoints: bool,
    /// How long an endpoint may take to answer.
    pub timeout_secs: u64,
    /// Attempts per delivery, with the job queue's backoff between them.
    pub max_attempts: i32,
    /// An endpoint is turned off once this many attempts in a row have
    /// failed over at least `disable_after_hours`.
    pub disable_after_failures: u32,
    pub disable_after_hours: u32,
    /// Endpoints a business may register.
    pub max_endpoints: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_local_endpoints: false,
            timeout_secs: 10,
            max_attempts: 12,
            disable_after_failures: 20,
            disable_after_hours: 24,
            max_endpoints: 10,
        }
    }
}

/// The settings, checked, with the client that delivers.
pub struct Webhooks {
    pub settings: WebhookSettings,
    client: reqwest::Client,
}

impl WebhookSettings {
    pub fn resolve(&self) -> Result<Webhooks, String> {
        if !(1..=60).contains(&self.timeout_secs) {
            return Err("webhooks.timeout_secs: expected 1 to 60 seconds".into());
        }
        if !(1..=50).contains(&self.max_attempts) {
            return Err("webhooks.max_attempts: expected 1 to 50".into());
        }
        if self.disable_after_failures == 0 {
            return Err("webhooks.disable_after_failures: expected at least 1".into());
        }
        if !(1..=100).contains(&self.max_endpoints) {
            return Err("webhooks.max_endpoints: expected 1 to 100".into());
        }
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(self.timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ftry-webhooks/", env!("CARGO_PKG_VERSION")));
        if !self.allow_local_endpoints {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().map_err(|e| format!("webhooks: {e}"))?;
        Ok(Webhooks {
            settings: self.clone(),
            client,
        })
    }
}

/// Whether an address is one an endpoint may not point at: loopback,
/// private, link-local, shared, unspecified, multicast or documentation.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
        }
    }
}

/// Resolves names like the system does, keeping only public addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_internal(a.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// `Ftry-Signature` of `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// A public `https` URL.
    pub url: String,
    /// Event names (`appointment.booked`), groups (`appointment.*`) or `*`.
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdateRequest {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// `true` turns a disabled endpoint back on and starts its failure count
    /// again; `false` turns it off.
    pub enabled: Option<bool>,
}

/// An endpoint with its signing secret: shown when it is created and when
/// the secret is replaced, never again.
#[derive(Debug, Serialize)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventEntry {
    pub name: &'static str,
    pub description: &'static str,
}

fn seal_context(tenant_id: Uuid, endpoint_id: Uuid) -> String {
    format!("webhook_endpoints:{tenant_id}:{endpoint_id}:secret")
}

fn check_events(v: &mut Validator, events: &[String]) -> Vec<String> {
    if events.is_empty() {
        v.push("events", "pick at least one event");
    }
    let mut picked: Vec<String> = Vec::new();
    for event in events {
        let known = event == "*"
            || EVENTS.iter().any(|(name, _)| name == event)
            || event.strip_suffix(".*").is_some_and(|group| {
                EVENTS
                    .iter()
                    .any(|(name, _)| name.split('.').next() == Some(group))
            });
        if !known {
            v.push(
                "events",
                format!("`{event}` is not an event; see GET /api/v1/webhooks/events"),
            );
        } else if !picked.contains(event) {
            picked.push(event.clone());
        }
    }
    picked
}

impl App {
    fn check_endpoint_url(&self, v: &mut Validator, url: &str) -> Option<String> {
        let url = v.text("url", url, 2000)?;
        let local = self.webhooks.settings.allow_local_endpoints;
        let parsed = match url::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.host().is_some() => parsed,
            _ => {
                v.push("url", "expected an absolute https:// URL");
                return None;
            }
        };
        if parsed.scheme() == "http" && !local {
            v.push("url", "must use https");
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            v.push(
                "url",
                "must not carry a user name or password; verify the signature instead",
            );
        }
        let internal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
            None => true,
        };
        if internal && !local {
            v.push("url", "must be a public address, not a loopback or private one");
        }
        Some(url)
    }

    pub(crate) fn new_secret(&self, tenant_id: Uuid, endpoint_id: Uuid) -> (String, SealedSecret) {
        let secret = format!("whsec_{}", B64.encode(crate::tokens::random_bytes(32)));
        let sealed = self
            .protection
            .seal(&secret, &seal_context(tenant_id, endpoint_id));
        (
            secret,
            SealedSecret {
                secret_key_id: sealed.key_id,
                secret_sealed: sealed.bytes,
            },
        )
    }

    pub fn webhook_events(&self, principal: &Principal) -> Result<Vec<EventEntry>, AppError> {
        principal.require(Permission::WebhooksManage)?;
        Ok(EVENTS
            .iter()
            .map(|(name, description)| EventEntry { name, description })
            .collect())
    }

    pub async fn list_webhooks(&self, principal: &Principal) -> Result<Vec<Endpoint>, AppError> {
        principal.require(Permission::WebhooksManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = store::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn webhook(&self, principal: &Principal, id: Uuid) -> Result<Endpoint, AppError> {
        principal.require(Permission::WebhooksManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let endpoint = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(endpoint)
    }

    pub async fn create_webhook(
        &self,
        principal: &Principal,
        request: &WebhookRequest,
        origin: &Origin,
    ) -> Result<EndpointWithSecret, AppError> {
        principal.require(Permission::WebhooksManage)?;
        let mut v = Validator::default();
        let url = self.check_endpoint_url(&mut v, &request.url);
        let events = check_events(&mut v, &request.events);
        let description = v
            .optional_text("description", request.description.as_deref(), 500)
            .unwrap_or_default();
        v.finish()?;
        let url = url.unwrap_or_default();
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let limit = self.webhooks.settings.max_endpoints;
        if store::count(&mut tx).await? >= i64::from(limit) {
            return Err(AppError::conflict(
                "too_many_webhooks",
                format!("A business may register {limit} webhook endpoints; delete one first."),
            ));
        }
        let id = Uuid::now_v7();
        let (secret, sealed) = self.new_secret(principal.tenant_id, id);
        store::insert(
            &mut tx,
            principal.tenant_id,
            &NewEndpoint {
                id,
                url: &url,
                description: &description,
                events: &events,
                secret: &sealed,
            },
        )
        .await?;
        let endpoint = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "webhook.created", "webhook", id).after(&endpoint),
        )
        .await?;
        tx.commit().await?;
        Ok(EndpointWithSecret { endpoint, secret })
    }

    pub async fn update_webhook(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &WebhookUpdateRequest,
        origin: &Origin,
    ) -> Result<Endpoint, AppError> {
        principal.require(Permission::WebhooksManage)?;
        let mut v = Validator::default();
        let url = request
            .url
            .as_deref()
            .and_then(|url| self.check_endpoint_url(&mut v, url));
        let events = request.events.as_deref().map(|e| check_events(&mut v, e));
        let description = request
            .description
            .as_deref()
            .map(|d| v.optional_text("description", Some(d), 500).unwrap_or_default());
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = store::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        store::update(
            &mut tx,
            id,
            &EndpointChange {
                url: url.as_deref(),
                description: description.as_deref(),
                events: events.as_deref(),
                secret: None,
            },
        )
        .await?;
        if let Some(enabled) = request.enabled.filter(|e| *e != before.enabled) {
            let reason = (!enabled).then(|| format!("turned off by user {}", principal.user_id));
            store::set_enabled(&mut tx, id, enabled, reason.as_deref()).await?;
            if !enabled {
                store::abandon_pending(&mut tx, id, "endpoint turned off").await?;
            }
        }
        let after = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "webhook.updated", "webhook", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_webhook(
        &self,
        principal: &Principal,
        id: Uuid,
        origin: &Origin,
    ) -> Result<(), AppError> {
        principal.require(Permission::WebhooksManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = store::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        store::delete(&mut tx, id).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "webhook.deleted", "webhook", id).before(&before),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replace an endpoint's signing secret; the old one stops at once.
    pub async fn rotate_webhook_secret(
        &self,
        principal: &Principal,
        id: Uuid,
        origin: &Origin,
    ) -> Result<EndpointWithSecret, AppError> {
        principal.require(Permission::WebhooksManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        store::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let (secret, sealed) = self.new_secret(principal.tenant_id, id);
        store::update(
            &mut tx,
            id,
            &EndpointChange {
                secret: Some(&sealed),
                ..EndpointChange::default()
            },
        )
        .await?;
        let endpoint = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "webhook.secret_rotated", "webhook", id),
        )
        .await?;
        tx.commit().await?;
        Ok(EndpointWithSecret { endpoint, secret })
    }

    /// An endpoint's latest deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        principal: &Principal,
        id: Uuid,
        limit: Option<i64>,
    ) -> Result<Vec<Delivery>, AppError> {
        principal.require(Permission::WebhooksManage)?;
        let limit = limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(AppError::invalid("limit", "must be 1 to 200"));
        }
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let list = store::deliveries(&mut tx, id, limit).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Plan a delivery of `event` to each enabled endpoint subscribed to it
    /// when it happened, in the transaction that handles the event.
    pub(crate) async fn plan_webhooks(
        &self,
        tx: &mut PgConnection,
        tenant: Uuid,
        event: &DomainEvent,
    ) -> Result<(), JobFailure> {
        let endpoints = store::subscribers(tx, &event.kind, event.created_at).await?;
        if endpoints.is_empty() {
            return Ok(());
        }
        let body = serde_json::json!({
            "id": event.id,
            "type": event.kind,
            "created_at": event.created_at,
            "business_id": tenant,
            "subject": { "type": subject_type(&event.kind), "id": event.subject_id },
            "data": event.payload,
        });
        for endpoint in endpoints {
            let id = Uuid::now_v7();
            if store::insert_delivery(tx, tenant, id, endpoint, event.id, &event.kind, &body).await? {
                jobs_store::enqueue(
                    tx,
                    &NewJob {
                        queue: "webhooks",
                        kind: "webhook.deliver",
                        tenant_id: Some(tenant),
                        payload: serde_json::json!({ "delivery_id": id }),
                        run_at: Utc::now(),
                        max_attempts: self.webhooks.settings.max_attempts,
                        timeout_secs: (self.webhooks.settings.timeout_secs + 20) as i32,
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Send one delivery. No transaction is held while the endpoint answers:
    /// the job's lease keeps other workers off it.
    pub(crate) async fn deliver_webhook(&self, job: &Job) -> Result<(), JobFailure> {
        let (tenant, id) = crate::notifications::ids(job, "delivery_id")?;
        let mut tx = self.pools.begin(tenant).await?;
        let Some(delivery) = store::delivery(&mut tx, id).await? else {
            return Ok(());
        };
        if delivery.status != "pending" {
            return Ok(());
        }
        let endpoint = store::get(&mut tx, delivery.endpoint_id).await?;
        let Some(endpoint) = endpoint.filter(|e| e.enabled) else {
            store::abandon_pending(&mut tx, delivery.endpoint_id, "endpoint turned off").await?;
            tx.commit().await?;
            return Ok(());
        };
        let sealed = store::secret(&mut tx, endpoint.id).await?;
        tx.commit().await?;
        let secret = sealed
            .ok_or_else(|| JobFailure::permanent("the endpoint has no secret"))
            .and_then(|s| {
                self.protection
                    .open(
                        &Sealed {
                            key_id: s.secret_key_id,
                            bytes: s.secret_sealed,
                        },
                        &seal_context(tenant, endpoint.id),
                    )
                    .map_err(|e| JobFailure::permanent(format!("the endpoint's secret: {e}")))
            })?;
        let answer = self.webhooks.post(&endpoint.url, &delivery, &secret).await;

        let mut tx = self.pools.begin(tenant).await?;
        let Some(endpoint) = store::lock(&mut tx, endpoint.id).await? else {
            return Ok(());
        };
        let (status, error) = match answer {
            Ok(status) if (200..300).contains(&status) => {
                store::record_attempt(&mut tx, id, "delivered", Some(i32::from(status)), None).await?;
                store::record_success(&mut tx, endpoint.id).await?;
                tx.commit().await?;
                return Ok(());
            }
            Ok(status) => (Some(i32::from(status)), format!("HTTP {status}")),
            Err(error) => (None, error),
        };
        let (failures, since) = store::record_failure(&mut tx, endpoint.id).await?;
        let settings = &self.webhooks.settings;
        let sustained = failures >= settings.disable_after_failures as i32
            && Utc::now() - since >= chrono::Duration::hours(i64::from(settings.disable_after_hours));
        if sustained && endpoint.enabled {
            store::record_attempt(&mut tx, id, "failed", status, Some(&error)).await?;
            self.disable_endpoint(&mut tx, tenant, &endpoint, failures, since, &error)
                .await?;
            tx.commit().await?;
            return Ok(());
        }
        let last = job.attempts >= job.max_attempts;
        store::record_attempt(
            &mut tx,
            id,
            if last { "failed" } else { "pending" },
            status,
            Some(&error),
        )
        .await?;
        tx.commit().await?;
        Err(JobFailure::transient(format!("webhook: {error}")))
    }

    async fn disable_endpoint(
        &self,
        tx: &mut PgConnection,
        tenant: Uuid,
        endpoint: &Endpoint,
        failures: i32,
        since: DateTime<Utc>,
        last_error: &str,
    ) -> Result<(), JobFailure> {
        let reason = format!(
            "{failures} failed attempts in a row since {}; the last: {last_error}",
            since.format("%Y-%m-%d %H:%M:%S UTC")
        );
        store::set_enabled(tx, endpoint.id, false, Some(&reason)).await?;
        let abandoned = store::abandon_pending(tx, endpoint.id, "endpoint turned off after failing").await?;
        audit::record(
            tx,
            tenant,
            &Origin::default(),
            Event::new(Actor::System, "webhook.disabled", "webhook", endpoint.id)
                .before(serde_json::json!({ "enabled": true }))
                .after(serde_json::json!({
                    "enabled": false, "reason": reason, "abandoned_deliveries": abandoned,
                })),
        )
        .await?;
        tracing::warn!(
            tenant_id = %tenant,
            endpoint_id = %endpoint.id,
            failures,
            "webhook endpoint turned off after failing"
        );
        Ok(())
    }
}

impl Webhooks {
    /// POST a delivery; the answer's status, or why there was none.
    async fn post(&self, url: &str, delivery: &Delivery, secret: &str) -> Result<u16, String> {
        let body = serde_json::to_vec(&delivery.body).map_err(|e| e.to_string())?;
        let timestamp = Utc::now().timestamp();
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let span = tracing::info_span!(
            "http",
            otel.name = "POST webhook",
            otel.kind = "client",
            http.request.method = "POST",
            server.address = %host,
        );
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("ftry-event", &delivery.event)
            .header("ftry-delivery", delivery.id.to_string())
            .header("ftry-signature", signature(secret, timestamp, &body))
            .body(body)
            .send()
            .instrument(span)
            .await;
        match sent {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) if error.is_timeout() => Err("timed out".into()),
            Err(error) if error.is_connect() => Err(format!("could not connect: {}", root_cause(&error))),
            Err(error) => Err(root_cause(&error)),
        }
    }
}

/// The innermost cause of an error: "Connection refused (os error 111)"
/// rather than reqwest's outer "error sending request".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_the_timestamp_and_the_body() {
        // HMAC-SHA256("key", "1700000000.{}"), computed independently.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1700000000.{}");
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            signature("key", 1_700_000_000, b"{}"),
            format!("t=1700000000,v1={expected}")
        );
        assert_ne!(
            signature("key", 1_700_000_001, b"{}"),
            signature("key", 1_700_000_000, b"{}")
        );
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_only_to_internal_addresses_are_not_reached() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let refused = PublicOnly
            .resolve(name)
            .await
            .err()
            .expect("localhost resolves to loopback only");
        assert_eq!(refused.to_string(), "localhost has no public address");
    }

    #[test]
    fn events_are_names_groups_or_everything() {
        let mut v = Validator::default();
        let picked = check_events(
            &mut v,
            &[
                "appointment.*".into(),
                "client.created".into(),
                "client.created".into(),
                "*".into(),
            ],
        );
        assert_eq!(picked, ["appointment.*", "client.created", "*"]);
        assert!(v.finish().is_ok());
        let mut v = Validator::default();
        check_events(&mut v, &["appointment.eaten".into(), "stock.*".into()]);
        let Err(AppError::Validation(errors)) = v.finish() else {
            panic!("unknown events pass")
        };
        assert_eq!(errors.len(), 2);
    }
}
