//! State in RocksDB, for state larger than memory and incremental checkpoints (feature
//! `rocksdb`).
//!
//! [`RocksBackend`] tells how.

use super::{Key, KeyedMap, PartitionedMap, StateBackend, Value};
use crate::checkpoint::{decode, encode};
use crate::error::{Error, Result};
use ::rocksdb::checkpoint::Checkpoint;
use ::rocksdb::{BlockBasedOptions, DB, DBCompressionType, Options, ReadOptions, WriteBatch, WriteOptions};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The number of entries a map of a [`RocksBackend`] keeps in its cache unless told
/// otherwise ([`RocksBackend::with_cache_entries`]).
pub const DEFAULT_CACHE_ENTRIES: usize = 1 << 20;

/// Bytes a map spends per entry besides the entry itself, as [`super::MemoryMap`] counts.
const OVERHEAD_PER_ENTRY: usize = 16;

/// Entries written in one write batch at most, at a checkpoint or an expiry (a few in
/// tests, so that they write several).
const BATCH_ENTRIES: usize = if cfg!(test) { 7 } else { 64 * 1024 };

/// The RocksDB backend: every map a [`RocksMap`] or [`RocksPartitioned`] in one database,
/// with a cache of the entries being worked on.
///
/// # Layout
///
/// The backend is one RocksDB database in a working folder of its own. Its maps
/// share it (through an `Arc`), each under a key prefix of its own: the map's name,
/// encoded (postcard writes a string's length first, so no name's prefix begins another's).
/// A [`RocksMap`] stores `prefix ‖ key → (written_ms, value)`, the TTL stamp first so that
/// [`KeyedMap::expire`] reads it without decoding the value; a [`RocksPartitioned`] stores
/// `prefix ‖ partition ‖ key → value`, so that a partition is one range of keys, and keeps
/// an ordered index of its partitions (partition → entry count) in memory. Keys and values
/// are encoded with [`crate::checkpoint::encode`] (postcard); postcard's encoding is
/// self-delimiting, so no partition's encoding begins another's. Keys must encode equal
/// values to equal bytes: the cache finds keys by `Eq`, the database by their bytes. (A
/// DECIMAL key holding both 1.5 and 1.50, equal but encoded with their scales, would be
/// two keys once evicted.)
///
/// # The cache
///
/// The state traits hand out references (`&mut V`, iterators of `(&K, &V)`), so each map keeps
/// a cache of decoded entries that it hands references into: an entry is read from the
/// database into the cache on a miss, and written back only when it is evicted or at a
/// checkpoint. Each map holds at most [`RocksBackend::with_cache_entries`] entries (per
/// map; [`DEFAULT_CACHE_ENTRIES`] by default) before the next entry comes in: it then
/// evicts the least recently used quarter of them, writing back those changed since they
/// were read (one write batch). A map whose entries all sit in the cache (small state)
/// never reads the database: a miss means an absent key. Scans
/// ([`KeyedMap::drain_where`], [`KeyedMap::expire`]) of a map that does not fit stream the
/// database after writing back the cache, holding only what they return;
/// [`KeyedMap::iter`] and [`PartitionedMap::partition`] load every entry they visit into
/// the cache (they hand out references to all of them at once), beyond the budget until
/// the next eviction. Writes skip RocksDB's write-ahead log: the working folder is thrown
/// away at the next [`RocksBackend::open`], and checkpoints flush the memtables.
///
/// # Checkpoints
///
/// The cached writes reach the database in each map's `save`, which every operator's
/// [`Snapshot`](crate::checkpoint::Snapshot) calls at a checkpoint: a map's `save` writes
/// back its changed entries and appends only a few bytes of metadata (its entry count, or
/// its partition index). [`RocksBackend::checkpoint_to`] then makes a RocksDB checkpoint:
/// new SST files for what the memtables hold, hard links to the SST files that did not
/// change, so that successive checkpoints copy only what changed. The backend cannot reach
/// into its maps' caches (they belong to the operators, which hold references into them),
/// so it does not flush them itself: it refuses, instead, to take a checkpoint while a map
/// has changed since its last `save`. So a task saves every operator, then calls
/// `checkpoint_to`, before touching its state again.
///
/// Restoring: [`RocksBackend::open`] with `restore_from` starts the database as a copy of a
/// checkpoint (hard links to its SST files), the operators ask for their maps by the same
/// names, and each map's `load` reads back the metadata its `save` wrote. A map asked for
/// in a restored backend and never loaded starts empty, as any new map does (what the
/// checkpoint held under its name is deleted at its first write).
///
/// # Panics
///
/// The trait methods that return no `Result` (`get`, `insert`, …) panic when RocksDB fails
/// (an I/O error of the working folder) or holds bytes that do not decode: the state can
/// no longer be trusted, and the pipeline restarts from its last checkpoint.
pub struct RocksBackend {
    db: Arc<Db>,
    cache_entries: usize,
    /// Whether the database started as a copy of a checkpoint.
    restored: bool,
    /// Each map handed out, with its flag of changes since its last `save`.
    maps: Vec<(String, Arc<AtomicBool>)>,
}

