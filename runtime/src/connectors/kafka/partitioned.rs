//! Keyed state kept per Kafka partition, so that several processes of a pipeline share its
//! consumer group (`SET 'scale-out.mode' = 'partition'`), as Kafka Streams' tasks do.
//!
//! A task keeping keyed state runs one *instance* of its operators per partition assigned
//! to the process: the task's generated code over that partition's records only, on a
//! thread of its own, with its own watermark (the partition's) and state. The task's
//! thread reads the topic in the group and hands each record to its partition's instance.
//! When every record of a key is in one partition (the topic is keyed by a part of the
//! operators' key), an instance computes for its keys exactly what a single process
//! would, so the output does not depend on which process reads which partition.
//!
//! **State moves with its partition** through a folder shared by the processes
//! (`scale-out.state.dir`, a shared volume): at each checkpoint, once it is complete (the
//! sinks committed), every instance's snapshot is written there under its topic and
//! partition, named by the offset of the partition's next record (and by the claim it was
//! written under, which fences a process that lost the partition: [`PartitionStore`]),
//! before the source commits that offset to the group. A partition assigned to a process starts from its
//! newest snapshot there, at the snapshot's offset: a process that dies has its partitions
//! taken over from its last checkpoint, and one that gives partitions up in a rebalance
//! takes a checkpoint first (the source asks for it), which writes their snapshots. A
//! checkpoint that fails writes none and commits nothing. Without a snapshot a partition
//! starts as the table's startup mode says. A partition whose input ended (bounded reads)
//! fires what is open; its snapshots stay, and the position after them is not committed.
//!
//! Each process keeps its own checkpoints (`state.checkpoints.dir`, not shared): they hold
//! the sinks' commits; the partitions' state is only in the shared folder.

use super::source::{KafkaSource, Record, decode_position, encode_position};
use crate::checkpoint::{Handover, SnapshotReader, SnapshotWriter, TaskCheckpoint};
use crate::connectors::format::Column;
use crate::connectors::{Barrier, Source, SourceEvent};
use crate::error::{Error, Result};
use crate::options::TableOptions;
use crate::pipeline::Context;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

/// The setting naming the folder the processes share for the partitions' state.
pub const STATE_DIR: &str = "scale-out.state.dir";

/// Records handed to an instance at a time.
const BATCH: usize = 512;

/// Batches in flight to each instance.
const IN_FLIGHT: usize = 8;

/// How old a file staged or written aside in the shared folder must be to be another
/// process's leftover (it died while it took a checkpoint): far longer than a checkpoint.
const STALE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// A snapshot as read: its file, its bytes, and the folder of its state files (RocksDB).
type Read = (PathBuf, Vec<u8>, Option<PathBuf>);

/// The snapshots of one task's partitions in the shared folder, and what the source tells
/// the task's thread of its partitions (where each started, which were taken away).
///
/// A partition's snapshots are files `<claim>-<offset>.<stamp>.snapshot` (the claim of the
/// process that wrote it, 10 digits; the offset of its next record, 20 digits; a stamp that
/// orders snapshots at one offset), each with a folder `<claim>-<offset>.<stamp>.state` of
/// RocksDB files when the state is kept in RocksDB. The newest by (claim, offset, stamp) is
/// where the partition goes on.
///
/// **Claims fence a process that lost a partition.** Each assignment of a partition
/// creates a file `<claim>.claim` numbered above every claim before it, before the newest
/// snapshot is read. A process writes a partition's snapshots under its claim, and neither
/// writes nor removes any once a newer claim is there: a process dropped from the group
/// (it stopped polling for longer than `max.poll.interval.ms`) that still takes a
/// checkpoint cannot remove the files its partition's new owner is copying, and its late
/// snapshots never win over the new owner's. Because a process writes its snapshot before
/// it looks for a newer claim, and the new owner writes its claim before it reads the newest
/// snapshot, a snapshot whose writer did not see the claim is the one the new owner reads.
pub struct PartitionStore {
    dir: PathBuf,
    splits: Mutex<HashMap<usize, Assigned>>,
    /// This process's claim on each partition it was assigned, by (topic, partition).
    claims: Mutex<HashMap<(String, i32), u64>>,
    /// The partitions another process claimed since this one did (it lost them): their
    /// offsets are not committed.
    fenced: Mutex<std::collections::HashSet<(String, i32)>>,
    /// Snapshots read when their partitions' start was looked up, by (topic, partition),
    /// until their instances take them.
    pending: Mutex<HashMap<(String, i32), Read>>,
    /// Set once the snapshots of a barrier's checkpoint are written: the source may commit
    /// the position after them.
    saved: AtomicBool,
    /// Orders snapshots this process writes at one offset.
    stamps: AtomicU64,
}

struct Assigned {
    topic: String,
    partition: i32,
    start: i64,
    /// Taken away by a rebalance: `Some(lost)` (lost: the group gave it to another
    /// process already, so its state cannot be written any more).
    revoked: Option<bool>,
}

/// How snapshots order: (claim, offset, stamp).
type SnapshotKey = (u64, i64, u64);

