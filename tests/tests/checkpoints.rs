//! Checkpoints under faults: a bounded input is processed while the pipeline is killed
//! with SIGKILL at random moments and restarted (from its latest checkpoint) until it
//! finishes; the final output must equal a run without faults exactly. Also: a graceful
//! stop takes a final checkpoint that the next run resumes from, a savepoint of another
//! query is refused, and checkpointing settings are checked.
//!
//! The random kill times are the faults themselves, not waits for something: every
//! process is awaited, and outcomes are read from its exit status and output.

use dfl_e2e::{Built, Lcg, Query, Running, build, copy_dir, output_lines, sorted};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// Clicks into per-user tumbling and hopping window counts and a filtered copy, all
/// written to folders of files (committed atomically at checkpoints).
const FEATURES: &str = "
CREATE TABLE clicks (
  user_id STRING, category STRING, price DECIMAL(10, 2), ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
CREATE TABLE per_minute (user_id STRING, window_start TIMESTAMP(3), clicks BIGINT, spent DECIMAL(38, 2))
WITH ('connector' = 'filesystem', 'path' = 'per_minute/', 'format' = 'json');
CREATE TABLE sliding (category STRING, window_end TIMESTAMP(3), users BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'sliding/', 'format' = 'json');
CREATE TABLE expensive (user_id STRING, price DECIMAL(10, 2), ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'expensive/', 'format' = 'json');
INSERT INTO per_minute
SELECT user_id, window_start, COUNT(*), SUM(price)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
INSERT INTO sliding
SELECT category, window_end, COUNT(DISTINCT user_id)
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
GROUP BY category, window_start, window_end;
INSERT INTO expensive SELECT user_id, price, ts FROM clicks WHERE price > 90;
";

/// Another query over the same tables (for refusing its checkpoints).
const OTHER: &str = "
CREATE TABLE clicks (
  user_id STRING, category STRING, price DECIMAL(10, 2), ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
CREATE TABLE per_minute (category STRING, window_start TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'per_minute/', 'format' = 'json');
INSERT INTO per_minute
SELECT category, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY category, window_start, window_end;
";

/// Rows generated without end into a folder of files.
const UNBOUNDED: &str = "
CREATE TABLE gen (id BIGINT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '2000');
CREATE TABLE kept (id BIGINT, v INT) WITH ('connector' = 'filesystem', 'path' = 'out/', 'format' = 'json');
INSERT INTO kept SELECT id, v FROM gen;
";

const OUTPUTS: [&str; 3] = ["per_minute", "sliding", "expensive"];

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let rocks =
            format!("SET 'state.backend' = 'rocksdb';\nSET 'state.backend.rocksdb.cache-entries' = '500';\n{FEATURES}");
        let queries = [
            ("features", FEATURES.to_string()),
            ("features_rocksdb", rocks),
            ("other", OTHER.to_string()),
            ("unbounded", UNBOUNDED.to_string()),
        ]
        .into_iter()
        .map(|(name, text)| Query {
            name: name.to_string(),
            file: format!("tests/tests/checkpoints.rs ({name})"),
            text,
            must_compile: true,
        })
        .collect();
        build("checkpoints", queries, |_, _| {})
    })
}

/// `files` JSON files of clicks in time order (a little disorder within 2 s).
fn write_input(dir: &Path, files: usize, rows_per_file: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Lcg(7);
    let mut second = 0u64;
    for f in 0..files {
        let mut text = String::new();
        for _ in 0..rows_per_file {
            second += rng.next() % 2;
            let jitter = rng.next() % 2;
            let t = second.saturating_sub(jitter);
            let row = serde_json::json!({
                "user_id": format!("u{}", rng.next() % 300),
                "category": format!("c{}", rng.next() % 7),
                "price": format!("{}.{:02}", rng.next() % 100, rng.next() % 100),
                "ts": format!("2024-01-01 {:02}:{:02}:{:02}.{:03}", t / 3600 % 24, t / 60 % 60, t % 60, rng.next() % 1000),
            });
            text.push_str(&row.to_string());
            text.push('\n');
        }
        std::fs::write(dir.join(format!("part-{f:03}.json")), text).unwrap();
    }
}