impl std::fmt::Debug for RocksBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksBackend")
            .field("path", &self.db.path)
            .field("cache_entries", &self.cache_entries)
            .field("restored", &self.restored)
            .field("maps", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

/// The database a backend's maps share.
struct Db {
    db: DB,
    path: PathBuf,
    write: WriteOptions,
    /// At a restore at another parallelism: a copy of the database of the worker whose
    /// snapshot the maps merge now ([`RocksBackend::merge_from`]), and its folder.
    merging: std::sync::Mutex<Option<(DB, PathBuf)>>,
}

impl Db {
    /// Calls `f` with each key and value under `prefix..end` of the database being merged
    /// from.
    fn scan_merging(&self, prefix: &[u8], end: &[u8], mut f: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
        let merging = self.merging.lock().unwrap_or_else(|p| p.into_inner());
        let Some((db, path)) = merging.as_ref() else {
            return Err(Error::State(format!(
                "RocksDB state in {}: a merge without the database to merge from",
                self.path.display()
            )));
        };
        let mut opts = ReadOptions::default();
        opts.set_iterate_upper_bound(end);
        let mut it = db.raw_iterator_opt(opts);
        it.seek(prefix);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            f(k, v)?;
            it.next();
        }
        it.status().map_err(|e| rocks_error(path, e))
    }
}

impl RocksBackend {
    /// A database in the working folder `dir`, which is removed first if it exists: empty,
    /// or with `restore_from` a copy of that folder, a RocksDB checkpoint that
    /// [`checkpoint_to`](Self::checkpoint_to) made (its SST files hard-linked where the
    /// file system allows, copied otherwise; the other files copied).
    pub fn open(dir: &Path, restore_from: Option<&Path>) -> Result<Self> {
        if let Some(from) = restore_from {
            let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            if canonical(from).starts_with(canonical(dir)) {
                return Err(Error::Config(format!(
                    "cannot restore RocksDB state from {} into {}: the working folder is removed first",
                    from.display(),
                    dir.display()
                )));
            }
        }
        // Also what a restore at another parallelism that failed left to merge from.
        for old in [dir.to_path_buf(), dir.with_extension("merge")] {
            match std::fs::remove_dir_all(&old) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&old, e)),
                _ => {}
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        if let Some(from) = restore_from {
            copy_checkpoint(from, dir)?;
        }
        let db = DB::open(&db_options(), dir).map_err(|e| rocks_error(dir, e))?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(RocksBackend {
            db: Arc::new(Db { db, path: dir.to_path_buf(), write, merging: std::sync::Mutex::new(None) }),
            cache_entries: DEFAULT_CACHE_ENTRIES,
            restored: restore_from.is_some(),
            maps: Vec::new(),
        })
    }

    /// The backend with each map created from now on keeping up to `n` entries (at least
    /// 1) in its cache.
    pub fn with_cache_entries(mut self, n: usize) -> Self {
        self.cache_entries = n.max(1);
        self
    }

    /// The working folder.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// The names of the maps handed out, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.maps.iter().map(|(n, _)| n.as_str())
    }

    /// Makes a RocksDB checkpoint of the database in `dir`, which must not exist yet (its
    /// parent must): SST files hard-linked (unchanged files are shared with earlier
    /// checkpoints, not copied), the memtables flushed to new ones first. Every map must
    /// have been saved since it last changed (operators' `save` writes back their cached
    /// entries), or the checkpoint is refused.
    pub fn checkpoint_to(&mut self, dir: &Path) -> Result<()> {
        if let Some((name, _)) = self.maps.iter().find(|(_, changed)| changed.load(Ordering::Acquire)) {
            return Err(Error::State(format!(
                "RocksDB state map `{name}` changed since it was last saved: save every operator before taking the \
                 checkpoint"
            )));
        }
        let checkpoint = Checkpoint::new(&self.db.db).map_err(|e| rocks_error(&self.db.path, e))?;
        checkpoint.create_checkpoint(dir).map_err(|e| rocks_error(dir, e))
    }

    /// The store of a new map named `name`.
    fn store(&mut self, name: &str) -> Store {
        debug_assert!(!self.maps.iter().any(|(n, _)| n == name), "state map '{name}' requested twice");
        let changed = Arc::new(AtomicBool::new(false));
        self.maps.push((name.to_owned(), changed.clone()));
        let mut prefix = Vec::new();
        encode(name, &mut prefix).unwrap_or_else(|e| panic!("state map name `{name}`: {e}"));
        Store {
            db: self.db.clone(),
            name: name.to_owned(),
            end: successor(&prefix),
            prefix,
            changed,
            unsaved: false,
            stale: self.restored,
        }
    }
}

