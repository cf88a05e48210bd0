//! The authenticated request pipeline for every path that is not a raw `sys/` handler:
//! token → operation → ACL check (the same for `sys/`, `auth/token/` and mounts) →
//! handler → Vault's envelope.

use hyper::StatusCode;
use serde_json::{Map, Value};

use super::{sys, token, ApiError, ApiRequest, ApiResponse};
use crate::auth::TokenEntry;
use crate::core::Core;
use crate::policy::{Acl, Capability};
use crate::secrets::{cubbyhole, kv, kv2, LogicalRequest, LogicalResponse, Operation, View};

/// Everything a handler may need about the caller.
pub struct Caller<'a> {
    /// The token as sent.
    pub token: &'a str,
    /// Its entry.
    pub entry: std::sync::Arc<TokenEntry>,
    /// Its ACL.
    pub acl: std::sync::Arc<Acl>,
}

/// Paths that need `sudo` as well as the operation's capability (Vault's root paths).
fn needs_sudo(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "sys/rotate",
        "sys/seal",
        "sys/step-down",
        "auth/token/create-orphan",
    ];
    const PREFIX: &[&str] = &[
        "sys/rotate/root/",
        "sys/raw",
        "sys/audit",
        "sys/auth/",
        "sys/remount",
        "auth/token/accessors",
        "auth/token/revoke-orphan",
    ];
    EXACT.contains(&path) || PREFIX.iter().any(|p| path.starts_with(p))
}

fn capability(op: Operation) -> Capability {
    match op {
        Operation::Read => Capability::Read,
        Operation::Create => Capability::Create,
        Operation::Update => Capability::Update,
        Operation::Delete => Capability::Delete,
        Operation::List => Capability::List,
        Operation::Scan => Capability::Scan,
        Operation::Patch => Capability::Patch,
    }
}

/// The operation a method asks for; `Create` is refined to `Update` by existence checks.
fn operation(req: &ApiRequest) -> Result<Operation, ApiError> {
    let flag = |name: &str| req.query(name).is_some_and(|v| v == "true" || v == "1");
    match req.method().as_str() {
        "GET" | "HEAD" if flag("list") => Ok(Operation::List),
        "GET" | "HEAD" if flag("scan") => Ok(Operation::Scan),
        "GET" | "HEAD" => Ok(Operation::Read),
        "LIST" => Ok(Operation::List),
        "SCAN" => Ok(Operation::Scan),
        "PUT" | "POST" => Ok(Operation::Create),
        "DELETE" => Ok(Operation::Delete),
        "PATCH" => Ok(Operation::Patch),
        "OPTIONS" => Err(ApiError::bad_request(
            "cannot handle internal-only request operation",
        )),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Authenticates, authorises and runs a request.
pub async fn dispatch(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    let path = req.path();
    // Vault turns the legacy unauthenticated rekey endpoints off, for every caller.
    if path == "sys/rekey" || path.starts_with("sys/rekey/") {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            vec!["unsupported operation".into()],
        ));
    }
    let mut op = operation(req)?;
    let token = req
        .token()
        .filter(|t| !t.is_empty())
        .ok_or_else(ApiError::permission_denied)?;
    let entry = core
        .tokens()
        .lookup(core.barrier(), token)
        .await?
        .ok_or_else(ApiError::permission_denied)?;
    let acl = core.acl(&entry).await?;

    // `sys/internal/ui/mounts/PATH` runs its own preflight check on PATH.
    let preflight = path.starts_with("sys/internal/ui/mounts");
    // Create and update differ only for the ACL check: skip the existence lookup (a
    // storage read) when the caller may do both.
    if op == Operation::Create {
        let both = acl.allows(path, Capability::Create, needs_sudo(path))
            && acl.allows(path, Capability::Update, needs_sudo(path));
        if both || exists(core, req, path).await? {
            op = Operation::Update;
        }
    }
    let acl_path = if matches!(op, Operation::List | Operation::Scan)
        && !path.ends_with('/')
        && !path.starts_with("sys/")
    {
        // Vault authorises a list of `secret/app` as `secret/app/`.
        format!("{path}/")
    } else {
        path.to_string()
    };
    if !preflight && !acl.allows(&acl_path, capability(op), needs_sudo(path)) {
        return Err(ApiError::policy_denied());
    }
    if entry.num_uses > 0
        && !core
            .tokens()
            .use_once(core.barrier(), &entry, &core.cubbyhole_prefix().await)
            .await?
    {
        // Concurrent requests used up the token since it was looked up.
        return Err(ApiError::policy_denied());
    }
    let caller = Caller { token, entry, acl };

    if path == "sys" || path.starts_with("sys/") {
        return match sys::route(req, core, op, &caller).await {
            Some(r) => r,
            None => Err(ApiError::unsupported_path()),
        };
    }
    if let Some(rest) = path.strip_prefix("auth/token/") {
        return token::route(req, core, rest, op, &caller).await;
    }
    mount_request(req, core, op, &caller).await
}

