//! Two stages across processes: a task whose state is kept per Kafka partition
//! (`'scale-out.mode' = 'partition'`) but whose later steps are keyed otherwise than its
//! first (Nexmark q5: counts per auction and window, then the greatest count per window),
//! as [`crate::stage`] runs such a task in one process.
//!
//! 1. The **first stage** runs per partition (of the table's topic, or of its shuffle
//!    topic: [`super::shuffle`]) up to its window aggregation; each instance writes the
//!    window's rows through a [`StageOut`] to the task's **stage topic**
//!    `<group>-<task>-stage`, which has one partition (created with the table's replicas
//!    if it does not exist), each row with its window's last millisecond as its time, and
//!    after them a mark with the instance's watermark.
//! 2. The **second stage** runs per partition of the stage topic — one instance, in
//!    whichever process the group `<group>-<task>-stage` gives it to, with its state in
//!    the shared folder like any instance — on the rows [`StageInput`] gives it.
//!
//! **Watermark.** The second stage's watermark is the least, over every partition of the
//! first stage, of the greatest mark it has of it (none until every partition has one): a
//! mark follows the rows written before it, so no row comes after a watermark that passed
//! its window.
//!
//! **Idle partitions.** With the table's idle timeout, an instance whose watermark has not
//! moved for that long (the task's thread tells the instances of partitions without
//! records that they idle) writes an *idle* record: the second stage leaves its partition
//! out of the least until its next mark, and takes the greatest mark while all are idle.
//!
//! **Each row once.** An instance of the first stage that restarts from its partition's
//! snapshot (in another process, after a crash) fires again windows it had fired and
//! written. Windows fire when the watermark passes their last millisecond and a mark
//! follows every firing, so a window fired before a mark `m` of its partition has a time
//! at or below `m`, and one fired after it a time above: the second stage keeps a
//! partition's rows until the partition's next mark and then drops those at or below the
//! greatest mark it had of it (written again). An instance starting writes a *start*
//! first: rows of the partition still held then were written after the last mark by an
//! instance that died in the middle of a firing, and are dropped (the new instance writes
//! that firing again, whole). The marks, and the rows held, are in the second stage's
//! snapshot. Like the shuffle topic's writers, the stage's producers are idempotent and
//! gapless, and a barrier waits for everything written before it to be acknowledged
//! before the partition's snapshot may be written.

use super::shuffle::{Envelope, Forwarded, MARK_EVERY, Mark};
use super::source::{KafkaSource, Record};
use super::{PRODUCER_DEFAULTS, Producer_, client_config, flush, flush_limit, kafka_error, producer, send};
use crate::checkpoint::{decode, encode};
use crate::connectors::{Barrier, Source, SourceEvent};
use crate::error::{Error, Result};
use crate::options::TableOptions;
use crate::pipeline::Context;
use crate::time::NO_WATERMARK;
use rdkafka::producer::{BaseRecord, Producer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// What a record of a stage topic holds (in an envelope of [`super::shuffle`], whose
/// `partition` is the first stage's partition that wrote it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Staged<T> {
    /// An instance of the first stage started on its partition: rows of it written since
    /// its last mark are void (they are written again).
    Start,
    /// A row of the first stage's window output.
    Row(T),
    /// The partition had no record for the table's idle timeout: it holds the second
    /// stage's watermark back no more, until its next mark.
    Idle,
}

impl<T> Staged<T> {
    /// The blank row of the records that carry marks.
    fn blank() -> Self {
        Staged::Start
    }
}

/// The stage topic of task `task` reading the table of `opts` (and its consumer group).
pub fn topic_name(opts: &TableOptions, task: &str) -> Result<String> {
    super::shuffle::own_topic_name(opts, task, "stage")
}

