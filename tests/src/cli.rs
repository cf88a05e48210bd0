//! Running the `vault` CLI as a user would: a private `HOME`, no inherited
//! `VAULT_*`/`BAO_*` variables, optional stdin, and a bounded wait.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{build, wait_bounded, Server};

/// How long one `vault` client run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Variables a developer's shell may have set that would change what the CLI does.
const CLIENT_VARS: [&str; 12] = [
    "VAULT_ADDR",
    "BAO_ADDR",
    "VAULT_TOKEN",
    "BAO_TOKEN",
    "VAULT_CACERT",
    "BAO_CACERT",
    "VAULT_SKIP_VERIFY",
    "BAO_SKIP_VERIFY",
    "VAULT_FORMAT",
    "BAO_FORMAT",
    "VAULT_CAPATH",
    "BAO_CAPATH",
];

/// The result of one `vault` run.
#[derive(Debug)]
pub struct Out {
    /// Exit code (-1 when killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `vault <args>` with exactly `env` set on top of a cleaned environment, `HOME`
/// pointing at `home`, and `stdin` piped in (or /dev/null).
pub fn vault_with(env: &[(&str, &str)], home: &Path, stdin: Option<&str>, args: &[&str]) -> Out {
    let mut cmd = Command::new(&build().vault);
    cmd.args(args)
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    for var in CLIENT_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn vault");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(&mut child, RUN_TIMEOUT);
    Out {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// A CLI user of one server: its address and a private HOME.
pub struct User {
    /// `http://ADDR` of the server.
    pub url: String,
    /// The user's `HOME`.
    pub home: tempfile::TempDir,
}

impl User {
    /// A user of `server` with a fresh HOME.
    pub fn new(server: &Server) -> User {
        User {
            url: format!("http://{}", server.addr),
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// `vault <args>` with `VAULT_ADDR` set, and `VAULT_TOKEN` when `token` is given.
    pub fn run(&self, token: Option<&str>, stdin: Option<&str>, args: &[&str]) -> Out {
        let mut env = vec![("VAULT_ADDR", self.url.as_str())];
        if let Some(token) = token {
            env.push(("VAULT_TOKEN", token));
        }
        vault_with(&env, self.home.path(), stdin, args)
    }

    /// `vault <args>` with the token of `~/.vault-token` (if any).
    pub fn vault(&self, args: &[&str]) -> Out {
        self.run(None, None, args)
    }

    /// `vault <args>` that must succeed.
    pub fn ok(&self, token: Option<&str>, args: &[&str]) -> Out {
        let out = self.run(token, None, args);
        assert_eq!(out.code, 0, "vault {args:?}: {out:?}");
        out
    }
}
