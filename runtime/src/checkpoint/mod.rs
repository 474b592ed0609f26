//! Checkpoints: a consistent snapshot of every task's source position and operator state,
//! taken while the pipeline runs, that a restarted pipeline resumes from with exactly the
//! output it would have had.
//!
//! # How a checkpoint is taken
//!
//! Tasks do not exchange rows (each reads its own source and writes to shared sinks), so
//! a consistent cut is: every task stopped at a barrier, everything it emitted before the
//! barrier in the sinks, nothing after. A round goes:
//!
//! 1. A checkpoint is requested: every `execution.checkpointing.interval`, when the
//!    pipeline is stopped gracefully (the final checkpoint), or by a test knob. Sources
//!    look for a request between records ([`Barriers::due`]) and emit a
//!    [`SourceEvent::Barrier`](crate::connectors::SourceEvent::Barrier) carrying their
//!    position after the records before it.
//! 2. At the barrier the task flushes its sink writers, encodes its operators' state
//!    ([`SnapshotWriter`]) and [`arrives`](TaskCheckpoint::arrive): it waits until every
//!    running task has arrived (tasks that ended are no longer waited for).
//! 3. The last task to arrive completes the round: it writes each task's snapshot to
//!    `chk-<id>/task-<name>.bin` in `state.checkpoints.dir`, asks every sink to prepare
//!    its commit (a file sink closes its part files; their names are the commit info), writes
//!    `chk-<id>/_metadata` atomically — from then on the checkpoint is complete — then lets
//!    the sinks commit (part files renamed into place), removes checkpoints beyond
//!    `state.checkpoints.num-retained`, and releases the tasks. A round that fails before
//!    its metadata is written is counted and skipped; the job goes on, and what the sinks
//!    prepared is committed by the next round.
//!
//! # Restoring
//!
//! At start the latest complete checkpoint in the directory is restored (or the one given
//! with `--from-savepoint DIR`): sinks redo the commit it recorded and drop files written
//! after it, and each task restores its source's position and its operators' state before
//! reading on. A snapshot is only read back into the operators that wrote it: every
//! section carries the operator's id and a fingerprint of its state's types, and a
//! snapshot of another query is refused with a message naming the operator.

mod rescale;
pub mod snapshot;
mod store;

pub use rescale::Rescaled;
#[cfg(test)]
pub(crate) use rescale::rescaled;
pub use snapshot::{Rescale, Snapshot, SnapshotReader, SnapshotWriter, decode, encode};

use crate::error::{Error, Result};
use crate::pipeline::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use store::Metadata;

/// How often sources look at the clock for a due checkpoint, in records.
const CLOCK_EVERY: u32 = 1024;

/// Where and how often checkpoints are taken; from the pipeline's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointConfig {
    /// `execution.checkpointing.interval`; `None`: only the final checkpoint at a
    /// graceful stop (and savepoints).
    pub interval: Option<Duration>,
    /// `state.checkpoints.dir`.
    pub dir: PathBuf,
    /// `state.checkpoints.num-retained` (at least 1).
    pub retained: usize,
    /// `--from-savepoint DIR`: the checkpoint or savepoint to start from, instead of the
    /// latest in `dir`.
    pub restore_from: Option<PathBuf>,
    /// `state.savepoints.dir`: where savepoints go (default: `savepoints` in `dir`).
    pub savepoints: PathBuf,
    /// Test knob (`DFL_CHECKPOINT_EVERY_RECORDS`): a checkpoint every this many records of
    /// a source, so that small inputs have checkpoints in their middle.
    pub every_records: Option<u64>,
    /// Test knob (`DFL_CRASH_AFTER_CHECKPOINTS`): abort the process (as `kill -9` would)
    /// right after this many checkpoints have completed.
    pub crash_after: Option<u64>,
}

impl CheckpointConfig {
    /// The configuration the settings give, or `None` when checkpointing is off (no
    /// `state.checkpoints.dir`).
    pub fn from_settings(settings: &BTreeMap<String, String>) -> Result<Option<Self>> {
        let get = |k: &str| settings.get(k).map(String::as_str).map(str::trim).filter(|v| !v.is_empty());
        let interval = match get("execution.checkpointing.interval") {
            None => None,
            Some(v) => match crate::options::parse_duration_ms(v) {
                Some(0) => None,
                Some(ms) => Some(Duration::from_millis(ms)),
                None => {
                    return Err(Error::Config(format!(
                        "setting 'execution.checkpointing.interval': '{v}' is not a duration such as '10 s'"
                    )));
                }
            },
        };
        let restore_from = get("execution.savepoint.path").map(PathBuf::from);
        let Some(dir) = get("state.checkpoints.dir") else {
            if interval.is_some() {
                return Err(Error::Config(
                    "setting 'execution.checkpointing.interval' needs 'state.checkpoints.dir' (where checkpoints are \
                     written)"
                        .into(),
                ));
            }
            if restore_from.is_some() {
                return Err(Error::Config(
                    "--from-savepoint needs 'state.checkpoints.dir' (where the resumed pipeline writes its checkpoints)"
                        .into(),
                ));
            }
            return Ok(None);
        };
        let dir = PathBuf::from(dir.strip_prefix("file://").unwrap_or(dir));
        let retained = match get("state.checkpoints.num-retained") {
            None => 1,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(Error::Config(format!(
                        "setting 'state.checkpoints.num-retained': '{v}' is not a number of at least 1"
                    )));
                }
            },
        };
        let savepoints = match get("state.savepoints.dir") {
            Some(d) => PathBuf::from(d.strip_prefix("file://").unwrap_or(d)),
            None => dir.join("savepoints"),
        };
        let knob = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok()).filter(|n| *n > 0);
        Ok(Some(CheckpointConfig {
            interval,
            dir,
            retained,
            restore_from,
            savepoints,
            every_records: knob("DFL_CHECKPOINT_EVERY_RECORDS"),
            crash_after: knob("DFL_CRASH_AFTER_CHECKPOINTS"),
        }))
    }
}

