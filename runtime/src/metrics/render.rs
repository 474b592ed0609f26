//! The exposition of a [`Registry`]: every metric family, its help and its series.

use super::exposition::{Exposition, Kind};
use super::{
    OperatorMeter, PartitionMeter, QueueMeter, Registry, SinkMeter, SkipReason, SourceMeter, TaskMeter, lock, process,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

/// The help of `dfl_skipped_records_total`, whose series come from sources, tasks and
/// Redis sinks.
const SKIPPED_HELP: &str = "Records skipped, by table and reason: parse_error (unreadable, skipped), dead_letter \
                            (unreadable, written to the dead-letter file or topic), not_null_dropped (a NULL for a NOT \
                            NULL sink column; table: the source table(s) of the task that dropped the row), null_key \
                            (a Redis sink row with a NULL in its key; table: the sink).";

impl Registry {
    /// Every metric in the text exposition format.
    pub fn render(&self) -> String {
        let pipeline = lock(&self.pipeline).clone();
        let p = pipeline.as_str();
        let mut ex = Exposition::default();
        let now_ms = crate::time::epoch_ms();
        self.render_run(&mut ex, p);
        self.render_sources(&mut ex, p, now_ms);
        self.render_tasks(&mut ex, p);
        self.render_operators(&mut ex, p);
        self.render_queues(&mut ex, p);
        self.render_sinks(&mut ex, p);
        self.render_clients(&mut ex, p);
        self.render_checkpoints(&mut ex, p);
        process::render(&mut ex);
        ex.finish()
    }

    fn render_run(&self, ex: &mut Exposition, p: &str) {
        let one = [("pipeline", p)];
        ex.sample(
            "dfl_pipeline_info",
            Kind::Gauge,
            "The pipeline and the version of its dfl runtime; always 1.",
            &[("pipeline", p), ("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        let started = self.started.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        ex.sample(
            "dfl_pipeline_start_time_seconds",
            Kind::Gauge,
            "When the run started, in seconds since the Unix epoch.",
            &one,
            (started * 1000.0).round() / 1000.0,
        );
        ex.sample(
            "dfl_pipeline_ready",
            Kind::Gauge,
            "1 while the pipeline is ready (its checkpoint restored, every source running, not stopping), as GET \
             /readyz; else 0.",
            &one,
            f64::from(u8::from(self.ready())),
        );
        ex.sample(
            "dfl_pipeline_failed",
            Kind::Gauge,
            "1 once a task of the pipeline has failed (GET /healthz then answers 503); else 0.",
            &one,
            f64::from(u8::from(!self.live())),
        );
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        ex.sample(
            "dfl_rows_read_total",
            Kind::Counter,
            "Rows read by all sources (as the run's summary counts them; rows of bounded lookup tables not included).",
            &one,
            get(&c.rows_in),
        );
        ex.sample(
            "dfl_rows_written_total",
            Kind::Counter,
            "Rows (or changes of updating results) handed to all sinks.",
            &one,
            get(&c.rows_out),
        );
        ex.sample(
            "dfl_rows_skipped_total",
            Kind::Counter,
            "Records skipped in all: unreadable records skipped or dead-lettered, rows dropped for a NULL in a NOT NULL \
             sink column.",
            &one,
            c.skipped.load(Ordering::Relaxed) as f64,
        );
        ex.sample(
            "dfl_rows_late_total",
            Kind::Counter,
            "Rows dropped as late in all (the watermark had passed every window they belong to).",
            &one,
            c.late.load(Ordering::Relaxed) as f64,
        );
    }

    fn render_sources(&self, ex: &mut Exposition, p: &str, now_ms: i64) {
        const RECORDS: &str = "Records read by a source table: rows, and records skipped as unreadable; for Kafka \
                               tables per topic and partition. Sources count in batches of up to 1,024 records.";
        const BYTES: &str =
            "Bytes read by a source table where its connector knows them: file bytes, Kafka message keys and values.";
        let sources: Vec<Arc<SourceMeter>> = lock(&self.sources).values().cloned().collect();
        for s in &sources {
            let t = s.table.as_str();
            let labels = [("pipeline", p), ("table", t)];
            let parts: Vec<Arc<PartitionMeter>> = lock(&s.partitions).clone();
            if parts.is_empty() {
                ex.sample("dfl_source_records_total", Kind::Counter, RECORDS, &labels, s.records() as f64);
                if s.counts_bytes.load(Ordering::Relaxed) {
                    let bytes = s.bytes.load(Ordering::Relaxed) as f64;
                    ex.sample("dfl_source_bytes_total", Kind::Counter, BYTES, &labels, bytes);
                }
            }
            for part in &parts {
                let n = part.partition.to_string();
                let labels = [("pipeline", p), ("table", t), ("topic", part.topic.as_str()), ("partition", &n)];
                ex.sample("dfl_source_records_total", Kind::Counter, RECORDS, &labels, part.records() as f64);
                let bytes = part.bytes.load(Ordering::Relaxed) as f64;
                ex.sample("dfl_source_bytes_total", Kind::Counter, BYTES, &labels, bytes);
            }
            for reason in [SkipReason::ParseError, SkipReason::DeadLetter] {
                let n = s.skipped[reason as usize].load(Ordering::Relaxed);
                if n > 0 || s.skips_expected[reason as usize].load(Ordering::Relaxed) {
                    let labels = [("pipeline", p), ("table", t), ("reason", reason.label())];
                    ex.sample("dfl_skipped_records_total", Kind::Counter, SKIPPED_HELP, &labels, n as f64);
                }
            }
            let wm = s.watermark.load(Ordering::Relaxed);
            if wm != crate::time::NO_WATERMARK && wm != crate::time::END_OF_INPUT {
                ex.sample(
                    "dfl_watermark_milliseconds",
                    Kind::Gauge,
                    "The watermark of a source table: event time in milliseconds since the Unix epoch (published \
                     every 1,024 rows and whenever the source is idle).",
                    &labels,
                    wm as f64,
                );
                ex.sample(
                    "dfl_watermark_lag_seconds",
                    Kind::Gauge,
                    "How far the watermark of a source table is behind the wall clock when scraped, in seconds.",
                    &labels,
                    now_ms.saturating_sub(wm) as f64 / 1000.0,
                );
            }
            for part in &parts {
                let (pos, high) = (part.position.load(Ordering::Relaxed), part.high.load(Ordering::Relaxed));
                if pos >= 0 && high >= 0 {
                    let n = part.partition.to_string();
                    let labels = [("pipeline", p), ("table", t), ("topic", part.topic.as_str()), ("partition", &n)];
                    ex.sample(
                        "dfl_kafka_consumer_lag",
                        Kind::Gauge,
                        "Messages of a Kafka partition the pipeline has not read yet: the partition's high watermark \
                         (as last known to the client, refreshed about every second) minus the source's position.",
                        &labels,
                        high.saturating_sub(pos).max(0) as f64,
                    );
                }
            }
        }
    }

    fn render_tasks(&self, ex: &mut Exposition, p: &str) {
        let tasks: Vec<(String, Arc<TaskMeter>)> =
            lock(&self.tasks).iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect();
        for (name, t) in &tasks {
            ex.sample(
                "dfl_late_records_total",
                Kind::Counter,
                "Rows dropped as late (the watermark had passed every window they belong to), by the source table of \
                 the task that dropped them (`a+b` for two tables joined).",
                &[("pipeline", p), ("table", name)],
                t.late.load(Ordering::Relaxed) as f64,
            );
            let state = t.state_bytes.load(Ordering::Relaxed);
            if state != u64::MAX {
                let labels = [("pipeline", p), ("task", name.as_str())];
                ex.sample(
                    "dfl_task_state_bytes",
                    Kind::Gauge,
                    "Bytes of a task's state in the last checkpoint: its snapshot (source position, watermark, \
                     operators' sections) and its state files (RocksDB backend).",
                    &labels,
                    state as f64,
                );
                ex.sample(
                    "dfl_task_state_file_bytes",
                    Kind::Gauge,
                    "Bytes of a task's RocksDB state files in the last checkpoint (0 for memory state).",
                    &labels,
                    t.disk_bytes.load(Ordering::Relaxed) as f64,
                );
            }
            let dropped = t.dropped.load(Ordering::Relaxed);
            if dropped > 0 {
                ex.sample(
                    "dfl_skipped_records_total",
                    Kind::Counter,
                    SKIPPED_HELP,
                    &[("pipeline", p), ("table", name), ("reason", "not_null_dropped")],
                    dropped as f64,
                );
            }
        }
    }

    fn render_operators(&self, ex: &mut Exposition, p: &str) {
        /// Rows in, rows out, and state bytes when saved.
        type Sums = (u64, u64, Option<u64>);
        // Summed by (task, id, kind): one meter per instance.
        let mut by: BTreeMap<(String, String, &'static str), Sums> = BTreeMap::new();
        for m in lock(&self.operators).iter().map(Arc::clone).collect::<Vec<Arc<OperatorMeter>>>() {
            let (rows_in, rows_out) = m.rows();
            let e = by.entry((m.task.clone(), m.id.clone(), m.kind)).or_default();
            e.0 += rows_in;
            e.1 += rows_out;
            let state = m.state_bytes.load(Ordering::Relaxed);
            if state != u64::MAX {
                *e.2.get_or_insert(0) += state;
            }
        }
        for ((task, id, kind), (rows_in, rows_out, state)) in &by {
            let labels = [("pipeline", p), ("task", task.as_str()), ("operator", id.as_str()), ("kind", *kind)];
            ex.sample(
                "dfl_operator_records_in_total",
                Kind::Counter,
                "Rows (or changes) given to a stateful operator; `operator` is its id in `dflc explain`.",
                &labels,
                *rows_in as f64,
            );
            ex.sample(
                "dfl_operator_records_out_total",
                Kind::Counter,
                "Rows (or changes) a stateful operator emitted (window results, join matches, aggregate updates, \
                 Top-N changes).",
                &labels,
                *rows_out as f64,
            );
            if let Some(bytes) = state {
                ex.sample(
                    "dfl_operator_state_bytes",
                    Kind::Gauge,
                    "Bytes of a stateful operator's state in the task's last checkpoint (with the RocksDB backend, \
                     its index only: the entries are in dfl_task_state_file_bytes).",
                    &labels,
                    *bytes as f64,
                );
            }
        }
    }

    fn render_queues(&self, ex: &mut Exposition, p: &str) {
        let queues: Vec<Arc<QueueMeter>> = lock(&self.queues).iter().map(Arc::clone).collect();
        for q in &queues {
            let labels = [("pipeline", p), ("queue", q.queue), ("table", q.table.as_str())];
            ex.sample(
                "dfl_queue_length",
                Kind::Gauge,
                "Batches waiting in a queue between threads: merge (the two source threads of a task reading two \
                 tables to the task; batches of up to 1,024 events), exchange (the router of a task run N-wide to its \
                 workers; batches of up to 512 rows); table: the task.",
                &labels,
                q.len() as f64,
            );
            ex.sample("dfl_queue_capacity", Kind::Gauge, "Items a queue holds at most.", &labels, q.capacity as f64);
            ex.sample(
                "dfl_queue_blocked_seconds_total",
                Kind::Counter,
                "Time the sender of a queue waited for room (backpressure: the reader is slower than the source).",
                &labels,
                q.blocked_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            );
        }
    }

    fn render_sinks(&self, ex: &mut Exposition, p: &str) {
        let sinks: Vec<Arc<SinkMeter>> = lock(&self.sinks).values().cloned().collect();
        for s in &sinks {
            let labels = [("pipeline", p), ("table", s.table.as_str())];
            ex.sample(
                "dfl_sink_records_total",
                Kind::Counter,
                "Rows (or changes of updating results) handed to a sink table.",
                &labels,
                s.records() as f64,
            );
            ex.histogram(
                "dfl_emit_latency_seconds",
                "Ingestion to emit: for each batch of rows handed to a sink table, the time from the source event that \
                 produced its first (oldest) row until the sink had taken the batch (operators are fused into the \
                 source's task, so a row is emitted while that event is handled: this is processing, the wait for \
                 the batch to fill or the source to go idle, and the sink's write). Time spent waiting for event time \
                 (windows) is in dfl_event_time_latency_seconds. One observation per batch.",
                &labels,
                &s.latency.snapshot(),
            );
            ex.sample(
                "dfl_sink_busy_seconds_total",
                Kind::Counter,
                "Time tasks spent handing batches to a sink table (its write, and waiting for another task's): \
                 backpressure from the sink when it grows by nearly a second per second.",
                &labels,
                s.busy_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            );
            if s.timed.load(Ordering::Relaxed) {
                ex.histogram(
                    "dfl_event_time_latency_seconds",
                    "Event time to emit: for each batch of rows handed to a sink table whose rows carry an event time \
                     (a rowtime column, or window_end), the wall clock when the sink took the batch minus its first \
                     row's event time. One observation per batch.",
                    &labels,
                    &s.event_time.snapshot(),
                );
            }
        }
    }

    fn render_clients(&self, ex: &mut Exposition, p: &str) {
        let mut kafka: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
        for (table, client, errors) in lock(&self.kafka_errors).iter() {
            *kafka.entry((table.clone(), *client)).or_default() += errors.load(Ordering::Relaxed);
        }
        for ((table, client), n) in &kafka {
            ex.sample(
                "dfl_kafka_errors_total",
                Kind::Counter,
                "Errors the Kafka client of a table reported: consumer (source), producer (sink), dead_letter (the \
                 source's dead-letter producer); transient ones the client retries by itself included.",
                &[("pipeline", p), ("table", table), ("client", client)],
                *n as f64,
            );
        }
        #[cfg(feature = "redis")]
        self.render_redis(ex, p);
    }

    #[cfg(feature = "redis")]
    fn render_redis(&self, ex: &mut Exposition, p: &str) {
        use crate::connectors::redis::RedisStats;
        let mut by: BTreeMap<(String, &'static str), RedisStats> = BTreeMap::new();
        for (table, role, handle) in lock(&self.redis).iter() {
            let s = handle.get();
            let sum = by.entry((table.clone(), *role)).or_default();
            sum.round_trips += s.round_trips;
            sum.retries += s.retries;
            sum.errors += s.errors;
            sum.keys_written += s.keys_written;
            sum.keys_deleted += s.keys_deleted;
            sum.null_keys += s.null_keys;
            sum.lookups += s.lookups;
            sum.cache_hits += s.cache_hits;
        }
        for ((table, role), s) in &by {
            let labels = [("pipeline", p), ("table", table.as_str()), ("role", *role)];
            let counter =
                |ex: &mut Exposition, name, help, v: u64| ex.sample(name, Kind::Counter, help, &labels, v as f64);
            counter(
                ex,
                "dfl_redis_requests_total",
                "Requests sent to Redis (pipelined commands, retries and connection checks included), by table and \
                 role (sink or lookup).",
                s.round_trips,
            );
            counter(ex, "dfl_redis_retries_total", "Requests to Redis sent again after a failure.", s.retries);
            counter(ex, "dfl_redis_errors_total", "Requests to Redis that failed after their retries.", s.errors);
            match *role {
                "sink" => {
                    counter(ex, "dfl_redis_keys_written_total", "Keys a Redis sink stored.", s.keys_written);
                    counter(ex, "dfl_redis_keys_deleted_total", "Keys a Redis sink deleted.", s.keys_deleted);
                    ex.sample(
                        "dfl_skipped_records_total",
                        Kind::Counter,
                        SKIPPED_HELP,
                        &[("pipeline", p), ("table", table.as_str()), ("reason", "null_key")],
                        s.null_keys as f64,
                    );
                }
                _ => {
                    counter(
                        ex,
                        "dfl_redis_lookups_total",
                        "Keys looked up in Redis (NULL keys not included).",
                        s.lookups,
                    );
                    counter(
                        ex,
                        "dfl_redis_lookup_cache_hits_total",
                        "Keys of Redis lookups answered from the table's cache.",
                        s.cache_hits,
                    );
                }
            }
        }
    }

    fn render_checkpoints(&self, ex: &mut Exposition, p: &str) {
        let Some(c) = self.checkpoints.get() else { return };
        for (result, n) in [("completed", &c.completed), ("failed", &c.failed)] {
            ex.sample(
                "dfl_checkpoints_total",
                Kind::Counter,
                "Checkpoints of this run, by result: completed, or failed (skipped; the pipeline goes on).",
                &[("pipeline", p), ("result", result)],
                n.load(Ordering::Relaxed) as f64,
            );
        }
        let one = [("pipeline", p)];
        ex.histogram(
            "dfl_checkpoint_duration_seconds",
            "Time from the first task reaching a checkpoint's barrier until the checkpoint was complete (every task \
             at the barrier, snapshots and metadata written).",
            &one,
            &c.duration.snapshot(),
        );
        ex.sample(
            "dfl_checkpoint_size_bytes",
            Kind::Gauge,
            "Bytes of task snapshots in the last completed checkpoint (state files of the RocksDB backend not \
             included).",
            &one,
            c.last_bytes.load(Ordering::Relaxed) as f64,
        );
        let last = c.last_completed_ms.load(Ordering::Relaxed);
        if last > 0 {
            ex.sample(
                "dfl_checkpoint_last_completed_timestamp_seconds",
                Kind::Gauge,
                "When the last checkpoint of this run completed, in seconds since the Unix epoch.",
                &one,
                last as f64 / 1000.0,
            );
        }
    }
}
