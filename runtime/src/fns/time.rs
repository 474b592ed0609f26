//! Date and time functions.
//!
//! The session time zone is UTC: a TIMESTAMP_LTZ (an instant) reads as the same wall
//! clock as a TIMESTAMP, and strings without an offset are read in UTC. Patterns are
//! Java's (see the letters in `datefmt`); an invalid pattern gives NULL, where Flink
//! fails the query.

use super::datefmt::{Pattern, day_of_year, iso_dow, iso_week, parse_default};
use super::tz::Zone;
use crate::ops::Unit;
use crate::types::{Date, Decimal, Str, Time, Timestamp};

const NANOS_PER_MILLI: i64 = 1_000_000;
const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;
const MILLIS_PER_DAY: i64 = 86_400_000;
/// The years TIMESTAMPADD may reach with a DATE: far beyond Flink's 0000–9999, and
/// well inside what [`Date`]'s `i32` days hold.
const MAX_YEAR: i64 = 1_000_000;
const DEFAULT_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";
/// The range Flink accepts for epoch conversions: 0000-01-01 to 9999-12-31 23:59:59.999.
const MIN_EPOCH_MILLIS: i64 = -62_167_219_200_000;
const MAX_EPOCH_MILLIS: i64 = 253_402_300_799_999;

/// Values with a calendar day: DATE, TIMESTAMP and TIMESTAMP_LTZ (in UTC).
pub trait DateLike: Copy {
    /// The calendar day.
    fn to_date(self) -> Date;
}

impl DateLike for Date {
    fn to_date(self) -> Date {
        self
    }
}

impl DateLike for Timestamp {
    fn to_date(self) -> Date {
        self.date()
    }
}

/// Values with a time of day: TIME, TIMESTAMP and TIMESTAMP_LTZ (in UTC).
pub trait TimeLike: Copy {
    /// Nanoseconds since midnight.
    fn nanos_of_day(self) -> i64;
}

impl TimeLike for Time {
    fn nanos_of_day(self) -> i64 {
        self.0
    }
}

impl TimeLike for Timestamp {
    fn nanos_of_day(self) -> i64 {
        self.time().0
    }
}

/// YEAR(date | timestamp).
pub fn year<T: DateLike>(x: Option<T>) -> Option<i64> {
    Some(i64::from(x?.to_date().ymd().0))
}

/// QUARTER(date | timestamp): 1 to 4.
pub fn quarter<T: DateLike>(x: Option<T>) -> Option<i64> {
    Some(i64::from(x?.to_date().ymd().1 + 2) / 3)
}

/// MONTH(date | timestamp): 1 to 12.
pub fn month<T: DateLike>(x: Option<T>) -> Option<i64> {
    Some(i64::from(x?.to_date().ymd().1))
}

/// WEEK(date | timestamp): the ISO-8601 week of the year, 1 to 53.
pub fn week<T: DateLike>(x: Option<T>) -> Option<i64> {
    Some(i64::from(iso_week(x?.to_date()).0))
}

/// DAYOFYEAR(date | timestamp): 1 to 366.
pub fn dayofyear<T: DateLike>(x: Option<T>) -> Option<i64> {
    Some(i64::from(day_of_year(x?.to_date())))
}

/// DAYOFMONTH(date | timestamp): 1 to 31.
pub fn dayofmonth<T: DateLike>(x: Option<T>) -> Option<i64> {
    Some(i64::from(x?.to_date().ymd().2))
}

/// DAYOFWEEK(date | timestamp): 1 (Sunday) to 7 (Saturday).
pub fn dayofweek<T: DateLike>(x: Option<T>) -> Option<i64> {
    Some(i64::from(iso_dow(x?.to_date()) % 7 + 1))
}

/// HOUR(time | timestamp): 0 to 23.
pub fn hour<T: TimeLike>(x: Option<T>) -> Option<i64> {
    Some(x?.nanos_of_day() / (3600 * NANOS_PER_SEC))
}

/// MINUTE(time | timestamp): 0 to 59.
pub fn minute<T: TimeLike>(x: Option<T>) -> Option<i64> {
    Some(x?.nanos_of_day() / (60 * NANOS_PER_SEC) % 60)
}

/// SECOND(time | timestamp): 0 to 59.
pub fn second<T: TimeLike>(x: Option<T>) -> Option<i64> {
    Some(x?.nanos_of_day() / NANOS_PER_SEC % 60)
}

/// The first argument of DATE_FORMAT: a timestamp, or a string that is read with the
/// pattern `yyyy-MM-dd HH:mm:ss` (text after it ignored, as Java's `SimpleDateFormat`).
pub trait DateFormatInput {
    /// The wall-clock time to format; `None` if a string does not parse.
    fn to_local(self) -> Option<Timestamp>;
}

impl DateFormatInput for Timestamp {
    fn to_local(self) -> Option<Timestamp> {
        Some(self)
    }
}

impl DateFormatInput for Str {
    fn to_local(self) -> Option<Timestamp> {
        Some(Pattern::new(DEFAULT_FORMAT)?.parse(&self, true)?.local)
    }
}

fn format_utc(local: Timestamp, format: &str) -> Option<Str> {
    Some(Str::from(Pattern::new(format)?.format(local, &Zone::utc(), 0)))
}

/// DATE_FORMAT(timestamp | string, format): formats with a Java pattern, e.g.
/// `DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm')`. NULL for an invalid pattern or an unreadable
/// string.
pub fn date_format<T: DateFormatInput>(x: Option<T>, format: Option<Str>) -> Option<Str> {
    let (x, format) = (x?, format?);
    format_utc(x.to_local()?, &format)
}

