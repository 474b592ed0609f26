//! Running a generated pipeline: command-line arguments, `--set` overrides, signals,
//! one thread per source, shared sinks with batched writes, the metrics server, and the
//! exit code.

use crate::changelog::Change;
use crate::checkpoint::{CheckpointConfig, Checkpoints, Committer};
use crate::error::{Error, Result};
use crate::metrics::{Registry, SinkMeter, TaskCounter, TaskScope};
use crate::options::TableOptions;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// What the generated code declares about its pipeline.
#[derive(Debug, Clone, Copy)]
pub struct PipelineSpec {
    /// The pipeline's name (the query file's stem).
    pub name: &'static str,
    /// Every table's options as written in the query: `(table, [(key, value)])`.
    pub tables: &'static [(&'static str, &'static [(&'static str, &'static str)])],
    /// `SET` settings in effect at the end of the query file.
    pub settings: &'static [(&'static str, &'static str)],
}

/// Counters every run keeps; printed when it ends, and served as metrics.
#[derive(Debug)]
pub struct Counters {
    /// Rows read by all sources.
    pub rows_in: AtomicU64,
    /// Rows written to all sinks.
    pub rows_out: AtomicU64,
    /// Records skipped: unreadable (`ignore-parse-errors`, dead-lettered; sources count
    /// those by reason on their [`SourceMeter`](crate::metrics::SourceMeter)), or dropped
    /// for a NULL in a NOT NULL sink column (generated code, with
    /// [`fetch_add`](TaskCounter::fetch_add): counted for the task too).
    pub skipped: TaskCounter,
    /// Rows that arrived after the watermark had passed all their windows (dropped);
    /// counted for the task too.
    pub late: TaskCounter,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            rows_in: AtomicU64::new(0),
            rows_out: AtomicU64::new(0),
            skipped: TaskCounter::dropped(),
            late: TaskCounter::late(),
        }
    }
}

/// What operators see of the running pipeline.
pub struct Context {
    stop: Arc<AtomicBool>,
    /// A task failed (the others stop; no checkpoint completes any more).
    failed: Arc<AtomicBool>,
    tables: BTreeMap<String, TableOptions>,
    settings: BTreeMap<String, String>,
    checkpoints: Option<Checkpoints>,
    /// Run-wide counters.
    pub counters: Arc<Counters>,
    metrics: Arc<Registry>,
    /// The metrics server, while the run has one.
    server: Option<crate::metrics::Server>,
    /// Channels of `rust` tables handed over by the program running the pipeline (see
    /// [`crate::embedded`]), by `source:<table>` / `sink:<table>`.
    channels: Mutex<BTreeMap<String, Box<dyn std::any::Any + Send>>>,
}

impl Context {
    /// A context for tests and tools: the given tables, no signal handling.
    pub fn new(tables: Vec<TableOptions>, settings: BTreeMap<String, String>) -> Self {
        let (stop, failed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let counters = Arc::new(Counters::default());
        let metrics = Arc::new(Registry::new(Arc::clone(&counters), Arc::clone(&stop), Arc::clone(&failed)));
        if let Some(name) = settings.get("pipeline.name") {
            metrics.set_pipeline(name);
        }
        Context {
            stop,
            failed,
            tables: tables.into_iter().map(|t| (t.table.clone(), t)).collect(),
            settings,
            checkpoints: None,
            counters,
            metrics,
            server: None,
            channels: Mutex::default(),
        }
    }

    /// The run's metrics.
    pub fn metrics(&self) -> &Arc<Registry> {
        &self.metrics
    }

    /// Serves the run's metrics and health checks on `addr` (`HOST:PORT`, port 0 for any
    /// free port) until the context is dropped; the address bound.
    pub fn serve_metrics(&mut self, addr: &str) -> std::io::Result<std::net::SocketAddr> {
        let server = crate::metrics::Server::start(addr, Arc::clone(&self.metrics))?;
        let bound = server.local_addr();
        self.server = Some(server);
        Ok(bound)
    }

    /// The address metrics are served on, if they are.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().map(crate::metrics::Server::local_addr)
    }

