//! `inmem`: a storage backend that keeps everything in process memory.
//!
//! For `vault server -dev` and tests: nothing survives a restart. Its calls never block,
//! so the host calls it directly instead of through its blocking pool.

use std::collections::BTreeMap;
use std::sync::RwLock;

use vault_plugin_api::{Config, Error, Storage, StoragePlugin, Transactions, TxnOp};

/// The largest transaction accepted (the same order as Consul's limit, so code tested on
/// inmem does not build batches a production backend would refuse).
const MAX_TXN_OPERATIONS: usize = 128;

/// The in-memory backend.
#[derive(Debug, Default)]
pub struct Inmem {
    /// Every key and its value. One lock: a transaction applies under the write lock, so
    /// readers never see part of one.
    entries: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl Inmem {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-updated (every
        // mutation is a single insert/remove), so a poisoned lock is still consistent.
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Storage for Inmem {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.read().get(key).cloned())
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        self.write().insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        self.write().remove(key);
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let entries = self.read();
        let mut out: Vec<String> = Vec::new();
        for key in entries.range(prefix.to_string()..).map(|(k, _)| k) {
            let Some(rest) = key.strip_prefix(prefix) else {
                break;
            };
            let child = match rest.find('/') {
                Some(i) => &rest[..=i],
                None => rest,
            };
            // Keys arrive sorted, so a folder's entries are adjacent: compare with the last.
            if out.last().map(String::as_str) != Some(child) {
                out.push(child.to_string());
            }
        }
        // "c" < "c-d" < "c/" in byte order, so a folder can arrive after a later sibling
        // key; sort and dedup to give the contract's order.
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn transactions(&self) -> Option<&dyn Transactions> {
        Some(self)
    }
}

impl Transactions for Inmem {
    fn max_operations(&self) -> usize {
        MAX_TXN_OPERATIONS
    }

    fn transact(&self, ops: Vec<TxnOp>) -> Result<(), Error> {
        if ops.len() > MAX_TXN_OPERATIONS {
            return Err(Error::TooLarge(format!(
                "transaction of {} operations; at most {MAX_TXN_OPERATIONS}",
                ops.len()
            )));
        }
        let mut entries = self.write();
        for op in ops {
            match op {
                TxnOp::Put { key, value } => {
                    entries.insert(key, value);
                }
                TxnOp::Delete { key } => {
                    entries.remove(&key);
                }
            }
        }
        Ok(())
    }
}

impl StoragePlugin for Inmem {
    const BLOCKING: bool = false;

    fn open(config: Config) -> Result<Self, Error> {
        config.finish()?;
        Ok(Inmem::default())
    }
}

vault_plugin_api::export_storage_plugin!("inmem", Inmem);

#[cfg(test)]
mod tests {
    use super::*;

    vault_plugin_api::storage_conformance_tests!(Inmem, Config::default);

    #[test]
    fn unknown_config_keys_are_refused() {
        let err = Inmem::open(Config::new([("path", "/tmp")])).unwrap_err();
        assert!(err.to_string().contains("unknown key \"path\""), "{err}");
    }

    #[test]
    fn oversized_transactions_are_refused_whole() {
        let s = Inmem::default();
        let ops = (0..=MAX_TXN_OPERATIONS)
            .map(|i| TxnOp::Put {
                key: format!("k{i}"),
                value: vec![],
            })
            .collect();
        assert!(matches!(s.transact(ops), Err(Error::TooLarge(_))));
        assert!(s.list("").unwrap().is_empty());
    }
}
