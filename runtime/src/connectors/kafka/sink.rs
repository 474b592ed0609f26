//! Writing rows to a Kafka topic. See the [module documentation](super).

use super::codec::{KeySpec, Layout, PartEncoder};
use super::{PRODUCER_DEFAULTS, Producer_, client_config, fatal, flush, flush_limit, kafka_error, producer, send};
use crate::changelog::{Change, Upsert, UpsertFold, UpsertTarget};
use crate::connectors::format::{Column, write_error};
use crate::error::{Error, Result};
use crate::options::TableOptions;
use crate::pipeline::Sink;
use crate::types::Str;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer};
use serde::Serialize;
use std::marker::PhantomData;
use std::time::Duration;

/// A `kafka` or `upsert-kafka` table written from rows `R`; see [`sink`] and
/// [`upsert_sink`].
pub struct KafkaSink<R> {
    table: String,
    topic: String,
    producer: Producer_,
    key: Option<PartEncoder>,
    value: PartEncoder,
    /// `sink.partitioner` = `fixed`.
    partition: Option<i32>,
    /// `at-least-once`: failed deliveries fail the sink (else they are reported).
    strict: bool,
    limit: Option<Duration>,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    /// An update-before waiting to see whether its update-after has the same key.
    fold: UpsertFold<R>,
    /// Scratch for comparing keys.
    other_key: Vec<u8>,
    metadata: WriteMetadata<R>,
    /// `exactly-once`: whether a transaction is open (one is begun when checkpoints
    /// recover the sink, and after each commit).
    transactional: Transactional,
    _row: PhantomData<fn(&R)>,
}

/// The transactions of an `exactly-once` sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transactional {
    /// Not transactional.
    No,
    /// Transactional, not started (no checkpoints have recovered the sink).
    Idle,
    /// A transaction is open.
    Open,
}

/// The metadata columns a sink writes into each record rather than into its value
/// (`ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'`, `headers MAP<STRING, BYTES> METADATA`):
/// their positions among the table's columns and how to read them from a row.
pub struct WriteMetadata<R> {
    /// Positions of the metadata columns (left out of the value).
    pub columns: &'static [usize],
    /// The record's timestamp (ms since the epoch); `None` lets the producer stamp it.
    pub timestamp: Option<fn(&R) -> Option<i64>>,
    /// The record's headers, in order.
    pub headers: Option<fn(&R) -> Headers>,
}

/// Kafka record headers: (key, value) pairs in order.
pub type Headers = Vec<(Str, Option<Vec<u8>>)>;

impl<R> WriteMetadata<R> {
    /// No metadata columns.
    pub fn none() -> Self {
        WriteMetadata { columns: &[], timestamp: None, headers: None }
    }
}

/// The sink of a `kafka` table of `columns`: options `topic`, `format`/`value.format`,
/// `key.fields` + `key.format`, `value.fields-include`, `key.fields-prefix`,
/// `sink.partitioner`, `sink.delivery-guarantee` and `properties.*`.
pub fn sink<R: Serialize>(opts: &TableOptions, columns: &'static [Column]) -> Result<KafkaSink<R>> {
    sink_with_metadata(opts, columns, WriteMetadata::none())
}

/// [`sink`] writing `metadata` columns into the records.
pub fn sink_with_metadata<R: Serialize>(
    opts: &TableOptions,
    columns: &'static [Column],
    metadata: WriteMetadata<R>,
) -> Result<KafkaSink<R>> {
    let layout = Layout::from_options(opts, columns, KeySpec::Option)?.without(opts, metadata.columns)?;
    make(opts, layout, metadata)
}

/// The sink of an `upsert-kafka` table of `columns` whose PRIMARY KEY is `primary_key`:
/// the key holds the key columns (in `key.format`), the value the row (`value.format`).
/// Every row is written as an upsert; [`KafkaSink::delete`] writes a deletion.
pub fn upsert_sink<R: Serialize>(
    opts: &TableOptions,
    columns: &'static [Column],
    primary_key: &'static [&'static str],
) -> Result<KafkaSink<R>> {
    upsert_sink_with_metadata(opts, columns, primary_key, WriteMetadata::none())
}

