//! SQL operators with Flink's NULL semantics, called by generated code: arithmetic,
//! comparison, three-valued logic, casts, LIKE, and the time-unit functions.
//!
//! Every operand is an `Option<T>` (NULL = `None`). Generated code casts operands to a
//! common type first, so binary operators take two values of one type.

use crate::types::{Date, Decimal, Interval, Str, Time, Timestamp};
use std::cmp::Ordering;

// ---------------------------------------------------------------------------------
// Arithmetic

/// Numbers SQL arithmetic works on. Integers wrap on overflow (as Java does); decimals
/// give NULL on overflow; division by zero gives NULL.
pub trait Arith: Copy {
    /// `a + b`
    fn add(self, b: Self) -> Option<Self>;
    /// `a - b`
    fn sub(self, b: Self) -> Option<Self>;
    /// `a * b`
    fn mul(self, b: Self) -> Option<Self>;
    /// `a / b`
    fn div(self, b: Self) -> Option<Self>;
    /// `a % b`
    fn rem(self, b: Self) -> Option<Self>;
    /// `-a`
    fn neg(self) -> Self;
}

macro_rules! int_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline] fn add(self, b: Self) -> Option<Self> { Some(self.wrapping_add(b)) }
            #[inline] fn sub(self, b: Self) -> Option<Self> { Some(self.wrapping_sub(b)) }
            #[inline] fn mul(self, b: Self) -> Option<Self> { Some(self.wrapping_mul(b)) }
            #[inline] fn div(self, b: Self) -> Option<Self> { if b == 0 { None } else { Some(self.wrapping_div(b)) } }
            #[inline] fn rem(self, b: Self) -> Option<Self> { if b == 0 { None } else { Some(self.wrapping_rem(b)) } }
            #[inline] fn neg(self) -> Self { self.wrapping_neg() }
        }
    )*};
}
int_arith!(i8, i16, i32, i64);

macro_rules! float_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline] fn add(self, b: Self) -> Option<Self> { Some(self + b) }
            #[inline] fn sub(self, b: Self) -> Option<Self> { Some(self - b) }
            #[inline] fn mul(self, b: Self) -> Option<Self> { Some(self * b) }
            #[inline] fn div(self, b: Self) -> Option<Self> { Some(self / b) }
            #[inline] fn rem(self, b: Self) -> Option<Self> { Some(self % b) }
            #[inline] fn neg(self) -> Self { -self }
        }
    )*};
}
float_arith!(f32, f64);

impl Arith for Decimal {
    fn add(self, b: Self) -> Option<Self> {
        self.checked_add(b)
    }
    fn sub(self, b: Self) -> Option<Self> {
        self.checked_sub(b)
    }
    fn mul(self, b: Self) -> Option<Self> {
        self.checked_mul(b)
    }
    fn div(self, b: Self) -> Option<Self> {
        self.checked_div(b, self.scale().max(6))
    }
    fn rem(self, b: Self) -> Option<Self> {
        // a - trunc(a / b) * b
        let quotient = Decimal::new(self.checked_div(b, 12)?.trunc_i128(), 0);
        self.checked_sub(quotient.checked_mul(b)?)
    }
    fn neg(self) -> Self {
        Decimal::new(-self.units(), self.scale())
    }
}

/// `a + b`
#[inline]
pub fn add<T: Arith>(a: Option<T>, b: Option<T>) -> Option<T> {
    a?.add(b?)
}
/// `a - b`
#[inline]
pub fn sub<T: Arith>(a: Option<T>, b: Option<T>) -> Option<T> {
    a?.sub(b?)
}
/// `a * b`
#[inline]
pub fn mul<T: Arith>(a: Option<T>, b: Option<T>) -> Option<T> {
    a?.mul(b?)
}
/// `a / b` (NULL when b is zero)
#[inline]
pub fn div<T: Arith>(a: Option<T>, b: Option<T>) -> Option<T> {
    a?.div(b?)
}
/// `a % b` (NULL when b is zero)
#[inline]
pub fn rem<T: Arith>(a: Option<T>, b: Option<T>) -> Option<T> {
    a?.rem(b?)
}
/// `-a`
#[inline]
pub fn neg<T: Arith>(a: Option<T>) -> Option<T> {
    a.map(Arith::neg)
}

