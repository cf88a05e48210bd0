//! KV version 2: versioned secrets with metadata, check-and-set and soft delete.
//!
//! Layout under the mount's prefix: `config` (the engine's settings),
//! `metadata/<key>` (versions and their states), `versions/<key>/<n>` (the data of each
//! live version; destroyed versions have none).

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::kv::folder;
use super::{check_key, LogicalRequest, LogicalResponse, Operation, View};
use crate::http::ApiError;

/// Versions kept when neither the key nor the mount says otherwise.
const DEFAULT_MAX_VERSIONS: u64 = 10;

fn now() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Vec::new())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct EngineConfig {
    max_versions: u64,
    cas_required: bool,
    delete_version_after: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VersionMeta {
    created_time: String,
    deletion_time: String,
    destroyed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyMeta {
    created_time: String,
    updated_time: String,
    current_version: u64,
    oldest_version: u64,
    max_versions: u64,
    cas_required: bool,
    delete_version_after: String,
    custom_metadata: Option<BTreeMap<String, String>>,
    versions: BTreeMap<u64, VersionMeta>,
}

impl KeyMeta {
    fn new() -> Self {
        let t = now();
        KeyMeta {
            created_time: t.clone(),
            updated_time: t,
            current_version: 0,
            oldest_version: 0,
            max_versions: 0,
            cas_required: false,
            delete_version_after: "0s".into(),
            custom_metadata: None,
            versions: BTreeMap::new(),
        }
    }

    fn version_json(&self, n: u64) -> Value {
        let v = self.versions.get(&n);
        json!({
            "created_time": v.map(|v| v.created_time.clone()).unwrap_or_default(),
            "custom_metadata": self.custom_metadata,
            "deletion_time": v.map(|v| v.deletion_time.clone()).unwrap_or_default(),
            "destroyed": v.is_some_and(|v| v.destroyed),
            "version": n,
        })
    }

    fn to_api(&self) -> Value {
        let versions: Map<String, Value> = self
            .versions
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    serde_json::to_value(v).unwrap_or(Value::Null),
                )
            })
            .collect();
        json!({
            "cas_required": self.cas_required,
            "created_time": self.created_time,
            "current_metadata_version": 0,
            "current_version": self.current_version,
            "custom_metadata": self.custom_metadata,
            "delete_version_after": self.delete_version_after,
            "max_versions": self.max_versions,
            "metadata_cas_required": false,
            "oldest_version": self.oldest_version,
            "updated_time": self.updated_time,
            "versions": versions,
        })
    }
}

fn versions_list(data: &Map<String, Value>) -> Result<Vec<u64>, ApiError> {
    let Some(Value::Array(items)) = data.get("versions") else {
        return Err(ApiError::bad_request("no version number provided"));
    };
    items
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| ApiError::bad_request("versions must be a list of version numbers"))
}

/// Handles one request against a KV v2 mount.
pub async fn handle(view: &View, req: &LogicalRequest<'_>) -> Result<LogicalResponse, ApiError> {
    check_key(req.path)?;
    let (section, key) = req.path.split_once('/').unwrap_or((req.path, ""));
    match (section, req.operation) {
        ("config", Operation::Read) => {
            let c: EngineConfig = view.get_json("config").await?.unwrap_or_default();
            Ok(LogicalResponse::data(json!({
                "cas_required": c.cas_required,
                "delete_version_after": if c.delete_version_after.is_empty() { "0s".to_string() } else { c.delete_version_after },
                "max_versions": c.max_versions,
                "metadata_cas_required": false,
            })))
        }
        ("config", Operation::Create | Operation::Update) => {
            let mut c: EngineConfig = view.get_json("config").await?.unwrap_or_default();
            if let Some(n) = req.data.get("max_versions").and_then(Value::as_u64) {
                c.max_versions = n;
            }
            if let Some(b) = req.data.get("cas_required").and_then(Value::as_bool) {
                c.cas_required = b;
            }
            view.put_json("config", &c).await?;
            Ok(LogicalResponse::empty())
        }
        ("data", op) if !key.is_empty() => data_op(view, req, key, op).await,
        ("metadata", op) => metadata_op(view, req, key, op).await,
        ("delete" | "undelete" | "destroy", Operation::Create | Operation::Update)
            if !key.is_empty() =>
        {
            let versions = versions_list(req.data)?;
            let Some(mut meta) = view.get_json::<KeyMeta>(&format!("metadata/{key}")).await? else {
                return Ok(LogicalResponse::empty());
            };
            for n in versions {
                let Some(v) = meta.versions.get_mut(&n) else {
                    continue;
                };
                match section {
                    "delete" if !v.destroyed => v.deletion_time = now(),
                    "undelete" if !v.destroyed => v.deletion_time.clear(),
                    "destroy" => {
                        v.destroyed = true;
                        view.delete(&format!("versions/{key}/{n}")).await?;
                    }
                    _ => {}
                }
            }
            meta.updated_time = now();
            view.put_json(&format!("metadata/{key}"), &meta).await?;
            Ok(LogicalResponse::empty())
        }
        _ => {
            let verb = if matches!(req.operation, Operation::Read | Operation::List) {
                "get"
            } else {
                "put"
            };
            Ok(LogicalResponse {
                status: Some(StatusCode::NOT_FOUND),
                warnings: vec![format!(
                    "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv {verb}' for this operation."
                )],
                ..Default::default()
            })
        }
    }
}

