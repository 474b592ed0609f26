//! The watermark a task keeps of its source: one generator per split, merged by minimum
//! ([`SplitWatermarks`]), fed by the source's [`SourceEvent`]s, with idleness measured on
//! a clock read only now and then.

use super::SourceEvent;
use crate::checkpoint::{Snapshot, decode, encode};
use crate::error::{Error, Result};
use crate::metrics::SourceMeter;
use crate::options::parse_duration_ms;
use crate::pipeline::Context;
use crate::time::{BoundedOutOfOrderness, SplitWatermarks};
use std::sync::Arc;
use std::time::Instant;

/// The table option naming how long a split may go without rows before it is idle.
pub const IDLE_TIMEOUT_OPTION: &str = "scan.watermark.idle-timeout";
/// The pipeline setting giving the same for every table that does not set the option.
pub const IDLE_TIMEOUT_SETTING: &str = "table.exec.source.idle-timeout";

/// Rows between readings of the clock while an idle timeout is set.
const CLOCK_EVERY: u32 = 1024;
/// Rows between publications of the watermark to the table's metrics.
const PUBLISH_EVERY: u32 = 1024;

/// The idle timeout of `table`, in ms: its option `'scan.watermark.idle-timeout'`, else
/// the setting `'table.exec.source.idle-timeout'`, else none. `0` (Flink's default for
/// the setting) means none too.
pub fn idle_timeout_ms(cx: &Context, table: &str) -> Result<Option<i64>> {
    let opts = cx.table(table)?;
    let ms = match opts.duration_ms(IDLE_TIMEOUT_OPTION)? {
        Some(ms) => ms,
        None => match cx.setting(IDLE_TIMEOUT_SETTING) {
            Some(v) => parse_duration_ms(v).ok_or_else(|| {
                Error::Config(format!("setting '{IDLE_TIMEOUT_SETTING}': '{v}' is not a duration such as '10 s'"))
            })?,
            None => 0,
        },
    };
    Ok((ms > 0).then(|| i64::try_from(ms).unwrap_or(i64::MAX)))
}

/// What a task knows of its source's watermark: a [`SplitWatermarks`] fed with the
/// source's events. Rows advance their split's watermark ([`observe`](Self::observe)),
/// split ends release theirs, and the combined watermark ([`current`](Self::current)) is
/// what the task's operators advance to.
///
/// The set of splits stays open while the source runs (a monitored folder finds new
/// files), so splits that have all ended do not end the input: the task does that when
/// the source returns.
///
/// Idleness needs processing time, which is read from the clock only every
/// 1,024 rows, at split starts and while the source is idle — never per row — and not at
/// all without an idle timeout. Rows are credited to their split when the clock is next
/// read, so a split is never found idle early; it may be found idle up to one reading
/// late.
pub struct SourceWatermark {
    splits: SplitWatermarks,
    /// Whether splits can go idle (an idle timeout is set).
    timed: bool,
    /// Processing time in ms (any origin).
    clock: Box<dyn FnMut() -> i64>,
    /// The clock's last reading.
    now_ms: i64,
    /// Rows since then.
    rows: u32,
    /// The splits that had rows since then, each once (`marked[split]`).
    active: Vec<usize>,
    marked: Vec<bool>,
    /// The table's metrics, where the watermark is published (`for_table`).
    meter: Option<Arc<SourceMeter>>,
    /// Rows since it was last published.
    unpublished: u32,
}

