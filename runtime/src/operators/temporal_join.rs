//! Event-time temporal join against a versioned table (Flink's
//! `TemporalRowTimeJoinOperator`), as in
//! `FROM orders o JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.currency = r.currency`.
//! The right side is a changelog of the versioned table: each `+I`/`+U` of a key starts a
//! new version of it at the row's time, a `-D` makes the key absent from its time on, and
//! `-U` changes nothing (the `+U` that follows replaces the version). A left (probe) row is
//! held until the watermark passes its time, so that every version it may need has arrived,
//! and then joined with the version of its key valid at its time: the latest one at or
//! before it (of versions at the same time, the one that arrived last). The output only
//! appends (`+I`), in order of the left rows' times (rows of equal time in arrival order).
//! A left row with no valid version, or whose version fails the rest of the ON condition,
//! is dropped by an inner join and emitted with NULLs by a left outer one. Left rows with a
//! NULL key match nothing; left rows with a NULL time, or at or behind the watermark, are
//! late: dropped. Right rows with a NULL key or time are ignored.
//!
//! ```
//! use dfl::changelog::RowKind;
//! use dfl::operators::temporal_join::TemporalJoin;
//! // orders (order_time, amount) LEFT JOIN rates (update_time, rate) by currency.
//! type Order = (i64, u32);
//! type Rate = (i64, u32);
//! let mut join: TemporalJoin<char, Order, Rate> =
//!     TemporalJoin::new(true, |o: &Order| Some(o.0), |r: &Rate| Some(r.0));
//! join.add_right(RowKind::Insert, Some('E'), (0, 114));
//! join.add_right(RowKind::UpdateBefore, Some('E'), (0, 114)); // changes nothing
//! join.add_right(RowKind::UpdateAfter, Some('E'), (10, 116)); // valid from 10 on
//! assert!(join.add_left(Some('E'), (5, 2), 0));
//! assert!(join.add_left(Some('E'), (12, 3), 0));
//! assert!(join.add_left(Some('Y'), (7, 1), 0)); // no rate for 'Y'
//! let mut out = Vec::new();
//! join.advance(12, |_, _| true, |kind, o, r| {
//!     assert_eq!(kind, RowKind::Insert);
//!     out.push((o.unwrap().1, r.map(|r| r.1)));
//!     Ok::<(), ()>(())
//! })
//! .unwrap();
//! assert_eq!(out, [(2, Some(114)), (1, None), (3, Some(116))]);
//! assert!(!join.add_left(Some('E'), (11, 4), 12), "late");
//! assert_eq!((join.buffered(), join.versions()), (0, 1), "only the rate from 10 on is kept");
//! ```
//!
//! # State
//!
//! Two [`KeyedMap`]s of the [`StateBackend`]: the buffered left rows by key (a NULL key
//! under `None`, kept only by an outer join), each with its time and arrival number, sorted
//! by both; and the versions by key, sorted by time, a deletion as `None`. A [`TimerQueue`]
//! of `(time, key)`, one timer per buffered row's and version's time and key, tells which
//! keys a watermark concerns, so that [`TemporalJoin::advance`] visits only those; it is
//! held by the operator (in memory, whatever the backend) and saved in its snapshot.
//!
//! State stays bounded: after `advance(wm)` a key keeps its versions after `wm` and only
//! the latest version at or before `wm` (every left row still to come is after `wm`), and
//! not even that one if it is a deletion; a key with nothing left is removed. A right
//! change that arrives with a time the watermark has passed is still applied (to left rows
//! not yet emitted); left rows already emitted are not revised. A `-U` is ignored (the `+U`
//! that follows replaces the version): an update that moves a row to another key must come
//! as `-D` and `+I`.

use crate::changelog::RowKind;
use crate::checkpoint::{Snapshot, decode, encode};
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TimerQueue, Value};
use std::collections::BTreeSet;

/// A buffered left row: its time, its arrival number (which orders rows of equal time) and
/// the row.
type Pending<L> = (i64, u64, L);

/// A version of a key: valid from its time on until the next one; `None` is a deletion.
type Version<R> = (i64, Option<R>);

