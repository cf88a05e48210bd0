//! Secrets engines and the mount table that routes requests to them.
//!
//! Each mount keeps its data under its own prefix, `logical/<uuid>/`, behind the
//! barrier, so disabling a mount removes exactly its data. The table itself is stored
//! one entry per mount (`core/mounts/<uuid>`, `core/local-mounts/<uuid>` for local
//! mounts such as cubbyhole, `core/auth/<uuid>` for auth methods), as OpenBao does, and
//! is loaded into memory at unseal.

pub mod cubbyhole;
pub mod kv;
pub mod kv2;

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::barrier::{Barrier, BarrierError};
use crate::http::ApiError;

/// Vault's system-wide default and maximum lease TTL: 768h.
pub const SYSTEM_DEFAULT_TTL: u64 = 2_764_800;

const MOUNTS_PREFIX: &str = "core/mounts/";
const LOCAL_MOUNTS_PREFIX: &str = "core/local-mounts/";
const AUTH_PREFIX: &str = "core/auth/";

/// A mount's tunable lease settings (seconds; 0 = the system default).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MountConfig {
    /// Default lease TTL.
    pub default_lease_ttl: u64,
    /// Maximum lease TTL.
    pub max_lease_ttl: u64,
    /// Kept for Vault's shape.
    pub force_no_cache: bool,
}

/// One entry of the mount table (Vault's stored shape).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MountEntry {
    /// `mounts` or `auth`.
    pub table: String,
    /// The mount path with a trailing `/` (`secret/`; `token/` for the token method).
    pub path: String,
    /// The engine type: `kv`, `cubbyhole`, `system`, `token`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Free text.
    pub description: String,
    /// Names the storage prefix `logical/<uuid>/`.
    pub uuid: String,
    /// `<type>_<8 hex>`.
    pub accessor: String,
    /// Lease settings.
    pub config: MountConfig,
    /// Engine options (`version` for kv).
    pub options: Option<BTreeMap<String, String>>,
    /// Local to this node (cubbyhole).
    pub local: bool,
    /// Kept for Vault's shape.
    pub seal_wrap: bool,
}

impl MountEntry {
    /// A new entry with fresh uuid and accessor.
    pub fn new(
        table: &str,
        path: &str,
        kind: &str,
        description: &str,
        options: Option<BTreeMap<String, String>>,
    ) -> Self {
        let uuid = uuid::Uuid::new_v4().to_string();
        let accessor_kind = if table == "auth" {
            format!("auth_{kind}")
        } else {
            kind.to_string()
        };
        MountEntry {
            table: table.to_string(),
            path: path.to_string(),
            kind: kind.to_string(),
            description: description.to_string(),
            accessor: format!("{accessor_kind}_{}", &uuid.replace('-', "")[..8]),
            uuid,
            config: MountConfig::default(),
            options,
            local: kind == "cubbyhole",
            seal_wrap: kind == "system",
        }
    }

    /// The KV version of a kv mount (1 unless `options.version` says 2).
    pub fn kv_version(&self) -> u8 {
        match self
            .options
            .as_ref()
            .and_then(|o| o.get("version"))
            .map(String::as_str)
        {
            Some("2") => 2,
            _ => 1,
        }
    }

    /// Where this mount's data lives.
    pub fn data_prefix(&self) -> String {
        // Built per request: pushes are cheaper than the formatting machinery.
        let mut prefix = String::with_capacity("logical//".len() + self.uuid.len());
        prefix.push_str("logical/");
        prefix.push_str(&self.uuid);
        prefix.push('/');
        prefix
    }

    fn storage_key(&self) -> String {
        let prefix = if self.table == "auth" {
            AUTH_PREFIX
        } else if self.local {
            LOCAL_MOUNTS_PREFIX
        } else {
            MOUNTS_PREFIX
        };
        format!("{prefix}{}", self.uuid)
    }

