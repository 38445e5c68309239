//! Platform operators: their login, and the cross-tenant views and actions
//! they alone may take. Every cross-tenant read and every action is audited.

use chrono::{Duration, Utc};
use ftry_domain::contact::Email;
use ftry_domain::password;
use ftry_store::audit::{self, Actor, Event, Origin, Outcome};
use ftry_store::platform;
use ftry_store::tenants::{self, Tenant, Usage};
use serde::{Deserialize, Serialize};
use sqlx::Connection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, Validator};
use crate::passwords::Passwords;
use crate::principal::PlatformPrincipal;
use crate::tokens::{Claims, ISSUER};
use crate::App;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformLoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOverview {
    #[schema(value_type = Object)]
    pub tenant: Tenant,
    #[schema(value_type = Object)]
    pub usage: Usage,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeRequest {
    /// Why; shown to operators and kept in the audit log.
    pub reason: Option<String>,
}

impl App {
    pub async fn platform_login(
        &self,
        request: &PlatformLoginRequest,
        origin: &Origin,
    ) -> Result<PlatformToken, AppError> {
        let email = Email::parse(&request.email).ok();
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let admin = match &email {
            Some(email) => platform::find_admin(&mut conn, email.as_str()).await?,
            None => None,
        };
        if let Some(until) = admin
            .as_ref()
            .and_then(|a| a.locked_until)
            .filter(|u| *u > Utc::now())
        {
            self.passwords.verify(&request.password, None).await;
            return Err(AppError::Locked { until });
        }
        let verified = self
            .passwords
            .verify(
                &request.password,
                admin.as_ref().map(|a| a.password_hash.as_str()),
            )
            .await;
        let mut tx = conn.begin().await?;
        let Some(admin) = admin.filter(|_| verified) else {
            if let Some(admin) = admin_id_of(&mut tx, email.as_ref()).await? {
                let lock_until = Utc::now() + Duration::seconds(self.settings.lockout_secs);
                platform::record_admin_failure(&mut tx, admin, self.settings.max_failed_logins, lock_until)
                    .await?;
            }
            audit::record_platform(
                &mut tx,
                None,
                origin,
                Event::new(Actor::Anonymous, "platform.login_failed", "platform_admin", "")
                    .outcome(Outcome::Failure),
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::invalid_credentials());
        };
        platform::clear_admin_failures(&mut tx, admin.id).await?;
        audit::record_platform(
            &mut tx,
            None,
            origin,
            Event::new(
                Actor::PlatformAdmin(admin.id),
                "platform.login",
                "platform_admin",
                admin.id,
            ),
        )
        .await?;
        tx.commit().await?;
        let now = Utc::now().timestamp();
        let ttl = self.settings.access_token_ttl_secs;
        let access_token = self.keys.sign(&Claims {
            iss: ISSUER.into(),
            typ: "platform".into(),
            sub: admin.id,
            tid: None,
            sid: None,
            imp: None,
            iat: now,
            exp: now + ttl,
            jti: uuid::Uuid::now_v7().simple().to_string(),
        });
        Ok(PlatformToken {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
        })
    }

    /// Every tenant with its usage: a cross-tenant read, recorded as one.
    pub async fn platform_tenants(
        &self,
        principal: &PlatformPrincipal,
        origin: &Origin,
    ) -> Result<Vec<TenantOverview>, AppError> {
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let all = tenants::list_all(&mut conn, None, 500).await?;
        let mut overview = Vec::with_capacity(all.len());
        for tenant in all {
            let mut tx = self.pools.begin(tenant.id).await?;
            let usage = tenants::usage(&mut tx).await?;
            tx.commit().await?;
            overview.push(TenantOverview { tenant, usage });
        }
        audit::record_platform(
            &mut conn,
            None,
            origin,
            Event::new(principal.actor(), "platform.tenants_listed", "tenant", "")
                .after(serde_json::json!({ "count": overview.len() })),
        )
        .await?;
        Ok(overview)
    }

    pub async fn platform_tenant(
        &self,
        principal: &PlatformPrincipal,
        tenant_id: Uuid,
        origin: &Origin,
    ) -> Result<TenantOverview, AppError> {
        let mut tx = self.pools.begin(tenant_id).await?;
        let tenant = tenants::get(&mut tx, tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let usage = tenants::usage(&mut tx).await?;
        audit::record(
            &mut tx,
            tenant_id,
            origin,
            Event::new(principal.actor(), "platform.tenant_viewed", "tenant", tenant_id),
        )
        .await?;
        audit::record_platform(
            &mut tx,
            Some(tenant_id),
            origin,
            Event::new(principal.actor(), "platform.tenant_viewed", "tenant", tenant_id),
        )
        .await?;
        tx.commit().await?;
        Ok(TenantOverview { tenant, usage })
    }

    /// Suspend or reactivate a business. Its data is kept; while suspended
    /// its users can neither log in nor call the API.
    pub async fn platform_set_status(
        &self,
        principal: &PlatformPrincipal,
        tenant_id: Uuid,
        status: &str,
        request: &StatusChangeRequest,
        origin: &Origin,
    ) -> Result<Tenant, AppError> {
        let mut v = Validator::default();
        let reason = v.optional_text("reason", request.reason.as_deref(), 500);
        v.finish()?;
        let mut tx = self.pools.begin(tenant_id).await?;
        let before = tenants::get(&mut tx, tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tenants::set_status(&mut tx, tenant_id, status, reason.as_deref()).await?;
        let after = tenants::get(&mut tx, tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let action = if status == "suspended" {
            "tenant.suspended"
        } else {
            "tenant.activated"
        };
        let change = |event: Event<'static>| {
            event
                .before(serde_json::json!({ "status": before.status }))
                .after(serde_json::json!({ "status": after.status, "reason": reason }))
        };
        audit::record(
            &mut tx,
            tenant_id,
            origin,
            change(Event::new(principal.actor(), action, "tenant", tenant_id)),
        )
        .await?;
        audit::record_platform(
            &mut tx,
            Some(tenant_id),
            origin,
            change(Event::new(principal.actor(), action, "tenant", tenant_id)),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(tenant_id = %tenant_id, status, "tenant status changed by a platform operator");
        Ok(after)
    }
}

/// The states an operator lists jobs by.
pub const JOB_STATES: [&str; 5] = ["dead", "queued", "running", "done", "discarded"];

impl App {
    /// The job queue as operators see it: jobs in `state`, newest first.
    pub async fn platform_jobs(
        &self,
        _principal: &PlatformPrincipal,
        state: &str,
        limit: i64,
    ) -> Result<Vec<ftry_store::jobs::JobSummary>, AppError> {
        if !JOB_STATES.contains(&state) {
            return Err(AppError::invalid(
                "state",
                format!("must be one of {}", JOB_STATES.join(", ")),
            ));
        }
        self.list_jobs(Some(state), limit.clamp(1, 200)).await
    }

    /// Queue a dead job again (`retry`) or give it up (`discard`), as
    /// `ftry jobs retry|discard` do; audited on the platform's log.
    pub async fn platform_job_action(
        &self,
        principal: &PlatformPrincipal,
        id: Uuid,
        action: &str,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let (done, name) = match action {
            "retry" => (self.retry_job(id).await?, "job.retried"),
            "discard" => (self.discard_job(id).await?, "job.discarded"),
            _ => return Err(AppError::NotFound),
        };
        if !done {
            return Err(AppError::conflict(
                "job_not_waiting",
                "The job is not dead (retry) or waiting (discard): nothing changed.",
            ));
        }
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        audit::record_platform(
            &mut conn,
            None,
            origin,
            Event::new(principal.actor(), name, "job", id),
        )
        .await?;
        Ok(())
    }
}

async fn admin_id_of(conn: &mut sqlx::PgConnection, email: Option<&Email>) -> Result<Option<Uuid>, AppError> {
    match email {
        Some(email) => Ok(platform::find_admin(conn, email.as_str()).await?.map(|a| a.id)),
        None => Ok(None),
    }
}

/// Create a platform operator (CLI only, through the owner connection).
pub async fn create_admin(
    owner: &mut sqlx::PgConnection,
    passwords: &Passwords,
    email: &str,
    name: &str,
    password: &str,
) -> Result<Uuid, AppError> {
    let mut v = Validator::default();
    let email = v.check("email", Email::parse(email));
    let name = v.text("name", name, 200);
    v.check(
        "password",
        password::check(password, &[email.as_ref().map_or("", |e| e.as_str())]),
    );
    v.finish()?;
    let (Some(email), Some(name)) = (email, name) else {
        return Err(AppError::Internal("validation passed without values".into()));
    };
    let hash = passwords.hash(password).await?;
    let id = Uuid::now_v7();
    if !platform::insert_admin(owner, id, email.as_str(), &name, &hash).await? {
        return Err(AppError::conflict(
            "email_taken",
            "A platform operator with that email exists.",
        ));
    }
    audit::record_platform(
        owner,
        None,
        &Origin::default(),
        Event::new(Actor::System, "platform.admin_created", "platform_admin", id)
            .after(serde_json::json!({ "email": email.as_str() })),
    )
    .await?;
    Ok(id)
}
