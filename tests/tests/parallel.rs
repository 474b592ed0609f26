//! Tasks run N-wide in one process (`SET 'parallelism.default' = '4'`): the rows of a
//! keyed task are routed by key group to 4 workers, and the output must equal the same
//! query at parallelism 1 exactly — window results, OVER rows, updating GROUP BY changes,
//! late rows dropped — also at 2 and 1 through `--set parallelism.default`; killed at
//! random moments and restarted from its checkpoints it must give the output of a run
//! without faults; a task that cannot run N-wide runs at 1 and gives the same output; a
//! checkpoint restored at other parallelisms, in memory and in RocksDB, gives the output
//! of a run without faults. Tasks in two stages (q5's shape: counts per user N-wide, the
//! greatest per window and a join on the window after them; a window Top-N over sums per
//! user) give the output of parallelism 1, also killed, restarted and rescaled; so do more
//! shapes (CUMULATE, sessions, HAVING, a second stage without windows, late rows to a table).

use dfl_e2e::{Built, Lcg, Query, Running, build, copy_dir, output_lines, sorted};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

const CLICKS: &str = "
CREATE TABLE clicks (
  user_id STRING, category STRING, price DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
";

/// Branches keyed by the user in several ways (through different projections), and a
/// branch without a key.
const KEYED: &str = "
CREATE TABLE per_minute (user_id STRING, window_start TIMESTAMP(3), clicks BIGINT, spent DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'per_minute/', 'format' = 'json');
CREATE TABLE sliding (who STRING, window_end TIMESTAMP(3), categories BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'sliding/', 'format' = 'json');
CREATE TABLE running (user_id STRING, ts TIMESTAMP(3), last3 DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'running/', 'format' = 'json');
CREATE TABLE expensive (user_id STRING, price DOUBLE, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'expensive/', 'format' = 'json');
INSERT INTO per_minute
SELECT user_id, window_start, COUNT(*), SUM(price)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
CREATE VIEW dearer AS SELECT user_id AS who, category, ts FROM clicks WHERE price > 10;
INSERT INTO sliding
SELECT who, window_end, COUNT(DISTINCT category)
FROM TABLE(HOP(TABLE dearer, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
GROUP BY who, window_start, window_end;
INSERT INTO running
SELECT user_id, ts, SUM(price) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
FROM clicks;
INSERT INTO expensive SELECT user_id, price, ts FROM clicks WHERE price > 90;
";

const KEYED_OUTPUTS: [&str; 4] = ["per_minute", "sliding", "running", "expensive"];

/// An updating GROUP BY, printed as changes.
const CHANGES: &str = "
CREATE TABLE totals (user_id STRING, clicks BIGINT, top DOUBLE) WITH ('connector' = 'print');
INSERT INTO totals SELECT user_id, COUNT(*), MAX(price) FROM clicks GROUP BY user_id;
";

/// Keyed by the user and by the category: it cannot run N-wide.
const MIXED: &str = "
CREATE TABLE per_minute (user_id STRING, window_start TIMESTAMP(3), clicks BIGINT, spent DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'per_minute/', 'format' = 'json');
CREATE TABLE sliding (who STRING, window_end TIMESTAMP(3), categories BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'sliding/', 'format' = 'json');
INSERT INTO per_minute
SELECT user_id, window_start, COUNT(*), SUM(price)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
INSERT INTO sliding
SELECT category, window_end, COUNT(DISTINCT user_id)
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
GROUP BY category, window_start, window_end;
";

/// Keyed by the user: an updating GROUP BY and Top-N (printed as changes) and session
/// windows.
const RANKED: &str = "
CREATE TABLE totals (user_id STRING, clicks BIGINT, top DOUBLE)
WITH ('connector' = 'print', 'print-identifier' = 'totals');
CREATE TABLE best (user_id STRING, rn BIGINT, price DOUBLE, category STRING)
WITH ('connector' = 'print', 'print-identifier' = 'best');
CREATE TABLE sessions (user_id STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'sessions/', 'format' = 'json');
INSERT INTO totals SELECT user_id, COUNT(*), MAX(price) FROM clicks GROUP BY user_id;
INSERT INTO best SELECT user_id, rn, price, category FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY price DESC) AS rn FROM clicks
) WHERE rn <= 2;
INSERT INTO sessions SELECT user_id, window_start, window_end, COUNT(*)
FROM TABLE(SESSION(TABLE clicks PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY user_id, window_start, window_end;
";

/// Keyed by (category, band, user) — a DOUBLE computed in a view among them — then a
/// Top-N whose partition holds the same columns in another order after the window start,
/// and totals over the windows grouped by them in yet another order.
const BANDED: &str = "
CREATE VIEW banded AS SELECT user_id, category, CAST(FLOOR(price / 25) AS DOUBLE) AS band, ts FROM clicks;
CREATE TABLE busiest (window_start TIMESTAMP(3), band DOUBLE, category STRING, user_id STRING, n BIGINT, rn BIGINT)
WITH ('connector' = 'print', 'print-identifier' = 'busiest');
INSERT INTO busiest SELECT window_start, band, category, user_id, n, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, band, user_id, category ORDER BY n DESC) AS rn
  FROM (SELECT category, band, user_id, window_start, window_end, COUNT(*) AS n
        FROM TABLE(TUMBLE(TABLE banded, DESCRIPTOR(ts), INTERVAL '10' SECOND))
        GROUP BY category, band, user_id, window_start, window_end)
) WHERE rn <= 1;
CREATE TABLE totals (user_id STRING, band DOUBLE, category STRING, windows BIGINT, n BIGINT)
WITH ('connector' = 'print', 'print-identifier' = 'totals');
INSERT INTO totals SELECT user_id, band, category, COUNT(*), SUM(n)
FROM (SELECT category, band, user_id, window_start, window_end, COUNT(*) AS n
      FROM TABLE(TUMBLE(TABLE banded, DESCRIPTOR(ts), INTERVAL '10' SECOND))
      GROUP BY category, band, user_id, window_start, window_end)
GROUP BY user_id, band, category;
";

/// Nexmark q5's shape over the clicks: the clicks per user in each sliding window, keyed by
/// the user, then the most clicks of each window and the users with that many, keyed by
/// the window — the first part runs N-wide, the rest on one thread (two stages). The router
/// filters and projects the clicks (the workers take two of the view's four columns).
const HOT: &str = "
CREATE VIEW paid AS SELECT category, user_id, price * 2 AS doubled, ts FROM clicks WHERE price > 5;
CREATE VIEW per_user AS
SELECT user_id, COUNT(*) AS clicks, window_start, window_end
FROM TABLE(HOP(TABLE paid, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
CREATE TABLE hot (user_id STRING, window_end TIMESTAMP(3), clicks BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'hot/', 'format' = 'json');
INSERT INTO hot
SELECT a.user_id, a.window_end, a.clicks
FROM per_user AS a
JOIN (SELECT MAX(clicks) AS top, window_start, window_end FROM per_user GROUP BY window_start, window_end) AS m
ON a.window_start = m.window_start AND a.window_end = m.window_end AND a.clicks >= m.top;
";

/// The three biggest spenders of each minute: sums per user (N-wide), then a window Top-N
/// partitioned by the window alone (the second stage).
const SPENDERS: &str = "
CREATE TABLE spenders (window_start TIMESTAMP(3), user_id STRING, spent DOUBLE, rn BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'spenders/', 'format' = 'json');
INSERT INTO spenders SELECT window_start, user_id, spent, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY spent DESC, user_id) AS rn
  FROM (SELECT user_id, window_start, window_end, SUM(price) AS spent
        FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
        GROUP BY user_id, window_start, window_end)
) WHERE rn <= 3;
";

/// More shapes, each writing table `o` (files, or printed changes keyed by their first
/// column) and maybe late rows to `late_clicks`: a router projecting then filtering on a
/// projected column; CUMULATE windows joined with their greatest sum; a second stage
/// without a window (an updating GROUP BY over window output, also after sessions) — its
/// first stage's windows still follow the watermark; a window Top-N per window and
/// category after counts per user and category; without a window, a GROUP BY per category
/// and a Top-N per user after counts per user and category, routed by the key narrowed to
/// the column every keyed step has; HAVING and a CASE computed in the router; late rows
/// written to a table, in two stages; and joins of two branches of the clicks, each side
/// routed by its own key (a click feeding both sides goes to two workers): an interval FULL
/// join with NULL keys, a window LEFT join of sums per user and counts per referrer, a
/// regular LEFT join counted per user (the route narrowed to the user).
const SHAPES: [(&str, &str); 14] = [
    (
        "projfilter",
        "CREATE VIEW v AS SELECT user_id, price * 100 AS cents, ts FROM clicks;
CREATE TABLE o (user_id STRING, window_start TIMESTAMP(3), n BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT user_id, window_start, COUNT(*)
FROM TABLE(TUMBLE(TABLE v, DESCRIPTOR(ts), INTERVAL '10' SECOND)) WHERE cents > 1000
GROUP BY user_id, window_start, window_end;",
    ),
    (
        "cumulate",
        "CREATE VIEW per_user AS SELECT user_id, SUM(price) AS spent, window_start, window_end
FROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
CREATE TABLE o (user_id STRING, window_end TIMESTAMP(3), spent DOUBLE)
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT a.user_id, a.window_end, a.spent FROM per_user AS a
JOIN (SELECT MAX(spent) AS top, window_start, window_end FROM per_user GROUP BY window_start, window_end) AS m
ON a.window_start = m.window_start AND a.window_end = m.window_end AND a.spent >= m.top;",
    ),
    (
        "updating",
        "CREATE VIEW per_user AS SELECT user_id, category, COUNT(*) AS n, window_start, window_end
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, category, window_start, window_end;
CREATE TABLE o (category STRING, windows BIGINT, most BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o');
INSERT INTO o SELECT category, COUNT(*), MAX(n) FROM per_user GROUP BY category;",
    ),
    (
        "sessions",
        "CREATE VIEW s AS SELECT user_id, window_start, window_end, COUNT(*) AS n
FROM TABLE(SESSION(TABLE clicks PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '3' SECOND))
GROUP BY user_id, window_start, window_end;
CREATE TABLE o (n BIGINT, sessions BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o');
INSERT INTO o SELECT n, COUNT(*) FROM s GROUP BY n;",
    ),
    (
        "top_per_category",
        "CREATE TABLE o (window_start TIMESTAMP(3), user_id STRING, category STRING, n BIGINT, rn BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT window_start, user_id, category, n, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, category ORDER BY n DESC, user_id) AS rn
  FROM (SELECT user_id, category, window_start, window_end, COUNT(*) AS n
        FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '20' SECOND))
        GROUP BY user_id, category, window_start, window_end)
) WHERE rn <= 2;",
    ),
    (
        "narrowed_updating",
        "CREATE TABLE o (category STRING, users BIGINT, most BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o');
INSERT INTO o SELECT category, COUNT(*), MAX(c)
FROM (SELECT user_id, category, COUNT(*) AS c FROM clicks GROUP BY user_id, category) GROUP BY category;",
    ),
    (
        "narrowed_top",
        "CREATE TABLE o (slot STRING, category STRING, c BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o');
INSERT INTO o SELECT CONCAT(user_id, '#', CAST(rn AS STRING)), category, c FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY c DESC, category) AS rn
  FROM (SELECT user_id, category, COUNT(*) AS c FROM clicks GROUP BY user_id, category)
) WHERE rn <= 2;",
    ),
    (
        "having",
        "CREATE VIEW banded AS SELECT user_id, CASE WHEN price > 50 THEN 'hi' ELSE 'lo' END AS band,
  CAST(price AS INT) AS p, ts FROM clicks WHERE category <> 'c3';
CREATE TABLE o (window_end TIMESTAMP(3), band STRING, users BIGINT, best INT)
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT window_end, band, COUNT(*), MAX(p) FROM (
  SELECT user_id, band, MAX(p) AS p, window_start, window_end
  FROM TABLE(HOP(TABLE banded, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND))
  GROUP BY user_id, band, window_start, window_end HAVING COUNT(*) > 1)
GROUP BY band, window_start, window_end;",
    ),
    (
        "late",
        "CREATE TABLE late_clicks (user_id STRING, category STRING, price DOUBLE, ts TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'late/', 'format' = 'json');
CREATE VIEW per_user AS SELECT user_id, COUNT(*) AS n, window_start, window_end
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY user_id, window_start, window_end;
CREATE TABLE o (window_end TIMESTAMP(3), most BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT window_end, MAX(n) FROM per_user GROUP BY window_start, window_end;",
    ),
    (
        "ijoin",
        "CREATE VIEW buyers AS SELECT user_id, price, ts FROM clicks WHERE price > 60;
CREATE VIEW referred AS SELECT CASE WHEN price < 3 THEN CAST(NULL AS STRING)
  ELSE CONCAT('u', CAST(CAST(price * 7 AS BIGINT) % 200 AS STRING)) END AS referrer, category, ts
FROM clicks WHERE category <> 'c0';
CREATE TABLE o (user_id STRING, price DOUBLE, referrer STRING, category STRING)
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT b.user_id, b.price, r.referrer, r.category FROM buyers AS b FULL JOIN referred AS r
ON b.user_id = r.referrer AND r.ts BETWEEN b.ts - INTERVAL '3' SECOND AND b.ts + INTERVAL '1' SECOND;",
    ),
    (
        "wjoin",
        "CREATE VIEW refs AS SELECT CONCAT('u', CAST(CAST(price * 7 AS BIGINT) % 200 AS STRING)) AS referrer, ts
FROM clicks;
CREATE VIEW spent AS SELECT user_id, window_start, window_end, SUM(price) AS spent
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY user_id, window_start, window_end;
CREATE VIEW referrals AS SELECT referrer, window_start, window_end, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE refs, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY referrer, window_start, window_end;
CREATE TABLE o (user_id STRING, window_start TIMESTAMP(3), spent DOUBLE, n BIGINT)
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT s.user_id, s.window_start, s.spent, r.n FROM spent AS s LEFT JOIN referrals AS r
ON s.user_id = r.referrer AND s.window_start = r.window_start AND s.window_end = r.window_end;",
    ),
    (
        // A join of two tables (the clicks' files read as two more tables): a router per
        // table, each routing its rows by its side's join key, and the join in the workers.
        // Their watermarks leave no row late: two sources interleave as they come (at
        // parallelism 1 too), so which rows would be late is not the same in every run.
        "tjoin",
        "CREATE TABLE views (
  user_id STRING, category STRING, price DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '60' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
CREATE TABLE buys (
  user_id STRING, category STRING, price DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '60' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');
CREATE TABLE o (user_id STRING, price DOUBLE, viewer STRING, seen TIMESTAMP(3))
WITH ('connector' = 'filesystem', 'path' = 'o/', 'format' = 'json');
INSERT INTO o SELECT b.user_id, b.price, v.user_id, v.ts FROM buys AS b LEFT JOIN views AS v
ON b.category = v.category AND v.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts
WHERE b.price > 50;",
    ),
    (
        // Counts per user and category into a table keyed by the category: routed by the
        // category, each category's changes come from one worker in the order of its rows.
        "pkcat",
        "CREATE TABLE o (category STRING, user_id STRING, n BIGINT, PRIMARY KEY (category) NOT ENFORCED)
WITH ('connector' = 'print', 'print-identifier' = 'o');
INSERT INTO o SELECT category, user_id, COUNT(*) FROM clicks GROUP BY user_id, category;",
    ),
    (
        "rjoin",
        "CREATE VIEW cheap AS SELECT user_id, category FROM clicks WHERE price < 20;
CREATE VIEW dear AS SELECT CONCAT('u', CAST(CAST(price * 7 AS BIGINT) % 200 AS STRING)) AS referrer,
  category AS cat FROM clicks WHERE price > 80;
CREATE TABLE o (user_id STRING, n BIGINT, matched BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o');
INSERT INTO o SELECT c.user_id, COUNT(*), COUNT(d.cat) FROM cheap AS c LEFT JOIN dear AS d
ON c.user_id = d.referrer AND c.category = d.cat GROUP BY c.user_id;",
    ),
];

const WIDE: &str = "SET 'parallelism.default' = '4';\n";

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut queries = Vec::new();
        let in_rocks = |body: &str| {
            format!("SET 'state.backend' = 'rocksdb';\nSET 'state.backend.rocksdb.cache-entries' = '50';\n{body}")
        };
        let rocks = in_rocks(KEYED);
        let shape = |name: &str| SHAPES.iter().find(|(n, _)| *n == name).map(|(_, body)| *body).unwrap_or_default();
        let (ijoin_rocks, wjoin_rocks, tjoin_rocks) =
            (in_rocks(shape("ijoin")), in_rocks(shape("wjoin")), in_rocks(shape("tjoin")));
        for (name, body) in [
            ("keyed", KEYED),
            ("changes", CHANGES),
            ("mixed", MIXED),
            ("rocks", rocks.as_str()),
            ("ranked", RANKED),
            ("banded", BANDED),
            ("hot", HOT),
            ("spenders", SPENDERS),
            ("ijoin_rocks", ijoin_rocks.as_str()),
            ("wjoin_rocks", wjoin_rocks.as_str()),
            ("tjoin_rocks", tjoin_rocks.as_str()),
        ]
        .into_iter()
        .chain(SHAPES)
        {
            // The late rows of shape `late` go to a table.
            let late = "WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json', \
                        'scan.late-data.sink' = 'late_clicks');";
            let clicks = match name {
                "late" => CLICKS.replace("WITH ('connector' = 'filesystem', 'path' = 'in/', 'format' = 'json');", late),
                _ => CLICKS.to_string(),
            };
            for (suffix, prefix) in [("1", ""), ("4", WIDE)] {
                let name = format!("{name}{suffix}");
                queries.push(Query {
                    file: format!("tests/tests/parallel.rs ({name})"),
                    name,
                    text: format!("{prefix}{clicks}{body}"),
                    must_compile: true,
                });
            }
        }
        build("parallel", queries, |_, _| {})
    })
}

