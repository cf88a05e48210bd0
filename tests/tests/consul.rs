//! The `consul` storage plugin, tested against the Consul stand-in (a stand-in written for
//! these tests, not a real Consul: `vault_tests::consul_standin`), through the real loader
//! and the real `vault` binary: the conformance suite, the deploy guide's walkthrough, the
//! HA lock ability, failures (Consul stopped, slow, refusing the token, unreachable at
//! start) and config errors.
//!
//! With `VAULT_TEST_CONSUL_ADDR=host:port` (and, for an ACL-enabled agent,
//! `VAULT_TEST_CONSUL_TOKEN`) the same tests run against that real Consul agent instead,
//! each under its own KV prefix; the tests that need a stand-in knob (stopping it, slowing
//! it, expiring sessions) say so and skip themselves.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use vault_host::plugins::load_one;
use vault_plugin_api::host::StorageHandle;
use vault_plugin_api::{conformance, Error};
use vault_tests::consul_standin::ConsulStandIn;
use vault_tests::{agent, build, call, Reply, Server};

/// A generous upper bound for anything that should happen "soon"; never a timing claim.
const PATIENCE: Duration = Duration::from_secs(60);

/// Whether `VAULT_TEST_CONSUL_ADDR` points the tests at a real Consul.
fn real_consul() -> bool {
    std::env::var("VAULT_TEST_CONSUL_ADDR").is_ok_and(|a| !a.is_empty())
}

/// The Consul a test talks to: a fresh stand-in, or the real agent named by
/// `VAULT_TEST_CONSUL_ADDR`.
struct Consul {
    standin: Option<ConsulStandIn>,
    addr: String,
    token: Option<String>,
}

impl Consul {
    fn new() -> Consul {
        match std::env::var("VAULT_TEST_CONSUL_ADDR") {
            Ok(addr) if !addr.is_empty() => Consul {
                standin: None,
                addr,
                token: std::env::var("VAULT_TEST_CONSUL_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty()),
            },
            _ => Consul::standin(ConsulStandIn::start()),
        }
    }

    fn standin(standin: ConsulStandIn) -> Consul {
        Consul {
            addr: standin.addr(),
            standin: Some(standin),
            token: None,
        }
    }

    /// The stand-in, or `None` (and a note) when running against a real Consul.
    fn standin_only(test: &str) -> Option<Consul> {
        if real_consul() {
            eprintln!("{test}: skipped against a real Consul (needs a stand-in knob)");
            return None;
        }
        Some(Consul::new())
    }

    fn knobs(&self) -> &ConsulStandIn {
        self.standin.as_ref().expect("a stand-in")
    }

    /// A KV prefix of its own: `vault/` on a fresh stand-in (the deploy guide's), a unique
    /// one on a shared real Consul.
    fn path(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        if self.standin.is_some() {
            "vault/".to_string()
        } else {
            format!(
                "vault-test-{}-{}-{}/",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            )
        }
    }

    /// Opens the built plugin through the server's loader.
    fn open(&self, path: &str, extra: &[(&str, &str)]) -> Result<StorageHandle, Error> {
        let plugin = load_one(&build().plugin_dir.join("libvault_consul.so"))
            .unwrap_or_else(|e| panic!("load the consul plugin: {e}"));
        let mut config = vec![("address", self.addr.as_str()), ("path", path)];
        if let Some(token) = &self.token {
            config.push(("token", token));
        }
        config.extend_from_slice(extra);
        plugin.module.open_storage(config)
    }

    /// A request straight to Consul's HTTP API.
    fn http(&self, method: &str, path: &str, body: Option<&[u8]>) -> Reply {
        let agent = agent();
        let mut req = agent.request(method, &format!("http://{}{path}", self.addr));
        if let Some(token) = &self.token {
            req = req.set("X-Consul-Token", token);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path} to Consul: {e}"),
        };
        Reply {
            status: resp.status(),
            headers: Vec::new(),
            body: resp.into_string().unwrap_or_default(),
        }
    }

    /// The `consul` stanza of a server config.
    fn stanza(&self, path: &str, extra: &str) -> String {
        let token = self
            .token
            .as_ref()
            .map(|t| format!("  token = \"{t}\"\n"))
            .unwrap_or_default();
        format!(
            "backend \"consul\" {{\n  address = \"{}\"\n  path = \"{}\"\n{token}{extra}}}\n",
            self.addr,
            path.trim_end_matches('/')
        )
    }
}