/// The key of a snapshot file's or state folder's name with `suffix` (a name without a
/// claim, as written before claims, is of claim 0).
fn snapshot_key(name: &str, suffix: &str) -> Option<SnapshotKey> {
    let (head, stamp) = name.strip_suffix(suffix)?.split_once('.')?;
    let (claim, offset) = match head.split_once('-') {
        Some((claim, offset)) => (claim.parse().ok()?, offset),
        None => (0, head),
    };
    Some((claim, offset.parse().ok()?, stamp.parse().ok()?))
}

/// The number of a claim file's name.
fn claim_number(name: &str) -> Option<u64> {
    name.strip_suffix(".claim")?.parse().ok()
}

/// The greatest claim on the partition of folder `dir` (0 without any).
fn newest_claim(dir: &Path) -> Result<u64> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut newest = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(n) = entry.file_name().to_str().and_then(claim_number) {
            newest = newest.max(n);
        }
    }
    Ok(newest)
}

/// Syncs a folder, so that the files created or renamed in it are there after a crash.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

impl PartitionStore {
    /// The store of task `task` under the shared folder `dir`.
    pub fn open(dir: &Path, task: &str) -> Result<Self> {
        let dir = dir.join(task);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(PartitionStore {
            dir,
            splits: Mutex::default(),
            claims: Mutex::default(),
            fenced: Mutex::default(),
            pending: Mutex::default(),
            saved: AtomicBool::new(false),
            stamps: AtomicU64::new(crate::time::epoch_ms().max(0) as u64 * 1000),
        })
    }

