//! Java date-time patterns (`DateTimeFormatter` / `SimpleDateFormat` letters, English
//! names) for DATE_FORMAT, TO_TIMESTAMP, TO_DATE, UNIX_TIMESTAMP and FROM_UNIXTIME.
//!
//! Letters: `G` era, `y u` year (`yy`: two digits, 2000–2099 when parsed), `Y` ISO
//! week-based year, `M L` month (`MMM` Jan, `MMMM` January), `d` day, `D` day of year,
//! `Q q` quarter, `w` ISO week, `E` day name (`EEE` Mon, `EEEE` Monday), `e c` day of
//! week (Sunday = 1), `a` AM/PM, `H` hour 0–23, `k` 1–24, `K` 0–11, `h` 1–12, `m`
//! minute, `s` second, `S` fraction of second (`SSS`: milliseconds), `n` nanosecond,
//! `X x Z O` offsets, `z V` zone ID. `'text'` is literal (`''` a quote), `[…]` optional;
//! other non-letters are literal; any other letter makes the pattern invalid.

use super::tz::Zone;
use crate::types::{Date, Timestamp};

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Years a parsed text may give (the range of Flink's timestamps).
const YEARS: std::ops::RangeInclusive<i64> = 0..=9999;

/// A wall-clock time, if a [`Timestamp`] can hold it (about 1678 to 2262).
fn timestamp_of(date: Date, nanos_of_day: i64) -> Option<Timestamp> {
    let nanos = i64::from(date.0).checked_mul(86_400 * NANOS_PER_SEC)?.checked_add(nanos_of_day)?;
    Some(Timestamp(nanos))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const LETTERS: &str = "GyuYMLdDQqwEecaHkKhmsSnXxZOzV";

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(char, usize),
    Lit(String),
    Opt(Vec<Tok>),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(Vec<Tok>);

/// The ISO day of week, Monday = 1 … Sunday = 7.
pub(crate) fn iso_dow(d: Date) -> u32 {
    ((d.0 + 3).rem_euclid(7) + 1) as u32
}

/// The day of the year, 1-based.
pub(crate) fn day_of_year(d: Date) -> u32 {
    let y = d.ymd().0;
    (d.0 - Date::from_ymd(y, 1, 1).unwrap_or_default().0 + 1) as u32
}

/// The ISO week number and week-based year.
pub(crate) fn iso_week(d: Date) -> (u32, i32) {
    let thursday = Date(d.0 + 4 - iso_dow(d) as i32);
    ((day_of_year(thursday) - 1) / 7 + 1, thursday.ymd().0)
}

fn tokenize(chars: &[char], i: &mut usize, nested: bool) -> Option<Vec<Tok>> {
    let mut out: Vec<Tok> = Vec::new();
    let lit = |out: &mut Vec<Tok>, s: &str| match out.last_mut() {
        Some(Tok::Lit(l)) => l.push_str(s),
        _ => out.push(Tok::Lit(s.to_string())),
    };
    while let Some(&c) = chars.get(*i) {
        match c {
            '\'' => {
                *i += 1;
                if chars.get(*i) == Some(&'\'') {
                    *i += 1;
                    lit(&mut out, "'");
                    continue;
                }
                let mut text = String::new();
                loop {
                    match chars.get(*i) {
                        None => return None,
                        Some('\'') if chars.get(*i + 1) == Some(&'\'') => {
                            text.push('\'');
                            *i += 2;
                        }
                        Some('\'') => {
                            *i += 1;
                            break;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            *i += 1;
                        }
                    }
                }
                lit(&mut out, &text);
            }
            '[' => {
                *i += 1;
                out.push(Tok::Opt(tokenize(chars, i, true)?));
            }
            ']' if nested => {
                *i += 1;
                return Some(out);
            }
            ']' | '#' | '{' | '}' => return None,
            c if c.is_ascii_alphabetic() => {
                if !LETTERS.contains(c) {
                    return None;
                }
                let start = *i;
                while chars.get(*i) == Some(&c) {
                    *i += 1;
                }
                out.push(Tok::Field(c, *i - start));
            }
            c => {
                lit(&mut out, c.encode_utf8(&mut [0; 4]));
                *i += 1;
            }
        }
    }
    Some(out)
}

fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    let digits = v.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

/// `+HH`, `+HHmm`, `+HH:mm`, `+HHmmss` or `+HH:mm:ss`.
fn offset_text(out: &mut String, offset: i64, colon: bool, minutes: bool, seconds: bool) {
    out.push(if offset < 0 { '-' } else { '+' });
    let a = offset.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    out.push_str(&format!("{h:02}"));
    if minutes || m != 0 || s != 0 {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{m:02}"));
    }
    if seconds && s != 0 {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{s:02}"));
    }
}

fn is_numeric(t: Option<&Tok>) -> bool {
    match t {
        Some(Tok::Field(c, n)) => match c {
            'M' | 'L' | 'Q' | 'q' | 'e' | 'c' => *n <= 2,
            'G' | 'E' | 'a' | 'X' | 'x' | 'Z' | 'O' | 'z' | 'V' => false,
            _ => true,
        },
        _ => false,
    }
}

/// Fields read from text, before they are combined.
#[derive(Debug, Clone, Default)]
struct Fields {
    year: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: Option<u32>,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nanos: Option<u32>,
    offset: Option<i64>,
    zone: Option<Zone>,
}

/// What a parse found: the wall-clock time, and an offset or zone if the text had one.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) local: Timestamp,
    offset: Option<i64>,
    zone: Option<Zone>,
}

impl Parsed {
    /// The instant, reading the wall-clock time in the text's zone or else `default`.
    pub(crate) fn instant(&self, default: &Zone) -> Timestamp {
        match (&self.offset, &self.zone) {
            (Some(o), _) => Timestamp(self.local.0.saturating_sub(o * NANOS_PER_SEC)),
            (None, Some(z)) => z.to_instant(self.local),
            (None, None) => default.to_instant(self.local),
        }
    }
}

struct Cursor<'t> {
    text: &'t str,
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    /// Digits: exactly `min` when `min == max`, else as many as there are up to `max`.
    fn number(&mut self, min: usize, max: usize) -> Option<i64> {
        let n = self.rest().bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n < min {
            return None;
        }
        let v = self.rest()[..n].parse().ok()?;
        self.pos += n;
        Some(v)
    }

    /// One of `names` (case-insensitive, full names before 3-letter abbreviations): its index.
    fn name(&mut self, names: &[&str]) -> Option<usize> {
        let rest = self.rest();
        for short in [false, true] {
            for (i, n) in names.iter().enumerate() {
                let n = if short { &n[..3] } else { n };
                if rest.get(..n.len()).is_some_and(|r| r.eq_ignore_ascii_case(n)) {
                    self.pos += n.len();
                    return Some(i);
                }
            }
        }
        None
    }

    fn offset(&mut self) -> Option<i64> {
        for z in ["Z", "GMT", "UTC"] {
            if self.rest().starts_with(z) && !self.rest()[z.len()..].starts_with(['+', '-']) {
                self.pos += z.len();
                return Some(0);
            }
        }
        for p in ["GMT", "UTC"] {
            if self.rest().starts_with(p) {
                self.pos += p.len();
            }
        }
        let sign = match self.rest().as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.pos += 1;
        let h = self.number(1, 2)?;
        let mut m = 0;
        let colon = self.rest().starts_with(':');
        if colon || self.rest().bytes().take(2).filter(u8::is_ascii_digit).count() == 2 {
            self.pos += usize::from(colon);
            m = self.number(2, 2)?;
        }
        (h <= 18 && m < 60).then_some(sign * (h * 3600 + m * 60))
    }
}

