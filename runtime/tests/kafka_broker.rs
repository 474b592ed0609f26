//! The Kafka connectors against a real broker (nisshi, a Kafka-protocol broker).
//!
//! They need `DFL_KAFKA_BOOTSTRAP` (set by `eval "$(scripts/services.sh env)"` after
//! `scripts/services.sh up`). Without it they are skipped — unless `CI` is set, where a
//! missing broker fails them. The broker-restart test starts a broker of its own: it needs
//! a nisshi binary (`DFL_NISSHI`, or the one `scripts/services.sh` installs in
//! `$HOME/.cache/dflc/bin`), with the same skip rule.
#![cfg(feature = "kafka")]

use dfl::connectors::format::{Column, ColumnType};
use dfl::connectors::kafka::{self, Record};
use dfl::connectors::{Source, SourceEvent};
use dfl::options::TableOptions;
use dfl::pipeline::{Context, Sink};
use dfl::types::{Str, Timestamp};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The broker to use, or `None` to skip (only outside CI).
fn bootstrap() -> Option<String> {
    match std::env::var("DFL_KAFKA_BOOTSTRAP") {
        Ok(s) if !s.trim().is_empty() => Some(s),
        _ if std::env::var_os("CI").is_some() => {
            panic!("DFL_KAFKA_BOOTSTRAP is not set but CI is: start the broker (scripts/services.sh up) and export it")
        }
        _ => {
            eprintln!(
                "skipped: DFL_KAFKA_BOOTSTRAP is not set (scripts/services.sh up; eval \"$(scripts/services.sh env)\")"
            );
            None
        }
    }
}

/// A name no other run uses.
fn unique(base: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}-{}-{nanos}", std::process::id())
}

