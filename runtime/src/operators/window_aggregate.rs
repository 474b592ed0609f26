//! Window aggregation over TUMBLE, HOP and CUMULATE windows: rows are added to the
//! accumulators of every window they fall in, per group key; when the watermark passes a
//! window's last millisecond the window's groups are emitted once and their state freed.
//!
//! ```
//! use dfl::agg::{Accumulator, Count};
//! use dfl::operators::window_aggregate::{WindowAggregate, Windows};
//! // State lives in a backend; `new` keeps it in memory.
//! let mut op: WindowAggregate<char, Count> = WindowAggregate::new(Windows::Tumble { size: 10, offset: 0 });
//! assert!(op.add(3, 'a', |acc| acc.add(true)));
//! assert!(op.add(7, 'a', |acc| acc.add(true)));
//! let mut out = Vec::new();
//! op.advance::<()>(9, |key, window, acc| { out.push((*key, window.start, acc.result())); Ok(()) }).unwrap();
//! assert_eq!(out, vec![('a', 0, Some(2))]);
//! assert!(!op.add(5, 'a', |acc| acc.add(true)), "late: its window has fired");
//! ```

use crate::checkpoint::{Rescale, Snapshot, decode, encode};
use crate::state::{Key, MemoryBackend, PartitionedMap, StateBackend, Value};
use crate::time::{Window, cumulate, hop, tumble};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

/// Which windows a row belongs to (sizes in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windows {
    /// `TUMBLE(…, size [, offset])`
    Tumble {
        /// Window length.
        size: i64,
        /// Shift of window starts.
        offset: i64,
    },
    /// `HOP(…, slide, size [, offset])`
    Hop {
        /// Distance between window starts.
        slide: i64,
        /// Window length.
        size: i64,
        /// Shift of window starts.
        offset: i64,
    },
    /// `CUMULATE(…, step, size [, offset])`
    Cumulate {
        /// Growth of each window.
        step: i64,
        /// Length of the largest window.
        size: i64,
        /// Shift of window starts.
        offset: i64,
    },
    /// Windows carried by the rows themselves: an aggregation grouped by the
    /// `window_start` and `window_end` of another window operator's output. Rows are added
    /// with [`WindowAggregate::add_to`].
    Given,
}

impl Windows {
    fn each(self, ts: i64, mut f: impl FnMut(Window)) {
        match self {
            Windows::Tumble { size, offset } => f(tumble(ts, size, offset)),
            Windows::Hop { slide, size, offset } => hop(ts, slide, size, offset).for_each(f),
            Windows::Cumulate { step, size, offset } => cumulate(ts, step, size, offset).for_each(f),
            Windows::Given => {}
        }
    }
}

/// Accumulators per (pane, key), fired in window order by the watermark. A pane is a
/// window, or (sliced) the slice of time shared by several overlapping windows; panes are
/// the partitions of the operator's state in its [`StateBackend`].
///
/// TUMBLE windows are their own panes. HOP and CUMULATE windows overlap: given a merge
/// function, rows are added once, to the slice of time (the greatest common divisor of
/// slide and size, or the step) they fall in, and a window's result merges its slices when
/// it fires, as Flink's slicing window operator does; without one (FIRST_VALUE and
/// LAST_VALUE, whose merge depends on arrival order), rows are added to every window.
pub struct WindowAggregate<K: Key, A: Value, B: StateBackend = MemoryBackend> {
    windows: Windows,
    /// A fresh accumulator (some need parameters, e.g. the scale of a DECIMAL average).
    make: fn() -> A,
    /// Adds one accumulator into another; `Some` turns slicing on.
    merge: Option<fn(&mut A, &A)>,
    /// Slice length (sliced HOP and CUMULATE).
    slice: Option<i64>,
    /// Accumulators by pane (start, end) and key.
    state: B::Partitioned<(i64, i64), K, A>,
    /// Per pane with state, the end of the last window it belongs to: it is freed when
    /// that window fires.
    last_end: BTreeMap<(i64, i64), i64>,
    /// Windows with state that have not fired, by (end, start).
    pending: BTreeSet<(i64, i64)>,
    watermark: i64,
}

impl<K: Key, A: Value + Default> WindowAggregate<K, A> {
    /// An operator over `windows` with in-memory state (unsliced).
    pub fn new(windows: Windows) -> Self {
        Self::with_accumulators(windows, A::default)
    }
}

