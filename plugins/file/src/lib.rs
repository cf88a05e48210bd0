//! `file`: a storage backend that keeps every key in its own file, in Vault's file-backend
//! layout, with crash-safe writes.
//!
//! # Configuration
//!
//! ```hcl
//! storage "file" {
//!   path = "/var/lib/vault/data"
//! }
//! ```
//!
//! * `path` (required): the folder holding the data. It is created (mode `0700`, parents
//!   included) when missing; an existing path must be a folder. Any other key is refused.
//!
//! # Layout
//!
//! The same as Vault's own `file` backend, so operators (and their backup and restore
//! scripts) recognise it and data moves both ways:
//!
//! * key `a/b/c` is the file `<path>/a/b/_c`: the last segment gets a `_` prefix, folder
//!   segments are kept as they are;
//! * the file holds `{"Value":"<the value in standard base64, with padding>"}` (Vault's Go
//!   encoder adds a newline, and writes an empty value as `null`: both are read too);
//! * files are mode `0600`, folders `0700`;
//! * when the last key under a folder is deleted the folder is removed, and so are its
//!   emptied parents (never `path` itself).
//!
//! Keys that could name something outside `path` are refused: the empty key, a leading or
//! trailing `/`, empty segments (`a//b`), `.` and `..` segments, NUL bytes, and segments
//! longer than the file system allows. As in Vault's layout, key `a/b` (the file `a/_b`)
//! and keys under `a/_b/` (the folder `a/_b`) cannot both exist: the second write is
//! refused with an invalid-key error.
//!
//! `list` shows the files `_name` of a folder as `name` and its sub-folders that hold at
//! least one key as `name/`; temporary files, other files and empty folders are skipped.
//!
//! # Durability
//!
//! Unlike Vault's file backend, writes are atomic and durable. A put writes the new content
//! to a temporary file in the key's folder (`.tmp-<pid>-<counter>-<random>.tmp`: it starts
//! with `.` so it is never a key's file, and listings skip it), fsyncs it, puts it in place
//! of the key's file with one atomic rename (or swap, see [`spares`]) and fsyncs the
//! folder; every folder on the way is fsynced into its parent when the put creates it (or,
//! if it already existed, the first time this process uses it). A delete fsyncs the folder
//! after removing the file. Concurrent puts and deletes in one folder share its fsyncs
//! (group commit, see [`group_sync`]); each file's own fsync runs in parallel with the
//! others. So:
//!
//! * once `put` or `delete` returns `Ok`, the change survives `kill -9` and power loss;
//! * a crash at any moment leaves each key with its old value or its new one, never a torn
//!   or empty file. A crash can leave a stray temporary file or an empty folder behind;
//!   both are invisible to `get` and `list`, and the temporary files can be removed by
//!   hand while the server is stopped;
//! * a `get` may see a put's new value a moment before that put returns (between its
//!   rename and the folder fsync), as with any file-based store;
//! * once an fsync fails, every later put and delete fails too, until the server is
//!   restarted: after a failed writeback the kernel may have dropped the data, and a later
//!   fsync that succeeds would prove nothing.
//!
//! One server process at a time may use a `path` (as with Vault's file backend): the
//! locking that keeps folder pruning safe is inside the process.

mod entry;
pub mod group_sync;
mod keys;
pub mod spares;

use std::collections::HashSet;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use vault_plugin_api::{Config, Error, Storage, StoragePlugin};

use group_sync::FolderSyncs;
use keys::{folder_path, KeyPath, FILE_PREFIX};
use spares::Spares;

/// Mode of every value file.
const FILE_MODE: u32 = 0o600;
/// Mode of every folder this backend creates, `path` included.
const DIR_MODE: u32 = 0o700;
/// How deep `list` looks into a sub-folder for a key before assuming it holds one (see
/// [`holds_a_key`]). Vault's keys are far shallower; the cap bounds the work and the open
/// folders on a damaged or symlink-looped tree.
const MAX_PROBE_DEPTH: usize = 64;
/// The most `get` allocates before reading a file (larger files still read, growing).
const MAX_PREALLOCATION: usize = 16 << 20;
/// How many temporary names a put tries before giving up (a name is only retried when a
/// file of that name already exists, which takes a stale file from an earlier process
/// with the same pid, counter and random part).
const TEMP_ATTEMPTS: u32 = 16;

