//! Pipelines run by the program that embeds them (`dfl::pipeline!`, or a module a build
//! script generated): the module's `pipeline()` returns its [`Pipeline`] wrapped in a
//! type of the module's own, with a typed method per `rust` table (`feed_<table>` taking
//! the table's row struct, `collect_<table>` its changes). The program sets options,
//! hands over channels, and runs it — on the calling thread ([`Pipeline::run`]) or on a
//! thread of its own ([`Pipeline::spawn`]), which a tokio program awaits
//! ([`Running::finished`], feature `tokio`) and can stop ([`Running::stop`]).
//!
//! Unlike the module's `main(args)`, a run started this way installs no signal handlers
//! (the program owns its signals) and prints nothing: it returns a [`Summary`] or the
//! error that failed it. What happens on the way (connector retries, checkpoints and
//! savepoints) is reported as `tracing` events to the program's own subscriber, if it has
//! one ([`crate::logging::init`] sets up the one pipeline binaries use).
//!
//! ```text
//! // In a tokio program, with `dfl::pipeline!(click_counts, "…")` in the crate:
//! let (rows, clicks) = tokio::sync::mpsc::channel(1024);
//! let (counts, mut changes) = tokio::sync::mpsc::unbounded_channel();
//! let running = click_counts::pipeline().feed_clicks(clicks).collect_counts(counts).spawn()?;
//! rows.send(click_counts::T_clicks { user_id: Some(1), category: None }).await?;
//! drop(rows);
//! while let Some(change) = changes.recv().await { /* apply it */ }
//! let summary = running.finished().await?;
//! ```

use crate::connectors::rust::{IntoChanges, IntoRows, sink_key, source_key};
use crate::error::{Error, Result};
use crate::pipeline::{Context, PipelineSpec, configure};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a finished run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Rows read by all sources.
    pub rows_read: u64,
    /// Rows written to all sinks.
    pub rows_written: u64,
    /// Records skipped as unreadable.
    pub skipped: u64,
    /// Rows dropped as late.
    pub late: u64,
    /// Whether it was stopped ([`Running::stop`]) rather than done.
    pub stopped: bool,
}

/// The generated function running a pipeline in a context.
type RunFn = fn(&Context) -> Result<()>;

/// A pipeline to run from a program: the generated code's spec and run function, the
/// options set and the channels of its `rust` tables.
pub struct Pipeline {
    spec: PipelineSpec,
    run: RunFn,
    args: Vec<String>,
    channels: Vec<(String, Box<dyn Any + Send>)>,
}

impl Pipeline {
    /// The pipeline of generated code (its module's `pipeline()` calls this).
    pub fn new(spec: PipelineSpec, run: RunFn) -> Self {
        Pipeline { spec, run, args: Vec::new(), channels: Vec::new() }
    }

    /// The pipeline's name.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// Sets a table option (`clicks.path`) or a pipeline setting
    /// (`state.checkpoints.dir`), as `--set key=value` does for the binary.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.args.push("--set".into());
        self.args.push(format!("{key}={value}"));
        self
    }

    /// Starts from this checkpoint or savepoint folder (`--from-savepoint`).
    pub fn from_savepoint(mut self, dir: &str) -> Self {
        self.args.push("--from-savepoint".into());
        self.args.push(dir.into());
        self
    }

    /// Hands `rust` source table `table` its rows (the module's `feed_<table>` calls it
    /// with the table's row type).
    pub fn feed<R: Send + 'static>(mut self, table: &str, rows: impl IntoRows<R>) -> Self {
        self.channels.push((source_key(table), Box::new(rows.into_receiver())));
        self
    }

    /// Hands `rust` sink table `table` where its changes go (the module's
    /// `collect_<table>`).
    pub fn collect<R: Send + 'static>(mut self, table: &str, changes: impl IntoChanges<R>) -> Self {
        self.channels.push((sink_key(table), Box::new(changes.into_sender())));
        self
    }

    /// The run's context: options parsed, checkpoints opened, channels given.
    fn context(self) -> Result<(Context, RunFn)> {
        let cx = configure(&self.spec, &self.args)?
            .ok_or_else(|| Error::Config(format!("pipeline `{}`: --help is not an option to set", self.spec.name)))?;
        for (key, channel) in self.channels {
            cx.give_channel(key, channel);
        }
        Ok((cx, self.run))
    }

    /// Runs the pipeline on this thread until its sources end (or a failure); sinks
    /// flushed, with checkpoints the last one taken.
    pub fn run(self) -> Result<Summary> {
        let (cx, run) = self.context()?;
        finish(&cx, run)
    }

    /// Starts the pipeline on a thread of its own. Options are checked (and checkpoints
    /// opened) before it returns.
    pub fn spawn(self) -> Result<Running> {
        let name = self.spec.name;
        let (cx, run) = self.context()?;
        let stop = cx.stop_flag();
        #[cfg(feature = "tokio")]
        let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("dfl-{name}"))
            .spawn(move || {
                let result = finish(&cx, run);
                #[cfg(feature = "tokio")]
                let _ = done_tx.send(());
                result
            })
            .map_err(|e| Error::Config(format!("pipeline `{name}`: cannot start its thread: {e}")))?;
        Ok(Running {
            name,
            stop,
            thread,
            #[cfg(feature = "tokio")]
            done,
        })
    }
}

fn finish(cx: &Context, run: RunFn) -> Result<Summary> {
    run(cx)?;
    let c = &cx.counters;
    Ok(Summary {
        rows_read: c.rows_in.load(Ordering::Relaxed),
        rows_written: c.rows_out.load(Ordering::Relaxed),
        skipped: c.skipped.load(Ordering::Relaxed),
        late: c.late.load(Ordering::Relaxed),
        stopped: cx.stopped(),
    })
}

