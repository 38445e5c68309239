//! A business's export loaded into this installation as a new business
//! (a salon moving in): every table of the zip written as it was, with new
//! ids — every id of the export replaced by a new one wherever it appears,
//! in columns and inside JSON alike, so every reference still holds — and
//! under a new slug.
//!
//! What the export does not carry is made anew: clients' phone numbers and
//! emails are sealed again under this installation's keys (with their blind
//! indexes), each webhook endpoint gets a new signing secret and is turned
//! off until it is replaced, and since passwords do not travel, each
//! account that was active is invited again (a link mailed to it) and one
//! that was disabled stays so without a password.
//!
//! All of it happens in one transaction on a superuser's connection with
//! triggers off (issued invoices go in as they were issued); before it
//! commits, every foreign key of the new business's rows is checked and
//! its invoice ledger verified — any failure leaves nothing behind.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use ftry_domain::tenants::Slug;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::import as store;
use serde_json::{Map, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::App;

/// An import that did not happen, and why (one line).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(String);

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        Self(format!("database: {e}"))
    }
}

impl From<crate::error::AppError> for ImportError {
    fn from(e: crate::error::AppError) -> Self {
        Self(e.to_string())
    }
}

fn refuse<T>(why: impl Into<String>) -> Result<T, ImportError> {
    Err(ImportError(why.into()))
}

/// What an import made.
#[derive(Debug)]
pub struct Imported {
    pub tenant_id: Uuid,
    /// Each table and the rows written to it.
    pub tables: Vec<(String, u64)>,
    /// Every id of the export and the id it has now.
    pub ids: BTreeMap<Uuid, Uuid>,
    /// The accounts mailed an invitation to choose a password.
    pub invited: Vec<String>,
    /// Webhook endpoints turned off until their secret is replaced.
    pub webhooks_off: usize,
}

/// The zip's manifest and each table's rows, in the manifest's order.
struct Export {
    manifest: Value,
    tables: Vec<(String, Vec<Map<String, Value>>)>,
}

