//! A total order (and matching hash) on SQL values, doubles included.

use crate::types::{Date, Decimal, Interval, Str, Time, Timestamp};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// SQL values MIN, MAX and DISTINCT compare: a total order with a hash that agrees with
/// it (equal values hash equally).
///
/// Doubles and floats use IEEE 754 `totalOrder` (as Java's `Double.compareTo`, which
/// Flink's retracting MIN/MAX use): `-0.0 < 0.0`, and NaN is above every number.
/// DECIMALs compare by value whatever their scale (`1.50 = 1.5`); strings byte-wise
/// (Unicode code point order, as Flink's `BinaryStringData`). `Option` puts NULL first;
/// tuples compare lexicographically (multi-argument `COUNT(DISTINCT a, b)`).
pub trait SqlOrd {
    /// Compares two values.
    fn sql_cmp(&self, other: &Self) -> Ordering;
    /// Hashes the value consistently with [`SqlOrd::sql_cmp`].
    fn sql_hash<H: Hasher>(&self, state: &mut H);
}

macro_rules! by_ord {
    ($($t:ty),*) => {$(
        impl SqlOrd for $t {
            #[inline]
            fn sql_cmp(&self, other: &Self) -> Ordering {
                Ord::cmp(self, other)
            }
            #[inline]
            fn sql_hash<H: Hasher>(&self, state: &mut H) {
                Hash::hash(self, state)
            }
        }
    )*};
}
by_ord!(bool, i8, i16, i32, i64, i128, u8, u16, u32, u64);
by_ord!(Decimal, Str, String, Vec<u8>, Date, Time, Timestamp, Interval);

macro_rules! by_total_cmp {
    ($($t:ty),*) => {$(
        impl SqlOrd for $t {
            #[inline]
            fn sql_cmp(&self, other: &Self) -> Ordering {
                self.total_cmp(other)
            }
            #[inline]
            fn sql_hash<H: Hasher>(&self, state: &mut H) {
                // total_cmp is Equal exactly when the bits are.
                self.to_bits().hash(state)
            }
        }
    )*};
}
by_total_cmp!(f32, f64);

impl<T: SqlOrd> SqlOrd for Option<T> {
    fn sql_cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => a.sql_cmp(b),
        }
    }

    fn sql_hash<H: Hasher>(&self, state: &mut H) {
        match self {
            None => state.write_u8(0),
            Some(v) => {
                state.write_u8(1);
                v.sql_hash(state)
            }
        }
    }
}

macro_rules! tuples {
    ($(($($n:tt $t:ident),+)),*) => {$(
        impl<$($t: SqlOrd),+> SqlOrd for ($($t,)+) {
            fn sql_cmp(&self, other: &Self) -> Ordering {
                Ordering::Equal$(.then_with(|| self.$n.sql_cmp(&other.$n)))+
            }
            fn sql_hash<H: Hasher>(&self, state: &mut H) {
                $(self.$n.sql_hash(state);)+
            }
        }
    )*};
}
tuples!((0 A), (0 A, 1 B), (0 A, 1 B, 2 C), (0 A, 1 B, 2 C, 3 D), (0 A, 1 B, 2 C, 3 D, 4 E));

/// A value ordered, compared and hashed by [`SqlOrd`]: a key for ordered sets and maps
/// (the values MIN/MAX/DISTINCT keep) and for group keys holding doubles, which have no
/// `Ord`/`Eq`/`Hash` of their own. Serialized as the value itself.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ordered<T>(pub T);

impl<T: SqlOrd> PartialEq for Ordered<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0.sql_cmp(&other.0) == Ordering::Equal
    }
}

impl<T: SqlOrd> Eq for Ordered<T> {}

impl<T: SqlOrd> PartialOrd for Ordered<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: SqlOrd> Ord for Ordered<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.sql_cmp(&other.0)
    }
}

impl<T: SqlOrd> Hash for Ordered<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.sql_hash(state)
    }
}
