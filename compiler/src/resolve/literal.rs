//! Literals: their types, and checking that dates, times, timestamps and intervals are
//! real values.

use crate::ast::{IntervalLiteral, Literal, TimeUnit};
use crate::hir::Value;
use crate::types::{Type, TypeKind};

/// The value and type of a literal, or a message saying why it is not valid.
pub fn literal(lit: &Literal) -> Result<(Value, Type), String> {
    Ok(match lit {
        Literal::Null => (Value::Null, Type::null()),
        Literal::Boolean(b) => (Value::Boolean(*b), Type::not_null(TypeKind::Boolean)),
        Literal::Number(n) => (Value::Number(n.clone()), Type::not_null(number_type(n)?)),
        Literal::String(s) => {
            let len = s.chars().count().max(1) as u32;
            (Value::String(s.clone()), Type::not_null(TypeKind::Char(len)))
        }
        Literal::Binary(hex) => {
            if hex.len() % 2 != 0 {
                return Err(format!("binary literal X'{hex}' has an odd number of hex digits"));
            }
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| format!("`{hex}` is not hexadecimal")))
                .collect::<Result<_, _>>()?;
            let len = bytes.len().max(1) as u32;
            (Value::Bytes(bytes), Type::not_null(TypeKind::Binary(len)))
        }
        Literal::Date(s) => (Value::Date(parse_date(s)?), Type::not_null(TypeKind::Date)),
        Literal::Time(s) => {
            let (ms, precision) = parse_time(s)?;
            (Value::Time(ms), Type::not_null(TypeKind::Time(precision)))
        }
        Literal::Timestamp(s) => {
            let (ms, precision) = parse_timestamp(s)?;
            (Value::Timestamp(ms), Type::not_null(TypeKind::Timestamp(precision)))
        }
        Literal::TimestampLtz(s) => {
            let (ms, precision) = parse_timestamp(s)?;
            (Value::Timestamp(ms), Type::not_null(TypeKind::TimestampLtz(precision)))
        }
        Literal::Interval(i) => match interval(i)? {
            Interval::Millis(ms) => (Value::IntervalMs(ms), Type::not_null(TypeKind::IntervalDayTime)),
            Interval::Months(m) => (Value::IntervalMonths(m), Type::not_null(TypeKind::IntervalYearMonth)),
        },
    })
}

/// INT if it fits, else BIGINT, else DECIMAL; a decimal point gives DECIMAL, an
/// exponent DOUBLE (as in Flink).
fn number_type(n: &str) -> Result<TypeKind, String> {
    if n.contains(['e', 'E']) {
        return Ok(TypeKind::Double);
    }
    if let Some((int, frac)) = n.split_once('.') {
        let int_digits = int.trim_start_matches('0').len();
        let scale = frac.len();
        let precision = (int_digits + scale).max(1);
        if precision > 38 {
            return Err(format!("`{n}` has more than 38 digits"));
        }
        return Ok(TypeKind::Decimal { precision: precision as u8, scale: scale as u8 });
    }
    if n.parse::<i32>().is_ok() {
        Ok(TypeKind::Int)
    } else if n.parse::<i64>().is_ok() {
        Ok(TypeKind::BigInt)
    } else {
        let digits = n.trim_start_matches('0').len();
        if digits > 38 {
            return Err(format!("`{n}` has more than 38 digits"));
        }
        Ok(TypeKind::Decimal { precision: digits as u8, scale: 0 })
    }
}

/// Days since 1970-01-01 of `yyyy-MM-dd`.
pub fn parse_date(s: &str) -> Result<i32, String> {
    let err = || format!("'{s}' is not a date of the form yyyy-MM-dd");
    let mut parts = s.trim().splitn(3, '-');
    let y: i32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    let m: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    let d: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(format!("'{s}' is not a valid date: no day {d} in month {m} of {y}"));
    }
    Ok(days_from_civil(y, m, d))
}

/// Milliseconds since midnight and the precision of `HH:mm:ss[.fff]`.
pub fn parse_time(s: &str) -> Result<(i64, u8), String> {
    let err = || format!("'{s}' is not a time of the form HH:mm:ss[.SSS]");
    let (hms, frac) = s.trim().split_once('.').map_or((s.trim(), ""), |(a, b)| (a, b));
    let mut parts = hms.split(':');
    let h: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    let m: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    let sec: i64 = parts.next().map_or(Some(0), |p| p.parse().ok()).ok_or_else(err)?;
    if parts.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return Err(err());
    }
    if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(err());
    }
    let millis: i64 = format!("{frac:0<3}")[..3].parse().map_err(|_| err())?;
    Ok((((h * 60 + m) * 60 + sec) * 1000 + millis, frac.len() as u8))
}

/// Milliseconds since the epoch (as UTC) and precision of `yyyy-MM-dd HH:mm:ss[.fff]`
/// (a `T` between date and time is accepted too).
pub fn parse_timestamp(s: &str) -> Result<(i64, u8), String> {
    let t = s.trim();
    let (date, time) = t.split_once([' ', 'T']).unwrap_or((t, "00:00:00"));
    let days =
        parse_date(date).map_err(|_| format!("'{s}' is not a timestamp of the form yyyy-MM-dd HH:mm:ss[.SSS]"))?;
    let (ms, precision) =
        parse_time(time).map_err(|_| format!("'{s}' is not a timestamp of the form yyyy-MM-dd HH:mm:ss[.SSS]"))?;
    Ok((i64::from(days) * 86_400_000 + ms, precision))
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 (proleptic Gregorian), after Howard Hinnant's algorithm.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An interval's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Millis(i64),
    Months(i64),
}