    /// The address the settings ask metrics to be served on: `Some(None)` for `off`,
    /// `None` when not set.
    fn metrics_setting(&self) -> Option<Option<&str>> {
        use crate::metrics::server::{SETTING, SETTING_ALIAS, parse_addr};
        let value = self.setting(SETTING).or_else(|| self.setting(SETTING_ALIAS))?;
        Some(parse_addr(value))
    }

    /// Hands this run the channel of a `rust` table (`source:<table>` or `sink:<table>`).
    pub(crate) fn give_channel(&self, key: String, channel: Box<dyn std::any::Any + Send>) {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).insert(key, channel);
    }

    /// Takes the channel given for `key`, if any.
    pub(crate) fn take_channel(&self, key: &str) -> Option<Box<dyn std::any::Any + Send>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).remove(key)
    }

    /// The flag that stops the run when set (shared with a handle of the program's).
    pub(crate) fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// [`Context::new`] taking checkpoints as the settings say (restoring the latest).
    pub fn with_checkpoints(mut self, pipeline: &str) -> Result<Self> {
        if let Some(config) = CheckpointConfig::from_settings(&self.settings)? {
            let checkpoints = Checkpoints::open(config, pipeline)?;
            self.metrics.set_checkpoints(checkpoints.meter());
            self.checkpoints = Some(checkpoints);
        }
        Ok(self)
    }

    /// The checkpoint coordinator, when checkpoints are taken.
    pub fn checkpoints(&self) -> Option<&Checkpoints> {
        self.checkpoints.as_ref()
    }

    /// `table.exec.state.ttl`: how long state of keys not written is kept (ms), `None` for
    /// ever (unset or 0, Flink's default).
    pub fn state_ttl_ms(&self) -> Result<Option<i64>> {
        let Some(v) = self.setting("table.exec.state.ttl") else { return Ok(None) };
        let ms = crate::options::parse_duration_ms(v).ok_or_else(|| {
            Error::Config(format!("setting 'table.exec.state.ttl': '{v}' is not a duration such as '1 h'"))
        })?;
        Ok((ms > 0).then(|| i64::try_from(ms).unwrap_or(i64::MAX)))
    }

    /// Checks the `state.backend` setting against the backend the pipeline was compiled
    /// with (`memory` or `rocksdb`): it is chosen when the query is compiled.
    pub fn check_state_backend(&self, compiled: &str) -> Result<()> {
        let Some(wanted) = self.setting("state.backend") else { return Ok(()) };
        let mut wanted = wanted.trim().to_ascii_lowercase();
        if wanted == "hashmap" {
            wanted = "memory".into();
        }
        if wanted != compiled {
            return Err(Error::Config(format!(
                "setting 'state.backend' is '{wanted}' but this pipeline was compiled with '{compiled}': set it in the \
                 query (SET 'state.backend' = '{wanted}';) and build it again"
            )));
        }
        Ok(())
    }

    /// Whether a task has failed.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Makes `sink` (table `name`) take part in checkpoints: it recovers from the
    /// checkpoint restored and commits at each checkpoint (without checkpoints, nothing).
    /// Its writers count what they write for table `name`, and the sink shows its own
    /// metrics ([`Sink::register_metrics`]).
    pub fn register_sink<R: Send + 'static>(&self, name: &str, sink: &SharedSink<R>) -> Result<()> {
        let _ = sink.meter.set(self.metrics.sink(name));
        sink.inner.lock().unwrap_or_else(|p| p.into_inner()).register_metrics(name, &self.metrics);
        match &self.checkpoints {
            Some(c) => c.register_sink(name, Box::new(sink.clone())),
            None => Ok(()),
        }
    }

    /// Whether the pipeline has been asked to stop (signal or failure elsewhere).
    #[inline]
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Asks every source to stop.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The options of a table.
    pub fn table(&self, name: &str) -> Result<&TableOptions> {
        self.tables.get(name).ok_or_else(|| Error::Config(format!("no options for table `{name}`")))
    }

    /// A pipeline setting.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }
}

