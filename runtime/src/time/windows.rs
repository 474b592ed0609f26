//! Window assignment, as Flink's windowing table-valued functions define it: `TUMBLE`,
//! `HOP`, `CUMULATE` and `SESSION`.
//!
//! All times are milliseconds since the epoch; windows are `[start, end)`. The assigners
//! port Flink's (`TimeWindow.getWindowStartWithOffset`, the table runtime's
//! `TumblingWindowAssigner`, `SlidingWindowAssigner`, `CumulativeWindowAssigner` and
//! `SessionWindowAssigner`), including their window order. Results are exact for
//! timestamps, sizes and offsets well inside the `i64` range (say `|x| < 2^62`); at the
//! extremes Flink's `long` arithmetic wraps and so does [`window_start`].

use crate::types::Timestamp;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A time window `[start, end)`, in ms. Ordered by `(end, start)`: the order in which
/// windows fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Window {
    /// The first millisecond in the window.
    pub start: i64,
    /// The first millisecond after the window (exclusive).
    pub end: i64,
}

impl Window {
    /// The window `[start, end)`.
    pub const fn new(start: i64, end: i64) -> Self {
        Window { start, end }
    }

    /// The last millisecond in the window, `end - 1`: Flink's `window_time`, and the
    /// watermark at which the window fires.
    pub const fn max_timestamp(&self) -> i64 {
        self.end - 1
    }

    /// Whether `ts` lies in the window.
    pub const fn contains(&self, ts: i64) -> bool {
        self.start <= ts && ts < self.end
    }

    /// Whether the watermark has reached the window's end: it is complete and fires
    /// (`max_timestamp() <= watermark`).
    pub const fn is_fired(&self, watermark: i64) -> bool {
        self.max_timestamp() <= watermark
    }

    /// Flink's `TimeWindow.intersects`: overlapping **or touching** (closed bounds), the
    /// condition for session windows to merge.
    pub const fn intersects(&self, other: &Window) -> bool {
        self.start <= other.end && self.end >= other.start
    }

    /// The smallest window covering both.
    pub fn cover(&self, other: &Window) -> Window {
        Window { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// `window_start` as a timestamp.
    pub const fn start_timestamp(&self) -> Timestamp {
        Timestamp::from_millis(self.start)
    }

    /// `window_end` as a timestamp.
    pub const fn end_timestamp(&self) -> Timestamp {
        Timestamp::from_millis(self.end)
    }

    /// `window_time` (`window_end - 1 ms`) as a timestamp.
    pub const fn time_timestamp(&self) -> Timestamp {
        Timestamp::from_millis(self.max_timestamp())
    }
}

impl Ord for Window {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.end, self.start).cmp(&(other.end, other.start))
    }
}