/// The file backend. See the crate documentation.
#[derive(Debug)]
pub struct FileBackend {
    /// The `path` folder. Never changes after `open`.
    root: PathBuf,
    /// Keeps folder pruning from racing with puts.
    ///
    /// A put holds it shared from the moment it creates (or finds) the key's folders until
    /// its temporary file exists (from then on the folder is not empty, so it cannot be
    /// pruned); pruning (removing folders a delete emptied) holds it exclusively. Without
    /// it a delete could remove a folder between a put's "the folder exists" and its
    /// "create the temporary file in it", and the put would fail with ENOENT. Retrying on
    /// ENOENT would also work, but a lock is obviously correct, cannot livelock, and costs
    /// little: puts share it with each other for a moment, gets and lists never take it,
    /// and only deletes of keys in a sub-folder take it exclusively. The `()` guards no
    /// data, so a poisoned lock is still usable.
    prune_lock: RwLock<()>,
    /// Numbers the temporary files of this process, so that concurrent puts into one
    /// folder never pick the same name. Only uniqueness matters: `Relaxed` is enough.
    temp_counter: AtomicU64,
    /// The folders under `root` whose entry in their parent this process has fsynced
    /// (after creating them, or on first use when they already existed).
    ///
    /// A put whose folder already exists cannot tell whether its entry is durable yet: a
    /// concurrent put may have just created it and not have fsynced the parent, or a
    /// process killed with `kill -9` may have left it only in the page cache. Such a put
    /// fsyncs the parent itself, once per folder per process; the set makes later puts
    /// into the folder free. A folder is added only after its parent's fsync returned, and
    /// removed (under the exclusive `prune_lock`) when pruning deletes it. Held only for a
    /// lookup or an insert, never across I/O.
    durable_dirs: Mutex<HashSet<PathBuf>>,
    /// Shares each folder's fsyncs among the puts and deletes in it (see [`group_sync`]).
    folder_syncs: FolderSyncs,
    /// The first fsync failure. Once set, puts and deletes fail with it (see the crate
    /// documentation, "Durability").
    failure: OnceLock<String>,
    /// Files that overwritten values left behind, reused as temporary files (see
    /// [`spares`]).
    spares: Spares,
    /// Set when the file system refused `RENAME_EXCHANGE` (NFS, some FUSE file systems):
    /// puts then rename, as on a first write. Only ever goes from false to true.
    no_exchange: AtomicBool,
}

