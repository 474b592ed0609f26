//! Partitioned `filesystem` sinks (`PARTITIONED BY`): which directory a row goes to, what
//! of it is written, and when a partition is committed — the rules are in the
//! [`filesystem`](super) module's documentation.

use crate::connectors::format::{Column, FieldVisitor, SerError, Splitter, TextSer, TextStyle};
use crate::error::{Error, Result};
use crate::options::TableOptions;
use serde::Serialize;
use serde::ser::{self, SerializeStruct, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// How the rows of a partitioned sink are laid out; see the [module](self).
pub(super) struct Partitioning {
    /// Per field of the row: its position among the partition columns, if it is one.
    slots: Vec<Option<usize>>,
    /// `<name>=` of each partition column, escaped, in `PARTITIONED BY` order.
    prefixes: Vec<String>,
    /// Per field of the row: whether it is written into the files.
    keep: Vec<bool>,
    /// The columns of the row and the columns written.
    columns: Vec<Column>,
    written: Vec<Column>,
    default_name: String,
    style: TextStyle,
    /// Scratch: the values of the partition columns of the current row.
    values: Vec<String>,
    /// The commit policy, when there is one.
    pub(super) commits: Option<Commits>,
}

impl Partitioning {
    /// The layout of a table with `columns` (those of the row written) partitioned by
    /// `partition_columns`.
    pub(super) fn new(opts: &TableOptions, columns: &[Column], partition_columns: &[&str]) -> Result<Self> {
        let mut slots = vec![None; columns.len()];
        let mut prefixes = Vec::new();
        for (k, name) in partition_columns.iter().enumerate() {
            let Some(i) = columns.iter().position(|c| c.name == *name) else {
                return Err(Error::Config(format!(
                    "table `{}`: partition column `{name}` is not a column it writes",
                    opts.table
                )));
            };
            if slots[i].is_some() {
                return Err(Error::Config(format!("table `{}`: partition column `{name}` is named twice", opts.table)));
            }
            slots[i] = Some(k);
            let mut prefix = String::new();
            escape(name, &mut prefix);
            prefix.push('=');
            prefixes.push(prefix);
        }
        let keep: Vec<bool> = slots.iter().map(Option::is_none).collect();
        let key = "partition.default-name";
        let default_name = opts.get(key).unwrap_or("__DEFAULT_PARTITION__").to_string();
        if default_name.is_empty() {
            return Err(opts.error(key, "is empty"));
        }
        Ok(Partitioning {
            slots,
            prefixes,
            written: columns.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| *c).collect(),
            keep,
            columns: columns.to_vec(),
            default_name,
            // As CAST(… AS STRING); NULL as the empty string, which is the default name too.
            style: TextStyle { print: true, null: String::new(), separator: ", ".into() },
            values: vec![String::new(); partition_columns.len()],
            commits: Commits::from_options(opts)?,
        })
    }

    /// The columns written into the files: all but the partition columns.
    pub(super) fn written_columns(&self) -> &[Column] {
        &self.written
    }

    /// `<name>=` of each partition directory level.
    pub(super) fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// Sets `dir` to the directory of `row`, relative to the sink's folder
    /// (`dt=2024-01-01/hm=12%3A30`).
    pub(super) fn dir_of<R: Serialize + ?Sized>(&mut self, row: &R, dir: &mut String) -> Result<(), String> {
        for v in &mut self.values {
            v.clear();
        }
        let mut fields = PartitionValues {
            slots: &self.slots,
            values: &mut self.values,
            style: &self.style,
            columns: &self.columns,
        };
        row.serialize(Splitter { fields: &mut fields, index: 0 }).map_err(|e| e.0)?;
        dir.clear();
        for (k, (prefix, value)) in self.prefixes.iter().zip(&self.values).enumerate() {
            if k > 0 {
                dir.push('/');
            }
            dir.push_str(prefix);
            escape(if value.is_empty() { &self.default_name } else { value }, dir);
        }
        Ok(())
    }

    /// `row` as it is written: without its partition columns.
    pub(super) fn record<'a, R: Serialize + ?Sized>(&'a self, row: &'a R) -> impl Serialize + 'a {
        Projected { row, keep: &self.keep, len: self.written.len() }
    }
}