    /// The task's folder in the shared one.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.dir.join(topic).join(partition.to_string())
    }

    /// The newest snapshot of a partition: its offset and file.
    fn newest(&self, topic: &str, partition: i32) -> Result<Option<(i64, PathBuf)>> {
        let dir = self.partition_dir(topic, partition);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut newest: Option<(SnapshotKey, PathBuf)> = None;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let Some(key) = entry.file_name().to_str().and_then(|n| snapshot_key(n, ".snapshot")) else { continue };
            if newest.as_ref().is_none_or(|(k, _)| key > *k) {
                newest = Some((key, entry.path()));
            }
        }
        Ok(newest.map(|((_, offset, _), path)| (offset, path)))
    }

    /// Claims a partition assigned to this process: creates its claim file, numbered above
    /// every claim in the partition's folder.
    fn claim(&self, topic: &str, partition: i32) -> Result<u64> {
        use std::io::Write;
        let dir = self.partition_dir(topic, partition);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        loop {
            let claim = newest_claim(&dir)? + 1;
            let path = dir.join(format!("{claim:010}.claim"));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let token = crate::checkpoint::process_token();
                    file.write_all(token.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| Error::io(&path, e))?;
                    sync_dir(&dir);
                    let key = (topic.to_string(), partition);
                    self.fenced.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                    self.claims.lock().unwrap_or_else(|p| p.into_inner()).insert(key, claim);
                    return Ok(claim);
                }
                // Another process claimed it at the same time: above theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }

    /// Where a partition being assigned starts: claims it, then gives the offset of its
    /// newest snapshot (read now, for its instance), or `None` without one.
    pub(super) fn offset_of(&self, topic: &str, partition: i32) -> Result<Option<i64>> {
        self.claim(topic, partition)?;
        let Some((offset, path)) = self.newest(topic, partition)? else { return Ok(None) };
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let files = path.with_extension("state");
        let files = files.is_dir().then_some(files);
        let read = (path, bytes, files);
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).insert((topic.to_string(), partition), read);
        Ok(Some(offset))
    }

    /// The source position in the snapshot [`offset_of`](Self::offset_of) read for a
    /// partition, if any.
    pub(super) fn kept_position(&self, topic: &str, partition: i32) -> Result<Option<Vec<u8>>> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let Some((path, bytes, _)) = pending.get(&(topic.to_string(), partition)) else { return Ok(None) };
        Ok(Some(SnapshotReader::new(path.display().to_string(), bytes)?.position().to_vec()))
    }

    /// Split `split` (`topic`, `partition`) is assigned, starting at `start`.
    pub(super) fn assigned(&self, split: usize, topic: &str, partition: i32, start: i64) {
        let assigned = Assigned { topic: topic.to_string(), partition, start, revoked: None };
        self.splits.lock().unwrap_or_else(|p| p.into_inner()).insert(split, assigned);
    }

    /// Split `split` is taken away (`lost`: already given to another process).
    pub(super) fn revoked(&self, split: usize, lost: bool) {
        if let Some(a) = self.splits.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&split) {
            a.revoked = Some(lost);
        }
    }

    /// Whether another process claimed the partition since this one did (found when a
    /// snapshot of it was to be written): its offset is not committed.
    pub(super) fn fenced(&self, topic: &str, partition: i32) -> bool {
        self.fenced.lock().unwrap_or_else(|p| p.into_inner()).contains(&(topic.to_string(), partition))
    }

    /// Whether the snapshots of the last barrier's checkpoint were written (once).
    pub(super) fn saved(&self) -> bool {
        self.saved.swap(false, Ordering::AcqRel)
    }

    fn take_revoked(&self, split: usize) -> Option<bool> {
        self.splits.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&split).and_then(|a| a.revoked.take())
    }

    /// The partition of split `split`, where it started, and the snapshot it starts from.
    fn start(&self, split: usize) -> Result<(String, i32, i64, Option<Read>)> {
        let splits = self.splits.lock().unwrap_or_else(|p| p.into_inner());
        let a = splits
            .get(&split)
            .ok_or_else(|| Error::State(format!("internal error: split {split} started unassigned")))?;
        let snapshot = self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&(a.topic.clone(), a.partition));
        Ok((a.topic.clone(), a.partition, a.start, snapshot))
    }

    /// Writes a partition's snapshot, taken at `offset` (its next record), with the folder
    /// of its state files (`files`, staged beside the snapshots by the instance), and
    /// removes the older ones. The state files move into place first; the snapshot file,
    /// written last, appears whole (written aside, synced, renamed): a snapshot is there
    /// once it is complete, and no complete one is touched before a newer one is.
    ///
    /// Gives `false`, writing and removing nothing, when another process claimed the
    /// partition since this one did: this one lost it, and does not commit its offset
    /// ([`fenced`](Self::fenced)).
    pub fn save(&self, topic: &str, partition: i32, offset: i64, bytes: &[u8], files: Option<&Path>) -> Result<bool> {
        use std::io::Write;
        let dir = self.partition_dir(topic, partition);
        let key = (topic.to_string(), partition);
        let Some(claim) = self.claims.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied() else {
            return Err(Error::State(format!(
                "internal error: a snapshot of partition {partition} of {topic}, which this process never claimed"
            )));
        };
        let newer = newest_claim(&dir)?;
        if newer > claim {
            self.fenced.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
            tracing::warn!(
                topic,
                partition,
                "partition {partition} of {topic} was claimed by another process (claim {newer}; this process's is \
                 {claim}): this process lost it and does not write its snapshot at offset {offset} (was it dropped \
                 from the group? keep 'max.poll.interval.ms' above the time a checkpoint takes)"
            );
            if let Some(files) = files {
                let _ = std::fs::remove_dir_all(files);
            }
            return Ok(false);
        }
        // Later than any stamp this process gave, and than the clock's (µs-ish): a later
        // snapshot at one offset wins whichever process wrote it.
        let now = crate::time::epoch_ms().max(0) as u64 * 1000;
        let stamp = self.stamps.fetch_max(now, Ordering::AcqRel).max(now) + 1;
        self.stamps.store(stamp, Ordering::Release);
        let path = dir.join(format!("{claim:010}-{offset:020}.{stamp}.snapshot"));
        if let Some(files) = files {
            let place = path.with_extension("state");
            std::fs::rename(files, &place).map_err(|e| Error::io(&place, e))?;
        }
        let token = crate::checkpoint::process_token();
        let aside = dir.join(format!(".{offset}.{stamp}.{token}.tmp"));
        let mut file = std::fs::File::create(&aside).map_err(|e| Error::io(&aside, e))?;
        file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| Error::io(&aside, e))?;
        std::fs::rename(&aside, &path).map_err(|e| Error::io(&path, e))?;
        sync_dir(&dir);
        // Claimed since the look above: the new owner may be reading an older snapshot
        // (not this one, which was there before its claim was), so nothing goes.
        if newest_claim(&dir).is_ok_and(|n| n == claim) {
            self.remove_older(&dir, (claim, offset, stamp));
        }
        Ok(true)
    }

    /// Removes a partition's snapshots (and their state files) older than `key` and the
    /// claims before its own, what this process staged or wrote aside for snapshots it did
    /// not complete, and what any process left staged or aside more than [`STALE`] ago (one
    /// that died in a checkpoint).
    fn remove_older(&self, dir: &Path, key: SnapshotKey) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let token = crate::checkpoint::process_token();
        let stale = |entry: &std::fs::DirEntry| {
            entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE))
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let staged = name.starts_with(".staging-");
            let aside = name.starts_with('.') && name.ends_with(".tmp");
            if snapshot_key(name, ".snapshot").is_some_and(|k| k < key)
                || claim_number(name).is_some_and(|n| n < key.0)
                || (aside && (name.ends_with(&format!(".{token}.tmp")) || stale(&entry)))
            {
                let _ = std::fs::remove_file(entry.path());
            } else if snapshot_key(name, ".state").is_some_and(|k| k < key)
                || (staged && (name.contains(token) || stale(&entry)))
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// What the task's thread sends an instance.
enum Message<R> {
    Rows(Vec<Record<R>>),
    Idle,
    /// A barrier: the instance handles it, then acknowledges.
    Barrier(Barrier),
    /// The input ended; the instance's [`Handover`] says whether it was exhausted.
    End,
}

/// An instance's source: its partition's records (as split 0), from the task's thread.
pub struct Partition<R> {
    name: String,
    /// The topic (the table's, or its shuffle topic) and partition.
    topic: String,
    partition: i32,
    rx: Receiver<Message<R>>,
    ack: Sender<()>,
    handover: Arc<Handover>,
    restored: Option<Read>,
}

