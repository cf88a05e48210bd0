//! A small blocking client for the server's HTTP API, as the CLI commands use it.
//!
//! [`Settings::resolve`] works out where to connect and with which token from the flags,
//! the environment and `~/.vault-token`; [`Client`] sends the requests (with
//! `X-Vault-Token` and `X-Vault-Request: true`) and turns non-2xx answers into an
//! [`Error`] that prints like the Vault CLI's ("Error making API request. ...").
//!
//! Secrets never appear in an error or a `Debug` string: request bodies (which carry
//! unseal keys) are not part of any error, and the token's `Debug` is redacted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use zeroize::Zeroizing;

/// The address used when neither `-address`, `BAO_ADDR` nor `VAULT_ADDR` is set.
///
/// **Plain `http`**, unlike OpenBao and Vault whose default is `https://127.0.0.1:8200`:
/// the deploy guide's listener has `tls_disable = 1` and the guide never sets
/// `VAULT_ADDR`, so `vault init` there must reach `http://127.0.0.1:8200` as it is.
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:8200";

/// The token helper file, in the home folder (the same name as Vault and OpenBao use).
pub const TOKEN_FILE: &str = ".vault-token";

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take (OpenBao's server gives up after 90s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest response body read.
const MAX_BODY: u64 = 32 * 1024 * 1024;

/// Connection flags shared by every command that talks to a server.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientArgs {
    /// The server's address (default: $BAO_ADDR, else $VAULT_ADDR, else http://127.0.0.1:8200).
    #[arg(long = "address", value_name = "ADDR")]
    pub address: Option<String>,
    /// A PEM file of CA certificates to verify the server with (default: $BAO_CACERT, else
    /// $VAULT_CACERT).
    #[arg(long = "ca-cert", value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the server's certificate (default: $BAO_SKIP_VERIFY, else
    /// $VAULT_SKIP_VERIFY). Insecure.
    #[arg(long = "tls-skip-verify")]
    pub tls_skip_verify: bool,
}

/// A token; its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Token(Zeroizing::new(value.into()))
    }

    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where and how to connect, resolved from flags, environment and the token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `http(s)://host:port`, without a trailing slash.
    pub address: String,
    /// The token to send, if any.
    pub token: Option<Token>,
    /// A PEM CA file to trust instead of the built-in roots (https only).
    pub ca_cert: Option<PathBuf>,
    /// Accept any server certificate (https only).
    pub skip_verify: bool,
}

/// The first of `names` set to a non-empty value (Go's `os.Getenv(x) != ""` checks).
fn first_var(env: &dyn Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| env(name))
        .find(|value| !value.is_empty())
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The address: `flag`, else `BAO_ADDR`, else `VAULT_ADDR`, else [`DEFAULT_ADDRESS`];
/// any trailing `/` removed.
pub fn resolve_address(flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> String {
    let address = flag
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .or_else(|| first_var(env, &["BAO_ADDR", "VAULT_ADDR"]))
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_string());
    address.trim_end_matches('/').to_string()
}

