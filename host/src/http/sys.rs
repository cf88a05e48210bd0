//! `sys/` handlers: the raw ones that answer in every seal state (init, seal-status,
//! unseal, seal, health, leader), and the key-management ones that need an unsealed
//! server and the root token (rotate, key-status, rotate/root).

use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use serde_json::{json, Map, Value};

use super::logical::Caller;
use super::request::Envelope;
use super::{ApiError, ApiRequest, ApiResponse};
use crate::core::Core;
use crate::seal::{self, SealConfig};
use crate::secrets::Operation;

/// Raw handlers; `None` when the path is not one of them.
pub async fn raw_route(req: &ApiRequest, core: &Core) -> Option<Result<ApiResponse, ApiError>> {
    let result = match req.path() {
        "sys/health" => health(req, core).await,
        "sys/leader" => leader(req),
        "sys/init" => init(req, core).await,
        "sys/seal-status" => seal_status(req, core).await,
        "sys/unseal" => unseal(req, core).await,
        "sys/seal" => seal(req, core).await,
        _ => return None,
    };
    Some(result)
}

/// Handlers behind the authenticated pipeline (the caller passed the ACL check for
/// `op` on the request path); `None` when the path is not a `sys/` endpoint.
pub async fn route(
    req: &ApiRequest,
    core: &Core,
    op: Operation,
    caller: &Caller<'_>,
) -> Option<Result<ApiResponse, ApiError>> {
    let path = req.path();
    let result = match path {
        "sys/rotate" => rotate(req, core).await,
        "sys/key-status" => key_status(req, core).await,
        "sys/rotate/root/init" => rekey_init(req, core).await,
        "sys/rotate/root/update" => rekey_update(req, core).await,
        "sys/mounts" => list_mounts(core, false).await,
        "sys/auth" => list_mounts(core, true).await,
        "sys/policies/acl" | "sys/policies/acl/" if op == Operation::List => {
            list_policies(core).await
        }
        "sys/policy" | "sys/policy/" => legacy_list_policies(core).await,
        "sys/capabilities-self" | "sys/capabilities" => capabilities(req, core, caller).await,
        p if p.starts_with("sys/internal/ui/mounts/") => {
            ui_mount(core, caller, &p["sys/internal/ui/mounts/".len()..]).await
        }
        p if p.starts_with("sys/mounts/") => {
            super::sys_mounts::route(req, core, op, &p["sys/mounts/".len()..]).await
        }
        p if p.starts_with("sys/policies/acl/") => {
            policy(req, core, op, &p["sys/policies/acl/".len()..], false).await
        }
        p if p.starts_with("sys/policy/") => {
            policy(req, core, op, &p["sys/policy/".len()..], true).await
        }
        _ => return None,
    };
    Some(result)
}

/// Vault's legacy `sys/` endpoints repeat every `data` key at the top level.
pub fn with_top_level_copy(data: Value) -> ApiResponse {
    let mut body = match serde_json::to_value(Envelope::new(data.clone())) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Value::Object(d) = data {
        for (k, v) in d {
            body.entry(k).or_insert(v);
        }
    }
    ApiResponse::ok(&Value::Object(body))
}

async fn list_mounts(core: &Core, auth: bool) -> Result<ApiResponse, ApiError> {
    let table = core.mounts().read().await;
    let table = table.as_ref().ok_or_else(ApiError::sealed)?;
    let map: Map<String, Value> = if auth {
        table
            .auth
            .iter()
            .map(|m| (m.path.clone(), m.to_api()))
            .collect()
    } else {
        table
            .mounts
            .iter()
            .map(|m| (m.path.clone(), m.to_api()))
            .collect()
    };
    Ok(with_top_level_copy(Value::Object(map)))
}

async fn ui_mount(core: &Core, caller: &Caller<'_>, path: &str) -> Result<ApiResponse, ApiError> {
    let table = core.mounts().read().await;
    let table = table.as_ref().ok_or_else(ApiError::sealed)?;
    let denied = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            vec![format!(
                "preflight capability check returned 403, please ensure client's policies grant access to path \"{}\"",
                crate::secrets::kv::folder(path)
            )],
        )
    };
    let Some((mount, _)) = table.route(path) else {
        return Err(denied());
    };
    // The caller needs some capability somewhere under the mount.
    if !caller.acl.has_any_under(&mount.path) {
        return Err(denied());
    }
    let mut data = mount.to_api();
    if let Value::Object(m) = &mut data {
        m.insert("path".into(), mount.path.clone().into());
    }
    Ok(ApiResponse::envelope(&data))
}

