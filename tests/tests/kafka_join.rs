//! A join of two Kafka topics whose pipeline runs in several processes sharing its
//! consumer groups (`'scale-out.mode' = 'partition'`), on the loopback broker that
//! `scripts/services.sh up` starts (`DFL_KAFKA_BOOTSTRAP`): neither topic is keyed by the
//! join key (records spread round-robin), so both are repartitioned by it through the
//! pipeline's shuffle topic, and the processes' instances of the join, each over one
//! partition of it, must give exactly the windows one reader computes.
//!
//! Without `DFL_KAFKA_BOOTSTRAP` the tests are skipped, unless `CI` is set: then they fail.

#[path = "support/profiles.rs"]
mod profiles;

use dfl_e2e::{Built, Query, build, output_lines};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Events from a JSON file into a topic, spread round-robin (not keyed by user).
const EVENTS_TO_KAFKA: &str = "
CREATE TABLE src (user_id BIGINT, category STRING, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE dst (user_id BIGINT, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'format' = 'json', 'sink.partitioner' = 'round-robin'
);
INSERT INTO dst SELECT user_id, category, ts FROM src;
";

/// Per user and 10-second window, the clicks and the views, for the windows with both: a
/// window join of two windowed counts, each table read in group `g`, the state per
/// partition of the shuffle topic.
const JOINED: &str = "
SET 'scale-out.mode' = 'partition';
SET 'execution.checkpointing.interval' = '1 s';
CREATE TABLE clicks (user_id BIGINT, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'properties.auto.offset.reset' = 'earliest', 'format' = 'json'
);
CREATE TABLE views (user_id BIGINT, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka', 'topic' = 'views', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'properties.auto.offset.reset' = 'earliest', 'format' = 'json'
);
CREATE TABLE matches (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT, views BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'matches', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'json'
);
INSERT INTO matches
SELECT c.user_id, c.window_start, c.n, v.n
FROM (
  SELECT user_id, window_start, window_end, COUNT(*) AS n
  FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY user_id, window_start, window_end
) c JOIN (
  SELECT user_id, window_start, window_end, COUNT(*) AS n
  FROM TABLE(TUMBLE(TABLE views, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY user_id, window_start, window_end
) v ON c.user_id = v.user_id AND c.window_start = v.window_start AND c.window_end = v.window_end;
";

/// Each click with the latest name of its user, from an upsert topic of profiles read as a
/// changelog: a regular join whose rows are retracted when a profile changes or goes.
const ENRICHED: &str = "
SET 'scale-out.mode' = 'partition';
SET 'execution.checkpointing.interval' = '1 s';
CREATE TABLE clicks (user_id BIGINT, category STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'properties.auto.offset.reset' = 'earliest', 'format' = 'json'
);
CREATE TABLE profiles (
  user_id BIGINT NOT NULL, name STRING, score DOUBLE, PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'profiles', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'g', 'key.format' = 'json', 'value.format' = 'json'
);
CREATE TABLE enriched (user_id BIGINT, category STRING, name STRING) WITH ('connector' = 'print');
INSERT INTO enriched SELECT c.user_id, c.category, p.name FROM clicks AS c JOIN profiles AS p ON c.user_id = p.user_id;
";

/// The matches topic read to its end into a file.
const MATCHES_TO_FILE: &str = "
CREATE TABLE src (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT, views BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'matches', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);
CREATE TABLE dst (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT, views BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT user_id, window_start, clicks, views FROM src;
";

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let queries = [
            ("events_to_kafka", EVENTS_TO_KAFKA),
            ("joined", JOINED),
            ("enriched", ENRICHED),
            ("matches_to_file", MATCHES_TO_FILE),
        ]
        .into_iter()
        .map(|(name, text)| Query {
            name: name.to_string(),
            file: format!("tests/tests/kafka_join.rs ({name})"),
            text: text.to_string(),
            must_compile: true,
        })
        .collect();
        build("kafka_join", queries, |_, _| {})
    })
}

fn s(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// Runs `module` with `--set` pairs; panics with its stderr when it fails.
fn run(module: &str, sets: &[(String, String)]) {
    let r = built().run(module, sets);
    assert!(r.success, "{module} failed: {}", r.stderr);
}

/// A topic name no other run uses, created with `partitions`.
fn topic(servers: &str, base: &str, partitions: i32) -> String {
    let name = dfl_e2e::unique(base);
    dfl::connectors::kafka::create_topic(servers, &name, partitions).expect("create the topic");
    name
}

/// Click `i`: of user `i % 7`, at second `i`.
fn click(i: i64) -> (i64, i64) {
    (i % 7, i)
}

/// View `i`: of user `i * 4 % 9` (users 7 and 8 never click), at second `i`.
fn view(i: i64) -> (i64, i64) {
    (i * 4 % 9, i)
}

fn stamp(second: i64) -> String {
    format!("2024-01-01 {:02}:{:02}:{:02}", second / 3600, second / 60 % 60, second % 60)
}

/// Per (user, window start) with both, the clicks and views of events `0..n` of each.
type Matches = BTreeMap<(i64, String), (i64, i64)>;

fn expected(n: i64) -> Matches {
    let mut counts: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
    for i in 0..n {
        let ((cu, ct), (vu, vt)) = (click(i), view(i));
        counts.entry((cu, stamp(ct / 10 * 10))).or_default().0 += 1;
        counts.entry((vu, stamp(vt / 10 * 10))).or_default().1 += 1;
    }
    counts.retain(|_, (c, v)| *c > 0 && *v > 0);
    assert!(counts.values().any(|&(c, v)| c > 1 && v > 1), "windows with several events of each");
    counts
}

/// Processes of `joined` over a clicks and a views topic in one group, their state in one
/// shared folder, each with a checkpoint folder of its own.
struct Joined<'a> {
    servers: &'a str,
    clicks: String,
    views: String,
    matches: String,
    group: String,
    dir: &'a Path,
    started: usize,
    /// More `--set`s for every process.
    sets: Vec<(String, String)>,
}

impl<'a> Joined<'a> {
    /// Topics of 4 (clicks) and 3 (views) partitions: the shuffle topic takes the first's.
    fn new(servers: &'a str, dir: &'a Path) -> Self {
        let (clicks, views) = (topic(servers, "join-clicks", 4), topic(servers, "join-views", 3));
        let matches = topic(servers, "join-matches", 1);
        let group = format!("dflc-test-{clicks}");
        Joined { servers, clicks, views, matches, group, dir, started: 0, sets: Vec::new() }
    }

    /// Writes `events` (user, second) into `topic`, round-robin over its partitions.
    fn write(&self, topic: &str, events: impl Iterator<Item = (i64, i64)>) {
        let file = self.dir.join(format!("{}.json", dfl_e2e::unique("in")));
        let lines: String = events
            .map(|(user, second)| {
                serde_json::json!({"user_id": user, "category": "c", "ts": stamp(second)}).to_string() + "\n"
            })
            .collect();
        std::fs::write(&file, lines).unwrap();
        run(
            "events_to_kafka",
            &[
                s("src.path", file.display()),
                s("dst.topic", topic),
                s("dst.properties.bootstrap.servers", self.servers),
            ],
        );
    }

    /// Writes clicks and views `range`.
    fn write_events(&self, range: std::ops::Range<i64>) {
        self.write(&self.clicks, range.clone().map(click));
        self.write(&self.views, range.map(view));
    }

    /// Events of every user far ahead in both topics: every partition's watermark passes
    /// every window of the events before (the windows of these stay open).
    fn write_flush(&self) {
        let ahead = |i: i64| (i % 9, 7200);
        self.write(&self.clicks, (0..36).map(ahead));
        self.write(&self.views, (0..36).map(ahead));
    }

    /// Starts a process; returns it and its metrics address.
    fn start(&mut self) -> (dfl_e2e::Running, String) {
        self.started += 1;
        let mut sets = vec![
            s("scale-out.state.dir", self.dir.join("shared-state").display()),
            s("state.checkpoints.dir", self.dir.join(format!("checkpoints-{}", self.started)).display()),
            s("matches.topic", &self.matches),
            s("matches.properties.bootstrap.servers", self.servers),
        ];
        for (table, topic) in [("clicks", &self.clicks), ("views", &self.views)] {
            sets.push(s(&format!("{table}.topic"), topic));
            sets.push(s(&format!("{table}.properties.bootstrap.servers"), self.servers));
            sets.push(s(&format!("{table}.properties.group.id"), &self.group));
        }
        sets.extend(self.sets.iter().cloned());
        let mut command = built().command("joined", &sets);
        command.args(["--metrics-addr", "127.0.0.1:0"]);
        let running = dfl_e2e::Running::spawn(command);
        let addr = running.metrics_addr(Duration::from_secs(60));
        (running, addr)
    }

    /// The matches written so far; a window written more than once (after a process died)
    /// must have the same counts each time.
    fn matches(&self) -> Matches {
        let out = self.dir.join(format!("{}.json", dfl_e2e::unique("matches")));
        let sets = [s("src.topic", &self.matches), s("src.properties.bootstrap.servers", self.servers)];
        run("matches_to_file", &[sets[0].clone(), sets[1].clone(), s("dst.path", out.display())]);
        let mut got = Matches::new();
        for line in output_lines(&out) {
            let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&line) else {
                panic!("not a JSON object: {line}")
            };
            let key = (
                m["user_id"].as_i64().unwrap(),
                m["window_start"].as_str().unwrap().trim_end_matches(".000").to_string(),
            );
            let counts = (m["clicks"].as_i64().unwrap(), m["views"].as_i64().unwrap());
            if let Some(before) = got.insert(key.clone(), counts) {
                assert_eq!(before, counts, "window {key:?} written with two counts");
            }
        }
        got
    }

    /// Waits until the matches topic holds as many windows as events `0..written` make,
    /// and returns them with those expected.
    fn windows(&self, written: i64, deadline: Instant) -> (Matches, Matches) {
        assert!(written < 3600, "the events' times stay in the hour");
        let expected = expected(written);
        let mut got = self.matches();
        while got.len() < expected.len() && Instant::now() < deadline {
            got = self.matches();
        }
        (got, expected)
    }
}

