//! The `kafka` and `upsert-kafka` connectors, on librdkafka (the `rdkafka` crate's bundled
//! build) through its synchronous API: one consumer polled by the source's own thread,
//! producers polled by whoever writes.
//!
//! # Messages and rows
//!
//! The message value holds the row in `format` (or `value.format`): `json`, `csv`, or
//! `raw` (the bytes of a single STRING or BYTES column; text must be UTF-8). With
//! `key.fields` (a `;`-separated list of columns) and `key.format`, the message key holds
//! those columns, in that order; `upsert-kafka` keys are the PRIMARY KEY columns.
//! `value.fields-include` = `EXCEPT_KEY` leaves the key columns out of the value (default
//! `ALL`: the value holds every column), and `key.fields-prefix` is stripped from the key
//! columns' names in the key's format (it needs `EXCEPT_KEY`, as in Flink). Key and value
//! formats take their options as `key.json.*`, `value.csv.*` (or `json.*` with `format`).
//!
//! # Source ([`source`])
//!
//! Reads `topic` (one, or several separated by `;`) or the topics whose whole name matches
//! `topic-pattern` (Java regular expression, as Flink). Each partition is a split:
//!
//! * With `properties.group.id` the source joins that consumer group and the group
//!   assigns partitions; an assigned partition starts a split, a revoked one ends it
//!   (split numbers are kept per topic and partition for the run). Offsets are committed
//!   to the group, never automatically: after a [`SourceEvent::Barrier`] (emitted every
//!   5 s of processing time while records flow, before a partition is revoked, and when
//!   the source stops or its bounded input is done) the source commits the position after
//!   every record it emitted before the barrier.
//! * Without a group id it reads every partition of the topics and commits nothing; new
//!   partitions (and topics matching the pattern) are found every
//!   `scan.topic-partition-discovery.interval` (default 5 min, `0` = never) and read from
//!   their earliest offset.
//!
//! `scan.startup.mode` says where a partition is first read from: `earliest-offset`,
//! `latest-offset` (both resolved when the partition is assigned), `timestamp`
//! (`scan.startup.timestamp-millis`: the first record at or after it), `specific-offsets`
//! (`scan.startup.specific-offsets` = `partition:0,offset:42;partition:1,offset:300`, for
//! every topic read; other partitions start at the group's committed offset, else the
//! earliest), or `group-offsets` (the default; needs a group id): the group's committed
//! offset, and where there is none `properties.auto.offset.reset` decides —
//! `earliest`/`latest`, and by default none, so that the source fails and says so, as
//! Flink's source does (its default reset strategy is NONE). A partition assigned again
//! later in the same run resumes from the group's committed offset. (`upsert-kafka` tables
//! start at the earliest offsets, as in Flink.)
//!
//! `scan.bounded.mode` makes the source bounded: each partition is read up to (not
//! including) an end offset fixed when it is assigned: the `latest-offset` then, the
//! group's committed offset (`group-offsets`; none: nothing is read), the first offset at
//! or after `scan.bounded.timestamp-millis` (`timestamp`), or the offsets of
//! `scan.bounded.specific-offsets` (other partitions: the latest offset). A split ends
//! when its end is reached (at once if it is empty) and the source returns when all its
//! splits ended (with a group: once it had its first assignment). New partitions are not
//! discovered by bounded sources.
//!
//! A record whose key or value cannot be decoded, or whose row the generated `validate`
//! rejects, is handled by `scan.errors` (dflc extension): `fail` (default) stops the
//! pipeline with the table, topic, partition, offset and reason; `skip` counts it in
//! [`Counters::skipped`](crate::pipeline::Counters::skipped); `dead-letter` also writes
//! it to `scan.dead-letter.topic` as a JSON object (`table`, `topic`, `partition`,
//! `offset`, `timestamp`, `reason`, and the record's `key` and `value` as text, lossy
//! UTF-8) keyed by the record's key; dead letters are flushed before any offset past them
//! is committed. Tombstones (messages without a value) are no rows for `json` and `csv`
//! and a NULL column for `raw`.
//!
//! The client reconnects by itself: while brokers are away the source keeps polling and
//! emits [`Idle`](SourceEvent::Idle) (with a warning every 30 s); authentication and
//! authorization failures, a topic of a fixed list that does not exist, and a missing
//! committed offset without reset policy fail the source.
//!
//! # Sinks ([`sink`], [`upsert_sink`])
//!
//! Write every row to `topic`, the value in the value format, the key (`key.fields` in
//! `key.format`; `upsert-kafka`: the PRIMARY KEY) if any. `sink.partitioner`: `default`
//! hashes the key as Java clients do (murmur2; rows without key go to a sticky random
//! partition), `round-robin` spreads rows over partitions one by one, and `fixed` writes
//! every row to partition 0 — Flink's fixed partitioner maps sink task *i* to partition
//! *i* mod *n*, and a dflc sink is one writer that the tasks share, i.e. task 0.
//! `sink.delivery-guarantee` (or its old name `sink.semantic`): `at-least-once` (default)
//! makes [`flush`](crate::pipeline::Sink::flush) wait until every row is acknowledged by
//! all in-sync replicas, and fails if any could not be written; `none` only warns about
//! lost rows; `exactly-once` (with `sink.transactional-id-prefix`) writes in a Kafka
//! transaction per checkpoint interval, committed by the checkpoint (see
//! [`KafkaSink`]'s `prepare_commit`), and refuses to write without checkpoints.
//!
//! # Client settings
//!
//! Every `properties.*` option goes to librdkafka with the prefix removed, over these
//! defaults: consumers `enable.partition.eof=true`, `auto.offset.reset` as above,
//! `statistics.interval.ms=5000` (the client's statistics hold the partitions' ends, for
//! the `dfl_kafka_consumer_lag` metric; `0` turns that off); producers
//! `enable.idempotence=true`, `acks=all`, `compression.type=lz4`, `linger.ms=5`,
//! `batch.size=1000000`, `queue.buffering.max.messages=1000000`,
//! `message.timeout.ms=600000` (a row not delivered within 10 min fails the sink) and
//! `partitioner=murmur2_random`. Consumers always run with `enable.auto.commit=false` and
//! `enable.auto.offset.store=false`: offsets are only committed after barriers. Values of
//! secret settings (passwords, keys, tokens) never appear in error messages.

