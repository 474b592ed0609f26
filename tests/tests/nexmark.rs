//! The Nexmark queries dflc compiles (q0, q1, q2, q11, q12, q14, q21, q22), unchanged but for their
//! blackhole sinks turned into JSON files, run on the seeded `nexmark` generator. Their
//! outputs are checked against an independent computation in this file over the bids
//! the same generator writes out (`examples/nexmark/bench/gen_bids.sql`).

use dfl_e2e::{Built, Query, build, millis, output_lines, root, snapshot_code};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const QUERIES: &[&str] = &["q0", "q1", "q2", "q11", "q12", "q14", "q21", "q22"];
/// Events generated: a multiple of 50, so the 1:3:46 proportions are exact.
const EVENTS: u64 = 50_000;

fn nexmark_source(q: &str) -> String {
    let text = std::fs::read_to_string(root().join(format!("examples/nexmark/{q}.sql"))).expect("nexmark query");
    text.replace("'connector' = 'blackhole'", "'connector' = 'filesystem', 'path' = 'out/', 'format' = 'json'")
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut queries: Vec<Query> = QUERIES
            .iter()
            .map(|q| Query {
                name: format!("nexmark_{q}"),
                file: format!("examples/nexmark/{q}.sql"),
                text: nexmark_source(q),
                must_compile: true,
            })
            .collect();
        queries.push(Query {
            name: "gen_bids".into(),
            file: "examples/nexmark/bench/gen_bids.sql".into(),
            text: std::fs::read_to_string(root().join("examples/nexmark/bench/gen_bids.sql")).unwrap(),
            must_compile: true,
        });
        build("nexmark", queries, |name, rust| {
            if name != "gen_bids" {
                snapshot_code(name, rust)
            }
        })
    })
}

/// Runs `module` on the seeded generator; returns its output rows as JSON objects.
fn run(module: &str, sink: &str, dir: &std::path::Path) -> Vec<serde_json::Map<String, Value>> {
    let out = dir.join(module);
    let sets = vec![
        ("datagen.events.num".to_string(), EVENTS.to_string()),
        ("datagen.seed".to_string(), "11".to_string()),
        ("datagen.first-event.rate".to_string(), "10000000".to_string()),
        ("datagen.next-event.rate".to_string(), "10000000".to_string()),
        (format!("{sink}.path"), format!("{}/", out.display())),
    ];
    let r = built().run(module, &sets);
    assert!(r.success, "{module} failed: {}", r.stderr);
    output_lines(&out)
        .iter()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => m,
            other => panic!("{module}: not a JSON object: {l} ({other:?})"),
        })
        .collect()
}

struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: String,
    url: String,
    date_time: String,
    extra: String,
}

fn bids(dir: &std::path::Path) -> &'static Vec<Bid> {
    static BIDS: OnceLock<Vec<Bid>> = OnceLock::new();
    BIDS.get_or_init(|| {
        run("gen_bids", "bids", dir)
            .into_iter()
            .map(|m| Bid {
                auction: m["auction"].as_i64().unwrap(),
                bidder: m["bidder"].as_i64().unwrap(),
                price: m["price"].as_i64().unwrap(),
                channel: m["channel"].as_str().unwrap().to_string(),
                url: m["url"].as_str().unwrap().to_string(),
                date_time: m["dateTime"].as_str().unwrap().to_string(),
                extra: m["extra"].as_str().unwrap().to_string(),
            })
            .collect()
    })
}

fn tmp() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
}

