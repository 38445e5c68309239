//! Roles and what each user may do.

use ftry_domain::permissions::{BuiltinRole, Permission};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<Permission>,
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: Uuid,
    name: String,
    description: String,
    builtin: Option<String>,
    permissions: Vec<String>,
}

impl RoleRow {
    fn into_role(self) -> Role {
        let permissions = match self.builtin.as_deref().and_then(BuiltinRole::parse) {
            Some(builtin) => builtin.permissions(),
            // The foreign key to the catalog keeps unknown names out; a name
            // removed from the code since is simply no longer granted.
            None => self.permissions.iter().filter_map(|p| p.parse().ok()).collect(),
        };
        Role {
            id: self.id,
            name: self.name,
            description: self.description,
            builtin: self.builtin.is_some(),
            permissions,
        }
    }
}

const ROLE_SELECT: &str = "SELECT r.id, r.name, r.description, r.builtin,
        COALESCE(array_agg(rp.permission ORDER BY rp.permission) FILTER (WHERE rp.permission IS NOT NULL), '{}')
            AS permissions
   FROM roles r
   LEFT JOIN role_permissions rp ON rp.tenant_id = r.tenant_id AND rp.role_id = r.id";

/// Create the built-in roles of a new tenant; returns their ids.
pub async fn create_builtins(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<Vec<(BuiltinRole, Uuid)>, sqlx::Error> {
    let mut created = Vec::new();
    for role in BuiltinRole::ALL {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO roles (tenant_id, id, name, description, builtin) VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(role.name())
        .bind(role.description())
        .execute(&mut *conn)
        .await?;
        created.push((role, id));
    }
    Ok(created)
}

pub async fn list(conn: &mut PgConnection) -> Result<Vec<Role>, sqlx::Error> {
    let rows: Vec<RoleRow> = sqlx::query_as(&format!(
        "{ROLE_SELECT} GROUP BY r.tenant_id, r.id ORDER BY r.builtin IS NULL, r.name"
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(RoleRow::into_role).collect())
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Role>, sqlx::Error> {
    let row: Option<RoleRow> = sqlx::query_as(&format!(
        "{ROLE_SELECT} WHERE r.id = $1 GROUP BY r.tenant_id, r.id"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(RoleRow::into_role))
}

pub async fn builtin_id(conn: &mut PgConnection, role: BuiltinRole) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM roles WHERE builtin = $1")
        .bind(role.name())
        .fetch_optional(conn)
        .await
}

/// Create a custom role; `false` when the name is taken.
pub async fn insert_custom(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    description: &str,
    permissions: &[Permission],
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO roles (tenant_id, id, name, description) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, name) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(name)
    .bind(description)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    replace_permissions(conn, tenant_id, id, permissions).await?;
    Ok(true)
}

pub async fn replace_permissions(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    role_id: Uuid,
    permissions: &[Permission],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
        .bind(role_id)
        .execute(&mut *conn)
        .await?;
    let names: Vec<&str> = permissions.iter().map(|p| p.name()).collect();
    sqlx::query(
        "INSERT INTO role_permissions (tenant_id, role_id, permission) SELECT $1, $2, unnest($3::text[])",
    )
    .bind(tenant_id)
    .bind(role_id)
    .bind(&names)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_description(
    conn: &mut PgConnection,
    id: Uuid,
    description: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE roles SET description = $2 WHERE id = $1")
        .bind(id)
        .bind(description)
        .execute(conn)
        .await?;
    Ok(())
}

/// Delete a custom role nobody holds; `false` if someone still holds it.
pub async fn delete_unused(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let holders: i64 = sqlx::query_scalar("SELECT count(*) FROM user_roles WHERE role_id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if holders > 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM roles WHERE id = $1 AND builtin IS NULL")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(true)
}

pub async fn user_roles(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<Role>, sqlx::Error> {
    let rows: Vec<RoleRow> = sqlx::query_as(&format!(
        "{ROLE_SELECT} WHERE r.id IN (SELECT role_id FROM user_roles WHERE user_id = $1)
         GROUP BY r.tenant_id, r.id ORDER BY r.name"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(RoleRow::into_role).collect())
}

pub async fn set_user_roles(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    role_ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT $1, $2, unnest($3::uuid[])")
        .bind(tenant_id)
        .bind(user_id)
        .bind(role_ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many active accounts hold the built-in owner role.
pub async fn active_owner_count(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
           JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
          WHERE r.builtin = 'owner' AND u.status = 'active'",
    )
    .fetch_one(conn)
    .await
}

/// Copy the code's permission catalog into the database (owner role).
pub async fn sync_catalog(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let names: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
    let descriptions: Vec<&str> = Permission::ALL.iter().map(|p| p.description()).collect();
    sqlx::query(
        "INSERT INTO permissions (name, description) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description",
    )
    .bind(&names)
    .bind(&descriptions)
    .execute(conn)
    .await?;
    Ok(())
}
