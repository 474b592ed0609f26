//! One task reading two sources (a join of two tables): each source runs on its own
//! thread and hands its events, in batches, to the task's thread, which sees them as one
//! stream of [`Merged`] events.
//!
//! # Order
//!
//! The events of each source arrive in the order it emitted them; those of the two sources
//! interleave as they come.
//!
//! # Barriers
//!
//! A checkpoint's barriers are **aligned**: a source that emits the barrier of a checkpoint
//! waits in its `emit` (reading nothing more, committing nothing) while the task goes on
//! with the other source's events until that one's barrier comes too. Then the task gets
//! one [`Merged::Barrier`] — after every event either source emitted before its barrier and
//! before any event after it — and when handling it returns `Ok`, both sources' `emit`
//! return `Ok` (they may commit their positions).
//!
//! - The two barriers need not carry the same checkpoint id (a source may see a later
//!   request before it emits its barrier): the first barrier of each source since the last
//!   merged barrier are aligned, and the merged barrier carries the higher id, as the
//!   checkpoint coordinator itself takes the highest id of a round.
//! - A source that has ended does not hold a barrier back: the other's barrier is merged
//!   alone (at once, or when the source it waits for ends).
//! - The merged barrier's position encodes a [`SidePosition`] per source (read it back
//!   with [`split_position`], or [`restore`] both sources with it): the position of its
//!   barrier; for a source that has ended, [`SidePosition::Ended`] when its input was
//!   exhausted, else (it stopped) the position of its last barrier ([`SidePosition::Start`]
//!   if none). A stopping source emits the final checkpoint's barrier before it ends, so
//!   the rows it emitted after that barrier are in no checkpoint's state; only a checkpoint
//!   taken after its end (the other source still at work) would hold them and read them
//!   again after a restore.
//! - A barrier without a checkpoint (one that only lets a source commit its position) is
//!   not aligned: it is handed on as that source's event ([`Merged::A`] or [`Merged::B`]
//!   with a [`SourceEvent::Barrier`]), and the source's `emit` returns once handling it
//!   returned `Ok`.
//!
//! # Ends and errors
//!
//! When a source's `run_events` returns, the task gets [`Merged::Ended`] for it;
//! [`run_merged`] returns once both have ended and every event was handled. An error from
//! the handler or from a source (a panic in a source's thread too) is returned at once:
//! the sources' next `emit` fails, so they end.

use crate::checkpoint::{decode, encode};
use crate::connectors::{Barrier, Source, SourceEvent};
use crate::error::{Error, Result};
use crate::metrics::QueueMeter;
use crate::pipeline::Context;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::time::Instant;

/// Events a source's thread gathers before handing them over (fewer at an
/// [`Idle`](SourceEvent::Idle), a split's end, a barrier or the source's end).
const BATCH: usize = 256;

/// Batches (of both sources) handed over and not yet taken by the task; a source that
/// finds them all taken waits.
const IN_FLIGHT: usize = 16;

/// An event of a task reading two sources.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged<A, B> {
    /// An event of the first source (a [`SourceEvent::Barrier`] only without a checkpoint:
    /// those of checkpoints are merged, below).
    A(SourceEvent<A>),
    /// An event of the second source (as [`Merged::A`]).
    B(SourceEvent<B>),
    /// Both sources reached the barrier of checkpoint `checkpoint` (aligned, or one of
    /// them had ended): the task saves its state; `position` encodes both sources'
    /// positions (decode it with [`split_position`]).
    Barrier(Barrier),
    /// Source 0 (the first) or 1 has ended (its input exhausted, or it stopped): its
    /// watermark no longer holds the task back.
    Ended(usize),
}

/// Where a merged task resumes one of its sources, as a merged barrier recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SidePosition {
    /// From its start: it had emitted no barrier before the checkpoint (and its input had
    /// not ended).
    #[default]
    Start,
    /// From this position ([`Barrier::position`] of its last barrier before the
    /// checkpoint), through [`Source::restore`].
    At(Vec<u8>),
    /// Not at all: its input had ended before the checkpoint, so all its rows are in the
    /// task's state.
    Ended,
}

/// Types a merged task's event handler by its sources, as
/// [`run_to_end`](crate::connectors::run_to_end)'s closure does for one source: `f` receives
/// the merged events, and `None` once both inputs have ended.
pub fn merged_handler<SA: Source, SB: Source, F: FnMut(Option<Merged<SA::Row, SB::Row>>) -> Result<()>>(
    _a: &SA,
    _b: &SB,
    f: F,
) -> F {
    f
}

