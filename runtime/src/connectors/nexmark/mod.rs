//! The `nexmark` connector: the standard Nexmark benchmark's stream of people, auctions and
//! bids, generated in-process, compatible with the options and event semantics of the
//! Nexmark project's Flink source (`nexmark-flink`).
//!
//! What matches the reference generator:
//! - event kinds by position in a cycle of `person.proportion + auction.proportion +
//!   bid.proportion` events (default 1 person, 3 auctions, 46 bids per 50);
//! - ids: person and auction ids are consecutive from [`FIRST_PERSON_ID`] and
//!   [`FIRST_AUCTION_ID`], derived from the event number; auctions name a seller and bids an
//!   auction and bidder among the recent ones (100 auctions in flight, 1000 active people,
//!   up to 10 ids ahead), or a hot one with probability 1 - 1/hot-ratio (the first auction,
//!   first person or second person of the latest batch of 100); categories 10..=14;
//! - fields: names, cities and states from the same lists, random emails, credit cards,
//!   item names and descriptions of the same shapes, log-uniform prices in cents, reserve
//!   above the initial bid, `expires` within twice the time it takes to create 100 more
//!   auctions, bid channels (half of them Google, Facebook, Baidu or Apple, the rest
//!   `channel-N` for N < 10000) with a stable url per channel, and `extra` padding so that
//!   records average `*.avg-size` bytes (±20%, by the reference's size accounting);
//! - event time: `base-time + n / rate` for event number `n`, truncated to milliseconds, in
//!   order (the reference's out-of-order groups are off by default and not an option). When
//!   `next-event.rate` differs from `first-event.rate`, the rate follows `rate.shape` over
//!   `rate.period` as in the original (Beam) generator; Flink's port ignores both.
//!
//! Differences, on purpose: the random streams are our own (SplitMix64 keyed by `seed` and
//! the event number), so values differ from any Java run but are reproducible; `base-time`
//! defaults to a fixed instant ([`DEFAULT_BASE_TIME_MS`], 2020-01-01 00:00:00 UTC) instead
//! of the start time; event numbers start at 0 (Flink's table source starts its ids at 2,
//! so that its first person is 1001); a bidder id gets [`FIRST_PERSON_ID`] added once
//! (the reference adds it twice, nexmark/nexmark issue #30).
//!
//! With `rate.limited = true`, events are emitted when due in real time (event `n` at
//! `n / rate` after the start), in bursts checked every millisecond or so.

mod config;
mod generator;
#[cfg(test)]
mod tests;

pub use config::{DEFAULT_BASE_TIME_MS, NexmarkConfig, OPTION_KEYS, RateShape, parse_memory_size};
pub use generator::NexmarkGenerator;

use crate::checkpoint::{Barriers, decode};
use crate::connectors::{Source, SourceEvent};
use crate::error::Result;
use crate::options::TableOptions;
use crate::pipeline::Context;
use crate::types::{Str, Timestamp};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Id of the first person.
pub const FIRST_PERSON_ID: i64 = 1000;
/// Id of the first auction.
pub const FIRST_AUCTION_ID: i64 = 1000;
/// Id of the first category (there are five).
pub const FIRST_CATEGORY_ID: i64 = 10;

/// A new person (`event_type` 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Person id, consecutive from [`FIRST_PERSON_ID`].
    pub id: i64,
    /// First and last name.
    pub name: Str,
    /// Email address.
    pub email_address: Str,
    /// Credit card number: four groups of four digits.
    pub credit_card: Str,
    /// US city.
    pub city: Str,
    /// US state.
    pub state: Str,
    /// Event time.
    pub date_time: Timestamp,
    /// Padding.
    pub extra: Str,
}

/// A new auction (`event_type` 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Auction {
    /// Auction id, consecutive from [`FIRST_AUCTION_ID`].
    pub id: i64,
    /// Item name.
    pub item_name: Str,
    /// Item description.
    pub description: Str,
    /// Initial bid, in cents.
    pub initial_bid: i64,
    /// Reserve price, in cents (above the initial bid).
    pub reserve: i64,
    /// Event time.
    pub date_time: Timestamp,
    /// When the auction ends.
    pub expires: Timestamp,
    /// Person id of the seller.
    pub seller: i64,
    /// Category id.
    pub category: i64,
    /// Padding.
    pub extra: Str,
}

/// A bid (`event_type` 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Bid {
    /// Auction id.
    pub auction: i64,
    /// Person id of the bidder.
    pub bidder: i64,
    /// Price, in cents.
    pub price: i64,
    /// Channel the bid came through.
    pub channel: Str,
    /// Url of the bid.
    pub url: Str,
    /// Event time.
    pub date_time: Timestamp,
    /// Padding.
    pub extra: Str,
}

