//! Each accumulator against a reference computed from the whole input list: after every
//! `add`, merged from random chunks, after random retractions, and through a JSON
//! round trip; plus the Flink-specific corner cases.

use super::*;
use crate::types::{Decimal, Str, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;

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

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `true` with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// Up to 40 values, about a quarter NULL (all NULL now and then).
    fn list<T>(&mut self, mut value: impl FnMut(&mut Rng) -> T) -> Vec<Option<T>> {
        let n = self.below(41);
        let nulls = if self.chance(10) { 100 } else { 25 };
        (0..n).map(|_| if self.chance(nulls) { None } else { Some(value(self)) }).collect()
    }
}

const TRIALS: usize = 150;

/// Checks `make()` against `reference` on random input lists from `generate`:
/// - after each `add`, the result is the reference of the prefix;
/// - accumulating random chunks separately and merging them gives the reference;
/// - a JSON round trip keeps the result, and the restored accumulator goes on accumulating;
/// - when `retracts`, retracting random inputs gives the reference of what is left (the
///   first equal input removed), down to the empty list; otherwise `retract` returns
///   `false` and changes nothing.
fn check<A>(
    seed: u64,
    make: impl Fn() -> A,
    mut generate: impl FnMut(&mut Rng) -> Vec<A::Input>,
    reference: impl Fn(&[A::Input]) -> A::Output,
    retracts: bool,
) where
    A: Accumulator + Serialize + DeserializeOwned,
    A::Input: Clone + PartialEq + Debug,
    A::Output: PartialEq + Debug,
{
    let mut rng = Rng(seed);
    for trial in 0..TRIALS {
        let inputs = generate(&mut rng);
        let mut acc = make();
        assert_eq!(acc.result(), reference(&[]), "trial {trial}: empty");
        for i in 0..inputs.len() {
            acc.add(inputs[i].clone());
            assert_eq!(acc.result(), reference(&inputs[..=i]), "trial {trial}: after adding {:?}", &inputs[..=i]);
        }

        // Merge: chunks accumulated apart, merged left to right (into a non-empty one too).
        let mut cuts: Vec<usize> = (0..rng.below(4)).map(|_| rng.below(inputs.len() + 1)).collect();
        cuts.extend([0, inputs.len()]);
        cuts.sort_unstable();
        let mut merged: Option<A> = None;
        for w in cuts.windows(2) {
            let mut part = make();
            inputs[w[0]..w[1]].iter().for_each(|v| part.add(v.clone()));
            match &mut merged {
                None => merged = Some(part),
                Some(m) => m.merge(&part),
            }
        }
        assert_eq!(merged.unwrap().result(), reference(&inputs), "trial {trial}: merged at {cuts:?} {inputs:?}");

        // Serialization round trip.
        let json = serde_json::to_string(&acc).unwrap();
        let mut back: A = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(back.result(), acc.result(), "trial {trial}: restored from {json}");
        let extra = generate(&mut rng);
        let mut all = inputs.clone();
        for v in &extra {
            back.add(v.clone());
            all.push(v.clone());
        }
        assert_eq!(back.result(), reference(&all), "trial {trial}: restored, then added {extra:?}");

        // Retraction.
        if retracts {
            let mut left = inputs.clone();
            let n = if trial % 5 == 0 { left.len() } else { rng.below(left.len() + 1) };
            for _ in 0..n {
                let v = left[rng.below(left.len())].clone();
                left.remove(left.iter().position(|x| *x == v).unwrap());
                assert!(acc.retract(v.clone()), "trial {trial}: retract refused");
                assert_eq!(acc.result(), reference(&left), "trial {trial}: after retracting {v:?} from {inputs:?}");
            }
            // And adding again goes on from there.
            for v in &extra {
                acc.add(v.clone());
                left.push(v.clone());
            }
            assert_eq!(acc.result(), reference(&left), "trial {trial}: re-added {extra:?}");
        } else if let Some(v) = inputs.iter().find(|v| *v != &inputs[0]).or(inputs.first()) {
            let before = serde_json::to_string(&acc).unwrap();
            assert!(!acc.retract(v.clone()), "trial {trial}: retract accepted");
            assert_eq!(serde_json::to_string(&acc).unwrap(), before, "trial {trial}: refused retract changed state");
        }
    }
}

