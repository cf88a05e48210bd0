//! The listener contract: a plugin parses its stanza and binds; the host does the rest.

use std::collections::BTreeMap;
use std::net::TcpListener;

use crate::{Config, Error};

/// The lowest TLS version a listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 (Vault's default).
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// The protocol's wire code (0x0303, 0x0304): what crosses the ABI.
    pub fn wire_code(self) -> u16 {
        match self {
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    /// The inverse of [`TlsVersion::wire_code`].
    pub fn from_wire_code(code: u16) -> Option<Self> {
        match code {
            0x0303 => Some(TlsVersion::Tls12),
            0x0304 => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

/// TLS settings of a listener. The host reads the files and terminates TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain.
    pub cert_file: String,
    /// PEM private key.
    pub key_file: String,
    /// The lowest version accepted.
    pub min_version: TlsVersion,
    /// PEM CA bundle that client certificates are checked against, if any.
    pub client_ca_file: Option<String>,
    /// Refuse clients that do not present a certificate signed by `client_ca_file`.
    pub require_client_cert: bool,
}

/// What the host needs to serve HTTP on a listener, as parsed by the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSettings {
    /// The address as bound (`127.0.0.1:8200`); with port 0 in the config, the real port.
    pub address: String,
    /// TLS, or `None` when `tls_disable` is set.
    pub tls: Option<TlsSettings>,
    /// The largest request body accepted; larger ones get 413.
    pub max_request_size: u64,
    /// Settings added after ABI 1.0, as name/value strings, so that they can grow
    /// without changing a published layout. Hosts ignore names they do not know.
    pub extra: BTreeMap<String, String>,
}

/// A bound socket plus its settings. Ownership of the socket passes to the host.
#[derive(Debug)]
pub struct BoundListener {
    /// The listening socket, already bound and listening.
    pub socket: TcpListener,
    /// How to serve it.
    pub settings: ListenerSettings,
}

/// A listener plugin.
pub trait ListenerPlugin: Sized + 'static {
    /// Parses the stanza (ending with [`Config::finish`]) and binds the socket.
    fn bind(config: Config) -> Result<BoundListener, Error>;
}
