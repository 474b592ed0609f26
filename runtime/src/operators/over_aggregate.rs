//! OVER aggregation (Flink's `OverAggregate`): `agg(x) OVER (PARTITION BY k ORDER BY t
//! ROWS|RANGE BETWEEN … PRECEDING AND CURRENT ROW)`. Every input row is emitted once, with
//! the aggregates of its frame: the rows of its partition up to it in time order (rows at
//! the same time in arrival order), as far back as the [`OverFrame`] says. The output only
//! appends.
//!
//! - `ROWS n PRECEDING`: the row and the `n` rows before it.
//! - `RANGE interval PRECEDING`: the rows with a time in `[t - interval, t]` for a row at
//!   `t`, including every row at `t` (its peers, added together and each emitted with the
//!   same aggregates).
//!
//! By event time ([`OverAggregate::add`], [`OverAggregate::advance`]) rows wait until the
//! watermark passes their time, and are then processed in time order per partition; a row
//! at or behind the watermark is late and dropped, as in Flink. By processing time
//! ([`OverAggregate::add_now`]) a row is processed as it arrives.
//!
//! Rows enter and leave the accumulators through the caller's `update(acc, row, retract)`,
//! so the accumulators of a bounded frame must retract (e.g. [`crate::agg::MaxRetract`]).
//!
//! ```
//! use dfl::agg::{Accumulator, Sum};
//! use dfl::operators::over_aggregate::{OverAggregate, OverFrame};
//! // SUM(x) OVER (PARTITION BY k ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW),
//! // rows (t, x).
//! type Row = (i64, i64);
//! let mut op: OverAggregate<char, Row, Sum<i64>> = OverAggregate::new(OverFrame::Rows(1), Sum::default);
//! for (k, t, x) in [('a', 3, 30), ('a', 1, 10), ('b', 2, 5), ('a', 2, 20)] {
//!     assert!(op.add(k, t, (t, x)));
//! }
//! let update = |acc: &mut Sum<i64>, row: &Row, retract: bool| {
//!     if retract {
//!         acc.retract(Some(row.1));
//!     } else {
//!         acc.add(Some(row.1));
//!     }
//! };
//! let mut out = Vec::new();
//! op.advance::<()>(2, update, |row, acc| {
//!     out.push((row.0, acc.result()));
//!     Ok(())
//! })
//! .unwrap();
//! assert_eq!(out, [(1, Some(10)), (2, Some(30)), (2, Some(5))]);
//! assert!(!op.add('a', 2, (2, 1)), "late: the watermark is at 2");
//! op.advance::<()>(i64::MAX, update, |row, acc| {
//!     out.push((row.0, acc.result()));
//!     Ok(())
//! })
//! .unwrap();
//! assert_eq!(out[3], (3, Some(50)), "20 + 30: the row at 1 has left the frame");
//! ```
//!
//! # State
//!
//! In the operator's [`StateBackend`], under its `name`:
//!
//! - `name`: per partition key, the accumulators of the frame of the last row processed,
//!   and the rows in them, oldest first with their times, to retract each when it leaves
//!   the frame of a later row: the last `n` rows for `ROWS n`; for `RANGE`, after the rows
//!   at `t`, those later than `t - interval` by event time (by processing time more rows
//!   at `t` may follow, so those at `t - interval` stay until a later time comes). UNBOUNDED
//!   frames keep no rows, only the accumulators. A partition whose accumulators hold no
//!   row is removed (an UNBOUNDED frame's stays until the state TTL forgets it).
//! - `name/buffer` (event time): per partition key and time, the rows at that time waiting
//!   for the watermark, in arrival order.
//!
//! The operator holds, in memory and in its snapshot, an index of the buffered rows: a
//! [`TimerQueue`] of `(time, partition key)`, one timer per buffer entry, so that a
//! watermark visits only the rows it makes due, in time order. The snapshot also holds the
//! watermark, the latest processing time seen and the number of buffered rows.

