//! The `storage "consul"` stanza: every option, checked, with errors that name the key.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use vault_plugin_api::{Config, Error};

/// Consul's own default agent address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8500";
/// Vault's default KV prefix.
pub const DEFAULT_PATH: &str = "vault/";
/// Vault's default `max_parallel`.
pub const DEFAULT_MAX_PARALLEL: usize = 128;
/// Vault's default session TTL for the HA lock.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(15);
/// Vault's default `lock_wait_time`: the longest one blocking query waits.
pub const DEFAULT_LOCK_WAIT_TIME: Duration = Duration::from_secs(15);
/// How long one storage call may take, retries included, unless `request_timeout` says.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The parsed stanza.
#[derive(Clone)]
pub struct Settings {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host:port`, as errors show it.
    pub address: String,
    /// The KV prefix: empty or ending with `/`, never starting with one.
    pub path: String,
    /// Sent as `X-Consul-Token`.
    pub token: Option<String>,
    /// `consistency_mode = "strong"`: reads add `?consistent`.
    pub consistent: bool,
    /// The most storage requests in flight at once.
    pub max_parallel: usize,
    /// The rustls client configuration, for https.
    pub tls: Option<Arc<ClientConfig>>,
    /// The bound on one storage call, retries included.
    pub request_timeout: Duration,
    /// The HA lock's session TTL.
    pub session_ttl: Duration,
    /// The longest a blocking query waits.
    pub lock_wait_time: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("scheme", &self.scheme)
            .field("address", &self.address)
            .field("path", &self.path)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("consistent", &self.consistent)
            .field("max_parallel", &self.max_parallel)
            .field("tls", &self.tls.is_some())
            .field("request_timeout", &self.request_timeout)
            .field("session_ttl", &self.session_ttl)
            .field("lock_wait_time", &self.lock_wait_time)
            .finish()
    }
}

impl Settings {
    /// `scheme://address`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }
}

/// Parses the stanza. Nothing here touches the network: an unreachable Consul is not a
/// configuration error.
pub fn parse(mut config: Config) -> Result<Settings, Error> {
    let raw_address = config.take_or("address", DEFAULT_ADDRESS);
    let (url_scheme, address) = parse_address(&raw_address)?;
    let scheme = match (config.take("scheme"), url_scheme) {
        (None, from_url) => from_url.unwrap_or("http"),
        (Some(s), from_url) => {
            let s = match s.trim() {
                "http" => "http",
                "https" => "https",
                other => {
                    return Err(Error::config_key(
                        "scheme",
                        format!("invalid value {other:?}: expected \"http\" or \"https\""),
                    ))
                }
            };
            if from_url.is_some_and(|u| u != s) {
                return Err(Error::config_key(
                    "scheme",
                    format!("{s:?} contradicts the address {raw_address:?}"),
                ));
            }
            s
        }
    };
    let path = parse_path(&config.take_or("path", DEFAULT_PATH))?;
    let token = config.take("token").filter(|t| !t.is_empty());
    let consistent = match config.take_or("consistency_mode", "default").as_str() {
        "default" => false,
        "strong" => true,
        other => {
            return Err(Error::config_key(
                "consistency_mode",
                format!("invalid value {other:?}: expected \"default\" or \"strong\""),
            ))
        }
    };
    let max_parallel: usize = config
        .take_parsed("max_parallel", "a positive whole number")?
        .unwrap_or(DEFAULT_MAX_PARALLEL);
    if max_parallel == 0 {
        return Err(Error::config_key(
            "max_parallel",
            "must be at least 1 (it caps the requests in flight)",
        ));
    }
    let request_timeout = take_duration(&mut config, "request_timeout", DEFAULT_REQUEST_TIMEOUT)?;
    let session_ttl = take_duration(&mut config, "session_ttl", DEFAULT_SESSION_TTL)?;
    let lock_wait_time = take_duration(&mut config, "lock_wait_time", DEFAULT_LOCK_WAIT_TIME)?;

    let tls_keys = TlsKeys {
        ca_file: config.take("tls_ca_file").filter(|s| !s.is_empty()),
        cert_file: config.take("tls_cert_file").filter(|s| !s.is_empty()),
        key_file: config.take("tls_key_file").filter(|s| !s.is_empty()),
        min_version: config.take("tls_min_version").filter(|s| !s.is_empty()),
        skip_verify: config.take_bool("tls_skip_verify")?.unwrap_or(false),
    };
    config.finish()?;

    let tls = if scheme == "https" {
        Some(tls_keys.client_config()?)
    } else {
        if let Some(key) = tls_keys.first_set() {
            return Err(Error::config_key(
                key,
                "TLS options need scheme = \"https\" (or an https:// address)",
            ));
        }
        None
    };
    Ok(Settings {
        scheme,
        address,
        path,
        token,
        consistent,
        max_parallel,
        tls,
        request_timeout,
        session_ttl,
        lock_wait_time,
    })
}