impl FileBackend {
    /// Shared side of [`FileBackend::prune_lock`], taken by puts.
    fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.prune_lock.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Exclusive side of [`FileBackend::prune_lock`], taken while pruning folders.
    fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.prune_lock.write().unwrap_or_else(|p| p.into_inner())
    }

    /// [`FileBackend::durable_dirs`]. A panic cannot leave the set half-updated (each
    /// change is one insert or remove), so a poisoned lock is still consistent.
    fn durable_dirs(&self) -> MutexGuard<'_, HashSet<PathBuf>> {
        self.durable_dirs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses to write after an fsync failed (see [`FileBackend::failure`]).
    fn check_health(&self, op: &str, key: &str) -> Result<(), Error> {
        match self.failure.get() {
            None => Ok(()),
            Some(failure) => Err(Error::Io(format!(
                "{op} {key:?}: refused: an earlier fsync under {} failed ({failure}), so \
                 the disk may have lost acknowledged writes; check it and restart the server",
                self.root.display()
            ))),
        }
    }

    /// The error for a failed fsync, which from now on fails every write.
    fn sync_failed(&self, op: &str, key: &str, what: &str, path: &Path, e: String) -> Error {
        let _ = self.failure.set(e.clone());
        Error::Io(format!("{op} {key:?}: {what} {}: {e}", path.display()))
    }

    /// Fsyncs the folder `dir`, sharing the fsync with the other writers in it.
    fn sync_folder(&self, op: &str, key: &str, dir: &Path) -> Result<(), Error> {
        let sync = self
            .folder_syncs
            .get(dir)
            .map_err(|e| fs_error(op, key, "open folder", dir, e))?;
        sync.sync()
            .map_err(|e| self.sync_failed(op, key, "fsync folder", dir, e))
    }

    /// A fresh temporary file name: pid, a per-process counter and a random part.
    fn temp_name(&self) -> String {
        let counter = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        // `RandomState` is seeded from the OS's random source; hashing the counter and the
        // clock with it gives a random part without another dependency.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(counter);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        hasher.write_u128(nanos);
        format!(
            ".tmp-{}-{counter}-{:016x}.tmp",
            std::process::id(),
            hasher.finish()
        )
    }

    /// Creates the key's missing folders (mode 0700) and makes every folder on the way
    /// durable in its parent (see [`FileBackend::durable_dirs`]). Sets `created` when at
    /// least one folder was made. Call with the shared lock.
    fn make_dirs(&self, key: &str, k: &KeyPath<'_>, created: &mut bool) -> Result<(), Error> {
        if k.dirs.is_empty() || self.durable_dirs().contains(&k.dir_path(&self.root)) {
            // The common case, without a system call. The set only holds a folder once all
            // its parents are in it too, and pruning (which removes entries) cannot run
            // while the caller holds the shared lock.
            return Ok(());
        }
        let mut path = self.root.clone();
        for segment in &k.dirs {
            let parent = path.clone();
            path.push(segment);
            if self.durable_dirs().contains(&path) {
                continue;
            }
            match fs::DirBuilder::new().mode(DIR_MODE).create(&path) {
                Ok(()) => {
                    *created = true;
                    // The umask may have cleared bits of DIR_MODE: set it exactly.
                    fs::set_permissions(&path, fs::Permissions::from_mode(DIR_MODE))
                        .map_err(|e| fs_error("put", key, "set the mode of folder", &path, e))?;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match fs::metadata(&path) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => {
                        return Err(Error::InvalidKey(format!(
                            "key {key:?}: its folder {} is a file on disk (the file layout \
                             stores key \"<folder>/x\" as \"<folder>/_x\", so a key and a \
                             folder can collide)",
                            path.display()
                        )))
                    }
                    Err(e) => return Err(fs_error("put", key, "inspect folder", &path, e)),
                },
                Err(e) => return Err(fs_error("put", key, "create folder", &path, e)),
            }
            self.sync_folder("put", key, &parent)?;
            self.durable_dirs().insert(path.clone());
        }
        Ok(())
    }

    /// The part of a put that needs the shared lock: the key's folders and an empty
    /// temporary file in the last one. Once that file exists its folder is not empty, so
    /// pruning cannot remove it and the rest of the put runs without the lock.
    fn create_temp(
        &self,
        key: &str,
        k: &KeyPath<'_>,
        created: &mut bool,
    ) -> Result<(PathBuf, File), Error> {
        let _shared = self.shared();
        self.make_dirs(key, k, created)?;
        let dir = k.dir_path(&self.root);
        if let Some(spare) = self.spares.take(&dir) {
            // O_NOFOLLOW: the spare is a file this process made; anything else in its
            // place (removed by hand, replaced by a link) is not used. Not truncated: the
            // new content overwrites the old in place (see `write_and_swap`).
            match OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&spare)
            {
                Ok(file) => return Ok((spare, file)),
                Err(_) => {
                    let _ = fs::remove_file(&spare);
                }
            }
        }
        // O_EXCL, so it never replaces anything.
        let mut attempt = 0;
        loop {
            let temp = dir.join(self.temp_name());
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(&temp)
            {
                Ok(file) => return Ok((temp, file)),
                Err(e)
                    if e.kind() == io::ErrorKind::AlreadyExists && attempt + 1 < TEMP_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(fs_error("put", key, "create temporary file", &temp, e)),
            }
        }
    }

    /// Fills the temporary file, waits until it is on disk, and puts it in place of the
    /// key's file: by swapping the two when the key exists (the temporary name then holds
    /// the old file, returned as a spare), else by a rename. Either step is made durable
    /// by the caller's folder fsync, and only after that may the spare be reused: until
    /// then a crash could undo the swap and leave the key naming the spare.
    fn write_and_swap(
        &self,
        key: &str,
        k: &KeyPath<'_>,
        temp: &Path,
        mut file: File,
        content: &[u8],
    ) -> Result<Option<PathBuf>, Error> {
        let meta = file
            .metadata()
            .map_err(|e| fs_error("put", key, "inspect temporary file", temp, e))?;
        // The umask (or whoever made an old file) may have set other bits: set it exactly,
        // but only when needed, since a mode change is one more inode write for the fsync.
        if meta.permissions().mode() & 0o7777 != FILE_MODE {
            file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
                .map_err(|e| fs_error("put", key, "set the mode of temporary file", temp, e))?;
        }
        // A spare is overwritten in place, without truncating it first: when the new value
        // is as long as the old (the usual case for a rewritten secret) its blocks and size
        // stay, and the fsync below writes the data block and the inode (whose times the
        // swap changed) rather than also freeing, allocating and recording new blocks.
        // Nobody can see the file meanwhile.
        file.write_all(content)
            .map_err(|e| fs_error("put", key, "write temporary file", temp, e))?;
        let len = content.len() as u64;
        if meta.len() > len {
            file.set_len(len)
                .map_err(|e| fs_error("put", key, "truncate temporary file", temp, e))?;
        }
        // The data must be on disk before the new name can be: otherwise a crash could
        // leave the key's name pointing at an empty or torn file. `fdatasync` also writes
        // the size and block map, which reading the data back needs.
        file.sync_data().map_err(|e| {
            self.sync_failed("put", key, "fsync temporary file", temp, e.to_string())
        })?;
        drop(file);
        let target = k.file_path(&self.root);
        let folder_in_the_way = || {
            let parent: String = k.dirs.iter().map(|d| format!("{d}/")).collect();
            Error::InvalidKey(format!(
                "key {key:?}: {} is a folder on disk (it holds the keys under \
                 \"{parent}{FILE_PREFIX}{}/\"), so the key's file cannot be written",
                target.display(),
                k.name,
            ))
        };
        if !self.no_exchange.load(Ordering::Relaxed) {
            match exchange(temp, &target) {
                Ok(()) => {
                    return match fs::symlink_metadata(temp) {
                        Ok(meta) if meta.is_file() => Ok(Some(temp.to_path_buf())),
                        // The key's name was a folder (a collision, or one created by a
                        // concurrent put): swap it back before anyone misses it.
                        Ok(_) => match exchange(temp, &target) {
                            Ok(()) => Err(folder_in_the_way()),
                            Err(e) => Err(fs_error("put", key, "swap back", &target, e)),
                        },
                        Err(e) => Err(fs_error("put", key, "inspect old file", temp, e)),
                    };
                }
                // No file to swap with: a new key.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                    self.no_exchange.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(fs_error("put", key, "swap in temporary file", &target, e)),
            }
        }
        fs::rename(temp, &target).map_err(|e| {
            if is_dir_in_the_way(&e) {
                folder_in_the_way()
            } else {
                fs_error("put", key, "rename temporary file over", &target, e)
            }
        })?;
        Ok(None)
    }

    /// Removes `<root>/<dirs...>` and its parents, deepest first, for as long as they are
    /// empty; never the root. Fsyncs the folder that held the last one removed.
    fn prune(&self, key: &str, op: &str, dirs: &[&str]) -> Result<(), Error> {
        let _exclusive = self.exclusive();
        let mut depth = dirs.len();
        let mut removed_any = false;
        while depth > 0 {
            let path = folder_path(&self.root, &dirs[..depth]);
            let mut removed = fs::remove_dir(&path);
            if removed.as_ref().is_err_and(is_not_empty_or_not_dir) && self.only_spares_in(&path) {
                self.spares.remove_folder(&path);
                removed = fs::remove_dir(&path);
            }
            match removed {
                Ok(()) => {
                    removed_any = true;
                    // Recreating it must fsync its parent again, through a new handle.
                    self.durable_dirs().remove(&path);
                    self.folder_syncs.forget(&path);
                }
                // Already pruned (by an earlier delete, or by hand), or a path too long to
                // exist (a failed put's folders are pruned from its key's full depth):
                // look at its parent.
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ENAMETOOLONG) => {}
                // Not empty (or not a folder): everything above it stays too.
                Err(e) if is_not_empty_or_not_dir(&e) => break,
                Err(e) => {
                    return Err(fs_error(
                        op,
                        key,
                        "done, but could not remove the emptied folder",
                        &path,
                        e,
                    ))
                }
            }
            depth -= 1;
        }
        if removed_any {
            let parent = folder_path(&self.root, &dirs[..depth]);
            sync_dir(&parent)
                .map_err(|e| fs_error(op, key, "done, but could not fsync folder", &parent, e))?;
        }
        Ok(())
    }

    /// Whether everything in the folder `dir` is one of its spares (and there is at least
    /// one), so that removing them empties it. Call with the exclusive lock: no put can be
    /// adding a file meanwhile. Stops at the first other entry.
    fn only_spares_in(&self, dir: &Path) -> bool {
        let Ok(entries) = fs::read_dir(dir) else {
            return false;
        };
        let mut any = false;
        for entry in entries {
            match entry {
                Ok(entry) if self.spares.is_spare(dir, &entry.file_name()) => any = true,
                _ => return false,
            }
        }
        any
    }
}

