//! Reading Kafka topics: a consumer polled by the source's thread, partitions as splits,
//! commits after barriers. See the [module documentation](super).

mod assignment;
mod commits;

use super::codec::{Decoded, KeySpec, RowDecoder};
use super::consumer::{Rebalance, SourceCx, create_consumer};
use super::dead_letter::DeadLetters;
use super::partitioned::PartitionStore;
use super::{
    PRODUCER_DEFAULTS, WARN_EVERY, client_config, describe, flush_limit, is_fatal, kafka_error, millis, producer,
};
use crate::checkpoint::{Barriers, decode, encode};
use crate::connectors::Barrier;
use crate::connectors::format::Column;
use crate::connectors::{Source, SourceEvent};
use crate::error::{Error, Result};
use crate::fns::Regex;
use crate::metrics::{PartitionMeter, SkipReason, SourceMeter};
use crate::options::TableOptions;
use crate::pipeline::Context;
use crate::types::{Str, Timestamp};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, RebalanceProtocol};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::producer::Producer;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest a poll waits (the source checks for a stop after each).
const POLL: Duration = Duration::from_millis(100);
/// Processing time from the first record after a barrier to the next barrier.
const BARRIER_EVERY: Duration = Duration::from_secs(5);
/// Timeout of one metadata or offset request (retried while the brokers are away).
const REQUEST: Duration = Duration::from_secs(5);
/// Records between updates of the read counter.
const COUNT_EVERY: u64 = 1024;
/// How often the partitions' ends are published for the consumer lag (and counts while
/// records trickle in).
const LAG_EVERY: Duration = Duration::from_secs(1);
/// How often librdkafka reports its statistics, which hold the partitions' ends (unless
/// `properties.statistics.interval.ms` says otherwise; `0`: no consumer lag).
const STATISTICS_EVERY_MS: &str = "5000";
/// The metadata of offsets committed after a snapshot of the partition's state (state per
/// partition): a partition with such a commit and no snapshot has lost its state.
const SNAPSHOT_MARK: &str = "dfl-snapshot";

/// One message of a Kafka table: its row and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<R> {
    /// The row decoded from the message value; with `value.fields-include` =
    /// `EXCEPT_KEY` its key columns are set from the key, so it is always the whole row.
    pub value: R,
    /// With `key.fields` (or a PRIMARY KEY): a row with only the key columns set, decoded
    /// from the message key; `None` without key columns or when the message has no key.
    pub key: Option<R>,
    /// The topic.
    pub topic: Str,
    /// The partition.
    pub partition: i32,
    /// The offset in the partition.
    pub offset: i64,
    /// The message timestamp (create or log-append time), if it has one.
    pub timestamp: Option<Timestamp>,
    /// What the timestamp is: `NoTimestampType`, `CreateTime` or `LogAppendTime` (the
    /// `timestamp-type` metadata, as Flink names them).
    pub timestamp_type: &'static str,
    /// The message headers, in order.
    pub headers: Vec<(Str, Option<Vec<u8>>)>,
    /// An `upsert-kafka` message without a value: the deletion of its key (a tombstone).
    /// `value` then has only the key columns set.
    pub tombstone: bool,
    /// Read from a shuffle topic ([`super::shuffle`]): the watermarks of the partitions of
    /// the table's topic that a writer sent (`value` is then a blank row, and no row).
    pub mark: Option<super::shuffle::Mark>,
    /// The message's key and value as read, for a task that writes them to its shuffle
    /// topic ([`super::shuffle`]; `None` otherwise).
    pub raw: Option<Raw>,
}

impl<R: Clone> Record<R> {
    /// The record without its bytes ([`Record::raw`]).
    pub fn without_bytes(&self) -> Record<R> {
        Record {
            value: self.value.clone(),
            key: self.key.clone(),
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            headers: self.headers.clone(),
            tombstone: self.tombstone,
            mark: None,
            raw: None,
        }
    }
}

/// A message's key and value bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw {
    /// The key, if the message has one.
    pub key: Option<Vec<u8>>,
    /// The value (none: a tombstone).
    pub value: Option<Vec<u8>>,
}

/// A `kafka` table read as a stream of [`Record`]s; see [`source`].
pub struct KafkaSource<R> {
    consumer: BaseConsumer<SourceCx>,
    settings: Settings<R>,
}

/// Everything of a source but its consumer.
struct Settings<R> {
    table: String,
    group: Option<String>,
    topics: Topics,
    startup: Startup,
    bounded: Option<Bound>,
    reset: Reset,
    errors: Errors,
    dead_letters: Option<DeadLetters>,
    discovery: Option<Duration>,
    decoding: Decoding<R>,
    /// Offsets restored from a checkpoint: where each partition read before goes on
    /// (before the startup mode and the group's offsets).
    restored: HashMap<(String, i32), i64>,
    /// The partitions of the checkpoint in split order: they get the same split numbers
    /// again, which the restored watermark is kept by.
    restored_order: Vec<(String, i32)>,
    /// Whether barriers commit the position (off for tasks whose operators keep state that
    /// is not yet checkpointed: their input must be read again after a restart).
    commits: bool,
    /// The task keeps keyed state: a group may not give this process a share of the
    /// partitions ([`Source::with_keyed_state`]), unless that state is kept per partition.
    keyed: bool,
    /// State kept per partition ([`super::partitioned`]): where each partition starts, and
    /// which are taken away.
    partitions: Option<Arc<PartitionStore>>,
    /// Reading a shuffle topic: messages are envelopes ([`super::shuffle`]).
    shuffled: Option<Shuffled<R>>,
    /// Writing a shuffle topic: records keep their bytes ([`Record::raw`]), and the
    /// partition of each split is told here.
    keep_raw: Option<Arc<std::sync::Mutex<super::shuffle::Splits>>>,
}

