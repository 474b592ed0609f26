//! Generated pipelines writing user profiles to the redis-server that
//! `scripts/services.sh up` starts (`DFL_REDIS_URL`), and enriching events with them by
//! lookup join: the hashes in Redis equal the profiles recomputed from the input (updates,
//! and deletes when a profile leaves the result), also when the pipeline is killed after
//! every checkpoint and restarted; joined rows carry the profile of their user, or NULLs;
//! a Redis server killed and restarted while a pipeline writes to it loses nothing.
//!
//! Without `DFL_REDIS_URL` the tests are skipped, unless `CI` is set: then they fail.

use dfl_e2e::{Built, Query, build, output_lines};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Clicks counted per user into Redis hashes; a user with more than 60 clicks leaves the
/// result (HAVING), so its key is deleted.
const PROFILES: &str = "
CREATE TABLE clicks (user_id BIGINT, category STRING, price DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'clicks.json', 'format' = 'json');
CREATE TABLE profiles (
  user_id BIGINT, clicks BIGINT, top_category STRING, spent DOUBLE,
  PRIMARY KEY (user_id) NOT ENFORCED
) WITH ('connector' = 'redis', 'url' = 'redis://127.0.0.1:16379', 'key' = 'profile:{user_id}');
INSERT INTO profiles
SELECT user_id, COUNT(*), MAX(category), SUM(price) FROM clicks GROUP BY user_id HAVING COUNT(*) <= 60;
";

/// Events joined with the profile of their user, read from Redis (cached).
const ENRICH: &str = "
CREATE TABLE events (user_id BIGINT, item STRING, proc_time AS PROCTIME())
WITH ('connector' = 'filesystem', 'path' = 'events.json', 'format' = 'json');
CREATE TABLE profiles (
  user_id BIGINT, clicks BIGINT, top_category STRING, spent DOUBLE,
  PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
  'connector' = 'redis', 'url' = 'redis://127.0.0.1:16379', 'key' = 'profile:{user_id}',
  'lookup.cache.max-rows' = '100', 'lookup.cache.ttl' = '1 min'
);
CREATE TABLE enriched (user_id BIGINT, item STRING, clicks BIGINT, top_category STRING)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO enriched
SELECT e.user_id, e.item, p.clicks, p.top_category
FROM events AS e LEFT JOIN profiles FOR SYSTEM_TIME AS OF e.proc_time AS p ON p.user_id = e.user_id;
";

/// A paced stream of 4,000 numbered clicks (about 2 s) counted per bucket of 40 users.
const PACED: &str = "
CREATE TABLE clicks (n BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '2000',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '4000'
);
CREATE TABLE buckets (bucket BIGINT, clicks BIGINT, PRIMARY KEY (bucket) NOT ENFORCED)
WITH ('connector' = 'redis', 'url' = 'redis://127.0.0.1:16379', 'key' = 'bucket:{bucket}',
      'sink.buffer-flush.max-rows' = '10', 'sink.max-retries' = '30');
INSERT INTO buckets SELECT n % 40, COUNT(*) FROM clicks GROUP BY n % 40;
";

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let queries = [("profiles", PROFILES), ("enrich", ENRICH), ("paced", PACED)]
            .into_iter()
            .map(|(name, text)| Query {
                name: name.into(),
                file: format!("{name}.sql"),
                text: text.into(),
                must_compile: true,
            })
            .collect();
        build("redis_e2e", queries, |_, _| {})
    })
}

fn redis_url() -> Option<String> {
    dfl_e2e::service("DFL_REDIS_URL")
}

/// A profile: clicks, the greatest category, the sum of prices.
type Profile = (i64, String, f64);

/// Writes 12 users' clicks (user u has 20 + 8u of them) and returns the profiles that stay
/// in the result (at most 60 clicks).
fn write_clicks(path: &std::path::Path) -> BTreeMap<i64, Profile> {
    let mut text = String::new();
    let mut all: BTreeMap<i64, Profile> = BTreeMap::new();
    let mut i = 0;
    // Interleaved, so that profiles are updated many times and the deleted ones first
    // stay below the limit.
    for round in 0..108 {
        for user in 0..12i64 {
            if round >= 20 + 8 * user {
                continue;
            }
            let category = ["books", "games", "music", "sports", "travel"][(i * 7 % 5) as usize];
            let price = (i % 13) as f64 * 1.25;
            text.push_str(&format!("{{\"user_id\": {user}, \"category\": \"{category}\", \"price\": {price}}}\n"));
            let p = all.entry(user).or_insert((0, String::new(), 0.0));
            p.0 += 1;
            if category > p.1.as_str() {
                p.1 = category.to_string();
            }
            p.2 += price;
            i += 1;
        }
    }
    std::fs::write(path, text).unwrap();
    all.into_iter().filter(|(_, p)| p.0 <= 60).collect()
}

fn connection(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().expect("connect to redis-server")
}

/// The profile hashes under `prefix`, by user.
fn read_profiles(url: &str, prefix: &str) -> BTreeMap<i64, HashMap<String, String>> {
    let mut con = connection(url);
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:profile:*")).query(&mut con).unwrap();
    keys.into_iter()
        .map(|k| {
            let user = k.rsplit(':').next().unwrap().parse().unwrap();
            (user, redis::cmd("HGETALL").arg(&k).query(&mut con).unwrap())
        })
        .collect()
}