impl Drop for FileBackend {
    fn drop(&mut self) {
        self.spares.remove_all();
    }
}

impl Storage for FileBackend {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let k = KeyPath::parse(key)?;
        let path = k.file_path(&self.root);
        // O_NONBLOCK: a FIFO someone left at a key's path must not hang the call (it has no
        // effect on regular files).
        let mut file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(fs_error("get", key, "open", &path, e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| fs_error("get", key, "inspect", &path, e))?;
        if meta.is_dir() {
            // The folder `_name` holds keys under `<dirs>/_name/`; key `<dirs>/name` is absent.
            return Ok(None);
        }
        if !meta.is_file() {
            return Err(Error::Io(format!(
                "get {key:?}: {} is not a regular file",
                path.display()
            )));
        }
        // Sized from the file, but capped: a damaged or foreign file must not make one
        // huge up-front allocation.
        let capacity = usize::try_from(meta.len())
            .unwrap_or(0)
            .min(MAX_PREALLOCATION);
        let mut content = Vec::with_capacity(capacity);
        file.read_to_end(&mut content)
            .map_err(|e| fs_error("get", key, "read", &path, e))?;
        entry::decode(&content)
            .map(Some)
            .map_err(|why| Error::Io(format!("get {key:?}: {} is corrupt: {why}", path.display())))
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        let k = KeyPath::parse(key)?;
        self.check_health("put", key)?;
        let content = entry::encode(value);
        let mut created = false;
        let result = self
            .create_temp(key, &k, &mut created)
            .and_then(|(temp, file)| {
                self.write_and_swap(key, &k, &temp, file, content.as_bytes())
                    .inspect_err(|_| {
                        // Best effort: the temporary file is invisible anyway, and the
                        // first error is the one worth reporting.
                        let _ = fs::remove_file(&temp);
                    })
            });
        let spare = match result {
            Ok(spare) => spare,
            Err(err) => {
                if created {
                    // A failed put should not leave the folders it made behind (for example
                    // when the key's file name turned out too long only after they were
                    // created). Pruning only removes empty folders, so a concurrent put's
                    // folders are safe; its own error is not worth reporting over the put's.
                    let _ = self.prune(key, "put", &k.dirs);
                }
                return Err(err);
            }
        };
        let dir = k.dir_path(&self.root);
        self.sync_folder("put", key, &dir)?;
        if let Some(spare) = spare {
            self.spares.give(&dir, spare);
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), Error> {
        let k = KeyPath::parse(key)?;
        self.check_health("delete", key)?;
        let dir = k.dir_path(&self.root);
        let path = k.file_path(&self.root);
        // Opened before the removal so that it can be fsynced even if a concurrent delete
        // prunes it as soon as it is empty.
        let sync = match self.folder_syncs.get(&dir) {
            Ok(sync) => sync,
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(fs_error("delete", key, "open folder", &dir, e)),
        };
        match fs::remove_file(&path) {
            Ok(()) => {}
            // Missing, or a folder (`_name` holding keys under `<dirs>/_name/`): either way
            // key `<dirs>/name` does not exist, and nothing was emptied.
            Err(e) if is_missing(&e) || e.raw_os_error() == Some(libc::EISDIR) => return Ok(()),
            Err(e) => return Err(fs_error("delete", key, "remove", &path, e)),
        }
        sync.sync()
            .map_err(|e| self.sync_failed("delete", key, "fsync folder", &dir, e))?;
        drop(sync);
        if k.dirs.is_empty() {
            return Ok(());
        }
        self.prune(key, "delete", &k.dirs)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let segments = keys::parse_prefix(prefix)?;
        let dir = folder_path(&self.root, &segments);
        let context = |what: &str, e: io::Error| fs_error("list", prefix, what, &dir, e);
        // No lock: a listing is a snapshot of a moving tree either way, and every race
        // (a folder pruned or created meanwhile) reads as one of the two states.
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            // No such folder, or the prefix names a file: nothing under it.
            Err(e) if is_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(context("read folder", e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                // Pruned while being read: it is empty now.
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(context("read folder", e)),
            };
            match classify(&entry) {
                Child::Key(name) => out.push(name),
                Child::Folder(name) => {
                    if holds_a_key(&entry.path()) {
                        out.push(format!("{name}/"));
                    }
                }
                Child::Other => {}
            }
        }
        // `String`'s order is byte order. Names are unique per folder and a file `_x`
        // lists as `x` while a folder `x` lists as `x/`, so there are no duplicates.
        out.sort_unstable();
        Ok(out)
    }
}

impl StoragePlugin for FileBackend {
    const BLOCKING: bool = true;

