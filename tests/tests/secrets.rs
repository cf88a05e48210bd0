//! What a client does after unsealing, over HTTP: default mounts, KV v1 and v2 details,
//! policies and their enforcement, tokens (expiry included), cubbyhole, bad input.

use serde_json::{json, Value};
use vault_tests::api::Api;
use vault_tests::Server;

fn file_server(dir: &std::path::Path) -> Server {
    let config = format!(
        "storage \"file\" {{\n  path = \"{}/data\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = 1\n}}\ndisable_mlock = true\n",
        dir.display()
    );
    Server::with_config(dir, "secrets.hcl", &config, &[]).expect("server starts")
}

#[test]
fn kv_v1_follows_vault() {
    let dir = tempfile::tempdir().unwrap();
    let server = file_server(dir.path());
    let api = Api::new(&server);
    let (_, root) = api.init_and_unseal();
    let t = Some(root.as_str());

    // A fresh server has sys/, cubbyhole/ and secret/ (KV v1), and the token method.
    let mounts = api.send("GET", "/v1/sys/mounts", t, None).json();
    assert_eq!(mounts["data"]["secret/"]["type"], "kv");
    assert_eq!(mounts["data"]["secret/"]["options"]["version"], "1");
    assert_eq!(mounts["secret/"]["type"], "kv", "legacy top-level copy");
    assert_eq!(mounts["data"]["cubbyhole/"]["local"], true);
    assert!(mounts["data"]["secret/"]["accessor"]
        .as_str()
        .unwrap()
        .starts_with("kv_"));
    assert_eq!(
        api.send("GET", "/v1/sys/auth", t, None).json()["data"]["token/"]["type"],
        "token"
    );

    // Write (204), read (JSON types kept), lease from the ttl key.
    let secret =
        json!({"password": "hunter2", "n": 42, "flag": true, "nested": {"x": [1, 2]}, "nil": null});
    assert_eq!(
        api.send("PUT", "/v1/secret/foo", t, Some(&secret)).status,
        204
    );
    let read = api.send("GET", "/v1/secret/foo", t, None);
    assert_eq!(read.status, 200);
    let body = read.json();
    assert_eq!(body["data"], secret);
    assert_eq!(body["lease_duration"], 2764800);
    for key in [
        "request_id",
        "lease_id",
        "renewable",
        "wrap_info",
        "warnings",
        "auth",
    ] {
        assert!(body.get(key).is_some(), "envelope lacks {key}");
    }
    api.send(
        "POST",
        "/v1/secret/ttl",
        t,
        Some(&json!({"v": "x", "ttl": "10m"})),
    );
    assert_eq!(
        api.send("GET", "/v1/secret/ttl", t, None).json()["lease_duration"],
        600
    );
    api.send("PUT", "/v1/secret/foo", t, Some(&json!({"only": "this"})));
    assert_eq!(
        api.send("GET", "/v1/secret/foo", t, None).json()["data"],
        json!({"only": "this"}),
        "writes replace"
    );

    // Listing: sorted, folders with '/', the LIST verb and ?list=true, with or without '/'.
    api.send(
        "PUT",
        "/v1/secret/app/db/creds",
        t,
        Some(&json!({"u": "1"})),
    );
    api.send("PUT", "/v1/secret/with space", t, Some(&json!({"u": "1"})));
    let expected = json!(["app/", "foo", "ttl", "with space"]);
    for (method, path) in [
        ("LIST", "/v1/secret/"),
        ("LIST", "/v1/secret"),
        ("GET", "/v1/secret/?list=true"),
        ("GET", "/v1/secret?list=true"),
    ] {
        assert_eq!(
            api.send(method, path, t, None).json()["data"]["keys"],
            expected,
            "{method} {path}"
        );
    }
    assert_eq!(
        api.send("SCAN", "/v1/secret/", t, None).json()["data"]["keys"],
        json!(["app/db/creds", "foo", "ttl", "with space"])
    );

    // Missing things are 404 with an empty error list.
    for path in ["/v1/secret/missing", "/v1/secret/app"] {
        let r = api.send("GET", path, t, None);
        assert_eq!(
            (r.status, r.body.as_str()),
            (404, "{\"errors\":[]}\n"),
            "{path}"
        );
    }
    assert_eq!(api.send("LIST", "/v1/secret/nope/", t, None).status, 404);
    let no_mount = api.send("GET", "/v1/nosuch/path", t, None);
    assert_eq!(
        Api::error(&no_mount),
        "no handler for route \"nosuch/path\". route entry not found."
    );

    // Bad input: each a 400 saying what is wrong, and nothing stored.
    assert_eq!(
        Api::error(&api.send("PUT", "/v1/secret/empty", t, Some(&json!({})))),
        "missing data fields"
    );
    assert_eq!(
        Api::error(&api.send("PUT", "/v1/secret/trailing/", t, Some(&json!({"a": 1})))),
        "cannot write to a path ending in '/'"
    );
    let array = api.raw(
        "PUT",
        "/v1/secret/arr",
        t,
        Some("[1,2,3]"),
        Some("application/json"),
    );
    assert_eq!(array.status, 400);
    assert!(
        Api::error(&array).contains("cannot unmarshal array"),
        "{}",
        array.body
    );
    let garbage = api.raw(
        "PUT",
        "/v1/secret/garbage",
        t,
        Some("{not json"),
        Some("application/json"),
    );
    assert!(Api::error(&garbage).starts_with("failed to decode JSON input"));
    let long = format!("/v1/secret/{}", "k".repeat(300));
    let too_long = api.send("PUT", &long, t, Some(&json!({"a": 1})));
    assert_eq!(too_long.status, 400);
    assert!(Api::error(&too_long).contains("too long"));
    let many: serde_json::Map<String, Value> =
        (0..501).map(|i| (format!("k{i}"), json!("v"))).collect();
    let complex = api.send("PUT", "/v1/secret/complex", t, Some(&Value::Object(many)));
    assert_eq!(
        Api::error(&complex),
        "refused JSON input due to high complexity: exceeded maximum number of strings"
    );
    for path in [
        "/v1/secret/empty",
        "/v1/secret/arr",
        "/v1/secret/garbage",
        "/v1/secret/complex",
    ] {
        assert_eq!(
            api.send("GET", path, t, None).status,
            404,
            "{path} must not be stored"
        );
    }
    let patch = api.send("PATCH", "/v1/secret/foo", t, Some(&json!({"a": 1})));
    assert_eq!(
        (patch.status, Api::error(&patch).as_str()),
        (405, "1 error occurred:\n\t* unsupported operation\n\n")
    );
    assert_eq!(api.send("OPTIONS", "/v1/secret/foo", t, None).status, 400);

    // Form bodies, as curl -d sends them.
    let form = api.raw(
        "PUT",
        "/v1/secret/form",
        t,
        Some("a=1&b=two&a=3"),
        Some("application/x-www-form-urlencoded"),
    );
    assert_eq!(form.status, 204);
    assert_eq!(
        api.send("GET", "/v1/secret/form", t, None).json()["data"],
        json!({"a": "1,3", "b": "two"})
    );

    // Delete is idempotent.
    assert_eq!(api.send("DELETE", "/v1/secret/foo", t, None).status, 204);
    assert_eq!(api.send("DELETE", "/v1/secret/foo", t, None).status, 204);
    assert_eq!(api.send("GET", "/v1/secret/foo", t, None).status, 404);

    // The CLI's preflight.
    let ui = api
        .send("GET", "/v1/sys/internal/ui/mounts/secret/app/db", t, None)
        .json();
    assert_eq!(
        (ui["data"]["path"].clone(), ui["data"]["type"].clone()),
        (json!("secret/"), json!("kv"))
    );
    assert_eq!(
        api.send("GET", "/v1/sys/internal/ui/mounts/secret/x", None, None)
            .status,
        403
    );
    let unknown = api.send("GET", "/v1/sys/internal/ui/mounts/nosuch/x", t, None);
    assert!(
        Api::error(&unknown).starts_with("preflight capability check returned 403"),
        "{}",
        unknown.body
    );
}

