//! Writing rows to Redis by key. See the [module documentation](super).

use super::client::{Client, Counters};
use super::codec::{RowText, row_text};
use super::{DataType, RedisStats, RedisStatsHandle, RedisTable};
use crate::changelog::{Change, Upsert, UpsertFold, UpsertTarget};
use crate::connectors::format::{Encoder, Format, JsonOptions, write_error};
use crate::error::Result;
use crate::pipeline::Sink;
use serde::Serialize;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::time::Instant;

/// A `redis` table written from rows `R`; see [`sink`].
pub struct RedisSink<R> {
    table: RedisTable,
    client: Client,
    buffer: Buffer,
    /// An update-before waiting to see whether its update-after has the same key.
    fold: UpsertFold<R>,
    /// `string` + `json`: the row's JSON encoder.
    json: Option<Encoder>,
    /// Where each key column usually is among the row's fields.
    key_hints: Vec<usize>,
    /// Scratch: the row being written, as text.
    text: RowText,
    _row: PhantomData<fn(&R)>,
}

/// What is written under a key.
#[derive(Debug, Clone, PartialEq)]
enum Write {
    /// A hash of these fields (the row's non-NULL columns).
    Hash(Vec<(&'static str, String)>),
    /// A string.
    Value(String),
    /// No key.
    Delete,
}

/// Writes waiting to be sent: the last write of each key, keys in the order first written.
#[derive(Debug, Default)]
struct Buffer {
    writes: Vec<(String, Write)>,
    index: HashMap<String, usize>,
    /// When the oldest write waiting came.
    since: Option<Instant>,
}

impl Buffer {
    fn push(&mut self, key: String, write: Write, now: Instant) {
        match self.index.get(&key) {
            Some(&i) => self.writes[i].1 = write,
            None => {
                self.index.insert(key.clone(), self.writes.len());
                self.writes.push((key, write));
            }
        }
        self.since.get_or_insert(now);
    }

    fn clear(&mut self) {
        self.writes.clear();
        self.index.clear();
        self.since = None;
    }
}

/// The sink of a `redis` table (see the [module documentation](super)). It connects (with
/// the sink's retries) and fails if Redis cannot be reached.
pub fn sink<R: Serialize + Send + 'static>(table: RedisTable) -> Result<RedisSink<R>> {
    let mut sink = unconnected(table)?;
    sink.client
        .check()
        .map_err(|f| write_error(&sink.table.table, sink.client.describe("cannot connect to Redis", &f)))?;
    Ok(sink)
}

/// The sink, not connected yet.
fn unconnected<R>(table: RedisTable) -> Result<RedisSink<R>> {
    let client = Client::new(&table, table.sink_retries)?;
    let json = (table.data_type == DataType::Json).then(|| Encoder::new(&Format::Json(JsonOptions::default()), &[]));
    let key_hints =
        table.key_columns().iter().map(|k| table.columns.iter().position(|c| c == k).unwrap_or(usize::MAX)).collect();
    Ok(RedisSink {
        table,
        client,
        buffer: Buffer::default(),
        fold: UpsertFold::default(),
        json,
        key_hints,
        text: Vec::new(),
        _row: PhantomData,
    })
}

impl<R> RedisSink<R> {
    /// The counters so far.
    pub fn stats(&self) -> RedisStats {
        self.stats_handle().get()
    }

    /// A handle on the counters that stays readable once the sink is handed over.
    pub fn stats_handle(&self) -> RedisStatsHandle {
        RedisStatsHandle(self.client.stats.clone())
    }

    /// Keys waiting to be sent.
    pub fn buffered(&self) -> usize {
        self.buffer.writes.len()
    }

    /// The table written.
    pub fn table(&self) -> &RedisTable {
        &self.table
    }

