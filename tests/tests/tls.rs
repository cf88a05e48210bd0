//! TLS listeners: certificates made by the test (rcgen), a real rustls client (ureq).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vault_tests::{run_vault, Server};

/// What the client needs from the test PKI (the server's files are written to `dir`).
struct Pki {
    ca_der: CertificateDer<'static>,
    client_cert: CertificateDer<'static>,
    client_key: Vec<u8>,
}

fn make_pki(dir: &Path) -> Pki {
    let pki = vault_tests::pki::make(dir);
    Pki {
        ca_der: CertificateDer::from(pki.ca_der),
        client_cert: CertificateDer::from(pki.client_cert_der),
        client_key: pki.client_key_der,
    }
}

fn tls_server(dir: &Path, extra: &str) -> Result<Server, vault_tests::StartFailure> {
    let config = format!(
        "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_cert_file = \"{0}/server.pem\"\n  tls_key_file = \"{0}/server-key.pem\"\n{extra}}}\ndisable_mlock = true\n",
        dir.display()
    );
    Server::with_config(dir, "tls.hcl", &config, &[])
}

fn client(
    pki: &Pki,
    with_cert: bool,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ureq::Agent {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots);
    let config = if with_cert {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.client_key.clone()));
        builder
            .with_client_auth_cert(vec![pki.client_cert.clone()], key)
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout(std::time::Duration::from_secs(10))
        .build()
}

fn health_status(agent: &ureq::Agent, url: &str) -> Result<u16, String> {
    match agent.get(url).call() {
        Ok(r) => Ok(r.status()),
        Err(ureq::Error::Status(code, _)) => Ok(code),
        Err(e) => Err(e.to_string()),
    }
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

#[test]
fn tls_listener_serves_https_and_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let server = tls_server(dir.path(), "").expect("TLS server starts");
    assert!(server.stdout.text().contains("tls: \"enabled\""));
    let url = format!("https://{}/v1/sys/health", server.addr);
    assert_eq!(health_status(&client(&pki, false, BOTH), &url), Ok(501));
    let plain = format!("http://{}/v1/sys/health", server.addr);
    assert!(
        health_status(&vault_tests::agent(), &plain).is_err(),
        "plain HTTP on a TLS port must fail"
    );
    // The failed plaintext attempt did not hurt the listener.
    assert_eq!(health_status(&client(&pki, false, BOTH), &url), Ok(501));
    assert!(server.stop().success());
}

#[test]
fn tls_min_version_13_refuses_tls_12_clients() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let server = tls_server(dir.path(), "  tls_min_version = \"tls13\"\n").expect("starts");
    let url = format!("https://{}/v1/sys/health", server.addr);
    assert!(health_status(&client(&pki, false, &[&rustls::version::TLS12]), &url).is_err());
    assert_eq!(
        health_status(&client(&pki, false, &[&rustls::version::TLS13]), &url),
        Ok(501)
    );
}

#[test]
fn client_certificates_are_required_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let extra = format!(
        "  tls_client_ca_file = \"{}/ca.pem\"\n  tls_require_and_verify_client_cert = true\n",
        dir.path().display()
    );
    let server = tls_server(dir.path(), &extra).expect("starts");
    let url = format!("https://{}/v1/sys/health", server.addr);
    assert!(
        health_status(&client(&pki, false, BOTH), &url).is_err(),
        "a client without a certificate is refused"
    );
    assert_eq!(health_status(&client(&pki, true, BOTH), &url), Ok(501));
}

#[test]
fn tls_config_mistakes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("notls.hcl");
    std::fs::write(
        &config,
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n}\ndisable_mlock = true\n",
    )
    .unwrap();
    let (code, _, stderr) = run_vault(&["server", &format!("-config={}", config.display())]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("tls_cert_file") && stderr.contains("tls_disable"),
        "{stderr}"
    );

    let (code, _, stderr) = match tls_server(dir.path(), "") {
        Ok(_) => panic!("starts without certificate files"),
        Err(f) => (f.status.and_then(|s| s.code()), f.stdout, f.stderr),
    };
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("tls_cert_file") && stderr.contains("server.pem"),
        "{stderr}"
    );
}
