//! Scalar built-in functions, as generated code calls them: one Rust function per SQL
//! function of the catalog (aggregates, window functions and the clock / random
//! functions live elsewhere).
//!
//! # Calling convention
//!
//! * **Names**: the SQL name in snake case (`SPLIT_INDEX` → [`split_index`],
//!   `CHAR_LENGTH` → [`char_length`]); Rust keywords get a trailing underscore (`IF` →
//!   [`if_`], `MOD` → [`mod_`]).
//! * **Optional arguments**: the plain name takes every argument the SQL signature
//!   allows; a call with fewer arguments uses `<name>_<count>`: `SUBSTRING(s, 2)` →
//!   [`substring_2`], `ROUND(x)` → [`round_1`], `LOG(x)` → [`log_1`],
//!   `REGEXP_EXTRACT(s, re)` → [`regexp_extract_2`], `TO_TIMESTAMP(s)` →
//!   [`to_timestamp_1`]. (Passing `None` instead would mean SQL NULL, which makes most
//!   results NULL.)
//! * **Arguments and results**: every argument is an `Option<T>` taken by value (NULL is
//!   `None`) with `T` the SQL type's Rust type (see [`crate::types`]); INT arguments are
//!   `i32`, BIGINT `i64`, DOUBLE `f64`. The result is an `Option<R>`.
//! * **NULL**: NULL in gives NULL out, except where Flink says otherwise and each
//!   function documents it: COALESCE, IFNULL, IF, NULLIF, CONCAT_WS (NULL strings are
//!   skipped), IS_ALPHA / IS_DIGIT / IS_DECIMAL (FALSE for NULL), JSON_EXISTS.
//! * **Varying argument types**: functions over several types are generic over small
//!   traits: [`Numeric`] (ABS, SIGN, MOD, ROUND, TRUNCATE, CEIL, FLOOR), [`DateLike`]
//!   (YEAR … DAYOFWEEK), [`TimeLike`] (HOUR, MINUTE, SECOND), [`DateFormatInput`]
//!   (DATE_FORMAT), [`LtzInput`] (TO_TIMESTAMP_LTZ), [`Collection`] (CARDINALITY),
//!   [`HashCode`] (HASH_CODE), `PartialOrd` (GREATEST, LEAST), `PartialEq` (NULLIF).
//!   Arguments that share a type parameter must be converted to one common type first
//!   (MOD's two operands, IF's branches, …).
//! * **Variadic functions** (CONCAT, CONCAT_WS, COALESCE, GREATEST, LEAST) take all
//!   their arguments as one `impl IntoIterator<Item = Option<T>>`: `vec![a, b, c]` or,
//!   without allocating, an array `[a, b, c]`. For CONCAT_WS the first element is the
//!   separator.
//! * **Errors**: the functions never panic. Where Flink fails a query at run time
//!   (an invalid regular expression or date pattern, ELEMENT of a longer array), the
//!   result is NULL instead, as documented on each function.
//!
//! # Regular expressions
//!
//! Patterns follow Java's syntax and are run by a small engine of our own ([`Regex`],
//! whose documentation lists what is supported). The plain functions ([`regexp`],
//! [`regexp_extract`], [`regexp_replace`], [`str_to_map`]) cache recently used patterns
//! per thread. For a literal pattern, generated code can compile it once with a
//! `static` [`RegexCache`] and call the `_with` variants:
//!
//! ```
//! use dfl::fns::{RegexCache, regexp_extract_with};
//! static RE: RegexCache = RegexCache::new();
//! let url = Some("https://x.com/?a=1&channel_id=abc&b=2".into());
//! let id = regexp_extract_with(RE.get("(&|^)channel_id=([^&]*)"), url, Some(2));
//! assert_eq!(id.as_deref(), Some("abc"));
//! ```
//!
//! # Dates and times
//!
//! The session time zone is UTC: TIMESTAMP_LTZ values are read as UTC wall-clock times,
//! and strings without an offset are read in UTC. Date-time patterns are Java's
//! (`yyyy-MM-dd HH:mm:ss.SSS`, `'quoted'` text, …). CONVERT_TZ and the three-argument
//! TO_TIMESTAMP_LTZ know UTC, fixed offsets and a table of common zone IDs with the
//! current US and EU daylight-saving rules, but no time zone database.

mod datefmt;
mod hash;
mod math;
mod misc;
mod regex;
mod regex_syntax;
mod string;
mod time;
mod tz;

pub use hash::{from_base64, md5, sha1, sha256, to_base64};
pub use math::{
    Numeric, abs, ceil, exp, floor, ln, log, log_1, log2, log10, mod_, pi, power, round, round_1, sign, sqrt, truncate,
    truncate_1,
};
pub use misc::{
    Collection, HashCode, cardinality, coalesce, element, greatest, hash_code, if_, ifnull, is_alpha, is_decimal,
    is_digit, json_exists, json_query, json_value, least, map_get, map_of, nullif,
};
pub use regex::{Regex, RegexCache};
pub use string::{
    TrimSide, ascii, char_length, character_length, chr, concat, concat_ws, initcap, instr, left, locate, locate_2,
    lower, lpad, ltrim, regexp, regexp_extract, regexp_extract_2, regexp_extract_2_with, regexp_extract_with,
    regexp_replace, regexp_replace_with, regexp_with, repeat, replace, reverse, right, rpad, rtrim, split_index,
    str_to_map, str_to_map_1, substr, substr_2, substring, substring_2, trim, trim_chars, upper,
};
pub use time::{
    DateFormatInput, DateLike, Datetime, LtzInput, TimeLike, convert_tz, date_format, dayofmonth, dayofweek, dayofyear,
    from_unixtime, from_unixtime_1, hour, minute, month, quarter, second, timestampadd, timestampdiff, to_date,
    to_date_1, to_timestamp, to_timestamp_1, to_timestamp_ltz, to_timestamp_ltz_1, to_timestamp_ltz_2, unix_timestamp,
    unix_timestamp_1, week, year,
};
