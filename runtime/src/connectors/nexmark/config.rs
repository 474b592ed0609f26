//! The options of the nexmark source: Flink's `nexmark` connector keys, plus `seed` and
//! `base-time`, and the event-time schedule they imply.

use crate::error::Result;
use crate::options::TableOptions;
use crate::types::Timestamp;
use serde::Deserialize;

/// The default `base-time`: 2020-01-01 00:00:00 UTC, in milliseconds since the epoch. Flink's
/// connector uses the wall clock at start instead; a fixed default makes runs reproducible.
pub const DEFAULT_BASE_TIME_MS: i64 = 1_577_836_800_000;

/// Every option key the source reads (`connector` aside).
pub const OPTION_KEYS: &[&str] = &[
    "events.num",
    "first-event.rate",
    "next-event.rate",
    "rate.shape",
    "rate.period",
    "rate.limited",
    "person.proportion",
    "auction.proportion",
    "bid.proportion",
    "person.avg-size",
    "auction.avg-size",
    "bid.avg-size",
    "bid.hot-ratio.auctions",
    "bid.hot-ratio.bidders",
    "auction.hot-ratio.sellers",
    "seed",
    "base-time",
];

/// The largest `*.avg-size` accepted (the padding strings are pooled per length).
const MAX_AVG_SIZE: u64 = 1 << 20;

/// How the event rate moves between `first-event.rate` and `next-event.rate` over
/// `rate.period` (only when the two rates differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateShape {
    /// Alternates between the two rates, each for half the period.
    Square,
    /// Follows a cosine from the first rate to the next and back, in ten steps.
    Sine,
}

impl RateShape {
    /// Number of constant-rate steps in one period.
    fn steps(self) -> u64 {
        match self {
            RateShape::Square => 2,
            RateShape::Sine => 10,
        }
    }
}

/// Everything that determines the generated events (and, with `rate_limited`, their pacing).
#[derive(Debug, Clone, PartialEq)]
pub struct NexmarkConfig {
    /// `events.num`: events to generate; 0 means unbounded.
    pub events_num: u64,
    /// `first-event.rate`: events per second at the start (default 10000).
    pub first_event_rate: u64,
    /// `next-event.rate`: the other rate of the shape (default 10000).
    pub next_event_rate: u64,
    /// `rate.shape`: `SQUARE` (default) or `SINE`.
    pub rate_shape: RateShape,
    /// `rate.period`: length of one cycle of the rate shape, in seconds (default 600).
    pub rate_period_sec: u64,
    /// `rate.limited`: emit events in real time at their rate (default false, as in Flink's
    /// connector); when false, as fast as possible.
    pub rate_limited: bool,
    /// `person.proportion` (default 1).
    pub person_proportion: u32,
    /// `auction.proportion` (default 3).
    pub auction_proportion: u32,
    /// `bid.proportion` (default 46).
    pub bid_proportion: u32,
    /// `person.avg-size`: average idealized byte size of a person (default 200).
    pub avg_person_byte_size: u32,
    /// `auction.avg-size`: average idealized byte size of an auction (default 500).
    pub avg_auction_byte_size: u32,
    /// `bid.avg-size`: average idealized byte size of a bid (default 100).
    pub avg_bid_byte_size: u32,
    /// `bid.hot-ratio.auctions`: a bid is for a hot auction with probability 1 - 1/ratio
    /// (default 2).
    pub hot_auction_ratio: u32,
    /// `bid.hot-ratio.bidders`: a bid is by a hot bidder with probability 1 - 1/ratio (default 4).
    pub hot_bidders_ratio: u32,
    /// `auction.hot-ratio.sellers`: an auction is by a hot seller with probability 1 - 1/ratio
    /// (default 4).
    pub hot_sellers_ratio: u32,
    /// Average number of auctions in flight (not an option; 100 as in the reference).
    pub num_in_flight_auctions: u32,
    /// Number of people considered active for auctions and bids (not an option; 1000 as in the
    /// reference).
    pub num_active_people: u32,
    /// `seed`: selects the pseudo-random stream (default 0).
    pub seed: u64,
    /// `base-time`: event time of event number 0, in milliseconds since the epoch (default
    /// [`DEFAULT_BASE_TIME_MS`]).
    pub base_time_ms: i64,
}

impl Default for NexmarkConfig {
    fn default() -> Self {
        NexmarkConfig {
            events_num: 0,
            first_event_rate: 10_000,
            next_event_rate: 10_000,
            rate_shape: RateShape::Square,
            rate_period_sec: 600,
            rate_limited: false,
            person_proportion: 1,
            auction_proportion: 3,
            bid_proportion: 46,
            avg_person_byte_size: 200,
            avg_auction_byte_size: 500,
            avg_bid_byte_size: 100,
            hot_auction_ratio: 2,
            hot_bidders_ratio: 4,
            hot_sellers_ratio: 4,
            num_in_flight_auctions: 100,
            num_active_people: 1000,
            seed: 0,
            base_time_ms: DEFAULT_BASE_TIME_MS,
        }
    }
}

