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

/// TTL stamps: writes renew them, reads do not; `expire` removes the entries stamped at or
/// before `now - ttl`.
fn expires_entries_not_written_within_the_ttl<M: KeyedMap<char, i32>>(mut m: M) {
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

#[test]
fn expire_removes_entries_not_written_within_the_ttl() {
    expires_entries_not_written_within_the_ttl(MemoryMap::new());
    expires_entries_not_written_within_the_ttl(SortedMap::new());
}

/// Partitions come in order; a partition is read and removed as a whole.
fn partitions_go_in_order<B: StateBackend>(backend: &mut B) {
    let mut m = backend.partitioned::<(i64, i64), Str, i64>("windows");
    assert!(m.is_empty() && m.first_partition().is_none());
    for (p, k, v) in [((20, 10), "a", 1), ((10, 0), "a", 2), ((30, 20), "b", 3), ((10, 0), "b", 4), ((20, 10), "c", 5)]
    {
        *m.entry_or_insert_with(&p, Str::new(k), || 0) += v;
    }
    *m.entry_or_insert_with(&(10, 0), Str::new("a"), || unreachable!()) += 10;
    assert_eq!(m.len(), 5);
    assert_eq!(m.partitions(..), [&(10, 0), &(20, 10), &(30, 20)]);
    assert_eq!(m.partitions((15, 0)..(30, 20)), [&(20, 10)]);
    assert_eq!(m.partitions((20, 10)..), [&(20, 10), &(30, 20)]);
    assert_eq!(m.first_partition(), Some(&(10, 0)));
    let mut part: Vec<(Str, i64)> = m.partition(&(20, 10)).map(|(k, v)| (k.clone(), *v)).collect();
    part.sort_unstable();
    assert_eq!(part, [(Str::new("a"), 1), (Str::new("c"), 5)]);
    assert_eq!(m.partition(&(99, 0)).count(), 0);
    let mut removed = m.remove_partition(&(10, 0));
    removed.sort_unstable();
    assert_eq!(removed, [(Str::new("a"), 12), (Str::new("b"), 4)]);
    assert!(m.remove_partition(&(10, 0)).is_empty());
    assert_eq!((m.len(), m.first_partition()), (3, Some(&(20, 10))));
    m.remove_partition(&(20, 10));
    assert_eq!(m.remove_partition(&(30, 20)), [(Str::new("b"), 3)]);
    assert!(m.is_empty() && m.partitions(..).is_empty());
}

#[test]
fn memory_partitions_go_in_order() {
    partitions_go_in_order(&mut MemoryBackend::new());
}

/// The maps [`merges_keep_the_owned_keys`] merged into.
type Merged<B> = (<B as StateBackend>::Map<u32, Str>, <B as StateBackend>::Partitioned<i64, u32, i64>);

/// Two workers' maps (keys 0–49 and 100–149), saved (and by `persist` written to files, for
/// a backend on disk), merged into `new`'s keeping the even keys: it holds those keys'
/// entries from both, and nothing else.
fn merges_keep_the_owned_keys<B: StateBackend>(
    mut old: [B; 2],
    persist: impl Fn(&mut B, usize) -> Option<std::path::PathBuf>,
    new: &mut B,
) -> Merged<B> {
    let mut saved = Vec::new();
    for (w, backend) in old.iter_mut().enumerate() {
        let mut m = backend.map::<u32, Str>("m");
        let mut p = backend.partitioned::<i64, u32, i64>("p");
        for k in (w as u32 * 100)..(w as u32 * 100 + 50) {
            m.insert(k, Str::new(k.to_string()));
            *p.entry_or_insert_with(&i64::from(k % 3), k, || 0) += i64::from(k) * 10;
        }
        let (mut mb, mut pb) = (Vec::new(), Vec::new());
        m.save(&mut mb).unwrap();
        p.save(&mut pb).unwrap();
        saved.push((mb, pb, persist(backend, w)));
    }
    let mut m = new.map::<u32, Str>("m");
    let mut p = new.partitioned::<i64, u32, i64>("p");
    for (mb, pb, files) in &saved {
        new.merge_from(files.as_deref()).unwrap();
        let (mut mi, mut pi) = (mb.as_slice(), pb.as_slice());
        m.merge(&mut mi, &|k| k % 2 == 0).unwrap();
        p.merge(&mut pi, &|k| k % 2 == 0).unwrap();
        assert!(mi.is_empty() && pi.is_empty(), "every byte read");
    }
    new.merge_from(None).unwrap();
    let even: Vec<u32> = (0..50).chain(100..150).filter(|k| k % 2 == 0).collect();
    assert_eq!((m.len(), p.len()), (even.len(), even.len()));
    for k in 0..150 {
        assert_eq!(m.get(&k).cloned(), even.contains(&k).then(|| Str::new(k.to_string())), "key {k}");
    }
    assert_eq!(p.partitions(..), [&0, &1, &2]);
    for part in 0..3 {
        let mut got: Vec<(u32, i64)> = p.partition(&part).map(|(k, v)| (*k, *v)).collect();
        got.sort_unstable();
        let want: Vec<(u32, i64)> =
            even.iter().filter(|k| i64::from(**k % 3) == part).map(|k| (*k, i64::from(*k) * 10)).collect();
        assert_eq!(got, want, "partition {part}");
    }
    (m, p)
}

#[test]
fn memory_maps_merge_the_owned_keys_of_other_workers() {
    merges_keep_the_owned_keys([MemoryBackend::new(), MemoryBackend::new()], |_, _| None, &mut MemoryBackend::new());
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

/// The RocksDB backend behaves as the in-memory one, also with a cache too small for its
/// state, and restores exactly what its checkpoints held.
#[cfg(feature = "rocksdb")]
mod rocks {
    use super::*;
    use crate::checkpoint::Snapshot;
    use crate::operators::window_aggregate::{WindowAggregate, Windows};
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    fn open(dir: &Path, cache_entries: usize) -> RocksBackend {
        RocksBackend::open(dir, None).unwrap().with_cache_entries(cache_entries)
    }

    fn sorted<K: Ord + Clone, V: Clone>(it: impl Iterator<Item = (K, V)>) -> Vec<(K, V)> {
        let mut all: Vec<(K, V)> = it.collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn rocks_map_matches_a_model() {
        let tmp = tempfile::tempdir().unwrap();
        for (seed, cache) in [(11, 1), (12, 4), (13, 16), (14, 1 << 20)] {
            matches_model(open(&tmp.path().join(format!("db-{seed}")), cache).map("m"), seed);
        }
    }

    #[test]
    fn rocks_map_expires_entries_not_written_within_the_ttl() {
        let tmp = tempfile::tempdir().unwrap();
        for cache in [1, 2, 100] {
            expires_entries_not_written_within_the_ttl(open(&tmp.path().join(format!("db-{cache}")), cache).map("m"));
        }
    }

    #[test]
    fn rocks_partitions_go_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        for cache in [1, 2, 100] {
            partitions_go_in_order(&mut open(&tmp.path().join(format!("db-{cache}")), cache));
        }
    }

    #[test]
    fn rocks_maps_merge_the_owned_keys_of_other_workers_from_their_files() {
        let tmp = tempfile::tempdir().unwrap();
        let old = [open(&tmp.path().join("w0"), 4), open(&tmp.path().join("w1"), 1 << 20)];
        let persist = |b: &mut RocksBackend, w: usize| {
            let dir = tmp.path().join(format!("chk-w{w}"));
            b.checkpoint_to(&dir).unwrap();
            Some(dir)
        };
        let mut new = open(&tmp.path().join("new"), 3);
        let (mut m, mut p) = merges_keep_the_owned_keys(old, persist, &mut new);
        assert!(!tmp.path().join("new.merge").exists(), "the copy merged from is removed");
        // The merged state checkpoints and restores like any other.
        let (mut mb, mut pb) = (Vec::new(), Vec::new());
        m.save(&mut mb).unwrap();
        p.save(&mut pb).unwrap();
        new.checkpoint_to(&tmp.path().join("chk-new")).unwrap();
        let mut back = RocksBackend::open(&tmp.path().join("back"), Some(&tmp.path().join("chk-new"))).unwrap();
        let mut m2 = back.map::<u32, Str>("m");
        let mut p2 = back.partitioned::<i64, u32, i64>("p");
        m2.load(&mut mb.as_slice()).unwrap();
        p2.load(&mut pb.as_slice()).unwrap();
        assert_eq!(sorted(m2.iter().map(|(k, v)| (*k, v.clone()))), sorted(m.iter().map(|(k, v)| (*k, v.clone()))));
        assert_eq!(p2.len(), 50);
        assert_eq!(p2.partition(&1).count(), p.partition(&1).count());
    }

    #[test]
    fn rocks_backend_runs_an_operator() {
        let tmp = tempfile::tempdir().unwrap();
        let mut backend = open(tmp.path(), 1);
        let counts = word_count(&mut backend, &["apple", "avocado", "banana", "apricot"]);
        assert_eq!(counts[&Str::new("a")], (Some(3), Some(Str::new("avocado"))));
        assert_eq!(counts[&Str::new("b")], (Some(1), Some(Str::new("banana"))));
        let _other: RocksMap<(Str, i64), Sum<i64>> = backend.map("other");
        assert_eq!(backend.names().collect::<Vec<_>>(), ["counts", "other"]);
    }

    /// Random operations on a RocksDB map and a memory map, checkpoints and restores among
    /// them; after each, the two agree.
    fn keyed_same_as_memory(dir: &Path, cache: usize, seed: u64) {
        let mut backend = open(&dir.join("work-0"), cache);
        let mut map: RocksMap<Str, i64> = backend.map("m");
        let mut mem: MemoryMap<Str, i64> = MemoryMap::new();
        let mut rng = Rng(seed);
        let (mut now, mut restores) = (0, 0);
        for step in 0..4000 {
            let k = Str::new(format!("key-{}", rng.below(60)));
            let v = rng.below(1000) as i64;
            match rng.below(13) {
                0 | 1 => assert_eq!(map.get(&k), mem.get(&k), "step {step}: get {k}"),
                2 => match (map.get_mut(&k), mem.get_mut(&k)) {
                    (Some(a), Some(b)) => (*a, *b) = (*a + v, *b + v),
                    (a, b) => assert_eq!(a, b, "step {step}: get_mut {k}"),
                },
                3 | 4 => {
                    *map.entry_or_insert_with(k.clone(), || v) += 1;
                    *mem.entry_or_insert_with(k, || v) += 1;
                }
                5 => assert_eq!(map.insert(k.clone(), v), mem.insert(k.clone(), v), "step {step}: insert {k}"),
                6 => assert_eq!(map.remove(&k), mem.remove(&k), "step {step}: remove {k}"),
                7 => {
                    now += rng.below(10) as i64;
                    map.set_clock(now);
                    mem.set_clock(now);
                }
                8 => {
                    let ttl = rng.below(80) as i64;
                    assert_eq!(map.expire(now, ttl), mem.expire(now, ttl), "step {step}: expire {now} {ttl}");
                }
                9 => {
                    let m = rng.below(7) as i64;
                    let drained = sorted(map.drain_where(|_, v| v % 7 == m).into_iter());
                    assert_eq!(drained, sorted(mem.drain_where(|_, v| v % 7 == m).into_iter()), "step {step}: drain");
                }
                10 => {
                    let mut saved = Vec::new();
                    map.save(&mut saved).unwrap();
                    if rng.below(8) == 0 {
                        restores += 1;
                        let chk = dir.join(format!("chk-{restores}"));
                        backend.checkpoint_to(&chk).unwrap();
                        let work = dir.join(format!("work-{restores}"));
                        backend = RocksBackend::open(&work, Some(&chk)).unwrap().with_cache_entries(cache);
                        map = backend.map("m");
                        map.load(&mut saved.as_slice()).unwrap();
                        map.set_clock(now);
                    }
                }
                _ => {
                    let all = sorted(map.iter().map(|(k, v)| (k.clone(), *v)));
                    assert_eq!(all, sorted(mem.iter().map(|(k, v)| (k.clone(), *v))), "step {step}: iter");
                }
            }
            assert_eq!(map.len(), mem.len(), "step {step}: len");
            assert_eq!(map.approximate_bytes(), mem.approximate_bytes(), "step {step}: approximate_bytes");
        }
    }

    #[test]
    fn rocks_map_behaves_as_the_memory_map_with_a_tiny_cache() {
        let tmp = tempfile::tempdir().unwrap();
        for (seed, cache) in [(21, 1), (22, 3), (23, 8), (24, 40), (25, 1000)] {
            keyed_same_as_memory(&tmp.path().join(format!("db-{seed}")), cache, seed);
        }
    }

    /// Random operations on a RocksDB partitioned map and a memory one, checkpoints and
    /// restores among them; after each, the two agree.
    fn partitioned_same_as_memory(dir: &Path, cache: usize, seed: u64) {
        let mut backend = open(&dir.join("work-0"), cache);
        let mut map: RocksPartitioned<(i64, i64), u32, Vec<u32>> = backend.partitioned("p");
        let mut mem: MemoryPartitioned<(i64, i64), u32, Vec<u32>> = MemoryBackend::new().partitioned("p");
        let mut rng = Rng(seed);
        let mut restores = 0;
        for step in 0..4000 {
            let p = (rng.below(12) as i64 * 10, 0);
            let k = rng.below(25) as u32;
            match rng.below(12) {
                0..=4 => {
                    let x = rng.below(100) as u32;
                    map.entry_or_insert_with(&p, k, Vec::new).push(x);
                    mem.entry_or_insert_with(&p, k, Vec::new).push(x);
                }
                5 | 6 => {
                    let a = sorted(map.partition(&p).map(|(k, v)| (*k, v.clone())));
                    assert_eq!(a, sorted(mem.partition(&p).map(|(k, v)| (*k, v.clone()))), "step {step}: partition");
                }
                7 => {
                    let to = (p.0 + rng.below(60) as i64, 0);
                    assert_eq!(map.partitions(p..to), mem.partitions(p..to), "step {step}: partitions");
                    assert_eq!(map.first_partition(), mem.first_partition(), "step {step}: first_partition");
                }
                8 | 9 => {
                    let a = sorted(map.remove_partition(&p).into_iter());
                    assert_eq!(a, sorted(mem.remove_partition(&p).into_iter()), "step {step}: remove_partition");
                }
                10 => {
                    let mut saved = Vec::new();
                    map.save(&mut saved).unwrap();
                    if rng.below(8) == 0 {
                        restores += 1;
                        let chk = dir.join(format!("chk-{restores}"));
                        backend.checkpoint_to(&chk).unwrap();
                        let work = dir.join(format!("work-{restores}"));
                        backend = RocksBackend::open(&work, Some(&chk)).unwrap().with_cache_entries(cache);
                        map = backend.partitioned("p");
                        map.load(&mut saved.as_slice()).unwrap();
                    }
                }
                _ => assert_eq!(map.partitions(..), mem.partitions(..), "step {step}: partitions"),
            }
            assert_eq!(map.len(), mem.len(), "step {step}: len");
        }
    }

    #[test]
    fn rocks_partitioned_behaves_as_the_memory_one_with_a_tiny_cache() {
        let tmp = tempfile::tempdir().unwrap();
        for (seed, cache) in [(31, 1), (32, 5), (33, 30), (34, 1000)] {
            partitioned_same_as_memory(&tmp.path().join(format!("db-{seed}")), cache, seed);
        }
    }

    /// The state of both kinds of map, sorted.
    type State = (Vec<(u32, Str)>, Vec<((i64, i64), Vec<(u32, i64)>)>);

    fn state(m: &mut RocksMap<u32, Str>, p: &mut RocksPartitioned<(i64, i64), u32, i64>) -> State {
        let keyed = sorted(m.iter().map(|(k, v)| (*k, v.clone())));
        let panes: Vec<(i64, i64)> = p.partitions(..).into_iter().copied().collect();
        let parts = panes.into_iter().map(|pane| (pane, sorted(p.partition(&pane).map(|(k, v)| (*k, *v))))).collect();
        (keyed, parts)
    }

    fn sst_inodes(dir: &Path) -> BTreeMap<String, u64> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().extension().is_some_and(|x| x == "sst"))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().ino()))
            .collect()
    }

    #[test]
    fn a_checkpoint_restores_exactly_its_state_and_shares_unchanged_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (chk_a, chk_b) = (tmp.path().join("chk-a"), tmp.path().join("chk-b"));
        let mut backend = open(&tmp.path().join("work"), 16);
        let mut m: RocksMap<u32, Str> = backend.map("m");
        let mut p: RocksPartitioned<(i64, i64), u32, i64> = backend.partitioned("p");
        m.set_clock(100);
        for k in 0..2000u32 {
            m.insert(k, Str::new(format!("value {k}")));
            *p.entry_or_insert_with(&(i64::from(k % 7) * 10, 0), k % 100, || 0) += i64::from(k);
        }
        let (mut saved_m, mut saved_p) = (Vec::new(), Vec::new());
        m.save(&mut saved_m).unwrap();
        p.save(&mut saved_p).unwrap();
        assert!(
            saved_m.len() < 8 && saved_p.len() < 100,
            "only metadata: {} and {} bytes",
            saved_m.len(),
            saved_p.len()
        );
        backend.checkpoint_to(&chk_a).unwrap();
        let at_a = state(&mut m, &mut p);

        // Changes after the checkpoint; a checkpoint before they are saved is refused.
        m.set_clock(200);
        m.remove(&3);
        m.insert(5000, Str::new("new"));
        *m.get_mut(&7).unwrap() = Str::new("changed");
        p.remove_partition(&(0, 0));
        *p.entry_or_insert_with(&(90, 0), 1, || 0) += 1;
        let err = backend.checkpoint_to(&chk_b).unwrap_err().to_string();
        assert!(err.contains("`m` changed since it was last saved"), "{err}");
        let (mut saved_m_b, mut saved_p_b) = (Vec::new(), Vec::new());
        m.save(&mut saved_m_b).unwrap();
        p.save(&mut saved_p_b).unwrap();
        backend.checkpoint_to(&chk_b).unwrap();
        let at_b = state(&mut m, &mut p);
        assert_ne!(at_a, at_b);

        // The second checkpoint shares the SST files that did not change with the first.
        let (a, b) = (sst_inodes(&chk_a), sst_inodes(&chk_b));
        assert!(!a.is_empty() && b.len() > a.len(), "{a:?} {b:?}");
        assert!(a.iter().any(|(name, ino)| b.get(name) == Some(ino)), "no SST file shared: {a:?} {b:?}");

        // Restoring A gives the state at A (and hard-links its SST files), B the state at B.
        for (chk, saved_m, saved_p, expected) in
            [(&chk_a, &saved_m, &saved_p, &at_a), (&chk_b, &saved_m_b, &saved_p_b, &at_b)]
        {
            let work = tmp.path().join("restored");
            let mut restored = RocksBackend::open(&work, Some(chk)).unwrap().with_cache_entries(10);
            let restored_ssts = sst_inodes(&work);
            assert!(sst_inodes(chk).iter().any(|(name, ino)| restored_ssts.get(name) == Some(ino)));
            let mut rm: RocksMap<u32, Str> = restored.map("m");
            let mut rp: RocksPartitioned<(i64, i64), u32, i64> = restored.partitioned("p");
            rm.load(&mut saved_m.as_slice()).unwrap();
            rp.load(&mut saved_p.as_slice()).unwrap();
            assert_eq!((rm.len(), rp.len()), (expected.0.len(), expected.1.iter().map(|(_, e)| e.len()).sum()));
            assert_eq!(&state(&mut rm, &mut rp), expected);
        }

        // TTL stamps come back too: at A every entry was written at 100.
        let mut restored = RocksBackend::open(&tmp.path().join("restored"), Some(&chk_a)).unwrap();
        let mut rm: RocksMap<u32, Str> = restored.map("m");
        rm.load(&mut saved_m.as_slice()).unwrap();
        assert_eq!(rm.expire(159, 60), 0);
        assert_eq!(rm.expire(160, 60), 2000);
        assert!(rm.is_empty());
    }

    #[test]
    fn a_map_not_loaded_from_a_restored_checkpoint_starts_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let mut backend = open(&tmp.path().join("work"), 2);
        let mut m: RocksMap<u32, u32> = backend.map("m");
        for k in 0..10 {
            m.insert(k, k);
        }
        let mut saved = Vec::new();
        m.save(&mut saved).unwrap();
        backend.checkpoint_to(&tmp.path().join("chk")).unwrap();

        let restored = RocksBackend::open(&tmp.path().join("work2"), Some(&tmp.path().join("chk"))).unwrap();
        let mut fresh: RocksMap<u32, u32> = restored.with_cache_entries(2).map("m");
        assert_eq!((fresh.len(), fresh.get(&1)), (0, None));
        for k in [1, 20, 30] {
            fresh.insert(k, k + 1); // evicts to the database
        }
        assert_eq!(sorted(fresh.iter().map(|(k, v)| (*k, *v))), [(1, 2), (20, 21), (30, 31)]);
        assert_eq!(sorted(fresh.drain_where(|k, _| *k < 25).into_iter()), [(1, 2), (20, 21)]);
        assert_eq!(fresh.len(), 1);

        // A map's state cannot be loaded into a backend that was not restored from it.
        let mut elsewhere: RocksMap<u32, u32> = open(&tmp.path().join("work3"), 2).map("m");
        let err = elsewhere.load(&mut saved.as_slice()).unwrap_err().to_string();
        assert!(err.contains("its 10 entries are not in"), "{err}");
        // Nor restored into the folder it is in, which is removed first.
        let err = RocksBackend::open(tmp.path(), Some(&tmp.path().join("chk"))).unwrap_err().to_string();
        assert!(err.contains("the working folder is removed first"), "{err}");
        assert!(tmp.path().join("chk").exists());
    }

    #[test]
    fn a_window_aggregate_in_rocksdb_checkpoints_and_restores() {
        let tmp = tempfile::tempdir().unwrap();
        let windows = Windows::Cumulate { step: 4, size: 16, offset: 0 };
        let mut rng = Rng(41);
        let rows: Vec<(i64, u8, i64)> =
            (0..2000).map(|i| (i / 4 + rng.below(5) as i64, rng.below(30) as u8, rng.below(100) as i64)).collect();
        type Op<B> = WindowAggregate<u8, Sum<i64>, B>;
        fn run<B: StateBackend>(op: &mut Op<B>, rows: &[(i64, u8, i64)], out: &mut Vec<(i64, i64, u8, i64)>) {
            let mut max = i64::MIN;
            for &(ts, k, v) in rows {
                op.add(ts, k, |acc| acc.add(Some(v)));
                max = max.max(ts);
                op.advance::<()>(max - 5, |k, w, acc| {
                    out.push((w.start, w.end, *k, acc.result().unwrap_or(0)));
                    Ok(())
                })
                .unwrap();
            }
        }
        let make = || -> fn() -> Sum<i64> { Sum::default };
        let merge: fn(&mut Sum<i64>, &Sum<i64>) = |a, b| a.merge(b);

        let mut mem_op: Op<MemoryBackend> =
            WindowAggregate::in_backend(&mut MemoryBackend::new(), "w", windows, make(), Some(merge));
        let mut expected = Vec::new();
        run(&mut mem_op, &rows, &mut expected);

        let mut backend = open(&tmp.path().join("work"), 8);
        let mut op: Op<RocksBackend> = WindowAggregate::in_backend(&mut backend, "w", windows, make(), Some(merge));
        let mut out = Vec::new();
        run(&mut op, &rows[..1000], &mut out);
        let mut saved = Vec::new();
        op.save(&mut saved).unwrap();
        backend.checkpoint_to(&tmp.path().join("chk")).unwrap();
        let at_checkpoint = out.len();
        run(&mut op, &rows[1000..], &mut out);
        // Each window's rows come out in hash order: compare the output before and after
        // the checkpoint as sets.
        let sorted_rows = |rows: &[(i64, i64, u8, i64)]| {
            let mut rows = rows.to_vec();
            rows.sort_unstable();
            rows
        };
        assert_eq!(sorted_rows(&out[..at_checkpoint]), sorted_rows(&expected[..at_checkpoint]));
        assert_eq!(sorted_rows(&out), sorted_rows(&expected), "the same output as in memory, with 8 entries cached");

        let mut restored = RocksBackend::open(&tmp.path().join("work2"), Some(&tmp.path().join("chk"))).unwrap();
        let mut op: Op<RocksBackend> = WindowAggregate::in_backend(&mut restored, "w", windows, make(), Some(merge));
        op.load(&mut saved.as_slice()).unwrap();
        let mut after = Vec::new();
        run(&mut op, &rows[1000..], &mut after);
        assert_eq!(sorted_rows(&after), sorted_rows(&expected[at_checkpoint..]), "the restored operator goes on");
    }
}