/// A sink as checkpoints see it: it prepares a commit of what it was given, commits it
/// once the checkpoint is complete, and at a restart redoes the commit of the checkpoint
/// restored (and drops what was written after it).
pub trait Committer: Send {
    /// Makes everything written so far ready to commit; the returned info (recorded in
    /// the checkpoint) is what [`commit`](Self::commit) and [`recover`](Self::recover) need.
    fn prepare(&mut self, checkpoint: u64) -> Result<serde_json::Value>;
    /// Commits what checkpoint `checkpoint` prepared.
    fn commit(&mut self, checkpoint: u64, info: &serde_json::Value) -> Result<()>;
    /// At start: redoes the commit recorded in the restored checkpoint (`None`: starting
    /// afresh) and removes what an earlier run wrote after it.
    fn recover(&mut self, info: Option<&serde_json::Value>) -> Result<()>;
}

/// The state of the current round and of the tasks.
#[derive(Default)]
struct Round {
    /// Tasks running (registered and not ended).
    live: BTreeSet<String>,
    /// Tasks whose input has ended (they have no state left): restored and new.
    finished: BTreeSet<String>,
    /// Snapshots of the tasks that arrived in this round, with the folder of the state a
    /// task's backend keeps on disk (a RocksDB checkpoint), if any.
    arrived: BTreeMap<String, (Vec<u8>, Option<PathBuf>)>,
    /// The highest checkpoint id any arrived task's barrier had.
    id: u64,
    /// Counts completed (or failed) rounds: waiters wait for it to change.
    generation: u64,
    sinks: Vec<(String, Box<dyn Committer>)>,
    /// An error that completing a round hit after the checkpoint was complete (a commit):
    /// the tasks stop with it.
    fatal: Option<String>,
    /// Whether a task ran in this run (else the run's end has nothing to record).
    ran: bool,
    /// When the first task of the current round arrived.
    first_arrival: Option<std::time::Instant>,
}

/// The checkpoint coordinator of a running pipeline (in its [`Context`]).
pub struct Checkpoints {
    config: CheckpointConfig,
    pipeline: String,
    /// The latest checkpoint id requested; sources emit a barrier when it passes theirs.
    requested: AtomicU64,
    /// When the next periodic checkpoint is due (ms since the epoch; `i64::MAX`: never).
    next_due_ms: AtomicI64,
    /// The latest checkpoint completed.
    completed: AtomicU64,
    /// Whether the final checkpoint of a graceful stop was requested.
    final_requested: AtomicBool,
    /// Checkpoints that failed before completing.
    failed: AtomicU64,
    /// Checkpoints completed by this run (for the crash test knob).
    completed_in_run: AtomicU64,
    /// The longest checkpoint of this run (µs, from the first task's arrival to complete).
    last_stats: AtomicU64,
    /// The largest checkpoint of this run (bytes of task snapshots).
    last_bytes: AtomicU64,
    /// Set (by SIGUSR1) to ask for a savepoint.
    savepoint_wanted: std::sync::Arc<AtomicBool>,
    /// The next checkpoint to complete is also kept as a savepoint.
    savepoint_next: AtomicBool,
    round: Mutex<Round>,
    changed: Condvar,
    /// The checkpoint restored, until its tasks and sinks have taken their parts.
    restored: Mutex<Option<Metadata>>,
    /// What metrics show of the checkpoints.
    meter: std::sync::Arc<crate::metrics::CheckpointMeter>,
    /// The folder's lock, held while the pipeline runs: one process per folder.
    _lock: std::fs::File,
}

