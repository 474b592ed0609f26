//! The connector against a real redis-server.
//!
//! They need `DFL_REDIS_URL` (set by `eval "$(scripts/services.sh env)"` after
//! `scripts/services.sh up`). Without it they are skipped — unless `CI` is set, where a
//! missing server fails them. The restart test runs a redis-server of its own (the
//! `redis-server` on the PATH, or `DFL_REDIS_SERVER`), with the same skip rule. Each test
//! writes keys under a prefix of its own (test name, process id, time), so that tests
//! running at once never share a key.

use super::codec::tests::{Every, every};
use super::codec::{RowText, row_text};
use super::*;
use super::{lookup as redis_lookup, sink as redis_sink};
use crate::changelog::{Change, RowKind};
use crate::pipeline::Sink;
use crate::types::Str;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// The server to use, or `None` to skip (only outside CI).
fn server() -> Option<String> {
    match std::env::var("DFL_REDIS_URL") {
        Ok(s) if !s.trim().is_empty() => Some(s),
        _ if std::env::var_os("CI").is_some() => {
            panic!("DFL_REDIS_URL is not set but CI is: start Redis (scripts/services.sh up) and export it")
        }
        _ => {
            eprintln!(
                "skipped: DFL_REDIS_URL is not set (scripts/services.sh up; eval \"$(scripts/services.sh env)\")"
            );
            None
        }
    }
}

/// A key prefix no other test or run uses.
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("dfl-test:{test}:{}:{nanos}", std::process::id())
}

fn table(name: &str, pairs: &[(&str, &str)], columns: &[&str], pk: &[&str]) -> RedisTable {
    RedisTable::new(&TableOptions::new(name, pairs), columns, pk).unwrap()
}

/// A plain connection to check what the connector wrote.
fn raw(url: &str, db: i64) -> redis::Connection {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    redis::cmd("SELECT").arg(db).exec(&mut c).unwrap();
    c
}

fn hgetall(c: &mut redis::Connection, key: &str) -> BTreeMap<String, String> {
    redis::cmd("HGETALL").arg(key).query(c).unwrap()
}

fn get(c: &mut redis::Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(c).unwrap()
}

