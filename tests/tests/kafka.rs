//! Generated pipelines reading and writing Kafka topics on the loopback broker that
//! `scripts/services.sh up` starts (`DFL_KAFKA_BOOTSTRAP`): files into topics, topics into
//! files with metadata columns, bad records into a dead-letter topic, a windowed pipeline
//! from topic to topic, instances of a pipeline sharing a consumer group through
//! rebalances (two; three with one killed and one joining), and a keyed pipeline refusing
//! to share its group. Reads that check results are bounded (`scan.bounded.mode`), so each run ends
//! by itself once it has read what the topic held when it started; waiting for unbounded
//! instances polls their output until it holds what is expected (with a deadline).
//!
//! Without `DFL_KAFKA_BOOTSTRAP` the tests are skipped, unless `CI` is set: then they fail.

#[path = "support/profiles.rs"]
mod profiles;

#[path = "kafka/partitioned.rs"]
mod partitioned;

use dfl_e2e::{Built, Query, build, output_lines};
use profiles::write_profiles;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Lines of a JSON file (a `line` column) written as raw records to a topic.
const RAW_TO_KAFKA: &str = "
CREATE TABLE src (line STRING) WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE dst (line STRING) WITH (
  'connector' = 'kafka', 'topic' = 'raw', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'raw'
);
INSERT INTO dst SELECT line FROM src;
";

/// Clicks from a JSON file into a topic, keyed by user.
const CLICKS_TO_KAFKA: &str = "
CREATE TABLE src (user_id BIGINT, category STRING, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE dst (user_id BIGINT, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'format' = 'json', 'key.format' = 'json', 'key.fields' = 'user_id'
);
INSERT INTO dst SELECT user_id, category, ts FROM src;
";

/// A topic read to its end into a file, with the partition and offset of each record;
/// records that cannot be read go to a dead-letter topic.
const KAFKA_TO_FILE: &str = "
CREATE TABLE src (
  user_id BIGINT NOT NULL,
  category STRING,
  ts TIMESTAMP(3),
  part INT METADATA FROM 'partition' VIRTUAL,
  off BIGINT METADATA FROM 'offset' VIRTUAL,
  topic_name STRING METADATA FROM 'topic' VIRTUAL
) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
  'format' = 'json', 'scan.errors' = 'dead-letter', 'scan.dead-letter.topic' = 'dlq'
);
CREATE TABLE dst (user_id BIGINT, category STRING, ts TIMESTAMP(3), part INT, off BIGINT, topic_name STRING)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT user_id, category, ts, part, off, topic_name FROM src;
";

/// A topic of raw records read to its end into a file.
const RAW_TO_FILE: &str = "
CREATE TABLE src (line STRING) WITH (
  'connector' = 'kafka', 'topic' = 'raw', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'raw'
);
CREATE TABLE dst (line STRING) WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT line FROM src;
";

