//! Repartitioning a table through a Kafka topic of the pipeline's own (a *shuffle* topic),
//! as Kafka Streams' repartition topics do, for a task keeping state per partition
//! (`'scale-out.mode' = 'partition'`) whose key is not the one the table's topic is
//! partitioned by.
//!
//! The task runs in two stages, in every process of the pipeline:
//!
//! 1. The **writer** ([`write`]) reads the table's topic in the table's consumer group,
//!    decodes each record only to compute its key's hash (the route key of the task, as for
//!    [`crate::exchange`]) and its event time, and writes the record as it was read — key
//!    and value bytes, partition, offset, timestamp, headers — to partition
//!    `hash % partitions` of the shuffle topic `<group>-<task>-repartition` (created with as
//!    many partitions and replicas as the table's topic if it does not exist). It commits
//!    the table's offsets only after the records before them are acknowledged, and resumes
//!    each partition from the group's committed offset ([`writer_source`]).
//! 2. The task's operators run per partition of the shuffle topic ([`super::partitioned`]),
//!    in the group `<group>-<task>-repartition`, with their state in the shared folder; each
//!    instance reads its partition through [`Shuffled`], which decodes the records with the
//!    table's own formats.
//!
//! **Watermarks.** Records of every partition of the table's topic interleave in each
//! partition of the shuffle topic, so an instance cannot take the watermark from the
//! records' times as a reader of the table does. The writer sends its watermark instead:
//! whenever it moved (at most every [`MARK_EVERY`]), at barriers and when the source idles,
//! a *mark* to every partition of the shuffle topic with the watermark of each table
//! partition it reads: the partition's own (the greatest event time read, less the table's
//! delay, as a reader of the table keeps per partition); for a partition without rows for
//! the table's idle timeout the least of the active ones'; none for a partition it has not
//! read a row of yet; the greatest possible once its bounded input ended (not when it is
//! taken away: its next reader marks it). An instance's watermark is
//! the least over all partitions of the table of the greatest mark it has for each (none
//! until every partition has one). A mark follows, in each shuffle partition, the records
//! sent before it, so no record the mark's watermark had passed can come after it.
//!
//! **Exactly once.** A writer that fails writes again, from the table's committed offsets,
//! records it had written: each instance keeps, per partition of the table, the greatest
//! offset it has read and skips records at or below it (the writer's producer is
//! idempotent and gapless, so a partition's records reach each shuffle partition in order
//! and none is missing before one that arrived; a write that failed fails the writer before
//! anything follows it). The marks
//! and offsets are part of the instance's snapshot (its source position).
//!
//! **Purged as read.** Once an instance's offset is committed (after its snapshot), the
//! records before it are deleted from the shuffle topic (`admin::Purge`).
//!
//! **Joins.** A task joining two tables has a writer per table, both writing one shuffle
//! topic (named after the task and its first table), routing by the join key; records and
//! marks say which table they are of (their `side`), and the
//! instances read both tables' records from their partition ([`pair_source`], [`run_pair`]).

use super::codec::{KeySpec, RowDecoder};
use super::source::{KafkaSource, Record};
use super::{PRODUCER_DEFAULTS, Producer_, client_config, flush, flush_limit, kafka_error, producer, send};
use crate::checkpoint::{TaskCheckpoint, decode, encode};
use crate::connectors::format::Column;
use crate::connectors::merge::Merged;
use crate::connectors::{Barrier, Source, SourceEvent};
use crate::error::{Error, Result};
use crate::options::TableOptions;
use crate::pipeline::Context;
use crate::time::BoundedOutOfOrderness;
use rdkafka::producer::{BaseRecord, Producer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The client setting that lets a metadata request create a topic (with the broker's
/// default partitions): off, the pipeline creates its shuffle topic itself.
pub(super) const NO_AUTO_CREATE: &str = "allow.auto.create.topics";

/// The greatest record a Kafka broker takes by default (its `message.max.bytes`).
const BROKER_MESSAGE_MAX: usize = 1_048_588;

/// What wrapping a record for the shuffle topic may add to it, at most: its topic's name,
/// partition, offset, timestamp and the lengths of its parts take a few hundred bytes.
const ENVELOPE_ROOM: usize = 64 * 1024;

/// How large a message of the shuffle topic named after the table of `opts` may be: room
/// for the greatest record the table's topic can hold (the broker's default, or the
/// table's `properties.message.max.bytes` if greater), wrapped. The shuffle topic is made
/// with this `max.message.bytes` and its writers' producers with this `message.max.bytes`,
/// so that a record a table's topic took is not refused once wrapped (it would fail the
/// writer at every restart).
pub(super) fn envelope_limit(opts: &TableOptions) -> Result<usize> {
    let table = match opts.get("properties.message.max.bytes") {
        None => BROKER_MESSAGE_MAX,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| opts.error("properties.message.max.bytes", format!("'{v}' is not a number of bytes")))?,
    };
    Ok(table.max(BROKER_MESSAGE_MAX) + ENVELOPE_ROOM)
}

/// How often, at most, the writer sends its watermark while records flow.
pub const MARK_EVERY: Duration = Duration::from_millis(200);

/// The watermarks a writer sends: `(partition of the table's topic, watermark)` for every
/// partition it reads, of the topic's `partitions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// The table whose writer sent it: 0, or 1 for the second table of a join.
    pub side: u8,
    /// The number of partitions of the table's topic.
    pub partitions: i32,
    /// Per partition the writer reads, its watermark.
    pub watermarks: Vec<(i32, i64)>,
}

/// A record of the table's topic as the writer read it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Forwarded {
    /// The table it is a record of: 0, or 1 for the second table of a join.
    pub(super) side: u8,
    pub(super) topic: String,
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) timestamp: Option<i64>,
    pub(super) timestamp_type: u8,
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Option<Vec<u8>>,
    pub(super) headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Forwarded {
    /// The record's `timestamp-type`, as Kafka names it.
    pub(super) fn timestamp_type(&self) -> &'static str {
        match self.timestamp_type {
            1 => "CreateTime",
            2 => "LogAppendTime",
            _ => "NoTimestampType",
        }
    }
}

/// A message of a shuffle topic.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Envelope {
    Row(Forwarded),
    Mark(Mark),
}

impl Envelope {
    /// The envelope a message's value holds.
    pub(super) fn decode(bytes: &[u8]) -> Result<Envelope, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("not a record of a shuffle topic: {e}"))
    }
}

/// The shuffle topic of task `task` reading the table of `opts`, and its consumer group.
pub fn topic_name(opts: &TableOptions, task: &str) -> Result<String> {
    own_topic_name(opts, task, "repartition")
}

