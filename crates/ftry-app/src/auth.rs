//! Logging in and staying logged in: login with lockout, access tokens,
//! rotating refresh tokens with reuse detection, logout.

use chrono::{Duration, Utc};
use ftry_domain::contact::Email;
use ftry_store::audit::{self, Actor, Event, Origin, Outcome};
use ftry_store::{sessions, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;
use crate::principal::tenant_suspended;
use crate::tokens::{self, Claims, ISSUER};
use crate::{App, Principal};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The business's slug; needed only when the email has accounts in several businesses.
    pub tenant: Option<String>,
}

/// A fresh pair of tokens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tokens {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds until the session (and so the refresh token) expires.
    pub refresh_expires_in: i64,
    pub session_id: Uuid,
}

impl App {
    /// Start a session for `user_id` and return its first tokens.
    pub(crate) async fn open_session(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant_id: Uuid,
        user_id: Uuid,
        origin: &Origin,
        impersonator: Option<Uuid>,
    ) -> Result<Tokens, AppError> {
        let session_id = Uuid::now_v7();
        let refresh_token = tokens::tenant_token(tenant_id);
        let expires_at = Utc::now() + Duration::seconds(self.settings.refresh_token_ttl_secs);
        sessions::insert(
            conn,
            tenant_id,
            &sessions::NewSession {
                id: session_id,
                user_id,
                expires_at,
                ip: origin.ip,
                user_agent: origin.user_agent.as_deref(),
                impersonator_id: impersonator,
            },
            &tokens::sha256(&refresh_token),
        )
        .await?;
        Ok(self.tokens_for(
            tenant_id,
            user_id,
            session_id,
            refresh_token,
            impersonator,
            expires_at,
        ))
    }

    fn tokens_for(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        session_id: Uuid,
        refresh_token: String,
        impersonator: Option<Uuid>,
        session_expires_at: chrono::DateTime<Utc>,
    ) -> Tokens {
        let now = Utc::now().timestamp();
        let ttl = self.settings.access_token_ttl_secs;
        let access_token = self.keys.sign(&Claims {
            iss: ISSUER.into(),
            typ: "user".into(),
            sub: user_id,
            tid: Some(tenant_id),
            sid: Some(session_id),
            imp: impersonator,
            iat: now,
            exp: now + ttl,
            jti: uuid::Uuid::now_v7().simple().to_string(),
        });
        Tokens {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            refresh_token,
            refresh_expires_in: (session_expires_at.timestamp() - now).max(0),
            session_id,
        }
    }

    /// Log in. Every failure answers the same `invalid_credentials`, after
    /// the same amount of work, whether or not the account exists; a locked
    /// account answers `account_locked` whatever the password.
    pub async fn login(&self, request: &LoginRequest, origin: &Origin) -> Result<Tokens, AppError> {
        let result = self.check_login(request, origin).await;
        self.business.login(result.as_ref().map(|_| ()));
        result
    }

