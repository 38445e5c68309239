//! What a business's export reads: its tables, their columns and primary
//! keys, and their rows as JSON, through row-level security (only the
//! business of the transaction is seen).

use sqlx::PgConnection;

/// A table holding a business's rows (it has a `tenant_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    pub name: String,
    /// (name, type) in the table's order.
    pub columns: Vec<(String, String)>,
    pub primary_key: Vec<String>,
}

/// Every table of the public schema with a `tenant_id` column, by name.
pub async fn tenant_tables(conn: &mut PgConnection) -> Result<Vec<TableShape>, sqlx::Error> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text
           FROM information_schema.columns c
           JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
            AND c.table_name IN (SELECT table_name FROM information_schema.columns
                                  WHERE table_schema = 'public' AND column_name = 'tenant_id')
          ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT cl.relname::text, a.attname::text
           FROM pg_index i
           JOIN pg_class cl ON cl.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = 'public'
           JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
           JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum = k.attnum
          WHERE i.indisprimary
          ORDER BY cl.relname, k.ord",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut tables: Vec<TableShape> = Vec::new();
    for (table, column, kind) in columns {
        match tables.last_mut() {
            Some(last) if last.name == table => last.columns.push((column, kind)),
            _ => tables.push(TableShape {
                name: table,
                columns: vec![(column, kind)],
                primary_key: Vec::new(),
            }),
        }
    }
    for (table, column) in keys {
        if let Some(shape) = tables.iter_mut().find(|t| t.name == table) {
            shape.primary_key.push(column);
        }
    }
    Ok(tables)
}

/// The rows of `table` of business `tenant_id` (row-level security shows
/// no other; the condition holds even where a table has none), as JSON
/// objects, in primary-key order. `table` and `order` must come from
/// [`tenant_tables`].
pub async fn rows(
    conn: &mut PgConnection,
    table: &str,
    order: &[String],
    tenant_id: uuid::Uuid,
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let order = if order.is_empty() {
        "1".to_owned()
    } else {
        order
            .iter()
            .map(|c| format!("t.\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t) FROM public.\"{table}\" t WHERE t.tenant_id = $1 ORDER BY {order}"
    ))
    .bind(tenant_id)
    .fetch_all(conn)
    .await
}

/// The shape of one table of the public schema.
pub async fn table_shape(conn: &mut PgConnection, table: &str) -> Result<TableShape, sqlx::Error> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(conn)
    .await?;
    Ok(TableShape {
        name: table.to_owned(),
        columns,
        primary_key: vec!["id".to_owned()],
    })
}

/// The row of `table` whose `id` is `id`, as a JSON object (none or one).
pub async fn rows_where_id(
    conn: &mut PgConnection,
    table: &str,
    id: uuid::Uuid,
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t) FROM public.\"{table}\" t WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_all(conn)
    .await
}
