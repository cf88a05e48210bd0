//! The frozen binary layer. Plugin authors never touch it: the export macros and
//! [`crate::host`] are its only users.
//!
//! Every type here that abi_stable's loader checks is **frozen**: its layout is the one
//! published in 1.0 and never changes within major version 1. Abilities added later
//! (transactions in 1.1, ...) are reached through the frozen [`StorageFfi::ability`] entry
//! point and carry their own layout, which the host checks on its own. That is what lets a
//! newer host load a plugin built against an older 1.x (abi_stable alone only allows the
//! opposite direction).
#![allow(non_local_definitions, non_camel_case_types, missing_docs)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use abi_stable::library::{LibHeader, RootModule, RootModuleResult};
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, RResult, RSlice, RStr, RString, RVec, Tuple2};
use abi_stable::std_types::{RErr, ROk, ROption};
// abi-1.2: begin
use abi_stable::std_types::RDuration;
// abi-1.2: end
use abi_stable::{declare_root_module_statics, sabi_trait, StableAbi};

use crate::{Config, Error, ListenerPlugin, Storage, StoragePlugin};

/// The value of [`PluginManifest::magic`].
pub const MANIFEST_MAGIC: [u8; 8] = *b"VLTPLUG1";

/// The name of the manifest symbol every plugin exports.
pub const MANIFEST_SYMBOL: &str = "VAULT_PLUGIN_MANIFEST";

/// The symbol abi_stable 0.11 looks for (checked against abi_stable in a test).
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// A plain C static every plugin exports as `VAULT_PLUGIN_MANIFEST`, read before any
/// abi_stable code runs, so "not a plugin" and "wrong ABI major" get one-line errors.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginManifest {
    /// Always [`MANIFEST_MAGIC`].
    pub magic: [u8; 8],
    /// The plugin-api major version the plugin was built with.
    pub abi_major: u32,
    /// The plugin-api minor version the plugin was built with.
    pub abi_minor: u32,
}

impl PluginManifest {
    /// The manifest of a plugin built against this crate.
    pub const CURRENT: PluginManifest = PluginManifest {
        magic: MANIFEST_MAGIC,
        abi_major: crate::ABI_MAJOR,
        abi_minor: crate::ABI_MINOR,
    };
}

/// A plugin kind. A u32 rather than an enum so that a new kind is not a layout change.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginKind(pub u32);

impl PluginKind {
    pub const STORAGE: PluginKind = PluginKind(1);
    pub const LISTENER: PluginKind = PluginKind(2);
}

