//! Event-time timers per key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Event-time timers: `(timestamp, key)` pairs, each at most once, fired in order of
/// timestamp then key once the watermark reaches them (Flink fires a timer when the
/// watermark is `>=` its timestamp). Timestamps are in whatever unit the operator's
/// watermarks use.
///
/// A window operator registers, per `(key, window)`, a timer at the window's last instant
/// (`end - 1`) with the key and window as `K`, and on each watermark fires what
/// [`TimerQueue::pop_due`] returns. Serializable, to be checkpointed with the operator's
/// other state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize", deserialize = "K: Deserialize<'de> + Ord"))]
pub struct TimerQueue<K> {
    timers: BTreeSet<(i64, K)>,
}

impl<K> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue { timers: BTreeSet::new() }
    }
}

impl<K: Ord + Clone> TimerQueue<K> {
    /// No timers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a timer at `ts` for `key`; returns `false` if it was already registered.
    pub fn register(&mut self, ts: i64, key: K) -> bool {
        self.timers.insert((ts, key))
    }

    /// Deletes the timer at `ts` for `key`; returns whether there was one.
    pub fn delete(&mut self, ts: i64, key: &K) -> bool {
        self.timers.remove(&(ts, key.clone()))
    }

    /// Removes and returns the timers due at `watermark` (timestamp `<= watermark`), in
    /// order of timestamp, then key.
    pub fn pop_due(&mut self, watermark: i64) -> Vec<(i64, K)> {
        let mut due = Vec::new();
        while self.timers.first().is_some_and(|(ts, _)| *ts <= watermark) {
            due.extend(self.timers.pop_first());
        }
        due
    }

    /// The earliest timer's timestamp.
    pub fn next_timestamp(&self) -> Option<i64> {
        self.timers.first().map(|(ts, _)| *ts)
    }

    /// The number of timers.
    pub fn len(&self) -> usize {
        self.timers.len()
    }

    /// Whether there are no timers.
    pub fn is_empty(&self) -> bool {
        self.timers.is_empty()
    }

    /// Every timer, in firing order.
    pub fn iter(&self) -> impl Iterator<Item = &(i64, K)> {
        self.timers.iter()
    }
}
