//! Group commit of folder fsyncs: the puts and deletes in flight in one folder share one
//! `fsync` of it.
//!
//! A put renames its file into the key's folder and must then fsync the folder, so that
//! the new name is on disk before the put is acknowledged; a delete does the same after
//! removing a file. An `fsync` of a folder writes every change made in it so far, so one
//! that *starts after* a writer's change covers it. [`GroupSync::sync`] returns once such
//! an fsync has finished. Only one runs at a time per folder; writers that arrive while it
//! runs wait for the next one, which then covers all of them. Under load one fsync commits
//! a whole batch of renames, the way a database's log commits many transactions with one
//! fsync; a lone writer pays one fsync, as without it.
//!
//! Each value file's own data is still fsynced by its own put, in parallel with the
//! others, before its rename: that write cannot be shared without flushing the whole file
//! system (`syncfs`), which was measured here to stall a put for half a second while
//! another process wrote a large file to the same disk.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Shares the fsyncs of one folder among concurrent writers. See the module documentation.
#[derive(Debug)]
pub(crate) struct GroupSync {
    /// The folder, opened once for its fsyncs.
    handle: File,
    /// Sync numbers and failure. Held only to read or update them, never during an fsync.
    state: Mutex<State>,
    /// Where the writers waiting for fsync number `n` sleep: `finished[n % 2]`. Writers only
    /// ever wait for the running fsync or the next one, so two suffice, and the end of an
    /// fsync wakes just the writers it covers (plus one writer of the next, to start it)
    /// instead of everyone: on this VM every cross-CPU wake-up costs tens of µs.
    finished: [Condvar; 2],
}

#[derive(Debug, Default)]
struct State {
    /// How many fsyncs have started. While one runs, its number is `started`.
    started: u64,
    /// The number of the last fsync that finished.
    finished: u64,
    /// Whether an fsync is running now.
    running: bool,
    /// How many writers wait for an fsync, by the parity of its number (as `finished`).
    waiting: [usize; 2],
    /// The error of the first fsync that failed. Once set, every later call fails too:
    /// after a failed writeback the kernel may have dropped the unwritten pages, so a
    /// later fsync that succeeds would not prove that earlier changes are on disk.
    failure: Option<String>,
}

impl GroupSync {
    /// Shares fsyncs of `handle`, an open folder.
    pub(crate) fn new(handle: File) -> Self {
        GroupSync {
            handle,
            state: Mutex::new(State::default()),
            finished: [Condvar::new(), Condvar::new()],
        }
    }

    /// Returns once every change this thread made in the folder before the call is on disk,
    /// or with the error of the fsync that should have put it there (or of an earlier
    /// failed one; see [`State::failure`]).
    pub(crate) fn sync(&self) -> Result<(), String> {
        let mut state = self.lock();
        // The first fsync that starts after this point covers this thread's changes. One
        // running now may have started before them, so it does not count.
        let needed = state.started + 1;
        loop {
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
            if state.finished >= needed {
                return Ok(());
            }
            let parity = (needed % 2) as usize;
            if state.running {
                state.waiting[parity] += 1;
                state = self.finished[parity]
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
                state.waiting[parity] -= 1;
                continue;
            }
            state.running = true;
            state.started += 1;
            let number = state.started;
            drop(state);
            let result = self.handle.sync_all();
            state = self.lock();
            state.running = false;
            state.finished = number;
            let (this, next) = ((number % 2) as usize, ((number + 1) % 2) as usize);
            if let Err(e) = result {
                state.failure.get_or_insert_with(|| e.to_string());
                // Every waiter fails now, whichever fsync it waits for.
                self.finished[next].notify_all();
            } else if state.waiting[next] > 0 {
                // Writers that arrived during this fsync need the next one: one of them
                // starts it.
                self.finished[next].notify_one();
            }
            self.finished[this].notify_all();
        }
    }

