//! Request and response types of the API layer, and Vault's transport rules for them.

use std::borrow::Cow;
use std::io::Write as _;

use bytes::Bytes;
use http_body_util::Full;
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A `/v1/` request with its body read.
#[derive(Debug)]
pub struct ApiRequest {
    method: Method,
    /// The path after `/v1/`, percent-decoded and clean.
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl ApiRequest {
    /// Builds a request from hyper's parts.
    pub fn new(parts: Parts, path: String, body: Bytes) -> Self {
        let query = parts.uri.query().map(parse_query).unwrap_or_default();
        ApiRequest {
            method: parts.method,
            path,
            query,
            headers: parts.headers,
            body,
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.method.clone()
    }

    /// The path after `/v1/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The first value of a query parameter.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The client token: `X-Vault-Token`, else `Authorization: Bearer` (case-sensitive).
    pub fn token(&self) -> Option<&str> {
        if let Some(v) = self
            .headers
            .get("x-vault-token")
            .and_then(|v| v.to_str().ok())
        {
            return Some(v);
        }
        self.headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                // "application/json; charset=utf-8" → "application/json"
                v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase()
            })
    }

    /// The body as a JSON object (Vault's logical requests): an empty body is `{}`; with
    /// a form content type and a first byte other than `{`, a form (repeated keys joined
    /// with commas), as Vault does.
    pub fn body_map(&self) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        let trimmed = self.body.iter().position(|b| !b.is_ascii_whitespace());
        let Some(start) = trimmed else {
            return Ok(serde_json::Map::new());
        };
        let is_form =
            self.header("content-type").as_deref() == Some("application/x-www-form-urlencoded");
        if is_form && self.body[start] != b'{' {
            let text = String::from_utf8_lossy(&self.body);
            let mut map = serde_json::Map::new();
            for (k, v) in parse_query(text.trim()) {
                match map.get_mut(&k) {
                    Some(serde_json::Value::String(existing)) => {
                        existing.push(',');
                        existing.push_str(&v);
                    }
                    _ => {
                        map.insert(k, serde_json::Value::String(v));
                    }
                }
            }
            return Ok(map);
        }
        let value: serde_json::Value = serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("failed to decode JSON input: {e}")))?;
        match value {
            serde_json::Value::Object(map) => {
                if count_strings(&serde_json::Value::Object(map.clone())) > MAX_JSON_STRINGS {
                    return Err(ApiError::bad_request(
                        "refused JSON input due to high complexity: exceeded maximum number of strings",
                    ));
                }
                Ok(map)
            }
            other => Err(ApiError::bad_request(format!(
                "failed to decode JSON input: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            ))),
        }
    }

    /// The body as JSON of type `T`; an empty body reads as `{}`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("failed to decode JSON input: {e}")))
    }
}

/// Vault's `max_request_json_strings`: object keys and string values both count.
const MAX_JSON_STRINGS: usize = 1000;

fn count_strings(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(_) => 1,
        serde_json::Value::Array(items) => items.iter().map(count_strings).sum(),
        serde_json::Value::Object(map) => map.iter().map(|(_, v)| 1 + count_strings(v)).sum(),
        _ => 0,
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Array(_) => "array",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Null => "null",
        serde_json::Value::Object(_) => "object",
    }
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Percent-decodes a request path (Vault decodes `%2F` before routing). `None` when the
/// result is not UTF-8 or holds a control character: those get a bare 400.
pub fn decode_path(raw: &str) -> Option<Cow<'_, str>> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    if decoded.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(decoded)
}

/// Whether [`clean_path`] would leave `path` as it is: true of almost every request, so
/// the common case costs a scan instead of a rebuilt string.
pub fn is_clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            // An empty last segment is the kept trailing slash (or the root itself).
            "" if last => {}
            "" | "." | ".." => return false,
            _ => {}
        }
    }
    true
}

/// Go's `path.Clean` as its ServeMux applies it: no `//`, `.` or `..`; a trailing slash kept.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut cleaned = format!("/{}", parts.join("/"));
    if path.ends_with('/') && cleaned != "/" {
        cleaned.push('/');
    }
    cleaned
}

/// A successful API response.
#[derive(Debug)]
pub struct ApiResponse {
    status: StatusCode,
    /// The serialised JSON body, or nothing (204).
    body: Option<Vec<u8>>,
}

