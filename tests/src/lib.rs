//! The harness of dflc's end-to-end tests: compile queries into modules of one crate,
//! build it once with the shared target directory, run pipelines and compare outputs.
//! The tests themselves are in `tests/` beside this folder.

use dfl_compiler::diagnostic::render::{self, Style};
use dfl_compiler::hir::Program;
use dfl_compiler::plan::Pipeline;
use dfl_compiler::project::{self, BuildOptions};
use dfl_compiler::{SourceFile, codegen, compile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's root folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// A query compiled into a module of a test crate.
pub struct Module {
    pub program: Program,
    pub pipeline: Pipeline,
    /// Runtime features the generated code needs.
    pub features: Vec<String>,
}

/// A built test crate: one binary running any of its modules (`binary <module> [--set …]`).
pub struct Built {
    pub binary: PathBuf,
    pub modules: BTreeMap<String, Module>,
}

/// A query to compile into the crate.
pub struct Query {
    /// The module name.
    pub name: String,
    /// The file name shown in diagnostics.
    pub file: String,
    pub text: String,
    /// Whether it must compile (otherwise it may be refused with DFL0700 only).
    pub must_compile: bool,
}

/// Compiles one query to a module's code.
pub fn compile_module(name: &str, file: &str, text: String) -> Result<(Module, String), String> {
    let source = SourceFile::new(file, text);
    match compile(&source, name) {
        Ok(c) => {
            let options = codegen::Options::default().with_module(true);
            let module = codegen::generate_with(&c.checked.hir, &c.pipeline, name, options)
                .map_err(|d| render::to_text(&source, &d.0, Style::Plain))?;
            let features = module.features.iter().map(|f| f.to_string()).collect();
            Ok((Module { program: c.checked.hir, pipeline: c.pipeline, features }, module.main_rs))
        }
        Err(d) => Err(render::to_text(&source, &d.0, Style::Plain)),
    }
}

/// Compiles `queries` into one crate named `crate_name` and builds it (debug). Each
/// generated module is passed to `snapshot` (for insta snapshots in the caller).
pub fn build(crate_name: &str, queries: Vec<Query>, mut snapshot: impl FnMut(&str, &str)) -> Built {
    let mut modules = BTreeMap::new();
    let mut code = String::new();
    for q in queries {
        match compile_module(&q.name, &q.file, q.text) {
            Ok((module, rust)) => {
                snapshot(&q.name, &rust);
                let allow = dfl_compiler::embed::allow_attribute();
                code.push_str(&format!("{allow}\npub mod {} {{\n{rust}\n}}\n", q.name));
                modules.insert(q.name.clone(), module);
            }
            Err(diagnostics) => {
                assert!(!q.must_compile, "{} does not compile:\n{diagnostics}", q.file);
                // Stateful queries are refused with DFL0700, never with anything else.
                assert!(diagnostics.contains("DFL0700"), "{}: unexpected diagnostics:\n{diagnostics}", q.file);
            }
        }
    }
    let dispatch: Vec<String> =
        modules.keys().map(|m| format!("        Some(\"{m}\") => {m}::main(args.collect()),")).collect();
    code.push_str(&format!(
        "fn main() -> std::process::ExitCode {{\n    let mut args = std::env::args().skip(1);\n    match args.next().as_deref() {{\n{}\n        other => {{ eprintln!(\"unknown pipeline {{other:?}}\"); std::process::ExitCode::FAILURE }}\n    }}\n}}\n",
        dispatch.join("\n")
    ));
    let features: Vec<String> = modules.values().flat_map(|m: &Module| m.features.clone()).collect();
    let options = BuildOptions::default().with_release(false).with_features(&features);
    let dir = options.target_dir.join(format!("dflc-e2e-{crate_name}"));
    project::write_project(&dir, crate_name, &code, &options).expect("write the test crate");
    let binary = project::build_project(&dir, crate_name, &options).expect("the generated code compiles");
    Built { binary, modules }
}

/// What a pipeline run printed and how it ended.
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Built {
    /// Runs one module with `--set key=value` arguments.
    pub fn run(&self, module: &str, sets: &[(String, String)]) -> Run {
        let mut cmd = self.command(module, sets);
        let out = cmd.output().expect("run the pipeline");
        Run {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }

    /// The command running one module (for tests that drive the process themselves).
    pub fn command(&self, module: &str, sets: &[(String, String)]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg(module);
        for (k, v) in sets {
            cmd.arg("--set").arg(format!("{k}={v}"));
        }
        cmd
    }
}

/// Every non-empty line of every file at `path` (a file, or the visible files of a folder).
pub fn output_lines(path: &Path) -> Vec<String> {
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            let p = e.unwrap().path();
            if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                files.push(p);
            }
        }
    } else if path.exists() {
        files.push(path.to_path_buf());
    }
    let mut lines = Vec::new();
    for f in files {
        lines.extend(std::fs::read_to_string(f).unwrap().lines().filter(|l| !l.is_empty()).map(String::from));
    }
    lines
}

