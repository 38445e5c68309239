//! SMS providers: Twilio, MSG91 (its Flow API) and a generic HTTP provider,
//! with India's DLT registration (the sender's entity id and each
//! template's id).
//!
//! Texts are fixed per event (see [`text`]); in India each must be
//! registered as a DLT template, whose id the settings give per event.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono_tz::Tz;
use ftry_store::notifications::VisitContext;
use tracing::Instrument;
use uuid::Uuid;

use crate::notifications::{provider_api, provider_span, refusal, NotificationSettings, SendError};
use crate::settings::Secret;

/// The events an SMS is sent for, each with its own template.
pub const EVENTS: [&str; 5] = [
    "booking_confirmed",
    "reminder",
    "rescheduled",
    "cancelled",
    "no_show_follow_up",
];

/// The configured SMS provider.
pub enum Sms {
    Twilio(Twilio),
    Msg91(Msg91),
    Http(HttpSms),
}

/// India's DLT registration: the sender's entity id and each event's
/// template id.
#[derive(Debug, Clone, Default)]
pub struct Dlt {
    pub entity_id: String,
    pub template_ids: BTreeMap<String, String>,
}

/// Twilio's Messages API.
pub struct Twilio {
    client: reqwest::Client,
    /// `{api}/2010-04-01/Accounts/{sid}/Messages.json`
    endpoint: String,
    account_sid: String,
    token: Secret,
    from: String,
}

/// MSG91's Flow API: one MSG91 template per event (each linked, in MSG91,
/// to its DLT template), with the variables `business`, `services`, `when`.
pub struct Msg91 {
    client: reqwest::Client,
    /// `{api}/api/v5/flow`
    endpoint: String,
    auth_key: Secret,
    template_ids: BTreeMap<String, String>,
}

/// A provider of the business's choosing, sent a documented JSON body.
pub struct HttpSms {
    client: reqwest::Client,
    url: String,
    authorization: Option<Secret>,
    sender: Option<String>,
    /// Where in the answer the provider's message id is (a JSON pointer).
    message_id_pointer: String,
    dlt: Option<Dlt>,
}