impl Checkpoints {
    /// The coordinator of pipeline `pipeline`, restoring the latest complete checkpoint of
    /// `config.dir` (or `config.restore_from`).
    pub fn open(config: CheckpointConfig, pipeline: &str) -> Result<Self> {
        std::fs::create_dir_all(&config.dir).map_err(|e| Error::io(&config.dir, e))?;
        let lock = store::lock(&config.dir)?;
        // State staged by an earlier run for a checkpoint it did not complete.
        let staging = store::staging_dir(&config.dir);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        }
        let restored = match &config.restore_from {
            Some(path) => Some(store::read_metadata(path)?),
            None => store::latest(&config.dir)?,
        };
        if let Some(m) = &restored
            && m.pipeline != pipeline
        {
            tracing::warn!(
                pipeline,
                checkpoint = m.id,
                "restoring {} written by pipeline `{}`",
                m.dir.display(),
                m.pipeline
            );
        }
        let first = restored.as_ref().map_or(0, |m| m.id);
        let now = crate::time::epoch_ms();
        let next_due = config.interval.map_or(i64::MAX, |i| now.saturating_add(i.as_millis() as i64));
        let finished = restored.as_ref().map(|m| m.finished.clone()).unwrap_or_default();
        Ok(Checkpoints {
            pipeline: pipeline.to_string(),
            requested: AtomicU64::new(first),
            next_due_ms: AtomicI64::new(next_due),
            completed: AtomicU64::new(first),
            final_requested: AtomicBool::new(false),
            failed: AtomicU64::new(0),
            completed_in_run: AtomicU64::new(0),
            last_stats: AtomicU64::new(0),
            last_bytes: AtomicU64::new(0),
            savepoint_wanted: std::sync::Arc::new(AtomicBool::new(false)),
            savepoint_next: AtomicBool::new(false),
            round: Mutex::new(Round { finished, id: first, ..Round::default() }),
            changed: Condvar::new(),
            restored: Mutex::new(restored),
            meter: std::sync::Arc::default(),
            _lock: lock,
            config,
        })
    }

    /// What metrics show of the checkpoints (completed, failed, durations, sizes).
    pub fn meter(&self) -> std::sync::Arc<crate::metrics::CheckpointMeter> {
        std::sync::Arc::clone(&self.meter)
    }

    /// The id of the checkpoint restored at start, if any.
    pub fn restored_id(&self) -> Option<u64> {
        self.restored.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|m| m.id)
    }

    /// The folder of the checkpoints.
    pub fn dir(&self) -> &std::path::Path {
        &self.config.dir
    }

    /// The latest completed checkpoint's id (0: none yet).
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Acquire)
    }

    /// The longest checkpoint of this run (from the first task at its barrier to complete)
    /// and the largest (bytes of task snapshots).
    pub fn longest_and_largest(&self) -> (Duration, u64) {
        (Duration::from_micros(self.last_stats.load(Ordering::Relaxed)), self.last_bytes.load(Ordering::Relaxed))
    }

    /// Checkpoints that failed (and were skipped).
    pub fn failures(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// The tasks of the query, before any starts: each is waited for at every checkpoint
    /// until it ends (unless its input had ended before the checkpoint restored). Checks
    /// them against the checkpoint restored: every task that had state must be in the query.
    pub fn expect_tasks(&self, names: &[&str]) -> Result<()> {
        let restored = self.restored.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut round = self.round.lock().unwrap_or_else(|p| p.into_inner());
            for name in names {
                if !restored.as_ref().is_some_and(|m| m.finished.contains(*name)) {
                    round.live.insert((*name).to_string());
                }
            }
        }
        let Some(m) = restored.as_ref() else { return Ok(()) };
        // Workers of tasks run N-wide (`clicks#2`) count as one: a checkpoint is restored
        // at another parallelism (`rescale.rs`).
        let ours = rescale::shape(names.iter().copied());
        let unknown: Vec<String> = rescale::shape(m.tasks.iter().chain(&m.finished).map(String::as_str))
            .into_iter()
            .filter(|t| !ours.contains(t))
            .collect();
        if let Some(t) = ours.iter().find(|t| t.ends_with("#*") && m.tasks.contains(t.trim_end_matches("#*"))) {
            let base = t.trim_end_matches("#*");
            if !rescale::shape(m.tasks.iter().chain(&m.finished).map(String::as_str)).contains(t.as_str()) {
                return Err(Error::State(format!(
                    "{} has the state of task `{base}` run 1-wide, and this run runs it N-wide: a checkpoint restores \
                     at another parallelism of a task compiled N-wide, not across that change (recompile with the \
                     parallelism it was taken with)",
                    m.dir.display()
                )));
            }
        }
        if let Some(t) = unknown.iter().find(|t| t.ends_with("#*")) {
            return Err(Error::State(format!(
                "{} has state of task `{}` run N-wide ('parallelism.default'), which this query runs 1-wide: it \
                 was taken from a different query",
                m.dir.display(),
                t.trim_end_matches("#*")
            )));
        }
        if !unknown.is_empty() {
            return Err(Error::State(format!(
                "{} has state of source(s) {} that this query does not read: it was taken from a different query",
                m.dir.display(),
                unknown.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    /// Registers a sink: it recovers from the checkpoint restored, then takes part in
    /// every checkpoint.
    pub fn register_sink(&self, name: &str, mut sink: Box<dyn Committer>) -> Result<()> {
        let info = self
            .restored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|m| m.sinks.get(name).cloned().unwrap_or(serde_json::Value::Null));
        sink.recover(info.as_ref())?;
        self.round.lock().unwrap_or_else(|p| p.into_inner()).sinks.push((name.to_string(), sink));
        Ok(())
    }

    /// Requests the final checkpoint of a graceful stop (once).
    fn request_final(&self) {
        if !self.final_requested.swap(true, Ordering::AcqRel) {
            self.requested.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The flag that asks for a savepoint when set (the pipeline sets it on SIGUSR1).
    pub fn savepoint_flag(&self) -> std::sync::Arc<AtomicBool> {
        std::sync::Arc::clone(&self.savepoint_wanted)
    }

    /// Requests a periodic checkpoint if one is due at `now` (or a savepoint if asked for).
    fn tick(&self, now: i64) {
        if self.savepoint_wanted.swap(false, Ordering::AcqRel) {
            self.savepoint_next.store(true, Ordering::Release);
            self.requested.fetch_add(1, Ordering::AcqRel);
        }
        let due = self.next_due_ms.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let interval = self.config.interval.map_or(i64::MAX, |i| i.as_millis() as i64);
        if self
            .next_due_ms
            .compare_exchange(due, now.saturating_add(interval), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.requested.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Task `name` arrives at a barrier with its snapshot; waits until the round
    /// completes (or, if it is the last to arrive, completes it).
    fn arrive(&self, name: &str, id: u64, snapshot: Vec<u8>, state: Option<PathBuf>, cx: &Context) -> Result<()> {
        let mut round = self.round.lock().unwrap_or_else(|p| p.into_inner());
        round.first_arrival.get_or_insert_with(std::time::Instant::now);
        round.arrived.insert(name.to_string(), (snapshot, state));
        round.id = round.id.max(id);
        let generation = round.generation;
        if round.arrived.len() >= round.live.len() {
            self.complete(&mut round);
        } else {
            while round.generation == generation {
                if cx.failed() {
                    // Another task failed: no round will complete.
                    return Ok(());
                }
                round =
                    self.changed.wait_timeout(round, Duration::from_millis(100)).unwrap_or_else(|p| p.into_inner()).0;
            }
        }
        match &round.fatal {
            Some(e) => Err(Error::State(e.clone())),
            None => Ok(()),
        }
    }

    /// Task `name` ends: it is no longer waited for (and, when its input ended, it is
    /// recorded as finished by the next checkpoint). Completes the round if every other
    /// task has arrived.
    fn leave(&self, name: &str, input_ended: bool) {
        let mut round = self.round.lock().unwrap_or_else(|p| p.into_inner());
        round.live.remove(name);
        if input_ended {
            round.finished.insert(name.to_string());
        }
        if !round.arrived.is_empty() && round.arrived.len() >= round.live.len() {
            self.complete(&mut round);
        }
    }

    /// The end of the run: when every task's input ended, a last checkpoint records that
    /// the pipeline is done and commits the sinks' last output (a restart then has nothing
    /// to do); after a graceful stop the final checkpoint is taken already.
    pub fn finish(&self) -> Result<()> {
        let mut round = self.round.lock().unwrap_or_else(|p| p.into_inner());
        if round.ran
            && round.live.is_empty()
            && round.arrived.is_empty()
            && !self.final_requested.load(Ordering::Acquire)
        {
            round.id = round.id.max(self.requested.load(Ordering::Acquire)) + 1;
            self.complete(&mut round);
        }
        match &round.fatal {
            Some(e) => Err(Error::State(e.clone())),
            None => Ok(()),
        }
    }

    /// Completes the round: task snapshots and sink commits written, metadata, commits,
    /// retention; then wakes the waiting tasks.
    fn complete(&self, round: &mut Round) {
        let id = round.id.max(self.completed.load(Ordering::Acquire) + 1);
        let bytes: usize = round.arrived.values().map(|(b, _)| b.len()).sum();
        match self.write(round, id) {
            Ok(infos) => {
                self.completed.store(id, Ordering::Release);
                let took = round.first_arrival.map_or(0, |t| t.elapsed().as_micros() as u64);
                self.last_stats.fetch_max(took, Ordering::Relaxed);
                self.last_bytes.fetch_max(bytes as u64, Ordering::Relaxed);
                self.meter.completed(Duration::from_micros(took), bytes as u64);
                for (name, sink) in &mut round.sinks {
                    if let Err(e) = sink.commit(id, infos.get(name.as_str()).unwrap_or(&serde_json::Value::Null)) {
                        round.fatal = Some(format!("committing sink `{name}` of checkpoint {id}: {e}"));
                    }
                }
                if self.savepoint_next.swap(false, Ordering::AcqRel) {
                    match store::copy_to_savepoint(&self.config.dir, id, &self.config.savepoints) {
                        Ok(path) => tracing::info!(
                            pipeline = %self.pipeline,
                            checkpoint = id,
                            "savepoint {id} written to {}",
                            path.display()
                        ),
                        Err(e) => {
                            tracing::warn!(pipeline = %self.pipeline, checkpoint = id, "savepoint {id} failed: {e}")
                        }
                    }
                }
                if let Err(e) = store::retain(&self.config.dir, self.config.retained) {
                    tracing::warn!(pipeline = %self.pipeline, "removing old checkpoints: {e}");
                }
                let in_run = self.completed_in_run.fetch_add(1, Ordering::AcqRel) + 1;
                if self.config.crash_after == Some(in_run) {
                    tracing::warn!(
                        pipeline = %self.pipeline,
                        checkpoint = id,
                        "DFL_CRASH_AFTER_CHECKPOINTS: aborting after checkpoint {id}"
                    );
                    std::process::abort();
                }
            }
            Err(e) => {
                for (_, state) in round.arrived.values() {
                    if let Some(dir) = state.as_ref().filter(|d| d.exists()) {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                }
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.meter.failed();
                tracing::warn!(
                    pipeline = %self.pipeline,
                    checkpoint = id,
                    "checkpoint {id} failed (the pipeline goes on): {e}"
                );
            }
        }
        round.id = id;
        round.first_arrival = None;
        round.arrived.clear();
        round.generation += 1;
        self.changed.notify_all();
    }

    /// Writes checkpoint `id` of `round`: its task snapshots, the sinks' prepared commits
    /// and the metadata that makes it complete. Returns the sinks' commit infos.
    fn write(&self, round: &mut Round, id: u64) -> Result<BTreeMap<String, serde_json::Value>> {
        let dir = store::prepare_dir(&self.config.dir, id)?;
        for (task, (bytes, state)) in &round.arrived {
            store::write_task(&dir, task, bytes)?;
            if let Some(staged) = state {
                let to = store::task_state_path(&dir, task);
                std::fs::rename(staged, &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        let mut infos = BTreeMap::new();
        for (name, sink) in &mut round.sinks {
            infos.insert(name.clone(), sink.prepare(id)?);
        }
        let metadata = Metadata {
            id,
            pipeline: self.pipeline.clone(),
            dir: dir.clone(),
            tasks: round.arrived.keys().cloned().collect(),
            finished: round.finished.clone(),
            sinks: infos.clone(),
        };
        store::write_metadata(&dir, &metadata)?;
        Ok(infos)
    }
}

/// The checkpoints of one task: whether it ran to its end before the checkpoint restored,
/// its restored snapshot, and its arrivals at barriers.
pub struct TaskCheckpoint<'a> {
    cx: &'a Context,
    name: String,
    /// Whether the task's input ended before the restored checkpoint.
    done: bool,
    restored: Option<SnapshotReader>,
    /// A worker's share of a checkpoint taken at another parallelism.
    rescaled: Option<Rescaled>,
    /// An instance run by another task, which takes its snapshots (instead of the
    /// coordinator) and tells it whether its input ended.
    handover: Option<std::sync::Arc<Handover>>,
}

/// A token naming this process among the processes of a pipeline (files they stage in a
/// folder they share): random per process, as process ids repeat across containers.
pub fn process_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        h.write_u32(std::process::id());
        format!("{:016x}", h.finish())
    })
}

/// Between an instance of a task (the operators of one Kafka partition, see
/// `connectors::kafka::partitioned`) and the task running it: the instance's snapshot at
/// its last barrier, and whether its input ended (it then fires what is open) or was taken
/// away (its state is kept).
#[derive(Default)]
pub struct Handover {
    snapshot: Mutex<Option<(Vec<u8>, Option<PathBuf>)>>,
    input_ended: AtomicBool,
    /// Where the instance's backend writes the state it keeps in files (RocksDB): a new
    /// folder under this one at each barrier.
    staging: PathBuf,
    /// The state files of the snapshot restored, if any.
    restored_state: Option<PathBuf>,
}

impl Handover {
    /// The handover of an instance whose backend stages its files under `staging`,
    /// restored from the files in `restored_state` (if any).
    pub fn new(staging: PathBuf, restored_state: Option<PathBuf>) -> Self {
        Handover { snapshot: Mutex::default(), input_ended: AtomicBool::new(false), staging, restored_state }
    }

    /// The snapshot the instance handed over at its last barrier, with the folder of its
    /// state files (RocksDB), once.
    pub fn take(&self) -> Option<(Vec<u8>, Option<PathBuf>)> {
        self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Tells the instance, before its input ends, whether it was exhausted.
    pub fn set_input_ended(&self, ended: bool) {
        self.input_ended.store(ended, Ordering::Release);
    }
}

impl<'a> TaskCheckpoint<'a> {
    /// Task `name` of the pipeline run by `cx` (a no-op handle without checkpoints).
    pub fn new(cx: &'a Context, name: &str) -> Result<Self> {
        // Late rows and rows dropped on this thread are counted for the task from now on.
        crate::metrics::name_task(cx.metrics(), name);
        let mut task =
            TaskCheckpoint { cx, name: name.to_string(), done: false, restored: None, rescaled: None, handover: None };
        let Some(c) = cx.checkpoints() else { return Ok(task) };
        let restored = c.restored.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = restored.as_ref() {
            // A worker restored at another parallelism: its share of the old workers'.
            let share = match rescale::worker_name(name).filter(|(base, _)| rescale::rescaling(m, base, cx)) {
                Some((base, worker)) => rescale::share(m, base, worker, crate::exchange::parallelism(cx)?)?,
                None => None,
            };
            match share {
                Some(rescale::Share::Done) => {
                    // `expect_tasks` counted on it: it leaves at once, as ended.
                    drop(restored);
                    c.leave(name, true);
                    task.done = true;
                    return Ok(task);
                }
                Some(rescale::Share::Parts(share)) => task.rescaled = Some(share),
                None if m.finished.contains(name) => {
                    task.done = true;
                    return Ok(task);
                }
                None => {}
            }
            match m.tasks.contains(name) || task.rescaled.is_some() {
                true if task.rescaled.is_some() => {}
                true => {
                    let path = store::task_path(&m.dir, name);
                    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                    task.restored = Some(SnapshotReader::new(path.display().to_string(), &bytes)?);
                }
                false => {
                    return Err(Error::State(format!(
                        "{} has no state for source `{name}`: it was taken from a different query",
                        m.dir.display()
                    )));
                }
            }
        }
        drop(restored);
        let mut round = c.round.lock().unwrap_or_else(|p| p.into_inner());
        round.live.insert(name.to_string());
        round.ran = true;
        Ok(task)
    }

    /// Instance `name` of a task run by another (a Kafka partition's operators): it
    /// restores from `restored` and hands its snapshots over through `handover`.
    pub fn handed_over(
        cx: &'a Context,
        name: &str,
        restored: Option<SnapshotReader>,
        handover: std::sync::Arc<Handover>,
    ) -> Self {
        crate::metrics::name_task(cx.metrics(), name);
        TaskCheckpoint { cx, name: name.to_string(), done: false, restored, rescaled: None, handover: Some(handover) }
    }

    /// Whether the task's input ended before the checkpoint restored: it has nothing to do.
    pub fn already_done(&self) -> bool {
        self.done
    }

    /// Whether checkpoints are taken (the source may then commit its position at
    /// barriers even when the task keeps state).
    pub fn enabled(&self) -> bool {
        self.handover.is_some() || self.cx.checkpoints().is_some()
    }

    /// The snapshot to restore the task's source and operators from, once.
    pub fn take_restored(&mut self) -> Option<SnapshotReader> {
        self.restored.take()
    }

    /// For a worker of a task run N-wide restored from a checkpoint taken at another
    /// parallelism: the snapshots to merge its operators from, once.
    pub fn take_rescaled(&mut self) -> Option<Rescaled> {
        self.rescaled.take()
    }

    /// The task's name (its source table).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The meter of the task's operator `id` (its id in `dflc explain`) of kind `kind`,
    /// whose state is the snapshot section `section`.
    pub fn operator_meter(
        &self,
        id: &str,
        kind: &'static str,
        section: &str,
    ) -> std::sync::Arc<crate::metrics::OperatorMeter> {
        self.cx.metrics().operator(&self.name, id, kind, section)
    }

    /// The folder of the state the task's backend kept on disk in the checkpoint restored
    /// (a RocksDB checkpoint), if there is one.
    pub fn restored_state(&self) -> Option<PathBuf> {
        if let Some(h) = &self.handover {
            return h.restored_state.clone();
        }
        let c = self.cx.checkpoints()?;
        let restored = c.restored.lock().unwrap_or_else(|p| p.into_inner());
        let m = restored.as_ref()?;
        // A worker restored at another parallelism starts empty and merges its share.
        if rescale::worker_name(&self.name).is_some_and(|(base, _)| rescale::rescaling(m, base, self.cx)) {
            return None;
        }
        let path = store::task_state_path(&m.dir, &self.name);
        path.is_dir().then_some(path)
    }

    /// At a barrier of checkpoint `id`, after the task's writers are flushed: hands over
    /// the task's snapshot and waits for the checkpoint to complete.
    pub fn arrive(&mut self, id: u64, snapshot: SnapshotWriter, position: &[u8]) -> Result<()> {
        if let Some(h) = &self.handover {
            self.cx.metrics().state_saved(&self.name, &snapshot.sizes(), 0);
            *h.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = Some((snapshot.finish(position)?, None));
            return Ok(());
        }
        let Some(c) = self.cx.checkpoints() else { return Ok(()) };
        self.cx.metrics().state_saved(&self.name, &snapshot.sizes(), 0);
        let bytes = snapshot.finish(position)?;
        c.arrive(&self.name, id, bytes, None, self.cx)
    }

    /// [`arrive`](Self::arrive) for a task whose operators keep their state in `state`:
    /// a backend on disk also writes its files (after the operators saved their maps into
    /// `snapshot`).
    pub fn arrive_with<B: crate::state::StateBackend>(
        &mut self,
        id: u64,
        snapshot: SnapshotWriter,
        position: &[u8],
        state: &mut B,
    ) -> Result<()> {
        if let Some(h) = &self.handover {
            if !state.keeps_files() {
                return self.arrive(id, snapshot, position);
            }
            // The files go into a new folder beside the partition's snapshots, which the
            // task running the instance moves into place with the snapshot.
            let staging = h.staging.join(format!(".staging-{}-{id}", process_token()));
            std::fs::create_dir_all(&h.staging).map_err(|e| Error::io(&h.staging, e))?;
            if staging.exists() {
                std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
            }
            state.persist_to(&staging)?;
            self.cx.metrics().state_saved(&self.name, &snapshot.sizes(), store::bytes_under(&staging));
            *h.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = Some((snapshot.finish(position)?, Some(staging)));
            return Ok(());
        }
        let Some(c) = self.cx.checkpoints() else { return Ok(()) };
        let staging = store::staging_dir(&c.config.dir).join(format!("{}-{id}", self.name.replace('/', "_")));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        }
        std::fs::create_dir_all(store::staging_dir(&c.config.dir)).map_err(|e| Error::io(&c.config.dir, e))?;
        let on_disk = state.persist_to(&staging)?;
        let file_bytes = if on_disk { store::bytes_under(&staging) } else { 0 };
        self.cx.metrics().state_saved(&self.name, &snapshot.sizes(), file_bytes);
        let bytes = snapshot.finish(position)?;
        c.arrive(&self.name, id, bytes, on_disk.then_some(staging), self.cx)
    }

    /// Whether the task should run what it does at the end of its input (fire the
    /// windows still open): not when it was stopped and its state is in a checkpoint.
    pub fn input_ended(&self) -> bool {
        match &self.handover {
            Some(h) => h.input_ended.load(Ordering::Acquire),
            None => self.input_ended_if(!self.cx.stopped()),
        }
    }

    /// [`input_ended`](Self::input_ended) for a task told whether its input was exhausted
    /// (a worker of a task run N-wide, by its router).
    pub fn input_ended_if(&self, exhausted: bool) -> bool {
        exhausted || !self.enabled()
    }

    /// The task ends (after its last output is written to its sinks).
    pub fn finish(self) {
        let exhausted = !self.cx.stopped();
        self.finish_if(exhausted);
    }

    /// [`finish`](Self::finish) for a task told whether its input was exhausted.
    pub fn finish_if(self, exhausted: bool) {
        if self.handover.is_some() {
            return;
        }
        if let Some(c) = self.cx.checkpoints() {
            c.leave(&self.name, exhausted);
        }
    }
}

/// A source's view of checkpoint requests: whether a barrier is due.
pub struct Barriers<'a> {
    checkpoints: Option<&'a Checkpoints>,
    /// The checkpoint the source last emitted a barrier for (or that completed since).
    last: u64,
    calls: u32,
    /// Records since the last barrier (test knob `every_records`).
    records: u64,
    stop_sent: bool,
}

impl<'a> Barriers<'a> {
    /// The barriers of a source of the pipeline run by `cx`.
    pub fn new(cx: &'a Context) -> Self {
        let checkpoints = cx.checkpoints();
        let last = checkpoints.map_or(0, Checkpoints::completed);
        Barriers { checkpoints, last, calls: 0, records: 0, stop_sent: false }
    }

    /// Whether checkpoints are taken at all.
    pub fn enabled(&self) -> bool {
        self.checkpoints.is_some()
    }

    /// Called per record (or while waiting): the id of the checkpoint a barrier is due
    /// for, if any. Cheap: an atomic load, and the clock every few thousand calls.
    #[inline]
    pub fn due(&mut self) -> Option<u64> {
        let c = self.checkpoints?;
        self.calls += 1;
        if self.calls >= CLOCK_EVERY {
            self.calls = 0;
            c.tick(crate::time::epoch_ms());
        }
        if let Some(n) = c.config.every_records {
            self.records += 1;
            if self.records >= n {
                self.records = 0;
                c.requested.fetch_max(self.last + 1, Ordering::AcqRel);
            }
        }
        let requested = c.requested.load(Ordering::Acquire);
        (requested > self.last).then_some(requested)
    }

    /// A checkpoint now (a source giving partitions whose state moves with them up): the
    /// id of its barrier, which the source emits at once (none without checkpoints).
    pub fn now(&mut self) -> Option<u64> {
        let c = self.checkpoints?;
        let requested = c.requested.fetch_max(self.last + 1, Ordering::AcqRel).max(self.last + 1);
        Some(requested)
    }

    /// Whether checkpoint `id` completed (a barrier's checkpoint may have failed: a task
    /// or sink could not write its part).
    pub fn completed(&self, id: u64) -> bool {
        self.checkpoints.is_some_and(|c| c.completed() >= id)
    }

    /// While the source waits (no records): as [`due`](Self::due), with the clock read.
    pub fn due_idle(&mut self) -> Option<u64> {
        let c = self.checkpoints?;
        c.tick(crate::time::epoch_ms());
        let requested = c.requested.load(Ordering::Acquire);
        (requested > self.last).then_some(requested)
    }

    /// The pipeline is stopping: the id of the final checkpoint's barrier, once (none
    /// without checkpoints).
    pub fn at_stop(&mut self) -> Option<u64> {
        let c = self.checkpoints?;
        if self.stop_sent {
            return None;
        }
        self.stop_sent = true;
        c.request_final();
        let requested = c.requested.load(Ordering::Acquire);
        (requested > self.last).then_some(requested)
    }

    /// Emits the barrier of checkpoint `id` with the source's `position` (encoded) and
    /// records it (see [`emitted`](Self::emitted)).
    pub fn emit<R, P: serde::Serialize>(
        &mut self,
        id: u64,
        position: &P,
        emit: &mut impl FnMut(crate::connectors::SourceEvent<R>) -> Result<()>,
    ) -> Result<()> {
        let mut bytes = Vec::new();
        encode(position, &mut bytes)?;
        emit(crate::connectors::SourceEvent::Barrier(crate::connectors::Barrier {
            checkpoint: Some(id),
            position: bytes,
        }))?;
        self.emitted(id);
        Ok(())
    }

    /// The barrier for `id` was emitted (and its checkpoint completed).
    pub fn emitted(&mut self, id: u64) {
        let completed = self.checkpoints.map_or(id, Checkpoints::completed);
        self.last = id.max(completed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A sink that records what checkpoints asked of it.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Committer for Recorder {
        fn prepare(&mut self, checkpoint: u64) -> Result<serde_json::Value> {
            self.0.lock().unwrap().push(format!("prepare {checkpoint}"));
            Ok(serde_json::json!(checkpoint))
        }
        fn commit(&mut self, checkpoint: u64, info: &serde_json::Value) -> Result<()> {
            self.0.lock().unwrap().push(format!("commit {checkpoint} {info}"));
            Ok(())
        }
        fn recover(&mut self, info: Option<&serde_json::Value>) -> Result<()> {
            self.0.lock().unwrap().push(format!("recover {info:?}"));
            Ok(())
        }
    }

    fn context(dir: &std::path::Path) -> Context {
        let settings = [("state.checkpoints.dir".to_string(), dir.display().to_string())].into_iter().collect();
        Context::new(Vec::new(), settings).with_checkpoints("p").unwrap()
    }

    fn context_at(dir: &std::path::Path, parallelism: usize) -> Context {
        let settings = [
            ("state.checkpoints.dir".to_string(), dir.display().to_string()),
            ("parallelism.default".to_string(), parallelism.to_string()),
        ]
        .into_iter()
        .collect();
        Context::new(Vec::new(), settings).with_checkpoints("p").unwrap()
    }

    /// Task `t` run N-wide and task `v`: names as the generated code has them.
    fn names(parallelism: usize) -> Vec<String> {
        let workers = (0..parallelism).map(|w| format!("t#{w}"));
        ["t".to_string()].into_iter().chain(workers).chain(["v".to_string()]).collect()
    }

    /// Runs every task of `names` to checkpoint 1 (each arriving with its index as state),
    /// then ends those `ended` says ended (their input exhausted) and stops the others.
    fn checkpoint_all(cx: &Context, names: &[String], ended: impl Fn(&str) -> bool) {
        let c = cx.checkpoints().unwrap();
        c.expect_tasks(&names.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        std::thread::scope(|s| {
            for (i, name) in names.iter().enumerate() {
                let ended = ended(name);
                s.spawn(move || {
                    let mut task = TaskCheckpoint::new(cx, name).unwrap();
                    if ended {
                        task.finish_if(true);
                    } else {
                        task.arrive(1, snapshot(i as u8), b"pos").unwrap();
                        task.finish_if(false);
                    }
                });
            }
        });
        assert_eq!(c.completed(), 1);
    }

    #[test]
    fn workers_restored_at_another_parallelism_take_the_state_of_their_key_groups() {
        let dir = tempfile::tempdir().unwrap();
        checkpoint_all(&context_at(dir.path(), 2), &names(2), |_| false);
        // At 3: worker 0 (key groups 0–42) takes from old worker 0, worker 1 (43–85) from
        // both, worker 2 (86–127) from old worker 1 (their states: 1 and 2).
        let cx = context_at(dir.path(), 3);
        let c = cx.checkpoints().unwrap();
        c.expect_tasks(&names(3).iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        for (w, from) in [(0, vec![1]), (1, vec![1, 2]), (2, vec![2])] {
            let mut task = TaskCheckpoint::new(&cx, &format!("t#{w}")).unwrap();
            assert!(task.restored_state().is_none() && task.take_restored().is_none());
            let mut rescaled = task.take_rescaled().expect("a share");
            let states: Vec<u8> = rescaled
                .take_parts()
                .into_iter()
                .map(|(mut r, files)| {
                    assert!(files.is_none());
                    let mut n = Counter(0);
                    r.load("op", "f", &mut n).unwrap();
                    n.0
                })
                .collect();
            assert_eq!(states, from, "worker {w}");
            for h in 0..500u64 {
                let group = crate::exchange::key_group(h);
                assert_eq!(rescaled.owns(h), crate::exchange::worker_of(group, 3) == w);
            }
        }
        // The router restores as ever; at the parallelism of the checkpoint, so do workers.
        assert_eq!(TaskCheckpoint::new(&cx, "t").unwrap().take_restored().unwrap().position(), b"pos");
        drop(cx);
        let cx = context_at(dir.path(), 2);
        let mut task = TaskCheckpoint::new(&cx, "t#1").unwrap();
        assert!(task.take_rescaled().is_none() && task.take_restored().is_some());
        // A query that runs `t` 1-wide, or a checkpoint of it 1-wide, is refused.
        let err = cx.checkpoints().unwrap().expect_tasks(&["t", "v"]).unwrap_err().to_string();
        assert!(err.contains("`t` run N-wide"), "{err}");
    }

    #[test]
    fn workers_whose_old_workers_had_ended_leave_at_once() {
        let dir = tempfile::tempdir().unwrap();
        checkpoint_all(&context_at(dir.path(), 2), &names(2), |n| n.starts_with('t'));
        let cx = context_at(dir.path(), 4);
        let c = cx.checkpoints().unwrap();
        c.expect_tasks(&names(4).iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        for name in names(4).iter().filter(|n| n.starts_with('t')) {
            assert!(TaskCheckpoint::new(&cx, name).unwrap().already_done(), "{name}");
        }
        let mut v = TaskCheckpoint::new(&cx, "v").unwrap();
        assert_eq!(c.round.lock().unwrap().live.iter().collect::<Vec<_>>(), ["v"], "checkpoints wait for `v` alone");
        v.arrive(2, snapshot(9), b"pos").unwrap();
        assert_eq!(c.completed(), 2);
    }

    #[test]
    fn a_checkpoint_of_a_task_run_1_wide_is_refused_by_a_run_n_wide() {
        let dir = tempfile::tempdir().unwrap();
        checkpoint_all(&context_at(dir.path(), 1), &["t".to_string(), "v".to_string()], |_| false);
        let cx = context_at(dir.path(), 2);
        let err = cx.checkpoints().unwrap().expect_tasks(&["t", "t#0", "t#1", "v"]).unwrap_err().to_string();
        assert!(err.contains("`t` run 1-wide"), "{err}");
    }

    struct Counter(u8);

    impl Snapshot for Counter {
        fn save(&mut self, out: &mut Vec<u8>) -> Result<()> {
            encode(&self.0, out)
        }
        fn load(&mut self, input: &mut &[u8]) -> Result<()> {
            self.0 = decode(input)?;
            Ok(())
        }
    }

    fn snapshot(n: u8) -> SnapshotWriter {
        let mut w = SnapshotWriter::default();
        w.save("op", "f", &mut Counter(n)).unwrap();
        w
    }

    #[test]
    fn one_process_at_a_time_writes_a_checkpoint_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = context(dir.path());
        let settings = [("state.checkpoints.dir".to_string(), dir.path().display().to_string())].into_iter().collect();
        let e = Context::new(Vec::new(), settings).with_checkpoints("p").err().expect("the folder is locked");
        assert!(e.to_string().contains("in use by another process") && e.to_string().contains("scale-out.state.dir"));
        drop(first);
        let _again = context(dir.path());
    }

    #[test]
    fn a_failed_checkpoint_is_skipped_and_the_next_one_commits_what_it_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path());
        let c = cx.checkpoints().unwrap();
        let sink = Recorder::default();
        c.register_sink("out", Box::new(sink.clone())).unwrap();
        c.expect_tasks(&["a"]).unwrap();
        let mut task = TaskCheckpoint::new(&cx, "a").unwrap();
        task.arrive(1, snapshot(1), b"p1").unwrap();
        assert_eq!(c.completed(), 1);
        // Checkpoint 2 cannot be written (a file is where its folder goes): skipped.
        std::fs::write(dir.path().join("chk-2"), b"in the way").unwrap();
        task.arrive(2, snapshot(2), b"p2").unwrap();
        assert_eq!((c.completed(), c.failures()), (1, 1));
        std::fs::remove_file(dir.path().join("chk-2")).unwrap();
        task.arrive(3, snapshot(3), b"p3").unwrap();
        assert_eq!((c.completed(), c.failures()), (3, 1));
        assert_eq!(
            *sink.0.lock().unwrap(),
            ["recover None", "prepare 1", "commit 1 1", "prepare 3", "commit 3 3"],
            "nothing is committed for the failed checkpoint"
        );
        // One checkpoint is retained; a restart restores it and its task's snapshot.
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("chk-"))
            .collect();
        assert_eq!(left, ["chk-3"]);
        task.finish();
        drop(cx);
        let cx = context(dir.path());
        let c = cx.checkpoints().unwrap();
        assert_eq!(c.restored_id(), Some(3));
        let sink = Recorder::default();
        c.register_sink("out", Box::new(sink.clone())).unwrap();
        assert_eq!(*sink.0.lock().unwrap(), ["recover Some(Number(3))"]);
        c.expect_tasks(&["a"]).unwrap();
        let mut task = TaskCheckpoint::new(&cx, "a").unwrap();
        let restored = task.take_restored().unwrap();
        assert_eq!(restored.position(), b"p3");
        // A query without task `a` is refused.
        let err = c.expect_tasks(&["b"]).unwrap_err().to_string();
        assert!(err.contains("`a`") && err.contains("does not read"), "{err}");
    }
}
