//! A pipeline fed and read by the program through its typed API: clicks in, counts per
//! user back as changes, applied to a map.
use dfl::changelog::Change;
use std::collections::BTreeMap;

dfl::pipeline!(
    click_counts,
    r#"
    CREATE TABLE clicks (user_id BIGINT, category STRING) WITH ('connector' = 'rust');
    CREATE TABLE counts (user_id BIGINT, clicks BIGINT, PRIMARY KEY (user_id) NOT ENFORCED)
    WITH ('connector' = 'rust');
    INSERT INTO counts SELECT user_id, COUNT(*) FROM clicks WHERE category <> 'ads' GROUP BY user_id;
    "#
);

fn main() {
    let clicks: Vec<click_counts::T_clicks> = (0..300i64)
        .map(|i| click_counts::T_clicks {
            user_id: Some(i % 4),
            category: Some(dfl::types::Str::from(["books", "ads", "games"][(i % 3) as usize])),
        })
        .collect();
    let mut expected = BTreeMap::new();
    for c in &clicks {
        if c.category.as_deref() != Some("ads") {
            *expected.entry(c.user_id.unwrap()).or_insert(0i64) += 1;
        }
    }
    let (tx, changes) = std::sync::mpsc::channel::<Change<click_counts::W_counts>>();
    let summary = click_counts::pipeline().feed_clicks(clicks).collect_counts(tx).run().expect("the pipeline runs");
    assert_eq!(summary.rows_read, 300);
    let mut counts = BTreeMap::new();
    for change in changes.try_iter() {
        let (user, n) = (change.row.user_id.unwrap(), change.row.clicks.unwrap());
        if change.kind.is_retraction() {
            assert_eq!(counts.remove(&user), Some(n));
        } else {
            counts.insert(user, n);
        }
    }
    assert_eq!(counts, expected);
}
