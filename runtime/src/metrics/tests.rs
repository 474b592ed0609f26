//! Metrics of small runs through a [`Context`]: what sources, sinks, tasks and checkpoints
//! count shows in the exposition.

use super::*;
use crate::checkpoint::{SnapshotWriter, TaskCheckpoint};
use crate::connectors::{SourceEvent, SourceWatermark, filesystem, run_to_end};
use crate::options::TableOptions;
use crate::pipeline::{Context, PipelineSpec, SharedSink, Sink, Task, configure, run_tasks};
use crate::types::Timestamp;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Row {
    id: Option<i64>,
    ts: Option<Timestamp>,
}

/// A sink keeping what it is given.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Row>>>);

impl Sink<Row> for Collect {
    fn write_batch(&mut self, rows: &mut Vec<Row>) -> crate::Result<()> {
        self.0.lock().unwrap().append(rows);
        Ok(())
    }
    fn flush(&mut self) -> crate::Result<()> {
        Ok(())
    }
}

/// The value of the one sample `series` (`name{labels}` as written), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    let mut found = text.lines().filter_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse::<f64>().ok());
    let first = found.next();
    assert!(found.next().is_none(), "{series} twice in\n{text}");
    first
}

/// Checks the text is well-formed: every sample after its family's `# HELP` and `# TYPE`
/// (given once), every value a number, histogram buckets cumulative up to `+Inf` = `_count`.
fn check_format(text: &str) {
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut current = String::new();
    let mut last_bucket: Option<(String, f64)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            current = rest.split(' ').next().unwrap().to_string();
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(name, current, "TYPE after its HELP: {line}");
            assert!(typed.insert(name.to_string(), kind.to_string()).is_none(), "{name} typed twice");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let name = series.split('{').next().unwrap();
        let family = match typed.get(&current).map(String::as_str) {
            Some("histogram") => {
                ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
            }
            _ => name,
        };
        assert_eq!(family, current, "sample outside its family: {line}");
        if name.ends_with("_bucket") {
            let labels = series.split("le=").next().unwrap().trim_end_matches([',', '{']).to_string();
            if let Some((prev, n)) = &last_bucket
                && *prev == labels
            {
                assert!(value >= *n, "buckets not cumulative: {line}");
            }
            last_bucket = Some((labels, value));
        } else if name.ends_with("_count") && typed[&current] == "histogram" {
            let (labels, inf) = last_bucket.take().expect("buckets before _count");
            assert!(series.starts_with(&labels.replace("_bucket", "_count")), "{line} after {labels}");
            assert_eq!(inf, value, "+Inf bucket and _count differ: {line}");
        }
    }
}

fn lines(rows: &[(i64, &str)]) -> String {
    rows.iter().map(|(id, ts)| format!("{{\"id\": {id}, \"ts\": \"{ts}\"}}\n")).collect()
}