async fn list_policies(core: &Core) -> Result<ApiResponse, ApiError> {
    let mut keys = core.policy_names().await?;
    for builtin in ["default", "root"] {
        if !keys.iter().any(|k| k == builtin) {
            keys.push(builtin.to_string());
        }
    }
    keys.sort();
    Ok(ApiResponse::envelope(&json!({ "keys": keys })))
}

async fn legacy_list_policies(core: &Core) -> Result<ApiResponse, ApiError> {
    let mut keys = core.policy_names().await?;
    for builtin in ["default", "root"] {
        if !keys.iter().any(|k| k == builtin) {
            keys.push(builtin.to_string());
        }
    }
    keys.sort();
    Ok(with_top_level_copy(
        json!({ "keys": keys, "policies": keys }),
    ))
}

async fn policy(
    req: &ApiRequest,
    core: &Core,
    op: Operation,
    name: &str,
    legacy: bool,
) -> Result<ApiResponse, ApiError> {
    let name = name.trim_end_matches('/').to_ascii_lowercase();
    if name.is_empty() {
        return Err(ApiError::bad_request("missing policy name"));
    }
    let rules_key = if legacy { "rules" } else { "policy" };
    match op {
        Operation::Read => {
            let (raw, version, modified) = if name == "root" {
                (String::new(), 0, None)
            } else {
                match core.read_policy(&name).await? {
                    Some(p) => (p.raw, p.version, Some(p.modified)),
                    None if name == "default" => {
                        (crate::policy::DEFAULT_POLICY.to_string(), 0, None)
                    }
                    None => return Err(ApiError::new(StatusCode::NOT_FOUND, Vec::new())),
                }
            };
            let mut data = Map::new();
            data.insert("name".into(), name.clone().into());
            data.insert(rules_key.into(), raw.into());
            if !legacy {
                data.insert("allow_slashes_in_identity_templates".into(), false.into());
                data.insert("allow_wildcards_in_identity_templates".into(), false.into());
                data.insert("cas_required".into(), false.into());
                data.insert("version".into(), version.into());
                if let Some(m) = modified {
                    data.insert("modified".into(), m.into());
                }
                return Ok(ApiResponse::envelope(&Value::Object(data)));
            }
            Ok(with_top_level_copy(Value::Object(data)))
        }
        Operation::Create | Operation::Update => {
            if name == "root" {
                return Err(ApiError::bad_request("cannot update \"root\" policy"));
            }
            let body = req.body_map()?;
            let (raw, deprecated) = match (body.get("policy"), body.get("rules")) {
                (Some(Value::String(p)), _) => (p.clone(), false),
                (None, Some(Value::String(r))) => (r.clone(), true),
                _ => (String::new(), false),
            };
            if raw.trim().is_empty() {
                return Err(ApiError::bad_request(
                    "'policy' parameter not supplied or empty",
                ));
            }
            let parsed = crate::policy::parse(&name, &raw)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            core.write_policy(&parsed).await?;
            if deprecated {
                let mut body = Envelope::new(Value::Null);
                body.warnings = Some(vec![
                    "'rules' is deprecated, please use 'policy' instead".into()
                ]);
                return Ok(ApiResponse::ok(&body));
            }
            Ok(ApiResponse::no_content())
        }
        Operation::Delete => {
            if name == "root" {
                return Err(ApiError::bad_request("cannot delete \"root\" policy"));
            }
            if name == "default" {
                return Err(ApiError::bad_request("cannot delete default policy"));
            }
            core.delete_policy(&name).await?;
            Ok(ApiResponse::no_content())
        }
        Operation::List | Operation::Scan => list_policies(core).await,
        Operation::Patch => Err(ApiError::unsupported_operation()),
    }
}

async fn capabilities(
    req: &ApiRequest,
    core: &Core,
    caller: &Caller<'_>,
) -> Result<ApiResponse, ApiError> {
    let body = req.body_map()?;
    let acl = match body
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| *t != caller.token && !t.is_empty())
    {
        Some(other) if req.path() == "sys/capabilities" => {
            let entry = core
                .tokens()
                .lookup(core.barrier(), other)
                .await?
                .ok_or_else(ApiError::permission_denied)?;
            core.acl(&entry).await?
        }
        _ => core.acl(&caller.entry).await?,
    };
    let mut paths: Vec<String> = match body.get("paths") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        _ => Vec::new(),
    };
    let single = body.get("path").and_then(Value::as_str).map(str::to_string);
    if let Some(p) = &single {
        paths.push(p.clone());
    }
    if paths.is_empty() {
        return Err(ApiError::bad_request("'paths' must be specified"));
    }
    let mut data = Map::new();
    for p in &paths {
        let names: Vec<&str> = if acl.is_root() {
            vec!["root"]
        } else {
            let caps = acl.capabilities(p.trim_start_matches('/'));
            if caps.is_empty() {
                vec!["deny"]
            } else {
                caps.names()
            }
        };
        data.insert(p.clone(), json!(names));
        if single.as_deref() == Some(p.as_str()) {
            data.insert("capabilities".into(), json!(names));
        }
    }
    Ok(with_top_level_copy(Value::Object(data)))
}

