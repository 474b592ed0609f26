//! A GROUP BY without a window over appended rows: one accumulator tuple per group key,
//! kept for ever (or until the state TTL), and an updating result — each row changes its
//! group's result, emitted at once as Flink does without mini-batches: an insert for a
//! new group, an update-before (the old result) and update-after (the new one) when the
//! result changed, nothing when it did not.
//!
//! ```
//! use dfl::agg::{Accumulator, Count};
//! use dfl::changelog::RowKind;
//! use dfl::operators::group_aggregate::GroupAggregate;
//! let mut op: GroupAggregate<char, Count> = GroupAggregate::new();
//! let mut out = Vec::new();
//! for key in ['a', 'b', 'a'] {
//!     op.add(key, |acc| acc.add(true), |acc| acc.result(), |kind, key, n| -> Result<(), ()> {
//!         out.push((kind, *key, n));
//!         Ok(())
//!     })
//!     .unwrap();
//! }
//! assert_eq!(out, vec![
//!     (RowKind::Insert, 'a', Some(1)),
//!     (RowKind::Insert, 'b', Some(1)),
//!     (RowKind::UpdateBefore, 'a', Some(1)),
//!     (RowKind::UpdateAfter, 'a', Some(2)),
//! ]);
//! ```

use crate::changelog::RowKind;
use crate::checkpoint::Snapshot;
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TtlClock, Value};

/// Accumulators per group key, in a [`StateBackend`]'s keyed map.
pub struct GroupAggregate<K: Key, A: Value, B: StateBackend = MemoryBackend> {
    groups: B::Map<K, A>,
    /// A fresh accumulator tuple.
    make: fn() -> A,
    ttl: Option<TtlClock>,
}

impl<K: Key, A: Value + Default> GroupAggregate<K, A> {
    /// An aggregation with its state in memory.
    pub fn new() -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "group", A::default)
    }
}

impl<K: Key, A: Value + Default> Default for GroupAggregate<K, A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Key, A: Value, B: StateBackend> GroupAggregate<K, A, B> {
    /// An aggregation keeping its state in `backend` under `name` (the operator's id);
    /// `make` creates an accumulator tuple.
    pub fn in_backend(backend: &mut B, name: &str, make: fn() -> A) -> Self {
        GroupAggregate { groups: backend.map(name), make, ttl: None }
    }

    /// Forgets groups not written for `ttl_ms` (none: `None` or 0), by processing time from
    /// `clock`: a forgotten group's next row starts it again (an insert).
    pub fn with_ttl(mut self, ttl_ms: Option<i64>, clock: fn() -> i64) -> Self {
        self.ttl = TtlClock::new(ttl_ms, clock);
        self
    }

    /// Adds a row of group `key`: `update` adds it to the group's accumulators, `result`
    /// reads the group's result from them, and `emit` receives the changes of the result.
    pub fn add<O: PartialEq, E>(
        &mut self,
        key: K,
        update: impl FnOnce(&mut A),
        result: impl Fn(&A) -> O,
        mut emit: impl FnMut(RowKind, &K, O) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(ttl) = &mut self.ttl {
            ttl.tick(&mut self.groups);
        }
        match self.groups.get_mut(&key) {
            Some(acc) => {
                let old = result(acc);
                update(acc);
                let new = result(acc);
                if old != new {
                    emit(RowKind::UpdateBefore, &key, old)?;
                    emit(RowKind::UpdateAfter, &key, new)?;
                }
                Ok(())
            }
            None => {
                let mut acc = (self.make)();
                update(&mut acc);
                emit(RowKind::Insert, &key, result(&acc))?;
                self.groups.insert(key, acc);
                Ok(())
            }
        }
    }

    /// The number of groups.
    pub fn len(&mut self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&mut self) -> bool {
        self.groups.is_empty()
    }
}

impl<K: Key, A: Value, B: StateBackend> Snapshot for GroupAggregate<K, A, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        self.groups.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        self.groups.load(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::{Accumulator, Count, Max, Sum};
    use std::collections::BTreeMap;

    /// Applying the changes to a table gives each group's aggregates over all its rows.
    #[test]
    fn the_changes_rebuild_the_aggregates_of_every_group() {
        type Acc = (Count, Sum<i64>, Max<i64>);
        type Out = (Option<i64>, Option<i64>, Option<i64>);
        let mut op: GroupAggregate<u8, Acc> = GroupAggregate::new();
        let mut table: BTreeMap<u8, Out> = BTreeMap::new();
        let mut reference: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
        let mut seed = 3u64;
        for _ in 0..3_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let (key, x) = ((seed >> 40) as u8 % 20, (seed >> 20) as i64 % 7 - 2);
            reference.entry(key).or_default().push(x);
            let mut before = None;
            op.add(
                key,
                |acc: &mut Acc| {
                    acc.0.add(true);
                    acc.1.add(Some(x));
                    acc.2.add(Some(x));
                },
                |acc: &Acc| (acc.0.result(), acc.1.result(), acc.2.result()),
                |kind, key, out| -> Result<(), ()> {
                    match kind {
                        RowKind::Insert => assert!(table.insert(*key, out).is_none()),
                        RowKind::UpdateBefore => {
                            assert_eq!(table.remove(key), Some(out));
                            before = Some(*key);
                        }
                        RowKind::UpdateAfter => {
                            assert_eq!(before.take(), Some(*key));
                            table.insert(*key, out);
                        }
                        RowKind::Delete => panic!("no deletes from appended rows"),
                    }
                    Ok(())
                },
            )
            .unwrap();
        }
        let expected: BTreeMap<u8, Out> = reference
            .iter()
            .map(|(k, xs)| (*k, (Some(xs.len() as i64), Some(xs.iter().sum()), xs.iter().max().copied())))
            .collect();
        assert_eq!(table, expected);
        assert_eq!(op.len(), expected.len());
    }
}
