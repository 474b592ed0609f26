//! Reading an upsert stream (an `upsert-kafka` topic) as a changelog, as Flink's
//! `ChangelogNormalize`: each message is the latest row of its key, or a deletion of the
//! key. The operator keeps the last row per key and turns each message into the changes
//! it makes: an insert for a new key, an update-before (the old row) and update-after for
//! a key that had one, a delete of the old row for a deletion. A message repeating the
//! row its key has changes nothing; a deletion of a key without a row is dropped.
//!
//! ```
//! use dfl::changelog::RowKind;
//! use dfl::operators::upsert_normalize::UpsertNormalize;
//! let mut op: UpsertNormalize<u32, char> = UpsertNormalize::new();
//! let mut out = Vec::new();
//! let mut log = |kind: RowKind, row: &char| -> Result<(), ()> { out.push((kind, *row)); Ok(()) };
//! op.apply(1, Some('a'), &mut log).unwrap();
//! op.apply(1, Some('b'), &mut log).unwrap();
//! op.apply(1, None, &mut log).unwrap();
//! assert_eq!(out, vec![
//!     (RowKind::Insert, 'a'),
//!     (RowKind::UpdateBefore, 'a'), (RowKind::UpdateAfter, 'b'),
//!     (RowKind::Delete, 'b'),
//! ]);
//! ```

use crate::changelog::RowKind;
use crate::checkpoint::Snapshot;
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TtlClock, Value};

/// The last row of every key, in a [`StateBackend`]'s keyed map.
pub struct UpsertNormalize<K: Key, R: Value, B: StateBackend = MemoryBackend> {
    rows: B::Map<K, R>,
    ttl: Option<TtlClock>,
}

impl<K: Key, R: Value + PartialEq> UpsertNormalize<K, R> {
    /// The operator with its state in memory.
    pub fn new() -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "upsert")
    }
}

impl<K: Key, R: Value + PartialEq> Default for UpsertNormalize<K, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Key, R: Value + PartialEq, B: StateBackend> UpsertNormalize<K, R, B> {
    /// The operator keeping its state in `backend` under `name` (the operator's id).
    pub fn in_backend(backend: &mut B, name: &str) -> Self {
        UpsertNormalize { rows: backend.map(name), ttl: None }
    }

    /// Forgets keys not written for `ttl_ms` (none: `None` or 0), by processing time from
    /// `clock` (ms since the epoch). A key forgotten and then written again is an insert;
    /// the deletion of a forgotten key is dropped (as in Flink).
    pub fn with_ttl(mut self, ttl_ms: Option<i64>, clock: fn() -> i64) -> Self {
        self.ttl = TtlClock::new(ttl_ms, clock);
        self
    }

    /// The message for `key`: its new row, or `None` for a deletion. Calls `emit` with
    /// each change it makes, in order.
    pub fn apply<E>(
        &mut self,
        key: K,
        row: Option<R>,
        mut emit: impl FnMut(RowKind, &R) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(ttl) = &mut self.ttl {
            ttl.tick(&mut self.rows);
        }
        match row {
            Some(row) => match self.rows.get_mut(&key) {
                Some(old) if *old == row => Ok(()),
                Some(old) => {
                    emit(RowKind::UpdateBefore, old)?;
                    *old = row;
                    emit(RowKind::UpdateAfter, old)
                }
                None => {
                    emit(RowKind::Insert, &row)?;
                    self.rows.insert(key, row);
                    Ok(())
                }
            },
            None => match self.rows.remove(&key) {
                Some(old) => emit(RowKind::Delete, &old),
                None => Ok(()),
            },
        }
    }

    /// The number of keys with a row.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no key has a row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl<K: Key, R: Value + PartialEq, B: StateBackend> Snapshot for UpsertNormalize<K, R, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        self.rows.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        self.rows.load(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Applying the emitted changes to a table gives the last row of every key, whatever
    /// the sequence of upserts and deletions.
    #[test]
    fn the_changes_rebuild_the_latest_row_per_key() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let mut op: UpsertNormalize<u32, (u32, u32)> = UpsertNormalize::new();
        let mut latest: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        let mut table: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        for _ in 0..5_000 {
            let key = next() % 50;
            let row = (next() % 4 != 0).then(|| (key, next() % 3));
            match row {
                Some(r) => latest.insert(key, r),
                None => latest.remove(&key),
            };
            let mut pending_before = None;
            op.apply(key, row, |kind, r| -> Result<(), ()> {
                match kind {
                    RowKind::Insert => assert!(table.insert(r.0, *r).is_none(), "insert of a key with a row"),
                    RowKind::UpdateBefore => {
                        assert_eq!(table.remove(&r.0), Some(*r), "update-before is the stored row");
                        pending_before = Some(*r);
                    }
                    RowKind::UpdateAfter => {
                        assert!(pending_before.take().is_some(), "update-after follows its update-before");
                        table.insert(r.0, *r);
                    }
                    RowKind::Delete => assert_eq!(table.remove(&r.0), Some(*r), "delete of the stored row"),
                }
                Ok(())
            })
            .unwrap();
            assert!(pending_before.is_none());
        }
        assert_eq!(table, latest);
        assert_eq!(op.len(), latest.len());
    }

    #[test]
    fn keys_not_written_for_the_ttl_are_forgotten() {
        use std::sync::atomic::{AtomicI64, Ordering};
        static NOW: AtomicI64 = AtomicI64::new(0);
        let mut op: UpsertNormalize<u8, u8> =
            UpsertNormalize::new().with_ttl(Some(10_000), || NOW.load(Ordering::Relaxed));
        let mut out = Vec::new();
        let mut log = |k: RowKind, r: &u8| -> Result<(), ()> {
            out.push((k, *r));
            Ok(())
        };
        op.apply(1, Some(5), &mut log).unwrap();
        // 1,023 more messages for key 2 at time 20 s: the clock is read again, key 1
        // (written at 0 s) has expired; key 2 written since has not.
        NOW.store(20_000, Ordering::Relaxed);
        for i in 0..crate::state::TTL_CLOCK_EVERY {
            op.apply(2, Some((i % 7) as u8), &mut log).unwrap();
        }
        assert_eq!(op.len(), 1);
        op.apply(1, Some(6), &mut log).unwrap();
        op.apply(1, None, &mut log).unwrap();
        assert_eq!(out[out.len() - 2..], [(RowKind::Insert, 6), (RowKind::Delete, 6)], "key 1 is new again");
    }

    #[test]
    fn repeated_rows_and_deletions_of_unknown_keys_change_nothing() {
        let mut op: UpsertNormalize<u8, u8> = UpsertNormalize::new();
        let mut out = Vec::new();
        let mut log = |k: RowKind, r: &u8| -> Result<(), ()> {
            out.push((k, *r));
            Ok(())
        };
        op.apply(1, None, &mut log).unwrap();
        op.apply(1, Some(5), &mut log).unwrap();
        op.apply(1, Some(5), &mut log).unwrap();
        assert_eq!(out, vec![(RowKind::Insert, 5)]);
    }
}
