//! `vault kv get|put|patch|list|delete|undelete|destroy|metadata get|metadata delete`.
//!
//! Each command first asks `GET sys/internal/ui/mounts/PATH` for the mount (`path`) and
//! its KV version (`options.version`), then uses the KV v1 path as given or the KV v2
//! API paths (`<mount>data/<rest>`, `<mount>metadata/<rest>`, ...), as the Go CLI does.

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::client::{Client, ClientArgs, Error};
use super::command::{
    escape_path, join_path, parse_data, query, read_like, run_process, sanitize_path, split_list,
    write_json, write_like, Ctx,
};
use super::operator::Format;
use super::output::{self, Secret};
use super::output::{FormatArg, OutputArgs};

/// `vault kv` subcommands.
#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Read a secret (the latest version, or -version=N on KV v2).
    Get(KvGetArgs),
    /// Write a secret (a new version on KV v2).
    Put(KvPutArgs),
    /// Change some keys of a KV v2 secret.
    Patch(KvPatchArgs),
    /// List the keys under a folder.
    List(KvListArgs),
    /// Delete a secret (KV v2: soft-delete the latest version, or -versions).
    Delete(KvDeleteArgs),
    /// Restore soft-deleted versions (KV v2).
    Undelete(KvVersionsArgs),
    /// Remove versions' data for good (KV v2).
    Destroy(KvVersionsArgs),
    /// A secret's metadata (KV v2).
    Metadata {
        #[command(subcommand)]
        command: KvMetadataCommand,
    },
}

/// `vault kv metadata` subcommands.
#[derive(Debug, Subcommand)]
pub enum KvMetadataCommand {
    /// Show the metadata and every version's state.
    Get(KvMetadataArgs),
    /// Delete the metadata and all versions.
    Delete(KvMetadataArgs),
}

/// Flags of `vault kv get`.
#[derive(Debug, Clone, Args)]
pub struct KvGetArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The mount (then PATH is the path inside it).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Option<String>,
    /// The version to read (KV v2; 0 is the latest).
    #[arg(long = "version", value_name = "N", default_value_t = 0)]
    pub version: u64,
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// Flags of `vault kv put`.
#[derive(Debug, Clone, Args)]
pub struct KvPutArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The mount (then PATH is the path inside it).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Option<String>,
    /// Check-and-set (KV v2): 0 writes only if the key does not exist, N only if N is the
    /// current version; -1 (default) does not check.
    #[arg(
        long = "cas",
        value_name = "N",
        default_value_t = -1,
        allow_negative_numbers = true
    )]
    pub cas: i64,
    #[arg(value_name = "PATH")]
    pub path: String,
    /// `k=v`, `k=@file`, `k=-` (stdin), `@file.json` or `-` (a JSON object on stdin).
    #[arg(value_name = "DATA")]
    pub data: Vec<String>,
}

/// Flags of `vault kv patch`.
#[derive(Debug, Clone, Args)]
pub struct KvPatchArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The mount (then PATH is the path inside it).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Option<String>,
    /// Check-and-set, as for put.
    #[arg(
        long = "cas",
        value_name = "N",
        default_value_t = -1,
        allow_negative_numbers = true
    )]
    pub cas: i64,
    /// patch (HTTP PATCH) or rw (read, then write); default: patch, falling back to rw.
    #[arg(long = "method", value_name = "METHOD", default_value = "")]
    pub method: String,
    #[arg(value_name = "PATH")]
    pub path: String,
    /// `k=v` pairs, as for put.
    #[arg(value_name = "DATA")]
    pub data: Vec<String>,
}

/// Flags of `vault kv list`.
#[derive(Debug, Clone, Args)]
pub struct KvListArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    /// The mount (then PATH is the folder inside it, optional).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Option<String>,
    #[arg(value_name = "PATH")]
    pub path: Option<String>,
}