impl RocksBackend {
    /// The backend of task `task` of the running pipeline: its database in
    /// `state.backend.rocksdb.localdir` (default: `working` in the checkpoint folder, else
    /// a folder under the system's temporary folder), restored from the task's state in the
    /// checkpoint restored, if any. The working database is recreated at every start. The
    /// cache holds `state.backend.rocksdb.cache-entries` entries per map.
    pub fn for_task(cx: &crate::pipeline::Context, task: &crate::checkpoint::TaskCheckpoint<'_>) -> Result<Self> {
        let root = match (cx.setting("state.backend.rocksdb.localdir"), cx.checkpoints()) {
            (Some(dir), _) => PathBuf::from(dir.strip_prefix("file://").unwrap_or(dir)),
            (None, Some(c)) => c.dir().join("working"),
            (None, None) => std::env::temp_dir().join(format!("dflc-rocksdb-{}", std::process::id())),
        };
        let safe: String =
            task.name().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
        let backend = Self::open(&root.join(safe), task.restored_state().as_deref())?;
        match cx.setting("state.backend.rocksdb.cache-entries") {
            None => Ok(backend),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(backend.with_cache_entries(n)),
                _ => Err(Error::Config(format!(
                    "setting 'state.backend.rocksdb.cache-entries': '{v}' is not a positive number"
                ))),
            },
        }
    }
}

impl StateBackend for RocksBackend {
    type Map<K: Key, V: Value> = RocksMap<K, V>;
    type Partitioned<P: Key, K: Key, V: Value> = RocksPartitioned<P, K, V>;

    /// A RocksDB checkpoint of the database: hard links to its files.
    fn persist_to(&mut self, dir: &Path) -> Result<bool> {
        self.checkpoint_to(dir)?;
        Ok(true)
    }

    fn keeps_files(&self) -> bool {
        true
    }

    /// Opens a copy of the RocksDB checkpoint `dir` (in a folder beside the working one,
    /// removed when the next merge starts or the merges end) for the maps to merge from.
    fn merge_from(&mut self, dir: Option<&Path>) -> Result<()> {
        let copy = self.db.path.with_extension("merge");
        let mut merging = self.db.merging.lock().unwrap_or_else(|p| p.into_inner());
        *merging = None;
        match std::fs::remove_dir_all(&copy) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&copy, e)),
            _ => {}
        }
        let Some(dir) = dir else { return Ok(()) };
        std::fs::create_dir_all(&copy).map_err(|e| Error::io(&copy, e))?;
        copy_checkpoint(dir, &copy)?;
        let db = DB::open_for_read_only(&db_options(), &copy, false).map_err(|e| rocks_error(&copy, e))?;
        *merging = Some((db, copy));
        Ok(())
    }

    fn map<K: Key, V: Value>(&mut self, name: &str) -> RocksMap<K, V> {
        RocksMap {
            store: self.store(name),
            cache: HashMap::new(),
            len: 0,
            clock_ms: 0,
            tick: 0,
            budget: self.cache_entries,
        }
    }

    fn partitioned<P: Key, K: Key, V: Value>(&mut self, name: &str) -> RocksPartitioned<P, K, V> {
        RocksPartitioned {
            store: self.store(name),
            parts: BTreeMap::new(),
            len: 0,
            cached: 0,
            tick: 0,
            budget: self.cache_entries,
        }
    }
}

/// The options every database of the backend is opened with.
fn db_options() -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_whole_key_filtering(true);
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.set_compression_type(DBCompressionType::Lz4);
    opts.set_block_based_table_factory(&table);
    opts.set_keep_log_file_num(2);
    opts
}

/// Copies the checkpoint folder `from` into `to`: SST and blob files (which RocksDB never
/// changes) hard-linked when possible, the others (manifest, options) copied.
fn copy_checkpoint(from: &Path, to: &Path) -> Result<()> {
    let entries = std::fs::read_dir(from).map_err(|e| Error::io(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if !entry.file_type().map_err(|e| Error::io(&src, e))?.is_file() {
            return Err(Error::State(format!("{}: not a RocksDB checkpoint (it holds a folder)", src.display())));
        }
        let immutable = src.extension().is_some_and(|x| x == "sst" || x == "blob");
        if immutable && std::fs::hard_link(&src, &dst).is_ok() {
            continue;
        }
        std::fs::copy(&src, &dst).map_err(|e| Error::io(&src, e))?;
    }
    Ok(())
}

fn rocks_error(path: &Path, e: ::rocksdb::Error) -> Error {
    Error::io(path, std::io::Error::other(format!("RocksDB: {e}")))
}

/// The least key above every key that starts with `prefix` (empty: none is).
fn successor(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            break;
        }
    }
    end
}

