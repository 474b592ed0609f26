//! Interval join (Flink's `IntervalJoinOperator`): an equi-join whose ON condition also
//! bounds the distance between two event-time attributes, as in
//! `l.t BETWEEN r.t - INTERVAL '5' SECOND AND r.t + INTERVAL '10' SECOND`. Each side's rows
//! are kept by key only as long as a row of the other side within the bounds can still
//! arrive on time: a left row at `tl` until the watermark reaches `tl - lower`, a right row
//! at `tr` until it reaches `tr + upper` (see [`IntervalBounds`]). A new row joins the kept
//! rows of the other side at once; an outer side's row that never matched is emitted with
//! NULLs for the other side when it is freed. So the output only appends (`+I`), whatever
//! the join kind. Rows with a NULL time, or at or behind the watermark, are late: dropped.
//! Rows with a NULL key match nothing (an outer side's is emitted with NULLs at once).
//!
//! ```
//! use dfl::changelog::RowKind;
//! use dfl::operators::interval_join::{IntervalBounds, IntervalJoin};
//! use dfl::operators::window_join::JoinKind;
//! // Orders (time, id) LEFT JOIN shipments (time, id) ON o.id = s.id
//! //   AND o.t BETWEEN s.t - 10 AND s.t, i.e. -10 <= o.t - s.t <= 0.
//! type Row = (i64, char);
//! let bounds = IntervalBounds { lower: -10, upper: 0 };
//! let mut join: IntervalJoin<u32, Row, Row> =
//!     IntervalJoin::new(JoinKind::Left, bounds, |o: &Row| Some(o.0), |s: &Row| Some(s.0));
//! let always = |_: &Row, _: &Row| true;
//! let mut out = Vec::new();
//! let mut keep = |kind: RowKind, o: Option<&Row>, s: Option<&Row>| -> Result<(), ()> {
//!     assert_eq!(kind, RowKind::Insert);
//!     out.push((o.map(|o| o.1), s.map(|s| s.1)));
//!     Ok(())
//! };
//! assert!(join.add_left(Some(1), (100, 'a'), 90, always, &mut keep).unwrap());
//! assert!(join.add_left(Some(2), (105, 'b'), 90, always, &mut keep).unwrap());
//! assert!(join.add_right(Some(1), (108, 'x'), 90, always, &mut keep).unwrap()); // joins 'a'
//! join.advance(120, &mut keep).unwrap(); // no shipment for 'b' can come any more
//! assert!(!join.add_right(Some(2), (112, 'y'), 120, always, &mut keep).unwrap(), "late");
//! assert_eq!(out, vec![(Some('a'), Some('x')), (Some('b'), None)]);
//! assert_eq!(join.rows(), 0, "all state is freed");
//! ```
//!
//! # State
//!
//! Each side's rows live in a [`KeyedMap`] of the [`StateBackend`], by key, each with its
//! time and whether it has matched. Which rows to free is known without scanning the keys
//! from an expiry index: a [`TimerQueue`] of `(expiry, (side, key))`, one timer per side,
//! key and expiry (rows of a key that expire together share one). On a watermark, each due
//! timer frees the expired rows of its side and key. The index is held by the operator
//! (in memory, whatever the backend: one small entry per kept row's key and expiry) and
//! saved in its snapshot.

use crate::changelog::RowKind;
use crate::checkpoint::{Rescale, Snapshot, decode, encode};
use crate::operators::window_join::JoinKind;
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TimerQueue, Value};
use serde::{Deserialize, Serialize};

/// The time bounds of an interval join: a left row at `tl` and a right row at `tr` may join
/// only if `lower <= tl - tr <= upper` (both inclusive, in ms). The join's condition is
/// still checked in full by the caller's `cond`; the bounds decide when state is freed and
/// filter pairs before `cond`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalBounds {
    /// The least `tl - tr` of a pair.
    pub lower: i64,
    /// The greatest `tl - tr` of a pair.
    pub upper: i64,
}

impl IntervalBounds {
    /// Whether a left row at `left` and a right row at `right` are within the bounds.
    pub fn contains(self, left: i64, right: i64) -> bool {
        let distance = i128::from(left) - i128::from(right);
        i128::from(self.lower) <= distance && distance <= i128::from(self.upper)
    }

