//! Messages to clients about their visits: planned from the visit's domain
//! events (a booking's confirmation and reminders, a move, a cancellation)
//! and sent by jobs, by email over SMTP — or, until SMTP is configured, into
//! the development outbox (`ftry outbox`), so nothing leaves the machine.
//!
//! A message stores no address and no text: both are rendered when it goes
//! out, after checking that the visit still stands as planned — a reminder
//! for a visit that was cancelled or moved is skipped, never sent.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use ftry_store::jobs::{self as jobs_store, Job, NewJob};
/// Which messages to list: by visit, client, invoice, status, page.
pub use ftry_store::notifications::Filter;
use ftry_store::notifications::{self as store, NewNotification, Notification, Outcome, VisitContext};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

use crate::jobs::JobFailure;
use crate::messaging::Wording;
use crate::settings::Secret;
use crate::App;
use ftry_domain::templates::Variable;

/// How long a mail server may take to accept a message.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// A reminder moved out of quiet hours still lands at least this long
/// before the visit, or it goes to the evening before.
const REMINDER_MARGIN_MINUTES: i64 = 30;
/// A follow-up after a missed visit goes out this long after the visit was
/// marked a no-show (or when quiet hours end).
const NO_SHOW_FOLLOW_UP_HOURS: i64 = 2;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// `smtp://user:password@host:587?tls=required` (STARTTLS),
    /// `smtps://…:465` (TLS), or `smtp://host:25` (plain, local relays
    /// only). Unset: messages go to the development outbox.
    pub smtp_url: Option<SmtpUrl>,
    /// The sender of every message.
    pub from: String,
    /// Reminders, in hours before the visit.
    pub reminder_hours: Vec<u32>,
    /// Local hours in which no reminder lands: `21:00-08:00`.
    pub quiet_hours: String,
    /// WhatsApp Business Cloud API: the sending number's id and an access
    /// token. Both set: clients with a phone number also get WhatsApp
    /// template messages (see docs/operations.md for the templates).
    pub whatsapp_phone_number_id: Option<String>,
    pub whatsapp_access_token: Option<Secret>,
    /// The Graph API's base, with its version.
    pub whatsapp_api_url: String,
    /// The language code the templates were approved in.
    pub whatsapp_language: String,
    /// The Meta app's secret, which signs its delivery reports
    /// (`POST /api/v1/hooks/whatsapp`), and the token its subscription
    /// handshake must show. Unset: reports are refused.
    pub whatsapp_app_secret: Option<Secret>,
    pub whatsapp_verify_token: Option<Secret>,
    /// SMS through Twilio: the account, its auth token and the sending
    /// number (E.164) or messaging service. All set: clients with a phone
    /// number also get SMS.
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<Secret>,
    pub twilio_from: Option<String>,
    /// Twilio's API base.
    pub twilio_api_url: String,
    /// `twilio`, `msg91` or `http`; needed only when more than one is set up.
    pub sms_provider: Option<String>,
    /// India's DLT registration: the sender's entity id, and the id each
    /// SMS event's text was registered under (`booking_confirmed`,
    /// `reminder`, `rescheduled`, `cancelled`, `no_show_follow_up`).
    pub dlt_entity_id: Option<String>,
    pub dlt_template_ids: BTreeMap<String, String>,
    /// SMS through MSG91's Flow API: the auth key and the MSG91 template of
    /// each SMS event (linked to its DLT template in MSG91).
    pub msg91_auth_key: Option<Secret>,
    pub msg91_template_ids: BTreeMap<String, String>,
    pub msg91_api_url: String,
    /// SMS through any HTTP provider: POSTed a JSON body (docs/operations.md).
    pub sms_http_url: Option<String>,
    /// The `Authorization` header's value, e.g. `Bearer …`.
    pub sms_http_authorization: Option<Secret>,
    pub sms_http_sender: Option<String>,
    /// Where the provider's message id is in its answer (a JSON pointer).
    pub sms_http_message_id_pointer: String,
    /// The secret that signs the generic provider's delivery reports
    /// (`POST /api/v1/hooks/sms`). Unset: its reports are refused.
    pub sms_http_report_secret: Option<Secret>,
    /// The token MSG91's delivery-report webhook URL carries
    /// (`/api/v1/hooks/msg91?token=…`). Unset: its reports are refused.
    pub msg91_report_token: Option<Secret>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "ftry <no-reply@localhost>".into(),
            reminder_hours: vec![24, 2],
            quiet_hours: "21:00-08:00".into(),
            whatsapp_phone_number_id: None,
            whatsapp_access_token: None,
            whatsapp_api_url: "https://graph.facebook.com/v21.0".into(),
            whatsapp_language: "en".into(),
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_api_url: "https://api.twilio.com".into(),
            sms_provider: None,
            dlt_entity_id: None,
            dlt_template_ids: BTreeMap::new(),
            msg91_auth_key: None,
            msg91_template_ids: BTreeMap::new(),
            msg91_api_url: "https://control.msg91.com".into(),
            sms_http_url: None,
            sms_http_authorization: None,
            sms_http_sender: None,
            sms_http_message_id_pointer: "/id".into(),
            sms_http_report_secret: None,
            msg91_report_token: None,
        }
    }
}

/// An SMTP URL whose password never reaches a log or a printout.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct SmtpUrl(String);

impl TryFrom<String> for SmtpUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match AsyncSmtpTransport::<Tokio1Executor>::from_url(&text) {
            Ok(_) => Ok(Self(text)),
            Err(_) => {
                Err("expected smtp://user:password@host:587?tls=required, smtps://… or smtp://host:25".into())
            }
        }
    }
}

