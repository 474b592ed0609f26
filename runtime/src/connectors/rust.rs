//! The `rust` connector: tables whose rows come from, or go to, the Rust program that
//! embeds the pipeline (`dfl::pipeline!`). Before it runs the pipeline, the program hands
//! over a channel per table, by the table's name: [`feed`] a `Receiver` of the table's row
//! struct (the generated `T_<table>`) for a source — the pipeline reads until every
//! sender is dropped — and [`collect`] a `Sender` of [`Change`]s of the written row struct
//! (`W_<table>`) for a sink: every row with its kind (an append-only result only inserts).
//!
//! ```
//! use dfl::changelog::{Change, RowKind};
//! use dfl::connectors::rust;
//! let (rows, rx) = std::sync::mpsc::sync_channel::<u32>(16);
//! rust::feed("numbers", rx);
//! let (tx, changes) = std::sync::mpsc::channel::<Change<u32>>();
//! rust::collect("out", tx);
//! // … run the pipeline (on a thread of its own), send rows, drop `rows`, read `changes`.
//! # drop((rows, changes));
//! ```
//!
//! A `rust` source cannot be restored from a checkpoint (its rows are gone once read): a
//! pipeline with checkpoints takes them, but a restart from one fails naming the table.

use crate::changelog::Change;
use crate::checkpoint::Barriers;
use crate::connectors::{Source, SourceEvent};
use crate::error::{Error, Result};
use crate::pipeline::{Context, Sink};
use std::any::Any;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The channels handed over, by table name, until the pipeline takes them.
fn channels() -> &'static Mutex<HashMap<String, Box<dyn Any + Send>>> {
    static CHANNELS: OnceLock<Mutex<HashMap<String, Box<dyn Any + Send>>>> = OnceLock::new();
    CHANNELS.get_or_init(Mutex::default)
}

/// Hands the rows of `rust` source table `table` to the next pipeline that reads it.
pub fn feed<R: Send + 'static>(table: &str, rows: Receiver<R>) {
    let mut channels = channels().lock().unwrap_or_else(|e| e.into_inner());
    channels.insert(format!("source:{table}"), Box::new(rows));
}

/// Hands the next pipeline writing `rust` sink table `table` the sender of its changes.
pub fn collect<R: Send + 'static>(table: &str, changes: Sender<Change<R>>) {
    let mut channels = channels().lock().unwrap_or_else(|e| e.into_inner());
    channels.insert(format!("sink:{table}"), Box::new(changes));
}

/// Takes the channel registered for `key`, of type `C`.
fn take<C: 'static>(key: &str, table: &str, how: &str) -> Result<C> {
    let mut channels = channels().lock().unwrap_or_else(|e| e.into_inner());
    let Some(channel) = channels.remove(key) else {
        return Err(Error::Config(format!(
            "table `{table}` ('connector' = 'rust') has no channel: call dfl::connectors::rust::{how}(\"{table}\", …) before running the pipeline"
        )));
    };
    channel.downcast::<C>().map(|c| *c).map_err(|_| {
        Error::Config(format!(
            "the channel given for table `{table}` ('rust') does not carry {}",
            std::any::type_name::<C>()
        ))
    })
}

/// The source of a `rust` table: the rows [`feed`] handed over.
pub fn source<R: Send + 'static>(table: &str) -> Result<ChannelSource<R>> {
    Ok(ChannelSource {
        table: table.to_string(),
        rows: take::<Receiver<R>>(&format!("source:{table}"), table, "feed")?,
    })
}

/// The sink of a `rust` table: its changes into the sender [`collect`] handed over.
pub fn sink<R: Send + 'static>(table: &str) -> Result<ChannelSink<R>> {
    let changes = take::<Sender<Change<R>>>(&format!("sink:{table}"), table, "collect")?;
    Ok(ChannelSink { table: table.to_string(), changes })
}

