//! How the Vault CLI prints things: secrets as `Key  Value` tables or JSON, lists, raw
//! fields, `= Header =` lines, Go's `%v` and `%q` of JSON values, and Go durations.
//!
//! Everything here is pure text formatting, so it is unit tested without a server.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::operator::Format;

/// `-format`, as the client commands that print take it.
#[derive(Debug, Clone, clap::Args)]
pub struct FormatArg {
    /// table or json (default: $VAULT_FORMAT, else table).
    #[arg(long = "format", value_enum)]
    pub format: Option<Format>,
}

/// `-format` and `-field`, for the commands that print a response.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// table or json (default: $VAULT_FORMAT, else table).
    #[arg(long = "format", value_enum)]
    pub format: Option<Format>,
    /// Print only this field, raw.
    #[arg(long = "field", value_name = "NAME")]
    pub field: Option<String>,
}

/// A response body in the shape of the Go client's `api.Secret`: the standard envelope.
#[derive(Clone, Default, PartialEq)]
pub struct Secret {
    pub request_id: String,
    pub lease_id: String,
    pub lease_duration: i64,
    pub renewable: bool,
    /// `data`; `None` when absent or `null`.
    pub data: Option<Map<String, Value>>,
    /// `warnings`; `None` when absent or `null` (printed as `null` in JSON).
    pub warnings: Option<Vec<String>>,
    pub auth: Option<SecretAuth>,
    pub wrap_info: Option<Value>,
    pub mount_type: String,
}

/// The `auth` block of a response (`api.SecretAuth`).
#[derive(Clone, Default, PartialEq)]
pub struct SecretAuth {
    pub client_token: String,
    pub accessor: String,
    pub policies: Option<Vec<String>>,
    pub token_policies: Option<Vec<String>>,
    pub identity_policies: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
    pub orphan: bool,
    pub entity_id: String,
    pub lease_duration: i64,
    pub renewable: bool,
    pub mfa_requirement: Value,
}

/// Values may be secrets: `Debug` shows the keys of `data` only.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Option<Vec<&String>> = self.data.as_ref().map(|d| d.keys().collect());
        f.debug_struct("Secret")
            .field("request_id", &self.request_id)
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .field("data_keys", &keys)
            .field("warnings", &self.warnings)
            .field("auth", &self.auth)
            .field("wrapped", &self.wrap_info.is_some())
            .finish()
    }
}

/// The token is not shown.
impl fmt::Debug for SecretAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretAuth")
            .field("client_token", &"<redacted>")
            .field("policies", &self.policies)
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .finish_non_exhaustive()
    }
}

fn text_of(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn int_of(map: &Map<String, Value>, key: &str) -> i64 {
    match map.get(key) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn bool_of(map: &Map<String, Value>, key: &str) -> bool {
    matches!(map.get(key), Some(Value::Bool(true)))
}

/// A list of strings (`null` or absent: `None`; other items are printed as JSON).
pub fn strings_of(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        _ => None,
    }
}

impl Secret {
    /// Reads an envelope; `None` for `null` or a body that is not a JSON object.
    pub fn parse(body: &Value) -> Option<Secret> {
        let map = body.as_object()?;
        Some(Secret {
            request_id: text_of(map, "request_id"),
            lease_id: text_of(map, "lease_id"),
            lease_duration: int_of(map, "lease_duration"),
            renewable: bool_of(map, "renewable"),
            data: map.get("data").and_then(Value::as_object).cloned(),
            warnings: strings_of(map.get("warnings")),
            auth: map
                .get("auth")
                .and_then(Value::as_object)
                .map(SecretAuth::parse),
            wrap_info: map.get("wrap_info").filter(|w| !w.is_null()).cloned(),
            mount_type: text_of(map, "mount_type"),
        })
    }

    /// Whether a 404 answer still counts as a secret (Go: warnings or data present).
    pub fn has_data_or_warnings(&self) -> bool {
        self.data.as_ref().is_some_and(|d| !d.is_empty())
            || self.warnings.as_ref().is_some_and(|w| !w.is_empty())
    }

    /// A secret holding only `data`.
    pub fn with_data(data: Map<String, Value>) -> Secret {
        Secret {
            data: Some(data),
            ..Secret::default()
        }
    }

    /// A value of `data`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.as_ref()?.get(key)
    }
}

