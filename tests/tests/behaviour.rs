//! How generated pipeline binaries behave as processes: bad input records (failing the
//! run, or dead-lettered), `--set` overrides and argument errors, stopping on SIGINT and
//! SIGTERM, bounded runs ending by themselves with exact counts, the print sink's format,
//! NOT NULL sink columns, and watermarks per file of a folder (idle timeout). The queries
//! below are compiled into one crate, built once.
//!
//! Nothing here sleeps to wait for something: processes are awaited, and output is read
//! until the condition holds. A watchdog only kills a process that hangs, so that a
//! broken signal handler fails the test instead of blocking it.

use dfl_e2e::{Built, Query, build, output_lines};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

/// A JSON file copied to a JSON file, keeping rows with `amount > 1`.
const JSON_COPY: &str = "
CREATE TABLE src (id INT, name STRING, amount DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE dst (id INT, name STRING, amount DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO dst SELECT id, name, amount FROM src WHERE amount > 1;
";

/// The same with a dead-letter file for unreadable records.
const DEAD_LETTERS: &str = "
CREATE TABLE src (id INT, name STRING, amount DOUBLE) WITH (
  'connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json',
  'source.dead-letter.path' = 'dead-letters.jsonl'
);
CREATE TABLE dst (id INT, name STRING, amount DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'json');
INSERT INTO dst SELECT id, name, amount FROM src;
";

/// A bounded datagen table (5 rows unless overridden) into a folder of JSON files.
const DATAGEN_ROWS: &str = "
CREATE TABLE gen (id BIGINT, v INT) WITH (
  'connector' = 'datagen', 'number-of-rows' = '5', 'fields.v.min' = '1', 'fields.v.max' = '9'
);
CREATE TABLE sink (id BIGINT, v INT)
WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'json');
INSERT INTO sink SELECT id, v FROM gen;
";

/// An unbounded datagen table written both to stdout and to a folder of JSON files.
const UNBOUNDED: &str = "
CREATE TABLE gen (id BIGINT, v INT, name STRING) WITH (
  'connector' = 'datagen', 'rows-per-second' = '20000',
  'fields.v.min' = '0', 'fields.v.max' = '99', 'fields.name.length' = '6'
);
CREATE TABLE shown (id BIGINT, v INT, name STRING) WITH ('connector' = 'print');
CREATE TABLE kept (id BIGINT, v INT, name STRING)
WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'json');
EXECUTE STATEMENT SET BEGIN
INSERT INTO shown SELECT id, v, name FROM gen;
INSERT INTO kept SELECT id, v, name FROM gen;
END;
";

/// Constant rows to two print tables, one with a print identifier.
const VALUES_PRINT: &str = "
CREATE TABLE shown (
  id INT, label STRING, price DECIMAL(6, 2), ok BOOLEAN, missing STRING, ratio DOUBLE, day DATE
) WITH ('connector' = 'print', 'print-identifier' = 'vals');
CREATE TABLE plain (id INT, label STRING) WITH ('connector' = 'print');
EXECUTE STATEMENT SET BEGIN
INSERT INTO shown VALUES
  (1, 'a b', CAST(2.5 AS DECIMAL(6, 2)), TRUE, CAST(NULL AS STRING), 1.5e3, DATE '2024-01-05'),
  (2, 'c,d', CAST(-0.25 AS DECIMAL(6, 2)), FALSE, 'x', 1.25e-1, DATE '2023-12-31');
INSERT INTO plain VALUES (7, 'seven');
END;
";

/// A nullable column written into a NOT NULL one.
const NOT_NULL: &str = "
CREATE TABLE people (id INT, name STRING)
WITH ('connector' = 'filesystem', 'path' = 'in.json', 'format' = 'json');
CREATE TABLE roster (id INT NOT NULL, name STRING)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO roster SELECT id, name FROM people;
";

/// Per-minute counts over a folder whose files are splits, each with its own watermark.
const FILE_SPLITS: &str = "
CREATE TABLE clicks (user_id STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
CREATE TABLE counts (user_id STRING, window_start TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'out.json', 'format' = 'json');
INSERT INTO counts
SELECT user_id, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
";

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let queries = [
            ("json_copy", JSON_COPY),
            ("dead_letters", DEAD_LETTERS),
            ("datagen_rows", DATAGEN_ROWS),
            ("unbounded", UNBOUNDED),
            ("values_print", VALUES_PRINT),
            ("not_null", NOT_NULL),
            ("file_splits", FILE_SPLITS),
        ]
        .into_iter()
        .map(|(name, text)| Query {
            name: name.to_string(),
            file: format!("tests/tests/behaviour.rs ({name})"),
            text: text.to_string(),
            must_compile: true,
        })
        .collect();
        build("behaviour", queries, |_, _| {})
    })
}