/// A due left row taken from the buffer: time, arrival number, key and row.
type Due<K, L> = (i64, u64, Option<K>, L);

/// Left rows waiting for the watermark and the versions of the right side, by key, with an
/// index of the times at which keys need a visit (see the [module docs](self)).
pub struct TemporalJoin<K: Key, L: Value, R: Value, B: StateBackend = MemoryBackend> {
    /// The greatest watermark `advance` processed (not saved: a restored operator
    /// processes its first advance in full).
    advanced: i64,
    left_outer: bool,
    left_time: fn(&L) -> Option<i64>,
    right_time: fn(&R) -> Option<i64>,
    /// Buffered left rows by key (`None`: a NULL key), sorted by time and arrival.
    left: B::Map<Option<K>, Vec<Pending<L>>>,
    /// Versions by key, sorted by time, at most one per time.
    versions: B::Map<K, Vec<Version<R>>>,
    /// A timer at the time of each buffered left row and each version, for its key.
    timers: TimerQueue<Option<K>>,
    /// The greatest watermark seen.
    watermark: i64,
    /// The arrival number of the next left row.
    seq: u64,
    /// Left rows buffered.
    buffered: usize,
    /// Versions kept, over all keys.
    kept_versions: usize,
}

impl<K: Key, L: Value, R: Value> TemporalJoin<K, L, R> {
    /// A temporal join (a left outer one if `left_outer`) of left rows at the time
    /// `left_time` reads from them against the versions of the right side valid from the
    /// time `right_time` reads (`None`: NULL), with its state in memory.
    pub fn new(left_outer: bool, left_time: fn(&L) -> Option<i64>, right_time: fn(&R) -> Option<i64>) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "temporal-join", left_outer, left_time, right_time)
    }
}

impl<K: Key, L: Value, R: Value, B: StateBackend> TemporalJoin<K, L, R, B> {
    /// A join as [`new`](TemporalJoin::new) keeping its state in `backend` under `name`
    /// (the operator's id).
    pub fn in_backend(
        backend: &mut B,
        name: &str,
        left_outer: bool,
        left_time: fn(&L) -> Option<i64>,
        right_time: fn(&R) -> Option<i64>,
    ) -> Self {
        TemporalJoin {
            left_outer,
            left_time,
            right_time,
            left: backend.map(&format!("{name}/left")),
            versions: backend.map(&format!("{name}/versions")),
            timers: TimerQueue::new(),
            advanced: i64::MIN,
            watermark: i64::MIN,
            seq: 0,
            buffered: 0,
            kept_versions: 0,
        }
    }

    /// A row of the probe (left) side with key `key` (`None`: a NULL key), arriving at input
    /// watermark `watermark` (the greatest watermark seen counts). Returns `false`, keeping
    /// nothing, if its time is NULL or at or behind the watermark (late). Otherwise buffers
    /// it until [`advance`](Self::advance) passes its time (a row with a NULL key only in a
    /// left outer join: an inner join would never emit it).
    pub fn add_left(&mut self, key: Option<K>, row: L, watermark: i64) -> bool {
        self.watermark = self.watermark.max(watermark);
        let Some(time) = (self.left_time)(&row).filter(|t| *t > self.watermark) else {
            return false;
        };
        if key.is_none() && !self.left_outer {
            return true;
        }
        let seq = self.seq;
        self.seq += 1;
        let rows = self.left.entry_or_insert_with(key.clone(), Vec::new);
        let at = rows.partition_point(|(t, _, _)| *t <= time);
        rows.insert(at, (time, seq, row));
        self.timers.register(time, key);
        self.buffered += 1;
        true
    }