/// Appends `text` to `out`, escaped as Flink's `PartitionPathUtils.escapePathName` does.
pub(super) fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        let special = c < ' ' || c == '\u{7F}' || "\"#%'*/:=?\\{[]^".contains(c);
        if special {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

/// Collects the partition columns' values of a row as text.
struct PartitionValues<'a> {
    slots: &'a [Option<usize>],
    values: &'a mut [String],
    style: &'a TextStyle,
    columns: &'a [Column],
}

impl FieldVisitor for PartitionValues<'_> {
    fn field<T: ?Sized + Serialize>(&mut self, index: usize, _: &'static str, value: &T) -> Result<(), SerError> {
        match self.slots.get(index) {
            Some(&Some(slot)) => {
                let hint = self.columns.get(index).map(|c| c.ty);
                value.serialize(TextSer { out: &mut self.values[slot], style: self.style, hint })
            }
            _ => Ok(()),
        }
    }
}

/// A row without the fields `keep` leaves out, serialized as a struct of the others.
struct Projected<'a, R: ?Sized> {
    row: &'a R,
    keep: &'a [bool],
    len: usize,
}

impl<R: Serialize + ?Sized> Serialize for Projected<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Row", self.len)?;
        let mut fields = Kept { out: &mut out, keep: self.keep, error: None };
        if let Err(e) = self.row.serialize(Splitter { fields: &mut fields, index: 0 }) {
            return Err(fields.error.take().unwrap_or_else(|| ser::Error::custom(e)));
        }
        out.end()
    }
}

/// Passes the kept fields of a row on to a struct serializer.
struct Kept<'a, S: SerializeStruct> {
    out: &'a mut S,
    keep: &'a [bool],
    error: Option<S::Error>,
}

impl<S: SerializeStruct> FieldVisitor for Kept<'_, S> {
    fn field<T: ?Sized + Serialize>(&mut self, index: usize, name: &'static str, value: &T) -> Result<(), SerError> {
        if !self.keep.get(index).copied().unwrap_or(true) {
            return Ok(());
        }
        self.out.serialize_field(name, value).map_err(|e| {
            let message = e.to_string();
            self.error = Some(e);
            SerError(message)
        })
    }
}

/// Removes the temporary part files (`.part-….inprogress`) under `dir`, in the partition
/// directories `prefixes` describe (one level per prefix; none: `dir` itself), and the
/// partition directories left empty by that.
pub(super) fn remove_uncommitted(dir: &Path, prefixes: &[String]) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        match prefixes.split_first() {
            None => {
                if name.starts_with(".part-") && name.ends_with(".inprogress") {
                    let _ = fs::remove_file(entry.path());
                }
            }
            Some((prefix, deeper)) => {
                if name.starts_with(prefix.as_str()) && entry.file_type().is_ok_and(|t| t.is_dir()) {
                    remove_uncommitted(&entry.path(), deeper);
                    // Only if empty: a partition that held nothing but uncommitted files.
                    let _ = fs::remove_dir(entry.path());
                }
            }
        }
    }
}

/// The `success-file` commit policy: which partitions wait for what.
pub(super) struct Commits {
    /// The marker's name (`_SUCCESS`).
    file_name: String,
    delay_ms: u64,
    /// Partitions that received rows since the last checkpoint, and when they are due
    /// (creation plus delay, milliseconds since the epoch).
    fresh: HashMap<String, u64>,
    /// Partitions whose files the checkpoint (the number) prepared, with when they are due.
    listed: Vec<(u64, String, u64)>,
    /// Partitions whose files are visible, waiting for their delay to pass.
    waiting: BTreeMap<String, u64>,
}

