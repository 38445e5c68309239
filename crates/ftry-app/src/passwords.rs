//! Password hashing with argon2id, off the async threads.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// A hash of nothing anyone knows, verified when an account does not
    /// exist so that a login takes as long either way.
    decoy: String,
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, String> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| format!("auth.argon2_*: {e}"))?;
        let decoy = hash_with(&params, &format!("decoy-{}", uuid::Uuid::now_v7()))?;
        Ok(Self { params, decoy })
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_with(&params, &password))
            .await
            .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
            .map_err(AppError::Internal)
    }

    /// Verify against `hash`, or against the decoy when there is none.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let (password, hash, real) = (
            password.to_owned(),
            hash.unwrap_or(&self.decoy).to_owned(),
            hash.is_some(),
        );
        let verified = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        verified && real
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password_and_name_their_parameters() {
        let passwords = Passwords::new(1024, 1, 1).unwrap();
        let hash = passwords.hash("teal-comb-monsoon").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
        assert!(passwords.verify("teal-comb-monsoon", Some(&hash)).await);
        assert!(!passwords.verify("teal-comb-monsoom", Some(&hash)).await);
        assert!(
            !passwords.verify("anything", None).await,
            "the decoy never verifies"
        );
        assert!(!passwords.verify("x", Some("not a hash")).await);
    }
}
