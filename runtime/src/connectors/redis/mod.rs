//! The `redis` connector (cargo feature `redis`): a sink that keeps an updating result in
//! Redis by key, and the table of lookup joins, on the `redis` crate's synchronous client.
//!
//! # Keys
//!
//! Every row lives under one Redis key built from the `key` template, e.g.
//! `'profile:{user_id}'`: each `{column}` placeholder is replaced by the text of that
//! column's value ([`KeyText`]: strings as they are, numbers as Rust prints them, booleans
//! `true`/`false`, dates, times and timestamps as the JSON format writes them,
//! `2024-01-31 12:00:00.5`). `{{` and `}}` stand for literal braces. Without `key`, the
//! template is `<table>:{pk1}:{pk2}…` over the PRIMARY KEY columns. A template without
//! placeholders is allowed: every row then has the same key (a single-row result, such as a
//! global aggregate). A column named twice is one key column. Key parts are not escaped:
//! with two placeholders next to free text (`{a}:{b}`), values that contain the separator
//! can make two rows share a key; choose separators that the values do not contain. A row
//! with a NULL in a key column has no key: the sink skips it (and counts it in
//! [`RedisStats::null_keys`]), as no lookup can find it (NULL equals nothing).
//!
//! # Values
//!
//! * `'data-type' = 'hash'` (default): one hash field per non-NULL column, named as the
//!   column, its value as text (the [`KeyText`] rules; ARRAY, MAP and ROW values as JSON).
//!   A NULL column is an absent field; a row whose columns are all NULL has no key at all.
//! * `'data-type' = 'string'` with `'value.format' = 'json'` (default): the key's string is a
//!   JSON object of all the columns (the runtime's JSON encoding; NULL is `null`).
//! * `'data-type' = 'string'` with `'value.format' = 'raw'`: the string is the text of the
//!   single column not in the key (the table must have exactly one); a NULL value removes
//!   the key (a string cannot be NULL).
//!
//! `ttl` sets an expiry on every key written (`PEXPIRE`, `SET … PX`); unset, keys do not
//! expire.
//!
//! # Sink ([`sink`])
//!
//! An updating result (keyed by the PRIMARY KEY) is applied as upserts: `+I` and `+U` store
//! the row under its key, `-D` deletes the key, and `-U` deletes it unless the next change is
//! the `+U` of the same key (then the `+U` replaces the row: see
//! [`UpsertFold`](crate::changelog::UpsertFold)). An append-only input stores each row.
//!
//! Writes are buffered and sent as one pipeline, in a `MULTI`/`EXEC` transaction: when
//! `sink.buffer-flush.max-rows` keys are buffered (default 100; `0` sends each row at once),
//! when the oldest buffered row has waited `sink.buffer-flush.interval` (default `1 s`;
//! checked whenever rows are written or the sink is flushed — there is no timer thread), and
//! at every [`flush`](crate::pipeline::Sink::flush), [`sync`](crate::pipeline::Sink::sync)
//! and checkpoint. Within a buffer only the last change of each key is sent. A hash is
//! replaced whole (`DEL`, `HSET`, `PEXPIRE` in the transaction), so a reader never sees a mix
//! of an old and a new row, nor a part of a batch.
//!
//! A failed pipeline (Redis unreachable, restarting, loading its data) is sent again, whole,
//! on a new connection, after 100 ms, then twice as long each time up to 5 s, at most
//! `sink.max-retries` times (default 10, about 26 s in all); then the sink fails with the table, the URL (without
//! password) and Redis's error. Errors that a retry cannot help (a wrong password, a command
//! Redis refuses) fail at once. The buffer is kept until a send succeeds.
//!
//! **Guarantee**: at least once. Every write is an idempotent upsert or delete of a whole
//! row by key, so writing a change again after a failure or a restart from a checkpoint
//! leaves the same final state: a checkpoint completes only after the sink has sent
//! everything before it, and replaying from it converges on the result of the input.
//! Readers may see a state older than the checkpoint's while the replay catches up.
//!
//! # Lookups ([`lookup`])
//!
//! [`RedisLookup::get_batch`] looks up a batch of keys in one pipelined round trip (`HGETALL`
//! for hashes — an empty hash is a missing key — or `GET`). Values are decoded into the row
//! type by column name: absent hash fields are NULL, text is parsed as the column's type.
//! `string`/`raw` rows take their key columns from the key looked up. A value that cannot be
//! read (a field that does not parse, a key of another Redis type) is an error naming the
//! table, the key and the column.
//!
//! Failed round trips are retried as the sink's are, up to `lookup.max-retries` times
//! (default 3); then `lookup.on-error` decides: `fail` (default) fails the job, `null` counts
//! the error and answers no row for the keys that were not cached (cached keys are still
//! answered). A value that cannot be read is `fail`ed or, with `null`, no row for that key.
//! `lookup.missing-key` (`null` or `skip`) is for the generated join to apply
//! ([`RedisTable::missing_key_skips`]).
//!
//! With `lookup.cache.max-rows`, up to that many keys' answers are cached (missing keys too),
//! the least recently used evicted first, each for at most `lookup.cache.ttl` after it was
//! read from Redis (unset: until evicted). Errors are not cached.
//!
//! # Connections
//!
//! `url` is `redis://[user[:password]@]host[:port][/database]`, or `rediss://…` for TLS
//! (OpenSSL; `rediss://…/#insecure` skips certificate checks). `tls` = `true` turns a
//! `redis://` URL into TLS. `database`, `username` and `password` override the URL's.
//! Connecting times out after 5 s and a reply after 10 s. Passwords never appear in error
//! messages.

