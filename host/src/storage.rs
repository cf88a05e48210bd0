//! The host's view of the storage backend: async calls over the plugin's handle.
//!
//! Blocking backends (file, consul) run on tokio's blocking pool; non-blocking ones
//! (inmem) are called directly, because a blocking-pool hop costs microseconds while the
//! call itself costs tens of nanoseconds.
//!
//! In front of a blocking backend sits a read cache, as in Vault (its `cache_size` and
//! `disable_cache` settings): values read are kept, by key, up to a number of entries, so
//! that a hot key costs a map lookup instead of a blocking-pool hop and a file read or a
//! network round trip. It holds what the backend holds (barrier ciphertext), and it is
//! emptied at seal. Every write goes to the backend first and then drops the key from the
//! cache; see [`ReadCache`] for why a read that races a write cannot cache the old value.

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use vault_plugin_api::host::StorageHandle;

/// A storage failure, with the operation and key it happened on.
#[derive(Debug, thiserror::Error)]
#[error("storage {op} {key:?} on {backend}: {source}")]
pub struct StorageError {
    /// get, put, delete or list.
    pub op: &'static str,
    /// The key or prefix.
    pub key: String,
    /// The backend type.
    pub backend: Arc<str>,
    /// The plugin's error.
    pub source: vault_plugin_api::Error,
}

/// Vault's default `cache_size`: how many entries the read cache keeps.
pub const DEFAULT_CACHE_ENTRIES: usize = 131_072;

/// A cheap-to-clone handle to the configured backend.
#[derive(Clone)]
pub struct Storage {
    handle: Arc<StorageHandle>,
    kind: Arc<str>,
    /// The read cache, when there is one (see the module documentation).
    cache: Option<Arc<ReadCache>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("kind", &self.kind).finish()
    }
}

impl Storage {
    /// Wraps an opened backend of type `kind`.
    pub fn new(kind: &str, handle: StorageHandle) -> Self {
        Storage {
            handle: Arc::new(handle),
            kind: kind.into(),
            cache: None,
        }
    }

    /// The same backend with a read cache of up to `entries` values in front of it.
    pub fn with_cache(mut self, entries: usize) -> Self {
        self.cache = Some(Arc::new(ReadCache::new(entries)));
        self
    }

    /// Whether reads go through a cache.
    pub fn is_cached(&self) -> bool {
        self.cache.is_some()
    }

    /// Empties the read cache (at seal).
    pub fn purge_cache(&self) {
        if let Some(cache) = &self.cache {
            cache.purge();
        }
    }

    /// The backend type (`file`, `inmem`, ...), as seal-status reports it.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The plugin handle, for code that needs abilities.
    pub fn handle(&self) -> &Arc<StorageHandle> {
        &self.handle
    }

    async fn call<T: Send + 'static>(
        &self,
        op: &'static str,
        key: &str,
        f: impl FnOnce(&StorageHandle) -> Result<T, vault_plugin_api::Error> + Send + 'static,
    ) -> Result<T, StorageError> {
        let result = if self.handle.is_blocking() {
            let handle = self.handle.clone();
            match tokio::task::spawn_blocking(move || f(&handle)).await {
                Ok(r) => r,
                Err(join) => Err(vault_plugin_api::Error::Other(format!(
                    "storage task failed: {join}"
                ))),
            }
        } else {
            f(&self.handle)
        };
        result.map_err(|source| StorageError {
            op,
            key: key.to_string(),
            backend: self.kind.clone(),
            source,
        })
    }

    /// Reads a value; `None` when missing.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(cache) = &self.cache else {
            let k = key.to_string();
            return self.call("get", key, move |h| h.get(&k)).await;
        };
        let generation = match cache.get(key) {
            Lookup::Hit(value) => return Ok(Some(value)),
            Lookup::Miss(generation) => generation,
        };
        let k = key.to_string();
        let value = self.call("get", key, move |h| h.get(&k)).await?;
        if let Some(value) = &value {
            cache.fill(key, value, generation);
        }
        Ok(value)
    }

    /// Writes a value.
    pub async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        let k = key.to_string();
        let result = self.call("put", key, move |h| h.put(&k, &value)).await;
        // Also after a failure: the backend may have written part of it, or all of it.
        self.invalidate(key);
        result
    }

    /// Deletes a value.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let k = key.to_string();
        let result = self.call("delete", key, move |h| h.delete(&k)).await;
        self.invalidate(key);
        result
    }

    fn invalidate(&self, key: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(key);
        }
    }

    /// Lists the direct children of a prefix.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let p = prefix.to_string();
        self.call("list", prefix, move |h| h.list(&p)).await
    }
}

/// How many independently locked parts the cache has, so that concurrent requests rarely
/// wait for each other.
const SHARDS: usize = 16;

/// The read cache: an LRU map from key to value, in [`SHARDS`] parts by key hash.
///
/// A read that misses notes its shard's *generation*, reads the backend, and stores what it
/// read only if the generation is unchanged. Every write, after the backend has finished
/// it, drops the key and bumps the generation, under the shard's lock. So a read that began
/// before a write finished cannot store the value from before it: either the bump happened
/// first (and the read stores nothing), or the store happened first (and the write's drop
/// removes it). Writes to other keys of the shard also make such reads skip storing, which
/// costs a later miss, never a wrong answer.
pub struct ReadCache {
    shards: Vec<Mutex<Shard>>,
    /// Picks a key's shard. Seeded at random per process.
    hasher: std::collections::hash_map::RandomState,
}

