//! The deterministic event generator.
//!
//! Event number `n` (counted from 0) decides everything about its event: its kind (by the
//! position of `n` in the cycle of `person.proportion + auction.proportion + bid.proportion`
//! events), the ids it creates or refers to, its timestamp (from the rate), and its random
//! fields, drawn from a pseudo-random stream keyed by `(seed, n)`. Starting at any event
//! number therefore yields the same events as generating from 0 and skipping.
//!
//! Strings are never formatted on the heap per event: short ones (≤ 23 bytes, stored inline
//! in a [`Str`]) are built on the stack, long ones (descriptions, urls, `extra` padding) are
//! static [`Str`]s from pools whose contents depend only on the seed. The pools are built
//! once per process and seed (the `extra` ones per length, on first use) and never freed:
//! about 1 MB per seed with the default sizes. Static strings cost no reference counting per
//! event, nor cache-line contention when events are dropped on other threads.

use super::config::{NexmarkConfig, Schedule};
use super::{Auction, Bid, Event, FIRST_AUCTION_ID, FIRST_CATEGORY_ID, FIRST_PERSON_ID, Person};
use crate::types::{Str, Timestamp};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Categories are `FIRST_CATEGORY_ID ..< FIRST_CATEGORY_ID + NUM_CATEGORIES`.
const NUM_CATEGORIES: u64 = 5;
/// How far past the last created person or auction a random reference may point.
const PERSON_ID_LEAD: u64 = 10;
const AUCTION_ID_LEAD: u64 = 10;
/// Hot sellers, bidders and auctions are the first (second, for bidders) of the most recent
/// batch of this many.
const HOT_BATCH: i64 = 100;
/// A bid comes through a hot channel with probability 1 - 1/this.
const HOT_CHANNELS_RATIO: u64 = 2;
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
/// Other channels are `channel-0` … `channel-9999`.
const CHANNELS: usize = 10_000;

const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] =
    ["Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"];
const FIRST_NAMES: [&str; 11] =
    ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"];
const LAST_NAMES: [&str; 9] = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"];

/// Distinct auction descriptions per seed.
const DESCRIPTIONS: usize = 1024;
/// Distinct `extra` strings per length.
const EXTRA_VARIANTS: u64 = 8;

/// Keys of the independent pseudo-random streams (mixed with the seed).
const STREAM_DESCRIPTION: u64 = 0x6465_7363_0000_0000;
const STREAM_HOT_URL: u64 = 0x686f_7475_0000_0000;
const STREAM_CHANNEL: u64 = 0x6368_616e_0000_0000;
const STREAM_EXTRA: u64 = 0x6578_7472_0000_0000;