impl SourceWatermark {
    /// A watermark made by copies of `generator`, one per split; splits without rows
    /// for more than `idle_timeout_ms` (if any) are idle.
    ///
    /// # Panics
    /// If `idle_timeout_ms` is `Some` and not positive.
    pub fn new(generator: BoundedOutOfOrderness, idle_timeout_ms: Option<i64>) -> Self {
        let origin = Instant::now();
        Self::with_clock(generator, idle_timeout_ms, move || {
            i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX)
        })
    }

    /// The watermark of `table` (`WATERMARK FOR ts AS ts - INTERVAL …` with a delay of
    /// `delay_ms`), with its idle timeout ([`idle_timeout_ms`]).
    /// The watermark is published to the table's metrics every 1,024 rows and at every
    /// other event.
    pub fn for_table(cx: &Context, table: &str, delay_ms: i64) -> Result<Self> {
        let mut wm = Self::new(BoundedOutOfOrderness::sql(delay_ms), idle_timeout_ms(cx, table)?);
        wm.meter = Some(cx.metrics().source(table));
        Ok(wm)
    }

    /// [`new`](Self::new) with processing time from `clock` (milliseconds, any origin,
    /// never going back): for tests and simulations.
    pub fn with_clock(
        generator: BoundedOutOfOrderness,
        idle_timeout_ms: Option<i64>,
        mut clock: impl FnMut() -> i64 + 'static,
    ) -> Self {
        let mut splits = SplitWatermarks::new(generator, idle_timeout_ms);
        splits.expect_more_splits(true);
        let timed = idle_timeout_ms.is_some();
        let now_ms = if timed { clock() } else { 0 };
        SourceWatermark {
            splits,
            timed,
            clock: Box::new(clock),
            now_ms,
            rows: 0,
            active: Vec::new(),
            marked: Vec::new(),
            meter: None,
            unpublished: 0,
        }
    }

    /// The processing time now, as the idle timers count it.
    fn clock_now(&mut self) -> i64 {
        if self.timed {
            self.read_clock();
        }
        self.now_ms
    }

    /// The combined watermark: [`NO_WATERMARK`](crate::time::NO_WATERMARK) until every
    /// split that holds it back has had a row.
    #[inline]
    pub fn current(&self) -> i64 {
        self.splits.combined()
    }

    /// A row of `split` with event time `ts_ms` (`None`: the row has no event time; it
    /// still shows the split is active).
    #[inline]
    pub fn observe(&mut self, split: usize, ts_ms: Option<i64>) {
        if let Some(ts) = ts_ms {
            self.splits.observe(split, ts, self.now_ms);
        }
        if self.timed {
            self.activity(split);
        }
        self.unpublished += 1;
        if self.unpublished >= PUBLISH_EVERY {
            self.publish();
        }
    }

    /// Every event but rows (which go to [`observe`](Self::observe) with their time).
    pub fn on_event<R>(&mut self, event: &SourceEvent<R>) {
        match *event {
            SourceEvent::SplitStart(split) => self.start_split(split),
            SourceEvent::SplitEnd(split) => self.end_split(split),
            SourceEvent::Idle => self.idle(),
            SourceEvent::Row(..) | SourceEvent::Barrier(_) | SourceEvent::Watermark(_) => {}
        }
        self.publish();
    }

    /// Shows the watermark in the table's metrics.
    #[cold]
    fn publish(&mut self) {
        self.unpublished = 0;
        if let Some(m) = &self.meter {
            m.set_watermark(self.current());
        }
    }

    /// Split `split` starts (and every split numbered below it, if unknown): it holds the
    /// watermark back until it has rows, goes idle or ends.
    pub fn start_split(&mut self, split: usize) {
        if self.timed {
            self.read_clock();
        }
        self.splits.add_splits(split + 1, self.now_ms);
    }

    /// Split `split` has ended: it no longer holds the watermark back.
    pub fn end_split(&mut self, split: usize) {
        self.splits.end_of_input(split);
    }

    /// The source is waiting: time passes, splits may become idle.
    pub fn idle(&mut self) {
        if self.timed {
            self.read_clock();
        }
    }

    /// The per-split state.
    pub fn splits(&self) -> &SplitWatermarks {
        &self.splits
    }

    #[inline]
    fn activity(&mut self, split: usize) {
        if split >= self.marked.len() {
            self.marked.resize(split + 1, false);
        }
        if !self.marked[split] {
            self.marked[split] = true;
            self.active.push(split);
        }
        self.rows += 1;
        if self.rows >= CLOCK_EVERY {
            self.read_clock();
        }
    }

    /// Reads the clock, credits the splits that had rows since the last reading with the
    /// new time, and finds idle splits.
    #[cold]
    fn read_clock(&mut self) {
        self.now_ms = self.now_ms.max((self.clock)());
        self.rows = 0;
        for split in self.active.drain(..) {
            self.marked[split] = false;
            self.splits.touch(split, self.now_ms);
        }
        self.splits.check_idle(self.now_ms);
    }
}

impl std::fmt::Debug for SourceWatermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceWatermark").field("splits", &self.splits).field("now_ms", &self.now_ms).finish()
    }
}

impl Snapshot for SourceWatermark {
    fn save(&mut self, out: &mut Vec<u8>) -> Result<()> {
        encode(&self.splits.state(), out)
    }

