//! Keyed operator state behind a backend trait, event-time timers, and state TTL.
//!
//! Stateful operators (aggregates, later joins and Top-N) never hold their state in a
//! concrete container: they are generic over a [`StateBackend`] and ask it for named
//! [`KeyedMap`]s and [`PartitionedMap`]s. [`MemoryBackend`] keeps them in hash maps on the
//! heap; `RocksBackend` (feature `rocksdb`) keeps them in one RocksDB database, for state
//! larger than memory and incremental checkpoints, with a cache of the entries being
//! worked on (so that its maps can hand out references, and the reads that may fill that
//! cache — [`KeyedMap::get`], [`KeyedMap::iter`], [`PartitionedMap::partition`] — take
//! `&mut self`). Its maps write their cached changes back in `save`, which a checkpoint
//! calls on every operator before `RocksBackend::checkpoint_to` makes a RocksDB
//! checkpoint sharing the unchanged files with the previous one (see `RocksBackend`).
//!
//! # How an aggregate operator uses them
//!
//! **Windowed GROUP BY** (TUMBLE/HOP/CUMULATE): the state is one map from
//! `(group key, window end)` to the accumulator tuple (see [`crate::agg`]), plus a
//! [`TimerQueue`] of the windows to fire:
//!
//! ```
//! use dfl::agg::{Accumulator, Count, Sum};
//! use dfl::state::{KeyedMap, MemoryBackend, StateBackend, TimerQueue};
//! use dfl::types::Str;
//!
//! fn run<B: StateBackend>(backend: &mut B) -> Vec<(Str, i64, Option<i64>, Option<i64>)> {
//!     let mut accs = backend.map::<(Str, i64), (Count, Sum<i64>)>("window-agg");
//!     let mut timers = TimerQueue::new();
//!     let mut out = vec![];
//!     // Rows (key, rowtime in ms, x) into 10 ms tumbling windows; then watermark 9.
//!     for (key, ts, x) in [("a", 1i64, Some(5)), ("b", 3, None), ("a", 7, Some(2)), ("a", 12, Some(1))] {
//!         let end = ts - ts.rem_euclid(10) + 10;
//!         let group = (Str::new(key), end);
//!         timers.register(end - 1, group.clone()); // fires when the watermark reaches end - 1
//!         let acc = accs.entry_or_insert_with(group, Default::default);
//!         acc.0.add(true); // COUNT(*)
//!         acc.1.add(x); // SUM(x)
//!     }
//!     for (_, group) in timers.pop_due(9) {
//!         if let Some((count, sum)) = accs.remove(&group) {
//!             out.push((group.0, group.1, count.result(), sum.result()));
//!         }
//!     }
//!     assert_eq!(accs.len(), 1); // ("a", 20) is still open
//!     out
//! }
//!
//! let out = run(&mut MemoryBackend::new());
//! assert_eq!(out, [(Str::new("a"), 10, Some(2), Some(7)), (Str::new("b"), 10, Some(1), None)]);
//! ```
//!
//! - A row goes to each of its windows: `entry_or_insert_with((key, end), init)` and
//!   `add` its arguments to the accumulators.
//! - The first row of a `(key, window)` registers an event-time timer at `end - 1` (the
//!   window's last instant and the output's rowtime); registering again is a no-op.
//! - On a watermark `wm`, [`TimerQueue::pop_due`]`(wm)` yields the windows to fire in
//!   time order; the operator `remove`s their accumulators, emits `result()`s, and the
//!   state is freed. (Without timers, [`KeyedMap::drain_where`] by window end does the
//!   same in one scan of the map.)
//! - SESSION windows keep the session bounds in the key and `merge` accumulators when a
//!   row joins two sessions.
//!
//! **Non-windowed GROUP BY** keeps `group key → (accumulators, row count)` and emits a
//! changelog per input row (`-U` of the previous results, `+U` of the new ones; `-D` and
//! `remove` when the row count drops to 0 on retraction). Groups idle for longer than
//! `table.exec.state.ttl` are dropped: the operator calls [`KeyedMap::set_clock`] with the
//! processing time as it works (every write stamps the entry), and every so often
//! [`KeyedMap::expire`]`(now, ttl)`. As in Flink (`OnCreateAndWrite`), reads do not
//! refresh an entry: [`KeyedMap::get`] leaves the stamp, [`KeyedMap::get_mut`],
//! [`KeyedMap::entry_or_insert_with`] and [`KeyedMap::insert`] renew it.
//!
//! # Keys and values
//!
//! Keys and values must be serializable ([`Key`], [`Value`]) so that a persistent backend
//! and checkpoints need no new bounds later. Generated key and row structs derive
//! `Serialize`/`Deserialize`; the accumulators of [`crate::agg`] implement them too. Keys
//! also need `Eq + Hash + Ord`: a group key holding a DOUBLE column wraps it in
//! [`crate::agg::Ordered`], which orders, compares and hashes doubles totally.

