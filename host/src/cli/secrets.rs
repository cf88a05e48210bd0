//! `vault secrets enable|disable|list|tune` (and the old `vault mount`, `unmount`,
//! `mounts`, `mount-tune`): `sys/mounts`.

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::client::{Client, ClientArgs};
use super::command::{
    escape_path, parse_go_duration, parse_key_value, run_process, sanitize_path,
    with_trailing_slash, Ctx,
};
use super::operator::Format;
use super::output;
use super::output::FormatArg;

/// `vault secrets` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Mount a secrets engine.
    Enable(EnableArgs),
    /// Unmount a secrets engine (its data is deleted).
    Disable(DisableArgs),
    /// List the mounted secrets engines.
    List(SecretsListArgs),
    /// Change a mount's settings.
    Tune(TuneArgs),
}

/// Flags of `vault secrets enable`.
#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Where to mount (default: the type's name).
    #[arg(long = "path", value_name = "PATH")]
    pub path: Option<String>,
    /// A description for humans.
    #[arg(long = "description", value_name = "TEXT", default_value = "")]
    pub description: String,
    /// The mount's default lease TTL.
    #[arg(long = "default-lease-ttl", value_name = "DURATION", value_parser = parse_go_duration)]
    pub default_lease_ttl: Option<Duration>,
    /// The mount's maximum lease TTL.
    #[arg(long = "max-lease-ttl", value_name = "DURATION", value_parser = parse_go_duration)]
    pub max_lease_ttl: Option<Duration>,
    /// The KV version (sets the `version` option).
    #[arg(long = "version", value_name = "N", default_value_t = 0)]
    pub version: u32,
    /// An engine option, `k=v` (repeatable).
    #[arg(long = "options", value_name = "K=V", value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
    /// Do not replicate the mount.
    #[arg(long = "local")]
    pub local: bool,
    /// Seal-wrap the mount's data.
    #[arg(long = "seal-wrap")]
    pub seal_wrap: bool,
    /// Let the engine use the seal's entropy.
    #[arg(long = "external-entropy-access")]
    pub external_entropy_access: bool,
    /// Disable caching.
    #[arg(long = "force-no-cache")]
    pub force_no_cache: bool,
    /// The engine: kv, kv-v2, generic...
    #[arg(value_name = "TYPE")]
    pub kind: String,
}

/// Flags of `vault secrets disable`.
#[derive(Debug, Clone, Args)]
pub struct DisableArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// Flags of `vault secrets list`.
#[derive(Debug, Clone, Args)]
pub struct SecretsListArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    /// More columns: TTLs, options, UUID...
    #[arg(long = "detailed")]
    pub detailed: bool,
}

/// Flags of `vault secrets tune`.
#[derive(Debug, Clone, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The mount's default lease TTL.
    #[arg(long = "default-lease-ttl", value_name = "DURATION", value_parser = parse_go_duration)]
    pub default_lease_ttl: Option<Duration>,
    /// The mount's maximum lease TTL.
    #[arg(long = "max-lease-ttl", value_name = "DURATION", value_parser = parse_go_duration)]
    pub max_lease_ttl: Option<Duration>,
    /// A new description.
    #[arg(long = "description", value_name = "TEXT")]
    pub description: Option<String>,
    /// An engine option, `k=v` (repeatable).
    #[arg(long = "options", value_name = "K=V", value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
    /// The KV version (sets the `version` option).
    #[arg(long = "version", value_name = "N", default_value_t = 0)]
    pub version: u32,
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// Runs a `vault secrets` command.
pub fn main(command: SecretsCommand) -> i32 {
    match command {
        SecretsCommand::Enable(a) => enable(a),
        SecretsCommand::Disable(a) => disable(a),
        SecretsCommand::List(a) => list(a),
        SecretsCommand::Tune(a) => tune(a),
    }
}

/// `vault secrets enable`.
pub fn enable(args: EnableArgs) -> i32 {
    run_process(&args.client, |c, ctx| run_enable(&args, c, ctx))
}