    fn open(mut config: Config) -> Result<Self, Error> {
        let path = config.take("path");
        config.finish()?;
        let path = match path {
            Some(path) if !path.trim().is_empty() => path,
            Some(_) => {
                return Err(Error::config_key(
                    "path",
                    "must not be empty: set it to the folder that holds the data",
                ))
            }
            None => {
                return Err(Error::config_key(
                    "path",
                    "is required: set it to the folder that holds the data",
                ))
            }
        };
        let root = PathBuf::from(&path);
        match fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::config_key(
                    "path",
                    format!("{path:?} exists but is not a folder"),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // The folders about to be created: `root` and its missing ancestors.
                let missing: Vec<&Path> = root
                    .ancestors()
                    .take_while(|p| !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err())
                    .collect();
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DIR_MODE)
                    .create(&root)
                    .map_err(|e| {
                        Error::io(format_args!("open: cannot create folder {path:?}"), e)
                    })?;
                fs::set_permissions(&root, fs::Permissions::from_mode(DIR_MODE)).map_err(|e| {
                    Error::io(format_args!("open: cannot set the mode of {path:?}"), e)
                })?;
                // Make the new folders' entries durable, so that the first puts cannot be
                // lost with them. Best effort: a parent may not be readable, and refusing
                // to start over it would be worse.
                for dir in missing {
                    let parent = match dir.parent() {
                        Some(p) if !p.as_os_str().is_empty() => p,
                        _ => Path::new("."),
                    };
                    let _ = sync_dir(parent);
                }
            }
            Err(e) => return Err(Error::io(format_args!("open: cannot inspect {path:?}"), e)),
        }
        Ok(FileBackend {
            root,
            prune_lock: RwLock::new(()),
            temp_counter: AtomicU64::new(0),
            durable_dirs: Mutex::new(HashSet::new()),
            folder_syncs: FolderSyncs::default(),
            failure: OnceLock::new(),
            spares: Spares::default(),
            no_exchange: AtomicBool::new(false),
        })
    }
}