/// One map's part of the database: its key prefix, and its flag of changes since `save`.
struct Store {
    db: Arc<Db>,
    name: String,
    prefix: Vec<u8>,
    /// [`successor`] of `prefix`: the map's keys are `prefix..end`.
    end: Vec<u8>,
    /// Shared with the backend, which checks it before a checkpoint.
    changed: Arc<AtomicBool>,
    /// The map changed since its last `save` (`changed`, without the atomic).
    unsaved: bool,
    /// The database may hold entries under `prefix` from the checkpoint restored that the
    /// map never loaded: delete them before the first write.
    stale: bool,
}

impl Store {
    #[inline]
    fn mark_changed(&mut self) {
        if !self.unsaved {
            self.unsaved = true;
            self.changed.store(true, Ordering::Release);
        }
    }

    fn mark_saved(&mut self) {
        self.unsaved = false;
        self.changed.store(false, Ordering::Release);
    }

    fn fail(&self, e: impl std::fmt::Display) -> ! {
        panic!("RocksDB state map `{}` in {}: {e}", self.name, self.db.path.display())
    }

    /// Appends `value`, encoded, to `out`.
    fn put<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) {
        if let Err(e) = encode(value, out) {
            self.fail(e)
        }
    }

    /// The database key of `parts`, under the map's prefix.
    fn key<T: Serialize + ?Sized>(&self, parts: &T) -> Vec<u8> {
        let mut key = self.prefix.clone();
        self.put(parts, &mut key);
        key
    }

    /// Decodes a `T` from the front of `input`.
    fn take<T: serde::de::DeserializeOwned>(&self, input: &mut &[u8]) -> T {
        decode(input).unwrap_or_else(|e| self.fail(e))
    }

    /// The value stored under `key`, decoded.
    fn get<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Option<T> {
        let bytes = self.db.db.get_pinned(key).unwrap_or_else(|e| self.fail(e))?;
        Some(self.take(&mut &bytes[..]))
    }

    /// Writes `batch` (after deleting what a checkpoint left under the prefix, the first
    /// time).
    fn write(&mut self, batch: WriteBatch) {
        if let Err(e) = self.try_write(batch) {
            self.fail(e)
        }
    }

    fn try_write(&mut self, batch: WriteBatch) -> Result<()> {
        let db = &self.db;
        if self.stale {
            let mut clear = WriteBatch::default();
            clear.delete_range(&self.prefix, &self.end);
            db.db.write_opt(clear, &db.write).map_err(|e| rocks_error(&db.path, e))?;
            self.stale = false;
        }
        if !batch.is_empty() {
            db.db.write_opt(batch, &db.write).map_err(|e| rocks_error(&db.path, e))?;
        }
        Ok(())
    }

    /// Writes `batch` now if it holds [`BATCH_ENTRIES`], during a scan (after a write:
    /// nothing stale is left to delete).
    fn write_if_full(&self, batch: &mut WriteBatch) {
        debug_assert!(!self.stale);
        if batch.len() >= BATCH_ENTRIES {
            let db = &self.db;
            db.db.write_opt(std::mem::take(batch), &db.write).unwrap_or_else(|e| self.fail(e));
        }
    }

    /// Calls `f` with each key (without the map's prefix) and value in `from..to`.
    fn scan(&self, from: &[u8], to: &[u8], mut f: impl FnMut(&[u8], &[u8])) {
        let mut opts = ReadOptions::default();
        opts.set_iterate_lower_bound(from);
        opts.set_iterate_upper_bound(to);
        let mut it = self.db.db.raw_iterator_opt(opts);
        it.seek(from);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            f(&k[self.prefix.len()..], v);
            it.next();
        }
        if let Err(e) = it.status() {
            self.fail(e)
        }
    }

    /// Checks, at a restore of `len` entries, that the database holds the map's entries
    /// (that the backend was opened from the checkpoint `load` reads the metadata of).
    fn check_restored(&self, len: usize) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let mut opts = ReadOptions::default();
        opts.set_iterate_upper_bound(self.end.as_slice());
        let mut it = self.db.db.raw_iterator_opt(opts);
        it.seek(&self.prefix);
        it.status().map_err(|e| rocks_error(&self.db.path, e))?;
        if it.valid() {
            return Ok(());
        }
        Err(Error::State(format!(
            "RocksDB state map `{}`: its {len} entries are not in {} (open the backend from the checkpoint's RocksDB \
             folder)",
            self.name,
            self.db.path.display()
        )))
    }
}

