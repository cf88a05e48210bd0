//! The seal lifecycle commands: `vault init`, `unseal`, `seal`, `status` and `rekey`
//! (`init`, `unseal`, `seal` and `rekey` also under `vault operator`).
//!
//! Text output follows the deploy guide (`Key 1: <hex>` ..., `Sealed: true` ...) and, for
//! `status`, OpenBao's `Key  Value` table; `-format=json` prints OpenBao's JSON shapes.
//! Errors go to stderr as `Error <doing>: <error>`; the exit code is 2 when the server
//! answered with an error and 1 when it could not be reached or the input was unusable.
//!
//! Every command is a `run_*` function over a [`Client`] and an [`Io`] (output streams and
//! a [`KeyInput`]), so the unit tests drive them against a scripted server.

use std::io::{self, BufRead, IsTerminal, Write};

use base64::Engine;
use clap::{Args, ValueEnum};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::{Zeroize, Zeroizing};

use super::client::{Client, ClientArgs, Error, Settings};

/// The prompt for an unseal key (the deploy guide's text).
pub const KEY_PROMPT: &str = "Key (will be hidden): ";

/// `-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Table,
    /// JSON, as OpenBao prints it.
    Json,
}

/// Flags of `vault init` / `vault operator init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// How many key shares to split the unseal key into.
    #[arg(
        long = "key-shares",
        value_name = "N",
        default_value_t = 5,
        allow_negative_numbers = true
    )]
    pub key_shares: i64,
    /// How many key shares are needed to unseal.
    #[arg(
        long = "key-threshold",
        value_name = "T",
        default_value_t = 3,
        allow_negative_numbers = true
    )]
    pub key_threshold: i64,
    /// Only report whether the server is initialised (exit 0 if so, 2 if not).
    #[arg(long = "status")]
    pub status: bool,
    /// table or json.
    #[arg(long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Flags of `vault unseal` / `vault operator unseal`.
#[derive(Debug, Clone, Args)]
pub struct UnsealArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Discard the keys given so far.
    #[arg(long = "reset", conflicts_with = "key")]
    pub reset: bool,
    /// table or json.
    #[arg(long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// An unseal key (hex or base64); `-` reads it from stdin. Without it the key is asked
    /// for on the terminal, or read from stdin when there is no terminal.
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
}