/// `files` JSON files of clicks of 200 users, in time order but for a little disorder
/// and one row in 50 about 40 s behind (late for its minute, often).
fn write_input(dir: &Path, files: usize, rows_per_file: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Lcg(11);
    let mut ms = 0u64;
    for f in 0..files {
        let mut text = String::new();
        for _ in 0..rows_per_file {
            ms += rng.next() % 700;
            let behind = if rng.next().is_multiple_of(50) { 40_000 } else { rng.next() % 1_500 };
            let t = ms.saturating_sub(behind);
            let row = serde_json::json!({
                "user_id": format!("u{}", rng.next() % 200),
                "category": format!("c{}", rng.next() % 9),
                "price": (rng.next() % 10_000) as f64 / 100.0,
                "ts": format!("2024-01-01 {:02}:{:02}:{:02}.{:03}", t / 3_600_000 % 24, t / 60_000 % 60, t / 1000 % 60, t % 1000),
            });
            text.push_str(&row.to_string());
            text.push('\n');
        }
        std::fs::write(dir.join(format!("part-{f:03}.json")), text).unwrap();
    }
}

fn sets(work: &Path, outputs: &[&str], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let input = format!("{}/", work.join("in").display());
    // `buys` and `views`: the clicks read as two more tables (a join of two tables), views
    // from one of the files only (it ends long before the buys).
    let views = work.join("in").join("part-000.json").display().to_string();
    let mut s = vec![
        ("clicks.path".to_string(), input.clone()),
        ("views.path".to_string(), views),
        ("buys.path".to_string(), input),
    ];
    for out in outputs {
        s.push((format!("{out}.path"), format!("{}/", work.join(out).display())));
    }
    s.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    s
}

