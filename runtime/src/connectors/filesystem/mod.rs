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
//!
//! Paths are local (a `file://` prefix is accepted). Not supported: other file systems,
//! compressed files, partition columns and the `file.*` metadata columns.

mod sink;
mod source;

pub use sink::{FileSink, sink};
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
