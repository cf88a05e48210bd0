//! A load generator for the durability test: loads a storage plugin from disk through the
//! server's own loader, then writes from several threads until it is killed, printing
//! `ack KEY` after each put returns Ok (and only then).
//!
//! Usage: `storage-writer PLUGIN_DIR TYPE KEY=VALUE... -- THREADS ROUND`

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sep = args
        .iter()
        .position(|a| a == "--")
        .expect("usage: DIR TYPE K=V... -- THREADS ROUND");
    let dir = PathBuf::from(&args[0]);
    let kind = &args[1];
    let pairs: Vec<(String, String)> = args[2..sep]
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect();
    let threads: usize = args[sep + 1].parse().expect("THREADS");
    let round: &str = &args[sep + 2];

    let registry = vault_host::plugins::Registry::scan(&dir).expect("scan plugins");
    let plugin = registry.storage(kind).expect("storage plugin");
    let storage = plugin
        .module
        .open_storage(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .expect("open storage");
    let stdout = Mutex::new(std::io::stdout());
    std::thread::scope(|scope| {
        for t in 0..threads {
            let storage = &storage;
            let stdout = &stdout;
            scope.spawn(move || {
                for i in 0u64.. {
                    // Several keys are rewritten over and over (a torn overwrite would show),
                    // the rest are new.
                    let key = if i % 4 == 0 {
                        format!("hot{round}/{t}")
                    } else {
                        format!("r{round}/t{t}/k{i}")
                    };
                    let value = vault_tests::durable_value(&key, i);
                    storage.put(&key, value.as_bytes()).expect("put");
                    let mut out = stdout.lock().unwrap_or_else(|p| p.into_inner());
                    writeln!(out, "ack {key} {i}").expect("stdout");
                    out.flush().expect("flush");
                }
            });
        }
    });
}
