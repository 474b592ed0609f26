//! A small HTTP/1.1 server for Prometheus and health checks, on a thread of its own:
//!
//! * `GET /metrics`: every metric, text exposition format 0.0.4;
//! * `GET /healthz` (liveness): 200 while no task has failed, then 503;
//! * `GET /readyz` (readiness): 200 once the checkpoint is restored and every source runs,
//!   503 before and once the pipeline stops;
//! * `HEAD` of each; anything else 404 (other methods 405).
//!
//! One request per connection (`Connection: close`), a request head of at most 8 KiB
//! read within 5 s, a handler thread per connection and at most 16 at once (more are
//! answered 503 at once). Nothing it is sent reaches the pipeline.
//!
//! Where: `--metrics-addr HOST:PORT` or the setting `metrics.addr` (`metrics.address`
//! too; `off` for no server). A pipeline binary listens on [`DEFAULT_ADDR`] when neither
//! is given; a pipeline run by a program ([`crate::embedded`]) only when the setting is.
//! An address that was given and cannot be listened on fails the start (exit code 2, the
//! error names the address): probes pointed at it would otherwise fail with no cause in
//! sight. The default address taken (another pipeline on the machine) only warns. The
//! binary logs `pipeline=<name>: metrics: http://HOST:PORT/metrics` on stderr before it runs,
//! with the port actually bound (port 0 asks for any free one), and serves until it exits.

use super::Registry;
use super::exposition::CONTENT_TYPE;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The address a pipeline binary serves on when none is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9249";
/// The setting naming the address (`off`: none).
pub const SETTING: &str = "metrics.addr";
/// The same, by the name the compiler's list of settings has.
pub const SETTING_ALIAS: &str = "metrics.address";

/// The longest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request, and to take the answer.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections handled at once.
const MAX_CONNECTIONS: usize = 16;

/// Where metrics are served, from the value of [`SETTING`]: `None` for `off` (or `none`,
/// `false`, empty).
pub fn parse_addr(value: &str) -> Option<&str> {
    let v = value.trim();
    let off = ["off", "none", "false", "disabled", ""].iter().any(|o| v.eq_ignore_ascii_case(o));
    (!off).then_some(v)
}

/// The metrics server of a run; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` (`HOST:PORT`; port 0: any free port) and serves `registry`.
    pub fn start(addr: &str, registry: Arc<Registry>) -> io::Result<Server> {
        let resolved: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let listener = TcpListener::bind(&resolved[..])?;
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("dfl-metrics".into())
                .spawn(move || accept_loop(&listener, &registry, &stop))?
        };
        Ok(Server { addr: local, stop, thread: Some(thread) })
    }

    /// The address bound (with the port chosen when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of the metrics.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop with a connection of our own; without one it would wait
        // for the next client, so the thread is left to end then.
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let woken = TcpStream::connect_timeout(&SocketAddr::new(ip, self.addr.port()), Duration::from_secs(1)).is_ok();
        if let Some(t) = self.thread.take().filter(|_| woken) {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish_non_exhaustive()
    }
}

fn accept_loop(listener: &TcpListener, registry: &Arc<Registry>, stop: &AtomicBool) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(_) => {
                // Out of file descriptors and the like: do not spin.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::AcqRel);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let mut stream = stream;
            let _ = respond(&mut stream, &Response::text(503, "too many connections\n"), false);
            continue;
        }
        let (shared, done) = (Arc::clone(registry), Arc::clone(&active));
        let spawned = std::thread::Builder::new().name("dfl-metrics-conn".into()).spawn({
            let stream = stream.try_clone();
            move || {
                if let Ok(s) = stream {
                    serve(s, &shared);
                }
                done.fetch_sub(1, Ordering::AcqRel);
            }
        });
        if spawned.is_err() {
            serve(stream, registry);
            active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// An answer.
struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    allow: bool,
}

