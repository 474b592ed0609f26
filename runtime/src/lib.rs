//! `dfl`: the runtime of dflc pipelines.
//!
//! Generated pipelines instantiate this crate's precompiled, generic operators with their
//! own concrete row types. The operators, connectors, state and checkpoints arrive with
//! the code-generation issue; until then this crate holds only the module that generated
//! code will reach the runtime through.
#![warn(missing_docs)]

/// Re-exports for generated code, which names everything as `::dfl::__private::…` so
/// that users need not import anything. Not a stable API.
#[doc(hidden)]
pub mod __private {}
