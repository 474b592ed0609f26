//! Restoring a checkpoint at another parallelism (`'parallelism.default'` changed between
//! the run that took it and this one).
//!
//! A task run N-wide checkpoints its router (the source's position and watermark) as the
//! task `clicks` and each worker's operators as `clicks#0`, `clicks#1`, …; worker `i` of
//! `p` owns the key groups `g` with `worker_of(g, p) == i` (contiguous ranges, see
//! [`crate::exchange`]). Restored at parallelism `q`, the router restores as always, and
//! worker `j` of `q` merges the snapshots of every old worker that owned one of its key
//! groups, keeping the keys of its own key groups ([`Rescaled::owns`]): each operator's
//! [`Rescale::merge`](super::Rescale::merge) adds those keys' state (a RocksDB backend
//! copies their entries out of each old worker's database, see
//! [`crate::state::StateBackend::merge_from`]). As in Flink, whole key groups move, and
//! the number of key groups ([`KEY_GROUPS`]) bounds the parallelism.

use super::SnapshotReader;
use super::store::{self, Metadata};
use crate::error::{Error, Result};
use crate::exchange::{KEY_GROUPS, key_group, worker_of};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A worker's share of a checkpoint taken with its task at another parallelism.
pub struct Rescaled {
    worker: usize,
    parallelism: usize,
    /// The snapshots of the old workers that owned some of its key groups, each with the
    /// folder of the files its backend kept (RocksDB), if any.
    parts: Vec<(SnapshotReader, Option<PathBuf>)>,
    /// The old workers it takes from.
    from: usize,
    started: std::time::Instant,
}

impl Rescaled {
    /// Whether the worker owns keys of hash `hash` ([`crate::exchange::hash_key`]).
    pub fn owns(&self, hash: u64) -> bool {
        worker_of(key_group(hash), self.parallelism) == self.worker
    }

    /// The snapshots to merge, with the folders of their state files, once.
    pub fn take_parts(&mut self) -> Vec<(SnapshotReader, Option<PathBuf>)> {
        std::mem::take(&mut self.parts)
    }

    /// The worker (task `name`) merged every snapshot: says so, and how long it took.
    pub fn finish(self, name: &str) {
        tracing::info!(
            task = %name,
            "worker {} of {} restored its key groups from {} old worker(s) in {} ms",
            self.worker,
            self.parallelism,
            self.from,
            self.started.elapsed().as_millis()
        );
    }
}

/// A worker task's name `base#i`: its task's name and its index.
pub(super) fn worker_name(name: &str) -> Option<(&str, usize)> {
    let (base, index) = name.rsplit_once('#')?;
    Some((base, index.parse().ok()?))
}

/// Whether `names` hold a router of task `base`: `base` itself, or `base.<table>` (a join
/// of two tables has a router per table).
fn has_router<'a>(mut names: impl Iterator<Item = &'a str>, base: &str) -> bool {
    names.any(|n| {
        n == base || n.strip_prefix(base).and_then(|rest| rest.strip_prefix('.')).is_some_and(|t| !t.is_empty())
    })
}

/// The number of workers task `base` ran with in checkpoint `m` (0: it ran 1-wide). A
/// task named like a worker (`` `x#2` ``) is one only when its router (`x`, or `x.<table>`)
/// is there too.
fn parallelism_in(m: &Metadata, base: &str) -> usize {
    if !has_router(m.tasks.iter().chain(&m.finished).map(String::as_str), base) {
        return 0;
    }
    m.tasks
        .iter()
        .chain(&m.finished)
        .filter_map(|t| worker_name(t).filter(|(b, _)| *b == base).map(|(_, i)| i + 1))
        .max()
        .unwrap_or(0)
}

/// Whether task `base`, run N-wide, restores from checkpoint `m` at another parallelism.
pub(super) fn rescaling(m: &Metadata, base: &str, cx: &crate::pipeline::Context) -> bool {
    let before = parallelism_in(m, base);
    before != 0 && crate::exchange::parallelism(cx).is_ok_and(|now| now != before)
}

/// What worker `worker` of `parallelism` of task `base` restores from checkpoint `m`:
/// `None` when the checkpoint has the task at the same parallelism (the worker restores
/// its own snapshot), else its share: done (every old worker it takes keys from had
/// reached the end of its input), or the snapshots to merge.
pub(super) fn share(m: &Metadata, base: &str, worker: usize, parallelism: usize) -> Result<Option<Share>> {
    let before = parallelism_in(m, base);
    if before == parallelism || before == 0 {
        return Ok(None);
    }
    let from: BTreeSet<usize> =
        (0..KEY_GROUPS).filter(|&g| worker_of(g, parallelism) == worker).map(|g| worker_of(g, before)).collect();
    let names: Vec<String> = from.iter().map(|i| format!("{base}#{i}")).collect();
    if names.iter().all(|n| m.finished.contains(n)) {
        return Ok(Some(Share::Done));
    }
    let mut parts = Vec::new();
    for name in names.iter().filter(|n| !m.finished.contains(*n)) {
        if !m.tasks.contains(name) {
            return Err(Error::State(format!(
                "{} has no state for `{name}` (of the {before} workers of `{base}`): the checkpoint is incomplete",
                m.dir.display()
            )));
        }
        let path = store::task_path(&m.dir, name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let state = store::task_state_path(&m.dir, name);
        parts.push((SnapshotReader::new(path.display().to_string(), &bytes)?, state.is_dir().then_some(state)));
    }
    tracing::info!(
        task = %base,
        "rescaling from {before} to {parallelism} workers: worker {worker} takes its key groups from the state of \
         worker(s) {from:?}"
    );
    let from = parts.len();
    Ok(Some(Share::Parts(Rescaled { worker, parallelism, parts, from, started: std::time::Instant::now() })))
}

/// A worker's share of a checkpoint at another parallelism.
pub(super) enum Share {
    /// Its input had ended: nothing to do.
    Done,
    Parts(Rescaled),
}

/// The task names of a checkpoint or a run, with the workers of each task run N-wide
/// (`clicks#3`, when `clicks` is among them) as one name (`clicks#*`): two runs with the
/// same shape differ only in parallelism.
pub(super) fn shape<'a>(names: impl Iterator<Item = &'a str> + Clone) -> BTreeSet<String> {
    let bases: Vec<&str> = names.clone().filter(|n| worker_name(n).is_none()).collect();
    names
        .map(|n| match worker_name(n) {
            Some((base, _)) if has_router(bases.iter().copied(), base) => format!("{base}#*"),
            _ => n.to_string(),
        })
        .collect()
}