    /// A change of the versioned (right) table: `+I`/`+U` make `row` the version of `key`
    /// valid from its time on (replacing one at the same time: the later arrival wins),
    /// `-D` makes the key absent from its time on, and `-U` changes nothing. Rows with a
    /// NULL key or time are ignored.
    pub fn add_right(&mut self, kind: RowKind, key: Option<K>, row: R) {
        let (Some(key), Some(time)) = (key, (self.right_time)(&row)) else {
            return;
        };
        let version = match kind {
            RowKind::Insert | RowKind::UpdateAfter => Some(row),
            RowKind::Delete => None,
            RowKind::UpdateBefore => return,
        };
        let versions = self.versions.entry_or_insert_with(key.clone(), Vec::new);
        let at = versions.partition_point(|(t, _)| *t <= time);
        match at.checked_sub(1).map(|i| &mut versions[i]) {
            Some(same) if same.0 == time => same.1 = version,
            _ => {
                versions.insert(at, (time, version));
                self.kept_versions += 1;
            }
        }
        self.timers.register(time, Some(key));
    }

    /// Moves the watermark to `watermark` (if it is greater) and emits (`emit`, all
    /// `Insert`), in order of time then arrival, every buffered left row at or before it
    /// joined with the version of its key valid at its time if `cond` holds for the pair
    /// (otherwise, or with no valid version, a left outer join emits the row with `None`).
    /// Then frees the versions no later left row can need. `advance(i64::MAX, ..)` emits
    /// every buffered row.
    #[inline]
    pub fn advance<E>(
        &mut self,
        watermark: i64,
        cond: impl Fn(&L, &R) -> bool,
        emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        // Called after every event: an unmoved watermark has no left row due (one buffered
        // is after the watermark it arrived at), and stays inline in the caller.
        if watermark <= self.advanced {
            return Ok(());
        }
        self.advanced = watermark;
        self.join_due(watermark, cond, emit)
    }

    /// [`advance`](Self::advance) past the current watermark.
    #[inline(never)]
    fn join_due<E>(
        &mut self,
        watermark: i64,
        cond: impl Fn(&L, &R) -> bool,
        emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.watermark = self.watermark.max(watermark);
        let wm = self.watermark;
        let keys: BTreeSet<Option<K>> = self.timers.pop_due(wm).into_iter().map(|(_, key)| key).collect();
        let mut due = self.take_due(&keys, wm);
        due.sort_unstable_by_key(|(time, seq, _, _)| (*time, *seq));
        let emitted = self.emit_joined(&due, cond, emit);
        for key in keys.iter().flatten() {
            self.kept_versions -= compact(&mut self.versions, key, wm);
        }
        emitted
    }

    /// Removes and returns the buffered left rows of `keys` at or before `wm`.
    fn take_due(&mut self, keys: &BTreeSet<Option<K>>, wm: i64) -> Vec<Due<K, L>> {
        let mut due = Vec::new();
        for key in keys {
            // Only write to the map (a persistent backend's cache) if a row is due.
            if self.left.get(key).is_none_or(|rows| rows.first().is_none_or(|r| r.0 > wm)) {
                continue;
            }
            let Some(rows) = self.left.get_mut(key) else {
                continue;
            };
            let later = rows.split_off(rows.partition_point(|r| r.0 <= wm));
            let taken = std::mem::replace(rows, later);
            if rows.is_empty() {
                self.left.remove(key);
            }
            self.buffered -= taken.len();
            due.extend(taken.into_iter().map(|(time, seq, row)| (time, seq, key.clone(), row)));
        }
        due
    }

    /// Emits the rows `due` (in their order) joined with the versions valid at their times.
    fn emit_joined<E>(
        &mut self,
        due: &[Due<K, L>],
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        for (time, _, key, row) in due {
            let version = key.as_ref().and_then(|k| self.versions.get(k)).and_then(|vs| valid_at(vs, *time));
            match version.filter(|r| cond(row, r)) {
                Some(r) => emit(RowKind::Insert, Some(row), Some(r))?,
                None if self.left_outer => emit(RowKind::Insert, Some(row), None)?,
                None => {}
            }
        }
        Ok(())
    }

    /// Left rows buffered (for metrics and tests).
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Versions kept over all keys, deletions included (for metrics and tests).
    pub fn versions(&self) -> usize {
        self.kept_versions
    }

    /// The greatest watermark seen.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }
}

