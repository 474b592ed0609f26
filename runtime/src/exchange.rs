//! Running a task N-wide in one process: a hash exchange by key group.
//!
//! A task whose operators are keyed (GROUP BY, windows, Top-N and OVER partitions) runs
//! as one *router* and N *workers* (`'parallelism.default' = 'N'`). The router reads the
//! task's source on its own thread, turns each record into the task's row, and sends it to
//! the worker owning the row's key: the key is hashed ([`hash_key`]) into one of
//! [`KEY_GROUPS`] key groups, and each worker owns a contiguous range of them
//! ([`worker_of`]), as in Flink, so that a change of N moves whole key groups. Each worker
//! runs the task's generated code — its operators, with their own state, and its own
//! writers to the shared sinks — over its rows, as a task of its own (`clicks#2`).
//!
//! **Watermarks** are the router's: it runs the table's watermark over every row, and
//! each row carries the watermark as it was before the row, so that a worker sees the
//! watermark move exactly where a task at parallelism 1 would (between the same rows), and
//! finds the same rows late; a worker whose key groups get no rows still follows it
//! through the watermark the router sends when the source idles.
//!
//! **Checkpoints**: a barrier from the source goes to every worker after the rows before
//! it; the router then arrives at the checkpoint with the source's position (and its
//! watermark), each worker with its operators' state, and the router waits for every
//! worker to have handled the barrier before the source may commit its position.
//!
//! Rows travel in batches of up to [`BATCH`] per worker through bounded channels
//! ([`IN_FLIGHT`] batches): a slow worker holds the router back (backpressure, counted as
//! `dfl_queue_blocked_seconds_total{queue="exchange"}`).

use crate::checkpoint::{SnapshotWriter, TaskCheckpoint};
use crate::connectors::{Barrier, Source, SourceEvent, SourceWatermark};
use crate::error::{Error, Result};
use crate::metrics::QueueMeter;
use crate::pipeline::Context;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Key groups: the unit in which keys, and their state, are spread over workers (Flink's
/// maximum parallelism). Parallelism is at most this.
pub const KEY_GROUPS: u32 = 128;

/// Rows the router batches per worker before sending them.
pub const BATCH: usize = 512;

/// Batches in flight to each worker.
pub const IN_FLIGHT: usize = 8;

/// Rows the router reads, per worker, in a round: a worker sent nothing during a round
/// gets the rows waiting for it and the watermark at its end, so that a worker whose keys
/// are rare (or whose rows the router's filter mostly drops) fires its windows while the
/// source is busy, not only when it idles.
pub const ROUND: usize = 4 * BATCH;

/// The parallelism of the tasks that run N-wide: the `parallelism.default` setting (in
/// the query, or `--set parallelism.default=N`), 1 by default.
pub fn parallelism(cx: &Context) -> Result<usize> {
    let Some(value) = cx.setting("parallelism.default") else { return Ok(1) };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=KEY_GROUPS as usize).contains(&n) => Ok(n),
        _ => Err(Error::Config(format!(
            "parallelism.default = '{value}': expected a whole number from 1 to {KEY_GROUPS}"
        ))),
    }
}

/// The hash of a key: the same on every platform and in every build of this runtime
/// (a checkpoint's keys stay with their workers): FNV-1a over the key's `Hash` writes,
/// integers little-endian and `usize` as 64 bits, then MurmurHash3's finaliser.
pub fn hash_key<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = StableHasher(0xcbf2_9ce4_8422_2325);
    key.hash(&mut h);
    let mut x = h.0;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// FNV-1a with platform-independent integer writes.
struct StableHasher(u64);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i8(&mut self, i: i8) {
        self.write_u8(i as u8);
    }
    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }
    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }
    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }
}

/// The key group of a key's hash.
#[inline]
pub fn key_group(hash: u64) -> u32 {
    (hash % u64::from(KEY_GROUPS)) as u32
}

/// The worker (of `parallelism`) owning key group `group`: workers own contiguous ranges.
#[inline]
pub fn worker_of(group: u32, parallelism: usize) -> usize {
    group as usize * parallelism / KEY_GROUPS as usize
}