    /// The watermark from which no right row joining a left row at `time` can arrive on
    /// time (all have `tr <= time - lower`).
    fn left_expiry(self, time: i64) -> i64 {
        time.saturating_sub(self.lower)
    }

    /// The watermark from which no left row joining a right row at `time` can arrive on
    /// time (all have `tl <= time + upper`).
    fn right_expiry(self, time: i64) -> i64 {
        time.saturating_add(self.upper)
    }
}

/// Which input a kept row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Side {
    Left,
    Right,
}

/// A kept row with its event time and whether it has joined a row of the other side.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept<T> {
    time: i64,
    matched: bool,
    row: T,
}

/// Both sides' rows by key until the watermark passes their last possible partner, with
/// an index of when they expire (see the [module docs](self)).
pub struct IntervalJoin<K: Key, L: Value, R: Value, B: StateBackend = MemoryBackend> {
    /// The greatest watermark `advance` processed (not saved: a restored operator
    /// processes its first advance in full).
    advanced: i64,
    kind: JoinKind,
    bounds: IntervalBounds,
    left_time: fn(&L) -> Option<i64>,
    right_time: fn(&R) -> Option<i64>,
    left: B::Map<K, Vec<Kept<L>>>,
    right: B::Map<K, Vec<Kept<R>>>,
    /// When the rows of a side and key may expire: the expiry index.
    expiry: TimerQueue<(Side, K)>,
    /// The greatest watermark seen.
    watermark: i64,
    /// Rows kept, over both sides.
    rows: usize,
}

impl<K: Key, L: Value, R: Value> IntervalJoin<K, L, R> {
    /// A join of `kind` within `bounds` of the times `left_time` and `right_time` read from
    /// the rows (`None`: NULL), with its state in memory.
    pub fn new(
        kind: JoinKind,
        bounds: IntervalBounds,
        left_time: fn(&L) -> Option<i64>,
        right_time: fn(&R) -> Option<i64>,
    ) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "interval-join", kind, bounds, left_time, right_time)
    }
}

impl<K: Key, L: Value, R: Value, B: StateBackend> IntervalJoin<K, L, R, B> {
    /// A join as [`new`](IntervalJoin::new) keeping its state in `backend` under `name`
    /// (the operator's id).
    pub fn in_backend(
        backend: &mut B,
        name: &str,
        kind: JoinKind,
        bounds: IntervalBounds,
        left_time: fn(&L) -> Option<i64>,
        right_time: fn(&R) -> Option<i64>,
    ) -> Self {
        IntervalJoin {
            kind,
            bounds,
            left_time,
            right_time,
            left: backend.map(&format!("{name}/left")),
            right: backend.map(&format!("{name}/right")),
            expiry: TimerQueue::new(),
            advanced: i64::MIN,
            watermark: i64::MIN,
            rows: 0,
        }
    }

    fn left_outer(&self) -> bool {
        matches!(self.kind, JoinKind::Left | JoinKind::Full)
    }

    fn right_outer(&self) -> bool {
        matches!(self.kind, JoinKind::Right | JoinKind::Full)
    }

    /// Takes `watermark` into account and returns `time` if a row at it is on time.
    fn on_time(&mut self, time: Option<i64>, watermark: i64) -> Option<i64> {
        self.watermark = self.watermark.max(watermark);
        time.filter(|t| *t > self.watermark)
    }

