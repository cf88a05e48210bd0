//! The token store. Token IDs are never stored: an entry lives under
//! `sys/token/id/h<hex>`, the hex being HMAC-SHA256 of the token keyed with a per-server
//! salt (Vault's layout), so a copy of the storage hands out no working token even with
//! the unseal keys. The same keyed hash indexes accessors, children and expiry:
//!
//! - `sys/token/accessor/<hmac(accessor)>`: `{"hash": "<entry name>"}`;
//! - `sys/token/parent/<parent entry name>/<child entry name>`: the revocation tree;
//! - `sys/token/expire/<20-digit unix time>_<entry name>`: the expiry queue, scanned by
//!   the expiry manager, so expired tokens are revoked across restarts and seals.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::barrier::{Barrier, BarrierError};

const SALT_KEY: &str = "sys/token/salt";
const ID_PREFIX: &str = "sys/token/id/";
const ACCESSOR_PREFIX: &str = "sys/token/accessor/";
const PARENT_PREFIX: &str = "sys/token/parent/";
const EXPIRE_PREFIX: &str = "sys/token/expire/";
const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A stored token (without its ID).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct TokenEntry {
    /// The entry's storage name (`h<hex>`): how other entries refer to this token.
    pub hash: String,
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
    /// The TTL it was created or last renewed with (seconds; 0 = no expiry).
    pub ttl: u64,
    /// A hard cap on its life (seconds; 0 = none).
    pub explicit_max_ttl: u64,
    /// Periodic tokens renew to this TTL (seconds; 0 = not periodic).
    pub period: u64,
    /// Whether it may be renewed.
    pub renewable: bool,
    /// Requests left; 0 = unlimited.
    pub num_uses: u64,
    /// Free-form metadata.
    pub meta: Option<BTreeMap<String, String>>,
    /// The parent's entry name, empty for orphans.
    pub parent: String,
    /// Whether it has no parent.
    pub orphan: bool,
    /// Unix seconds when it expires; 0 = never.
    pub expire_time: u64,
    /// Names this token's cubbyhole.
    pub cubbyhole_id: String,
    /// Unix seconds of the last renewal; 0 = never renewed.
    pub last_renewal_time: u64,
    /// Whether it was made by `sys/init` (Vault shows fewer lookup fields for it).
    pub init_root: bool,
}

impl TokenEntry {
    /// Whether this is a root token.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }

    /// Seconds left, 0 when it never expires.
    pub fn ttl_left(&self) -> u64 {
        if self.expire_time == 0 {
            0
        } else {
            self.expire_time.saturating_sub(unix_now())
        }
    }

    /// Whether it has expired.
    pub fn expired(&self) -> bool {
        self.expire_time != 0 && self.expire_time <= unix_now()
    }
}

/// What a new token should look like.
#[derive(Debug, Clone, Default)]
pub struct TokenSpec {
    /// Sorted, with `default` added as the caller decided.
    pub policies: Vec<String>,
    /// Seconds; 0 = no expiry.
    pub ttl: u64,
    /// Seconds; 0 = none.
    pub explicit_max_ttl: u64,
    /// Seconds; 0 = not periodic.
    pub period: u64,
    /// Renewable.
    pub renewable: bool,
    /// Uses; 0 = unlimited.
    pub num_uses: u64,
    /// Metadata.
    pub meta: Option<BTreeMap<String, String>>,
    /// Label.
    pub display_name: String,
    /// Creation path.
    pub path: String,
    /// The parent's entry name; empty for an orphan.
    pub parent: String,
    /// A caller-chosen ID.
    pub id: Option<String>,
    /// Made by `sys/init`.
    pub init_root: bool,
}

/// Random alphanumeric string from a CSPRNG (per-thread, seeded from the OS).
pub fn random_alnum(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| TOKEN_CHARS[rng.gen_range(0..TOKEN_CHARS.len())] as char)
        .collect()
}

/// The token store: entries live behind the barrier; this holds caches only.
#[derive(Default)]
pub struct TokenStore {
    /// The HMAC salt, cached while unsealed; cleared by [`TokenStore::forget`] on seal.
    salt: RwLock<Option<std::sync::Arc<Zeroizing<Vec<u8>>>>>,
    /// Entries by storage name, so a request does not decrypt and parse its token's
    /// entry every time. Every write of an entry goes through `save` or `revoke_one`,
    /// which update or drop the cached copy; cleared on seal.
    /// Shared so a cache hit costs a reference count, not a copy of every field.
    cache: RwLock<std::collections::HashMap<String, Arc<TokenEntry>>>,
    /// Bumped by every change to a stored entry. A lookup that read storage caches what
    /// it read only if no change happened meanwhile, so a read that raced a revocation
    /// cannot bring the revoked entry back into the cache.
    epoch: std::sync::atomic::AtomicU64,
    /// Held while a limited-use token's count is read and lowered, so that two requests
    /// on a token with one use left cannot both pass. Only such tokens take it.
    uses: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore")
    }
}