fn non_null<T: Clone>(xs: &[Option<T>]) -> Vec<T> {
    xs.iter().flatten().cloned().collect()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn some_dec(s: &str) -> Option<Decimal> {
    Some(dec(s))
}

/// Quarter-integers: their sums are exact in doubles, whatever the order of addition.
fn quarter(rng: &mut Rng) -> f64 {
    (rng.below(2001) as f64 - 1000.0) / 4.0
}

/// Decimals of scale 2 up to ±10^10. (Not larger: `Decimal` serializes as a JSON number
/// when a double holds it, and serde_json's number parsing is not exact beyond 15 digits,
/// so the JSON round trip of bigger sums is lossy.)
fn cents(rng: &mut Rng) -> Decimal {
    Decimal::new((rng.next() % 2_000_000_000_001) as i128 - 1_000_000_000_000, 2)
}

/// Decimals equal in value but of various scales (1.5, 1.50, 1.500).
fn mixed_scale(rng: &mut Rng) -> Decimal {
    let halves = rng.below(7) as i128 - 3;
    let extra = rng.below(3) as u32;
    Decimal::new(halves * 5 * 10i128.pow(extra), 1 + extra as u8)
}

fn word(rng: &mut Rng) -> Str {
    Str::new(["", "a", "ab", "b", "ba", "é", "z", "a long string beyond the inline size"][rng.below(8)])
}

// ---------------------------------------------------------------------------------
// COUNT

#[test]
fn count_counts_rows_and_non_null_values() {
    let count = |xs: &[bool]| Some(xs.iter().filter(|b| **b).count() as i64);
    check(1, Count::default, |r| (0..r.below(40)).map(|_| r.chance(60)).collect(), count, true);

    // COUNT(*) counts NULL rows, COUNT(x) does not.
    let rows = [Some(1), None, Some(3), None];
    let (mut star, mut x) = (Count::default(), Count::default());
    for v in rows {
        star.add(true);
        x.add(v.is_some());
    }
    assert_eq!((star.result(), x.result()), (Some(4), Some(2)));
    assert_eq!(Count::default().result(), Some(0));
}

#[test]
fn count_distinct_against_reference() {
    fn distinct<T: SqlOrd + Clone>(xs: &[Option<T>]) -> Option<i64> {
        Some(non_null(xs).into_iter().map(Ordered).collect::<BTreeSet<_>>().len() as i64)
    }
    check(2, CountDistinct::default, |r| r.list(|r| r.below(8) as i64), distinct, true);
    check(3, CountDistinct::default, |r| r.list(word), distinct, true);
    check(4, CountDistinct::default, |r| r.list(mixed_scale), distinct, true);
    check(
        5,
        CountDistinct::default,
        |r| r.list(|r| (r.below(3) as i32, r.chance(50).then_some(word(r)))),
        distinct,
        true,
    );
}

#[test]
fn count_distinct_ignores_null_and_counts_equal_decimals_once() {
    let mut c = CountDistinct::default();
    for v in [None, Some(1), Some(1), None, Some(2)] {
        c.add(v);
    }
    assert_eq!(c.result(), Some(2));
    c.retract(Some(1));
    assert_eq!(c.result(), Some(2));
    c.retract(Some(1));
    assert_eq!(c.result(), Some(1));
    c.retract(None);
    assert_eq!(c.result(), Some(1));

    let mut d = CountDistinct::default();
    for v in ["1.5", "1.50", "1.500", "2"] {
        d.add(some_dec(v));
    }
    assert_eq!(d.result(), Some(2));
    assert_eq!(CountDistinct::<i64>::default().result(), Some(0));
}

#[test]
fn retraction_before_addition_cancels() {
    // A changelog may deliver -U before the matching +I: the count goes negative, and the
    // late addition cancels it instead of making the value present.
    let mut c = CountDistinct::default();
    c.add(Some(2));
    c.retract(Some(3));
    assert_eq!(c.result(), Some(1));
    c.add(Some(3));
    assert_eq!(c.result(), Some(1));
    c.add(Some(3));
    assert_eq!(c.result(), Some(2));

    let mut m = MaxRetract::default();
    m.retract(Some(9));
    assert_eq!(m.result(), None);
    m.add(Some(4));
    assert_eq!(m.result(), Some(4));
    m.add(Some(9));
    assert_eq!(m.result(), Some(4));
    m.add(Some(9));
    assert_eq!(m.result(), Some(9));

    // The same through merge.
    let (mut a, mut b) = (MinRetract::default(), MinRetract::default());
    a.retract(Some(1));
    a.add(Some(5));
    b.add(Some(1));
    a.merge(&b);
    assert_eq!(a.result(), Some(5));
}

// ---------------------------------------------------------------------------------
// SUM

fn sum_ref<T: SumInput>(xs: &[Option<T>]) -> Option<T> {
    let vs = non_null(xs);
    if vs.is_empty() { None } else { vs.into_iter().try_fold(T::zero(), T::plus)?.finish() }
}

#[test]
fn sum_against_reference() {
    check(10, Sum::<i64>::default, |r| r.list(|r| r.next() as i64), sum_ref, true);
    check(11, Sum::<i32>::default, |r| r.list(|r| r.next() as i32), sum_ref, true);
    check(12, Sum::<i16>::default, |r| r.list(|r| r.next() as i16), sum_ref, true);
    check(13, Sum::<i8>::default, |r| r.list(|r| r.next() as i8), sum_ref, true);
    check(14, Sum::<f64>::default, |r| r.list(quarter), sum_ref, true);
    check(15, Sum::<f32>::default, |r| r.list(|r| quarter(r) as f32), sum_ref, true);
    check(16, Sum::<Decimal>::default, |r| r.list(cents), sum_ref, true);
    // The reference above shares SumInput with Sum; this one does not.
    let exact = |xs: &[Option<i64>]| {
        let vs = non_null(xs);
        (!vs.is_empty()).then(|| vs.iter().map(|v| i128::from(*v)).sum::<i128>() as i64)
    };
    check(17, Sum::<i64>::default, |r| r.list(|r| r.next() as i64), exact, true);
}

#[test]
fn sum_keeps_the_type_and_wraps_like_java() {
    let sum = |xs: &[i32]| {
        let mut s = Sum::default();
        xs.iter().for_each(|v| s.add(Some(*v)));
        s.result()
    };
    assert_eq!(sum(&[i32::MAX, 1]), Some(i32::MIN));
    assert_eq!(sum(&[-5, 2]), Some(-3));
    let mut b = Sum::<i8>::default();
    b.add(Some(127));
    b.add(Some(1));
    assert_eq!(b.result(), Some(-128));
}

#[test]
fn sum_is_null_without_values() {
    let mut s = Sum::<i64>::default();
    s.add(None);
    assert_eq!(s.result(), None);
    s.add(Some(0));
    assert_eq!(s.result(), Some(0));
    s.retract(Some(0));
    assert_eq!(s.result(), None);
}

#[test]
fn decimal_sum_is_exact_and_null_beyond_38_digits() {
    let mut s = Sum::default();
    for v in ["0.10", "0.20", "-0.05"] {
        s.add(some_dec(v));
    }
    assert_eq!(s.result().unwrap().to_string(), "0.25");
    let mut one = Sum::default();
    one.add(some_dec("1.50"));
    assert_eq!(one.result().unwrap().to_string(), "1.50");

    // 38 nines fit; one more unit does not, until it is retracted.
    let nines = Decimal::new(10i128.pow(38) - 1, 0);
    let mut big = Sum::default();
    big.add(Some(nines));
    assert_eq!(big.result(), Some(nines));
    big.add(some_dec("1"));
    assert_eq!(big.result(), None);
    big.retract(some_dec("1"));
    assert_eq!(big.result(), Some(nines));
    // Beyond i128 the sum is lost for good.
    big.add(Some(Decimal::new(i128::MAX, 0)));
    big.retract(Some(Decimal::new(i128::MAX, 0)));
    assert_eq!(big.result(), None);
}

// ---------------------------------------------------------------------------------
// AVG

fn int_avg_ref<T: Copy + Into<i64>>(xs: &[Option<T>], narrow: impl Fn(i64) -> T) -> Option<T> {
    let vs = non_null(xs);
    if vs.is_empty() {
        return None;
    }
    let sum: i128 = vs.iter().map(|v| i128::from((*v).into())).sum();
    Some(narrow((sum / vs.len() as i128) as i64))
}

#[test]
fn avg_against_reference() {
    check(20, Avg::<i32>::new, |r| r.list(|r| r.next() as i32), |xs| int_avg_ref(xs, |v| v as i32), true);
    check(21, Avg::<i16>::new, |r| r.list(|r| r.next() as i16), |xs| int_avg_ref(xs, |v| v as i16), true);
    check(22, Avg::<i8>::new, |r| r.list(|r| r.next() as i8), |xs| int_avg_ref(xs, |v| v as i8), true);
    check(23, Avg::<i64>::new, |r| r.list(|r| r.next() as i64 >> 8), |xs| int_avg_ref(xs, |v| v), true);
    let f64_avg = |xs: &[Option<f64>]| {
        let vs = non_null(xs);
        (!vs.is_empty()).then(|| vs.iter().sum::<f64>() / vs.len() as f64)
    };
    check(24, Avg::<f64>::new, |r| r.list(quarter), f64_avg, true);
    let f32_avg = |xs: &[Option<f32>]| {
        let vs = non_null(xs);
        (!vs.is_empty()).then(|| (vs.iter().map(|v| f64::from(*v)).sum::<f64>() / vs.len() as f64) as f32)
    };
    check(25, Avg::<f32>::new, |r| r.list(|r| quarter(r) as f32), f32_avg, true);

    // DECIMAL(p, 2) averages to scale 6, rounded half away from zero (Java's HALF_UP).
    let dec_avg = |xs: &[Option<Decimal>]| {
        let vs = non_null(xs);
        if vs.is_empty() {
            return None;
        }
        let num: i128 = vs.iter().map(|v| v.units()).sum::<i128>() * 10_000; // scale 2 → 6
        let n = vs.len() as i128;
        let (q, r) = (num / n, num % n);
        Some(Decimal::new(q + if 2 * r.abs() >= n { num.signum() } else { 0 }, 6))
    };
    check(26, || Avg::with_result_scale(6), |r| r.list(cents), dec_avg, true);
}

#[test]
fn avg_of_integers_truncates_toward_zero() {
    let avg = |xs: &[i32]| {
        let mut a = Avg::<i32>::new();
        xs.iter().for_each(|v| a.add(Some(*v)));
        a.result()
    };
    assert_eq!(avg(&[1, 2]), Some(1));
    assert_eq!(avg(&[-7, 0]), Some(-3));
    assert_eq!(avg(&[7, 0]), Some(3));
    assert_eq!(avg(&[-1, -2, -2]), Some(-1));
    assert_eq!(avg(&[]), None);
    // The sum is a BIGINT: TINYINT values do not wrap on the way.
    let mut t = Avg::<i8>::new();
    for _ in 0..3 {
        t.add(Some(100));
    }
    assert_eq!(t.result(), Some(100));
    // FLOAT averages in a DOUBLE sum: an f32 sum would lose the ones.
    let mut f = Avg::<f32>::new();
    for v in [16_777_216.0, 1.0, 1.0] {
        f.add(Some(v));
    }
    assert_eq!(f.result(), Some(5_592_406.0));
}

#[test]
fn avg_of_decimals_has_the_result_scale() {
    assert_eq!(
        (avg_decimal_scale(0), avg_decimal_scale(2), avg_decimal_scale(6), avg_decimal_scale(10)),
        (6, 6, 6, 10)
    );
    let avg = |scale: u8, xs: &[&str]| {
        let mut a = Avg::with_result_scale(scale);
        xs.iter().for_each(|v| a.add(some_dec(v)));
        a.result().map(|d| d.to_string())
    };
    assert_eq!(avg(6, &["1.00", "2.00", "2.00"]).as_deref(), Some("1.666667"));
    assert_eq!(avg(6, &["1", "2"]).as_deref(), Some("1.500000"));
    assert_eq!(avg(6, &["-0.000001", "0"]).as_deref(), Some("-0.000001"));
    assert_eq!(avg(6, &["0.000001", "0"]).as_deref(), Some("0.000001"));
    assert_eq!(avg(8, &["0.12345678", "0.00000001"]).as_deref(), Some("0.06172840"));
    assert_eq!(avg(6, &[]), None);
}

// ---------------------------------------------------------------------------------
// MIN, MAX

fn min_ref<T: SqlOrd + Clone>(xs: &[Option<T>]) -> Option<T> {
    non_null(xs).into_iter().min_by(|a, b| a.sql_cmp(b))
}

fn max_ref<T: SqlOrd + Clone>(xs: &[Option<T>]) -> Option<T> {
    non_null(xs).into_iter().max_by(|a, b| a.sql_cmp(b))
}

macro_rules! check_min_max {
    ($seed:expr, $t:ty, $gen:expr) => {{
        check($seed, Min::<$t>::default, |r| r.list($gen), min_ref, false);
        check($seed + 1, Max::<$t>::default, |r| r.list($gen), max_ref, false);
        check($seed + 2, MinRetract::<$t>::default, |r| r.list($gen), min_ref, true);
        check($seed + 3, MaxRetract::<$t>::default, |r| r.list($gen), max_ref, true);
    }};
}

#[test]
fn min_max_against_reference() {
    check_min_max!(30, i64, |r: &mut Rng| r.below(20) as i64 - 10);
    check_min_max!(40, i32, |r: &mut Rng| r.next() as i32);
    check_min_max!(50, Str, word);
    check_min_max!(60, Decimal, mixed_scale);
    check_min_max!(70, f64, quarter);
    check_min_max!(80, Timestamp, |r: &mut Rng| Timestamp(r.below(1000) as i64 * 1_000_000));
    check_min_max!(90, bool, |r: &mut Rng| r.chance(50));
}

#[test]
fn min_max_of_doubles_use_the_total_order() {
    let bits = |v: Option<f64>| v.map(f64::to_bits);
    let mut max = Max::default();
    let mut max_r = MaxRetract::default();
    for v in [1.0, f64::NAN, 2.0] {
        max.add(Some(v));
        max_r.add(Some(v));
    }
    assert!(max.result().unwrap().is_nan() && max_r.result().unwrap().is_nan());
    max_r.retract(Some(f64::NAN));
    assert_eq!(max_r.result(), Some(2.0));

    let mut min = Min::default();
    let mut min_r = MinRetract::default();
    for v in [0.0, -0.0, f64::NAN] {
        min.add(Some(v));
        min_r.add(Some(v));
    }
    assert_eq!(bits(min.result()), bits(Some(-0.0)));
    assert_eq!(bits(min_r.result()), bits(Some(-0.0)));
    min_r.retract(Some(-0.0));
    assert_eq!(bits(min_r.result()), bits(Some(0.0)));
}

#[test]
fn min_max_without_history_refuse_retraction() {
    let mut m = Min::default();
    m.add(Some(3));
    assert!(!m.retract(Some(3)));
    assert_eq!(m.result(), Some(3));
    let mut f = FirstValue::default();
    f.add(Some(3));
    assert!(!f.retract(Some(3)));
    assert_eq!(f.result(), Some(3));
}

// ---------------------------------------------------------------------------------
// FIRST_VALUE, LAST_VALUE

fn first_ref<T: Clone>(xs: &[Option<T>]) -> Option<T> {
    xs.iter().flatten().next().cloned()
}

fn last_ref<T: Clone>(xs: &[Option<T>]) -> Option<T> {
    xs.iter().flatten().last().cloned()
}

#[test]
fn first_last_value_against_reference() {
    let small = |r: &mut Rng| r.below(5) as i64;
    check(100, FirstValue::<i64>::default, |r| r.list(small), first_ref, false);
    check(101, LastValue::<i64>::default, |r| r.list(small), last_ref, false);
    check(102, FirstValueRetract::<i64>::default, |r| r.list(small), first_ref, true);
    check(103, LastValueRetract::<i64>::default, |r| r.list(small), last_ref, true);
    check(104, FirstValue::<Str>::default, |r| r.list(word), first_ref, false);
    check(105, LastValueRetract::<Str>::default, |r| r.list(word), last_ref, true);
    check(106, FirstValueRetract::<Decimal>::default, |r| r.list(mixed_scale), first_ref, true);
}

#[test]
fn first_last_value_skip_nulls_and_follow_arrival() {
    let rows = [None, Some("a"), Some("b"), None, Some("c"), None];
    let (mut first, mut last) = (FirstValue::default(), LastValue::default());
    for v in rows {
        first.add(v.map(Str::new));
        last.add(v.map(Str::new));
    }
    assert_eq!((first.result().as_deref(), last.result().as_deref()), (Some("a"), Some("c")));

    // Merge: the other accumulator's rows are the later ones.
    let (mut a, mut b) = (LastValue::default(), LastValue::default());
    a.add(Some(1));
    b.add(Some(2));
    a.merge(&b);
    assert_eq!(a.result(), Some(2));
    b.add(None);
    b.merge(&LastValue::default());
    assert_eq!(b.result(), Some(2));
    let (mut a, mut b) = (FirstValue::default(), FirstValue::default());
    b.add(Some(2));
    a.merge(&b);
    a.add(Some(1));
    assert_eq!(a.result(), Some(2));

    // Retraction removes the earliest occurrence of the value (as Flink does).
    let (mut first, mut last) = (FirstValueRetract::default(), LastValueRetract::default());
    for v in [1, 2, 1] {
        first.add(Some(v));
        last.add(Some(v));
    }
    first.retract(Some(1));
    last.retract(Some(1));
    assert_eq!((first.result(), last.result()), (Some(2), Some(1)));
    last.retract(Some(1));
    assert_eq!(last.result(), Some(2));
    last.retract(Some(7)); // never added: nothing happens
    assert_eq!(last.result(), Some(2));
}

// ---------------------------------------------------------------------------------
// DISTINCT

#[test]
fn distinct_against_reference() {
    fn distinct_values<T: SqlOrd + Clone>(xs: &[Option<T>]) -> Vec<Option<T>> {
        let set: BTreeSet<Ordered<T>> = non_null(xs).into_iter().map(Ordered).collect();
        set.into_iter().map(|v| Some(v.0)).collect()
    }
    let small = |r: &mut Rng| r.below(6) as i64 - 2;
    check(110, Distinct::<i64, Sum<i64>>::default, |r| r.list(small), |xs| sum_ref(&distinct_values(xs)), true);
    let dec_avg = |xs: &[Option<Decimal>]| {
        let mut a = Avg::with_result_scale(6);
        distinct_values(xs).into_iter().for_each(|v| a.add(v));
        a.result()
    };
    check(
        111,
        || Distinct::new(Avg::with_result_scale(6)),
        |r| r.list(|r| Decimal::new(r.below(5) as i128, 1)),
        dec_avg,
        true,
    );
    check(
        112,
        Distinct::<i64, Avg<i64>>::default,
        |r| r.list(small),
        |xs| int_avg_ref(&distinct_values(xs), |v| v),
        true,
    );
}

#[test]
fn distinct_merges_and_retracts_by_value() {
    let mut a: Distinct<i64, Sum<i64>> = Distinct::default();
    for v in [Some(1), Some(1), Some(2), None] {
        a.add(v);
    }
    assert_eq!(a.result(), Some(3));
    a.retract(Some(1));
    assert_eq!(a.result(), Some(3));
    a.retract(Some(1));
    assert_eq!(a.result(), Some(2));

    let mut b: Distinct<i64, Sum<i64>> = Distinct::default();
    b.add(Some(2));
    b.add(Some(5));
    a.merge(&b);
    assert_eq!(a.result(), Some(7));
    // Merging in a retraction that arrived before its value removes the value.
    let mut early: Distinct<i64, Sum<i64>> = Distinct::default();
    early.retract(Some(5));
    assert_eq!(early.result(), None);
    a.merge(&early);
    assert_eq!(a.result(), Some(2));

    // An inner accumulator that cannot retract: refused, state unchanged.
    let mut m: Distinct<i64, Min<i64>> = Distinct::default();
    m.add(Some(1));
    let before = serde_json::to_string(&m).unwrap();
    assert!(!m.retract(Some(1)));
    assert_eq!(serde_json::to_string(&m).unwrap(), before);
}

// ---------------------------------------------------------------------------------
// Ordering and hashing

#[test]
fn ordered_values_hash_as_they_compare() {
    let set: HashSet<Ordered<Decimal>> = ["1.5", "1.50", "1.500", "2", "2.0"].iter().map(|s| Ordered(dec(s))).collect();
    assert_eq!(set.len(), 2);
    let set: HashSet<Ordered<f64>> = [0.0, -0.0, f64::NAN, f64::NAN, 1.0].into_iter().map(Ordered).collect();
    assert_eq!(set.len(), 4);
    assert!(Ordered(-0.0) < Ordered(0.0) && Ordered(f64::INFINITY) < Ordered(f64::NAN));
    assert!(Ordered(None) < Ordered(Some(i64::MIN)));
    assert!(Ordered((1, Some(2.0))) < Ordered((1, Some(3.0))));
}

#[test]
fn accumulators_are_state_values() {
    fn is_value<V: crate::state::Value>() {}
    is_value::<(Count, Sum<i64>, Sum<Decimal>, Avg<i32>, Avg<Decimal>, Min<Str>, Max<f64>)>();
    is_value::<(MinRetract<Timestamp>, MaxRetract<Decimal>, CountDistinct<Str>, Distinct<f64, Sum<f64>>)>();
    is_value::<(FirstValue<Str>, LastValue<i64>, FirstValueRetract<f64>, LastValueRetract<Str>)>();
}
