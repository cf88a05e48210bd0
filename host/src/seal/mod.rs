//! The Shamir seal: init, unseal progress, seal, and rekey (new unseal keys).
//!
//! Stored layout (Vault's keys):
//! - `core/seal-config`: plaintext JSON (type, shares, threshold), readable while sealed;
//! - `core/hsm/barrier-unseal-keys`: `nonce ‖ AES-256-GCM(KEK, ["<b64 root key>"])`,
//!   sealed by the key-encryption key that the unseal keys rebuild (Vault wraps the same
//!   bytes in a protobuf envelope; this server stores them bare);
//! - the keyring, sealed by the root key (see [`crate::barrier`]).
//!
//! Unseal keys are Shamir shares of the KEK (33 bytes for a 32-byte key, x coordinate
//! last); with one share, the key is the KEK itself.

pub mod shamir;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::barrier::{random_key, Barrier, BarrierError, Key};
use crate::storage::{Storage, StorageError};

/// Where the plaintext seal configuration lives; its presence means "initialised".
pub const SEAL_CONFIG_KEY: &str = "core/seal-config";
/// Where the KEK-sealed root key lives.
pub const UNSEAL_KEYS_KEY: &str = "core/hsm/barrier-unseal-keys";

/// The seal configuration, stored in plain text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealConfig {
    /// Always `shamir`.
    #[serde(rename = "type")]
    pub seal_type: String,
    /// How many unseal keys exist.
    pub secret_shares: u32,
    /// How many unseal keys unseal.
    pub secret_threshold: u32,
    /// Unused (no PGP encryption of shares); kept for Vault's shape.
    pub pgp_keys: Option<Vec<String>>,
    /// Unused; kept for Vault's shape.
    pub nonce: String,
    /// Unused; kept for Vault's shape.
    pub backup: bool,
}

impl SealConfig {
    /// Validates shares and threshold with Vault's rules and messages.
    pub fn new(shares: i64, threshold: i64) -> Result<SealConfig, SealError> {
        let invalid = |m: &str| SealError::InvalidConfig(m.to_string());
        if shares < 1 {
            return Err(invalid("shares must be at least one"));
        }
        if threshold < 1 {
            return Err(invalid("threshold must be at least one"));
        }
        if shares > 255 {
            return Err(invalid("shares must be less than 256"));
        }
        if threshold > shares {
            return Err(invalid("threshold cannot be larger than shares"));
        }
        if shares > 1 && threshold == 1 {
            return Err(invalid(
                "threshold must be greater than one for multiple shares",
            ));
        }
        Ok(SealConfig {
            seal_type: "shamir".to_string(),
            secret_shares: shares as u32,
            secret_threshold: threshold as u32,
            pgp_keys: None,
            nonce: String::new(),
            backup: false,
        })
    }
}

/// Lifecycle failures, each with Vault's message.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Init on initialised storage.
    #[error("Vault is already initialized")]
    AlreadyInitialized,
    /// Unseal or rekey before init.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// Shares/threshold out of range.
    #[error("invalid seal configuration: {0}")]
    InvalidConfig(String),
    /// A key that is not hex or base64, or of the wrong size (progress is kept).
    #[error("{0}")]
    MalformedKey(String),
    /// The threshold was reached and the keys were wrong (progress is reset).
    #[error("{0}")]
    WrongKeys(String),
    /// `reset` while unsealed.
    #[error("vault is unsealed")]
    Unsealed,
    /// A rekey request that does not fit the rekey in progress.
    #[error("{0}")]
    Rekey(String),
    /// Storage or barrier failure.
    #[error(transparent)]
    Barrier(#[from] BarrierError),
}

impl From<StorageError> for SealError {
    fn from(e: StorageError) -> Self {
        SealError::Barrier(BarrierError::Storage(e))
    }
}

/// Decodes an unseal key: hex first, then base64, then checks its size.
pub fn decode_key(input: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let trimmed = input.trim();
    let bytes = hex::decode(trimmed)
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::STANDARD
                .decode(trimmed)
                .ok()
        })
        .map(Zeroizing::new)
        .ok_or_else(|| {
            SealError::MalformedKey("'key' must be a valid hex or base64 string".into())
        })?;
    if bytes.len() < 16 {
        return Err(SealError::MalformedKey(
            "invalid key: key is shorter than minimum 16 bytes".into(),
        ));
    }
    if bytes.len() > 33 {
        return Err(SealError::MalformedKey(
            "invalid key: key is longer than maximum 33 bytes".into(),
        ));
    }
    Ok(bytes)
}