impl Pattern {
    /// Compiles a pattern; `None` if it is invalid.
    pub(crate) fn new(pattern: &str) -> Option<Pattern> {
        let chars: Vec<char> = pattern.chars().collect();
        tokenize(&chars, &mut 0, false).map(Pattern)
    }

    /// Formats the wall-clock time `local` of a zone whose offset is then `offset` seconds.
    pub(crate) fn format(&self, local: Timestamp, zone: &Zone, offset: i64) -> String {
        let mut out = String::new();
        format_into(&mut out, &self.0, local, zone, offset);
        out
    }

    /// Parses `text`; with `allow_trailing` (`SimpleDateFormat.parse`) text after the
    /// pattern is ignored. Missing fields default to 1970-01-01 00:00:00.
    pub(crate) fn parse(&self, text: &str, allow_trailing: bool) -> Option<Parsed> {
        let mut cur = Cursor { text, pos: 0 };
        let mut f = Fields::default();
        if !parse_toks(&self.0, &mut cur, &mut f) || (!allow_trailing && cur.pos != text.len()) {
            return None;
        }
        let year = f.year.unwrap_or(1970);
        let year = i32::try_from(year).ok().filter(|_| YEARS.contains(&year))?;
        let date = match (f.day_of_year, f.month, f.day) {
            (Some(doy), None, None) => {
                let jan1 = Date::from_ymd(year, 1, 1)?;
                let d = Date(jan1.0 + doy as i32 - 1);
                (doy >= 1 && d.ymd().0 == year).then_some(d)?
            }
            (_, m, d) => Date::from_ymd(year, m.unwrap_or(1), d.unwrap_or(1))?,
        };
        let hour = match (f.hour, f.hour12) {
            (Some(h), _) => h,
            (None, Some(h)) => h % 12 + if f.pm == Some(true) { 12 } else { 0 },
            (None, None) => 0,
        };
        let (minute, second) = (f.minute.unwrap_or(0), f.second.unwrap_or(0));
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let nanos = (i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)) * NANOS_PER_SEC
            + i64::from(f.nanos.unwrap_or(0));
        Some(Parsed { local: timestamp_of(date, nanos)?, offset: f.offset, zone: f.zone })
    }
}

