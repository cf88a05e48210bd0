//! The secret, policy and token commands of the `vault` CLI end to end, through the real
//! binary against a dev server: the getting-started flow (`vault auth`, `write`, `read`,
//! `list`, `delete`), KV v2 through `vault kv`, `vault secrets`, `vault policy` and
//! `vault token`, with ACLs enforced on a child token.
//!
//! Every `vault` run gets a temporary `HOME` (so `~/.vault-token` is the test's own), no
//! inherited `VAULT_*`/`BAO_*` variables, and a bounded wait.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use vault_tests::Server;

/// The policy of the read-only token.
const RO_POLICY: &str = "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";

use vault_tests::cli::{vault_with, Out, User};

fn dev_server(extra: &[&str]) -> Server {
    let mut args = vec!["server", "-dev", "-dev-listen-address=127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(&args).unwrap_or_else(|f| panic!("dev server starts: {f:?}"))
}

/// The root token the dev server printed.
fn root_token(server: &Server) -> String {
    server
        .stdout
        .text()
        .lines()
        .find_map(|l| l.strip_prefix("Root Token: "))
        .unwrap_or_else(|| panic!("no root token in the banner: {}", server.stdout.text()))
        .trim()
        .to_string()
}

/// The rows of a `Key  Value` table (after any lines before its header).
fn rows(stdout: &str) -> BTreeMap<String, String> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("Key "));
    let header = lines.next().unwrap_or_default();
    assert!(header.ends_with(" Value"), "not a table: {stdout}");
    assert!(lines.next().unwrap_or_default().starts_with("--- "));
    lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once("  ").unwrap_or_else(|| panic!("row: {l:?}"));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:?}"))
}