impl<R> Partition<R> {
    /// The partition whose records the instance reads.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The topic of that partition: the table's, or its shuffle topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The instance's checkpoint handle: it restores from the partition's snapshot and
    /// hands its snapshots to the task's thread.
    pub fn task<'a>(&mut self, cx: &'a Context) -> Result<TaskCheckpoint<'a>> {
        let restored = match self.restored.take() {
            Some((path, bytes, _)) => Some(SnapshotReader::new(path.display().to_string(), &bytes)?),
            None => None,
        };
        Ok(TaskCheckpoint::handed_over(cx, &self.name, restored, Arc::clone(&self.handover)))
    }
}

fn task_gone() -> Error {
    Error::PeerStopped("the task reading the partitions has stopped".into())
}

impl<R> Source for Partition<R> {
    type Row = Record<R>;

    fn run_events<F: FnMut(SourceEvent<Record<R>>) -> Result<()>>(self, _cx: &Context, mut emit: F) -> Result<()> {
        emit(SourceEvent::SplitStart(0))?;
        loop {
            match self.rx.recv().map_err(|_| task_gone())? {
                Message::Rows(rows) => rows.into_iter().try_for_each(|r| emit(SourceEvent::Row(0, r)))?,
                Message::Idle => emit(SourceEvent::Idle)?,
                Message::Barrier(barrier) => {
                    emit(SourceEvent::Barrier(barrier))?;
                    self.ack.send(()).map_err(|_| task_gone())?;
                }
                Message::End => return Ok(()),
            }
        }
    }

    /// The snapshot is the partition's; the task's thread placed its reader.
    fn restore(&mut self, _position: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// An instance as the task's thread holds it.
struct Instance<'s, R> {
    topic: String,
    partition: i32,
    /// The offset of the partition's next record.
    next: i64,
    batch: Vec<Record<R>>,
    /// No record came since the last look for quiet partitions ([`QUIET_EVERY`]).
    quiet: bool,
    tx: SyncSender<Message<R>>,
    acks: Receiver<()>,
    handover: Arc<Handover>,
    thread: ScopedJoinHandle<'s, Result<()>>,
}

/// How often the task's thread looks for partitions without records while others have
/// them, to tell their instances they idle (as the source tells them all when it waits):
/// they hand their batched output on, and an instance of a first stage marks its
/// partition idle to the second after the table's idle timeout
/// ([`super::staged::StageOut::idle`]).
const QUIET_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// The position of one partition, as the Kafka source encodes positions.
fn position_of(topic: &str, partition: i32, next: i64) -> Result<Vec<u8>> {
    encode_position(&vec![(topic.to_string(), partition, next)])
}

/// Ends an instance's thread and gives its error (or one saying it ended early).
fn joined<R>(instance: Instance<'_, R>) -> Error {
    let Instance { tx, thread, topic, partition, .. } = instance;
    drop(tx);
    match thread.join() {
        Ok(Err(e)) => e,
        Ok(Ok(())) => {
            Error::State(format!("internal error: the instance of {topic} partition {partition} ended early"))
        }
        Err(_) => Error::State(format!("the instance of {topic} partition {partition} panicked")),
    }
}

struct Router<'s, 'env, R, F> {
    scope: &'s Scope<'s, 'env>,
    cx: &'env Context,
    name: &'env str,
    instance: &'env F,
    store: &'env PartitionStore,
    instances: BTreeMap<usize, Instance<'s, R>>,
    /// Rows handed on, and when quiet partitions were last looked for.
    rows: u64,
    looked: std::time::Instant,
}

impl<'s, 'env, R, F> Router<'s, 'env, R, F>
where
    R: Send + 'env,
    F: Fn(&Context, Partition<R>) -> Result<()> + Sync,
{
    /// Split `split` starts: its instance, restored from the partition's snapshot.
    fn start(&mut self, split: usize) -> Result<()> {
        let (topic, partition, start, restored) = self.store.start(split)?;
        match &restored {
            Some((path, _, _)) => tracing::info!(
                task = self.name,
                topic,
                partition,
                offset = start,
                "partition {partition} of {topic} assigned: its state restored from {}",
                path.display()
            ),
            None => tracing::info!(
                task = self.name,
                topic,
                partition,
                offset = start,
                "partition {partition} of {topic} assigned: no state kept for it, it starts at offset {start}"
            ),
        }
        let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
        let (ack, acks) = mpsc::channel();
        let files = restored.as_ref().and_then(|(_, _, files)| files.clone());
        let handover = Arc::new(Handover::new(self.store.partition_dir(&topic, partition), files));
        let input = Partition {
            name: format!("{}@{topic}:{partition}", self.name),
            topic: topic.clone(),
            partition,
            rx,
            ack,
            handover: Arc::clone(&handover),
            restored,
        };
        let (cx, instance) = (self.cx, self.instance);
        let thread = std::thread::Builder::new()
            .name(format!("{}@{partition}", self.name))
            .spawn_scoped(self.scope, move || {
                let _scope = crate::metrics::TaskScope::enter(cx.metrics());
                instance(cx, input)
            })
            .map_err(|e| Error::State(format!("cannot start a thread for {topic} partition {partition}: {e}")))?;
        let old = self.instances.insert(
            split,
            Instance {
                topic,
                partition,
                next: start,
                batch: Vec::with_capacity(BATCH),
                quiet: false,
                tx,
                acks,
                handover,
                thread,
            },
        );
        match old {
            Some(old) => Err(joined(old)),
            None => Ok(()),
        }
    }

    /// Sends `message` to split `split`'s instance; a failed instance's error otherwise.
    fn send(&mut self, split: usize, message: Message<R>) -> Result<()> {
        let Some(i) = self.instances.get(&split) else { return Ok(()) };
        if i.tx.send(message).is_ok() {
            return Ok(());
        }
        Err(self.instances.remove(&split).map_or_else(task_gone, joined))
    }

    fn flush(&mut self, split: usize) -> Result<()> {
        let Some(i) = self.instances.get_mut(&split) else { return Ok(()) };
        if i.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut i.batch, Vec::with_capacity(BATCH));
        self.send(split, Message::Rows(rows))
    }