fn truncate_to_millis(t: Timestamp) -> Timestamp {
    Timestamp(t.0 - t.0.rem_euclid(NANOS_PER_MILLI))
}

/// TO_TIMESTAMP(string, format): parses with a Java pattern (the whole string must
/// match); failing that, the string is tried as `yyyy-M-d[ H:m:s[.f]]`. Milliseconds
/// precision (TIMESTAMP(3)); NULL when it does not parse.
pub fn to_timestamp(s: Option<Str>, format: Option<Str>) -> Option<Timestamp> {
    let (s, format) = (s?, format?);
    let parsed = Pattern::new(&format)?.parse(&s, false).map(|p| p.local);
    parsed.or_else(|| parse_default(s.trim())).map(truncate_to_millis)
}

/// TO_TIMESTAMP(string): parses `yyyy-M-d[ H:m:s[.fffffffff]]`.
pub fn to_timestamp_1(s: Option<Str>) -> Option<Timestamp> {
    parse_default(s?.trim()).map(truncate_to_millis)
}

/// TO_DATE(string, format): parses with a Java pattern (text after it ignored, as
/// `SimpleDateFormat`); NULL when it does not parse.
pub fn to_date(s: Option<Str>, format: Option<Str>) -> Option<Date> {
    let (s, format) = (s?, format?);
    Some(Pattern::new(&format)?.parse(&s, true)?.instant(&Zone::utc()).date())
}

/// TO_DATE(string): `yyyy[-M[-d]]` (parts may be padded with spaces), ignoring anything
/// after a space (so a timestamp string gives its day). NULL when it does not parse.
pub fn to_date_1(s: Option<Str>) -> Option<Date> {
    let s = s?;
    let s = match s.find(' ') {
        Some(i) if i > 0 => &s[..i],
        _ => &s[..],
    };
    let mut parts = s.splitn(3, '-').map(|p| {
        let p = p.trim();
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) { None } else { p.parse::<u32>().ok() }
    });
    let y = parts.next()??;
    let m = parts.next().unwrap_or(Some(1))?;
    let d = parts.next().unwrap_or(Some(1))?;
    if y > 9999 {
        return None;
    }
    Date::from_ymd(y as i32, m, d)
}

/// UNIX_TIMESTAMP(string, format): the seconds since the epoch of a date-time string
/// read with a Java pattern in UTC (text after it ignored, as `SimpleDateFormat`). As in
/// Flink, a string that does not parse gives `i64::MIN` (Java's `Long.MIN_VALUE`), not
/// NULL; an invalid pattern gives NULL.
pub fn unix_timestamp(s: Option<Str>, format: Option<Str>) -> Option<i64> {
    let (s, format) = (s?, format?);
    let pattern = Pattern::new(&format)?;
    Some(match pattern.parse(&s, true) {
        Some(p) => p.instant(&Zone::utc()).millis() / 1000,
        None => i64::MIN,
    })
}

/// UNIX_TIMESTAMP(string): with the pattern `yyyy-MM-dd HH:mm:ss`.
pub fn unix_timestamp_1(s: Option<Str>) -> Option<i64> {
    unix_timestamp(s, Some(Str::new_inline(DEFAULT_FORMAT)))
}

/// FROM_UNIXTIME(seconds, format): the instant `seconds` after the epoch formatted in
/// UTC with a Java pattern.
pub fn from_unixtime(secs: Option<i64>, format: Option<Str>) -> Option<Str> {
    let (secs, format) = (secs?, format?);
    format_utc(Timestamp(secs.checked_mul(NANOS_PER_SEC)?), &format)
}

/// FROM_UNIXTIME(seconds): as `yyyy-MM-dd HH:mm:ss`.
pub fn from_unixtime_1(secs: Option<i64>) -> Option<Str> {
    from_unixtime(secs, Some(Str::new_inline(DEFAULT_FORMAT)))
}

/// An epoch count of milliseconds, if Flink accepts it and a [`Timestamp`] can hold it.
fn epoch_millis(ms: i64) -> Option<Timestamp> {
    if !(MIN_EPOCH_MILLIS..=MAX_EPOCH_MILLIS).contains(&ms) {
        return None;
    }
    Some(Timestamp(ms.checked_mul(NANOS_PER_MILLI)?))
}

/// The first argument of TO_TIMESTAMP_LTZ: an epoch count (any numeric type; the second
/// argument is then the precision, an INT) or, as in Flink 2.0, a date-time string (the
/// second argument is then its format, a STRING).
pub trait LtzInput: Sized {
    /// The type of the second argument.
    type Second;
    /// With the default second argument (milliseconds, or `yyyy-MM-dd HH:mm:ss.SSS`).
    fn ltz(self) -> Option<Timestamp>;
    /// With an explicit second argument.
    fn ltz_with(self, second: Self::Second) -> Option<Timestamp>;
}

macro_rules! ltz_integer {
    ($($t:ty),*) => {$(
        impl LtzInput for $t {
            type Second = i32;
            fn ltz(self) -> Option<Timestamp> {
                epoch_millis(self as i64)
            }
            fn ltz_with(self, precision: i32) -> Option<Timestamp> {
                match precision {
                    0 => epoch_millis((self as i64).checked_mul(1000)?),
                    3 => epoch_millis(self as i64),
                    _ => None,
                }
            }
        }
    )*};
}

ltz_integer!(i8, i16, i32, i64);

impl LtzInput for f64 {
    type Second = i32;
    fn ltz(self) -> Option<Timestamp> {
        self.ltz_with(3)
    }
    fn ltz_with(self, precision: i32) -> Option<Timestamp> {
        match precision {
            0 if (MIN_EPOCH_MILLIS as f64 / 1000.0..=MAX_EPOCH_MILLIS as f64 / 1000.0).contains(&self) => {
                epoch_millis((self * 1000.0) as i64)
            }
            3 if self.is_finite() => epoch_millis(self as i64),
            _ => None,
        }
    }
}

