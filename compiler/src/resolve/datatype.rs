//! Type names as written (`VARCHAR(10)`, `TIMESTAMP(3) WITH LOCAL TIME ZONE`, `ROW<…>`)
//! → [`Type`]s, with errors for unknown names and bad parameters.

use super::Resolver;
use crate::ast::{DataType, DataTypeKind, TimeUnit, TimeZoneSpec};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::types::{Field, MAX_LENGTH, Type, TypeKind};

const TYPE_NAMES: &[&str] = &[
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INT",
    "INTEGER",
    "BIGINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "DECIMAL",
    "DEC",
    "NUMERIC",
    "CHAR",
    "CHARACTER",
    "VARCHAR",
    "STRING",
    "BINARY",
    "VARBINARY",
    "BYTES",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_LTZ",
    "INTERVAL",
    "ROW",
    "ARRAY",
    "MAP",
    "MULTISET",
];

/// Resolves a written type; `None` after reporting if it is not valid.
pub fn resolve_type(r: &mut Resolver, t: &DataType, nullable: bool) -> Option<Type> {
    let kind = match &t.kind {
        DataTypeKind::Named { name, suffix, params, time_zone } => {
            named(r, t, name, suffix.as_deref(), params, *time_zone)?
        }
        DataTypeKind::Row(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for f in fields {
                if out.iter().any(|o: &Field| o.name == f.name.name) {
                    r.report(
                        Diagnostic::error(
                            Code::DuplicateColumn,
                            format!("field `{}` appears twice in this ROW", f.name.name),
                        )
                        .at(f.name.span, "duplicate field"),
                    );
                    return None;
                }
                out.push(Field { name: f.name.name.clone(), ty: resolve_type(r, &f.ty, !f.not_null)? });
            }
            TypeKind::Row(out)
        }
        DataTypeKind::Array { element, not_null } => TypeKind::Array(Box::new(resolve_type(r, element, !not_null)?)),
        DataTypeKind::Multiset { element, not_null } => {
            TypeKind::Multiset(Box::new(resolve_type(r, element, !not_null)?))
        }
        DataTypeKind::Map { key, key_not_null, value, value_not_null } => TypeKind::Map(
            Box::new(resolve_type(r, key, !key_not_null)?),
            Box::new(resolve_type(r, value, !value_not_null)?),
        ),
        DataTypeKind::Interval { unit, .. } => interval_kind(*unit),
    };
    Some(Type { kind, nullable })
}

/// Day-time or year-month, by the leading unit.
pub fn interval_kind(unit: TimeUnit) -> TypeKind {
    match unit {
        TimeUnit::Year
        | TimeUnit::Month
        | TimeUnit::Quarter
        | TimeUnit::Decade
        | TimeUnit::Century
        | TimeUnit::Millennium => TypeKind::IntervalYearMonth,
        _ => TypeKind::IntervalDayTime,
    }
}

