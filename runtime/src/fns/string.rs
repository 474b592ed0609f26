//! String functions. Lengths and positions count Unicode characters (code points), as
//! Flink's `BinaryStringData` does.

use super::regex::{Regex, with_regex};
use crate::types::Str;

/// The character count of `s`.
fn len_chars(s: &str) -> i64 {
    s.chars().count() as i64
}

/// The characters `[start, end)` of `s` (0-based, clamped).
fn slice_chars(s: &Str, start: i64, end: i64) -> Str {
    let start = start.max(0) as usize;
    let end = end.max(0) as usize;
    if start >= end {
        return Str::default();
    }
    let mut it = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len()));
    let Some(from) = it.nth(start) else { return Str::default() };
    let to = it.nth(end - start - 1).unwrap_or(s.len());
    if from == 0 && to == s.len() { s.clone() } else { Str::new(&s[from..to]) }
}

/// The byte offset of character `n` of `s` (its length when `n` is past the end).
fn byte_of_char(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// CHAR_LENGTH(string): the number of characters.
pub fn char_length(s: Option<Str>) -> Option<i32> {
    Some(len_chars(&s?) as i32)
}

/// CHARACTER_LENGTH(string): the number of characters.
pub fn character_length(s: Option<Str>) -> Option<i32> {
    char_length(s)
}

/// UPPER(string).
pub fn upper(s: Option<Str>) -> Option<Str> {
    Some(Str::from(s?.to_uppercase()))
}

/// LOWER(string).
pub fn lower(s: Option<Str>) -> Option<Str> {
    Some(Str::from(s?.to_lowercase()))
}

/// INITCAP(string): the first letter or digit of each word upper case, the rest lower
/// case; words are runs of letters and digits.
pub fn initcap(s: Option<Str>) -> Option<Str> {
    let s = s?;
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    Some(Str::from(out))
}

/// Which ends [`trim_chars`] trims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimSide {
    /// Both ends (`TRIM(BOTH …)`, the default).
    Both,
    /// The start (`TRIM(LEADING …)`, LTRIM).
    Leading,
    /// The end (`TRIM(TRAILING …)`, RTRIM).
    Trailing,
}

/// `TRIM([BOTH | LEADING | TRAILING] chars FROM s)`: `s` without the characters of
/// `chars` (any of them, in any order) at the chosen ends.
pub fn trim_chars(s: Option<Str>, chars: Option<Str>, side: TrimSide) -> Option<Str> {
    let (s, chars) = (s?, chars?);
    let strip = |c: char| chars.contains(c);
    let t = match side {
        TrimSide::Both => s.trim_matches(strip),
        TrimSide::Leading => s.trim_start_matches(strip),
        TrimSide::Trailing => s.trim_end_matches(strip),
    };
    Some(if t.len() == s.len() { s } else { Str::new(t) })
}

/// TRIM(string): without leading and trailing spaces (U+0020 only, as Flink).
pub fn trim(s: Option<Str>) -> Option<Str> {
    trim_chars(s, Some(Str::new_inline(" ")), TrimSide::Both)
}

/// LTRIM(string): without leading spaces.
pub fn ltrim(s: Option<Str>) -> Option<Str> {
    trim_chars(s, Some(Str::new_inline(" ")), TrimSide::Leading)
}

/// RTRIM(string): without trailing spaces.
pub fn rtrim(s: Option<Str>) -> Option<Str> {
    trim_chars(s, Some(Str::new_inline(" ")), TrimSide::Trailing)
}

/// REVERSE(string): the characters in reverse order.
pub fn reverse(s: Option<Str>) -> Option<Str> {
    Some(Str::from(s?.chars().rev().collect::<String>()))
}

/// CONCAT(s1, s2, …): NULL if any argument is NULL.
pub fn concat(args: impl IntoIterator<Item = Option<Str>>) -> Option<Str> {
    let mut out = String::new();
    for a in args {
        out.push_str(&a?);
    }
    Some(Str::from(out))
}

