//! The one error type that crosses the plugin boundary.

use std::fmt;

/// What went wrong inside a plugin, as the host sees it.
///
/// Each variant has a stable numeric code on the wire (see [`Error::code`]); a code the
/// host does not know (from a newer plugin) is read back as [`Error::Other`], so adding a
/// variant in a later 1.x release never breaks an older host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The plugin's configuration stanza is wrong. `key` names the offending key when one
    /// key is at fault, so the host can point at its line in the config file.
    #[error("{message}")]
    Config {
        /// The config key at fault, if a single one is.
        key: Option<String>,
        /// What is wrong with it, in words an operator understands.
        message: String,
    },
    /// A storage key the backend refuses (for example one that would escape its folder).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A value larger than the backend can hold.
    #[error("value too large: {0}")]
    TooLarge(String),
    /// The backend cannot be reached right now (network down, remote server stopped).
    /// Retrying later may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A local I/O failure (disk full, permission denied, ...).
    #[error("I/O error: {0}")]
    Io(String),
    /// The plugin does not implement the requested operation.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The plugin panicked; the panic was caught at the boundary and the message kept.
    #[error("plugin panicked: {0}")]
    Panic(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Shorthand for a configuration error about one key.
    pub fn config_key(key: impl Into<String>, message: impl fmt::Display) -> Self {
        let key = key.into();
        Error::Config {
            message: format!("{key}: {message}"),
            key: Some(key),
        }
    }

    /// Shorthand for a configuration error that is not about one key.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            key: None,
            message: message.into(),
        }
    }

    /// Shorthand for an I/O error with context.
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Error::Io(format!("{context}: {err}"))
    }

    /// The stable wire code of this variant.
    pub fn code(&self) -> u32 {
        match self {
            Error::Config { .. } => 1,
            Error::InvalidKey(_) => 2,
            Error::TooLarge(_) => 3,
            Error::Unavailable(_) => 4,
            Error::Io(_) => 5,
            Error::Unsupported(_) => 6,
            Error::Panic(_) => 7,
            Error::Other(_) => 8,
        }
    }

    /// The message without the variant's prefix (what travels on the wire).
    pub fn message(&self) -> &str {
        match self {
            Error::Config { message, .. } => message,
            Error::InvalidKey(m)
            | Error::TooLarge(m)
            | Error::Unavailable(m)
            | Error::Io(m)
            | Error::Unsupported(m)
            | Error::Panic(m)
            | Error::Other(m) => m,
        }
    }

    /// The config key at fault, for [`Error::Config`].
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Config { key, .. } => key.as_deref(),
            _ => None,
        }
    }

    /// Rebuilds an error from its wire form. Unknown codes become [`Error::Other`].
    pub fn from_parts(code: u32, message: String, key: Option<String>) -> Self {
        match code {
            1 => Error::Config { key, message },
            2 => Error::InvalidKey(message),
            3 => Error::TooLarge(message),
            4 => Error::Unavailable(message),
            5 => Error::Io(message),
            6 => Error::Unsupported(message),
            7 => Error::Panic(message),
            _ => Error::Other(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_survives_the_wire() {
        let all = [
            Error::config_key("path", "must be set"),
            Error::config("no keys"),
            Error::InvalidKey("a/../b".into()),
            Error::TooLarge("600 KiB".into()),
            Error::Unavailable("consul".into()),
            Error::Io("disk".into()),
            Error::Unsupported("txn".into()),
            Error::Panic("boom".into()),
            Error::Other("x".into()),
        ];
        for e in all {
            let back = Error::from_parts(
                e.code(),
                e.message().to_string(),
                e.key().map(str::to_string),
            );
            assert_eq!(back, e);
        }
    }

    #[test]
    fn unknown_code_from_a_newer_plugin_is_other() {
        assert_eq!(
            Error::from_parts(99, "new".into(), None),
            Error::Other("new".into())
        );
    }
}