/// What the router sends a worker.
enum Message<T> {
    /// Rows, each with the watermark before it.
    Rows(Vec<(i64, T)>),
    /// The watermark moved without rows for this worker (the source idles, a split ended).
    Watermark(i64),
    /// The source idles: the worker hands its batched output on.
    Idle,
    /// A barrier: the worker handles it, then acknowledges.
    Barrier(Barrier),
    /// The input ended: exhausted, or the pipeline stops (the hub's
    /// [`exhausted`](Hub::exhausted) says which). After an error nothing is sent: the
    /// channel closes.
    End,
}

/// The channels between a task's router and its workers, made before either starts.
pub struct Hub<T> {
    parallelism: usize,
    /// Set by the router before it ends its workers: the input was exhausted (the workers
    /// fire what is open and end as finished), else the pipeline stopped.
    exhausted: Arc<AtomicBool>,
    /// The channels' meter, made by the router when it starts.
    queue: Arc<OnceLock<Arc<QueueMeter>>>,
    inputs: Mutex<Vec<Option<Input<T>>>>,
    router: Mutex<Option<Outputs<T>>>,
}

/// The router's ends.
struct Outputs<T> {
    senders: Vec<SyncSender<Message<T>>>,
    acks: Vec<Receiver<()>>,
}

impl<T: Send> Hub<T> {
    /// The channels of a task `parallelism` wide.
    ///
    /// # Panics
    /// If `parallelism` is 0 or above [`KEY_GROUPS`] (the compiler checks it).
    pub fn new(parallelism: usize) -> Arc<Self> {
        assert!((1..=KEY_GROUPS as usize).contains(&parallelism), "parallelism {parallelism}");
        let queue: Arc<OnceLock<Arc<QueueMeter>>> = Arc::default();
        let mut inputs = Vec::new();
        let (mut senders, mut acks) = (Vec::new(), Vec::new());
        for _ in 0..parallelism {
            let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
            let (ack_tx, ack_rx) = mpsc::channel();
            inputs.push(Some(Input { rx, ack: ack_tx, queue: Arc::clone(&queue) }));
            senders.push(tx);
            acks.push(ack_rx);
        }
        Arc::new(Hub {
            parallelism,
            exhausted: Arc::default(),
            queue,
            inputs: Mutex::new(inputs),
            router: Mutex::new(Some(Outputs { senders, acks })),
        })
    }

    /// Whether the router found its input exhausted (read by the workers once their input
    /// ended, so that they and the router agree on it even when a stop comes meanwhile).
    pub fn exhausted(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.exhausted)
    }

    /// How many workers.
    pub fn parallelism(&self) -> usize {
        self.parallelism
    }

    /// Worker `index`'s source (once).
    pub fn input(&self, index: usize) -> Result<Input<T>> {
        let mut inputs = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
        inputs
            .get_mut(index)
            .and_then(Option::take)
            .ok_or_else(|| Error::State(format!("internal error: exchange input {index} taken twice")))
    }

    /// Ends the workers without routing anything (the router's input had ended before the
    /// checkpoint restored): their input is exhausted, as when the router read it to its
    /// end (a worker reading two routers tells the end of its input by both).
    pub fn close(&self) {
        self.exhausted.store(true, Ordering::Release);
        if let Ok(out) = self.outputs() {
            for tx in &out.senders {
                let _ = tx.send(Message::End);
            }
        }
    }

    fn outputs(&self) -> Result<Outputs<T>> {
        let mut router = self.router.lock().unwrap_or_else(|p| p.into_inner());
        router.take().ok_or_else(|| Error::State("internal error: exchange router started twice".into()))
    }
}

/// A worker's source: the rows the router sends it, with the router's watermark as
/// [`SourceEvent::Watermark`] events.
pub struct Input<T> {
    rx: Receiver<Message<T>>,
    ack: Sender<()>,
    queue: Arc<OnceLock<Arc<QueueMeter>>>,
}

fn router_gone() -> Error {
    Error::PeerStopped("the task's router (reading its source) has stopped".into())
}

impl<T> Source for Input<T> {
    type Row = T;