impl SecretAuth {
    /// Reads an `auth` block.
    pub fn parse(map: &Map<String, Value>) -> SecretAuth {
        SecretAuth {
            client_token: text_of(map, "client_token"),
            accessor: text_of(map, "accessor"),
            policies: strings_of(map.get("policies")),
            token_policies: strings_of(map.get("token_policies")),
            identity_policies: strings_of(map.get("identity_policies")),
            metadata: map.get("metadata").and_then(Value::as_object).cloned(),
            orphan: bool_of(map, "orphan"),
            entity_id: text_of(map, "entity_id"),
            lease_duration: int_of(map, "lease_duration"),
            renewable: bool_of(map, "renewable"),
            mfa_requirement: map.get("mfa_requirement").cloned().unwrap_or(Value::Null),
        }
    }
}

/// The JSON `-format=json` prints for a secret: `api.Secret`'s fields in Go's order.
#[derive(Serialize)]
struct SecretJson<'a> {
    request_id: &'a str,
    lease_id: &'a str,
    lease_duration: i64,
    renewable: bool,
    data: Option<Value>,
    warnings: &'a Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<AuthJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_info: Option<Value>,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_type: &'a str,
}

#[derive(Serialize)]
struct AuthJson<'a> {
    client_token: &'a str,
    accessor: &'a str,
    policies: &'a Option<Vec<String>>,
    token_policies: &'a Option<Vec<String>>,
    identity_policies: &'a Option<Vec<String>>,
    metadata: Option<Value>,
    orphan: bool,
    entity_id: &'a str,
    lease_duration: i64,
    renewable: bool,
    mfa_requirement: &'a Value,
}

