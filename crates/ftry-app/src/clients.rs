//! Clients (the CRM): create with duplicate detection by phone, read, change
//! (PATCH), search by name prefix, exact phone or exact email, and merge two
//! records of one person. Phone and email are sealed before they reach the
//! database and opened only to answer the caller; the audit log records
//! which fields changed, never their values (it is append-only, so personal
//! data written there could never be erased).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ftry_domain::contact::{Email, Phone};
use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::clients::{self, ClientRecord, ClientRow, Refusal, SealedContact};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::data_protection::Sealed;
use crate::error::{AppError, Validator};
use crate::{App, Principal};

/// The channels client messages go out on.
pub const MESSAGE_CHANNELS: [&str; 3] = ["email", "sms", "whatsapp"];
pub const GENDERS: [&str; 5] = ["female", "male", "non_binary", "other", "prefer_not_to_say"];
pub const CONSENT_CHANNELS: [&str; 7] = [
    "in_person",
    "phone",
    "online",
    "whatsapp",
    "sms",
    "email",
    "paper_form",
];
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 40;
const MAX_NOTES: usize = 4000;
const MAX_HEALTH_NOTES: usize = 2000;
pub(crate) const PHONE: &str = "phone";
pub(crate) const EMAIL: &str = "email";

/// A client as the API shows it, phone and email opened.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Client {
    pub id: Uuid,
    pub name: String,
    /// E.164, e.g. `+919876543210`.
    pub phone: Option<String>,
    /// Lowercase.
    pub email: Option<String>,
    pub gender: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub notes: String,
    pub tags: Vec<String>,
    pub allergies: String,
    pub consent_notes: String,
    pub marketing_consent: bool,
    /// When the current marketing consent was given.
    pub consent_at: Option<DateTime<Utc>>,
    pub consent_channel: Option<String>,
    pub preferred_staff_id: Option<Uuid>,
    /// Channels the client asked not to be messaged on: `email`, `whatsapp`, `sms`.
    pub opted_out_channels: Vec<String>,
    /// The language the client reads messages in (`hi`, `mr`, `en`…);
    /// `null`: the business's.
    pub language: Option<String>,
    /// Set when this record was merged into another; it no longer appears in searches.
    pub merged_into: Option<Uuid>,
    pub merged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who a front-desk booking is for, as the desk knows them: a phone number
/// (finds a client) and a name (adds one when none has the number).
#[derive(Debug, Default)]
pub struct DeskClient {
    pub phone: Option<String>,
    pub name: String,
}

/// A new client. Only `name` is required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// 1–200 characters.
    pub name: String,
    /// E.164 (`+<country><number>`) or a 10-digit Indian mobile number.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// `female`, `male`, `non_binary`, `other` or `prefer_not_to_say`.
    pub gender: Option<String>,
    /// `YYYY-MM-DD`, not in the future.
    pub birthday: Option<NaiveDate>,
    /// Up to 4000 characters.
    pub notes: Option<String>,
    /// Up to 20 labels of 1–40 characters; stored trimmed and lowercase, each once.
    pub tags: Option<Vec<String>>,
    /// Up to 2000 characters.
    pub allergies: Option<String>,
    /// Consent to treatments (patch tests, waivers); up to 2000 characters.
    pub consent_notes: Option<String>,
    pub marketing_consent: Option<bool>,
    /// How marketing consent was given; required when `marketing_consent` is true:
    /// `in_person`, `phone`, `online`, `whatsapp`, `sms`, `email` or `paper_form`.
    pub consent_channel: Option<String>,
    pub preferred_staff_id: Option<Uuid>,
    /// Channels the client asked not to be messaged on: `email`, `whatsapp`, `sms`.
    pub opted_out_channels: Option<Vec<String>>,
    /// A language code such as `hi`, `mr` or `en`.
    pub language: Option<String>,
}

/// A change (PATCH): absent fields stay as they are; `null` clears a field
/// that may be empty (phone, email, gender, birthday, consent_channel,
/// preferred_staff_id, language). Same rules as creating.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<String>)]
    pub gender: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub birthday: Option<Option<NaiveDate>>,
    pub notes: Option<String>,
    pub tags: Option<Vec<String>>,
    pub allergies: Option<String>,
    pub consent_notes: Option<String>,
    pub marketing_consent: Option<bool>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<String>)]
    pub consent_channel: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub preferred_staff_id: Option<Option<Uuid>>,
    /// The whole list: `[]` lets every channel through again.
    pub opted_out_channels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::catalog::nullable")]
    #[schema(value_type = Option<String>)]
    pub language: Option<Option<String>>,
}

