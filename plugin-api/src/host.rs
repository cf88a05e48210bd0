//! The host side of the boundary: safe handles over a loaded plugin's objects.
//!
//! The host crate does the loading (dlopen, manifest check, abi_stable's layout check)
//! and then works only with these types. The conformance suite uses them too, so it
//! exercises exactly the calls the host makes.

use std::collections::BTreeMap;
use std::fmt;
use std::net::TcpListener;

use abi_stable::std_types::{RStr, RVec};
use abi_stable::type_layout::TypeLayout;
use abi_stable::StableAbi;

use crate::ffi::{self, AbilityFfi, PluginKind, PluginModRef, StorageFfiBox};
use crate::{BoundListener, Error, ListenerSettings, StoragePlugin, TlsSettings, TlsVersion};

/// A plugin's self-description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The type name configs use (`backend "file"`, `listener "tcp"`).
    pub name: String,
    /// `"storage"` or `"listener"` (or `"kind N"` for kinds this host does not know).
    pub kind: String,
    /// The plugin's own version.
    pub version: String,
    /// Whether its calls block (storage only).
    pub blocking: bool,
}

/// A loaded plugin's root module.
#[derive(Clone, Copy)]
pub struct PluginModule {
    module: PluginModRef,
}

impl fmt::Debug for PluginModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginModule")
            .field("info", &self.info())
            .finish()
    }
}

impl PluginModule {
    /// Wraps a root module that abi_stable has checked.
    pub fn new(module: PluginModRef) -> Self {
        PluginModule { module }
    }

    /// The plugin's name, kind and version.
    pub fn info(&self) -> PluginInfo {
        let raw = (self.module.info())();
        let kind = match raw.kind {
            PluginKind::STORAGE => "storage".to_string(),
            PluginKind::LISTENER => "listener".to_string(),
            PluginKind(other) => format!("kind {other}"),
        };
        PluginInfo {
            name: raw.name.into_string(),
            kind,
            version: raw.plugin_version.into_string(),
            blocking: raw.blocking,
        }
    }

    /// Opens a storage backend from string pairs.
    pub fn open_storage<'a>(
        &self,
        config: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<StorageHandle, Error> {
        let open = self
            .module
            .open_storage()
            .ok_or_else(|| Error::Unsupported("this plugin is not a storage backend".into()))?;
        let blocking = self.info().blocking;
        let inner: StorageFfiBox = open(ffi::config_to_ffi(config)).into_result()?;
        Ok(StorageHandle { inner, blocking })
    }

    /// Asks a listener plugin to parse its stanza and bind.
    pub fn bind_listener<'a>(
        &self,
        config: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BoundListener, Error> {
        let bind = self
            .module
            .bind_listener()
            .ok_or_else(|| Error::Unsupported("this plugin is not a listener".into()))?;
        let raw = bind(ffi::config_to_ffi(config)).into_result()?;
        listener_from_ffi(raw)
    }
}

fn listener_from_ffi(raw: ffi::ListenerFfi) -> Result<BoundListener, Error> {
    use std::os::fd::FromRawFd;
    if raw.fd < 0 {
        return Err(Error::Other(format!(
            "listener plugin returned an invalid socket ({})",
            raw.fd
        )));
    }
    // SAFETY: the ABI transfers ownership of `fd` (the plugin used into_raw_fd), and
    // nothing else in this process holds it.
    let socket = unsafe { TcpListener::from_raw_fd(raw.fd) };
    let tls = if raw.tls_enabled {
        let min_version = TlsVersion::from_wire_code(raw.tls_min_version).ok_or_else(|| {
            Error::Other(format!(
                "listener plugin returned unknown TLS version {:#06x}",
                raw.tls_min_version
            ))
        })?;
        let ca = raw.tls_client_ca_file.into_string();
        Some(TlsSettings {
            cert_file: raw.tls_cert_file.into_string(),
            key_file: raw.tls_key_file.into_string(),
            min_version,
            client_ca_file: (!ca.is_empty()).then_some(ca),
            require_client_cert: raw.tls_require_client_cert,
        })
    } else {
        None
    };
    let extra: BTreeMap<String, String> = ffi::config_from_ffi(raw.extra)
        .remaining()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ok(BoundListener {
        socket,
        settings: ListenerSettings {
            address: raw.address.into_string(),
            tls,
            max_request_size: raw.max_request_size,
            extra,
        },
    })
}

