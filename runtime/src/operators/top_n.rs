//! Top-N per partition over appended rows (`ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)`
//! filtered to the first N ranks), and deduplication (N = 1). Per partition key the best
//! N rows are kept, in sort order (ties by arrival: the earlier row ranks first); a row
//! that sorts outside them is dropped (it can never enter: rows are only appended). The
//! result updates:
//! - with the rank in the output, a row entering at rank p moves every row below it one
//!   rank down (`-U` with the old rank, `+U` with the new one), the row pushed past N is
//!   deleted (`-D`), and the new row inserted (`+I`) — from the bottom up, so that a table
//!   kept by (partition, rank) is right after each change;
//! - without it, only rows entering (`+I`) and leaving (`-D`) are emitted.
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

/// The best rows of each partition, in a [`StateBackend`]'s keyed map: (sort key, arrival
/// number, row), in order.
pub struct TopN<K: Key, S: SortKey, R: Value, B: StateBackend = MemoryBackend> {
    parts: B::Map<K, Vec<(S, u64, R)>>,
    n: usize,
    /// Arrival number of the next row (ties rank by it).
    seq: u64,
    ttl: Option<TtlClock>,
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
        TopN { parts: backend.map(name), n: n.max(1), seq: 0, ttl: None }
    }

    /// Forgets partitions not written for `ttl_ms` (none: `None` or 0).
    pub fn with_ttl(mut self, ttl_ms: Option<i64>, clock: fn() -> i64) -> Self {
        self.ttl = TtlClock::new(ttl_ms, clock);
        self
    }

    /// A row of partition `key` sorting by `sort`; `emit` receives each change with the
    /// row's rank (1-based). `ranks`: whether the output shows the rank (then rows moved
    /// down are updated too).
    pub fn add<E>(
        &mut self,
        key: K,
        sort: S,
        row: R,
        ranks: bool,
        mut emit: impl FnMut(RowKind, &R, u64) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(ttl) = &mut self.ttl {
            ttl.tick(&mut self.parts);
        }
        let seq = self.seq;
        self.seq += 1;
        let n = self.n;
        let rows = self.parts.entry_or_insert_with(key, Vec::new);
        let p = rows.partition_point(|(s, _, _)| *s <= sort);
        if p >= n {
            return Ok(());
        }
        // From the bottom up: the row pushed out, then the rows moving one rank down.
        for j in (p..rows.len()).rev() {
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
        rows.truncate(n);
        emit(RowKind::Insert, &rows[p].2, p as u64 + 1)
    }
}

impl<K: Key, S: SortKey, R: Value, B: StateBackend> Snapshot for TopN<K, S, R, B> {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        crate::checkpoint::encode(&self.seq, out)?;
        self.parts.save(out)
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        self.seq = crate::checkpoint::decode(input)?;
        self.parts.load(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
