//! The command line: `vault server`, `vault plugin list`, `vault version`, and the client
//! commands, which talk to a server through [`client`]: the seal lifecycle ([`operator`]:
//! `vault init`, `unseal`, `seal`, `status`, `rekey`, the first four also under
//! `vault operator`), `vault login` / `auth` and `vault token ...` ([`token`]),
//! `vault read|write|delete|list` ([`logical`]), `vault kv ...` ([`kv`]),
//! `vault secrets ...` ([`secrets`]) and `vault policy ...` ([`policy`]), plus the old
//! names `mount`, `unmount`, `mounts`, `mount-tune`, `policies`, `policy-write`,
//! `policy-delete`, `token-create`, `token-lookup`, `token-renew` and `token-revoke`.
//! Their shared plumbing is in [`command`], their text formats in [`output`].
//!
//! Vault's CLI uses Go's flag package, where `-config=x` and `--config=x` mean the same;
//! [`normalize_args`] rewrites single-dash long flags so clap accepts both.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::plugins::Registry;

/// The value of an `Ok`, or returns the exit code in the `Err` from the command function:
/// the `?` of functions that return an exit code.
macro_rules! try_code {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}

pub mod client;
pub mod command;
#[cfg(test)]
mod fake_server;
pub mod kv;
pub mod logical;
pub mod operator;
pub mod output;
pub mod policy;
pub mod secrets;
pub mod token;

use kv::KvCommand;
use logical::{DeleteArgs, ListArgs, ReadArgs, WriteArgs};
use operator::{InitArgs, RekeyArgs, SealArgs, StatusArgs, UnsealArgs};
use policy::{PoliciesArgs, PolicyCommand, PolicyNameArgs, PolicyWriteArgs};
use secrets::{DisableArgs, EnableArgs, SecretsCommand, SecretsListArgs, TuneArgs};
use token::{
    LoginArgs, TokenCommand, TokenCreateArgs, TokenLookupArgs, TokenRenewArgs, TokenRevokeArgs,
};

/// `vault`: a Vault-compatible secrets server.
#[derive(Debug, Parser)]
#[command(name = "vault", version = crate::VERSION, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a server (blocks until SIGINT or SIGTERM).
    Server(ServerArgs),
    /// Inspect the plugins the server would load.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Print the version.
    Version,
    /// Initialise a new server: make the unseal keys and the root token.
    Init(InitArgs),
    /// Give one unseal key; the server unseals once the threshold is reached.
    Unseal(UnsealArgs),
    /// Seal the server (needs a token).
    Seal(SealArgs),
    /// Show the seal status (exit 0 unsealed, 2 sealed, 1 on error).
    Status(StatusArgs),
    /// Replace the unseal keys with new ones (needs a token and a threshold of old keys).
    Rekey(RekeyArgs),
    /// Operator commands: init, unseal, seal, rekey.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Check a token and store it in ~/.vault-token (`vault auth` is the old name).
    #[command(visible_alias = "auth")]
    Login(LoginArgs),
    /// Read a path (GET).
    Read(ReadArgs),
    /// Write data to a path (PUT).
    Write(WriteArgs),
    /// Delete a path (DELETE).
    Delete(DeleteArgs),
    /// List the keys under a path.
    List(ListArgs),
    /// Key/value secrets (KV version 1 or 2).
    Kv {
        #[command(subcommand)]
        command: KvCommand,
    },
    /// Secrets engines: enable, disable, list, tune.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// ACL policies: write, read, list, delete.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Tokens: create, lookup, renew, revoke, capabilities.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Old name of `vault secrets enable`.
    #[command(hide = true)]
    Mount(EnableArgs),
    /// Old name of `vault secrets disable`.
    #[command(hide = true)]
    Unmount(DisableArgs),
    /// Old name of `vault secrets list`.
    #[command(hide = true)]
    Mounts(SecretsListArgs),
    /// Old name of `vault secrets tune`.
    #[command(name = "mount-tune", hide = true)]
    MountTune(TuneArgs),
    /// Old `vault policies [NAME]`: list the policies, or print one.
    #[command(hide = true)]
    Policies(PoliciesArgs),
    /// Old name of `vault policy write`.
    #[command(name = "policy-write", hide = true)]
    PolicyWrite(PolicyWriteArgs),
    /// Old name of `vault policy delete`.
    #[command(name = "policy-delete", hide = true)]
    PolicyDelete(PolicyNameArgs),
    /// Old name of `vault token create`.
    #[command(name = "token-create", hide = true)]
    TokenCreate(TokenCreateArgs),
    /// Old name of `vault token lookup`.
    #[command(name = "token-lookup", hide = true)]
    TokenLookup(TokenLookupArgs),
    /// Old name of `vault token renew`.
    #[command(name = "token-renew", hide = true)]
    TokenRenew(TokenRenewArgs),
    /// Old name of `vault token revoke`.
    #[command(name = "token-revoke", hide = true)]
    TokenRevoke(TokenRevokeArgs),
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Initialise a new server: make the unseal keys and the root token.
    Init(InitArgs),
    /// Give one unseal key; the server unseals once the threshold is reached.
    Unseal(UnsealArgs),
    /// Seal the server (needs a token).
    Seal(SealArgs),
    /// Replace the unseal keys with new ones (needs a token and a threshold of old keys).
    Rekey(RekeyArgs),
}