/// CONCAT_WS(separator, s1, s2, …), all arguments in one list whose first element is
/// the separator: NULL when the separator is NULL; NULL strings are skipped.
pub fn concat_ws(args: impl IntoIterator<Item = Option<Str>>) -> Option<Str> {
    let mut it = args.into_iter();
    let sep = it.next()??;
    let mut out = String::new();
    let mut first = true;
    for s in it.flatten() {
        if !first {
            out.push_str(&sep);
        }
        out.push_str(&s);
        first = false;
    }
    Some(Str::from(out))
}

/// Flink's `substringSQL`: 1-based `pos` (0 acts as 1; negative counts from the end).
fn substring_impl(s: &Str, pos: i64, len: i64) -> Str {
    if s.is_empty() {
        return Str::default();
    }
    let n = len_chars(s);
    let start = match pos {
        p if p > 0 => p - 1,
        p if p < 0 => n + p,
        _ => 0,
    };
    if start >= n || start < 0 {
        return Str::default();
    }
    let end = if n - start < len { n } else { start + len };
    slice_chars(s, start, end)
}

/// SUBSTRING(string, start, length): `length` characters from the 1-based `start`; a
/// negative `start` counts from the end (-1 is the last character) and one before the
/// beginning gives ''. NULL when `length` is negative.
pub fn substring(s: Option<Str>, start: Option<i32>, len: Option<i32>) -> Option<Str> {
    let (s, start, len) = (s?, start?, len?);
    if len < 0 {
        return None;
    }
    Some(substring_impl(&s, i64::from(start), i64::from(len)))
}

/// SUBSTRING(string, start): to the end; see [`substring`].
pub fn substring_2(s: Option<Str>, start: Option<i32>) -> Option<Str> {
    Some(substring_impl(&s?, i64::from(start?), i64::MAX))
}

/// SUBSTR(string, start, length): as [`substring`].
pub fn substr(s: Option<Str>, start: Option<i32>, len: Option<i32>) -> Option<Str> {
    substring(s, start, len)
}

/// SUBSTR(string, start): as [`substring_2`].
pub fn substr_2(s: Option<Str>, start: Option<i32>) -> Option<Str> {
    substring_2(s, start)
}

/// REPLACE(string, search, replacement): every occurrence replaced (an empty `search`
/// inserts the replacement between all characters, as Java does).
pub fn replace(s: Option<Str>, search: Option<Str>, replacement: Option<Str>) -> Option<Str> {
    let (s, search, replacement) = (s?, search?, replacement?);
    if !search.is_empty() && !s.contains(search.as_str()) {
        return Some(s);
    }
    Some(Str::from(s.replace(search.as_str(), &replacement)))
}

/// LPAD(string, length, pad): padded on the left with repetitions of `pad` to `length`
/// characters, or cut to its first `length` characters. NULL when `length` is negative
/// or `pad` is empty.
pub fn lpad(s: Option<Str>, len: Option<i32>, pad: Option<Str>) -> Option<Str> {
    let (s, len, pad) = (s?, len?, pad?);
    if len < 0 || pad.is_empty() {
        return None;
    }
    let len = len as usize;
    let n = s.chars().count();
    let fill = len.saturating_sub(n);
    let mut out: String = pad.chars().cycle().take(fill).collect();
    out.extend(s.chars().take(len - fill));
    Some(Str::from(out))
}

/// RPAD(string, length, pad): padded on the right; see [`lpad`].
pub fn rpad(s: Option<Str>, len: Option<i32>, pad: Option<Str>) -> Option<Str> {
    let (s, len, pad) = (s?, len?, pad?);
    if len < 0 || pad.is_empty() {
        return None;
    }
    let len = len as usize;
    let mut out: String = s.chars().take(len).collect();
    let fill = len - out.chars().count();
    out.extend(pad.chars().cycle().take(fill));
    Some(Str::from(out))
}

