//! Watermarks: per-split generation, idleness, and combining splits into a source's
//! watermark, following Flink.
//!
//! A watermark `W` asserts that no more rows with event time `<= W` will come; rows that
//! still do are late ([`is_late`]). References (Flink 1.20 / 2.x):
//!
//! - `BoundedOutOfOrdernessWatermarks` (DataStream `forBoundedOutOfOrderness`): the
//!   watermark is `max_timestamp - out_of_orderness - 1`.
//! - Flink SQL's `WATERMARK FOR ts AS ts - INTERVAL 'd' …` (the table runtime's
//!   `DefaultWatermarkGenerator`): the watermark is the expression's value for the row
//!   with the largest one, `max(ts) - d`, **without** the `- 1`. Both are offered:
//!   [`BoundedOutOfOrderness::new`] and [`BoundedOutOfOrderness::sql`].
//! - `WatermarksWithIdleness`: a split without events for longer than the idle timeout is
//!   idle and stops holding the combined watermark back, until its next event.
//! - `CombinedWatermarkStatus` (the per-split multiplexer of a source): the combined
//!   watermark is the minimum over the splits that are not idle, and only moves forward.
//! - `StatusWatermarkValve`: once every input is idle, the maximum watermark across all of
//!   them is emitted (nothing can advance any more, so everything seen is flushed).
//! - End of a bounded split: Flink unregisters the finished split and emits
//!   `Long.MAX_VALUE` when the whole source ends.

/// The watermark before anything is known (Flink's `Long.MIN_VALUE`).
pub const NO_WATERMARK: i64 = i64::MIN;

/// The watermark at the end of bounded input (Flink's `Long.MAX_VALUE`): fires everything.
pub const END_OF_INPUT: i64 = i64::MAX;

/// Whether a row with event time `ts_ms` is late: behind (at or before) the watermark.
///
/// Window operators decide per window instead: a row is dropped only when every window it
/// belongs to has fired ([`super::Window::is_fired`]), so a row with `ts <= watermark` can
/// still count for a window whose end lies ahead.
pub fn is_late(ts_ms: i64, watermark: i64) -> bool {
    ts_ms <= watermark
}

/// A watermark generator for rows out of order by at most a bound: the watermark trails
/// the largest event time seen by the bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundedOutOfOrderness {
    /// The out-of-orderness bound, in ms (`>= 0`).
    max_delay_ms: i64,
    /// The largest event time seen, `i64::MIN` before any.
    max_seen: i64,
    /// What is subtracted from `max_seen`: `max_delay_ms + 1` (DataStream) or
    /// `max_delay_ms` (SQL).
    lag: i64,
}

impl BoundedOutOfOrderness {
    /// Flink DataStream's `WatermarkStrategy.forBoundedOutOfOrderness(max_delay)`: the
    /// watermark is `max_seen - max_delay_ms - 1`.
    ///
    /// # Panics
    /// If `max_delay_ms` is negative (Flink rejects it too).
    pub fn new(max_delay_ms: i64) -> Self {
        assert!(max_delay_ms >= 0, "the out-of-orderness bound cannot be negative: {max_delay_ms}");
        BoundedOutOfOrderness { max_delay_ms, max_seen: i64::MIN, lag: max_delay_ms.saturating_add(1) }
    }

    /// Flink SQL's `WATERMARK FOR ts AS ts - INTERVAL '…'` with a delay of `delay_ms`
    /// (`0` for `WATERMARK FOR ts AS ts`): the watermark is `max_seen - delay_ms`.
    ///
    /// Any other watermark expression can use `sql(0)` and [`observe`](Self::observe) the
    /// expression's value: the watermark is then the largest value seen.
    ///
    /// # Panics
    /// If `delay_ms` is negative.
    pub fn sql(delay_ms: i64) -> Self {
        assert!(delay_ms >= 0, "the watermark delay cannot be negative: {delay_ms}");
        BoundedOutOfOrderness { max_delay_ms: delay_ms, max_seen: i64::MIN, lag: delay_ms }
    }

    /// The out-of-orderness bound, in ms.
    pub fn max_delay_ms(&self) -> i64 {
        self.max_delay_ms
    }

    /// Records a row's event time.
    pub fn observe(&mut self, ts_ms: i64) {
        self.max_seen = self.max_seen.max(ts_ms);
    }