    fn load(&mut self, input: &mut &[u8]) -> Result<()> {
        let state = decode(input)?;
        let now = self.clock_now();
        self.splits.restore_state(state, now);
        for split in self.active.drain(..) {
            self.marked[split] = false;
        }
        self.publish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::TableOptions;
    use crate::time::{END_OF_INPUT, NO_WATERMARK};
    use std::cell::Cell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    fn manual(timeout: Option<i64>) -> (SourceWatermark, Rc<Cell<i64>>) {
        let now = Rc::new(Cell::new(0));
        let clock = Rc::clone(&now);
        (SourceWatermark::with_clock(BoundedOutOfOrderness::sql(10), timeout, move || clock.get()), now)
    }

    #[test]
    fn splits_are_merged_by_minimum_and_ended_splits_release_it() {
        let (mut wm, _) = manual(None);
        wm.on_event(&SourceEvent::<()>::SplitStart(0));
        wm.on_event(&SourceEvent::<()>::SplitStart(1));
        wm.observe(0, Some(1_000));
        assert_eq!(wm.current(), NO_WATERMARK); // split 1 has nothing yet
        wm.observe(1, Some(500));
        assert_eq!(wm.current(), 490);
        wm.observe(0, Some(2_000));
        assert_eq!(wm.current(), 490);
        wm.observe(1, None); // no event time: nothing moves
        assert_eq!(wm.current(), 490);
        wm.on_event(&SourceEvent::<()>::SplitEnd(1));
        assert_eq!(wm.current(), 1_990);
        // Every known split ended: the watermark stays (the task ends the input).
        wm.on_event(&SourceEvent::<()>::SplitEnd(0));
        assert_eq!(wm.current(), 1_990);
        assert!(wm.splits().is_finished());
        // A split found later starts behind without pulling the watermark back.
        wm.start_split(2);
        wm.observe(2, Some(100));
        assert_eq!(wm.current(), 1_990);
        wm.observe(2, Some(3_000));
        assert_eq!(wm.current(), 2_990);
        assert_ne!(wm.current(), END_OF_INPUT);
    }

    #[test]
    fn a_silent_split_goes_idle_after_the_timeout() {
        let (mut wm, now) = manual(Some(1_000));
        wm.start_split(0);
        wm.start_split(1);
        wm.observe(0, Some(5_000));
        assert_eq!(wm.current(), NO_WATERMARK);
        now.set(1_000);
        wm.idle();
        assert_eq!(wm.current(), NO_WATERMARK); // exactly the timeout: not yet
        now.set(1_001);
        wm.idle();
        // Split 1 never had a row: idle, and split 0 (credited at 1 000) holds alone.
        assert!(wm.splits().is_idle(1) && !wm.splits().is_idle(0));
        assert_eq!(wm.current(), 4_990);
        // Split 1 comes back behind: active again, and nothing goes back.
        wm.observe(1, Some(100));
        assert_eq!(wm.current(), 4_990);
        assert!(!wm.splits().is_idle(1));
    }

    #[test]
    fn rows_are_credited_when_the_clock_is_read() {
        let (mut wm, now) = manual(Some(1_000));
        wm.start_split(0);
        wm.start_split(1);
        wm.observe(1, Some(0));
        wm.idle(); // credits split 1 at 0
        // Split 0 keeps reading for a long time without the clock being read...
        now.set(5_000);
        for i in 0..CLOCK_EVERY - 1 {
            wm.observe(0, Some(i64::from(i)));
        }
        // ...so both splits count as active as of the last reading: neither is idle yet.
        assert!(!wm.splits().is_idle(0) && !wm.splits().is_idle(1));
        // The 1 024th row reads the clock: split 0 is credited at 5 000, split 1 (credited
        // at 0) has been silent too long.
        wm.observe(0, Some(2_000));
        assert!(!wm.splits().is_idle(0));
        assert!(wm.splits().is_idle(1));
        assert_eq!(wm.current(), 1_990);
        // Without rows split 0 goes idle too: the watermark is the largest of the two.
        now.set(6_001);
        wm.idle();
        assert!(wm.splits().all_idle());
        assert_eq!(wm.current(), 1_990);
    }

    #[test]
    fn no_clock_without_a_timeout() {
        let mut wm = SourceWatermark::with_clock(BoundedOutOfOrderness::sql(0), None, || {
            panic!("the clock is read without an idle timeout")
        });
        wm.start_split(0);
        for ts in 0..5_000 {
            wm.observe(0, Some(ts));
        }
        wm.idle();
        assert_eq!(wm.current(), 4_999);
    }

    #[test]
    fn idle_timeout_from_the_table_or_the_setting() {
        let cx = |table: &[(&str, &str)], settings: &[(&str, &str)]| {
            let settings: BTreeMap<String, String> =
                settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Context::new(vec![TableOptions::new("t", table)], settings)
        };
        assert_eq!(idle_timeout_ms(&cx(&[], &[]), "t").unwrap(), None);
        assert_eq!(idle_timeout_ms(&cx(&[(IDLE_TIMEOUT_OPTION, "5 s")], &[]), "t").unwrap(), Some(5_000));
        let global = [(IDLE_TIMEOUT_SETTING, "1 min")];
        assert_eq!(idle_timeout_ms(&cx(&[], &global), "t").unwrap(), Some(60_000));
        // The table's option wins, even to turn idleness off.
        assert_eq!(idle_timeout_ms(&cx(&[(IDLE_TIMEOUT_OPTION, "500 ms")], &global), "t").unwrap(), Some(500));
        assert_eq!(idle_timeout_ms(&cx(&[(IDLE_TIMEOUT_OPTION, "0 ms")], &global), "t").unwrap(), None);
        // Errors name the option or the setting.
        let e = idle_timeout_ms(&cx(&[(IDLE_TIMEOUT_OPTION, "soon")], &[]), "t").unwrap_err().to_string();
        assert!(e.contains("table `t`") && e.contains("'scan.watermark.idle-timeout'") && e.contains("soon"), "{e}");
        let e = idle_timeout_ms(&cx(&[], &[(IDLE_TIMEOUT_SETTING, "5 lightyears")]), "t").unwrap_err().to_string();
        assert!(e.contains("'table.exec.source.idle-timeout'") && e.contains("5 lightyears"), "{e}");
        assert!(idle_timeout_ms(&cx(&[], &[]), "other").is_err());
        let wm = SourceWatermark::for_table(&cx(&[(IDLE_TIMEOUT_OPTION, "1 s")], &[]), "t", 2_000).unwrap();
        assert_eq!(wm.current(), NO_WATERMARK);
        assert!(wm.timed);
    }
}
