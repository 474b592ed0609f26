//! Processes of one pipeline sharing its consumer group with their keyed state kept per
//! partition (`'scale-out.mode' = 'partition'`): kills, joins, hand-overs, the shared
//! folder, and topics repartitioned through the pipeline's shuffle topic.

use super::*;

/// The features a topic holds now, as (user, window start) → clicks; a window written
/// more than once (read again after a process died) must have the same count each time.
fn features_in(servers: &str, topic: &str, dir: &Path) -> BTreeMap<(i64, String), i64> {
    features_written(servers, topic, dir).0
}

/// [`features_in`], and how many windows were written more than once.
fn features_written(servers: &str, topic: &str, dir: &Path) -> (BTreeMap<(i64, String), i64>, usize) {
    let out = dir.join(format!("read-{topic}.json"));
    let _ = std::fs::remove_file(&out);
    run(
        "features_to_file",
        &[s("src.topic", topic), s("src.properties.bootstrap.servers", servers), s("dst.path", out.display())],
    );
    let (mut got, mut repeated) = (BTreeMap::new(), 0);
    for m in objects(&out) {
        let k =
            (m["user_id"].as_i64().unwrap(), m["window_start"].as_str().unwrap().trim_end_matches(".000").to_string());
        let clicks = m["clicks"].as_i64().unwrap();
        if let Some(before) = got.insert(k.clone(), clicks) {
            assert_eq!(before, clicks, "window {k:?} written with two counts");
            repeated += 1;
        }
    }
    (got, repeated)
}

/// Processes of `partitioned_windows` reading one clicks topic in one group, their state
/// in one shared folder, each with a checkpoint folder of its own.
struct Partitioned<'a> {
    module: &'a str,
    servers: &'a str,
    clicks: String,
    features: String,
    group: String,
    dir: &'a Path,
    started: usize,
    /// More `--set`s for every process.
    sets: Vec<(String, String)>,
    /// More `--set`s for writing clicks.
    writes: Vec<(String, String)>,
}

impl<'a> Partitioned<'a> {
    fn new(module: &'a str, servers: &'a str, dir: &'a Path, partitions: i32) -> Self {
        let clicks = topic(servers, "scale-in", partitions);
        let features = topic(servers, "scale-out", 1);
        let group = format!("dflc-test-{clicks}");
        Partitioned { module, servers, clicks, features, group, dir, started: 0, sets: Vec::new(), writes: Vec::new() }
    }

    /// Starts a process; returns it and its metrics address.
    fn start(&mut self) -> (dfl_e2e::Running, String) {
        self.started += 1;
        let mut sets = vec![
            s("clicks.topic", &self.clicks),
            s("clicks.properties.bootstrap.servers", self.servers),
            s("clicks.properties.group.id", &self.group),
            s("features.topic", &self.features),
            s("features.properties.bootstrap.servers", self.servers),
            s("scale-out.state.dir", self.dir.join("shared-state").display()),
            s("state.checkpoints.dir", self.dir.join(format!("checkpoints-{}", self.started)).display()),
        ];
        sets.extend(self.sets.iter().cloned());
        let mut command = built().command(self.module, &sets);
        command.args(["--metrics-addr", "127.0.0.1:0"]);
        let running = dfl_e2e::Running::spawn(command);
        let addr = running.metrics_addr(Duration::from_secs(60));
        (running, addr)
    }

    /// One click per user far ahead: every partition's watermark passes every window of
    /// the clicks before (the windows of these stay open).
    fn write_flush(&self) {
        let flush: String = (0..37)
            .map(|u| {
                serde_json::json!({"user_id": u, "category": "c0", "ts": "2024-01-01 02:00:00"}).to_string() + "\n"
            })
            .collect();
        let file = self.dir.join("flush.json");
        std::fs::write(&file, flush).unwrap();
        let mut sets = vec![
            s("src.path", file.display()),
            s("dst.topic", &self.clicks),
            s("dst.properties.bootstrap.servers", self.servers),
        ];
        sets.extend_from_slice(&self.writes);
        run("clicks_to_kafka", &sets);
    }

    /// Waits until the features topic holds as many windows as clicks `0..written` make,
    /// and returns them with those recomputed.
    #[allow(clippy::type_complexity)]
    fn windows(&self, written: i64, deadline: Instant) -> (BTreeMap<(i64, String), i64>, BTreeMap<(i64, String), i64>) {
        let expected = user_windows(written);
        let mut got = features_in(self.servers, &self.features, self.dir);
        while got.len() < expected.len() && Instant::now() < deadline {
            got = features_in(self.servers, &self.features, self.dir);
        }
        (got, expected)
    }
}

