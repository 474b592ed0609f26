//! Top-N per partition (`ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)` filtered to the
//! first N ranks), and deduplication (N = 1). Per partition key the best N rows are kept,
//! in sort order (ties by arrival: the earlier row ranks first); over appended rows
//! ([`TopN::add`]) a row that sorts outside them is dropped (it can never enter: rows are
//! only appended). The result updates:
//! - with the rank in the output, a row entering at rank p moves every row below it one
//!   rank down (`-U` with the old rank, `+U` with the new one), the row pushed past N is
//!   deleted (`-D`), and the new row inserted (`+I`) — from the bottom up, so that a table
//!   kept by (partition, rank) is right after each change;
//! - without it, only rows entering (`+I`) and leaving (`-D`) are emitted.
//!
//! Over a changelog ([`TopN::retracting`], then [`TopN::apply`], as Flink's
//! `RetractableTopNFunction`) every row of a partition is kept, since a retraction can
//! bring a row from below the top N back into it, and each change emits the difference
//! between the top N before and after it, rank by rank (see [`TopN::apply`]).
//!
//! ```
//! use dfl::changelog::RowKind;
//! use dfl::operators::top_n::TopN;
//! // The two highest prices per item.
//! let mut top: TopN<char, std::cmp::Reverse<i64>, i64> = TopN::new(2);
//! let mut out = Vec::new();
//! for price in [5, 9, 7] {
//!     top.add('a', std::cmp::Reverse(price), price, true, |kind, row, rank| -> Result<(), ()> {
//!         out.push((kind, *row, rank));
//!         Ok(())
//!     })
//!     .unwrap();
//! }
//! assert_eq!(out, vec![
//!     (RowKind::Insert, 5, 1),
//!     (RowKind::UpdateBefore, 5, 1), (RowKind::UpdateAfter, 5, 2), (RowKind::Insert, 9, 1),
//!     (RowKind::Delete, 5, 2), (RowKind::Insert, 7, 2),
//! ]);
//! ```

use crate::changelog::RowKind;
use crate::checkpoint::Snapshot;
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TtlClock, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What rows sort by: any ordered, serializable value (a tuple of the ORDER BY keys, each
/// placed for its direction and NULL order by generated code).
pub trait SortKey: Clone + Ord + Send + Serialize + DeserializeOwned + 'static {}

impl<T: Clone + Ord + Send + Serialize + DeserializeOwned + 'static> SortKey for T {}

/// The best rows of each partition (every row when retracting), in a [`StateBackend`]'s
/// keyed map: (sort key, arrival number, row), in order.
pub struct TopN<K: Key, S: SortKey, R: Value, B: StateBackend = MemoryBackend> {
    parts: B::Map<K, Vec<(S, u64, R)>>,
    n: usize,
    /// Whether every row is kept (the input is a changelog).
    retracting: bool,
    /// Arrival number of the next row (ties rank by it).
    seq: u64,
    ttl: Option<TtlClock>,
    /// Window Top-N: the partitions given rows since the last flush.
    touched: Vec<K>,
}

impl<K: Key, S: SortKey, R: Value> TopN<K, S, R> {
    /// The best `n` rows per partition, in memory.
    pub fn new(n: usize) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "top_n", n)
    }
}

impl<K: Key, S: SortKey, R: Value, B: StateBackend> TopN<K, S, R, B> {
    /// The best `n` rows per partition, kept in `backend` under `name` (the operator's id).
    pub fn in_backend(backend: &mut B, name: &str, n: usize) -> Self {
        TopN { parts: backend.map(name), n: n.max(1), retracting: false, seq: 0, ttl: None, touched: Vec::new() }
    }

    /// Forgets partitions not written for `ttl_ms` (none: `None` or 0).
    pub fn with_ttl(mut self, ttl_ms: Option<i64>, clock: fn() -> i64) -> Self {
        self.ttl = TtlClock::new(ttl_ms, clock);
        self
    }

