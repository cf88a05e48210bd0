//! The client commands end to end: the deploy guide's walkthrough (`vault init`, `unseal`,
//! `seal`, `status`, a restart, `rekey`) through the real binary against a real server on
//! `storage "file"`, plus address, token-file and TLS handling.
//!
//! Every `vault` run gets a temporary `HOME` (so `~/.vault-token` is the test's own), no
//! inherited `VAULT_*`/`BAO_*` variables, and a bounded wait.

use std::collections::BTreeMap;
use std::path::Path;

use vault_tests::Server;

use vault_tests::cli::{vault_with, Out, User};

fn file_config(data: &Path) -> String {
    format!(
        "storage \"file\" {{\n  path = \"{}\"\n}}\n\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = 1\n}}\n\ndisable_mlock = true\n",
        data.display()
    )
}

fn start_file_server(dir: &Path, data: &Path) -> Server {
    Server::with_config(dir, "config.hcl", &file_config(data), &[])
        .unwrap_or_else(|f| panic!("server starts: {f:?}"))
}

/// The deploy guide's `vault init` text for these keys and token.
fn guide_init_text(keys: &[String], token: &str, shares: usize, threshold: usize) -> String {
    let mut text = String::new();
    for (i, key) in keys.iter().enumerate() {
        text.push_str(&format!("Key {}: {key}\n", i + 1));
    }
    text.push_str(&format!(
        "Initial Root Token: {token}\n\
         \n\
         Vault initialized with {shares} keys and a key threshold of {threshold}!\n\
         \n\
         Please securely distribute the above keys. Whenever a Vault server\n\
         is started, it must be unsealed with {threshold} (the threshold)\n\
         of the keys above (any of the keys, as long as the total number equals\n\
         the threshold).\n\
         \n\
         Vault does not store the original master key. If you lose the keys\n\
         above such that you no longer have the minimum number (the\n\
         threshold), then your Vault will not be able to be unsealed.\n"
    ));
    text
}

/// The `Key N: <hex>` lines, in order.
fn keys_of(stdout: &str) -> Vec<String> {
    let keys: Vec<String> = stdout
        .lines()
        .enumerate()
        .map_while(|(i, line)| {
            line.strip_prefix(&format!("Key {}: ", i + 1))
                .map(str::to_string)
        })
        .collect();
    for key in &keys {
        assert!(
            !key.is_empty() && key.bytes().all(|b| b.is_ascii_hexdigit()),
            "key is not hex: {key:?}"
        );
        hex_decode(key);
    }
    keys
}

fn unseal_text(sealed: bool, shares: u32, threshold: u32, progress: u32) -> String {
    format!(
        "Sealed: {sealed}\nKey Shares: {shares}\nKey Threshold: {threshold}\nUnseal Progress: {progress}\n"
    )
}

/// The rows of a `Key  Value` table.
fn rows(stdout: &str) -> BTreeMap<String, String> {
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("Key ") && header.ends_with(" Value"),
        "not a table: {stdout}"
    );
    assert!(lines.next().unwrap_or_default().starts_with("--- "));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once("  ").unwrap_or_else(|| panic!("row: {l:?}"));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

fn assert_api_error(out: &Out, doing: &str, method: &str, url: &str, code: u16) {
    assert_eq!(out.code, 2, "{out:?}");
    let expected = format!(
        "{doing}: Error making API request.\n\nURL: {method} {url}\nCode: {code}. Errors:\n\n"
    );
    assert!(out.stderr.starts_with(&expected), "{out:?}");
}

