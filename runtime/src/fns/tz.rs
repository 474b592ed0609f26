//! Time zones for CONVERT_TZ and TO_TIMESTAMP_LTZ, without a time zone database: UTC,
//! fixed offsets (`+08:00`, `GMT-5`, `UTC+05:30`), a table of common region IDs, and the
//! current daylight-saving rules of the United States / Canada and the European Union
//! (applied to every year; historical rule changes are not modelled). Unknown IDs are
//! rejected, where Java would silently use GMT.

use crate::types::{Date, Timestamp};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const HOUR: i32 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Fixed,
    /// Second Sunday of March 02:00 local standard time to first Sunday of November
    /// 02:00 local daylight time.
    UnitedStates,
    /// Last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    Europe,
}

/// A time zone: a standard offset from UTC and a daylight-saving rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Zone {
    /// As the user wrote it (for `z` / `VV` in patterns).
    pub(crate) id: String,
    std_offset: i32,
    rule: Rule,
}

#[rustfmt::skip]
static REGIONS: &[(&str, i32, Rule)] = &[
    ("Asia/Shanghai", 8 * HOUR, Rule::Fixed), ("Asia/Chongqing", 8 * HOUR, Rule::Fixed), ("Asia/Harbin", 8 * HOUR, Rule::Fixed),
    ("PRC", 8 * HOUR, Rule::Fixed), ("CTT", 8 * HOUR, Rule::Fixed), ("Asia/Hong_Kong", 8 * HOUR, Rule::Fixed),
    ("Asia/Macau", 8 * HOUR, Rule::Fixed), ("Asia/Taipei", 8 * HOUR, Rule::Fixed), ("Asia/Singapore", 8 * HOUR, Rule::Fixed),
    ("Asia/Kuala_Lumpur", 8 * HOUR, Rule::Fixed), ("Asia/Manila", 8 * HOUR, Rule::Fixed), ("Australia/Perth", 8 * HOUR, Rule::Fixed),
    ("Asia/Tokyo", 9 * HOUR, Rule::Fixed), ("Japan", 9 * HOUR, Rule::Fixed), ("JST", 9 * HOUR, Rule::Fixed),
    ("Asia/Seoul", 9 * HOUR, Rule::Fixed), ("Asia/Kolkata", 5 * HOUR + 1800, Rule::Fixed), ("Asia/Calcutta", 5 * HOUR + 1800, Rule::Fixed),
    ("IST", 5 * HOUR + 1800, Rule::Fixed), ("Asia/Dubai", 4 * HOUR, Rule::Fixed), ("Asia/Karachi", 5 * HOUR, Rule::Fixed),
    ("Asia/Dhaka", 6 * HOUR, Rule::Fixed), ("Asia/Bangkok", 7 * HOUR, Rule::Fixed), ("Asia/Jakarta", 7 * HOUR, Rule::Fixed),
    ("Asia/Ho_Chi_Minh", 7 * HOUR, Rule::Fixed), ("Asia/Riyadh", 3 * HOUR, Rule::Fixed), ("Europe/Moscow", 3 * HOUR, Rule::Fixed),
    ("Europe/Istanbul", 3 * HOUR, Rule::Fixed), ("Africa/Nairobi", 3 * HOUR, Rule::Fixed), ("Africa/Johannesburg", 2 * HOUR, Rule::Fixed),
    ("Africa/Lagos", HOUR, Rule::Fixed), ("America/Sao_Paulo", -3 * HOUR, Rule::Fixed),
    ("America/Argentina/Buenos_Aires", -3 * HOUR, Rule::Fixed), ("America/Bogota", -5 * HOUR, Rule::Fixed),
    ("America/Lima", -5 * HOUR, Rule::Fixed), ("America/Phoenix", -7 * HOUR, Rule::Fixed), ("Pacific/Honolulu", -10 * HOUR, Rule::Fixed),
    ("EST", -5 * HOUR, Rule::Fixed), ("MST", -7 * HOUR, Rule::Fixed), ("HST", -10 * HOUR, Rule::Fixed),
    ("America/New_York", -5 * HOUR, Rule::UnitedStates), ("America/Detroit", -5 * HOUR, Rule::UnitedStates),
    ("America/Toronto", -5 * HOUR, Rule::UnitedStates), ("US/Eastern", -5 * HOUR, Rule::UnitedStates),
    ("America/Chicago", -6 * HOUR, Rule::UnitedStates), ("US/Central", -6 * HOUR, Rule::UnitedStates), ("CST", -6 * HOUR, Rule::UnitedStates),
    ("America/Winnipeg", -6 * HOUR, Rule::UnitedStates), ("America/Denver", -7 * HOUR, Rule::UnitedStates),
    ("America/Edmonton", -7 * HOUR, Rule::UnitedStates), ("US/Mountain", -7 * HOUR, Rule::UnitedStates),
    ("America/Los_Angeles", -8 * HOUR, Rule::UnitedStates), ("America/Vancouver", -8 * HOUR, Rule::UnitedStates),
    ("US/Pacific", -8 * HOUR, Rule::UnitedStates), ("PST", -8 * HOUR, Rule::UnitedStates),
    ("America/Anchorage", -9 * HOUR, Rule::UnitedStates), ("America/Halifax", -4 * HOUR, Rule::UnitedStates),
    ("Europe/London", 0, Rule::Europe), ("Europe/Dublin", 0, Rule::Europe), ("Europe/Lisbon", 0, Rule::Europe),
    ("Europe/Paris", HOUR, Rule::Europe), ("Europe/Berlin", HOUR, Rule::Europe), ("Europe/Madrid", HOUR, Rule::Europe),
    ("Europe/Rome", HOUR, Rule::Europe), ("Europe/Amsterdam", HOUR, Rule::Europe), ("Europe/Brussels", HOUR, Rule::Europe),
    ("Europe/Vienna", HOUR, Rule::Europe), ("Europe/Stockholm", HOUR, Rule::Europe), ("Europe/Oslo", HOUR, Rule::Europe),
    ("Europe/Copenhagen", HOUR, Rule::Europe), ("Europe/Warsaw", HOUR, Rule::Europe), ("Europe/Prague", HOUR, Rule::Europe),
    ("Europe/Zurich", HOUR, Rule::Europe), ("Europe/Budapest", HOUR, Rule::Europe), ("CET", HOUR, Rule::Europe),
    ("Europe/Athens", 2 * HOUR, Rule::Europe), ("Europe/Helsinki", 2 * HOUR, Rule::Europe), ("Europe/Kiev", 2 * HOUR, Rule::Europe),
    ("Europe/Kyiv", 2 * HOUR, Rule::Europe), ("Europe/Bucharest", 2 * HOUR, Rule::Europe), ("Europe/Sofia", 2 * HOUR, Rule::Europe),
    ("Europe/Riga", 2 * HOUR, Rule::Europe), ("Europe/Tallinn", 2 * HOUR, Rule::Europe), ("Europe/Vilnius", 2 * HOUR, Rule::Europe),
    ("EET", 2 * HOUR, Rule::Europe),
];