    /// For a changelog input: keeps every row of a partition, not only the best `n`, so
    /// that [`apply`](Self::apply) can retract rows.
    pub fn retracting(mut self) -> Self {
        self.retracting = true;
        self
    }

    /// A row of partition `key` sorting by `sort`; `emit` receives each change with the
    /// row's rank (1-based). `ranks`: whether the output shows the rank (then rows moved
    /// down are updated too, each with its old and new rank). When
    /// [`retracting`](Self::retracting), the row is kept even below the top `n`.
    pub fn add<E>(
        &mut self,
        key: K,
        sort: S,
        row: R,
        ranks: bool,
        mut emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>,
    ) -> Result<(), E> {
        self.tick();
        let seq = self.next_seq();
        let (n, retracting) = (self.n, self.retracting);
        let rows = self.parts.entry_or_insert_with(key, Vec::new);
        let p = rows.partition_point(|(s, _, _)| *s <= sort);
        if p >= n {
            if retracting {
                rows.insert(p, (sort, seq, row));
            }
            return Ok(());
        }
        // From the bottom up: the row pushed out, then the rows moving one rank down.
        for j in (p..rows.len().min(n)).rev() {
            let (_, _, moved) = &rows[j];
            let rank = j as u64 + 1;
            if j + 1 >= n {
                emit(RowKind::Delete, moved, rank)?;
            } else if ranks {
                emit(RowKind::UpdateBefore, moved, rank)?;
                emit(RowKind::UpdateAfter, moved, rank + 1)?;
            }
        }
        rows.insert(p, (sort, seq, row));
        if !retracting {
            rows.truncate(n);
        }
        emit(RowKind::Insert, &rows[p].2, p as u64 + 1)
    }

    /// A changelog row of partition `key` sorting by `sort`, for an operator made
    /// [`retracting`](Self::retracting): `+I`/`+U` adds the row (after the rows sorting
    /// equal to it), `-U`/`-D` removes a kept row with an equal sort key and row (the
    /// latest such; none: nothing happens). `emit` receives the difference between the
    /// top `n` before and after, from the bottom rank up:
    /// - `ranks`: per rank, a row that left it is deleted (`-D`), a row that came to it
    ///   inserted (`+I`), and a rank whose row changed updated (`-U` old row, `+U` new
    ///   row, both with the rank), so that a table kept by (partition, rank) is right
    ///   after each rank's changes;
    /// - otherwise, the row that left the top `n` is deleted (`-D`), then the row that
    ///   entered it inserted (`+I`) — neither when they are equal.
    ///
    /// Not [`retracting`](Self::retracting), rows below the top `n` are dropped as by
    /// [`add`](Self::add), and a retraction of one that comes back is lost.
    ///
    /// ```
    /// use dfl::changelog::RowKind::*;
    /// use dfl::operators::top_n::TopN;
    /// // The two lowest prices.
    /// let mut top: TopN<(), i64, i64> = TopN::new(2).retracting();
    /// let mut out = Vec::new();
    /// for (kind, price) in [(Insert, 5), (Insert, 7), (Insert, 9), (Delete, 5)] {
    ///     top.apply(kind, (), price, price, true, |kind, row, rank| -> Result<(), ()> {
    ///         out.push((kind, *row, rank));
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// }
    /// assert_eq!(out, vec![
    ///     (Insert, 5, 1),
    ///     (Insert, 7, 2),
    ///     (UpdateBefore, 7, 2), (UpdateAfter, 9, 2), (UpdateBefore, 5, 1), (UpdateAfter, 7, 1),
    /// ]);
    /// ```
    pub fn apply<E>(
        &mut self,
        kind: RowKind,
        key: K,
        sort: S,
        row: R,
        ranks: bool,
        emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>,
    ) -> Result<(), E>
    where
        R: PartialEq,
    {
        self.tick();
        let (n, retracting) = (self.n, self.retracting);
        if !kind.is_retraction() {
            let seq = self.next_seq();
            let rows = self.parts.entry_or_insert_with(key, Vec::new);
            let p = rows.partition_point(|(s, _, _)| *s <= sort);
            rows.insert(p, (sort, seq, row));
            let result = Edit { rows, p, removed: None }.emit(n, ranks, emit);
            if !retracting {
                rows.truncate(n);
            }
            return result;
        }
        let Some(rows) = self.parts.get_mut(&key) else {
            return Ok(());
        };
        let lo = rows.partition_point(|(s, _, _)| *s < sort);
        let hi = rows.partition_point(|(s, _, _)| *s <= sort);
        let Some(p) = rows[lo..hi].iter().rposition(|(_, _, r)| *r == row).map(|i| lo + i) else {
            return Ok(());
        };
        let removed = rows.remove(p);
        let result = Edit { rows, p, removed: Some(&removed) }.emit(n, ranks, emit);
        if rows.is_empty() {
            self.parts.remove(&key);
        }
        result
    }

