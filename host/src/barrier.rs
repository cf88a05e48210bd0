//! The security barrier: everything the server stores (but the seal configuration and
//! the two key blobs below) is encrypted here before it reaches the storage plugin.
//!
//! Format of a stored value, as Vault's (so its storage layout is recognisable and can be
//! decrypted offline with the unseal keys):
//!
//! ```text
//! [term: u32 big-endian][version: 0x02][nonce: 12 bytes][AES-256-GCM ciphertext ‖ tag]
//! ```
//!
//! with the storage key as associated data, so a value copied to another key does not
//! decrypt. The term names the keyring key that encrypted it; new writes use the newest
//! term, and older terms stay in the keyring so older values still decrypt.
//!
//! Key hierarchy: the unseal keys rebuild the key-encryption key (KEK); the KEK opens
//! `core/hsm/barrier-unseal-keys`, which holds the root key; the root key opens
//! `core/keyring`, which holds the term keys. Sealing drops (and zeroes) all of them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::storage::{Storage, StorageError};

/// Where the keyring lives (encrypted by the root key, not by a term key).
pub const KEYRING_KEY: &str = "core/keyring";
/// The barrier format version: AES-256-GCM with the storage key as associated data.
const VERSION_AEAD_WITH_PATH: u8 = 0x02;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 4 + 1 + NONCE_LEN;

/// A 32-byte key that is zeroed when dropped.
pub type Key = Zeroizing<[u8; 32]>;

/// Generates a random key from the OS generator.
pub fn random_key() -> Key {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    key
}

/// Barrier failures. None of them carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum BarrierError {
    /// The barrier holds no keys.
    #[error("Vault is sealed")]
    Sealed,
    /// A value failed authentication (wrong key, tampered, or moved to another key).
    #[error("failed to decrypt {key}: cipher: message authentication failed")]
    Decrypt {
        /// The storage key.
        key: String,
    },
    /// A value's header names a term the keyring does not have, or is malformed.
    #[error("cannot decrypt {key}: {reason}")]
    Format {
        /// The storage key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The storage backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Encrypts `plaintext` in Vault's barrier format.
pub fn seal_value(cipher: &Aes256Gcm, term: u32, aad: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    // A per-thread CSPRNG seeded from the OS: a getrandom syscall per write would cost
    // more than the encryption.
    rand::thread_rng().fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        // AES-GCM encryption only fails for inputs beyond 64 GiB, far above any request.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.extend_from_slice(&term.to_be_bytes());
    out.push(VERSION_AEAD_WITH_PATH);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Reads the term of a barrier value.
fn value_term(key: &str, value: &[u8]) -> Result<u32, BarrierError> {
    if value.len() < HEADER_LEN + 16 {
        return Err(BarrierError::Format {
            key: key.to_string(),
            reason: format!("value of {} bytes is too short", value.len()),
        });
    }
    if value[4] != VERSION_AEAD_WITH_PATH {
        return Err(BarrierError::Format {
            key: key.to_string(),
            reason: format!("unsupported barrier version {:#04x}", value[4]),
        });
    }
    Ok(u32::from_be_bytes([value[0], value[1], value[2], value[3]]))
}

/// Decrypts a barrier value with `cipher`, checking `aad`.
pub fn open_value(
    cipher: &Aes256Gcm,
    aad: &str,
    value: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
    value_term(aad, value)?;
    let nonce = Nonce::from_slice(&value[5..HEADER_LEN]);
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &value[HEADER_LEN..],
                aad: aad.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| BarrierError::Decrypt {
            key: aad.to_string(),
        })
}

/// One keyring entry in its stored form (Vault's field names).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredTerm {
    term: u32,
    version: u32,
    value: String,
    install_time: String,
}

impl Drop for StoredTerm {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

/// The keyring in its stored form.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredKeyring {
    master_key: String,
    keys: Vec<StoredTerm>,
}