fn read_export(zip: &[u8]) -> Result<Export, ImportError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|e| ImportError(format!("not a zip file: {e}")))?;
    let mut read = |name: &str| -> Result<Value, ImportError> {
        let mut file = archive
            .by_name(name)
            .map_err(|_| ImportError(format!("the export has no {name}")))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| ImportError(format!("{name} cannot be read: {e}")))?;
        serde_json::from_str(&text).map_err(|e| ImportError(format!("{name} is not JSON: {e}")))
    };
    let manifest = read("manifest.json")?;
    if manifest["format"] != "ftry-tenant-export" || manifest["version"] != 1 {
        return refuse("not an ftry business export (format ftry-tenant-export, version 1)");
    }
    let names: Vec<String> = manifest["tables"]
        .as_array()
        .map(|tables| {
            tables
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if names.first().map(String::as_str) != Some("tenants") {
        return refuse("the export's manifest does not list the business (table tenants) first");
    }
    let mut tables = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let valid = name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !valid {
            return refuse(format!("the export names a table {name:?}"));
        }
        let rows = match read(&format!("data/{name}.json"))? {
            Value::Array(rows) => rows
                .into_iter()
                .map(|row| match row {
                    Value::Object(row) => Ok(row),
                    _ => refuse(format!("data/{name}.json holds something other than rows")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return refuse(format!("data/{name}.json is not a list of rows")),
        };
        let stated = manifest["tables"][i]["rows"].as_u64();
        if stated != Some(rows.len() as u64) {
            return refuse(format!(
                "data/{name}.json holds {} rows where the manifest says {}",
                rows.len(),
                stated.map_or("none".into(), |n| n.to_string())
            ));
        }
        tables.push((name, rows));
    }
    Ok(Export { manifest, tables })
}

/// Every string of `value` that is an id of the export, replaced by its new one.
fn remap(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(text) => {
            if let Some(new) = ids.get(text.as_str()) {
                *text = new.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| remap(v, ids)),
        Value::Object(fields) => fields.values_mut().for_each(|v| remap(v, ids)),
        _ => {}
    }
}

/// Bytes as `to_jsonb` writes a bytea: `\x` and hexadecimal.
fn bytea(bytes: &[u8]) -> Value {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Value::String(format!("\\x{hex}"))
}

impl App {
    /// Load an export (`zip`) as a new business `slug` (named `name`, or
    /// as it was), on `conn`, a superuser's connection.
    pub async fn import_tenant(
        &self,
        conn: &mut PgConnection,
        zip: &[u8],
        slug: &str,
        name: Option<&str>,
    ) -> Result<Imported, ImportError> {
        let Ok(slug) = Slug::parse(slug) else {
            return refuse(format!(
                "{slug:?} cannot be a business's slug (2–63 lowercase letters, digits and single hyphens)"
            ));
        };
        let Export { manifest, mut tables } = read_export(zip)?;
        let mut tx = conn.begin().await?;
        if !store::is_superuser(&mut tx).await? {
            return refuse(
                "an import writes as the database's superuser (the embedded one, or backup.database_url)",
            );
        }
        if ftry_store::tenants::find_by_slug(&mut tx, slug.as_str())
            .await?
            .is_some()
        {
            return refuse(format!(
                "a business with the slug {} exists already",
                slug.as_str()
            ));
        }

        // New ids for every id of the export, given in the order of the old
        // ones (ids made now keep the order the old ones had).
        let mut old: Vec<Uuid> = tables
            .iter()
            .flat_map(|(_, rows)| rows.iter())
            .filter_map(|row| row.get("id").and_then(Value::as_str))
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect();
        old.sort();
        old.dedup();
        let ids: BTreeMap<Uuid, Uuid> = old.iter().map(|id| (*id, Uuid::now_v7())).collect();
        let as_text: HashMap<String, String> =
            ids.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let old_tenant = tables[0]
            .1
            .first()
            .and_then(|row| row.get("id"))
            .and_then(Value::as_str);
        let Some(tenant_id) = old_tenant
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| ids.get(&id).copied())
        else {
            return refuse("the export's business has no id");
        };
        let old_slug = manifest["tenant"]["slug"].as_str().unwrap_or_default().to_owned();

        // Only what an export carries: the business's own tables.
        let carried: Vec<String> = ftry_store::export::tenant_tables(&mut tx)
            .await?
            .into_iter()
            .map(|t| t.name)
            .filter(|name| !crate::export::NOT_EXPORTED.contains(&name.as_str()))
            .collect();
        if let Some((table, _)) = tables.iter().skip(1).find(|(table, _)| !carried.contains(table)) {
            return refuse(format!(
                "the export holds a table {table} that no business export carries"
            ));
        }
        let new_tenant = Value::String(tenant_id.to_string());

        store::writing_as_exported(&mut tx).await?;
        let mut written = Vec::with_capacity(tables.len());
        let mut active = Vec::new();
        let mut webhooks_off = 0;
        for (table, rows) in &mut tables {
            let columns = store::columns(&mut tx, table).await?;
            if columns.is_empty() {
                return refuse(format!(
                    "the export holds a table {table} this ftry does not have"
                ));
            }
            let mut targets: Vec<String> = columns
                .iter()
                .filter(|c| !c.generated)
                .map(|c| c.name.clone())
                .collect();
            let known = |column: &str| columns.iter().any(|c| c.name == column);
            for row in rows.iter_mut() {
                for (column, value) in row.iter_mut() {
                    if !known(column) && !(table == "clients" && (column == "phone" || column == "email")) {
                        return refuse(format!(
                            "the export's {table} has a column {column} this ftry does not have (a newer ftry made it)"
                        ));
                    }
                    remap(value, &as_text);
                }
                // Secrets never come in from a file; every row is the new business's.
                row.retain(|column, _| !crate::export::WITHHELD.contains(&(table.as_str(), column.as_str())));
                let owner = if table == "tenants" { "id" } else { "tenant_id" };
                if row.get(owner) != Some(&new_tenant) {
                    return refuse(format!(
                        "a row of {table} belongs to another business than the export's"
                    ));
                }
                let id = row
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| Uuid::parse_str(id).ok())
                    .unwrap_or_default();
                match table.as_str() {
                    "tenants" => {
                        row.insert("slug".into(), Value::String(slug.as_str().to_owned()));
                        if let Some(name) = name {
                            row.insert("name".into(), Value::String(name.to_owned()));
                        }
                    }
                    "clients" => {
                        for field in [crate::clients::PHONE, crate::clients::EMAIL] {
                            let Some(Value::String(contact)) = row.remove(field) else {
                                continue;
                            };
                            let sealed = self.seal_contact(tenant_id, id, field, &contact);
                            row.insert(format!("{field}_ciphertext"), bytea(&sealed.ciphertext));
                            row.insert(format!("{field}_key_id"), Value::String(sealed.key_id));
                            row.insert(format!("{field}_index"), bytea(&sealed.index));
                        }
                    }
                    "users" => match row.get("status").and_then(Value::as_str) {
                        Some("active") => {
                            row.insert("status".into(), Value::String("invited".into()));
                            let field =
                                |f: &str| row.get(f).and_then(Value::as_str).unwrap_or_default().to_owned();
                            active.push((id, field("name"), field("email")));
                        }
                        // Kept disabled: a hash no password matches.
                        Some("disabled") => {
                            row.insert("password_hash".into(), Value::String("!imported".into()));
                        }
                        _ => {}
                    },
                    "webhook_endpoints" => {
                        let (_, sealed) = self.new_secret(tenant_id, id);
                        row.insert("secret_key_id".into(), Value::String(sealed.secret_key_id));
                        row.insert("secret_sealed".into(), bytea(&sealed.secret_sealed));
                        if row.get("enabled") == Some(&Value::Bool(true)) {
                            row.insert("enabled".into(), Value::Bool(false));
                            row.insert(
                                "disabled_at".into(),
                                Value::String(chrono::Utc::now().to_rfc3339()),
                            );
                            row.insert(
                                "disabled_reason".into(),
                                Value::String("imported: replace its secret, then turn it on".into()),
                            );
                            webhooks_off += 1;
                        }
                    }
                    _ => {}
                }
            }
            targets.retain(|c| rows.iter().any(|row| row.contains_key(c)));
            if rows.is_empty() {
                written.push((table.clone(), 0));
                continue;
            }
            let values = Value::Array(rows.iter().cloned().map(Value::Object).collect());
            let count = store::insert(&mut tx, table, &targets, &values)
                .await
                .map_err(|e| ImportError(format!("{table}: {e}")))?;
            written.push((table.clone(), count));
        }

        let names: Vec<String> = tables.iter().map(|(name, _)| name.clone()).collect();
        if let Some((constraint, rows)) = store::dangling(&mut tx, tenant_id, &names).await? {
            return refuse(format!(
                "{rows} rows of the export point at something it does not hold ({constraint}): nothing imported"
            ));
        }
        // The ledger, checked as the service would check it.
        store::as_tenant(&mut tx, tenant_id).await?;
        let ledger = crate::invoices::verify_every_ledger(&mut tx).await?;
        if let Some(number) = ledger.broken {
            return refuse(format!(
                "the export's invoice ledger is broken at document {number}: nothing imported"
            ));
        }
        store::back_to_superuser(&mut tx).await?;

        let tenant = ftry_store::tenants::get(&mut tx, tenant_id)
            .await?
            .ok_or_else(|| ImportError("the business was not written".into()))?;
        let mut invited = Vec::with_capacity(active.len());
        for (user_id, name, email) in active {
            self.send_invitation(&mut tx, &tenant, user_id, &name, &email)
                .await?;
            invited.push(email);
        }
        let rows: u64 = written.iter().map(|(_, n)| n).sum();
        audit::record(
            &mut tx,
            tenant_id,
            &Origin::default(),
            Event::new(Actor::System, "tenant.imported", "tenant", tenant_id).after(serde_json::json!({
                "from": old_slug,
                "exported_at": manifest["exported_at"],
                "tables": written.len(),
                "rows": rows,
                "invited": invited.len(),
                "webhooks_turned_off": webhooks_off,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(Imported {
            tenant_id,
            tables: written,
            ids,
            invited,
            webhooks_off,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_replaced_wherever_they_appear_and_nothing_else_is() {
        let ids = HashMap::from([
            ("a1".to_owned(), "b1".to_owned()),
            ("a2".to_owned(), "b2".to_owned()),
        ]);
        let mut value = serde_json::json!({
            "id": "a1", "before": {"staff": ["a2", "a3"], "note": "a1 and more"}, "n": 1
        });
        remap(&mut value, &ids);
        assert_eq!(
            value,
            serde_json::json!({"id": "b1", "before": {"staff": ["b2", "a3"], "note": "a1 and more"}, "n": 1})
        );
    }

    #[test]
    fn bytes_are_written_as_postgres_reads_a_bytea() {
        assert_eq!(bytea(&[0, 15, 255]), Value::String("\\x000fff".into()));
    }
}
