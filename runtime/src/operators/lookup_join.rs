//! The table of a lookup join (`JOIN t FOR SYSTEM_TIME AS OF l.proc_time AS r ON …`)
//! against a bounded source, as Flink's filesystem lookup source does: the table is read
//! whole when the task starts, its rows indexed by the join key, and every row of the
//! stream looks up the rows of its key as they are at that moment. Rows whose key has a
//! NULL are not indexed (NULL equals nothing). The stream's rows are not kept: the join
//! only appends, and keeps no state a checkpoint would need (a restart reads the table
//! again).
//!
//! ```
//! use dfl::operators::lookup_join::LookupTable;
//! let table = LookupTable::from_rows([(Some(1), "one"), (None, "none"), (Some(1), "uno")]);
//! assert_eq!(table.get(&1), &["one", "uno"]);
//! assert!(table.get(&2).is_empty());
//! assert_eq!(table.len(), 2);
//! ```

use crate::connectors::Source;
use crate::pipeline::Context;
use std::collections::HashMap;
use std::hash::Hash;

/// Rows of a bounded table by join key.
pub struct LookupTable<K, V> {
    rows: HashMap<K, Vec<V>>,
    len: usize,
}

impl<K: Eq + Hash, V> LookupTable<K, V> {
    /// Indexes `rows` by their key (`None`: a NULL in the key, not indexed).
    pub fn from_rows(rows: impl IntoIterator<Item = (Option<K>, V)>) -> Self {
        let mut table = LookupTable { rows: HashMap::new(), len: 0 };
        for (key, row) in rows {
            table.insert(key, row);
        }
        table
    }

    /// Reads `source` to its end and indexes every row by the key `entry` gives it.
    pub fn load<S: Source>(
        source: S,
        cx: &Context,
        mut entry: impl FnMut(S::Row) -> (Option<K>, V),
    ) -> crate::Result<Self> {
        let mut table = LookupTable { rows: HashMap::new(), len: 0 };
        let mut read = 0u64;
        source.run(cx, |row| {
            let (key, row) = entry(row);
            table.insert(key, row);
            read += 1;
            Ok(())
        })?;
        // The pipeline's rows read are its streams': the table's rows are not counted.
        cx.counters.rows_in.fetch_sub(read, std::sync::atomic::Ordering::Relaxed);
        Ok(table)
    }

    fn insert(&mut self, key: Option<K>, row: V) {
        if let Some(key) = key {
            self.rows.entry(key).or_default().push(row);
            self.len += 1;
        }
    }

    /// The rows of `key`, in the order they were read.
    pub fn get(&self, key: &K) -> &[V] {
        self.rows.get(key).map_or(&[], Vec::as_slice)
    }

    /// The number of rows indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no row is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
