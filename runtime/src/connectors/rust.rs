//! The `rust` connector: tables whose rows come from, or go to, the Rust program that
//! embeds the pipeline (`dfl::pipeline!`). The program hands over a channel per table:
//! for a source, anything that is [`IntoRows`] of the table's row struct (the generated
//! `T_<table>`) — a std or tokio `Receiver`, a `Vec`, or any iterator wrapped in [`Rows`];
//! the pipeline reads until it ends (every sender dropped). For a sink, anything that is
//! [`IntoChanges`] of the written row struct (`W_<table>`) — a std or tokio `Sender` of
//! [`Change`]s: every row with its kind (an append-only result only inserts).
//!
//! The generated module's `pipeline()` takes them by table, typed
//! (`pipeline().feed_clicks(rx).collect_counts(tx)`, see [`crate::embedded`]); [`feed`] and
//! [`collect`] hand them, by name, to the next run started by the module's `main(args)`.
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
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The rows of a `rust` source table, as a channel the pipeline reads.
pub trait IntoRows<R>: Send + 'static {
    /// The receiving end the source reads (with a timeout, so that it notices idleness
    /// and stop requests).
    fn into_receiver(self) -> Receiver<R>;
}

/// Rows a forwarding thread holds for the source before it waits.
const FORWARD_BOUND: usize = 1024;

/// Moves every item of `items` into a bounded channel, on a thread of its own, until
/// they end or the pipeline stops reading.
fn forward<R: Send + 'static>(items: impl FnOnce(SyncSender<R>) + Send + 'static) -> Receiver<R> {
    let (tx, rx) = std::sync::mpsc::sync_channel(FORWARD_BOUND);
    std::thread::spawn(move || items(tx));
    rx
}

impl<R: Send + 'static> IntoRows<R> for Receiver<R> {
    fn into_receiver(self) -> Receiver<R> {
        self
    }
}

impl<R: Send + 'static> IntoRows<R> for Vec<R> {
    fn into_receiver(self) -> Receiver<R> {
        Rows(self).into_receiver()
    }
}

/// Any iterator's items as the rows of a source: `Rows(0..10).map(…)`, a file's lines…
/// (iterated on a thread of its own).
pub struct Rows<I>(pub I);

impl<R: Send + 'static, I: IntoIterator<Item = R> + Send + 'static> IntoRows<R> for Rows<I> {
    fn into_receiver(self) -> Receiver<R> {
        forward(move |tx| {
            for row in self.0 {
                if tx.send(row).is_err() {
                    break;
                }
            }
        })
    }
}

#[cfg(feature = "tokio")]
impl<R: Send + 'static> IntoRows<R> for tokio::sync::mpsc::Receiver<R> {
    fn into_receiver(mut self) -> Receiver<R> {
        forward(move |tx| {
            while let Some(row) = self.blocking_recv() {
                if tx.send(row).is_err() {
                    break;
                }
            }
        })
    }
}

#[cfg(feature = "tokio")]
impl<R: Send + 'static> IntoRows<R> for tokio::sync::mpsc::UnboundedReceiver<R> {
    fn into_receiver(mut self) -> Receiver<R> {
        forward(move |tx| {
            while let Some(row) = self.blocking_recv() {
                if tx.send(row).is_err() {
                    break;
                }
            }
        })
    }
}

/// Where the changes of a `rust` sink table go: a sending function that says whether the
/// program still receives.
pub struct ChangeSender<R>(Box<dyn FnMut(Change<R>) -> bool + Send>);

/// The changes of a `rust` sink table, as a channel the pipeline sends into.
pub trait IntoChanges<R>: Send + 'static {
    /// The sending end.
    fn into_sender(self) -> ChangeSender<R>;
}

impl<R: Send + 'static> IntoChanges<R> for ChangeSender<R> {
    fn into_sender(self) -> ChangeSender<R> {
        self
    }
}

impl<R: Send + 'static> IntoChanges<R> for Sender<Change<R>> {
    fn into_sender(self) -> ChangeSender<R> {
        ChangeSender(Box::new(move |c| self.send(c).is_ok()))
    }
}

impl<R: Send + 'static> IntoChanges<R> for SyncSender<Change<R>> {
    fn into_sender(self) -> ChangeSender<R> {
        ChangeSender(Box::new(move |c| self.send(c).is_ok()))
    }
}

/// A bounded tokio channel: the pipeline's thread waits while it is full (backpressure).
#[cfg(feature = "tokio")]
impl<R: Send + 'static> IntoChanges<R> for tokio::sync::mpsc::Sender<Change<R>> {
    fn into_sender(self) -> ChangeSender<R> {
        ChangeSender(Box::new(move |c| self.blocking_send(c).is_ok()))
    }
}

#[cfg(feature = "tokio")]
impl<R: Send + 'static> IntoChanges<R> for tokio::sync::mpsc::UnboundedSender<Change<R>> {
    fn into_sender(self) -> ChangeSender<R> {
        ChangeSender(Box::new(move |c| self.send(c).is_ok()))
    }
}

