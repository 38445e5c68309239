//! A business's own messaging: when its reminders go out, its quiet hours,
//! the language it writes in, and its wording of each message per channel
//! and language. What it has not set follows the installation's settings
//! (`notifications.*`) and ftry's built-in English wording.

use chrono::{DateTime, Utc};
use ftry_domain::permissions::Permission;
use ftry_domain::templates::{self, Template, Variable};
use ftry_store::audit::{self, Event, Origin};
use ftry_store::message_templates::{self as store, MessageSettings, MessageTemplate, NewTemplate};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::error::{AppError, Validator};
use crate::notifications::QuietHours;
use crate::{App, Principal};

/// The channels a business can word messages for.
pub const CHANNELS: [&str; 3] = ["email", "sms", "whatsapp"];
/// An SMS text longer than this is refused (about six parts).
const MAX_SMS: usize = 900;
const MAX_EMAIL: usize = 5000;
/// A WhatsApp template takes at most this many body parameters.
const MAX_WHATSAPP_PARAMETERS: usize = 20;
const MAX_REMINDERS: usize = 5;

/// The business's messaging settings as they apply now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MessagingSettings {
    /// Reminders, in hours before the visit (latest last).
    pub reminder_hours: Vec<u32>,
    /// Local hours in which no reminder lands: `21:00-08:00`.
    pub quiet_hours: String,
    /// The language messages are written in when the client has none of
    /// their own (and the business has a wording in it).
    pub language: String,
    /// India's DLT: the business's registered sender entity, sent with its
    /// own SMS wording.
    pub dlt_entity_id: Option<String>,
    /// Whether the business set these, or they are the installation's.
    pub own: bool,
}

/// A change (PATCH): absent fields stay; `dlt_entity_id: null` removes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagingChange {
    /// Up to five, each 1–336 hours before the visit; `[]`: no reminders.
    pub reminder_hours: Option<Vec<u32>>,
    /// `HH:MM-HH:MM`, local time; may wrap midnight.
    pub quiet_hours: Option<String>,
    /// A language code such as `en`, `hi`, `mr` or `pt-BR`.
    pub language: Option<String>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<String>)]
    pub dlt_entity_id: Option<Option<String>>,
}

/// A business's wording of one message on one channel in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MessageTemplateView {
    /// `booking_confirmed`, `reminder`, `rescheduled`, `cancelled`,
    /// `no_show_follow_up` or `receipt`.
    pub event: String,
    /// `email`, `sms` or `whatsapp`.
    pub channel: String,
    pub language: String,
    /// Email: the subject line.
    pub subject: Option<String>,
    /// Email and SMS: the text. WhatsApp: the approved template's body
    /// parameters, one per line.
    pub body: String,
    /// WhatsApp: the approved template's name. SMS through MSG91: its
    /// template id.
    pub provider_template: Option<String>,
    /// SMS in India: the id DLT registered this text under.
    pub dlt_template_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<MessageTemplate> for MessageTemplateView {
    fn from(t: MessageTemplate) -> Self {
        Self {
            event: t.event,
            channel: t.channel,
            language: t.language,
            subject: t.subject,
            body: t.body,
            provider_template: t.provider_template,
            dlt_template_id: t.dlt_template_id,
            updated_at: t.updated_at,
        }
    }
}

/// A wording to save.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageTemplateRequest {
    /// Email only, required there.
    pub subject: Option<String>,
    /// With `{{variable}}` placeholders (see `variables` of the event).
    pub body: String,
    /// WhatsApp (required): the approved template's name. SMS: MSG91's
    /// template id.
    pub provider_template: Option<String>,
    /// SMS only: digits.
    pub dlt_template_id: Option<String>,
}

/// What a business can word: each message, its channels and the variables
/// it may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageKind {
    pub event: &'static str,
    pub channels: Vec<&'static str>,
    pub variables: Vec<&'static str>,
}

/// Every message a business can word.
pub fn message_kinds() -> Vec<MessageKind> {
    templates::EVENTS
        .iter()
        .map(|&event| MessageKind {
            event,
            channels: if event == "receipt" {
                vec!["email"]
            } else {
                CHANNELS.to_vec()
            },
            variables: templates::variables(event).iter().map(|v| v.name()).collect(),
        })
        .collect()
}