/// The positions of both sources that a [`Merged::Barrier`]'s `position` encodes.
pub fn split_position(position: &[u8]) -> Result<[SidePosition; 2]> {
    let mut input = position;
    let sides = decode(&mut input)?;
    if !input.is_empty() {
        return Err(Error::State(format!(
            "the position of a task reading two sources has {} bytes too many",
            input.len()
        )));
    }
    Ok(sides)
}

/// Restores both sources of a merged task from `position` (a [`Merged::Barrier`]'s, from
/// the checkpoint restored): each source at its own position, if it has one
/// ([`Source::restore`] is never called with an empty one). Returns what
/// [`run_merged_from`] needs to go on from there: it does not run a source whose input had
/// ended.
pub fn restore<SA: Source, SB: Source>(a: &mut SA, b: &mut SB, position: &[u8]) -> Result<[SidePosition; 2]> {
    let sides = split_position(position)?;
    if let SidePosition::At(p) = &sides[0] {
        a.restore(p)?;
    }
    if let SidePosition::At(p) = &sides[1] {
        b.restore(p)?;
    }
    Ok(sides)
}

/// Runs sources `a` (0) and `b` (1) from their starts, each on its own thread, and calls
/// `handle` on this thread for every [`Merged`] event (see the [module](self) docs).
pub fn run_merged<SA, SB>(
    cx: &Context,
    a: SA,
    b: SB,
    handle: impl FnMut(Merged<SA::Row, SB::Row>) -> Result<()>,
) -> Result<()>
where
    SA: Source + Send,
    SB: Source + Send,
    SA::Row: Send,
    SB::Row: Send,
{
    run_merged_from(cx, a, b, Default::default(), handle)
}

/// [`run_merged`] going on from a checkpoint: `from` is what [`restore`] returned (the
/// sources restored already). A source whose input had ended is not run: its
/// [`Merged::Ended`] comes first.
pub fn run_merged_from<SA, SB>(
    cx: &Context,
    a: SA,
    b: SB,
    from: [SidePosition; 2],
    handle: impl FnMut(Merged<SA::Row, SB::Row>) -> Result<()>,
) -> Result<()>
where
    SA: Source + Send,
    SB: Source + Send,
    SA::Row: Send,
    SB::Row: Send,
{
    let runs = from.each_ref().map(|side| *side != SidePosition::Ended);
    // The task's checkpoint is restored and its sources start: it is ready.
    crate::metrics::source_running();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
        let task = crate::metrics::current_task().unwrap_or_else(|| "merge".into());
        let queue = cx.metrics().queue("merge", &task, IN_FLIGHT as u64);
        let (ack_a, acks_a) = mpsc::channel();
        let (ack_b, acks_b) = mpsc::channel();
        let mut merger = Merger {
            handle,
            acks: [ack_a, ack_b],
            waiting: [None, None],
            positions: from,
            ended: [false; 2],
            events: PhantomData,
        };
        if runs[0] {
            let tx = tx.clone();
            let queue = Arc::clone(&queue);
            spawn(scope, "merge-a", move || run_side(cx, a, &Outbox::new(tx, acks_a, Message::A, queue)))?;
        }
        if runs[1] {
            let queue = Arc::clone(&queue);
            spawn(scope, "merge-b", move || run_side(cx, b, &Outbox::new(tx, acks_b, Message::B, queue)))?;
        } else {
            drop(tx);
        }
        // Returning drops the receiver and the acknowledgements: a source still running
        // fails its next `emit` and ends, so the scope's join does not wait for ever.
        merger.run(rx, runs, &queue)
    })
}

fn spawn<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    f: impl FnOnce() + Send + 'scope,
) -> Result<()> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn_scoped(scope, f)
        .map(drop)
        .map_err(|e| Error::Config(format!("cannot start a source thread: {e}")))
}

/// What a source's thread hands to the task.
enum Part<R> {
    /// Events in the order emitted; no barriers of checkpoints among them.
    Events(Vec<SourceEvent<R>>),
    /// A barrier: the source waits for its acknowledgement.
    Barrier(Barrier),
    /// The source's `run_events` returned: `Ok(true)` when its input was exhausted,
    /// `Ok(false)` when it stopped.
    Ended(Result<bool>),
}