/// Flags of `vault kv delete`.
#[derive(Debug, Clone, Args)]
pub struct KvDeleteArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The mount (then PATH is the path inside it).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Option<String>,
    /// Versions to soft-delete (KV v2), comma-separated or repeated.
    #[arg(long = "versions", value_name = "N,N")]
    pub versions: Vec<String>,
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// Flags of `vault kv undelete` and `vault kv destroy`.
#[derive(Debug, Clone, Args)]
pub struct KvVersionsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    /// The mount (then PATH is the path inside it).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Option<String>,
    /// The versions, comma-separated or repeated (required).
    #[arg(long = "versions", value_name = "N,N")]
    pub versions: Vec<String>,
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// Flags of `vault kv metadata get` and `vault kv metadata delete`.
#[derive(Debug, Clone, Args)]
pub struct KvMetadataArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The mount (then PATH is the path inside it).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Option<String>,
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// Runs a `vault kv` command.
pub fn main(command: KvCommand) -> i32 {
    match command {
        KvCommand::Get(a) => run_process(&a.client, |c, ctx| run_get(&a, c, ctx)),
        KvCommand::Put(a) => run_process(&a.client, |c, ctx| run_put(&a, c, ctx)),
        KvCommand::Patch(a) => run_process(&a.client, |c, ctx| run_patch(&a, c, ctx)),
        KvCommand::List(a) => run_process(&a.client, |c, ctx| run_list(&a, c, ctx)),
        KvCommand::Delete(a) => run_process(&a.client, |c, ctx| run_delete(&a, c, ctx)),
        KvCommand::Undelete(a) => run_process(&a.client, |c, ctx| {
            run_versions(&a, Versions::Undelete, c, ctx)
        }),
        KvCommand::Destroy(a) => run_process(&a.client, |c, ctx| {
            run_versions(&a, Versions::Destroy, c, ctx)
        }),
        KvCommand::Metadata {
            command: KvMetadataCommand::Get(a),
        } => run_process(&a.client, |c, ctx| run_metadata_get(&a, c, ctx)),
        KvCommand::Metadata {
            command: KvMetadataCommand::Delete(a),
        } => run_process(&a.client, |c, ctx| run_metadata_delete(&a, c, ctx)),
    }
}

/// `GET sys/internal/ui/mounts/PATH`: the mount's path and KV version (a 404 means an
/// old server: version 1).
pub fn preflight(client: &Client, path: &str) -> Result<(String, u8), Error> {
    let api = format!("sys/internal/ui/mounts/{}", escape_path(path));
    let response = client.send("GET", &api, None)?;
    if response.status == 404 {
        return Ok((String::new(), 1));
    }
    let body = client.result("GET", &api, response)?;
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let mount = data
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let version = match data
        .get("options")
        .and_then(|o| o.get("version"))
        .and_then(Value::as_str)
    {
        Some("2") => 2,
        _ => 1,
    };
    Ok((mount, version))
}

/// `addPrefixToKVPath`: `<mount><prefix>/<rest>` for a path under `mount`.
pub fn add_prefix(path: &str, mount: &str, prefix: &str) -> String {
    if path == mount || path == mount.trim_end_matches('/') {
        return join_path(&[mount, prefix]);
    }
    let mut mount = mount.to_string();
    let mut suffix = path
        .strip_prefix(mount.as_str())
        .unwrap_or(path)
        .to_string();
    // The mount may carry namespace parts the path leaves out: drop them one by one.
    while suffix == path {
        let Some((_, rest)) = mount.split_once('/') else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        mount = rest.trim_end_matches('/').to_string();
        suffix = suffix
            .strip_prefix(mount.as_str())
            .unwrap_or(&suffix)
            .to_string();
    }
    join_path(&[&mount, prefix, &suffix])
}

/// A KV path resolved against its mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvPath {
    /// The mount's path (`kv2/`), "" when the server did not say.
    pub mount: String,
    /// Whether the mount is KV version 2.
    pub v2: bool,
    /// The path as given (with the mount in front when -mount was used on KV v2).
    pub partial: String,
    /// Whether -mount was used.
    pub mount_flag: bool,
}

impl KvPath {
    /// Looks up the mount of `path` (or of `-mount`).
    pub fn resolve(client: &Client, path: &str, mount: Option<&str>) -> Result<KvPath, Error> {
        let partial = sanitize_path(path);
        match mount.filter(|m| !m.is_empty()) {
            Some(mount) => {
                let (mount_path, version) = preflight(client, &sanitize_path(mount))?;
                let v2 = version == 2;
                let partial = if v2 {
                    join_path(&[&mount_path, &partial])
                } else {
                    partial
                };
                Ok(KvPath {
                    mount: mount_path,
                    v2,
                    partial,
                    mount_flag: true,
                })
            }
            None => {
                let (mount_path, version) = preflight(client, &partial)?;
                Ok(KvPath {
                    mount: mount_path,
                    v2: version == 2,
                    partial,
                    mount_flag: false,
                })
            }
        }
    }

    /// A KV v2 API path: `<mount><prefix>/<rest>`.
    pub fn api(&self, prefix: &str) -> String {
        add_prefix(&self.partial, &self.mount, prefix)
    }

