//! The personalization pipeline of `examples/personalization/` (walked through in
//! `docs/personalization.md`), end to end against the services of `scripts/services.sh`:
//! the example files themselves are compiled; a deterministic set of click events, some
//! unreadable and some invalid, is written to a fresh topic; `profiles.sql` reads it to its
//! end (`scan.bounded.mode` = `latest-offset`) and its outputs — the Redis hashes, the
//! compacted topic, the per-minute topic, the rejected and dead-letter topics — are compared
//! with a recomputation from the events, once after a plain run and once after runs killed
//! right after every checkpoint; then `enrich.sql` reads the topic (with more events of
//! known and new users) and every valid event must carry its user's profile, or NULLs.
//! Also: the generator-fed examples (the README's main job) run without any service.
//!
//! Without `DFL_KAFKA_BOOTSTRAP` and `DFL_REDIS_URL` the service tests are skipped, unless
//! `CI` is set: then they fail.

use dfl_e2e::{Built, Query, build, millis, output_lines, service, unique};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Lines of a JSON file (`k`, `line`) written as records with a raw key and a raw value.
const LINES_TO_KAFKA: &str = "
CREATE TABLE src (k STRING, line STRING) WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE dst (k STRING, line STRING) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'raw', 'key.fields' = 'k', 'value.format' = 'raw', 'value.fields-include' = 'EXCEPT_KEY'
);
INSERT INTO dst SELECT k, line FROM src;
";

/// A topic read to its end, each record's key and value as raw text, into a file (in the
/// order read: the order of each partition).
const TOPIC_TO_FILE: &str = "
CREATE TABLE src (k STRING, v STRING) WITH (
  'connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
  'key.format' = 'raw', 'key.fields' = 'k', 'value.format' = 'raw', 'value.fields-include' = 'EXCEPT_KEY'
);
CREATE TABLE dst (k STRING, v STRING) WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT k, v FROM src;
";

fn example(name: &str) -> String {
    let path = dfl_e2e::root().join("examples/personalization").join(format!("{name}.sql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let started = Instant::now();
        let mut queries: Vec<Query> = ["profiles", "enrich", "produce_clicks", "click_features", "features"]
            .into_iter()
            .map(|name| Query {
                name: name.to_string(),
                file: format!("examples/personalization/{name}.sql"),
                text: example(name),
                must_compile: true,
            })
            .collect();
        // profiles.sql shared by processes: the clicks repartitioned by user.
        let partitioned = format!("SET 'scale-out.mode' = 'partition';\n{}", example("profiles"));
        // features.sql N-wide: every keyed step has the user in its key.
        let wide = format!("SET 'parallelism.default' = '2';\n{}", example("features"));
        for (name, text) in [
            ("lines_to_kafka", LINES_TO_KAFKA),
            ("topic_to_file", TOPIC_TO_FILE),
            ("profiles_partitioned", &partitioned),
            ("features_wide", &wide),
        ] {
            queries.push(Query {
                name: name.to_string(),
                file: format!("tests/tests/personalization.rs ({name})"),
                text: text.to_string(),
                must_compile: true,
            });
        }
        let built = build("personalization", queries, |_, _| {});
        eprintln!("built the examples in {:.1} s", started.elapsed().as_secs_f64());
        built
    })
}

/// A fresh topic with `partitions`.
fn topic(servers: &str, base: &str, partitions: i32) -> String {
    let name = unique(base);
    dfl::connectors::kafka::create_topic(servers, &name, partitions).expect("create the topic");
    name
}