    fn run_events<F: FnMut(SourceEvent<T>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let mut watermark = crate::time::NO_WATERMARK;
        loop {
            // Waits with a timeout: a router that failed before it started routing leaves
            // its channels open, and the run's failure must still end the worker.
            let message = match self.rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) if cx.failed() => return Err(router_gone()),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Err(router_gone()),
            };
            if let Some(q) = self.queue.get() {
                q.popped();
            }
            match message {
                Message::Rows(rows) => {
                    for (wm, row) in rows {
                        if wm != watermark {
                            watermark = wm;
                            emit(SourceEvent::Watermark(wm))?;
                        }
                        emit(SourceEvent::Row(0, row))?;
                    }
                }
                Message::Watermark(wm) => {
                    if wm != watermark {
                        watermark = wm;
                        emit(SourceEvent::Watermark(wm))?;
                    }
                }
                Message::Idle => emit(SourceEvent::Idle)?,
                Message::Barrier(barrier) => {
                    emit(SourceEvent::Barrier(barrier))?;
                    self.ack.send(()).map_err(|_| router_gone())?;
                }
                Message::End => return Ok(()),
            }
        }
    }

    /// The router restores the source; a worker has nothing to restore.
    fn restore(&mut self, _position: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// The router's side: batches per worker, the last watermark each was sent, and whether
/// each was sent anything in this round (of [`ROUND`] rows read per worker).
struct Router<T> {
    out: Outputs<T>,
    batches: Vec<Vec<(i64, T)>>,
    sent: Vec<i64>,
    in_round: Vec<bool>,
    queue: Arc<QueueMeter>,
}

impl<T> Router<T> {
    fn send(&mut self, worker: usize, message: Message<T>) -> Result<()> {
        self.in_round[worker] = true;
        self.queue.pushed();
        match self.out.senders[worker].try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(message)) => {
                let waiting = Instant::now();
                let sent = self.out.senders[worker].send(message).map_err(|_| self.worker_gone(worker));
                self.queue.blocked(waiting.elapsed());
                sent
            }
            Err(TrySendError::Disconnected(_)) => Err(self.worker_gone(worker)),
        }
    }

    /// The error of a worker gone (the run reports the worker's own).
    fn worker_gone(&self, worker: usize) -> Error {
        Error::PeerStopped(format!("worker {worker} of the task has stopped"))
    }

    /// Sends the watermark `wm` to the workers without rows waiting (those with rows get it
    /// with their next row): a worker whose keys get no rows still follows it.
    fn watermark_to_idle(&mut self, wm: i64) -> Result<()> {
        for w in 0..self.batches.len() {
            if self.batches[w].is_empty() && self.sent[w] != wm {
                self.sent[w] = wm;
                self.send(w, Message::Watermark(wm))?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, worker: usize) -> Result<()> {
        if self.batches[worker].is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batches[worker], Vec::with_capacity(BATCH));
        if let Some((wm, _)) = batch.last() {
            self.sent[worker] = *wm;
        }
        self.send(worker, Message::Rows(batch))
    }

    fn flush_all(&mut self) -> Result<()> {
        (0..self.batches.len()).try_for_each(|w| self.flush(w))
    }

    /// Every worker's rows sent, then `message(worker)` to each.
    fn broadcast(&mut self, mut message: impl FnMut(usize) -> Option<Message<T>>) -> Result<()> {
        self.flush_all()?;
        for w in 0..self.batches.len() {
            if let Some(m) = message(w) {
                self.send(w, m)?;
            }
        }
        Ok(())
    }

    /// A round ends: the workers sent nothing during it get their rows waiting and the
    /// watermark `wm` (those whose keys are busy got both with their batches).
    fn end_round(&mut self, wm: Option<i64>) -> Result<()> {
        for w in 0..self.batches.len() {
            if self.in_round[w] {
                continue;
            }
            self.flush(w)?;
            match wm {
                Some(wm) if self.sent[w] != wm => {
                    self.sent[w] = wm;
                    self.send(w, Message::Watermark(wm))?;
                }
                _ => {}
            }
        }
        self.in_round.fill(false);
        Ok(())
    }

    /// The watermark `wm` to every worker not sent it yet.
    fn watermark(&mut self, wm: i64) -> Result<()> {
        self.flush_all()?;
        for w in 0..self.batches.len() {
            if self.sent[w] != wm {
                self.sent[w] = wm;
                self.send(w, Message::Watermark(wm))?;
            }
        }
        Ok(())
    }
}

