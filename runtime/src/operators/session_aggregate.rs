//! Session window aggregation (`SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)`):
//! per group key, rows closer than `gap` share a session; sessions that a row bridges
//! merge, their accumulators merged. A session is emitted once when the watermark passes
//! its last millisecond, and its state freed.
//!
//! ```
//! use dfl::agg::{Accumulator, Count};
//! use dfl::operators::session_aggregate::SessionAggregate;
//! let mut op: SessionAggregate<char, Count> = SessionAggregate::new(10, |a, b| a.merge(b));
//! op.add(0, 'a', |acc| acc.add(true));
//! op.add(15, 'a', |acc| acc.add(true));
//! op.add(9, 'a', |acc| acc.add(true)); // bridges [0, 10) and [15, 25): one session [0, 25)
//! let mut out = Vec::new();
//! op.advance::<()>(i64::MAX, |k, w, acc| { out.push((*k, w.start, w.end, acc.result())); Ok(()) }).unwrap();
//! assert_eq!(out, vec![('a', 0, 25, Some(3))]);
//! ```

use crate::checkpoint::{Snapshot, decode, encode};
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, Value};
use crate::time::{SessionChange, Sessions, Window};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One key's sessions and their accumulators.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeySessions<A> {
    sessions: Sessions,
    accs: Vec<(Window, A)>,
}

impl<A> KeySessions<A> {
    fn take(&mut self, w: &Window) -> Option<A> {
        let i = self.accs.iter().position(|(x, _)| x == w)?;
        Some(self.accs.swap_remove(i).1)
    }
}

/// Sessions and their accumulators per group key, fired by the watermark; the state lives
/// in a [`StateBackend`]'s keyed map.
pub struct SessionAggregate<K: Key, A: Value, B: StateBackend = MemoryBackend> {
    gap: i64,
    groups: B::Map<K, KeySessions<A>>,
    /// Keys with a session ending at each time (entries may be stale: a session can have
    /// grown since; firing checks the sessions themselves).
    timers: BTreeMap<i64, Vec<K>>,
    merge: fn(&mut A, &A),
    /// A fresh accumulator.
    make: fn() -> A,
    watermark: i64,
}

impl<K: Key, A: Value + Default> SessionAggregate<K, A> {
    /// Sessions closed after `gap` ms without rows; `merge` combines two accumulators.
    pub fn new(gap: i64, merge: fn(&mut A, &A)) -> Self {
        Self::with_accumulators(gap, merge, A::default)
    }
}

impl<K: Key, A: Value> SessionAggregate<K, A> {
    /// [`SessionAggregate::new`] with accumulators that `make` creates, in memory.
    pub fn with_accumulators(gap: i64, merge: fn(&mut A, &A), make: fn() -> A) -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "sessions", gap, merge, make)
    }
}

impl<K: Key, A: Value, B: StateBackend> SessionAggregate<K, A, B> {
    /// Sessions closed after `gap` ms without rows, keeping their state in `backend` under
    /// `name` (the operator's id); `merge` combines two accumulators, `make` creates one.
    pub fn in_backend(backend: &mut B, name: &str, gap: i64, merge: fn(&mut A, &A), make: fn() -> A) -> Self {
        SessionAggregate { gap, groups: backend.map(name), timers: BTreeMap::new(), merge, make, watermark: i64::MIN }
    }

    /// Adds a row at `ts` (ms) for `key`; `update` is applied to its session's
    /// accumulators. Returns false (the row is late and not counted) when a session
    /// starting at the row would already be closed by the watermark.
    pub fn add(&mut self, ts: i64, key: K, update: impl FnOnce(&mut A)) -> bool {
        if ts.saturating_add(self.gap) - 1 <= self.watermark {
            return false;
        }
        let gap = self.gap;
        let state = self
            .groups
            .entry_or_insert_with(key.clone(), || KeySessions { sessions: Sessions::new(gap), accs: Vec::new() });
        let change = state.sessions.add(ts);
        let window = match change {
            SessionChange::New(w) => {
                state.accs.push((w, (self.make)()));
                self.timers.entry(w.end).or_default().push(key);
                w
            }
            SessionChange::Unchanged(w) => w,
            SessionChange::Extended { from, to } => {
                let acc = state.take(&from).unwrap_or_else(self.make);
                state.accs.push((to, acc));
                self.timers.entry(to.end).or_default().push(key);
                to
            }
            SessionChange::Merged { into, absorbed } => {
                let mut acc = (self.make)();
                for w in &absorbed {
                    if let Some(a) = state.take(w) {
                        (self.merge)(&mut acc, &a);
                    }
                }
                state.accs.push((into, acc));
                self.timers.entry(into.end).or_default().push(key);
                into
            }
        };
        if let Some((_, acc)) = state.accs.iter_mut().find(|(w, _)| *w == window) {
            update(acc);
        }
        true
    }