fn create_topic(servers: &str, topic: &str, partitions: i32) {
    kafka::create_topic(servers, topic, partitions).unwrap();
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Row {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    name: Option<Str>,
}

static COLUMNS: [Column; 2] = [
    Column { name: "id", ty: ColumnType::BigInt, nullable: false },
    Column { name: "name", ty: ColumnType::Varchar(100), nullable: true },
];

fn validate(row: &Row) -> Result<(), String> {
    row.id.map(|_| ()).ok_or_else(|| "column `id` is NOT NULL".to_string())
}

fn options(servers: &str, pairs: &[(&str, &str)]) -> TableOptions {
    let mut opts = TableOptions::new("t", pairs);
    opts.set("properties.bootstrap.servers", servers);
    opts
}

fn context(opts: &TableOptions) -> Context {
    Context::new(vec![opts.clone()], BTreeMap::new())
}

/// Reads a bounded source to its end: its records, with a minute's limit.
fn read_all(opts: &TableOptions) -> Vec<Record<Row>> {
    let source = kafka::source::<Row>(opts, &COLUMNS, validate).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    source
        .run_events(&context(opts), |e| {
            assert!(started.elapsed() < Duration::from_secs(60), "timed out after {} records", got.len());
            if let SourceEvent::Row(_, r) = e {
                got.push(r);
            }
            Ok(())
        })
        .unwrap();
    got
}

fn write(servers: &str, topic: &str, rows: &[Row]) {
    let opts = options(servers, &[("topic", topic), ("format", "json"), ("key.fields", "id"), ("key.format", "json")]);
    let mut sink = kafka::sink::<Row>(&opts, &COLUMNS).unwrap();
    sink.write_batch(&mut rows.to_vec()).unwrap();
    sink.flush().unwrap();
}

fn rows(ids: std::ops::Range<i64>) -> Vec<Row> {
    ids.map(|i| Row { id: Some(i), name: Some(Str::new(format!("n{i}"))) }).collect()
}

#[test]
fn a_sink_and_a_source_round_trip_through_the_broker() {
    let Some(servers) = bootstrap() else { return };
    let topic = unique("round-trip");
    create_topic(&servers, &topic, 3);
    let before = Timestamp::from_millis(
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap(),
    );
    write(&servers, &topic, &rows(0..60));
    let mut opts = options(
        &servers,
        &[
            ("topic", &topic),
            ("format", "json"),
            ("key.fields", "id"),
            ("key.format", "json"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.bounded.mode", "latest-offset"),
        ],
    );
    let got = read_all(&opts);
    let mut ids: Vec<i64> = got.iter().map(|r| r.value.id.unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (0..60).collect::<Vec<_>>());
    for r in &got {
        assert_eq!(r.key, Some(Row { id: r.value.id, name: None }));
        assert!(r.timestamp.is_some_and(|t| t >= before), "{r:?}");
    }
    let partitions: HashSet<i32> = got.iter().map(|r| r.partition).collect();
    assert_eq!(partitions.len(), 3, "keys spread over the partitions");
    // A start by timestamp: after the first batch, only the second.
    let middle = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
        .unwrap()
        + 1;
    // The broker's clock stamps the next records: wait until it is surely past `middle`.
    while i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
        .unwrap()
        <= middle
    {
        std::thread::yield_now();
    }
    write(&servers, &topic, &rows(100..110));
    opts.set("scan.startup.mode", "timestamp");
    opts.set("scan.startup.timestamp-millis", &middle.to_string());
    let mut ids: Vec<i64> = read_all(&opts).iter().map(|r| r.value.id.unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (100..110).collect::<Vec<_>>());
}

#[test]
fn dead_letters_reach_their_topic() {
    let Some(servers) = bootstrap() else { return };
    let (topic, dlq) = (unique("dirty"), unique("dlq"));
    create_topic(&servers, &topic, 1);
    create_topic(&servers, &dlq, 1);
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", &servers).create().unwrap();
    for (k, v) in [("a", "{\"id\": 1}"), ("b", "{\"id\": \"one\"}"), ("c", "{\"id\": 3}")] {
        producer.send(BaseRecord::to(&topic).key(k).payload(v)).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let opts = options(
        &servers,
        &[
            ("topic", &topic),
            ("format", "json"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.bounded.mode", "latest-offset"),
            ("scan.errors", "dead-letter"),
            ("scan.dead-letter.topic", &dlq),
        ],
    );
    let ids: Vec<i64> = read_all(&opts).iter().map(|r| r.value.id.unwrap()).collect();
    assert_eq!(ids, [1, 3]);
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &servers).set("group.id", unique("check")).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&dlq, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let started = Instant::now();
    let letter = loop {
        assert!(started.elapsed() < Duration::from_secs(60), "no dead letter");
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            assert_eq!(m.key(), Some(&b"b"[..]));
            break serde_json::from_slice::<serde_json::Value>(m.payload().unwrap()).unwrap();
        }
    };
    assert_eq!(letter["topic"], topic.as_str());
    assert_eq!(letter["offset"], 1);
    assert_eq!(letter["value"], "{\"id\": \"one\"}");
    assert!(letter["reason"].as_str().unwrap().starts_with("value: field `id`"), "{letter}");
}

/// What the two members of a group saw.
#[derive(Default)]
struct Seen {
    /// (member, partition, offset) of every row.
    rows: Vec<(usize, i32, i64)>,
    starts: [usize; 2],
    ends: [usize; 2],
}

#[test]
fn two_members_of_a_group_share_the_partitions() {
    let Some(servers) = bootstrap() else { return };
    let topic = unique("shared");
    create_topic(&servers, &topic, 4);
    let group = unique("members");
    write(&servers, &topic, &rows(0..200));
    let opts = options(
        &servers,
        &[
            ("topic", &topic),
            ("format", "json"),
            ("properties.group.id", &group),
            ("properties.auto.offset.reset", "earliest"),
        ],
    );
    let cx = context(&opts);
    let seen = Mutex::new(Seen::default());
    let changed = Condvar::new();
    // Waits until `done` holds, or fails after two minutes.
    let wait = |what: &str, done: &dyn Fn(&Seen) -> bool| {
        let started = Instant::now();
        let mut s = seen.lock().unwrap();
        while !done(&s) {
            let left = Duration::from_secs(120).checked_sub(started.elapsed());
            let Some(left) = left else {
                cx.request_stop();
                panic!("timed out waiting for {what}: {} rows, starts {:?}, ends {:?}", s.rows.len(), s.starts, s.ends)
            };
            s = changed.wait_timeout(s, left).unwrap().0;
        }
    };
    let member = |who: usize| {
        let (seen, changed, cx, opts) = (&seen, &changed, &cx, &opts);
        move || {
            let source = kafka::source::<Row>(opts, &COLUMNS, validate).unwrap();
            let result = source.run_events(cx, |e| {
                let mut s = seen.lock().unwrap();
                match e {
                    SourceEvent::SplitStart(_) => s.starts[who] += 1,
                    SourceEvent::SplitEnd(_) => s.ends[who] += 1,
                    SourceEvent::Row(_, r) => s.rows.push((who, r.partition, r.offset)),
                    _ => return Ok(()),
                }
                changed.notify_all();
                Ok(())
            });
            if result.is_err() {
                cx.request_stop();
            }
            result
        }
    };
    std::thread::scope(|scope| {
        let first = scope.spawn(member(0));
        wait("the first member to read the first 200 rows", &|s| s.rows.len() >= 200);
        let second = scope.spawn(member(1));
        // The group rebalances: the first member gives partitions up (after committing
        // what it read), the second gets some.
        wait("the second member's partitions", &|s| s.starts[1] > 0 && s.ends[0] > 0);
        write(&servers, &topic, &rows(200..400));
        wait("all 400 rows", &|s| s.rows.len() >= 400);
        cx.request_stop();
        first.join().unwrap().unwrap();
        second.join().unwrap().unwrap();
    });
    let s = seen.into_inner().unwrap();
    let mut per_record: HashMap<(i32, i64), usize> = HashMap::new();
    for (_, p, o) in &s.rows {
        *per_record.entry((*p, *o)).or_default() += 1;
    }
    assert_eq!(per_record.len(), 400, "every record read");
    // Offsets committed before the partitions moved: none read twice.
    assert!(
        per_record.values().all(|n| *n == 1),
        "records read twice: {:?}",
        per_record.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let second_rows = s.rows.iter().filter(|(who, ..)| *who == 1).count();
    assert!(second_rows > 0 && second_rows < 200, "the second member read {second_rows} of the last 200 rows");
}

// ------------------------------------------------------------------------------------------
// A broker of the test's own, restarted
// ------------------------------------------------------------------------------------------

/// A nisshi binary, or `None` to skip (only outside CI).
fn nisshi() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DFL_NISSHI").map(PathBuf::from),
        std::env::var_os("DFL_CACHE").map(|c| PathBuf::from(c).join("bin/nisshi")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/dflc/bin/nisshi")),
    ];
    if let Some(found) = candidates.into_iter().flatten().find(|p| p.is_file()) {
        return Some(found);
    }
    if std::env::var_os("CI").is_some() {
        panic!("no nisshi binary (DFL_NISSHI, or scripts/services.sh up to install one) but CI is set");
    }
    eprintln!("skipped: no nisshi binary (set DFL_NISSHI, or run scripts/services.sh up once)");
    None
}

struct Broker {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    storage: &'static str,
    child: Option<Child>,
}

impl Broker {
    /// A broker that forgets everything when it stops.
    fn start(binary: PathBuf) -> Broker {
        Broker::with_storage(binary, "memory://nisshi/")
    }

    /// A broker that keeps topics, records, committed offsets and producer ids across a
    /// restart (a SQLite file in its folder), as a production broker keeps its log.
    fn start_persistent(binary: PathBuf) -> Broker {
        Broker::with_storage(binary, "sqlite://./nisshi.db")
    }

    fn with_storage(binary: PathBuf, storage: &'static str) -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut broker = Broker { binary, dir: tempfile::tempdir().unwrap(), port, storage, child: None };
        broker.up();
        broker
    }

    fn servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker and waits until it says it is ready (its first lines of output);
    /// the rest of its output is drained by a thread.
    fn up(&mut self) {
        use std::io::BufRead;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut child = Command::new(&self.binary)
            .args(["broker", "--group-initial-rebalance-delay", "0s", "--listener-url", &url])
            .args(["--advertised-listener-url", &url, "--storage-engine", self.storage])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        self.child = Some(child);
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("ready") => break,
                Some(Ok(_)) => {}
                other => panic!("the broker ended before it was ready: {other:?}"),
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
    }

    /// Waits, while the broker is down, until a client tries to connect to its port (and
    /// finds nothing that speaks Kafka there).
    fn await_client_while_down(&self) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        let (came, client) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let accepted = listener.accept().map(|_| ());
            // The port is free again before the waiter hears of the client.
            drop(listener);
            let _ = came.send(accepted);
        });
        match client.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("no client came while the broker was down"),
        }
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.down();
    }
}