/// Whether every router a worker reads has read its input to the end (a worker of a join
/// of two tables reads one router per table), as [`Hub::exhausted`] tells of one.
pub struct AllExhausted(pub [Arc<AtomicBool>; 2]);

impl AllExhausted {
    /// Whether both routers read their inputs to the end.
    pub fn load(&self, order: Ordering) -> bool {
        self.0.iter().all(|e| e.load(order))
    }
}

/// How the router makes a worker's row of a source record: the row, its key's hash (and a
/// second row with its key's hash, for a record feeding both sides of a join), and its
/// event time (for the watermark).
pub struct Routed<T> {
    /// The row the workers take: the source's, or what the task's first filters and
    /// projections make of it (`None`: filtered out; its time still moves the watermark).
    pub row: Option<T>,
    /// The hash of its key ([`hash_key`]).
    pub hash: u64,
    /// A second row and the hash of its key, when the record feeds two keyed branches (the
    /// two sides of a join, each keyed by its own columns of the record): it goes to that
    /// key's worker (the first row's too, if it is the same), with the same watermark.
    pub also: Option<(u64, T)>,
    /// Its event time (ms), for the watermark.
    pub event_time: Option<i64>,
}

/// The router of task `task`: reads `source` (already restored from the task's
/// checkpoint), turns each record into a routed row with `route`, and hands the rows to
/// the workers of `hub` by key group, with `watermark` (for event-time tasks) moved by
/// every row; barriers to every worker, and to the checkpoint with the source's position
/// and the watermark. Returns when the input ends or the pipeline stops; the workers then
/// end too.
pub fn route<S: Source, T: Send>(
    cx: &Context,
    task: &mut TaskCheckpoint<'_>,
    source: S,
    hub: &Hub<T>,
    mut watermark: Option<SourceWatermark>,
    mut route: impl FnMut(S::Row) -> Routed<T>,
) -> Result<()> {
    let n = hub.parallelism();
    let queue =
        Arc::clone(hub.queue.get_or_init(|| cx.metrics().queue("exchange", task.name(), (n * IN_FLIGHT) as u64)));
    let mut router = Router {
        out: hub.outputs()?,
        batches: (0..n).map(|_| Vec::with_capacity(BATCH)).collect(),
        sent: vec![crate::time::NO_WATERMARK; n],
        in_round: vec![false; n],
        queue,
    };
    crate::metrics::source_running();
    let (round, mut read) = (ROUND * n, 0);
    let result = source.run_events(cx, |event| match event {
        SourceEvent::Row(split, record) => {
            let before = watermark.as_ref().map_or(crate::time::NO_WATERMARK, SourceWatermark::current);
            let Routed { row, hash, also, event_time } = route(record);
            if let Some(wm) = &mut watermark {
                wm.observe(split, event_time);
            }
            if let Some(row) = row {
                let w = worker_of(key_group(hash), n);
                // A record's two rows are in their batches before either leaves with the
                // watermark sent to the idle ones (which counts this record already).
                router.batches[w].push((before, row));
                let other = also.map(|(h, second)| {
                    let o = worker_of(key_group(h), n);
                    router.batches[o].push((before, second));
                    o
                });
                let mut flushed = false;
                for to in [Some(w), other].into_iter().flatten() {
                    if router.batches[to].len() >= BATCH {
                        router.flush(to)?;
                        flushed = true;
                    }
                }
                // The others follow the watermark too, whether their keys come or not.
                if let (true, Some(wm)) = (flushed, &watermark) {
                    router.watermark_to_idle(wm.current())?;
                }
            }
            read += 1;
            if read < round {
                return Ok(());
            }
            read = 0;
            router.end_round(watermark.as_ref().map(SourceWatermark::current))
        }
        SourceEvent::Barrier(barrier) => {
            let id = barrier.checkpoint;
            let position = barrier.position.clone();
            // Every worker at the watermark (as a task at parallelism 1 would be), then the
            // barrier after the rows before it.
            if let Some(wm) = &watermark {
                router.watermark(wm.current())?;
            }
            router.broadcast(|_| Some(Message::Barrier(barrier.clone())))?;
            if let Some(id) = id {
                let mut snapshot = SnapshotWriter::default();
                if let Some(wm) = &mut watermark {
                    snapshot.save("watermark", "router-watermark", wm)?;
                }
                task.arrive(id, snapshot, &position)?;
            }
            for w in 0..n {
                if router.out.acks[w].recv().is_err() {
                    return Err(router.worker_gone(w));
                }
            }
            Ok(())
        }
        event => {
            if let Some(wm) = &mut watermark {
                wm.on_event(&event);
            }
            if let SourceEvent::Idle = event {
                router.broadcast(|_| Some(Message::Idle))?;
            }
            match &watermark {
                Some(wm) => router.watermark(wm.current()),
                None => Ok(()),
            }
        }
    });
    // After an error the workers' channels just close. Otherwise they end, told whether
    // the input was exhausted (they then fire what is open) or the pipeline stopped: the
    // router's view, so that it and they agree on it however late a stop comes.
    result?;
    hub.exhausted.store(!cx.stopped(), Ordering::Release);
    router.broadcast(|_| Some(Message::End))
}

