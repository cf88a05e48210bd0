//! `consul`: a storage backend on Consul's KV store, through Consul's HTTP API.
//!
//! ```hcl
//! storage "consul" {
//!   address = "127.0.0.1:8500"
//!   path    = "vault/"
//! }
//! ```
//!
//! Written against the plugin ABI alone, as a third-party author would: see
//! `plugins/consul/README.md` for every option, the error messages and how it is tested.
//!
//! * `get`: `GET /v1/kv/<path><key>?raw` (404 is a missing key);
//! * `list`: `GET /v1/kv/<path><prefix>?keys&separator=/`, the prefix removed;
//! * `put` and `delete`: one-operation `PUT /v1/txn`, so that while the HA lock is held a
//!   `check-session` operation rides along first and fences the write;
//! * transactions (ABI 1.1): up to 63 operations in one `PUT /v1/txn` (Consul's limit is
//!   64; one is kept for the session check);
//! * the HA lock (ABI 1.2): a Consul session named "Vault Lock", see [`lock`].
//!
//! Every call blocks (`BLOCKING = true`) on a ureq client with rustls: the plugin cannot
//! use the host's async runtime. Each storage call is bounded by `request_timeout`, its
//! retries included, and at most `max_parallel` are in flight.

mod client;
mod config;
pub mod lock;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use vault_plugin_api::{
    Config, Error, HaLock, HeldLock, Storage, StoragePlugin, Transactions, TxnOp,
};

use client::{encode_key, Client, Retry};
pub use config::{parse_duration, Settings};
use lock::{Fences, Locker};

/// Consul's per-transaction operation limit.
pub const CONSUL_MAX_TXN_OPS: usize = 64;
/// Operations one transaction of ours may hold: one is kept for the session check.
pub const MAX_TXN_OPERATIONS: usize = CONSUL_MAX_TXN_OPS - 1;
/// Consul's default `kv_max_value_size`: the largest value it stores.
pub const MAX_VALUE_SIZE: usize = 512 * 1024;

/// The backend.
#[derive(Debug)]
pub struct Consul {
    client: Arc<Client>,
    path: String,
    consistent: bool,
    fences: Arc<Fences>,
    locker: Locker,
}

impl Consul {
    /// Opens the backend from its settings. Makes no request: an unreachable Consul fails
    /// the calls, not the start-up.
    pub fn from_settings(settings: &Settings) -> Consul {
        let client = Arc::new(Client::new(settings));
        let fences = Arc::new(Fences::default());
        Consul {
            locker: Locker {
                client: client.clone(),
                fences: fences.clone(),
                session_ttl: settings.session_ttl,
                lock_wait_time: settings.lock_wait_time,
                consistent: settings.consistent,
            },
            client,
            path: settings.path.clone(),
            consistent: settings.consistent,
            fences,
        }
    }

    fn full_key(&self, key: &str) -> Result<String, Error> {
        check_key(key)?;
        Ok(format!("{}{key}", self.path))
    }

    fn read_query(&self, first: &str) -> String {
        if self.consistent {
            format!("?{first}&consistent")
        } else {
            format!("?{first}")
        }
    }