/// Writes rows 5..20 to topic `topic` of `broker` while it is down, flushes, and
/// restarts it (with the topic) while the flush waits: the flush's result, and whether
/// the flush returned only after the restart.
fn flush_across_restart(broker: &mut Broker, topic: &str, extra: &[(&str, &str)]) -> (dfl::Result<()>, bool) {
    let servers = broker.servers();
    create_topic(&servers, topic, 1);
    let mut pairs = vec![("topic", topic), ("format", "json")];
    pairs.extend_from_slice(extra);
    let opts = options(&servers, &pairs);
    let mut sink = kafka::sink::<Row>(&opts, &COLUMNS).unwrap();
    sink.write_batch(&mut rows(0..5)).unwrap();
    sink.flush().unwrap();
    broker.down();
    sink.write_batch(&mut rows(5..20)).unwrap();
    std::thread::scope(|scope| {
        let (started, flush_started) = std::sync::mpsc::channel();
        let sink = &mut sink;
        let flushing = scope.spawn(move || {
            started.send(()).unwrap();
            let result = sink.flush();
            (result, Instant::now())
        });
        // The flush begins while the broker is away; it may only return once it is back.
        flush_started.recv().unwrap();
        assert!(!flushing.is_finished(), "flush returned while the broker was down");
        broker.up();
        let restarted = Instant::now();
        // Memory storage: the topic is gone with the old process (and kept by a persistent one).
        create_topic(&servers, topic, 1);
        let (result, at) = flushing.join().unwrap();
        (result, at >= restarted)
    })
}