/// A DLT id: 1–30 digits.
pub(crate) fn digits(text: &str) -> bool {
    (1..=30).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// Every SMS event has an entry in `map`, and nothing else does.
fn per_event(key: &str, map: &BTreeMap<String, String>, valid: fn(&str) -> bool) -> Result<(), String> {
    if let Some(unknown) = map.keys().find(|k| !EVENTS.contains(&k.as_str())) {
        return Err(format!(
            "notifications.{key}.{unknown}: not an SMS event; expected {}",
            EVENTS.join(", ")
        ));
    }
    for event in EVENTS {
        match map.get(event) {
            Some(id) if valid(id) => {}
            Some(_) => return Err(format!("notifications.{key}.{event}: expected the template's id")),
            None => {
                return Err(format!(
                    "notifications.{key}.{event}: expected a template id for every SMS event ({})",
                    EVENTS.join(", ")
                ))
            }
        }
    }
    Ok(())
}

/// The SMS provider the settings describe, checked; `None` when SMS is off.
pub fn resolve(s: &NotificationSettings) -> Result<Option<Sms>, String> {
    let twilio = s.twilio_account_sid.is_some() || s.twilio_auth_token.is_some() || s.twilio_from.is_some();
    let msg91 = s.msg91_auth_key.is_some();
    let http = s.sms_http_url.is_some();
    let provider = match s.sms_provider.as_deref() {
        Some(p @ ("twilio" | "msg91" | "http")) => p,
        Some(_) => return Err("notifications.sms_provider: expected twilio, msg91 or http".into()),
        None => match (twilio, msg91, http) {
            (false, false, false) => "",
            (true, false, false) => "twilio",
            (false, true, false) => "msg91",
            (false, false, true) => "http",
            _ => {
                return Err(
                    "notifications.sms_provider: expected twilio, msg91 or http, to choose between the SMS providers configured"
                        .into(),
                )
            }
        },
    };
    let dlt = match &s.dlt_entity_id {
        None if s.dlt_template_ids.is_empty() => None,
        None => {
            return Err(
                "notifications.dlt_entity_id: expected the sender's DLT entity id (digits) with notifications.dlt_template_ids"
                    .into(),
            )
        }
        Some(entity) if digits(entity) => {
            per_event("dlt_template_ids", &s.dlt_template_ids, digits)?;
            Some(Dlt {
                entity_id: entity.clone(),
                template_ids: s.dlt_template_ids.clone(),
            })
        }
        Some(_) => return Err("notifications.dlt_entity_id: expected the sender's DLT entity id (digits)".into()),
    };
    Ok(match provider {
        "" => None,
        "twilio" => match (&s.twilio_account_sid, &s.twilio_auth_token, &s.twilio_from) {
            (Some(sid), Some(token), Some(from))
                if sid.starts_with("AC") && sid.len() == 34 && sid.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                let (client, api) = provider_api("twilio_api_url", &s.twilio_api_url, "https://api.twilio.com")?;
                Some(Sms::Twilio(Twilio {
                    client,
                    endpoint: format!("{api}/2010-04-01/Accounts/{sid}/Messages.json"),
                    account_sid: sid.clone(),
                    token: token.clone(),
                    from: from.clone(),
                }))
            }
            _ => {
                return Err("notifications.twilio_account_sid: expected an account SID (AC…, 34 characters) together with notifications.twilio_auth_token and notifications.twilio_from".into())
            }
        },
        "msg91" => {
            let Some(auth_key) = s.msg91_auth_key.clone().filter(|k| !k.expose().is_empty()) else {
                return Err("notifications.msg91_auth_key: expected MSG91's auth key".into());
            };
            per_event("msg91_template_ids", &s.msg91_template_ids, |id| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
            })?;
            let (client, api) = provider_api("msg91_api_url", &s.msg91_api_url, "https://control.msg91.com")?;
            Some(Sms::Msg91(Msg91 {
                client,
                endpoint: format!("{api}/api/v5/flow"),
                auth_key,
                template_ids: s.msg91_template_ids.clone(),
            }))
        }
        _ => {
            let url = s.sms_http_url.as_deref().unwrap_or_default();
            let (client, url) = provider_api("sms_http_url", url, "https://sms.example.com/send")?;
            if !s.sms_http_message_id_pointer.starts_with('/') {
                return Err(
                    "notifications.sms_http_message_id_pointer: expected a JSON pointer such as /message_id".into(),
                );
            }
            Some(Sms::Http(HttpSms {
                client,
                url: url.to_owned(),
                authorization: s.sms_http_authorization.clone(),
                sender: s.sms_http_sender.clone(),
                message_id_pointer: s.sms_http_message_id_pointer.clone(),
                dlt,
            }))
        }
    })
}

/// The visit's local date and time, short.
fn when(visit: &VisitContext) -> String {
    let tz = Tz::from_str(&visit.timezone).unwrap_or(chrono_tz::Asia::Kolkata);
    visit
        .starts_at
        .with_timezone(&tz)
        .format("%a %-d %b, %-I:%M %p")
        .to_string()
}

/// The text of an SMS: no client name (it travels through the carrier),
/// the business, what and when.
pub fn text(event: &str, visit: &VisitContext) -> String {
    let when = when(visit);
    let services = visit.services.join(", ");
    match event {
        "booking_confirmed" => format!("{}: booked {services} on {when}.", visit.business),
        "reminder" => format!("{}: reminder, {services} on {when}.", visit.business),
        "rescheduled" => format!("{}: your visit moved to {when}.", visit.business),
        "no_show_follow_up" => format!(
            "{}: we missed you on {when}. Book again any time.",
            visit.business
        ),
        _ => format!("{}: your visit on {when} is cancelled.", visit.business),
    }
}

/// A business's own wording of an SMS, filled in.
#[derive(Debug, Clone)]
pub struct CustomSms {
    pub text: String,
    /// MSG91's template id.
    pub provider_template: Option<String>,
    pub dlt_template_id: Option<String>,
    /// The business's DLT sender entity.
    pub dlt_entity_id: Option<String>,
}

