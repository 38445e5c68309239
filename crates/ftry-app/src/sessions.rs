//! A user's own sessions: list them, end one.

use ftry_store::audit::{self, Event, Origin};
use ftry_store::sessions::{self, Session};
use uuid::Uuid;

use crate::error::AppError;
use crate::{App, Principal};

impl App {
    pub async fn my_sessions(&self, principal: &Principal) -> Result<Vec<Session>, AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = sessions::list_active(&mut tx, principal.user_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// End one of the caller's own sessions (another device, say).
    pub async fn revoke_my_session(
        &self,
        principal: &Principal,
        session_id: Uuid,
        origin: &Origin,
    ) -> Result<(), AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let session = sessions::get(&mut tx, session_id).await?;
        if session.as_ref().is_none_or(|s| s.user_id != principal.user_id) {
            return Err(AppError::NotFound);
        }
        sessions::revoke(&mut tx, session_id, "revoked").await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "auth.session_revoked", "session", session_id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
