//! Window aggregation over TUMBLE, HOP and CUMULATE windows: rows are added to the
//! accumulators of every window they fall in, per group key; when the watermark passes a
//! window's last millisecond the window's groups are emitted once and their state freed.
//!
//! ```
//! use dfl::agg::{Accumulator, Count};
//! use dfl::operators::window_aggregate::{WindowAggregate, Windows};
//! let mut op: WindowAggregate<&str, Count> = WindowAggregate::new(Windows::Tumble { size: 10, offset: 0 });
//! assert!(op.add(3, "a", |acc| acc.add(true)));
//! assert!(op.add(7, "a", |acc| acc.add(true)));
//! let mut out = Vec::new();
//! op.advance::<()>(9, |key, window, acc| { out.push((*key, window.start, acc.result())); Ok(()) }).unwrap();
//! assert_eq!(out, vec![("a", 0, Some(2))]);
//! assert!(!op.add(5, "a", |acc| acc.add(true)), "late: its window has fired");
//! ```

use crate::time::{Window, cumulate, hop, tumble};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

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

/// Accumulators per (window, key), fired in window order by the watermark.
pub struct WindowAggregate<K, A> {
    windows: Windows,
    /// A fresh accumulator (some need parameters, e.g. the scale of a DECIMAL average).
    make: fn() -> A,
    groups: HashMap<(Window, K), A>,
    /// Open windows by their end (then start), with the keys that have state in them.
    pending: BTreeMap<(i64, i64), Vec<K>>,
    watermark: i64,
}

impl<K: Hash + Eq + Clone, A: Default> WindowAggregate<K, A> {
    /// An operator over `windows`, with no state.
    pub fn new(windows: Windows) -> Self {
        Self::with_accumulators(windows, A::default)
    }
}

impl<K: Hash + Eq + Clone, A> WindowAggregate<K, A> {
    /// An operator over `windows` whose accumulators `make` creates.
    pub fn with_accumulators(windows: Windows, make: fn() -> A) -> Self {
        WindowAggregate { windows, make, groups: HashMap::new(), pending: BTreeMap::new(), watermark: i64::MIN }
    }

    /// Adds a row with event time `ts` (ms) and group `key`: `update` is applied to the
    /// accumulators of each of its windows that has not fired. Returns false when every
    /// window of the row has fired already: the row is late and was not counted.
    pub fn add(&mut self, ts: i64, key: K, mut update: impl FnMut(&mut A)) -> bool {
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
        let (make, pending) = (self.make, &mut self.pending);
        let acc = self.groups.entry((w, key)).or_insert_with_key(|(w, key)| {
            pending.entry((w.end, w.start)).or_default().push(key.clone());
            make()
        });
        update(acc);
        true
    }

    /// Moves the watermark to `watermark` (ms) and emits, in window order, every group of
    /// every window whose last millisecond it has passed; their state is freed.
    pub fn advance<E>(
        &mut self,
        watermark: i64,
        mut emit: impl FnMut(&K, Window, &A) -> Result<(), E>,
    ) -> Result<(), E> {
        if watermark <= self.watermark {
            return Ok(());
        }
        self.watermark = watermark;
        while let Some(entry) = self.pending.first_entry() {
            let (end, start) = *entry.key();
            let w = Window::new(start, end);
            if end - 1 > watermark {
                break;
            }
            let keys = entry.remove();
            for k in keys {
                if let Some(acc) = self.groups.remove(&(w, k.clone())) {
                    emit(&k, w, &acc)?;
                }
            }
        }
        Ok(())
    }

    /// The current watermark.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Groups with state (for metrics and tests).
    pub fn groups(&self) -> usize {
        self.groups.len()
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
            Windows::Cumulate { step: 4, size: 12, offset: 0 },
        ] {
            let rows: Vec<(i64, u8, i64)> =
                (0..500).map(|i| (i as i64 + (next() % 5) as i64, (next() % 4) as u8, (next() % 100) as i64)).collect();
            let mut op: WindowAggregate<u8, Sum<i64>> = WindowAggregate::new(windows);
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
            assert_eq!(out, reference(&rows, windows), "{windows:?}");
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