/// The windows `partitioned_windows` gives for clicks `0..written`: (user, window start) →
/// clicks.
fn user_windows(written: i64) -> BTreeMap<(i64, String), i64> {
    assert!(written < 3600, "the clicks' times stay in the hour");
    let mut expected: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for i in 0..written {
        let start = format!("2024-01-01 00:{:02}:{:02}", i / 60, i % 60 / 10 * 10);
        *expected.entry((i % 37, start)).or_default() += 1;
    }
    expected
}

fn records_read(addr: &str) -> f64 {
    dfl_e2e::metric(&dfl_e2e::http_get(addr, "/metrics").1, "dfl_source_records_total", &[])
}

/// Three processes of a windowed pipeline share a consumer group, each window's state kept
/// with its partition in a folder they share: one is killed (SIGKILL) mid-run and a fourth
/// joins. The killed process's partitions go on from their last checkpoint elsewhere, and
/// the features are exactly those of one process reading every click: every window with
/// its count, none else (a window repeated after the kill has the same count).
#[test]
fn three_processes_share_keyed_windows_through_a_kill_and_a_join() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = through_a_kill_and_a_join("partitioned_windows", &servers, tmp.path(), &[], user_windows);
    // Every partition's state is in the shared folder, at one offset, beside the claim of
    // its last owner.
    for part in 0..6 {
        let dir = tmp.path().join("shared-state/clicks").join(&p.clicks).join(part.to_string());
        let mut names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names.len(), 2, "{}: {names:?}", dir.display());
        let claim = names[1].strip_suffix(".claim").unwrap_or_else(|| panic!("a claim: {names:?}"));
        assert!(names[0].starts_with(&format!("{claim}-")) && names[0].ends_with(".snapshot"), "{names:?}");
    }
}

/// Three processes of `module` over a 6-partition clicks topic (written with `writes`): one
/// is killed mid-run and a fourth joins; the output must be a single reader's, which
/// `expected` gives for the clicks written.
fn through_a_kill_and_a_join<'a>(
    module: &'a str,
    servers: &'a str,
    dir: &'a Path,
    writes: &[(String, String)],
    expected: fn(i64) -> BTreeMap<(i64, String), i64>,
) -> Partitioned<'a> {
    let mut p = Partitioned::new(module, servers, dir, 6);
    p.writes.extend_from_slice(writes);
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut next = 0;
    let clicks = p.clicks.clone();
    let mut write = |n: i64| {
        write_clicks_with(servers, &clicks, next..next + n, dir, writes);
        next += n;
        next
    };
    let ((a, a_addr), (b, b_addr), (c, c_addr)) = (p.start(), p.start(), p.start());
    while [&a_addr, &b_addr, &c_addr].iter().any(|addr| records_read(addr) == 0.0) {
        assert!(Instant::now() < deadline, "the group did not spread its partitions over three processes");
        write(60);
    }
    write(300);
    // Some windows have fired (the processes checkpoint meanwhile).
    while features_in(servers, &p.features, dir).len() < 10 {
        assert!(Instant::now() < deadline, "no features came");
    }
    // B dies; D joins; more clicks come meanwhile.
    write(300);
    let b_err = b.kill();
    let (d, _) = p.start();
    let written = write(900);
    p.write_flush();
    let expected = expected(written);
    let got = features_awaited(&p, expected.len(), deadline);
    if got != expected {
        let wrong: Vec<_> = expected.iter().filter(|(k, v)| got.get(*k) != Some(*v)).collect();
        let logs: Vec<String> = [&a, &c, &d].iter().map(|r| r.stderr_so_far()).collect();
        panic!(
            "{} of {} rows wrong or missing (first: {:?}; got {} rows)\nB: {b_err}\nA, C, D: {logs:#?}",
            wrong.len(),
            expected.len(),
            &wrong[..wrong.len().min(5)],
            got.len()
        );
    }
    [a, c, d].into_iter().for_each(terminate);
    p
}