impl LtzInput for f32 {
    type Second = i32;
    fn ltz(self) -> Option<Timestamp> {
        f64::from(self).ltz()
    }
    fn ltz_with(self, precision: i32) -> Option<Timestamp> {
        f64::from(self).ltz_with(precision)
    }
}

impl LtzInput for Decimal {
    type Second = i32;
    fn ltz(self) -> Option<Timestamp> {
        self.ltz_with(3)
    }
    fn ltz_with(self, precision: i32) -> Option<Timestamp> {
        let whole = i64::try_from(self.trunc_i128()).ok()?;
        match precision {
            0 => epoch_millis(whole.checked_mul(1000)?),
            3 => epoch_millis(whole),
            _ => None,
        }
    }
}

impl LtzInput for Str {
    type Second = Str;
    fn ltz(self) -> Option<Timestamp> {
        let parsed = Pattern::new("yyyy-MM-dd HH:mm:ss.SSS")?.parse(&self, false).map(|p| p.instant(&Zone::utc()));
        parsed.or_else(|| parse_default(self.trim()))
    }
    fn ltz_with(self, format: Str) -> Option<Timestamp> {
        to_timestamp_ltz(Some(self), Some(format), Some(Str::new_inline("UTC")))
    }
}

/// TO_TIMESTAMP_LTZ(string, format, time_zone): a date-time string read with a Java
/// pattern in a time zone (see `tz` for the zones known). NULL when it does not parse
/// or the zone is unknown.
pub fn to_timestamp_ltz(s: Option<Str>, format: Option<Str>, zone: Option<Str>) -> Option<Timestamp> {
    let (s, format, zone) = (s?, format?, zone?);
    let zone = Zone::parse(&zone)?;
    Some(Pattern::new(&format)?.parse(&s, false)?.instant(&zone))
}

/// TO_TIMESTAMP_LTZ(epoch, precision): seconds (precision 0) or milliseconds (3) since
/// the epoch, NULL for other precisions or outside the years 0000–9999. Also
/// TO_TIMESTAMP_LTZ(string, format), read in UTC.
pub fn to_timestamp_ltz_2<T: LtzInput>(x: Option<T>, second: Option<T::Second>) -> Option<Timestamp> {
    x?.ltz_with(second?)
}

/// TO_TIMESTAMP_LTZ(epoch_millis), or TO_TIMESTAMP_LTZ(string) with the pattern
/// `yyyy-MM-dd HH:mm:ss.SSS` (or `yyyy-M-d[ H:m:s[.f]]`).
pub fn to_timestamp_ltz_1<T: LtzInput>(x: Option<T>) -> Option<Timestamp> {
    x?.ltz()
}

/// CONVERT_TZ(string, from_tz, to_tz): a `yyyy-MM-dd HH:mm:ss` wall-clock time in
/// `from_tz` re-expressed in `to_tz`, e.g. `CONVERT_TZ('1970-01-01 00:00:00', 'UTC',
/// 'America/Los_Angeles')` is '1969-12-31 16:00:00'. NULL for text that does not parse
/// or an unknown zone.
pub fn convert_tz(s: Option<Str>, from: Option<Str>, to: Option<Str>) -> Option<Str> {
    let (s, from, to) = (s?, Zone::parse(&from?)?, Zone::parse(&to?)?);
    let pattern = Pattern::new(DEFAULT_FORMAT)?;
    let instant = pattern.parse(&s, true)?.instant(&from);
    Some(Str::from(pattern.format(to.to_local(instant), &to, to.offset_at(instant))))
}

/// DATE, TIMESTAMP and TIMESTAMP_LTZ (in UTC) values, as TIMESTAMPADD and
/// TIMESTAMPDIFF take them.
pub trait Datetime: Copy {
    /// Milliseconds since the epoch (a DATE at midnight). Digits below the millisecond
    /// are dropped, as Flink does (`TimestampData.getMillisecond()`).
    fn epoch_millis(self) -> i64;
    /// `self` plus `n` units; `None` when the result is out of range.
    fn plus_units(self, unit: Unit, n: i64) -> Option<Self>;
}

/// A unit of TIMESTAMPADD / TIMESTAMPDIFF: a fixed length, or a number of months.
enum Step {
    Nanos(i64),
    Months(i64),
}

fn step(unit: Unit) -> Option<Step> {
    Some(match unit {
        Unit::Millisecond => Step::Nanos(NANOS_PER_MILLI),
        Unit::Second => Step::Nanos(NANOS_PER_SEC),
        Unit::Minute => Step::Nanos(60 * NANOS_PER_SEC),
        Unit::Hour => Step::Nanos(3600 * NANOS_PER_SEC),
        Unit::Day => Step::Nanos(NANOS_PER_DAY),
        Unit::Week => Step::Nanos(7 * NANOS_PER_DAY),
        Unit::Month => Step::Months(1),
        Unit::Quarter => Step::Months(3),
        Unit::Year => Step::Months(12),
        Unit::Dow | Unit::Doy | Unit::Epoch => return None,
    })
}

/// `d` plus `months`, the day clamped to the end of the month (2024-01-31 plus one
/// month is 2024-02-29), as Flink's `DateTimeUtils.addMonths`.
fn add_months(d: Date, months: i64) -> Option<Date> {
    let (y, m, day) = d.ymd();
    let total = (i64::from(y) * 12 + i64::from(m) - 1).checked_add(months)?;
    let year = total.div_euclid(12);
    if year.abs() > MAX_YEAR {
        return None;
    }
    let (year, month) = (year as i32, total.rem_euclid(12) as u32 + 1);
    // Days past the month's end do not exist: the last one that does.
    (day.min(28)..=day).rev().find_map(|d| Date::from_ymd(year, month, d))
}

