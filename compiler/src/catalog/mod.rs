//! What the compiler knows before reading a query: connectors and their options,
//! built-in functions, and pipeline settings.

pub mod connectors;