    /// A row of the left side with key `key` (`None`: a NULL key), arriving at input
    /// watermark `watermark` (the greatest watermark seen counts). Returns `Ok(false)`,
    /// emitting and keeping nothing, if its time is NULL or at or behind the watermark
    /// (late). Otherwise emits (`emit`, all `Insert`) its pairs with the kept right rows of
    /// its key within the bounds for which `cond` holds, and keeps it until no new partner
    /// can arrive; an unmatched row of an outer left side is emitted with NULLs then (at
    /// once for a NULL key, or when that time has come already).
    pub fn add_left<E>(
        &mut self,
        key: Option<K>,
        row: L,
        watermark: i64,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<bool, E> {
        let Some(time) = self.on_time((self.left_time)(&row), watermark) else {
            return Ok(false);
        };
        let outer = self.left_outer();
        let Some(key) = key else {
            if outer {
                emit(RowKind::Insert, Some(&row), None)?;
            }
            return Ok(true);
        };
        let (bounds, mark) = (self.bounds, self.right_outer());
        let matched = probe(
            &mut self.right,
            &key,
            mark,
            |r| bounds.contains(time, r.time) && cond(&row, &r.row),
            |r| emit(RowKind::Insert, Some(&row), Some(r)),
        )?;
        let expiry = bounds.left_expiry(time);
        if expiry <= self.watermark {
            if outer && !matched {
                emit(RowKind::Insert, Some(&row), None)?;
            }
            return Ok(true);
        }
        self.left.entry_or_insert_with(key.clone(), Vec::new).push(Kept { time, matched, row });
        self.expiry.register(expiry, (Side::Left, key));
        self.rows += 1;
        Ok(true)
    }

    /// A row of the right side: as [`add_left`](Self::add_left), the other way round.
    pub fn add_right<E>(
        &mut self,
        key: Option<K>,
        row: R,
        watermark: i64,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<bool, E> {
        let Some(time) = self.on_time((self.right_time)(&row), watermark) else {
            return Ok(false);
        };
        let outer = self.right_outer();
        let Some(key) = key else {
            if outer {
                emit(RowKind::Insert, None, Some(&row))?;
            }
            return Ok(true);
        };
        let (bounds, mark) = (self.bounds, self.left_outer());
        let matched = probe(
            &mut self.left,
            &key,
            mark,
            |l| bounds.contains(l.time, time) && cond(&l.row, &row),
            |l| emit(RowKind::Insert, Some(l), Some(&row)),
        )?;
        let expiry = bounds.right_expiry(time);
        if expiry <= self.watermark {
            if outer && !matched {
                emit(RowKind::Insert, None, Some(&row))?;
            }
            return Ok(true);
        }
        self.right.entry_or_insert_with(key.clone(), Vec::new).push(Kept { time, matched, row });
        self.expiry.register(expiry, (Side::Right, key));
        self.rows += 1;
        Ok(true)
    }

    /// Moves the watermark to `watermark` (if it is greater) and frees the rows that can
    /// meet no new row any more, emitting (`Insert`) those of an outer side that never
    /// matched with NULLs for the other side. `advance(i64::MAX, ..)` frees everything.
    #[inline]
    pub fn advance<E>(
        &mut self,
        watermark: i64,
        emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        // Called after every event: an unmoved watermark frees nothing (a row kept expires
        // after the watermark it arrived at), and stays inline in the caller.
        if watermark <= self.advanced {
            return Ok(());
        }
        self.advanced = watermark;
        self.free_expired(watermark, emit)
    }

    /// [`advance`](Self::advance) past the current watermark.
    #[inline(never)]
    fn free_expired<E>(
        &mut self,
        watermark: i64,
        mut emit: impl FnMut(RowKind, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.watermark = self.watermark.max(watermark);
        let (wm, bounds) = (self.watermark, self.bounds);
        let (left_outer, right_outer) = (self.left_outer(), self.right_outer());
        for (_, (side, key)) in self.expiry.pop_due(wm) {
            self.rows -= match side {
                Side::Left => free(
                    &mut self.left,
                    &key,
                    |t| bounds.left_expiry(t) <= wm,
                    left_outer,
                    |l| emit(RowKind::Insert, Some(l), None),
                )?,
                Side::Right => free(
                    &mut self.right,
                    &key,
                    |t| bounds.right_expiry(t) <= wm,
                    right_outer,
                    |r| emit(RowKind::Insert, None, Some(r)),
                )?,
            };
        }
        Ok(())
    }

    /// Rows kept over both sides (for metrics and tests).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The greatest watermark seen.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }
}

/// Emits (`emit`) the kept rows `others` of `key` that `joins` a new row, and with `mark`
/// flags those not flagged yet as matched (writing to the map only then, so that a
/// persistent backend rewrites nothing else). Returns whether any row joined.
fn probe<K, T, E>(
    others: &mut impl KeyedMap<K, Vec<Kept<T>>>,
    key: &K,
    mark: bool,
    joins: impl Fn(&Kept<T>) -> bool,
    mut emit: impl FnMut(&T) -> Result<(), E>,
) -> Result<bool, E> {
    let Some(rows) = others.get(key) else {
        return Ok(false);
    };
    let (mut any, mut unmarked) = (false, Vec::new());
    for (i, kept) in rows.iter().enumerate().filter(|(_, kept)| joins(kept)) {
        any = true;
        if mark && !kept.matched {
            unmarked.push(i);
        }
        emit(&kept.row)?;
    }
    if let (false, Some(rows)) = (unmarked.is_empty(), others.get_mut(key)) {
        unmarked.into_iter().for_each(|i| rows[i].matched = true);
    }
    Ok(any)
}

/// Removes the rows of `key` in `side` whose time is `expired`, and the key if none is
/// left; emits (`emit`) those that never matched if the side is `outer`. Returns how many
/// rows were removed.
fn free<K, T, E>(
    side: &mut impl KeyedMap<K, Vec<Kept<T>>>,
    key: &K,
    expired: impl Fn(i64) -> bool,
    outer: bool,
    mut emit: impl FnMut(&T) -> Result<(), E>,
) -> Result<usize, E> {
    // Rows of the key that expired together with others were freed by an earlier timer.
    if !side.get(key).is_some_and(|rows| rows.iter().any(|kept| expired(kept.time))) {
        return Ok(0);
    }
    let Some(rows) = side.get_mut(key) else {
        return Ok(0);
    };
    let (gone, left): (Vec<Kept<T>>, Vec<Kept<T>>) = std::mem::take(rows).into_iter().partition(|k| expired(k.time));
    *rows = left;
    if rows.is_empty() {
        side.remove(key);
    }
    for kept in gone.iter().filter(|kept| outer && !kept.matched) {
        emit(&kept.row)?;
    }
    Ok(gone.len())
}

impl<K: Key, L: Value, R: Value, B: StateBackend> Snapshot for IntervalJoin<K, L, R, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        encode(&(self.watermark, self.rows, &self.expiry), out)?;
        self.left.save(out)?;
        self.right.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        (self.watermark, self.rows, self.expiry) = decode(input)?;
        self.left.load(input)?;
        self.right.load(input)
    }
}

/// A worker restored at another parallelism takes the rows of the keys it owns, and their
/// expiries (rows with a NULL key are never kept).
impl<K: Key, L: Value, R: Value, B: StateBackend> Rescale<K> for IntervalJoin<K, L, R, B> {
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        let (watermark, _rows, expiry): (i64, usize, TimerQueue<(Side, K)>) = decode(input)?;
        self.watermark = self.watermark.max(watermark);
        for (ts, (side, key)) in expiry.iter() {
            if keep(key) {
                self.expiry.register(*ts, (*side, key.clone()));
            }
        }
        self.left.merge(input, keep)?;
        self.right.merge(input, keep)?;
        let left: usize = self.left.iter().map(|(_, rows)| rows.len()).sum();
        self.rows = left + self.right.iter().map(|(_, rows)| rows.len()).sum::<usize>();
        Ok(())
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
    /// A row as it arrives: (left side?, key (None: NULL), row).
    type Input = (bool, Option<u8>, Row);
    /// Joined rows by the ids of their sides.
    type Pairs = Vec<(Option<u32>, Option<u32>)>;
    type Join = IntervalJoin<u8, Row, Row>;

