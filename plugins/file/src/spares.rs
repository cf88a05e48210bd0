//! Spare files: the inodes that overwritten values leave behind, kept for the next put
//! into the same folder.
//!
//! A put that renames a new file over the key's file frees the old file's inode and
//! allocates one for the next temporary file. On ext4 under a steady stream of overwrites
//! that allocation is the single most expensive step: the allocator skips inodes freed in
//! the last few seconds (`recently_deleted`), scanning the inode table for each one, and
//! it does so holding the folder's lock, so concurrent puts into the folder queue behind
//! it (a profile at 64 concurrent writers showed ~40% of the server's CPU there).
//!
//! So a put that overwrites an existing key swaps the files instead
//! (`renameat2(RENAME_EXCHANGE)`, atomic like a rename): the key's name gets the new file,
//! the temporary name gets the old one, and that file becomes a spare which the next put
//! into the folder truncates and reuses as its temporary file. No inode is freed or
//! allocated in the steady state.
//!
//! Spares are temporary files (`.tmp-…`), so `get` and `list` never see them. The pool is
//! bounded per folder and in total; what does not fit is removed. Pruning a folder removes
//! its spares first, and dropping the backend removes them all; a process that is killed
//! leaves its spares behind like any other stray temporary file.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The most spares one folder keeps: enough for every put of a busy folder to find one
/// (the host runs at most a few dozen puts at once).
pub(crate) const PER_FOLDER: usize = 64;
/// The most spares kept in all: bounds the extra files (one block each) to a few MiB.
pub(crate) const TOTAL: usize = 1024;

/// The pool of spare files. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    /// Folder → its spare files, and how many spares there are in all. Held only for a
    /// lookup or an update, never across I/O.
    pool: Mutex<Pool>,
}

#[derive(Debug, Default)]
struct Pool {
    folders: HashMap<PathBuf, Vec<PathBuf>>,
    total: usize,
}

impl Spares {
    /// A spare file of `dir`, now owned by the caller.
    pub(crate) fn take(&self, dir: &Path) -> Option<PathBuf> {
        let mut pool = self.lock();
        let spares = pool.folders.get_mut(dir)?;
        let spare = spares.pop();
        if spares.is_empty() {
            pool.folders.remove(dir);
        }
        if spare.is_some() {
            pool.total -= 1;
        }
        spare
    }

    /// Keeps `spare`, a file in `dir`, for a later put; removes it when the pool is full.
    pub(crate) fn give(&self, dir: &Path, spare: PathBuf) {
        {
            let mut pool = self.lock();
            if pool.total < TOTAL {
                let spares = pool.folders.entry(dir.to_path_buf()).or_default();
                if spares.len() < PER_FOLDER {
                    spares.push(spare);
                    pool.total += 1;
                    return;
                }
            }
        }
        // Best effort: a leftover temporary file is invisible.
        let _ = fs::remove_file(spare);
    }

    /// Whether `name` (a file name in `dir`) is one of the folder's spares.
    pub(crate) fn is_spare(&self, dir: &Path, name: &std::ffi::OsStr) -> bool {
        self.lock()
            .folders
            .get(dir)
            .is_some_and(|spares| spares.iter().any(|s| s.file_name() == Some(name)))
    }

    /// Removes the spares of `dir` from the pool and from the disk, so that the folder can
    /// be removed when nothing else is in it.
    pub(crate) fn remove_folder(&self, dir: &Path) {
        let spares = {
            let mut pool = self.lock();
            let spares = pool.folders.remove(dir).unwrap_or_default();
            pool.total -= spares.len();
            spares
        };
        for spare in spares {
            let _ = fs::remove_file(spare);
        }
    }

    /// Removes every spare from the disk.
    pub(crate) fn remove_all(&self) {
        let folders = std::mem::take(&mut *self.lock());
        for spare in folders.folders.into_values().flatten() {
            let _ = fs::remove_file(spare);
        }
    }

    /// The pool. Every update is a push, pop or remove plus a counter change with nothing
    /// that can panic between them, so a poisoned lock still holds a consistent pool.
    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_reused_per_folder_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::create_dir(&a).unwrap();
        let spares = Spares::default();
        assert_eq!(spares.take(&a), None);
        let files: Vec<PathBuf> = (0..PER_FOLDER + 2)
            .map(|i| {
                let f = a.join(format!(".tmp-{i}"));
                fs::write(&f, b"old").unwrap();
                f
            })
            .collect();
        for f in &files {
            spares.give(&a, f.clone());
        }
        // The pool keeps PER_FOLDER of them and removes the rest from the disk.
        assert_eq!(fs::read_dir(&a).unwrap().count(), PER_FOLDER);
        assert!(spares.is_spare(&a, files[0].file_name().unwrap()));
        assert!(!spares.is_spare(&a, files[PER_FOLDER].file_name().unwrap()));
        let taken = spares.take(&a).unwrap();
        assert!(taken.exists());
        assert!(!spares.is_spare(&a, taken.file_name().unwrap()));
        spares.remove_folder(&a);
        // Only the file taken out of the pool is left.
        assert_eq!(fs::read_dir(&a).unwrap().count(), 1);
        assert_eq!(spares.take(&a), None);
        assert_eq!(spares.lock().total, 0);
    }

    #[test]
    fn remove_all_empties_the_pool_and_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let spares = Spares::default();
        for i in 0..3 {
            let f = dir.path().join(format!(".tmp-{i}"));
            fs::write(&f, b"old").unwrap();
            spares.give(dir.path(), f);
        }
        spares.remove_all();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_eq!(spares.lock().total, 0);
    }
}
