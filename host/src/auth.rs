//! Tokens. IDs are never stored: an entry lives under `sys/token/id/h<hex>`, where the
//! hex is HMAC-SHA256 of the token with a per-server salt (Vault's layout), so a copy of
//! the storage does not hand out working tokens even with the unseal keys.
//!
//! This module holds what the seal lifecycle needs (the root token made at init, and
//! lookups to authorise `sys/seal` and friends); the token issue builds the rest of the
//! token store (children, TTLs, accessors, revocation trees) on the same layout.

use std::sync::RwLock;

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::barrier::{Barrier, BarrierError};

const SALT_KEY: &str = "sys/token/salt";
const ID_PREFIX: &str = "sys/token/id/";
const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A stored token (without its ID).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenEntry {
    /// The public handle operators can use instead of the token.
    pub accessor: String,
    /// Policy names, sorted.
    pub policies: Vec<String>,
    /// Where it was made (`auth/token/root`, `auth/token/create`).
    pub path: String,
    /// A label.
    pub display_name: String,
    /// Unix seconds.
    pub creation_time: u64,
    /// Seconds; 0 means no expiry.
    pub ttl: u64,
    /// Whether it has no parent.
    pub orphan: bool,
}

impl TokenEntry {
    /// Whether this is a root token.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }
}

/// Random alphanumeric string from the OS generator.
pub fn random_alnum(len: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| TOKEN_CHARS[rng.gen_range(0..TOKEN_CHARS.len())] as char)
        .collect()
}

/// The token store's salt cache; everything else is read through the barrier.
#[derive(Default)]
pub struct TokenStore {
    /// The HMAC salt, cached while unsealed; cleared by [`TokenStore::forget`] on seal.
    salt: RwLock<Option<Zeroizing<Vec<u8>>>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore")
    }
}

impl TokenStore {
    /// Drops cached secrets (on seal).
    pub fn forget(&self) {
        *self.salt.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn salt(&self, barrier: &Barrier) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        if let Some(salt) = self.salt.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Ok(salt.clone());
        }
        let salt = match barrier.get(SALT_KEY).await? {
            Some(salt) => salt,
            None => {
                let fresh = Zeroizing::new(uuid::Uuid::new_v4().to_string().into_bytes());
                barrier.put(SALT_KEY, &fresh).await?;
                fresh
            }
        };
        *self.salt.write().unwrap_or_else(|p| p.into_inner()) = Some(salt.clone());
        Ok(salt)
    }

    fn storage_key(salt: &[u8], token: &str) -> String {
        // HMAC accepts keys of any length, so new_from_slice cannot fail here.
        let mut mac = match Hmac::<Sha256>::new_from_slice(salt) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(token.as_bytes());
        format!("{ID_PREFIX}h{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Creates a root token (`id` to choose it, as `-dev-root-token-id` does).
    pub async fn create_root(
        &self,
        barrier: &Barrier,
        id: Option<&str>,
    ) -> Result<Zeroizing<String>, BarrierError> {
        let token = Zeroizing::new(match id {
            Some(id) => id.to_string(),
            None => format!("s.{}", random_alnum(24)),
        });
        let entry = TokenEntry {
            accessor: random_alnum(24),
            policies: vec!["root".to_string()],
            path: "auth/token/root".to_string(),
            display_name: "root".to_string(),
            creation_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            ttl: 0,
            orphan: true,
        };
        let salt = self.salt(barrier).await?;
        let json = serde_json::to_vec(&entry).unwrap_or_default();
        barrier
            .put(&Self::storage_key(&salt, &token), &json)
            .await?;
        Ok(token)
    }

    /// Looks a token up. Lookup is by keyed hash, so no token is ever compared byte by
    /// byte with a stored one.
    pub async fn lookup(
        &self,
        barrier: &Barrier,
        token: &str,
    ) -> Result<Option<TokenEntry>, BarrierError> {
        if token.is_empty() {
            return Ok(None);
        }
        let salt = self.salt(barrier).await?;
        let Some(raw) = barrier.get(&Self::storage_key(&salt, token)).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(&raw).ok())
    }

    /// Deletes a token.
    pub async fn revoke(&self, barrier: &Barrier, token: &str) -> Result<(), BarrierError> {
        let salt = self.salt(barrier).await?;
        barrier.delete(&Self::storage_key(&salt, token)).await
    }
}