/// Creates the stage topic `topic` (one partition, the replicas of the table's topic) if
/// it does not exist; one found with other partitions is refused.
fn ensure_topic(client: &Producer_, opts: &TableOptions, topic: &str) -> Result<()> {
    let table = &opts.table;
    let partitions = match super::shuffle::partitions_of(client, table, topic)? {
        0 => {
            let made = super::shuffle::create_own_topic(client, opts, topic, 1)?;
            tracing::info!(table, topic, "created the stage topic");
            made
        }
        n => n,
    };
    match partitions {
        1 => Ok(()),
        0 => Err(Error::Kafka { table: table.clone(), message: format!("the stage topic '{topic}' has no partition") }),
        n => Err(Error::Kafka {
            table: table.clone(),
            message: format!(
                "the stage topic '{topic}' has {n} partitions: the pipeline writes and reads one (delete the \
                 topic, or let the pipeline make it)"
            ),
        }),
    }
}

/// An instance of the first stage's writer to the stage topic: the window's rows, then
/// marks of its watermark (see the module documentation).
pub struct StageOut<T> {
    table: String,
    topic: String,
    producer: Producer_,
    limit: Option<Duration>,
    max_bytes: usize,
    /// The first stage's partition the instance reads, of `partitions`.
    partition: i32,
    partitions: i32,
    /// Rows written, numbering them.
    written: i64,
    /// Rows were written since the last mark, and the greatest time among them.
    unmarked: bool,
    unmarked_time: i64,
    /// The last mark sent, and when; the instance's watermark.
    sent: i64,
    at: Instant,
    watermark: i64,
    /// How often the watermark moved (the clock is read every [`CLOCK_EVERY`] moves).
    moves: u32,
    /// The table's idle timeout; the watermark when the instance was last told it idles,
    /// and since when it has not moved; whether the partition was marked idle since.
    idle_after: Option<Duration>,
    still: Option<(i64, Instant)>,
    idle_sent: bool,
    buf: Vec<u8>,
    row: Vec<u8>,
    _rows: PhantomData<fn(T)>,
}

/// Moves of the watermark between readings of the clock, for its periodic mark.
const CLOCK_EVERY: u32 = 64;

/// The writer to task `task`'s stage topic of the instance of the first stage reading
/// `partition` of `topic` (the table of `opts`'s, or its shuffle topic): it writes a start
/// first.
pub fn writer<T: Serialize>(
    cx: &Context,
    opts: &TableOptions,
    task: &str,
    topic: &str,
    partition: i32,
) -> Result<StageOut<T>> {
    let table = opts.table.clone();
    let mut defaults = PRODUCER_DEFAULTS.to_vec();
    let client_id = format!("dflc-{table}-stage");
    defaults.push(("client.id", &client_id));
    let mut config = client_config(opts, &defaults)?;
    // A row lost in between would leave its window short.
    config.set(super::shuffle::NO_AUTO_CREATE, "false").set("enable.gapless.guarantee", "true");
    let max_bytes = super::shuffle::envelope_limit(opts)?;
    config.set("message.max.bytes", max_bytes.to_string());
    let producer = producer(&table, &config, false)?;
    // The first stage's partitions: the instances' topic's (not the table's: a shuffle
    // topic made before keeps its partitions).
    let partitions = super::shuffle::partitions_of(&producer, &table, topic)?;
    if partitions == 0 {
        return Err(opts.error("topic", format!("topic '{topic}' does not exist")));
    }
    let topic = topic_name(opts, task)?;
    ensure_topic(&producer, opts, &topic)?;
    let idle_after = crate::connectors::watermark::idle_timeout_ms(cx, &opts.table)?
        .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
    let limit = flush_limit(&config);
    let mut out = StageOut {
        table,
        topic,
        producer,
        limit,
        max_bytes,
        partition,
        partitions,
        written: 0,
        unmarked: false,
        unmarked_time: NO_WATERMARK,
        sent: NO_WATERMARK,
        at: Instant::now(),
        watermark: NO_WATERMARK,
        moves: 0,
        idle_after,
        still: None,
        idle_sent: false,
        buf: Vec::new(),
        row: Vec::new(),
        _rows: PhantomData,
    };
    out.staged(None, &Staged::<T>::Start)?;
    Ok(out)
}

impl<T: Serialize> StageOut<T> {
    /// Writes a row of a window whose last millisecond is `time`.
    pub fn write(&mut self, time: i64, row: T) -> Result<()> {
        self.staged(Some(time), &Staged::Row(row))?;
        self.written += 1;
        self.unmarked = true;
        self.unmarked_time = self.unmarked_time.max(time);
        Ok(())
    }