/// Rows from the program, one split; see [`source`].
pub struct ChannelSource<R> {
    table: String,
    rows: Receiver<R>,
}

/// Rows between readings of the pipeline's stop flag.
const STOP_CHECK_EVERY: u32 = 1024;

/// How long the source waits for a row before it reports itself idle.
const IDLE_AFTER: Duration = Duration::from_millis(100);

impl<R: Send + 'static> Source for ChannelSource<R> {
    type Row = R;

    fn run_events<F: FnMut(SourceEvent<R>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let mut barriers = Barriers::new(cx);
        let mut read = 0u64;
        emit(SourceEvent::SplitStart(0))?;
        // The stop flag is read once per batch of rows, and whenever no row comes.
        let mut since_check = STOP_CHECK_EVERY;
        loop {
            since_check += 1;
            if since_check >= STOP_CHECK_EVERY {
                since_check = 0;
                if cx.stopped() {
                    cx.counters.rows_in.fetch_add(read, std::sync::atomic::Ordering::Relaxed);
                    if let Some(id) = barriers.at_stop() {
                        barriers.emit(id, &read, &mut emit)?;
                    }
                    return Ok(());
                }
            }
            match self.rows.recv_timeout(IDLE_AFTER) {
                Ok(row) => {
                    read += 1;
                    emit(SourceEvent::Row(0, row))?;
                    if let Some(id) = barriers.due() {
                        barriers.emit(id, &read, &mut emit)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    since_check = STOP_CHECK_EVERY;
                    emit(SourceEvent::Idle)?;
                    if let Some(id) = barriers.due_idle() {
                        barriers.emit(id, &read, &mut emit)?;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        cx.counters.rows_in.fetch_add(read, std::sync::atomic::Ordering::Relaxed);
        emit(SourceEvent::SplitEnd(0))
    }

    fn restore(&mut self, _position: &[u8]) -> Result<()> {
        Err(Error::State(format!(
            "table `{}` ('connector' = 'rust') cannot resume from a checkpoint: the rows it read are gone",
            self.table
        )))
    }
}

/// Changes to the program; see [`sink`].
pub struct ChannelSink<R> {
    table: String,
    changes: Sender<Change<R>>,
}

impl<R: Send> ChannelSink<R> {
    fn send(&self, change: Change<R>) -> Result<()> {
        self.changes
            .send(change)
            .map_err(|_| Error::Config(format!("the program stopped collecting the rows of table `{}`", self.table)))
    }
}

impl<R: Send> Sink<R> for ChannelSink<R> {
    fn write_batch(&mut self, rows: &mut Vec<R>) -> Result<()> {
        rows.drain(..).try_for_each(|row| self.send(Change::new(crate::changelog::RowKind::Insert, row)))
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn write_changes(&mut self, changes: &mut Vec<Change<R>>) -> Result<()> {
        changes.drain(..).try_for_each(|change| self.send(change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_sends_every_change_and_a_missing_channel_names_its_table() {
        let (tx, rx) = std::sync::mpsc::channel::<Change<i32>>();
        collect("t_sink_test", tx);
        let mut sink = sink::<i32>("t_sink_test").unwrap();
        sink.write_batch(&mut vec![1, 2]).unwrap();
        let mut changes = vec![Change::new(crate::changelog::RowKind::Delete, 1)];
        sink.write_changes(&mut changes).unwrap();
        let got: Vec<Change<i32>> = rx.try_iter().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].kind, crate::changelog::RowKind::Delete);
        let err = source::<i32>("t_never_fed").err().unwrap().to_string();
        assert!(err.contains("t_never_fed") && err.contains("rust::feed"), "{err}");
        // A channel of another row type is refused, naming the type expected.
        let (_tx, rx) = std::sync::mpsc::channel::<u8>();
        feed("t_wrong_type", rx);
        let err = source::<i32>("t_wrong_type").err().unwrap().to_string();
        assert!(err.contains("i32"), "{err}");
    }
}
