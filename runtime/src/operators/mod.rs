//! Stateful operators that generated code instantiates with its own key and accumulator
//! types; one file per operator.

pub mod group_aggregate;
pub mod interval_join;
pub mod lookup_join;
pub mod over_aggregate;
pub mod regular_join;
pub mod session_aggregate;
pub mod temporal_join;
pub mod top_n;
pub mod upsert_normalize;
pub mod window_aggregate;
pub mod window_join;
