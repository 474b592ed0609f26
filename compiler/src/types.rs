//! SQL types as the compiler reasons about them: Flink's logical types, nullability,
//! implicit widening and the common type of several values.

use std::fmt;

/// A SQL type with its nullability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Type {
    pub kind: TypeKind,
    pub nullable: bool,
}

/// The longest length a VARCHAR / VARBINARY may have; `STRING` is `VARCHAR(MAX_LENGTH)`.
pub const MAX_LENGTH: u32 = i32::MAX as u32;

/// Flink's logical types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypeKind {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Char(u32),
    Varchar(u32),
    Binary(u32),
    Varbinary(u32),
    Date,
    Time(u8),
    Timestamp(u8),
    TimestampLtz(u8),
    /// `INTERVAL DAY TO SECOND` and its sub-ranges: a duration in milliseconds.
    IntervalDayTime,
    /// `INTERVAL YEAR TO MONTH` and its sub-ranges: a number of months.
    IntervalYearMonth,
    Row(Vec<Field>),
    Array(Box<Type>),
    Multiset(Box<Type>),
    Map(Box<Type>, Box<Type>),
    /// The type of an untyped `NULL` literal: fits anywhere.
    Null,
}

/// A named field of a ROW type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    pub name: String,
    pub ty: Type,
}

impl Type {
    pub fn new(kind: TypeKind) -> Self {
        Type { kind, nullable: true }
    }

    pub fn not_null(kind: TypeKind) -> Self {
        Type { kind, nullable: false }
    }

    pub fn with_nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }

    pub fn boolean() -> Self {
        Type::new(TypeKind::Boolean)
    }

    pub fn bigint() -> Self {
        Type::new(TypeKind::BigInt)
    }

    pub fn int() -> Self {
        Type::new(TypeKind::Int)
    }

    pub fn double() -> Self {
        Type::new(TypeKind::Double)
    }

    pub fn string() -> Self {
        Type::new(TypeKind::Varchar(MAX_LENGTH))
    }

    pub fn timestamp(precision: u8) -> Self {
        Type::new(TypeKind::Timestamp(precision))
    }

    pub fn null() -> Self {
        Type::new(TypeKind::Null)
    }

    pub fn is_null(&self) -> bool {
        self.kind == TypeKind::Null
    }

    pub fn is_numeric(&self) -> bool {
        self.kind.numeric_rank().is_some()
    }

    pub fn is_integer(&self) -> bool {
        matches!(self.kind, TypeKind::TinyInt | TypeKind::SmallInt | TypeKind::Int | TypeKind::BigInt)
    }

    pub fn is_string(&self) -> bool {
        matches!(self.kind, TypeKind::Char(_) | TypeKind::Varchar(_))
    }

    pub fn is_binary(&self) -> bool {
        matches!(self.kind, TypeKind::Binary(_) | TypeKind::Varbinary(_))
    }

    pub fn is_boolean(&self) -> bool {
        self.kind == TypeKind::Boolean
    }

    /// TIMESTAMP or TIMESTAMP_LTZ.
    pub fn is_timestamp(&self) -> bool {
        matches!(self.kind, TypeKind::Timestamp(_) | TypeKind::TimestampLtz(_))
    }

    /// A date, time or timestamp.
    pub fn is_datetime(&self) -> bool {
        self.is_timestamp() || matches!(self.kind, TypeKind::Date | TypeKind::Time(_))
    }

    pub fn is_interval(&self) -> bool {
        matches!(self.kind, TypeKind::IntervalDayTime | TypeKind::IntervalYearMonth)
    }

    /// Values of both types can be compared with `=`, `<`, … (after implicit widening).
    pub fn comparable_with(&self, other: &Type) -> bool {
        common_type(self, other).is_some()
    }

    /// Whether a value of `self` may be written where `target` is expected without an
    /// explicit CAST (INSERT, function arguments): Flink's implicit casts.
    pub fn implicitly_casts_to(&self, target: &Type) -> bool {
        use TypeKind::*;
        match (&self.kind, &target.kind) {
            (Null, _) => true,
            (a, b) if a == b => true,
            (a, b) if a.numeric_rank().is_some() && b.numeric_rank().is_some() => {
                a.numeric_rank() <= b.numeric_rank() || matches!(b, Decimal { .. } | Float | Double)
            }
            (Char(_) | Varchar(_), Char(_) | Varchar(_)) => true,
            (Binary(_) | Varbinary(_), Binary(_) | Varbinary(_)) => true,
            // Flink converts between TIMESTAMP and TIMESTAMP_LTZ implicitly (session time zone).
            (Timestamp(_) | TimestampLtz(_), Timestamp(_) | TimestampLtz(_)) | (Time(_), Time(_)) => true,
            (Date, Timestamp(_)) => true,
            (Row(a), Row(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.ty.implicitly_casts_to(&y.ty)),
            (Array(a), Array(b)) | (Multiset(a), Multiset(b)) => a.implicitly_casts_to(b),
            (Map(ak, av), Map(bk, bv)) => ak.implicitly_casts_to(bk) && av.implicitly_casts_to(bv),
            _ => false,
        }
    }

    /// Whether `CAST(self AS target)` is allowed at all.
    pub fn casts_to(&self, target: &Type) -> bool {
        use TypeKind::*;
        if self.implicitly_casts_to(target) {
            return true;
        }
        let (a, b) = (&self.kind, &target.kind);
        let textual = |k: &TypeKind| matches!(k, Char(_) | Varchar(_));
        match (a, b) {
            // Anything scalar to and from strings.
            // Anything can be cast to a string (Flink 1.15+); strings to scalar types.
            (_, y) if textual(y) => true,
            (x, y) if textual(x) => !matches!(y, Row(_) | Array(_) | Map(..) | Multiset(_)),
            (x, y) if x.numeric_rank().is_some() && y.numeric_rank().is_some() => true,
            (Boolean, y) | (y, Boolean) => y.numeric_rank().is_some(),
            (Timestamp(_) | TimestampLtz(_) | Date | Time(_), Timestamp(_) | TimestampLtz(_) | Date | Time(_)) => true,
            (x, Timestamp(_) | TimestampLtz(_)) | (Timestamp(_) | TimestampLtz(_), x) => {
                matches!(x, TinyInt | SmallInt | Int | BigInt | Decimal { .. } | Float | Double)
            }
            (IntervalDayTime | IntervalYearMonth, y) => y.numeric_rank().is_some(),
            (Row(x), Row(y)) => x.len() == y.len() && x.iter().zip(y).all(|(f, g)| f.ty.casts_to(&g.ty)),
            (Array(x), Array(y)) => x.casts_to(y),
            (Map(xk, xv), Map(yk, yv)) => xk.casts_to(yk) && xv.casts_to(yv),
            _ => false,
        }
    }
}