/// An entry of a [`RocksMap`]'s cache.
struct Cached<V> {
    value: V,
    written_ms: i64,
    /// When it was last used (the map's tick), for eviction.
    used: u64,
    /// Changed since it was read from (or last written to) the database.
    dirty: bool,
    /// The database holds the key (perhaps with an older value).
    in_db: bool,
}

/// A [`KeyedMap`] in RocksDB with a cache of decoded entries: [`RocksBackend`]'s maps.
/// Iteration order is arbitrary.
pub struct RocksMap<K, V> {
    store: Store,
    cache: HashMap<K, Cached<V>>,
    /// Entries in all (cached or not).
    len: usize,
    clock_ms: i64,
    tick: u64,
    budget: usize,
}

impl<K: Key, V: Value> RocksMap<K, V> {
    #[inline]
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Whether every entry is in the cache (a miss is then an absent key).
    #[inline]
    fn all_cached(&self) -> bool {
        self.cache.len() == self.len
    }

    /// `k`'s stamp and value in the database, if the cache may not hold all entries.
    fn read(&self, k: &K) -> Option<(i64, V)> {
        if self.all_cached() {
            return None;
        }
        self.store.get(&self.store.key(k))
    }

    /// Whether `k` is in the cache, after reading it from the database on a miss.
    fn fetch(&mut self, k: &K) -> bool {
        if self.cache.contains_key(k) {
            return true;
        }
        let Some((written_ms, value)) = self.read(k) else { return false };
        self.make_room();
        let used = self.next_tick();
        self.cache.insert(k.clone(), Cached { value, written_ms, used, dirty: false, in_db: true });
        true
    }

    /// Evicts entries if the cache is full, so that one more fits.
    fn make_room(&mut self) {
        if self.cache.len() < self.budget {
            return;
        }
        let keep = self.budget - self.budget.div_ceil(4);
        let mut used: Vec<u64> = self.cache.values().map(|c| c.used).collect();
        let evict = used.len() - keep;
        let cut = *used.select_nth_unstable(evict - 1).1;
        let mut batch = WriteBatch::default();
        let store = &self.store;
        self.cache.retain(|k, c| {
            if c.used > cut {
                return true;
            }
            if c.dirty {
                let mut value = Vec::new();
                store.put(&(c.written_ms, &c.value), &mut value);
                batch.put(store.key(k), value);
            }
            false
        });
        self.store.write(batch);
    }

    /// Writes every changed entry of the cache to the database.
    fn write_back(&mut self) {
        if let Err(e) = self.try_write_back() {
            self.store.fail(e)
        }
    }

    /// [`write_back`](Self::write_back), failing with the first error; an entry stays
    /// changed until its write succeeds.
    fn try_write_back(&mut self) -> Result<()> {
        let mut batch = WriteBatch::default();
        for (k, c) in self.cache.iter_mut().filter(|(_, c)| c.dirty) {
            c.in_db = true; // perhaps, from now on
            let mut key = self.store.prefix.clone();
            encode(k, &mut key)?;
            let mut value = Vec::new();
            encode(&(c.written_ms, &c.value), &mut value)?;
            batch.put(key, value);
            if batch.len() >= BATCH_ENTRIES {
                self.store.try_write(std::mem::take(&mut batch))?;
            }
        }
        self.store.try_write(batch)?;
        self.cache.values_mut().for_each(|c| c.dirty = false);
        Ok(())
    }

    /// Removes and returns the entries for which `remove(key, stamp, value)` holds, from
    /// the cache and the database.
    fn remove_where(&mut self, mut remove: impl FnMut(&K, i64, &V) -> bool) -> Vec<(K, V)> {
        let mut out = Vec::new();
        let mut batch = WriteBatch::default();
        if self.all_cached() {
            let keys: Vec<K> =
                self.cache.iter().filter(|(k, c)| remove(k, c.written_ms, &c.value)).map(|(k, _)| k.clone()).collect();
            for k in keys {
                let Some(c) = self.cache.remove(&k) else { continue };
                if c.in_db {
                    batch.delete(self.store.key(&k));
                }
                out.push((k, c.value));
            }
        } else {
            // The database holds every entry once the cache is written back.
            self.write_back();
            let store = &self.store;
            store.scan(&store.prefix, &store.end, |kb, vb| {
                let k: K = store.take(&mut &kb[..]);
                let (written_ms, value): (i64, V) = store.take(&mut &vb[..]);
                if remove(&k, written_ms, &value) {
                    batch.delete([&store.prefix, kb].concat());
                    self.cache.remove(&k);
                    out.push((k, value));
                }
            });
        }
        self.len -= out.len();
        if !out.is_empty() {
            self.store.mark_changed();
        }
        self.store.write(batch);
        out
    }
}