    /// Sends every buffered write in one transaction (with retries); the buffer is kept if
    /// that fails.
    fn send(&mut self) -> Result<()> {
        if self.buffer.writes.is_empty() {
            return Ok(());
        }
        let ttl = self.table.ttl.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        let mut pipe = redis::pipe();
        pipe.atomic();
        let (mut written, mut deleted) = (0, 0);
        for (key, write) in &self.buffer.writes {
            match write {
                Write::Delete => {
                    pipe.cmd("DEL").arg(key).ignore();
                    deleted += 1;
                }
                Write::Hash(fields) => {
                    pipe.cmd("DEL").arg(key).ignore();
                    pipe.cmd("HSET").arg(key);
                    for (name, value) in fields {
                        pipe.arg(*name).arg(value);
                    }
                    pipe.ignore();
                    if let Some(ms) = ttl {
                        pipe.cmd("PEXPIRE").arg(key).arg(ms).ignore();
                    }
                    written += 1;
                }
                Write::Value(value) => {
                    pipe.cmd("SET").arg(key).arg(value);
                    if let Some(ms) = ttl {
                        pipe.arg("PX").arg(ms);
                    }
                    pipe.ignore();
                    written += 1;
                }
            }
        }
        match self.client.run(|c| pipe.exec(c)) {
            Ok(()) => {
                self.buffer.clear();
                let stats = &self.client.stats;
                Counters::add(&stats.keys_written, written);
                Counters::add(&stats.keys_deleted, deleted);
                Counters::add(&stats.flushes, 1);
                Ok(())
            }
            Err(f) => Err(write_error(&self.table.table, self.client.describe("Redis", &f))),
        }
    }

    /// Sends the buffer if its oldest write has waited long enough.
    fn send_if_due(&mut self) -> Result<()> {
        match self.buffer.since {
            Some(since) if since.elapsed() >= self.table.buffer_interval => self.send(),
            _ => Ok(()),
        }
    }
}

impl<R: Serialize> RedisSink<R> {
    /// The key of `row` (its text is left in `self.text`); `None` if a key column is NULL.
    fn key(&mut self, row: &R) -> Result<Option<String>> {
        let table = &self.table.table;
        row_text(row, &mut self.text).map_err(|e| write_error(table, e))?;
        let mut parts = Vec::with_capacity(self.key_hints.len());
        for (name, &hint) in self.table.key_columns().iter().zip(&self.key_hints) {
            let field = match self.text.get(hint) {
                Some(f) if f.0 == name => Some(f),
                _ => self.text.iter().find(|f| f.0 == name),
            };
            match field {
                None => return Err(write_error(table, format!("the row has no column `{name}` (of the key)"))),
                Some((_, None)) => return Ok(None),
                Some((_, Some(text))) => parts.push(text.as_str()),
            }
        }
        Ok(Some(self.table.key.render(&parts)))
    }

    /// Buffers the write of `row` (`put`) or the deletion of its key; sends the buffer when
    /// it is full.
    fn buffer(&mut self, row: &R, put: bool) -> Result<()> {
        let Some(key) = self.key(row)? else {
            Counters::add(&self.client.stats.null_keys, 1);
            return Ok(());
        };
        let write = if !put {
            Write::Delete
        } else {
            match &self.table.data_type {
                DataType::Hash => {
                    let fields: Vec<_> = self.text.drain(..).filter_map(|(n, v)| Some((n, v?))).collect();
                    if fields.is_empty() { Write::Delete } else { Write::Hash(fields) }
                }
                DataType::Json => {
                    let mut out = Vec::new();
                    if let Some(encoder) = &mut self.json {
                        encoder.encode(row, &mut out).map_err(|e| write_error(&self.table.table, e))?;
                    }
                    Write::Value(String::from_utf8(out).map_err(|e| write_error(&self.table.table, e.to_string()))?)
                }
                DataType::Raw { value_column } => match self.text.iter().find(|f| f.0 == value_column) {
                    Some((_, Some(text))) => Write::Value(text.clone()),
                    Some((_, None)) => Write::Delete,
                    None => {
                        return Err(write_error(&self.table.table, format!("the row has no column `{value_column}`")));
                    }
                },
            }
        };
        self.buffer.push(key, write, Instant::now());
        if self.buffer.writes.len() >= self.table.buffer_rows {
            self.send()?;
        }
        Ok(())
    }

    /// Writes a waiting update-before as a deletion (no update-after of its key came).
    fn finish_fold(&mut self) -> Result<()> {
        let mut fold = std::mem::take(&mut self.fold);
        let result = fold.finish(self);
        self.fold = fold;
        result
    }
}

impl<R: Serialize> UpsertTarget<R> for RedisSink<R> {
    fn same_key(&mut self, a: &R, b: &R) -> bool {
        match (self.key(a), self.key(b)) {
            (Ok(Some(x)), Ok(Some(y))) => x == y,
            _ => false,
        }
    }