#[test]
fn a_run_from_a_file_into_a_sink_is_counted_per_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.json");
    let mut text = lines(&[(1, "2024-01-01 00:00:10"), (2, "2024-01-01 00:00:20")]);
    text.push_str("{not json\n");
    text.push_str(&lines(&[(3, "2024-01-01 00:00:05")]));
    std::fs::write(&file, &text).unwrap();
    let path = file.to_str().unwrap();
    let opts = TableOptions::new("clicks", &[("path", path), ("format", "json"), ("json.ignore-parse-errors", "true")]);
    let settings = [("pipeline.name".to_string(), "p\"1".to_string())].into_iter().collect();
    let cx = Context::new(vec![opts.clone()], settings);
    let collect = Collect::default();
    let sink = SharedSink::new(collect.clone());
    cx.register_sink("out", &sink).unwrap();
    assert!(!cx.metrics().ready(), "ready before the tasks run");

    let ready_while_running = AtomicBool::new(false);
    let watermark = AtomicI64::new(0);
    let task: Task<'_> = Box::new(|cx: &Context| {
        let task = TaskCheckpoint::new(cx, "clicks")?;
        let mut out = sink.writer(cx);
        let mut wm = SourceWatermark::for_table(cx, "clicks", 0)?;
        let source = filesystem::source::<Row>(cx.table("clicks")?)?;
        let ended = Cell::new(false);
        run_to_end(source, cx, &ended, |event| {
            match event {
                SourceEvent::Row(split, row) => {
                    ready_while_running.store(cx.metrics().ready(), Ordering::Relaxed);
                    let ts = row.ts.as_ref().map(|t| t.millis()).unwrap();
                    if ts < wm.current() {
                        cx.counters.late.fetch_add(1, Ordering::Relaxed);
                    } else {
                        wm.observe(split, Some(ts));
                        out.write(row)?;
                    }
                }
                other => wm.on_event(&other),
            }
            Ok(())
        })?;
        out.flush()?;
        watermark.store(wm.current(), Ordering::Relaxed);
        task.finish();
        Ok(())
    });
    run_tasks(&cx, vec![task]).unwrap();
    sink.flush().unwrap();
    assert_eq!(collect.0.lock().unwrap().len(), 2);
    assert!(ready_while_running.into_inner(), "ready while the source runs");
    assert_eq!(cx.metrics().not_ready_because(), Some("stopping"));

    let text = cx.metrics().render();
    check_format(&text);
    let p = r#"pipeline="p\"1""#;
    let get = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    // Records read: the three rows and the unreadable one.
    assert_eq!(get(&format!("dfl_source_records_total{{{p},table=\"clicks\"}}")), 4.0);
    assert_eq!(get(&format!("dfl_source_bytes_total{{{p},table=\"clicks\"}}")), text_len(&text, &file));
    assert_eq!(get(&format!("dfl_skipped_records_total{{{p},table=\"clicks\",reason=\"parse_error\"}}")), 1.0);
    assert_eq!(get(&format!("dfl_late_records_total{{{p},table=\"clicks\"}}")), 1.0);
    assert_eq!(get(&format!("dfl_sink_records_total{{{p},table=\"out\"}}")), 2.0);
    // One batch written (at the end): one observation, under a minute.
    assert_eq!(get(&format!("dfl_emit_latency_seconds_count{{{p},table=\"out\"}}")), 1.0);
    assert_eq!(get(&format!("dfl_emit_latency_seconds_bucket{{{p},table=\"out\",le=\"60\"}}")), 1.0);
    let watermark = watermark.into_inner();
    assert_eq!(get(&format!("dfl_watermark_milliseconds{{{p},table=\"clicks\"}}")), watermark as f64);
    let lag = get(&format!("dfl_watermark_lag_seconds{{{p},table=\"clicks\"}}"));
    assert!(lag > 365.0 * 86_400.0, "2024 is more than a year ago: {lag}");
    for (name, v) in [("rows_read", 3.0), ("rows_written", 2.0), ("rows_skipped", 1.0), ("rows_late", 1.0)] {
        assert_eq!(get(&format!("dfl_{name}_total{{{p}}}")), v, "{name}");
    }
    assert_eq!(get(&format!("dfl_pipeline_ready{{{p}}}")), 0.0);
    assert_eq!(get(&format!("dfl_pipeline_failed{{{p}}}")), 0.0);
    // No checkpoints, no checkpoint metrics; no dead letters expected, none shown.
    assert!(!text.contains("dfl_checkpoint"), "{text}");
    assert!(!text.contains("reason=\"dead_letter\""), "{text}");
}

/// The size of `file`, checking the text names it nowhere (paths are not metrics).
fn text_len(text: &str, file: &std::path::Path) -> f64 {
    assert!(!text.contains(file.to_str().unwrap()));
    std::fs::metadata(file).unwrap().len() as f64
}

