//! Writing files of records, committed atomically by `flush` or a checkpoint.

use super::partition::{Partitioning, remove_uncommitted};
use super::{io, local_path};
use crate::connectors::format::{Column, Encoder, Format, write_error};
use crate::error::{Error, Result};
use crate::options::TableOptions;
use crate::pipeline::Sink;
use serde::Serialize;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Write buffer size.
const BUFFER: usize = 1 << 20;

/// Write buffer size of a partition's part file.
const PARTITION_BUFFER: usize = 1 << 16;

/// Part files a partitioned sink keeps open at most; when a row needs another, the one
/// written longest ago is closed (and committed with the others).
const MAX_OPEN: usize = 128;

/// A `filesystem` table written row by row; see [`sink`].
///
/// Rows go to hidden temporary files (`.part-….inprogress`) next to their destination.
/// [`flush`](Sink::flush) completes them and renames them into place, so that readers see
/// either nothing or complete files; rows written after a flush go to new files (a new
/// part file, or for a single-file sink a copy of the file that replaces it at the next
/// flush). The pipeline driver flushes once at the end of a run. Dropping the sink
/// without flushing (a failed run) removes the temporary files. A partitioned sink
/// ([`partitioned_sink`]) does the same with a part file per partition directory.
pub struct FileSink<R> {
    table: String,
    encoder: Encoder,
    target: Target,
    extension: &'static str,
    run_id: String,
    /// Size at which a part file is closed (`sink.rolling-policy.file-size`).
    roll_bytes: u64,
    next_part: u64,
    /// Open part files by partition directory (relative to the folder; "" unpartitioned).
    open: HashMap<String, OpenFile>,
    /// `PARTITIONED BY`: where rows go, what of them is written, partition commits.
    partitions: Option<Partitioning>,
    /// The partition directory of the row being written.
    dir: String,
    /// Batches written (the age of an open file is the batch it was last written in).
    batches: u64,
    /// Closed temporary files and their destinations, renamed at the next flush.
    pending: Vec<(PathBuf, PathBuf)>,
    /// Closed files a checkpoint has prepared (by checkpoint), renamed when it completes.
    prepared: Vec<(u64, PathBuf, PathBuf)>,
    /// Whether a flush has written the destination (single-file sinks).
    committed: bool,
    buffer: Vec<u8>,
    _row: PhantomData<fn(R)>,
}

enum Target {
    Folder(PathBuf),
    File(PathBuf),
}

struct OpenFile {
    writer: BufWriter<File>,
    temp: PathBuf,
    dest: PathBuf,
    bytes: u64,
    last_batch: u64,
}

/// The sink of a `filesystem` table with `columns`: `path` is a folder (an existing one,
/// or one written with a trailing `/`, created if needed) that receives part files
/// `part-<run>-0-<n>.<json|csv>`, or else a single file (parent folders created;
/// replaced by the run's output). Records are JSON lines keyed by column name, or
/// positional CSV lines.
pub fn sink<R: Serialize>(opts: &TableOptions, columns: &[Column]) -> Result<FileSink<R>> {
    new_sink(opts, columns, None)
}

/// The sink of a `filesystem` table with `columns` (those of the row `R`) and
/// `PARTITIONED BY (partition_columns)`: `path` is a folder (created if needed) whose
/// partition directories `<col>=<value>/…` receive part files of the other columns;
/// partitions are committed with `_SUCCESS` files when the table asks for it. See
/// [`filesystem`](super) for the layout and the commit rule.
pub fn partitioned_sink<R: Serialize>(
    opts: &TableOptions,
    columns: &[Column],
    partition_columns: &[&str],
) -> Result<FileSink<R>> {
    if partition_columns.is_empty() {
        return sink(opts, columns);
    }
    let partitions = Partitioning::new(opts, columns, partition_columns)?;
    let written = partitions.written_columns().to_vec();
    new_sink(opts, &written, Some(partitions))
}