mod admin;
mod codec;
mod consumer;
mod dead_letter;
pub mod partitioned;
pub mod shuffle;
mod sink;
mod source;
pub mod staged;
#[cfg(test)]
mod tests;

pub use admin::{create_topic, earliest_offsets};
pub use sink::{KafkaSink, WriteMetadata, sink, sink_with_metadata, upsert_sink, upsert_sink_with_metadata};
pub use source::{KafkaSource, Record, source, upsert_source};

#[cfg(doc)]
use crate::connectors::SourceEvent;
use crate::error::{Error, Result};
use crate::options::TableOptions;
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Partitioner, Producer, ProducerContext};
use rdkafka::{Message, Timestamp as KafkaTimestamp};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a waiting client says what it waits for.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// A client configuration: `defaults`, then every `properties.*` option over them.
fn client_config(opts: &TableOptions, defaults: &[(&str, &str)]) -> Result<ClientConfig> {
    opts.required("properties.bootstrap.servers")?;
    let mut config = ClientConfig::new();
    for (k, v) in defaults {
        config.set(*k, *v);
    }
    for (k, v) in opts.with_prefix("properties.") {
        config.set(k, v);
    }
    Ok(config)
}

/// Whether the value of librdkafka setting `key` must be kept out of messages.
fn is_secret(key: &str) -> bool {
    crate::logging::is_secret(key)
}

/// A client error as text (secrets left out).
fn describe(e: &KafkaError) -> String {
    match e {
        KafkaError::ClientConfig(_, desc, key, value) => {
            if is_secret(key) {
                format!("invalid value for 'properties.{key}' (value not shown)")
            } else if value.is_empty() {
                format!("'properties.{key}': {desc}")
            } else {
                format!("'properties.{key}' = '{value}': {desc}")
            }
        }
        KafkaError::ClientCreation(msg) => format!("cannot create the Kafka client: {msg}"),
        other => match other.rdkafka_error_code() {
            Some(code) => format!("{other} ({code:?})"),
            None => other.to_string(),
        },
    }
}

/// A client error of table `table` while doing `what`.
fn kafka_error(table: &str, what: &str, e: &KafkaError) -> Error {
    Error::Kafka { table: table.to_string(), message: format!("{what}: {}", describe(e)) }
}

/// Error codes that no retry will cure.
fn is_fatal(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::Authentication
            | C::SaslAuthenticationFailed
            | C::SSL
            | C::Fatal
            | C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::TransactionalIdAuthorizationFailed
            | C::InvalidArgument
            | C::InvalidGroupId
            | C::UnsupportedSASLMechanism
            | C::IllegalSASLState
            | C::UnsupportedVersion
            | C::InvalidConfig
            | C::InvalidRequiredAcks
    )
}

// ------------------------------------------------------------------------------------------
// Producers (sinks and dead letters)
// ------------------------------------------------------------------------------------------

/// The producer defaults (see the module documentation).
const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("compression.type", "lz4"),
    ("linger.ms", "5"),
    ("batch.size", "1000000"),
    ("queue.buffering.max.messages", "1000000"),
    ("message.timeout.ms", "600000"),
    ("partitioner", "murmur2_random"),
];

/// What a producer's callbacks collect: failed deliveries and fatal client errors, and
/// the count of every error (metrics).
struct ProducerCx {
    failures: Mutex<Failures>,
    round_robin: Option<RoundRobin>,
    errors: Arc<AtomicU64>,
}

#[derive(Default)]
struct Failures {
    count: u64,
    first: Option<String>,
}