    /// The instance's watermark moved to `wm` (its windows up to it fired): marked at once
    /// after rows, else at most every [`MARK_EVERY`].
    pub fn watermark(&mut self, wm: i64) -> Result<()> {
        if self.unmarked {
            self.watermark = self.watermark.max(wm);
            return self.mark(self.watermark);
        }
        if wm <= self.watermark {
            return Ok(());
        }
        self.watermark = wm;
        // Called after every row: the clock is read once in a while.
        self.moves += 1;
        if self.moves.is_multiple_of(CLOCK_EVERY) && self.at.elapsed() >= MARK_EVERY {
            return self.mark(wm);
        }
        Ok(())
    }

    /// The instance's input waits (the source waits, or its partition had no record for
    /// a while): its watermark is marked if it moved; once it has not moved for the
    /// table's idle timeout, the partition is marked idle.
    pub fn idle(&mut self) -> Result<()> {
        if self.unmarked || self.watermark > self.sent {
            self.mark(self.watermark)?;
        }
        let Some(after) = self.idle_after else { return Ok(()) };
        match self.still {
            Some((wm, since)) if wm == self.watermark => {
                if !self.idle_sent && since.elapsed() > after {
                    self.staged(None, &Staged::Idle)?;
                    self.idle_sent = true;
                }
            }
            _ => self.still = Some((self.watermark, Instant::now())),
        }
        Ok(())
    }

    /// A barrier: everything written before it is acknowledged before it goes on (the
    /// partition's snapshot, after it, must not be ahead of the stage topic).
    pub fn barrier(&mut self, _barrier: &Barrier) -> Result<()> {
        self.idle()?;
        self.flush()
    }

    /// The instance ends: `exhausted` (its bounded input was read to its end, its windows
    /// all fired), its partition is marked as ended; else (its partition taken away, the
    /// run stopped) its next instance goes on.
    pub fn end(&mut self, exhausted: bool) -> Result<()> {
        match exhausted {
            true => self.mark(i64::MAX)?,
            false if self.unmarked || self.watermark > self.sent => self.mark(self.watermark)?,
            false => {}
        }
        self.flush()
    }

    fn staged(&mut self, time: Option<i64>, staged: &Staged<T>) -> Result<()> {
        self.row.clear();
        encode(staged, &mut self.row)?;
        // The second stage reads nothing but the partition and the time of the envelope
        // (no topic name per row).
        let forwarded = Forwarded {
            side: 0,
            topic: String::new(),
            partition: self.partition,
            offset: self.written,
            timestamp: time,
            timestamp_type: 0,
            key: None,
            value: Some(std::mem::take(&mut self.row)),
            headers: Vec::new(),
        };
        let envelope = Envelope::Row(forwarded);
        self.put(&envelope)?;
        if let Envelope::Row(Forwarded { value: Some(row), .. }) = envelope {
            self.row = row;
        }
        Ok(())
    }

    /// Marks `wm`, or more: never less than a mark before, and never less than the time
    /// of a row written since the last one (the windows fired at the end of a bounded input
    /// are beyond the watermark), so that a row written before a mark is never above it.
    fn mark(&mut self, wm: i64) -> Result<()> {
        let wm = wm.max(self.sent).max(self.unmarked_time);
        let mark = Mark { side: 0, partitions: self.partitions, watermarks: vec![(self.partition, wm)] };
        self.put(&Envelope::Mark(mark))?;
        (self.sent, self.at, self.unmarked, self.unmarked_time) = (wm, Instant::now(), false, NO_WATERMARK);
        self.idle_sent = false;
        Ok(())
    }

