//! Date and time functions.
//!
//! The session time zone is UTC: a TIMESTAMP_LTZ (an instant) reads as the same wall
//! clock as a TIMESTAMP, and strings without an offset are read in UTC. Patterns are
//! Java's (see the letters in `datefmt`); an invalid pattern gives NULL, where Flink
//! fails the query.

use super::datefmt::{Pattern, day_of_year, iso_dow, iso_week, parse_default};
use super::tz::Zone;
use crate::types::{Date, Decimal, Str, Time, Timestamp};

const NANOS_PER_MILLI: i64 = 1_000_000;
const NANOS_PER_SEC: i64 = 1_000_000_000;
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