/// `vault secrets disable`.
pub fn disable(args: DisableArgs) -> i32 {
    run_process(&args.client, |c, ctx| run_disable(&args, c, ctx))
}

/// `vault secrets list`.
pub fn list(args: SecretsListArgs) -> i32 {
    run_process(&args.client, |c, ctx| run_list(&args, c, ctx))
}

/// `vault secrets tune`.
pub fn tune(args: TuneArgs) -> i32 {
    run_process(&args.client, |c, ctx| run_tune(&args, c, ctx))
}

fn options_map(options: &[(String, String)], version: u32) -> Map<String, Value> {
    let mut map: Map<String, Value> = options
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if version > 0 {
        map.insert("version".into(), Value::String(version.to_string()));
    }
    map
}

/// `vault secrets enable [-path=P] [-version=N] [-description=D] TYPE`:
/// `POST sys/mounts/P {"type", "description", "config", "options", ...}`.
pub fn run_enable(args: &EnableArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let kind = args.kind.trim().to_string();
    let path = args
        .path
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| kind.clone());
    let mount = with_trailing_slash(&sanitize_path(&path));
    let mut config = Map::new();
    if let Some(ttl) = args.default_lease_ttl {
        config.insert(
            "default_lease_ttl".into(),
            json!(format!("{}s", ttl.as_secs())),
        );
    }
    if let Some(ttl) = args.max_lease_ttl {
        config.insert("max_lease_ttl".into(), json!(format!("{}s", ttl.as_secs())));
    }
    config.insert("force_no_cache".into(), json!(args.force_no_cache));
    let options = options_map(&args.options, args.version);
    let body = json!({
        "type": kind,
        "description": args.description,
        "config": config,
        "local": args.local,
        "seal_wrap": args.seal_wrap,
        "external_entropy_access": args.external_entropy_access,
        "options": if options.is_empty() { Value::Null } else { Value::Object(options) },
    });
    let api = format!("sys/mounts/{}", escape_path(&sanitize_path(&mount)));
    match client.request("POST", &api, Some(&body)) {
        Err(e) => ctx.fail_api("Error enabling", &e),
        Ok(_) => {
            ctx.println(&format!(
                "Success! Enabled the {kind} secrets engine at: {mount}"
            ));
            0
        }
    }
}

/// `vault secrets disable PATH`: `DELETE sys/mounts/PATH`.
pub fn run_disable(args: &DisableArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let mount = with_trailing_slash(&sanitize_path(&args.path));
    let api = format!("sys/mounts/{}", escape_path(&sanitize_path(&mount)));
    match client.request("DELETE", &api, None) {
        Err(e) => ctx.fail_api(&format!("Error disabling secrets engine at {mount}"), &e),
        Ok(_) => {
            ctx.println(&format!(
                "Success! Disabled the secrets engine (if it existed) at: {mount}"
            ));
            0
        }
    }
}

/// The mounts of a `GET sys/mounts` body: its `data`, or the body without the envelope.
fn mounts_of(body: &Value) -> Map<String, Value> {
    if let Some(Value::Object(data)) = body.get("data") {
        return data.clone();
    }
    let mut map = body.as_object().cloned().unwrap_or_default();
    for key in [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
    ] {
        map.remove(key);
    }
    map.retain(|_, v| v.is_object());
    map
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => output::go_value(other),
    }
}

