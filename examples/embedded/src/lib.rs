//! Queries inside Rust: `copy_users` is embedded with `dfl::pipeline!` and compiled with
//! this crate; `queries::clicks_per_category` comes from `queries/clicks_per_category.sql`
//! through the build script. Each module's `main(args)` runs its pipeline, and the row
//! structs of its tables are public types (`copy_users::T_users`, …).

dfl::pipeline!(
    copy_users,
    r#"
    CREATE TABLE users (id BIGINT, name STRING)
    WITH ('connector' = 'filesystem', 'path' = 'users.json', 'format' = 'json');
    CREATE TABLE adults (id BIGINT, name STRING)
    WITH ('connector' = 'filesystem', 'path' = 'out/adults.json', 'format' = 'json');
    INSERT INTO adults SELECT id, UPPER(name) FROM users WHERE id >= 18;
    "#
);

include!(concat!(env!("OUT_DIR"), "/queries.rs"));
