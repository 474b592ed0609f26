//! Window join: two inputs windowed alike (each row carries its window's start and end),
//! joined per window on an equality key. Rows wait in their window until the watermark
//! passes its last millisecond; then every pair of the window with equal keys that
//! satisfies the rest of the ON condition is emitted — and, for outer joins, each row
//! without a partner, padded with NULLs — and the window's state is freed, as Flink's
//! window join does.
//!
//! ```
//! use dfl::operators::window_join::{JoinKind, WindowJoin};
//! use dfl::time::Window;
//! let mut op: WindowJoin<u8, String, String> = WindowJoin::new(JoinKind::Left);
//! let w = Window::new(0, 10);
//! assert!(op.add_left(w, Some(1), "l1".to_string()));
//! assert!(op.add_left(w, Some(2), "l2".to_string()));
//! assert!(op.add_right(w, Some(1), "r1".to_string()));
//! let mut out = Vec::new();
//! op.advance::<()>(9, |_, _| true, |_, l, r| { out.push((l.cloned(), r.cloned())); Ok(()) }).unwrap();
//! out.sort();
//! assert_eq!(out, vec![(Some("l1".to_string()), Some("r1".to_string())), (Some("l2".to_string()), None)]);
//! assert!(!op.add_left(w, Some(1), "late".to_string()), "the window has fired");
//! ```

use crate::checkpoint::{Rescale, Snapshot, decode, encode};
use crate::state::{Key, MemoryBackend, PartitionedMap, StateBackend, Value};
use crate::time::Window;

/// Which rows without a partner a join keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Only pairs.
    Inner,
    /// Pairs, and left rows without a partner.
    Left,
    /// Pairs, and right rows without a partner.
    Right,
    /// Pairs, and rows of either side without a partner.
    Full,
}

impl JoinKind {
    fn keeps_left(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }

    fn keeps_right(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }
}

/// The rows of one key in one window: the left side's and the right side's.
type Rows<L, R> = (Vec<L>, Vec<R>);

/// Rows of both sides per (window, key), joined when the watermark passes the window.
/// The state is partitioned by window in its [`StateBackend`]; rows whose key has a NULL
/// (which equal nothing, but outer joins still emit them) are kept under the key `None`.
pub struct WindowJoin<K: Key, L: Value, R: Value, B: StateBackend = MemoryBackend> {
    kind: JoinKind,
    /// Both sides' rows by window (end, start) and key.
    state: B::Partitioned<(i64, i64), Option<K>, Rows<L, R>>,
    watermark: i64,
    rows: usize,
    /// Whether a restore at another parallelism keeps the rows of NULL keys here (exactly
    /// one worker of a task does: [`owns_nulls`](Self::owns_nulls)).
    nulls: bool,
}

impl<K: Key, L: Value, R: Value> WindowJoin<K, L, R> {
    /// A join of `kind` with in-memory state.
    pub fn new(kind: JoinKind) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "window-join", kind)
    }
}

impl<K: Key, L: Value, R: Value, B: StateBackend> WindowJoin<K, L, R, B> {
    /// A join of `kind` keeping its state in `backend` under `name` (the operator's id).
    pub fn in_backend(backend: &mut B, name: &str, kind: JoinKind) -> Self {
        WindowJoin { kind, state: backend.partitioned(name), watermark: i64::MIN, rows: 0, nulls: true }
    }

    /// Sets whether this worker of a task run N-wide is the one that takes the rows kept
    /// under NULL keys (which join nothing, but an outer join emits once) when a checkpoint
    /// of another parallelism is restored. Every worker but one must say no.
    pub fn owns_nulls(&mut self, owns: bool) {
        self.nulls = owns;
    }

    fn entry(&mut self, w: Window, key: Option<K>) -> Option<&mut Rows<L, R>> {
        if w.end - 1 <= self.watermark {
            return None;
        }
        self.rows += 1;
        Some(self.state.entry_or_insert_with(&(w.end, w.start), key, || (Vec::new(), Vec::new())))
    }

    /// Adds a left row of window `w` with equality key `key` (`None`: a key column is
    /// NULL). Returns false, keeping nothing, when `w` has fired already (the row is late).
    pub fn add_left(&mut self, w: Window, key: Option<K>, row: L) -> bool {
        self.entry(w, key).map(|e| e.0.push(row)).is_some()
    }

    /// Adds a right row; see [`WindowJoin::add_left`].
    pub fn add_right(&mut self, w: Window, key: Option<K>, row: R) -> bool {
        self.entry(w, key).map(|e| e.1.push(row)).is_some()
    }

