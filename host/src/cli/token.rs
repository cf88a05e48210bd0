//! `vault login` (and the old `vault auth TOKEN`), and `vault token create|lookup|renew|
//! revoke|capabilities` (also the old `token-create`, `token-lookup`, `token-renew`,
//! `token-revoke`): the token auth method.
//!
//! `login` checks the token with `GET auth/token/lookup-self` and stores it in
//! `~/.vault-token` (mode 0600 from creation, no newline, written to a temporary file
//! then renamed over the old one).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::client::{Client, ClientArgs, Token, TOKEN_FILE};
use super::command::{
    escape_path, io_error_text, parse_go_bool, parse_go_duration, parse_key_value, run_process,
    split_list, Ctx,
};
use super::operator::Format;
use super::output::{self, go_duration, Secret, SecretAuth};
use super::output::{FormatArg, OutputArgs};

/// The prompt for a token (Vault's text).
pub const TOKEN_PROMPT: &str = "Token (will be hidden): ";

/// Flags of `vault login` / `vault auth`.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The auth method; only `token` is supported.
    #[arg(long = "method", value_name = "METHOD", default_value = "token")]
    pub method: String,
    /// Do not store the token in ~/.vault-token.
    #[arg(long = "no-store")]
    pub no_store: bool,
    /// Do not print the token information.
    #[arg(long = "no-print")]
    pub no_print: bool,
    /// Print only the token, and do not store it.
    #[arg(long = "token-only")]
    pub token_only: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The token (`-`: read it from stdin; none: prompt for it), or `token=...`.
    #[arg(value_name = "TOKEN")]
    pub args: Vec<String>,
}

/// `vault token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a child token (or an orphan).
    Create(TokenCreateArgs),
    /// Show a token's properties (default: your own).
    Lookup(TokenLookupArgs),
    /// Extend a token's TTL (default: your own).
    Renew(TokenRenewArgs),
    /// Revoke a token and its children.
    Revoke(TokenRevokeArgs),
    /// Show a token's capabilities on a path.
    Capabilities(TokenCapabilitiesArgs),
}

/// Flags of `vault token create`.
#[derive(Debug, Clone, Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// A custom token ID.
    #[arg(long = "id", value_name = "ID", default_value = "")]
    pub id: String,
    /// A display name (prefixed with `token-`).
    #[arg(long = "display-name", value_name = "NAME", default_value = "")]
    pub display_name: String,
    /// The token's TTL.
    #[arg(long = "ttl", value_name = "DURATION", value_parser = parse_go_duration)]
    pub ttl: Option<Duration>,
    /// A hard limit on the lifetime, renewals included.
    #[arg(long = "explicit-max-ttl", value_name = "DURATION", value_parser = parse_go_duration)]
    pub explicit_max_ttl: Option<Duration>,
    /// Make a periodic token, renewable by this period forever.
    #[arg(long = "period", value_name = "DURATION", value_parser = parse_go_duration)]
    pub period: Option<Duration>,
    /// Whether the token can be renewed.
    #[arg(
        long = "renewable",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true",
        value_parser = parse_go_bool
    )]
    pub renewable: bool,
    /// How many uses the token has (0: unlimited).
    #[arg(
        long = "use-limit",
        alias = "num-uses",
        value_name = "N",
        default_value_t = 0
    )]
    pub num_uses: u64,
    /// Make the token an orphan (no parent).
    #[arg(long = "orphan")]
    pub orphan: bool,
    /// Do not add the `default` policy.
    #[arg(long = "no-default-policy")]
    pub no_default_policy: bool,
    /// A policy for the token (repeatable, or comma-separated).
    #[arg(long = "policy", value_name = "NAME")]
    pub policy: Vec<String>,
    /// Metadata `k=v` (repeatable).
    #[arg(long = "metadata", value_name = "K=V", value_parser = parse_key_value)]
    pub metadata: Vec<(String, String)>,
    /// service or batch.
    #[arg(long = "type", value_name = "TYPE", default_value = "service")]
    pub token_type: String,
    /// Create the token against this token role.
    #[arg(long = "role", value_name = "NAME")]
    pub role: Option<String>,
    /// An entity alias for the token.
    #[arg(long = "entity-alias", value_name = "NAME", default_value = "")]
    pub entity_alias: String,
}