    /// The JSON clients see in `sys/mounts` (Vault's fields, sorted as Go prints them).
    pub fn to_api(&self) -> Value {
        let mut config = Map::new();
        config.insert(
            "default_lease_ttl".into(),
            self.config.default_lease_ttl.into(),
        );
        config.insert("force_no_cache".into(), self.config.force_no_cache.into());
        config.insert("max_lease_ttl".into(), self.config.max_lease_ttl.into());
        if self.kind == "token" {
            config.insert("token_type".into(), "default-service".into());
        }
        let mut v = Map::new();
        v.insert("accessor".into(), self.accessor.clone().into());
        v.insert("config".into(), Value::Object(config));
        if self.kind == "kv" {
            v.insert("deprecation_status".into(), "supported".into());
        }
        v.insert("description".into(), self.description.clone().into());
        v.insert("external_entropy_access".into(), false.into());
        v.insert("local".into(), self.local.into());
        v.insert(
            "options".into(),
            match &self.options {
                Some(o) => serde_json::to_value(o).unwrap_or(Value::Null),
                None => Value::Null,
            },
        );
        v.insert("plugin_version".into(), "".into());
        v.insert(
            "running_plugin_version".into(),
            format!("v{}+builtin", crate::VERSION).into(),
        );
        v.insert("running_sha256".into(), "".into());
        v.insert("seal_wrap".into(), self.seal_wrap.into());
        v.insert("type".into(), self.kind.clone().into());
        v.insert("uuid".into(), self.uuid.clone().into());
        Value::Object(v)
    }
}

/// The mount table in memory: secrets mounts and auth mounts.
#[derive(Debug, Clone, Default)]
pub struct MountTable {
    /// Secrets mounts, longest path first (so the first prefix match is the right one).
    /// Shared, so routing a request does not copy its mount's entry.
    pub mounts: Vec<Arc<MountEntry>>,
    /// Auth mounts (paths without the `auth/` prefix).
    pub auth: Vec<MountEntry>,
}

impl MountTable {
    fn sort(&mut self) {
        self.mounts
            .sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.path.cmp(&b.path)));
        self.auth.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// The mount serving `path`, and the path relative to it.
    pub fn route<'a>(&'a self, path: &'a str) -> Option<(&'a Arc<MountEntry>, &'a str)> {
        self.mounts.iter().find_map(|m| {
            if let Some(rest) = path.strip_prefix(m.path.as_str()) {
                Some((m, rest))
            } else if path == m.path.trim_end_matches('/') {
                Some((m, ""))
            } else {
                None
            }
        })
    }

    /// The mount whose path is exactly `path` (with or without the trailing `/`).
    pub fn find(&self, path: &str) -> Option<&Arc<MountEntry>> {
        let want = normalize_mount_path(path);
        self.mounts.iter().find(|m| m.path == want)
    }

    /// Loads the table stored behind the barrier.
    pub async fn load(barrier: &Barrier) -> Result<MountTable, BarrierError> {
        let mut table = MountTable::default();
        for prefix in [MOUNTS_PREFIX, LOCAL_MOUNTS_PREFIX, AUTH_PREFIX] {
            for name in barrier.list(prefix).await? {
                let key = format!("{prefix}{name}");
                let Some(raw) = barrier.get(&key).await? else {
                    continue;
                };
                let entry: MountEntry =
                    serde_json::from_slice(&raw).map_err(|e| BarrierError::Format {
                        key: key.clone(),
                        reason: format!("mount entry is not valid JSON: {e}"),
                    })?;
                if entry.table == "auth" {
                    table.auth.push(entry);
                } else {
                    table.mounts.push(Arc::new(entry));
                }
            }
        }
        table.sort();
        Ok(table)
    }

    /// Stores one entry and adds it to the table.
    pub async fn add(&mut self, barrier: &Barrier, entry: MountEntry) -> Result<(), BarrierError> {
        let json = serde_json::to_vec(&entry).unwrap_or_default();
        barrier.put(&entry.storage_key(), &json).await?;
        if entry.table == "auth" {
            self.auth.push(entry);
        } else {
            self.mounts.push(Arc::new(entry));
        }
        self.sort();
        Ok(())
    }

    /// Rewrites one entry (after a tune).
    pub async fn update(
        &mut self,
        barrier: &Barrier,
        entry: MountEntry,
    ) -> Result<(), BarrierError> {
        let json = serde_json::to_vec(&entry).unwrap_or_default();
        barrier.put(&entry.storage_key(), &json).await?;
        if let Some(slot) = self.mounts.iter_mut().find(|m| m.uuid == entry.uuid) {
            *slot = Arc::new(entry);
        }
        Ok(())
    }

    /// Removes a secrets mount and every value under its prefix.
    pub async fn remove(&mut self, barrier: &Barrier, path: &str) -> Result<bool, BarrierError> {
        let want = normalize_mount_path(path);
        let Some(index) = self.mounts.iter().position(|m| m.path == want) else {
            return Ok(false);
        };
        let entry = self.mounts[index].clone();
        delete_tree(barrier, &entry.data_prefix()).await?;
        barrier.delete(&entry.storage_key()).await?;
        self.mounts.remove(index);
        Ok(true)
    }

    /// The mounts a new server starts with: `sys/`, `cubbyhole/`, `secret/` (KV v1, as in
    /// the deploy guide's Vault) and the `token/` auth method.
    pub async fn create_defaults(barrier: &Barrier) -> Result<MountTable, BarrierError> {
        let mut table = MountTable::default();
        let v1 = BTreeMap::from([("version".to_string(), "1".to_string())]);
        for entry in [
            MountEntry::new(
                "mounts",
                "sys/",
                "system",
                "system endpoints used for control, policy and debugging",
                None,
            ),
            MountEntry::new(
                "mounts",
                "cubbyhole/",
                "cubbyhole",
                "per-token private secret storage",
                None,
            ),
            MountEntry::new(
                "mounts",
                "secret/",
                "kv",
                "key/value secret storage",
                Some(v1),
            ),
            MountEntry::new("auth", "token/", "token", "token based credentials", None),
        ] {
            table.add(barrier, entry).await?;
        }
        Ok(table)
    }
}

