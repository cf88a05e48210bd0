//! `kill -9` during concurrent writes never loses an acknowledged put and never leaves a
//! torn or empty value (file backend, loaded from disk through the server's loader).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vault_tests::{build, durable_value};

/// Reads back every key under `prefix` recursively.
fn walk(
    storage: &vault_plugin_api::host::StorageHandle,
    prefix: &str,
    out: &mut BTreeMap<String, Vec<u8>>,
) {
    for name in storage.list(prefix).expect("list") {
        let key = format!("{prefix}{name}");
        if key.ends_with('/') {
            walk(storage, &key, out);
        } else {
            let value = storage
                .get(&key)
                .expect("get")
                .expect("listed key has a value");
            out.insert(key, value);
        }
    }
}

/// The write number a stored value carries, if it is one the writer could have produced.
fn write_number(key: &str, value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?;
    let first = text.split(';').next()?;
    let (k, i) = first.rsplit_once('#')?;
    let i: u64 = i.parse().ok()?;
    (k == key && text == durable_value(key, i)).then_some(i)
}

#[test]
fn kill_9_during_concurrent_writes_keeps_every_acknowledged_put() {
    let b = build();
    let data = tempfile::tempdir().unwrap();
    let path_arg = format!("path={}", data.path().display());
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut total_acks = 0usize;

    for round in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_storage-writer"))
            .args([
                b.plugin_dir.to_str().unwrap(),
                "file",
                &path_arg,
                "--",
                "4",
                &round.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the writer");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        // Kill at a different moment each round, once writes are flowing.
        let deadline = Instant::now() + Duration::from_millis(600 + 450 * round);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            if let Ok(Some(status)) = child.try_wait() {
                panic!("writer exited early: {status}");
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        assert!(
            lines.len() > 20,
            "round {round}: only {} acks before the kill",
            lines.len()
        );
        total_acks += lines.len();
        for line in lines {
            let mut parts = line.split(' ');
            let (Some("ack"), Some(key), Some(i)) = (parts.next(), parts.next(), parts.next())
            else {
                continue; // a line cut by the kill was never fully acknowledged
            };
            let Ok(i) = i.parse::<u64>() else { continue };
            let entry = acked.entry(key.to_string()).or_insert(i);
            *entry = (*entry).max(i);
        }

        // Reopen, as a restarted server would, and check everything.
        let registry = vault_host::plugins::Registry::scan(&b.plugin_dir).unwrap();
        let storage = registry
            .storage("file")
            .unwrap()
            .module
            .open_storage([("path", data.path().to_str().unwrap())])
            .unwrap();
        let mut stored = BTreeMap::new();
        walk(&storage, "", &mut stored);
        for (key, value) in &stored {
            assert!(
                write_number(key, value).is_some(),
                "round {round}: {key} holds a torn or foreign value ({} bytes)",
                value.len()
            );
        }
        for (key, &i) in &acked {
            let value = stored
                .get(key)
                .unwrap_or_else(|| panic!("round {round}: acknowledged key {key} is missing"));
            let found = write_number(key, value).unwrap();
            assert!(
                found >= i,
                "round {round}: {key} went back from write {i} to {found}"
            );
        }
    }
    assert!(
        total_acks > 100,
        "too few writes to mean anything: {total_acks}"
    );
}

/// The same guarantee through the real server: writers PUT secrets over HTTP, the server
/// is killed with SIGKILL mid-run, and after a restart and unseal every write that was
/// answered 204 reads back with its value.
#[test]
fn kill_9_of_the_server_keeps_every_acknowledged_secret() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use vault_tests::api::Api;
    use vault_tests::Server;

    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "storage \"file\" {{\n  path = \"{}/data\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = 1\n}}\ndisable_mlock = true\n",
        dir.path().display()
    );
    let server = Server::with_config(dir.path(), "kill.hcl", &config, &[]).expect("starts");
    let (key, root) = Api::new(&server).init_and_unseal();
    let base = server.url("/v1/secret/");
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop, base, root) =
                (acked.clone(), stop.clone(), base.clone(), root.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                for i in 0..100_000u64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("w{w}/k{i}");
                    let value = durable_value(&key, i);
                    let body = serde_json::json!({ "value": value }).to_string();
                    match agent
                        .put(&format!("{base}{key}"))
                        .set("X-Vault-Token", &root)
                        .send_string(&body)
                    {
                        Ok(r) if r.status() == 204 => acked.lock().unwrap().push((key, value)),
                        _ => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "only {} writes acknowledged before the kill",
        acked.len()
    );

    let server = Server::with_config(dir.path(), "kill.hcl", &config, &[]).expect("restarts");
    let api = Api::new(&server);
    api.send(
        "PUT",
        "/v1/sys/unseal",
        None,
        Some(&serde_json::json!({ "key": key })),
    );
    for (k, value) in &acked {
        let read = api.send("GET", &format!("/v1/secret/{k}"), Some(&root), None);
        assert_eq!(
            read.status, 200,
            "acknowledged {k} is missing after kill -9"
        );
        assert_eq!(
            read.json()["data"]["value"].as_str(),
            Some(value.as_str()),
            "{k}"
        );
    }
}
