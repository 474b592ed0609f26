//! The table connectors `dflc` knows and the options each accepts (Flink's names).
//!
//! Option names, defaults and value sets follow Flink's SQL connectors (`kafka`,
//! `upsert-kafka`, `filesystem`, `datagen`, `print`, `blackhole`), the `json`, `csv` and
//! `raw` formats, and the `nexmark` source of the nexmark/nexmark benchmark. Options that
//! Flink does not have are marked "dflc extension" in their description; `redis` is a
//! connector of dflc's own.

/// What a connector can be used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Only read from (`FROM`).
    Source,
    /// Only written to (`INSERT INTO`).
    Sink,
    /// Read from and written to.
    Both,
}

/// The type an option's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    /// Any text.
    String,
    /// A non-negative integer (e.g. `'1000'`).
    Integer,
    /// `'true'` or `'false'` (compared case-insensitively).
    Boolean,
    /// A duration such as `'10 s'`, `'5min'`, `'100ms'`, `'1 h'` (Flink's duration syntax).
    Duration,
    /// A memory size such as `'128mb'`, `'1 gb'`.
    MemorySize,
    /// One of the listed values (compared case-insensitively).
    Enum(&'static [&'static str]),
}

/// One accepted option key. A key may contain one `#` segment standing for any
/// name (e.g. `fields.#.kind`, where `#` is a column name), or end in `.*` for a free
/// prefix passed through (e.g. `properties.*` for librdkafka settings).
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The option's key, possibly with one `#` segment or a trailing `.*`.
    pub key: &'static str,
    /// The type its value must have.
    pub ty: OptionType,
    /// Whether the option must be given.
    pub required: bool,
    /// The value used when the option is absent, written as a user would write it.
    pub default: Option<&'static str>,
    /// A short description.
    pub doc: &'static str,
}

/// A connector: its name, role, options, and whether it takes a `format`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorSpec {
    /// The value of `'connector'`.
    pub name: &'static str,
    /// Whether it can be read, written, or both.
    pub role: Role,
    /// The options it accepts (the `connector` key itself is not listed).
    pub options: &'static [OptionSpec],
    /// Whether `format` (and `key.format`/`value.format`) options select a format from FORMATS.
    pub takes_format: bool,
    /// Groups of keys of which at least one must be present (e.g. kafka: `topic` or `topic-pattern`), empty if none.
    pub one_of_required: &'static [&'static [&'static str]],
    /// A short description.
    pub doc: &'static str,
}

/// A format (`'format' = 'json'`): its options are written with the format name as prefix
/// (`json.ignore-parse-errors`) and, for kafka, also with `key.`/`value.` before that.
#[derive(Debug, Clone, Copy)]
pub struct FormatSpec {
    /// The value of `'format'`.
    pub name: &'static str,
    /// Its options, keys WITHOUT the format prefix, e.g. `"ignore-parse-errors"`.
    pub options: &'static [OptionSpec],
    /// A short description.
    pub doc: &'static str,
}

// ------------------------------------------------------------------------------------------
// Helpers to keep the tables short.
// ------------------------------------------------------------------------------------------

const STR: OptionType = OptionType::String;
const INT: OptionType = OptionType::Integer;
const BOOL: OptionType = OptionType::Boolean;
const DUR: OptionType = OptionType::Duration;
const MEM: OptionType = OptionType::MemorySize;

/// An optional option.
const fn opt(key: &'static str, ty: OptionType, default: Option<&'static str>, doc: &'static str) -> OptionSpec {
    OptionSpec { key, ty, required: false, default, doc }
}

/// A required option (required options have no default).
const fn req(key: &'static str, ty: OptionType, doc: &'static str) -> OptionSpec {
    OptionSpec { key, ty, required: true, default: None, doc }
}

// ------------------------------------------------------------------------------------------
// Options shared by several connectors.
// ------------------------------------------------------------------------------------------

const DELIVERY_GUARANTEES: &[&str] = &["none", "at-least-once", "exactly-once"];
const VALUE_FIELDS_STRATEGIES: &[&str] = &["ALL", "EXCEPT_KEY"];
const STARTUP_MODES: &[&str] = &["earliest-offset", "latest-offset", "group-offsets", "timestamp", "specific-offsets"];
const BOUNDED_MODES: &[&str] = &["unbounded", "latest-offset", "group-offsets", "timestamp", "specific-offsets"];

const SINK_PARALLELISM: OptionSpec = opt(
    "sink.parallelism",
    INT,
    None,
    "Number of parallel sink tasks; by default that of the operator feeding the sink.",
);

const KAFKA_BOOTSTRAP_SERVERS: OptionSpec =
    req("properties.bootstrap.servers", STR, "Comma-separated Kafka brokers to connect to, e.g. 'localhost:9092'.");
const KAFKA_PROPERTIES: OptionSpec = opt(
    "properties.*",
    STR,
    None,
    "Any other Kafka client setting (e.g. 'properties.security.protocol'), handed to the \
     client (librdkafka) with the 'properties.' prefix removed.",
);
const KAFKA_KEY_FIELDS_PREFIX: OptionSpec = opt(
    "key.fields-prefix",
    STR,
    None,
    "Prefix the key columns carry in the table schema, so they do not clash with value \
     columns; it is stripped in the key format. Needs 'value.fields-include' = 'EXCEPT_KEY'.",
);
const KAFKA_VALUE_FIELDS_INCLUDE: OptionSpec = opt(
    "value.fields-include",
    OptionType::Enum(VALUE_FIELDS_STRATEGIES),
    Some("ALL"),
    "Which columns the value holds: 'ALL' columns, or 'EXCEPT_KEY' to leave out the key columns.",
);
const KAFKA_SCAN_BOUNDED_MODE: OptionSpec = opt(
    "scan.bounded.mode",
    OptionType::Enum(BOUNDED_MODES),
    Some("unbounded"),
    "Where a source stops reading: never ('unbounded'), at the offsets that are latest or \
     committed by the group when it starts, at a timestamp, or at given offsets.",
);
const KAFKA_SCAN_BOUNDED_SPECIFIC_OFFSETS: OptionSpec = opt(
    "scan.bounded.specific-offsets",
    STR,
    None,
    "Per-partition stop offsets for 'specific-offsets' bounded mode, e.g. \
     'partition:0,offset:42;partition:1,offset:300'.",
);
const KAFKA_SCAN_BOUNDED_TIMESTAMP_MILLIS: OptionSpec =
    opt("scan.bounded.timestamp-millis", INT, None, "Epoch milliseconds at which a 'timestamp' bounded source stops.");
