//! The seal lifecycle over HTTP, as Vault clients drive it: init, seal-status, unseal,
//! seal, rotate, key-status, rekey, restart; and what lands on disk.

use base64::Engine as _;
use serde_json::{json, Value};
use vault_tests::{agent, call, Reply, Server};

/// A file-backed server and a client for it.
struct Api {
    server: Server,
}

impl Api {
    fn start(data: &std::path::Path, config_dir: &std::path::Path) -> Api {
        let config = format!(
            "storage \"file\" {{\n  path = \"{}\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = 1\n}}\ndisable_mlock = true\n",
            data.display()
        );
        let server =
            Server::with_config(config_dir, "seal.hcl", &config, &[]).expect("server starts");
        Api { server }
    }

    fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        vault_tests::api::Api::new(&self.server).send(method, path, token, body.as_ref())
    }

    fn unseal(&self, key: &str) -> Reply {
        self.send("PUT", "/v1/sys/unseal", None, Some(json!({ "key": key })))
    }
}

fn error_text(reply: &Reply) -> String {
    reply.json()["errors"][0]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn init_unseal_seal_rotate_rekey_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let api = Api::start(&data, dir.path());

    // Uninitialised: init reports false, unseal refuses, everything else is sealed.
    assert_eq!(
        api.send("GET", "/v1/sys/init", None, None).json(),
        json!({"initialized": false})
    );
    assert_eq!(error_text(&api.unseal("abcd")), "Vault is not initialized");
    assert_eq!(api.send("GET", "/v1/sys/mounts", None, None).status, 503);
    assert_eq!(
        api.send("PUT", "/v1/sys/seal", None, None).status,
        204,
        "seal is a no-op while uninitialised"
    );
    let status = api.send("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(status["initialized"], false);
    assert_eq!(status["storage_type"], "file");

    // Validation, with Vault's messages; nothing is created.
    for (body, message) in [
        (
            json!({"secret_shares": 3, "secret_threshold": 5}),
            "invalid seal configuration: threshold cannot be larger than shares",
        ),
        (
            json!({"secret_shares": 5, "secret_threshold": 1}),
            "invalid seal configuration: threshold must be greater than one for multiple shares",
        ),
        (
            json!({}),
            "invalid seal configuration: shares must be at least one",
        ),
        (
            json!({"secret_shares": 5}),
            "invalid seal configuration: threshold must be at least one",
        ),
        (
            json!({"secret_shares": 256, "secret_threshold": 3}),
            "invalid seal configuration: shares must be less than 256",
        ),
    ] {
        let reply = api.send("PUT", "/v1/sys/init", None, Some(body));
        assert_eq!((reply.status, error_text(&reply).as_str()), (400, message));
    }
    let bad_json = call(
        &agent(),
        "PUT",
        &api.server.url("/v1/sys/init"),
        Some(b"{\"secret_shares\":5"),
    );
    assert_eq!(bad_json.status, 400);
    assert!(
        error_text(&bad_json).starts_with("failed to decode JSON input"),
        "{}",
        bad_json.body
    );
    let wrong_type = api.send(
        "PUT",
        "/v1/sys/init",
        None,
        Some(json!({"secret_shares": "5", "secret_threshold": 3})),
    );
    assert_eq!(wrong_type.status, 400);
    assert_eq!(api.send("DELETE", "/v1/sys/init", None, None).status, 405);

    // Init: 5 keys of 33 bytes, a root token, and the server stays sealed.
    let init = api.send(
        "PUT",
        "/v1/sys/init",
        None,
        Some(json!({"secret_shares": 5, "secret_threshold": 3})),
    );
    assert_eq!(init.status, 200, "{}", init.body);
    let init = init.json();
    let keys: Vec<String> = init["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let keys_b64: Vec<String> = init["keys_base64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let root = init["root_token"].as_str().unwrap().to_string();
    assert_eq!(keys.len(), 5);
    for (hex_key, b64_key) in keys.iter().zip(&keys_b64) {
        assert_eq!(hex_key.len(), 66);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(b64_key)
                .unwrap(),
            hex::decode(hex_key).unwrap()
        );
    }
    assert!(root.starts_with("s.") && root.len() == 26, "{root}");
    assert_eq!(
        error_text(&api.send(
            "PUT",
            "/v1/sys/init",
            None,
            Some(json!({"secret_shares": 1, "secret_threshold": 1}))
        )),
        "Vault is already initialized"
    );
    let status = api.send("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(
        (
            status["initialized"].clone(),
            status["sealed"].clone(),
            status["t"].clone(),
            status["n"].clone()
        ),
        (json!(true), json!(true), json!(3), json!(5))
    );
    assert!(
        status.get("cluster_name").is_none(),
        "no cluster identity while sealed"
    );
    assert_eq!(api.send("GET", "/v1/sys/health", None, None).status, 503);

    // Unseal progress: duplicates (in either encoding) add nothing; bad formats keep progress.
    let first = api.unseal(&keys[0]).json();
    assert_eq!(first["progress"], 1);
    let nonce = first["nonce"].as_str().unwrap().to_string();
    assert_eq!(nonce.len(), 36);
    assert_eq!(
        api.unseal(&keys_b64[0]).json()["progress"],
        1,
        "the same key in base64 is a duplicate"
    );
    let malformed = api.unseal("zzzz-not-a-key");
    assert_eq!(
        (malformed.status, error_text(&malformed).as_str()),
        (400, "'key' must be a valid hex or base64 string")
    );
    assert_eq!(
        error_text(&api.unseal("abcd")),
        "invalid key: key is shorter than minimum 16 bytes"
    );
    assert_eq!(
        error_text(&api.send("PUT", "/v1/sys/unseal", None, Some(json!({})))),
        "'key' must be specified in request body as JSON, or 'reset' set to true"
    );
    let status = api.send("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(
        (
            status["progress"].clone(),
            status["nonce"].as_str().unwrap()
        ),
        (json!(1), nonce.as_str())
    );

    // Reset, then a wrong key completing the threshold: 400 and progress back to 0.
    assert_eq!(
        api.send("PUT", "/v1/sys/unseal", None, Some(json!({"reset": true})))
            .json()["progress"],
        0
    );
    api.unseal(&keys[1]);
    api.unseal(&keys[2]);
    let mut forged = hex::decode(&keys[3]).unwrap();
    forged[0] ^= 0xff;
    let wrong = api.unseal(&hex::encode(forged));
    assert_eq!(wrong.status, 400);
    assert!(
        error_text(&wrong).contains("message authentication failed"),
        "{}",
        wrong.body
    );
    let status = api.send("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(
        (
            status["progress"].clone(),
            status["nonce"].clone(),
            status["sealed"].clone()
        ),
        (json!(0), json!(""), json!(true))
    );

    // Three distinct keys, out of order, unseal.
    api.unseal(&keys[4]);
    api.unseal(&keys_b64[1]);
    let done = api.unseal(&keys[2]).json();
    assert_eq!(
        (done["sealed"].clone(), done["progress"].clone()),
        (json!(false), json!(0))
    );
    assert!(done["cluster_name"]
        .as_str()
        .unwrap()
        .starts_with("vault-cluster-"));
    let cluster_id = done["cluster_id"].as_str().unwrap().to_string();
    assert_eq!(
        api.unseal("not even a key").status,
        200,
        "any key while unsealed is a no-op"
    );
    assert_eq!(
        error_text(&api.send("PUT", "/v1/sys/unseal", None, Some(json!({"reset": true})))),
        "vault is unsealed"
    );
    assert_eq!(api.send("GET", "/v1/sys/health", None, None).status, 200);
    let unknown_sys = api.send("GET", "/v1/sys/nope", Some(&root), None);
    assert_eq!(
        (unknown_sys.status, error_text(&unknown_sys).as_str()),
        (404, "1 error occurred:\n\t* unsupported path\n\n")
    );

    // Rotation adds a term; key-status reports it; both need a token.
    assert_eq!(api.send("PUT", "/v1/sys/rotate", None, None).status, 403);
    assert_eq!(
        api.send("PUT", "/v1/sys/rotate", Some(&root), None).status,
        204
    );
    let key_status = api
        .send("GET", "/v1/sys/key-status", Some(&root), None)
        .json();
    assert_eq!(
        (
            key_status["term"].clone(),
            key_status["data"]["term"].clone()
        ),
        (json!(2), json!(2))
    );
    assert_eq!(
        api.send("GET", "/v1/sys/key-status", Some("s.bogus"), None)
            .status,
        403
    );

    // Seal needs the root token; then everything is sealed again.
    assert_eq!(
        error_text(&api.send("PUT", "/v1/sys/seal", None, None)),
        "permission denied"
    );
    assert_eq!(
        api.send("PUT", "/v1/sys/seal", Some("s.bogus"), None)
            .status,
        403
    );
    assert_eq!(
        api.send("GET", "/v1/sys/seal", Some(&root), None).status,
        405
    );
    assert_eq!(
        api.send("PUT", "/v1/sys/seal", Some(&root), None).status,
        204
    );
    assert_eq!(
        api.send("GET", "/v1/sys/seal-status", None, None).json()["sealed"],
        true
    );
    assert_eq!(
        api.send("GET", "/v1/sys/key-status", Some(&root), None)
            .status,
        503
    );

    // Restart on the same folder: sealed, same keys unseal, same cluster, term 2 kept.
    drop(api);
    let api = Api::start(&data, dir.path());
    assert_eq!(
        api.send("GET", "/v1/sys/seal-status", None, None).json()["sealed"],
        true
    );
    for k in [&keys[3], &keys[0], &keys[1]] {
        api.unseal(k);
    }
    let status = api.send("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(
        (
            status["sealed"].clone(),
            status["cluster_id"].as_str().unwrap()
        ),
        (json!(false), cluster_id.as_str())
    );
    assert_eq!(
        api.send("GET", "/v1/sys/key-status", Some(&root), None)
            .json()["term"],
        2
    );

    // Rekey to 3 shares, threshold 2.
    assert_eq!(
        api.send("GET", "/v1/sys/rotate/root/init", None, None)
            .status,
        403
    );
    let idle = api
        .send("GET", "/v1/sys/rotate/root/init", Some(&root), None)
        .json();
    assert_eq!(
        (
            idle["data"]["started"].clone(),
            idle["data"]["required"].clone()
        ),
        (json!(false), json!(3))
    );
    let started = api
        .send(
            "PUT",
            "/v1/sys/rotate/root/init",
            Some(&root),
            Some(json!({"secret_shares": 3, "secret_threshold": 2})),
        )
        .json();
    let rekey_nonce = started["data"]["nonce"].as_str().unwrap().to_string();
    assert_eq!(
        (started["data"]["n"].clone(), started["data"]["t"].clone()),
        (json!(3), json!(2))
    );
    let wrong_nonce = api.send(
        "PUT",
        "/v1/sys/rotate/root/update",
        Some(&root),
        Some(json!({"key": keys[0], "nonce": "nope"})),
    );
    assert!(
        error_text(&wrong_nonce).starts_with("incorrect nonce supplied"),
        "{}",
        wrong_nonce.body
    );
    let update = |k: &str| {
        api.send(
            "PUT",
            "/v1/sys/rotate/root/update",
            Some(&root),
            Some(json!({"key": k, "nonce": rekey_nonce})),
        )
    };
    assert_eq!(update(&keys[0]).json()["data"]["progress"], 1);
    let dup = update(&keys[0]);
    assert_eq!(
        error_text(&dup),
        "given key has already been provided during this rotation"
    );
    update(&keys[1]);
    let complete = update(&keys[2]).json();
    assert_eq!(complete["data"]["complete"], true, "{complete}");
    let new_keys: Vec<String> = complete["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(new_keys.len(), 3);
    let status = api.send("GET", "/v1/sys/seal-status", None, None).json();
    assert_eq!(
        (status["t"].clone(), status["n"].clone()),
        (json!(2), json!(3))
    );

    // Old keys no longer unseal; the new ones do, and the data is still readable.
    api.send("PUT", "/v1/sys/seal", Some(&root), None);
    api.unseal(&keys[0]);
    let old = api.unseal(&keys[1]);
    assert_eq!(old.status, 400, "old keys fail at the threshold");
    api.unseal(&new_keys[2]);
    assert_eq!(api.unseal(&new_keys[0]).json()["sealed"], false);
    assert_eq!(
        api.send("GET", "/v1/sys/key-status", Some(&root), None)
            .json()["term"],
        2
    );
    assert_eq!(
        api.send("GET", "/v1/sys/rekey/init", None, None).status,
        405,
        "legacy rekey endpoints are off"
    );
}

/// Reads every file the file backend wrote: the layout is Vault's and everything but the
/// seal configuration and the two key blobs is barrier-encrypted; no token is stored.
#[test]
fn storage_on_disk_is_encrypted_and_holds_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let api = Api::start(&data, dir.path());
    let init = api
        .send(
            "PUT",
            "/v1/sys/init",
            None,
            Some(json!({"secret_shares": 1, "secret_threshold": 1})),
        )
        .json();
    let root = init["root_token"].as_str().unwrap().to_string();
    assert_eq!(
        init["keys"][0].as_str().unwrap().len(),
        64,
        "a single share is the raw 32-byte key"
    );
    api.unseal(init["keys"][0].as_str().unwrap());
    drop(api);

    let seal_config = std::fs::read_to_string(data.join("core/_seal-config")).unwrap();
    let value: Value = serde_json::from_str(&seal_config).unwrap();
    let plain = base64::engine::general_purpose::STANDARD
        .decode(value["Value"].as_str().unwrap())
        .unwrap();
    let config: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(
        (config["type"].clone(), config["secret_shares"].clone()),
        (json!("shamir"), json!(1))
    );

    let mut files = Vec::new();
    let mut stack = vec![data.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.starts_with(data.join("sys/token/id"))),
        "a token entry exists: {files:?}"
    );
    for file in files {
        let raw = std::fs::read_to_string(&file).unwrap();
        assert!(
            !raw.contains(&root) && !raw.contains(&root[2..]),
            "{} holds the root token",
            file.display()
        );
        let rel = file
            .strip_prefix(&data)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if rel == "core/_seal-config" || rel == "core/hsm/_barrier-unseal-keys" {
            continue;
        }
        let value: Value = serde_json::from_str(&raw).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value["Value"].as_str().unwrap())
            .unwrap();
        assert_eq!(bytes[4], 0x02, "{rel} is in barrier format");
        assert!(
            u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) >= 1,
            "{rel} names a term"
        );
    }
}