fn named(
    r: &mut Resolver,
    t: &DataType,
    name: &str,
    suffix: Option<&str>,
    params: &[u64],
    time_zone: Option<TimeZoneSpec>,
) -> Option<TypeKind> {
    let upper = name.to_ascii_uppercase();
    fn bad<T>(r: &mut Resolver, span: crate::span::Span, message: String, help: &str) -> Option<T> {
        r.report(Diagnostic::error(Code::UnknownType, message).at(span, "invalid type").with_help(help.to_string()));
        None
    }
    let arity = |r: &mut Resolver, max: usize| -> Option<()> {
        if params.len() > max {
            r.report(
                Diagnostic::error(
                    Code::UnknownType,
                    format!("{upper} takes at most {max} parameter(s), found {}", params.len()),
                )
                .at(t.span, "too many parameters"),
            );
            return None;
        }
        Some(())
    };
    let length = |r: &mut Resolver, default: u32| -> Option<u32> {
        arity(r, 1)?;
        match params.first() {
            None => Some(default),
            Some(&n) if n >= 1 && n <= u64::from(MAX_LENGTH) => Some(n as u32),
            Some(n) => bad(
                r,
                t.span,
                format!("{upper} length must be between 1 and {MAX_LENGTH}, found {n}"),
                "use STRING for text of any length",
            ),
        }
    };
    let precision = |r: &mut Resolver, default: u8| -> Option<u8> {
        arity(r, 1)?;
        match params.first() {
            None => Some(default),
            Some(&p) if p <= 9 => Some(p as u8),
            Some(p) => bad(
                r,
                t.span,
                format!("{upper} precision must be between 0 and 9, found {p}"),
                "3 means milliseconds, 6 microseconds, 9 nanoseconds",
            ),
        }
    };
    let kind = match (upper.as_str(), suffix) {
        ("BOOLEAN" | "BOOL" | "TINYINT" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" | "FLOAT" | "REAL", None)
        | ("DOUBLE", None | Some("PRECISION"))
            if !params.is_empty() =>
        {
            return bad(
                r,
                t.span,
                format!("{upper} takes no parameters"),
                "integer and floating-point types have a fixed size; use DECIMAL(p, s) for a chosen precision",
            );
        }
        ("BOOLEAN" | "BOOL", None) => TypeKind::Boolean,
        ("TINYINT", None) => TypeKind::TinyInt,
        ("SMALLINT", None) => TypeKind::SmallInt,
        ("INT" | "INTEGER", None) => TypeKind::Int,
        ("BIGINT", None) => TypeKind::BigInt,
        ("FLOAT" | "REAL", None) => TypeKind::Float,
        ("DOUBLE", None | Some("PRECISION")) => TypeKind::Double,
        ("DECIMAL" | "DEC" | "NUMERIC", None) => {
            arity(r, 2)?;
            let p = params.first().copied().unwrap_or(10);
            let s = params.get(1).copied().unwrap_or(0);
            if !(1..=38).contains(&p) {
                return bad(
                    r,
                    t.span,
                    format!("DECIMAL precision must be between 1 and 38, found {p}"),
                    "DECIMAL(p, s): p digits in all, s after the point",
                );
            }
            if s > p {
                return bad(
                    r,
                    t.span,
                    format!("DECIMAL scale {s} is larger than its precision {p}"),
                    "DECIMAL(p, s) needs s <= p",
                );
            }
            TypeKind::Decimal { precision: p as u8, scale: s as u8 }
        }
        ("CHAR" | "CHARACTER", None) => TypeKind::Char(length(r, 1)?),
        ("VARCHAR", None) | ("CHARACTER" | "CHAR", Some("VARYING")) => TypeKind::Varchar(length(r, MAX_LENGTH)?),
        ("STRING", None) => {
            arity(r, 0)?;
            TypeKind::Varchar(MAX_LENGTH)
        }
        ("BINARY", None) => TypeKind::Binary(length(r, 1)?),
        ("VARBINARY", None) | ("BINARY", Some("VARYING")) => TypeKind::Varbinary(length(r, MAX_LENGTH)?),
        ("BYTES", None) => {
            arity(r, 0)?;
            TypeKind::Varbinary(MAX_LENGTH)
        }
        ("DATE", None) => {
            arity(r, 0)?;
            TypeKind::Date
        }
        ("TIME", None) => TypeKind::Time(precision(r, 0)?),
        ("TIMESTAMP", None) => match time_zone {
            Some(TimeZoneSpec::WithLocal) => TypeKind::TimestampLtz(precision(r, 6)?),
            _ => TypeKind::Timestamp(precision(r, 6)?),
        },
        ("TIMESTAMP_LTZ", None) => TypeKind::TimestampLtz(precision(r, 6)?),
        ("ARRAY" | "MAP" | "MULTISET" | "ROW", None) => {
            return bad(
                r,
                t.span,
                format!("{upper} needs its element types"),
                "write e.g. ARRAY<STRING>, MAP<STRING, INT>, ROW<a INT, b STRING>",
            );
        }
        _ => {
            let mut d = Diagnostic::error(
                Code::UnknownType,
                format!("unknown type `{name}{}`", suffix.map(|s| format!(" {s}")).unwrap_or_default()),
            )
            .at(t.span, "not a type");
            if let Some(s) = did_you_mean(&upper, TYPE_NAMES.iter().copied()) {
                d = d.with_help(format!("did you mean `{s}`?"));
            } else {
                d = d.with_help("types are BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p, s), CHAR(n), VARCHAR(n), STRING, BINARY(n), VARBINARY(n), BYTES, DATE, TIME(p), TIMESTAMP(p), TIMESTAMP_LTZ(p), INTERVAL …, ROW<…>, ARRAY<…>, MAP<…, …>, MULTISET<…>");
            }
            r.report(d);
            return None;
        }
    };
    let zone_ok = match time_zone {
        None => true,
        Some(TimeZoneSpec::Without) => matches!(upper.as_str(), "TIMESTAMP" | "TIME"),
        Some(TimeZoneSpec::WithLocal) => upper == "TIMESTAMP",
    };
    if !zone_ok {
        return bad(r, t.span, format!("{upper} cannot have a time zone"), "only TIMESTAMP takes WITH LOCAL TIME ZONE");
    }
    Some(kind)
}
