//! `dflc check` over the fixture folders:
//! - `tests/queries/*.sql` must check without errors; the resolved program (HIR) and any
//!   warnings are snapshotted;
//! - `tests/errors/*.sql` must fail; their diagnostics, rendered without colour, are
//!   snapshotted;
//! - every Nexmark query in `examples/nexmark/` must check without errors.

use dfl_compiler::diagnostic::render::{self, Style};
use dfl_compiler::{SourceFile, check};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The `.sql` files of a folder, sorted.
fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

/// Checks a fixture, naming it by its path relative to the workspace (stable in snapshots).
fn check_file(path: &Path) -> (SourceFile, dfl_compiler::Checked) {
    let name = path.strip_prefix(root()).unwrap_or(path).display().to_string();
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let source = SourceFile::new(name, text);
    let checked = check(&source);
    (source, checked)
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("tests/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn valid_queries_check_and_resolve() {
    let files = sql_files(&root().join("tests/queries"));
    assert!(files.len() >= 10, "expected at least 10 query fixtures, found {}", files.len());
    for path in files {
        let (source, checked) = check_file(&path);
        let rendered = render::to_text(&source, &checked.diagnostics.0, Style::Plain);
        assert!(!checked.diagnostics.has_errors(), "{} has errors:\n{rendered}", source.name);
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let mut s = settings();
        s.set_input_file(&path);
        s.bind(|| insta::assert_snapshot!(format!("hir__{stem}"), format!("{}{rendered}", checked.hir)));
    }
}

#[test]
fn error_fixtures_report_their_diagnostics() {
    let files = sql_files(&root().join("tests/errors"));
    assert!(files.len() >= 40, "expected at least 40 error fixtures, found {}", files.len());
    let mut codes = std::collections::BTreeSet::new();
    for path in files {
        let (source, checked) = check_file(&path);
        assert!(checked.diagnostics.has_errors(), "{} should fail to check, but it passed", source.name);
        for d in checked.diagnostics.iter() {
            assert!(d.span.is_some(), "{}: diagnostic without a location: {}", source.name, d.message);
            codes.insert(d.code.as_str());
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let rendered = render::to_text(&source, &checked.diagnostics.0, Style::Plain);
        let mut s = settings();
        s.set_input_file(&path);
        s.bind(|| insta::assert_snapshot!(format!("error__{stem}"), rendered));
    }
    assert!(codes.len() >= 25, "error fixtures cover only {} distinct codes: {codes:?}", codes.len());
}

/// q6 as published is not valid SQL (Flink rejects it too): it names the aliases `A` and
/// `B` outside the subquery that defines them and filters on a SELECT alias in WHERE.
/// dflc must say exactly that.
#[test]
fn nexmark_q6_as_published_is_rejected_precisely() {
    let (source, checked) = check_file(&root().join("examples/nexmark/q6.sql"));
    let errors: Vec<_> = checked.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 2, "{:#?}", checked.diagnostics);
    assert!(errors.iter().all(|d| d.code.as_str() == "DFL0102"));
    assert!(errors[0].message.contains("`A`"), "{}", errors[0].message);
    assert!(errors[1].message.contains("`rownum`"), "{}", errors[1].message);
    let rendered = render::to_text(&source, &checked.diagnostics.0, Style::Plain);
    settings().bind(|| insta::assert_snapshot!("nexmark_q6_as_published", rendered));
}

#[test]
fn every_nexmark_query_checks() {
    let files = sql_files(&root().join("examples/nexmark"));
    assert_eq!(files.len(), 23, "q0 … q22");
    for path in files {
        if path.file_stem().is_some_and(|s| s == "q6") {
            continue;
        }
        let (source, checked) = check_file(&path);
        assert!(
            !checked.diagnostics.has_errors(),
            "{} has errors:\n{}",
            source.name,
            render::to_text(&source, &checked.diagnostics.0, Style::Plain)
        );
        assert!(!checked.hir.inserts.is_empty(), "{} resolved no INSERT", source.name);
    }
}

#[test]
fn json_output_carries_positions() {
    let source = SourceFile::new(
        "bad.sql",
        "CREATE TABLE t (a INT) WITH ('connector' = 'nope');\nINSERT INTO u SELECT a FROM t;",
    );
    let checked = check(&source);
    let json = render::to_json(&source, &checked.diagnostics.0);
    let items = json.as_array().expect("an array");
    assert_eq!(items.len(), 2, "{json:#}");
    assert_eq!(items[0]["code"], "DFL0502");
    assert_eq!(items[0]["span"]["start"]["line"], 1);
    assert_eq!(items[1]["code"], "DFL0101");
    assert_eq!(items[1]["span"]["start"]["line"], 2);
    assert_eq!(items[1]["span"]["start"]["column"], 13);
}

/// `dflc explain`: the physical plan of Nexmark queries.
#[test]
fn explain_shows_tasks_fused_steps_and_sinks() {
    for q in ["q0", "q1", "q2", "q4", "q5", "q7", "q8", "q9", "q13", "q21", "q22"] {
        let (_, checked) = check_file(&root().join(format!("examples/nexmark/{q}.sql")));
        let pipeline = dfl_compiler::plan::plan(&checked.hir).expect("the query plans");
        let text = dfl_compiler::explain::explain(&checked.hir, &pipeline, dfl_compiler::explain::Format::Text);
        assert!(text.contains("read datagen [nexmark]"), "{text}");
        assert!(text.contains(&format!("write nexmark_{q} [blackhole]")), "{text}");
        settings().bind(|| insta::assert_snapshot!(format!("explain__{q}"), text));
        // The graph: every node but a source is fed by another, every node but a sink feeds
        // another, and ids are unique.
        let g = dfl_compiler::explain::graph(&checked.hir, &pipeline);
        for (i, n) in g.nodes.iter().enumerate() {
            let fed = g.edges.iter().any(|(_, to)| *to == i);
            let feeds = g.edges.iter().any(|(from, _)| *from == i);
            assert_eq!(fed, n.kind != "source", "{q}: {} {:?}", n.id, g.edges);
            assert_eq!(feeds, n.kind != "sink", "{q}: {} {:?}", n.id, g.edges);
            assert_eq!(g.nodes.iter().filter(|m| m.id == n.id).count(), 1, "{q}: {}", n.id);
        }
        if q == "q5" || q == "q7" {
            for format in [dfl_compiler::explain::Format::Mermaid, dfl_compiler::explain::Format::Dot] {
                let drawn = dfl_compiler::explain::explain(&checked.hir, &pipeline, format);
                settings().bind(|| insta::assert_snapshot!(format!("explain_{format:?}__{q}").to_lowercase(), drawn));
            }
        }
    }
    // Operators not compiled yet are refused, naming what they need.
    let dir = tempfile::tempdir().unwrap();
    let over = dir.path().join("over.sql");
    std::fs::write(
        &over,
        "CREATE TABLE t (a BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen');
         CREATE TABLE o (a BIGINT, s BIGINT) WITH ('connector' = 'blackhole');
         INSERT INTO o SELECT a, LAG(a) OVER (PARTITION BY a ORDER BY ts) FROM t;",
    )
    .unwrap();
    let (_, checked) = check_file(&over);
    let err = dfl_compiler::plan::plan(&checked.hir).expect_err("LAG");
    assert!(err.iter().all(|d| d.code.as_str() == "DFL0700" && d.message.contains("OVER")), "{err:?}");
}

/// `dflc explain` with `SET 'parallelism.default'`: which tasks run N-wide (routed by
/// which key over the source row), and why the others run at parallelism 1.
#[test]
fn explain_says_which_tasks_run_n_wide_and_why_the_others_do_not() {
    let table = "SET 'parallelism.default' = '4';
        CREATE TABLE c (u STRING, cat STRING, price DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
        WITH ('connector' = 'datagen');
        CREATE TABLE o (a STRING, n BIGINT) WITH ('connector' = 'blackhole');
        CREATE TABLE o2 (a STRING, n BIGINT) WITH ('connector' = 'blackhole');
        CREATE TABLE r (a STRING, b STRING, n BIGINT) WITH ('connector' = 'blackhole');
        CREATE TABLE by_b (a STRING, b STRING, n BIGINT, PRIMARY KEY (b) NOT ENFORCED)
        WITH ('connector' = 'print');
        CREATE TABLE d (v STRING, u STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen');";
    let tumble = |key: &str, from: &str| {
        format!(
            "SELECT {key}, COUNT(*) FROM TABLE(TUMBLE(TABLE {from}, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY {key}, window_start, window_end"
        )
    };
    let cases = [
        (format!("INSERT INTO o {};", tumble("u", "c")), "(4 workers; rows routed by the hash of ($0))".to_string()),
        (
            format!("CREATE VIEW dear AS SELECT u, ts FROM c WHERE price > 1; INSERT INTO o {};", tumble("u", "dear")),
            "(4 workers; rows routed by the hash of ($0))\n  (the router filters and projects before routing \
             (t0.b0.s0))\n  [t0.src] source (parallelism 1)\n      \
             read c [datagen]\n      -> t0.b0.s0\n  [t0.b0.s0] chain (parallelism 1)"
                .into(),
        ),
        (
            format!(
                "CREATE VIEW v AS SELECT cat AS x, u AS y, ts FROM c WHERE price > 1;
                 EXECUTE STATEMENT SET BEGIN INSERT INTO o {}; INSERT INTO o2 {}; END;",
                tumble("u", "c"),
                tumble("y", "v")
            ),
            "(4 workers; rows routed by the hash of ($0))".into(),
        ),
        (
            format!("EXECUTE STATEMENT SET BEGIN INSERT INTO o {}; INSERT INTO o2 {}; END;", tumble("u", "c"), tumble("cat", "c")),
            "(parallelism 1: its branches are keyed differently)".into(),
        ),
        (
            "INSERT INTO r SELECT u, cat, n FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY u, window_start, window_end ORDER BY n DESC) AS rk
             FROM (SELECT u, cat, window_start, window_end, COUNT(*) AS n
                   FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY u, cat, window_start, window_end))
             WHERE rk <= 3;"
                .into(),
            // Counts per (u, cat) N-wide, the ranking per u on one thread after them (as a
            // whole the task would be routed by u alone).
            "(4 workers up to window t0.b0.s0 (rows routed by the hash of ($0, $1)), then one thread from the \
             workers' windows: the first stage keeps the finer key (as a whole, the task would be routed by ($0) \
             alone))"
                .into(),
        ),
        (
            "INSERT INTO r SELECT u, cat, n FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY u ORDER BY n DESC) AS rk
             FROM (SELECT u, cat, COUNT(*) AS n FROM c GROUP BY u, cat)) WHERE rk <= 3;"
                .into(),
            // Without a window to end a first stage: counts per (u, cat) and the ranking
            // per u, both routed by u.
            "(4 workers; rows routed by the hash of ($0))".into(),
        ),
        (
            "INSERT INTO o SELECT 'all', COUNT(*) FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;"
                .into(),
            "(parallelism 1: its first aggregation has no key but the window)".into(),
        ),
        (
            // Counts per user and category into a table keyed by the category: routed by the
            // category, so that a category's changes come from one worker.
            "INSERT INTO by_b SELECT u, cat, COUNT(*) FROM c GROUP BY u, cat;".into(),
            "(4 workers; rows routed by the hash of ($1))".into(),
        ),
        (
            // Keyed by a column computed from the user: two users could share it.
            "INSERT INTO by_b SELECT u, UPPER(u), COUNT(*) FROM c GROUP BY u;".into(),
            "(parallelism 1: a table it writes has a primary key without the columns of its first key (one key's \
             changes would come from several workers))"
                .into(),
        ),
        ("INSERT INTO o SELECT u, 1 FROM c;".into(), "(parallelism 1: it has no keyed step)".into()),
        (
            "INSERT INTO o SELECT u, COUNT(*) FROM c GROUP BY u, CURRENT_DATE;".into(),
            "(parallelism 1: its key reads the clock or calls a Rust function)".into(),
        ),
        (
            "CREATE VIEW p AS SELECT u, PROCTIME() AS pt FROM c;
             INSERT INTO o SELECT u, COUNT(*) FROM TABLE(TUMBLE(TABLE p, DESCRIPTOR(pt), INTERVAL '1' MINUTE))
             GROUP BY u, window_start, window_end;"
                .into(),
            "(parallelism 1: it has windows of processing time (each worker would read its own clock))".into(),
        ),
        (
            // A join of two branches of `c`: each side routed by its own join key, the
            // join in the workers.
            "INSERT INTO r SELECT a.u, b.cat, 1 FROM c AS a JOIN c AS b ON a.u = b.cat
             AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts;"
                .into(),
            "(4 workers; each side of the join routed by the hash of its join key: t0.b0 by ($0), t0.b1 by ($1) (a \
             row feeding both sides goes to both workers))"
                .into(),
        ),
        (
            // A join of two tables: each read by a router of its own, routing by its key.
            "INSERT INTO r SELECT a.u, b.v, 1 FROM c AS a JOIN d AS b ON a.u = b.u
             AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts;"
                .into(),
            "(4 workers; each table routed by the hash of its join key, by a router of its own: c by ($0), d by ($1))"
                .into(),
        ),
        (
            // A join on the user, written to a table keyed by the left side's category.
            "INSERT INTO by_b SELECT a.u, a.cat, 1 FROM c AS a JOIN c AS b ON a.u = b.cat
             AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts;"
                .into(),
            "(parallelism 1: it joins streams, and a table it writes has a primary key without the columns of the \
             join key (one key's changes would come from several workers))"
                .into(),
        ),
        (
            // Both sides views of `c` (filters and projections): the router runs them and
            // sends each side's worker that side's columns.
            "INSERT INTO r SELECT a.u, b.cat, 1 FROM (SELECT u, ts FROM c WHERE price > 1) AS a
             JOIN (SELECT cat, ts FROM c WHERE price < 5) AS b ON a.u = b.cat
             AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts;"
                .into(),
            "(the router filters and projects before routing (t0.b0.s0, t0.b1.s0, each join side's columns to its \
             worker))"
                .into(),
        ),
        (
            "INSERT INTO o SELECT a.cat, COUNT(*) FROM c AS a JOIN c AS b ON a.u = b.cat GROUP BY a.cat;".into(),
            "(parallelism 1: it joins streams, and a step after the join is keyed by fewer columns than the join \
             key)"
                .into(),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (insert, note)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("q{i}.sql"));
        std::fs::write(&file, format!("{table}\n{insert}")).unwrap();
        let (_, checked) = check_file(&file);
        assert!(!checked.diagnostics.has_errors(), "{i}: {:?}", checked.diagnostics);
        let pipeline = dfl_compiler::plan::plan(&checked.hir).expect("the query plans");
        let text = dfl_compiler::explain::explain(&checked.hir, &pipeline, dfl_compiler::explain::Format::Text);
        assert!(text.contains(note.as_str()), "{i}: expected {note} in\n{text}");
        let wide = note.starts_with("(4 workers") || note.contains("the router");
        assert_eq!(text.contains("(parallelism 4)"), wide, "{i}: {text}");
    }
}

/// The router of a join of two branches of a table, one of which is the table itself (so
/// that the router does not project the sides), sends a row to a side's worker when it
/// passes that side's first filters — but for a condition that may give another value
/// when the worker computes it again (the clock, `RAND()`, Rust functions), which lets
/// every row through there, so that each row is filtered once.
#[test]
fn the_router_of_a_join_skips_the_filters_its_workers_could_compute_otherwise() {
    let text = "SET 'parallelism.default' = '4';
        CREATE TABLE c (u STRING, cat STRING, price DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
        WITH ('connector' = 'datagen');
        CREATE TABLE o (u STRING, cat STRING) WITH ('connector' = 'blackhole');
        INSERT INTO o SELECT a.u, b.cat
        FROM (SELECT * FROM c WHERE CURRENT_DATE > DATE '2000-01-01' AND price > 1) AS a
        JOIN c AS b
        ON a.u = b.cat AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts;";
    let (_, code) = dfl_e2e::compile_module("q", "q.sql", text.to_string()).expect("compiles");
    let body = |f: &str| {
        let at = code.find(&format!("fn {f}(")).unwrap_or_else(|| panic!("no {f} in\n{code}"));
        let end = code[at..].find("\n    }").map_or(code.len(), |e| at + e);
        code[at..end].to_lowercase()
    };
    // The left side tests its price, not the date; the right side has no filter.
    let (left, right) = (body("passes_0_0"), body("passes_0_1"));
    assert_eq!((left.matches("is_true").count(), right.matches("is_true").count()), (1, 0), "{left}\n{right}");
    assert!(!left.contains("date"), "{left}");
}

/// A late-data table that does not exist, or that is the source itself, is an error of
/// `dflc build` naming the option.
#[test]
fn late_data_sinks_must_name_another_table() {
    let query = |option: &str| {
        format!(
            "CREATE TABLE clicks (user_id STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
             WITH ('connector' = 'datagen', 'scan.late-data.sink' = '{option}');
             CREATE TABLE counts (user_id STRING, n BIGINT) WITH ('connector' = 'blackhole');
             INSERT INTO counts SELECT user_id, COUNT(*)
             FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '5' SECOND))
             GROUP BY user_id, window_start, window_end;"
        )
    };
    for (option, expected) in
        [("late_clickz", "names `late_clickz`, which is not a table"), ("clicks", "names `clicks` itself")]
    {
        let source = dfl_compiler::SourceFile::new("late.sql", query(option));
        let Err(err) = dfl_compiler::compile(&source, "late") else { panic!("{option}: refused") };
        let messages: Vec<&str> = err.iter().map(|d| d.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains(expected) && m.contains("'scan.late-data.sink'")), "{messages:?}");
    }
    // The option is one of every source's options, and a typo in it is reported.
    let typo = dfl_compiler::check(&dfl_compiler::SourceFile::new(
        "typo.sql",
        query("x").replace("scan.late-data.sink", "scan.late-data.snk"),
    ));
    assert!(typo.diagnostics.iter().any(|d| d.message.contains("scan.late-data.snk")), "{:?}", typo.diagnostics);
}

