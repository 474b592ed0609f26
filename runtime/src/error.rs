//! Runtime errors, with the context needed to act on them.

use std::path::PathBuf;

/// What stops a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A table option (from the query or `--set`) has a bad value.
    #[error("table `{table}`: option '{key}': {message}")]
    Option {
        /// The table.
        table: String,
        /// The option key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A pipeline setting or command-line argument is wrong.
    #[error("{0}")]
    Config(String),
    /// A record could not be decoded (and the table is set to fail on bad records).
    #[error("{file}:{line}: cannot read record: {reason}")]
    BadRecord {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Why.
        reason: String,
    },
    /// A Kafka message could not be read (and the table is set to fail on bad records).
    #[error("table `{table}`: topic '{topic}' partition {partition} offset {offset}: cannot read record: {reason}")]
    BadMessage {
        /// The source table.
        table: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The message's offset.
        offset: i64,
        /// Why.
        reason: String,
    },
    /// A Kafka client failed for good: configuration, authentication or authorization,
    /// a topic that does not exist, no offset to start from.
    #[error("table `{table}`: Kafka: {message}")]
    Kafka {
        /// The table.
        table: String,
        /// What failed.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a row failed.
    #[error("table `{table}`: cannot write row: {reason}")]
    Write {
        /// The sink table.
        table: String,
        /// Why.
        reason: String,
    },
    /// Taking or restoring a checkpoint failed (or a savepoint is not this query's).
    #[error("checkpoint: {0}")]
    State(String),
    /// A task ended because another task of the run it exchanges rows with stopped (a
    /// worker whose router failed): the run reports the other task's error instead.
    #[error("{0}")]
    PeerStopped(String),
    /// A NOT NULL column received a NULL.
    #[error("table `{table}`: column `{column}` is NOT NULL, but the query produced NULL")]
    NullInNotNull {
        /// The sink table.
        table: String,
        /// The column.
        column: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