/// `host:port`, `http://host:port` or `https://host:port` (a trailing `/` allowed).
fn parse_address(raw: &str) -> Result<(Option<&'static str>, String), Error> {
    let bad = |why: &str| Error::config_key("address", format!("invalid address {raw:?}: {why}"));
    let trimmed = raw.trim();
    let (scheme, rest) = if let Some(rest) = trimmed.strip_prefix("http://") {
        (Some("http"), rest)
    } else if let Some(rest) = trimmed.strip_prefix("https://") {
        (Some("https"), rest)
    } else if trimmed.starts_with("unix://") {
        return Err(bad("unix sockets are not supported; use host:port"));
    } else if trimmed.contains("://") {
        return Err(bad(
            "expected host:port, http://host:port or https://host:port",
        ));
    } else {
        (None, trimmed)
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(bad("no host"));
    }
    if rest
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@' | '\\'))
    {
        return Err(bad("expected host:port, without a path"));
    }
    // The port, if any, is what follows the last ':' outside an IPv6 literal's brackets.
    let host_end = if rest.starts_with('[') {
        rest.find(']')
            .map(|i| i + 1)
            .ok_or_else(|| bad("unclosed '['"))?
    } else {
        rest.rfind(':').unwrap_or(rest.len())
    };
    let (host, port) = rest.split_at(host_end);
    if host.is_empty() || (!host.starts_with('[') && host.contains(':')) {
        return Err(bad("expected host:port"));
    }
    if let Some(port) = port.strip_prefix(':') {
        if port.parse::<u16>().is_err() {
            return Err(bad("the port must be a number from 0 to 65535"));
        }
    } else if !port.is_empty() {
        return Err(bad("expected host:port"));
    }
    Ok((scheme, rest.to_string()))
}

/// Vault's rule: a trailing `/` is added and a leading `/` dropped.
fn parse_path(raw: &str) -> Result<String, Error> {
    let mut path = raw.trim().to_string();
    if !path.ends_with('/') {
        path.push('/');
    }
    let path = path.trim_start_matches('/').to_string();
    if let Some(inner) = path.strip_suffix('/') {
        if inner
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(Error::config_key(
                "path",
                format!("invalid path {raw:?}: empty, \".\" and \"..\" segments are not allowed"),
            ));
        }
    }
    Ok(path)
}

fn take_duration(config: &mut Config, key: &str, default: Duration) -> Result<Duration, Error> {
    let Some(raw) = config.take(key) else {
        return Ok(default);
    };
    let d = parse_duration(&raw).ok_or_else(|| {
        Error::config_key(
            key,
            format!("invalid duration {raw:?}: expected a Go-style duration such as \"15s\" or \"1m30s\""),
        )
    })?;
    if d.is_zero() || d > Duration::from_secs(24 * 3600) {
        return Err(Error::config_key(
            key,
            format!("{raw:?} is out of range: expected more than 0 and at most 24h"),
        ));
    }
    Ok(d)
}

/// A Go duration (`15s`, `1m30s`, `1.5h`, `250ms`), or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        if num.is_empty() || num == "." {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = tail;
    }
    if !total.is_finite() || total > 1e12 {
        return None;
    }
    Some(Duration::from_secs_f64(total))
}

/// A duration the way Go prints short ones: `15s`, `1.5s`, `250ms`.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if Duration::from_millis(d.as_millis() as u64) == d {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}ns", d.as_nanos())
    }
}

struct TlsKeys {
    ca_file: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    min_version: Option<String>,
    skip_verify: bool,
}

