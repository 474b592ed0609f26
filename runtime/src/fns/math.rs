//! Arithmetic functions. The ones that keep their argument's type (ABS, MOD, ROUND,
//! TRUNCATE, CEIL, FLOOR, SIGN) are generic over [`Numeric`]; the others work on
//! doubles, as Flink's do.

use crate::types::Decimal;

/// The numeric types: TINYINT to BIGINT, FLOAT, DOUBLE and DECIMAL.
pub trait Numeric: Copy + PartialOrd {
    /// The absolute value (integers wrap at their minimum, as Java's `Math.abs`).
    fn abs_value(self) -> Self;
    /// -1, 0 or 1 in the same type (NaN stays NaN; a DECIMAL keeps its scale).
    fn signum_value(self) -> Self;
    /// The remainder of `self / d` with the sign of `self`; `None` when `d` is zero.
    fn remainder(self, d: Self) -> Option<Self>;
    /// Rounded half away from zero to `digits` decimal places (negative: to tens,
    /// hundreds, …). `None` on overflow of a DECIMAL.
    fn round_to(self, digits: i32) -> Option<Self>;
    /// Cut toward zero to `digits` decimal places.
    fn truncate_to(self, digits: i32) -> Option<Self>;
    /// The smallest integral value not below (a DECIMAL gets scale 0).
    fn ceil_value(self) -> Self;
    /// The largest integral value not above (a DECIMAL gets scale 0).
    fn floor_value(self) -> Self;
}

/// Rounds `v` to a multiple of `10^(-digits)`, `digits < 0`, in i128 (half away from
/// zero when `half_up`, toward zero otherwise).
fn round_int(v: i128, digits: i32, half_up: bool) -> i128 {
    if digits >= 0 {
        return v;
    }
    let Some(f) = 10i128.checked_pow(digits.unsigned_abs()) else { return 0 };
    let (q, r) = (v / f, v % f);
    let up = half_up && r.abs() >= f - r.abs();
    (q + if up { v.signum() } else { 0 }) * f
}

macro_rules! integer_numeric {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            fn abs_value(self) -> Self {
                self.wrapping_abs()
            }
            fn signum_value(self) -> Self {
                self.signum()
            }
            fn remainder(self, d: Self) -> Option<Self> {
                (d != 0).then(|| self.wrapping_rem(d))
            }
            fn round_to(self, digits: i32) -> Option<Self> {
                // Java narrows the BigDecimal result, wrapping.
                Some(round_int(self as i128, digits, true) as $t)
            }
            fn truncate_to(self, digits: i32) -> Option<Self> {
                Some(round_int(self as i128, digits, false) as $t)
            }
            fn ceil_value(self) -> Self {
                self
            }
            fn floor_value(self) -> Self {
                self
            }
        }
    )*};
}

integer_numeric!(i8, i16, i32, i64);

/// A double's shortest decimal form (Java's `BigDecimal.valueOf(double)`) rounded at
/// `digits` decimal places: half up (away from zero) or toward zero.
fn round_double(v: f64, digits: i32, half_up: bool) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    // |v| = 0.d1d2d3… × 10^point, in its shortest round-trip form.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let point = exp.parse::<i32>().unwrap_or(0) + 1;
    let all: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    let keep = point.saturating_add(digits);
    if keep >= all.len() as i32 {
        return v;
    }
    if keep < 0 {
        return 0.0;
    }
    let mut kept = all[..keep as usize].to_vec();
    let mut point = point;
    if half_up && all[keep as usize] >= 5 {
        // One more unit in the last kept place, carrying.
        match kept.iter().rposition(|&d| d != 9) {
            Some(i) => {
                kept[i] += 1;
                kept[i + 1..].fill(0);
            }
            None => {
                kept.fill(0);
                kept.insert(0, 1);
                point += 1;
            }
        }
    }
    if kept.is_empty() {
        return 0.0;
    }
    let text: String = kept.iter().map(|d| char::from(b'0' + d)).collect();
    let r: f64 = format!("{text}e{}", point - kept.len() as i32).parse().unwrap_or(v.abs());
    if v < 0.0 { -r } else { r }
}