fn new_sink<R>(opts: &TableOptions, columns: &[Column], partitions: Option<Partitioning>) -> Result<FileSink<R>> {
    let path = local_path(opts, "path")?;
    let format = Format::from_options(opts, "")?;
    let raw = opts.required("path")?;
    let target = if raw.ends_with('/') || path.is_dir() || partitions.is_some() {
        fs::create_dir_all(&path).map_err(io(&path))?;
        Target::Folder(path)
    } else {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        Target::File(path)
    };
    let key = "sink.rolling-policy.file-size";
    let roll_bytes = match opts.get(key) {
        None => 128 << 20,
        Some(v) => {
            memory_size(v).ok_or_else(|| opts.error(key, format!("'{v}' is not a memory size such as '128 mb'")))?
        }
    };
    Ok(FileSink {
        table: opts.table.clone(),
        encoder: Encoder::new(&format, columns),
        target,
        extension: format.extension(),
        run_id: run_id(),
        roll_bytes: roll_bytes.max(1),
        next_part: 0,
        open: HashMap::new(),
        partitions,
        dir: String::new(),
        batches: 0,
        pending: Vec::new(),
        prepared: Vec::new(),
        committed: false,
        buffer: Vec::with_capacity(1 << 16),
        _row: PhantomData,
    })
}

impl<R> FileSink<R> {
    /// The files this sink writes to (for messages): the folder or the file.
    pub fn path(&self) -> &Path {
        match &self.target {
            Target::Folder(p) | Target::File(p) => p,
        }
    }

    /// Opens a part file in partition directory `partition` ("" unpartitioned) unless
    /// one is open.
    fn ensure_open(&mut self, partition: &str) -> Result<()> {
        if self.open.contains_key(partition) {
            return Ok(());
        }
        if self.open.len() >= MAX_OPEN {
            let oldest = self.open.iter().min_by_key(|(_, f)| f.last_batch).map(|(d, _)| d.clone());
            if let Some(oldest) = oldest {
                self.close_file(&oldest)?;
            }
        }
        let (temp, dest) = match &self.target {
            Target::Folder(base) => {
                let dir = if partition.is_empty() { base.clone() } else { base.join(partition) };
                if !partition.is_empty() {
                    fs::create_dir_all(&dir).map_err(io(&dir))?;
                }
                if let Some(commits) = self.partitions.as_mut().and_then(|p| p.commits.as_mut()) {
                    commits.opened(partition);
                }
                let name = format!("part-{}-0-{}.{}", self.run_id, self.next_part, self.extension);
                self.next_part += 1;
                (dir.join(format!(".{name}.inprogress")), dir.join(name))
            }
            Target::File(dest) => {
                let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let n = self.next_part;
                self.next_part += 1;
                (dest.with_file_name(format!(".{name}.inprogress.{}-{n}", self.run_id)), dest.clone())
            }
        };
        // A single file goes on from its latest version: one closed but not yet renamed
        // into place, else the file itself once this sink has written it.
        let base = match self.target {
            Target::Folder(_) => None,
            Target::File(_) => match (self.pending.last(), self.prepared.last()) {
                (Some((t, _)), _) | (None, Some((_, t, _))) => Some(t.clone()),
                (None, None) if self.committed && dest.exists() => Some(dest.clone()),
                (None, None) => None,
            },
        };
        let (file, bytes) = if let Some(base) = base {
            let bytes = fs::copy(&base, &temp).map_err(io(&temp))?;
            (OpenOptions::new().append(true).open(&temp).map_err(io(&temp))?, bytes)
        } else {
            (File::create(&temp).map_err(io(&temp))?, 0)
        };
        let capacity = if self.partitions.is_some() { PARTITION_BUFFER } else { BUFFER };
        let writer = BufWriter::with_capacity(capacity, file);
        self.open.insert(partition.to_string(), OpenFile { writer, temp, dest, bytes, last_batch: self.batches });
        Ok(())
    }

    /// Completes the open file of partition directory `partition` and queues it for
    /// renaming.
    fn close_file(&mut self, partition: &str) -> Result<()> {
        match self.open.remove(partition) {
            Some(open) => self.complete(open),
            None => Ok(()),
        }
    }

    /// Completes every open file and queues them for renaming.
    fn close_all(&mut self) -> Result<()> {
        let mut result = Ok(());
        for (_, open) in std::mem::take(&mut self.open) {
            let done = self.complete(open);
            result = result.and(done);
        }
        result
    }

    fn complete(&mut self, mut open: OpenFile) -> Result<()> {
        let result = open.writer.flush().and_then(|()| open.writer.get_ref().sync_data());
        self.pending.push((open.temp.clone(), open.dest));
        result.map_err(io(&open.temp))
    }