use crate::checkpoint::{Snapshot, decode, encode};
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TimerQueue, TtlClock, Value};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The frame of an OVER aggregation: which rows before the current one (in time order,
/// within its partition) its aggregates cover besides the row itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverFrame {
    /// `ROWS BETWEEN n PRECEDING AND CURRENT ROW`: the `n` rows before the row;
    /// `u64::MAX` for `UNBOUNDED PRECEDING`.
    Rows(u64),
    /// `RANGE BETWEEN INTERVAL … PRECEDING AND CURRENT ROW`: the rows at most this many
    /// milliseconds before the row's time, and its peers (rows at the same time);
    /// `i64::MAX` for `UNBOUNDED PRECEDING`. A negative interval counts as 0.
    Range(i64),
}

impl OverFrame {
    /// Whether the frame reaches back to the partition's first row: no row ever leaves it.
    fn unbounded(self) -> bool {
        matches!(self, OverFrame::Rows(u64::MAX) | OverFrame::Range(i64::MAX))
    }
}

/// The state of one partition (see the [module docs](self)).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Partition<A, R> {
    /// The accumulators of the rows in the frame of the last row processed.
    acc: A,
    /// The rows in `acc`, oldest first, with their times (none for UNBOUNDED frames).
    kept: VecDeque<(i64, R)>,
}

impl<A, R> Partition<A, R> {
    /// Retracts the oldest kept row.
    fn retract_oldest(&mut self, update: &mut impl FnMut(&mut A, &R, bool)) {
        if let Some((_, row)) = self.kept.pop_front() {
            update(&mut self.acc, &row, true);
        }
    }

    /// Retracts the oldest kept rows as long as `leaves` holds of their time.
    fn retract_while(&mut self, leaves: impl Fn(i64) -> bool, update: &mut impl FnMut(&mut A, &R, bool)) {
        while let Some((time, row)) = self.kept.pop_front() {
            if !leaves(time) {
                self.kept.push_front((time, row));
                return;
            }
            update(&mut self.acc, &row, true);
        }
    }

    /// `ROWS n PRECEDING`: adds each of `rows` (at `time`), emits it with the accumulators,
    /// and retracts the row that leaves the frame of the next.
    fn rows_frame<E>(
        &mut self,
        n: u64,
        time: i64,
        rows: impl IntoIterator<Item = R>,
        update: &mut impl FnMut(&mut A, &R, bool),
        emit: &mut impl FnMut(&R, &A) -> Result<(), E>,
    ) -> Result<(), E> {
        for row in rows {
            update(&mut self.acc, &row, false);
            emit(&row, &self.acc)?;
            if n == u64::MAX {
                continue;
            }
            self.kept.push_back((time, row));
            if self.kept.len() as u64 > n {
                self.retract_oldest(update);
            }
        }
        Ok(())
    }

    /// `RANGE interval PRECEDING`: retracts the kept rows before `time - interval`, adds
    /// all of `rows` (peers at `time`), then emits each with the same accumulators. When
    /// `closed` (event time: no more rows at `time` can come), the rows no later frame
    /// covers (at or before `time - interval`) are retracted at once.
    fn range_frame<E>(
        &mut self,
        interval: i64,
        time: i64,
        rows: impl IntoIterator<Item = R>,
        closed: bool,
        update: &mut impl FnMut(&mut A, &R, bool),
        emit: &mut impl FnMut(&R, &A) -> Result<(), E>,
    ) -> Result<(), E> {
        let bounded = interval != i64::MAX;
        let start = i128::from(time) - i128::from(interval.max(0));
        if bounded {
            self.retract_while(|t| i128::from(t) < start, update);
        }
        let first = self.kept.len();
        self.kept.extend(rows.into_iter().map(|row| (time, row)));
        for (_, row) in self.kept.range(first..) {
            update(&mut self.acc, row, false);
        }
        let emitted = self.kept.range(first..).try_for_each(|(_, row)| emit(row, &self.acc));
        if !bounded {
            self.kept.clear();
        } else if closed {
            self.retract_while(|t| i128::from(t) <= start, update);
        }
        emitted
    }
}

