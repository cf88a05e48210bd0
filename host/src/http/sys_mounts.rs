//! `sys/mounts/<path>` and `sys/mounts/<path>/tune`: enable, read, tune, disable.

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::sys::with_top_level_copy;
use super::{ApiError, ApiRequest, ApiResponse};
use crate::core::Core;
use crate::secrets::{normalize_mount_path, parse_ttl, MountEntry, Operation};

/// Engines this server can mount.
const ENGINES: &[&str] = &["kv", "kv-v2", "generic"];
/// Paths no engine may be mounted at, or under.
const RESERVED: &[&str] = &["sys/", "auth/", "cubbyhole/", "identity/"];

fn ttl_field(config: &Map<String, Value>, name: &str) -> Result<Option<u64>, ApiError> {
    match config.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_ttl(v)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("invalid {name}: {v}"))),
    }
}

/// Routes one `sys/mounts/...` request.
pub async fn route(
    req: &ApiRequest,
    core: &Core,
    op: Operation,
    rest: &str,
) -> Result<ApiResponse, ApiError> {
    if let Some(path) = rest.strip_suffix("/tune") {
        return tune(req, core, op, path).await;
    }
    let path = normalize_mount_path(rest);
    match op {
        Operation::Read => {
            let table = core.mounts().read().await;
            let table = table.as_ref().ok_or_else(ApiError::sealed)?;
            match table.find(&path) {
                Some(m) => Ok(with_top_level_copy(m.to_api())),
                None => Err(ApiError::bad_request(format!("no mount at {path}"))),
            }
        }
        Operation::Create | Operation::Update => enable(req, core, &path).await,
        Operation::Delete => {
            if RESERVED.contains(&path.as_str()) {
                return Err(ApiError::bad_request(format!("cannot unmount {path:?}")));
            }
            let mut table = core.mounts().write().await;
            let table = table.as_mut().ok_or_else(ApiError::sealed)?;
            if table.remove(core.barrier(), &path).await? {
                tracing::info!(path = %path, "successfully unmounted");
            }
            Ok(ApiResponse::no_content())
        }
        _ => Err(ApiError::unsupported_operation()),
    }
}

async fn enable(req: &ApiRequest, core: &Core, path: &str) -> Result<ApiResponse, ApiError> {
    let body = req.body_map()?;
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if kind.is_empty() {
        return Err(ApiError::bad_request("missing mount type"));
    }
    if RESERVED.iter().any(|r| path.starts_with(r)) {
        return Err(ApiError::bad_request(format!("cannot mount {path:?}")));
    }
    if !ENGINES.contains(&kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "plugin not found in the catalog: {kind}"
        )));
    }
    let mut options: BTreeMap<String, String> = match body.get("options") {
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let kind = if kind == "kv-v2" {
        options.insert("version".into(), "2".into());
        "kv".to_string()
    } else {
        kind
    };
    if let Some(v) = options.get("version") {
        if v != "1" && v != "2" {
            return Err(ApiError::bad_request(format!(
                "invalid KV version {v:?}: expected 1 or 2"
            )));
        }
    }
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut entry = MountEntry::new("mounts", path, &kind, description, Some(options));
    if let Some(Value::Object(config)) = body.get("config") {
        entry.config.default_lease_ttl = ttl_field(config, "default_lease_ttl")?.unwrap_or(0);
        entry.config.max_lease_ttl = ttl_field(config, "max_lease_ttl")?.unwrap_or(0);
    }
    let mut table = core.mounts().write().await;
    let table = table.as_mut().ok_or_else(ApiError::sealed)?;
    if let Some(existing) = table
        .mounts
        .iter()
        .find(|m| path.starts_with(m.path.as_str()) || m.path.starts_with(path))
    {
        return Err(ApiError::bad_request(format!(
            "path is already in use at {}",
            existing.path
        )));
    }
    table.add(core.barrier(), entry).await?;
    tracing::info!(path = %path, r#type = %kind, "successful mount");
    Ok(ApiResponse::no_content())
}

async fn tune(
    req: &ApiRequest,
    core: &Core,
    op: Operation,
    rest: &str,
) -> Result<ApiResponse, ApiError> {
    let path = normalize_mount_path(rest);
    let mut guard = core.mounts().write().await;
    let table = guard.as_mut().ok_or_else(ApiError::sealed)?;
    let Some(mut entry) = table.find(&path).map(|m| MountEntry::clone(m)) else {
        return Err(ApiError::bad_request(format!("no mount at {path}")));
    };
    let system = core.system_default_ttl();
    match op {
        Operation::Read => {
            let or_system = |t: u64| if t == 0 { system } else { t };
            Ok(with_top_level_copy(json!({
                "default_lease_ttl": or_system(entry.config.default_lease_ttl),
                "description": entry.description,
                "force_no_cache": false,
                "max_lease_ttl": or_system(entry.config.max_lease_ttl),
                "options": entry.options,
            })))
        }
        Operation::Create | Operation::Update => {
            let body = req.body_map()?;
            if let Some(t) = ttl_field(&body, "default_lease_ttl")? {
                entry.config.default_lease_ttl = t;
            }
            if let Some(t) = ttl_field(&body, "max_lease_ttl")? {
                entry.config.max_lease_ttl = t;
            }
            if entry.config.max_lease_ttl > 0
                && entry.config.default_lease_ttl > entry.config.max_lease_ttl
            {
                return Err(ApiError::bad_request(
                    "default_lease_ttl cannot be greater than max_lease_ttl",
                ));
            }
            if let Some(Value::String(d)) = body.get("description") {
                entry.description = d.clone();
            }
            table.update(core.barrier(), entry).await?;
            Ok(ApiResponse::no_content())
        }
        _ => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, Vec::new())),
    }
}