    /// Sends write operations as one transaction, fenced by every held lock.
    fn write(&self, ops: &[TxnOp]) -> Result<(), Error> {
        if ops.is_empty() {
            return Ok(());
        }
        let fences = self.fences.current();
        if let Some(lost) = fences.iter().find(|f| f.is_gone()) {
            return Err(lost_lock_error(&lost.key, None));
        }
        let mut body: Vec<serde_json::Value> = fences
            .iter()
            .map(|f| {
                serde_json::json!({"KV": {
                    "Verb": "check-session",
                    "Key": f.key,
                    "Session": f.session,
                }})
            })
            .collect();
        for op in ops {
            body.push(match op {
                TxnOp::Put { key, value } => {
                    check_size(key, value)?;
                    serde_json::json!({"KV": {
                        "Verb": "set",
                        "Key": self.full_key(key)?,
                        "Value": base64::engine::general_purpose::STANDARD.encode(value),
                    }})
                }
                TxnOp::Delete { key } => serde_json::json!({"KV": {
                    "Verb": "delete",
                    "Key": self.full_key(key)?,
                }}),
            });
        }
        let body = serde_json::Value::Array(body).to_string();
        let reply = self
            .client
            .call("PUT", "/v1/txn", Some(body.as_bytes()), Retry::Write)?;
        match reply.status {
            200 => Ok(()),
            409 => {
                let json = reply.json(&self.client, "a transaction")?;
                let errors = json
                    .get("Errors")
                    .and_then(|e| e.as_array())
                    .cloned()
                    .unwrap_or_default();
                let mut described = Vec::new();
                for error in &errors {
                    let at = error.get("OpIndex").and_then(|i| i.as_u64()).unwrap_or(0) as usize;
                    let what = error.get("What").and_then(|w| w.as_str()).unwrap_or("");
                    if let Some(fence) = fences.get(at) {
                        fence.mark_lost();
                        return Err(lost_lock_error(&fence.key, Some(what)));
                    }
                    described.push(format!("operation {}: {what}", at - fences.len()));
                }
                Err(Error::Other(format!(
                    "Consul at {} refused the transaction: {}",
                    self.client.address,
                    if described.is_empty() {
                        reply.text()
                    } else {
                        described.join("; ")
                    }
                )))
            }
            _ => Err(self.client.status_error("the write", &reply)),
        }
    }
}

fn lost_lock_error(key: &str, consul_says: Option<&str>) -> Error {
    Error::Other(match consul_says {
        Some(what) => format!(
            "write refused: the HA lock {key:?} is no longer held by this server (Consul: {what})"
        ),
        None => format!("write refused: the HA lock {key:?} is no longer held by this server"),
    })
}

/// Keys are `/`-separated, without empty, `.` or `..` segments (Consul's HTTP router would
/// rewrite those paths).
fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() {
        return Err(Error::InvalidKey("the empty key".into()));
    }
    check_segments(key)
}

fn check_segments(s: &str) -> Result<(), Error> {
    if let Some(bad) = s
        .split('/')
        .find(|seg| seg.is_empty() || *seg == "." || *seg == "..")
    {
        return Err(Error::InvalidKey(format!(
            "{s:?}: a {} segment (Consul keys cannot hold empty, \".\" or \"..\" segments)",
            if bad.is_empty() { "empty" } else { bad }
        )));
    }
    Ok(())
}

fn check_size(key: &str, value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_VALUE_SIZE {
        return Err(Error::TooLarge(format!(
            "{} bytes for key {key:?}; Consul holds at most {MAX_VALUE_SIZE} bytes per value",
            value.len()
        )));
    }
    Ok(())
}

impl Storage for Consul {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let url = format!(
            "/v1/kv/{}{}",
            encode_key(&self.full_key(key)?),
            self.read_query("raw")
        );
        let reply = self.client.call("GET", &url, None, Retry::Idempotent)?;
        match reply.status {
            200 => Ok(Some(reply.body)),
            404 => Ok(None),
            _ => Err(self.client.status_error("the read", &reply)),
        }
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        check_size(key, value)?;
        self.write(&[TxnOp::Put {
            key: key.to_string(),
            value: value.to_vec(),
        }])
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        self.write(&[TxnOp::Delete {
            key: key.to_string(),
        }])
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        if let Some(inner) = prefix.strip_suffix('/') {
            check_segments(inner)?;
        } else if !prefix.is_empty() {
            return Err(Error::InvalidKey(format!(
                "list prefix {prefix:?} must be empty or end with '/'"
            )));
        }
        let full = format!("{}{prefix}", self.path);
        let url = format!(
            "/v1/kv/{}{}",
            encode_key(&full),
            self.read_query("keys&separator=%2F")
        );
        let reply = self.client.call("GET", &url, None, Retry::Idempotent)?;
        match reply.status {
            404 => Ok(Vec::new()),
            200 => {
                let json = reply.json(&self.client, "a listing")?;
                let keys = json.as_array().ok_or_else(|| {
                    Error::Other(format!(
                        "Consul at {} answered a listing with something other than a list",
                        self.client.address
                    ))
                })?;
                let mut names: Vec<String> = keys
                    .iter()
                    .filter_map(|k| k.as_str())
                    .filter_map(|k| k.strip_prefix(full.as_str()))
                    .filter(|rest| !rest.is_empty())
                    .map(str::to_string)
                    .collect();
                names.sort();
                names.dedup();
                Ok(names)
            }
            _ => Err(self.client.status_error("the listing", &reply)),
        }
    }

    fn transactions(&self) -> Option<&dyn Transactions> {
        Some(self)
    }

    fn ha_lock(&self) -> Option<&dyn HaLock> {
        Some(self)
    }
}

