//! `dfl`: the runtime of dflc pipelines.
//!
//! Generated pipelines instantiate this crate's precompiled, generic operators with their
//! own concrete row types: the generated crate is thin glue (row structs, fused
//! expressions), the work happens here.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod agg;
pub mod changelog;
pub mod checkpoint;
pub mod connectors;
pub mod embedded;
pub mod error;
pub mod exchange;
pub mod fns;
pub mod logging;
pub mod metrics;
pub mod operators;
pub mod ops;
pub mod options;
pub mod pipeline;
pub mod stage;
pub mod state;
pub mod time;
pub mod types;
pub mod udfs;

pub use error::{Error, Result};

/// `pipeline!(name, "SQL")`: a query embedded in Rust, compiled with the crate into the
/// module `name` (feature `macros`; see the `dfl-macros` crate).
#[cfg(feature = "macros")]
pub use dfl_macros::pipeline;

/// Re-exports for generated code, which names everything as `::dfl::__private::…` so
/// that users need not import anything. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::changelog::{Change, RowKind};
    pub use crate::checkpoint::{self, Snapshot as _, SnapshotWriter, TaskCheckpoint};
    pub use crate::connectors::{self, Source};
    pub use crate::error::{Error, Result};
    pub use crate::exchange;
    pub use crate::fns;
    pub use crate::operators::group_aggregate::GroupAggregate;
    pub use crate::operators::interval_join::{IntervalBounds, IntervalJoin};
    pub use crate::operators::lookup_join::LookupTable;
    pub use crate::operators::over_aggregate::{OverAggregate, OverFrame};
    pub use crate::operators::regular_join::{JoinInput, RegularJoin};
    pub use crate::operators::session_aggregate::SessionAggregate;
    pub use crate::operators::temporal_join::TemporalJoin;
    pub use crate::operators::top_n::TopN;
    pub use crate::operators::upsert_normalize::UpsertNormalize;
    pub use crate::operators::window_aggregate::{WindowAggregate, Windows};
    pub use crate::operators::window_join::{JoinKind, WindowJoin};
    pub use crate::ops;
    pub use crate::options::TableOptions;
    pub use crate::pipeline::{self, Context, PipelineSpec, SharedSink, Task};
    pub use crate::stage;
    pub use crate::types::{Date, Decimal, Interval, Str, Time, Timestamp};
    pub use crate::udfs;
    pub use crate::{agg, state, time};
    pub use serde;
}