const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// SplitMix64's output function: a bijective 64-bit mix.
#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64: tiny, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    /// The stream keyed by `key` (any two keys give unrelated streams).
    #[inline(always)]
    fn new(key: u64) -> Self {
        Rng(mix64(key))
    }

    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n` ≥ 1; the bias is below 2^-32 for the ranges used here).
    #[inline(always)]
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    #[inline(always)]
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as i64 as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A price in cents, `round(100 × 10^(6u))` for uniform `u` as the reference's: log-uniform
    /// in [100, 100_000_000).
    #[inline(always)]
    fn price(&mut self) -> i64 {
        // 10^(6u) = 2^x = 2^(i / 256) × 2^r (i = ⌊256 x⌋, r < 1/256): a table and a short series,
        // with a relative error below 1e-11; much cheaper than `powf`.
        let y = self.unit() * (256.0 * 6.0 * std::f64::consts::LOG2_10);
        let i = y as i64;
        let t = (y - i as f64) * (std::f64::consts::LN_2 / 256.0);
        let fraction = ((t * (1.0 / 6.0) + 0.5) * t + 1.0) * t + 1.0;
        let scale = f64::from_bits(((i >> 8) + 1023) as u64 * (1 << 52));
        // Rounds half up (the value is positive), as Java's `Math.round`.
        (POWERS_OF_TWO[(i & 255) as usize] * fraction * scale * 100.0 + 0.5) as i64
    }
}

/// `2^(k / 256)` for k in 0..256.
static POWERS_OF_TWO: [f64; 256] = {
    let mut table = [1.0; 256];
    let mut k = 1;
    while k < 256 {
        // e^t by its Taylor series, exact to the last bit for t < ln 2.
        let t = k as f64 / 256.0 * std::f64::consts::LN_2;
        let (mut sum, mut term, mut n) = (1.0, 1.0, 1);
        while n < 30 {
            term = term * t / n as f64;
            sum += term;
            n += 1;
        }
        table[k] = sum;
        k += 1;
    }
    table
};

/// A small stack buffer of ASCII text.
struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    fn new() -> Self {
        Text { bytes: [0; N], len: 0 }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    fn push_str(&mut self, s: &str) {
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
    }

    /// Like the reference's random strings: between 3 and `max_len - 1` characters, each
    /// `special` with probability 1/13 and otherwise a lowercase letter, spaces trimmed at
    /// both ends.
    fn push_word(&mut self, rng: &mut Rng, max_len: u64, special: u8) {
        let len = 3 + rng.below(max_len - 3);
        let start = self.len;
        for _ in 0..len {
            // 338 = 13 × 26: 26 of the values (1/13) pick `special`, the rest a letter.
            let x = rng.below(13 * 26);
            self.push(if x < 26 { special } else { b'a' + (x % 26) as u8 });
        }
        if special == b' ' {
            let word = &self.bytes[start..self.len];
            let lead = word.iter().take_while(|&&b| b == b' ').count();
            let trail = word[lead..].iter().rev().take_while(|&&b| b == b' ').count();
            self.bytes.copy_within(start + lead..self.len - trail, start);
            self.len -= lead + trail;
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("generated text is ASCII")
    }

    /// The text as a [`Str`] (inline, without allocating, when at most 23 bytes).
    fn to_str(&self) -> Str {
        Str::new(self.as_str())
    }
}

/// `https://www.nexmark.com/xxx/xxx/xxx/item.htm?query=1` with random path parts.
fn base_url(rng: &mut Rng) -> String {
    let mut t = Text::<64>::new();
    t.push_str("https://www.nexmark.com/");
    for _ in 0..3 {
        t.push_word(rng, 5, b'_');
        t.push(b'/');
    }
    t.push_str("item.htm?query=1");
    t.as_str().to_string()
}

/// Rounds a length to 7 significant bits (exact below 128), so that long `extra` strings
/// come from a bounded number of pools; the relative error is below 1%.
#[inline(always)]
fn quantize(len: u64) -> u64 {
    if len < 128 {
        return len;
    }
    let shift = 64 - len.leading_zeros() - 7;
    ((len + (1 << (shift - 1))) >> shift) << shift
}

/// Leaks `text` so that its slices can be [`Str::new_static`] values.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The strings every generator with the same seed shares: built once per process and seed
/// and never freed, so that events hold them as static [`Str`]s (no reference counting per
/// event, nor contention when events cross threads).
#[derive(Debug)]
struct Shared {
    descriptions: Box<[&'static str]>,
    hot_urls: [&'static str; 4],
    /// `(channel, url)` of the non-hot channels.
    channels: Box<[(&'static str, &'static str)]>,
}

/// [`Shared`] strings by seed key.
static SHARED: Mutex<BTreeMap<u64, &'static Shared>> = Mutex::new(BTreeMap::new());
/// `extra` strings by seed key and (quantized) length.
static EXTRAS: Mutex<BTreeMap<(u64, u64), &'static [&'static str]>> = Mutex::new(BTreeMap::new());

impl Shared {
    /// The shared strings of seed key `key`.
    fn of(key: u64) -> &'static Shared {
        let mut all = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(key).or_insert_with(|| Box::leak(Box::new(Shared::build(key))))
    }