    /// The KV v1 path.
    pub fn v1(&self) -> String {
        if self.mount_flag {
            join_path(&[&self.mount, &self.partial])
        } else {
            self.partial.clone()
        }
    }
}

/// Resolves the path, printing the error (as the Go CLI: the bare error, exit 2 when the
/// server answered).
fn resolve(client: &Client, ctx: &mut Ctx, path: &str, mount: Option<&str>) -> Result<KvPath, i32> {
    KvPath::resolve(client, path, mount).map_err(|e| ctx.fail(e.exit_code(), &e.to_string()))
}

/// `vault kv get`.
pub fn run_get(args: &KvGetArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let kv = try_code!(resolve(client, ctx, &args.path, args.mount.as_deref()));
    let (full, params) = if kv.v2 {
        let params = if args.version > 0 {
            vec![("version".to_string(), args.version.to_string())]
        } else {
            Vec::new()
        };
        (kv.api("data"), params)
    } else {
        (kv.v1(), Vec::new())
    };
    let target = format!("{}{}", escape_path(&full), query(&params));
    let secret = match read_like(client, "GET", &target, None) {
        Err(e) => return ctx.fail_api(&format!("Error reading {full}"), &e),
        Ok(None) => return ctx.fail(2, &format!("No value found at {full}")),
        Ok(Some(secret)) => secret,
    };
    if let Some(field) = &args.output.field {
        if !kv.v2 {
            return ctx.print_secret_field(format, &secret, field);
        }
        let Some(data) = secret.get("data").filter(|d| !d.is_null()) else {
            return ctx.fail(2, &format!("No data found at {full}"));
        };
        if field == "data" && data.get("data").is_none() {
            return ctx.print_secret_field(format, &secret, field);
        }
        let value = data.get(field.as_str()).cloned();
        return ctx.print_field(format, field, value);
    }
    if secret.wrap_info.is_some() || format != Format::Table {
        return ctx.output_secret(format, &secret);
    }
    let warnings = output::warnings_text(&secret);
    ctx.eprint(&warnings);
    let mut text = String::new();
    let data = if kv.v2 {
        text.push_str(&output::path_block(&full, "Secret Path"));
        if let Some(Value::Object(meta)) = secret.get("metadata") {
            text.push_str(&output::header_for_map("Metadata", meta));
            text.push('\n');
            text.push_str(&output::map_table(meta));
            text.push('\n');
        }
        match secret.get("data") {
            Some(Value::Object(d)) => Some(d.clone()),
            _ => None,
        }
    } else {
        secret.data.clone()
    };
    if let Some(data) = data {
        text.push_str(&output::header_for_map("Data", &data));
        text.push('\n');
        text.push_str(&output::map_table(&data));
    }
    ctx.print(&text);
    0
}

/// The output of a KV v2 write: `= Secret Path =`, then the version's metadata.
fn print_written(ctx: &mut Ctx, format: Format, full: &str, secret: &Secret) -> i32 {
    if format != Format::Table {
        return ctx.output_secret(format, secret);
    }
    let meta = secret.data.clone().unwrap_or_default();
    let mut text = output::path_block(full, "Secret Path");
    text.push_str(&output::header_for_map("Metadata", &meta));
    text.push('\n');
    text.push_str(&output::map_table(&meta));
    ctx.print(&text);
    0
}

fn v2_body(data: Map<String, Value>, cas: i64) -> Value {
    let mut options = Map::new();
    if cas > -1 {
        options.insert("cas".into(), json!(cas));
    }
    json!({ "data": data, "options": options })
}

/// `vault kv put`: KV v1 `PUT PATH {data}`; KV v2 `PUT <mount>data/<rest>
/// {"data":{...},"options":{}}` (with `cas`).
pub fn run_put(args: &KvPutArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    if args.data.is_empty() {
        return ctx.fail(1, "Must supply data");
    }
    let data = match parse_data(&args.data, ctx.input) {
        Ok(data) => data,
        Err(e) => return ctx.fail(1, &format!("Failed to parse K=V data: {e}")),
    };
    let kv = try_code!(resolve(client, ctx, &args.path, args.mount.as_deref()));
    let (full, body) = if kv.v2 {
        (kv.api("data"), v2_body(data, args.cas))
    } else {
        (kv.v1(), Value::Object(data))
    };
    match write_json(client, &escape_path(&full), &body) {
        Err(failure) => failure.report(ctx, &format!("Error writing data to {full}"), format),
        Ok(None) => {
            if format == Format::Table {
                ctx.println(&format!("Success! Data written to: {full}"));
            }
            0
        }
        Ok(Some(secret)) => match &args.output.field {
            Some(field) => ctx.print_secret_field(format, &secret, field),
            None => print_written(ctx, format, &full, &secret),
        },
    }
}