mod memory;
#[cfg(feature = "rocksdb")]
mod rocksdb;
mod timer;

#[cfg(test)]
mod tests;

#[cfg(feature = "rocksdb")]
pub use self::rocksdb::{DEFAULT_CACHE_ENTRIES, RocksBackend, RocksMap, RocksPartitioned};
pub use memory::{MemoryBackend, MemoryMap, MemoryPartitioned, SortedMap};
pub use timer::TimerQueue;

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::hash::Hash;

/// Messages between readings of the clock for state TTL ([`TtlClock`]).
pub const TTL_CLOCK_EVERY: u32 = 1024;

/// State time-to-live for an operator's keyed map (Flink's `table.exec.state.ttl`): keys
/// not written for the TTL are forgotten. Operators call [`TtlClock::tick`] per message:
/// the clock is read every [`TTL_CLOCK_EVERY`] messages (writes are stamped with it) and
/// expired keys are removed at most every quarter of the TTL (at least a second apart).
#[derive(Debug)]
pub struct TtlClock {
    ttl_ms: i64,
    calls: u32,
    next_expiry_ms: i64,
    clock: fn() -> i64,
}

impl TtlClock {
    /// A TTL of `ttl_ms` (none: `None` or not positive) by processing time from `clock`.
    pub fn new(ttl_ms: Option<i64>, clock: fn() -> i64) -> Option<Self> {
        ttl_ms.filter(|t| *t > 0).map(|ttl_ms| TtlClock { ttl_ms, calls: 0, next_expiry_ms: i64::MIN, clock })
    }

    /// Counts a message for `map`; now and then stamps its writes with the clock and
    /// removes its expired keys.
    #[inline]
    pub fn tick<K, V>(&mut self, map: &mut impl KeyedMap<K, V>) {
        if self.calls > 0 {
            self.calls -= 1;
            return;
        }
        self.calls = TTL_CLOCK_EVERY - 1;
        let now = (self.clock)();
        map.set_clock(now);
        if now >= self.next_expiry_ms {
            self.next_expiry_ms = now.saturating_add((self.ttl_ms / 4).max(1000));
            map.expire(now, self.ttl_ms);
        }
    }
}

/// What can key operator state. Implemented for every type with the bounds.
pub trait Key: Clone + Eq + Hash + Ord + Send + Serialize + DeserializeOwned + 'static {}

impl<T: Clone + Eq + Hash + Ord + Send + Serialize + DeserializeOwned + 'static> Key for T {}

/// What operator state can hold. Implemented for every type with the bounds.
pub trait Value: Clone + Send + Serialize + DeserializeOwned + 'static {}

impl<T: Clone + Send + Serialize + DeserializeOwned + 'static> Value for T {}

/// Where operator state lives. An operator asks for each of its maps once, by a name
/// unique within the operator (a persistent backend stores each under its name).
pub trait StateBackend: Send {
    /// The backend's keyed map.
    type Map<K: Key, V: Value>: KeyedMap<K, V>;

    /// The backend's partitioned map.
    type Partitioned<P: Key, K: Key, V: Value>: PartitionedMap<P, K, V>;

    /// A new, empty map named `name`.
    fn map<K: Key, V: Value>(&mut self, name: &str) -> Self::Map<K, V>;

    /// A new, empty partitioned map named `name`.
    fn partitioned<P: Key, K: Key, V: Value>(&mut self, name: &str) -> Self::Partitioned<P, K, V>;

    /// At a checkpoint, after every operator saved its maps: writes the state the backend
    /// keeps on disk into the new folder `dir` and returns `true`, or returns `false` for a
    /// backend whose maps saved everything in the snapshot itself (memory).
    fn persist_to(&mut self, dir: &std::path::Path) -> crate::Result<bool> {
        let _ = dir;
        Ok(false)
    }

    /// Whether the backend keeps state in files beside the snapshot
    /// ([`persist_to`](Self::persist_to) writes them).
    fn keeps_files(&self) -> bool {
        false
    }

    /// At a restore from a checkpoint taken at another parallelism, before the operators
    /// merge the snapshot of one of its workers (see [`KeyedMap::merge`]): the folder of
    /// the files that worker's backend kept (`None`: none, or the merges are over). A
    /// backend whose maps save everything in the snapshot itself ignores it.
    fn merge_from(&mut self, dir: Option<&std::path::Path>) -> crate::Result<()> {
        let _ = dir;
        Ok(())
    }
}

