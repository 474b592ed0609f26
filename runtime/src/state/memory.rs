//! State on the heap: a hash map per operator map, or a B-tree when order matters.

use super::{Key, KeyedMap, PartitionedMap, StateBackend, Value};
use crate::checkpoint::{decode, encode};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeBounds;

/// The in-memory backend: every map a [`MemoryMap`] on the heap.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    names: Vec<String>,
}

impl MemoryBackend {
    /// A backend with no maps yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The names of the maps handed out, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl StateBackend for MemoryBackend {
    type Map<K: Key, V: Value> = MemoryMap<K, V>;
    type Partitioned<P: Key, K: Key, V: Value> = MemoryPartitioned<P, K, V>;

    fn map<K: Key, V: Value>(&mut self, name: &str) -> MemoryMap<K, V> {
        debug_assert!(!self.names.iter().any(|n| n == name), "state map '{name}' requested twice");
        self.names.push(name.to_owned());
        MemoryMap::new()
    }

    fn partitioned<P: Key, K: Key, V: Value>(&mut self, name: &str) -> MemoryPartitioned<P, K, V> {
        debug_assert!(!self.names.iter().any(|n| n == name), "state map '{name}' requested twice");
        self.names.push(name.to_owned());
        MemoryPartitioned { partitions: BTreeMap::new(), len: 0 }
    }
}

/// A [`PartitionedMap`] on the heap: a B-tree of partitions, each a hash map.
#[derive(Clone, Debug)]
pub struct MemoryPartitioned<P, K, V> {
    partitions: BTreeMap<P, FxHashMap<K, V>>,
    len: usize,
}

impl<P: Key, K: Key, V: Value> PartitionedMap<P, K, V> for MemoryPartitioned<P, K, V> {
    fn entry_or_insert_with(&mut self, p: &P, k: K, f: impl FnOnce() -> V) -> &mut V {
        let part = self.partitions.entry(p.clone()).or_default();
        let len = &mut self.len;
        part.entry(k).or_insert_with(|| {
            *len += 1;
            f()
        })
    }

    fn partition(&mut self, p: &P) -> Box<dyn Iterator<Item = (&K, &V)> + '_> {
        match self.partitions.get(p) {
            Some(m) => Box::new(m.iter()),
            None => Box::new(std::iter::empty()),
        }
    }

    fn partitions<R: RangeBounds<P>>(&self, range: R) -> Vec<&P> {
        self.partitions.range(range).map(|(p, _)| p).collect()
    }

    fn first_partition(&self) -> Option<&P> {
        self.partitions.keys().next()
    }

    fn remove_partition(&mut self, p: &P) -> Vec<(K, V)> {
        let entries: Vec<(K, V)> = self.partitions.remove(p).map(|m| m.into_iter().collect()).unwrap_or_default();
        self.len -= entries.len();
        entries
    }

    fn len(&self) -> usize {
        self.len
    }

    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        encode(&self.partitions.len(), out)?;
        for (p, part) in &self.partitions {
            encode(&(p, part.len()), out)?;
            for entry in part {
                encode(&entry, out)?;
            }
        }
        Ok(())
    }

    fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
        self.partitions.clear();
        self.len = 0;
        let n: usize = decode(input)?;
        for _ in 0..n {
            let (p, entries): (P, usize) = decode(input)?;
            let mut part = FxHashMap::default();
            for _ in 0..entries {
                let (k, v): (K, V) = decode(input)?;
                part.insert(k, v);
            }
            self.len += part.len();
            self.partitions.insert(p, part);
        }
        Ok(())
    }

    fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
        let n: usize = decode(input)?;
        for _ in 0..n {
            let (p, entries): (P, usize) = decode(input)?;
            for _ in 0..entries {
                let (k, v): (K, V) = decode(input)?;
                if keep(&k) {
                    let len = &mut self.len;
                    self.partitions.entry(p.clone()).or_default().entry(k).or_insert_with(|| {
                        *len += 1;
                        v
                    });
                }
            }
        }
        Ok(())
    }
}

/// A value with the time it was last written (for TTL).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Slot<V> {
    value: V,
    written_ms: i64,
}

/// Bytes a map spends per entry besides the entry itself (hash table control bytes and
/// spare capacity; B-tree node headers and slack), roughly.
const OVERHEAD_PER_ENTRY: usize = 16;