/// Flags of `vault server`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// A config file or folder; may be repeated (merged in order).
    #[arg(long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// Dev mode: in-memory storage, plain HTTP on 127.0.0.1:8200, no config file.
    #[arg(long = "dev")]
    pub dev: bool,
    /// The dev-mode listen address.
    #[arg(
        long = "dev-listen-address",
        value_name = "ADDR",
        default_value = "127.0.0.1:8200"
    )]
    pub dev_listen_address: String,
    /// The dev-mode root token's ID (default: $VAULT_DEV_ROOT_TOKEN_ID, else generated).
    #[arg(long = "dev-root-token-id", value_name = "ID")]
    pub dev_root_token_id: Option<String>,
    /// Where to load plugins from (overrides `plugin_dir`; default: the executable's folder).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// trace, debug, info, warn or error (overrides `log_level`).
    #[arg(long = "log-level", value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// standard or json (overrides `log_format`).
    #[arg(long = "log-format", value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// List the plugins found in the plugin folder, and the files skipped.
    List(PluginListArgs),
}

#[derive(Debug, Args)]
struct PluginListArgs {
    /// The plugin folder (default: `plugin_dir` from -config, else the executable's folder).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    /// A config file whose `plugin_dir` to use.
    #[arg(long = "config", value_name = "PATH")]
    config: Vec<PathBuf>,
}

/// Rewrites `-flag` and `-flag=value` to `--flag...` (Go flag style), leaving short flags
/// (`-h`), a lone `-` (stdin) and everything after `--` alone.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for arg in args {
        match arg.to_str() {
            Some("--") => {
                passthrough = true;
                out.push(arg);
            }
            Some(s)
                if !passthrough && s.len() > 2 && s.starts_with('-') && !s.starts_with("--") =>
            {
                let second = s.as_bytes()[1];
                if second.is_ascii_alphabetic() {
                    out.push(OsString::from(format!("-{s}")));
                } else {
                    out.push(arg);
                }
            }
            _ => out.push(arg),
        }
    }
    out
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse_from(normalize_args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    match cli.command {
        Command::Server(mut args) => {
            resolve_dev_root_token_id(&mut args, |name| std::env::var(name).ok());
            crate::server::main(args)
        }
        Command::Plugin {
            command: PluginCommand::List(args),
        } => plugin_list(args),
        Command::Version => {
            println!("Vault v{}", crate::VERSION);
            0
        }
        Command::Init(args)
        | Command::Operator {
            command: OperatorCommand::Init(args),
        } => operator::init(args),
        Command::Unseal(args)
        | Command::Operator {
            command: OperatorCommand::Unseal(args),
        } => operator::unseal(args),
        Command::Seal(args)
        | Command::Operator {
            command: OperatorCommand::Seal(args),
        } => operator::seal(args),
        Command::Status(args) => operator::status(args),
        Command::Rekey(args)
        | Command::Operator {
            command: OperatorCommand::Rekey(args),
        } => operator::rekey(args),
        Command::Login(args) => token::login(args),
        Command::Read(args) => logical::read(args),
        Command::Write(args) => logical::write(args),
        Command::Delete(args) => logical::delete(args),
        Command::List(args) => logical::list(args),
        Command::Kv { command } => kv::main(command),
        Command::Secrets { command } => secrets::main(command),
        Command::Policy { command } => policy::main(command),
        Command::Token { command } => token::main(command),
        Command::Mount(args) => secrets::enable(args),
        Command::Unmount(args) => secrets::disable(args),
        Command::Mounts(args) => secrets::list(args),
        Command::MountTune(args) => secrets::tune(args),
        Command::Policies(args) => policy::policies(args),
        Command::PolicyWrite(args) => policy::write(args),
        Command::PolicyDelete(args) => policy::delete(args),
        Command::TokenCreate(args) => token::main(TokenCommand::Create(args)),
        Command::TokenLookup(args) => token::main(TokenCommand::Lookup(args)),
        Command::TokenRenew(args) => token::main(TokenCommand::Renew(args)),
        Command::TokenRevoke(args) => token::main(TokenCommand::Revoke(args)),
    }
}