/// The clicks topic is not keyed by the user (its records spread over the partitions
/// round-robin), so the pipeline repartitions the clicks by user through a topic of its
/// own: three processes write and read it, one is killed (SIGKILL) mid-run and a fourth
/// joins. The features are exactly those of one process reading every click, none written
/// with two counts: what the killed process had written again is read once, and no click
/// comes after the watermark the writers' marks give has passed it.
#[test]
fn three_processes_share_windows_of_a_topic_keyed_otherwise_through_a_kill_and_a_join() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let round_robin = [s("dst.sink.partitioner", "round-robin")];
    let p = through_a_kill_and_a_join("repartitioned_windows", &servers, tmp.path(), &round_robin, user_windows);
    // The shuffle topic is the pipeline's, named after the group and the task.
    let shuffle = format!("{}-clicks-repartition", p.group);
    let shared = tmp.path().join("shared-state/clicks").join(&shuffle);
    assert_eq!(std::fs::read_dir(&shared).map(|d| d.count()).unwrap_or(0), 6, "{}", shared.display());
}

/// A process of a repartitioned pipeline killed (SIGKILL) before it committed any offset of
/// the clicks (its periodic checkpoints an hour apart): the next process writes every click
/// to the shuffle topic again and reads that topic from its start (no state was kept), so
/// it finds each click there twice, and counts it once.
#[test]
fn clicks_written_twice_to_the_shuffle_topic_by_a_killed_process_count_once() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new("repartitioned_windows", &servers, tmp.path(), 4);
    p.writes.push(s("dst.sink.partitioner", "round-robin"));
    p.sets.push(s("execution.checkpointing.interval", "1 h"));
    let deadline = Instant::now() + Duration::from_secs(180);
    write_clicks_with(&servers, &p.clicks, 0..400, tmp.path(), &p.writes);
    let (a, a_addr) = p.start();
    // Read by the writer and by the instances (the clicks twice): offsets are committed
    // only 5 s after records came, or at a checkpoint.
    while records_read(&a_addr) < 800.0 {
        assert!(Instant::now() < deadline, "A did not read the clicks");
    }
    a.kill();
    write_clicks_with(&servers, &p.clicks, 400..700, tmp.path(), &p.writes);
    p.write_flush();
    let (b, _) = p.start();
    let (got, expected) = p.windows(700, deadline);
    assert_eq!(got, expected);
    terminate(b);
}

/// Two processes of a repartitioned pipeline reading the clicks to an end
/// ('scan.bounded.mode'): the instances read the shuffle topic until the writers' marks say
/// every partition of the clicks ended, fire what is open, and both processes stop by
/// themselves with every window a single reader computes.
#[test]
fn a_repartitioned_pipeline_reading_to_an_end_stops_by_itself_with_every_window() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new("repartitioned_windows", &servers, tmp.path(), 4);
    p.writes.push(s("dst.sink.partitioner", "round-robin"));
    p.sets.push(s("clicks.scan.bounded.mode", "latest-offset"));
    write_clicks_with(&servers, &p.clicks, 0..500, tmp.path(), &p.writes);
    let (a, _) = p.start();
    let (b, _) = p.start();
    for r in [a, b] {
        let (status, stderr) = r.wait();
        assert!(status.success(), "{stderr}");
    }
    let (got, expected) = p.windows(500, Instant::now() + Duration::from_secs(60));
    assert_eq!(got, expected);
}

/// The rows `partitioned_top_users` gives for clicks `0..written`: per 10-second window,
/// each user with the most clicks in it, with that count times 1000 plus the number of
/// users who clicked in the window.
fn top_users(written: i64) -> BTreeMap<(i64, String), i64> {
    let mut windows: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for i in 0..written {
        let start = format!("2024-01-01 00:{:02}:{:02}", i / 60, i % 60 / 10 * 10);
        *windows.entry(start).or_default().entry(i % 37).or_default() += 1;
    }
    let mut top = BTreeMap::new();
    for (start, users) in windows {
        let most = users.values().copied().max().unwrap_or(0);
        for (&user, &n) in users.iter().filter(|(_, n)| **n == most) {
            top.insert((user, start.clone()), n * 1000 + users.len() as i64);
        }
    }
    top
}

/// Waits until the features topic holds `expected.len()` rows; returns them.
fn features_awaited(p: &Partitioned<'_>, expected: usize, deadline: Instant) -> BTreeMap<(i64, String), i64> {
    let mut got = features_in(p.servers, &p.features, p.dir);
    while got.len() < expected && Instant::now() < deadline {
        got = features_in(p.servers, &p.features, p.dir);
    }
    got
}