/// A [`Part`] of the first or the second source.
enum Message<A, B> {
    A(Part<A>),
    B(Part<B>),
}

/// A source's side of the channels: the one to the task and the acknowledgements of its
/// barriers.
struct Outbox<R, M> {
    tx: SyncSender<M>,
    acks: Receiver<()>,
    wrap: fn(Part<R>) -> M,
    /// The channel's length and the time spent waiting for room in it.
    queue: Arc<QueueMeter>,
}

impl<R, M> Outbox<R, M> {
    fn new(tx: SyncSender<M>, acks: Receiver<()>, wrap: fn(Part<R>) -> M, queue: Arc<QueueMeter>) -> Self {
        Outbox { tx, acks, wrap, queue }
    }

    fn send(&self, part: Part<R>) -> Result<()> {
        self.queue.pushed();
        match self.tx.try_send((self.wrap)(part)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(message)) => {
                let waiting = Instant::now();
                let sent = self.tx.send(message).map_err(|_| task_gone());
                self.queue.blocked(waiting.elapsed());
                sent
            }
            Err(TrySendError::Disconnected(_)) => Err(task_gone()),
        }
    }

    /// Hands `batch` over (if it has events).
    fn flush(&self, batch: &mut Vec<SourceEvent<R>>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.send(Part::Events(std::mem::replace(batch, Vec::with_capacity(BATCH))))
    }

    /// Takes `event` into `batch`, handing it over when it is full or the event asks for
    /// it; at a barrier, waits until the task has handled it.
    fn emit(&self, batch: &mut Vec<SourceEvent<R>>, event: SourceEvent<R>) -> Result<()> {
        match event {
            SourceEvent::Barrier(barrier) => {
                self.flush(batch)?;
                self.send(Part::Barrier(barrier))?;
                self.acks.recv().map_err(|_| task_gone())
            }
            event => {
                let now = matches!(event, SourceEvent::Idle | SourceEvent::SplitEnd(_));
                batch.push(event);
                if now || batch.len() >= BATCH { self.flush(batch) } else { Ok(()) }
            }
        }
    }
}

/// What a source's `emit` returns once the task has stopped taking its events.
fn task_gone() -> Error {
    Error::State("the task reading this source (and another) has stopped".into())
}

/// A source's thread: runs it into `outbox`, then tells how it ended (a panic as an error).
fn run_side<S: Source, M>(cx: &Context, source: S, outbox: &Outbox<S::Row, M>) {
    let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut batch = Vec::with_capacity(BATCH);
        source.run_events(cx, |event| outbox.emit(&mut batch, event))?;
        outbox.flush(&mut batch)
    }));
    let ended = match run {
        Ok(result) => result.map(|()| !cx.stopped()),
        Err(panic) => Err(Error::State(format!("a source's thread panicked: {}", panic_message(&*panic)))),
    };
    // Fails only when the task has stopped already.
    let _ = outbox.send(Part::Ended(ended));
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => s,
        (_, Some(s)) => s,
        _ => "(no message)",
    }
}

/// The task's side: hands events to `handle` and aligns barriers.
struct Merger<A, B, H> {
    handle: H,
    /// Acknowledgements of the barriers each source waits at.
    acks: [Sender<()>; 2],
    /// Per source, the checkpoint of the barrier it waits at.
    waiting: [Option<u64>; 2],
    /// Per source, where a checkpoint taken now would resume it.
    positions: [SidePosition; 2],
    ended: [bool; 2],
    /// The events `handle` takes.
    events: PhantomData<fn(Merged<A, B>)>,
}

impl<A, B, H: FnMut(Merged<A, B>) -> Result<()>> Merger<A, B, H> {
    /// Handles what the sources send until both have ended; `runs`: which of them run.
    fn run(&mut self, rx: Receiver<Message<A, B>>, runs: [bool; 2], queue: &QueueMeter) -> Result<()> {
        for side in [0, 1].into_iter().filter(|&side| !runs[side]) {
            self.ended[side] = true;
            (self.handle)(Merged::Ended(side))?;
        }
        while self.ended != [true; 2] {
            let message = rx.recv().map_err(|_| {
                Error::State("internal error: a source's thread of a task reading two sources ended silently".into())
            })?;
            queue.popped();
            match message {
                Message::A(part) => self.part(0, part, Merged::A)?,
                Message::B(part) => self.part(1, part, Merged::B)?,
            }
        }
        Ok(())
    }