/// [`upsert_sink`] writing `metadata` columns into the records.
pub fn upsert_sink_with_metadata<R: Serialize>(
    opts: &TableOptions,
    columns: &'static [Column],
    primary_key: &'static [&'static str],
    metadata: WriteMetadata<R>,
) -> Result<KafkaSink<R>> {
    let layout =
        Layout::from_options(opts, columns, KeySpec::PrimaryKey(primary_key))?.without(opts, metadata.columns)?;
    make(opts, layout, metadata)
}

fn make<R: Serialize>(opts: &TableOptions, layout: Layout, metadata: WriteMetadata<R>) -> Result<KafkaSink<R>> {
    let table = opts.table.clone();
    let topic = opts.required("topic")?;
    if topic.contains(';') || topic.trim().is_empty() {
        return Err(opts.error("topic", "a sink writes one topic"));
    }
    if opts.get("topic-pattern").is_some() {
        return Err(opts.error("topic-pattern", "a sink writes one topic: give 'topic'"));
    }
    let guarantee = match (opts.get("sink.delivery-guarantee"), opts.get("sink.semantic")) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => {
            return Err(opts.error("sink.semantic", "differs from 'sink.delivery-guarantee' (give only that)"));
        }
        (Some(g), _) | (None, Some(g)) => g.to_ascii_lowercase().replace('_', "-"),
        (None, None) => "at-least-once".to_string(),
    };
    let key = if opts.get("sink.delivery-guarantee").is_some() { "sink.delivery-guarantee" } else { "sink.semantic" };
    let (strict, transactional_id) = match guarantee.as_str() {
        "at-least-once" => (true, None),
        "none" => (false, None),
        "exactly-once" => {
            // One transactional id per sink of a pipeline instance: a restarted instance
            // with the same id fences its predecessor (a zombie) and aborts its open
            // transaction.
            let prefix = opts.get("sink.transactional-id-prefix").ok_or_else(|| {
                opts.error(
                    "sink.transactional-id-prefix",
                    "is required with 'exactly-once' (unique per pipeline instance writing to the cluster)",
                )
            })?;
            (true, Some(format!("{prefix}-{}", opts.table)))
        }
        other => return Err(opts.error(key, format!("'{other}' is not 'none', 'at-least-once' or 'exactly-once'"))),
    };
    let (partition, round_robin) = match opts.get("sink.partitioner").unwrap_or("default") {
        "default" => (None, false),
        "fixed" => (Some(0), false),
        "round-robin" => (None, true),
        other => {
            return Err(opts.error(
                "sink.partitioner",
                format!("'{other}' is not 'default', 'fixed' or 'round-robin' (partitioner classes are not supported)"),
            ));
        }
    };
    let client_id = format!("dflc-{table}");
    let mut defaults = PRODUCER_DEFAULTS.to_vec();
    defaults.push(("client.id", &client_id));
    if !strict {
        defaults.retain(|(k, _)| *k != "enable.idempotence" && *k != "acks");
        defaults.push(("acks", "1"));
    }
    if round_robin {
        // Otherwise librdkafka keeps rows without a key on one partition for a while.
        defaults.push(("sticky.partitioning.linger.ms", "0"));
    }
    let message_timeout;
    if let Some(id) = &transactional_id {
        defaults.push(("transactional.id", id));
        // Transactions stay open for a checkpoint interval; the broker's maximum
        // (transaction.max.timeout.ms) is 15 minutes by default. A message may not wait
        // longer than its transaction.
        let tx = opts.get("properties.transaction.timeout.ms").and_then(|v| v.trim().parse::<u64>().ok());
        defaults.push(("transaction.timeout.ms", "900000"));
        message_timeout = tx.unwrap_or(900_000).min(600_000).to_string();
        defaults.retain(|(k, _)| *k != "message.timeout.ms");
        defaults.push(("message.timeout.ms", &message_timeout));
    }
    let config = client_config(opts, &defaults)?;
    let producer = producer(&table, &config, round_robin)?;
    Ok(KafkaSink {
        table,
        topic: topic.trim().to_string(),
        producer,
        key: layout.key.as_ref().map(|k| PartEncoder::new(k, layout.columns)),
        value: PartEncoder::new(&layout.value, layout.columns),
        partition,
        strict,
        limit: flush_limit(&config),
        key_buf: Vec::new(),
        value_buf: Vec::new(),
        fold: UpsertFold::default(),
        other_key: Vec::new(),
        metadata,
        transactional: if transactional_id.is_some() { Transactional::Idle } else { Transactional::No },
        _row: PhantomData,
    })
}