/// `a / b` computed to `scale` digits (NULL when dividing by zero).
#[inline]
pub fn decimal_div(a: Option<Decimal>, b: Option<Decimal>, scale: u8) -> Option<Decimal> {
    a?.checked_div(b?, scale)
}

/// A decimal result brought to its SQL type's scale (NULL if it does not fit its precision).
#[inline]
pub fn decimal_fit(a: Option<Decimal>, precision: u8, scale: u8) -> Option<Decimal> {
    let d = a?.rescale(scale)?;
    (!d.exceeds(precision)).then_some(d)
}

/// `timestamp ± interval`.
#[inline]
pub fn ts_plus(a: Option<Timestamp>, i: Option<Interval>) -> Option<Timestamp> {
    Some(a?.plus(i?))
}

/// `timestamp - interval`.
#[inline]
pub fn ts_minus(a: Option<Timestamp>, i: Option<Interval>) -> Option<Timestamp> {
    Some(a?.plus(negate_interval(i?)))
}

/// `date ± interval` (day-time intervals move by whole days).
#[inline]
pub fn date_plus(a: Option<Date>, i: Option<Interval>) -> Option<Date> {
    let d = a?;
    Some(match i? {
        Interval::Millis(ms) => Date(d.0 + (ms / 86_400_000) as i32),
        Interval::Months(m) => d.plus_months(m),
    })
}

/// `date - interval`.
#[inline]
pub fn date_minus(a: Option<Date>, i: Option<Interval>) -> Option<Date> {
    date_plus(a, Some(negate_interval(i?)))
}

fn negate_interval(i: Interval) -> Interval {
    match i {
        Interval::Millis(ms) => Interval::Millis(-ms),
        Interval::Months(m) => Interval::Months(-m),
    }
}

// ---------------------------------------------------------------------------------
// Comparison and logic

/// `a = b`
#[inline]
pub fn eq<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<bool> {
    Some(a? == b?)
}
/// `a <> b`
#[inline]
pub fn ne<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<bool> {
    Some(a? != b?)
}
/// `a < b`
#[inline]
pub fn lt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<bool> {
    Some(a? < b?)
}
/// `a <= b`
#[inline]
pub fn le<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<bool> {
    Some(a? <= b?)
}
/// `a > b`
#[inline]
pub fn gt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<bool> {
    Some(a? > b?)
}
/// `a >= b`
#[inline]
pub fn ge<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<bool> {
    Some(a? >= b?)
}
/// `a IS DISTINCT FROM b` (NULLs compare equal to each other).
#[inline]
pub fn distinct<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<bool> {
    Some(a != b)
}
/// `x BETWEEN lo AND hi` (`symmetric`: bounds in either order).
#[inline]
pub fn between<T: PartialOrd>(x: Option<T>, lo: Option<T>, hi: Option<T>, symmetric: bool) -> Option<bool> {
    let both = |x: &Option<T>, lo: &Option<T>, hi: &Option<T>| and(ge_ref(x, lo), ge_ref(hi, x));
    if symmetric { or(both(&x, &lo, &hi), both(&x, &hi, &lo)) } else { both(&x, &lo, &hi) }
}
fn ge_ref<T: PartialOrd>(a: &Option<T>, b: &Option<T>) -> Option<bool> {
    Some(a.as_ref()?.partial_cmp(b.as_ref()?)? != Ordering::Less)
}
/// `x IN (list)`: TRUE if equal to one, NULL if none equal and one is NULL, else FALSE.
#[inline]
pub fn in_list<T: PartialEq>(x: Option<T>, list: &[Option<T>]) -> Option<bool> {
    let x = x?;
    let mut saw_null = false;
    for v in list {
        match v {
            Some(v) if *v == x => return Some(true),
            None => saw_null = true,
            _ => {}
        }
    }
    if saw_null { None } else { Some(false) }
}
/// Three-valued AND.
#[inline]
pub fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}
/// Three-valued OR.
#[inline]
pub fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}
/// Three-valued NOT.
#[inline]
pub fn not(a: Option<bool>) -> Option<bool> {
    a.map(|b| !b)
}
/// Whether a condition holds (NULL does not).
#[inline]
pub fn is_true(a: Option<bool>) -> bool {
    a == Some(true)
}

