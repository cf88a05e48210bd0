//! The server's shared state: storage, the barrier, the seal lifecycle and tokens.
//!
//! Every request handler gets an `Arc<Core>`. Until the server is initialised and
//! unsealed, only the raw `sys/` handlers answer; everything else is 503 "Vault is sealed".

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::auth::{TokenEntry, TokenStore};
use crate::barrier::{Barrier, BarrierError, KeyStatus};
use crate::policy::{Acl, Capability, Policy};
use crate::seal::{self, NewKeys, Progress, Rekey, SealConfig, SealError};
use crate::secrets::MountTable;
use crate::storage::{Storage, StorageError};

pub use crate::seal::SEAL_CONFIG_KEY;

/// Where the cluster's name and id live (behind the barrier).
const CLUSTER_INFO_KEY: &str = "core/cluster/local/info";

/// The cluster's identity, made at init.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterInfo {
    /// `vault-cluster-` and 8 hex characters, unless the config names it.
    pub name: String,
    /// A UUID.
    pub id: String,
}

/// What `sys/seal-status` and `sys/unseal` return, in Vault's field order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SealStatus {
    #[serde(rename = "type")]
    seal_type: &'static str,
    /// Whether storage holds a seal configuration.
    pub initialized: bool,
    /// Whether the barrier is sealed.
    pub sealed: bool,
    /// Threshold.
    pub t: u32,
    /// Shares.
    pub n: u32,
    /// Unseal keys given so far.
    pub progress: u32,
    /// The unseal attempt's id, empty when none.
    pub nonce: String,
    recovery_seal: bool,
    version: &'static str,
    migration: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_id: Option<String>,
    storage_type: String,
}

/// Why a caller may not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token, or one that does not exist.
    BadToken,
    /// A valid token whose policies do not allow it.
    Policy,
}

/// What init hands back, once.
pub struct InitOutput {
    /// The unseal keys.
    pub keys: NewKeys,
    /// The initial root token.
    pub root_token: Zeroizing<String>,
}

/// Unseal progress and any rekey in progress.
#[derive(Default)]
struct Lifecycle {
    unseal: Progress,
    rekey: Option<Rekey>,
}

/// Where ACL policies live (behind the barrier), one entry per policy.
pub const POLICY_PREFIX: &str = "sys/policy/";

/// A stored policy (Vault's field names).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoredPolicy {
    /// The policy's name.
    pub name: String,
    /// Its source text.
    pub raw: String,
    /// Bumped on every write.
    pub version: u64,
    /// RFC 3339 time of the last write.
    pub modified: String,
}

/// Shared server state.
pub struct Core {
    storage: Storage,
    barrier: Arc<Barrier>,
    tokens: TokenStore,
    /// The mount table, loaded at unseal and dropped at seal. Writers (enable, disable,
    /// tune) take the async lock so table and storage change together.
    mounts: tokio::sync::RwLock<Option<MountTable>>,
    /// Parsed policies by name, filled on first use and invalidated on write/delete;
    /// cleared at seal.
    policies: RwLock<HashMap<String, Arc<Policy>>>,
    /// Merged ACLs by a token's policy list, so a request does not merge rules anew;
    /// cleared whenever any policy changes, and at seal.
    acls: RwLock<HashMap<Vec<String>, Arc<Acl>>>,
    /// Built once: root tokens make most requests, and their ACL never changes.
    root_acl: Arc<Acl>,
    /// `default_lease_ttl` from the config (seconds), else Vault's 768h.
    system_default_ttl: u64,
    /// Held across the storage I/O of init, unseal, seal and rekey, so those steps never
    /// interleave; a tokio Mutex because it is held across awaits.
    lifecycle: tokio::sync::Mutex<Lifecycle>,
    /// Loaded at unseal, dropped at seal. Read on health and seal-status requests.
    cluster: RwLock<Option<ClusterInfo>>,
    /// `cluster_name` from the config, which wins over the stored one.
    cluster_name: Option<String>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("storage", &self.storage)
            .field("sealed", &self.is_sealed())
            .finish()
    }
}

