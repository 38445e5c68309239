//! A business's data, to take away: one zip with every table that holds its
//! rows, each as JSON (`data/<table>.json`, an array of objects) and as CSV
//! (`data/<table>.csv`, a header row), and `manifest.json` describing each
//! table's columns and row count. Clients' phone numbers and emails are
//! opened; secrets (password hashes, session and link tokens, webhook
//! signing keys, sealed copies) stay behind, as do ftry's own bookkeeping
//! tables (jobs, sessions, idempotency keys).

use std::io::Write;

use chrono::Utc;
use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Event, Origin};
use ftry_store::export::{self as store, TableShape};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::AppError;
use crate::{App, Principal};

/// Tables of ftry's own working, not the business's records.
pub const NOT_EXPORTED: [&str; 10] = [
    "domain_events",
    "idempotency_keys",
    "jobs",
    "outbox_messages",
    "platform_audit_events",
    "provider_messages",
    "refresh_tokens",
    "schedule_versions",
    "sessions",
    "user_tokens",
];

/// Columns that are secrets, sealed copies or derived search keys.
pub(crate) const WITHHELD: [(&str, &str); 12] = [
    ("appointments", "manage_token_hash"),
    ("clients", "name_search"),
    ("clients", "phone_ciphertext"),
    ("clients", "phone_key_id"),
    ("clients", "phone_index"),
    ("clients", "email_ciphertext"),
    ("clients", "email_key_id"),
    ("clients", "email_index"),
    ("users", "password_hash"),
    ("users", "failed_logins"),
    ("webhook_endpoints", "secret_key_id"),
    ("webhook_endpoints", "secret_sealed"),
];

/// An export: its file name and bytes.
pub struct Export {
    pub file_name: String,
    pub zip: Vec<u8>,
    /// Each table and its row count.
    pub tables: Vec<(String, usize)>,
}