// ---------------------------------------------------------------------------------
// Strings

/// `a || b`
pub fn concat(a: Option<Str>, b: Option<Str>) -> Option<Str> {
    let (a, b) = (a?, b?);
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(&a);
    s.push_str(&b);
    Some(Str::from(s))
}

/// `s LIKE pattern [ESCAPE e]`: `%` any run, `_` one character.
pub fn like(s: Option<Str>, pattern: Option<Str>, escape: Option<char>) -> Option<bool> {
    let (s, p) = (s?, pattern?);
    let s: Vec<char> = s.chars().collect();
    let mut tokens = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        if Some(c) == escape {
            tokens.push(LikeToken::Char(it.next()?));
        } else {
            tokens.push(match c {
                '%' => LikeToken::Any,
                '_' => LikeToken::One,
                c => LikeToken::Char(c),
            });
        }
    }
    Some(like_match(&s, &tokens))
}

#[derive(Clone, Copy, PartialEq)]
enum LikeToken {
    Any,
    One,
    Char(char),
}

/// Iterative wildcard matching with one backtrack point (linear in practice).
fn like_match(s: &[char], p: &[LikeToken]) -> bool {
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match p.get(j) {
            Some(LikeToken::Any) => {
                star = Some((j, i));
                j += 1;
            }
            Some(LikeToken::One) => {
                i += 1;
                j += 1;
            }
            Some(LikeToken::Char(c)) if *c == s[i] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((sj, si)) => {
                    j = sj + 1;
                    i = si + 1;
                    star = Some((sj, si + 1));
                }
                None => return false,
            },
        }
    }
    p[j..].iter().all(|t| *t == LikeToken::Any)
}

// ---------------------------------------------------------------------------------
// Casts

/// `CAST(x AS T)` between the Rust representations. `None` when the value does not
/// convert (a string that is not a number, an out-of-range value).
pub trait CastTo<T> {
    /// The converted value.
    fn cast_to(self) -> Option<T>;
}

/// `CAST(x AS T)` on a nullable value.
#[inline]
pub fn cast<A: CastTo<B>, B>(a: Option<A>) -> Option<B> {
    a?.cast_to()
}

/// `CAST(x AS DECIMAL(p, s))`.
#[inline]
pub fn cast_decimal<A: CastTo<Decimal>>(a: Option<A>, precision: u8, scale: u8) -> Option<Decimal> {
    decimal_fit(a?.cast_to(), precision, scale)
}

/// `CAST(x AS VARCHAR(n))` / `CHAR(n)`: text cut to `n` characters.
#[inline]
pub fn cast_str<A: CastTo<Str>>(a: Option<A>, max_len: u32) -> Option<Str> {
    let s = a?.cast_to()?;
    if s.chars().count() as u64 > u64::from(max_len) {
        return Some(Str::from(s.chars().take(max_len as usize).collect::<String>()));
    }
    Some(s)
}

