//! The storage contract: what a backend author implements.

use crate::{Config, Error};
// abi-1.2: begin
use std::time::Duration;
// abi-1.2: end

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

    // abi-1.2: begin
    /// *Since ABI 1.2.* The HA lock ability, when this backend has one.
    ///
    /// The default says "not supported": the host then runs without high availability
    /// (one active server, no standbys).
    fn ha_lock(&self) -> Option<&dyn HaLock> {
        None
    }
    // abi-1.2: end
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

// abi-1.2: begin
/// *Since ABI 1.2.* Exclusive, named locks that high-availability servers use to elect the
/// active node (Vault's `core/lock`), with a signal when a held lock is lost.
///
/// A lock is named by a storage key (`core/lock`); the backend keeps it wherever it likes
/// (Consul: the KV key `<path>core/lock`, owned by a session). At most one holder, across
/// every server and every [`HaLock::lock`] call (two calls in one process contend like two
/// servers), holds a given lock at a time.
pub trait HaLock: Send + Sync {
    /// Acquires the lock `key`, storing `value` (the holder's identity, for example its
    /// advertise address) with it while it is held.
    ///
    /// **Blocks** while another holder has the lock: until that holder unlocks it, or loses
    /// it (its server dies or is cut off, and the backend expires its claim; the backend may
    /// add a grace period after an expiry, as Consul's lock-delay of 15 s), or until
    /// `timeout` has passed. Returns `Ok(Some(held))` once acquired, `Ok(None)` when
    /// `timeout` passed first (the host loops, checking its own shutdown in between), and
    /// `Err` when the backend cannot be asked (unreachable, permission denied); the host
    /// retries later. Never blocks much past `timeout`.
    ///
    /// **Fencing.** While the returned lock is held, and until it is unlocked or dropped, a
    /// backend that [fences writes](HaLock::fences_writes) applies each `put`, `delete` and
    /// transaction only if this holder still holds the lock, atomically with the write; once
    /// the lock is lost every such write fails. So a server that lost the lock cannot
    /// overwrite what the new holder writes, even before it has noticed.
    fn lock(
        &self,
        key: &str,
        value: &[u8],
        timeout: Duration,
    ) -> Result<Option<Box<dyn HeldLock>>, Error>;

    /// The value stored by the current holder of `key`, or `None` when nobody holds it.
    /// Standby servers use it to find the active one.
    fn holder(&self, key: &str) -> Result<Option<Vec<u8>>, Error>;

    /// Whether writes are fenced while a lock is held (see [`HaLock::lock`]). A backend
    /// that cannot fence says `false`; the host then relies on [`HeldLock::is_lost`] alone.
    fn fences_writes(&self) -> bool {
        false
    }
}

/// *Since ABI 1.2.* A lock acquired through [`HaLock::lock`].
///
/// **Lost** means this holder no longer holds the lock without having unlocked it: the
/// backend expired its claim (Consul: its session's TTL ran out, because renewals did not
/// get through, or the session was destroyed), or someone else now holds it. A lost lock is
/// never regained: acquire it anew. **The host must stop writing as soon as the lock is
/// lost** (step down to standby, seal or exit): another server may already be active.
/// Backends signal loss conservatively: when they cannot tell whether the lock is still
/// held (for example they could not renew it for a whole TTL), it is reported lost.
///
/// Dropping a held lock releases it, like [`HeldLock::unlock`] with errors ignored.
pub trait HeldLock: Send + Sync {
    /// Whether the lock is no longer held by this holder: lost, or released by
    /// [`HeldLock::unlock`]. Never blocks on I/O.
    fn is_lost(&self) -> bool;

    /// Blocks until the lock is no longer held (as [`HeldLock::is_lost`]) or `timeout`
    /// passes; returns whether it is no longer held. The host calls it in a loop on a
    /// thread of its own to learn about a loss promptly.
    fn wait_lost(&self, timeout: Duration) -> bool;

    /// Releases the lock, so another holder can acquire it at once, and stops fencing
    /// writes with it. Idempotent. On `Err` the lock still counts as released here (the
    /// backend stops renewing it, so it expires on its own).
    fn unlock(&self) -> Result<(), Error>;
}
// abi-1.2: end
