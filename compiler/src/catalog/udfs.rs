//! Java UDF classes that dflc ships native ports of, so that queries naming them (the
//! Nexmark suite's `count_char`, for one) compile unchanged.

use crate::types::{Type, TypeKind};

/// A ported function: the class it stands for, its argument and result types.
#[derive(Debug)]
pub struct KnownUdf {
    pub class: &'static str,
    /// The runtime function that implements it.
    pub runtime_path: &'static str,
    pub args: fn() -> Vec<Type>,
    pub result: fn() -> Type,
    pub doc: &'static str,
}

static KNOWN: &[KnownUdf] = &[KnownUdf {
    class: "com.github.nexmark.flink.udf.CountChar",
    runtime_path: "dfl::udfs::count_char",
    args: || vec![Type::string(), Type::string()],
    result: || Type::not_null(TypeKind::BigInt),
    doc: "count_char(s, c): how many times the first character of c occurs in s (Nexmark q14)",
}];

/// The port of a Java class, if dflc has one.
pub fn known_class(class: &str) -> Option<&'static KnownUdf> {
    KNOWN.iter().find(|u| u.class == class)
}
