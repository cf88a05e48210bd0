//! The storage contract: what a backend author implements.

use crate::{Config, Error};

/// A physical storage backend, with Vault's physical-backend semantics.
///
/// The host only ever stores ciphertext through this trait (everything but the seal
/// configuration passes through the encryption barrier first), so a backend never needs to
/// understand the values it keeps.
///
/// **Keys** are `/`-separated UTF-8 strings without a leading `/`, for example
/// `core/keyring` or `logical/4f2c.../app/db`. A key never ends with `/`; a key may share a
/// prefix with a "folder" (`a` and `a/b` can both exist). **Values** are arbitrary bytes.
///
/// Calls may come from many threads at once: implementations synchronise internally.
pub trait Storage: Send + Sync + 'static {
    /// Reads a value. A missing key is `Ok(None)`, never an error.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error>;

    /// Inserts or overwrites a value. When this returns `Ok`, a later `get` (from any
    /// thread, and, for a durable backend, after a crash) returns this value.
    fn put(&self, key: &str, value: &[u8]) -> Result<(), Error>;

    /// Deletes a value. Deleting a missing key is `Ok(())`.
    fn delete(&self, key: &str) -> Result<(), Error>;

    /// Lists the direct children of `prefix`, relative to it, sorted (byte order).
    ///
    /// `prefix` is empty or ends with `/`. A child that has children of its own appears
    /// once, with a trailing `/` (`list("a/")` over keys `a/b`, `a/c/d`, `a/c/e` gives
    /// `["b", "c/"]`). A name that is both a key and a folder appears twice (`"c"` and
    /// `"c/"`). A prefix with nothing under it gives an empty list, not an error.
    fn list(&self, prefix: &str) -> Result<Vec<String>, Error>;

    // abi-1.1: begin
    /// *Since ABI 1.1.* The transaction ability, when this backend has one.
    ///
    /// The default says "not supported"; the host then falls back to single operations.
    fn transactions(&self) -> Option<&dyn Transactions> {
        None
    }
    // abi-1.1: end
}

/// A storage plugin: a [`Storage`] the host can open from a config stanza.
pub trait StoragePlugin: Storage + Sized {
    /// Whether calls may block the calling thread (disk or network I/O). The host runs
    /// blocking backends on its blocking thread pool and calls non-blocking ones directly,
    /// which is hundreds of times cheaper. When unsure, leave it `true`.
    const BLOCKING: bool = true;

    /// Opens the backend from its stanza. Take every key you accept and end with
    /// [`Config::finish`], so a misspelt key is reported instead of ignored.
    fn open(config: Config) -> Result<Self, Error>;
}

// abi-1.1: begin
/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// Insert or overwrite `key` with `value`.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete `key` (missing is fine).
    Delete {
        /// The key.
        key: String,
    },
}

/// *Since ABI 1.1.* Atomic batches: all operations apply, or none do.
pub trait Transactions: Send + Sync {
    /// The largest number of operations one call accepts.
    fn max_operations(&self) -> usize;

    /// Applies `ops` in order, atomically. Readers never see part of a batch.
    fn transact(&self, ops: Vec<TxnOp>) -> Result<(), Error>;
}
// abi-1.1: end