/// A copy with every object's keys in sorted order (Go marshals maps sorted).
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                out.insert(key.clone(), sorted(&map[key]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Go's `json.MarshalIndent(v, "", "  ")` plus the newline the CLI prints after it
/// (`<`, `>` and `&` escaped as Go does).
pub fn go_json(value: &impl Serialize) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// A secret as `-format=json` prints it.
pub fn secret_json(secret: &Secret) -> String {
    let auth = secret.auth.as_ref().map(|a| AuthJson {
        client_token: &a.client_token,
        accessor: &a.accessor,
        policies: &a.policies,
        token_policies: &a.token_policies,
        identity_policies: &a.identity_policies,
        metadata: a
            .metadata
            .as_ref()
            .map(|m| sorted(&Value::Object(m.clone()))),
        orphan: a.orphan,
        entity_id: &a.entity_id,
        lease_duration: a.lease_duration,
        renewable: a.renewable,
        mfa_requirement: &a.mfa_requirement,
    });
    go_json(&SecretJson {
        request_id: &secret.request_id,
        lease_id: &secret.lease_id,
        lease_duration: secret.lease_duration,
        renewable: secret.renewable,
        data: secret
            .data
            .as_ref()
            .map(|d| sorted(&Value::Object(d.clone()))),
        warnings: &secret.warnings,
        auth,
        wrap_info: secret.wrap_info.as_ref().map(sorted),
        mount_type: &secret.mount_type,
    })
}

/// Go's `fmt.Sprintf("%v", v)` of a decoded JSON value: strings raw, `null` as `<nil>`,
/// arrays as `[a b]`, objects as `map[k:v]` with sorted keys.
pub fn go_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_value(&map[k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `%q` of a `[]string`: `["default" "ro"]` (`[]` for none).
pub fn go_quoted_list(items: Option<&[String]>) -> String {
    let parts: Vec<String> = items
        .unwrap_or_default()
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", parts.join(" "))
}

/// Go's `time.Duration.String()`: `1h0m0s`, `1m30s`, `45s`, `0s`, `1.5s`.
pub fn go_duration(d: Duration) -> String {
    let total = d.as_secs();
    let nanos = d.subsec_nanos();
    if total == 0 && nanos == 0 {
        return "0s".to_string();
    }
    if total == 0 {
        // Below a second Go switches to ms/µs/ns; whole milliseconds are all the CLI needs.
        if (nanos / 1_000_000) * 1_000_000 == nanos {
            return format!("{}ms", nanos / 1_000_000);
        }
        return format!("{nanos}ns");
    }
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    let seconds = if nanos == 0 {
        format!("{s}s")
    } else {
        let frac = format!("{nanos:09}");
        format!("{s}.{}s", frac.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{h}h{m}m{seconds}")
    } else if m > 0 {
        format!("{m}m{seconds}")
    } else {
        seconds
    }
}

/// The CLI's `humanDuration`: Go's string without the zero tails (`768h`, `1h`, `1m30s`).
pub fn human_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let negative = secs < 0;
    let mut s = go_duration(Duration::from_secs(secs.unsigned_abs()));
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(i) = s.find("h0m") {
        if i > 0 {
            s.replace_range(i + 1..i + 3, "");
        }
    }
    if negative {
        s.insert(0, '-');
    }
    s
}

/// Keys the CLI prints as durations (`ttl`, `*_ttl`, `period`, `*_period`).
pub fn looks_like_duration(key: &str) -> bool {
    key == "period" || key.ends_with("_period") || key == "ttl" || key.ends_with("_ttl")
}

/// A table value: integer durations as [`human_duration`], the rest as `%v`.
fn table_value(key: &str, value: &Value) -> String {
    if looks_like_duration(key) {
        if let Some(secs) = value.as_i64() {
            return human_duration(secs);
        }
    }
    go_value(value)
}

/// github.com/ryanuber/columnize as the CLI configures it: cells trimmed, empty cells
/// shown as `n/a`, columns joined by 4 spaces, the last column of each line unpadded.
pub fn columnize(lines: &[Vec<String>]) -> String {
    let cells: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            line.iter()
                .map(|c| {
                    let c = c.trim();
                    if c.is_empty() {
                        "n/a".to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for line in &cells {
        for (i, cell) in line.iter().enumerate() {
            let w = cell.chars().count();
            if i >= widths.len() {
                widths.push(w);
            } else if w > widths[i] {
                widths[i] = w;
            }
        }
    }
    let mut out = String::new();
    for line in &cells {
        for (i, cell) in line.iter().enumerate() {
            if i + 1 == line.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                let pad = widths[i] - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad + 4));
            }
        }
        out.push('\n');
    }
    out
}

/// The CLI's `tableOutput`: the first line is the header, underlined with dashes.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut lines: Vec<Vec<String>> = Vec::with_capacity(rows.len() + 2);
    lines.push(header.iter().map(|h| h.to_string()).collect());
    lines.push(header.iter().map(|h| "-".repeat(h.trim().len())).collect());
    lines.extend(rows.iter().cloned());
    columnize(&lines)
}

/// A `Key  Value` table of rows ("" when there are none).
pub fn key_value_table(rows: &[(String, String)]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone()])
        .collect();
    table(&["Key", "Value"], &rows)
}

/// The rows of a map, sorted by key (`OutputMap`).
pub fn map_rows(map: &Map<String, Value>) -> Vec<(String, String)> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| (k.clone(), table_value(k, &map[k])))
        .collect()
}

/// `OutputData` of a map in table format.
pub fn map_table(map: &Map<String, Value>) -> String {
    key_value_table(&map_rows(map))
}