fn exists(c: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<i64>(c).unwrap() == 1
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Row {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    name: Option<Str>,
    #[serde(default)]
    score: Option<f64>,
}

const COLUMNS: &[&str] = &["id", "name", "score"];

fn row(id: i64, name: Option<&str>, score: Option<f64>) -> Row {
    Row { id: Some(id), name: name.map(Str::from), score }
}

fn apply(sink: &mut RedisSink<Row>, changes: Vec<(RowKind, Row)>) {
    let mut changes: Vec<_> = changes.into_iter().map(|(k, r)| Change::new(k, r)).collect();
    sink.write_changes(&mut changes).unwrap();
}

#[test]
fn changes_leave_the_final_state_in_hashes() {
    let Some(url) = server() else { return };
    let p = prefix("changes");
    // A buffer of 2 keys: batches are sent as they fill, the rest at the flush.
    let t = table(&p, &[("url", &url), ("sink.buffer-flush.max-rows", "2")], COLUMNS, &["id"]);
    let mut sink = redis_sink::<Row>(t).unwrap();
    use RowKind::*;
    apply(
        &mut sink,
        vec![
            (Insert, row(1, Some("a"), Some(1.5))),
            (Insert, row(2, Some("b"), None)),
            (Insert, row(3, Some("c"), Some(3.0))),
            (UpdateBefore, row(1, Some("a"), Some(1.5))),
            // A column that becomes NULL leaves the hash: it is replaced whole.
            (UpdateAfter, row(1, Some("a2"), None)),
            (Delete, row(3, Some("c"), Some(3.0))),
            (Insert, row(4, None, Some(-0.5))),
        ],
    );
    // An update-before whose update-after comes in the next batch.
    apply(&mut sink, vec![(UpdateBefore, row(2, Some("b"), None))]);
    apply(&mut sink, vec![(UpdateAfter, row(2, Some("b2"), Some(2.0)))]);
    // An update-before without update-after deletes its key at the flush.
    apply(&mut sink, vec![(UpdateBefore, row(4, None, Some(-0.5)))]);
    sink.flush().unwrap();
    assert_eq!(sink.buffered(), 0);
    let mut c = raw(&url, 0);
    assert_eq!(hgetall(&mut c, &format!("{p}:1")), map(&[("id", "1"), ("name", "a2")]));
    assert_eq!(hgetall(&mut c, &format!("{p}:2")), map(&[("id", "2"), ("name", "b2"), ("score", "2")]));
    assert!(!exists(&mut c, &format!("{p}:3")));
    assert!(!exists(&mut c, &format!("{p}:4")));
    // No expiry without `ttl`.
    assert_eq!(redis::cmd("PTTL").arg(format!("{p}:1")).query::<i64>(&mut c).unwrap(), -1);
    let s = sink.stats();
    assert_eq!(s.rows, 10);
    assert_eq!(s.errors, 0);
    assert!(s.flushes >= 2, "{s:?}");

    // Append-only rows are upserts too.
    sink.write_batch(&mut vec![row(1, Some("again"), None), row(5, Some("e"), None)]).unwrap();
    sink.sync().unwrap();
    assert_eq!(hgetall(&mut c, &format!("{p}:1")), map(&[("id", "1"), ("name", "again")]));
    assert_eq!(hgetall(&mut c, &format!("{p}:5")), map(&[("id", "5"), ("name", "e")]));
}

#[test]
fn a_registered_sink_shows_its_counters_in_the_metrics() {
    let Some(url) = server() else { return };
    let p = prefix("metrics");
    let key = format!("{p}:{{name}}");
    let t = table(&p, &[("url", &url), ("key", &key)], COLUMNS, &[]);
    let cx = crate::pipeline::Context::new(Vec::new(), BTreeMap::new());
    let shared = crate::pipeline::SharedSink::new(redis_sink::<Row>(t).unwrap());
    cx.register_sink("profiles", &shared).unwrap();
    let mut out = shared.writer(&cx);
    for r in [row(1, Some("a"), None), row(2, None, None), row(3, Some("c"), Some(1.0))] {
        out.write(r).unwrap();
    }
    out.flush().unwrap();
    shared.flush().unwrap();
    let text = cx.metrics().render();
    let value = |series: &str| -> f64 {
        let line = text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' '));
        line.unwrap_or_else(|| panic!("no {series} in\n{text}")).parse().unwrap()
    };
    let labels = "{pipeline=\"\",table=\"profiles\",role=\"sink\"}";
    // The connection check and one pipeline of writes.
    assert_eq!(value(&format!("dfl_redis_requests_total{labels}")), 2.0);
    assert_eq!(value(&format!("dfl_redis_errors_total{labels}")), 0.0);
    assert_eq!(value(&format!("dfl_redis_keys_written_total{labels}")), 2.0);
    assert_eq!(value("dfl_skipped_records_total{pipeline=\"\",table=\"profiles\",reason=\"null_key\"}"), 1.0);
    assert_eq!(value("dfl_sink_records_total{pipeline=\"\",table=\"profiles\"}"), 3.0);
    assert!(!text.contains(&url), "the server's URL is no metric");
}