    async fn check_login(&self, request: &LoginRequest, origin: &Origin) -> Result<Tokens, AppError> {
        let Ok(email) = Email::parse(&request.email) else {
            self.passwords.verify(&request.password, None).await;
            return Err(AppError::invalid_credentials());
        };
        let mut tx = self.pools.begin_platform().await?;
        let mut candidates = self
            .pools
            .metrics
            .timed("login_lookup", users::find_for_login(&mut tx, email.as_str()))
            .await?;
        tx.commit().await?;
        if let Some(slug) = request.tenant.as_deref() {
            candidates.retain(|(_, tenant_slug, _)| tenant_slug == slug);
        }
        if candidates.is_empty() {
            self.passwords.verify(&request.password, None).await;
            self.record_unknown_login(email.as_str(), origin).await?;
            return Err(AppError::invalid_credentials());
        }
        let (mut matching, mut failed, mut locked) = (Vec::new(), Vec::new(), Vec::new());
        for (user, slug, tenant_status) in candidates {
            if let Some(until) = user.locked_until.filter(|until| *until > Utc::now()) {
                self.passwords.verify(&request.password, None).await;
                locked.push((user, until));
            } else if self
                .passwords
                .verify(&request.password, user.password_hash.as_deref())
                .await
            {
                matching.push((user, slug, tenant_status));
            } else {
                failed.push(user);
            }
        }
        // A password that opens one of the email's accounts is no failed
        // attempt on its others (in other businesses), and their locks do not
        // shut this one; a locked account itself stays shut whatever the password.
        if matching.is_empty() {
            for user in &failed {
                self.record_failed_login(user, origin).await?;
            }
            if let Some((_, until)) = locked.first() {
                for (user, _) in &locked {
                    self.record_login_event(user, origin, "auth.login_refused_locked", Outcome::Denied)
                        .await?;
                }
                return Err(AppError::Locked { until: *until });
            }
        }
        let (user, _, tenant_status) = match matching.len() {
            0 => return Err(AppError::invalid_credentials()),
            1 => matching.remove(0),
            _ => {
                return Err(AppError::conflict(
                    "tenant_required",
                    "This email has accounts in several businesses; add the business's slug as `tenant`.",
                ))
            }
        };
        if tenant_status != "active" {
            return Err(tenant_suspended());
        }
        if user.status != "active" {
            return Err(AppError::invalid_credentials());
        }
        let mut tx = self.pools.begin(user.tenant_id).await?;
        if user.locked_until.is_some() {
            audit::record(
                &mut tx,
                user.tenant_id,
                origin,
                Event::new(Actor::System, "auth.account_unlocked", "user", user.id)
                    .after(serde_json::json!({"reason": "lock expired"})),
            )
            .await?;
        }
        users::clear_failed_logins(&mut tx, user.id).await?;
        let tokens = self
            .open_session(&mut tx, user.tenant_id, user.id, origin, None)
            .await?;
        audit::record(
            &mut tx,
            user.tenant_id,
            origin,
            Event::new(
                Actor::User {
                    id: user.id,
                    impersonator: None,
                },
                "auth.login",
                "session",
                tokens.session_id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    async fn record_failed_login(&self, user: &users::User, origin: &Origin) -> Result<(), AppError> {
        let mut tx = self.pools.begin(user.tenant_id).await?;
        let lock_until = Utc::now() + Duration::seconds(self.settings.lockout_secs);
        let (failures, locked) =
            users::record_failed_login(&mut tx, user.id, self.settings.max_failed_logins, lock_until).await?;
        let actor = Actor::User {
            id: user.id,
            impersonator: None,
        };
        audit::record(
            &mut tx,
            user.tenant_id,
            origin,
            Event::new(actor, "auth.login_failed", "user", user.id)
                .outcome(Outcome::Failure)
                .after(serde_json::json!({ "failed_logins": failures })),
        )
        .await?;
        if failures == self.settings.max_failed_logins {
            audit::record(
                &mut tx,
                user.tenant_id,
                origin,
                Event::new(Actor::System, "auth.account_locked", "user", user.id)
                    .after(serde_json::json!({ "locked_until": locked, "failed_logins": failures })),
            )
            .await?;
            tracing::warn!(user_id = %user.id, tenant_id = %user.tenant_id, "account locked after failed logins");
        }
        tx.commit().await?;
        Ok(())
    }

    async fn record_login_event(
        &self,
        user: &users::User,
        origin: &Origin,
        action: &str,
        outcome: Outcome,
    ) -> Result<(), AppError> {
        let mut tx = self.pools.begin(user.tenant_id).await?;
        let actor = Actor::User {
            id: user.id,
            impersonator: None,
        };
        audit::record(
            &mut tx,
            user.tenant_id,
            origin,
            Event::new(actor, action, "user", user.id).outcome(outcome),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_unknown_login(&self, email: &str, origin: &Origin) -> Result<(), AppError> {
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        // The address is kept hashed: the log must not collect strangers' emails.
        let event = Event {
            resource_id: Some(hex(&tokens::sha256(email))[..16].to_owned()),
            ..Event::new(Actor::Anonymous, "auth.login_failed", "email", "")
        }
        .outcome(Outcome::Failure);
        audit::record_platform(&mut conn, None, origin, event).await?;
        Ok(())
    }

    /// Exchange a refresh token for new tokens. A token that was already
    /// exchanged is a stolen copy or a replay: the whole session is revoked.
    pub async fn refresh(&self, refresh_token: &str, origin: &Origin) -> Result<Tokens, AppError> {
        let invalid = || AppError::unauthorized("invalid_refresh_token", "The refresh token is not valid.");
        let tenant_id = tokens::parse_tenant_token(refresh_token).ok_or_else(invalid)?;
        let hash = tokens::sha256(refresh_token);
        let mut tx = self.pools.begin(tenant_id).await?;
        let presented = sessions::find_token_for_update(&mut tx, &hash)
            .await?
            .ok_or_else(invalid)?;
        let actor = Actor::User {
            id: presented.user_id,
            impersonator: None,
        };
        if presented.rotated_at.is_some() {
            let revoked = sessions::revoke(&mut tx, presented.session_id, "token_reuse").await?;
            audit::record(
                &mut tx,
                tenant_id,
                origin,
                Event::new(
                    actor,
                    "auth.refresh_token_reused",
                    "session",
                    presented.session_id,
                )
                .outcome(Outcome::Denied)
                .after(serde_json::json!({ "session_revoked": revoked })),
            )
            .await?;
            tx.commit().await?;
            self.business.token_reuse_detections.inc();
            tracing::warn!(session_id = %presented.session_id, "refresh token reused; session revoked");
            return Err(AppError::unauthorized(
                "refresh_token_reused",
                "This refresh token was already used; the session has been ended. Log in again.",
            ));
        }
        if presented.revoked_at.is_some() || presented.expires_at <= Utc::now() {
            return Err(AppError::unauthorized(
                "session_revoked",
                "This session has ended; log in again.",
            ));
        }
        let standing: Option<(String, String)> = sqlx::query_as(
            "SELECT u.status, t.status FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        )
        .bind(presented.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        match standing.as_ref().map(|(u, t)| (u.as_str(), t.as_str())) {
            Some(("active", "active")) => {}
            Some((_, "suspended")) => return Err(tenant_suspended()),
            _ => {
                return Err(AppError::unauthorized(
                    "account_disabled",
                    "This account is disabled.",
                ))
            }
        }
        sessions::mark_rotated(&mut tx, &hash).await?;
        let next = tokens::tenant_token(tenant_id);
        sessions::insert_token(&mut tx, tenant_id, presented.session_id, &tokens::sha256(&next)).await?;
        sessions::touch(&mut tx, presented.session_id, origin.ip).await?;
        let session = sessions::get(&mut tx, presented.session_id)
            .await?
            .ok_or_else(invalid)?;
        tx.commit().await?;
        Ok(self.tokens_for(
            tenant_id,
            presented.user_id,
            presented.session_id,
            next,
            session.impersonator_id,
            presented.expires_at,
        ))
    }

    /// End the caller's session.
    pub async fn logout(&self, principal: &Principal, origin: &Origin) -> Result<(), AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        sessions::revoke(&mut tx, principal.session_id, "logout").await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "auth.logout", "session", principal.session_id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// End every session of the caller, on every device.
    pub async fn logout_all(&self, principal: &Principal, origin: &Origin) -> Result<u64, AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let ended = sessions::revoke_all_of_user(&mut tx, principal.user_id, "logout_all").await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "auth.logout_all", "user", principal.user_id)
                .after(serde_json::json!({ "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