const KAFKA_DELIVERY_GUARANTEE: OptionSpec = opt(
    "sink.delivery-guarantee",
    OptionType::Enum(DELIVERY_GUARANTEES),
    Some("at-least-once"),
    "What a sink guarantees on failure: 'none' (rows may be lost or duplicated), \
     'at-least-once' (none lost, some may repeat), 'exactly-once' (Kafka transactions).",
);
const KAFKA_TRANSACTIONAL_ID_PREFIX: OptionSpec = opt(
    "sink.transactional-id-prefix",
    STR,
    None,
    "Prefix of the ids of the Kafka transactions an 'exactly-once' sink opens; must be \
     unique per job writing to the same cluster.",
);
const KAFKA_WATERMARK_EMIT_STRATEGY: OptionSpec = opt(
    "scan.watermark.emit.strategy",
    OptionType::Enum(&["on-event", "on-periodic"]),
    Some("on-periodic"),
    "Whether the source emits a watermark after every record ('on-event') or at a fixed \
     interval ('on-periodic').",
);
const KAFKA_WATERMARK_IDLE_TIMEOUT: OptionSpec = opt(
    "scan.watermark.idle-timeout",
    DUR,
    None,
    "A partition without records for this long is marked idle and no longer holds the \
     watermark back. Unset: 'table.exec.source.idle-timeout', else never.",
);
const KAFKA_WATERMARK_ALIGNMENT_GROUP: OptionSpec = opt(
    "scan.watermark.alignment.group",
    STR,
    None,
    "Name of a group of sources whose watermarks are kept close to each other.",
);
const KAFKA_WATERMARK_ALIGNMENT_MAX_DRIFT: OptionSpec = opt(
    "scan.watermark.alignment.max-drift",
    DUR,
    None,
    "How far a partition's watermark may run ahead of its alignment group before reading \
     it pauses.",
);
const KAFKA_WATERMARK_ALIGNMENT_UPDATE_INTERVAL: OptionSpec = opt(
    "scan.watermark.alignment.update-interval",
    DUR,
    Some("1 s"),
    "How often the alignment group's common watermark is recomputed.",
);
const SINK_BUFFER_FLUSH_MAX_ROWS: OptionSpec = opt(
    "sink.buffer-flush.max-rows",
    INT,
    Some("0"),
    "Rows buffered (keeping only the last per key) before a flush; '0' turns buffering off. \
     Must be set together with 'sink.buffer-flush.interval'.",
);
const SINK_BUFFER_FLUSH_INTERVAL: OptionSpec = opt(
    "sink.buffer-flush.interval",
    DUR,
    Some("0 s"),
    "Longest time rows stay buffered before a flush; '0 s' turns buffering off. Must be set \
     together with 'sink.buffer-flush.max-rows'.",
);

// ------------------------------------------------------------------------------------------
// filesystem
// ------------------------------------------------------------------------------------------

const FILESYSTEM_OPTIONS: &[OptionSpec] = &[
    req("path", STR, "Directory (or, for a source, single file) to read or write, e.g. 'file:///data/orders'."),
    req("format", STR, "Format the files are encoded in."),
    opt(
        "source.monitor-interval",
        DUR,
        None,
        "How often a source looks for new files under 'path'; each file is read once. Unset: \
         'path' is scanned once and the source is bounded.",
    ),
    opt(
        "source.path.regex-pattern",
        STR,
        None,
        "Regular expression the absolute path of a file must match to be read; hidden files \
         never match.",
    ),
    opt(
        "source.dead-letter.path",
        STR,
        None,
        "dflc extension: file that records failing to decode are appended to, each with the \
         reason, instead of failing the job.",
    ),
    opt(
        "scan.watermark.idle-timeout",
        DUR,
        None,
        "Each file is a split with its own watermark, and the files not yet read hold the \
         table's watermark back; a file without records for this long is idle and no longer \
         does. Unset: 'table.exec.source.idle-timeout', else never.",
    ),
    opt(
        "partition.default-name",
        STR,
        Some("__DEFAULT_PARTITION__"),
        "Partition directory name used when a partition column is NULL or empty.",
    ),
    opt(
        "partition.time-extractor.timestamp-pattern",
        STR,
        None,
        "How to build a timestamp from partition values, e.g. '$dt' or '$dt $hour:00:00'; by \
         default the first partition column read as 'yyyy-MM-dd HH:mm:ss'.",
    ),
    opt(
        "partition.time-extractor.timestamp-formatter",
        STR,
        None,
        "Pattern (Java DateTimeFormatter style) the extracted partition timestamp is parsed \
         with; 'yyyy-MM-dd HH:mm:ss' if unset.",
    ),
    opt(
        "sink.rolling-policy.file-size",
        MEM,
        Some("128 mb"),
        "Size at which a part file is closed and a new one started.",
    ),
    opt(
        "sink.rolling-policy.rollover-interval",
        DUR,
        Some("30 min"),
        "Longest time a part file stays open before it is rolled.",
    ),
    opt(
        "sink.rolling-policy.inactivity-interval",
        DUR,
        Some("30 min"),
        "A part file that received nothing for this long is rolled.",
    ),
    opt(
        "sink.rolling-policy.check-interval",
        DUR,
        Some("1 min"),
        "How often the time-based rolling conditions are checked.",
    ),
    opt(
        "sink.shuffle-by-partition.enable",
        BOOL,
        Some("false"),
        "Route rows by their partition values so each partition is written by fewer tasks \
         (fewer files, possible skew).",
    ),
    opt(
        "sink.partition-commit.trigger",
        OptionType::Enum(&["process-time", "partition-time"]),
        Some("process-time"),
        "When a partition is committed: 'process-time' once wall-clock time passes its \
         creation plus the delay, 'partition-time' once the watermark passes the time \
         extracted from its values plus the delay.",
    ),
    opt(
        "sink.partition-commit.delay",
        DUR,
        Some("0 s"),
        "How long after the trigger time a partition is committed, e.g. '1 h' for hourly \
         partitions.",
    ),
    opt(
        "sink.partition-commit.watermark-time-zone",
        STR,
        Some("UTC"),
        "Time zone the watermark is read in for 'partition-time' commits, e.g. \
         'America/Los_Angeles'; set it to the session time zone when the watermark is on a \
         TIMESTAMP_LTZ column.",
    ),
    opt(
        "sink.partition-commit.policy.kind",
        STR,
        None,
        "What committing a partition does, comma-separated; 'success-file' writes a marker \
         file into the partition directory.",
    ),
    opt(
        "sink.partition-commit.success-file.name",
        STR,
        Some("_SUCCESS"),
        "Name of the marker file the 'success-file' commit policy writes.",
    ),
    opt(
        "auto-compaction",
        BOOL,
        Some("false"),
        "Merge the small files a checkpoint produced into larger ones before they become \
         visible.",
    ),
    opt("compaction.file-size", MEM, None, "Target size of compacted files; the rolling file size if unset."),
    SINK_PARALLELISM,
];