/// A share with its first data byte changed: well formed, but wrong.
fn tampered(key: &str) -> String {
    let mut bytes = hex_decode(key);
    bytes[0] ^= 0x5a;
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Vec<u8> {
    assert_eq!(text.len() % 2, 0, "odd hex: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Standard base64 with padding (the test crate has no base64 dependency).
fn b64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[test]
fn deploy_guide_walkthrough_init_unseal_seal_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = start_file_server(dir.path(), data.path());
    let user = User::new(&server);

    // Before init: sealed and not initialised.
    let out = user.vault(&["status"]);
    assert_eq!(out.code, 2, "{out:?}");
    let status = rows(&out.stdout);
    assert_eq!(status["Initialized"], "false");
    assert_eq!(status["Sealed"], "true");
    let out = user.vault(&["init", "-status"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (2, "Vault is not initialized\n")
    );

    // $ vault init
    let out = user.vault(&["init"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    let keys = keys_of(&out.stdout);
    assert_eq!(keys.len(), 5, "{}", out.stdout);
    let token_line = out
        .stdout
        .lines()
        .nth(5)
        .and_then(|l| l.strip_prefix("Initial Root Token: "))
        .unwrap_or_else(|| panic!("no root token line: {}", out.stdout));
    let root = token_line.to_string();
    assert!(!root.is_empty() && !root.contains(' '));
    assert_eq!(out.stdout, guide_init_text(&keys, &root, 5, 3));
    let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
    assert_eq!(distinct.len(), 5, "the shares differ");

    let out = user.vault(&["operator", "init", "-status"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Vault is initialized\n")
    );
    let out = user.vault(&["status"]);
    assert_eq!(out.code, 2, "initialised but sealed: {out:?}");
    let status = rows(&out.stdout);
    assert_eq!(status["Initialized"], "true");
    assert_eq!(status["Sealed"], "true");
    assert_eq!(status["Total Shares"], "5");
    assert_eq!(status["Threshold"], "3");
    assert_eq!(status["Unseal Progress"], "0/3");

    // $ vault unseal, three different keys, out of order; a repeated key does not count.
    let out = user.vault(&["unseal", &keys[0]]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, unseal_text(true, 5, 3, 1));
    let out = user.vault(&["unseal", &keys[0]]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, unseal_text(true, 5, 3, 1), "the same key again");
    let status = rows(&user.vault(&["status"]).stdout);
    assert_eq!(status["Unseal Progress"], "1/3");
    assert!(!status["Unseal Nonce"].is_empty());
    let out = user.vault(&["operator", "unseal", &keys[4]]);
    assert_eq!(out.stdout, unseal_text(true, 5, 3, 2), "{out:?}");
    let out = user.vault(&["unseal", &keys[2]]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, unseal_text(false, 5, 3, 0));

    let out = user.vault(&["status"]);
    assert_eq!(out.code, 0, "{out:?}");
    let status = rows(&out.stdout);
    assert_eq!(status["Sealed"], "false");
    assert!(!status.contains_key("Unseal Progress"));
    assert_eq!(status["HA Enabled"], "false");
    let out = user.vault(&["status", "-format=json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["sealed"], false);
    assert_eq!(json["initialized"], true);
    assert_eq!((json["t"].as_u64(), json["n"].as_u64()), (Some(3), Some(5)));

    // $ vault seal: refused without a token, done with the root token.
    let out = user.vault(&["seal"]);
    assert_api_error(
        &out,
        "Error sealing",
        "PUT",
        &format!("{}/v1/sys/seal", user.url),
        403,
    );
    assert_eq!(user.vault(&["status"]).code, 0, "still unsealed");
    let out = user.run(Some(&root), None, &["seal"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Vault is sealed.\n"),
        "{out:?}"
    );
    assert!(!out.stderr.contains(&root));
    let out = user.vault(&["status"]);
    assert_eq!(out.code, 2);
    assert_eq!(rows(&out.stdout)["Sealed"], "true");

    // Unseal with keys piped through stdin (no KEY argument), and `-`.
    let out = user.run(None, Some(&format!("{}\n", keys[1])), &["unseal"]);
    assert_eq!(out.stdout, unseal_text(true, 5, 3, 1), "{out:?}");
    let out = user.run(None, Some(&format!("{}\n", keys[3])), &["unseal", "-"]);
    assert_eq!(out.stdout, unseal_text(true, 5, 3, 2), "{out:?}");
    let out = user.run(None, Some(&keys[0]), &["operator", "unseal"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, unseal_text(false, 5, 3, 0));
    assert!(
        !out.stdout.contains("will be hidden"),
        "no prompt without a terminal"
    );

    // Restart on the same data folder: initialised, sealed.
    let status = server.stop();
    assert!(status.success(), "clean shutdown: {status:?}");
    let server = start_file_server(dir.path(), data.path());
    let user = User::new(&server);
    let out = user.vault(&["status"]);
    assert_eq!(out.code, 2, "{out:?}");
    let status = rows(&out.stdout);
    assert_eq!(status["Initialized"], "true");
    assert_eq!(status["Sealed"], "true");
    assert_eq!(status["Unseal Progress"], "0/3");

    // Garbage and wrong keys: 400, exit 2, never echoed.
    let unseal_url = format!("{}/v1/sys/unseal", user.url);
    let out = user.vault(&["unseal", "zzzz-not-a-key"]);
    assert_api_error(&out, "Error unsealing", "PUT", &unseal_url, 400);
    assert!(!out.stderr.contains("zzzz"), "{out:?}");
    let wrong = tampered(&keys[4]);
    assert_eq!(
        user.vault(&["unseal", &keys[1]]).stdout,
        unseal_text(true, 5, 3, 1)
    );
    assert_eq!(
        user.vault(&["unseal", &keys[2]]).stdout,
        unseal_text(true, 5, 3, 2)
    );
    let out = user.vault(&["unseal", &wrong]);
    assert_api_error(&out, "Error unsealing", "PUT", &unseal_url, 400);
    assert!(!out.stderr.contains(&wrong) && !out.stdout.contains(&wrong));
    let status = rows(&user.vault(&["status"]).stdout);
    assert_eq!(status["Sealed"], "true");
    assert_eq!(
        status["Unseal Progress"], "0/3",
        "a failed attempt starts over"
    );

    // -reset discards the keys given so far.
    assert_eq!(
        user.vault(&["unseal", &keys[3]]).stdout,
        unseal_text(true, 5, 3, 1)
    );
    let out = user.vault(&["unseal", "-reset"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, unseal_text(true, 5, 3, 0));

    for (i, key) in [&keys[3], &keys[0], &keys[4]].into_iter().enumerate() {
        let out = user.vault(&["unseal", key]);
        assert_eq!(out.code, 0, "{out:?}");
        let sealed = i < 2;
        let progress = if sealed { i as u32 + 1 } else { 0 };
        assert_eq!(out.stdout, unseal_text(sealed, 5, 3, progress));
    }
    assert_eq!(user.vault(&["status"]).code, 0);

    // A second init is refused.
    let out = user.vault(&["init"]);
    assert_api_error(
        &out,
        "Error initializing",
        "PUT",
        &format!("{}/v1/sys/init", user.url),
        400,
    );
    assert!(
        out.stderr.contains("* Vault is already initialized"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn rekey_replaces_the_unseal_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = start_file_server(dir.path(), data.path());
    let user = User::new(&server);

    // init -format=json: OpenBao's shape.
    let out = user.vault(&[
        "operator",
        "init",
        "-key-shares=5",
        "-key-threshold=3",
        "-format=json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let init: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let fields: Vec<&str> = init
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "recovery_keys_b64",
        "recovery_keys_hex",
        "recovery_keys_shares",
        "recovery_keys_threshold",
        "root_token",
        "unseal_keys_b64",
        "unseal_keys_hex",
        "unseal_shares",
        "unseal_threshold",
    ];
    expected.sort();
    assert_eq!(fields, expected);
    assert!(out.stdout.starts_with("{\n  \"unseal_keys_b64\": ["));
    assert_eq!(init["unseal_shares"], 5);
    assert_eq!(init["unseal_threshold"], 3);
    assert_eq!(init["recovery_keys_b64"], serde_json::Value::Null);
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    let old_hex = strings(&init["unseal_keys_hex"]);
    let old_b64 = strings(&init["unseal_keys_b64"]);
    assert_eq!((old_hex.len(), old_b64.len()), (5, 5));
    for (h, b) in old_hex.iter().zip(&old_b64) {
        let from_b64 = b64_decode(b);
        assert_eq!(hex_decode(h), from_b64, "same share, two encodings");
    }
    let root = init["root_token"].as_str().unwrap().to_string();

    // Unseal (a base64 key works as well as hex).
    user.vault(&["unseal", &old_hex[0]]);
    user.vault(&["unseal", &old_b64[1]]);
    let out = user.vault(&["unseal", &old_hex[2]]);
    assert_eq!(out.stdout, unseal_text(false, 5, 3, 0), "{out:?}");

    // Without a token the rotation endpoints refuse.
    let init_url = format!("{}/v1/sys/rotate/root/init", user.url);
    let out = user.vault(&["rekey", "-status"]);
    assert_api_error(&out, "Error reading rekey status", "GET", &init_url, 403);

    // With the token in ~/.vault-token.
    std::fs::write(user.home.path().join(".vault-token"), &root).unwrap();
    let out = user.vault(&["rekey", "-status"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Started: false\n"), "{out:?}");

    // Start, cancel, start again.
    let start = [
        "operator",
        "rekey",
        "-init",
        "-key-shares=3",
        "-key-threshold=2",
    ];
    let out = user.vault(&start);
    assert_eq!(out.code, 0, "{out:?}");
    for line in [
        "Started: true",
        "Key Shares: 3",
        "Key Threshold: 2",
        "Rekey Progress: 0",
    ] {
        assert!(out.stdout.contains(&format!("{line}\n")), "{line}: {out:?}");
    }
    let out = user.vault(&["rekey", "-cancel"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Rekey canceled.\n"),
        "{out:?}"
    );
    assert!(user
        .vault(&["rekey", "-status"])
        .stdout
        .contains("Started: false\n"));
    let out = user.vault(&start);
    assert_eq!(out.code, 0, "{out:?}");
    let nonce = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Nonce: "))
        .unwrap_or_else(|| panic!("no nonce: {out:?}"))
        .to_string();

    // Feed three current keys: from the argument (nonce read from the status), again the
    // same (refused), with -nonce, and from stdin.
    let out = user.vault(&["rekey", &old_hex[4]]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Rekey Progress: 1\n"), "{out:?}");
    let out = user.vault(&["rekey", &old_hex[4]]);
    assert_api_error(
        &out,
        "Error rekeying",
        "PUT",
        &format!("{}/v1/sys/rotate/root/update", user.url),
        400,
    );
    assert!(!out.stderr.contains(&old_hex[4]));
    let out = user.vault(&["rekey", &format!("-nonce={nonce}"), &old_hex[1]]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Rekey Progress: 2\n"), "{out:?}");
    let out = user.run(
        None,
        Some(&format!("{}\n", old_hex[3])),
        &["operator", "rekey"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let new_keys = keys_of(&out.stdout);
    assert_eq!(new_keys.len(), 3, "{}", out.stdout);
    assert!(new_keys.iter().all(|k| !old_hex.contains(k)));
    assert!(
        out.stdout.contains("The old unseal keys no longer work."),
        "{out:?}"
    );
    assert!(out.stdout.contains("key threshold of 2"), "{out:?}");

    let out = user.vault(&["status"]);
    assert_eq!(out.code, 0, "still unsealed: {out:?}");
    let status = rows(&out.stdout);
    assert_eq!(
        (
            status["Total Shares"].as_str(),
            status["Threshold"].as_str()
        ),
        ("3", "2")
    );

    // Seal (token from the file); the old keys no longer unseal, the new ones do.
    let out = user.vault(&["seal"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Vault is sealed.\n"),
        "{out:?}"
    );
    let out = user.vault(&["unseal", &old_hex[0]]);
    assert_eq!(out.stdout, unseal_text(true, 3, 2, 1), "{out:?}");
    let out = user.vault(&["unseal", &old_hex[1]]);
    assert_api_error(
        &out,
        "Error unsealing",
        "PUT",
        &format!("{}/v1/sys/unseal", user.url),
        400,
    );
    assert_eq!(user.vault(&["status"]).code, 2);
    let out = user.vault(&["unseal", &new_keys[2]]);
    assert_eq!(out.stdout, unseal_text(true, 3, 2, 1), "{out:?}");
    let out = user.vault(&["unseal", &new_keys[0]]);
    assert_eq!(out.stdout, unseal_text(false, 3, 2, 0), "{out:?}");
    assert_eq!(user.vault(&["status"]).code, 0);
}

#[test]
fn status_without_a_server_exits_1_and_names_the_address() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let home = tempfile::tempdir().unwrap();
    let addr = format!("http://127.0.0.1:{port}");
    let out = vault_with(&[("VAULT_ADDR", &addr)], home.path(), None, &["status"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "Error checking seal status: GET {addr}/v1/sys/seal-status: "
        )),
        "{out:?}"
    );
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out:?}");

    // BAO_ADDR wins over VAULT_ADDR; -address over both.
    let out = vault_with(
        &[("VAULT_ADDR", "http://127.0.0.1:9"), ("BAO_ADDR", &addr)],
        home.path(),
        None,
        &["status"],
    );
    assert!(out.stderr.contains(&addr), "{out:?}");
    let out = vault_with(
        &[("VAULT_ADDR", "http://127.0.0.1:9")],
        home.path(),
        None,
        &["status", &format!("-address={addr}")],
    );
    assert!(out.stderr.contains(&addr), "{out:?}");

    // Unseal: a connection error is exit 1 too, and the key is not in the message.
    let out = vault_with(
        &[("VAULT_ADDR", &addr)],
        home.path(),
        None,
        &["unseal", "abcdef0123456789abcdef0123456789"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("Error unsealing: PUT "), "{out:?}");
    assert!(!out.stderr.contains("abcdef0123456789"));
}

/// Writes ca.pem, server.pem, server-key.pem into `dir`.
fn make_pki(dir: &Path) {
    vault_tests::pki::make(dir);
}

#[test]
fn https_addresses_honour_cacert_and_skip_verify() {
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let config = format!(
        "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_cert_file = \"{0}/server.pem\"\n  tls_key_file = \"{0}/server-key.pem\"\n}}\ndisable_mlock = true\n",
        dir.path().display()
    );
    let server = Server::with_config(dir.path(), "tls.hcl", &config, &[])
        .unwrap_or_else(|f| panic!("TLS server starts: {f:?}"));
    let home = tempfile::tempdir().unwrap();
    let addr = format!("https://{}", server.addr);
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();

    // The test CA is not a public root: refused, exit 1.
    let out = vault_with(&[("VAULT_ADDR", &addr)], home.path(), None, &["status"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains(&addr), "{out:?}");
    assert!(
        out.stderr.to_lowercase().contains("certificate") || out.stderr.contains("UnknownIssuer"),
        "{out:?}"
    );

    let reached = |out: &Out| {
        assert_eq!(out.code, 2, "uninitialised: {out:?}");
        assert_eq!(rows(&out.stdout)["Initialized"], "false");
    };
    reached(&vault_with(
        &[("VAULT_ADDR", &addr), ("VAULT_CACERT", ca)],
        home.path(),
        None,
        &["status"],
    ));
    reached(&vault_with(
        &[("BAO_ADDR", &addr), ("BAO_CACERT", ca)],
        home.path(),
        None,
        &["status"],
    ));
    reached(&vault_with(
        &[("VAULT_ADDR", &addr)],
        home.path(),
        None,
        &["status", &format!("-ca-cert={ca}")],
    ));
    reached(&vault_with(
        &[("VAULT_ADDR", &addr), ("VAULT_SKIP_VERIFY", "true")],
        home.path(),
        None,
        &["status"],
    ));
    reached(&vault_with(
        &[("VAULT_ADDR", &addr)],
        home.path(),
        None,
        &["status", "-tls-skip-verify"],
    ));
    let out = vault_with(
        &[("VAULT_ADDR", &addr), ("VAULT_SKIP_VERIFY", "maybe")],
        home.path(),
        None,
        &["status"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("VAULT_SKIP_VERIFY"), "{out:?}");
}
