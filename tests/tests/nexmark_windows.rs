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
    Spec { module: "q3", file: "examples/nexmark/q3.sql", sink: "nexmark_q3" },
    Spec { module: "q4", file: "examples/nexmark/q4.sql", sink: "nexmark_q4" },
    Spec { module: "q7", file: "examples/nexmark/q7.sql", sink: "nexmark_q7" },
    Spec { module: "q9", file: "examples/nexmark/q9.sql", sink: "nexmark_q9" },
    Spec { module: "q13", file: "examples/nexmark/q13.sql", sink: "nexmark_q13" },
    Spec { module: "q20", file: "examples/nexmark/q20.sql", sink: "nexmark_q20" },
    Spec { module: "q15", file: "examples/nexmark/q15.sql", sink: "nexmark_q15" },
    Spec { module: "q18", file: "examples/nexmark/q18.sql", sink: "nexmark_q18" },
    Spec { module: "q19", file: "examples/nexmark/q19.sql", sink: "nexmark_q19" },
    Spec { module: "q16", file: "examples/nexmark/q16.sql", sink: "nexmark_q16" },
    Spec { module: "q17", file: "examples/nexmark/q17.sql", sink: "nexmark_q17" },
    Spec { module: "q5", file: "examples/nexmark/q5.sql", sink: "nexmark_q5" },
    Spec { module: "q7_windows", file: "examples/nexmark/bench/q7_windows.sql", sink: "q7_windows" },
    Spec { module: "q8", file: "examples/nexmark/q8.sql", sink: "nexmark_q8" },
    Spec { module: "q11", file: "examples/nexmark/q11.sql", sink: "nexmark_q11" },
    Spec { module: "tumble_count", file: "examples/nexmark/bench/tumble_count.sql", sink: "tumble_count" },
];

/// Queries whose result updates (GROUP BY without a window): printed as changes.
const UPDATING: [&str; 7] = ["q4", "q9", "q15", "q16", "q17", "q18", "q19"];

/// A query's text, its blackhole sink (if any) turned into JSON files, or (updating
/// results) into the print sink.
fn source(module: &str, file: &str) -> String {
    let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    if UPDATING.contains(&module) {
        return text.replace("'connector' = 'blackhole'", "'connector' = 'print'");
    }
    text.replace("'connector' = 'blackhole'", "'connector' = 'filesystem', 'path' = 'out/', 'format' = 'json'")
}

/// Every query compiled as a module of one crate, built once.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let queries = QUERIES
            .iter()
            .map(|s| Query {
                name: s.module.into(),
                file: s.file.into(),
                text: source(s.module, s.file),
                must_compile: true,
            })
            .collect();
        build("nexmark_windows", queries, |_, _| {})
    })
}

/// Runs `module` on the generator's events (also with crashes and restores from
/// checkpoints, which must give the same output); returns its output rows, each as the
/// values of `columns` in that order (every row must have exactly these columns).
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
    // q13's side input, which the query names relative to the repository.
    let side = root().join("examples/nexmark/data/side_input.txt");
    let sets: Vec<(String, String)> = match module {
        "q13" => std::iter::once(("side_input.path".to_string(), side.display().to_string())).chain(sets).collect(),
        _ => sets,
    };
    let r = built().run(module, &sets);
    assert!(r.success, "{module} failed: {}", r.stderr);
    // Again with a checkpoint every 300,000 events and the process aborted after each
    // (as kill -9 would), restarted from it until it finishes: the same output.
    let restored = dir.path().join("restored");
    let mut again = sets.clone();
    again.pop();
    again.push((format!("{}.path", spec.sink), format!("{}/", restored.display())));
    again.push(("state.checkpoints.dir".to_string(), dir.path().join("checkpoints").display().to_string()));
    let (_, crashes) = run_crashing(module, &again);
    let (mut first, mut second) = (output_lines(&out), output_lines(&restored));
    first.sort();
    second.sort();
    assert!(first == second, "{module}: the output with {crashes} crashes and restores differs");
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