/// What reading a shuffle topic needs: the name of the table's own topic (its records'),
/// and a blank row for the records that carry watermarks; and, when the tables are read to
/// an end, the partitions of the tables each split has seen the end of.
struct Shuffled<R> {
    topic: Str,
    blank: fn() -> R,
    /// With the tables read to an end: how many tables (sides) write the topic.
    until_ended: Option<u8>,
    ended: HashMap<usize, super::shuffle::Ends>,
    /// Deletes the records read once their offsets are committed.
    purge: Option<super::admin::Purge>,
}

/// How a source's messages become rows.
// One per source, the large variant the usual one: kept inline, not behind a pointer.
#[allow(clippy::large_enum_variant)]
enum Decoding<R> {
    /// By the table's formats.
    Table(RowDecoder<R>),
    /// Each envelope of a join's shuffle topic by the formats of its table (its side, see
    /// [`super::shuffle::Pair`]).
    Sides(SideDecoder<R>),
}

/// Decodes a record of side `side`'s table from its key and value.
pub(super) type SideDecoder<R> =
    Box<dyn FnMut(u8, Option<&[u8]>, Option<&[u8]>) -> Result<Option<Decoded<R>>, String> + Send>;

enum Topics {
    List(Vec<String>),
    Pattern(Regex),
}

#[derive(Debug, Clone)]
enum Startup {
    Earliest,
    Latest,
    GroupOffsets,
    Timestamp(i64),
    Specific(HashMap<i32, i64>),
}

#[derive(Debug, Clone)]
enum Bound {
    Latest,
    GroupOffsets,
    Timestamp(i64),
    Specific(HashMap<i32, i64>),
}

/// Where a partition without a usable position starts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reset {
    Earliest,
    Latest,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Errors {
    Fail,
    Skip,
    DeadLetter,
}

/// The source of a `kafka` (or `upsert-kafka`) table of `columns`, whose decoded rows
/// must pass `validate` (the generated NOT NULL checks; its error names the column).
/// See the [module documentation](super) for the options.
pub fn source<R: DeserializeOwned>(
    opts: &TableOptions,
    columns: &'static [Column],
    validate: fn(&R) -> Result<(), String>,
) -> Result<KafkaSource<R>> {
    make(opts, columns, KeySpec::Option, validate)
}

/// A source of the table of `opts` whose messages `decode` turns into rows (the envelopes
/// of a join's shuffle topic: see [`KafkaSource::reading_envelopes`]).
pub(super) fn source_decoding<R: DeserializeOwned>(
    opts: &TableOptions,
    decode: SideDecoder<R>,
) -> Result<KafkaSource<R>> {
    make_with(opts, false, Decoding::Sides(decode))
}

/// The source of an `upsert-kafka` table of `columns` whose PRIMARY KEY is `primary_key`:
/// each message the latest row of its key (held by the message key), or without a value
/// the deletion of the key ([`Record::tombstone`]). Rows with a value must pass
/// `validate`.
pub fn upsert_source<R: DeserializeOwned>(
    opts: &TableOptions,
    columns: &'static [Column],
    primary_key: &'static [&'static str],
    validate: fn(&R) -> Result<(), String>,
) -> Result<KafkaSource<R>> {
    make(opts, columns, KeySpec::PrimaryKey(primary_key), validate)
}

fn make<R: DeserializeOwned>(
    opts: &TableOptions,
    columns: &'static [Column],
    key_spec: KeySpec<'_>,
    validate: fn(&R) -> Result<(), String>,
) -> Result<KafkaSource<R>> {
    let upsert = matches!(key_spec, KeySpec::PrimaryKey(_));
    let decoding = Decoding::Table(RowDecoder::new(opts, columns, key_spec, validate)?);
    make_with(opts, upsert, decoding)
}

