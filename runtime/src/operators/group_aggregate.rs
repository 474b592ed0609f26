//! A GROUP BY without a window: one accumulator tuple per group key, with the number of
//! rows in the group, kept for ever (or until the state TTL), and an updating result —
//! each row changes its group's result, emitted at once as Flink does without
//! mini-batches: an insert for a new group, an update-before (the old result) and
//! update-after (the new one) when the result changed, nothing when it did not.
//!
//! The input may be a changelog ([`GroupAggregate::apply`], as Flink's `GroupAggFunction`
//! with retraction): a `-U`/`-D` row is retracted from its group's accumulators, and a
//! group left without rows is removed, its last result deleted (`-D`). A retraction for a
//! group not in the state (never seen, or forgotten by the TTL) is ignored.
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

/// Per group key, the number of rows in the group and their accumulators, in a
/// [`StateBackend`]'s keyed map.
pub struct GroupAggregate<K: Key, A: Value, B: StateBackend = MemoryBackend> {
    groups: B::Map<K, (u64, A)>,
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
    /// The same as [`apply`](Self::apply) with [`RowKind::Insert`].
    pub fn add<O: PartialEq, E>(
        &mut self,
        key: K,
        update: impl FnOnce(&mut A),
        result: impl Fn(&A) -> O,
        emit: impl FnMut(RowKind, &K, O) -> Result<(), E>,
    ) -> Result<(), E> {
        self.apply(RowKind::Insert, key, |acc, _| update(acc), result, emit)
    }

    /// A changelog row of group `key`: `update` adds it to the group's accumulators, or
    /// retracts it when its second argument is `true` (`kind` is `-U` or `-D`); `result`
    /// reads the group's result, and `emit` receives the changes of the result: `+I` for a
    /// new group, `-U` (old) and `+U` (new) for a changed result, `-D` (the last result)
    /// for a group whose last row was retracted. A retraction for a group not kept is
    /// ignored.
    ///
    /// ```
    /// use dfl::agg::{Accumulator, Sum};
    /// use dfl::changelog::RowKind::{self, *};
    /// use dfl::operators::group_aggregate::GroupAggregate;
    /// let mut op: GroupAggregate<char, Sum<i64>> = GroupAggregate::new();
    /// let mut out = Vec::new();
    /// for (kind, x) in [(Insert, 5), (Insert, 2), (UpdateBefore, 2), (UpdateAfter, 3), (Delete, 5), (Delete, 3)] {
    ///     let update = |acc: &mut Sum<i64>, retract: bool| {
    ///         if retract { acc.retract(Some(x)); } else { acc.add(Some(x)); }
    ///     };
    ///     op.apply(kind, 'a', update, |acc| acc.result(), |kind, _, sum| -> Result<(), ()> {
    ///         out.push((kind, sum));
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// }
    /// assert_eq!(out, vec![
    ///     (Insert, Some(5)),
    ///     (UpdateBefore, Some(5)), (UpdateAfter, Some(7)),
    ///     (UpdateBefore, Some(7)), (UpdateAfter, Some(5)),
    ///     (UpdateBefore, Some(5)), (UpdateAfter, Some(8)),
    ///     (UpdateBefore, Some(8)), (UpdateAfter, Some(3)),
    ///     (Delete, Some(3)),
    /// ]);
    /// assert!(op.is_empty());
    /// ```
    pub fn apply<O: PartialEq, E>(
        &mut self,
        kind: RowKind,
        key: K,
        update: impl FnOnce(&mut A, bool),
        result: impl Fn(&A) -> O,
        mut emit: impl FnMut(RowKind, &K, O) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(ttl) = &mut self.ttl {
            ttl.tick(&mut self.groups);
        }
        let retract = kind.is_retraction();
        let Some((rows, acc)) = self.groups.get_mut(&key) else {
            return if retract { Ok(()) } else { self.start(key, update, result, emit) };
        };
        let old = result(acc);
        update(acc, retract);
        *rows = if retract { *rows - 1 } else { *rows + 1 };
        if *rows == 0 {
            self.groups.remove(&key);
            return emit(RowKind::Delete, &key, old);
        }
        let new = result(acc);
        if old != new {
            emit(RowKind::UpdateBefore, &key, old)?;
            emit(RowKind::UpdateAfter, &key, new)?;
        }
        Ok(())
    }