/// The name of a topic of the pipeline's own for task `task` reading the table of `opts`
/// (`what`: `repartition`, or `stage`), which is its consumer group's name too:
/// `<group>-<task>-<what>`, made of the characters a topic's name may have.
pub(super) fn own_topic_name(opts: &TableOptions, task: &str, what: &str) -> Result<String> {
    let group = opts.get("properties.group.id").ok_or_else(|| {
        opts.error("properties.group.id", format!("is required: the {what} topic and its group are named after it"))
    })?;
    Ok(format!("{group}-{task}-{what}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect())
}

/// The options of the shuffle topic of task `task` reading the table of `opts`: its own
/// topic and group, read from the group's offsets (from the start without any), unbounded.
fn shuffle_options(opts: &TableOptions, task: &str) -> Result<(TableOptions, String)> {
    let topic = topic_name(opts, task)?;
    Ok((topic_options(opts, &topic), topic))
}

/// The options of a topic of the pipeline's own, `topic`, on the cluster of the table of
/// `opts`: read in a group of its name, from the group's offsets (from the start without
/// any), unbounded.
pub(super) fn topic_options(opts: &TableOptions, topic: &str) -> TableOptions {
    let mut o = TableOptions::new(&opts.table, &[]);
    for (k, v) in opts.with_prefix("") {
        let table_only = k == "topic-pattern"
            || k.starts_with("scan.bounded.")
            || k.starts_with("scan.startup.")
            || k == "properties.auto.offset.reset"
            || k == "properties.group.id";
        if !table_only {
            o.set(k, v);
        }
    }
    o.set("topic", topic);
    o.set("properties.group.id", topic);
    o.set("scan.startup.mode", "group-offsets");
    o.set("properties.auto.offset.reset", "earliest");
    o
}

/// The source of the instances of task `task` (rows of the table of `opts`, decoded as
/// [`super::source`] decodes them): its shuffle topic (created if it does not exist yet),
/// in a group of its own.
pub fn source<R: DeserializeOwned + Default>(
    opts: &TableOptions,
    columns: &'static [Column],
    validate: fn(&R) -> Result<(), String>,
    task: &str,
) -> Result<KafkaSource<R>> {
    let (o, topic) = shuffle_options(opts, task)?;
    let client = metadata_client(opts)?;
    ensure_topic(&client, opts, task)?;
    // A table read to an end: the shuffle topic is read until the writers' marks say so.
    let until_ended = bounded(opts).then_some(1);
    let table_topic = source_topic(opts)?.to_string();
    let source = super::partitioned::source(&o, columns, validate)?;
    Ok(source.reading_envelopes(&table_topic, R::default, until_ended).purging(purge(opts, &topic)?))
}

/// The purge of the shuffle topic `topic` on the cluster of the table of `opts`.
pub(super) fn purge(opts: &TableOptions, topic: &str) -> Result<super::admin::Purge> {
    super::admin::Purge::new(&client_config(opts, &[])?, topic)
}

/// Whether the table of `opts` is read to an end.
pub(super) fn bounded(opts: &TableOptions) -> bool {
    opts.get("scan.bounded.mode").is_some_and(|m| m != "unbounded")
}

/// A row of either table of a join, as the instances of a repartitioned join read them
/// from its shuffle topic (see [`pair_source`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub enum Pair<A, B> {
    /// A row of the first table.
    A(A),
    /// A row of the second table.
    B(B),
}

impl<A: Default, B> Pair<A, B> {
    /// The blank row of the records that carry marks.
    fn blank() -> Self {
        Pair::A(A::default())
    }
}

/// One table of a join: its options, its columns, its PRIMARY KEY when it is an
/// `upsert-kafka` table (read as a changelog), and the checks its rows must pass.
pub type Table<'a, R> =
    (&'a TableOptions, &'static [Column], Option<&'static [&'static str]>, fn(&R) -> Result<(), String>);

/// The source of the instances of the join task `task` reading tables `a` and `b`, both
/// repartitioned by the join key through one shuffle topic (named after `a`, created if
/// it does not exist yet): each record decoded by its own table's formats.
pub fn pair_source<A, B>(a: Table<'_, A>, b: Table<'_, B>, task: &str) -> Result<KafkaSource<Pair<A, B>>>
where
    A: DeserializeOwned + Default + Send + 'static,
    B: DeserializeOwned + Send + 'static,
{
    let (topics, bounded_both) = ([source_topic(a.0)?, source_topic(b.0)?], bounded(a.0) && bounded(b.0));
    if topics[0] == topics[1] {
        return Err(b.0.error(
            "topic",
            format!("both tables of a repartitioned join read topic '{}': join the table with itself", topics[0]),
        ));
    }
    let (o, topic) = shuffle_options(a.0, task)?;
    ensure_topic(&metadata_client(a.0)?, a.0, task)?;
    let key = |primary_key: Option<&'static [&'static str]>| primary_key.map_or(KeySpec::Option, KeySpec::PrimaryKey);
    let mut left = RowDecoder::new(a.0, a.1, key(a.2), a.3)?;
    let mut right = RowDecoder::new(b.0, b.1, key(b.2), b.3)?;
    let decode: super::source::SideDecoder<Pair<A, B>> = Box::new(move |side, key, value| match side {
        0 => Ok(left.decode(key, value)?.map(|(v, k, t)| (Pair::A(v), k.map(Pair::A), t))),
        1 => Ok(right.decode(key, value)?.map(|(v, k, t)| (Pair::B(v), k.map(Pair::B), t))),
        other => Err(format!("a record of table {other} in the shuffle topic of a join of two tables")),
    });
    // The tables read to an end: the shuffle topic is read until the marks of both say so.
    let source = super::source::source_decoding(&super::partitioned::options(&o), decode)?;
    Ok(source.reading_envelopes(topics[0], Pair::blank, bounded_both.then_some(2)).purging(purge(a.0, &topic)?))
}

/// What a bounded reader of a shuffle topic knows of the tables' ends from one split's
/// marks: per table, its partitions and those whose end was marked.
#[derive(Debug, Default)]
pub struct Ends {
    tables: BTreeMap<u8, (i32, std::collections::BTreeSet<i32>)>,
}

impl Ends {
    /// Notes `mark`; whether every partition of all `sides` tables has ended.
    pub(super) fn note(&mut self, mark: &Mark, sides: u8) -> bool {
        let (partitions, ended) = self.tables.entry(mark.side).or_default();
        *partitions = mark.partitions;
        ended.extend(mark.watermarks.iter().filter(|(_, wm)| *wm == i64::MAX).map(|(p, _)| *p));
        self.all(sides)
    }