/// `secret` and `/secret/` both mean `secret/`.
pub fn normalize_mount_path(path: &str) -> String {
    format!("{}/", path.trim_matches('/'))
}

/// Deletes every key under `prefix`, depth first.
pub async fn delete_tree(barrier: &Barrier, prefix: &str) -> Result<(), BarrierError> {
    let mut stack = vec![prefix.to_string()];
    while let Some(dir) = stack.pop() {
        for name in barrier.list(&dir).await? {
            let key = format!("{dir}{name}");
            if key.ends_with('/') {
                stack.push(key);
            } else {
                barrier.delete(&key).await?;
            }
        }
    }
    Ok(())
}

/// Every leaf key under `prefix`, relative to it, sorted.
pub async fn scan_tree(barrier: &Barrier, prefix: &str) -> Result<Vec<String>, BarrierError> {
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        for name in barrier.list(&format!("{prefix}{rel}")).await? {
            let key = format!("{rel}{name}");
            if key.ends_with('/') {
                stack.push(key);
            } else {
                out.push(key);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What a client asked a secrets engine to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// GET.
    Read,
    /// PUT/POST on a path that does not exist yet.
    Create,
    /// PUT/POST on a path that exists.
    Update,
    /// DELETE.
    Delete,
    /// LIST or `?list=true`.
    List,
    /// SCAN or `?scan=true` (recursive list).
    Scan,
    /// PATCH.
    Patch,
}

/// A request as an engine sees it.
pub struct LogicalRequest<'a> {
    /// The operation.
    pub operation: Operation,
    /// The path relative to the mount.
    pub path: &'a str,
    /// The JSON body (empty when none).
    pub data: &'a Map<String, Value>,
    /// The query parameters.
    pub query: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// The request's Content-Type, for PATCH.
    pub content_type: Option<&'a str>,
    /// The mount.
    pub mount: &'a MountEntry,
    /// The system default lease TTL (seconds).
    pub system_default_ttl: u64,
}

/// What an engine answers.
#[derive(Debug, Default)]
pub struct LogicalResponse {
    /// 200 with an envelope when `data` is set, 204 otherwise, unless `status` says.
    pub status: Option<StatusCode>,
    /// The `data` of the envelope.
    pub data: Option<Value>,
    /// The `data` of the envelope as JSON text, copied into the response unparsed; takes
    /// the place of `data` when set.
    pub raw_data: Option<RawJson>,
    /// Envelope warnings.
    pub warnings: Vec<String>,
    /// The envelope's `lease_duration`.
    pub lease_duration: u64,
}

impl LogicalResponse {
    /// 200 with data.
    pub fn data(data: Value) -> Self {
        LogicalResponse {
            data: Some(data),
            ..Default::default()
        }
    }

    /// 204.
    pub fn empty() -> Self {
        LogicalResponse::default()
    }
}

/// The JSON text of an object, as decrypted from storage. Zeroed when dropped; its Debug
/// form shows the length only, since the text is a secret.
pub struct RawJson(zeroize::Zeroizing<Vec<u8>>);

impl RawJson {
    /// Wraps text that the caller has checked is one JSON object.
    pub fn new(text: zeroize::Zeroizing<Vec<u8>>) -> Self {
        RawJson(text)
    }

    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawJson({} bytes)", self.0.len())
    }
}