mod client;
mod codec;
mod key;
mod lookup;
mod sink;
#[cfg(test)]
mod tests;

pub use client::{RedisStats, RedisStatsHandle};
pub use codec::KeyText;
pub use lookup::{LOOKUP_BATCH, RedisLookup, lookup};
pub use sink::{RedisSink, sink};

use crate::error::{Error, Result};
use crate::options::TableOptions;
use key::KeyTemplate;
use std::fmt;
use std::time::Duration;

/// How rows are stored (`data-type`, `value.format`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataType {
    /// `hash`: one field per non-NULL column.
    Hash,
    /// `string` + `json`: a JSON object of the columns.
    Json,
    /// `string` + `raw`: the text of the one non-key column.
    Raw {
        /// The column held by the value.
        value_column: String,
    },
}

/// What a lookup join does with a key that is not in Redis (`lookup.missing-key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingKey {
    /// Join NULLs (`null`, the default).
    Null,
    /// Drop the input row (`skip`).
    Skip,
}

/// What a lookup does when Redis still fails after its retries (`lookup.on-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Fail the job (`fail`, the default).
    Fail,
    /// Answer no row, and count the error (`null`).
    Null,
}

/// A `redis` table: its options, parsed and checked, and its key template. Build it once
/// and hand it to [`sink`] or [`lookup`].
#[derive(Clone)]
pub struct RedisTable {
    table: String,
    endpoint: client::Endpoint,
    key: KeyTemplate,
    columns: Vec<String>,
    data_type: DataType,
    ttl: Option<Duration>,
    buffer_rows: usize,
    buffer_interval: Duration,
    sink_retries: u32,
    cache_rows: Option<usize>,
    cache_ttl: Option<Duration>,
    lookup_retries: u32,
    missing_key: MissingKey,
    on_error: OnError,
}