fn set(key: &str, path: &Path) -> (String, String) {
    (key.to_string(), path.display().to_string())
}

/// A folder path as a `--set` value: with a trailing '/' so that it is a folder.
fn set_folder(key: &str, path: &Path) -> (String, String) {
    (key.to_string(), format!("{}/", path.display()))
}

/// Every entry of `dir` (names), sorted; none if it does not exist.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}"))
}

/// The run summary's counts: `(read, written, skipped)` from
/// `<name>: finished|stopped: R rows read, W written, S skipped in …`.
fn summary(stderr: &str, how: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!(": {how}: ")))
        .unwrap_or_else(|| panic!("no `{how}` summary in stderr:\n{stderr}"));
    let rest = line.split(&format!(": {how}: ")).nth(1).unwrap();
    let numbers: Vec<u64> = rest.split([' ', ',']).filter_map(|w| w.parse().ok()).take(3).collect();
    assert_eq!(numbers.len(), 3, "summary without three counts: {line}");
    assert!(rest.contains(" rows read, ") && rest.contains(" written, ") && rest.contains(" skipped"), "{line}");
    (numbers[0], numbers[1], numbers[2])
}

// ---------------------------------------------------------------------------------------
// (a) A malformed record fails the run by default.

#[test]
fn a_malformed_json_line_fails_the_run_naming_file_line_and_reason() {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("clicks.json");
    std::fs::write(
        &input,
        "{\"id\": 1, \"name\": \"a\", \"amount\": 5}\n\
         {\"id\": 2, \"name\": \"b\", \"amount\": 6}\n\
         {\"id\": \"three\", \"name\": \"c\", \"amount\": 7}\n\
         {\"id\": 4, \"name\": \"d\", \"amount\": 8}\n",
    )
    .unwrap();
    let out_dir = tmp.path().join("out");
    let out = out_dir.join("result.json");
    let r = b.run("json_copy", &[set("src.path", &input), set("dst.path", &out)]);
    assert!(!r.success, "a bad record must fail the run; stderr:\n{}", r.stderr);
    let expected = format!("{}:3: cannot read record: ", input.display());
    let at = r.stderr.find(&expected).unwrap_or_else(|| panic!("stderr does not name {expected:?}:\n{}", r.stderr));
    let reason = r.stderr[at + expected.len()..].lines().next().unwrap_or("");
    assert!(reason.contains("`id`"), "the reason names the field: {reason:?}");
    // A failed run leaves no output behind, complete or partial.
    assert!(!out.exists(), "a failed run must not commit its output");
    assert!(entries(&out_dir).iter().all(|n| !n.starts_with('.')), "temporary files left: {:?}", entries(&out_dir));
}

#[test]
fn a_failed_run_exits_with_status_1() {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.json");
    std::fs::write(&input, "not json\n").unwrap();
    let status = b
        .command("json_copy", &[set("src.path", &input), set("dst.path", &tmp.path().join("out.json"))])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}

// ---------------------------------------------------------------------------------------
// (b) Dead letters.