    const KINDS: [JoinKind; 4] = [JoinKind::Inner, JoinKind::Left, JoinKind::Right, JoinKind::Full];
    /// How far a row's time may be ahead of its place in the stream.
    const DISORDER: u64 = 8;
    /// How far the watermark trails the greatest time seen (less than the disorder: some
    /// rows are late).
    const LAG: i64 = 4;

    /// The rest of the ON condition.
    fn cond(l: &Row, r: &Row) -> bool {
        !(l.1 + r.1).is_multiple_of(3)
    }

    fn join(kind: JoinKind, bounds: IntervalBounds) -> Join {
        IntervalJoin::in_backend(&mut MemoryBackend::new(), "j", kind, bounds, |l| l.0, |r| r.0)
    }

    /// `n` random rows, about two per ms, times a little out of order; a few NULL keys
    /// and times.
    fn inputs(seed: u64, n: u32) -> Vec<Input> {
        let mut seed = seed;
        (0..n)
            .map(|i| {
                let left = next(&mut seed).is_multiple_of(2);
                let key = (!next(&mut seed).is_multiple_of(12)).then(|| (next(&mut seed) % 5) as u8);
                let time = (!next(&mut seed).is_multiple_of(25))
                    .then(|| i64::from(i / 2) + (next(&mut seed) % DISORDER) as i64);
                (left, key, (time, i))
            })
            .collect()
    }

