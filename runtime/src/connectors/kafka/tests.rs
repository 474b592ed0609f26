//! Tests against librdkafka's mock cluster (in-process brokers).

use super::codec::{Dyn, KeyDecoder, KeySpec, Layout, PartEncoder, ValueDecoder};
use super::*;
use crate::connectors::format::{Column, ColumnType};
use crate::connectors::{Source, SourceEvent};
use crate::pipeline::{Context, Sink};
use crate::types::{Str, Timestamp};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, DefaultProducerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Row {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    name: Option<Str>,
    #[serde(default)]
    ts: Option<Timestamp>,
}

static COLUMNS: [Column; 3] = [
    Column { name: "id", ty: ColumnType::BigInt, nullable: false },
    Column { name: "name", ty: ColumnType::Varchar(i32::MAX as u32), nullable: true },
    Column { name: "ts", ty: ColumnType::Timestamp(3), nullable: true },
];

fn validate(row: &Row) -> Result<(), String> {
    match row.id {
        Some(_) => Ok(()),
        None => Err("column `id` is NOT NULL, but the record has NULL".into()),
    }
}

fn row(id: i64, name: &str) -> Row {
    Row { id: Some(id), name: Some(Str::new(name)), ts: None }
}

/// A mock cluster with topics of the given partition counts.
fn cluster(topics: &[(&str, i32)]) -> (MockCluster<'static, DefaultProducerContext>, String) {
    let cluster = MockCluster::new(3).unwrap();
    for (t, n) in topics {
        cluster.create_topic(t, *n, 1).unwrap();
    }
    let servers = cluster.bootstrap_servers();
    (cluster, servers)
}

fn test_producer(servers: &str) -> BaseProducer {
    ClientConfig::new().set("bootstrap.servers", servers).create().unwrap()
}

/// A message to produce: partition, key, value, timestamp, headers.
struct Msg<'a> {
    partition: i32,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    ts: Option<i64>,
    headers: &'a [(&'a str, Option<&'a [u8]>)],
}

fn msg<'a>(partition: i32, key: Option<&'a str>, value: Option<&'a str>) -> Msg<'a> {
    Msg { partition, key: key.map(str::as_bytes), value: value.map(str::as_bytes), ts: None, headers: &[] }
}

/// Produces `msgs` to `topic` and waits until all are acknowledged.
fn put(servers: &str, topic: &str, msgs: &[Msg<'_>]) {
    let p = test_producer(servers);
    for m in msgs {
        let mut r = BaseRecord::<[u8], [u8]>::to(topic).partition(m.partition);
        if let Some(k) = m.key {
            r = r.key(k);
        }
        if let Some(v) = m.value {
            r = r.payload(v);
        }
        if let Some(ts) = m.ts {
            r = r.timestamp(ts);
        }
        if !m.headers.is_empty() {
            let mut h = OwnedHeaders::new();
            for (key, value) in m.headers {
                h = h.insert(Header { key, value: *value });
            }
            r = r.headers(h);
        }
        p.send(r).map_err(|(e, _)| e).unwrap();
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

/// A source event with the record kept (idle events dropped).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // test data
enum Ev {
    Start(usize),
    Row(usize, Record<Row>),
    End(usize),
    Barrier,
}

fn options(table: &str, servers: &str, pairs: &[(&str, &str)]) -> TableOptions {
    let mut opts = TableOptions::new(table, pairs);
    opts.set("properties.bootstrap.servers", servers);
    // The mock cluster's group coordinator waits a session timeout less 1 s before a
    // group that was left can be joined again (and 3 s before a new group forms, which
    // must fit in a session timeout).
    opts.set("properties.session.timeout.ms", "4500");
    opts.set("properties.heartbeat.interval.ms", "500");
    opts
}

fn context(opts: &TableOptions) -> Context {
    Context::new(vec![opts.clone()], BTreeMap::new())
}

/// Runs the source of `opts` until it returns, giving each event to `on` (which may stop
/// it); fails (instead of hanging) after a minute.
fn run_with(
    opts: &TableOptions,
    columns: &'static [Column],
    cx: &Context,
    mut on: impl FnMut(&Ev, &Context) -> Result<()>,
) -> Result<Vec<Ev>> {
    let source = source::<Row>(opts, columns, validate)?;
    let started = Instant::now();
    let mut got = Vec::new();
    source.run_events(cx, |e| {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(Error::Config(format!("test timed out; events so far: {got:?}")));
        }
        let e = match e {
            SourceEvent::Idle => return Ok(()),
            SourceEvent::SplitStart(s) => Ev::Start(s),
            SourceEvent::SplitEnd(s) => Ev::End(s),
            SourceEvent::Row(s, r) => Ev::Row(s, r),
            SourceEvent::Barrier(_) => Ev::Barrier,
            SourceEvent::Watermark(_) => unreachable!("sources send no watermarks"),
        };
        on(&e, cx)?;
        got.push(e);
        Ok(())
    })?;
    Ok(got)
}

fn read(opts: &TableOptions, columns: &'static [Column]) -> Result<Vec<Ev>> {
    run_with(opts, columns, &context(opts), |_, _| Ok(()))
}

fn rows(events: &[Ev]) -> Vec<&Record<Row>> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::Row(_, r) => Some(r),
            _ => None,
        })
        .collect()
}

fn ids(events: &[Ev]) -> Vec<i64> {
    rows(events).iter().map(|r| r.value.id.unwrap()).collect()
}

const BOUNDED_EARLIEST: [(&str, &str); 3] =
    [("scan.startup.mode", "earliest-offset"), ("scan.bounded.mode", "latest-offset"), ("format", "json")];