    /// A row of a window's partition (a window Top-N, Flink's window rank): kept among the
    /// partition's best `n` without emitting anything; [`flush`](Self::flush) emits the
    /// final ranking once the window's rows are all in.
    pub fn add_windowed(&mut self, key: K, sort: S, row: R) {
        let seq = self.next_seq();
        let n = self.n;
        if self.parts.get(&key).is_none() {
            self.touched.push(key.clone());
        }
        let rows = self.parts.entry_or_insert_with(key, Vec::new);
        let p = rows.partition_point(|(s, _, _)| *s <= sort);
        if p < n {
            rows.insert(p, (sort, seq, row));
            rows.truncate(n);
        }
    }

    /// Emits the best rows of every partition given rows since the last flush, as
    /// inserts with their rank, and forgets them (their window has closed: its rows came
    /// all at once, when it fired).
    pub fn flush<E>(&mut self, mut emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>) -> Result<(), E> {
        for key in std::mem::take(&mut self.touched) {
            for (rank, (_, _, row)) in self.parts.remove(&key).unwrap_or_default().iter().enumerate() {
                emit(RowKind::Insert, row, rank as u64 + 1)?;
            }
        }
        Ok(())
    }

    /// [`flush`](Self::flush) of the partitions given rows since the last flush that
    /// `closed` says are complete (their window's end is behind the watermark: in the
    /// second stage of a task run in two stages a window's rows come from each worker);
    /// the others wait for a later flush.
    pub fn flush_closed<E>(
        &mut self,
        closed: impl Fn(&K) -> bool,
        mut emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>,
    ) -> Result<(), E> {
        let (done, open): (Vec<K>, Vec<K>) = std::mem::take(&mut self.touched).into_iter().partition(|k| closed(k));
        self.touched = open;
        for key in done {
            for (rank, (_, _, row)) in self.parts.remove(&key).unwrap_or_default().iter().enumerate() {
                emit(RowKind::Insert, row, rank as u64 + 1)?;
            }
        }
        Ok(())
    }

    /// Counts a message for the state TTL.
    fn tick(&mut self) {
        if let Some(ttl) = &mut self.ttl {
            ttl.tick(&mut self.parts);
        }
    }

    /// The arrival number for a new row.
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq - 1
    }
}

/// One row added to or removed from a partition's sorted rows, seen after the change.
struct Edit<'a, S, R> {
    /// The partition's rows after the change.
    rows: &'a [(S, u64, R)],
    /// Where the row was added (it is `rows[p]`) or removed from.
    p: usize,
    /// The row removed; `None`: the row at `p` was added.
    removed: Option<&'a (S, u64, R)>,
}

