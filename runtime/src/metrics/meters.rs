//! What sources, sinks, tasks and checkpoints count: meters they take from the
//! [`Registry`](super::Registry) when they start and update with relaxed atomics.

use super::exposition::{CHECKPOINT_BUCKETS, EVENT_TIME_BUCKETS, Histogram, LATENCY_BUCKETS};
use super::lock;
use crate::pipeline::Counters;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a record was skipped (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Unreadable and skipped (`ignore-parse-errors`, `'scan.errors' = 'skip'`).
    ParseError,
    /// Unreadable and written to the dead-letter file or topic.
    DeadLetter,
}

impl SkipReason {
    pub(super) fn label(self) -> &'static str {
        match self {
            SkipReason::ParseError => "parse_error",
            SkipReason::DeadLetter => "dead_letter",
        }
    }
}

/// What a source table counts: records and bytes read, records skipped, its watermark,
/// and per partition for sources that have them (Kafka).
#[derive(Debug)]
pub struct SourceMeter {
    pub(super) table: String,
    pub(super) records: AtomicU64,
    pub(super) bytes: AtomicU64,
    /// Whether the connector counts bytes (else no bytes series).
    pub(super) counts_bytes: AtomicBool,
    pub(super) skipped: [AtomicU64; 2],
    /// Whether each reason can happen (its series is shown at 0).
    pub(super) skips_expected: [AtomicBool; 2],
    pub(super) watermark: AtomicI64,
    pub(super) partitions: Mutex<Vec<Arc<PartitionMeter>>>,
}