impl SmtpUrl {
    fn redacted(&self) -> String {
        crate::settings::redact_url(&self.0)
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SmtpUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// Local quiet hours, wrapping midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// `21:00-08:00`, as [`QuietHours::parse`] reads it.
impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

impl QuietHours {
    pub fn parse(text: &str) -> Option<Self> {
        let (start, end) = text.split_once('-')?;
        let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").ok()?;
        let end = NaiveTime::parse_from_str(end.trim(), "%H:%M").ok()?;
        (start != end).then_some(Self { start, end })
    }

    fn contains(&self, time: NaiveTime) -> bool {
        if self.start < self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// `at`, or, when it falls in quiet hours (in `tz`), their end.
    pub fn after(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        match self.period(at, tz) {
            Some((_, end)) => end,
            None => at,
        }
    }

    /// The quiet period `at` falls in, as instants; `None` when it falls in
    /// none (or the period's edges do not exist that day).
    fn period(&self, at: DateTime<Utc>, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let local = at.with_timezone(&tz);
        if !self.contains(local.time()) {
            return None;
        }
        let date = local.date_naive();
        let one_day = chrono::Duration::days(1);
        // The quiet period that `at` is in: [start_day start, end_day end).
        let (start_day, end_day) = if self.start > self.end {
            if local.time() >= self.start {
                (date, date + one_day)
            } else {
                (date - one_day, date)
            }
        } else {
            (date, date)
        };
        let local_instant = |day: chrono::NaiveDate, time: NaiveTime| {
            tz.from_local_datetime(&day.and_time(time))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        };
        Some((
            local_instant(start_day, self.start)?,
            local_instant(end_day, self.end)?,
        ))
    }

    /// `at`, or, when it falls in quiet hours (in `tz`), the end of them if
    /// that is still [`REMINDER_MARGIN_MINUTES`] before `visit`, else their
    /// start.
    pub fn place(&self, at: DateTime<Utc>, visit: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let Some((quiet_start, quiet_end)) = self.period(at, tz) else {
            return at;
        };
        if quiet_end <= visit - chrono::Duration::minutes(REMINDER_MARGIN_MINUTES) {
            quiet_end
        } else {
            quiet_start
        }
    }
}

/// Where messages go.
pub enum Mailer {
    /// The development outbox: stored for `ftry outbox`, sent nowhere.
    Outbox,
    Smtp(Box<Smtp>),
}

/// A mail server and the sender of every message.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// The WhatsApp Business Cloud API, for template messages.
pub struct WhatsApp {
    client: reqwest::Client,
    /// `{api}/{phone number id}/messages`
    endpoint: String,
    token: Secret,
    language: String,
}

/// The template a WhatsApp message of each event is sent with. Each takes
/// four body parameters: the client's name, the business, the services, and
/// the visit's local date and time.
pub fn whatsapp_template(event: &str) -> &'static str {
    match event {
        "booking_confirmed" => "ftry_booking_confirmed",
        "reminder" => "ftry_reminder",
        "rescheduled" => "ftry_rescheduled",
        "no_show_follow_up" => "ftry_no_show_follow_up",
        _ => "ftry_cancelled",
    }
}

/// The notification settings, checked, with the channels they describe.
pub struct Notifier {
    pub mailer: Mailer,
    pub whatsapp: Option<WhatsApp>,
    /// The secret that signs WhatsApp's delivery reports and the
    /// subscription handshake's token.
    pub whatsapp_reports: Option<(Secret, Option<Secret>)>,
    pub sms: Option<crate::sms::Sms>,
    /// What checks MSG91's reports (the URL's token) and the generic
    /// provider's (the signing secret).
    pub msg91_report_token: Option<Secret>,
    pub sms_http_report_secret: Option<Secret>,
    pub reminder_hours: Vec<u32>,
    pub quiet: QuietHours,
}

impl NotificationSettings {
    /// Check every value; an error names the key and the expected form.
    pub fn resolve(&self) -> Result<Notifier, String> {
        let from = Mailbox::from_str(&self.from).map_err(|_| {
            "notifications.from: expected a sender such as `Salon <no-reply@example.com>`".to_owned()
        })?;
        let quiet = QuietHours::parse(&self.quiet_hours).ok_or_else(|| {
            "notifications.quiet_hours: expected local hours such as `21:00-08:00`".to_owned()
        })?;
        if self.reminder_hours.iter().any(|h| !(1..=336).contains(h)) {
            return Err(
                "notifications.reminder_hours: expected hours before the visit, each 1 to 336".into(),
            );
        }
        let mailer = match &self.smtp_url {
            None => Mailer::Outbox,
            Some(url) => Mailer::Smtp(Box::new(Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(&url.0)
                    .map_err(|e| format!("notifications.smtp_url: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
                from,
            })),
        };
        let whatsapp = match (&self.whatsapp_phone_number_id, &self.whatsapp_access_token) {
            (None, None) => None,
            (Some(id), Some(token)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                let (client, api) = provider_api(
                    "whatsapp_api_url",
                    &self.whatsapp_api_url,
                    "https://graph.facebook.com/v21.0",
                )?;
                Some(WhatsApp {
                    client,
                    endpoint: format!("{api}/{id}/messages"),
                    token: token.clone(),
                    language: self.whatsapp_language.clone(),
                })
            }
            _ => {
                return Err(
                    "notifications.whatsapp_phone_number_id: expected the sending number's id (digits) together with notifications.whatsapp_access_token".into(),
                )
            }
        };
        let sms = crate::sms::resolve(self)?;
        let mut reminder_hours = self.reminder_hours.clone();
        reminder_hours.sort_unstable_by(|a, b| b.cmp(a));
        reminder_hours.dedup();
        let whatsapp_reports = self
            .whatsapp_app_secret
            .clone()
            .map(|secret| (secret, self.whatsapp_verify_token.clone()));
        Ok(Notifier {
            mailer,
            whatsapp,
            whatsapp_reports,
            sms,
            msg91_report_token: self.msg91_report_token.clone(),
            sms_http_report_secret: self.sms_http_report_secret.clone(),
            reminder_hours,
            quiet,
        })
    }
}

/// A provider's HTTP client and API base (`notifications.<key>`, checked).
pub(crate) fn provider_api<'a>(
    key: &str,
    url: &'a str,
    example: &str,
) -> Result<(reqwest::Client, &'a str), String> {
    let api = url.trim_end_matches('/');
    if url::Url::parse(api).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
        return Err(format!("notifications.{key}: expected a URL such as {example}"));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("notifications.{key}: {e}"))?;
    Ok((client, api))
}

/// What a message is about.
enum About {
    Visit(VisitContext),
    Receipt(Receipt),
}

/// A finalized invoice, as its receipt names it.
struct Receipt {
    business: String,
    number: String,
    total_paise: i64,
    credit_note: bool,
    link: String,
}

/// The `typ` of a receipt link's token: it opens one invoice's PDF, nothing else.
const RECEIPT_TOKEN: &str = "receipt";
/// The `typ` of a message's manage link: it opens one visit's page.
const MANAGE_TOKEN: &str = "manage";
/// How long a receipt's link opens the invoice.
const RECEIPT_LINK_DAYS: i64 = 365;

/// The client's copy of an invoice: its number, total and a link to its PDF.
fn render_receipt(client: &str, receipt: &Receipt) -> Rendered {
    let what = if receipt.credit_note {
        "Credit note"
    } else {
        "Invoice"
    };
    let total = ftry_domain::money::Paise(receipt.total_paise);
    let subject = format!("{what} {} from {}", receipt.number, receipt.business);
    let text = format!(
        "Hello {client},\n\nthank you for your visit. {what} {} for {total} is ready:\n{}\n\n{}\n",
        receipt.number, receipt.link, receipt.business
    );
    let html = format!(
        "<!doctype html><html><body><p>Hello {},</p><p>thank you for your visit. {what} {} for {} is ready: \
         <a href=\"{}\">view or download it</a>.</p><p>{}</p></body></html>",
        escape(client),
        escape(&receipt.number),
        escape(&total.to_string()),
        escape(&receipt.link),
        escape(&receipt.business)
    );
    Rendered { subject, text, html }
}

/// Enqueue the job that sends a planned message at its time.
async fn enqueue_send(
    tx: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    jobs_store::enqueue(
        tx,
        &NewJob {
            queue: "notifications",
            kind: "notification.send",
            tenant_id: Some(tenant),
            payload: serde_json::json!({ "notification_id": id }),
            run_at: at,
            max_attempts: 8,
            timeout_secs: 60,
        },
    )
    .await?;
    Ok(())
}

/// A rendered message.
struct Rendered {
    subject: String,
    text: String,
    html: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The visit's start in its branch's time zone.
fn local_start(visit: &VisitContext) -> DateTime<Tz> {
    let tz = Tz::from_str(&visit.timezone).unwrap_or(chrono_tz::Asia::Kolkata);
    visit.starts_at.with_timezone(&tz)
}

/// The visit's local date and time in words: `Saturday, 12 December 2026 at 10:30 AM`.
fn long_when(visit: &VisitContext) -> String {
    local_start(visit)
        .format("%A, %-d %B %Y at %-I:%M %p")
        .to_string()
}

/// A WhatsApp template message: the approved template, its language and its
/// body parameters.
struct CustomWhatsApp {
    template: String,
    language: String,
    parameters: Vec<String>,
}

/// What `variable` says in a message to `client` about `about`.
fn value_of(variable: Variable, client: &str, about: &About, manage_link: &str) -> String {
    match (about, variable) {
        (_, Variable::ClientName) => client.to_owned(),
        (About::Visit(visit), variable) => match variable {
            Variable::Salon => visit.business.clone(),
            Variable::Branch => visit.location.clone(),
            Variable::Services => visit.services.join(", "),
            Variable::Staff => visit.staff.join(", "),
            Variable::Date => local_start(visit).format("%d/%m/%Y").to_string(),
            Variable::Time => local_start(visit).format("%H:%M").to_string(),
            Variable::When => long_when(visit),
            Variable::ManageLink => manage_link.to_owned(),
            _ => String::new(),
        },
        (About::Receipt(receipt), variable) => match variable {
            Variable::Salon => receipt.business.clone(),
            Variable::InvoiceNumber => receipt.number.clone(),
            Variable::Total => ftry_domain::money::Paise(receipt.total_paise).to_string(),
            Variable::InvoiceLink => receipt.link.clone(),
            _ => String::new(),
        },
    }
}

/// ftry's own wording of a message about a visit; `manage_link` (when not
/// empty) is where the client sees, moves or cancels it.
fn render(event: &str, client: &str, visit: &VisitContext, manage_link: &str) -> Rendered {
    let when = long_when(visit);
    let services = visit.services.join(", ");
    let staff = visit.staff.join(", ");
    let business = &visit.business;
    let (subject, opening) = match event {
        "booking_confirmed" => (
            format!("Booked: {services} at {business}"),
            format!(
                "your visit to {business} ({}) is booked for {when}.",
                visit.location
            ),
        ),
        "reminder" => (
            format!("Reminder: {services} at {business}"),
            format!(
                "a reminder of your visit to {business} ({}) on {when}.",
                visit.location
            ),
        ),
        "rescheduled" => (
            format!("Moved: your visit to {business}"),
            format!(
                "your visit to {business} ({}) has moved to {when}.",
                visit.location
            ),
        ),
        "no_show_follow_up" => (
            format!("We missed you at {business}"),
            format!(
                "we missed you at your visit to {business} ({}) on {when}. We would be glad to see you another time.",
                visit.location
            ),
        ),
        _ => (
            format!("Cancelled: your visit to {business}"),
            format!(
                "your visit to {business} ({}) on {when} is cancelled.",
                visit.location
            ),
        ),
    };
    let details = if event == "cancelled" {
        String::new()
    } else {
        format!("\nServices: {services}\nWith: {staff}\n")
    };
    let manage = if manage_link.is_empty() {
        String::new()
    } else {
        format!("\nSee, move or cancel it: {manage_link}\n")
    };
    let text = format!("Hello {client},\n\n{opening}\n{details}{manage}\n{business}\n");
    let html_details = if event == "cancelled" {
        String::new()
    } else {
        format!(
            "<p>Services: {}<br>With: {}</p>",
            escape(&services),
            escape(&staff)
        )
    };
    let html_manage = if manage_link.is_empty() {
        String::new()
    } else {
        format!(
            "<p><a href=\"{}\">See, move or cancel it</a></p>",
            escape(manage_link)
        )
    };
    let html = format!(
        "<!doctype html><html><body><p>Hello {},</p><p>{}</p>{html_details}{html_manage}<p>{}</p></body></html>",
        escape(client),
        escape(&opening),
        escape(business)
    );
    Rendered { subject, text, html }
}

pub(crate) enum SendError {
    Transient(String),
    Permanent(String),
}

/// A provider's refusal: worth retrying when it was busy (429) or failing
/// (5xx), final otherwise.
pub(crate) fn refusal(status: reqwest::StatusCode, reason: String) -> SendError {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        SendError::Transient(reason)
    } else {
        SendError::Permanent(reason)
    }
}

/// A client span around a call to a provider's HTTP API.
pub(crate) fn provider_span(provider: &'static str, url: &str) -> tracing::Span {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    tracing::info_span!(
        "http",
        otel.name = %format_args!("POST {provider}"),
        otel.kind = "client",
        http.request.method = "POST",
        server.address = %host,
    )
}