/// The rows `OutputSecret` prints: the lease (as `refresh_interval` when it has no ID),
/// the token of an `auth` block, wrapping information, then `data` sorted by key.
pub fn secret_rows(secret: &Secret) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| rows.push((k.to_string(), v));
    if secret.lease_duration > 0 {
        if secret.lease_id.is_empty() {
            row("refresh_interval", human_duration(secret.lease_duration));
        } else {
            row("lease_id", secret.lease_id.clone());
            row("lease_duration", human_duration(secret.lease_duration));
            row("lease_renewable", secret.renewable.to_string());
        }
    }
    if let Some(auth) = &secret.auth {
        row("token", auth.client_token.clone());
        row("token_accessor", auth.accessor.clone());
        row(
            "token_duration",
            if auth.lease_duration == 0 {
                "∞".to_string()
            } else {
                human_duration(auth.lease_duration)
            },
        );
        row("token_renewable", auth.renewable.to_string());
        row(
            "token_policies",
            go_quoted_list(auth.token_policies.as_deref()),
        );
        row(
            "identity_policies",
            go_quoted_list(auth.identity_policies.as_deref()),
        );
        row("policies", go_quoted_list(auth.policies.as_deref()));
        if let Some(meta) = &auth.metadata {
            let mut keys: Vec<&String> = meta.keys().collect();
            keys.sort();
            for k in keys {
                row(&format!("token_meta_{k}"), go_value(&meta[k]));
            }
        }
    }
    if let Some(Value::Object(wrap)) = &secret.wrap_info {
        let get = |k: &str| wrap.get(k).cloned().unwrap_or(Value::Null);
        row("wrapping_token:", go_value(&get("token")));
        row("wrapping_accessor:", go_value(&get("accessor")));
        row(
            "wrapping_token_ttl:",
            get("ttl")
                .as_i64()
                .map(human_duration)
                .unwrap_or_else(|| go_value(&get("ttl"))),
        );
        row(
            "wrapping_token_creation_time:",
            go_value(&get("creation_time")),
        );
        row(
            "wrapping_token_creation_path:",
            go_value(&get("creation_path")),
        );
        if let Some(Value::String(a)) = wrap.get("wrapped_accessor") {
            if !a.is_empty() {
                row("wrapped_accessor:", a.clone());
            }
        }
    }
    if let Some(data) = &secret.data {
        rows.extend(map_rows(data));
    }
    rows
}

/// A secret as a `Key  Value` table ("" when there is nothing to show).
pub fn secret_table(secret: &Secret) -> String {
    key_value_table(&secret_rows(secret))
}

/// The warnings block printed (to stderr) before a table, "" without warnings.
pub fn warnings_text(secret: &Secret) -> String {
    let Some(warnings) = secret.warnings.as_ref().filter(|w| !w.is_empty()) else {
        return String::new();
    };
    let mut text = String::from("\nWARNING! The following warnings were returned from Vault:\n\n");
    for warning in warnings {
        text.push_str(&wrap_with_padding(&format!("* {warning}"), 2));
        text.push_str("\n\n");
    }
    text
}

/// A `Keys` table of list entries, sorted.
pub fn list_table(keys: &[Value]) -> String {
    let mut names: Vec<String> = keys.iter().map(go_value).collect();
    names.sort();
    let rows: Vec<Vec<String>> = names.into_iter().map(|k| vec![k]).collect();
    table(&["Keys"], &rows)
}

/// `padEqualSigns`: `header` centred in `=` signs to `total` columns (at least one each
/// side).
pub fn pad_equal_signs(header: &str, total: usize) -> String {
    let inner = header.len() + 2;
    if total <= inner {
        return format!("= {header} =");
    }
    let mut signs = total - inner;
    if signs & 1 == 1 {
        signs += 1;
    }
    let side = "=".repeat(signs / 2);
    format!("{side} {header} {side}")
}

/// `getHeaderForMap`: a header as wide as the map's `Key  Value` table would be.
pub fn header_for_map(header: &str, map: &Map<String, Value>) -> String {
    let longest = map.keys().map(|k| k.len()).max().unwrap_or(0);
    pad_equal_signs(header, longest + 4 + 5)
}