/// A line in a comparable form: JSON re-serialised with numbers as doubles; CSV fields
/// that are numbers likewise.
pub fn canonical(line: &str) -> String {
    if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line}: {e}"));
        return canonical_json(v).to_string();
    }
    line.split(',')
        .map(|f| f.parse::<f64>().map_or_else(|_| f.to_string(), |x| x.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

fn canonical_json(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) => serde_json::json!(n.as_f64()),
        serde_json::Value::Object(m) => m.into_iter().map(|(k, v)| (k, canonical_json(v))).collect(),
        serde_json::Value::Array(a) => a.into_iter().map(canonical_json).collect(),
        other => other,
    }
}

/// Lines made canonical and sorted: outputs compared regardless of order.
pub fn sorted(lines: Vec<String>) -> Vec<String> {
    let mut l: Vec<String> = lines.iter().map(|l| canonical(l)).collect();
    l.sort();
    l
}

/// An insta snapshot of generated code in `tests/snapshots/codegen__<name>.snap`.
pub fn snapshot_code(name: &str, rust: &str) {
    insta::with_settings!({ snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("codegen__{name}"), rust);
    });
}

/// A timestamp as pipelines write it (`yyyy-MM-dd HH:mm:ss[.SSS]`, UTC), in milliseconds
/// since the epoch — computed independently of the runtime's own parser.
pub fn millis(text: &str) -> i64 {
    let (date, time) = text.split_once(' ').expect("yyyy-MM-dd HH:mm:ss");
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    // Days since the epoch (Howard Hinnant's algorithm), then the time of day.
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let ms: i64 = format!("{frac:0<3}")[..3].parse().unwrap();
    ((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + ms
}

/// A pipeline process under test: its stderr read line by line as it comes, its exit
/// awaited by a thread of its own, so that tests wait on what it says and does (with
/// deadlines), never on the clock.
pub struct Running {
    pid: u32,
    exited: std::sync::mpsc::Receiver<std::process::ExitStatus>,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Whether its end was seen (else dropping it kills it: a failing test leaves no
    /// process behind).
    ended: bool,
}

impl Running {
    /// Starts `command` (stdout discarded, stderr read).
    pub fn spawn(command: Command) -> Running {
        Running::spawn_with_stdout(command, std::process::Stdio::null())
    }

    /// Starts `command` with its stdout going to `stdout` (a file, say); stderr read.
    pub fn spawn_with_stdout(mut command: Command, stdout: impl Into<std::process::Stdio>) -> Running {
        use std::io::BufRead;
        let mut child =
            command.stdout(stdout).stderr(std::process::Stdio::piped()).spawn().expect("start the pipeline");
        let pid = child.id();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (line_tx, lines) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().expect("piped stderr");
        let collected = std::sync::Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut all = collected.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                let _ = line_tx.send(line);
            }
        });
        let (exit_tx, exited) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = exit_tx.send(child.wait().expect("wait for the pipeline"));
        });
        Running { pid, exited, lines, stderr, threads: vec![reader, waiter], ended: false }
    }

    /// The address of the metrics endpoint the pipeline says it serves (started with
    /// `--metrics-addr 127.0.0.1:0`), waiting for its line for at most `limit`.
    pub fn metrics_addr(&self, limit: std::time::Duration) -> String {
        let said = |l: &str| l.contains("metrics: http://");
        assert!(self.await_stderr(said, limit), "the pipeline ended before serving metrics");
        let all = self.stderr.lock().unwrap().clone();
        let line = all.lines().find(|l| said(l)).expect("the line just seen");
        let (_, rest) = line.split_once("metrics: http://").expect("checked");
        rest.trim().trim_end_matches("/metrics").to_string()
    }

    /// Waits until a line of stderr satisfies `pred`: `true`, or `false` if the process
    /// ended (its stderr closed) without such a line. Fails after `limit`.
    pub fn await_stderr(&self, pred: impl Fn(&str) -> bool, limit: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return true,
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return false,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("no such line on stderr in {limit:?}:\n{}", self.stderr.lock().unwrap())
                }
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends signal `name` (`TERM`, `USR1`, `KILL`, …) to the process.
    pub fn signal(&self, name: &str) {
        assert!(self.send(name), "kill -{name} {}", self.pid);
    }

    /// Sends signal `name`: whether the process was there to take it.
    fn send(&self, name: &str) -> bool {
        Command::new("kill").arg(format!("-{name}")).arg(self.pid.to_string()).status().unwrap().success()
    }

    /// Waits up to `limit` for the process to end: its exit status, or `None` if it still
    /// runs.
    pub fn wait_timeout(&self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        self.exited.recv_timeout(limit).ok()
    }

    /// Waits for the process to end (for at most ten minutes): its exit status and stderr.
    pub fn wait(self) -> (std::process::ExitStatus, String) {
        let status = self.wait_timeout(std::time::Duration::from_secs(600)).expect("the pipeline ends");
        self.finish(status)
    }

    /// What the process wrote to stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Kills the process (SIGKILL, as a crash) and returns its stderr.
    pub fn kill(self) -> String {
        self.try_kill().unwrap_or_else(|(status, stderr)| panic!("ended before the kill ({status}):\n{stderr}"))
    }

    /// Kills the process (SIGKILL) unless it has just ended by itself: `Ok` with its stderr
    /// once killed, `Err` with its exit status and stderr when it had ended.
    pub fn try_kill(self) -> Result<String, (std::process::ExitStatus, String)> {
        let sent = self.send("KILL");
        let status = self.wait_timeout(std::time::Duration::from_secs(60)).expect("a killed pipeline ends");
        let (status, stderr) = self.finish(status);
        if sent { Ok(stderr) } else { Err((status, stderr)) }
    }

    /// The exit status [`wait_timeout`](Self::wait_timeout) returned, with the stderr.
    pub fn finish(mut self, status: std::process::ExitStatus) -> (std::process::ExitStatus, String) {
        self.ended = true;
        for t in std::mem::take(&mut self.threads) {
            t.join().expect("reader and waiter threads");
        }
        let stderr = std::mem::take(&mut *self.stderr.lock().unwrap());
        (status, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.ended {
            let _ = Command::new("kill").arg("-KILL").arg(self.pid.to_string()).status();
        }
    }
}