impl fmt::Debug for RedisTable {
    /// Without the connection's secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTable")
            .field("table", &self.table)
            .field("url", &self.endpoint.shown)
            .field("key", &self.key)
            .field("data_type", &self.data_type)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Rows buffered by default before a sink sends them.
const DEFAULT_BUFFER_ROWS: u64 = 100;
/// Longest time a row waits in a sink's buffer by default.
const DEFAULT_BUFFER_INTERVAL: Duration = Duration::from_secs(1);
/// Retries of a failed pipeline by default (sinks and lookups).
const DEFAULT_RETRIES: u64 = 10;

impl RedisTable {
    /// Reads the options of a table of `columns` (its column names, in order) whose PRIMARY
    /// KEY is `primary_key` (may be empty when `key` is given). Fails, naming the table and
    /// option, on a missing or bad option, a key template naming an unknown column, or a
    /// `raw` value without exactly one non-key column.
    pub fn new(options: &TableOptions, columns: &[&str], primary_key: &[&str]) -> Result<Self> {
        let opts = options;
        if let Some(c) = primary_key.iter().find(|c| !columns.contains(c)) {
            return Err(opts.error("key", format!("PRIMARY KEY column `{c}` is not a column of the table")));
        }
        let key = match opts.get("key") {
            Some(template) => KeyTemplate::parse(template, columns).map_err(|e| opts.error("key", e))?,
            None if primary_key.is_empty() => {
                return Err(
                    opts.error("key", "is required when the table has no PRIMARY KEY (e.g. 'key' = 'prefix:{column}')")
                );
            }
            None => KeyTemplate::default_for(&opts.table, primary_key),
        };
        let endpoint = client::Endpoint::from_options(opts)?;
        let data_type = match opts.get("data-type").map(str::trim) {
            None => "hash".to_string(),
            Some(v) => v.to_ascii_lowercase(),
        };
        let value_format = opts.get("value.format").map(|v| v.trim().to_ascii_lowercase());
        let data_type = match (data_type.as_str(), value_format.as_deref()) {
            ("hash", None | Some("json")) => DataType::Hash,
            ("hash", Some(_)) => {
                return Err(opts
                    .error("value.format", "applies to 'data-type' = 'string' only (a hash has a field per column)"));
            }
            ("string", None | Some("json")) => DataType::Json,
            ("string", Some("raw")) => {
                let rest: Vec<&str> =
                    columns.iter().copied().filter(|c| !key.columns().iter().any(|k| k == c)).collect();
                match rest.as_slice() {
                    [one] => DataType::Raw { value_column: one.to_string() },
                    _ => {
                        return Err(opts.error(
                            "value.format",
                            format!(
                                "'raw' holds the one column that is not in the key, but the table has {} ({})",
                                rest.len(),
                                if rest.is_empty() { "none".to_string() } else { rest.join(", ") }
                            ),
                        ));
                    }
                }
            }
            ("string", Some(other)) => {
                return Err(opts.error("value.format", format!("'{other}' is not 'json' or 'raw'")));
            }
            (other, _) => return Err(opts.error("data-type", format!("'{other}' is not 'hash' or 'string'"))),
        };
        let ttl = match opts.duration_ms("ttl")? {
            Some(0) => {
                return Err(opts.error("ttl", "must be more than 0 (leave it unset for keys that do not expire)"));
            }
            other => other.map(Duration::from_millis),
        };
        let retries = |key: &str| -> Result<u32> {
            Ok(u32::try_from(opts.u64(key)?.unwrap_or(DEFAULT_RETRIES)).unwrap_or(u32::MAX))
        };
        let cache_rows = match opts.u64("lookup.cache.max-rows")? {
            Some(0) | None => None,
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        };
        let cache_ttl = opts.duration_ms("lookup.cache.ttl")?.map(Duration::from_millis);
        if cache_ttl.is_some() && cache_rows.is_none() {
            return Err(opts.error("lookup.cache.ttl", "needs 'lookup.cache.max-rows' (without it nothing is cached)"));
        }
        let missing_key = match opts.get("lookup.missing-key").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("null") => MissingKey::Null,
            Some("skip") => MissingKey::Skip,
            Some(other) => return Err(opts.error("lookup.missing-key", format!("'{other}' is not 'null' or 'skip'"))),
        };
        let on_error = match opts.get("lookup.on-error").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("fail") => OnError::Fail,
            Some("null") => OnError::Null,
            Some(other) => return Err(opts.error("lookup.on-error", format!("'{other}' is not 'fail' or 'null'"))),
        };
        Ok(RedisTable {
            table: opts.table.clone(),
            endpoint,
            key,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            data_type,
            ttl,
            buffer_rows: usize::try_from(opts.u64("sink.buffer-flush.max-rows")?.unwrap_or(DEFAULT_BUFFER_ROWS))
                .unwrap_or(usize::MAX)
                .max(1),
            buffer_interval: opts
                .duration_ms("sink.buffer-flush.interval")?
                .map_or(DEFAULT_BUFFER_INTERVAL, Duration::from_millis),
            sink_retries: retries("sink.max-retries")?,
            cache_rows,
            cache_ttl,
            lookup_retries: retries("lookup.max-retries")?,
            missing_key,
            on_error,
        })
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The URL of the server, without password.
    pub fn url(&self) -> &str {
        &self.endpoint.shown
    }

    /// The columns the key template names, in template order (each once).
    pub fn key_columns(&self) -> &[String] {
        self.key.columns()
    }

    /// How rows are stored.
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// `lookup.missing-key`.
    pub fn missing_key(&self) -> MissingKey {
        self.missing_key
    }

    /// Whether a lookup join drops input rows whose key is not in Redis
    /// (`lookup.missing-key` = `skip`) rather than join NULLs.
    pub fn missing_key_skips(&self) -> bool {
        self.missing_key == MissingKey::Skip
    }

    /// `lookup.on-error`.
    pub fn on_error(&self) -> OnError {
        self.on_error
    }

    /// The Redis key of a row whose key columns ([`key_columns`](Self::key_columns)) have
    /// the texts `parts` (see [`KeyText`]).
    pub fn key_of(&self, parts: &[impl AsRef<str>]) -> String {
        self.key.render(parts)
    }
}

/// An error of the connection or of a lookup, naming the table (secrets left out).
fn redis_error(table: &str, message: impl fmt::Display) -> Error {
    Error::Config(format!("table `{table}`: Redis: {message}"))
}

#[cfg(test)]
mod option_tests {
    use super::*;

    fn table(pairs: &[(&str, &str)], pk: &[&str]) -> Result<RedisTable> {
        let mut all = vec![("url", "redis://127.0.0.1:6379")];
        all.extend_from_slice(pairs);
        RedisTable::new(&TableOptions::new("users", &all), &["id", "region", "name"], pk)
    }