    fn put(&mut self, envelope: &Envelope) -> Result<()> {
        if self.producer.context().has_failed() {
            // Nothing may follow a row that was not written: fail with its reason.
            self.flush()?;
        }
        self.buf.clear();
        encode(envelope, &mut self.buf)?;
        if self.buf.len() > self.max_bytes {
            return Err(Error::Kafka {
                table: self.table.clone(),
                message: format!(
                    "a row of the first stage is {} bytes for the stage topic '{}', above the {} bytes its \
                     messages may have: set the table's 'properties.message.max.bytes' higher",
                    self.buf.len(),
                    self.topic,
                    self.max_bytes
                ),
            });
        }
        let key = self.partition.to_le_bytes();
        let record = BaseRecord::to(&self.topic).partition(0).key(&key[..]).payload(&self.buf[..]);
        send(&self.producer, record).map_err(|e| kafka_error(&self.table, "writing to the stage topic", &e))?;
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        flush(&self.producer, &self.table, &format!("stage topic '{}'", self.topic), self.limit, true)
    }
}

/// The source of the second stage of task `task` reading the table of `opts`: its stage
/// topic (created if it does not exist yet), in a group of its own; read until the marks
/// say every partition ended when the table is read to an end.
pub fn source<T>(opts: &TableOptions, task: &str) -> Result<KafkaSource<Staged<T>>>
where
    T: DeserializeOwned + Send + 'static,
{
    let topic = topic_name(opts, task)?;
    ensure_topic(&super::shuffle::metadata_client(opts)?, opts, &topic)?;
    let o = super::partitioned::options(&super::shuffle::topic_options(opts, &topic));
    let decode: super::source::SideDecoder<Staged<T>> = Box::new(|_, _, value| {
        let bytes = value.ok_or_else(|| "a record of a stage topic without a value".to_string())?;
        let staged = postcard::from_bytes(bytes).map_err(|e| format!("not a record of a stage topic: {e}"))?;
        Ok(Some((staged, None, false)))
    });
    let until_ended = super::shuffle::bounded(opts).then_some(1);
    let source = super::source::source_decoding(&o, decode)?;
    Ok(source.reading_envelopes(&topic, Staged::blank, until_ended).purging(super::shuffle::purge(opts, &topic)?))
}

/// The second stage's input from the stage topic: the first stage's rows, each once, with
/// the watermark its marks give (see the module documentation).
pub struct StageInput<S, T> {
    input: S,
    state: StageState<T>,
}

/// What the second stage keeps of the first stage's partitions: their number and per
/// partition the greatest mark, as an instance of a shuffle topic keeps them (their
/// snapshots' positions start alike: a partition taken over knows the ends marked before
/// its snapshot from it), and the rows written since a partition's last mark.
#[derive(Debug, Clone)]
struct StageState<T> {
    marks: super::shuffle::ShuffledState,
    held: BTreeMap<i32, Vec<(i64, T)>>,
    /// The partitions marked idle since their last mark.
    idle: BTreeSet<i32>,
}

impl<T> Default for StageState<T> {
    fn default() -> Self {
        StageState { marks: Default::default(), held: BTreeMap::new(), idle: BTreeSet::new() }
    }
}

impl<T> StageState<T> {
    /// The least over every partition not idle of its greatest mark (none until each has
    /// one); while all are idle, the greatest (as a source's watermark is when all its
    /// splits idle).
    fn watermark(&self) -> i64 {
        let partitions = self.marks.partitions.get(&0).copied().unwrap_or(0);
        let mut least = None;
        for p in (0..partitions).filter(|p| !self.idle.contains(p)) {
            match self.marks.marks.get(&(0, p)) {
                Some(&wm) => least = Some(least.map_or(wm, |l: i64| l.min(wm))),
                None => return NO_WATERMARK,
            }
        }
        least.or_else(|| self.marks.marks.values().copied().max()).unwrap_or(NO_WATERMARK)
    }

    /// A mark `wm` of `partition`, of `partitions`: the rows held for it that were not
    /// written before (at or below its greatest mark), in order.
    fn mark(&mut self, partition: i32, partitions: i32, wm: i64) -> Vec<T> {
        self.idle.remove(&partition);
        let n = self.marks.partitions.entry(0).or_default();
        *n = (*n).max(partitions);
        let last = self.marks.marks.get(&(0, partition)).copied();
        self.marks.marks.insert((0, partition), last.map_or(wm, |m| m.max(wm)));
        let held = self.held.remove(&partition).unwrap_or_default();
        held.into_iter().filter(|(t, _)| last.is_none_or(|m| *t > m)).map(|(_, row)| row).collect()
    }
}

