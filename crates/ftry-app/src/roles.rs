//! Roles: the built-in five and a tenant's custom ones.

use std::collections::BTreeSet;

use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Event, Origin};
use ftry_store::roles::{self, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, Validator};
use crate::{App, Principal};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// Lowercase letters, digits and single spaces, hyphens or underscores.
    pub name: String,
    pub description: Option<String>,
    /// Permission names from the catalog.
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdateRequest {
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntry {
    pub name: &'static str,
    pub description: &'static str,
}

fn parse_permissions(v: &mut Validator, names: &[String]) -> Vec<Permission> {
    let mut parsed = BTreeSet::new();
    for name in names {
        if let Some(p) = v.check("permissions", name.parse::<Permission>()) {
            parsed.insert(p);
        }
    }
    parsed.into_iter().collect()
}

/// Nobody creates or changes a role to hold rights they do not have.
fn require_holds(principal: &Principal, permissions: &[Permission]) -> Result<(), AppError> {
    match permissions.iter().find(|p| !principal.can(**p)) {
        Some(missing) => Err(AppError::Forbidden {
            code: "role_escalation",
            detail: format!("You cannot give a role `{missing}`, which you do not have."),
        }),
        None => Ok(()),
    }
}

impl App {
    pub fn permission_catalog(&self) -> Vec<CatalogEntry> {
        Permission::ALL
            .iter()
            .map(|p| CatalogEntry {
                name: p.name(),
                description: p.description(),
            })
            .collect()
    }

    pub async fn list_roles(&self, principal: &Principal) -> Result<Vec<Role>, AppError> {
        principal.require(Permission::RolesRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = roles::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn create_role(
        &self,
        principal: &Principal,
        request: &RoleRequest,
        origin: &Origin,
    ) -> Result<Role, AppError> {
        principal.require(Permission::RolesManage)?;
        let mut v = Validator::default();
        let name = v.text("name", &request.name, 50);
        if name.as_deref().is_some_and(|n| {
            !n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b" _-".contains(&b))
                || n.contains("  ")
        }) {
            v.push(
                "name",
                "use lowercase letters, digits and single spaces, hyphens or underscores",
            );
        }
        let description = v
            .optional_text("description", request.description.as_deref(), 500)
            .unwrap_or_default();
        let permissions = parse_permissions(&mut v, &request.permissions);
        v.finish()?;
        let name = name.unwrap_or_default();
        require_holds(principal, &permissions)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let id = Uuid::now_v7();
        if !roles::insert_custom(
            &mut tx,
            principal.tenant_id,
            id,
            &name,
            &description,
            &permissions,
        )
        .await?
        {
            return Err(AppError::conflict(
                "role_name_taken",
                format!("A role named `{name}` exists already."),
            ));
        }
        let role = roles::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "role.created", "role", id).after(&role),
        )
        .await?;
        tx.commit().await?;
        Ok(role)
    }

    pub async fn update_role(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &RoleUpdateRequest,
        origin: &Origin,
    ) -> Result<Role, AppError> {
        principal.require(Permission::RolesManage)?;
        let mut v = Validator::default();
        let description = v.optional_text("description", request.description.as_deref(), 500);
        let permissions = request
            .permissions
            .as_ref()
            .map(|names| parse_permissions(&mut v, names));
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = roles::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        if before.builtin {
            return Err(AppError::conflict(
                "builtin_role",
                "Built-in roles cannot be changed; create a custom role.",
            ));
        }
        require_holds(principal, &before.permissions)?;
        if let Some(permissions) = &permissions {
            require_holds(principal, permissions)?;
            roles::replace_permissions(&mut tx, principal.tenant_id, id, permissions).await?;
        }
        if let Some(description) = &description {
            roles::update_description(&mut tx, id, description).await?;
        }
        let after = roles::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "role.updated", "role", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_role(
        &self,
        principal: &Principal,
        id: Uuid,
        origin: &Origin,
    ) -> Result<(), AppError> {
        principal.require(Permission::RolesManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let role = roles::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        if role.builtin {
            return Err(AppError::conflict(
                "builtin_role",
                "Built-in roles cannot be deleted.",
            ));
        }
        require_holds(principal, &role.permissions)?;
        if !roles::delete_unused(&mut tx, id).await? {
            return Err(AppError::conflict(
                "role_in_use",
                "Some accounts hold this role; change their roles first.",
            ));
        }
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "role.deleted", "role", id).before(&role),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