#[test]
fn a_sink_flush_waits_for_a_broker_that_restarts() {
    let Some(binary) = nisshi() else { return };
    let mut broker = Broker::start(binary);
    // The rows written while the broker was away are delivered once it is back. (Not
    // idempotently: the broker's memory storage forgets producer ids, which an idempotent
    // producer cannot recover from; a broker that keeps its state does not.)
    let (result, after) = flush_across_restart(&mut broker, "restart", &[("properties.enable.idempotence", "false")]);
    result.unwrap();
    assert!(after);
    let opts = options(
        &broker.servers(),
        &[
            ("topic", "restart"),
            ("format", "json"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.bounded.mode", "latest-offset"),
        ],
    );
    let mut ids: Vec<i64> = read_all(&opts).iter().map(|r| r.value.id.unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (5..20).collect::<Vec<_>>());
    // An idempotent producer (the default) that the broker forgot fails its flush (at
    // the latest when the rows time out) instead of waiting for ever.
    let (result, after) =
        flush_across_restart(&mut broker, "restart-idempotent", &[("properties.message.timeout.ms", "10000")]);
    assert!(after);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("restart-idempotent"), "{err}");
}

#[test]
fn an_idempotent_sink_delivers_once_across_a_restart_of_a_broker_that_keeps_its_state() {
    let Some(binary) = nisshi() else { return };
    let mut broker = Broker::start_persistent(binary);
    let (result, after) = flush_across_restart(&mut broker, "kept", &[]);
    result.unwrap();
    assert!(after);
    let opts = options(
        &broker.servers(),
        &[
            ("topic", "kept"),
            ("format", "json"),
            ("scan.startup.mode", "earliest-offset"),
            ("scan.bounded.mode", "latest-offset"),
        ],
    );
    let mut ids: Vec<i64> = read_all(&opts).iter().map(|r| r.value.id.unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (0..20).collect::<Vec<_>>());
}