/// The `vault secrets list` table (`-detailed`: more columns).
pub fn mounts_table(mounts: &Map<String, Value>, detailed: bool) -> String {
    let mut paths: Vec<&String> = mounts.keys().collect();
    paths.sort();
    if !detailed {
        let rows: Vec<Vec<String>> = paths
            .iter()
            .map(|p| {
                let m = &mounts[p.as_str()];
                vec![
                    p.to_string(),
                    text(m, "type"),
                    text(m, "accessor"),
                    text(m, "description"),
                ]
            })
            .collect();
        return output::table(&["Path", "Type", "Accessor", "Description"], &rows);
    }
    let ttl = |kind: &str, value: Option<&Value>| -> String {
        match (kind, value.and_then(Value::as_i64)) {
            ("system" | "cubbyhole", _) => String::new(),
            (_, Some(n)) if n != 0 => n.to_string(),
            _ => "system".to_string(),
        }
    };
    let rows: Vec<Vec<String>> = paths
        .iter()
        .map(|p| {
            let m = &mounts[p.as_str()];
            let kind = text(m, "type");
            let config = m.get("config").cloned().unwrap_or(Value::Null);
            let options = match m.get("options") {
                Some(Value::Object(o)) => output::go_value(&Value::Object(o.clone())),
                _ => "map[]".to_string(),
            };
            let local = m.get("local").and_then(Value::as_bool).unwrap_or(false);
            vec![
                p.to_string(),
                kind.clone(),
                text(m, "accessor"),
                ttl(&kind, config.get("default_lease_ttl")),
                ttl(&kind, config.get("max_lease_ttl")),
                config
                    .get("force_no_cache")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string(),
                if local { "local" } else { "replicated" }.to_string(),
                m.get("seal_wrap")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string(),
                m.get("external_entropy_access")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string(),
                options,
                text(m, "description"),
                text(m, "uuid"),
            ]
        })
        .collect();
    output::table(
        &[
            "Path",
            "Plugin",
            "Accessor",
            "Default TTL",
            "Max TTL",
            "Force No Cache",
            "Replication",
            "Seal Wrap",
            "External Entropy Access",
            "Options",
            "Description",
            "UUID",
        ],
        &rows,
    )
}

/// `vault secrets list`: `GET sys/mounts`.
pub fn run_list(args: &SecretsListArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let body = match client.get("sys/mounts") {
        Ok(body) => body,
        Err(e) => return ctx.fail_api("Error listing secrets engines", &e),
    };
    let mounts = mounts_of(&body);
    match format {
        Format::Table => ctx.print(&mounts_table(&mounts, args.detailed)),
        Format::Json => ctx.print(&output::go_json(&output::sorted(&Value::Object(mounts)))),
    }
    0
}