/// REPEAT(string, times): '' when `times` is not positive; NULL if the result would
/// exceed 2 GiB.
pub fn repeat(s: Option<Str>, times: Option<i32>) -> Option<Str> {
    let (s, times) = (s?, times?);
    if times <= 0 || s.is_empty() {
        return Some(Str::default());
    }
    if s.len().checked_mul(times as usize)? > i32::MAX as usize {
        return None;
    }
    Some(Str::from(s.repeat(times as usize)))
}

/// SPLIT_INDEX(string, separator, index): the 0-based `index`-th piece of `string` split
/// at every occurrence of the literal `separator` (empty pieces kept). NULL when `index`
/// is negative or out of range, or `string` is empty. An empty separator splits at
/// whitespace (Apache Commons' `splitByWholeSeparatorPreserveAllTokens`).
pub fn split_index(s: Option<Str>, sep: Option<Str>, index: Option<i32>) -> Option<Str> {
    let (s, sep, index) = (s?, sep?, index?);
    if index < 0 || s.is_empty() {
        return None;
    }
    let piece = if sep.is_empty() {
        s.split(char::is_whitespace).nth(index as usize)?
    } else {
        s.split(sep.as_str()).nth(index as usize)?
    };
    Some(if piece.len() == s.len() { s.clone() } else { Str::new(piece) })
}

/// REGEXP(string, regex): whether some part of `string` matches; FALSE for an empty or
/// invalid pattern.
pub fn regexp(s: Option<Str>, re: Option<Str>) -> Option<bool> {
    let (s, re) = (s?, re?);
    if re.is_empty() {
        return Some(false);
    }
    Some(with_regex(&re, |r| r.is_match(&s)))
}

/// REGEXP with a pattern compiled once (see [`super::RegexCache`]).
pub fn regexp_with(re: &Regex, s: Option<Str>) -> Option<bool> {
    let s = s?;
    Some(!re.as_str().is_empty() && re.is_match(&s))
}

/// REGEXP_EXTRACT(string, regex, group): the text of capture group `group` (0: the whole
/// match) in the first match. NULL when nothing matches, the group does not exist or
/// did not take part, or the pattern is invalid.
pub fn regexp_extract(s: Option<Str>, re: Option<Str>, group: Option<i32>) -> Option<Str> {
    let (s, re) = (s?, re?);
    with_regex(&re, |r| regexp_extract_with(r, Some(s), group))
}

/// REGEXP_EXTRACT(string, regex): the whole first match.
pub fn regexp_extract_2(s: Option<Str>, re: Option<Str>) -> Option<Str> {
    regexp_extract(s, re, Some(0))
}

/// REGEXP_EXTRACT with a pattern compiled once (see [`super::RegexCache`]).
pub fn regexp_extract_with(re: &Regex, s: Option<Str>, group: Option<i32>) -> Option<Str> {
    let (s, group) = (s?, usize::try_from(group?).ok()?);
    let m = re.extract(&s, group)?;
    Some(if m.len() == s.len() { s.clone() } else { Str::new(m) })
}

/// REGEXP_EXTRACT(string, regex) with a pattern compiled once.
pub fn regexp_extract_2_with(re: &Regex, s: Option<Str>) -> Option<Str> {
    regexp_extract_with(re, s, Some(0))
}

/// REGEXP_REPLACE(string, regex, replacement): every match replaced by `replacement`,
/// taken literally (`$1` is not a group reference: Flink quotes the replacement). NULL
/// for an invalid pattern.
pub fn regexp_replace(s: Option<Str>, re: Option<Str>, replacement: Option<Str>) -> Option<Str> {
    let (s, re) = (s?, re?);
    with_regex(&re, |r| regexp_replace_with(r, Some(s), replacement))
}

/// REGEXP_REPLACE with a pattern compiled once (see [`super::RegexCache`]).
pub fn regexp_replace_with(re: &Regex, s: Option<Str>, replacement: Option<Str>) -> Option<Str> {
    let (s, replacement) = (s?, replacement?);
    if !re.is_valid() {
        return None;
    }
    Some(Str::from(re.replace_all_literal(&s, &replacement)))
}