/// A source's work: reads its table and pushes rows through the fused operators to sinks.
pub type Task<'a> = Box<dyn FnOnce(&Context) -> Result<()> + Send + 'a>;

/// Runs every task on its own thread and waits for all. The first failure stops the
/// others; the run fails with it.
pub fn run_tasks(cx: &Context, tasks: Vec<Task<'_>>) -> Result<()> {
    cx.metrics.tasks_starting(tasks.len());
    let result = run_all(cx, tasks);
    cx.metrics.tasks_done();
    result?;
    // The run's last checkpoint: the pipeline is done, or stopped.
    match &cx.checkpoints {
        Some(c) => c.finish(),
        None => Ok(()),
    }
}

fn run_all(cx: &Context, tasks: Vec<Task<'_>>) -> Result<()> {
    if tasks.len() == 1 {
        let task = tasks.into_iter().next().expect("one task");
        let scope = TaskScope::enter(&cx.metrics);
        let result = task(cx);
        drop(scope);
        if result.is_err() {
            cx.failed.store(true, Ordering::Relaxed);
        }
        return result;
    }
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for task in tasks {
            let first_error = &first_error;
            scope.spawn(move || {
                let _scope = TaskScope::enter(&cx.metrics);
                if let Err(e) = task(cx) {
                    // The error is kept before the run is marked failed: a task that ends
                    // because another failed waits for that, and its own error comes second.
                    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    // A task that stopped because of another is not the cause.
                    if slot.as_ref().is_none_or(|kept| matches!(kept, Error::PeerStopped(_))) {
                        *slot = Some(e);
                    }
                    drop(slot);
                    cx.failed.store(true, Ordering::Release);
                    cx.request_stop();
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Where rows go: a connector's writer.
pub trait Sink<R>: Send {
    /// Writes (and removes) every row of `rows`.
    fn write_batch(&mut self, rows: &mut Vec<R>) -> Result<()>;
    /// Flushes everything written so far to its destination.
    fn flush(&mut self) -> Result<()>;

    /// Makes everything written so far durable at its destination while the output goes
    /// on (a source's barrier: its position is committed next). Sinks that commit only at
    /// the end of the run (files) do nothing here.
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }

    /// Time passes while the input is idle: a sink holding rows until a time limit
    /// (`sink.buffer-flush.interval`) sends those that are due. By default nothing.
    fn tick(&mut self) -> Result<()> {
        Ok(())
    }

    /// Checkpoints: makes everything written so far ready to commit without making it
    /// visible, and returns what [`commit`](Self::commit) needs (recorded in the
    /// checkpoint). By default: [`sync`](Self::sync) (output is then at least once).
    fn prepare_commit(&mut self, checkpoint: u64) -> Result<serde_json::Value> {
        let _ = checkpoint;
        self.sync()?;
        Ok(serde_json::Value::Null)
    }

    /// Commits what [`prepare_commit`](Self::prepare_commit) of checkpoint `checkpoint`
    /// prepared, once the checkpoint is complete.
    fn commit(&mut self, checkpoint: u64, info: &serde_json::Value) -> Result<()> {
        let _ = (checkpoint, info);
        Ok(())
    }

    /// At start, before anything is written: redoes the commit of the checkpoint restored
    /// (`info`; `None` when starting afresh), which a crash may have interrupted, and
    /// removes what an earlier run wrote after it.
    fn recover(&mut self, info: Option<&serde_json::Value>) -> Result<()> {
        let _ = info;
        Ok(())
    }

    /// Shows the sink's own metrics (client errors, retries) in `metrics`, as those of
    /// table `table`; called once, when the sink is registered. By default none.
    fn register_metrics(&self, table: &str, metrics: &Registry) {
        let _ = (table, metrics);
    }

    /// Applies (and removes) every change of `changes`. Sinks that keep a table by key
    /// override it; an append-only sink takes inserts only (the compiler never gives it
    /// anything else) and fails on a retraction rather than lose it.
    fn write_changes(&mut self, changes: &mut Vec<Change<R>>) -> Result<()> {
        if let Some(c) = changes.iter().find(|c| c.kind.is_retraction()) {
            return Err(Error::Config(format!(
                "internal error: an append-only sink was given a {} row",
                c.kind.short()
            )));
        }
        let mut rows: Vec<R> = changes.drain(..).map(|c| c.row).collect();
        self.write_batch(&mut rows)
    }
}

/// A sink shared by the tasks that write to it; each task writes through its own
/// [`SinkWriter`], which batches rows so that the lock is taken once per batch.
pub struct SharedSink<R> {
    inner: Arc<Mutex<Box<dyn Sink<R>>>>,
    /// What the writers count, once the sink is registered under its table.
    meter: Arc<OnceLock<Arc<SinkMeter>>>,
}

impl<R> Clone for SharedSink<R> {
    fn clone(&self) -> Self {
        SharedSink { inner: Arc::clone(&self.inner), meter: Arc::clone(&self.meter) }
    }
}

/// Rows a writer collects before handing them to the sink.
const BATCH: usize = 1024;

impl<R: Send + 'static> SharedSink<R> {
    /// Shares `sink`.
    pub fn new(sink: impl Sink<R> + 'static) -> Self {
        SharedSink { inner: Arc::new(Mutex::new(Box::new(sink))), meter: Arc::default() }
    }

    /// A batching writer for one task.
    pub fn writer<'a>(&self, cx: &'a Context) -> SinkWriter<'a, R> {
        BatchWriter::new(self, cx)
    }

    /// A batching writer of changes (an updating result) for one task.
    pub fn change_writer<'a>(&self, cx: &'a Context) -> ChangeWriter<'a, R> {
        BatchWriter::new(self, cx)
    }

    /// Flushes the sink (after every writer has flushed).
    pub fn flush(&self) -> Result<()> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }

    /// Makes what was written so far durable (see [`Sink::sync`]).
    pub fn sync(&self) -> Result<()> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).sync()
    }
}

