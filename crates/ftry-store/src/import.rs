//! What loading a business's export needs of the database: the columns a
//! table takes, rows written from JSON as they are, and a check that every
//! reference of the business's rows leads somewhere. Run on a superuser's
//! connection, in one transaction, with triggers off
//! (`session_replication_role = replica`): rows go in exactly as they were
//! exported (issued invoices included), and [`dangling`] then does the
//! foreign keys' work.

use sqlx::PgConnection;
use uuid::Uuid;

/// Whether the connection's role is a superuser.
pub async fn is_superuser(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(conn)
        .await
}

/// Triggers (and with them foreign-key checks) off until the transaction ends.
pub async fn writing_as_exported(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(conn)
        .await?;
    Ok(())
}

/// A column of a table: its name and whether the database computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub generated: bool,
}

/// The columns of a table of the public schema (none: no such table).
pub async fn columns(conn: &mut PgConnection, table: &str) -> Result<Vec<Column>, sqlx::Error> {
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT column_name::text, is_generated = 'ALWAYS' OR coalesce(identity_generation = 'ALWAYS', false)
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, generated)| Column { name, generated })
        .collect())
}

/// Write `rows` (a JSON array of objects, each value in the form
/// `to_jsonb` gives it) into `table`'s `columns`; the table's defaults
/// fill the others. `table` and `columns` must come from [`columns`].
pub async fn insert(
    conn: &mut PgConnection,
    table: &str,
    columns: &[String],
    rows: &serde_json::Value,
) -> Result<u64, sqlx::Error> {
    let list = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let done = sqlx::query(&format!(
        "INSERT INTO public.\"{table}\" ({list})
         SELECT {list} FROM jsonb_populate_recordset(NULL::public.\"{table}\", $1)"
    ))
    .bind(rows)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A foreign key: its name, the table and columns that refer, the table
/// and columns referred to.
type ForeignKey = (String, String, String, Vec<String>, Vec<String>);

/// The first foreign key of `tables` that a row of business `tenant_id`
/// breaks: the constraint's name and how many rows point nowhere.
pub async fn dangling(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    tables: &[String],
) -> Result<Option<(String, i64)>, sqlx::Error> {
    let keys: Vec<ForeignKey> = sqlx::query_as(
        "SELECT c.conname::text, child.relname::text, parent.relname::text,
                array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
                array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
           FROM pg_constraint c
           JOIN pg_class child ON child.oid = c.conrelid
           JOIN pg_class parent ON parent.oid = c.confrelid
           JOIN pg_namespace n ON n.oid = child.relnamespace AND n.nspname = 'public'
          WHERE c.contype = 'f' AND child.relname = ANY($1)
          ORDER BY 1",
    )
    .bind(tables)
    .fetch_all(&mut *conn)
    .await?;
    for (name, child, parent, from, to) in keys {
        let owner = if child == "tenants" { "id" } else { "tenant_id" };
        let present = from
            .iter()
            .map(|c| format!("c.\"{c}\" IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let matches = from
            .iter()
            .zip(&to)
            .map(|(f, t)| format!("p.\"{t}\" = c.\"{f}\""))
            .collect::<Vec<_>>()
            .join(" AND ");
        let broken: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM public.\"{child}\" c
              WHERE c.\"{owner}\" = $1 AND {present}
                AND NOT EXISTS (SELECT 1 FROM public.\"{parent}\" p WHERE {matches})"
        ))
        .bind(tenant_id)
        .fetch_one(&mut *conn)
        .await?;
        if broken > 0 {
            return Ok(Some((name, broken)));
        }
    }
    Ok(None)
}

/// Act as the application's role for business `tenant_id` (row-level
/// security as the service has it) until [`back_to_superuser`].
pub async fn as_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('ftry.tenant_id', $1, true)")
        .bind(tenant_id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET LOCAL ROLE ftry_app").execute(conn).await?;
    Ok(())
}

pub async fn back_to_superuser(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("RESET ROLE").execute(conn).await?;
    Ok(())
}
