//! A business's own messaging settings and its wording of each message.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// When reminders go out and in which language the business writes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageSettings {
    pub reminder_hours: Vec<i32>,
    pub quiet_hours: String,
    pub language: String,
    pub dlt_entity_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MessageTemplate {
    pub event: String,
    pub channel: String,
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
    pub provider_template: Option<String>,
    pub dlt_template_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const TEMPLATE_COLUMNS: &str =
    "event, channel, language, subject, body, provider_template, dlt_template_id, updated_at";

/// The business's settings, if it has set any.
pub async fn settings(conn: &mut PgConnection) -> Result<Option<MessageSettings>, sqlx::Error> {
    sqlx::query_as("SELECT reminder_hours, quiet_hours, language, dlt_entity_id FROM message_settings")
        .fetch_optional(conn)
        .await
}

pub async fn put_settings(
    conn: &mut PgConnection,
    tenant: Uuid,
    settings: &MessageSettings,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO message_settings (tenant_id, reminder_hours, quiet_hours, language, dlt_entity_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id) DO UPDATE
            SET reminder_hours = EXCLUDED.reminder_hours, quiet_hours = EXCLUDED.quiet_hours,
                language = EXCLUDED.language, dlt_entity_id = EXCLUDED.dlt_entity_id, updated_at = now()",
    )
    .bind(tenant)
    .bind(&settings.reminder_hours)
    .bind(&settings.quiet_hours)
    .bind(&settings.language)
    .bind(&settings.dlt_entity_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every template of the business, by event, channel and language.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<MessageTemplate>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TEMPLATE_COLUMNS} FROM message_templates ORDER BY event, channel, language"
    ))
    .fetch_all(conn)
    .await
}

pub async fn get(
    conn: &mut PgConnection,
    event: &str,
    channel: &str,
    language: &str,
) -> Result<Option<MessageTemplate>, sqlx::Error> {
    find(conn, event, channel, &[language]).await
}

/// The template of `event` on `channel` in the first of `languages` that
/// has one.
pub async fn find(
    conn: &mut PgConnection,
    event: &str,
    channel: &str,
    languages: &[&str],
) -> Result<Option<MessageTemplate>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TEMPLATE_COLUMNS} FROM message_templates
          WHERE event = $1 AND channel = $2 AND language = ANY($3)
          ORDER BY array_position($3, language) LIMIT 1"
    ))
    .bind(event)
    .bind(channel)
    .bind(languages)
    .fetch_optional(conn)
    .await
}

/// A template to save: its key and wording.
pub struct NewTemplate<'a> {
    pub event: &'a str,
    pub channel: &'a str,
    pub language: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub provider_template: Option<&'a str>,
    pub dlt_template_id: Option<&'a str>,
}

pub async fn put(
    conn: &mut PgConnection,
    tenant: Uuid,
    template: &NewTemplate<'_>,
) -> Result<MessageTemplate, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO message_templates (tenant_id, event, channel, language, subject, body,
                                        provider_template, dlt_template_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (tenant_id, event, channel, language) DO UPDATE
            SET subject = EXCLUDED.subject, body = EXCLUDED.body,
                provider_template = EXCLUDED.provider_template,
                dlt_template_id = EXCLUDED.dlt_template_id, updated_at = now()
         RETURNING {TEMPLATE_COLUMNS}"
    ))
    .bind(tenant)
    .bind(template.event)
    .bind(template.channel)
    .bind(template.language)
    .bind(template.subject)
    .bind(template.body)
    .bind(template.provider_template)
    .bind(template.dlt_template_id)
    .fetch_one(conn)
    .await
}

/// Delete a template; `None` when there was none.
pub async fn delete(
    conn: &mut PgConnection,
    event: &str,
    channel: &str,
    language: &str,
) -> Result<Option<MessageTemplate>, sqlx::Error> {
    sqlx::query_as(&format!(
        "DELETE FROM message_templates WHERE event = $1 AND channel = $2 AND language = $3
         RETURNING {TEMPLATE_COLUMNS}"
    ))
    .bind(event)
    .bind(channel)
    .bind(language)
    .fetch_optional(conn)
    .await
}