    fn build(key: u64) -> Shared {
        let descriptions = (0..DESCRIPTIONS as u64)
            .map(|i| {
                let mut rng = Rng::new(key ^ mix64(STREAM_DESCRIPTION ^ i));
                let mut t = Text::<128>::new();
                t.push_word(&mut rng, 100, b' ');
                leak(t.as_str().to_string())
            })
            .collect();
        let hot_urls = std::array::from_fn(|i| leak(base_url(&mut Rng::new(key ^ mix64(STREAM_HOT_URL ^ i as u64)))));
        // One allocation for the names and urls of all channels.
        let mut text = String::with_capacity(CHANNELS * 80);
        let mut ends = Vec::with_capacity(CHANNELS);
        for c in 0..CHANNELS {
            let mut rng = Rng::new(key ^ mix64(STREAM_CHANNEL ^ c as u64));
            text.push_str(&format!("channel-{c}"));
            let name_end = text.len();
            text.push_str(&base_url(&mut rng));
            if rng.below(10) > 0 {
                // The reference appends the absolute value of the bit-reversed 32-bit number.
                let id = (c as i32).reverse_bits().wrapping_abs();
                text.push_str(&format!("&channel_id={id}"));
            }
            ends.push((name_end, text.len()));
        }
        let text = leak(text);
        let mut start = 0;
        let channels = ends
            .into_iter()
            .map(|(name_end, end)| {
                let pair = (&text[start..name_end], &text[name_end..end]);
                start = end;
                pair
            })
            .collect();
        Shared { descriptions, hot_urls, channels }
    }
}

/// The `extra` strings of length `len` (already quantized, ≥ 1) for seed key `key`.
fn extras_of(key: u64, len: u64) -> &'static [&'static str] {
    let mut all = EXTRAS.lock().unwrap_or_else(|p| p.into_inner());
    all.entry((key, len)).or_insert_with(|| {
        let mut text = String::with_capacity((len * EXTRA_VARIANTS) as usize);
        for v in 0..EXTRA_VARIANTS {
            let mut rng = Rng::new(key ^ mix64(STREAM_EXTRA ^ (len * EXTRA_VARIANTS + v)));
            text.extend((0..len).map(|_| (b'a' + rng.below(26) as u8) as char));
        }
        let text = leak(text);
        let len = len as usize;
        Box::leak((0..EXTRA_VARIANTS as usize).map(|v| &text[v * len..(v + 1) * len]).collect())
    })
}

/// A generator's handles on the shared strings.
#[derive(Debug, Clone)]
struct Pools {
    key: u64,
    names: Box<[Str]>,
    shared: &'static Shared,
    /// `extra` strings by quantized length, fetched from [`EXTRAS`] on first use.
    extras: Vec<Option<&'static [&'static str]>>,
}

impl Pools {
    fn new(key: u64) -> Self {
        let names = FIRST_NAMES
            .iter()
            .flat_map(|first| LAST_NAMES.iter().map(move |last| Str::new(format!("{first} {last}"))))
            .collect();
        Pools { key, names, shared: Shared::of(key), extras: Vec::new() }
    }

    /// Channel `c` and its url (the url is stable per channel, as with the reference's cache).
    #[inline]
    fn channel(&self, c: usize) -> (Str, Str) {
        let (name, url) = self.shared.channels[c];
        (Str::new_static(name), Str::new_static(url))
    }

    /// A string of `len` (quantized) random lowercase letters, one of a few per length.
    #[inline(always)]
    fn extra(&mut self, len: u64, variant: u64) -> Str {
        match self.extras.get(quantize(len) as usize) {
            Some(Some(strings)) => Str::new_static(strings[variant as usize]),
            _ => self.extra_first(len, variant),
        }
    }