#[test]
fn a_bounded_source_reads_every_record_once_with_its_metadata() {
    let (_cluster, servers) = cluster(&[("events", 2)]);
    let h: &[(&str, Option<&[u8]>)] = &[("trace", Some(b"abc")), ("empty", None)];
    let mut msgs = Vec::new();
    let values: Vec<String> = (0..8).map(|i| format!("{{\"id\": {i}, \"name\": \"n{i}\"}}")).collect();
    for (i, v) in values.iter().enumerate() {
        let mut m = msg(i32::from(i % 3 == 0), Some("k"), Some(v));
        m.ts = Some(1_700_000_000_000 + i as i64);
        if i == 3 {
            m.headers = h;
        }
        msgs.push(m);
    }
    put(&servers, "events", &msgs);
    let opts = options("events_t", &servers, &[("topic", "events"), ("properties.group.id", "readers")]);
    let mut opts = opts;
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    // Records produced once the source runs are past its end.
    let late = servers.clone();
    let mut produced = false;
    let cx = context(&opts);
    let events = run_with(&opts, &COLUMNS, &cx, |e, _| {
        if let (Ev::Row(..), false) = (e, produced) {
            produced = true;
            put(&late, "events", &[msg(0, None, Some("{\"id\": 100}")), msg(1, None, Some("{\"id\": 101}"))]);
        }
        Ok(())
    })
    .unwrap();
    let mut got = ids(&events);
    got.sort();
    assert_eq!(got, (0..8).collect::<Vec<_>>());
    assert_eq!(cx.counters.rows_in.load(Ordering::Relaxed), 8);
    // Both partitions are splits, one each; each starts before its rows and ends after them.
    let mut split_of: HashMap<i32, HashSet<usize>> = HashMap::new();
    for (pos, e) in events.iter().enumerate() {
        if let Ev::Row(s, r) = e {
            assert!(events[..pos].contains(&Ev::Start(*s)), "{events:?}");
            assert!(events[pos..].contains(&Ev::End(*s)), "{events:?}");
            split_of.entry(r.partition).or_default().insert(*s);
        }
    }
    assert_eq!(split_of.len(), 2);
    assert!(split_of.values().all(|s| s.len() == 1));
    assert_ne!(split_of[&0], split_of[&1]);
    let starts = events.iter().filter(|e| matches!(e, Ev::Start(_))).count();
    let ends = events.iter().filter(|e| matches!(e, Ev::End(_))).count();
    assert_eq!((starts, ends), (2, 2));
    // The source ends with a barrier (then commits).
    assert_eq!(events.last(), Some(&Ev::Barrier));
    // Metadata: offsets per partition from 0, timestamps, headers.
    let mut per_partition: HashMap<i32, Vec<i64>> = HashMap::new();
    for r in rows(&events) {
        per_partition.entry(r.partition).or_default().push(r.offset);
        let i = r.value.id.unwrap();
        assert_eq!(r.topic, "events");
        assert_eq!(r.partition, i32::from(i % 3 == 0));
        assert_eq!(r.timestamp, Some(Timestamp::from_millis(1_700_000_000_000 + i)));
        assert_eq!(r.value.name.as_deref(), Some(format!("n{i}").as_str()));
        assert_eq!(r.key, None, "no key.fields: no key row");
        if i == 3 {
            assert_eq!(r.headers, vec![(Str::new("trace"), Some(b"abc".to_vec())), (Str::new("empty"), None)]);
        } else {
            assert!(r.headers.is_empty());
        }
    }
    assert_eq!(per_partition[&0], vec![0, 1, 2, 3, 4]);
    assert_eq!(per_partition[&1], vec![0, 1, 2]);
}

#[test]
fn an_empty_partition_of_a_bounded_source_ends_at_once() {
    let (_cluster, servers) = cluster(&[("sparse", 3)]);
    put(&servers, "sparse", &[msg(1, None, Some("{\"id\": 1}")), msg(1, None, Some("{\"id\": 2}"))]);
    let mut opts = options("t", &servers, &[("topic", "sparse")]);
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    let events = read(&opts, &COLUMNS).unwrap();
    // Without a group: every partition, in order, assigned at once; the empty ones end
    // right after they start.
    assert_eq!(events[..5], [Ev::Start(0), Ev::End(0), Ev::Start(1), Ev::Start(2), Ev::End(2)]);
    assert_eq!(ids(&events), [1, 2]);
    assert!(events.contains(&Ev::End(1)));
    // An empty topic: the source returns at once.
    let (_cluster, servers) = cluster(&[("nothing", 2)]);
    let mut opts = options("t", &servers, &[("topic", "nothing")]);
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    assert_eq!(read(&opts, &COLUMNS).unwrap(), [Ev::Start(0), Ev::End(0), Ev::Start(1), Ev::End(1)]);
}

#[test]
fn keys_are_decoded_into_the_row_type() {
    let (_cluster, servers) = cluster(&[("keyed", 1)]);
    put(
        &servers,
        "keyed",
        &[
            msg(0, Some("{\"id\": 7}"), Some("{\"id\": 7, \"name\": \"seven\"}")),
            msg(0, None, Some("{\"id\": 8, \"name\": \"eight\"}")),
        ],
    );
    let mut opts = options("t", &servers, &[("topic", "keyed"), ("key.fields", "id"), ("key.format", "json")]);
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    let events = read(&opts, &COLUMNS).unwrap();
    let got = rows(&events);
    assert_eq!(got[0].key, Some(Row { id: Some(7), ..Row::default() }));
    assert_eq!(got[0].value, row(7, "seven"));
    // A message without key: no key row.
    assert_eq!(got[1].key, None);
    assert_eq!(got[1].value, row(8, "eight"));

    // CSV keys are positional in 'key.fields' order; empty numeric fields are NULL.
    let (_cluster, servers) = cluster(&[("csvkeyed", 1)]);
    put(
        &servers,
        "csvkeyed",
        &[
            msg(0, Some("bob,3"), Some("{\"id\": 3, \"name\": \"bob\"}")),
            msg(0, Some("\"a, b\","), Some("{\"id\": 4}")),
        ],
    );
    let mut opts = options("t", &servers, &[("topic", "csvkeyed"), ("key.fields", "name;id"), ("key.format", "csv")]);
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    let events = read(&opts, &COLUMNS).unwrap();
    let got = rows(&events);
    assert_eq!(got[0].key, Some(Row { id: Some(3), name: Some(Str::new("bob")), ts: None }));
    assert_eq!(got[1].key, Some(Row { id: None, name: Some(Str::new("a, b")), ts: None }));
}

static PREFIXED: [Column; 3] = [
    Column { name: "k_id", ty: ColumnType::BigInt, nullable: false },
    Column { name: "name", ty: ColumnType::Varchar(100), nullable: true },
    Column { name: "ts", ty: ColumnType::Timestamp(3), nullable: true },
];

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct PRow {
    #[serde(default)]
    k_id: Option<i64>,
    #[serde(default)]
    name: Option<Str>,
    #[serde(default)]
    ts: Option<Timestamp>,
}