    fn acked(&mut self, split: usize) -> Result<()> {
        let Some(i) = self.instances.get(&split) else { return Ok(()) };
        if i.acks.recv().is_ok() {
            return Ok(());
        }
        Err(self.instances.remove(&split).map_or_else(task_gone, joined))
    }

    /// At most every [`QUIET_EVERY`]: the instances of partitions without a record since
    /// the last look are told they idle.
    fn look_for_quiet(&mut self) -> Result<()> {
        if self.looked.elapsed() < QUIET_EVERY {
            return Ok(());
        }
        self.looked = std::time::Instant::now();
        let quiet: Vec<usize> = self.instances.iter().filter(|(_, i)| i.quiet).map(|(s, _)| *s).collect();
        for i in self.instances.values_mut() {
            i.quiet = true;
        }
        for s in quiet {
            self.flush(s)?;
            self.send(s, Message::Idle)?;
        }
        Ok(())
    }

    /// A barrier of the source: every instance gets it at its partition's position; with a
    /// checkpoint, once it is complete, their snapshots go to the shared folder.
    fn on_barrier(&mut self, task: &mut TaskCheckpoint<'_>, barrier: &Barrier) -> Result<()> {
        if !barrier.position.is_empty() {
            let offsets = decode_position(&barrier.position)?;
            for i in self.instances.values_mut() {
                if let Some((_, _, next)) = offsets.iter().find(|(t, p, _)| *t == i.topic && *p == i.partition) {
                    i.next = *next;
                }
            }
        }
        let splits: Vec<usize> = self.instances.keys().copied().collect();
        // All barriers out first, then the acknowledgements: the instances work at once.
        for &s in &splits {
            self.flush(s)?;
            if let Some(i) = self.instances.get(&s) {
                let position = position_of(&i.topic, i.partition, i.next)?;
                self.send(s, Message::Barrier(Barrier { checkpoint: barrier.checkpoint, position }))?;
            }
        }
        for &s in &splits {
            self.acked(s)?;
        }
        let Some(id) = barrier.checkpoint else { return Ok(()) };
        #[allow(clippy::type_complexity)]
        let snapshots: Vec<(String, i32, i64, Option<(Vec<u8>, Option<PathBuf>)>)> =
            self.instances.values().map(|i| (i.topic.clone(), i.partition, i.next, i.handover.take())).collect();
        task.arrive(id, SnapshotWriter::default(), &[])?;
        if self.cx.checkpoints().is_none_or(|c| c.completed() < id) {
            if self.cx.failed() {
                // Another task failed: the checkpoint will not complete.
                return Err(Error::PeerStopped("another task failed during a checkpoint".into()));
            }
            // It failed (a part could not be written): the partitions go on from their
            // last snapshots, and the source commits nothing.
            tracing::warn!(
                task = self.name,
                checkpoint = id,
                "checkpoint {id} failed: the partitions' state is not kept"
            );
            return Ok(());
        }
        for (topic, partition, next, snapshot) in snapshots {
            if let Some((bytes, files)) = snapshot {
                self.store.save(&topic, partition, next, &bytes, files.as_deref())?;
            }
        }
        self.store.saved.store(true, Ordering::Release);
        Ok(())
    }

    /// Split `split` was taken away: its instance ends. Given up (not lost), the source
    /// took a checkpoint first, which wrote the partition's state for its next owner at
    /// the position after the records handled; lost, its next owner goes on from the last
    /// checkpoint.
    fn hand_back(&mut self, split: usize, lost: bool) -> Result<()> {
        if let Some(i) = self.instances.get(&split) {
            let (topic, partition, next) = (&i.topic, i.partition, i.next);
            if lost {
                tracing::warn!(
                    task = self.name,
                    topic,
                    partition,
                    "partition {partition} of {topic} lost to another process: it goes on there from its last \
                     checkpoint"
                );
            } else {
                tracing::info!(
                    task = self.name,
                    topic,
                    partition,
                    offset = next,
                    "partition {partition} of {topic} given up at offset {next}"
                );
            }
        }
        self.end(split, false)
    }

    /// Ends split `split`'s instance (`exhausted`: its input ended, it fires what is open;
    /// its snapshots stay: the position after what it fired is not committed).
    fn end(&mut self, split: usize, exhausted: bool) -> Result<()> {
        self.flush(split)?;
        let Some(i) = self.instances.remove(&split) else { return Ok(()) };
        i.handover.set_input_ended(exhausted);
        let sent = i.tx.send(Message::End);
        let Instance { tx, thread, topic, partition, .. } = i;
        drop(tx);
        match thread.join() {
            Ok(result) => result.and(sent.map_err(|_| task_gone())),
            Err(_) => Err(Error::State(format!("the instance of {topic} partition {partition} panicked"))),
        }
    }