impl PartialOrd for Window {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The start of the window of length `size` (shifted by `offset`) that contains `ts`: the
/// largest `start <= ts` with `start ≡ offset (mod size)`. Flink's
/// `TimeWindow.getWindowStartWithOffset`.
///
/// Current Flink computes `r = (ts - offset) % size` with Java's `%` (truncating, the sign
/// of the dividend, as Rust's `%`) and returns `ts - r`, or `ts - (r + size)` when
/// `r < 0`: a floor, correct for negative timestamps and offsets alike. (Older Flink
/// wrote `ts - (ts - offset + size) % size`, which agrees only while
/// `ts - offset + size >= 0` and otherwise returns a start *after* `ts`; we follow the
/// fixed form.) Offsets equal modulo `size` give the same windows, and `offset` may be
/// negative or larger than `size`, as in the TVFs.
///
/// `size` must be positive.
pub fn window_start(ts: i64, offset: i64, size: i64) -> i64 {
    debug_assert!(size > 0, "window size must be positive: {size}");
    // Java `long` arithmetic wraps; so does this (never differently for sane inputs).
    let rem = ts.wrapping_sub(offset) % size;
    if rem < 0 { ts.wrapping_sub(rem + size) } else { ts.wrapping_sub(rem) }
}

/// `TUMBLE(…, size, offset)`: the one window of length `size` that contains `ts`.
pub fn tumble(ts: i64, size: i64, offset: i64) -> Window {
    let start = window_start(ts, offset, size);
    Window::new(start, start.wrapping_add(size))
}

/// `HOP(…, slide, size, offset)`: every window of length `size`, starting every `slide`,
/// that contains `ts`, latest start first (Flink's order: from
/// `window_start(ts, offset, slide)` down by `slide` while `start > ts - size`).
///
/// `size / slide` windows when `size` is a multiple of `slide` (see [`check_hop`]); other
/// positive values work too (and for `slide > size` a row may fall in no window).
pub fn hop(ts: i64, slide: i64, size: i64, offset: i64) -> impl Iterator<Item = Window> {
    debug_assert!(slide > 0 && size > 0, "HOP needs a positive slide and size: {slide}, {size}");
    let last_start = window_start(ts, offset, slide);
    let bound = ts.saturating_sub(size);
    std::iter::successors(Some(last_start), move |s| s.checked_sub(slide))
        .take_while(move |&s| s > bound)
        .map(move |s| Window::new(s, s.wrapping_add(size)))
}

/// `CUMULATE(…, step, size, offset)`: the windows `[start, start + k·step)`, for
/// `k = 1..=size/step`, of the `size`-long tumbling window `[start, start + size)` that
/// contains `ts`, those that contain `ts`, shortest first (Flink's order).
///
/// `size` must be a multiple of `step` (see [`check_cumulate`]).
pub fn cumulate(ts: i64, step: i64, size: i64, offset: i64) -> impl Iterator<Item = Window> {
    debug_assert!(step > 0 && size > 0, "CUMULATE needs a positive step and size: {step}, {size}");
    let start = window_start(ts, offset, size);
    let last_end = start.wrapping_add(size);
    let first_end = window_start(ts, offset, step).wrapping_add(step);
    std::iter::successors(Some(first_end), move |e| e.checked_add(step))
        .take_while(move |&e| e <= last_end)
        .map(move |e| Window::new(start, e))
}

/// Checks a `TUMBLE` size: positive.
pub fn check_tumble(size: i64) -> Result<(), String> {
    if size <= 0 {
        return Err(format!("TUMBLE window size must be positive, got {size} ms"));
    }
    Ok(())
}

/// Checks `HOP` parameters as Flink does: a positive slide and size, the size an integral
/// multiple of the slide.
pub fn check_hop(slide: i64, size: i64) -> Result<(), String> {
    if slide <= 0 || size <= 0 {
        return Err(format!("HOP window slide and size must be positive, got slide {slide} ms and size {size} ms"));
    }
    if size % slide != 0 {
        return Err(format!(
            "HOP window size must be an integral multiple of the slide, got slide {slide} ms and size {size} ms"
        ));
    }
    Ok(())
}

/// Checks `CUMULATE` parameters as Flink does: a positive step and size, the size an
/// integral multiple of the step.
pub fn check_cumulate(step: i64, size: i64) -> Result<(), String> {
    if step <= 0 || size <= 0 {
        return Err(format!("CUMULATE window step and size must be positive, got step {step} ms and size {size} ms"));
    }
    if size % step != 0 {
        return Err(format!(
            "CUMULATE window size must be an integral multiple of the step, got step {step} ms and size {size} ms"
        ));
    }
    Ok(())
}

/// What [`Sessions::add`] did with a timestamp, so that an aggregate operator can keep one
/// accumulator per session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionChange {
    /// A new session: start a fresh accumulator.
    New(Window),
    /// The timestamp lies in this session, which does not change.
    Unchanged(Window),
    /// A session grew (earlier start or later end): move its accumulator from `from` to
    /// `to`.
    Extended {
        /// The session before.
        from: Window,
        /// The session after.
        to: Window,
    },
    /// The timestamp bridged sessions, which merged into one: merge the accumulators of
    /// `absorbed` (the former sessions, in order, all gone now) into `into`.
    Merged {
        /// The merged session.
        into: Window,
        /// The sessions merged, in order; none of them exists any more.
        absorbed: Vec<Window>,
    },
}