impl Drop for StoredKeyring {
    fn drop(&mut self) {
        self.master_key.zeroize();
    }
}

struct TermKey {
    cipher: Aes256Gcm,
    /// Kept to write the keyring back; zeroed on drop.
    key: Key,
    install_time: String,
}

/// The keys in memory while unsealed.
struct Keyring {
    root_key: Key,
    terms: BTreeMap<u32, TermKey>,
    active: u32,
}

impl Keyring {
    fn to_stored(&self) -> StoredKeyring {
        let b64 = base64::engine::general_purpose::STANDARD;
        StoredKeyring {
            master_key: b64.encode(self.root_key.as_ref()),
            keys: self
                .terms
                .iter()
                .map(|(term, k)| StoredTerm {
                    term: *term,
                    version: 1,
                    value: b64.encode(k.key.as_ref()),
                    install_time: k.install_time.clone(),
                })
                .collect(),
        }
    }

    fn from_stored(stored: &StoredKeyring) -> Result<Keyring, String> {
        let root_key = decode_key(&stored.master_key).ok_or("keyring root key is malformed")?;
        let mut terms = BTreeMap::new();
        for t in &stored.keys {
            let key = decode_key(&t.value)
                .ok_or_else(|| format!("keyring term {} is malformed", t.term))?;
            terms.insert(
                t.term,
                TermKey {
                    cipher: Aes256Gcm::new(key.as_ref().into()),
                    key,
                    install_time: t.install_time.clone(),
                },
            );
        }
        let active = *terms.keys().next_back().ok_or("keyring holds no key")?;
        Ok(Keyring {
            root_key,
            terms,
            active,
        })
    }

    fn sealed_bytes(&self) -> Vec<u8> {
        let stored = self.to_stored();
        let json = Zeroizing::new(serde_json::to_vec(&stored).unwrap_or_default());
        let cipher = Aes256Gcm::new(self.root_key.as_ref().into());
        seal_value(&cipher, self.active, KEYRING_KEY, &json)
    }
}

fn decode_key(b64: &str) -> Option<Key> {
    let bytes = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(b64).ok()?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return None;
    }
    key.copy_from_slice(&bytes);
    Some(key)
}

/// What `sys/key-status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The active term.
    pub term: u32,
    /// When it was installed (RFC 3339).
    pub install_time: String,
    /// Encryptions with it since it was installed (in this process).
    pub encryptions: u64,
}

/// The barrier.
pub struct Barrier {
    storage: Storage,
    /// `None` while sealed. A std lock, never held across an await: encryption happens
    /// under it, storage I/O after it is released.
    keyring: RwLock<Option<Keyring>>,
    /// Encryptions under the active term since it was installed.
    encryptions: AtomicU64,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("sealed", &self.is_sealed())
            .finish()
    }
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

