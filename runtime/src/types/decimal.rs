//! DECIMAL(p, s): an exact number, an `i128` of units of 10^-scale.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// An exact decimal: `units × 10^-scale`. Precision is the SQL type's business; values
/// carry their scale so that arithmetic and comparison are exact.
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    units: i128,
    scale: u8,
}

const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

impl Decimal {
    /// `units × 10^-scale`.
    pub const fn new(units: i128, scale: u8) -> Self {
        Decimal { units, scale }
    }

    /// An integer as a decimal of scale 0.
    pub const fn from_i64(v: i64) -> Self {
        Decimal { units: v as i128, scale: 0 }
    }

    /// The scale (digits after the point).
    pub fn scale(self) -> u8 {
        self.scale
    }

    /// The unscaled value.
    pub fn units(self) -> i128 {
        self.units
    }

    /// The same value with `scale` digits after the point, rounding half away from zero
    /// when digits are dropped. `None` if it does not fit.
    pub fn rescale(self, scale: u8) -> Option<Decimal> {
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(self),
            Ordering::Greater => {
                let f = *POW10.get(usize::from(scale - self.scale))?;
                Some(Decimal { units: self.units.checked_mul(f)?, scale })
            }
            Ordering::Less => {
                let f = *POW10.get(usize::from(self.scale - scale))?;
                let q = self.units / f;
                let r = self.units % f;
                let round = if r.abs() * 2 >= f { self.units.signum() } else { 0 };
                Some(Decimal { units: q + round, scale })
            }
        }
    }

    fn aligned(a: Decimal, b: Decimal) -> Option<(i128, i128, u8)> {
        let s = a.scale.max(b.scale);
        Some((a.rescale(s)?.units, b.rescale(s)?.units, s))
    }

    /// `a + b`, exact; `None` on overflow.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, s) = Self::aligned(self, other)?;
        Some(Decimal { units: a.checked_add(b)?, scale: s })
    }

    /// `a - b`, exact; `None` on overflow.
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        let (a, b, s) = Self::aligned(self, other)?;
        Some(Decimal { units: a.checked_sub(b)?, scale: s })
    }

    /// `a × b`, exact (scales add); `None` on overflow.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.checked_add(other.scale)?;
        if scale > 38 {
            return Decimal { units: self.units.checked_mul(other.units)?, scale }.rescale(38);
        }
        Some(Decimal { units: self.units.checked_mul(other.units)?, scale })
    }

    /// `a / b` with `scale` digits; `None` when dividing by zero or on overflow.
    pub fn checked_div(self, other: Decimal, scale: u8) -> Option<Decimal> {
        if other.units == 0 {
            return None;
        }
        // a/b = (a.units × 10^(scale + b.scale - a.scale)) / b.units, rounded.
        let shift = i32::from(scale) + i32::from(other.scale) - i32::from(self.scale);
        let (num, den) = if shift >= 0 {
            (self.units.checked_mul(*POW10.get(shift as usize)?)?, other.units)
        } else {
            (self.units, other.units.checked_mul(*POW10.get((-shift) as usize)?)?)
        };
        let q = num / den;
        let r = num % den;
        let round = if r.abs() * 2 >= den.abs() { num.signum() * den.signum() } else { 0 };
        Some(Decimal { units: q + round, scale })
    }

    /// The value as a double (inexact).
    pub fn to_f64(self) -> f64 {
        self.units as f64 / POW10[usize::from(self.scale)] as f64
    }

    /// The integer part (truncated toward zero).
    pub fn trunc_i128(self) -> i128 {
        self.units / POW10[usize::from(self.scale)]
    }

    /// A double as a decimal of `scale` digits (rounded); `None` if not finite or too large.
    pub fn from_f64(v: f64, scale: u8) -> Option<Decimal> {
        let scaled = (v * POW10[usize::from(scale)] as f64).round();
        (scaled.is_finite() && scaled.abs() < 1e38).then_some(Decimal { units: scaled as i128, scale })
    }

    /// Whether the value needs more than `precision` digits in all.
    pub fn exceeds(self, precision: u8) -> bool {
        self.units.unsigned_abs() >= POW10[usize::from(precision.min(38))] as u128
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match Self::aligned(*self, *other) {
            Some((a, b, _)) => a.cmp(&b),
            // Too large to align exactly: compare as doubles.
            None => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl std::hash::Hash for Decimal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal values hash equally whatever their scale.
        let mut d = *self;
        while d.scale > 0 && d.units % 10 == 0 {
            d = Decimal { units: d.units / 10, scale: d.scale - 1 };
        }
        d.units.hash(state);
        d.scale.hash(state);
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = usize::from(self.scale);
        let digits = self.units.unsigned_abs().to_string();
        let sign = if self.units < 0 { "-" } else { "" };
        if s == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (int, frac) = padded.split_at(padded.len() - s);
        write!(f, "{sign}{int}.{frac}")
    }
}

