//! SUM and AVG.

use super::Accumulator;
use crate::types::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Types SUM adds up, in the type itself as Flink does: integers wrap on overflow (Java
/// arithmetic), floats are IEEE, DECIMALs are exact (the result type is
/// DECIMAL(38, s): NULL when the sum needs more than 38 digits).
pub trait SumInput: Copy + Debug + Send + Serialize + DeserializeOwned + 'static {
    /// The sum of nothing.
    fn zero() -> Self;
    /// `self + v`; `None` if the sum can no longer be represented (DECIMAL only).
    fn plus(self, v: Self) -> Option<Self>;
    /// `self - v`; `None` if the sum can no longer be represented (DECIMAL only).
    fn minus(self, v: Self) -> Option<Self>;
    /// The SQL value of a sum: `None` if it does not fit the result type.
    fn finish(self) -> Option<Self> {
        Some(self)
    }
}

macro_rules! int_sum {
    ($($t:ty),*) => {$(
        impl SumInput for $t {
            #[inline] fn zero() -> Self { 0 }
            #[inline] fn plus(self, v: Self) -> Option<Self> { Some(self.wrapping_add(v)) }
            #[inline] fn minus(self, v: Self) -> Option<Self> { Some(self.wrapping_sub(v)) }
        }
    )*};
}
int_sum!(i8, i16, i32, i64);

macro_rules! float_sum {
    ($($t:ty),*) => {$(
        impl SumInput for $t {
            #[inline] fn zero() -> Self { 0.0 }
            #[inline] fn plus(self, v: Self) -> Option<Self> { Some(self + v) }
            #[inline] fn minus(self, v: Self) -> Option<Self> { Some(self - v) }
        }
    )*};
}
float_sum!(f32, f64);

impl SumInput for Decimal {
    fn zero() -> Self {
        Decimal::from_i64(0)
    }
    fn plus(self, v: Self) -> Option<Self> {
        self.checked_add(v)
    }
    fn minus(self, v: Self) -> Option<Self> {
        self.checked_sub(v)
    }
    fn finish(self) -> Option<Self> {
        (!self.exceeds(38)).then_some(self)
    }
}

/// `SUM(x)`: NULL when no non-NULL value was added (or all were retracted), otherwise
/// the sum in `x`'s type (see [`SumInput`]). A DECIMAL sum keeps the largest scale of its
/// inputs; generated code casts the argument to the column's DECIMAL(p, s) first, so that
/// is `s`, as in Flink's DECIMAL(38, s).
///
/// Keeps a count of the non-NULL values next to the sum (Flink's retracting SUM), so
/// that retracting every value gives NULL again.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
pub struct Sum<T> {
    sum: T,
    count: i64,
    /// A DECIMAL sum went beyond `i128`: the result stays NULL.
    overflow: bool,
}

impl<T: SumInput> Default for Sum<T> {
    fn default() -> Self {
        Sum { sum: T::zero(), count: 0, overflow: false }
    }
}

impl<T: SumInput> Sum<T> {
    fn set(&mut self, sum: Option<T>) {
        match sum {
            Some(s) => self.sum = s,
            None => self.overflow = true,
        }
    }
}

impl<T: SumInput> Accumulator for Sum<T> {
    type Input = Option<T>;
    type Output = Option<T>;

    #[inline]
    fn add(&mut self, v: Option<T>) {
        if let Some(v) = v {
            self.count += 1;
            self.set(self.sum.plus(v));
        }
    }

    #[inline]
    fn retract(&mut self, v: Option<T>) -> bool {
        if let Some(v) = v {
            self.count -= 1;
            self.set(self.sum.minus(v));
        }
        true
    }

    fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.overflow |= other.overflow;
        self.set(self.sum.plus(other.sum));
    }

    #[inline]
    fn result(&self) -> Option<T> {
        if self.count == 0 || self.overflow { None } else { self.sum.finish() }
    }
}

/// Types AVG averages, with Flink's result types: integers average in a BIGINT sum and
/// return their own type, truncated toward zero (`AVG` of INT 1 and 2 is 1); FLOAT and
/// DOUBLE average in a DOUBLE sum; DECIMAL(p, s) averages exactly and returns
/// DECIMAL(38, max(6, s)) (see [`avg_decimal_scale`]), rounded half up.
pub trait AvgInput: Copy + Send + 'static {
    /// The running sum's type.
    type Sum: Copy + Debug + Send + Serialize + DeserializeOwned + 'static;
    /// The sum of nothing.
    fn zero() -> Self::Sum;
    /// `sum + v`; `None` if the sum can no longer be represented (DECIMAL only).
    fn plus(sum: Self::Sum, v: Self) -> Option<Self::Sum>;
    /// `sum - v`; `None` if the sum can no longer be represented (DECIMAL only).
    fn minus(sum: Self::Sum, v: Self) -> Option<Self::Sum>;
    /// `a + b` for merging; `None` if it cannot be represented (DECIMAL only).
    fn merge(a: Self::Sum, b: Self::Sum) -> Option<Self::Sum>;
    /// `sum / count` (`count != 0`) in the result type; `scale` is the result's DECIMAL
    /// scale, ignored by other types.
    fn average(sum: Self::Sum, count: i64, scale: u8) -> Option<Self>;
}