fn server_config(stanza: &str) -> String {
    format!(
        "{stanza}listener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = 1\n}}\ndisable_mlock = true\n"
    )
}

fn start_server(dir: &std::path::Path, stanza: &str) -> Server {
    Server::with_config(dir, "consul.hcl", &server_config(stanza), &[])
        .unwrap_or_else(|f| panic!("server starts: {f:?}"))
}

fn send(server: &Server, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string().into_bytes());
    call(&agent(), method, &server.url(path), body.as_deref())
}

/// A request with `X-Vault-Token`.
fn send_as(server: &Server, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let agent = agent();
    let req = agent
        .request(method, &server.url(path))
        .set("X-Vault-Token", token);
    let result = match body {
        Some(b) => req.send_string(&b.to_string()),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    Reply {
        status: resp.status(),
        headers: Vec::new(),
        body: resp.into_string().unwrap_or_default(),
    }
}

fn error_text(reply: &Reply) -> String {
    reply.json()["errors"][0]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Init with 5 shares and threshold 3; returns the base64 keys and the root token.
fn init_with_root(server: &Server) -> (Vec<String>, String) {
    let reply = send(
        server,
        "PUT",
        "/v1/sys/init",
        Some(json!({"secret_shares": 5, "secret_threshold": 3})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let keys: Vec<String> = reply.json()["keys_base64"]
        .as_array()
        .expect("keys_base64")
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 5);
    let root = reply.json()["root_token"].as_str().unwrap().to_string();
    (keys, root)
}

fn init(server: &Server) -> Vec<String> {
    init_with_root(server).0
}

fn unseal(server: &Server, keys: &[String]) -> Value {
    let mut last = Value::Null;
    for key in &keys[..3] {
        let reply = send(server, "PUT", "/v1/sys/unseal", Some(json!({ "key": key })));
        assert_eq!(reply.status, 200, "{}", reply.body);
        last = reply.json();
    }
    last
}

// ---- the storage contract ----

#[test]
fn conformance_suite_on_the_loaded_plugin() {
    let consul = Consul::new();
    let plugin = load_one(&build().plugin_dir.join("libvault_consul.so")).unwrap();
    assert_eq!(plugin.info.name, "consul");
    assert_eq!(plugin.info.kind, "storage");
    assert!(plugin.info.blocking, "network calls block");
    let storage = consul.open(&consul.path(), &[]).unwrap();
    let txn = storage.transactions().unwrap().expect("transactions");
    assert_eq!(
        txn.max_operations(),
        63,
        "Consul's 64, one kept for the fence"
    );
    assert!(storage.ha_lock().unwrap().expect("HA lock").fences_writes());
    conformance::run(&storage);
}

#[test]
fn values_and_transactions_at_consuls_limits() {
    let consul = Consul::new();
    let path = consul.path();
    let storage = consul.open(&path, &[]).unwrap();
    let err = storage.put("big", &vec![7; 512 * 1024 + 1]).unwrap_err();
    assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    assert!(err.to_string().contains("value too large"), "{err}");
    assert_eq!(storage.get("big").unwrap(), None);
    // Under the value limit, but base64 in a transaction is over Consul's 512 KiB request
    // limit (`txn_max_req_len`): Consul's 413 is reported as too large, too.
    let err = storage.put("big", &vec![7; 450 * 1024]).unwrap_err();
    assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    assert!(err.to_string().contains("Request body too large"), "{err}");
    assert_eq!(storage.get("big").unwrap(), None);
    storage.put("big", &vec![7; 300 * 1024]).unwrap();

    let txn = storage.transactions().unwrap().unwrap();
    let ops: Vec<_> = (0..63)
        .map(|i| vault_plugin_api::TxnOp::Put {
            key: format!("many/{i:02}"),
            value: vec![i as u8],
        })
        .collect();
    txn.transact(ops).unwrap();
    assert_eq!(storage.list("many/").unwrap().len(), 63);
    let too_many: Vec<_> = (0..64)
        .map(|i| vault_plugin_api::TxnOp::Delete {
            key: format!("many/{i:02}"),
        })
        .collect();
    assert!(matches!(txn.transact(too_many), Err(Error::TooLarge(_))));
    assert_eq!(storage.list("many/").unwrap().len(), 63, "refused whole");

    // What lands in Consul is Vault's layout: the key under the prefix, the raw value.
    storage.put("core/example", b"\x00bytes\xff").unwrap();
    let raw = consul.http("GET", &format!("/v1/kv/{path}core/example"), None);
    assert_eq!(raw.status, 200);
    let entry = &raw.json()[0];
    assert_eq!(entry["Key"], format!("{path}core/example"));
    assert_eq!(entry["Value"], "AGJ5dGVz/w==");
}

// ---- the deploy guide ----

#[test]
fn deploy_guide_walkthrough_init_unseal_restart_unseal() {
    let consul = Consul::new();
    let path = consul.path();
    let dir = tempfile::tempdir().unwrap();
    let stanza = consul.stanza(&path, "");
    let server = start_server(dir.path(), &stanza);
    assert!(
        server.stdout.text().contains("Backend: consul"),
        "{}",
        server.stdout.text()
    );

    let status = send(&server, "GET", "/v1/sys/seal-status", None).json();
    assert_eq!(status["initialized"], false);
    assert_eq!(status["storage_type"], "consul");
    let (keys, root) = init_with_root(&server);
    let status = send(&server, "GET", "/v1/sys/seal-status", None).json();
    assert_eq!(status["initialized"], true);
    assert_eq!(status["sealed"], true);
    assert_eq!(status["t"], 3);
    assert_eq!(status["n"], 5);
    let unsealed = unseal(&server, &keys);
    assert_eq!(unsealed["sealed"], false, "{unsealed}");
    let status = send(&server, "GET", "/v1/sys/seal-status", None).json();
    assert_eq!(status["sealed"], false);
    assert_eq!(status["storage_type"], "consul");
    assert_eq!(send(&server, "GET", "/v1/sys/health", None).status, 200);
    // Write a secret (KV v1 at secret/): it goes through the barrier into Consul.
    let written = send_as(
        &server,
        &root,
        "PUT",
        "/v1/secret/hello",
        Some(json!({"value": "world"})),
    );
    assert_eq!(written.status, 204, "{}", written.body);
    let read = send_as(&server, &root, "GET", "/v1/secret/hello", None);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["data"]["value"], "world");
    assert!(server.stop().success());

    // Everything Vault keeps lives in Consul, under the prefix.
    let listing = consul.http("GET", &format!("/v1/kv/{path}core/?keys"), None);
    assert_eq!(listing.status, 200, "{}", listing.body);
    let core: Vec<String> = serde_json::from_str(&listing.body).unwrap();
    assert!(
        core.iter().any(|k| k == &format!("{path}core/seal-config")),
        "{core:?}"
    );
    assert!(core.len() >= 3, "seal config, keyring and more: {core:?}");

    // A new server on the same data: initialised, sealed, and the same keys unseal it.
    let server = start_server(dir.path(), &stanza);
    let status = send(&server, "GET", "/v1/sys/seal-status", None).json();
    assert_eq!(status["initialized"], true);
    assert_eq!(status["sealed"], true);
    let unsealed = unseal(&server, &keys);
    assert_eq!(unsealed["sealed"], false, "{unsealed}");
    // The secret survived the restart.
    let read = send_as(&server, &root, "GET", "/v1/secret/hello", None);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["data"]["value"], "world");
}

// ---- failures ----

#[test]
fn consul_stopped_mid_run_is_a_500_naming_consul_and_the_server_recovers() {
    let Some(consul) = Consul::standin_only("consul_stopped_mid_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(
        dir.path(),
        &consul.stanza("vault/", "  request_timeout = \"2s\"\n"),
    );
    let keys = init(&server);

    consul.knobs().stop();
    let named = format!("Consul at {}", consul.addr);
    for (method, path, body) in [
        ("GET", "/v1/sys/health", None),
        ("GET", "/v1/sys/seal-status", None),
        ("PUT", "/v1/sys/unseal", Some(json!({"key": keys[0]}))),
    ] {
        // `call` gives up after 10 s: an answer at all means no hang.
        let reply = send(&server, method, path, body);
        assert_eq!(reply.status, 500, "{path}: {}", reply.body);
        let text = error_text(&reply);
        eprintln!("{method} {path} with Consul stopped: 500 {text}");
        assert!(text.contains(&named), "{path}: {text}");
    }
    // The server itself is still up.
    assert_eq!(send(&server, "GET", "/v1/sys/leader", None).status, 200);

    consul.knobs().restart();
    let status = send(&server, "GET", "/v1/sys/seal-status", None);
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.json()["initialized"], true);
    assert_eq!(unseal(&server, &keys)["sealed"], false);
}