fn make_with<R: DeserializeOwned>(opts: &TableOptions, upsert: bool, decoding: Decoding<R>) -> Result<KafkaSource<R>> {
    let table = opts.table.clone();
    let topics = match (opts.get("topic"), opts.get("topic-pattern")) {
        (Some(_), Some(_)) => return Err(opts.error("topic-pattern", "give either 'topic' or 'topic-pattern'")),
        (Some(list), None) => {
            let names: Vec<String> =
                list.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            if names.is_empty() {
                return Err(opts.error("topic", "names no topic"));
            }
            Topics::List(names)
        }
        (None, Some(p)) => {
            let regex = Regex::new(&format!("\\A(?:{p})\\z"));
            if let Some(e) = regex.error() {
                return Err(opts.error("topic-pattern", format!("invalid regular expression: {e}")));
            }
            Topics::Pattern(regex)
        }
        (None, None) => return Err(opts.error("topic", "is required (or 'topic-pattern')")),
    };
    let group = opts.get("properties.group.id").map(str::to_string);
    let startup =
        match opts.get("scan.startup.mode").unwrap_or(if upsert { "earliest-offset" } else { "group-offsets" }) {
            "earliest-offset" => Startup::Earliest,
            "latest-offset" => Startup::Latest,
            "group-offsets" => Startup::GroupOffsets,
            "timestamp" => Startup::Timestamp(millis_option(opts, "scan.startup.timestamp-millis", "timestamp")?),
            "specific-offsets" => Startup::Specific(offsets_option(opts, "scan.startup.specific-offsets")?),
            other => return Err(opts.error("scan.startup.mode", format!("'{other}' is not a startup mode"))),
        };
    let bounded = match opts.get("scan.bounded.mode").unwrap_or("unbounded") {
        "unbounded" => None,
        "latest-offset" => Some(Bound::Latest),
        "group-offsets" => Some(Bound::GroupOffsets),
        "timestamp" => Some(Bound::Timestamp(millis_option(opts, "scan.bounded.timestamp-millis", "timestamp")?)),
        "specific-offsets" => Some(Bound::Specific(offsets_option(opts, "scan.bounded.specific-offsets")?)),
        other => return Err(opts.error("scan.bounded.mode", format!("'{other}' is not a bounded mode"))),
    };
    if group.is_none() {
        if let Startup::GroupOffsets = startup {
            return Err(opts.error(
                "scan.startup.mode",
                "'group-offsets' (the default) needs 'properties.group.id'; set one, or choose another \
                 'scan.startup.mode' such as 'earliest-offset'",
            ));
        }
        if let Some(Bound::GroupOffsets) = bounded {
            return Err(opts.error("scan.bounded.mode", "'group-offsets' needs 'properties.group.id'"));
        }
    }
    let reset = match opts.get("properties.auto.offset.reset") {
        None => match startup {
            Startup::GroupOffsets => Reset::Fail,
            Startup::Latest | Startup::Timestamp(_) => Reset::Latest,
            Startup::Earliest | Startup::Specific(_) => Reset::Earliest,
        },
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "earliest" | "smallest" | "beginning" => Reset::Earliest,
            "latest" | "largest" | "end" => Reset::Latest,
            "error" | "none" => Reset::Fail,
            _ => {
                return Err(opts.error("properties.auto.offset.reset", format!("'{v}' is not 'earliest' or 'latest'")));
            }
        },
    };
    let errors = match opts.get("scan.errors").unwrap_or("fail") {
        "fail" => Errors::Fail,
        "skip" => Errors::Skip,
        "dead-letter" => Errors::DeadLetter,
        other => return Err(opts.error("scan.errors", format!("'{other}' is not 'fail', 'skip' or 'dead-letter'"))),
    };
    let dead_letters = match (errors, opts.get("scan.dead-letter.topic")) {
        (Errors::DeadLetter, None) => {
            return Err(opts.error("scan.dead-letter.topic", "is required with 'scan.errors' = 'dead-letter'"));
        }
        (Errors::DeadLetter, Some(topic)) => {
            let mut defaults = PRODUCER_DEFAULTS.to_vec();
            let client_id = format!("dflc-{table}-dead-letters");
            defaults.push(("client.id", &client_id));
            let config = client_config(opts, &defaults)?;
            Some(DeadLetters {
                topic: topic.to_string(),
                producer: producer(&table, &config, false)?,
                limit: flush_limit(&config),
                buf: Vec::new(),
            })
        }
        (_, Some(_)) => {
            return Err(opts.error("scan.dead-letter.topic", "needs 'scan.errors' = 'dead-letter'"));
        }
        (_, None) => None,
    };
    let discovery = match opts.duration_ms("scan.topic-partition-discovery.interval")? {
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
        None => Some(Duration::from_secs(300)),
    };
    let client_id = format!("dflc-{table}");
    let reset_value = match reset {
        Reset::Earliest => "earliest",
        Reset::Latest => "latest",
        Reset::Fail => "error",
    };
    let mut config = client_config(
        opts,
        &[
            ("client.id", &client_id),
            ("enable.partition.eof", "true"),
            ("auto.offset.reset", reset_value),
            // Latency and throughput: a fetch returns within 10 ms even when the broker has
            // little, and a drained local queue is refilled at once (librdkafka waits 1 s).
            ("fetch.wait.max.ms", "10"),
            ("fetch.queue.backoff.ms", "10"),
            // The partitions' ends, for the consumer lag (metrics).
            ("statistics.interval.ms", STATISTICS_EVERY_MS),
        ],
    )?;
    // Offsets are committed after barriers only.
    config.set("enable.auto.commit", "false").set("enable.auto.offset.store", "false");
    config.set("auto.offset.reset", reset_value);
    if group.is_none() {
        // librdkafka's consumer cannot be assigned partitions without a group id; one
        // that is never joined (no subscription) nor committed to is harmless.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        config.set("group.id", format!("dflc-{table}-unjoined-{}-{nanos}", std::process::id()));
    }
    let consumer = create_consumer(&table, &config)?;
    let settings = Settings {
        table,
        group,
        topics,
        startup,
        bounded,
        reset,
        errors,
        dead_letters,
        discovery,
        decoding,
        restored: HashMap::new(),
        restored_order: Vec::new(),
        commits: true,
        keyed: false,
        partitions: None,
        shuffled: None,
        keep_raw: None,
    };
    Ok(KafkaSource { consumer, settings })
}