impl Core {
    /// A sealed core over `storage`.
    pub fn new(
        storage: Storage,
        cluster_name: Option<String>,
        default_lease_ttl: Option<u64>,
    ) -> Self {
        Core {
            barrier: Arc::new(Barrier::new(storage.clone())),
            storage,
            tokens: TokenStore::default(),
            mounts: tokio::sync::RwLock::new(None),
            policies: RwLock::new(HashMap::new()),
            acls: RwLock::new(HashMap::new()),
            root_acl: Arc::new(Acl::root()),
            system_default_ttl: default_lease_ttl
                .filter(|t| *t > 0)
                .unwrap_or(crate::secrets::SYSTEM_DEFAULT_TTL),
            lifecycle: tokio::sync::Mutex::new(Lifecycle::default()),
            cluster: RwLock::new(None),
            cluster_name,
        }
    }

    /// The storage backend.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The barrier.
    pub fn barrier(&self) -> &Arc<Barrier> {
        &self.barrier
    }

    /// The token store.
    pub fn tokens(&self) -> &TokenStore {
        &self.tokens
    }

    /// The system default lease TTL in seconds.
    pub fn system_default_ttl(&self) -> u64 {
        self.system_default_ttl
    }

    /// The mount table (`None` while sealed).
    pub fn mounts(&self) -> &tokio::sync::RwLock<Option<MountTable>> {
        &self.mounts
    }

    /// The storage prefix of the cubbyhole mount, so token revocation can destroy a
    /// token's cubbyhole.
    pub async fn cubbyhole_prefix(&self) -> String {
        self.mounts
            .read()
            .await
            .as_ref()
            .and_then(|t| {
                t.mounts
                    .iter()
                    .find(|m| m.kind == "cubbyhole")
                    .map(|m| m.data_prefix())
            })
            .unwrap_or_default()
    }

    /// Reads a stored policy.
    pub async fn read_policy(&self, name: &str) -> Result<Option<StoredPolicy>, BarrierError> {
        let key = format!("{POLICY_PREFIX}{name}");
        match self.barrier.get(&key).await? {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(&raw)
                .map(Some)
                .map_err(|e| BarrierError::Format {
                    key,
                    reason: format!("policy is not valid JSON: {e}"),
                }),
        }
    }