macro_rules! num_casts {
    ($($from:ty),*) => {$(
        impl CastTo<i8> for $from { #[inline] fn cast_to(self) -> Option<i8> { Some(self as i8) } }
        impl CastTo<i16> for $from { #[inline] fn cast_to(self) -> Option<i16> { Some(self as i16) } }
        impl CastTo<i32> for $from { #[inline] fn cast_to(self) -> Option<i32> { Some(self as i32) } }
        impl CastTo<i64> for $from { #[inline] fn cast_to(self) -> Option<i64> { Some(self as i64) } }
        impl CastTo<f32> for $from { #[inline] fn cast_to(self) -> Option<f32> { Some(self as f32) } }
        impl CastTo<f64> for $from { #[inline] fn cast_to(self) -> Option<f64> { Some(self as f64) } }
        impl CastTo<bool> for $from { #[inline] fn cast_to(self) -> Option<bool> { Some(self as f64 != 0.0) } }
    )*};
}
num_casts!(i8, i16, i32, i64, f32, f64);

macro_rules! int_to_str {
    ($($from:ty),*) => {$(
        impl CastTo<Str> for $from { #[inline] fn cast_to(self) -> Option<Str> { Some(Str::from(self.to_string())) } }
    )*};
}
int_to_str!(i8, i16, i32, i64);

impl CastTo<Str> for f64 {
    fn cast_to(self) -> Option<Str> {
        Some(Str::from(java_double(self, format!("{self:e}"))))
    }
}

impl CastTo<Str> for f32 {
    fn cast_to(self) -> Option<Str> {
        Some(Str::from(java_double(f64::from(self), format!("{self:e}"))))
    }
}

/// Java's `Double.toString`: plain with at least one decimal between 10^-3 and 10^7,
/// otherwise `d.dddE±n`, from the shortest digits that round-trip (`sci`, Rust's `{:e}`).
pub fn java_double(v: f64, sci: String) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let abs = v.abs();
    if (1e-3..1e7).contains(&abs) {
        // Plain: place the point `exp + 1` digits in.
        let point = exp + 1;
        let (int, frac) = if point <= 0 {
            ("0".to_string(), format!("{}{digits}", "0".repeat((-point) as usize)))
        } else if point as usize >= digits.len() {
            (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
        } else {
            (digits[..point as usize].to_string(), digits[point as usize..].to_string())
        };
        let frac = if frac.is_empty() { "0".to_string() } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

macro_rules! int_to_decimal {
    ($($from:ty),*) => {$(
        impl CastTo<Decimal> for $from { #[inline] fn cast_to(self) -> Option<Decimal> { Some(Decimal::new(self as i128, 0)) } }
        impl CastTo<Timestamp> for $from {
            /// Seconds since the epoch, as Flink casts numbers to timestamps.
            #[inline] fn cast_to(self) -> Option<Timestamp> { Some(Timestamp((self as i64).checked_mul(1_000_000_000)?)) }
        }
    )*};
}
int_to_decimal!(i8, i16, i32, i64);

macro_rules! float_to_decimal {
    ($($from:ty),*) => {$(
        impl CastTo<Decimal> for $from {
            #[inline] fn cast_to(self) -> Option<Decimal> { format!("{}", self).parse().ok() }
        }
    )*};
}
float_to_decimal!(f32, f64);

macro_rules! from_decimal {
    ($($to:ty),*) => {$(
        impl CastTo<$to> for Decimal {
            #[inline] fn cast_to(self) -> Option<$to> { Some(self.trunc_i128() as $to) }
        }
    )*};
}
from_decimal!(i8, i16, i32, i64);

impl CastTo<f64> for Decimal {
    fn cast_to(self) -> Option<f64> {
        Some(self.to_f64())
    }
}
impl CastTo<f32> for Decimal {
    fn cast_to(self) -> Option<f32> {
        Some(self.to_f64() as f32)
    }
}
impl CastTo<Decimal> for Decimal {
    fn cast_to(self) -> Option<Decimal> {
        Some(self)
    }
}
impl CastTo<Str> for Decimal {
    fn cast_to(self) -> Option<Str> {
        Some(Str::from(self.to_string()))
    }
}
impl CastTo<bool> for Decimal {
    fn cast_to(self) -> Option<bool> {
        Some(self.units() != 0)
    }
}

macro_rules! bool_to_num {
    ($($to:ty),*) => {$(
        impl CastTo<$to> for bool { #[inline] fn cast_to(self) -> Option<$to> { Some(if self { 1 as $to } else { 0 as $to }) } }
    )*};
}
bool_to_num!(i8, i16, i32, i64, f32, f64);
impl CastTo<bool> for bool {
    fn cast_to(self) -> Option<bool> {
        Some(self)
    }
}
impl CastTo<Str> for bool {
    fn cast_to(self) -> Option<Str> {
        Some(Str::new_static(if self { "TRUE" } else { "FALSE" }))
    }
}
impl CastTo<Decimal> for bool {
    fn cast_to(self) -> Option<Decimal> {
        Some(Decimal::new(i128::from(self), 0))
    }
}

macro_rules! parse_from_str {
    ($($to:ty),*) => {$(
        impl CastTo<$to> for Str { #[inline] fn cast_to(self) -> Option<$to> { self.trim().parse().ok() } }
    )*};
}
parse_from_str!(i8, i16, i32, i64, f32, f64, Decimal);

impl CastTo<Str> for Str {
    fn cast_to(self) -> Option<Str> {
        Some(self)
    }
}
impl CastTo<bool> for Str {
    fn cast_to(self) -> Option<bool> {
        match self.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "0" => Some(false),
            _ => None,
        }
    }
}
impl CastTo<Timestamp> for Str {
    fn cast_to(self) -> Option<Timestamp> {
        crate::types::time::parse_timestamp(&self)
    }
}
impl CastTo<Date> for Str {
    fn cast_to(self) -> Option<Date> {
        crate::types::time::parse_date(&self)
    }
}
impl CastTo<Time> for Str {
    fn cast_to(self) -> Option<Time> {
        crate::types::time::parse_time(&self)
    }
}
impl CastTo<Vec<u8>> for Str {
    fn cast_to(self) -> Option<Vec<u8>> {
        Some(self.as_bytes().to_vec())
    }
}

macro_rules! display_to_str {
    ($($from:ty),*) => {$(
        impl CastTo<Str> for $from { fn cast_to(self) -> Option<Str> { Some(Str::from(self.to_string())) } }
        impl CastTo<$from> for $from { fn cast_to(self) -> Option<$from> { Some(self) } }
    )*};
}
display_to_str!(Timestamp, Date, Time, Interval);

impl CastTo<Date> for Timestamp {
    fn cast_to(self) -> Option<Date> {
        Some(self.date())
    }
}
impl CastTo<Time> for Timestamp {
    fn cast_to(self) -> Option<Time> {
        Some(self.time())
    }
}
impl CastTo<Timestamp> for Date {
    fn cast_to(self) -> Option<Timestamp> {
        Some(Timestamp::from_parts(self, Time(0)))
    }
}
impl CastTo<i64> for Timestamp {
    /// Seconds since the epoch.
    fn cast_to(self) -> Option<i64> {
        Some(self.0.div_euclid(1_000_000_000))
    }
}
impl CastTo<Str> for Vec<u8> {
    fn cast_to(self) -> Option<Str> {
        Some(Str::from(String::from_utf8_lossy(&self)))
    }
}
impl CastTo<Vec<u8>> for Vec<u8> {
    fn cast_to(self) -> Option<Vec<u8>> {
        Some(self)
    }
}

/// `CAST(ts AS TIMESTAMP(p))`: truncated to `precision` fractional digits.
#[inline]
pub fn truncate_timestamp(a: Option<Timestamp>, precision: u8) -> Option<Timestamp> {
    let t = a?;
    let unit = 10i64.pow(9 - u32::from(precision.min(9)));
    Some(Timestamp(t.0 - t.0.rem_euclid(unit)))
}

// ---------------------------------------------------------------------------------
// Time units

/// The time units of EXTRACT and FLOOR/CEIL … TO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// MILLISECOND
    Millisecond,
    /// SECOND
    Second,
    /// MINUTE
    Minute,
    /// HOUR
    Hour,
    /// DAY
    Day,
    /// WEEK (ISO week, Monday first)
    Week,
    /// MONTH
    Month,
    /// QUARTER
    Quarter,
    /// YEAR
    Year,
    /// Day of week, 1 = Sunday … 7 = Saturday (EXTRACT only)
    Dow,
    /// Day of year (EXTRACT only)
    Doy,
    /// Seconds since the epoch (EXTRACT only)
    Epoch,
}

/// `EXTRACT(unit FROM ts)`.
pub fn extract(unit: Unit, t: Option<Timestamp>) -> Option<i64> {
    let t = t?;
    let (y, mo, d, h, mi, s, nanos) = t.fields();
    Some(match unit {
        Unit::Millisecond => i64::from(s) * 1000 + i64::from(nanos / 1_000_000),
        Unit::Second => i64::from(s),
        Unit::Minute => i64::from(mi),
        Unit::Hour => i64::from(h),
        Unit::Day => i64::from(d),
        Unit::Month => i64::from(mo),
        Unit::Quarter => i64::from((mo - 1) / 3 + 1),
        Unit::Year => i64::from(y),
        Unit::Dow => i64::from((t.date().0 + 4).rem_euclid(7) + 1),
        Unit::Doy => i64::from(t.date().0 - Date::from_ymd(y, 1, 1)?.0 + 1),
        Unit::Epoch => t.0.div_euclid(1_000_000_000),
        Unit::Week => {
            let dow = i64::from((t.date().0 + 3).rem_euclid(7)); // Monday = 0
            let thursday = Date((i64::from(t.date().0) - dow + 3) as i32);
            let (ty, _, _) = thursday.ymd();
            i64::from((thursday.0 - Date::from_ymd(ty, 1, 1)?.0) / 7 + 1)
        }
    })
}

/// `EXTRACT(unit FROM date)`.
pub fn extract_date(unit: Unit, d: Option<Date>) -> Option<i64> {
    extract(unit, Some(Timestamp::from_parts(d?, Time(0))))
}

/// `FLOOR(ts TO unit)`.
pub fn floor(unit: Unit, t: Option<Timestamp>) -> Option<Timestamp> {
    let t = t?;
    let nanos = |n: i64| Some(Timestamp(t.0 - t.0.rem_euclid(n)));
    match unit {
        Unit::Millisecond => nanos(1_000_000),
        Unit::Second => nanos(1_000_000_000),
        Unit::Minute => nanos(60_000_000_000),
        Unit::Hour => nanos(3_600_000_000_000),
        Unit::Day => nanos(86_400_000_000_000),
        Unit::Week => {
            let day = t.date().0;
            let monday = day - (day + 3).rem_euclid(7);
            Some(Timestamp::from_parts(Date(monday), Time(0)))
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let (y, m, _) = t.date().ymd();
            let m = match unit {
                Unit::Month => m,
                Unit::Quarter => (m - 1) / 3 * 3 + 1,
                _ => 1,
            };
            Some(Timestamp::from_parts(Date::from_ymd(y, m, 1)?, Time(0)))
        }
        Unit::Dow | Unit::Doy | Unit::Epoch => None,
    }
}

/// `CEIL(ts TO unit)`.
pub fn ceil(unit: Unit, t: Option<Timestamp>) -> Option<Timestamp> {
    let f = floor(unit, t)?;
    if Some(f) == t {
        return Some(f);
    }
    Some(match unit {
        Unit::Month => f.plus(Interval::Months(1)),
        Unit::Quarter => f.plus(Interval::Months(3)),
        Unit::Year => f.plus(Interval::Months(12)),
        Unit::Week => f.plus(Interval::Millis(7 * 86_400_000)),
        Unit::Day => f.plus(Interval::Millis(86_400_000)),
        Unit::Hour => f.plus(Interval::Millis(3_600_000)),
        Unit::Minute => f.plus(Interval::Millis(60_000)),
        Unit::Second => f.plus(Interval::Millis(1000)),
        _ => f.plus(Interval::Millis(1)),
    })
}

/// The current time (for PROCTIME(), CURRENT_TIMESTAMP, NOW()).
pub fn now() -> Option<Timestamp> {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(Timestamp(i64::try_from(d.as_nanos()).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_valued_logic() {
        assert_eq!(and(Some(false), None), Some(false));
        assert_eq!(and(Some(true), None), None);
        assert_eq!(or(Some(true), None), Some(true));
        assert_eq!(or(Some(false), None), None);
        assert_eq!(in_list(Some(3), &[Some(1), None]), None);
        assert_eq!(in_list(Some(1), &[Some(1), None]), Some(true));
        assert_eq!(eq::<i32>(None, Some(1)), None);
        assert_eq!(distinct::<i32>(None, None), Some(false));
    }

    #[test]
    fn arithmetic_and_casts() {
        assert_eq!(div(Some(7i64), Some(0)), None);
        assert_eq!(add(Some(i32::MAX), Some(1)), Some(i32::MIN));
        let d: Decimal = "0.908".parse().unwrap();
        let p = mul(Some(d), cast::<i64, Decimal>(Some(1000))).unwrap();
        assert_eq!(decimal_fit(Some(p), 23, 3).unwrap().to_string(), "908.000");
        assert_eq!(cast::<Str, i32>(Some(Str::from(" 42 "))), Some(42));
        assert_eq!(cast::<Str, i32>(Some(Str::from("x"))), None);
        assert_eq!(cast_str(Some(12345i64), 3).as_deref(), Some("123"));
    }

    #[test]
    fn doubles_print_as_java_does() {
        let s = |v: f64| cast::<f64, Str>(Some(v)).unwrap().to_string();
        assert_eq!(s(1000.0), "1000.0");
        assert_eq!(s(1e20), "1.0E20");
        assert_eq!(s(1e-5), "1.0E-5");
        assert_eq!(s(0.001), "0.001");
        assert_eq!(s(1234567.5), "1234567.5");
        assert_eq!(s(12345678.0), "1.2345678E7");
        assert_eq!(s(-2.5), "-2.5");
        assert_eq!(s(0.0), "0.0");
    }

    #[test]
    fn like_patterns() {
        let l = |s: &str, p: &str| like(Some(Str::from(s)), Some(Str::from(p)), Some('\\'));
        assert_eq!(l("apple", "a%e"), Some(true));
        assert_eq!(l("apple", "a_ple"), Some(true));
        assert_eq!(l("apple", "%pl%"), Some(true));
        assert_eq!(l("apple", "b%"), Some(false));
        assert_eq!(l("50%", "50\\%"), Some(true));
        assert_eq!(l("", "%"), Some(true));
    }

    #[test]
    fn time_units() {
        let t = crate::types::time::parse_timestamp("2024-02-29 13:45:30.250").unwrap();
        assert_eq!(extract(Unit::Hour, Some(t)), Some(13));
        assert_eq!(extract(Unit::Quarter, Some(t)), Some(1));
        assert_eq!(extract(Unit::Doy, Some(t)), Some(60));
        assert_eq!(floor(Unit::Hour, Some(t)).unwrap().to_string(), "2024-02-29 13:00:00");
        assert_eq!(ceil(Unit::Month, Some(t)).unwrap().to_string(), "2024-03-01 00:00:00");
        assert_eq!(floor(Unit::Week, Some(t)).unwrap().to_string(), "2024-02-26 00:00:00");
    }
}