/// Restores the router's watermark from its task's checkpoint, if there is one (the
/// source is restored by the generated code from the same snapshot).
pub fn restore_watermark(
    restored: &mut crate::checkpoint::SnapshotReader,
    watermark: Option<&mut SourceWatermark>,
) -> Result<()> {
    match watermark {
        Some(wm) => restored.load("watermark", "router-watermark", wm),
        None => Ok(()),
    }
}

/// A worker's watermark: the router's, as its [`SourceEvent::Watermark`] events bring it
/// (the rows' own times are the router's business).
#[derive(Debug)]
pub struct UpstreamWatermark {
    current: i64,
}

impl UpstreamWatermark {
    /// Before any watermark came.
    pub fn new() -> Self {
        UpstreamWatermark { current: crate::time::NO_WATERMARK }
    }

    /// Rows do not move it.
    #[inline]
    pub fn observe(&mut self, _split: usize, _ts_ms: Option<i64>) {}

    /// A watermark event moves it.
    pub fn on_event<R>(&mut self, event: &SourceEvent<R>) {
        if let SourceEvent::Watermark(wm) = *event {
            self.current = self.current.max(wm);
        }
    }

    /// The watermark.
    #[inline]
    pub fn current(&self) -> i64 {
        self.current
    }
}

impl Default for UpstreamWatermark {
    fn default() -> Self {
        Self::new()
    }
}

impl crate::checkpoint::Snapshot for UpstreamWatermark {
    fn save(&mut self, out: &mut Vec<u8>) -> Result<()> {
        crate::checkpoint::encode(&self.current, out)
    }

    fn load(&mut self, input: &mut &[u8]) -> Result<()> {
        self.current = crate::checkpoint::decode(input)?;
        Ok(())
    }
}