impl Transactions for Consul {
    fn max_operations(&self) -> usize {
        MAX_TXN_OPERATIONS
    }

    fn transact(&self, ops: Vec<TxnOp>) -> Result<(), Error> {
        if ops.len() > MAX_TXN_OPERATIONS {
            return Err(Error::TooLarge(format!(
                "a transaction of {} operations; Consul takes at most {MAX_TXN_OPERATIONS} here",
                ops.len()
            )));
        }
        self.write(&ops)
    }
}

impl HaLock for Consul {
    fn lock(
        &self,
        key: &str,
        value: &[u8],
        timeout: Duration,
    ) -> Result<Option<Box<dyn HeldLock>>, Error> {
        let full = self.full_key(key)?;
        self.locker.lock(&full, value, timeout)
    }

    fn holder(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let full = self.full_key(key)?;
        let now = self.locker.read_key(&full, 0, Duration::ZERO)?;
        Ok(match now.session {
            Some(_) => Some(now.value.unwrap_or_default()),
            None => None,
        })
    }

    fn fences_writes(&self) -> bool {
        true
    }
}

impl StoragePlugin for Consul {
    const BLOCKING: bool = true;

    fn open(config: Config) -> Result<Self, Error> {
        let settings = config::parse(config)?;
        Ok(Consul::from_settings(&settings))
    }
}

vault_plugin_api::export_storage_plugin!("consul", Consul);

#[cfg(test)]
mod tests {
    use super::*;

    fn open(pairs: &[(&str, &str)]) -> Consul {
        Consul::open(Config::new(pairs.iter().copied())).unwrap()
    }

    #[test]
    fn opening_makes_no_request() {
        // Nothing listens on port 1; open still succeeds.
        let c = open(&[("address", "127.0.0.1:1"), ("request_timeout", "1s")]);
        let err = c.get("core/seal-config").unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        assert!(err.to_string().contains("Consul at 127.0.0.1:1"), "{err}");
    }

    #[test]
    fn bad_keys_are_refused_before_any_request() {
        let c = open(&[("address", "127.0.0.1:1")]);
        for key in ["", "a//b", "a/./b", "../x", "a/"] {
            assert!(
                matches!(c.get(key), Err(Error::InvalidKey(_))),
                "get {key:?}"
            );
            assert!(
                matches!(c.put(key, b"v"), Err(Error::InvalidKey(_))),
                "put {key:?}"
            );
        }
        assert!(matches!(c.list("a"), Err(Error::InvalidKey(_))));
        assert!(matches!(c.list("a//"), Err(Error::InvalidKey(_))));
    }

    #[test]
    fn values_over_512_kib_are_too_large() {
        let c = open(&[("address", "127.0.0.1:1")]);
        let err = c.put("big", &vec![0; MAX_VALUE_SIZE + 1]).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
        assert!(err.to_string().starts_with("value too large"), "{err}");
        let ops = (0..=MAX_TXN_OPERATIONS)
            .map(|i| TxnOp::Delete {
                key: format!("k{i}"),
            })
            .collect();
        assert!(matches!(c.transact(ops), Err(Error::TooLarge(_))));
    }
}