/// OVER aggregation of rows `R` partitioned by `K` with accumulators `A`, its state in a
/// [`StateBackend`] (see the [module docs](self)).
///
/// An operator works by event time ([`add`](Self::add) and [`advance`](Self::advance)) or
/// by processing time ([`add_now`](Self::add_now)), not both. If `emit` fails, the
/// operator is left part way through and must be restored from a checkpoint.
pub struct OverAggregate<K: Key, R: Value, A: Value, B: StateBackend = MemoryBackend> {
    /// The greatest watermark `advance` processed (not saved: a restored operator
    /// processes its first advance in full).
    advanced: i64,
    frame: OverFrame,
    /// A fresh accumulator tuple.
    make: fn() -> A,
    /// Per partition key, its frame's accumulators and rows.
    parts: B::Map<K, Partition<A, R>>,
    /// Per partition key and time, the rows waiting for the watermark.
    buffer: B::Map<(K, i64), Vec<R>>,
    /// A timer per entry of `buffer`, at its time.
    timers: TimerQueue<K>,
    /// Rows in `buffer`.
    buffered: usize,
    /// The greatest watermark seen.
    watermark: i64,
    /// The greatest processing time seen.
    now: i64,
    ttl: Option<TtlClock>,
}

impl<K: Key, R: Value, A: Value> OverAggregate<K, R, A> {
    /// An aggregation over `frame` with its state in memory; `make` creates an accumulator
    /// tuple.
    pub fn new(frame: OverFrame, make: fn() -> A) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "over", frame, make)
    }
}

impl<K: Key, R: Value, A: Value, B: StateBackend> OverAggregate<K, R, A, B> {
    /// An aggregation over `frame` keeping its state in `backend` under `name` (the
    /// operator's id) and `name/buffer`; `make` creates an accumulator tuple.
    pub fn in_backend(backend: &mut B, name: &str, frame: OverFrame, make: fn() -> A) -> Self {
        OverAggregate {
            frame,
            make,
            parts: backend.map(name),
            buffer: backend.map(&format!("{name}/buffer")),
            timers: TimerQueue::new(),
            buffered: 0,
            advanced: i64::MIN,
            watermark: i64::MIN,
            now: i64::MIN,
            ttl: None,
        }
    }

    /// Forgets partitions (their accumulators and kept rows) not written for `ttl_ms`
    /// (none: `None` or 0), by processing time from `clock`: a forgotten partition's next
    /// row starts from an empty frame. Rows waiting for the watermark are not forgotten.
    pub fn with_ttl(mut self, ttl_ms: Option<i64>, clock: fn() -> i64) -> Self {
        self.ttl = TtlClock::new(ttl_ms, clock);
        self
    }

    /// Event time: buffers `row` of partition `key` at `time` (ms) until the watermark
    /// passes `time`. Returns false, keeping nothing, if `time` is at or behind the
    /// watermark (late).
    pub fn add(&mut self, key: K, time: i64, row: R) -> bool {
        if time <= self.watermark {
            return false;
        }
        self.tick();
        let slot = (key, time);
        if let Some(rows) = self.buffer.get_mut(&slot) {
            rows.push(row);
        } else {
            self.timers.register(time, slot.0.clone());
            self.buffer.insert(slot, vec![row]);
        }
        self.buffered += 1;
        true
    }