vault_plugin_api::export_storage_plugin!("file", FileBackend);

/// One entry of a folder, as `list` sees it.
enum Child {
    /// The file `_name`: key `name`.
    Key(String),
    /// A folder.
    Folder(String),
    /// Anything else: temporary files, names that are not UTF-8, other files.
    Other,
}

fn classify(entry: &fs::DirEntry) -> Child {
    let Ok(name) = entry.file_name().into_string() else {
        return Child::Other;
    };
    let file_type = match entry.file_type() {
        // Follow symbolic links an operator may have made.
        Ok(t) if t.is_symlink() => match fs::metadata(entry.path()) {
            Ok(meta) => meta.file_type(),
            Err(_) => return Child::Other,
        },
        Ok(t) => t,
        Err(_) => return Child::Other,
    };
    if file_type.is_dir() {
        return Child::Folder(name);
    }
    match name.strip_prefix(FILE_PREFIX) {
        Some(key) if file_type.is_file() && !key.is_empty() => Child::Key(key.to_string()),
        _ => Child::Other,
    }
}

/// Whether the folder `dir` holds a key at any depth, so that `list` does not show empty
/// folders a crash (or a failed prune) left behind.
///
/// Stops at the first key found, so on a healthy tree (where every folder leads to a key)
/// this costs one partial read per level. Errors, and trees deeper than
/// [`MAX_PROBE_DEPTH`], count as "holds a key": showing an empty folder is better than
/// hiding a full one.
fn holds_a_key(dir: &Path) -> bool {
    let mut stack = match fs::read_dir(dir) {
        Ok(entries) => vec![entries],
        Err(e) => return !is_missing(&e),
    };
    while let Some(entries) = stack.last_mut() {
        match entries.next() {
            None => {
                stack.pop();
            }
            Some(Err(e)) => {
                if e.kind() != io::ErrorKind::NotFound {
                    return true;
                }
                stack.pop();
            }
            Some(Ok(entry)) => match classify(&entry) {
                Child::Key(_) => return true,
                Child::Folder(_) => {
                    if stack.len() >= MAX_PROBE_DEPTH {
                        return true;
                    }
                    match fs::read_dir(entry.path()) {
                        Ok(entries) => stack.push(entries),
                        Err(e) if is_missing(&e) => {}
                        Err(_) => return true,
                    }
                }
                Child::Other => {}
            },
        }
    }
    false
}

/// Opens a folder (and only a folder) for fsync.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)
}

/// Swaps the files (or folders) at `a` and `b` in one atomic step.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Fsyncs a folder, making the entries created, renamed or removed in it durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    open_dir(path)?.sync_all()
}

/// The path does not exist, or one of its folders is a file: nothing is stored there.
fn is_missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// `rename` over a folder fails this way.
fn is_dir_in_the_way(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EISDIR) | Some(libc::ENOTEMPTY) | Some(libc::EEXIST)
    )
}

/// `rmdir` of a folder that still holds something, or of something that is not a folder.
fn is_not_empty_or_not_dir(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTEMPTY) | Some(libc::EEXIST) | Some(libc::ENOTDIR)
    )
}

/// An error of operation `op` on `key` while doing `what` to `path`. A name or path too
/// long for the file system is the key's fault: [`Error::InvalidKey`].
fn fs_error(op: &str, key: &str, what: &str, path: &Path, e: io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ENAMETOOLONG) {
        return Error::InvalidKey(format!(
            "{op} {key:?}: the path {} is too long for the file system ({e})",
            path.display()
        ));
    }
    Error::Io(format!("{op} {key:?}: {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