/// Runs the command `make` gives, killing it (SIGKILL) `kills` times at random moments —
/// `base` plus up to `spread` after its start, seeded by `seed` — and starting it again,
/// then lets it finish; returns how many kills hit a running process and the last run's
/// stderr. The last run must succeed.
pub fn run_with_kills(
    mut make: impl FnMut() -> Command,
    kills: usize,
    mut seed: u64,
    base: std::time::Duration,
    spread: std::time::Duration,
) -> (usize, String) {
    let mut hit = 0;
    loop {
        let running = Running::spawn(make());
        if hit < kills {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let delay = base + spread.mul_f64((seed >> 11) as f64 / (1u64 << 53) as f64);
            let ended = match running.wait_timeout(delay) {
                // Killed, unless it ended between the wait and the signal.
                None => match running.try_kill() {
                    Ok(_) => {
                        hit += 1;
                        continue;
                    }
                    Err(ended) => ended,
                },
                Some(status) => running.finish(status),
            };
            // It ended by itself before the kill.
            let (status, stderr) = ended;
            assert!(status.success(), "the run failed: {stderr}");
            return (hit, stderr);
        }
        let (status, stderr) = running.wait();
        assert!(status.success(), "the run failed: {stderr}");
        return (hit, stderr);
    }
}

/// The address of a service the tests need (`DFL_KAFKA_BOOTSTRAP`, `DFL_REDIS_URL`, set by
/// `eval "$(scripts/services.sh env)"`). Without it a test is skipped (`None`), unless `CI`
/// is set: then it fails.
pub fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(s) if !s.trim().is_empty() => Some(s),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{var} is not set but CI is: start the services (scripts/services.sh up)")
        }
        _ => {
            eprintln!("skipped: {var} is not set (scripts/services.sh up; eval \"$(scripts/services.sh env)\")");
            None
        }
    }
}

/// A name (topic, key prefix, consumer group) no other run uses.
pub fn unique(base: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}-{}-{nanos}", std::process::id())
}

/// `GET path` on `addr` (HTTP/1.1, one request): the status code and body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the metrics endpoint");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

/// The sum of the samples of metric `name` whose labels contain every one of `labels`.
pub fn metric(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A small seeded generator of test data (tests must not depend on a random crate).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number (31 bits).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Copies the files of folder `from` into `to` (made if missing).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