impl SessionChange {
    /// The session that now holds the timestamp.
    pub fn window(&self) -> Window {
        match self {
            SessionChange::New(w) | SessionChange::Unchanged(w) => *w,
            SessionChange::Extended { to, .. } => *to,
            SessionChange::Merged { into, .. } => *into,
        }
    }
}

/// The session windows of one key (`SESSION(TABLE t PARTITION BY key, …, gap)`): disjoint
/// windows `[first_ts, last_ts + gap)`, where consecutive timestamps of a session are at
/// most `gap` apart.
///
/// As in Flink, each timestamp opens the window `[ts, ts + gap)`, which merges with every
/// session it intersects **or touches** ([`Window::intersects`]): two rows exactly `gap`
/// apart share a session.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Sessions {
    gap: i64,
    /// Sessions by start: start → end. Disjoint and not touching.
    sessions: BTreeMap<i64, i64>,
}

impl Sessions {
    /// No sessions yet, with the given gap.
    ///
    /// # Panics
    /// If `gap` is not positive (Flink rejects it too).
    pub fn new(gap: i64) -> Self {
        assert!(gap > 0, "the session gap must be positive: {gap}");
        Sessions { gap, sessions: BTreeMap::new() }
    }

    /// The session gap, in ms.
    pub fn gap(&self) -> i64 {
        self.gap
    }

    /// Adds a row with event time `ts`: opens, extends or merges sessions.
    pub fn add(&mut self, ts: i64) -> SessionChange {
        let new = Window::new(ts, ts.saturating_add(self.gap));
        // Sessions are disjoint and at least `gap` long, so at most two can meet the new
        // window: the last one starting at or before `ts`, and ones starting in
        // `(ts, ts + gap]`.
        let mut hit: Vec<Window> = Vec::with_capacity(2);
        if let Some((&s, &e)) = self.sessions.range(..=ts).next_back() {
            let w = Window::new(s, e);
            if w.intersects(&new) {
                hit.push(w);
            }
        }
        for (&s, &e) in self.sessions.range((Bound::Excluded(ts), Bound::Included(new.end))) {
            hit.push(Window::new(s, e));
        }
        match hit.as_slice() {
            [] => {
                self.sessions.insert(new.start, new.end);
                SessionChange::New(new)
            }
            [only] => {
                let to = only.cover(&new);
                if to == *only {
                    SessionChange::Unchanged(to)
                } else {
                    self.sessions.remove(&only.start);
                    self.sessions.insert(to.start, to.end);
                    SessionChange::Extended { from: *only, to }
                }
            }
            _ => {
                let into = hit.iter().fold(new, |acc, w| acc.cover(w));
                for w in &hit {
                    self.sessions.remove(&w.start);
                }
                self.sessions.insert(into.start, into.end);
                SessionChange::Merged { into, absorbed: hit }
            }
        }
    }

    /// Removes and returns, in order, the sessions the watermark completes
    /// (`end - 1 <= watermark`).
    pub fn fire(&mut self, watermark: i64) -> Vec<Window> {
        let mut fired = Vec::new();
        while let Some(entry) = self.sessions.first_entry() {
            let w = Window::new(*entry.key(), *entry.get());
            if !w.is_fired(watermark) {
                break;
            }
            entry.remove();
            fired.push(w);
        }
        fired
    }

    /// The session containing `ts`, if any.
    pub fn get(&self, ts: i64) -> Option<Window> {
        let (&s, &e) = self.sessions.range(..=ts).next_back()?;
        let w = Window::new(s, e);
        w.contains(ts).then_some(w)
    }

    /// The earliest session to fire (the one with the smallest end), if any: for an
    /// operator's timer.
    pub fn first(&self) -> Option<Window> {
        self.sessions.first_key_value().map(|(&s, &e)| Window::new(s, e))
    }

