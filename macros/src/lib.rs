//! `dfl-macros`: the proc macro that embeds a query in Rust (`dfl::pipeline! { … }`).
//!
//! It arrives with the "queries inside Rust" issue; this crate is its place in the
//! workspace and exports nothing yet.
#![forbid(unsafe_code)]