/// One event; exactly one of person/auction/bid is Some. event_type: 0 person, 1 auction, 2 bid.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 0 person, 1 auction, 2 bid.
    pub event_type: i32,
    /// The person, for `event_type` 0.
    pub person: Option<Person>,
    /// The auction, for `event_type` 1.
    pub auction: Option<Auction>,
    /// The bid, for `event_type` 2.
    pub bid: Option<Bid>,
}

impl Event {
    /// The event's time.
    pub fn date_time(&self) -> Timestamp {
        match (&self.person, &self.auction, &self.bid) {
            (Some(p), _, _) => p.date_time,
            (_, Some(a), _) => a.date_time,
            (_, _, Some(b)) => b.date_time,
            _ => Timestamp::default(),
        }
    }
}

/// The nexmark source of one table.
#[derive(Debug, Clone)]
pub struct NexmarkSource {
    generator: NexmarkGenerator,
    /// The table its events are counted for (metrics), if any.
    table: Option<String>,
}

impl NexmarkSource {
    /// A source emitting what `generator` generates (paced if its configuration says so).
    pub fn new(generator: NexmarkGenerator) -> Self {
        NexmarkSource { generator, table: None }
    }
}

/// The source of a table with `'connector' = 'nexmark'`.
pub fn source(options: &TableOptions) -> Result<NexmarkSource> {
    let mut source = NexmarkSource::new(NexmarkGenerator::new(NexmarkConfig::from_options(options)?));
    source.table = Some(options.table.clone());
    Ok(source)
}

/// Counts `n` events read, for the run and for `table` (its meter looked up: once per
/// batch; a meter held by the loop makes the loop itself slower).
#[inline(never)]
fn count_rows(cx: &Context, table: Option<&str>, n: u64) {
    cx.counters.rows_in.fetch_add(n, Relaxed);
    if let Some(t) = table {
        cx.metrics().source(t).add_records(n);
    }
}

/// Events generated between checks of the stop flag (and of the clock, when paced).
const BATCH: u64 = 1024;
/// Bounds of one sleep while paced: coarse enough to emit in bursts, short enough to stop soon.
const MIN_SLEEP: Duration = Duration::from_millis(1);
const MAX_SLEEP: Duration = Duration::from_millis(20);

impl Source for NexmarkSource {
    type Row = Event;

    /// One split, 0, which ends after the last event of a bounded stream; idle while
    /// pacing.
    fn run_events<F: FnMut(SourceEvent<Event>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let mut generator = self.generator;
        let paced = generator.config().rate_limited;
        let start = Instant::now();
        let first_offset = generator.next_offset_ns();
        let mut barriers = Barriers::new(cx);
        let barrier = |next: u64, id: u64, barriers: &mut Barriers<'_>, emit: &mut F| barriers.emit(id, &next, emit);
        emit(SourceEvent::SplitStart(0))?;
        loop {
            if cx.stopped() {
                return match barriers.at_stop() {
                    Some(id) => barrier(generator.next_event_number(), id, &mut barriers, &mut emit),
                    None => Ok(()),
                };
            }
            if generator.is_finished() {
                return emit(SourceEvent::SplitEnd(0));
            }
            let mut n = 0u64;
            let mut result = Ok(());
            let due = if paced {
                first_offset.saturating_add(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX))
            } else {
                u64::MAX
            };
            while n < BATCH && !generator.is_finished() && (!paced || generator.next_offset_ns() <= due) {
                let event = generator.generate();
                n += 1;
                if let Err(e) = emit(SourceEvent::Row(0, event)) {
                    result = Err(e);
                    break;
                }
                if let Some(id) = barriers.due()
                    && let Err(e) = barrier(generator.next_event_number(), id, &mut barriers, &mut emit)
                {
                    result = Err(e);
                    break;
                }
            }
            count_rows(cx, self.table.as_deref(), n);
            result?;
            if paced && n < BATCH && !generator.is_finished() {
                // Nothing more is due: sleep until the next event is (at least a millisecond,
                // so that fast rates are emitted in bursts).
                let elapsed = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let wait = generator.next_offset_ns().saturating_sub(first_offset).saturating_sub(elapsed);
                emit(SourceEvent::Idle)?;
                if let Some(id) = barriers.due_idle() {
                    barrier(generator.next_event_number(), id, &mut barriers, &mut emit)?;
                }
                std::thread::sleep(Duration::from_nanos(wait).clamp(MIN_SLEEP, MAX_SLEEP));
            }
        }
    }

    /// The number of events generated before the checkpoint: the generator starts there.
    fn restore(&mut self, position: &[u8]) -> Result<()> {
        let mut input = position;
        let next: u64 = decode(&mut input)?;
        self.generator = NexmarkGenerator::with_offset(self.generator.config().clone(), next);
        Ok(())
    }
}