/// A run of `module` over a copy of `input` to its end: its outputs (sorted), and the
/// late rows its summary counts.
fn run(module: &str, input: &Path, outputs: &[&str], extra: &[(&str, &str)]) -> (Vec<Vec<String>>, u64) {
    let work = tempfile::tempdir().unwrap();
    copy_dir(input, &work.path().join("in"));
    let r = built().run(module, &sets(work.path(), outputs, extra));
    assert!(r.success, "{module}: {}", r.stderr);
    let late = r
        .stderr
        .split_whitespace()
        .find_map(|w| w.strip_prefix("late="))
        .map_or(0, |n| n.trim_end_matches(':').parse().unwrap());
    (outputs.iter().map(|o| sorted(output_lines(&work.path().join(o)))).collect(), late)
}

#[test]
fn keyed_branches_at_parallelism_4_give_the_output_of_parallelism_1() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 4, 5_000);
    let (expected, late) = run("keyed1", input.path(), &KEYED_OUTPUTS, &[]);
    assert!(expected.iter().all(|o| o.len() > 100), "every output has rows");
    assert!(late > 20, "late rows are dropped ({late})");
    for p in ["4", "2", "1"] {
        let (got, got_late) = run("keyed4", input.path(), &KEYED_OUTPUTS, &[("parallelism.default", p)]);
        for (i, name) in KEYED_OUTPUTS.iter().enumerate() {
            assert_eq!(got[i].len(), expected[i].len(), "`{name}` at parallelism {p}: row count");
            assert_eq!(got[i], expected[i], "`{name}` at parallelism {p}");
        }
        assert_eq!(got_late, late, "late rows at parallelism {p}");
    }
}