impl Response {
    fn text(status: u16, body: &str) -> Self {
        Response { status, content_type: "text/plain; charset=utf-8", body: body.as_bytes().to_vec(), allow: false }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// Serves one connection: one request, one answer.
fn serve(mut stream: TcpStream, registry: &Registry) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let (response, head_only) = match read_head(&mut stream) {
        Head::Complete(head) => answer(&head, registry),
        // Nothing sent: nothing to answer.
        Head::Nothing => return,
        Head::Incomplete => (Response::text(400, "incomplete request\n"), false),
        Head::TooLarge => (Response::text(431, "request head too large\n"), false),
    };
    let _ = respond(&mut stream, &response, head_only);
    // Close gently: whatever else the client sent is read away (briefly), so that closing
    // does not reset the connection before it has read the answer.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < 64 * 1024 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

enum Head {
    Complete(Vec<u8>),
    Nothing,
    Incomplete,
    TooLarge,
}

/// Reads the request head: up to the empty line ending it.
fn read_head(stream: &mut impl Read) -> Head {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return if buf.is_empty() { Head::Nothing } else { Head::Incomplete },
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return if buf.is_empty() { Head::Nothing } else { Head::Incomplete },
        };
        // Search from a little before the new bytes: the end may straddle two reads.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_end(&buf[from..]) {
            buf.truncate(from + end);
            return Head::Complete(buf);
        }
        if buf.len() > MAX_HEAD {
            return Head::TooLarge;
        }
    }
}

/// Where the head ends (`\r\n\r\n`, or `\n\n` from lenient clients) in `bytes`.
fn find_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The answer to a request head, and whether only its head is sent (`HEAD`).
fn answer(head: &[u8], registry: &Registry) -> (Response, bool) {
    let bad = |what: &str| (Response::text(400, &format!("bad request: {what}\n")), false);
    let Ok(text) = std::str::from_utf8(head) else { return bad("not UTF-8") };
    let request_line = text.lines().next().unwrap_or("");
    let parts: Vec<&str> = request_line.split(' ').collect();
    let [method, target, version] = parts[..] else { return bad("malformed request line") };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return bad("malformed method");
    }
    if !version.starts_with("HTTP/") {
        return bad("malformed version");
    }
    if !version.starts_with("HTTP/1.") {
        return (Response::text(505, "only HTTP/1.x is served\n"), false);
    }
    if !target.starts_with('/') {
        return bad("the target must be a path");
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let mut r = Response::text(405, "only GET and HEAD\n");
            r.allow = true;
            return (r, false);
        }
    };
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let response = match path {
        "/metrics" => {
            Response { status: 200, content_type: CONTENT_TYPE, body: registry.render().into_bytes(), allow: false }
        }
        "/healthz" => match registry.live() {
            true => Response::text(200, "ok\n"),
            false => Response::text(503, "failed: a task of the pipeline failed\n"),
        },
        "/readyz" => match registry.not_ready_because() {
            None => Response::text(200, "ready\n"),
            Some(why) => Response::text(503, &format!("not ready: {why}\n")),
        },
        _ => Response::text(404, "not found: try /metrics, /healthz or /readyz\n"),
    };
    (response, head_only)
}

