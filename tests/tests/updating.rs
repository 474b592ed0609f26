//! Queries whose results update, run end to end and printed as changes (`+I[…]`, `-U[…]`,
//! `+U[…]`, `-D[…]`): the changelog, applied to a table, must be consistent (a row retracted
//! was there) and leave exactly the expected result. Outer regular joins emit rows with
//! NULLs for the missing side and retract them when a match arrives. Updating results feed
//! further operators: a GROUP BY over another or over an outer join (retracting), a Top-N
//! over a GROUP BY, a join with a GROUP BY's result.

use dfl_e2e::{Built, Query, build};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Impressions LEFT / FULL joined with the clicks on them.
const JOINS: &str = "
CREATE TABLE events (kind STRING, ad_id BIGINT, user_id STRING)
WITH ('connector' = 'filesystem', 'path' = 'events.json', 'format' = 'json');
CREATE VIEW impressions AS SELECT ad_id, user_id FROM events WHERE kind = 'imp';
CREATE VIEW clicks AS SELECT ad_id, user_id FROM events WHERE kind = 'click';
CREATE TABLE joined (imp_ad BIGINT, imp_user STRING, click_ad BIGINT, click_user STRING) WITH ('connector' = 'print');
INSERT INTO joined
SELECT i.ad_id, i.user_id, c.ad_id, c.user_id
FROM impressions AS i LEFT JOIN clicks AS c ON i.ad_id = c.ad_id AND i.user_id = c.user_id;
";

/// Operators over updating results, each written to `out`.
const CHAINS: &[(&str, &str)] = &[
    (
        "histogram",
        "CREATE TABLE out (clicks BIGINT, users BIGINT) WITH ('connector' = 'print');
         INSERT INTO out SELECT clicks, COUNT(*) FROM
           (SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id) GROUP BY clicks;",
    ),
    (
        "counts_over_left_join",
        "CREATE TABLE out (imp_user STRING, clicked BIGINT, n BIGINT, top_ad BIGINT) WITH ('connector' = 'print');
         INSERT INTO out SELECT i.user_id, COUNT(c.ad_id), COUNT(*), MAX(i.ad_id)
         FROM impressions AS i LEFT JOIN clicks AS c ON i.ad_id = c.ad_id AND i.user_id = c.user_id
         GROUP BY i.user_id;",
    ),
    (
        "top_user",
        "CREATE TABLE out (user_id STRING, clicks BIGINT) WITH ('connector' = 'print');
         INSERT INTO out SELECT user_id, clicks FROM (
           SELECT *, ROW_NUMBER() OVER (ORDER BY clicks DESC) AS rn
           FROM (SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id))
         WHERE rn <= 1;",
    ),
    (
        "join_with_counts",
        "CREATE TABLE out (ad_id BIGINT, user_id STRING, clicks BIGINT) WITH ('connector' = 'print');
         INSERT INTO out SELECT i.ad_id, i.user_id, c.clicks
         FROM impressions AS i
         JOIN (SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id) AS c ON i.user_id = c.user_id;",
    ),
];

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let full = JOINS.replace("LEFT JOIN", "FULL JOIN");
        let right = JOINS.replace("LEFT JOIN", "RIGHT JOIN");
        // The events and views of JOINS, without its sink and INSERT.
        let views = &JOINS[..JOINS.find("CREATE TABLE joined").unwrap_or(JOINS.len())];
        let chains = CHAINS.iter().map(|(name, text)| (*name, format!("{views}{text}")));
        let queries = [("left_join", JOINS.to_string()), ("full_join", full), ("right_join", right)]
            .into_iter()
            .chain(chains)
            .map(|(name, text)| Query {
                name: name.to_string(),
                file: format!("tests/tests/updating.rs ({name})"),
                text,
                must_compile: true,
            })
            .collect();
        build("updating", queries, |_, _| {})
    })
}

