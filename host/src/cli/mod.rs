//! The command line: `vault server`, `vault plugin list`, `vault version`, and the client
//! commands of the seal lifecycle ([`operator`]: `vault init`, `unseal`, `seal`, `status`,
//! `rekey`, the first four also under `vault operator`), which talk to a server through
//! [`client`].
//!
//! Vault's CLI uses Go's flag package, where `-config=x` and `--config=x` mean the same;
//! [`normalize_args`] rewrites single-dash long flags so clap accepts both.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::plugins::Registry;

pub mod client;
#[cfg(test)]
mod fake_server;
pub mod operator;

use operator::{InitArgs, RekeyArgs, SealArgs, StatusArgs, UnsealArgs};

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
        Command::Server(args) => crate::server::main(args),
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
    }
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
}