/// A query in two stages (Nexmark q5's shape: counts per user and window, then the greatest
/// count per window joined with them) shared by three processes: the counts run per
/// partition of the clicks, the rest per partition of the pipeline's stage topic, each in
/// whichever process the group gives it to. One process is killed (SIGKILL) mid-run — with
/// partitions of the first stage, perhaps the second — and a fourth joins. The output is a
/// single reader's: no window's count reaches the second stage twice (its number of users
/// would be too high) and none is lost.
#[test]
fn three_processes_share_a_query_in_two_stages_through_a_kill_and_a_join() {
    two_stages_through_a_kill_and_a_join("partitioned_top_users");
}

/// [`three_processes_share_a_query_in_two_stages_through_a_kill_and_a_join`] with the
/// state in RocksDB: both stages' files go through the shared folder.
#[test]
fn three_processes_share_a_query_in_two_stages_in_rocksdb_through_a_kill_and_a_join() {
    two_stages_through_a_kill_and_a_join("partitioned_top_users_rocksdb");
}

fn two_stages_through_a_kill_and_a_join(module: &str) {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = through_a_kill_and_a_join(module, &servers, tmp.path(), &[], top_users);
    // The second stage's state is in the shared folder, under the stage topic's partition.
    let stage = tmp.path().join("shared-state/clicks.merge").join(format!("{}-clicks-stage", p.group)).join("0");
    assert!(std::fs::read_dir(&stage).is_ok_and(|d| d.count() > 0), "{}", stage.display());
}

/// A process of a query in two stages killed (SIGKILL) before any checkpoint (they are an
/// hour apart), after it had written windows of the first stage to the stage topic, which
/// the second stage could not fire yet (the clicks were all in partition 0: the other
/// partitions held its watermark back). The next process fires those windows again from
/// the clicks' start, and the second stage — reading the stage topic from its start too —
/// takes each window's counts once, by the marks of their partition.
#[test]
fn windows_written_twice_to_the_stage_topic_by_a_killed_process_count_once() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new("partitioned_top_users", &servers, tmp.path(), 4);
    p.sets.push(s("execution.checkpointing.interval", "1 h"));
    let deadline = Instant::now() + Duration::from_secs(180);
    // Windows 00:00:00 to 00:06:30 in partition 0 only; the later clicks' windows are
    // others (a user's clicks of one window stay in one partition).
    write_clicks_with(&servers, &p.clicks, 0..400, tmp.path(), &[s("dst.sink.partitioner", "fixed")]);
    let (a, a_addr) = p.start();
    let second_stage_in = || {
        let metrics = dfl_e2e::http_get(&a_addr, "/metrics").1;
        dfl_e2e::metric(&metrics, "dfl_operator_records_in_total", &["task=\"clicks.merge@", "kind=\"window\""])
    };
    // The second stage took the counts of the 39 windows that fired in partition 0.
    while second_stage_in() < 390.0 {
        assert!(Instant::now() < deadline, "A's second stage took no counts");
    }
    a.kill();
    write_clicks_with(&servers, &p.clicks, 400..700, tmp.path(), &[]);
    p.write_flush();
    let (b, _) = p.start();
    let expected = top_users(700);
    assert_eq!(features_awaited(&p, expected.len(), deadline), expected);
    terminate(b);
}

/// A query in two stages whose clicks are all in partition 0 of 4: with the table's idle
/// timeout, the instances of the other partitions (no record, no watermark) mark their
/// partitions idle, and the second stage's watermark follows partition 0's alone (without
/// the timeout no window would fire).
#[test]
fn partitions_without_records_are_marked_idle_to_the_second_stage_after_the_idle_timeout() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new("partitioned_top_users", &servers, tmp.path(), 4);
    p.sets.push(s("clicks.scan.watermark.idle-timeout", "1 s"));
    write_clicks_with(&servers, &p.clicks, 0..400, tmp.path(), &[s("dst.sink.partitioner", "fixed")]);
    let (a, _) = p.start();
    // Partition 0's watermark (00:06:38) passes the windows of the first 390 clicks.
    let expected = top_users(390);
    let got = features_awaited(&p, expected.len(), Instant::now() + Duration::from_secs(120));
    assert_eq!(got, expected, "{}", a.stderr_so_far());
    terminate(a);
}