impl TlsKeys {
    fn first_set(&self) -> Option<&'static str> {
        [
            ("tls_ca_file", self.ca_file.is_some()),
            ("tls_cert_file", self.cert_file.is_some()),
            ("tls_key_file", self.key_file.is_some()),
            ("tls_min_version", self.min_version.is_some()),
            ("tls_skip_verify", self.skip_verify),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(k, _)| k)
    }

    fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&'static rustls::SupportedProtocolVersion] =
            match self.min_version.as_deref().unwrap_or("tls12") {
                "tls12" => &[&rustls::version::TLS13, &rustls::version::TLS12],
                "tls13" => &[&rustls::version::TLS13],
                "tls10" | "tls11" => {
                    return Err(Error::config_key(
                        "tls_min_version",
                        "TLS 1.0 and 1.1 are not supported; use \"tls12\" or \"tls13\"",
                    ))
                }
                other => {
                    return Err(Error::config_key(
                        "tls_min_version",
                        format!("invalid value {other:?}: expected \"tls12\" or \"tls13\""),
                    ))
                }
            };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| Error::config(format!("TLS set-up failed: {e}")))?;
        let builder = if self.skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            match &self.ca_file {
                Some(file) => {
                    let certs = read_certs("tls_ca_file", file)?;
                    for cert in certs {
                        roots.add(cert).map_err(|e| {
                            Error::config_key(
                                "tls_ca_file",
                                format!("{file}: not a usable CA certificate: {e}"),
                            )
                        })?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots)
        };
        let config = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let certs = read_certs("tls_cert_file", cert)?;
                let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    Error::config_key("tls_key_file", format!("{key}: no usable private key: {e}"))
                })?;
                builder.with_client_auth_cert(certs, key_der).map_err(|e| {
                    Error::config_key(
                        "tls_key_file",
                        format!("{key} does not go with tls_cert_file {cert}: {e}"),
                    )
                })?
            }
            (Some(_), None) => {
                return Err(Error::config_key(
                    "tls_cert_file",
                    "needs tls_key_file too (a client certificate needs its key)",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::config_key(
                    "tls_key_file",
                    "needs tls_cert_file too (a client key needs its certificate)",
                ))
            }
            (None, None) => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

fn read_certs(key: &str, file: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::config_key(key, format!("{file}: cannot read PEM certificates: {e}"))
        })?;
    if certs.is_empty() {
        return Err(Error::config_key(
            key,
            format!("{file}: holds no PEM certificate"),
        ));
    }
    Ok(certs)
}