impl Barrier {
    /// A sealed barrier over `storage`.
    pub fn new(storage: Storage) -> Self {
        Barrier {
            storage,
            keyring: RwLock::new(None),
            encryptions: AtomicU64::new(0),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Keyring>> {
        // Every write to the lock replaces the whole Option, so a poisoned lock still
        // holds a consistent value.
        self.keyring.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<Keyring>> {
        self.keyring.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the barrier holds no keys.
    pub fn is_sealed(&self) -> bool {
        self.read().is_none()
    }

    /// Creates a keyring for `root_key` with one fresh term, stores it and unseals.
    pub async fn initialize(&self, root_key: &Key) -> Result<(), BarrierError> {
        let term_key = random_key();
        let keyring = Keyring {
            root_key: Zeroizing::new(**root_key),
            terms: BTreeMap::from([(
                1,
                TermKey {
                    cipher: Aes256Gcm::new(term_key.as_ref().into()),
                    key: term_key,
                    install_time: now_rfc3339(),
                },
            )]),
            active: 1,
        };
        let sealed = keyring.sealed_bytes();
        self.storage.put(KEYRING_KEY, sealed).await?;
        *self.write() = Some(keyring);
        self.encryptions.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Opens the stored keyring with `root_key` and unseals.
    pub async fn unseal(&self, root_key: &Key) -> Result<(), BarrierError> {
        let stored = self
            .storage
            .get(KEYRING_KEY)
            .await?
            .ok_or_else(|| BarrierError::Format {
                key: KEYRING_KEY.to_string(),
                reason: "no keyring in storage".to_string(),
            })?;
        let cipher = Aes256Gcm::new(root_key.as_ref().into());
        let json = open_value(&cipher, KEYRING_KEY, &stored)?;
        let parsed: StoredKeyring =
            serde_json::from_slice(&json).map_err(|e| BarrierError::Format {
                key: KEYRING_KEY.to_string(),
                reason: format!("keyring is not valid JSON: {e}"),
            })?;
        let keyring = Keyring::from_stored(&parsed).map_err(|reason| BarrierError::Format {
            key: KEYRING_KEY.to_string(),
            reason,
        })?;
        *self.write() = Some(keyring);
        Ok(())
    }

    /// Drops every key (their buffers zero themselves on drop).
    pub fn seal(&self) {
        *self.write() = None;
    }

    /// Adds a term that all new writes use, and stores the keyring.
    pub async fn rotate(&self) -> Result<u32, BarrierError> {
        let (term, sealed) = {
            let mut guard = self.write();
            let keyring = guard.as_mut().ok_or(BarrierError::Sealed)?;
            let term = keyring.active + 1;
            let key = random_key();
            keyring.terms.insert(
                term,
                TermKey {
                    cipher: Aes256Gcm::new(key.as_ref().into()),
                    key,
                    install_time: now_rfc3339(),
                },
            );
            keyring.active = term;
            (term, keyring.sealed_bytes())
        };
        self.encryptions.store(0, Ordering::Relaxed);
        self.storage.put(KEYRING_KEY, sealed).await?;
        Ok(term)
    }

    /// The active term and its statistics.
    pub fn key_status(&self) -> Result<KeyStatus, BarrierError> {
        let guard = self.read();
        let keyring = guard.as_ref().ok_or(BarrierError::Sealed)?;
        let install_time = keyring
            .terms
            .get(&keyring.active)
            .map(|t| t.install_time.clone())
            .unwrap_or_default();
        Ok(KeyStatus {
            term: keyring.active,
            install_time,
            encryptions: self.encryptions.load(Ordering::Relaxed),
        })
    }

    /// Encrypts and stores a value.
    pub async fn put(&self, key: &str, plaintext: &[u8]) -> Result<(), BarrierError> {
        let sealed = {
            let guard = self.read();
            let keyring = guard.as_ref().ok_or(BarrierError::Sealed)?;
            let active = keyring
                .terms
                .get(&keyring.active)
                .ok_or(BarrierError::Sealed)?;
            seal_value(&active.cipher, keyring.active, key, plaintext)
        };
        self.encryptions.fetch_add(1, Ordering::Relaxed);
        Ok(self.storage.put(key, sealed).await?)
    }

    /// Reads and decrypts a value.
    pub async fn get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, BarrierError> {
        if self.is_sealed() {
            return Err(BarrierError::Sealed);
        }
        let Some(stored) = self.storage.get(key).await? else {
            return Ok(None);
        };
        let term = value_term(key, &stored)?;
        let guard = self.read();
        let keyring = guard.as_ref().ok_or(BarrierError::Sealed)?;
        let term_key = keyring
            .terms
            .get(&term)
            .ok_or_else(|| BarrierError::Format {
                key: key.to_string(),
                reason: format!("unknown key term {term}"),
            })?;
        open_value(&term_key.cipher, key, &stored).map(Some)
    }

    /// Deletes a value.
    pub async fn delete(&self, key: &str) -> Result<(), BarrierError> {
        if self.is_sealed() {
            return Err(BarrierError::Sealed);
        }
        Ok(self.storage.delete(key).await?)
    }

    /// Lists keys (names are not encrypted, as in Vault).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        if self.is_sealed() {
            return Err(BarrierError::Sealed);
        }
        Ok(self.storage.list(prefix).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inmem() -> Storage {
        use vault_plugin_api::host::StorageHandle;
        let handle =
            StorageHandle::in_process::<vault_inmem::Inmem>(vault_plugin_api::Config::default())
                .unwrap();
        Storage::new("inmem", handle)
    }

    #[tokio::test]
    async fn values_are_encrypted_in_vaults_format_and_bound_to_their_key() {
        let storage = inmem();
        let barrier = Barrier::new(storage.clone());
        let root = random_key();
        barrier.initialize(&root).await.unwrap();
        barrier.put("logical/a", b"secret value").await.unwrap();
        let raw = storage.get("logical/a").await.unwrap().unwrap();
        assert_eq!(&raw[..5], &[0, 0, 0, 1, 2], "term 1, version 2");
        assert_eq!(
            raw.len(),
            b"secret value".len() + 33,
            "33 bytes of overhead"
        );
        assert!(!raw.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            barrier.get("logical/a").await.unwrap().unwrap().as_slice(),
            b"secret value"
        );

        // Copied to another key, the value no longer authenticates.
        storage.put("logical/b", raw).await.unwrap();
        assert!(matches!(
            barrier.get("logical/b").await,
            Err(BarrierError::Decrypt { .. })
        ));
    }

    #[tokio::test]
    async fn rotation_keeps_old_terms_readable_and_sealing_forgets_everything() {
        let storage = inmem();
        let barrier = Barrier::new(storage.clone());
        let root = random_key();
        barrier.initialize(&root).await.unwrap();
        barrier.put("k1", b"one").await.unwrap();
        assert_eq!(barrier.rotate().await.unwrap(), 2);
        barrier.put("k2", b"two").await.unwrap();
        assert_eq!(
            &storage.get("k2").await.unwrap().unwrap()[..4],
            &[0, 0, 0, 2]
        );
        let status = barrier.key_status().unwrap();
        assert_eq!((status.term, status.encryptions), (2, 1));

        barrier.seal();
        assert!(matches!(barrier.get("k1").await, Err(BarrierError::Sealed)));
        assert!(matches!(
            barrier.put("k3", b"x").await,
            Err(BarrierError::Sealed)
        ));

        // A fresh barrier with the root key reads both terms.
        let reopened = Barrier::new(storage.clone());
        reopened.unseal(&root).await.unwrap();
        assert_eq!(
            reopened.get("k1").await.unwrap().unwrap().as_slice(),
            b"one"
        );
        assert_eq!(
            reopened.get("k2").await.unwrap().unwrap().as_slice(),
            b"two"
        );

        // The wrong root key does not open the keyring.
        let wrong = Barrier::new(storage);
        assert!(matches!(
            wrong.unseal(&random_key()).await,
            Err(BarrierError::Decrypt { .. })
        ));
        assert!(wrong.is_sealed());
    }

    #[tokio::test]
    async fn keyring_is_stored_in_vaults_json_shape() {
        let storage = inmem();
        let barrier = Barrier::new(storage.clone());
        let root = random_key();
        barrier.initialize(&root).await.unwrap();
        let raw = storage.get(KEYRING_KEY).await.unwrap().unwrap();
        let json = open_value(&Aes256Gcm::new(root.as_ref().into()), KEYRING_KEY, &raw).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert!(v["MasterKey"].is_string());
        assert_eq!(v["Keys"][0]["Term"], 1);
        assert_eq!(v["Keys"][0]["Version"], 1);
        assert!(v["Keys"][0]["InstallTime"].as_str().unwrap().ends_with('Z'));
    }
}