/// Flags of `vault token lookup`.
#[derive(Debug, Clone, Args)]
pub struct TokenLookupArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// TOKEN is an accessor.
    #[arg(long = "accessor")]
    pub accessor: bool,
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
}

/// Flags of `vault token renew`.
#[derive(Debug, Clone, Args)]
pub struct TokenRenewArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The TTL to ask for (default: the token's own).
    #[arg(
        long = "increment",
        short = 'i',
        value_name = "DURATION",
        value_parser = parse_go_duration
    )]
    pub increment: Option<Duration>,
    /// TOKEN is an accessor.
    #[arg(long = "accessor")]
    pub accessor: bool,
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
}

/// Flags of `vault token revoke`.
#[derive(Debug, Clone, Args)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// TOKEN is an accessor.
    #[arg(long = "accessor")]
    pub accessor: bool,
    /// Revoke the token in use.
    #[arg(long = "self")]
    pub self_: bool,
    /// orphan (keep the children) or path (every token created under the path TOKEN).
    #[arg(long = "mode", value_name = "MODE", default_value = "")]
    pub mode: String,
    #[arg(value_name = "TOKEN")]
    pub token: Vec<String>,
}

/// Flags of `vault token capabilities`.
#[derive(Debug, Clone, Args)]
pub struct TokenCapabilitiesArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    /// `[TOKEN] PATH`.
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `vault login` / `vault auth`.
pub fn login(args: LoginArgs) -> i32 {
    run_process(&args.client, |c, ctx| run_login(&args, c, ctx))
}

/// Runs a `vault token` command.
pub fn main(command: TokenCommand) -> i32 {
    match command {
        TokenCommand::Create(a) => run_process(&a.client, |c, ctx| run_create(&a, c, ctx)),
        TokenCommand::Lookup(a) => run_process(&a.client, |c, ctx| run_lookup(&a, c, ctx)),
        TokenCommand::Renew(a) => run_process(&a.client, |c, ctx| run_renew(&a, c, ctx)),
        TokenCommand::Revoke(a) => run_process(&a.client, |c, ctx| run_revoke(&a, c, ctx)),
        TokenCommand::Capabilities(a) => {
            run_process(&a.client, |c, ctx| run_capabilities(&a, c, ctx))
        }
    }
}