/// Every row a source reads, with the record's position, until it is stopped.
fn read_until_stopped(cx: &Context, opts: &TableOptions, seen: &Mutex<Vec<(i32, i64, i64)>>, changed: &Condvar) {
    let source = kafka::source::<Row>(opts, &COLUMNS, validate).unwrap();
    let result = source.run_events(cx, |e| {
        if let SourceEvent::Row(_, r) = e {
            seen.lock().unwrap().push((r.partition, r.offset, r.value.id.unwrap()));
            changed.notify_all();
        }
        Ok(())
    });
    if let Err(e) = result {
        cx.request_stop();
        panic!("the source failed: {e}");
    }
}

#[test]
fn a_source_waits_for_a_broker_that_restarts_and_resumes_where_it_was() {
    let Some(binary) = nisshi() else { return };
    let mut broker = Broker::start_persistent(binary);
    let servers = broker.servers();
    create_topic(&servers, "events", 2);
    write(&servers, "events", &rows(0..50));
    let opts = options(
        &servers,
        &[
            ("topic", "events"),
            ("format", "json"),
            ("properties.group.id", "resuming"),
            ("scan.startup.mode", "group-offsets"),
            ("properties.auto.offset.reset", "earliest"),
        ],
    );
    let seen = Mutex::new(Vec::new());
    let changed = Condvar::new();
    let wait_for = |n: usize| {
        let started = Instant::now();
        let mut s = seen.lock().unwrap();
        while s.len() < n {
            let left = Duration::from_secs(120).checked_sub(started.elapsed());
            let Some(left) = left else { panic!("timed out waiting for {n} rows: {} read", s.len()) };
            s = changed.wait_timeout(s, left).unwrap().0;
        }
    };
    // One run of the source across a broker restart.
    let cx = context(&opts);
    std::thread::scope(|scope| {
        let reading = scope.spawn(|| read_until_stopped(&cx, &opts, &seen, &changed));
        wait_for(50);
        broker.down();
        broker.await_client_while_down();
        broker.up();
        write(&servers, "events", &rows(50..100));
        wait_for(100);
        cx.request_stop();
        reading.join().unwrap();
    });
    // A second run of the same group starts after what the first one read (offsets
    // committed before it stopped, kept by the broker through its restart).
    write(&servers, "events", &rows(100..120));
    let cx = context(&opts);
    std::thread::scope(|scope| {
        let reading = scope.spawn(|| read_until_stopped(&cx, &opts, &seen, &changed));
        wait_for(120);
        cx.request_stop();
        reading.join().unwrap();
    });
    let seen = seen.into_inner().unwrap();
    let mut ids: Vec<i64> = seen.iter().map(|(_, _, id)| *id).collect();
    ids.sort();
    assert_eq!(ids, (0..120).collect::<Vec<_>>(), "every row once, none lost or repeated");
    let positions: HashSet<(i32, i64)> = seen.iter().map(|(p, o, _)| (*p, *o)).collect();
    assert_eq!(positions.len(), 120);
}

/// The broker here does not implement transactions: an exactly-once sink says so when
/// checkpoints start it, naming what it needs.
#[test]
fn an_exactly_once_sink_on_a_broker_without_transactions_fails_clearly() {
    let Some(servers) = bootstrap() else { return };
    let topic = unique("tx");
    create_topic(&servers, &topic, 1);
    let opts = options(
        &servers,
        &[
            ("topic", &topic),
            ("format", "json"),
            ("sink.delivery-guarantee", "exactly-once"),
            ("sink.transactional-id-prefix", &topic),
            ("properties.transaction.timeout.ms", "10000"),
        ],
    );
    let mut sink = kafka::sink::<Row>(&opts, &COLUMNS).unwrap();
    let started = Instant::now();
    let err = sink.recover(None).unwrap_err().to_string();
    assert!(err.contains("exactly-once needs a broker with transactions"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(90));
}
