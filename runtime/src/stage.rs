//! The second exchange of a task run N-wide: its workers' output merged into one task.
//!
//! The N workers of a task (see [`crate::exchange`]) each aggregate their key groups; a
//! task that continues from their output (stage B) runs once, on its own thread, and reads
//! the workers' rows — with their watermarks, idles, barriers and ends — as a [`Source`]:
//! a [`Stage`] is the channel between them. Each worker writes through its
//! [`StageWriter`]; the downstream task reads the [`StageInput`]. One bounded channel
//! ([`IN_FLIGHT`] batches per worker) carries every writer's messages, each tagged with its
//! writer: a slow downstream task holds the workers back (backpressure, counted as
//! `dfl_queue_blocked_seconds_total{queue="stage"}` once [`Stage::meter`] was called).
//!
//! What the input makes of the writers' messages:
//!
//! - **Rows** come as [`SourceEvent::Row`]`(0, row)`, in each writer's order; writers batch
//!   up to [`BATCH`] rows per message, and hand them on before anything else they send.
//! - **Watermark**: the least of the last watermarks of the writers that have not ended
//!   (at first [`NO_WATERMARK`] for each), as [`SourceEvent::Watermark`] whenever it moves
//!   up: the downstream task is no further in event time than its slowest worker. A writer
//!   that ended no longer holds it back.
//! - **Barriers are aligned**: once a writer sent a barrier, its later messages are held
//!   until every writer that has not ended sent it too (one that ended counts as arrived);
//!   then the barrier is emitted once — it is the same for every writer, the router
//!   broadcasts it — and the held messages follow, as if they came after it. The
//!   downstream task so handles the barrier after every row the workers wrote before it,
//!   and before any they wrote after it, as a task at parallelism 1 would.
//! - **Idle** from any writer is emitted as [`SourceEvent::Idle`] (the downstream task
//!   hands its batched output on).
//! - **End**: [`run_events`](Source::run_events) returns once every writer ended. A writer
//!   dropped before its end (its worker failed) is an error, as is the run failing while
//!   the input waits.

use crate::connectors::{Barrier, Source, SourceEvent};
use crate::error::{Error, Result};
use crate::exchange::{BATCH, IN_FLIGHT};
use crate::metrics::QueueMeter;
use crate::pipeline::Context;
use crate::time::NO_WATERMARK;
use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How many times a writer's watermark may move without rows before it is sent anyway.
pub const WATERMARK_EVERY: u32 = 128;

/// What a writer sends the downstream task.
enum Message<T> {
    /// Rows, in the writer's order.
    Rows(Vec<T>),
    /// The writer's watermark moved.
    Watermark(i64),
    /// The writer's worker idles.
    Idle,
    /// A barrier, after the writer's rows before it.
    Barrier(Barrier),
    /// The writer's last message.
    End,
}

/// The channel from the `upstream` workers of a task to the one task continuing it, made
/// before either starts.
pub struct Stage<T> {
    upstream: usize,
    /// The channel's meter, set by [`Stage::meter`].
    queue: Arc<OnceLock<Arc<QueueMeter>>>,
    writers: Mutex<Vec<Option<StageWriter<T>>>>,
    input: Mutex<Option<StageInput<T>>>,
}

impl<T: Send> Stage<T> {
    /// The channel from `upstream` workers.
    ///
    /// # Panics
    /// If `upstream` is 0.
    pub fn new(upstream: usize) -> Arc<Self> {
        assert!(upstream > 0, "a stage needs a writer");
        let queue: Arc<OnceLock<Arc<QueueMeter>>> = Arc::default();
        let (tx, rx) = mpsc::sync_channel(IN_FLIGHT * upstream);
        let writers = (0..upstream)
            .map(|index| {
                let (tx, queue) = (Some(tx.clone()), Arc::clone(&queue));
                Some(StageWriter {
                    index,
                    tx,
                    batch: Vec::new(),
                    sent: NO_WATERMARK,
                    pending: NO_WATERMARK,
                    moves: 0,
                    queue,
                })
            })
            .collect();
        let input = StageInput { rx, upstream, queue: Arc::clone(&queue) };
        Arc::new(Stage { upstream, queue, writers: Mutex::new(writers), input: Mutex::new(Some(input)) })
    }

    /// How many workers write to it.
    pub fn upstream(&self) -> usize {
        self.upstream
    }

    /// Counts the channel in the metrics as queue `stage` of task `task` (call it before
    /// the writers start; later calls change nothing).
    pub fn meter(&self, cx: &Context, task: &str) {
        self.queue.get_or_init(|| cx.metrics().queue("stage", task, (self.upstream * IN_FLIGHT) as u64));
    }