    /// Whether every partition of all `sides` tables has ended.
    pub(super) fn all(&self, sides: u8) -> bool {
        (0..sides).all(|side| {
            self.tables.get(&side).is_some_and(|(n, ended)| ended.len() >= usize::try_from(*n).unwrap_or(usize::MAX))
        })
    }

    /// Notes the ends an instance's snapshot holds (its source's `position`): the marks
    /// read before it, which a reader starting there does not read again.
    pub(super) fn restore(&mut self, position: &[u8]) -> Result<()> {
        let mut input = position;
        let (_, state): (Vec<u8>, ShuffledState) = decode(&mut input)?;
        for (side, n) in state.partitions {
            let (partitions, ended) = self.tables.entry(side).or_default();
            *partitions = (*partitions).max(n);
            let marks = state.marks.range((side, i32::MIN)..=(side, i32::MAX));
            ended.extend(marks.filter(|(_, wm)| **wm == i64::MAX).map(|((_, p), _)| *p));
        }
        Ok(())
    }
}

/// A client of the table's cluster for its metadata.
pub(super) fn metadata_client(opts: &TableOptions) -> Result<Producer_> {
    let client_id = format!("dflc-{}-repartition", opts.table);
    let mut defaults = PRODUCER_DEFAULTS.to_vec();
    defaults.push(("client.id", &client_id));
    producer(&opts.table, &client_config(opts, &defaults)?.set(NO_AUTO_CREATE, "false").clone(), false)
}

/// The number of partitions of `topic` (0: it does not exist) and the replicas of its
/// first.
pub(super) fn topic_shape(client: &Producer_, table: &str, topic: &str) -> Result<(i32, i32)> {
    let metadata = client
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .map_err(|e| kafka_error(table, &format!("reading the metadata of topic '{topic}'"), &e))?;
    let Some(t) = metadata.topics().iter().find(|m| m.name() == topic) else { return Ok((0, 0)) };
    let replicas = t.partitions().first().map_or(0, |p| p.replicas().len());
    Ok((i32::try_from(t.partitions().len()).unwrap_or(i32::MAX), i32::try_from(replicas).unwrap_or(1)))
}

/// The number of partitions of `topic` (0: it does not exist).
pub(super) fn partitions_of(client: &Producer_, table: &str, topic: &str) -> Result<i32> {
    Ok(topic_shape(client, table, topic)?.0)
}

/// The shuffle topic of task `task` and its number of partitions: created, with as many
/// partitions and replicas as the table's topic, if it does not exist (by another process
/// of the pipeline at the same time, perhaps).
fn ensure_topic(client: &Producer_, opts: &TableOptions, task: &str) -> Result<(String, i32)> {
    let (_, topic) = shuffle_options(opts, task)?;
    let table = &opts.table;
    let mut partitions = partitions_of(client, table, &topic)?;
    if partitions == 0 {
        let wanted = topic_shape(client, table, source_topic(opts)?)?.0;
        partitions = create_own_topic(client, opts, &topic, wanted.max(1))?;
        tracing::info!(table, topic, partitions, "created the shuffle topic of task `{task}`");
    }
    if partitions == 0 {
        return Err(Error::Kafka {
            table: table.clone(),
            message: format!("the shuffle topic '{topic}' has no partitions"),
        });
    }
    Ok((topic, partitions))
}

/// Creates `topic`, a topic of the pipeline's own on the cluster of the table of `opts`,
/// with `partitions`, the replicas of the table's topic and room for its records wrapped
/// ([`envelope_limit`]); another process of the pipeline may create it at the same time.
/// Its number of partitions once the metadata shows it (0 if it does not within 30 s).
pub(super) fn create_own_topic(client: &Producer_, opts: &TableOptions, topic: &str, partitions: i32) -> Result<i32> {
    let table = &opts.table;
    let replicas = topic_shape(client, table, source_topic(opts)?)?.1;
    let shape = super::admin::NewTopicShape {
        partitions,
        replicas: replicas.max(1),
        configs: vec![("max.message.bytes", envelope_limit(opts)?.to_string())],
    };
    super::admin::create_topic_shaped(&client_config(opts, &[])?, topic, &shape)?;
    // The metadata may lag the creation a little.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut made = partitions_of(client, table, topic)?;
    while made == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        made = partitions_of(client, table, topic)?;
    }
    Ok(made)
}

/// The table's topic: one ('topic-pattern' and several topics are not repartitioned).
pub(super) fn source_topic(opts: &TableOptions) -> Result<&str> {
    match opts.get("topic").map(str::trim) {
        Some(t) if !t.is_empty() && !t.contains(';') && opts.get("topic-pattern").is_none() => Ok(t),
        _ => Err(opts.error(
            "topic",
            "a table repartitioned by its task's key ('scale-out.mode' = 'partition') reads one topic, not several \
             nor a 'topic-pattern'",
        )),
    }
}

/// The source of the writer of task `task`'s shuffle topic: the table's, resuming each
/// partition from the group's committed offset (a partition a process takes over goes on
/// where the last one committed); `'scan.startup.mode'` `earliest-offset` or
/// `latest-offset` says where a partition without one starts. An `upsert-kafka` table (its
/// `primary_key`) is read as a changelog, from its start by default.
pub fn writer_source<R: DeserializeOwned>(
    opts: &TableOptions,
    columns: &'static [Column],
    primary_key: Option<&'static [&'static str]>,
    validate: fn(&R) -> Result<(), String>,
) -> Result<KafkaSource<R>> {
    source_topic(opts)?;
    let mut o = opts.clone();
    let default = if primary_key.is_some() { "earliest-offset" } else { "group-offsets" };
    match opts.get("scan.startup.mode").unwrap_or(default) {
        "group-offsets" => {}
        "earliest-offset" => {
            o.set("scan.startup.mode", "group-offsets");
            o.set("properties.auto.offset.reset", "earliest");
        }
        "latest-offset" => {
            o.set("scan.startup.mode", "group-offsets");
            o.set("properties.auto.offset.reset", "latest");
        }
        other => {
            return Err(opts.error(
                "scan.startup.mode",
                format!(
                    "'{other}' cannot be combined with repartitioning ('scale-out.mode' = 'partition'): its writers \
                     resume from the group's offsets; use 'group-offsets', 'earliest-offset' or 'latest-offset'"
                ),
            ));
        }
    }
    match primary_key {
        Some(key) => super::upsert_source(&super::partitioned::options(&o), columns, key, validate),
        None => super::partitioned::source(&o, columns, validate),
    }
}

