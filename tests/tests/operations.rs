//! Operating a pipeline: the metrics endpoint of a running generated pipeline, scraped
//! while it reads a Kafka topic of known records — records in and out, dead-lettered and
//! late records counted as they happened — and its liveness and readiness.
//!
//! Without `DFL_KAFKA_BOOTSTRAP` the test is skipped, unless `CI` is set: then it fails.

use dfl_e2e::{Built, Query, build};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Lines of a JSON file (a `line` column) written as raw records to a topic.
const RAW_TO_KAFKA: &str = "
CREATE TABLE src (line STRING) WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE dst (line STRING) WITH (
  'connector' = 'kafka', 'topic' = 'raw', 'properties.bootstrap.servers' = '127.0.0.1:19092', 'format' = 'raw'
);
INSERT INTO dst SELECT line FROM src;
";

/// Clicks read for ever: those of category c0 copied to a file, and counted per user in
/// 10-second windows (rows behind the watermark are late); unreadable records
/// dead-lettered.
const METERED: &str = "
CREATE TABLE clicks (
  user_id BIGINT NOT NULL, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'metered', 'scan.startup.mode' = 'earliest-offset', 'format' = 'json',
  'scan.errors' = 'dead-letter', 'scan.dead-letter.topic' = 'dlq'
);
CREATE TABLE c0 (user_id BIGINT, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'c0', 'format' = 'json');
CREATE TABLE per_user (user_id BIGINT, window_start TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'blackhole');
EXECUTE STATEMENT SET BEGIN
INSERT INTO c0 SELECT user_id, ts FROM clicks WHERE category = 'c0';
INSERT INTO per_user
SELECT user_id, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
END;
";

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let queries = [("raw_to_kafka", RAW_TO_KAFKA), ("metered", METERED)]
            .into_iter()
            .map(|(name, text)| Query {
                name: name.into(),
                file: format!("{name}.sql"),
                text: text.into(),
                must_compile: true,
            })
            .collect();
        build("operations_e2e", queries, |_, _| {})
    })
}

fn topic(servers: &str, base: &str) -> String {
    let name = dfl_e2e::unique(base);
    dfl::connectors::kafka::create_topic(servers, &name, 1).expect("create the topic");
    name
}

use dfl_e2e::{http_get as get, metric as sample};