fn unit_ms(unit: TimeUnit) -> Option<i64> {
    Some(match unit {
        TimeUnit::Millisecond => 1,
        TimeUnit::Second => 1_000,
        TimeUnit::Minute => 60_000,
        TimeUnit::Hour => 3_600_000,
        TimeUnit::Day => 86_400_000,
        TimeUnit::Week => 7 * 86_400_000,
        _ => return None,
    })
}

fn unit_months(unit: TimeUnit) -> Option<i64> {
    Some(match unit {
        TimeUnit::Month => 1,
        TimeUnit::Quarter => 3,
        TimeUnit::Year => 12,
        _ => return None,
    })
}

/// The units from `from` down to `to`, for `'1 12:30' DAY TO MINUTE`-style values.
fn unit_range(from: TimeUnit, to: TimeUnit) -> Option<Vec<TimeUnit>> {
    let order = [TimeUnit::Year, TimeUnit::Month, TimeUnit::Day, TimeUnit::Hour, TimeUnit::Minute, TimeUnit::Second];
    let a = order.iter().position(|u| *u == from)?;
    let b = order.iter().position(|u| *u == to)?;
    (a < b && (b <= 1 || a >= 2)).then(|| order[a..=b].to_vec())
}

/// Evaluates an interval literal.
pub fn interval(i: &IntervalLiteral) -> Result<Interval, String> {
    let sign: i64 = if i.negative { -1 } else { 1 };
    let text = i.value.trim();
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => (-sign, rest.trim()),
        None => (sign, text.strip_prefix('+').unwrap_or(text).trim()),
    };
    let unit = |u: TimeUnit| format!("{u:?}").to_uppercase();
    let bad = || {
        format!(
            "'{}' is not a valid INTERVAL … {}{}",
            i.value,
            unit(i.unit),
            i.to.map(|t| format!(" TO {}", unit(t))).unwrap_or_default()
        )
    };
    match i.to {
        None => {
            if let Some(ms) = unit_ms(i.unit) {
                // Seconds (and smaller) may have a fraction.
                let value: f64 = text.parse().map_err(|_| bad())?;
                if !value.is_finite() || (value.fract() != 0.0 && i.unit > TimeUnit::Second) {
                    return Err(bad());
                }
                let millis = value * ms as f64;
                if millis.abs() > i64::MAX as f64 / 2.0 {
                    return Err(format!("interval '{}' is too large", i.value));
                }
                Ok(Interval::Millis(sign * millis.round() as i64))
            } else if let Some(months) = unit_months(i.unit) {
                let value: i64 = text.parse().map_err(|_| bad())?;
                Ok(Interval::Months(sign * value.checked_mul(months).ok_or_else(bad)?))
            } else {
                Err(format!("{} is not a unit an interval can be measured in", unit(i.unit)))
            }
        }
        Some(to) => {
            let units = unit_range(i.unit, to)
                .ok_or_else(|| format!("INTERVAL {} TO {} is not a valid range", unit(i.unit), unit(to)))?;
            let parts: Vec<&str> = text.split([' ', ':', '-']).filter(|p| !p.is_empty()).collect();
            if parts.len() != units.len() {
                return Err(bad());
            }
            if units[0] == TimeUnit::Year {
                let y: i64 = parts[0].parse().map_err(|_| bad())?;
                let m: i64 = parts[1].parse().map_err(|_| bad())?;
                return Ok(Interval::Months(sign * (y * 12 + m)));
            }
            let mut total = 0i64;
            for (part, unit) in parts.iter().zip(&units) {
                let ms = unit_ms(*unit).ok_or_else(bad)?;
                let v: f64 = part.parse().map_err(|_| bad())?;
                total += (v * ms as f64).round() as i64;
            }
            Ok(Interval::Millis(sign * total))
        }
    }
}

/// An interval literal's length in milliseconds, if it is a day-time interval.
pub fn interval_ms(i: &IntervalLiteral) -> Option<i64> {
    match interval(i) {
        Ok(Interval::Millis(ms)) => Some(ms),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(value: &str, unit: TimeUnit, to: Option<TimeUnit>) -> Result<Interval, String> {
        interval(&IntervalLiteral { negative: false, value: value.into(), quoted: true, unit, precision: None, to })
    }

    #[test]
    fn intervals() {
        assert_eq!(iv("10", TimeUnit::Second, None), Ok(Interval::Millis(10_000)));
        assert_eq!(iv("1.5", TimeUnit::Second, None), Ok(Interval::Millis(1_500)));
        assert_eq!(iv("2", TimeUnit::Day, None), Ok(Interval::Millis(172_800_000)));
        assert_eq!(iv("1:30", TimeUnit::Minute, Some(TimeUnit::Second)), Ok(Interval::Millis(90_000)));
        assert_eq!(iv("1 02:00:00", TimeUnit::Day, Some(TimeUnit::Second)), Ok(Interval::Millis(93_600_000)));
        assert_eq!(iv("1-6", TimeUnit::Year, Some(TimeUnit::Month)), Ok(Interval::Months(18)));
        assert!(iv("ten", TimeUnit::Second, None).is_err());
        assert!(iv("1.5", TimeUnit::Hour, None).is_err());
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(parse_date("1970-01-02"), Ok(1));
        assert_eq!(parse_date("2000-03-01"), Ok(11_017));
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("2024-02-29").is_ok());
        assert_eq!(parse_timestamp("1970-01-01 00:00:01.5"), Ok((1_500, 1)));
        assert!(parse_timestamp("1970-01-01 25:00:00").is_err());
        assert_eq!(number_type("2147483648"), Ok(TypeKind::BigInt));
        assert_eq!(number_type("1.50"), Ok(TypeKind::Decimal { precision: 3, scale: 2 }));
    }
}