/// An open storage backend, behind the frozen vtable.
pub struct StorageHandle {
    inner: StorageFfiBox,
    blocking: bool,
}

impl fmt::Debug for StorageHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageHandle")
            .field("blocking", &self.blocking)
            .finish()
    }
}

impl StorageHandle {
    /// Opens `S` in this process through the same vtable a loaded plugin uses. For tests
    /// (the conformance suite) and for embedding a backend without a shared library.
    pub fn in_process<S: StoragePlugin>(config: crate::Config) -> Result<StorageHandle, Error> {
        let storage = S::open(config)?;
        Ok(StorageHandle {
            inner: ffi::storage_object(storage),
            blocking: S::BLOCKING,
        })
    }

    /// Whether calls may block (the host then uses its blocking pool).
    pub fn is_blocking(&self) -> bool {
        self.blocking
    }

    /// See [`crate::Storage::get`].
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .inner
            .get(RStr::from(key))
            .into_result()?
            .into_option()
            .map(RVec::into_vec))
    }

    /// See [`crate::Storage::put`].
    pub fn put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        Ok(self
            .inner
            .put(RStr::from(key), value.into())
            .into_result()?)
    }

    /// See [`crate::Storage::delete`].
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        Ok(self.inner.delete(RStr::from(key)).into_result()?)
    }

    /// See [`crate::Storage::list`].
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .inner
            .list(RStr::from(prefix))
            .into_result()?
            .into_iter()
            .map(|s| s.into_string())
            .collect())
    }

    /// Fetches ability `id` as type `T`, checking the plugin's layout of `T` against ours.
    fn ability<T: StableAbi>(&self, id: u32) -> Result<Option<Ability<T>>, Error> {
        match self.inner.ability(id).into_option() {
            None => Ok(None),
            Some(raw) => Ability::check(raw).map(Some),
        }
    }

    // abi-1.1: begin
    /// The transaction ability, when the backend has it (absent for plugins built against
    /// ABI 1.0).
    pub fn transactions(&self) -> Result<Option<TransactionsHandle>, Error> {
        Ok(self
            .ability::<ffi::TransactionsFfiBox>(ffi::ability::TRANSACTIONS)?
            .map(|inner| TransactionsHandle { inner }))
    }
    // abi-1.1: end

    // abi-1.2: begin
    /// The HA lock ability, when the backend has it (absent for plugins built against ABI
    /// 1.0 or 1.1).
    pub fn ha_lock(&self) -> Result<Option<HaLockHandle>, Error> {
        Ok(self
            .ability::<ffi::HaLockFfiBox>(ffi::ability::HA_LOCK)?
            .map(|inner| HaLockHandle { inner }))
    }
    // abi-1.2: end
}

/// An ability object owned by the host, freed by the plugin's own allocator.
struct Ability<T> {
    raw: AbilityFfi,
    _type: std::marker::PhantomData<T>,
}

// SAFETY: every ability type is a sabi_trait object declared `Send + Sync`.
unsafe impl<T: Send> Send for Ability<T> {}
unsafe impl<T: Sync> Sync for Ability<T> {}

impl<T: StableAbi> Ability<T> {
    fn check(raw: AbilityFfi) -> Result<Self, Error> {
        // Wrap first, so the object is freed on the error path too.
        let ability = Ability {
            raw,
            _type: std::marker::PhantomData,
        };
        // SAFETY: `layout` is the `&'static TypeLayout` the plugin put there.
        let theirs: &'static TypeLayout = unsafe { &*(ability.raw.layout as *const TypeLayout) };
        abi_stable::abi_stability::check_layout_compatibility(T::LAYOUT, theirs)
            .into_result()
            .map_err(|e| {
                let first = e
                    .to_string()
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string();
                Error::Other(format!(
                    "plugin ability layout does not match this server's plugin-api: {first}"
                ))
            })?;
        Ok(ability)
    }

