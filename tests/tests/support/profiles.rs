//! User profiles written to an `upsert-kafka` topic by the tests (`mod profiles;` of the
//! Kafka test files): upserts and deletions by user id.

/// A profile as the tests write it (the `upsert-kafka` tables' columns).
#[derive(Debug, Clone, serde::Serialize)]
struct Profile {
    user_id: Option<i64>,
    name: Option<String>,
    score: Option<f64>,
}

static PROFILE_COLUMNS: [dfl::connectors::format::Column; 3] = {
    use dfl::connectors::format::{Column, ColumnType};
    [
        Column { name: "user_id", ty: ColumnType::BigInt, nullable: false },
        Column { name: "name", ty: ColumnType::Varchar(u32::MAX >> 1), nullable: true },
        Column { name: "score", ty: ColumnType::Double, nullable: true },
    ]
};

/// Writes each (key, new profile or deletion) to the upsert topic, in order.
pub fn write_profiles(servers: &str, topic: &str, ops: &[(i64, Option<(String, f64)>)]) {
    use dfl::pipeline::Sink;
    let opts = dfl::options::TableOptions::new(
        "profiles",
        &[
            ("connector", "upsert-kafka"),
            ("topic", topic),
            ("properties.bootstrap.servers", servers),
            ("key.format", "json"),
            ("value.format", "json"),
        ],
    );
    let mut sink = dfl::connectors::kafka::upsert_sink::<Profile>(&opts, &PROFILE_COLUMNS, &["user_id"]).unwrap();
    for (key, op) in ops {
        match op {
            Some((name, score)) => {
                let row = Profile { user_id: Some(*key), name: Some(name.clone()), score: Some(*score) };
                sink.write_batch(&mut vec![row]).unwrap();
            }
            None => sink.delete(&Profile { user_id: Some(*key), name: None, score: None }).unwrap(),
        }
    }
    Sink::<Profile>::flush(&mut sink).unwrap();
}

/// Profiles of users 0 … 29 written, some renamed, some deleted, and one of user 99; with
/// the latest name of each user left.
#[allow(clippy::type_complexity)]
pub fn changing_profiles() -> (Vec<(i64, Option<(String, f64)>)>, std::collections::BTreeMap<i64, String>) {
    let mut ops: Vec<(i64, Option<(String, f64)>)> = Vec::new();
    for u in 0..30 {
        ops.push((u, Some((format!("user{u}"), u as f64))));
    }
    for u in (0..30).step_by(3) {
        ops.push((u, Some((format!("renamed{u}"), 1.0))));
    }
    for u in (0..30).step_by(7) {
        ops.push((u, None));
    }
    ops.push((99, Some(("nobody".into(), 0.0))));
    let mut latest = std::collections::BTreeMap::new();
    for (key, op) in &ops {
        match op {
            Some((name, _)) => latest.insert(*key, name.clone()),
            None => latest.remove(key),
        };
    }
    (ops, latest)
}
