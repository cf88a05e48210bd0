//! `vault server` end to end: the real binary, plugins loaded from disk, 127.0.0.1 sockets.

use vault_tests::{agent, build, call, plugin_dir_copy, run_vault, Server};

fn file_config(data: &std::path::Path, extra_listener: &str) -> String {
    format!(
        "storage \"file\" {{\n  path = \"{}\"\n}}\n\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = 1\n{extra_listener}}}\n\ndisable_mlock = true\n",
        data.display()
    )
}

#[test]
fn dev_server_answers_health_with_vault_headers() {
    let server = Server::start(&["server", "-dev", "-dev-listen-address=127.0.0.1:0"])
        .expect("dev server starts");
    let reply = call(&agent(), "GET", &server.url("/v1/sys/health"), None);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("strict-transport-security").is_some());
    assert!(reply.body.ends_with('\n'), "JSON bodies end with a newline");
    let health = reply.json();
    assert_eq!(
        health["performance_standby"], false,
        "vaultrs needs performance_standby"
    );
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert!(health["server_time_utc"].as_u64().unwrap() > 1_700_000_000);
    // A dev server is initialised and unsealed.
    assert_eq!(reply.status, 200);
    assert_eq!(health["initialized"], true);
    assert_eq!(health["sealed"], false);
    assert!(health["cluster_name"]
        .as_str()
        .unwrap()
        .starts_with("vault-cluster-"));

    let banner = server.stdout.text();
    for expected in [
        "==> Vault server configuration:",
        "Backend: inmem",
        "Listener 1: tcp (addr: \"127.0.0.1:",
        "tls: \"disabled\")",
        "Log Level: info",
        "Mlock: supported: true, enabled: false",
        "Version: Vault v",
        "==> Vault server started! Log data will stream in below:",
        "Unseal Key: ",
        "Root Token: s.",
        "Development mode should NOT be used in production installations!",
    ] {
        assert!(
            banner.contains(expected),
            "banner lacks {expected:?}:\n{banner}"
        );
    }
    let status = server.stop();
    assert!(status.success(), "graceful stop exits 0, got {status}");
}

#[test]
fn file_backend_server_from_hcl_and_json_config() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::with_config(dir.path(), "example.hcl", &file_config(&data, ""), &[])
        .expect("starts");
    assert!(server.stdout.text().contains("Backend: file"));
    let reply = call(&agent(), "GET", &server.url("/v1/sys/health"), None);
    assert_eq!(reply.status, 501, "a new file backend is uninitialised");
    assert!(data.is_dir(), "the file backend creates its folder");
    assert!(server.stop().success());

    let json = format!(
        r#"{{"storage": {{"file": {{"path": "{}"}}}}, "listener": [{{"tcp": {{"address": "127.0.0.1:0", "tls_disable": true}}}}], "disable_mlock": true}}"#,
        data.display()
    );
    let server =
        Server::with_config(dir.path(), "example.json", &json, &[]).expect("JSON config starts");
    assert_eq!(
        call(&agent(), "GET", &server.url("/v1/sys/leader"), None).json()["ha_enabled"],
        false
    );
}

#[test]
fn mlock_is_on_unless_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let config = file_config(&dir.path().join("data"), "").replace("disable_mlock = true\n", "");
    // CI runs as root, where mlockall succeeds; elsewhere the server must explain itself.
    match Server::with_config(dir.path(), "mlock.hcl", &config, &[]) {
        Ok(server) => assert!(server
            .stdout
            .text()
            .contains("Mlock: supported: true, enabled: true")),
        Err(failure) => {
            assert!(
                failure
                    .stderr
                    .contains("Error initializing core: Failed to lock memory")
                    && failure.stderr.contains("disable_mlock"),
                "{failure:?}"
            );
        }
    }
}