impl ApiResponse {
    /// A JSON body with a status.
    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        match serde_json::to_vec(body) {
            Ok(mut bytes) => {
                bytes.push(b'\n');
                ApiResponse {
                    status,
                    body: Some(bytes),
                }
            }
            Err(e) => ApiError::internal(format!("failed to encode response: {e}")).into(),
        }
    }

    /// 200 with a JSON body.
    pub fn ok(body: &impl Serialize) -> Self {
        Self::json(StatusCode::OK, body)
    }

    /// 200 with Vault's standard envelope around `data`.
    pub fn envelope(data: &impl Serialize) -> Self {
        Self::ok(&Envelope::new(data))
    }

    /// Vault's envelope around `data_json`, the JSON text of an object, copied in as it
    /// is (the fields and their order are [`Envelope`]'s; a test holds the two together).
    pub fn envelope_raw(
        status: StatusCode,
        data_json: &[u8],
        lease_duration: u64,
        warnings: &[String],
    ) -> Self {
        let mut out = Vec::with_capacity(data_json.len() + 192);
        out.extend_from_slice(b"{\"request_id\":\"");
        let mut id = uuid::Uuid::encode_buffer();
        out.extend_from_slice(
            uuid::Uuid::new_v4()
                .hyphenated()
                .encode_lower(&mut id)
                .as_bytes(),
        );
        out.extend_from_slice(b"\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":");
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{lease_duration}");
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(data_json);
        out.extend_from_slice(b",\"wrap_info\":null,\"warnings\":");
        if warnings.is_empty() {
            out.extend_from_slice(b"null");
        } else if let Err(e) = serde_json::to_writer(&mut out, warnings) {
            return ApiError::internal(format!("failed to encode response: {e}")).into();
        }
        out.extend_from_slice(b",\"auth\":null}\n");
        ApiResponse {
            status,
            body: Some(out),
        }
    }

    /// 204, no body.
    pub fn no_content() -> Self {
        ApiResponse {
            status: StatusCode::NO_CONTENT,
            body: None,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Into hyper's response, with the headers every `/v1/` response carries.
    pub(crate) fn into_http(self, head: bool) -> Response<Full<Bytes>> {
        let body = if head { None } else { self.body };
        let mut resp = Response::new(Full::new(body.map(Bytes::from).unwrap_or_default()));
        *resp.status_mut() = self.status;
        super::add_api_headers(&mut resp);
        resp
    }
}

/// Vault's standard response envelope, in Vault's key order.
#[derive(Debug, Serialize)]
pub struct Envelope<T: Serialize> {
    /// A fresh UUID per response.
    pub request_id: String,
    /// Always empty: this server issues no leases.
    pub lease_id: &'static str,
    /// Whether the lease is renewable.
    pub renewable: bool,
    /// Seconds.
    pub lease_duration: u64,
    /// The payload.
    pub data: T,
    /// Always null: no response wrapping.
    pub wrap_info: Option<()>,
    /// Warnings, or null.
    pub warnings: Option<Vec<String>>,
    /// The auth block of token-creating responses.
    pub auth: Option<serde_json::Value>,
}

impl<T: Serialize> Envelope<T> {
    /// An envelope with a fresh request id and no lease.
    pub fn new(data: T) -> Self {
        Envelope {
            request_id: uuid::Uuid::new_v4()
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer())
                .to_owned(),
            lease_id: "",
            renewable: false,
            lease_duration: 0,
            data,
            wrap_info: None,
            warnings: None,
            auth: None,
        }
    }
}

/// An API error: a status and Vault's `{"errors":[...]}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The messages.
    pub errors: Vec<String>,
}

impl ApiError {
    /// An error with several messages (or none: Vault sends `[]` for some).
    pub fn new(status: StatusCode, errors: Vec<String>) -> Self {
        ApiError { status, errors }
    }

    /// 400 with one message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, vec![message.into()])
    }

    /// 500 with one message (never a secret: callers pass context, not values).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, vec![message.into()])
    }

    /// 503 `Vault is sealed`.
    pub fn sealed() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            vec!["Vault is sealed".into()],
        )
    }

    /// 403 for a missing or unknown token.
    pub fn permission_denied() -> Self {
        Self::new(StatusCode::FORBIDDEN, vec!["permission denied".into()])
    }

    /// 403 for a valid token that its policies do not allow (Go multierror text).
    pub fn policy_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            vec!["1 error occurred:\n\t* permission denied\n\n".into()],
        )
    }

    /// 404 for a `sys/` path no handler serves.
    pub fn unsupported_path() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            vec!["1 error occurred:\n\t* unsupported path\n\n".into()],
        )
    }

    /// 405 for a method a logical path does not support.
    pub fn unsupported_operation() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            vec!["1 error occurred:\n\t* unsupported operation\n\n".into()],
        )
    }

    /// 405 with an empty list, as Vault's raw handlers answer.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, Vec::new())
    }

    /// Into hyper's response.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        ApiResponse::from(self).into_http(false)
    }
}