/// The row of the version in `versions` (sorted by time, at most one per time) valid at
/// `time`: the latest at or before it, if that is not a deletion.
fn valid_at<R>(versions: &[Version<R>], time: i64) -> Option<&R> {
    let at = versions.partition_point(|(t, _)| *t <= time);
    at.checked_sub(1).and_then(|i| versions[i].1.as_ref())
}

/// Drops the versions of `key` that no left row after `wm` can need: all at or before `wm`
/// but the latest, and that one too if it is a deletion; removes the key if none is left.
/// Returns how many were dropped.
fn compact<K, R>(versions: &mut impl KeyedMap<K, Vec<Version<R>>>, key: &K, wm: i64) -> usize {
    let Some(kept) = versions.get(key) else {
        return 0;
    };
    let past = kept.partition_point(|(t, _)| *t <= wm);
    let drop = match past.checked_sub(1) {
        Some(latest) if kept[latest].1.is_some() => latest,
        _ => past,
    };
    if drop == 0 {
        return 0;
    }
    if let Some(kept) = versions.get_mut(key) {
        kept.drain(..drop);
        if kept.is_empty() {
            versions.remove(key);
        }
    }
    drop
}

impl<K: Key, L: Value, R: Value, B: StateBackend> Snapshot for TemporalJoin<K, L, R, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        encode(&(self.watermark, self.seq, self.buffered, self.kept_versions, &self.timers), out)?;
        self.left.save(out)?;
        self.versions.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        (self.watermark, self.seq, self.buffered, self.kept_versions, self.timers) = decode(input)?;
        self.left.load(input)?;
        self.versions.load(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next number of a seeded linear congruential generator (its high bits).
    fn next(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// A row of either side: (event time (None: NULL), id).
    type Row = (Option<i64>, u32);
    /// A row as it arrives: (None: a left row, or the kind of a right change; key (None:
    /// NULL); row).
    type Input = (Option<RowKind>, Option<u8>, Row);
    /// Emitted rows: (left time, left id, right id).
    type Out = Vec<(i64, u32, Option<u32>)>;
    type Join = TemporalJoin<u8, Row, Row>;

    /// How far a row's time may be ahead of its place in the stream.
    const DISORDER: u64 = 8;
    /// How far the watermark trails the greatest time seen (less than the disorder: some
    /// left rows are late).
    const LAG: i64 = 4;
    /// Inputs between watermarks.
    const EVERY: usize = 3;

    /// The rest of the ON condition.
    fn cond(l: &Row, r: &Row) -> bool {
        !(l.1 + r.1).is_multiple_of(4)
    }

    fn join(left_outer: bool) -> Join {
        TemporalJoin::in_backend(&mut MemoryBackend::new(), "t", left_outer, |l| l.0, |r| r.0)
    }

    /// `n` random inputs, about two per ms, half of them left rows and half changes of the
    /// versioned table (inserts, `-U`/`+U`, deletes), times a little out of order, over 5
    /// keys; a few NULL keys and times.
    fn inputs(seed: u64, n: u32) -> Vec<Input> {
        let mut seed = seed;
        (0..n)
            .map(|i| {
                let kind = match next(&mut seed) % 12 {
                    0..6 => None,
                    6 | 7 => Some(RowKind::Insert),
                    8 => Some(RowKind::UpdateBefore),
                    9 | 10 => Some(RowKind::UpdateAfter),
                    _ => Some(RowKind::Delete),
                };
                let key = (!next(&mut seed).is_multiple_of(15)).then(|| (next(&mut seed) % 5) as u8);
                let time = (!next(&mut seed).is_multiple_of(30))
                    .then(|| i64::from(i / 2) + (next(&mut seed) % DISORDER) as i64);
                (kind, key, (time, i))
            })
            .collect()
    }

    /// Collects emitted rows into `out`, checking that they are inserts of a left row.
    fn collect(out: &mut Out) -> impl FnMut(RowKind, Option<&Row>, Option<&Row>) -> Result<(), ()> + '_ {
        |kind, l, r| {
            assert_eq!(kind, RowKind::Insert);
            let l = l.expect("a left row");
            out.push((l.0.unwrap(), l.1, r.map(|r| r.1)));
            Ok(())
        }
    }

    /// The join of the on-time left rows in `fed` with, for each, the version of its key
    /// valid at its time computed from all right changes in `fed`; in order of time, then
    /// arrival.
    fn reference(fed: &[Input], left_outer: bool) -> Out {
        let valid = |key: u8, time: i64| {
            let mut best: Option<&Input> = None;
            for change @ (kind, k, (t, _)) in fed {
                let (Some(kind), Some(t)) = (kind, t) else { continue };
                if *k == Some(key)
                    && *kind != RowKind::UpdateBefore
                    && *t <= time
                    && best.is_none_or(|b| b.2.0 <= Some(*t))
                {
                    best = Some(change);
                }
            }
            best.filter(|b| b.0 != Some(RowKind::Delete)).map(|b| b.2)
        };
        let mut out = Out::new();
        for (_, key, l) in fed.iter().filter(|input| input.0.is_none()) {
            let time = l.0.unwrap();
            match key.and_then(|k| valid(k, time)).filter(|r| cond(l, r)) {
                Some(r) => out.push((time, l.1, Some(r.1))),
                None if left_outer => out.push((time, l.1, None)),
                None => {}
            }
        }
        out.sort_unstable();
        out
    }

    /// Asserts that `got` is `expected`, showing where they first differ.
    fn assert_same(got: &Out, expected: &Out, what: &str) {
        let at = got.iter().zip(expected).position(|(g, e)| g != e).unwrap_or(got.len().min(expected.len()));
        let around = |out: &Out| out[at.saturating_sub(2)..(at + 3).min(out.len())].to_vec();
        assert!(
            got == expected,
            "{what}: {} rows, expected {}; from row {at}: {:?}, expected {:?}",
            got.len(),
            expected.len(),
            around(got),
            around(expected)
        );
    }

    /// A join fed a stream with the watermark trailing the greatest time seen by [`LAG`],
    /// advanced every [`EVERY`] inputs.
    struct Run {
        join: Join,
        left_outer: bool,
        max: i64,
        /// The on-time left rows and the right changes as fed (times moved past the
        /// watermark).
        fed: Vec<Input>,
        late: usize,
        /// Inputs fed.
        count: usize,
        peak: usize,
        out: Out,
    }

    impl Run {
        fn new(left_outer: bool) -> Self {
            Run {
                join: join(left_outer),
                left_outer,
                max: i64::MIN,
                fed: vec![],
                late: 0,
                count: 0,
                peak: 0,
                out: vec![],
            }
        }

        /// Adds `input`; a right change at or behind the watermark is moved after it (no
        /// late right changes, so that the reference is exact).
        fn feed(&mut self, input: Input) {
            let (kind, key, mut row) = input;
            let wm = self.max.saturating_sub(LAG);
            if let Some(kind) = kind {
                row.0 = row.0.map(|t| if t > self.join.watermark() { t } else { self.join.watermark() + 1 });
                self.join.add_right(kind, key, row);
                self.fed.push((Some(kind), key, row));
            } else if self.join.add_left(key, row, wm) {
                assert!(row.0.is_some_and(|t| t > wm), "{input:?} at {wm}");
                self.fed.push(input);
            } else {
                assert!(row.0.is_none_or(|t| t <= wm), "{input:?} at {wm}");
                self.late += 1;
            }
            self.max = self.max.max(row.0.unwrap_or(i64::MIN));
            self.count += 1;
            if self.count.is_multiple_of(EVERY) {
                self.join.advance(self.max.saturating_sub(LAG), cond, collect(&mut self.out)).unwrap();
                self.check_bounded();
            }
        }

        /// Checks that after an advance the join keeps only the left rows after the
        /// watermark and, per key, the versions after it and the latest one at or before
        /// it if that is not a deletion.
        fn check_bounded(&mut self) {
            let wm = self.join.watermark();
            let outer = self.left_outer;
            let pending =
                self.fed.iter().filter(|(k, key, r)| k.is_none() && (outer || key.is_some()) && r.0 > Some(wm)).count();
            assert_eq!(self.join.buffered(), pending, "at {wm}");
            let rows: usize = self.join.left.iter().map(|(_, rows)| rows.len()).sum();
            assert_eq!(rows, pending, "at {wm}");
            let mut kept = 0;
            for (key, versions) in self.join.versions.iter() {
                assert!(!versions.is_empty(), "key {key}");
                assert!(versions.windows(2).all(|w| w[0].0 < w[1].0), "key {key} unsorted");
                let past: Vec<&Version<Row>> = versions.iter().filter(|v| v.0 <= wm).collect();
                assert!(past.len() <= 1 && past.iter().all(|v| v.1.is_some()), "key {key} at {wm}: {versions:?}");
                kept += versions.len();
            }
            assert_eq!(self.join.versions(), kept);
            assert!(self.join.timers.len() <= pending + kept, "a timer per row and version at most");
            self.peak = self.peak.max(kept);
        }

        /// Emits everything; returns the output.
        fn finish(mut self) -> Out {
            self.join.advance(i64::MAX, cond, collect(&mut self.out)).unwrap();
            assert_eq!(self.join.buffered(), 0);
            assert!(self.join.left.is_empty() && self.join.timers.is_empty());
            assert!(self.join.versions.iter().all(|(_, versions)| versions.len() == 1));
            self.out
        }
    }

    /// For an inner and a left outer join, the output is, in order of time, every on-time
    /// left row joined with the version valid at its time computed from all right
    /// changes; and state stays bounded as the watermark advances.
    #[test]
    fn emits_each_left_row_with_the_version_valid_at_its_time() {
        for seed in [3, 17, 41] {
            for left_outer in [false, true] {
                let mut run = Run::new(left_outer);
                inputs(seed, 3_000).into_iter().for_each(|input| run.feed(input));
                let (fed, late, peak) = (run.fed.clone(), run.late, run.peak);
                let lefts = fed.iter().filter(|input| input.0.is_none()).count();
                assert!(late > 50 && lefts > 1_000, "late {late}, on time {lefts}");
                assert!(peak > 5 && peak < 60, "at most {peak} versions kept");
                let expected = reference(&fed, left_outer);
                let matched = expected.iter().filter(|o| o.2.is_some()).count();
                assert!(matched > 400, "only {matched} matches");
                if left_outer {
                    assert!(expected.len() > matched + 200, "few unmatched rows");
                }
                assert_same(&run.finish(), &expected, &format!("seed {seed}, outer {left_outer}"));
            }
        }
    }

    /// Saving mid-stream and loading into a new join, then going on, gives the same output
    /// as an uninterrupted run.
    #[test]
    fn a_snapshot_mid_stream_continues_to_the_same_result() {
        let rows = inputs(29, 2_000);
        for left_outer in [false, true] {
            let mut whole = Run::new(left_outer);
            rows.iter().for_each(|input| whole.feed(*input));
            let mut run = Run::new(left_outer);
            rows[..1_000].iter().for_each(|input| run.feed(*input));
            let mut bytes = Vec::new();
            run.join.save(&mut bytes).unwrap();
            let kept = (run.join.buffered(), run.join.versions(), run.join.watermark());
            assert!(kept.0 > 0 && kept.1 > 0, "state to restore");
            run.join = join(left_outer);
            let mut input = bytes.as_slice();
            run.join.load(&mut input).unwrap();
            assert!(input.is_empty(), "{} bytes left", input.len());
            assert_eq!((run.join.buffered(), run.join.versions(), run.join.watermark()), kept);
            rows[1_000..].iter().for_each(|input| run.feed(*input));
            let expected = reference(&whole.fed, left_outer);
            assert_same(&whole.finish(), &expected, &format!("whole, outer {left_outer}"));
            assert_same(&run.finish(), &expected, &format!("restored, outer {left_outer}"));
        }
    }

    /// Emits (inner join, `cond` always true) after advancing `join` to `wm`.
    fn advance(join: &mut Join, wm: i64) -> Out {
        let mut out = Out::new();
        join.advance(wm, |_, _| true, collect(&mut out)).unwrap();
        out
    }

    /// Of versions at the same time the later arrival wins, `-U` changes nothing, and a
    /// deletion makes the key absent until its next version.
    #[test]
    fn versions_follow_the_changelog() {
        let mut j = join(false);
        j.add_right(RowKind::Insert, Some(1), (Some(10), 100));
        j.add_right(RowKind::UpdateAfter, Some(1), (Some(10), 101));
        j.add_right(RowKind::UpdateBefore, Some(1), (Some(20), 101));
        j.add_right(RowKind::Delete, Some(1), (Some(30), 101));
        j.add_right(RowKind::Insert, Some(1), (Some(40), 102));
        j.add_right(RowKind::Delete, Some(2), (Some(5), 103));
        j.add_right(RowKind::Insert, Some(2), (Some(3), 104)); // before the deletion
        j.add_right(RowKind::Insert, None, (Some(5), 105));
        j.add_right(RowKind::Insert, Some(3), (None, 106));
        assert_eq!(j.versions(), 5, "one per time and key, none for NULLs");
        for (time, id) in [(9, 1), (10, 2), (25, 3), (30, 4), (45, 5)] {
            assert!(j.add_left(Some(1), (Some(time), id), 0));
        }
        assert!(j.add_left(Some(2), (Some(6), 6), 0));
        assert!(j.add_left(Some(2), (Some(4), 7), 0));
        let expected = [(4, 7, Some(104)), (10, 2, Some(101)), (25, 3, Some(101)), (45, 5, Some(102))];
        assert_eq!(advance(&mut j, 50), expected);
        assert_eq!(j.versions(), 1, "only the version of key 1 from 40 on");
    }

    /// Late left rows are dropped; a left row with a NULL key is emitted with `None` at its
    /// time by an outer join and kept by none by an inner one; rows of equal time come in
    /// arrival order.
    #[test]
    fn late_rows_are_dropped_and_null_keys_match_nothing() {
        for left_outer in [false, true] {
            let mut j = join(left_outer);
            let mut out = Out::new();
            j.add_right(RowKind::Insert, Some(1), (Some(0), 49));
            assert!(j.add_left(Some(1), (Some(10), 1), 0));
            assert!(!j.add_left(Some(1), (Some(10), 2), 10), "at the watermark");
            assert!(!j.add_left(Some(1), (None, 3), 0), "NULL time");
            assert!(!j.add_left(Some(1), (Some(9), 4), 0), "behind 10 seen");
            assert!(j.add_left(None, (Some(11), 5), 0));
            assert!(j.add_left(Some(1), (Some(11), 6), 0));
            assert!(j.add_left(Some(2), (Some(11), 7), 0));
            assert_eq!(j.buffered(), if left_outer { 4 } else { 3 });
            j.advance(11, cond, collect(&mut out)).unwrap();
            let expected: Out = if left_outer {
                vec![(10, 1, Some(49)), (11, 5, None), (11, 6, Some(49)), (11, 7, None)]
            } else {
                vec![(10, 1, Some(49)), (11, 6, Some(49))]
            };
            assert_eq!(out, expected, "outer {left_outer}");
        }
    }

    /// A right change behind the watermark still applies to the left rows not yet emitted,
    /// and the next advance frees what it replaced.
    #[test]
    fn a_late_right_change_applies_to_rows_not_yet_emitted() {
        let mut j = join(false);
        j.add_right(RowKind::Insert, Some(1), (Some(0), 100));
        assert!(j.add_left(Some(1), (Some(15), 1), 0));
        assert!(advance(&mut j, 10).is_empty());
        j.add_right(RowKind::UpdateAfter, Some(1), (Some(5), 101));
        assert_eq!(j.versions(), 2);
        assert_eq!(advance(&mut j, 20), [(15, 1, Some(101))]);
        assert_eq!(j.versions(), 1);
        j.add_right(RowKind::Delete, Some(1), (Some(18), 101));
        assert!(advance(&mut j, 21).is_empty());
        assert_eq!(j.versions(), 0, "a deletion at or before the watermark frees the key");
        assert!(j.versions.is_empty() && j.timers.is_empty());
    }
}