/// A view of the barrier under one prefix.
#[derive(Clone)]
pub struct View {
    barrier: Arc<Barrier>,
    prefix: String,
}

impl View {
    /// A view of `barrier` under `prefix` (which ends with `/`).
    pub fn new(barrier: Arc<Barrier>, prefix: String) -> Self {
        View { barrier, prefix }
    }

    /// Reads and parses a JSON value.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.get_raw(key).await? {
            None => Ok(None),
            Some(raw) => parse_stored(key, &raw).map(Some),
        }
    }

    /// Reads a value's decrypted bytes.
    pub async fn get_raw(
        &self,
        key: &str,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ApiError> {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        Ok(self.barrier.get(&full).await?)
    }

    /// Serialises and writes a JSON value.
    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), ApiError> {
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(value).map_err(|e| ApiError::internal(e.to_string()))?,
        );
        Ok(self
            .barrier
            .put(&format!("{}{key}", self.prefix), &json)
            .await?)
    }

    /// Deletes a value.
    pub async fn delete(&self, key: &str) -> Result<(), ApiError> {
        Ok(self
            .barrier
            .delete(&format!("{}{key}", self.prefix))
            .await?)
    }

    /// Lists children.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        Ok(self
            .barrier
            .list(&format!("{}{prefix}", self.prefix))
            .await?)
    }

    /// Every leaf under `prefix`, relative to it.
    pub async fn scan(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        Ok(scan_tree(&self.barrier, &format!("{}{prefix}", self.prefix)).await?)
    }

    /// Deletes everything under `prefix`.
    pub async fn delete_tree(&self, prefix: &str) -> Result<(), ApiError> {
        Ok(delete_tree(&self.barrier, &format!("{}{prefix}", self.prefix)).await?)
    }

    /// A view one level down.
    pub fn sub(&self, prefix: &str) -> View {
        View {
            barrier: self.barrier.clone(),
            prefix: format!("{}{prefix}", self.prefix),
        }
    }
}

/// Parses a stored JSON value, with the error a corrupt one gets.
pub fn parse_stored<T: serde::de::DeserializeOwned>(key: &str, raw: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(raw)
        .map_err(|e| ApiError::internal(format!("stored value at {key:?} is not valid JSON: {e}")))
}

/// The longest key segment and whole key a client may use (file systems refuse longer
/// names; every backend gets the same limit).
const MAX_SEGMENT_BYTES: usize = 255;
const MAX_KEY_BYTES: usize = 4096;

/// Refuses keys that no backend can store, with a 400 that says why.
pub fn check_key(path: &str) -> Result<(), ApiError> {
    if path.len() > MAX_KEY_BYTES {
        return Err(ApiError::bad_request(format!(
            "key is too long: {} bytes, at most {MAX_KEY_BYTES}",
            path.len()
        )));
    }
    if let Some(segment) = path.split('/').find(|s| s.len() > MAX_SEGMENT_BYTES) {
        return Err(ApiError::bad_request(format!(
            "key segment is too long: {} bytes, at most {MAX_SEGMENT_BYTES}",
            segment.len()
        )));
    }
    Ok(())
}

/// Parses a TTL given as seconds or a duration string (`"10m"`).
pub fn parse_ttl(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<u64>() {
                return Some(n);
            }
            crate::config::parse_duration(s).ok().map(|d| d.as_secs())
        }
        _ => None,
    }
}