/// `tls_skip_verify`: any certificate is accepted (handshake signatures are still checked,
/// so the connection is encrypted, but not authenticated).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_pairs(pairs: &[(&str, &str)]) -> Result<Settings, Error> {
        parse(Config::new(pairs.iter().copied()))
    }

    fn key_of(pairs: &[(&str, &str)]) -> (Option<String>, String) {
        let err = parse_pairs(pairs).unwrap_err();
        (err.key().map(str::to_string), err.to_string())
    }

    #[test]
    fn defaults_are_vaults() {
        let s = parse_pairs(&[]).unwrap();
        assert_eq!(s.base_url(), "http://127.0.0.1:8500");
        assert_eq!(s.path, "vault/");
        assert_eq!(s.max_parallel, 128);
        assert!(!s.consistent);
        assert!(s.token.is_none() && s.tls.is_none());
        assert_eq!(s.session_ttl, Duration::from_secs(15));
        assert_eq!(s.lock_wait_time, Duration::from_secs(15));
    }

    #[test]
    fn addresses_and_schemes() {
        let s = parse_pairs(&[("address", "consul.internal:8501"), ("scheme", "https")]).unwrap();
        assert_eq!(s.base_url(), "https://consul.internal:8501");
        assert!(s.tls.is_some());
        let s = parse_pairs(&[("address", "https://10.0.0.1:8501/")]).unwrap();
        assert_eq!(s.base_url(), "https://10.0.0.1:8501");
        let s = parse_pairs(&[("address", "http://[::1]:8500")]).unwrap();
        assert_eq!(s.base_url(), "http://[::1]:8500");
        let s = parse_pairs(&[("address", "localhost")]).unwrap();
        assert_eq!(s.base_url(), "http://localhost");
        for bad in [
            "",
            "http://",
            "a:b:c",
            "host:99999",
            "host/x",
            "ftp://h:1",
            "unix:///s",
        ] {
            let (key, msg) = key_of(&[("address", bad)]);
            assert_eq!(key.as_deref(), Some("address"), "{bad:?}: {msg}");
        }
        let (key, msg) = key_of(&[("scheme", "ftp")]);
        assert_eq!(key.as_deref(), Some("scheme"));
        assert!(msg.contains("\"http\" or \"https\""), "{msg}");
        let (key, _) = key_of(&[("address", "https://h:1"), ("scheme", "http")]);
        assert_eq!(key.as_deref(), Some("scheme"));
    }

    #[test]
    fn paths_follow_vaults_rule() {
        for (raw, want) in [
            ("vault", "vault/"),
            ("/vault", "vault/"),
            ("/a/b/", "a/b/"),
            ("vault/", "vault/"),
        ] {
            assert_eq!(parse_pairs(&[("path", raw)]).unwrap().path, want, "{raw:?}");
        }
        let (key, _) = key_of(&[("path", "a//b")]);
        assert_eq!(key.as_deref(), Some("path"));
        let (key, _) = key_of(&[("path", "a/../b")]);
        assert_eq!(key.as_deref(), Some("path"));
    }

    #[test]
    fn consistency_mode_and_max_parallel() {
        assert!(
            parse_pairs(&[("consistency_mode", "strong")])
                .unwrap()
                .consistent
        );
        let (key, msg) = key_of(&[("consistency_mode", "eventual")]);
        assert_eq!(key.as_deref(), Some("consistency_mode"));
        assert!(msg.contains("\"default\" or \"strong\""), "{msg}");
        assert_eq!(
            parse_pairs(&[("max_parallel", "4")]).unwrap().max_parallel,
            4
        );
        for bad in ["0", "-1", "many"] {
            let (key, _) = key_of(&[("max_parallel", bad)]);
            assert_eq!(key.as_deref(), Some("max_parallel"), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let (key, msg) = key_of(&[("adress", "x:1")]);
        assert_eq!(key.as_deref(), Some("adress"));
        assert!(msg.contains("unknown key \"adress\""), "{msg}");
        assert!(
            msg.contains("address") && msg.contains("consistency_mode"),
            "{msg}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("20"), Some(Duration::from_secs(20)));
        for bad in ["", "s", "15x", "1..5s", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(format_duration(Duration::from_secs(15)), "15s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        let s = parse_pairs(&[("session_ttl", "20s"), ("request_timeout", "2s")]).unwrap();
        assert_eq!(s.session_ttl, Duration::from_secs(20));
        assert_eq!(s.request_timeout, Duration::from_secs(2));
        for key in ["session_ttl", "lock_wait_time", "request_timeout"] {
            let (k, _) = key_of(&[(key, "soon")]);
            assert_eq!(k.as_deref(), Some(key));
            let (k, _) = key_of(&[(key, "0s")]);
            assert_eq!(k.as_deref(), Some(key));
        }
    }

    #[test]
    fn tls_options() {
        let (key, _) = key_of(&[("tls_ca_file", "/x.pem")]);
        assert_eq!(
            key.as_deref(),
            Some("tls_ca_file"),
            "TLS options need https"
        );
        let (key, msg) = key_of(&[("scheme", "https"), ("tls_ca_file", "/does/not/exist.pem")]);
        assert_eq!(key.as_deref(), Some("tls_ca_file"));
        assert!(msg.contains("/does/not/exist.pem"), "{msg}");
        let (key, _) = key_of(&[("scheme", "https"), ("tls_min_version", "tls10")]);
        assert_eq!(key.as_deref(), Some("tls_min_version"));
        let (key, _) = key_of(&[("scheme", "https"), ("tls_min_version", "ssl3")]);
        assert_eq!(key.as_deref(), Some("tls_min_version"));
        let (key, _) = key_of(&[("scheme", "https"), ("tls_skip_verify", "maybe")]);
        assert_eq!(key.as_deref(), Some("tls_skip_verify"));

        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let ca_file = dir.path().join("ca.pem");
        let key_file = dir.path().join("key.pem");
        std::fs::write(&ca_file, ca.cert.pem()).unwrap();
        std::fs::write(&key_file, ca.key_pair.serialize_pem()).unwrap();
        let ca_path = ca_file.to_str().unwrap();
        let key_path = key_file.to_str().unwrap();
        parse_pairs(&[
            ("scheme", "https"),
            ("tls_ca_file", ca_path),
            ("tls_cert_file", ca_path),
            ("tls_key_file", key_path),
            ("tls_min_version", "tls13"),
        ])
        .unwrap();
        parse_pairs(&[("scheme", "https"), ("tls_skip_verify", "true")]).unwrap();
        let (key, _) = key_of(&[("scheme", "https"), ("tls_cert_file", ca_path)]);
        assert_eq!(key.as_deref(), Some("tls_cert_file"));
        let (key, _) = key_of(&[("scheme", "https"), ("tls_key_file", key_path)]);
        assert_eq!(key.as_deref(), Some("tls_key_file"));
        let (key, _) = key_of(&[("scheme", "https"), ("tls_ca_file", key_path)]);
        assert_eq!(
            key.as_deref(),
            Some("tls_ca_file"),
            "a key file is no CA bundle"
        );
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let s = parse_pairs(&[("token", "s3cr3t")]).unwrap();
        assert_eq!(s.token.as_deref(), Some("s3cr3t"));
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
