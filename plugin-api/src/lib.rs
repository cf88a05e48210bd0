//! # vault-plugin-api: the stable plugin ABI of the vault server
//!
//! Storage backends and listeners are shared libraries (`cdylib`) that the server loads
//! from its `plugin_dir` at start-up. This crate is everything an author needs to write
//! one: implement a plain, safe Rust trait, call one export macro, build with
//! `crate-type = ["cdylib"]`. No abi_stable types and no `unsafe` appear in plugin code.
//!
//! ```ignore
//! use vault_plugin_api::{Config, Error, Storage, StoragePlugin};
//!
//! struct Mine { /* ... */ }
//! impl Storage for Mine { /* get, put, delete, list */ }
//! impl StoragePlugin for Mine {
//!     const BLOCKING: bool = false;
//!     fn open(mut config: Config) -> Result<Self, Error> { config.finish()?; Ok(Mine { }) }
//! }
//! vault_plugin_api::export_storage_plugin!("mine", Mine);
//! ```
//!
//! `plugin-api/README.md` has a complete, working plugin.
//!
//! ## Compatibility
//!
//! **This crate's version is the ABI version**, independent of the server's version.
//!
//! * A server built against plugin-api `1.y` loads every plugin built against `1.x` with
//!   `x <= y`. Abilities added after `x` are seen as absent, not as an error (a 1.0 backend
//!   simply has no [`Storage::transactions`], a 1.1 backend no [`Storage::ha_lock`]).
//! * A plugin built against a newer minor (`1.z`, `z > y`) is refused with a one-line
//!   reason: it may rely on abilities this server lacks. Upgrade the server.
//! * A different major version is refused with a one-line reason.
//!
//! How it holds: every type abi_stable's loader checks (the root module, the storage
//! vtable, the listener record) is frozen as published in 1.0. Each later ability is a
//! separate vtable reached through the frozen "give me ability N" entry point, checked by
//! the host on its own and frozen once published. A minor release may add abilities,
//! error variants (old hosts read unknown ones as [`Error::Other`]) and listener settings
//! (through [`ListenerSettings::extra`]); it never changes a published layout. Anything
//! else is a major release.
//!
//! | ABI | adds |
//! |-----|------|
//! | 1.0 | storage get/put/delete/list, listeners, plugin info |
//! | 1.1 | the transactions ability ([`Storage::transactions`]) |
//! | 1.2 | the HA lock ability ([`Storage::ha_lock`]: [`HaLock`], [`HeldLock`]) |
//!
//! ## Rules for plugin authors
//!
//! * Keep the default `panic = "unwind"`: every exported call catches panics and returns
//!   [`Error::Panic`], which only works when panics unwind.
//! * Never call into the host's async runtime: the plugin has its own copy of every crate
//!   (tokio included) and cannot see the host's. Block, and say so with
//!   [`StoragePlugin::BLOCKING`]; the host then calls you from its blocking pool.
//! * A listener hands its socket over: the host owns it after [`ListenerPlugin::bind`].
//! * Validate your own config keys and reject unknown ones ([`Config::finish`]).
//!
//! ## Conformance
//!
//! [`conformance`] is the storage contract as a test suite. Run it on your backend with
//! [`storage_conformance_tests!`].
#![warn(missing_docs)]

#[doc = include_str!("../README.md")]
pub mod authoring {}
mod config;
pub mod conformance;
mod error;
#[doc(hidden)]
pub mod ffi;
pub mod host;
mod listener;
mod storage;

pub use config::{parse_size, Config};
pub use error::Error;
pub use listener::{BoundListener, ListenerPlugin, ListenerSettings, TlsSettings, TlsVersion};
pub use storage::{Storage, StoragePlugin};
// abi-1.1: begin
pub use storage::{Transactions, TxnOp};
// abi-1.1: end
// abi-1.2: begin
pub use storage::{HaLock, HeldLock};
// abi-1.2: end

const fn parse_u32(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < bytes.len() {
        n = n * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The ABI major version (this crate's major version).
pub const ABI_MAJOR: u32 = parse_u32(env!("CARGO_PKG_VERSION_MAJOR"));
/// The ABI minor version (this crate's minor version).
pub const ABI_MINOR: u32 = parse_u32(env!("CARGO_PKG_VERSION_MINOR"));

/// Exports a storage plugin: `export_storage_plugin!("name", Type)`, where `Type`
/// implements [`StoragePlugin`]. `name` is what configs write in `storage "name" {}`.
/// Call it once, at the root of a `cdylib` crate.
#[macro_export]
macro_rules! export_storage_plugin {
    ($name:expr, $ty:ty) => {
        $crate::__export_plugin!(
            $crate::ffi::PluginKind::STORAGE,
            $name,
            <$ty as $crate::StoragePlugin>::BLOCKING,
            $crate::ffi::storage_module::<$ty>
        );
    };
}

/// Exports a listener plugin: `export_listener_plugin!("name", Type)`, where `Type`
/// implements [`ListenerPlugin`]. Call it once, at the root of a `cdylib` crate.
#[macro_export]
macro_rules! export_listener_plugin {
    ($name:expr, $ty:ty) => {
        $crate::__export_plugin!(
            $crate::ffi::PluginKind::LISTENER,
            $name,
            false,
            $crate::ffi::listener_module::<$ty>
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($kind:expr, $name:expr, $blocking:expr, $module:expr) => {
        /// Read by the host before anything else: magic and ABI version.
        #[no_mangle]
        pub static VAULT_PLUGIN_MANIFEST: $crate::ffi::PluginManifest =
            $crate::ffi::PluginManifest::CURRENT;

        extern "C" fn __vault_plugin_info() -> $crate::ffi::PluginInfoFfi {
            $crate::ffi::plugin_info($kind, $name, env!("CARGO_PKG_VERSION"), $blocking)
        }

        fn __vault_plugin_root() -> $crate::ffi::PluginModRef {
            ($module)(__vault_plugin_info)
        }

        extern "C" fn __vault_plugin_constructor() -> $crate::ffi::RootModuleResultType {
            $crate::ffi::call_root_loader(__vault_plugin_root)
        }

        /// abi_stable's library header (the root module and its layout).
        #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
        pub static __VAULT_PLUGIN_LIB_HEADER: $crate::ffi::LibHeaderType =
            $crate::ffi::lib_header(__vault_plugin_constructor);
    };
}

/// Generates a `#[test]` that runs the whole [`conformance`] suite against a storage
/// plugin type, in process: `storage_conformance_tests!(Type, || config)`, where the
/// closure returns the [`Config`] to open a fresh, empty backend with.
#[macro_export]
macro_rules! storage_conformance_tests {
    ($ty:ty, $config:expr) => {
        #[test]
        fn storage_conformance_suite() {
            let config: $crate::Config = ($config)();
            let handle = $crate::host::StorageHandle::in_process::<$ty>(config)
                .expect("open the backend for the conformance suite");
            $crate::conformance::run(&handle);
        }
    };
}