#[test]
fn slow_consul_answers_are_errors_within_the_timeout_not_hangs() {
    let Some(consul) = Consul::standin_only("slow_consul_answers") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(
        dir.path(),
        &consul.stanza("vault/", "  request_timeout = \"1s\"\n"),
    );
    assert_eq!(
        send(&server, "GET", "/v1/sys/seal-status", None).status,
        200
    );

    // Slower than the timeout, well within the test client's own 10 s.
    consul.knobs().set_delay(Duration::from_secs(4));
    let reply = send(&server, "GET", "/v1/sys/seal-status", None);
    assert_eq!(reply.status, 500, "{}", reply.body);
    let text = error_text(&reply);
    assert!(
        text.contains(&format!(
            "Consul at {} did not answer within 1s",
            consul.addr
        )),
        "{text}"
    );

    consul.knobs().set_delay(Duration::ZERO);
    assert_eq!(
        send(&server, "GET", "/v1/sys/seal-status", None).status,
        200
    );
}

#[test]
fn a_rejected_token_is_a_clear_error() {
    if real_consul() {
        eprintln!("a_rejected_token: uses its own stand-in with a token, even with a real Consul");
    }
    let consul = Consul::standin(ConsulStandIn::builder().token("right-token").start());
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(
        dir.path(),
        &consul.stanza("vault/", "  token = \"wrong-token\"\n"),
    );
    let reply = send(&server, "GET", "/v1/sys/seal-status", None);
    assert_eq!(reply.status, 500, "{}", reply.body);
    let text = error_text(&reply);
    assert!(
        text.contains(&format!("Consul at {}", consul.addr))
            && text.contains("403 Permission denied")
            && text.contains("token"),
        "{text}"
    );
    drop(server);

    let storage = consul.open("vault/", &[("token", "right-token")]).unwrap();
    storage.put("k", b"v").unwrap();
    assert_eq!(storage.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    let without = consul.open("vault/", &[]).unwrap();
    let err = without.get("k").unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

#[test]
fn consul_unreachable_at_start_still_starts_sealed_and_recovers() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let address = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let stanza = format!(
        "backend \"consul\" {{\n  address = \"{address}\"\n  path = \"vault\"\n  request_timeout = \"2s\"\n}}\n"
    );
    let server = start_server(dir.path(), &stanza);
    let reply = send(&server, "GET", "/v1/sys/seal-status", None);
    assert_eq!(reply.status, 500, "{}", reply.body);
    let text = error_text(&reply);
    assert!(
        text.contains(&format!("Consul at {address} is unreachable")),
        "{text}"
    );

    // Consul comes up: the same server answers, uninitialised and sealed.
    let standin = ConsulStandIn::builder().port(port).start();
    let status = send(&server, "GET", "/v1/sys/seal-status", None);
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.json()["initialized"], false);
    assert_eq!(status.json()["sealed"], true);
    drop(standin);
}