fn is_write(req: &ApiRequest) -> bool {
    req.method() == Method::PUT || req.method() == Method::POST
}

#[derive(Serialize)]
struct Health {
    initialized: bool,
    sealed: bool,
    standby: bool,
    /// Not in OpenBao's body, but vaultrs requires it.
    performance_standby: bool,
    replication_performance_mode: &'static str,
    replication_dr_mode: &'static str,
    server_time_utc: u64,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_id: Option<String>,
}

fn status_override(
    req: &ApiRequest,
    name: &str,
    default: StatusCode,
) -> Result<StatusCode, ApiError> {
    match req.query(name) {
        None => Ok(default),
        // A bad override is a clean 400 (the Go server panics on out-of-range codes).
        Some(raw) => raw
            .parse::<u16>()
            .ok()
            .and_then(|code| StatusCode::from_u16(code).ok())
            .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, Vec::new())),
    }
}

async fn health(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ApiError::method_not_allowed());
    }
    // Parse every override first, so a malformed one is always a 400.
    for name in ["uninitcode", "sealedcode", "activecode", "standbycode"] {
        status_override(req, name, StatusCode::OK)?;
    }
    let initialized = core.is_initialized().await?;
    let sealed = core.is_sealed();
    let status = if !initialized {
        status_override(req, "uninitcode", StatusCode::NOT_IMPLEMENTED)?
    } else if sealed {
        status_override(req, "sealedcode", StatusCode::SERVICE_UNAVAILABLE)?
    } else {
        status_override(req, "activecode", StatusCode::OK)?
    };
    let mode = if sealed { "unknown" } else { "disabled" };
    let cluster = if sealed { None } else { core.cluster() };
    let body = Health {
        initialized,
        sealed,
        standby: sealed,
        performance_standby: false,
        replication_performance_mode: mode,
        replication_dr_mode: mode,
        server_time_utc: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        version: crate::VERSION,
        cluster_name: cluster.as_ref().map(|c| c.name.clone()),
        cluster_id: cluster.map(|c| c.id),
    };
    Ok(ApiResponse::json(status, &body))
}

fn leader(req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    #[derive(Serialize)]
    struct Leader {
        ha_enabled: bool,
    }
    Ok(ApiResponse::ok(&Leader { ha_enabled: false }))
}

#[derive(Deserialize)]
struct InitRequest {
    secret_shares: Option<i64>,
    secret_threshold: Option<i64>,
    pgp_keys: Option<Vec<String>>,
    root_token_pgp_key: Option<String>,
}

async fn init(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    #[derive(Serialize)]
    struct Initialized {
        initialized: bool,
    }
    #[derive(Serialize)]
    struct InitResponse {
        keys: Vec<String>,
        keys_base64: Vec<String>,
        root_token: String,
    }
    if req.method() == Method::GET {
        return Ok(ApiResponse::ok(&Initialized {
            initialized: core.is_initialized().await?,
        }));
    }
    if !is_write(req) {
        return Err(ApiError::method_not_allowed());
    }
    let body: InitRequest = req.json()?;
    if body.pgp_keys.is_some_and(|k| !k.is_empty())
        || body.root_token_pgp_key.is_some_and(|k| !k.is_empty())
    {
        return Err(ApiError::bad_request(
            "PGP-encrypted unseal keys and root tokens are not supported by this server",
        ));
    }
    let config = SealConfig::new(
        body.secret_shares.unwrap_or(0),
        body.secret_threshold.unwrap_or(0),
    )
    .map_err(|e| {
        tracing::error!(error = %e, "invalid seal configuration");
        ApiError::from(e)
    })?;
    let output = core.initialize(&config).await?;
    Ok(ApiResponse::ok(&InitResponse {
        keys: output.keys.hex(),
        keys_base64: output.keys.base64(),
        root_token: output.root_token.to_string(),
    }))
}

