//! The Flink SQL built-in functions `dflc` supports, and the type of a call to each.
//!
//! Names, argument types and result types follow Flink's "System (Built-in) Functions".
//! A few call forms with special syntax are typed by the resolver instead of here:
//! `CEIL/FLOOR(x TO unit)`, `TRIM(BOTH x FROM y)`, `TIMESTAMPADD`, `TIMESTAMPDIFF`,
//! `COUNT(*)` (passed here as `COUNT()`), and the niladic `CURRENT_TIMESTAMP`-style
//! functions written without parentheses (passed here with no arguments).

use crate::types::{MAX_LENGTH, Type, TypeKind, common_type};

/// What a function is, which decides where it may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// Row by row.
    Scalar,
    /// COUNT, SUM, …: in a GROUP BY query or with OVER.
    Aggregate,
    /// ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD: only with OVER.
    Window,
    /// TUMBLE / HOP / SESSION in GROUP BY (legacy group windows).
    GroupWindow,
    /// TUMBLE_START, TUMBLE_END, TUMBLE_ROWTIME, TUMBLE_PROCTIME, and HOP_* / SESSION_*: refer to the group window.
    GroupWindowProperty,
}

#[derive(Debug, Clone, Copy)]
pub struct FunctionInfo {
    /// Upper case, e.g. "SPLIT_INDEX".
    pub name: &'static str,
    pub kind: FunctionKind,
    /// For help text, e.g. "SPLIT_INDEX(string, separator, index)".
    pub signature: &'static str,
    /// One short sentence.
    pub doc: &'static str,
    /// Gives a different value each call (RAND, UUID, PROCTIME, NOW …).
    pub nondeterministic: bool,
}

/// Why a call does not type-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// Wrong number of arguments; `expected` reads like "2", "1 or 2", "at least 1".
    Count { expected: String, found: usize },
    /// Argument `index` (0-based) has a type the function does not take; `expected` reads like "a string", "a numeric type", "a timestamp", "an interval".
    Type { index: usize, expected: String },
}

use FunctionKind::{Aggregate, GroupWindow, GroupWindowProperty, Scalar, Window};

const fn f(name: &'static str, kind: FunctionKind, signature: &'static str, doc: &'static str) -> FunctionInfo {
    FunctionInfo { name, kind, signature, doc, nondeterministic: false }
}

/// A nondeterministic function.
const fn nd(name: &'static str, kind: FunctionKind, signature: &'static str, doc: &'static str) -> FunctionInfo {
    FunctionInfo { nondeterministic: true, ..f(name, kind, signature, doc) }
}