    /// Worker `index`'s writer (once).
    pub fn writer(&self, index: usize) -> Result<StageWriter<T>> {
        let mut writers = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        writers
            .get_mut(index)
            .and_then(Option::take)
            .ok_or_else(|| Error::State(format!("internal error: stage writer {index} taken twice")))
    }

    /// The downstream task's source (once).
    pub fn input(&self) -> Result<StageInput<T>> {
        let mut input = self.input.lock().unwrap_or_else(|p| p.into_inner());
        input.take().ok_or_else(|| Error::State("internal error: stage input taken twice".into()))
    }
}

/// A worker's end of a [`Stage`]. Dropped without [`end`](Self::end), it tells the
/// downstream task that its worker failed.
pub struct StageWriter<T> {
    index: usize,
    /// `None` once ended: an ended writer no longer keeps the channel open, so that the
    /// downstream task notices a failed worker as soon as the others have ended.
    tx: Option<SyncSender<(usize, Message<T>)>>,
    batch: Vec<T>,
    /// The last watermark sent, the last one given, and how many times it moved since
    /// the last send.
    sent: i64,
    pending: i64,
    moves: u32,
    queue: Arc<OnceLock<Arc<QueueMeter>>>,
}

fn merge_gone() -> Error {
    Error::PeerStopped("the task's merging stage (reading the workers' output) has stopped".into())
}

impl<T: Send> StageWriter<T> {
    /// Writes `row` (sent with up to [`BATCH`] rows per message).
    pub fn write(&mut self, row: T) -> Result<()> {
        if self.tx.is_none() {
            return Err(self.after_end());
        }
        self.batch.push(row);
        if self.batch.len() >= BATCH { self.flush() } else { Ok(()) }
    }

    /// The worker's watermark is `wm`. It goes on after rows written before it (a window
    /// fired), else after [`WATERMARK_EVERY`] moves, an idle, a barrier or the end: a
    /// watermark per message would cost more than the rows when event time moves with
    /// almost every input row; the downstream task's windows close on the rows' own
    /// boundaries, which come with rows.
    pub fn watermark(&mut self, wm: i64) -> Result<()> {
        if wm <= self.sent.max(self.pending) {
            return Ok(());
        }
        self.pending = wm;
        self.moves += 1;
        if self.batch.is_empty() && self.moves < WATERMARK_EVERY {
            return Ok(());
        }
        self.flush()?;
        self.send_watermark()
    }

    /// The watermark not sent yet, if any.
    fn send_watermark(&mut self) -> Result<()> {
        self.moves = 0;
        if self.pending > self.sent {
            self.sent = self.pending;
            self.send(Message::Watermark(self.sent))?;
        }
        Ok(())
    }

    /// The worker idles: the rows written and the watermark, then an idle.
    pub fn idle(&mut self) -> Result<()> {
        self.flush()?;
        self.send_watermark()?;
        self.send(Message::Idle)
    }

    /// The rows written before `barrier` and the watermark, then the barrier.
    pub fn barrier(&mut self, barrier: &Barrier) -> Result<()> {
        self.flush()?;
        self.send_watermark()?;
        self.send(Message::Barrier(barrier.clone()))
    }

    /// The rows written and the watermark, then the writer's end; a second call does
    /// nothing.
    pub fn end(&mut self) -> Result<()> {
        if self.tx.is_none() {
            return Ok(());
        }
        self.flush()?;
        self.send_watermark()?;
        self.send(Message::End)?;
        self.tx = None;
        Ok(())
    }

    fn after_end(&self) -> Error {
        Error::State(format!("internal error: stage writer {} written after its end", self.index))
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.send(Message::Rows(batch))
    }

    fn send(&self, message: Message<T>) -> Result<()> {
        let Some(tx) = &self.tx else { return Err(self.after_end()) };
        let queue = self.queue.get();
        if let Some(q) = queue {
            q.pushed();
        }
        match tx.try_send((self.index, message)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(message)) => {
                let waiting = Instant::now();
                let sent = tx.send(message).map_err(|_| merge_gone());
                if let Some(q) = queue {
                    q.blocked(waiting.elapsed());
                }
                sent
            }
            Err(TrySendError::Disconnected(_)) => Err(merge_gone()),
        }
    }
}

/// The downstream task's end of a [`Stage`]: the workers' output merged (see the
/// [module](self) for how).
pub struct StageInput<T> {
    rx: Receiver<(usize, Message<T>)>,
    upstream: usize,
    queue: Arc<OnceLock<Arc<QueueMeter>>>,
}

fn worker_gone() -> Error {
    Error::PeerStopped("a worker of the task stopped before the end of its output".into())
}

/// What the input knows of a writer.
struct Upstream<T> {
    watermark: i64,
    ended: bool,
    /// It sent the barrier being aligned: its later messages are held.
    at_barrier: bool,
    held: VecDeque<Message<T>>,
}