    /// The largest event time seen, if any.
    pub fn max_seen(&self) -> Option<i64> {
        (self.max_seen != i64::MIN).then_some(self.max_seen)
    }

    /// The current watermark: [`NO_WATERMARK`] before any row, then the largest event
    /// time minus the bound (minus 1 ms for [`new`](Self::new)); saturates at `i64::MIN`.
    pub fn current(&self) -> i64 {
        if self.max_seen == i64::MIN { NO_WATERMARK } else { self.max_seen.saturating_sub(self.lag) }
    }
}

/// The state of one split.
#[derive(Clone, Debug)]
struct Split {
    generator: BoundedOutOfOrderness,
    /// Processing time (ms) of the last event, or of registration.
    last_activity_ms: i64,
    idle: bool,
    /// Ended (bounded input): watermark [`END_OF_INPUT`], never holds anything back.
    finished: bool,
}

impl Split {
    fn watermark(&self) -> i64 {
        if self.finished { END_OF_INPUT } else { self.generator.current() }
    }

    /// Whether the split counts for the minimum: neither idle nor finished.
    fn active(&self) -> bool {
        !self.idle && !self.finished
    }
}

/// The watermark of a source that reads several splits (partitions, files), each with its
/// own [`BoundedOutOfOrderness`] generator, combined as Flink combines them:
///
/// - the combined watermark is the minimum over the **active** splits (not idle, not
///   finished): the slowest split holds the source back;
/// - a split is **idle** after more than `idle_timeout_ms` of processing time without
///   events ([`check_idle`](Self::check_idle)) or when told so
///   ([`mark_idle`](Self::mark_idle)); it no longer holds the watermark back, and becomes
///   active again with its next event (its old watermark then holds back further
///   progress until it catches up; the combined watermark never goes back);
/// - when every unfinished split is idle, the combined watermark jumps to the **maximum**
///   of their watermarks (Flink's `StatusWatermarkValve` flush);
/// - a split at its **end of input** ([`end_of_input`](Self::end_of_input)) no longer
///   counts; once all splits have ended the watermark is [`END_OF_INPUT`] — unless more
///   splits are expected ([`expect_more_splits`](Self::expect_more_splits): a source that
///   discovers splits as it runs), when it stays where it is;
/// - the output is **monotonic**: the last combined watermark is kept and only moves
///   forward.
///
/// Splits are numbered `0..len()`; [`observe`](Self::observe) registers unknown indices.
/// Register all splits up front with [`add_splits`](Self::add_splits) so that a split
/// without events holds the watermark back until it has data or times out, as in Flink.
#[derive(Clone, Debug)]
pub struct SplitWatermarks {
    /// The generator every new split starts from.
    template: BoundedOutOfOrderness,
    idle_timeout_ms: Option<i64>,
    splits: Vec<Split>,
    /// The minimum watermark over active splits (`i64::MAX` if none): a cache.
    min_active: i64,
    /// The last emitted combined watermark.
    combined: i64,
    /// The latest processing time passed in (to register splits in `end_of_input`).
    clock_ms: i64,
    /// Every split below this index has ended (splits often end in order: files read one
    /// after another), so scans start here.
    first_open: usize,
    /// Splits may still be added: ending every known one does not end the input.
    more_splits: bool,
}

impl SplitWatermarks {
    /// A source without splits yet. Each split gets a fresh copy of `generator` (any
    /// events it has seen are ignored); `idle_timeout_ms: None` disables idleness
    /// detection (Flink's default).
    ///
    /// # Panics
    /// If `idle_timeout_ms` is `Some` and not positive (Flink rejects it too).
    pub fn new(generator: BoundedOutOfOrderness, idle_timeout_ms: Option<i64>) -> Self {
        if let Some(t) = idle_timeout_ms {
            assert!(t > 0, "the idle timeout must be positive: {t}");
        }
        let template = BoundedOutOfOrderness { max_seen: i64::MIN, ..generator };
        SplitWatermarks {
            template,
            idle_timeout_ms,
            splits: Vec::new(),
            min_active: i64::MAX,
            combined: NO_WATERMARK,
            clock_ms: i64::MIN,
            first_open: 0,
            more_splits: false,
        }
    }