impl Numeric for f64 {
    fn abs_value(self) -> Self {
        self.abs()
    }
    fn signum_value(self) -> Self {
        if self.is_nan() || self == 0.0 { self } else { self.signum() }
    }
    fn remainder(self, d: Self) -> Option<Self> {
        Some(self % d)
    }
    fn round_to(self, digits: i32) -> Option<Self> {
        Some(round_double(self, digits, true))
    }
    fn truncate_to(self, digits: i32) -> Option<Self> {
        Some(round_double(self, digits, false))
    }
    fn ceil_value(self) -> Self {
        self.ceil()
    }
    fn floor_value(self) -> Self {
        self.floor()
    }
}

impl Numeric for f32 {
    fn abs_value(self) -> Self {
        self.abs()
    }
    fn signum_value(self) -> Self {
        if self.is_nan() || self == 0.0 { self } else { self.signum() }
    }
    fn remainder(self, d: Self) -> Option<Self> {
        Some(self % d)
    }
    /// Through the float's value as a double, as Java widens it.
    fn round_to(self, digits: i32) -> Option<Self> {
        Some(round_double(f64::from(self), digits, true) as f32)
    }
    fn truncate_to(self, digits: i32) -> Option<Self> {
        Some(round_double(f64::from(self), digits, false) as f32)
    }
    fn ceil_value(self) -> Self {
        self.ceil()
    }
    fn floor_value(self) -> Self {
        self.floor()
    }
}

/// 10^n as i128, `None` beyond 10^38.
fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Rounds a decimal at `digits` places, keeping its scale.
fn round_decimal(d: Decimal, digits: i32, half_up: bool) -> Option<Decimal> {
    let drop = i64::from(d.scale()) - i64::from(digits);
    if drop <= 0 {
        return Some(d);
    }
    let units = d.units();
    // Beyond 10^38 every digit is dropped, and no value reaches half of it.
    let Some(f) = u32::try_from(drop).ok().and_then(pow10) else { return Some(Decimal::new(0, d.scale())) };
    let (q, r) = (units / f, units % f);
    let up = half_up && r.abs() >= f - r.abs();
    let q = q + if up { units.signum() } else { 0 };
    Some(Decimal::new(q.checked_mul(f)?, d.scale()))
}

impl Numeric for Decimal {
    fn abs_value(self) -> Self {
        Decimal::new(self.units().abs(), self.scale())
    }
    fn signum_value(self) -> Self {
        let one = pow10(u32::from(self.scale())).unwrap_or(1);
        Decimal::new(self.units().signum() * one, self.scale())
    }
    fn remainder(self, d: Self) -> Option<Self> {
        if d.units() == 0 {
            return None;
        }
        let s = self.scale().max(d.scale());
        let (a, b) = (self.rescale(s)?.units(), d.rescale(s)?.units());
        Some(Decimal::new(a % b, s))
    }
    fn round_to(self, digits: i32) -> Option<Self> {
        round_decimal(self, digits, true)
    }
    fn truncate_to(self, digits: i32) -> Option<Self> {
        round_decimal(self, digits, false)
    }
    fn ceil_value(self) -> Self {
        let t = self.trunc_i128();
        let frac = self.units() != t * pow10(u32::from(self.scale())).unwrap_or(1);
        Decimal::new(t + i128::from(frac && self.units() > 0), 0)
    }
    fn floor_value(self) -> Self {
        let t = self.trunc_i128();
        let frac = self.units() != t * pow10(u32::from(self.scale())).unwrap_or(1);
        Decimal::new(t - i128::from(frac && self.units() < 0), 0)
    }
}

/// ABS(numeric).
pub fn abs<T: Numeric>(x: Option<T>) -> Option<T> {
    Some(x?.abs_value())
}

/// SIGN(numeric): -1, 0 or 1 in the argument's type.
pub fn sign<T: Numeric>(x: Option<T>) -> Option<T> {
    Some(x?.signum_value())
}

/// MOD(a, b): the remainder with the sign of `a`; NULL when `b` is 0. Both arguments
/// have one (the common) type.
pub fn mod_<T: Numeric>(a: Option<T>, b: Option<T>) -> Option<T> {
    a?.remainder(b?)
}

/// ROUND(numeric, digits): half away from zero (Java's HALF_UP); negative `digits`
/// round to tens, hundreds, …. A double is rounded in its shortest decimal form, so
/// `ROUND(2.675, 2)` is 2.68 as in Flink.
pub fn round<T: Numeric>(x: Option<T>, digits: Option<i32>) -> Option<T> {
    x?.round_to(digits?)
}

