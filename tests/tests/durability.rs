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