#[test]
fn late_and_dropped_rows_count_for_the_task_of_their_thread() {
    let cx = Context::new(Vec::new(), BTreeMap::new());
    let other = Context::new(Vec::new(), BTreeMap::new());
    let tasks: Vec<Task<'_>> = ["a", "b+c"]
        .into_iter()
        .enumerate()
        .map(|(i, name)| -> Task<'_> {
            let other = &other;
            Box::new(move |cx: &Context| {
                let _task = TaskCheckpoint::new(cx, name)?;
                for _ in 0..=i {
                    cx.counters.late.fetch_add(2, Ordering::Relaxed);
                }
                cx.counters.skipped.fetch_add(1, Ordering::Relaxed);
                // Another run's counter is not this task's.
                other.counters.late.fetch_add(5, Ordering::Relaxed);
                Ok(())
            })
        })
        .collect();
    run_tasks(&cx, tasks).unwrap();
    // Outside any task: the total only.
    cx.counters.late.fetch_add(10, Ordering::Relaxed);
    assert_eq!(cx.counters.late.load(Ordering::Relaxed), 16);
    assert_eq!(other.counters.late.load(Ordering::Relaxed), 10);
    let text = cx.metrics().render();
    check_format(&text);
    let p = r#"pipeline="""#;
    assert_eq!(sample(&text, &format!("dfl_late_records_total{{{p},table=\"a\"}}")), Some(2.0));
    assert_eq!(sample(&text, &format!("dfl_late_records_total{{{p},table=\"b+c\"}}")), Some(4.0));
    let dropped = |t: &str| format!("dfl_skipped_records_total{{{p},table=\"{t}\",reason=\"not_null_dropped\"}}");
    assert_eq!((sample(&text, &dropped("a")), sample(&text, &dropped("b+c"))), (Some(1.0), Some(1.0)));
    assert_eq!(sample(&text, &format!("dfl_rows_late_total{{{p}}}")), Some(16.0));
    assert!(!other.metrics().render().contains("dfl_late_records_total"));
}

#[test]
fn checkpoints_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let settings = [("state.checkpoints.dir".to_string(), dir.path().display().to_string())].into_iter().collect();
    let cx = Context::new(Vec::new(), settings).with_checkpoints("p").unwrap();
    let c = cx.checkpoints().unwrap();
    c.expect_tasks(&["a"]).unwrap();
    let mut task = TaskCheckpoint::new(&cx, "a").unwrap();
    task.arrive(1, SnapshotWriter::default(), b"position").unwrap();
    // Checkpoint 2 cannot be written (a file is where its folder goes): it fails.
    std::fs::write(dir.path().join("chk-2"), b"in the way").unwrap();
    task.arrive(2, SnapshotWriter::default(), b"position").unwrap();
    let text = cx.metrics().render();
    check_format(&text);
    let get = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(get("dfl_checkpoints_total{pipeline=\"\",result=\"completed\"}"), 1.0);
    assert_eq!(get("dfl_checkpoints_total{pipeline=\"\",result=\"failed\"}"), 1.0);
    assert_eq!(get("dfl_checkpoint_duration_seconds_count{pipeline=\"\"}"), 1.0);
    assert!(get("dfl_checkpoint_size_bytes{pipeline=\"\"}") >= b"position".len() as f64);
    let at = get("dfl_checkpoint_last_completed_timestamp_seconds{pipeline=\"\"}");
    assert!((at - crate::time::epoch_ms() as f64 / 1000.0).abs() < 600.0, "{at}");
}

/// State whose snapshot is `n` bytes.
struct Bytes(usize);

impl crate::checkpoint::Snapshot for Bytes {
    fn save(&mut self, out: &mut Vec<u8>) -> crate::Result<()> {
        out.extend(std::iter::repeat_n(7u8, self.0));
        Ok(())
    }
    fn load(&mut self, _: &mut &[u8]) -> crate::Result<()> {
        Ok(())
    }
}