// ---- the HA lock ability ----

fn session_of(consul: &Consul, key: &str) -> Option<String> {
    let reply = consul.http("GET", &format!("/v1/kv/{key}"), None);
    if reply.status == 404 {
        return None;
    }
    reply.json()[0]["Session"].as_str().map(str::to_string)
}

#[test]
fn the_lock_is_exclusive_and_a_waiter_gets_it_when_released() {
    let consul = Consul::new();
    let path = consul.path();
    let a = consul.open(&path, &[]).unwrap();
    let b = consul.open(&path, &[]).unwrap();
    let (locks_a, locks_b) = (a.ha_lock().unwrap().unwrap(), b.ha_lock().unwrap().unwrap());

    let held = locks_a
        .lock("core/lock", b"node-a", PATIENCE)
        .unwrap()
        .expect("a free lock is acquired");
    assert_eq!(
        locks_b.holder("core/lock").unwrap().as_deref(),
        Some(&b"node-a"[..])
    );
    let session = session_of(&consul, &format!("{path}core/lock")).expect("held by a session");
    let info = consul.http("GET", &format!("/v1/session/info/{session}"), None);
    assert_eq!(info.json()[0]["Name"], "Vault Lock");
    assert_eq!(info.json()[0]["TTL"], "15s");

    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let locks_b = &locks_b;
        scope.spawn(move || {
            let got = locks_b.lock("core/lock", b"node-b", PATIENCE);
            tx.send(got).unwrap();
        });
        // The waiter cannot get the lock while `held` has it, however long it waits.
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            rx.try_recv().is_err(),
            "the second lock() must block while the first holds it"
        );
        assert!(!held.is_lost());
        // Writes through the holder's backend are fenced by its session, and go through.
        a.put("core/fenced", b"by a").unwrap();
        held.unlock().unwrap();
        let second = rx
            .recv_timeout(PATIENCE)
            .expect("the waiter returns once the lock is released")
            .unwrap()
            .expect("and holds it");
        assert!(held.is_lost());
        assert_eq!(
            locks_a.holder("core/lock").unwrap().as_deref(),
            Some(&b"node-b"[..])
        );
        b.put("core/fenced", b"by b").unwrap();
        a.put("core/unfenced", b"a no longer fences").unwrap();
        second.unlock().unwrap();
    });
    assert_eq!(locks_a.holder("core/lock").unwrap(), None);
}