#[test]
fn b_bad_lines_go_to_the_dead_letter_file_and_every_good_row_is_written() {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.json");
    let bad3 = "{\"id\": 3, \"name\": ";
    let bad6 = "{\"id\": \"six\", \"name\": \"f\", \"amount\": 6}";
    let text = [
        "{\"id\": 1, \"name\": \"a\", \"amount\": 1}",
        "{\"id\": 2, \"name\": \"b\", \"amount\": 2.5}",
        bad3,
        "",
        "{\"id\": 5, \"name\": \"e\", \"amount\": null}",
        bad6,
        "{\"id\": 7, \"name\": \"g\", \"amount\": 7}",
    ]
    .join("\n");
    std::fs::write(&input, text + "\n").unwrap();
    let dead = tmp.path().join("letters").join("dead.jsonl");
    let out = tmp.path().join("out");
    let r = b.run(
        "dead_letters",
        &[set("src.path", &input), set("src.source.dead-letter.path", &dead), set_folder("dst.path", &out)],
    );
    assert!(r.success, "dead-lettered records must not fail the run:\n{}", r.stderr);
    assert_eq!(summary(&r.stderr, "finished"), (4, 4, 2));

    let letters: Vec<serde_json::Value> = output_lines(&dead).iter().map(|l| json(l)).collect();
    assert_eq!(letters.len(), 2, "{letters:?}");
    for (letter, (line, record)) in letters.iter().zip([(3, bad3), (6, bad6)]) {
        assert_eq!(letter["line"], line, "{letter}");
        assert_eq!(letter["record"], record, "{letter}");
        assert_eq!(letter["file"], input.display().to_string(), "{letter}");
        assert_eq!(letter["table"], "src", "{letter}");
        assert!(letter["reason"].as_str().is_some_and(|r| !r.is_empty()), "{letter}");
    }
    assert!(letters[1]["reason"].as_str().unwrap().contains("`id`"), "{}", letters[1]);

    let mut ids: Vec<i64> = output_lines(&out).iter().map(|l| json(l)["id"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 5, 7]);
}

// ---------------------------------------------------------------------------------------
// (c) --set overrides; argument and option errors.

#[test]
fn c_set_overrides_a_table_option() {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let default = tmp.path().join("default");
    let r = b.run("datagen_rows", &[set_folder("sink.path", &default)]);
    assert!(r.success, "{}", r.stderr);
    assert_eq!(output_lines(&default).len(), 5);

    let more = tmp.path().join("more");
    let r =
        b.run("datagen_rows", &[("gen.number-of-rows".to_string(), "37".to_string()), set_folder("sink.path", &more)]);
    assert!(r.success, "{}", r.stderr);
    let lines = output_lines(&more);
    assert_eq!(lines.len(), 37);
    assert_eq!(summary(&r.stderr, "finished"), (37, 37, 0));
    for l in &lines {
        let v = json(l)["v"].as_i64().expect("v is a number");
        assert!((1..=9).contains(&v), "fields.v.min/max: {l}");
    }

    // `--set=KEY=VALUE` is the same.
    let one = tmp.path().join("one");
    let status = Command::new(&b.binary)
        .arg("datagen_rows")
        .arg("--set=gen.number-of-rows=1")
        .arg(format!("--set=sink.path={}/", one.display()))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(output_lines(&one).len(), 1);
}

