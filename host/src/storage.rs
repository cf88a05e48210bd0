//! The host's view of the storage backend: async calls over the plugin's handle.
//!
//! Blocking backends (file, consul) run on tokio's blocking pool; non-blocking ones
//! (inmem) are called directly, because a blocking-pool hop costs microseconds while the
//! call itself costs tens of nanoseconds.

use std::sync::Arc;

use vault_plugin_api::host::StorageHandle;

/// A storage failure, with the operation and key it happened on.
#[derive(Debug, thiserror::Error)]
#[error("storage {op} {key:?} on {backend}: {source}")]
pub struct StorageError {
    /// get, put, delete or list.
    pub op: &'static str,
    /// The key or prefix.
    pub key: String,
    /// The backend type.
    pub backend: Arc<str>,
    /// The plugin's error.
    pub source: vault_plugin_api::Error,
}

/// A cheap-to-clone handle to the configured backend.
#[derive(Clone)]
pub struct Storage {
    handle: Arc<StorageHandle>,
    kind: Arc<str>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("kind", &self.kind).finish()
    }
}

impl Storage {
    /// Wraps an opened backend of type `kind`.
    pub fn new(kind: &str, handle: StorageHandle) -> Self {
        Storage {
            handle: Arc::new(handle),
            kind: kind.into(),
        }
    }

    /// The backend type (`file`, `inmem`, ...), as seal-status reports it.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The plugin handle, for code that needs abilities.
    pub fn handle(&self) -> &Arc<StorageHandle> {
        &self.handle
    }

    async fn call<T: Send + 'static>(
        &self,
        op: &'static str,
        key: &str,
        f: impl FnOnce(&StorageHandle) -> Result<T, vault_plugin_api::Error> + Send + 'static,
    ) -> Result<T, StorageError> {
        let result = if self.handle.is_blocking() {
            let handle = self.handle.clone();
            match tokio::task::spawn_blocking(move || f(&handle)).await {
                Ok(r) => r,
                Err(join) => Err(vault_plugin_api::Error::Other(format!(
                    "storage task failed: {join}"
                ))),
            }
        } else {
            f(&self.handle)
        };
        result.map_err(|source| StorageError {
            op,
            key: key.to_string(),
            backend: self.kind.clone(),
            source,
        })
    }

    /// Reads a value; `None` when missing.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let k = key.to_string();
        self.call("get", key, move |h| h.get(&k)).await
    }

    /// Writes a value.
    pub async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        let k = key.to_string();
        self.call("put", key, move |h| h.put(&k, &value)).await
    }

    /// Deletes a value.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let k = key.to_string();
        self.call("delete", key, move |h| h.delete(&k)).await
    }

    /// Lists the direct children of a prefix.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let p = prefix.to_string();
        self.call("list", prefix, move |h| h.list(&p)).await
    }
}