#[test]
fn a_destroyed_session_is_a_lost_lock_and_later_writes_fail() {
    let consul = Consul::new();
    let path = consul.path();
    let storage = consul.open(&path, &[]).unwrap();
    let locks = storage.ha_lock().unwrap().unwrap();
    let held = locks
        .lock("core/lock", b"node-a", PATIENCE)
        .unwrap()
        .unwrap();
    storage.put("core/x", b"1").unwrap();
    let session = session_of(&consul, &format!("{path}core/lock")).unwrap();
    let destroyed = consul.http("PUT", &format!("/v1/session/destroy/{session}"), Some(b""));
    assert_eq!(destroyed.status, 200, "{}", destroyed.body);

    assert!(held.wait_lost(PATIENCE), "the loss is signalled");
    assert!(held.is_lost());
    let err = storage.put("core/x", b"2").unwrap_err();
    assert!(err.to_string().contains("no longer held"), "{err}");
    assert!(storage.delete("core/x").is_err());
    assert_eq!(storage.get("core/x").unwrap().as_deref(), Some(&b"1"[..]));
    // Once the lost lock is let go, the backend writes unfenced again.
    drop(held);
    storage.put("core/x", b"3").unwrap();
}

#[test]
fn consul_itself_refuses_a_fenced_write_before_the_loss_is_noticed() {
    let Some(consul) = Consul::standin_only("consul_itself_refuses_a_fenced_write") else {
        return;
    };
    let storage = consul.open("vault/", &[("lock_wait_time", "30s")]).unwrap();
    let locks = storage.ha_lock().unwrap().unwrap();
    let held = locks
        .lock("core/lock", b"node-a", PATIENCE)
        .unwrap()
        .unwrap();
    // Keep the plugin's watcher from seeing the change, then take the lock away.
    consul.knobs().set_freeze_blocking(true);
    let session = consul.knobs().session_of("vault/core/lock").unwrap();
    assert_eq!(
        consul
            .http("PUT", &format!("/v1/session/destroy/{session}"), Some(b""))
            .status,
        200
    );
    let err = storage.put("core/x", b"stale leader").unwrap_err();
    assert!(
        err.to_string().contains("no longer held")
            && err.to_string().contains("failed session check"),
        "the check-session operation failed the transaction: {err}"
    );
    assert!(held.is_lost(), "a refused fence is a lost lock");
    assert_eq!(consul.knobs().value("vault/core/x"), None);
    consul.knobs().set_freeze_blocking(false);
}

