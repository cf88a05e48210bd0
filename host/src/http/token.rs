//! `auth/token/*`: create, look up, renew and revoke tokens, with Vault's shapes.

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::logical::Caller;
use super::request::Envelope;
use super::{ApiError, ApiRequest, ApiResponse};
use crate::auth::{TokenEntry, TokenSpec};
use crate::core::Core;
use crate::secrets::{parse_ttl, Operation};

fn rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_nanos(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

/// The `auth` block of a response that hands out a token.
fn auth_block(token: &str, entry: &TokenEntry) -> Value {
    let token_policies = entry.policies.clone();
    json!({
        "client_token": token,
        "accessor": entry.accessor,
        "policies": entry.policies,
        "token_policies": token_policies,
        "metadata": entry.meta,
        "lease_duration": entry.ttl_left().max(if entry.expire_time > 0 { 1 } else { 0 }),
        "renewable": entry.renewable,
        "entity_id": "",
        "token_type": "service",
        "orphan": entry.orphan,
        "mfa_requirement": null,
        "num_uses": entry.num_uses,
    })
}

fn auth_response(token: &str, entry: &TokenEntry, warnings: Vec<String>) -> ApiResponse {
    let mut body = Envelope::new(Value::Null);
    body.auth = Some(auth_block(token, entry));
    body.warnings = (!warnings.is_empty()).then_some(warnings);
    ApiResponse::ok(&body)
}

/// The data `lookup` returns. `id` is the token when the caller supplied it.
fn lookup_data(id: &str, entry: &TokenEntry) -> Value {
    let mut d = Map::new();
    d.insert("accessor".into(), entry.accessor.clone().into());
    d.insert("creation_time".into(), entry.creation_time.into());
    d.insert("creation_ttl".into(), entry.ttl.into());
    d.insert("display_name".into(), entry.display_name.clone().into());
    d.insert("entity_id".into(), "".into());
    d.insert(
        "expire_time".into(),
        if entry.expire_time > 0 {
            rfc3339(entry.expire_time).into()
        } else {
            Value::Null
        },
    );
    d.insert("explicit_max_ttl".into(), entry.explicit_max_ttl.into());
    d.insert("id".into(), id.into());
    if !entry.init_root {
        d.insert("issue_time".into(), rfc3339(entry.creation_time).into());
        d.insert("renewable".into(), entry.renewable.into());
    }
    if entry.last_renewal_time > 0 {
        d.insert(
            "last_renewal".into(),
            rfc3339(entry.last_renewal_time).into(),
        );
        d.insert("last_renewal_time".into(), entry.last_renewal_time.into());
    }
    d.insert(
        "meta".into(),
        serde_json::to_value(&entry.meta).unwrap_or(Value::Null),
    );
    d.insert("num_uses".into(), entry.num_uses.into());
    d.insert("orphan".into(), entry.orphan.into());
    d.insert("path".into(), entry.path.clone().into());
    if entry.period > 0 {
        d.insert("period".into(), entry.period.into());
    }
    d.insert("policies".into(), json!(entry.policies));
    d.insert("ttl".into(), entry.ttl_left().into());
    d.insert("type".into(), "service".into());
    Value::Object(d)
}

fn duration_field(data: &Map<String, Value>, name: &str) -> Result<u64, ApiError> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) if s.is_empty() => Ok(0),
        Some(v) => parse_ttl(v).ok_or_else(|| {
            let shown = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            ApiError::bad_request(format!("time: invalid duration {shown:?}"))
        }),
    }
}

fn string_list(v: Option<&Value>) -> Result<Option<Vec<String>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        )),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("policies must be a list of strings")),
        Some(_) => Err(ApiError::bad_request("policies must be a list of strings")),
    }
}

fn bool_field(data: &Map<String, Value>, name: &str, default: bool) -> bool {
    match data.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "1"),
        _ => default,
    }
}

/// Routes `auth/token/<rest>`.
pub async fn route(
    req: &ApiRequest,
    core: &Core,
    rest: &str,
    op: Operation,
    caller: &Caller<'_>,
) -> Result<ApiResponse, ApiError> {
    let write = matches!(op, Operation::Create | Operation::Update);
    let data = if write { req.body_map()? } else { Map::new() };
    let cubby = core.cubbyhole_prefix().await;
    let barrier = core.barrier();
    let tokens = core.tokens();
    match (rest, op) {
        ("create" | "create-orphan", _) if write => {
            create(core, caller, &data, rest == "create-orphan").await
        }
        ("lookup-self", Operation::Read) | ("lookup-self", _) if write || op == Operation::Read => {
            Ok(ApiResponse::envelope(&lookup_data(
                caller.token,
                &caller.entry,
            )))
        }
        ("lookup", _) if write || op == Operation::Read => {
            let Some(token) = data.get("token").and_then(Value::as_str) else {
                return Ok(ApiResponse::envelope(&lookup_data(
                    caller.token,
                    &caller.entry,
                )));
            };
            match tokens.lookup(barrier, token).await? {
                Some(entry) => Ok(ApiResponse::envelope(&lookup_data(token, &entry))),
                None => Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    vec!["bad token".into()],
                )),
            }
        }
        ("lookup-accessor", _) if write => {
            let accessor = data
                .get("accessor")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match tokens.lookup_accessor(barrier, accessor).await? {
                Some(entry) => Ok(ApiResponse::envelope(&lookup_data("", &entry))),
                None => Err(ApiError::bad_request("invalid accessor")),
            }
        }
        ("renew-self", _) if write => renew(core, caller.token, &caller.entry, &data).await,
        ("renew", _) if write => {
            let token = data
                .get("token")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let entry = tokens
                .lookup(barrier, token)
                .await?
                .ok_or_else(|| ApiError::bad_request("invalid token"))?;
            renew(core, token, &entry, &data).await
        }
        ("revoke-self", _) if write => {
            tokens.revoke_tree(barrier, &caller.entry, &cubby).await?;
            Ok(ApiResponse::no_content())
        }
        ("revoke" | "revoke-orphan", _) if write => {
            let Some(token) = data
                .get("token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            else {
                return Err(ApiError::bad_request("missing token ID"));
            };
            if let Some(entry) = tokens.lookup(barrier, token).await? {
                if rest == "revoke" {
                    tokens.revoke_tree(barrier, &entry, &cubby).await?;
                } else {
                    tokens.revoke_orphan(barrier, &entry, &cubby).await?;
                }
            }
            Ok(ApiResponse::no_content())
        }
        ("revoke-accessor", _) if write => {
            let accessor = data
                .get("accessor")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(entry) = tokens.lookup_accessor(barrier, accessor).await? {
                tokens.revoke_tree(barrier, &entry, &cubby).await?;
            }
            Ok(ApiResponse::no_content())
        }
        ("accessors" | "accessors/", Operation::List) => Ok(ApiResponse::envelope(
            &json!({ "keys": tokens.accessors(barrier).await? }),
        )),
        _ => Err(ApiError::unsupported_path()),
    }
}