fn s(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// Runs `module`; panics with its stderr when it fails. Returns its stdout, its stderr and
/// how long it ran.
fn run(module: &str, sets: &[(String, String)]) -> (String, String, f64) {
    let built = built();
    let started = Instant::now();
    let r = built.run(module, sets);
    let secs = started.elapsed().as_secs_f64();
    assert!(r.success, "{module} failed: {}", r.stderr);
    (r.stdout, r.stderr, secs)
}

/// The pipeline's summary line.
fn summary(stderr: &str) -> &str {
    stderr.lines().rev().find(|l| l.contains(" rows read")).unwrap_or_else(|| panic!("no summary line:\n{stderr}"))
}

// ---------------------------------------------------------------------------------------
// The events

/// 2024-01-01 10:00:00 in epoch milliseconds: the first event's time.
fn t0() -> i64 {
    millis("2024-01-01 10:00:00")
}

/// Milliseconds since the epoch as the pipelines write timestamps (`yyyy-MM-dd HH:mm:ss.SSS`);
/// only for times on 2024-01-01.
fn ts_text(ms: i64) -> String {
    let day = millis("2024-01-01 00:00:00");
    let t = ms - day;
    assert!((0..86_400_000).contains(&t), "the events are on 2024-01-01");
    format!("2024-01-01 {:02}:{:02}:{:02}.{:03}", t / 3_600_000, t / 60_000 % 60, t / 1000 % 60, t % 1000)
}

/// A valid click event, with its category as the pipeline normalises it.
#[derive(Debug, Clone)]
struct Click {
    user: i64,
    item: i64,
    category: String,
    event_type: &'static str,
    cents: i64,
    ts: i64,
}

/// The reasons profiles.sql gives for rejecting a click.
const UNKNOWN: &str = "unknown event type";
const PRICE: &str = "missing or negative price";
const BLANK: &str = "blank category";

const CATEGORIES: [&str; 6] = ["books", "games", "music", "sports", "travel", "garden"];

/// A seeded pseudo-random sequence (a 64-bit LCG).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// The records of a batch (key, value) in the order written, and its valid clicks.
struct Batch {
    records: Vec<(String, String)>,
    valid: Vec<Click>,
    /// Records that cannot be read (dead letters), as written.
    unreadable: Vec<String>,
    /// Readable records the validation rejects: item → the reason it gives.
    rejected: BTreeMap<i64, &'static str>,
}

fn record(
    user: Option<i64>,
    item: i64,
    category: Option<&str>,
    event_type: Option<&str>,
    price: Value,
    ts: Value,
) -> String {
    serde_json::json!({
        "user_id": user, "item_id": item, "category": category, "event_type": event_type, "price": price, "ts": ts,
    })
    .to_string()
}

/// A price in cents as a JSON number with two decimals.
fn price(cents: i64) -> Value {
    let sign = if cents < 0 { "-" } else { "" };
    serde_json::from_str(&format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)).unwrap()
}

/// `n` valid clicks of `users` starting at `start` (ms), about 0.9 s apart and up to 3 s out
/// of order (the watermark allows 5 s, so none is late), each user preferring two
/// categories; every `invalid_every`-th event is followed by an invalid record — in turn
/// unreadable (dead-lettered) or readable but rejected by the validation — at the same time.
fn batch(seed: u64, start: i64, n: i64, users: &[i64], first_item: i64, invalid_every: i64) -> Batch {
    let mut rng = Rng(seed);
    let mut b = Batch { records: Vec::new(), valid: Vec::new(), unreadable: Vec::new(), rejected: BTreeMap::new() };
    let mut invalid = 0;
    for i in 0..n {
        let user = users[rng.below(users.len() as u64) as usize];
        let category = match rng.below(8) {
            0..=2 => CATEGORIES[user as usize % 6],
            3 | 4 => CATEGORIES[(user as usize + 2) % 6],
            _ => CATEGORIES[rng.below(6) as usize],
        };
        let event_type = match rng.below(10) {
            0..=6 => "click",
            7 | 8 => "cart",
            _ => "purchase",
        };
        let cents = rng.below(30_000) as i64;
        let ts = start + i * 900 - rng.below(3_000) as i64;
        let item = first_item + i;
        // Some categories as a client might send them: upper case, padded.
        let written = if i % 11 == 5 { format!("  {}  ", category.to_uppercase()) } else { category.to_string() };
        b.records.push((
            user.to_string(),
            record(Some(user), item, Some(&written), Some(event_type), price(cents), ts_text(ts).into()),
        ));
        b.valid.push(Click { user, item, category: category.to_string(), event_type, cents, ts });
        if i % invalid_every == invalid_every - 1 {
            let at = Value::from(ts_text(ts));
            let (unreadable, line) = match invalid % 12 {
                0 => (None, "{not json".to_string()),
                1 => (None, record(None, item, Some("books"), Some("click"), price(100), at)),
                2 => (
                    None,
                    r#"{"user_id": "u-7", "category": "books", "event_type": "click", "price": 1.00}"#.to_string(),
                ),
                3 => (None, record(Some(user), item, Some("books"), Some("click"), price(100), Value::Null)),
                4 => (None, record(Some(user), item, Some("books"), Some("click"), price(100), "yesterday".into())),
                5 => (Some(UNKNOWN), record(Some(user), item, Some(category), Some("view"), price(100), at)),
                6 => (Some(UNKNOWN), record(Some(user), item, Some(category), None, price(100), at)),
                7 => (Some(PRICE), record(Some(user), item, Some(category), Some("click"), price(-250), at)),
                8 => (Some(PRICE), record(Some(user), item, Some(category), Some("purchase"), Value::Null, at)),
                9 => (Some(BLANK), record(Some(user), item, Some("   "), Some("click"), price(100), at)),
                10 => (Some(BLANK), record(Some(user), item, None, Some("click"), price(100), at)),
                // A user whose every click is invalid: no profile.
                _ => (Some(UNKNOWN), record(Some(13), item, Some("books"), Some("hover"), price(100), at)),
            };
            invalid += 1;
            match unreadable {
                None => b.unreadable.push(line.clone()),
                Some(reason) => assert!(b.rejected.insert(item, reason).is_none()),
            }
            b.records.push((user.to_string(), line));
        }
    }
    b
}