#[test]
fn an_expired_session_is_a_lost_lock() {
    if Consul::standin_only("an_expired_session_is_a_lost_lock").is_none() {
        return;
    }
    // Consul's minimum TTL is 10 s; the stand-in is told to take 1 s.
    let consul = Consul::standin(
        ConsulStandIn::builder()
            .min_session_ttl(Duration::from_secs(1))
            .start(),
    );
    let storage = consul.open("vault/", &[("session_ttl", "1s")]).unwrap();
    let locks = storage.ha_lock().unwrap().unwrap();
    let held = locks
        .lock("core/lock", b"node-a", PATIENCE)
        .unwrap()
        .unwrap();
    // Renewals keep it: wait a few TTLs (an upper bound, not a timing claim).
    assert!(!held.wait_lost(Duration::from_millis(2500)), "renewed");
    consul.knobs().set_ignore_renewals(true);
    assert!(
        held.wait_lost(PATIENCE),
        "an expired session is a lost lock"
    );
    assert_eq!(
        locks.holder("core/lock").unwrap(),
        None,
        "expiry released it"
    );
    assert!(storage.put("core/x", b"after expiry").is_err());
}

#[test]
fn the_lock_key_and_session_follow_the_options() {
    let Some(consul) = Consul::standin_only("the_lock_key_and_session_follow_the_options") else {
        return;
    };
    let storage = consul
        .open("/ha/cluster", &[("session_ttl", "20s")])
        .unwrap();
    let locks = storage.ha_lock().unwrap().unwrap();
    let held = locks
        .lock("core/lock", b"https://10.0.0.1:8200", PATIENCE)
        .unwrap()
        .unwrap();
    assert_eq!(
        consul.knobs().value("ha/cluster/core/lock").as_deref(),
        Some(&b"https://10.0.0.1:8200"[..]),
        "the leading / dropped, a trailing one added"
    );
    let session = consul.knobs().session_of("ha/cluster/core/lock").unwrap();
    let info = consul.http("GET", &format!("/v1/session/info/{session}"), None);
    assert_eq!(info.json()[0]["TTL"], "20s");
    assert!(locks
        .lock("core/lock", b"other", Duration::from_millis(200))
        .unwrap()
        .is_none());
    held.unlock().unwrap();
    let gone = consul.http("GET", &format!("/v1/session/info/{session}"), None);
    assert_eq!(gone.json(), json!([]), "unlock destroys the session");
}

// ---- TLS ----

/// A TLS front for the stand-in (which speaks plain HTTP): terminates TLS with rustls and
/// forwards each request, so the plugin's https client is tested for real.
mod tls_front {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

    /// Writes ca.pem, client.pem and client-key.pem into `dir`; returns the server's TLS
    /// configuration (its certificate is for 127.0.0.1, signed by the CA).
    pub fn pki(
        dir: &Path,
        require_client_cert: bool,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ServerConfig> {
        let made = vault_tests::pki::make(dir);

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = RootCertStore::empty();
            roots
                .add(CertificateDer::from(made.ca_der.clone()))
                .unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.server_key_der));
        let chain: Vec<CertificateDer<'static>> = vec![CertificateDer::from(made.server_cert_der)];
        Arc::new(builder.with_single_cert(chain, key).unwrap())
    }

    /// Listens on 127.0.0.1 and forwards to `backend`; returns `127.0.0.1:PORT`.
    pub fn start(config: Arc<ServerConfig>, backend: String) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (config, backend) = (config.clone(), backend.clone());
                std::thread::spawn(move || {
                    let _ = forward(config, conn, &backend);
                });
            }
        });
        addr
    }

    fn forward(config: Arc<ServerConfig>, conn: TcpStream, backend: &str) -> std::io::Result<()> {
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        let tls = ServerConnection::new(config).map_err(std::io::Error::other)?;
        let mut stream = StreamOwned::new(tls, conn);
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte)? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        stream.read_exact(&mut body)?;
        let mut plain = TcpStream::connect(backend)?;
        plain.set_read_timeout(Some(Duration::from_secs(30)))?;
        plain.write_all(&head)?;
        plain.write_all(&body)?;
        let mut answer = Vec::new();
        plain.read_to_end(&mut answer)?;
        stream.write_all(&answer)?;
        stream.conn.send_close_notify();
        stream.flush()
    }
}

