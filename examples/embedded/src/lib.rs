//! Queries inside Rust: `copy_users` is embedded with `dfl::pipeline!` and compiled with
//! this crate; `queries::clicks_per_category` and `queries::q14` come from `queries/`
//! through the build script. Each module's `main(args)` runs its pipeline, and the row
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

include!(concat!(env!("OUT_DIR"), "/queries.rs"));
