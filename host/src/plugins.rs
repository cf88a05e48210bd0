//! The plugin loader: scans `plugin_dir`, checks and loads each shared library.
//!
//! Order of checks for one file, cheapest and clearest first:
//! 1. `dlopen` (libloading): a text file or a truncated ELF fails here;
//! 2. the plain `VAULT_PLUGIN_MANIFEST` symbol: missing means "not a plugin", and its ABI
//!    version is compared with ours before any abi_stable code runs;
//! 3. abi_stable's header and layout check, file by file (`lib_header_from_path`; never
//!    `RootModule::load_from_file`, which caches one module per type and would hand back
//!    the first plugin for every file).
//!
//! A file that fails is skipped with a one-line reason (the full abi_stable report goes to
//! the debug log) and loading goes on. Libraries are never unloaded: objects they created
//! live as long as the process.

use std::fmt;
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use vault_plugin_api::ffi::{PluginManifest, PluginModRef, MANIFEST_MAGIC, MANIFEST_SYMBOL};
use vault_plugin_api::host::{PluginInfo, PluginModule};
use vault_plugin_api::{ABI_MAJOR, ABI_MINOR};

/// A plugin that loaded.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// What the plugin says about itself.
    pub info: PluginInfo,
    /// The file it came from.
    pub path: PathBuf,
    /// Its root module.
    pub module: PluginModule,
}

/// A file in the plugin folder that did not load, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// One line.
    pub reason: String,
}

/// Everything found in a plugin folder.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// The folder scanned.
    pub dir: PathBuf,
    /// Plugins that loaded, in file-name order.
    pub plugins: Vec<Plugin>,
    /// Files that did not.
    pub skipped: Vec<Skipped>,
}

/// Errors that stop the server from using its plugins.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The folder itself could not be read.
    #[error("cannot read plugin directory {}: {source}", dir.display())]
    ReadDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Two files provide the same plugin name and kind.
    #[error("two {kind} plugins are named {name:?}: {} and {}", first.display(), second.display())]
    Duplicate {
        /// The kind.
        kind: String,
        /// The name.
        name: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// The config names a type no plugin provides.
    #[error("no {kind} plugin named {name:?} in {}; {kind} types found: {found}", dir.display())]
    NotFound {
        /// The kind.
        kind: String,
        /// The name.
        name: String,
        /// The folder.
        dir: PathBuf,
        /// The names that exist, comma separated (or "none").
        found: String,
    },
}

impl Registry {
    /// Loads every shared library in `dir`.
    pub fn scan(dir: &Path) -> Result<Registry, PluginError> {
        let read_dir = |source| PluginError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| is_shared_library(p) && p.is_file())
            .collect();
        files.sort();

        let mut registry = Registry {
            dir: dir.to_path_buf(),
            ..Registry::default()
        };
        for path in files {
            match load_one(&path) {
                Ok(plugin) => {
                    if let Some(other) = registry.plugins.iter().find(|p| {
                        p.info.name == plugin.info.name && p.info.kind == plugin.info.kind
                    }) {
                        return Err(PluginError::Duplicate {
                            kind: plugin.info.kind,
                            name: plugin.info.name,
                            first: other.path.clone(),
                            second: path,
                        });
                    }
                    tracing::debug!(plugin = %plugin.info.name, kind = %plugin.info.kind, file = %path.display(), "loaded plugin");
                    registry.plugins.push(plugin);
                }
                Err(reason) => {
                    tracing::warn!(file = %path.display(), %reason, "skipping file in plugin directory");
                    registry.skipped.push(Skipped { path, reason });
                }
            }
        }
        Ok(registry)
    }

    /// The storage plugin called `name`.
    pub fn storage(&self, name: &str) -> Result<&Plugin, PluginError> {
        self.find("storage", name)
    }

    /// The listener plugin called `name`.
    pub fn listener(&self, name: &str) -> Result<&Plugin, PluginError> {
        self.find("listener", name)
    }

    fn find(&self, kind: &str, name: &str) -> Result<&Plugin, PluginError> {
        self.plugins
            .iter()
            .find(|p| p.info.kind == kind && p.info.name == name)
            .ok_or_else(|| {
                let found: Vec<&str> = self
                    .plugins
                    .iter()
                    .filter(|p| p.info.kind == kind)
                    .map(|p| p.info.name.as_str())
                    .collect();
                PluginError::NotFound {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    dir: self.dir.clone(),
                    found: if found.is_empty() {
                        "none".to_string()
                    } else {
                        found.join(", ")
                    },
                }
            })
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_w = self
            .plugins
            .iter()
            .map(|p| p.info.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let ver_w = self
            .plugins
            .iter()
            .map(|p| p.info.version.len())
            .max()
            .unwrap_or(7)
            .max(7);
        writeln!(
            f,
            "{:<name_w$}    {:<8}    {:<ver_w$}    File",
            "Name", "Kind", "Version"
        )?;
        writeln!(
            f,
            "{:<name_w$}    {:<8}    {:<ver_w$}    ----",
            "----", "----", "-------"
        )?;
        for p in &self.plugins {
            writeln!(
                f,
                "{:<name_w$}    {:<8}    {:<ver_w$}    {}",
                p.info.name,
                p.info.kind,
                p.info.version,
                p.path.display()
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(f)?;
            writeln!(f, "Skipped files:")?;
            for s in &self.skipped {
                writeln!(f, "  {}: {}", s.path.display(), s.reason)?;
            }
        }
        Ok(())
    }
}

fn is_shared_library(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("so") | Some("dylib")
    )
}