fn date_from_days(days: i64) -> Option<Date> {
    i32::try_from(days).ok().map(Date)
}

impl Datetime for Timestamp {
    fn epoch_millis(self) -> i64 {
        self.millis()
    }

    fn plus_units(self, unit: Unit, n: i64) -> Option<Self> {
        match step(unit)? {
            Step::Nanos(len) => Some(Timestamp(self.0.checked_add(n.checked_mul(len)?)?)),
            Step::Months(len) => {
                let date = add_months(self.date(), n.checked_mul(len)?)?;
                Some(Timestamp(i64::from(date.0).checked_mul(NANOS_PER_DAY)?.checked_add(self.time().0)?))
            }
        }
    }
}

impl Datetime for Date {
    fn epoch_millis(self) -> i64 {
        i64::from(self.0) * MILLIS_PER_DAY
    }

    /// Units shorter than a day move the date's midnight and give the day reached
    /// (Flink's result would be that TIMESTAMP).
    fn plus_units(self, unit: Unit, n: i64) -> Option<Self> {
        match step(unit)? {
            Step::Nanos(len) if len % NANOS_PER_DAY == 0 => {
                date_from_days(i64::from(self.0).checked_add(n.checked_mul(len / NANOS_PER_DAY)?)?)
            }
            Step::Nanos(len) => {
                let ms = self.epoch_millis().checked_add(n.checked_mul(len / NANOS_PER_MILLI)?)?;
                date_from_days(ms.div_euclid(MILLIS_PER_DAY))
            }
            Step::Months(len) => add_months(self, n.checked_mul(len)?),
        }
    }
}

/// TIMESTAMPADD(unit, n, x): `x` (a DATE, TIMESTAMP or TIMESTAMP_LTZ) plus `n` units,
/// e.g. `TIMESTAMPADD(HOUR, 2, ts)`. Units are SECOND, MINUTE, HOUR, DAY, WEEK (7
/// days), MONTH, QUARTER (3 months), YEAR (12 months), and MILLISECOND; the others of
/// [`Unit`] give NULL. Months keep the time of day and clamp the day to the month's
/// end (`2024-01-31` plus one MONTH is `2024-02-29`). A DATE plus units shorter than a
/// day gives the day reached (Flink types that result as a TIMESTAMP). NULL when the
/// result is out of range.
pub fn timestampadd<T: Datetime>(unit: Unit, n: Option<i64>, x: Option<T>) -> Option<T> {
    x?.plus_units(unit, n?)
}

/// Whole months from `from` to `to` (epoch milliseconds), as Flink's
/// `DateTimeUtils.subtractMonths`: for `to` later, the most months `m` with `from`'s
/// day plus `m` months (clamped to the month's end) not after `to`'s day, one fewer
/// when that lands on `to`'s day at an earlier time of day.
fn months_between(from: i64, to: i64) -> Option<i64> {
    let (d_from, ms_from) = (from.div_euclid(MILLIS_PER_DAY), from.rem_euclid(MILLIS_PER_DAY));
    let (d_to, ms_to) = (to.div_euclid(MILLIS_PER_DAY), to.rem_euclid(MILLIS_PER_DAY));
    let (d_from, d_to) = (date_from_days(d_from)?, date_from_days(d_to)?);
    let mut m = months_between_days(d_from, d_to)?;
    if add_months(d_from, m)? == d_to && ms_to < ms_from {
        m -= 1;
    }
    Some(m)
}

/// Whole months between two days: for `to` later, the most months `m` with `from`
/// plus `m` months (clamped) not after `to`; negated when `to` is earlier.
fn months_between_days(from: Date, to: Date) -> Option<i64> {
    if to < from {
        return months_between_days(to, from).map(|m| -m);
    }
    let ((y0, m0, _), (y1, m1, _)) = (from.ymd(), to.ymd());
    // `from` plus the calendar months between them falls in `to`'s month.
    let m = (i64::from(y1) - i64::from(y0)) * 12 + i64::from(m1) - i64::from(m0);
    Some(if add_months(from, m)? > to { m - 1 } else { m })
}