#[test]
fn an_updating_group_by_at_parallelism_4_makes_the_same_changes() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 2, 3_000);
    let changes = |module: &str| {
        let work = tempfile::tempdir().unwrap();
        copy_dir(input.path(), &work.path().join("in"));
        let r = built().run(module, &sets(work.path(), &[], &[]));
        assert!(r.success, "{}", r.stderr);
        let mut lines: Vec<String> = r.stdout.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    let expected = changes("changes1");
    assert!(expected.len() > 6_000 && expected.iter().any(|l| l.starts_with("-U")), "{} changes", expected.len());
    assert_eq!(changes("changes4"), expected);
}

#[test]
fn a_task_keyed_two_ways_runs_at_parallelism_1_with_the_same_output() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 2, 3_000);
    let outputs = ["per_minute", "sliding"];
    let (expected, _) = run("mixed1", input.path(), &outputs, &[]);
    let (got, _) = run("mixed4", input.path(), &outputs, &[]);
    assert!(expected[1].len() > 100);
    assert_eq!(got, expected);
}

#[test]
fn at_parallelism_4_killed_and_restarted_the_output_equals_a_run_without_faults() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 6, 8_000);
    let (expected, _) = run("keyed4", input.path(), &KEYED_OUTPUTS, &[]);
    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let checkpoints = work.path().join("checkpoints").display().to_string();
    let extra = [("state.checkpoints.dir", checkpoints.as_str()), ("execution.checkpointing.interval", "40 ms")];
    // The faults: SIGKILL six times, 20–420 ms after a start; then the run may finish.
    let (kills, finished) = dfl_e2e::run_with_kills(
        || built().command("keyed4", &sets(work.path(), &KEYED_OUTPUTS, &extra)),
        6,
        4242,
        Duration::from_millis(20),
        Duration::from_millis(400),
    );
    assert!(kills >= 2, "only {kills} kills: the input was processed too fast to test faults");
    assert!(finished.contains("restored checkpoint"), "the last run restored a checkpoint: {finished}");
    for (i, name) in KEYED_OUTPUTS.iter().enumerate() {
        let got = sorted(output_lines(&work.path().join(name)));
        assert_eq!(got.len(), expected[i].len(), "`{name}`: row count");
        assert_eq!(got, expected[i], "`{name}` differs from the run without faults");
    }
}