/// The channels handed over by name ([`feed`], [`collect`]), until a run takes them.
fn channels() -> &'static Mutex<HashMap<String, Box<dyn Any + Send>>> {
    static CHANNELS: OnceLock<Mutex<HashMap<String, Box<dyn Any + Send>>>> = OnceLock::new();
    CHANNELS.get_or_init(Mutex::default)
}

/// Hands the rows of `rust` source table `table` to the next run that reads it.
pub fn feed<R: Send + 'static>(table: &str, rows: impl IntoRows<R>) {
    let mut channels = channels().lock().unwrap_or_else(|e| e.into_inner());
    channels.insert(source_key(table), Box::new(rows.into_receiver()));
}

/// Hands the next run writing `rust` sink table `table` where its changes go.
pub fn collect<R: Send + 'static>(table: &str, changes: impl IntoChanges<R>) {
    let mut channels = channels().lock().unwrap_or_else(|e| e.into_inner());
    channels.insert(sink_key(table), Box::new(changes.into_sender()));
}

pub(crate) fn source_key(table: &str) -> String {
    format!("source:{table}")
}

pub(crate) fn sink_key(table: &str) -> String {
    format!("sink:{table}")
}

/// Takes the channel given for `key`, of type `C`: the run's own, else one handed over
/// by name.
fn take<C: 'static>(cx: &Context, key: &str, table: &str, how: &str) -> Result<C> {
    let given = cx.take_channel(key).or_else(|| channels().lock().unwrap_or_else(|e| e.into_inner()).remove(key));
    let Some(channel) = given else {
        return Err(Error::Config(format!(
            "table `{table}` ('connector' = 'rust') has no channel: give it with the module's pipeline().{how}_{table}(…) \
             (or dfl::connectors::rust::{how}(\"{table}\", …)) before running the pipeline"
        )));
    };
    channel.downcast::<C>().map(|c| *c).map_err(|_| {
        Error::Config(format!(
            "the channel given for table `{table}` ('rust') does not carry {}",
            std::any::type_name::<C>()
        ))
    })
}

/// The source of a `rust` table: the rows handed over for it.
pub fn source<R: Send + 'static>(cx: &Context, table: &str) -> Result<ChannelSource<R>> {
    Ok(ChannelSource { table: table.to_string(), rows: take::<Receiver<R>>(cx, &source_key(table), table, "feed")? })
}

/// The sink of a `rust` table: its changes into what was handed over for it.
pub fn sink<R: Send + 'static>(cx: &Context, table: &str) -> Result<ChannelSink<R>> {
    let changes = take::<ChangeSender<R>>(cx, &sink_key(table), table, "collect")?;
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
        let meter = cx.metrics().source(&self.table);
        // Rows read, and those not counted yet (counted once per batch, and when idle).
        let (mut read, mut uncounted) = (0u64, 0u64);
        let count = |uncounted: &mut u64| {
            cx.counters.rows_in.fetch_add(*uncounted, std::sync::atomic::Ordering::Relaxed);
            meter.add_records(std::mem::take(uncounted));
        };
        emit(SourceEvent::SplitStart(0))?;
        // The stop flag is read once per batch of rows, and whenever no row comes.
        let mut since_check = STOP_CHECK_EVERY;
        loop {
            since_check += 1;
            if since_check >= STOP_CHECK_EVERY {
                since_check = 0;
                count(&mut uncounted);
                if cx.stopped() {
                    if let Some(id) = barriers.at_stop() {
                        barriers.emit(id, &read, &mut emit)?;
                    }
                    return Ok(());
                }
            }
            match self.rows.recv_timeout(IDLE_AFTER) {
                Ok(row) => {
                    read += 1;
                    uncounted += 1;
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
        count(&mut uncounted);
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
    changes: ChangeSender<R>,
}

impl<R: Send> ChannelSink<R> {
    fn send(&mut self, change: Change<R>) -> Result<()> {
        if (self.changes.0)(change) {
            Ok(())
        } else {
            Err(Error::Config(format!("the program stopped collecting the rows of table `{}`", self.table)))
        }
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
        let cx = Context::new(Vec::new(), Default::default());
        collect("t_sink_test", tx);
        let mut sink = sink::<i32>(&cx, "t_sink_test").unwrap();
        sink.write_batch(&mut vec![1, 2]).unwrap();
        let mut changes = vec![Change::new(crate::changelog::RowKind::Delete, 1)];
        sink.write_changes(&mut changes).unwrap();
        let got: Vec<Change<i32>> = rx.try_iter().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].kind, crate::changelog::RowKind::Delete);
        let err = source::<i32>(&cx, "t_never_fed").err().unwrap().to_string();
        assert!(err.contains("t_never_fed") && err.contains("rust::feed"), "{err}");
        // A channel of another row type is refused, naming the type expected.
        let (_tx, rx) = std::sync::mpsc::channel::<u8>();
        feed("t_wrong_type", rx);
        let err = source::<i32>(&cx, "t_wrong_type").err().unwrap().to_string();
        assert!(err.contains("i32"), "{err}");
    }
}
