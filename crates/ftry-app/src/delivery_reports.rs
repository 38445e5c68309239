//! What message providers report after taking a message: delivered, read,
//! or not delivered after all. WhatsApp (Meta's webhook, signed with the
//! app's secret), Twilio (status callbacks, signed with the auth token),
//! MSG91 (its delivery-report webhook, to a URL carrying a token) and the
//! generic HTTP provider (signed with a shared secret) post their reports
//! here; each is checked, then recorded on the message it names, never
//! moving a message backwards (reports arrive out of order).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use ftry_store::notifications as store;
use ftry_store::PoolName;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use crate::error::AppError;
use crate::sms::Sms;
use crate::App;

/// Where Meta posts WhatsApp delivery reports (and checks the subscription).
pub const WHATSAPP_PATH: &str = "/api/v1/hooks/whatsapp";
/// Where Twilio posts its status callbacks; each SMS names this URL.
pub const TWILIO_STATUS_PATH: &str = "/api/v1/hooks/twilio/status";
/// Where MSG91 posts delivery reports (its webhook, version 2).
pub const MSG91_PATH: &str = "/api/v1/hooks/msg91";
/// Where the generic SMS provider posts delivery reports.
pub const SMS_HTTP_PATH: &str = "/api/v1/hooks/sms";

/// One provider report about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub provider: &'static str,
    pub message_id: String,
    /// `sent`, `delivered`, `read`, `undelivered` or `failed`.
    pub status: &'static str,
    pub at: DateTime<Utc>,
    pub error: Option<String>,
}

fn bad_signature() -> AppError {
    AppError::unauthorized(
        "bad_signature",
        "The request's signature does not match its body.",
    )
}

