//! What sources, sinks, tasks and checkpoints count: meters they take from the
//! [`Registry`](super::Registry) when they start and update with relaxed atomics.

use super::exposition::{CHECKPOINT_BUCKETS, Histogram, LATENCY_BUCKETS};
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

/// What a sink table counts: rows handed to it and how long they waited.
#[derive(Debug)]
pub struct SinkMeter {
    pub(super) table: String,
    pub(super) records: AtomicU64,
    pub(super) latency: Histogram,
}

impl SinkMeter {
    pub(super) fn new(table: &str) -> Self {
        SinkMeter { table: table.to_string(), records: AtomicU64::new(0), latency: Histogram::new(LATENCY_BUCKETS) }
    }

    /// A batch of `rows` rows (or changes) taken by the sink, `waited` after its first row
    /// was emitted.
    #[inline]
    pub fn batch(&self, rows: u64, waited: Option<Duration>) {
        self.records.fetch_add(rows, Ordering::Relaxed);
        if let Some(w) = waited {
            self.latency.observe(w);
        }
    }

    /// Rows counted so far.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
}

/// What is counted per task (by the task's name: its source table, `a+b` for two tables
/// joined, `values_<i>`) from generated code: late rows and rows dropped at sinks.
#[derive(Debug, Default)]
pub struct TaskMeter {
    pub(super) late: AtomicU64,
    pub(super) dropped: AtomicU64,
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