#[test]
fn operators_count_rows_and_state_and_queues_their_length() {
    let dir = tempfile::tempdir().unwrap();
    let settings = [("state.checkpoints.dir".to_string(), dir.path().display().to_string())].into_iter().collect();
    let cx = Context::new(Vec::new(), settings).with_checkpoints("p").unwrap();
    cx.checkpoints().unwrap().expect_tasks(&["clicks"]).unwrap();
    let mut task = TaskCheckpoint::new(&cx, "clicks").unwrap();
    // Two instances of one operator are summed; another operator has no state saved.
    let (a, b) = (
        task.operator_meter("t0.b1.s0", "window", "window_1_0"),
        task.operator_meter("t0.b1.s0", "window", "window_1_0"),
    );
    let join = task.operator_meter("join0", "join", "join_0");
    for _ in 0..5 {
        a.row_in();
    }
    b.row_in();
    a.row_out();
    join.row_in();
    let mut snapshot = SnapshotWriter::default();
    snapshot.save("window_1_0", "f", &mut Bytes(300)).unwrap();
    snapshot.save("watermark", "f", &mut Bytes(9)).unwrap();
    task.arrive(1, snapshot, b"position").unwrap();
    let queue = cx.metrics().queue("merge", "a+b", 16);
    queue.pushed();
    queue.pushed();
    queue.popped();
    queue.blocked(std::time::Duration::from_millis(1500));
    let text = cx.metrics().render();
    check_format(&text);
    let get = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    let window = "{pipeline=\"\",task=\"clicks\",operator=\"t0.b1.s0\",kind=\"window\"}";
    assert_eq!(get(&format!("dfl_operator_records_in_total{window}")), 6.0);
    assert_eq!(get(&format!("dfl_operator_records_out_total{window}")), 1.0);
    assert_eq!(get(&format!("dfl_operator_state_bytes{window}")), 600.0, "both instances' sections");
    let join = "{pipeline=\"\",task=\"clicks\",operator=\"join0\",kind=\"join\"}";
    assert_eq!(get(&format!("dfl_operator_records_in_total{join}")), 1.0);
    assert_eq!(sample(&text, &format!("dfl_operator_state_bytes{join}")), None, "no section saved");
    assert_eq!(get("dfl_task_state_bytes{pipeline=\"\",task=\"clicks\"}"), 309.0);
    assert_eq!(get("dfl_task_state_file_bytes{pipeline=\"\",task=\"clicks\"}"), 0.0);
    let merge = "{pipeline=\"\",queue=\"merge\",table=\"a+b\"}";
    assert_eq!(get(&format!("dfl_queue_length{merge}")), 1.0);
    assert_eq!(get(&format!("dfl_queue_capacity{merge}")), 16.0);
    assert_eq!(get(&format!("dfl_queue_blocked_seconds_total{merge}")), 1.5);
}

#[test]
fn sinks_with_an_event_time_measure_how_far_behind_it_they_emit() {
    let cx = Context::new(Vec::new(), BTreeMap::new());
    let (timed, plain) = (SharedSink::new(Collect::default()), SharedSink::new(Collect::default()));
    cx.register_sink("timed", &timed).unwrap();
    cx.register_sink("plain", &plain).unwrap();
    let hour_ago = Timestamp::from_millis(crate::time::epoch_ms() - 3_600_000);
    let mut w = timed.writer(&cx).with_event_time(|r: &Row| r.ts.map(|t| t.millis()));
    w.write(Row { id: Some(1), ts: Some(hour_ago) }).unwrap();
    w.write(Row { id: Some(2), ts: None }).unwrap();
    w.flush().unwrap();
    let mut w = plain.writer(&cx);
    w.write(Row { id: Some(3), ts: Some(hour_ago) }).unwrap();
    w.flush().unwrap();
    let text = cx.metrics().render();
    check_format(&text);
    let timed = "{pipeline=\"\",table=\"timed\"}";
    assert_eq!(sample(&text, &format!("dfl_event_time_latency_seconds_count{timed}")), Some(1.0), "{text}");
    let behind = sample(&text, &format!("dfl_event_time_latency_seconds_sum{timed}")).unwrap();
    assert!((3600.0..3700.0).contains(&behind), "{behind}");
    assert!(!text.contains("dfl_event_time_latency_seconds_count{pipeline=\"\",table=\"plain\"}"), "{text}");
    let busy = sample(&text, &format!("dfl_sink_busy_seconds_total{timed}")).unwrap();
    assert!(busy > 0.0 && busy < 60.0, "{busy}");
}