/// The key of a wording: which message, channel and language.
#[derive(Debug, Clone, Copy)]
pub struct TemplateKey<'a> {
    pub event: &'a str,
    pub channel: &'a str,
    pub language: &'a str,
}

impl TemplateKey<'_> {
    fn check(&self) -> Result<(), AppError> {
        let mut v = Validator::default();
        if !templates::EVENTS.contains(&self.event) {
            v.push(
                "event",
                format!("must be one of {}", templates::EVENTS.join(", ")),
            );
        }
        if !CHANNELS.contains(&self.channel) {
            v.push("channel", format!("must be one of {}", CHANNELS.join(", ")));
        } else if self.event == "receipt" && self.channel != "email" {
            v.push("channel", "receipts go by email only");
        }
        if !templates::is_language(self.language) {
            v.push("language", "must be a language code such as hi, mr, en or pt-BR");
        }
        v.finish()
    }
}

/// The settings that apply to a business: its own, or the installation's.
#[derive(Debug, Clone)]
pub(crate) struct Effective {
    pub reminder_hours: Vec<u32>,
    pub quiet: QuietHours,
    pub language: String,
    pub dlt_entity_id: Option<String>,
}

/// A template's text with its line ends made `\n`; control characters other
/// than line breaks and tabs refused.
fn template_text(v: &mut Validator, field: &str, text: &str, max: usize) -> Option<String> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        v.push(field, "must not be empty");
        None
    } else if text.chars().count() > max {
        v.push(field, format!("must be at most {max} characters"));
        None
    } else if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        v.push(field, "must not contain control characters");
        None
    } else {
        Some(text.to_owned())
    }
}

/// Check a wording for `key`: every field at fault named at once.
fn check_template(key: &TemplateKey<'_>, request: &MessageTemplateRequest) -> Result<(), AppError> {
    let allowed = templates::variables(key.event);
    let mut v = Validator::default();
    let parsed = |v: &mut Validator, field: &str, text: &str| {
        if let Err(e) = Template::parse(text, allowed) {
            v.push(field, e);
        }
    };
    let max = if key.channel == "sms" { MAX_SMS } else { MAX_EMAIL };
    if let Some(body) = template_text(&mut v, "body", &request.body, max) {
        parsed(&mut v, "body", &body);
        let parameters = body.lines().filter(|l| !l.trim().is_empty()).count();
        if key.channel == "whatsapp" && parameters > MAX_WHATSAPP_PARAMETERS {
            v.push(
                "body",
                format!("at most {MAX_WHATSAPP_PARAMETERS} parameters, one per line"),
            );
        }
    }
    match (key.channel, request.subject.as_deref()) {
        ("email", None) => v.push("subject", "is required for email"),
        ("email", Some(subject)) => {
            if let Some(subject) = v.text("subject", subject, 300) {
                parsed(&mut v, "subject", &subject);
            }
        }
        (_, Some(_)) => v.push("subject", "is for email only"),
        (_, None) => {}
    }
    match (key.channel, request.provider_template.as_deref()) {
        ("whatsapp", None) => v.push(
            "provider_template",
            "is required for WhatsApp: the name the template was approved under",
        ),
        ("whatsapp", Some(name)) => {
            if name.is_empty()
                || name.len() > 512
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                v.push(
                    "provider_template",
                    "must be a WhatsApp template name: lowercase letters, digits and _",
                );
            }
        }
        ("sms", Some(id)) => {
            if id.is_empty() || id.len() > 512 || id.chars().any(char::is_whitespace) {
                v.push("provider_template", "must be the provider's template id");
            }
        }
        (_, Some(_)) => v.push("provider_template", "is for WhatsApp and SMS only"),
        (_, None) => {}
    }
    match (key.channel, request.dlt_template_id.as_deref()) {
        ("sms", Some(id)) if !crate::sms::digits(id) => v.push("dlt_template_id", "must be digits"),
        ("sms", _) | (_, None) => {}
        (_, Some(_)) => v.push("dlt_template_id", "is for SMS only"),
    }
    v.finish()
}

impl App {
    /// The settings that apply to the business of `tx`.
    pub(crate) async fn effective_messaging(&self, tx: &mut PgConnection) -> Result<Effective, sqlx::Error> {
        let view = self.messaging_view(store::settings(tx).await?);
        Ok(Effective {
            quiet: QuietHours::parse(&view.quiet_hours).unwrap_or(self.notifier.quiet),
            reminder_hours: view.reminder_hours,
            language: view.language,
            dlt_entity_id: view.dlt_entity_id,
        })
    }