/// For operators' tests: the operators `old` (workers of one parallelism) checkpointed,
/// and their snapshots merged into `n` new operators made by `make`, new worker `w` keeping
/// the keys `keep(w, key)` holds — as a restore at another parallelism does.
#[cfg(test)]
pub(crate) fn rescaled<K, O: super::Rescale<K>>(
    old: &mut [O],
    n: usize,
    make: impl Fn(usize) -> O,
    keep: impl Fn(usize, &K) -> bool,
) -> Vec<O> {
    let snapshots: Vec<Vec<u8>> = old
        .iter_mut()
        .map(|op| {
            let mut bytes = Vec::new();
            op.save(&mut bytes).unwrap();
            bytes
        })
        .collect();
    (0..n)
        .map(|w| {
            let mut op = make(w);
            for bytes in &snapshots {
                op.merge(&mut bytes.as_slice(), &|k: &K| keep(w, k)).unwrap();
            }
            op
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(tasks: &[&str], finished: &[&str]) -> Metadata {
        Metadata {
            id: 1,
            pipeline: "p".into(),
            dir: std::env::temp_dir().join("dfl-rescale-test-missing"),
            tasks: tasks.iter().map(|t| t.to_string()).collect(),
            finished: finished.iter().map(|t| t.to_string()).collect(),
            sinks: Default::default(),
        }
    }

    #[test]
    fn worker_names_and_shapes() {
        assert_eq!(worker_name("clicks#12"), Some(("clicks", 12)));
        assert_eq!(worker_name("a#b#3"), Some(("a#b", 3)));
        assert_eq!(worker_name("clicks"), None);
        assert_eq!(worker_name("clicks#x"), None);
        let two = shape(["clicks", "clicks#0", "clicks#1", "views"].into_iter());
        let four = shape(["clicks", "clicks#0", "clicks#1", "clicks#2", "clicks#3", "views"].into_iter());
        assert_eq!(two, four);
        assert!(two.contains("clicks#*"));
        // A worker whose task is not among the names is a name like any other.
        assert!(shape(["views#2"].into_iter()).contains("views#2"));
        assert_ne!(two, shape(["clicks", "views"].into_iter()));
        // A join of two tables has a router per table (`a+b.a`, `a+b.b`), not one named
        // like its workers.
        let joined = shape(["a+b.a", "a+b.b", "a+b#0", "a+b#1"].into_iter());
        assert!(joined.contains("a+b#*"), "{joined:?}");
        assert!(shape(["a+b.", "a+b#0"].into_iter()).contains("a+b#0"), "an empty table name is no router");
    }

    #[test]
    fn a_worker_takes_its_key_groups_from_the_workers_that_had_them() {
        // At the same parallelism, or for a task that ran 1-wide, nothing to share.
        let m = metadata(&["t", "t#0", "t#1"], &[]);
        assert!(share(&m, "t", 0, 2).unwrap().is_none());
        assert!(share(&metadata(&["t"], &[]), "t", 0, 2).unwrap().is_none());
        // Reading the snapshots: the folder does not exist, so the error names the file
        // of an old worker the new one needs. From 2 to 4: worker 3 takes from worker 1.
        let err = share(&m, "t", 3, 4).err().expect("no snapshot files").to_string();
        assert!(err.contains("task-t%231.bin"), "{err}");
        // From 2 to 3: worker 1 (key groups 43–85) takes from both.
        let m = metadata(&["t", "t#1"], &[]);
        let err = share(&m, "t", 1, 3).err().expect("t#0 is missing").to_string();
        assert!(err.contains("no state for `t#0`"), "{err}");
        // Old workers whose input ended have nothing to give.
        let m = metadata(&["t"], &["t#0", "t#1"]);
        assert!(matches!(share(&m, "t", 2, 3).unwrap(), Some(Share::Done)));
    }

    #[test]
    fn owners_partition_the_key_groups() {
        for q in [1, 2, 3, 5, 128] {
            for hash in 0..1000u64 {
                let started = std::time::Instant::now();
                let owners = (0..q)
                    .filter(|&w| Rescaled { worker: w, parallelism: q, parts: Vec::new(), from: 0, started }.owns(hash))
                    .count();
                assert_eq!(owners, 1, "hash {hash} at parallelism {q}");
            }
        }
    }
}