#[rustfmt::skip]
static FUNCTIONS: &[FunctionInfo] = &[
    // Arithmetic.
    f("ABS", Scalar, "ABS(numeric)", "The absolute value of a number."),
    f("MOD", Scalar, "MOD(numeric1, numeric2)", "The remainder of dividing numeric1 by numeric2, negative only when numeric1 is."),
    f("ROUND", Scalar, "ROUND(numeric[, digits])", "Rounds a number half-up to the given number of decimal places (0 by default)."),
    f("TRUNCATE", Scalar, "TRUNCATE(numeric[, digits])", "Cuts a number down to the given number of decimal places (0 by default)."),
    f("POWER", Scalar, "POWER(base, exponent)", "base raised to the power exponent, as a DOUBLE."),
    f("SQRT", Scalar, "SQRT(numeric)", "The square root, as a DOUBLE."),
    f("EXP", Scalar, "EXP(numeric)", "e raised to the given power, as a DOUBLE."),
    f("LN", Scalar, "LN(numeric)", "The natural logarithm, as a DOUBLE."),
    f("LOG10", Scalar, "LOG10(numeric)", "The base-10 logarithm, as a DOUBLE."),
    f("LOG2", Scalar, "LOG2(numeric)", "The base-2 logarithm, as a DOUBLE."),
    f("LOG", Scalar, "LOG([base, ]numeric)", "The natural logarithm, or the logarithm to the given base, as a DOUBLE."),
    f("CEIL", Scalar, "CEIL(numeric)", "The smallest integral value not below the number."),
    f("FLOOR", Scalar, "FLOOR(numeric)", "The largest integral value not above the number."),
    f("SIGN", Scalar, "SIGN(numeric)", "-1, 0 or 1 according to the sign of the number."),
    nd("RAND", Scalar, "RAND([seed])", "A pseudo-random DOUBLE in [0, 1), optionally from a seed."),
    nd("RAND_INTEGER", Scalar, "RAND_INTEGER([seed, ]bound)", "A pseudo-random INT in [0, bound), optionally from a seed."),
    f("PI", Scalar, "PI()", "The constant pi."),
    nd("UUID", Scalar, "UUID()", "A random (version 4) UUID as a 36-character string."),
    // Strings.
    f("CHAR_LENGTH", Scalar, "CHAR_LENGTH(string)", "The number of characters in a string."),
    f("CHARACTER_LENGTH", Scalar, "CHARACTER_LENGTH(string)", "The number of characters in a string."),
    f("UPPER", Scalar, "UPPER(string)", "The string in upper case."),
    f("LOWER", Scalar, "LOWER(string)", "The string in lower case."),
    f("INITCAP", Scalar, "INITCAP(string)", "The string with each word's first letter upper case and the rest lower case."),
    f("TRIM", Scalar, "TRIM(string)", "The string without leading and trailing spaces."),
    f("LTRIM", Scalar, "LTRIM(string)", "The string without leading spaces."),
    f("RTRIM", Scalar, "RTRIM(string)", "The string without trailing spaces."),
    f("REVERSE", Scalar, "REVERSE(string)", "The string with its characters in reverse order."),
    f("CONCAT", Scalar, "CONCAT(string1, string2, ...)", "Joins strings end to end; NULL if any of them is NULL."),
    f("CONCAT_WS", Scalar, "CONCAT_WS(separator, string1, string2, ...)", "Joins strings with a separator in between, skipping NULL strings."),
    f("SUBSTRING", Scalar, "SUBSTRING(string, start[, length])", "Part of a string from a 1-based start position, to the end or of the given length."),
    f("SUBSTR", Scalar, "SUBSTR(string, start[, length])", "Part of a string from a 1-based start position, to the end or of the given length."),
    f("REPLACE", Scalar, "REPLACE(string, search, replacement)", "The string with every occurrence of search replaced."),
    f("LPAD", Scalar, "LPAD(string, length, pad)", "The string padded on the left with pad (or cut) to the given length."),
    f("RPAD", Scalar, "RPAD(string, length, pad)", "The string padded on the right with pad (or cut) to the given length."),
    f("REPEAT", Scalar, "REPEAT(string, times)", "The string repeated the given number of times."),
    f("SPLIT_INDEX", Scalar, "SPLIT_INDEX(string, separator, index)", "The 0-based index-th piece of the string split at separator; NULL when out of range."),
    f("REGEXP", Scalar, "REGEXP(string, regex)", "Whether some part of the string matches the Java regular expression."),
    f("REGEXP_EXTRACT", Scalar, "REGEXP_EXTRACT(string, regex[, group])", "The text matched by a capture group of the regular expression (NULL when no match)."),
    f("REGEXP_REPLACE", Scalar, "REGEXP_REPLACE(string, regex, replacement)", "The string with every match of the regular expression replaced."),
    f("LEFT", Scalar, "LEFT(string, length)", "The first length characters of the string."),
    f("RIGHT", Scalar, "RIGHT(string, length)", "The last length characters of the string."),
    f("LOCATE", Scalar, "LOCATE(needle, string[, start])", "The 1-based position of needle in string at or after start, or 0 if absent."),
    f("INSTR", Scalar, "INSTR(string, needle)", "The 1-based position of the first needle in string, or 0 if absent."),
    f("MD5", Scalar, "MD5(string)", "The MD5 digest of the string as 32 hex digits."),
    f("SHA1", Scalar, "SHA1(string)", "The SHA-1 digest of the string as 40 hex digits."),
    f("SHA256", Scalar, "SHA256(string)", "The SHA-256 digest of the string as 64 hex digits."),
    f("TO_BASE64", Scalar, "TO_BASE64(string)", "The string encoded in base64."),
    f("FROM_BASE64", Scalar, "FROM_BASE64(string)", "The base64-encoded string decoded."),
    f("ASCII", Scalar, "ASCII(string)", "The numeric code of the string's first character."),
    f("CHR", Scalar, "CHR(integer)", "The character with the given code (modulo 256)."),
    f("STR_TO_MAP", Scalar, "STR_TO_MAP(string[, pair_delimiter, key_value_delimiter])", "Splits 'k1=v1,k2=v2' style text into a MAP<STRING, STRING>."),
    f("HASH_CODE", Scalar, "HASH_CODE(value)", "An INT hash of the value."),
    // Date and time.
    f("DATE_FORMAT", Scalar, "DATE_FORMAT(timestamp, format)", "Formats a timestamp (or timestamp string) with a Java date-time pattern."),
    f("TO_TIMESTAMP", Scalar, "TO_TIMESTAMP(string[, format])", "Parses a string (default format 'yyyy-MM-dd HH:mm:ss') into a TIMESTAMP(3)."),
    f("TO_TIMESTAMP_LTZ", Scalar, "TO_TIMESTAMP_LTZ(epoch[, precision])", "An epoch count of seconds (precision 0) or milliseconds (precision 3, the default) as a TIMESTAMP_LTZ(3)."),
    f("TO_DATE", Scalar, "TO_DATE(string[, format])", "Parses a string (default format 'yyyy-MM-dd') into a DATE."),
    nd("UNIX_TIMESTAMP", Scalar, "UNIX_TIMESTAMP([string[, format]])", "Seconds since the epoch: now, or of a parsed date-time string."),
    f("FROM_UNIXTIME", Scalar, "FROM_UNIXTIME(seconds[, format])", "Formats seconds since the epoch as a string in the session time zone."),
    nd("CURRENT_TIMESTAMP", Scalar, "CURRENT_TIMESTAMP", "The current instant as a TIMESTAMP_LTZ(3)."),
    nd("NOW", Scalar, "NOW()", "The current instant as a TIMESTAMP_LTZ(3)."),
    nd("LOCALTIMESTAMP", Scalar, "LOCALTIMESTAMP", "The current date and time in the session time zone as a TIMESTAMP(3)."),
    nd("CURRENT_DATE", Scalar, "CURRENT_DATE", "Today's date in the session time zone."),
    nd("CURRENT_TIME", Scalar, "CURRENT_TIME", "The current time of day in the session time zone."),
    nd("LOCALTIME", Scalar, "LOCALTIME", "The current time of day in the session time zone."),
    nd("CURRENT_ROW_TIMESTAMP", Scalar, "CURRENT_ROW_TIMESTAMP()", "The current instant, evaluated for every row, as a TIMESTAMP_LTZ(3)."),
    nd("PROCTIME", Scalar, "PROCTIME()", "A processing-time attribute: the wall-clock instant the row is processed."),
    f("YEAR", Scalar, "YEAR(date)", "The year of a date or timestamp."),
    f("QUARTER", Scalar, "QUARTER(date)", "The quarter (1 to 4) of a date or timestamp."),
    f("MONTH", Scalar, "MONTH(date)", "The month (1 to 12) of a date or timestamp."),
    f("WEEK", Scalar, "WEEK(date)", "The ISO week of the year (1 to 53) of a date or timestamp."),
    f("DAYOFYEAR", Scalar, "DAYOFYEAR(date)", "The day of the year (1 to 366) of a date or timestamp."),
    f("DAYOFMONTH", Scalar, "DAYOFMONTH(date)", "The day of the month (1 to 31) of a date or timestamp."),
    f("DAYOFWEEK", Scalar, "DAYOFWEEK(date)", "The day of the week (1 = Sunday to 7 = Saturday) of a date or timestamp."),
    f("HOUR", Scalar, "HOUR(timestamp)", "The hour (0 to 23) of a time or timestamp."),
    f("MINUTE", Scalar, "MINUTE(timestamp)", "The minute (0 to 59) of a time or timestamp."),
    f("SECOND", Scalar, "SECOND(timestamp)", "The second (0 to 59) of a time or timestamp."),
    f("CONVERT_TZ", Scalar, "CONVERT_TZ(string, from_tz, to_tz)", "Re-expresses a 'yyyy-MM-dd HH:mm:ss' string from one time zone in another."),
    // Conditional and miscellaneous.
    f("COALESCE", Scalar, "COALESCE(value1, value2, ...)", "The first argument that is not NULL."),
    f("IF", Scalar, "IF(condition, then, else)", "then when the condition is TRUE, otherwise else."),
    f("IFNULL", Scalar, "IFNULL(value, replacement)", "replacement when value is NULL, otherwise value."),
    f("NULLIF", Scalar, "NULLIF(value1, value2)", "NULL when the two values are equal, otherwise value1."),
    f("GREATEST", Scalar, "GREATEST(value1, value2, ...)", "The largest of the values; NULL if any is NULL."),
    f("LEAST", Scalar, "LEAST(value1, value2, ...)", "The smallest of the values; NULL if any is NULL."),
    f("IS_ALPHA", Scalar, "IS_ALPHA(string)", "Whether every character of the string is a letter (FALSE for NULL)."),
    f("IS_DIGIT", Scalar, "IS_DIGIT(string)", "Whether every character of the string is a digit (FALSE for NULL)."),
    f("IS_DECIMAL", Scalar, "IS_DECIMAL(string)", "Whether the string parses as a number (FALSE for NULL)."),
    f("CARDINALITY", Scalar, "CARDINALITY(collection)", "The number of elements of an array, map or multiset."),
    f("ELEMENT", Scalar, "ELEMENT(array)", "The only element of a one-element array or multiset; NULL when empty."),
    f("TYPEOF", Scalar, "TYPEOF(value[, force_serializable])", "The SQL type of the argument, as a string."),
    f("JSON_VALUE", Scalar, "JSON_VALUE(json, path)", "The scalar at a JSON path of a JSON string, as a string; NULL when missing."),
    f("JSON_QUERY", Scalar, "JSON_QUERY(json, path)", "The JSON value (object or array) at a JSON path of a JSON string, as JSON text."),
    f("JSON_EXISTS", Scalar, "JSON_EXISTS(json, path)", "Whether a JSON string has a value at a JSON path."),
    f("CURRENT_WATERMARK", Scalar, "CURRENT_WATERMARK(rowtime)", "The current watermark of the rowtime attribute's input; NULL before the first watermark."),
    // Aggregates.
    f("COUNT", Aggregate, "COUNT(*) | COUNT(value)", "The number of rows, or of rows where the value is not NULL."),
    f("SUM", Aggregate, "SUM(numeric)", "The sum of the non-NULL values."),
    f("AVG", Aggregate, "AVG(numeric)", "The mean of the non-NULL values (integer division for integer types)."),
    f("MIN", Aggregate, "MIN(value)", "The smallest non-NULL value."),
    f("MAX", Aggregate, "MAX(value)", "The largest non-NULL value."),
    f("STDDEV_POP", Aggregate, "STDDEV_POP(numeric)", "The population standard deviation of the values."),
    f("STDDEV_SAMP", Aggregate, "STDDEV_SAMP(numeric)", "The sample standard deviation of the values."),
    f("VAR_POP", Aggregate, "VAR_POP(numeric)", "The population variance of the values."),
    f("VAR_SAMP", Aggregate, "VAR_SAMP(numeric)", "The sample variance of the values."),
    f("COLLECT", Aggregate, "COLLECT(value)", "A multiset of the non-NULL values."),
    f("LISTAGG", Aggregate, "LISTAGG(string[, separator])", "The strings joined with a separator (',' by default)."),
    f("FIRST_VALUE", Aggregate, "FIRST_VALUE(value)", "The first value in arrival (or window) order."),
    f("LAST_VALUE", Aggregate, "LAST_VALUE(value)", "The last value in arrival (or window) order."),
    // Window (OVER) functions.
    f("ROW_NUMBER", Window, "ROW_NUMBER()", "The 1-based position of the row in its partition."),
    f("RANK", Window, "RANK()", "The rank of the row in its partition, with gaps after ties."),
    f("DENSE_RANK", Window, "DENSE_RANK()", "The rank of the row in its partition, without gaps after ties."),
    f("LAG", Window, "LAG(value[, offset[, default]])", "The value offset rows (1 by default) before the current one, or default."),
    f("LEAD", Window, "LEAD(value[, offset[, default]])", "The value offset rows (1 by default) after the current one, or default."),
    // Legacy group windows and their properties.
    f("TUMBLE", GroupWindow, "TUMBLE(time_attr, size)", "Groups rows into fixed-size, non-overlapping time windows."),
    f("HOP", GroupWindow, "HOP(time_attr, slide, size)", "Groups rows into fixed-size time windows starting every slide."),
    f("SESSION", GroupWindow, "SESSION(time_attr, gap)", "Groups rows into windows that close after a gap without rows."),
    f("TUMBLE_START", GroupWindowProperty, "TUMBLE_START(time_attr, size)", "The inclusive start of the tumbling window."),
    f("TUMBLE_END", GroupWindowProperty, "TUMBLE_END(time_attr, size)", "The exclusive end of the tumbling window."),
    f("TUMBLE_ROWTIME", GroupWindowProperty, "TUMBLE_ROWTIME(time_attr, size)", "The inclusive end of the tumbling window, as an event-time attribute."),
    f("TUMBLE_PROCTIME", GroupWindowProperty, "TUMBLE_PROCTIME(time_attr, size)", "A processing-time attribute for the tumbling window's result."),
    f("HOP_START", GroupWindowProperty, "HOP_START(time_attr, slide, size)", "The inclusive start of the hopping window."),
    f("HOP_END", GroupWindowProperty, "HOP_END(time_attr, slide, size)", "The exclusive end of the hopping window."),
    f("HOP_ROWTIME", GroupWindowProperty, "HOP_ROWTIME(time_attr, slide, size)", "The inclusive end of the hopping window, as an event-time attribute."),
    f("HOP_PROCTIME", GroupWindowProperty, "HOP_PROCTIME(time_attr, slide, size)", "A processing-time attribute for the hopping window's result."),
    f("SESSION_START", GroupWindowProperty, "SESSION_START(time_attr, gap)", "The inclusive start of the session window."),
    f("SESSION_END", GroupWindowProperty, "SESSION_END(time_attr, gap)", "The exclusive end of the session window."),
    f("SESSION_ROWTIME", GroupWindowProperty, "SESSION_ROWTIME(time_attr, gap)", "The inclusive end of the session window, as an event-time attribute."),
    f("SESSION_PROCTIME", GroupWindowProperty, "SESSION_PROCTIME(time_attr, gap)", "A processing-time attribute for the session window's result."),
];