/// Reads the seal configuration (`None`: not initialised).
pub async fn read_config(storage: &Storage) -> Result<Option<SealConfig>, SealError> {
    let Some(raw) = storage.get(SEAL_CONFIG_KEY).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&raw).map(Some).map_err(|e| {
        SealError::Barrier(BarrierError::Format {
            key: SEAL_CONFIG_KEY.to_string(),
            reason: format!("seal configuration is not valid JSON: {e}"),
        })
    })
}

async fn write_config(storage: &Storage, config: &SealConfig) -> Result<(), SealError> {
    let json = serde_json::to_vec(config).unwrap_or_default();
    Ok(storage.put(SEAL_CONFIG_KEY, json).await?)
}

/// Splits the KEK into unseal keys (the KEK itself for a single share).
fn split_kek(kek: &Key, config: &SealConfig) -> Result<Vec<Zeroizing<Vec<u8>>>, SealError> {
    if config.secret_shares == 1 {
        return Ok(vec![Zeroizing::new(kek.to_vec())]);
    }
    shamir::split(
        kek.as_ref(),
        config.secret_shares as usize,
        config.secret_threshold as usize,
    )
    .map_err(|e| SealError::InvalidConfig(e.to_string()))
}

/// Rebuilds the KEK from a threshold of keys.
fn combine_kek(keys: &[Zeroizing<Vec<u8>>], config: &SealConfig) -> Result<Key, SealError> {
    let combined = if config.secret_threshold == 1 {
        keys.first().cloned().unwrap_or_default()
    } else {
        let parts: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        shamir::combine(&parts).map_err(|e| {
            SealError::WrongKeys(format!("invalid key: failed to compute combined key: {e}"))
        })?
    };
    if combined.len() != 32 {
        return Err(SealError::WrongKeys(
            "unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: cipher: message authentication failed".into(),
        ));
    }
    let mut kek = Zeroizing::new([0u8; 32]);
    kek.copy_from_slice(&combined);
    Ok(kek)
}

/// Seals the root key under the KEK.
async fn store_root_key(storage: &Storage, kek: &Key, root_key: &Key) -> Result<(), SealError> {
    let plaintext = Zeroizing::new(
        serde_json::to_vec(&[base64::engine::general_purpose::STANDARD.encode(root_key.as_ref())])
            .unwrap_or_default(),
    );
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let cipher = Aes256Gcm::new(kek.as_ref().into());
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext.as_slice())
        .unwrap_or_default();
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&ciphertext);
    Ok(storage.put(UNSEAL_KEYS_KEY, blob).await?)
}

/// Opens the root key with a KEK; a wrong KEK fails authentication.
async fn load_root_key(storage: &Storage, kek: &Key) -> Result<Key, SealError> {
    let wrong = || {
        SealError::WrongKeys(
            "unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: cipher: message authentication failed"
                .into(),
        )
    };
    let blob = storage
        .get(UNSEAL_KEYS_KEY)
        .await?
        .ok_or(SealError::NotInitialized)?;
    if blob.len() < 12 + 16 {
        return Err(wrong());
    }
    let cipher = Aes256Gcm::new(kek.as_ref().into());
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(Nonce::from_slice(&blob[..12]), &blob[12..])
            .map_err(|_| wrong())?,
    );
    let keys: Vec<Zeroizing<String>> = serde_json::from_slice::<Vec<String>>(&plaintext)
        .map_err(|_| wrong())?
        .into_iter()
        .map(Zeroizing::new)
        .collect();
    let decoded = keys
        .first()
        .and_then(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(k.as_bytes())
                .ok()
        })
        .map(Zeroizing::new)
        .filter(|k| k.len() == 32)
        .ok_or_else(wrong)?;
    let mut root = Zeroizing::new([0u8; 32]);
    root.copy_from_slice(&decoded);
    Ok(root)
}

/// The unseal keys made by init or rekey.
pub struct NewKeys {
    /// The keys, in order.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
}

impl NewKeys {
    /// Hex encodings.
    pub fn hex(&self) -> Vec<String> {
        self.keys.iter().map(hex::encode).collect()
    }
    /// Base64 encodings.
    pub fn base64(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| base64::engine::general_purpose::STANDARD.encode(k.as_slice()))
            .collect()
    }
}

/// Creates the keys of brand-new storage and leaves the barrier unsealed (the caller
/// finishes set-up, then seals).
pub async fn initialize(
    storage: &Storage,
    barrier: &Barrier,
    config: &SealConfig,
) -> Result<NewKeys, SealError> {
    if read_config(storage).await?.is_some() {
        return Err(SealError::AlreadyInitialized);
    }
    let kek = random_key();
    let root_key = random_key();
    let keys = split_kek(&kek, config)?;
    barrier.initialize(&root_key).await?;
    store_root_key(storage, &kek, &root_key).await?;
    // Written last: until it exists the storage counts as uninitialised, so a crash in the
    // middle of init leaves storage that can be initialised again.
    write_config(storage, config).await?;
    Ok(NewKeys { keys })
}