fn sets(work: &Path) -> Vec<(String, String)> {
    let mut s = vec![("clicks.path".to_string(), format!("{}/", work.join("in").display()))];
    for out in OUTPUTS {
        s.push((format!("{out}.path"), format!("{}/", work.join(out).display())));
    }
    s
}

fn outputs(work: &Path) -> Vec<Vec<String>> {
    OUTPUTS.iter().map(|o| sorted(output_lines(&work.join(o)))).collect()
}

/// Output of the fault-free run, without checkpoints.
fn reference(input: &Path) -> Vec<Vec<String>> {
    let work = tempfile::tempdir().unwrap();
    copy_dir(input, &work.path().join("in"));
    let r = built().run("features", &sets(work.path()));
    assert!(r.success, "{}", r.stderr);
    outputs(work.path())
}

/// Runs `features` over `work` with `extra` settings to its end: its exit status and stderr.
fn run_features(work: &Path, extra: &[(String, String)]) -> (std::process::ExitStatus, String) {
    let mut s = sets(work);
    s.extend_from_slice(extra);
    Running::spawn(built().command("features", &s)).wait()
}

#[test]
fn killed_at_random_moments_and_restarted_the_output_equals_a_run_without_faults() {
    killed_and_restarted("features");
}

/// The same with the state in RocksDB (a cache of 500 entries per map, so that most of it
/// is in the database; its checkpoints are RocksDB checkpoints, hard-linked).
#[test]
fn with_rocksdb_state_killed_and_restarted_the_output_equals_a_run_without_faults() {
    killed_and_restarted("features_rocksdb");
}

fn killed_and_restarted(module: &str) {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 6, 20_000);
    let expected = reference(input.path());
    assert!(expected.iter().all(|o| o.len() > 100), "the reference run has output");

    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let checkpointing = [
        ("state.checkpoints.dir".to_string(), work.path().join("checkpoints").display().to_string()),
        ("execution.checkpointing.interval".to_string(), "40 ms".to_string()),
    ];
    // The faults: SIGKILL eight times, 20–420 ms after a start; then the run may finish.
    let (kills, finished) = dfl_e2e::run_with_kills(
        || {
            let mut s = sets(work.path());
            s.extend_from_slice(&checkpointing);
            built().command(module, &s)
        },
        8,
        2024,
        Duration::from_millis(20),
        Duration::from_millis(400),
    );
    assert!(kills >= 3, "only {kills} kills: the input was processed too fast to test faults");
    assert!(finished.contains("restored checkpoint"), "the last run restored a checkpoint: {finished}");
    let got = outputs(work.path());
    for (i, name) in OUTPUTS.iter().enumerate() {
        assert_eq!(got[i].len(), expected[i].len(), "`{name}`: {} rows, expected {}", got[i].len(), expected[i].len());
        assert_eq!(got[i], expected[i], "`{name}` differs from the run without faults");
    }
    // No temporary files are left behind in the outputs.
    for name in OUTPUTS {
        let hidden: Vec<String> = std::fs::read_dir(work.path().join(name))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "`{name}` has leftovers: {hidden:?}");
    }
}

#[test]
fn a_graceful_stop_takes_a_final_checkpoint_that_the_next_run_resumes_from() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 4, 20_000);
    let expected = reference(input.path());
    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let checkpoints = work.path().join("checkpoints");
    let dir = [("state.checkpoints.dir".to_string(), checkpoints.display().to_string())];
    // No periodic checkpoints: the only one is the final checkpoint of the stop.
    let mut s = sets(work.path());
    s.extend_from_slice(&dir);
    let run = Running::spawn(built().command("features", &s));
    // Stop it as soon as it runs (its signal handlers are in place then), unless it has
    // finished by then.
    if run.await_stderr(|l| l.contains(": running"), Duration::from_secs(60)) {
        run.signal("TERM");
    }
    let (status, stderr) = run.wait();
    assert!(status.success(), "{stderr}");
    if stderr.contains(": stopped:") {
        assert!(stderr.contains("last checkpoint 1"), "the stop took a checkpoint: {stderr}");
        let (status, stderr) = run_features(work.path(), &dir);
        assert!(status.success() && stderr.contains("restored checkpoint 1"), "{stderr}");
    }
    assert_eq!(outputs(work.path()), expected);
    // Run again: everything was done; nothing is read and nothing is written twice.
    let (status, stderr) = run_features(work.path(), &dir);
    assert!(status.success() && stderr.contains(" 0 rows read"), "{stderr}");
    assert_eq!(outputs(work.path()), expected);
}

