//! The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` once per
//! metric family, then its samples, label values escaped.
//!
//! ```
//! use dfl::metrics::exposition::{Exposition, Kind};
//! let mut ex = Exposition::default();
//! ex.sample("dfl_sink_records_total", Kind::Counter, "Rows written.", &[("table", "out")], 3.0);
//! let text = ex.finish();
//! let lines: Vec<&str> = text.lines().collect();
//! assert_eq!(lines, [
//!     "# HELP dfl_sink_records_total Rows written.",
//!     "# TYPE dfl_sink_records_total counter",
//!     "dfl_sink_records_total{table=\"out\"} 3",
//! ]);
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a metric family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (resets when the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted in cumulative buckets, with their sum and count.
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family: its header and its sample lines so far.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    lines: String,
}

/// A scrape's text being put together: samples may come in any order, families are
/// written in the order they first appeared, each with all its samples.
#[derive(Default)]
pub struct Exposition {
    families: Vec<Family>,
    index: HashMap<&'static str, usize>,
}

impl Exposition {
    fn family(&mut self, name: &'static str, kind: Kind, help: &'static str) -> &mut String {
        debug_assert!(valid_name(name), "metric name {name}");
        let i = *self.index.entry(name).or_insert_with(|| {
            self.families.push(Family { name, help, kind, lines: String::new() });
            self.families.len() - 1
        });
        debug_assert_eq!(self.families[i].kind, kind, "metric {name} declared with two types");
        &mut self.families[i].lines
    }

    /// A sample of a counter or gauge `name` with `labels`.
    pub fn sample(&mut self, name: &'static str, kind: Kind, help: &'static str, labels: &[(&str, &str)], value: f64) {
        let lines = self.family(name, kind, help);
        line(lines, name, "", labels, None, value);
    }

    /// A histogram's samples: a `_bucket` per upper bound (cumulative, `le="+Inf"` last),
    /// `_sum` and `_count`.
    pub fn histogram(&mut self, name: &'static str, help: &'static str, labels: &[(&str, &str)], h: &Snapshot) {
        let lines = self.family(name, Kind::Histogram, help);
        let mut cumulative = 0u64;
        for (bound, n) in h.bounds.iter().zip(&h.counts) {
            cumulative += n;
            line(lines, name, "_bucket", labels, Some(&format_value(*bound)), cumulative as f64);
        }
        let count = h.count();
        line(lines, name, "_bucket", labels, Some("+Inf"), count as f64);
        line(lines, name, "_sum", labels, None, h.sum);
        line(lines, name, "_count", labels, None, count as f64);
    }

    /// The text of every family.
    pub fn finish(self) -> String {
        let mut out = String::with_capacity(self.families.iter().map(|f| f.lines.len() + 100).sum());
        for f in self.families {
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.name());
            out.push_str(&f.lines);
        }
        out
    }
}

/// Writes `name{suffix}{labels,le} value`.
fn line(out: &mut String, name: &str, suffix: &str, labels: &[(&str, &str)], le: Option<&str>, value: f64) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let all = labels.iter().copied().chain(le.map(|v| ("le", v)));
        for (i, (k, v)) in all.enumerate() {
            debug_assert!(valid_name(k) && !k.contains(':'), "label name {k}");
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_label_into(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_value(value));
    out.push('\n');
}

/// A label value escaped: backslash, double quote and line feed.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_label_into(&mut out, value);
    out
}

fn escape_label_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text escaped: backslash and line feed.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as the format writes it: integers without a fraction, `NaN`, `+Inf`,
/// `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        // Rust prints the shortest text that reads back as the same number.
        format!("{v}")
    }
}

/// Whether `name` is a valid metric or label name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Upper bounds (seconds) of the emit latency histogram: 1 ms to 60 s.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Upper bounds (seconds) of the event-time latency histogram: 10 ms to 2 h (windowed
/// results are as late as their window's length plus the watermark's delay).
pub const EVENT_TIME_BUCKETS: &[f64] =
    &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0];

/// Upper bounds (seconds) of the checkpoint duration histogram: 5 ms to 5 min.
pub const CHECKPOINT_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// A histogram of durations with fixed buckets, updated with relaxed atomics (an
/// observation is two atomic adds).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative); the last one is above every bound.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// A histogram with upper bounds `bounds` (seconds, increasing).
    pub fn new(bounds: &'static [f64]) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Counts one observation of `d`.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        // The first bucket whose bound is at least `secs` (`le`: less or equal).
        let i = self.bounds.partition_point(|b| *b < secs);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> Snapshot {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        Snapshot { bounds: self.bounds, counts, sum: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9 }
    }
}