impl From<&NewClient> for ClientChanges {
    fn from(new: &NewClient) -> Self {
        Self {
            name: Some(new.name.clone()),
            phone: new.phone.clone().map(Some),
            email: new.email.clone().map(Some),
            gender: new.gender.clone().map(Some),
            birthday: new.birthday.map(Some),
            notes: new.notes.clone(),
            tags: new.tags.clone(),
            allergies: new.allergies.clone(),
            consent_notes: new.consent_notes.clone(),
            marketing_consent: new.marketing_consent,
            consent_channel: new.consent_channel.clone().map(Some),
            preferred_staff_id: new.preferred_staff_id.map(Some),
            opted_out_channels: new.opted_out_channels.clone(),
            language: new.language.clone().map(Some),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The other record of the same person; it is marked merged into the client of the path.
    pub duplicate_id: Uuid,
}

/// Search filters, combined with AND; none = every client, by name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientSearch {
    /// Start of the name, any case (1–100 characters).
    pub q: Option<String>,
    /// Exact phone number, in any form `phone` accepts.
    pub phone: Option<String>,
    /// Exact email address, any case.
    pub email: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientPage {
    pub items: Vec<Client>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// Today's date somewhere on Earth (UTC+14 is the earliest zone), so a
/// birthday that is today for the client is never "in the future".
fn latest_date(now: DateTime<Utc>) -> NaiveDate {
    (now + Duration::hours(14)).date_naive()
}

/// An optional value: absent, `null` or blank means none.
fn optional<T, E: ToString>(
    v: &mut Validator,
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(text) => v.check(field, parse(text)),
    }
}

fn one_of(set: &'static [&'static str]) -> impl Fn(&str) -> Result<String, String> {
    move |text| {
        if set.contains(&text) {
            Ok(text.to_owned())
        } else {
            Err(format!("must be one of {}", set.join(", ")))
        }
    }
}

/// Free text of up to `max` characters; line breaks and tabs allowed.
fn long_text(v: &mut Validator, field: &str, value: &str, max: usize) -> Option<String> {
    let text = value.trim();
    if text.chars().count() > max {
        v.push(field, format!("must be at most {max} characters"));
        None
    } else if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        v.push(field, "must not contain control characters");
        None
    } else {
        Some(text.to_owned())
    }
}

