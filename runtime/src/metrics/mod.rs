//! Metrics of a running pipeline, and the small HTTP server that serves them to
//! Prometheus with liveness and readiness checks.
//!
//! Every run has a [`Registry`] in its [`Context`](crate::pipeline::Context). Sources,
//! sinks, watermarks and the checkpoint coordinator take a *meter* from it when they start
//! (one map lookup, never per row) and count on it with relaxed atomics: sources add their
//! records once per batch of up to 1,024, sink writers once per batch handed to the sink,
//! watermarks are published every 1,024 rows and while the source is idle. Stateful
//! operators count every row in and out, on counters only their task's thread writes (a
//! plain load and store, no locked instruction). A scrape reads the meters and writes the
//! text format ([`exposition`]).
//!
//! A pipeline binary serves `GET /metrics`, `GET /healthz` and `GET /readyz` on
//! `--metrics-addr` / `'metrics.addr'` (default `127.0.0.1:9249`, `off` for none); a
//! pipeline embedded in a program only when `metrics.addr` is set ([`server`]).
//!
//! # Metrics
//!
//! Every series has the label `pipeline` (the `pipeline.name` setting, else the query
//! file's name).
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `dfl_pipeline_info` | gauge | `version` | always 1 |
//! | `dfl_pipeline_start_time_seconds` | gauge | | when the run started (Unix time) |
//! | `dfl_pipeline_ready` | gauge | | 1 while ready (as `/readyz`) |
//! | `dfl_pipeline_failed` | gauge | | 1 once a task failed (`/healthz` then 503) |
//! | `dfl_rows_read_total` | counter | | rows read by all sources (the run's summary) |
//! | `dfl_rows_written_total` | counter | | rows and changes handed to all sinks |
//! | `dfl_rows_skipped_total` | counter | | records skipped in all |
//! | `dfl_rows_late_total` | counter | | rows dropped as late in all |
//! | `dfl_source_records_total` | counter | `table` (Kafka: `topic`, `partition`) | records read (rows, and records skipped) |
//! | `dfl_source_bytes_total` | counter | as above | bytes read (files, Kafka keys and values) |
//! | `dfl_skipped_records_total` | counter | `table`, `reason` | `parse_error`, `dead_letter`, `not_null_dropped`, `null_key` |
//! | `dfl_late_records_total` | counter | `table` | late rows dropped, by the task's source table(s) |
//! | `dfl_watermark_milliseconds` | gauge | `table` | the source table's watermark (event time) |
//! | `dfl_watermark_lag_seconds` | gauge | `table` | wall clock minus the watermark, at scrape |
//! | `dfl_kafka_consumer_lag` | gauge | `table`, `topic`, `partition` | high watermark minus position |
//! | `dfl_kafka_errors_total` | counter | `table`, `client` | Kafka client errors (`consumer`, `producer`, `dead_letter`) |
//! | `dfl_sink_records_total` | counter | `table` | rows and changes handed to the sink |
//! | `dfl_emit_latency_seconds` | histogram | `table` | per batch: the source event of its first row → batch taken by the sink |
//! | `dfl_event_time_latency_seconds` | histogram | `table` | per batch of a sink with an event-time column: wall clock − first row's event time |
//! | `dfl_sink_busy_seconds_total` | counter | `table` | time tasks spent handing batches to the sink |
//! | `dfl_operator_records_in_total`, `dfl_operator_records_out_total` | counter | `task`, `operator`, `kind` | rows in and out of a stateful operator (its `dflc explain` id) |
//! | `dfl_operator_state_bytes` | gauge | `task`, `operator`, `kind` | its section of the task's last checkpoint |
//! | `dfl_task_state_bytes`, `dfl_task_state_file_bytes` | gauge | `task` | the task's last checkpoint: all, RocksDB files |
//! | `dfl_queue_length`, `dfl_queue_capacity` | gauge | `queue`, `table` | batches waiting between threads (`merge`) |
//! | `dfl_queue_blocked_seconds_total` | counter | `queue`, `table` | senders waiting for room (backpressure) |
//! | `dfl_redis_requests_total` | counter | `table`, `role` | requests sent (retries included) |
//! | `dfl_redis_retries_total` | counter | `table`, `role` | requests sent again after a failure |
//! | `dfl_redis_errors_total` | counter | `table`, `role` | requests that failed for good |
//! | `dfl_redis_keys_written_total`, `dfl_redis_keys_deleted_total` | counter | `table`, `role` (`sink`) | keys set / deleted |
//! | `dfl_redis_lookups_total`, `dfl_redis_lookup_cache_hits_total` | counter | `table`, `role` (`lookup`) | keys looked up, answered from the cache |
//! | `dfl_checkpoints_total` | counter | `result` (`completed`, `failed`) | checkpoints of this run |
//! | `dfl_checkpoint_duration_seconds` | histogram | | first task at the barrier → checkpoint complete |
//! | `dfl_checkpoint_size_bytes` | gauge | | task snapshots of the last checkpoint |
//! | `dfl_checkpoint_last_completed_timestamp_seconds` | gauge | | when the last checkpoint completed |
//! | `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds` | | | Linux only |