    /// [`extra`](Self::extra) when `len` is seen for the first time.
    #[cold]
    #[inline(never)]
    fn extra_first(&mut self, len: u64, variant: u64) -> Str {
        static EMPTY: [&str; EXTRA_VARIANTS as usize] = [""; EXTRA_VARIANTS as usize];
        let q = quantize(len);
        let slot = q as usize;
        if slot >= self.extras.len() {
            self.extras.resize(slot + 1, None);
        }
        let strings = *self.extras[slot].get_or_insert_with(|| if q == 0 { &EMPTY } else { extras_of(self.key, q) });
        Str::new_static(strings[variant as usize])
    }
}

/// Generates the Nexmark events of a [`NexmarkConfig`], from event number 0 (or any other),
/// until `events.num` (forever when 0). Deterministic: the same configuration (seed and
/// base time included) yields the same events.
#[derive(Debug, Clone)]
pub struct NexmarkGenerator {
    config: NexmarkConfig,
    schedule: Schedule,
    pools: Pools,
    /// Key of the per-event random streams.
    key: u64,
    /// The next event's number.
    number: u64,
    /// One past the last event number.
    limit: u64,
    /// `number / total` and `number % total`.
    epoch: i64,
    pos: i64,
    person: i64,
    person_auction: i64,
    total: i64,
    /// Events between an auction and the auction `num_in_flight_auctions` later.
    auction_horizon_events: u64,
    /// With a constant rate: the next event's offset from the base time is
    /// `offset_ns + offset_frac / rate` ns, advanced by `step_ns + step_frac / rate` per event.
    offset_ns: u64,
    offset_frac: u64,
    step_ns: u64,
    step_frac: u64,
    rate: u64,
}

impl NexmarkGenerator {
    /// A generator starting at event number 0.
    ///
    /// # Panics
    /// If the configuration is invalid (see [`NexmarkConfig::validate`]).
    pub fn new(config: NexmarkConfig) -> Self {
        Self::with_offset(config, 0)
    }