#[test]
fn values_without_the_key_columns_get_them_from_the_key() {
    let (_cluster, servers) = cluster(&[("split", 1)]);
    put(
        &servers,
        "split",
        &[
            // The value's own `k_id` is not a value column: ignored.
            msg(0, Some("{\"id\": 5}"), Some("{\"name\": \"five\", \"k_id\": 99, \"ts\": \"2024-01-01 00:00:01\"}")),
            msg(0, Some("{\"id\": \"6\"}"), Some("{\"name\": \"six\"}")),
            // No key: the key column is NULL, which the NOT NULL check rejects.
            msg(0, None, Some("{\"name\": \"none\"}")),
        ],
    );
    let opts = options(
        "t",
        &servers,
        &[
            ("topic", "split"),
            ("key.fields", "k_id"),
            ("key.format", "json"),
            ("key.fields-prefix", "k_"),
            ("value.fields-include", "EXCEPT_KEY"),
            ("value.json.fail-on-missing-field", "false"),
            ("scan.errors", "skip"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.bounded.mode", "latest-offset"),
            ("value.format", "json"),
        ],
    );
    let mut bad = opts.clone();
    bad.set("format", "json");
    assert!(source::<PRow>(&bad, &PREFIXED, |_| Ok(())).is_err(), "format and value.format");
    let source = source::<PRow>(&opts, &PREFIXED, |r: &PRow| match r.k_id {
        Some(_) => Ok(()),
        None => Err("column `k_id` is NOT NULL".into()),
    })
    .unwrap();
    let cx = context(&opts);
    let mut got = Vec::new();
    source
        .run(&cx, |r| {
            got.push(r);
            Ok(())
        })
        .unwrap();
    assert_eq!(got.len(), 2);
    let ts = crate::types::time::parse_timestamp("2024-01-01 00:00:01");
    assert_eq!(got[0].value, PRow { k_id: Some(5), name: Some(Str::new("five")), ts });
    assert_eq!(got[0].key, Some(PRow { k_id: Some(5), ..PRow::default() }));
    assert_eq!(got[1].value, PRow { k_id: Some(6), name: Some(Str::new("six")), ts: None });
    assert_eq!(cx.counters.skipped.load(Ordering::Relaxed), 1);
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Line {
    #[serde(default)]
    line: Option<Str>,
}

static LINES: [Column; 1] = [Column { name: "line", ty: ColumnType::Varchar(i32::MAX as u32), nullable: true }];

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Blob {
    #[serde(default)]
    data: Option<Vec<u8>>,
}

static BLOBS: [Column; 1] = [Column { name: "data", ty: ColumnType::Varbinary(i32::MAX as u32), nullable: true }];

#[test]
fn raw_values_are_one_column() {
    let (_cluster, servers) = cluster(&[("raw", 1)]);
    let p = test_producer(&servers);
    for v in [&b"hello"[..], b"{not json", b"\xff\xfe", b""] {
        p.send(BaseRecord::<[u8], [u8]>::to("raw").partition(0).payload(v)).map_err(|(e, _)| e).unwrap();
    }
    p.send(BaseRecord::<[u8], [u8]>::to("raw").partition(0).key(&b"k"[..])).map_err(|(e, _)| e).unwrap();
    p.flush(Duration::from_secs(30)).unwrap();
    let mut opts = options("lines", &servers, &[("topic", "raw"), ("format", "raw"), ("scan.errors", "fail")]);
    opts.set("scan.startup.mode", "earliest-offset");
    opts.set("scan.bounded.mode", "latest-offset");
    // STRING: UTF-8 text; invalid UTF-8 is a bad record.
    let cx = context(&opts);
    let mut got = Vec::new();
    let err = source::<Line>(&opts, &LINES, |_| Ok(()))
        .unwrap()
        .run(&cx, |r| {
            got.push(r.value.line);
            Ok(())
        })
        .unwrap_err();
    assert_eq!(got, [Some(Str::new("hello")), Some(Str::new("{not json"))]);
    assert_eq!(
        err.to_string(),
        "table `lines`: topic 'raw' partition 0 offset 2: cannot read record: value: not valid UTF-8"
    );
    opts.set("scan.errors", "skip");
    let cx = context(&opts);
    let mut got = Vec::new();
    source::<Line>(&opts, &LINES, |_| Ok(()))
        .unwrap()
        .run(&cx, |r| {
            got.push(r.value.line);
            Ok(())
        })
        .unwrap();
    // The tombstone is a NULL line.
    assert_eq!(got, [Some(Str::new("hello")), Some(Str::new("{not json")), Some(Str::new("")), None]);
    assert_eq!(cx.counters.skipped.load(Ordering::Relaxed), 1);
    // BYTES: the bytes as they are.
    let mut got = Vec::new();
    source::<Blob>(&opts, &BLOBS, |_| Ok(()))
        .unwrap()
        .run(&context(&opts), |r| {
            got.push(r.value.data);
            Ok(())
        })
        .unwrap();
    assert_eq!(got[2], Some(b"\xff\xfe".to_vec()));
    assert_eq!(got.len(), 5);
    // More than one column cannot be raw.
    let err = source::<Row>(&opts, &COLUMNS, validate).err().unwrap().to_string();
    assert!(err.contains("the 'raw' format holds exactly one column, but the value has 3"), "{err}");
}

fn bad_records(servers: &str) {
    put(
        servers,
        "dirty",
        &[
            msg(0, Some("k1"), Some("{\"id\": 1}")),
            msg(0, Some("k2"), Some("{\"id\": \"x\"}")),
            msg(0, Some("k3"), Some("{\"name\": \"no id\"}")),
            msg(0, None, Some("{\"id\": 4}")),
            msg(0, None, Some("not json")),
            msg(0, None, Some("{\"id\": 6}")),
        ],
    );
}

#[test]
fn bad_records_fail_the_source_or_are_skipped() {
    let (_cluster, servers) = cluster(&[("dirty", 1)]);
    bad_records(&servers);
    let mut opts = options("dirty_t", &servers, &[("topic", "dirty")]);
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    let cx = context(&opts);
    let mut got = Vec::new();
    let err = run_with(&opts, &COLUMNS, &cx, |e, _| {
        got.push(e.clone());
        Ok(())
    })
    .unwrap_err();
    assert_eq!(ids(&got), [1]);
    let text = err.to_string();
    assert!(
        text.starts_with("table `dirty_t`: topic 'dirty' partition 0 offset 1: cannot read record: value: "),
        "{text}"
    );
    assert!(text.contains("id"), "{text}");
    opts.set("scan.errors", "skip");
    let cx = context(&opts);
    let events = run_with(&opts, &COLUMNS, &cx, |_, _| Ok(())).unwrap();
    assert_eq!(ids(&events), [1, 4, 6]);
    assert_eq!(cx.counters.skipped.load(Ordering::Relaxed), 3);
}

/// Reads every message of partition 0 of `topic`: (key, value).
#[allow(clippy::type_complexity)]
fn consume_all(servers: &str, topic: &str, n: usize) -> Vec<(Option<Vec<u8>>, Option<Vec<u8>>, i32)> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", servers).set("group.id", "test-reader").create().unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in metadata.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    while out.len() < n {
        assert!(started.elapsed() < Duration::from_secs(60), "only {} of {n} messages in {topic}", out.len());
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec), m.partition()));
        }
    }
    out
}

