//! Throwaway certificates for the TLS tests: a CA, a server certificate for 127.0.0.1 and
//! localhost, and a client certificate, all made with rcgen.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

/// The certificates, in DER (for rustls) beside the PEM files written.
pub struct Pki {
    /// The CA certificate.
    pub ca_der: Vec<u8>,
    /// The server certificate, signed by the CA.
    pub server_cert_der: Vec<u8>,
    /// The server's PKCS#8 key.
    pub server_key_der: Vec<u8>,
    /// The client certificate (client-auth usage), signed by the CA.
    pub client_cert_der: Vec<u8>,
    /// The client's PKCS#8 key.
    pub client_key_der: Vec<u8>,
}

/// Makes a PKI and writes `ca.pem`, `server.pem`, `server-key.pem`, `client.pem` and
/// `client-key.pem` into `dir`.
pub fn make(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vault test CA");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");

    let server_key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params")
        .signed_by(&server_key, &ca, &ca_key)
        .expect("server certificate");

    let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    client_params
        .distinguished_name
        .push(DnType::CommonName, "vault test client");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().expect("client key");
    let client = client_params
        .signed_by(&client_key, &ca, &ca_key)
        .expect("client certificate");

    for (name, pem) in [
        ("ca.pem", ca.pem()),
        ("server.pem", server.pem()),
        ("server-key.pem", server_key.serialize_pem()),
        ("client.pem", client.pem()),
        ("client-key.pem", client_key.serialize_pem()),
    ] {
        std::fs::write(dir.join(name), pem).expect("write a PEM file");
    }
    Pki {
        ca_der: ca.der().to_vec(),
        server_cert_der: server.der().to_vec(),
        server_key_der: server_key.serialize_der(),
        client_cert_der: client.der().to_vec(),
        client_key_der: client_key.serialize_der(),
    }
}