/// `-dev-root-token-id`, else a non-empty `VAULT_DEV_ROOT_TOKEN_ID` (or
/// `BAO_DEV_ROOT_TOKEN_ID`); an empty flag means none.
fn resolve_dev_root_token_id(args: &mut ServerArgs, env: impl Fn(&str) -> Option<String>) {
    let id = args.dev_root_token_id.take().or_else(|| {
        ["VAULT_DEV_ROOT_TOKEN_ID", "BAO_DEV_ROOT_TOKEN_ID"]
            .iter()
            .find_map(|name| env(name).filter(|v| !v.is_empty()))
    });
    args.dev_root_token_id = id.filter(|v| !v.is_empty());
}

fn plugin_list(args: PluginListArgs) -> i32 {
    let dir = match args.plugin_dir {
        Some(dir) => dir,
        None if !args.config.is_empty() => match crate::config::load(&args.config) {
            Ok(config) => config
                .plugin_dir
                .unwrap_or_else(crate::plugins::default_dir),
            Err(e) => {
                eprintln!("Error loading configuration: {e}");
                return 1;
            }
        },
        None => crate::plugins::default_dir(),
    };
    match Registry::scan(&dir) {
        Ok(registry) => {
            print!("{registry}");
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn go_style_flags_become_long_flags() {
        assert_eq!(
            norm(&[
                "vault",
                "server",
                "-config=a.hcl",
                "-dev",
                "--log-level=debug",
                "-h",
                "-",
                "--",
                "-x1"
            ]),
            [
                "vault",
                "server",
                "--config=a.hcl",
                "--dev",
                "--log-level=debug",
                "-h",
                "-",
                "--",
                "-x1"
            ]
        );
    }

    #[test]
    fn server_flags_parse() {
        let cli = Cli::try_parse_from(normalize_args(
            [
                "vault",
                "server",
                "-config=a.hcl",
                "-config",
                "b.hcl",
                "-plugin-dir=/p",
            ]
            .map(OsString::from),
        ))
        .unwrap();
        let Command::Server(args) = cli.command else {
            panic!("not server")
        };
        assert_eq!(
            args.config,
            [PathBuf::from("a.hcl"), PathBuf::from("b.hcl")]
        );
        assert_eq!(args.plugin_dir, Some(PathBuf::from("/p")));
        assert!(!args.dev);
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(normalize_args(args.iter().map(OsString::from)))
    }

    #[test]
    fn client_commands_parse_with_go_style_flags() {
        let cli = parse(&[
            "vault",
            "init",
            "-key-shares=3",
            "-key-threshold",
            "2",
            "-address=http://127.0.0.1:1",
            "-format=json",
        ])
        .unwrap();
        let Command::Init(args) = cli.command else {
            panic!("not init")
        };
        assert_eq!((args.key_shares, args.key_threshold), (3, 2));
        assert_eq!(args.client.address.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(args.format, operator::Format::Json);
        assert!(!args.status);

        let cli = parse(&["vault", "operator", "init", "-status"]).unwrap();
        let Command::Operator {
            command: OperatorCommand::Init(args),
        } = cli.command
        else {
            panic!("not operator init")
        };
        assert!(args.status);
        assert_eq!((args.key_shares, args.key_threshold), (5, 3));
        assert_eq!(args.format, operator::Format::Table);

        let cli = parse(&["vault", "unseal", "-"]).unwrap();
        let Command::Unseal(args) = cli.command else {
            panic!("not unseal")
        };
        assert_eq!(args.key.as_deref(), Some("-"));
        let cli = parse(&["vault", "operator", "unseal", "-reset"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Operator {
                command: OperatorCommand::Unseal(UnsealArgs {
                    reset: true,
                    key: None,
                    ..
                })
            }
        ));
        assert!(parse(&["vault", "unseal", "-reset", "abcd"]).is_err());
        assert!(parse(&["vault", "unseal", "-format=yaml"]).is_err());

        assert!(matches!(
            parse(&["vault", "seal"]).unwrap().command,
            Command::Seal(_)
        ));
        assert!(matches!(
            parse(&["vault", "operator", "seal", "-tls-skip-verify"])
                .unwrap()
                .command,
            Command::Operator {
                command: OperatorCommand::Seal(SealArgs {
                    client: client::ClientArgs {
                        tls_skip_verify: true,
                        ..
                    }
                })
            }
        ));
        assert!(matches!(
            parse(&["vault", "status", "-format=json"]).unwrap().command,
            Command::Status(StatusArgs {
                format: operator::Format::Json,
                ..
            })
        ));

        let cli = parse(&[
            "vault",
            "rekey",
            "-init",
            "-key-shares=3",
            "-key-threshold=2",
        ])
        .unwrap();
        let Command::Rekey(args) = cli.command else {
            panic!("not rekey")
        };
        assert!(args.init && !args.cancel && !args.status);
        assert_eq!((args.key_shares, args.key_threshold), (3, 2));
        let cli = parse(&["vault", "operator", "rekey", "-nonce=abc", "KEY"]).unwrap();
        let Command::Operator {
            command: OperatorCommand::Rekey(args),
        } = cli.command
        else {
            panic!("not operator rekey")
        };
        assert_eq!(args.nonce.as_deref(), Some("abc"));
        assert_eq!(args.key.as_deref(), Some("KEY"));
        assert!(parse(&["vault", "rekey", "-init", "-cancel"]).is_err());
        assert!(parse(&["vault", "rekey", "-status", "KEY"]).is_err());
    }

    #[test]
    fn secret_commands_parse_with_go_style_flags() {
        let cli = parse(&["vault", "auth", "s.root"]).unwrap();
        let Command::Login(args) = cli.command else {
            panic!("auth is login")
        };
        assert_eq!(args.args, ["s.root"]);
        let cli = parse(&["vault", "login", "-no-print", "-"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Login(LoginArgs { no_print: true, .. })
        ));

        let cli = parse(&["vault", "write", "secret/hello", "value=world", "-"]).unwrap();
        let Command::Write(args) = cli.command else {
            panic!("not write")
        };
        assert_eq!((args.path.as_str(), args.data.len()), ("secret/hello", 2));
        let cli = parse(&[
            "vault",
            "read",
            "-field=value",
            "-format=json",
            "secret/hello",
        ])
        .unwrap();
        let Command::Read(args) = cli.command else {
            panic!("not read")
        };
        assert_eq!(args.output.field.as_deref(), Some("value"));
        assert_eq!(args.output.format, Some(operator::Format::Json));
        assert!(matches!(
            parse(&["vault", "list", "secret/"]).unwrap().command,
            Command::List(_)
        ));
        assert!(matches!(
            parse(&["vault", "delete", "secret/hello"]).unwrap().command,
            Command::Delete(_)
        ));

        let cli = parse(&["vault", "kv", "put", "-cas=0", "kv2/app", "user=dave"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Kv {
                command: KvCommand::Put(kv::KvPutArgs { cas: 0, .. })
            }
        ));
        let cli = parse(&["vault", "kv", "metadata", "get", "-mount=kv2", "app"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Kv {
                command: KvCommand::Metadata {
                    command: kv::KvMetadataCommand::Get(_)
                }
            }
        ));
        for (args, ok) in [
            (&["vault", "kv", "get", "-version=1", "kv2/app"][..], true),
            (&["vault", "kv", "patch", "kv2/app", "a=b"][..], true),
            (&["vault", "kv", "list", "kv2/"][..], true),
            (
                &["vault", "kv", "delete", "-versions=1,2", "kv2/app"][..],
                true,
            ),
            (
                &["vault", "kv", "undelete", "-versions=1", "kv2/app"][..],
                true,
            ),
            (
                &["vault", "kv", "destroy", "-versions=1", "kv2/app"][..],
                true,
            ),
            (&["vault", "kv", "metadata", "delete", "kv2/app"][..], true),
            (&["vault", "kv", "get", "-version=x", "kv2/app"][..], false),
        ] {
            assert_eq!(parse(args).is_ok(), ok, "{args:?}");
        }

        let cli = parse(&[
            "vault",
            "secrets",
            "enable",
            "-path=kv2",
            "-version=2",
            "kv",
        ])
        .unwrap();
        let Command::Secrets {
            command: SecretsCommand::Enable(args),
        } = cli.command
        else {
            panic!("not secrets enable")
        };
        assert_eq!((args.path.as_deref(), args.version), (Some("kv2"), 2));
        assert_eq!(args.kind, "kv");
        assert!(matches!(
            parse(&["vault", "mount", "-path=x", "kv"]).unwrap().command,
            Command::Mount(_)
        ));
        assert!(matches!(
            parse(&["vault", "unmount", "x"]).unwrap().command,
            Command::Unmount(_)
        ));
        assert!(matches!(
            parse(&["vault", "mounts"]).unwrap().command,
            Command::Mounts(_)
        ));
        assert!(matches!(
            parse(&["vault", "secrets", "tune", "-max-lease-ttl=2h", "kv2"])
                .unwrap()
                .command,
            Command::Secrets {
                command: SecretsCommand::Tune(_)
            }
        ));

        assert!(matches!(
            parse(&["vault", "policy", "write", "ro", "-"])
                .unwrap()
                .command,
            Command::Policy {
                command: PolicyCommand::Write(_)
            }
        ));
        assert!(matches!(
            parse(&["vault", "policies"]).unwrap().command,
            Command::Policies(PoliciesArgs { name: None, .. })
        ));
        assert!(matches!(
            parse(&["vault", "policy-write", "ro", "ro.hcl"])
                .unwrap()
                .command,
            Command::PolicyWrite(_)
        ));

        let cli = parse(&[
            "vault",
            "token",
            "create",
            "-policy=ro",
            "-policy=rw",
            "-ttl=1h",
            "-metadata=team=a",
            "-renewable=false",
            "-format=json",
        ])
        .unwrap();
        let Command::Token {
            command: TokenCommand::Create(args),
        } = cli.command
        else {
            panic!("not token create")
        };
        assert_eq!(args.policy, ["ro", "rw"]);
        assert_eq!(args.ttl, Some(std::time::Duration::from_secs(3600)));
        assert!(!args.renewable);
        assert!(matches!(
            parse(&["vault", "token-create", "-orphan"])
                .unwrap()
                .command,
            Command::TokenCreate(TokenCreateArgs { orphan: true, .. })
        ));
        assert!(matches!(
            parse(&["vault", "token", "revoke", "-self"])
                .unwrap()
                .command,
            Command::Token {
                command: TokenCommand::Revoke(TokenRevokeArgs { self_: true, .. })
            }
        ));
        assert!(matches!(
            parse(&["vault", "token", "capabilities", "s.x", "secret/foo"])
                .unwrap()
                .command,
            Command::Token {
                command: TokenCommand::Capabilities(_)
            }
        ));
    }

    #[test]
    fn the_dev_root_token_id_comes_from_the_flag_or_the_environment() {
        let server = |args: &[&str]| {
            let mut all = vec!["vault", "server", "-dev"];
            all.extend_from_slice(args);
            let Command::Server(args) = parse(&all).unwrap().command else {
                panic!("not server")
            };
            args
        };
        let env = |name: &str| (name == "VAULT_DEV_ROOT_TOKEN_ID").then(|| "fromenv".to_string());
        let mut args = server(&["-dev-root-token-id=root"]);
        resolve_dev_root_token_id(&mut args, env);
        assert_eq!(args.dev_root_token_id.as_deref(), Some("root"));
        let mut args = server(&[]);
        resolve_dev_root_token_id(&mut args, env);
        assert_eq!(args.dev_root_token_id.as_deref(), Some("fromenv"));
        let mut args = server(&[]);
        resolve_dev_root_token_id(&mut args, |_| None);
        assert_eq!(args.dev_root_token_id, None);
        let mut args = server(&["-dev-root-token-id="]);
        resolve_dev_root_token_id(&mut args, |_| None);
        assert_eq!(args.dev_root_token_id, None);
    }
}