#[test]
fn dead_letters_go_to_their_topic_with_the_reason() {
    let (_cluster, servers) = cluster(&[("dirty", 1), ("dlq", 1)]);
    bad_records(&servers);
    let mut opts = options(
        "dirty_t",
        &servers,
        &[("topic", "dirty"), ("scan.errors", "dead-letter"), ("scan.dead-letter.topic", "dlq")],
    );
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    let cx = context(&opts);
    let events = run_with(&opts, &COLUMNS, &cx, |_, _| Ok(())).unwrap();
    assert_eq!(ids(&events), [1, 4, 6]);
    assert_eq!(cx.counters.skipped.load(Ordering::Relaxed), 3);
    let letters = consume_all(&servers, "dlq", 3);
    let keys: Vec<Option<Vec<u8>>> = letters.iter().map(|(k, _, _)| k.clone()).collect();
    assert_eq!(keys, [Some(b"k2".to_vec()), Some(b"k3".to_vec()), None]);
    let parsed: Vec<serde_json::Value> =
        letters.iter().map(|(_, v, _)| serde_json::from_slice(v.as_ref().unwrap()).unwrap()).collect();
    let first = &parsed[0];
    assert_eq!(first["table"], "dirty_t");
    assert_eq!(first["topic"], "dirty");
    assert_eq!(first["partition"], 0);
    assert_eq!(first["offset"], 1);
    assert!(first["timestamp"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(first["key"], "k2");
    assert_eq!(first["value"], "{\"id\": \"x\"}");
    assert!(first["reason"].as_str().unwrap().starts_with("value: "), "{first}");
    assert_eq!(parsed[1]["offset"], 2);
    assert_eq!(parsed[1]["reason"], "column `id` is NOT NULL, but the record has NULL");
    assert_eq!(parsed[2]["offset"], 4);
    assert_eq!(parsed[2]["key"], serde_json::Value::Null);
    assert_eq!(parsed[2]["value"], "not json");
    // A dead-letter topic needs dead-letter errors, and dead-letter errors a topic.
    let mut skipping = opts.clone();
    skipping.set("scan.errors", "skip");
    let err = source::<Row>(&skipping, &COLUMNS, validate).err().unwrap().to_string();
    assert!(err.contains("'scan.dead-letter.topic': needs 'scan.errors' = 'dead-letter'"), "{err}");
    let no_topic = options(
        "t",
        &servers,
        &[
            ("topic", "dirty"),
            ("format", "json"),
            ("scan.errors", "dead-letter"),
            ("scan.startup.mode", "earliest-offset"),
        ],
    );
    let err = source::<Row>(&no_topic, &COLUMNS, validate).err().unwrap().to_string();
    assert!(err.contains("'scan.dead-letter.topic': is required"), "{err}");
}

#[test]
fn startup_modes_choose_the_first_offset() {
    let (_cluster, servers) = cluster(&[("modes", 2)]);
    let values: Vec<String> = (0..6).map(|i| format!("{{\"id\": {i}}}")).collect();
    let msgs: Vec<Msg<'_>> = values.iter().enumerate().map(|(i, v)| msg((i % 2) as i32, None, Some(v))).collect();
    put(&servers, "modes", &msgs);
    // specific-offsets: partition 0 from offset 2, partition 1 (not listed) from the start.
    let opts = options(
        "t",
        &servers,
        &[
            ("topic", "modes"),
            ("format", "json"),
            ("scan.startup.mode", "specific-offsets"),
            ("scan.startup.specific-offsets", "partition:0,offset:2"),
            ("scan.bounded.mode", "latest-offset"),
        ],
    );
    let mut got = ids(&read(&opts, &COLUMNS).unwrap());
    got.sort();
    assert_eq!(got, [1, 3, 4, 5]);
    // latest-offset: only what is written after the partitions are assigned (when their
    // splits start).
    let opts =
        options("t", &servers, &[("topic", "modes"), ("format", "json"), ("scan.startup.mode", "latest-offset")]);
    let cx = context(&opts);
    let (mut starts, mut seen) = (0, 0);
    let events = run_with(&opts, &COLUMNS, &cx, |e, cx| {
        match e {
            Ev::Start(_) => {
                starts += 1;
                if starts == 2 {
                    put(&servers, "modes", &[msg(0, None, Some("{\"id\": 10}")), msg(1, None, Some("{\"id\": 11}"))]);
                }
            }
            Ev::Row(..) => {
                seen += 1;
                if seen == 2 {
                    cx.request_stop();
                }
            }
            _ => {}
        }
        Ok(())
    })
    .unwrap();
    let mut got = ids(&events);
    got.sort();
    assert_eq!(got, [10, 11]);
    // Stopped: no split ends, a last barrier.
    assert!(!events.iter().any(|e| matches!(e, Ev::End(_))));
    assert_eq!(events.last(), Some(&Ev::Barrier));
    // group-offsets (the default) needs a group; with one and no committed offset, the
    // source fails unless a reset policy is given.
    let opts = options("t", &servers, &[("topic", "modes"), ("format", "json")]);
    let err = source::<Row>(&opts, &COLUMNS, validate).err().unwrap().to_string();
    assert!(err.contains("'group-offsets' (the default) needs 'properties.group.id'"), "{err}");
    let mut opts = opts;
    opts.set("properties.group.id", "fresh");
    opts.set("scan.bounded.mode", "latest-offset");
    let err = read(&opts, &COLUMNS).unwrap_err().to_string();
    assert!(err.contains("group 'fresh' has no committed offset; set 'properties.auto.offset.reset'"), "{err}");
    opts.set("properties.auto.offset.reset", "earliest");
    assert_eq!(ids(&read(&opts, &COLUMNS).unwrap()).len(), 8);
    // timestamp: the mock cluster cannot look offsets up by time (it answers "none"), so
    // the source starts at the end; the broker test checks real lookups.
    let opts = options(
        "t",
        &servers,
        &[
            ("topic", "modes"),
            ("format", "json"),
            ("scan.startup.mode", "timestamp"),
            ("scan.startup.timestamp-millis", "0"),
            ("scan.bounded.mode", "latest-offset"),
        ],
    );
    assert_eq!(ids(&read(&opts, &COLUMNS).unwrap()), Vec::<i64>::new());
}

#[test]
fn offsets_are_committed_after_barriers_and_a_group_resumes_there() {
    let (_cluster, servers) = cluster(&[("log", 1)]);
    put_ids(&servers, "log", 0..6);
    let opts = options(
        "t",
        &servers,
        &[
            ("topic", "log"),
            ("format", "json"),
            ("properties.group.id", "g"),
            ("properties.auto.offset.reset", "earliest"),
        ],
    );
    // A barrier the task cannot honour: nothing is committed.
    let cx = context(&opts);
    let err = run_with(&opts, &COLUMNS, &cx, |e, cx| match e {
        Ev::Row(_, r) if r.value.id == Some(3) => {
            cx.request_stop();
            Ok(())
        }
        Ev::Barrier => Err(Error::Config("sink failed".into())),
        _ => Ok(()),
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "sink failed");
    assert_eq!(committed(&servers, "g", "log"), None);
    // Stop after 4 rows: the last barrier commits the position after them.
    let cx = context(&opts);
    let events = run_with(&opts, &COLUMNS, &cx, |e, cx| {
        if let Ev::Row(_, r) = e
            && r.value.id == Some(3)
        {
            cx.request_stop();
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(ids(&events), [0, 1, 2, 3]);
    assert_eq!(events.last(), Some(&Ev::Barrier));
    assert_eq!(committed(&servers, "g", "log"), Some(4));
    // The group resumes there.
    let mut opts = opts;
    opts.set("scan.bounded.mode", "latest-offset");
    let events = read(&opts, &COLUMNS).unwrap();
    assert_eq!(ids(&events), [4, 5]);
    assert_eq!(committed(&servers, "g", "log"), Some(6));
    // And with nothing new, reads nothing.
    assert_eq!(ids(&read(&opts, &COLUMNS).unwrap()), Vec::<i64>::new());
}

/// Records `{"id": i}` for each i of `ids` into partition 0 of `topic`.
fn put_ids(servers: &str, topic: &str, ids: std::ops::Range<i64>) {
    let values: Vec<String> = ids.map(|i| format!("{{\"id\": {i}}}")).collect();
    let msgs: Vec<Msg<'_>> = values.iter().map(|v| msg(0, None, Some(v))).collect();
    put(servers, topic, &msgs);
}

/// The offset group `group` committed for partition 0 of `topic`.
fn committed(servers: &str, group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", servers).set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    match got.elements()[0].offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

#[test]
fn a_sink_writes_rows_a_source_reads_back() {
    let (_cluster, servers) = cluster(&[("out", 4)]);
    let opts = options(
        "out_t",
        &servers,
        &[("topic", "out"), ("format", "json"), ("key.fields", "name"), ("key.format", "json")],
    );
    let mut sink = sink::<Row>(&opts, &COLUMNS).unwrap();
    let names = ["ann", "bob", "cyd", "dan", "eve"];
    let written: Vec<Row> = (0..40).map(|i| row(i, names[i as usize % names.len()])).collect();
    sink.write_batch(&mut written.clone()).unwrap();
    sink.flush().unwrap();
    let mut read_opts = options(
        "out_t",
        &servers,
        &[("topic", "out"), ("format", "json"), ("key.fields", "name"), ("key.format", "json")],
    );
    for (k, v) in BOUNDED_EARLIEST {
        read_opts.set(k, v);
    }
    let events = read(&read_opts, &COLUMNS).unwrap();
    let mut got: Vec<Row> = rows(&events).iter().map(|r| r.value.clone()).collect();
    got.sort_by_key(|r| r.id);
    assert_eq!(got, written);
    // Every key on one partition; the keys spread over more than one.
    let mut partition_of: HashMap<Str, HashSet<i32>> = HashMap::new();
    for r in rows(&events) {
        let key = r.key.as_ref().unwrap();
        assert_eq!(key, &Row { name: r.value.name.clone(), ..Row::default() });
        partition_of.entry(key.name.clone().unwrap()).or_default().insert(r.partition);
    }
    assert!(partition_of.values().all(|p| p.len() == 1), "{partition_of:?}");
    let used: HashSet<i32> = partition_of.values().flatten().copied().collect();
    assert!(used.len() > 1, "{partition_of:?}");
    // The key is JSON of the key column only.
    let raw = consume_all(&servers, "out", 40);
    assert!(raw.iter().all(|(k, _, _)| {
        let k = String::from_utf8(k.clone().unwrap()).unwrap();
        names.iter().any(|n| k == format!("{{\"name\":\"{n}\"}}"))
    }));
}

#[test]
fn sink_partitioners_and_value_layouts() {
    let (_cluster, servers) = cluster(&[("rr", 3), ("fixed", 3), ("ek", 1)]);
    // round-robin: rows spread evenly, one by one.
    let opts = options("t", &servers, &[("topic", "rr"), ("format", "json"), ("sink.partitioner", "round-robin")]);
    let mut rr = sink::<Row>(&opts, &COLUMNS).unwrap();
    rr.write_batch(&mut (0..30).map(|i| row(i, "x")).collect()).unwrap();
    rr.flush().unwrap();
    let mut counts = [0; 3];
    for (_, _, p) in consume_all(&servers, "rr", 30) {
        counts[p as usize] += 1;
    }
    assert_eq!(counts, [10, 10, 10]);
    // fixed: partition 0.
    let opts = options("t", &servers, &[("topic", "fixed"), ("format", "json"), ("sink.partitioner", "fixed")]);
    let mut fixed = sink::<Row>(&opts, &COLUMNS).unwrap();
    fixed.write_batch(&mut (0..10).map(|i| row(i, "x")).collect()).unwrap();
    fixed.flush().unwrap();
    assert!(consume_all(&servers, "fixed", 10).iter().all(|(_, _, p)| *p == 0));
    // EXCEPT_KEY with a prefix and a CSV key in 'key.fields' order; upsert deletions.
    let opts = options(
        "t",
        &servers,
        &[
            ("topic", "ek"),
            ("value.format", "json"),
            ("key.format", "csv"),
            ("key.fields-prefix", "k_"),
            ("value.fields-include", "EXCEPT_KEY"),
        ],
    );
    // `name` does not start with the prefix.
    let err = upsert_sink::<PRow>(&opts, &PREFIXED, &["name", "k_id"]).err().unwrap().to_string();
    assert!(err.contains("key column `name` does not start with the prefix 'k_'"), "{err}");
    let mut upsert = upsert_sink::<PRow>(&opts, &PREFIXED, &["k_id"]).unwrap();
    let ts = crate::types::time::parse_timestamp("2024-05-06 07:08:09");
    let r = PRow { k_id: Some(1), name: Some(Str::new("one")), ts };
    upsert.write_batch(&mut vec![r.clone()]).unwrap();
    upsert.delete(&r).unwrap();
    upsert.flush().unwrap();
    let got = consume_all(&servers, "ek", 2);
    assert_eq!(got[0].0.as_deref(), Some(&b"1"[..]));
    assert_eq!(
        String::from_utf8(got[0].1.clone().unwrap()).unwrap(),
        "{\"name\":\"one\",\"ts\":\"2024-05-06 07:08:09\"}"
    );
    assert_eq!((got[1].0.as_deref(), got[1].1.as_deref()), (Some(&b"1"[..]), None));
}

#[test]
fn option_errors_name_the_option() {
    let servers = "127.0.0.1:9";
    let err = |pairs: &[(&str, &str)]| -> String {
        let opts = options("t", servers, pairs);
        match sink::<Row>(&opts, &COLUMNS) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    };
    let base = [("topic", "x"), ("format", "json")];
    let with = |extra: &[(&str, &str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        err(&v)
    };
    assert!(
        with(&[("sink.delivery-guarantee", "exactly-once")])
            .contains("option 'sink.transactional-id-prefix': is required with 'exactly-once'"),
        "{}",
        with(&[("sink.delivery-guarantee", "exactly-once")])
    );
    assert!(
        with(&[("key.fields", "id")]).contains("option 'key.format': is required"),
        "{}",
        with(&[("key.fields", "id")])
    );
    assert!(with(&[("key.format", "json")]).contains("needs 'key.fields'"));
    assert!(with(&[("key.fields", "nope"), ("key.format", "json")]).contains("no column is named `nope`"));
    assert!(with(&[("key.fields-prefix", "k_")]).contains("needs 'value.fields-include' = 'EXCEPT_KEY'"));
    assert!(with(&[("sink.partitioner", "com.acme.P")]).contains("partitioner classes are not supported"));
    assert!(
        with(&[("format", "avro")]).contains("'avro' is not supported by Kafka tables"),
        "{}",
        with(&[("format", "avro")])
    );
    assert_eq!(with(&[("topic", "a;b")]), "table `t`: option 'topic': a sink writes one topic");
    // librdkafka settings: unknown ones are named; secret values are never shown.
    let unknown = with(&[("properties.no.such.setting", "1")]);
    assert!(unknown.contains("'properties.no.such.setting'"), "{unknown}");
    let secret = with(&[("properties.ssl.key.password", "hunter2"), ("properties.ssl.key.pem", "hunter3 -----")]);
    assert!(!secret.contains("hunter"), "{secret}");
    let e = KafkaError::ClientConfig(
        rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
        "Invalid value \"hunter2\"".into(),
        "sasl.password".into(),
        "hunter2".into(),
    );
    assert_eq!(describe(&e), "invalid value for 'properties.sasl.password' (value not shown)");
    // Sources.
    let opts = options("t", servers, &[("format", "json"), ("scan.startup.mode", "earliest-offset")]);
    assert!(source::<Row>(&opts, &COLUMNS, validate).err().unwrap().to_string().contains("'topic': is required"));
    let mut o = opts.clone();
    o.set("topic", "a");
    o.set("scan.startup.mode", "specific-offsets");
    o.set("scan.startup.specific-offsets", "partition:0,offset:x");
    let e = source::<Row>(&o, &COLUMNS, validate).err().unwrap().to_string();
    assert!(e.contains("'partition:0,offset:x' is not of the form"), "{e}");
    o.set("scan.startup.mode", "timestamp");
    let e = source::<Row>(&o, &COLUMNS, validate).err().unwrap().to_string();
    assert!(e.contains("'scan.startup.timestamp-millis': is required"), "{e}");
    o.set("scan.startup.mode", "earliest-offset");
    o.set("topic-pattern", "a.*");
    assert!(source::<Row>(&o, &COLUMNS, validate).is_err());
}

#[test]
fn a_missing_topic_fails_the_source() {
    let (_cluster, servers) = cluster(&[("there", 1)]);
    let mut opts = options("t", &servers, &[("topic", "there;not_there")]);
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    let err = read(&opts, &COLUMNS).unwrap_err().to_string();
    assert_eq!(
        err,
        "table `t`: Kafka: topic 'not_there' does not exist (or this client may not see it); create it first"
    );
}

#[test]
fn a_topic_pattern_reads_the_matching_topics() {
    let (_cluster, servers) = cluster(&[("orders-eu", 1), ("orders-us", 1), ("orders", 1), ("other", 1)]);
    for (t, id) in [("orders-eu", 1), ("orders-us", 2), ("orders", 3), ("other", 4)] {
        put(&servers, t, &[msg(0, None, Some(&format!("{{\"id\": {id}}}")))]);
    }
    let mut opts = options("t", &servers, &[("topic-pattern", "orders-.*")]);
    for (k, v) in BOUNDED_EARLIEST {
        opts.set(k, v);
    }
    let events = read(&opts, &COLUMNS).unwrap();
    let mut got = ids(&events);
    got.sort();
    assert_eq!(got, [1, 2]);
}

#[test]
fn new_topics_matching_the_pattern_are_found_while_running() {
    let (cluster, servers) = cluster(&[("disc-a", 1)]);
    put(&servers, "disc-a", &[msg(0, None, Some("{\"id\": 1}"))]);
    let opts = options(
        "t",
        &servers,
        &[
            ("topic-pattern", "disc-.*"),
            ("format", "json"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.topic-partition-discovery.interval", "100 ms"),
        ],
    );
    let cx = context(&opts);
    let events = run_with(&opts, &COLUMNS, &cx, |e, cx| {
        if let Ev::Row(_, r) = e {
            match r.value.id {
                Some(1) => {
                    cluster.create_topic("disc-b", 2, 1).unwrap();
                    put(&servers, "disc-b", &[msg(1, None, Some("{\"id\": 2}"))]);
                }
                _ => cx.request_stop(),
            }
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(ids(&events), [1, 2]);
    // The new topic's partitions are new splits, read from their start.
    let starts: Vec<&Ev> = events.iter().filter(|e| matches!(e, Ev::Start(_))).collect();
    assert_eq!(starts, [&Ev::Start(0), &Ev::Start(1), &Ev::Start(2)]);
    assert_eq!(rows(&events)[1].topic, "disc-b");
}

#[test]
fn metrics_count_records_bytes_skips_and_lag_per_partition() {
    let (_cluster, servers) = cluster(&[("metered", 2)]);
    let values: Vec<String> = (0..8).map(|i| format!("{{\"id\": {i}}}")).collect();
    let mut msgs: Vec<Msg<'_>> =
        values.iter().enumerate().map(|(i, v)| msg(i32::from(i >= 5), Some("k"), Some(v))).collect();
    msgs.push(msg(1, None, Some("not json")));
    put(&servers, "metered", &msgs);
    let bytes = |partition: i32| -> usize {
        msgs.iter()
            .filter(|m| m.partition == partition)
            .map(|m| m.key.map_or(0, <[u8]>::len) + m.value.unwrap().len())
            .sum()
    };
    let opts = options(
        "metered_t",
        &servers,
        &[
            ("topic", "metered"),
            ("format", "json"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.errors", "skip"),
            ("properties.statistics.interval.ms", "100"),
        ],
    );
    let cx = context(&opts);
    cx.metrics().set_pipeline("k");
    let series = |name: &str, partition: i32| {
        format!("{name}{{pipeline=\"k\",table=\"metered_t\",topic=\"metered\",partition=\"{partition}\"}} ")
    };
    let value = |text: &str, series: &str| -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(series)).map(|v| v.parse().unwrap())
    };
    // Unbounded: read on until the lag of both partitions is known to be 0 (the client's
    // statistics come every 100 ms; the source shows them about every second).
    let started = Instant::now();
    let mut rows = 0;
    let mut text = String::new();
    source::<Row>(&opts, &COLUMNS, validate)
        .unwrap()
        .run_events(&cx, |e| {
            assert!(started.elapsed() < Duration::from_secs(60), "no lag after a minute:\n{text}");
            match e {
                SourceEvent::Row(..) => rows += 1,
                SourceEvent::Idle if rows == 8 => {
                    text = cx.metrics().render();
                    let lag = |p| value(&text, &series("dfl_kafka_consumer_lag", p));
                    if lag(0) == Some(0.0) && lag(1) == Some(0.0) {
                        cx.request_stop();
                    }
                }
                _ => {}
            }
            Ok(())
        })
        .unwrap();
    let text = cx.metrics().render();
    assert_eq!(value(&text, &series("dfl_source_records_total", 0)), Some(5.0), "{text}");
    // Records read: rows, and the one skipped.
    assert_eq!(value(&text, &series("dfl_source_records_total", 1)), Some(4.0), "{text}");
    assert_eq!(value(&text, &series("dfl_source_bytes_total", 0)), Some(bytes(0) as f64), "{text}");
    assert_eq!(value(&text, &series("dfl_source_bytes_total", 1)), Some(bytes(1) as f64), "{text}");
    let skipped = "dfl_skipped_records_total{pipeline=\"k\",table=\"metered_t\",reason=\"parse_error\"} ";
    assert_eq!(value(&text, skipped), Some(1.0), "{text}");
    assert!(text.contains("dfl_kafka_errors_total{pipeline=\"k\",table=\"metered_t\",client=\"consumer\"} "), "{text}");
    assert!(!text.contains("table=\"metered_t\"}"), "a partitioned source has no table-wide series:\n{text}");
}

#[test]
fn sources_and_sinks_can_move_to_their_task_threads() {
    fn send<T: Send>() {}
    send::<KafkaSource<Row>>();
    send::<KafkaSink<Row>>();
}

// ------------------------------------------------------------------------------------------
// Codecs without a broker
// ------------------------------------------------------------------------------------------

#[test]
fn key_columns_are_captured_with_their_types() {
    let opts = TableOptions::new(
        "t",
        &[
            ("format", "csv"),
            ("key.format", "csv"),
            ("key.fields", "ts;id;name"),
            ("value.fields-include", "EXCEPT_KEY"),
            ("key.csv.null-literal", "-"),
        ],
    );
    let layout = Layout::from_options(&opts, &COLUMNS, KeySpec::Option).unwrap();
    let mut keys = KeyDecoder::new(&layout).unwrap();
    let mut values = Vec::new();
    keys.decode(b"2024-01-01 00:00:00,,", &mut values).unwrap();
    assert_eq!(
        values,
        [("ts", Dyn::Str("2024-01-01 00:00:00".into())), ("id", Dyn::Null), ("name", Dyn::Str("".into()))]
    );
    // Empty temporal (and numeric) fields are NULL too.
    keys.decode(b",,", &mut values).unwrap();
    assert_eq!(values, [("ts", Dyn::Null), ("id", Dyn::Null), ("name", Dyn::Str("".into()))]);
    keys.decode(b"-,12,-", &mut values).unwrap();
    assert_eq!(values, [("ts", Dyn::Null), ("id", Dyn::I64(12)), ("name", Dyn::Null)]);
    let err = keys.decode(b"x,y,z", &mut values).unwrap_err();
    assert!(err.contains("column 2"), "{err}");
    let key_row: Row = KeyDecoder::row(&[("id", Dyn::I64(12))]).unwrap();
    assert_eq!(key_row, Row { id: Some(12), ..Row::default() });
    // The value has no key columns: a CSV value of no fields gets them from the key.
    let mut value = ValueDecoder::<Row>::new(&layout);
    assert!(value.wants_key_columns());
    let mut extras = vec![("id", Dyn::I64(5)), ("name", Dyn::Str("five".into()))];
    // All three columns are key columns here, so the value holds none: any record.
    let got = value.decode(Some(b"ignored"), &mut extras).unwrap().unwrap();
    assert_eq!(got, row(5, "five"));
}

#[test]
fn partial_values_decode_by_name_and_by_position() {
    // EXCEPT_KEY: value columns `name;ts` by position in CSV, by name in JSON.
    for (format, record) in [
        ("csv", &b"ann,2024-02-03 04:05:06"[..]),
        ("json", &b"{\"ts\": \"2024-02-03 04:05:06\", \"name\": \"ann\", \"id\": 9}"[..]),
    ] {
        let opts = TableOptions::new(
            "t",
            &[("format", format), ("key.format", "json"), ("key.fields", "id"), ("value.fields-include", "EXCEPT_KEY")],
        );
        let layout = Layout::from_options(&opts, &COLUMNS, KeySpec::Option).unwrap();
        let mut value = ValueDecoder::<Row>::new(&layout);
        let mut extras = vec![("id", Dyn::I64(1))];
        let got = value.decode(Some(record), &mut extras).unwrap().unwrap();
        let ts = crate::types::time::parse_timestamp("2024-02-03 04:05:06");
        assert_eq!(got, Row { id: Some(1), name: Some(Str::new("ann")), ts }, "{format}");
        // Writing it back gives the same record without the key column.
        let mut enc = PartEncoder::new(&layout.value, &COLUMNS);
        let mut out = Vec::new();
        assert!(enc.encode(&got, &mut out).unwrap());
        let text = String::from_utf8(out).unwrap();
        match format {
            "csv" => assert_eq!(text, "ann,2024-02-03 04:05:06"),
            _ => assert_eq!(text, "{\"name\":\"ann\",\"ts\":\"2024-02-03 04:05:06\"}"),
        }
    }
}

/// `exactly-once`: rows are written in transactions that commit at checkpoints
/// (`prepare_commit`); without checkpoints (no `recover`) writing is refused. The mock
/// cluster runs the transactional protocol (init, begin, commit) but does not hide
/// uncommitted records from readers, so what is checked here is that the calls succeed
/// and every row arrives once per commit.
#[test]
fn an_exactly_once_sink_commits_a_transaction_per_checkpoint() {
    use crate::pipeline::Sink;
    let (_cluster, servers) = cluster(&[("tx", 1)]);
    let opts = options(
        "t",
        &servers,
        &[
            ("topic", "tx"),
            ("format", "json"),
            ("sink.delivery-guarantee", "exactly-once"),
            ("sink.transactional-id-prefix", "dflc-test"),
        ],
    );
    let mut unstarted = sink::<Row>(&opts, &COLUMNS).unwrap();
    let err = unstarted.write_batch(&mut vec![row(0, "x")]).unwrap_err().to_string();
    assert!(err.contains("needs checkpoints"), "{err}");
    drop(unstarted);
    let mut s = sink::<Row>(&opts, &COLUMNS).unwrap();
    s.recover(None).unwrap();
    s.write_batch(&mut (0..5).map(|i| row(i, "a")).collect()).unwrap();
    s.prepare_commit(1).unwrap();
    s.write_batch(&mut (5..8).map(|i| row(i, "b")).collect()).unwrap();
    s.prepare_commit(2).unwrap();
    s.flush().unwrap();
    let got = consume_all(&servers, "tx", 8);
    let ids: Vec<i64> = got
        .iter()
        .map(|(_, v, _)| {
            serde_json::from_slice::<serde_json::Value>(v.as_ref().unwrap()).unwrap()["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids, (0..8).collect::<Vec<_>>());
}

/// State per partition: a group whose committed offset follows a snapshot of the
/// partition's state (marked so) while the shared folder holds none refuses to go on
/// without the state, naming the setting.
#[test]
fn state_per_partition_refuses_a_commit_whose_snapshot_is_missing() {
    let (_cluster, servers) = cluster(&[("log", 1)]);
    put_ids(&servers, "log", 0..6);
    let opts = options(
        "t",
        &servers,
        &[
            ("topic", "log"),
            ("format", "json"),
            ("properties.group.id", "g"),
            ("properties.auto.offset.reset", "earliest"),
            ("scan.bounded.mode", "latest-offset"),
        ],
    );
    // An earlier run committed offset 3 after a snapshot.
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &servers).set("group.id", "g").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("log", 0, Offset::Offset(3)).unwrap();
    tpl.find_partition("log", 0).unwrap().set_metadata("dfl-snapshot");
    consumer.commit(&tpl, rdkafka::consumer::CommitMode::Sync).unwrap();
    drop(consumer);
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("state.checkpoints.dir".to_string(), dir.path().join("own").display().to_string()),
        ("scale-out.state.dir".to_string(), dir.path().join("shared").display().to_string()),
    ]
    .into_iter()
    .collect();
    let cx = Context::new(vec![opts.clone()], settings).with_checkpoints("p").unwrap();
    let source = partitioned::source::<Row>(&opts, &COLUMNS, validate).unwrap();
    let instance = partitioned::instance(|cx: &Context, mut input: partitioned::Partition<Row>| {
        let _task = input.task(cx)?;
        input.run_events(cx, |_| Ok(()))
    });
    let err = partitioned::run(&cx, "t", source, &instance).unwrap_err().to_string();
    assert!(err.contains("committed offset 3 after a snapshot") && err.contains("'scale-out.state.dir'"), "{err}");
}