#[repr(C)]
#[derive(StableAbi)]
pub struct PluginInfoFfi {
    pub name: RString,
    pub kind: PluginKind,
    pub plugin_version: RString,
    pub blocking: bool,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct ErrorFfi {
    pub code: u32,
    pub message: RString,
    /// The config key at fault, or empty.
    pub key: RString,
}

impl From<Error> for ErrorFfi {
    fn from(e: Error) -> Self {
        ErrorFfi {
            code: e.code(),
            key: e.key().unwrap_or_default().into(),
            message: e.message().into(),
        }
    }
}

impl From<ErrorFfi> for Error {
    fn from(e: ErrorFfi) -> Self {
        let key = (!e.key.is_empty()).then(|| e.key.into_string());
        Error::from_parts(e.code, e.message.into_string(), key)
    }
}

pub type ConfigFfi = RVec<Tuple2<RString, RString>>;

/// The frozen storage vtable.
#[sabi_trait]
pub trait StorageFfi: Send + Sync {
    fn get(&self, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, ErrorFfi>;
    fn put(&self, key: RStr<'_>, value: RSlice<'_, u8>) -> RResult<(), ErrorFfi>;
    fn delete(&self, key: RStr<'_>) -> RResult<(), ErrorFfi>;
    fn list(&self, prefix: RStr<'_>) -> RResult<RVec<RString>, ErrorFfi>;
    /// "Give me ability `id`": `RNone` when the plugin does not have it (or predates it).
    fn ability(&self, id: u32) -> ROption<AbilityFfi>;
}

pub type StorageFfiBox = StorageFfi_TO<'static, RBox<()>>;

/// Ability ids. An id, once published, always means the same vtable layout.
pub mod ability {
    // abi-1.1: begin
    /// [`super::TransactionsFfi`], since 1.1.
    pub const TRANSACTIONS: u32 = 1;
    // abi-1.1: end
    // abi-1.2: begin
    /// [`super::HaLockFfi`], since 1.2.
    pub const HA_LOCK: u32 = 2;
    // abi-1.2: end
}

/// A type-erased ability object with the layout it was built with.
#[repr(C)]
#[derive(StableAbi)]
pub struct AbilityFfi {
    /// `&'static TypeLayout` of the boxed object's type, as the plugin compiled it.
    pub(crate) layout: *const (),
    /// `Box<T>` of the ability's sabi_trait object, owned.
    pub(crate) object: *mut (),
    /// Frees `object` with the plugin's allocator.
    pub(crate) drop: unsafe extern "C" fn(*mut ()),
}

impl AbilityFfi {
    fn new<T: StableAbi>(value: T) -> AbilityFfi {
        AbilityFfi {
            layout: T::LAYOUT as *const _ as *const (),
            object: Box::into_raw(Box::new(value)) as *mut (),
            drop: drop_boxed::<T>,
        }
    }
}

unsafe extern "C" fn drop_boxed<T>(object: *mut ()) {
    // SAFETY: `object` came from `Box::<T>::into_raw` in `AbilityFfi::new`, and the host
    // calls this exactly once.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        drop(unsafe { Box::from_raw(object as *mut T) })
    }));
}

// abi-1.1: begin
#[repr(C)]
#[derive(StableAbi)]
pub struct TxnOpFfi {
    /// `false`: put `value` at `key`; `true`: delete `key`.
    pub delete: bool,
    pub key: RString,
    pub value: RVec<u8>,
}

/// The transactions ability (id [`ability::TRANSACTIONS`]), frozen since 1.1.
#[sabi_trait]
pub trait TransactionsFfi: Send + Sync {
    fn max_operations(&self) -> u64;
    fn transact(&self, ops: RVec<TxnOpFfi>) -> RResult<(), ErrorFfi>;
}

pub type TransactionsFfiBox = TransactionsFfi_TO<'static, RBox<()>>;
// abi-1.1: end

// abi-1.2: begin
/// The HA lock ability (id [`ability::HA_LOCK`]), frozen since 1.2.
#[sabi_trait]
pub trait HaLockFfi: Send + Sync {
    /// `ROk(RNone)`: not acquired within `timeout`.
    fn lock(
        &self,
        key: RStr<'_>,
        value: RSlice<'_, u8>,
        timeout: RDuration,
    ) -> RResult<ROption<HeldLockFfiBox>, ErrorFfi>;
    fn holder(&self, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, ErrorFfi>;
    fn fences_writes(&self) -> bool;
}

pub type HaLockFfiBox = HaLockFfi_TO<'static, RBox<()>>;

/// A held lock, returned by [`HaLockFfi::lock`]; dropping it releases the lock.
#[sabi_trait]
pub trait HeldLockFfi: Send + Sync {
    fn is_lost(&self) -> bool;
    fn wait_lost(&self, timeout: RDuration) -> bool;
    fn unlock(&self) -> RResult<(), ErrorFfi>;
}

pub type HeldLockFfiBox = HeldLockFfi_TO<'static, RBox<()>>;
// abi-1.2: end

/// A bound listener crossing the boundary. `fd` is owned by the receiver.
#[repr(C)]
#[derive(StableAbi)]
pub struct ListenerFfi {
    pub fd: i32,
    pub address: RString,
    pub tls_enabled: bool,
    pub tls_cert_file: RString,
    pub tls_key_file: RString,
    pub tls_min_version: u16,
    pub tls_client_ca_file: RString,
    pub tls_require_client_cert: bool,
    pub max_request_size: u64,
    pub extra: ConfigFfi,
}

/// The root module every plugin exports. Frozen.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    pub info: extern "C" fn() -> PluginInfoFfi,
    pub open_storage: Option<extern "C" fn(ConfigFfi) -> RResult<StorageFfiBox, ErrorFfi>>,
    #[sabi(last_prefix_field)]
    pub bind_listener: Option<extern "C" fn(ConfigFfi) -> RResult<ListenerFfi, ErrorFfi>>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "vault_plugin";
    const NAME: &'static str = "vault_plugin";
    // The root module's own layout is frozen, so its abi_stable version is too; the real
    // ABI version travels in the manifest, which the host checks first.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

// ---- plugin side: the glue the export macros instantiate ----

/// Runs `f`, turning a panic into [`Error::Panic`], so no unwind crosses `extern "C"`.
pub fn contain<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            Err(Error::Panic(message))
        }
    }
}