/// Runs the module with raw arguments: `(exit code, stdout, stderr)`.
fn raw(module: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(&built().binary).arg(module).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn c_malformed_arguments_exit_with_status_2_and_say_why() {
    let (code, _, err) = raw("datagen_rows", &["--set", "gen.number-of-rows"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--set gen.number-of-rows: expected KEY=VALUE"), "{err}");

    let (code, _, err) = raw("datagen_rows", &["--set"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--set needs KEY=VALUE"), "{err}");

    let (code, _, err) = raw("datagen_rows", &["--frobnicate"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown argument '--frobnicate'"), "{err}");
    assert!(err.contains("Usage:"), "the usage follows: {err}");

    let (code, out, _) = raw("datagen_rows", &["--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Usage:") && out.contains("--set TABLE.OPTION=VALUE"), "{out}");
}

#[test]
fn c_a_bad_option_value_fails_naming_table_option_and_value() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = format!("sink.path={}/", tmp.path().join("out").display());
    let (code, _, err) = raw("datagen_rows", &["--set", "gen.number-of-rows=lots", "--set", &sink]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("table `gen`: option 'number-of-rows': 'lots' is not a whole number"), "{err}");
    assert!(output_lines(&tmp.path().join("out")).is_empty());

    let (code, _, err) = raw("json_copy", &["--set", "src.path=/nonexistent/dflc/input.json", "--set", &sink]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("/nonexistent/dflc/input.json"), "the missing file is named: {err}");
}

// ---------------------------------------------------------------------------------------
// (d) SIGINT and SIGTERM stop an unbounded pipeline cleanly.

/// Kills `pid` with SIGKILL unless told (through the returned sender) that it is done
/// within `limit`: a hung process fails the test rather than blocking it.
fn watchdog(pid: u32, limit: Duration) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
    });
    tx
}

fn stop_unbounded_with(signal: &str) {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = b
        .command("unbounded", &[set_folder("kept.path", &out)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = watchdog(child.id(), Duration::from_secs(120));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    // Wait until it has produced output.
    let mut printed = Vec::new();
    let mut line = String::new();
    while printed.len() < 100 {
        line.clear();
        let n = stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "stdout closed after {} lines, before the signal", printed.len());
        printed.push(line.trim_end().to_string());
    }
    let kill = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(kill.success());
    // Read the rest: a pipeline stopping flushes what it holds.
    for l in stdout.lines() {
        printed.push(l.unwrap());
    }
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status: ExitStatus = child.wait().unwrap();
    let _ = done.send(());

    assert!(status.success(), "exit status after SIG{signal}: {status:?}; stderr:\n{stderr}");
    let (read, written, skipped) = summary(&stderr, "stopped");
    assert_eq!(skipped, 0);
    for p in &printed {
        assert!(p.starts_with("+I[") && p.ends_with(']') && p.split(", ").count() == 3, "print line: {p:?}");
    }

    // The file sink's output is complete: committed files only, whole JSON lines.
    let names = entries(&out);
    assert!(!names.is_empty(), "no output file");
    assert!(names.iter().all(|n| !n.starts_with('.')), "files left in progress: {names:?}");
    let text: String = names.iter().map(|n| std::fs::read_to_string(out.join(n)).unwrap()).collect();
    assert!(text.ends_with('\n'), "the last line is cut off");
    let kept = output_lines(&out);
    for l in &kept {
        let v = json(l);
        assert!(v["id"].is_i64() && v["v"].is_i64() && v["name"].is_string(), "{l}");
    }
    // Both sinks received the same rows, and the summary counts them.
    assert_eq!(kept.len(), printed.len(), "rows in the file and on stdout");
    assert_eq!(read, kept.len() as u64);
    assert_eq!(written, 2 * read);
}

#[test]
fn d_sigint_stops_cleanly_with_complete_output() {
    stop_unbounded_with("INT");
}

#[test]
fn d_sigterm_stops_cleanly_with_complete_output() {
    stop_unbounded_with("TERM");
}

// ---------------------------------------------------------------------------------------
// (e) A bounded source ends the run by itself.

#[test]
fn e_a_bounded_source_ends_the_run_with_exact_counts() {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.json");
    std::fs::write(
        &input,
        "{\"id\": 1, \"name\": \"a\", \"amount\": 0.5}\n\
         {\"id\": 2, \"name\": \"b\", \"amount\": 2}\n\
         \n\
         {\"id\": 3, \"name\": \"c\", \"amount\": null}\n\
         {\"id\": 4, \"name\": \"d\", \"amount\": 4.25}\n\
         {\"id\": 5, \"name\": \"e\", \"amount\": 1.0001}\n",
    )
    .unwrap();
    let out = tmp.path().join("nested").join("result.json");
    let child = b
        .command("json_copy", &[set("src.path", &input), set("dst.path", &out)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = watchdog(child.id(), Duration::from_secs(120));
    let output = child.wait_with_output().unwrap();
    let _ = done.send(());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(summary(&stderr, "finished"), (5, 3, 0));
    let rows: Vec<serde_json::Value> = output_lines(&out).iter().map(|l| json(l)).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [2, 4, 5]);
    assert_eq!(rows[0], serde_json::json!({"id": 2, "name": "b", "amount": 2.0}));
    assert_eq!(entries(out.parent().unwrap()), ["result.json"]);
}

// ---------------------------------------------------------------------------------------
// (f) The print sink.

#[test]
fn f_print_sink_writes_change_kind_rows_with_the_identifier() {
    let b = built();
    let r = b.run("values_print", &[]);
    assert!(r.success, "{}", r.stderr);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "+I[7, seven]",
            "vals> +I[1, a b, 2.50, true, null, 1500.0, 2024-01-05]",
            "vals> +I[2, c,d, -0.25, false, x, 0.125, 2023-12-31]",
        ]
    );
    // Rows of one INSERT are printed in order.
    let vals: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("vals> ")).collect();
    assert!(vals[0].starts_with("vals> +I[1,") && vals[1].starts_with("vals> +I[2,"), "{vals:?}");
    assert_eq!(summary(&r.stderr, "finished"), (0, 3, 0));
}

// ---------------------------------------------------------------------------------------
// (g) NOT NULL sink columns.

#[test]
fn g_null_into_a_not_null_column_fails_naming_table_and_column() {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.json");
    std::fs::write(&input, "{\"id\": 1, \"name\": \"a\"}\n{\"id\": null, \"name\": \"b\"}\n{\"id\": 3}\n").unwrap();
    let out = tmp.path().join("out.json");
    let r = b.run("not_null", &[set("people.path", &input), set("roster.path", &out)]);
    assert!(!r.success, "{}", r.stderr);
    assert!(
        r.stderr.contains("table `roster`: column `id` is NOT NULL, but the query produced NULL"),
        "stderr:\n{}",
        r.stderr
    );
    assert!(!out.exists(), "a failed run must not commit its output");
    assert!(entries(tmp.path()).iter().all(|n| !n.starts_with('.')), "{:?}", entries(tmp.path()));

    // Without the NULL, the same pipeline runs.
    std::fs::write(&input, "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 3}\n").unwrap();
    let r = b.run("not_null", &[set("people.path", &input), set("roster.path", &out)]);
    assert!(r.success, "{}", r.stderr);
    assert_eq!(output_lines(&out).len(), 2);
}

// ---------------------------------------------------------------------------------------
// (h) Watermarks per split: a file not read yet holds the watermark back until it goes idle.

/// The late rows of the run summary (`…, N late (dropped) in …`), 0 if it names none.
fn late(stderr: &str) -> u64 {
    let line = stderr.lines().find(|l| l.contains(": finished: ")).unwrap_or_else(|| panic!("no summary:\n{stderr}"));
    match line.split(" late (dropped)").next().filter(|_| line.contains(" late (dropped)")) {
        Some(before) => before.rsplit(' ').next().unwrap().parse().unwrap(),
        None => 0,
    }
}

#[test]
fn h_a_folder_is_read_file_by_file_and_idle_timeouts_are_checked() {
    let b = built();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // 1-new.json, read first: 30 000 clicks of `a`, one every 100 ms from midnight (50 min);
    // 2-old.json, read second: 3 clicks of `b` in the first 3 minutes.
    let mut big = String::new();
    for i in 0..30_000u64 {
        let ms = i * 100;
        big += &format!(
            "{{\"user_id\": \"a\", \"ts\": \"2024-01-01 00:{:02}:{:02}.{:03}\"}}\n",
            ms / 60_000,
            ms / 1_000 % 60,
            ms % 1_000
        );
    }
    std::fs::write(input.join("1-new.json"), big).unwrap();
    let old = ["00:00:30", "00:01:30", "00:02:30"]
        .map(|t| format!("{{\"user_id\": \"b\", \"ts\": \"2024-01-01 {t}\"}}\n"))
        .concat();
    std::fs::write(input.join("2-old.json"), old).unwrap();
    let out = tmp.path().join("out.json");
    let run = |extra: &[(&str, &str)]| {
        let mut sets = vec![set_folder("clicks.path", &input), set("counts.path", &out)];
        sets.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        b.run("file_splits", &sets)
    };
    let b_windows = || output_lines(&out).iter().filter(|l| json(l)["user_id"] == "b").count();

    // The files are read one after another and a file is a split from when it is opened:
    // 2-old.json does not hold the watermark back while 1-new.json is read, so its rows
    // come after their windows fired (as with Flink's file source), counted late.
    for extra in
        [&[][..], &[("clicks.scan.watermark.idle-timeout", "1 min")], &[("table.exec.source.idle-timeout", "5 s")]]
    {
        let r = run(extra);
        assert!(r.success, "{}", r.stderr);
        assert_eq!(late(&r.stderr), 3, "{extra:?}: {}", r.stderr);
        assert_eq!(b_windows(), 0, "{extra:?}");
        assert_eq!(output_lines(&out).len(), 50, "one window per minute of 1-new.json");
    }
    // A timeout that is not a duration fails the run, naming the option or setting.
    let r = run(&[("clicks.scan.watermark.idle-timeout", "soon")]);
    assert!(!r.success);
    assert!(
        r.stderr.contains("table `clicks`: option 'scan.watermark.idle-timeout': 'soon' is not a duration"),
        "{}",
        r.stderr
    );
    let r = run(&[("table.exec.source.idle-timeout", "later")]);
    assert!(!r.success);
    assert!(r.stderr.contains("'table.exec.source.idle-timeout'") && r.stderr.contains("later"), "{}", r.stderr);
}