/// Whether a write targets something that exists (create vs update, as Vault's
/// existence checks decide).
async fn exists(core: &Core, req: &ApiRequest, path: &str) -> Result<bool, ApiError> {
    if let Some(name) = path
        .strip_prefix("sys/policies/acl/")
        .or_else(|| path.strip_prefix("sys/policy/"))
    {
        return Ok(core.read_policy(name).await?.is_some());
    }
    if let Some(mount) = path.strip_prefix("sys/mounts/") {
        let table = core.mounts().read().await;
        return Ok(table.as_ref().is_some_and(|t| t.find(mount).is_some()));
    }
    if path.starts_with("sys/") || path.starts_with("auth/") {
        return Ok(true);
    }
    let table = core.mounts().read().await;
    let Some((mount, rel)) = table.as_ref().and_then(|t| t.route(path)) else {
        return Ok(false);
    };
    let view = View::new(core.barrier().clone(), mount.data_prefix());
    let key = match (mount.kind.as_str(), mount.kv_version()) {
        ("kv" | "generic", 2) => match rel.split_once('/') {
            Some(("data" | "metadata", k)) => format!("metadata/{k}"),
            _ => return Ok(true),
        },
        ("kv" | "generic", _) if rel.is_empty() || rel.ends_with('/') => return Ok(false),
        ("kv" | "generic", _) => rel.to_string(),
        ("cubbyhole", _) => {
            let _ = req;
            return Ok(false);
        }
        _ => return Ok(true),
    };
    Ok(view.get_json::<Value>(&key).await?.is_some())
}

/// Routes a request to the engine of the mount that serves it.
async fn mount_request(
    req: &ApiRequest,
    core: &Core,
    op: Operation,
    caller: &Caller<'_>,
) -> Result<ApiResponse, ApiError> {
    let path = req.path();
    let mount = {
        let table = core.mounts().read().await;
        let table = table.as_ref().ok_or_else(ApiError::sealed)?;
        match table.route(path) {
            Some((m, _)) => m.clone(),
            None => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    vec![format!(
                        "no handler for route {path:?}. route entry not found."
                    )],
                ))
            }
        }
    };
    let rel = path
        .strip_prefix(mount.path.as_str())
        .unwrap_or_default()
        .to_string();
    let data = if matches!(op, Operation::Create | Operation::Update | Operation::Patch) {
        req.body_map()?
    } else {
        Map::new()
    };
    let query = |name: &str| req.query(name).map(str::to_string);
    let content_type = req.header("content-type");
    let lreq = LogicalRequest {
        operation: op,
        path: &rel,
        data: &data,
        query: &query,
        content_type: content_type.as_deref(),
        mount: &mount,
        system_default_ttl: core.system_default_ttl(),
    };
    let view = View::new(core.barrier().clone(), mount.data_prefix());
    let response = match mount.kind.as_str() {
        "kv" | "generic" if mount.kv_version() == 2 => kv2::handle(&view, &lreq).await?,
        "kv" | "generic" => kv::handle(&view, &lreq, kv::Leases::Reported).await?,
        "cubbyhole" => {
            cubbyhole::handle(
                &cubbyhole::view_for(&view, &caller.entry.cubbyhole_id),
                &lreq,
            )
            .await?
        }
        other => {
            return Err(ApiError::internal(format!(
                "mount {} has unknown type {other:?}",
                mount.path
            )))
        }
    };
    Ok(envelope(response))
}

/// Wraps an engine's response in Vault's envelope.
pub fn envelope(response: LogicalResponse) -> ApiResponse {
    let LogicalResponse {
        status,
        data,
        raw_data,
        warnings,
        lease_duration,
    } = response;
    if let Some(raw) = raw_data {
        return ApiResponse::envelope_raw(
            status.unwrap_or(StatusCode::OK),
            raw.as_bytes(),
            lease_duration,
            &warnings,
        );
    }
    if data.is_none() && warnings.is_empty() {
        return match status {
            Some(s) if s != StatusCode::NO_CONTENT => ApiError::new(s, Vec::new()).into(),
            _ => ApiResponse::no_content(),
        };
    }
    let mut body = super::request::Envelope::new(data);
    body.lease_duration = lease_duration;
    body.warnings = (!warnings.is_empty()).then_some(warnings);
    ApiResponse::json(status.unwrap_or(StatusCode::OK), &body)
}