/// Runs `module` with a checkpoint every 300,000 events and the process aborted right
/// after each (as kill -9 would), restarting it from the last checkpoint until it
/// finishes; returns what all the runs printed, in order, and the number of crashes (at
/// least 2).
fn run_crashing(module: &str, sets: &[(String, String)]) -> (String, usize) {
    let (mut printed, mut crashes) = (String::new(), 0);
    loop {
        let out = built()
            .command(module, sets)
            .env("DFL_CHECKPOINT_EVERY_RECORDS", "300000")
            .env("DFL_CRASH_AFTER_CHECKPOINTS", "1")
            .output()
            .unwrap();
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        if out.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("DFL_CRASH_AFTER_CHECKPOINTS: aborting"), "{module} failed: {stderr}");
        crashes += 1;
        assert!(crashes < 10, "{module}: not finished after {crashes} restarts");
    }
    assert!(crashes >= 2, "{module}: {crashes} restores");
    (printed, crashes)
}

struct Person {
    id: i64,
    name: String,
    city: String,
    state: String,
    time: i64,
}

struct Auction {
    id: i64,
    seller: i64,
    category: i64,
    time: i64,
    expires: i64,
}

struct Bid {
    auction: i64,
    bidder: i64,
    price: i64,
    channel: String,
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
                (0, Some(p), None, None) => ev.persons.push(Person {
                    id: p.id,
                    name: p.name.to_string(),
                    city: p.city.to_string(),
                    state: p.state.to_string(),
                    time,
                }),
                (1, None, Some(a), None) => ev.auctions.push(Auction {
                    id: a.id,
                    seller: a.seller,
                    category: a.category,
                    time,
                    expires: a.expires.millis(),
                }),
                (2, None, None, Some(b)) => ev.bids.push(Bid {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: b.price,
                    channel: b.channel.to_string(),
                    time,
                }),
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

/// Runs an updating query (printed as changes) on the generator's events and applies its
/// changelog: the final table by its first `key` columns, every change checked against
/// the table (an insert of a new key, a retraction of the row held). Runs it again with a
/// checkpoint every 300,000 events and the process aborted right after each, restarted
/// until it finishes: the changes printed by all the runs, in order, must be the same
/// changelog (a restart neither repeats nor loses a change).
fn run_changelog(module: &str, key: usize) -> BTreeMap<Vec<String>, Vec<String>> {
    let sets = vec![
        ("datagen.events.num".to_string(), EVENTS.to_string()),
        ("datagen.seed".to_string(), SEED.to_string()),
        ("datagen.first-event.rate".to_string(), RATE.to_string()),
        ("datagen.next-event.rate".to_string(), RATE.to_string()),
    ];
    let r = built().run(module, &sets);
    assert!(r.success, "{module} failed: {}", r.stderr);
    let table = apply_changelog(module, &r.stdout, key);
    let dir = tempfile::tempdir().unwrap();
    let mut again = sets.clone();
    again.push(("state.checkpoints.dir".to_string(), dir.path().join("checkpoints").display().to_string()));
    let (printed, crashes) = run_crashing(module, &again);
    assert!(
        apply_changelog(module, &printed, key) == table,
        "{module}: the changelog across {crashes} restores differs"
    );
    table
}

/// Applies printed changes (`+I[…]` …) to a table keyed by the first `key` columns, each
/// checked against the table.
fn apply_changelog(module: &str, stdout: &str, key: usize) -> BTreeMap<Vec<String>, Vec<String>> {
    let mut table: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for line in stdout.lines().filter(|l| !l.is_empty()) {
        let (kind, rest) = line.split_at(2);
        let fields: Vec<String> =
            rest.trim_start_matches('[').trim_end_matches(']').split(", ").map(str::to_string).collect();
        let key = key.min(fields.len());
        let (k, v) = (fields[..key].to_vec(), fields[key..].to_vec());
        match kind {
            "+I" => assert!(table.insert(k, v).is_none(), "{module}: insert of a key held: {line}"),
            "+U" => assert!(table.insert(k, v).is_none(), "{module}: update-after without its update-before: {line}"),
            "-U" | "-D" => assert_eq!(table.remove(&k), Some(v), "{module}: retraction of a row not held: {line}"),
            other => panic!("{module}: change kind {other}: {line}"),
        }
    }
    table
}

/// `yyyy-MM-dd` of a time in ms since the epoch (UTC), computed independently of the
/// runtime's DATE_FORMAT.
fn day(ms: i64) -> String {
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Flink's AVG of BIGINT: the sum divided by the count, truncated (BIGINT).
fn avg(sum: i64, n: i64) -> i64 {
    sum / n
}

#[test]
fn q17_daily_bid_statistics_per_auction_match_a_recomputation() {
    let ev = events();
    // (count, rank1, rank2, rank3, min, max, sum) per (auction, day).
    let mut stats: BTreeMap<(i64, String), [i64; 7]> = BTreeMap::new();
    for b in &ev.bids {
        let s = stats.entry((b.auction, day(b.time))).or_insert([0, 0, 0, 0, i64::MAX, i64::MIN, 0]);
        s[0] += 1;
        s[1] += i64::from(b.price < 10_000);
        s[2] += i64::from((10_000..1_000_000).contains(&b.price));
        s[3] += i64::from(b.price >= 1_000_000);
        s[4] = s[4].min(b.price);
        s[5] = s[5].max(b.price);
        s[6] += b.price;
    }
    assert!(stats.len() > 10_000, "{} groups", stats.len());
    let expected: BTreeMap<Vec<String>, Vec<String>> = stats
        .into_iter()
        .map(|((a, d), s)| {
            let values = [s[0], s[1], s[2], s[3], s[4], s[5], avg(s[6], s[0]), s[6]];
            (vec![a.to_string(), d], values.iter().map(ToString::to_string).collect())
        })
        .collect();
    let actual = run_changelog("q17", 2);
    assert_eq!(actual.len(), expected.len(), "groups");
    assert_eq!(actual, expected);
}

/// The bid counts of q15 and q16 per group of bids (`group`: q15 the day, q16 the channel
/// and the day), after `extra` values (q16: the latest minute).
fn bid_counts(
    group: impl Fn(&Bid) -> Vec<String>,
    extra: impl Fn(&[&Bid]) -> Vec<String>,
) -> BTreeMap<Vec<String>, Vec<String>> {
    let rank = |p: i64| {
        if p < 10_000 {
            1
        } else if p < 1_000_000 {
            2
        } else {
            3
        }
    };
    let mut members: BTreeMap<Vec<String>, Vec<&Bid>> = BTreeMap::new();
    for b in &events().bids {
        members.entry(group(b)).or_default().push(b);
    }
    members
        .into_iter()
        .map(|(k, bids)| {
            let mut n = [0i64; 4];
            let mut bidders: [BTreeSet<i64>; 4] = Default::default();
            let mut auctions: [BTreeSet<i64>; 4] = Default::default();
            for b in &bids {
                let r = rank(b.price);
                n[0] += 1;
                n[r] += 1;
                bidders[0].insert(b.bidder);
                bidders[r].insert(b.bidder);
                auctions[0].insert(b.auction);
                auctions[r].insert(b.auction);
            }
            let mut values = extra(&bids);
            values.extend(n.iter().map(ToString::to_string));
            values.extend(bidders.iter().map(|s| s.len().to_string()));
            values.extend(auctions.iter().map(|s| s.len().to_string()));
            (k, values)
        })
        .collect()
}

#[test]
fn q15_daily_bid_and_bidder_counts_match_a_recomputation() {
    assert_eq!(run_changelog("q15", 1), bid_counts(|b| vec![day(b.time)], |_| Vec::new()));
}

#[test]
fn q16_counts_per_channel_and_day_match_a_recomputation() {
    // `HH:mm` of a time (UTC), computed independently of DATE_FORMAT.
    let minute =
        |ms: i64| format!("{:02}:{:02}", ms.rem_euclid(86_400_000) / 3_600_000, ms.rem_euclid(3_600_000) / 60_000);
    let expected = bid_counts(
        |b| vec![b.channel.clone(), day(b.time)],
        |bids| vec![bids.iter().map(|b| minute(b.time)).max().unwrap()],
    );
    assert!(expected.len() > 100, "{} groups", expected.len());
    assert_eq!(run_changelog("q16", 2), expected);
}

#[test]
fn q3_joins_auctions_of_category_10_with_their_sellers_in_three_states() {
    let ev = events();
    let persons: HashMap<i64, &Person> = ev.persons.iter().map(|p| (p.id, p)).collect();
    // An inner join keeps both sides: every matching pair, whichever came first.
    let mut expected: Vec<(String, String, String, i64)> = Vec::new();
    for a in ev.auctions.iter().filter(|a| a.category == 10) {
        if let Some(p) = persons.get(&a.seller).filter(|p| ["OR", "ID", "CA"].contains(&p.state.as_str())) {
            expected.push((p.name.clone(), p.city.clone(), p.state.clone(), a.id));
        }
    }
    let expected = sorted(expected);
    assert!(expected.len() > 50, "{} rows", expected.len());
    let out = run("q3", &["name", "city", "state", "id"]);
    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string();
    let actual = sorted(out.iter().map(|r| (text(&r[0]), text(&r[1]), text(&r[2]), int(&r[3]))).collect());
    assert_eq!(actual, expected);
}

#[test]
fn q20_joins_bids_with_their_auctions_of_category_10() {
    let ev = events();
    let auctions: HashMap<i64, &Auction> = ev.auctions.iter().map(|a| (a.id, a)).collect();
    let expected = sorted(
        ev.bids
            .iter()
            .filter_map(|b| {
                let a = auctions.get(&b.auction).filter(|a| a.category == 10)?;
                Some((b.auction, b.bidder, b.price, b.time, a.seller, a.time))
            })
            .collect::<Vec<_>>(),
    );
    assert!(expected.len() > 1_000, "{} rows", expected.len());
    let columns = [
        "auction",
        "bidder",
        "price",
        "channel",
        "url",
        "bid_dateTime",
        "bid_extra",
        "itemName",
        "description",
        "initialBid",
        "reserve",
        "auction_dateTime",
        "expires",
        "seller",
        "category",
        "auction_extra",
    ];
    let out = run("q20", &columns);
    assert!(out.iter().all(|r| int(&r[14]) == 10));
    let actual =
        sorted(out.iter().map(|r| (int(&r[0]), int(&r[1]), int(&r[2]), ts(&r[5]), int(&r[13]), ts(&r[11]))).collect());
    assert_eq!(actual, expected);
}

/// Per auction, its bids within its lifetime (`B.dateTime BETWEEN A.dateTime AND
/// A.expires`, as q4, q6 and q9 join them), in arrival order.
fn bids_in_lifetime() -> BTreeMap<i64, (&'static Auction, Vec<&'static Bid>)> {
    let ev = events();
    let mut per_auction: BTreeMap<i64, (&Auction, Vec<&Bid>)> =
        ev.auctions.iter().map(|a| (a.id, (a, Vec::new()))).collect();
    for b in &ev.bids {
        if let Some((a, bids)) = per_auction.get_mut(&b.auction)
            && (a.time..=a.expires).contains(&b.time)
        {
            bids.push(b);
        }
    }
    per_auction.retain(|_, (_, bids)| !bids.is_empty());
    per_auction
}

#[test]
fn q4_averages_the_winning_bids_per_category() {
    // The winning (highest) bid of each auction within its lifetime, averaged per category.
    let mut finals: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (a, bids) in bids_in_lifetime().values() {
        let winning = bids.iter().map(|b| b.price).max().unwrap();
        let (sum, n) = finals.entry(a.category).or_default();
        *sum += winning;
        *n += 1;
    }
    let expected: BTreeMap<Vec<String>, Vec<String>> =
        finals.into_iter().map(|(c, (sum, n))| (vec![c.to_string()], vec![avg(sum, n).to_string()])).collect();
    assert!(expected.len() >= 5, "{} categories", expected.len());
    // Each category's average is updated (retracted and re-added) as its auctions' winning
    // bids rise: the changelog, applied, ends at the averages over all bids.
    assert_eq!(run_changelog("q4", 1), expected);
}

#[test]
fn q9_keeps_the_winning_bid_of_each_auction() {
    // Per auction, its highest bid within its lifetime; equal prices: the earliest, then
    // the first to arrive.
    let mut expected = Vec::new();
    for (a, bids) in bids_in_lifetime().values() {
        let best = bids.iter().min_by_key(|b| (std::cmp::Reverse(b.price), b.time)).unwrap();
        expected.push((a.id, best.auction, best.bidder, best.price, best.time));
    }
    assert!(expected.len() > 10_000, "{} auctions with bids", expected.len());
    let table = run_changelog("q9", usize::MAX);
    // id, itemName, …, extra (10 auction columns), then auction, bidder, price, bid_dateTime, bid_extra.
    let actual: Vec<(i64, i64, i64, i64, i64)> = table
        .into_keys()
        .map(|f| {
            assert_eq!(f.len(), 15, "{f:?}");
            (
                f[0].parse().unwrap(),
                f[10].parse().unwrap(),
                f[11].parse().unwrap(),
                f[12].parse().unwrap(),
                millis(&f[13]),
            )
        })
        .collect();
    assert_eq!(sorted(actual), sorted(expected));
}

/// The rows an updating query's changelog leaves (each change checked: a row retracted
/// was held), as (auction, bidder, price, time, last field) from the printed columns
/// auction, bidder, price, channel, url, dateTime, ….
fn final_bids(module: &str) -> Vec<(i64, i64, i64, i64, String)> {
    let table = run_changelog(module, usize::MAX);
    table
        .into_keys()
        .map(|f| {
            (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap(), millis(&f[5]), f[f.len() - 1].clone())
        })
        .collect()
}

#[test]
fn q19_keeps_the_ten_highest_bids_of_each_auction_with_their_rank() {
    let ev = events();
    let mut per_auction: BTreeMap<i64, Vec<(usize, &Bid)>> = BTreeMap::new();
    for (i, b) in ev.bids.iter().enumerate() {
        per_auction.entry(b.auction).or_default().push((i, b));
    }
    let mut expected = Vec::new();
    for bids in per_auction.values_mut() {
        // By price, highest first; equal prices in arrival order.
        bids.sort_by_key(|(i, b)| (std::cmp::Reverse(b.price), *i));
        for (rank, (_, b)) in bids.iter().take(10).enumerate() {
            expected.push((b.auction, b.bidder, b.price, b.time, (rank + 1).to_string()));
        }
    }
    assert!(expected.len() > 10_000, "{} rows", expected.len());
    assert_eq!(sorted(final_bids("q19")), sorted(expected));
}

#[test]
fn q18_keeps_the_latest_bid_of_each_bidder_on_each_auction() {
    let ev = events();
    let mut latest: BTreeMap<(i64, i64), &Bid> = BTreeMap::new();
    for b in &ev.bids {
        // The latest time wins; of equal times the first to arrive.
        let e = latest.entry((b.bidder, b.auction)).or_insert(b);
        if b.time > e.time {
            *e = b;
        }
    }
    let expected: Vec<(i64, i64, i64, i64)> = latest.values().map(|b| (b.auction, b.bidder, b.price, b.time)).collect();
    let actual: Vec<(i64, i64, i64, i64)> = final_bids("q18").into_iter().map(|(a, b, p, t, _)| (a, b, p, t)).collect();
    assert_eq!(sorted(actual), sorted(expected));
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
fn q7_finds_the_bids_at_the_highest_price_of_their_window() {
    let ev = on_time_events();
    // The highest price of each 10 s tumbling window (keyed by its end), then every bid at
    // that price within the 10 s up to and including the window's end.
    let size = 10 * SECOND;
    let mut max: BTreeMap<i64, i64> = BTreeMap::new();
    for b in &ev.bids {
        let m = max.entry(tumble(b.time, size) + size).or_insert(i64::MIN);
        *m = (*m).max(b.price);
    }
    let mut expected = Vec::new();
    for b in &ev.bids {
        for (&end, &price) in max.range(b.time..=b.time + size) {
            if b.price == price && end - size <= b.time {
                expected.push((b.auction, b.price, b.bidder, b.time));
            }
        }
    }
    let expected = sorted(expected);
    assert!(expected.len() >= 10, "{} rows", expected.len());
    // As published, q7 selects B.price into `bidder` and B.bidder into `price` (by position).
    let out = run("q7", &["auction", "bidder", "price", "dateTime", "extra"]);
    let actual = sorted(out.iter().map(|r| (int(&r[0]), int(&r[1]), int(&r[2]), ts(&r[3]))).collect());
    assert_eq!(actual, expected);
}

#[test]
fn q13_enriches_every_bid_from_the_side_input() {
    // The side input maps each key 0 … 9,999 to its decimal text; every bid finds the row
    // of its auction modulo 10,000.
    let text = std::fs::read_to_string(root().join("examples/nexmark/data/side_input.txt")).unwrap();
    let side: HashMap<i64, String> = text
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(',').unwrap_or_else(|| panic!("not key,value: {l}"));
            (k.parse().unwrap(), v.to_string())
        })
        .collect();
    assert_eq!(side.len(), 10_000);
    let expected: Vec<(i64, i64, i64, i64, String)> = sorted(
        events()
            .bids
            .iter()
            .filter_map(|b| {
                Some((b.auction, b.bidder, b.price, b.time, side.get(&b.auction.rem_euclid(10_000))?.clone()))
            })
            .collect(),
    );
    assert_eq!(expected.len(), events().bids.len(), "every bid has a side row");
    let out = run("q13", &["auction", "bidder", "price", "dateTime", "value"]);
    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string();
    let actual = sorted(out.iter().map(|r| (int(&r[0]), int(&r[1]), int(&r[2]), ts(&r[3]), text(&r[4]))).collect());
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