    fn on_event(&mut self, task: &mut TaskCheckpoint<'_>, event: SourceEvent<Record<R>>) -> Result<()> {
        match event {
            SourceEvent::Row(split, record) => {
                let Some(i) = self.instances.get_mut(&split) else {
                    return Err(Error::State(format!("internal error: a row of split {split}, which did not start")));
                };
                i.next = record.offset + 1;
                i.quiet = false;
                i.batch.push(record);
                if i.batch.len() >= BATCH {
                    self.flush(split)?;
                }
                self.rows += 1;
                if self.rows.is_multiple_of(BATCH as u64) {
                    self.look_for_quiet()?;
                }
                Ok(())
            }
            SourceEvent::SplitStart(split) => self.start(split),
            SourceEvent::SplitEnd(split) => match self.store.take_revoked(split) {
                Some(lost) => self.hand_back(split, lost),
                // A bounded partition's end: its instance fires at the end of the run.
                None => Ok(()),
            },
            SourceEvent::Idle => {
                let splits: Vec<usize> = self.instances.keys().copied().collect();
                for s in splits {
                    self.flush(s)?;
                    self.send(s, Message::Idle)?;
                }
                Ok(())
            }
            SourceEvent::Barrier(barrier) => self.on_barrier(task, &barrier),
            _ => Ok(()),
        }
    }
}

/// The source of a `kafka` table in a pipeline keeping state per partition: as
/// [`super::source`], with the group assigning partitions cooperatively
/// (`cooperative-sticky`) unless `properties.partition.assignment.strategy` says otherwise,
/// so that a rebalance moves only the partitions that change owner, and their state. Every
/// Kafka source of such a pipeline is made so: the members of a group must agree on the
/// assignment protocol.
pub fn source<R: DeserializeOwned>(
    opts: &TableOptions,
    columns: &'static [Column],
    validate: fn(&R) -> Result<(), String>,
) -> Result<KafkaSource<R>> {
    super::source(&options(opts), columns, validate)
}

/// The options of a source of [`source`]: the assignment strategy set.
pub(super) fn options(opts: &TableOptions) -> TableOptions {
    const STRATEGY: &str = "properties.partition.assignment.strategy";
    let mut opts = opts.clone();
    if opts.get(STRATEGY).is_none() {
        opts.set(STRATEGY, "cooperative-sticky");
    }
    opts
}

/// The code of a task's instance, as generated: `f` over one partition's records (the
/// bound gives the closure its signature).
pub fn instance<R, F>(f: F) -> F
where
    F: Fn(&Context, Partition<R>) -> Result<()> + Sync,
{
    f
}