pub mod exposition;
mod meters;
mod process;
mod render;
mod scope;
pub mod server;
#[cfg(test)]
mod tests;

pub use meters::{
    CheckpointMeter, OperatorMeter, PartitionMeter, QueueMeter, SinkMeter, SkipReason, SourceMeter, TaskMeter,
};
pub use scope::TaskCounter;
#[cfg(feature = "redis")]
pub(crate) use scope::current_registry;
pub(crate) use scope::{TaskScope, current_task, name_task, source_running};
pub use server::Server;

use crate::pipeline::Counters;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// The metrics of one run, shared by its context, its meters' owners and the server.
pub struct Registry {
    pipeline: Mutex<String>,
    counters: Arc<Counters>,
    started: SystemTime,
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
    /// Tasks of the run (0 until they start) and how many run their source (or ended).
    tasks_total: AtomicUsize,
    tasks_running: AtomicUsize,
    /// The tasks have all returned: the run is ending.
    done: AtomicBool,
    sources: Mutex<BTreeMap<String, Arc<SourceMeter>>>,
    sinks: Mutex<BTreeMap<String, Arc<SinkMeter>>>,
    tasks: Mutex<BTreeMap<String, Arc<TaskMeter>>>,
    operators: Mutex<Vec<Arc<OperatorMeter>>>,
    queues: Mutex<Vec<Arc<QueueMeter>>>,
    checkpoints: OnceLock<Arc<CheckpointMeter>>,
    /// Kafka clients' error counters by (table, client).
    kafka_errors: Mutex<Vec<(String, &'static str, Arc<AtomicU64>)>>,
    #[cfg(feature = "redis")]
    redis: Mutex<Vec<(String, &'static str, crate::connectors::redis::RedisStatsHandle)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    /// The registry of a run whose run-wide counters are `counters`, stopped by `stop`,
    /// failed when `failed` is set.
    pub(crate) fn new(counters: Arc<Counters>, stop: Arc<AtomicBool>, failed: Arc<AtomicBool>) -> Self {
        Registry {
            pipeline: Mutex::default(),
            counters,
            started: SystemTime::now(),
            stop,
            failed,
            tasks_total: AtomicUsize::new(0),
            tasks_running: AtomicUsize::new(0),
            done: AtomicBool::new(false),
            sources: Mutex::default(),
            sinks: Mutex::default(),
            tasks: Mutex::default(),
            operators: Mutex::default(),
            queues: Mutex::default(),
            checkpoints: OnceLock::new(),
            kafka_errors: Mutex::default(),
            #[cfg(feature = "redis")]
            redis: Mutex::default(),
        }
    }

    /// Names the pipeline (the `pipeline` label).
    pub(crate) fn set_pipeline(&self, name: &str) {
        *lock(&self.pipeline) = name.to_string();
    }

    /// The meter of source table `table`, made if new.
    pub fn source(&self, table: &str) -> Arc<SourceMeter> {
        let mut sources = lock(&self.sources);
        match sources.get(table) {
            Some(m) => Arc::clone(m),
            None => Arc::clone(sources.entry(table.to_string()).or_insert_with(|| Arc::new(SourceMeter::new(table)))),
        }
    }

    /// The meter of sink table `table`, made if new.
    pub fn sink(&self, table: &str) -> Arc<SinkMeter> {
        let mut sinks = lock(&self.sinks);
        Arc::clone(sinks.entry(table.to_string()).or_insert_with(|| Arc::new(SinkMeter::new(table))))
    }

    /// The meter of task `name`, made if new.
    pub fn task(&self, name: &str) -> Arc<TaskMeter> {
        Arc::clone(lock(&self.tasks).entry(name.to_string()).or_default())
    }

    /// A new meter of operator `id` (as `dflc explain` shows it) of kind `kind` in task
    /// `task`, whose state is the section `section` of the task's snapshot. Every call
    /// makes its own meter (one writer each); series of one id are summed.
    pub fn operator(&self, task: &str, id: &str, kind: &'static str, section: &str) -> Arc<OperatorMeter> {
        let meter = Arc::new(OperatorMeter::new(task, id, kind, section));
        lock(&self.operators).push(Arc::clone(&meter));
        meter
    }

    /// A new meter of a queue `queue` (`merge`, `rust_source`) of `table` holding at most
    /// `capacity` items.
    pub fn queue(&self, queue: &'static str, table: &str, capacity: u64) -> Arc<QueueMeter> {
        let meter = Arc::new(QueueMeter::new(queue, table, capacity));
        lock(&self.queues).push(Arc::clone(&meter));
        meter
    }

    /// Task `task` saved a checkpoint: `sections` (snapshot section, bytes) and `on_disk`
    /// bytes of state files (RocksDB), for the state size of its operators.
    pub(crate) fn state_saved(&self, task: &str, sections: &[(&str, u64)], on_disk: u64) {
        for m in lock(&self.operators).iter().filter(|m| m.task == task) {
            if let Some((_, bytes)) = sections.iter().find(|(s, _)| *s == m.section) {
                m.state_bytes.store(*bytes, Ordering::Relaxed);
            }
        }
        let total = sections.iter().map(|(_, b)| b).sum::<u64>() + on_disk;
        let t = self.task(task);
        t.state_bytes.store(total, Ordering::Relaxed);
        t.disk_bytes.store(on_disk, Ordering::Relaxed);
    }

    /// The checkpoint coordinator's meter (once).
    pub(crate) fn set_checkpoints(&self, meter: Arc<CheckpointMeter>) {
        let _ = self.checkpoints.set(meter);
    }

    /// Shows `errors` as the Kafka client errors of `table`'s `client` (`consumer`,
    /// `producer`, `dead_letter`).
    pub fn add_kafka_errors(&self, table: &str, client: &'static str, errors: Arc<AtomicU64>) {
        let mut all = lock(&self.kafka_errors);
        if !all.iter().any(|(t, c, e)| t == table && *c == client && Arc::ptr_eq(e, &errors)) {
            all.push((table.to_string(), client, errors));
        }
    }

    /// Shows the counters of a Redis sink or lookup (`role`) of `table`.
    #[cfg(feature = "redis")]
    pub fn add_redis(&self, table: &str, role: &'static str, stats: crate::connectors::redis::RedisStatsHandle) {
        lock(&self.redis).push((table.to_string(), role, stats));
    }

    // ----------------------------------------------------------------------------------
    // Health
    // ----------------------------------------------------------------------------------

    /// The run's tasks are starting: `n` of them.
    pub(crate) fn tasks_starting(&self, n: usize) {
        self.tasks_total.store(n, Ordering::Release);
    }

    /// A task runs its source (or has ended).
    pub(crate) fn task_running(&self) {
        self.tasks_running.fetch_add(1, Ordering::AcqRel);
    }

    /// Every task has returned.
    pub(crate) fn tasks_done(&self) {
        self.done.store(true, Ordering::Release);
    }

    /// The run failed.
    pub(crate) fn set_failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }

    /// Liveness: no task has failed.
    pub fn live(&self) -> bool {
        !self.failed.load(Ordering::Relaxed)
    }

    /// Readiness: the checkpoint is restored and every task runs its source (or has
    /// ended), and the pipeline is not stopping.
    pub fn ready(&self) -> bool {
        let total = self.tasks_total.load(Ordering::Acquire);
        total > 0
            && self.tasks_running.load(Ordering::Acquire) >= total
            && !self.done.load(Ordering::Acquire)
            && !self.stop.load(Ordering::Relaxed)
            && self.live()
    }

    /// Why the pipeline is not ready, or `None` if it is.
    pub fn not_ready_because(&self) -> Option<&'static str> {
        if !self.live() {
            Some("a task failed")
        } else if self.done.load(Ordering::Acquire) || self.stop.load(Ordering::Relaxed) {
            Some("stopping")
        } else if self.ready() {
            None
        } else {
            Some("starting")
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("pipeline", &*lock(&self.pipeline)).finish_non_exhaustive()
    }
}