/// `vault secrets tune PATH`: `POST sys/mounts/PATH/tune` with the given settings only.
pub fn run_tune(args: &TuneArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let mount = with_trailing_slash(&sanitize_path(&args.path));
    let mut body = Map::new();
    if let Some(ttl) = args.default_lease_ttl {
        body.insert(
            "default_lease_ttl".into(),
            json!(format!("{}s", ttl.as_secs())),
        );
    }
    if let Some(ttl) = args.max_lease_ttl {
        body.insert("max_lease_ttl".into(), json!(format!("{}s", ttl.as_secs())));
    }
    if let Some(d) = &args.description {
        body.insert("description".into(), json!(d));
    }
    let options = options_map(&args.options, args.version);
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    let api = format!("sys/mounts/{}/tune", escape_path(&sanitize_path(&mount)));
    match client.request("POST", &api, Some(&Value::Object(body))) {
        Err(e) => ctx.fail_api(&format!("Error tuning secrets engine {mount}"), &e),
        Ok(_) => {
            ctx.println(&format!("Success! Tuned the secrets engine at: {mount}"));
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command::testing::{client_for, parse_args, run};
    use crate::cli::fake_server::FakeServer;

    #[test]
    fn enable_sends_type_description_and_version() {
        let server = FakeServer::start(vec![
            (204, String::new()),
            (204, String::new()),
            (
                400,
                r#"{"errors":["path is already in use at kv2/"]}"#.into(),
            ),
        ]);
        let client = client_for(&server, Some("s.root"));
        let a: EnableArgs = parse_args(&[
            "-path=kv2",
            "-version=2",
            "-description=my kv",
            "-default-lease-ttl=1h",
            "kv",
        ]);
        let r = run(&client, "", |c, ctx| run_enable(&a, c, ctx));
        assert_eq!(
            (r.code, r.out.as_str()),
            (0, "Success! Enabled the kv secrets engine at: kv2/\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_enable(&parse_args(&["kv-v2"]), c, ctx)
        });
        assert_eq!(
            r.out,
            "Success! Enabled the kv-v2 secrets engine at: kv-v2/\n"
        );
        let r = run(&client, "", |c, ctx| {
            run_enable(&parse_args(&["-path=kv2/", "kv"]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert!(r
            .err
            .starts_with("Error enabling: Error making API request."));
        let requests = server.requests();
        assert_eq!(requests[0].line(), "POST /v1/sys/mounts/kv2");
        let body = requests[0].json();
        assert_eq!(body["type"], "kv");
        assert_eq!(body["description"], "my kv");
        assert_eq!(body["options"], json!({"version": "2"}));
        assert_eq!(body["config"]["default_lease_ttl"], "3600s");
        assert_eq!(requests[1].line(), "POST /v1/sys/mounts/kv-v2");
        assert_eq!(requests[1].json()["options"], Value::Null);
        assert_eq!(requests[2].line(), "POST /v1/sys/mounts/kv2");
    }

    #[test]
    fn disable_and_tune() {
        let server = FakeServer::start(vec![(204, String::new()), (204, String::new())]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_disable(&parse_args(&["kv"]), c, ctx)
        });
        assert_eq!(
            r.out,
            "Success! Disabled the secrets engine (if it existed) at: kv/\n"
        );
        let a: TuneArgs = parse_args(&["-default-lease-ttl=30m", "-max-lease-ttl=2h", "kv2/"]);
        let r = run(&client, "", |c, ctx| run_tune(&a, c, ctx));
        assert_eq!(r.out, "Success! Tuned the secrets engine at: kv2/\n");
        let requests = server.requests();
        assert_eq!(requests[0].line(), "DELETE /v1/sys/mounts/kv");
        assert_eq!(requests[1].line(), "POST /v1/sys/mounts/kv2/tune");
        assert_eq!(
            requests[1].json(),
            json!({"default_lease_ttl": "1800s", "max_lease_ttl": "7200s"})
        );
    }

    #[test]
    fn list_prints_the_mount_table() {
        let mounts = json!({
            "cubbyhole/": {"accessor": "cubbyhole_8e6cbc3c", "description": "per-token private secret storage", "type": "cubbyhole", "local": true, "config": {"default_lease_ttl": 0}},
            "kv2/": {"accessor": "kv_d1d2b1d4", "description": "", "type": "kv", "options": {"version": "2"}, "config": {"default_lease_ttl": 3600}},
            "sys/": {"accessor": "system_53f1007e", "description": "system endpoints used for control, policy and debugging", "type": "system"}
        });
        let mut body = json!({"request_id": "x", "data": mounts.clone()});
        body["kv2/"] = mounts["kv2/"].clone();
        let server = FakeServer::start(vec![
            (200, body.to_string()),
            (200, body.to_string()),
            (200, body.to_string()),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| run_list(&parse_args(&[]), c, ctx));
        assert_eq!(
            r.out,
            "\
Path          Type         Accessor              Description
----          ----         --------              -----------
cubbyhole/    cubbyhole    cubbyhole_8e6cbc3c    per-token private secret storage
kv2/          kv           kv_d1d2b1d4           n/a
sys/          system       system_53f1007e       system endpoints used for control, policy and debugging
"
        );
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["-format=json"]), c, ctx)
        });
        let v: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(v, mounts);
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["-detailed"]), c, ctx)
        });
        assert!(
            r.out.starts_with("Path          Plugin       Accessor"),
            "{}",
            r.out
        );
        assert!(r.out.contains("    3600    "), "{}", r.out);
        assert!(r.out.contains("map[version:2]"), "{}", r.out);
        assert!(r.out.contains("    local    "), "{}", r.out);
        assert_eq!(
            mounts_of(&json!({"sys/": {"type": "system"}, "request_id": "x"})).len(),
            1
        );
    }
}