/// Two processes of a query in two stages reading the clicks to an end: the first stage's
/// instances mark their partitions as ended once they fired every window, the second stage
/// reads the stage topic until every partition is marked so, and both processes stop by
/// themselves with every window's top users.
#[test]
fn a_query_in_two_stages_reading_to_an_end_stops_by_itself_with_every_window() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new("partitioned_top_users", &servers, tmp.path(), 4);
    p.sets.push(s("clicks.scan.bounded.mode", "latest-offset"));
    write_clicks_with(&servers, &p.clicks, 0..500, tmp.path(), &[]);
    let (a, _) = p.start();
    let (b, _) = p.start();
    for r in [a, b] {
        let (status, stderr) = r.wait();
        assert!(status.success(), "{stderr}");
    }
    let expected = top_users(500);
    assert_eq!(features_awaited(&p, expected.len(), Instant::now() + Duration::from_secs(60)), expected);
}

/// Clicks `0..300` written as raw records (each value its line, to the byte) to the clicks
/// topic of `p`, click 150 padded to `size` bytes (with the writing producer's `sets`).
fn write_with_a_large_click(p: &Partitioned<'_>, size: usize, sets: &[(String, String)]) {
    let lines: String = (0..300)
        .map(|i| {
            let mut c = click(i);
            if i == 150 {
                let framing = c.to_string().len() - c["category"].as_str().unwrap().len();
                c["category"] = Value::String("x".repeat(size - framing));
                assert_eq!(c.to_string().len(), size);
            }
            serde_json::json!({ "line": c.to_string() }).to_string() + "\n"
        })
        .collect();
    let file = p.dir.join(format!("large-{size}.json"));
    std::fs::write(&file, lines).unwrap();
    let mut all = vec![
        s("src.path", file.display()),
        s("dst.topic", &p.clicks),
        s("dst.properties.bootstrap.servers", p.servers),
    ];
    all.extend_from_slice(sets);
    run("raw_to_kafka", &all);
}

/// A click as large as a producer lets a record be by default (its value 1,000,000 bytes
/// less the record's framing) in a topic repartitioned through the pipeline's shuffle
/// topic: wrapped for the shuffle topic it is larger than that, and still written and
/// counted (the shuffle topic and its writers take records that much larger; it failed
/// the writer, at every restart). A click larger than the table says its topic takes
/// fails the writer naming it; with the table's `properties.message.max.bytes` it passes.
#[test]
fn records_as_large_as_their_topic_takes_are_repartitioned() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new("repartitioned_windows", &servers, tmp.path(), 2);
    p.sets.push(s("clicks.scan.bounded.mode", "latest-offset"));
    write_with_a_large_click(&p, 1_000_000 - 36, &[]);
    let (a, _) = p.start();
    let (status, stderr) = a.wait();
    assert!(status.success(), "{stderr}");
    let (got, expected) = p.windows(300, Instant::now() + Duration::from_secs(60));
    assert_eq!(got, expected);

    let second = tmp.path().join("larger");
    std::fs::create_dir(&second).unwrap();
    let mut p = Partitioned::new("repartitioned_windows", &servers, &second, 2);
    p.sets.push(s("clicks.scan.bounded.mode", "latest-offset"));
    write_with_a_large_click(&p, 1_500_000, &[s("dst.properties.message.max.bytes", 2_000_000)]);
    let (status, stderr) = p.start().0.wait();
    assert!(!status.success());
    assert!(
        stderr.contains("bytes once wrapped for the shuffle topic")
            && stderr.contains("'properties.message.max.bytes'"),
        "{stderr}"
    );
    p.sets.push(s("clicks.properties.message.max.bytes", 2_000_000));
    let (status, stderr) = p.start().0.wait();
    assert!(status.success(), "{stderr}");
    let (got, expected) = p.windows(300, Instant::now() + Duration::from_secs(60));
    assert_eq!(got, expected);
}

/// A keyed pipeline stopped (SIGTERM) and started again as another process, whose own
/// checkpoint folder is empty: its partitions' state, open windows included, comes from
/// the shared folder, and the features are those of one uninterrupted run.
#[test]
fn a_new_process_goes_on_from_the_partitions_state_in_the_shared_folder() {
    goes_on_from_the_shared_folder("partitioned_windows");
}

/// [`a_new_process_goes_on_from_the_partitions_state_in_the_shared_folder`] with the
/// state in RocksDB: its files move through the shared folder with the snapshots.
#[test]
fn a_new_process_goes_on_from_rocksdb_state_in_the_shared_folder() {
    goes_on_from_the_shared_folder("partitioned_windows_rocksdb");
}