// ------------------------------------------------------------------------------------------
// kafka
// ------------------------------------------------------------------------------------------

const KAFKA_OPTIONS: &[OptionSpec] = &[
    opt("topic", STR, None, "Topic(s) a source reads, separated by ';', or the topic a sink writes."),
    opt("topic-pattern", STR, None, "Regular expression of the topic names a source reads (instead of 'topic')."),
    KAFKA_BOOTSTRAP_SERVERS,
    opt(
        "properties.group.id",
        STR,
        None,
        "Consumer group of a source; needed for 'group-offsets' and to commit offsets.",
    ),
    KAFKA_PROPERTIES,
    opt("format", STR, None, "Format of the message value; the same as 'value.format' (give only one)."),
    opt("key.format", STR, None, "Format of the message key; requires 'key.fields'."),
    opt("key.fields", STR, None, "Columns, separated by ';', that form the message key; by default there is no key."),
    KAFKA_KEY_FIELDS_PREFIX,
    opt("value.format", STR, None, "Format of the message value; the same as 'format' (give only one)."),
    KAFKA_VALUE_FIELDS_INCLUDE,
    opt(
        "scan.startup.mode",
        OptionType::Enum(STARTUP_MODES),
        Some("group-offsets"),
        "Where a source starts reading: the earliest or latest offsets, the group's committed \
         offsets, a timestamp, or given offsets.",
    ),
    opt(
        "scan.startup.specific-offsets",
        STR,
        None,
        "Per-partition start offsets for 'specific-offsets' startup, e.g. \
         'partition:0,offset:42;partition:1,offset:300'.",
    ),
    opt("scan.startup.timestamp-millis", INT, None, "Epoch milliseconds a 'timestamp' startup begins reading from."),
    KAFKA_SCAN_BOUNDED_MODE,
    KAFKA_SCAN_BOUNDED_SPECIFIC_OFFSETS,
    KAFKA_SCAN_BOUNDED_TIMESTAMP_MILLIS,
    opt(
        "scan.topic-partition-discovery.interval",
        DUR,
        Some("5 min"),
        "How often a source looks for new partitions (and new topics matching \
         'topic-pattern'); '0' turns discovery off.",
    ),
    KAFKA_WATERMARK_EMIT_STRATEGY,
    KAFKA_WATERMARK_IDLE_TIMEOUT,
    KAFKA_WATERMARK_ALIGNMENT_GROUP,
    KAFKA_WATERMARK_ALIGNMENT_MAX_DRIFT,
    KAFKA_WATERMARK_ALIGNMENT_UPDATE_INTERVAL,
    opt(
        "scan.errors",
        OptionType::Enum(&["fail", "skip", "dead-letter"]),
        Some("fail"),
        "dflc extension: what happens to a record that cannot be decoded: 'fail' the job, \
         'skip' it, or send it to 'scan.dead-letter.topic'.",
    ),
    opt(
        "scan.dead-letter.topic",
        STR,
        None,
        "dflc extension: topic that undecodable records are written to, with the reason, when \
         'scan.errors' is 'dead-letter'.",
    ),
    opt(
        "sink.partitioner",
        OptionType::Enum(&["default", "fixed", "round-robin"]),
        Some("default"),
        "How a sink spreads rows over partitions: 'default' (by key hash, or the client's \
         choice without a key), 'fixed' (each sink task writes one partition), \
         'round-robin'. Custom partitioner classes are not supported.",
    ),
    KAFKA_DELIVERY_GUARANTEE,
    opt("sink.semantic", OptionType::Enum(DELIVERY_GUARANTEES), None, "Deprecated name of 'sink.delivery-guarantee'."),
    KAFKA_TRANSACTIONAL_ID_PREFIX,
    SINK_PARALLELISM,
];

// ------------------------------------------------------------------------------------------
// upsert-kafka
// ------------------------------------------------------------------------------------------

const UPSERT_KAFKA_OPTIONS: &[OptionSpec] = &[
    req("topic", STR, "Topic read from or written to (a single topic)."),
    KAFKA_BOOTSTRAP_SERVERS,
    KAFKA_PROPERTIES,
    req("key.format", STR, "Format of the message key, which holds the PRIMARY KEY columns."),
    req("value.format", STR, "Format of the message value; a NULL value is a deletion of its key."),
    KAFKA_KEY_FIELDS_PREFIX,
    KAFKA_VALUE_FIELDS_INCLUDE,
    KAFKA_SCAN_BOUNDED_MODE,
    KAFKA_SCAN_BOUNDED_SPECIFIC_OFFSETS,
    KAFKA_SCAN_BOUNDED_TIMESTAMP_MILLIS,
    KAFKA_WATERMARK_EMIT_STRATEGY,
    KAFKA_WATERMARK_IDLE_TIMEOUT,
    KAFKA_WATERMARK_ALIGNMENT_GROUP,
    KAFKA_WATERMARK_ALIGNMENT_MAX_DRIFT,
    KAFKA_WATERMARK_ALIGNMENT_UPDATE_INTERVAL,
    SINK_BUFFER_FLUSH_MAX_ROWS,
    SINK_BUFFER_FLUSH_INTERVAL,
    KAFKA_DELIVERY_GUARANTEE,
    KAFKA_TRANSACTIONAL_ID_PREFIX,
    SINK_PARALLELISM,
];

