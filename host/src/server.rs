//! `vault server`: config → plugins → storage and listeners → HTTP, until a signal.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};

use crate::cli::ServerArgs;
use crate::config::{ServerConfig, Stanza};
use crate::core::Core;
use crate::http::Listener;
use crate::logging::{self, LogFormat};
use crate::plugins::Registry;
use crate::storage::Storage;

/// The dev-mode storage and listener types.
const DEV_STORAGE: &str = "inmem";
const DEV_LISTENER: &str = "tcp";

/// Runs the command; returns the exit code.
pub fn main(args: ServerArgs) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e:#}");
            1
        }
    }
}

/// Everything `vault server` needs, resolved from flags and config.
struct Settings {
    config: ServerConfig,
    plugin_dir: PathBuf,
    log_level: &'static str,
    log_format: LogFormat,
    dev: bool,
    /// `-dev-root-token-id` (or its environment variable), already resolved by the CLI.
    dev_root_token_id: Option<String>,
}

fn resolve(args: &ServerArgs) -> anyhow::Result<Settings> {
    let config = if args.dev {
        dev_config(&args.dev_listen_address)
    } else if args.config.is_empty() {
        bail!("No configuration files found. Use -config=FILE (or a folder), or -dev for a dev server.");
    } else {
        crate::config::load(&args.config)
            .map_err(|e| anyhow!("Error loading configuration: {e}"))?
    };
    let level = args
        .log_level
        .clone()
        .or_else(|| config.log_level.clone())
        .unwrap_or_else(|| "info".to_string());
    let log_level = logging::parse_level(&level).map_err(|e| anyhow!("Error: {e}"))?;
    let log_format = match args.log_format.as_deref().or(config.log_format.as_deref()) {
        Some(f) => f.parse().map_err(|e| anyhow!("Error: {e}"))?,
        None => LogFormat::Standard,
    };
    let plugin_dir = args
        .plugin_dir
        .clone()
        .or_else(|| config.plugin_dir.clone())
        .unwrap_or_else(crate::plugins::default_dir);
    Ok(Settings {
        config,
        plugin_dir,
        log_level,
        log_format,
        dev: args.dev,
        dev_root_token_id: args.dev_root_token_id.clone(),
    })
}

fn dev_config(listen: &str) -> ServerConfig {
    ServerConfig {
        storage: Stanza::synthetic(DEV_STORAGE, Vec::new()),
        listeners: vec![Stanza::synthetic(
            DEV_LISTENER,
            vec![
                ("address".to_string(), listen.to_string()),
                ("tls_disable".to_string(), "true".to_string()),
            ],
        )],
        // Dev mode is for a laptop: Vault does not lock memory there either.
        disable_mlock: true,
        ..ServerConfig::default()
    }
}

fn run(args: ServerArgs) -> anyhow::Result<()> {
    let settings = resolve(&args)?;
    logging::init(settings.log_level, settings.log_format);
    if !settings.config.disable_mlock {
        lock_memory()?;
    }
    let registry =
        Registry::scan(&settings.plugin_dir).map_err(|e| anyhow!("Error loading plugins: {e}"))?;
    let mut storage = open_storage(&registry, &settings.config.storage)?;
    // Vault caches reads in front of every backend. Here only blocking ones get the cache:
    // their reads cost a blocking-pool hop plus a file read or a round trip, while for
    // inmem a cache would only keep a second copy of every value.
    if !settings.config.disable_cache && storage.handle().is_blocking() {
        storage = storage.with_cache(
            settings
                .config
                .cache_size
                .unwrap_or(crate::storage::DEFAULT_CACHE_ENTRIES),
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vault-worker")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut listeners = Vec::new();
        for stanza in &settings.config.listeners {
            listeners.push(bind_listener(&registry, stanza)?);
        }
        let core = Arc::new(Core::new(
            storage,
            settings.config.cluster_name.clone(),
            settings.config.default_lease_ttl.map(|d| d.as_secs()),
        ));
        tokio::spawn(expiry_manager(core.clone()));
        let dev = if settings.dev {
            let (unseal_key, root_token) = core
                .dev_bootstrap(settings.dev_root_token_id.as_deref())
                .await
                .map_err(|e| anyhow!("Error initializing dev mode: {e}"))?;
            save_token_helper(&root_token);
            Some(DevCredentials {
                unseal_key,
                root_token,
            })
        } else {
            None
        };
        print_banner(&settings, &listeners, dev.as_ref());
        drop(dev);
        crate::http::run(listeners, core, shutdown_signal()).await;
        Ok::<(), anyhow::Error>(())
    })?;
    tracing::info!("server stopped");
    Ok(())
}

/// How often the expiry manager looks for expired tokens.
const EXPIRY_SCAN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Revokes expired tokens in the background while unsealed. Lookups already refuse an
/// expired token; this removes it (and its children and cubbyhole) from storage. The
/// queue lives in storage, so expiry survives restarts and seal/unseal.
async fn expiry_manager(core: Arc<Core>) {
    let mut tick = tokio::time::interval(EXPIRY_SCAN_INTERVAL);
    loop {
        tick.tick().await;
        if core.is_sealed() {
            continue;
        }
        let cubbyhole = core.cubbyhole_prefix().await;
        match core.tokens().expire_due(core.barrier(), &cubbyhole).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(revoked = n, "expired tokens revoked"),
            Err(crate::barrier::BarrierError::Sealed) => {}
            Err(e) => tracing::warn!(error = %e, "token expiry scan failed"),
        }
    }
}

