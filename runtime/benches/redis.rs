//! The Redis connector on loopback: profile updates per second through the sink (an
//! updating result, 100 changes per user), lookups per second in batches (cache off and
//! on), and the latency a lookup join adds to a row — one batch's round trip (p50, p99)
//! and a single key's. Prints numbers; asserts nothing about time.
//!
//! `bash scripts/services.sh up; eval "$(bash scripts/services.sh env)"`, then
//! `cargo bench -p dfl --bench redis` (`REDIS_BENCH_USERS` users, default 100,000).

use dfl::changelog::{Change, RowKind};
use dfl::connectors::redis::{self, LOOKUP_BATCH, RedisTable};
use dfl::options::TableOptions;
use dfl::pipeline::Sink;
use dfl::types::Str;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Profile {
    user_id: Option<i64>,
    clicks: Option<i64>,
    top_category: Option<Str>,
    spent: Option<f64>,
}

const COLUMNS: &[&str] = &["user_id", "clicks", "top_category", "spent"];

fn table(url: &str, key: &str, extra: &[(&str, &str)]) -> RedisTable {
    let mut pairs = vec![("url", url), ("key", key)];
    pairs.extend_from_slice(extra);
    RedisTable::new(&TableOptions::new("profiles", &pairs), COLUMNS, &["user_id"]).expect("valid options")
}

fn profile(user: i64, n: i64) -> Profile {
    Profile {
        user_id: Some(user),
        clicks: Some(n),
        top_category: Some(Str::from(["books", "games", "music"][(n % 3) as usize])),
        spent: Some(n as f64 * 1.5),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let Ok(url) = std::env::var("DFL_REDIS_URL") else {
        println!("redis bench: skipped, DFL_REDIS_URL is not set (scripts/services.sh up)");
        return;
    };
    let users: i64 = std::env::var("REDIS_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let run = std::process::id();
    let key = format!("bench-{run}:profile:{{user_id}}");

    // Sink: each user's profile updated 10 times (-U/+U pairs), in writer-sized batches;
    // the buffer coalesces a key's changes, so Redis sees the last of each batch.
    let mut sink = redis::sink::<Profile>(table(&url, &key, &[("sink.buffer-flush.max-rows", "1000")])).unwrap();
    let started = Instant::now();
    let mut changes = Vec::with_capacity(1024);
    let mut count = 0u64;
    for n in 1..=10 {
        for user in 0..users {
            if n > 1 {
                changes.push(Change::new(RowKind::UpdateBefore, profile(user, n - 1)));
            }
            changes.push(Change::new(if n == 1 { RowKind::Insert } else { RowKind::UpdateAfter }, profile(user, n)));
            count += 1;
            if changes.len() >= 1024 {
                sink.write_changes(&mut changes).unwrap();
            }
        }
    }
    sink.write_changes(&mut changes).unwrap();
    sink.flush().unwrap();
    let secs = started.elapsed().as_secs_f64();
    let stats = sink.stats();
    println!(
        "redis sink: {count} profile updates in {secs:.2} s = {:.0} updates/s ({} keys written in {} round trips)",
        count as f64 / secs,
        stats.keys_written,
        stats.flushes
    );

    // Lookups in batches of LOOKUP_BATCH, every key present, cache off.
    let mut lookup = redis::lookup::<Profile>(table(&url, &key, &[])).unwrap();
    let keys: Vec<Option<Vec<String>>> = (0..users).map(|u| Some(vec![u.to_string()])).collect();
    let mut batch_times = Vec::new();
    let started = Instant::now();
    let mut found = 0;
    for chunk in keys.chunks(LOOKUP_BATCH) {
        let t = Instant::now();
        found += lookup.get_batch(chunk).unwrap().iter().filter(|r| r.is_some()).count();
        batch_times.push(t.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(found as i64, users, "every profile written is found");
    batch_times.sort();
    println!(
        "redis lookup (batches of {LOOKUP_BATCH}, no cache): {:.0} lookups/s; a batch's round trip p50 {:.2} ms, p99 {:.2} ms",
        users as f64 / secs,
        percentile(&batch_times, 0.5).as_secs_f64() * 1e3,
        percentile(&batch_times, 0.99).as_secs_f64() * 1e3
    );

    // One key at a time (what a row waits for without batching).
    let mut single = Vec::new();
    for u in 0..users.min(20_000) {
        let t = Instant::now();
        lookup.get(&[u.to_string()]).unwrap();
        single.push(t.elapsed());
    }
    single.sort();
    println!(
        "redis lookup (one key): p50 {:.3} ms, p99 {:.3} ms ({:.0} lookups/s)",
        percentile(&single, 0.5).as_secs_f64() * 1e3,
        percentile(&single, 0.99).as_secs_f64() * 1e3,
        single.len() as f64 / single.iter().sum::<Duration>().as_secs_f64()
    );

    // With a cache holding every user: the second pass is answered from memory.
    let mut cached = redis::lookup::<Profile>(table(&url, &key, &[("lookup.cache.max-rows", "1000000")])).unwrap();
    for chunk in keys.chunks(LOOKUP_BATCH) {
        cached.get_batch(chunk).unwrap();
    }
    let started = Instant::now();
    for chunk in keys.chunks(LOOKUP_BATCH) {
        cached.get_batch(chunk).unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("redis lookup (cache hits): {:.0} lookups/s", users as f64 / secs);

    // Clean up the keys written.
    let mut delete = redis::sink::<Profile>(table(&url, &key, &[])).unwrap();
    let mut gone: Vec<Change<Profile>> = (0..users).map(|u| Change::new(RowKind::Delete, profile(u, 10))).collect();
    delete.write_changes(&mut gone).unwrap();
    delete.flush().unwrap();
}