/// `+8`, `+08`, `+0800`, `+08:00`, `-05:30:00` → seconds.
fn parse_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() || digits.len() > 6 {
        return None;
    }
    let (h, m, sec) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?, 0),
        6 => (digits[..2].parse().ok()?, digits[2..4].parse().ok()?, digits[4..].parse().ok()?),
        _ => return None,
    };
    (h <= 18 && m < 60 && sec < 60).then_some(sign * (h * 3600 + m * 60 + sec))
}

/// The date of the `n`-th (1-based) Sunday of a month, or the last one when `n == 0`.
fn sunday(year: i32, month: u32, n: u32) -> Date {
    let first = Date::from_ymd(year, month, 1).unwrap_or_default();
    // 1970-01-01 was a Thursday; Sunday is 0 here.
    let dow = (first.0 + 4).rem_euclid(7);
    let first_sunday = first.0 + (7 - dow) % 7;
    if n > 0 {
        return Date(first_sunday + 7 * (n as i32 - 1));
    }
    let next_month = first.plus_months(1).0;
    let mut d = first_sunday;
    while d + 7 < next_month {
        d += 7;
    }
    Date(d)
}

fn at(date: Date, secs: i64) -> i64 {
    i64::from(date.0) * 86_400 + secs
}

impl Zone {
    /// UTC.
    pub(crate) fn utc() -> Zone {
        Zone { id: "UTC".into(), std_offset: 0, rule: Rule::Fixed }
    }

    /// The zone named `id`, if known.
    pub(crate) fn parse(id: &str) -> Option<Zone> {
        let t = id.trim();
        let fixed = |secs: i32| Some(Zone { id: t.to_string(), std_offset: secs, rule: Rule::Fixed });
        if matches!(t, "UTC" | "GMT" | "Z" | "UT" | "Etc/UTC" | "Etc/GMT" | "Zulu" | "UCT" | "Universal") {
            return fixed(0);
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if let Some(rest) = t.strip_prefix(prefix) {
                return fixed(parse_offset(rest)?);
            }
        }
        if let Some(secs) = parse_offset(t) {
            return fixed(secs);
        }
        let &(_, std_offset, rule) = REGIONS.iter().find(|(name, ..)| *name == t)?;
        Some(Zone { id: t.to_string(), std_offset, rule })
    }

    /// Whether daylight-saving time is in force at `utc_secs`.
    fn dst_at(&self, utc_secs: i64) -> bool {
        let year = Timestamp(utc_secs.saturating_mul(NANOS_PER_SEC)).date().ymd().0;
        let std = i64::from(self.std_offset);
        match self.rule {
            Rule::Fixed => false,
            Rule::UnitedStates => {
                let start = at(sunday(year, 3, 2), 2 * 3600 - std);
                let end = at(sunday(year, 11, 1), 2 * 3600 - (std + 3600));
                (start..end).contains(&utc_secs)
            }
            Rule::Europe => {
                let start = at(sunday(year, 3, 0), 3600);
                let end = at(sunday(year, 10, 0), 3600);
                (start..end).contains(&utc_secs)
            }
        }
    }