/// Where a writer writes: the shuffle topic of task `task`, named after the task's first
/// table `first` (on whose cluster it is), for the records of its table `side` (0, or 1 for
/// the second table of a join).
pub struct Stage<'a> {
    /// The task whose shuffle topic it is.
    pub task: &'a str,
    /// The options of the task's first table, which name the topic.
    pub first: &'a TableOptions,
    /// The table written: 0, or 1 for the second table of a join.
    pub side: u8,
}

/// The writer of a shuffle topic.
struct Writer {
    table: String,
    topic: String,
    producer: Producer_,
    /// The shuffle topic's partitions.
    partitions: i32,
    /// The table whose records it writes.
    side: u8,
    limit: Option<Duration>,
    /// The greatest message the shuffle topic takes ([`envelope_limit`]).
    max_bytes: usize,
    buf: Vec<u8>,
}

impl Writer {
    /// The writer of `stage`'s shuffle topic (created if it does not exist yet) for the
    /// records of table `table`.
    fn open(table: &str, stage: &Stage<'_>) -> Result<Writer> {
        let table = table.to_string();
        let mut defaults = PRODUCER_DEFAULTS.to_vec();
        let client_id = format!("dflc-{table}-repartition");
        defaults.push(("client.id", &client_id));
        let mut config = client_config(stage.first, &defaults)?;
        // A record lost in between would be skipped by the instances when written again.
        config.set(NO_AUTO_CREATE, "false").set("enable.gapless.guarantee", "true");
        let max_bytes = envelope_limit(stage.first)?;
        config.set("message.max.bytes", max_bytes.to_string());
        let producer = producer(&table, &config, false)?;
        let (topic, partitions) = ensure_topic(&producer, stage.first, stage.task)?;
        let (side, limit) = (stage.side, flush_limit(&config));
        Ok(Writer { table, topic, producer, partitions, side, limit, max_bytes, buf: Vec::new() })
    }

    fn put(&mut self, partition: i32, key: &[u8], envelope: &Envelope) -> Result<()> {
        if self.producer.context().has_failed() {
            // Nothing may follow a record that was not written: fail with its reason.
            self.flush()?;
        }
        self.buf.clear();
        encode(envelope, &mut self.buf)?;
        if self.buf.len() > self.max_bytes {
            return Err(self.too_large(envelope));
        }
        let record = BaseRecord::to(&self.topic).partition(partition).key(key).payload(&self.buf[..]);
        send(&self.producer, record).map_err(|e| kafka_error(&self.table, "writing to the shuffle topic", &e))?;
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    /// Writes `record` to the partition of `hash`.
    fn row<R>(&mut self, record: &Record<R>, hash: u64) -> Result<()> {
        let raw = record.raw.as_ref().ok_or_else(|| Error::State("a record without its bytes".into()))?;
        let forwarded = Forwarded {
            side: self.side,
            topic: record.topic.to_string(),
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp.map(|t| t.millis()),
            timestamp_type: match record.timestamp_type {
                "CreateTime" => 1,
                "LogAppendTime" => 2,
                _ => 0,
            },
            key: raw.key.clone(),
            value: raw.value.clone(),
            headers: record.headers.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        };
        let partition = (hash % self.partitions as u64) as i32;
        self.put(partition, &hash.to_le_bytes(), &Envelope::Row(forwarded))
    }

    /// The error of an envelope above the shuffle topic's limit: only a record larger than
    /// the table's `properties.message.max.bytes` says its topic takes is.
    fn too_large(&self, envelope: &Envelope) -> Error {
        let what = match envelope {
            Envelope::Row(r) => {
                format!("the record at offset {} of partition {} of topic '{}'", r.offset, r.partition, r.topic)
            }
            Envelope::Mark(_) => "a watermark mark".to_string(),
        };
        Error::Kafka {
            table: self.table.clone(),
            message: format!(
                "{what} is {} bytes once wrapped for the shuffle topic '{}', above the {} bytes its messages may \
                 have: set the table's 'properties.message.max.bytes' to the greatest record its topic holds \
                 (a shuffle topic made before keeps its 'max.message.bytes': raise it on the broker too)",
                self.buf.len(),
                self.topic,
                self.max_bytes
            ),
        }
    }

    /// Sends `mark` to every partition.
    fn mark(&mut self, mark: Mark) -> Result<()> {
        let envelope = Envelope::Mark(mark);
        for p in 0..self.partitions {
            self.put(p, b"", &envelope)?;
        }
        Ok(())
    }

    /// Waits until everything written is acknowledged.
    fn flush(&mut self) -> Result<()> {
        flush(&self.producer, &self.table, &format!("shuffle topic '{}'", self.topic), self.limit, true)
    }
}

/// What the source tells the writer of its splits: the partition of each, and which reached
/// their end (a split taken away by a rebalance ends too, without reaching it).
#[derive(Debug, Default)]
pub struct Splits {
    pub(super) partition: HashMap<usize, i32>,
    pub(super) ended: std::collections::HashSet<usize>,
}

/// The watermark of one partition of the table as the writer reads it.
struct Clock {
    watermark: BoundedOutOfOrderness,
    last_row: Instant,
    ended: bool,
}

/// What the writer knows of the table's partitions, and the marks it sent.
struct Marks {
    splits: Arc<Mutex<Splits>>,
    /// Per split being read (or ended), its partition's watermark.
    reading: BTreeMap<usize, Clock>,
    /// The watermark's delay (none: the table has none; only ends are marked).
    delay_ms: Option<i64>,
    /// How long a partition without rows takes to be idle (the table's idle timeout).
    idle: Option<Duration>,
    /// The number of partitions of the table's topic.
    partitions: i32,
    /// The table (0, or 1 for the second table of a join).
    side: u8,
    /// What was sent last, and when.
    sent: Option<Mark>,
    at: Instant,
}

impl Marks {
    /// Split `split` starts (again): its watermark starts over.
    fn start(&mut self, split: usize) {
        let watermark = BoundedOutOfOrderness::sql(self.delay_ms.unwrap_or(0));
        self.reading.insert(split, Clock { watermark, last_row: Instant::now(), ended: false });
    }

    /// A row of `split` with event time `ts`.
    fn observe(&mut self, split: usize, ts: Option<i64>) {
        if let Some(c) = self.reading.get_mut(&split) {
            c.last_row = Instant::now();
            if let (Some(ts), Some(_)) = (ts, self.delay_ms) {
                c.watermark.observe(ts);
            }
        }
    }

    /// Split `split` ended: at the end of its bounded input (it holds nothing back any
    /// more), or taken away (its next reader marks it).
    fn end(&mut self, split: usize) {
        let reached = self.splits.lock().unwrap_or_else(|p| p.into_inner()).ended.contains(&split);
        match (reached, self.reading.get_mut(&split)) {
            (true, Some(c)) => c.ended = true,
            _ => {
                self.reading.remove(&split);
            }
        }
    }