/// ROUND(numeric): to an integral value.
pub fn round_1<T: Numeric>(x: Option<T>) -> Option<T> {
    x?.round_to(0)
}

/// TRUNCATE(numeric, digits): cut toward zero at `digits` decimal places.
pub fn truncate<T: Numeric>(x: Option<T>, digits: Option<i32>) -> Option<T> {
    x?.truncate_to(digits?)
}

/// TRUNCATE(numeric): the integral part.
pub fn truncate_1<T: Numeric>(x: Option<T>) -> Option<T> {
    x?.truncate_to(0)
}

/// CEIL(numeric).
pub fn ceil<T: Numeric>(x: Option<T>) -> Option<T> {
    Some(x?.ceil_value())
}

/// FLOOR(numeric).
pub fn floor<T: Numeric>(x: Option<T>) -> Option<T> {
    Some(x?.floor_value())
}

/// POWER(base, exponent).
pub fn power(base: Option<f64>, exp: Option<f64>) -> Option<f64> {
    Some(base?.powf(exp?))
}

/// SQRT(x) (NaN for negative `x`).
pub fn sqrt(x: Option<f64>) -> Option<f64> {
    Some(x?.sqrt())
}

/// EXP(x): e^x.
pub fn exp(x: Option<f64>) -> Option<f64> {
    Some(x?.exp())
}

/// LN(x): the natural logarithm (NaN below 0, -∞ at 0, as Java's `Math.log`).
pub fn ln(x: Option<f64>) -> Option<f64> {
    Some(x?.ln())
}

/// LOG10(x).
pub fn log10(x: Option<f64>) -> Option<f64> {
    Some(x?.log10())
}

/// LOG2(x), computed as Flink does: `ln(x) / ln(2)`.
pub fn log2(x: Option<f64>) -> Option<f64> {
    Some(x?.ln() / 2f64.ln())
}

/// LOG(base, x): `ln(x) / ln(base)`.
pub fn log(base: Option<f64>, x: Option<f64>) -> Option<f64> {
    Some(x?.ln() / base?.ln())
}

/// LOG(x): the natural logarithm.
pub fn log_1(x: Option<f64>) -> Option<f64> {
    ln(x)
}