    /// The open sessions, in order.
    pub fn iter(&self) -> impl Iterator<Item = Window> + '_ {
        self.sessions.iter().map(|(&s, &e)| Window::new(s, e))
    }

    /// The number of open sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SplitMix64;
    use crate::types::time::parse_timestamp;
    use std::collections::BTreeSet;

    const MINUTE: i64 = 60_000;

    fn ms(s: &str) -> i64 {
        parse_timestamp(s).unwrap_or_else(|| panic!("bad timestamp {s}")).millis()
    }

    fn win(start: &str, end: &str) -> Window {
        Window::new(ms(start), ms(end))
    }

    /// The docs' `Bid` table (Windowing TVF page): bidtime, as `2020-04-15 08:MM`.
    const BIDS: [&str; 6] = ["08:05", "08:07", "08:09", "08:11", "08:13", "08:17"];

    fn bid(hhmm: &str) -> i64 {
        ms(&format!("2020-04-15 {hhmm}"))
    }

    fn w(start: &str, end: &str) -> Window {
        Window::new(bid(start), bid(end))
    }

    #[test]
    fn tumble_docs_example() {
        let want = [
            w("08:00", "08:10"),
            w("08:00", "08:10"),
            w("08:00", "08:10"),
            w("08:10", "08:20"),
            w("08:10", "08:20"),
            w("08:10", "08:20"),
        ];
        for (t, want) in BIDS.iter().zip(want) {
            let got = tumble(bid(t), 10 * MINUTE, 0);
            assert_eq!(got, want, "{t}");
            assert!(got.contains(bid(t)));
        }
        // window_time is window_end - 1 ms: 08:09:59.999.
        let first = tumble(bid("08:05"), 10 * MINUTE, 0);
        assert_eq!(first.max_timestamp(), ms("2020-04-15 08:09:59.999"));
        assert_eq!(first.time_timestamp(), parse_timestamp("2020-04-15 08:09:59.999").unwrap());
        assert_eq!(first.start_timestamp(), parse_timestamp("2020-04-15 08:00").unwrap());
        assert_eq!(first.end_timestamp(), parse_timestamp("2020-04-15 08:10").unwrap());
        // With OFFSET => INTERVAL '1' MINUTES: [08:01, 08:11) and [08:11, 08:21).
        let want = [("08:01", "08:11"), ("08:01", "08:11"), ("08:01", "08:11"), ("08:11", "08:21")];
        for (t, (s, e)) in BIDS.iter().zip(want) {
            assert_eq!(tumble(bid(t), 10 * MINUTE, MINUTE), w(s, e), "{t}");
        }
        assert_eq!(tumble(bid("08:17"), 10 * MINUTE, MINUTE), w("08:11", "08:21"));
    }

    #[test]
    fn offset_docs_example() {
        // "Window Offset": 2021-06-30 00:00:04 in a 10-minute TUMBLE, for several offsets.
        let ts = ms("2021-06-30 00:00:04");
        let early = win("2021-06-29 23:54:00", "2021-06-30 00:04:00");
        let late = win("2021-06-29 23:56:00", "2021-06-30 00:06:00");
        let zero = win("2021-06-30 00:00:00", "2021-06-30 00:10:00");
        for (offset_min, want) in [(-16, early), (-6, early), (-4, late), (0, zero), (4, early), (6, late), (16, late)]
        {
            assert_eq!(tumble(ts, 10 * MINUTE, offset_min * MINUTE), want, "offset {offset_min} min");
        }
    }

    #[test]
    fn hop_docs_example() {
        let (slide, size) = (5 * MINUTE, 10 * MINUTE);
        let want: [&[(&str, &str)]; 6] = [
            &[("08:00", "08:10"), ("08:05", "08:15")],
            &[("08:00", "08:10"), ("08:05", "08:15")],
            &[("08:00", "08:10"), ("08:05", "08:15")],
            &[("08:05", "08:15"), ("08:10", "08:20")],
            &[("08:05", "08:15"), ("08:10", "08:20")],
            &[("08:10", "08:20"), ("08:15", "08:25")],
        ];
        for (t, want) in BIDS.iter().zip(want) {
            let got: Vec<Window> = hop(bid(t), slide, size, 0).collect();
            // Flink's order is the latest start first; the docs list them sorted.
            let want: Vec<Window> = want.iter().rev().map(|(s, e)| w(s, e)).collect();
            assert_eq!(got, want, "{t}");
        }
        // The aggregated windows and their sums (prices of the Bid table).
        let prices = [4, 2, 5, 3, 1, 6];
        let mut sums: BTreeMap<Window, i32> = BTreeMap::new();
        for (t, p) in BIDS.iter().zip(prices) {
            for win in hop(bid(t), slide, size, 0) {
                *sums.entry(win).or_default() += p;
            }
        }
        let got: Vec<(Window, i32)> = sums.into_iter().collect();
        assert_eq!(
            got,
            [(w("08:00", "08:10"), 11), (w("08:05", "08:15"), 15), (w("08:10", "08:20"), 10), (w("08:15", "08:25"), 6)]
        );
    }

    #[test]
    fn cumulate_docs_example() {
        let (step, size) = (2 * MINUTE, 10 * MINUTE);
        let want: [&[(&str, &str)]; 6] = [
            &[("08:00", "08:06"), ("08:00", "08:08"), ("08:00", "08:10")],
            &[("08:00", "08:08"), ("08:00", "08:10")],
            &[("08:00", "08:10")],
            &[("08:10", "08:12"), ("08:10", "08:14"), ("08:10", "08:16"), ("08:10", "08:18"), ("08:10", "08:20")],
            &[("08:10", "08:14"), ("08:10", "08:16"), ("08:10", "08:18"), ("08:10", "08:20")],
            &[("08:10", "08:18"), ("08:10", "08:20")],
        ];
        for (t, want) in BIDS.iter().zip(want) {
            let got: Vec<Window> = cumulate(bid(t), step, size, 0).collect();
            let want: Vec<Window> = want.iter().map(|(s, e)| w(s, e)).collect();
            assert_eq!(got, want, "{t}");
        }
        let prices = [4, 2, 5, 3, 1, 6];
        let mut sums: BTreeMap<(i64, i64), i32> = BTreeMap::new();
        for (t, p) in BIDS.iter().zip(prices) {
            for win in cumulate(bid(t), step, size, 0) {
                *sums.entry((win.start, win.end)).or_default() += p;
            }
        }
        let got: Vec<i32> = sums.values().copied().collect();
        assert_eq!(got, [4, 6, 11, 3, 4, 4, 10, 10]);
    }

    #[test]
    fn session_docs_example() {
        // The SESSION example's Bid table: (bidtime, price, item), gap 5 minutes.
        let rows = [("08:07", 4, "A"), ("08:06", 2, "A"), ("08:09", 5, "B"), ("08:08", 3, "A"), ("08:17", 1, "B")];
        let run = |partitioned: bool| -> Vec<(String, Window, i32)> {
            let mut keys: BTreeMap<&str, (Sessions, BTreeMap<Window, i32>)> = BTreeMap::new();
            for (t, price, item) in rows {
                let key = if partitioned { item } else { "" };
                let (sessions, sums) = keys.entry(key).or_insert_with(|| (Sessions::new(5 * MINUTE), BTreeMap::new()));
                match sessions.add(bid(t)) {
                    SessionChange::New(w) | SessionChange::Unchanged(w) => *sums.entry(w).or_default() += price,
                    SessionChange::Extended { from, to } => {
                        let acc = sums.remove(&from).unwrap();
                        sums.insert(to, acc + price);
                    }
                    SessionChange::Merged { into, absorbed } => {
                        let acc: i32 = absorbed.iter().map(|a| sums.remove(a).unwrap()).sum();
                        sums.insert(into, acc + price);
                    }
                }
            }
            let mut out = Vec::new();
            for (key, (mut sessions, mut sums)) in keys {
                for w in sessions.fire(END) {
                    out.push((key.to_string(), w, sums.remove(&w).unwrap()));
                }
                assert!(sessions.is_empty() && sums.is_empty());
            }
            out
        };
        const END: i64 = i64::MAX;
        assert_eq!(
            run(true),
            [
                ("A".to_string(), w("08:06", "08:13"), 9),
                ("B".to_string(), w("08:09", "08:14"), 5),
                ("B".to_string(), w("08:17", "08:22"), 1)
            ]
        );
        assert_eq!(run(false), [(String::new(), w("08:06", "08:14"), 14), (String::new(), w("08:17", "08:22"), 1)]);
    }

    #[test]
    fn negative_timestamps_and_offsets() {
        // Floor semantics below the epoch.
        assert_eq!(window_start(-1, 0, 10), -10);
        assert_eq!(window_start(-10, 0, 10), -10);
        assert_eq!(window_start(-11, 0, 10), -20);
        assert_eq!(window_start(-15, 0, 10), -20);
        assert_eq!(window_start(0, 0, 10), 0);
        assert_eq!(window_start(9, 0, 10), 0);
        assert_eq!(window_start(-15, 3, 10), -17);
        assert_eq!(window_start(-15, -3, 10), -23);
        assert_eq!(window_start(5, 13, 10), 3);
        assert_eq!(window_start(5, -27, 10), 3);
        assert_eq!(tumble(-1, 10, 0), Window::new(-10, 0));
        // The old formula `ts - (ts - offset + size) % size` agrees while
        // `ts - offset + size >= 0`, and is wrong beyond: for -15 it gives -10 > -15.
        let old = |ts: i64, offset: i64, size: i64| ts - (ts - offset + size) % size;
        assert_eq!(old(-15, 0, 10), -10);
        for ts in -10..30 {
            for offset in -5..5 {
                if ts - offset + 10 >= 0 {
                    assert_eq!(window_start(ts, offset, 10), old(ts, offset, 10), "{ts} {offset}");
                }
            }
        }
        // HOP and CUMULATE across the epoch.
        let got: Vec<Window> = hop(-3, 5, 10, 0).collect();
        assert_eq!(got, [Window::new(-5, 5), Window::new(-10, 0)]);
        let got: Vec<Window> = cumulate(-3, 2, 10, 0).collect();
        assert_eq!(got, [Window::new(-10, -2), Window::new(-10, 0)]);
        let got: Vec<Window> = cumulate(-3, 2, 10, -1).collect();
        assert_eq!(got, [Window::new(-11, -1)]);
    }

    #[test]
    fn window_order_and_helpers() {
        let a = Window::new(0, 10);
        let b = Window::new(5, 10);
        let c = Window::new(-100, 11);
        let mut v = vec![c, b, a];
        v.sort();
        assert_eq!(v, [a, b, c]); // by end, then start
        assert!(a.is_fired(9) && !a.is_fired(8));
        assert!(a.intersects(&Window::new(10, 20)) && !a.intersects(&Window::new(11, 20)));
        assert_eq!(a.cover(&Window::new(20, 30)), Window::new(0, 30));
    }

    #[test]
    fn checks() {
        assert!(check_tumble(1).is_ok());
        assert!(check_tumble(0).is_err());
        assert!(check_hop(5, 10).is_ok());
        assert!(check_hop(10, 10).is_ok());
        assert!(check_hop(3, 10).unwrap_err().contains("multiple"));
        assert!(check_hop(0, 10).is_err());
        assert!(check_hop(5, -10).is_err());
        assert!(check_cumulate(2, 10).is_ok());
        assert!(check_cumulate(3, 10).unwrap_err().contains("multiple"));
        assert!(check_cumulate(-2, 10).is_err());
        assert!(check_cumulate(2, 0).is_err());
    }

    /// Candidate window starts `offset + k·period` around `ts`, found without
    /// [`window_start`]: a range of `k` wide enough to cover every window of length `len`
    /// containing `ts`.
    fn candidates(ts: i64, offset: i64, period: i64, len: i64) -> impl Iterator<Item = i64> {
        let k0 = (ts - offset) / period;
        let reach = len / period + 3;
        (k0 - reach..=k0 + reach).map(move |k| offset + k * period)
    }

    #[test]
    fn random_assigners_match_brute_force() {
        let mut rng = SplitMix64(0xD1F1_0002);
        for _ in 0..20_000 {
            let scale = [1, 10, 1_000, 1_000_000_000_000][rng.range(0, 3) as usize];
            let ts = rng.range(-scale, scale);
            let unit = rng.range(1, 50);
            let slide = unit;
            let size = unit * rng.range(1, 8);
            let offset = rng.range(-3 * size, 3 * size);

            // TUMBLE: exactly one candidate window contains ts.
            let want: Vec<Window> = candidates(ts, offset, size, size)
                .map(|s| Window::new(s, s + size))
                .filter(|w| w.contains(ts))
                .collect();
            assert_eq!(want.len(), 1);
            assert_eq!(tumble(ts, size, offset), want[0], "tumble {ts} {size} {offset}");

            // HOP, with size a multiple of the slide or not: latest start first.
            for size in [size, size + rng.range(0, slide - 1)] {
                let mut want: Vec<Window> = candidates(ts, offset, slide, size)
                    .map(|s| Window::new(s, s + size))
                    .filter(|w| w.contains(ts))
                    .collect();
                want.sort_by_key(|w| std::cmp::Reverse(w.start));
                let got: Vec<Window> = hop(ts, slide, size, offset).collect();
                assert_eq!(got, want, "hop {ts} {slide} {size} {offset}");
                if size % slide == 0 {
                    assert_eq!(got.len() as i64, size / slide);
                }
            }
            // HOP with a slide larger than the size: gaps between windows.
            let big = size + rng.range(1, 20);
            let want: Vec<Window> = candidates(ts, offset, big, size)
                .map(|s| Window::new(s, s + size))
                .filter(|w| w.contains(ts))
                .collect();
            let got: Vec<Window> = hop(ts, big, size, offset).collect();
            assert_eq!(got, want, "sparse hop {ts} {big} {size} {offset}");

            // CUMULATE: the prefixes of the enclosing size window that contain ts, by end.
            let step = unit;
            let mut want: Vec<Window> = Vec::new();
            for s in candidates(ts, offset, size, size) {
                for k in 1..=size / step {
                    let w = Window::new(s, s + k * step);
                    if w.contains(ts) {
                        want.push(w);
                    }
                }
            }
            want.sort();
            let got: Vec<Window> = cumulate(ts, step, size, offset).collect();
            assert_eq!(got, want, "cumulate {ts} {step} {size} {offset}");
            assert!(!got.is_empty());
        }
    }

    /// Sessions from scratch: sort the distinct timestamps and cut where consecutive ones
    /// are more than `gap` apart.
    fn brute_sessions(ts: &BTreeSet<i64>, gap: i64) -> Vec<Window> {
        let mut out: Vec<Window> = Vec::new();
        for &t in ts {
            match out.last_mut() {
                Some(last) if t - (last.end - gap) <= gap => last.end = t + gap,
                _ => out.push(Window::new(t, t + gap)),
            }
        }
        out
    }

    #[test]
    fn touching_sessions_merge() {
        let mut s = Sessions::new(5);
        assert_eq!(s.add(0), SessionChange::New(Window::new(0, 5)));
        assert_eq!(s.add(5), SessionChange::Extended { from: Window::new(0, 5), to: Window::new(0, 10) });
        assert_eq!(s.add(16), SessionChange::New(Window::new(16, 21)));
        assert_eq!(s.add(3), SessionChange::Unchanged(Window::new(0, 10)));
        assert_eq!(s.add(-4), SessionChange::Extended { from: Window::new(0, 10), to: Window::new(-4, 10) });
        // 10 touches [-4, 10); [10, 15) does not reach [16, 21).
        assert_eq!(s.add(10), SessionChange::Extended { from: Window::new(-4, 10), to: Window::new(-4, 15) });
        // 11 bridges both: [11, 16) touches [16, 21).
        let change = s.add(11);
        assert_eq!(
            change,
            SessionChange::Merged {
                into: Window::new(-4, 21),
                absorbed: vec![Window::new(-4, 15), Window::new(16, 21)]
            }
        );
        assert_eq!(change.window(), Window::new(-4, 21));
        assert_eq!(s.get(20), Some(Window::new(-4, 21)));
        assert_eq!(s.get(21), None);
        assert_eq!(s.first(), Some(Window::new(-4, 21)));
        assert_eq!(s.gap(), 5);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn fire_removes_completed_sessions_in_order() {
        let mut s = Sessions::new(10);
        for t in [100, 0, 50, 5] {
            s.add(t);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), [Window::new(0, 15), Window::new(50, 60), Window::new(100, 110)]);
        assert_eq!(s.fire(13), []);
        assert_eq!(s.fire(14), [Window::new(0, 15)]);
        assert_eq!(s.fire(200), [Window::new(50, 60), Window::new(100, 110)]);
        assert!(s.is_empty() && s.first().is_none());
    }

    #[test]
    #[should_panic(expected = "gap must be positive")]
    fn zero_gap_is_rejected() {
        Sessions::new(0);
    }

    #[test]
    fn random_sessions_match_brute_force() {
        let mut rng = SplitMix64(0xD1F1_0003);
        for round in 0..2_000 {
            let gap = rng.range(1, 20);
            let spread = rng.range(1, 300);
            let mut s = Sessions::new(gap);
            let mut seen = BTreeSet::new();
            // The windows as the changes describe them, applied to a plain set.
            let mut replay: BTreeSet<Window> = BTreeSet::new();
            let mut watermark = i64::MIN;
            for _ in 0..rng.range(1, 60) {
                let ts = rng.range(-spread, spread);
                let before: BTreeSet<Window> = s.iter().collect();
                let change = s.add(ts);
                seen.insert(ts);
                match &change {
                    SessionChange::New(w) => {
                        assert_eq!(*w, Window::new(ts, ts + gap));
                        assert!(replay.insert(*w));
                    }
                    SessionChange::Unchanged(w) => assert!(before.contains(w) && w.contains(ts)),
                    SessionChange::Extended { from, to } => {
                        assert!(replay.remove(from));
                        assert!(to.start <= from.start && to.end >= from.end && to != from);
                        replay.insert(*to);
                    }
                    SessionChange::Merged { into, absorbed } => {
                        assert_eq!(absorbed.len(), 2, "round {round}");
                        assert!(absorbed.windows(2).all(|p| p[0] < p[1]));
                        for a in absorbed {
                            assert!(replay.remove(a));
                        }
                        replay.insert(*into);
                    }
                }
                assert!(change.window().contains(ts));
                let want = brute_sessions(&seen, gap);
                let got: Vec<Window> = s.iter().collect();
                assert_eq!(got, want, "round {round}, after {ts}, from {seen:?}");
                assert_eq!(replay.iter().copied().collect::<Vec<_>>(), want);
                assert_eq!(s.get(ts), Some(change.window()));
                // Now and then the watermark advances: fired sessions leave, together with
                // their timestamps (later rows start afresh, as after a fired window).
                if rng.chance(1, 8) {
                    watermark = watermark.max(rng.range(-spread, spread));
                    let fired = s.fire(watermark);
                    let want_fired: Vec<Window> = want.iter().copied().filter(|w| w.end - 1 <= watermark).collect();
                    assert_eq!(fired, want_fired);
                    for w in &fired {
                        replay.remove(w);
                        seen.retain(|t| !w.contains(*t));
                    }
                    assert!(s.iter().all(|w| !w.is_fired(watermark)));
                }
            }
        }
    }
}