    /// The mark now: each partition read with its own watermark (as a reader of the table
    /// keeps one per partition); one without rows for the idle timeout with the least of
    /// the others' (it holds nothing back, as an idle partition does not), or the greatest
    /// when all are idle; one whose input ended with the greatest possible. Partitions
    /// without rows yet are not marked. `None` if there is nothing to mark.
    fn now(&self) -> Option<Mark> {
        let splits = self.splits.lock().unwrap_or_else(|p| p.into_inner());
        let idle = |c: &Clock| self.idle.is_some_and(|t| c.last_row.elapsed() > t);
        let seen = |c: &Clock| c.watermark.current() > crate::time::NO_WATERMARK;
        let open = || self.reading.values().filter(|c| !c.ended && seen(c));
        let active = open().filter(|c| !idle(c)).map(|c| c.watermark.current()).min();
        let for_idle = active.or_else(|| open().map(|c| c.watermark.current()).max());
        let watermarks: Vec<(i32, i64)> = self
            .reading
            .iter()
            .filter_map(|(split, c)| {
                let p = *splits.partition.get(split)?;
                let wm = match () {
                    _ if c.ended => i64::MAX,
                    _ if self.delay_ms.is_none() => return None,
                    _ if idle(c) => for_idle?,
                    _ if !seen(c) => return None,
                    _ => c.watermark.current(),
                };
                Some((p, wm))
            })
            .collect();
        (!watermarks.is_empty()).then_some(Mark { side: self.side, partitions: self.partitions, watermarks })
    }

    /// Sends the mark if it changed (and, with `due`, once [`MARK_EVERY`] passed).
    fn send(&mut self, writer: &mut Writer, due: bool) -> Result<()> {
        if due && self.at.elapsed() < MARK_EVERY {
            return Ok(());
        }
        let Some(mark) = self.now() else { return Ok(()) };
        if self.sent.as_ref() == Some(&mark) {
            return Ok(());
        }
        writer.mark(mark.clone())?;
        self.sent = Some(mark);
        self.at = Instant::now();
        Ok(())
    }
}

/// The writer (task `name`, stage 1 of task `stage.task`, see the module documentation):
/// reads `source`, a source of the table of `opts` in its group, and writes each record to
/// the partition of the hash `route` gives, with the watermark of the table (`delay_ms`
/// behind the event time `route` gives; none: no marks but at the end of bounded
/// partitions).
pub fn write<R, F>(
    cx: &Context,
    name: &str,
    stage: Stage<'_>,
    source: KafkaSource<R>,
    opts: &TableOptions,
    delay_ms: Option<i64>,
    mut route: F,
) -> Result<()>
where
    R: DeserializeOwned,
    F: FnMut(&Record<R>) -> Result<(u64, Option<i64>)>,
{
    let mut checkpoint = TaskCheckpoint::new(cx, name)?;
    if checkpoint.already_done() {
        return Ok(());
    }
    // The table's offsets are in its group, committed after the records are written.
    if let Some(restored) = checkpoint.take_restored() {
        restored.done()?;
    }
    let mut writer = Writer::open(&opts.table, &stage)?;
    let splits = Arc::new(Mutex::new(Splits::default()));
    let source = source.keeping_bytes(Arc::clone(&splits));
    let partitions = partitions_of(&metadata_client(opts)?, &opts.table, source_topic(opts)?)?;
    if partitions == 0 {
        return Err(opts.error("topic", format!("topic '{}' does not exist", source_topic(opts)?)));
    }
    let idle = crate::connectors::watermark::idle_timeout_ms(cx, &opts.table)?
        .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
    let side = stage.side;
    let mut marks =
        Marks { splits, reading: BTreeMap::new(), delay_ms, idle, partitions, side, sent: None, at: Instant::now() };
    crate::metrics::source_running();
    let enabled = checkpoint.enabled();
    let source = if enabled { source } else { Source::without_commits(source) };
    source.run_events(cx, |event| -> Result<()> {
        match event {
            SourceEvent::Row(split, record) => {
                let (hash, ts) = route(&record)?;
                marks.observe(split, ts);
                writer.row(&record, hash)?;
                marks.send(&mut writer, true)
            }
            SourceEvent::SplitStart(split) => {
                marks.start(split);
                Ok(())
            }
            SourceEvent::SplitEnd(split) => {
                marks.end(split);
                marks.send(&mut writer, false)?;
                writer.flush()
            }
            SourceEvent::Idle => marks.send(&mut writer, false),
            SourceEvent::Barrier(Barrier { checkpoint: id, position }) => {
                marks.send(&mut writer, false)?;
                // The source commits the offsets after this barrier once it returns.
                writer.flush()?;
                match id {
                    Some(id) => checkpoint.arrive(id, crate::checkpoint::SnapshotWriter::default(), &position),
                    None => Ok(()),
                }
            }
            SourceEvent::Watermark(_) => Ok(()),
        }
    })?;
    writer.flush()?;
    checkpoint.finish();
    Ok(())
}

/// An instance's input from its partition of a shuffle topic (stage 2, see the module
/// documentation): the tables' records, each once, with the watermark the writers' marks
/// give ([`SourceEvent::Watermark`]).
pub struct Shuffled<S> {
    input: S,
    state: ShuffledState,
    /// Per table (side), whether its watermark holds the instance's back (a table without
    /// a WATERMARK does not).
    holding: Vec<bool>,
}

/// What an instance keeps of its shuffle partition: per partition of each table, the
/// greatest watermark marked and the greatest offset read.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct ShuffledState {
    /// Per table (side), its number of partitions.
    pub(super) partitions: BTreeMap<u8, i32>,
    pub(super) marks: BTreeMap<(u8, i32), i64>,
    /// Per topic of a table (one or two: found by a comparison, not a hash of the name per
    /// record), per partition, the greatest offset read.
    read: Vec<(String, HashMap<i32, i64>)>,
    pub(super) emitted: Option<i64>,
}

impl ShuffledState {
    /// The watermark the marks give: the least over every partition of the tables that
    /// hold it back (none until each of those has a mark).
    pub(super) fn watermark(&self, holding: &[bool]) -> i64 {
        let mut least = None;
        for (side, _) in (0u8..).zip(holding).filter(|(_, h)| **h) {
            let partitions = self.partitions.get(&side).copied().unwrap_or(0);
            let marks = || self.marks.range((side, i32::MIN)..=(side, i32::MAX)).map(|(_, wm)| *wm);
            if partitions <= 0 || marks().count() < partitions as usize {
                return crate::time::NO_WATERMARK;
            }
            least = least.into_iter().chain(marks()).min();
        }
        least.unwrap_or(crate::time::NO_WATERMARK)
    }