/// Progress of an unseal or a rekey: distinct keys given so far, and the attempt's nonce.
#[derive(Default)]
pub struct Progress {
    /// The attempt's id (a UUID), empty when no key was given.
    pub nonce: String,
    keys: Vec<Zeroizing<Vec<u8>>>,
}

impl Progress {
    /// How many distinct keys were given.
    pub fn count(&self) -> usize {
        self.keys.len()
    }

    /// Forgets every key.
    pub fn reset(&mut self) {
        self.keys.clear();
        self.nonce.clear();
    }

    /// Whether `key` was already given, compared in constant time.
    fn contains(&self, key: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.keys
            .iter()
            .any(|k| k.len() == key.len() && bool::from(k.as_slice().ct_eq(key)))
    }

    /// Adds a key; `false` when it was already given (compared after decoding).
    fn add(&mut self, key: Zeroizing<Vec<u8>>) -> bool {
        if self.contains(&key) {
            return false;
        }
        if self.nonce.is_empty() {
            self.nonce = uuid::Uuid::new_v4().to_string();
        }
        self.keys.push(key);
        true
    }
}

/// Adds an unseal key; once `threshold` distinct keys are in, rebuilds the KEK and
/// unseals the barrier. On wrong keys the progress resets.
pub async fn submit_unseal_key(
    storage: &Storage,
    barrier: &Barrier,
    config: &SealConfig,
    progress: &mut Progress,
    key: Zeroizing<Vec<u8>>,
) -> Result<(), SealError> {
    progress.add(key);
    if progress.count() < config.secret_threshold as usize {
        return Ok(());
    }
    let result = async {
        let kek = combine_kek(&progress.keys, config)?;
        let root_key = load_root_key(storage, &kek).await?;
        barrier.unseal(&root_key).await?;
        Ok(())
    }
    .await;
    progress.reset();
    result
}

/// A rekey in progress: the new configuration and the current keys given so far.
pub struct Rekey {
    /// The new shares and threshold.
    pub config: SealConfig,
    /// Current keys given so far.
    pub progress: Progress,
}

impl Rekey {
    /// Starts a rekey to `config`, with a fresh nonce.
    pub fn start(config: SealConfig) -> Rekey {
        Rekey {
            config,
            progress: Progress {
                nonce: uuid::Uuid::new_v4().to_string(),
                keys: Vec::new(),
            },
        }
    }
}