#[test]
fn the_metrics_endpoint_counts_what_a_running_pipeline_did() {
    let Some(servers) = dfl_e2e::service("DFL_KAFKA_BOOTSTRAP") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (clicks, dlq) = (topic(&servers, "clicks"), topic(&servers, "dlq"));
    // 1,000 clicks one second apart (200 of category c0), 6 unreadable records (5 not JSON,
    // one without its NOT NULL user_id), then 5
    // clicks at the start of the stream: late for their window by then.
    let mut lines = Vec::new();
    let click = |i: i64, s: i64| {
        serde_json::json!({"user_id": i % 7, "category": format!("c{}", i % 5), "ts": format!("2024-01-01 {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)}).to_string()
    };
    for i in 0..1000 {
        lines.push(click(i, i));
        if i % 200 == 100 {
            lines.push("not json".to_string());
        }
    }
    lines.push(r#"{"category": "c1"}"#.to_string());
    for i in 0..5 {
        lines.push(click(i + 1, i));
    }
    let input: String = lines.iter().map(|l| serde_json::json!({ "line": l }).to_string() + "\n").collect();
    std::fs::write(tmp.path().join("in.json"), input).unwrap();
    let set = |k: &str, v: &str| (k.to_string(), v.to_string());
    let run = built().run(
        "raw_to_kafka",
        &[
            set("src.path", &tmp.path().join("in.json").display().to_string()),
            set("dst.topic", &clicks),
            set("dst.properties.bootstrap.servers", &servers),
        ],
    );
    assert!(run.success, "{}", run.stderr);

    let mut child = built()
        .command(
            "metered",
            &[
                set("clicks.topic", &clicks),
                set("clicks.scan.dead-letter.topic", &dlq),
                set("clicks.properties.bootstrap.servers", &servers),
                set("clicks.properties.group.id", &format!("metered-{}", std::process::id())),
                set("c0.path", &tmp.path().join("c0").display().to_string()),
            ],
        )
        .args(["--metrics-addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the pipeline ended before saying its metrics address");
        if let Some((_, rest)) = line.trim().split_once("metrics: http://") {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };
    let rest = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    // Scraped until every record was read (1,011 records), with a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        let (status, body) = get(&addr, "/metrics");
        assert_eq!(status, 200, "{body}");
        if sample(&body, "dfl_source_records_total", &["table=\"clicks\""]) >= 1011.0
            && sample(&body, "dfl_late_records_total", &[]) >= 5.0
            && sample(&body, "dfl_operator_records_out_total", &["kind=\"window\""]) >= 693.0
        {
            break body;
        }
        assert!(Instant::now() < deadline, "not everything read in time:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let by_name: BTreeMap<&str, f64> = [
        ("read", sample(&metrics, "dfl_source_records_total", &["table=\"clicks\""])),
        ("dead_letter", sample(&metrics, "dfl_skipped_records_total", &["table=\"clicks\"", "reason=\"dead_letter\""])),
        ("late", sample(&metrics, "dfl_late_records_total", &["table=\"clicks\""])),
        ("skipped", sample(&metrics, "dfl_rows_skipped_total", &[])),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_name["read"], 1011.0, "{metrics}");
    assert_eq!(by_name["dead_letter"], 6.0, "{metrics}");
    assert_eq!(by_name["skipped"], 6.0, "{metrics}");
    assert_eq!(by_name["late"], 5.0, "{metrics}");
    // The c0 copy: every click of category c0 handed to its sink once read (the sink's
    // count grows as the task hands batches over; read again until it settles).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = get(&addr, "/metrics");
        let out = sample(&body, "dfl_sink_records_total", &["table=\"c0\""]);
        if out == 201.0 {
            break;
        }
        assert!(out < 201.0 && Instant::now() < deadline, "c0 records: {out}\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The watermark follows the clicks' time (the last on-time click is at 00:16:39).
    let watermark = sample(&metrics, "dfl_watermark_milliseconds", &["table=\"clicks\""]);
    assert_eq!(watermark as i64, 1_704_067_200_000 + 999_000 - 1_000, "{metrics}");
    assert!(metrics.contains("# TYPE dfl_emit_latency_seconds histogram"), "{metrics}");
    // The window operator (its id as `dflc explain` shows it): every valid click in (the
    // 1,005 that are not unreadable, late ones included), and out the 99 windows the
    // watermark passed (ends 00:00:10 to 00:16:30) with the 7 users each.
    let window = ["operator=\"t0.b1.s0\"", "kind=\"window\"", "task=\"clicks\""];
    assert_eq!(sample(&metrics, "dfl_operator_records_in_total", &window), 1005.0, "{metrics}");
    assert_eq!(sample(&metrics, "dfl_operator_records_out_total", &window), 693.0, "{metrics}");
    // Event time to emit: c0 writes the clicks' rowtime, from 2024: years behind the clock.
    let c0 = ["table=\"c0\""];
    let batches = sample(&metrics, "dfl_event_time_latency_seconds_count", &c0);
    let behind = sample(&metrics, "dfl_event_time_latency_seconds_sum", &c0) / batches;
    assert!(batches >= 1.0 && behind > 300.0 * 86_400.0, "{metrics}");
    // per_user writes no time column: no event-time series.
    assert_eq!(sample(&metrics, "dfl_event_time_latency_seconds_count", &["table=\"per_user\""]), 0.0, "{metrics}");
    // Alive and ready while it runs.
    assert_eq!(get(&addr, "/healthz").0, 200);
    assert_eq!(get(&addr, "/readyz").0, 200);
    assert_eq!(get(&addr, "/nothing").0, 404);
    // SIGTERM ends it cleanly.
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    let rest = rest.join().unwrap();
    assert!(status.success(), "{rest}");
}