    /// Whether a record at `offset` of `partition` of `topic` is read for the first time
    /// (one written again by a writer that restarted is not).
    fn first_read(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        let at = match self.read.iter().position(|(t, _)| t == topic) {
            Some(at) => at,
            None => {
                self.read.push((topic.to_string(), HashMap::new()));
                self.read.len() - 1
            }
        };
        let last = self.read[at].1.entry(partition).or_insert(-1);
        if offset <= *last {
            return false;
        }
        *last = offset;
        true
    }
}

impl<S> Shuffled<S> {
    /// The instance's input `input`, its partition of the shuffle topic of one table.
    pub fn new(input: S) -> Self {
        Shuffled::of_tables(input, &[true])
    }

    /// The instance's input `input`, its partition of the shuffle topic of a join's
    /// tables; `holding` says which hold the watermark back (have a WATERMARK).
    pub fn of_tables(input: S, holding: &[bool]) -> Self {
        Shuffled { input, state: ShuffledState::default(), holding: holding.to_vec() }
    }
}

impl<R, S: Source<Row = Record<R>>> Source for Shuffled<S> {
    type Row = Record<R>;

    fn run_events<F: FnMut(SourceEvent<Record<R>>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let Shuffled { input, mut state, holding } = self;
        if let Some(wm) = state.emitted {
            emit(SourceEvent::Watermark(wm))?;
        }
        input.run_events(cx, |event| match event {
            SourceEvent::Row(split, record) => {
                if let Some(mark) = &record.mark {
                    let partitions = state.partitions.entry(mark.side).or_default();
                    *partitions = (*partitions).max(mark.partitions);
                    for &(p, wm) in &mark.watermarks {
                        let m = state.marks.entry((mark.side, p)).or_insert(wm);
                        *m = (*m).max(wm);
                    }
                    let wm = state.watermark(&holding);
                    if wm > crate::time::NO_WATERMARK && state.emitted.is_none_or(|e| wm > e) {
                        state.emitted = Some(wm);
                        return emit(SourceEvent::Watermark(wm));
                    }
                    return Ok(());
                }
                if !state.first_read(&record.topic, record.partition, record.offset) {
                    // Written again by a writer that restarted: read already.
                    return Ok(());
                }
                emit(SourceEvent::Row(split, record))
            }
            SourceEvent::Barrier(Barrier { checkpoint, position }) => {
                let mut bytes = Vec::new();
                encode(&(position, &state), &mut bytes)?;
                emit(SourceEvent::Barrier(Barrier { checkpoint, position: bytes }))
            }
            other => emit(other),
        })
    }

    /// The marks and offsets of the snapshot, and the input's own position.
    fn restore(&mut self, position: &[u8]) -> Result<()> {
        let mut input = position;
        let (inner, state): (Vec<u8>, ShuffledState) = decode(&mut input)?;
        self.state = state;
        self.input.restore(&inner)
    }
}

/// Types a repartitioned join instance's event handler by its input `_input`, as
/// [`crate::connectors::merge::merged_handler`] does for a join of two sources: `f`
/// receives each table's events, and `None` once the input has ended.
pub fn pair_handler<A, B, S, F>(_input: &S, f: F) -> F
where
    S: Source<Row = Record<Pair<A, B>>>,
    F: FnMut(Option<Merged<Record<A>, Record<B>>>) -> Result<()>,
{
    f
}

/// Runs a repartitioned join instance's input `input`, handing `handle` each record as an
/// event of its table, the watermark to both tables, and barriers as the task's.
pub fn run_pair<A, B, S, F>(cx: &Context, input: S, mut handle: F) -> Result<()>
where
    S: Source<Row = Record<Pair<A, B>>>,
    F: FnMut(Merged<Record<A>, Record<B>>) -> Result<()>,
{
    input.run_events(cx, |event| match event {
        SourceEvent::Row(split, record) => match split_pair(record) {
            Pair::A(r) => handle(Merged::A(SourceEvent::Row(split, r))),
            Pair::B(r) => handle(Merged::B(SourceEvent::Row(split, r))),
        },
        SourceEvent::Watermark(wm) => {
            handle(Merged::A(SourceEvent::Watermark(wm)))?;
            handle(Merged::B(SourceEvent::Watermark(wm)))
        }
        SourceEvent::Barrier(barrier) => handle(Merged::Barrier(barrier)),
        SourceEvent::SplitStart(split) => handle(Merged::A(SourceEvent::SplitStart(split))),
        SourceEvent::SplitEnd(split) => handle(Merged::A(SourceEvent::SplitEnd(split))),
        SourceEvent::Idle => handle(Merged::A(SourceEvent::Idle)),
    })
}

