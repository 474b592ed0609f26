//! Queries inside Rust: `copy_users` is embedded with `dfl::pipeline!` and compiled with
//! this crate; `queries::clicks_per_category` comes from `queries/` and `queries::q14`
//! from `examples/nexmark/q14.sql` (its `count_char` this crate's) through the build
//! script. Each module's `main(args)` runs its pipeline, and the row
//! structs of its tables are public types (`copy_users::T_users`, …). The queries call
//! Rust functions of this crate (`udfs`).

pub mod udfs;

dfl::pipeline!(
    copy_users,
    r#"
    CREATE TABLE users (id BIGINT, name STRING)
    WITH ('connector' = 'filesystem', 'path' = 'users.json', 'format' = 'json');
    CREATE TABLE adults (id BIGINT, name STRING)
    WITH ('connector' = 'filesystem', 'path' = 'out/adults.json', 'format' = 'json');
    CREATE FUNCTION initials AS 'crate::udfs::initials';
    CREATE FUNCTION count_char AS 'crate::udfs::count_char' LANGUAGE RUST;
    INSERT INTO adults SELECT id, initials(name) || '/' || CAST(count_char(name, 'a') AS STRING)
    FROM users WHERE id >= 18;
    "#
);

// Clicks from the program, counts back to it (`'connector' = 'rust'`): see `count_clicks`.
dfl::pipeline!(
    click_counts,
    r#"
    CREATE TABLE clicks (user_id BIGINT, category STRING) WITH ('connector' = 'rust');
    CREATE TABLE counts (user_id BIGINT, clicks BIGINT) WITH ('connector' = 'rust');
    INSERT INTO counts SELECT user_id, COUNT(*) FROM clicks WHERE category <> 'ads' GROUP BY user_id;
    "#
);

/// Runs `click_counts` from this tokio program: feeds it `clicks` (user, category) over
/// a tokio channel, applies the changes it sends back, and returns the final count per
/// user once the run is over, with what the run did.
pub async fn count_clicks(
    clicks: Vec<(i64, String)>,
) -> dfl::Result<(std::collections::BTreeMap<i64, i64>, dfl::embedded::Summary)> {
    let (rows, input) = tokio::sync::mpsc::channel(64);
    let (output, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let running = click_counts::pipeline().feed_clicks(input).collect_counts(output).spawn()?;
    let feeder = tokio::spawn(async move {
        for (user, category) in clicks {
            let row = click_counts::T_clicks { user_id: Some(user), category: Some(dfl::types::Str::from(category)) };
            if rows.send(row).await.is_err() {
                break;
            }
        }
    });
    let mut counts = std::collections::BTreeMap::new();
    while let Some(change) = changes.recv().await {
        let (Some(user), Some(n)) = (change.row.user_id, change.row.clicks) else { continue };
        if change.kind.is_retraction() {
            counts.remove(&user);
        } else {
            counts.insert(user, n);
        }
    }
    let _ = feeder.await;
    let summary = running.finished().await?;
    Ok((counts, summary))
}

include!(concat!(env!("OUT_DIR"), "/queries.rs"));
