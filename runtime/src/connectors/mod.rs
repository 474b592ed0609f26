//! Sources and sinks, one folder or file per connector, behind two small traits:
//! [`Source`] pushes rows into the fused operators of its task, and
//! [`Sink`](crate::pipeline::Sink) takes batches of rows.

pub mod blackhole;
pub mod datagen;
pub mod filesystem;
pub mod format;
pub mod nexmark;
pub mod print;

use crate::error::Result;
use crate::pipeline::Context;

/// A table read as a stream of rows.
pub trait Source {
    /// The row type it produces.
    type Row;

    /// Pushes every row into `emit` until the input is exhausted (bounded sources) or
    /// the context asks to stop (checked at least every few thousand rows), then
    /// returns. An error from `emit` stops the source and is returned.
    fn run<F: FnMut(Self::Row) -> Result<()>>(self, cx: &Context, emit: F) -> Result<()>;
}