// ------------------------------------------------------------------------------------------
// datagen
// ------------------------------------------------------------------------------------------

const DATAGEN_OPTIONS: &[OptionSpec] = &[
    opt("rows-per-second", INT, Some("10000"), "Rows generated per second."),
    opt("number-of-rows", INT, None, "Total rows to generate; unset means unbounded."),
    opt("scan.parallelism", INT, None, "Number of parallel source tasks."),
    opt(
        "fields.#.kind",
        OptionType::Enum(&["random", "sequence"]),
        Some("random"),
        "Generator of column '#': 'random' values, or a 'sequence' from start to end (which \
         makes the table bounded).",
    ),
    opt(
        "fields.#.min",
        STR,
        None,
        "Smallest value the random generator gives column '#' (numeric columns); the type's \
         minimum by default.",
    ),
    opt(
        "fields.#.max",
        STR,
        None,
        "Largest value the random generator gives column '#' (numeric columns); the type's \
         maximum by default.",
    ),
    opt(
        "fields.#.max-past",
        DUR,
        Some("0 s"),
        "How far before the current time a random timestamp of column '#' may lie.",
    ),
    opt(
        "fields.#.length",
        INT,
        Some("100"),
        "Length of random strings and byte strings, or element count of collections, for \
         column '#'.",
    ),
    opt(
        "fields.#.var-len",
        BOOL,
        Some("false"),
        "Give random strings and byte strings of column '#' varying lengths up to 'length'.",
    ),
    opt("fields.#.start", STR, None, "First value of the sequence generator of column '#'."),
    opt("fields.#.end", STR, None, "Last value of the sequence generator of column '#'."),
    opt("fields.#.null-rate", STR, None, "Fraction of NULLs in column '#', a number from 0.0 to 1.0 (0 if unset)."),
    opt(
        "seed",
        INT,
        None,
        "dflc extension: seed of the random generator, so that runs are reproducible (random if unset).",
    ),
];

// ------------------------------------------------------------------------------------------
// print
// ------------------------------------------------------------------------------------------

const PRINT_OPTIONS: &[OptionSpec] = &[
    opt("print-identifier", STR, None, "Text printed in front of every row."),
    opt("standard-error", BOOL, Some("false"), "Print to standard error instead of standard output."),
    SINK_PARALLELISM,
];

// ------------------------------------------------------------------------------------------
// nexmark
// ------------------------------------------------------------------------------------------

const NEXMARK_OPTIONS: &[OptionSpec] = &[
    opt("first-event.rate", INT, Some("10000"), "Events per second at the start of each rate period."),
    opt("next-event.rate", INT, Some("10000"), "Events per second the rate shape moves to from 'first-event.rate'."),
    opt(
        "rate.shape",
        OptionType::Enum(&["SQUARE", "SINE"]),
        Some("SQUARE"),
        "How the rate moves between the first and next rate: in steps ('SQUARE') or along a \
         sine wave ('SINE').",
    ),
    opt("rate.period", DUR, Some("10 min"), "Length of one full cycle of the rate shape."),
    opt(
        "rate.limited",
        BOOL,
        Some("false"),
        "Emit each event only once its time is due, instead of as fast as possible.",
    ),
    opt("events.num", INT, Some("0"), "Total number of events to generate; '0' means unbounded."),
    opt("person.proportion", INT, Some("1"), "Weight of person events in the mix of persons, auctions and bids."),
    opt("auction.proportion", INT, Some("3"), "Weight of auction events in the mix of persons, auctions and bids."),
    opt("bid.proportion", INT, Some("46"), "Weight of bid events in the mix of persons, auctions and bids."),
    opt("person.avg-size", MEM, Some("200 b"), "Average size a person event is padded to."),
    opt("auction.avg-size", MEM, Some("500 b"), "Average size an auction event is padded to."),
    opt("bid.avg-size", MEM, Some("100 b"), "Average size a bid event is padded to."),
    opt(
        "bid.hot-ratio.auctions",
        INT,
        Some("2"),
        "How many times more likely a bid goes to a hot auction than to any other.",
    ),
    opt(
        "bid.hot-ratio.bidders",
        INT,
        Some("4"),
        "How many times more likely a bid comes from a hot bidder than from anyone else.",
    ),
    opt(
        "auction.hot-ratio.sellers",
        INT,
        Some("4"),
        "How many times more likely an auction comes from a hot seller than from anyone else.",
    ),
    opt("bid.extended.mode", BOOL, Some("false"), "Generate the extended bid schema instead of the standard one."),
    opt(
        "events.base-time",
        INT,
        None,
        "Event time of the first event in epoch milliseconds; the current time if unset.",
    ),
    opt("events.simulation.mode", BOOL, Some("true"), "Simulation mode of the upstream generator."),
    opt("keep-alive", BOOL, Some("false"), "Keep the source running after its last event instead of finishing."),
    opt("stop-at", INT, None, "Stop once this many events have been emitted; unset (upstream: -1) means no limit."),
    opt(
        "max-emit-speed",
        BOOL,
        Some("true"),
        "Emit events as fast as possible rather than paced by the rate settings.",
    ),
    opt(
        "seed",
        INT,
        None,
        "dflc extension: seed of the generator's random choices; the same seed gives the same \
         events.",
    ),
    opt(
        "base-time",
        STR,
        None,
        "dflc extension: time of the first event, as epoch milliseconds or an ISO-8601 \
         timestamp such as '2024-01-01T00:00:00Z'.",
    ),
];

// ------------------------------------------------------------------------------------------
// redis (dflc's own)
// ------------------------------------------------------------------------------------------

