//! MIN and MAX, plain and retracting.

use super::count::CountMap;
use super::{Accumulator, SqlOrd};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// `MIN(x)` (`MAX = false`) or `MAX(x)` (`MAX = true`) over any [`SqlOrd`] type: NULL
/// when no non-NULL value was added. Keeps only the current extreme, so it cannot retract
/// (`retract` returns `false`); see [`MinMaxRetract`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MinMax<T, const MAX: bool> {
    value: Option<T>,
}

/// `MIN(x)`: see [`MinMax`].
pub type Min<T> = MinMax<T, false>;
/// `MAX(x)`: see [`MinMax`].
pub type Max<T> = MinMax<T, true>;

impl<T, const MAX: bool> Default for MinMax<T, MAX> {
    fn default() -> Self {
        MinMax { value: None }
    }
}

/// Whether `v` replaces `current` as the extreme (ties keep the current value).
#[inline]
fn better<T: SqlOrd, const MAX: bool>(v: &T, current: &T) -> bool {
    v.sql_cmp(current) == if MAX { Ordering::Greater } else { Ordering::Less }
}

impl<T: SqlOrd + Clone + Send + 'static, const MAX: bool> Accumulator for MinMax<T, MAX> {
    type Input = Option<T>;
    type Output = Option<T>;

    #[inline]
    fn add(&mut self, v: Option<T>) {
        if let Some(v) = v {
            match &self.value {
                Some(current) if !better::<T, MAX>(&v, current) => {}
                _ => self.value = Some(v),
            }
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

/// Retracting `MIN(x)`/`MAX(x)` for changelog inputs (Flink's `MinWithRetractAggFunction`):
/// keeps every non-NULL value with its multiplicity in an ordered map, so the extreme is
/// known again after it is retracted. Costs a map entry per distinct value per group.
/// A retraction arriving before its value leaves a negative count that the value's
/// arrival cancels.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de> + SqlOrd"))]
pub struct MinMaxRetract<T, const MAX: bool> {
    values: CountMap<T>,
}

/// Retracting `MIN(x)`: see [`MinMaxRetract`].
pub type MinRetract<T> = MinMaxRetract<T, false>;
/// Retracting `MAX(x)`: see [`MinMaxRetract`].
pub type MaxRetract<T> = MinMaxRetract<T, true>;

impl<T, const MAX: bool> Default for MinMaxRetract<T, MAX> {
    fn default() -> Self {
        MinMaxRetract { values: CountMap::default() }
    }
}

impl<T: SqlOrd + Clone + Send + 'static, const MAX: bool> Accumulator for MinMaxRetract<T, MAX> {
    type Input = Option<T>;
    type Output = Option<T>;

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

    fn result(&self) -> Option<T> {
        if MAX { self.values.last() } else { self.values.first() }.cloned()
    }
}
