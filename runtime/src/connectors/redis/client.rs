//! The connection: where to (without leaking the password), reconnecting and retrying
//! with backoff, and the counters of a sink or lookup.

use super::{RedisTable, redis_error};
use crate::error::Result;
use crate::options::TableOptions;
use redis::{Connection, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, RedisResult, ServerErrorKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Longest wait for a connection (TCP, TLS, `AUTH`, `SELECT`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a reply (or for a request to be taken).
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The first wait before a retry; it doubles with each retry, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where a table's server is: the connection settings, and the URL as it may be shown.
#[derive(Clone)]
pub(crate) struct Endpoint {
    info: ConnectionInfo,
    /// The URL without password (with the `database` option when it is given).
    pub(crate) shown: String,
}

impl Endpoint {
    /// Reads `url`, `tls`, `database`, `username` and `password`.
    pub(crate) fn from_options(opts: &TableOptions) -> Result<Endpoint> {
        let url = opts.required("url")?.trim();
        // The URL is never repeated in errors: it may hold a password.
        let mut parsed = redis::parse_redis_url(url)
            .filter(|u| matches!(u.scheme(), "redis" | "rediss"))
            .ok_or_else(|| opts.error("url", "is not a URL of the form redis://host:port or rediss://host:port"))?;
        match (opts.bool("tls")?, parsed.scheme()) {
            (Some(true), "redis") => {
                parsed
                    .set_scheme("rediss")
                    .map_err(|()| opts.error("tls", "cannot turn the URL into a rediss:// URL"))?;
            }
            (Some(false), "rediss") => {
                return Err(opts.error("tls", "is false but 'url' is a rediss:// URL (TLS)"));
            }
            _ => {}
        }
        let mut shown_url = parsed.clone();
        let _ = shown_url.set_password(None);
        let mut shown = shown_url.to_string();
        let info = parsed
            .as_str()
            .into_connection_info()
            .map_err(|e| opts.error("url", format!("is not a usable Redis URL: {e}")))?;
        let mut settings = info.redis_settings().clone();
        if let Some(db) = opts.u64("database")? {
            let db = i64::try_from(db).map_err(|_| opts.error("database", "is too large"))?;
            settings = settings.set_db(db);
            shown.push_str(&format!(" (database {db})"));
        }
        if let Some(user) = opts.get("username") {
            settings = settings.set_username(user);
        }
        if let Some(password) = opts.get("password") {
            settings = settings.set_password(password);
        }
        Ok(Endpoint { info: info.set_redis_settings(settings), shown })
    }
}

/// What a sink or a lookup has done so far (see [`RedisStatsHandle`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisStats {
    /// Sink: rows and changes received.
    pub rows: u64,
    /// Sink: keys stored, by pipelines that succeeded (after coalescing: one per key and
    /// pipeline).
    pub keys_written: u64,
    /// Sink: keys deleted, by pipelines that succeeded.
    pub keys_deleted: u64,
    /// Sink: pipelines that succeeded.
    pub flushes: u64,
    /// Sink: rows skipped because a key column was NULL.
    pub null_keys: u64,
    /// Lookup: keys looked up (without NULLs).
    pub lookups: u64,
    /// Lookup: keys answered from the cache.
    pub cache_hits: u64,
    /// Requests sent to Redis (pipelines, including retries and the connection check).
    pub round_trips: u64,
    /// Retries after a failed request.
    pub retries: u64,
    /// Requests that still failed after their retries (or could not be retried).
    pub errors: u64,
    /// Lookup: values that could not be read (answered as no row with `lookup.on-error` =
    /// `null`).
    pub bad_values: u64,
}

/// The live counters behind [`RedisStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) rows: AtomicU64,
    pub(crate) keys_written: AtomicU64,
    pub(crate) keys_deleted: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) null_keys: AtomicU64,
    pub(crate) lookups: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) round_trips: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) bad_values: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A handle on the counters of a sink or lookup that stays readable after the sink is
/// handed to the pipeline (for metrics).
#[derive(Debug, Clone, Default)]
pub struct RedisStatsHandle(pub(crate) Arc<Counters>);

impl RedisStatsHandle {
    /// The counters now.
    pub fn get(&self) -> RedisStats {
        let c = &*self.0;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RedisStats {
            rows: get(&c.rows),
            keys_written: get(&c.keys_written),
            keys_deleted: get(&c.keys_deleted),
            flushes: get(&c.flushes),
            null_keys: get(&c.null_keys),
            lookups: get(&c.lookups),
            cache_hits: get(&c.cache_hits),
            round_trips: get(&c.round_trips),
            retries: get(&c.retries),
            errors: get(&c.errors),
            bad_values: get(&c.bad_values),
        }
    }
}

/// The wait before retry number `retry` (0-based): 100 ms, doubling, at most 5 s.
pub(crate) fn backoff(retry: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX)).min(MAX_BACKOFF)
}

/// Whether a request that failed with `e` may succeed if sent again on a new connection:
/// the connection failed or timed out, or the server is starting, loading or failing over.
pub(crate) fn retryable(e: &RedisError) -> bool {
    match e.kind() {
        ErrorKind::Io | ErrorKind::Parse => true,
        ErrorKind::Server(
            ServerErrorKind::TryAgain
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::BusyLoading
            | ServerErrorKind::ReadOnly,
        ) => true,
        _ => e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal(),
    }
}