/// Writes a batch's records to `topic`.
fn produce(servers: &str, topic: &str, batch: &Batch, dir: &Path, name: &str) {
    let file = dir.join(format!("{name}.json"));
    let text: String =
        batch.records.iter().map(|(k, line)| serde_json::json!({"k": k, "line": line}).to_string() + "\n").collect();
    std::fs::write(&file, text).unwrap();
    run(
        "lines_to_kafka",
        &[s("src.path", file.display()), s("dst.topic", topic), s("dst.properties.bootstrap.servers", servers)],
    );
}

// ---------------------------------------------------------------------------------------
// The recomputation

/// A minute's activity of a user in a category: clicks, purchases, spend in cents.
type Minute = (i64, i64, i64);

/// Per (user, category, minute start): what `category_minute` must hold.
fn minutes(clicks: &[Click]) -> BTreeMap<(i64, String, i64), Minute> {
    let mut m: BTreeMap<(i64, String, i64), Minute> = BTreeMap::new();
    for c in clicks {
        let e = m.entry((c.user, c.category.clone(), c.ts.div_euclid(60_000) * 60_000)).or_default();
        e.0 += 1;
        if c.event_type == "purchase" {
            e.1 += 1;
            e.2 += c.cents;
        }
    }
    m
}

/// A profile row: the top-3 (category, clicks), the spend of those categories in cents,
/// the window's end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Profile {
    top: Vec<(String, i64)>,
    top_spend: i64,
    window_end: i64,
}

/// Every user's profile of every five-minute window (sliding by a minute) holding one of
/// their clicks, in window order.
fn profiles(clicks: &[Click]) -> BTreeMap<i64, Vec<Profile>> {
    // (user, window start) → category → (clicks, spend).
    let mut windows: BTreeMap<(i64, i64), BTreeMap<String, (i64, i64)>> = BTreeMap::new();
    for c in clicks {
        let last_start = c.ts.div_euclid(60_000) * 60_000;
        for k in 0..5 {
            let e =
                windows.entry((c.user, last_start - k * 60_000)).or_default().entry(c.category.clone()).or_default();
            e.0 += 1;
            if c.event_type == "purchase" {
                e.1 += c.cents;
            }
        }
    }
    let mut out: BTreeMap<i64, Vec<Profile>> = BTreeMap::new();
    for ((user, start), categories) in windows {
        let mut ranked: Vec<(String, i64, i64)> = categories.into_iter().map(|(c, (n, sp))| (c, n, sp)).collect();
        // Most clicks, then most spend, then by name.
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        ranked.truncate(3);
        out.entry(user).or_default().push(Profile {
            top: ranked.iter().map(|(c, n, _)| (c.clone(), *n)).collect(),
            top_spend: ranked.iter().map(|r| r.2).sum(),
            window_end: start + 300_000,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Reading the outputs

/// A DECIMAL's text or JSON number in cents.
fn cents(v: &Value) -> i64 {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a decimal: {other}"),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, "0"));
    let frac: i64 = format!("{frac:0<2}")[..2].parse().unwrap();
    let whole: i64 = whole.parse().unwrap();
    whole * 100 + if whole < 0 { -frac } else { frac }
}

/// A profile from named fields (a Redis hash or a JSON object): `get` gives a field, or
/// `None` for an absent or NULL one.
fn profile_of(get: impl Fn(&str) -> Option<Value>) -> Profile {
    let mut top = Vec::new();
    for n in 1..=3 {
        match (get(&format!("top{n}")), get(&format!("top{n}_clicks"))) {
            (Some(Value::String(c)), Some(clicks)) => {
                let clicks = match clicks {
                    Value::String(s) => s.parse().unwrap(),
                    v => v.as_i64().unwrap(),
                };
                top.push((c, clicks));
            }
            (None, None) => {}
            other => panic!("top{n}: {other:?}"),
        }
    }
    let window_end = match get("window_end") {
        Some(Value::String(s)) => millis(&s),
        other => panic!("window_end: {other:?}"),
    };
    Profile { top, top_spend: cents(&get("top_spend").expect("top_spend")), window_end }
}

/// Every (key, value) record of a topic, in the order of its partitions.
fn records(servers: &str, topic: &str, dir: &Path) -> Vec<(Option<String>, Option<String>)> {
    let out = dir.join(format!("read-{topic}.json"));
    run(
        "topic_to_file",
        &[s("src.topic", topic), s("src.properties.bootstrap.servers", servers), s("dst.path", out.display())],
    );
    output_lines(&out)
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["k"].as_str().map(String::from), v["v"].as_str().map(String::from))
        })
        .collect()
}

fn object(text: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        other => panic!("not a JSON object: {text} ({other:?})"),
    }
}

