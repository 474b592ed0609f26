//! Which runtime function (`dfl::fns`) implements each scalar built-in, and how the
//! generator must pass the arguments. A plain table: the compiler does not depend on
//! the runtime crate, so the two are kept in step by the tests here (every scalar
//! function of the catalog is covered) and by compiling generated code.
//!
//! Conventions of the runtime functions (see `dfl::fns`): every argument is an
//! `Option<T>` by value, the result an `Option<R>`; a call with fewer arguments than
//! the SQL signature allows uses `<name>_<count>` (`SUBSTRING(s, 2)` →
//! `fns::substring_2`), which [`rust_fn_arity`] resolves.

/// The Rust type the generator converts an argument to before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // The generator's vocabulary; not every type is used by today's table.
pub enum Param {
    /// `Str` (any character string).
    Str,
    Bool,
    /// `i32` (INT).
    I32,
    /// `i64` (BIGINT).
    I64,
    /// `f64` (DOUBLE).
    F64,
    Decimal,
    Timestamp,
    Date,
    Time,
    Interval,
    /// `Vec<u8>`.
    Bytes,
    /// The argument's own type, unconverted (the function is generic over it).
    Any,
}

/// How the arguments are passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Params {
    /// One parameter per argument, converted to these types.
    Exact(&'static [Param]),
    /// All arguments converted to this type and passed as one `vec![…]` (any
    /// `IntoIterator` works, e.g. an array).
    Variadic(Param),
    /// A generic function whose arguments share one type: every argument converted to
    /// the arguments' common type; COALESCE, GREATEST and LEAST take them as one
    /// `vec![…]`. The result has that common type too (for MOD it may be wider than
    /// the SQL result type, which the remainder then fits).
    SameAsArgs,
}

/// A runtime function to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RustFn {
    /// Relative to the runtime's private root, e.g. `fns::split_index`.
    pub path: &'static str,
    pub params: Params,
}

/// Scalar functions the generator implements itself, without a `fns` entry: the
/// clock (they read the pipeline's time), randomness, TYPEOF (a constant from the
/// argument's SQL type), CURRENT_WATERMARK (operator state) and `UNIX_TIMESTAMP()`
/// without arguments (the clock; with arguments it has entries).
#[cfg_attr(not(test), allow(dead_code))]
pub const HANDLED_BY_GENERATOR: &[&str] = &[
    "PROCTIME",
    "NOW",
    "CURRENT_TIMESTAMP",
    "LOCALTIMESTAMP",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "LOCALTIME",
    "CURRENT_ROW_TIMESTAMP",
    "RAND",
    "RAND_INTEGER",
    "UUID",
    "TYPEOF",
    "CURRENT_WATERMARK",
];

use Param::*;

/// Number of arguments an entry is for: exactly `n`, or at least `n` (variadic).
#[derive(Clone, Copy)]
enum Arity {
    N(usize),
    AtLeast(usize),
}

const fn exact(path: &'static str, params: &'static [Param]) -> (Arity, RustFn) {
    (Arity::N(params.len()), RustFn { path, params: Params::Exact(params) })
}

/// A generic function of `n` arguments of one (common) type.
const fn same(path: &'static str, n: usize) -> (Arity, RustFn) {
    (Arity::N(n), RustFn { path, params: Params::SameAsArgs })
}

const fn variadic(path: &'static str, p: Param, min: usize) -> (Arity, RustFn) {
    (Arity::AtLeast(min), RustFn { path, params: Params::Variadic(p) })
}

const fn variadic_same(path: &'static str, min: usize) -> (Arity, RustFn) {
    (Arity::AtLeast(min), RustFn { path, params: Params::SameAsArgs })
}