/// Not keyed: the greatest of the workers' watermarks (the router's, or behind it).
impl crate::checkpoint::Rescale<()> for UpstreamWatermark {
    fn merge(&mut self, input: &mut &[u8], _keep: &dyn Fn(&()) -> bool) -> Result<()> {
        let current: i64 = crate::checkpoint::decode(input)?;
        self.current = self.current.max(current);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn workers_own_contiguous_ranges_of_every_key_group() {
        for n in [1, 2, 3, 4, 7, 128] {
            let owners: Vec<usize> = (0..KEY_GROUPS).map(|g| worker_of(g, n)).collect();
            assert!(owners.windows(2).all(|w| w[0] <= w[1] && w[1] - w[0] <= 1), "{n}: {owners:?}");
            assert_eq!((owners[0], *owners.last().unwrap()), (0, n - 1), "{n}");
        }
        // Doubling the parallelism splits each worker's range in two: key groups move whole.
        for g in 0..KEY_GROUPS {
            assert_eq!(worker_of(g, 4) / 2, worker_of(g, 2));
        }
    }

    #[test]
    fn keys_spread_over_the_key_groups_and_hash_the_same_every_time() {
        let mut per_group = BTreeMap::new();
        for i in 0..12_800u64 {
            *per_group.entry(key_group(hash_key(&(Some(i), Some(crate::types::Str::new("x")))))).or_insert(0) += 1;
        }
        assert_eq!(per_group.len(), KEY_GROUPS as usize);
        assert!(per_group.values().all(|&n| (50..=150).contains(&n)), "{per_group:?}");
        assert_eq!(hash_key(&(Some(42i64),)), hash_key(&(Some(42i64),)));
        assert_ne!(hash_key(&(Some(42i64),)), hash_key(&(Some(43i64),)));
    }

    #[test]
    fn the_parallelism_setting_is_checked() {
        let cx = |v: &str| Context::new(Vec::new(), [("parallelism.default".to_string(), v.to_string())].into());
        assert_eq!(parallelism(&Context::new(Vec::new(), BTreeMap::new())).unwrap(), 1);
        assert_eq!(parallelism(&cx(" 4 ")).unwrap(), 4);
        for bad in ["0", "129", "four", "-1"] {
            let e = parallelism(&cx(bad)).unwrap_err().to_string();
            assert!(e.contains("parallelism.default") && e.contains(bad), "{e}");
        }
    }

    /// A source of numbered rows with event times, a barrier after row 3, idle at the end.
    struct Script(Vec<SourceEvent<(u64, i64)>>);

    impl Source for Script {
        type Row = (u64, i64);
        fn run_events<F: FnMut(SourceEvent<(u64, i64)>) -> Result<()>>(self, _: &Context, mut emit: F) -> Result<()> {
            self.0.into_iter().try_for_each(&mut emit)
        }
    }

    /// What each of `n` workers sees when `events` are routed by `route` with a watermark
    /// `delay` ms behind the rows' times: rows, watermarks, barriers and idles, in order.
    fn routed(
        n: usize,
        events: Vec<SourceEvent<(u64, i64)>>,
        delay: i64,
        route: impl FnMut((u64, i64)) -> Routed<(u64, i64)>,
    ) -> Vec<Vec<String>> {
        let cx = Context::new(Vec::new(), BTreeMap::new());
        let hub = Hub::<(u64, i64)>::new(n);
        let wm = SourceWatermark::new(crate::time::BoundedOutOfOrderness::sql(delay), None);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..n)
                .map(|w| {
                    let input = hub.input(w).unwrap();
                    let cx = &cx;
                    s.spawn(move || {
                        let mut seen = Vec::new();
                        input
                            .run_events(cx, |e| {
                                seen.push(match e {
                                    SourceEvent::Row(_, (i, _)) => format!("row {i}"),
                                    SourceEvent::Watermark(wm) => format!("wm {wm}"),
                                    SourceEvent::Barrier(b) => format!("barrier {:?}", b.position),
                                    SourceEvent::Idle => "idle".into(),
                                    _ => "other".into(),
                                });
                                Ok(())
                            })
                            .unwrap();
                        seen
                    })
                })
                .collect();
            let mut task = TaskCheckpoint::new(&cx, "t").unwrap();
            super::route(&cx, &mut task, Script(events), &hub, Some(wm), route).unwrap();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        })
    }

    /// A hash of key `i` whose key group worker `w` of `n` owns.
    fn hash_to(i: u64, w: usize, n: usize) -> u64 {
        (0..).map(|h: u64| hash_key(&(i, h))).find(|&h| worker_of(key_group(h), n) == w).unwrap()
    }

    #[test]
    fn rows_go_to_their_key_s_worker_with_the_watermark_before_them() {
        let mut events = vec![SourceEvent::SplitStart(0)];
        for i in 0..6u64 {
            events.push(SourceEvent::Row(0, (i, 1_000 * i as i64)));
            if i == 3 {
                events.push(SourceEvent::Barrier(Barrier { checkpoint: None, position: vec![7] }));
            }
        }
        events.push(SourceEvent::Idle);
        let seen = routed(3, events, 500, |(i, t)| Routed {
            row: Some((i, t)),
            hash: hash_to(i, (i % 3) as usize, 3),
            also: None,
            event_time: Some(t),
        });
        // Worker 1 has rows 1 and 4: row 1 after the watermark of row 0 (0 − 500); before
        // the barrier every worker gets the watermark of row 3, and row 4 comes after it;
        // idle and the last watermark at the end. Worker 0's first row comes before any
        // watermark.
        assert_eq!(seen[1], ["wm -500", "row 1", "wm 2500", "barrier [7]", "row 4", "idle", "wm 4500"], "{seen:?}");
        assert_eq!(seen[0][..5], ["row 0", "wm 1500", "row 3", "wm 2500", "barrier [7]"], "{seen:?}");
        assert!(seen.iter().all(|s| s.last().map(String::as_str) == Some("wm 4500")), "{seen:?}");
    }

    #[test]
    fn a_worker_gets_its_rare_rows_and_the_watermark_every_round() {
        // Row 0 goes to worker 1; the router's filter drops the others.
        let mut events = vec![SourceEvent::SplitStart(0)];
        events.extend((0..ROUND as u64 * 2 + 5).map(|i| SourceEvent::Row(0, (i, i as i64))));
        let seen = routed(2, events, 0, |(i, t)| Routed {
            row: (i == 0).then_some((i, t)),
            hash: hash_to(0, 1, 2),
            also: None,
            event_time: Some(t),
        });
        // After a round of 2·ROUND rows read, both workers are at the watermark then: row
        // 0 left its batch, and nothing is sent at the end but the end.
        let at = format!("wm {}", ROUND * 2 - 1);
        assert_eq!(seen[1], ["row 0".to_string(), at.clone()], "{seen:?}");
        assert_eq!(seen[0], [at], "{seen:?}");
    }

    #[test]
    fn a_second_row_goes_to_the_worker_of_its_key() {
        // Rows 0..6 of 3 workers: keyed to worker i % 3, and the odd ones have a second row
        // (i + 10) for worker (i + 1) % 3; row 2's second row is for its first one's worker.
        let mut events = vec![SourceEvent::SplitStart(0)];
        events.extend((0..6u64).map(|i| SourceEvent::Row(0, (i, 1_000 * i as i64))));
        let seen = routed(3, events, 0, |(i, t)| Routed {
            row: Some((i, t)),
            hash: hash_to(i, (i % 3) as usize, 3),
            also: match i {
                2 => Some((hash_to(i + 7, 2, 3), (i + 10, t))),
                _ => (i % 2 == 1).then(|| (hash_to(i + 7, ((i + 1) % 3) as usize, 3), (i + 10, t))),
            },
            event_time: Some(t),
        });
        let rows = |w: usize| seen[w].iter().filter(|e| e.starts_with("row")).cloned().collect::<Vec<_>>();
        assert_eq!(rows(0), ["row 0", "row 3", "row 15"], "{seen:?}");
        assert_eq!(rows(1), ["row 1", "row 13", "row 4"], "{seen:?}");
        // Row 2's rows in their order, as a task at parallelism 1 would see them.
        assert_eq!(rows(2), ["row 11", "row 2", "row 12", "row 5"], "{seen:?}");
        // Both of record 5's workers see its rows after the watermark of record 4.
        for (w, row) in [(2, "row 5"), (0, "row 15")] {
            let at = seen[w].iter().position(|e| e == row).unwrap();
            assert_eq!(seen[w][at - 1], "wm 4000", "{seen:?}");
        }
    }

    #[test]
    fn a_row_for_two_workers_reaches_both_before_a_watermark_that_counts_it() {
        // Worker 1's batch is one row short of full when a row for worker 0 and worker 1
        // comes: worker 1's batch leaves, and the watermark (now the row's time) goes to
        // the workers without rows waiting — not to worker 0 before the row.
        let mut events = vec![SourceEvent::SplitStart(0)];
        events.extend((0..BATCH as u64).map(|i| SourceEvent::Row(0, (i, i as i64))));
        let last = BATCH as u64 - 1;
        let seen = routed(2, events, 0, |(i, t)| Routed {
            row: Some((i, t)),
            hash: hash_to(i, usize::from(i != last), 2),
            also: (i == last).then(|| (hash_to(i, 1, 2), (i, t))),
            event_time: Some(t),
        });
        let row = format!("row {last}");
        let at = seen[0].iter().position(|e| *e == row).expect("worker 0 has the row");
        let late = format!("wm {last}");
        assert!(!seen[0][..at].contains(&late), "worker 0 saw the row's watermark before it: {seen:?}");
        assert!(seen[1].contains(&row), "{seen:?}");
    }

    #[test]
    fn an_input_is_taken_once() {
        let hub = Hub::<u8>::new(2);
        assert!(hub.input(1).is_ok());
        assert!(hub.input(1).is_err() && hub.input(2).is_err());
    }
}