impl<S, R: PartialEq> Edit<'_, S, R> {
    /// The row at 0-based position `i` before the change.
    fn before(&self, i: usize) -> Option<&R> {
        let entry = match self.removed {
            None if i >= self.p => self.rows.get(i + 1),
            Some(removed) if i == self.p => Some(removed),
            Some(_) if i > self.p => self.rows.get(i - 1),
            _ => self.rows.get(i),
        };
        entry.map(|(_, _, r)| r)
    }

    /// The row at 0-based position `i` after the change.
    fn after(&self, i: usize) -> Option<&R> {
        self.rows.get(i).map(|(_, _, r)| r)
    }

    /// Emits the difference the change makes to the top `n` (see [`TopN::apply`]).
    fn emit<E>(&self, n: usize, ranks: bool, emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>) -> Result<(), E> {
        if self.p >= n {
            Ok(())
        } else if ranks {
            self.emit_ranks(n, emit)
        } else {
            self.emit_rows(n, emit)
        }
    }

    /// Per rank from the bottom (the `n`th) up to the changed position: `-D`, `+I`, or
    /// `-U` and `+U`.
    fn emit_ranks<E>(&self, n: usize, mut emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>) -> Result<(), E> {
        for i in (self.p..n).rev() {
            let rank = i as u64 + 1;
            match (self.before(i), self.after(i)) {
                (Some(old), None) => emit(RowKind::Delete, old, rank)?,
                (None, Some(new)) => emit(RowKind::Insert, new, rank)?,
                (Some(old), Some(new)) if old != new => {
                    emit(RowKind::UpdateBefore, old, rank)?;
                    emit(RowKind::UpdateAfter, new, rank)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The row that left the top `n` (`-D`), then the row that entered it (`+I`), each
    /// with its rank (old and new).
    fn emit_rows<E>(&self, n: usize, mut emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>) -> Result<(), E> {
        let (left, came) = match self.removed {
            None => ((self.before(n - 1), n), (self.after(self.p), self.p + 1)),
            Some(_) => ((self.before(self.p), self.p + 1), (self.after(n - 1), n)),
        };
        match (left, came) {
            ((Some(l), _), (Some(c), _)) if l == c => Ok(()),
            ((left, left_rank), (came, came_rank)) => {
                if let Some(l) = left {
                    emit(RowKind::Delete, l, left_rank as u64)?;
                }
                came.map_or(Ok(()), |c| emit(RowKind::Insert, c, came_rank as u64))
            }
        }
    }
}

impl<K: Key, S: SortKey, R: Value, B: StateBackend> Snapshot for TopN<K, S, R, B> {
    /// The arrival number, the partitions, then (when a window Top-N holds partitions not
    /// ranked yet: see [`flush_closed`](Self::flush_closed)) their keys.
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        crate::checkpoint::encode(&self.seq, out)?;
        self.parts.save(out)?;
        if !self.touched.is_empty() {
            crate::checkpoint::encode(&self.touched, out)?;
        }
        Ok(())
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        self.seq = crate::checkpoint::decode(input)?;
        self.parts.load(input)?;
        self.touched = if input.is_empty() { Vec::new() } else { crate::checkpoint::decode(input)? };
        Ok(())
    }
}

impl<K: Key, S: SortKey, R: Value, B: StateBackend> crate::checkpoint::Rescale<K> for TopN<K, S, R, B> {
    /// Arrival numbers order rows within a partition, which came whole from one worker:
    /// numbering goes on after the greatest.
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        let seq: u64 = crate::checkpoint::decode(input)?;
        self.seq = self.seq.max(seq);
        self.parts.merge(input, keep)?;
        if !input.is_empty() {
            let touched: Vec<K> = crate::checkpoint::decode(input)?;
            self.touched.extend(touched.into_iter().filter(|k| keep(k)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A window Top-N emits nothing while a window's rows come in, then each partition's
    /// final ranking once, and forgets it.
    #[test]
    fn a_window_ranking_is_emitted_once_per_flush_and_forgotten() {
        let mut top: TopN<u8, std::cmp::Reverse<i64>, i64> = TopN::new(2);
        for (window, price) in [(1, 5), (2, 3), (1, 9), (1, 7), (2, 4)] {
            top.add_windowed(window, std::cmp::Reverse(price), price);
        }
        let mut out = Vec::new();
        top.flush(|kind, row, rank| -> Result<(), ()> {
            out.push((kind, *row, rank));
            Ok(())
        })
        .unwrap();
        out.sort_by_key(|&(_, row, rank)| (rank, row));
        assert_eq!(
            out,
            vec![(RowKind::Insert, 4, 1), (RowKind::Insert, 9, 1), (RowKind::Insert, 3, 2), (RowKind::Insert, 7, 2)]
        );
        let mut again = 0;
        top.flush(|_, _, _| -> Result<(), ()> {
            again += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(again, 0, "flushed partitions are forgotten");
        assert!(top.parts.is_empty());
    }

    /// In a second stage, windows are ranked once closed: the others wait, through a
    /// checkpoint, for a later flush.
    #[test]
    fn closed_windows_are_ranked_and_open_ones_wait_through_a_checkpoint() {
        let mut top: TopN<u8, std::cmp::Reverse<i64>, i64> = TopN::new(1);
        for (window, price) in [(1, 5), (2, 3), (1, 9), (3, 4)] {
            top.add_windowed(window, std::cmp::Reverse(price), price);
        }
        let ranked = |top: &mut TopN<u8, std::cmp::Reverse<i64>, i64>, up_to: u8| {
            let mut out = Vec::new();
            top.flush_closed(
                |w| *w <= up_to,
                |_, row, rank| -> Result<(), ()> {
                    out.push((*row, rank));
                    Ok(())
                },
            )
            .unwrap();
            out
        };
        assert_eq!(ranked(&mut top, 1), vec![(9, 1)]);
        let mut bytes = Vec::new();
        top.save(&mut bytes).unwrap();
        let mut restored: TopN<u8, std::cmp::Reverse<i64>, i64> = TopN::new(1);
        restored.load(&mut bytes.as_slice()).unwrap();
        restored.add_windowed(2, std::cmp::Reverse(8), 8);
        let mut later = ranked(&mut restored, 3);
        later.sort();
        assert_eq!(later, vec![(4, 1), (8, 1)], "windows 2 and 3, kept through the checkpoint");
        assert!(ranked(&mut restored, 9).is_empty());
    }

    /// (partition, price, id)
    type Row = (u8, i64, u32);

    /// The next number of a seeded linear congruential generator (its high bits).
    fn next(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// A changelog output applied: rows by (partition, rank) with ranks, else a multiset.
    #[derive(Default)]
    struct Output {
        by_rank: BTreeMap<(u8, u64), Row>,
        rows: BTreeMap<Row, u32>,
        /// The rank of a `-U` waiting for its `+U`.
        before: Option<u64>,
        changes: usize,
    }

    impl Output {
        /// Applies a change, checking that it fits.
        fn apply(&mut self, ranks: bool, kind: RowKind, r: &Row, rank: u64) {
            self.changes += 1;
            if !ranks {
                let n = self.rows.entry(*r).or_default();
                match kind {
                    RowKind::Insert => *n += 1,
                    RowKind::Delete => *n = n.checked_sub(1).expect("-D of a row not there"),
                    _ => panic!("updates without ranks"),
                }
                self.rows.retain(|_, n| *n > 0);
                return;
            }
            assert!((1..=3).contains(&rank), "rank {rank}");
            match kind {
                RowKind::Insert | RowKind::UpdateAfter => {
                    if kind == RowKind::UpdateAfter {
                        assert!(self.before.take().is_some(), "+U without -U");
                    }
                    assert!(self.by_rank.insert((r.0, rank), *r).is_none(), "rank {rank} taken");
                }
                RowKind::UpdateBefore | RowKind::Delete => {
                    assert_eq!(self.by_rank.remove(&(r.0, rank)), Some(*r));
                    if kind == RowKind::UpdateBefore {
                        self.before = Some(rank);
                    }
                }
            }
        }
    }

    /// The best 3 rows of each partition of `live` (row, arrival) by price descending,
    /// then arrival.
    fn recompute(live: &[(Row, u64)]) -> BTreeMap<(u8, u64), Row> {
        let mut sorted = live.to_vec();
        sorted.sort_by_key(|(r, seq)| (r.0, std::cmp::Reverse(r.1), *seq));
        let mut out = BTreeMap::new();
        let mut rank = 0;
        for (i, (r, _)) in sorted.iter().enumerate() {
            rank = if i > 0 && sorted[i - 1].0.0 == r.0 { rank + 1 } else { 1 };
            if rank <= 3 {
                out.insert((r.0, rank), *r);
            }
        }
        out
    }

    /// Whether `out` holds the `expected` top rows (with ranks: by rank; else as a set).
    fn matches(out: &Output, ranks: bool, expected: &BTreeMap<(u8, u64), Row>) -> bool {
        if ranks {
            out.by_rank == *expected
        } else {
            let mut want: BTreeMap<Row, u32> = BTreeMap::new();
            for r in expected.values() {
                *want.entry(*r).or_default() += 1;
            }
            out.rows == want
        }
    }

    /// Feeds a changelog row to `top` (an insert through `add` if `by_add`) and applies
    /// the changes to `out`.
    fn feed(
        top: &mut TopN<u8, std::cmp::Reverse<i64>, Row>,
        out: &mut Output,
        ranks: bool,
        kind: RowKind,
        r: Row,
        by_add: bool,
    ) {
        let sort = std::cmp::Reverse(r.1);
        let emit = |kind, row: &Row, rank| -> Result<(), ()> {
            out.apply(ranks, kind, row, rank);
            Ok(())
        };
        if by_add {
            top.add(r.0, sort, r, ranks, emit).unwrap();
        } else {
            top.apply(kind, r.0, sort, r, ranks, emit).unwrap();
        }
        assert_eq!(out.before, None, "-U without +U");
    }

    /// Whatever the interleaving of rows added (some equal to rows there) and retracted
    /// (deletes and update pairs), applying the changes gives the best 3 rows of each
    /// partition over the rows still there, in both output modes, and a partition without
    /// rows is gone.
    #[test]
    fn the_changes_of_a_changelog_input_rebuild_the_best_rows_left() {
        for ranks in [true, false] {
            let mut top: TopN<u8, std::cmp::Reverse<i64>, Row> = TopN::new(3).retracting();
            let mut out = Output::default();
            let mut live: Vec<(Row, u64)> = Vec::new();
            let (mut seed, mut seq, mut came_back) = (17u64, 0u64, 0);
            for id in 0..4_000u32 {
                let fresh = |seed: &mut u64| (next(seed) as u8 % 6, next(seed) as i64 % 30, id);
                let roll = next(&mut seed) % 20;
                if live.is_empty() || roll < 9 {
                    // A new row, or one equal to a row there; some through `add`.
                    let r = if roll == 8 && !live.is_empty() {
                        live[next(&mut seed) as usize % live.len()].0
                    } else {
                        fresh(&mut seed)
                    };
                    live.push((r, seq));
                    seq += 1;
                    feed(&mut top, &mut out, ranks, RowKind::Insert, r, roll >= 6);
                } else if roll == 19 {
                    let before = out.changes;
                    feed(&mut top, &mut out, ranks, RowKind::Delete, (1, 5, u32::MAX), false);
                    assert_eq!(out.changes, before, "a row not kept was retracted");
                } else {
                    let r = live[next(&mut seed) as usize % live.len()].0;
                    let top_before: Vec<Row> = recompute(&live).into_values().collect();
                    // The latest of the equal rows goes, as in the operator.
                    live.remove(live.iter().rposition(|(l, _)| *l == r).unwrap());
                    came_back += recompute(&live).values().filter(|r| !top_before.contains(r)).count();
                    let kind = if roll < 16 { RowKind::Delete } else { RowKind::UpdateBefore };
                    feed(&mut top, &mut out, ranks, kind, r, false);
                    if kind == RowKind::UpdateBefore {
                        let r = if roll < 18 { (r.0, next(&mut seed) as i64 % 30, r.2) } else { fresh(&mut seed) };
                        live.push((r, seq));
                        seq += 1;
                        feed(&mut top, &mut out, ranks, RowKind::UpdateAfter, r, false);
                    }
                }
                if id % 20 == 0 {
                    assert!(matches(&out, ranks, &recompute(&live)), "ranks {ranks}, row {id}");
                }
            }
            assert!(matches(&out, ranks, &recompute(&live)), "ranks {ranks}");
            assert!(came_back > 100, "rows back in the top: {came_back}");
            while let Some((r, _)) = live.pop() {
                feed(&mut top, &mut out, ranks, RowKind::Delete, r, false);
            }
            assert!(out.by_rank.is_empty() && out.rows.is_empty(), "ranks {ranks}");
            assert!(top.parts.is_empty(), "ranks {ranks}: {} partitions left", top.parts.len());
        }
    }

    /// Applying the changes (rows kept by partition and rank) gives the N best rows of
    /// each partition over all rows, in both output modes.
    #[test]
    fn the_changes_rebuild_the_best_rows_of_each_partition() {
        for ranks in [true, false] {
            let mut top: TopN<u8, std::cmp::Reverse<i64>, (u8, i64, u32)> = TopN::new(3);
            let mut table: BTreeMap<(u8, u64), (u8, i64, u32)> = BTreeMap::new();
            let mut members: BTreeMap<(u8, u32), (u8, i64, u32)> = BTreeMap::new();
            let mut all: Vec<(u8, i64, u32)> = Vec::new();
            let mut seed = 9u64;
            for id in 0..2_000u32 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let row = ((seed >> 40) as u8 % 12, (seed >> 20) as i64 % 50, id);
                all.push(row);
                top.add(row.0, std::cmp::Reverse(row.1), row, ranks, |kind, r, rank| -> Result<(), ()> {
                    if ranks {
                        match kind {
                            RowKind::Insert | RowKind::UpdateAfter => {
                                assert!(table.insert((r.0, rank), *r).is_none(), "rank {rank} taken");
                            }
                            RowKind::UpdateBefore | RowKind::Delete => {
                                assert_eq!(table.remove(&(r.0, rank)), Some(*r));
                            }
                        }
                    } else {
                        match kind {
                            RowKind::Insert => assert!(members.insert((r.0, r.2), *r).is_none()),
                            RowKind::Delete => assert_eq!(members.remove(&(r.0, r.2)), Some(*r)),
                            _ => panic!("updates without ranks"),
                        }
                    }
                    Ok(())
                })
                .unwrap();
            }
            // The reference: per partition, by price descending then arrival.
            let mut expected: BTreeMap<(u8, u64), (u8, i64, u32)> = BTreeMap::new();
            for p in 0..12u8 {
                let mut rows: Vec<_> = all.iter().filter(|r| r.0 == p).copied().collect();
                rows.sort_by_key(|r| (std::cmp::Reverse(r.1), r.2));
                for (i, r) in rows.into_iter().take(3).enumerate() {
                    expected.insert((p, i as u64 + 1), r);
                }
            }
            if ranks {
                assert_eq!(table, expected);
            } else {
                let got: Vec<_> =
                    members.values().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
                let want: Vec<_> =
                    expected.values().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
                assert_eq!(got, want);
            }
        }
    }
}