/// The provider's answer as JSON (`null` when it is not JSON).
async fn answer(response: reqwest::Response) -> (reqwest::StatusCode, serde_json::Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

impl Sms {
    /// Send one message; the provider's name and message id. `id` (the
    /// notification's) is the idempotency key where the provider takes one.
    pub(crate) async fn send(
        &self,
        id: Uuid,
        event: &str,
        phone: &str,
        visit: &VisitContext,
        status_callback: &str,
        custom: Option<&CustomSms>,
    ) -> Result<(&'static str, String), SendError> {
        let text = match custom {
            Some(custom) => custom.text.clone(),
            None => text(event, visit),
        };
        match self {
            Sms::Twilio(twilio) => twilio.send(id, &text, phone, status_callback).await,
            Sms::Msg91(msg91) => msg91.send(event, phone, visit, custom).await,
            Sms::Http(http) => http.send(id, event, &text, phone, custom).await,
        }
    }
}

impl Twilio {
    /// The auth token, which also signs Twilio's status callbacks.
    pub fn auth_token(&self) -> &Secret {
        &self.token
    }

    /// Twilio takes the notification's id as an idempotency token, so a
    /// retry after a lost answer is not sent twice; it reports on delivery
    /// to `status_callback`.
    async fn send(
        &self,
        id: Uuid,
        text: &str,
        phone: &str,
        status_callback: &str,
    ) -> Result<(&'static str, String), SendError> {
        let response = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.account_sid, Some(self.token.expose()))
            .header("I-Twilio-Idempotency-Token", id.to_string())
            .form(&[
                ("To", phone),
                ("From", self.from.as_str()),
                ("Body", text),
                ("StatusCallback", status_callback),
            ])
            .send()
            .instrument(provider_span("twilio", &self.endpoint))
            .await
            .map_err(|e| SendError::Transient(format!("sms: {e}")))?;
        let (status, answer) = answer(response).await;
        if status.is_success() {
            return match answer["sid"].as_str() {
                Some(sid) => Ok(("twilio", sid.to_owned())),
                None => Err(SendError::Transient("sms: accepted without a message sid".into())),
            };
        }
        let detail = answer["message"].as_str().unwrap_or("no detail");
        let code = answer["code"]
            .as_i64()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        Err(refusal(
            status,
            format!("sms: HTTP {}{code}: {detail}", status.as_u16()),
        ))
    }
}

impl Msg91 {
    /// MSG91 takes no idempotency key: a retry after a lost answer can send
    /// the message twice.
    async fn send(
        &self,
        event: &str,
        phone: &str,
        visit: &VisitContext,
        custom: Option<&CustomSms>,
    ) -> Result<(&'static str, String), SendError> {
        let template = custom
            .and_then(|c| c.provider_template.clone())
            .or_else(|| self.template_ids.get(event).cloned())
            .unwrap_or_default();
        let body = serde_json::json!({
            "template_id": template,
            "short_url": "0",
            "recipients": [{
                "mobiles": phone.trim_start_matches('+'),
                "business": visit.business,
                "services": visit.services.join(", "),
                "when": when(visit),
            }],
        });
        let response = self
            .client
            .post(&self.endpoint)
            .header("authkey", self.auth_key.expose())
            .header("accept", "application/json")
            .json(&body)
            .send()
            .instrument(provider_span("msg91", &self.endpoint))
            .await
            .map_err(|e| SendError::Transient(format!("sms: {e}")))?;
        let (status, answer) = answer(response).await;
        let detail = answer["message"].as_str().unwrap_or("no detail");
        // MSG91 answers some refusals with 200 and `"type": "error"`.
        match (status.is_success(), answer["type"].as_str()) {
            (true, Some("success")) => Ok(("msg91", detail.to_owned())),
            (true, _) => Err(SendError::Permanent(format!("sms: msg91 refused: {detail}"))),
            (false, _) => Err(refusal(
                status,
                format!("sms: HTTP {}: {detail}", status.as_u16()),
            )),
        }
    }
}