const REDIS_OPTIONS: &[OptionSpec] = &[
    req("url", STR, "Address of the Redis server, e.g. 'redis://127.0.0.1:6379' ('rediss://' for TLS)."),
    opt("database", INT, Some("0"), "Number of the Redis database to use."),
    opt("username", STR, None, "User name to authenticate with (Redis ACL)."),
    opt("password", STR, None, "Password to authenticate with."),
    opt("tls", BOOL, Some("false"), "Connect over TLS."),
    opt(
        "key",
        STR,
        None,
        "Template of the Redis key of a row, with '{column}' placeholders, e.g. \
         'profile:{user_id}'; by default built from the PRIMARY KEY columns.",
    ),
    opt(
        "data-type",
        OptionType::Enum(&["hash", "string"]),
        Some("hash"),
        "How a row is stored: as a 'hash' with one field per column, or as a 'string' value \
         encoded by 'value.format'.",
    ),
    opt(
        "value.format",
        OptionType::Enum(&["json", "raw"]),
        Some("json"),
        "Encoding of the value when 'data-type' is 'string': a JSON object of the columns, \
         or the single non-key column as 'raw' text.",
    ),
    opt("ttl", DUR, None, "Expiry set on every key written; keys do not expire if unset."),
    opt(
        "sink.buffer-flush.max-rows",
        INT,
        Some("100"),
        "Rows a sink buffers before sending them in one pipeline; '0' sends each row at once.",
    ),
    opt("sink.buffer-flush.interval", DUR, Some("1 s"), "Longest time a sink keeps rows buffered before sending them."),
    opt(
        "sink.max-retries",
        INT,
        Some("10"),
        "Times a failed write is retried (after 100 ms, doubling up to 5 s: about 26 s in all) before the job fails.",
    ),
    opt("lookup.cache.max-rows", INT, None, "Rows a lookup join keeps cached; no cache if unset."),
    opt(
        "lookup.cache.ttl",
        DUR,
        None,
        "Longest time a cached lookup result is used after it was read (needs 'lookup.cache.max-rows').",
    ),
    opt(
        "lookup.max-retries",
        INT,
        Some("10"),
        "Times a failed lookup is retried (backing off as the sink does) before 'lookup.on-error' applies.",
    ),
    opt(
        "lookup.missing-key",
        OptionType::Enum(&["null", "skip"]),
        Some("null"),
        "What a lookup join does when the key is absent: join NULLs ('null') or drop the \
         input row ('skip').",
    ),
    opt(
        "lookup.on-error",
        OptionType::Enum(&["fail", "null"]),
        Some("fail"),
        "What a lookup join does when Redis still fails after the retries: 'fail' the job or \
         join NULLs ('null').",
    ),
];

/// The option every source table accepts, whatever its connector: where its rows that
/// come too late for their windows go.
pub const LATE_DATA_SINK: &str = "scan.late-data.sink";

/// Options of every table that can be read, besides its connector's own.
pub const SOURCE_OPTIONS: &[OptionSpec] = &[opt(
    LATE_DATA_SINK,
    STR,
    None,
    "A table (of this file) that receives, unchanged and with a `late_reason`, the rows of \
     this table that arrive after the watermark has passed all their windows; unset: they \
     are dropped and counted (or go to SET 'pipeline.late-data.sink').",
)];

// ------------------------------------------------------------------------------------------
// The connector and format tables.
// ------------------------------------------------------------------------------------------

/// Every connector `dflc` accepts.
pub static CONNECTORS: &[ConnectorSpec] = &[
    ConnectorSpec {
        name: "filesystem",
        role: Role::Both,
        options: FILESYSTEM_OPTIONS,
        takes_format: true,
        one_of_required: &[],
        doc: "Reads and writes files in a local or distributed file system, optionally \
              partitioned into Hive-style directories.",
    },
    ConnectorSpec {
        name: "kafka",
        role: Role::Both,
        options: KAFKA_OPTIONS,
        takes_format: true,
        one_of_required: &[&["topic", "topic-pattern"], &["format", "value.format"]],
        doc: "Reads an append-only stream from Kafka topics and writes one to a Kafka topic.",
    },
    ConnectorSpec {
        name: "upsert-kafka",
        role: Role::Both,
        options: UPSERT_KAFKA_OPTIONS,
        takes_format: true,
        one_of_required: &[],
        doc: "Reads and writes a changelog keyed by the PRIMARY KEY in a Kafka topic: a message \
              updates its key, a NULL value deletes it.",
    },
    ConnectorSpec {
        name: "datagen",
        role: Role::Source,
        options: DATAGEN_OPTIONS,
        takes_format: false,
        one_of_required: &[],
        doc: "Generates random or sequential rows in memory, for trying queries out.",
    },
    ConnectorSpec {
        name: "print",
        role: Role::Sink,
        options: PRINT_OPTIONS,
        takes_format: false,
        one_of_required: &[],
        doc: "Prints every row, with its change kind, to standard output or standard error.",
    },
    ConnectorSpec {
        name: "rust",
        role: Role::Both,
        options: &[],
        takes_format: false,
        one_of_required: &[],
        doc: "Rows from and to the Rust program embedding the pipeline (dfl::pipeline!): a source reads the Receiver given to dfl::connectors::rust::feed(table, …), a sink sends its changes into the Sender given to dfl::connectors::rust::collect(table, …). Takes updates.",
    },
    ConnectorSpec {
        name: "blackhole",
        role: Role::Sink,
        options: &[],
        takes_format: false,
        one_of_required: &[],
        doc: "Discards every row; useful to measure a query without a real sink.",
    },
    ConnectorSpec {
        name: "nexmark",
        role: Role::Source,
        options: NEXMARK_OPTIONS,
        takes_format: false,
        one_of_required: &[],
        doc: "Generates the Nexmark benchmark's stream of persons, auctions and bids \
              (options as in nexmark/nexmark).",
    },
    ConnectorSpec {
        name: "redis",
        role: Role::Both,
        options: REDIS_OPTIONS,
        takes_format: false,
        one_of_required: &[],
        doc: "dflc's own connector (Flink has none built in): writes rows to Redis as a sink, \
              and serves lookup joins as a source.",
    },
];

