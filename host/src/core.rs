//! The server's shared state: storage, the barrier, the seal lifecycle and tokens.
//!
//! Every request handler gets an `Arc<Core>`. Until the server is initialised and
//! unsealed, only the raw `sys/` handlers answer; everything else is 503 "Vault is sealed".

use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::auth::{TokenEntry, TokenStore};
use crate::barrier::{Barrier, BarrierError, KeyStatus};
use crate::seal::{self, NewKeys, Progress, Rekey, SealConfig, SealError};
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

/// Shared server state.
pub struct Core {
    storage: Storage,
    barrier: Barrier,
    tokens: TokenStore,
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
    pub fn new(storage: Storage, cluster_name: Option<String>) -> Self {
        Core {
            barrier: Barrier::new(storage.clone()),
            storage,
            tokens: TokenStore::default(),
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
    pub fn barrier(&self) -> &Barrier {
        &self.barrier
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
            self.tokens.create_root(&self.barrier, None).await
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
        Ok(())
    }

    /// Drops every key from memory, and any unseal or rekey progress.
    async fn seal_now(&self) {
        let mut lifecycle = self.lifecycle.lock().await;
        self.barrier.seal();
        self.tokens.forget();
        lifecycle.unseal.reset();
        lifecycle.rekey = None;
        *self.cluster.write().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!("vault is sealed");
    }

    /// Looks a token up and requires the root policy (until ACL policies exist, root is
    /// the only holder of sudo).
    pub async fn require_root(
        &self,
        token: Option<&str>,
    ) -> Result<Result<TokenEntry, Denied>, BarrierError> {
        let Some(token) = token else {
            return Ok(Err(Denied::BadToken));
        };
        match self.tokens.lookup(&self.barrier, token).await? {
            None => Ok(Err(Denied::BadToken)),
            Some(entry) if entry.is_root() => Ok(Ok(entry)),
            Some(_) => Ok(Err(Denied::Policy)),
        }
    }

    /// `sys/seal`: nothing to check while already sealed or uninitialised, as Vault.
    pub async fn seal(&self, token: Option<&str>) -> Result<Result<(), Denied>, BarrierError> {
        if self.is_sealed() {
            return Ok(Ok(()));
        }
        if let Err(denied) = self.require_root(token).await? {
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
                let custom = self.tokens.create_root(&self.barrier, Some(id)).await?;
                self.tokens.revoke(&self.barrier, &init.root_token).await?;
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