#[test]
fn rows_wait_for_a_full_buffer_the_interval_or_a_flush() {
    let Some(url) = server() else { return };
    let p = prefix("buffer");
    let t = table(
        &p,
        &[("url", &url), ("sink.buffer-flush.max-rows", "3"), ("sink.buffer-flush.interval", "1 h")],
        COLUMNS,
        &["id"],
    );
    let mut sink = redis_sink::<Row>(t).unwrap();
    let mut c = raw(&url, 0);
    sink.write_batch(&mut vec![row(1, None, None), row(2, None, None)]).unwrap();
    assert!(!exists(&mut c, &format!("{p}:1")));
    // Changes of a key already buffered do not fill the buffer.
    sink.write_batch(&mut vec![row(1, Some("x"), None)]).unwrap();
    assert!(!exists(&mut c, &format!("{p}:1")));
    sink.write_batch(&mut vec![row(3, None, None)]).unwrap();
    assert_eq!(hgetall(&mut c, &format!("{p}:1")), map(&[("id", "1"), ("name", "x")]));
    assert!(exists(&mut c, &format!("{p}:3")));
    // A checkpoint sends what is buffered.
    sink.write_batch(&mut vec![row(4, None, None)]).unwrap();
    assert!(!exists(&mut c, &format!("{p}:4")));
    sink.prepare_commit(1).unwrap();
    assert!(exists(&mut c, &format!("{p}:4")));

    // An interval of 0: every write call sends.
    let t = table(
        &p,
        &[("url", &url), ("sink.buffer-flush.max-rows", "1000"), ("sink.buffer-flush.interval", "0 ms")],
        COLUMNS,
        &["id"],
    );
    let mut sink = redis_sink::<Row>(t).unwrap();
    sink.write_batch(&mut vec![row(5, None, None)]).unwrap();
    assert!(exists(&mut c, &format!("{p}:5")));
    // max-rows 0: each row at once.
    let t = table(&p, &[("url", &url), ("sink.buffer-flush.max-rows", "0")], COLUMNS, &["id"]);
    let mut sink = redis_sink::<Row>(t).unwrap();
    sink.write_batch(&mut vec![row(6, None, None), row(7, None, None)]).unwrap();
    assert_eq!(sink.stats().flushes, 2);
    assert!(exists(&mut c, &format!("{p}:7")));
}

#[test]
fn ttl_is_set_on_every_key_written() {
    let Some(url) = server() else { return };
    let p = prefix("ttl");
    let mut c = raw(&url, 0);
    for data_type in ["hash", "string"] {
        let key = format!("{p}:{data_type}:{{id}}");
        let t = table(&p, &[("url", &url), ("ttl", "1 h"), ("data-type", data_type), ("key", &key)], COLUMNS, &[]);
        let mut sink = redis_sink::<Row>(t).unwrap();
        sink.write_batch(&mut vec![row(1, Some("a"), None)]).unwrap();
        sink.flush().unwrap();
        let k = format!("{p}:{data_type}:1");
        let pttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut c).unwrap();
        assert!(pttl > 3_500_000 && pttl <= 3_600_000, "{data_type}: {pttl}");
        // Written again, the expiry starts again.
        redis::cmd("PEXPIRE").arg(&k).arg(1_000_000).exec(&mut c).unwrap();
        sink.write_batch(&mut vec![row(1, Some("b"), None)]).unwrap();
        sink.flush().unwrap();
        let pttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut c).unwrap();
        assert!(pttl > 3_500_000, "{data_type}: {pttl}");
    }
}