/// A histogram's counts at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Upper bounds of the buckets.
    pub bounds: &'static [f64],
    /// Observations per bucket, not cumulative: one more than `bounds` (the last is above
    /// every bound).
    pub counts: Vec<u64>,
    /// The sum of the observations (seconds).
    pub sum: f64,
}

impl Snapshot {
    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_once_with_all_their_samples() {
        let mut ex = Exposition::default();
        let help = "Records read.";
        ex.sample("dfl_a_total", Kind::Counter, help, &[("table", "t1")], 1.0);
        ex.sample("dfl_b", Kind::Gauge, "A gauge.", &[], -2.5);
        ex.sample("dfl_a_total", Kind::Counter, help, &[("table", "t2")], 12345678901.0);
        assert_eq!(
            ex.finish(),
            "# HELP dfl_a_total Records read.\n# TYPE dfl_a_total counter\n\
             dfl_a_total{table=\"t1\"} 1\ndfl_a_total{table=\"t2\"} 12345678901\n\
             # HELP dfl_b A gauge.\n# TYPE dfl_b gauge\ndfl_b -2.5\n"
        );
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("two\nlines"), "two\\nlines");
        assert_eq!(escape_label("ünïcödé {x=1}"), "ünïcödé {x=1}");
        let mut ex = Exposition::default();
        ex.sample("m", Kind::Gauge, "back\\slash and\nnewline", &[("table", "t\"x\\\n"), ("p", "")], 1.0);
        assert_eq!(
            ex.finish(),
            "# HELP m back\\\\slash and\\nnewline\n# TYPE m gauge\nm{table=\"t\\\"x\\\\\\n\",p=\"\"} 1\n"
        );
    }

    #[test]
    fn special_values() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(0.0025), "0.0025");
        assert_eq!(format_value(60.0), "60");
        assert_eq!(format_value(1e-9), "0.000000001");
        assert_eq!(format_value(u64::MAX as f64).parse::<f64>().unwrap(), u64::MAX as f64);
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        static BOUNDS: &[f64] = &[0.001, 0.01, 1.0];
        let h = Histogram::new(BOUNDS);
        for ms in [0, 1, 2, 9, 10, 500, 1000, 1001, 90_000] {
            h.observe(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        // le=0.001: 0 ms and 1 ms (a bound is inclusive); le=0.01: 2, 9, 10; le=1: 500,
        // 1000; above: 1001, 90000.
        assert_eq!(s.counts, [2, 3, 2, 2]);
        assert_eq!(s.count(), 9);
        let mut ex = Exposition::default();
        ex.histogram("dfl_x_seconds", "X.", &[("table", "t")], &s);
        let text = ex.finish();
        let expected = "# HELP dfl_x_seconds X.\n# TYPE dfl_x_seconds histogram\n\
             dfl_x_seconds_bucket{table=\"t\",le=\"0.001\"} 2\n\
             dfl_x_seconds_bucket{table=\"t\",le=\"0.01\"} 5\n\
             dfl_x_seconds_bucket{table=\"t\",le=\"1\"} 7\n\
             dfl_x_seconds_bucket{table=\"t\",le=\"+Inf\"} 9\n\
             dfl_x_seconds_sum{table=\"t\"} 92.523\n\
             dfl_x_seconds_count{table=\"t\"} 9\n";
        assert_eq!(text, expected);
        // Without labels the bucket still has its `le`.
        let mut ex = Exposition::default();
        ex.histogram("h", "H.", &[], &Histogram::new(BOUNDS).snapshot());
        assert!(ex.finish().contains("h_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n"));
    }

    #[test]
    fn the_bucket_bounds_span_what_the_metrics_need() {
        assert_eq!((LATENCY_BUCKETS[0], *LATENCY_BUCKETS.last().unwrap()), (0.001, 60.0));
        for b in [LATENCY_BUCKETS, CHECKPOINT_BUCKETS] {
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(valid_name("dfl_source_records_total") && !valid_name("9x") && !valid_name("a-b"));
    }
}
