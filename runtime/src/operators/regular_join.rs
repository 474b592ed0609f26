//! A regular (unwindowed) equi-join of appended rows: every row of each side is kept by
//! its key for ever (or until the state TTL), and joins every row of the other side with
//! that key that satisfies the rest of the ON condition — those already there when it
//! arrives, and those that arrive later. An INNER join only appends. An outer side's row
//! without a match is emitted with NULLs for the other side at once, and retracted (`-D`)
//! when its first match arrives; so LEFT, RIGHT and FULL joins update their result. Rows
//! whose key is NULL match nothing (an outer side's is emitted with NULLs and not kept).
//!
//! ```
//! use dfl::operators::regular_join::RegularJoin;
//! let mut join: RegularJoin<u32, char, i64> = RegularJoin::new();
//! let mut out = Vec::new();
//! let always = |_: &char, _: &i64| true;
//! let mut keep = |_kind, l: Option<&char>, r: Option<&i64>| -> Result<(), ()> {
//!     out.push((*l.unwrap(), *r.unwrap()));
//!     Ok(())
//! };
//! join.add_left(Some(1), 'a', always, &mut keep).unwrap();
//! join.add_right(Some(1), 10, always, &mut keep).unwrap();
//! join.add_left(Some(1), 'b', always, &mut keep).unwrap();
//! join.add_right(Some(2), 20, always, &mut keep).unwrap();
//! assert_eq!(out, vec![('a', 10), ('b', 10)]);
//! ```

use crate::changelog::RowKind;
use crate::checkpoint::Snapshot;
use crate::operators::window_join::JoinKind;
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TtlClock, Value};

/// Both sides' rows by key, each with the number of rows of the other side it has matched,
/// in a [`StateBackend`]'s keyed maps.
pub struct RegularJoin<K: Key, L: Value, R: Value, B: StateBackend = MemoryBackend> {
    kind: JoinKind,
    left: B::Map<K, Vec<(L, u32)>>,
    right: B::Map<K, Vec<(R, u32)>>,
    ttl: Option<(TtlClock, TtlClock)>,
}

impl<K: Key, L: Value, R: Value> RegularJoin<K, L, R> {
    /// An inner join with its state in memory.
    pub fn new() -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "join", JoinKind::Inner)
    }
}

impl<K: Key, L: Value, R: Value> Default for RegularJoin<K, L, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Key, L: Value, R: Value, B: StateBackend> RegularJoin<K, L, R, B> {
    /// A join of `kind` keeping its state in `backend` under `name` (the operator's id).
    pub fn in_backend(backend: &mut B, name: &str, kind: JoinKind) -> Self {
        RegularJoin {
            kind,
            left: backend.map(&format!("{name}/left")),
            right: backend.map(&format!("{name}/right")),
            ttl: None,
        }
    }

    /// Forgets the rows of keys not written for `ttl_ms` on either side (none: `None` or
    /// 0), by processing time from `clock`.
    pub fn with_ttl(mut self, ttl_ms: Option<i64>, clock: fn() -> i64) -> Self {
        self.ttl = TtlClock::new(ttl_ms, clock).zip(TtlClock::new(ttl_ms, clock));
        self
    }

    fn left_outer(&self) -> bool {
        matches!(self.kind, JoinKind::Left | JoinKind::Full)
    }

    fn right_outer(&self) -> bool {
        matches!(self.kind, JoinKind::Right | JoinKind::Full)
    }

    /// A row of the left side with key `key` (`None`: a NULL key): joined with the right
    /// rows of the key for which `cond` holds, each change to `emit`, then kept.
    pub fn add_left<E>(
        &mut self,
        key: Option<K>,
        row: L,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some((left, _)) = &mut self.ttl {
            left.tick(&mut self.left);
        }
        let (left_outer, right_outer) = (self.left_outer(), self.right_outer());
        let Some(key) = key else {
            return if left_outer { emit(RowKind::Insert, Some(&row), None) } else { Ok(()) };
        };
        let mut matches = 0u32;
        if let Some(rights) = self.right.get_mut(&key) {
            for (r, n) in rights.iter_mut() {
                if cond(&row, r) {
                    if *n == 0 && right_outer {
                        emit(RowKind::Delete, None, Some(r))?;
                    }
                    *n += 1;
                    matches += 1;
                    emit(RowKind::Insert, Some(&row), Some(r))?;
                }
            }
        }
        if matches == 0 && left_outer {
            emit(RowKind::Insert, Some(&row), None)?;
        }
        self.left.entry_or_insert_with(key, Vec::new).push((row, matches));
        Ok(())
    }