#[test]
fn strings_hold_json_or_the_raw_value() {
    let Some(url) = server() else { return };
    let p = prefix("strings");
    let json_key = format!("{p}:json:{{id}}");
    let t = table(&p, &[("url", &url), ("data-type", "string"), ("key", &json_key)], COLUMNS, &[]);
    let mut sink = redis_sink::<Row>(t).unwrap();
    sink.write_batch(&mut vec![row(1, Some("a \"q\""), None), row(2, None, Some(2.5))]).unwrap();
    sink.flush().unwrap();
    let mut c = raw(&url, 0);
    assert_eq!(get(&mut c, &format!("{p}:json:1")).unwrap(), r#"{"id":1,"name":"a \"q\"","score":null}"#);
    assert_eq!(get(&mut c, &format!("{p}:json:2")).unwrap(), r#"{"id":2,"name":null,"score":2.5}"#);

    // Raw, in database 2: the value is the one column not in the key.
    let raw_key = format!("{p}:raw:{{id}}:{{name}}");
    let pairs =
        [("url", url.as_str()), ("database", "2"), ("data-type", "string"), ("value.format", "raw"), ("key", &raw_key)];
    let mut sink = redis_sink::<Row>(table(&p, &pairs, COLUMNS, &[])).unwrap();
    use RowKind::*;
    apply(&mut sink, vec![(Insert, row(1, Some("a"), Some(0.5))), (Insert, row(2, Some("b"), Some(7.0)))]);
    sink.flush().unwrap();
    let mut c2 = raw(&url, 2);
    assert_eq!(get(&mut c2, &format!("{p}:raw:1:a")).as_deref(), Some("0.5"));
    assert_eq!(get(&mut c2, &format!("{p}:raw:2:b")).as_deref(), Some("7"));
    assert_eq!(get(&mut c, &format!("{p}:raw:1:a")), None, "written to database 0");
    // A NULL value deletes the key; so does a delete.
    apply(&mut sink, vec![(UpdateBefore, row(1, Some("a"), Some(0.5))), (UpdateAfter, row(1, Some("a"), None))]);
    apply(&mut sink, vec![(Delete, row(2, Some("b"), Some(7.0)))]);
    sink.flush().unwrap();
    assert!(!exists(&mut c2, &format!("{p}:raw:1:a")));
    assert!(!exists(&mut c2, &format!("{p}:raw:2:b")));
    // Lookups of raw values take the key columns from the key.
    apply(&mut sink, vec![(Insert, row(3, Some("c"), Some(-1.25)))]);
    sink.flush().unwrap();
    let mut lookup = redis_lookup::<Row>(table(&p, &pairs, COLUMNS, &[])).unwrap();
    let got = lookup.get(&["3".to_string(), "c".to_string()]).unwrap();
    assert_eq!(got, Some(row(3, Some("c"), Some(-1.25))));
}

/// The key of [`Every`] rows: most of its columns (not `f` and `d`: floats make poor keys,
/// but they are tested in hashes and JSON).
const EVERY_KEY: &str = "{t}:{s}:{i}:{b}:{ok}:{name}:{amount}:{day}:{at}:{ts}";
const EVERY_COLUMNS: &[&str] =
    &["t", "s", "i", "b", "f", "d", "ok", "name", "amount", "day", "at", "ts", "tags", "bytes"];

/// The key parts of a row as generated code makes them: [`KeyText`] of each value.
fn every_parts(r: &Every) -> Vec<String> {
    vec![
        r.t.unwrap().key_text(),
        r.s.unwrap().key_text(),
        r.i.unwrap().key_text(),
        r.b.unwrap().key_text(),
        r.ok.unwrap().key_text(),
        r.name.as_ref().unwrap().key_text(),
        r.amount.unwrap().key_text(),
        r.day.unwrap().key_text(),
        r.at.unwrap().key_text(),
        r.ts.unwrap().key_text(),
    ]
}

#[test]
fn every_type_goes_from_sink_to_lookup() {
    let Some(url) = server() else { return };
    let p = prefix("every");
    let full = every();
    // The same key, and every other column NULL.
    let sparse = Every {
        t: Some(1),
        s: Some(2),
        i: Some(3),
        b: Some(4),
        ok: Some(false),
        name: Some("".into()),
        // A DECIMAL that a double holds exactly, with a trailing zero.
        amount: Some("2.50".parse().unwrap()),
        day: full.day,
        at: full.at,
        ts: full.ts,
        ..Every::default()
    };
    for data_type in ["hash", "string"] {
        let key = format!("{p}:{data_type}:{EVERY_KEY}");
        let t = table(&p, &[("url", &url), ("data-type", data_type), ("key", &key)], EVERY_COLUMNS, &[]);
        let mut sink = redis_sink::<Every>(t).unwrap();
        sink.write_batch(&mut vec![full.clone(), sparse.clone()]).unwrap();
        sink.flush().unwrap();
        let t = table(&p, &[("url", &url), ("data-type", data_type), ("key", &key)], EVERY_COLUMNS, &[]);
        assert_eq!(t.key_columns(), ["t", "s", "i", "b", "ok", "name", "amount", "day", "at", "ts"]);
        let mut lookup = redis_lookup::<Every>(t).unwrap();
        let got = lookup.get_batch(&[Some(every_parts(&full)), Some(every_parts(&sparse))]).unwrap();
        assert_eq!(got, [Some(full.clone()), Some(sparse.clone())], "{data_type}");
    }
    // Raw: each column in turn is the value, the others the key.
    let mut text = RowText::new();
    row_text(&full, &mut text).unwrap();
    for value_column in EVERY_COLUMNS {
        let key_columns: Vec<&str> = EVERY_COLUMNS.iter().copied().filter(|c| c != value_column).collect();
        let key =
            format!("{p}:raw:{value_column}:{}", key_columns.iter().map(|c| format!("{{{c}}}")).collect::<String>());
        let pairs = [("url", url.as_str()), ("data-type", "string"), ("value.format", "raw"), ("key", &key)];
        let mut sink = redis_sink::<Every>(table(&p, &pairs, EVERY_COLUMNS, &[])).unwrap();
        sink.write_batch(&mut vec![full.clone()]).unwrap();
        sink.flush().unwrap();
        let mut lookup = redis_lookup::<Every>(table(&p, &pairs, EVERY_COLUMNS, &[])).unwrap();
        let parts: Vec<String> =
            key_columns.iter().map(|c| text.iter().find(|f| f.0 == *c).unwrap().1.clone().unwrap()).collect();
        assert_eq!(lookup.get(&parts).unwrap(), Some(full.clone()), "raw {value_column}");
    }
}

#[test]
fn batches_find_rows_miss_keys_and_use_the_cache() {
    let Some(url) = server() else { return };
    let p = prefix("batch");
    let key = format!("{p}:{{id}}");
    let mut sink = redis_sink::<Row>(table(&p, &[("url", &url), ("key", &key)], COLUMNS, &[])).unwrap();
    sink.write_batch(&mut vec![row(1, Some("one"), Some(1.0)), row(2, Some("two"), None)]).unwrap();
    sink.flush().unwrap();
    let k = |id: i64| Some(vec![id.key_text()]);
    let batch = [k(1), k(404), None, k(2), k(1)];
    let want = [
        Some(row(1, Some("one"), Some(1.0))),
        None,
        None,
        Some(row(2, Some("two"), None)),
        Some(row(1, Some("one"), Some(1.0))),
    ];

    // Without cache: one round trip per batch.
    let t = table(&p, &[("url", &url), ("key", &key), ("lookup.missing-key", "skip")], COLUMNS, &[]);
    let mut lookup = redis_lookup::<Row>(t).unwrap();
    assert!(lookup.missing_key_skips());
    let before = lookup.stats().round_trips;
    assert_eq!(lookup.get_batch(&batch).unwrap(), want);
    assert_eq!(lookup.get_batch(&batch).unwrap(), want);
    let s = lookup.stats();
    assert_eq!((s.round_trips - before, s.lookups, s.cache_hits), (2, 8, 0));

    // With a cache: the second batch needs no Redis, missing keys included.
    let pairs = [("url", url.as_str()), ("key", &key), ("lookup.cache.max-rows", "100"), ("lookup.cache.ttl", "1 h")];
    let mut lookup = redis_lookup::<Row>(table(&p, &pairs, COLUMNS, &[])).unwrap();
    assert!(!lookup.missing_key_skips());
    let before = lookup.stats().round_trips;
    assert_eq!(lookup.get_batch(&batch).unwrap(), want);
    assert_eq!(lookup.stats().round_trips - before, 1);
    // The cache answers even what changed in Redis since (until its ttl).
    sink.write_batch(&mut vec![row(404, Some("new"), None)]).unwrap();
    sink.flush().unwrap();
    assert_eq!(lookup.get_batch(&batch).unwrap(), want);
    let s = lookup.stats();
    assert_eq!((s.round_trips - before, s.lookups, s.cache_hits), (1, 8, 4));
    // A new key is read.
    assert_eq!(lookup.get_batch(&[k(3), k(404)]).unwrap(), [None, None]);
    assert_eq!(lookup.stats().round_trips - before, 2);
}

#[test]
fn a_value_that_does_not_parse_names_table_key_and_column() {
    let Some(url) = server() else { return };
    let p = prefix("bad-value");
    let mut c = raw(&url, 0);
    let bad = format!("{p}:1");
    redis::cmd("HSET").arg(&bad).arg("id").arg("1").arg("score").arg("high").exec(&mut c).unwrap();
    redis::cmd("SET").arg(format!("{p}:2")).arg("not a hash").exec(&mut c).unwrap();
    let key = format!("{p}:{{id}}");
    let mut lookup = redis_lookup::<Row>(table("dim", &[("url", &url), ("key", &key)], COLUMNS, &[])).unwrap();
    let e = lookup.get_batch(&[Some(vec!["1".into()])]).unwrap_err().to_string();
    assert_eq!(e, format!("table `dim`: Redis: key '{bad}': column `score`: 'high' is not a DOUBLE"));
    let e = lookup.get_batch(&[Some(vec!["2".into()])]).unwrap_err().to_string();
    assert!(e.contains("WRONGTYPE"), "{e}");
    // With on-error 'null': no row, counted, and the other keys answered.
    let pairs = [("url", url.as_str()), ("key", &key), ("lookup.on-error", "null")];
    let mut lookup = redis_lookup::<Row>(table("dim", &pairs, COLUMNS, &[])).unwrap();
    redis::cmd("HSET").arg(format!("{p}:3")).arg("id").arg("3").exec(&mut c).unwrap();
    let got = lookup.get_batch(&[Some(vec!["1".into()]), Some(vec!["2".into()]), Some(vec!["3".into()])]).unwrap();
    assert_eq!(got, [None, None, Some(row(3, None, None))]);
    assert_eq!(lookup.stats().bad_values, 2);
}

#[test]
fn a_wrong_password_fails_at_once_and_is_not_shown() {
    let Some(url) = server() else { return };
    let pairs = [("url", url.as_str()), ("password", "wrong-s3cret"), ("sink.max-retries", "5")];
    let e = redis_sink::<Row>(table("out", &pairs, COLUMNS, &["id"])).err().unwrap().to_string();
    assert!(e.starts_with("table `out`: cannot write row: cannot connect to Redis at redis://"), "{e}");
    assert!(!e.contains("wrong-s3cret") && !e.contains("retr"), "{e}");
}

// ------------------------------------------------------------------------------------------
// A server of our own, stopped and started again
// ------------------------------------------------------------------------------------------

/// A redis-server on a loopback port, keeping its data in a folder of its own (append-only
/// file, synced at every write) so that it survives a restart.
struct OwnServer {
    binary: String,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl OwnServer {
    /// Starts one, or `None` to skip when there is no redis-server (only outside CI).
    fn start() -> Option<OwnServer> {
        let binary = std::env::var("DFL_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        if Command::new(&binary).arg("--version").stdout(Stdio::null()).status().is_err() {
            if std::env::var_os("CI").is_some() {
                panic!("no {binary} to run but CI is set: install redis-server (scripts/services.sh up)");
            }
            eprintln!("skipped: no {binary} (scripts/services.sh up installs it)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = OwnServer { binary, port, dir: tempfile::tempdir().unwrap(), child: None };
        server.up();
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it says it accepts connections.
    fn up(&mut self) {
        let mut child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--daemonize", "no"])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().expect("piped")));
        let mut log = String::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Ready to accept connections") => break,
                Some(Ok(line)) => log.push_str(&(line + "\n")),
                _ => panic!("redis-server on port {} ended before it was ready:\n{log}", self.port),
            }
        }
        // Its later lines read (and dropped) so that the pipe never fills.
        std::thread::spawn(move || lines.for_each(drop));
        self.child = Some(child);
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.down();
    }
}

#[test]
fn nothing_is_lost_when_redis_goes_away_and_comes_back() {
    let Some(_) = server() else { return };
    let Some(mut own) = OwnServer::start() else { return };
    let url = own.url();
    let p = prefix("restart");
    let key = format!("{p}:{{id}}");
    // Enough retries for a restart: 100 ms + 200 ms + … + 5 s each.
    let pairs = [("url", url.as_str()), ("key", &key), ("sink.max-retries", "30"), ("lookup.max-retries", "30")];
    let mut sink = redis_sink::<Row>(table("out", &pairs, COLUMNS, &[])).unwrap();
    let mut lookup = redis_lookup::<Row>(table("out", &pairs, COLUMNS, &[])).unwrap();
    let first: Vec<Row> = (0..50).map(|i| row(i, Some("first"), None)).collect();
    sink.write_batch(&mut first.clone()).unwrap();
    sink.flush().unwrap();
    assert_eq!(lookup.get(&["7".into()]).unwrap(), Some(row(7, Some("first"), None)));

    // Buffered while Redis is away: sent once it is back.
    let second: Vec<Row> = (50..100).map(|i| row(i, Some("second"), Some(0.5))).collect();
    sink.write_batch(&mut second.clone()).unwrap();
    assert_eq!(sink.buffered(), 50);
    own.down();
    let stats = sink.stats_handle();
    let retries_before = stats.get().retries;
    std::thread::scope(|scope| {
        let flushing = scope.spawn(|| sink.flush());
        // Let the sink find Redis gone and start retrying, then bring Redis back.
        let deadline = Instant::now() + Duration::from_secs(30);
        while stats.get().retries == retries_before {
            assert!(Instant::now() < deadline, "the sink did not retry");
            if flushing.is_finished() {
                panic!("the flush ended without retrying: {:?}", flushing.join());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        own.up();
        flushing.join().unwrap().unwrap();
    });
    assert_eq!(sink.buffered(), 0);
    let s = sink.stats();
    assert!(s.retries > retries_before && s.errors == 0, "{s:?}");

    // Everything is there (the first rows from the server's append-only file).
    let mut c = raw(&url, 0);
    for r in first.iter().chain(&second) {
        let k = format!("{p}:{}", r.id.unwrap());
        let mut want = map(&[("id", &r.id.unwrap().to_string()), ("name", r.name.as_deref().unwrap())]);
        if let Some(score) = r.score {
            want.insert("score".into(), score.to_string());
        }
        assert_eq!(hgetall(&mut c, &k), want, "{k}");
    }
    // The lookup's connection broke too: it reconnects.
    let keys: Vec<Option<Vec<String>>> = [7, 77, 1000].iter().map(|i: &i64| Some(vec![i.key_text()])).collect();
    assert_eq!(
        lookup.get_batch(&keys).unwrap(),
        [Some(row(7, Some("first"), None)), Some(row(77, Some("second"), Some(0.5))), None]
    );
}

#[test]
fn the_sink_fails_naming_table_and_server_when_redis_stays_away() {
    let Some(_) = server() else { return };
    let Some(mut own) = OwnServer::start() else { return };
    let url = format!("redis://:pa55word@127.0.0.1:{}", own.port);
    // (The server has no password: AUTH with one fails; so connect without.)
    let pairs = [("url", own.url()), ("sink.max-retries", "2".into())];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut sink = redis_sink::<Row>(table("out", &pairs, COLUMNS, &["id"])).unwrap();
    own.down();
    sink.write_batch(&mut vec![row(1, None, None)]).unwrap();
    let e = sink.flush().unwrap_err().to_string();
    let shown = format!("table `out`: cannot write row: Redis at {}: ", own.url());
    assert!(e.starts_with(&shown) && e.ends_with("(after 2 retries)"), "{e}");
    assert_eq!(sink.buffered(), 1);
    // The password of a URL is not shown either.
    let t = table("out", &[("url", &url), ("sink.max-retries", "0")], COLUMNS, &["id"]);
    let e = redis_sink::<Row>(t).err().unwrap().to_string();
    assert!(e.contains(&format!("redis://127.0.0.1:{}", own.port)) && !e.contains("pa55word"), "{e}");
}

#[test]
fn an_idle_input_sends_the_rows_that_waited_the_interval() {
    let Some(url) = server() else { return };
    let p = prefix("tick");
    let pairs =
        [("url", url.as_str()), ("sink.buffer-flush.max-rows", "1000"), ("sink.buffer-flush.interval", "20 ms")];
    let mut sink = redis_sink::<Row>(table(&p, &pairs, COLUMNS, &["id"])).unwrap();
    apply(&mut sink, vec![(RowKind::Insert, row(1, Some("a"), None))]);
    // Not due yet: a tick sends nothing.
    sink.tick().unwrap();
    assert_eq!(sink.buffered(), 1);
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(20) {
        std::hint::spin_loop();
    }
    // Due: the idle input's tick sends it, with no further write or flush.
    sink.tick().unwrap();
    assert_eq!(sink.buffered(), 0);
    assert_eq!(hgetall(&mut raw(&url, 0), &format!("{p}:1")), map(&[("id", "1"), ("name", "a")]));
}