impl<R: Serialize> KafkaSink<R> {
    /// Writes `row` as an upsert (`value = None`: a deletion, a message without value —
    /// a tombstone).
    fn produce(&mut self, row: &R, with_value: bool) -> Result<()> {
        self.key_buf.clear();
        self.value_buf.clear();
        let has_key = match &mut self.key {
            None => false,
            Some(encoder) => encoder.encode(row, &mut self.key_buf).map_err(|e| write_error(&self.table, e))?,
        };
        let has_value =
            with_value && self.value.encode(row, &mut self.value_buf).map_err(|e| write_error(&self.table, e))?;
        let mut record = BaseRecord::<[u8], [u8]>::to(&self.topic);
        if has_key {
            record = record.key(&self.key_buf[..]);
        }
        if has_value {
            record = record.payload(&self.value_buf[..]);
        }
        if let Some(p) = self.partition {
            record = record.partition(p);
        }
        if let Some(timestamp) = self.metadata.timestamp.and_then(|f| f(row)) {
            record = record.timestamp(timestamp);
        }
        if let Some(headers) = self.metadata.headers {
            let mut owned = OwnedHeaders::new();
            for (key, value) in headers(row) {
                owned = owned.insert(Header { key: &key, value: value.as_deref() });
            }
            record = record.headers(owned);
        }
        send(&self.producer, record)
            .map_err(|e| kafka_error(&self.table, &format!("writing to topic '{}'", self.topic), &e))
    }

    /// Writes a deletion of `row`'s key: a message with the key and no value (a
    /// tombstone), as `upsert-kafka` does for deleted rows.
    pub fn delete(&mut self, row: &R) -> Result<()> {
        self.produce(row, false)?;
        self.check()
    }

    /// Serves delivery reports; an error if a delivery failed (at-least-once).
    fn check(&mut self) -> Result<()> {
        self.producer.poll(Duration::ZERO);
        fatal(&self.producer, &self.table, &format!("topic '{}'", self.topic))?;
        if self.strict && self.producer.context().has_failed() {
            // Report every failure known so far.
            return flush(&self.producer, &self.table, &format!("topic '{}'", self.topic), self.limit, true);
        }
        Ok(())
    }
}

impl<R: Serialize> UpsertTarget<R> for KafkaSink<R> {
    fn same_key(&mut self, a: &R, b: &R) -> bool {
        let Some(encoder) = &mut self.key else { return false };
        self.key_buf.clear();
        self.other_key.clear();
        matches!(
            (encoder.encode(a, &mut self.key_buf), encoder.encode(b, &mut self.other_key)),
            (Ok(true), Ok(true)) if self.key_buf == self.other_key
        )
    }

    fn apply(&mut self, op: Upsert, row: &R) -> Result<()> {
        self.produce(row, op == Upsert::Put)
    }
}

impl<R> KafkaSink<R> {
    /// Writes may go on: an `exactly-once` sink needs an open transaction.
    fn writable(&self) -> Result<()> {
        if self.transactional == Transactional::Idle {
            return Err(Error::Config(format!(
                "table `{}`: 'sink.delivery-guarantee' = 'exactly-once' needs checkpoints: set \
                 'state.checkpoints.dir' and 'execution.checkpointing.interval' (transactions commit at checkpoints)",
                self.table
            )));
        }
        Ok(())
    }

    fn transaction_error(&self, what: &str, e: &rdkafka::error::KafkaError) -> Error {
        kafka_error(
            &self.table,
            &format!("{what} (exactly-once needs a broker with transactions, Kafka 0.11 or later)"),
            e,
        )
    }
}

