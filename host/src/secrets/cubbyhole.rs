//! cubbyhole: private KV storage per token, destroyed with its token.
//!
//! Each token's data lives under `logical/<mount uuid>/<cubbyhole id>/`, where the
//! cubbyhole id is a random value kept in the token's entry (never the token itself).

use super::kv::{self, Leases};
use super::{LogicalRequest, LogicalResponse, View};
use crate::http::ApiError;

/// The view of one token's cubbyhole.
pub fn view_for(mount_view: &View, cubbyhole_id: &str) -> View {
    mount_view.sub(&format!("{cubbyhole_id}/"))
}

/// Handles a request in a token's cubbyhole: KV v1 semantics without leases.
pub async fn handle(view: &View, req: &LogicalRequest<'_>) -> Result<LogicalResponse, ApiError> {
    kv::handle(view, req, Leases::None).await
}