    /// The offset from UTC in seconds at the instant `t`.
    pub(crate) fn offset_at(&self, t: Timestamp) -> i64 {
        let secs = t.0.div_euclid(NANOS_PER_SEC);
        i64::from(self.std_offset) + if self.dst_at(secs) { 3600 } else { 0 }
    }

    /// The offset that applies to the wall-clock time `local` (in a gap, the offset
    /// before it; in an overlap, the earlier, daylight one, as java.time does).
    pub(crate) fn offset_of_local(&self, local: Timestamp) -> i64 {
        let secs = local.0.div_euclid(NANOS_PER_SEC);
        let std = i64::from(self.std_offset);
        if self.rule != Rule::Fixed && self.dst_at(secs - std - 3600) { std + 3600 } else { std }
    }

    /// The instant of the wall-clock time `local`.
    pub(crate) fn to_instant(&self, local: Timestamp) -> Timestamp {
        Timestamp(local.0.saturating_sub(self.offset_of_local(local) * NANOS_PER_SEC))
    }

    /// The wall-clock time of the instant `t`.
    pub(crate) fn to_local(&self, t: Timestamp) -> Timestamp {
        Timestamp(t.0.saturating_add(self.offset_at(t) * NANOS_PER_SEC))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        let (d, t) = s.split_once(' ').unwrap();
        let mut p = d.split('-').map(|x| x.parse::<u32>().unwrap());
        let date = Date::from_ymd(p.next().unwrap() as i32, p.next().unwrap(), p.next().unwrap()).unwrap();
        let mut q = t.split(':').map(|x| x.parse::<i64>().unwrap());
        let secs = q.next().unwrap() * 3600 + q.next().unwrap() * 60 + q.next().unwrap();
        Timestamp::from_parts(date, crate::types::Time(secs * NANOS_PER_SEC))
    }

    #[test]
    fn ids_and_offsets() {
        assert_eq!(Zone::parse("UTC").unwrap().offset_at(Timestamp(0)), 0);
        assert_eq!(Zone::parse("GMT+8").unwrap().offset_at(Timestamp(0)), 8 * 3600);
        assert_eq!(Zone::parse("UTC-05:30").unwrap().offset_at(Timestamp(0)), -(5 * 3600 + 1800));
        assert_eq!(Zone::parse("+0800").unwrap().offset_at(Timestamp(0)), 8 * 3600);
        assert_eq!(Zone::parse("Asia/Shanghai").unwrap().offset_at(Timestamp(0)), 8 * 3600);
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        assert_eq!(Zone::parse("GMT+99"), None);
    }

    #[test]
    fn daylight_saving() {
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(sunday(2024, 3, 2), Date::from_ymd(2024, 3, 10).unwrap());
        assert_eq!(sunday(2024, 11, 1), Date::from_ymd(2024, 11, 3).unwrap());
        assert_eq!(sunday(2024, 3, 0), Date::from_ymd(2024, 3, 31).unwrap());
        assert_eq!(sunday(2024, 10, 0), Date::from_ymd(2024, 10, 27).unwrap());
        assert_eq!(ny.offset_at(ts("2024-01-15 12:00:00")), -5 * 3600);
        assert_eq!(ny.offset_at(ts("2024-07-15 12:00:00")), -4 * 3600);
        assert_eq!(ny.offset_at(ts("2024-03-10 06:59:59")), -5 * 3600);
        assert_eq!(ny.offset_at(ts("2024-03-10 07:00:00")), -4 * 3600);
        assert_eq!(ny.to_local(ts("2024-11-03 05:59:59")), ts("2024-11-03 01:59:59"));
        assert_eq!(ny.to_local(ts("2024-11-03 06:00:00")), ts("2024-11-03 01:00:00"));
        // 02:30 does not exist on 2024-03-10: it is read as 03:30 daylight time.
        assert_eq!(ny.to_instant(ts("2024-03-10 02:30:00")), ts("2024-03-10 07:30:00"));
        // 01:30 happens twice on 2024-11-03: the earlier, daylight one.
        assert_eq!(ny.to_instant(ts("2024-11-03 01:30:00")), ts("2024-11-03 05:30:00"));
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(paris.to_local(ts("2024-03-31 00:59:59")), ts("2024-03-31 01:59:59"));
        assert_eq!(paris.to_local(ts("2024-03-31 01:00:00")), ts("2024-03-31 03:00:00"));
        assert_eq!(paris.to_instant(ts("2024-08-01 12:00:00")), ts("2024-08-01 10:00:00"));
    }
}