#[test]
fn https_with_a_ca_file_a_client_certificate_and_tls_versions() {
    let Some(consul) = Consul::standin_only("https_with_a_ca_file") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let all = [&rustls::version::TLS13, &rustls::version::TLS12];
    let front = tls_front::start(tls_front::pki(dir.path(), true, &all), consul.addr.clone());
    let https = Consul {
        standin: None,
        addr: format!("https://{front}"),
        token: None,
    };
    let ca = format!("{d}/ca.pem");
    let cert = format!("{d}/client.pem");
    let key = format!("{d}/client-key.pem");
    let with_cert = [
        ("tls_ca_file", ca.as_str()),
        ("tls_cert_file", cert.as_str()),
        ("tls_key_file", key.as_str()),
    ];
    let storage = https.open("vault/", &with_cert).unwrap();
    storage.put("over/tls", b"encrypted").unwrap();
    assert_eq!(
        storage.get("over/tls").unwrap().as_deref(),
        Some(&b"encrypted"[..])
    );
    assert_eq!(
        consul.knobs().value("vault/over/tls").as_deref(),
        Some(&b"encrypted"[..])
    );

    // No client certificate: the handshake fails, and says it is Consul at that address.
    let err = https
        .open("vault/", &[("tls_ca_file", ca.as_str())])
        .unwrap()
        .get("over/tls")
        .unwrap_err();
    eprintln!("without a client certificate: {err}");
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(
        err.to_string().contains(&format!("Consul at {front}")),
        "{err}"
    );
    // The CA not trusted (the built-in roots do not know it): refused.
    let err = https
        .open("vault/", &with_cert[1..])
        .unwrap()
        .get("over/tls")
        .unwrap_err();
    eprintln!("with an unknown CA: {err}");
    assert!(err.to_string().contains("Consul at"), "{err}");
    // tls_skip_verify trusts any server certificate.
    let skip = [
        ("tls_skip_verify", "true"),
        ("tls_cert_file", cert.as_str()),
        ("tls_key_file", key.as_str()),
    ];
    let storage = https.open("vault/", &skip).unwrap();
    assert_eq!(
        storage.get("over/tls").unwrap().as_deref(),
        Some(&b"encrypted"[..])
    );

    // A TLS 1.2-only Consul: fine by default, refused with tls_min_version = "tls13".
    let dir12 = tempfile::tempdir().unwrap();
    let front12 = tls_front::start(
        tls_front::pki(dir12.path(), false, &[&rustls::version::TLS12]),
        consul.addr.clone(),
    );
    let ca12 = format!("{}/ca.pem", dir12.path().display());
    let https12 = Consul {
        standin: None,
        addr: front12.clone(),
        token: None,
    };
    let tls12 = https12
        .open("vault/", &[("scheme", "https"), ("tls_ca_file", &ca12)])
        .unwrap();
    assert!(tls12.get("over/tls").unwrap().is_some());
    let tls13 = https12
        .open(
            "vault/",
            &[
                ("scheme", "https"),
                ("tls_ca_file", &ca12),
                ("tls_min_version", "tls13"),
            ],
        )
        .unwrap();
    let err = tls13.get("over/tls").unwrap_err();
    eprintln!("tls13 against a TLS 1.2 server: {err}");
    assert!(
        err.to_string().contains(&format!("Consul at {front12}")),
        "{err}"
    );
}

// ---- config errors ----

#[test]
fn config_errors_name_the_key_and_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, key, says) in [
        ("  adress = \"x\"\n", "adress", "unknown key \"adress\""),
        (
            "  consistency_mode = \"eventual\"\n",
            "consistency_mode",
            "\"default\" or \"strong\"",
        ),
        ("  scheme = \"ftp\"\n", "scheme", "\"http\" or \"https\""),
        (
            "  max_parallel = \"none\"\n",
            "max_parallel",
            "positive whole number",
        ),
        (
            "  tls_ca_file = \"/x.pem\"\n",
            "tls_ca_file",
            "TLS options need scheme",
        ),
    ] {
        let config = server_config(&format!(
            "backend \"consul\" {{\n  address = \"127.0.0.1:1\"\n{extra}}}\n"
        ));
        let err = match Server::with_config(dir.path(), "bad.hcl", &config, &[]) {
            Ok(_) => panic!("{key}: the server must refuse the config"),
            Err(failure) => failure,
        };
        assert_eq!(err.status.and_then(|s| s.code()), Some(1), "{key}: {err:?}");
        let text = format!("{}{}", err.stdout, err.stderr);
        assert!(text.contains("bad.hcl:3:"), "{key}: the key's line: {text}");
        assert!(text.contains(key), "{key}: {text}");
        assert!(text.contains(says), "{key}: {text}");
    }
}