impl<K: Key, A: Value> WindowAggregate<K, A> {
    /// An operator over `windows` with in-memory state, whose accumulators `make` creates;
    /// rows are added to every window they fall in.
    pub fn with_accumulators(windows: Windows, make: fn() -> A) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "window", windows, make, None)
    }

    /// [`WindowAggregate::with_accumulators`], sliced with `merge` (see [`WindowAggregate::in_backend`]).
    pub fn sliced(windows: Windows, make: fn() -> A, merge: fn(&mut A, &A)) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "window", windows, make, Some(merge))
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl<K: Key, A: Value, B: StateBackend> WindowAggregate<K, A, B> {
    /// An operator over `windows` keeping its state in `backend` under `name` (the
    /// operator's stable id), whose accumulators `make` creates. With `merge`, HOP and
    /// CUMULATE windows are sliced: each row is added once, to its slice, and a window's
    /// slices are merged when it fires.
    pub fn in_backend(
        backend: &mut B,
        name: &str,
        windows: Windows,
        make: fn() -> A,
        merge: Option<fn(&mut A, &A)>,
    ) -> Self {
        let slice = match windows {
            Windows::Hop { slide, size, .. } if gcd(slide, size) < size => Some(gcd(slide, size)),
            Windows::Cumulate { step, size, .. } if step < size && size % step == 0 => Some(step),
            _ => None,
        };
        WindowAggregate {
            windows,
            make,
            merge: merge.filter(|_| slice.is_some()),
            slice: slice.filter(|_| merge.is_some()),
            state: backend.partitioned(name),
            last_end: BTreeMap::new(),
            pending: BTreeSet::new(),
            watermark: i64::MIN,
        }
    }

    /// Adds a row with event time `ts` (ms) and group `key`: `update` is applied to the
    /// accumulators of each of its windows that has not fired (or of its slice). Returns
    /// false when every window of the row has fired already: the row is late and was not
    /// counted.
    pub fn add(&mut self, ts: i64, key: K, mut update: impl FnMut(&mut A)) -> bool {
        if let Some(size) = self.slice {
            let offset = match self.windows {
                Windows::Hop { offset, .. } | Windows::Cumulate { offset, .. } => offset,
                _ => 0,
            };
            let start = crate::time::window_start(ts, offset, size);
            return self.add_to_slice(Window::new(start, start.saturating_add(size)), key, update);
        }
        let mut counted = false;
        let windows = self.windows;
        windows.each(ts, |w| counted |= self.add_to(w, key.clone(), &mut update));
        counted
    }

    /// Adds a row to the accumulators of window `w` and `key` (windows given by the rows,
    /// [`Windows::Given`]). Returns false, and counts nothing, when `w` has fired already.
    pub fn add_to(&mut self, w: Window, key: K, update: impl FnOnce(&mut A)) -> bool {
        if w.end - 1 <= self.watermark {
            return false;
        }
        let pane = (w.start, w.end);
        if let std::collections::btree_map::Entry::Vacant(e) = self.last_end.entry(pane) {
            e.insert(w.end);
            self.pending.insert((w.end, w.start));
        }
        update(self.state.entry_or_insert_with(&pane, key, self.make));
        true
    }

    /// Adds a row to slice `s`, registering the windows the slice belongs to.
    fn add_to_slice(&mut self, s: Window, key: K, update: impl FnOnce(&mut A)) -> bool {
        let pane = (s.start, s.end);
        let last_end = match self.last_end.get(&pane) {
            Some(&e) => e,
            None => {
                let mut last_end = i64::MIN;
                let watermark = self.watermark;
                let pending = &mut self.pending;
                self.windows.each(s.start, |w| {
                    last_end = last_end.max(w.end);
                    if w.end - 1 > watermark {
                        pending.insert((w.end, w.start));
                    }
                });
                if last_end - 1 <= watermark {
                    return false;
                }
                self.last_end.insert(pane, last_end);
                last_end
            }
        };
        if last_end - 1 <= self.watermark {
            return false;
        }
        update(self.state.entry_or_insert_with(&pane, key, self.make));
        true
    }

    /// Moves the watermark to `watermark` (ms) and emits, in window order, every group of
    /// every window whose last millisecond it has passed; state no later window needs is
    /// freed.
    #[inline]
    pub fn advance<E>(&mut self, watermark: i64, emit: impl FnMut(&K, Window, &A) -> Result<(), E>) -> Result<(), E> {
        // Called after every row: the common case, an unmoved watermark, stays inline in
        // the caller's loop however large `emit` is.
        if watermark <= self.watermark {
            return Ok(());
        }
        self.fire(watermark, emit)
    }

    /// [`advance`](Self::advance) past the current watermark.
    #[inline(never)]
    fn fire<E>(&mut self, watermark: i64, mut emit: impl FnMut(&K, Window, &A) -> Result<(), E>) -> Result<(), E> {
        self.watermark = watermark;
        while let Some(&(end, start)) = self.pending.first() {
            if end - 1 > watermark {
                break;
            }
            self.pending.pop_first();
            let w = Window::new(start, end);
            match self.merge {
                None => {
                    self.last_end.remove(&(start, end));
                    for (k, acc) in self.state.remove_partition(&(start, end)) {
                        emit(&k, w, &acc)?;
                    }
                }
                Some(merge) => {
                    let mut merged: FxHashMap<K, A> = FxHashMap::default();
                    let panes: Vec<(i64, i64)> =
                        self.state.partitions((start, i64::MIN)..(end, i64::MIN)).into_iter().copied().collect();
                    for pane in &panes {
                        for (k, acc) in self.state.partition(pane) {
                            match merged.get_mut(k) {
                                Some(m) => merge(m, acc),
                                None => {
                                    merged.insert(k.clone(), acc.clone());
                                }
                            }
                        }
                    }
                    for (k, acc) in &merged {
                        emit(k, w, acc)?;
                    }
                    // Slices whose last window has fired are not needed any more.
                    while let Some((&pane, &last)) = self.last_end.first_key_value() {
                        if last > end {
                            break;
                        }
                        self.last_end.remove(&pane);
                        self.state.remove_partition(&pane);
                    }
                }
            }
        }
        Ok(())
    }

    /// The current watermark.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Groups with state, counted per pane (for metrics and tests).
    pub fn groups(&self) -> usize {
        self.state.len()
    }
}

