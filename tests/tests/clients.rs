//! Unmodified Vault clients against the real server: hvac (Python) runs
//! `tests/python/test_hvac.py`.

use std::process::{Command, Stdio};
use std::time::Duration;

use vault_tests::{isolated_home, wait_bounded, workspace_root, Server};

fn root_token(server: &Server) -> String {
    let banner = server.stdout.text();
    banner
        .lines()
        .find_map(|l| l.strip_prefix("Root Token: "))
        .expect("dev banner shows the root token")
        .trim()
        .to_string()
}

#[test]
fn hvac_suite_passes_against_the_server() {
    let server =
        Server::start(&["server", "-dev", "-dev-listen-address=127.0.0.1:0"]).expect("dev server");
    let token = root_token(&server);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let has_hvac = Command::new(&python)
        .args(["-c", "import hvac"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_hvac,
        "hvac is not installed for {python}: pip install -r tests/python/requirements.txt"
    );
    let mut child = Command::new(&python)
        .args(["-m", "unittest", "-v", "test_hvac"])
        .current_dir(workspace_root().join("tests/python"))
        .env("VAULT_ADDR", server.url(""))
        .env("VAULT_TOKEN", &token)
        .env("HOME", isolated_home())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run python");
    let status = wait_bounded(&mut child, Duration::from_secs(300));
    assert!(status.success(), "the hvac suite failed (output above)");
}

/// vaultrs (Rust) deserialises strictly: every field it expects must be there.
#[test]
fn vaultrs_drives_kv_and_tokens() {
    use vaultrs::client::{Client, VaultClient, VaultClientSettingsBuilder};

    let server =
        Server::start(&["server", "-dev", "-dev-listen-address=127.0.0.1:0"]).expect("dev server");
    let token = root_token(&server);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let settings = VaultClientSettingsBuilder::default()
            .address(server.url(""))
            .token(&token)
            .timeout(Some(Duration::from_secs(10)))
            .build()
            .unwrap();
        let client = VaultClient::new(settings).unwrap();

        let health = vaultrs::sys::health(&client).await.expect("health");
        assert!(!health.sealed);
        let status = client.status().await.expect("status");
        assert!(
            matches!(status, vaultrs::sys::ServerStatus::OK),
            "{status:?}"
        );

        // KV v1 on the default secret/ mount.
        let mut secret = std::collections::HashMap::new();
        secret.insert("value", "world");
        vaultrs::kv1::set(&client, "secret", "hello", &secret)
            .await
            .expect("kv1 set");
        let read: std::collections::HashMap<String, String> =
            vaultrs::kv1::get(&client, "secret", "hello")
                .await
                .expect("kv1 get");
        assert_eq!(read.get("value").map(String::as_str), Some("world"));
        let keys = vaultrs::kv1::list(&client, "secret", "")
            .await
            .expect("kv1 list");
        assert!(keys.data.keys.contains(&"hello".to_string()));
        vaultrs::kv1::delete(&client, "secret", "hello")
            .await
            .expect("kv1 delete");
        assert!(
            vaultrs::kv1::get::<std::collections::HashMap<String, String>>(
                &client, "secret", "hello"
            )
            .await
            .is_err()
        );

        // KV v2 on a new mount.
        vaultrs::sys::mount::enable(
            &client,
            "kv2",
            "kv",
            Some(
                vaultrs::api::sys::requests::EnableEngineRequest::builder().options(
                    std::collections::HashMap::from([("version".to_string(), "2".to_string())]),
                ),
            ),
        )
        .await
        .expect("enable kv2");
        let mounts = vaultrs::sys::mount::list(&client)
            .await
            .expect("list mounts");
        assert!(mounts.contains_key("kv2/"));
        vaultrs::kv2::set(&client, "kv2", "app", &secret)
            .await
            .expect("kv2 set");
        vaultrs::kv2::set(
            &client,
            "kv2",
            "app",
            &std::collections::HashMap::from([("value", "two")]),
        )
        .await
        .expect("kv2 set again");
        let latest: std::collections::HashMap<String, String> =
            vaultrs::kv2::read(&client, "kv2", "app")
                .await
                .expect("kv2 read");
        assert_eq!(latest.get("value").map(String::as_str), Some("two"));
        let first: std::collections::HashMap<String, String> =
            vaultrs::kv2::read_version(&client, "kv2", "app", 1)
                .await
                .expect("kv2 read v1");
        assert_eq!(first.get("value").map(String::as_str), Some("world"));
        let meta = vaultrs::kv2::read_metadata(&client, "kv2", "app")
            .await
            .expect("metadata");
        assert_eq!(meta.current_version, 2);

        // Tokens.
        let created = vaultrs::token::new(
            &client,
            Some(
                vaultrs::api::token::requests::CreateTokenRequest::builder()
                    .ttl("1h")
                    .policies(vec!["default".to_string()]),
            ),
        )
        .await
        .expect("token create");
        assert_eq!(created.lease_duration, 3600);
        let looked = vaultrs::token::lookup(&client, &created.client_token)
            .await
            .expect("lookup");
        assert_eq!(looked.accessor, created.accessor);
        let by_accessor = vaultrs::token::lookup_accessor(&client, &created.accessor)
            .await
            .expect("lookup accessor");
        assert_eq!(by_accessor.accessor, created.accessor);
        vaultrs::token::revoke(&client, &created.client_token)
            .await
            .expect("revoke");
        assert!(vaultrs::token::lookup(&client, &created.client_token)
            .await
            .is_err());

        // Legacy policy read: vaultrs reads `name` and `rules`.
        vaultrs::sys::policy::set(
            &client,
            "ro",
            "path \"secret/*\" {\n  capabilities = [\"read\"]\n}",
        )
        .await
        .expect("policy set");
        let policy = vaultrs::sys::policy::read(&client, "ro")
            .await
            .expect("policy read");
        assert_eq!(policy.name, "ro");
        assert!(policy.rules.contains("secret/*"));
    });
}