impl NexmarkConfig {
    /// Reads the options of a `'connector' = 'nexmark'` table; unset options keep their
    /// defaults. Errors name the offending key.
    pub fn from_options(o: &TableOptions) -> Result<Self> {
        let mut c = NexmarkConfig::default();
        let whole = |key: &str, min: u64, max: u64| -> Result<Option<u64>> {
            match o.u64(key)? {
                Some(v) if v < min || v > max => Err(o.error(key, format!("{v} is out of range {min}..={max}"))),
                v => Ok(v),
            }
        };
        let small = |key: &str, min: u64| whole(key, min, u64::from(u32::MAX)).map(|v| v.map(|v| v as u32));
        if let Some(v) = whole("events.num", 0, u64::MAX)? {
            c.events_num = v;
        }
        if let Some(v) = whole("first-event.rate", 1, u64::MAX >> 2)? {
            c.first_event_rate = v;
        }
        if let Some(v) = whole("next-event.rate", 1, u64::MAX >> 2)? {
            c.next_event_rate = v;
        }
        if let Some(v) = o.get("rate.shape") {
            c.rate_shape = match v.trim().to_ascii_uppercase().as_str() {
                "SQUARE" => RateShape::Square,
                "SINE" => RateShape::Sine,
                _ => return Err(o.error("rate.shape", format!("'{v}' is not SQUARE or SINE"))),
            };
        }
        if let Some(ms) = o.duration_ms("rate.period")? {
            c.rate_period_sec = ms / 1000;
        }
        if let Some(v) = o.bool("rate.limited")? {
            c.rate_limited = v;
        }
        if let Some(v) = small("person.proportion", 0)? {
            c.person_proportion = v;
        }
        if let Some(v) = small("auction.proportion", 0)? {
            c.auction_proportion = v;
        }
        if let Some(v) = small("bid.proportion", 0)? {
            c.bid_proportion = v;
        }
        for (key, slot) in [
            ("person.avg-size", &mut c.avg_person_byte_size),
            ("auction.avg-size", &mut c.avg_auction_byte_size),
            ("bid.avg-size", &mut c.avg_bid_byte_size),
        ] {
            if let Some(v) = o.get(key) {
                match parse_memory_size(v) {
                    Some(bytes) if bytes <= MAX_AVG_SIZE => *slot = bytes as u32,
                    Some(_) => return Err(o.error(key, format!("'{v}' is larger than the supported 1 mb"))),
                    None => return Err(o.error(key, format!("'{v}' is not a size such as '100b' or '2 kb'"))),
                }
            }
        }
        if let Some(v) = small("bid.hot-ratio.auctions", 1)? {
            c.hot_auction_ratio = v;
        }
        if let Some(v) = small("bid.hot-ratio.bidders", 1)? {
            c.hot_bidders_ratio = v;
        }
        if let Some(v) = small("auction.hot-ratio.sellers", 1)? {
            c.hot_sellers_ratio = v;
        }
        if let Some(v) = o.u64("seed")? {
            c.seed = v;
        }
        if let Some(v) = o.get("base-time") {
            c.base_time_ms = parse_base_time(v).ok_or_else(|| {
                o.error("base-time", format!("'{v}' is not epoch milliseconds, 'yyyy-MM-dd HH:mm:ss' or 'now'"))
            })?;
        }
        c.validate().map_err(|(key, message)| o.error(key, message))?;
        Ok(c)
    }

    /// Checks the combination of values; on error, the option key at fault and what is wrong.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        let total =
            u64::from(self.person_proportion) + u64::from(self.auction_proportion) + u64::from(self.bid_proportion);
        if total == 0 {
            return Err(("bid.proportion", "person, auction and bid proportions are all 0".into()));
        }
        if total > u64::from(u32::MAX) {
            return Err(("bid.proportion", "the proportions add up to more than 4294967295".into()));
        }
        if self.first_event_rate == 0 {
            return Err(("first-event.rate", "must be at least 1".into()));
        }
        if self.next_event_rate == 0 {
            return Err(("next-event.rate", "must be at least 1".into()));
        }
        if self.first_event_rate != self.next_event_rate && self.rate_period_sec == 0 {
            return Err(("rate.period", "must be at least 1 s when the two event rates differ".into()));
        }
        for (key, ratio) in [
            ("bid.hot-ratio.auctions", self.hot_auction_ratio),
            ("bid.hot-ratio.bidders", self.hot_bidders_ratio),
            ("auction.hot-ratio.sellers", self.hot_sellers_ratio),
        ] {
            if ratio == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        for (key, size) in [
            ("person.avg-size", self.avg_person_byte_size),
            ("auction.avg-size", self.avg_auction_byte_size),
            ("bid.avg-size", self.avg_bid_byte_size),
        ] {
            if u64::from(size) > MAX_AVG_SIZE {
                return Err((key, "is larger than the supported 1 mb".into()));
            }
        }
        Ok(())
    }