fn to_ffi<T>(r: Result<T, Error>) -> RResult<T, ErrorFfi> {
    match r {
        Ok(v) => ROk(v),
        Err(e) => RErr(e.into()),
    }
}

pub(crate) fn config_from_ffi(config: ConfigFfi) -> Config {
    Config::new(
        config
            .into_iter()
            .map(|Tuple2(k, v)| (k.into_string(), v.into_string())),
    )
}

pub(crate) fn config_to_ffi<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ConfigFfi {
    pairs
        .into_iter()
        .map(|(k, v)| Tuple2(RString::from(k), RString::from(v)))
        .collect()
}

pub(crate) struct StorageAdapter<S>(pub(crate) Arc<S>);

impl<S: Storage> StorageFfi for StorageAdapter<S> {
    fn get(&self, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, ErrorFfi> {
        to_ffi(contain(|| self.0.get(key.as_str())).map(|v| v.map(RVec::from).into()))
    }
    fn put(&self, key: RStr<'_>, value: RSlice<'_, u8>) -> RResult<(), ErrorFfi> {
        to_ffi(contain(|| self.0.put(key.as_str(), value.as_slice())))
    }
    fn delete(&self, key: RStr<'_>) -> RResult<(), ErrorFfi> {
        to_ffi(contain(|| self.0.delete(key.as_str())))
    }
    fn list(&self, prefix: RStr<'_>) -> RResult<RVec<RString>, ErrorFfi> {
        to_ffi(
            contain(|| self.0.list(prefix.as_str()))
                .map(|names| names.into_iter().map(RString::from).collect()),
        )
    }
    fn ability(&self, id: u32) -> ROption<AbilityFfi> {
        contain(|| Ok(self.make_ability(id))).ok().flatten().into()
    }
}

impl<S: Storage> StorageAdapter<S> {
    fn make_ability(&self, id: u32) -> Option<AbilityFfi> {
        match id {
            // abi-1.1: begin
            ability::TRANSACTIONS => {
                self.0.transactions()?;
                let object: TransactionsFfiBox =
                    TransactionsFfi_TO::from_value(TransactionsAdapter(self.0.clone()), TD_Opaque);
                Some(AbilityFfi::new(object))
            }
            // abi-1.1: end
            // abi-1.2: begin
            ability::HA_LOCK => {
                self.0.ha_lock()?;
                let object: HaLockFfiBox =
                    HaLockFfi_TO::from_value(HaLockAdapter(self.0.clone()), TD_Opaque);
                Some(AbilityFfi::new(object))
            }
            // abi-1.2: end
            _ => None,
        }
    }
}

// abi-1.1: begin
struct TransactionsAdapter<S>(Arc<S>);

impl<S: Storage> TransactionsAdapter<S> {
    fn with<T>(
        &self,
        f: impl FnOnce(&dyn crate::Transactions) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match self.0.transactions() {
            Some(t) => f(t),
            None => Err(Error::Unsupported("transactions".into())),
        }
    }
}

impl<S: Storage> TransactionsFfi for TransactionsAdapter<S> {
    fn max_operations(&self) -> u64 {
        contain(|| self.with(|t| Ok(t.max_operations() as u64))).unwrap_or(0)
    }
    fn transact(&self, ops: RVec<TxnOpFfi>) -> RResult<(), ErrorFfi> {
        let ops = ops
            .into_iter()
            .map(|op| {
                let key = op.key.into_string();
                if op.delete {
                    crate::TxnOp::Delete { key }
                } else {
                    crate::TxnOp::Put {
                        key,
                        value: op.value.into_vec(),
                    }
                }
            })
            .collect();
        to_ffi(contain(|| self.with(|t| t.transact(ops))))
    }
}
// abi-1.1: end

// abi-1.2: begin
struct HaLockAdapter<S>(Arc<S>);

impl<S: Storage> HaLockAdapter<S> {
    fn with<T>(&self, f: impl FnOnce(&dyn crate::HaLock) -> Result<T, Error>) -> Result<T, Error> {
        match self.0.ha_lock() {
            Some(l) => f(l),
            None => Err(Error::Unsupported("HA lock".into())),
        }
    }
}

impl<S: Storage> HaLockFfi for HaLockAdapter<S> {
    fn lock(
        &self,
        key: RStr<'_>,
        value: RSlice<'_, u8>,
        timeout: RDuration,
    ) -> RResult<ROption<HeldLockFfiBox>, ErrorFfi> {
        let held =
            contain(|| self.with(|l| l.lock(key.as_str(), value.as_slice(), timeout.into())));
        to_ffi(held.map(|held| {
            held.map(|h| HeldLockFfi_TO::from_value(HeldLockAdapter(h), TD_Opaque))
                .into()
        }))
    }
    fn holder(&self, key: RStr<'_>) -> RResult<ROption<RVec<u8>>, ErrorFfi> {
        to_ffi(contain(|| self.with(|l| l.holder(key.as_str()))).map(|v| v.map(RVec::from).into()))
    }
    fn fences_writes(&self) -> bool {
        contain(|| self.with(|l| Ok(l.fences_writes()))).unwrap_or(false)
    }
}

struct HeldLockAdapter(Box<dyn crate::HeldLock>);

impl HeldLockFfi for HeldLockAdapter {
    fn is_lost(&self) -> bool {
        // A panic cannot tell whether the lock is held: report it lost, the safe answer.
        contain(|| Ok(self.0.is_lost())).unwrap_or(true)
    }
    fn wait_lost(&self, timeout: RDuration) -> bool {
        contain(|| Ok(self.0.wait_lost(timeout.into()))).unwrap_or(true)
    }
    fn unlock(&self) -> RResult<(), ErrorFfi> {
        to_ffi(contain(|| self.0.unlock()))
    }
}

impl Drop for HeldLockAdapter {
    fn drop(&mut self) {
        // The plugin's own drop may panic; that must not unwind into the host.
        let held = std::mem::replace(&mut self.0, Box::new(Released));
        let _ = catch_unwind(AssertUnwindSafe(move || drop(held)));
    }
}

/// Stands in for a held lock while the real one is being dropped.
struct Released;

impl crate::HeldLock for Released {
    fn is_lost(&self) -> bool {
        true
    }
    fn wait_lost(&self, _timeout: std::time::Duration) -> bool {
        true
    }
    fn unlock(&self) -> Result<(), Error> {
        Ok(())
    }
}
// abi-1.2: end

/// Wraps a storage value in the frozen vtable, in process.
pub(crate) fn storage_object<S: Storage>(storage: S) -> StorageFfiBox {
    StorageFfi_TO::from_value(StorageAdapter(Arc::new(storage)), TD_Opaque)
}

#[doc(hidden)]
pub extern "C" fn open_storage<S: StoragePlugin>(
    config: ConfigFfi,
) -> RResult<StorageFfiBox, ErrorFfi> {
    to_ffi(contain(|| {
        S::open(config_from_ffi(config)).map(storage_object)
    }))
}

#[doc(hidden)]
pub extern "C" fn bind_listener<L: ListenerPlugin>(
    config: ConfigFfi,
) -> RResult<ListenerFfi, ErrorFfi> {
    to_ffi(contain(|| {
        L::bind(config_from_ffi(config)).map(listener_to_ffi)
    }))
}

pub(crate) fn listener_to_ffi(bound: crate::BoundListener) -> ListenerFfi {
    use std::os::fd::IntoRawFd;
    let s = bound.settings;
    let tls = s.tls.as_ref();
    ListenerFfi {
        // Ownership moves to the host: into_raw_fd, never as_raw_fd.
        fd: bound.socket.into_raw_fd(),
        address: s.address.as_str().into(),
        tls_enabled: tls.is_some(),
        tls_cert_file: tls.map(|t| t.cert_file.as_str()).unwrap_or_default().into(),
        tls_key_file: tls.map(|t| t.key_file.as_str()).unwrap_or_default().into(),
        tls_min_version: tls.map(|t| t.min_version.wire_code()).unwrap_or(0),
        tls_client_ca_file: tls
            .and_then(|t| t.client_ca_file.as_deref())
            .unwrap_or_default()
            .into(),
        tls_require_client_cert: tls.is_some_and(|t| t.require_client_cert),
        max_request_size: s.max_request_size,
        extra: config_to_ffi(s.extra.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    }
}

#[doc(hidden)]
pub fn plugin_info(kind: PluginKind, name: &str, version: &str, blocking: bool) -> PluginInfoFfi {
    PluginInfoFfi {
        name: name.into(),
        kind,
        plugin_version: version.into(),
        blocking,
    }
}

#[doc(hidden)]
pub fn storage_module<S: StoragePlugin>(info: extern "C" fn() -> PluginInfoFfi) -> PluginModRef {
    PluginMod {
        info,
        open_storage: Some(open_storage::<S>),
        bind_listener: None,
    }
    .leak_into_prefix()
}

#[doc(hidden)]
pub fn listener_module<L: ListenerPlugin>(info: extern "C" fn() -> PluginInfoFfi) -> PluginModRef {
    PluginMod {
        info,
        open_storage: None,
        bind_listener: Some(bind_listener::<L>),
    }
    .leak_into_prefix()
}

#[doc(hidden)]
pub fn call_root_loader(f: fn() -> PluginModRef) -> RootModuleResult {
    abi_stable::library::__call_root_module_loader(f)
}

/// Builds the abi_stable library header around a root-module constructor.
///
/// Only the export macros call this, always with a constructor that wraps
/// [`call_root_loader`] around a function returning [`PluginModRef`], which is what makes
/// the unsafe call below sound.
#[doc(hidden)]
pub const fn lib_header(constructor: extern "C" fn() -> RootModuleResult) -> LibHeader {
    // SAFETY: see above: the constructor yields a PrefixRef<PluginMod> erased by
    // `__call_root_module_loader`.
    unsafe {
        LibHeader::from_constructor::<PluginModRef>(
            constructor,
            abi_stable::library::CheckTypeLayout::Yes,
        )
    }
}

pub use abi_stable::library::LibHeader as LibHeaderType;
pub use abi_stable::library::RootModuleResult as RootModuleResultType;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }

    #[test]
    fn contain_turns_a_panic_into_an_error() {
        let r: Result<(), Error> = contain(|| panic!("deliberate"));
        assert_eq!(r, Err(Error::Panic("deliberate".into())));
    }
}