fn redis_profiles(url: &str, prefix: &str) -> BTreeMap<i64, (Profile, i64)> {
    let mut con = redis::Client::open(url).unwrap().get_connection().expect("connect to redis-server");
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:profile:*")).query(&mut con).unwrap();
    keys.into_iter()
        .map(|k| {
            let hash: BTreeMap<String, String> = redis::cmd("HGETALL").arg(&k).query(&mut con).unwrap();
            let ttl: i64 = redis::cmd("TTL").arg(&k).query(&mut con).unwrap();
            let user: i64 = k.rsplit(':').next().unwrap().parse().unwrap();
            assert_eq!(hash.get("user_id"), Some(&user.to_string()), "{k}: {hash:?}");
            (user, (profile_of(|f| hash.get(f).map(|v| Value::String(v.clone()))), ttl))
        })
        .collect()
}

/// Panics, naming the first differences, unless `got` equals `want`.
#[track_caller]
fn assert_same<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    what: &str,
    got: &BTreeMap<K, V>,
    want: &BTreeMap<K, V>,
) {
    let keys: BTreeSet<&K> = got.keys().chain(want.keys()).collect();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| got.get(k) != want.get(k))
        .map(|k| format!("  {k:?}: got {:?}, want {:?}", got.get(k), want.get(k)))
        .collect();
    assert!(
        diffs.is_empty(),
        "{what}: {} of {} differ, e.g.\n{}",
        diffs.len(),
        want.len(),
        diffs.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

// ---------------------------------------------------------------------------------------

/// The services, and the topics, key prefix and folder of one run.
struct Setup {
    servers: String,
    url: String,
    tmp: tempfile::TempDir,
    clicks: String,
    dlq: String,
    rejected: String,
    minute: String,
    log: String,
    enriched: String,
    prefix: String,
    /// The first batch of clicks, in the topic.
    first: Batch,
}

/// Fresh topics and a key prefix, with 1,000 clicks of users 1-12 over 15 minutes (and 83
/// invalid records among them) in the clicks topic; `None` to skip.
fn setup() -> Option<Setup> {
    let (Some(servers), Some(url)) = (service("DFL_KAFKA_BOOTSTRAP"), service("DFL_REDIS_URL")) else { return None };
    built();
    let tmp = tempfile::tempdir().unwrap();
    let first = batch(7, t0(), 1000, &(1..=12).collect::<Vec<_>>(), 1, 12);
    assert!(first.unreadable.len() >= 30 && first.rejected.len() >= 40, "both kinds of invalid records");
    let clicks = topic(&servers, "pz-clicks", 3);
    produce(&servers, &clicks, &first, tmp.path(), "first");
    Some(Setup {
        dlq: topic(&servers, "pz-dlq", 1),
        rejected: topic(&servers, "pz-rejected", 2),
        minute: topic(&servers, "pz-minute", 2),
        log: topic(&servers, "pz-profiles", 2),
        enriched: topic(&servers, "pz-enriched", 2),
        prefix: unique("pz"),
        clicks,
        servers,
        url,
        tmp,
        first,
    })
}

impl Setup {
    fn broker(&self, table: &str) -> (String, String) {
        s(&format!("{table}.properties.bootstrap.servers"), &self.servers)
    }

    /// profiles.sql's options for this run: its topics, key prefix and checkpoint folder; the
    /// clicks read to their end.
    fn profiles_sets(&self) -> Vec<(String, String)> {
        vec![
            s("clicks.topic", &self.clicks),
            self.broker("clicks"),
            s("clicks.properties.group.id", unique("pz-profiles")),
            s("clicks.scan.bounded.mode", "latest-offset"),
            // No partition goes idle however slowly the machine reads: which clicks are
            // late must not depend on it (none is: they are at most 3 s out of order).
            s("clicks.scan.watermark.idle-timeout", "0 ms"),
            s("clicks.scan.dead-letter.topic", &self.dlq),
            s("rejected_clicks.topic", &self.rejected),
            self.broker("rejected_clicks"),
            s("category_minute.topic", &self.minute),
            self.broker("category_minute"),
            s("profiles.url", &self.url),
            s("profiles.key", format!("{}:profile:{{user_id}}", self.prefix)),
            s("profiles_log.topic", &self.log),
            self.broker("profiles_log"),
            s("state.checkpoints.dir", self.tmp.path().join("checkpoints").display()),
        ]
    }

    /// The dead-letter topic: exactly the unreadable records of the first batch, each with
    /// its reason (replayed: perhaps some twice).
    fn check_dead_letters(&self, replayed: bool) {
        let (servers, dir) = (&self.servers, self.tmp.path());
        let letters: Vec<_> = records(servers, &self.dlq, dir).into_iter().map(|(_, v)| object(&v.unwrap())).collect();
        let values: BTreeSet<&str> = letters.iter().map(|l| l["value"].as_str().unwrap()).collect();
        assert_eq!(
            values,
            self.first.unreadable.iter().map(String::as_str).collect::<BTreeSet<_>>(),
            "the dead-letter topic holds {} records for the {} unreadable ones",
            letters.len(),
            self.first.unreadable.len()
        );
        if !replayed {
            assert_eq!(letters.len(), self.first.unreadable.len(), "each unreadable record once");
        }
        for l in &letters {
            assert_eq!(l["topic"], self.clicks.as_str());
            assert!(!l["reason"].as_str().unwrap().is_empty(), "{l:?}");
        }
    }

    /// Checks profiles.sql's outputs against the recomputation from the first batch and
    /// returns each user's latest profile. `replayed`: the pipeline was restarted from
    /// checkpoints, so the Kafka topics (at least once) may hold records twice.
    fn check_profiles_outputs(&self, replayed: bool) -> BTreeMap<i64, Profile> {
        let (servers, dir) = (&self.servers, self.tmp.path());

        // The rejected topic: exactly the readable invalid clicks, each with its reason.
        let mut rejected: BTreeMap<i64, &str> = BTreeMap::new();
        let rows: Vec<_> =
            records(servers, &self.rejected, dir).into_iter().map(|(_, v)| object(&v.unwrap())).collect();
        for m in &rows {
            let reason = [UNKNOWN, PRICE, BLANK].into_iter().find(|r| m["problem"] == *r);
            let before = rejected.insert(m["item_id"].as_i64().unwrap(), reason.expect("a known reason"));
            assert!(replayed || before.is_none(), "each rejected click once: {m:?}");
        }
        assert_same("rejected clicks, by item", &rejected, &self.first.rejected);

        // The per-minute topic: every (user, category, minute) once (or, replayed, with the
        // same values each time), as recomputed from the valid clicks — the rejected ones
        // counted nowhere, the categories normalised.
        let expected_minutes = minutes(&self.first.valid);
        let mut got_minutes: BTreeMap<(i64, String, i64), Minute> = BTreeMap::new();
        for (key, value) in records(servers, &self.minute, dir) {
            let m = object(&value.unwrap());
            let user = m["user_id"].as_i64().unwrap();
            assert_eq!(key, Some(format!("{{\"user_id\":{user}}}")), "keyed by user: {m:?}");
            let start = millis(m["window_start"].as_str().unwrap());
            assert_eq!(millis(m["window_end"].as_str().unwrap()), start + 60_000, "{m:?}");
            let k = (user, m["category"].as_str().unwrap().to_string(), start);
            let v = (m["clicks"].as_i64().unwrap(), m["purchases"].as_i64().unwrap(), cents(&m["spend"]));
            if let Some(before) = got_minutes.insert(k, v) {
                assert!(replayed && before == v, "each window once: {m:?}, before {before:?}");
            }
        }
        assert!(expected_minutes.len() > 300, "{} minutes", expected_minutes.len());
        assert_same("category_minute", &got_minutes, &expected_minutes);

        // The compacted topic: per user, one profile per window in window order (replayed:
        // the windows after the checkpoint again), so the last value of each key is the
        // latest profile.
        let expected = profiles(&self.first.valid);
        assert_eq!(expected.keys().copied().collect::<Vec<_>>(), (1..=12).collect::<Vec<_>>(), "user 13 has none");
        assert!(expected.values().flatten().any(|p| p.top.len() < 3), "a window with fewer than three categories");
        let mut logged: BTreeMap<i64, Vec<Profile>> = BTreeMap::new();
        for (key, value) in records(servers, &self.log, dir) {
            let m = object(&value.expect("no tombstones: the profiles only append"));
            let user = m["user_id"].as_i64().unwrap();
            assert_eq!(key, Some(format!("{{\"user_id\":{user}}}")), "keyed by the primary key: {m:?}");
            logged.entry(user).or_default().push(profile_of(|f| m.get(f).filter(|v| !v.is_null()).cloned()));
        }
        let latest: BTreeMap<i64, Profile> = expected.iter().map(|(u, w)| (*u, w.last().unwrap().clone())).collect();
        let last_logged: BTreeMap<i64, Profile> = logged.iter().map(|(u, w)| (*u, w.last().unwrap().clone())).collect();
        assert_same("the compacted topic's last value per key", &last_logged, &latest);
        if replayed {
            for (user, windows) in &mut logged {
                windows.sort_by_key(|p| p.window_end);
                windows.dedup();
                assert!(windows.windows(2).all(|w| w[0].window_end < w[1].window_end), "user {user}: {windows:?}");
            }
        }
        let by_window = |m: &BTreeMap<i64, Vec<Profile>>| -> BTreeMap<(i64, usize), Profile> {
            m.iter().flat_map(|(u, w)| w.iter().enumerate().map(move |(i, p)| ((*u, i), p.clone()))).collect()
        };
        assert_same("the compacted topic, (user, n-th record)", &by_window(&logged), &by_window(&expected));

        // Redis: the latest profile of each user, with the TTL of the table (7 days).
        let in_redis = redis_profiles(&self.url, &self.prefix);
        assert_same("Redis", &in_redis.iter().map(|(u, (p, _))| (*u, p.clone())).collect(), &latest);
        for (user, (_, ttl)) in &in_redis {
            assert!((604_000..=604_800).contains(ttl), "user {user}: TTL {ttl} s");
        }
        latest
    }
}

#[test]
fn clicks_become_profiles_in_redis_and_a_compacted_topic_and_enrich_later_clicks() {
    let Some(setup) = setup() else { return };
    let (_, stderr, secs) = run("profiles", &setup.profiles_sets());
    let line = summary(&stderr);
    eprintln!("profiles.sql: {secs:.2} s: {line}");
    let first = &setup.first;
    let readable = first.records.len() - first.unreadable.len();
    assert!(line.contains(&format!(" {readable} rows read")), "{line}");
    assert!(line.contains(&format!(" {} skipped", first.unreadable.len())), "the dead letters are counted: {line}");
    assert!(!line.contains("late"), "no click is late: {line}");
    let latest = setup.check_profiles_outputs(false);

    // More clicks — of known users, of new users 20 and 21, and invalid ones — then every
    // valid click of the topic enriched with its user's profile from Redis (NULLs for new
    // users).
    let second = batch(11, t0() + 1_000_000, 200, &[1, 5, 9, 20, 21], 10_001, 9);
    produce(&setup.servers, &setup.clicks, &second, setup.tmp.path(), "second");
    let (_, stderr, secs) = run(
        "enrich",
        &[
            s("clicks.topic", &setup.clicks),
            setup.broker("clicks"),
            s("clicks.properties.group.id", unique("pz-enrich")),
            s("clicks.scan.bounded.mode", "latest-offset"),
            s("profiles.url", &setup.url),
            s("profiles.key", format!("{}:profile:{{user_id}}", setup.prefix)),
            s("enriched_clicks.topic", &setup.enriched),
            setup.broker("enriched_clicks"),
        ],
    );
    eprintln!("enrich.sql: {secs:.2} s: {}", summary(&stderr));
    type Enriched = (i64, String, String, i64, i64, [Option<String>; 3], i64, Option<i64>);
    // By item: each click has an item of its own.
    let mut want: BTreeMap<i64, Enriched> = BTreeMap::new();
    for c in first.valid.iter().chain(&second.valid) {
        let p = latest.get(&c.user);
        let top: [Option<String>; 3] = std::array::from_fn(|i| p.and_then(|p| p.top.get(i)).map(|t| t.0.clone()));
        let affinity = top.iter().position(|t| t.as_deref() == Some(c.category.as_str())).map_or(0, |i| 3 - i as i64);
        let row = (c.user, c.category.clone(), c.event_type.to_string(), c.cents, c.ts);
        want.insert(c.item, (row.0, row.1, row.2, row.3, row.4, top, affinity, p.map(|p| p.window_end)));
    }
    let mut got: BTreeMap<i64, Enriched> = BTreeMap::new();
    for (_, v) in records(&setup.servers, &setup.enriched, setup.tmp.path()) {
        let m = object(&v.unwrap());
        let text = |f: &str| m[f].as_str().map(String::from);
        let row = (
            m["user_id"].as_i64().unwrap(),
            text("category").unwrap(),
            text("event_type").unwrap(),
            cents(&m["price"]),
            millis(m["ts"].as_str().unwrap()),
            [text("top1"), text("top2"), text("top3")],
            m["affinity"].as_i64().unwrap(),
            text("profile_as_of").map(|t| millis(&t)),
        );
        assert!(got.insert(m["item_id"].as_i64().unwrap(), row).is_none(), "each click once: {m:?}");
    }
    assert!(want.values().filter(|r| r.7.is_none()).count() > 20, "clicks of users without a profile");
    assert!(want.values().filter(|r| r.6 == 3).count() > 100, "clicks in the user's first category");
    assert_same("enriched clicks, by item", &got, &want);
    setup.check_dead_letters(false);
}

/// The guarantees docs/personalization.md states: killed right after every checkpoint and
/// restarted, profiles.sql leaves Redis and the compacted topic's last values exact, and
/// the appended topics hold every record (some twice).
#[test]
fn profiles_are_exact_after_a_crash_after_every_checkpoint() {
    let Some(setup) = setup() else { return };
    let started = Instant::now();
    let mut crashes = 0;
    loop {
        let out = built()
            .command("profiles", &setup.profiles_sets())
            .env("DFL_CHECKPOINT_EVERY_RECORDS", "150")
            .env("DFL_CRASH_AFTER_CHECKPOINTS", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            eprintln!(
                "profiles.sql with {crashes} crashes: {:.2} s: {}",
                started.elapsed().as_secs_f64(),
                summary(&stderr)
            );
            break;
        }
        assert!(stderr.contains("DFL_CRASH_AFTER_CHECKPOINTS: aborting"), "{stderr}");
        crashes += 1;
        assert!(crashes < 50, "did not finish");
    }
    assert!(crashes >= 3, "only {crashes} crashes");
    setup.check_profiles_outputs(true);
    setup.check_dead_letters(true);
}

/// profiles.sql with `'scale-out.mode' = 'partition'` — its clicks repartitioned by user
/// through the pipeline's shuffle topic — in processes sharing its consumer group: of two,
/// one is killed (SIGKILL) once it holds partitions and has read records (or taken a
/// partition's state over), and a third
/// joins. Redis and the
/// compacted topic's last values are exactly those of one process; the appended topics
/// hold every record (some twice).
#[test]
fn profiles_shared_by_processes_through_a_kill_and_a_join_are_exact() {
    let Some(setup) = setup() else { return };
    let mut sets = setup.profiles_sets();
    sets.retain(|(k, _)| k != "clicks.scan.bounded.mode" && k != "state.checkpoints.dir");
    sets.push(s("execution.checkpointing.interval", "300 ms"));
    sets.push(s("scale-out.state.dir", setup.tmp.path().join("shared").display()));
    let start = |n: usize| {
        let mut all = sets.clone();
        all.push(s("state.checkpoints.dir", setup.tmp.path().join(format!("checkpoints-{n}")).display()));
        let mut command = built().command("profiles_partitioned", &all);
        command.args(["--metrics-addr", "127.0.0.1:0"]);
        let running = dfl_e2e::Running::spawn(command);
        let addr = running.metrics_addr(Duration::from_secs(60));
        (running, addr)
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    let (a, a_addr) = start(1);
    let (b, _) = start(2);
    let read = |addr: &str| dfl_e2e::metric(&dfl_e2e::http_get(addr, "/metrics").1, "dfl_source_records_total", &[]);
    // A holds partitions of the shuffle topic when it is killed, and has read clicks or
    // took a partition's state over (B may have read every click before the group gave A
    // its share).
    assert!(a.await_stderr(|l| l.contains(" assigned: "), Duration::from_secs(120)), "A was given no partition");
    while read(&a_addr) < 1.0 && !a.stderr_so_far().contains("its state restored from") {
        if Instant::now() > deadline {
            panic!("A read no record:\n{}", a.kill());
        }
    }
    a.kill();
    let (c, _) = start(3);
    // A click of every user two hours on: the watermark of every partition passes every
    // window of the first clicks (theirs stay open).
    let mut flush = Batch { records: Vec::new(), valid: Vec::new(), unreadable: Vec::new(), rejected: BTreeMap::new() };
    for user in 1..=12 {
        let ts = ts_text(t0() + 7_200_000);
        flush.records.push((
            user.to_string(),
            record(Some(user), 90_000 + user, Some("books"), Some("click"), price(100), ts.into()),
        ));
    }
    produce(&setup.servers, &setup.clicks, &flush, setup.tmp.path(), "flush");
    let latest: BTreeMap<i64, Profile> =
        profiles(&setup.first.valid).into_iter().map(|(u, w)| (u, w.last().unwrap().clone())).collect();
    let minutes_due = minutes(&setup.first.valid).len();
    loop {
        let in_redis: BTreeMap<i64, Profile> =
            redis_profiles(&setup.url, &setup.prefix).into_iter().map(|(u, (p, _))| (u, p)).collect();
        let written: BTreeSet<(String, String)> = records(&setup.servers, &setup.minute, setup.tmp.path())
            .into_iter()
            .filter_map(|(_, v)| {
                let m = object(&v?);
                Some((m["user_id"].to_string(), format!("{}{}", m["category"], m["window_start"])))
            })
            .collect();
        if in_redis == latest && written.len() >= minutes_due {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis holds {} of {} profiles, {} of {minutes_due} minutes written",
            in_redis.len(),
            latest.len(),
            written.len()
        );
    }
    for r in [b, c] {
        r.signal("TERM");
        let (status, stderr) = r.wait();
        assert!(status.success(), "exit status after SIGTERM: {status:?}; stderr:\n{stderr}");
    }
    setup.check_profiles_outputs(true);
    setup.check_dead_letters(true);
}

/// The README's main job and the generator-fed features run with no service at all.
#[test]
fn the_generator_fed_examples_run_without_services() {
    let (stdout, stderr, secs) = run("click_features", &[]);
    eprintln!("click_features.sql: {:.2} s: {}", secs, summary(&stderr));
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("features> +I[")).collect();
    assert_eq!(rows.len(), 20, "{stdout}");
    assert!(summary(&stderr).contains("20 rows read, 20 written"), "{stderr}");

    // Every generated click is in one tumbling window and five sliding ones; every user
    // with clicks gets a top-3 row per sliding window. Also run N-wide (two workers routed
    // by the user), and that build at parallelism 1.
    for (module, parallelism) in [("features", "1"), ("features_wide", "2"), ("features_wide", "1")] {
        features_add_up(module, parallelism);
    }
}

/// features.sql's outputs over 3,000 generated clicks, as `module` at `parallelism`: every
/// click in one tumbling window and five sliding ones, a top-3 row per user and sliding
/// window.
fn features_add_up(module: &str, parallelism: &str) {
    let sets = [s("clicks.number-of-rows", 3000), s("parallelism.default", parallelism)];
    let (stdout, stderr, secs) = run(module, &sets);
    eprintln!("features.sql ({module} at {parallelism}): {:.2} s: {}", secs, summary(&stderr));
    let field = |line: &str, i: usize| -> String {
        let inner = line.split_once("+I[").unwrap().1.trim_end_matches(']');
        inner.split(", ").nth(i).unwrap().to_string()
    };
    let of = |prefix: &str| stdout.lines().filter(move |l| l.starts_with(prefix)).collect::<Vec<_>>();
    let minute_clicks: i64 = of("minute> +I[").iter().map(|l| field(l, 2).parse::<i64>().unwrap()).sum();
    let sliding = of("sliding> +I[");
    let sliding_clicks: i64 = sliding.iter().map(|l| field(l, 1).parse::<i64>().unwrap()).sum();
    assert_eq!(minute_clicks, 3000, "{stderr}");
    assert_eq!(sliding_clicks, 5 * 3000, "{stderr}");
    let user_windows: BTreeSet<(String, String)> = sliding.iter().map(|l| (field(l, 0), field(l, 3))).collect();
    let top3: BTreeSet<(String, String)> = of("top3> +I[").iter().map(|l| (field(l, 0), field(l, 4))).collect();
    assert_eq!(top3, user_windows, "a top-3 row per user and sliding window");
}