/// Runs `module` over `input` from checkpoint to checkpoint at each parallelism of `steps`
/// in turn (each run stops, as `kill -9` would, after its first checkpoint; the last runs
/// to the end): the output must be that of `expected`, a run without faults.
fn rescaled_through(module: &str, steps: &[&str], input: &Path, expected: &[Vec<String>]) {
    rescaled_outputs_through(module, steps, input, &KEYED_OUTPUTS, expected)
}

/// [`rescaled_through`] of a query writing `outputs`.
fn rescaled_outputs_through(module: &str, steps: &[&str], input: &Path, outputs: &[&str], expected: &[Vec<String>]) {
    let work = tempfile::tempdir().unwrap();
    copy_dir(input, &work.path().join("in"));
    let checkpoints = work.path().join("checkpoints").display().to_string();
    let mut from = None;
    for (i, p) in steps.iter().enumerate() {
        let extra = [("state.checkpoints.dir", checkpoints.as_str()), ("parallelism.default", p)];
        let mut command = built().command(module, &sets(work.path(), outputs, &extra));
        command.env("DFL_CHECKPOINT_EVERY_RECORDS", "700");
        let last = i + 1 == steps.len();
        if !last {
            command.env("DFL_CRASH_AFTER_CHECKPOINTS", "1");
        }
        let (status, stderr) = Running::spawn(command).wait();
        assert_eq!(status.success(), last, "{module} at {p}: {stderr}");
        if let Some(before) = from {
            let note = format!("rescaling from {before} to {p} workers");
            assert!(stderr.contains(&note), "{module} at {p} restored a checkpoint of {before}: {stderr}");
        }
        from = Some(p);
    }
    for (i, name) in outputs.iter().enumerate() {
        let got = sorted(output_lines(&work.path().join(name)));
        assert_eq!(got.len(), expected[i].len(), "`{name}`: row count");
        assert_eq!(got, expected[i], "`{name}` differs from the run at one parallelism without faults");
    }
}

/// The rows printed changes leave per `<identifier>> ` and key (the first `key_columns`
/// columns) once applied in order: `+I`/`+U` set the row, `-U`/`-D` remove it.
fn applied(stdout: &str, key_columns: usize) -> std::collections::BTreeMap<String, String> {
    let mut rows = std::collections::BTreeMap::new();
    for line in stdout.lines() {
        let Some((id, change)) = line.split_once("> ") else { continue };
        let (kind, row) = change.split_at(2);
        let fields: Vec<&str> = row.trim_start_matches('[').trim_end_matches(']').split(", ").collect();
        let key = format!("{id}> {}", fields[..key_columns].join(", "));
        match kind {
            "+I" | "+U" => rows.insert(key, row.to_string()),
            "-U" | "-D" => rows.remove(&key),
            other => panic!("not a change: {other} in {line}"),
        };
    }
    rows
}