    fn error(pairs: &[(&str, &str)], pk: &[&str]) -> String {
        table(pairs, pk).expect_err("an error").to_string()
    }

    #[test]
    fn defaults() {
        let t = table(&[], &["region", "id"]).unwrap();
        assert_eq!(t.key_columns(), ["region", "id"]);
        assert_eq!(t.key_of(&["eu", "1"]), "users:eu:1");
        assert_eq!(t.data_type(), &DataType::Hash);
        assert_eq!((t.ttl, t.buffer_rows, t.buffer_interval), (None, 100, Duration::from_secs(1)));
        assert_eq!((t.sink_retries, t.lookup_retries, t.cache_rows, t.cache_ttl), (10, 10, None, None));
        assert_eq!((t.missing_key(), t.missing_key_skips(), t.on_error()), (MissingKey::Null, false, OnError::Fail));
        assert_eq!(t.url(), "redis://127.0.0.1:6379");
    }

    #[test]
    fn options_are_read() {
        let e = error(
            &[
                ("key", "u:{name}"),
                ("data-type", "string"),
                ("value.format", "raw"),
                ("ttl", "10 min"),
                ("sink.buffer-flush.max-rows", "0"),
                ("sink.buffer-flush.interval", "250 ms"),
                ("sink.max-retries", "10"),
                ("lookup.cache.max-rows", "1000"),
                ("lookup.cache.ttl", "1 min"),
                ("lookup.max-retries", "0"),
                ("lookup.missing-key", "skip"),
                ("lookup.on-error", "null"),
            ],
            &[],
        );
        // Raw needs exactly one column outside the key: here two.
        assert_eq!(
            e,
            "table `users`: option 'value.format': 'raw' holds the one column that is not in the key, but the \
             table has 2 (id, region)"
        );
        let t = table(
            &[
                ("key", "u:{name}:{id}"),
                ("data-type", "string"),
                ("value.format", "raw"),
                ("ttl", "10 min"),
                ("sink.buffer-flush.max-rows", "0"),
                ("sink.buffer-flush.interval", "250 ms"),
                ("sink.max-retries", "10"),
                ("lookup.cache.max-rows", "1000"),
                ("lookup.cache.ttl", "1 min"),
                ("lookup.max-retries", "0"),
                ("lookup.missing-key", "skip"),
                ("lookup.on-error", "null"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(t.data_type(), &DataType::Raw { value_column: "region".into() });
        assert_eq!(t.key_columns(), ["name", "id"]);
        assert_eq!(
            (t.ttl, t.buffer_rows, t.buffer_interval),
            (Some(Duration::from_secs(600)), 1, Duration::from_millis(250))
        );
        assert_eq!((t.sink_retries, t.lookup_retries), (10, 0));
        assert_eq!((t.cache_rows, t.cache_ttl), (Some(1000), Some(Duration::from_secs(60))));
        assert!(t.missing_key_skips());
        assert_eq!(t.on_error(), OnError::Null);
        let t = table(&[("data-type", "string")], &["id"]).unwrap();
        assert_eq!(t.data_type(), &DataType::Json);
    }

    #[test]
    fn bad_options_name_table_and_option() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
        let cases: &[Case<'_>] = &[
            (&[], &[], "option 'key': is required when the table has no PRIMARY KEY"),
            (&[("key", "{nope}")], &[], "option 'key': '{nope}': `nope` is not a column"),
            (&[], &["nope"], "option 'key': PRIMARY KEY column `nope` is not a column of the table"),
            (&[("data-type", "list")], &["id"], "option 'data-type': 'list' is not 'hash' or 'string'"),
            (&[("value.format", "raw")], &["id"], "option 'value.format': applies to 'data-type' = 'string' only"),
            (&[("data-type", "string"), ("value.format", "csv")], &["id"], "option 'value.format': 'csv' is not"),
            (&[("ttl", "0 s")], &["id"], "option 'ttl': must be more than 0"),
            (&[("ttl", "soon")], &["id"], "option 'ttl': 'soon' is not a duration"),
            (&[("lookup.cache.ttl", "1 s")], &["id"], "option 'lookup.cache.ttl': needs 'lookup.cache.max-rows'"),
            (&[("lookup.missing-key", "drop")], &["id"], "option 'lookup.missing-key': 'drop' is not"),
            (&[("lookup.on-error", "retry")], &["id"], "option 'lookup.on-error': 'retry' is not"),
            (&[("sink.max-retries", "-1")], &["id"], "option 'sink.max-retries': '-1' is not a whole number"),
        ];
        for (pairs, pk, expected) in cases {
            let e = error(pairs, pk);
            assert!(e.starts_with(&format!("table `users`: {expected}")), "{pairs:?}: {e}");
        }
    }
}