/// A Kafka sink writes the metadata `timestamp` and `headers`; the other metadata keys are
/// read-only, and a sink table declaring one without VIRTUAL is refused by `dflc build`,
/// as is a metadata column of a type the record cannot hold.
#[test]
fn kafka_sinks_refuse_read_only_and_mistyped_metadata_columns() {
    let query = |column: &str| {
        format!(
            "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
             CREATE TABLE dst (id BIGINT, {column}) WITH (
               'connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'x:1', 'format' = 'json');
             INSERT INTO dst (id) SELECT id FROM src;"
        )
    };
    let generate = |column: &str| -> Result<(), Vec<String>> {
        let source = dfl_compiler::SourceFile::new("meta.sql", query(column));
        let compiled = dfl_compiler::compile(&source, "meta")
            .map_err(|d| d.iter().map(|d| format!("{} {}", d.code.as_str(), d.message)).collect::<Vec<_>>())?;
        dfl_compiler::codegen::generate(&compiled.checked.hir, &compiled.pipeline, "meta")
            .map(|_| ())
            .map_err(|d| d.iter().map(|d| format!("{} {}", d.code.as_str(), d.message)).collect())
    };
    generate("ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'").expect("the timestamp is writable");
    generate("h MAP<STRING, BYTES> METADATA FROM 'headers'").expect("headers are writable");
    generate("o BIGINT METADATA FROM 'offset' VIRTUAL").expect("a virtual column is not written");
    let err = generate("o BIGINT METADATA FROM 'offset'").expect_err("the offset is read-only");
    assert!(err.iter().any(|m| m.starts_with("DFL0509") && m.contains("'offset' is read-only")), "{err:?}");
    let err = generate("ts BIGINT METADATA FROM 'timestamp'").expect_err("a BIGINT timestamp");
    assert!(err.iter().any(|m| m.contains("'timestamp'") && m.contains("needs another type")), "{err:?}");
}

/// `SET 'scale-out.mode' = 'partition'`: a task keeping keyed state over a `kafka` table in
/// a consumer group runs per partition when the topic is keyed by a part of the state's key,
/// and is repartitioned by its key through a topic of its own when the topic is keyed
/// otherwise or its key is not declared (`dflc explain` says which); a task whose later
/// steps are keyed otherwise runs in two stages when a window can end the first; a task
/// whose state cannot be split by any key fails to compile, saying why.
#[test]
fn state_per_kafka_partition_needs_a_topic_keyed_by_the_state_s_key() {
    let query = |key_fields: &str, insert: &str| {
        format!(
            "SET 'scale-out.mode' = 'partition';
            CREATE TABLE c (u STRING, cat STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
              'connector' = 'kafka', 'topic' = 'c', 'properties.bootstrap.servers' = 'k:9092',
              'properties.group.id' = 'g', 'format' = 'json'{key_fields});
            CREATE TABLE o (a STRING, n BIGINT) WITH ('connector' = 'blackhole');
            {insert}"
        )
    };
    let by = |key: &str| {
        format!(
            "INSERT INTO o SELECT {key}, COUNT(*) FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY {key}, window_start, window_end;"
        )
    };
    let keyed = ", 'key.format' = 'json', 'key.fields' = 'u'";
    // Keyed by user, counted per user: per partition.
    let source = SourceFile::new("ok.sql", query(keyed, &by("u")));
    let checked = check(&source);
    assert!(!checked.diagnostics.has_errors(), "{:?}", checked.diagnostics);
    let pipeline = dfl_compiler::plan::plan(&checked.hir).expect("the query plans");
    let text = dfl_compiler::explain::explain(&checked.hir, &pipeline, dfl_compiler::explain::Format::Text);
    assert!(text.contains("state per Kafka partition"), "{text}");
    assert!(dfl_compiler::compile(&source, "ok").is_ok());
    // Stateless: runs as usual.
    let source = SourceFile::new("plain.sql", query("", "INSERT INTO o SELECT u, 1 FROM c;"));
    assert!(dfl_compiler::compile(&source, "plain").is_ok());
    // No key declared, or another key: repartitioned.
    for (i, text) in [query("", &by("u")), query(keyed, &by("cat"))].into_iter().enumerate() {
        let source = SourceFile::new(format!("repartitioned{i}.sql"), text);
        let checked = check(&source);
        let pipeline = dfl_compiler::plan::plan(&checked.hir).expect("the query plans");
        let text = dfl_compiler::explain::explain(&checked.hir, &pipeline, dfl_compiler::explain::Format::Text);
        let key = if i == 0 { "(`u`)" } else { "(`cat`)" };
        assert!(text.contains(&format!("repartitioned by {key} through the topic 'g-c-repartition'")), "{text}");
        let compiled = dfl_compiler::compile(&source, "repartitioned").expect("compiles");
        let code = &compiled.generated.main_rs;
        assert!(
            code.contains("shuffle::write(") && code.contains("shuffle::Shuffled::new("),
            "the writer and the instances"
        );
    }
    // Later steps keyed otherwise (the greatest count per window, q5's shape): in two
    // stages, the counts per partition (of the topic, or of the shuffle topic), the rest
    // per partition of a stage topic.
    let top = "INSERT INTO o SELECT x.u, x.n FROM (
          SELECT u, cat, window_start, window_end, COUNT(*) AS n
          FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY u, cat, window_start, window_end
        ) x JOIN (
          SELECT window_start, window_end, MAX(n) AS m FROM (
            SELECT u, cat, window_start, window_end, COUNT(*) AS n
            FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY u, cat, window_start, window_end
          ) AS w GROUP BY window_start, window_end
        ) y ON x.window_start = y.window_start AND x.window_end = y.window_end AND x.n >= y.m;";
    for (i, (key_fields, shuffled)) in [(keyed, false), ("", true)].into_iter().enumerate() {
        let source = SourceFile::new(format!("staged{i}.sql"), query(key_fields, top));
        let checked = check(&source);
        assert!(!checked.diagnostics.has_errors(), "{:?}", checked.diagnostics);
        let pipeline = dfl_compiler::plan::plan(&checked.hir).expect("the query plans");
        let text = dfl_compiler::explain::explain(&checked.hir, &pipeline, dfl_compiler::explain::Format::Text);
        assert!(text.contains("in two stages: per partition up to the window t0.b0.s0"), "{text}");
        assert!(text.contains("through the topic 'g-c-stage' (one partition)"), "{text}");
        assert_eq!(
            text.contains("repartitioned by (`u`, `cat`) through the topic 'g-c-repartition'"),
            shuffled,
            "{text}"
        );
        let compiled = dfl_compiler::compile(&source, "staged").expect("compiles");
        let code = &compiled.generated.main_rs;
        assert!(code.contains("staged::writer::<") && code.contains("staged::StageInput::new("), "both stages");
        assert!(code.contains(r#"expect_tasks(&["c", "c.merge"])"#), "the second stage is checkpointed");
    }
    let refused = [
        (query("", &by("u")).replace("'topic' = 'c'", "'topic' = 'c;d'"), "reads several topics or a 'topic-pattern'"),
        (
            query(keyed, top).replace("'topic' = 'c'", "'topic' = 'c;d'"),
            "a task run in two stages reads a table of one topic",
        ),
        (
            query(
                keyed,
                "INSERT INTO o SELECT 'all', COUNT(*) FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;",
            ),
            "its first aggregation has no key but the window",
        ),
    ];
    assert_refused(&refused);
}

/// `SET 'scale-out.mode' = 'partition'` with a join of two `kafka` tables: both are
/// repartitioned by the join key (the components both tables compute, through the group
/// columns of aggregations before the join) through one topic of the pipeline's own, and
/// `dflc explain` says so; a join whose rows cannot be split so fails to compile, saying why.
#[test]
fn a_join_of_two_kafka_tables_is_repartitioned_by_its_key() {
    let query = |views_with: &str, insert: &str| {
        format!(
            "SET 'scale-out.mode' = 'partition';
            CREATE TABLE c (u STRING, cat STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
              'connector' = 'kafka', 'topic' = 'c', 'properties.bootstrap.servers' = 'k:9092',
              'properties.group.id' = 'g', 'format' = 'json');
            CREATE TABLE v (u STRING, page STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
              {views_with});
            CREATE TABLE o (a STRING, b STRING, n BIGINT) WITH ('connector' = 'blackhole');
            {insert}"
        )
    };
    let kafka = "'connector' = 'kafka', 'topic' = 'v', 'properties.bootstrap.servers' = 'k:9092', \
                 'properties.group.id' = 'g', 'format' = 'json'";
    // Per user and window, counts of both joined: routed by the user through the counts.
    let windowed = |group: &str| {
        format!(
            "INSERT INTO o SELECT x.u, x.cat, x.n FROM (
               SELECT u, cat, window_start, window_end, COUNT(*) AS n
               FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY u, cat, window_start, window_end
             ) x JOIN (
               SELECT u, window_start, window_end, COUNT(*) AS n
               FROM TABLE(TUMBLE(TABLE v, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY u, window_start, window_end
             ) y ON {group} x.window_start = y.window_start AND x.window_end = y.window_end;"
        )
    };
    let interval = "INSERT INTO o SELECT c.u, v.page, 1 FROM c JOIN v
                    ON UPPER(c.u) = UPPER(v.u) AND v.ts BETWEEN c.ts - INTERVAL '5' SECOND AND c.ts;";
    for (i, (text, key)) in [
        (query(kafka, &windowed("x.u = y.u AND")), "`u` of `c`, `u` of `v`"),
        (query(kafka, interval), "UPPER($0) of `c`, UPPER($0) of `v`"),
        // Joined on the user and the category, counted per user: routed by the user.
        (
            query(
                kafka,
                "INSERT INTO o SELECT c.u, 'p', COUNT(*) FROM c JOIN v ON c.u = v.u AND c.cat = v.page
                 AND v.ts BETWEEN c.ts - INTERVAL '5' SECOND AND c.ts GROUP BY c.u;",
            ),
            "`u` of `c`, `u` of `v`",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let source = SourceFile::new(format!("joined{i}.sql"), text);
        let checked = check(&source);
        assert!(!checked.diagnostics.has_errors(), "{:?}", checked.diagnostics);
        let pipeline = dfl_compiler::plan::plan(&checked.hir).expect("the query plans");
        let text = dfl_compiler::explain::explain(&checked.hir, &pipeline, dfl_compiler::explain::Format::Text);
        let said =
            format!("repartitioned by ({key}) through the topic 'g-c_v-repartition' (rows that join meet there)");
        assert!(text.contains(&said), "{i}: {text}");
        let compiled = dfl_compiler::compile(&source, "joined").expect("compiles");
        let code = &compiled.generated.main_rs;
        assert!(code.contains("shuffle::pair_source::<") && code.contains("shuffle::run_pair("), "{i}: the instances");
        assert_eq!(code.matches("shuffle::write(").count(), 2, "{i}: a writer per table");
    }
    let files = "'connector' = 'filesystem', 'path' = 'v.json', 'format' = 'json'";
    let refused = [
        (
            query(files, &windowed("x.u = y.u AND")),
            "`v` is not a `kafka` or `upsert-kafka` table read in a consumer group",
        ),
        (
            query(&kafka.replace("'topic' = 'v'", "'topic' = 'c'"), interval),
            "both tables of the join read the topic 'c'",
        ),
        (query(kafka, &windowed("")), "its join has no equality key computed from the columns of both sides' tables"),
        (
            query(
                kafka,
                "INSERT INTO o SELECT v.page, 'p', COUNT(*) FROM c JOIN v ON c.u = v.u
                 AND v.ts BETWEEN c.ts - INTERVAL '5' SECOND AND c.ts GROUP BY v.page;",
            ),
            "a step after the join is keyed by fewer columns than the join key",
        ),
        (
            // The right side of a LEFT join is NULL on unmatched rows, which are everywhere.
            query(
                kafka,
                "INSERT INTO o SELECT v.u, 'p', COUNT(*) FROM c LEFT JOIN v ON c.u = v.u
                 AND v.ts BETWEEN c.ts - INTERVAL '5' SECOND AND c.ts GROUP BY v.u;",
            ),
            "a step after the join is keyed by fewer columns than the join key",
        ),
    ];
    assert_refused(&refused);
    // An INSERT sharing a table's window aggregation with the join (whichever comes first).
    let shared = |join_first: bool| {
        let join = "INSERT INTO o SELECT x.u, 'x', x.n FROM cc x JOIN (
               SELECT u, window_start, window_end, COUNT(*) AS n
               FROM TABLE(TUMBLE(TABLE v, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY u, window_start, window_end
             ) y ON x.u = y.u AND x.window_start = y.window_start AND x.window_end = y.window_end;";
        let totals = "INSERT INTO t SELECT window_start, SUM(n) FROM cc GROUP BY window_start, window_end;";
        let (first, second) = if join_first { (join, totals) } else { (totals, join) };
        query(
            kafka,
            &format!(
                "CREATE VIEW cc AS SELECT u, window_start, window_end, COUNT(*) AS n
                 FROM TABLE(TUMBLE(TABLE c, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY u, window_start, window_end;
                 CREATE TABLE t (w TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');
                 {first}\n{second}"
            ),
        )
    };
    assert_refused(&[
        (shared(true), "shares a window aggregation with a table's rows before the join"),
        (shared(false), "reach the join through a window aggregation another INSERT shares"),
    ]);
    // The left side of a LEFT join is kept whole: grouped by its key, accepted.
    let left = query(
        kafka,
        "INSERT INTO o SELECT c.u, 'p', COUNT(*) FROM c LEFT JOIN v ON c.u = v.u
         AND v.ts BETWEEN c.ts - INTERVAL '5' SECOND AND c.ts GROUP BY c.u;",
    );
    assert!(dfl_compiler::compile(&SourceFile::new("left.sql", left), "left").is_ok(), "grouped by the kept side");
    // A table read as a changelog: routed by its PRIMARY KEY (its deletions have no other
    // column), never by other columns.
    let upsert = |on: &str| {
        format!(
            "SET 'scale-out.mode' = 'partition';
            CREATE TABLE c (u STRING, cat STRING) WITH ('connector' = 'kafka', 'topic' = 'c',
              'properties.bootstrap.servers' = 'k:9092', 'properties.group.id' = 'g', 'format' = 'json');
            CREATE TABLE p (u STRING NOT NULL, name STRING, PRIMARY KEY (u) NOT ENFORCED) WITH (
              'connector' = 'upsert-kafka', 'topic' = 'p', 'properties.bootstrap.servers' = 'k:9092',
              'properties.group.id' = 'g', 'key.format' = 'json', 'value.format' = 'json');
            CREATE TABLE o (a STRING, b STRING, n BIGINT) WITH ('connector' = 'blackhole');
            INSERT INTO o SELECT c.u, p.name, 1 FROM c JOIN p ON {on};"
        )
    };
    let source = SourceFile::new("enriched.sql", upsert("c.u = p.u"));
    let compiled = dfl_compiler::compile(&source, "enriched").expect("compiles");
    let code = compiled.generated.main_rs.replace(char::is_whitespace, "");
    assert!(code.contains("(cx.table(\"p\")?,&COLUMNS_P,Some(&[\"u\"])"), "the profiles' writer reads a changelog");
    assert_refused(&[(
        upsert("c.cat = p.name"),
        "`p` is read as a changelog and the join key is not of its PRIMARY KEY",
    )]);
}

/// Each query of `refused` fails to compile with one error: its task cannot keep its state
/// per Kafka partition, for the reason given.
fn assert_refused(refused: &[(String, &str)]) {
    for (i, (text, why)) in refused.iter().enumerate() {
        let source = SourceFile::new(format!("refused{i}.sql"), text.clone());
        let errors = dfl_compiler::compile(&source, "refused").expect_err("refused");
        let rendered = render::to_text(&source, &errors.0, Style::Plain);
        let said = |d: &dfl_compiler::diagnostic::Diagnostic| {
            d.message.contains("cannot keep its state per Kafka partition") && d.message.contains(why)
        };
        assert!(errors.0.len() == 1 && said(&errors.0[0]), "{i}: {rendered}");
    }
}