impl App {
    /// Handle a domain event: plan the messages it calls for.
    pub(crate) async fn dispatch_event(&self, job: &Job) -> Result<(), JobFailure> {
        let (tenant, event_id) = ids(job, "event_id")?;
        let mut tx = self.pools.begin(tenant).await?;
        let Some(event) = store::lock_event(&mut tx, event_id).await? else {
            return Ok(());
        };
        if event.processed_at.is_some() {
            return Ok(());
        }
        let plan = match event.kind.as_str() {
            "appointment.booked" => Some(("booking_confirmed", true)),
            "appointment.rescheduled" => Some(("rescheduled", true)),
            "appointment.cancelled" => Some(("cancelled", false)),
            "appointment.no_show" => Some(("no_show_follow_up", false)),
            _ => None,
        };
        if matches!(
            event.kind.as_str(),
            "invoice.finalized" | "invoice.credit_note_issued"
        ) {
            self.plan_receipt(&mut tx, tenant, event.subject_id, Utc::now())
                .await?;
        }
        // A move or a cancellation replaces the reminders already planned
        // (a move that keeps the time, to other staff, would otherwise
        // remind twice).
        let superseded = match event.kind.as_str() {
            "appointment.rescheduled" => Some("appointment moved"),
            "appointment.cancelled" => Some("appointment cancelled"),
            _ => None,
        };
        if let Some(reason) = superseded {
            store::skip_pending_reminders(&mut tx, event.subject_id, reason).await?;
        }
        if let Some((first, with_reminders)) = plan {
            self.plan(
                &mut tx,
                tenant,
                event.subject_id,
                first,
                with_reminders,
                Utc::now(),
            )
            .await?;
        }
        self.plan_webhooks(&mut tx, tenant, &event).await?;
        store::mark_event_processed(&mut tx, event_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Plan `first` now and, with reminders, one per configured offset that
    /// is still ahead, out of quiet hours in the branch's timezone.
    async fn plan(
        &self,
        tx: &mut PgConnection,
        tenant: Uuid,
        appointment_id: Uuid,
        first: &str,
        with_reminders: bool,
        now: DateTime<Utc>,
    ) -> Result<(), JobFailure> {
        let Some(visit) = store::visit(tx, appointment_id).await? else {
            return Ok(());
        };
        let client = ftry_store::clients::get(tx, visit.client_id).await?;
        // Every configured channel the client can be reached on, less those
        // they opted out of.
        let mut reachable = Vec::new();
        if client.as_ref().is_some_and(|c| c.email().is_some()) {
            reachable.push("email");
        }
        let has_phone = client.as_ref().is_some_and(|c| c.phone().is_some());
        if self.notifier.whatsapp.is_some() && has_phone {
            reachable.push("whatsapp");
        }
        if self.notifier.sms.is_some() && has_phone {
            reachable.push("sms");
        }
        let opted_out = client
            .as_ref()
            .map(|c| c.opted_out_channels.clone())
            .unwrap_or_default();
        let channels: Vec<&str> = reachable
            .iter()
            .copied()
            .filter(|c| !opted_out.iter().any(|o| o == c))
            .collect();
        let tz = Tz::from_str(&visit.timezone).unwrap_or(chrono_tz::Asia::Kolkata);
        let settings = self.effective_messaging(tx).await?;
        // A follow-up after a missed visit invites the client back: marketing,
        // only with their consent, and never in quiet hours.
        let marketing = first == "no_show_follow_up";
        let first_at = if marketing {
            settings
                .quiet
                .after(now + chrono::Duration::hours(NO_SHOW_FOLLOW_UP_HOURS), tz)
        } else {
            now
        };
        let consented = client.as_ref().is_some_and(|c| c.marketing_consent);
        let mut messages = vec![(first, first_at)];
        if with_reminders && !channels.is_empty() {
            for hours in &settings.reminder_hours {
                let at = visit.starts_at - chrono::Duration::hours(i64::from(*hours));
                let at = settings.quiet.place(at, visit.starts_at, tz);
                if at > now && !messages.iter().any(|(e, t)| *e == "reminder" && *t == at) {
                    messages.push(("reminder", at));
                }
            }
        }
        let silenced = if marketing && !consented {
            Some("no marketing consent".to_owned())
        } else if channels.is_empty() && !reachable.is_empty() {
            Some(format!("client opted out of {}", reachable.join(", ")))
        } else if channels.is_empty() {
            Some("no email address or reachable phone".to_owned())
        } else {
            None
        };
        if let Some(reason) = silenced {
            // Visible to the owner: this client hears nothing.
            store::insert(
                tx,
                tenant,
                &NewNotification {
                    appointment_id: Some(appointment_id),
                    invoice_id: None,
                    client_id: visit.client_id,
                    event: first,
                    channel: "email",
                    appointment_start: Some(visit.starts_at),
                    send_at: now,
                    skipped: Some(&reason),
                },
            )
            .await?;
            return Ok(());
        }
        for (event, send_at) in messages {
            for channel in &channels {
                let id = store::insert(
                    tx,
                    tenant,
                    &NewNotification {
                        appointment_id: Some(appointment_id),
                        invoice_id: None,
                        client_id: visit.client_id,
                        event,
                        channel,
                        appointment_start: Some(visit.starts_at),
                        send_at,
                        skipped: None,
                    },
                )
                .await?;
                enqueue_send(tx, tenant, id, send_at).await?;
            }
        }
        Ok(())
    }

    /// What a message is about, read now: the visit (unless it no longer
    /// stands as the message was planned for) or the invoice of a receipt;
    /// else why the message is skipped.
    async fn about(
        &self,
        tx: &mut PgConnection,
        tenant: Uuid,
        notification: &Notification,
    ) -> Result<Result<About, &'static str>, JobFailure> {
        if notification.event == "receipt" {
            let invoice = match notification.invoice_id {
                Some(id) => ftry_store::invoices::get(tx, id).await?,
                None => None,
            };
            let Some(invoice) = invoice.filter(|i| i.status == "finalized") else {
                return Ok(Err("invoice not finalized"));
            };
            let business = ftry_store::tenants::get(tx, tenant)
                .await?
                .map(|t| t.name)
                .unwrap_or_default();
            return Ok(Ok(About::Receipt(Receipt {
                link: self.receipt_link(tenant, invoice.id),
                business,
                number: invoice.number.unwrap_or_default(),
                total_paise: invoice.total_paise,
                credit_note: invoice.kind == "credit_note",
            })));
        }
        let visit = match notification.appointment_id {
            Some(id) => store::visit(tx, id).await?,
            None => None,
        };
        let Some(visit) = visit else {
            return Ok(Err("appointment deleted"));
        };
        let event = notification.event.as_str();
        let stale = match visit.status.as_str() {
            "cancelled" if event != "cancelled" => Some("appointment cancelled"),
            "no_show" | "completed" if event == "reminder" => Some("appointment already over"),
            status if event == "no_show_follow_up" && status != "no_show" => {
                Some("appointment no longer a no-show")
            }
            _ if event != "cancelled" && Some(visit.starts_at) != notification.appointment_start => {
                Some("appointment moved")
            }
            _ => None,
        };
        Ok(match stale {
            Some(reason) => Err(reason),
            None => Ok(About::Visit(visit)),
        })
    }

    /// Plan the client's copy of a finalized invoice, by email, when it
    /// names a client.
    async fn plan_receipt(
        &self,
        tx: &mut PgConnection,
        tenant: Uuid,
        invoice_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), JobFailure> {
        let Some(invoice) = ftry_store::invoices::get(tx, invoice_id).await? else {
            return Ok(());
        };
        // A sale to nobody in particular: no one to send it to.
        let Some(client_id) = invoice.client_id else {
            return Ok(());
        };
        let Some(client) = ftry_store::clients::get(tx, client_id).await? else {
            return Ok(());
        };
        let skipped = if client.email().is_none() {
            Some("no email address")
        } else if client.opted_out_channels.iter().any(|c| c == "email") {
            Some("client opted out of email")
        } else {
            None
        };
        let id = store::insert(
            tx,
            tenant,
            &NewNotification {
                appointment_id: invoice.appointment_id,
                invoice_id: Some(invoice_id),
                client_id,
                event: "receipt",
                channel: "email",
                appointment_start: None,
                send_at: now,
                skipped,
            },
        )
        .await?;
        if skipped.is_none() {
            enqueue_send(tx, tenant, id, now).await?;
        }
        Ok(())
    }

    /// A link to the invoice's PDF that opens without a login: signed, for
    /// this invoice only, for [`RECEIPT_LINK_DAYS`].
    fn receipt_link(&self, tenant: Uuid, invoice: Uuid) -> String {
        let now = Utc::now().timestamp();
        let token = self.keys.sign(&crate::tokens::Claims {
            iss: crate::tokens::ISSUER.into(),
            typ: RECEIPT_TOKEN.into(),
            sub: invoice,
            tid: Some(tenant),
            sid: None,
            imp: None,
            iat: now,
            exp: now + RECEIPT_LINK_DAYS * 86_400,
            jti: Uuid::now_v7().simple().to_string(),
        });
        format!(
            "{}/api/v1/public/invoices/{token}/pdf",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    /// The page where the client sees, moves or cancels the visit: signed
    /// for this visit only, until a day after it starts.
    fn manage_link(&self, tenant: Uuid, visit: &VisitContext) -> String {
        let token = self.signed_manage_token(tenant, visit.appointment_id, visit.starts_at);
        format!("{}/b/{token}", self.settings.public_url.trim_end_matches('/'))
    }

    /// A token opening one visit's page, signed (nothing stored), valid
    /// until a day after the visit starts.
    pub(crate) fn signed_manage_token(
        &self,
        tenant: Uuid,
        appointment: Uuid,
        starts_at: DateTime<Utc>,
    ) -> String {
        let now = Utc::now().timestamp();
        self.keys.sign(&crate::tokens::Claims {
            iss: crate::tokens::ISSUER.into(),
            typ: MANAGE_TOKEN.into(),
            sub: appointment,
            tid: Some(tenant),
            sid: None,
            imp: None,
            iat: now,
            exp: (starts_at.timestamp() + 86_400).max(now + 3_600),
            jti: Uuid::now_v7().simple().to_string(),
        })
    }

    /// The business and visit a message's manage link names, if it is
    /// genuine and current.
    pub(crate) fn manage_token(&self, token: &str) -> Option<(Uuid, Uuid)> {
        let claims = self.keys.verify(token, Utc::now().timestamp()).ok()?;
        (claims.typ == MANAGE_TOKEN).then_some((claims.tid?, claims.sub))
    }

    /// The business and invoice a receipt link names, if it is genuine and
    /// current.
    pub fn receipt_token(&self, token: &str) -> Option<(Uuid, Uuid)> {
        let claims = self.keys.verify(token, Utc::now().timestamp()).ok()?;
        (claims.typ == RECEIPT_TOKEN).then_some((claims.tid?, claims.sub))
    }

    /// The business's messages to clients, most recently planned first,
    /// and the cursor of the next page.
    pub async fn notifications(
        &self,
        principal: &crate::Principal,
        filter: &store::Filter,
        limit: i64,
    ) -> Result<(Vec<Notification>, Option<String>), crate::AppError> {
        principal.require(ftry_domain::permissions::Permission::MessagesRead)?;
        if let Some(status) = filter.status.as_deref() {
            if !["pending", "sent", "skipped", "failed"].contains(&status) {
                return Err(crate::AppError::invalid(
                    "status",
                    "must be pending, sent, skipped or failed",
                ));
            }
        }
        let limit = limit.clamp(1, 200);
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let items = store::list(&mut tx, filter, limit).await?;
        tx.commit().await?;
        let next = (items.len() as i64 == limit)
            .then(|| items.last().map(|n| n.id.to_string()))
            .flatten();
        Ok((items, next))
    }

    /// Send one planned message, unless its visit no longer stands as planned.
    pub(crate) async fn send_notification(&self, job: &Job) -> Result<(), JobFailure> {
        let (tenant, id) = ids(job, "notification_id")?;
        let mut tx = self.pools.begin(tenant).await?;
        let Some(notification) = store::lock(&mut tx, id).await? else {
            return Ok(());
        };
        if notification.status != "pending" {
            return Ok(());
        }
        let about = match self.about(&mut tx, tenant, &notification).await? {
            Ok(about) => about,
            Err(reason) => {
                store::record(&mut tx, id, Outcome::Skipped { reason }).await?;
                tx.commit().await?;
                return Ok(());
            }
        };
        let client = ftry_store::clients::get(&mut tx, notification.client_id).await?;
        // Asked again now: an opt-out or a withdrawn consent since planning holds.
        let refused = match &client {
            Some(c) if c.opted_out_channels.contains(&notification.channel) => {
                Some(format!("client opted out of {}", notification.channel))
            }
            Some(c) if notification.event == "no_show_follow_up" && !c.marketing_consent => {
                Some("no marketing consent".to_owned())
            }
            _ => None,
        };
        if let Some(reason) = refused {
            store::record(&mut tx, id, Outcome::Skipped { reason: &reason }).await?;
            tx.commit().await?;
            return Ok(());
        }
        let (field, missing) = match notification.channel.as_str() {
            "whatsapp" | "sms" => (crate::clients::PHONE, "no phone number"),
            _ => (crate::clients::EMAIL, "no email address"),
        };
        let address = match client.as_ref().and_then(|c| {
            let sealed = if field == crate::clients::PHONE {
                c.phone()
            } else {
                c.email()
            };
            sealed.map(|s| (c, s))
        }) {
            Some((client, sealed)) => Some((
                client.name.clone(),
                self.open_contact(tenant, client.id, field, &sealed)?,
            )),
            None => None,
        };
        let Some((name, address)) = address else {
            store::record(&mut tx, id, Outcome::Skipped { reason: missing }).await?;
            tx.commit().await?;
            return Ok(());
        };
        // The business's own wording in the client's language, else (unless
        // the client reads English, ftry's own language) in the business's,
        // else ftry's.
        let settings = self.effective_messaging(&mut tx).await?;
        let mut languages: Vec<&str> = client
            .as_ref()
            .and_then(|c| c.language.as_deref())
            .into_iter()
            .collect();
        if languages != ["en"] && !languages.contains(&settings.language.as_str()) {
            languages.push(&settings.language);
        }
        let wording = ftry_store::message_templates::find(
            &mut tx,
            &notification.event,
            &notification.channel,
            &languages,
        )
        .await?
        .and_then(Wording::parse);
        // ftry's own email about a visit that stands links to its page.
        let built_in_link = notification.channel == "email"
            && matches!(
                notification.event.as_str(),
                "booking_confirmed" | "reminder" | "rescheduled"
            );
        let manage_link = match (&about, &wording) {
            (About::Visit(visit), Some(w)) if w.uses(Variable::ManageLink) => self.manage_link(tenant, visit),
            (About::Visit(visit), None) if built_in_link => self.manage_link(tenant, visit),
            _ => String::new(),
        };
        let value = |variable| value_of(variable, &name, &about, &manage_link);
        let sent = match (notification.channel.as_str(), &about) {
            ("whatsapp", About::Visit(visit)) => {
                let custom = wording.as_ref().map(|w| CustomWhatsApp {
                    template: w.provider_template.clone().unwrap_or_default(),
                    language: w.language.replace('-', "_"),
                    // One parameter a line; blank lines are not parameters.
                    parameters: w
                        .body
                        .render(value)
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(str::to_owned)
                        .collect(),
                });
                self.whatsapp(&notification.event, &name, &address, visit, custom)
                    .await
            }
            ("sms", About::Visit(visit)) => match &self.notifier.sms {
                Some(sms) => {
                    let callback = format!(
                        "{}{}",
                        self.settings.public_url.trim_end_matches('/'),
                        crate::delivery_reports::TWILIO_STATUS_PATH
                    );
                    let custom = wording.as_ref().map(|w| crate::sms::CustomSms {
                        text: w.body.render(value),
                        provider_template: w.provider_template.clone(),
                        dlt_template_id: w.dlt_template_id.clone(),
                        dlt_entity_id: settings.dlt_entity_id.clone(),
                    });
                    sms.send(
                        id,
                        &notification.event,
                        &address,
                        visit,
                        &callback,
                        custom.as_ref(),
                    )
                    .await
                }
                None => Err(SendError::Permanent("SMS is no longer configured".into())),
            },
            ("email", about) => {
                let message = match (&wording, about) {
                    (Some(w), _) => Rendered {
                        subject: w.subject.as_ref().map(|s| s.render(value)).unwrap_or_default(),
                        text: format!("{}\n", w.body.render(value)),
                        html: format!(
                            "<!doctype html><html><body>{}</body></html>",
                            w.body.render_html(value)
                        ),
                    },
                    (None, About::Visit(visit)) => render(&notification.event, &name, visit, &manage_link),
                    (None, About::Receipt(receipt)) => render_receipt(&name, receipt),
                };
                let message_id = format!("<{id}@ftry>");
                self.deliver(&mut tx, tenant, &address, &message, &message_id)
                    .await
                    .map(|provider| (provider, message_id))
            }
            _ => Err(SendError::Permanent("receipts go by email only".into())),
        };
        match sent {
            Ok((provider, message_id)) => {
                store::record(
                    &mut tx,
                    id,
                    Outcome::Sent {
                        provider,
                        message_id: &message_id,
                    },
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }
            Err(SendError::Permanent(reason)) => {
                store::record(&mut tx, id, Outcome::Failed { reason: &reason }).await?;
                tx.commit().await?;
                Err(JobFailure::permanent(reason))
            }
            Err(SendError::Transient(reason)) => {
                let last = job.attempts >= job.max_attempts;
                let outcome = if last {
                    Outcome::Failed { reason: &reason }
                } else {
                    Outcome::Attempted { reason: &reason }
                };
                store::record(&mut tx, id, outcome).await?;
                tx.commit().await?;
                Err(JobFailure::transient(reason))
            }
        }
    }

    async fn deliver(
        &self,
        tx: &mut PgConnection,
        tenant: Uuid,
        address: &str,
        message: &Rendered,
        message_id: &str,
    ) -> Result<&'static str, SendError> {
        match &self.notifier.mailer {
            Mailer::Outbox => {
                ftry_store::outbox::put(tx, tenant, address, &message.subject, &message.text)
                    .await
                    .map_err(|e| SendError::Transient(e.to_string()))?;
                Ok("outbox")
            }
            Mailer::Smtp(smtp) => {
                let Smtp { transport, from } = smtp.as_ref();
                let to = Mailbox::from_str(address).map_err(|_| {
                    SendError::Permanent("the client's email address is not deliverable".into())
                })?;
                let email = lettre::Message::builder()
                    .message_id(Some(message_id.to_owned()))
                    .from(from.clone())
                    .to(to)
                    .subject(&message.subject)
                    .multipart(MultiPart::alternative_plain_html(
                        message.text.clone(),
                        message.html.clone(),
                    ))
                    .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
                match transport.send(email).await {
                    Ok(_) => Ok("smtp"),
                    Err(e) if e.is_permanent() => {
                        Err(SendError::Permanent(format!("mail server refused: {e}")))
                    }
                    Err(e) => Err(SendError::Transient(format!("mail server: {e}"))),
                }
            }
        }
    }

    /// A WhatsApp template message; the provider's message id.
    async fn whatsapp(
        &self,
        event: &str,
        client: &str,
        phone: &str,
        visit: &VisitContext,
        custom: Option<CustomWhatsApp>,
    ) -> Result<(&'static str, String), SendError> {
        let Some(whatsapp) = &self.notifier.whatsapp else {
            return Err(SendError::Permanent("WhatsApp is no longer configured".into()));
        };
        let custom = custom.unwrap_or_else(|| CustomWhatsApp {
            template: whatsapp_template(event).to_owned(),
            language: whatsapp.language.clone(),
            parameters: vec![
                client.to_owned(),
                visit.business.clone(),
                visit.services.join(", "),
                long_when(visit),
            ],
        });
        let parameters: Vec<_> = custom
            .parameters
            .iter()
            .map(|value| serde_json::json!({ "type": "text", "text": value }))
            .collect();
        let body = serde_json::json!({
            "messaging_product": "whatsapp",
            "to": phone.trim_start_matches('+'),
            "type": "template",
            "template": {
                "name": custom.template,
                "language": { "code": custom.language },
                "components": [{
                    "type": "body",
                    "parameters": parameters,
                }],
            },
        });
        let response = whatsapp
            .client
            .post(&whatsapp.endpoint)
            .bearer_auth(whatsapp.token.expose())
            .json(&body)
            .send()
            .instrument(provider_span("whatsapp", &whatsapp.endpoint))
            .await
            .map_err(|e| SendError::Transient(format!("whatsapp: {e}")))?;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            return match answer["messages"][0]["id"].as_str() {
                Some(id) => Ok(("whatsapp", id.to_owned())),
                None => Err(SendError::Transient(
                    "whatsapp: accepted without a message id".into(),
                )),
            };
        }
        let detail = answer["error"]["message"].as_str().unwrap_or("no detail");
        Err(refusal(
            status,
            format!("whatsapp: HTTP {}: {detail}", status.as_u16()),
        ))
    }

    /// Mail to a staff member (an invitation, a password reset), written to
    /// the outbox in the caller's transaction; with SMTP configured, a job
    /// delivers it.
    pub(crate) async fn mail(
        &self,
        tx: &mut PgConnection,
        tenant: Uuid,
        recipient: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), sqlx::Error> {
        let id = ftry_store::outbox::put(tx, tenant, recipient, subject, body).await?;
        if let Mailer::Smtp(_) = self.notifier.mailer {
            jobs_store::enqueue(
                tx,
                &NewJob {
                    queue: "notifications",
                    kind: "mail.deliver",
                    tenant_id: Some(tenant),
                    payload: serde_json::json!({ "message_id": id }),
                    run_at: Utc::now(),
                    max_attempts: 8,
                    timeout_secs: 60,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Deliver one outbox message over SMTP.
    pub(crate) async fn deliver_mail(&self, job: &Job) -> Result<(), JobFailure> {
        let (tenant, id) = ids(job, "message_id")?;
        let mut tx = self.pools.begin(tenant).await?;
        let Some(message) = ftry_store::outbox::lock_undelivered(&mut tx, id).await? else {
            return Ok(());
        };
        let rendered = Rendered {
            subject: message.subject.clone(),
            html: format!(
                "<!doctype html><html><body><pre>{}</pre></body></html>",
                escape(&message.body)
            ),
            text: message.body.clone(),
        };
        let outcome = self
            .deliver(
                &mut tx,
                tenant,
                &message.recipient,
                &rendered,
                &format!("<{id}@ftry>"),
            )
            .await;
        let failure = match &outcome {
            Ok(_) => None,
            Err(SendError::Transient(reason) | SendError::Permanent(reason)) => Some(reason.clone()),
        };
        ftry_store::outbox::record_delivery(&mut tx, id, failure.as_deref()).await?;
        tx.commit().await?;
        match outcome {
            Ok(_) => Ok(()),
            Err(SendError::Transient(reason)) => Err(JobFailure::transient(reason)),
            Err(SendError::Permanent(reason)) => Err(JobFailure::permanent(reason)),
        }
    }
}

/// The job's business and the id named `field` in its payload.
pub(crate) fn ids(job: &Job, field: &str) -> Result<(Uuid, Uuid), JobFailure> {
    let tenant = job
        .tenant_id
        .ok_or_else(|| JobFailure::permanent("the job names no business"))?;
    let id = job
        .payload
        .get(field)
        .and_then(serde_json::Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobFailure::permanent(format!("the job's payload has no {field}")))?;
    Ok((tenant, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ist(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Kolkata
            .with_ymd_and_hms(2026, 12, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn reminders_outside_quiet_hours_stay_where_they_are() {
        let quiet = QuietHours::parse("21:00-08:00").unwrap();
        let tz = chrono_tz::Asia::Kolkata;
        assert_eq!(quiet.place(ist(9, 15, 0), ist(10, 15, 0), tz), ist(9, 15, 0));
        assert_eq!(quiet.place(ist(9, 8, 0), ist(9, 10, 0), tz), ist(9, 8, 0));
    }

    #[test]
    fn a_reminder_in_quiet_hours_moves_to_their_end_or_else_their_start() {
        let quiet = QuietHours::parse("21:00-08:00").unwrap();
        let tz = chrono_tz::Asia::Kolkata;
        // 2 h before a 10:00 visit is 08:00: fine. Before a 09:00 visit it is
        // 07:00, quiet: 08:00 is still an hour ahead of the visit.
        assert_eq!(quiet.place(ist(10, 7, 0), ist(10, 9, 0), tz), ist(10, 8, 0));
        // Before an 08:15 visit, 08:00 is too late: the evening before.
        assert_eq!(quiet.place(ist(10, 6, 15), ist(10, 8, 15), tz), ist(9, 21, 0));
        // 24 h before a 22:30 visit is 22:30 the day before: the next morning.
        assert_eq!(quiet.place(ist(9, 22, 30), ist(10, 22, 30), tz), ist(10, 8, 0));
    }

    #[test]
    fn a_follow_up_in_quiet_hours_waits_for_their_end() {
        let quiet = QuietHours::parse("21:00-08:00").unwrap();
        let tz = chrono_tz::Asia::Kolkata;
        assert_eq!(quiet.after(ist(9, 20, 59), tz), ist(9, 20, 59));
        assert_eq!(quiet.after(ist(9, 21, 0), tz), ist(10, 8, 0));
        assert_eq!(quiet.after(ist(10, 3, 30), tz), ist(10, 8, 0));
        assert_eq!(quiet.after(ist(10, 8, 0), tz), ist(10, 8, 0));
        let daytime = QuietHours::parse("13:00-14:00").unwrap();
        assert_eq!(daytime.after(ist(10, 13, 30), tz), ist(10, 14, 0));
    }

    #[test]
    fn settings_that_cannot_be_understood_name_their_key() {
        let bad = [
            (
                NotificationSettings {
                    from: "nobody".into(),
                    ..Default::default()
                },
                "notifications.from",
            ),
            (
                NotificationSettings {
                    quiet_hours: "late".into(),
                    ..Default::default()
                },
                "notifications.quiet_hours",
            ),
            (
                NotificationSettings {
                    reminder_hours: vec![0],
                    ..Default::default()
                },
                "notifications.reminder_hours",
            ),
            (
                NotificationSettings {
                    twilio_account_sid: Some("not-a-sid".into()),
                    twilio_auth_token: Some(Secret::new("t")),
                    twilio_from: Some("+14155550100".into()),
                    ..Default::default()
                },
                "notifications.twilio_account_sid",
            ),
            (
                NotificationSettings {
                    whatsapp_phone_number_id: Some("109876543210".into()),
                    ..Default::default()
                },
                "notifications.whatsapp_phone_number_id",
            ),
        ];
        for (settings, key) in bad {
            let error = settings.resolve().err().unwrap();
            assert!(error.starts_with(key), "{error}");
        }
        assert!(SmtpUrl::try_from("http://mail.example.com".to_owned()).is_err());
        let url =
            SmtpUrl::try_from("smtp://user:secret@mail.example.com:587?tls=required".to_owned()).unwrap();
        assert!(!format!("{url:?}").contains("secret"));
    }

    #[test]
    fn a_message_names_the_visit_in_the_branch_timezone_and_escapes_html() {
        let visit = VisitContext {
            appointment_id: Uuid::nil(),
            client_id: Uuid::nil(),
            status: "booked".into(),
            starts_at: ist(12, 10, 30),
            business: "Asha's <Salon>".into(),
            location: "Baner".into(),
            timezone: "Asia/Kolkata".into(),
            services: vec!["Haircut".into(), "Blow-dry".into()],
            staff: vec!["Meena".into()],
        };
        let message = render(
            "booking_confirmed",
            "Ravi",
            &visit,
            "https://salon.example/b/t?a&b",
        );
        assert_eq!(message.subject, "Booked: Haircut, Blow-dry at Asha's <Salon>");
        assert_eq!(
            message.text,
            "Hello Ravi,\n\nyour visit to Asha's <Salon> (Baner) is booked for Saturday, 12 December 2026 at 10:30 AM.\n\
             \nServices: Haircut, Blow-dry\nWith: Meena\n\nSee, move or cancel it: https://salon.example/b/t?a&b\n\
             \nAsha's <Salon>\n"
        );
        assert!(message.html.contains("Asha's &lt;Salon&gt;"));
        assert!(!message.html.contains("<Salon>"));
        assert!(message
            .html
            .contains("<p><a href=\"https://salon.example/b/t?a&amp;b\">See, move or cancel it</a></p>"));
        let cancelled = render("cancelled", "Ravi", &visit, "");
        assert_eq!(
            cancelled.text,
            "Hello Ravi,\n\nyour visit to Asha's <Salon> (Baner) on Saturday, 12 December 2026 at 10:30 AM is cancelled.\n\
             \nAsha's <Salon>\n"
        );
    }
}