impl<R: Send + 'static> Committer for SharedSink<R> {
    fn prepare(&mut self, checkpoint: u64) -> Result<serde_json::Value> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).prepare_commit(checkpoint)
    }

    fn commit(&mut self, checkpoint: u64, info: &serde_json::Value) -> Result<()> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).commit(checkpoint, info)
    }

    fn recover(&mut self, info: Option<&serde_json::Value>) -> Result<()> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).recover(info)
    }
}

/// What a writer batches for a sink of rows `R`: the rows themselves (appends), or
/// [`Change`]s of an updating result.
pub trait Batch<R>: Sized + Send {
    /// Hands (and removes) every item of `batch` to `sink`.
    fn write_to(sink: &mut dyn Sink<R>, batch: &mut Vec<Self>) -> Result<()>;

    /// The row of the item.
    fn row(&self) -> &R;
}

impl<R: Send> Batch<R> for R {
    fn write_to(sink: &mut dyn Sink<R>, batch: &mut Vec<R>) -> Result<()> {
        sink.write_batch(batch)
    }

    fn row(&self) -> &R {
        self
    }
}

impl<R: Send> Batch<R> for Change<R> {
    fn write_to(sink: &mut dyn Sink<R>, batch: &mut Vec<Change<R>>) -> Result<()> {
        sink.write_changes(batch)
    }

    fn row(&self) -> &R {
        &self.row
    }
}

/// One task's batching handle on a [`SharedSink`], taking items `T` (rows, or changes).
pub struct BatchWriter<'a, R, T> {
    sink: SharedSink<R>,
    buffer: Vec<T>,
    cx: &'a Context,
    /// The sink table's meter (when the sink is registered).
    meter: Option<Arc<SinkMeter>>,
    /// When the first row of the batch being collected came (with a meter).
    first: Option<Instant>,
    /// The event time (ms) of a row, for sinks whose rows have one (with a meter).
    event_time: Option<fn(&R) -> Option<i64>>,
    /// The event time of the first row of the batch being collected.
    first_time: Option<i64>,
}