fn respond(stream: &mut TcpStream, r: &Response, head_only: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    if r.allow {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(&r.body);
    }
    stream.write_all(&out)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Context;
    use std::collections::BTreeMap;

    /// A request sent as `raw`; the status, the headers (lower-case names) and the body.
    fn request(addr: SocketAddr, raw: &[u8]) -> (u16, Vec<(String, String)>, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(raw).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {text:?}"));
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap();
        assert!(status.starts_with("HTTP/1.1 "), "{status}");
        let code = status[9..12].parse().unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_ascii_lowercase(), v.to_string())
            })
            .collect();
        (code, headers, body.to_string())
    }

    fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let (code, headers, body) = request(addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let length = headers.iter().find(|(k, _)| k == "content-length").map(|(_, v)| v.parse::<usize>().unwrap());
        assert_eq!(length, Some(body.len()), "Content-Length of {path}");
        (code, body)
    }

    fn context() -> Context {
        Context::new(Vec::new(), BTreeMap::new())
    }

    #[test]
    fn the_setting_turns_it_off() {
        assert_eq!(parse_addr("off"), None);
        assert_eq!(parse_addr(" OFF "), None);
        assert_eq!(parse_addr(""), None);
        assert_eq!(parse_addr("0.0.0.0:9249"), Some("0.0.0.0:9249"));
    }

    #[test]
    fn serves_metrics_health_and_readiness() {
        let cx = context();
        cx.counters.rows_in.fetch_add(42, Ordering::Relaxed);
        let registry = Arc::clone(cx.metrics());
        registry.set_pipeline("p");
        let server = Server::start("127.0.0.1:0", Arc::clone(&registry)).unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        assert_eq!(server.url(), format!("http://127.0.0.1:{}/metrics", addr.port()));

        let (code, headers, body) = request(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(code, 200);
        assert!(headers.contains(&("content-type".into(), CONTENT_TYPE.into())), "{headers:?}");
        assert!(headers.contains(&("connection".into(), "close".into())));
        assert!(body.contains("\ndfl_rows_read_total{pipeline=\"p\"} 42\n"), "{body}");
        assert!(body.starts_with("# HELP dfl_pipeline_info "), "{body}");
        // A query string is fine; HEAD gets the head only.
        assert_eq!(get(addr, "/metrics?name[]=x").0, 200);
        let (code, headers, body) = request(addr, b"HEAD /metrics HTTP/1.0\r\n\r\n");
        assert_eq!((code, body.as_str()), (200, ""));
        assert!(headers.iter().any(|(k, v)| k == "content-length" && v != "0"));

        // Not ready until every task runs its source; live until a task fails.
        assert_eq!(get(addr, "/healthz"), (200, "ok\n".into()));
        assert_eq!(get(addr, "/readyz"), (503, "not ready: starting\n".into()));
        registry.tasks_starting(2);
        registry.task_running();
        assert_eq!(get(addr, "/readyz").0, 503);
        registry.task_running();
        assert_eq!(get(addr, "/readyz"), (200, "ready\n".into()));
        assert!(get(addr, "/metrics").1.contains("dfl_pipeline_ready{pipeline=\"p\"} 1\n"));
        cx.request_stop();
        assert_eq!(get(addr, "/readyz"), (503, "not ready: stopping\n".into()));
        assert_eq!(get(addr, "/healthz").0, 200);
        registry.set_failed();
        assert_eq!(get(addr, "/healthz").0, 503);
        assert!(get(addr, "/metrics").1.contains("dfl_pipeline_failed{pipeline=\"p\"} 1\n"));

        // Stopped when dropped: the port no longer answers.
        drop(server);
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn answers_bad_requests_and_goes_on() {
        let cx = context();
        let server = Server::start("127.0.0.1:0", Arc::clone(cx.metrics())).unwrap();
        let addr = server.local_addr();
        assert_eq!(get(addr, "/").0, 404);
        assert_eq!(get(addr, "/metricsx").0, 404);
        let (code, headers, _) = request(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(code, 405);
        assert!(headers.contains(&("allow".into(), "GET, HEAD".into())));
        for bad in [
            &b"garbage\r\n\r\n"[..],
            b"GET /metrics\r\n\r\n",
            b"get /metrics HTTP/1.1\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics FTP/1.0\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(request(addr, bad).0, 400, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(request(addr, b"GET /metrics HTTP/2.0\r\n\r\n").0, 505);
        // A head that never ends is cut off.
        let mut long = b"GET /metrics HTTP/1.1\r\n".to_vec();
        while long.len() <= MAX_HEAD + 100 {
            long.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(request(addr, &long).0, 431);
        // A client that half-sends its request and hangs up, and one that sends nothing.
        {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /met").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
        }
        drop(TcpStream::connect(addr).unwrap());
        // Lenient line ends; still serving.
        assert_eq!(request(addr, b"GET /healthz HTTP/1.1\n\n").0, 200);
        assert_eq!(get(addr, "/metrics").0, 200);
    }

    #[test]
    fn a_taken_address_is_an_error_naming_it() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let err = Server::start(&addr, Arc::clone(context().metrics())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(Server::start("no-such-host.invalid:1", Arc::clone(context().metrics())).is_err());
    }
}
