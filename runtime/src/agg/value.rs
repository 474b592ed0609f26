//! FIRST_VALUE and LAST_VALUE, plain and retracting.

use super::{Accumulator, Ordered, SqlOrd, pairs};
use serde::{Deserialize, Serialize};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

/// `FIRST_VALUE(x)` (`LAST = false`) or `LAST_VALUE(x)` (`LAST = true`) by arrival order:
/// the first (last) non-NULL value added — Flink's `FirstValueAggFunction` and
/// `LastValueAggFunction` skip NULLs — or NULL if there was none. Cannot retract
/// (`retract` returns `false`); see [`FirstLastRetract`]. `a.merge(&b)` treats `b`'s rows
/// as the later ones.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FirstLast<T, const LAST: bool> {
    value: Option<T>,
}

/// `FIRST_VALUE(x)`: see [`FirstLast`].
pub type FirstValue<T> = FirstLast<T, false>;
/// `LAST_VALUE(x)`: see [`FirstLast`].
pub type LastValue<T> = FirstLast<T, true>;

impl<T, const LAST: bool> Default for FirstLast<T, LAST> {
    fn default() -> Self {
        FirstLast { value: None }
    }
}

impl<T: Clone + Send + 'static, const LAST: bool> Accumulator for FirstLast<T, LAST> {
    type Input = Option<T>;
    type Output = Option<T>;

    #[inline]
    fn add(&mut self, v: Option<T>) {
        if v.is_some() && (LAST || self.value.is_none()) {
            self.value = v;
        }
    }

    fn retract(&mut self, _v: Option<T>) -> bool {
        false
    }

    fn merge(&mut self, other: &Self) {
        self.add(other.value.clone());
    }

    #[inline]
    fn result(&self) -> Option<T> {
        self.value.clone()
    }
}

/// Retracting `FIRST_VALUE(x)`/`LAST_VALUE(x)` for changelog inputs (Flink's
/// `…WithRetractAggFunction`): keeps every non-NULL value in arrival order. Retracting a
/// value removes its earliest remaining occurrence, as Flink does; retracting a value not
/// present does nothing. Costs a map entry per live input row per group.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de> + SqlOrd"))]
pub struct FirstLastRetract<T, const LAST: bool> {
    /// Arrival number → value.
    #[serde(with = "pairs")]
    by_arrival: BTreeMap<u64, T>,
    /// Value → its arrival numbers, ascending.
    #[serde(with = "pairs")]
    by_value: BTreeMap<Ordered<T>, VecDeque<u64>>,
    next: u64,
}

/// Retracting `FIRST_VALUE(x)`: see [`FirstLastRetract`].
pub type FirstValueRetract<T> = FirstLastRetract<T, false>;
/// Retracting `LAST_VALUE(x)`: see [`FirstLastRetract`].
pub type LastValueRetract<T> = FirstLastRetract<T, true>;

impl<T, const LAST: bool> Default for FirstLastRetract<T, LAST> {
    fn default() -> Self {
        FirstLastRetract { by_arrival: BTreeMap::new(), by_value: BTreeMap::new(), next: 0 }
    }
}

impl<T: SqlOrd + Clone + Send + 'static, const LAST: bool> Accumulator for FirstLastRetract<T, LAST> {
    type Input = Option<T>;
    type Output = Option<T>;

    fn add(&mut self, v: Option<T>) {
        if let Some(v) = v {
            let n = self.next;
            self.next += 1;
            self.by_arrival.insert(n, v.clone());
            self.by_value.entry(Ordered(v)).or_default().push_back(n);
        }
    }

    fn retract(&mut self, v: Option<T>) -> bool {
        let Some(v) = v else { return true };
        if let Entry::Occupied(mut e) = self.by_value.entry(Ordered(v)) {
            if let Some(n) = e.get_mut().pop_front() {
                self.by_arrival.remove(&n);
            }
            if e.get().is_empty() {
                e.remove();
            }
        }
        true
    }

    fn merge(&mut self, other: &Self) {
        for v in other.by_arrival.values() {
            self.add(Some(v.clone()));
        }
    }

    fn result(&self) -> Option<T> {
        if LAST { self.by_arrival.last_key_value() } else { self.by_arrival.first_key_value() }.map(|(_, v)| v.clone())
    }
}