impl Commits {
    /// The commit policy of the options, `None` without `success-file`.
    fn from_options(opts: &TableOptions) -> Result<Option<Commits>> {
        let key = "sink.partition-commit.trigger";
        if let Some(trigger) = opts.get(key)
            && !matches!(trigger.trim().to_ascii_lowercase().as_str(), "process-time" | "partition-time")
        {
            return Err(opts.error(key, format!("'{trigger}' is not 'process-time' or 'partition-time'")));
        }
        let delay_ms = opts.duration_ms("sink.partition-commit.delay")?.unwrap_or(0);
        let key = "sink.partition-commit.success-file.name";
        let file_name = opts.get(key).unwrap_or("_SUCCESS").to_string();
        if file_name.is_empty() || file_name.contains('/') || file_name == "." || file_name == ".." {
            return Err(opts.error(key, format!("'{file_name}' is not a file name")));
        }
        let key = "sink.partition-commit.policy.kind";
        let mut success_file = false;
        for kind in opts.get(key).unwrap_or_default().split(',').map(str::trim).filter(|k| !k.is_empty()) {
            if kind.eq_ignore_ascii_case("success-file") {
                success_file = true;
            } else {
                return Err(opts.error(
                    key,
                    format!("policy '{kind}' is not supported: partitions can be committed with 'success-file' only"),
                ));
            }
        }
        Ok(success_file.then(|| Commits {
            file_name,
            delay_ms,
            fresh: HashMap::new(),
            listed: Vec::new(),
            waiting: BTreeMap::new(),
        }))
    }

    /// A part file is opened in partition `dir`: the partition has rows to commit.
    pub(super) fn opened(&mut self, dir: &str) {
        if !self.fresh.contains_key(dir) {
            self.fresh.insert(dir.to_string(), now_ms().saturating_add(self.delay_ms));
        }
    }

    /// A checkpoint prepares every file written so far: the partitions they belong to are
    /// committed when it completes (and they are due). The partitions that a restore from
    /// it commits: `[dir, due]` pairs.
    pub(super) fn prepare(&mut self, checkpoint: u64) -> serde_json::Value {
        let mut fresh: Vec<(String, u64)> = self.fresh.drain().collect();
        fresh.sort();
        self.listed.extend(fresh.into_iter().map(|(dir, due)| (checkpoint, dir, due)));
        let mut all: BTreeMap<&str, u64> = BTreeMap::new();
        let listed = self.listed.iter().map(|(_, dir, due)| (dir, due));
        for (dir, &due) in self.waiting.iter().chain(listed) {
            let at = all.entry(dir.as_str()).or_insert(due);
            *at = (*at).min(due);
        }
        serde_json::json!(all.into_iter().map(|(dir, due)| serde_json::json!([dir, due])).collect::<Vec<_>>())
    }

    /// Checkpoint `checkpoint` completed (its files are visible): commits the partitions
    /// it listed that are due, and those that were waiting and are due now.
    pub(super) fn commit(&mut self, checkpoint: u64, base: &Path) -> Result<()> {
        let (done, later): (Vec<_>, Vec<_>) = self.listed.drain(..).partition(|(c, ..)| *c <= checkpoint);
        self.listed = later;
        for (_, dir, due) in done {
            self.wait(dir, due);
        }
        self.mark_due(base)
    }

    /// Commits the waiting partitions that are due.
    fn mark_due(&mut self, base: &Path) -> Result<()> {
        let now = now_ms();
        let due: Vec<String> = self.waiting.iter().filter(|(_, t)| **t <= now).map(|(d, _)| d.clone()).collect();
        for dir in due {
            self.waiting.remove(&dir);
            self.mark(base, &dir)?;
        }
        Ok(())
    }

    /// The end of the run: every partition with rows is committed.
    pub(super) fn finish(&mut self, base: &Path) -> Result<()> {
        let mut dirs: Vec<String> = std::mem::take(&mut self.waiting).into_keys().collect();
        dirs.extend(self.listed.drain(..).map(|(_, dir, _)| dir));
        dirs.extend(self.fresh.drain().map(|(dir, _)| dir));
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            self.mark(base, &dir)?;
        }
        Ok(())
    }

    /// Redoes the commit of the checkpoint restored: `partitions` (what [`prepare`]
    /// returned) have their files visible; those due are committed, the others wait.
    ///
    /// [`prepare`]: Self::prepare
    pub(super) fn recover(&mut self, partitions: &[serde_json::Value], base: &Path) -> Result<(), String> {
        for pair in partitions {
            let (Some(dir), Some(due)) = (pair.get(0).and_then(|v| v.as_str()), pair.get(1).and_then(|v| v.as_u64()))
            else {
                return Err(format!("partition {pair} is not a [directory, due time] pair"));
            };
            self.wait(dir.to_string(), due);
        }
        self.mark_due(base).map_err(|e| e.to_string())
    }

    fn wait(&mut self, dir: String, due: u64) {
        let at = self.waiting.entry(dir).or_insert(due);
        *at = (*at).min(due);
    }

    /// Writes the marker file into partition `dir`.
    fn mark(&self, base: &Path, dir: &str) -> Result<()> {
        let folder = base.join(dir);
        fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
        let marker = folder.join(&self.file_name);
        fs::File::create(&marker).map_err(|e| Error::io(&marker, e))?;
        Ok(())
    }
}

