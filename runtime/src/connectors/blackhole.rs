//! The `blackhole` connector: a sink that discards every row (to measure a query without
//! the cost of writing). The driver still counts the rows written to it.

use crate::error::Result;
use crate::pipeline::Sink;

/// A sink that drops its rows; see [`sink`].
#[derive(Debug, Default, Clone, Copy)]
pub struct BlackholeSink;

/// The sink of a `blackhole` table.
pub fn sink<R>() -> impl Sink<R> {
    BlackholeSink
}

impl<R> Sink<R> for BlackholeSink {
    fn write_batch(&mut self, rows: &mut Vec<R>) -> Result<()> {
        rows.clear();
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn write_changes(&mut self, changes: &mut Vec<crate::changelog::Change<R>>) -> Result<()> {
        changes.clear();
        Ok(())
    }
}
