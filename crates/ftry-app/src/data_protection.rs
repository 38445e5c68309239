//! Personal data at rest (`[data_protection]`): values such as a client's
//! phone and email are sealed with AES-256-GCM under a random 96-bit nonce,
//! and each ciphertext names the key that sealed it, so keys rotate without
//! re-encrypting anything: new values use the active key, old ones open with
//! whichever key they name. A blind index (HMAC-SHA256 under a separate key)
//! finds a value by exact match without decrypting anything.
//!
//! The keys never live in the database they protect: they come from the
//! configuration, or, for the embedded database only, from a key file that is
//! generated once under the data directory.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::settings::Secret;
use crate::tokens::random_bytes;

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataProtectionSettings {
    /// Encryption keys by id, each the base64 of 32 random bytes. Empty =
    /// generated once into data_dir/keys (embedded database only).
    pub keys: Vec<DataKey>,
    /// Id of the key that seals new values (default: the last listed).
    pub active_key: Option<String>,
    /// Key of the blind indexes (base64 of 32 bytes), apart from the encryption keys.
    pub index_key: Option<Secret>,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataKey {
    pub id: String,
    pub secret: Secret,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey {{ id: {:?}, secret: REDACTED }}", self.id)
    }
}

/// A sealed value: `nonce || ciphertext || tag`, and the id of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsealError {
    #[error("the value was sealed with key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("the value is damaged or belongs elsewhere (authentication failed)")]
    Tampered,
}

/// The configured keys, ready to seal, open and index.
#[derive(Clone)]
pub struct DataProtection {
    ciphers: Arc<HashMap<String, Aes256Gcm>>,
    active: String,
    index: Arc<Hmac<Sha256>>,
}

impl fmt::Debug for DataProtection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DataProtection {{ active: {:?}, keys: REDACTED }}",
            self.active
        )
    }
}