/// Runs task `name` reading `source` with its keyed state per partition: `instance` is the
/// task's code over one partition's records ([`Partition`]), run on a thread per partition
/// assigned. Needs checkpoints and the shared folder ([`STATE_DIR`]).
pub fn run<R, F>(cx: &Context, name: &str, source: KafkaSource<R>, instance: &F) -> Result<()>
where
    R: DeserializeOwned + Send,
    F: Fn(&Context, Partition<R>) -> Result<()> + Sync,
{
    let Some(dir) = cx.setting(STATE_DIR).map(str::trim).filter(|d| !d.is_empty()) else {
        return Err(Error::Config(format!(
            "task `{name}` keeps its state per Kafka partition ('scale-out.mode' = 'partition'): set '{STATE_DIR}' \
             to a folder every process of the pipeline shares"
        )));
    };
    if cx.checkpoints().is_none() {
        return Err(Error::Config(format!(
            "task `{name}` keeps its state per Kafka partition ('scale-out.mode' = 'partition'), which moves between \
             processes with checkpoints: set 'state.checkpoints.dir' (this process's own) and \
             'execution.checkpointing.interval'"
        )));
    }
    let dir = PathBuf::from(dir.strip_prefix("file://").unwrap_or(dir));
    let mut task = TaskCheckpoint::new(cx, name)?;
    if task.already_done() {
        return Ok(());
    }
    // The process's own checkpoint holds nothing of the task: its partitions' state is in
    // the shared folder.
    if let Some(restored) = task.take_restored() {
        restored.done()?;
    }
    let store = Arc::new(PartitionStore::open(&dir, name)?);
    let source = source.with_keyed_state().with_partitions(Arc::clone(&store));
    let exhausted = std::thread::scope(|scope| -> Result<bool> {
        let mut router = Router {
            scope,
            cx,
            name,
            instance,
            store: &store,
            instances: BTreeMap::new(),
            rows: 0,
            looked: std::time::Instant::now(),
        };
        crate::metrics::source_running();
        if let Err(e) = source.run_events(cx, |event| router.on_event(&mut task, event)) {
            // Every instance ends (their input closes); one that panicked is joined here,
            // not by the scope (which would panic in turn).
            for (_, instance) in std::mem::take(&mut router.instances) {
                let _ = joined(instance);
            }
            return Err(e);
        }
        let exhausted = !cx.stopped();
        let splits: Vec<usize> = router.instances.keys().copied().collect();
        let mut first_error = None;
        for s in splits {
            if let Err(e) = router.end(s, exhausted) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(exhausted), Err)
    })?;
    task.finish_if(exhausted);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of a partition folder's entries, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_partition_starts_from_its_newest_snapshot_and_older_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = PartitionStore::open(dir.path(), "clicks").unwrap();
        assert_eq!(store.offset_of("t", 0).unwrap(), None);
        store.save("t", 0, 9, b"nine", None).unwrap();
        store.save("t", 0, 120, b"one hundred twenty", None).unwrap();
        assert!(store.save("t", 1, 5, b"five", None).is_err(), "partition 1 was never claimed");
        assert_eq!(store.offset_of("t", 1).unwrap(), None);
        store.save("t", 1, 5, b"five", None).unwrap();
        // A file written aside by another process, not renamed yet, is no snapshot.
        std::fs::write(dir.path().join("clicks/t/0/.130.7.other.tmp"), b"half").unwrap();
        assert_eq!(store.offset_of("t", 0).unwrap(), Some(120));
        let snapshots: Vec<SnapshotKey> =
            names(&dir.path().join("clicks/t/0")).iter().filter_map(|n| snapshot_key(n, ".snapshot")).collect();
        assert_eq!(snapshots.iter().map(|k| (k.0, k.1)).collect::<Vec<_>>(), [(1, 120)]);
        // A snapshot at the same offset again is newer (its stamp), and the other goes.
        store.save("t", 0, 120, b"again", None).unwrap();
        assert_eq!(store.offset_of("t", 0).unwrap(), Some(120));
        // The split assigned there gets the snapshot read for its start, once.
        store.assigned(3, "t", 0, 120);
        let (topic, partition, start, snapshot) = store.start(3).unwrap();
        assert_eq!((topic.as_str(), partition, start), ("t", 0, 120));
        assert_eq!(snapshot.map(|(_, b, files)| (b, files)), Some((b"again".to_vec(), None)));
        assert!(store.start(3).unwrap().3.is_none());
        assert!(store.start(4).is_err(), "a split never assigned");
        let left: Vec<String> =
            names(&dir.path().join("clicks/t/0")).into_iter().filter(|n| n.ends_with(".snapshot")).collect();
        assert_eq!(left.len(), 1, "{left:?}");
        // Revocations are told once.
        assert_eq!(store.take_revoked(3), None);
        store.revoked(3, false);
        assert_eq!((store.take_revoked(3), store.take_revoked(3)), (Some(false), None));
    }

    #[test]
    fn state_files_move_into_place_with_their_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = PartitionStore::open(dir.path(), "clicks").unwrap();
        let part = dir.path().join("clicks/t/2");
        let token = crate::checkpoint::process_token();
        let stage = |n: u8| {
            let staged = part.join(format!(".staging-{token}-{n}"));
            std::fs::create_dir_all(&staged).unwrap();
            std::fs::write(staged.join("CURRENT"), [n]).unwrap();
            staged
        };
        let first = stage(1);
        assert_eq!(store.offset_of("t", 2).unwrap(), None);
        store.save("t", 2, 10, b"ten", Some(&first)).unwrap();
        let stale = stage(9);
        let second = stage(2);
        store.save("t", 2, 20, b"twenty", Some(&second)).unwrap();
        // The newest snapshot's files are beside it (with the claim it was written under);
        // older ones and this process's stale staging are gone.
        let left = names(&part);
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(left[0].starts_with("0000000001-00000000000000000020.") && left[0].ends_with(".snapshot"), "{left:?}");
        assert_eq!(left[1], left[0].replace(".snapshot", ".state"));
        assert_eq!(left[2], "0000000001.claim");
        assert!(!stale.exists());
        assert_eq!(store.offset_of("t", 2).unwrap(), Some(20));
        store.assigned(0, "t", 2, 20);
        let (_, _, _, read) = store.start(0).unwrap();
        let (_, bytes, files) = read.expect("a snapshot");
        assert_eq!(bytes, b"twenty");
        assert_eq!(std::fs::read(files.expect("its files").join("CURRENT")).unwrap(), [2]);
        // Another process's leftovers go once they are old; its recent ones stay.
        let theirs = part.join(".staging-0123456789abcdef-4");
        let recent = part.join(".staging-fedcba9876543210-5");
        std::fs::create_dir_all(&theirs).unwrap();
        std::fs::create_dir_all(&recent).unwrap();
        let old_time = std::time::SystemTime::now() - STALE - std::time::Duration::from_secs(60);
        std::fs::File::open(&theirs).unwrap().set_modified(old_time).unwrap();
        store.save("t", 2, 30, b"thirty", None).unwrap();
        assert!(!theirs.exists() && recent.exists());
    }

    #[test]
    fn a_process_that_lost_its_partition_neither_writes_nor_removes_its_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("clicks/t/1");
        // A snapshot written before claims existed is the oldest of all.
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(part.join("00000000000000000500.7.snapshot"), b"legacy").unwrap();
        let (a, b) =
            (PartitionStore::open(dir.path(), "clicks").unwrap(), PartitionStore::open(dir.path(), "clicks").unwrap());
        assert_eq!(a.offset_of("t", 1).unwrap(), Some(500));
        let staged = |n: u8| {
            let staged = part.join(format!(".staging-{}-{n}", crate::checkpoint::process_token()));
            std::fs::create_dir_all(&staged).unwrap();
            std::fs::write(staged.join("CURRENT"), [n]).unwrap();
            staged
        };
        assert!(a.save("t", 1, 510, b"a at 510", Some(&staged(1))).unwrap());
        assert!(a.save("t", 1, 520, b"a at 520", Some(&staged(2))).unwrap());
        // The group gives the partition to b while a still runs (it was dropped from the
        // group): b claims it and starts from a's newest snapshot.
        assert_eq!(b.offset_of("t", 1).unwrap(), Some(520));
        b.assigned(0, "t", 1, 520);
        let (_, _, _, read) = b.start(0).unwrap();
        let (_, bytes, files) = read.expect("a's snapshot");
        assert_eq!(bytes, b"a at 520");
        let files = files.expect("its files");
        // a's next checkpoint writes nothing and removes nothing: b is copying those files.
        let late = staged(3);
        assert!(!a.save("t", 1, 530, b"a at 530", Some(&late)).unwrap());
        assert!(!late.exists(), "what a staged for it goes");
        assert!(a.fenced("t", 1) && !b.fenced("t", 1), "a commits no offset of it");
        assert_eq!(std::fs::read(files.join("CURRENT")).unwrap(), [2]);
        // b's snapshots win over a's even at an offset below a's: b's claim is newer.
        assert!(b.save("t", 1, 515, b"b at 515", None).unwrap());
        let c = PartitionStore::open(dir.path(), "clicks").unwrap();
        assert_eq!(c.offset_of("t", 1).unwrap(), Some(515));
        c.assigned(0, "t", 1, 515);
        assert_eq!(c.start(0).unwrap().3.map(|(_, bytes, _)| bytes), Some(b"b at 515".to_vec()));
        // b wrote its snapshot after c claimed the partition: b's stays (c may have read
        // it), and nothing older goes while c's claim is the newest.
        let left = names(&part);
        assert!(left.contains(&"0000000003.claim".to_string()), "{left:?}");
        assert!(!b.save("t", 1, 540, b"b at 540", None).unwrap());
        assert!(c.save("t", 1, 560, b"c at 560", None).unwrap());
        // c's first snapshot removes the older snapshots, their files and claims.
        let left = names(&part);
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left[0].starts_with("0000000003-00000000000000000560."), "{left:?}");
        assert_eq!(left[1], "0000000003.claim");
    }

    #[test]
    fn an_instance_hands_its_snapshot_over_and_learns_how_its_input_ended() {
        let cx = Context::new(Vec::new(), Default::default());
        let (tx, rx) = mpsc::sync_channel(IN_FLIGHT);
        let (ack, acks) = mpsc::channel();
        let handover = Arc::new(Handover::default());
        let mut saved = SnapshotWriter::default();
        saved.save("n", "u64", &mut crate::exchange::UpstreamWatermark::new()).unwrap();
        let restored = saved.finish(&position_of("t", 2, 40).unwrap()).unwrap();
        let mut input: Partition<u8> = Partition {
            name: "clicks@t:2".into(),
            topic: "t".into(),
            partition: 2,
            rx,
            ack,
            handover: Arc::clone(&handover),
            restored: Some((PathBuf::from("40.snapshot"), restored, None)),
        };
        let mut task = input.task(&cx).unwrap();
        assert!(task.enabled() && !task.already_done());
        let mut reader = task.take_restored().expect("restored");
        let offsets = decode_position(reader.position()).unwrap();
        assert_eq!(offsets, [("t".to_string(), 2, 40)]);
        let mut wm = crate::exchange::UpstreamWatermark::new();
        reader.load("n", "u64", &mut wm).unwrap();
        reader.done().unwrap();
        tx.send(Message::Barrier(Barrier { checkpoint: Some(7), position: position_of("t", 2, 41).unwrap() })).unwrap();
        tx.send(Message::End).unwrap();
        let mut events = Vec::new();
        input
            .run_events(&cx, |e| {
                if let SourceEvent::Barrier(b) = &e {
                    task.arrive(b.checkpoint.unwrap(), SnapshotWriter::default(), &b.position)?;
                }
                events.push(format!("{e:?}"));
                Ok(())
            })
            .unwrap();
        assert!(events[0].contains("SplitStart(0)") && events[1].contains("Barrier"), "{events:?}");
        acks.recv().expect("the barrier is acknowledged");
        let (bytes, files) = handover.take().expect("the snapshot is handed over");
        assert!(files.is_none(), "state in memory has no files");
        let reader = SnapshotReader::new("handed".into(), &bytes).unwrap();
        assert_eq!(decode_position(reader.position()).unwrap(), [("t".to_string(), 2, 41)]);
        assert!(handover.take().is_none());
        // Taken away or stopped: what is open stays in the state; exhausted: it fires.
        assert!(!task.input_ended());
        handover.set_input_ended(true);
        assert!(task.input_ended());
    }
}
