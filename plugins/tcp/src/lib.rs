//! `tcp`: the TCP listener plugin.
//!
//! It parses the `listener "tcp" { ... }` stanza, binds the socket and hands it to the
//! host with the parsed settings; the host accepts connections, terminates TLS (rustls)
//! and serves HTTP. The plugin is called once at start-up and is never on the request path.
//!
//! Keys (all strings, as Vault passes them):
//! `address` (default `127.0.0.1:8200`; port 0 picks a free port),
//! `tls_disable` (`true`/`false`, `1`/`0`; TLS is on unless disabled, as in Vault),
//! `tls_cert_file`, `tls_key_file` (PEM; required when TLS is on),
//! `tls_min_version` (`tls12`, the default, or `tls13`),
//! `tls_client_ca_file` (PEM CA bundle for client certificates),
//! `tls_require_and_verify_client_cert` (refuse clients without a certificate from that CA),
//! `max_request_size` (bytes, default 33554432 = 32 MiB; larger bodies get 413).

use std::collections::BTreeMap;
use std::net::TcpListener;

use vault_plugin_api::{
    parse_size, BoundListener, Config, Error, ListenerPlugin, ListenerSettings, TlsSettings,
    TlsVersion,
};

/// Vault's default listener address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8200";
/// Vault's default request body limit.
pub const DEFAULT_MAX_REQUEST_SIZE: u64 = 32 << 20;

/// The tcp listener.
pub struct Tcp;

/// Parses a stanza into settings, without binding (so it can be tested on its own).
pub fn parse_settings(mut config: Config) -> Result<ListenerSettings, Error> {
    let address = config.take_or("address", DEFAULT_ADDRESS);
    let tls_disable = config.take_bool("tls_disable")?.unwrap_or(false);
    let cert_file = config.take("tls_cert_file").filter(|s| !s.is_empty());
    let key_file = config.take("tls_key_file").filter(|s| !s.is_empty());
    let min_version = match config.take("tls_min_version").as_deref() {
        None | Some("") | Some("tls12") => TlsVersion::Tls12,
        Some("tls13") => TlsVersion::Tls13,
        Some(other) => {
            return Err(Error::config_key(
                "tls_min_version",
                format!("unsupported value {other:?}: expected \"tls12\" or \"tls13\""),
            ))
        }
    };
    let client_ca_file = config.take("tls_client_ca_file").filter(|s| !s.is_empty());
    let require_client_cert = config
        .take_bool("tls_require_and_verify_client_cert")?
        .unwrap_or(false);
    let max_request_size = match config.take("max_request_size") {
        None => DEFAULT_MAX_REQUEST_SIZE,
        Some(raw) => match parse_size(&raw) {
            Some(0) => DEFAULT_MAX_REQUEST_SIZE,
            Some(n) => n,
            None => {
                return Err(Error::config_key(
                    "max_request_size",
                    format!("invalid size {raw:?}: expected a number of bytes"),
                ))
            }
        },
    };
    config.finish()?;

    let tls = if tls_disable {
        None
    } else {
        let (Some(cert_file), Some(key_file)) = (cert_file, key_file) else {
            return Err(Error::config(
                "TLS is enabled but tls_cert_file and tls_key_file are not both set \
                 (set them, or set tls_disable = 1 to serve plain HTTP)",
            ));
        };
        if require_client_cert && client_ca_file.is_none() {
            return Err(Error::config_key(
                "tls_require_and_verify_client_cert",
                "requires tls_client_ca_file, the CA that client certificates are checked against",
            ));
        }
        Some(TlsSettings {
            cert_file,
            key_file,
            min_version,
            client_ca_file,
            require_client_cert,
        })
    };
    Ok(ListenerSettings {
        address,
        tls,
        max_request_size,
        extra: BTreeMap::new(),
    })
}

impl ListenerPlugin for Tcp {
    fn bind(config: Config) -> Result<BoundListener, Error> {
        let mut settings = parse_settings(config)?;
        let socket = TcpListener::bind(&settings.address)
            .map_err(|e| Error::io(format!("cannot listen on {}", settings.address), e))?;
        let bound = socket.local_addr().map_err(|e| {
            Error::io(
                format!("cannot read the address of {}", settings.address),
                e,
            )
        })?;
        settings.address = bound.to_string();
        Ok(BoundListener { socket, settings })
    }
}

vault_plugin_api::export_listener_plugin!("tcp", Tcp);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ListenerSettings, Error> {
        parse_settings(Config::new(pairs.iter().copied()))
    }

    #[test]
    fn deploy_guide_stanza() {
        let s = parse(&[("address", "127.0.0.1:8200"), ("tls_disable", "1")]).unwrap();
        assert_eq!(s.address, "127.0.0.1:8200");
        assert_eq!(s.tls, None);
        assert_eq!(s.max_request_size, 33554432);
    }

    #[test]
    fn tls_is_on_unless_disabled() {
        let err = parse(&[]).unwrap_err();
        assert!(err.to_string().contains("tls_cert_file"), "{err}");
        let s = parse(&[
            ("tls_cert_file", "c.pem"),
            ("tls_key_file", "k.pem"),
            ("tls_min_version", "tls13"),
        ])
        .unwrap();
        let tls = s.tls.unwrap();
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert!(!tls.require_client_cert);
    }

    #[test]
    fn client_cert_requirement_needs_a_ca() {
        let err = parse(&[
            ("tls_cert_file", "c.pem"),
            ("tls_key_file", "k.pem"),
            ("tls_require_and_verify_client_cert", "true"),
        ])
        .unwrap_err();
        assert_eq!(err.key(), Some("tls_require_and_verify_client_cert"));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("tls_disable", "maybe"),
            ("tls_min_version", "ssl3"),
            ("max_request_size", "big"),
        ] {
            let err = parse(
                &[(key, value), ("tls_disable", "1")]
                    .iter()
                    .copied()
                    .rev()
                    .collect::<Vec<_>>(),
            )
            .unwrap_err();
            assert_eq!(err.key(), Some(key), "{err}");
        }
        let err = parse(&[("tls_disable", "1"), ("adress", "x")]).unwrap_err();
        assert!(err.to_string().contains("unknown key \"adress\""), "{err}");
    }

    #[test]
    fn binds_port_zero_and_reports_the_real_port() {
        let bound = Tcp::bind(Config::new([
            ("address", "127.0.0.1:0"),
            ("tls_disable", "true"),
        ]))
        .unwrap();
        assert_ne!(bound.settings.address, "127.0.0.1:0");
        assert_eq!(
            bound.socket.local_addr().unwrap().to_string(),
            bound.settings.address
        );
    }

    #[test]
    fn max_request_size_units() {
        let s = parse(&[("tls_disable", "1"), ("max_request_size", "1024")]).unwrap();
        assert_eq!(s.max_request_size, 1024);
    }
}