/// A record of either table as the record of its table.
fn split_pair<A, B>(record: Record<Pair<A, B>>) -> Pair<Record<A>, Record<B>> {
    let Record { value, key, topic, partition, offset, timestamp, timestamp_type, headers, tombstone, mark, raw } =
        record;
    macro_rules! record {
        ($value:expr, $key:expr) => {
            Record {
                value: $value,
                key: $key,
                topic,
                partition,
                offset,
                timestamp,
                timestamp_type,
                headers,
                tombstone,
                mark,
                raw,
            }
        };
    }
    match value {
        Pair::A(v) => Pair::A(record!(v, key.and_then(|k| if let Pair::A(k) = k { Some(k) } else { None }))),
        Pair::B(v) => Pair::B(record!(v, key.and_then(|k| if let Pair::B(k) = k { Some(k) } else { None }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64, mark: Option<Mark>) -> Record<u8> {
        Record {
            value: offset as u8,
            key: None,
            topic: crate::types::Str::new("t"),
            partition,
            offset,
            timestamp: None,
            timestamp_type: "NoTimestampType",
            headers: Vec::new(),
            tombstone: false,
            mark,
            raw: None,
        }
    }

    /// A source of `events`.
    struct Script(Vec<SourceEvent<Record<u8>>>);

    impl Source for Script {
        type Row = Record<u8>;
        fn run_events<F: FnMut(SourceEvent<Record<u8>>) -> Result<()>>(self, _: &Context, mut emit: F) -> Result<()> {
            self.0.into_iter().try_for_each(&mut emit)
        }
        fn restore(&mut self, _: &[u8]) -> Result<()> {
            Ok(())
        }
    }

    fn mark(partitions: i32, watermarks: &[(i32, i64)]) -> Option<Mark> {
        side_mark(0, partitions, watermarks)
    }

    fn side_mark(side: u8, partitions: i32, watermarks: &[(i32, i64)]) -> Option<Mark> {
        Some(Mark { side, partitions, watermarks: watermarks.to_vec() })
    }

    /// What `Shuffled` makes of `events`, after restoring `position` (if any).
    fn run(events: Vec<SourceEvent<Record<u8>>>, position: Option<&[u8]>) -> Vec<String> {
        run_tables(events, position, &[true])
    }

    /// As [`run`], for the shuffle topic of tables `holding` the watermark back or not.
    fn run_tables(events: Vec<SourceEvent<Record<u8>>>, position: Option<&[u8]>, holding: &[bool]) -> Vec<String> {
        let cx = Context::new(Vec::new(), Default::default());
        let mut shuffled = Shuffled::of_tables(Script(events), holding);
        if let Some(p) = position {
            shuffled.restore(p).unwrap();
        }
        let mut out = Vec::new();
        shuffled
            .run_events(&cx, |e| {
                out.push(match e {
                    SourceEvent::Row(_, r) => format!("row {}:{}", r.partition, r.offset),
                    SourceEvent::Watermark(wm) => format!("wm {wm}"),
                    SourceEvent::Barrier(b) => format!("barrier {}", crate::exchange::hash_key(&b.position)),
                    _ => "other".into(),
                });
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn the_watermark_is_the_least_over_every_partition_of_the_table_and_records_come_once() {
        let events = vec![
            SourceEvent::Row(0, record(0, 1, None)),
            SourceEvent::Row(0, record(0, 10, mark(2, &[(0, 100)]))),
            SourceEvent::Row(0, record(1, 1, None)),
            // Both partitions marked: the least.
            SourceEvent::Row(0, record(0, 11, mark(2, &[(1, 40)]))),
            // A partition's mark never goes back (its new reader starts behind).
            SourceEvent::Row(0, record(0, 12, mark(2, &[(1, 30), (0, 120)]))),
            SourceEvent::Row(0, record(0, 13, mark(2, &[(1, 90)]))),
            // Written again after its writer restarted: skipped; new ones pass.
            SourceEvent::Row(0, record(0, 1, None)),
            SourceEvent::Row(0, record(1, 1, None)),
            SourceEvent::Row(0, record(1, 2, None)),
        ];
        assert_eq!(run(events, None), ["row 0:1", "row 1:1", "wm 40", "wm 90", "row 1:2"]);
    }

    #[test]
    fn marks_and_offsets_go_into_the_position_and_come_back_from_it() {
        let barrier = SourceEvent::Barrier(Barrier { checkpoint: Some(1), position: b"inner".to_vec() });
        let events = vec![
            SourceEvent::Row(0, record(0, 5, None)),
            SourceEvent::Row(0, record(0, 6, mark(1, &[(0, 70)]))),
            barrier,
        ];
        let cx = Context::new(Vec::new(), Default::default());
        let mut position = Vec::new();
        Shuffled::new(Script(events))
            .run_events(&cx, |e| {
                if let SourceEvent::Barrier(b) = e {
                    position = b.position;
                }
                Ok(())
            })
            .unwrap();
        // Restored: the watermark again first, and record 5 of partition 0 is read already.
        let again = vec![SourceEvent::Row(0, record(0, 5, None)), SourceEvent::Row(0, record(0, 7, None))];
        assert_eq!(run(again, Some(&position)), ["wm 70", "row 0:7"]);
    }

    fn marks(idle: Option<Duration>) -> Marks {
        Marks {
            splits: Arc::default(),
            reading: BTreeMap::new(),
            delay_ms: Some(10),
            idle,
            partitions: 3,
            side: 0,
            sent: None,
            at: Instant::now(),
        }
    }

    #[test]
    fn each_partition_is_marked_with_its_own_watermark_and_only_a_real_end_releases_it() {
        let mut m = marks(None);
        m.splits.lock().unwrap().partition.extend([(0, 7), (1, 8), (2, 9)]);
        m.start(0);
        m.start(1);
        assert_eq!(m.now(), None, "nothing read: nothing marked");
        m.observe(0, Some(1_000));
        m.observe(1, Some(200));
        assert_eq!(m.now().unwrap().watermarks, [(7, 990), (8, 190)]);
        // A partition taken over: not marked before its records (not at the others').
        m.start(2);
        assert_eq!(m.now().unwrap().watermarks, [(7, 990), (8, 190)]);
        m.observe(2, Some(50));
        assert_eq!(m.now().unwrap().watermarks, [(7, 990), (8, 190), (9, 40)]);
        // Taken away: no longer marked (its next reader marks it), never as ended.
        m.end(1);
        assert_eq!(m.now().unwrap().watermarks, [(7, 990), (9, 40)]);
        // Read to its end: released for good.
        m.splits.lock().unwrap().ended.insert(2);
        m.end(2);
        assert_eq!(m.now().unwrap().watermarks, [(7, 990), (9, i64::MAX)]);
        // Assigned again: it starts over.
        m.start(0);
        assert_eq!(m.now().unwrap().watermarks, [(9, i64::MAX)]);
    }

    #[test]
    fn an_idle_partition_is_marked_with_the_least_of_the_active_ones() {
        let mut m = marks(Some(Duration::ZERO));
        m.splits.lock().unwrap().partition.extend([(0, 0), (1, 1)]);
        m.start(0);
        m.start(1);
        m.observe(0, Some(500));
        // Every partition is idle at once (a zero timeout): the greatest.
        assert_eq!(m.now().unwrap().watermarks, [(0, 490), (1, 490)]);
        let mut m = marks(None);
        m.splits.lock().unwrap().partition.extend([(0, 0)]);
        m.delay_ms = None;
        m.start(0);
        m.observe(0, Some(500));
        assert_eq!(m.now(), None, "no watermark: only ends are marked");
    }

    #[test]
    fn envelopes_name_their_topic_and_group_after_the_task() {
        let opts = TableOptions::new(
            "clicks",
            &[("topic", "clicks"), ("properties.group.id", "app"), ("scan.bounded.mode", "latest-offset")],
        );
        assert_eq!(topic_name(&opts, "clicks").unwrap(), "app-clicks-repartition");
        let (o, topic) = shuffle_options(&opts, "a/b").unwrap();
        assert_eq!(topic, "app-a_b-repartition");
        assert_eq!(o.get("topic"), Some("app-a_b-repartition"));
        assert_eq!(o.get("properties.group.id"), Some("app-a_b-repartition"));
        assert_eq!((o.get("scan.bounded.mode"), o.get("scan.startup.mode")), (None, Some("group-offsets")));
        let err = topic_name(&TableOptions::new("clicks", &[]), "clicks").unwrap_err().to_string();
        assert!(err.contains("properties.group.id"), "{err}");
        for topics in [vec![("topic", "a;b")], vec![("topic-pattern", "a.*")]] {
            let err = source_topic(&TableOptions::new("clicks", &topics)).unwrap_err().to_string();
            assert!(err.contains("reads one topic"), "{err}");
        }
        let o = TableOptions::new("clicks", &[("topic", "c"), ("scan.startup.mode", "timestamp")]);
        let err = writer_source::<u8>(&o, &[], None, |_| Ok(())).err().expect("refused").to_string();
        assert!(err.contains("'timestamp' cannot be combined with repartitioning"), "{err}");
        let bytes =
            postcard::to_stdvec(&Envelope::Mark(Mark { side: 1, partitions: 3, watermarks: vec![(1, 5)] })).unwrap();
        assert!(matches!(Envelope::decode(&bytes), Ok(Envelope::Mark(m)) if m.partitions == 3 && m.side == 1));
        assert!(Envelope::decode(b"\\xff\\xff\\xff").is_err());
    }

    fn topic_record(topic: &str, partition: i32, offset: i64, mark: Option<Mark>) -> Record<u8> {
        Record { topic: crate::types::Str::new(topic), ..record(partition, offset, mark) }
    }

    #[test]
    fn a_join_waits_for_the_marks_of_both_tables_and_reads_each_tables_records_once() {
        let events = || {
            vec![
                SourceEvent::Row(0, topic_record("clicks", 0, 1, None)),
                // The same partition and offset of the other table's topic is another record.
                SourceEvent::Row(0, topic_record("views", 0, 1, None)),
                SourceEvent::Row(0, topic_record("views", 0, 1, None)),
                SourceEvent::Row(0, record(0, 9, side_mark(0, 1, &[(0, 100)]))),
                SourceEvent::Row(0, record(0, 10, side_mark(1, 2, &[(0, 70)]))),
                SourceEvent::Row(0, record(0, 11, side_mark(1, 2, &[(1, 80)]))),
                SourceEvent::Row(0, record(0, 12, side_mark(1, 2, &[(0, 120)]))),
                SourceEvent::Row(0, record(0, 13, side_mark(0, 1, &[(0, 130)]))),
            ]
        };
        // Both hold the watermark back: none until every partition of both is marked.
        assert_eq!(run_tables(events(), None, &[true, true]), ["row 0:1", "row 0:1", "wm 70", "wm 80"]);
        // The second has no WATERMARK: the first's alone.
        assert_eq!(run_tables(events(), None, &[true, false]), ["row 0:1", "row 0:1", "wm 100", "wm 130"]);
    }

    #[test]
    fn a_bounded_reader_ends_once_every_partition_of_every_table_ended() {
        let mut ends = Ends::default();
        let end = |side, partitions, ps: &[i32]| Mark {
            side,
            partitions,
            watermarks: ps.iter().map(|&p| (p, i64::MAX)).collect(),
        };
        assert!(!ends.note(&end(0, 2, &[0, 1]), 2), "the second table has not ended");
        assert!(!ends.note(&Mark { side: 1, partitions: 1, watermarks: vec![(0, 5)] }, 2));
        assert!(ends.note(&end(1, 1, &[0]), 2));
        let mut one = Ends::default();
        assert!(!one.note(&end(0, 2, &[1]), 1));
        assert!(one.note(&end(0, 2, &[0]), 1));
    }

    #[test]
    fn a_reader_starting_from_a_snapshot_knows_the_ends_marked_before_it() {
        // An instance's snapshot: partition 0 of the table's two ended, partition 1 at 5.
        let state = |marks: &[(i32, i64)]| {
            let state = ShuffledState {
                partitions: [(0, 2)].into(),
                marks: marks.iter().map(|&(p, wm)| ((0, p), wm)).collect(),
                ..ShuffledState::default()
            };
            let mut position = Vec::new();
            encode(&(b"inner".to_vec(), &state), &mut position).unwrap();
            position
        };
        let mut ends = Ends::default();
        ends.restore(&state(&[(0, i64::MAX), (1, 5)])).unwrap();
        assert!(!ends.all(1), "partition 1 has not ended");
        let mark = Mark { side: 0, partitions: 2, watermarks: vec![(1, i64::MAX)] };
        assert!(ends.note(&mark, 1), "partition 0's end came before the snapshot");
        let mut ended = Ends::default();
        ended.restore(&state(&[(0, i64::MAX), (1, i64::MAX)])).unwrap();
        assert!(ended.all(1), "every partition ended before the snapshot");
        assert!(Ends::default().restore(b"not a snapshot").is_err());
    }

    #[test]
    fn a_join_instance_gets_each_record_as_its_tables_and_the_watermark_for_both() {
        struct Pairs(Vec<SourceEvent<Record<Pair<u8, String>>>>);
        impl Source for Pairs {
            type Row = Record<Pair<u8, String>>;
            fn run_events<F: FnMut(SourceEvent<Self::Row>) -> Result<()>>(self, _: &Context, emit: F) -> Result<()> {
                self.0.into_iter().try_for_each(emit)
            }
            fn restore(&mut self, _: &[u8]) -> Result<()> {
                Ok(())
            }
        }
        let pair = |value: Pair<u8, String>, key: Option<Pair<u8, String>>| Record {
            value,
            key,
            topic: crate::types::Str::new("t"),
            partition: 2,
            offset: 5,
            timestamp: None,
            timestamp_type: "CreateTime",
            headers: Vec::new(),
            tombstone: false,
            mark: None,
            raw: None,
        };
        let input = Pairs(vec![
            SourceEvent::Row(0, pair(Pair::A(7), Some(Pair::A(1)))),
            SourceEvent::Row(0, pair(Pair::B("x".into()), None)),
            SourceEvent::Watermark(40),
            SourceEvent::Barrier(Barrier { checkpoint: Some(3), position: vec![1] }),
        ]);
        let cx = Context::new(Vec::new(), Default::default());
        let mut seen = Vec::new();
        run_pair(&cx, input, |event| {
            seen.push(match event {
                Merged::A(SourceEvent::Row(_, r)) => {
                    format!("a {} key {:?} at {}:{}", r.value, r.key, r.partition, r.offset)
                }
                Merged::B(SourceEvent::Row(_, r)) => format!("b {}", r.value),
                Merged::A(SourceEvent::Watermark(w)) => format!("a wm {w}"),
                Merged::B(SourceEvent::Watermark(w)) => format!("b wm {w}"),
                Merged::Barrier(b) => format!("barrier {:?}", b.checkpoint),
                other => format!("{other:?}"),
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["a 7 key Some(1) at 2:5", "b x", "a wm 40", "b wm 40", "barrier Some(3)"]);
    }
}