struct Shard {
    entries: lru::LruCache<String, Vec<u8>>,
    /// Bumped by every write to a key of this shard.
    generation: u64,
}

/// What [`ReadCache::get`] found.
enum Lookup {
    Hit(Vec<u8>),
    /// Not cached; pass the generation to [`ReadCache::fill`].
    Miss(u64),
}

impl ReadCache {
    /// A cache of up to `entries` values in all (at least one per shard).
    pub fn new(entries: usize) -> Self {
        let per_shard = NonZeroUsize::new(entries.div_ceil(SHARDS)).unwrap_or(NonZeroUsize::MIN);
        ReadCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: lru::LruCache::new(per_shard),
                        generation: 0,
                    })
                })
                .collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The shard of `key`. Every change to a shard is one call into the LRU map or one
    /// counter bump, so a poisoned lock still guards a consistent shard.
    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        // The modulo keeps the index below SHARDS, so the index is always in range.
        let index = (self.hasher.hash_one(key) % SHARDS as u64) as usize;
        self.shards[index].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &str) -> Lookup {
        let mut shard = self.shard(key);
        match shard.entries.get(key) {
            Some(value) => Lookup::Hit(value.clone()),
            None => Lookup::Miss(shard.generation),
        }
    }

    /// Stores what a read that missed at `generation` found, unless a write came since.
    fn fill(&self, key: &str, value: &[u8], generation: u64) {
        let mut shard = self.shard(key);
        if shard.generation == generation {
            shard.entries.put(key.to_string(), value.to_vec());
        }
    }

    fn invalidate(&self, key: &str) {
        let mut shard = self.shard(key);
        shard.generation += 1;
        shard.entries.pop(key);
    }

    fn purge(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.generation += 1;
            shard.entries.clear();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).entries.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_a_write_does_not_cache_the_old_value() {
        let cache = ReadCache::new(64);
        let Lookup::Miss(generation) = cache.get("k") else {
            panic!("empty cache hit")
        };
        // A write finishes between the read's miss and its fill.
        cache.invalidate("k");
        cache.fill("k", b"old", generation);
        assert!(matches!(cache.get("k"), Lookup::Miss(_)));
        // Without a write in between, the fill sticks.
        let Lookup::Miss(generation) = cache.get("k") else {
            panic!()
        };
        cache.fill("k", b"new", generation);
        assert!(matches!(cache.get("k"), Lookup::Hit(v) if v == b"new"));
        cache.invalidate("k");
        assert!(matches!(cache.get("k"), Lookup::Miss(_)));
    }

    #[test]
    fn the_cache_is_bounded_and_purged() {
        let cache = ReadCache::new(32);
        for i in 0..1000 {
            let key = format!("k{i}");
            let Lookup::Miss(generation) = cache.get(&key) else {
                panic!()
            };
            cache.fill(&key, b"v", generation);
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        assert!(cache.len() > 0);
        let Lookup::Miss(generation) = cache.get("late") else {
            panic!()
        };
        cache.purge();
        assert_eq!(cache.len(), 0);
        // A read that began before the purge does not refill it.
        cache.fill("late", b"v", generation);
        assert_eq!(cache.len(), 0);
    }

    /// An inmem backend seen twice: through a cache, and directly (to change a value
    /// behind the cache's back).
    fn cached_and_direct() -> (Storage, Storage) {
        let handle =
            StorageHandle::in_process::<vault_inmem::Inmem>(vault_plugin_api::Config::default())
                .unwrap();
        let direct = Storage::new("inmem", handle);
        (direct.clone().with_cache(DEFAULT_CACHE_ENTRIES), direct)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_and_writes_always_end_on_the_last_write() {
        let (storage, _) = cached_and_direct();
        for round in 0..20u32 {
            let readers: Vec<_> = (0..4)
                .map(|_| {
                    let storage = storage.clone();
                    tokio::spawn(async move {
                        for _ in 0..20 {
                            storage.get("hot").await.unwrap();
                        }
                    })
                })
                .collect();
            for i in 0..5u32 {
                let value = format!("{round}:{i}").into_bytes();
                storage.put("hot", value.clone()).await.unwrap();
                // Read-your-write, however the readers interleave.
                assert_eq!(storage.get("hot").await.unwrap(), Some(value));
            }
            for r in readers {
                r.await.unwrap();
            }
            let last = format!("{round}:4").into_bytes();
            assert_eq!(storage.get("hot").await.unwrap(), Some(last));
        }
        storage.delete("hot").await.unwrap();
        assert_eq!(storage.get("hot").await.unwrap(), None);
    }

    #[tokio::test]
    async fn hits_are_served_without_the_backend() {
        let (storage, direct) = cached_and_direct();
        assert!(storage.is_cached() && !direct.is_cached());
        storage.put("a/b", b"v1".to_vec()).await.unwrap();
        assert_eq!(storage.get("a/b").await.unwrap(), Some(b"v1".to_vec()));
        // Changed behind the cache's back: the cached value answers, which is how a hit
        // is told apart from a backend read.
        direct.put("a/b", b"v2".to_vec()).await.unwrap();
        assert_eq!(storage.get("a/b").await.unwrap(), Some(b"v1".to_vec()));
        storage.purge_cache();
        assert_eq!(storage.get("a/b").await.unwrap(), Some(b"v2".to_vec()));
    }
}
