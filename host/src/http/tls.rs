//! TLS termination for listeners, with rustls (ring provider).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;
use vault_plugin_api::{TlsSettings, TlsVersion};

/// Why a listener's TLS setup failed. Each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file could not be read or holds no certificate.
    #[error("tls_cert_file {file}: {reason}")]
    Cert {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// The key file could not be read or holds no private key.
    #[error("tls_key_file {file}: {reason}")]
    Key {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// The client CA file could not be used.
    #[error("tls_client_ca_file {file}: {reason}")]
    ClientCa {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the combination (for example a key that does not match the cert).
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn load_certs(file: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(file)
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

/// Builds the acceptor from the files the listener names.
pub fn build_acceptor(settings: &TlsSettings) -> Result<TlsAcceptor, TlsError> {
    let certs = load_certs(&settings.cert_file).map_err(|reason| TlsError::Cert {
        file: settings.cert_file.clone(),
        reason,
    })?;
    let key = PrivateKeyDer::from_pem_file(&settings.key_file).map_err(|e| TlsError::Key {
        file: settings.key_file.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &settings.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let ca_error = |reason: String| TlsError::ClientCa {
                file: ca_file.clone(),
                reason,
            };
            let mut roots = RootCertStore::empty();
            for cert in load_certs(ca_file).map_err(ca_error)? {
                roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if settings.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder
                .with_client_cert_verifier(verifier.build().map_err(|e| ca_error(e.to_string()))?)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