/// LEFT(string, length): the first `length` characters ('' when negative).
pub fn left(s: Option<Str>, len: Option<i32>) -> Option<Str> {
    let (s, len) = (s?, len?);
    Some(slice_chars(&s, 0, i64::from(len)))
}

/// RIGHT(string, length): the last `length` characters ('' when negative).
pub fn right(s: Option<Str>, len: Option<i32>) -> Option<Str> {
    let (s, len) = (s?, len?);
    let n = len_chars(&s);
    Some(slice_chars(&s, (n - i64::from(len.max(0))).max(0), n))
}

/// The 0-based character index of `needle` in `s` at or after character `from`.
fn index_of(s: &str, needle: &str, from: i64) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    let from_byte = byte_of_char(s, from.max(0) as usize);
    let at = s[from_byte..].find(needle)? + from_byte;
    Some(s[..at].chars().count())
}

/// LOCATE(needle, string, start): the 1-based position of the first `needle` in
/// `string` at or after the 1-based `start`, 0 if absent (1 for an empty needle).
pub fn locate(needle: Option<Str>, s: Option<Str>, start: Option<i32>) -> Option<i32> {
    let (needle, s, start) = (needle?, s?, start?);
    Some(index_of(&s, &needle, i64::from(start) - 1).map_or(0, |i| i as i32 + 1))
}

/// LOCATE(needle, string): from the start.
pub fn locate_2(needle: Option<Str>, s: Option<Str>) -> Option<i32> {
    locate(needle, s, Some(1))
}

/// INSTR(string, needle): the 1-based position of the first `needle`, 0 if absent.
pub fn instr(s: Option<Str>, needle: Option<Str>) -> Option<i32> {
    locate(needle, s, Some(1))
}

/// ASCII(string): the code of the first character (0 for '').
pub fn ascii(s: Option<Str>) -> Option<i32> {
    Some(s?.chars().next().map_or(0, |c| c as i32))
}

/// CHR(integer): the character with code `integer & 255` ('' when negative).
pub fn chr(code: Option<i32>) -> Option<Str> {
    let code = code?;
    if code < 0 {
        return Some(Str::default());
    }
    Some(Str::from(char::from((code & 0xFF) as u8).to_string()))
}

/// STR_TO_MAP(string, pair_delimiter, key_value_delimiter): `k1=v1,k2=v2` text as a MAP
/// (pairs in order of first appearance; a later duplicate key replaces the value). Both
/// delimiters are Java regular expressions, as in Flink; a piece without the key-value
/// delimiter maps to NULL. An empty string gives an empty map; NULL for an invalid
/// delimiter pattern.
pub fn str_to_map(s: Option<Str>, pair: Option<Str>, kv: Option<Str>) -> Option<Vec<(Str, Option<Str>)>> {
    let (s, pair, kv) = (s?, pair?, kv?);
    if s.is_empty() {
        return Some(Vec::new());
    }
    let pieces: Vec<Str> =
        with_regex(&pair, |re| re.is_valid().then(|| re.split(&s, 0).into_iter().map(Str::new).collect()))?;
    with_regex(&kv, |re| {
        if !re.is_valid() {
            return None;
        }
        let mut map: Vec<(Str, Option<Str>)> = Vec::with_capacity(pieces.len());
        for piece in &pieces {
            let parts = re.split(piece, 2);
            let (k, v) = match parts.as_slice() {
                [k, v] => (Str::new(k), Some(Str::new(v))),
                _ => (piece.clone(), None),
            };
            match map.iter_mut().find(|(key, _)| *key == k) {
                Some(entry) => entry.1 = v,
                None => map.push((k, v)),
            }
        }
        Some(map)
    })
}