fn records_read(addr: &str) -> f64 {
    dfl_e2e::metric(&dfl_e2e::http_get(addr, "/metrics").1, "dfl_source_records_total", &[])
}

/// Stops a running pipeline with SIGTERM; it must exit successfully.
fn terminate(r: dfl_e2e::Running) {
    r.signal("TERM");
    let (status, stderr) = r.wait();
    assert!(status.success(), "exit status after SIGTERM: {status:?}; stderr:\n{stderr}");
}

/// Three processes of the join share the groups, one is killed (SIGKILL) mid-run and a
/// fourth joins: the matches are exactly those one reader of both topics computes, none
/// written with other counts — the killed process's partitions of the shuffle topic go on
/// from their last checkpoint elsewhere, what it had written to the shuffle topic again
/// is read once, and no event comes after the watermark the marks of both tables give.
#[test]
fn three_processes_join_two_topics_keyed_otherwise_through_a_kill_and_a_join() {
    let Some(servers) = dfl_e2e::service("DFL_KAFKA_BOOTSTRAP") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Joined::new(&servers, tmp.path());
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut next = 0;
    let mut write = |p: &Joined<'_>, n: i64| {
        p.write_events(next..next + n);
        next += n;
        next
    };
    let ((a, a_addr), (b, b_addr), (c, c_addr)) = (p.start(), p.start(), p.start());
    while [&a_addr, &b_addr, &c_addr].iter().any(|addr| records_read(addr) == 0.0) {
        assert!(Instant::now() < deadline, "the groups did not spread their partitions over three processes");
        write(&p, 40);
    }
    write(&p, 300);
    // Some windows have fired (the processes checkpoint meanwhile).
    while p.matches().len() < 20 {
        assert!(Instant::now() < deadline, "no matches came");
    }
    // B dies; D joins; more events come meanwhile.
    write(&p, 300);
    let b_err = b.kill();
    let (d, _) = p.start();
    let written = write(&p, 900);
    p.write_flush();
    let (got, expected) = p.windows(written, deadline);
    assert_eq!(got, expected, "B: {b_err}");
    // One shuffle topic for both tables, named after the group and the task; the records
    // its readers committed are deleted from it (every partition has had some).
    let shuffle = format!("{}-clicks_views-repartition", p.group);
    while dfl::connectors::kafka::earliest_offsets(&servers, &shuffle).unwrap().contains(&0) {
        assert!(Instant::now() < deadline, "the shuffle topic's records read were not deleted");
    }
    [a, c, d].into_iter().for_each(terminate);
    let shared = tmp.path().join("shared-state/clicks+views").join(&shuffle);
    assert_eq!(std::fs::read_dir(&shared).map(|d| d.count()).unwrap_or(0), 4, "{}", shared.display());
}