/// Rows as sorted JSON texts, to compare as multisets.
fn multiset(rows: impl IntoIterator<Item = Value>) -> Vec<String> {
    let mut v: Vec<String> = rows.into_iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

fn objects(rows: Vec<serde_json::Map<String, Value>>) -> Vec<String> {
    multiset(rows.into_iter().map(Value::Object))
}

#[test]
fn q0_passes_through_exactly_the_bids() {
    let bids = bids(tmp().path());
    assert_eq!(bids.len() as u64, EVENTS / 50 * 46, "46 of every 50 events are bids");
    let out = run("nexmark_q0", "nexmark_q0", tmp().path());
    let expected = multiset(bids.iter().map(|b| {
        serde_json::json!({"auction": b.auction, "bidder": b.bidder, "price": b.price, "dateTime": b.date_time, "extra": b.extra})
    }));
    assert_eq!(objects(out), expected);
}

#[test]
fn q1_converts_prices_exactly() {
    let bids = bids(tmp().path());
    let out = run("nexmark_q1", "nexmark_q1", tmp().path());
    let expected = multiset(bids.iter().map(|b| {
        // DECIMAL(23, 3): price × 0.908 is exact with three decimals.
        let price = (b.price * 908) as f64 / 1000.0;
        serde_json::json!({"auction": b.auction, "bidder": b.bidder, "price": price, "dateTime": b.date_time, "extra": b.extra})
    }));
    let actual = multiset(out.into_iter().map(|mut m| {
        let p = m["price"].as_f64().expect("price is a number");
        m.insert("price".into(), serde_json::json!(p));
        Value::Object(m)
    }));
    assert_eq!(actual, expected);
}

#[test]
fn q2_selects_auctions_divisible_by_123() {
    let bids = bids(tmp().path());
    let out = run("nexmark_q2", "nexmark_q2", tmp().path());
    let expected: Vec<String> = multiset(
        bids.iter()
            .filter(|b| b.auction % 123 == 0)
            .map(|b| serde_json::json!({"auction": b.auction, "price": b.price})),
    );
    assert!(!expected.is_empty(), "the sample should contain such auctions");
    assert_eq!(objects(out), expected);
}

/// `REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)`, by hand: the value of the first
/// `channel_id=` at the start or after `&`.
fn channel_id(url: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = url[from..].find("channel_id=") {
        let at = from + i;
        if at == 0 || url.as_bytes()[at - 1] == b'&' {
            let rest = &url[at + "channel_id=".len()..];
            return Some(rest.split('&').next().unwrap_or("").to_string());
        }
        from = at + 1;
    }
    None
}

#[test]
fn q21_extracts_channel_ids() {
    let bids = bids(tmp().path());
    let out = run("nexmark_q21", "nexmark_q21", tmp().path());
    let known: BTreeMap<&str, &str> = [("apple", "0"), ("google", "1"), ("facebook", "2"), ("baidu", "3")].into();
    let expected = multiset(bids.iter().filter_map(|b| {
        let lower = b.channel.to_lowercase();
        let extracted = channel_id(&b.url);
        if extracted.is_none() && !known.contains_key(lower.as_str()) {
            return None;
        }
        let id = known.get(lower.as_str()).map(|s| s.to_string()).or(extracted);
        Some(serde_json::json!({"auction": b.auction, "bidder": b.bidder, "price": b.price, "channel": b.channel, "channel_id": id}))
    }));
    assert!(expected.len() > 1000, "most bids have a channel id");
    assert_eq!(objects(out), expected);
}

#[test]
fn q22_splits_urls() {
    let bids = bids(tmp().path());
    let out = run("nexmark_q22", "nexmark_q22", tmp().path());
    let expected = multiset(bids.iter().map(|b| {
        let parts: Vec<&str> = b.url.split('/').collect();
        let dir = |i: usize| parts.get(i).map(|s| s.to_string());
        serde_json::json!({"auction": b.auction, "bidder": b.bidder, "price": b.price, "channel": b.channel,
            "dir1": dir(3), "dir2": dir(4), "dir3": dir(5)})
    }));
    assert_eq!(objects(out), expected);
}

#[test]
fn the_generator_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let again = run("gen_bids", "bids", dir.path());
    let first = bids(tmp().path());
    assert_eq!(again.len(), first.len());
    for (a, b) in again.iter().zip(first) {
        assert_eq!(a["auction"].as_i64(), Some(b.auction));
        assert_eq!(a["url"].as_str(), Some(b.url.as_str()));
        assert_eq!(a["dateTime"].as_str(), Some(b.date_time.as_str()));
    }
}

