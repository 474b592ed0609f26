//! Dates, times, timestamps and intervals, with Flink's SQL text forms
//! (`yyyy-MM-dd HH:mm:ss[.SSS…]`).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// A point in time: nanoseconds since 1970-01-01 00:00:00 (UTC for TIMESTAMP_LTZ; the
/// wall clock as written for TIMESTAMP). Covers the years 1678 to 2262.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A calendar day: days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Date(pub i32);

/// A time of day: nanoseconds since midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(pub i64);

/// An INTERVAL: a duration in milliseconds (day-time) or a number of months (year-month).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Interval {
    /// Day-time intervals.
    Millis(i64),
    /// Year-month intervals.
    Months(i32),
}

impl Timestamp {
    /// From milliseconds since the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms.saturating_mul(1_000_000))
    }

    /// Milliseconds since the epoch (floor).
    pub const fn millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// The calendar day.
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(NANOS_PER_DAY) as i32)
    }

    /// The time of day.
    pub fn time(self) -> Time {
        Time(self.0.rem_euclid(NANOS_PER_DAY))
    }

    /// From a day and a time of day.
    pub fn from_parts(date: Date, time: Time) -> Self {
        Timestamp(i64::from(date.0) * NANOS_PER_DAY + time.0)
    }

    /// Year, month, day, hour, minute, second, nanosecond.
    pub fn fields(self) -> (i32, u32, u32, u32, u32, u32, u32) {
        let (y, mo, d) = self.date().ymd();
        let t = self.time().0;
        let secs = t / NANOS_PER_SEC;
        ((y), mo, d, (secs / 3600) as u32, (secs / 60 % 60) as u32, (secs % 60) as u32, (t % NANOS_PER_SEC) as u32)
    }

    /// Adds an interval (months clamp the day to the month's length, as SQL does).
    pub fn plus(self, i: Interval) -> Timestamp {
        match i {
            Interval::Millis(ms) => Timestamp(self.0.saturating_add(ms.saturating_mul(1_000_000))),
            Interval::Months(m) => Timestamp::from_parts(self.date().plus_months(m), self.time()),
        }
    }
}

impl Date {
    /// From a year, month (1–12) and day (1–31); `None` if no such day.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then(|| Date(days_from_civil(y, m, d)))
    }

    /// Year, month, day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Adds months, clamping the day.
    pub fn plus_months(self, months: i32) -> Date {
        let (y, m, d) = self.ymd();
        let total = y * 12 + (m as i32 - 1) + months;
        let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        Date(days_from_civil(ny, nm, d.min(days_in_month(ny, nm))))
    }
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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn write_fraction(f: &mut fmt::Formatter<'_>, nanos: u32) -> fmt::Result {
    if nanos == 0 {
        return Ok(());
    }
    let mut digits = format!("{nanos:09}");
    while digits.len() > 3 && digits.ends_with('0') {
        digits.pop();
    }
    // At least milliseconds, as Flink prints TIMESTAMP(3).
    write!(f, ".{digits}")
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / NANOS_PER_SEC;
        write!(f, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)?;
        write_fraction(f, (self.0 % NANOS_PER_SEC) as u32)
    }
}

/// `yyyy-MM-dd HH:mm:ss[.SSS]`, Flink's SQL form.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.date(), self.time())
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interval::Millis(ms) => {
                let sign = if *ms < 0 { "-" } else { "+" };
                let a = ms.unsigned_abs();
                write!(
                    f,
                    "{sign}{} {:02}:{:02}:{:02}.{:03}",
                    a / 86_400_000,
                    a / 3_600_000 % 24,
                    a / 60_000 % 60,
                    a / 1000 % 60,
                    a % 1000
                )
            }
            Interval::Months(m) => {
                let sign = if *m < 0 { "-" } else { "+" };
                let a = m.unsigned_abs();
                write!(f, "{sign}{}-{:02}", a / 12, a % 12)
            }
        }
    }
}

/// Parses `yyyy-MM-dd`.
pub fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.trim().splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    Date::from_ymd(y, m, d)
}

/// Parses `HH:mm[:ss[.fffffffff]]`.
pub fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut it = hms.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: i64 = match it.next() {
        Some(x) => x.parse().ok()?,
        None => 0,
    };
    if it.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) || (frac.is_empty() && s.contains('.')) {
        return None;
    }
    // The fraction's digits, scaled to nanoseconds without allocating.
    let mut nanos: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(Time(((h * 60 + m) * 60 + sec) * NANOS_PER_SEC + nanos))
}

