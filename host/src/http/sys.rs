//! The raw `sys/` handlers that answer in every seal state.

use hyper::{Method, StatusCode};
use serde::Serialize;

use super::{ApiError, ApiRequest, ApiResponse};
use crate::core::Core;

/// Routes the raw handlers; `None` when the path is not one of them.
pub async fn route(req: &ApiRequest, core: &Core) -> Option<Result<ApiResponse, ApiError>> {
    let result = match req.path() {
        "sys/health" => health(req, core).await,
        "sys/leader" => leader(req),
        _ => return None,
    };
    Some(result)
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
    let initialized = core.is_initialized().await?;
    let sealed = core.is_sealed();
    let status = if !initialized {
        status_override(req, "uninitcode", StatusCode::NOT_IMPLEMENTED)?
    } else if sealed {
        status_override(req, "sealedcode", StatusCode::SERVICE_UNAVAILABLE)?
    } else {
        status_override(req, "activecode", StatusCode::OK)?
    };
    // Parse the remaining overrides too, so a malformed one is always a 400.
    for name in ["uninitcode", "sealedcode", "activecode", "standbycode"] {
        status_override(req, name, StatusCode::OK)?;
    }
    let mode = if sealed { "unknown" } else { "disabled" };
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