fn format_into(out: &mut String, toks: &[Tok], local: Timestamp, zone: &Zone, offset: i64) {
    let (y, mo, d, h, mi, s, nanos) = local.fields();
    let date = local.date();
    for t in toks {
        let (c, n) = match t {
            Tok::Lit(l) => {
                out.push_str(l);
                continue;
            }
            Tok::Opt(sub) => {
                format_into(out, sub, local, zone, offset);
                continue;
            }
            Tok::Field(c, n) => (*c, *n),
        };
        let name = |names: &[&str], i: usize| -> String {
            let full = names[i];
            match n {
                4 => full.to_string(),
                5 => full[..1].to_string(),
                _ => full[..3].to_string(),
            }
        };
        match c {
            'G' => out.push_str(if y > 0 { "AD" } else { "BC" }),
            'y' | 'u' | 'Y' => {
                let year = if c == 'Y' { iso_week(date).1 } else { y };
                if n == 2 { pad(out, i64::from(year.rem_euclid(100)), 2) } else { pad(out, i64::from(year), n) }
            }
            'M' | 'L' if n >= 3 => out.push_str(&name(&MONTHS, mo as usize - 1)),
            'M' | 'L' => pad(out, i64::from(mo), n),
            'd' => pad(out, i64::from(d), n),
            'D' => pad(out, i64::from(day_of_year(date)), n),
            'Q' | 'q' => {
                let q = mo.div_ceil(3);
                match n {
                    1 | 2 => pad(out, i64::from(q), n),
                    3 => out.push_str(&format!("Q{q}")),
                    _ => out.push_str(["1st", "2nd", "3rd", "4th"][q as usize - 1]),
                }
                if n == 4 {
                    out.push_str(" quarter");
                }
            }
            'w' => pad(out, i64::from(iso_week(date).0), n),
            'E' => out.push_str(&name(&DAYS, iso_dow(date) as usize - 1)),
            'e' | 'c' if n <= 2 => pad(out, i64::from(iso_dow(date) % 7 + 1), n),
            'e' | 'c' => out.push_str(&name(&DAYS, iso_dow(date) as usize - 1)),
            'a' => out.push_str(if h < 12 { "AM" } else { "PM" }),
            'H' => pad(out, i64::from(h), n),
            'k' => pad(out, i64::from(if h == 0 { 24 } else { h }), n),
            'K' => pad(out, i64::from(h % 12), n),
            'h' => pad(out, i64::from(if h % 12 == 0 { 12 } else { h % 12 }), n),
            'm' => pad(out, i64::from(mi), n),
            's' => pad(out, i64::from(s), n),
            'S' => {
                let digits = format!("{nanos:09}");
                out.push_str(&digits[..n.min(9)]);
                for _ in 9..n {
                    out.push('0');
                }
            }
            'n' => pad(out, i64::from(nanos), n),
            'X' if offset == 0 => out.push('Z'),
            'X' | 'x' => offset_text(out, offset, n == 3 || n == 5, n >= 2, n >= 4),
            'Z' if n == 4 => {
                out.push_str("GMT");
                if offset != 0 {
                    offset_text(out, offset, true, true, false);
                }
            }
            'Z' if n == 5 && offset == 0 => out.push('Z'),
            'Z' => offset_text(out, offset, n == 5, true, false),
            'O' => {
                out.push_str("GMT");
                if offset != 0 {
                    if n == 4 {
                        offset_text(out, offset, true, true, false);
                    } else {
                        let a = offset.unsigned_abs();
                        out.push_str(&format!("{}{}", if offset < 0 { '-' } else { '+' }, a / 3600));
                        if !a.is_multiple_of(3600) {
                            out.push_str(&format!(":{:02}", a / 60 % 60));
                        }
                    }
                }
            }
            _ => out.push_str(&zone.id),
        }
    }
}

