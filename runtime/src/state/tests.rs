//! Keyed maps against a `BTreeMap` model on random operations, TTL expiry, and timers.

use super::*;
use crate::agg::{Accumulator, Count, Max, Ordered, Sum};
use crate::types::Str;
use std::collections::{BTreeMap, BTreeSet};

/// SplitMix64: a tiny seeded generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random operations on `map` and on a model; after each, the two hold the same entries.
fn matches_model<M: KeyedMap<u32, i64>>(mut map: M, seed: u64) {
    let mut model: BTreeMap<u32, i64> = BTreeMap::new();
    let mut rng = Rng(seed);
    for step in 0..3000 {
        let k = rng.below(40) as u32;
        let v = rng.next() as i64;
        match rng.below(8) {
            0 => assert_eq!(map.get(&k), model.get(&k), "step {step}: get {k}"),
            1 => {
                if let Some(x) = map.get_mut(&k) {
                    *x = x.wrapping_add(v);
                }
                if let Some(x) = model.get_mut(&k) {
                    *x = x.wrapping_add(v);
                }
            }
            2 | 3 => {
                let mut called = false;
                let x = map.entry_or_insert_with(k, || {
                    called = true;
                    v
                });
                *x = x.wrapping_add(1);
                let absent = !model.contains_key(&k);
                *model.entry(k).or_insert(v) += 1;
                assert_eq!(called, absent, "step {step}: entry_or_insert_with {k} called the initializer");
            }
            4 => assert_eq!(map.insert(k, v), model.insert(k, v), "step {step}: insert {k}"),
            5 => assert_eq!(map.remove(&k), model.remove(&k), "step {step}: remove {k}"),
            6 => {
                let m = rng.below(5) as u32;
                let mut drained = map.drain_where(|k, v| (*k + *v as u32) % 5 == m);
                drained.sort_unstable();
                let expect: Vec<(u32, i64)> =
                    model.iter().filter(|(k, v)| (**k + **v as u32) % 5 == m).map(|(k, v)| (*k, *v)).collect();
                model.retain(|k, v| (*k + *v as u32) % 5 != m);
                assert_eq!(drained, expect, "step {step}: drain_where");
            }
            _ => {
                let mut all: Vec<(u32, i64)> = map.iter().map(|(k, v)| (*k, *v)).collect();
                all.sort_unstable();
                assert_eq!(all, model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), "step {step}: iter");
            }
        }
        assert_eq!(map.len(), model.len(), "step {step}: len");
        assert_eq!(map.is_empty(), model.is_empty());
    }
}

#[test]
fn memory_map_matches_a_model() {
    matches_model(MemoryMap::new(), 1);
    matches_model(MemoryMap::new(), 2);
}

#[test]
fn sorted_map_matches_a_model() {
    matches_model(SortedMap::new(), 3);
    matches_model(SortedMap::new(), 4);
}

#[test]
fn sorted_map_goes_by_key() {
    let mut m = SortedMap::new();
    for k in [5, 1, 9, 3, 7] {
        m.insert(k, k * 10);
    }
    assert_eq!(m.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 3, 5, 7, 9]);
    assert_eq!((m.first(), m.last()), (Some((&1, &10)), Some((&9, &90))));
    assert_eq!(m.range(3..7).map(|(k, _)| *k).collect::<Vec<_>>(), [3, 5]);
    assert_eq!(m.drain_where(|k, _| *k > 4), [(5, 50), (7, 70), (9, 90)]);
    assert_eq!(m.drain_range(..=1), [(1, 10)]);
    assert_eq!(m.iter().collect::<Vec<_>>(), [(&3, &30)]);
}

#[test]
fn expire_removes_entries_not_written_within_the_ttl() {
    fn run<M: KeyedMap<char, i32>>(mut m: M) {
        m.set_clock(0);
        m.insert('a', 1);
        m.insert('r', 2);
        m.set_clock(50);
        m.entry_or_insert_with('b', || 3);
        m.set_clock(80);
        *m.get_mut(&'a').unwrap() += 1; // written at 80
        assert_eq!(m.get(&'r'), Some(&2)); // a read: still stamped 0
        m.entry_or_insert_with('b', || unreachable!()); // existing: written at 80

        assert_eq!(m.expire(120, 0), 0, "a TTL of 0 is no TTL");
        assert_eq!(m.expire(120, -1), 0);
        assert_eq!(m.expire(59, 60), 0, "0 + 60 > 59");
        assert_eq!(m.expire(60, 60), 1, "stamped at 0, idle for exactly the TTL");
        assert_eq!(m.get(&'r'), None);
        assert_eq!(m.expire(139, 60), 0);
        m.set_clock(130);
        m.insert('a', 5); // overwritten at 130
        assert_eq!(m.expire(140, 60), 1);
        let mut left: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
        left.sort_unstable();
        assert_eq!(left, [('a', 5)]);
        assert_eq!(m.expire(i64::MAX, i64::MAX), 0, "no overflow");
        assert_eq!(m.expire(i64::MAX, 1), 1);
        assert!(m.is_empty());
    }
    run(MemoryMap::new());
    run(SortedMap::new());
}