impl HttpSms {
    async fn send(
        &self,
        id: Uuid,
        event: &str,
        text: &str,
        phone: &str,
        custom: Option<&CustomSms>,
    ) -> Result<(&'static str, String), SendError> {
        // A business's own wording carries its own DLT ids (its sender's
        // entity and the text's template); ftry's wording the installation's.
        let (entity, template) = match custom {
            Some(custom) => (
                custom
                    .dlt_entity_id
                    .clone()
                    .or_else(|| self.dlt.as_ref().map(|d| d.entity_id.clone())),
                custom.dlt_template_id.clone(),
            ),
            None => (
                self.dlt.as_ref().map(|d| d.entity_id.clone()),
                self.dlt.as_ref().and_then(|d| d.template_ids.get(event).cloned()),
            ),
        };
        let body = serde_json::json!({
            "to": phone,
            "text": text,
            "sender": self.sender,
            "reference": id,
            "dlt_entity_id": entity,
            "dlt_template_id": template,
        });
        let mut request = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", id.to_string())
            .json(&body);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization.expose());
        }
        let response = request
            .send()
            .instrument(provider_span("sms", &self.url))
            .await
            .map_err(|e| SendError::Transient(format!("sms: {e}")))?;
        let (status, answer) = answer(response).await;
        if status.is_success() {
            let message_id = match answer.pointer(&self.message_id_pointer) {
                Some(serde_json::Value::String(id)) => id.clone(),
                Some(serde_json::Value::Number(id)) => id.to_string(),
                // Accepted without an id: the reference identifies it.
                _ => id.to_string(),
            };
            return Ok(("http", message_id));
        }
        let detail = ["/message", "/error/message", "/error"]
            .iter()
            .find_map(|p| answer.pointer(p).and_then(serde_json::Value::as_str))
            .unwrap_or("no detail");
        Err(refusal(
            status,
            format!("sms: HTTP {}: {detail}", status.as_u16()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dlt_ids() -> BTreeMap<String, String> {
        EVENTS
            .iter()
            .enumerate()
            .map(|(i, e)| (e.to_string(), format!("110716000000000000{i}")))
            .collect()
    }

    fn error(settings: NotificationSettings) -> String {
        match resolve(&settings) {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn no_provider_configured_means_no_sms() {
        assert!(resolve(&NotificationSettings::default()).unwrap().is_none());
    }

    #[test]
    fn settings_that_cannot_be_understood_name_their_key() {
        let http = || NotificationSettings {
            sms_http_url: Some("https://sms.example.com/send".into()),
            ..Default::default()
        };
        assert!(matches!(resolve(&http()), Ok(Some(Sms::Http(_)))));
        assert!(error(NotificationSettings {
            msg91_auth_key: Some(Secret::new("k")),
            ..http()
        })
        .starts_with("notifications.sms_provider:"));
        assert!(error(NotificationSettings {
            sms_provider: Some("carrier-pigeon".into()),
            ..http()
        })
        .starts_with("notifications.sms_provider:"));
        assert!(error(NotificationSettings {
            dlt_template_ids: dlt_ids(),
            ..http()
        })
        .starts_with("notifications.dlt_entity_id:"));
        assert!(error(NotificationSettings {
            dlt_entity_id: Some("ENTITY".into()),
            dlt_template_ids: dlt_ids(),
            ..http()
        })
        .starts_with("notifications.dlt_entity_id:"));
        let mut missing = dlt_ids();
        missing.remove("reminder");
        assert_eq!(
            error(NotificationSettings {
                dlt_entity_id: Some("1101234567890123456".into()),
                dlt_template_ids: missing,
                ..http()
            }),
            "notifications.dlt_template_ids.reminder: expected a template id for every SMS event \
             (booking_confirmed, reminder, rescheduled, cancelled, no_show_follow_up)"
        );
        let mut unknown = dlt_ids();
        unknown.insert("birthday".into(), "1".into());
        assert!(error(NotificationSettings {
            dlt_entity_id: Some("1101234567890123456".into()),
            dlt_template_ids: unknown,
            ..http()
        })
        .starts_with("notifications.dlt_template_ids.birthday: not an SMS event"));
        assert!(error(NotificationSettings {
            msg91_auth_key: Some(Secret::new("k")),
            ..Default::default()
        })
        .starts_with("notifications.msg91_template_ids.booking_confirmed:"));
        assert!(error(NotificationSettings {
            sms_http_message_id_pointer: "id".into(),
            ..http()
        })
        .starts_with("notifications.sms_http_message_id_pointer:"));
        assert!(matches!(
            resolve(&NotificationSettings {
                dlt_entity_id: Some("1101234567890123456".into()),
                dlt_template_ids: dlt_ids(),
                ..http()
            }),
            Ok(Some(Sms::Http(HttpSms { dlt: Some(_), .. })))
        ));
    }
}