fn key_id_is_valid(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn key_bytes(secret: &Secret, key: &str) -> Result<Vec<u8>, String> {
    match B64.decode(secret.expose().trim()) {
        Ok(bytes) if bytes.len() == KEY_LEN => Ok(bytes),
        _ => Err(format!(
            "{key}: expected the base64 of exactly 32 random bytes (e.g. `openssl rand -base64 32`)"
        )),
    }
}

impl DataProtection {
    /// Check the settings; every error names the key at fault.
    pub fn new(settings: &DataProtectionSettings) -> Result<Self, String> {
        if settings.keys.is_empty() {
            return Err("data_protection.keys: expected at least one key, \
                        e.g. [{ id = \"2026-11\", secret = \"<base64 of 32 bytes>\" }]"
                .into());
        }
        let mut ciphers = HashMap::new();
        for key in &settings.keys {
            if !key_id_is_valid(&key.id) {
                return Err(format!(
                    "data_protection.keys: key id `{}` must be 1-64 letters, digits, `.`, `_` or `-`",
                    key.id
                ));
            }
            let bytes = key_bytes(&key.secret, &format!("data_protection.keys (key `{}`)", key.id))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|e| e.to_string())?;
            if ciphers.insert(key.id.clone(), cipher).is_some() {
                return Err(format!(
                    "data_protection.keys: key id `{}` is listed twice",
                    key.id
                ));
            }
        }
        let active = match &settings.active_key {
            Some(id) if ciphers.contains_key(id) => id.clone(),
            Some(_) => {
                return Err(
                    "data_protection.active_key: expected the id of one of data_protection.keys".into(),
                )
            }
            None => settings.keys.last().map(|k| k.id.clone()).unwrap_or_default(),
        };
        let index_key = settings.index_key.as_ref().ok_or(
            "data_protection.index_key: expected the base64 of 32 random bytes, apart from the keys",
        )?;
        let index_bytes = key_bytes(index_key, "data_protection.index_key")?;
        if settings
            .keys
            .iter()
            .any(|k| B64.decode(k.secret.expose().trim()).ok().as_deref() == Some(&index_bytes[..]))
        {
            return Err(
                "data_protection.index_key: expected a key of its own, not one of data_protection.keys"
                    .into(),
            );
        }
        let index = <Hmac<Sha256> as Mac>::new_from_slice(&index_bytes).map_err(|e| e.to_string())?;
        Ok(Self {
            ciphers: Arc::new(ciphers),
            active,
            index: Arc::new(index),
        })
    }

    /// The configured keys, or for the embedded database (`generated` is the
    /// key file's path) the generated ones. An external database without
    /// configured keys is refused: its keys must not live beside its data.
    pub fn resolve(settings: &DataProtectionSettings, generated: Option<&Path>) -> Result<Self, String> {
        let configured = !settings.keys.is_empty() || settings.index_key.is_some();
        match generated {
            _ if configured => Self::new(settings),
            Some(path) => Self::new(&load_or_generate(path)?),
            None => Err(
                "data_protection.keys: with an external database the data-protection keys must \
                         be configured (data_protection.keys, data_protection.index_key), never kept in the \
                         database they protect"
                    .into(),
            ),
        }
    }

    /// The id of the key that seals new values.
    pub fn active_key(&self) -> &str {
        &self.active
    }

    /// Seal `plaintext` with the active key. `context` names where the value
    /// belongs (e.g. tenant, record and field): a ciphertext moved to another
    /// place no longer opens.
    pub fn seal(&self, plaintext: &str, context: &str) -> Sealed {
        let nonce = random_bytes(NONCE_LEN);
        let cipher = &self.ciphers[&self.active];
        // Encryption fails only for messages of gigabytes; ours are short fields.
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut bytes = nonce;
        bytes.extend_from_slice(&ciphertext);
        Sealed {
            key_id: self.active.clone(),
            bytes,
        }
    }

    /// Open a sealed value with the key it names, in the context it was sealed for.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<String, UnsealError> {
        let cipher = self
            .ciphers
            .get(&sealed.key_id)
            .ok_or_else(|| UnsealError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.bytes.len() < NONCE_LEN {
            return Err(UnsealError::Tampered);
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let plaintext = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| UnsealError::Tampered)?;
        String::from_utf8(plaintext).map_err(|_| UnsealError::Tampered)
    }

    /// The blind index of a normalized value (an E.164 phone, a lowercase
    /// email). The field and the tenant are part of the input, so equal values
    /// match only within one field of one business and cannot be linked
    /// across businesses.
    pub fn blind_index(&self, field: &str, tenant_id: Uuid, normalized: &str) -> Vec<u8> {
        let mut mac = (*self.index).clone();
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(tenant_id.as_bytes());
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// Read the generated key file, or create it (mode 0600, in a 0700
/// directory) with fresh keys on first start.
fn load_or_generate(path: &Path) -> Result<DataProtectionSettings, String> {
    let shown = path.display();
    if !path.exists() {
        let key = B64.encode(random_bytes(KEY_LEN));
        let index = B64.encode(random_bytes(KEY_LEN));
        let text = format!(
            "# ftry data-protection keys, generated on first start. Without this file the\n\
             # clients' phone numbers and emails cannot be read: back it up apart from the\n\
             # database backups.\n\
             keys = [{{ id = \"local-1\", secret = \"{key}\" }}]\n\
             active_key = \"local-1\"\n\
             index_key = \"{index}\"\n"
        );
        create_private(path, &text).map_err(|e| format!("data_protection: cannot create {shown}: {e}"))?;
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("data_protection: cannot read {shown}: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("data_protection: {shown} is not a valid key file: {e}"))
}

fn create_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    // create_new: a second process starting at the same moment keeps the first one's keys.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, fill: u8) -> DataKey {
        DataKey {
            id: id.into(),
            secret: Secret::new(B64.encode([fill; KEY_LEN])),
        }
    }

    fn settings(keys: Vec<DataKey>, active: Option<&str>) -> DataProtectionSettings {
        DataProtectionSettings {
            keys,
            active_key: active.map(str::to_owned),
            index_key: Some(Secret::new(B64.encode([9u8; KEY_LEN]))),
        }
    }

    fn protection() -> DataProtection {
        DataProtection::new(&settings(vec![key("k1", 1)], None)).unwrap()
    }

    #[test]
    fn sealed_values_open_to_the_same_text_and_hide_it() {
        let dp = protection();
        let sealed = dp.seal("+919876543210", "ctx");
        assert_eq!(sealed.key_id, "k1");
        assert_eq!(sealed.bytes.len(), NONCE_LEN + "+919876543210".len() + 16);
        assert!(!sealed.bytes.windows(4).any(|w| w == b"9876"));
        assert_eq!(dp.open(&sealed, "ctx").unwrap(), "+919876543210");
        // A fresh nonce each time: equal texts never give equal ciphertexts.
        assert_ne!(dp.seal("+919876543210", "ctx").bytes, sealed.bytes);
    }

    #[test]
    fn a_changed_byte_or_another_context_is_detected() {
        let dp = protection();
        let sealed = dp.seal("priya@example.in", "tenant-a/client-1/email");
        for i in 0..sealed.bytes.len() {
            let mut damaged = sealed.clone();
            damaged.bytes[i] ^= 0x01;
            assert_eq!(
                dp.open(&damaged, "tenant-a/client-1/email"),
                Err(UnsealError::Tampered),
                "byte {i}"
            );
        }
        assert_eq!(
            dp.open(&sealed, "tenant-a/client-2/email"),
            Err(UnsealError::Tampered)
        );
        let truncated = Sealed {
            key_id: "k1".into(),
            bytes: sealed.bytes[..5].to_vec(),
        };
        assert_eq!(
            dp.open(&truncated, "tenant-a/client-1/email"),
            Err(UnsealError::Tampered)
        );
    }

    #[test]
    fn old_values_still_open_after_a_new_key_becomes_active() {
        let before = DataProtection::new(&settings(vec![key("2026-01", 1)], None)).unwrap();
        let old = before.seal("+919876543210", "ctx");
        let after = DataProtection::new(&settings(
            vec![key("2026-01", 1), key("2026-06", 2)],
            Some("2026-06"),
        ))
        .unwrap();
        let new = after.seal("+919876543210", "ctx");
        assert_eq!(new.key_id, "2026-06");
        assert_eq!(after.open(&old, "ctx").unwrap(), "+919876543210");
        assert_eq!(after.open(&new, "ctx").unwrap(), "+919876543210");
        // Once the old key is removed, its values name a key nobody has.
        let retired = DataProtection::new(&settings(vec![key("2026-06", 2)], None)).unwrap();
        assert_eq!(
            retired.open(&old, "ctx"),
            Err(UnsealError::UnknownKey("2026-01".into()))
        );
        // A value that names another key does not open with that key.
        let renamed = Sealed {
            key_id: "2026-06".into(),
            ..old
        };
        assert_eq!(after.open(&renamed, "ctx"), Err(UnsealError::Tampered));
    }

    #[test]
    fn equal_normalized_values_share_an_index_within_one_field_and_business() {
        use ftry_domain::contact::{Email, Phone};
        let dp = protection();
        let tenant = Uuid::now_v7();
        let a = Phone::parse("98765 43210").unwrap();
        let b = Phone::parse("+91 (98765) 43210").unwrap();
        let index = |p: &Phone| dp.blind_index("phone", tenant, p.as_str());
        assert_eq!(index(&a), index(&b));
        assert_eq!(index(&a).len(), 32);
        assert_ne!(index(&a), index(&Phone::parse("98765 43211").unwrap()));
        assert_ne!(index(&a), dp.blind_index("phone", Uuid::now_v7(), a.as_str()));
        assert_ne!(index(&a), dp.blind_index("email", tenant, a.as_str()));
        let email = |e: &str| dp.blind_index("email", tenant, Email::parse(e).unwrap().as_str());
        assert_eq!(email("Priya@Example.in "), email("priya@example.IN"));
        // Another index key gives unrelated indexes.
        let mut other = settings(vec![key("k1", 1)], None);
        other.index_key = Some(Secret::new(B64.encode([7u8; KEY_LEN])));
        let other = DataProtection::new(&other).unwrap();
        assert_ne!(index(&a), other.blind_index("phone", tenant, a.as_str()));
    }

    #[test]
    fn bad_settings_name_the_key_at_fault() {
        let error = |s: DataProtectionSettings| DataProtection::new(&s).unwrap_err();
        assert!(error(settings(vec![], None)).starts_with("data_protection.keys:"));
        let short = DataKey {
            id: "k1".into(),
            secret: Secret::new(B64.encode([1u8; 16])),
        };
        assert!(error(settings(vec![short], None)).starts_with("data_protection.keys (key `k1`):"));
        assert!(error(settings(vec![key("k 1", 1)], None)).starts_with("data_protection.keys:"));
        assert!(error(settings(vec![key("k1", 1), key("k1", 2)], None)).contains("listed twice"));
        assert!(error(settings(vec![key("k1", 1)], Some("k2"))).starts_with("data_protection.active_key:"));
        let mut no_index = settings(vec![key("k1", 1)], None);
        no_index.index_key = None;
        assert!(error(no_index).starts_with("data_protection.index_key:"));
        let mut shared = settings(vec![key("k1", 9)], None);
        shared.index_key = Some(Secret::new(B64.encode([9u8; KEY_LEN])));
        assert!(error(shared).starts_with("data_protection.index_key:"));
        assert!(DataProtection::resolve(&DataProtectionSettings::default(), None)
            .unwrap_err()
            .starts_with("data_protection.keys:"));
    }

    #[test]
    fn printed_settings_never_show_a_secret() {
        let s = settings(vec![key("k1", 1)], None);
        let secret = s.keys[0].secret.expose().to_owned();
        assert!(!format!("{s:?}").contains(&secret));
        assert!(!format!("{:?}", protection()).contains(&secret));
        assert!(!toml::to_string(&s).unwrap().contains(&secret));
    }

    #[test]
    fn the_embedded_key_file_is_generated_once_privately_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("data-protection.toml");
        let first = DataProtection::resolve(&DataProtectionSettings::default(), Some(&path)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let sealed = first.seal("+919876543210", "ctx");
        let second = DataProtection::resolve(&DataProtectionSettings::default(), Some(&path)).unwrap();
        assert_eq!(second.open(&sealed, "ctx").unwrap(), "+919876543210");
        let tenant = Uuid::now_v7();
        assert_eq!(
            first.blind_index("phone", tenant, "+919876543210"),
            second.blind_index("phone", tenant, "+919876543210")
        );
        // Configured keys win over the file.
        let configured = DataProtection::resolve(&settings(vec![key("k1", 1)], None), Some(&path)).unwrap();
        assert_eq!(configured.active_key(), "k1");
    }
}