    fn messaging_view(&self, own: Option<MessageSettings>) -> MessagingSettings {
        match own {
            Some(own) => MessagingSettings {
                reminder_hours: own.reminder_hours.iter().map(|h| *h as u32).collect(),
                quiet_hours: own.quiet_hours,
                language: own.language,
                dlt_entity_id: own.dlt_entity_id,
                own: true,
            },
            None => MessagingSettings {
                reminder_hours: self.notifier.reminder_hours.clone(),
                quiet_hours: self.notifier.quiet.to_string(),
                language: "en".into(),
                dlt_entity_id: None,
                own: false,
            },
        }
    }

    pub async fn messaging(&self, principal: &Principal) -> Result<MessagingSettings, AppError> {
        principal.require(Permission::TenantRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let own = store::settings(&mut tx).await?;
        tx.commit().await?;
        Ok(self.messaging_view(own))
    }

    pub async fn change_messaging(
        &self,
        principal: &Principal,
        change: &MessagingChange,
        origin: &Origin,
    ) -> Result<MessagingSettings, AppError> {
        principal.require(Permission::TenantUpdate)?;
        let mut v = Validator::default();
        let reminder_hours = change.reminder_hours.as_ref().and_then(|hours| {
            if hours.len() > MAX_REMINDERS || hours.iter().any(|h| !(1..=336).contains(h)) {
                v.push(
                    "reminder_hours",
                    format!("at most {MAX_REMINDERS}, each 1 to 336 hours before the visit"),
                );
                return None;
            }
            let mut hours: Vec<i32> = hours.iter().map(|h| *h as i32).collect();
            hours.sort_unstable_by(|a, b| b.cmp(a));
            hours.dedup();
            Some(hours)
        });
        let quiet_hours = change
            .quiet_hours
            .as_deref()
            .and_then(|text| match QuietHours::parse(text) {
                Some(q) => Some(q.to_string()),
                None => {
                    v.push("quiet_hours", "must be local hours such as 21:00-08:00");
                    None
                }
            });
        if let Some(language) = change.language.as_deref() {
            if !templates::is_language(language) {
                v.push("language", "must be a language code such as hi, mr, en or pt-BR");
            }
        }
        if let Some(Some(id)) = &change.dlt_entity_id {
            if !crate::sms::digits(id) {
                v.push("dlt_entity_id", "must be digits");
            }
        }
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = self.messaging_view(store::settings(&mut tx).await?);
        let after = MessageSettings {
            reminder_hours: reminder_hours
                .unwrap_or_else(|| before.reminder_hours.iter().map(|h| *h as i32).collect()),
            quiet_hours: quiet_hours.unwrap_or_else(|| before.quiet_hours.clone()),
            language: change.language.clone().unwrap_or_else(|| before.language.clone()),
            dlt_entity_id: match &change.dlt_entity_id {
                Some(id) => id.clone(),
                None => before.dlt_entity_id.clone(),
            },
        };
        store::put_settings(&mut tx, principal.tenant_id, &after).await?;
        let after = self.messaging_view(Some(after));
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "messaging.updated",
                "tenant",
                principal.tenant_id,
            )
            .before(serde_json::to_value(&before).unwrap_or_default())
            .after(serde_json::to_value(&after).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn message_templates(
        &self,
        principal: &Principal,
    ) -> Result<Vec<MessageTemplateView>, AppError> {
        principal.require(Permission::TenantRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = store::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    pub async fn message_template(
        &self,
        principal: &Principal,
        key: TemplateKey<'_>,
    ) -> Result<MessageTemplateView, AppError> {
        principal.require(Permission::TenantRead)?;
        key.check()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let template = store::get(&mut tx, key.event, key.channel, key.language).await?;
        tx.commit().await?;
        template.map(Into::into).ok_or(AppError::NotFound)
    }

    /// Save the business's wording of a message; it is used from the next
    /// message on.
    pub async fn put_message_template(
        &self,
        principal: &Principal,
        key: TemplateKey<'_>,
        request: &MessageTemplateRequest,
        origin: &Origin,
    ) -> Result<MessageTemplateView, AppError> {
        principal.require(Permission::TenantUpdate)?;
        key.check()?;
        check_template(&key, request)?;
        let clean = |text: &str| text.replace("\r\n", "\n").trim().to_owned();
        let body = clean(&request.body);
        let subject = request.subject.as_deref().map(clean);
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = store::get(&mut tx, key.event, key.channel, key.language).await?;
        let saved = store::put(
            &mut tx,
            principal.tenant_id,
            &NewTemplate {
                event: key.event,
                channel: key.channel,
                language: key.language,
                subject: subject.as_deref(),
                body: &body,
                provider_template: request.provider_template.as_deref(),
                dlt_template_id: request.dlt_template_id.as_deref(),
            },
        )
        .await?;
        let saved = MessageTemplateView::from(saved);
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "message_template.saved",
                "tenant",
                principal.tenant_id,
            )
            .before(
                before
                    .map(|b| serde_json::to_value(MessageTemplateView::from(b)).unwrap_or_default())
                    .unwrap_or_default(),
            )
            .after(serde_json::to_value(&saved).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Delete a wording: ftry's own (or another language's) applies again.
    pub async fn delete_message_template(
        &self,
        principal: &Principal,
        key: TemplateKey<'_>,
        origin: &Origin,
    ) -> Result<(), AppError> {
        principal.require(Permission::TenantUpdate)?;
        key.check()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let deleted = store::delete(&mut tx, key.event, key.channel, key.language)
            .await?
            .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "message_template.deleted",
                "tenant",
                principal.tenant_id,
            )
            .before(serde_json::to_value(MessageTemplateView::from(deleted)).unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A saved wording, parsed for sending.
pub(crate) struct Wording {
    pub subject: Option<Template>,
    pub body: Template,
    pub language: String,
    pub provider_template: Option<String>,
    pub dlt_template_id: Option<String>,
}

impl Wording {
    /// `None` for a wording that no longer parses (it was checked when
    /// saved; the built-in wording is used instead).
    pub fn parse(template: MessageTemplate) -> Option<Wording> {
        let allowed = templates::variables(&template.event);
        let subject = match &template.subject {
            Some(s) => Some(Template::parse(s, allowed).ok()?),
            None => None,
        };
        Some(Wording {
            subject,
            body: Template::parse(&template.body, allowed).ok()?,
            language: template.language,
            provider_template: template.provider_template,
            dlt_template_id: template.dlt_template_id,
        })
    }

    pub fn uses(&self, variable: Variable) -> bool {
        self.body.uses(variable) || self.subject.as_ref().is_some_and(|s| s.uses(variable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(event: &'a str, channel: &'a str) -> TemplateKey<'a> {
        TemplateKey {
            event,
            channel,
            language: "hi",
        }
    }

    fn fields(result: Result<(), AppError>) -> Vec<(String, String)> {
        match result {
            Err(AppError::Validation(errors)) => errors.into_iter().map(|e| (e.field, e.message)).collect(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_wording_is_checked_for_its_channel() {
        let email = MessageTemplateRequest {
            subject: Some("{{salon}}: {{date}}".into()),
            body: "नमस्ते {{client_name}},\r\n{{when}}".into(),
            ..Default::default()
        };
        assert!(check_template(&key("reminder", "email"), &email).is_ok());
        assert_eq!(
            fields(check_template(
                &key("reminder", "email"),
                &MessageTemplateRequest {
                    body: "Hi {{name}}".into(),
                    dlt_template_id: Some("1107".into()),
                    ..Default::default()
                }
            )),
            [
                ("body".to_owned(), "`{{name}}` is not a variable".to_owned()),
                ("subject".to_owned(), "is required for email".to_owned()),
                ("dlt_template_id".to_owned(), "is for SMS only".to_owned()),
            ]
        );
        assert_eq!(
            fields(check_template(
                &key("booking_confirmed", "whatsapp"),
                &MessageTemplateRequest {
                    body: "{{client_name}}\n{{total}}".into(),
                    provider_template: Some("Booked Hindi".into()),
                    ..Default::default()
                }
            )),
            [
                (
                    "body".to_owned(),
                    "`{{total}}` has no value in this message".to_owned()
                ),
                (
                    "provider_template".to_owned(),
                    "must be a WhatsApp template name: lowercase letters, digits and _".to_owned()
                ),
            ]
        );
        assert_eq!(
            fields(key("receipt", "sms").check()),
            [("channel".to_owned(), "receipts go by email only".to_owned())]
        );
    }
}