/// Writes the token helper file: `<home>/.vault-token.tmp` created with mode 0600, the
/// token without a newline, then renamed to `<home>/.vault-token`.
pub fn store_token(home: &Path, token: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = home.join(TOKEN_FILE);
    let tmp = home.join(format!("{TOKEN_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // The umask cannot widen 0600, but be explicit.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(token.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The secret `vault login` prints, built from the `lookup-self` data as the Go CLI's
/// token handler does.
pub fn login_secret(token: &str, data: &Map<String, Value>) -> Secret {
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(token)
        .to_string();
    let policies = output::strings_of(data.get("policies"));
    let ttl = match data.get("ttl") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    };
    Secret {
        auth: Some(SecretAuth {
            client_token: id,
            accessor: data
                .get("accessor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            token_policies: policies.clone(),
            identity_policies: output::strings_of(data.get("identity_policies")),
            policies,
            metadata: data.get("meta").and_then(Value::as_object).cloned(),
            orphan: data.get("orphan").and_then(Value::as_bool).unwrap_or(false),
            entity_id: data
                .get("entity_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            lease_duration: ttl,
            renewable: data
                .get("renewable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            mfa_requirement: Value::Null,
        }),
        ..Secret::default()
    }
}

/// The token `vault login` was given: `TOKEN`, `token=TOKEN`, `-` (stdin) or, with no
/// argument, typed at the prompt; trimmed.
fn login_token(args: &[String], ctx: &mut Ctx) -> Result<Zeroizing<String>, String> {
    let mut token = None;
    for (i, arg) in args.iter().enumerate() {
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None if i == 0 => ("token".to_string(), arg.clone()),
            None => {
                return Err(format!(
                    "invalid key/value pair {arg:?}: format must be key=value"
                ))
            }
        };
        let value = Zeroizing::new(value);
        if key == "token" {
            token = Some(if value.as_str() == "-" {
                ctx.input.read_all().map_err(|e| io_error_text(&e))?
            } else {
                value
            });
        }
    }
    let token = match token {
        Some(t) => t,
        None => ctx.input.prompt_hidden(TOKEN_PROMPT).map_err(|e| {
            format!(
                "An error occurred attempting to ask for a token. The raw error message is \
                 shown below, but usually this is because you attempted to pipe a value into \
                 the command or you are executing outside of a terminal (tty). If you want to \
                 pipe the value, pass \"-\" as the argument to read from stdin. The raw error \
                 was: {}",
                io_error_text(&e)
            )
        })?,
    };
    Ok(Zeroizing::new(token.trim().to_string()))
}

/// `vault login [TOKEN|-]` / `vault auth`: `GET auth/token/lookup-self` with the token,
/// then `~/.vault-token`, then the token's table (Vault's text).
pub fn run_login(args: &LoginArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let mut format = try_code!(ctx.format(args.output.format));
    if args.method != "token" {
        return ctx.fail(
            1,
            &format!(
                "Unknown auth method: {}. Use \"vault auth list\" to see the complete list of \
                 auth methods. Additionally, some auth methods are only available via the \
                 HTTP API.",
                args.method
            ),
        );
    }
    let (no_store, field) = if args.token_only {
        format = Format::Table;
        (true, Some("token".to_string()))
    } else {
        (args.no_store, args.output.field.clone())
    };
    let token = match login_token(&args.args, ctx) {
        Ok(t) => t,
        Err(e) => return ctx.fail(2, &format!("Error authenticating: {e}")),
    };
    if token.is_empty() {
        return ctx.fail(
            2,
            "Error authenticating: a token must be passed to auth, please view the help for \
             more information",
        );
    }
    let checker = client.with_token(Some(Token::new(token.as_str())));
    let data = match checker.get("auth/token/lookup-self") {
        Ok(body) => body
            .get("data")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        Err(e) => return ctx.fail_api("Error authenticating: error looking up token", &e),
    };
    let secret = login_secret(&token, &data);
    let stored = secret
        .auth
        .as_ref()
        .map(|a| a.client_token.clone())
        .unwrap_or_default();
    if !no_store {
        let result = match &ctx.home {
            Some(home) => store_token(home, &stored).map_err(|e| io_error_text(&e)),
            None => Err("no home folder ($HOME is not set)".to_string()),
        };
        if let Err(e) = result {
            ctx.eprint(&format!("Error storing token: {e}\n"));
            ctx.eprint(&format!(
                "{}\n\n",
                output::wrap_at_length(
                    "Authentication was successful, but the token was not persisted. The \
                     resulting token is shown below for your records."
                )
            ));
            ctx.output_secret(format, &secret);
            return 2;
        }
        if ctx.var("VAULT_TOKEN").is_some() || ctx.var("BAO_TOKEN").is_some() {
            ctx.eprint(&format!(
                "{}\n\n",
                output::wrap_at_length(
                    "WARNING! The VAULT_TOKEN environment variable is set! The value of this \
                     variable will take precedence; if this is unwanted please unset \
                     VAULT_TOKEN or update its value accordingly."
                )
            ));
        }
    } else if !args.token_only {
        ctx.eprint(&format!(
            "{}\n\n",
            output::wrap_at_length(
                "The token was not stored in token helper. Set the VAULT_TOKEN environment \
                 variable or pass the token below with each request to Vault."
            )
        ));
    }
    if args.no_print {
        return 0;
    }
    if let Some(field) = &field {
        return ctx.print_secret_field(format, &secret, field);
    }
    if format == Format::Table {
        ctx.print(&format!(
            "{}\n\n",
            output::wrap_at_length(
                "Success! You are now authenticated. The token information displayed below is \
                 already stored in the token helper. You do NOT need to run \"vault login\" \
                 again. Future Vault requests will automatically use this token."
            )
        ));
    }
    ctx.output_secret(format, &secret)
}

/// The body of `auth/token/create` (`api.TokenCreateRequest`).
pub fn create_body(args: &TokenCreateArgs) -> Value {
    let duration = |d: Option<Duration>| go_duration(d.unwrap_or_default());
    let mut body = Map::new();
    if !args.id.is_empty() {
        body.insert("id".into(), json!(args.id));
    }
    let policies = split_list(&args.policy);
    if !policies.is_empty() {
        body.insert("policies".into(), json!(policies));
    }
    if !args.metadata.is_empty() {
        let meta: Map<String, Value> = args
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        body.insert("meta".into(), Value::Object(meta));
    }
    body.insert("ttl".into(), json!(duration(args.ttl)));
    body.insert(
        "explicit_max_ttl".into(),
        json!(duration(args.explicit_max_ttl)),
    );
    body.insert("period".into(), json!(duration(args.period)));
    if args.orphan {
        body.insert("no_parent".into(), json!(true));
    }
    if args.no_default_policy {
        body.insert("no_default_policy".into(), json!(true));
    }
    body.insert("display_name".into(), json!(args.display_name));
    body.insert("num_uses".into(), json!(args.num_uses));
    body.insert("renewable".into(), json!(args.renewable));
    body.insert("type".into(), json!(args.token_type));
    body.insert("entity_alias".into(), json!(args.entity_alias));
    Value::Object(body)
}

/// `vault token create`: `POST auth/token/create` (or `create/ROLE`).
pub fn run_create(args: &TokenCreateArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let path = match &args.role {
        Some(role) => format!("auth/token/create/{}", escape_path(role)),
        None => "auth/token/create".to_string(),
    };
    let secret = match client.request("POST", &path, Some(&create_body(args))) {
        Ok(body) => Secret::parse(&body).unwrap_or_default(),
        Err(e) => return ctx.fail_api("Error creating token", &e),
    };
    ctx.print_secret(format, &secret, args.output.field.as_deref())
}

/// `vault token lookup [TOKEN]`: `GET auth/token/lookup-self`, `POST auth/token/lookup
/// {"token"}` or (with -accessor) `POST auth/token/lookup-accessor {"accessor"}`.
pub fn run_lookup(args: &TokenLookupArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let token = args
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let result = match (token, args.accessor) {
        (None, true) => {
            return ctx.fail(1, "Not enough arguments with -accessor (expected 1, got 0)")
        }
        (None, false) => client.get("auth/token/lookup-self"),
        (Some(a), true) => client.request(
            "POST",
            "auth/token/lookup-accessor",
            Some(&json!({ "accessor": a })),
        ),
        (Some(t), false) => {
            client.request("POST", "auth/token/lookup", Some(&json!({ "token": t })))
        }
    };
    let secret = match result {
        Ok(body) => Secret::parse(&body).unwrap_or_default(),
        Err(e) => return ctx.fail_api("Error looking up token", &e),
    };
    ctx.print_secret(format, &secret, args.output.field.as_deref())
}

/// `vault token renew [TOKEN]`: `PUT auth/token/renew-self {"increment":N}`, `renew
/// {"token","increment"}` or `renew-accessor {"accessor","increment"}`.
pub fn run_renew(args: &TokenRenewArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let increment = args.increment.map(|d| d.as_secs()).unwrap_or(0);
    let token = args
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let (path, body) = match (token, args.accessor) {
        (None, _) => ("auth/token/renew-self", json!({ "increment": increment })),
        (Some(a), true) => (
            "auth/token/renew-accessor",
            json!({ "accessor": a, "increment": increment }),
        ),
        (Some(t), false) => (
            "auth/token/renew",
            json!({ "token": t, "increment": increment }),
        ),
    };
    let secret = match client.put(path, Some(&body)) {
        Ok(body) => Secret::parse(&body).unwrap_or_default(),
        Err(e) => return ctx.fail_api("Error renewing token", &e),
    };
    ctx.print_secret(format, &secret, args.output.field.as_deref())
}

/// `vault token revoke TOKEN | -self | -accessor A | -mode=orphan TOKEN`:
/// `PUT auth/token/revoke{,-self,-accessor,-orphan}`.
pub fn run_revoke(args: &TokenRevokeArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let n = args.token.len();
    let mode = args.mode.as_str();
    if !matches!(mode, "" | "orphan" | "path") {
        return ctx.fail(1, &format!("Invalid mode: {mode}"));
    }
    let problem = if args.self_ && n > 0 {
        Some(format!(
            "Too many arguments with -self (expected 0, got {n})"
        ))
    } else if !args.self_ && n > 1 {
        Some(format!("Too many arguments (expected 1 or -self, got {n})"))
    } else if !args.self_ && n < 1 {
        Some(format!(
            "Not enough arguments (expected 1 or -self, got {n})"
        ))
    } else if args.self_ && args.accessor {
        Some("Cannot use -self with -accessor!".to_string())
    } else if args.self_ && !mode.is_empty() {
        Some("Cannot use -self with -mode!".to_string())
    } else if args.accessor && !mode.is_empty() {
        Some(format!("Cannot use -accessor with -mode={mode}!"))
    } else {
        None
    };
    if let Some(problem) = problem {
        return ctx.fail(1, &problem);
    }
    let token = args.token.first().map(|t| t.trim()).unwrap_or_default();
    let result = if mode == "path" {
        client.put(
            &format!("sys/leases/revoke-prefix/{}", escape_path(token)),
            None,
        )
    } else if mode == "orphan" {
        client.put("auth/token/revoke-orphan", Some(&json!({ "token": token })))
    } else if args.accessor {
        client.put(
            "auth/token/revoke-accessor",
            Some(&json!({ "accessor": token })),
        )
    } else if args.self_ {
        client.put("auth/token/revoke-self", None)
    } else {
        client.put("auth/token/revoke", Some(&json!({ "token": token })))
    };
    match result {
        Err(e) if mode == "path" => {
            ctx.fail_api(&format!("Error revoking tokens with prefix {token}"), &e)
        }
        Err(e) => ctx.fail_api("Error revoking token", &e),
        Ok(_) => {
            ctx.println("Success! Revoked token (if it existed)");
            0
        }
    }
}

/// `vault token capabilities [TOKEN] PATH`: `POST sys/capabilities-self {"path","token"}`
/// (or `sys/capabilities` for another token), printed sorted and comma-separated.
pub fn run_capabilities(args: &TokenCapabilitiesArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let (token, path) = match args.args.as_slice() {
        [path] => (None, path.clone()),
        [token, path] => (Some(token.clone()), path.clone()),
        [] => return ctx.fail(1, "Not enough arguments (expected 1-2, got 0)"),
        more => {
            return ctx.fail(
                1,
                &format!("Too many arguments (expected 1-2, got {})", more.len()),
            )
        }
    };
    let own = client.token().map(|t| t.expose().to_string());
    let (endpoint, body) = match token {
        Some(t) if Some(&t) != own.as_ref() => {
            ("sys/capabilities", json!({ "token": t, "path": path }))
        }
        _ => {
            let mut body = json!({ "path": path });
            if let Some(own) = &own {
                body["token"] = json!(own);
            }
            ("sys/capabilities-self", body)
        }
    };
    let body = match client.request("POST", endpoint, Some(&body)) {
        Ok(body) => body,
        Err(e) => return ctx.fail_api("Error listing capabilities", &e),
    };
    let data = body.get("data").filter(|d| d.is_object()).unwrap_or(&body);
    let mut capabilities = output::strings_of(data.get(path.as_str()))
        .filter(|c| !c.is_empty())
        .or_else(|| output::strings_of(data.get("capabilities")))
        .unwrap_or_default();
    match format {
        Format::Table => {
            capabilities.sort();
            ctx.println(&capabilities.join(", "));
        }
        Format::Json => ctx.print(&output::go_json(&capabilities)),
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command::testing::{client_for, parse_args, run, run_with, Setup};
    use crate::cli::fake_server::FakeServer;
    use std::os::unix::fs::PermissionsExt;

    const ROOT_LOOKUP: &str = r#"{"request_id":"x","lease_id":"","renewable":false,"lease_duration":0,"data":{"accessor":"wVw0ovoWv3erCb0Q5SxgJDgT","creation_time":1796391104,"creation_ttl":0,"display_name":"root","entity_id":"","expire_time":null,"explicit_max_ttl":0,"id":"s.eaJUVFS8cAImmj7nYOPNAsuq","meta":null,"num_uses":0,"orphan":true,"path":"auth/token/root","policies":["root"],"ttl":0,"type":"service"},"wrap_info":null,"warnings":null,"auth":null}"#;

    const LOGIN_TEXT: &str = "\
Success! You are now authenticated. The token information displayed below is
already stored in the token helper. You do NOT need to run \"vault login\" again.
Future Vault requests will automatically use this token.

Key                  Value
---                  -----
token                s.eaJUVFS8cAImmj7nYOPNAsuq
token_accessor       wVw0ovoWv3erCb0Q5SxgJDgT
token_duration       ∞
token_renewable      false
token_policies       [\"root\"]
identity_policies    []
policies             [\"root\"]
";

    fn home_setup(home: &Path, stdin: &str) -> Setup {
        Setup {
            stdin: stdin.to_string(),
            home: Some(home.to_path_buf()),
            ..Setup::default()
        }
    }

    #[test]
    fn login_checks_the_token_stores_it_0600_and_prints_vaults_table() {
        let server = FakeServer::start(vec![
            (200, ROOT_LOOKUP.into()),
            (200, ROOT_LOOKUP.into()),
            (200, ROOT_LOOKUP.into()),
        ]);
        // The command's own token must not be the one checked.
        let client = client_for(&server, Some("s.other"));
        let home = tempfile::tempdir().unwrap();
        let r = run_with(&client, home_setup(home.path(), ""), |c, ctx| {
            run_login(&parse_args(&["s.eaJUVFS8cAImmj7nYOPNAsuq"]), c, ctx)
        });
        assert_eq!((r.code, r.err.as_str()), (0, ""));
        assert_eq!(r.out, LOGIN_TEXT);
        let file = home.path().join(".vault-token");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "s.eaJUVFS8cAImmj7nYOPNAsuq"
        );
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!home.path().join(".vault-token.tmp").exists());

        // `-` reads stdin; no argument prompts.
        let r = run_with(
            &client,
            home_setup(home.path(), "  s.eaJUVFS8cAImmj7nYOPNAsuq\n"),
            |c, ctx| run_login(&parse_args(&["-no-print", "-"]), c, ctx),
        );
        assert_eq!((r.code, r.out.as_str()), (0, ""));
        assert_eq!(r.input.reads, 1);
        let r = run_with(
            &client,
            home_setup(home.path(), "s.eaJUVFS8cAImmj7nYOPNAsuq\n"),
            |c, ctx| run_login(&parse_args(&["-field=token_policies"]), c, ctx),
        );
        assert_eq!(r.input.prompts, [TOKEN_PROMPT]);
        assert_eq!(r.out, "[root]");
        let requests = server.requests();
        assert!(requests
            .iter()
            .all(|r| r.line() == "GET /v1/auth/token/lookup-self"
                && r.header("x-vault-token") == Some("s.eaJUVFS8cAImmj7nYOPNAsuq")));
    }

    #[test]
    fn a_bad_token_is_not_stored_and_exits_2() {
        let server = FakeServer::start(vec![(403, r#"{"errors":["permission denied"]}"#.into())]);
        let client = client_for(&server, None);
        let home = tempfile::tempdir().unwrap();
        let r = run_with(&client, home_setup(home.path(), ""), |c, ctx| {
            run_login(&parse_args(&["s.bogus"]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert_eq!(
            r.err,
            format!(
                "Error authenticating: error looking up token: Error making API request.\n\n\
                 URL: GET {}/v1/auth/token/lookup-self\nCode: 403. Errors:\n\n* permission denied\n",
                server.address
            )
        );
        assert!(!home.path().join(".vault-token").exists());
        let r = run_with(&client, home_setup(home.path(), "\n"), |c, ctx| {
            run_login(&parse_args(&[]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert!(
            r.err.contains("a token must be passed to auth"),
            "{}",
            r.err
        );
    }

    #[test]
    fn no_store_and_token_only() {
        let server = FakeServer::start(vec![(200, ROOT_LOOKUP.into()), (200, ROOT_LOOKUP.into())]);
        let client = client_for(&server, None);
        let home = tempfile::tempdir().unwrap();
        let r = run_with(&client, home_setup(home.path(), ""), |c, ctx| {
            run_login(
                &parse_args(&["-no-store", "-format=json", "token=s.x"]),
                c,
                ctx,
            )
        });
        assert_eq!(r.code, 0);
        assert!(r
            .err
            .starts_with("The token was not stored in token helper."));
        let v: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(v["auth"]["client_token"], "s.eaJUVFS8cAImmj7nYOPNAsuq");
        assert_eq!(v["data"], Value::Null);
        let r = run_with(&client, home_setup(home.path(), ""), |c, ctx| {
            run_login(&parse_args(&["-token-only", "s.x"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.out.as_str(), r.err.as_str()),
            (0, "s.eaJUVFS8cAImmj7nYOPNAsuq", "")
        );
        assert!(!home.path().join(".vault-token").exists());
    }

    #[test]
    fn create_sends_the_clis_body() {
        let a: TokenCreateArgs = parse_args(&["-policy=ro", "-ttl=1h"]);
        assert_eq!(
            create_body(&a),
            json!({"policies":["ro"],"ttl":"1h0m0s","explicit_max_ttl":"0s","period":"0s","display_name":"","num_uses":0,"renewable":true,"type":"service","entity_alias":""})
        );
        let a: TokenCreateArgs = parse_args(&[
            "-policy=a,b",
            "-policy",
            "c",
            "-metadata=team=x",
            "-metadata=env=dev",
            "-orphan",
            "-no-default-policy",
            "-renewable=false",
            "-num-uses=3",
            "-period=30m",
            "-explicit-max-ttl=2h",
            "-display-name=demo",
        ]);
        let body = create_body(&a);
        assert_eq!(body["policies"], json!(["a", "b", "c"]));
        assert_eq!(body["meta"], json!({"team": "x", "env": "dev"}));
        assert_eq!(body["no_parent"], true);
        assert_eq!(body["no_default_policy"], true);
        assert_eq!(body["renewable"], false);
        assert_eq!(body["num_uses"], 3);
        assert_eq!(body["period"], "30m0s");
        assert_eq!(body["explicit_max_ttl"], "2h0m0s");
        assert_eq!(body["display_name"], "demo");
        let a: TokenCreateArgs = parse_args(&["-renewable"]);
        assert!(a.renewable);
        assert!(
            crate::cli::command::testing::try_parse_args::<TokenCreateArgs>(&["-ttl=bogus"])
                .is_err()
        );
    }

    #[test]
    fn create_prints_the_token_table_json_or_field() {
        let created = json!({"request_id":"160d","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"s.6jJJ","accessor":"3k1A","policies":["default","ro"],"token_policies":["default","ro"],"metadata":null,"lease_duration":3600,"renewable":true,"entity_id":"","token_type":"service","orphan":false,"mfa_requirement":null,"num_uses":0}});
        let server = FakeServer::start(vec![
            (200, created.to_string()),
            (200, created.to_string()),
            (200, created.to_string()),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_create(&parse_args(&["-policy=ro", "-ttl=1h"]), c, ctx)
        });
        assert_eq!(
            r.out,
            "\
Key                  Value
---                  -----
token                s.6jJJ
token_accessor       3k1A
token_duration       1h
token_renewable      true
token_policies       [\"default\" \"ro\"]
identity_policies    []
policies             [\"default\" \"ro\"]
"
        );
        let r = run(&client, "", |c, ctx| {
            run_create(&parse_args(&["-format=json"]), c, ctx)
        });
        let v: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(v["auth"]["client_token"], "s.6jJJ");
        assert_eq!(v["auth"]["lease_duration"], 3600);
        let r = run(&client, "", |c, ctx| {
            run_create(&parse_args(&["-field=token"]), c, ctx)
        });
        assert_eq!(r.out, "s.6jJJ");
        assert_eq!(server.lines(), vec!["POST /v1/auth/token/create"; 3]);
    }

    #[test]
    fn lookup_renew_revoke_capabilities() {
        let auth = json!({"auth":{"client_token":"s.t","accessor":"a","policies":["default"],"token_policies":["default"],"lease_duration":7200,"renewable":true}});
        let server = FakeServer::start(vec![
            (200, ROOT_LOOKUP.into()),
            (200, ROOT_LOOKUP.into()),
            (200, ROOT_LOOKUP.into()),
            (200, auth.to_string()),
            (200, auth.to_string()),
            (204, String::new()),
            (204, String::new()),
            (204, String::new()),
            (204, String::new()),
            (
                200,
                r#"{"secret/foo":["read","list"],"capabilities":["read","list"],"data":{"secret/foo":["read","list"],"capabilities":["read","list"]}}"#.into(),
            ),
            (
                200,
                r#"{"data":{"sys/seal":["deny"]}}"#.into(),
            ),
        ]);
        let client = client_for(&server, Some("s.me"));
        let r = run(&client, "", |c, ctx| run_lookup(&parse_args(&[]), c, ctx));
        assert_eq!(r.code, 0);
        assert!(r.out.contains("\ncreation_ttl        0s\n"), "{}", r.out);
        assert!(r.out.contains("\nexpire_time         <nil>\n"), "{}", r.out);
        assert!(
            r.out.contains("\npolicies            [root]\n"),
            "{}",
            r.out
        );
        let r = run(&client, "", |c, ctx| {
            run_lookup(&parse_args(&["s.other"]), c, ctx)
        });
        assert_eq!(r.code, 0);
        let r = run(&client, "", |c, ctx| {
            run_lookup(&parse_args(&["-accessor", "acc"]), c, ctx)
        });
        assert_eq!(r.code, 0);
        let r = run(&client, "", |c, ctx| {
            run_renew(&parse_args(&["-increment=2h"]), c, ctx)
        });
        assert!(r.out.contains("\ntoken_duration       2h\n"), "{}", r.out);
        let r = run(&client, "", |c, ctx| {
            run_renew(&parse_args(&["s.other"]), c, ctx)
        });
        assert_eq!(r.code, 0);
        for args in [
            &["s.other"][..],
            &["-self"][..],
            &["-accessor", "acc"][..],
            &["-mode=orphan", "s.other"][..],
        ] {
            let r = run(&client, "", |c, ctx| run_revoke(&parse_args(args), c, ctx));
            assert_eq!(
                (r.code, r.out.as_str()),
                (0, "Success! Revoked token (if it existed)\n"),
                "{args:?}"
            );
        }
        let r = run(&client, "", |c, ctx| run_revoke(&parse_args(&[]), c, ctx));
        assert_eq!(
            (r.code, r.err.as_str()),
            (1, "Not enough arguments (expected 1 or -self, got 0)\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_capabilities(&parse_args(&["secret/foo"]), c, ctx)
        });
        assert_eq!(r.out, "list, read\n");
        let r = run(&client, "", |c, ctx| {
            run_capabilities(&parse_args(&["s.other", "sys/seal"]), c, ctx)
        });
        assert_eq!(r.out, "deny\n");
        let requests = server.requests();
        let lines: Vec<String> = requests.iter().map(|r| r.line()).collect();
        assert_eq!(
            lines,
            [
                "GET /v1/auth/token/lookup-self",
                "POST /v1/auth/token/lookup",
                "POST /v1/auth/token/lookup-accessor",
                "PUT /v1/auth/token/renew-self",
                "PUT /v1/auth/token/renew",
                "PUT /v1/auth/token/revoke",
                "PUT /v1/auth/token/revoke-self",
                "PUT /v1/auth/token/revoke-accessor",
                "PUT /v1/auth/token/revoke-orphan",
                "POST /v1/sys/capabilities-self",
                "POST /v1/sys/capabilities"
            ]
        );
        assert_eq!(requests[1].json(), json!({"token": "s.other"}));
        assert_eq!(requests[2].json(), json!({"accessor": "acc"}));
        assert_eq!(requests[3].json(), json!({"increment": 7200}));
        assert_eq!(
            requests[4].json(),
            json!({"token": "s.other", "increment": 0})
        );
        assert_eq!(requests[5].json(), json!({"token": "s.other"}));
        assert_eq!(
            requests[9].json(),
            json!({"path": "secret/foo", "token": "s.me"})
        );
        assert_eq!(
            requests[10].json(),
            json!({"path": "sys/seal", "token": "s.other"})
        );
    }

    #[test]
    fn store_token_replaces_a_wider_file_with_a_0600_one() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join(".vault-token");
        std::fs::write(&file, "old\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        store_token(home.path(), "s.new").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "s.new");
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