/// Looks a function up by name, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static FunctionInfo> {
    FUNCTIONS.iter().find(|info| info.name.eq_ignore_ascii_case(name))
}

/// Every known function name (for "did you mean").
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|info| info.name)
}

/// What an argument position accepts. A bare NULL fits every one.
#[derive(Debug, Clone, Copy)]
enum P {
    Any,
    Str,
    Num,
    /// An exact numeric: integer or DECIMAL.
    Exact,
    Int,
    Bool,
    /// TIMESTAMP or TIMESTAMP_LTZ.
    Ts,
    DateOrTs,
    TimeOrTs,
    StrOrTs,
    /// A day-time interval (group window sizes).
    Interval,
    Collection,
    /// Anything but ROW, ARRAY, MAP and MULTISET.
    Comparable,
}

impl P {
    fn accepts(self, t: &Type) -> bool {
        use TypeKind as K;
        let nested = matches!(t.kind, K::Row(_) | K::Array(_) | K::Map(..) | K::Multiset(_));
        t.is_null()
            || match self {
                P::Any => true,
                P::Str => t.is_string(),
                P::Num => t.is_numeric(),
                P::Exact => t.is_integer() || matches!(t.kind, K::Decimal { .. }),
                P::Int => t.is_integer(),
                P::Bool => t.is_boolean(),
                P::Ts => t.is_timestamp(),
                P::DateOrTs => t.is_timestamp() || t.kind == K::Date,
                P::TimeOrTs => t.is_timestamp() || matches!(t.kind, K::Time(_)),
                P::StrOrTs => t.is_string() || t.is_timestamp(),
                P::Interval => t.kind == K::IntervalDayTime,
                P::Collection => matches!(t.kind, K::Array(_) | K::Map(..) | K::Multiset(_)),
                P::Comparable => !nested,
            }
    }