    /// Moves the watermark to `watermark` (if it is greater) and processes, in time order
    /// per partition, every buffered row at or before it: `update(acc, row, false)` adds a
    /// row to its partition's accumulators, `update(acc, old, true)` retracts a row that
    /// has left the frame, and `emit(row, acc)` receives each row with the accumulators of
    /// its frame. `advance(i64::MAX, ..)` processes every buffered row.
    #[inline]
    pub fn advance<E>(
        &mut self,
        watermark: i64,
        update: impl FnMut(&mut A, &R, bool),
        emit: impl FnMut(&R, &A) -> Result<(), E>,
    ) -> Result<(), E> {
        // Called after every event: an unmoved watermark has no row due (a row buffered
        // is after the watermark it arrived at), and stays inline in the caller.
        if watermark <= self.advanced {
            return Ok(());
        }
        self.advanced = watermark;
        self.process_due(watermark, update, emit)
    }

    /// [`advance`](Self::advance) past the current watermark.
    #[inline(never)]
    fn process_due<E>(
        &mut self,
        watermark: i64,
        mut update: impl FnMut(&mut A, &R, bool),
        mut emit: impl FnMut(&R, &A) -> Result<(), E>,
    ) -> Result<(), E> {
        self.watermark = self.watermark.max(watermark);
        for (time, key) in self.timers.pop_due(self.watermark) {
            let slot = (key, time);
            let Some(rows) = self.buffer.remove(&slot) else {
                continue;
            };
            self.buffered -= rows.len();
            self.process(slot.0, time, rows, true, &mut update, &mut emit)?;
        }
        Ok(())
    }

    /// Processing time: processes `row` of partition `key` at once, at processing time
    /// `time` (ms), as [`advance`](Self::advance) does. Processing time never goes back: a
    /// `time` before the latest seen counts as the latest. A RANGE frame holds the rows of
    /// the row's own millisecond that arrived before it, not those arriving after it (its
    /// result cannot wait for them), where Flink waits for the millisecond to end.
    pub fn add_now<E>(
        &mut self,
        key: K,
        time: i64,
        row: R,
        mut update: impl FnMut(&mut A, &R, bool),
        mut emit: impl FnMut(&R, &A) -> Result<(), E>,
    ) -> Result<(), E> {
        self.tick();
        self.now = self.now.max(time);
        self.process(key, self.now, std::iter::once(row), false, &mut update, &mut emit)
    }

    /// Counts a message for the state TTL.
    fn tick(&mut self) {
        if let Some(ttl) = &mut self.ttl {
            ttl.tick(&mut self.parts);
        }
    }

    /// Processes `rows` of partition `key` at `time` (all of that time if `closed`),
    /// removing the partition if its frame is left without rows.
    fn process<E>(
        &mut self,
        key: K,
        time: i64,
        rows: impl IntoIterator<Item = R>,
        closed: bool,
        update: &mut impl FnMut(&mut A, &R, bool),
        emit: &mut impl FnMut(&R, &A) -> Result<(), E>,
    ) -> Result<(), E> {
        let make = self.make;
        let part = self.parts.entry_or_insert_with(key.clone(), || Partition { acc: make(), kept: VecDeque::new() });
        let result = match self.frame {
            OverFrame::Rows(n) => part.rows_frame(n, time, rows, update, emit),
            OverFrame::Range(interval) => part.range_frame(interval, time, rows, closed, update, emit),
        };
        if part.kept.is_empty() && !self.frame.unbounded() {
            self.parts.remove(&key);
        }
        result
    }

    /// The number of partitions with state (for metrics and tests).
    pub fn partitions(&self) -> usize {
        self.parts.len()
    }

    /// The number of rows waiting for the watermark.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// The greatest watermark seen.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }
}

impl<K: Key, R: Value, A: Value, B: StateBackend> Snapshot for OverAggregate<K, R, A, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        encode(&(self.watermark, self.now, self.buffered, &self.timers), out)?;
        self.parts.save(out)?;
        self.buffer.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        (self.watermark, self.now, self.buffered, self.timers) = decode(input)?;
        self.parts.load(input)?;
        self.buffer.load(input)
    }
}