#[test]
fn two_listeners_both_serve() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}listener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = \"true\"\n}}\n",
        file_config(&dir.path().join("data"), "")
    );
    let server = Server::with_config(dir.path(), "two.hcl", &config, &[]).expect("starts");
    let banner = server.stdout.text();
    let second = banner
        .lines()
        .find(|l| l.contains("Listener 2:"))
        .and_then(|l| l.split("addr: \"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("second listener in the banner")
        .to_string();
    assert_ne!(second, server.addr);
    for addr in [&server.addr, &second] {
        let reply = call(
            &agent(),
            "GET",
            &format!("http://{addr}/v1/sys/leader"),
            None,
        );
        assert_eq!(reply.status, 200);
    }
}

#[test]
fn http_transport_rules() {
    let dir = tempfile::tempdir().unwrap();
    let config = file_config(&dir.path().join("data"), "  max_request_size = 1024\n");
    let server = Server::with_config(dir.path(), "http.hcl", &config, &[]).expect("starts");
    let a = agent();

    let page = call(&a, "GET", &server.url("/ui/"), None);
    assert_eq!(page.status, 404);
    assert_eq!(
        page.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(page.body, "404 page not found\n");

    let sealed = call(&a, "GET", &server.url("/v1/secret/foo"), None);
    assert_eq!(sealed.status, 503);
    assert_eq!(sealed.body, "{\"errors\":[\"Vault is sealed\"]}\n");

    let redirect = call(&a, "GET", &server.url("/v1/secret/a//b?x=1"), None);
    assert_eq!(redirect.status, 307);
    assert_eq!(redirect.header("location"), Some("/v1/secret/a/b?x=1"));

    let control = call(&a, "GET", &server.url("/v1/secret/a%01b"), None);
    assert_eq!(control.status, 400);
    assert_eq!(control.body, "");

    let big = vec![b'x'; 2048];
    let too_large = call(&a, "PUT", &server.url("/v1/sys/unseal"), Some(&big));
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.body,
        "{\"errors\":[\"http: request body too large\"]}\n"
    );
    let at_limit = call(
        &a,
        "PUT",
        &server.url("/v1/secret/x"),
        Some(&vec![b' '; 1024]),
    );
    assert_eq!(
        at_limit.status, 503,
        "a body of exactly max_request_size is accepted"
    );

    let bad_override = call(
        &a,
        "GET",
        &server.url("/v1/sys/health?uninitcode=abc"),
        None,
    );
    assert_eq!(bad_override.status, 400);
    assert_eq!(bad_override.body, "{\"errors\":[]}\n");
    let out_of_range = call(
        &a,
        "GET",
        &server.url("/v1/sys/health?uninitcode=1000"),
        None,
    );
    assert_eq!(
        out_of_range.status, 400,
        "out-of-range codes are refused, not a dropped connection"
    );
    let custom = call(
        &a,
        "GET",
        &server.url("/v1/sys/health?uninitcode=299"),
        None,
    );
    assert_eq!(custom.status, 299);

    let head = call(&a, "HEAD", &server.url("/v1/sys/health"), None);
    assert_eq!(head.status, 501);
    assert_eq!(head.body, "");
    assert_eq!(head.header("content-type"), Some("application/json"));

    let wrong_method = call(&a, "DELETE", &server.url("/v1/sys/health"), None);
    assert_eq!(wrong_method.status, 405);

    // None of that hurt the server.
    assert_eq!(
        call(&a, "GET", &server.url("/v1/sys/leader"), None).status,
        200
    );
    assert!(server.stop().success());
}

#[test]
fn config_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let unknown_top = format!("{}storag = 1\n", file_config(&data, ""));
    let path = dir.path().join("top.hcl");
    std::fs::write(&path, unknown_top).unwrap();
    let (code, _, stderr) = run_vault(&["server", &format!("-config={}", path.display())]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("top.hcl:") && stderr.contains("storag"),
        "{stderr}"
    );

    // A key the tcp plugin does not know: the plugin rejects it, the host adds the place.
    let bad_listener = file_config(&data, "  adress = \"x\"\n");
    let path = dir.path().join("listener.hcl");
    std::fs::write(&path, bad_listener).unwrap();
    let (code, _, stderr) = run_vault(&["server", &format!("-config={}", path.display())]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("listener.hcl:8:3:"),
        "line of the bad key: {stderr}"
    );
    assert!(stderr.contains("unknown key \"adress\""), "{stderr}");

    let bad_storage = file_config(&data, "").replace("storage \"file\"", "storage \"flie\"");
    let path = dir.path().join("storage.hcl");
    std::fs::write(&path, bad_storage).unwrap();
    let (code, _, stderr) = run_vault(&["server", &format!("-config={}", path.display())]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no storage plugin named \"flie\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("file, inmem"),
        "lists the types found: {stderr}"
    );

    let syntax = dir.path().join("syntax.hcl");
    std::fs::write(&syntax, "storage \"file\" {\n  path == \"x\"\n}\n").unwrap();
    let (code, _, stderr) = run_vault(&["server", &format!("-config={}", syntax.display())]);
    assert_eq!(code, 1);
    assert!(stderr.contains("syntax.hcl:2:"), "{stderr}");

    let (code, _, stderr) = run_vault(&["server"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("-config"), "{stderr}");

    let (code, _, stderr) = run_vault(&["server", "-config=/nonexistent/vault.hcl"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/vault.hcl"), "{stderr}");
}

#[test]
fn plugin_list_shows_the_in_tree_plugins() {
    let dir = build().plugin_dir.to_str().unwrap().to_string();
    let (code, stdout, stderr) = run_vault(&["plugin", "list", &format!("-plugin-dir={dir}")]);
    assert_eq!(code, 0, "{stderr}");
    for (name, kind) in [
        ("file", "storage"),
        ("inmem", "storage"),
        ("tcp", "listener"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{stdout}"));
        assert!(line.contains(kind), "{line}");
        assert!(line.contains(env!("CARGO_PKG_VERSION")), "{line}");
        assert!(line.contains(&format!("libvault_{name}.so")), "{line}");
    }
}

#[test]
fn two_plugins_with_one_name_stop_the_server() {
    let plugins = plugin_dir_copy();
    std::fs::copy(
        plugins.path().join("libvault_inmem.so"),
        plugins.path().join("libinmem_copy.so"),
    )
    .unwrap();
    let dir_arg = format!("-plugin-dir={}", plugins.path().display());
    let (code, _, stderr) = run_vault(&[
        "server",
        "-dev",
        "-dev-listen-address=127.0.0.1:0",
        &dir_arg,
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("two storage plugins are named \"inmem\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("libinmem_copy.so") && stderr.contains("libvault_inmem.so"),
        "{stderr}"
    );
}
