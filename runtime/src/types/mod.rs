//! The Rust representations of SQL values that generated row structs use. Every column
//! is an `Option<T>` (NULL is `None`); `T` is one of the types here or a primitive:
//!
//! | SQL | Rust |
//! |---|---|
//! | BOOLEAN | `bool` |
//! | TINYINT, SMALLINT, INT, BIGINT | `i8`, `i16`, `i32`, `i64` |
//! | FLOAT, DOUBLE | `f32`, `f64` |
//! | DECIMAL(p, s) | [`Decimal`] |
//! | CHAR, VARCHAR, STRING | [`Str`] (immutable, O(1) clone) |
//! | BINARY, VARBINARY, BYTES | `Vec<u8>` |
//! | DATE | [`Date`] |
//! | TIME | [`Time`] |
//! | TIMESTAMP, TIMESTAMP_LTZ | [`Timestamp`] |
//! | INTERVAL | [`Interval`] |
//! | ROW<…> | a generated struct |
//! | ARRAY<T> | `Vec<Option<T>>` |
//! | MAP<K, V> | `Vec<(K, Option<V>)>` |

mod decimal;
pub mod time;

pub use decimal::Decimal;
pub use time::{Date, Interval, Time, Timestamp};

/// SQL strings: immutable, inline up to 23 bytes, shared (reference-counted) beyond, so
/// that cloning a value never copies its text.
pub type Str = smol_str::SmolStr;
