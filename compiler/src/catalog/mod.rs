//! What the compiler knows before reading a query: connectors and their options,
//! built-in functions, ported UDFs.

pub mod connectors;
pub mod functions;
pub mod rust_fns;
pub mod udfs;