fn millis_option(opts: &TableOptions, key: &str, mode: &str) -> Result<i64> {
    let ms = opts.u64(key)?.ok_or_else(|| opts.error(key, format!("is required with the '{mode}' mode")))?;
    i64::try_from(ms).map_err(|_| opts.error(key, "is too large"))
}

/// `partition:0,offset:42;partition:1,offset:300`.
fn offsets_option(opts: &TableOptions, key: &str) -> Result<HashMap<i32, i64>> {
    let text = opts.required(key)?;
    let mut out = HashMap::new();
    for spec in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || opts.error(key, format!("'{spec}' is not of the form 'partition:0,offset:42'"));
        let (mut partition, mut offset) = (None, None);
        for item in spec.split(',') {
            let (k, v) = item.split_once(':').ok_or_else(bad)?;
            match k.trim() {
                "partition" => partition = Some(v.trim().parse::<i32>().map_err(|_| bad())?),
                "offset" => offset = Some(v.trim().parse::<i64>().map_err(|_| bad())?),
                _ => return Err(bad()),
            }
        }
        match (partition, offset) {
            (Some(p), Some(o)) if p >= 0 && o >= 0 => {
                out.insert(p, o);
            }
            _ => return Err(bad()),
        }
    }
    if out.is_empty() {
        return Err(opts.error(key, "names no partition"));
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------

/// Where a split is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Not assigned to this source (yet, or any more).
    Unassigned,
    /// Assigned, rows flowing.
    Reading,
    /// Assigned, its end (bounded) reached.
    Ended,
}

struct Split {
    id: usize,
    topic: Str,
    partition: i32,
    /// The offset after the last record handled (emitted, skipped or dead-lettered).
    next: i64,
    /// The offset last committed (or `-1`).
    committed: i64,
    /// The end offset (bounded sources).
    stop: Option<i64>,
    phase: Phase,
    /// Whether the split was ever assigned in this run.
    seen: bool,
    meter: Arc<PartitionMeter>,
    /// Records and bytes read (rows or not) not yet added to the meter.
    uncounted: u64,
    uncounted_bytes: u64,
}

/// What reading keeps besides the consumer.
struct Reader<'a, R> {
    src: Settings<R>,
    cx: &'a Context,
    splits: Vec<Split>,
    /// Split of each (topic, partition).
    index: HashMap<String, Vec<usize>>,
    /// Whether anything was emitted or handled since the last barrier.
    dirty: bool,
    /// When the first record after the last barrier was handled.
    dirty_since: Instant,
    /// Whether the source has had a partition assignment (a group's first rebalance), and
    /// not given every partition up since (an eager rebalance) without a new one.
    assigned_once: bool,
    /// Topics read (a pattern's matches so far).
    topic_names: Vec<String>,
    last_discovery: Instant,
    /// Rows not yet added to `rows_in`.
    rows: u64,
    /// The last transient error and when it was last reported.
    warned: Option<Instant>,
    barriers: Barriers<'a>,
    meter: Arc<SourceMeter>,
    /// The consumer's error counter.
    errors: Arc<AtomicU64>,
    /// When the consumer lag was last read.
    lag_at: Instant,
}

impl<R> KafkaSource<R> {
    /// Reads partitions whose state `store` keeps: each starts where its latest snapshot
    /// left it, and revoked partitions are told to the store before their ends.
    pub(super) fn with_partitions(mut self, store: Arc<PartitionStore>) -> Self {
        self.settings.partitions = Some(store);
        self
    }

    /// Reads a shuffle topic: each message an envelope of a record of `topic` (or of
    /// watermarks, given as records of a `blank` row). With `until_ended` (the tables are
    /// read to an end; the number of tables writing the topic), a split ends once its
    /// marks say every partition of every table ended (they follow every record of the
    /// tables in the split), and the source once every split ended.
    pub(super) fn reading_envelopes(mut self, topic: &str, blank: fn() -> R, until_ended: Option<u8>) -> Self {
        let ended = HashMap::new();
        self.settings.shuffled = Some(Shuffled { topic: Str::new(topic), blank, until_ended, ended, purge: None });
        self
    }

    /// Reading a shuffle topic: `purge` deletes its records before the offsets committed.
    pub(super) fn purging(mut self, purge: super::admin::Purge) -> Self {
        if let Some(s) = &mut self.settings.shuffled {
            s.purge = Some(purge);
        }
        self
    }