fn corrupt(key: &str, e: serde_json::Error) -> BarrierError {
    BarrierError::Format {
        key: key.to_string(),
        reason: format!("not valid JSON: {e}"),
    }
}

impl TokenStore {
    /// Drops cached secrets (on seal).
    pub fn forget(&self) {
        *self.salt.write().unwrap_or_else(|p| p.into_inner()) = None;
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn cached(&self, name: &str) -> Option<Arc<TokenEntry>> {
        self.cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    fn cache_put(&self, entry: &TokenEntry) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cache.insert(entry.hash.clone(), Arc::new(entry.clone()));
    }

    fn cache_drop(&self, name: &str) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cache.remove(name);
    }

    /// Caches an entry read from storage, unless an entry changed since `epoch`.
    fn cache_if_unchanged(&self, entry: &Arc<TokenEntry>, epoch: u64) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(std::sync::atomic::Ordering::SeqCst) == epoch {
            cache.insert(entry.hash.clone(), entry.clone());
        }
    }

    async fn salt(
        &self,
        barrier: &Barrier,
    ) -> Result<std::sync::Arc<Zeroizing<Vec<u8>>>, BarrierError> {
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
        let salt = std::sync::Arc::new(salt);
        *self.salt.write().unwrap_or_else(|p| p.into_inner()) = Some(salt.clone());
        Ok(salt)
    }

    /// `prefix` followed by the hex HMAC of `value`, built in one allocation: this runs
    /// on every authenticated request.
    fn keyed_hash(prefix: &str, salt: &[u8], value: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(salt) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut hex_buf = [0u8; 64];
        if hex::encode_to_slice(digest, &mut hex_buf).is_err() {
            unreachable!("a SHA-256 digest is 32 bytes, 64 hex digits");
        }
        let mut out = String::with_capacity(prefix.len() + hex_buf.len());
        out.push_str(prefix);
        // Hex digits are ASCII.
        out.extend(hex_buf.iter().map(|&b| char::from(b)));
        out
    }

    async fn entry_name(&self, barrier: &Barrier, token: &str) -> Result<String, BarrierError> {
        let salt = self.salt(barrier).await?;
        Ok(Self::keyed_hash("h", &salt, token))
    }

    async fn accessor_key(
        &self,
        barrier: &Barrier,
        accessor: &str,
    ) -> Result<String, BarrierError> {
        let salt = self.salt(barrier).await?;
        Ok(Self::keyed_hash(ACCESSOR_PREFIX, &salt, accessor))
    }

    async fn save(&self, barrier: &Barrier, entry: &TokenEntry) -> Result<(), BarrierError> {
        let json = serde_json::to_vec(entry).unwrap_or_default();
        // Drop first: a failed write must not leave a cached entry that storage lacks.
        self.cache_drop(&entry.hash);
        barrier
            .put(&format!("{ID_PREFIX}{}", entry.hash), &json)
            .await?;
        self.cache_put(entry);
        Ok(())
    }

    fn expire_key(entry: &TokenEntry) -> String {
        format!("{EXPIRE_PREFIX}{:020}_{}", entry.expire_time, entry.hash)
    }

    /// Creates a token; returns its ID (shown once) and entry.
    pub async fn create(
        &self,
        barrier: &Barrier,
        spec: TokenSpec,
    ) -> Result<(Zeroizing<String>, TokenEntry), BarrierError> {
        let token = Zeroizing::new(
            spec.id
                .clone()
                .unwrap_or_else(|| format!("s.{}", random_alnum(24))),
        );
        let now = unix_now();
        let mut ttl = spec.ttl;
        if spec.explicit_max_ttl > 0 && (ttl == 0 || ttl > spec.explicit_max_ttl) {
            ttl = spec.explicit_max_ttl;
        }
        let entry = TokenEntry {
            hash: self.entry_name(barrier, &token).await?,
            accessor: random_alnum(24),
            policies: spec.policies,
            path: spec.path,
            display_name: spec.display_name,
            creation_time: now,
            ttl,
            explicit_max_ttl: spec.explicit_max_ttl,
            period: spec.period,
            renewable: spec.renewable,
            num_uses: spec.num_uses,
            meta: spec.meta,
            orphan: spec.parent.is_empty(),
            parent: spec.parent,
            expire_time: if ttl > 0 { now + ttl } else { 0 },
            cubbyhole_id: random_alnum(24),
            last_renewal_time: 0,
            init_root: spec.init_root,
        };
        self.save(barrier, &entry).await?;
        let index = serde_json::json!({ "hash": entry.hash }).to_string();
        barrier
            .put(
                &self.accessor_key(barrier, &entry.accessor).await?,
                index.as_bytes(),
            )
            .await?;
        if !entry.parent.is_empty() {
            barrier
                .put(
                    &format!("{PARENT_PREFIX}{}/{}", entry.parent, entry.hash),
                    b"",
                )
                .await?;
        }
        if entry.expire_time > 0 {
            barrier.put(&Self::expire_key(&entry), b"").await?;
        }
        Ok((token, entry))
    }

    /// Creates a root token (`id` to choose it, as `-dev-root-token-id` does).
    pub async fn create_root(
        &self,
        barrier: &Barrier,
        id: Option<&str>,
        init: bool,
    ) -> Result<Zeroizing<String>, BarrierError> {
        let spec = TokenSpec {
            policies: vec!["root".to_string()],
            display_name: "root".to_string(),
            path: if init {
                "auth/token/root"
            } else {
                "auth/token/create"
            }
            .to_string(),
            id: id.map(str::to_string),
            init_root: init,
            ..TokenSpec::default()
        };
        Ok(self.create(barrier, spec).await?.0)
    }

    async fn load(
        &self,
        barrier: &Barrier,
        name: &str,
    ) -> Result<Option<Arc<TokenEntry>>, BarrierError> {
        if let Some(entry) = self.cached(name) {
            return Ok((!entry.expired()).then_some(entry));
        }
        let epoch = self.epoch.load(std::sync::atomic::Ordering::SeqCst);
        let key = format!("{ID_PREFIX}{name}");
        let Some(raw) = barrier.get(&key).await? else {
            return Ok(None);
        };
        let entry: Arc<TokenEntry> =
            Arc::new(serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e))?);
        self.cache_if_unchanged(&entry, epoch);
        Ok((!entry.expired()).then_some(entry))
    }

    /// Looks a token up; expired tokens are gone. Lookup is by keyed hash, so no token is
    /// ever compared byte by byte with a stored one.
    pub async fn lookup(
        &self,
        barrier: &Barrier,
        token: &str,
    ) -> Result<Option<Arc<TokenEntry>>, BarrierError> {
        if token.is_empty() {
            return Ok(None);
        }
        let name = self.entry_name(barrier, token).await?;
        self.load(barrier, &name).await
    }

    /// Looks a token up by accessor.
    pub async fn lookup_accessor(
        &self,
        barrier: &Barrier,
        accessor: &str,
    ) -> Result<Option<Arc<TokenEntry>>, BarrierError> {
        if accessor.is_empty() {
            return Ok(None);
        }
        let key = self.accessor_key(barrier, accessor).await?;
        let Some(raw) = barrier.get(&key).await? else {
            return Ok(None);
        };
        let index: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e))?;
        match index["hash"].as_str() {
            Some(name) => self.load(barrier, name).await,
            None => Ok(None),
        }
    }

    /// Every accessor.
    pub async fn accessors(&self, barrier: &Barrier) -> Result<Vec<String>, BarrierError> {
        let mut out = Vec::new();
        for name in barrier.list(ID_PREFIX).await? {
            if let Some(entry) = self.load(barrier, &name).await? {
                out.push(entry.accessor.clone());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Counts one use of a limited-use token; revokes it when that was the last. `false`
    /// when no use was left, because concurrent requests took them since `entry` was
    /// looked up: the request must then be refused.
    pub async fn use_once(
        &self,
        barrier: &Barrier,
        entry: &TokenEntry,
        cubbyhole_prefix: &str,
    ) -> Result<bool, BarrierError> {
        if entry.num_uses == 0 {
            return Ok(true);
        }
        let _counting = self.uses.lock().await;
        // Read again under the lock: `entry` may be older than the last use.
        let Some(current) = self.load(barrier, &entry.hash).await? else {
            return Ok(false);
        };
        match current.num_uses {
            0 => {}
            1 => {
                self.revoke_tree(barrier, &current, cubbyhole_prefix)
                    .await?
            }
            n => {
                let mut updated = TokenEntry::clone(&current);
                updated.num_uses = n - 1;
                self.save(barrier, &updated).await?;
            }
        }
        Ok(true)
    }

    /// Revokes a token and, recursively, its children.
    pub async fn revoke_tree(
        &self,
        barrier: &Barrier,
        entry: &TokenEntry,
        cubbyhole_prefix: &str,
    ) -> Result<(), BarrierError> {
        // Iterative depth-first walk: revocation trees can be deep.
        let mut stack = vec![entry.hash.clone()];
        let mut order = Vec::new();
        while let Some(name) = stack.pop() {
            for child in barrier.list(&format!("{PARENT_PREFIX}{name}/")).await? {
                stack.push(child);
            }
            order.push(name);
        }
        for name in order.into_iter().rev() {
            self.revoke_one(barrier, &name, cubbyhole_prefix).await?;
        }
        Ok(())
    }

    /// Revokes a token and makes its children orphans.
    pub async fn revoke_orphan(
        &self,
        barrier: &Barrier,
        entry: &TokenEntry,
        cubbyhole_prefix: &str,
    ) -> Result<(), BarrierError> {
        for child in barrier
            .list(&format!("{PARENT_PREFIX}{}/", entry.hash))
            .await?
        {
            if let Some(c) = self.load(barrier, &child).await? {
                let mut c = Arc::unwrap_or_clone(c);
                c.parent.clear();
                c.orphan = true;
                self.save(barrier, &c).await?;
            }
            barrier
                .delete(&format!("{PARENT_PREFIX}{}/{child}", entry.hash))
                .await?;
        }
        self.revoke_one(barrier, &entry.hash, cubbyhole_prefix)
            .await
    }

    async fn revoke_one(
        &self,
        barrier: &Barrier,
        name: &str,
        cubbyhole_prefix: &str,
    ) -> Result<(), BarrierError> {
        self.cache_drop(name);
        let key = format!("{ID_PREFIX}{name}");
        let Some(raw) = barrier.get(&key).await? else {
            return Ok(());
        };
        let entry: TokenEntry = serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e))?;
        barrier
            .delete(&self.accessor_key(barrier, &entry.accessor).await?)
            .await?;
        if !entry.parent.is_empty() {
            barrier
                .delete(&format!("{PARENT_PREFIX}{}/{name}", entry.parent))
                .await?;
        }
        if entry.expire_time > 0 {
            barrier.delete(&Self::expire_key(&entry)).await?;
        }
        if !cubbyhole_prefix.is_empty() {
            crate::secrets::delete_tree(
                barrier,
                &format!("{cubbyhole_prefix}{}/", entry.cubbyhole_id),
            )
            .await?;
        }
        barrier.delete(&key).await?;
        // Again: a lookup between the first drop and the delete may have cached it.
        self.cache_drop(name);
        tracing::info!(accessor = %entry.accessor, "revoked token");
        Ok(())
    }

    /// Extends a token's life by `increment` (or its period / original TTL), within its
    /// explicit max TTL. Returns the updated entry.
    pub async fn renew(
        &self,
        barrier: &Barrier,
        entry: &TokenEntry,
        increment: Option<u64>,
    ) -> Result<TokenEntry, BarrierError> {
        let now = unix_now();
        let mut updated = entry.clone();
        let mut ttl = if entry.period > 0 {
            entry.period
        } else {
            increment.filter(|i| *i > 0).unwrap_or(entry.ttl)
        };
        if entry.explicit_max_ttl > 0 {
            let hard_end = entry.creation_time + entry.explicit_max_ttl;
            ttl = ttl.min(hard_end.saturating_sub(now));
        }
        if entry.expire_time > 0 {
            barrier.delete(&Self::expire_key(entry)).await?;
        }
        updated.ttl = ttl;
        updated.expire_time = now + ttl;
        updated.last_renewal_time = now;
        self.save(barrier, &updated).await?;
        barrier.put(&Self::expire_key(&updated), b"").await?;
        Ok(updated)
    }

    /// Revokes every token whose expiry has passed; returns how many.
    pub async fn expire_due(
        &self,
        barrier: &Barrier,
        cubbyhole_prefix: &str,
    ) -> Result<usize, BarrierError> {
        let now = unix_now();
        let mut revoked = 0;
        for name in barrier.list(EXPIRE_PREFIX).await? {
            let Some((when, hash)) = name.split_once('_') else {
                continue;
            };
            let Ok(when) = when.parse::<u64>() else {
                continue;
            };
            if when > now {
                break; // names sort by time
            }
            let entry = barrier.get(&format!("{ID_PREFIX}{hash}")).await?;
            match entry.and_then(|raw| serde_json::from_slice::<TokenEntry>(&raw).ok()) {
                Some(e) if e.expire_time <= now => {
                    self.revoke_tree(barrier, &e, cubbyhole_prefix).await?;
                    revoked += 1;
                }
                // A renewed token left a stale queue entry behind.
                _ => barrier.delete(&format!("{EXPIRE_PREFIX}{name}")).await?,
            }
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::Storage;

    fn barrier() -> Arc<Barrier> {
        use vault_plugin_api::host::StorageHandle;
        let handle =
            StorageHandle::in_process::<vault_inmem::Inmem>(vault_plugin_api::Config::default())
                .unwrap();
        Arc::new(Barrier::new(Storage::new("inmem", handle)))
    }

    /// An initialised (so unsealed) barrier over inmem storage.
    async fn unsealed_barrier() -> Arc<Barrier> {
        let barrier = barrier();
        barrier
            .initialize(&crate::barrier::random_key())
            .await
            .unwrap();
        barrier
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revoked_token_stays_revoked_while_lookups_race_the_revocation() {
        let barrier = unsealed_barrier().await;
        let store = Arc::new(TokenStore::default());
        for round in 0..20 {
            let spec = TokenSpec {
                policies: vec!["default".into()],
                ttl: 3600,
                ..TokenSpec::default()
            };
            let (token, entry) = store.create(&barrier, spec).await.unwrap();
            let lookers: Vec<_> = (0..4)
                .map(|_| {
                    let (store, barrier, token) =
                        (store.clone(), barrier.clone(), token.to_string());
                    tokio::spawn(async move {
                        for _ in 0..50 {
                            let _ = store.lookup(&barrier, &token).await;
                        }
                    })
                })
                .collect();
            store.revoke_tree(&barrier, &entry, "").await.unwrap();
            for l in lookers {
                l.await.unwrap();
            }
            assert!(
                store.lookup(&barrier, &token).await.unwrap().is_none(),
                "round {round}: a revoked token came back"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_never_use_a_token_more_often_than_allowed() {
        let barrier = unsealed_barrier().await;
        let store = Arc::new(TokenStore::default());
        for uses in [1u64, 3] {
            let spec = TokenSpec {
                policies: vec!["default".into()],
                ttl: 3600,
                num_uses: uses,
                ..TokenSpec::default()
            };
            let (token, _) = store.create(&barrier, spec).await.unwrap();
            // Every request looks the token up first (all see the full count), then
            // counts its use, as the request pipeline does.
            let mut looked_up = Vec::new();
            for _ in 0..8 {
                looked_up.push(store.lookup(&barrier, &token).await.unwrap().unwrap());
            }
            let requests: Vec<_> = looked_up
                .into_iter()
                .map(|entry| {
                    let (store, barrier) = (store.clone(), barrier.clone());
                    tokio::spawn(async move { store.use_once(&barrier, &entry, "").await })
                })
                .collect();
            let mut passed = 0;
            for r in requests {
                passed += u64::from(r.await.unwrap().unwrap());
            }
            assert_eq!(passed, uses, "a token with {uses} uses");
            assert!(store.lookup(&barrier, &token).await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn entries_never_hold_the_token_and_lookups_use_the_keyed_hash() {
        let barrier = unsealed_barrier().await;
        let store = TokenStore::default();
        let token = store.create_root(&barrier, None, true).await.unwrap();
        let names = barrier.list(ID_PREFIX).await.unwrap();
        assert_eq!(names.len(), 1);
        assert!(
            names[0].starts_with('h') && names[0].len() == 65,
            "{}",
            names[0]
        );
        let raw = barrier
            .get(&format!("{ID_PREFIX}{}", names[0]))
            .await
            .unwrap()
            .unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains(token.as_str()));
        assert!(store
            .lookup(&barrier, &token)
            .await
            .unwrap()
            .unwrap()
            .is_root());
        assert!(store.lookup(&barrier, "s.wrong").await.unwrap().is_none());
    }
}