macro_rules! int_avg {
    ($($t:ty),*) => {$(
        impl AvgInput for $t {
            type Sum = i64;
            #[inline] fn zero() -> i64 { 0 }
            #[inline] fn plus(sum: i64, v: Self) -> Option<i64> { Some(sum.wrapping_add(i64::from(v))) }
            #[inline] fn minus(sum: i64, v: Self) -> Option<i64> { Some(sum.wrapping_sub(i64::from(v))) }
            #[inline] fn merge(a: i64, b: i64) -> Option<i64> { Some(a.wrapping_add(b)) }
            #[inline]
            fn average(sum: i64, count: i64, _scale: u8) -> Option<Self> {
                // Java's long division truncates toward zero; the narrowing cast wraps.
                Some(sum.wrapping_div(count) as $t)
            }
        }
    )*};
}
int_avg!(i8, i16, i32, i64);

macro_rules! float_avg {
    ($($t:ty),*) => {$(
        impl AvgInput for $t {
            type Sum = f64;
            #[inline] fn zero() -> f64 { 0.0 }
            #[inline] fn plus(sum: f64, v: Self) -> Option<f64> { Some(sum + f64::from(v)) }
            #[inline] fn minus(sum: f64, v: Self) -> Option<f64> { Some(sum - f64::from(v)) }
            #[inline] fn merge(a: f64, b: f64) -> Option<f64> { Some(a + b) }
            #[inline]
            fn average(sum: f64, count: i64, _scale: u8) -> Option<Self> {
                Some((sum / count as f64) as $t)
            }
        }
    )*};
}
float_avg!(f32, f64);

impl AvgInput for Decimal {
    type Sum = Decimal;
    fn zero() -> Decimal {
        Decimal::from_i64(0)
    }
    fn plus(sum: Decimal, v: Self) -> Option<Decimal> {
        sum.checked_add(v)
    }
    fn minus(sum: Decimal, v: Self) -> Option<Decimal> {
        sum.checked_sub(v)
    }
    fn merge(a: Decimal, b: Decimal) -> Option<Decimal> {
        a.checked_add(b)
    }
    fn average(sum: Decimal, count: i64, scale: u8) -> Option<Self> {
        sum.checked_div(Decimal::from_i64(count), scale).filter(|d| !d.exceeds(38))
    }
}

/// The scale of `AVG` over DECIMAL(p, `input_scale`): Flink's result type is
/// DECIMAL(38, max(6, s)).
pub const fn avg_decimal_scale(input_scale: u8) -> u8 {
    if input_scale > 6 { input_scale } else { 6 }
}

/// `AVG(x)`: NULL when no non-NULL value was added (or all were retracted), otherwise
/// the mean in Flink's result type (see [`AvgInput`]). Built with `Avg::<T>::new()` (or
/// `default()`) for numbers, and with [`Avg::with_result_scale`] for DECIMAL, whose
/// result scale is part of the SQL type.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "", deserialize = ""))]
pub struct Avg<T: AvgInput> {
    sum: T::Sum,
    count: i64,
    /// A DECIMAL sum went beyond `i128`: the result stays NULL.
    overflow: bool,
    /// The result's DECIMAL scale.
    scale: u8,
}

macro_rules! avg_new {
    ($($t:ty),*) => {$(
        impl Avg<$t> {
            #[doc = concat!("An empty `AVG` of `", stringify!($t), "`.")]
            pub fn new() -> Self {
                Avg { sum: <$t as AvgInput>::zero(), count: 0, overflow: false, scale: 0 }
            }
        }

        impl Default for Avg<$t> {
            fn default() -> Self {
                Self::new()
            }
        }
    )*};
}
avg_new!(i8, i16, i32, i64, f32, f64);

impl Avg<Decimal> {
    /// An empty `AVG` of DECIMALs whose result has `scale` digits after the point:
    /// [`avg_decimal_scale`] of the argument's scale.
    pub fn with_result_scale(scale: u8) -> Self {
        Avg { sum: Decimal::from_i64(0), count: 0, overflow: false, scale }
    }
}

impl<T: AvgInput> Avg<T> {
    fn set(&mut self, sum: Option<T::Sum>) {
        match sum {
            Some(s) => self.sum = s,
            None => self.overflow = true,
        }
    }
}

impl<T: AvgInput> Accumulator for Avg<T> {
    type Input = Option<T>;
    type Output = Option<T>;

    #[inline]
    fn add(&mut self, v: Option<T>) {
        if let Some(v) = v {
            self.count += 1;
            self.set(T::plus(self.sum, v));
        }
    }

    #[inline]
    fn retract(&mut self, v: Option<T>) -> bool {
        if let Some(v) = v {
            self.count -= 1;
            self.set(T::minus(self.sum, v));
        }
        true
    }

    fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.overflow |= other.overflow;
        self.set(T::merge(self.sum, other.sum));
    }

    fn result(&self) -> Option<T> {
        if self.count == 0 || self.overflow { None } else { T::average(self.sum, self.count, self.scale) }
    }
}