    fn expected(self) -> &'static str {
        match self {
            P::Any => "any type",
            P::Str => "a string",
            P::Num => "a numeric type",
            P::Exact => "an integer or DECIMAL",
            P::Int => "an integer",
            P::Bool => "a boolean",
            P::Ts => "a timestamp",
            P::DateOrTs => "a date or timestamp",
            P::TimeOrTs => "a time or timestamp",
            P::StrOrTs => "a timestamp or string",
            P::Interval => "a day-time interval",
            P::Collection => "an array, map or multiset",
            P::Comparable => "a comparable type",
        }
    }
}

fn count_text(min: usize, max: usize) -> String {
    match max {
        usize::MAX => format!("at least {min}"),
        _ if max == min => min.to_string(),
        _ if max == min + 1 => format!("{min} or {max}"),
        _ => format!("{min} to {max}"),
    }
}

fn type_error(index: usize, expected: impl Into<String>) -> ArgError {
    ArgError::Type { index, expected: expected.into() }
}

/// Checks `args` against `params`, of which the first `required` must be given.
fn check(args: &[Type], params: &[P], required: usize) -> Result<(), ArgError> {
    if args.len() < required || args.len() > params.len() {
        let expected = count_text(required, params.len());
        return Err(ArgError::Count { expected, found: args.len() });
    }
    match args.iter().zip(params).position(|(a, p)| !p.accepts(a)) {
        Some(i) => Err(type_error(i, params[i].expected())),
        None => Ok(()),
    }
}

/// Checks a variadic call: at least `min` arguments, each accepted by `param`.
fn check_all(args: &[Type], min: usize, param: P) -> Result<(), ArgError> {
    if args.len() < min {
        return Err(ArgError::Count { expected: count_text(min, usize::MAX), found: args.len() });
    }
    match args.iter().position(|a| !param.accepts(a)) {
        Some(i) => Err(type_error(i, param.expected())),
        None => Ok(()),
    }
}

