//! Sources and sinks, one folder or file per connector, behind two small traits:
//! [`Source`] pushes rows into the fused operators of its task, and
//! [`Sink`](crate::pipeline::Sink) takes batches of rows.
//!
//! # Splits
//!
//! A source reads one or more **splits**, numbered from 0: a file of a folder, a Kafka
//! partition, the single stream of a generator. It tells its task which split each row
//! comes from and when splits start and end ([`SourceEvent`]), so that the task can
//! keep a watermark per split and merge them by minimum ([`SourceWatermark`]). Splits
//! may be read one after another or interleaved.

pub mod blackhole;
pub mod datagen;
pub mod filesystem;
pub mod format;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod merge;
pub mod nexmark;
pub mod print;
#[cfg(feature = "redis")]
pub mod redis;
pub mod rust;
mod watermark;

pub use watermark::{SourceWatermark, idle_timeout_ms};

use crate::error::Result;
use crate::pipeline::Context;

/// What a source tells its task, in the order it happens.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SourceEvent<R> {
    /// Split `n` is assigned to the source: its rows follow (maybe not at once). Until
    /// it has rows, or goes idle, it holds the watermark back. Every split starts before
    /// its first row.
    SplitStart(usize),
    /// A row of split `n`.
    Row(usize, R),
    /// Split `n` has no more rows (a file read to its end): it no longer holds the
    /// watermark back. Not sent when the source stops early (a signal, an error).
    SplitEnd(usize),
    /// The source has nothing to emit right now (waiting for new data, pacing its rate,
    /// a poll that timed out): time passes, and the task may find splits idle, and hands
    /// the output it has batched on (so that rows do not wait for a batch to fill). Sent
    /// before the source waits, and at least every few hundred milliseconds while it does.
    Idle,
    /// Everything emitted before it must be made durable by the task — sinks flushed, and
    /// with checkpoints the task's state in the checkpoint — before `emit` returns `Ok`;
    /// then the source may commit its position (a Kafka source commits its offsets).
    Barrier(Barrier),
    /// The watermark of the task's input as computed upstream: a worker of a task run
    /// N-wide gets the router's watermark so (see [`crate::exchange`]); sources do not
    /// send it.
    Watermark(i64),
}

/// Runs `source` until its input ends or the context stops it, handing `handle` each of
/// its events; then sets `ended` and hands it one more [`Idle`](SourceEvent::Idle): the
/// task then fires what is still open (unless it was stopped for a checkpoint). `handle` is
/// given to the source as it is, so its per-row code inlines into the source's loop.
pub fn run_to_end<S: Source, F: FnMut(SourceEvent<S::Row>) -> Result<()>>(
    source: S,
    cx: &Context,
    ended: &std::cell::Cell<bool>,
    mut handle: F,
) -> Result<()> {
    // The task's checkpoint is restored and its source starts: it is ready.
    crate::metrics::source_running();
    source.run_events(cx, &mut handle)?;
    ended.set(true);
    handle(SourceEvent::Idle)
}

/// A barrier between the rows a source emitted before it and those after.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Barrier {
    /// The checkpoint it belongs to; `None` for a barrier that only lets the source commit
    /// its position (Kafka, without checkpoints).
    pub checkpoint: Option<u64>,
    /// The source's position after the rows before the barrier (encoded by the source; it
    /// takes it back in [`Source::restore`]).
    pub position: Vec<u8>,
}

/// A table read as a stream of rows.
pub trait Source {
    /// The row type it produces.
    type Row;

    /// Pushes everything it reads into `emit` as [`SourceEvent`]s — every row tagged with
    /// its split, split starts and ends, and [`Idle`](SourceEvent::Idle) while it waits —
    /// until the input is exhausted (bounded sources) or the context asks to stop
    /// (checked at least every few thousand rows), then returns. An error from `emit`
    /// stops the source and is returned.
    fn run_events<F: FnMut(SourceEvent<Self::Row>) -> Result<()>>(self, cx: &Context, emit: F) -> Result<()>;

    /// The source, told not to commit its position at barriers: its task keeps state that
    /// a barrier does not make durable yet (window operators before checkpoints), so after
    /// a restart its input must be read again from the last committed position. Sources
    /// that commit nothing ignore it.
    fn without_commits(self) -> Self
    where
        Self: Sized,
    {
        self
    }

    /// The source, told that its task keeps keyed state (windows, GROUP BY, joins, Top-N):
    /// it must read its whole input itself. A source that shares its input with other
    /// processes (a Kafka consumer group) fails instead of going on with a share of it, as
    /// that state is not shared between processes. Others ignore it.
    fn with_keyed_state(self) -> Self
    where
        Self: Sized,
    {
        self
    }

    /// Continues from `position` (a [`Barrier::position`] this kind of source emitted)
    /// instead of its start: the rows after the barrier come next.
    fn restore(&mut self, position: &[u8]) -> Result<()> {
        let _ = position;
        Err(crate::error::Error::State("this source cannot resume from a checkpoint".into()))
    }

