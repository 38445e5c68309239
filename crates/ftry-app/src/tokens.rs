//! Access tokens (JWT, HS256, signed with a key chosen by key id so keys can
//! rotate) and opaque secrets (refresh, invitation and reset tokens) that are
//! stored only as SHA-256 hashes.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// What an access token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// `user` or `platform`.
    pub typ: String,
    pub sub: Uuid,
    /// Tenant, for user tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tid: Option<Uuid>,
    /// Session, for user tokens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<Uuid>,
    /// The platform operator acting as this user, when impersonating.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub imp: Option<Uuid>,
    pub iat: i64,
    pub exp: i64,
    /// A unique id, so two tokens are never equal.
    #[serde(default)]
    pub jti: String,
}

pub const ISSUER: &str = "ftry";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is wrong")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

/// Signing keys by id; one of them signs new tokens.
#[derive(Clone)]
pub struct TokenKeys {
    keys: HashMap<String, Vec<u8>>,
    active: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

impl TokenKeys {
    /// `keys` must contain `active`.
    pub fn new(keys: HashMap<String, Vec<u8>>, active: String) -> Result<Self, String> {
        if !keys.contains_key(&active) {
            return Err(format!("auth.active_key: no signing key has the id `{active}`"));
        }
        if let Some((id, _)) = keys.iter().find(|(_, secret)| secret.len() < 32) {
            return Err(format!(
                "auth.signing_keys: key `{id}` must have at least 32 bytes"
            ));
        }
        Ok(Self { keys, active })
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "HS256".into(),
            typ: "JWT".into(),
            kid: self.active.clone(),
        };
        let signing_input = format!("{}.{}", b64_json(&header), b64_json(claims));
        let signature = self
            .mac(&self.active, signing_input.as_bytes())
            .map(|m| m.finalize().into_bytes());
        match signature {
            Some(sig) => format!("{signing_input}.{}", B64.encode(sig)),
            None => String::new(),
        }
    }

    /// Check signature and expiry at `now` (seconds since the epoch).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signing_input = format!("{header}.{payload}");
        let header: Header = decode(header)?;
        if header.alg != "HS256" {
            return Err(TokenError::Malformed);
        }
        let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
        let mac = self
            .mac(&header.kid, signing_input.as_bytes())
            .ok_or(TokenError::UnknownKey)?;
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = decode(payload)?;
        if claims.iss != ISSUER {
            return Err(TokenError::Malformed);
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn mac(&self, kid: &str, input: &[u8]) -> Option<HmacSha256> {
        let secret = self.keys.get(kid)?;
        let mut mac = HmacSha256::new_from_slice(secret).ok()?;
        mac.update(input);
        Some(mac)
    }
}

fn decode<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, TokenError> {
    let bytes = B64.decode(part).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

fn b64_json<T: Serialize>(value: &T) -> String {
    B64.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// A fresh random secret, base64url, 256 bits.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

pub fn sha256(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

/// An opaque token that names its tenant (so the lookup can run under that
/// tenant's row-level security) and carries a random secret:
/// `<tenant uuid, simple form>.<secret>`.
pub fn tenant_token(tenant_id: Uuid) -> String {
    format!("{}.{}", tenant_id.simple(), random_secret())
}

/// Split a tenant token; `None` if it is not one.
pub fn parse_tenant_token(token: &str) -> Option<Uuid> {
    let (tenant, secret) = token.split_once('.')?;
    if secret.len() != 43
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Uuid::try_parse(tenant).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(active: &str) -> TokenKeys {
        let keys = HashMap::from([
            ("k1".to_string(), vec![1u8; 32]),
            ("k2".to_string(), vec![2u8; 32]),
        ]);
        TokenKeys::new(keys, active.into()).unwrap()
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            typ: "user".into(),
            sub: Uuid::from_u128(1),
            tid: Some(Uuid::from_u128(2)),
            sid: Some(Uuid::from_u128(3)),
            imp: None,
            iat: 1000,
            exp,
            jti: "t-1".into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let keys = keys("k1");
        let token = keys.sign(&claims(2000));
        assert_eq!(keys.verify(&token, 1999), Ok(claims(2000)));
        assert_eq!(keys.verify(&token, 2000), Err(TokenError::Expired));
    }

    #[test]
    fn rotated_keys_still_verify_old_tokens() {
        let old = keys("k1").sign(&claims(2000));
        assert_eq!(keys("k2").verify(&old, 1500), Ok(claims(2000)));
    }

    #[test]
    fn forged_and_foreign_tokens_fail() {
        let token = keys("k1").sign(&claims(2000));
        let mut forged_claims = claims(2000);
        forged_claims.sub = Uuid::from_u128(99);
        let forged_payload = B64.encode(serde_json::to_vec(&forged_claims).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(keys("k1").verify(&forged, 1500), Err(TokenError::BadSignature));

        let other = TokenKeys::new(HashMap::from([("k1".to_string(), vec![9u8; 32])]), "k1".into()).unwrap();
        assert_eq!(other.verify(&token, 1500), Err(TokenError::BadSignature));
        let unknown =
            TokenKeys::new(HashMap::from([("k9".to_string(), vec![9u8; 32])]), "k9".into()).unwrap();
        assert_eq!(unknown.verify(&token, 1500), Err(TokenError::UnknownKey));

        let none_alg = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
            parts[1]
        );
        assert_eq!(keys("k1").verify(&none_alg, 1500), Err(TokenError::Malformed));
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(
                keys("k1").verify(garbage, 1500),
                Err(TokenError::Malformed),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn short_keys_and_missing_active_keys_are_refused() {
        assert!(TokenKeys::new(HashMap::from([("k".to_string(), vec![0u8; 31])]), "k".into()).is_err());
        assert!(TokenKeys::new(HashMap::from([("k".to_string(), vec![0u8; 32])]), "x".into()).is_err());
    }

    #[test]
    fn tenant_tokens_name_their_tenant() {
        let tenant = Uuid::now_v7();
        let token = tenant_token(tenant);
        assert_eq!(parse_tenant_token(&token), Some(tenant));
        assert_eq!(parse_tenant_token("nonsense"), None);
        assert_eq!(parse_tenant_token(&format!("{}.short", tenant.simple())), None);
        assert_ne!(tenant_token(tenant), token, "secrets are random");
    }
}