impl<R: Serialize + Send> Sink<R> for KafkaSink<R> {
    fn write_batch(&mut self, rows: &mut Vec<R>) -> Result<()> {
        self.writable()?;
        for row in rows.drain(..) {
            self.produce(&row, true)?;
        }
        self.check()
    }

    /// An updating result, as `upsert-kafka` writes it: a message per put (key and row)
    /// and a tombstone per delete (key, no value); see [`UpsertFold`].
    fn write_changes(&mut self, changes: &mut Vec<Change<R>>) -> Result<()> {
        self.writable()?;
        let mut fold = std::mem::take(&mut self.fold);
        let result = fold.fold(changes, self);
        self.fold = fold;
        result?;
        self.check()
    }

    /// The end of the run: everything delivered (and, `exactly-once`, committed: the
    /// pipeline's final checkpoint has prepared it).
    fn flush(&mut self) -> Result<()> {
        let mut fold = std::mem::take(&mut self.fold);
        fold.finish(self)?;
        flush(&self.producer, &self.table, &format!("topic '{}'", self.topic), self.limit, self.strict)?;
        if self.transactional == Transactional::Open && self.producer.in_flight_count() == 0 {
            // Nothing is left in the open transaction but it may hold rows written after
            // the final checkpoint (none: the run's end takes one).
            let timeout = self.limit.unwrap_or(Duration::from_secs(60));
            self.producer
                .commit_transaction(timeout)
                .map_err(|e| self.transaction_error("committing a transaction", &e))?;
            self.transactional = Transactional::Idle;
        }
        Ok(())
    }

    /// Waits until every row written so far is acknowledged (as [`flush`](Self::flush)).
    fn sync(&mut self) -> Result<()> {
        if self.transactional == Transactional::Open {
            // Rows become visible only when their transaction commits at a checkpoint.
            let mut fold = std::mem::take(&mut self.fold);
            fold.finish(self)?;
            return flush(&self.producer, &self.table, &format!("topic '{}'", self.topic), self.limit, true);
        }
        self.flush()
    }

    /// `exactly-once`: the transaction holding the rows since the last checkpoint is
    /// committed here, before the checkpoint's metadata is written, and a new one begun.
    /// (A Kafka transaction cannot be resumed by another process with librdkafka, so one
    /// prepared here and committed after the metadata would be aborted by a restart
    /// in between: lost. Committing first means that a crash in that moment writes the
    /// interval's rows again instead.) Other guarantees: a flush.
    fn prepare_commit(&mut self, checkpoint: u64) -> Result<serde_json::Value> {
        let _ = checkpoint;
        if self.transactional != Transactional::Open {
            self.sync()?;
            return Ok(serde_json::Value::Null);
        }
        let mut fold = std::mem::take(&mut self.fold);
        fold.finish(self)?;
        let timeout = self.limit.unwrap_or(Duration::from_secs(60));
        self.producer
            .commit_transaction(timeout)
            .map_err(|e| self.transaction_error("committing a transaction", &e))?;
        self.producer.begin_transaction().map_err(|e| self.transaction_error("beginning a transaction", &e))?;
        Ok(serde_json::Value::Null)
    }

    /// `exactly-once`: registers the transactional id (fencing an older producer with it
    /// and aborting its open transaction: rows written after the checkpoint restored), then
    /// begins the first transaction.
    fn recover(&mut self, _info: Option<&serde_json::Value>) -> Result<()> {
        if self.transactional == Transactional::No {
            return Ok(());
        }
        let timeout = self.limit.unwrap_or(Duration::from_secs(60));
        self.producer.init_transactions(timeout).map_err(|e| self.transaction_error("starting transactions", &e))?;
        self.producer.begin_transaction().map_err(|e| self.transaction_error("beginning a transaction", &e))?;
        self.transactional = Transactional::Open;
        Ok(())
    }

    /// The producer's errors (`dfl_kafka_errors_total{client="producer"}`).
    fn register_metrics(&self, table: &str, metrics: &crate::metrics::Registry) {
        metrics.add_kafka_errors(table, "producer", std::sync::Arc::clone(&self.producer.context().errors));
    }
}