fn assert_profiles(url: &str, prefix: &str, expected: &BTreeMap<i64, Profile>) {
    let got = read_profiles(url, prefix);
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "users in Redis");
    for (user, (clicks, category, spent)) in expected {
        let h = &got[user];
        assert_eq!(h["user_id"], user.to_string());
        assert_eq!(h["clicks"], clicks.to_string(), "user {user}");
        assert_eq!(h["top_category"], *category, "user {user}");
        let s: f64 = h["spent"].parse().unwrap();
        assert!((s - spent).abs() < 1e-9, "user {user}: {s} vs {spent}");
    }
}

fn sets(url: &str, prefix: &str, dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("clicks.path".into(), dir.join("clicks.json").display().to_string()),
        ("profiles.url".into(), url.into()),
        ("profiles.key".into(), format!("{prefix}:profile:{{user_id}}")),
    ]
}

#[test]
fn profiles_in_redis_follow_updates_and_deletes() {
    let Some(url) = redis_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let expected = write_clicks(&tmp.path().join("clicks.json"));
    assert!(expected.len() > 3 && expected.len() < 12, "some profiles must be deleted");
    let p = dfl_e2e::unique("profiles");
    let run = built().run("profiles", &sets(&url, &p, tmp.path()));
    assert!(run.success, "{}", run.stderr);
    assert_profiles(&url, &p, &expected);

    // Events joined with those profiles: known users get theirs, deleted and unknown users NULLs.
    let mut events = String::new();
    for i in 0..200i64 {
        events.push_str(&format!("{{\"user_id\": {}, \"item\": \"item{i}\"}}\n", i % 16));
    }
    std::fs::write(tmp.path().join("events.json"), events).unwrap();
    let out = tmp.path().join("out.json");
    let run = built().run(
        "enrich",
        &[
            ("events.path".into(), tmp.path().join("events.json").display().to_string()),
            ("enriched.path".into(), out.display().to_string()),
            ("profiles.url".into(), url.clone()),
            ("profiles.key".into(), format!("{p}:profile:{{user_id}}")),
        ],
    );
    assert!(run.success, "{}", run.stderr);
    let rows = output_lines(&out);
    assert_eq!(rows.len(), 200, "every event, joined or not");
    for row in rows {
        let v: serde_json::Value = serde_json::from_str(&row).unwrap();
        let user = v["user_id"].as_i64().unwrap();
        match expected.get(&user) {
            Some((clicks, category, _)) => {
                assert_eq!(v["clicks"].as_i64(), Some(*clicks), "{row}");
                assert_eq!(v["top_category"].as_str(), Some(category.as_str()), "{row}");
            }
            None => assert!(v["clicks"].is_null() && v["top_category"].is_null(), "{row}"),
        }
    }
}

#[test]
fn profiles_in_redis_are_right_after_a_crash_after_every_checkpoint() {
    let Some(url) = redis_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let expected = write_clicks(&tmp.path().join("clicks.json"));
    let p = dfl_e2e::unique("crashing");
    let mut sets = sets(&url, &p, tmp.path());
    sets.push(("state.checkpoints.dir".into(), tmp.path().join("checkpoints").display().to_string()));
    let mut crashes = 0;
    loop {
        let out = built()
            .command("profiles", &sets)
            .env("DFL_CHECKPOINT_EVERY_RECORDS", "100")
            .env("DFL_CRASH_AFTER_CHECKPOINTS", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            break;
        }
        assert!(stderr.contains("DFL_CRASH_AFTER_CHECKPOINTS: aborting"), "{stderr}");
        crashes += 1;
        assert!(crashes < 100, "did not finish");
    }
    assert!(crashes >= 3, "only {crashes} crashes");
    assert_profiles(&url, &p, &expected);
}

/// A redis-server of the test's own on a free loopback port, keeping its data in an
/// append-only file so that it survives being killed.
struct OwnServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl OwnServer {
    fn start() -> OwnServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = OwnServer { port, dir: tempfile::tempdir().unwrap(), child: None };
        server.up();
        server
    }

    /// Starts the server and waits until it says it accepts connections.
    fn up(&mut self) {
        let mut child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--daemonize", "no"])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(self.dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start redis-server (scripts/services.sh up installs it)");
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
fn a_pipeline_writing_to_redis_loses_nothing_when_redis_restarts() {
    let Some(_) = redis_url() else { return };
    let mut server = OwnServer::start();
    let url = format!("redis://127.0.0.1:{}", server.port);
    // Redis killed once the pipeline has written (its first keyspace event), restarted once
    // the sink says it retries.
    let mut con = connection(&url);
    redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("Kgh").query::<()>(&mut con).unwrap();
    let mut events = con.as_pubsub();
    events.psubscribe("__keyspace@0__:bucket:*").unwrap();
    events.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut child = built()
        .command("paced", &[("buckets.url".into(), url.clone())])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    events.get_message().expect("the pipeline writes a bucket within a minute");
    drop(events);
    server.down();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "the pipeline ended: {log}");
        log.push_str(&line);
        if line.contains("retrying in") {
            break;
        }
    }
    server.up();
    let rest = std::io::read_to_string(stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{log}{rest}");
    assert!(rest.contains("answering again"), "{rest}");
    // Every bucket holds its 100 clicks.
    let mut con = connection(&url);
    for bucket in 0..40 {
        let h: HashMap<String, String> = redis::cmd("HGETALL").arg(format!("bucket:{bucket}")).query(&mut con).unwrap();
        assert_eq!(h.get("clicks").map(String::as_str), Some("100"), "bucket {bucket}: {h:?}");
    }
}
