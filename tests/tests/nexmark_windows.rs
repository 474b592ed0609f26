//! Nexmark's event-time window queries, run on 1,000,000 events of the seeded `nexmark`
//! generator at 10,000 events per second of event time (about 100 s, so many windows), with
//! their blackhole sinks turned into JSON files. Each output is compared, as a multiset of
//! full rows, with an independent batch computation in this file over the same events,
//! generated in-process by the runtime's `NexmarkGenerator` with the same options.
//!
//! - q5 (HOP 2 s / 10 s, hot items: a window join of two window aggregates), q8 (TUMBLE
//!   10 s over persons and auctions, joined on id and window), as published;
//! - q11 (legacy `SESSION` windows, 10 s gap), as published;
//! - `bench/q7_windows.sql` (the window part of q7: `MAX(price)` per 10 s TUMBLE window);
//! - `bench/tumble_count.sql` (bids per auction per 10 s TUMBLE window).
//!
//! All five are modules of one crate, built once; every one must compile.
//!
//! The generator's event times never go backwards (checked below), so with the watermark
//! `dateTime - INTERVAL '4' SECOND` no row is late and the references need not drop any.

use dfl::connectors::nexmark::{NexmarkConfig, NexmarkGenerator};
use dfl_e2e::{Built, Query, build, millis, output_lines, root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

const EVENTS: u64 = 1_000_000;
const SEED: u64 = 11;
/// Events per second of event time (both `first-event.rate` and `next-event.rate`).
const RATE: u64 = 10_000;
/// The delay of the sources' watermark (`WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`).
const WATERMARK_DELAY_MS: i64 = 4_000;
const SECOND: i64 = 1_000;

/// A query of the test: its module name, its file and its sink table.
struct Spec {
    module: &'static str,
    file: &'static str,
    sink: &'static str,
}

const QUERIES: &[Spec] = &[
    Spec { module: "q5", file: "examples/nexmark/q5.sql", sink: "nexmark_q5" },
    Spec { module: "q7_windows", file: "examples/nexmark/bench/q7_windows.sql", sink: "q7_windows" },
    Spec { module: "q8", file: "examples/nexmark/q8.sql", sink: "nexmark_q8" },
    Spec { module: "q11", file: "examples/nexmark/q11.sql", sink: "nexmark_q11" },
    Spec { module: "tumble_count", file: "examples/nexmark/bench/tumble_count.sql", sink: "tumble_count" },
];

/// A query's text, its blackhole sink (if any) turned into JSON files.
fn source(file: &str) -> String {
    let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    text.replace("'connector' = 'blackhole'", "'connector' = 'filesystem', 'path' = 'out/', 'format' = 'json'")
}

/// Every query compiled as a module of one crate, built once.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let queries = QUERIES
            .iter()
            .map(|s| Query { name: s.module.into(), file: s.file.into(), text: source(s.file), must_compile: true })
            .collect();
        build("nexmark_windows", queries, |_, _| {})
    })
}

/// Runs `module` on the generator's events; returns its output rows, each as the values of
/// `columns` in that order (every row must have exactly these columns).
fn run(module: &str, columns: &[&str]) -> Vec<Vec<Value>> {
    let spec = QUERIES.iter().find(|s| s.module == module).unwrap_or_else(|| panic!("no query {module}"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(spec.sink);
    let sets = vec![
        ("datagen.events.num".to_string(), EVENTS.to_string()),
        ("datagen.seed".to_string(), SEED.to_string()),
        ("datagen.first-event.rate".to_string(), RATE.to_string()),
        ("datagen.next-event.rate".to_string(), RATE.to_string()),
        (format!("{}.path", spec.sink), format!("{}/", out.display())),
    ];
    let r = built().run(module, &sets);
    assert!(r.success, "{module} failed: {}", r.stderr);
    let expected_keys: BTreeSet<&str> = columns.iter().copied().collect();
    output_lines(&out)
        .iter()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => {
                let keys: BTreeSet<&str> = m.keys().map(String::as_str).collect();
                assert_eq!(keys, expected_keys, "{module}: the columns of {l}");
                columns.iter().map(|c| m[*c].clone()).collect()
            }
            other => panic!("{module}: not a JSON object: {l} ({other:?})"),
        })
        .collect()
}

struct Person {
    id: i64,
    name: String,
    time: i64,
}

struct Auction {
    seller: i64,
    time: i64,
}

struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
    time: i64,
}

/// The generated events, reduced to what the queries read; times in ms since the epoch.
struct Events {
    persons: Vec<Person>,
    auctions: Vec<Auction>,
    bids: Vec<Bid>,
    /// The largest amount by which an event's time is behind the largest time before it.
    max_backwards_ms: i64,
    /// Rows that would be late for the watermark: at or behind `max seen - 4 s` on arrival.
    late: usize,
}