    fn apply(&mut self, op: Upsert, row: &R) -> Result<()> {
        self.buffer(row, op == Upsert::Put)
    }
}

impl<R: Serialize + Send + 'static> Sink<R> for RedisSink<R> {
    /// The client's counters (requests, retries, errors, keys, rows with NULL keys).
    fn register_metrics(&self, table: &str, metrics: &crate::metrics::Registry) {
        metrics.add_redis(table, "sink", self.stats_handle());
    }

    /// Append-only input: every row is stored under its key.
    fn write_batch(&mut self, rows: &mut Vec<R>) -> Result<()> {
        self.finish_fold()?;
        Counters::add(&self.client.stats.rows, rows.len() as u64);
        for row in rows.drain(..) {
            self.buffer(&row, true)?;
        }
        self.send_if_due()
    }

    /// An updating result: puts and deletes by key (see [`UpsertFold`]).
    fn write_changes(&mut self, changes: &mut Vec<Change<R>>) -> Result<()> {
        Counters::add(&self.client.stats.rows, changes.len() as u64);
        let mut fold = std::mem::take(&mut self.fold);
        let result = fold.fold(changes, self);
        self.fold = fold;
        result?;
        self.send_if_due()
    }

    /// Sends everything buffered.
    fn flush(&mut self) -> Result<()> {
        self.finish_fold()?;
        self.send()
    }

    /// Sends everything buffered (checkpoints complete only after it).
    fn sync(&mut self) -> Result<()> {
        self.flush()
    }

