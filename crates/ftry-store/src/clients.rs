//! Clients of a business. Phone and email arrive here already sealed (see
//! `ftry_app::data_protection`): this module stores ciphertexts, key ids and
//! blind indexes, and never sees a plaintext contact.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// A sealed contact value as stored: ciphertext, its key id, its blind index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedContact {
    pub ciphertext: Vec<u8>,
    pub key_id: String,
    pub index: Vec<u8>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    pub id: Uuid,
    pub name: String,
    pub phone_ciphertext: Option<Vec<u8>>,
    pub phone_key_id: Option<String>,
    pub phone_index: Option<Vec<u8>>,
    pub email_ciphertext: Option<Vec<u8>>,
    pub email_key_id: Option<String>,
    pub email_index: Option<Vec<u8>>,
    pub gender: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub notes: String,
    pub tags: Vec<String>,
    pub allergies: String,
    pub consent_notes: String,
    pub marketing_consent: bool,
    pub consent_at: Option<DateTime<Utc>>,
    pub consent_channel: Option<String>,
    pub preferred_staff_id: Option<Uuid>,
    pub opted_out_channels: Vec<String>,
    pub language: Option<String>,
    pub merged_into: Option<Uuid>,
    pub merged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn sealed(
    ciphertext: &Option<Vec<u8>>,
    key_id: &Option<String>,
    index: &Option<Vec<u8>>,
) -> Option<SealedContact> {
    match (ciphertext, key_id, index) {
        (Some(ciphertext), Some(key_id), Some(index)) => Some(SealedContact {
            ciphertext: ciphertext.clone(),
            key_id: key_id.clone(),
            index: index.clone(),
        }),
        _ => None,
    }
}

impl ClientRow {
    pub fn phone(&self) -> Option<SealedContact> {
        sealed(&self.phone_ciphertext, &self.phone_key_id, &self.phone_index)
    }

    pub fn email(&self) -> Option<SealedContact> {
        sealed(&self.email_ciphertext, &self.email_key_id, &self.email_index)
    }

    /// The writable part of the row, to change and write back.
    pub fn record(&self) -> ClientRecord {
        ClientRecord {
            name: self.name.clone(),
            phone: self.phone(),
            email: self.email(),
            gender: self.gender.clone(),
            birthday: self.birthday,
            notes: self.notes.clone(),
            tags: self.tags.clone(),
            allergies: self.allergies.clone(),
            consent_notes: self.consent_notes.clone(),
            marketing_consent: self.marketing_consent,
            consent_at: self.consent_at,
            consent_channel: self.consent_channel.clone(),
            preferred_staff_id: self.preferred_staff_id,
            opted_out_channels: self.opted_out_channels.clone(),
            language: self.language.clone(),
        }
    }
}

/// Everything a create or an update writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientRecord {
    pub name: String,
    pub phone: Option<SealedContact>,
    pub email: Option<SealedContact>,
    pub gender: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub notes: String,
    pub tags: Vec<String>,
    pub allergies: String,
    pub consent_notes: String,
    pub marketing_consent: bool,
    pub consent_at: Option<DateTime<Utc>>,
    pub consent_channel: Option<String>,
    pub preferred_staff_id: Option<Uuid>,
    /// `email`, `whatsapp`, `sms`: channels the client is never messaged on.
    pub opted_out_channels: Vec<String>,
    /// The language the client reads messages in; `None`: the business's.
    pub language: Option<String>,
}

const COLUMNS: &str = "id, name, phone_ciphertext, phone_key_id, phone_index, email_ciphertext, email_key_id,
        email_index, gender, birthday, notes, tags, allergies, consent_notes, marketing_consent, consent_at,
        consent_channel, preferred_staff_id, opted_out_channels, language, merged_into, merged_at, created_at,
        updated_at";

/// Why the database refused a client write, when the caller can fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Another live client of the business has this phone number.
    PhoneTaken,
    /// The preferred staff member does not exist in this business.
    UnknownStaff,
}

/// Classify a failed write.
pub fn refusal(error: &sqlx::Error) -> Option<Refusal> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    match db.constraint() {
        Some("clients_phone_unique") => Some(Refusal::PhoneTaken),
        Some(c) if db.is_foreign_key_violation() && c.contains("preferred_staff") => {
            Some(Refusal::UnknownStaff)
        }
        _ => None,
    }
}

/// Insert a client; another live client with its phone number fails with
/// [`Refusal::PhoneTaken`].
pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    client: &ClientRecord,
) -> Result<ClientRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO clients (tenant_id, id, name, phone_ciphertext, phone_key_id, phone_index, email_ciphertext,
                              email_key_id, email_index, gender, birthday, notes, tags, allergies, consent_notes,
                              marketing_consent, consent_at, consent_channel, preferred_staff_id,
                              opted_out_channels, language)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         RETURNING {COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(id)
    .bind(&client.name)
    .bind(client.phone.as_ref().map(|s| &s.ciphertext))
    .bind(client.phone.as_ref().map(|s| &s.key_id))
    .bind(client.phone.as_ref().map(|s| &s.index))
    .bind(client.email.as_ref().map(|s| &s.ciphertext))
    .bind(client.email.as_ref().map(|s| &s.key_id))
    .bind(client.email.as_ref().map(|s| &s.index))
    .bind(&client.gender)
    .bind(client.birthday)
    .bind(&client.notes)
    .bind(&client.tags)
    .bind(&client.allergies)
    .bind(&client.consent_notes)
    .bind(client.marketing_consent)
    .bind(client.consent_at)
    .bind(&client.consent_channel)
    .bind(client.preferred_staff_id)
    .bind(&client.opted_out_channels)
    .bind(&client.language)
    .fetch_one(conn)
    .await
}