fn config() -> NexmarkConfig {
    NexmarkConfig {
        events_num: EVENTS,
        first_event_rate: RATE,
        next_event_rate: RATE,
        person_proportion: 1,
        auction_proportion: 3,
        bid_proportion: 46,
        seed: SEED,
        ..NexmarkConfig::default()
    }
}

fn events() -> &'static Events {
    static EVENTS_CELL: OnceLock<Events> = OnceLock::new();
    EVENTS_CELL.get_or_init(|| {
        let mut ev =
            Events { persons: Vec::new(), auctions: Vec::new(), bids: Vec::new(), max_backwards_ms: 0, late: 0 };
        let mut max_seen = i64::MIN;
        for e in NexmarkGenerator::new(config()) {
            let time = e.date_time().millis();
            if max_seen != i64::MIN {
                ev.max_backwards_ms = ev.max_backwards_ms.max(max_seen - time);
                // The SQL watermark is `max seen - delay` (no `- 1`): a row at or behind it is late.
                if time <= max_seen - WATERMARK_DELAY_MS {
                    ev.late += 1;
                }
            }
            max_seen = max_seen.max(time);
            match (e.event_type, e.person, e.auction, e.bid) {
                (0, Some(p), None, None) => ev.persons.push(Person { id: p.id, name: p.name.to_string(), time }),
                (1, None, Some(a), None) => ev.auctions.push(Auction { seller: a.seller, time }),
                (2, None, None, Some(b)) => {
                    ev.bids.push(Bid { auction: b.auction, bidder: b.bidder, price: b.price, time })
                }
                (t, p, a, b) => panic!("event type {t} with person {p:?}, auction {a:?}, bid {b:?}"),
            }
        }
        ev
    })
}

/// The references model no lateness: they are only right if no row is late.
fn on_time_events() -> &'static Events {
    let ev = events();
    assert_eq!(ev.late, 0, "late rows: the references would have to drop them");
    ev
}

#[test]
fn generator_events_are_in_order_and_span_many_windows() {
    let ev = events();
    assert_eq!((ev.persons.len(), ev.auctions.len(), ev.bids.len()), (20_000, 60_000, 920_000), "1:3:46");
    // Event times never go back by as much as the watermark delay, so no row is late.
    assert!(ev.max_backwards_ms < WATERMARK_DELAY_MS, "events up to {} ms out of order", ev.max_backwards_ms);
    assert_eq!(ev.late, 0);
    // In fact they never go back at all.
    assert_eq!(ev.max_backwards_ms, 0, "event times go backwards");
    let times = || ev.persons.iter().map(|p| p.time).chain(ev.auctions.iter().map(|a| a.time));
    let first = times().chain(ev.bids.iter().map(|b| b.time)).min().unwrap();
    let last = times().chain(ev.bids.iter().map(|b| b.time)).max().unwrap();
    // 1,000,000 events at 10,000 per second: 100 s of event time.
    assert!((99 * SECOND..=100 * SECOND).contains(&(last - first)), "events span {} ms", last - first);
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a BIGINT: {v}"))
}

fn ts(v: &Value) -> i64 {
    let text = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    // Like Flink, a zero fraction of a second is left out.
    assert!(text.len() == 19 || text.len() == 23, "not yyyy-MM-dd HH:mm:ss[.SSS]: {text}");
    millis(text)
}

/// The start of the epoch-aligned tumbling window of `size` ms holding `t`.
fn tumble(t: i64, size: i64) -> i64 {
    t - t.rem_euclid(size)
}