/// Flags of `vault seal` / `vault operator seal`.
#[derive(Debug, Clone, Args)]
pub struct SealArgs {
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Flags of `vault status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// table or json.
    #[arg(long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Flags of `vault rekey` / `vault operator rekey`.
#[derive(Debug, Clone, Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Start a rekey (with -key-shares and -key-threshold).
    #[arg(long = "init", conflicts_with_all = ["cancel", "status", "key", "nonce"])]
    pub init: bool,
    /// Cancel the rekey in progress.
    #[arg(long = "cancel", conflicts_with_all = ["status", "key", "nonce"])]
    pub cancel: bool,
    /// Show the progress of the rekey.
    #[arg(long = "status", conflicts_with_all = ["key", "nonce"])]
    pub status: bool,
    /// How many new key shares to make (with -init).
    #[arg(
        long = "key-shares",
        value_name = "N",
        default_value_t = 5,
        allow_negative_numbers = true
    )]
    pub key_shares: i64,
    /// How many new key shares will be needed to unseal (with -init).
    #[arg(
        long = "key-threshold",
        value_name = "T",
        default_value_t = 3,
        allow_negative_numbers = true
    )]
    pub key_threshold: i64,
    /// The rekey's nonce (default: read from the rekey status).
    #[arg(long = "nonce", value_name = "NONCE")]
    pub nonce: Option<String>,
    /// table or json.
    #[arg(long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// A current unseal key; `-` reads it from stdin. Without it the key is asked for on
    /// the terminal, or read from stdin when there is no terminal.
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
}

/// Where unseal keys come from when they are not on the command line.
pub trait KeyInput {
    /// A key typed on the terminal after `prompt`, without echo; without a terminal, a
    /// line of stdin.
    fn prompt(&mut self, prompt: &str) -> io::Result<Zeroizing<String>>;
    /// A line of stdin (the `-` argument).
    fn stdin_line(&mut self) -> io::Result<Zeroizing<String>>;
}

/// The process's terminal and stdin.
#[derive(Debug, Default)]
pub struct Terminal;

impl KeyInput for Terminal {
    fn prompt(&mut self, prompt: &str) -> io::Result<Zeroizing<String>> {
        if io::stdin().is_terminal() {
            // rpassword prompts on and reads from /dev/tty with echo off.
            rpassword::prompt_password(prompt).map(Zeroizing::new)
        } else {
            self.stdin_line()
        }
    }

    fn stdin_line(&mut self) -> io::Result<Zeroizing<String>> {
        let mut line = Zeroizing::new(String::new());
        io::stdin().lock().read_line(&mut line)?;
        Ok(line)
    }
}

/// A command's output streams and key input.
pub struct Io<'a> {
    /// stdout.
    pub out: &'a mut dyn Write,
    /// stderr.
    pub err: &'a mut dyn Write,
    /// Keys not given as arguments.
    pub input: &'a mut dyn KeyInput,
}

impl Io<'_> {
    fn print(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn fail(&mut self, doing: &str, error: &Error) -> i32 {
        let _ = writeln!(self.err, "{doing}: {error}");
        let _ = self.err.flush();
        error.exit_code()
    }

    fn fail_with(&mut self, message: &str, code: i32) -> i32 {
        let _ = writeln!(self.err, "{message}");
        let _ = self.err.flush();
        code
    }
}

/// `sys/seal-status` (also the answer of `sys/unseal`). Fields are kept as sent, in
/// OpenBao's order, so `-format=json` reprints the server's object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SealStatus {
    /// `shamir`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub seal_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initialized: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed: Option<bool>,
    /// The threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<u64>,
    /// The number of shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_seal: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// OpenBao's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_date: Option<String>,
    /// Vault's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_type: Option<String>,
    /// Anything else the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SealStatus {
    /// Whether the server is sealed (a missing field counts as sealed).
    pub fn is_sealed(&self) -> bool {
        self.sealed.unwrap_or(true)
    }

    /// Whether the server is initialised.
    pub fn is_initialized(&self) -> bool {
        self.initialized.unwrap_or(false)
    }
}

/// The answer of `PUT sys/init`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct InitResponse {
    /// The shares, hex.
    pub keys: Vec<String>,
    /// The shares, base64.
    #[serde(default)]
    pub keys_base64: Vec<String>,
    /// The initial root token.
    pub root_token: String,
}

impl Drop for InitResponse {
    fn drop(&mut self) {
        self.keys.zeroize();
        self.keys_base64.zeroize();
        self.root_token.zeroize();
    }
}

/// `sys/rotate/root/init` (the `data` of its envelope).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RekeyStatus {
    pub nonce: String,
    pub started: bool,
    pub t: u64,
    pub n: u64,
    pub progress: u64,
    pub required: u64,
}

/// The `data` of a `sys/rotate/root/update` answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RekeyUpdate {
    pub complete: bool,
    pub keys: Vec<String>,
    pub nonce: String,
}

/// `vault init -format=json`, OpenBao's shape.
#[derive(Debug, Serialize)]
struct InitJson<'a> {
    unseal_keys_b64: Vec<String>,
    unseal_keys_hex: &'a [String],
    unseal_shares: i64,
    unseal_threshold: i64,
    recovery_keys_b64: Option<Vec<String>>,
    recovery_keys_hex: Option<Vec<String>>,
    recovery_keys_shares: i64,
    recovery_keys_threshold: i64,
    root_token: &'a str,
}

/// The text `vault init` prints (the deploy guide's, with "Vault" for the product name).
pub fn init_table(response: &InitResponse, shares: i64, threshold: i64) -> String {
    let mut text = String::new();
    for (i, key) in response.keys.iter().enumerate() {
        text.push_str(&format!("Key {}: {key}\n", i + 1));
    }
    text.push_str(&format!(
        "Initial Root Token: {}\n\
         \n\
         Vault initialized with {shares} keys and a key threshold of {threshold}!\n\
         \n\
         Please securely distribute the above keys. Whenever a Vault server\n\
         is started, it must be unsealed with {threshold} (the threshold)\n\
         of the keys above (any of the keys, as long as the total number equals\n\
         the threshold).\n\
         \n\
         Vault does not store the original master key. If you lose the keys\n\
         above such that you no longer have the minimum number (the\n\
         threshold), then your Vault will not be able to be unsealed.\n",
        response.root_token
    ));
    text
}

/// The JSON `vault init -format=json` prints (base64 keys computed from the hex ones when
/// the server sent none).
pub fn init_json(response: &InitResponse, shares: i64, threshold: i64) -> String {
    let b64 = if response.keys_base64.len() == response.keys.len() {
        response.keys_base64.clone()
    } else {
        response
            .keys
            .iter()
            .map(|k| match hex::decode(k) {
                Ok(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
                Err(_) => String::new(),
            })
            .collect()
    };
    pretty(&InitJson {
        unseal_keys_b64: b64,
        unseal_keys_hex: &response.keys,
        unseal_shares: shares,
        unseal_threshold: threshold,
        recovery_keys_b64: None,
        recovery_keys_hex: None,
        recovery_keys_shares: 0,
        recovery_keys_threshold: 0,
        root_token: &response.root_token,
    })
}

/// The text `vault unseal` prints (the deploy guide's four lines).
pub fn unseal_table(status: &SealStatus) -> String {
    format!(
        "Sealed: {}\nKey Shares: {}\nKey Threshold: {}\nUnseal Progress: {}\n",
        status.is_sealed(),
        status.n.unwrap_or(0),
        status.t.unwrap_or(0),
        status.progress.unwrap_or(0)
    )
}

/// The rows of `vault status`, as OpenBao shows them.
pub fn status_rows(status: &SealStatus, ha_enabled: Option<bool>) -> Vec<(String, String)> {
    fn text(value: &Option<String>) -> Option<String> {
        value.as_ref().filter(|v| !v.is_empty()).cloned()
    }
    let mut rows: Vec<(&str, String)> = vec![
        (
            "Seal Type",
            text(&status.seal_type).unwrap_or_else(|| "n/a".into()),
        ),
        ("Initialized", status.is_initialized().to_string()),
        ("Sealed", status.is_sealed().to_string()),
        ("Total Shares", status.n.unwrap_or(0).to_string()),
        ("Threshold", status.t.unwrap_or(0).to_string()),
    ];
    if status.is_sealed() {
        rows.push((
            "Unseal Progress",
            format!("{}/{}", status.progress.unwrap_or(0), status.t.unwrap_or(0)),
        ));
        if let Some(nonce) = text(&status.nonce) {
            rows.push(("Unseal Nonce", nonce));
        }
    }
    rows.push((
        "Version",
        text(&status.version).unwrap_or_else(|| "n/a".into()),
    ));
    if let Some(date) = text(&status.commit_date) {
        rows.push(("Commit Date", date));
    } else if let Some(date) = text(&status.build_date) {
        rows.push(("Build Date", date));
    }
    if let Some(storage) = text(&status.storage_type) {
        rows.push(("Storage Type", storage));
    }
    if let Some(name) = text(&status.cluster_name) {
        rows.push(("Cluster Name", name));
    }
    if let Some(id) = text(&status.cluster_id) {
        rows.push(("Cluster ID", id));
    }
    if let Some(ha) = ha_enabled {
        rows.push(("HA Enabled", ha.to_string()));
    }
    rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A `Key  Value` table: the first column is as wide as its longest entry plus 4.
pub fn columns(rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0).max(3) + 4;
    let mut text = format!("{:<width$}Value\n{:<width$}-----\n", "Key", "---");
    for (key, value) in rows {
        text.push_str(&format!("{key:<width$}{value}\n"));
    }
    text
}

/// The text for a rekey's status.
pub fn rekey_status_table(status: &RekeyStatus) -> String {
    let mut text = String::new();
    if !status.nonce.is_empty() {
        text.push_str(&format!("Nonce: {}\n", status.nonce));
    }
    text.push_str(&format!(
        "Started: {}\nKey Shares: {}\nKey Threshold: {}\nRekey Progress: {}\nRequired Keys: {}\n",
        status.started, status.n, status.t, status.progress, status.required
    ));
    text
}

/// The text printed when a rekey completes: the new keys, as `vault init` prints them.
pub fn rekey_complete_table(keys: &[String], threshold: Option<u64>) -> String {
    let mut text = String::new();
    for (i, key) in keys.iter().enumerate() {
        text.push_str(&format!("Key {}: {key}\n", i + 1));
    }
    let n = keys.len();
    match threshold {
        Some(t) => text.push_str(&format!(
            "\n\
             Vault rekeyed with {n} keys and a key threshold of {t}!\n\
             The old unseal keys no longer work.\n\
             \n\
             Please securely distribute the above keys. When the Vault is re-sealed,\n\
             restarted, or stopped, you must provide at least {t} of these keys\n\
             to unseal it again.\n"
        )),
        None => text.push_str(&format!(
            "\n\
             Vault rekeyed with {n} keys!\n\
             The old unseal keys no longer work.\n\
             \n\
             Please securely distribute the above keys.\n"
        )),
    }
    text
}

/// Pretty JSON (two-space indent, as Go's `MarshalIndent`) and a newline.
fn pretty(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    text
}

/// Parses a 2xx body into `T`. The error names a missing field but never quotes a value
/// (serde's "invalid type: string \"...\"" could be a key or a token).
fn decode<T: DeserializeOwned>(
    client: &Client,
    method: &str,
    path: &str,
    value: Value,
) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        let message = if text.starts_with("missing field") {
            text
        } else {
            let kind = text.split(':').next().unwrap_or("malformed");
            format!("{kind} in the body")
        };
        Error::Decode {
            method: method.to_string(),
            url: client.url(path),
            message,
        }
    })
}

/// The `data` of an envelope (or the body itself when it has none).
fn data(value: Value) -> Value {
    match value {
        Value::Object(mut map) if matches!(map.get("data"), Some(Value::Object(_))) => {
            map.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Overwrites every string in a JSON value (request bodies holding keys).
fn wipe(value: Value) {
    match value {
        Value::String(s) => drop(Zeroizing::new(s)),
        Value::Array(items) => items.into_iter().for_each(wipe),
        Value::Object(map) => map.into_iter().for_each(|(_, v)| wipe(v)),
        _ => {}
    }
}

/// A key from the argument, stdin (`-`) or the prompt, trimmed.
fn read_key(arg: Option<&str>, input: &mut dyn KeyInput) -> io::Result<Zeroizing<String>> {
    let key = match arg {
        Some("-") => input.stdin_line()?,
        Some(key) => Zeroizing::new(key.to_string()),
        None => input.prompt(KEY_PROMPT)?,
    };
    Ok(Zeroizing::new(key.trim().to_string()))
}

/// Builds a client from the process environment and runs `command` on the real stdout,
/// stderr and terminal.
fn with_process(args: &ClientArgs, command: impl FnOnce(&Client, &mut Io) -> i32) -> i32 {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let mut input = Terminal;
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        input: &mut input,
    };
    match Settings::from_process(args).and_then(Client::new) {
        Ok(client) => command(&client, &mut io),
        Err(e) => io.fail("Error", &e),
    }
}

/// `vault init`.
pub fn init(args: InitArgs) -> i32 {
    with_process(&args.client, |client, io| run_init(&args, client, io))
}

/// `vault unseal`.
pub fn unseal(args: UnsealArgs) -> i32 {
    with_process(&args.client, |client, io| run_unseal(&args, client, io))
}

/// `vault seal`.
pub fn seal(args: SealArgs) -> i32 {
    with_process(&args.client, |client, io| run_seal(&args, client, io))
}

/// `vault status`.
pub fn status(args: StatusArgs) -> i32 {
    with_process(&args.client, |client, io| run_status(&args, client, io))
}

/// `vault rekey`.
pub fn rekey(args: RekeyArgs) -> i32 {
    with_process(&args.client, |client, io| run_rekey(&args, client, io))
}

/// `vault init`: `GET sys/seal-status`, then `PUT sys/init`; with `-status`, `GET sys/init`.
pub fn run_init(args: &InitArgs, client: &Client, io: &mut Io) -> i32 {
    if args.status {
        return match client.get("sys/init") {
            Ok(body) if body.get("initialized").and_then(Value::as_bool) == Some(true) => {
                io.print("Vault is initialized\n");
                0
            }
            Ok(_) => {
                io.print("Vault is not initialized\n");
                2
            }
            Err(e) => io.fail("Error checking init status", &e),
        };
    }
    if let Err(e) = client.get("sys/seal-status") {
        return io.fail("Error checking seal status", &e);
    }
    let body = json!({
        "secret_shares": args.key_shares,
        "secret_threshold": args.key_threshold,
    });
    let response = match client
        .put("sys/init", Some(&body))
        .and_then(|v| decode::<InitResponse>(client, "PUT", "sys/init", v))
    {
        Ok(response) => response,
        Err(e) => return io.fail("Error initializing", &e),
    };
    let text = Zeroizing::new(match args.format {
        Format::Table => init_table(&response, args.key_shares, args.key_threshold),
        Format::Json => init_json(&response, args.key_shares, args.key_threshold),
    });
    io.print(&text);
    0
}

/// `vault unseal`: `PUT sys/unseal {"key":K}` (or `{"reset":true}`).
pub fn run_unseal(args: &UnsealArgs, client: &Client, io: &mut Io) -> i32 {
    let (body, doing) = if args.reset {
        (json!({ "reset": true }), "Error resetting unseal process")
    } else {
        let key = match read_key(args.key.as_deref(), io.input) {
            Ok(key) => key,
            Err(e) => return io.fail_with(&format!("Error reading the unseal key: {e}"), 1),
        };
        (json!({ "key": key.as_str() }), "Error unsealing")
    };
    let result = client
        .put("sys/unseal", Some(&body))
        .and_then(|v| decode::<SealStatus>(client, "PUT", "sys/unseal", v));
    wipe(body);
    match result {
        Ok(status) => {
            io.print(&match args.format {
                Format::Table => unseal_table(&status),
                Format::Json => pretty(&status),
            });
            0
        }
        Err(e) => io.fail(doing, &e),
    }
}

/// `vault seal`: `PUT sys/seal` with the token.
pub fn run_seal(_args: &SealArgs, client: &Client, io: &mut Io) -> i32 {
    match client.put("sys/seal", None) {
        Ok(_) => {
            io.print("Vault is sealed.\n");
            0
        }
        Err(e) => io.fail("Error sealing", &e),
    }
}

/// `vault status`: `GET sys/seal-status`, then `GET sys/leader`. Exit 0 when unsealed,
/// 2 when sealed or uninitialised, 1 when the status cannot be read.
pub fn run_status(args: &StatusArgs, client: &Client, io: &mut Io) -> i32 {
    let status = match client
        .get("sys/seal-status")
        .and_then(|v| decode::<SealStatus>(client, "GET", "sys/seal-status", v))
    {
        Ok(status) => status,
        Err(e) => {
            io.fail("Error checking seal status", &e);
            return 1;
        }
    };
    let ha_enabled = match client.get("sys/leader") {
        Ok(body) => body.get("ha_enabled").and_then(Value::as_bool),
        // As OpenBao: a sealed server may refuse; the HA row is then left out.
        Err(e) if e.api_errors().iter().any(|m| m.contains("Vault is sealed")) => None,
        Err(e) => {
            io.fail("Error checking leader status", &e);
            return 1;
        }
    };
    io.print(&match args.format {
        Format::Table => columns(&status_rows(&status, ha_enabled)),
        Format::Json => pretty(&status),
    });
    if status.is_sealed() || !status.is_initialized() {
        2
    } else {
        0
    }
}

/// `vault rekey`: start (`-init`), inspect (`-status`), cancel (`-cancel`) or feed a
/// current key to a rekey over `sys/rotate/root/*`.
pub fn run_rekey(args: &RekeyArgs, client: &Client, io: &mut Io) -> i32 {
    const INIT: &str = "sys/rotate/root/init";
    const UPDATE: &str = "sys/rotate/root/update";
    if args.init {
        let body = json!({
            "secret_shares": args.key_shares,
            "secret_threshold": args.key_threshold,
        });
        return match client.put(INIT, Some(&body)) {
            Ok(v) => print_rekey_status(client, io, args.format, "PUT", data(v)),
            Err(e) => io.fail("Error initializing rekey", &e),
        };
    }
    if args.cancel {
        return match client.delete(INIT) {
            Ok(_) => {
                io.print("Rekey canceled.\n");
                0
            }
            Err(e) => io.fail("Error canceling rekey", &e),
        };
    }
    if args.status {
        return match client.get(INIT) {
            Ok(v) => print_rekey_status(client, io, args.format, "GET", data(v)),
            Err(e) => io.fail("Error reading rekey status", &e),
        };
    }

    let mut threshold = None;
    let nonce = match &args.nonce {
        Some(nonce) => nonce.clone(),
        None => {
            let status = match client
                .get(INIT)
                .and_then(|v| decode::<RekeyStatus>(client, "GET", INIT, data(v)))
            {
                Ok(status) => status,
                Err(e) => return io.fail("Error reading rekey status", &e),
            };
            if !status.started {
                return io.fail_with(
                    "Error rekeying: no rekey is in progress; start one with \"vault rekey -init\"",
                    2,
                );
            }
            threshold = Some(status.t);
            status.nonce
        }
    };
    let key = match read_key(args.key.as_deref(), io.input) {
        Ok(key) => key,
        Err(e) => return io.fail_with(&format!("Error reading the unseal key: {e}"), 1),
    };
    let body = json!({ "key": key.as_str(), "nonce": nonce });
    let result = client.put(UPDATE, Some(&body)).map(data);
    wipe(body);
    let result = match result {
        Ok(v) => v,
        Err(e) => return io.fail("Error rekeying", &e),
    };
    let update: RekeyUpdate = match decode(client, "PUT", UPDATE, result.clone()) {
        Ok(update) => update,
        Err(e) => return io.fail("Error rekeying", &e),
    };
    if !update.complete {
        return match client.get(INIT) {
            Ok(v) => print_rekey_status(client, io, args.format, "GET", data(v)),
            Err(e) => io.fail("Error reading rekey status", &e),
        };
    }
    if threshold.is_none() {
        threshold = client
            .get("sys/seal-status")
            .ok()
            .and_then(|v| v.get("t").and_then(Value::as_u64));
    }
    let text = Zeroizing::new(match args.format {
        Format::Table => rekey_complete_table(&update.keys, threshold),
        Format::Json => pretty(&result),
    });
    wipe(result);
    io.print(&text);
    0
}

fn print_rekey_status(
    client: &Client,
    io: &mut Io,
    format: Format,
    method: &str,
    body: Value,
) -> i32 {
    match format {
        Format::Json => io.print(&pretty(&body)),
        Format::Table => {
            match decode::<RekeyStatus>(client, method, "sys/rotate/root/init", body) {
                Ok(status) => io.print(&rekey_status_table(&status)),
                Err(e) => return io.fail("Error reading rekey status", &e),
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::client::Token;
    use crate::cli::fake_server::FakeServer;

    /// The deploy guide's `vault init` keys and token.
    const GUIDE_KEYS: [&str; 5] = [
        "427cd2c310be3b84fe69372e683a790e01",
        "0e2b8f3555b42a232f7ace6fe0e68eaf02",
        "37837e5559b322d0585a6e411614695403",
        "8dd72fd7d1af254de5f82d1270fd87ab04",
        "b47fdeb7dda82dbe92d88d3c860f605005",
    ];
    const GUIDE_TOKEN: &str = "eaf5cc32-b48f-7785-5c94-90b5ce300e9b";

    /// The guide's output, "Nomad" replaced by "Vault".
    const GUIDE_INIT: &str = "\
Key 1: 427cd2c310be3b84fe69372e683a790e01
Key 2: 0e2b8f3555b42a232f7ace6fe0e68eaf02
Key 3: 37837e5559b322d0585a6e411614695403
Key 4: 8dd72fd7d1af254de5f82d1270fd87ab04
Key 5: b47fdeb7dda82dbe92d88d3c860f605005
Initial Root Token: eaf5cc32-b48f-7785-5c94-90b5ce300e9b

Vault initialized with 5 keys and a key threshold of 3!

Please securely distribute the above keys. Whenever a Vault server
is started, it must be unsealed with 3 (the threshold)
of the keys above (any of the keys, as long as the total number equals
the threshold).

Vault does not store the original master key. If you lose the keys
above such that you no longer have the minimum number (the
threshold), then your Vault will not be able to be unsealed.
";

    fn guide_response() -> InitResponse {
        InitResponse {
            keys: GUIDE_KEYS.iter().map(|k| k.to_string()).collect(),
            keys_base64: Vec::new(),
            root_token: GUIDE_TOKEN.into(),
        }
    }

    const SEALED_1_OF_3: &str = r#"{"type":"shamir","initialized":true,"sealed":true,"t":3,"n":5,"progress":1,"nonce":"9d0f5acd-fa23-ba6d-e5db-067c63fa5793","recovery_seal":false,"version":"2.7.2","commit_date":"2026-10-26T20:32:27Z","migration":false,"storage_type":"pebbledb"}"#;
    const UNSEALED: &str = r#"{"type":"shamir","initialized":true,"sealed":false,"t":3,"n":5,"progress":0,"nonce":"","recovery_seal":false,"version":"2.7.2","commit_date":"2026-10-26T20:32:27Z","migration":false,"cluster_name":"vault-cluster-1436c806","cluster_id":"ad16eff5-47a3-e36a-932b-ca6153e665f2","storage_type":"pebbledb"}"#;
    const UNINITIALIZED: &str = r#"{"type":"shamir","initialized":false,"sealed":true,"t":0,"n":0,"progress":0,"nonce":"","recovery_seal":false,"version":"2.7.2","commit_date":"2026-10-26T20:32:27Z","migration":false,"storage_type":"pebbledb"}"#;

    fn status_of(json: &str) -> SealStatus {
        serde_json::from_str(json).unwrap()
    }

    /// Keys handed out in order; records the prompts.
    #[derive(Default)]
    struct Scripted {
        lines: Vec<String>,
        prompts: Vec<String>,
        stdin_reads: usize,
    }

    impl KeyInput for Scripted {
        fn prompt(&mut self, prompt: &str) -> io::Result<Zeroizing<String>> {
            self.prompts.push(prompt.to_string());
            self.stdin_line()
        }
        fn stdin_line(&mut self) -> io::Result<Zeroizing<String>> {
            self.stdin_reads += 1;
            if self.lines.is_empty() {
                return Ok(Zeroizing::new(String::new()));
            }
            Ok(Zeroizing::new(self.lines.remove(0)))
        }
    }

    struct Run {
        code: i32,
        out: String,
        err: String,
        input: Scripted,
    }

    fn client_for(server: &FakeServer, token: Option<&str>) -> Client {
        Client::new(Settings {
            address: server.address.clone(),
            token: token.map(Token::new),
            ca_cert: None,
            skip_verify: false,
        })
        .unwrap()
    }

    fn run(client: &Client, lines: &[&str], command: impl FnOnce(&Client, &mut Io) -> i32) -> Run {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut input = Scripted {
            lines: lines.iter().map(|l| l.to_string()).collect(),
            ..Scripted::default()
        };
        let code = {
            let mut io = Io {
                out: &mut out,
                err: &mut err,
                input: &mut input,
            };
            command(client, &mut io)
        };
        Run {
            code,
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
            input,
        }
    }

    /// Parses `NAME EXTRA...` into one command's flags, as the real command line would.
    fn parse_args<T: clap::Args>(name: &str, extra: &[&str]) -> T {
        #[derive(clap::Parser)]
        struct P<A: clap::Args> {
            #[command(flatten)]
            a: A,
        }
        let args = std::iter::once(name).chain(extra.iter().copied());
        <P<T> as clap::Parser>::try_parse_from(crate::cli::normalize_args(
            args.map(std::ffi::OsString::from),
        ))
        .unwrap()
        .a
    }

    fn init_args(extra: &[&str]) -> InitArgs {
        parse_args("init", extra)
    }

    fn unseal_args(extra: &[&str]) -> UnsealArgs {
        parse_args("unseal", extra)
    }

    fn rekey_args(extra: &[&str]) -> RekeyArgs {
        parse_args("rekey", extra)
    }

    #[test]
    fn init_table_is_the_deploy_guide_text() {
        assert_eq!(init_table(&guide_response(), 5, 3), GUIDE_INIT);
    }

    #[test]
    fn init_table_substitutes_the_numbers() {
        let mut response = guide_response();
        response.keys.truncate(3);
        let text = init_table(&response, 3, 2);
        assert!(text.starts_with("Key 1: 427cd2c310be3b84fe69372e683a790e01\nKey 2: "));
        assert!(text.contains("\nKey 3: 37837e5559b322d0585a6e411614695403\nInitial Root Token: "));
        assert!(!text.contains("Key 4:"));
        assert!(text.contains("Vault initialized with 3 keys and a key threshold of 2!\n"));
        assert!(text.contains("it must be unsealed with 2 (the threshold)\n"));
    }

    #[test]
    fn init_json_has_openbaos_shape_and_order() {
        let text = init_json(&guide_response(), 5, 3);
        let keys: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix('"'))
            .filter(|l| l.contains("\":"))
            .map(|l| &l[..l.find('"').unwrap()])
            .collect();
        assert_eq!(
            keys,
            [
                "unseal_keys_b64",
                "unseal_keys_hex",
                "unseal_shares",
                "unseal_threshold",
                "recovery_keys_b64",
                "recovery_keys_hex",
                "recovery_keys_shares",
                "recovery_keys_threshold",
                "root_token"
            ]
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["unseal_keys_hex"], json!(GUIDE_KEYS));
        assert_eq!(v["unseal_keys_b64"][0], "QnzSwxC+O4T+aTcuaDp5DgE=");
        assert_eq!(v["unseal_shares"], 5);
        assert_eq!(v["unseal_threshold"], 3);
        assert_eq!(v["recovery_keys_b64"], Value::Null);
        assert_eq!(v["recovery_keys_hex"], Value::Null);
        assert_eq!(v["recovery_keys_shares"], 0);
        assert_eq!(v["recovery_keys_threshold"], 0);
        assert_eq!(v["root_token"], GUIDE_TOKEN);
        assert!(text.starts_with("{\n  \"unseal_keys_b64\": [\n    \"QnzS"));
        assert!(text.ends_with("}\n"));

        let mut with_b64 = guide_response();
        with_b64.keys_base64 = vec!["a".into(), "b".into(), "c".into(), "d".into(), "e".into()];
        let v: Value = serde_json::from_str(&init_json(&with_b64, 5, 3)).unwrap();
        assert_eq!(v["unseal_keys_b64"], json!(["a", "b", "c", "d", "e"]));
    }

    #[test]
    fn unseal_table_is_the_deploy_guide_text() {
        assert_eq!(
            unseal_table(&status_of(SEALED_1_OF_3)),
            "Sealed: true\nKey Shares: 5\nKey Threshold: 3\nUnseal Progress: 1\n"
        );
        assert_eq!(
            unseal_table(&status_of(UNSEALED)),
            "Sealed: false\nKey Shares: 5\nKey Threshold: 3\nUnseal Progress: 0\n"
        );
    }

    #[test]
    fn status_table_while_sealed_shows_progress_and_nonce() {
        assert_eq!(
            columns(&status_rows(&status_of(SEALED_1_OF_3), Some(false))),
            "\
Key                Value
---                -----
Seal Type          shamir
Initialized        true
Sealed             true
Total Shares       5
Threshold          3
Unseal Progress    1/3
Unseal Nonce       9d0f5acd-fa23-ba6d-e5db-067c63fa5793
Version            2.7.2
Commit Date        2026-10-26T20:32:27Z
Storage Type       pebbledb
HA Enabled         false
"
        );
    }

    #[test]
    fn status_table_when_unsealed_shows_the_cluster_and_is_narrower() {
        assert_eq!(
            columns(&status_rows(&status_of(UNSEALED), Some(false))),
            "\
Key             Value
---             -----
Seal Type       shamir
Initialized     true
Sealed          false
Total Shares    5
Threshold       3
Version         2.7.2
Commit Date     2026-10-26T20:32:27Z
Storage Type    pebbledb
Cluster Name    vault-cluster-1436c806
Cluster ID      ad16eff5-47a3-e36a-932b-ca6153e665f2
HA Enabled      false
"
        );
    }

    #[test]
    fn status_rows_when_uninitialized_have_no_nonce() {
        let rows = status_rows(&status_of(UNINITIALIZED), None);
        let find = |k: &str| {
            rows.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(find("Initialized"), Some("false"));
        assert_eq!(find("Unseal Progress"), Some("0/0"));
        assert_eq!(find("Unseal Nonce"), None);
        assert_eq!(find("HA Enabled"), None);
        assert_eq!(find("Cluster Name"), None);
    }

    #[test]
    fn seal_status_json_reprints_the_servers_object_in_order() {
        for json in [SEALED_1_OF_3, UNSEALED, UNINITIALIZED] {
            let status = status_of(json);
            assert_eq!(serde_json::to_string(&status).unwrap(), json);
            let pretty_text = pretty(&status);
            assert!(pretty_text.starts_with("{\n  \"type\": \"shamir\",\n  \"initialized\": "));
        }
        let odd: SealStatus = serde_json::from_str(r#"{"sealed":false,"x":1}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&odd).unwrap(),
            r#"{"sealed":false,"x":1}"#
        );
    }

    #[test]
    fn rekey_texts() {
        let status = RekeyStatus {
            nonce: "6e5eb2f1".into(),
            started: true,
            t: 2,
            n: 3,
            progress: 1,
            required: 3,
        };
        assert_eq!(
            rekey_status_table(&status),
            "Nonce: 6e5eb2f1\nStarted: true\nKey Shares: 3\nKey Threshold: 2\nRekey Progress: 1\nRequired Keys: 3\n"
        );
        assert_eq!(
            rekey_status_table(&RekeyStatus::default()),
            "Started: false\nKey Shares: 0\nKey Threshold: 0\nRekey Progress: 0\nRequired Keys: 0\n"
        );
        let keys = vec!["aa".to_string(), "bb".to_string(), "cc".to_string()];
        assert_eq!(
            rekey_complete_table(&keys, Some(2)),
            "Key 1: aa\nKey 2: bb\nKey 3: cc\n\nVault rekeyed with 3 keys and a key threshold of 2!\n\
             The old unseal keys no longer work.\n\nPlease securely distribute the above keys. \
             When the Vault is re-sealed,\nrestarted, or stopped, you must provide at least 2 of \
             these keys\nto unseal it again.\n"
        );
        assert!(rekey_complete_table(&keys, None).contains("The old unseal keys no longer work."));
    }

    #[test]
    fn init_checks_seal_status_then_puts_the_shares_and_prints_the_guide_text() {
        let body = json!({"keys": GUIDE_KEYS, "keys_base64": [], "root_token": GUIDE_TOKEN});
        let server = FakeServer::start(vec![
            (200, UNINITIALIZED.to_string()),
            (200, body.to_string()),
        ]);
        let client = client_for(&server, None);
        let r = run(&client, &[], |c, io| run_init(&init_args(&[]), c, io));
        assert_eq!((r.code, r.err.as_str()), (0, ""));
        assert_eq!(r.out, GUIDE_INIT);
        let requests = server.requests();
        assert_eq!(
            server.lines(),
            ["GET /v1/sys/seal-status", "PUT /v1/sys/init"]
        );
        assert_eq!(
            requests[1].json(),
            json!({"secret_shares": 5, "secret_threshold": 3})
        );
        assert_eq!(requests[1].header("x-vault-request"), Some("true"));
        assert_eq!(requests[1].header("x-vault-token"), None);
    }

    #[test]
    fn init_flags_reach_the_request_and_json_output() {
        let body =
            json!({"keys": ["aa", "bb"], "keys_base64": ["qg==", "uw=="], "root_token": "s.x"});
        let server = FakeServer::start(vec![
            (200, UNINITIALIZED.to_string()),
            (200, body.to_string()),
        ]);
        let client = client_for(&server, None);
        let args = init_args(&["-key-shares=2", "-key-threshold", "2", "-format=json"]);
        let r = run(&client, &[], |c, io| run_init(&args, c, io));
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(
            server.requests()[1].json(),
            json!({"secret_shares": 2, "secret_threshold": 2})
        );
        let v: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(v["unseal_keys_b64"], json!(["qg==", "uw=="]));
        assert_eq!(v["unseal_shares"], 2);
    }

    #[test]
    fn init_a_second_time_prints_the_api_error_and_exits_2() {
        let server = FakeServer::start(vec![
            (200, UNSEALED.to_string()),
            (
                400,
                r#"{"errors":["Vault is already initialized"]}"#.to_string(),
            ),
        ]);
        let client = client_for(&server, None);
        let r = run(&client, &[], |c, io| run_init(&init_args(&[]), c, io));
        assert_eq!(r.code, 2);
        assert_eq!(r.out, "");
        assert_eq!(
            r.err,
            format!(
                "Error initializing: Error making API request.\n\nURL: PUT {}/v1/sys/init\n\
                 Code: 400. Errors:\n\n* Vault is already initialized\n",
                server.address
            )
        );
    }

    #[test]
    fn init_status_exit_codes() {
        let server = FakeServer::start(vec![
            (200, r#"{"initialized":false}"#.to_string()),
            (200, r#"{"initialized":true}"#.to_string()),
        ]);
        let client = client_for(&server, None);
        let args = init_args(&["-status"]);
        let r = run(&client, &[], |c, io| run_init(&args, c, io));
        assert_eq!((r.code, r.out.as_str()), (2, "Vault is not initialized\n"));
        let r = run(&client, &[], |c, io| run_init(&args, c, io));
        assert_eq!((r.code, r.out.as_str()), (0, "Vault is initialized\n"));
        assert_eq!(server.lines(), ["GET /v1/sys/init", "GET /v1/sys/init"]);
    }

    #[test]
    fn unseal_takes_the_key_from_the_argument_stdin_or_the_prompt() {
        let server = FakeServer::start(vec![
            (200, SEALED_1_OF_3.to_string()),
            (200, SEALED_1_OF_3.to_string()),
            (200, UNSEALED.to_string()),
        ]);
        let client = client_for(&server, None);
        let r = run(&client, &[], |c, io| {
            run_unseal(&unseal_args(&["abcd1"]), c, io)
        });
        assert_eq!(r.code, 0);
        assert_eq!(
            r.out,
            "Sealed: true\nKey Shares: 5\nKey Threshold: 3\nUnseal Progress: 1\n"
        );
        assert_eq!(r.input.stdin_reads, 0);
        let r = run(&client, &["abcd2\n"], |c, io| {
            run_unseal(&unseal_args(&["-"]), c, io)
        });
        assert_eq!((r.code, r.input.stdin_reads), (0, 1));
        assert!(r.input.prompts.is_empty());
        let r = run(&client, &["  abcd3 \n"], |c, io| {
            run_unseal(&unseal_args(&[]), c, io)
        });
        assert_eq!(r.code, 0);
        assert_eq!(r.input.prompts, [KEY_PROMPT]);
        assert_eq!(
            r.out,
            "Sealed: false\nKey Shares: 5\nKey Threshold: 3\nUnseal Progress: 0\n"
        );
        let bodies: Vec<Value> = server.requests().iter().map(|r| r.json()).collect();
        assert_eq!(
            bodies,
            [
                json!({"key": "abcd1"}),
                json!({"key": "abcd2"}),
                json!({"key": "abcd3"})
            ]
        );
        assert!(server.lines().iter().all(|l| l == "PUT /v1/sys/unseal"));
    }

    #[test]
    fn unseal_errors_do_not_show_the_key() {
        let server = FakeServer::start(vec![(
            400,
            r#"{"errors":["'key' must be a valid hex or base64 string"]}"#.to_string(),
        )]);
        let client = client_for(&server, None);
        let r = run(&client, &[], |c, io| {
            run_unseal(&unseal_args(&["zzzz-not-a-key"]), c, io)
        });
        assert_eq!(r.code, 2);
        assert_eq!(
            r.err,
            format!(
                "Error unsealing: Error making API request.\n\nURL: PUT {}/v1/sys/unseal\n\
                 Code: 400. Errors:\n\n* 'key' must be a valid hex or base64 string\n",
                server.address
            )
        );
        assert!(!r.err.contains("zzzz"));
    }

    #[test]
    fn unseal_reset_and_json() {
        let server = FakeServer::start(vec![(200, UNINITIALIZED.to_string())]);
        let client = client_for(&server, None);
        let args = unseal_args(&["-reset", "-format=json"]);
        let r = run(&client, &[], |c, io| run_unseal(&args, c, io));
        assert_eq!(r.code, 0);
        assert_eq!(server.requests()[0].json(), json!({"reset": true}));
        let printed: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(
            printed,
            serde_json::from_str::<Value>(UNINITIALIZED).unwrap()
        );
        assert!(r.input.prompts.is_empty() && r.input.stdin_reads == 0);
    }

    #[test]
    fn seal_sends_the_token() {
        let server = FakeServer::start(vec![(204, String::new())]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, &[], |c, io| {
            run_seal(
                &SealArgs {
                    client: ClientArgs::default(),
                },
                c,
                io,
            )
        });
        assert_eq!((r.code, r.out.as_str()), (0, "Vault is sealed.\n"));
        let req = &server.requests()[0];
        assert_eq!(req.line(), "PUT /v1/sys/seal");
        assert_eq!(req.header("x-vault-token"), Some("s.root"));
        assert_eq!(req.header("x-vault-request"), Some("true"));
    }

    #[test]
    fn seal_refused_exits_2() {
        let server = FakeServer::start(vec![(403, r#"{"errors":["permission denied"]}"#.into())]);
        let client = client_for(&server, None);
        let r = run(&client, &[], |c, io| {
            run_seal(
                &SealArgs {
                    client: ClientArgs::default(),
                },
                c,
                io,
            )
        });
        assert_eq!(r.code, 2);
        assert!(r
            .err
            .starts_with("Error sealing: Error making API request."));
        assert!(r
            .err
            .ends_with("Code: 403. Errors:\n\n* permission denied\n"));
    }

    #[test]
    fn status_exit_codes_follow_the_seal() {
        let leader = r#"{"ha_enabled":false}"#.to_string();
        let server = FakeServer::start(vec![
            (200, UNSEALED.to_string()),
            (200, leader.clone()),
            (200, SEALED_1_OF_3.to_string()),
            (200, leader.clone()),
            (200, UNINITIALIZED.to_string()),
            (200, leader),
        ]);
        let client = client_for(&server, None);
        let args = StatusArgs {
            client: ClientArgs::default(),
            format: Format::Table,
        };
        let r = run(&client, &[], |c, io| run_status(&args, c, io));
        assert_eq!(r.code, 0);
        assert!(r.out.contains("\nSealed          false\n"), "{}", r.out);
        assert!(r.out.ends_with("HA Enabled      false\n"));
        let r = run(&client, &[], |c, io| run_status(&args, c, io));
        assert_eq!(r.code, 2);
        assert!(r.out.contains("\nUnseal Progress    1/3\n"));
        let json_args = StatusArgs {
            client: ClientArgs::default(),
            format: Format::Json,
        };
        let r = run(&client, &[], |c, io| run_status(&json_args, c, io));
        assert_eq!(r.code, 2);
        let v: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(v["initialized"], false);
        assert_eq!(
            server.lines(),
            [
                "GET /v1/sys/seal-status",
                "GET /v1/sys/leader",
                "GET /v1/sys/seal-status",
                "GET /v1/sys/leader",
                "GET /v1/sys/seal-status",
                "GET /v1/sys/leader"
            ]
        );
    }

    #[test]
    fn status_without_a_server_exits_1_naming_the_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = Client::new(Settings {
            address: format!("http://127.0.0.1:{port}"),
            token: None,
            ca_cert: None,
            skip_verify: false,
        })
        .unwrap();
        let args = StatusArgs {
            client: ClientArgs::default(),
            format: Format::Table,
        };
        let r = run(&client, &[], |c, io| run_status(&args, c, io));
        assert_eq!(r.code, 1);
        assert!(r.err.starts_with(&format!(
            "Error checking seal status: GET http://127.0.0.1:{port}/v1/sys/seal-status: "
        )));
        assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    }

    #[test]
    fn rekey_init_status_and_cancel() {
        let started = json!({"request_id": "x", "data": {"n":3,"nonce":"N1","progress":0,"required":3,"started":true,"t":2,"verification_nonce":"","verification_required":false}});
        let server = FakeServer::start(vec![
            (200, started.to_string()),
            (200, started.to_string()),
            (204, String::new()),
        ]);
        let client = client_for(&server, Some("s.root"));
        let args = rekey_args(&["-init", "-key-shares=3", "-key-threshold=2"]);
        let r = run(&client, &[], |c, io| run_rekey(&args, c, io));
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(
            r.out,
            "Nonce: N1\nStarted: true\nKey Shares: 3\nKey Threshold: 2\nRekey Progress: 0\nRequired Keys: 3\n"
        );
        let r = run(&client, &[], |c, io| {
            run_rekey(&rekey_args(&["-status", "-format=json"]), c, io)
        });
        assert_eq!(r.code, 0);
        assert_eq!(
            serde_json::from_str::<Value>(&r.out).unwrap(),
            started["data"]
        );
        let r = run(&client, &[], |c, io| {
            run_rekey(&rekey_args(&["-cancel"]), c, io)
        });
        assert_eq!((r.code, r.out.as_str()), (0, "Rekey canceled.\n"));
        assert_eq!(
            server.lines(),
            [
                "PUT /v1/sys/rotate/root/init",
                "GET /v1/sys/rotate/root/init",
                "DELETE /v1/sys/rotate/root/init"
            ]
        );
        let requests = server.requests();
        assert_eq!(
            requests[0].json(),
            json!({"secret_shares": 3, "secret_threshold": 2})
        );
        assert!(requests
            .iter()
            .all(|r| r.header("x-vault-token") == Some("s.root")));
    }

    #[test]
    fn rekey_update_reads_the_nonce_then_prints_progress_or_the_new_keys() {
        let status = |progress: u64| {
            json!({"data": {"n":3,"nonce":"N1","progress":progress,"required":3,"started":true,"t":2}})
                .to_string()
        };
        let done = json!({"data": {"backup":false,"complete":true,"keys":["k1","k2","k3"],"keys_base64":["a","b","c"],"nonce":"N1","pgp_fingerprints":null,"verification_nonce":"","verification_required":false}});
        let server = FakeServer::start(vec![
            (200, status(0)),
            (
                200,
                json!({"data": {"complete": false, "nonce": "N1"}}).to_string(),
            ),
            (200, status(1)),
            (200, done.to_string()),
            (200, r#"{"t":2,"n":3}"#.to_string()),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, &[], |c, io| {
            run_rekey(&rekey_args(&["old1"]), c, io)
        });
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(r.out.contains("Rekey Progress: 1\n"), "{}", r.out);
        let r = run(&client, &["old2\n"], |c, io| {
            run_rekey(&rekey_args(&["-nonce=N1"]), c, io)
        });
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(r.input.prompts, [KEY_PROMPT]);
        assert_eq!(
            r.out,
            rekey_complete_table(&["k1".into(), "k2".into(), "k3".into()], Some(2))
        );
        assert_eq!(
            server.lines(),
            [
                "GET /v1/sys/rotate/root/init",
                "PUT /v1/sys/rotate/root/update",
                "GET /v1/sys/rotate/root/init",
                "PUT /v1/sys/rotate/root/update",
                "GET /v1/sys/seal-status"
            ]
        );
        let requests = server.requests();
        assert_eq!(requests[1].json(), json!({"key": "old1", "nonce": "N1"}));
        assert_eq!(requests[3].json(), json!({"key": "old2", "nonce": "N1"}));
    }

    #[test]
    fn rekey_update_without_a_rekey_in_progress_fails() {
        let server = FakeServer::start(vec![(
            200,
            json!({"data": {"n":0,"required":3,"started":false,"t":0}}).to_string(),
        )]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, &[], |c, io| {
            run_rekey(&rekey_args(&["old1"]), c, io)
        });
        assert_eq!(r.code, 2);
        assert!(r.err.contains("no rekey is in progress"), "{}", r.err);
        assert_eq!(server.lines(), ["GET /v1/sys/rotate/root/init"]);
    }

    #[test]
    fn a_malformed_body_is_an_error_that_quotes_no_value() {
        let server = FakeServer::start(vec![
            (200, UNINITIALIZED.to_string()),
            (
                200,
                r#"{"keys":"s.secret","root_token":"s.secret"}"#.to_string(),
            ),
            (200, UNINITIALIZED.to_string()),
            (200, r#"{"keys":[]}"#.to_string()),
        ]);
        let client = client_for(&server, None);
        let r = run(&client, &[], |c, io| run_init(&init_args(&[]), c, io));
        assert_eq!(r.code, 2);
        assert_eq!(
            r.err,
            format!(
                "Error initializing: unexpected response to PUT {}/v1/sys/init: invalid type in the body\n",
                server.address
            )
        );
        let r = run(&client, &[], |c, io| run_init(&init_args(&[]), c, io));
        assert_eq!(r.code, 2);
        assert!(
            r.err.ends_with(": missing field `root_token`\n"),
            "{}",
            r.err
        );
    }

    #[test]
    fn data_unwraps_envelopes_only() {
        assert_eq!(data(json!({"data": {"a": 1}, "x": 2})), json!({"a": 1}));
        assert_eq!(data(json!({"a": 1})), json!({"a": 1}));
        assert_eq!(data(json!({"data": null})), json!({"data": null}));
    }
}