/// TIMESTAMPDIFF(unit, a, b): the whole units from `a` to `b` (each a DATE, TIMESTAMP
/// or TIMESTAMP_LTZ; a DATE counts as its midnight), negative when `b` is earlier,
/// e.g. `TIMESTAMPDIFF(DAY, a, b)`. As Flink, at millisecond precision:
///
/// * SECOND … WEEK: the difference divided by the unit, truncated toward zero.
/// * MONTH, QUARTER, YEAR: whole months (÷ 3, ÷ 12, truncated): a month is complete
///   when `a` plus one month, the day clamped to the month's end, is reached, so
///   `2024-01-15 10:00` to `2024-02-15 10:00` and `2024-01-31` to `2024-02-29` are one
///   month each, `2024-01-31` to `2024-02-28` none. When `b` is earlier the time of
///   day is compared the same way as when it is later, so that, as in Flink,
///   `2024-02-15 10:00` to `2024-01-15 09:00` is -2 months (and to `2024-01-15 11:00`
///   -1).
///
/// NULL when the result does not fit an INT, and for the units of [`Unit`] other than
/// those and MILLISECOND.
pub fn timestampdiff<A: Datetime, B: Datetime>(unit: Unit, a: Option<A>, b: Option<B>) -> Option<i32> {
    let (from, to) = (a?.epoch_millis(), b?.epoch_millis());
    let n = match step(unit)? {
        Step::Nanos(len) => to.checked_sub(from)? / (len / NANOS_PER_MILLI),
        Step::Months(len) => months_between(from, to)? / len,
    };
    i32::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<Str> {
        Some(Str::new(v))
    }

    fn ts(v: &str) -> Option<Timestamp> {
        parse_default(v)
    }

    fn txt<T: ToString>(v: Option<T>) -> Option<String> {
        v.map(|x| x.to_string())
    }

    #[test]
    fn fields() {
        let t = ts("2024-02-29 13:45:59.999");
        assert_eq!(year(t), Some(2024));
        assert_eq!(quarter(t), Some(1));
        assert_eq!(month(t), Some(2));
        assert_eq!(week(t), Some(9));
        assert_eq!(dayofyear(t), Some(60));
        assert_eq!(dayofmonth(t), Some(29));
        assert_eq!(dayofweek(t), Some(5));
        assert_eq!(hour(t), Some(13));
        assert_eq!(minute(t), Some(45));
        assert_eq!(second(t), Some(59));
        let d = Date::from_ymd(2023, 1, 1);
        assert_eq!(week(d), Some(52));
        assert_eq!(dayofweek(d), Some(1));
        assert_eq!(quarter(Date::from_ymd(2023, 12, 31)), Some(4));
        assert_eq!(hour(Some(Time(23 * 3600 * NANOS_PER_SEC + 1))), Some(23));
        assert_eq!(year(ts("1969-12-31 23:59:59")), Some(1969));
        assert_eq!(hour(ts("1969-12-31 23:59:59")), Some(23));
        assert_eq!(year::<Date>(None), None);
        assert_eq!(second::<Timestamp>(None), None);
    }

    #[test]
    fn formatting() {
        let t = ts("2024-03-05 07:08:09.123");
        assert_eq!(txt(date_format(t, s("yyyy/MM/dd HH:mm:ss.SSS"))), Some("2024/03/05 07:08:09.123".into()));
        assert_eq!(txt(date_format(t, s("EEE d MMM"))), Some("Tue 5 Mar".into()));
        assert_eq!(txt(date_format(s("2024-03-05 07:08:09"), s("yyyyMMdd"))), Some("20240305".into()));
        assert_eq!(txt(date_format(s("2024-03-05 07:08:09.5"), s("HH"))), Some("07".into()));
        assert_eq!(date_format(s("2024-03-05"), s("yyyy")), None);
        assert_eq!(date_format(t, s("yyyy bb")), None);
        assert_eq!(date_format(t, None), None);
        assert_eq!(date_format::<Timestamp>(None, s("yyyy")), None);
        assert_eq!(txt(from_unixtime_1(Some(0))), Some("1970-01-01 00:00:00".into()));
        assert_eq!(txt(from_unixtime(Some(1_700_000_000), s("yyyy-MM-dd'T'HH:mm"))), Some("2023-11-14T22:13".into()));
        assert_eq!(txt(from_unixtime_1(Some(-1))), Some("1969-12-31 23:59:59".into()));
        assert_eq!(from_unixtime_1(None), None);
    }

    #[test]
    fn parsing() {
        assert_eq!(txt(to_timestamp_1(s("2024-03-05 07:08:09.123456"))), Some("2024-03-05 07:08:09.123".into()));
        assert_eq!(txt(to_timestamp_1(s("2024-03-05"))), Some("2024-03-05 00:00:00".into()));
        assert_eq!(to_timestamp_1(s("not a date")), None);
        assert_eq!(to_timestamp_1(None), None);
        assert_eq!(txt(to_timestamp(s("05/03/2024 07:08"), s("dd/MM/yyyy HH:mm"))), Some("2024-03-05 07:08:00".into()));
        assert_eq!(txt(to_timestamp(s("1999-9-10 05:20:10"), s("yyyy-MM-dd"))), Some("1999-09-10 05:20:10".into()));
        assert_eq!(to_timestamp(s("2024-13-01"), s("yyyy-MM-dd")), None);
        assert_eq!(to_timestamp(s("x"), s("yyyy bb")), None);
        assert_eq!(to_timestamp_1(s("9999-12-31 23:59:59")), None);
        assert_eq!(to_timestamp(s("123456789-01-01"), s("yyyy-MM-dd")), None);
        assert_eq!(unix_timestamp(s("99999"), s("yyyy")), Some(i64::MIN));
        assert_eq!(txt(to_date_1(s("2024-03-05"))), Some("2024-03-05".into()));
        assert_eq!(txt(to_date_1(s("2024-03-05 10:11:12"))), Some("2024-03-05".into()));
        assert_eq!(txt(to_date_1(s("2024-3"))), Some("2024-03-01".into()));
        assert_eq!(to_date_1(s("2024-02-30")), None);
        assert_eq!(to_date_1(s("abc")), None);
        assert_eq!(txt(to_date(s("05.03.2024"), s("dd.MM.yyyy"))), Some("2024-03-05".into()));
        assert_eq!(to_date(s("2024"), s("dd.MM.yyyy")), None);
    }

    #[test]
    fn epochs() {
        assert_eq!(unix_timestamp_1(s("1970-01-01 00:00:10")), Some(10));
        assert_eq!(unix_timestamp_1(s("2023-11-14 22:13:20")), Some(1_700_000_000));
        assert_eq!(unix_timestamp_1(s("2023-11-14 22:13:20.999")), Some(1_700_000_000));
        assert_eq!(unix_timestamp(s("2023/11/14"), s("yyyy/MM/dd")), Some(1_699_920_000));
        assert_eq!(unix_timestamp(s("1969-12-31 23:59:58"), s("yyyy-MM-dd HH:mm:ss")), Some(-2));
        assert_eq!(unix_timestamp(s("2023-11-14 22:13:20 +0100"), s("yyyy-MM-dd HH:mm:ss Z")), Some(1_699_996_400));
        assert_eq!(unix_timestamp_1(s("garbage")), Some(i64::MIN));
        assert_eq!(unix_timestamp(s("2023"), s("yyyy bb")), None);
        assert_eq!(unix_timestamp_1(None), None);
        assert_eq!(txt(to_timestamp_ltz_1(Some(1_700_000_000_123i64))), Some("2023-11-14 22:13:20.123".into()));
        assert_eq!(txt(to_timestamp_ltz_2(Some(1_700_000_000i64), Some(0))), Some("2023-11-14 22:13:20".into()));
        assert_eq!(txt(to_timestamp_ltz_2(Some(1.5f64), Some(0))), Some("1970-01-01 00:00:01.500".into()));
        let dec: Decimal = "1700000000.9".parse().unwrap();
        assert_eq!(txt(to_timestamp_ltz_2(Some(dec), Some(0))), Some("2023-11-14 22:13:20".into()));
        assert_eq!(to_timestamp_ltz_2(Some(1i32), Some(6)), None);
        assert_eq!(to_timestamp_ltz_2(Some(i64::MAX), Some(3)), None);
        assert_eq!(to_timestamp_ltz_2(Some(1i64), None), None);
        assert_eq!(txt(to_timestamp_ltz_1(s("2024-03-05 07:08:09.123"))), Some("2024-03-05 07:08:09.123".into()));
        assert_eq!(txt(to_timestamp_ltz_1(s("2024-03-05 07:08:09"))), Some("2024-03-05 07:08:09".into()));
        let fmt = s("dd/MM/yyyy HH:mm");
        assert_eq!(txt(to_timestamp_ltz_2(s("05/03/2024 07:08"), fmt.clone())), Some("2024-03-05 07:08:00".into()));
        let shanghai = to_timestamp_ltz(s("05/03/2024 08:00"), fmt.clone(), s("Asia/Shanghai"));
        assert_eq!(txt(shanghai), Some("2024-03-05 00:00:00".into()));
        assert_eq!(to_timestamp_ltz(s("05/03/2024 08:00"), fmt, s("Nowhere/Void")), None);
    }

    fn date(v: &str) -> Option<Date> {
        crate::types::time::parse_date(v)
    }

    #[test]
    fn timestampadd_each_unit() {
        let t = ts("2024-01-31 10:20:30.123456789");
        let add = |u: Unit, n: i64| txt(timestampadd(u, Some(n), t));
        assert_eq!(add(Unit::Millisecond, 1), Some("2024-01-31 10:20:30.124456789".into()));
        assert_eq!(add(Unit::Second, 30), Some("2024-01-31 10:21:00.123456789".into()));
        assert_eq!(add(Unit::Minute, -21), Some("2024-01-31 09:59:30.123456789".into()));
        assert_eq!(add(Unit::Hour, 14), Some("2024-02-01 00:20:30.123456789".into()));
        assert_eq!(add(Unit::Day, -31), Some("2023-12-31 10:20:30.123456789".into()));
        assert_eq!(add(Unit::Week, 2), Some("2024-02-14 10:20:30.123456789".into()));
        // Months clamp the day to the month's end, in leap years and others.
        assert_eq!(add(Unit::Month, 1), Some("2024-02-29 10:20:30.123456789".into()));
        assert_eq!(add(Unit::Month, 13), Some("2025-02-28 10:20:30.123456789".into()));
        assert_eq!(add(Unit::Month, -2), Some("2023-11-30 10:20:30.123456789".into()));
        assert_eq!(add(Unit::Quarter, 1), Some("2024-04-30 10:20:30.123456789".into()));
        assert_eq!(add(Unit::Quarter, -4), Some("2023-01-31 10:20:30.123456789".into()));
        assert_eq!(add(Unit::Year, 1), Some("2025-01-31 10:20:30.123456789".into()));
        assert_eq!(add(Unit::Month, 0), txt(t));
        let leap = ts("2024-02-29 00:00:00");
        assert_eq!(txt(timestampadd(Unit::Year, Some(1), leap)), Some("2025-02-28 00:00:00".into()));
        assert_eq!(txt(timestampadd(Unit::Year, Some(4), leap)), Some("2028-02-29 00:00:00".into()));
        assert_eq!(txt(timestampadd(Unit::Year, Some(-100), leap)), Some("1924-02-29 00:00:00".into()));
        assert_eq!(
            txt(timestampadd(Unit::Second, Some(-1), ts("1970-01-01 00:00:00"))),
            Some("1969-12-31 23:59:59".into())
        );
        assert_eq!(timestampadd(Unit::Dow, Some(1), t), None);
    }

    #[test]
    fn timestampadd_dates() {
        let d = date("2024-01-31");
        let add = |u: Unit, n: i64| txt(timestampadd(u, Some(n), d));
        assert_eq!(add(Unit::Day, 1), Some("2024-02-01".into()));
        assert_eq!(add(Unit::Week, -1), Some("2024-01-24".into()));
        assert_eq!(add(Unit::Month, 1), Some("2024-02-29".into()));
        assert_eq!(add(Unit::Month, 3), Some("2024-04-30".into()));
        assert_eq!(add(Unit::Year, -1), Some("2023-01-31".into()));
        assert_eq!(txt(timestampadd(Unit::Year, Some(1), date("2000-02-29"))), Some("2001-02-28".into()));
        assert_eq!(txt(timestampadd(Unit::Year, Some(100), date("2000-02-29"))), Some("2100-02-28".into()));
        // Units shorter than a day: the day reached from midnight.
        assert_eq!(add(Unit::Hour, 23), Some("2024-01-31".into()));
        assert_eq!(add(Unit::Hour, 24), Some("2024-02-01".into()));
        assert_eq!(add(Unit::Second, -1), Some("2024-01-30".into()));
        assert_eq!(add(Unit::Minute, -1440), Some("2024-01-30".into()));
    }

    #[test]
    fn timestampadd_nulls_and_overflow() {
        let t = ts("2024-01-31 10:20:30");
        assert_eq!(timestampadd::<Timestamp>(Unit::Day, Some(1), None), None);
        assert_eq!(timestampadd(Unit::Day, None, t), None);
        assert_eq!(timestampadd(Unit::Day, None, date("2024-01-01")), None);
        // Timestamps hold the years 1678 to 2262.
        assert_eq!(timestampadd(Unit::Year, Some(300), t), None);
        assert_eq!(timestampadd(Unit::Day, Some(i64::MAX), t), None);
        assert_eq!(timestampadd(Unit::Second, Some(i64::MIN), t), None);
        assert_eq!(timestampadd(Unit::Month, Some(i64::MAX), t), None);
        assert_eq!(timestampadd(Unit::Quarter, Some(i64::MAX / 2), t), None);
        assert_eq!(timestampadd(Unit::Year, Some(i64::from(i32::MAX)), date("2024-01-01")), None);
        assert_eq!(timestampadd(Unit::Day, Some(i64::from(i32::MAX)), date("2024-01-01")), None);
        assert_eq!(timestampadd(Unit::Hour, Some(i64::MAX), date("2024-01-01")), None);
        assert_eq!(txt(timestampadd(Unit::Year, Some(5000), date("2024-01-01"))), Some("7024-01-01".into()));
    }

    #[test]
    fn timestampdiff_fixed_units() {
        let diff = |u: Unit, a: &str, b: &str| timestampdiff(u, ts(a), ts(b));
        let (a, b) = ("2024-01-01 00:00:00", "2024-03-01 12:34:56.789");
        assert_eq!(diff(Unit::Millisecond, a, "2024-01-01 00:00:01.5"), Some(1500));
        assert_eq!(diff(Unit::Second, a, b), Some(5_229_296));
        assert_eq!(diff(Unit::Minute, a, b), Some(87_154));
        assert_eq!(diff(Unit::Hour, a, b), Some(1452));
        assert_eq!(diff(Unit::Day, a, b), Some(60));
        assert_eq!(diff(Unit::Week, a, b), Some(8));
        // Negative differences are truncated toward zero.
        assert_eq!(diff(Unit::Second, b, a), Some(-5_229_296));
        assert_eq!(diff(Unit::Day, b, a), Some(-60));
        assert_eq!(diff(Unit::Hour, "2024-01-01 10:00:00", "2024-01-01 08:30:00"), Some(-1));
        assert_eq!(diff(Unit::Day, "2024-01-02 00:00:00", "2024-01-01 00:00:01"), Some(0));
        assert_eq!(diff(Unit::Second, "1969-12-31 23:59:59.5", "1970-01-01 00:00:00.4"), Some(0));
        assert_eq!(diff(Unit::Second, a, a), Some(0));
        // Digits below the millisecond are dropped, as Flink does.
        let (x, y) = (Some(Timestamp(999_999)), Some(Timestamp(1_000_000)));
        assert_eq!(timestampdiff(Unit::Millisecond, x, y), Some(1));
        // DATEs count as their midnight, also against a TIMESTAMP.
        assert_eq!(timestampdiff(Unit::Day, date("2024-02-28"), date("2024-03-01")), Some(2));
        assert_eq!(timestampdiff(Unit::Day, date("2023-02-28"), date("2023-03-01")), Some(1));
        assert_eq!(timestampdiff(Unit::Hour, date("2024-01-01"), ts("2024-01-01 05:59:00")), Some(5));
        assert_eq!(timestampdiff(Unit::Hour, ts("2024-01-01 05:59:00"), date("2024-01-01")), Some(-5));
    }

    #[test]
    fn timestampdiff_months() {
        let diff = |u: Unit, a: &str, b: &str| timestampdiff(u, ts(a), ts(b));
        assert_eq!(diff(Unit::Month, "2024-01-15 10:00:00", "2024-02-15 10:00:00"), Some(1));
        assert_eq!(diff(Unit::Month, "2024-01-15 10:00:00", "2024-02-15 09:59:59.999"), Some(0));
        assert_eq!(diff(Unit::Month, "2024-01-15 10:00:00", "2024-02-14 23:00:00"), Some(0));
        assert_eq!(diff(Unit::Month, "2024-01-15 10:00:00", "2024-03-16 00:00:00"), Some(2));
        // A month from the 31st is complete on the month's last day.
        assert_eq!(diff(Unit::Month, "2024-01-31 00:00:00", "2024-02-29 00:00:00"), Some(1));
        assert_eq!(diff(Unit::Month, "2024-01-31 12:00:00", "2024-02-29 11:00:00"), Some(0));
        assert_eq!(diff(Unit::Month, "2023-01-31 00:00:00", "2023-02-28 00:00:00"), Some(1));
        assert_eq!(diff(Unit::Month, "2024-01-31 00:00:00", "2024-02-28 00:00:00"), Some(0));
        assert_eq!(diff(Unit::Month, "2024-01-30 00:00:00", "2024-03-29 00:00:00"), Some(1));
        assert_eq!(diff(Unit::Month, "2024-01-30 00:00:00", "2024-03-30 00:00:00"), Some(2));
        // Quarters and years: whole months ÷ 3 and ÷ 12.
        assert_eq!(diff(Unit::Quarter, "2024-01-01 00:00:00", "2024-03-31 23:59:59"), Some(0));
        assert_eq!(diff(Unit::Quarter, "2024-01-01 00:00:00", "2024-04-01 00:00:00"), Some(1));
        assert_eq!(diff(Unit::Quarter, "2023-11-30 00:00:00", "2024-11-29 00:00:00"), Some(3));
        assert_eq!(diff(Unit::Year, "2024-02-29 00:00:00", "2025-02-28 00:00:00"), Some(1));
        assert_eq!(diff(Unit::Year, "2023-03-01 00:00:00", "2024-02-29 23:59:59"), Some(0));
        assert_eq!(diff(Unit::Year, "2000-06-15 00:00:00", "2024-06-14 00:00:00"), Some(23));
        // Earlier ends are negative.
        assert_eq!(diff(Unit::Month, "2024-02-15 10:00:00", "2024-01-15 10:00:00"), Some(-1));
        assert_eq!(diff(Unit::Month, "2024-03-31 00:00:00", "2024-02-29 00:00:00"), Some(-1));
        assert_eq!(diff(Unit::Month, "2024-02-29 00:00:00", "2024-01-31 00:00:00"), Some(-1));
        assert_eq!(diff(Unit::Quarter, "2024-04-01 00:00:00", "2024-01-01 00:00:00"), Some(-1));
        assert_eq!(diff(Unit::Year, "2025-02-28 00:00:00", "2023-03-01 00:00:00"), Some(-1));
        // Flink's rule for the time of day, also when the end is earlier.
        assert_eq!(diff(Unit::Month, "2024-02-15 10:00:00", "2024-01-15 09:00:00"), Some(-2));
        assert_eq!(diff(Unit::Month, "2024-02-15 10:00:00", "2024-01-15 11:00:00"), Some(-1));
        // DATEs, also mixed with TIMESTAMPs.
        assert_eq!(timestampdiff(Unit::Month, date("2024-01-31"), date("2024-02-29")), Some(1));
        assert_eq!(timestampdiff(Unit::Year, date("2020-02-29"), date("2024-02-28")), Some(3));
        assert_eq!(timestampdiff(Unit::Year, date("2020-02-29"), date("2024-02-29")), Some(4));
        assert_eq!(timestampdiff(Unit::Month, date("2024-01-15"), ts("2024-02-14 23:59:59")), Some(0));
        assert_eq!(timestampdiff(Unit::Month, ts("2024-01-15 00:00:01"), date("2024-02-15")), Some(0));
    }

    /// Flink's `DateTimeUtils.subtractMonths(int, int)`, step by step.
    fn flink_months_between(d0: Date, d1: Date) -> i64 {
        if d0 < d1 {
            return -flink_months_between(d1, d0);
        }
        let mut m = i64::from(d0.0 - d1.0) / 31;
        loop {
            if add_months(d1, m).unwrap() >= d0 || add_months(d1, m + 1).unwrap() > d0 {
                return m;
            }
            m += 1;
        }
    }

    #[test]
    fn months_between_days_matches_flinks_search() {
        let start = date("2023-01-01").unwrap().0;
        for a in start..start + 1100 {
            for b in (start - 400..start + 1500).step_by(5) {
                let (a, b) = (Date(a), Date(b));
                assert_eq!(months_between_days(a, b), Some(flink_months_between(b, a)), "{a} to {b}");
            }
        }
    }

    #[test]
    fn timestampdiff_nulls_and_overflow() {
        let t = ts("2024-01-01 00:00:00");
        assert_eq!(timestampdiff::<Timestamp, Timestamp>(Unit::Day, None, t), None);
        assert_eq!(timestampdiff::<Timestamp, Timestamp>(Unit::Day, t, None), None);
        assert_eq!(timestampdiff::<Date, Timestamp>(Unit::Month, None, None), None);
        assert_eq!(timestampdiff(Unit::Epoch, t, t), None);
        // More than an INT holds.
        assert_eq!(timestampdiff(Unit::Millisecond, ts("2000-01-01 00:00:00"), t), None);
        assert_eq!(timestampdiff(Unit::Second, ts("1900-01-01 00:00:00"), t), None);
        assert_eq!(timestampdiff(Unit::Second, t, ts("1900-01-01 00:00:00")), None);
        assert_eq!(timestampdiff(Unit::Second, ts("1960-01-01 00:00:00"), t), Some(2_019_686_400));
        assert_eq!(timestampdiff(Unit::Day, Some(Date(i32::MIN)), Some(Date(i32::MAX))), None);
        assert_eq!(timestampdiff(Unit::Week, Some(Date(-1_000_000_000)), Some(Date(1_000_000_000))), Some(285_714_285));
    }

    #[test]
    fn time_zones() {
        let c = |t: &str, f: &str, to: &str| txt(convert_tz(s(t), s(f), s(to)));
        assert_eq!(c("1970-01-01 00:00:00", "UTC", "America/Los_Angeles"), Some("1969-12-31 16:00:00".into()));
        assert_eq!(c("2024-07-01 12:00:00", "America/New_York", "Europe/Berlin"), Some("2024-07-01 18:00:00".into()));
        assert_eq!(c("2024-01-01 12:00:00", "GMT+08:00", "UTC"), Some("2024-01-01 04:00:00".into()));
        assert_eq!(c("2024-01-01", "UTC", "UTC"), None);
        assert_eq!(c("2024-01-01 00:00:00", "UTC", "Atlantis"), None);
        assert_eq!(convert_tz(None, s("UTC"), s("UTC")), None);
    }
}