#[test]
fn no_secrets_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let secret_dir = dir.path().join("s3cret-folder");
    std::fs::create_dir(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("x.json"), lines(&[(1, "2024-01-01 00:00:00")])).unwrap();
    let files = TableOptions::new("files", &[("path", secret_dir.to_str().unwrap()), ("format", "json")]);
    let cx = Context::new(vec![files], BTreeMap::new());
    let task: Task<'_> = Box::new(|cx: &Context| {
        let _task = TaskCheckpoint::new(cx, "files")?;
        #[cfg(feature = "redis")]
        {
            use crate::connectors::redis;
            // Nothing listens on port 1: the lookup's one request fails (and is counted).
            let table = redis::RedisTable::new(
                &TableOptions::new(
                    "profiles",
                    &[
                        ("connector", "redis"),
                        ("url", "redis://admin:s3cret@127.0.0.1:1/0"),
                        ("password", "s3cret-too"),
                        ("lookup.on-error", "null"),
                        ("lookup.max-retries", "0"),
                    ],
                ),
                &["id", "name"],
                &["id"],
            )?;
            let mut lookup = redis::lookup::<BTreeMap<String, String>>(table)?;
            assert_eq!(lookup.get(&["1".to_string()])?, None);
        }
        let source = filesystem::source::<Row>(cx.table("files")?)?;
        run_to_end(source, cx, &Cell::new(false), |_| Ok(()))
    });
    run_tasks(&cx, vec![task]).unwrap();
    let text = cx.metrics().render();
    check_format(&text);
    assert!(!text.contains("s3cret") && !text.contains("admin"), "{text}");
    assert_eq!(sample(&text, "dfl_source_records_total{pipeline=\"\",table=\"files\"}"), Some(1.0));
    if cfg!(feature = "redis") {
        let labels = "{pipeline=\"\",table=\"profiles\",role=\"lookup\"}";
        assert_eq!(sample(&text, &format!("dfl_redis_errors_total{labels}")), Some(1.0), "{text}");
        assert_eq!(sample(&text, &format!("dfl_redis_requests_total{labels}")), Some(1.0));
        assert_eq!(sample(&text, &format!("dfl_redis_lookups_total{labels}")), Some(1.0));
    }
}

static SPEC: PipelineSpec = PipelineSpec { name: "q", tables: &[("t", &[("connector", "blackhole")])], settings: &[] };

#[test]
fn the_address_comes_from_the_arguments_or_the_settings() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let addr = |a: &[&str]| configure(&SPEC, &args(a)).unwrap().unwrap().metrics_addr();
    // Not set: none, as for a pipeline embedded in a program (the binary then tries the
    // default address itself).
    assert_eq!(addr(&[]), None);
    assert_eq!(addr(&["--set", "metrics.address=off"]), None);
    for given in [
        &["--metrics-addr", "127.0.0.1:0"][..],
        &["--metrics-addr=127.0.0.1:0"],
        &["--set", "metrics.addr=127.0.0.1:0"],
        &["--set", "metrics.address=127.0.0.1:0"],
    ] {
        let bound = addr(given).unwrap_or_else(|| panic!("{given:?}"));
        assert!(bound.ip().is_loopback() && bound.port() != 0, "{given:?}: {bound}");
    }
    assert_eq!(addr(&["--metrics-addr", "off"]), None);
    // 'metrics.addr' wins over the older name.
    assert_eq!(addr(&["--set", "metrics.address=127.0.0.1:0", "--metrics-addr", "off"]), None);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    let err = configure(&SPEC, &args(&["--metrics-addr", &at])).err().unwrap().to_string();
    assert!(err.contains(&format!("cannot serve metrics on {at}")) && err.contains("metrics.addr"), "{err}");
    let err = configure(&SPEC, &args(&["--metrics-addr"])).err().unwrap().to_string();
    assert!(err.contains("--metrics-addr needs HOST:PORT"), "{err}");
    // The pipeline label is the query's name.
    let cx = configure(&SPEC, &[]).unwrap().unwrap();
    assert!(cx.metrics().render().contains("dfl_rows_read_total{pipeline=\"q\"} 0\n"));
}

#[test]
fn a_failed_task_fails_liveness() {
    let cx = Context::new(Vec::new(), BTreeMap::new());
    assert!(cx.metrics().live());
    let tasks: Vec<Task<'_>> =
        vec![Box::new(|_: &Context| Err(crate::Error::Config("boom".into()))), Box::new(|_: &Context| Ok(()))];
    assert!(run_tasks(&cx, tasks).is_err());
    assert!(!cx.metrics().live());
    assert_eq!(cx.metrics().not_ready_because(), Some("a task failed"));
    assert!(sample(&cx.metrics().render(), "dfl_pipeline_failed{pipeline=\"\"}") == Some(1.0));
}