impl TypeKind {
    /// The order of implicit numeric widening: TINYINT < SMALLINT < INT < BIGINT <
    /// DECIMAL < FLOAT < DOUBLE.
    pub fn numeric_rank(&self) -> Option<u8> {
        Some(match self {
            TypeKind::TinyInt => 1,
            TypeKind::SmallInt => 2,
            TypeKind::Int => 3,
            TypeKind::BigInt => 4,
            TypeKind::Decimal { .. } => 5,
            TypeKind::Float => 6,
            TypeKind::Double => 7,
            _ => return None,
        })
    }

    /// Digits an integer type needs as a DECIMAL.
    fn integer_digits(&self) -> Option<u8> {
        Some(match self {
            TypeKind::TinyInt => 3,
            TypeKind::SmallInt => 5,
            TypeKind::Int => 10,
            TypeKind::BigInt => 19,
            _ => return None,
        })
    }
}

/// The type both `a` and `b` widen to (for `=`, CASE branches, UNION, COALESCE …), if any.
pub fn common_type(a: &Type, b: &Type) -> Option<Type> {
    use TypeKind::*;
    let nullable = a.nullable || b.nullable;
    let kind =
        match (&a.kind, &b.kind) {
            (Null, _) => return Some(b.clone().with_nullable(true)),
            (_, Null) => return Some(a.clone().with_nullable(true)),
            (x, y) if x == y => x.clone(),
            (Decimal { precision: p1, scale: s1 }, Decimal { precision: p2, scale: s2 }) => {
                let scale = (*s1).max(*s2);
                let int_digits = (p1 - s1).max(p2 - s2);
                Decimal { precision: (int_digits + scale).min(38), scale }
            }
            (Decimal { precision, scale }, i) | (i, Decimal { precision, scale }) if i.integer_digits().is_some() => {
                let digits = i.integer_digits().unwrap_or(19);
                let int_digits = (precision - scale).max(digits);
                Decimal { precision: (int_digits + scale).min(38), scale: *scale }
            }
            (x, y) if x.numeric_rank().is_some() && y.numeric_rank().is_some() => {
                if x.numeric_rank() >= y.numeric_rank() { x.clone() } else { y.clone() }
            }
            (Char(x) | Varchar(x), Char(y) | Varchar(y)) => Varchar((*x).max(*y)),
            (Binary(x) | Varbinary(x), Binary(y) | Varbinary(y)) => Varbinary((*x).max(*y)),
            (Timestamp(x), Timestamp(y)) => Timestamp((*x).max(*y)),
            (TimestampLtz(x), TimestampLtz(y)) => TimestampLtz((*x).max(*y)),
            (Time(x), Time(y)) => Time((*x).max(*y)),
            (Date, Timestamp(p)) | (Timestamp(p), Date) => Timestamp(*p),
            (Row(x), Row(y)) if x.len() == y.len() => Row(x
                .iter()
                .zip(y)
                .map(|(f, g)| common_type(&f.ty, &g.ty).map(|ty| Field { name: f.name.clone(), ty }))
                .collect::<Option<_>>()?),
            (Array(x), Array(y)) => Array(Box::new(common_type(x, y)?)),
            (Map(xk, xv), Map(yk, yv)) => Map(Box::new(common_type(xk, yk)?), Box::new(common_type(xv, yv)?)),
            _ => return None,
        };
    Some(Type { kind, nullable })
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.nullable && self.kind != TypeKind::Null {
            f.write_str(" NOT NULL")?;
        }
        Ok(())
    }
}

