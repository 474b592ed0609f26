//! A regular (unwindowed) INNER equi-join of appended rows: every row of each side is
//! kept by its key for ever (or until the state TTL), and joins every row of the other side
//! with that key that satisfies the rest of the ON condition — those already there when it
//! arrives, and those that arrive later. Rows whose key is NULL equal nothing and are not
//! kept. The output only appends.
//!
//! ```
//! use dfl::operators::regular_join::RegularJoin;
//! let mut join: RegularJoin<u32, char, i64> = RegularJoin::new();
//! let mut out = Vec::new();
//! let always = |_: &char, _: &i64| true;
//! let mut keep = |l: &char, r: &i64| -> Result<(), ()> {
//!     out.push((*l, *r));
//!     Ok(())
//! };
//! join.add_left(1, 'a', always, &mut keep).unwrap();
//! join.add_right(1, 10, always, &mut keep).unwrap();
//! join.add_left(1, 'b', always, &mut keep).unwrap();
//! join.add_right(2, 20, always, &mut keep).unwrap();
//! assert_eq!(out, vec![('a', 10), ('b', 10)]);
//! ```

use crate::checkpoint::Snapshot;
use crate::state::{Key, KeyedMap, MemoryBackend, StateBackend, TtlClock, Value};

/// Both sides' rows by key, in a [`StateBackend`]'s keyed maps.
pub struct RegularJoin<K: Key, L: Value, R: Value, B: StateBackend = MemoryBackend> {
    left: B::Map<K, Vec<L>>,
    right: B::Map<K, Vec<R>>,
    ttl: Option<(TtlClock, TtlClock)>,
}

impl<K: Key, L: Value, R: Value> RegularJoin<K, L, R> {
    /// A join with its state in memory.
    pub fn new() -> Self {
        Self::in_backend(&mut MemoryBackend::new(), "join")
    }
}

impl<K: Key, L: Value, R: Value> Default for RegularJoin<K, L, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Key, L: Value, R: Value, B: StateBackend> RegularJoin<K, L, R, B> {
    /// A join keeping its state in `backend` under `name` (the operator's id).
    pub fn in_backend(backend: &mut B, name: &str) -> Self {
        RegularJoin {
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

    /// A row of the left side with key `key`: joined with the right rows of the key for
    /// which `cond` holds (each pair to `emit`), then kept.
    pub fn add_left<E>(
        &mut self,
        key: K,
        row: L,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(&L, &R) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some((left, _)) = &mut self.ttl {
            left.tick(&mut self.left);
        }
        if let Some(rights) = self.right.get(&key) {
            for r in rights {
                if cond(&row, r) {
                    emit(&row, r)?;
                }
            }
        }
        self.left.entry_or_insert_with(key, Vec::new).push(row);
        Ok(())
    }

    /// A row of the right side: as [`add_left`](Self::add_left), the other way round.
    pub fn add_right<E>(
        &mut self,
        key: K,
        row: R,
        cond: impl Fn(&L, &R) -> bool,
        mut emit: impl FnMut(&L, &R) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some((_, right)) = &mut self.ttl {
            right.tick(&mut self.right);
        }
        if let Some(lefts) = self.left.get(&key) {
            for l in lefts {
                if cond(l, &row) {
                    emit(l, &row)?;
                }
            }
        }
        self.right.entry_or_insert_with(key, Vec::new).push(row);
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

    /// Whatever the order of arrival, the output is every pair with equal keys for which
    /// the condition holds, once.
    #[test]
    fn every_matching_pair_is_emitted_once_in_any_arrival_order() {
        let mut seed = 5u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        let rows: Vec<(bool, u8, u32)> = (0..600).map(|i| (next() % 2 == 0, (next() % 15) as u8, i)).collect();
        let cond = |l: &u32, r: &u32| (l + r) % 3 != 0;
        let mut join: RegularJoin<u8, u32, u32> = RegularJoin::new();
        let mut out = Vec::new();
        for &(left, key, id) in &rows {
            let emit = |l: &u32, r: &u32| -> Result<(), ()> {
                out.push((*l, *r));
                Ok(())
            };
            if left {
                join.add_left(key, id, cond, emit).unwrap();
            } else {
                join.add_right(key, id, cond, emit).unwrap();
            }
        }
        let mut expected = Vec::new();
        for &(l_side, lk, l) in &rows {
            for &(r_side, rk, r) in &rows {
                if l_side && !r_side && lk == rk && cond(&l, &r) {
                    expected.push((l, r));
                }
            }
        }
        out.sort();
        expected.sort();
        assert!(expected.len() > 1000, "{}", expected.len());
        assert_eq!(out, expected);
    }
}