impl<K: Key, R: Value, A: Value, B: StateBackend> crate::checkpoint::Rescale<K> for OverAggregate<K, R, A, B> {
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        let (watermark, now, _buffered, timers): (i64, i64, usize, TimerQueue<K>) = decode(input)?;
        self.watermark = self.watermark.max(watermark);
        self.now = self.now.max(now);
        for (ts, k) in timers.iter().filter(|(_, k)| keep(k)) {
            self.timers.register(*ts, k.clone());
        }
        self.parts.merge(input, keep)?;
        self.buffer.merge(input, &|(k, _): &(K, i64)| keep(k))?;
        // The rows waiting for the watermark (a RocksDB backend reads them into its cache
        // once: they are few, those of the watermark's delay).
        self.buffered = self.buffer.iter().map(|(_, rows)| rows.len()).sum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::OverFrame::{Range, Rows};
    use super::*;
    use crate::agg::{Accumulator, Count, MaxRetract, Sum};
    use std::collections::BTreeMap;

    /// The next number of a seeded linear congruential generator (its high bits).
    fn next(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// A row: (arrival number, partition, time, x (None: NULL)).
    type Row = (u32, u8, i64, Option<i64>);
    /// COUNT(*), SUM(x) and MAX(x).
    type Acc = (Count, Sum<i64>, MaxRetract<i64>);
    /// Their results.
    type Aggs = (Option<i64>, Option<i64>, Option<i64>);
    type Op = OverAggregate<u8, Row, Acc>;
    /// Rows emitted, in order, with the aggregates of their frames.
    type Out = Vec<(Row, Aggs)>;

    const FRAMES: [OverFrame; 6] = [Rows(0), Rows(2), Rows(u64::MAX), Range(0), Range(5), Range(i64::MAX)];
    const PARTITIONS: u64 = 5;
    /// How far a row's time may be ahead of its place in the stream.
    const DISORDER: u64 = 6;
    /// How far the watermark trails the greatest time seen (less than the disorder: some
    /// rows are late).
    const LAG: i64 = 3;

    fn make() -> Acc {
        Acc::default()
    }

    fn update(acc: &mut Acc, row: &Row, retract: bool) {
        if retract {
            assert!(acc.0.retract(true) && acc.1.retract(row.3) && acc.2.retract(row.3));
        } else {
            acc.0.add(true);
            acc.1.add(row.3);
            acc.2.add(row.3);
        }
    }

    /// Collects emitted rows into `out`.
    fn collect(out: &mut Out) -> impl FnMut(&Row, &Acc) -> Result<(), ()> + '_ {
        |row, acc| {
            out.push((*row, (acc.0.result(), acc.1.result(), acc.2.result())));
            Ok(())
        }
    }

    /// `n` random rows, about two per ms; with `disorder`, times a little out of order
    /// (else in arrival order, several per ms).
    fn inputs(seed: u64, n: u32, disorder: bool) -> Vec<Row> {
        let mut seed = seed;
        (0..n)
            .map(|i| {
                let key = (next(&mut seed) % PARTITIONS) as u8;
                let ahead = if disorder { next(&mut seed) % DISORDER } else { 0 };
                let x = (!next(&mut seed).is_multiple_of(10)).then(|| (next(&mut seed) % 20) as i64 - 5);
                (i, key, i64::from(i / 2) + ahead as i64, x)
            })
            .collect()
    }

    /// The aggregates of each row's frame by arrival number, recomputed from the rows of
    /// its partition sorted by (time, arrival). With `peers`, a RANGE frame holds every row
    /// at the row's time; without (processing time), those that arrived up to it.
    fn reference(rows: &[Row], frame: OverFrame, peers: bool) -> BTreeMap<u32, Aggs> {
        let mut parts: BTreeMap<u8, Vec<Row>> = BTreeMap::new();
        for row in rows {
            parts.entry(row.1).or_default().push(*row);
        }
        let mut out = BTreeMap::new();
        for part in parts.values_mut() {
            part.sort_by_key(|r| (r.2, r.0));
            for (i, row) in part.iter().enumerate() {
                let in_frame = |j: usize, r: &Row| match frame {
                    Rows(n) => j <= i && (i - j) as u64 <= n,
                    Range(d) => r.2 <= row.2 && (d == i64::MAX || r.2 >= row.2 - d) && (peers || j <= i),
                };
                let xs: Vec<Option<i64>> =
                    part.iter().enumerate().filter(|(j, r)| in_frame(*j, r)).map(|(_, r)| r.3).collect();
                let values: Vec<i64> = xs.iter().flatten().copied().collect();
                let sum = (!values.is_empty()).then(|| values.iter().sum());
                out.insert(row.0, (Some(xs.len() as i64), sum, values.iter().max().copied()));
            }
        }
        out
    }