#[test]
fn q12_counts_every_bid_once_per_processing_time_window() {
    let bids = bids(tmp().path());
    let out = run("nexmark_q12", "nexmark_q12", tmp().path());
    // Windows of processing time depend on the clock, but every bid is counted exactly
    // once, in one window of its bidder; each (bidder, window) is one row.
    let total: i64 = out.iter().map(|m| m["bid_count"].as_i64().expect("a count")).sum();
    assert_eq!(total as usize, bids.len());
    let mut keys: Vec<(i64, String)> =
        out.iter().map(|m| (m["bidder"].as_i64().unwrap(), m["starttime"].as_str().unwrap().to_string())).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "one row per bidder and window");
    let mut per_bidder: BTreeMap<i64, i64> = BTreeMap::new();
    for b in bids {
        *per_bidder.entry(b.bidder).or_default() += 1;
    }
    let mut counted: BTreeMap<i64, i64> = BTreeMap::new();
    for m in &out {
        *counted.entry(m["bidder"].as_i64().unwrap()).or_default() += m["bid_count"].as_i64().unwrap();
    }
    assert_eq!(counted, per_bidder);
}

/// Timestamps as the generator writes them, in milliseconds since the epoch.
#[test]
fn q11_sessions_match_a_recomputation_per_bidder() {
    let bids = bids(tmp().path());
    let out = run("nexmark_q11", "nexmark_q11", tmp().path());
    // Sessions of each bidder with a 10 s gap, recomputed from the bids' event times.
    let mut times: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for b in bids {
        times.entry(b.bidder).or_default().push(millis(&b.date_time));
    }
    let mut expected = Vec::new();
    for (bidder, mut ts) in times {
        ts.sort_unstable();
        let mut i = 0;
        while i < ts.len() {
            let (start, mut end, mut count) = (ts[i], ts[i] + 10_000, 1);
            i += 1;
            while i < ts.len() && ts[i] <= end {
                end = end.max(ts[i] + 10_000);
                count += 1;
                i += 1;
            }
            expected.push((bidder, start, end, count));
        }
    }
    expected.sort_unstable();
    let mut actual: Vec<(i64, i64, i64, i64)> = out
        .iter()
        .map(|m| {
            (
                m["bidder"].as_i64().unwrap(),
                millis(m["starttime"].as_str().unwrap()),
                millis(m["endtime"].as_str().unwrap()),
                m["bid_count"].as_i64().unwrap(),
            )
        })
        .collect();
    actual.sort_unstable();
    assert_eq!(actual, expected);
}

#[test]
fn q14_classifies_bid_times_and_counts_characters() {
    let bids = bids(tmp().path());
    let out = run("nexmark_q14", "nexmark_q14", tmp().path());
    let expected =
        multiset(bids.iter().filter(|b| b.price * 908 > 1_000_000_000 && b.price * 908 < 50_000_000_000).map(|b| {
            let hour: i64 = b.date_time[11..13].parse().unwrap();
            let kind = if (8..=18).contains(&hour) {
                "dayTime"
            } else if hour <= 6 || hour >= 20 {
                "nightTime"
            } else {
                "otherTime"
            };
            serde_json::json!({"auction": b.auction, "bidder": b.bidder, "price": (b.price * 908) as f64 / 1000.0,
            "bidTimeType": kind, "dateTime": b.date_time, "extra": b.extra,
            "c_counts": b.extra.bytes().filter(|c| *c == b'c').count()})
        }));
    let actual = multiset(out.into_iter().map(|mut m| {
        let p = m["price"].as_f64().expect("price is a number");
        m.insert("price".into(), serde_json::json!(p));
        Value::Object(m)
    }));
    assert!(!expected.is_empty(), "the sample has bids in the price range");
    assert_eq!(actual, expected);
}
