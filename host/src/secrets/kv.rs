//! KV version 1: one JSON object per key, replaced whole on write.

use hyper::StatusCode;
use serde_json::{Map, Value};

use super::{
    check_key, parse_stored, parse_ttl, LogicalRequest, LogicalResponse, Operation, RawJson, View,
};
use crate::http::ApiError;

/// Whether reads report a lease duration (KV does; cubbyhole does not).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Leases {
    /// `ttl` key, else the mount default, else the system default.
    Reported,
    /// Always 0.
    None,
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Vec::new())
}

/// Handles one request against a KV v1 view.
pub async fn handle(
    view: &View,
    req: &LogicalRequest<'_>,
    leases: Leases,
) -> Result<LogicalResponse, ApiError> {
    check_key(req.path)?;
    match req.operation {
        Operation::Read => {
            if req.path.is_empty() || req.path.ends_with('/') {
                return Err(not_found());
            }
            let Some(raw) = view.get_raw(req.path).await? else {
                return Err(not_found());
            };
            let lease = |ttl: Option<&Value>| match leases {
                Leases::None => 0,
                Leases::Reported => ttl
                    .and_then(parse_ttl)
                    .or(Some(req.mount.config.default_lease_ttl).filter(|t| *t > 0))
                    .unwrap_or(req.system_default_ttl),
            };
            // The stored text is what serde_json printed from a map, so it is already the
            // answer's `data`: checking it and picking out `ttl` spares building a map and
            // printing it again. Anything unexpected takes the full parse.
            if let Some(ttl) = stored_object_ttl(&raw) {
                return Ok(LogicalResponse {
                    lease_duration: lease(ttl.as_ref()),
                    raw_data: Some(RawJson::new(raw)),
                    ..Default::default()
                });
            }
            let data: Map<String, Value> = parse_stored(req.path, &raw)?;
            Ok(LogicalResponse {
                lease_duration: lease(data.get("ttl")),
                data: Some(Value::Object(data)),
                ..Default::default()
            })
        }
        Operation::Create | Operation::Update => {
            if req.path.is_empty() || req.path.ends_with('/') {
                return Err(ApiError::bad_request(
                    "cannot write to a path ending in '/'",
                ));
            }
            if req.data.is_empty() {
                return Err(ApiError::bad_request("missing data fields"));
            }
            view.put_json(req.path, req.data).await?;
            Ok(LogicalResponse::empty())
        }
        Operation::Delete => {
            view.delete(req.path).await?;
            Ok(LogicalResponse::empty())
        }
        Operation::List => {
            let prefix = folder(req.path);
            let keys = view.list(&prefix).await?;
            if keys.is_empty() {
                return Err(not_found());
            }
            Ok(LogicalResponse::data(serde_json::json!({ "keys": keys })))
        }
        Operation::Scan => {
            let keys = view.scan(&folder(req.path)).await?;
            if keys.is_empty() {
                return Err(not_found());
            }
            Ok(LogicalResponse::data(serde_json::json!({ "keys": keys })))
        }
        Operation::Patch => Err(ApiError::unsupported_operation()),
    }
}

/// `Some(ttl)` when `raw` is exactly one JSON object without repeated `ttl` keys (its
/// other members are checked but not kept); `None` otherwise.
fn stored_object_ttl(raw: &[u8]) -> Option<Option<Value>> {
    #[derive(serde::Deserialize)]
    struct OnlyTtl {
        #[serde(default)]
        ttl: Option<Value>,
    }
    // serde's derived visitor would also take an array; objects start with `{`.
    if raw.first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice::<OnlyTtl>(raw).ok().map(|o| o.ttl)
}

/// `app` and `app/` both list the folder `app/`; the mount root lists as "".
pub fn folder(path: &str) -> String {
    if path.is_empty() || path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    }
}