    /// Whether more splits may still be added than are known (a source that discovers
    /// its splits as it runs: a monitored folder, a topic gaining partitions). While they
    /// may, every known split having ended leaves the combined watermark where it is
    /// instead of moving it to [`END_OF_INPUT`]. Returns the combined watermark.
    pub fn expect_more_splits(&mut self, more: bool) -> i64 {
        if self.more_splits != more {
            self.more_splits = more;
            self.recompute();
        }
        self.combined
    }

    /// Registers splits up to index `n - 1` (active, no events yet, idle timer started at
    /// `now_ms`), and returns the combined watermark.
    pub fn add_splits(&mut self, n: usize, now_ms: i64) -> i64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        if n > self.splits.len() {
            let split = Split { generator: self.template, last_activity_ms: now_ms, idle: false, finished: false };
            self.splits.resize(n, split);
            self.recompute();
        }
        self.combined
    }

    /// What a checkpoint keeps: the combined watermark and each split's largest event
    /// time and whether it ended.
    pub fn state(&self) -> (i64, Vec<(i64, bool)>) {
        (self.combined, self.splits.iter().map(|s| (s.generator.max_seen, s.finished)).collect())
    }

    /// Takes back a [`state`](Self::state) at processing time `now_ms` (splits active, their
    /// idle timers restarted); the combined watermark never goes below the one saved.
    pub fn restore_state(&mut self, (combined, splits): (i64, Vec<(i64, bool)>), now_ms: i64) {
        self.splits = splits
            .into_iter()
            .map(|(max_seen, finished)| Split {
                generator: BoundedOutOfOrderness { max_seen, ..self.template },
                last_activity_ms: now_ms,
                idle: false,
                finished,
            })
            .collect();
        self.first_open = self.splits.iter().take_while(|s| s.finished).count();
        self.clock_ms = self.clock_ms.max(now_ms);
        self.combined = combined;
        self.recompute();
    }

    /// The number of registered splits.
    pub fn len(&self) -> usize {
        self.splits.len()
    }

    /// Whether no split is registered.
    pub fn is_empty(&self) -> bool {
        self.splits.is_empty()
    }

    /// Records a row with event time `ts_ms` read from `split` at processing time
    /// `now_ms`: advances the split's watermark and makes the split active. Returns the
    /// combined watermark. Rows of a split that has ended are ignored.
    #[inline]
    pub fn observe(&mut self, split: usize, ts_ms: i64, now_ms: i64) -> i64 {
        if split >= self.splits.len() {
            self.add_splits(split + 1, now_ms);
        }
        self.clock_ms = self.clock_ms.max(now_ms);
        let s = &mut self.splits[split];
        if s.finished {
            return self.combined;
        }
        s.last_activity_ms = now_ms;
        let old = s.generator.current();
        s.generator.observe(ts_ms);
        let new = s.generator.current();
        if s.idle {
            s.idle = false;
            self.recompute();
        } else if new != old && old <= self.min_active {
            // This split may have held the minimum; otherwise nothing changes.
            if self.first_open + 1 == self.splits.len() {
                // The only split still open (and active): the minimum is its own.
                self.min_active = new;
                self.combined = self.combined.max(new);
            } else {
                self.recompute();
            }
        }
        self.combined
    }

    /// Activity on `split` at processing time `now_ms` without an event time (a row whose
    /// time is NULL, or rows noticed after the fact by a caller that reads its clock only
    /// now and then): restarts the split's idle timer and makes it active again, without
    /// moving its watermark. Returns the combined watermark. Ignored for ended splits.
    pub fn touch(&mut self, split: usize, now_ms: i64) -> i64 {
        if split >= self.splits.len() {
            self.add_splits(split + 1, now_ms);
        }
        self.clock_ms = self.clock_ms.max(now_ms);
        let s = &mut self.splits[split];
        if s.finished {
            return self.combined;
        }
        s.last_activity_ms = s.last_activity_ms.max(now_ms);
        if s.idle {
            s.idle = false;
            self.recompute();
        }
        self.combined
    }

    /// Marks `split` idle now (a source that knows a split has no data, e.g. an empty
    /// partition). Returns the combined watermark.
    pub fn mark_idle(&mut self, split: usize) -> i64 {
        if let Some(s) = self.splits.get_mut(split)
            && s.active()
        {
            s.idle = true;
            self.recompute();
        }
        self.combined
    }

    /// Idleness detection, to call periodically with the processing time: marks idle
    /// every split without events for strictly more than the idle timeout. Returns the
    /// combined watermark.
    ///
    /// (Flink checks at its periodic watermark emission, so it may notice up to a few
    /// intervals later; here a split is idle as soon as the timeout has passed.)
    pub fn check_idle(&mut self, now_ms: i64) -> i64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        let Some(timeout) = self.idle_timeout_ms else { return self.combined };
        let mut changed = false;
        for s in &mut self.splits[self.first_open..] {
            if s.active() && now_ms.saturating_sub(s.last_activity_ms) > timeout {
                s.idle = true;
                changed = true;
            }
        }
        if changed {
            self.recompute();
        }
        self.combined
    }

    /// `split` has reached the end of its (bounded) input: its watermark becomes
    /// [`END_OF_INPUT`] and it no longer holds anything back. Returns the combined
    /// watermark, [`END_OF_INPUT`] once every split has ended. (Unknown splits below
    /// `split` are registered as of the latest processing time passed in.)
    pub fn end_of_input(&mut self, split: usize) -> i64 {
        if split >= self.splits.len() {
            self.add_splits(split + 1, self.clock_ms);
        }
        let s = &mut self.splits[split];
        if !s.finished {
            s.finished = true;
            while self.splits.get(self.first_open).is_some_and(|s| s.finished) {
                self.first_open += 1;
            }
            self.recompute();
        }
        self.combined
    }

    /// The combined watermark: [`NO_WATERMARK`] until every active split has seen a row.
    pub fn combined(&self) -> i64 {
        self.combined
    }

    /// The watermark of one split ([`NO_WATERMARK`] if unknown).
    pub fn split_watermark(&self, split: usize) -> i64 {
        self.splits.get(split).map_or(NO_WATERMARK, Split::watermark)
    }

    /// Whether `split` is idle (an ended split is not idle).
    pub fn is_idle(&self, split: usize) -> bool {
        self.splits.get(split).is_some_and(|s| s.idle && !s.finished)
    }

    /// Whether the whole source is idle: every split idle or ended, and at least one idle
    /// (Flink then reports the source's stream as idle downstream).
    pub fn all_idle(&self) -> bool {
        self.splits.iter().all(|s| !s.active()) && self.splits.iter().any(|s| s.idle && !s.finished)
    }

    /// Whether every split has ended (and there is at least one).
    pub fn is_finished(&self) -> bool {
        !self.splits.is_empty() && self.first_open == self.splits.len()
    }

    /// Watermark alignment (Flink's `withWatermarkAlignment`, FLIP-182/217): whether the
    /// source should pause reading `split` because its watermark is more than
    /// `max_drift_ms` ahead of the combined one. Idle and ended splits never pause.
    pub fn should_pause(&self, split: usize, max_drift_ms: i64) -> bool {
        self.splits.get(split).is_some_and(|s| s.active() && s.watermark() > self.combined.saturating_add(max_drift_ms))
    }

    /// Recomputes the cached minimum and advances the combined watermark.
    fn recompute(&mut self) {
        let open = &self.splits[self.first_open..];
        self.min_active = open.iter().filter(|s| s.active()).map(Split::watermark).min().unwrap_or(i64::MAX);
        let candidate = if self.min_active != i64::MAX {
            Some(self.min_active)
        } else if open.iter().any(|s| !s.finished) {
            // All unfinished splits are idle: flush to the largest of them.
            open.iter().filter(|s| !s.finished).map(Split::watermark).max()
        } else if !self.splits.is_empty() && !self.more_splits {
            Some(END_OF_INPUT)
        } else {
            None
        };
        if let Some(c) = candidate {
            self.combined = self.combined.max(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SplitMix64;
    use crate::types::time::parse_timestamp;

    fn ms(s: &str) -> i64 {
        parse_timestamp(s).unwrap().millis()
    }

    #[test]
    fn bounded_out_of_orderness_subtracts_one_ms() {
        let mut g = BoundedOutOfOrderness::new(1_000);
        assert_eq!(g.current(), i64::MIN);
        assert_eq!(g.max_seen(), None);
        g.observe(10_000);
        assert_eq!(g.current(), 8_999);
        g.observe(5_000); // out of order: no effect
        assert_eq!(g.current(), 8_999);
        g.observe(12_000);
        assert_eq!(g.current(), 10_999);
        assert_eq!(g.max_seen(), Some(12_000));
        assert_eq!(g.max_delay_ms(), 1_000);
        // Near the bottom of the range it saturates instead of overflowing.
        let mut low = BoundedOutOfOrderness::new(1_000);
        low.observe(i64::MIN + 10);
        assert_eq!(low.current(), i64::MIN);
    }

    #[test]
    fn sql_watermark_has_no_minus_one() {
        // The docs' Bid table: WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND.
        let mut g = BoundedOutOfOrderness::sql(1_000);
        assert_eq!(g.current(), NO_WATERMARK);
        for t in ["2020-04-15 08:05", "2020-04-15 08:07", "2020-04-15 08:09", "2020-04-15 08:11"] {
            g.observe(ms(t));
        }
        assert_eq!(g.current(), ms("2020-04-15 08:10:59"));
        // The row at 08:11 is not late; one at exactly the watermark is.
        assert!(!is_late(ms("2020-04-15 08:11"), g.current()));
        assert!(is_late(ms("2020-04-15 08:10:59"), g.current()));
        assert!(!is_late(ms("2020-04-15 08:10:59.001"), g.current()));
        assert_eq!(BoundedOutOfOrderness::sql(0).max_delay_ms(), 0);
    }

    #[test]
    #[should_panic(expected = "cannot be negative")]
    fn negative_delay_is_rejected() {
        BoundedOutOfOrderness::new(-1);
    }

    #[test]
    fn combined_is_the_minimum_and_monotonic() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), None);
        assert_eq!(w.combined(), NO_WATERMARK);
        w.add_splits(2, 0);
        assert_eq!(w.observe(0, 100, 0), NO_WATERMARK); // split 1 has nothing yet
        assert_eq!(w.observe(1, 50, 0), 50);
        assert_eq!(w.observe(1, 200, 0), 100);
        assert_eq!(w.observe(0, 150, 0), 150);
        assert_eq!(w.observe(0, 90, 0), 150); // out of order: nothing moves back
        assert_eq!(w.split_watermark(0), 150);
        assert_eq!(w.split_watermark(1), 200);
        assert_eq!(w.split_watermark(7), NO_WATERMARK);
        assert_eq!(w.len(), 2);
        // observe registers unknown splits, which then hold the watermark back.
        assert_eq!(w.observe(3, 1_000, 0), 150);
        assert_eq!(w.len(), 4);
        assert_eq!(w.split_watermark(2), NO_WATERMARK);
    }

    #[test]
    fn idle_split_is_released_then_reactivated() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::new(0), Some(1_000));
        w.add_splits(2, 0);
        w.observe(0, 100, 0);
        w.observe(1, 10, 0);
        assert_eq!(w.combined(), 9);
        // Split 0 keeps going; split 1 falls silent.
        w.observe(0, 500, 900);
        assert_eq!(w.check_idle(1_000), 9); // exactly the timeout: not idle yet
        assert!(!w.is_idle(1));
        assert_eq!(w.check_idle(1_001), 499); // split 1 idle: released
        assert!(w.is_idle(1) && !w.is_idle(0));
        assert!(!w.all_idle());
        // Split 1 comes back behind: it is active again, the watermark does not go back,
        // and it holds further progress until it catches up.
        assert_eq!(w.observe(1, 20, 1_100), 499);
        assert!(!w.is_idle(1));
        assert_eq!(w.observe(0, 900, 1_100), 499);
        assert_eq!(w.observe(1, 700, 1_100), 699);
        assert_eq!(w.observe(1, 2_000, 1_100), 899);
    }

    #[test]
    fn all_idle_flushes_to_the_maximum() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), Some(1_000));
        w.add_splits(3, 0);
        w.observe(0, 100, 0);
        w.observe(1, 300, 0);
        assert_eq!(w.combined(), NO_WATERMARK); // split 2 never had data
        w.observe(0, 200, 500);
        assert_eq!(w.check_idle(1_001), 200); // splits 1 and 2 idle, split 0 not yet
        assert!(!w.all_idle());
        assert_eq!(w.check_idle(1_501), 300); // all idle: the max of them
        assert!(w.all_idle());
        // mark_idle on an idle split changes nothing.
        assert_eq!(w.mark_idle(0), 300);
        // Reactivation with an older row does not pull it back.
        assert_eq!(w.observe(2, 50, 2_000), 300);
        assert!(!w.all_idle());
        assert_eq!(w.observe(2, 400, 2_000), 400);
    }

    #[test]
    fn mark_idle_explicitly() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), None);
        w.add_splits(2, 0);
        w.observe(0, 100, 0);
        assert_eq!(w.check_idle(i64::MAX), NO_WATERMARK); // no timeout configured
        assert_eq!(w.mark_idle(1), 100);
        assert_eq!(w.mark_idle(9), 100); // unknown split: ignored
    }

    #[test]
    fn end_of_input() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), Some(1_000));
        w.add_splits(2, 0);
        w.observe(0, 100, 0);
        w.observe(1, 300, 0);
        assert_eq!(w.end_of_input(0), 300); // split 0 no longer holds back
        assert_eq!(w.split_watermark(0), END_OF_INPUT);
        assert!(!w.is_finished());
        assert_eq!(w.observe(0, 1_000, 0), 300); // rows after the end: ignored
        assert!(!w.should_pause(0, 0));
        // The remaining split idles: flush to its own watermark, not to END_OF_INPUT.
        assert_eq!(w.check_idle(5_000), 300);
        assert!(w.all_idle());
        assert_eq!(w.end_of_input(1), END_OF_INPUT);
        assert!(w.is_finished());
        assert!(!w.all_idle());
        assert_eq!(w.end_of_input(1), END_OF_INPUT);
        // A source whose only split ends without data fires everything too.
        let mut empty = SplitWatermarks::new(BoundedOutOfOrderness::new(5), None);
        assert!(!empty.is_finished());
        assert_eq!(empty.end_of_input(0), END_OF_INPUT);
    }

    #[test]
    fn more_splits_expected_keep_the_watermark_when_all_known_ones_end() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), None);
        assert_eq!(w.expect_more_splits(true), NO_WATERMARK);
        w.add_splits(1, 0);
        w.observe(0, 100, 0);
        // The only known split ends: the watermark stays, for splits still to come.
        assert_eq!(w.end_of_input(0), 100);
        assert!(w.is_finished());
        // A new split starts behind: it does not pull the watermark back.
        w.add_splits(2, 0);
        assert_eq!(w.observe(1, 50, 0), 100);
        assert_eq!(w.observe(1, 300, 0), 300);
        assert_eq!(w.end_of_input(1), 300);
        // No more splits: everything fires.
        assert_eq!(w.expect_more_splits(false), END_OF_INPUT);
    }

    #[test]
    fn touch_restarts_the_idle_timer_without_moving_the_watermark() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), Some(1_000));
        w.add_splits(2, 0);
        w.observe(0, 100, 0);
        w.observe(1, 200, 0);
        assert_eq!(w.touch(0, 900), 100);
        assert_eq!(w.check_idle(1_500), 100); // split 1 idle, split 0 touched at 900
        assert!(w.is_idle(1) && !w.is_idle(0));
        assert_eq!(w.check_idle(1_901), 200); // now both: the maximum
        assert_eq!(w.touch(0, 2_000), 200); // active again; nothing goes back
        assert!(!w.is_idle(0));
        assert_eq!(w.split_watermark(0), 100);
        w.end_of_input(0);
        assert_eq!(w.touch(0, 3_000), 200); // ended: ignored
        assert_eq!(w.touch(3, 3_000), 200); // registers splits 2 and 3
        assert_eq!(w.len(), 4);
    }

    #[test]
    fn splits_ending_in_order_are_skipped() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), Some(10));
        w.add_splits(1_000, 0);
        for i in 0..999 {
            w.observe(i, i as i64, 0);
            w.end_of_input(i);
        }
        assert_eq!(w.first_open, 999);
        assert_eq!(w.combined(), NO_WATERMARK); // split 999 has nothing yet
        assert_eq!(w.observe(999, 5_000, 0), 5_000);
        assert_eq!(w.check_idle(100), 5_000);
        assert!(w.all_idle());
        assert_eq!(w.end_of_input(999), END_OF_INPUT);
        assert!(w.is_finished());
    }

    #[test]
    fn alignment_pauses_splits_too_far_ahead() {
        let mut w = SplitWatermarks::new(BoundedOutOfOrderness::sql(0), Some(1_000));
        w.add_splits(2, 0);
        w.observe(0, 100, 0);
        w.observe(1, 1_000, 0);
        assert_eq!(w.combined(), 100);
        assert!(!w.should_pause(0, 500));
        assert!(w.should_pause(1, 500));
        assert!(!w.should_pause(1, 900));
        assert!(!w.should_pause(5, 0));
        w.observe(0, 600, 0);
        assert!(!w.should_pause(1, 500));
    }

    /// The combined watermark recomputed from scratch, by the definition.
    fn reference(splits: &[(i64, bool, bool)], prev: i64) -> i64 {
        // (watermark, idle, finished)
        let active: Vec<i64> = splits.iter().filter(|s| !s.1 && !s.2).map(|s| s.0).collect();
        let unfinished: Vec<i64> = splits.iter().filter(|s| !s.2).map(|s| s.0).collect();
        let candidate = if let Some(m) = active.iter().min() {
            Some(*m)
        } else if let Some(m) = unfinished.iter().max() {
            Some(*m)
        } else if !splits.is_empty() {
            Some(i64::MAX)
        } else {
            None
        };
        candidate.map_or(prev, |c| c.max(prev))
    }

    #[test]
    fn random_operations_match_the_definition() {
        /// Per split: largest event time, last activity, idle, ended.
        #[derive(Clone, Copy, Debug)]
        struct M {
            max: Option<i64>,
            last: i64,
            idle: bool,
            ended: bool,
        }
        let mut rng = SplitMix64(0xD1F1_0001);
        for round in 0..400 {
            let delay = rng.range(0, 20);
            let timeout = rng.range(1, 50);
            let sql = rng.chance(1, 2);
            let generator = if sql { BoundedOutOfOrderness::sql(delay) } else { BoundedOutOfOrderness::new(delay) };
            let lag = if sql { delay } else { delay + 1 };
            let mut w = SplitWatermarks::new(generator, Some(timeout));
            let mut model: Vec<M> = Vec::new();
            let register = |model: &mut Vec<M>, upto: usize, now: i64| {
                if model.len() <= upto {
                    model.resize(upto + 1, M { max: None, last: now, idle: false, ended: false });
                }
            };
            let (mut now, mut clock) = (0, i64::MIN);
            let mut prev = NO_WATERMARK;
            let n = rng.range(1, 5) as usize;
            if rng.chance(1, 2) {
                w.add_splits(n, now);
                register(&mut model, n - 1, now);
                clock = now;
            }
            let end_rate = rng.range(0, 3) as u64;
            for step in 0..200 {
                now += rng.range(0, 10);
                let split = rng.range(0, n as i64 - 1) as usize;
                let op = rng.range(0, 19);
                let got = if op < 15 {
                    let ts = rng.range(-100, 1_000);
                    register(&mut model, split, now);
                    let m = &mut model[split];
                    if !m.ended {
                        m.max = Some(m.max.map_or(ts, |x| x.max(ts)));
                        m.last = now;
                        m.idle = false;
                    }
                    clock = now;
                    w.observe(split, ts, now)
                } else if op < 17 {
                    for m in &mut model {
                        if !m.idle && !m.ended && now.saturating_sub(m.last) > timeout {
                            m.idle = true;
                        }
                    }
                    clock = now;
                    w.check_idle(now)
                } else if op < 18 {
                    if let Some(m) = model.get_mut(split)
                        && !m.ended
                    {
                        m.idle = true;
                    }
                    w.mark_idle(split)
                } else if rng.chance(end_rate, 4) {
                    register(&mut model, split, clock);
                    model[split].ended = true;
                    model[split].idle = false;
                    w.end_of_input(split)
                } else {
                    w.combined()
                };
                let view: Vec<(i64, bool, bool)> = model
                    .iter()
                    .map(|m| {
                        let wm = if m.ended { i64::MAX } else { m.max.map_or(i64::MIN, |x| x.saturating_sub(lag)) };
                        (wm, m.idle, m.ended)
                    })
                    .collect();
                let want = reference(&view, prev);
                assert_eq!(got, want, "round {round} step {step}: {view:?}");
                assert_eq!(got, w.combined());
                assert!(got >= prev, "the combined watermark went back");
                assert_eq!(w.len(), model.len());
                for (i, v) in view.iter().enumerate() {
                    assert_eq!(w.split_watermark(i), v.0);
                    assert_eq!(w.is_idle(i), v.1 && !v.2);
                }
                prev = got;
            }
        }
    }
}