/// The common type of all `args` (at least one), nullable if any is.
fn common(args: &[Type]) -> Result<Type, ArgError> {
    let mut acc = args[0].clone();
    for (i, arg) in args.iter().enumerate().skip(1) {
        acc = common_type(&acc, arg).ok_or_else(|| type_error(i, format!("a type compatible with {}", acc.kind)))?;
    }
    Ok(acc)
}

/// Digits before the decimal point an exact numeric needs.
fn integer_digits(kind: &TypeKind) -> u8 {
    match kind {
        TypeKind::TinyInt => 3,
        TypeKind::SmallInt => 5,
        TypeKind::Int => 10,
        TypeKind::Decimal { precision, scale } => precision - scale,
        _ => 19,
    }
}

/// The type of `name(args)`, given the argument types. `Type::kind == TypeKind::Null` is the type of a bare NULL literal and fits any argument.
///
/// `info` must be one of this catalog's entries (from [`lookup`]).
pub fn return_type(info: &FunctionInfo, args: &[Type]) -> Result<Type, ArgError> {
    use P::*;
    use TypeKind as K;
    let any_nullable = args.iter().any(|a| a.nullable);
    // The usual rule: nullable when any argument is.
    let of = |kind: K| Type { kind, nullable: any_nullable };
    let string = || of(K::Varchar(MAX_LENGTH));
    let same = || args[0].clone().with_nullable(any_nullable);
    let name = info.name;
    match name {
        // Arithmetic.
        "ABS" | "SIGN" => check(args, &[Num], 1).map(|_| same()),
        "ROUND" | "TRUNCATE" => check(args, &[Num, Int], 1).map(|_| same()),
        "CEIL" | "FLOOR" => {
            check(args, &[Num], 1)?;
            Ok(match args[0].kind {
                K::Decimal { precision, scale } if scale > 0 => {
                    of(K::Decimal { precision: (precision - scale + 1).min(38), scale: 0 })
                }
                _ => same(),
            })
        }
        "MOD" => {
            check(args, &[Exact, Exact], 2)?;
            let (a, b) = (&args[0].kind, &args[1].kind);
            let scale_of = |k: &K| match k {
                K::Decimal { scale, .. } => Some(*scale),
                _ => None,
            };
            Ok(match (scale_of(a), scale_of(b)) {
                // Integers keep the divisor's type (Calcite).
                (None, None) if *b == K::Null => of(a.clone()),
                (None, None) => of(b.clone()),
                (s1, s2) => {
                    let scale = s1.unwrap_or(0).max(s2.unwrap_or(0));
                    let digits = integer_digits(a).min(integer_digits(b));
                    of(K::Decimal { precision: (digits + scale).min(38), scale })
                }
            })
        }
        "POWER" => check(args, &[Num, Num], 2).map(|_| of(K::Double)),
        "LOG" => check(args, &[Num, Num], 1).map(|_| of(K::Double)),
        "SQRT" | "EXP" | "LN" | "LOG10" | "LOG2" => check(args, &[Num], 1).map(|_| of(K::Double)),
        "RAND" => check(args, &[Int], 0).map(|_| of(K::Double)),
        "RAND_INTEGER" => check(args, &[Int, Int], 1).map(|_| of(K::Int)),
        "PI" => check(args, &[], 0).map(|_| of(K::Double)),
        "UUID" => check(args, &[], 0).map(|_| string()),

        // Strings.
        "CHAR_LENGTH" | "CHARACTER_LENGTH" | "ASCII" => check(args, &[Str], 1).map(|_| of(K::Int)),
        "UPPER" | "LOWER" | "INITCAP" | "TRIM" | "LTRIM" | "RTRIM" | "REVERSE" | "MD5" | "SHA1" | "SHA256"
        | "TO_BASE64" | "FROM_BASE64" => check(args, &[Str], 1).map(|_| string()),
        "CONCAT" => check_all(args, 1, Str).map(|_| string()),
        "CONCAT_WS" => {
            check_all(args, 2, Str)?;
            // NULL strings are skipped; only a NULL separator makes the result NULL.
            Ok(string().with_nullable(args[0].nullable))
        }
        "SUBSTRING" | "SUBSTR" => check(args, &[Str, Int, Int], 2).map(|_| string()),
        "REPLACE" | "REGEXP_REPLACE" => check(args, &[Str, Str, Str], 3).map(|_| string()),
        "LPAD" | "RPAD" => check(args, &[Str, Int, Str], 3).map(|_| string()),
        "REPEAT" | "LEFT" | "RIGHT" => check(args, &[Str, Int], 2).map(|_| string()),
        "SPLIT_INDEX" => check(args, &[Str, Str, Int], 3).map(|_| Type::string()),
        "REGEXP" => check(args, &[Str, Str], 2).map(|_| of(K::Boolean)),
        "REGEXP_EXTRACT" => check(args, &[Str, Str, Int], 2).map(|_| Type::string()),
        "LOCATE" => check(args, &[Str, Str, Int], 2).map(|_| of(K::Int)),
        "INSTR" => check(args, &[Str, Str], 2).map(|_| of(K::Int)),
        "CHR" => check(args, &[Int], 1).map(|_| string()),
        "STR_TO_MAP" => {
            check(args, &[Str, Str, Str], 1)?;
            if args.len() == 2 {
                return Err(ArgError::Count { expected: "1 or 3".into(), found: 2 });
            }
            Ok(of(K::Map(Box::new(Type::string()), Box::new(Type::string()))))
        }
        "HASH_CODE" => check(args, &[Any], 1).map(|_| of(K::Int)),

        // Date and time.
        "DATE_FORMAT" => check(args, &[StrOrTs, Str], 2).map(|_| string()),
        "TO_TIMESTAMP" => check(args, &[Str, Str], 1).map(|_| of(K::Timestamp(3))),
        "TO_TIMESTAMP_LTZ" => {
            // (epoch[, precision]) or, since Flink 2.0, (string[, format[, time_zone]]).
            if args.first().is_some_and(|a| a.is_string()) {
                check(args, &[Str, Str, Str], 1)?;
            } else {
                check(args, &[Num, Int], 1)?;
            }
            Ok(of(K::TimestampLtz(3)))
        }
        "TO_DATE" => check(args, &[Str, Str], 1).map(|_| of(K::Date)),
        "UNIX_TIMESTAMP" => check(args, &[Str, Str], 0).map(|_| of(K::BigInt)),
        "FROM_UNIXTIME" => check(args, &[Num, Str], 1).map(|_| string()),
        "CURRENT_TIMESTAMP" | "NOW" | "CURRENT_ROW_TIMESTAMP" | "PROCTIME" => {
            check(args, &[], 0).map(|_| Type::not_null(K::TimestampLtz(3)))
        }
        "LOCALTIMESTAMP" => check(args, &[], 0).map(|_| Type::not_null(K::Timestamp(3))),
        "CURRENT_DATE" => check(args, &[], 0).map(|_| Type::not_null(K::Date)),
        "CURRENT_TIME" | "LOCALTIME" => check(args, &[], 0).map(|_| Type::not_null(K::Time(0))),
        "YEAR" | "QUARTER" | "MONTH" | "WEEK" | "DAYOFYEAR" | "DAYOFMONTH" | "DAYOFWEEK" => {
            check(args, &[DateOrTs], 1).map(|_| of(K::BigInt))
        }
        "HOUR" | "MINUTE" | "SECOND" => check(args, &[TimeOrTs], 1).map(|_| of(K::BigInt)),
        "CONVERT_TZ" => check(args, &[Str, Str, Str], 3).map(|_| string()),

        // Conditional and miscellaneous.
        "COALESCE" => {
            check_all(args, 1, Any)?;
            Ok(common(args)?.with_nullable(args.iter().all(|a| a.nullable)))
        }
        "GREATEST" | "LEAST" => {
            check_all(args, 1, Comparable)?;
            Ok(common(args)?.with_nullable(any_nullable))
        }
        "IF" => {
            check(args, &[Bool, Any, Any], 3)?;
            let ty =
                common(&args[1..]).map_err(|_| type_error(2, format!("a type compatible with {}", args[1].kind)))?;
            Ok(ty.with_nullable(args[1].nullable || args[2].nullable))
        }
        "IFNULL" => {
            check(args, &[Any, Any], 2)?;
            // Only as nullable as the replacement.
            Ok(common(args)?.with_nullable(args[1].nullable))
        }
        "NULLIF" => {
            check(args, &[Any, Any], 2)?;
            let ty = common(args)?;
            Ok(if args[0].is_null() { ty } else { args[0].clone() }.with_nullable(true))
        }
        "IS_ALPHA" | "IS_DIGIT" | "IS_DECIMAL" => check(args, &[Str], 1).map(|_| Type::not_null(K::Boolean)),
        "CARDINALITY" => check(args, &[Collection], 1).map(|_| of(K::Int)),
        "ELEMENT" => {
            check(args, &[Collection], 1)?;
            match &args[0].kind {
                K::Array(elem) | K::Multiset(elem) => Ok(elem.as_ref().clone().with_nullable(true)),
                K::Null => Ok(Type::null()),
                _ => Err(type_error(0, "an array or multiset")),
            }
        }
        "TYPEOF" => check(args, &[Any, Bool], 1).map(|_| Type::not_null(K::Varchar(MAX_LENGTH))),
        "JSON_VALUE" | "JSON_QUERY" => check(args, &[Str, Str], 2).map(|_| Type::new(K::Varchar(MAX_LENGTH))),
        "JSON_EXISTS" => check(args, &[Str, Str], 2).map(|_| of(K::Boolean)),
        "CURRENT_WATERMARK" => check(args, &[Ts], 1).map(|_| Type::new(args[0].kind.clone())),

        // Aggregates.
        "COUNT" => check(args, &[Any], 0).map(|_| Type::not_null(K::BigInt)),
        "SUM" | "AVG" => {
            check(args, &[Num], 1)?;
            // Flink keeps the argument's type, except that DECIMAL widens to 38 digits
            // (and AVG keeps at least 6 fractional digits).
            Ok(match args[0].kind {
                K::Decimal { scale, .. } if name == "AVG" => {
                    Type::new(K::Decimal { precision: 38, scale: scale.max(6) })
                }
                K::Decimal { scale, .. } => Type::new(K::Decimal { precision: 38, scale }),
                _ => args[0].clone().with_nullable(true),
            })
        }
        "MIN" | "MAX" | "FIRST_VALUE" | "LAST_VALUE" => {
            check(args, &[Comparable], 1).map(|_| args[0].clone().with_nullable(true))
        }
        "STDDEV_POP" | "STDDEV_SAMP" | "VAR_POP" | "VAR_SAMP" => check(args, &[Num], 1).map(|_| Type::double()),
        "COLLECT" => check(args, &[Any], 1).map(|_| Type::not_null(K::Multiset(Box::new(args[0].clone())))),
        "LISTAGG" => check(args, &[Str, Str], 1).map(|_| Type::string()),

        // Window functions.
        "ROW_NUMBER" | "RANK" | "DENSE_RANK" => check(args, &[], 0).map(|_| Type::not_null(K::BigInt)),
        "LAG" | "LEAD" => {
            check(args, &[Any, Int, Any], 1)?;
            let ty = match args {
                [value, _, default] => common_type(value, default)
                    .ok_or_else(|| type_error(2, format!("a type compatible with {}", value.kind)))?,
                _ => args[0].clone(),
            };
            Ok(ty.with_nullable(true))
        }

        // Group windows and their properties.
        "TUMBLE" | "SESSION" => check(args, &[Ts, Interval], 2).map(|_| args[0].clone()),
        "HOP" => check(args, &[Ts, Interval, Interval], 3).map(|_| args[0].clone()),
        _ if info.kind == GroupWindowProperty => {
            let (window, property) = name.split_once('_').unwrap_or((name, ""));
            let params: &[P] = if window == "HOP" { &[Ts, Interval, Interval] } else { &[Ts, Interval] };
            check(args, params, params.len())?;
            Ok(Type::not_null(match property {
                "PROCTIME" => K::TimestampLtz(3),
                // The rowtime of the result keeps the kind of the input's time attribute.
                "ROWTIME" if matches!(args[0].kind, K::TimestampLtz(_)) => K::TimestampLtz(3),
                _ => K::Timestamp(3),
            }))
        }
        _ => unreachable!("function {name} is in the catalog but has no typing rule"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TypeKind as K;
    use std::collections::HashSet;

    fn call(name: &str, args: &[Type]) -> Result<Type, ArgError> {
        return_type(lookup(name).expect("known function"), args)
    }

    fn nn(kind: TypeKind) -> Type {
        Type::not_null(kind)
    }

    fn count(expected: &str, found: usize) -> Result<Type, ArgError> {
        Err(ArgError::Count { expected: expected.into(), found })
    }

    /// The index of the argument a failed call complains about.
    fn bad_arg(result: Result<Type, ArgError>) -> Option<usize> {
        match result {
            Err(ArgError::Type { index, .. }) => Some(index),
            _ => None,
        }
    }

    fn dec(precision: u8, scale: u8) -> TypeKind {
        K::Decimal { precision, scale }
    }

    #[test]
    fn names_are_unique_and_upper_case() {
        let mut seen = HashSet::new();
        for name in names() {
            assert_eq!(name, name.to_ascii_uppercase(), "{name} is not upper case");
            assert!(seen.insert(name), "{name} is listed twice");
        }
        assert!(seen.len() > 100);
    }

    #[test]
    fn every_function_has_a_typing_rule() {
        // Whatever the arguments, a call gives a type or an ArgError, never a panic.
        let junk = vec![nn(K::Row(vec![])); 5];
        for info in FUNCTIONS {
            for n in 0..=junk.len() {
                let _ = return_type(info, &junk[..n]);
            }
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup("split_index").map(|f| f.name), Some("SPLIT_INDEX"));
        assert_eq!(lookup("Tumble_Start").map(|f| f.kind), Some(GroupWindowProperty));
        assert!(lookup("count_char").is_none());
        assert!(lookup("TIMESTAMPADD").is_none());
        assert!(lookup("rand").unwrap().nondeterministic);
        assert!(!lookup("upper").unwrap().nondeterministic);
    }

    #[test]
    fn arithmetic() {
        assert_eq!(call("MOD", &[nn(K::Int), nn(K::BigInt)]), Ok(nn(K::BigInt)));
        assert_eq!(call("MOD", &[Type::bigint(), nn(K::Int)]), Ok(Type::int()));
        assert_eq!(call("MOD", &[nn(dec(10, 2)), nn(K::Int)]), Ok(nn(dec(10, 2))));
        assert_eq!(bad_arg(call("MOD", &[Type::double(), Type::int()])), Some(0));
        assert_eq!(call("ABS", &[nn(K::SmallInt)]), Ok(nn(K::SmallInt)));
        assert_eq!(call("ROUND", &[Type::double(), nn(K::Int)]), Ok(Type::double()));
        assert_eq!(call("CEIL", &[nn(dec(10, 2))]), Ok(nn(dec(9, 0))));
        assert_eq!(call("POWER", &[nn(K::Int), nn(K::Int)]), Ok(nn(K::Double)));
        assert_eq!(call("RAND", &[]), Ok(nn(K::Double)));
        assert_eq!(call("RAND_INTEGER", &[nn(K::Int), nn(K::Int)]), Ok(nn(K::Int)));
        assert_eq!(call("RAND_INTEGER", &[]), count("1 or 2", 0));
    }

    #[test]
    fn strings() {
        let s = nn(K::Varchar(10));
        let string = nn(K::Varchar(MAX_LENGTH));
        assert_eq!(call("SPLIT_INDEX", &[s.clone(), s.clone()]), count("3", 2));
        assert_eq!(call("SPLIT_INDEX", &[s.clone(), s.clone(), nn(K::Int)]), Ok(Type::string()));
        assert_eq!(call("UPPER", &[nn(K::Int)]), Err(ArgError::Type { index: 0, expected: "a string".into() }));
        assert_eq!(call("UPPER", std::slice::from_ref(&s)), Ok(string.clone()));
        assert_eq!(call("CHAR_LENGTH", std::slice::from_ref(&s)), Ok(nn(K::Int)));
        assert_eq!(call("CONCAT", &[]), count("at least 1", 0));
        assert_eq!(bad_arg(call("CONCAT", &[s.clone(), nn(K::Int)])), Some(1));
        assert_eq!(call("CONCAT_WS", &[s.clone(), Type::string(), Type::null()]), Ok(string));
        assert_eq!(call("STR_TO_MAP", &[s.clone(), s.clone()]), count("1 or 3", 2));
        assert_eq!(call("REGEXP", &[s.clone(), s.clone()]), Ok(nn(K::Boolean)));
        assert_eq!(call("IS_DIGIT", &[Type::string()]), Ok(nn(K::Boolean)));
    }

    #[test]
    fn null_literals_fit_anywhere() {
        assert_eq!(call("UPPER", &[Type::null()]), Ok(Type::string()));
        assert_eq!(call("SUBSTRING", &[Type::string(), Type::null()]), Ok(Type::string()));
        assert_eq!(call("COALESCE", &[Type::null(), nn(K::Int)]), Ok(nn(K::Int)));
        assert_eq!(call("IF", &[Type::null(), nn(K::Int), Type::null()]), Ok(Type::int()));
    }

    #[test]
    fn time() {
        let ts = nn(K::Timestamp(3));
        assert_eq!(call("DATE_FORMAT", &[ts, Type::string()]), Ok(Type::string()));
        assert_eq!(call("HOUR", &[Type::timestamp(3)]), Ok(Type::bigint()));
        assert_eq!(call("YEAR", &[nn(K::Date)]), Ok(nn(K::BigInt)));
        assert_eq!(bad_arg(call("HOUR", &[nn(K::Date)])), Some(0));
        assert_eq!(call("UNIX_TIMESTAMP", &[]), Ok(nn(K::BigInt)));
        assert_eq!(call("UNIX_TIMESTAMP", &[Type::string()]), Ok(Type::bigint()));
        let epoch = [nn(K::BigInt), nn(K::Int)];
        assert_eq!(call("TO_TIMESTAMP_LTZ", &epoch), Ok(nn(K::TimestampLtz(3))));
        assert_eq!(call("now", &[]), Ok(nn(K::TimestampLtz(3))));
        assert_eq!(call("CURRENT_TIME", &[]), Ok(nn(K::Time(0))));
        assert_eq!(call("PROCTIME", &[nn(K::Int)]), count("0", 1));
    }

    #[test]
    fn conditionals() {
        assert_eq!(call("COALESCE", &[Type::int(), Type::bigint()]), Ok(Type::bigint()));
        assert_eq!(call("COALESCE", &[Type::int(), nn(K::BigInt)]), Ok(nn(K::BigInt)));
        assert_eq!(bad_arg(call("COALESCE", &[Type::int(), Type::string()])), Some(1));
        assert_eq!(call("IFNULL", &[Type::int(), nn(K::Int)]), Ok(nn(K::Int)));
        assert_eq!(call("NULLIF", &[nn(K::Int), nn(K::Int)]), Ok(Type::int()));
        let (b, i) = (nn(K::Boolean), nn(K::Int));
        assert_eq!(call("IF", &[b, i.clone(), nn(K::Double)]), Ok(nn(K::Double)));
        assert_eq!(bad_arg(call("IF", &[i.clone(), i.clone(), i.clone()])), Some(0));
        assert_eq!(call("GREATEST", &[i.clone(), Type::bigint()]), Ok(Type::bigint()));
        assert_eq!(call("ELEMENT", &[nn(K::Array(Box::new(i)))]), Ok(Type::int()));
        assert_eq!(call("TYPEOF", &[Type::null()]), Ok(nn(K::Varchar(MAX_LENGTH))));
    }

    #[test]
    fn aggregates_and_windows() {
        assert_eq!(call("COUNT", &[]), Ok(nn(K::BigInt)));
        assert_eq!(call("COUNT", &[Type::string()]), Ok(nn(K::BigInt)));
        assert_eq!(call("AVG", &[nn(K::BigInt)]), Ok(Type::bigint()));
        assert_eq!(call("SUM", &[nn(K::Int)]), Ok(Type::int()));
        assert_eq!(call("SUM", &[nn(dec(10, 2))]), Ok(Type::new(dec(38, 2))));
        assert_eq!(call("AVG", &[nn(dec(10, 2))]), Ok(Type::new(dec(38, 6))));
        assert_eq!(bad_arg(call("SUM", &[Type::string()])), Some(0));
        assert_eq!(call("MAX", &[nn(K::Varchar(5))]), Ok(Type::new(K::Varchar(5))));
        assert_eq!(call("STDDEV_POP", &[nn(K::Int)]), Ok(Type::double()));
        let multiset = nn(K::Multiset(Box::new(nn(K::Int))));
        assert_eq!(call("COLLECT", &[nn(K::Int)]), Ok(multiset));
        assert_eq!(call("LISTAGG", &[nn(K::Varchar(3))]), Ok(Type::string()));
        assert_eq!(call("ROW_NUMBER", &[]), Ok(nn(K::BigInt)));
        let lag = [nn(K::Int), nn(K::Int), nn(K::BigInt)];
        assert_eq!(call("LAG", &lag), Ok(Type::bigint()));
        assert_eq!(lookup("LEAD").map(|f| f.kind), Some(Window));
    }

    #[test]
    fn group_windows() {
        let (ts, ltz) = (nn(K::Timestamp(3)), nn(K::TimestampLtz(3)));
        let iv = nn(K::IntervalDayTime);
        assert_eq!(call("TUMBLE", &[ts.clone(), iv.clone()]), Ok(ts.clone()));
        assert_eq!(call("HOP", &[ltz.clone(), iv.clone(), iv.clone()]), Ok(ltz.clone()));
        assert_eq!(bad_arg(call("SESSION", &[nn(K::BigInt), iv.clone()])), Some(0));
        let year_month = nn(K::IntervalYearMonth);
        assert_eq!(bad_arg(call("TUMBLE", &[ts.clone(), year_month])), Some(1));
        assert_eq!(call("TUMBLE_END", &[ltz.clone(), iv.clone()]), Ok(ts.clone()));
        assert_eq!(call("TUMBLE_ROWTIME", &[ltz.clone(), iv.clone()]), Ok(ltz.clone()));
        assert_eq!(call("HOP_ROWTIME", &[ts.clone(), iv.clone(), iv.clone()]), Ok(ts.clone()));
        assert_eq!(call("SESSION_PROCTIME", &[ts.clone(), iv.clone()]), Ok(ltz));
        assert_eq!(call("HOP_START", &[ts, iv]), count("3", 2));
    }
}