/// Clicks per user and 10-second window, from topic to topic (keyed by user).
const WINDOWED: &str = "
CREATE TABLE clicks (
  user_id BIGINT NOT NULL, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE features (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'features', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'format' = 'json', 'key.format' = 'json', 'key.fields' = 'user_id'
);
INSERT INTO features
SELECT user_id, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
";

/// Clicks from one topic to another, in a consumer group, unbounded (two instances share it).
const GROUP_PASSTHROUGH: &str = "
CREATE TABLE src (user_id BIGINT NOT NULL, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'properties.auto.offset.reset' = 'earliest', 'format' = 'json'
);
CREATE TABLE dst (user_id BIGINT, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'json'
);
INSERT INTO dst SELECT user_id, category, ts FROM src;
";

/// A topic of clicks read to its end into a file.
const CLICKS_TO_FILE: &str = "
CREATE TABLE src (user_id BIGINT, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE dst (user_id BIGINT, category STRING, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT user_id, category, ts FROM src;
";

/// Features read back from their topic, with each record's key.
const FEATURES_TO_FILE: &str = "
CREATE TABLE src (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT, part INT METADATA FROM 'partition' VIRTUAL)
WITH (
  'connector' = 'kafka', 'topic' = 'features', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE dst (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT, part INT)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT user_id, window_start, clicks, part FROM src;
";

/// A compacted topic of user profiles read as a table (its changelog), filtered into
/// another upsert topic and printed as changes.
const UPSERT_TO_UPSERT: &str = "
CREATE TABLE profiles (
  user_id BIGINT NOT NULL, name STRING, score DOUBLE, PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'profiles', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE active (user_id BIGINT, name STRING, score DOUBLE, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'active', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json'
);
CREATE TABLE changes (user_id BIGINT, name STRING, score DOUBLE) WITH ('connector' = 'print');
INSERT INTO active SELECT user_id, UPPER(name), score FROM profiles WHERE score >= 10;
INSERT INTO changes SELECT user_id, name, score FROM profiles;
";

/// An upsert topic read back to its end and printed as changes.
const UPSERT_TO_PRINT: &str = "
CREATE TABLE src (user_id BIGINT NOT NULL, name STRING, score DOUBLE, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'active', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE changes (user_id BIGINT, name STRING, score DOUBLE) WITH ('connector' = 'print');
INSERT INTO changes SELECT * FROM src;
";

/// Rows into a topic with their timestamp and a header written as record metadata.
const METADATA_TO_KAFKA: &str = "
CREATE TABLE src (id BIGINT, name STRING, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE dst (
  id BIGINT, name STRING,
  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
  hdrs MAP<STRING, BYTES> METADATA FROM 'headers',
  off BIGINT METADATA FROM 'offset' VIRTUAL
) WITH ('connector' = 'kafka', 'topic' = 'meta', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'json');
INSERT INTO dst SELECT id, name, CAST(ts AS TIMESTAMP_LTZ(3)), MAP['source', CAST(name AS BYTES), 'id', CAST(CAST(id AS STRING) AS BYTES)] FROM src;
";

/// The record timestamp and a header read back.
const KAFKA_METADATA_TO_FILE: &str = "
CREATE TABLE src (
  id BIGINT, name STRING,
  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  ts_type STRING METADATA FROM 'timestamp-type' VIRTUAL,
  hdrs MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL
) WITH (
  'connector' = 'kafka', 'topic' = 'meta', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE dst (id BIGINT, name STRING, ts TIMESTAMP_LTZ(3), ts_type STRING, source STRING)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT id, name, ts, ts_type, CAST(hdrs['source'] AS STRING) FROM src;
";

/// Clicks from files into per-user window counts, written to an upsert topic (keyed by user
/// and window) and appended to a plain topic; checkpointed (the kill test).
/// Clicks from a topic (read to its end) into per-user 10-second counts in a folder of
/// files; checkpointed (the kill test of a Kafka source).
const KAFKA_WINDOWS_TO_FILES: &str = "
CREATE TABLE clicks (user_id BIGINT NOT NULL, category STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE counts (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'counts/', 'format' = 'json');
INSERT INTO counts
SELECT user_id, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
";

const CHECKPOINTED: &str = "
CREATE TABLE clicks (user_id BIGINT, category STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
CREATE TABLE counts (user_id BIGINT NOT NULL, window_start TIMESTAMP(3) NOT NULL, clicks BIGINT,
  PRIMARY KEY (user_id, window_start) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'counts', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json'
);
CREATE TABLE counts_log (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'counts_log', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'json'
);
CREATE VIEW windowed AS
SELECT user_id, window_start, COUNT(*) AS clicks
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
CREATE TABLE totals (user_id BIGINT NOT NULL, clicks BIGINT, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'totals', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json'
);
INSERT INTO counts SELECT user_id, window_start, clicks FROM windowed;
INSERT INTO counts_log SELECT user_id, window_start, clicks FROM windowed;
INSERT INTO totals SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;
";

/// Per-user totals read back from their upsert topic and printed as changes.
const TOTALS_TO_PRINT: &str = "
CREATE TABLE src (user_id BIGINT NOT NULL, clicks BIGINT, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'totals', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE changes (user_id BIGINT, clicks BIGINT) WITH ('connector' = 'print');
INSERT INTO changes SELECT * FROM src;
";

/// An upsert topic of counts read back to its end and printed as changes.
const COUNTS_TO_PRINT: &str = "
CREATE TABLE src (user_id BIGINT NOT NULL, window_start TIMESTAMP(3) NOT NULL, clicks BIGINT,
  PRIMARY KEY (user_id, window_start) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'counts', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE changes (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT) WITH ('connector' = 'print');
INSERT INTO changes SELECT * FROM src;
";

/// A topic of counts read to its end into a file.
const COUNTS_LOG_TO_FILE: &str = "
CREATE TABLE src (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'counts_log', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE dst (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT * FROM src;
";

/// Clicks (a topic) joined with the profiles of their users (an upsert topic read as a
/// changelog): two Kafka sources in one task; the join's result updates as profiles do.
const CLICKS_JOIN_PROFILES: &str = "
CREATE TABLE clicks (user_id BIGINT, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE profiles (
  user_id BIGINT NOT NULL, name STRING, score DOUBLE, PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'profiles', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE joined (user_id BIGINT, category STRING, name STRING) WITH ('connector' = 'print');
INSERT INTO joined SELECT c.user_id, c.category, p.name FROM clicks AS c JOIN profiles AS p ON c.user_id = p.user_id;
";

/// Rates written to an upsert topic (every row an upsert of its currency).
const RATES_TO_UPSERT: &str = "
CREATE TABLE src (currency STRING, rate DOUBLE, valid_from TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'rates.json', 'format' = 'json');
CREATE TABLE dst (currency STRING NOT NULL, rate DOUBLE, valid_from TIMESTAMP(3), PRIMARY KEY (currency) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'rates', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json'
);
INSERT INTO dst SELECT * FROM src;
";

/// Orders written to a topic.
const ORDERS_TO_KAFKA: &str = "
CREATE TABLE src (id BIGINT, currency STRING, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'orders.json', 'format' = 'json');
CREATE TABLE dst (id BIGINT, currency STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'json'
);
INSERT INTO dst SELECT * FROM src;
";

/// Each order with the rate of its currency valid at the order's time: an event-time
/// temporal join against the upsert topic read as a versioned table.
const ORDERS_AS_OF_RATES: &str = "
CREATE TABLE orders (id BIGINT, currency STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
  'connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE rates (
  currency STRING NOT NULL, rate DOUBLE, valid_from TIMESTAMP(3),
  WATERMARK FOR valid_from AS valid_from - INTERVAL '1' SECOND, PRIMARY KEY (currency) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'rates', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset'
);
CREATE TABLE priced (id BIGINT, rate DOUBLE) WITH ('connector' = 'print');
INSERT INTO priced
SELECT o.id, r.rate FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.currency = r.currency;
";

/// Clicks counted per user, in a consumer group, unbounded: keyed state, which processes
/// do not share.
const GROUP_COUNTS: &str = "
CREATE TABLE src (user_id BIGINT NOT NULL, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'properties.auto.offset.reset' = 'earliest', 'format' = 'json'
);
CREATE TABLE counts (user_id BIGINT, clicks BIGINT) WITH ('connector' = 'print');
INSERT INTO counts SELECT user_id, COUNT(*) FROM src GROUP BY user_id;
";

/// Clicks per user and 10-second window, in a consumer group, unbounded, with the
/// windows' state kept per partition: processes of the pipeline share the group.
const PARTITIONED_WINDOWS: &str = "
SET 'scale-out.mode' = 'partition';
SET 'execution.checkpointing.interval' = '200 ms';
CREATE TABLE clicks (
  user_id BIGINT NOT NULL, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'properties.auto.offset.reset' = 'earliest',
  'format' = 'json', 'key.format' = 'json', 'key.fields' = 'user_id'
);
CREATE TABLE features (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'features', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'format' = 'json', 'key.format' = 'json', 'key.fields' = 'user_id'
);
INSERT INTO features
SELECT user_id, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
";

/// The clicks' users with the most clicks in each 10-second window, each with its count
/// times 1000 plus the number of users who clicked in the window (Nexmark q5's shape),
/// with the state kept per partition: the task runs in two stages, the counts per user per
/// partition of the clicks, the rest per partition of the stage topic. A count per user
/// that reached the second stage twice would count its user twice.
const PARTITIONED_TOP_USERS: &str = "
SET 'scale-out.mode' = 'partition';
SET 'execution.checkpointing.interval' = '200 ms';
CREATE TABLE clicks (
  user_id BIGINT NOT NULL, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'properties.auto.offset.reset' = 'earliest',
  'format' = 'json', 'key.format' = 'json', 'key.fields' = 'user_id'
);
CREATE TABLE features (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'features', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'format' = 'json', 'key.format' = 'json', 'key.fields' = 'user_id'
);
INSERT INTO features
SELECT c.user_id, c.window_start, c.n * 1000 + m.users
FROM (
  SELECT user_id, window_start, window_end, COUNT(*) AS n
  FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY user_id, window_start, window_end
) AS c
JOIN (
  SELECT window_start, window_end, MAX(n) AS maxn, COUNT(*) AS users
  FROM (
    SELECT user_id, window_start, window_end, COUNT(*) AS n
    FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    GROUP BY user_id, window_start, window_end
  )
  GROUP BY window_start, window_end
) AS m
ON c.window_start = m.window_start AND c.window_end = m.window_end AND c.n >= m.maxn;
";

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let rocks = format!("SET 'state.backend' = 'rocksdb';\n{PARTITIONED_WINDOWS}");
        let top_rocks = format!("SET 'state.backend' = 'rocksdb';\n{PARTITIONED_TOP_USERS}");
        // The clicks topic not keyed by the user: repartitioned by it.
        let repartitioned = PARTITIONED_WINDOWS.replace(
            ",\n  'format' = 'json', 'key.format' = 'json', 'key.fields' = 'user_id'\n);\nCREATE TABLE features",
            ",\n  'format' = 'json'\n);\nCREATE TABLE features",
        );
        assert_ne!(repartitioned, PARTITIONED_WINDOWS);
        let queries = [
            ("raw_to_kafka", RAW_TO_KAFKA),
            ("clicks_to_kafka", CLICKS_TO_KAFKA),
            ("kafka_to_file", KAFKA_TO_FILE),
            ("raw_to_file", RAW_TO_FILE),
            ("windowed", WINDOWED),
            ("features_to_file", FEATURES_TO_FILE),
            ("group_passthrough", GROUP_PASSTHROUGH),
            ("group_counts", GROUP_COUNTS),
            ("partitioned_windows", PARTITIONED_WINDOWS),
            ("partitioned_windows_rocksdb", rocks.as_str()),
            ("repartitioned_windows", repartitioned.as_str()),
            ("partitioned_top_users", PARTITIONED_TOP_USERS),
            ("partitioned_top_users_rocksdb", top_rocks.as_str()),
            ("clicks_to_file", CLICKS_TO_FILE),
            ("upsert_to_upsert", UPSERT_TO_UPSERT),
            ("upsert_to_print", UPSERT_TO_PRINT),
            ("metadata_to_kafka", METADATA_TO_KAFKA),
            ("kafka_metadata_to_file", KAFKA_METADATA_TO_FILE),
            ("checkpointed", CHECKPOINTED),
            ("kafka_windows_to_files", KAFKA_WINDOWS_TO_FILES),
            ("counts_to_print", COUNTS_TO_PRINT),
            ("totals_to_print", TOTALS_TO_PRINT),
            ("counts_log_to_file", COUNTS_LOG_TO_FILE),
            ("clicks_join_profiles", CLICKS_JOIN_PROFILES),
            ("rates_to_upsert", RATES_TO_UPSERT),
            ("orders_to_kafka", ORDERS_TO_KAFKA),
            ("orders_as_of_rates", ORDERS_AS_OF_RATES),
            // The examples compile too.
            ("example_produce_clicks", include_str!("../../examples/kafka/produce_clicks.sql")),
            ("example_click_features", include_str!("../../examples/kafka/click_features.sql")),
            ("example_latest_profiles", include_str!("../../examples/kafka/latest_profiles.sql")),
        ]
        .into_iter()
        .map(|(name, text)| Query {
            name: name.to_string(),
            file: format!("tests/tests/kafka.rs ({name})"),
            text: text.to_string(),
            must_compile: true,
        })
        .collect();
        build("kafka", queries, |_, _| {})
    })
}

/// The broker, or `None` to skip (only outside CI).
fn bootstrap() -> Option<String> {
    dfl_e2e::service("DFL_KAFKA_BOOTSTRAP")
}

/// A topic name no other run uses, created with `partitions`.
fn topic(servers: &str, base: &str, partitions: i32) -> String {
    let name = dfl_e2e::unique(base);
    dfl::connectors::kafka::create_topic(servers, &name, partitions).expect("create the topic");
    name
}

/// Runs `module` with `--set` pairs; panics with its stderr when it fails.
fn run(module: &str, sets: &[(String, String)]) -> String {
    let r = built().run(module, sets);
    assert!(r.success, "{module} failed: {}", r.stderr);
    r.stderr
}

fn s(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn objects(path: &Path) -> Vec<serde_json::Map<String, Value>> {
    output_lines(path)
        .iter()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => m,
            other => panic!("not a JSON object: {l} ({other:?})"),
        })
        .collect()
}

fn click(i: i64) -> Value {
    serde_json::json!({"user_id": i % 37, "category": format!("c{}", i % 5), "ts": format!("2024-01-01 00:{:02}:{:02}", i / 60 % 60, i % 60)})
}

#[test]
fn records_pass_through_topics_with_metadata_and_bad_ones_go_to_the_dead_letter_topic() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (raw, dlq) = (topic(&servers, "raw", 3), topic(&servers, "dlq", 1));
    // 300 good records and three bad ones: not JSON, no user_id (NOT NULL), a user_id
    // that is not a number.
    let mut lines: Vec<String> = (0..300).map(|i| click(i).to_string()).collect();
    let bad = ["this is not json", r#"{"category": "c1", "ts": "2024-01-01 00:00:01"}"#, r#"{"user_id": "abc"}"#];
    lines.insert(100, bad[0].to_string());
    lines.insert(200, bad[1].to_string());
    lines.push(bad[2].to_string());
    let input: String = lines.iter().map(|l| serde_json::json!({ "line": l }).to_string() + "\n").collect();
    std::fs::write(tmp.path().join("in.json"), input).unwrap();
    let broker = |t: &str| s(&format!("{t}.properties.bootstrap.servers"), &servers);
    run("raw_to_kafka", &[s("src.path", tmp.path().join("in.json").display()), s("dst.topic", &raw), broker("dst")]);

    let out = tmp.path().join("out.json");
    let stderr = run(
        "kafka_to_file",
        &[s("src.topic", &raw), s("src.scan.dead-letter.topic", &dlq), broker("src"), s("dst.path", out.display())],
    );
    let rows = objects(&out);
    let got: BTreeSet<String> = rows
        .iter()
        .map(|m| serde_json::json!({"user_id": m["user_id"], "category": m["category"], "ts": m["ts"]}).to_string())
        .collect();
    let expected: BTreeSet<String> = (0..300).map(|i| click(i).to_string()).collect();
    assert_eq!(rows.len(), 300, "every good record once");
    assert_eq!(got, expected);
    // Each record's partition and offset, distinct; the topic's name.
    let positions: BTreeSet<(i64, i64)> =
        rows.iter().map(|m| (m["part"].as_i64().unwrap(), m["off"].as_i64().unwrap())).collect();
    assert_eq!(positions.len(), 300);
    assert!(rows.iter().all(|m| m["topic_name"] == raw.as_str()));
    assert!(stderr.contains("3 skipped"), "the summary counts the bad records: {stderr}");

    // The dead letters: the three bad records, with the reason and where they were.
    let dead = tmp.path().join("dead.json");
    run("raw_to_file", &[s("src.topic", &dlq), broker("src"), s("dst.path", dead.display())]);
    let letters: Vec<serde_json::Map<String, Value>> = objects(&dead)
        .into_iter()
        .map(|m| match serde_json::from_str(m["line"].as_str().unwrap()) {
            Ok(Value::Object(letter)) => letter,
            other => panic!("a dead letter is a JSON object: {m:?} ({other:?})"),
        })
        .collect();
    let values: BTreeSet<&str> = letters.iter().map(|l| l["value"].as_str().unwrap()).collect();
    assert_eq!(values, bad.into_iter().collect::<BTreeSet<_>>());
    for l in &letters {
        assert_eq!(l["topic"], raw.as_str());
        assert_eq!(l["table"], "src");
        assert!(l["partition"].is_i64() && l["offset"].is_i64(), "{l:?}");
        assert!(!l["reason"].as_str().unwrap().is_empty(), "{l:?}");
        let at = (l["partition"].as_i64().unwrap(), l["offset"].as_i64().unwrap());
        assert!(!positions.contains(&at), "a dead letter's position is not a good record's: {l:?}");
    }
    let missing = letters.iter().find(|l| l["value"] == bad[1]).unwrap();
    assert!(missing["reason"].as_str().unwrap().contains("user_id"), "{missing:?}");
}

#[test]
fn a_windowed_pipeline_runs_from_topic_to_topic() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (clicks, features) = (topic(&servers, "clicks", 2), topic(&servers, "features", 2));
    let input: String = (0..500).map(|i| click(i).to_string() + "\n").collect();
    std::fs::write(tmp.path().join("in.json"), input).unwrap();
    let broker = |t: &str| s(&format!("{t}.properties.bootstrap.servers"), &servers);
    run(
        "clicks_to_kafka",
        &[s("src.path", tmp.path().join("in.json").display()), s("dst.topic", &clicks), broker("dst")],
    );
    run(
        "windowed",
        &[s("clicks.topic", &clicks), broker("clicks"), s("features.topic", &features), broker("features")],
    );
    let out = tmp.path().join("out.json");
    run("features_to_file", &[s("src.topic", &features), broker("src"), s("dst.path", out.display())]);

    // Clicks per user and 10-second window, recomputed; the clicks are in time order, so
    // none is late.
    let mut expected: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for i in 0..500i64 {
        let second = i % 3600;
        let start = format!("2024-01-01 00:{:02}:{:02}", second / 60, second % 60 / 10 * 10);
        *expected.entry((i % 37, start)).or_default() += 1;
    }
    let rows = objects(&out);
    let mut got: BTreeMap<(i64, String), i64> = BTreeMap::new();
    let mut partition_of: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for m in &rows {
        let user = m["user_id"].as_i64().unwrap();
        let start = m["window_start"].as_str().unwrap().trim_end_matches(".000").to_string();
        assert!(got.insert((user, start), m["clicks"].as_i64().unwrap()).is_none(), "each window once: {m:?}");
        partition_of.entry(user).or_default().insert(m["part"].as_i64().unwrap());
    }
    assert_eq!(got, expected);
    // Keyed by user: all of a user's features are in one partition.
    assert!(partition_of.values().all(|p| p.len() == 1), "{partition_of:?}");
    assert!(partition_of.values().flatten().collect::<BTreeSet<_>>().len() == 2, "both partitions are used");
}

/// The clicks a topic holds now (read to its end by a bounded pipeline).
fn clicks_in(servers: &str, topic: &str, dir: &Path) -> Vec<String> {
    let out = dir.join(format!("read-{topic}.json"));
    let _ = std::fs::remove_file(&out);
    run(
        "clicks_to_file",
        &[s("src.topic", topic), s("src.properties.bootstrap.servers", servers), s("dst.path", out.display())],
    );
    objects(&out)
        .into_iter()
        .map(|m| serde_json::json!({"user_id": m["user_id"], "category": m["category"], "ts": m["ts"]}).to_string())
        .collect()
}

/// Writes clicks `range` into `topic` (keyed by user, so spread over its partitions).
fn write_clicks(servers: &str, topic: &str, range: std::ops::Range<i64>, dir: &Path) {
    write_clicks_with(servers, topic, range, dir, &[]);
}

/// [`write_clicks`] with more `--set`s for the writing pipeline.
fn write_clicks_with(servers: &str, topic: &str, range: std::ops::Range<i64>, dir: &Path, more: &[(String, String)]) {
    let file = dir.join(format!("in-{}.json", range.start));
    std::fs::write(&file, range.map(|i| click(i).to_string() + "\n").collect::<String>()).unwrap();
    let mut sets =
        vec![s("src.path", file.display()), s("dst.topic", topic), s("dst.properties.bootstrap.servers", servers)];
    sets.extend_from_slice(more);
    run("clicks_to_kafka", &sets);
}

/// Stops a pipeline with SIGTERM and returns its stderr once it has exited successfully.
fn stop(child: Child) -> String {
    let status = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "exit status after SIGTERM: {:?}; stderr:\n{stderr}", out.status);
    stderr
}

/// Stops a running pipeline with SIGTERM; it must exit successfully.
fn terminate(r: dfl_e2e::Running) {
    r.signal("TERM");
    let (status, stderr) = r.wait();
    assert!(status.success(), "exit status after SIGTERM: {status:?}; stderr:\n{stderr}");
}

/// Rows read, from a pipeline's summary line ("… N rows read, …").
fn rows_read(stderr: &str) -> u64 {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.split_once(" rows read").and_then(|(head, _)| head.rsplit(' ').next()?.parse().ok()))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"))
}

#[test]
fn two_instances_in_one_group_share_the_partitions_and_lose_nothing() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clicks = topic(&servers, "group-in", 4);
    let (out_a, out_b) = (topic(&servers, "group-out-a", 1), topic(&servers, "group-out-b", 1));
    let group = format!("dflc-test-{}", clicks);
    let start = |out: &str| -> Child {
        built()
            .command(
                "group_passthrough",
                &[
                    s("src.topic", &clicks),
                    s("src.properties.bootstrap.servers", &servers),
                    s("src.properties.group.id", &group),
                    s("dst.topic", out),
                    s("dst.properties.bootstrap.servers", &servers),
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    write_clicks(&servers, &clicks, 0..1000, tmp.path());
    let a = start(&out_a);
    // Instance A alone: it reads the first thousand.
    let deadline = Instant::now() + Duration::from_secs(120);
    while clicks_in(&servers, &out_a, tmp.path()).len() < 1000 {
        assert!(Instant::now() < deadline, "instance A did not pass the first records on");
    }
    // Instance B joins: the group rebalances the four partitions over both. Write more
    // clicks until B has written some (it has partitions and reads them).
    let b = start(&out_b);
    let mut next = 1000;
    while clicks_in(&servers, &out_b, tmp.path()).is_empty() {
        assert!(Instant::now() < deadline, "instance B never got partitions");
        write_clicks(&servers, &clicks, next..next + 200, tmp.path());
        next += 200;
    }
    write_clicks(&servers, &clicks, next..next + 1000, tmp.path());
    next += 1000;
    // Every click reaches one of the outputs (at least once: a rebalance may repeat a few).
    let expected: BTreeSet<String> = (0..next).map(|i| click(i).to_string()).collect();
    let seen = |tmp: &Path| -> BTreeSet<String> {
        clicks_in(&servers, &out_a, tmp).into_iter().chain(clicks_in(&servers, &out_b, tmp)).collect()
    };
    let mut got = seen(tmp.path());
    while !expected.is_subset(&got) {
        assert!(Instant::now() < deadline, "{} clicks missing", expected.difference(&got).count());
        got = seen(tmp.path());
    }
    assert_eq!(got, expected, "nothing but the clicks written");
    let (a_err, b_err) = (stop(a), stop(b));
    assert!(rows_read(&a_err) > 0 && rows_read(&b_err) > 0, "both instances read:\n{a_err}\n{b_err}");
    assert!(rows_read(&a_err) + rows_read(&b_err) >= next as u64);
}

/// Three processes of a stateless pipeline share one consumer group; one is killed
/// (SIGKILL) mid-run and a fourth joins: every click reaches the output topic, and nothing
/// else — the output of one process, as a set (what the killed process had read but not
/// committed is read again by the process that takes its partitions: at least once).
#[test]
fn three_processes_share_a_group_through_a_kill_and_a_join() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clicks = topic(&servers, "three-in", 6);
    let out = topic(&servers, "three-out", 1);
    let group = format!("dflc-test-{clicks}");
    let start = || {
        let mut command = built().command(
            "group_passthrough",
            &[
                s("src.topic", &clicks),
                s("src.properties.bootstrap.servers", &servers),
                s("src.properties.group.id", &group),
                s("dst.topic", &out),
                s("dst.properties.bootstrap.servers", &servers),
            ],
        );
        command.args(["--metrics-addr", "127.0.0.1:0"]);
        let running = dfl_e2e::Running::spawn(command);
        let addr = running.metrics_addr(Duration::from_secs(60));
        (running, addr)
    };
    let read = |addr: &str| dfl_e2e::metric(&dfl_e2e::http_get(addr, "/metrics").1, "dfl_source_records_total", &[]);
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut next = 0;
    let mut write = |n: i64| {
        write_clicks(&servers, &clicks, next..next + n, tmp.path());
        next += n;
        next
    };
    let ((a, a_addr), (b, b_addr), (c, c_addr)) = (start(), start(), start());
    // Clicks come until each of the three has read some: the group spread the six
    // partitions over them.
    while [&a_addr, &b_addr, &c_addr].iter().any(|addr| read(addr) == 0.0) {
        assert!(Instant::now() < deadline, "the group did not spread its partitions over three processes");
        write(60);
    }
    let written = write(300);
    while clicks_in(&servers, &out, tmp.path()).len() < written as usize {
        assert!(Instant::now() < deadline, "the first clicks did not get through");
    }
    // B dies without committing; D joins; more clicks come meanwhile.
    write(300);
    let b_err = b.kill();
    let (d, _) = start();
    let written = write(600);
    let expected: BTreeSet<String> = (0..written).map(|i| click(i).to_string()).collect();
    let mut got: BTreeSet<String> = clicks_in(&servers, &out, tmp.path()).into_iter().collect();
    while !expected.is_subset(&got) {
        assert!(Instant::now() < deadline, "{} clicks missing (B: {b_err})", expected.difference(&got).count());
        got = clicks_in(&servers, &out, tmp.path()).into_iter().collect();
    }
    assert_eq!(got, expected, "nothing but the clicks written");
    [a, c, d].into_iter().for_each(terminate);
}

/// A pipeline keeping keyed state does not go on with a share of its group's partitions:
/// a second process in the same group makes the processes fail, naming the group, instead
/// of each counting some of the clicks.
#[test]
fn a_keyed_pipeline_refuses_to_share_its_consumer_group() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clicks = topic(&servers, "keyed-group-in", 4);
    let group = format!("dflc-test-{clicks}");
    let command = || {
        built().command(
            "group_counts",
            &[
                s("src.topic", &clicks),
                s("src.properties.bootstrap.servers", &servers),
                s("src.properties.group.id", &group),
            ],
        )
    };
    write_clicks(&servers, &clicks, 0..100, tmp.path());
    let start = || {
        let mut c = command();
        c.args(["--metrics-addr", "127.0.0.1:0"]);
        let running = dfl_e2e::Running::spawn(c);
        let addr = running.metrics_addr(Duration::from_secs(60));
        (running, addr)
    };
    let read = |addr: &str| dfl_e2e::metric(&dfl_e2e::http_get(addr, "/metrics").1, "dfl_source_records_total", &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    // A alone has every partition and reads.
    let (a, a_addr) = start();
    while read(&a_addr) == 0.0 {
        assert!(Instant::now() < deadline, "A did not read");
    }
    // B joins the group: the rebalance gives one of them (or both) a share, and a process
    // with a share fails, naming the group. One left alone has every partition again and
    // goes on (from the start of the topic: keyed tasks without checkpoints commit nothing).
    let (b, _) = start();
    let mut running = vec![("A", a), ("B", b)];
    let mut failed = Vec::new();
    while failed.is_empty() {
        assert!(Instant::now() < deadline, "neither A nor B failed: both ran with a share of the partitions");
        for i in 0..running.len() {
            if let Some(status) = running[i].1.wait_timeout(Duration::from_millis(50)) {
                let (name, r) = running.remove(i);
                failed.push((name, r.finish(status)));
                break;
            }
        }
    }
    for (name, (status, stderr)) in &failed {
        assert!(!status.success(), "{name} ended by itself:\n{stderr}");
        assert!(stderr.contains(&format!("consumer group '{group}' gave this process")), "{name}: {stderr}");
        assert!(stderr.contains("another process reads in the same group"), "{name}: {stderr}");
    }
    for (name, r) in running {
        // It may be failing at this moment too: the stop is asked without insisting.
        let _ = std::process::Command::new("kill").arg("-TERM").arg(r.pid().to_string()).status();
        let (status, stderr) = r.wait();
        assert!(
            status.success() || stderr.contains("another process reads in the same group"),
            "{name} (still running) must own every partition or fail as well:\n{stderr}"
        );
    }
}

/// A printed change: `+I[1, alice, 5.0]` → ("+I", (1, "alice", 5.0)).
fn parse_change(line: &str) -> (String, (i64, String, f64)) {
    let (kind, rest) = line.split_at(2);
    let fields: Vec<&str> = rest.trim_start_matches('[').trim_end_matches(']').split(", ").collect();
    let [id, name, score] = fields[..] else { panic!("not a profile change: {line}") };
    (kind.to_string(), (id.parse().unwrap(), name.to_string(), score.parse().unwrap()))
}

/// Applies printed changes to a table by user id, checking that each is consistent with
/// it (an insert of a new key, a retraction of the row held).
fn apply_changes(stdout: &str) -> BTreeMap<i64, (String, f64)> {
    let mut table = BTreeMap::new();
    let mut before: Option<i64> = None;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let (kind, (id, name, score)) = parse_change(line);
        match kind.as_str() {
            "+I" => assert!(table.insert(id, (name, score)).is_none(), "insert of a key that has a row: {line}"),
            "-U" => {
                assert_eq!(table.remove(&id), Some((name, score)), "update-before is not the row held: {line}");
                before = Some(id);
            }
            "+U" => {
                assert_eq!(before.take(), Some(id), "update-after without its update-before: {line}");
                table.insert(id, (name, score));
            }
            "-D" => assert_eq!(table.remove(&id), Some((name, score)), "delete of a row not held: {line}"),
            other => panic!("unknown change kind {other}: {line}"),
        }
    }
    table
}

#[test]
fn an_upsert_topic_is_read_as_a_table_whose_changes_reach_upsert_and_print_sinks() {
    let Some(servers) = bootstrap() else { return };
    let (profiles, active) = (topic(&servers, "profiles", 2), topic(&servers, "active", 2));
    // Hand-picked changes first (an update crossing the filter both ways, a deletion, a
    // deletion of a key never written, a repeated row), then seeded random ones.
    let named = |n: &str, s: f64| Some((n.to_string(), s));
    let mut ops: Vec<(i64, Option<(String, f64)>)> = vec![
        (1, named("alice", 5.0)),
        (2, named("bob", 20.0)),
        (3, named("carol", 30.0)),
        (1, named("alice", 15.0)),
        (2, named("bob", 8.0)),
        (3, None),
        (4, None),
        (5, named("eve", 50.0)),
        (5, named("eve", 50.0)),
    ];
    let mut seed = 42u64;
    for _ in 0..400 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let key = 10 + (seed >> 33) as i64 % 30;
        let op = (!(seed >> 20).is_multiple_of(5)).then(|| (format!("user{}", seed >> 50), ((seed >> 40) % 20) as f64));
        ops.push((key, op));
    }
    let mut latest: BTreeMap<i64, (String, f64)> = BTreeMap::new();
    for (key, op) in &ops {
        match op {
            Some(row) => latest.insert(*key, row.clone()),
            None => latest.remove(key),
        };
    }
    write_profiles(&servers, &profiles, &ops);
    let broker = |t: &str| s(&format!("{t}.properties.bootstrap.servers"), &servers);
    let r = built().run(
        "upsert_to_upsert",
        &[s("profiles.topic", &profiles), broker("profiles"), s("active.topic", &active), broker("active")],
    );
    assert!(r.success, "{}", r.stderr);
    // The changelog of the profiles table, applied, is its latest state.
    assert_eq!(apply_changes(&r.stdout), latest);
    // Key by key, in the order written (one key is in one partition).
    let of_key = |id: i64| -> Vec<String> {
        r.stdout
            .lines()
            .filter(|l| l.starts_with(['+', '-']) && parse_change(l).1.0 == id)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(of_key(1), ["+I[1, alice, 5.0]", "-U[1, alice, 5.0]", "+U[1, alice, 15.0]"]);
    assert_eq!(of_key(2), ["+I[2, bob, 20.0]", "-U[2, bob, 20.0]", "+U[2, bob, 8.0]"]);
    assert_eq!(of_key(3), ["+I[3, carol, 30.0]", "-D[3, carol, 30.0]"]);
    assert!(of_key(4).is_empty());
    assert_eq!(of_key(5), ["+I[5, eve, 50.0]"], "a repeated row changes nothing");

    // The filtered upsert topic, read back as a table: the active profiles, upper-cased;
    // users that dropped below the filter or were deleted are gone (tombstones).
    let back = built().run("upsert_to_print", &[s("src.topic", &active), broker("src")]);
    assert!(back.success, "{}", back.stderr);
    let expected: BTreeMap<i64, (String, f64)> = latest
        .iter()
        .filter(|(_, (_, score))| *score >= 10.0)
        .map(|(k, (name, score))| (*k, (name.to_uppercase(), *score)))
        .collect();
    assert!(expected.contains_key(&1) && !expected.contains_key(&2) && !expected.contains_key(&3));
    assert_eq!(apply_changes(&back.stdout), expected);
}

#[test]
fn a_topic_joined_with_an_upsert_topic_follows_the_profiles_changes() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (clicks, profiles) = (topic(&servers, "clicks", 3), topic(&servers, "profiles", 2));
    write_clicks(&servers, &clicks, 0..600, tmp.path());
    // Users 0 … 36 click; profiles for some, renamed, deleted (and one never clicking).
    let (ops, latest) = profiles::changing_profiles();
    write_profiles(&servers, &profiles, &ops);
    let broker = |t: &str| s(&format!("{t}.properties.bootstrap.servers"), &servers);
    let r = built().run(
        "clicks_join_profiles",
        &[s("clicks.topic", &clicks), broker("clicks"), s("profiles.topic", &profiles), broker("profiles")],
    );
    assert!(r.success, "{}", r.stderr);
    // Applied, the changes leave every click with the latest profile of its user (clicks
    // of users without one, or deleted, join nothing), whichever source was read first.
    let mut table: BTreeMap<String, i64> = BTreeMap::new();
    for line in r.stdout.lines().filter(|l| l.starts_with(['+', '-'])) {
        let (kind, row) = line.split_at(2);
        let n = table.entry(row.to_string()).or_default();
        *n += if kind.starts_with('+') { 1 } else { -1 };
        assert!(*n >= 0, "retraction of a row not there: {line}");
    }
    table.retain(|_, n| *n > 0);
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for i in 0..600 {
        let user = i % 37;
        if let Some(name) = latest.get(&user) {
            *expected.entry(format!("[{user}, c{}, {name}]", i % 5)).or_default() += 1;
        }
    }
    assert!(expected.len() > 50, "{} joined rows", expected.len());
    assert_eq!(table, expected);
}

#[test]
fn orders_join_the_rate_valid_at_their_time_from_an_upsert_topic() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (orders, rates) = (topic(&servers, "orders", 1), topic(&servers, "rates", 1));
    let (orders_file, rates_file) = (tmp.path().join("orders.json"), tmp.path().join("rates.json"));
    let at = |hm: &str| format!("2024-01-01 {hm}:00");
    let rate_rows = [("EUR", 1.1, "10:00"), ("GBP", 1.3, "10:00"), ("EUR", 1.2, "10:30"), ("EUR", 1.15, "11:00")];
    let order_rows = [
        (1, "EUR", "09:50"),
        (2, "EUR", "10:15"),
        (4, "EUR", "10:30"),
        (3, "GBP", "10:45"),
        (5, "EUR", "11:30"),
        (6, "USD", "11:40"),
    ];
    let lines = |rows: Vec<Value>| rows.iter().map(|r| r.to_string() + "\n").collect::<String>();
    std::fs::write(
        &rates_file,
        lines(
            rate_rows
                .iter()
                .map(|(c, r, t)| serde_json::json!({"currency": c, "rate": r, "valid_from": at(t)}))
                .collect(),
        ),
    )
    .unwrap();
    std::fs::write(
        &orders_file,
        lines(order_rows.iter().map(|(i, c, t)| serde_json::json!({"id": i, "currency": c, "ts": at(t)})).collect()),
    )
    .unwrap();
    let broker = |t: &str| s(&format!("{t}.properties.bootstrap.servers"), &servers);
    run("rates_to_upsert", &[s("src.path", rates_file.display()), s("dst.topic", &rates), broker("dst")]);
    run("orders_to_kafka", &[s("src.path", orders_file.display()), s("dst.topic", &orders), broker("dst")]);
    let r = built().run(
        "orders_as_of_rates",
        &[s("orders.topic", &orders), broker("orders"), s("rates.topic", &rates), broker("rates")],
    );
    assert!(r.success, "{}", r.stderr);
    let mut priced: Vec<String> = r.stdout.lines().filter(|l| l.starts_with('+')).map(str::to_string).collect();
    priced.sort();
    // The version of each order's currency valid at its time (the one of 10:30 for the
    // order at 10:30), NULL before the first and for a currency without rates.
    assert_eq!(
        priced,
        ["+I[1, null]", "+I[2, 1.1]", "+I[3, 1.3]", "+I[4, 1.2]", "+I[5, 1.15]", "+I[6, null]"],
        "{}",
        r.stdout
    );
}

#[test]
fn sinks_write_the_record_timestamp_and_headers_from_metadata_columns() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let meta = topic(&servers, "meta", 2);
    let rows: Vec<Value> = (0..50)
        .map(|i| serde_json::json!({"id": i, "name": format!("n{i}"), "ts": format!("2024-03-0{} 10:00:{:02}.{:03}", 1 + i % 3, i, i * 7)}))
        .collect();
    let input: String = rows.iter().map(|r| r.to_string() + "\n").collect();
    std::fs::write(tmp.path().join("in.json"), input).unwrap();
    let broker = |t: &str| s(&format!("{t}.properties.bootstrap.servers"), &servers);
    run(
        "metadata_to_kafka",
        &[s("src.path", tmp.path().join("in.json").display()), s("dst.topic", &meta), broker("dst")],
    );

    // Read back: each record's timestamp is the row's ts, its header 'source' the name.
    let out = tmp.path().join("out.json");
    run("kafka_metadata_to_file", &[s("src.topic", &meta), broker("src"), s("dst.path", out.display())]);
    let got: BTreeMap<i64, (i64, String, String)> = objects(&out)
        .iter()
        .map(|m| {
            let ts = dfl_e2e::millis(m["ts"].as_str().unwrap().trim_end_matches('Z'));
            (
                m["id"].as_i64().unwrap(),
                (ts, m["name"].as_str().unwrap().to_string(), m["source"].as_str().unwrap().to_string()),
            )
        })
        .collect();
    let expected: BTreeMap<i64, (i64, String, String)> = rows
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap().to_string();
            (r["id"].as_i64().unwrap(), (dfl_e2e::millis(r["ts"].as_str().unwrap()), name.clone(), name))
        })
        .collect();
    assert_eq!(got, expected);
    assert!(objects(&out).iter().all(|m| m["ts_type"] == "CreateTime"), "producer timestamps are create times");

    // The value holds the physical columns only: the metadata is in the record.
    let raw = tmp.path().join("raw.json");
    run("raw_to_file", &[s("src.topic", &meta), broker("src"), s("dst.path", raw.display())]);
    let values = objects(&raw);
    assert_eq!(values.len(), 50);
    for v in values {
        let value: serde_json::Map<String, Value> = serde_json::from_str(v["line"].as_str().unwrap()).unwrap();
        assert_eq!(value.keys().map(String::as_str).collect::<Vec<_>>(), ["id", "name"], "{value:?}");
    }
}

#[test]
fn killed_and_restarted_from_checkpoints_upsert_output_is_exact_and_the_kafka_sink_loses_nothing() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (counts, log, totals) =
        (topic(&servers, "counts", 2), topic(&servers, "counts-log", 2), topic(&servers, "totals", 2));
    // 60,000 clicks over 37 users, one per 10 ms of event time, in 4 files.
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let mut expected: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for f in 0..4 {
        let mut text = String::new();
        for i in f * 15_000..(f + 1) * 15_000 {
            let (user, ms) = (i % 37, i * 10);
            text.push_str(&format!(
                "{{\"user_id\": {user}, \"category\": \"c\", \"ts\": \"2024-01-01 {:02}:{:02}:{:02}.{:03}\"}}\n",
                ms / 3_600_000,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000
            ));
            *expected.entry((user, ms / 10_000 * 10_000)).or_default() += 1;
        }
        std::fs::write(input.join(format!("part-{f}.json")), text).unwrap();
    }
    let broker = |t: &str| s(&format!("{t}.properties.bootstrap.servers"), &servers);
    let sets = vec![
        s("clicks.path", format!("{}/", input.display())),
        s("counts.topic", &counts),
        broker("counts"),
        s("counts_log.topic", &log),
        broker("counts_log"),
        s("totals.topic", &totals),
        broker("totals"),
        s("state.checkpoints.dir", tmp.path().join("checkpoints").display()),
        s("execution.checkpointing.interval", "50 ms"),
    ];
    let kills = run_with_kills("checkpointed", &sets, 99);
    // The per-user totals (a GROUP BY without a window, its state restored at each
    // restart) read back from their upsert topic: exact.
    let back = built().run("totals_to_print", &[s("src.topic", &totals), broker("src")]);
    assert!(back.success, "{}", back.stderr);
    let mut table: BTreeMap<i64, i64> = BTreeMap::new();
    for line in back.stdout.lines().filter(|l| !l.is_empty()) {
        let (kind, rest) = line.split_at(2);
        let f: Vec<i64> = rest.trim_matches(|c| c == '[' || c == ']').split(", ").map(|v| v.parse().unwrap()).collect();
        match kind {
            "+I" | "+U" => {
                table.insert(f[0], f[1]);
            }
            _ => {
                table.remove(&f[0]);
            }
        }
    }
    let mut per_user: BTreeMap<i64, i64> = BTreeMap::new();
    for ((user, _), n) in &expected {
        *per_user.entry(*user).or_default() += n;
    }
    assert_eq!(table, per_user, "the totals after {kills} kills");
    assert!(kills >= 2, "only {kills} kills");
    let key = |m: &serde_json::Map<String, Value>| {
        let start = m["window_start"].as_str().unwrap();
        (m["user_id"].as_i64().unwrap(), dfl_e2e::millis(start) - dfl_e2e::millis("2024-01-01 00:00:00"))
    };
    // The upsert topic read back as a table: exactly the counts.
    let back = built().run("counts_to_print", &[s("src.topic", &counts), broker("src")]);
    assert!(back.success, "{}", back.stderr);
    let mut table: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for line in back.stdout.lines().filter(|l| !l.is_empty()) {
        let (kind, rest) = line.split_at(2);
        let f: Vec<&str> = rest.trim_matches(|c| c == '[' || c == ']').split(", ").collect();
        let k = (f[0].parse().unwrap(), dfl_e2e::millis(f[1]) - dfl_e2e::millis("2024-01-01 00:00:00"));
        match kind {
            "+I" | "+U" => {
                table.insert(k, f[2].parse().unwrap());
            }
            _ => {
                table.remove(&k);
            }
        }
    }
    assert_eq!(table, expected, "the upsert output after {kills} kills");
    // The append-only topic: every count at least once (at-least-once delivery), and
    // nothing that is not a count.
    let out = tmp.path().join("log.json");
    run("counts_log_to_file", &[s("src.topic", &log), broker("src"), s("dst.path", out.display())]);
    let mut seen: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for m in objects(&out) {
        let previous = seen.insert(key(&m), m["clicks"].as_i64().unwrap());
        assert!(previous.is_none_or(|p| p == m["clicks"].as_i64().unwrap()), "a count changed: {m:?}");
    }
    assert_eq!(seen, expected, "every count reached the topic, and only counts");
}

/// Runs `module` with `sets`, killing it (SIGKILL) six times at random moments (50–550 ms
/// after a start, seeded by `seed`) and restarting it, then letting it finish; the number of
/// kills that hit.
fn run_with_kills(module: &str, sets: &[(String, String)], seed: u64) -> usize {
    let make = || built().command(module, sets);
    dfl_e2e::run_with_kills(make, 6, seed, Duration::from_millis(50), Duration::from_millis(500)).0
}

#[test]
fn a_kafka_source_killed_and_restarted_from_checkpoints_gives_exact_window_counts() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clicks = topic(&servers, "ck-clicks", 3);
    // 200,000 clicks of 37 users, one per 10 ms of event time, keyed by user.
    let at = |i: i64| {
        let ms = i * 10;
        format!("2024-01-01 00:{:02}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
    };
    let file = tmp.path().join("clicks.json");
    let lines: String = (0..200_000i64)
        .map(|i| serde_json::json!({"user_id": i % 37, "category": "c", "ts": at(i)}).to_string() + "\n")
        .collect();
    std::fs::write(&file, lines).unwrap();
    run(
        "clicks_to_kafka",
        &[s("src.path", file.display()), s("dst.topic", &clicks), s("dst.properties.bootstrap.servers", &servers)],
    );
    let out = tmp.path().join("counts");
    let sets = vec![
        s("clicks.topic", &clicks),
        s("clicks.properties.bootstrap.servers", &servers),
        s("counts.path", format!("{}/", out.display())),
        s("state.checkpoints.dir", tmp.path().join("checkpoints").display()),
        s("execution.checkpointing.interval", "30 ms"),
    ];
    let kills = run_with_kills("kafka_windows_to_files", &sets, 7);
    assert!(kills >= 2, "only {kills} kills");
    // Counts per user and 10-second window, recomputed (the clicks are in time order in
    // each partition; partitions may drift apart by more than the watermark's second, but
    // the watermark is the minimum over partitions, so none is late).
    let mut expected: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for i in 0..200_000i64 {
        let second = i / 100;
        let start = format!("2024-01-01 00:{:02}:{:02}", second / 60, second % 60 / 10 * 10);
        *expected.entry((i % 37, start)).or_default() += 1;
    }
    let mut got: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for m in objects(&out) {
        let k =
            (m["user_id"].as_i64().unwrap(), m["window_start"].as_str().unwrap().trim_end_matches(".000").to_string());
        assert!(got.insert(k, m["clicks"].as_i64().unwrap()).is_none(), "a window written twice: {m:?}");
    }
    assert_eq!(got, expected, "after {kills} kills");
}