/// State in ordered partitions of keyed entries: the state of windows (a partition per
/// window or slice, keyed by group key), written per row and read and dropped a partition
/// at a time, in partition order, when the watermark passes it. A persistent backend
/// stores an entry under its partition's key followed by its own, so that a partition is
/// one range of keys.
pub trait PartitionedMap<P, K, V>: Send {
    /// The value of `k` in partition `p`, inserting `f()` first if there is none.
    fn entry_or_insert_with(&mut self, p: &P, k: K, f: impl FnOnce() -> V) -> &mut V;

    /// The entries of partition `p` (none if it has none). Takes `&mut self`: a persistent
    /// backend reads them into its cache first.
    fn partition(&mut self, p: &P) -> Box<dyn Iterator<Item = (&K, &V)> + '_>;

    /// The partitions with entries in `range`, in order.
    fn partitions<R: std::ops::RangeBounds<P>>(&self, range: R) -> Vec<&P>;

    /// The least partition with entries.
    fn first_partition(&self) -> Option<&P>;

    /// Removes partition `p`, returning its entries.
    fn remove_partition(&mut self, p: &P) -> Vec<(K, V)>;

    /// The number of entries over all partitions.
    fn len(&self) -> usize;

    /// Appends every entry to `out`, for a checkpoint. (A persistent backend writes its
    /// cached changes to its database instead, and appends only its partition index: the
    /// database goes into the checkpoint on its own.)
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()>;

    /// Replaces every entry by those [`save`](Self::save) wrote. (A persistent backend's
    /// database must have been restored from the same checkpoint.)
    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()>;

    /// Adds the entries whose key `keep` holds from what [`save`](Self::save) wrote in
    /// another map (a worker's, at a restore at another parallelism; a persistent backend
    /// reads them from the files [`StateBackend::merge_from`] named).
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()>;

    /// Whether there are no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One operator's state: a map from keys to values whose entries carry the time they were
/// last written, for TTL (see [`KeyedMap::set_clock`] and [`KeyedMap::expire`]).
pub trait KeyedMap<K, V>: Send {
    /// The value of `k`. Does not refresh the entry's TTL. Takes `&mut self`: a persistent
    /// backend reads the entry into its cache on a miss.
    fn get(&mut self, k: &K) -> Option<&V>;

    /// The value of `k`, to update. Refreshes the entry's TTL.
    fn get_mut(&mut self, k: &K) -> Option<&mut V>;

    /// The value of `k`, inserting `f()` first if there is none. Refreshes the entry's TTL.
    fn entry_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V;

    /// Sets the value of `k`, returning the previous one. Refreshes the entry's TTL.
    fn insert(&mut self, k: K, v: V) -> Option<V>;

    /// Removes `k`, returning its value.
    fn remove(&mut self, k: &K) -> Option<V>;

    /// The number of entries.
    fn len(&self) -> usize;

    /// Whether there are no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns the entries for which `pred` holds (in the map's iteration
    /// order: arbitrary for hash maps, by key for sorted ones).
    fn drain_where(&mut self, pred: impl FnMut(&K, &V) -> bool) -> Vec<(K, V)>;

    /// Every entry (in the map's iteration order). Takes `&mut self`: a persistent backend
    /// reads every entry into its cache first.
    fn iter(&mut self) -> Box<dyn Iterator<Item = (&K, &V)> + '_>;

    /// An estimate of the memory the entries take: their inline size plus the map's
    /// per-entry overhead. Heap data the keys and values own (long strings, vectors, the
    /// sets of DISTINCT accumulators) is not counted.
    fn approximate_bytes(&self) -> usize;

    /// Sets the time (processing time, milliseconds since the epoch) that writes from now
    /// on stamp onto the entries they touch. Starts at 0.
    fn set_clock(&mut self, now_ms: i64);

    /// Appends every entry (with its TTL stamp) to `out`, for a checkpoint. (A persistent
    /// backend writes its cached changes to its database instead, and appends only its
    /// entry count: the database goes into the checkpoint on its own.)
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()>;

    /// Replaces every entry by those [`save`](Self::save) wrote. (A persistent backend's
    /// database must have been restored from the same checkpoint.)
    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()>;

    /// Adds the entries (with their TTL stamps) whose key `keep` holds from what
    /// [`save`](Self::save) wrote in another map (a worker's, at a restore at another
    /// parallelism; a persistent backend reads them from the files
    /// [`StateBackend::merge_from`] named).
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()>;

    /// Removes the entries not written for `ttl_ms` or longer: those stamped at or before
    /// `now_ms - ttl_ms`. Returns how many. A `ttl_ms` of 0 or less means no TTL (Flink's
    /// default `table.exec.state.ttl` of 0) and removes nothing.
    fn expire(&mut self, now_ms: i64, ttl_ms: i64) -> usize;
}