impl<K: Key, A: Value, B: StateBackend> Snapshot for WindowAggregate<K, A, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        encode(&(self.watermark, &self.last_end, &self.pending), out)?;
        self.state.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        (self.watermark, self.last_end, self.pending) = decode(input)?;
        self.state.load(input)
    }
}

impl<K: Key, A: Value, B: StateBackend> Rescale<K> for WindowAggregate<K, A, B> {
    /// The panes and windows pending are the union of the workers' (a window with no group
    /// of this worker's fires nothing).
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        let watermark: i64 = decode(input)?;
        let last_end: BTreeMap<(i64, i64), i64> = decode(input)?;
        let pending: BTreeSet<(i64, i64)> = decode(input)?;
        self.watermark = self.watermark.max(watermark);
        for (pane, end) in last_end {
            let e = self.last_end.entry(pane).or_insert(end);
            *e = (*e).max(end);
        }
        self.pending.extend(pending);
        self.state.merge(input, keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::{Accumulator, Count, Sum};

    /// A reference: every window of every row, summed, emitted at the end.
    fn reference(rows: &[(i64, u8, i64)], windows: Windows) -> Vec<(i64, i64, u8, i64)> {
        let mut m: BTreeMap<(i64, i64, u8), i64> = BTreeMap::new();
        for &(ts, k, v) in rows {
            windows.each(ts, |w| *m.entry((w.end, w.start, k)).or_default() += v);
        }
        m.into_iter().map(|((e, s, k), v)| (s, e, k, v)).collect()
    }

    #[test]
    fn matches_a_reference_with_in_order_and_bounded_disorder() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        for windows in [
            Windows::Tumble { size: 10, offset: 0 },
            Windows::Tumble { size: 7, offset: 3 },
            Windows::Hop { slide: 5, size: 15, offset: 0 },
            Windows::Hop { slide: 4, size: 10, offset: 1 },
            Windows::Cumulate { step: 4, size: 12, offset: 0 },
            Windows::Cumulate { step: 3, size: 9, offset: 2 },
        ]
        .into_iter()
        .flat_map(|w| [(w, false), (w, true)])
        {
            let rows: Vec<(i64, u8, i64)> =
                (0..500).map(|i| (i as i64 + (next() % 5) as i64, (next() % 4) as u8, (next() % 100) as i64)).collect();
            let (windows, sliced) = windows;
            let mut op: WindowAggregate<u8, Sum<i64>> = if sliced {
                WindowAggregate::sliced(windows, Sum::default, |a, b| a.merge(b))
            } else {
                WindowAggregate::new(windows)
            };
            let mut out = Vec::new();
            let mut max_ts = i64::MIN;
            for &(ts, k, v) in &rows {
                // Watermark 5 behind the maximum: disorder of up to 4 is never late.
                assert!(op.add(ts, k, |acc| acc.add(Some(v))), "row at {ts} should not be late");
                max_ts = max_ts.max(ts);
                op.advance::<()>(max_ts - 5, |k, w, acc| {
                    out.push((w.start, w.end, *k, acc.result().unwrap_or(0)));
                    Ok(())
                })
                .unwrap();
            }
            op.advance::<()>(i64::MAX, |k, w, acc| {
                out.push((w.start, w.end, *k, acc.result().unwrap_or(0)));
                Ok(())
            })
            .unwrap();
            assert_eq!(op.groups(), 0, "all state is freed");
            out.sort_by_key(|&(s, e, k, _)| (e, s, k));
            assert_eq!(out, reference(&rows, windows), "{windows:?}, sliced: {sliced}");
        }
    }

    #[test]
    fn late_rows_are_refused_and_windows_fire_once() {
        let mut op: WindowAggregate<(), Count> = WindowAggregate::new(Windows::Tumble { size: 10, offset: 0 });
        assert!(op.add(1, (), |a| a.add(true)));
        let mut fired = 0;
        op.advance::<()>(20, |_, _, _| {
            fired += 1;
            Ok(())
        })
        .unwrap();
        assert!(!op.add(5, (), |a| a.add(true)), "window [0, 10) fired");
        assert!(op.add(21, (), |a| a.add(true)), "window [20, 30) is open");
        op.advance::<()>(20, |_, _, _| {
            fired += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(fired, 1);
    }
}