/// Whether a token a provider sent is the configured one; digests compared,
/// so no timing tells how much of it matched.
fn same_token(given: &str, expected: &crate::settings::Secret) -> bool {
    crate::tokens::sha256(given) == crate::tokens::sha256(expected.expose())
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, compared
/// in constant time.
pub fn hub_signature_matches(secret: &str, header: &str, body: &[u8]) -> bool {
    let Some(signature) = header.strip_prefix("sha256=").and_then(hex) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// `X-Twilio-Signature`: base64 of HMAC-SHA1, under the auth token, of the
/// URL followed by each POST parameter's name and value, sorted by name;
/// compared in constant time.
pub fn twilio_signature_matches(token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    let Ok(signature) = B64.decode(header.trim()) else {
        return false;
    };
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.verify_slice(&signature).is_ok()
}

/// The statuses in a WhatsApp Cloud API webhook body; anything else in it
/// (incoming messages) is not ftry's business.
pub fn whatsapp_reports(body: &serde_json::Value) -> Vec<Report> {
    let mut reports = Vec::new();
    let empty = Vec::new();
    for entry in body["entry"].as_array().unwrap_or(&empty) {
        for change in entry["changes"].as_array().unwrap_or(&empty) {
            for status in change["value"]["statuses"].as_array().unwrap_or(&empty) {
                let state = match status["status"].as_str() {
                    Some("sent") => "sent",
                    Some("delivered") => "delivered",
                    Some("read") => "read",
                    Some("failed") => "failed",
                    _ => continue,
                };
                let Some(id) = status["id"].as_str() else {
                    continue;
                };
                let at = status["timestamp"]
                    .as_str()
                    .and_then(|t| t.parse::<i64>().ok())
                    .and_then(|t| Utc.timestamp_opt(t, 0).single())
                    .unwrap_or_else(Utc::now);
                let error = status["errors"][0].as_object().map(|e| {
                    let code = e
                        .get("code")
                        .and_then(serde_json::Value::as_i64)
                        .unwrap_or_default();
                    let title = e
                        .get("title")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("no detail");
                    format!("whatsapp: ({code}) {title}")
                });
                reports.push(Report {
                    provider: "whatsapp",
                    message_id: id.to_owned(),
                    status: state,
                    at,
                    error,
                });
            }
        }
    }
    reports
}

/// The reports in MSG91's delivery-report webhook (version 2): a form whose
/// `data` is a JSON list of requests, each with a report per number. A
/// report's `date` is India's local time.
pub fn msg91_reports(form: &[(String, String)]) -> Result<Vec<Report>, AppError> {
    let data = form
        .iter()
        .find(|(name, _)| name == "data")
        .ok_or_else(|| AppError::invalid("data", "is required"))?;
    let requests: Vec<serde_json::Value> = serde_json::from_str(&data.1)
        .map_err(|e| AppError::invalid("data", format!("is not a JSON list: {e}")))?;
    let mut reports = Vec::new();
    for request in &requests {
        let Some(id) = request["requestId"].as_str() else {
            continue;
        };
        for report in request["report"].as_array().into_iter().flatten() {
            let desc = report["desc"].as_str().unwrap_or("no detail");
            let status = match report["status"].as_str() {
                Some("1") => "delivered",
                Some("8") => "sent",
                Some("2") => "failed",
                // Do-not-disturb, blocked or rejected numbers.
                Some("9" | "16" | "17" | "25" | "26") => "undelivered",
                _ => continue,
            };
            let at = report["date"]
                .as_str()
                .and_then(|d| chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").ok())
                .and_then(|d| chrono_tz::Asia::Kolkata.from_local_datetime(&d).earliest())
                .map_or_else(Utc::now, |d| d.with_timezone(&Utc));
            let reason = report["failedReason"].as_str().filter(|r| !r.is_empty());
            let error = match (status, reason) {
                ("delivered" | "sent", _) => None,
                (_, Some(reason)) => Some(format!("msg91: {desc}: {reason}")),
                (_, None) => Some(format!("msg91: {desc}")),
            };
            reports.push(Report {
                provider: "msg91",
                message_id: id.to_owned(),
                status,
                at,
                error,
            });
        }
    }
    Ok(reports)
}

/// The reports a generic SMS provider posts: one object or a list of them,
/// `{"id", "status", "at"?, "error"?}`, `id` being the message id its send
/// answer gave (or ftry's reference when it gave none).
pub fn sms_http_reports(body: &serde_json::Value) -> Result<Vec<Report>, AppError> {
    let list = match body {
        serde_json::Value::Array(list) => list.as_slice(),
        object @ serde_json::Value::Object(_) => std::slice::from_ref(object),
        _ => return Err(AppError::invalid("body", "must be a report or a list of reports")),
    };
    let mut reports = Vec::new();
    for (i, report) in list.iter().enumerate() {
        let id = match &report["id"] {
            serde_json::Value::String(id) => id.clone(),
            serde_json::Value::Number(id) => id.to_string(),
            _ => return Err(AppError::invalid(&format!("{i}.id"), "is required")),
        };
        let status = match report["status"].as_str() {
            Some("sent") => "sent",
            Some("delivered") => "delivered",
            Some("read") => "read",
            Some("undelivered") => "undelivered",
            Some("failed") => "failed",
            // queued, accepted…: nothing to record.
            _ => continue,
        };
        let at = match report["at"].as_str() {
            Some(at) => DateTime::parse_from_rfc3339(at)
                .map_err(|_| AppError::invalid(&format!("{i}.at"), "must be an RFC 3339 time"))?
                .with_timezone(&Utc),
            None => Utc::now(),
        };
        reports.push(Report {
            provider: "http",
            message_id: id,
            status,
            at,
            error: report["error"].as_str().map(|e| format!("sms: {e}")),
        });
    }
    Ok(reports)
}

impl App {
    /// MSG91's delivery-report webhook: the URL's token checked, its reports
    /// recorded. How many changed a message.
    pub async fn msg91_delivery_reports(&self, token: Option<&str>, body: &[u8]) -> Result<usize, AppError> {
        let Some(expected) = &self.notifier.msg91_report_token else {
            return Err(AppError::NotFound);
        };
        if !token.is_some_and(|t| same_token(t, expected)) {
            return Err(bad_signature());
        }
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        self.record_reports(msg91_reports(&form)?).await
    }

    /// A generic SMS provider's reports: `X-Ftry-Signature: sha256=<hex
    /// HMAC-SHA256 of the body>` under `notifications.sms_http_report_secret`.
    pub async fn sms_http_delivery_reports(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<usize, AppError> {
        let Some(secret) = &self.notifier.sms_http_report_secret else {
            return Err(AppError::NotFound);
        };
        if !signature.is_some_and(|s| hub_signature_matches(secret.expose(), s, body)) {
            return Err(bad_signature());
        }
        let body: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| AppError::invalid("body", format!("is not JSON: {e}")))?;
        self.record_reports(sms_http_reports(&body)?).await
    }

    /// Meta's subscription handshake: the challenge back, when the token is
    /// the configured one.
    pub fn whatsapp_handshake(
        &self,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, AppError> {
        let Some((_, Some(expected))) = &self.notifier.whatsapp_reports else {
            return Err(AppError::NotFound);
        };
        match (mode, token, challenge) {
            (Some("subscribe"), Some(token), Some(challenge)) if same_token(token, expected) => {
                Ok(challenge.to_owned())
            }
            _ => Err(AppError::forbidden(
                "bad_verify_token",
                "The subscription's verify token is not the configured one.",
            )),
        }
    }

    /// A WhatsApp webhook delivery: checked against the app secret, its
    /// statuses recorded. How many changed a message.
    pub async fn whatsapp_delivery_reports(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<usize, AppError> {
        let Some((secret, _)) = &self.notifier.whatsapp_reports else {
            return Err(AppError::NotFound);
        };
        if !signature.is_some_and(|s| hub_signature_matches(secret.expose(), s, body)) {
            return Err(bad_signature());
        }
        let body: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| AppError::invalid("body", format!("is not JSON: {e}")))?;
        self.record_reports(whatsapp_reports(&body)).await
    }

    /// A Twilio status callback: checked against the auth token and the URL
    /// it was posted to, recorded.
    pub async fn twilio_status_callback(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<usize, AppError> {
        let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let params = params.as_slice();
        let Some(Sms::Twilio(twilio)) = &self.notifier.sms else {
            return Err(AppError::NotFound);
        };
        let url = format!(
            "{}{TWILIO_STATUS_PATH}",
            self.settings.public_url.trim_end_matches('/')
        );
        if !signature.is_some_and(|s| twilio_signature_matches(twilio.auth_token().expose(), &url, params, s))
        {
            return Err(bad_signature());
        }
        let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let status = match param("MessageStatus") {
            Some("sent") => "sent",
            Some("delivered") => "delivered",
            Some("read") => "read",
            Some("undelivered") => "undelivered",
            Some("failed") => "failed",
            // queued, sending, accepted…: nothing to record.
            _ => return Ok(0),
        };
        let Some(sid) = param("MessageSid") else {
            return Err(AppError::invalid("MessageSid", "is required"));
        };
        let error = param("ErrorCode")
            .filter(|c| !c.is_empty())
            .map(|code| format!("twilio: error {code}"));
        self.record_reports(vec![Report {
            provider: "twilio",
            message_id: sid.to_owned(),
            status,
            at: Utc::now(),
            error,
        }])
        .await
    }

    async fn record_reports(&self, reports: Vec<Report>) -> Result<usize, AppError> {
        let mut changed = 0;
        for report in reports {
            let found = {
                let mut conn = self.pools.acquire(PoolName::App).await?;
                store::by_provider_message(&mut conn, report.provider, &report.message_id).await?
            };
            // A message ftry does not know (another system's, or long gone):
            // acknowledged, so the provider stops reporting it.
            let Some((tenant, id)) = found else {
                tracing::info!(
                    provider = report.provider,
                    "delivery report for an unknown message ignored"
                );
                continue;
            };
            let mut tx = self.pools.begin(tenant).await?;
            if store::record_delivery(&mut tx, id, report.status, report.at, report.error.as_deref()).await? {
                changed += 1;
            }
            tx.commit().await?;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_signature_is_the_hmac_of_the_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"app-secret").unwrap();
        mac.update(b"{\"entry\":[]}");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(hub_signature_matches(
            "app-secret",
            &format!("sha256={hex}"),
            b"{\"entry\":[]}"
        ));
        assert!(!hub_signature_matches(
            "app-secret",
            &format!("sha256={hex}"),
            b"{\"entry\":[1]}"
        ));
        assert!(!hub_signature_matches(
            "other",
            &format!("sha256={hex}"),
            b"{\"entry\":[]}"
        ));
        assert!(!hub_signature_matches("app-secret", &hex, b"{\"entry\":[]}"));
        assert!(!hub_signature_matches("app-secret", "sha256=zz", b""));
    }

    #[test]
    fn a_twilio_signature_covers_the_url_and_the_sorted_parameters() {
        let params = vec![
            ("MessageStatus".to_owned(), "delivered".to_owned()),
            ("MessageSid".to_owned(), "SM1".to_owned()),
        ];
        let mut mac = Hmac::<Sha1>::new_from_slice(b"token").unwrap();
        mac.update(b"https://salon.example.com/hookMessageSidSM1MessageStatusdelivered");
        let signature = B64.encode(mac.finalize().into_bytes());
        assert!(twilio_signature_matches(
            "token",
            "https://salon.example.com/hook",
            &params,
            &signature
        ));
        assert!(!twilio_signature_matches(
            "token",
            "https://salon.example.com/other",
            &params,
            &signature
        ));
        let tampered = vec![params[0].clone(), ("MessageSid".to_owned(), "SM2".to_owned())];
        assert!(!twilio_signature_matches(
            "token",
            "https://salon.example.com/hook",
            &tampered,
            &signature
        ));
    }

    #[test]
    fn msg91_reports_are_read_from_its_webhook_form_in_india_s_time() {
        let data = serde_json::json!([{
            "senderId": "FTRYSL", "requestId": "3763646c", "userId": "27", "campaignName": "Flow",
            "report": [
                {"date": "2026-12-07 10:06:20", "number": "919845000222", "status": "1", "desc": "DELIVERED",
                 "failedReason": ""},
                {"date": "2026-12-07 10:07:00", "number": "919845000223", "status": "16", "desc": "REJECTED",
                 "failedReason": "DLT template mismatch"},
                {"date": "2026-12-07 10:07:01", "number": "919845000224", "status": "5", "desc": "PENDING"},
            ],
        }]);
        let form = vec![("data".to_owned(), data.to_string())];
        let reports = msg91_reports(&form).unwrap();
        assert_eq!(
            reports,
            vec![
                Report {
                    provider: "msg91",
                    message_id: "3763646c".into(),
                    status: "delivered",
                    at: Utc.with_ymd_and_hms(2026, 12, 7, 4, 36, 20).unwrap(),
                    error: None,
                },
                Report {
                    provider: "msg91",
                    message_id: "3763646c".into(),
                    status: "undelivered",
                    at: Utc.with_ymd_and_hms(2026, 12, 7, 4, 37, 0).unwrap(),
                    error: Some("msg91: REJECTED: DLT template mismatch".into()),
                },
            ]
        );
        assert!(msg91_reports(&[("data".to_owned(), "{".to_owned())]).is_err());
        assert!(msg91_reports(&[]).is_err());
    }

    #[test]
    fn generic_reports_are_one_or_many_and_a_bad_time_is_refused() {
        let one = serde_json::json!({"id": 99120034, "status": "delivered", "at": "2026-12-07T04:36:20Z"});
        assert_eq!(
            sms_http_reports(&one).unwrap(),
            vec![Report {
                provider: "http",
                message_id: "99120034".into(),
                status: "delivered",
                at: Utc.with_ymd_and_hms(2026, 12, 7, 4, 36, 20).unwrap(),
                error: None,
            }]
        );
        let many = serde_json::json!([
            {"id": "a", "status": "queued"},
            {"id": "b", "status": "failed", "at": "2026-12-07T10:00:00+05:30", "error": "absent subscriber"},
        ]);
        assert_eq!(
            sms_http_reports(&many).unwrap(),
            vec![Report {
                provider: "http",
                message_id: "b".into(),
                status: "failed",
                at: Utc.with_ymd_and_hms(2026, 12, 7, 4, 30, 0).unwrap(),
                error: Some("sms: absent subscriber".into()),
            }]
        );
        assert!(
            sms_http_reports(&serde_json::json!({"id": "c", "status": "sent", "at": "yesterday"})).is_err()
        );
        assert!(sms_http_reports(&serde_json::json!({"status": "sent"})).is_err());
        assert!(sms_http_reports(&serde_json::json!("delivered")).is_err());
    }

    #[test]
    fn statuses_are_read_from_a_cloud_api_webhook_and_messages_are_ignored() {
        let body = serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "messages": [{"from": "919800000000", "id": "wamid.IN", "type": "text"}],
                "statuses": [
                    {"id": "wamid.A", "status": "delivered", "timestamp": "1765080000", "recipient_id": "9198"},
                    {"id": "wamid.B", "status": "failed", "timestamp": "1765080001",
                     "errors": [{"code": 131026, "title": "Message undeliverable"}]},
                    {"id": "wamid.C", "status": "deleted", "timestamp": "1765080002"},
                ],
            }}]}],
        });
        let reports = whatsapp_reports(&body);
        assert_eq!(
            reports,
            vec![
                Report {
                    provider: "whatsapp",
                    message_id: "wamid.A".into(),
                    status: "delivered",
                    at: Utc.timestamp_opt(1_765_080_000, 0).unwrap(),
                    error: None,
                },
                Report {
                    provider: "whatsapp",
                    message_id: "wamid.B".into(),
                    status: "failed",
                    at: Utc.timestamp_opt(1_765_080_001, 0).unwrap(),
                    error: Some("whatsapp: (131026) Message undeliverable".into()),
                },
            ]
        );
    }
}