/// Loads one file, or says in one line why it is not a usable plugin.
pub fn load_one(path: &Path) -> Result<Plugin, String> {
    check_manifest(path)?;
    let header = lib_header_from_path(path).map_err(|e| describe(&e))?;
    let module = header
        .init_root_module::<PluginModRef>()
        .map_err(|e| describe(&e))?;
    let module = PluginModule::new(module);
    Ok(Plugin {
        info: module.info(),
        path: path.to_path_buf(),
        module,
    })
}

fn check_manifest(path: &Path) -> Result<(), String> {
    // SAFETY: loading a library runs its initialisers; the operator put it in the plugin
    // folder for this server to load, which is the trust boundary.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| {
        // libloading's Display is only "dlopen failed"; the reason is in the source.
        let reason = std::error::Error::source(&e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        format!("cannot load: {}", one_line(&reason))
    })?;
    let manifest = {
        // SAFETY: a plugin exports this symbol as a `PluginManifest` static; for other
        // libraries the lookup fails and we never read through the pointer.
        let symbol = unsafe { library.get::<*const PluginManifest>(MANIFEST_SYMBOL.as_bytes()) }
            .map_err(|_| format!("not a plugin (no {MANIFEST_SYMBOL} symbol)"))?;
        let ptr: *const PluginManifest = *symbol;
        // SAFETY: the symbol is the static's address; the magic check below catches a
        // symbol of that name that is something else.
        unsafe { std::ptr::read_unaligned(ptr) }
    };
    // The library stays mapped for the life of the process (abi_stable never unloads
    // either); closing it here would only mean reopening it a moment later.
    std::mem::forget(library);
    if manifest.magic != MANIFEST_MAGIC {
        return Err(format!(
            "not a plugin ({MANIFEST_SYMBOL} has the wrong magic)"
        ));
    }
    if manifest.abi_major != ABI_MAJOR {
        return Err(format!(
            "ABI major mismatch: built for plugin-api {}.{}, this server speaks {ABI_MAJOR}.x (rebuild the plugin)",
            manifest.abi_major, manifest.abi_minor
        ));
    }
    if manifest.abi_minor > ABI_MINOR {
        return Err(format!(
            "built for plugin-api {}.{}, newer than this server's {ABI_MAJOR}.{ABI_MINOR} (upgrade the server)",
            manifest.abi_major, manifest.abi_minor
        ));
    }
    Ok(())
}

/// Turns abi_stable's multi-hundred-line reports into one line; the full text goes to the
/// debug log.
fn describe(error: &LibraryError) -> String {
    tracing::debug!(report = %error, "abi_stable load report");
    match error {
        LibraryError::OpenError { err, .. } => {
            let reason = std::error::Error::source(err.as_ref())
                .map(|s| s.to_string())
                .unwrap_or_else(|| err.to_string());
            format!("cannot load: {}", one_line(&reason))
        }
        LibraryError::GetSymbolError { .. } => {
            "not a plugin (no abi_stable root module)".to_string()
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => format!(
            "root module version mismatch: server {expected_version}, plugin {actual_version}"
        ),
        LibraryError::AbiInstability(report) => {
            let report = report.to_string();
            let detail = report
                .lines()
                .map(str::trim)
                .find(|l| l.contains("Expected") || l.contains("expected"))
                .unwrap_or("")
                .to_string();
            format!(
                "plugin ABI layout does not match this server's plugin-api {ABI_MAJOR}.{ABI_MINOR} (rebuild the plugin){}",
                if detail.is_empty() { String::new() } else { format!(": {}", one_line(&detail)) }
            )
        }
        LibraryError::InvalidAbiHeader(_) => {
            "built with an incompatible abi_stable version".to_string()
        }
        LibraryError::RootModule { err, .. } => format!(
            "plugin failed to initialise: {}",
            one_line(&err.to_string())
        ),
        other => one_line(&other.to_string()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The default plugin folder: the one holding the running executable, so that
/// `cargo build` output works as it is.
pub fn default_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}