async fn max_versions(view: &View, meta: &KeyMeta) -> Result<u64, ApiError> {
    if meta.max_versions > 0 {
        return Ok(meta.max_versions);
    }
    let c: EngineConfig = view.get_json("config").await?.unwrap_or_default();
    Ok(if c.max_versions > 0 {
        c.max_versions
    } else {
        DEFAULT_MAX_VERSIONS
    })
}

async fn data_op(
    view: &View,
    req: &LogicalRequest<'_>,
    key: &str,
    op: Operation,
) -> Result<LogicalResponse, ApiError> {
    let meta_key = format!("metadata/{key}");
    match op {
        Operation::Read => {
            let Some(meta) = view.get_json::<KeyMeta>(&meta_key).await? else {
                return Err(not_found());
            };
            let n = match (req.query)("version").filter(|v| !v.is_empty() && v != "0") {
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| ApiError::bad_request("invalid version"))?,
                None => meta.current_version,
            };
            let Some(version) = meta.versions.get(&n) else {
                return Err(not_found());
            };
            let live = !version.destroyed && version.deletion_time.is_empty();
            let data: Option<Value> = if live {
                view.get_json(&format!("versions/{key}/{n}")).await?
            } else {
                None
            };
            Ok(LogicalResponse {
                status: (!live).then_some(StatusCode::NOT_FOUND),
                data: Some(json!({ "data": data, "metadata": meta.version_json(n) })),
                ..Default::default()
            })
        }
        Operation::Create | Operation::Update | Operation::Patch => {
            let mut meta = view
                .get_json::<KeyMeta>(&meta_key)
                .await?
                .unwrap_or_else(KeyMeta::new);
            let new_data = if op == Operation::Patch {
                if req.content_type != Some("application/merge-patch+json") {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        vec![format!(
                            "PATCH requires Content-Type of application/merge-patch+json, provided {}",
                            req.content_type.unwrap_or("")
                        )],
                    ));
                }
                let current = meta.versions.get(&meta.current_version);
                if meta.current_version == 0
                    || current.is_none_or(|v| v.destroyed || !v.deletion_time.is_empty())
                {
                    return Err(not_found());
                }
                let mut base: Value = view
                    .get_json(&format!("versions/{key}/{}", meta.current_version))
                    .await?
                    .unwrap_or(Value::Object(Map::new()));
                let patch = req
                    .data
                    .get("data")
                    .cloned()
                    .ok_or_else(|| ApiError::bad_request("no data provided"))?;
                merge_patch(&mut base, &patch);
                base
            } else {
                match req.data.get("data") {
                    Some(Value::Object(d)) => Value::Object(d.clone()),
                    _ => return Err(ApiError::bad_request("no data provided")),
                }
            };
            let config: EngineConfig = view.get_json("config").await?.unwrap_or_default();
            let cas = req
                .data
                .get("options")
                .and_then(|o| o.get("cas"))
                .and_then(Value::as_u64);
            if (meta.cas_required || config.cas_required) && cas.is_none() {
                return Err(ApiError::bad_request(
                    "check-and-set parameter required for this call",
                ));
            }
            if let Some(cas) = cas {
                if cas != meta.current_version {
                    return Err(ApiError::bad_request(
                        "check-and-set parameter did not match the current version",
                    ));
                }
            }
            let n = meta.current_version + 1;
            view.put_json(&format!("versions/{key}/{n}"), &new_data)
                .await?;
            let t = now();
            meta.versions.insert(
                n,
                VersionMeta {
                    created_time: t.clone(),
                    deletion_time: String::new(),
                    destroyed: false,
                },
            );
            meta.current_version = n;
            meta.updated_time = t;
            if meta.oldest_version == 0 {
                meta.oldest_version = 1;
            }
            let keep = max_versions(view, &meta).await?;
            while meta.versions.len() as u64 > keep {
                let Some((&oldest, _)) = meta.versions.iter().next() else {
                    break;
                };
                meta.versions.remove(&oldest);
                view.delete(&format!("versions/{key}/{oldest}")).await?;
                meta.oldest_version = oldest + 1;
            }
            view.put_json(&meta_key, &meta).await?;
            Ok(LogicalResponse::data(meta.version_json(n)))
        }
        Operation::Delete => {
            if let Some(mut meta) = view.get_json::<KeyMeta>(&meta_key).await? {
                let n = meta.current_version;
                if let Some(v) = meta.versions.get_mut(&n) {
                    if v.deletion_time.is_empty() && !v.destroyed {
                        v.deletion_time = now();
                    }
                }
                view.put_json(&meta_key, &meta).await?;
            }
            Ok(LogicalResponse::empty())
        }
        Operation::List | Operation::Scan => Err(ApiError::unsupported_operation()),
    }
}

