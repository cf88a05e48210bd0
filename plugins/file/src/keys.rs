//! Storage keys and list prefixes, checked and mapped to paths under the backend's root.
//!
//! Everything that could make a path leave the root (or name something other than what
//! the key says) is refused here, before any file-system call is made.

use std::path::{Path, PathBuf};

use vault_plugin_api::Error;

/// The longest file or folder name (in bytes) the file systems Linux uses accept
/// (`NAME_MAX`). Checked up front so that the usual case gets a clear message; a file
/// system with a lower limit still answers `ENAMETOOLONG`, which is mapped to the same
/// error.
pub(crate) const NAME_MAX: usize = 255;

/// The prefix of the file that holds a key's value, on the key's last segment only.
pub(crate) const FILE_PREFIX: &str = "_";

/// A valid key, split into its folder segments and its last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPath<'a> {
    /// The folder segments (`["a", "b"]` for `a/b/c`), kept as-is on disk.
    pub(crate) dirs: Vec<&'a str>,
    /// The last segment (`c` for `a/b/c`), stored as the file `_c`.
    pub(crate) name: &'a str,
}

impl<'a> KeyPath<'a> {
    /// Checks `key` and splits it. Refuses the empty key, a leading or trailing `/`, empty
    /// segments, `.` and `..` segments, NUL bytes and over-long segments.
    pub(crate) fn parse(key: &'a str) -> Result<Self, Error> {
        if key.is_empty() {
            return Err(Error::InvalidKey("the empty key is not a valid key".into()));
        }
        if key.ends_with('/') {
            return Err(Error::InvalidKey(format!(
                "key {key:?} ends with '/' (that names a folder, not a key)"
            )));
        }
        let mut segments = check_segments(key, "key", key)?;
        let name = segments.pop().unwrap_or(key);
        if name.len() + FILE_PREFIX.len() > NAME_MAX {
            return Err(too_long_segment(
                "key",
                key,
                name,
                NAME_MAX - FILE_PREFIX.len(),
            ));
        }
        Ok(KeyPath {
            dirs: segments,
            name,
        })
    }

    /// The folder holding the key's file.
    pub(crate) fn dir_path(&self, root: &Path) -> PathBuf {
        folder_path(root, &self.dirs)
    }

    /// The file holding the key's value: `<root>/<dirs...>/_<name>`.
    pub(crate) fn file_path(&self, root: &Path) -> PathBuf {
        let mut path = self.dir_path(root);
        path.push(format!("{FILE_PREFIX}{}", self.name));
        path
    }
}

/// Checks a list prefix (empty, or folder segments each followed by `/`) and returns its
/// segments.
pub(crate) fn parse_prefix(prefix: &str) -> Result<Vec<&str>, Error> {
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    let Some(folders) = prefix.strip_suffix('/') else {
        return Err(Error::InvalidKey(format!(
            "list prefix {prefix:?} must be empty or end with '/'"
        )));
    };
    if folders.is_empty() {
        return Err(Error::InvalidKey(format!(
            "list prefix {prefix:?} starts with '/'"
        )));
    }
    check_segments(folders, "list prefix", prefix)
}

/// `<root>/<segments...>`.
pub(crate) fn folder_path(root: &Path, segments: &[&str]) -> PathBuf {
    let mut path = root.to_path_buf();
    for segment in segments {
        path.push(segment);
    }
    path
}

/// Splits `s` on `/` and checks every segment. `what` ("key" or "list prefix") and `shown`
/// (the string as the caller wrote it) name it in errors.
fn check_segments<'a>(s: &'a str, what: &str, shown: &str) -> Result<Vec<&'a str>, Error> {
    if s.contains('\0') {
        return Err(Error::InvalidKey(format!(
            "{what} {shown:?} contains a NUL byte"
        )));
    }
    if s.starts_with('/') {
        return Err(Error::InvalidKey(format!(
            "{what} {shown:?} starts with '/'"
        )));
    }
    let segments: Vec<&str> = s.split('/').collect();
    for &segment in &segments {
        match segment {
            "" => {
                return Err(Error::InvalidKey(format!(
                    "{what} {shown:?} has an empty segment ('//')"
                )))
            }
            "." | ".." => {
                return Err(Error::InvalidKey(format!(
                "{what} {shown:?} has a {segment:?} segment, which could leave the storage folder"
            )))
            }
            _ if segment.len() > NAME_MAX => {
                return Err(too_long_segment(what, shown, segment, NAME_MAX));
            }
            _ => {}
        }
    }
    Ok(segments)
}

fn too_long_segment(what: &str, s: &str, segment: &str, max: usize) -> Error {
    Error::InvalidKey(format!(
        "{what} {s:?} has a segment too long for the file backend ({} bytes; at most {max})",
        segment.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_vault_paths() {
        let k = KeyPath::parse("a/b/c").unwrap();
        assert_eq!(k.dirs, ["a", "b"]);
        assert_eq!(k.name, "c");
        assert_eq!(k.file_path(Path::new("/r")), Path::new("/r/a/b/_c"));
        let top = KeyPath::parse("top").unwrap();
        assert!(top.dirs.is_empty());
        assert_eq!(top.file_path(Path::new("/r")), Path::new("/r/_top"));
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_prefix("").unwrap(), Vec::<&str>::new());
        assert_eq!(parse_prefix("a/b/").unwrap(), ["a", "b"]);
        for bad in ["a", "/", "/a/", "a//", "a/../", "./", "a\0/"] {
            let err = parse_prefix(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidKey(_)), "{bad:?}: {err}");
        }
        let err = parse_prefix("a/../").unwrap_err().to_string();
        assert!(err.contains("\"a/../\""), "{err}");
    }

    #[test]
    fn segment_lengths() {
        assert!(KeyPath::parse(&"x".repeat(NAME_MAX - 1)).is_ok());
        assert!(KeyPath::parse(&"x".repeat(NAME_MAX)).is_err());
        assert!(KeyPath::parse(&format!("{}/k", "d".repeat(NAME_MAX))).is_ok());
        assert!(KeyPath::parse(&format!("{}/k", "d".repeat(NAME_MAX + 1))).is_err());
    }
}
