//! Throughput of the nexmark generator: 20M events with `rate.limited = false`, generated
//! directly and through the source into a trivial consumer. Prints numbers; asserts nothing
//! about time.
//!
//! `cargo bench -p dfl --bench nexmark` (set `NEXMARK_EVENTS` to change the count).

use dfl::connectors::Source;
use dfl::connectors::nexmark::{self, Event, NexmarkConfig, NexmarkGenerator};
use dfl::options::TableOptions;
use dfl::pipeline::Context;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

fn main() {
    let events: u64 = std::env::var("NEXMARK_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000_000);
    let count = events.to_string();
    let options = TableOptions::new("nexmark", &[("events.num", &count), ("rate.limited", "false")]);
    let config = NexmarkConfig::from_options(&options).expect("valid options");

    // Warm-up (pools are filled on first use).
    black_box(NexmarkGenerator::new(config.clone()).take(1_000_000).count());

    // The generator alone.
    let started = Instant::now();
    let mut kinds = [0u64; 3];
    let mut bytes = 0usize;
    for e in NexmarkGenerator::new(config.clone()) {
        kinds[e.event_type as usize] += 1;
        if let Some(b) = &e.bid {
            bytes += b.extra.len();
        }
        black_box(&e);
    }
    let secs = started.elapsed().as_secs_f64();
    let total: u64 = kinds.iter().sum();
    println!(
        "nexmark generator: {total} events in {secs:.3} s = {:.2} M events/s ({:.1} ns/event)",
        total as f64 / secs / 1e6,
        secs * 1e9 / total as f64
    );
    println!(
        "  persons {} ({:.2}%), auctions {} ({:.2}%), bids {} ({:.2}%); bid extra {:.1} bytes on average",
        kinds[0],
        100.0 * kinds[0] as f64 / total as f64,
        kinds[1],
        100.0 * kinds[1] as f64 / total as f64,
        kinds[2],
        100.0 * kinds[2] as f64 / total as f64,
        bytes as f64 / kinds[2].max(1) as f64
    );

    // Through the source into a trivial pipeline: filter bids above a price, sum them.
    let cx = Context::new(vec![options.clone()], BTreeMap::new());
    let source = nexmark::source(&options).expect("valid options");
    let started = Instant::now();
    let mut sum = 0i64;
    source
        .run(&cx, |e: Event| {
            if let Some(b) = e.bid
                && b.price > 10_000
            {
                sum = sum.wrapping_add(b.price);
            }
            Ok(())
        })
        .expect("runs");
    let secs = started.elapsed().as_secs_f64();
    let read = cx.counters.rows_in.load(Relaxed);
    black_box(sum);
    println!(
        "nexmark source -> filter/sum: {read} events in {secs:.3} s = {:.2} M events/s ({:.1} ns/event)",
        read as f64 / secs / 1e6,
        secs * 1e9 / read as f64
    );
}