/// The starts of the `size / slide` hopping windows holding `t`: `[s, s + size)`, `s` a
/// multiple of `slide`.
fn hop(t: i64, slide: i64, size: i64) -> impl Iterator<Item = i64> {
    let last = tumble(t, slide);
    (0..size / slide).map(move |k| last - k * slide).filter(move |s| *s <= t && t < s + size)
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn q7_windows_takes_the_highest_price_per_tumbling_window() {
    let ev = on_time_events();
    let mut max: BTreeMap<i64, i64> = BTreeMap::new();
    for b in &ev.bids {
        let m = max.entry(tumble(b.time, 10 * SECOND)).or_insert(i64::MIN);
        *m = (*m).max(b.price);
    }
    let expected: Vec<(i64, i64, i64)> = sorted(max.into_iter().map(|(s, p)| (p, s, s + 10 * SECOND)).collect());
    assert!(expected.len() >= 10, "100 s of events fill at least 10 windows: {}", expected.len());
    let out = run("q7_windows", &["maxprice", "window_start", "window_end"]);
    let actual = sorted(out.iter().map(|r| (int(&r[0]), ts(&r[1]), ts(&r[2]))).collect());
    assert_eq!(actual, expected);
}

#[test]
fn tumble_count_counts_bids_per_auction_and_window() {
    let ev = on_time_events();
    let mut counts: HashMap<(i64, i64), i64> = HashMap::new();
    for b in &ev.bids {
        *counts.entry((b.auction, tumble(b.time, 10 * SECOND))).or_default() += 1;
    }
    let expected: Vec<(i64, i64, i64, i64)> =
        sorted(counts.into_iter().map(|((a, s), n)| (a, s, s + 10 * SECOND, n)).collect());
    let windows: BTreeSet<i64> = expected.iter().map(|r| r.1).collect();
    assert!(windows.len() >= 10 && expected.len() > 10_000, "{} rows in {} windows", expected.len(), windows.len());
    let out = run("tumble_count", &["auction", "window_start", "window_end", "bids"]);
    let actual = sorted(out.iter().map(|r| (int(&r[0]), ts(&r[1]), ts(&r[2]), int(&r[3]))).collect());
    assert_eq!(actual.len(), expected.len(), "rows");
    assert_eq!(actual, expected);
}

#[test]
fn q11_sessions_match_a_recomputation_per_bidder() {
    let ev = on_time_events();
    // Sessions of each bidder with a 10 s gap: a row joins a session if it is at most 10 s
    // after the session's last row (Flink merges windows [t, t + gap) that touch).
    let mut times: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for b in &ev.bids {
        times.entry(b.bidder).or_default().push(b.time);
    }
    let gap = 10 * SECOND;
    let mut expected = Vec::new();
    for (bidder, mut t) in times {
        t.sort_unstable();
        let mut i = 0;
        while i < t.len() {
            let (start, mut end, mut count) = (t[i], t[i] + gap, 1);
            i += 1;
            while i < t.len() && t[i] <= end {
                end = end.max(t[i] + gap);
                count += 1;
                i += 1;
            }
            expected.push((bidder, count, start, end));
        }
    }
    let expected = sorted(expected);
    // Bidders are drawn from the latest people, so each is active for a few seconds only:
    // most have one session; many sessions have several bids.
    let several = expected.iter().filter(|r| r.1 > 1).count();
    assert!(expected.len() > 10_000 && several > 1_000, "{} sessions, {several} of several bids", expected.len());
    let out = run("q11", &["bidder", "bid_count", "starttime", "endtime"]);
    let actual = sorted(out.iter().map(|r| (int(&r[0]), int(&r[1]), ts(&r[2]), ts(&r[3]))).collect());
    assert_eq!(actual.len(), expected.len(), "sessions");
    assert_eq!(actual, expected);
}

#[test]
fn q5_finds_the_auctions_with_the_most_bids_per_hopping_window() {
    let ev = on_time_events();
    // Bids per (window, auction) over HOP(2 s slide, 10 s size), then per window the
    // auctions whose count is the window's maximum.
    let mut counts: HashMap<(i64, i64), i64> = HashMap::new();
    for b in &ev.bids {
        for s in hop(b.time, 2 * SECOND, 10 * SECOND) {
            *counts.entry((s, b.auction)).or_default() += 1;
        }
    }
    let mut max: HashMap<i64, i64> = HashMap::new();
    for (&(s, _), &n) in &counts {
        let m = max.entry(s).or_default();
        *m = (*m).max(n);
    }
    let expected: Vec<(i64, i64)> =
        sorted(counts.iter().filter(|&(&(s, _), &n)| n >= max[&s]).map(|(&(_, a), &n)| (a, n)).collect());
    assert!(max.len() >= 50, "100 s of events fill at least 50 hopping windows: {}", max.len());
    assert!(expected.len() >= max.len(), "one row per window at least: {}", expected.len());
    let out = run("q5", &["auction", "num"]);
    let actual = sorted(out.iter().map(|r| (int(&r[0]), int(&r[1]))).collect());
    assert_eq!(actual, expected);
}

#[test]
fn q8_finds_persons_selling_in_the_window_they_registered() {
    let ev = on_time_events();
    // Distinct (id, name, window) of persons, distinct (seller, window) of auctions, joined
    // on id = seller and the same 10 s tumbling window.
    let size = 10 * SECOND;
    let persons: BTreeSet<(i64, &str, i64)> =
        ev.persons.iter().map(|p| (p.id, p.name.as_str(), tumble(p.time, size))).collect();
    let sellers: BTreeSet<(i64, i64)> = ev.auctions.iter().map(|a| (a.seller, tumble(a.time, size))).collect();
    let expected: Vec<(i64, String, i64)> = sorted(
        persons
            .iter()
            .filter(|(id, _, s)| sellers.contains(&(*id, *s)))
            .map(|&(id, name, s)| (id, name.to_string(), s))
            .collect(),
    );
    let windows: BTreeSet<i64> = expected.iter().map(|r| r.2).collect();
    assert!(windows.len() >= 5 && expected.len() > 100, "{} rows in {} windows", expected.len(), windows.len());
    let out = run("q8", &["id", "name", "stime"]);
    let actual = sorted(
        out.iter()
            .map(|r| {
                (int(&r[0]), r[1].as_str().unwrap_or_else(|| panic!("not a name: {}", r[1])).to_string(), ts(&r[2]))
            })
            .collect(),
    );
    assert_eq!(actual, expected);
}