    /// The state. Every update of it is a few plain assignments that cannot panic halfway,
    /// so a poisoned lock still holds consistent numbers.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The most folders whose [`GroupSync`] is kept open while nobody uses it. Beyond it,
/// idle ones are closed (and reopened when needed), bounding the open descriptors.
const KEEP_IDLE: usize = 256;

/// One [`GroupSync`] per folder in use, opened on demand.
#[derive(Debug, Default)]
pub(crate) struct FolderSyncs {
    /// Folder → its syncer. Held only for a lookup or an update, never across an fsync.
    folders: Mutex<HashMap<PathBuf, Arc<GroupSync>>>,
}

impl FolderSyncs {
    /// The syncer of the folder `dir`, opening the folder if needed.
    pub(crate) fn get(&self, dir: &Path) -> io::Result<Arc<GroupSync>> {
        if let Some(sync) = self.lock().get(dir) {
            return Ok(Arc::clone(sync));
        }
        let sync = Arc::new(GroupSync::new(crate::open_dir(dir)?));
        let mut folders = self.lock();
        if folders.len() >= KEEP_IDLE {
            // Only this map holds an idle syncer; the others are in use right now.
            folders.retain(|_, sync| Arc::strong_count(sync) > 1);
        }
        // A concurrent caller may have opened it too: keep the first, so that both share.
        Ok(Arc::clone(folders.entry(dir.to_path_buf()).or_insert(sync)))
    }

    /// Forgets the folder `dir`, which pruning removed: a folder made later at the same path
    /// is another folder and needs its own handle.
    pub(crate) fn forget(&self, dir: &Path) {
        self.lock().remove(dir);
    }

    /// The map. Each update is one insert, remove or retain, so a poisoned lock still
    /// holds a consistent map.
    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, Arc<GroupSync>>> {
        self.folders.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> (tempfile::TempDir, GroupSync) {
        let dir = tempfile::tempdir().unwrap();
        let handle = File::open(dir.path()).unwrap();
        (dir, GroupSync::new(handle))
    }

    #[test]
    fn a_lone_caller_runs_its_own_fsync() {
        let (_dir, group) = group();
        group.sync().unwrap();
        group.sync().unwrap();
        let state = group.lock();
        assert_eq!(
            (state.started, state.finished, state.running),
            (2, 2, false)
        );
    }

    #[test]
    fn concurrent_callers_share_fsyncs_and_each_is_covered() {
        let (_dir, group) = group();
        const THREADS: usize = 16;
        const ROUNDS: usize = 20;
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    for _ in 0..ROUNDS {
                        let before = group.lock().started;
                        group.sync().unwrap();
                        // The fsync that covered this call started after it began.
                        assert!(group.lock().finished > before);
                    }
                });
            }
        });
        let state = group.lock();
        assert!(!state.running);
        assert_eq!(state.started, state.finished);
        assert!(state.started as usize <= THREADS * ROUNDS);
    }

    #[test]
    fn a_failed_fsync_fails_every_later_call() {
        let (_dir, group) = group();
        group.lock().failure = Some("EIO".into());
        assert_eq!(group.sync().unwrap_err(), "EIO");
        assert!(group.sync().is_err());
    }

    #[test]
    fn folders_share_one_syncer_and_idle_ones_are_closed() {
        let root = tempfile::tempdir().unwrap();
        let syncs = FolderSyncs::default();
        let a = syncs.get(root.path()).unwrap();
        let b = syncs.get(root.path()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let dirs: Vec<PathBuf> = (0..KEEP_IDLE + 10)
            .map(|i| {
                let d = root.path().join(i.to_string());
                std::fs::create_dir(&d).unwrap();
                d
            })
            .collect();
        for d in &dirs {
            syncs.get(d).unwrap();
        }
        // The folder in use survived the clean-up; the map stayed bounded.
        assert!(syncs.lock().len() <= KEEP_IDLE + 1);
        assert!(Arc::ptr_eq(&a, &syncs.get(root.path()).unwrap()));
        syncs.forget(root.path());
        assert!(!Arc::ptr_eq(&a, &syncs.get(root.path()).unwrap()));
        assert!(syncs.get(&root.path().join("missing")).is_err());
    }
}