/// A JSON value as a CSV field: text as it is, `null` empty, arrays and
/// objects as JSON; quoted when it holds a comma, quote or line break.
fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv(columns: &[&str], rows: &[Map<String, Value>]) -> String {
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = columns
            .iter()
            .map(|c| csv_field(row.get(*c).unwrap_or(&Value::Null)))
            .collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

impl App {
    /// The caller's business, exported (`data:export`, the owners').
    pub async fn export(&self, principal: &Principal, origin: &Origin) -> Result<Export, AppError> {
        principal.require(Permission::DataExport)?;
        let export = self.export_tenant(principal.tenant_id).await?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "tenant.exported",
                "tenant",
                principal.tenant_id,
            )
            .after(serde_json::json!({ "tables": export.tables.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(export)
    }

    /// The business with this slug, exported (operator CLI).
    pub async fn export_by_slug(&self, slug: &str) -> Result<Export, AppError> {
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let tenant = ftry_store::tenants::find_by_slug(&mut conn, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        self.export_tenant(tenant.id).await
    }

    /// Every exported table of one business, read in one transaction (one
    /// consistent picture), zipped.
    async fn export_tenant(&self, tenant_id: Uuid) -> Result<Export, AppError> {
        let mut tx = self.pools.begin_snapshot(tenant_id).await?;
        let tenant = ftry_store::tenants::get(&mut tx, tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut tables: Vec<TableShape> = store::tenant_tables(&mut tx)
            .await?
            .into_iter()
            .filter(|t| !NOT_EXPORTED.contains(&t.name.as_str()))
            .collect();
        // The business itself, as a table of one row.
        let tenant_shape = store::table_shape(&mut tx, "tenants").await?;
        tables.insert(0, tenant_shape);
        // Clients' phone numbers and emails, opened, by client.
        let mut contacts = std::collections::HashMap::new();
        for client in ftry_store::clients::all(&mut tx).await? {
            let open = |field: &str, sealed: Option<ftry_store::clients::SealedContact>| {
                sealed
                    .map(|s| self.open_contact(tenant_id, client.id, field, &s))
                    .transpose()
            };
            let phone = open(crate::clients::PHONE, client.phone())?;
            let email = open(crate::clients::EMAIL, client.email())?;
            contacts.insert(client.id.to_string(), (phone, email));
        }
        let mut files: Vec<(String, String)> = Vec::new();
        let mut described = Vec::new();
        let mut counts = Vec::new();
        for table in &tables {
            let withheld = |column: &str| WITHHELD.contains(&(table.name.as_str(), column));
            let mut columns: Vec<(String, String)> = table
                .columns
                .iter()
                .filter(|(c, _)| !withheld(c))
                .cloned()
                .collect();
            if table.name == "clients" {
                columns.push(("phone".into(), "text (E.164)".into()));
                columns.push(("email".into(), "text".into()));
            }
            let raw = if table.name == "tenants" {
                store::rows_where_id(&mut tx, "tenants", tenant_id).await?
            } else {
                store::rows(&mut tx, &table.name, &table.primary_key, tenant_id).await?
            };
            let mut rows = Vec::with_capacity(raw.len());
            for value in raw {
                let Value::Object(mut row) = value else {
                    continue;
                };
                if table.name == "clients" {
                    let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
                    let (phone, email) = contacts.get(id).cloned().unwrap_or_default();
                    row.insert("phone".into(), phone.map_or(Value::Null, Value::String));
                    row.insert("email".into(), email.map_or(Value::Null, Value::String));
                }
                row.retain(|column, _| !withheld(column));
                rows.push(row);
            }
            let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
            files.push((
                format!("data/{}.json", table.name),
                serde_json::to_string_pretty(&rows).unwrap_or_default(),
            ));
            files.push((format!("data/{}.csv", table.name), csv(&names, &rows)));
            described.push(serde_json::json!({
                "name": table.name,
                "rows": rows.len(),
                "primary_key": table.primary_key,
                "columns": columns.iter().map(|(c, t)| serde_json::json!({"name": c, "type": t})).collect::<Vec<_>>(),
            }));
            counts.push((table.name.clone(), rows.len()));
        }
        tx.commit().await?;
        let manifest = serde_json::json!({
            "format": "ftry-tenant-export",
            "version": 1,
            "ftry_version": env!("CARGO_PKG_VERSION"),
            "exported_at": Utc::now(),
            "tenant": { "id": tenant.id, "slug": tenant.slug, "name": tenant.name },
            "money": "amounts in paise (1/100 rupee); rates in basis points",
            "times": "RFC 3339, UTC",
            "tables": described,
        });
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let mut put = |name: &str, text: &str| -> Result<(), AppError> {
            zip.start_file(name, options)
                .map_err(|e| AppError::Internal(format!("zip: {e}")))?;
            zip.write_all(text.as_bytes())
                .map_err(|e| AppError::Internal(format!("zip: {e}")))
        };
        put(
            "manifest.json",
            &serde_json::to_string_pretty(&manifest).unwrap_or_default(),
        )?;
        for (name, text) in &files {
            put(name, text)?;
        }
        let zip = zip
            .finish()
            .map_err(|e| AppError::Internal(format!("zip: {e}")))?
            .into_inner();
        Ok(Export {
            file_name: format!("{}-{}.zip", tenant.slug, Utc::now().format("%Y%m%dT%H%M%SZ")),
            zip,
            tables: counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let rows = vec![serde_json::json!({"a": "plain", "b": "with, comma", "c": "say \"hi\"\nbye", "d": null, "e": [1, 2]})
            .as_object()
            .unwrap()
            .clone()];
        assert_eq!(
            csv(&["a", "b", "c", "d", "e"], &rows),
            "a,b,c,d,e\r\nplain,\"with, comma\",\"say \"\"hi\"\"\nbye\",,\"[1,2]\"\r\n"
        );
    }
}