fn tags(v: &mut Validator, values: &[String]) -> Option<Vec<String>> {
    let mut tags: Vec<String> = Vec::new();
    for value in values {
        let tag = value.trim().to_lowercase();
        let length = tag.chars().count();
        if !(1..=MAX_TAG_CHARS).contains(&length) || tag.chars().any(char::is_control) {
            v.push(
                "tags",
                format!("each tag has 1 to {MAX_TAG_CHARS} characters, not `{}`", tag),
            );
            return None;
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        v.push("tags", format!("at most {MAX_TAGS} tags"));
        return None;
    }
    Some(tags)
}

/// Validated input: `None` leaves a field as it is.
struct Valid {
    name: Option<String>,
    phone: Option<Option<Phone>>,
    email: Option<Option<Email>>,
    gender: Option<Option<String>>,
    birthday: Option<Option<NaiveDate>>,
    notes: Option<String>,
    tags: Option<Vec<String>>,
    allergies: Option<String>,
    consent_notes: Option<String>,
    preferred_staff_id: Option<Option<Uuid>>,
    consent: (bool, Option<DateTime<Utc>>, Option<String>),
    opted_out_channels: Option<Vec<String>>,
    language: Option<Option<String>>,
}

/// Check `changes` against the client as it is (`before`); every invalid
/// field is reported at once.
fn validate(before: &ClientRecord, changes: &ClientChanges, now: DateTime<Utc>) -> Result<Valid, AppError> {
    let mut v = Validator::default();
    let name = changes.name.as_deref().and_then(|n| v.text("name", n, 200));
    let phone = changes
        .phone
        .as_ref()
        .map(|p| optional(&mut v, PHONE, p.as_deref(), Phone::parse));
    let email = changes
        .email
        .as_ref()
        .map(|e| optional(&mut v, EMAIL, e.as_deref(), Email::parse));
    let gender = changes
        .gender
        .as_ref()
        .map(|g| optional(&mut v, "gender", g.as_deref(), one_of(&GENDERS)));
    if let Some(Some(birthday)) = changes.birthday {
        if birthday > latest_date(now) {
            v.push("birthday", "must not be in the future");
        } else if birthday < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
            v.push("birthday", "must be on or after 1900-01-01");
        }
    }
    let notes = changes
        .notes
        .as_deref()
        .and_then(|n| long_text(&mut v, "notes", n, MAX_NOTES));
    let tags = changes.tags.as_deref().and_then(|t| tags(&mut v, t));
    let allergies = changes
        .allergies
        .as_deref()
        .and_then(|a| long_text(&mut v, "allergies", a, MAX_HEALTH_NOTES));
    let consent_notes = changes
        .consent_notes
        .as_deref()
        .and_then(|c| long_text(&mut v, "consent_notes", c, MAX_HEALTH_NOTES));
    let given_channel = changes
        .consent_channel
        .as_ref()
        .map(|c| optional(&mut v, "consent_channel", c.as_deref(), one_of(&CONSENT_CHANNELS)));
    let consenting = changes.marketing_consent.unwrap_or(before.marketing_consent);
    let consent = if consenting {
        let channel = given_channel
            .clone()
            .unwrap_or_else(|| before.consent_channel.clone());
        if channel.is_none() {
            v.push(
                "consent_channel",
                format!(
                    "required when marketing_consent is true: one of {}",
                    CONSENT_CHANNELS.join(", ")
                ),
            );
        }
        let since = if before.marketing_consent {
            before.consent_at
        } else {
            Some(now)
        };
        (true, since, channel)
    } else {
        if matches!(given_channel, Some(Some(_))) {
            v.push("consent_channel", "is recorded only with marketing_consent true");
        }
        (false, None, None)
    };
    let opted_out_channels = changes.opted_out_channels.as_ref().map(|channels| {
        let mut picked: Vec<String> = Vec::new();
        for channel in channels {
            if !MESSAGE_CHANNELS.contains(&channel.as_str()) {
                v.push(
                    "opted_out_channels",
                    format!(
                        "`{channel}` is not a channel: one of {}",
                        MESSAGE_CHANNELS.join(", ")
                    ),
                );
            } else if !picked.contains(channel) {
                picked.push(channel.clone());
            }
        }
        picked.sort_unstable();
        picked
    });
    let language = changes.language.as_ref().map(|l| {
        optional(&mut v, "language", l.as_deref(), |code| {
            if ftry_domain::templates::is_language(code) {
                Ok(code.to_owned())
            } else {
                Err("must be a language code such as hi, mr, en or pt-BR")
            }
        })
    });
    v.finish()?;
    Ok(Valid {
        name,
        phone,
        email,
        gender,
        birthday: changes.birthday,
        notes,
        tags,
        allergies,
        consent_notes,
        preferred_staff_id: changes.preferred_staff_id,
        consent,
        opted_out_channels,
        language,
    })
}

/// Names of the fields that differ (contacts compared by blind index, so
/// re-sealing the same value is no change).
fn changed_fields(a: &ClientRecord, b: &ClientRecord) -> Vec<&'static str> {
    let index = |s: &Option<SealedContact>| s.as_ref().map(|s| s.index.clone());
    [
        ("name", a.name != b.name),
        (PHONE, index(&a.phone) != index(&b.phone)),
        (EMAIL, index(&a.email) != index(&b.email)),
        ("gender", a.gender != b.gender),
        ("birthday", a.birthday != b.birthday),
        ("notes", a.notes != b.notes),
        ("tags", a.tags != b.tags),
        ("allergies", a.allergies != b.allergies),
        ("consent_notes", a.consent_notes != b.consent_notes),
        ("marketing_consent", a.marketing_consent != b.marketing_consent),
        ("consent_channel", a.consent_channel != b.consent_channel),
        ("preferred_staff_id", a.preferred_staff_id != b.preferred_staff_id),
        ("opted_out_channels", a.opted_out_channels != b.opted_out_channels),
        ("language", a.language != b.language),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect()
}

/// Where a sealed contact belongs: it opens only for this business, client and field.
fn context(tenant_id: Uuid, client_id: Uuid, field: &str) -> String {
    format!("client:{tenant_id}:{client_id}:{field}")
}

fn client_merged(row: &ClientRow) -> AppError {
    AppError::conflict(
        "client_merged",
        format!(
            "This client was merged into {}; use that one.",
            row.merged_into.map(|id| id.to_string()).unwrap_or_default()
        ),
    )
}

/// Append `extra` to `text` as a new paragraph, within `max` characters.
fn append(field: &'static str, text: &str, extra: &str, max: usize) -> Result<String, AppError> {
    let joined = match (text.is_empty(), extra.is_empty()) {
        (_, true) => text.to_owned(),
        (true, false) => extra.to_owned(),
        (false, false) => format!("{text}\n\n{extra}"),
    };
    if joined.chars().count() > max {
        return Err(AppError::conflict(
            "merge_too_large",
            format!("Together the two clients' {field} exceed {max} characters; shorten one of them first."),
        ));
    }
    Ok(joined)
}