    /// Writes each row to its partition's part file.
    fn write_partitioned(&mut self, rows: &mut Vec<R>) -> Result<()>
    where
        R: Serialize,
    {
        self.batches += 1;
        for row in rows.drain(..) {
            let partitions = self.partitions.as_mut().expect("a partitioned sink");
            let table = &self.table;
            partitions.dir_of(&row, &mut self.dir).map_err(|reason| write_error(table, reason))?;
            self.buffer.clear();
            let encoded = self.encoder.encode(&partitions.record(&row), &mut self.buffer);
            encoded.map_err(|reason| write_error(table, reason))?;
            self.buffer.push(b'\n');
            if !self.open.contains_key(self.dir.as_str()) {
                let dir = self.dir.clone();
                self.ensure_open(&dir)?;
            }
            let open = self.open.get_mut(self.dir.as_str()).expect("opened above");
            open.writer.write_all(&self.buffer).map_err(io(&open.temp))?;
            open.bytes += self.buffer.len() as u64;
            open.last_batch = self.batches;
            if open.bytes >= self.roll_bytes {
                let dir = self.dir.clone();
                self.close_file(&dir)?;
            }
        }
        self.buffer.clear();
        Ok(())
    }
}

impl<R: Serialize> Sink<R> for FileSink<R> {
    fn write_batch(&mut self, rows: &mut Vec<R>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.partitions.is_some() {
            return self.write_partitioned(rows);
        }
        self.ensure_open("")?;
        let open = self.open.get_mut("").expect("opened above");
        for row in rows.drain(..) {
            self.encoder.encode(&row, &mut self.buffer).map_err(|reason| write_error(&self.table, reason))?;
            self.buffer.push(b'\n');
            if self.buffer.len() >= 1 << 16 {
                open.writer.write_all(&self.buffer).map_err(io(&open.temp))?;
                open.bytes += self.buffer.len() as u64;
                self.buffer.clear();
            }
        }
        open.writer.write_all(&self.buffer).map_err(io(&open.temp))?;
        open.bytes += self.buffer.len() as u64;
        self.buffer.clear();
        if matches!(self.target, Target::Folder(_)) && open.bytes >= self.roll_bytes {
            self.close_file("")?;
        }
        Ok(())
    }

    /// Closes the open files: they and the files closed before are committed (renamed into
    /// place) when the checkpoint completes. The info: every file prepared and not yet
    /// committed, as `[temporary, destination]` pairs; for a partitioned sink
    /// `{"files": pairs, "partitions": [[directory, due], …]}`, with the partitions a
    /// restore from it commits (see [`filesystem`](super)).
    fn prepare_commit(&mut self, checkpoint: u64) -> Result<serde_json::Value> {
        self.close_all()?;
        for (temp, dest) in self.pending.drain(..) {
            self.prepared.push((checkpoint, temp, dest));
        }
        let files: Vec<[String; 2]> = self
            .prepared
            .iter()
            .map(|(_, t, d)| [t.to_string_lossy().into_owned(), d.to_string_lossy().into_owned()])
            .collect();
        match &mut self.partitions {
            None => Ok(serde_json::json!(files)),
            Some(p) => {
                let partitions = p.commits.as_mut().map_or_else(|| serde_json::json!([]), |c| c.prepare(checkpoint));
                Ok(serde_json::json!({ "files": files, "partitions": partitions }))
            }
        }
    }

    fn commit(&mut self, checkpoint: u64, _info: &serde_json::Value) -> Result<()> {
        let (done, later): (Vec<_>, Vec<_>) = self.prepared.drain(..).partition(|(c, ..)| *c <= checkpoint);
        self.prepared = later;
        for (_, temp, dest) in done {
            fs::rename(&temp, &dest).map_err(|e| Error::io(&dest, e))?;
            self.committed = true;
        }
        let base = self.path().to_path_buf();
        if let Some(commits) = self.partitions.as_mut().and_then(|p| p.commits.as_mut()) {
            commits.commit(checkpoint, &base)?;
        }
        Ok(())
    }

