//! The plugin boundary: compatibility across ABI versions, files that are not plugins,
//! panics inside plugins, and the conformance suite on the real `.so` files.

use vault_host::plugins::{load_one, Registry};
use vault_plugin_api::{conformance, Error};
use vault_tests::fixtures::fixtures;
use vault_tests::{agent, build, call, plugin_dir_copy, plugin_files, run_vault, Server};

#[test]
fn conformance_suite_on_the_loaded_storage_plugins() {
    for name in ["inmem", "file"] {
        let file = build().plugin_dir.join(format!("libvault_{name}.so"));
        let plugin = load_one(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let data = tempfile::tempdir().unwrap();
        let path = data.path().to_str().unwrap();
        let config: Vec<(&str, &str)> = if name == "file" {
            vec![("path", path)]
        } else {
            vec![]
        };
        let storage = plugin.module.open_storage(config).unwrap();
        conformance::run(&storage);
    }
}

#[test]
fn inmem_has_transactions_and_file_does_not() {
    let inmem = load_one(&build().plugin_dir.join("libvault_inmem.so")).unwrap();
    assert!(inmem
        .module
        .open_storage([])
        .unwrap()
        .transactions()
        .unwrap()
        .is_some());
    let file = load_one(&build().plugin_dir.join("libvault_file.so")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let storage = file
        .module
        .open_storage([("path", data.path().to_str().unwrap())])
        .unwrap();
    assert!(storage.transactions().unwrap().is_none());
}

#[test]
fn plugin_built_against_abi_1_0_loads_without_the_newer_abilities() {
    let legacy = load_one(&fixtures().legacy).expect("a 1.0 plugin loads into a 1.2 host");
    assert_eq!(legacy.info.name, "fixture-legacy");
    let storage = legacy.module.open_storage([]).unwrap();
    assert!(
        storage.transactions().unwrap().is_none(),
        "an ability added in 1.1 is absent, not an error"
    );
    assert!(
        storage.ha_lock().unwrap().is_none(),
        "an ability added in 1.2 is absent, not an error"
    );
    conformance::run(&storage);
}

#[test]
fn plugin_built_against_abi_1_1_has_transactions_but_no_ha_lock() {
    let v1_1 = load_one(&fixtures().v1_1).expect("a 1.1 plugin loads into a 1.2 host");
    assert_eq!(v1_1.info.name, "fixture-v1_1");
    let storage = v1_1.module.open_storage([]).unwrap();
    let txn = storage
        .transactions()
        .unwrap()
        .expect("the 1.1 ability is there, its layout checked across two builds");
    assert_eq!(txn.max_operations(), 16);
    assert!(
        storage.ha_lock().unwrap().is_none(),
        "an ability added in 1.2 is absent, not an error"
    );
    conformance::run(&storage);
}

#[test]
fn plugin_built_against_abi_1_2_has_the_ha_lock() {
    let current = load_one(&fixtures().current).unwrap();
    let storage = current.module.open_storage([]).unwrap();
    assert!(storage.transactions().unwrap().is_some());
    let locks = storage
        .ha_lock()
        .unwrap()
        .expect("the 1.2 ability is there, its layout checked across two builds");
    let timeout = std::time::Duration::from_secs(30);
    let held = locks
        .lock("core/lock", b"node-a", timeout)
        .unwrap()
        .expect("acquired");
    assert_eq!(
        locks.holder("core/lock").unwrap().as_deref(),
        Some(&b"node-a"[..])
    );
    // A second holder blocks until the first unlocks, on another thread.
    let waiter = std::thread::scope(|scope| {
        let second = scope.spawn(|| locks.lock("core/lock", b"node-b", timeout));
        std::thread::sleep(std::time::Duration::from_millis(50));
        held.unlock().unwrap();
        second.join().unwrap()
    });
    let second = waiter.unwrap().expect("acquired once the first unlocked");
    assert!(held.is_lost() && held.wait_lost(std::time::Duration::ZERO));
    assert!(!second.is_lost());
    drop(locks); // a held lock outlives the ability object it came from
    assert_eq!(
        storage
            .ha_lock()
            .unwrap()
            .unwrap()
            .holder("core/lock")
            .unwrap()
            .as_deref(),
        Some(&b"node-b"[..])
    );
    drop(second);
    assert_eq!(
        storage
            .ha_lock()
            .unwrap()
            .unwrap()
            .holder("core/lock")
            .unwrap(),
        None
    );
    conformance::run(&current.module.open_storage([]).unwrap());
}

#[test]
fn plugin_built_against_a_newer_minor_is_refused_in_one_line() {
    let err = load_one(&fixtures().future).unwrap_err();
    assert!(
        err.contains("plugin-api 1.3") && err.contains("upgrade the server"),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

#[test]
fn plugin_built_against_another_major_is_refused_in_one_line() {
    let err = load_one(&fixtures().major).unwrap_err();
    assert!(err.contains("ABI major mismatch"), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn plugin_with_a_changed_frozen_layout_is_refused_in_one_line() {
    let err = load_one(&fixtures().changed).unwrap_err();
    assert!(err.contains("layout does not match"), "{err}");
    assert!(
        !err.contains('\n'),
        "one line, not abi_stable's report: {err}"
    );
    assert!(err.len() < 400, "{err}");
}

#[test]
fn a_panicking_plugin_method_returns_an_error_and_the_backend_keeps_working() {
    let plugin = load_one(&fixtures().current).unwrap();
    let storage = plugin.module.open_storage([]).unwrap();
    storage.put("ok", b"still here").unwrap();
    match storage.get("panic") {
        Err(Error::Panic(message)) => assert!(message.contains("deliberate panic"), "{message}"),
        other => panic!("expected a contained panic, got {other:?}"),
    }
    assert_eq!(
        storage.get("ok").unwrap().as_deref(),
        Some(&b"still here"[..])
    );
}

#[test]
fn files_that_are_not_plugins_are_skipped_and_the_rest_still_load() {
    let dir = plugin_dir_copy();
    std::fs::write(
        dir.path().join("notes.so"),
        "this is a text file, not a library\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.so"), "").unwrap();
    // A real shared library that is not a plugin: one of the fixtures' dependencies would
    // do, but the C library is always there.
    let libc_path = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/x86_64-linux-gnu/libm.so.6",
    ]
    .iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("a system shared library to copy");
    std::fs::copy(libc_path, dir.path().join("libsystem.so")).unwrap();
    std::fs::copy(&fixtures().changed, dir.path().join("libchanged.so")).unwrap();
    std::fs::copy(&fixtures().future, dir.path().join("libfuture.so")).unwrap();
    std::fs::copy(&fixtures().legacy, dir.path().join("liblegacy.so")).unwrap();

    let registry = Registry::scan(dir.path()).unwrap();
    let mut names: Vec<&str> = registry
        .plugins
        .iter()
        .map(|p| p.info.name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["file", "fixture-legacy", "inmem", "tcp"]);
    let reason = |file: &str| {
        registry
            .skipped
            .iter()
            .find(|s| s.path.ends_with(file))
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{file} not reported as skipped"))
    };
    assert!(
        reason("notes.so").starts_with("cannot load:"),
        "{}",
        reason("notes.so")
    );
    assert!(
        reason("empty.so").starts_with("cannot load:"),
        "{}",
        reason("empty.so")
    );
    assert!(
        reason("libsystem.so").starts_with("not a plugin"),
        "{}",
        reason("libsystem.so")
    );
    assert!(reason("libchanged.so").contains("layout does not match"));
    assert!(reason("libfuture.so").contains("upgrade the server"));
    for s in &registry.skipped {
        assert!(
            !s.reason.contains('\n'),
            "{}: {}",
            s.path.display(),
            s.reason
        );
    }

    // The CLI shows the same, and a server still starts from that folder.
    let dir_arg = format!("-plugin-dir={}", dir.path().display());
    let (code, stdout, _) = run_vault(&["plugin", "list", &dir_arg]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Skipped files:") && stdout.contains("notes.so: cannot load"),
        "{stdout}"
    );
    assert!(stdout.contains("fixture-legacy"), "{stdout}");
    let server = Server::start(&[
        "server",
        "-dev",
        "-dev-listen-address=127.0.0.1:0",
        &dir_arg,
    ])
    .expect("starts");
    assert!(server
        .stderr
        .text()
        .contains("skipping file in plugin directory"));
    assert_eq!(
        call(&agent(), "GET", &server.url("/v1/sys/leader"), None).status,
        200
    );
}

#[test]
fn a_server_runs_on_a_storage_plugin_built_against_abi_1_0() {
    let dir = plugin_dir_copy();
    std::fs::copy(&fixtures().legacy, dir.path().join("liblegacy.so")).unwrap();
    let config = format!(
        "storage \"fixture-legacy\" {{}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = 1\n}}\ndisable_mlock = true\nplugin_dir = \"{}\"\n",
        dir.path().display()
    );
    let server = Server::with_config(dir.path(), "legacy.hcl", &config, &[]).expect("starts");
    let reply = call(&agent(), "GET", &server.url("/v1/sys/health"), None);
    assert_eq!(
        reply.status, 501,
        "health reads storage through the 1.0 plugin"
    );
}

#[test]
fn the_in_tree_plugins_are_what_the_default_folder_holds() {
    for file in plugin_files() {
        assert!(file.exists(), "{}", file.display());
    }
}