    /// Sum of the three proportions: the length of one cycle of event kinds.
    pub fn total_proportion(&self) -> u32 {
        self.person_proportion + self.auction_proportion + self.bid_proportion
    }
}

/// Bytes of a Flink memory size: a whole number and an optional unit (`b`, `kb`, `mb`, …;
/// powers of 1024, as Flink's `MemorySize`).
pub fn parse_memory_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().ok()?;
    let shift = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 0,
        "k" | "kb" | "kibibytes" => 10,
        "m" | "mb" | "mebibytes" => 20,
        "g" | "gb" | "gibibytes" => 30,
        "t" | "tb" | "tebibytes" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// Milliseconds since the epoch of a `base-time` value: a (possibly negative) whole number of
/// milliseconds, a timestamp `yyyy-MM-dd HH:mm:ss[.SSS]` (UTC), or `now` (the wall clock).
fn parse_base_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    if t.eq_ignore_ascii_case("now") {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
        return i64::try_from(now.as_millis()).ok();
    }
    let de = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(t);
    Timestamp::deserialize(de).ok().map(Timestamp::millis)
}

/// When each event happens, as an offset from `base-time`: a constant rate, or (when the two
/// rates differ) the piecewise-constant rate of the shape, repeating every period.
#[derive(Debug, Clone)]
pub(crate) enum Schedule {
    /// `rate` events per second: event `n` at `n * 1e9 / rate` ns.
    Constant {
        /// Events per second.
        rate: u64,
    },
    /// Steps of `(events, ns between events)`; one epoch is all steps.
    Shaped {
        /// The steps of one epoch.
        steps: Vec<(u64, u64)>,
        /// Events in one epoch.
        epoch_events: u64,
        /// Length of one epoch in ns.
        epoch_ns: u64,
    },
}

const NANOS_PER_SEC: u64 = 1_000_000_000;

impl Schedule {
    /// The schedule of `config`.
    pub(crate) fn new(config: &NexmarkConfig) -> Self {
        let (first, next) = (config.first_event_rate, config.next_event_rate);
        if first == next {
            return Schedule::Constant { rate: first };
        }
        let n = config.rate_shape.steps();
        let rates: Vec<u64> = match config.rate_shape {
            RateShape::Square => vec![first, next],
            RateShape::Sine => {
                let mid = (first as f64 + next as f64) / 2.0;
                let amp = (first as f64 - next as f64) / 2.0;
                (0..n)
                    .map(|i| {
                        let r = mid + amp * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos();
                        (r.round() as u64).max(1)
                    })
                    .collect()
            }
        };
        let step_sec = config.rate_period_sec.div_ceil(n).max(1);
        let step_ns = step_sec.saturating_mul(NANOS_PER_SEC);
        let steps: Vec<(u64, u64)> = rates
            .iter()
            .map(|&rate| {
                let delay = ((NANOS_PER_SEC + rate / 2) / rate).max(1);
                ((step_ns / delay).max(1), delay)
            })
            .collect();
        let epoch_events = steps.iter().map(|(e, _)| e).sum();
        let epoch_ns = steps.iter().map(|(e, d)| e * d).sum();
        Schedule::Shaped { steps, epoch_events, epoch_ns }
    }

    /// Nanoseconds from `base-time` to event number `n` (saturating).
    pub(crate) fn offset_ns(&self, n: u64) -> u64 {
        match self {
            Schedule::Constant { rate } => {
                u64::try_from(u128::from(n) * u128::from(NANOS_PER_SEC) / u128::from(*rate)).unwrap_or(u64::MAX)
            }
            Schedule::Shaped { steps, epoch_events, epoch_ns } => {
                let mut rest = n % epoch_events;
                let mut at = (n / epoch_events).saturating_mul(*epoch_ns);
                for &(events, delay) in steps {
                    if rest < events {
                        return at.saturating_add(rest * delay);
                    }
                    rest -= events;
                    at = at.saturating_add(events * delay);
                }
                unreachable!("an epoch holds every step's events")
            }
        }
    }
}