    fn part<R>(&mut self, side: usize, part: Part<R>, wrap: fn(SourceEvent<R>) -> Merged<A, B>) -> Result<()> {
        match part {
            Part::Events(events) => events.into_iter().try_for_each(|event| (self.handle)(wrap(event))),
            Part::Barrier(barrier) => match barrier.checkpoint {
                Some(id) => {
                    self.positions[side] = SidePosition::At(barrier.position);
                    self.waiting[side] = Some(id);
                    self.align()
                }
                None => {
                    (self.handle)(wrap(SourceEvent::Barrier(barrier)))?;
                    self.ack(side);
                    Ok(())
                }
            },
            Part::Ended(result) => {
                if result? {
                    self.positions[side] = SidePosition::Ended;
                }
                self.ended[side] = true;
                (self.handle)(Merged::Ended(side))?;
                self.align()
            }
        }
    }

    /// Hands on the merged barrier once every source waits at a barrier or has ended, and
    /// then lets the waiting ones go on.
    fn align(&mut self) -> Result<()> {
        let Some(id) = self.waiting.iter().flatten().max().copied() else { return Ok(()) };
        if (0..2).any(|s| self.waiting[s].is_none() && !self.ended[s]) {
            return Ok(());
        }
        let mut position = Vec::new();
        encode(&self.positions, &mut position)?;
        (self.handle)(Merged::Barrier(Barrier { checkpoint: Some(id), position }))?;
        for side in 0..2 {
            if self.waiting[side].take().is_some() {
                self.ack(side);
            }
        }
        Ok(())
    }