#[test]
fn a_checkpoint_of_another_query_is_refused_naming_the_operator() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 1, 500);
    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let checkpoints = work.path().join("checkpoints");
    let dir = ("state.checkpoints.dir".to_string(), checkpoints.display().to_string());
    // A checkpoint of `features` in the middle of its input.
    let mut s = sets(work.path());
    s.push(dir.clone());
    let out = built()
        .command("features", &s)
        .env("DFL_CHECKPOINT_EVERY_RECORDS", "100")
        .env("DFL_CRASH_AFTER_CHECKPOINTS", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let other = [
        ("clicks.path".to_string(), format!("{}/", work.path().join("in").display())),
        ("per_minute.path".to_string(), format!("{}/", work.path().join("other").display())),
        dir,
    ];
    let r = built().run("other", &other);
    assert!(!r.success, "the other query must not start from this checkpoint");
    assert!(r.stderr.contains("checkpoint:") && r.stderr.contains("window_0_0"), "{}", r.stderr);
    // Checkpointing settings are checked.
    let r = built().run("other", &[("execution.checkpointing.interval".into(), "10 s".into())]);
    assert!(!r.success && r.stderr.contains("needs 'state.checkpoints.dir'"), "{}", r.stderr);
    let r = built().run(
        "other",
        &[("state.checkpoints.dir".into(), "x".into()), ("execution.checkpointing.interval".into(), "soon".into())],
    );
    assert!(!r.success && r.stderr.contains("'soon' is not a duration"), "{}", r.stderr);
}

/// Waits until process `pid` handles signal number `signo` (its handler is installed):
/// the caught-signals mask in /proc.
#[test]
fn sigusr1_takes_a_savepoint_that_a_new_run_starts_from() {
    let work = tempfile::tempdir().unwrap();
    let out = format!("{}/", work.path().join("out").display());
    let savepoints = work.path().join("savepoints");
    let base = vec![
        ("kept.path".to_string(), out),
        ("state.checkpoints.dir".to_string(), work.path().join("checkpoints").display().to_string()),
        ("state.savepoints.dir".to_string(), savepoints.display().to_string()),
    ];
    let run = Running::spawn(built().command("unbounded", &base));
    assert!(run.await_stderr(|l| l.contains(": running"), Duration::from_secs(60)), "the pipeline ended");
    run.signal("USR1");
    // The savepoint is written (complete: with its metadata) and said where.
    let written = |l: &str| l.contains("savepoint") && l.contains(" written to ");
    assert!(run.await_stderr(written, Duration::from_secs(60)), "the pipeline ended");
    run.signal("TERM");
    let (status, stderr) = run.wait();
    assert!(status.success(), "{stderr}");
    let line = stderr.lines().find(|l| written(l)).unwrap();
    let savepoint = std::path::PathBuf::from(line.rsplit(" written to ").next().unwrap());
    assert!(savepoint.starts_with(&savepoints) && savepoint.join("_metadata").is_file(), "{line}");
    let id: u64 = savepoint.file_name().unwrap().to_string_lossy().trim_start_matches("savepoint-").parse().unwrap();
    // A new run (other checkpoint folder) starts from the savepoint.
    let mut resumed = base.clone();
    resumed[1].1 = work.path().join("checkpoints-2").display().to_string();
    let mut cmd = built().command("unbounded", &resumed);
    cmd.arg("--from-savepoint").arg(&savepoint);
    let run = Running::spawn(cmd);
    assert!(run.await_stderr(|l| l.contains(": running"), Duration::from_secs(60)), "the pipeline ended");
    run.signal("TERM");
    let (status, stderr) = run.wait();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains(&format!("restored checkpoint {id},")), "{stderr}");
}