    /// [`run_events`](Self::run_events) for a caller that only wants the rows.
    fn run<F: FnMut(Self::Row) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()>
    where
        Self: Sized,
    {
        self.run_events(cx, |event| match event {
            SourceEvent::Row(_, row) => emit(row),
            _ => Ok(()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::TableOptions;
    use crate::time::{BoundedOutOfOrderness, NO_WATERMARK, is_late};
    use crate::types::Timestamp;
    use std::collections::BTreeMap;
    use std::path::Path;

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Row {
        id: Option<i64>,
        ts: Option<Timestamp>,
    }

    /// An event with the row reduced to its id.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Ev {
        Start(usize),
        Row(usize, i64),
        End(usize),
        Idle,
    }

    fn ev(e: &SourceEvent<Row>) -> Ev {
        match e {
            SourceEvent::SplitStart(s) => Ev::Start(*s),
            SourceEvent::Row(s, r) => Ev::Row(*s, r.id.unwrap_or(-1)),
            SourceEvent::SplitEnd(s) => Ev::End(*s),
            SourceEvent::Idle | SourceEvent::Barrier(_) | SourceEvent::Watermark(_) => Ev::Idle,
        }
    }

    fn lines(rows: &[(i64, &str)]) -> String {
        rows.iter().map(|(id, ts)| format!("{{\"id\": {id}, \"ts\": \"{ts}\"}}\n")).collect()
    }

    fn file_source(path: &Path, extra: &[(&str, &str)]) -> (filesystem::FileSource<Row>, Context) {
        let mut pairs = vec![("path", path.to_str().unwrap()), ("format", "json")];
        pairs.extend_from_slice(extra);
        let opts = TableOptions::new("t", &pairs);
        let cx = Context::new(vec![opts.clone()], BTreeMap::new());
        (filesystem::source::<Row>(&opts).unwrap(), cx)
    }

    #[test]
    fn each_file_of_a_folder_is_a_split_that_ends() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("part-1.json"),
            lines(&[(1, "2024-01-01 00:00:10"), (2, "2024-01-01 00:00:20")]),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/part-2.json"), lines(&[(3, "2024-01-01 00:00:05")])).unwrap();
        std::fs::write(dir.path().join("part-0-empty.json"), "").unwrap();
        std::fs::write(dir.path().join(".hidden.json"), lines(&[(9, "2024-01-01 00:00:00")])).unwrap();
        let (source, cx) = file_source(dir.path(), &[]);
        let mut got = Vec::new();
        source
            .run_events(&cx, |e| {
                got.push(ev(&e));
                Ok(())
            })
            .unwrap();
        use Ev::*;
        // Files in path order, read one after another, each a split from when it is opened.
        assert_eq!(got, [Start(0), End(0), Start(1), Row(1, 1), Row(1, 2), End(1), Start(2), Row(2, 3), End(2)]);
        // `run` still gives the rows alone.
        let (source, cx) = file_source(dir.path(), &[]);
        let mut ids = Vec::new();
        source
            .run(&cx, |r| {
                ids.push(r.id.unwrap());
                Ok(())
            })
            .unwrap();
        assert_eq!(ids, [1, 2, 3]);
        // A single file is one split; files the regex does not match are none.
        let (source, cx) = file_source(&dir.path().join("part-1.json"), &[]);
        let mut got = Vec::new();
        source
            .run_events(&cx, |e| {
                got.push(ev(&e));
                Ok(())
            })
            .unwrap();
        assert_eq!(got, [Start(0), Row(0, 1), Row(0, 2), End(0)]);
        let (source, cx) = file_source(dir.path(), &[("source.path.regex-pattern", ".*/sub/.*")]);
        let mut got = Vec::new();
        source
            .run_events(&cx, |e| {
                got.push(ev(&e));
                Ok(())
            })
            .unwrap();
        assert_eq!(got, [Start(0), Row(0, 3), End(0)]);
    }

    #[test]
    fn a_folder_is_read_split_by_split() {
        // Files start when opened: the second file does not hold the watermark back while
        // the first is read (its windows fire as the folder is read, as in Flink), and its
        // rows older than the watermark the first file left are late.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), lines(&[(1, "2024-01-01 00:01:00"), (2, "2024-01-01 00:02:00")]))
            .unwrap();
        std::fs::write(dir.path().join("b.json"), lines(&[(3, "2024-01-01 00:00:30"), (4, "2024-01-01 00:03:00")]))
            .unwrap();
        let (source, cx) = file_source(dir.path(), &[]);
        let mut wm = SourceWatermark::new(BoundedOutOfOrderness::sql(1_000), None);
        let mut seen = Vec::new();
        source
            .run_events(&cx, |e| {
                match &e {
                    SourceEvent::Row(split, row) => {
                        let ts = row.ts.as_ref().map(|t| t.millis());
                        seen.push((row.id.unwrap(), *split, is_late(ts.unwrap(), wm.current())));
                        wm.observe(*split, ts);
                    }
                    other => wm.on_event(other),
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, [(1, 0, false), (2, 0, false), (3, 1, true), (4, 1, false)]);
        assert_eq!(wm.current(), ms("2024-01-01 00:02:59"));
    }

    fn ms(text: &str) -> i64 {
        crate::types::time::parse_timestamp(text).unwrap().millis()
    }

    #[test]
    fn a_monitored_folder_adds_splits_and_is_idle_between_scans() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.json"), lines(&[(1, "2024-01-01 00:00:10")])).unwrap();
        let (source, cx) = file_source(dir.path(), &[("source.monitor-interval", "20 ms")]);
        let mut got = Vec::new();
        let mut wm = SourceWatermark::new(BoundedOutOfOrderness::sql(0), None);
        source
            .run_events(&cx, |e| {
                let e = ev(&e);
                if got.last() != Some(&Ev::Idle) || e != Ev::Idle {
                    got.push(e);
                }
                match e {
                    Ev::Start(s) => wm.start_split(s),
                    Ev::End(s) => wm.end_split(s),
                    Ev::Row(s, id) => wm.observe(s, Some(id * 1_000)),
                    Ev::Idle => {
                        if !dir.path().join("2.json").exists() {
                            std::fs::write(dir.path().join("2.json"), lines(&[(2, "2024-01-01 00:00:20")])).unwrap();
                        }
                    }
                }
                if e == Ev::End(1) {
                    cx.request_stop();
                }
                Ok(())
            })
            .unwrap();
        use Ev::*;
        assert_eq!(got, [Start(0), Row(0, 1), End(0), Idle, Start(1), Row(1, 2), End(1)]);
        // Every split so far ended, but the folder may get more files: no end of input.
        assert_eq!(wm.current(), 2_000);
    }

    #[test]
    fn generators_have_one_split() {
        let opts = TableOptions::new("g", &[("number-of-rows", "3"), ("rows-per-second", "0")]);
        let cx = Context::new(vec![opts.clone()], BTreeMap::new());
        let columns = [format::Column { name: "id", ty: format::ColumnType::BigInt, nullable: true }];
        let source = datagen::source(&opts, &columns, |g: &mut datagen::RowGen| g.next::<i64>(0)).unwrap();
        let mut got = Vec::new();
        source
            .run_events(&cx, |e| {
                got.push(match e {
                    SourceEvent::Row(s, _) => SourceEvent::Row(s, ()),
                    SourceEvent::SplitStart(s) => SourceEvent::SplitStart(s),
                    SourceEvent::SplitEnd(s) => SourceEvent::SplitEnd(s),
                    SourceEvent::Idle => SourceEvent::Idle,
                    SourceEvent::Barrier(b) => SourceEvent::Barrier(b),
                    SourceEvent::Watermark(w) => SourceEvent::Watermark(w),
                });
                Ok(())
            })
            .unwrap();
        use SourceEvent::*;
        assert_eq!(got, [SplitStart(0), Row(0, ()), Row(0, ()), Row(0, ()), SplitEnd(0)]);

        let opts = TableOptions::new("nx", &[("events.num", "100")]);
        let source = nexmark::source(&opts).unwrap();
        let (mut starts, mut rows, mut ends) = (0, 0, 0);
        let mut wm = SourceWatermark::new(BoundedOutOfOrderness::sql(0), Some(1_000));
        source
            .run_events(&cx, |e| {
                match &e {
                    SourceEvent::SplitStart(_) => starts += 1,
                    SourceEvent::Row(s, event) => {
                        assert_eq!((*s, starts, ends), (0, 1, 0));
                        rows += 1;
                        wm.observe(*s, Some(event.date_time().millis()));
                    }
                    SourceEvent::SplitEnd(_) => ends += 1,
                    SourceEvent::Idle | SourceEvent::Barrier(_) | SourceEvent::Watermark(_) => {}
                }
                wm.on_event(&e);
                Ok(())
            })
            .unwrap();
        assert_eq!((starts, rows, ends), (1, 100, 1));
        assert_ne!(wm.current(), NO_WATERMARK);

        // Stopped early: no end of the split.
        let opts = TableOptions::new("g", &[("rows-per-second", "0")]);
        let source = datagen::source(&opts, &columns, |g: &mut datagen::RowGen| g.next::<i64>(0)).unwrap();
        let mut ended = false;
        let mut n = 0;
        source
            .run_events(&cx, |e| {
                match e {
                    SourceEvent::Row(..) => {
                        n += 1;
                        if n == 10 {
                            cx.request_stop();
                        }
                    }
                    SourceEvent::SplitEnd(_) => ended = true,
                    _ => {}
                }
                Ok(())
            })
            .unwrap();
        assert!(!ended);
    }
}