/// A request that failed for good.
pub(crate) struct Failure {
    pub(crate) error: RedisError,
    pub(crate) retries: u32,
}

/// A connection to a table's server, made when first needed and again after an error.
pub(crate) struct Client {
    client: redis::Client,
    conn: Option<Connection>,
    /// The URL as it may be shown.
    pub(crate) shown: String,
    retries: u32,
    pub(crate) stats: Arc<Counters>,
}

impl Client {
    /// A client of `table`'s server retrying failed requests `retries` times (nothing is
    /// connected yet).
    pub(crate) fn new(table: &RedisTable, retries: u32) -> Result<Client> {
        let client = redis::Client::open(table.endpoint.info.clone())
            .map_err(|e| redis_error(&table.table, format!("{}: {e}", table.endpoint.shown)))?;
        Ok(Client { client, conn: None, shown: table.endpoint.shown.clone(), retries, stats: Arc::default() })
    }

    /// Connects (with retries) and checks that the server answers.
    pub(crate) fn check(&mut self) -> Result<(), Failure> {
        self.run(|c| redis::cmd("PING").exec(c))
    }

    /// `request` on the connection; after a failure that a retry may help, again on a new
    /// connection after a backoff, up to the client's retries.
    pub(crate) fn run<T>(&mut self, mut request: impl FnMut(&mut Connection) -> RedisResult<T>) -> Result<T, Failure> {
        let mut retry = 0;
        loop {
            Counters::add(&self.stats.round_trips, 1);
            let result = self.connection().and_then(&mut request);
            match result {
                Ok(v) => {
                    if retry > 0 {
                        tracing::info!(url = %self.shown, "Redis answering again after {retry} retries");
                    }
                    return Ok(v);
                }
                Err(error) => {
                    // The connection's state is unknown (a reply may still come): start anew.
                    self.conn = None;
                    if retry >= self.retries || !retryable(&error) {
                        Counters::add(&self.stats.errors, 1);
                        return Err(Failure { error, retries: retry });
                    }
                    // Operators see an outage as it happens (the URL is shown without its password).
                    let wait = backoff(retry);
                    tracing::warn!(
                        url = %self.shown,
                        "Redis: {error}; retrying in {} ms (retry {} of {})",
                        wait.as_millis(),
                        retry + 1,
                        self.retries
                    );
                    std::thread::sleep(wait);
                    retry += 1;
                    Counters::add(&self.stats.retries, 1);
                }
            }
        }
    }

    fn connection(&mut self) -> RedisResult<&mut Connection> {
        let conn = match self.conn.take() {
            Some(c) => c,
            None => {
                let c = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
                c.set_read_timeout(Some(IO_TIMEOUT))?;
                c.set_write_timeout(Some(IO_TIMEOUT))?;
                c
            }
        };
        Ok(self.conn.insert(conn))
    }

    /// What failed, for an error message: the server (no password) and Redis's error.
    pub(crate) fn describe(&self, what: &str, failure: &Failure) -> String {
        let retried = match failure.retries {
            0 if retryable(&failure.error) => " (no retries configured)".to_string(),
            0 => String::new(),
            1 => " (after 1 retry)".to_string(),
            n => format!(" (after {n} retries)"),
        };
        format!("{what} at {}: {}{retried}", self.shown, failure.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        let ms: Vec<u128> = (0..8).map(|r| backoff(r).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn urls_are_shown_without_password() {
        let opts = |pairs: &[(&str, &str)]| TableOptions::new("t", pairs);
        let e = Endpoint::from_options(&opts(&[("url", "redis://user:s3cret@127.0.0.1:7000/2")])).unwrap();
        assert_eq!(e.shown, "redis://user@127.0.0.1:7000/2");
        assert_eq!(e.info.redis_settings().password(), Some("s3cret"));
        assert_eq!(e.info.redis_settings().db(), 2);
        let e = Endpoint::from_options(&opts(&[
            ("url", "redis://:pw@localhost"),
            ("database", "3"),
            ("username", "u"),
            ("password", "other"),
        ]))
        .unwrap();
        assert_eq!(e.shown, "redis://localhost (database 3)");
        let s = e.info.redis_settings();
        assert_eq!((s.db(), s.username(), s.password()), (3, Some("u"), Some("other")));
        // TLS: from the scheme, or the option.
        let e = Endpoint::from_options(&opts(&[("url", "redis://h:1"), ("tls", "true")])).unwrap();
        assert_eq!(e.shown, "rediss://h:1");
        assert!(matches!(e.info.addr(), redis::ConnectionAddr::TcpTls { .. }));
        let e = Endpoint::from_options(&opts(&[("url", "rediss://h:1")])).unwrap();
        assert!(matches!(e.info.addr(), redis::ConnectionAddr::TcpTls { .. }));
        let err = Endpoint::from_options(&opts(&[("url", "rediss://h:1"), ("tls", "false")])).err().unwrap();
        assert!(err.to_string().contains("'tls': is false but 'url' is a rediss://"), "{err}");
        // Bad URLs are not repeated (they may hold a password).
        for bad in ["http://:secret@h", "secret", "redis://:secret@"] {
            let err = Endpoint::from_options(&opts(&[("url", bad)])).err().unwrap().to_string();
            assert!(err.starts_with("table `t`: option 'url': is not"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
        let err = Endpoint::from_options(&opts(&[])).err().unwrap().to_string();
        assert!(err.contains("'url': is required"), "{err}");
    }
}