    /// Moves the watermark and emits every session whose last millisecond it has passed.
    #[inline]
    pub fn advance<E>(&mut self, watermark: i64, emit: impl FnMut(&K, Window, &A) -> Result<(), E>) -> Result<(), E> {
        // Called after every row: an unmoved watermark stays inline in the caller.
        if watermark <= self.watermark {
            return Ok(());
        }
        self.fire(watermark, emit)
    }

    /// [`advance`](Self::advance) past the current watermark.
    #[inline(never)]
    fn fire<E>(&mut self, watermark: i64, mut emit: impl FnMut(&K, Window, &A) -> Result<(), E>) -> Result<(), E> {
        self.watermark = watermark;
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().saturating_sub(1) > watermark {
                break;
            }
            for key in entry.remove() {
                let Some(state) = self.groups.get_mut(&key) else { continue };
                for w in state.sessions.fire(watermark) {
                    if let Some(acc) = state.take(&w) {
                        emit(&key, w, &acc)?;
                    }
                }
                if state.accs.is_empty() {
                    self.groups.remove(&key);
                }
            }
        }
        Ok(())
    }

    /// Keys with open sessions (for metrics and tests).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }
}

impl<K: Key, A: Value, B: StateBackend> Snapshot for SessionAggregate<K, A, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        encode(&(self.watermark, &self.timers), out)?;
        self.groups.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        (self.watermark, self.timers) = decode(input)?;
        self.groups.load(input)
    }
}

impl<K: Key, A: Value, B: StateBackend> crate::checkpoint::Rescale<K> for SessionAggregate<K, A, B> {
    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        let (watermark, timers): (i64, BTreeMap<i64, Vec<K>>) = decode(input)?;
        self.watermark = self.watermark.max(watermark);
        for (ts, keys) in timers {
            let kept: Vec<K> = keys.into_iter().filter(|k| keep(k)).collect();
            if !kept.is_empty() {
                self.timers.entry(ts).or_default().extend(kept);
            }
        }
        self.groups.merge(input, keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::{Accumulator, Sum};

    /// Reference: sessions recomputed from all of a key's timestamps at the end.
    fn reference(rows: &[(i64, u8, i64)], gap: i64) -> Vec<(u8, i64, i64, i64)> {
        let mut out = Vec::new();
        for key in 0..4u8 {
            let mut ts: Vec<(i64, i64)> = rows.iter().filter(|r| r.1 == key).map(|r| (r.0, r.2)).collect();
            ts.sort();
            let mut i = 0;
            while i < ts.len() {
                let start = ts[i].0;
                let mut end = ts[i].0 + gap;
                let mut sum = ts[i].1;
                i += 1;
                while i < ts.len() && ts[i].0 <= end {
                    end = end.max(ts[i].0 + gap);
                    sum += ts[i].1;
                    i += 1;
                }
                out.push((key, start, end, sum));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn matches_a_reference() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let rows: Vec<(i64, u8, i64)> =
            (0..400).map(|i| (i as i64 * 3 + (next() % 20) as i64, (next() % 4) as u8, (next() % 50) as i64)).collect();
        let mut op: SessionAggregate<u8, Sum<i64>> = SessionAggregate::new(12, |a, b| a.merge(b));
        for &(ts, k, v) in &rows {
            assert!(op.add(ts, k, |acc| acc.add(Some(v))));
        }
        let mut out = Vec::new();
        op.advance::<()>(i64::MAX, |k, w, acc| {
            out.push((*k, w.start, w.end, acc.result().unwrap_or(0)));
            Ok(())
        })
        .unwrap();
        out.sort();
        assert_eq!(out, reference(&rows, 12));
        assert_eq!(op.groups(), 0);
    }

    #[test]
    fn fires_as_the_watermark_passes_and_refuses_late_rows() {
        let mut op: SessionAggregate<(), Sum<i64>> = SessionAggregate::new(10, |a, b| a.merge(b));
        op.add(0, (), |a| a.add(Some(1)));
        op.add(5, (), |a| a.add(Some(2)));
        let mut out = Vec::new();
        op.advance::<()>(14, |_, w, acc| {
            out.push((w.start, w.end, acc.result()));
            Ok(())
        })
        .unwrap();
        assert_eq!(out, vec![(0, 15, Some(3))], "[0, 15) ends at 14");
        assert!(!op.add(2, (), |a| a.add(Some(9))), "its session would end before the watermark");
        assert!(op.add(20, (), |a| a.add(Some(9))));
    }
}