/// Every implementation of `sql_name`: one per number of arguments, longest first.
fn entries(sql_name: &str) -> &'static [(Arity, RustFn)] {
    macro_rules! e {
        ($($entry:expr),+ $(,)?) => {{
            const E: &[(Arity, RustFn)] = &[$($entry),+];
            E
        }};
    }
    match sql_name {
        // Arithmetic.
        "ABS" => e![same("fns::abs", 1)],
        "SIGN" => e![same("fns::sign", 1)],
        "CEIL" => e![same("fns::ceil", 1)],
        "FLOOR" => e![same("fns::floor", 1)],
        "MOD" => e![same("fns::mod_", 2)],
        "ROUND" => e![exact("fns::round", &[Any, I32]), exact("fns::round_1", &[Any])],
        "TRUNCATE" => e![exact("fns::truncate", &[Any, I32]), exact("fns::truncate_1", &[Any])],
        "POWER" => e![exact("fns::power", &[F64, F64])],
        "SQRT" => e![exact("fns::sqrt", &[F64])],
        "EXP" => e![exact("fns::exp", &[F64])],
        "LN" => e![exact("fns::ln", &[F64])],
        "LOG10" => e![exact("fns::log10", &[F64])],
        "LOG2" => e![exact("fns::log2", &[F64])],
        "LOG" => e![exact("fns::log", &[F64, F64]), exact("fns::log_1", &[F64])],
        "PI" => e![exact("fns::pi", &[])],
        // Strings.
        "CHAR_LENGTH" => e![exact("fns::char_length", &[Str])],
        "CHARACTER_LENGTH" => e![exact("fns::character_length", &[Str])],
        "UPPER" => e![exact("fns::upper", &[Str])],
        "LOWER" => e![exact("fns::lower", &[Str])],
        "INITCAP" => e![exact("fns::initcap", &[Str])],
        "TRIM" => e![exact("fns::trim", &[Str])],
        "LTRIM" => e![exact("fns::ltrim", &[Str])],
        "RTRIM" => e![exact("fns::rtrim", &[Str])],
        "REVERSE" => e![exact("fns::reverse", &[Str])],
        "CONCAT" => e![variadic("fns::concat", Str, 1)],
        "CONCAT_WS" => e![variadic("fns::concat_ws", Str, 2)],
        "SUBSTRING" => e![exact("fns::substring", &[Str, I32, I32]), exact("fns::substring_2", &[Str, I32])],
        "SUBSTR" => e![exact("fns::substr", &[Str, I32, I32]), exact("fns::substr_2", &[Str, I32])],
        "REPLACE" => e![exact("fns::replace", &[Str, Str, Str])],
        "LPAD" => e![exact("fns::lpad", &[Str, I32, Str])],
        "RPAD" => e![exact("fns::rpad", &[Str, I32, Str])],
        "REPEAT" => e![exact("fns::repeat", &[Str, I32])],
        "SPLIT_INDEX" => e![exact("fns::split_index", &[Str, Str, I32])],
        "REGEXP" => e![exact("fns::regexp", &[Str, Str])],
        "REGEXP_EXTRACT" => {
            e![exact("fns::regexp_extract", &[Str, Str, I32]), exact("fns::regexp_extract_2", &[Str, Str])]
        }
        "REGEXP_REPLACE" => e![exact("fns::regexp_replace", &[Str, Str, Str])],
        "LEFT" => e![exact("fns::left", &[Str, I32])],
        "RIGHT" => e![exact("fns::right", &[Str, I32])],
        "LOCATE" => e![exact("fns::locate", &[Str, Str, I32]), exact("fns::locate_2", &[Str, Str])],
        "INSTR" => e![exact("fns::instr", &[Str, Str])],
        "MD5" => e![exact("fns::md5", &[Str])],
        "SHA1" => e![exact("fns::sha1", &[Str])],
        "SHA256" => e![exact("fns::sha256", &[Str])],
        "TO_BASE64" => e![exact("fns::to_base64", &[Str])],
        "FROM_BASE64" => e![exact("fns::from_base64", &[Str])],
        "ASCII" => e![exact("fns::ascii", &[Str])],
        "CHR" => e![exact("fns::chr", &[I32])],
        "STR_TO_MAP" => e![exact("fns::str_to_map", &[Str, Str, Str]), exact("fns::str_to_map_1", &[Str])],
        "HASH_CODE" => e![same("fns::hash_code", 1)],
        // Date and time. DATE_FORMAT's first argument is a timestamp or a string;
        // YEAR … DAYOFWEEK take a date or timestamp, HOUR … SECOND a time or timestamp.
        "DATE_FORMAT" => e![exact("fns::date_format", &[Any, Str])],
        "TO_TIMESTAMP" => e![exact("fns::to_timestamp", &[Str, Str]), exact("fns::to_timestamp_1", &[Str])],
        // (string, format, zone); (epoch, precision: INT) or (string, format); (epoch) or (string).
        "TO_TIMESTAMP_LTZ" => e![
            exact("fns::to_timestamp_ltz", &[Str, Str, Str]),
            exact("fns::to_timestamp_ltz_2", &[Any, Any]),
            exact("fns::to_timestamp_ltz_1", &[Any]),
        ],
        "TO_DATE" => e![exact("fns::to_date", &[Str, Str]), exact("fns::to_date_1", &[Str])],
        "UNIX_TIMESTAMP" => e![exact("fns::unix_timestamp", &[Str, Str]), exact("fns::unix_timestamp_1", &[Str])],
        "FROM_UNIXTIME" => e![exact("fns::from_unixtime", &[I64, Str]), exact("fns::from_unixtime_1", &[I64])],
        "YEAR" => e![exact("fns::year", &[Any])],
        "QUARTER" => e![exact("fns::quarter", &[Any])],
        "MONTH" => e![exact("fns::month", &[Any])],
        "WEEK" => e![exact("fns::week", &[Any])],
        "DAYOFYEAR" => e![exact("fns::dayofyear", &[Any])],
        "DAYOFMONTH" => e![exact("fns::dayofmonth", &[Any])],
        "DAYOFWEEK" => e![exact("fns::dayofweek", &[Any])],
        "HOUR" => e![exact("fns::hour", &[Any])],
        "MINUTE" => e![exact("fns::minute", &[Any])],
        "SECOND" => e![exact("fns::second", &[Any])],
        "CONVERT_TZ" => e![exact("fns::convert_tz", &[Str, Str, Str])],
        // Conditional and miscellaneous.
        "COALESCE" => e![variadic_same("fns::coalesce", 1)],
        "GREATEST" => e![variadic_same("fns::greatest", 1)],
        "LEAST" => e![variadic_same("fns::least", 1)],
        // IF's two branches must have one Rust type: the generator converts them to the
        // call's type (`Any` here only because the condition is not of that type).
        "IF" => e![exact("fns::if_", &[Bool, Any, Any])],
        "IFNULL" => e![same("fns::ifnull", 2)],
        "NULLIF" => e![same("fns::nullif", 2)],
        "IS_ALPHA" => e![exact("fns::is_alpha", &[Str])],
        "IS_DIGIT" => e![exact("fns::is_digit", &[Str])],
        "IS_DECIMAL" => e![exact("fns::is_decimal", &[Str])],
        "CARDINALITY" => e![exact("fns::cardinality", &[Any])],
        "ELEMENT" => e![exact("fns::element", &[Any])],
        "JSON_VALUE" => e![exact("fns::json_value", &[Str, Str])],
        "JSON_QUERY" => e![exact("fns::json_query", &[Str, Str])],
        "JSON_EXISTS" => e![exact("fns::json_exists", &[Str, Str])],
        _ => &[],
    }
}