    /// Moves the watermark to `watermark` (ms) and joins, in window order, every window
    /// whose last millisecond it has passed: `emit(window, left, right)` receives each pair
    /// with equal keys for which `condition` (the rest of the ON clause) holds, and per the
    /// join kind the rows without a partner (the other side `None`). Their state is freed.
    #[inline]
    pub fn advance<E>(
        &mut self,
        watermark: i64,
        condition: impl Fn(&L, &R) -> bool,
        emit: impl FnMut(Window, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        // Called after every row: an unmoved watermark stays inline in the caller.
        if watermark <= self.watermark {
            return Ok(());
        }
        self.fire(watermark, condition, emit)
    }

    /// [`advance`](Self::advance) past the current watermark.
    #[inline(never)]
    fn fire<E>(
        &mut self,
        watermark: i64,
        condition: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(Window, Option<&L>, Option<&R>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.watermark = watermark;
        while let Some(&(end, start)) = self.state.first_partition() {
            if end - 1 > watermark {
                break;
            }
            let w = Window::new(start, end);
            for (key, (ls, rs)) in self.state.remove_partition(&(end, start)) {
                self.rows -= ls.len() + rs.len();
                if key.is_none() {
                    // A NULL key equals nothing.
                    if self.kind.keeps_left() {
                        ls.iter().try_for_each(|l| emit(w, Some(l), None))?;
                    }
                    if self.kind.keeps_right() {
                        rs.iter().try_for_each(|r| emit(w, None, Some(r)))?;
                    }
                    continue;
                }
                let mut right_matched = vec![false; if self.kind.keeps_right() { rs.len() } else { 0 }];
                for l in &ls {
                    let mut matched = false;
                    for (i, r) in rs.iter().enumerate() {
                        if condition(l, r) {
                            matched = true;
                            if let Some(m) = right_matched.get_mut(i) {
                                *m = true;
                            }
                            emit(w, Some(l), Some(r))?;
                        }
                    }
                    if !matched && self.kind.keeps_left() {
                        emit(w, Some(l), None)?;
                    }
                }
                for (r, m) in rs.iter().zip(&right_matched) {
                    if !m {
                        emit(w, None, Some(r))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Rows held (for metrics and tests).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The current watermark.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }
}

impl<K: Key, L: Value, R: Value, B: StateBackend> Snapshot for WindowJoin<K, L, R, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        encode(&(self.watermark, self.rows), out)?;
        self.state.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        (self.watermark, self.rows) = decode(input)?;
        self.state.load(input)
    }
}

/// A worker restored at another parallelism takes the keys it owns; the rows kept under a
/// NULL key go to the worker that [`owns_nulls`](WindowJoin::owns_nulls). The rows held are
/// counted again (the open windows' state, once per snapshot merged).
impl<K: Key, L: Value, R: Value, B: StateBackend> Rescale<K> for WindowJoin<K, L, R, B> {
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        let (watermark, _rows): (i64, usize) = decode(input)?;
        self.watermark = self.watermark.max(watermark);
        let nulls = self.nulls;
        self.state.merge(input, &|k: &Option<K>| k.as_ref().map_or(nulls, keep))?;
        let windows: Vec<(i64, i64)> = self.state.partitions(..).into_iter().copied().collect();
        self.rows =
            windows.iter().map(|w| self.state.partition(w).map(|(_, (l, r))| l.len() + r.len()).sum::<usize>()).sum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (i64, Option<u8>, i64); // (event time, key, value)

    /// A reference: per window, the nested-loop join of both sides as SQL defines it.
    fn reference(kind: JoinKind, size: i64, left: &[Row], right: &[Row]) -> Vec<(i64, Option<i64>, Option<i64>)> {
        let cond = |l: &Row, r: &Row| l.1.is_some() && l.1 == r.1 && (l.2 + r.2) % 3 != 0;
        let window = |ts: i64| ts.div_euclid(size) * size;
        let mut out = Vec::new();
        for l in left {
            let partners: Vec<&Row> = right.iter().filter(|r| window(r.0) == window(l.0) && cond(l, r)).collect();
            out.extend(partners.iter().map(|r| (window(l.0), Some(l.2), Some(r.2))));
            if partners.is_empty() && kind.keeps_left() {
                out.push((window(l.0), Some(l.2), None));
            }
        }
        if kind.keeps_right() {
            for r in right {
                if !left.iter().any(|l| window(r.0) == window(l.0) && cond(l, r)) {
                    out.push((window(r.0), None, Some(r.2)));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn matches_a_nested_loop_reference_for_every_kind_with_bounded_disorder() {
        let mut seed = 3u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        let size = 10;
        for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Right, JoinKind::Full] {
            let mut rows: Vec<(bool, Row)> = (0..400)
                .map(|i| {
                    let key = if next() % 7 == 0 { None } else { Some((next() % 4) as u8) };
                    (next() % 2 == 0, (i / 4 + (next() % 5) as i64, key, (next() % 50) as i64))
                })
                .collect();
            // Disorder of up to 4 ms; the watermark trails the maximum by 5.
            rows.sort_by_key(|(_, r)| r.0 + (r.2 % 5));
            let mut op: WindowJoin<u8, Row, Row> = WindowJoin::new(kind);
            let mut out = Vec::new();
            let mut max = i64::MIN;
            let cond = |l: &Row, r: &Row| (l.2 + r.2) % 3 != 0;
            for (is_left, r) in &rows {
                let w = Window::new(r.0.div_euclid(size) * size, r.0.div_euclid(size) * size + size);
                let added = if *is_left { op.add_left(w, r.1, *r) } else { op.add_right(w, r.1, *r) };
                assert!(added, "{r:?} is not late");
                max = max.max(r.0);
                op.advance::<()>(max - 5, cond, |w, l, r| {
                    out.push((w.start, l.map(|l| l.2), r.map(|r| r.2)));
                    Ok(())
                })
                .unwrap();
            }
            op.advance::<()>(i64::MAX, cond, |w, l, r| {
                out.push((w.start, l.map(|l| l.2), r.map(|r| r.2)));
                Ok(())
            })
            .unwrap();
            assert_eq!(op.rows(), 0, "all state is freed");
            out.sort_unstable();
            let left: Vec<Row> = rows.iter().filter(|(l, _)| *l).map(|(_, r)| *r).collect();
            let right: Vec<Row> = rows.iter().filter(|(l, _)| !*l).map(|(_, r)| *r).collect();
            assert_eq!(out, reference(kind, size, &left, &right), "{kind:?}");
        }
    }

    #[test]
    fn a_fired_window_refuses_rows_and_fires_once() {
        let mut op: WindowJoin<(), i32, i32> = WindowJoin::new(JoinKind::Inner);
        let w = Window::new(0, 10);
        assert!(op.add_left(w, Some(()), 1));
        assert!(op.add_right(w, Some(()), 2));
        let mut n = 0;
        op.advance::<()>(
            8,
            |_, _| true,
            |_, _, _| {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 0, "window [0, 10) is still open at watermark 8");
        op.advance::<()>(
            9,
            |_, _| true,
            |_, _, _| {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 1);
        assert!(!op.add_right(w, Some(()), 3));
        op.advance::<()>(
            100,
            |_, _| true,
            |_, _, _| {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 1);
    }

    /// Rows split by key over 2 workers (NULL keys with the key of NULLs, 0), each
    /// checkpointed mid-stream, then merged into 3 workers taking their keys, which go on
    /// with the rest: together they emit the join of all the rows, each pair once.
    #[test]
    fn workers_rescaled_mid_stream_emit_each_pair_once() {
        let mut seed = 11u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        let size = 10;
        let rows: Vec<(bool, Row)> = (0..600)
            .map(|i| {
                let key = if next() % 7 == 0 { None } else { Some((next() % 9) as u8) };
                (next() % 2 == 0, (i / 4, key, (next() % 50) as i64))
            })
            .collect();
        let cond = |l: &Row, r: &Row| (l.2 + r.2) % 3 != 0;
        let owner = |key: Option<u8>, n: u8| key.unwrap_or_default() % n;
        for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Full] {
            let mut out = Vec::new();
            let mut feed = |ops: &mut Vec<WindowJoin<u8, Row, Row>>, rows: &[(bool, Row)]| {
                let n = ops.len() as u8;
                for (is_left, r) in rows {
                    let op = &mut ops[usize::from(owner(r.1, n))];
                    let w = Window::new(r.0.div_euclid(size) * size, r.0.div_euclid(size) * size + size);
                    assert!(if *is_left { op.add_left(w, r.1, *r) } else { op.add_right(w, r.1, *r) });
                    for op in ops.iter_mut() {
                        op.advance::<()>(r.0 - 5, cond, |w, l, r| {
                            out.push((w.start, l.map(|l| l.2), r.map(|r| r.2)));
                            Ok(())
                        })
                        .unwrap();
                    }
                }
            };
            let mut old: Vec<WindowJoin<u8, Row, Row>> = (0..2).map(|_| WindowJoin::new(kind)).collect();
            feed(&mut old, &rows[..300]);
            let kept: usize = old.iter().map(WindowJoin::rows).sum();
            assert!(kept > 0, "state to move");
            let mut new = crate::checkpoint::rescaled(
                &mut old,
                3,
                |w| {
                    let mut op = WindowJoin::new(kind);
                    op.owns_nulls(w == 0);
                    op
                },
                |w, k: &u8| usize::from(k % 3) == w,
            );
            assert_eq!(new.iter().map(WindowJoin::rows).sum::<usize>(), kept, "every kept row in one worker");
            feed(&mut new, &rows[300..]);
            for op in &mut new {
                op.advance::<()>(i64::MAX, cond, |w, l, r| {
                    out.push((w.start, l.map(|l| l.2), r.map(|r| r.2)));
                    Ok(())
                })
                .unwrap();
            }
            out.sort_unstable();
            let left: Vec<Row> = rows.iter().filter(|(l, _)| *l).map(|(_, r)| *r).collect();
            let right: Vec<Row> = rows.iter().filter(|(l, _)| !*l).map(|(_, r)| *r).collect();
            assert_eq!(out, reference(kind, size, &left, &right), "{kind:?}");
        }
    }
}