    /// Collects emitted rows into `out`, checking that they are inserts.
    fn collect(out: &mut Pairs) -> impl FnMut(RowKind, Option<&Row>, Option<&Row>) -> Result<(), ()> + '_ {
        |kind, l, r| {
            assert_eq!(kind, RowKind::Insert);
            out.push((l.map(|l| l.1), r.map(|r| r.1)));
            Ok(())
        }
    }

    /// The interval join of the on-time rows `rows`: every matching pair once, and
    /// (outer sides) each row without a match once with NULLs; sorted.
    fn reference(rows: &[Input], kind: JoinKind, bounds: IntervalBounds) -> Pairs {
        let joins = |l: &Input, r: &Input| {
            l.1.is_some() && l.1 == r.1 && bounds.contains(l.2.0.unwrap(), r.2.0.unwrap()) && cond(&l.2, &r.2)
        };
        let (lefts, rights): (Vec<&Input>, Vec<&Input>) = rows.iter().partition(|r| r.0);
        let mut out = Pairs::new();
        for l in &lefts {
            out.extend(rights.iter().filter(|r| joins(l, r)).map(|r| (Some(l.2.1), Some(r.2.1))));
            if matches!(kind, JoinKind::Left | JoinKind::Full) && !rights.iter().any(|r| joins(l, r)) {
                out.push((Some(l.2.1), None));
            }
        }
        for r in &rights {
            if matches!(kind, JoinKind::Right | JoinKind::Full) && !lefts.iter().any(|l| joins(l, r)) {
                out.push((None, Some(r.2.1)));
            }
        }
        out.sort_unstable();
        out
    }

    /// The on-time rows of `rows` that the join must still keep at watermark `wm`.
    fn live(rows: &[Input], bounds: IntervalBounds, wm: i64) -> usize {
        let expiry = |&(left, _, (t, _)): &Input| {
            let t = t.unwrap();
            if left { bounds.left_expiry(t) } else { bounds.right_expiry(t) }
        };
        rows.iter().filter(|r| r.1.is_some() && expiry(r) > wm).count()
    }

    /// A join fed a stream with the watermark trailing the greatest time seen by [`LAG`].
    struct Run {
        join: Join,
        bounds: IntervalBounds,
        max: i64,
        on_time: Vec<Input>,
        late: usize,
        peak: usize,
        out: Pairs,
    }

    impl Run {
        fn new(kind: JoinKind, bounds: IntervalBounds) -> Self {
            Run { join: join(kind, bounds), bounds, max: i64::MIN, on_time: vec![], late: 0, peak: 0, out: vec![] }
        }

        /// Adds `input` at the current watermark, then advances the watermark past it,
        /// checking that exactly the rows that may still join are kept.
        fn feed(&mut self, input: Input) {
            let wm = self.max.saturating_sub(LAG);
            let (left, key, row) = input;
            let emit = collect(&mut self.out);
            let added = if left {
                self.join.add_left(key, row, wm, cond, emit)
            } else {
                self.join.add_right(key, row, wm, cond, emit)
            };
            assert_eq!(added, Ok(row.0.is_some_and(|t| t > wm)), "{input:?} at {wm}");
            if added == Ok(true) {
                self.on_time.push(input);
            } else {
                self.late += 1;
            }
            self.max = self.max.max(row.0.unwrap_or(i64::MIN));
            let wm = self.max.saturating_sub(LAG);
            self.join.advance(wm, collect(&mut self.out)).unwrap();
            assert_eq!(self.join.rows(), live(&self.on_time, self.bounds, wm), "at {wm}");
            self.peak = self.peak.max(self.join.rows());
        }