    /// The input is idle: what has waited 'sink.buffer-flush.interval' is sent.
    fn tick(&mut self) -> Result<()> {
        self.finish_fold()?;
        self.send_if_due()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changelog::RowKind::{self, *};
    use crate::options::TableOptions;
    use crate::types::Str;

    #[derive(Debug, Clone, serde::Serialize)]
    struct Row {
        id: Option<i64>,
        name: Option<Str>,
        score: Option<f64>,
    }

    fn row(id: i64, name: &str, score: Option<f64>) -> Row {
        Row { id: Some(id), name: Some(name.into()), score }
    }

    /// A sink that never sends by itself (a large buffer, a long interval), on a port
    /// nothing listens on.
    fn buffered(extra: &[(&str, &str)]) -> RedisSink<Row> {
        let mut pairs = vec![
            ("url", "redis://127.0.0.1:1"),
            ("sink.buffer-flush.max-rows", "1000"),
            ("sink.buffer-flush.interval", "1 h"),
        ];
        pairs.extend_from_slice(extra);
        let table = RedisTable::new(&TableOptions::new("t", &pairs), &["id", "name", "score"], &["id"]).unwrap();
        unconnected(table).unwrap()
    }

    fn changes(sink: &mut RedisSink<Row>, list: Vec<(RowKind, Row)>) {
        let mut changes: Vec<_> = list.into_iter().map(|(k, r)| Change::new(k, r)).collect();
        sink.write_changes(&mut changes).unwrap();
        assert!(changes.is_empty());
    }

    fn writes(sink: &RedisSink<Row>) -> Vec<(String, Write)> {
        sink.buffer.writes.clone()
    }

    fn hash(fields: &[(&'static str, &str)]) -> Write {
        Write::Hash(fields.iter().map(|(n, v)| (*n, v.to_string())).collect())
    }

    #[test]
    fn only_the_last_write_of_a_key_is_sent() {
        let mut sink = buffered(&[]);
        changes(
            &mut sink,
            vec![
                (Insert, row(1, "a", None)),
                (Insert, row(2, "b", Some(1.5))),
                (UpdateBefore, row(1, "a", None)),
                (UpdateAfter, row(1, "a2", Some(2.0))),
                (Insert, row(3, "c", None)),
                (Delete, row(3, "c", None)),
                (Delete, row(2, "b", Some(1.5))),
                (Insert, row(2, "b2", None)),
            ],
        );
        assert_eq!(
            writes(&sink),
            [
                ("t:1".to_string(), hash(&[("id", "1"), ("name", "a2"), ("score", "2")])),
                ("t:2".to_string(), hash(&[("id", "2"), ("name", "b2")])),
                ("t:3".to_string(), Write::Delete),
            ]
        );
        assert_eq!(sink.stats().rows, 8);
    }

    #[test]
    fn an_update_before_of_another_key_deletes_it() {
        let mut sink = buffered(&[]);
        // The key changes: the old key goes, the new one comes.
        changes(&mut sink, vec![(UpdateBefore, row(1, "a", None)), (UpdateAfter, row(2, "a", None))]);
        assert_eq!(
            writes(&sink),
            [("t:1".to_string(), Write::Delete), ("t:2".to_string(), hash(&[("id", "2"), ("name", "a")]))]
        );
        // An update-before at the end of a batch waits for the next change...
        let mut sink = buffered(&[]);
        changes(&mut sink, vec![(Insert, row(5, "x", None)), (UpdateBefore, row(5, "x", None))]);
        assert_eq!(writes(&sink), [("t:5".to_string(), hash(&[("id", "5"), ("name", "x")]))]);
        changes(&mut sink, vec![(UpdateAfter, row(5, "y", None))]);
        assert_eq!(writes(&sink), [("t:5".to_string(), hash(&[("id", "5"), ("name", "y")]))]);
        // ...and is a deletion if none comes before a flush.
        changes(&mut sink, vec![(UpdateBefore, row(5, "y", None))]);
        sink.finish_fold().unwrap();
        assert_eq!(writes(&sink), [("t:5".to_string(), Write::Delete)]);
    }

    #[test]
    fn rows_are_encoded_per_data_type() {
        // Hash: the non-NULL columns; all NULL but the key is still a hash of the key.
        let mut sink = buffered(&[]);
        sink.write_batch(&mut vec![Row { id: Some(7), name: None, score: None }]).unwrap();
        assert_eq!(writes(&sink), [("t:7".to_string(), hash(&[("id", "7")]))]);
        // JSON: every column, NULL as null.
        let mut sink = buffered(&[("data-type", "string"), ("key", "k:{name}")]);
        sink.write_batch(&mut vec![row(1, "n", None), row(2, "m", Some(0.25))]).unwrap();
        assert_eq!(
            writes(&sink),
            [
                ("k:n".to_string(), Write::Value(r#"{"id":1,"name":"n","score":null}"#.into())),
                ("k:m".to_string(), Write::Value(r#"{"id":2,"name":"m","score":0.25}"#.into())),
            ]
        );
        // Raw: the one column not in the key; NULL deletes.
        let mut sink = buffered(&[("data-type", "string"), ("value.format", "raw"), ("key", "s:{id}/{name}")]);
        sink.write_batch(&mut vec![row(1, "n", Some(3.5)), row(2, "m", None)]).unwrap();
        assert_eq!(
            writes(&sink),
            [("s:1/n".to_string(), Write::Value("3.5".into())), ("s:2/m".to_string(), Write::Delete)]
        );
    }

    #[test]
    fn rows_with_a_null_key_are_skipped_and_counted() {
        let mut sink = buffered(&[("key", "{name}")]);
        sink.write_batch(&mut vec![Row { id: Some(1), name: None, score: None }, row(2, "b", None)]).unwrap();
        assert_eq!(writes(&sink), [("b".to_string(), hash(&[("id", "2"), ("name", "b")]))]);
        assert_eq!(sink.stats().null_keys, 1);
    }

    #[test]
    fn a_template_of_columns_the_row_lacks_is_an_error() {
        #[derive(serde::Serialize)]
        struct Other {
            x: Option<i32>,
        }
        let table = RedisTable::new(
            &TableOptions::new("t", &[("url", "redis://127.0.0.1:1"), ("sink.buffer-flush.interval", "1 h")]),
            &["id"],
            &["id"],
        )
        .unwrap();
        let mut sink = unconnected::<Other>(table).unwrap();
        let e = sink.write_batch(&mut vec![Other { x: Some(1) }]).unwrap_err().to_string();
        assert_eq!(e, "table `t`: cannot write row: the row has no column `id` (of the key)");
    }

    #[test]
    fn the_buffer_is_kept_when_redis_cannot_be_reached() {
        let mut sink = buffered(&[("sink.max-retries", "0"), ("password", "s3cret")]);
        sink.write_batch(&mut vec![row(1, "a", None)]).unwrap();
        let e = sink.flush().unwrap_err().to_string();
        assert!(e.starts_with("table `t`: cannot write row: Redis at redis://127.0.0.1:1: "), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        assert_eq!(sink.buffered(), 1);
        let stats = sink.stats();
        assert_eq!((stats.round_trips, stats.retries, stats.errors, stats.flushes), (1, 0, 1, 0));
    }
}