#[test]
fn getting_started_auth_write_read_list_delete() {
    let server = dev_server(&[]);
    let root = root_token(&server);
    let user = User::new(&server);

    // Without a token nothing is readable.
    let out = user.vault(&["read", "secret/hello"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("* permission denied"), "{out:?}");

    // $ vault auth ROOT: checks the token, stores it 0600 without a newline.
    let out = user.vault(&["auth", &root]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with(
            "Success! You are now authenticated. The token information displayed below is\n\
             already stored in the token helper. You do NOT need to run \"vault login\" again.\n\
             Future Vault requests will automatically use this token.\n\nKey "
        ),
        "{out:?}"
    );
    let table = rows(&out.stdout);
    assert_eq!(table["token"], root);
    assert_eq!(table["token_duration"], "∞");
    assert_eq!(table["token_policies"], "[\"root\"]");
    assert_eq!(table["policies"], "[\"root\"]");
    assert!(!table["token_accessor"].is_empty());
    let file = user.home.path().join(".vault-token");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), root);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A bad token: an error, exit 2, and the stored token is kept.
    let out = user.vault(&["login", "s.bogus"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "Error authenticating: error looking up token: Error making API request.\n\n\
             URL: GET {}/v1/auth/token/lookup-self\nCode: 403. Errors:\n\n* permission denied",
            user.url
        )),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), root);
    // `-` reads the token from stdin.
    let out = user.run(
        None,
        Some(&format!("{root}\n")),
        &["login", "-no-print", "-"],
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");

    // $ vault write / read, with the token from ~/.vault-token.
    let out = user.vault(&["write", "secret/hello", "value=world"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "Success! Data written to: secret/hello\n");
    let out = user.vault(&["read", "secret/hello"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "Key                 Value\n---                 -----\nrefresh_interval    768h\nvalue               world\n"
    );
    let out = user.vault(&["read", "-field=value", "secret/hello"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "world"), "{out:?}");
    let out = user.vault(&["read", "-format=json", "secret/hello"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = json(&out);
    assert_eq!(v["data"]["value"], "world");
    assert_eq!(v["lease_duration"], 2764800);
    assert!(out.stdout.starts_with("{\n  \"request_id\": "), "{out:?}");

    // Data from stdin (a JSON object) and from a file.
    let out = user.run(
        None,
        Some(r#"{"n": 42, "nested": {"x": [1, 2]}}"#),
        &["write", "secret/json", "-"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let pem = user.home.path().join("value.txt");
    std::fs::write(&pem, "from a file").unwrap();
    let at = format!("f=@{}", pem.display());
    user.ok(None, &["write", "secret/file", &at]);
    let v = json(&user.ok(None, &["read", "-format=json", "secret/json"]));
    assert_eq!(
        v["data"],
        serde_json::json!({"n": 42, "nested": {"x": [1, 2]}})
    );
    let out = user.ok(None, &["read", "secret/json"]);
    assert_eq!(rows(&out.stdout)["nested"], "map[x:[1 2]]");
    assert_eq!(
        user.ok(None, &["read", "-field=f", "secret/file"]).stdout,
        "from a file"
    );

    // $ vault list
    let out = user.vault(&["list", "secret/"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "Keys\n----\nfile\nhello\njson\n");
    let v = json(&user.ok(None, &["list", "-format=json", "secret"]));
    assert_eq!(v, serde_json::json!(["file", "hello", "json"]));
    let out = user.vault(&["list", "secret/nope"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (2, "No value found at secret/nope/\n")
    );

    // $ vault delete, then the read finds nothing.
    let out = user.vault(&["delete", "secret/hello"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "Success! Data deleted (if it existed) at: secret/hello\n"
    );
    let out = user.vault(&["read", "secret/hello"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (2, "", "No value found at secret/hello\n")
    );
    let out = user.vault(&["write", "secret/empty"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Must supply data or use -force\n")
    );
}

#[test]
fn kv_v2_through_vault_kv_and_secrets_engines() {
    let server = dev_server(&[]);
    let root = root_token(&server);
    let user = User::new(&server);
    let t = Some(root.as_str());

    let out = user.ok(t, &["secrets", "enable", "-path=kv2", "-version=2", "kv"]);
    assert_eq!(
        out.stdout,
        "Success! Enabled the kv secrets engine at: kv2/\n"
    );
    let out = user.run(t, None, &["secrets", "enable", "-path=kv2", "kv"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("Error enabling: Error making API request."),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("path is already in use at kv2/"),
        "{out:?}"
    );

    // $ vault kv put kv2/app user=dave: version 1, printed as Vault does.
    let out = user.ok(t, &["kv", "put", "kv2/app", "user=dave"]);
    assert!(
        out.stdout
            .starts_with("= Secret Path =\nkv2/data/app\n\n======= Metadata =======\nKey "),
        "{out:?}"
    );
    let meta = rows(&out.stdout);
    assert_eq!(meta["version"], "1");
    assert_eq!(meta["destroyed"], "false");
    assert_eq!(meta["deletion_time"], "n/a");
    assert_eq!(meta["custom_metadata"], "<nil>");
    let out = user.ok(t, &["kv", "put", "-mount=kv2", "app", "user=eve", "pw=x"]);
    assert_eq!(rows(&out.stdout)["version"], "2");

    // $ vault kv get: the latest, -version=1, -field, -format=json.
    let out = user.ok(t, &["kv", "get", "kv2/app"]);
    assert!(
        out.stdout.starts_with("= Secret Path =\nkv2/data/app\n\n"),
        "{out:?}"
    );
    let data_part = &out.stdout[out.stdout.find("==== Data ====").expect("data header")..];
    let data = rows(data_part);
    assert_eq!((data["user"].as_str(), data["pw"].as_str()), ("eve", "x"));
    let out = user.ok(t, &["kv", "get", "-version=1", "kv2/app"]);
    let data = rows(&out.stdout[out.stdout.find("==== Data ====").expect("data header")..]);
    assert_eq!(data["user"], "dave");
    assert!(!data.contains_key("pw"));
    assert_eq!(
        user.ok(t, &["kv", "get", "-field=user", "kv2/app"]).stdout,
        "eve"
    );
    let v = json(&user.ok(t, &["kv", "get", "-format=json", "kv2/app"]));
    assert_eq!(v["data"]["data"]["user"], "eve");
    assert_eq!(v["data"]["metadata"]["version"], 2);

    // -cas=0 on an existing key fails.
    let out = user.run(t, None, &["kv", "put", "-cas=0", "kv2/app", "user=mallory"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("Error writing data to kv2/data/app: Error making API request."),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("check-and-set parameter did not match the current version"),
        "{out:?}"
    );
    let out = user.ok(t, &["kv", "put", "-cas=2", "kv2/app", "user=carol"]);
    assert_eq!(rows(&out.stdout)["version"], "3");

    // patch, list, delete, undelete, destroy, metadata.
    let out = user.ok(t, &["kv", "patch", "kv2/app", "pw=y"]);
    assert_eq!(rows(&out.stdout)["version"], "4");
    let out = user.ok(t, &["kv", "get", "kv2/app"]);
    let data = rows(out.stdout.split("==== Data ====").nth(1).expect("data"));
    assert_eq!((data["user"].as_str(), data["pw"].as_str()), ("carol", "y"));
    assert_eq!(
        user.ok(t, &["kv", "list", "kv2/"]).stdout,
        "Keys\n----\napp\n"
    );
    let out = user.ok(t, &["kv", "delete", "kv2/app"]);
    assert_eq!(
        out.stdout,
        "Success! Data deleted (if it existed) at: kv2/data/app\n"
    );
    let out = user.ok(t, &["kv", "get", "kv2/app"]);
    assert!(
        !out.stdout.contains("Data ="),
        "a deleted version has no data: {out:?}"
    );
    assert_ne!(rows(&out.stdout)["deletion_time"], "n/a");
    let out = user.ok(t, &["kv", "undelete", "-versions=4", "kv2/app"]);
    assert_eq!(out.stdout, "Success! Data written to: kv2/undelete/app\n");
    assert_eq!(
        user.ok(t, &["kv", "get", "-field=pw", "kv2/app"]).stdout,
        "y"
    );
    user.ok(t, &["kv", "destroy", "-versions=1", "kv2/app"]);
    let out = user.ok(t, &["kv", "metadata", "get", "kv2/app"]);
    assert!(
        out.stdout
            .starts_with("= Metadata Path =\nkv2/metadata/app\n\n"),
        "{out:?}"
    );
    assert_eq!(rows(&out.stdout)["current_version"], "4");
    let version1 = &out.stdout[out.stdout.find("Version 1 ").expect("version 1 table")..];
    assert_eq!(rows(version1)["destroyed"], "true");
    let out = user.ok(t, &["kv", "metadata", "delete", "kv2/app"]);
    assert_eq!(
        out.stdout,
        "Success! Data deleted (if it existed) at: kv2/metadata/app\n"
    );
    let out = user.run(t, None, &["kv", "get", "kv2/app"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (2, "No value found at kv2/data/app\n")
    );

    // kv on the KV v1 secret/ mount uses the plain paths.
    let out = user.ok(
        t,
        &[
            "kv",
            "put",
            "secret/app/config",
            "user=alice",
            "password=s3cret",
        ],
    );
    assert_eq!(out.stdout, "Success! Data written to: secret/app/config\n");
    let out = user.ok(t, &["kv", "get", "secret/app/config"]);
    assert_eq!(
        out.stdout,
        "====== Data ======\nKey         Value\n---         -----\npassword    s3cret\nuser        alice\n"
    );
    assert_eq!(
        user.ok(t, &["kv", "list", "secret/"]).stdout,
        "Keys\n----\napp/\n"
    );

    // $ vault secrets list / tune / disable.
    let out = user.ok(t, &["secrets", "list"]);
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["Path", "Type", "Accessor", "Description"]);
    let kv2 = out
        .stdout
        .lines()
        .find(|l| l.starts_with("kv2/ "))
        .unwrap_or_else(|| panic!("no kv2/ row: {out:?}"));
    let cells: Vec<&str> = kv2.split_whitespace().collect();
    assert_eq!(
        (cells[0], cells[1], cells[3]),
        ("kv2/", "kv", "n/a"),
        "{kv2}"
    );
    assert!(cells[2].starts_with("kv_"), "{kv2}");
    assert!(
        out.stdout.lines().any(|l| l.starts_with("secret/ ")),
        "{out:?}"
    );
    let v = json(&user.ok(t, &["secrets", "list", "-format=json"]));
    assert_eq!(v["kv2/"]["options"]["version"], "2");
    let out = user.ok(t, &["secrets", "tune", "-default-lease-ttl=1h", "kv2"]);
    assert_eq!(out.stdout, "Success! Tuned the secrets engine at: kv2/\n");
    let out = user.ok(t, &["read", "sys/mounts/kv2/tune"]);
    assert_eq!(rows(&out.stdout)["default_lease_ttl"], "1h");
    let out = user.ok(t, &["secrets", "disable", "kv2/"]);
    assert_eq!(
        out.stdout,
        "Success! Disabled the secrets engine (if it existed) at: kv2/\n"
    );
    let out = user.ok(t, &["mounts"]);
    assert!(!out.stdout.contains("kv2/"), "{out:?}");
    user.ok(t, &["mount", "-path=old", "kv"]);
    assert!(user.ok(t, &["secrets", "list"]).stdout.contains("\nold/ "));
    user.ok(t, &["unmount", "old"]);
}

#[test]
fn policies_and_tokens_enforce_acls() {
    let server = dev_server(&[]);
    let root = root_token(&server);
    let user = User::new(&server);
    let t = Some(root.as_str());

    // $ vault policy write ro - (from stdin), read, list.
    let out = user.run(t, Some(RO_POLICY), &["policy", "write", "ro", "-"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "Success! Uploaded policy: ro\n");
    assert_eq!(user.ok(t, &["policy", "read", "ro"]).stdout, RO_POLICY);
    let list = user.ok(t, &["policy", "list"]).stdout;
    assert!(
        list.lines().any(|l| l == "ro") && list.lines().any(|l| l == "default"),
        "{list}"
    );
    assert_eq!(
        user.ok(t, &["policies"]).stdout,
        list,
        "the old name lists too"
    );
    let out = user.run(t, None, &["policy", "read", "nope"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (2, "No policy named: nope\n")
    );

    user.ok(t, &["write", "secret/x", "a=b"]);

    // $ vault token create -policy=ro -ttl=1h -format=json
    let out = user.ok(
        t,
        &["token", "create", "-policy=ro", "-ttl=1h", "-format=json"],
    );
    let v = json(&out);
    let child = v["auth"]["client_token"]
        .as_str()
        .expect("client_token")
        .to_string();
    assert_eq!(v["auth"]["policies"], serde_json::json!(["default", "ro"]));
    assert_eq!(v["auth"]["lease_duration"], 3600);
    assert_eq!(v["auth"]["renewable"], true);
    let c = Some(child.as_str());

    // The table form and -field=token.
    let out = user.ok(
        t,
        &[
            "token",
            "create",
            "-policy=ro",
            "-ttl=1h",
            "-metadata=team=a",
        ],
    );
    let table = rows(&out.stdout);
    assert_eq!(table["token_duration"], "1h");
    assert_eq!(table["token_policies"], "[\"default\" \"ro\"]");
    assert_eq!(table["token_meta_team"], "a");
    let other = user
        .ok(t, &["token", "create", "-policy=ro", "-field=token"])
        .stdout;
    assert!(!other.is_empty() && !other.contains('\n'), "{other:?}");

    // With the child token: reads work, writes are denied.
    let out = user.run(c, None, &["read", "secret/x"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(rows(&out.stdout)["a"], "b");
    assert_eq!(user.ok(c, &["list", "secret/"]).stdout, "Keys\n----\nx\n");
    let out = user.run(c, None, &["write", "secret/x", "a=c"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "Error writing data to secret/x: Error making API request.\n\nURL: PUT {}/v1/secret/x\nCode: 403. Errors:\n\n",
            user.url
        )),
        "{out:?}"
    );
    assert!(out.stderr.contains("permission denied"), "{out:?}");
    assert_eq!(user.ok(t, &["read", "-field=a", "secret/x"]).stdout, "b");
    let out = user.run(c, None, &["policy", "write", "evil", "-"]);
    assert_eq!(out.code, 2, "{out:?}");

    // lookup, capabilities, renew.
    let out = user.ok(c, &["token", "lookup"]);
    let table = rows(&out.stdout);
    assert_eq!(table["policies"], "[default ro]");
    assert_eq!(table["id"], child);
    let out = user.ok(t, &["token", "lookup", &child]);
    assert_eq!(rows(&out.stdout)["display_name"], "token");
    assert_eq!(
        user.ok(c, &["token", "capabilities", "secret/x"]).stdout,
        "list, read\n"
    );
    assert_eq!(
        user.ok(t, &["token", "capabilities", &child, "sys/seal"])
            .stdout,
        "deny\n"
    );
    assert_eq!(
        user.ok(t, &["token", "capabilities", "secret/x"]).stdout,
        "root\n"
    );
    let out = user.ok(c, &["token", "renew", "-increment=30m"]);
    assert_eq!(rows(&out.stdout)["token_duration"], "30m");

    // $ vault token revoke: the child token stops working.
    let out = user.ok(t, &["token", "revoke", &child]);
    assert_eq!(out.stdout, "Success! Revoked token (if it existed)\n");
    let out = user.run(c, None, &["read", "secret/x"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("* permission denied"), "{out:?}");
    let out = user.run(Some(&other), None, &["token", "revoke", "-self"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(user.run(Some(&other), None, &["token", "lookup"]).code, 2);

    // $ vault policy delete
    assert_eq!(
        user.ok(t, &["policy", "delete", "ro"]).stdout,
        "Success! Deleted policy: ro\n"
    );
    assert!(!user
        .ok(t, &["policy", "list"])
        .stdout
        .lines()
        .any(|l| l == "ro"));
}

#[test]
fn dev_root_token_id_and_connection_errors() {
    let server = dev_server(&["-dev-root-token-id=myroot"]);
    assert_eq!(root_token(&server), "myroot");
    let user = User::new(&server);
    let out = user.ok(Some("myroot"), &["token", "lookup"]);
    assert_eq!(rows(&out.stdout)["policies"], "[root]");
    let out = user.ok(Some("myroot"), &["login", "-format=json", "myroot"]);
    assert_eq!(json(&out)["auth"]["client_token"], "myroot");
    assert_eq!(
        std::fs::read_to_string(user.home.path().join(".vault-token")).unwrap(),
        "myroot"
    );
    assert!(
        out.stderr
            .contains("VAULT_TOKEN environment variable is set"),
        "{out:?}"
    );

    // No server: exit 1, one line naming the address.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("http://127.0.0.1:{port}");
    let home = tempfile::tempdir().unwrap();
    let out = vault_with(
        &[("VAULT_ADDR", &addr), ("VAULT_TOKEN", "s.x")],
        home.path(),
        None,
        &["read", "secret/x"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with(&format!("Error reading secret/x: GET {addr}/v1/secret/x: ")),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}