/// A writer of appended rows.
pub type SinkWriter<'a, R> = BatchWriter<'a, R, R>;

/// A writer of changes (an updating result).
pub type ChangeWriter<'a, R> = BatchWriter<'a, R, Change<R>>;

impl<'a, R: Send + 'static, T: Batch<R>> BatchWriter<'a, R, T> {
    fn new(sink: &SharedSink<R>, cx: &'a Context) -> Self {
        let meter = sink.meter.get().cloned();
        BatchWriter {
            sink: sink.clone(),
            buffer: Vec::with_capacity(BATCH),
            cx,
            meter,
            first: None,
            event_time: None,
            first_time: None,
        }
    }

    /// Reads each batch's first row's event time with `f`, for the event-time latency.
    pub fn with_event_time(mut self, f: fn(&R) -> Option<i64>) -> Self {
        if let Some(m) = &self.meter {
            m.timed();
            self.event_time = Some(f);
        }
        self
    }

    /// Queues an item; writes the batch when it is full.
    #[inline]
    pub fn write(&mut self, item: T) -> Result<()> {
        self.buffer.push(item);
        // (After the push: a call before it would copy the row once more.)
        if self.buffer.len() == 1 {
            self.batch_starts();
        }
        if self.buffer.len() >= BATCH {
            self.write_out()?;
        }
        Ok(())
    }

    /// The first row of a batch comes: when, for the emit latency (once per batch).
    #[cold]
    fn batch_starts(&mut self) {
        if self.meter.is_some() {
            self.first = Some(Instant::now());
            if let (Some(f), Some(item)) = (self.event_time, self.buffer.first()) {
                self.first_time = f(item.row());
            }
        }
    }

    fn write_out(&mut self) -> Result<()> {
        let n = self.buffer.len() as u64;
        let started = self.meter.as_ref().map(|_| Instant::now());
        let mut sink = self.sink.inner.lock().unwrap_or_else(|p| p.into_inner());
        T::write_to(&mut **sink, &mut self.buffer)?;
        drop(sink);
        if let (Some(m), Some(t)) = (&self.meter, started) {
            m.wrote_for(t.elapsed());
        }
        self.cx.counters.rows_out.fetch_add(n, Ordering::Relaxed);
        if let Some(m) = &self.meter {
            m.batch(n, self.first.take().map(|t| t.elapsed()), self.first_time.take());
        }
        Ok(())
    }

    /// Writes what is queued.
    pub fn flush(&mut self) -> Result<()> {
        if !self.buffer.is_empty() {
            self.write_out()?;
        }
        Ok(())
    }

    /// The input is idle: writes what is queued and lets the sink send what is due
    /// ([`Sink::tick`]).
    pub fn idle(&mut self) -> Result<()> {
        self.flush()?;
        self.sink.inner.lock().unwrap_or_else(|p| p.into_inner()).tick()
    }
}

/// The usage text of a pipeline binary.
fn usage(name: &str) -> String {
    format!(
        "{name}: a dflc pipeline\n\n\
         Usage: {name} [--set KEY=VALUE]...\n\n\
         Options:\n  \
         --set TABLE.OPTION=VALUE   override a table option, e.g. --set clicks.path=/data/in\n  \
         --set SETTING=VALUE        override a pipeline setting, e.g. --set pipeline.name=x\n  \
         --from-savepoint DIR       start from this checkpoint or savepoint (needs state.checkpoints.dir)\n  \
         --metrics-addr HOST:PORT   serve Prometheus metrics (/metrics) and health checks (/healthz, /readyz)\n                             \
         there (default {default}; port 0: any free port; off: none); setting metrics.addr\n  \
         -h, --help                 print this help\n\n\
         Stops cleanly (flushing sinks; with state.checkpoints.dir, taking a final checkpoint) on SIGINT or SIGTERM,\n\
         and by itself when every source is bounded and done. With state.checkpoints.dir, SIGUSR1 takes a\n\
         savepoint (into state.savepoints.dir) and a restart resumes from the latest checkpoint.",
        default = crate::metrics::server::DEFAULT_ADDR
    )
}