/// The runtime function of the scalar built-in `sql_name` (upper case) called with all
/// the arguments its signature allows; `None` for functions the generator implements
/// itself ([`HANDLED_BY_GENERATOR`]) and for non-scalar functions. A call with fewer
/// arguments needs [`rust_fn_arity`].
#[cfg_attr(not(test), allow(dead_code))]
pub fn rust_fn(sql_name: &str) -> Option<RustFn> {
    entries(sql_name).first().map(|(_, f)| *f)
}

/// The runtime function for a call of `sql_name` with `arity` arguments, e.g.
/// `fns::substring_2` for `SUBSTRING(s, 2)`.
#[cfg_attr(not(test), allow(dead_code))]
pub fn rust_fn_arity(sql_name: &str, arity: usize) -> Option<RustFn> {
    let fits = |a: &Arity| match *a {
        Arity::N(n) => n == arity,
        Arity::AtLeast(min) => arity >= min,
    };
    entries(sql_name).iter().find(|(a, _)| fits(a)).map(|(_, f)| *f)
}

/// A regular-expression function whose pattern can be compiled once when it is a
/// literal: generated code declares `static RE: rt::fns::RegexCache =
/// rt::fns::RegexCache::new();` and calls `rt::<path>(RE.get(<pattern literal>),
/// <the other arguments, in order>)`, the others converted to `params`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegexFn {
    pub path: &'static str,
    /// Which argument is the pattern.
    pub pattern_arg: usize,
    /// The types of the other arguments.
    pub params: &'static [Param],
}