#[test]
fn mounts_kv_v2_and_disable_removes_exactly_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = file_server(dir.path());
    let api = Api::new(&server);
    let (_, root) = api.init_and_unseal();
    let t = Some(root.as_str());

    assert_eq!(
        api.send(
            "POST",
            "/v1/sys/mounts/kv2",
            t,
            Some(&json!({"type": "kv-v2"}))
        )
        .status,
        204
    );
    assert_eq!(
        api.send(
            "POST",
            "/v1/sys/mounts/other",
            t,
            Some(&json!({"type": "kv", "options": {"version": "1"}}))
        )
        .status,
        204
    );
    assert_eq!(
        Api::error(&api.send(
            "POST",
            "/v1/sys/mounts/kv2",
            t,
            Some(&json!({"type": "kv"}))
        )),
        "path is already in use at kv2/"
    );
    assert_eq!(
        Api::error(&api.send(
            "POST",
            "/v1/sys/mounts/kv2/nested",
            t,
            Some(&json!({"type": "kv"}))
        )),
        "path is already in use at kv2/"
    );
    assert_eq!(
        Api::error(&api.send(
            "POST",
            "/v1/sys/mounts/x",
            t,
            Some(&json!({"type": "nosuchengine"}))
        )),
        "plugin not found in the catalog: nosuchengine"
    );
    assert_eq!(
        api.send(
            "POST",
            "/v1/sys/mounts/sys",
            t,
            Some(&json!({"type": "kv"}))
        )
        .status,
        400
    );
    let entry = api.send("GET", "/v1/sys/mounts/kv2", t, None).json();
    assert_eq!(
        (
            entry["data"]["type"].clone(),
            entry["data"]["options"]["version"].clone()
        ),
        (json!("kv"), json!("2"))
    );

    // v2 shapes.
    let written = api
        .send(
            "PUT",
            "/v1/kv2/data/app",
            t,
            Some(&json!({"data": {"user": "alice"}, "options": {"cas": 0}})),
        )
        .json();
    assert_eq!(written["data"]["version"], 1);
    assert_eq!(
        Api::error(&api.send(
            "PUT",
            "/v1/kv2/data/app",
            t,
            Some(&json!({"data": {"user": "eve"}, "options": {"cas": 0}}))
        )),
        "check-and-set parameter did not match the current version"
    );
    assert_eq!(
        Api::error(&api.send(
            "PUT",
            "/v1/kv2/data/app",
            t,
            Some(&json!({"user": "nowrapper"}))
        )),
        "no data provided"
    );
    let v1_style = api.send("GET", "/v1/kv2/app", t, None);
    assert_eq!(v1_style.status, 404);
    assert!(v1_style.json()["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("Invalid path for a versioned K/V secrets engine"));
    let plain_patch = api.send(
        "PATCH",
        "/v1/kv2/data/app",
        t,
        Some(&json!({"data": {"x": "1"}})),
    );
    assert_eq!(plain_patch.status, 415);
    let patched = api.raw(
        "PATCH",
        "/v1/kv2/data/app",
        t,
        Some(r#"{"data":{"role":"admin"}}"#),
        Some("application/merge-patch+json"),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    let read = api.send("GET", "/v1/kv2/data/app", t, None).json();
    assert_eq!(
        read["data"]["data"],
        json!({"user": "alice", "role": "admin"})
    );
    assert_eq!(read["data"]["metadata"]["version"], 2);
    assert_eq!(api.send("DELETE", "/v1/kv2/data/app", t, None).status, 204);
    let deleted = api.send("GET", "/v1/kv2/data/app", t, None);
    assert_eq!(deleted.status, 404);
    assert!(
        deleted.json()["data"]["metadata"]["deletion_time"]
            .as_str()
            .unwrap()
            .len()
            > 10
    );
    assert_eq!(
        api.send("GET", "/v1/kv2/config", t, None).json()["data"]["max_versions"],
        0
    );

    // Tune.
    assert_eq!(
        api.send(
            "POST",
            "/v1/sys/mounts/other/tune",
            t,
            Some(&json!({"default_lease_ttl": "1h", "max_lease_ttl": "2h"}))
        )
        .status,
        204
    );
    let tune = api.send("GET", "/v1/sys/mounts/other/tune", t, None).json();
    assert_eq!(
        (
            tune["data"]["default_lease_ttl"].clone(),
            tune["max_lease_ttl"].clone()
        ),
        (json!(3600), json!(7200))
    );

    // Disabling removes that mount's data and nothing else.
    api.send("PUT", "/v1/other/keep-out", t, Some(&json!({"a": "1"})));
    api.send("PUT", "/v1/secret/stays", t, Some(&json!({"a": "1"})));
    let uuid = entry["data"]["uuid"].as_str().unwrap().to_string();
    let kv2_dir = dir.path().join("data/logical").join(&uuid);
    assert!(kv2_dir.exists(), "kv2 data lives under logical/<uuid>");
    assert_eq!(
        api.send("DELETE", "/v1/sys/mounts/kv2", t, None).status,
        204
    );
    assert_eq!(
        api.send("DELETE", "/v1/sys/mounts/kv2", t, None).status,
        204,
        "disabling twice is fine"
    );
    assert!(!kv2_dir.exists(), "kv2's data is gone");
    assert_eq!(api.send("GET", "/v1/secret/stays", t, None).status, 200);
    assert_eq!(api.send("GET", "/v1/other/keep-out", t, None).status, 200);
    assert_eq!(api.send("GET", "/v1/kv2/data/app", t, None).status, 404);
}

#[test]
fn policies_decide_what_a_token_may_do() {
    let server =
        Server::start(&["server", "-dev", "-dev-listen-address=127.0.0.1:0"]).expect("dev server");
    let api = Api::new(&server);
    let banner = server.stdout.text();
    let root = banner
        .lines()
        .find_map(|l| l.strip_prefix("Root Token: "))
        .unwrap()
        .trim()
        .to_string();
    let t = Some(root.as_str());

    let policy = "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";
    assert_eq!(
        api.send(
            "PUT",
            "/v1/sys/policies/acl/readsecret",
            t,
            Some(&json!({"policy": policy}))
        )
        .status,
        204
    );
    let read = api
        .send("GET", "/v1/sys/policies/acl/readsecret", t, None)
        .json();
    assert_eq!(
        (
            read["data"]["name"].clone(),
            read["data"]["policy"].as_str().unwrap()
        ),
        (json!("readsecret"), policy)
    );
    let list = api.send("LIST", "/v1/sys/policies/acl", t, None).json();
    assert_eq!(
        list["data"]["keys"],
        json!(["default", "readsecret", "root"])
    );
    let legacy = api.send("GET", "/v1/sys/policy/readsecret", t, None).json();
    assert_eq!(
        (
            legacy["rules"].as_str().unwrap(),
            legacy["data"]["name"].clone()
        ),
        (policy, json!("readsecret"))
    );
    let bad = api.send(
        "PUT",
        "/v1/sys/policies/acl/bad",
        t,
        Some(&json!({"policy": "path \"x\" { capabilities = [\"bogus\"] }"})),
    );
    assert_eq!(bad.status, 400);
    assert!(
        Api::error(&bad).starts_with("failed to parse policy"),
        "{}",
        bad.body
    );
    assert_eq!(
        api.send("GET", "/v1/sys/policies/acl/bad", t, None).status,
        404,
        "nothing stored"
    );
    assert_eq!(
        Api::error(&api.send(
            "PUT",
            "/v1/sys/policies/acl/x",
            t,
            Some(&json!({"policy": ""}))
        )),
        "'policy' parameter not supplied or empty"
    );
    assert_eq!(
        Api::error(&api.send(
            "PUT",
            "/v1/sys/policies/acl/root",
            t,
            Some(&json!({"policy": policy}))
        )),
        "cannot update \"root\" policy"
    );
    assert_eq!(
        Api::error(&api.send("DELETE", "/v1/sys/policies/acl/default", t, None)),
        "cannot delete default policy"
    );

    api.send("PUT", "/v1/secret/foo", t, Some(&json!({"v": "1"})));
    let created = api
        .send(
            "POST",
            "/v1/auth/token/create",
            t,
            Some(&json!({"policies": ["readsecret", "ghost"], "ttl": "1h"})),
        )
        .json();
    assert_eq!(
        created["auth"]["policies"],
        json!(["default", "ghost", "readsecret"])
    );
    assert_eq!(created["warnings"][0], "Policy \"ghost\" does not exist");
    let limited = created["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let l = Some(limited.as_str());
    let denied = "1 error occurred:\n\t* permission denied\n\n";
    assert_eq!(api.send("GET", "/v1/secret/foo", l, None).status, 200);
    assert_eq!(api.send("LIST", "/v1/secret/", l, None).status, 200);
    assert_eq!(
        api.send("GET", "/v1/secret/missing", l, None).status,
        404,
        "allowed but missing is 404"
    );
    for (method, path) in [
        ("PUT", "/v1/secret/foo"),
        ("DELETE", "/v1/secret/foo"),
        ("GET", "/v1/sys/mounts"),
        ("PUT", "/v1/sys/seal"),
        ("POST", "/v1/sys/rotate"),
        ("GET", "/v1/nosuchmount/x"),
        ("PUT", "/v1/sys/policies/acl/mine"),
        ("POST", "/v1/auth/token/create"),
    ] {
        let r = api.send(method, path, l, Some(&json!({"policy": policy, "v": "2"})));
        assert_eq!(
            (r.status, Api::error(&r).as_str()),
            (403, denied),
            "{method} {path}"
        );
    }
    assert_eq!(
        api.send("GET", "/v1/sys/seal-status", None, None).json()["sealed"],
        false,
        "the denied seal did nothing"
    );
    let caps = api
        .send(
            "POST",
            "/v1/sys/capabilities-self",
            l,
            Some(&json!({"paths": ["secret/foo", "sys/seal"]})),
        )
        .json();
    assert_eq!(
        (caps["data"]["secret/foo"].clone(), caps["sys/seal"].clone()),
        (json!(["list", "read"]), json!(["deny"]))
    );
    let root_caps = api
        .send(
            "POST",
            "/v1/sys/capabilities-self",
            t,
            Some(&json!({"path": "secret/foo"})),
        )
        .json();
    assert_eq!(root_caps["capabilities"], json!(["root"]));

    // A sudo policy can seal; deny beats allow.
    let sealer = "path \"sys/seal\" {\n  capabilities = [\"update\", \"sudo\"]\n}\npath \"secret/*\" {\n  capabilities = [\"deny\"]\n}\n";
    api.send(
        "PUT",
        "/v1/sys/policies/acl/sealer",
        t,
        Some(&json!({"policy": sealer})),
    );
    let both = api
        .send(
            "POST",
            "/v1/auth/token/create",
            t,
            Some(&json!({"policies": ["readsecret", "sealer"]})),
        )
        .json();
    let b = both["auth"]["client_token"].as_str().unwrap().to_string();
    assert_eq!(
        api.send("GET", "/v1/secret/foo", Some(&b), None).status,
        403,
        "deny wins"
    );
    assert_eq!(
        api.send("PUT", "/v1/sys/seal", Some(&b), None).status,
        204,
        "sudo on sys/seal seals"
    );
}

#[test]
fn tokens_children_expiry_and_cubbyhole() {
    let dir = tempfile::tempdir().unwrap();
    let server = file_server(dir.path());
    let api = Api::new(&server);
    let (key, root) = api.init_and_unseal();
    let t = Some(root.as_str());

    // Header rules: X-Vault-Token wins over Bearer; Bearer is case-sensitive.
    let bearer = api.raw("GET", "/v1/auth/token/lookup-self", None, None, None);
    assert_eq!(
        (bearer.status, Api::error(&bearer).as_str()),
        (403, "permission denied")
    );
    let lookup = api
        .send("GET", "/v1/auth/token/lookup-self", t, None)
        .json();
    assert_eq!(lookup["data"]["policies"], json!(["root"]));
    assert_eq!(lookup["data"]["path"], "auth/token/root");
    assert!(
        lookup["data"].get("issue_time").is_none(),
        "the init root token has no issue_time"
    );
    assert_eq!(
        Api::error(&api.send("POST", "/v1/auth/token/renew-self", t, None)),
        "invalid lease ID"
    );

    let parent = api
        .send(
            "POST",
            "/v1/auth/token/create",
            t,
            Some(&json!({"ttl": "1h", "meta": {"app": "demo"}, "display_name": "demo"})),
        )
        .json();
    let auth = &parent["auth"];
    for field in [
        "client_token",
        "accessor",
        "policies",
        "token_policies",
        "metadata",
        "lease_duration",
        "renewable",
        "entity_id",
        "token_type",
        "orphan",
        "mfa_requirement",
        "num_uses",
    ] {
        assert!(auth.get(field).is_some(), "auth block lacks {field}");
    }
    let p = auth["client_token"].as_str().unwrap().to_string();
    assert!(p.starts_with("s.") && p.len() == 26);
    assert_eq!(auth["accessor"].as_str().unwrap().len(), 24);
    let looked = api
        .send(
            "POST",
            "/v1/auth/token/lookup",
            t,
            Some(&json!({"token": p})),
        )
        .json();
    assert_eq!(
        (
            looked["data"]["display_name"].clone(),
            looked["data"]["meta"]["app"].clone()
        ),
        (json!("token-demo"), json!("demo"))
    );
    assert!(looked["data"]["ttl"].as_u64().unwrap() <= 3600);
    let renewed = api
        .send(
            "POST",
            "/v1/auth/token/renew",
            t,
            Some(&json!({"token": p, "increment": 600})),
        )
        .json();
    assert_eq!(renewed["auth"]["lease_duration"], 600);
    assert_eq!(
        Api::error(&api.send(
            "POST",
            "/v1/auth/token/create",
            t,
            Some(&json!({"ttl": "bogus"}))
        )),
        "time: invalid duration \"bogus\""
    );

    // Children die with their parent; revoke is idempotent; orphans survive.
    let child = api.create_token(t, &json!({"ttl": "1h"}));
    let orphan = api
        .send(
            "POST",
            "/v1/auth/token/create-orphan",
            t,
            Some(&json!({"ttl": "1h"})),
        )
        .json()["auth"]
        .clone();
    assert_eq!(orphan["orphan"], true);
    let grandchild_maker = api.create_token(t, &json!({"policies": ["root"]}));
    let grandchild = api.create_token(Some(&grandchild_maker), &json!({"ttl": "1h"}));
    assert_eq!(
        api.send(
            "POST",
            "/v1/auth/token/revoke",
            t,
            Some(&json!({"token": grandchild_maker}))
        )
        .status,
        204
    );
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", Some(&grandchild), None)
            .status,
        403,
        "revoking a parent revokes its children"
    );
    assert_eq!(
        api.send(
            "POST",
            "/v1/auth/token/revoke",
            t,
            Some(&json!({"token": grandchild_maker}))
        )
        .status,
        204,
        "revoke is idempotent"
    );
    assert_eq!(
        Api::error(&api.send("POST", "/v1/auth/token/revoke", t, Some(&json!({})))),
        "missing token ID"
    );
    assert_eq!(
        api.send(
            "POST",
            "/v1/auth/token/revoke-accessor",
            t,
            Some(&json!({"accessor": orphan["accessor"]}))
        )
        .status,
        204
    );
    assert_eq!(
        api.send(
            "GET",
            "/v1/auth/token/lookup-self",
            Some(orphan["client_token"].as_str().unwrap()),
            None
        )
        .status,
        403
    );
    let accessors = api.send("LIST", "/v1/auth/token/accessors", t, None).json();
    assert!(accessors["data"]["keys"].as_array().unwrap().len() >= 3);

    // Cubbyhole: private, and gone with its token.
    api.send(
        "PUT",
        "/v1/cubbyhole/note",
        Some(&child),
        Some(&json!({"v": "mine"})),
    );
    assert_eq!(
        api.send("GET", "/v1/cubbyhole/note", Some(&child), None)
            .json()["data"]["v"],
        "mine"
    );
    assert_eq!(
        api.send("GET", "/v1/cubbyhole/note", t, None).status,
        404,
        "another token sees nothing"
    );
    api.send(
        "POST",
        "/v1/auth/token/revoke",
        t,
        Some(&json!({"token": child})),
    );

    // num_uses: the last use works, the next is refused.
    let twice = api.create_token(t, &json!({"num_uses": 2}));
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", Some(&twice), None)
            .status,
        200
    );
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", Some(&twice), None)
            .json()["data"]["num_uses"],
        1
    );
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", Some(&twice), None)
            .status,
        403
    );

    // Expiry without a restart, and across one.
    let short = api.create_token(t, &json!({"ttl": "2s"}));
    let across = api.create_token(t, &json!({"ttl": "3s"}));
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", Some(&short), None)
            .status,
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", Some(&short), None)
            .status,
        403,
        "expired without a restart"
    );
    drop(api);
    drop(server);
    let server = file_server(dir.path());
    let api = Api::new(&server);
    api.send("PUT", "/v1/sys/unseal", None, Some(&json!({ "key": key })));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", Some(&across), None)
            .status,
        403,
        "expired across a restart"
    );
    assert_eq!(
        api.send("GET", "/v1/auth/token/lookup-self", t, None)
            .status,
        200,
        "the root token survives"
    );
}