async fn seal_status(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    Ok(ApiResponse::ok(&core.seal_status().await?))
}

#[derive(Deserialize)]
struct UnsealRequest {
    key: Option<String>,
    reset: Option<bool>,
}

async fn unseal(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if !is_write(req) {
        return Err(ApiError::method_not_allowed());
    }
    let body: UnsealRequest = req.json()?;
    if body.reset == Some(true) {
        return Ok(ApiResponse::ok(&core.reset_unseal().await?));
    }
    let key = match body.key.as_deref() {
        Some(k) if !k.is_empty() => k,
        _ => {
            if !core.is_initialized().await? {
                return Err(ApiError::bad_request("Vault is not initialized"));
            }
            return Err(ApiError::bad_request(
                "'key' must be specified in request body as JSON, or 'reset' set to true",
            ));
        }
    };
    if !core.is_initialized().await? {
        return Err(ApiError::bad_request("Vault is not initialized"));
    }
    if !core.is_sealed() {
        return Ok(ApiResponse::ok(&core.seal_status().await?));
    }
    let key = seal::decode_key(key)?;
    Ok(ApiResponse::ok(&core.submit_unseal_key(key).await?))
}

async fn seal(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if !is_write(req) {
        return Err(ApiError::method_not_allowed());
    }
    core.seal(req.token()).await??;
    Ok(ApiResponse::no_content())
}

async fn rotate(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if !is_write(req) {
        return Err(ApiError::unsupported_operation());
    }
    core.rotate().await?;
    Ok(ApiResponse::no_content())
}

async fn key_status(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::unsupported_operation());
    }
    #[derive(Serialize, Clone)]
    struct KeyStatusData {
        encryptions: u64,
        install_time: String,
        term: u32,
    }
    /// Vault copies `data` to the top level of this legacy endpoint, for old clients.
    #[derive(Serialize)]
    struct KeyStatusBody {
        term: u32,
        install_time: String,
        encryptions: u64,
        #[serde(flatten)]
        envelope: super::request::Envelope<KeyStatusData>,
    }
    let status = core.key_status()?;
    let data = KeyStatusData {
        encryptions: status.encryptions,
        install_time: status.install_time.clone(),
        term: status.term,
    };
    Ok(ApiResponse::ok(&KeyStatusBody {
        term: status.term,
        install_time: status.install_time,
        encryptions: status.encryptions,
        envelope: super::request::Envelope::new(data),
    }))
}

async fn rekey_init(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    match req.method() {
        Method::GET => Ok(ApiResponse::envelope(&core.rekey_status().await?)),
        Method::DELETE => {
            core.rekey_cancel().await;
            Ok(ApiResponse::no_content())
        }
        Method::PUT | Method::POST => {
            let body: InitRequest = req.json()?;
            if body.pgp_keys.is_some_and(|k| !k.is_empty()) {
                return Err(ApiError::bad_request(
                    "PGP-encrypted unseal keys are not supported by this server",
                ));
            }
            let config = SealConfig::new(
                body.secret_shares.unwrap_or(0),
                body.secret_threshold.unwrap_or(0),
            )?;
            Ok(ApiResponse::envelope(&core.rekey_start(config).await?))
        }
        _ => Err(ApiError::unsupported_operation()),
    }
}

async fn rekey_update(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if !is_write(req) {
        return Err(ApiError::unsupported_operation());
    }
    #[derive(Deserialize)]
    struct UpdateRequest {
        key: Option<String>,
        nonce: Option<String>,
    }
    #[derive(Serialize)]
    struct Complete {
        backup: bool,
        complete: bool,
        keys: Vec<String>,
        keys_base64: Vec<String>,
        nonce: String,
        pgp_fingerprints: Option<()>,
        verification_nonce: String,
        verification_required: bool,
    }
    let body: UpdateRequest = req.json()?;
    let Some(key) = body.key.filter(|k| !k.is_empty()) else {
        return Err(ApiError::bad_request(
            "'key' must be specified in request body as JSON",
        ));
    };
    let key = seal::decode_key(&key)?;
    let nonce = body.nonce.unwrap_or_default();
    let (status, done) = core.rekey_update(&nonce, key).await?;
    match done {
        None => Ok(ApiResponse::envelope(&status)),
        Some(keys) => Ok(ApiResponse::envelope(&Complete {
            backup: false,
            complete: true,
            keys: keys.hex(),
            keys_base64: keys.base64(),
            nonce,
            pgp_fingerprints: None,
            verification_nonce: String::new(),
            verification_required: false,
        })),
    }
}
