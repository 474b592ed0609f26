//! COUNT, COUNT(DISTINCT …) and the DISTINCT wrapper, with the signed multiset they share
//! with the retracting MIN/MAX.

use super::{Accumulator, Ordered, SqlOrd, pairs};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// `COUNT(*)` and `COUNT(x)`: the input says whether the row counts — `true` for
/// `COUNT(*)`, `x.is_some()` for `COUNT(x)` (NULLs are not counted). The result is a
/// BIGINT, never NULL (0 for no rows).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Count {
    n: i64,
}

impl Accumulator for Count {
    type Input = bool;
    type Output = Option<i64>;

    #[inline]
    fn add(&mut self, counted: bool) {
        self.n += i64::from(counted);
    }

    #[inline]
    fn retract(&mut self, counted: bool) -> bool {
        self.n -= i64::from(counted);
        true
    }

    fn merge(&mut self, other: &Self) {
        self.n += other.n;
    }

    #[inline]
    fn result(&self) -> Option<i64> {
        Some(self.n)
    }
}

/// A multiset with signed counts: a retraction that arrives before its addition (changelog
/// inputs are not always in order) leaves a negative count, which the addition cancels, as
/// Flink's `MapView` counts do. Only values with a positive count are present.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de> + SqlOrd"))]
pub(super) struct CountMap<T> {
    #[serde(with = "pairs")]
    counts: BTreeMap<Ordered<T>, i64>,
    /// How many values have a positive count.
    present: i64,
}

impl<T> Default for CountMap<T> {
    fn default() -> Self {
        CountMap { counts: BTreeMap::new(), present: 0 }
    }
}

impl<T: SqlOrd + Clone> CountMap<T> {
    /// Adds `delta` to `v`'s count; returns `+1` if `v` became present, `-1` if it stopped
    /// being present, `0` otherwise.
    pub(super) fn change(&mut self, v: T, delta: i64) -> i64 {
        if delta == 0 {
            return 0;
        }
        let (before, after) = match self.counts.entry(Ordered(v)) {
            Entry::Vacant(e) => {
                e.insert(delta);
                (0, delta)
            }
            Entry::Occupied(mut e) => {
                let before = *e.get();
                let after = before + delta;
                if after == 0 {
                    e.remove();
                } else {
                    *e.get_mut() = after;
                }
                (before, after)
            }
        };
        let transition = i64::from(after > 0) - i64::from(before > 0);
        self.present += transition;
        transition
    }

    /// The number of values with a positive count.
    pub(super) fn present(&self) -> i64 {
        self.present
    }

    /// The least present value.
    pub(super) fn first(&self) -> Option<&T> {
        self.counts.iter().find(|(_, c)| **c > 0).map(|(v, _)| &v.0)
    }

    /// The greatest present value.
    pub(super) fn last(&self) -> Option<&T> {
        self.counts.iter().rev().find(|(_, c)| **c > 0).map(|(v, _)| &v.0)
    }

    /// Every value with its count.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&T, i64)> {
        self.counts.iter().map(|(v, c)| (&v.0, *c))
    }
}

/// `COUNT(DISTINCT x)`: the number of distinct non-NULL values (by [`SqlOrd`], so
/// `1.50` and `1.5` are one DECIMAL value). Keeps each value with its multiplicity, so it
/// can retract and merge. For `COUNT(DISTINCT a, b)` use a tuple `T` and pass `None`
/// when any argument is NULL.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de> + SqlOrd"))]
pub struct CountDistinct<T> {
    values: CountMap<T>,
}

impl<T> Default for CountDistinct<T> {
    fn default() -> Self {
        CountDistinct { values: CountMap::default() }
    }
}

impl<T: SqlOrd + Clone + Send + 'static> Accumulator for CountDistinct<T> {
    type Input = Option<T>;
    type Output = Option<i64>;

    fn add(&mut self, v: Option<T>) {
        if let Some(v) = v {
            self.values.change(v, 1);
        }
    }

    fn retract(&mut self, v: Option<T>) -> bool {
        if let Some(v) = v {
            self.values.change(v, -1);
        }
        true
    }

    fn merge(&mut self, other: &Self) {
        for (v, c) in other.values.iter() {
            self.values.change(v.clone(), c);
        }
    }

    fn result(&self) -> Option<i64> {
        Some(self.values.present())
    }
}

/// `F(DISTINCT x)` for any aggregate `F` taking `Option<T>` (`SUM(DISTINCT x)`,
/// `AVG(DISTINCT x)`, …): passes a value on to `F` only when it is first seen, and
/// retracts it from `F` when its last occurrence is retracted. NULLs go to `F`
/// unchanged (which ignores them).
///
/// Retracting, or merging in an accumulator that retracted a value it had not seen,
/// calls `F::retract`, so `F` must support it (every aggregate but MIN/MAX/FIRST_VALUE/
/// LAST_VALUE does, and for those DISTINCT changes nothing and is best left out).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "T: Serialize, F: Serialize",
    deserialize = "T: Deserialize<'de> + SqlOrd, F: Deserialize<'de>"
))]
pub struct Distinct<T, F> {
    seen: CountMap<T>,
    inner: F,
}

impl<T, F> Distinct<T, F> {
    /// Wraps a fresh accumulator (for example `Avg::<Decimal>::with_result_scale(6)`).
    pub fn new(inner: F) -> Self {
        Distinct { seen: CountMap::default(), inner }
    }
}

impl<T, F: Default> Default for Distinct<T, F> {
    fn default() -> Self {
        Distinct::new(F::default())
    }
}

impl<T, F> Accumulator for Distinct<T, F>
where
    T: SqlOrd + Clone + Send + 'static,
    F: Accumulator<Input = Option<T>>,
{
    type Input = Option<T>;
    type Output = F::Output;

    fn add(&mut self, v: Option<T>) {
        match v {
            Some(v) => {
                if self.seen.change(v.clone(), 1) > 0 {
                    self.inner.add(Some(v));
                }
            }
            None => self.inner.add(None),
        }
    }

    fn retract(&mut self, v: Option<T>) -> bool {
        match v {
            Some(v) => {
                if self.seen.change(v.clone(), -1) < 0 && !self.inner.retract(Some(v.clone())) {
                    self.seen.change(v, 1);
                    return false;
                }
                true
            }
            None => self.inner.retract(None),
        }
    }

    fn merge(&mut self, other: &Self) {
        for (v, c) in other.seen.iter() {
            match self.seen.change(v.clone(), c) {
                1 => self.inner.add(Some(v.clone())),
                -1 => {
                    self.inner.retract(Some(v.clone()));
                }
                _ => {}
            }
        }
    }

    fn result(&self) -> F::Output {
        self.inner.result()
    }
}