/// `vault kv patch` (KV v2 only): `PATCH <mount>data/<rest>` as a JSON merge patch; with
/// `-method=rw`, or when PATCH is refused (403 without -method, 405), a read then a
/// check-and-set write of the merged data.
pub fn run_patch(args: &KvPatchArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    if args.data.is_empty() {
        return ctx.fail(1, "Must supply data");
    }
    let data = match parse_data(&args.data, ctx.input) {
        Ok(data) => data,
        Err(e) => return ctx.fail(1, &format!("Failed to parse K=V data: {e}")),
    };
    let kv = try_code!(resolve(client, ctx, &args.path, args.mount.as_deref()));
    if !kv.v2 {
        return ctx.fail(2, "K/V engine mount must be version 2 for patch support");
    }
    let full = kv.api("data");
    let result = match args.method.as_str() {
        "rw" => read_then_write(client, ctx, format, &full, data),
        "patch" | "" => {
            let fallback = args.method.is_empty();
            let body = v2_body(data.clone(), args.cas);
            match write_like(
                client,
                "PATCH",
                &escape_path(&full),
                Some(&body),
                "application/merge-patch+json",
            ) {
                Ok(secret) => Ok(secret),
                Err(f)
                    if matches!(f.error, Error::Api { status: 405, .. })
                        || (fallback && matches!(f.error, Error::Api { status: 403, .. })) =>
                {
                    read_then_write(client, ctx, format, &full, data)
                }
                Err(f) => Err(f.report(ctx, &format!("Error writing data to {full}"), format)),
            }
        }
        other => {
            return ctx.fail(
                2,
                &format!("Unsupported method provided to -method flag: {other}"),
            )
        }
    };
    match result {
        Err(code) => code,
        Ok(None) => {
            if format == Format::Table {
                ctx.println(&format!("Success! Data written to: {full}"));
            }
            0
        }
        Ok(Some(secret)) => match &args.output.field {
            Some(field) => ctx.print_secret_field(format, &secret, field),
            None => print_written(ctx, format, &full, &secret),
        },
    }
}

fn read_then_write(
    client: &Client,
    ctx: &mut Ctx,
    format: Format,
    full: &str,
    new: Map<String, Value>,
) -> Result<Option<Secret>, i32> {
    let secret = match read_like(client, "GET", &escape_path(full), None) {
        Err(e) => return Err(ctx.fail_api(&format!("Error doing pre-read at {full}"), &e)),
        Ok(None) => return Err(ctx.fail(2, &format!("No value found at {full}"))),
        Ok(Some(s)) if s.data.is_none() => {
            return Err(ctx.fail(2, &format!("No value found at {full}")))
        }
        Ok(Some(s)) => s,
    };
    let Some(Value::Object(meta)) = secret.get("metadata") else {
        return Err(ctx.fail(
            2,
            &format!("No metadata found at {full}; patch only works on existing data"),
        ));
    };
    let Some(Value::Object(current)) = secret.get("data") else {
        return Err(ctx.fail(
            2,
            &format!("No data found at {full}; patch only works on existing data"),
        ));
    };
    let mut merged = current.clone();
    merged.extend(new);
    let body = json!({
        "data": merged,
        "options": { "cas": meta.get("version").cloned().unwrap_or(Value::Null) },
    });
    write_json(client, &escape_path(full), &body)
        .map_err(|f| f.report(ctx, &format!("Error writing data to {full}"), format))
}

/// `vault kv list`: `GET <path>?list=true` (KV v2: `<mount>metadata/<rest>`).
pub fn run_list(args: &KvListArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let path = match (&args.path, &args.mount) {
        (Some(p), _) => p.clone(),
        (None, Some(_)) => String::new(),
        (None, None) => return ctx.fail(1, "Not enough arguments (expected 1, got 0)"),
    };
    let kv = try_code!(resolve(client, ctx, &path, args.mount.as_deref()));
    let full = if kv.v2 { kv.api("metadata") } else { kv.v1() };
    super::logical::list_at(client, ctx, format, &full)
}