/// Runs `module` over a copy of `input` at each parallelism of `steps` in turn, each run
/// stopped as `kill -9` would after its first checkpoint but the last: what every run
/// printed, in order, and the work folder (outputs `outputs`).
fn printed_through(module: &str, steps: &[&str], input: &Path, outputs: &[&str]) -> (String, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    copy_dir(input, &work.path().join("in"));
    let checkpoints = work.path().join("checkpoints").display().to_string();
    let mut printed = String::new();
    for (i, p) in steps.iter().enumerate() {
        let extra = [("state.checkpoints.dir", checkpoints.as_str()), ("parallelism.default", p)];
        let mut command = built().command(module, &sets(work.path(), outputs, &extra));
        command.env("DFL_CHECKPOINT_EVERY_RECORDS", "700");
        let last = i + 1 == steps.len();
        if !last {
            command.env("DFL_CRASH_AFTER_CHECKPOINTS", "1");
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), last, "{module} at {p}: {stderr}");
        assert!(i == 0 || stderr.contains("rescaling from"), "{module} at {p}: {stderr}");
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    (printed, work)
}

#[test]
fn keys_of_several_columns_and_a_double_restore_at_other_parallelisms() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 2, 3_000);
    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let r = built().run("banded1", &sets(work.path(), &[], &[]));
    assert!(r.success, "{}", r.stderr);
    let of = |printed: &str, id: &str, key_columns: usize| -> Vec<(String, String)> {
        applied(printed, key_columns).into_iter().filter(|(k, _)| k.starts_with(id)).collect()
    };
    let (busiest, totals) = (of(&r.stdout, "busiest", 4), of(&r.stdout, "totals", 3));
    assert!(busiest.len() > 1_000 && totals.len() > 500, "{} windows, {} totals", busiest.len(), totals.len());
    let (printed, _work) = printed_through("banded4", &["4", "3", "2"], input.path(), &[]);
    assert_eq!(of(&printed, "busiest", 4), busiest);
    assert_eq!(of(&printed, "totals", 3), totals);
}

#[test]
fn updating_results_and_sessions_restored_at_other_parallelisms_end_as_a_run_without_faults() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 2, 3_000);
    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let r = built().run("ranked1", &sets(work.path(), &["sessions"], &[]));
    assert!(r.success, "{}", r.stderr);
    let (totals, best) = (applied(&r.stdout, 1), applied(&r.stdout, 2));
    let sessions = sorted(output_lines(&work.path().join("sessions")));
    assert!(totals.len() > 200 && sessions.len() > 100, "{} totals, {} sessions", totals.len(), sessions.len());
    // From 4 to 3 to 1 to 2 workers; the changes printed by every run, applied in order,
    // end as those of the run without faults (a restart prints again what followed its
    // checkpoint).
    let (printed, work) = printed_through("ranked4", &["4", "3", "1", "2"], input.path(), &["sessions"]);
    assert_eq!(
        applied(&printed, 1).into_iter().filter(|(k, _)| k.starts_with("totals")).collect::<Vec<_>>(),
        totals.into_iter().filter(|(k, _)| k.starts_with("totals")).collect::<Vec<_>>(),
        "totals"
    );
    assert_eq!(
        applied(&printed, 2).into_iter().filter(|(k, _)| k.starts_with("best")).collect::<Vec<_>>(),
        best.into_iter().filter(|(k, _)| k.starts_with("best")).collect::<Vec<_>>(),
        "best"
    );
    assert_eq!(sorted(output_lines(&work.path().join("sessions"))), sessions, "sessions");
}

#[test]
fn a_checkpoint_restores_at_other_parallelisms_with_the_output_of_a_run_without_faults() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 2, 4_000);
    let (expected, _) = run("keyed1", input.path(), &KEYED_OUTPUTS, &[]);
    assert!(expected.iter().all(|o| o.len() > 100), "every output has rows");
    // Key groups split (4 to 3 to 5), gathered (to 1) and split again (to 2).
    rescaled_through("keyed4", &["4", "3", "5", "1", "2"], input.path(), &expected);
    // In RocksDB: each worker copies its keys out of the databases of the old ones.
    rescaled_through("rocks4", &["2", "3", "1"], input.path(), &expected);
}