/// The token: `BAO_TOKEN`, else `VAULT_TOKEN`, else the trimmed contents of
/// `<home>/.vault-token`, else none (an empty value counts as unset).
pub fn resolve_token(env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<Token> {
    if let Some(token) = first_var(env, &["BAO_TOKEN", "VAULT_TOKEN"]) {
        return Some(Token::new(token));
    }
    let path = home?.join(TOKEN_FILE);
    let text = Zeroizing::new(std::fs::read_to_string(path).ok()?);
    let token = text.trim();
    (!token.is_empty()).then(|| Token::new(token))
}

impl Settings {
    /// Resolves the settings from the flags, an environment lookup and the home folder
    /// (parameters rather than the process environment, so tests can inject them).
    pub fn resolve(
        args: &ClientArgs,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Settings, Error> {
        let address = resolve_address(args.address.as_deref(), env);
        let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
            address.len() > scheme.len() && address[..scheme.len()].eq_ignore_ascii_case(scheme)
        });
        if !scheme_ok {
            return Err(Error::Config(format!(
                "invalid address {address:?}: it must start with http:// or https://"
            )));
        }
        let ca_cert = args
            .ca_cert
            .clone()
            .or_else(|| first_var(env, &["BAO_CACERT", "VAULT_CACERT"]).map(PathBuf::from));
        let skip_verify = if args.tls_skip_verify {
            true
        } else {
            match ["BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"]
                .iter()
                .find_map(|name| env(name).filter(|v| !v.is_empty()).map(|v| (*name, v)))
            {
                None => false,
                Some((name, value)) => parse_bool(&value)
                    .ok_or_else(|| Error::Config(format!("could not parse {name}")))?,
            }
        };
        Ok(Settings {
            address,
            token: resolve_token(env, home),
            ca_cert,
            skip_verify,
        })
    }

    /// Resolves from the process environment and `$HOME`.
    pub fn from_process(args: &ClientArgs) -> Result<Settings, Error> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        Settings::resolve(args, &|name| std::env::var(name).ok(), home.as_deref())
    }

    fn is_https(&self) -> bool {
        self.address
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }
}

/// A failed request or a client that could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server answered with a non-2xx status.
    Api {
        /// `GET`, `PUT`, ...
        method: String,
        /// The full URL (no token or body in it).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The `errors` array, or the raw body when it was not Vault's error JSON.
        errors: Vec<String>,
        /// Whether `errors` holds a raw, non-JSON body.
        raw: bool,
    },
    /// No answer: connection refused, TLS failure, timeout...
    Transport {
        /// `GET`, `PUT`, ...
        method: String,
        /// The full URL.
        url: String,
        /// What went wrong, on one line.
        message: String,
    },
    /// A 2xx answer whose body was not what the command expected.
    Decode {
        /// `GET`, `PUT`, ...
        method: String,
        /// The full URL.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// Bad settings: an unusable address, CA file or variable.
    Config(String),
}

