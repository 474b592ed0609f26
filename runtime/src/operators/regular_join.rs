//! A regular (unwindowed) equi-join: every row of each side is kept by its key for ever
//! (or until the state TTL), and joins every row of the other side with that key that
//! satisfies the rest of the ON condition — those already there when it arrives, and
//! those that arrive later. Over appended rows an INNER join only appends. An outer side's
//! row without a match is emitted with NULLs for the other side at once, and retracted
//! (`-D`) when its first match arrives; so LEFT, RIGHT and FULL joins update their result.
//! Rows whose key is NULL match nothing (an outer side's is emitted with NULLs and not
//! kept).
//!
//! Either side may be a changelog ([`RegularJoin::apply`] with a [`JoinInput`], as Flink's
//! `StreamingJoinOperator`): a retracted row (`-U`/`-D`) is removed from its side, its
//! joined rows deleted (`-D`), and an outer other side's row left without a match emitted
//! with NULLs again (`+I`).
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
use crate::checkpoint::{Rescale, Snapshot};
use crate::operators::window_join::JoinKind;
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TtlClock, Value};

/// A row for [`RegularJoin::apply`]: its side, its kind of change, its key (`None`: a
/// NULL key) and the row.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinInput<K, L, R> {
    /// A row of the left side.
    Left(RowKind, Option<K>, L),
    /// A row of the right side.
    Right(RowKind, Option<K>, R),
}

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

    /// A changelog row of either side: `+I`/`+U` rows are added
    /// ([`add_left`](Self::add_left), [`add_right`](Self::add_right)), `-U`/`-D` rows
    /// retracted ([`retract_left`](Self::retract_left),
    /// [`retract_right`](Self::retract_right)); joined rows are emitted as `+I` and `-D`.
    ///
    /// ```
    /// use dfl::changelog::RowKind::{self, *};
    /// use dfl::operators::regular_join::{JoinInput, RegularJoin};
    /// use dfl::operators::window_join::JoinKind;
    /// use dfl::state::MemoryBackend;
    /// let mut join: RegularJoin<u32, char, i64> =
    ///     RegularJoin::in_backend(&mut MemoryBackend::new(), "j", JoinKind::Left);
    /// let mut out = Vec::new();
    /// let always = |_: &char, _: &i64| true;
    /// let mut keep = |kind: RowKind, l: Option<&char>, r: Option<&i64>| -> Result<(), ()> {
    ///     out.push((kind, l.copied(), r.copied()));
    ///     Ok(())
    /// };
    /// join.apply(JoinInput::Left(Insert, Some(1), 'a'), always, &mut keep).unwrap();
    /// join.apply(JoinInput::Right(Insert, Some(1), 10), always, &mut keep).unwrap();
    /// join.apply(JoinInput::Right(Delete, Some(1), 10), always, &mut keep).unwrap();
    /// join.apply(JoinInput::Left(Delete, Some(1), 'a'), always, &mut keep).unwrap();
    /// assert_eq!(out, vec![
    ///     (Insert, Some('a'), None),
    ///     (Delete, Some('a'), None), (Insert, Some('a'), Some(10)),
    ///     (Delete, Some('a'), Some(10)), (Insert, Some('a'), None),
    ///     (Delete, Some('a'), None),
    /// ]);
    /// ```
    pub fn apply<E>(
        &mut self,
        input: JoinInput<K, L, R>,
        cond: impl Fn(&L, &R) -> bool,
        emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        L: PartialEq,
        R: PartialEq,
    {
        match input {
            JoinInput::Left(kind, key, row) if kind.is_retraction() => self.retract_left(key, row, cond, emit),
            JoinInput::Left(_, key, row) => self.add_left(key, row, cond, emit),
            JoinInput::Right(kind, key, row) if kind.is_retraction() => self.retract_right(key, row, cond, emit),
            JoinInput::Right(_, key, row) => self.add_right(key, row, cond, emit),
        }
    }

    /// Retracts a row of the left side with key `key` (`None`: a NULL key): removes one
    /// kept left row equal to it (none: nothing happens, except that a NULL-keyed row of
    /// an outer left side is deleted with NULLs), deletes (`-D`) its joins with the right
    /// rows of the key for which `cond` holds, re-inserts (`+I`) with NULLs those of an
    /// outer right side left without a match, and deletes the row with NULLs if it had no
    /// match on an outer left side.
    pub fn retract_left<E>(
        &mut self,
        key: Option<K>,
        row: L,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        L: PartialEq,
    {
        if let Some((left, _)) = &mut self.ttl {
            left.tick(&mut self.left);
        }
        let (left_outer, right_outer) = (self.left_outer(), self.right_outer());
        let Some(key) = key else {
            return if left_outer { emit(RowKind::Delete, Some(&row), None) } else { Ok(()) };
        };
        let Some(matches) = take_row(&mut self.left, &key, &row) else {
            return Ok(());
        };
        if let Some(rights) = self.right.get_mut(&key) {
            for (r, n) in rights.iter_mut() {
                if cond(&row, r) {
                    emit(RowKind::Delete, Some(&row), Some(r))?;
                    let last = *n == 1;
                    *n = n.saturating_sub(1);
                    if last && right_outer {
                        emit(RowKind::Insert, None, Some(r))?;
                    }
                }
            }
        }
        if matches == 0 && left_outer {
            emit(RowKind::Delete, Some(&row), None)?;
        }
        Ok(())
    }

    /// Retracts a row of the right side: as [`retract_left`](Self::retract_left), the
    /// other way round.
    pub fn retract_right<E>(
        &mut self,
        key: Option<K>,
        row: R,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        R: PartialEq,
    {
        if let Some((_, right)) = &mut self.ttl {
            right.tick(&mut self.right);
        }
        let (left_outer, right_outer) = (self.left_outer(), self.right_outer());
        let Some(key) = key else {
            return if right_outer { emit(RowKind::Delete, None, Some(&row)) } else { Ok(()) };
        };
        let Some(matches) = take_row(&mut self.right, &key, &row) else {
            return Ok(());
        };
        if let Some(lefts) = self.left.get_mut(&key) {
            for (l, n) in lefts.iter_mut() {
                if cond(l, &row) {
                    emit(RowKind::Delete, Some(l), Some(&row))?;
                    let last = *n == 1;
                    *n = n.saturating_sub(1);
                    if last && left_outer {
                        emit(RowKind::Insert, Some(l), None)?;
                    }
                }
            }
        }
        if matches == 0 && right_outer {
            emit(RowKind::Delete, None, Some(&row))?;
        }
        Ok(())
    }
}

/// Removes from `side` the latest kept row of `key` equal to `row`, and the key if no row
/// is left; returns the removed row's number of matches (`None`: no such row).
fn take_row<K, T: PartialEq>(side: &mut impl KeyedMap<K, Vec<(T, u32)>>, key: &K, row: &T) -> Option<u32> {
    let rows = side.get_mut(key)?;
    let i = rows.iter().rposition(|(kept, _)| kept == row)?;
    let (_, matches) = rows.remove(i);
    if rows.is_empty() {
        side.remove(key);
    }
    Some(matches)
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

/// A worker restored at another parallelism takes both sides' rows of the keys it owns
/// (rows with a NULL key are never kept).
impl<K: Key, L: Value, R: Value, B: StateBackend> Rescale<K> for RegularJoin<K, L, R, B> {
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        self.left.merge(input, keep)?;
        self.right.merge(input, keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The next number of a seeded linear congruential generator (its high bits).
    fn next(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// A row of either side: (left side?, key (None: NULL), value).
    type Input = (bool, Option<u8>, u32);
    /// Joined rows with their multiplicities.
    type Table = BTreeMap<(Option<u32>, Option<u32>), i64>;

    /// The join of `rows` (a multiset) by `kind`: every matching pair, and (outer sides)
    /// each row without a match with NULLs.
    fn recompute(rows: &[Input], kind: JoinKind, cond: impl Fn(&u32, &u32) -> bool) -> Table {
        let matches = |l: &Input, r: &Input| l.1.is_some() && l.1 == r.1 && cond(&l.2, &r.2);
        let (lefts, rights): (Vec<&Input>, Vec<&Input>) = rows.iter().partition(|r| r.0);
        let mut out = Table::new();
        for l in &lefts {
            for r in rights.iter().filter(|r| matches(l, r)) {
                *out.entry((Some(l.2), Some(r.2))).or_default() += 1;
            }
            if matches!(kind, JoinKind::Left | JoinKind::Full) && !rights.iter().any(|r| matches(l, r)) {
                *out.entry((Some(l.2), None)).or_default() += 1;
            }
        }
        for r in &rights {
            if matches!(kind, JoinKind::Right | JoinKind::Full) && !lefts.iter().any(|l| matches(l, r)) {
                *out.entry((None, Some(r.2))).or_default() += 1;
            }
        }
        out
    }

    /// Feeds a changelog row to `join` and applies the changes to `table`, checking that
    /// they are inserts and deletes of rows there; returns the number of changes.
    fn feed(join: &mut RegularJoin<u8, u32, u32>, table: &mut Table, kind: RowKind, (left, key, v): Input) -> usize {
        let mut changes = 0;
        let emit = |k: RowKind, l: Option<&u32>, r: Option<&u32>| -> Result<(), ()> {
            changes += 1;
            let n = table.entry((l.copied(), r.copied())).or_default();
            *n += match k {
                RowKind::Insert => 1,
                RowKind::Delete => -1,
                _ => panic!("{k:?} from a join"),
            };
            assert!(*n >= 0, "{k:?} of a row not there");
            Ok(())
        };
        let input = if left { JoinInput::Left(kind, key, v) } else { JoinInput::Right(kind, key, v) };
        join.apply(input, |l: &u32, r: &u32| !(l + r).is_multiple_of(3), emit).unwrap();
        table.retain(|_, n| *n != 0);
        changes
    }

    /// Whatever the interleaving of rows added (some equal to rows there) and retracted
    /// (deletes, and update pairs that may change a row's key) on both sides, applying
    /// the changes gives the join of the rows still there, for every kind of join; and a
    /// retraction of a row not there changes nothing.
    #[test]
    fn the_changes_of_changelog_inputs_rebuild_the_join_of_the_rows_left() {
        let cond = |l: &u32, r: &u32| !(l + r).is_multiple_of(3);
        for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Right, JoinKind::Full] {
            let mut join: RegularJoin<u8, u32, u32> = RegularJoin::in_backend(&mut MemoryBackend::new(), "j", kind);
            let mut table = Table::new();
            let mut live: Vec<Input> = Vec::new();
            let mut seed = 23u64;
            let mut rematched = 0;
            for step in 0..3_000u32 {
                let fresh = |seed: &mut u64| {
                    (
                        next(seed).is_multiple_of(2),
                        (!next(seed).is_multiple_of(15)).then(|| (next(seed) % 30) as u8),
                        next(seed) as u32 % 40,
                    )
                };
                let roll = next(&mut seed) % 20;
                if live.is_empty() || roll < 9 {
                    let row = if roll == 8 && !live.is_empty() {
                        live[next(&mut seed) as usize % live.len()]
                    } else {
                        fresh(&mut seed)
                    };
                    live.push(row);
                    feed(&mut join, &mut table, RowKind::Insert, row);
                } else if roll == 19 {
                    let absent = (next(&mut seed).is_multiple_of(2), Some(3), 1_000);
                    assert_eq!(feed(&mut join, &mut table, RowKind::Delete, absent), 0, "{kind:?}");
                } else {
                    let row = live.swap_remove(next(&mut seed) as usize % live.len());
                    let kind_in = if roll < 16 { RowKind::Delete } else { RowKind::UpdateBefore };
                    let unmatched = |t: &Table| {
                        t.iter().filter(|((l, r), _)| l.is_none() || r.is_none()).map(|(_, n)| n).sum::<i64>()
                    };
                    let before = unmatched(&table);
                    feed(&mut join, &mut table, kind_in, row);
                    rematched += usize::from(unmatched(&table) > before);
                    if kind_in == RowKind::UpdateBefore {
                        let after =
                            if roll < 18 { (row.0, row.1, next(&mut seed) as u32 % 40) } else { fresh(&mut seed) };
                        live.push(after);
                        feed(&mut join, &mut table, RowKind::UpdateAfter, after);
                    }
                }
                if step % 25 == 0 {
                    assert_eq!(table, recompute(&live, kind, cond), "{kind:?}, step {step}");
                }
            }
            assert_eq!(table, recompute(&live, kind, cond), "{kind:?}");
            if kind != JoinKind::Inner {
                assert!(rematched > 50, "{kind:?}: rows unmatched again: {rematched}");
            }
            while let Some(row) = live.pop() {
                feed(&mut join, &mut table, RowKind::Delete, row);
            }
            assert!(table.is_empty(), "{kind:?}: {table:?}");
            assert!(join.left.is_empty() && join.right.is_empty(), "{kind:?}: rows left in the state");
        }
    }

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
            let cond = |l: &u32, r: &u32| !(l + r).is_multiple_of(3);
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

    /// Rows (inserts) split by key over 2 joins (workers), checkpointed, then merged into 3
    /// taking their keys, which go on with the rest: together they give the join of every
    /// row, rows without a match retracted when one comes later.
    #[test]
    fn workers_rescaled_mid_stream_give_the_join_of_every_row() {
        let mut seed = 5u64;
        let rows: Vec<Input> = (0..400u32)
            .map(|i| {
                let left = next(&mut seed).is_multiple_of(2);
                let key = (!next(&mut seed).is_multiple_of(9)).then(|| (next(&mut seed) % 7) as u8);
                (left, key, i)
            })
            .collect();
        let cond = |l: &u32, r: &u32| !(l + r).is_multiple_of(3);
        let owner = |key: Option<u8>, n: u8| usize::from(key.unwrap_or_default() % n);
        for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Right, JoinKind::Full] {
            let mut table = Table::new();
            let mut old: Vec<RegularJoin<u8, u32, u32>> =
                (0..2).map(|_| RegularJoin::in_backend(&mut MemoryBackend::new(), "j", kind)).collect();
            for &row in &rows[..200] {
                feed(&mut old[owner(row.1, 2)], &mut table, RowKind::Insert, row);
            }
            let make = |_| RegularJoin::in_backend(&mut MemoryBackend::new(), "j", kind);
            let mut new = crate::checkpoint::rescaled(&mut old, 3, make, |w, k: &u8| usize::from(k % 3) == w);
            for &row in &rows[200..] {
                feed(&mut new[owner(row.1, 3)], &mut table, RowKind::Insert, row);
            }
            assert_eq!(table, recompute(&rows, kind, cond), "{kind:?}");
        }
    }
}