#[test]
fn approximate_bytes_grows_with_the_entries() {
    let mut m: MemoryMap<u64, [u64; 12]> = MemoryMap::new();
    assert_eq!(m.approximate_bytes(), 0);
    for k in 0..10 {
        m.insert(k, [0; 12]);
    }
    let ten = m.approximate_bytes();
    assert!(ten >= 10 * (8 + 96), "{ten}");
    m.insert(10, [0; 12]);
    assert!(m.approximate_bytes() > ten);
    m.remove(&10);
    assert_eq!(m.approximate_bytes(), ten);
}

#[test]
fn operators_are_generic_over_the_backend() {
    /// A word count as an aggregate operator would write it: one map from the backend.
    fn word_count<B: StateBackend>(backend: &mut B, words: &[&str]) -> BTreeMap<Str, (Option<i64>, Option<Str>)> {
        let mut state = backend.map::<Str, (Count, Max<Str>)>("counts");
        for w in words {
            let (count, max) = state.entry_or_insert_with(Str::new(&w[..1]), Default::default);
            count.add(true);
            max.add(Some(Str::new(w)));
        }
        state.iter().map(|(k, (c, m))| (k.clone(), (c.result(), m.result()))).collect()
    }
    let mut backend = MemoryBackend::new();
    let counts = word_count(&mut backend, &["apple", "avocado", "banana", "apricot"]);
    assert_eq!(counts[&Str::new("a")], (Some(3), Some(Str::new("avocado"))));
    assert_eq!(counts[&Str::new("b")], (Some(1), Some(Str::new("banana"))));
    let _other: MemoryMap<(Str, i64), Sum<i64>> = backend.map("other");
    assert_eq!(backend.names(), ["counts", "other"]);

    // A group key with a DOUBLE column, wrapped to be a Key.
    let mut by_price: MemoryMap<(Str, Ordered<Option<f64>>), Count> = MemoryBackend::new().map("by-price");
    by_price.entry_or_insert_with((Str::new("x"), Ordered(Some(1.5))), Count::default).add(true);
    by_price.entry_or_insert_with((Str::new("x"), Ordered(Some(1.5))), Count::default).add(true);
    assert_eq!(by_price.len(), 1);
}

#[test]
fn timers_fire_in_order_once_each() {
    let mut rng = Rng(7);
    for _ in 0..100 {
        let mut q = TimerQueue::new();
        let mut model = BTreeSet::new();
        for _ in 0..rng.below(60) {
            let (ts, key) = (rng.below(30) as i64 - 5, rng.below(4) as u8);
            assert_eq!(q.register(ts, key), model.insert((ts, key)), "register dedups");
        }
        assert_eq!(q.len(), model.len());
        let mut fired = Vec::new();
        let mut left = model.clone();
        let mut wm = i64::MIN;
        while !q.is_empty() {
            assert_eq!(q.next_timestamp(), left.first().map(|t| t.0));
            wm = wm.max(-10) + rng.below(8) as i64;
            let due = q.pop_due(wm);
            assert!(due.windows(2).all(|w| w[0] < w[1]), "in (timestamp, key) order: {due:?}");
            assert!(due.iter().all(|(ts, _)| *ts <= wm) && q.next_timestamp().is_none_or(|ts| ts > wm));
            due.iter().for_each(|t| assert!(left.remove(t)));
            fired.extend(due);
        }
        assert_eq!(fired, model.into_iter().collect::<Vec<_>>(), "each timer fires once");
        assert!(q.pop_due(i64::MAX).is_empty());
    }
}

#[test]
fn timers_can_be_deleted_and_serialized() {
    let mut q = TimerQueue::new();
    for (ts, k) in [(19, "b"), (9, "a"), (9, "b"), (29, "a")] {
        q.register(ts, Str::new(k));
    }
    assert!(!q.register(9, Str::new("a")));
    assert!(q.delete(9, &Str::new("b")));
    assert!(!q.delete(9, &Str::new("b")));
    let json = serde_json::to_string(&q).unwrap();
    let mut back: TimerQueue<Str> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.iter().cloned().collect::<Vec<_>>(), q.iter().cloned().collect::<Vec<_>>());
    assert_eq!(back.pop_due(i64::MAX), [(9, Str::new("a")), (19, Str::new("b")), (29, Str::new("a"))]);
}