fn parse_toks(toks: &[Tok], cur: &mut Cursor<'_>, f: &mut Fields) -> bool {
    for (k, t) in toks.iter().enumerate() {
        let ok = match t {
            Tok::Lit(l) => {
                let hit = cur.rest().starts_with(l.as_str());
                cur.pos += if hit { l.len() } else { 0 };
                hit
            }
            Tok::Opt(sub) => {
                let (pos, saved) = (cur.pos, f.clone());
                if !parse_toks(sub, cur, f) {
                    cur.pos = pos;
                    *f = saved;
                }
                true
            }
            Tok::Field(c, n) => {
                // A numeric field right before another takes exactly its width.
                let adjacent = is_numeric(Some(t)) && is_numeric(toks.get(k + 1));
                let (min, max) = if adjacent { (*n, *n) } else { (1, 10) };
                parse_field(*c, *n, min, max, cur, f).is_some()
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

fn parse_field(c: char, n: usize, min: usize, max: usize, cur: &mut Cursor<'_>, f: &mut Fields) -> Option<()> {
    let small = |v: i64| u32::try_from(v).ok();
    match c {
        'G' => {
            let hit = ["AD", "BC"].iter().find(|e| cur.rest().starts_with(**e))?;
            cur.pos += hit.len();
        }
        'y' | 'u' | 'Y' => {
            let start = cur.pos;
            let v = cur.number(min, max.min(9))?;
            f.year = Some(if n == 2 && cur.pos - start == 2 { 2000 + v } else { v });
        }
        'M' | 'L' if n >= 3 => f.month = Some(cur.name(&MONTHS)? as u32 + 1),
        'M' | 'L' => f.month = small(cur.number(min, max.min(2))?),
        'd' => f.day = small(cur.number(min, max.min(2))?),
        'D' => f.day_of_year = small(cur.number(min, max.min(3))?),
        'Q' | 'q' | 'w' | 'e' | 'c' if n <= 2 => {
            cur.number(min, max.min(2))?;
        }
        'E' | 'e' | 'c' => {
            cur.name(&DAYS)?;
        }
        'a' => {
            let r = cur.rest().get(..2)?;
            f.pm = Some(if r.eq_ignore_ascii_case("PM") {
                true
            } else if r.eq_ignore_ascii_case("AM") {
                false
            } else {
                return None;
            });
            cur.pos += 2;
        }
        'H' => f.hour = small(cur.number(min, max.min(2))?),
        'k' => f.hour = small(cur.number(min, max.min(2))? % 24),
        'K' | 'h' => f.hour12 = small(cur.number(min, max.min(2))?),
        'm' => f.minute = small(cur.number(min, max.min(2))?),
        's' => f.second = small(cur.number(min, max.min(2))?),
        'S' => {
            let start = cur.pos;
            let v = cur.number(min, max.min(9))?;
            let digits = (cur.pos - start) as u32;
            f.nanos = small(v * 10i64.pow(9 - digits));
        }
        'n' => f.nanos = small(cur.number(min, max.min(9))?),
        'X' | 'x' | 'Z' | 'O' => f.offset = Some(cur.offset()?),
        _ => {
            let len = cur.rest().find(|ch: char| !(ch.is_ascii_alphanumeric() || "/_+-:".contains(ch)));
            let id = &cur.rest()[..len.unwrap_or(cur.rest().len())];
            let zone = Zone::parse(id)?;
            cur.pos += id.len();
            f.zone = Some(zone);
        }
    }
    Some(())
}

/// Flink's default timestamp text: `yyyy-M[M]-d[d]` optionally followed by
/// ` H[H]:m[m]:s[s]` and a fraction of up to 9 digits.
pub(crate) fn parse_default(text: &str) -> Option<Timestamp> {
    let mut cur = Cursor { text, pos: 0 };
    let year = cur.number(4, 9).filter(|y| YEARS.contains(y))?;
    let date = (|| {
        cur.rest().starts_with('-').then(|| cur.pos += 1)?;
        let m = cur.number(1, 2)?;
        cur.rest().starts_with('-').then(|| cur.pos += 1)?;
        let d = cur.number(1, 2)?;
        Date::from_ymd(i32::try_from(year).ok()?, m as u32, d as u32)
    })()?;
    if cur.pos == text.len() {
        return timestamp_of(date, 0);
    }
    cur.rest().starts_with(' ').then(|| cur.pos += 1)?;
    let h = cur.number(1, 2)?;
    cur.rest().starts_with(':').then(|| cur.pos += 1)?;
    let m = cur.number(1, 2)?;
    cur.rest().starts_with(':').then(|| cur.pos += 1)?;
    let s = cur.number(1, 2)?;
    let mut nanos = 0;
    if cur.rest().starts_with('.') {
        cur.pos += 1;
        let start = cur.pos;
        if let Some(v) = cur.number(1, 9) {
            nanos = v * 10i64.pow(9 - (cur.pos - start) as u32);
        }
    }
    if cur.pos != text.len() || h > 23 || m > 59 || s > 59 {
        return None;
    }
    timestamp_of(date, (h * 3600 + m * 60 + s) * NANOS_PER_SEC + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> Timestamp {
        parse_default(s).unwrap()
    }

    fn fmt(p: &str, t: &str) -> String {
        Pattern::new(p).unwrap().format(local(t), &Zone::utc(), 0)
    }

    fn parse(p: &str, t: &str) -> Option<String> {
        Pattern::new(p)?.parse(t, false).map(|x| x.local.to_string())
    }

    #[test]
    fn formats() {
        let t = "2024-03-05 07:08:09.012345678";
        assert_eq!(fmt("yyyy-MM-dd HH:mm:ss", t), "2024-03-05 07:08:09");
        assert_eq!(fmt("yyyy-MM-dd HH:mm:ss.SSS", t), "2024-03-05 07:08:09.012");
        assert_eq!(fmt("yyMMdd'T'HHmmssSSSSSS", t), "240305T070809012345");
        assert_eq!(fmt("y/M/d H:m:s", t), "2024/3/5 7:8:9");
        assert_eq!(fmt("EEE, d MMM yyyy hh:mm a", t), "Tue, 5 Mar 2024 07:08 AM");
        assert_eq!(fmt("EEEE MMMM dd", "2024-12-29 15:00:00"), "Sunday December 29");
        assert_eq!(fmt("h a, k, K", "2024-01-01 00:30:00"), "12 AM, 24, 0");
        assert_eq!(fmt("'It''s' D 'day', 'week' w, Q", t), "It's 65 day, week 10, 1");
        assert_eq!(fmt("YYYY-'W'ww-e", "2024-12-30 00:00:00"), "2025-W01-2");
        assert_eq!(fmt("yyyy-MM-dd'T'HH:mm:ssXXX", t), "2024-03-05T07:08:09Z");
        assert_eq!(fmt("Z z", t), "+0000 UTC");
        let shanghai = Zone::parse("Asia/Shanghai").unwrap();
        let p = Pattern::new("HH:mm xxx Z VV O").unwrap();
        assert_eq!(p.format(local(t), &shanghai, 8 * 3600), "07:08 +08:00 +0800 Asia/Shanghai GMT+8");
        assert_eq!(fmt("[yyyy]", t), "2024");
        for bad in ["yyyy-MM-dd bb", "'open", "yyyy]", "#"] {
            assert!(Pattern::new(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parses() {
        assert_eq!(parse("yyyy-MM-dd HH:mm:ss", "2024-03-05 07:08:09"), Some("2024-03-05 07:08:09".into()));
        assert_eq!(parse("yyyyMMddHHmmss", "20240305070809"), Some("2024-03-05 07:08:09".into()));
        assert_eq!(parse("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-05 07:08:09.5"), Some("2024-03-05 07:08:09.500".into()));
        assert_eq!(parse("dd/MM/yyyy", "05/03/2024"), Some("2024-03-05 00:00:00".into()));
        assert_eq!(parse("d MMM yyyy", "5 mar 2024"), Some("2024-03-05 00:00:00".into()));
        assert_eq!(parse("EEE, d MMMM yy hh:mm a", "Tue, 5 March 24 07:08 PM"), Some("2024-03-05 19:08:00".into()));
        assert_eq!(parse("yyyy-M-d", "2024-3-5"), Some("2024-03-05 00:00:00".into()));
        assert_eq!(parse("HH:mm", "23:59"), Some("1970-01-01 23:59:00".into()));
        assert_eq!(parse("yyyy-DDD", "2024-060"), Some("2024-02-29 00:00:00".into()));
        assert_eq!(parse("yyyy-MM-dd[ HH:mm]", "2024-03-05"), Some("2024-03-05 00:00:00".into()));
        assert_eq!(parse("yyyy-MM-dd[ HH:mm]", "2024-03-05 10:11"), Some("2024-03-05 10:11:00".into()));
        assert_eq!(parse("yyyy-MM-dd", "2024-02-30"), None);
        assert_eq!(parse("yyyy-MM-dd", "2024-03-05 10"), None);
        assert_eq!(parse("HH:mm", "24:00"), None);
        assert_eq!(parse("yyyy", "abc"), None);
        let p = Pattern::new("yyyy-MM-dd HH:mm:ss").unwrap();
        assert_eq!(
            p.parse("2024-03-05 07:08:09.123", true).map(|x| x.local.to_string()),
            Some("2024-03-05 07:08:09".into())
        );
        let z = Pattern::new("yyyy-MM-dd HH:mmXXX").unwrap().parse("2024-03-05 08:00+08:00", false).unwrap();
        assert_eq!(z.instant(&Zone::utc()).to_string(), "2024-03-05 00:00:00");
        let z = Pattern::new("yyyy-MM-dd HH:mm VV").unwrap().parse("2024-07-01 08:00 America/New_York", false).unwrap();
        assert_eq!(z.instant(&Zone::utc()).to_string(), "2024-07-01 12:00:00");
    }

    #[test]
    fn default_text() {
        assert_eq!(parse_default("2024-03-05").map(|t| t.to_string()), Some("2024-03-05 00:00:00".into()));
        assert_eq!(parse_default("2024-3-5 1:2:3.45").map(|t| t.to_string()), Some("2024-03-05 01:02:03.450".into()));
        assert_eq!(parse_default("2024-03-05 01:02"), None);
        assert_eq!(parse_default("2024-03-05T01:02:03"), None);
        assert_eq!(parse_default("24-03-05"), None);
        assert_eq!(parse_default(""), None);
    }

    #[test]
    fn calendar() {
        let d = |y, m, dd| Date::from_ymd(y, m, dd).unwrap();
        assert_eq!(iso_dow(d(1970, 1, 1)), 4);
        assert_eq!(iso_dow(d(2024, 3, 10)), 7);
        assert_eq!(iso_week(d(2021, 1, 3)), (53, 2020));
        assert_eq!(iso_week(d(2024, 12, 30)), (1, 2025));
        assert_eq!(iso_week(d(2024, 6, 15)), (24, 2024));
        assert_eq!(day_of_year(d(2024, 12, 31)), 366);
    }
}