/// Wall-clock time in milliseconds since the epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::escape;
    use crate::connectors::filesystem::partitioned_sink;
    use crate::connectors::format::{Column, ColumnType};
    use crate::options::TableOptions;
    use crate::pipeline::Sink;
    use crate::types::{Date, Str};
    use serde::Serialize;
    use std::path::Path;

    #[derive(Debug, Clone, Serialize)]
    struct Row {
        id: Option<i64>,
        day: Option<Str>,
        name: Option<Str>,
        kind: Option<Str>,
    }

    const COLUMNS: [Column; 4] = [
        Column { name: "id", ty: ColumnType::BigInt, nullable: true },
        Column { name: "day", ty: ColumnType::Varchar(2147483647), nullable: true },
        Column { name: "name", ty: ColumnType::Varchar(2147483647), nullable: true },
        Column { name: "kind", ty: ColumnType::Varchar(2147483647), nullable: true },
    ];

    fn row(id: i64, day: Option<&str>, kind: Option<&str>) -> Row {
        Row { id: Some(id), day: day.map(Str::from), name: Some(format!("n{id}").into()), kind: kind.map(Str::from) }
    }

    fn options(dir: &Path, extra: &[(&str, &str)]) -> TableOptions {
        let path = format!("{}/out/", dir.display());
        let mut pairs = vec![("path", path.as_str()), ("format", "json")];
        pairs.extend_from_slice(extra);
        TableOptions::new("t", &pairs)
    }

    /// Every file under `dir` (relative paths, sorted), hidden ones included.
    fn files(dir: &Path) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        if dir.exists() {
            walk(dir, dir, &mut out);
        }
        out.sort();
        out
    }

    /// The visible files of `dir` (relative), part files shown as `<dir>/part`.
    fn visible(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = files(dir)
            .into_iter()
            .filter(|f| !f.rsplit('/').next().unwrap().starts_with('.'))
            .map(|f| match f.rsplit_once('/') {
                Some((d, name)) if name.starts_with("part-") => format!("{d}/part"),
                _ => f,
            })
            .collect();
        v.dedup();
        v
    }

    /// The records of the visible part files of partition `dir`, sorted.
    fn records(dir: &Path) -> Vec<String> {
        let mut lines = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().unwrap().to_string_lossy().starts_with("part-") {
                lines.extend(std::fs::read_to_string(p).unwrap().lines().map(String::from));
            }
        }
        lines.sort();
        lines
    }

    #[test]
    fn partition_names_and_values_are_escaped_as_flink_does() {
        let esc = |s: &str| {
            let mut out = String::new();
            escape(s, &mut out);
            out
        };
        assert_eq!(esc("2024-01-01"), "2024-01-01");
        assert_eq!(esc("12:30"), "12%3A30");
        assert_eq!(esc("a/b=c%d"), "a%2Fb%3Dc%25d");
        assert_eq!(esc("\"#'*?\\{[]^\u{7f}"), "%22%23%27%2A%3F%5C%7B%5B%5D%5E%7F");
        assert_eq!(esc("line\nbreak\t"), "line%0Abreak%09");
        // Not escaped: spaces, closing braces, non-ASCII.
        assert_eq!(esc("a b}é"), "a b}é");
    }

    #[test]
    fn rows_go_to_their_partition_without_the_partition_columns() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), &[]);
        // PARTITIONED BY in another order than the columns.
        let mut sink = partitioned_sink::<Row>(&opts, &COLUMNS, &["kind", "day"]).unwrap();
        let mut rows = vec![
            row(1, Some("2024-01-01"), Some("a")),
            row(2, Some("2024-01-01"), Some("a")),
            row(3, Some("2024-01-02"), Some("b/c")),
            row(4, None, Some("")),
            row(5, Some("12:30"), None),
        ];
        sink.write_batch(&mut rows).unwrap();
        assert!(visible(&dir.path().join("out")).is_empty(), "nothing visible before the flush");
        sink.flush().unwrap();
        let out = dir.path().join("out");
        assert_eq!(
            visible(&out),
            [
                "kind=__DEFAULT_PARTITION__/day=12%3A30/part",
                "kind=__DEFAULT_PARTITION__/day=__DEFAULT_PARTITION__/part",
                "kind=a/day=2024-01-01/part",
                "kind=b%2Fc/day=2024-01-02/part",
            ]
        );
        assert_eq!(records(&out.join("kind=a/day=2024-01-01")), [r#"{"id":1,"name":"n1"}"#, r#"{"id":2,"name":"n2"}"#]);
        assert_eq!(records(&out.join("kind=__DEFAULT_PARTITION__/day=12%3A30")), [r#"{"id":5,"name":"n5"}"#]);
        // No policy: no marker files.
        assert!(files(&out).iter().all(|f| !f.contains("_SUCCESS")));

        // CSV, a default name of one's own, a DATE partition column written as text.
        #[derive(Serialize)]
        struct Dated {
            id: Option<i64>,
            day: Option<Date>,
        }
        let columns = [
            Column { name: "id", ty: ColumnType::BigInt, nullable: true },
            Column { name: "day", ty: ColumnType::Date, nullable: true },
        ];
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), &[("format", "csv"), ("partition.default-name", "none")]);
        let mut sink = partitioned_sink::<Dated>(&opts, &columns, &["day"]).unwrap();
        let day: Date = serde_json::from_str("\"2024-02-29\"").unwrap();
        sink.write_batch(&mut vec![Dated { id: Some(7), day: Some(day) }, Dated { id: Some(8), day: None }]).unwrap();
        sink.flush().unwrap();
        let out = dir.path().join("out");
        assert_eq!(visible(&out), ["day=2024-02-29/part", "day=none/part"]);
        assert_eq!(records(&out.join("day=2024-02-29")), ["7"]);
    }

    #[test]
    fn success_files_are_written_when_a_checkpoint_commits_a_partition() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), &[("sink.partition-commit.policy.kind", "success-file")]);
        let out = dir.path().join("out");
        let mut sink = partitioned_sink::<Row>(&opts, &COLUMNS, &["day"]).unwrap();
        sink.write_batch(&mut vec![row(1, Some("d1"), None)]).unwrap();
        let info = sink.prepare_commit(1).unwrap();
        assert_eq!(info["partitions"][0][0], "day=d1", "{info}");
        // Rows after the checkpoint's barrier belong to the next one.
        sink.write_batch(&mut vec![row(2, Some("d2"), None), row(3, Some("d1"), None)]).unwrap();
        assert!(visible(&out).is_empty(), "nothing committed before the checkpoint completes");
        sink.commit(1, &info).unwrap();
        assert_eq!(visible(&out), ["day=d1/_SUCCESS", "day=d1/part"]);
        assert_eq!(records(&out.join("day=d1")), [r#"{"id":1,"name":"n1","kind":null}"#]);
        // d1 got rows again: it is committed again with them, d2 for the first time.
        let info = sink.prepare_commit(2).unwrap();
        sink.commit(2, &info).unwrap();
        assert_eq!(visible(&out), ["day=d1/_SUCCESS", "day=d1/part", "day=d2/_SUCCESS", "day=d2/part"]);
        assert_eq!(records(&out.join("day=d1")).len(), 2);

        // With a delay, a completed checkpoint makes the files visible but leaves the
        // partition uncommitted; the end of the run commits it.
        let dir = tempfile::tempdir().unwrap();
        let opts = options(
            dir.path(),
            &[
                ("sink.partition-commit.policy.kind", "success-file"),
                ("sink.partition-commit.trigger", "partition-time"),
                ("sink.partition-commit.delay", "1 h"),
                ("sink.partition-commit.success-file.name", "_DONE"),
            ],
        );
        let out = dir.path().join("out");
        let mut sink = partitioned_sink::<Row>(&opts, &COLUMNS, &["day"]).unwrap();
        sink.write_batch(&mut vec![row(1, Some("d1"), None)]).unwrap();
        let info = sink.prepare_commit(1).unwrap();
        sink.commit(1, &info).unwrap();
        assert_eq!(visible(&out), ["day=d1/part"]);
        sink.write_batch(&mut vec![row(2, Some("d2"), None)]).unwrap();
        sink.flush().unwrap();
        assert_eq!(visible(&out), ["day=d1/_DONE", "day=d1/part", "day=d2/_DONE", "day=d2/part"]);
    }

    #[test]
    fn recovery_commits_the_checkpoint_and_removes_later_parts_in_every_partition() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), &[("sink.partition-commit.policy.kind", "success-file")]);
        let out = dir.path().join("out");
        let mut sink = partitioned_sink::<Row>(&opts, &COLUMNS, &["kind", "day"]).unwrap();
        sink.write_batch(&mut vec![row(1, Some("d1"), Some("a")), row(2, Some("d1"), Some("b"))]).unwrap();
        let info = sink.prepare_commit(1).unwrap();
        // After the barrier: more rows in a prepared partition and in a new one; then the
        // process dies before the checkpoint's commit.
        sink.write_batch(&mut vec![row(3, Some("d1"), Some("a")), row(4, Some("d2"), Some("c"))]).unwrap();
        sink.write_batch(&mut vec![row(5, Some("d3"), Some("c"))]).unwrap();
        std::mem::forget(sink);
        assert!(visible(&out).is_empty());
        assert_eq!(files(&out).len(), 5, "{:?}", files(&out));

        let mut sink = partitioned_sink::<Row>(&opts, &COLUMNS, &["kind", "day"]).unwrap();
        sink.recover(Some(&info)).unwrap();
        assert_eq!(
            visible(&out),
            ["kind=a/day=d1/_SUCCESS", "kind=a/day=d1/part", "kind=b/day=d1/_SUCCESS", "kind=b/day=d1/part"]
        );
        assert_eq!(files(&out).len(), 4, "no temporary files left: {:?}", files(&out));
        assert!(!out.join("kind=c").exists(), "partitions holding only uncommitted rows are removed");
        assert_eq!(records(&out.join("kind=a/day=d1")), [r#"{"id":1,"name":"n1"}"#]);

        // A restore whose partitions are not due yet commits them at the end of the run.
        let dir = tempfile::tempdir().unwrap();
        let extra = [("sink.partition-commit.policy.kind", "success-file"), ("sink.partition-commit.delay", "1 d")];
        let opts = options(dir.path(), &extra);
        let out = dir.path().join("out");
        let mut sink = partitioned_sink::<Row>(&opts, &COLUMNS, &["day"]).unwrap();
        sink.write_batch(&mut vec![row(1, Some("d1"), None)]).unwrap();
        let info = sink.prepare_commit(1).unwrap();
        sink.commit(1, &info).unwrap();
        let info = sink.prepare_commit(2).unwrap();
        assert_eq!(info["partitions"][0][0], "day=d1", "still waiting: {info}");
        std::mem::forget(sink);
        let mut sink = partitioned_sink::<Row>(&opts, &COLUMNS, &["day"]).unwrap();
        sink.recover(Some(&info)).unwrap();
        assert_eq!(visible(&out), ["day=d1/part"]);
        sink.flush().unwrap();
        assert_eq!(visible(&out), ["day=d1/_SUCCESS", "day=d1/part"]);
    }

    #[test]
    fn unknown_commit_policies_and_columns_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = |extra: &[(&str, &str)], partitions: &[&str]| {
            partitioned_sink::<Row>(&options(dir.path(), extra), &COLUMNS, partitions).err().unwrap().to_string()
        };
        let e = err(&[("sink.partition-commit.policy.kind", "success-file,metastore")], &["day"]);
        assert!(e.contains("'sink.partition-commit.policy.kind'") && e.contains("'metastore'"), "{e}");
        let e = err(&[("sink.partition-commit.policy.kind", "custom")], &["day"]);
        assert!(e.contains("'custom'"), "{e}");
        let e = err(&[("partition.default-name", "")], &["day"]);
        assert!(e.contains("'partition.default-name'"), "{e}");
        let e = err(&[], &["nope"]);
        assert!(e.contains("`nope`"), "{e}");
    }
}