macro_rules! keyed_map {
    ($name:ident, $map:ident) => {
        impl<K, V> $name<K, V> {
            /// An empty map.
            pub fn new() -> Self {
                $name { map: $map::new(), clock_ms: 0 }
            }
        }

        impl<K, V> Default for $name<K, V> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<K: Key, V: Value> KeyedMap<K, V> for $name<K, V> {
            #[inline]
            fn get(&mut self, k: &K) -> Option<&V> {
                self.map.get(k).map(|s| &s.value)
            }

            #[inline]
            fn get_mut(&mut self, k: &K) -> Option<&mut V> {
                let clock_ms = self.clock_ms;
                self.map.get_mut(k).map(|s| {
                    s.written_ms = clock_ms;
                    &mut s.value
                })
            }

            #[inline]
            fn entry_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
                let clock_ms = self.clock_ms;
                let slot = self.map.entry(k).or_insert_with(|| Slot { value: f(), written_ms: clock_ms });
                slot.written_ms = clock_ms;
                &mut slot.value
            }

            fn insert(&mut self, k: K, v: V) -> Option<V> {
                self.map.insert(k, Slot { value: v, written_ms: self.clock_ms }).map(|s| s.value)
            }

            fn remove(&mut self, k: &K) -> Option<V> {
                self.map.remove(k).map(|s| s.value)
            }

            fn len(&self) -> usize {
                self.map.len()
            }

            fn drain_where(&mut self, mut pred: impl FnMut(&K, &V) -> bool) -> Vec<(K, V)> {
                let keys: Vec<K> = self.map.iter().filter(|(k, s)| pred(k, &s.value)).map(|(k, _)| k.clone()).collect();
                keys.into_iter().filter_map(|k| self.map.remove(&k).map(|s| (k, s.value))).collect()
            }

            fn iter(&mut self) -> Box<dyn Iterator<Item = (&K, &V)> + '_> {
                Box::new(self.map.iter().map(|(k, s)| (k, &s.value)))
            }

            fn approximate_bytes(&self) -> usize {
                self.map.len() * (size_of::<K>() + size_of::<Slot<V>>() + OVERHEAD_PER_ENTRY)
            }

            fn set_clock(&mut self, now_ms: i64) {
                self.clock_ms = now_ms;
            }

            fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
                encode(&self.map.len(), out)?;
                for entry in &self.map {
                    encode(&entry, out)?;
                }
                Ok(())
            }

            fn load(&mut self, input: &mut &[u8]) -> crate::Result<()> {
                self.map.clear();
                let n: usize = decode(input)?;
                for _ in 0..n {
                    let (k, slot): (K, Slot<V>) = decode(input)?;
                    self.map.insert(k, slot);
                }
                Ok(())
            }

            fn merge(&mut self, input: &mut &[u8], keep: &dyn Fn(&K) -> bool) -> crate::Result<()> {
                let n: usize = decode(input)?;
                for _ in 0..n {
                    let (k, slot): (K, Slot<V>) = decode(input)?;
                    if keep(&k) {
                        self.map.insert(k, slot);
                    }
                }
                Ok(())
            }

            fn expire(&mut self, now_ms: i64, ttl_ms: i64) -> usize {
                if ttl_ms <= 0 {
                    return 0;
                }
                let before = self.map.len();
                self.map.retain(|_, s| i128::from(s.written_ms) + i128::from(ttl_ms) > i128::from(now_ms));
                before - self.map.len()
            }
        }
    };
}

/// A [`KeyedMap`] in a hash map: [`MemoryBackend`]'s maps. Iteration order is arbitrary.
#[derive(Clone, Debug)]
pub struct MemoryMap<K, V> {
    map: HashMap<K, Slot<V>>,
    clock_ms: i64,
}

keyed_map!(MemoryMap, HashMap);

/// A [`KeyedMap`] in a B-tree, for state read in key order (timestamps first in the key,
/// for example): iteration and [`KeyedMap::drain_where`] go by key, and
/// [`SortedMap::drain_range`] takes a range of keys out without visiting the rest.
#[derive(Clone, Debug)]
pub struct SortedMap<K, V> {
    map: BTreeMap<K, Slot<V>>,
    clock_ms: i64,
}

keyed_map!(SortedMap, BTreeMap);

impl<K: Key, V: Value> SortedMap<K, V> {
    /// The entry with the least key.
    pub fn first(&self) -> Option<(&K, &V)> {
        self.map.first_key_value().map(|(k, s)| (k, &s.value))
    }

    /// The entry with the greatest key.
    pub fn last(&self) -> Option<(&K, &V)> {
        self.map.last_key_value().map(|(k, s)| (k, &s.value))
    }

    /// The entries with keys in `range`, in key order.
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = (&K, &V)> {
        self.map.range(range).map(|(k, s)| (k, &s.value))
    }

    /// Removes and returns the entries with keys in `range`, in key order.
    pub fn drain_range<R: RangeBounds<K>>(&mut self, range: R) -> Vec<(K, V)> {
        let keys: Vec<K> = self.map.range(range).map(|(k, _)| k.clone()).collect();
        keys.into_iter().filter_map(|k| self.map.remove(&k).map(|s| (k, s.value))).collect()
    }
}