    fn ack(&self, side: usize) {
        // Fails only when the source's thread has ended, which it does not while it waits.
        let _ = self.acks[side].send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// One step of a scripted test source.
    enum Step {
        /// Emits rows `start..end` of split 0.
        Rows(i64, i64),
        /// Emits the event.
        Emit(SourceEvent<i64>),
        /// Emits the barrier of checkpoint `id` at position `[side, id]`, and records in
        /// the probe that its `emit` returned.
        Checkpoint(u64),
        /// Waits for a message.
        Wait(mpsc::Receiver<()>),
        /// Sends a message.
        Signal(mpsc::Sender<()>),
        /// Emits rows until `emit` fails or the context stops.
        Forever,
        /// Asks the pipeline to stop (the script goes on, then the source returns).
        Stop,
        /// Fails.
        Fail,
        /// Panics.
        Panic,
    }

    /// What the test sources record.
    #[derive(Default)]
    struct Probe {
        /// Per source, the last checkpoint whose barrier's `emit` returned.
        returned: [AtomicU64; 2],
        /// Per source, whether its `run_events` returned `Ok`.
        outcome: Mutex<[Option<bool>; 2]>,
        /// Per source, the positions it was restored from.
        restored: Mutex<Vec<(usize, Vec<u8>)>>,
    }

    struct Script {
        side: usize,
        steps: Vec<Step>,
        probe: Arc<Probe>,
    }

    impl Script {
        fn play(self, cx: &Context, emit: &mut impl FnMut(SourceEvent<i64>) -> Result<()>) -> Result<()> {
            for step in self.steps {
                match step {
                    Step::Rows(start, end) => (start..end).try_for_each(|i| emit(SourceEvent::Row(0, i)))?,
                    Step::Emit(event) => emit(event)?,
                    Step::Checkpoint(id) => {
                        emit(SourceEvent::Barrier(Barrier {
                            checkpoint: Some(id),
                            position: position(self.side, id),
                        }))?;
                        self.probe.returned[self.side].store(id, Ordering::SeqCst);
                    }
                    Step::Wait(rx) => rx.recv().unwrap(),
                    Step::Signal(tx) => tx.send(()).unwrap(),
                    Step::Forever => {
                        let mut i = 0;
                        while !cx.stopped() {
                            emit(SourceEvent::Row(0, i))?;
                            i += 1;
                        }
                        return Ok(());
                    }
                    Step::Stop => cx.request_stop(),
                    Step::Fail => return Err(Error::Config(format!("source {} failed", self.side))),
                    Step::Panic => panic!("source {} panicked", self.side),
                }
            }
            Ok(())
        }
    }

    impl Source for Script {
        type Row = i64;

        fn run_events<F: FnMut(SourceEvent<i64>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
            let (probe, side) = (Arc::clone(&self.probe), self.side);
            let result = self.play(cx, &mut emit);
            probe.outcome.lock().unwrap()[side] = Some(result.is_ok());
            result
        }

        fn restore(&mut self, position: &[u8]) -> Result<()> {
            self.probe.restored.lock().unwrap().push((self.side, position.to_vec()));
            Ok(())
        }
    }

    fn position(side: usize, id: u64) -> Vec<u8> {
        vec![side as u8, id as u8]
    }

    /// A merged event with the barrier's position decoded.
    #[derive(Debug, Clone, PartialEq)]
    enum Got {
        Row(usize, i64),
        Event(usize, SourceEvent<i64>),
        Barrier(u64, [SidePosition; 2]),
        Ended(usize),
    }

    fn got(event: Merged<i64, i64>) -> Got {
        let side = |side, event| match event {
            SourceEvent::Row(_, r) => Got::Row(side, r),
            other => Got::Event(side, other),
        };
        match event {
            Merged::A(e) => side(0, e),
            Merged::B(e) => side(1, e),
            Merged::Barrier(b) => Got::Barrier(b.checkpoint.unwrap(), split_position(&b.position).unwrap()),
            Merged::Ended(s) => Got::Ended(s),
        }
    }

    type Check = Box<dyn FnMut(&Context, &Probe, &Got) -> Result<()> + Send>;

    /// Runs sources of `a` and `b` (from `from`) on another thread, `check`ing each event;
    /// what it returned, what it handled and the probe. Fails the test if it hangs.
    fn run(
        a: Vec<Step>,
        b: Vec<Step>,
        from: [SidePosition; 2],
        mut check: Check,
    ) -> (Result<()>, Vec<Got>, Arc<Probe>) {
        let probe = Arc::new(Probe::default());
        let (done_tx, done_rx) = mpsc::channel();
        let p = Arc::clone(&probe);
        std::thread::spawn(move || {
            let cx = Context::new(Vec::new(), BTreeMap::new());
            let a = Script { side: 0, steps: a, probe: Arc::clone(&p) };
            let b = Script { side: 1, steps: b, probe: Arc::clone(&p) };
            let mut seen = Vec::new();
            let result = run_merged_from(&cx, a, b, from, |event| {
                let event = got(event);
                check(&cx, &p, &event)?;
                seen.push(event);
                Ok(())
            });
            done_tx.send((result, seen)).unwrap();
        });
        // A guard against a hang, not a synchronisation: the run ends long before.
        let (result, seen) = done_rx.recv_timeout(Duration::from_secs(60)).expect("the merged run hung");
        (result, seen, probe)
    }

    fn no_check() -> Check {
        Box::new(|_, _, _| Ok(()))
    }

    /// Fails if a source's barrier `emit` returned before its merged barrier was handled.
    fn barriers_wait() -> Check {
        Box::new(|_, probe, event| {
            if let Got::Barrier(id, _) = event {
                for side in 0..2 {
                    assert!(probe.returned[side].load(Ordering::SeqCst) < *id, "source {side} went on at {id}");
                }
            }
            Ok(())
        })
    }

    fn rows_of(seen: &[Got], side: usize) -> Vec<i64> {
        seen.iter()
            .filter_map(|g| match g {
                Got::Row(s, r) if *s == side => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// Per merged barrier: its id, position and the rows of each source before it.
    fn cuts(seen: &[Got]) -> Vec<(u64, [SidePosition; 2], [usize; 2])> {
        let mut rows = [0, 0];
        let mut out = Vec::new();
        for g in seen {
            match g {
                Got::Row(s, _) => rows[*s] += 1,
                Got::Barrier(id, p) => out.push((*id, p.clone(), rows)),
                _ => {}
            }
        }
        out
    }

    fn at(side: usize, id: u64) -> SidePosition {
        SidePosition::At(position(side, id))
    }

    #[test]
    fn rows_keep_their_order_and_each_checkpoint_is_one_aligned_barrier() {
        use Step::*;
        // More rows than the channel holds, so that the sources wait for the task.
        let a = vec![
            Emit(SourceEvent::SplitStart(0)),
            Rows(0, 5000),
            Checkpoint(1),
            Rows(5000, 5100),
            Checkpoint(2),
            Rows(5100, 7000),
            Emit(SourceEvent::SplitEnd(0)),
        ];
        let b =
            vec![Rows(0, 10), Checkpoint(1), Rows(10, 9000), Checkpoint(2), Emit(SourceEvent::Idle), Rows(9000, 9001)];
        let (result, seen, probe) = run(a, b, Default::default(), barriers_wait());
        result.unwrap();
        assert_eq!(rows_of(&seen, 0), (0..7000).collect::<Vec<_>>());
        assert_eq!(rows_of(&seen, 1), (0..9001).collect::<Vec<_>>());
        // Each barrier after every row of both sources before theirs, before any after.
        assert_eq!(cuts(&seen), [(1, [at(0, 1), at(1, 1)], [5000, 10]), (2, [at(0, 2), at(1, 2)], [5100, 9000])]);
        // Other events keep their places among the rows.
        let a_events: Vec<&Got> =
            seen.iter().filter(|g| matches!(g, Got::Event(0, _) | Got::Row(0, 0 | 6999))).collect();
        assert_eq!(
            a_events,
            [
                &Got::Event(0, SourceEvent::SplitStart(0)),
                &Got::Row(0, 0),
                &Got::Row(0, 6999),
                &Got::Event(0, SourceEvent::SplitEnd(0))
            ]
        );
        let b_events: Vec<&Got> = seen.iter().filter(|g| matches!(g, Got::Row(1, _) | Got::Event(1, _))).collect();
        let idle = b_events.iter().position(|g| **g == Got::Event(1, SourceEvent::Idle)).unwrap();
        assert_eq!(
            b_events[idle - 1..=idle + 1],
            [&Got::Row(1, 8999), &Got::Event(1, SourceEvent::Idle), &Got::Row(1, 9000)]
        );
        // Each source ended once, after all its events; each barrier's emit returned.
        for side in 0..2 {
            let ends: Vec<usize> = (0..seen.len()).filter(|&i| seen[i] == Got::Ended(side)).collect();
            let last = seen.iter().rposition(|g| matches!(g, Got::Row(s, _) | Got::Event(s, _) if *s == side));
            assert_eq!(ends.len(), 1);
            assert!(last < Some(ends[0]));
        }
        assert_eq!(probe.returned.each_ref().map(|r| r.load(Ordering::SeqCst)), [2, 2]);
        assert_eq!(*probe.outcome.lock().unwrap(), [Some(true), Some(true)]);
    }

    #[test]
    fn a_source_waits_at_its_barrier_until_the_other_has_sent_everything_before_its_own() {
        use Step::*;
        // B's barrier comes only once A's emit of its barrier would have returned, were
        // it not held: A's rows after its barrier must all come after the merged barrier.
        let (tx, rx) = mpsc::channel();
        let a = vec![Rows(0, 3), Checkpoint(1), Signal(tx), Rows(3, 6)];
        let b = vec![Rows(0, 2000), Checkpoint(1), Rows(2000, 2001)];
        let check: Check = Box::new(move |_, probe, event| {
            if let Got::Row(1, 1999) = event {
                // B's last row before its barrier: A is still held (it has not signalled).
                assert!(rx.try_recv().is_err(), "A went on before the merged barrier");
                assert_eq!(probe.returned[0].load(Ordering::SeqCst), 0);
            }
            Ok(())
        });
        let (result, seen, _) = run(a, b, Default::default(), check);
        result.unwrap();
        assert_eq!(cuts(&seen), [(1, [at(0, 1), at(1, 1)], [3, 2000])]);
        assert_eq!(rows_of(&seen, 0), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn barriers_of_different_checkpoints_align_under_the_higher() {
        use Step::*;
        let (result, seen, _) =
            run(vec![Rows(0, 5), Checkpoint(3)], vec![Checkpoint(4), Rows(0, 5)], Default::default(), barriers_wait());
        result.unwrap();
        assert_eq!(cuts(&seen), [(4, [at(0, 3), at(1, 4)], [5, 0])]);
    }

    #[test]
    fn a_source_that_ended_does_not_hold_barriers_back() {
        use Step::*;
        // A's input is exhausted: its position says so, and B's barriers complete alone.
        let (result, seen, probe) = run(
            vec![Rows(0, 10), Emit(SourceEvent::SplitEnd(0))],
            vec![Rows(0, 300), Checkpoint(1), Rows(300, 600), Checkpoint(2)],
            Default::default(),
            barriers_wait(),
        );
        result.unwrap();
        assert_eq!(
            cuts(&seen),
            [(1, [SidePosition::Ended, at(1, 1)], [10, 300]), (2, [SidePosition::Ended, at(1, 2)], [10, 600])]
        );
        assert_eq!(probe.returned[1].load(Ordering::SeqCst), 2);
        // Its end comes before the barrier that waited for it.
        let ended = seen.iter().position(|g| *g == Got::Ended(0)).unwrap();
        let first = seen.iter().position(|g| matches!(g, Got::Barrier(..))).unwrap();
        assert!(ended < first);

        // A stopped (did not read its input to the end): it resumes at its last barrier.
        let (tx, rx) = mpsc::channel();
        let (result, seen, _) = run(
            vec![Checkpoint(1), Rows(0, 5), Stop, Signal(tx)],
            vec![Checkpoint(1), Wait(rx), Rows(0, 5), Checkpoint(2)],
            Default::default(),
            barriers_wait(),
        );
        result.unwrap();
        assert_eq!(cuts(&seen), [(1, [at(0, 1), at(1, 1)], [0, 0]), (2, [at(0, 1), at(1, 2)], [5, 5])]);
        // One that stopped before any barrier resumes at its start.
        let (result, seen, _) = run(vec![Stop], vec![Rows(0, 5), Checkpoint(7)], Default::default(), barriers_wait());
        result.unwrap();
        assert_eq!(cuts(&seen), [(7, [SidePosition::Start, at(1, 7)], [0, 5])]);
    }

    #[test]
    fn restored_sources_resume_where_the_merged_barrier_left_them() {
        let mut position = Vec::new();
        encode(&[SidePosition::At(vec![7, 8]), SidePosition::Ended], &mut position).unwrap();
        let probe = Arc::new(Probe::default());
        let mut a = Script { side: 0, steps: Vec::new(), probe: Arc::clone(&probe) };
        let mut b = Script { side: 1, steps: Vec::new(), probe: Arc::clone(&probe) };
        let from = restore(&mut a, &mut b, &position).unwrap();
        assert_eq!(from, [SidePosition::At(vec![7, 8]), SidePosition::Ended]);
        // Only a source with a position is restored.
        assert_eq!(*probe.restored.lock().unwrap(), [(0, vec![7, 8])]);
        assert!(split_position(&position[..position.len() - 1]).is_err());
        assert!(split_position(&[position.clone(), vec![0]].concat()).is_err());

        // A source whose input had ended is not run again: it has ended from the start,
        // and stays ended in later checkpoints.
        use Step::*;
        let (result, seen, probe) = run(vec![Rows(0, 3), Checkpoint(5)], vec![Panic], from, barriers_wait());
        result.unwrap();
        assert_eq!(seen[0], Got::Ended(1));
        assert_eq!(cuts(&seen), [(5, [at(0, 5), SidePosition::Ended], [3, 0])]);
        assert_eq!(*probe.outcome.lock().unwrap(), [Some(true), None]);
        // A source restored at a position that stops before its next barrier keeps it.
        let (result, seen, _) =
            run(vec![Stop], vec![Checkpoint(6)], [SidePosition::At(vec![1]), SidePosition::Start], no_check());
        result.unwrap();
        assert_eq!(cuts(&seen), [(6, [SidePosition::At(vec![1]), at(1, 6)], [0, 0])]);
    }

    #[test]
    fn barriers_without_a_checkpoint_are_the_sources_own() {
        use Step::*;
        let commit = |side: usize| SourceEvent::Barrier(Barrier { checkpoint: None, position: vec![side as u8] });
        let (tx, rx) = mpsc::channel();
        let check: Check = Box::new(move |_, _, event| {
            if let Got::Event(0, SourceEvent::Barrier(_)) = event {
                // A's emit has not returned: it has not signalled yet.
                assert!(rx.try_recv().is_err(), "A went on before its barrier was handled");
            }
            Ok(())
        });
        let (result, seen, _) = run(
            vec![Rows(0, 2), Emit(commit(0)), Signal(tx), Rows(2, 3)],
            vec![Emit(commit(1))],
            Default::default(),
            check,
        );
        result.unwrap();
        let a: Vec<&Got> = seen.iter().filter(|g| matches!(g, Got::Row(0, _) | Got::Event(0, _))).collect();
        assert_eq!(a, [&Got::Row(0, 0), &Got::Row(0, 1), &Got::Event(0, commit(0)), &Got::Row(0, 2)]);
        assert!(seen.contains(&Got::Event(1, commit(1))));
        assert!(cuts(&seen).is_empty());
    }

    #[test]
    fn rows_do_not_wait_for_a_batch_to_fill_while_the_source_waits() {
        use Step::*;
        // A waits for the task to have handled its row: the row goes over at the idle.
        let (tx, rx) = mpsc::channel();
        let check: Check = Box::new(move |_, _, event| {
            if let Got::Row(0, 0) = event {
                tx.send(()).unwrap();
            }
            Ok(())
        });
        let (result, seen, _) =
            run(vec![Rows(0, 1), Emit(SourceEvent::Idle), Wait(rx), Rows(1, 2)], Vec::new(), Default::default(), check);
        result.unwrap();
        assert_eq!(rows_of(&seen, 0), [0, 1]);
    }

    #[test]
    fn an_error_of_the_task_ends_both_sources() {
        use Step::*;
        // A runs for ever; B waits at a barrier A never reaches.
        let check: Check = Box::new(|_, _, event| match event {
            Got::Row(0, 5000) => Err(Error::Config("the task failed".into())),
            _ => Ok(()),
        });
        let (result, seen, probe) = run(vec![Forever], vec![Rows(0, 2), Checkpoint(1)], Default::default(), check);
        assert_eq!(result.unwrap_err().to_string(), "the task failed");
        assert!(!seen.iter().any(|g| matches!(g, Got::Barrier(..) | Got::Ended(_))));
        // Both sources' emit failed: they ended with an error.
        assert_eq!(*probe.outcome.lock().unwrap(), [Some(false), Some(false)]);
    }

    #[test]
    fn an_error_or_a_panic_of_a_source_ends_the_run() {
        use Step::*;
        let (result, _, probe) = run(vec![Rows(0, 10), Fail], vec![Forever], Default::default(), no_check());
        assert_eq!(result.unwrap_err().to_string(), "source 0 failed");
        assert_eq!(*probe.outcome.lock().unwrap(), [Some(false), Some(false)]);

        let (result, _, probe) = run(vec![Forever], vec![Rows(0, 3), Panic], Default::default(), no_check());
        let message = result.unwrap_err().to_string();
        assert!(message.contains("source 1 panicked"), "{message}");
        assert_eq!(probe.outcome.lock().unwrap()[0], Some(false));
    }

    #[test]
    fn a_stop_ends_both_sources_even_at_a_barrier() {
        use Step::*;
        // A waits at its barrier while B runs until the task asks to stop: B ends, which
        // lets A's barrier through, and A ends too.
        let check: Check = Box::new(|cx, _, event| {
            if let Got::Row(1, 1000) = event {
                cx.request_stop();
            }
            Ok(())
        });
        let (result, seen, probe) = run(vec![Checkpoint(1), Forever], vec![Forever], Default::default(), check);
        result.unwrap();
        assert_eq!(cuts(&seen)[0].1, [at(0, 1), SidePosition::Start]);
        assert_eq!(seen.iter().filter(|g| matches!(g, Got::Ended(_))).count(), 2);
        assert_eq!(*probe.outcome.lock().unwrap(), [Some(true), Some(true)]);
    }

    #[test]
    fn the_handler_is_typed_by_the_sources() {
        let probe = Arc::new(Probe::default());
        let a = Script { side: 0, steps: vec![Step::Rows(0, 3)], probe: Arc::clone(&probe) };
        let b = Script { side: 1, steps: vec![Step::Rows(10, 12)], probe };
        let cx = Context::new(Vec::new(), BTreeMap::new());
        let mut sum = 0;
        let mut ends = 0;
        let mut handle = merged_handler(&a, &b, |event| {
            match event {
                Some(Merged::A(SourceEvent::Row(_, r)) | Merged::B(SourceEvent::Row(_, r))) => sum += r,
                Some(Merged::Ended(_)) => ends += 1,
                None => ends += 10,
                Some(_) => {}
            }
            Ok(())
        });
        run_merged(&cx, a, b, |event| handle(Some(event))).unwrap();
        handle(None).unwrap();
        assert_eq!((sum, ends), (24, 12));
    }
}
