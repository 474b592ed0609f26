//! The `filesystem` connector: reads and writes local files of newline-delimited JSON or
//! CSV records (see [`format`](crate::connectors::format)).
//!
//! * [`source`]: `path` is a file, or a folder whose regular files (at any depth, sorted by
//!   path; names starting with `.` or `_` skipped, as in Flink) are read one after the
//!   other, each once. `source.path.regex-pattern` (Java syntax) must match the whole
//!   absolute path of a file for it to be read. The source is bounded unless
//!   `source.monitor-interval` is set: then the folder is scanned again at that interval
//!   and new files are read until the pipeline stops. A record that cannot be read fails
//!   the run with its file and line (`Error::BadRecord`); with
//!   `<format>.ignore-parse-errors` it is skipped and counted (fields that cannot be read
//!   become NULL first, as in Flink); with `source.dead-letter.path` (dflc extension) it
//!   is appended to that file as a JSON line with the table, file, line, reason and the
//!   record's text, and counted as skipped.
//! * [`sink`]: `path` is a folder (an existing one, or one written with a trailing `/`) to
//!   write part files into, or else a single file. Output goes to hidden temporary files
//!   that `flush` completes and renames into place, so that a crashed run never leaves
//!   output that looks complete.
//! * [`partitioned_sink`]: a table `PARTITIONED BY` columns writes Flink's layout,
//!   `<path>/<col1>=<value1>/<col2>=<value2>/part-…` (in `PARTITIONED BY` order), each
//!   partition with its own hidden part files, committed as above. A value is the column
//!   cast to a string; NULL or the empty string is `partition.default-name`
//!   (`__DEFAULT_PARTITION__`). Names and values are escaped as Flink's
//!   `PartitionPathUtils` does: control characters, DEL and `"#%'*/:=?\{[]^` become `%XX`
//!   (`12:30` is `12%3A30`). The partition columns are not written into the records (Flink
//!   drops them from the data); the other columns are, in order.
//!
//!   With `'sink.partition-commit.policy.kind' = 'success-file'`, a committed partition
//!   gets an empty marker file (`sink.partition-commit.success-file.name`, `_SUCCESS`). A
//!   partition is committed once the files holding its rows are visible (their checkpoint
//!   completed, or the run ended) and `sink.partition-commit.delay` has passed since it was
//!   created, by processing time, checked when a checkpoint completes; at the end of the
//!   run every partition is committed. The sink does not see the watermark, so the
//!   `partition-time` trigger works as `process-time` does. Rows arriving later into a
//!   committed partition make it pending again, and it is committed again (the marker
//!   rewritten), as in Flink. Other policies (`metastore`, `custom`) are refused.
//!
//! Paths are local (a `file://` prefix is accepted). Not supported: other file systems,
//! compressed files, reading partition columns back from directory names, and the
//! `file.*` metadata columns.

mod partition;
mod sink;
mod source;

pub use sink::{FileSink, partitioned_sink, sink};
pub use source::{FileSource, source};

use crate::error::{Error, Result};
use crate::options::TableOptions;
use std::path::PathBuf;

/// The local path of option `key` (`file://` removed).
pub(crate) fn local_path(opts: &TableOptions, key: &str) -> Result<PathBuf> {
    let raw = opts.required(key)?;
    let path = raw.strip_prefix("file://").unwrap_or(raw);
    if path.is_empty() {
        return Err(opts.error(key, "is empty"));
    }
    if let Some((scheme, _)) = path.split_once("://") {
        return Err(opts.error(key, format!("file system '{scheme}://' is not supported; only local paths are")));
    }
    Ok(PathBuf::from(path))
}

/// An I/O error on `path`.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}
