//! Harness for the end-to-end tests: builds the real `vault` binary and plugins, starts
//! servers on 127.0.0.1 with ephemeral ports, and talks to them over real sockets.
//!
//! Test index (one file per area, under `tests/tests/`):
//! - `server.rs`: `vault server` with `-dev` and with config files, the banner, config
//!   errors, HTTP transport rules, graceful shutdown, `vault plugin list`.
//! - `tls.rs`: TLS listeners with certificates made by the test, client certificates.
//! - `abi.rs`: plugins built against older, newer and changed copies of the ABI, files
//!   that are not plugins, panicking plugins, the conformance suite on loaded `.so` files.
//! - `durability.rs`: `kill -9` during concurrent writes to the file backend.
//! - `consul.rs`: the consul plugin against the Consul stand-in (`consul_standin`): the
//!   conformance suite, the deploy-guide walkthrough, failures, the HA lock.
//! - `seal.rs`: init, unseal, seal, rotate, rekey and restart over HTTP; what lands on disk.
//! - `secrets.rs`: mounts, KV v1 and v2, policies and tokens over HTTP, bad input.
//! - `clients.rs`: unmodified clients: hvac (Python, `tests/python`) and vaultrs (Rust).
//! - `cli.rs`, `cli_secrets.rs`: the `vault` CLI, from the deploy guide's walkthrough on.

pub mod api;
pub mod cli;
pub mod consul_standin;
pub mod fixtures;
pub mod pki;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a server may take to print its banner.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Paths of the built artefacts.
#[derive(Debug, Clone)]
pub struct Build {
    /// `target/<profile>/vault`.
    pub vault: PathBuf,
    /// `target/<profile>`, holding `libvault_inmem.so`, `libvault_file.so`, `libvault_tcp.so`.
    pub plugin_dir: PathBuf,
    /// The workspace root.
    pub root: PathBuf,
    /// The target folder.
    pub target: PathBuf,
    /// `debug` or `release`.
    pub profile: String,
}

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Builds the workspace's binary and plugins once per test process and returns their paths.
///
/// `cargo test` alone does not build the `vault` executable for another crate's tests, so
/// this runs `cargo build --workspace` in the same profile (a no-op when `.ci/run` already
/// built it).
pub fn build() -> &'static Build {
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        // target/<profile>/deps/<test-binary>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in target/<profile>/deps")
            .to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let target = profile_dir.parent().expect("target dir").to_path_buf();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--workspace", "--quiet"])
            .current_dir(workspace_root());
        cmd.env("CARGO_TARGET_DIR", &target);
        if profile == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --workspace failed");
        Build {
            vault: profile_dir.join("vault"),
            plugin_dir: profile_dir.clone(),
            root: workspace_root(),
            target,
            profile,
        }
    })
}

/// The in-tree plugin files.
pub fn plugin_files() -> Vec<PathBuf> {
    let dir = &build().plugin_dir;
    ["inmem", "file", "tcp"]
        .iter()
        .map(|p| dir.join(format!("libvault_{p}.so")))
        .collect()
}

/// A fresh folder holding copies of the in-tree plugins (for tests that add files to it).
pub fn plugin_dir_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in plugin_files() {
        let name = file.file_name().expect("file name");
        std::fs::copy(&file, dir.path().join(name)).expect("copy plugin");
    }
    dir
}

/// A HOME for every process the harness starts, so dev servers and the CLI never touch
/// the real `~/.vault-token`.
pub fn isolated_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("tempdir for HOME"))
        .path()
}

/// Output captured from a child process, line by line.
#[derive(Debug, Default, Clone)]
pub struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    fn spawn_reader(&self, stream: impl std::io::Read + Send + 'static) {
        let lines = self.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
    }

    /// Everything so far, joined with newlines.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }
}

/// A running `vault server`.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT` of the first listener.
    pub addr: String,
    /// Its stdout (banner).
    pub stdout: Captured,
    /// Its stderr (logs).
    pub stderr: Captured,
}