    /// A new operator restored from a snapshot of `op`.
    fn restored(op: &mut Op, frame: OverFrame) -> Op {
        let mut bytes = Vec::new();
        op.save(&mut bytes).unwrap();
        let mut restored = Op::new(frame, make);
        let mut input = bytes.as_slice();
        restored.load(&mut input).unwrap();
        assert!(input.is_empty());
        restored
    }

    /// Checks that every partition keeps only the rows later frames need: at most `n` for
    /// `ROWS n`, those within the interval for `RANGE` (the last time's peers too by
    /// processing time, not `closed`), none for UNBOUNDED frames; and that a partition
    /// without kept rows is gone (unless UNBOUNDED).
    fn check_state(op: &mut Op, frame: OverFrame, closed: bool) {
        assert!(op.partitions() as u64 <= PARTITIONS);
        let reach = if closed { 0 } else { 1 };
        for (_, part) in op.parts.iter() {
            let kept = &part.kept;
            let span = kept.back().zip(kept.front()).map(|(last, first)| last.0 - first.0);
            match frame {
                Rows(u64::MAX) | Range(i64::MAX) => assert!(kept.is_empty(), "{frame:?}"),
                Rows(n) => assert!(!kept.is_empty() && kept.len() as u64 <= n, "{frame:?}: {}", kept.len()),
                Range(d) => assert!(span.is_some_and(|span| span < d + reach), "{frame:?}: span {span:?}"),
            }
        }
    }

    /// Feeds `rows` by event time, with a watermark `LAG` behind the greatest time seen
    /// advanced every third row, and a checkpoint and restore into a new operator before
    /// row `restore_at`. Returns the output and the rows that were on time.
    fn run_event_time(frame: OverFrame, rows: &[Row], restore_at: Option<usize>) -> (Out, Vec<Row>) {
        let mut op = Op::new(frame, make);
        let (mut out, mut on_time) = (Vec::new(), Vec::new());
        let (mut watermark, mut max_time) = (i64::MIN, i64::MIN);
        for (i, row) in rows.iter().enumerate() {
            if restore_at == Some(i) {
                op = restored(&mut op, frame);
            }
            let late = row.2 <= watermark;
            assert_eq!(op.add(row.1, row.2, *row), !late, "row {row:?} at watermark {watermark}");
            if !late {
                on_time.push(*row);
            }
            max_time = max_time.max(row.2);
            if i % 3 == 2 {
                watermark = watermark.max(max_time - LAG);
                op.advance(watermark, update, collect(&mut out)).unwrap();
                check_state(&mut op, frame, true);
            }
        }
        op.advance(i64::MAX, update, collect(&mut out)).unwrap();
        check_state(&mut op, frame, true);
        assert_eq!(op.buffered(), 0);
        assert!(op.buffer.is_empty() && op.timers.is_empty());
        (out, on_time)
    }

    /// Checks that every row of `on_time` was emitted once, in time order per partition,
    /// with the aggregates of its frame.
    fn check_output(out: &Out, on_time: &[Row], frame: OverFrame, peers: bool) {
        let mut last: BTreeMap<u8, (i64, u32)> = BTreeMap::new();
        for (row, _) in out {
            let order = (row.2, row.0);
            assert!(last.insert(row.1, order).is_none_or(|before| before < order), "{frame:?}: {row:?} out of order");
        }
        let emitted: BTreeMap<u32, Aggs> = out.iter().map(|(row, aggs)| (row.0, *aggs)).collect();
        assert_eq!(emitted.len(), out.len(), "{frame:?}: a row emitted twice");
        assert_eq!(emitted, reference(on_time, frame, peers), "{frame:?}");
    }