impl<T> Source for StageInput<T> {
    type Row = T;

    fn run_events<F: FnMut(SourceEvent<T>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let mut writers: Vec<Upstream<T>> = (0..self.upstream)
            .map(|_| Upstream { watermark: NO_WATERMARK, ended: false, at_barrier: false, held: VecDeque::new() })
            .collect();
        let (mut running, mut emitted) = (self.upstream, NO_WATERMARK);
        // The barrier being aligned.
        let mut barrier: Option<Barrier> = None;
        // Messages released by a barrier, handled before the channel is read again: each
        // writer's here come before its messages still in the channel.
        let mut pending: VecDeque<(usize, Message<T>)> = VecDeque::new();
        loop {
            let (w, message) = match pending.pop_front() {
                Some(next) => next,
                // Waits with a timeout: a worker that failed may leave the channel open
                // (another worker's writer), and the run's failure must still end the task.
                None => match self.rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(next) => {
                        if let Some(q) = self.queue.get() {
                            q.popped();
                        }
                        next
                    }
                    Err(RecvTimeoutError::Timeout) if cx.failed() => return Err(worker_gone()),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return Err(worker_gone()),
                },
            };
            let writer = &mut writers[w];
            if writer.at_barrier {
                writer.held.push_back(message);
                continue;
            }
            match message {
                Message::Rows(rows) => rows.into_iter().try_for_each(|row| emit(SourceEvent::Row(0, row)))?,
                Message::Watermark(wm) => writer.watermark = writer.watermark.max(wm),
                Message::Idle => emit(SourceEvent::Idle)?,
                Message::Barrier(b) => {
                    writer.at_barrier = true;
                    debug_assert!(barrier.as_ref().is_none_or(|kept| *kept == b), "writers' barriers differ");
                    barrier.get_or_insert(b);
                }
                Message::End => {
                    writer.ended = true;
                    running -= 1;
                    if running == 0 {
                        return Ok(());
                    }
                }
            }
            // The least watermark of the writers still running, if it moved up.
            let least = writers.iter().filter(|u| !u.ended).map(|u| u.watermark).min().unwrap_or(NO_WATERMARK);
            if least > emitted {
                emitted = least;
                emit(SourceEvent::Watermark(least))?;
            }
            // Every writer still running at the barrier: it goes on, then what they held.
            if let Some(b) = barrier.take_if(|_| writers.iter().all(|u| u.ended || u.at_barrier)) {
                emit(SourceEvent::Barrier(b))?;
                let mut released = VecDeque::new();
                for (i, u) in writers.iter_mut().enumerate() {
                    u.at_barrier = false;
                    released.extend(u.held.drain(..).map(|m| (i, m)));
                }
                released.append(&mut pending);
                pending = released;
            }
        }
    }

    /// The workers restore their state; the channel has nothing to restore.
    fn restore(&mut self, _position: &[u8]) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cx() -> Context {
        Context::new(Vec::new(), BTreeMap::new())
    }

    /// Plays `steps` on `w`: `B<id>` a barrier, `wm<t>` a watermark, `idle`, `end`, else a row.
    fn play(w: &mut StageWriter<&'static str>, steps: &[&'static str]) {
        for &step in steps {
            match step {
                "idle" => w.idle(),
                "end" => w.end(),
                s if s.starts_with("wm") => w.watermark(s[2..].parse().unwrap()),
                s if s.starts_with('B') => w.barrier(&Barrier { checkpoint: s[1..].parse().ok(), position: vec![] }),
                row => w.write(row),
            }
            .unwrap();
        }
    }

    /// The events of `input` as text, and how `run_events` ended.
    fn events(input: StageInput<&str>) -> (Vec<String>, Result<()>) {
        let mut seen = Vec::new();
        let result = input.run_events(&cx(), |e| {
            seen.push(match e {
                SourceEvent::Row(_, row) => row.to_string(),
                SourceEvent::Watermark(wm) => format!("wm{wm}"),
                SourceEvent::Barrier(b) => format!("B{}", b.checkpoint.unwrap()),
                SourceEvent::Idle => "idle".into(),
                _ => "other".into(),
            });
            Ok(())
        });
        (seen, result)
    }

    fn two() -> (Arc<Stage<&'static str>>, StageWriter<&'static str>, StageWriter<&'static str>) {
        let stage = Stage::new(2);
        let (w0, w1) = (stage.writer(0).unwrap(), stage.writer(1).unwrap());
        (stage, w0, w1)
    }

    #[test]
    fn the_watermark_is_the_least_of_the_writers_still_running() {
        let (stage, mut w0, mut w1) = two();
        // A watermark goes with rows, or before an idle, a barrier or the end.
        play(&mut w0, &["r0", "wm10"]); // writer 1 has none yet
        play(&mut w1, &["r1", "wm5"]);
        play(&mut w0, &["wm20", "wm20", "idle"]);
        play(&mut w1, &["wm30", "B1"]);
        play(&mut w0, &["B1", "end"]); // writer 0 no longer holds it at 20
        play(&mut w1, &["wm40", "end"]);
        let (seen, result) = events(stage.input().unwrap());
        result.unwrap();
        assert_eq!(seen, ["r0", "r1", "wm5", "idle", "wm20", "B1", "wm30", "wm40"]);
    }

    #[test]
    fn a_watermark_moving_without_rows_goes_on_every_so_many_moves() {
        let (stage, mut w0, mut w1) = two();
        play(&mut w1, &["end"]);
        for wm in 1..=i64::from(WATERMARK_EVERY) * 2 + 5 {
            w0.watermark(wm).unwrap();
        }
        w0.watermark(3).unwrap(); // behind: nothing
        let every = i64::from(WATERMARK_EVERY);
        let (seen, result) = {
            let input = stage.input().unwrap();
            let reader = std::thread::spawn(move || events(input));
            play(&mut w0, &["end"]);
            reader.join().unwrap()
        };
        result.unwrap();
        assert_eq!(seen, [format!("wm{every}"), format!("wm{}", 2 * every), format!("wm{}", 2 * every + 5)]);
    }

    #[test]
    fn barriers_wait_for_every_writer_and_hold_what_follows() {
        // Writer 0 goes ahead through three barriers, 2 and 3 one after the other: all it
        // sends after barrier 1 is held until writer 1 comes to it.
        let (stage, mut w0, mut w1) = two();
        play(&mut w0, &["a1", "a2", "B1", "b", "B2", "B3", "d", "end"]);
        play(&mut w1, &["c", "B1", "e", "B2", "B3", "end"]);
        let (seen, result) = events(stage.input().unwrap());
        result.unwrap();
        assert_eq!(seen, ["a1", "a2", "c", "B1", "b", "e", "B2", "B3", "d"]);
    }

    #[test]
    fn the_input_ends_with_its_writers_and_fails_with_a_dropped_one() {
        // Writer 1 ends without the barrier: it counts as arrived.
        let (stage, mut w0, mut w1) = two();
        play(&mut w0, &["x", "B1", "y", "end", "end"]);
        assert!(w0.write("z").is_err());
        play(&mut w1, &["end"]);
        let (seen, result) = events(stage.input().unwrap());
        result.unwrap();
        assert_eq!(seen, ["x", "B1", "y"]);

        // Writer 1 dropped without its end: its worker failed.
        let (stage, mut w0, mut w1) = two();
        play(&mut w0, &["x", "end"]);
        play(&mut w1, &["lost"]); // batched, never sent
        drop(w1);
        let (seen, result) = events(stage.input().unwrap());
        assert_eq!(seen, ["x"]);
        assert!(matches!(result, Err(Error::PeerStopped(_))), "{result:?}");

        // The downstream task gone: its writers are told.
        let stage = Stage::<&str>::new(1);
        let mut w0 = stage.writer(0).unwrap();
        drop(stage.input().unwrap());
        assert!(matches!(w0.idle(), Err(Error::PeerStopped(_))));
        assert!(stage.writer(0).is_err() && stage.writer(1).is_err() && stage.input().is_err());
    }

    #[test]
    fn rows_arrive_complete_and_in_order_before_what_follows_them() {
        // Writers on their own threads, with more rows than the channel holds.
        let n = 20 * BATCH + 7;
        let stage = Stage::<(usize, usize)>::new(3);
        let input = stage.input().unwrap();
        let cx = cx();
        let mut rows = Vec::new();
        std::thread::scope(|s| {
            for w in 0..3 {
                let mut writer = stage.writer(w).unwrap();
                s.spawn(move || (0..n).try_for_each(|i| writer.write((w, i))).and_then(|()| writer.end()));
            }
            input
                .run(&cx, |row| {
                    rows.push(row);
                    Ok(())
                })
                .unwrap();
        });
        for w in 0..3 {
            let mine: Vec<usize> = rows.iter().filter(|r| r.0 == w).map(|r| r.1).collect();
            assert_eq!(mine, (0..n).collect::<Vec<_>>(), "writer {w}");
        }

        // Each message after the rows batched before it.
        let stage = Stage::new(1);
        play(&mut stage.writer(0).unwrap(), &["r1", "r2", "idle", "r3", "wm7", "B1", "r4", "end"]);
        let (seen, result) = events(stage.input().unwrap());
        result.unwrap();
        assert_eq!(seen, ["r1", "r2", "idle", "r3", "wm7", "B1", "r4"]);
    }
}