async fn renew(
    core: &Core,
    token: &str,
    entry: &TokenEntry,
    data: &Map<String, Value>,
) -> Result<ApiResponse, ApiError> {
    if entry.expire_time == 0 {
        return Err(ApiError::bad_request("invalid lease ID"));
    }
    if !entry.renewable {
        return Err(ApiError::bad_request("lease is not renewable"));
    }
    let increment = duration_field(data, "increment")?;
    let updated = core
        .tokens()
        .renew(core.barrier(), entry, (increment > 0).then_some(increment))
        .await?;
    Ok(auth_response(token, &updated, Vec::new()))
}

async fn create(
    core: &Core,
    caller: &Caller<'_>,
    data: &Map<String, Value>,
    orphan_endpoint: bool,
) -> Result<ApiResponse, ApiError> {
    let parent = &caller.entry;
    let parent_is_root = parent.is_root();
    if data
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t == "batch")
    {
        return Err(ApiError::bad_request(
            "batch tokens are not supported by this server",
        ));
    }
    let no_parent = orphan_endpoint || bool_field(data, "no_parent", false);
    if no_parent
        && !orphan_endpoint
        && !parent_is_root
        && !caller
            .acl
            .allows("auth/token/create", crate::policy::Capability::Sudo, true)
    {
        return Err(ApiError::bad_request(
            "root or sudo privileges required to create orphan token",
        ));
    }
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if id.is_some() && !parent_is_root {
        return Err(ApiError::bad_request(
            "root or sudo privileges required to specify token id",
        ));
    }
    let mut policies =
        string_list(data.get("policies"))?.unwrap_or_else(|| parent.policies.clone());
    if !parent_is_root {
        let allowed: Vec<&String> = parent.policies.iter().collect();
        if policies
            .iter()
            .any(|p| p != "default" && !allowed.contains(&p))
        {
            return Err(ApiError::bad_request(
                "child policies must be subset of parent",
            ));
        }
    }
    let is_root_child = policies.iter().any(|p| p == "root");
    if !bool_field(data, "no_default_policy", false) && !is_root_child {
        policies.push("default".to_string());
    }
    policies.sort();
    policies.dedup();

    let ttl = duration_field(data, "ttl")?;
    let explicit_max_ttl = duration_field(data, "explicit_max_ttl")?;
    let period = duration_field(data, "period")?;
    let ttl = if period > 0 {
        period
    } else if ttl > 0 {
        ttl
    } else if is_root_child {
        0
    } else {
        core.system_default_ttl()
    };
    let num_uses = match data.get("num_uses") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| ApiError::bad_request("num_uses must be a non-negative number"))?,
    };
    let meta = match data.get("meta") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(
            m.iter()
                .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect::<Option<_>>()
                .ok_or_else(|| ApiError::bad_request("meta values must be strings"))?,
        ),
        Some(_) => return Err(ApiError::bad_request("meta must be a map of strings")),
    };
    let display_name = match data
        .get("display_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(name) => format!("token-{name}"),
        None => "token".to_string(),
    };
    let mut warnings = Vec::new();
    for p in &policies {
        if p != "root" && p != "default" && core.read_policy(p).await?.is_none() {
            warnings.push(format!("Policy {p:?} does not exist"));
        }
    }
    if id.is_some() {
        warnings.push("Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to less secure lookups.".to_string());
    }
    let spec = TokenSpec {
        renewable: bool_field(data, "renewable", true) && ttl > 0,
        policies,
        ttl,
        explicit_max_ttl,
        period,
        num_uses,
        meta,
        display_name,
        path: if orphan_endpoint {
            "auth/token/create-orphan"
        } else {
            "auth/token/create"
        }
        .to_string(),
        parent: if no_parent {
            String::new()
        } else {
            parent.hash.clone()
        },
        id,
        init_root: false,
    };
    let (token, entry) = core.tokens().create(core.barrier(), spec).await?;
    Ok(auth_response(&token, &entry, warnings))
}