impl fmt::Display for TypeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TypeKind::*;
        match self {
            Boolean => f.write_str("BOOLEAN"),
            TinyInt => f.write_str("TINYINT"),
            SmallInt => f.write_str("SMALLINT"),
            Int => f.write_str("INT"),
            BigInt => f.write_str("BIGINT"),
            Float => f.write_str("FLOAT"),
            Double => f.write_str("DOUBLE"),
            Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            Char(n) => write!(f, "CHAR({n})"),
            Varchar(n) if *n == MAX_LENGTH => f.write_str("STRING"),
            Varchar(n) => write!(f, "VARCHAR({n})"),
            Binary(n) => write!(f, "BINARY({n})"),
            Varbinary(n) if *n == MAX_LENGTH => f.write_str("BYTES"),
            Varbinary(n) => write!(f, "VARBINARY({n})"),
            Date => f.write_str("DATE"),
            Time(p) => write!(f, "TIME({p})"),
            Timestamp(p) => write!(f, "TIMESTAMP({p})"),
            TimestampLtz(p) => write!(f, "TIMESTAMP_LTZ({p})"),
            IntervalDayTime => f.write_str("INTERVAL DAY TO SECOND"),
            IntervalYearMonth => f.write_str("INTERVAL YEAR TO MONTH"),
            Row(fields) => {
                f.write_str("ROW<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}` {}", field.name, field.ty)?;
                }
                f.write_str(">")
            }
            Array(t) => write!(f, "ARRAY<{t}>"),
            Multiset(t) => write!(f, "MULTISET<{t}>"),
            Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            Null => f.write_str("NULL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_widening() {
        let int = Type::int();
        let big = Type::bigint();
        assert_eq!(common_type(&int, &big), Some(Type::bigint()));
        assert!(int.implicitly_casts_to(&big));
        assert!(!big.implicitly_casts_to(&int));
        let dec = Type::new(TypeKind::Decimal { precision: 10, scale: 2 });
        assert_eq!(common_type(&dec, &big).map(|t| t.kind), Some(TypeKind::Decimal { precision: 21, scale: 2 }));
        assert_eq!(common_type(&dec, &Type::double()).map(|t| t.kind), Some(TypeKind::Double));
    }

    #[test]
    fn strings_and_nulls() {
        let s = Type::new(TypeKind::Varchar(10));
        let c = Type::not_null(TypeKind::Char(20));
        assert_eq!(common_type(&s, &c), Some(Type::new(TypeKind::Varchar(20))));
        assert_eq!(common_type(&Type::null(), &c), Some(c.clone().with_nullable(true)));
        assert!(common_type(&s, &Type::int()).is_none());
        assert!(!Type::bigint().implicitly_casts_to(&Type::string()));
        assert!(Type::bigint().casts_to(&Type::string()));
        assert_eq!(Type::string().to_string(), "STRING");
        assert_eq!(Type::not_null(TypeKind::BigInt).to_string(), "BIGINT NOT NULL");
    }
}
