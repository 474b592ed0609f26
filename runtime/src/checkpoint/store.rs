//! Checkpoints on disk: `<dir>/chk-<id>/` holds a snapshot file per task
//! (`task-<name>.bin`) and `_metadata` (JSON), written last and atomically: a checkpoint
//! without it is incomplete and ignored.

use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The metadata of a complete checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Metadata {
    pub(super) id: u64,
    pub(super) pipeline: String,
    /// The checkpoint's folder.
    pub(super) dir: PathBuf,
    /// Tasks with a snapshot file.
    pub(super) tasks: BTreeSet<String>,
    /// Tasks whose input had ended.
    pub(super) finished: BTreeSet<String>,
    /// Each sink's commit info.
    pub(super) sinks: BTreeMap<String, serde_json::Value>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MetadataFile {
    version: u32,
    id: u64,
    pipeline: String,
    tasks: BTreeSet<String>,
    finished: BTreeSet<String>,
    sinks: BTreeMap<String, serde_json::Value>,
}

const VERSION: u32 = 1;
const METADATA: &str = "_metadata";

fn chk_name(id: u64) -> String {
    format!("chk-{id}")
}

/// The id of a checkpoint folder's name.
fn chk_id(name: &str) -> Option<u64> {
    name.strip_prefix("chk-")?.parse().ok()
}

/// A task's snapshot file in checkpoint folder `dir` (names made safe for file names).
pub(super) fn task_path(dir: &Path, task: &str) -> PathBuf {
    let safe: String = task
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_string() } else { format!("%{:02x}", c as u32) }
        })
        .collect();
    dir.join(format!("task-{safe}.bin"))
}

/// The folder a task's on-disk state (a RocksDB checkpoint) has in checkpoint folder `dir`.
pub(super) fn task_state_path(dir: &Path, task: &str) -> PathBuf {
    task_path(dir, task).with_extension("state")
}

/// Where tasks write their on-disk state before the checkpoint that takes it completes.
pub(super) fn staging_dir(root: &Path) -> PathBuf {
    root.join("staging")
}

/// A fresh folder for checkpoint `id` (an incomplete one of that id is removed first).
pub(super) fn prepare_dir(root: &Path, id: u64) -> Result<PathBuf> {
    let dir = root.join(chk_name(id));
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// Writes (and syncs) a file.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| Error::io(path, e))
}

pub(super) fn write_task(dir: &Path, task: &str, bytes: &[u8]) -> Result<()> {
    write_synced(&task_path(dir, task), bytes)
}

/// Writes the metadata, completing the checkpoint: to a temporary file, synced, renamed.
pub(super) fn write_metadata(dir: &Path, m: &Metadata) -> Result<()> {
    let file = MetadataFile {
        version: VERSION,
        id: m.id,
        pipeline: m.pipeline.clone(),
        tasks: m.tasks.clone(),
        finished: m.finished.clone(),
        sinks: m.sinks.clone(),
    };
    let text = serde_json::to_vec_pretty(&file).map_err(|e| Error::State(e.to_string()))?;
    let temp = dir.join(format!("{METADATA}.inprogress"));
    write_synced(&temp, &text)?;
    let path = dir.join(METADATA);
    fs::rename(&temp, &path).map_err(|e| Error::io(&path, e))?;
    // The rename itself made durable.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The metadata of the checkpoint in folder `dir`.
pub(super) fn read_metadata(dir: &Path) -> Result<Metadata> {
    let path = dir.join(METADATA);
    let text = fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::State(format!("{} is not a complete checkpoint or savepoint (it has no {METADATA})", dir.display()))
        } else {
            Error::io(&path, e)
        }
    })?;
    let file: MetadataFile =
        serde_json::from_slice(&text).map_err(|e| Error::State(format!("{}: {e}", path.display())))?;
    if file.version != VERSION {
        return Err(Error::State(format!(
            "{}: format version {} is not {VERSION}, the one this runtime reads",
            path.display(),
            file.version
        )));
    }
    Ok(Metadata {
        id: file.id,
        pipeline: file.pipeline,
        dir: dir.to_path_buf(),
        tasks: file.tasks,
        finished: file.finished,
        sinks: file.sinks,
    })
}