/// Parses `--set` arguments into table options and settings.
pub(crate) fn configure(spec: &PipelineSpec, args: &[String]) -> Result<Option<Context>> {
    let mut tables: BTreeMap<String, TableOptions> =
        spec.tables.iter().map(|(t, opts)| (t.to_string(), TableOptions::new(t, opts))).collect();
    let mut settings: BTreeMap<String, String> =
        spec.settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let assignment = match arg.as_str() {
            "-h" | "--help" => {
                println!("{}", usage(spec.name));
                return Ok(None);
            }
            "--from-savepoint" => {
                let dir = it.next().ok_or_else(|| Error::Config("--from-savepoint needs a folder".into()))?;
                settings.insert("execution.savepoint.path".into(), dir.clone());
                continue;
            }
            "--metrics-addr" => {
                let addr = it.next().ok_or_else(|| Error::Config("--metrics-addr needs HOST:PORT (or off)".into()))?;
                settings.insert(crate::metrics::server::SETTING.into(), addr.clone());
                continue;
            }
            a if a.starts_with("--metrics-addr=") => {
                settings.insert(crate::metrics::server::SETTING.into(), a["--metrics-addr=".len()..].to_string());
                continue;
            }
            "--set" => it.next().ok_or_else(|| Error::Config("--set needs KEY=VALUE".into()))?.clone(),
            a if a.starts_with("--set=") => a["--set=".len()..].to_string(),
            other => return Err(Error::Config(format!("unknown argument '{other}'\n\n{}", usage(spec.name)))),
        };
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("--set {assignment}: expected KEY=VALUE")))?;
        let table = tables.keys().find(|t| key.strip_prefix(t.as_str()).is_some_and(|r| r.starts_with('.'))).cloned();
        match table {
            Some(t) => {
                let option = &key[t.len() + 1..];
                tables.get_mut(&t).expect("found above").set(option, value);
            }
            None => {
                // Settings of the runtime itself (checkpoints, state, execution) are known.
                let known = ["state.", "execution.", "table.", "pipeline.", "parallelism.", "metrics.", "scale-out."];
                if !settings.contains_key(key) && !known.iter().any(|p| key.starts_with(p)) {
                    let table = key.split('.').next().unwrap_or(key);
                    tracing::warn!(
                        pipeline = spec.name,
                        "--set {key}: no table is named `{table}` and the query sets no '{key}'; it is kept as a \
                         pipeline setting (tables: {})",
                        tables.keys().cloned().collect::<Vec<_>>().join(", ")
                    );
                }
                settings.insert(key.to_string(), value.to_string());
            }
        }
    }
    let mut cx = Context::new(tables.into_values().collect(), settings).with_checkpoints(spec.name)?;
    if cx.setting("pipeline.name").is_none() {
        cx.metrics.set_pipeline(spec.name);
    }
    // Metrics are served where the settings say (a pipeline embedded in a program: only
    // then); the binary's default address is tried by `main_with_args`.
    if let Some(Some(addr)) = cx.metrics_setting() {
        let addr = addr.to_string();
        cx.serve_metrics(&addr).map_err(|e| {
            Error::Config(format!(
                "cannot serve metrics on {addr} (--metrics-addr, setting '{}'): {e}",
                crate::metrics::server::SETTING
            ))
        })?;
    }
    Ok(Some(cx))
}

/// The `main` of a generated pipeline binary: arguments, signals, running, exit code.
pub fn main(spec: PipelineSpec, run: fn(&Context) -> Result<()>) -> ExitCode {
    main_with_args(spec, run, std::env::args().skip(1).collect())
}

