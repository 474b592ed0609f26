//! Event time: watermarks and window assignment, with Flink's semantics.
//!
//! Pure building blocks (no I/O, no clocks of their own) that generated pipelines call.
//! Everything works in **milliseconds since the epoch** (`i64`), as Flink does for
//! watermarks and windows; convert at the edges with [`Timestamp::millis`] (floor) and
//! [`Timestamp::from_millis`], or [`Window::start_timestamp`] and friends.
//!
//! # How a pipeline uses them
//!
//! **Sources** assign each row its event time and feed a [`SplitWatermarks`], one per
//! source, indexed by split (a Kafka partition, a file, …):
//!
//! ```
//! use dfl::time::{BoundedOutOfOrderness, SplitWatermarks};
//!
//! // WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, 'scan.watermark.idle-timeout' = '1 min'
//! let mut wm = SplitWatermarks::new(BoundedOutOfOrderness::sql(5_000), Some(60_000));
//! let now = 0; // processing time, in ms, from the caller's clock
//! wm.observe(0, 10_000, now); // split 0 read a row with event time 10 s
//! wm.observe(1, 20_000, now);
//! assert_eq!(wm.combined(), 5_000); // the slowest split holds the watermark back
//! wm.check_idle(now + 60_001); // periodically (Flink: every 200 ms): idleness
//! wm.end_of_input(0);
//! wm.end_of_input(1);
//! assert_eq!(wm.combined(), i64::MAX); // bounded input: everything fires
//! ```
//!
//! The source forwards [`SplitWatermarks::combined`] downstream whenever it advances.
//! [`is_late`] tells whether a row is behind the watermark.
//!
//! **Window operators** assign rows to windows with [`tumble`], [`hop`] or [`cumulate`]
//! (or, per key, [`Sessions::add`]), keep one accumulator per (key, window), and fire a
//! window once the watermark reaches its [`Window::max_timestamp`] (`end - 1`, Flink's
//! `window_time`): [`Window::is_fired`], [`Sessions::fire`]. A row whose windows have all
//! fired is late and dropped, as Flink's window aggregate does.

mod watermark;
mod windows;

#[cfg(doc)]
use crate::types::Timestamp;

pub use watermark::{BoundedOutOfOrderness, END_OF_INPUT, NO_WATERMARK, SplitWatermarks, is_late};

/// Processing time: milliseconds since the Unix epoch by the system clock.
pub fn epoch_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
pub use windows::{
    SessionChange, Sessions, Window, check_cumulate, check_hop, check_tumble, cumulate, hop, tumble, window_start,
};

/// SplitMix64, the seeded generator of this module's randomized tests.
#[cfg(test)]
pub(crate) struct SplitMix64(pub u64);

#[cfg(test)]
impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (a negligible modulo bias is fine for tests).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi);
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (u128::from(self.next_u64()) % span) as i128) as i64
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }
}