/// Two processes of the join reading both topics to an end ('scan.bounded.mode'): the
/// instances read the shuffle topic until the marks of both tables say every partition
/// ended, fire what is open, and both processes stop by themselves with every window.
#[test]
fn two_processes_joining_two_topics_to_their_end_stop_by_themselves_with_every_window() {
    let Some(servers) = dfl_e2e::service("DFL_KAFKA_BOOTSTRAP") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Joined::new(&servers, tmp.path());
    p.sets.push(s("clicks.scan.bounded.mode", "latest-offset"));
    p.sets.push(s("views.scan.bounded.mode", "latest-offset"));
    p.write_events(0..600);
    let (a, _) = p.start();
    let (b, _) = p.start();
    for r in [a, b] {
        let (status, stderr) = r.wait();
        assert!(status.success(), "{stderr}");
    }
    let (got, expected) = p.windows(600, Instant::now() + Duration::from_secs(60));
    assert_eq!(got, expected);
}

/// Two processes enrich clicks (written round-robin) with the latest profile of their user
/// from an upsert topic read as a changelog, both repartitioned by the user (a deletion by
/// its key alone): once both share the work, the clicks and profile changes (upserts,
/// renames, deletions) come, and the changes the processes print, applied, leave every click
/// with its user's latest name (none for users without a profile, or deleted), as one
/// process does.
#[test]
fn two_processes_enrich_clicks_with_the_latest_profiles_of_an_upsert_topic() {
    let Some(servers) = dfl_e2e::service("DFL_KAFKA_BOOTSTRAP") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = Joined::new(&servers, tmp.path());
    let (clicks, profiles) = (&p.clicks, &p.views);
    let shuffle = format!("{}-clicks_profiles-repartition", p.group);
    let outputs: Vec<std::path::PathBuf> = (1..=2).map(|n| tmp.path().join(format!("stdout-{n}.txt"))).collect();
    let processes: Vec<dfl_e2e::Running> = outputs
        .iter()
        .enumerate()
        .map(|(n, out)| {
            let sets = [
                s("clicks.topic", clicks),
                s("clicks.properties.bootstrap.servers", &servers),
                s("clicks.properties.group.id", &p.group),
                s("profiles.topic", profiles),
                s("profiles.properties.bootstrap.servers", &servers),
                s("profiles.properties.group.id", &p.group),
                s("scale-out.state.dir", tmp.path().join("shared-state").display()),
                s("state.checkpoints.dir", tmp.path().join(format!("checkpoints-{n}")).display()),
            ];
            let command = built().command("enriched", &sets);
            dfl_e2e::Running::spawn_with_stdout(command, std::fs::File::create(out).unwrap())
        })
        .collect();
    // Both take partitions of the shuffle topic before anything comes.
    for r in &processes {
        let assigned = |l: &str| l.contains(&format!("of {shuffle} assigned"));
        assert!(r.await_stderr(assigned, Duration::from_secs(60)), "a process ended before it shared the work");
    }
    p.write(clicks, (0..600).map(|i| (i % 37, i)));
    let (ops, latest) = profiles::changing_profiles();
    profiles::write_profiles(&servers, profiles, &ops);
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for i in 0..600 {
        let user = i % 37;
        if let Some(name) = latest.get(&user) {
            *expected.entry(format!("[{user}, c, {name}]")).or_default() += 1;
        }
    }
    assert!(expected.len() > 20, "{} joined rows", expected.len());
    // The changes of both, applied: rows by their count (a retraction may be printed by
    // the process a partition went to, of a row the other printed).
    let applied = || {
        let mut table: BTreeMap<String, i64> = BTreeMap::new();
        for out in &outputs {
            for line in std::fs::read_to_string(out).unwrap().lines().filter(|l| l.starts_with(['+', '-'])) {
                let (kind, row) = line.split_at(2);
                *table.entry(row.to_string()).or_default() += if kind.starts_with('+') { 1 } else { -1 };
            }
        }
        table.retain(|_, n| *n != 0);
        table
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut table = applied();
    while table != expected && Instant::now() < deadline {
        // The output so far is read again after a pause: the processes print as they go.
        let _ = processes[0].wait_timeout(Duration::from_millis(200));
        table = applied();
    }
    assert_eq!(table, expected);
    processes.into_iter().for_each(terminate);
}