    /// A row of the right side: as [`add_left`](Self::add_left), the other way round.
    pub fn add_right<E>(
        &mut self,
        key: Option<K>,
        row: R,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some((_, right)) = &mut self.ttl {
            right.tick(&mut self.right);
        }
        let (left_outer, right_outer) = (self.left_outer(), self.right_outer());
        let Some(key) = key else {
            return if right_outer { emit(RowKind::Insert, None, Some(&row)) } else { Ok(()) };
        };
        let mut matches = 0u32;
        if let Some(lefts) = self.left.get_mut(&key) {
            for (l, n) in lefts.iter_mut() {
                if cond(l, &row) {
                    if *n == 0 && left_outer {
                        emit(RowKind::Delete, Some(l), None)?;
                    }
                    *n += 1;
                    matches += 1;
                    emit(RowKind::Insert, Some(l), Some(&row))?;
                }
            }
        }
        if matches == 0 && right_outer {
            emit(RowKind::Insert, None, Some(&row))?;
        }
        self.right.entry_or_insert_with(key, Vec::new).push((row, matches));
        Ok(())
    }
}

impl<K: Key, L: Value, R: Value, B: StateBackend> Snapshot for RegularJoin<K, L, R, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        self.left.save(out)?;
        self.right.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        self.left.load(input)?;
        self.right.load(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Whatever the order of arrival, applying the changes gives the join of all rows:
    /// every matching pair once, and (outer joins) each unmatched row with NULLs.
    #[test]
    fn the_changes_rebuild_the_join_of_all_rows_in_any_arrival_order() {
        for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Right, JoinKind::Full] {
            let mut seed = 5u64;
            let mut next = || {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                seed >> 33
            };
            // (left side?, key (None: NULL), id)
            let rows: Vec<(bool, Option<u8>, u32)> =
                (0..600).map(|i| (next() % 2 == 0, (next() % 20 != 0).then(|| (next() % 15) as u8), i)).collect();
            let cond = |l: &u32, r: &u32| (l + r) % 3 != 0;
            let mut join: RegularJoin<u8, u32, u32> = RegularJoin::in_backend(&mut MemoryBackend::new(), "j", kind);
            let mut table: BTreeMap<(Option<u32>, Option<u32>), i64> = BTreeMap::new();
            for &(left, key, id) in &rows {
                let emit = |k: RowKind, l: Option<&u32>, r: Option<&u32>| -> Result<(), ()> {
                    let n = table.entry((l.copied(), r.copied())).or_default();
                    *n += if k == RowKind::Insert { 1 } else { -1 };
                    assert!(*n >= 0, "{k:?} of a row not there");
                    Ok(())
                };
                if left {
                    join.add_left(key, id, cond, emit).unwrap();
                } else {
                    join.add_right(key, id, cond, emit).unwrap();
                }
            }
            table.retain(|_, n| *n > 0);
            let mut expected: BTreeMap<(Option<u32>, Option<u32>), i64> = BTreeMap::new();
            let matches = |a: &(bool, Option<u8>, u32), b: &(bool, Option<u8>, u32)| {
                a.1.is_some() && a.1 == b.1 && cond(&a.2, &b.2)
            };
            for l in rows.iter().filter(|r| r.0) {
                let mut any = false;
                for r in rows.iter().filter(|r| !r.0) {
                    if matches(l, r) {
                        any = true;
                        *expected.entry((Some(l.2), Some(r.2))).or_default() += 1;
                    }
                }
                if !any && matches!(kind, JoinKind::Left | JoinKind::Full) {
                    *expected.entry((Some(l.2), None)).or_default() += 1;
                }
            }
            for r in rows.iter().filter(|r| !r.0) {
                if !rows.iter().filter(|l| l.0).any(|l| matches(l, r))
                    && matches!(kind, JoinKind::Right | JoinKind::Full)
                {
                    *expected.entry((None, Some(r.2))).or_default() += 1;
                }
            }
            assert!(expected.len() > 1000, "{kind:?}: {}", expected.len());
            assert_eq!(table, expected, "{kind:?}");
        }
    }
}
