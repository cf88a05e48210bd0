//! The server's shared state: the storage backend and the seal state.
//!
//! Every request handler gets an `Arc<Core>`. The barrier and the Shamir seal hang off
//! this type; until the server is initialised and unsealed, only the raw `sys/` handlers
//! answer and everything else is 503 "Vault is sealed".

use std::sync::atomic::{AtomicBool, Ordering};

use crate::storage::{Storage, StorageError};

/// Where the plaintext seal configuration lives; its presence means "initialised".
pub const SEAL_CONFIG_KEY: &str = "core/seal-config";

/// Shared server state.
#[derive(Debug)]
pub struct Core {
    storage: Storage,
    /// `true` until the barrier holds its keys in memory. Written only by the seal
    /// lifecycle; read on every request, so an atomic rather than a lock.
    sealed: AtomicBool,
}

impl Core {
    /// A sealed core over `storage`.
    pub fn new(storage: Storage) -> Self {
        Core {
            storage,
            sealed: AtomicBool::new(true),
        }
    }

    /// The storage backend.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Whether storage holds a seal configuration.
    pub async fn is_initialized(&self) -> Result<bool, StorageError> {
        Ok(self.storage.get(SEAL_CONFIG_KEY).await?.is_some())
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }
}