impl std::str::FromStr for Decimal {
    type Err = String;

    /// Parses `-12.340`, `5`, `.5`, `1e3` (exponent applied exactly).
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = || format!("'{text}' is not a decimal number");
        let (mantissa, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (t, 0),
        };
        let (neg, m) = match mantissa.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int, frac) = m.split_once('.').unwrap_or((m, ""));
        if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let digits = format!("{int}{frac}");
        let mut units: i128 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| bad())? };
        let mut scale = frac.len() as i32 - exp;
        if scale < 0 {
            units = units.checked_mul(*POW10.get((-scale) as usize).ok_or_else(bad)?).ok_or_else(bad)?;
            scale = 0;
        }
        if scale > 38 {
            return Err(bad());
        }
        Ok(Decimal { units: if neg { -units } else { units }, scale: scale as u8 })
    }
}

impl Serialize for Decimal {
    /// As a number when a double holds the value exactly (JSON readers see a number, as
    /// Flink writes it), otherwise as its exact text.
    /// Formats that are not for people (checkpoints) get the exact (units, scale) pair.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return (self.units, self.scale).serialize(s);
        }
        let v = self.to_f64();
        if v.is_finite() && Decimal::from_f64_exact(v) == Some(*self) {
            s.serialize_f64(v)
        } else {
            s.collect_str(self)
        }
    }
}

impl Decimal {
    /// The decimal a double prints as (shortest round-trip form), if it has one.
    fn from_f64_exact(v: f64) -> Option<Decimal> {
        let mut buf = String::with_capacity(24);
        use std::fmt::Write;
        write!(buf, "{v}").ok()?;
        buf.parse().ok()
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if !d.is_human_readable() {
            let (units, scale) = <(i128, u8)>::deserialize(d)?;
            return Ok(Decimal { units, scale });
        }
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal::from_i64(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal::new(i128::from(v), 0))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                Decimal::from_f64_exact(v).ok_or_else(|| E::custom(format!("{v} is not a decimal number")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parse_print_and_arithmetic() {
        assert_eq!(d("-12.340").to_string(), "-12.340");
        assert_eq!(d(".5").to_string(), "0.5");
        assert_eq!(d("1e3").to_string(), "1000");
        assert_eq!(d("0.908").checked_mul(Decimal::from_i64(1000)).unwrap().to_string(), "908.000");
        assert_eq!(d("1.5").checked_add(d("2.25")).unwrap().to_string(), "3.75");
        assert_eq!(d("10").checked_div(d("3"), 4).unwrap().to_string(), "3.3333");
        assert_eq!(d("2.5").rescale(0).unwrap().to_string(), "3");
        assert_eq!(d("-2.5").rescale(0).unwrap().to_string(), "-3");
        assert_eq!(d("1.50"), d("1.5"));
        assert!(d("1.49") < d("1.5"));
        assert!(d("123.45").exceeds(4));
        assert!(!d("123.45").exceeds(5));
    }
}