/// The cached-pattern variant of a call of `sql_name` with `arity` arguments.
pub fn regex_fn(sql_name: &str, arity: usize) -> Option<RegexFn> {
    let (path, params): (&'static str, &'static [Param]) = match (sql_name, arity) {
        ("REGEXP", 2) => ("fns::regexp_with", &[Str]),
        ("REGEXP_EXTRACT", 3) => ("fns::regexp_extract_with", &[Str, I32]),
        ("REGEXP_EXTRACT", 2) => ("fns::regexp_extract_2_with", &[Str]),
        ("REGEXP_REPLACE", 3) => ("fns::regexp_replace_with", &[Str, Str]),
        _ => return None,
    };
    Some(RegexFn { path, pattern_arg: 1, params })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::functions::{ArgError, FunctionKind, lookup, names, return_type};
    use crate::types::Type;

    fn scalar_names() -> Vec<&'static str> {
        names().filter(|n| lookup(n).is_some_and(|f| f.kind == FunctionKind::Scalar)).collect()
    }

    /// Whether the catalog accepts `n` arguments: NULL literals (they fit every
    /// position) or strings (TO_TIMESTAMP_LTZ's form depends on its first argument).
    fn accepts(name: &str, n: usize) -> bool {
        let info = lookup(name).expect("catalog function");
        [Type::null(), Type::string()]
            .into_iter()
            .any(|t| !matches!(return_type(info, &vec![t; n]), Err(ArgError::Count { .. })))
    }

    #[test]
    fn every_scalar_function_is_covered_exactly_once() {
        for name in scalar_names() {
            let generated = HANDLED_BY_GENERATOR.contains(&name);
            let table = rust_fn(name).is_some();
            assert!(generated || table, "{name} has neither a runtime function nor generator support");
            assert!(!(generated && table), "{name} is both in the table and handled by the generator");
        }
        for name in HANDLED_BY_GENERATOR {
            assert_eq!(lookup(name).map(|f| f.kind), Some(FunctionKind::Scalar), "{name}");
        }
    }

    #[test]
    fn entries_match_the_catalog_arities() {
        for name in scalar_names() {
            for n in 0..=6 {
                let f = rust_fn_arity(name, n);
                if let Some(f) = f {
                    assert!(accepts(name, n), "{name} has an entry for {n} arguments the catalog rejects");
                    if let Params::Exact(p) = f.params {
                        assert_eq!(p.len(), n, "{name}/{n}: {}", f.path);
                    }
                } else if accepts(name, n) && !HANDLED_BY_GENERATOR.contains(&name) {
                    // Only the clock form of UNIX_TIMESTAMP is left to the generator.
                    assert_eq!((name, n), ("UNIX_TIMESTAMP", 0), "{name} with {n} arguments has no entry");
                }
            }
        }
        // Only catalog scalars have entries.
        for name in names() {
            if lookup(name).is_some_and(|f| f.kind != FunctionKind::Scalar) {
                assert!(rust_fn(name).is_none(), "{name} is not scalar");
            }
        }
        assert!(rust_fn("NO_SUCH_FUNCTION").is_none());
    }

    #[test]
    fn paths_follow_the_naming_convention() {
        for name in scalar_names() {
            let all = entries(name);
            for (i, (arity, f)) in all.iter().enumerate() {
                let base = name.to_ascii_lowercase();
                let base = if matches!(base.as_str(), "if" | "mod") { format!("{base}_") } else { base };
                let expected = match (i, arity) {
                    (0, _) => format!("fns::{base}"),
                    (_, Arity::N(n)) => format!("fns::{base}_{n}"),
                    (_, Arity::AtLeast(_)) => unreachable!("a variadic entry comes alone"),
                };
                assert_eq!(f.path, expected, "{name}");
            }
        }
    }

    #[test]
    fn lookups() {
        let split = rust_fn("SPLIT_INDEX").unwrap();
        assert_eq!(split.path, "fns::split_index");
        assert_eq!(split.params, Params::Exact(&[Param::Str, Param::Str, Param::I32]));
        assert_eq!(rust_fn("SUBSTRING").unwrap().path, "fns::substring");
        assert_eq!(rust_fn_arity("SUBSTRING", 2).unwrap().path, "fns::substring_2");
        assert_eq!(rust_fn_arity("SUBSTRING", 1), None);
        assert_eq!(rust_fn_arity("CONCAT", 5).unwrap().params, Params::Variadic(Param::Str));
        assert_eq!(rust_fn_arity("COALESCE", 3).unwrap().params, Params::SameAsArgs);
        assert_eq!(rust_fn_arity("UNIX_TIMESTAMP", 0), None);
        assert_eq!(rust_fn("NOW"), None);
        assert_eq!(rust_fn("COUNT"), None);
        let re = regex_fn("REGEXP_EXTRACT", 3).unwrap();
        assert_eq!(
            (re.path, re.pattern_arg, re.params),
            ("fns::regexp_extract_with", 1, &[Param::Str, Param::I32][..])
        );
        assert_eq!(regex_fn("REGEXP_EXTRACT", 2).unwrap().path, "fns::regexp_extract_2_with");
        assert_eq!(regex_fn("UPPER", 1), None);
    }
}