impl Error {
    /// The CLI's exit code for this error: 2 when the server answered, 1 when it could
    /// not be reached or the settings are wrong.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Api { .. } | Error::Decode { .. } => 2,
            Error::Transport { .. } | Error::Config(_) => 1,
        }
    }

    /// The `errors` of an API error (empty for other kinds).
    pub fn api_errors(&self) -> &[String] {
        match self {
            Error::Api { errors, .. } => errors,
            _ => &[],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api {
                method,
                url,
                status,
                errors,
                raw,
            } => {
                let kind = if *raw { "Raw Message" } else { "Errors" };
                write!(
                    f,
                    "Error making API request.\n\nURL: {method} {url}\nCode: {status}. {kind}:\n\n"
                )?;
                if *raw {
                    f.write_str(&errors.join("\n"))
                } else {
                    let lines: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
                    f.write_str(&lines.join("\n"))
                }
            }
            Error::Transport {
                method,
                url,
                message,
            } => write!(f, "{method} {url}: {message}"),
            Error::Decode {
                method,
                url,
                message,
            } => write!(f, "unexpected response to {method} {url}: {message}"),
            Error::Config(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// A response with its status, whatever the status.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The parsed body; `Null` when empty (204).
    pub body: Value,
    /// The body text when it was not JSON.
    pub raw: Option<String>,
}

/// A blocking API client.
pub struct Client {
    agent: ureq::Agent,
    settings: Settings,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `settings` (loads the CA file for https addresses).
    pub fn new(settings: Settings) -> Result<Client, Error> {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirects(0)
            .user_agent(&format!("vault-cli/{}", crate::VERSION));
        if settings.is_https() && (settings.skip_verify || settings.ca_cert.is_some()) {
            builder = builder.tls_config(tls_config(&settings)?);
        }
        Ok(Client {
            agent: builder.build(),
            settings,
        })
    }

    /// The server address.
    pub fn address(&self) -> &str {
        &self.settings.address
    }

    /// Whether a token will be sent.
    pub fn has_token(&self) -> bool {
        self.settings.token.is_some()
    }

    /// `<address>/v1/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/v1/{}",
            self.settings.address,
            path.trim_start_matches('/')
        )
    }

    /// The token that will be sent, if any.
    pub fn token(&self) -> Option<&Token> {
        self.settings.token.as_ref()
    }

    /// A client for the same server and TLS settings that sends `token` instead (none:
    /// no `X-Vault-Token` header). `vault login` checks a new token this way.
    pub fn with_token(&self, token: Option<Token>) -> Client {
        Client {
            agent: self.agent.clone(),
            settings: Settings {
                token,
                ..self.settings.clone()
            },
        }
    }

    /// Sends a request and returns the response for any status; errors only when there
    /// is no response.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Response, Error> {
        self.send_as(method, path, body, "application/json")
    }

    /// [`Client::send`] with another `Content-Type` for the body (`PATCH` on KV v2 needs
    /// `application/merge-patch+json`).
    pub fn send_as(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Response, Error> {
        let url = self.url(path);
        let mut request = self
            .agent
            .request(method, &url)
            .set("X-Vault-Request", "true");
        if let Some(token) = &self.settings.token {
            request = request.set("X-Vault-Token", token.expose());
        }
        let result = match body {
            Some(body) => {
                let bytes = Zeroizing::new(serde_json::to_vec(body).unwrap_or_default());
                request.set("Content-Type", content_type).send_bytes(&bytes)
            }
            None if method == "PUT" || method == "POST" => request.send_bytes(&[]),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => {
                return Err(Error::Transport {
                    method: method.to_string(),
                    url,
                    message: transport_message(&transport),
                })
            }
        };
        let status = response.status();
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(
            &mut std::io::Read::take(response.into_reader(), MAX_BODY),
            &mut text,
        ) {
            return Err(Error::Transport {
                method: method.to_string(),
                url,
                message: one_line(&format!("reading the response: {e}")),
            });
        }
        if text.trim().is_empty() {
            return Ok(Response {
                status,
                body: Value::Null,
                raw: None,
            });
        }
        Ok(match serde_json::from_str(&text) {
            Ok(body) => Response {
                status,
                body,
                raw: None,
            },
            Err(_) => Response {
                status,
                body: Value::Null,
                raw: Some(text),
            },
        })
    }

    /// Sends a request; a 2xx answer gives its JSON body (`Null` when empty), anything
    /// else an [`Error::Api`].
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Error> {
        let response = self.send(method, path, body)?;
        self.result(method, path, response)
    }

    /// A response of `method path` as [`Client::request`] returns it: the JSON body of a
    /// 2xx answer, else an [`Error::Api`].
    pub fn result(&self, method: &str, path: &str, response: Response) -> Result<Value, Error> {
        if (200..300).contains(&response.status) {
            return match response.raw {
                None => Ok(response.body),
                Some(_) => Err(Error::Decode {
                    method: method.to_string(),
                    url: self.url(path),
                    message: "the body is not JSON".to_string(),
                }),
            };
        }
        let (errors, raw) = match (&response.raw, &response.body) {
            (Some(text), _) => (vec![text.trim_end().to_string()], true),
            (None, Value::Object(map)) => match map.get("errors") {
                Some(Value::Array(list)) => (
                    list.iter()
                        .map(|e| match e {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect(),
                    false,
                ),
                _ => (vec![response.body.to_string()], true),
            },
            (None, Value::Null) => (Vec::new(), false),
            (None, other) => (vec![other.to_string()], true),
        };
        Err(Error::Api {
            method: method.to_string(),
            url: self.url(path),
            status: response.status,
            errors,
            raw,
        })
    }

    /// `GET /v1/<path>`.
    pub fn get(&self, path: &str) -> Result<Value, Error> {
        self.request("GET", path, None)
    }

    /// `PUT /v1/<path>` with an optional JSON body.
    pub fn put(&self, path: &str, body: Option<&Value>) -> Result<Value, Error> {
        self.request("PUT", path, body)
    }

    /// `DELETE /v1/<path>`.
    pub fn delete(&self, path: &str) -> Result<Value, Error> {
        self.request("DELETE", path, None)
    }
}

/// A transport error on one line: kind, message and the chain of causes.
fn transport_message(transport: &ureq::Transport) -> String {
    let mut parts = vec![transport.kind().to_string()];
    if let Some(message) = transport.message() {
        parts.push(message.to_string());
    }
    let mut source = std::error::Error::source(transport);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    one_line(&parts.join(": "))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rustls configuration for https with a CA file or without verification.
fn tls_config(settings: &Settings) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?;
    let config = if settings.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    } else {
        let path = settings
            .ca_cert
            .as_deref()
            .ok_or_else(|| Error::Config("no CA certificate given".to_string()))?;
        builder
            .with_root_certificates(load_roots(path)?)
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, as a root store.
fn load_roots(path: &Path) -> Result<rustls::RootCertStore, Error> {
    let failed =
        |what: String| Error::Config(format!("Error loading CA file {}: {what}", path.display()));
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| failed(e.to_string()))?;
        roots.add(cert).map_err(|e| failed(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(failed("no PEM certificates in it".to_string()));
    }
    Ok(roots)
}

/// `VAULT_SKIP_VERIFY`: accepts any certificate chain and name, but still checks that the
/// server holds the key of the certificate it presented (as Go's `InsecureSkipVerify`).
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn address_order_is_flag_then_bao_addr_then_vault_addr_then_plain_http_default() {
        let both = env_of(&[
            ("BAO_ADDR", "http://bao:1"),
            ("VAULT_ADDR", "http://vault:2"),
        ]);
        assert_eq!(
            resolve_address(Some("http://flag:3"), &both),
            "http://flag:3"
        );
        assert_eq!(resolve_address(None, &both), "http://bao:1");
        let vault = env_of(&[("BAO_ADDR", ""), ("VAULT_ADDR", "http://vault:2/")]);
        assert_eq!(resolve_address(None, &vault), "http://vault:2");
        assert_eq!(resolve_address(None, &env_of(&[])), "http://127.0.0.1:8200");
        assert_eq!(resolve_address(Some(""), &env_of(&[])), DEFAULT_ADDRESS);
    }

    #[test]
    fn token_order_is_bao_token_then_vault_token_then_the_token_file() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".vault-token"), "  s.fromfile\n").unwrap();
        let both = env_of(&[("BAO_TOKEN", "s.bao"), ("VAULT_TOKEN", "s.vault")]);
        let token = |env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>| {
            resolve_token(env, home).map(|t| t.expose().to_string())
        };
        assert_eq!(token(&both, Some(home.path())).as_deref(), Some("s.bao"));
        let vault = env_of(&[("VAULT_TOKEN", "s.vault")]);
        assert_eq!(token(&vault, Some(home.path())).as_deref(), Some("s.vault"));
        let empty = env_of(&[("BAO_TOKEN", ""), ("VAULT_TOKEN", "")]);
        assert_eq!(
            token(&empty, Some(home.path())).as_deref(),
            Some("s.fromfile")
        );
        assert_eq!(token(&empty, None), None);
        let bare = tempfile::tempdir().unwrap();
        assert_eq!(token(&empty, Some(bare.path())), None);
        std::fs::write(bare.path().join(".vault-token"), "\n").unwrap();
        assert_eq!(token(&empty, Some(bare.path())), None);
    }

    #[test]
    fn settings_read_tls_variables_and_reject_bad_ones() {
        let args = ClientArgs::default();
        let env = env_of(&[
            ("VAULT_ADDR", "https://h:1"),
            ("VAULT_CACERT", "/v.pem"),
            ("BAO_CACERT", "/b.pem"),
            ("VAULT_SKIP_VERIFY", "true"),
        ]);
        let s = Settings::resolve(&args, &env, None).unwrap();
        assert_eq!(s.address, "https://h:1");
        assert_eq!(s.ca_cert, Some(PathBuf::from("/b.pem")));
        assert!(s.skip_verify);
        assert!(s.is_https());

        let flags = ClientArgs {
            address: Some("http://x:2".into()),
            ca_cert: Some("/flag.pem".into()),
            tls_skip_verify: false,
        };
        let s = Settings::resolve(&flags, &env_of(&[("BAO_SKIP_VERIFY", "0")]), None).unwrap();
        assert_eq!(s.ca_cert, Some(PathBuf::from("/flag.pem")));
        assert!(!s.skip_verify);
        assert!(!s.is_https());

        let bad = Settings::resolve(&args, &env_of(&[("VAULT_SKIP_VERIFY", "maybe")]), None);
        assert_eq!(
            bad,
            Err(Error::Config("could not parse VAULT_SKIP_VERIFY".into()))
        );
        let bad = Settings::resolve(&args, &env_of(&[("VAULT_ADDR", "127.0.0.1:8200")]), None);
        assert!(matches!(bad, Err(Error::Config(m)) if m.contains("http://")));
    }

    #[test]
    fn api_errors_print_like_the_vault_cli() {
        let e = Error::Api {
            method: "PUT".into(),
            url: "http://127.0.0.1:8200/v1/sys/unseal".into(),
            status: 400,
            errors: vec!["invalid key: key is shorter than minimum 16 bytes".into()],
            raw: false,
        };
        assert_eq!(
            e.to_string(),
            "Error making API request.\n\nURL: PUT http://127.0.0.1:8200/v1/sys/unseal\n\
             Code: 400. Errors:\n\n* invalid key: key is shorter than minimum 16 bytes"
        );
        assert_eq!(e.exit_code(), 2);
        let t = Error::Transport {
            method: "GET".into(),
            url: "http://127.0.0.1:1/v1/sys/seal-status".into(),
            message: "Connection Failed: Connect error: Connection refused".into(),
        };
        assert_eq!(
            t.to_string(),
            "GET http://127.0.0.1:1/v1/sys/seal-status: Connection Failed: Connect error: Connection refused"
        );
        assert_eq!(t.exit_code(), 1);
    }

    #[test]
    fn token_debug_is_redacted() {
        let s = Settings {
            address: DEFAULT_ADDRESS.into(),
            token: Some(Token::new("s.secret")),
            ca_cert: None,
            skip_verify: false,
        };
        let client = Client::new(s).unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("s.secret"), "{text}");
        assert!(client.has_token());
        assert_eq!(client.url("/sys/init"), "http://127.0.0.1:8200/v1/sys/init");
    }

    #[test]
    fn connection_refused_is_a_one_line_transport_error_naming_the_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = Client::new(Settings {
            address: format!("http://127.0.0.1:{port}"),
            token: Some(Token::new("s.secret")),
            ca_cert: None,
            skip_verify: false,
        })
        .unwrap();
        let e = client.get("sys/seal-status").unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::Transport { .. }), "{e:?}");
        assert!(text.starts_with(&format!("GET http://127.0.0.1:{port}/v1/sys/seal-status: ")));
        assert!(!text.contains('\n') && !text.contains("s.secret"), "{text}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let e = Client::new(Settings {
            address: "https://127.0.0.1:1".into(),
            token: None,
            ca_cert: Some(path),
            skip_verify: false,
        })
        .unwrap_err();
        assert!(
            matches!(e, Error::Config(ref m) if m.contains("no PEM certificates")),
            "{e}"
        );
        assert_eq!(e.exit_code(), 1);
    }
}