/// Audit a change to a client and announce it to integrations: both name
/// the fields that changed, never their values.
async fn announce(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    origin: &Origin,
    actor: Actor,
    action: &str,
    id: Uuid,
    details: serde_json::Value,
) -> Result<(), AppError> {
    audit::record(
        tx,
        tenant_id,
        origin,
        Event::new(actor, action, "client", id).after(&details),
    )
    .await?;
    ftry_store::appointments::emit(tx, tenant_id, action, id, details).await?;
    Ok(())
}

impl App {
    pub(crate) fn seal_contact(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        field: &str,
        value: &str,
    ) -> SealedContact {
        let sealed = self.protection.seal(value, &context(tenant_id, client_id, field));
        SealedContact {
            ciphertext: sealed.bytes,
            key_id: sealed.key_id,
            index: self.protection.blind_index(field, tenant_id, value),
        }
    }

    pub(crate) fn open_contact(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        field: &str,
        contact: &SealedContact,
    ) -> Result<String, AppError> {
        let sealed = Sealed {
            key_id: contact.key_id.clone(),
            bytes: contact.ciphertext.clone(),
        };
        self.protection
            .open(&sealed, &context(tenant_id, client_id, field))
            .map_err(|e| AppError::Internal(format!("client {client_id}: cannot open its {field}: {e}")))
    }

    /// `value` sealed for this client, keeping the stored ciphertext when the value is unchanged.
    fn contact(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        field: &str,
        value: Option<&str>,
        current: Option<&SealedContact>,
    ) -> Option<SealedContact> {
        let value = value?;
        let index = self.protection.blind_index(field, tenant_id, value);
        match current {
            Some(current) if current.index == index => Some(current.clone()),
            _ => Some(self.seal_contact(tenant_id, client_id, field, value)),
        }
    }

