//! Who is calling: a tenant user (with the permissions their roles give
//! them right now) or a platform operator.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use ftry_domain::permissions::{BuiltinRole, Permission};
use ftry_store::audit::Actor;
use uuid::Uuid;

use crate::error::AppError;
use crate::tokens::TokenError;
use crate::App;

#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub impersonator: Option<Uuid>,
    pub permissions: BTreeSet<Permission>,
    /// The business's schedule and calendar versions, read with the
    /// session's standing when the request was authenticated (`None` when
    /// not read). A read of the same request (availability, the calendar)
    /// may trust what the node holds at these versions without asking
    /// again; a request that changes anything must not rely on them after.
    pub versions: Option<crate::schedule_cache::Versions>,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "permission_denied",
                format!("This needs the permission `{permission}`, which your roles do not give you."),
            ))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user_id,
            impersonator: self.impersonator,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlatformPrincipal {
    pub admin_id: Uuid,
}

impl PlatformPrincipal {
    pub fn actor(&self) -> Actor {
        Actor::PlatformAdmin(self.admin_id)
    }
}

fn token_problem(e: TokenError) -> AppError {
    AppError::unauthorized("invalid_token", format!("The access token is not valid: {e}."))
}

#[derive(sqlx::FromRow)]
struct Standing {
    user_status: String,
    tenant_status: String,
    revoked_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    builtins: Vec<String>,
    custom: Vec<String>,
    schedule_version: i64,
    calendar_version: i64,
}

impl App {
    /// Check an access token and load the caller's standing as it is now:
    /// revoked sessions, disabled accounts, suspended tenants and changed
    /// roles take effect on the very next request.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AppError> {
        let claims = self
            .keys
            .verify(token, Utc::now().timestamp())
            .map_err(token_problem)?;
        let (Some(tenant_id), Some(session_id), "user") = (claims.tid, claims.sid, claims.typ.as_str())
        else {
            return Err(token_problem(TokenError::Malformed));
        };
        // One round trip: the function sets the tenant for its own statement
        // and also reads the business's schedule and calendar versions.
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let standing: Option<Standing> = sqlx::query_as("SELECT * FROM ftry_session_standing($1, $2, $3)")
            .bind(tenant_id)
            .bind(claims.sub)
            .bind(session_id)
            .fetch_optional(&mut *conn)
            .await?;
        drop(conn);
        let Some(standing) = standing else {
            return Err(AppError::unauthorized(
                "session_revoked",
                "This session no longer exists; log in again.",
            ));
        };
        if standing.revoked_at.is_some() || standing.expires_at <= Utc::now() {
            return Err(AppError::unauthorized(
                "session_revoked",
                "This session has ended; log in again.",
            ));
        }
        if standing.user_status != "active" {
            return Err(AppError::unauthorized(
                "account_disabled",
                "This account is disabled.",
            ));
        }
        if standing.tenant_status != "active" {
            return Err(tenant_suspended());
        }
        let mut permissions: BTreeSet<Permission> = standing
            .builtins
            .iter()
            .filter_map(|b| BuiltinRole::parse(b))
            .flat_map(BuiltinRole::permissions)
            .collect();
        permissions.extend(
            standing
                .custom
                .iter()
                .filter_map(|p| p.parse::<Permission>().ok()),
        );
        Ok(Principal {
            tenant_id,
            user_id: claims.sub,
            session_id,
            impersonator: claims.imp,
            permissions,
            versions: Some(crate::schedule_cache::Versions {
                schedule: standing.schedule_version,
                calendar: standing.calendar_version,
            }),
        })
    }

    /// Check a platform operator's access token.
    pub async fn authenticate_platform(&self, token: &str) -> Result<PlatformPrincipal, AppError> {
        let claims = self
            .keys
            .verify(token, Utc::now().timestamp())
            .map_err(token_problem)?;
        if claims.typ != "platform" {
            return Err(AppError::forbidden(
                "platform_only",
                "This needs a platform operator's token.",
            ));
        }
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        match ftry_store::platform::get_admin(&mut conn, claims.sub).await? {
            Some(admin) => Ok(PlatformPrincipal { admin_id: admin.id }),
            None => Err(token_problem(TokenError::UnknownKey)),
        }
    }
}

pub fn tenant_suspended() -> AppError {
    AppError::forbidden(
        "tenant_suspended",
        "This business's account is suspended; its data is kept. Contact support to reactivate it.",
    )
}
