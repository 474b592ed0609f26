//! Looking rows up in Redis by key, for lookup joins. See the [module documentation](super).

use super::client::{Client, Counters};
use super::codec::RowDe;
use super::{DataType, OnError, RedisStats, RedisStatsHandle, RedisTable, redis_error};
use crate::connectors::format::{Decoder, Format, JsonOptions};
use crate::error::{Error, Result};
use redis::Value;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Rows a lookup join queues before fetching their keys in one round trip (generated code
/// also fetches a shorter queue whenever its source is not emitting rows).
pub const LOOKUP_BATCH: usize = 512;

/// The table of a lookup join, read from Redis into rows `V`; see [`lookup`].
pub struct RedisLookup<V> {
    table: RedisTable,
    client: Client,
    cache: Option<Cache<V>>,
    /// `string` + `json`: the row's JSON decoder.
    json: Option<Decoder<V>>,
}

/// The lookups of a `redis` table (see the [module documentation](super)). With
/// `lookup.on-error` = `fail` it connects first (with the lookup's retries) and fails if
/// Redis cannot be reached; with `null` it connects when first needed.
pub fn lookup<V: DeserializeOwned>(table: RedisTable) -> Result<RedisLookup<V>> {
    let mut lookup = unconnected(table)?;
    // Made by the task that joins (no context at hand): its counters go to that run's metrics.
    if let Some(metrics) = crate::metrics::current_registry() {
        metrics.add_redis(&lookup.table.table, "lookup", lookup.stats_handle());
    }
    if lookup.table.on_error == OnError::Fail {
        lookup
            .client
            .check()
            .map_err(|f| redis_error(&lookup.table.table, lookup.client.describe("cannot connect", &f)))?;
    }
    Ok(lookup)
}

fn unconnected<V: DeserializeOwned>(table: RedisTable) -> Result<RedisLookup<V>> {
    let client = Client::new(&table, table.lookup_retries)?;
    let cache = table.cache_rows.map(|rows| Cache::new(rows, table.cache_ttl));
    let json = (table.data_type == DataType::Json).then(|| Decoder::new(&Format::Json(JsonOptions::default())));
    Ok(RedisLookup { table, client, cache, json })
}

impl<V> RedisLookup<V> {
    /// The table looked up.
    pub fn table(&self) -> &RedisTable {
        &self.table
    }

    /// Whether the join drops input rows whose key is missing (`lookup.missing-key` =
    /// `skip`).
    pub fn missing_key_skips(&self) -> bool {
        self.table.missing_key_skips()
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisStats {
        self.stats_handle().get()
    }

    /// A handle on the counters.
    pub fn stats_handle(&self) -> RedisStatsHandle {
        RedisStatsHandle(self.client.stats.clone())
    }
}

impl<V: DeserializeOwned + Clone> RedisLookup<V> {
    /// The rows of a batch of keys, in order: `keys[i]` holds the texts ([`KeyText`]) of
    /// the values of [`RedisTable::key_columns`] for key `i`, `None` where the key has a NULL
    /// (no match, and no request). A missing key has no row. Keys not cached are read in one
    /// pipelined round trip, retried as configured; if that still fails, the lookup fails
    /// (`lookup.on-error` = `fail`) or answers no row for them (`null`; counted in
    /// [`RedisStats::errors`]). A value that cannot be read fails the lookup, or with `null`
    /// is no row (counted in [`RedisStats::bad_values`]).
    ///
    /// [`KeyText`]: super::KeyText
    pub fn get_batch(&mut self, keys: &[Option<Vec<String>>]) -> Result<Vec<Option<V>>> {
        self.get_batch_at(keys, Instant::now())
    }

    /// The row of one key ([`get_batch`](Self::get_batch) of one).
    pub fn get(&mut self, key: &[String]) -> Result<Option<V>> {
        Ok(self.get_batch(&[Some(key.to_vec())])?.pop().flatten())
    }

    fn get_batch_at(&mut self, keys: &[Option<Vec<String>>], now: Instant) -> Result<Vec<Option<V>>> {
        let mut out: Vec<Option<V>> = keys.iter().map(|_| None).collect();
        // Keys to read: the Redis key and the positions in `keys` that want it.
        let mut misses: Vec<(String, Vec<usize>)> = Vec::new();
        let mut miss_index: HashMap<String, usize> = HashMap::new();
        let stats = self.client.stats.clone();
        for (i, parts) in keys.iter().enumerate() {
            let Some(parts) = parts else { continue };
            if parts.len() != self.table.key_columns().len() {
                return Err(Error::Config(format!(
                    "internal error: table `{}`: a lookup key has {} parts but the key template names {} columns",
                    self.table.table,
                    parts.len(),
                    self.table.key_columns().len()
                )));
            }
            Counters::add(&stats.lookups, 1);
            let key = self.table.key.render(parts);
            if let Some(hit) = self.cache.as_mut().and_then(|c| c.get(&key, now)) {
                out[i] = hit.clone();
                Counters::add(&stats.cache_hits, 1);
                continue;
            }
            match miss_index.get(&key) {
                Some(&m) => misses[m].1.push(i),
                None => {
                    miss_index.insert(key.clone(), misses.len());
                    misses.push((key, vec![i]));
                }
            }
        }
        if misses.is_empty() {
            return Ok(out);
        }
        let command = if self.table.data_type == DataType::Hash { "HGETALL" } else { "GET" };
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for (key, _) in &misses {
            pipe.cmd(command).arg(key);
        }
        let replies = match self.client.run(|c| pipe.query::<Value>(c)) {
            Ok(Value::Array(replies)) if replies.len() == misses.len() => replies,
            Ok(other) => {
                return Err(redis_error(&self.table.table, format!("unexpected reply to {command}: {other:?}")));
            }
            Err(f) => {
                return match self.table.on_error {
                    OnError::Fail => Err(redis_error(&self.table.table, self.client.describe("lookup", &f))),
                    OnError::Null => Ok(out),
                };
            }
        };
        for ((key, wanted), reply) in misses.into_iter().zip(replies) {
            let parts = keys[wanted[0]].as_deref().unwrap_or_default();
            match self.decode(&key, parts, reply) {
                Ok(row) => {
                    for &i in &wanted {
                        out[i] = row.clone();
                    }
                    if let Some(cache) = &mut self.cache {
                        cache.put(key, row, now);
                    }
                }
                Err(message) => {
                    Counters::add(&stats.bad_values, 1);
                    if self.table.on_error == OnError::Fail {
                        return Err(redis_error(&self.table.table, format!("key '{key}': {message}")));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The row in `reply` to a read of `key` (whose key columns have the texts `parts`).
    fn decode(&mut self, key: &str, parts: &[String], reply: Value) -> Result<Option<V>, String> {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| "the value is not UTF-8 text".to_string());
        match (reply, &self.table.data_type) {
            (Value::ServerError(e), _) => Err(e.to_string()),
            (Value::Nil, _) => Ok(None),
            (Value::Array(items), DataType::Hash) => {
                let mut texts = Vec::with_capacity(items.len());
                for item in items {
                    texts.push(match item {
                        Value::BulkString(b) => text(b)?,
                        Value::SimpleString(s) => s,
                        other => return Err(format!("unexpected field in a hash: {other:?}")),
                    });
                }
                let entries: Vec<(&str, &str)> =
                    texts.chunks_exact(2).map(|pair| (pair[0].as_str(), pair[1].as_str())).collect();
                self.row_of(&entries)
            }
            (Value::Map(pairs), DataType::Hash) => {
                let mut texts = Vec::with_capacity(pairs.len());
                for pair in pairs {
                    texts.push(match pair {
                        (Value::BulkString(k), Value::BulkString(v)) => (text(k)?, text(v)?),
                        other => return Err(format!("unexpected field in a hash: {other:?}")),
                    });
                }
                let entries: Vec<(&str, &str)> = texts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                self.row_of(&entries)
            }
            (Value::BulkString(bytes), DataType::Json) => match &mut self.json {
                Some(decoder) => decoder.decode(&bytes).map(Some),
                None => Err("no JSON decoder".into()),
            },
            (Value::BulkString(bytes), DataType::Raw { value_column }) => {
                let value = text(bytes)?;
                let mut entries: Vec<(&str, &str)> =
                    self.table.key_columns().iter().map(String::as_str).zip(parts.iter().map(String::as_str)).collect();
                entries.push((value_column.as_str(), value.as_str()));
                self.row_of(&entries)
            }
            (other, _) => Err(format!("unexpected reply (is '{key}' of another Redis type?): {other:?}")),
        }
    }

    /// A row from its columns' texts; `None` for none (an empty hash).
    fn row_of(&self, entries: &[(&str, &str)]) -> Result<Option<V>, String> {
        if entries.is_empty() {
            return Ok(None);
        }
        V::deserialize(RowDe { entries }).map(Some).map_err(|e| e.to_string())
    }
}

// ------------------------------------------------------------------------------------------
// The cache
// ------------------------------------------------------------------------------------------

/// Answers by Redis key, at most `max_rows`, the least recently used evicted first, each
/// for at most `ttl` after it was read.
struct Cache<V> {
    max_rows: usize,
    ttl: Option<Duration>,
    entries: HashMap<String, Entry<V>>,
    /// Keys by last use.
    by_use: BTreeMap<u64, String>,
    clock: u64,
}

struct Entry<V> {
    row: Option<V>,
    read_at: Instant,
    used: u64,
}

impl<V> Cache<V> {
    fn new(max_rows: usize, ttl: Option<Duration>) -> Self {
        Cache { max_rows: max_rows.max(1), ttl, entries: HashMap::new(), by_use: BTreeMap::new(), clock: 0 }
    }

    /// The answer cached for `key` (`Some(None)`: a missing key), unless it expired.
    fn get(&mut self, key: &str, now: Instant) -> Option<&Option<V>> {
        let entry = self.entries.get(key)?;
        if self.ttl.is_some_and(|ttl| now.saturating_duration_since(entry.read_at) >= ttl) {
            self.by_use.remove(&entry.used);
            self.entries.remove(key);
            return None;
        }
        self.clock += 1;
        let entry = self.entries.get_mut(key)?;
        if let Some(k) = self.by_use.remove(&entry.used) {
            self.by_use.insert(self.clock, k);
        }
        entry.used = self.clock;
        Some(&entry.row)
    }

    fn put(&mut self, key: String, row: Option<V>, now: Instant) {
        self.clock += 1;
        if let Some(entry) = self.entries.get_mut(&key) {
            self.by_use.remove(&entry.used);
            *entry = Entry { row, read_at: now, used: self.clock };
            self.by_use.insert(self.clock, key);
            return;
        }
        while self.entries.len() >= self.max_rows {
            let Some((_, oldest)) = self.by_use.pop_first() else { break };
            self.entries.remove(&oldest);
        }
        self.entries.insert(key.clone(), Entry { row, read_at: now, used: self.clock });
        self.by_use.insert(self.clock, key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::TableOptions;

    #[test]
    fn the_cache_evicts_the_least_recently_used() {
        let t0 = Instant::now();
        let mut cache = Cache::new(2, None);
        cache.put("a".into(), Some(1), t0);
        cache.put("b".into(), None, t0);
        assert_eq!(cache.get("a", t0), Some(&Some(1)));
        // "b" is now the least recently used.
        cache.put("c".into(), Some(3), t0);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("b", t0), None);
        assert_eq!(cache.get("a", t0), Some(&Some(1)));
        assert_eq!(cache.get("c", t0), Some(&Some(3)));
        // Putting a cached key again replaces it without evicting.
        cache.put("a".into(), Some(10), t0);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a", t0), Some(&Some(10)));
        assert_eq!(cache.get("c", t0), Some(&Some(3)));
        assert_eq!(cache.entries.len(), cache.by_use.len());
    }

    #[test]
    fn cached_answers_expire() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        let mut cache = Cache::new(10, Some(ttl));
        cache.put("a".into(), Some(1), t0);
        cache.put("missing".into(), None, t0 + Duration::from_secs(5));
        // Using an answer does not extend its life.
        assert_eq!(cache.get("a", t0 + Duration::from_secs(9)), Some(&Some(1)));
        assert_eq!(cache.get("a", t0 + ttl), None);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("missing", t0 + Duration::from_secs(14)), Some(&None));
        assert_eq!(cache.get("missing", t0 + Duration::from_secs(15)), None);
        assert_eq!(cache.len(), 0);
        assert!(cache.by_use.is_empty());
        // Read again, it lives again.
        cache.put("a".into(), Some(2), t0 + ttl);
        assert_eq!(cache.get("a", t0 + ttl + Duration::from_secs(1)), Some(&Some(2)));
    }

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Row {
        #[serde(default)]
        id: Option<i64>,
    }

    fn unreachable(extra: &[(&str, &str)]) -> RedisLookup<Row> {
        let mut pairs = vec![("url", "redis://:s3cret@127.0.0.1:1"), ("lookup.max-retries", "1")];
        pairs.extend_from_slice(extra);
        let table = RedisTable::new(&TableOptions::new("dim", &pairs), &["id"], &["id"]).unwrap();
        unconnected(table).unwrap()
    }

    #[test]
    fn errors_fail_the_lookup_or_answer_no_row() {
        let keys = [Some(vec!["1".to_string()]), None];
        let mut lookup = unreachable(&[]);
        let e = lookup.get_batch(&keys).unwrap_err().to_string();
        assert!(e.starts_with("table `dim`: Redis: lookup at redis://127.0.0.1:1: "), "{e}");
        assert!(e.ends_with("(after 1 retry)") && !e.contains("s3cret"), "{e}");
        let s = lookup.stats();
        assert_eq!((s.lookups, s.round_trips, s.retries, s.errors), (1, 2, 1, 1));

        let mut lookup = unreachable(&[("lookup.on-error", "null"), ("lookup.cache.max-rows", "10")]);
        // A cached answer is still given; the others are no row.
        lookup.cache.as_mut().unwrap().put("dim:2".into(), Some(Row { id: Some(2) }), Instant::now());
        let keys = [Some(vec!["1".to_string()]), Some(vec!["2".to_string()]), None];
        assert_eq!(lookup.get_batch(&keys).unwrap(), [None, Some(Row { id: Some(2) }), None]);
        assert_eq!(lookup.stats().errors, 1);
        // NULL keys alone need no request.
        assert_eq!(lookup.get_batch(&[None]).unwrap(), [None]);
        assert_eq!(lookup.stats().round_trips, 2);
        // Keys of the wrong length are the generated code's bug.
        let e = lookup.get_batch(&[Some(vec![])]).unwrap_err().to_string();
        assert!(e.starts_with("internal error"), "{e}");
    }
}