async fn metadata_op(
    view: &View,
    req: &LogicalRequest<'_>,
    key: &str,
    op: Operation,
) -> Result<LogicalResponse, ApiError> {
    let meta_key = format!("metadata/{key}");
    match op {
        Operation::List | Operation::Scan => {
            let prefix = format!("metadata/{}", folder(key));
            let keys = if op == Operation::List {
                view.list(&prefix).await?
            } else {
                view.scan(&prefix).await?
            };
            if keys.is_empty() {
                return Err(not_found());
            }
            Ok(LogicalResponse::data(json!({ "keys": keys })))
        }
        Operation::Read => match view.get_json::<KeyMeta>(&meta_key).await? {
            Some(meta) if !key.is_empty() => Ok(LogicalResponse::data(meta.to_api())),
            _ => Err(not_found()),
        },
        Operation::Create | Operation::Update | Operation::Patch => {
            if key.is_empty() {
                return Err(ApiError::bad_request("missing path"));
            }
            let mut meta = view
                .get_json::<KeyMeta>(&meta_key)
                .await?
                .unwrap_or_else(KeyMeta::new);
            if let Some(n) = req.data.get("max_versions").and_then(Value::as_u64) {
                meta.max_versions = n;
            }
            if let Some(b) = req.data.get("cas_required").and_then(Value::as_bool) {
                meta.cas_required = b;
            }
            if let Some(Value::Object(custom)) = req.data.get("custom_metadata") {
                let parsed: Option<BTreeMap<String, String>> = custom
                    .iter()
                    .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect();
                meta.custom_metadata = Some(parsed.ok_or_else(|| {
                    ApiError::bad_request("custom_metadata values must be strings")
                })?);
            }
            if let Some(Value::String(d)) = req.data.get("delete_version_after") {
                meta.delete_version_after = d.clone();
            }
            meta.updated_time = now();
            view.put_json(&meta_key, &meta).await?;
            Ok(LogicalResponse::empty())
        }
        Operation::Delete => {
            view.delete_tree(&format!("versions/{key}/")).await?;
            view.delete(&meta_key).await?;
            Ok(LogicalResponse::empty())
        }
    }
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (k, v) in patch_map {
            if v.is_null() {
                target_map.remove(k);
            } else {
                merge_patch(target_map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}