impl From<ApiError> for ApiResponse {
    fn from(e: ApiError) -> Self {
        #[derive(Serialize)]
        struct Body<'a> {
            errors: &'a [String],
        }
        let mut bytes = serde_json::to_vec(&Body { errors: &e.errors })
            .unwrap_or_else(|_| b"{\"errors\":[]}".to_vec());
        bytes.push(b'\n');
        ApiResponse {
            status: e.status,
            body: Some(bytes),
        }
    }
}

impl From<crate::core::Denied> for ApiError {
    fn from(d: crate::core::Denied) -> Self {
        match d {
            crate::core::Denied::BadToken => ApiError::permission_denied(),
            crate::core::Denied::Policy => ApiError::policy_denied(),
        }
    }
}

impl From<crate::barrier::BarrierError> for ApiError {
    fn from(e: crate::barrier::BarrierError) -> Self {
        match e {
            crate::barrier::BarrierError::Sealed => ApiError::sealed(),
            crate::barrier::BarrierError::Storage(s) => s.into(),
            other => {
                tracing::error!(error = %other, "barrier failure");
                ApiError::internal(other.to_string())
            }
        }
    }
}

impl From<crate::seal::SealError> for ApiError {
    fn from(e: crate::seal::SealError) -> Self {
        match e {
            crate::seal::SealError::Barrier(b) => b.into(),
            other => ApiError::bad_request(other.to_string()),
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(e: crate::storage::StorageError) -> Self {
        match &e.source {
            // The backend refused the client's key: the client's mistake, not ours.
            vault_plugin_api::Error::InvalidKey(reason)
            | vault_plugin_api::Error::TooLarge(reason) => ApiError::bad_request(reason.clone()),
            _ => {
                tracing::error!(error = %e, "storage failure");
                ApiError::internal(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_matches_go() {
        assert_eq!(clean_path("/v1/secret/a//b"), "/v1/secret/a/b");
        assert_eq!(clean_path("/v1/secret/x/../y"), "/v1/secret/y");
        assert_eq!(clean_path("/v1/secret/../sys/x"), "/v1/sys/x");
        assert_eq!(clean_path("/v1/secret/"), "/v1/secret/");
        assert_eq!(clean_path("/../.."), "/");
        assert_eq!(clean_path("/v1/sys/health"), "/v1/sys/health");
    }

    #[test]
    fn is_clean_agrees_with_clean_path() {
        for path in [
            "/",
            "//",
            "/v1",
            "/v1/",
            "/v1//",
            "/v1/secret/a",
            "/v1/secret/a/",
            "/v1/./a",
            "/v1/a/.",
            "/v1/a/..",
            "/v1/../a",
            "/v1/a//b",
            "/v1/.a",
            "/v1/a.",
            "/v1/..a/",
            "/v1/.../b",
            "/.",
            "/..",
            "/v1/a/./",
            "/v1/a/../",
        ] {
            assert_eq!(is_clean(path), clean_path(path) == path, "{path}");
        }
    }

    #[test]
    fn decode_path_refuses_control_characters() {
        assert_eq!(
            decode_path("/v1/secret/pct%2Fslash").as_deref(),
            Some("/v1/secret/pct/slash")
        );
        assert_eq!(decode_path("/v1/a%01b"), None);
        assert_eq!(decode_path("/v1/a%ffb"), None);
    }

    #[test]
    fn raw_envelope_prints_what_the_serialised_envelope_prints() {
        let data = serde_json::json!({"a": "x\"y", "n": 1, "ttl": "1h"});
        let text = serde_json::to_vec(&data).unwrap();
        for warnings in [vec![], vec!["careful \"here\"".to_string()]] {
            let raw = ApiResponse::envelope_raw(StatusCode::OK, &text, 3600, &warnings);
            let mut typed = Envelope::new(&data);
            typed.lease_duration = 3600;
            typed.warnings = (!warnings.is_empty()).then(|| warnings.clone());
            let typed = ApiResponse::ok(&typed);
            let (raw, typed) = (raw.body.unwrap(), typed.body.unwrap());
            // Identical but for the fresh request id: `"request_id":"<36 chars>"` first.
            let id_start = "{\"request_id\":\"".len();
            assert_eq!(raw[id_start + 36..], typed[id_start + 36..]);
            assert_eq!(raw[..id_start], typed[..id_start]);
            let parsed: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            assert!(uuid::Uuid::parse_str(parsed["request_id"].as_str().unwrap()).is_ok());
            assert_eq!(parsed["data"], data);
        }
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("a=1&b=two+words&c=%2F&flag"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "two words".into()),
                ("c".into(), "/".into()),
                ("flag".into(), "".into())
            ]
        );
    }
}