/// `vault kv delete`: KV v1 `DELETE PATH`; KV v2 `DELETE <mount>data/<rest>`, or with
/// `-versions`, `PUT <mount>delete/<rest> {"versions":[...]}`.
pub fn run_delete(args: &KvDeleteArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let kv = try_code!(resolve(client, ctx, &args.path, args.mount.as_deref()));
    let versions = split_list(&args.versions);
    let (full, result) = if kv.v2 {
        let full = kv.api("data");
        let result = if versions.is_empty() {
            read_like(client, "DELETE", &escape_path(&full), None)
        } else {
            let path = kv.api("delete");
            write_json(
                client,
                &escape_path(&path),
                &json!({ "versions": versions }),
            )
            .map_err(|f| f.error)
        };
        (full, result)
    } else {
        let full = kv.v1();
        let result = read_like(client, "DELETE", &escape_path(&full), None);
        (full, result)
    };
    match result {
        Err(e) => ctx.fail_api(&format!("Error deleting {full}"), &e),
        Ok(_) => {
            ctx.println(&format!("Success! Data deleted (if it existed) at: {full}"));
            0
        }
    }
}

/// `undelete` or `destroy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    Undelete,
    Destroy,
}

/// `vault kv undelete|destroy -versions=N,N PATH`: `PUT <mount>undelete|destroy/<rest>
/// {"versions":[...]}` (KV v2 only).
pub fn run_versions(args: &KvVersionsArgs, which: Versions, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let (verb, prefix, title) = match which {
        Versions::Undelete => ("undelete", "undelete", "Undelete"),
        Versions::Destroy => ("destroy", "destroy", "Destroy"),
    };
    let versions = split_list(&args.versions);
    if versions.is_empty() {
        return ctx.fail(
            1,
            &format!(
                "No versions provided, use the \"-versions\" flag to specify the version to {verb}."
            ),
        );
    }
    let kv = try_code!(resolve(client, ctx, &args.path, args.mount.as_deref()));
    if !kv.v2 {
        return ctx.fail(1, &format!("{title} not supported on KV Version 1"));
    }
    let path = kv.api(prefix);
    match write_json(
        client,
        &escape_path(&path),
        &json!({ "versions": versions }),
    ) {
        Err(f) => f.report(ctx, &format!("Error writing data to {path}"), format),
        Ok(None) => {
            if format == Format::Table {
                ctx.println(&format!("Success! Data written to: {path}"));
            }
            0
        }
        Ok(Some(secret)) => ctx.output_secret(format, &secret),
    }
}

/// `vault kv metadata get`: `GET <mount>metadata/<rest>`, printed as a `Metadata` table
/// and one table per version.
pub fn run_metadata_get(args: &KvMetadataArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let kv = try_code!(resolve(client, ctx, &args.path, args.mount.as_deref()));
    if !kv.v2 {
        return ctx.fail(1, "Metadata not supported on KV Version 1");
    }
    let full = kv.api("metadata");
    let mut secret = match read_like(client, "GET", &escape_path(&full), None) {
        Err(e) => return ctx.fail_api(&format!("Error reading {full}"), &e),
        Ok(None) => return ctx.fail(2, &format!("No value found at {full}")),
        Ok(Some(secret)) => secret,
    };
    if let Some(field) = &args.output.field {
        return ctx.print_secret_field(format, &secret, field);
    }
    if secret.wrap_info.is_some() || format != Format::Table {
        return ctx.output_secret(format, &secret);
    }
    let versions = match secret.data.as_mut().and_then(|d| d.remove("versions")) {
        Some(Value::Object(v)) => v,
        _ => {
            ctx.eprint(&format!("No value found at {full}\n"));
            ctx.output_secret(format, &secret);
            return 2;
        }
    };
    let data = secret.data.clone().unwrap_or_default();
    let mut text = output::path_block(&full, "Metadata Path");
    text.push_str(&output::header_for_map("Metadata", &data));
    text.push('\n');
    text.push_str(&output::secret_table(&secret));
    let mut numbers: Vec<(u64, &String)> = versions
        .keys()
        .filter_map(|k| k.parse().ok().map(|n| (n, k)))
        .collect();
    numbers.sort();
    for (n, key) in numbers {
        let empty = Map::new();
        let version = versions[key].as_object().unwrap_or(&empty);
        text.push('\n');
        text.push_str(&output::header_for_map(&format!("Version {n}"), version));
        text.push('\n');
        text.push_str(&output::map_table(version));
    }
    ctx.print(&text);
    0
}