    fn client(&self, tenant_id: Uuid, row: ClientRow) -> Result<Client, AppError> {
        let phone = row
            .phone()
            .map(|s| self.open_contact(tenant_id, row.id, PHONE, &s))
            .transpose()?;
        let email = row
            .email()
            .map(|s| self.open_contact(tenant_id, row.id, EMAIL, &s))
            .transpose()?;
        Ok(Client {
            id: row.id,
            name: row.name,
            phone,
            email,
            gender: row.gender,
            birthday: row.birthday,
            notes: row.notes,
            tags: row.tags,
            allergies: row.allergies,
            consent_notes: row.consent_notes,
            marketing_consent: row.marketing_consent,
            consent_at: row.consent_at,
            consent_channel: row.consent_channel,
            preferred_staff_id: row.preferred_staff_id,
            opted_out_channels: row.opted_out_channels,
            language: row.language,
            merged_into: row.merged_into,
            merged_at: row.merged_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// `before` with the valid changes applied.
    fn apply(&self, tenant_id: Uuid, client_id: Uuid, before: &ClientRecord, valid: Valid) -> ClientRecord {
        let mut after = before.clone();
        if let Some(name) = valid.name {
            after.name = name;
        }
        if let Some(phone) = valid.phone {
            after.phone = self.contact(
                tenant_id,
                client_id,
                PHONE,
                phone.as_ref().map(Phone::as_str),
                before.phone.as_ref(),
            );
        }
        if let Some(email) = valid.email {
            after.email = self.contact(
                tenant_id,
                client_id,
                EMAIL,
                email.as_ref().map(Email::as_str),
                before.email.as_ref(),
            );
        }
        if let Some(gender) = valid.gender {
            after.gender = gender;
        }
        if let Some(birthday) = valid.birthday {
            after.birthday = birthday;
        }
        if let Some(notes) = valid.notes {
            after.notes = notes;
        }
        if let Some(tags) = valid.tags {
            after.tags = tags;
        }
        if let Some(allergies) = valid.allergies {
            after.allergies = allergies;
        }
        if let Some(consent_notes) = valid.consent_notes {
            after.consent_notes = consent_notes;
        }
        if let Some(staff) = valid.preferred_staff_id {
            after.preferred_staff_id = staff;
        }
        (after.marketing_consent, after.consent_at, after.consent_channel) = valid.consent;
        if let Some(channels) = valid.opted_out_channels {
            after.opted_out_channels = channels;
        }
        if let Some(language) = valid.language {
            after.language = language;
        }
        after
    }

    /// The answer to a write the database refused.
    async fn refused(&self, tenant_id: Uuid, error: sqlx::Error, record: &ClientRecord) -> AppError {
        match clients::refusal(&error) {
            Some(Refusal::PhoneTaken) => {
                let existing = match &record.phone {
                    Some(phone) => self.client_with_phone(tenant_id, &phone.index).await,
                    None => Ok(None),
                };
                match existing {
                    Ok(existing) => client_exists(existing),
                    Err(e) => e,
                }
            }
            Some(Refusal::UnknownStaff) => AppError::invalid(
                "preferred_staff_id",
                "no staff member of this business has this id",
            ),
            None => error.into(),
        }
    }

    /// Looked up in a transaction of its own: the one that failed is aborted.
    async fn client_with_phone(&self, tenant_id: Uuid, index: &[u8]) -> Result<Option<Uuid>, AppError> {
        let mut tx = self.pools.begin(tenant_id).await?;
        let id = clients::find_by_phone(&mut tx, index).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Add a client. A phone number another live client already has is
    /// refused with `client_exists`, naming that client.
    pub async fn create_client(
        &self,
        principal: &Principal,
        request: &NewClient,
        origin: &Origin,
    ) -> Result<Client, AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let row = self.add_client_in(&mut tx, principal, request, origin).await?;
        tx.commit().await?;
        self.client(principal.tenant_id, row)
    }

    /// Add a client inside `tx` (a booking adds its new client in its own
    /// transaction, so a refused booking adds nobody).
    pub(crate) async fn add_client_in(
        &self,
        tx: &mut PgConnection,
        principal: &Principal,
        request: &NewClient,
        origin: &Origin,
    ) -> Result<ClientRow, AppError> {
        principal.require(Permission::ClientsManage)?;
        let tenant_id = principal.tenant_id;
        let empty = ClientRecord::default();
        let valid = validate(&empty, &ClientChanges::from(request), Utc::now())?;
        let id = Uuid::now_v7();
        let record = self.apply(tenant_id, id, &empty, valid);
        let row = match clients::insert(&mut *tx, tenant_id, id, &record).await {
            Ok(row) => row,
            // The transaction is spent; the refusal is read on another connection.
            Err(e) => return Err(self.refused(tenant_id, e, &record).await),
        };
        announce(
            &mut *tx,
            tenant_id,
            origin,
            principal.actor(),
            "client.created",
            id,
            serde_json::json!({ "fields": changed_fields(&empty, &record) }),
        )
        .await?;
        Ok(row)
    }

    /// The client a front-desk booking is for, inside the booking's
    /// transaction: the live client with this phone number, else someone new
    /// (a name is then needed). Without a phone number, always someone new (a
    /// walk-in).
    pub(crate) async fn desk_client_in(
        &self,
        tx: &mut PgConnection,
        principal: &Principal,
        client: &DeskClient,
        origin: &Origin,
    ) -> Result<Uuid, AppError> {
        principal.require(Permission::ClientsRead)?;
        let phone = client.phone.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if let Some(text) = phone {
            let phone = Phone::parse(text).map_err(|e| AppError::invalid(PHONE, e))?;
            let index = self
                .protection
                .blind_index(PHONE, principal.tenant_id, phone.as_str());
            if let Some(id) = clients::find_by_phone(&mut *tx, &index).await? {
                return Ok(id);
            }
            if client.name.trim().is_empty() {
                return Err(AppError::invalid(
                    "name",
                    "no client has this phone number: enter a name to add them",
                ));
            }
        }
        let new = NewClient {
            name: client.name.trim().to_owned(),
            phone: phone.map(str::to_owned),
            ..NewClient::default()
        };
        Ok(self.add_client_in(tx, principal, &new, origin).await?.id)
    }

    /// The client an online booking is for, inside the booking's
    /// transaction: the live client with this phone number, else a new one.
    /// Only an id comes back, and an anonymous booking never changes an
    /// existing client, so booking shows or alters nobody else's data.
    pub async fn client_for_booking(
        &self,
        tx: &mut PgConnection,
        tenant_id: Uuid,
        name: &str,
        phone: &str,
        email: Option<&str>,
        origin: &Origin,
    ) -> Result<Uuid, AppError> {
        let changes = ClientChanges {
            name: Some(name.to_owned()),
            phone: Some(Some(phone.to_owned())),
            email: Some(email.map(str::to_owned)),
            ..ClientChanges::default()
        };
        let empty = ClientRecord::default();
        let valid = validate(&empty, &changes, Utc::now()).map_err(|e| match e {
            AppError::Validation(errors) => AppError::Validation(
                errors
                    .into_iter()
                    .map(|mut error| {
                        error.field = format!("client.{}", error.field);
                        error
                    })
                    .collect(),
            ),
            other => other,
        })?;
        let id = Uuid::now_v7();
        let record = self.apply(tenant_id, id, &empty, valid);
        let Some(phone) = &record.phone else {
            return Err(AppError::invalid(
                "client.phone",
                "a phone number is required to book online",
            ));
        };
        if let Some(existing) = clients::find_by_phone(tx, &phone.index).await? {
            return Ok(existing);
        }
        // Two first bookings with one new number at once: the second finds the first's client.
        sqlx::query("SAVEPOINT new_client").execute(&mut *tx).await?;
        if let Err(e) = clients::insert(tx, tenant_id, id, &record).await {
            if clients::refusal(&e) != Some(Refusal::PhoneTaken) {
                return Err(e.into());
            }
            sqlx::query("ROLLBACK TO SAVEPOINT new_client")
                .execute(&mut *tx)
                .await?;
            return clients::find_by_phone(tx, &phone.index)
                .await?
                .ok_or_else(|| AppError::Internal("phone taken by an invisible client".into()));
        }
        sqlx::query("RELEASE SAVEPOINT new_client")
            .execute(&mut *tx)
            .await?;
        announce(
            tx,
            tenant_id,
            origin,
            Actor::Anonymous,
            "client.created",
            id,
            serde_json::json!({ "fields": changed_fields(&empty, &record), "source": "online" }),
        )
        .await?;
        Ok(id)
    }

    pub async fn get_client(&self, principal: &Principal, id: Uuid) -> Result<Client, AppError> {
        principal.require(Permission::ClientsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let row = clients::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        self.client(principal.tenant_id, row)
    }

    /// Change some fields of a client; the rest stay as they are.
    pub async fn update_client(
        &self,
        principal: &Principal,
        id: Uuid,
        changes: &ClientChanges,
        origin: &Origin,
    ) -> Result<Client, AppError> {
        principal.require(Permission::ClientsManage)?;
        let tenant_id = principal.tenant_id;
        let mut tx = self.pools.begin(tenant_id).await?;
        let row = clients::lock(&mut tx, &[id])
            .await?
            .pop()
            .ok_or(AppError::NotFound)?;
        if row.merged_into.is_some() {
            return Err(client_merged(&row));
        }
        let before = row.record();
        let valid = validate(&before, changes, Utc::now())?;
        let after = self.apply(tenant_id, id, &before, valid);
        let changed = changed_fields(&before, &after);
        if changed.is_empty() {
            tx.commit().await?;
            return self.client(tenant_id, row);
        }
        let row = match clients::update(&mut tx, id, &after).await {
            Ok(row) => row,
            Err(e) => {
                drop(tx);
                return Err(self.refused(tenant_id, e, &after).await);
            }
        };
        announce(
            &mut tx,
            tenant_id,
            origin,
            principal.actor(),
            "client.updated",
            id,
            serde_json::json!({ "changed": changed }),
        )
        .await?;
        tx.commit().await?;
        self.client(tenant_id, row)
    }

    /// One page of live clients matching every given filter, by name.
    pub async fn search_clients(
        &self,
        principal: &Principal,
        query: &ClientSearch,
    ) -> Result<ClientPage, AppError> {
        principal.require(Permission::ClientsRead)?;
        let tenant_id = principal.tenant_id;
        let mut v = Validator::default();
        let name_prefix = v.optional_text("q", query.q.as_deref(), 100);
        let phone = optional(&mut v, PHONE, query.phone.as_deref(), Phone::parse);
        let email = optional(&mut v, EMAIL, query.email.as_deref(), Email::parse);
        let limit = query.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            v.push("limit", "must be between 1 and 100");
        }
        v.finish()?;
        let search = clients::Search {
            name_prefix,
            phone_index: phone.map(|p| self.protection.blind_index(PHONE, tenant_id, p.as_str())),
            email_index: email.map(|e| self.protection.blind_index(EMAIL, tenant_id, e.as_str())),
            after: query.cursor,
        };
        let mut tx = self.pools.begin(tenant_id).await?;
        let mut rows = self
            .pools
            .metrics
            .timed("client_search", clients::search(&mut tx, &search, limit + 1))
            .await?;
        tx.commit().await?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id)
        } else {
            None
        };
        let items = rows
            .into_iter()
            .map(|row| self.client(tenant_id, row))
            .collect::<Result<_, _>>()?;
        Ok(ClientPage { items, next_cursor })
    }

    /// Merge `duplicate_id` into `target_id`: the target keeps its values and
    /// takes the duplicate's where it has none, tags are united, notes
    /// appended; the duplicate is marked merged (hidden from searches) and
    /// whatever referred to it now refers to the target.
    pub async fn merge_clients(
        &self,
        principal: &Principal,
        target_id: Uuid,
        request: &MergeRequest,
        origin: &Origin,
    ) -> Result<Client, AppError> {
        principal.require(Permission::ClientsManage)?;
        let tenant_id = principal.tenant_id;
        let duplicate_id = request.duplicate_id;
        if duplicate_id == target_id {
            return Err(AppError::invalid(
                "duplicate_id",
                "must be another client than the one kept",
            ));
        }
        let mut tx = self.pools.begin(tenant_id).await?;
        let rows = clients::lock(&mut tx, &[target_id, duplicate_id]).await?;
        let target = rows
            .iter()
            .find(|r| r.id == target_id)
            .ok_or(AppError::NotFound)?;
        let duplicate = rows
            .iter()
            .find(|r| r.id == duplicate_id)
            .ok_or_else(|| AppError::invalid("duplicate_id", "no client of this business has this id"))?;
        if let Some(merged) = rows.iter().find(|r| r.merged_into.is_some()) {
            return Err(client_merged(merged));
        }
        let before = target.record();
        let merged = self.combine(tenant_id, target, duplicate)?;
        let filled = changed_fields(&before, &merged);
        // Merged first: the duplicate's phone number is free for the target only then.
        clients::mark_merged(&mut tx, duplicate_id, target_id).await?;
        clients::repoint_references(&mut tx, duplicate_id, target_id).await?;
        let row = match clients::update(&mut tx, target_id, &merged).await {
            Ok(row) => row,
            Err(e) => {
                drop(tx);
                return Err(self.refused(tenant_id, e, &merged).await);
            }
        };
        announce(
            &mut tx,
            tenant_id,
            origin,
            principal.actor(),
            "client.merged",
            target_id,
            serde_json::json!({ "duplicate_id": duplicate_id, "changed": filled }),
        )
        .await?;
        tx.commit().await?;
        self.client(tenant_id, row)
    }

    /// The target's record completed from the duplicate's.
    fn combine(
        &self,
        tenant_id: Uuid,
        target: &ClientRow,
        duplicate: &ClientRow,
    ) -> Result<ClientRecord, AppError> {
        let mut merged = target.record();
        let other = duplicate.record();
        // A contact moves by being opened and sealed again: it only opens for the record it was sealed for.
        let moved = |field: &str, contact: &SealedContact| -> Result<SealedContact, AppError> {
            let value = self.open_contact(tenant_id, duplicate.id, field, contact)?;
            Ok(self.seal_contact(tenant_id, target.id, field, &value))
        };
        if let (None, Some(phone)) = (&merged.phone, &other.phone) {
            merged.phone = Some(moved(PHONE, phone)?);
        }
        if let (None, Some(email)) = (&merged.email, &other.email) {
            merged.email = Some(moved(EMAIL, email)?);
        }
        merged.gender = merged.gender.or(other.gender);
        merged.language = merged.language.or(other.language);
        merged.birthday = merged.birthday.or(other.birthday);
        merged.preferred_staff_id = merged.preferred_staff_id.or(other.preferred_staff_id);
        if !merged.marketing_consent && other.marketing_consent {
            merged.marketing_consent = true;
            merged.consent_at = other.consent_at;
            merged.consent_channel = other.consent_channel;
        }
        // An opt-out given on either record stands.
        for channel in other.opted_out_channels {
            if !merged.opted_out_channels.contains(&channel) {
                merged.opted_out_channels.push(channel);
            }
        }
        merged.opted_out_channels.sort_unstable();
        for tag in other.tags {
            if !merged.tags.contains(&tag) {
                merged.tags.push(tag);
            }
        }
        if merged.tags.len() > MAX_TAGS {
            return Err(AppError::conflict(
                "merge_too_large",
                format!("Together the two clients have more than {MAX_TAGS} tags; remove some first."),
            ));
        }
        merged.notes = append("notes", &merged.notes, &other.notes, MAX_NOTES)?;
        merged.allergies = append("allergies", &merged.allergies, &other.allergies, MAX_HEALTH_NOTES)?;
        merged.consent_notes = append(
            "consent_notes",
            &merged.consent_notes,
            &other.consent_notes,
            MAX_HEALTH_NOTES,
        )?;
        Ok(merged)
    }
}

/// 409 `client_exists`, naming the client that has the phone number.
fn client_exists(existing: Option<Uuid>) -> AppError {
    let mut details = serde_json::Map::new();
    if let Some(id) = existing {
        details.insert("existing_client_id".into(), id.to_string().into());
    }
    AppError::ConflictWith {
        code: "client_exists",
        detail: "A client with this phone number already exists; open or update that client instead.".into(),
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-26T20:00:00Z".parse().unwrap()
    }

    fn errors(changes: ClientChanges) -> Vec<(String, String)> {
        match validate(&ClientRecord::default(), &changes, now()) {
            Err(AppError::Validation(errors)) => errors.into_iter().map(|e| (e.field, e.message)).collect(),
            Err(other) => panic!("{other:?}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn a_birthday_that_is_today_somewhere_is_accepted_and_tomorrow_everywhere_is_not() {
        // 20:00 UTC on the 26th is already the 27th in Kiribati (UTC+14).
        let on = |date: &str| ClientChanges {
            birthday: Some(Some(date.parse().unwrap())),
            ..Default::default()
        };
        assert!(errors(on("2026-11-27")).is_empty());
        assert_eq!(
            errors(on("2026-11-28")),
            vec![("birthday".into(), "must not be in the future".into())]
        );
        assert_eq!(errors(on("1899-12-31"))[0].0, "birthday");
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_kept_once() {
        let changes = ClientChanges {
            tags: Some(vec![" VIP ".into(), "vip".into(), "Bridal 2026".into()]),
            ..Default::default()
        };
        let valid = validate(&ClientRecord::default(), &changes, now()).unwrap();
        assert_eq!(
            valid.tags,
            Some(vec!["vip".to_string(), "bridal 2026".to_string()])
        );
        let too_many = ClientChanges {
            tags: Some((0..21).map(|i| format!("t{i}")).collect()),
            ..Default::default()
        };
        assert_eq!(errors(too_many), vec![("tags".into(), "at most 20 tags".into())]);
        let too_long = ClientChanges {
            tags: Some(vec!["x".repeat(41)]),
            ..Default::default()
        };
        assert_eq!(errors(too_long)[0].0, "tags");
    }

    #[test]
    fn consent_needs_a_channel_and_is_dated_when_given() {
        let consent = ClientChanges {
            marketing_consent: Some(true),
            ..Default::default()
        };
        assert_eq!(errors(consent)[0].0, "consent_channel");
        let given = ClientChanges {
            marketing_consent: Some(true),
            consent_channel: Some(Some("whatsapp".into())),
            ..Default::default()
        };
        let valid = validate(&ClientRecord::default(), &given, now()).unwrap();
        assert_eq!(valid.consent, (true, Some(now()), Some("whatsapp".into())));
        // Already consenting: the date stays, the channel may change.
        let before = ClientRecord {
            marketing_consent: true,
            consent_at: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            consent_channel: Some("sms".into()),
            ..Default::default()
        };
        let channel = ClientChanges {
            consent_channel: Some(Some("email".into())),
            ..Default::default()
        };
        let valid = validate(&before, &channel, now()).unwrap();
        assert_eq!(valid.consent, (true, before.consent_at, Some("email".into())));
        let withdrawn = ClientChanges {
            marketing_consent: Some(false),
            ..Default::default()
        };
        assert_eq!(
            validate(&before, &withdrawn, now()).unwrap().consent,
            (false, None, None)
        );
        let channel_without_consent = ClientChanges {
            consent_channel: Some(Some("sms".into())),
            ..Default::default()
        };
        assert_eq!(errors(channel_without_consent)[0].0, "consent_channel");
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let changes = ClientChanges {
            name: Some("  ".into()),
            phone: Some(Some("12345".into())),
            email: Some(Some("not-an-email".into())),
            gender: Some(Some("robot".into())),
            notes: Some("x".repeat(4001)),
            allergies: Some("a\u{7}".into()),
            ..Default::default()
        };
        let fields: Vec<String> = errors(changes).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["name", "phone", "email", "gender", "notes", "allergies"]);
    }

    #[test]
    fn appended_notes_keep_both_texts_within_the_limit() {
        assert_eq!(append("notes", "", "b", 10).unwrap(), "b");
        assert_eq!(append("notes", "a", "", 10).unwrap(), "a");
        assert_eq!(append("notes", "a", "b", 10).unwrap(), "a\n\nb");
        assert!(matches!(
            append("notes", "aaaa", "bbbb", 9),
            Err(AppError::Conflict {
                code: "merge_too_large",
                ..
            })
        ));
    }
}
