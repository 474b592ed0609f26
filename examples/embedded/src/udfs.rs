//! Rust functions the crate's queries call (`CREATE FUNCTION … AS 'crate::udfs::…'`):
//! SQL values in and out, `None` for NULL.

use dfl::types::Str;

/// How many times the first character of `c` occurs in `s` (Nexmark q14's `count_char`).
pub fn count_char(s: Option<Str>, c: Option<Str>) -> Option<i64> {
    let needle = *c?.as_bytes().first()?;
    Some(s.map_or(0, |s| s.bytes().filter(|b| *b == needle).count() as i64))
}

/// A name's initials, upper-cased: "ada lovelace" → "AL".
pub fn initials(name: Option<Str>) -> Option<Str> {
    let initials: String =
        name?.split_whitespace().filter_map(|w| w.chars().next()).flat_map(char::to_uppercase).collect();
    Some(Str::from(initials.as_str()))
}