    /// A generator starting at event number `first_event` (to resume after `first_event`
    /// events): it yields exactly the events a fresh generator yields after skipping that many.
    ///
    /// # Panics
    /// If the configuration is invalid (see [`NexmarkConfig::validate`]).
    pub fn with_offset(config: NexmarkConfig, first_event: u64) -> Self {
        if let Err((key, message)) = config.validate() {
            panic!("invalid nexmark configuration: '{key}' {message}");
        }
        let key = mix64(config.seed ^ 0x6e65_786d_6172_6b00);
        let schedule = Schedule::new(&config);
        let total = i64::from(config.total_proportion());
        let rate = match schedule {
            Schedule::Constant { rate } => rate,
            Schedule::Shaped { .. } => 1,
        };
        let start = u128::from(first_event) * u128::from(NANOS_PER_SEC);
        let auction_horizon_events = match config.auction_proportion {
            0 => 0,
            a => u64::from(config.num_in_flight_auctions) * total as u64 / u64::from(a),
        };
        NexmarkGenerator {
            schedule,
            pools: Pools::new(key),
            key,
            number: first_event,
            limit: if config.events_num == 0 { u64::MAX } else { config.events_num },
            epoch: (first_event / total as u64) as i64,
            pos: (first_event % total as u64) as i64,
            person: i64::from(config.person_proportion),
            person_auction: i64::from(config.person_proportion) + i64::from(config.auction_proportion),
            total,
            auction_horizon_events,
            offset_ns: u64::try_from(start / u128::from(rate)).unwrap_or(u64::MAX),
            offset_frac: (start % u128::from(rate)) as u64,
            step_ns: NANOS_PER_SEC / rate,
            step_frac: NANOS_PER_SEC % rate,
            rate,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NexmarkConfig {
        &self.config
    }

    /// The number of the next event (the number of events before it); pass it to
    /// [`with_offset`](Self::with_offset) to resume.
    pub fn next_event_number(&self) -> u64 {
        self.number
    }

    /// Whether every event up to `events.num` has been generated.
    pub fn is_finished(&self) -> bool {
        self.number >= self.limit
    }

    /// Nanoseconds from the base time to the next event's (event) time.
    pub fn next_offset_ns(&self) -> u64 {
        match self.schedule {
            Schedule::Constant { .. } => self.offset_ns,
            Schedule::Shaped { .. } => self.schedule.offset_ns(self.number),
        }
    }

    /// Event time, in epoch milliseconds, of the event at `offset_ns` from the base time.
    #[inline]
    fn millis(&self, offset_ns: u64) -> i64 {
        self.config.base_time_ms.saturating_add((offset_ns / NANOS_PER_MILLI) as i64)
    }

    /// The last person id created at or before the current event (base 0; -1 if none).
    #[inline]
    fn last_person(&self) -> i64 {
        self.epoch * self.person + self.pos.min(self.person - 1)
    }

    /// The last auction id created at or before the current event (base 0; -1 if none).
    #[inline]
    fn last_auction(&self) -> i64 {
        let auctions = self.person_auction - self.person;
        if self.pos < self.person {
            self.epoch * auctions - 1
        } else if self.pos >= self.person_auction {
            self.epoch * auctions + auctions - 1
        } else {
            self.epoch * auctions + self.pos - self.person
        }
    }

    /// A random recently active person, possibly a few not yet created (base 0).
    #[inline]
    fn random_person(&self, rng: &mut Rng) -> i64 {
        let people = self.last_person() + 1;
        let active = people.min(i64::from(self.config.num_active_people));
        people - active + rng.below(active as u64 + PERSON_ID_LEAD) as i64
    }

    /// A random auction likely still in flight, possibly a few not yet created (base 0).
    #[inline]
    fn random_auction(&self, rng: &mut Rng) -> i64 {
        let max = self.last_auction();
        let min = (max - i64::from(self.config.num_in_flight_auctions)).max(0);
        min + rng.below((max - min + 1 + AUCTION_ID_LEAD as i64).max(1) as u64) as i64
    }

    /// Random padding so that a record of `current` bytes is `avg` bytes on average (± 20%).
    #[inline(always)]
    fn extra(&mut self, rng: &mut Rng, current: u64, avg: u32) -> Str {
        let avg = u64::from(avg);
        if current > avg {
            return Str::default();
        }
        let desired = avg - current;
        let delta = (2 * desired + 5) / 10; // round(desired × 0.2)
        let len = desired - delta + if delta == 0 { 0 } else { rng.below(2 * delta) };
        let variant = rng.below(EXTRA_VARIANTS);
        self.pools.extra(len, variant)
    }

    fn next_person(&mut self, rng: &mut Rng, ts: i64) -> Person {
        let id = self.last_person() + FIRST_PERSON_ID;
        let name = self.pools.names[rng.below(self.pools.names.len() as u64) as usize].clone();
        let mut email = Text::<24>::new();
        email.push_word(rng, 7, b' ');
        email.push(b'@');
        email.push_word(rng, 5, b' ');
        email.push_str(".com");
        let mut card = Text::<24>::new();
        for i in 0..4 {
            if i > 0 {
                card.push(b' ');
            }
            let mut group = rng.below(10_000) as u16;
            let mut digits = [b'0'; 4];
            for d in digits.iter_mut().rev() {
                *d = b'0' + (group % 10) as u8;
                group /= 10;
            }
            card.push_str(std::str::from_utf8(&digits).expect("digits"));
        }
        let city = US_CITIES[rng.below(US_CITIES.len() as u64) as usize];
        let state = US_STATES[rng.below(US_STATES.len() as u64) as usize];
        let current = 8 + name.len() + email.len + card.len + city.len() + state.len();
        let extra = self.extra(rng, current as u64, self.config.avg_person_byte_size);
        Person {
            id,
            name,
            email_address: email.to_str(),
            credit_card: card.to_str(),
            city: Str::new_static(city),
            state: Str::new_static(state),
            date_time: Timestamp::from_millis(ts),
            extra,
        }
    }

    fn next_auction(&mut self, rng: &mut Rng, ts: i64) -> Auction {
        let id = self.last_auction() + FIRST_AUCTION_ID;
        let seller = FIRST_PERSON_ID
            + if rng.below(u64::from(self.config.hot_sellers_ratio)) > 0 {
                (self.last_person() / HOT_BATCH) * HOT_BATCH
            } else {
                self.random_person(rng)
            };
        let category = FIRST_CATEGORY_ID + rng.below(NUM_CATEGORIES) as i64;
        let initial_bid = rng.price();
        // Auctions last on average as long as it takes to create `num_in_flight_auctions` more.
        let horizon_ms =
            self.millis(self.schedule.offset_ns(self.number.saturating_add(self.auction_horizon_events))) - ts;
        let expires = ts.saturating_add(1 + rng.below((horizon_ms.saturating_mul(2)).max(1) as u64) as i64);
        let mut item_name = Text::<24>::new();
        item_name.push_word(rng, 20, b' ');
        let description = Str::new_static(self.pools.shared.descriptions[rng.below(DESCRIPTIONS as u64) as usize]);
        let reserve = initial_bid + rng.price();
        let current = 8 + item_name.len + description.len() + 8 + 8 + 8 + 8 + 8;
        let extra = self.extra(rng, current as u64, self.config.avg_auction_byte_size);
        Auction {
            id,
            item_name: item_name.to_str(),
            description,
            initial_bid,
            reserve,
            date_time: Timestamp::from_millis(ts),
            expires: Timestamp::from_millis(expires),
            seller,
            category,
            extra,
        }
    }

    #[inline(always)]
    fn next_bid(&mut self, rng: &mut Rng, ts: i64) -> Bid {
        let auction = FIRST_AUCTION_ID
            + if rng.below(u64::from(self.config.hot_auction_ratio)) > 0 {
                (self.last_auction() / HOT_BATCH) * HOT_BATCH
            } else {
                self.random_auction(rng)
            };
        // Hot bidders are the second of their batch, so that they differ from hot sellers.
        let bidder = FIRST_PERSON_ID
            + if rng.below(u64::from(self.config.hot_bidders_ratio)) > 0 {
                (self.last_person() / HOT_BATCH) * HOT_BATCH + 1
            } else {
                self.random_person(rng)
            };
        let price = rng.price();
        let (channel, url) = if rng.below(HOT_CHANNELS_RATIO) > 0 {
            let i = rng.below(HOT_CHANNELS.len() as u64) as usize;
            (Str::new_static(HOT_CHANNELS[i]), Str::new_static(self.pools.shared.hot_urls[i]))
        } else {
            self.pools.channel(rng.below(CHANNELS as u64) as usize)
        };
        let extra = self.extra(rng, 8 + 8 + 8 + 8, self.config.avg_bid_byte_size);
        Bid { auction, bidder, price, channel, url, date_time: Timestamp::from_millis(ts), extra }
    }

    /// The next event, whether or not `events.num` is reached.
    #[inline(always)]
    pub(super) fn generate(&mut self) -> Event {
        let ts = self.millis(self.next_offset_ns());
        let mut rng = Rng::new(self.key ^ self.number);
        let event = if self.pos >= self.person_auction {
            let bid = self.next_bid(&mut rng, ts);
            Event { event_type: 2, person: None, auction: None, bid: Some(bid) }
        } else if self.pos >= self.person {
            let auction = self.next_auction(&mut rng, ts);
            Event { event_type: 1, person: None, auction: Some(auction), bid: None }
        } else {
            let person = self.next_person(&mut rng, ts);
            Event { event_type: 0, person: Some(person), auction: None, bid: None }
        };
        self.advance();
        event
    }

    /// Moves to the next event number.
    #[inline]
    fn advance(&mut self) {
        self.number += 1;
        self.pos += 1;
        if self.pos == self.total {
            self.pos = 0;
            self.epoch += 1;
        }
        self.offset_ns = self.offset_ns.saturating_add(self.step_ns);
        self.offset_frac += self.step_frac;
        if self.offset_frac >= self.rate {
            self.offset_frac -= self.rate;
            self.offset_ns = self.offset_ns.saturating_add(1);
        }
    }
}

impl Iterator for NexmarkGenerator {
    type Item = Event;

    #[inline]
    fn next(&mut self) -> Option<Event> {
        if self.number >= self.limit {
            return None;
        }
        Some(self.generate())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.limit.saturating_sub(self.number);
        (usize::try_from(left).unwrap_or(usize::MAX), usize::try_from(left).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_match_the_reference_formula() {
        let mut rng = Rng::new(1);
        let (mut same, mut n) = (0, 0);
        for _ in 0..100_000 {
            let mut a = rng.clone();
            let u = a.unit();
            let expected = (10f64.powf(u * 6.0) * 100.0).round() as i64;
            let got = rng.price();
            assert!((got - expected).abs() <= 1, "u = {u}: {got} vs {expected}");
            same += i32::from(got == expected);
            n += 1;
        }
        assert!(same > n * 999 / 1000, "{same} of {n} equal");
        assert!((POWERS_OF_TWO[128] - std::f64::consts::SQRT_2).abs() < 1e-15);
        // Log-uniform: a sixth of the prices in each decade from 1 to 1e6 dollars.
        let mut decades = [0; 6];
        for _ in 0..60_000 {
            decades[(rng.price() as f64 / 100.0).log10().floor() as usize] += 1;
        }
        assert!(decades.iter().all(|&d| (9_000..11_000).contains(&d)), "{decades:?}");
    }

    #[test]
    fn below_is_uniform_and_in_range() {
        let mut rng = Rng::new(42);
        let mut counts = [0; 7];
        for _ in 0..70_000 {
            counts[rng.below(7) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    fn quantized_lengths_are_close() {
        for len in 0..128 {
            assert_eq!(quantize(len), len);
        }
        for len in 128..100_000u64 {
            let q = quantize(len);
            assert!(q.abs_diff(len) * 128 <= len, "{len} -> {q}");
        }
        let distinct: std::collections::BTreeSet<u64> = (256..512).map(quantize).collect();
        assert_eq!(distinct.len(), 65);
    }

    #[test]
    fn words_have_the_reference_shape() {
        let mut rng = Rng::new(7);
        let mut lengths = [0; 20];
        for _ in 0..10_000 {
            let mut t = Text::<24>::new();
            t.push_word(&mut rng, 20, b' ');
            let w = t.as_str();
            assert!(w.len() < 20 && w.trim() == w, "{w:?}");
            assert!(w.bytes().all(|b| b == b' ' || b.is_ascii_lowercase()));
            lengths[w.len()] += 1;
        }
        // 3 to 19 letters before trimming; trimming rarely shortens much.
        assert!(lengths[3..].iter().all(|&n| n > 0), "{lengths:?}");
        let url = base_url(&mut rng);
        assert!(url.starts_with("https://www.nexmark.com/") && url.ends_with("/item.htm?query=1"), "{url}");
        assert_eq!(url.matches('/').count(), 2 + 1 + 3);
    }

    #[test]
    fn channel_ids_as_the_reference() {
        // Integer.reverse(1) is Integer.MIN_VALUE, whose Math.abs is itself.
        assert_eq!(1i32.reverse_bits().wrapping_abs(), i32::MIN);
        assert_eq!(2i32.reverse_bits().wrapping_abs(), 1 << 30);
        let shared = Shared::of(12345);
        assert!(std::ptr::eq(shared, Shared::of(12345)));
        assert_eq!(shared.channels.len(), CHANNELS);
        assert_eq!(shared.channels[77].0, "channel-77");
        let with_id = shared.channels.iter().filter(|(_, url)| url.contains("&channel_id=")).count();
        assert!((8_700..9_300).contains(&with_id), "{with_id}");
    }
}