    /// Stores a policy that already parsed.
    pub async fn write_policy(&self, policy: &Policy) -> Result<StoredPolicy, BarrierError> {
        let version = self
            .read_policy(&policy.name)
            .await?
            .map_or(1, |p| p.version + 1);
        let stored = StoredPolicy {
            name: policy.name.clone(),
            raw: policy.raw.clone(),
            version,
            modified: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
        };
        let json = serde_json::to_vec(&stored).unwrap_or_default();
        self.barrier
            .put(&format!("{POLICY_PREFIX}{}", policy.name), &json)
            .await?;
        self.policies
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&policy.name);
        Ok(stored)
    }

    /// Deletes a policy.
    pub async fn delete_policy(&self, name: &str) -> Result<(), BarrierError> {
        self.barrier
            .delete(&format!("{POLICY_PREFIX}{name}"))
            .await?;
        self.policies
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        Ok(())
    }

    /// The names of every stored policy.
    pub async fn policy_names(&self) -> Result<Vec<String>, BarrierError> {
        let mut names = self.barrier.list(POLICY_PREFIX).await?;
        names.sort();
        Ok(names)
    }

    async fn policy(&self, name: &str) -> Result<Option<Arc<Policy>>, BarrierError> {
        if let Some(p) = self
            .policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(p.clone()));
        }
        let Some(stored) = self.read_policy(name).await? else {
            // `default` exists from the start, as in Vault, until someone rewrites it.
            if name == "default" {
                let p = Arc::new(crate::policy::default_policy());
                self.policies
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.to_string(), p.clone());
                return Ok(Some(p));
            }
            return Ok(None);
        };
        match crate::policy::parse(name, &stored.raw) {
            Ok(p) => {
                let p = Arc::new(p);
                self.policies
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.to_string(), p.clone());
                Ok(Some(p))
            }
            Err(e) => {
                tracing::error!(policy = name, error = %e, "stored policy does not parse; ignoring it");
                Ok(None)
            }
        }
    }

    /// The ACL of a token: the union of its policies (missing ones are skipped).
    pub async fn acl(&self, entry: &TokenEntry) -> Result<Arc<Acl>, BarrierError> {
        if entry.is_root() {
            return Ok(self.root_acl.clone());
        }
        if let Some(acl) = self
            .acls
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&entry.policies)
        {
            return Ok(acl.clone());
        }
        let mut policies = Vec::new();
        for name in &entry.policies {
            if let Some(p) = self.policy(name).await? {
                policies.push(p);
            }
        }
        let refs: Vec<&Policy> = policies.iter().map(|p| p.as_ref()).collect();
        let acl = Arc::new(Acl::new(&refs));
        self.acls
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(entry.policies.clone(), acl.clone());
        Ok(acl)
    }

    /// Looks a token up and checks one capability on one path.
    pub async fn authorize(
        &self,
        token: Option<&str>,
        path: &str,
        capability: Capability,
        sudo: bool,
    ) -> Result<Result<Arc<TokenEntry>, Denied>, BarrierError> {
        let Some(token) = token else {
            return Ok(Err(Denied::BadToken));
        };
        let Some(entry) = self.tokens.lookup(&self.barrier, token).await? else {
            return Ok(Err(Denied::BadToken));
        };
        if self.acl(&entry).await?.allows(path, capability, sudo) {
            Ok(Ok(entry))
        } else {
            Ok(Err(Denied::Policy))
        }
    }

    /// Whether storage holds a seal configuration.
    pub async fn is_initialized(&self) -> Result<bool, StorageError> {
        Ok(self.storage.get(SEAL_CONFIG_KEY).await?.is_some())
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.barrier.is_sealed()
    }

    /// The cluster identity, while unsealed.
    pub fn cluster(&self) -> Option<ClusterInfo> {
        self.cluster
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn status_with(&self, progress: &Progress) -> Result<SealStatus, SealError> {
        let config = seal::read_config(&self.storage).await?;
        let sealed = self.is_sealed();
        let cluster = if sealed { None } else { self.cluster() };
        Ok(SealStatus {
            seal_type: "shamir",
            initialized: config.is_some(),
            sealed,
            t: config.as_ref().map_or(0, |c| c.secret_threshold),
            n: config.as_ref().map_or(0, |c| c.secret_shares),
            progress: progress.count() as u32,
            nonce: progress.nonce.clone(),
            recovery_seal: false,
            version: crate::VERSION,
            migration: false,
            cluster_name: cluster.as_ref().map(|c| c.name.clone()),
            cluster_id: cluster.map(|c| c.id),
            storage_type: self.storage.kind().to_string(),
        })
    }

    /// `sys/seal-status`.
    pub async fn seal_status(&self) -> Result<SealStatus, SealError> {
        let lifecycle = self.lifecycle.lock().await;
        self.status_with(&lifecycle.unseal).await
    }

    /// `sys/init`: keys, root token, cluster identity; the server stays sealed.
    pub async fn initialize(&self, config: &SealConfig) -> Result<InitOutput, SealError> {
        let _lifecycle = self.lifecycle.lock().await;
        let keys = seal::initialize(&self.storage, &self.barrier, config).await?;
        let finish = async {
            let cluster = ClusterInfo {
                name: format!(
                    "vault-cluster-{}",
                    &hex::encode(uuid::Uuid::new_v4().as_bytes())[..8]
                ),
                id: uuid::Uuid::new_v4().to_string(),
            };
            let json = serde_json::to_vec(&cluster).unwrap_or_default();
            self.barrier.put(CLUSTER_INFO_KEY, &json).await?;
            MountTable::create_defaults(&self.barrier).await?;
            self.tokens.create_root(&self.barrier, None, true).await
        };
        let result = finish.await;
        // Vault leaves a freshly initialised server sealed.
        self.barrier.seal();
        self.tokens.forget();
        let root_token = result?;
        tracing::info!(
            shares = config.secret_shares,
            threshold = config.secret_threshold,
            "security barrier initialized"
        );
        Ok(InitOutput { keys, root_token })
    }

    /// `sys/unseal` with `reset: true`.
    pub async fn reset_unseal(&self) -> Result<SealStatus, SealError> {
        let mut lifecycle = self.lifecycle.lock().await;
        if seal::read_config(&self.storage).await?.is_none() {
            return Err(SealError::NotInitialized);
        }
        if !self.is_sealed() {
            return Err(SealError::Unsealed);
        }
        lifecycle.unseal.reset();
        self.status_with(&lifecycle.unseal).await
    }

    /// `sys/unseal` with a key (already decoded).
    pub async fn submit_unseal_key(
        &self,
        key: Zeroizing<Vec<u8>>,
    ) -> Result<SealStatus, SealError> {
        let mut lifecycle = self.lifecycle.lock().await;
        let config = seal::read_config(&self.storage)
            .await?
            .ok_or(SealError::NotInitialized)?;
        if !self.is_sealed() {
            // Vault answers any key with the unsealed status, and does nothing.
            return self.status_with(&lifecycle.unseal).await;
        }
        seal::submit_unseal_key(
            &self.storage,
            &self.barrier,
            &config,
            &mut lifecycle.unseal,
            key,
        )
        .await?;
        if !self.is_sealed() {
            if let Err(e) = self.after_unseal().await {
                self.barrier.seal();
                return Err(e);
            }
            tracing::info!("vault is unsealed");
        }
        self.status_with(&lifecycle.unseal).await
    }

    async fn after_unseal(&self) -> Result<(), SealError> {
        let mut info: ClusterInfo = match self.barrier.get(CLUSTER_INFO_KEY).await? {
            Some(raw) => serde_json::from_slice(&raw).map_err(|e| {
                SealError::Barrier(BarrierError::Format {
                    key: CLUSTER_INFO_KEY.into(),
                    reason: e.to_string(),
                })
            })?,
            None => ClusterInfo {
                name: String::new(),
                id: String::new(),
            },
        };
        if let Some(name) = &self.cluster_name {
            info.name = name.clone();
        }
        *self.cluster.write().unwrap_or_else(|p| p.into_inner()) = Some(info);
        *self.mounts.write().await = Some(MountTable::load(&self.barrier).await?);
        Ok(())
    }

    /// Drops every key from memory, and any unseal or rekey progress.
    async fn seal_now(&self) {
        let mut lifecycle = self.lifecycle.lock().await;
        self.barrier.seal();
        self.tokens.forget();
        self.storage.purge_cache();
        lifecycle.unseal.reset();
        lifecycle.rekey = None;
        *self.cluster.write().unwrap_or_else(|p| p.into_inner()) = None;
        *self.mounts.write().await = None;
        self.policies
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        tracing::info!("vault is sealed");
    }

    /// `sys/seal`: nothing to check while already sealed or uninitialised, as Vault.
    pub async fn seal(&self, token: Option<&str>) -> Result<Result<(), Denied>, BarrierError> {
        if self.is_sealed() {
            return Ok(Ok(()));
        }
        if let Err(denied) = self
            .authorize(token, "sys/seal", Capability::Update, true)
            .await?
        {
            return Ok(Err(denied));
        }
        self.seal_now().await;
        Ok(Ok(()))
    }

    /// `sys/rotate`.
    pub async fn rotate(&self) -> Result<u32, BarrierError> {
        let term = self.barrier.rotate().await?;
        tracing::info!(term, "installed new encryption key");
        Ok(term)
    }

    /// `sys/key-status`.
    pub fn key_status(&self) -> Result<KeyStatus, BarrierError> {
        self.barrier.key_status()
    }

    /// The rekey in progress, as `sys/rotate/root/init` reports it.
    pub async fn rekey_status(&self) -> Result<RekeyStatus, SealError> {
        let lifecycle = self.lifecycle.lock().await;
        let current = seal::read_config(&self.storage)
            .await?
            .ok_or(SealError::NotInitialized)?;
        Ok(RekeyStatus::of(lifecycle.rekey.as_ref(), &current))
    }

    /// Starts a rekey to new shares and threshold.
    pub async fn rekey_start(&self, config: SealConfig) -> Result<RekeyStatus, SealError> {
        let mut lifecycle = self.lifecycle.lock().await;
        let current = seal::read_config(&self.storage)
            .await?
            .ok_or(SealError::NotInitialized)?;
        if lifecycle.rekey.is_some() {
            return Err(SealError::Rekey("rotation already in progress".into()));
        }
        lifecycle.rekey = Some(Rekey::start(config));
        Ok(RekeyStatus::of(lifecycle.rekey.as_ref(), &current))
    }

    /// Cancels a rekey (idempotent).
    pub async fn rekey_cancel(&self) {
        self.lifecycle.lock().await.rekey = None;
    }

    /// Feeds a current unseal key to the rekey; `Some` with the new keys when complete.
    pub async fn rekey_update(
        &self,
        nonce: &str,
        key: Zeroizing<Vec<u8>>,
    ) -> Result<(RekeyStatus, Option<NewKeys>), SealError> {
        let mut lifecycle = self.lifecycle.lock().await;
        let current = seal::read_config(&self.storage)
            .await?
            .ok_or(SealError::NotInitialized)?;
        let Some(rekey) = lifecycle.rekey.as_mut() else {
            return Err(SealError::Rekey("no rotation in progress".into()));
        };
        let done = seal::submit_rekey_key(&self.storage, &current, rekey, nonce, key).await?;
        let status = RekeyStatus::of(Some(rekey), &current);
        if done.is_some() {
            lifecycle.rekey = None;
            tracing::info!("unseal keys replaced");
        }
        Ok((status, done))
    }

    /// Dev mode: initialise with one share, unseal, and optionally replace the generated
    /// root token by one with the given ID. Returns (unseal key in base64, root token).
    pub async fn dev_bootstrap(
        &self,
        root_token_id: Option<&str>,
    ) -> Result<(String, Zeroizing<String>), SealError> {
        let config = SealConfig::new(1, 1)?;
        let init = self.initialize(&config).await?;
        let key = init.keys.keys[0].clone();
        let key_b64 = init.keys.base64().remove(0);
        self.submit_unseal_key(key).await?;
        let root = match root_token_id {
            Some(id) => {
                let custom = self
                    .tokens
                    .create_root(&self.barrier, Some(id), false)
                    .await?;
                if let Some(generated) = self.tokens.lookup(&self.barrier, &init.root_token).await?
                {
                    self.tokens
                        .revoke_tree(&self.barrier, &generated, "")
                        .await?;
                }
                custom
            }
            None => init.root_token,
        };
        Ok((key_b64, root))
    }
}

/// A rekey's state, as `sys/rotate/root/init` and `update` report it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RekeyStatus {
    /// New shares (0 when none started).
    pub n: u32,
    /// The rekey's nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Current keys given so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u32>,
    /// Current keys needed.
    pub required: u32,
    /// Whether a rekey is in progress.
    pub started: bool,
    /// New threshold.
    pub t: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_required: Option<bool>,
}

impl RekeyStatus {
    fn of(rekey: Option<&Rekey>, current: &SealConfig) -> RekeyStatus {
        match rekey {
            None => RekeyStatus {
                n: 0,
                nonce: None,
                progress: None,
                required: current.secret_threshold,
                started: false,
                t: 0,
                verification_nonce: None,
                verification_required: None,
            },
            Some(r) => RekeyStatus {
                n: r.config.secret_shares,
                nonce: Some(r.progress.nonce.clone()),
                progress: Some(r.progress.count() as u32),
                required: current.secret_threshold,
                started: true,
                t: r.config.secret_threshold,
                verification_nonce: Some(String::new()),
                verification_required: Some(false),
            },
        }
    }
}