impl<K: Key, V: Value> KeyedMap<K, V> for RocksMap<K, V> {
    fn get(&mut self, k: &K) -> Option<&V> {
        if !self.fetch(k) {
            return None;
        }
        let used = self.next_tick();
        self.cache.get_mut(k).map(|c| {
            c.used = used;
            &c.value
        })
    }

    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        if !self.fetch(k) {
            return None;
        }
        self.store.mark_changed();
        let (used, clock_ms) = (self.next_tick(), self.clock_ms);
        self.cache.get_mut(k).map(|c| {
            c.used = used;
            c.written_ms = clock_ms;
            c.dirty = true;
            &mut c.value
        })
    }

    fn entry_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        if !self.fetch(&k) {
            self.make_room();
            self.len += 1;
        }
        self.store.mark_changed();
        let (used, clock_ms) = (self.next_tick(), self.clock_ms);
        let c = self.cache.entry(k).or_insert_with(|| Cached {
            value: f(),
            written_ms: clock_ms,
            used,
            dirty: true,
            in_db: false,
        });
        c.used = used;
        c.written_ms = clock_ms;
        c.dirty = true;
        &mut c.value
    }

    fn insert(&mut self, k: K, v: V) -> Option<V> {
        if !self.fetch(&k) {
            self.make_room();
            self.len += 1;
        }
        self.store.mark_changed();
        let (used, clock_ms) = (self.next_tick(), self.clock_ms);
        match self.cache.entry(k) {
            Entry::Occupied(mut e) => {
                let c = e.get_mut();
                c.used = used;
                c.written_ms = clock_ms;
                c.dirty = true;
                Some(std::mem::replace(&mut c.value, v))
            }
            Entry::Vacant(e) => {
                e.insert(Cached { value: v, written_ms: clock_ms, used, dirty: true, in_db: false });
                None
            }
        }
    }

    fn remove(&mut self, k: &K) -> Option<V> {
        let (value, in_db) = match self.cache.remove(k) {
            Some(c) => (c.value, c.in_db),
            None => (self.read(k)?.1, true),
        };
        self.len -= 1;
        self.store.mark_changed();
        if in_db {
            let mut batch = WriteBatch::default();
            batch.delete(self.store.key(k));
            self.store.write(batch);
        }
        Some(value)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn drain_where(&mut self, mut pred: impl FnMut(&K, &V) -> bool) -> Vec<(K, V)> {
        self.remove_where(|k, _, v| pred(k, v))
    }

    fn iter(&mut self) -> Box<dyn Iterator<Item = (&K, &V)> + '_> {
        if !self.all_cached() {
            let mut tick = self.tick;
            let (store, cache) = (&self.store, &mut self.cache);
            store.scan(&store.prefix, &store.end, |kb, vb| {
                let k: K = store.take(&mut &kb[..]);
                if let Entry::Vacant(e) = cache.entry(k) {
                    let (written_ms, value): (i64, V) = store.take(&mut &vb[..]);
                    tick += 1;
                    e.insert(Cached { value, written_ms, used: tick, dirty: false, in_db: true });
                }
            });
            self.tick = tick;
        }
        Box::new(self.cache.iter().map(|(k, c)| (k, &c.value)))
    }

    fn approximate_bytes(&self) -> usize {
        self.len * (size_of::<K>() + size_of::<(V, i64)>() + OVERHEAD_PER_ENTRY)
    }

    fn set_clock(&mut self, now_ms: i64) {
        self.clock_ms = now_ms;
    }

    fn save(&mut self, out: &mut Vec<u8>) -> Result<()> {
        // Also clears what a restored checkpoint left under the name of a map never loaded.
        self.try_write_back()?;
        encode(&self.len, out)?;
        self.store.mark_saved();
        Ok(())
    }

    fn load(&mut self, input: &mut &[u8]) -> Result<()> {
        let len: usize = decode(input)?;
        self.store.check_restored(len)?;
        self.cache.clear();
        self.len = len;
        self.store.stale = false;
        self.store.mark_saved();
        Ok(())
    }

    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> Result<()> {
        let _len: usize = decode(input)?;
        // Entries keep their bytes (and TTL stamps); only the keys are decoded.
        self.try_write_back()?;
        let mut batch = WriteBatch::default();
        let mut added = 0;
        // The workers merged from had no key in common.
        let store = &mut self.store;
        let (db, prefix, end) = (store.db.clone(), store.prefix.clone(), store.end.clone());
        db.scan_merging(&prefix, &end, |key, value| {
            let k: K = decode(&mut &key[prefix.len()..])?;
            if keep(&k) {
                batch.put(key, value);
                added += 1;
            }
            if batch.len() >= BATCH_ENTRIES {
                store.try_write(std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        store.try_write(batch)?;
        self.len += added;
        Ok(())
    }

    fn expire(&mut self, now_ms: i64, ttl_ms: i64) -> usize {
        if ttl_ms <= 0 {
            return 0;
        }
        let expired = |written_ms: i64| i128::from(written_ms) + i128::from(ttl_ms) <= i128::from(now_ms);
        if self.all_cached() {
            return self.remove_where(|_, written_ms, _| expired(written_ms)).len();
        }
        // Streamed: only the stamps are decoded; the cache is clean after the write-back.
        self.write_back();
        let before = self.len;
        let mut batch = WriteBatch::default();
        let store = &self.store;
        store.scan(&store.prefix, &store.end, |kb, vb| {
            if expired(store.take(&mut &vb[..])) {
                batch.delete([&store.prefix, kb].concat());
                store.write_if_full(&mut batch);
                self.len -= 1;
            }
        });
        self.cache.retain(|_, c| !expired(c.written_ms));
        if self.len < before {
            self.store.mark_changed();
        }
        self.store.write(batch);
        before - self.len
    }
}

/// An entry of a [`RocksPartitioned`]'s cache.
struct PartCached<V> {
    value: V,
    used: u64,
    dirty: bool,
}

/// One partition of a [`RocksPartitioned`]: its entry count and its cached entries.
struct Part<K, V> {
    len: usize,
    /// The database may hold entries of the partition.
    in_db: bool,
    cache: FxHashMap<K, PartCached<V>>,
}

/// A [`PartitionedMap`] in RocksDB with a cache of decoded entries and an ordered index of
/// its partitions in memory: [`RocksBackend`]'s partitioned maps.
pub struct RocksPartitioned<P, K, V> {
    store: Store,
    parts: BTreeMap<P, Part<K, V>>,
    /// Entries in all (cached or not).
    len: usize,
    /// Entries in the caches of all partitions.
    cached: usize,
    tick: u64,
    budget: usize,
}

impl<P: Key, K: Key, V: Value> RocksPartitioned<P, K, V> {
    /// The database keys of partition `p`: `from..to`.
    fn range_of(&self, p: &P) -> (Vec<u8>, Vec<u8>) {
        let from = self.store.key(p);
        let to = successor(&from);
        (from, to)
    }

    /// Evicts entries if the caches are full, so that one more fits.
    fn make_room(&mut self) {
        if self.cached < self.budget {
            return;
        }
        let keep = self.budget - self.budget.div_ceil(4);
        let mut used: Vec<u64> = self.parts.values().flat_map(|part| part.cache.values().map(|c| c.used)).collect();
        let evict = used.len() - keep;
        let cut = *used.select_nth_unstable(evict - 1).1;
        let mut batch = WriteBatch::default();
        let store = &self.store;
        for (p, part) in &mut self.parts {
            let before = part.cache.len();
            let mut pkey = None;
            part.cache.retain(|k, c| {
                if c.used > cut {
                    return true;
                }
                if c.dirty {
                    let mut key = pkey.get_or_insert_with(|| store.key(p)).clone();
                    store.put(k, &mut key);
                    let mut value = Vec::new();
                    store.put(&c.value, &mut value);
                    batch.put(key, value);
                }
                false
            });
            part.in_db |= pkey.is_some();
            self.cached -= before - part.cache.len();
        }
        self.store.write(batch);
    }
}

impl<P: Key, K: Key, V: Value> PartitionedMap<P, K, V> for RocksPartitioned<P, K, V> {
    fn entry_or_insert_with(&mut self, p: &P, k: K, f: impl FnOnce() -> V) -> &mut V {
        let (cached, all_cached) = match self.parts.get(p) {
            Some(part) => (part.cache.contains_key(&k), part.cache.len() == part.len),
            None => (false, true),
        };
        let mut stored = None;
        if !cached {
            if !all_cached {
                stored = self.store.get::<V>(&self.store.key(&(p, &k)));
            }
            self.make_room();
            self.cached += 1;
            if stored.is_none() {
                self.len += 1;
            }
        }
        self.store.mark_changed();
        self.tick += 1;
        let used = self.tick;
        let part =
            self.parts.entry(p.clone()).or_insert_with(|| Part { len: 0, in_db: false, cache: FxHashMap::default() });
        if !cached && stored.is_none() {
            part.len += 1;
        }
        let c =
            part.cache.entry(k).or_insert_with(|| PartCached { value: stored.unwrap_or_else(f), used, dirty: true });
        c.used = used;
        c.dirty = true;
        &mut c.value
    }

    fn partition(&mut self, p: &P) -> Box<dyn Iterator<Item = (&K, &V)> + '_> {
        let Some(part) = self.parts.get(p) else { return Box::new(std::iter::empty()) };
        if part.cache.len() < part.len {
            self.make_room();
            let (from, to) = self.range_of(p);
            let (store, parts, cached, tick) = (&self.store, &mut self.parts, &mut self.cached, &mut self.tick);
            let Some(part) = parts.get_mut(p) else { return Box::new(std::iter::empty()) };
            let skip = from.len() - store.prefix.len();
            store.scan(&from, &to, |kb, vb| {
                let k: K = store.take(&mut &kb[skip..]);
                if let Entry::Vacant(e) = part.cache.entry(k) {
                    *tick += 1;
                    *cached += 1;
                    e.insert(PartCached { value: store.take(&mut &vb[..]), used: *tick, dirty: false });
                }
            });
        }
        match self.parts.get(p) {
            Some(part) => Box::new(part.cache.iter().map(|(k, c)| (k, &c.value))),
            None => Box::new(std::iter::empty()),
        }
    }

    fn partitions<R: RangeBounds<P>>(&self, range: R) -> Vec<&P> {
        self.parts.range(range).map(|(p, _)| p).collect()
    }

    fn first_partition(&self) -> Option<&P> {
        self.parts.keys().next()
    }

    fn remove_partition(&mut self, p: &P) -> Vec<(K, V)> {
        let Some(part) = self.parts.remove(p) else { return Vec::new() };
        self.store.mark_changed();
        self.len -= part.len;
        self.cached -= part.cache.len();
        let mut out = Vec::with_capacity(part.len);
        if part.in_db {
            let (from, to) = self.range_of(p);
            if part.cache.len() < part.len {
                let store = &self.store;
                let skip = from.len() - store.prefix.len();
                store.scan(&from, &to, |kb, vb| {
                    let k: K = store.take(&mut &kb[skip..]);
                    if !part.cache.contains_key(&k) {
                        out.push((k, store.take(&mut &vb[..])));
                    }
                });
            }
            let mut batch = WriteBatch::default();
            batch.delete_range(from, to);
            self.store.write(batch);
        }
        out.extend(part.cache.into_iter().map(|(k, c)| (k, c.value)));
        out
    }

    fn len(&self) -> usize {
        self.len
    }

    fn save(&mut self, out: &mut Vec<u8>) -> Result<()> {
        // An entry stays changed until its write succeeds (a failed checkpoint is skipped,
        // and the pipeline goes on).
        let mut batch = WriteBatch::default();
        for (p, part) in &mut self.parts {
            let mut pkey = None;
            for (k, c) in part.cache.iter().filter(|(_, c)| c.dirty) {
                let mut key = match &pkey {
                    Some(pkey) => Vec::clone(pkey),
                    None => {
                        part.in_db = true; // perhaps, from now on
                        pkey.insert(self.store.key(p)).clone()
                    }
                };
                encode(k, &mut key)?;
                let mut value = Vec::new();
                encode(&c.value, &mut value)?;
                batch.put(key, value);
                if batch.len() >= BATCH_ENTRIES {
                    self.store.try_write(std::mem::take(&mut batch))?;
                }
            }
        }
        self.store.try_write(batch)?;
        self.parts.values_mut().flat_map(|part| part.cache.values_mut()).for_each(|c| c.dirty = false);
        encode(&self.parts.len(), out)?;
        for (p, part) in &self.parts {
            encode(&(p, part.len), out)?;
        }
        self.store.mark_saved();
        Ok(())
    }

    fn load(&mut self, input: &mut &[u8]) -> Result<()> {
        let n: usize = decode(input)?;
        let mut parts = BTreeMap::new();
        let mut len = 0;
        for _ in 0..n {
            let (p, entries): (P, usize) = decode(input)?;
            len += entries;
            parts.insert(p, Part { len: entries, in_db: true, cache: FxHashMap::default() });
        }
        self.store.check_restored(len)?;
        (self.parts, self.len, self.cached) = (parts, len, 0);
        self.store.stale = false;
        self.store.mark_saved();
        Ok(())
    }

    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> Result<()> {
        // The index is rebuilt from the entries kept.
        let n: usize = decode(input)?;
        for _ in 0..n {
            let _: (P, usize) = decode(input)?;
        }
        let mut batch = WriteBatch::default();
        let store = &mut self.store;
        let (db, prefix, end) = (store.db.clone(), store.prefix.clone(), store.end.clone());
        let (parts, len) = (&mut self.parts, &mut self.len);
        // The workers merged from had no key in common.
        db.scan_merging(&prefix, &end, |key, value| {
            let mut rest = &key[prefix.len()..];
            let p: P = decode(&mut rest)?;
            let k: K = decode(&mut rest)?;
            if !keep(&k) {
                return Ok(());
            }
            parts.entry(p).or_insert_with(|| Part { len: 0, in_db: true, cache: FxHashMap::default() }).len += 1;
            *len += 1;
            batch.put(key, value);
            if batch.len() >= BATCH_ENTRIES {
                store.try_write(std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        store.try_write(batch)
    }
}