#[test]
fn a_savepoint_taken_at_parallelism_4_resumes_at_3_with_the_output_of_a_run_without_faults() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 2, 4_000);
    let (expected, _) = run("keyed1", input.path(), &KEYED_OUTPUTS, &[]);
    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let (checkpoints, savepoints) = (work.path().join("checkpoints"), work.path().join("savepoints"));
    let (checkpoints, savepoints) = (checkpoints.display().to_string(), savepoints.display().to_string());
    // The source watches its folder for more files: the last windows stay open.
    let extra = [
        ("state.checkpoints.dir", checkpoints.as_str()),
        ("state.savepoints.dir", savepoints.as_str()),
        ("execution.checkpointing.interval", "1 h"),
        ("clicks.source.monitor-interval", "1 h"),
    ];
    let mut command = built().command("keyed4", &sets(work.path(), &KEYED_OUTPUTS, &extra));
    command.args(["--metrics-addr", "127.0.0.1:0"]).env("DFL_CRASH_AFTER_CHECKPOINTS", "1");
    let running = Running::spawn(command);
    let addr = running.metrics_addr(Duration::from_secs(60));
    let read = || dfl_e2e::metric(&dfl_e2e::http_get(&addr, "/metrics").1, "dfl_source_records_total", &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while read() < 8_000.0 {
        assert!(std::time::Instant::now() < deadline, "the clicks were not all read");
        std::thread::sleep(Duration::from_millis(20)); // between scrapes
    }
    // The savepoint is the run's only checkpoint; the run then stops as `kill -9` would:
    // its sinks committed what the savepoint holds.
    running.signal("USR1");
    let (status, stderr) = running.wait();
    assert!(!status.success(), "{stderr}");
    let line = stderr.lines().find(|l| l.contains(" written to ")).unwrap_or_else(|| panic!("{stderr}"));
    let savepoint = line.rsplit(" written to ").next().unwrap().to_string();
    let other = work.path().join("checkpoints-2").display().to_string();
    let resumed = [("state.checkpoints.dir", other.as_str()), ("parallelism.default", "3")];
    let mut command = built().command("keyed4", &sets(work.path(), &KEYED_OUTPUTS, &resumed));
    command.arg("--from-savepoint").arg(&savepoint);
    let (status, stderr) = Running::spawn(command).wait();
    assert!(status.success() && stderr.contains("rescaling from 4 to 3 workers"), "{stderr}");
    for (i, name) in KEYED_OUTPUTS.iter().enumerate() {
        let got = sorted(output_lines(&work.path().join(name)));
        assert_eq!(got.len(), expected[i].len(), "`{name}`: row count");
        assert_eq!(got, expected[i], "`{name}` differs from the run without faults");
    }
}

#[test]
fn tasks_in_two_stages_at_parallelism_4_give_the_output_of_parallelism_1() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 4, 5_000);
    for (query, output) in [("hot", "hot"), ("spenders", "spenders")] {
        let (expected, late) = run(&format!("{query}1"), input.path(), &[output], &[]);
        assert!(expected[0].len() > 300, "`{output}` has rows: {}", expected[0].len());
        for p in ["4", "2", "1"] {
            let (got, got_late) = run(&format!("{query}4"), input.path(), &[output], &[("parallelism.default", p)]);
            assert_eq!(got[0].len(), expected[0].len(), "`{output}` at parallelism {p}: row count");
            assert_eq!(got, expected, "`{output}` at parallelism {p}");
            assert_eq!(got_late, late, "late rows of `{output}` at parallelism {p}");
        }
    }
}

#[test]
fn a_task_in_two_stages_killed_and_restarted_or_rescaled_gives_the_output_of_a_run_without_faults() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 6, 8_000);
    // Kills within the run's time: the spenders' query is the faster.
    for (query, output, within) in [("hot", "hot", 400), ("spenders", "spenders", 120)] {
        let (expected, _) = run(&format!("{query}1"), input.path(), &[output], &[]);
        let work = tempfile::tempdir().unwrap();
        copy_dir(input.path(), &work.path().join("in"));
        let checkpoints = work.path().join("checkpoints").display().to_string();
        let extra = [("state.checkpoints.dir", checkpoints.as_str()), ("execution.checkpointing.interval", "40 ms")];
        let (kills, finished) = dfl_e2e::run_with_kills(
            || built().command(&format!("{query}4"), &sets(work.path(), &[output], &extra)),
            6,
            4343,
            Duration::from_millis(10),
            Duration::from_millis(within),
        );
        assert!(kills >= 2, "{query}: only {kills} kills: the input was processed too fast to test faults");
        assert!(finished.contains("restored checkpoint"), "{query}: the last run restored a checkpoint: {finished}");
        let got = sorted(output_lines(&work.path().join(output)));
        assert_eq!(got.len(), expected[0].len(), "`{output}`: row count");
        assert_eq!(got, expected[0], "`{output}` differs from the run without faults");
        // The first stage's key groups move; the second stage restores as it was.
        let module = format!("{query}4");
        rescaled_outputs_through(&module, &["4", "3", "1", "2"], input.path(), &[output], &expected);
    }
}

/// A run of shape `module` over a copy of `input`: its files (`o`, `late_clicks`), sorted,
/// and the rows its printed changes leave, by their first column.
fn run_shape(module: &str, input: &Path, p: &str) -> (Vec<Vec<String>>, std::collections::BTreeMap<String, String>) {
    let work = tempfile::tempdir().unwrap();
    copy_dir(input, &work.path().join("in"));
    let mut s = sets(work.path(), &["o"], &[("parallelism.default", p)]);
    s.push(("late_clicks.path".into(), format!("{}/", work.path().join("late").display())));
    let r = built().run(module, &s);
    assert!(r.success, "{module}: {}", r.stderr);
    let files = ["o", "late"].map(|d| match work.path().join(d).exists() {
        true => sorted(output_lines(&work.path().join(d))),
        false => Vec::new(),
    });
    (files.to_vec(), applied(&r.stdout, 1))
}