    /// Renames the files the checkpoint restored had prepared (if a crash came before
    /// they were) and commits its partitions, and removes this sink's temporary files that
    /// no checkpoint holds (written after it), in every partition directory. A single-file
    /// sink then appends to what the checkpoint committed.
    fn recover(&mut self, info: Option<&serde_json::Value>) -> Result<()> {
        let unreadable = |why: String| {
            Error::State(format!("table `{}`: a file sink's commit info is not readable: {why}", self.table))
        };
        let (files, partitions) = match info {
            None | Some(serde_json::Value::Null) => (None, None),
            Some(serde_json::Value::Array(files)) => (Some(files), None),
            Some(serde_json::Value::Object(o)) => (
                o.get("files").and_then(serde_json::Value::as_array),
                o.get("partitions").and_then(serde_json::Value::as_array),
            ),
            Some(other) => return Err(unreadable(format!("unexpected {other}"))),
        };
        for pair in files.into_iter().flatten() {
            let (Some(temp), Some(dest)) = (pair.get(0).and_then(|v| v.as_str()), pair.get(1).and_then(|v| v.as_str()))
            else {
                return Err(unreadable(format!("file {pair} is not a [temporary, destination] pair")));
            };
            let (temp, dest) = (PathBuf::from(temp), PathBuf::from(dest));
            if temp.exists() {
                fs::rename(&temp, &dest).map_err(|e| Error::io(&dest, e))?;
            }
        }
        let base = self.path().to_path_buf();
        if let (Some(commits), Some(partitions)) =
            (self.partitions.as_mut().and_then(|p| p.commits.as_mut()), partitions)
        {
            commits.recover(partitions, &base).map_err(unreadable)?;
        }
        // Temporary files of earlier runs: written after the checkpoint (or, without one,
        // by a run that failed), never to be committed.
        match &self.target {
            Target::Folder(dir) => {
                let prefixes = self.partitions.as_ref().map_or(&[][..], |p| p.prefixes());
                remove_uncommitted(dir, prefixes);
            }
            Target::File(dest) => {
                let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let prefix = format!(".{name}.inprogress.");
                let dir = dest.parent().map(Path::to_path_buf).unwrap_or_default();
                let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
                for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if entry.file_name().to_string_lossy().starts_with(&prefix) {
                        let _ = fs::remove_file(entry.path());
                    }
                }
            }
        }
        if let Target::File(dest) = &self.target {
            // Restored: the file holds the output up to the checkpoint; go on after it.
            self.committed = info.is_some() && dest.exists();
        }
        Ok(())
    }

    /// Completes and renames every file; a partitioned sink then commits every partition
    /// written (the end of the run).
    fn flush(&mut self) -> Result<()> {
        self.close_all()?;
        let mut files: Vec<(PathBuf, PathBuf)> =
            std::mem::take(&mut self.prepared).into_iter().map(|(_, t, d)| (t, d)).collect();
        files.append(&mut self.pending);
        self.pending = files;
        if let (Target::File(dest), false, true) = (&self.target, self.committed, self.pending.is_empty()) {
            // Nothing written: the run's output is an empty file.
            File::create(dest).map_err(io(dest))?;
        }
        for (temp, dest) in std::mem::take(&mut self.pending) {
            if let Err(e) = fs::rename(&temp, &dest) {
                let _ = fs::remove_file(&temp);
                return Err(Error::io(dest, e));
            }
        }
        self.committed = true;
        let base = self.path().to_path_buf();
        if let Some(commits) = self.partitions.as_mut().and_then(|p| p.commits.as_mut()) {
            commits.finish(&base)?;
        }
        Ok(())
    }
}

impl<R> Drop for FileSink<R> {
    fn drop(&mut self) {
        for (_, open) in self.open.drain() {
            drop(open.writer);
            let _ = fs::remove_file(&open.temp);
        }
        for (temp, _) in self.pending.drain(..) {
            let _ = fs::remove_file(temp);
        }
    }
}

/// A name part unique to this sink: time, process and a counter, mixed.
fn run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ (u64::from(std::process::id()) << 40) ^ COUNTER.fetch_add(1, Ordering::Relaxed);
    // SplitMix64's finalizer.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("{:016x}", x ^ (x >> 31))
}

/// Bytes of a Flink memory size: `'128 mb'`, `'1gb'`, `'4096'`.
fn memory_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().ok()?;
    let factor: u64 = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        "t" | "tb" | "tebibytes" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(factor)
}