impl SourceMeter {
    pub(super) fn new(table: &str) -> Self {
        SourceMeter {
            table: table.to_string(),
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            counts_bytes: AtomicBool::new(false),
            skipped: Default::default(),
            skips_expected: Default::default(),
            watermark: AtomicI64::new(crate::time::NO_WATERMARK),
            partitions: Mutex::default(),
        }
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Counts `n` records read: rows, and records skipped as unreadable (for sources
    /// without partitions).
    #[inline]
    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` bytes read (and shows the bytes series).
    #[inline]
    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// The source counts bytes: the series is shown from now on, at 0 until bytes come.
    pub fn counts_bytes(&self) {
        self.counts_bytes.store(true, Ordering::Relaxed);
    }

    /// Records may be skipped for `reason`: its series is shown, at 0 until one is.
    pub fn expect_skips(&self, reason: SkipReason) {
        self.skips_expected[reason as usize].store(true, Ordering::Relaxed);
    }

    /// A record skipped for `reason`; also counted in the run's
    /// [`Counters::skipped`](crate::pipeline::Counters::skipped) (`counters`).
    pub fn skip(&self, reason: SkipReason, counters: &Counters) {
        self.skipped[reason as usize].fetch_add(1, Ordering::Relaxed);
        counters.skipped.add(1);
    }

    /// Records of `table` read so far (not counting partitions).
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Publishes the watermark (event time, ms).
    #[inline]
    pub fn set_watermark(&self, ms: i64) {
        self.watermark.store(ms, Ordering::Relaxed);
    }

    /// The meter of partition `partition` of `topic`, made if new.
    pub fn partition(&self, topic: &str, partition: i32) -> Arc<PartitionMeter> {
        let mut parts = lock(&self.partitions);
        if let Some(p) = parts.iter().find(|p| p.partition == partition && p.topic == topic) {
            return Arc::clone(p);
        }
        let p = Arc::new(PartitionMeter {
            topic: topic.to_string(),
            partition,
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            position: AtomicI64::new(-1),
            high: AtomicI64::new(-1),
        });
        parts.push(Arc::clone(&p));
        p
    }
}

/// What a source counts per partition (a Kafka topic's partition).
#[derive(Debug)]
pub struct PartitionMeter {
    pub(super) topic: String,
    pub(super) partition: i32,
    pub(super) records: AtomicU64,
    pub(super) bytes: AtomicU64,
    /// The offset of the next record the source reads (`-1`: unknown).
    pub(super) position: AtomicI64,
    /// The partition's high watermark as last known (`-1`: unknown or not assigned).
    pub(super) high: AtomicI64,
}

impl PartitionMeter {
    /// Counts `records` records of `bytes` bytes.
    #[inline]
    pub fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Where the source is (the next offset) and the partition's end (`high`), for the
    /// consumer lag; `high` < 0 hides the lag (the partition is not assigned).
    pub fn set_offsets(&self, position: i64, high: i64) {
        self.position.store(position, Ordering::Relaxed);
        self.high.store(high, Ordering::Relaxed);
    }

    /// Records counted so far.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
}

/// What a sink table counts: rows handed to it, how long they waited since the source
/// event that produced them, and how far behind their event time they are.
#[derive(Debug)]
pub struct SinkMeter {
    pub(super) table: String,
    pub(super) records: AtomicU64,
    pub(super) latency: Histogram,
    pub(super) event_time: Histogram,
    /// Whether the sink's rows carry an event time (else no event-time series).
    pub(super) timed: AtomicBool,
    /// Time the tasks spent handing batches to the sink (waiting for its lock included).
    pub(super) busy_nanos: AtomicU64,
}

impl SinkMeter {
    pub(super) fn new(table: &str) -> Self {
        SinkMeter {
            table: table.to_string(),
            records: AtomicU64::new(0),
            latency: Histogram::new(LATENCY_BUCKETS),
            event_time: Histogram::new(EVENT_TIME_BUCKETS),
            timed: AtomicBool::new(false),
            busy_nanos: AtomicU64::new(0),
        }
    }

    /// A batch of `rows` rows (or changes) taken by the sink, `waited` after its first row
    /// was emitted; `event_time` is its first row's event time (ms), if rows have one.
    #[inline]
    pub fn batch(&self, rows: u64, waited: Option<Duration>, event_time: Option<i64>) {
        self.records.fetch_add(rows, Ordering::Relaxed);
        if let Some(w) = waited {
            self.latency.observe(w);
        }
        if let Some(t) = event_time {
            let behind = crate::time::epoch_ms().saturating_sub(t).max(0);
            self.event_time.observe(Duration::from_millis(behind as u64));
        }
    }

    /// A task spent `d` handing a batch to the sink.
    #[inline]
    pub fn wrote_for(&self, d: Duration) {
        self.busy_nanos.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The sink's rows carry an event time: its latency series is shown from now on.
    pub fn timed(&self) {
        self.timed.store(true, Ordering::Relaxed);
    }

    /// Rows counted so far.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
}

/// What is counted per task (by the task's name: its source table, `a+b` for two tables
/// joined, `values_<i>`) from generated code: late rows and rows dropped at sinks.
#[derive(Debug)]
pub struct TaskMeter {
    pub(super) late: AtomicU64,
    pub(super) dropped: AtomicU64,
    /// Bytes of the task's state in the last checkpoint (snapshot and files); `u64::MAX`
    /// before one.
    pub(super) state_bytes: AtomicU64,
    /// Of which in state files (RocksDB).
    pub(super) disk_bytes: AtomicU64,
}

impl Default for TaskMeter {
    fn default() -> Self {
        TaskMeter {
            late: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            state_bytes: AtomicU64::new(u64::MAX),
            disk_bytes: AtomicU64::new(0),
        }
    }
}

/// What the checkpoint coordinator counts.
#[derive(Debug)]
pub struct CheckpointMeter {
    pub(super) completed: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) duration: Histogram,
    pub(super) last_bytes: AtomicU64,
    pub(super) last_completed_ms: AtomicI64,
}

impl Default for CheckpointMeter {
    fn default() -> Self {
        CheckpointMeter {
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            duration: Histogram::new(CHECKPOINT_BUCKETS),
            last_bytes: AtomicU64::new(0),
            last_completed_ms: AtomicI64::new(0),
        }
    }
}

impl CheckpointMeter {
    /// A checkpoint completed after `took`, with `bytes` of task snapshots.
    pub fn completed(&self, took: Duration, bytes: u64) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        self.duration.observe(took);
        self.last_bytes.store(bytes, Ordering::Relaxed);
        self.last_completed_ms.store(crate::time::epoch_ms(), Ordering::Relaxed);
    }

    /// A checkpoint failed (and was skipped).
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Adds `n` to a counter only one thread writes: a relaxed load and store, no locked
/// instruction (readers on other threads see the total with some delay).
#[inline]
fn single_writer_add(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// What one stateful operator of a task counts (from generated code, on the task's own
/// thread): rows and changes in and out, and the size of its state at the last
/// checkpoint. Each instance has one writer; the registry sums instances of one id.
#[derive(Debug)]
pub struct OperatorMeter {
    pub(super) task: String,
    /// The operator's id in `dflc explain` (`t0.b1.s2`, `join0`).
    pub(super) id: String,
    /// What it is, as `dflc explain` names it (`window`, `group`, `join`…).
    pub(super) kind: &'static str,
    /// The section of the task's snapshot holding its state.
    pub(super) section: String,
    pub(super) rows_in: AtomicU64,
    pub(super) rows_out: AtomicU64,
    /// Bytes of its section in the last checkpoint; `u64::MAX` before one.
    pub(super) state_bytes: AtomicU64,
}

impl OperatorMeter {
    pub(super) fn new(task: &str, id: &str, kind: &'static str, section: &str) -> Self {
        OperatorMeter {
            task: task.to_string(),
            id: id.to_string(),
            kind,
            section: section.to_string(),
            rows_in: AtomicU64::new(0),
            rows_out: AtomicU64::new(0),
            state_bytes: AtomicU64::new(u64::MAX),
        }
    }

    /// A row or change given to the operator.
    #[inline]
    pub fn row_in(&self) {
        single_writer_add(&self.rows_in, 1);
    }

    /// A row or change the operator emitted.
    #[inline]
    pub fn row_out(&self) {
        single_writer_add(&self.rows_out, 1);
    }

    /// Rows in and out so far.
    pub fn rows(&self) -> (u64, u64) {
        (self.rows_in.load(Ordering::Relaxed), self.rows_out.load(Ordering::Relaxed))
    }
}

/// A queue between two threads of a task (a source's thread and the task reading two
/// tables, a program's channel and a `rust` source): items waiting, its capacity, and
/// how long senders were blocked on it being full — backpressure.
#[derive(Debug)]
pub struct QueueMeter {
    pub(super) queue: &'static str,
    pub(super) table: String,
    pub(super) capacity: u64,
    pub(super) length: AtomicI64,
    pub(super) blocked_nanos: AtomicU64,
}

impl QueueMeter {
    pub(super) fn new(queue: &'static str, table: &str, capacity: u64) -> Self {
        QueueMeter {
            queue,
            table: table.to_string(),
            capacity,
            length: AtomicI64::new(0),
            blocked_nanos: AtomicU64::new(0),
        }
    }

    /// An item was queued.
    #[inline]
    pub fn pushed(&self) {
        self.length.fetch_add(1, Ordering::Relaxed);
    }

    /// An item was taken.
    #[inline]
    pub fn popped(&self) {
        self.length.fetch_sub(1, Ordering::Relaxed);
    }

    /// A sender waited `d` for room.
    pub fn blocked(&self, d: Duration) {
        self.blocked_nanos.fetch_add(d.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
    }

    /// Items waiting now.
    pub fn len(&self) -> u64 {
        self.length.load(Ordering::Relaxed).max(0) as u64
    }

    /// Whether no item waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