/// PI().
pub fn pi() -> Option<f64> {
    Some(std::f64::consts::PI)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn ds(v: Option<Decimal>) -> Option<String> {
        v.map(|x| x.to_string())
    }

    #[test]
    fn abs_sign_mod() {
        assert_eq!(abs(Some(-3i32)), Some(3));
        assert_eq!(abs(Some(i32::MIN)), Some(i32::MIN));
        assert_eq!(abs(Some(-2.5f64)), Some(2.5));
        assert_eq!(ds(abs(Some(d("-1.50")))), Some("1.50".into()));
        assert_eq!(abs::<i64>(None), None);
        assert_eq!(sign(Some(-7i8)), Some(-1));
        assert_eq!(sign(Some(0.0f64)), Some(0.0));
        assert_eq!(ds(sign(Some(d("-0.25")))), Some("-1.00".into()));
        assert_eq!(mod_(Some(7i32), Some(3)), Some(1));
        assert_eq!(mod_(Some(-7i32), Some(3)), Some(-1));
        assert_eq!(mod_(Some(7i64), Some(-3)), Some(1));
        assert_eq!(mod_(Some(7i32), Some(0)), None);
        assert_eq!(mod_(Some(i32::MIN), Some(-1)), Some(0));
        assert_eq!(mod_(None, Some(3i32)), None);
        assert_eq!(ds(mod_(Some(d("7.5")), Some(d("2")))), Some("1.5".into()));
        assert_eq!(ds(mod_(Some(d("-7.25")), Some(d("2.1")))), Some("-0.95".into()));
        assert_eq!(mod_(Some(d("1")), Some(d("0.00"))), None);
    }

    #[test]
    fn rounding() {
        assert_eq!(round(Some(2.675f64), Some(2)), Some(2.68));
        assert_eq!(round(Some(1.005f64), Some(2)), Some(1.01));
        assert_eq!(round(Some(2.5f64), Some(0)), Some(3.0));
        assert_eq!(round(Some(-2.5f64), Some(0)), Some(-3.0));
        assert_eq!(round_1(Some(0.4f64)), Some(0.0));
        assert_eq!(round_1(Some(9.5f64)), Some(10.0));
        assert_eq!(round(Some(99.96f64), Some(1)), Some(100.0));
        assert_eq!(round(Some(1234.5678f64), Some(-2)), Some(1200.0));
        assert_eq!(round(Some(1250.0f64), Some(-2)), Some(1300.0));
        assert_eq!(round(Some(0.000123456f64), Some(5)), Some(0.00012));
        assert_eq!(round(Some(0.4f64), Some(-3)), Some(0.0));
        assert_eq!(round(Some(1e300f64), Some(2)), Some(1e300));
        assert!(round(Some(f64::NAN), Some(2)).unwrap().is_nan());
        assert_eq!(round(Some(1.23456f32), Some(2)), Some(1.23));
        assert_eq!(round(Some(125i32), Some(-1)), Some(130));
        assert_eq!(round(Some(-125i64), Some(-1)), Some(-130));
        assert_eq!(round(Some(124i32), Some(-1)), Some(120));
        assert_eq!(round(Some(17i32), Some(2)), Some(17));
        assert_eq!(round(Some(5i32), Some(-40)), Some(0));
        assert_eq!(ds(round(Some(d("3.14159")), Some(2))), Some("3.14000".into()));
        assert_eq!(ds(round(Some(d("-2.50")), Some(0))), Some("-3.00".into()));
        assert_eq!(ds(round(Some(d("155")), Some(-1))), Some("160".into()));
        assert_eq!(ds(round(Some(d("-9.99")), Some(i32::MIN))), Some("0.00".into()));
        assert_eq!(round(Some(7i64), Some(i32::MIN)), Some(0));
        assert_eq!(round(Some(7.5f64), Some(i32::MIN)), Some(0.0));
        assert_eq!(round(Some(7.5f64), Some(i32::MAX)), Some(7.5));
        assert_eq!(round(Some(1.5f64), None), None);
        assert_eq!(truncate(Some(2.679f64), Some(2)), Some(2.67));
        assert_eq!(truncate(Some(-2.679f64), Some(1)), Some(-2.6));
        assert_eq!(truncate_1(Some(-9.99f64)), Some(-9.0));
        assert_eq!(truncate(Some(1299i32), Some(-2)), Some(1200));
        assert_eq!(ds(truncate(Some(d("-3.999")), Some(1))), Some("-3.900".into()));
        assert_eq!(ds(truncate_1(Some(d("3.999")))), Some("3.000".into()));
    }

    #[test]
    fn ceil_floor() {
        assert_eq!(ceil(Some(1.2f64)), Some(2.0));
        assert_eq!(floor(Some(-1.2f64)), Some(-2.0));
        assert_eq!(ceil(Some(5i32)), Some(5));
        assert_eq!(ds(ceil(Some(d("1.20")))), Some("2".into()));
        assert_eq!(ds(ceil(Some(d("-1.20")))), Some("-1".into()));
        assert_eq!(ds(floor(Some(d("-1.20")))), Some("-2".into()));
        assert_eq!(ds(floor(Some(d("3.00")))), Some("3".into()));
        assert_eq!(ceil::<f64>(None), None);
    }

    #[test]
    fn transcendental() {
        assert_eq!(power(Some(2.0), Some(10.0)), Some(1024.0));
        assert_eq!(sqrt(Some(16.0)), Some(4.0));
        assert!(sqrt(Some(-1.0)).unwrap().is_nan());
        assert_eq!(exp(Some(0.0)), Some(1.0));
        assert_eq!(ln(Some(1.0)), Some(0.0));
        assert_eq!(ln(Some(0.0)), Some(f64::NEG_INFINITY));
        assert_eq!(log10(Some(1000.0)), Some(3.0));
        assert_eq!(log2(Some(8.0)), Some(3.0));
        assert_eq!(log(Some(2.0), Some(8.0)), Some(3.0));
        assert_eq!(log_1(Some(std::f64::consts::E)), Some(1.0));
        assert_eq!(log(None, Some(8.0)), None);
        assert_eq!(pi(), Some(std::f64::consts::PI));
        assert_eq!(power(None, Some(1.0)), None);
    }
}