/// A pipeline running on its own thread.
pub struct Running {
    name: &'static str,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Result<Summary>>,
    #[cfg(feature = "tokio")]
    done: tokio::sync::oneshot::Receiver<()>,
}

impl Running {
    /// Asks the pipeline to stop, as SIGTERM does the binary: sources stop reading,
    /// sinks are flushed and (with checkpoints) a last checkpoint is taken.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the run to end.
    pub fn join(self) -> Result<Summary> {
        let name = self.name;
        self.thread.join().unwrap_or_else(|_| Err(Error::Config(format!("pipeline `{name}` panicked"))))
    }

    /// Waits, without blocking the async runtime, for the run to end.
    #[cfg(feature = "tokio")]
    pub async fn finished(mut self) -> Result<Summary> {
        // The thread says when it is done (or drops the sender by panicking).
        let _ = (&mut self.done).await;
        self.join()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changelog::{Change, RowKind};
    use crate::connectors::Source;
    use crate::connectors::rust::{self, Rows};
    use crate::pipeline::Sink;

    static SPEC: PipelineSpec = PipelineSpec {
        name: "doubling",
        tables: &[("numbers", &[("connector", "rust")]), ("doubled", &[("connector", "rust")])],
        settings: &[],
    };

    /// What generated code would do: each number read, doubled, written; the table
    /// option `numbers.factor` (when set) multiplies instead.
    fn run(cx: &Context) -> Result<()> {
        let factor: i64 = cx.table("numbers")?.get("factor").map_or(Ok(2), str::parse).unwrap_or(0);
        let mut sink = rust::sink::<i64>(cx, "doubled")?;
        let mut out = Vec::new();
        rust::source::<i64>(cx, "numbers")?.run(cx, |n| {
            out.push(Change::new(RowKind::Insert, n * factor));
            cx.counters.rows_out.fetch_add(1, Ordering::Relaxed);
            sink.write_changes(&mut out)
        })
    }

    #[test]
    fn a_run_takes_its_own_channels_and_options_and_reports_counts() {
        let (tx, rx) = std::sync::mpsc::channel::<Change<i64>>();
        let summary = Pipeline::new(SPEC, run)
            .feed("numbers", vec![1i64, 2, 3])
            .collect("doubled", tx)
            .set("numbers.factor", "10")
            .run()
            .unwrap();
        let got: Vec<i64> = rx.try_iter().map(|c| c.row).collect();
        assert_eq!(got, [10, 20, 30]);
        assert_eq!((summary.rows_read, summary.rows_written, summary.stopped), (3, 3, false));
        // Two runs at once do not take each other's channels.
        let (a_tx, a_rx) = std::sync::mpsc::channel::<Change<i64>>();
        let (b_tx, b_rx) = std::sync::mpsc::channel::<Change<i64>>();
        let a = Pipeline::new(SPEC, run).feed("numbers", Rows(0..1000i64)).collect("doubled", a_tx).spawn().unwrap();
        let b = Pipeline::new(SPEC, run).feed("numbers", vec![7i64]).collect("doubled", b_tx).spawn().unwrap();
        assert_eq!(a.join().unwrap().rows_read, 1000);
        assert_eq!(b.join().unwrap().rows_read, 1);
        assert_eq!(a_rx.try_iter().map(|c| c.row).sum::<i64>(), 999 * 1000);
        assert_eq!(b_rx.try_iter().map(|c| c.row).collect::<Vec<_>>(), [14]);
    }

    #[test]
    fn a_missing_channel_or_a_bad_option_fails_naming_it_and_stop_ends_an_endless_run() {
        let err = Pipeline::new(SPEC, run).feed("numbers", vec![1i64]).run().unwrap_err().to_string();
        assert!(err.contains("`doubled`") && err.contains("collect_doubled"), "{err}");
        let err = Pipeline::new(SPEC, run).set("execution.checkpointing.interval", "soon").spawn().err().unwrap();
        assert!(err.to_string().contains("'soon' is not a duration"), "{err}");
        // A source whose sender is kept open runs until stopped.
        let (rows, numbers) = std::sync::mpsc::sync_channel::<i64>(4);
        let (tx, rx) = std::sync::mpsc::channel::<Change<i64>>();
        let running = Pipeline::new(SPEC, run).feed("numbers", numbers).collect("doubled", tx).spawn().unwrap();
        rows.send(5).unwrap();
        assert_eq!(rx.recv().unwrap().row, 10);
        assert!(!running.is_finished());
        running.stop();
        let summary = running.join().unwrap();
        assert!(summary.stopped);
        assert_eq!(summary.rows_read, 1);
        drop(rows);
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn a_tokio_program_feeds_collects_and_awaits_a_run() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let (rows, numbers) = tokio::sync::mpsc::channel::<i64>(2);
            let (tx, mut changes) = tokio::sync::mpsc::unbounded_channel::<Change<i64>>();
            let running = Pipeline::new(SPEC, run).feed("numbers", numbers).collect("doubled", tx).spawn().unwrap();
            for n in 0..100 {
                rows.send(n).await.unwrap();
            }
            drop(rows);
            let mut sum = 0;
            while let Some(change) = changes.recv().await {
                sum += change.row;
            }
            assert_eq!(sum, 2 * 4950);
            assert_eq!(running.finished().await.unwrap().rows_read, 100);
        });
    }
}