/// [`main`] with the arguments given (after the program name). Sets up the logs first
/// ([`crate::logging::init`]: `RUST_LOG`, `DFL_LOG_FORMAT`), unless the program did.
pub fn main_with_args(spec: PipelineSpec, run: fn(&Context) -> Result<()>, args: Vec<String>) -> ExitCode {
    crate::logging::init();
    let pipeline = spec.name;
    let mut cx = match configure(&spec, &args) {
        Ok(Some(cx)) => cx,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(pipeline, "{e}");
            return ExitCode::from(2);
        }
    };
    // What the run was configured with, secrets hidden (RUST_LOG=dfl::pipeline=debug).
    for (table, options) in &cx.tables {
        let options = crate::logging::shown_options(options.with_prefix(""));
        tracing::debug!(pipeline, table = %table, options = %options, "table options");
    }
    tracing::debug!(
        pipeline,
        settings = %crate::logging::shown_options(cx.settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        "settings"
    );
    // An address given that cannot be served on failed above; the default one taken (by
    // another pipeline) only warns.
    if cx.metrics_setting().is_none() {
        let default = crate::metrics::server::DEFAULT_ADDR;
        if let Err(e) = cx.serve_metrics(default) {
            tracing::warn!(
                pipeline,
                "cannot serve metrics on {default} (the default): {e}; no metrics or health checks are served \
                 (choose an address with --metrics-addr HOST:PORT, or off)"
            );
        }
    }
    if let Some(addr) = cx.metrics_addr() {
        tracing::info!(pipeline, "metrics: http://{addr}/metrics");
    }
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&cx.stop)) {
            tracing::warn!(pipeline, "cannot handle signal {signal}: {e}");
        }
    }
    // SIGUSR1: take a savepoint (with checkpoints configured).
    let mut signals = "SIGINT or SIGTERM stops it";
    if let Some(c) = cx.checkpoints() {
        match signal_hook::flag::register(signal_hook::consts::SIGUSR1, c.savepoint_flag()) {
            Ok(_) => signals = "SIGINT or SIGTERM stops it, SIGUSR1 takes a savepoint",
            Err(e) => tracing::warn!(pipeline, "cannot handle SIGUSR1 (savepoints): {e}"),
        }
    }
    let restored = match cx.checkpoints().and_then(Checkpoints::restored_id) {
        Some(id) => format!(", from checkpoint {id}"),
        None => String::new(),
    };
    tracing::info!(pipeline, "running (pid {}{restored}; {signals})", std::process::id());
    let started = std::time::Instant::now();
    let result = run(&cx);
    cx.metrics.tasks_done();
    if result.is_err() {
        cx.metrics.set_failed();
    }
    let secs = started.elapsed().as_secs_f64();
    let c = &cx.counters;
    let (read, written, skipped) =
        (c.rows_in.load(Ordering::Relaxed), c.rows_out.load(Ordering::Relaxed), c.skipped.load(Ordering::Relaxed));
    let late = c.late.load(Ordering::Relaxed);
    match result {
        Ok(()) => {
            let how = if cx.stopped() { "stopped" } else { "finished" };
            // As in the message: only when there are some.
            let late_rows = (late > 0).then_some(late);
            let late = if late > 0 { format!(", {late} late (dropped)") } else { String::new() };
            let checkpoints = match cx.checkpoints() {
                None => String::new(),
                Some(c) => {
                    let restored = c.restored_id().map(|id| format!("restored checkpoint {id}, ")).unwrap_or_default();
                    let failed = match c.failures() {
                        0 => String::new(),
                        n => format!(", {n} failed"),
                    };
                    let (took, bytes) = c.longest_and_largest();
                    format!(
                        "; {restored}last checkpoint {} (longest {:.1} ms, largest {bytes} bytes){failed}",
                        c.completed(),
                        took.as_secs_f64() * 1000.0
                    )
                }
            };
            tracing::info!(
                pipeline,
                rows_read = read,
                rows_written = written,
                skipped,
                late = late_rows,
                seconds = (secs * 1000.0).round() / 1000.0,
                "{how}: {read} rows read, {written} written, {skipped} skipped{late} in {secs:.3} s ({:.0} rows/s){checkpoints}",
                read as f64 / secs.max(1e-9)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(pipeline, "{e}");
            tracing::error!(
                pipeline,
                rows_read = read,
                rows_written = written,
                "failed after {read} rows read, {written} written"
            );
            ExitCode::FAILURE
        }
    }
}
