//! A plugin's configuration stanza, as string pairs.
//!
//! Vault flattens every storage and listener stanza to `map[string]string`; the host does
//! the same (HCL `1` arrives as `"1"`, `true` as `"true"`), so every plugin parses its own
//! values and reports its own mistakes. Take each key you know with one of the `take_*`
//! methods, then call [`Config::finish`]: any key nobody took is an error that names it.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::Error;

/// The key/value pairs of one config stanza.
#[derive(Debug, Clone, Default)]
pub struct Config {
    entries: BTreeMap<String, String>,
    /// Every key a `take_*` call asked for, so [`Config::finish`] can list the valid ones.
    known: Vec<String>,
}

impl Config {
    /// Builds a stanza from pairs (later duplicates win).
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Config {
            entries: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            known: Vec::new(),
        }
    }

    /// The pairs not yet taken.
    pub fn remaining(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Takes a string value.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.known.push(key.to_string());
        self.entries.remove(key)
    }

    /// Takes a string value, or `default` when absent.
    pub fn take_or(&mut self, key: &str, default: &str) -> String {
        self.take(key).unwrap_or_else(|| default.to_string())
    }

    /// Takes a boolean. Accepts `true`/`false`, `1`/`0` and `t`/`f` in any case, because
    /// Vault configs commonly write `tls_disable = 1`.
    pub fn take_bool(&mut self, key: &str) -> Result<Option<bool>, Error> {
        let Some(raw) = self.take(key) else {
            return Ok(None);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "t" => Ok(Some(true)),
            "false" | "0" | "f" | "" => Ok(Some(false)),
            _ => Err(Error::config_key(
                key,
                format!("invalid boolean {raw:?}: expected true/false or 1/0"),
            )),
        }
    }

    /// Takes a value parsed with [`FromStr`].
    pub fn take_parsed<T: FromStr>(
        &mut self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, Error> {
        let Some(raw) = self.take(key) else {
            return Ok(None);
        };
        raw.trim().parse().map(Some).map_err(|_| {
            Error::config_key(key, format!("invalid value {raw:?}: expected {expected}"))
        })
    }

    /// Fails when any key was not taken, naming every such key and the keys this plugin
    /// accepts.
    pub fn finish(self) -> Result<(), Error> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let unknown: Vec<&str> = self.entries.keys().map(String::as_str).collect();
        let mut known = self.known;
        known.sort();
        known.dedup();
        let quoted: Vec<String> = unknown.iter().map(|k| format!("{k:?}")).collect();
        Err(Error::Config {
            key: Some(unknown[0].to_string()),
            message: format!(
                "unknown key{} {}; valid keys are: {}",
                if unknown.len() > 1 { "s" } else { "" },
                quoted.join(", "),
                known.join(", ")
            ),
        })
    }
}

/// Parses a byte size: a plain number of bytes, or a number with a unit suffix
/// (`kb`, `kib`, `mb`, `mib`, `gb`, `gib`, case-insensitive), as Vault accepts.
pub fn parse_size(raw: &str) -> Option<u64> {
    let s = raw.trim().to_ascii_lowercase();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_accept_vault_spellings() {
        let mut c = Config::new([("a", "1"), ("b", "false"), ("c", "TRUE"), ("d", "yes")]);
        assert_eq!(c.take_bool("a").unwrap(), Some(true));
        assert_eq!(c.take_bool("b").unwrap(), Some(false));
        assert_eq!(c.take_bool("c").unwrap(), Some(true));
        let err = c.take_bool("d").unwrap_err();
        assert_eq!(err.key(), Some("d"));
        assert_eq!(c.take_bool("missing").unwrap(), None);
    }

    #[test]
    fn finish_names_unknown_and_valid_keys() {
        let mut c = Config::new([("path", "/x"), ("pth", "/y"), ("zz", "1")]);
        c.take("path");
        let err = c.finish().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown keys \"pth\", \"zz\""), "{msg}");
        assert!(msg.contains("valid keys are: path"), "{msg}");
        assert_eq!(err.key(), Some("pth"));
    }

    #[test]
    fn finish_is_ok_when_everything_was_taken() {
        let mut c = Config::new([("path", "/x")]);
        c.take("path");
        c.finish().unwrap();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("33554432"), Some(33554432));
        assert_eq!(parse_size("32MiB"), Some(32 << 20));
        assert_eq!(parse_size("1kb"), Some(1000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999999999999gib"), None);
    }
}