    #[test]
    fn every_on_time_row_is_emitted_once_with_the_aggregates_of_its_frame() {
        for (seed, frame) in FRAMES.into_iter().enumerate() {
            let rows = inputs(seed as u64 + 1, 1_500, true);
            let (out, on_time) = run_event_time(frame, &rows, None);
            let late = rows.len() - on_time.len();
            assert!(late > 20 && late < rows.len() / 4, "{frame:?}: {late} late rows");
            check_output(&out, &on_time, frame, true);
        }
    }

    #[test]
    fn a_restore_mid_stream_gives_the_same_output() {
        for (seed, frame) in FRAMES.into_iter().enumerate() {
            let rows = inputs(seed as u64 + 40, 1_000, true);
            let (straight, _) = run_event_time(frame, &rows, None);
            for restore_at in [1, 500, 998] {
                let (restored, _) = run_event_time(frame, &rows, Some(restore_at));
                assert_eq!(restored, straight, "{frame:?}, restored before row {restore_at}");
            }
        }
    }

    #[test]
    fn processing_time_rows_are_emitted_at_once_with_the_rows_up_to_them() {
        for (seed, frame) in FRAMES.into_iter().enumerate() {
            let rows = inputs(seed as u64 + 80, 1_500, false);
            let mut op = Op::new(frame, make);
            let mut out = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                if i == 700 {
                    op = restored(&mut op, frame);
                }
                let before = out.len();
                op.add_now(row.1, row.2, *row, update, collect(&mut out)).unwrap();
                assert_eq!(out.len(), before + 1);
                check_state(&mut op, frame, false);
            }
            check_output(&out, &rows, frame, false);
        }
    }

    #[test]
    fn processing_time_that_goes_back_counts_as_the_latest() {
        let mut op = Op::new(Range(5), make);
        let mut out = Vec::new();
        for (id, key, time) in [(0, 0, 10), (1, 1, 3), (2, 1, 10)] {
            op.add_now(key, time, (id, key, time, Some(1)), update, collect(&mut out)).unwrap();
        }
        let counts: Vec<Option<i64>> = out.iter().map(|(_, aggs)| aggs.0).collect();
        assert_eq!(counts, [Some(1), Some(1), Some(2)], "the row at 3 counts as at 10, in the frame of the next");
    }

    #[test]
    fn partitions_not_written_for_the_ttl_are_forgotten() {
        use std::sync::atomic::{AtomicI64, Ordering};
        static NOW: AtomicI64 = AtomicI64::new(0);
        let mut op = Op::new(Rows(u64::MAX), make).with_ttl(Some(10_000), || NOW.load(Ordering::Relaxed));
        let mut out = Vec::new();
        op.add_now(1, 0, (0, 1, 0, Some(4)), update, collect(&mut out)).unwrap();
        // TTL_CLOCK_EVERY more rows of partition 2 at 20 s: the last reads the clock again
        // and partition 1 (written at 0 s) is forgotten.
        NOW.store(20_000, Ordering::Relaxed);
        for i in 0..crate::state::TTL_CLOCK_EVERY {
            op.add_now(2, 20_000, (i + 1, 2, 20_000, Some(1)), update, collect(&mut out)).unwrap();
        }
        assert_eq!(op.partitions(), 1);
        op.add_now(1, 20_001, (9_999, 1, 20_001, Some(7)), update, collect(&mut out)).unwrap();
        assert_eq!(out.last().map(|(_, aggs)| *aggs), Some((Some(1), Some(7), Some(7))), "partition 1 starts again");
    }
}