    /// Keeps each record's bytes ([`Record::raw`]) and tells `splits` the partition of each
    /// split as it is made, and which splits reached their end (not taken away).
    pub(super) fn keeping_bytes(mut self, splits: Arc<std::sync::Mutex<super::shuffle::Splits>>) -> Self {
        self.settings.keep_raw = Some(splits);
        self
    }
}

impl<R: DeserializeOwned> Source for KafkaSource<R> {
    type Row = Record<R>;

    fn without_commits(mut self) -> Self {
        self.settings.commits = false;
        self
    }

    fn with_keyed_state(mut self) -> Self {
        self.settings.keyed = true;
        self
    }

    /// The offset of the next record of every partition read before the checkpoint.
    fn restore(&mut self, position: &[u8]) -> Result<()> {
        let offsets = decode_position(position)?;
        self.settings.restored_order = offsets.iter().map(|(t, p, _)| (t.clone(), *p)).collect();
        self.settings.restored = offsets.into_iter().map(|(t, p, o)| ((t, p), o)).collect();
        Ok(())
    }

    fn run_events<F: FnMut(SourceEvent<Record<R>>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let KafkaSource { consumer, settings } = self;
        let meter = cx.metrics().source(&settings.table);
        let errors = Arc::clone(&consumer.context().errors);
        cx.metrics().add_kafka_errors(&settings.table, "consumer", Arc::clone(&errors));
        if let Some(d) = &settings.dead_letters {
            cx.metrics().add_kafka_errors(&settings.table, "dead_letter", Arc::clone(&d.producer.context().errors));
        }
        match settings.errors {
            Errors::Fail => {}
            Errors::Skip => meter.expect_skips(SkipReason::ParseError),
            Errors::DeadLetter => meter.expect_skips(SkipReason::DeadLetter),
        }
        let mut reader = Reader {
            src: settings,
            cx,
            splits: Vec::new(),
            index: HashMap::new(),
            dirty: false,
            dirty_since: Instant::now(),
            assigned_once: false,
            topic_names: Vec::new(),
            last_discovery: Instant::now(),
            rows: 0,
            warned: None,
            barriers: Barriers::new(cx),
            meter,
            errors,
            lag_at: Instant::now(),
        };
        let result = reader.run(&consumer, &mut emit);
        reader.publish(None);
        // Leave the group cleanly: rebalances while closing are done by the callback.
        consumer.context().closing.store(true, Ordering::Relaxed);
        if reader.src.group.is_some() {
            consumer.unsubscribe();
        }
        drop(consumer);
        result
    }
}

type Emit<'e, R> = dyn FnMut(SourceEvent<Record<R>>) -> Result<()> + 'e;