/// `vault kv metadata delete`: `DELETE <mount>metadata/<rest>`.
pub fn run_metadata_delete(args: &KvMetadataArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let kv = try_code!(resolve(client, ctx, &args.path, args.mount.as_deref()));
    if !kv.v2 {
        return ctx.fail(1, "Metadata not supported on KV Version 1");
    }
    let full = kv.api("metadata");
    match read_like(client, "DELETE", &escape_path(&full), None) {
        Err(e) => ctx.fail_api(&format!("Error deleting {full}"), &e),
        Ok(_) => {
            ctx.println(&format!("Success! Data deleted (if it existed) at: {full}"));
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command::testing::{client_for, parse_args, run};
    use crate::cli::fake_server::FakeServer;

    fn ui_mount(path: &str, version: &str) -> String {
        json!({"request_id":"x","lease_id":"","renewable":false,"lease_duration":0,
               "data":{"accessor":"kv_1","options":{"version":version},"path":path,"type":"kv"},
               "wrap_info":null,"warnings":null,"auth":null})
        .to_string()
    }

    const V2_WRITE: &str = r#"{"request_id":"a","lease_id":"","renewable":false,"lease_duration":0,"data":{"created_time":"2026-12-04T13:34:26.470295565Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1},"wrap_info":null,"warnings":null,"auth":null}"#;
    const V2_READ: &str = r#"{"request_id":"b","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"user":"dave"},"metadata":{"created_time":"2026-12-04T13:34:26.470295565Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}},"wrap_info":null,"warnings":null,"auth":null}"#;

    #[test]
    fn prefixes_follow_the_go_cli() {
        assert_eq!(add_prefix("kv2/app", "kv2/", "data"), "kv2/data/app");
        assert_eq!(
            add_prefix("kv2/a/b", "kv2/", "metadata"),
            "kv2/metadata/a/b"
        );
        assert_eq!(add_prefix("kv2", "kv2/", "metadata"), "kv2/metadata");
        assert_eq!(add_prefix("kv2/", "kv2/", "metadata"), "kv2/metadata");
        assert_eq!(
            add_prefix("deep/mount/x", "deep/mount/", "data"),
            "deep/mount/data/x"
        );
        assert_eq!(add_prefix("mount/x", "ns1/mount/", "data"), "mount/data/x");
    }

    #[test]
    fn flags_parse() {
        let a: KvPutArgs = parse_args(&["-cas=0", "-mount=kv2", "app", "user=dave"]);
        assert_eq!(
            (a.cas, a.mount.as_deref(), a.path.as_str()),
            (0, Some("kv2"), "app")
        );
        let a: KvPutArgs = parse_args(&["kv2/app", "user=dave"]);
        assert_eq!(a.cas, -1);
        let a: KvDeleteArgs = parse_args(&["-versions=1,2", "-versions", "3", "kv2/app"]);
        assert_eq!(split_list(&a.versions), ["1", "2", "3"]);
        let a: KvGetArgs = parse_args(&["-version=2", "-field=user", "kv2/app"]);
        assert_eq!((a.version, a.output.field.as_deref()), (2, Some("user")));
    }

    #[test]
    fn put_and_get_on_kv_v1() {
        let server = FakeServer::start(vec![
            (200, ui_mount("clikv/", "1")),
            (204, String::new()),
            (200, ui_mount("clikv/", "1")),
            (
                200,
                r#"{"lease_duration":2764800,"data":{"password":"s3cret","user":"alice"}}"#.into(),
            ),
            (200, ui_mount("clikv/", "1")),
            (
                200,
                r#"{"lease_duration":2764800,"data":{"password":"s3cret","user":"alice"}}"#.into(),
            ),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_put(
                &parse_args(&["clikv/app/config", "user=alice", "password=s3cret"]),
                c,
                ctx,
            )
        });
        assert_eq!(
            (r.code, r.out.as_str()),
            (0, "Success! Data written to: clikv/app/config\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_get(&parse_args(&["clikv/app/config"]), c, ctx)
        });
        assert_eq!(
            r.out,
            "====== Data ======\nKey         Value\n---         -----\npassword    s3cret\nuser        alice\n"
        );
        let r = run(&client, "", |c, ctx| {
            run_get(
                &parse_args(&["-field=password", "clikv/app/config"]),
                c,
                ctx,
            )
        });
        assert_eq!(r.out, "s3cret");
        assert_eq!(
            server.lines(),
            [
                "GET /v1/sys/internal/ui/mounts/clikv/app/config",
                "PUT /v1/clikv/app/config",
                "GET /v1/sys/internal/ui/mounts/clikv/app/config",
                "GET /v1/clikv/app/config",
                "GET /v1/sys/internal/ui/mounts/clikv/app/config",
                "GET /v1/clikv/app/config"
            ]
        );
        assert_eq!(
            server.requests()[1].json(),
            json!({"password": "s3cret", "user": "alice"})
        );
    }

    #[test]
    fn put_and_get_on_kv_v2() {
        let server = FakeServer::start(vec![
            (200, ui_mount("kv2/", "2")),
            (200, V2_WRITE.into()),
            (200, ui_mount("kv2/", "2")),
            (200, V2_READ.into()),
            (200, ui_mount("kv2/", "2")),
            (200, V2_READ.into()),
            (200, ui_mount("kv2/", "2")),
            (
                400,
                r#"{"errors":["check-and-set parameter did not match the current version"]}"#
                    .into(),
            ),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_put(&parse_args(&["kv2/app", "user=dave"]), c, ctx)
        });
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(
            r.out,
            "\
= Secret Path =
kv2/data/app

======= Metadata =======
Key                Value
---                -----
created_time       2026-12-04T13:34:26.470295565Z
custom_metadata    <nil>
deletion_time      n/a
destroyed          false
version            1
"
        );
        let r = run(&client, "", |c, ctx| {
            run_get(&parse_args(&["-version=1", "kv2/app"]), c, ctx)
        });
        assert_eq!(
            r.out,
            "\
= Secret Path =
kv2/data/app

======= Metadata =======
Key                Value
---                -----
created_time       2026-12-04T13:34:26.470295565Z
custom_metadata    <nil>
deletion_time      n/a
destroyed          false
version            1

==== Data ====
Key     Value
---     -----
user    dave
"
        );
        let r = run(&client, "", |c, ctx| {
            run_get(&parse_args(&["-mount=kv2", "-field=user", "app"]), c, ctx)
        });
        assert_eq!(r.out, "dave");
        let r = run(&client, "", |c, ctx| {
            run_put(&parse_args(&["-cas=0", "kv2/app", "user=eve"]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert!(
            r.err
                .starts_with("Error writing data to kv2/data/app: Error making API request.")
                && r.err
                    .contains("* check-and-set parameter did not match the current version"),
            "{}",
            r.err
        );
        let requests = server.requests();
        let lines: Vec<String> = requests.iter().map(|r| r.line()).collect();
        assert_eq!(
            lines,
            [
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "PUT /v1/kv2/data/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "GET /v1/kv2/data/app?version=1",
                "GET /v1/sys/internal/ui/mounts/kv2",
                "GET /v1/kv2/data/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "PUT /v1/kv2/data/app"
            ]
        );
        assert_eq!(
            requests[1].json(),
            json!({"data": {"user": "dave"}, "options": {}})
        );
        assert_eq!(
            requests[7].json(),
            json!({"data": {"user": "eve"}, "options": {"cas": 0}})
        );
    }

    #[test]
    fn get_json_and_missing() {
        let server = FakeServer::start(vec![
            (200, ui_mount("kv2/", "2")),
            (200, V2_READ.into()),
            (200, ui_mount("kv2/", "2")),
            (404, r#"{"errors":[]}"#.into()),
            (
                403,
                r#"{"errors":["preflight capability check returned 403, please ensure client's policies grant access to path \"nosuch/x/\""]}"#.into(),
            ),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_get(&parse_args(&["-format=json", "kv2/app"]), c, ctx)
        });
        let v: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(v["data"]["data"]["user"], "dave");
        let keys: Vec<&str> = r
            .out
            .lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "request_id",
                "lease_id",
                "lease_duration",
                "renewable",
                "data",
                "warnings"
            ]
        );
        let r = run(&client, "", |c, ctx| {
            run_get(&parse_args(&["kv2/missing"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (2, "No value found at kv2/data/missing\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_get(&parse_args(&["nosuch/x"]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert!(
            r.err.starts_with("Error making API request.\n\nURL: GET "),
            "{}",
            r.err
        );
    }

    #[test]
    fn list_delete_undelete_destroy_metadata() {
        let metadata = json!({"data": {"cas_required": false, "created_time": "t1", "current_version": 2,
            "custom_metadata": null, "delete_version_after": "0s", "max_versions": 0, "oldest_version": 1,
            "updated_time": "t2", "versions": {"1": {"created_time": "t1", "deletion_time": "", "destroyed": false},
            "2": {"created_time": "t2", "deletion_time": "", "destroyed": true}}}});
        let server = FakeServer::start(vec![
            (200, ui_mount("kv2/", "2")),
            (200, r#"{"data":{"keys":["app"]}}"#.into()),
            (200, ui_mount("kv2/", "2")),
            (204, String::new()),
            (200, ui_mount("kv2/", "2")),
            (204, String::new()),
            (200, ui_mount("kv2/", "2")),
            (204, String::new()),
            (200, ui_mount("kv2/", "2")),
            (204, String::new()),
            (200, ui_mount("kv2/", "2")),
            (200, metadata.to_string()),
            (200, ui_mount("kv2/", "2")),
            (204, String::new()),
            (200, ui_mount("secret/", "1")),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["kv2/"]), c, ctx)
        });
        assert_eq!((r.code, r.out.as_str()), (0, "Keys\n----\napp\n"));
        let r = run(&client, "", |c, ctx| {
            run_delete(&parse_args(&["kv2/app"]), c, ctx)
        });
        assert_eq!(
            r.out,
            "Success! Data deleted (if it existed) at: kv2/data/app\n"
        );
        let r = run(&client, "", |c, ctx| {
            run_delete(&parse_args(&["-versions=1,2", "kv2/app"]), c, ctx)
        });
        assert_eq!(r.code, 0, "{}", r.err);
        let a: KvVersionsArgs = parse_args(&["-versions=1", "kv2/app"]);
        let r = run(&client, "", |c, ctx| {
            run_versions(&a, Versions::Undelete, c, ctx)
        });
        assert_eq!(r.out, "Success! Data written to: kv2/undelete/app\n");
        let r = run(&client, "", |c, ctx| {
            run_versions(&a, Versions::Destroy, c, ctx)
        });
        assert_eq!(r.out, "Success! Data written to: kv2/destroy/app\n");
        let r = run(&client, "", |c, ctx| {
            run_metadata_get(&parse_args(&["kv2/app"]), c, ctx)
        });
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(
            r.out.starts_with("= Metadata Path =\nkv2/metadata/app\n\n========== Metadata ==========\nKey                     Value\n"),
            "{}",
            r.out
        );
        assert!(
            r.out.contains("\ndelete_version_after    0s\n"),
            "{}",
            r.out
        );
        assert!(
            r.out.ends_with("\n====== Version 2 ======\nKey              Value\n---              -----\ncreated_time     t2\ndeletion_time    n/a\ndestroyed        true\n"),
            "{}",
            r.out
        );
        let r = run(&client, "", |c, ctx| {
            run_metadata_delete(&parse_args(&["kv2/app"]), c, ctx)
        });
        assert_eq!(
            r.out,
            "Success! Data deleted (if it existed) at: kv2/metadata/app\n"
        );
        let r = run(&client, "", |c, ctx| {
            run_versions(&a, Versions::Destroy, c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (1, "Destroy not supported on KV Version 1\n")
        );
        let no_versions: KvVersionsArgs = parse_args(&["kv2/app"]);
        let r = run(&client, "", |c, ctx| {
            run_versions(&no_versions, Versions::Undelete, c, ctx)
        });
        assert_eq!(r.code, 1);
        let requests = server.requests();
        let lines: Vec<String> = requests.iter().map(|r| r.line()).collect();
        assert_eq!(
            lines,
            [
                "GET /v1/sys/internal/ui/mounts/kv2",
                "GET /v1/kv2/metadata?list=true",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "DELETE /v1/kv2/data/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "PUT /v1/kv2/delete/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "PUT /v1/kv2/undelete/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "PUT /v1/kv2/destroy/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "GET /v1/kv2/metadata/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app",
                "DELETE /v1/kv2/metadata/app",
                "GET /v1/sys/internal/ui/mounts/kv2/app"
            ]
        );
        assert_eq!(requests[5].json(), json!({"versions": ["1", "2"]}));
        assert_eq!(requests[7].json(), json!({"versions": ["1"]}));
    }

    #[test]
    fn patch_sends_a_merge_patch_and_refuses_kv_v1() {
        let server = FakeServer::start(vec![
            (200, ui_mount("kv2/", "2")),
            (200, V2_WRITE.into()),
            (200, ui_mount("secret/", "1")),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_patch(&parse_args(&["kv2/app", "pw=x"]), c, ctx)
        });
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(r.out.starts_with("= Secret Path =\nkv2/data/app\n\n"));
        let req = &server.requests()[1];
        assert_eq!(req.line(), "PATCH /v1/kv2/data/app");
        assert_eq!(
            req.header("content-type"),
            Some("application/merge-patch+json")
        );
        assert_eq!(req.json(), json!({"data": {"pw": "x"}, "options": {}}));
        let r = run(&client, "", |c, ctx| {
            run_patch(&parse_args(&["secret/app", "pw=x"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (2, "K/V engine mount must be version 2 for patch support\n")
        );
    }
}