#[test]
fn more_shapes_at_parallelism_4_and_2_give_the_output_of_parallelism_1() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 4, 5_000);
    for (name, _) in SHAPES {
        let (files, printed) = run_shape(&format!("{name}1"), input.path(), "1");
        assert!(files[0].len() + printed.len() > 2, "{name} has output: {files:?} {printed:?}");
        assert_eq!(files[1].is_empty(), name != "late", "{name}: late rows written: {}", files[1].len());
        for p in ["4", "2"] {
            let (got_files, got_printed) = run_shape(&format!("{name}4"), input.path(), p);
            assert_eq!(got_files, files, "{name} at parallelism {p}");
            assert_eq!(got_printed, printed, "{name} at parallelism {p}");
        }
    }
}

/// A join of two tables killed after a checkpoint that holds one table's router as
/// finished (it read its input to the end) goes on, at another parallelism, to the output
/// of a run without faults: the workers still learn that both inputs ended and fire what
/// is open (the buys the LEFT join keeps waiting for views).
#[test]
fn a_join_of_two_tables_restored_after_one_table_ended_ends_as_a_run_without_faults() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 6, 4_000);
    let (expected, _) = run("tjoin1", input.path(), &["o"], &[]);
    assert!(expected[0].len() > 1_000, "tjoin has rows: {}", expected[0].len());
    let work = tempfile::tempdir().unwrap();
    copy_dir(input.path(), &work.path().join("in"));
    let checkpoints = work.path().join("checkpoints");
    let dir = checkpoints.display().to_string();
    // The finished tasks of the newest complete checkpoint.
    let finished = || -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&checkpoints) else { return Vec::new() };
        let newest = (entries.flatten())
            .filter_map(|e| {
                let id: u64 = e.file_name().to_str()?.strip_prefix("chk-")?.parse().ok()?;
                let text = std::fs::read_to_string(e.path().join("_metadata")).ok()?;
                Some((id, text))
            })
            .max_by_key(|(id, _)| *id);
        newest.map_or_else(Vec::new, |(_, text)| {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["finished"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
        })
    };
    // Killed after a checkpoint each run until one holds the views' router as finished.
    let mut runs = 0;
    while !finished().iter().any(|t| t.ends_with(".views")) {
        runs += 1;
        assert!(runs < 200, "no checkpoint held the views' router as finished: {:?}", finished());
        let extra = [("state.checkpoints.dir", dir.as_str()), ("parallelism.default", "4")];
        let mut command = built().command("tjoin4", &sets(work.path(), &["o"], &extra));
        command.env("DFL_CHECKPOINT_EVERY_RECORDS", "700").env("DFL_CRASH_AFTER_CHECKPOINTS", "1");
        let (status, stderr) = Running::spawn(command).wait();
        assert!(!status.success(), "the run ended before a checkpoint held the views as finished: {stderr}");
    }
    let extra = [("state.checkpoints.dir", dir.as_str()), ("parallelism.default", "3")];
    let (status, stderr) = Running::spawn(built().command("tjoin4", &sets(work.path(), &["o"], &extra))).wait();
    assert!(status.success(), "{stderr}");
    // Its last checkpoint holds every task as finished: started again, it has nothing to do.
    let (status, stderr) = Running::spawn(built().command("tjoin4", &sets(work.path(), &["o"], &extra))).wait();
    assert!(status.success(), "started again after the end: {stderr}");
    let got = sorted(output_lines(&work.path().join("o")));
    assert_eq!(got.len(), expected[0].len(), "row count");
    assert_eq!(got, expected[0], "the output differs from a run without faults");
}

/// Joins of two branches of the clicks run N-wide, stopped after checkpoints and restored
/// at other parallelisms (the join's state moving by key group with the rest, in memory
/// and in RocksDB), end as a run at parallelism 1 without faults.
#[test]
fn joins_restored_at_other_parallelisms_end_as_a_run_without_faults() {
    let input = tempfile::tempdir().unwrap();
    write_input(input.path(), 6, 4_000);
    for name in ["ijoin", "wjoin", "tjoin"] {
        let (expected, _) = run(&format!("{name}1"), input.path(), &["o"], &[]);
        assert!(expected[0].len() > 1_000, "{name} has rows: {}", expected[0].len());
        rescaled_outputs_through(&format!("{name}4"), &["4", "3", "1", "2"], input.path(), &["o"], &expected);
        // The same with the state in RocksDB (its entries copied out of the old workers'
        // databases).
        rescaled_outputs_through(&format!("{name}_rocks4"), &["4", "3", "1", "2"], input.path(), &["o"], &expected);
    }
    // The regular join keeps both sides' rows of every key: what every run printed leaves
    // the rows of a run without faults.
    let (_, expected) = run_shape("rjoin1", input.path(), "1");
    assert!(expected.len() > 100, "rjoin has rows: {}", expected.len());
    let (printed, _work) = printed_through("rjoin4", &["4", "3", "1", "2"], input.path(), &[]);
    assert_eq!(applied(&printed, 1), expected);
}

#[test]
fn a_router_that_cannot_start_fails_the_run_and_its_workers_end() {
    let work = tempfile::tempdir().unwrap();
    let mut s = sets(work.path(), &KEYED_OUTPUTS, &[]);
    let missing = work.path().join("missing").display().to_string();
    s[0].1 = missing.clone();
    let r = built().run("keyed4", &s);
    assert!(!r.success, "{}", r.stderr);
    assert!(r.stderr.contains(&missing), "the error names the input: {}", r.stderr);
}