impl<R: DeserializeOwned> Reader<'_, R> {
    fn run(&mut self, consumer: &BaseConsumer<SourceCx>, emit: &mut Emit<'_, R>) -> Result<()> {
        for (topic, partition) in std::mem::take(&mut self.src.restored_order) {
            self.split(&topic, partition);
        }
        if !self.start(consumer, emit)? {
            return self.finish(consumer, emit);
        }
        let mut handled = 0u64;
        loop {
            if self.cx.stopped() {
                return self.finish(consumer, emit);
            }
            // A stop that came while a rebalance's checkpoint was taken ends the run before
            // more records are read.
            if !self.rebalances(consumer, emit)? || self.cx.stopped() {
                return self.finish(consumer, emit);
            }
            let ends =
                self.src.bounded.is_some() || self.src.shuffled.as_ref().is_some_and(|s| s.until_ended.is_some());
            if ends && self.assigned_once && self.splits.iter().all(|s| s.phase != Phase::Reading) {
                return self.finish(consumer, emit);
            }
            // What has arrived is taken without waiting; when nothing is left the task
            // hears so (it hands its batched output on) before the source waits.
            // The clock (for barriers) is read when the queue ran dry and every
            // COUNT_EVERY records, not per record.
            let mut check_clock = false;
            let message = match consumer.poll(Duration::ZERO) {
                None => {
                    emit(SourceEvent::Idle)?;
                    check_clock = true;
                    consumer.poll(POLL)
                }
                some => some,
            };
            match message {
                None => {
                    emit(SourceEvent::Idle)?;
                    self.waiting(consumer, emit)?;
                }
                Some(Ok(message)) => {
                    self.message(consumer, &message, emit)?;
                    handled += 1;
                    if handled.is_multiple_of(COUNT_EVERY) {
                        self.publish(None);
                        check_clock = true;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => self.end_of_partition(consumer, partition, emit)?,
                Some(Err(e)) => {
                    self.consumer_error(&e)?;
                    emit(SourceEvent::Idle)?;
                    check_clock = true;
                }
            }
            if check_clock && self.lag_at.elapsed() >= LAG_EVERY {
                self.publish(Some(consumer));
            }
            if self.barriers.enabled() {
                // Checkpoints decide when barriers come.
                let due = if check_clock { self.barriers.due_idle() } else { self.barriers.due() };
                if let Some(id) = due {
                    self.barrier(consumer, emit, Some(id))?;
                }
            } else if check_clock && self.dirty && self.dirty_since.elapsed() >= BARRIER_EVERY {
                self.barrier(consumer, emit, None)?;
            }
        }
    }

    /// One message.
    fn message(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        message: &BorrowedMessage<'_>,
        emit: &mut Emit<'_, R>,
    ) -> Result<()> {
        let Some(i) = self.lookup(message.topic(), message.partition()) else { return Ok(()) };
        if self.splits[i].phase != Phase::Reading {
            return Ok(());
        }
        let offset = message.offset();
        if self.splits[i].stop.is_some_and(|stop| offset >= stop) {
            return self.end_split(consumer, i, emit);
        }
        let record = match self.src.shuffled.is_some() {
            true => self.envelope(message),
            false => self.record(message, i),
        };
        let mut marked_end = false;
        match record {
            Ok(Some(record)) => {
                if let (Some(mark), Some(shuffled)) = (&record.mark, self.src.shuffled.as_mut())
                    && let Some(sides) = shuffled.until_ended
                {
                    marked_end = shuffled.ended.entry(i).or_default().note(mark, sides);
                }
                emit(SourceEvent::Row(self.splits[i].id, record))?;
                self.rows += 1;
            }
            Ok(None) => {}
            Err(reason) => self.bad(message, reason)?,
        }
        let s = &mut self.splits[i];
        s.uncounted += 1;
        s.uncounted_bytes += (message.payload_len() + message.key().map_or(0, <[u8]>::len)) as u64;
        s.next = offset + 1;
        if !self.dirty {
            self.dirty = true;
            self.dirty_since = Instant::now();
        }
        if s.stop.is_some_and(|stop| s.next >= stop) || marked_end {
            self.end_split(consumer, i, emit)?;
        }
        Ok(())
    }

    /// The record of message `message` of split `i`; `None` for a message that is no row.
    fn record(&mut self, message: &BorrowedMessage<'_>, i: usize) -> Result<Option<Record<R>>, String> {
        let Some((value, key, tombstone)) = self.decode(0, message.key(), message.payload())? else { return Ok(None) };
        let s = &self.splits[i];
        let headers = match message.headers() {
            None => Vec::new(),
            Some(h) => h.iter().map(|h| (Str::new(h.key), h.value.map(<[u8]>::to_vec))).collect(),
        };
        let raw = self
            .src
            .keep_raw
            .as_ref()
            .map(|_| Raw { key: message.key().map(<[u8]>::to_vec), value: message.payload().map(<[u8]>::to_vec) });
        Ok(Some(Record {
            value,
            key,
            topic: s.topic.clone(),
            partition: s.partition,
            offset: message.offset(),
            timestamp: millis(message.timestamp()).map(Timestamp::from_millis),
            timestamp_type: match message.timestamp() {
                rdkafka::Timestamp::NotAvailable => "NoTimestampType",
                rdkafka::Timestamp::CreateTime(_) => "CreateTime",
                rdkafka::Timestamp::LogAppendTime(_) => "LogAppendTime",
            },
            headers,
            tombstone,
            mark: None,
            raw,
        }))
    }

    /// The record a message of a shuffle topic holds: one of the table's own topic, as it
    /// was read there, or the writer's watermarks.
    fn envelope(&mut self, message: &BorrowedMessage<'_>) -> Result<Option<Record<R>>, String> {
        let envelope = super::shuffle::Envelope::decode(message.payload().unwrap_or_default())?;
        let Some(shuffled) = &self.src.shuffled else { return Ok(None) };
        let (topic, blank) = (shuffled.topic.clone(), shuffled.blank);
        match envelope {
            super::shuffle::Envelope::Mark(mark) => Ok(Some(Record {
                value: blank(),
                key: None,
                topic,
                partition: message.partition(),
                offset: message.offset(),
                timestamp: None,
                timestamp_type: "NoTimestampType",
                headers: Vec::new(),
                tombstone: false,
                mark: Some(mark),
                raw: None,
            })),
            super::shuffle::Envelope::Row(row) => {
                let Some((value, key, tombstone)) = self.decode(row.side, row.key.as_deref(), row.value.as_deref())?
                else {
                    return Ok(None);
                };
                Ok(Some(Record {
                    value,
                    key,
                    topic: Str::new(&row.topic),
                    partition: row.partition,
                    offset: row.offset,
                    timestamp: row.timestamp.map(Timestamp::from_millis),
                    timestamp_type: row.timestamp_type(),
                    headers: row.headers.into_iter().map(|(k, v)| (Str::new(&k), v)).collect(),
                    tombstone,
                    mark: None,
                    raw: None,
                }))
            }
        }
    }

    /// The row and key row of a message's `key` and `payload` (of side `side`'s table, in
    /// a join's shuffle topic), and whether it is a tombstone (an `upsert-kafka` deletion:
    /// the row has the key columns only); `None` for a message that is no row.
    fn decode(&mut self, side: u8, key: Option<&[u8]>, payload: Option<&[u8]>) -> Result<Option<Decoded<R>>, String> {
        match &mut self.src.decoding {
            Decoding::Table(decoder) => decoder.decode(key, payload),
            Decoding::Sides(decode) => decode(side, key, payload),
        }
    }

    /// A record that cannot be read: the end of the run, skipped, or dead-lettered.
    fn bad(&mut self, message: &BorrowedMessage<'_>, reason: String) -> Result<()> {
        match self.src.errors {
            Errors::Fail => {
                return Err(Error::BadMessage {
                    table: self.src.table.clone(),
                    topic: message.topic().to_string(),
                    partition: message.partition(),
                    offset: message.offset(),
                    reason,
                });
            }
            Errors::Skip => self.meter.skip(SkipReason::ParseError, &self.cx.counters),
            Errors::DeadLetter => {
                if let Some(d) = &mut self.src.dead_letters {
                    d.write(&self.src.table, message, &reason)?;
                }
                self.meter.skip(SkipReason::DeadLetter, &self.cx.counters);
            }
        }
        Ok(())
    }

    /// Split `i` reached its end: emits that and stops fetching it.
    fn end_split(&mut self, consumer: &BaseConsumer<SourceCx>, i: usize, emit: &mut Emit<'_, R>) -> Result<()> {
        let s = &mut self.splits[i];
        if s.phase != Phase::Reading {
            return Ok(());
        }
        s.phase = Phase::Ended;
        if let Some(splits) = &self.src.keep_raw {
            splits.lock().unwrap_or_else(|p| p.into_inner()).ended.insert(s.id);
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&s.topic, s.partition);
        let _ = consumer.pause(&tpl);
        emit(SourceEvent::SplitEnd(s.id))
    }

    /// The end of some topic's `partition` was reached: bounded splits whose end is there
    /// are done.
    fn end_of_partition(
        &mut self,
        consumer: &BaseConsumer<SourceCx>,
        partition: i32,
        emit: &mut Emit<'_, R>,
    ) -> Result<()> {
        let candidates: Vec<usize> = (0..self.splits.len())
            .filter(|&i| {
                let s = &self.splits[i];
                s.partition == partition && s.phase == Phase::Reading && s.stop.is_some()
            })
            .collect();
        if let [i] = candidates[..] {
            // The only split it can be (the event does not name the topic): it is at the
            // partition's current end; done if its end offset is not beyond that (records
            // may be missing at the end: compaction, transaction markers).
            let (topic, stop) = (self.splits[i].topic.clone(), self.splits[i].stop.unwrap_or(i64::MAX));
            if let Ok((_, high)) = consumer.fetch_watermarks(&topic, partition, REQUEST)
                && stop <= high
            {
                return self.end_split(consumer, i, emit);
            }
        }
        self.check_positions(consumer, emit)
    }

    /// Ends bounded splits whose consumer position (which passes transaction markers) is at
    /// their end.
    fn check_positions(&mut self, consumer: &BaseConsumer<SourceCx>, emit: &mut Emit<'_, R>) -> Result<()> {
        if !self.splits.iter().any(|s| s.phase == Phase::Reading && s.stop.is_some_and(|stop| s.next < stop)) {
            return Ok(());
        }
        let Ok(positions) = consumer.position() else { return Ok(()) };
        for e in positions.elements() {
            let Offset::Offset(pos) = e.offset() else { continue };
            if let Some(i) = self.lookup(e.topic(), e.partition()) {
                let s = &self.splits[i];
                if s.phase == Phase::Reading && s.stop.is_some_and(|stop| pos >= stop) {
                    self.end_split(consumer, i, emit)?;
                }
            }
        }
        Ok(())
    }

    /// A poll that gave nothing: checks bounded ends, discovery, a due barrier.
    fn waiting(&mut self, consumer: &BaseConsumer<SourceCx>, emit: &mut Emit<'_, R>) -> Result<()> {
        if self.src.bounded.is_some() {
            self.check_positions(consumer, emit)?;
        }
        let pattern_without_topics = matches!(self.src.topics, Topics::Pattern(_)) && self.topic_names.is_empty();
        let due = match self.src.discovery {
            Some(every) => {
                self.last_discovery.elapsed() >= every.min(if pattern_without_topics { POLL * 50 } else { every })
            }
            None => pattern_without_topics && self.last_discovery.elapsed() >= POLL * 50,
        };
        if due && self.src.bounded.is_none() {
            self.discover(consumer, emit)?;
        }
        Ok(())
    }

    /// Looks for new topics (pattern) and, without a group, new partitions.
    fn discover(&mut self, consumer: &BaseConsumer<SourceCx>, emit: &mut Emit<'_, R>) -> Result<()> {
        self.last_discovery = Instant::now();
        let Ok(metadata) = consumer.fetch_metadata(None, REQUEST) else { return Ok(()) };
        let mut topics = self.topic_names.clone();
        if let Topics::Pattern(regex) = &self.src.topics {
            for t in metadata.topics() {
                let name = t.name();
                if t.error().is_none()
                    && !name.starts_with("__")
                    && regex.is_match(name)
                    && !topics.iter().any(|n| n == name)
                {
                    topics.push(name.to_string());
                }
            }
            topics.sort();
        }
        let new_topics = topics != self.topic_names;
        self.topic_names = topics;
        if self.src.group.is_some() {
            // The group assigns new partitions of subscribed topics by itself.
            if new_topics {
                self.subscribe(consumer)?;
            }
            return Ok(());
        }
        let mut fresh = Vec::new();
        for t in metadata.topics() {
            if !self.topic_names.iter().any(|n| n == t.name()) {
                continue;
            }
            for p in t.partitions() {
                if self.lookup(t.name(), p.id()).is_none() {
                    fresh.push((t.name().to_string(), p.id()));
                }
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        // Partitions that appear while the source runs are read from their start.
        let saved = std::mem::replace(&mut self.src.startup, Startup::Earliest);
        let result = self.assign(consumer, fresh, true, emit);
        self.src.startup = saved;
        result.map(|_| ())
    }

    /// A consumer error: fatal ones end the run, others are reported now and then.
    fn consumer_error(&mut self, e: &KafkaError) -> Result<()> {
        let code = e.rdkafka_error_code();
        let table = &self.src.table;
        let fatal = matches!(e, KafkaError::MessageConsumptionFatal(_)) || code.is_some_and(is_fatal);
        if code == Some(RDKafkaErrorCode::AutoOffsetReset) {
            return Err(Error::Kafka {
                table: table.clone(),
                message: format!(
                    "{}: no valid offset to read from and no reset policy; set 'properties.auto.offset.reset' \
                     to 'earliest' or 'latest'",
                    describe(e)
                ),
            });
        }
        let unknown_topic =
            matches!(code, Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic));
        self.errors.fetch_add(1, Ordering::Relaxed);
        if fatal || (unknown_topic && matches!(self.src.topics, Topics::List(_))) {
            return Err(kafka_error(table, "reading", e));
        }
        let now = Instant::now();
        if self.warned.is_none_or(|w| now.duration_since(w) >= WARN_EVERY) {
            self.warned = Some(now);
            tracing::warn!(table = %table, "Kafka: {} (the client retries)", describe(e));
        }
        Ok(())
    }

    /// Adds the rows and bytes read since the last time to the counters; with `consumer`,
    /// also the consumer lag of every partition read (from the partition ends in the
    /// client's latest statistics: no request to the brokers).
    fn publish(&mut self, consumer: Option<&BaseConsumer<SourceCx>>) {
        self.cx.counters.rows_in.fetch_add(std::mem::take(&mut self.rows), Ordering::Relaxed);
        for s in &mut self.splits {
            if s.uncounted > 0 || s.uncounted_bytes > 0 {
                s.meter.add(std::mem::take(&mut s.uncounted), std::mem::take(&mut s.uncounted_bytes));
            }
        }
        let Some(consumer) = consumer else { return };
        self.lag_at = Instant::now();
        let ends = consumer.context().ends.lock().unwrap_or_else(|p| p.into_inner());
        for s in &self.splits {
            let end = match s.phase {
                Phase::Reading => ends.get(&(s.topic.to_string(), s.partition)).copied().unwrap_or(-1),
                // Not read (any more): no lag shown.
                Phase::Unassigned | Phase::Ended => -1,
            };
            s.meter.set_offsets(s.next, end);
        }
    }

    /// The end of the run (stopped, or bounded input done): a last barrier and commit (the
    /// final checkpoint's, when stopped with checkpoints).
    fn finish(&mut self, consumer: &BaseConsumer<SourceCx>, emit: &mut Emit<'_, R>) -> Result<()> {
        if self.cx.stopped()
            && let Some(id) = self.barriers.at_stop()
        {
            return self.barrier(consumer, emit, Some(id));
        }
        // A shuffle topic's writer makes its records durable at barriers: one before the
        // last commit.
        if self.dirty && (!self.barriers.enabled() || self.src.keep_raw.is_some()) {
            self.barrier(consumer, emit, None)
        } else {
            // The input ended with checkpoints on: the dead letters of the records since
            // the last barrier are made durable before the position after them is committed.
            if let Some(d) = &self.src.dead_letters {
                d.flush(&self.src.table)?;
            }
            // With state per partition, the position is committed only with the state
            // (the instances fire what is open after this).
            if self.src.partitions.is_none() {
                self.commit(consumer);
            }
            Ok(())
        }
    }
}

/// A Kafka source's position: the offset of the next record of each partition read, by
/// topic and partition, in split order (what its barriers carry and `restore` takes back).
pub(super) type Position = Vec<(String, i32, i64)>;

pub(super) fn encode_position(offsets: &Position) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode(offsets, &mut out)?;
    Ok(out)
}

pub(super) fn decode_position(mut bytes: &[u8]) -> Result<Position> {
    decode(&mut bytes)
}

/// The offsets of a partition list, by (topic, partition); only real offsets.
fn offsets_of(tpl: &TopicPartitionList) -> HashMap<(String, i32), i64> {
    tpl.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) if e.error().is_ok() => Some(((e.topic().to_string(), e.partition()), o)),
            _ => None,
        })
        .collect()
}