/// Parses `yyyy-MM-dd HH:mm:ss[.f…]`, also with `T` between date and time and a
/// trailing `Z` (ISO-8601), or a date alone (midnight).
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    if let Some(t) = parse_timestamp_exact(s.as_bytes()) {
        return Some(t);
    }
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    match s.split_once([' ', 'T']) {
        Some((d, t)) => Some(Timestamp::from_parts(parse_date(d)?, parse_time(t)?)),
        None => Some(Timestamp::from_parts(parse_date(s)?, Time(0))),
    }
}

/// The common exact form `yyyy-MM-dd HH:mm:ss[.f…][Z]` (or with `T`), by position: the
/// fast path of [`parse_timestamp`].
fn parse_timestamp_exact(b: &[u8]) -> Option<Timestamp> {
    let b = b.strip_suffix(b"Z").unwrap_or(b);
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b' ' || b[10] == b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut nanos: i64 = 0;
    if b.len() > 19 {
        let frac = b[19..].strip_prefix(b".")?;
        if frac.is_empty() || frac.len() > 9 {
            return None;
        }
        for (i, &c) in frac.iter().enumerate() {
            if !c.is_ascii_digit() {
                return None;
            }
            nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
        }
    }
    let date = Date::from_ymd(y as i32, mo, d)?;
    let secs = i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(sec);
    Some(Timestamp::from_parts(date, Time(secs * NANOS_PER_SEC + nanos)))
}

/// Text for formats meant for people (JSON, CSV); the number inside for the others
/// (checkpoints).
macro_rules! text_serde {
    ($ty:ident, $inner:ty, $parse:ident, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() { s.collect_str(self) } else { self.0.serialize(s) }
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if !d.is_human_readable() {
                    return <$inner>::deserialize(d).map($ty);
                }
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        $parse(v).ok_or_else(|| E::custom(format!("'{v}' is not {}", $what)))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

text_serde!(Timestamp, i64, parse_timestamp, "a timestamp of the form yyyy-MM-dd HH:mm:ss[.SSS]");
text_serde!(Date, i32, parse_date, "a date of the form yyyy-MM-dd");
text_serde!(Time, i64, parse_time, "a time of the form HH:mm:ss[.SSS]");

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return s.collect_str(self);
        }
        match *self {
            Interval::Millis(ms) => (0u8, ms).serialize(s),
            Interval::Months(m) => (1u8, i64::from(m)).serialize(s),
        }
    }
}

/// Intervals are read back from checkpoints only (not from text).
impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return Err(de::Error::custom("INTERVAL values cannot be read from text"));
        }
        match <(u8, i64)>::deserialize(d)? {
            (0, ms) => Ok(Interval::Millis(ms)),
            (_, m) => Ok(Interval::Months(i32::try_from(m).map_err(de::Error::custom)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = parse_timestamp("2024-02-29 23:59:58.123").unwrap();
        assert_eq!(t.to_string(), "2024-02-29 23:59:58.123");
        assert_eq!(parse_timestamp("2024-02-29T23:59:58.123Z"), Some(t));
        assert_eq!(parse_timestamp(" 2024-02-29 23:59:58.123 "), Some(t));
        assert_eq!(parse_timestamp("2024-02-29 24:00:00"), None);
        assert_eq!(parse_timestamp("2024-02-29 23:59:58."), None);
        assert_eq!(parse_timestamp("2024-2-9 3:05:00"), parse_timestamp("2024-02-09 03:05:00"));
        assert_eq!(Timestamp::from_millis(0).to_string(), "1970-01-01 00:00:00");
        assert_eq!(Timestamp::from_millis(-1).to_string(), "1969-12-31 23:59:59.999");
        assert_eq!(parse_timestamp("2023-02-29 00:00:00"), None);
        assert_eq!(parse_date("2000-03-01"), Some(Date(11_017)));
        assert_eq!(Date(11_017).plus_months(-1).to_string(), "2000-02-01");
        assert_eq!(parse_date("2024-01-31").unwrap().plus_months(1).to_string(), "2024-02-29");
        assert_eq!(t.fields(), (2024, 2, 29, 23, 59, 58, 123_000_000));
        assert_eq!(Interval::Millis(90_061_001).to_string(), "+1 01:01:01.001");
    }
}