/// STR_TO_MAP(string): with ',' between pairs and '=' between key and value.
pub fn str_to_map_1(s: Option<Str>) -> Option<Vec<(Str, Option<Str>)>> {
    str_to_map(s, Some(Str::new_inline(",")), Some(Str::new_inline("=")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<Str> {
        Some(Str::new(v))
    }

    fn t(v: Option<Str>) -> Option<String> {
        v.map(|x| x.to_string())
    }

    #[test]
    fn lengths_and_case() {
        assert_eq!(char_length(s("héllo")), Some(5));
        assert_eq!(char_length(s("")), Some(0));
        assert_eq!(char_length(None), None);
        assert_eq!(character_length(s("日本")), Some(2));
        assert_eq!(t(upper(s("straße"))), Some("STRASSE".into()));
        assert_eq!(t(lower(s("ÀB"))), Some("àb".into()));
        assert_eq!(upper(None), None);
        assert_eq!(t(initcap(s("hello wORLD-foo 1st"))), Some("Hello World-Foo 1st".into()));
        assert_eq!(t(initcap(s(""))), Some("".into()));
        assert_eq!(t(reverse(s("abç"))), Some("çba".into()));
        assert_eq!(reverse(None), None);
    }

    #[test]
    fn trimming() {
        assert_eq!(t(trim(s("  a b \t "))), Some("a b \t".into()));
        assert_eq!(t(ltrim(s("  a  "))), Some("a  ".into()));
        assert_eq!(t(rtrim(s("  a  "))), Some("  a".into()));
        assert_eq!(t(trim(s("   "))), Some("".into()));
        assert_eq!(trim(None), None);
        assert_eq!(t(trim_chars(s("xyaxby"), s("yx"), TrimSide::Both)), Some("axb".into()));
        assert_eq!(t(trim_chars(s("xxa"), s("x"), TrimSide::Leading)), Some("a".into()));
        assert_eq!(t(trim_chars(s("axx"), s("x"), TrimSide::Trailing)), Some("a".into()));
        assert_eq!(trim_chars(s("a"), None, TrimSide::Both), None);
    }

    #[test]
    fn concatenation() {
        assert_eq!(t(concat(vec![s("a"), s("b"), s("")])), Some("ab".into()));
        assert_eq!(concat(vec![s("a"), None]), None);
        assert_eq!(t(concat([s("x")])), Some("x".into()));
        assert_eq!(t(concat_ws(vec![s("-"), s("a"), None, s("b")])), Some("a-b".into()));
        assert_eq!(t(concat_ws(vec![s("-"), None])), Some("".into()));
        assert_eq!(concat_ws(vec![None, s("a")]), None);
        assert_eq!(concat_ws(Vec::new()), None);
    }

    #[test]
    fn substrings() {
        let x = || s("Hello, World");
        assert_eq!(t(substring(x(), Some(1), Some(5))), Some("Hello".into()));
        assert_eq!(t(substring_2(x(), Some(8))), Some("World".into()));
        assert_eq!(t(substring(x(), Some(0), Some(2))), Some("He".into()));
        assert_eq!(t(substring_2(x(), Some(-5))), Some("World".into()));
        assert_eq!(t(substring(x(), Some(-5), Some(2))), Some("Wo".into()));
        assert_eq!(t(substring_2(x(), Some(-50))), Some("".into()));
        assert_eq!(t(substring_2(x(), Some(50))), Some("".into()));
        assert_eq!(t(substring(x(), Some(3), Some(100))), Some("llo, World".into()));
        assert_eq!(substring(x(), Some(1), Some(-1)), None);
        assert_eq!(t(substring(x(), Some(1), Some(0))), Some("".into()));
        assert_eq!(substring(x(), None, Some(1)), None);
        assert_eq!(t(substring(s(""), Some(1), Some(1))), Some("".into()));
        assert_eq!(t(substr(s("日本語テキスト"), Some(2), Some(2))), Some("本語".into()));
        assert_eq!(t(substr_2(s("日本語"), Some(-1))), Some("語".into()));
        assert_eq!(t(left(s("abcdef"), Some(2))), Some("ab".into()));
        assert_eq!(t(left(s("abc"), Some(-1))), Some("".into()));
        assert_eq!(t(left(s("abc"), Some(10))), Some("abc".into()));
        assert_eq!(t(right(s("abcdef"), Some(2))), Some("ef".into()));
        assert_eq!(t(right(s("abc"), Some(-2))), Some("".into()));
        assert_eq!(t(right(s("äbc"), Some(10))), Some("äbc".into()));
        assert_eq!(left(None, Some(1)), None);
    }

    #[test]
    fn padding_and_repeating() {
        assert_eq!(t(lpad(s("hi"), Some(5), s("??"))), Some("???hi".into()));
        assert_eq!(t(lpad(s("hi"), Some(1), s("??"))), Some("h".into()));
        assert_eq!(t(rpad(s("hi"), Some(5), s("ab"))), Some("hiaba".into()));
        assert_eq!(t(rpad(s("hello"), Some(2), s("x"))), Some("he".into()));
        assert_eq!(t(lpad(s("é"), Some(3), s("ü"))), Some("üüé".into()));
        assert_eq!(lpad(s("hi"), Some(-1), s("?")), None);
        assert_eq!(lpad(s("hi"), Some(1), s("")), None);
        assert_eq!(t(rpad(s("hi"), Some(0), s("x"))), Some("".into()));
        assert_eq!(t(repeat(s("ab"), Some(3))), Some("ababab".into()));
        assert_eq!(t(repeat(s("ab"), Some(-3))), Some("".into()));
        assert_eq!(repeat(s("ab"), None), None);
        assert_eq!(t(replace(s("a.b.c"), s("."), s("--"))), Some("a--b--c".into()));
        assert_eq!(t(replace(s("abc"), s(""), s("x"))), Some("xaxbxcx".into()));
        assert_eq!(replace(s("abc"), None, s("x")), None);
    }

    #[test]
    fn splitting() {
        assert_eq!(t(split_index(s("Jack,John,Mary"), s(","), Some(2))), Some("Mary".into()));
        assert_eq!(split_index(s("Jack,John,Mary"), s(","), Some(3)), None);
        assert_eq!(split_index(s("Jack,John,Mary"), s(","), Some(-1)), None);
        assert_eq!(t(split_index(s("a,,b"), s(","), Some(1))), Some("".into()));
        assert_eq!(t(split_index(s("a,"), s(","), Some(1))), Some("".into()));
        assert_eq!(t(split_index(s("a::b::c"), s("::"), Some(1))), Some("b".into()));
        assert_eq!(t(split_index(s("a.b"), s("."), Some(1))), Some("b".into()));
        assert_eq!(t(split_index(s("abc"), s(","), Some(0))), Some("abc".into()));
        assert_eq!(split_index(s(""), s(","), Some(0)), None);
        assert_eq!(t(split_index(s("a b"), s(""), Some(1))), Some("b".into()));
        assert_eq!(split_index(None, s(","), Some(0)), None);
        assert_eq!(t(split_index(s("á|é"), s("|"), Some(1))), Some("é".into()));
    }

    #[test]
    fn regexps() {
        assert_eq!(regexp(s("abc123"), s("\\d+")), Some(true));
        assert_eq!(regexp(s("abc"), s("^b")), Some(false));
        assert_eq!(regexp(s("abc"), s("")), Some(false));
        assert_eq!(regexp(s("abc"), s("(")), Some(false));
        assert_eq!(regexp(None, s("a")), None);
        let url = s("http://x.com/?a=1&channel_id=42&b=2");
        let re = s("(&|^)channel_id=([^&]*)");
        assert_eq!(t(regexp_extract(url.clone(), re.clone(), Some(2))), Some("42".into()));
        assert_eq!(t(regexp_extract_2(url.clone(), s("\\d+"))), Some("1".into()));
        assert_eq!(regexp_extract(url.clone(), re.clone(), Some(3)), None);
        assert_eq!(regexp_extract(url.clone(), re.clone(), Some(-1)), None);
        assert_eq!(regexp_extract(url.clone(), re.clone(), None), None);
        assert_eq!(regexp_extract(url.clone(), s("(["), Some(0)), None);
        assert_eq!(regexp_extract(s("zzz"), re.clone(), Some(2)), None);
        assert_eq!(t(regexp_extract(s("foo123bar"), s("([a-z]+)(\\d+)"), Some(2))), Some("123".into()));
        let cached = Regex::new("b+");
        assert_eq!(t(regexp_extract_with(&cached, s("abbbc"), Some(0))), Some("bbb".into()));
        assert_eq!(t(regexp_extract_2_with(&cached, s("abbbc"))), Some("bbb".into()));
        assert_eq!(regexp_with(&cached, s("ac")), Some(false));
        assert_eq!(regexp_with(&Regex::new(""), s("ac")), Some(false));
        assert_eq!(t(regexp_replace(s("a1b22"), s("\\d+"), s("#"))), Some("a#b#".into()));
        assert_eq!(t(regexp_replace(s("ab"), s("(a)"), s("$1$1"))), Some("$1$1b".into()));
        assert_eq!(regexp_replace(s("ab"), s("("), s("x")), None);
        assert_eq!(regexp_replace(s("ab"), s("a"), None), None);
        assert_eq!(t(regexp_replace_with(&cached, s("abbc"), s(""))), Some("ac".into()));
    }

    #[test]
    fn positions() {
        assert_eq!(locate_2(s("lo"), s("hello lo")), Some(4));
        assert_eq!(locate(s("lo"), s("hello lo"), Some(5)), Some(7));
        assert_eq!(locate(s("lo"), s("hello lo"), Some(0)), Some(4));
        assert_eq!(locate(s("lo"), s("hello"), Some(10)), Some(0));
        assert_eq!(locate(s(""), s("hello"), Some(3)), Some(1));
        assert_eq!(locate_2(s("x"), s("")), Some(0));
        assert_eq!(locate_2(s("本"), s("日本")), Some(2));
        assert_eq!(locate(None, s("a"), Some(1)), None);
        assert_eq!(instr(s("hello"), s("l")), Some(3));
        assert_eq!(instr(s("hello"), s("z")), Some(0));
        assert_eq!(instr(s("hello"), None), None);
    }

    #[test]
    fn codes_and_maps() {
        assert_eq!(ascii(s("abc")), Some(97));
        assert_eq!(ascii(s("")), Some(0));
        assert_eq!(ascii(None), None);
        assert_eq!(t(chr(Some(65))), Some("A".into()));
        assert_eq!(t(chr(Some(256 + 97))), Some("a".into()));
        assert_eq!(t(chr(Some(-1))), Some("".into()));
        assert_eq!(t(chr(Some(256))), Some("\0".into()));
        assert_eq!(t(chr(Some(233))), Some("é".into()));
        let m = |v: Option<Vec<(Str, Option<Str>)>>| {
            v.map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v.map(|v| v.to_string()))).collect::<Vec<_>>())
        };
        let kv = |k: &str, v: Option<&str>| (k.to_string(), v.map(String::from));
        assert_eq!(m(str_to_map_1(s("a=1,b=2,a=3"))), Some(vec![kv("a", Some("3")), kv("b", Some("2"))]));
        assert_eq!(m(str_to_map_1(s("a,b=x=y"))), Some(vec![kv("a", None), kv("b", Some("x=y"))]));
        assert_eq!(m(str_to_map(s("a:1;b:2"), s(";"), s(":"))), Some(vec![kv("a", Some("1")), kv("b", Some("2"))]));
        assert_eq!(
            m(str_to_map(s("a:1 ; b:2"), s("\\s*;\\s*"), s(":"))),
            Some(vec![kv("a", Some("1")), kv("b", Some("2"))])
        );
        assert_eq!(m(str_to_map_1(s(""))), Some(vec![]));
        assert_eq!(str_to_map_1(None), None);
        assert_eq!(str_to_map(s("a"), s("("), s("=")), None);
    }
}