/// Complete checkpoints in `root`, by id.
fn complete(root: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(root, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        let name = entry.file_name();
        let Some(id) = chk_id(&name.to_string_lossy()) else { continue };
        if entry.path().join(METADATA).is_file() {
            out.push((id, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The latest complete checkpoint in `root`, if any.
pub(super) fn latest(root: &Path) -> Result<Option<Metadata>> {
    match complete(root)?.pop() {
        Some((_, dir)) => read_metadata(&dir).map(Some),
        None => Ok(None),
    }
}

/// Removes all but the newest `keep` complete checkpoints, and incomplete ones older than
/// the newest complete one.
pub(super) fn retain(root: &Path, keep: usize) -> Result<()> {
    let done = complete(root)?;
    let Some(&(newest, _)) = done.last() else { return Ok(()) };
    let kept: BTreeSet<u64> = done.iter().rev().take(keep).map(|(id, _)| *id).collect();
    for entry in fs::read_dir(root).map_err(|e| Error::io(root, e))? {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        let Some(id) = chk_id(&entry.file_name().to_string_lossy()) else { continue };
        if id < newest && !kept.contains(&id) {
            fs::remove_dir_all(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Copies complete checkpoint `id` of `root` to `savepoints/savepoint-<id>` (kept until
/// removed by hand): the folder to pass to `--from-savepoint`.
pub(super) fn copy_to_savepoint(root: &Path, id: u64, savepoints: &Path) -> Result<PathBuf> {
    let from = root.join(chk_name(id));
    let to = savepoints.join(format!("savepoint-{id}"));
    let temp = savepoints.join(format!(".savepoint-{id}.inprogress"));
    if temp.exists() {
        fs::remove_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
    }
    copy_tree(&from, &temp)?;
    if to.exists() {
        fs::remove_dir_all(&to).map_err(|e| Error::io(&to, e))?;
    }
    fs::rename(&temp, &to).map_err(|e| Error::io(&to, e))?;
    Ok(to)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).map_err(|e| Error::io(&target, e))?;
        }
    }
    Ok(())
}

/// The bytes of the files under `dir` (0 where it cannot be read).
pub(super) fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => bytes_under(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Locks checkpoint folder `dir` for this process (released when the file is dropped, or
/// the process ends): two processes writing checkpoints into one folder would overwrite
/// each other's.
pub(super) fn lock(dir: &Path) -> Result<std::fs::File> {
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::State(format!(
            "checkpoint folder {} is in use by another process of a pipeline: each process needs its own \
             'state.checkpoints.dir' (processes sharing a consumer group share only 'scale-out.state.dir')",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(dir: &Path, id: u64) -> Metadata {
        Metadata {
            id,
            pipeline: "p".into(),
            dir: dir.to_path_buf(),
            tasks: ["clicks".to_string()].into(),
            finished: BTreeSet::new(),
            sinks: [("out".to_string(), serde_json::json!(["a", "b"]))].into(),
        }
    }

    #[test]
    fn the_latest_complete_checkpoint_is_found_and_old_ones_removed() {
        let root = tempfile::tempdir().unwrap();
        for id in [1, 2, 3] {
            let dir = prepare_dir(root.path(), id).unwrap();
            write_task(&dir, "clicks", b"x").unwrap();
            write_metadata(&dir, &metadata(&dir, id)).unwrap();
        }
        // An incomplete checkpoint 4 (no metadata) is not restored.
        write_task(&prepare_dir(root.path(), 4).unwrap(), "clicks", b"y").unwrap();
        let m = latest(root.path()).unwrap().unwrap();
        assert_eq!(m, metadata(&root.path().join("chk-3"), 3));
        assert_eq!(fs::read(task_path(&m.dir, "clicks")).unwrap(), b"x");
        retain(root.path(), 2).unwrap();
        let left: BTreeSet<String> =
            fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["chk-2", "chk-3", "chk-4"].map(String::from).into());
        let err = read_metadata(&root.path().join("chk-4")).unwrap_err().to_string();
        assert!(err.contains("not a complete checkpoint"), "{err}");
        assert!(task_path(root.path(), "a b/c").ends_with("task-a%20b%2fc.bin"));
    }
}