impl<S, T> StageInput<S, T> {
    /// The second stage's input `input`, its partition of the stage topic.
    pub fn new(input: S) -> Self {
        StageInput { input, state: StageState::default() }
    }
}

impl<T, S> Source for StageInput<S, T>
where
    T: Serialize + DeserializeOwned,
    S: Source<Row = Record<Staged<T>>>,
{
    type Row = T;

    fn run_events<F: FnMut(SourceEvent<T>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let StageInput { input, mut state } = self;
        if let Some(wm) = state.marks.emitted {
            emit(SourceEvent::Watermark(wm))?;
        }
        input.run_events(cx, |event| match event {
            SourceEvent::Row(split, record) => {
                match (record.mark, record.value) {
                    (Some(mark), _) => {
                        for (partition, wm) in mark.watermarks {
                            for row in state.mark(partition, mark.partitions, wm) {
                                emit(SourceEvent::Row(split, row))?;
                            }
                        }
                    }
                    (None, Staged::Start) => drop(state.held.remove(&record.partition)),
                    (None, Staged::Row(row)) => {
                        let time = record.timestamp.map_or(i64::MIN, |t| t.millis());
                        state.held.entry(record.partition).or_default().push((time, row));
                        return Ok(());
                    }
                    (None, Staged::Idle) => drop(state.idle.insert(record.partition)),
                }
                let wm = state.watermark();
                if wm > NO_WATERMARK && state.marks.emitted.is_none_or(|e| wm > e) {
                    state.marks.emitted = Some(wm);
                    emit(SourceEvent::Watermark(wm))?;
                }
                Ok(())
            }
            SourceEvent::Barrier(Barrier { checkpoint, position }) => {
                let mut bytes = Vec::new();
                encode(&(position, &state.marks), &mut bytes)?;
                encode(&(&state.held, &state.idle), &mut bytes)?;
                emit(SourceEvent::Barrier(Barrier { checkpoint, position: bytes }))
            }
            SourceEvent::SplitStart(split) => emit(SourceEvent::SplitStart(split)),
            SourceEvent::SplitEnd(split) => emit(SourceEvent::SplitEnd(split)),
            SourceEvent::Idle => emit(SourceEvent::Idle),
            // The marks make the watermark.
            SourceEvent::Watermark(_) => Ok(()),
        })
    }

    /// The marks and held rows of the snapshot, and the input's own position.
    fn restore(&mut self, position: &[u8]) -> Result<()> {
        let mut input = position;
        let (inner, marks): (Vec<u8>, _) = decode(&mut input)?;
        let (held, idle) = decode(&mut input)?;
        self.state = StageState { marks, held, idle };
        self.input.restore(&inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_wait_for_their_mark_and_those_written_again_are_dropped() {
        let mut s: StageState<&str> = StageState::default();
        s.held.insert(0, vec![(9, "a@9"), (19, "b@19")]);
        assert_eq!(s.mark(0, 2, 20), vec!["a@9", "b@19"]);
        assert_eq!(s.watermark(), NO_WATERMARK, "partition 1 has no mark yet");
        assert!(s.mark(1, 2, 15).is_empty());
        assert_eq!(s.watermark(), 15);
        // Partition 0 restarted from a snapshot at watermark 5: the windows up to 20 come
        // again (dropped), the one after them is new.
        assert!(s.mark(0, 2, 5).is_empty());
        assert_eq!(s.marks.marks[&(0, 0)], 20, "a lower mark does not move a partition's mark back");
        s.held.insert(0, vec![(9, "a@9"), (19, "b@19"), (29, "c@29")]);
        assert_eq!(s.mark(0, 2, 30), vec!["c@29"]);
        assert_eq!(s.watermark(), 15);
        assert!(s.mark(1, 2, 40).is_empty());
        assert_eq!(s.watermark(), 30);
    }

    #[test]
    fn an_idle_partition_holds_the_watermark_back_no_more_until_its_next_mark() {
        let mut s: StageState<&str> = StageState::default();
        assert!(s.mark(0, 3, 20).is_empty());
        assert!(s.mark(1, 3, 30).is_empty());
        assert_eq!(s.watermark(), NO_WATERMARK, "partition 2 has no mark");
        s.idle.insert(2);
        assert_eq!(s.watermark(), 20);
        s.idle.insert(0);
        assert_eq!(s.watermark(), 30);
        s.idle.insert(1);
        assert_eq!(s.watermark(), 30, "all idle: the greatest mark");
        assert!(s.mark(2, 3, 25).is_empty());
        assert_eq!(s.watermark(), 25, "marked again, partition 2 counts again");
        let mut none: StageState<&str> = StageState::default();
        none.idle.extend([0, 1]);
        assert_eq!(none.watermark(), NO_WATERMARK);
    }

    /// What a stage topic's partition holds, as its source reads it.
    struct Script(Vec<Record<Staged<String>>>);

    impl Source for Script {
        type Row = Record<Staged<String>>;

        fn run_events<F: FnMut(SourceEvent<Self::Row>) -> Result<()>>(self, _cx: &Context, mut emit: F) -> Result<()> {
            for record in self.0 {
                emit(SourceEvent::Row(0, record))?;
            }
            emit(SourceEvent::Barrier(Barrier { checkpoint: Some(1), position: vec![7] }))
        }

        fn restore(&mut self, position: &[u8]) -> Result<()> {
            assert_eq!(position, [7]);
            Ok(())
        }
    }

    fn record(partition: i32, time: Option<i64>, value: Staged<String>, mark: Option<i64>) -> Record<Staged<String>> {
        Record {
            value,
            key: None,
            topic: crate::types::Str::new("g-t-stage"),
            partition,
            offset: 0,
            timestamp: time.map(crate::types::Timestamp::from_millis),
            timestamp_type: "NoTimestampType",
            headers: Vec::new(),
            tombstone: false,
            mark: mark.map(|wm| Mark { side: 0, partitions: 2, watermarks: vec![(partition, wm)] }),
            raw: None,
        }
    }

    fn row(partition: i32, time: i64, v: &str) -> Record<Staged<String>> {
        record(partition, Some(time), Staged::Row(v.to_string()), None)
    }

    fn mark(partition: i32, wm: i64) -> Record<Staged<String>> {
        record(partition, None, Staged::Start, Some(wm))
    }

    fn start(partition: i32) -> Record<Staged<String>> {
        record(partition, None, Staged::Start, None)
    }

    /// The events the second stage gets from `input` (rows, watermarks), and the position
    /// of the barrier at its end.
    fn run(input: StageInput<Script, String>) -> (Vec<String>, Vec<u8>) {
        let cx = Context::new(Vec::new(), BTreeMap::new());
        let (mut seen, mut position) = (Vec::new(), Vec::new());
        input
            .run_events(&cx, |event| {
                match event {
                    SourceEvent::Row(_, row) => seen.push(row),
                    SourceEvent::Watermark(wm) => seen.push(format!("wm {wm}")),
                    SourceEvent::Barrier(b) => position = b.position,
                    _ => {}
                }
                Ok(())
            })
            .unwrap();
        (seen, position)
    }

    #[test]
    fn a_start_voids_the_rows_of_a_firing_cut_short_and_the_held_rows_are_in_the_snapshot() {
        let script = Script(vec![
            row(0, 9, "a"),
            mark(0, 10),
            mark(1, 12),
            // Partition 0's instance dies in the middle of a firing: "b" is never marked.
            row(0, 19, "b"),
            start(0),
            row(0, 19, "b"),
            row(0, 29, "c"),
            mark(0, 30),
            // Held at the barrier: in the snapshot.
            row(1, 14, "d"),
        ]);
        let (seen, position) = run(StageInput::new(script));
        assert_eq!(seen, ["a", "wm 10", "b", "c", "wm 12"]);
        // The position reads as a shuffle topic instance's does (for the ends marked).
        let mut ends = super::super::shuffle::Ends::default();
        ends.restore(&position).unwrap();
        assert!(!ends.all(1));
        let mut restored = StageInput::new(Script(vec![mark(1, 40)]));
        restored.restore(&position).unwrap();
        let (seen, _) = run(restored);
        assert_eq!(seen, ["wm 12", "d", "wm 30"]);
    }
}