        /// Frees everything; returns the output, sorted.
        fn finish(mut self) -> Pairs {
            self.join.advance(i64::MAX, collect(&mut self.out)).unwrap();
            assert_eq!(self.join.rows(), 0);
            assert!(self.join.left.is_empty() && self.join.right.is_empty() && self.join.expiry.is_empty());
            self.out.sort_unstable();
            self.out
        }
    }

    const BOUNDS: [IntervalBounds; 4] = [
        IntervalBounds { lower: -3, upper: 5 },
        IntervalBounds { lower: 2, upper: 6 },
        IntervalBounds { lower: -6, upper: -1 },
        IntervalBounds { lower: 0, upper: 0 },
    ];

    /// For every kind and bounds (both signs, and rows that expire on arrival), the output
    /// is the interval join of the on-time rows, and state is freed as the watermark
    /// passes: the rows kept are exactly those that may still join, few at any time, and
    /// none at the end.
    #[test]
    fn emits_the_join_of_the_on_time_rows_and_frees_state_behind_the_watermark() {
        for bounds in BOUNDS {
            for kind in KINDS {
                let mut run = Run::new(kind, bounds);
                inputs(11, 2_000).into_iter().for_each(|input| run.feed(input));
                let (on_time, late, peak) = (run.on_time.clone(), run.late, run.peak);
                assert!(late > 100 && on_time.len() > 1_200, "late {late}, on time {}", on_time.len());
                assert!(peak > 5 && peak < 60, "{kind:?} {bounds:?}: at most {peak} rows kept");
                let expected = reference(&on_time, kind, bounds);
                let pairs = expected.iter().filter(|(l, r)| l.is_some() && r.is_some()).count();
                assert!(pairs > 40, "{kind:?} {bounds:?}: only {pairs} pairs");
                if kind != JoinKind::Inner {
                    assert!(expected.len() > pairs + 100, "{kind:?} {bounds:?}: few unmatched rows");
                }
                assert_eq!(run.finish(), expected, "{kind:?} {bounds:?}");
            }
        }
    }

    /// Saving mid-stream and loading into a new join, then going on, gives the same output
    /// as an uninterrupted run.
    #[test]
    fn a_snapshot_mid_stream_continues_to_the_same_result() {
        let bounds = IntervalBounds { lower: -3, upper: 5 };
        let rows = inputs(29, 1_500);
        for kind in KINDS {
            let mut whole = Run::new(kind, bounds);
            rows.iter().for_each(|input| whole.feed(*input));
            let mut run = Run::new(kind, bounds);
            rows[..700].iter().for_each(|input| run.feed(*input));
            let mut bytes = Vec::new();
            run.join.save(&mut bytes).unwrap();
            let kept = run.join.rows();
            assert!(kept > 0, "state to restore");
            run.join = join(kind, bounds);
            let mut input = bytes.as_slice();
            run.join.load(&mut input).unwrap();
            assert!(input.is_empty(), "{} bytes left", input.len());
            assert_eq!((run.join.rows(), run.join.watermark()), (kept, whole_watermark(&rows[..700])));
            rows[700..].iter().for_each(|input| run.feed(*input));
            let expected = reference(&whole.on_time, kind, bounds);
            assert_eq!(whole.finish(), expected, "{kind:?}");
            assert_eq!(run.finish(), expected, "{kind:?}");
        }
    }

    /// The watermark after `rows`: [`LAG`] behind their greatest time.
    fn whole_watermark(rows: &[Input]) -> i64 {
        rows.iter().filter_map(|r| r.2.0).max().unwrap() - LAG
    }