    /// Starts group `key` with its first row (added by `update`) and emits its result.
    fn start<O, E>(
        &mut self,
        key: K,
        update: impl FnOnce(&mut A, bool),
        result: impl Fn(&A) -> O,
        mut emit: impl FnMut(RowKind, &K, O) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut acc = (self.make)();
        update(&mut acc, false);
        emit(RowKind::Insert, &key, result(&acc))?;
        self.groups.insert(key, (1, acc));
        Ok(())
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

impl<K: Key, A: Value, B: StateBackend> crate::checkpoint::Rescale<K> for GroupAggregate<K, A, B> {
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        self.groups.merge(input, keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::{Accumulator, Count, Max, MaxRetract, Sum};
    use std::collections::BTreeMap;

    /// The next number of a seeded linear congruential generator (its high bits).
    fn next(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    type RAcc = (Count, Sum<i64>, MaxRetract<i64>);
    type ROut = (Option<i64>, Option<i64>, Option<i64>);

    /// Feeds one changelog row `(key, x)` to `op` and applies the changes it emits to
    /// `table`, checking that each change fits the table; returns the number of changes.
    fn feed(
        op: &mut GroupAggregate<u8, RAcc>,
        table: &mut BTreeMap<u8, ROut>,
        kind: RowKind,
        key: u8,
        x: i64,
    ) -> usize {
        let mut changes = 0;
        let mut before = None;
        let update = |acc: &mut RAcc, retract: bool| {
            if retract {
                assert!(acc.0.retract(true) && acc.1.retract(Some(x)) && acc.2.retract(Some(x)));
            } else {
                acc.0.add(true);
                acc.1.add(Some(x));
                acc.2.add(Some(x));
            }
        };
        let result = |acc: &RAcc| (acc.0.result(), acc.1.result(), acc.2.result());
        op.apply(kind, key, update, result, |kind, key, out| -> Result<(), ()> {
            changes += 1;
            match kind {
                RowKind::Insert => assert!(table.insert(*key, out).is_none(), "insert of a group there"),
                RowKind::UpdateBefore => {
                    assert_eq!(table.remove(key), Some(out));
                    before = Some(*key);
                }
                RowKind::UpdateAfter => {
                    assert_eq!(before.take(), Some(*key), "+U without its -U");
                    assert!(table.insert(*key, out).is_none());
                }
                RowKind::Delete => assert_eq!(table.remove(key), Some(out)),
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(before, None, "-U without its +U");
        changes
    }

    /// COUNT, SUM and MAX of each group of `rows`.
    fn recompute(rows: &[(u8, i64)]) -> BTreeMap<u8, ROut> {
        let mut groups: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
        for &(key, x) in rows {
            groups.entry(key).or_default().push(x);
        }
        groups
            .into_iter()
            .map(|(k, xs)| (k, (Some(xs.len() as i64), Some(xs.iter().sum()), xs.iter().max().copied())))
            .collect()
    }

    /// Whatever the interleaving of rows added and retracted (deletes, and update pairs
    /// that may move a row to another group), applying the changes gives each group's
    /// aggregates over the rows still there, and a group without rows is gone.
    #[test]
    fn the_changes_of_a_changelog_input_rebuild_the_aggregates_of_the_rows_left() {
        let mut op: GroupAggregate<u8, RAcc> = GroupAggregate::new();
        let mut table: BTreeMap<u8, ROut> = BTreeMap::new();
        let mut live: Vec<(u8, i64)> = Vec::new();
        let mut seed = 11u64;
        let mut emptied = 0;
        for step in 0..4_000 {
            let fresh = |seed: &mut u64| (next(seed) as u8 % 12, next(seed) as i64 % 9 - 3);
            let roll = next(&mut seed) % 20;
            if live.is_empty() || roll < 7 {
                let (key, x) = fresh(&mut seed);
                live.push((key, x));
                feed(&mut op, &mut table, RowKind::Insert, key, x);
            } else if roll >= 18 {
                // A retraction for a group never seen changes nothing.
                assert_eq!(feed(&mut op, &mut table, RowKind::Delete, 200, 1), 0);
            } else {
                let (key, x) = live.swap_remove(next(&mut seed) as usize % live.len());
                if roll < 14 {
                    let groups = table.len();
                    feed(&mut op, &mut table, RowKind::Delete, key, x);
                    emptied += groups - table.len();
                } else {
                    feed(&mut op, &mut table, RowKind::UpdateBefore, key, x);
                    let (key, x) = if roll < 16 { (key, next(&mut seed) as i64 % 9 - 3) } else { fresh(&mut seed) };
                    live.push((key, x));
                    feed(&mut op, &mut table, RowKind::UpdateAfter, key, x);
                }
            }
            if step % 25 == 0 {
                assert_eq!(table, recompute(&live), "step {step}");
                assert_eq!(op.len(), table.len());
            }
        }
        assert_eq!(table, recompute(&live));
        assert!(emptied > 100, "groups emptied: {emptied}");
        while let Some((key, x)) = live.pop() {
            feed(&mut op, &mut table, RowKind::Delete, key, x);
        }
        assert!(table.is_empty() && op.is_empty());
    }

    /// The row counts survive a checkpoint: the restored operator deletes a group when its
    /// last row is retracted, and ignores retractions of groups it does not have.
    #[test]
    fn a_restored_aggregation_still_deletes_a_group_at_its_last_row() {
        let mut op: GroupAggregate<u8, RAcc> = GroupAggregate::new();
        let mut table = BTreeMap::new();
        for (key, x) in [(1, 4), (1, 6), (2, 5)] {
            feed(&mut op, &mut table, RowKind::Insert, key, x);
        }
        let mut bytes = Vec::new();
        op.save(&mut bytes).unwrap();
        let mut restored: GroupAggregate<u8, RAcc> = GroupAggregate::new();
        restored.load(&mut bytes.as_slice()).unwrap();
        assert_eq!(feed(&mut restored, &mut table, RowKind::Delete, 1, 6), 2);
        assert_eq!(table[&1], (Some(1), Some(4), Some(4)));
        assert_eq!(feed(&mut restored, &mut table, RowKind::Delete, 1, 4), 1);
        assert_eq!(feed(&mut restored, &mut table, RowKind::Delete, 3, 4), 0);
        assert_eq!(table, recompute(&[(2, 5)]));
        assert_eq!(restored.len(), 1);
    }

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