/// Prefixes a plugin's error with the config location of the key it names.
fn stanza_error(stanza: &Stanza, what: &str, err: &vault_plugin_api::Error) -> anyhow::Error {
    let at = err
        .key()
        .map(|k| stanza.locate_key(k))
        .unwrap_or_else(|| stanza.origin());
    anyhow!(
        "Error configuring {what}: {at}: {what} {:?}: {err}",
        stanza.kind
    )
}

fn open_storage(registry: &Registry, stanza: &Stanza) -> anyhow::Result<Storage> {
    let plugin = registry
        .storage(&stanza.kind)
        .map_err(|e| anyhow!("Error configuring storage: {}: {e}", stanza.origin()))?;
    let pairs = stanza.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let handle = plugin
        .module
        .open_storage(pairs)
        .map_err(|e| stanza_error(stanza, "storage", &e))?;
    Ok(Storage::new(&stanza.kind, handle))
}

fn bind_listener(registry: &Registry, stanza: &Stanza) -> anyhow::Result<Listener> {
    let plugin = registry
        .listener(&stanza.kind)
        .map_err(|e| anyhow!("Error configuring listener: {}: {e}", stanza.origin()))?;
    let pairs = stanza.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let bound = plugin
        .module
        .bind_listener(pairs)
        .map_err(|e| stanza_error(stanza, "listener", &e))?;
    Listener::from_plugin(bound)
        .map_err(|e| anyhow!("Error configuring listener: {}: {e}", stanza.origin()))
}

/// What dev mode prints once: the single unseal key and the root token.
struct DevCredentials {
    unseal_key: String,
    root_token: zeroize::Zeroizing<String>,
}

impl Drop for DevCredentials {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.unseal_key);
    }
}

/// Dev mode authenticates the CLI, as Vault does, by writing `~/.vault-token` (0600).
fn save_token_helper(token: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let path = std::path::Path::new(&home).join(".vault-token");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(token.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the token helper file");
    }
}

fn print_banner(settings: &Settings, listeners: &[Listener], dev: Option<&DevCredentials>) {
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some(api) = &settings.config.api_addr {
        rows.push(("Api Address".into(), api.clone()));
    }
    rows.push(("Backend".into(), settings.config.storage.kind.clone()));
    for (i, (listener, stanza)) in listeners.iter().zip(&settings.config.listeners).enumerate() {
        let tls = if listener.tls.is_some() {
            "enabled"
        } else {
            "disabled"
        };
        rows.push((
            format!("Listener {}", i + 1),
            format!(
                "{} (addr: {:?}, tls: {tls:?})",
                stanza.kind, listener.settings.address
            ),
        ));
    }
    rows.push(("Log Level".into(), settings.log_level.into()));
    rows.push((
        "Mlock".into(),
        format!(
            "supported: true, enabled: {}",
            !settings.config.disable_mlock
        ),
    ));
    rows.push((
        "Plugin Directory".into(),
        settings.plugin_dir.display().to_string(),
    ));
    rows.push(("Version".into(), format!("Vault v{}", crate::VERSION)));

    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 8;
    let mut out = String::from("==> Vault server configuration:\n\n");
    for (k, v) in rows {
        let _ = writeln!(out, "{k:>width$}: {v}");
    }
    out.push_str("\n==> Vault server started! Log data will stream in below:\n\n");
    if let Some(dev) = dev {
        let addr = listeners
            .first()
            .map(|l| l.settings.address.as_str())
            .unwrap_or("127.0.0.1:8200");
        let _ = write!(
            out,
            "WARNING! dev mode is enabled! In this mode, Vault runs entirely in-memory\n\
             and starts unsealed with a single unseal key. The root token is already\n\
             authenticated to the CLI, so you can immediately begin using Vault.\n\n\
             You may need to set the following environment variables:\n\n    \
             $ export VAULT_ADDR='http://{addr}'\n\n\
             The unseal key and root token are displayed below in case you want to\n\
             seal/unseal the Vault or re-authenticate.\n\n\
             Unseal Key: {}\n\
             Root Token: {}\n\n\
             Development mode should NOT be used in production installations!\n\n",
            dev.unseal_key,
            dev.root_token.as_str()
        );
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// `mlockall`, with the deploy guide's message when it fails.
fn lock_memory() -> anyhow::Result<()> {
    // SAFETY: mlockall takes flags only and touches no Rust-visible memory.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc == 0 {
        return Ok(());
    }
    let errno = std::io::Error::last_os_error();
    bail!(
        "Error initializing core: Failed to lock memory: {}\n\n\
         This usually means that the mlock syscall is not available.\n\
         Vault uses mlock to prevent memory from being swapped to\n\
         disk. This requires root privileges as well as a machine\n\
         that supports mlock. Please enable mlock on your system or\n\
         disable Vault from using it. To disable Vault from using it,\n\
         set the `disable_mlock` configuration option in your configuration\n\
         file.",
        go_errno_text(&errno)
    )
}

/// "Cannot allocate memory (os error 12)" → "cannot allocate memory", as Go prints errnos.
fn go_errno_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT stops the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    println!("==> Vault shutdown triggered");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_is_go_style() {
        let e = std::io::Error::from_raw_os_error(libc::ENOMEM);
        assert_eq!(go_errno_text(&e), "cannot allocate memory");
    }
}