/// Applies printed changes: the rows left, with their multiplicity; every retraction must
/// find its row.
fn apply(stdout: &str) -> BTreeMap<String, i64> {
    let mut table: BTreeMap<String, i64> = BTreeMap::new();
    for line in stdout.lines().filter(|l| !l.is_empty()) {
        let (kind, row) = line.split_at(2);
        let n = table.entry(row.to_string()).or_default();
        match kind {
            "+I" | "+U" => *n += 1,
            "-U" | "-D" => {
                *n -= 1;
                assert!(*n >= 0, "retraction of a row not there: {line}");
            }
            other => panic!("change kind {other}: {line}"),
        }
    }
    table.retain(|_, n| *n > 0);
    table
}

const EVENTS: &str = r#"{"kind": "imp", "ad_id": 1, "user_id": "u1"}
{"kind": "imp", "ad_id": 2, "user_id": "u1"}
{"kind": "click", "ad_id": 1, "user_id": "u1"}
{"kind": "click", "ad_id": 3, "user_id": "u2"}
{"kind": "imp", "ad_id": 3, "user_id": "u2"}
{"kind": "click", "ad_id": 1, "user_id": "u1"}
{"kind": "imp", "ad_id": null, "user_id": "u3"}
{"kind": "click", "ad_id": 9, "user_id": "u9"}
"#;

fn run(module: &str) -> BTreeMap<String, i64> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.json");
    std::fs::write(&input, EVENTS).unwrap();
    let r = built().run(module, &[("events.path".to_string(), input.display().to_string())]);
    assert!(r.success, "{module}: {}", r.stderr);
    apply(&r.stdout)
}

fn rows(expected: &[(&str, i64)]) -> BTreeMap<String, i64> {
    expected.iter().map(|(r, n)| (r.to_string(), *n)).collect()
}

#[test]
fn a_left_join_retracts_the_null_padded_row_when_its_match_arrives() {
    assert_eq!(
        run("left_join"),
        rows(&[
            // Impression 1 matched by two clicks: two rows; its NULL-padded row retracted.
            ("[1, u1, 1, u1]", 2),
            ("[2, u1, null, null]", 1),
            // The click came first: the impression joins it at once.
            ("[3, u2, 3, u2]", 1),
            // A NULL key matches nothing.
            ("[null, u3, null, null]", 1),
        ])
    );
}

#[test]
fn right_and_full_joins_keep_unmatched_rows_of_their_outer_sides() {
    assert_eq!(run("right_join"), rows(&[("[1, u1, 1, u1]", 2), ("[3, u2, 3, u2]", 1), ("[null, null, 9, u9]", 1)]));
    assert_eq!(
        run("full_join"),
        rows(&[
            ("[1, u1, 1, u1]", 2),
            ("[2, u1, null, null]", 1),
            ("[3, u2, 3, u2]", 1),
            ("[null, u3, null, null]", 1),
            ("[null, null, 9, u9]", 1),
        ])
    );
}

#[test]
fn a_group_by_over_a_group_by_moves_users_between_counts() {
    // Clicks per user: u1 2, u2 1, u9 1; u1's second click moves it from 1 to 2.
    assert_eq!(run("histogram"), rows(&[("[1, 2]", 1), ("[2, 1]", 1)]));
}

#[test]
fn a_group_by_over_a_left_join_retracts_the_null_padded_rows() {
    // u1: impressions 1 (clicked twice) and 2 (not clicked): 3 rows, 2 clicks.
    assert_eq!(
        run("counts_over_left_join"),
        rows(&[("[u1, 2, 3, 2]", 1), ("[u2, 1, 1, 3]", 1), ("[u3, 0, 1, null]", 1)])
    );
}

#[test]
fn a_top_n_over_a_group_by_follows_its_updates() {
    assert_eq!(run("top_user"), rows(&[("[u1, 2]", 1)]));
}

#[test]
fn a_join_with_a_group_by_result_updates_the_joined_rows() {
    // u1's count changes from 1 to 2 after its impressions joined it: their rows follow.
    assert_eq!(run("join_with_counts"), rows(&[("[1, u1, 2]", 1), ("[2, u1, 2]", 1), ("[3, u2, 1]", 1)]));
}