const JSON_OPTIONS: &[OptionSpec] = &[
    opt(
        "fail-on-missing-field",
        BOOL,
        Some("false"),
        "Fail when a field of the schema is absent from a record, instead of reading NULL.",
    ),
    opt(
        "ignore-parse-errors",
        BOOL,
        Some("false"),
        "Turn unparsable fields into NULL and skip unparsable records instead of failing.",
    ),
    opt(
        "timestamp-format.standard",
        OptionType::Enum(&["SQL", "ISO-8601"]),
        Some("SQL"),
        "Spelling of TIMESTAMP and TIMESTAMP_LTZ values: 'SQL' ('2020-12-30 12:13:14.123') \
         or 'ISO-8601' ('2020-12-30T12:13:14.123').",
    ),
    opt(
        "map-null-key.mode",
        OptionType::Enum(&["FAIL", "DROP", "LITERAL"]),
        Some("FAIL"),
        "What writing a MAP entry with a NULL key does: 'FAIL', 'DROP' the entry, or use the \
         'map-null-key.literal' text as key.",
    ),
    opt(
        "map-null-key.literal",
        STR,
        Some("null"),
        "Key written for NULL map keys when 'map-null-key.mode' is 'LITERAL'.",
    ),
    opt(
        "encode.decimal-as-plain-number",
        BOOL,
        Some("false"),
        "Write DECIMALs in plain notation (0.000000027) rather than possibly scientific \
         (2.7E-8).",
    ),
    opt("encode.ignore-null-fields", BOOL, Some("false"), "Leave NULL fields out of written objects."),
    opt(
        "decode.json-parser.enabled",
        BOOL,
        Some("true"),
        "Flink's switch between two JVM JSON parsers; accepted for compatibility.",
    ),
];

const CSV_OPTIONS: &[OptionSpec] = &[
    opt("field-delimiter", STR, Some(","), "Single character between fields; '\\t' stands for a tab."),
    opt(
        "disable-quote-character",
        BOOL,
        Some("false"),
        "Never quote field values; 'quote-character' may then not be set.",
    ),
    opt("quote-character", STR, Some("\""), "Character enclosing field values that need quoting."),
    opt(
        "allow-comments",
        BOOL,
        Some("false"),
        "Skip lines starting with '#' (best combined with 'ignore-parse-errors').",
    ),
    opt(
        "ignore-parse-errors",
        BOOL,
        Some("false"),
        "Turn unparsable fields into NULL and skip unparsable records instead of failing.",
    ),
    opt("array-element-delimiter", STR, Some(";"), "Text between the elements of ARRAY and ROW values."),
    opt("escape-character", STR, None, "Character escaping special characters inside values; no escaping if unset."),
    opt("null-literal", STR, None, "Text read as NULL and written for NULL; none if unset."),
    opt(
        "write-bigdecimal-in-scientific-notation",
        BOOL,
        Some("true"),
        "Write DECIMALs that are multiples of ten in scientific notation (100000 as '1E+5').",
    ),
];

const RAW_OPTIONS: &[OptionSpec] = &[
    opt("charset", STR, Some("UTF-8"), "Character set of text values."),
    opt(
        "endianness",
        OptionType::Enum(&["big-endian", "little-endian"]),
        Some("big-endian"),
        "Byte order of numeric values.",
    ),
];

/// Every format `dflc` accepts.
pub static FORMATS: &[FormatSpec] = &[
    FormatSpec {
        name: "json",
        options: JSON_OPTIONS,
        doc: "One JSON object per record (newline-delimited in files), fields named after the \
              columns.",
    },
    FormatSpec {
        name: "csv",
        options: CSV_OPTIONS,
        doc: "Comma-separated values (RFC 4180), columns in schema order.",
    },
    FormatSpec {
        name: "raw",
        options: RAW_OPTIONS,
        doc: "The record's bytes as a single column (text in 'charset', or a binary number).",
    },
];

// ------------------------------------------------------------------------------------------
// Lookups and value checks.
// ------------------------------------------------------------------------------------------

/// Looks a connector up by name (case-sensitive, as Flink).
pub fn connector(name: &str) -> Option<&'static ConnectorSpec> {
    CONNECTORS.iter().find(|c| c.name == name)
}

/// Looks a format up by name.
pub fn format(name: &str) -> Option<&'static FormatSpec> {
    FORMATS.iter().find(|f| f.name == name)
}

/// Finds the spec matching `key` among `options`, honouring `#` segments and `.*` prefixes.
///
/// An exact key wins over a `#` pattern, which wins over a `.*` prefix, so that e.g.
/// `properties.bootstrap.servers` finds its own spec rather than `properties.*`. Keys are
/// case-sensitive. A `#` stands for a non-empty name, which may itself contain dots.
/// The METADATA keys a connector provides (`ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'`).
pub fn metadata_keys(connector: &str) -> &'static [&'static str] {
    match connector {
        "kafka" | "upsert-kafka" => {
            &["topic", "partition", "headers", "leader-epoch", "offset", "timestamp", "timestamp-type"]
        }
        "filesystem" => &["file.path", "file.name", "file.size", "file.modification-time"],
        _ => &[],
    }
}

/// Whether the connector needs a PRIMARY KEY (`Some(true)`), cannot take one
/// (`Some(false)`), or either (`None`).
pub fn primary_key_rule(connector: &str) -> Option<bool> {
    match connector {
        "upsert-kafka" => Some(true),
        "kafka" | "datagen" | "nexmark" => Some(false),
        _ => None,
    }
}

pub fn find_option<'a>(options: &'a [OptionSpec], key: &str) -> Option<&'a OptionSpec> {
    options
        .iter()
        .find(|o| o.key == key)
        .or_else(|| {
            options.iter().find(|o| {
                o.key.split_once('#').is_some_and(|(prefix, suffix)| matches_placeholder(key, prefix, suffix))
            })
        })
        .or_else(|| {
            options.iter().find(|o| {
                o.key
                    .strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with('.') && key.len() > prefix.len() && key.starts_with(prefix))
            })
        })
}