/// Adds a current key to a rekey; at the current threshold, replaces the unseal keys.
/// Returns the new keys when complete.
pub async fn submit_rekey_key(
    storage: &Storage,
    current: &SealConfig,
    rekey: &mut Rekey,
    nonce: &str,
    key: Zeroizing<Vec<u8>>,
) -> Result<Option<NewKeys>, SealError> {
    if nonce != rekey.progress.nonce {
        return Err(SealError::Rekey(format!(
            "incorrect nonce supplied; nonce for rotation is {:?}",
            rekey.progress.nonce
        )));
    }
    if rekey
        .progress
        .keys
        .iter()
        .any(|k| k.as_slice() == key.as_slice())
    {
        return Err(SealError::Rekey(
            "given key has already been provided during this rotation".into(),
        ));
    }
    rekey.progress.keys.push(key);
    if rekey.progress.count() < current.secret_threshold as usize {
        return Ok(None);
    }
    let result = async {
        let kek = combine_kek(&rekey.progress.keys, current)?;
        let root_key = load_root_key(storage, &kek).await?;
        let new_kek = random_key();
        let keys = split_kek(&new_kek, &rekey.config)?;
        store_root_key(storage, &new_kek, &root_key).await?;
        write_config(storage, &rekey.config).await?;
        Ok(NewKeys { keys })
    }
    .await;
    rekey.progress.keys.clear();
    result.map(Some)
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

    #[test]
    fn config_rules_and_messages_match_vault() {
        let msg = |s, t| SealConfig::new(s, t).unwrap_err().to_string();
        assert_eq!(
            msg(3, 5),
            "invalid seal configuration: threshold cannot be larger than shares"
        );
        assert_eq!(
            msg(5, 1),
            "invalid seal configuration: threshold must be greater than one for multiple shares"
        );
        assert_eq!(
            msg(0, 0),
            "invalid seal configuration: shares must be at least one"
        );
        assert_eq!(
            msg(5, 0),
            "invalid seal configuration: threshold must be at least one"
        );
        assert_eq!(
            msg(256, 3),
            "invalid seal configuration: shares must be less than 256"
        );
        assert!(SealConfig::new(1, 1).is_ok());
        assert!(SealConfig::new(255, 255).is_ok());
    }

    #[test]
    fn keys_decode_from_hex_or_base64_with_size_limits() {
        let raw = [7u8; 33];
        assert_eq!(decode_key(&hex::encode(raw)).unwrap().as_slice(), raw);
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(decode_key(&b64).unwrap().as_slice(), raw);
        assert!(decode_key("zzzz-not-a-key")
            .unwrap_err()
            .to_string()
            .contains("valid hex or base64"));
        assert!(decode_key("abcd")
            .unwrap_err()
            .to_string()
            .contains("shorter than minimum 16 bytes"));
        assert!(decode_key(&hex::encode([1u8; 34]))
            .unwrap_err()
            .to_string()
            .contains("longer than maximum 33"));
    }

    #[tokio::test]
    async fn init_unseal_rekey_round_trip() {
        let storage = inmem();
        let barrier = Barrier::new(storage.clone());
        let config = SealConfig::new(5, 3).unwrap();
        let keys = initialize(&storage, &barrier, &config).await.unwrap();
        assert_eq!(keys.keys.len(), 5);
        assert!(keys.keys.iter().all(|k| k.len() == 33));
        barrier.put("data", b"kept").await.unwrap();
        barrier.seal();
        assert!(matches!(
            initialize(&storage, &barrier, &config).await,
            Err(SealError::AlreadyInitialized)
        ));

        // Duplicates add nothing; three distinct keys unseal.
        let mut progress = Progress::default();
        for k in [&keys.keys[4], &keys.keys[4], &keys.keys[0]] {
            submit_unseal_key(&storage, &barrier, &config, &mut progress, k.clone())
                .await
                .unwrap();
        }
        assert_eq!(progress.count(), 2);
        assert!(barrier.is_sealed());
        submit_unseal_key(
            &storage,
            &barrier,
            &config,
            &mut progress,
            keys.keys[2].clone(),
        )
        .await
        .unwrap();
        assert!(!barrier.is_sealed());
        assert_eq!(progress.count(), 0);
        barrier.seal();

        // Wrong keys at the threshold: an error, and progress resets.
        let mut bogus = keys.keys[1].to_vec();
        bogus[0] ^= 1;
        for k in [keys.keys[0].to_vec(), keys.keys[2].to_vec()] {
            submit_unseal_key(
                &storage,
                &barrier,
                &config,
                &mut progress,
                Zeroizing::new(k),
            )
            .await
            .unwrap();
        }
        let err = submit_unseal_key(
            &storage,
            &barrier,
            &config,
            &mut progress,
            Zeroizing::new(bogus),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("message authentication failed"),
            "{err}"
        );
        assert_eq!(progress.count(), 0);
        assert!(barrier.is_sealed());

        // Rekey to 3/2: the old keys stop working, the data stays readable.
        let new_config = SealConfig::new(3, 2).unwrap();
        let mut rekey = Rekey::start(new_config.clone());
        let nonce = rekey.progress.nonce.clone();
        assert!(
            submit_rekey_key(&storage, &config, &mut rekey, "wrong", keys.keys[0].clone())
                .await
                .is_err()
        );
        let mut done = None;
        for k in &keys.keys[..3] {
            done = submit_rekey_key(&storage, &config, &mut rekey, &nonce, k.clone())
                .await
                .unwrap();
        }
        let new_keys = done.expect("complete after three keys");
        assert_eq!(new_keys.keys.len(), 3);
        let stored = read_config(&storage).await.unwrap().unwrap();
        assert_eq!((stored.secret_shares, stored.secret_threshold), (3, 2));

        let mut progress = Progress::default();
        for k in &keys.keys[..2] {
            let _ = submit_unseal_key(&storage, &barrier, &stored, &mut progress, k.clone()).await;
        }
        assert!(barrier.is_sealed(), "old keys no longer unseal");
        for k in &new_keys.keys[1..] {
            submit_unseal_key(&storage, &barrier, &stored, &mut progress, k.clone())
                .await
                .unwrap();
        }
        assert!(!barrier.is_sealed());
        assert_eq!(
            barrier.get("data").await.unwrap().unwrap().as_slice(),
            b"kept"
        );
    }

    #[tokio::test]
    async fn a_single_share_is_the_key_itself() {
        let storage = inmem();
        let barrier = Barrier::new(storage.clone());
        let config = SealConfig::new(1, 1).unwrap();
        let keys = initialize(&storage, &barrier, &config).await.unwrap();
        assert_eq!(keys.keys[0].len(), 32);
        barrier.seal();
        let mut progress = Progress::default();
        submit_unseal_key(
            &storage,
            &barrier,
            &config,
            &mut progress,
            keys.keys[0].clone(),
        )
        .await
        .unwrap();
        assert!(!barrier.is_sealed());
    }
}