/// `sink.partitioner` = `round-robin`: partitions in turn.
struct RoundRobin {
    next: AtomicU32,
}

impl Partitioner for RoundRobin {
    fn partition(&self, _: &str, _: Option<&[u8]>, partitions: i32, _: impl Fn(i32) -> bool) -> i32 {
        let n = u32::try_from(partitions.max(1)).unwrap_or(1);
        i32::try_from(self.next.fetch_add(1, Ordering::Relaxed) % n).unwrap_or(0)
    }
}

impl ProducerCx {
    fn new(round_robin: bool) -> Self {
        ProducerCx {
            failures: Mutex::new(Failures::default()),
            round_robin: round_robin.then(|| RoundRobin { next: AtomicU32::new(0) }),
            errors: Arc::default(),
        }
    }

    fn fail(&self, what: String) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.count += 1;
        f.first.get_or_insert(what);
    }

    fn has_failed(&self) -> bool {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).count > 0
    }

    /// The failures so far, cleared.
    fn take_failures(&self) -> Failures {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ClientContext for ProducerCx {
    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if error.rdkafka_error_code().is_some_and(is_fatal) {
            self.fail(format!("{reason} ({})", describe(&error)));
        }
    }
}

impl ProducerContext<RoundRobin> for ProducerCx {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, message)) = result {
            self.errors.fetch_add(1, Ordering::Relaxed);
            self.fail(format!("topic '{}': {}", message.topic(), describe(e)));
        }
    }

    fn get_custom_partitioner(&self) -> Option<&RoundRobin> {
        self.round_robin.as_ref()
    }
}

type Producer_ = BaseProducer<ProducerCx, RoundRobin>;

/// A producer for table `table`.
fn producer(table: &str, config: &ClientConfig, round_robin: bool) -> Result<Producer_> {
    config.create_with_context(ProducerCx::new(round_robin)).map_err(|e| kafka_error(table, "producer", &e))
}

/// Hands `record` to the producer, waiting while its queue is full.
fn send(producer: &Producer_, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<(), KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                if producer.context().has_failed() || producer.client().fatal_error().is_some() {
                    return Ok(());
                }
                record = back;
                producer.poll(Duration::from_millis(100));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The producer's fatal error, if it had one: it cannot deliver anything any more (an
/// idempotent producer whose broker lost its state, a fenced one).
fn fatal(producer: &Producer_, table: &str, what: &str) -> Result<()> {
    match producer.client().fatal_error() {
        None => Ok(()),
        Some((code, reason)) => Err(Error::Write {
            table: table.to_string(),
            reason: format!(
                "the Kafka producer for {what} failed for good ({code:?}: {reason}); {} messages were not \
                 delivered",
                producer.in_flight_count()
            ),
        }),
    }
}

/// The longest a flush waits: the message timeout (after which librdkafka reports a
/// message as failed) and a margin; `None` without timeout.
fn flush_limit(config: &ClientConfig) -> Option<Duration> {
    let ms: u64 = config
        .get("message.timeout.ms")
        .or_else(|| config.get("delivery.timeout.ms"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(300_000);
    (ms > 0).then(|| Duration::from_millis(ms) + Duration::from_secs(60))
}

/// Waits until every message handed to `producer` is delivered or failed; an error if
/// any failed (with `strict`; else a warning).
fn flush(producer: &Producer_, table: &str, what: &str, limit: Option<Duration>, strict: bool) -> Result<()> {
    let started = Instant::now();
    let mut warned = started;
    loop {
        // Short waits: rdkafka's flush polls for its whole timeout once anything is in
        // flight (at least 100 ms per call), which would stall every barrier.
        match producer.flush(Duration::from_millis(1)) {
            Ok(()) => break,
            Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => {
                fatal(producer, table, what)?;
                let waiting = producer.in_flight_count();
                if limit.is_some_and(|l| started.elapsed() > l) {
                    return Err(Error::Write {
                        table: table.to_string(),
                        reason: format!(
                            "{waiting} messages to {what} still not delivered after {} s",
                            started.elapsed().as_secs()
                        ),
                    });
                }
                if warned.elapsed() >= WARN_EVERY {
                    warned = Instant::now();
                    tracing::warn!(
                        table,
                        "waiting for {waiting} messages to be delivered to {what} ({} s so far)",
                        started.elapsed().as_secs()
                    );
                }
            }
            Err(e) => return Err(kafka_error(table, &format!("writing to {what}"), &e)),
        }
    }
    let failures = producer.context().take_failures();
    if failures.count == 0 {
        return Ok(());
    }
    let reason = format!(
        "{} messages could not be written to {what}; the first: {}",
        failures.count,
        failures.first.unwrap_or_default()
    );
    if strict {
        Err(Error::Write { table: table.to_string(), reason })
    } else {
        tracing::warn!(table, "{reason}");
        Ok(())
    }
}

/// Milliseconds of a message timestamp.
fn millis(ts: KafkaTimestamp) -> Option<i64> {
    ts.to_millis()
}