/// A server that failed to start: its exit status and output.
#[derive(Debug)]
pub struct StartFailure {
    /// The exit status, when it exited.
    pub status: Option<ExitStatus>,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Server {
    /// Starts `vault <args>` and waits for the banner.
    pub fn start(args: &[&str]) -> Result<Server, StartFailure> {
        let (mut child, stdout, stderr) = spawn_vault(args);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let text = stdout.text();
            if text.contains("==> Vault server started!") {
                let addr = listener_addr(&text).expect("banner names the listener address");
                return Ok(Server {
                    child,
                    addr,
                    stdout,
                    stderr,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100)); // let the readers drain
                return Err(StartFailure {
                    status: Some(status),
                    stdout: stdout.text(),
                    stderr: stderr.text(),
                });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(StartFailure {
                    status: None,
                    stdout: stdout.text(),
                    stderr: stderr.text(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts a server from config text written to a file named `file_name` in `dir`.
    pub fn with_config(
        dir: &Path,
        file_name: &str,
        config: &str,
        extra_args: &[&str],
    ) -> Result<Server, StartFailure> {
        let path = dir.join(file_name);
        std::fs::write(&path, config).expect("write config");
        let config_arg = format!("-config={}", path.display());
        let mut args = vec!["server", config_arg.as_str()];
        args.extend_from_slice(extra_args);
        Server::start(&args)
    }

    /// `http://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn stop(mut self) -> ExitStatus {
        signal(self.child.id(), libc::SIGTERM);
        wait_bounded(&mut self.child, Duration::from_secs(40))
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal to a process.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid we spawned.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Waits for a child up to `limit`, then kills it.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `vault <args>` with an isolated HOME and no stdin; its stdout and stderr are
/// read into the returned buffers as they come.
fn spawn_vault(args: &[&str]) -> (Child, Captured, Captured) {
    let mut child = Command::new(&build().vault)
        .args(args)
        .env("HOME", isolated_home())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vault");
    let stdout = Captured::default();
    let stderr = Captured::default();
    stdout.spawn_reader(child.stdout.take().expect("stdout"));
    stderr.spawn_reader(child.stderr.take().expect("stderr"));
    (child, stdout, stderr)
}

/// Runs `vault <args>` to completion (bounded) and returns (exit code, stdout, stderr).
pub fn run_vault(args: &[&str]) -> (i32, String, String) {
    let (mut child, stdout, stderr) = spawn_vault(args);
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(50));
    (status.code().unwrap_or(-1), stdout.text(), stderr.text())
}

fn listener_addr(banner: &str) -> Option<String> {
    let line = banner.lines().find(|l| l.contains("Listener 1:"))?;
    let start = line.find("addr: \"")? + "addr: \"".len();
    let rest = &line[start..];
    Some(rest[..rest.find('"')?].to_string())
}

/// A response, whatever its status.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// A plain-HTTP agent with bounded timeouts and no redirects followed.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .redirects(0)
        .build()
}

/// Sends a request and returns the reply for any status.
pub fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<&[u8]>) -> Reply {
    let req = agent.request(method, url);
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    Reply::from_result(method, url, result)
}

impl Reply {
    /// The reply for any status; panics only on a transport error.
    pub fn from_result(
        method: &str,
        url: &str,
        result: Result<ureq::Response, ureq::Error>,
    ) -> Reply {
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {url}: transport error: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = resp.header(&n).unwrap_or("").to_string();
                (n, v)
            })
            .collect();
        let body = resp.into_string().unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// The value the durability writer puts at `key` on its `i`-th write: it names its key and
/// write number and spans several filesystem blocks, so a torn write cannot look valid.
pub fn durable_value(key: &str, i: u64) -> String {
    let line = format!("{key}#{i};");
    line.repeat(8192 / line.len() + 1)
}