/// Whether `key` is `prefix`, a non-empty name, then `suffix`.
fn matches_placeholder(key: &str, prefix: &str, suffix: &str) -> bool {
    key.len() > prefix.len() + suffix.len() && key.starts_with(prefix) && key.ends_with(suffix)
}

/// Checks a value against a type; Err carries a short message of what was expected, e.g. "a duration such as '10 s'".
///
/// Surrounding whitespace is ignored for integers, booleans, durations and memory sizes;
/// enum values must match exactly apart from letter case.
///
/// # Errors
///
/// Returns what a value of `ty` must look like when `value` is not one.
pub fn check_value(ty: OptionType, value: &str) -> Result<(), String> {
    let ok = match ty {
        OptionType::String => true,
        OptionType::Integer => parse_u63(value.trim()).is_some(),
        OptionType::Boolean => {
            let v = value.trim();
            v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
        }
        OptionType::Duration => is_duration(value),
        OptionType::MemorySize => is_memory_size(value),
        OptionType::Enum(values) => values.iter().any(|v| v.eq_ignore_ascii_case(value)),
    };
    if ok { Ok(()) } else { Err(expected(ty)) }
}

/// What a value of `ty` must look like, for error messages.
fn expected(ty: OptionType) -> String {
    match ty {
        OptionType::String => "a string".to_owned(),
        OptionType::Integer => "a non-negative integer such as '1000'".to_owned(),
        OptionType::Boolean => "'true' or 'false'".to_owned(),
        OptionType::Duration => "a duration such as '10 s', '5 min', '100 ms', '1 h' or '2 d'".to_owned(),
        OptionType::MemorySize => "a memory size such as '128 mb', '512 kb' or '1 gb'".to_owned(),
        OptionType::Enum(values) => {
            let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

/// Parses a run of ASCII digits that fits a signed 64-bit integer (as Flink's longs do).
fn parse_u63(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok().filter(|&n| n <= i64::MAX as u64)
}

/// Splits `text` (trimmed) into its leading number and its (trimmed, lower-cased) unit label.
fn number_and_unit(text: &str) -> Option<(u64, String)> {
    let text = text.trim();
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number = parse_u63(&text[..end])?;
    Some((number, text[end..].trim().to_lowercase()))
}

/// Flink's duration syntax: a whole number and an optional unit (milliseconds if absent).
fn is_duration(text: &str) -> bool {
    duration_nanos(text).is_some()
}

/// The length of a Flink duration (`'10 s'`, `'5min'`, `'500 ms'`) in milliseconds,
/// sub-millisecond units rounded down.
pub fn duration_ms(text: &str) -> Option<u64> {
    duration_nanos(text).map(|n| (n / 1_000_000) as u64)
}

fn duration_nanos(text: &str) -> Option<u128> {
    let (number, unit) = number_and_unit(text)?;
    let nanos: u128 = match unit.as_str() {
        "d" | "day" | "days" => 86_400_000_000_000,
        "h" | "hour" | "hours" => 3_600_000_000_000,
        "min" | "m" | "minute" | "minutes" => 60_000_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        _ => return None,
    };
    u128::from(number).checked_mul(nanos)
}

/// Flink's memory size syntax: a whole number and an optional unit (bytes if absent).
fn is_memory_size(text: &str) -> bool {
    const UNITS: &[(&str, u64)] = &[
        ("", 1),
        ("b", 1),
        ("bytes", 1),
        ("k", 1 << 10),
        ("kb", 1 << 10),
        ("kibibytes", 1 << 10),
        ("m", 1 << 20),
        ("mb", 1 << 20),
        ("mebibytes", 1 << 20),
        ("g", 1 << 30),
        ("gb", 1 << 30),
        ("gibibytes", 1 << 30),
        ("t", 1 << 40),
        ("tb", 1 << 40),
        ("tebibytes", 1 << 40),
    ];
    number_and_unit(text).is_some_and(|(number, unit)| {
        UNITS.iter().any(|&(label, factor)| {
            label == unit && number.checked_mul(factor).is_some_and(|bytes| bytes <= i64::MAX as u64)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn all_option_tables() -> Vec<(&'static str, &'static [OptionSpec])> {
        CONNECTORS.iter().map(|c| (c.name, c.options)).chain(FORMATS.iter().map(|f| (f.name, f.options))).collect()
    }

    #[test]
    fn find_option_honours_placeholders() {
        let datagen = connector("datagen").unwrap().options;
        assert_eq!(find_option(datagen, "fields.user_id.kind").map(|o| o.key), Some("fields.#.kind"));
        assert_eq!(find_option(datagen, "fields.user_id.max-past").map(|o| o.key), Some("fields.#.max-past"));
        assert_eq!(find_option(datagen, "fields.user_id.max").map(|o| o.key), Some("fields.#.max"));
        assert!(find_option(datagen, "fields.kind").is_none());
        assert!(find_option(datagen, "fields..kind").is_none());
        assert!(find_option(datagen, "fields.user_id.colour").is_none());
        assert!(find_option(datagen, "rows-per-minute").is_none());
    }

    #[test]
    fn find_option_honours_prefixes() {
        let kafka = connector("kafka").unwrap().options;
        assert_eq!(find_option(kafka, "properties.security.protocol").map(|o| o.key), Some("properties.*"));
        // An exact key wins over the prefix.
        let servers = find_option(kafka, "properties.bootstrap.servers").unwrap();
        assert_eq!(servers.key, "properties.bootstrap.servers");
        assert!(servers.required);
        assert!(find_option(kafka, "properties.").is_none());
        assert!(find_option(kafka, "properties").is_none());
        assert!(find_option(kafka, "property.x").is_none());
        assert!(find_option(kafka, "Topic").is_none(), "keys are case-sensitive");
    }

    #[test]
    fn durations() {
        for ok in
            ["10 s", "5min", "100ms", "1 h", "2 d", "0", "1500", "30 sec", "3 minutes", "1m", " 7 S ", "10 µs", "5 ns"]
        {
            assert_eq!(check_value(OptionType::Duration, ok), Ok(()), "{ok:?}");
        }
        for bad in ["10 parsecs", "", "   ", "s", "1.5 s", "-1 s", "ten s", "10 s s", "99999999999999999999 s"] {
            assert!(check_value(OptionType::Duration, bad).is_err(), "{bad:?}");
        }
        let message = check_value(OptionType::Duration, "10 parsecs").unwrap_err();
        assert!(message.contains("duration"), "{message}");
    }

    #[test]
    fn memory_sizes() {
        for ok in ["128mb", "1 gb", "200b", "512", "64 KB", "2 t", "3 mebibytes"] {
            assert_eq!(check_value(OptionType::MemorySize, ok), Ok(()), "{ok:?}");
        }
        for bad in ["lots", "", "mb", "1.5 gb", "12 parsecs", "99999999 tb"] {
            assert!(check_value(OptionType::MemorySize, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn integers_booleans_strings() {
        assert_eq!(check_value(OptionType::Integer, "1000"), Ok(()));
        assert_eq!(check_value(OptionType::Integer, "0"), Ok(()));
        for bad in ["-1", "x", "", "1.0", "1e3", "+-1", "99999999999999999999"] {
            assert!(check_value(OptionType::Integer, bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_value(OptionType::Boolean, "TRUE"), Ok(()));
        assert_eq!(check_value(OptionType::Boolean, "false"), Ok(()));
        assert!(check_value(OptionType::Boolean, "yes").is_err());
        assert!(check_value(OptionType::Boolean, "1").is_err());
        assert_eq!(check_value(OptionType::String, ""), Ok(()));
    }

    #[test]
    fn enums_are_case_insensitive() {
        let ty = OptionType::Enum(&["earliest-offset", "latest-offset"]);
        assert_eq!(check_value(ty, "EARLIEST-OFFSET"), Ok(()));
        assert_eq!(check_value(ty, "latest-offset"), Ok(()));
        let message = check_value(ty, "earliest").unwrap_err();
        assert!(message.contains("'earliest-offset'"), "{message}");
        assert!(message.contains("'latest-offset'"), "{message}");
        let include = find_option(connector("kafka").unwrap().options, "value.fields-include");
        assert_eq!(check_value(include.unwrap().ty, "except_key"), Ok(()));
    }

    #[test]
    fn names_are_unique() {
        let mut names = HashSet::new();
        for c in CONNECTORS {
            assert!(names.insert(c.name), "duplicate connector {}", c.name);
        }
        let mut names = HashSet::new();
        for f in FORMATS {
            assert!(names.insert(f.name), "duplicate format {}", f.name);
        }
    }

    #[test]
    fn keys_are_unique_and_well_formed() {
        for (owner, options) in all_option_tables() {
            let mut keys = HashSet::new();
            for o in options {
                assert!(keys.insert(o.key), "{owner}: duplicate key {}", o.key);
                assert_ne!(o.key, "connector", "{owner}: 'connector' is not an option");
                assert!(o.key.matches('#').count() <= 1, "{owner}: {} has more than one '#'", o.key);
                if o.key.contains('#') {
                    assert!(
                        o.key.split('.').any(|segment| segment == "#"),
                        "{owner}: '#' in {} is not a whole segment",
                        o.key
                    );
                }
                if o.key.contains('*') {
                    assert!(
                        o.key.ends_with(".*") && o.key.matches('*').count() == 1,
                        "{owner}: '*' in {} is not a trailing '.*'",
                        o.key
                    );
                }
                assert!(!o.doc.is_empty(), "{owner}: {} has no doc", o.key);
                assert!(!(o.required && o.default.is_some()), "{owner}: required {} has a default", o.key);
            }
        }
    }

    #[test]
    fn defaults_have_their_type() {
        for (owner, options) in all_option_tables() {
            for o in options {
                if let Some(default) = o.default {
                    assert_eq!(check_value(o.ty, default), Ok(()), "{owner}: default of {} is {default:?}", o.key);
                }
            }
        }
    }

    #[test]
    fn one_of_groups_name_known_options() {
        for c in CONNECTORS {
            for group in c.one_of_required {
                assert!(!group.is_empty(), "{}: empty one-of group", c.name);
                for key in *group {
                    assert!(
                        c.options.iter().any(|o| o.key == *key && !o.required),
                        "{}: one-of key {key} is not an optional option",
                        c.name
                    );
                }
            }
        }
    }

    #[test]
    fn format_taking_connectors_can_name_a_format() {
        for c in CONNECTORS {
            let names_format = ["format", "value.format"].iter().any(|key| c.options.iter().any(|o| o.key == *key));
            if c.takes_format {
                assert!(names_format, "{} takes a format but has no format option", c.name);
            }
        }
    }

    #[test]
    fn kafka_requires_bootstrap_servers() {
        let kafka = connector("kafka").unwrap();
        assert_eq!(kafka.role, Role::Both);
        assert!(kafka.takes_format);
        let servers = kafka.options.iter().find(|o| o.key == "properties.bootstrap.servers").unwrap();
        assert!(servers.required);
        assert!(kafka.one_of_required.iter().any(|g| g.contains(&"topic") && g.contains(&"topic-pattern")));
    }

    #[test]
    fn lookups() {
        assert!(connector("kafka").is_some());
        assert!(connector("Kafka").is_none(), "connector names are case-sensitive");
        assert!(connector("jdbc").is_none());
        assert_eq!(connector("blackhole").unwrap().options.len(), 0);
        assert_eq!(connector("print").unwrap().role, Role::Sink);
        assert_eq!(connector("nexmark").unwrap().role, Role::Source);
        assert!(format("json").is_some());
        assert!(format("avro").is_none());
        let json = format("json").unwrap().options;
        assert!(find_option(json, "ignore-parse-errors").is_some());
        assert!(find_option(json, "json.ignore-parse-errors").is_none());
        let upsert = connector("upsert-kafka").unwrap().options;
        for key in ["topic", "key.format", "value.format", "properties.bootstrap.servers"] {
            assert!(find_option(upsert, key).unwrap().required, "{key}");
        }
        assert!(find_option(connector("filesystem").unwrap().options, "path").unwrap().required);
        assert!(find_option(connector("redis").unwrap().options, "url").unwrap().required);
    }
}