/// `outputPath`: `= Secret Path =`, the path and a blank line.
pub fn path_block(path: &str, title: &str) -> String {
    format!("{}\n{path}\n\n", pad_equal_signs(title, path.len()))
}

/// mitchellh/go-wordwrap's `WrapString`: breaks at spaces so lines stay within `limit`
/// characters where possible (existing newlines kept).
pub fn wrap(text: &str, limit: usize) -> String {
    let mut out = String::new();
    for (n, paragraph) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut width = 0;
        for (i, word) in paragraph.split(' ').enumerate() {
            let w = word.chars().count();
            if i > 0 {
                if width + 1 + w > limit {
                    out.push('\n');
                    width = 0;
                } else {
                    out.push(' ');
                    width += 1;
                }
            }
            out.push_str(word);
            width += w;
        }
    }
    out
}

/// `wrapAtLength`: [`wrap`] at 80 columns.
pub fn wrap_at_length(text: &str) -> String {
    wrap(text, 80)
}

/// `wrapAtLengthWithPadding`: wrapped at 80 minus `pad`, each line indented by `pad`.
pub fn wrap_with_padding(text: &str, pad: usize) -> String {
    let indent = " ".repeat(pad);
    wrap(text, 80 - pad)
        .lines()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value `-field=NAME` prints for a secret: the `auth` fields by their table names,
/// `refresh_interval`, else a `data` key. `None` when absent or `null`.
pub fn secret_field(secret: &Secret, field: &str) -> Option<Value> {
    let strings = |v: &Option<Vec<String>>| {
        Value::Array(
            v.clone()
                .unwrap_or_default()
                .into_iter()
                .map(Value::String)
                .collect(),
        )
    };
    let value = if let Some(auth) = &secret.auth {
        match field {
            "token" => Some(Value::String(auth.client_token.clone())),
            "token_accessor" => Some(Value::String(auth.accessor.clone())),
            "token_duration" => Some(Value::from(auth.lease_duration)),
            "token_renewable" => Some(Value::Bool(auth.renewable)),
            "token_policies" => Some(strings(&auth.token_policies)),
            "identity_policies" => Some(strings(&auth.identity_policies)),
            "policies" => Some(strings(&auth.policies)),
            _ => secret.get(field).cloned(),
        }
    } else if let Some(Value::Object(wrap)) = &secret.wrap_info {
        match field {
            "wrapping_token" => wrap.get("token").cloned(),
            "wrapping_accessor" => wrap.get("accessor").cloned(),
            "wrapping_token_ttl" => wrap.get("ttl").cloned(),
            "wrapping_token_creation_time" => wrap.get("creation_time").cloned(),
            "wrapping_token_creation_path" => wrap.get("creation_path").cloned(),
            "wrapped_accessor" => wrap.get("wrapped_accessor").cloned(),
            _ => secret.get(field).cloned(),
        }
    } else if field == "refresh_interval" {
        Some(Value::from(secret.lease_duration))
    } else {
        secret.get(field).cloned()
    };
    value.filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(body: Value) -> Secret {
        Secret::parse(&body).unwrap()
    }

    #[test]
    fn go_values_print_like_fmt_v() {
        assert_eq!(go_value(&json!("hunter2")), "hunter2");
        assert_eq!(go_value(&json!(null)), "<nil>");
        assert_eq!(go_value(&json!(42)), "42");
        assert_eq!(go_value(&json!(true)), "true");
        assert_eq!(go_value(&json!(["default", "ro"])), "[default ro]");
        assert_eq!(
            go_value(&json!({"x": [1, 2], "a": {"b": null}})),
            "map[a:map[b:<nil>] x:[1 2]]"
        );
        assert_eq!(
            go_quoted_list(Some(&["default".into(), "ro".into()])),
            r#"["default" "ro"]"#
        );
        assert_eq!(go_quoted_list(None), "[]");
    }

    #[test]
    fn durations_print_like_go_and_the_cli() {
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_secs(0)), "0s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(45)), "45s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(2_764_800), "768h");
        assert_eq!(human_duration(3600), "1h");
        assert_eq!(human_duration(3601), "1h1s");
        assert_eq!(human_duration(3660), "1h1m");
        assert_eq!(human_duration(60), "1m");
        assert_eq!(human_duration(90), "1m30s");
        assert_eq!(human_duration(3593), "59m53s");
        assert_eq!(human_duration(0), "0s");
    }

    #[test]
    fn read_table_shows_refresh_interval_and_sorted_data() {
        let s = secret(json!({
            "request_id": "r", "lease_id": "", "renewable": false, "lease_duration": 2764800,
            "data": {"password": "hunter2", "n": 42, "flag": true, "nested": {"x": [1, 2]},
                     "nil": null, "empty": "", "ttl": 600},
            "wrap_info": null, "warnings": null, "auth": null
        }));
        assert_eq!(
            secret_table(&s),
            "\
Key                 Value
---                 -----
refresh_interval    768h
empty               n/a
flag                true
n                   42
nested              map[x:[1 2]]
nil                 <nil>
password            hunter2
ttl                 10m
"
        );
    }

    #[test]
    fn the_reference_read_table() {
        let s = secret(json!({"lease_duration": 2764800, "data": {"a": "1", "b": "2"}}));
        assert_eq!(
            secret_table(&s),
            "Key                 Value\n---                 -----\nrefresh_interval    768h\na                   1\nb                   2\n"
        );
        assert_eq!(secret_table(&Secret::default()), "");
    }

    #[test]
    fn token_tables_show_the_auth_block_as_vault_does() {
        let s = secret(json!({
            "lease_duration": 0, "data": null,
            "auth": {"client_token": "s.7hX1UkczYl3NNb0d98aKjVQE", "accessor": "xyaGBiQWNNMeJp15aGZ0H6g4",
                     "policies": ["default", "ro"], "token_policies": ["default", "ro"],
                     "metadata": {"team": "a"}, "lease_duration": 3600, "renewable": true}
        }));
        assert_eq!(
            secret_table(&s),
            "\
Key                  Value
---                  -----
token                s.7hX1UkczYl3NNb0d98aKjVQE
token_accessor       xyaGBiQWNNMeJp15aGZ0H6g4
token_duration       1h
token_renewable      true
token_policies       [\"default\" \"ro\"]
identity_policies    []
policies             [\"default\" \"ro\"]
token_meta_team      a
"
        );
        let batch = secret(
            json!({"auth": {"client_token": "b.x", "accessor": "", "policies": ["root"], "lease_duration": 0}}),
        );
        let text = secret_table(&batch);
        assert!(text.contains("\ntoken_accessor       n/a\n"), "{text}");
        assert!(text.contains("\ntoken_duration       ∞\n"), "{text}");
        assert_eq!(
            secret_field(&s, "token").unwrap(),
            "s.7hX1UkczYl3NNb0d98aKjVQE"
        );
        assert_eq!(secret_field(&s, "token_duration").unwrap(), 3600);
        assert_eq!(
            go_value(&secret_field(&s, "policies").unwrap()),
            "[default ro]"
        );
    }

    #[test]
    fn secret_json_keeps_gos_field_order() {
        let s = secret(json!({
            "warnings": null, "data": {"z": 1, "a": {"y": 2, "b": 3}}, "renewable": false,
            "lease_duration": 2764800, "lease_id": "", "request_id": "abc", "auth": null,
            "wrap_info": null
        }));
        let text = secret_json(&s);
        assert_eq!(
            text,
            "{\n  \"request_id\": \"abc\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 2764800,\n  \"renewable\": false,\n  \"data\": {\n    \"a\": {\n      \"b\": 3,\n      \"y\": 2\n    },\n    \"z\": 1\n  },\n  \"warnings\": null\n}\n"
        );
        let token = secret(json!({"auth": {"client_token": "s.x", "policies": ["root"]}}));
        let keys: Vec<String> = secret_json(&token)
            .lines()
            .filter(|l| l.starts_with("    \""))
            .map(|l| l.trim().split('"').nth(1).unwrap().to_string())
            .collect();
        assert_eq!(
            keys,
            [
                "client_token",
                "accessor",
                "policies",
                "token_policies",
                "identity_policies",
                "metadata",
                "orphan",
                "entity_id",
                "lease_duration",
                "renewable",
                "mfa_requirement"
            ]
        );
        assert_eq!(
            go_json(&json!({"p": "<a&b>"})),
            "{\n  \"p\": \"\\u003ca\\u0026b\\u003e\"\n}\n"
        );
    }

    #[test]
    fn lists_and_columns() {
        assert_eq!(
            list_table(&[json!("foo"), json!("app/")]),
            "Keys\n----\napp/\nfoo\n"
        );
        let rows = vec![
            vec![
                "cubbyhole/".into(),
                "cubbyhole".into(),
                "cubbyhole_1".into(),
                "per-token private secret storage".into(),
            ],
            vec!["kv2/".into(), "kv".into(), "kv_2".into(), "".into()],
        ];
        assert_eq!(
            table(&["Path", "Type", "Accessor", "Description"], &rows),
            "\
Path          Type         Accessor       Description
----          ----         --------       -----------
cubbyhole/    cubbyhole    cubbyhole_1    per-token private secret storage
kv2/          kv           kv_2           n/a
"
        );
    }

    #[test]
    fn equal_sign_headers_match_the_cli() {
        assert_eq!(
            pad_equal_signs("Secret Path", "clikv2/data/app".len()),
            "= Secret Path ="
        );
        let data: Map<String, Value> =
            serde_json::from_value(json!({"password": "s3cret", "user": "alice"})).unwrap();
        assert_eq!(header_for_map("Data", &data), "====== Data ======");
        let meta: Map<String, Value> = serde_json::from_value(json!({
            "created_time": "t", "custom_metadata": null, "deletion_time": "", "destroyed": false, "version": 1
        }))
        .unwrap();
        assert_eq!(
            header_for_map("Metadata", &meta),
            "======= Metadata ======="
        );
        let user: Map<String, Value> = serde_json::from_value(json!({"user": "dave"})).unwrap();
        assert_eq!(header_for_map("Data", &user), "==== Data ====");
        assert_eq!(
            path_block("kv2/data/app", "Secret Path"),
            "= Secret Path =\nkv2/data/app\n\n"
        );
    }

    #[test]
    fn wrapping_matches_the_login_text() {
        assert_eq!(
            wrap_at_length(
                "Success! You are now authenticated. The token information displayed below is \
                 already stored in the token helper. You do NOT need to run \"vault login\" \
                 again. Future Vault requests will automatically use this token."
            ),
            "Success! You are now authenticated. The token information displayed below is\n\
             already stored in the token helper. You do NOT need to run \"vault login\" again.\n\
             Future Vault requests will automatically use this token."
        );
        let s = secret(json!({"warnings": ["careful"]}));
        assert_eq!(
            warnings_text(&s),
            "\nWARNING! The following warnings were returned from Vault:\n\n  * careful\n\n"
        );
    }

    #[test]
    fn fields_come_from_data_or_the_lease() {
        let s = secret(json!({"lease_duration": 60, "data": {"value": "world", "nil": null}}));
        assert_eq!(secret_field(&s, "value").unwrap(), "world");
        assert_eq!(secret_field(&s, "refresh_interval").unwrap(), 60);
        assert_eq!(secret_field(&s, "nil"), None);
        assert_eq!(secret_field(&s, "missing"), None);
        assert!(!Secret::parse(&json!({"errors": []}))
            .unwrap()
            .has_data_or_warnings());
        assert!(secret(json!({"warnings": ["w"]})).has_data_or_warnings());
        assert_eq!(Secret::parse(&Value::Null), None);
    }
}