fn goes_on_from_the_shared_folder(module: &str) {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new(module, &servers, tmp.path(), 3);
    let deadline = Instant::now() + Duration::from_secs(180);
    write_clicks(&servers, &p.clicks, 0..700, tmp.path());
    let (a, a_addr) = p.start();
    while records_read(&a_addr) < 700.0 {
        assert!(Instant::now() < deadline, "A did not read the clicks");
    }
    terminate(a);
    write_clicks(&servers, &p.clicks, 700..1500, tmp.path());
    p.write_flush();
    let (b, _) = p.start();
    let (got, expected) = p.windows(1500, deadline);
    assert_eq!(got, expected);
    terminate(b);
    // RocksDB's files are beside each partition's snapshot.
    let state_dirs = (0..3)
        .filter(|part| {
            let dir = tmp.path().join("shared-state/clicks").join(&p.clicks).join(part.to_string());
            std::fs::read_dir(dir).unwrap().flatten().any(|e| e.file_name().to_string_lossy().ends_with(".state"))
        })
        .count();
    assert_eq!(state_dirs, if module.ends_with("rocksdb") { 3 } else { 0 });
}

/// Processes joining and leaving gracefully hand their partitions over through a
/// checkpoint taken at the rebalance: B joins A (A gives half the partitions up), then A
/// stops (SIGTERM; B takes the rest from A's final checkpoint). Periodic checkpoints are
/// an hour apart: only those of the rebalance and of the stop keep state. Every window is
/// written once, with its count: nothing is lost or repeated.
#[test]
fn partitions_handed_over_gracefully_write_every_window_once() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Partitioned::new("partitioned_windows", &servers, tmp.path(), 4);
    p.sets.push(s("execution.checkpointing.interval", "1 h"));
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut next = 0;
    let (clicks, dir) = (p.clicks.clone(), tmp.path());
    let mut write = |n: i64| {
        write_clicks(&servers, &clicks, next..next + n, dir);
        next += n;
        next
    };
    let (a, a_addr) = p.start();
    write(300);
    while records_read(&a_addr) < 300.0 {
        assert!(Instant::now() < deadline, "A did not read");
    }
    let (b, b_addr) = p.start();
    while records_read(&b_addr) == 0.0 {
        assert!(Instant::now() < deadline, "B never got partitions");
        write(40);
    }
    write(300);
    terminate(a);
    let written = write(400);
    p.write_flush();
    let (got, expected) = p.windows(written, deadline);
    assert_eq!(got, expected);
    let (_, repeated) = features_written(&servers, &p.features, tmp.path());
    assert_eq!(repeated, 0, "windows written twice");
    terminate(b);
}

/// A pipeline keeping its state per partition says what it lacks at start: the shared
/// folder, or checkpoints (its own folder) to move the state with.
#[test]
fn state_per_partition_without_its_folders_fails_at_start_naming_the_setting() {
    let Some(servers) = bootstrap() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clicks = topic(&servers, "scale-misconfigured", 2);
    let base = vec![s("clicks.topic", &clicks), s("clicks.properties.bootstrap.servers", &servers)];
    let shared = s("scale-out.state.dir", tmp.path().join("shared").display());
    let own = s("state.checkpoints.dir", tmp.path().join("own").display());
    let cases = [
        (vec![own.clone()], "set 'scale-out.state.dir' to a folder every process of the pipeline shares"),
        (vec![shared.clone()], "needs 'state.checkpoints.dir'"),
    ];
    for (sets, said) in cases {
        let sets: Vec<_> = base.iter().cloned().chain(sets).collect();
        let r = built().run("partitioned_windows", &sets);
        assert!(!r.success && r.stderr.contains(said), "{said}:\n{}", r.stderr);
        assert!(!r.stderr.contains("kept as a pipeline setting"), "the settings are known:\n{}", r.stderr);
    }
    // Two processes given one checkpoint folder: the second fails, naming it. (The first
    // serves its metrics once its checkpoint folder is open.)
    let mut command =
        built().command("partitioned_windows", &[base.clone(), vec![shared.clone(), own.clone()]].concat());
    command.args(["--metrics-addr", "127.0.0.1:0"]);
    let first = dfl_e2e::Running::spawn(command);
    first.metrics_addr(Duration::from_secs(60));
    let second = built().run("partitioned_windows", &[base, vec![shared, own]].concat());
    assert!(!second.success && second.stderr.contains("is in use by another process"), "{}", second.stderr);
    terminate(first);
}