    fn get(&self) -> &T {
        // SAFETY: `object` is a live `Box<T>` (layout checked in `check`) until drop.
        unsafe { &*(self.raw.object as *const T) }
    }
}

impl<T> Drop for Ability<T> {
    fn drop(&mut self) {
        // SAFETY: called once, with the pointer the plugin handed over.
        unsafe { (self.raw.drop)(self.raw.object) }
    }
}

// abi-1.1: begin
/// The transaction ability of a backend.
pub struct TransactionsHandle {
    inner: Ability<ffi::TransactionsFfiBox>,
}

impl fmt::Debug for TransactionsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionsHandle").finish_non_exhaustive()
    }
}

impl TransactionsHandle {
    /// See [`crate::Transactions::max_operations`].
    pub fn max_operations(&self) -> usize {
        self.inner.get().max_operations() as usize
    }

    /// See [`crate::Transactions::transact`].
    pub fn transact(&self, ops: Vec<crate::TxnOp>) -> Result<(), Error> {
        let ops: RVec<ffi::TxnOpFfi> = ops
            .into_iter()
            .map(|op| match op {
                crate::TxnOp::Put { key, value } => ffi::TxnOpFfi {
                    delete: false,
                    key: key.into(),
                    value: value.into(),
                },
                crate::TxnOp::Delete { key } => ffi::TxnOpFfi {
                    delete: true,
                    key: key.into(),
                    value: RVec::new(),
                },
            })
            .collect();
        Ok(self.inner.get().transact(ops).into_result()?)
    }
}
// abi-1.1: end

// abi-1.2: begin
/// The HA lock ability of a backend. See [`crate::HaLock`] for the contract.
pub struct HaLockHandle {
    inner: Ability<ffi::HaLockFfiBox>,
}

impl fmt::Debug for HaLockHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HaLockHandle").finish_non_exhaustive()
    }
}

impl HaLockHandle {
    /// See [`crate::HaLock::lock`]: blocks until acquired (`Some`) or `timeout` (`None`).
    pub fn lock(
        &self,
        key: &str,
        value: &[u8],
        timeout: std::time::Duration,
    ) -> Result<Option<LockHandle>, Error> {
        let held = self
            .inner
            .get()
            .lock(RStr::from(key), value.into(), timeout.into())
            .into_result()?;
        Ok(held.into_option().map(|inner| LockHandle { inner }))
    }

    /// See [`crate::HaLock::holder`].
    pub fn holder(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .inner
            .get()
            .holder(RStr::from(key))
            .into_result()?
            .into_option()
            .map(RVec::into_vec))
    }

    /// See [`crate::HaLock::fences_writes`].
    pub fn fences_writes(&self) -> bool {
        self.inner.get().fences_writes()
    }
}

/// A held HA lock. See [`crate::HeldLock`] for the contract; dropping it releases the lock.
///
/// It stays valid after the [`HaLockHandle`] that made it is dropped (the plugin owns its
/// state and frees it with its own allocator).
pub struct LockHandle {
    inner: ffi::HeldLockFfiBox,
}

impl fmt::Debug for LockHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockHandle")
            .field("lost", &self.is_lost())
            .finish()
    }
}

impl LockHandle {
    /// See [`crate::HeldLock::is_lost`].
    pub fn is_lost(&self) -> bool {
        self.inner.is_lost()
    }

    /// See [`crate::HeldLock::wait_lost`].
    pub fn wait_lost(&self, timeout: std::time::Duration) -> bool {
        self.inner.wait_lost(timeout.into())
    }

    /// See [`crate::HeldLock::unlock`].
    pub fn unlock(&self) -> Result<(), Error> {
        Ok(self.inner.unlock().into_result()?)
    }
}
// abi-1.2: end
