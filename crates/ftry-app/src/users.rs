//! Staff accounts: who am I, the team list, invitations, password resets,
//! disabling accounts, unlocking them and changing their roles.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use ftry_domain::contact::Email;
use ftry_domain::password;
use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::roles::Role;
use ftry_store::users::UserSummary;
use ftry_store::{outbox, roles, sessions, tenants, user_tokens, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Tokens;
use crate::error::{AppError, Validator};
use crate::tokens;
use crate::{App, Principal};

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[schema(value_type = Object)]
    pub user: UserSummary,
    #[schema(value_type = Object)]
    pub tenant: tenants::Tenant,
    pub permissions: Vec<String>,
    pub session_id: Uuid,
    pub impersonated_by: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    pub name: String,
    /// Role names (built-in or custom) to give; at least one.
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInviteRequest {
    pub token: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
    /// The business's slug, when the email has accounts in several.
    pub tenant: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    pub token: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// `active` or `disabled`.
    pub status: Option<String>,
    /// Replace the user's roles with these role names.
    pub roles: Option<Vec<String>>,
}

const INVITE: &str = "invite";
const RESET: &str = "password_reset";

impl App {
    pub async fn me(&self, principal: &Principal) -> Result<Me, AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let user = users::summary(&mut tx, principal.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let tenant = tenants::get(&mut tx, principal.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(Me {
            user,
            tenant,
            permissions: principal
                .permissions
                .iter()
                .map(|p| p.name().to_owned())
                .collect(),
            session_id: principal.session_id,
            impersonated_by: principal.impersonator,
        })
    }

    pub async fn list_users(&self, principal: &Principal) -> Result<Vec<UserSummary>, AppError> {
        principal.require(Permission::UsersRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = users::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn get_user(&self, principal: &Principal, id: Uuid) -> Result<UserSummary, AppError> {
        principal.require(Permission::UsersRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let user = users::summary(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Invite a member of staff: an account waiting for its password, and a
    /// single-use link to set it.
    pub async fn invite(
        &self,
        principal: &Principal,
        request: &InviteRequest,
        origin: &Origin,
    ) -> Result<UserSummary, AppError> {
        principal.require(Permission::UsersInvite)?;
        let mut v = Validator::default();
        let email = v.check("email", Email::parse(&request.email));
        let name = v.text("name", &request.name, 200);
        if request.roles.is_empty() {
            v.push("roles", "give at least one role");
        }
        v.finish()?;
        let (Some(email), Some(name)) = (email, name) else {
            return Err(AppError::Internal("validation passed without values".into()));
        };
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let tenant = tenants::get(&mut tx, principal.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tenants::lock(&mut tx, principal.tenant_id).await?;
        let usage = tenants::usage(&mut tx).await?;
        if usage.users >= i64::from(tenant.max_users) {
            return Err(AppError::conflict(
                "plan_limit_reached",
                format!(
                    "Your plan allows {} active accounts; disable one or upgrade.",
                    tenant.max_users
                ),
            ));
        }
        let role_ids = self.grantable_roles(&mut tx, principal, &request.roles).await?;
        let user_id = Uuid::now_v7();
        let inserted = users::insert(
            &mut tx,
            principal.tenant_id,
            &users::NewUser {
                id: user_id,
                email: email.as_str(),
                name: &name,
                phone: None,
                password_hash: None,
                status: "invited",
            },
        )
        .await?;
        if !inserted {
            return Err(AppError::conflict(
                "email_taken",
                "Someone in this business already uses that email.",
            ));
        }
        roles::set_user_roles(&mut tx, principal.tenant_id, user_id, &role_ids).await?;
        self.send_invitation(&mut tx, &tenant, user_id, &name, email.as_str())
            .await?;
        let summary = users::summary(&mut tx, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "user.invited", "user", user_id)
                .after(serde_json::json!({ "email": email.as_str(), "roles": summary.roles })),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// A single-use link for an invited account to choose its password,
    /// mailed to it.
    pub(crate) async fn send_invitation(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &tenants::Tenant,
        user_id: Uuid,
        name: &str,
        email: &str,
    ) -> Result<(), AppError> {
        let token = tokens::tenant_token(tenant.id);
        let expires = Utc::now() + Duration::hours(self.settings.invite_ttl_hours);
        user_tokens::insert(
            &mut *tx,
            tenant.id,
            &tokens::sha256(&token),
            user_id,
            INVITE,
            expires,
        )
        .await?;
        let link = format!(
            "{}/invite/accept?token={token}",
            self.settings.public_url.trim_end_matches('/')
        );
        self.mail(
            tx,
            tenant.id,
            email,
            &format!("You're invited to {} on ftry", tenant.name),
            &format!(
                "Hello {name},\n\nYou have been invited to join {} on ftry. Choose your password here \
                 (the link works once, until {}):\n\n{link}\n",
                tenant.name,
                expires.format("%Y-%m-%d %H:%M UTC")
            ),
        )
        .await?;
        Ok(())
    }

    /// Set the password of an invited account and log it in.
    pub async fn accept_invite(
        &self,
        request: &AcceptInviteRequest,
        origin: &Origin,
    ) -> Result<Tokens, AppError> {
        let (tenant_id, user) = self.consume_user_token(&request.token, INVITE).await?;
        self.check_new_password(tenant_id, &user, &request.password)
            .await?;
        let hash = self.passwords.hash(&request.password).await?;
        let mut tx = self.pools.begin(tenant_id).await?;
        // Accepting logs in, which a suspended business's users cannot do.
        if tenants::get(&mut tx, tenant_id)
            .await?
            .is_some_and(|t| t.status != "active")
        {
            return Err(crate::principal::tenant_suspended());
        }
        // Consumed again inside this transaction so two racing acceptances cannot both win.
        if user_tokens::consume(&mut tx, &tokens::sha256(&request.token), INVITE)
            .await?
            .is_none()
        {
            return Err(invalid_link());
        }
        users::set_password(&mut tx, user.id, &hash).await?;
        let actor = Actor::User {
            id: user.id,
            impersonator: None,
        };
        audit::record(
            &mut tx,
            tenant_id,
            origin,
            Event::new(actor, "user.invite_accepted", "user", user.id),
        )
        .await?;
        let tokens = self
            .open_session(&mut tx, tenant_id, user.id, origin, None)
            .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Send a reset link to every active account with this email. Always
    /// succeeds, so the answer never tells whether an account exists.
    pub async fn request_password_reset(
        &self,
        request: &ResetRequest,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let Ok(email) = Email::parse(&request.email) else {
            return Ok(());
        };
        let mut tx = self.pools.begin_platform().await?;
        let mut accounts = users::find_for_login(&mut tx, email.as_str()).await?;
        tx.commit().await?;
        if let Some(slug) = request.tenant.as_deref() {
            accounts.retain(|(_, s, _)| s == slug);
        }
        for (user, _, tenant_status) in accounts {
            if user.status != "active" || tenant_status != "active" {
                continue;
            }
            let mut tx = self.pools.begin(user.tenant_id).await?;
            user_tokens::revoke_outstanding(&mut tx, user.id, RESET).await?;
            let token = tokens::tenant_token(user.tenant_id);
            let expires = Utc::now() + Duration::minutes(self.settings.password_reset_ttl_minutes);
            user_tokens::insert(
                &mut tx,
                user.tenant_id,
                &tokens::sha256(&token),
                user.id,
                RESET,
                expires,
            )
            .await?;
            let link = format!(
                "{}/password-reset?token={token}",
                self.settings.public_url.trim_end_matches('/')
            );
            self.mail(
                &mut tx,
                user.tenant_id,
                &user.email,
                "Reset your ftry password",
                &format!(
                    "Hello {},\n\nSomeone asked to reset your ftry password. If it was you, choose a new one \
                     here (the link works once, for {} minutes):\n\n{link}\n\nIf it was not you, ignore this.\n",
                    user.name, self.settings.password_reset_ttl_minutes
                ),
            )
            .await?;
            let actor = Actor::User {
                id: user.id,
                impersonator: None,
            };
            audit::record(
                &mut tx,
                user.tenant_id,
                origin,
                Event::new(actor, "auth.password_reset_requested", "user", user.id),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Set a new password through a reset link; every session of the account ends.
    pub async fn confirm_password_reset(
        &self,
        request: &ResetConfirmRequest,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let (tenant_id, user) = self.consume_user_token(&request.token, RESET).await?;
        self.check_new_password(tenant_id, &user, &request.password)
            .await?;
        let hash = self.passwords.hash(&request.password).await?;
        let mut tx = self.pools.begin(tenant_id).await?;
        if user_tokens::consume(&mut tx, &tokens::sha256(&request.token), RESET)
            .await?
            .is_none()
        {
            return Err(invalid_link());
        }
        users::set_password(&mut tx, user.id, &hash).await?;
        let ended = sessions::revoke_all_of_user(&mut tx, user.id, "password_reset").await?;
        let actor = Actor::User {
            id: user.id,
            impersonator: None,
        };
        audit::record(
            &mut tx,
            tenant_id,
            origin,
            Event::new(actor, "auth.password_reset", "user", user.id)
                .after(serde_json::json!({ "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Find the account of a valid, unused link without using it up.
    async fn consume_user_token(&self, token: &str, purpose: &str) -> Result<(Uuid, users::User), AppError> {
        let tenant_id = tokens::parse_tenant_token(token).ok_or_else(invalid_link)?;
        let mut tx = self.pools.begin(tenant_id).await?;
        let user_id: Option<Uuid> = sqlx::query_scalar(
            "SELECT user_id FROM user_tokens
              WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()",
        )
        .bind(tokens::sha256(token))
        .bind(purpose)
        .fetch_optional(&mut *tx)
        .await?;
        let user = match user_id {
            Some(id) => users::get(&mut tx, id).await?,
            None => None,
        };
        tx.commit().await?;
        let user = user.ok_or_else(invalid_link)?;
        if user.status == "disabled" {
            return Err(invalid_link());
        }
        Ok((tenant_id, user))
    }

    async fn check_new_password(
        &self,
        tenant_id: Uuid,
        user: &users::User,
        password: &str,
    ) -> Result<(), AppError> {
        let mut tx = self.pools.begin(tenant_id).await?;
        let business = tenants::get(&mut tx, tenant_id)
            .await?
            .map(|t| t.name)
            .unwrap_or_default();
        tx.commit().await?;
        password::check(password, &[&user.name, &user.email, &business])
            .map_err(|e| AppError::invalid("password", e))
    }

    /// Change an account's status and/or roles. Nobody changes their own
    /// account this way, grants rights they do not hold, or leaves the
    /// business without an active owner.
    pub async fn update_user(
        &self,
        principal: &Principal,
        user_id: Uuid,
        request: &UpdateUserRequest,
        origin: &Origin,
    ) -> Result<UserSummary, AppError> {
        principal.require(Permission::UsersManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        tenants::lock(&mut tx, principal.tenant_id).await?;
        let before = users::summary(&mut tx, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if user_id == principal.user_id {
            return Err(AppError::forbidden(
                "own_account",
                "You cannot change your own status or roles; ask another administrator.",
            ));
        }
        let current_roles = roles::user_roles(&mut tx, user_id).await?;
        // Changing someone who holds rights you lack would let you take them away or reshape them.
        require_superset(principal, &current_roles)?;
        if let Some(names) = &request.roles {
            let role_ids = self.grantable_roles(&mut tx, principal, names).await?;
            roles::set_user_roles(&mut tx, principal.tenant_id, user_id, &role_ids).await?;
        }
        match request.status.as_deref() {
            None => {}
            Some(status @ ("active" | "disabled")) if before.status != "invited" => {
                users::set_status(&mut tx, user_id, status).await?;
                if status == "disabled" {
                    sessions::revoke_all_of_user(&mut tx, user_id, "user_disabled").await?;
                }
            }
            Some("active" | "disabled") => {
                return Err(AppError::conflict(
                    "invitation_pending",
                    "This account has not accepted its invitation yet.",
                ))
            }
            Some(_) => return Err(AppError::invalid("status", "must be `active` or `disabled`")),
        }
        if roles::active_owner_count(&mut tx).await? == 0 {
            return Err(AppError::conflict(
                "last_owner",
                "The business must keep at least one active owner.",
            ));
        }
        let after = users::summary(&mut tx, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "user.updated", "user", user_id)
                .before(serde_json::json!({ "status": before.status, "roles": before.roles }))
                .after(serde_json::json!({ "status": after.status, "roles": after.roles })),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Lift a lockout before it expires.
    pub async fn unlock_user(
        &self,
        principal: &Principal,
        user_id: Uuid,
        origin: &Origin,
    ) -> Result<UserSummary, AppError> {
        principal.require(Permission::UsersManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let user = users::get(&mut tx, user_id).await?.ok_or(AppError::NotFound)?;
        users::clear_failed_logins(&mut tx, user_id).await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "auth.account_unlocked", "user", user_id).before(
                serde_json::json!({ "locked_until": user.locked_until, "failed_logins": user.failed_logins }),
            ),
        )
        .await?;
        let summary = users::summary(&mut tx, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Resolve role names to ids, refusing any role that would give rights
    /// the granting principal does not hold.
    async fn grantable_roles(
        &self,
        tx: &mut sqlx::PgConnection,
        principal: &Principal,
        names: &[String],
    ) -> Result<Vec<Uuid>, AppError> {
        let available = roles::list(tx).await?;
        let mut chosen = Vec::new();
        for name in names.iter().collect::<BTreeSet<_>>() {
            let Some(role) = available.iter().find(|r| &r.name == name) else {
                return Err(AppError::invalid(
                    "roles",
                    format!("there is no role named `{name}`"),
                ));
            };
            chosen.push(role.clone());
        }
        require_superset(principal, &chosen)?;
        Ok(chosen.iter().map(|r| r.id).collect())
    }

    /// Mail waiting in the development outbox of the caller's business.
    pub async fn outbox(&self, tenant_id: Uuid, limit: i64) -> Result<Vec<outbox::Message>, AppError> {
        let mut tx = self.pools.begin(tenant_id).await?;
        let list = outbox::list(&mut tx, limit).await?;
        tx.commit().await?;
        Ok(list)
    }
}

fn require_superset(principal: &Principal, roles: &[Role]) -> Result<(), AppError> {
    for role in roles {
        if let Some(missing) = role.permissions.iter().find(|p| !principal.can(**p)) {
            return Err(AppError::Forbidden {
                code: "role_escalation",
                detail: format!(
                    "The role `{}` includes `{missing}`, which you do not have; you cannot grant or change it.",
                    role.name
                ),
            });
        }
    }
    Ok(())
}

fn invalid_link() -> AppError {
    AppError::conflict(
        "invalid_link",
        "This link is invalid, expired or already used; ask for a new one.",
    )
}

impl App {
    /// What the development outbox holds for the caller's business, newest
    /// first, for its owners (`tenant:update`: it holds staff invitation and
    /// reset links); `None` once mail goes out over SMTP.
    pub async fn held_mail(
        &self,
        principal: &Principal,
        limit: i64,
    ) -> Result<Option<Vec<outbox::Message>>, AppError> {
        principal.require(ftry_domain::permissions::Permission::TenantUpdate)?;
        if !matches!(self.notifier.mailer, crate::notifications::Mailer::Outbox) {
            return Ok(None);
        }
        self.outbox(principal.tenant_id, limit.clamp(1, 100))
            .await
            .map(Some)
    }

    /// The development outbox of the business with this slug (operator CLI).
    pub async fn outbox_of(&self, slug: &str, limit: i64) -> Result<Vec<outbox::Message>, AppError> {
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let tenant = tenants::find_by_slug(&mut conn, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        self.outbox(tenant.id, limit).await
    }
}