/// Write back every field of a client.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    client: &ClientRecord,
) -> Result<ClientRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE clients SET name = $2, phone_ciphertext = $3, phone_key_id = $4, phone_index = $5,
                email_ciphertext = $6, email_key_id = $7, email_index = $8, gender = $9, birthday = $10,
                notes = $11, tags = $12, allergies = $13, consent_notes = $14, marketing_consent = $15,
                consent_at = $16, consent_channel = $17, preferred_staff_id = $18, opted_out_channels = $19,
                language = $20, updated_at = now()
          WHERE id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&client.name)
    .bind(client.phone.as_ref().map(|s| &s.ciphertext))
    .bind(client.phone.as_ref().map(|s| &s.key_id))
    .bind(client.phone.as_ref().map(|s| &s.index))
    .bind(client.email.as_ref().map(|s| &s.ciphertext))
    .bind(client.email.as_ref().map(|s| &s.key_id))
    .bind(client.email.as_ref().map(|s| &s.index))
    .bind(&client.gender)
    .bind(client.birthday)
    .bind(&client.notes)
    .bind(&client.tags)
    .bind(&client.allergies)
    .bind(&client.consent_notes)
    .bind(client.marketing_consent)
    .bind(client.consent_at)
    .bind(&client.consent_channel)
    .bind(client.preferred_staff_id)
    .bind(&client.opted_out_channels)
    .bind(&client.language)
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM clients WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Every client of the business, in id order (an export opens their contacts).
pub async fn all(conn: &mut PgConnection) -> Result<Vec<ClientRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM clients ORDER BY id"))
        .fetch_all(conn)
        .await
}

/// Lock clients for a change, in id order so that two merges of the same
/// pair cannot deadlock.
pub async fn lock(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<ClientRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE id = ANY($1) ORDER BY id FOR UPDATE"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await
}

/// The live client with this phone blind index.
pub async fn find_by_phone(conn: &mut PgConnection, phone_index: &[u8]) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM clients WHERE phone_index = $1 AND merged_into IS NULL")
        .bind(phone_index)
        .fetch_optional(conn)
        .await
}

/// Filters of a client search; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Start of the name, any case.
    pub name_prefix: Option<String>,
    pub phone_index: Option<Vec<u8>>,
    pub email_index: Option<Vec<u8>>,
    /// Continue after this client (the last of the previous page).
    pub after: Option<Uuid>,
}

/// Live (not merged) clients by name, then id. Each combination of filters
/// is its own statement, so every one of them can use its index.
pub async fn search(
    conn: &mut PgConnection,
    search: &Search,
    limit: i64,
) -> Result<Vec<ClientRow>, sqlx::Error> {
    let mut query =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM clients WHERE merged_into IS NULL"));
    if let Some(prefix) = &search.name_prefix {
        // A byte-order range over the text_pattern_ops index: exactly the
        // names that start with the prefix, with no LIKE pattern to escape.
        query
            .push(" AND name_search ~>=~ lower(")
            .push_bind(prefix.clone())
            .push(") AND name_search ~<~ (lower(")
            .push_bind(prefix.clone())
            .push(") || chr(1114111))");
    }
    if let Some(index) = &search.phone_index {
        query.push(" AND phone_index = ").push_bind(index.clone());
    }
    if let Some(index) = &search.email_index {
        query.push(" AND email_index = ").push_bind(index.clone());
    }
    if let Some(after) = search.after {
        query
            .push(" AND name_search ~>=~ (SELECT name_search FROM clients WHERE id = ")
            .push_bind(after)
            .push(") AND (name_search ~>~ (SELECT name_search FROM clients WHERE id = ")
            .push_bind(after)
            .push(") OR id > ")
            .push_bind(after)
            .push(")");
    }
    query
        .push(" ORDER BY name_search USING ~<~, id LIMIT ")
        .push_bind(limit);
    query.build_query_as().fetch_all(conn).await
}

/// Mark `duplicate` as merged into `into`; it disappears from searches and
/// frees its phone number for `into`.
pub async fn mark_merged(conn: &mut PgConnection, duplicate: Uuid, into: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE clients SET merged_into = $2, merged_at = now(), updated_at = now() WHERE id = $1")
        .bind(duplicate)
        .bind(into)
        .execute(conn)
        .await?;
    Ok(())
}

/// Point everything that refers to client `from` at client `into`: the one
/// place a merge moves references, so a table that refers to clients adds
/// its statement here.
pub async fn repoint_references(conn: &mut PgConnection, from: Uuid, into: Uuid) -> Result<(), sqlx::Error> {
    // Clients merged into `from` earlier now lead straight to `into`.
    sqlx::query("UPDATE clients SET merged_into = $2 WHERE merged_into = $1")
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    // The duplicate's visits, past and future, become the kept client's.
    sqlx::query("UPDATE appointments SET client_id = $2, updated_at = now() WHERE client_id = $1")
        .bind(from)
        .bind(into)
        .execute(conn)
        .await?;
    Ok(())
}