    /// Late rows and rows with a NULL time are dropped with nothing emitted; a row with a
    /// NULL key is not kept, and emitted with NULLs at once on an outer side only.
    #[test]
    fn late_rows_are_dropped_and_null_keys_kept_nowhere() {
        let bounds = IntervalBounds { lower: -5, upper: 5 };
        for kind in KINDS {
            let mut j = join(kind, bounds);
            let mut out = Pairs::new();
            assert_eq!(j.add_left(Some(1), (Some(10), 1), 0, cond, collect(&mut out)), Ok(true));
            assert_eq!(j.add_right(Some(1), (Some(10), 2), 10, cond, collect(&mut out)), Ok(false), "at the watermark");
            assert_eq!(j.add_right(Some(1), (None, 3), 0, cond, collect(&mut out)), Ok(false), "NULL time");
            assert_eq!(j.add_right(Some(1), (Some(9), 4), 0, cond, collect(&mut out)), Ok(false), "behind 10 seen");
            assert!(out.is_empty(), "{kind:?}: {out:?}");
            assert_eq!(j.add_left(None, (Some(11), 5), 0, cond, collect(&mut out)), Ok(true));
            assert_eq!(j.add_right(None, (Some(11), 6), 0, cond, collect(&mut out)), Ok(true));
            assert_eq!(j.rows(), 1, "{kind:?}");
            let mut nulls = Pairs::new();
            if matches!(kind, JoinKind::Left | JoinKind::Full) {
                nulls.push((Some(5), None));
            }
            if matches!(kind, JoinKind::Right | JoinKind::Full) {
                nulls.push((None, Some(6)));
            }
            assert_eq!(out, nulls, "{kind:?}");
        }
    }

    /// A row whose last possible partner is already at or behind the watermark joins the rows
    /// kept, is not kept itself, and on an outer side is emitted with NULLs at once if it
    /// found no partner.
    #[test]
    fn a_row_expired_on_arrival_joins_and_is_not_kept() {
        let bounds = IntervalBounds { lower: 2, upper: 6 };
        for kind in KINDS {
            let mut j = join(kind, bounds);
            let mut out = Pairs::new();
            assert_eq!(j.add_right(Some(1), (Some(5), 1), 0, cond, collect(&mut out)), Ok(true));
            assert_eq!(j.add_left(Some(1), (Some(8), 3), 6, cond, collect(&mut out)), Ok(true));
            assert_eq!(j.add_left(Some(2), (Some(8), 4), 6, cond, collect(&mut out)), Ok(true));
            assert_eq!(j.rows(), 1, "{kind:?}: only the right row is kept");
            let mut expected = vec![(Some(3), Some(1))];
            if matches!(kind, JoinKind::Left | JoinKind::Full) {
                expected.push((Some(4), None));
            }
            assert_eq!(out, expected, "{kind:?}");
        }
    }

    /// Rows split by key over 2 joins (workers), each checkpointed mid-stream, then merged
    /// into 3 taking their keys, which go on with the rest: together they emit the
    /// interval join of the on-time rows, each pair once, and free everything.
    #[test]
    fn workers_rescaled_mid_stream_emit_each_pair_once() {
        let bounds = IntervalBounds { lower: -3, upper: 5 };
        let rows = inputs(31, 1_500);
        for kind in KINDS {
            let (mut out, mut on_time, mut max) = (Pairs::new(), Vec::new(), i64::MIN);
            let mut feed = |joins: &mut Vec<Join>, rows: &[Input]| {
                let n = joins.len() as u8;
                for &(left, key, row) in rows {
                    let wm = max.saturating_sub(LAG);
                    let j = &mut joins[usize::from(key.unwrap_or_default() % n)];
                    let added = match left {
                        true => j.add_left(key, row, wm, cond, collect(&mut out)),
                        false => j.add_right(key, row, wm, cond, collect(&mut out)),
                    };
                    if added == Ok(true) {
                        on_time.push((left, key, row));
                    }
                    max = max.max(row.0.unwrap_or(i64::MIN));
                    for j in joins.iter_mut() {
                        j.advance(max.saturating_sub(LAG), collect(&mut out)).unwrap();
                    }
                }
            };
            let mut old: Vec<Join> = (0..2).map(|_| join(kind, bounds)).collect();
            feed(&mut old, &rows[..700]);
            let kept: usize = old.iter().map(Join::rows).sum();
            assert!(kept > 0, "state to move");
            let mut new =
                crate::checkpoint::rescaled(&mut old, 3, |_| join(kind, bounds), |w, k: &u8| usize::from(k % 3) == w);
            assert_eq!(new.iter().map(Join::rows).sum::<usize>(), kept, "every kept row in one worker");
            feed(&mut new, &rows[700..]);
            for j in &mut new {
                j.advance(i64::MAX, collect(&mut out)).unwrap();
                assert!(j.rows() == 0 && j.expiry.is_empty(), "{kind:?}: state left");
            }
            out.sort_unstable();
            assert_eq!(out, reference(&on_time, kind, bounds), "{kind:?}");
        }
    }
}
