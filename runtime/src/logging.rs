//! Logs of a pipeline binary: the runtime reports what happens (started, checkpoints and
//! savepoints, connector trouble and retries, the summary at exit) as [`tracing`] events
//! with structured fields (`pipeline`, `table`, `checkpoint`, `url`, counts), and
//! [`init`] — called once by [`crate::pipeline::main`] before the pipeline runs — writes
//! them to standard error, one line per event:
//!
//! - `RUST_LOG` chooses what is written: a level (`warn`), levels per target
//!   (`dfl::connectors::kafka=debug`), or both (`warn,dfl::checkpoint=debug`). Unset or
//!   empty: `info`; targets that no directive names stay at `info` unless a bare level
//!   says otherwise. A value that is not a filter is reported (one warning) and `info` is
//!   used.
//! - `DFL_LOG_FORMAT` chooses how: `text` (the default) is time, level, the fields, then
//!   the message, in colour on a terminal (unless `NO_COLOR` is set); `json` is one JSON
//!   object per line for log shippers, with the fields at its top level and the target:
//!
//! ```text
//! 2025-06-01T10:00:00.123456Z  INFO pipeline=q: running (pid 4242; SIGINT or SIGTERM stops it)
//! {"timestamp":"2025-06-01T10:00:00.123456Z","level":"INFO","message":"running (pid 4242; SIGINT or SIGTERM stops it)","pipeline":"q","target":"dfl::pipeline"}
//! ```
//!
//! A pipeline embedded in a program ([`crate::embedded`]) installs nothing: its events go
//! to whatever subscriber the program set up (none: they are dropped). A second [`init`],
//! or one after the program installed its own subscriber, changes nothing.
//!
//! Nothing logged carries a secret: option values go through [`redact`] (values of keys
//! such as `password`, `sasl.jaas.config`, `ssl.key.pem` become `***`), connection URLs
//! are shown without their password, and as a last guard every line written has the
//! password of any `scheme://user:password@host` in it replaced by `***`.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io::{self, IsTerminal};
use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

/// What is shown in place of a secret.
pub const HIDDEN: &str = "***";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `TIME LEVEL field=value …: message`, for people.
    #[default]
    Text,
    /// One JSON object per line, for log shippers (Loki, Elasticsearch, …).
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!("'{other}' is neither text nor json")),
        }
    }
}

/// What [`Config::init`] sets up: the filter, the format and colours.
#[derive(Debug, Clone, Default)]
pub struct Config {
    filter: String,
    format: Format,
    ansi: bool,
    /// Settings that could not be used, reported once logging is set up.
    problems: Vec<String>,
}

impl Config {
    /// The configuration the environment asks for: `RUST_LOG`, `DFL_LOG_FORMAT`, colours
    /// when standard error is a terminal and `NO_COLOR` is not set.
    pub fn from_env() -> Config {
        let mut config = Config::default().with_filter(std::env::var("RUST_LOG").unwrap_or_default());
        if let Ok(format) = std::env::var("DFL_LOG_FORMAT") {
            match format.parse() {
                Ok(f) => config.format = f,
                Err(e) => config.problems.push(format!("DFL_LOG_FORMAT: {e}; writing text")),
            }
        }
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        config.with_ansi(colour && io::stderr().is_terminal())
    }

    /// Filter directives as in `RUST_LOG` (empty: `info`).
    pub fn with_filter(mut self, filter: impl Into<String>) -> Config {
        self.filter = filter.into();
        self
    }

    /// The format of lines.
    pub fn with_format(mut self, format: Format) -> Config {
        self.format = format;
        self
    }

    /// Whether text lines colour their level.
    pub fn with_ansi(mut self, ansi: bool) -> Config {
        self.ansi = ansi;
        self
    }

    /// Writes the events of the whole process to standard error from now on; `false` if
    /// a subscriber was installed already (which is then left as it is).
    pub fn init(self) -> bool {
        let problems = self.problems.clone();
        let (dispatch, filter_problem) = self.dispatch(io::stderr);
        let installed = tracing::dispatcher::set_global_default(dispatch).is_ok();
        if installed {
            report(problems.iter().chain(&filter_problem));
        }
        installed
    }

    /// A dispatcher writing lines to `writer` (with URL passwords hidden), and what was
    /// wrong with the filter.
    pub(crate) fn dispatch<W>(self, writer: W) -> (Dispatch, Option<String>)
    where
        W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    {
        let (filter, problem) = match targets(&self.filter) {
            Ok(t) => (t, None),
            Err(e) => (
                Targets::new().with_default(LevelFilter::INFO),
                Some(format!(
                    "RUST_LOG '{}' is not a filter such as 'warn' or 'dfl=debug' ({e}); logging at info",
                    self.filter
                )),
            ),
        };
        let registry = tracing_subscriber::registry().with(filter);
        let writer = HidePasswords(writer);
        let dispatch = match self.format {
            Format::Text => Dispatch::new(
                registry
                    .with(tracing_subscriber::fmt::layer().event_format(Text { ansi: self.ansi }).with_writer(writer)),
            ),
            Format::Json => Dispatch::new(
                registry.with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_current_span(false)
                        .with_span_list(false)
                        .with_writer(writer),
                ),
            ),
        };
        (dispatch, problem)
    }
}

/// Sets up the logs of a pipeline binary as the environment asks (see the module
/// documentation); harmless when called again.
pub fn init() {
    Config::from_env().init();
}

/// Warnings about the logging settings, through the subscriber now current.
fn report<'a>(problems: impl IntoIterator<Item = &'a String>) {
    for problem in problems {
        tracing::warn!("{problem}");
    }
}

/// The filter of `RUST_LOG`-style `directives`: targets no directive names are at `info`
/// unless a bare level is given.
fn targets(directives: &str) -> Result<Targets, String> {
    let directives: Vec<&str> = directives.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    let targets: Targets = if directives.is_empty() {
        Targets::new()
    } else {
        directives.join(",").parse().map_err(|e| format!("{e}"))?
    };
    Ok(match targets.default_level() {
        Some(_) => targets,
        None => targets.with_default(LevelFilter::INFO),
    })
}

/// Whether the value of option or setting `key` (a table option, a Kafka property, …)
/// must never be shown.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "jaas",
        "ssl.key",
        "pem",
        "token",
        "credential",
        "oauthbearer.config",
        "sasl.username",
        "api.key",
        "apikey",
        "private",
    ]
    .iter()
    .any(|s| key.contains(s))
}

/// The value of option `key` as it may be logged: [`HIDDEN`] for a secret key, else the
/// value with any URL password hidden.
pub fn redact<'a>(key: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret(key) { Cow::Borrowed(HIDDEN) } else { hide_url_passwords(value) }
}

/// Options as `key=value, …` for a log line, secret values hidden (see [`redact`]).
pub fn shown_options<'a>(options: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    options.into_iter().map(|(k, v)| format!("{k}={}", redact(k, v))).collect::<Vec<_>>().join(", ")
}

/// `text` with the password of every `scheme://user:password@host` replaced by
/// [`HIDDEN`].
pub fn hide_url_passwords(text: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '`' | '\\' | '<' | '>'))
            .map_or(text.len(), |j| start + j);
        let authority = &text[start..end];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
            && colon + 1 < at
        {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..start + colon + 1]);
            out.push_str(HIDDEN);
            copied = start + at;
        }
        from = end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

/// Writers of whole formatted lines with URL passwords hidden.
struct HidePasswords<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for HidePasswords<M> {
    type Writer = Hidden<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Hidden(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        Hidden(self.0.make_writer_for(meta))
    }
}

/// A writer that hides URL passwords of what it is given (a whole event's line at once).
struct Hidden<W>(W);

impl<W: io::Write> io::Write for Hidden<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf).map(hide_url_passwords) {
            Ok(Cow::Owned(text)) => self.0.write_all(text.as_bytes())?,
            _ => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The text format: `TIME LEVEL field=value …: message`.
struct Text {
    ansi: bool,
}

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        SystemTime.format_time(&mut w)?;
        let level = *event.metadata().level();
        if self.ansi {
            let colour = match level {
                Level::ERROR => 31,
                Level::WARN => 33,
                Level::INFO => 32,
                Level::DEBUG => 34,
                Level::TRACE => 35,
            };
            write!(w, " \x1b[{colour}m{level:>5}\x1b[0m ")?;
        } else {
            write!(w, " {level:>5} ")?;
        }
        let mut fields = TextFields::default();
        event.record(&mut fields);
        w.write_str(&fields.pairs)?;
        match (fields.pairs.is_empty(), &fields.message) {
            (_, None) => {}
            (true, Some(m)) => write_message(&mut w, m)?,
            (false, Some(m)) => {
                w.write_str(": ")?;
                write_message(&mut w, m)?;
            }
        }
        writeln!(w)
    }
}

/// A message with control characters other than newlines and tabs escaped (no
/// terminal escapes from logged text).
fn write_message(w: &mut Writer<'_>, message: &str) -> fmt::Result {
    for c in message.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            write!(w, "{}", c.escape_default())?;
        } else {
            w.write_char(c)?;
        }
    }
    Ok(())
}

/// An event's fields as `name=value` pairs (quoted where needed) and its message.
#[derive(Default)]
struct TextFields {
    pairs: String,
    message: Option<String>,
}

impl Visit for TextFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

impl TextFields {
    fn push(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
            return;
        }
        if !self.pairs.is_empty() {
            self.pairs.push(' ');
        }
        let quoted =
            value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
        let _ = if quoted {
            write!(self.pairs, "{}={value:?}", field.name())
        } else {
            write!(self.pairs, "{}={value}", field.name())
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Lines written, shared with the writer handed to the subscriber.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// What `f` logs with `config`, and the filter's problem.
    fn logged(config: Config, f: impl FnOnce()) -> (String, Option<String>) {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let (dispatch, problem) = config.dispatch(move || writer.clone());
        tracing::dispatcher::with_default(&dispatch, || {
            report(&problem);
            f()
        });
        (buffer.text(), problem)
    }

    #[test]
    fn text_lines_are_time_level_fields_and_message() {
        let (out, problem) = logged(Config::default(), || {
            tracing::info!(pipeline = "q", pid = 42_u32, "running (pid 42; SIGINT or SIGTERM stops it)");
            tracing::warn!(table = "clicks", reason = "two words", "a \x1b[31mred\x1b[0m warning");
            tracing::info!("no fields");
            tracing::debug!("not shown at info");
        });
        assert_eq!(problem, None);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        // 2025-06-01T10:00:00.123456Z
        let (time, rest) = lines[0].split_once(' ').unwrap();
        assert!(time.len() == 27 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
        assert_eq!(rest, " INFO pipeline=q pid=42: running (pid 42; SIGINT or SIGTERM stops it)");
        assert!(
            lines[1].ends_with(" WARN table=clicks reason=\"two words\": a \\u{1b}[31mred\\u{1b}[0m warning"),
            "{}",
            lines[1]
        );
        assert!(lines[2].ends_with(" INFO no fields"), "{}", lines[2]);
        // What `dflc run` and the tests read still reads the same way.
        let (out, _) = logged(Config::default(), || {
            tracing::info!(pipeline = "q", "metrics: http://127.0.0.1:9249/metrics");
        });
        let url = out.trim_end().split_once("metrics: http://").and_then(|(_, r)| r.strip_suffix("/metrics"));
        assert_eq!(url, Some("127.0.0.1:9249"), "{out}");
    }

    #[test]
    fn colours_only_when_asked() {
        let (out, _) = logged(Config::default().with_ansi(true), || tracing::error!("failed"));
        assert!(out.contains(" \x1b[31mERROR\x1b[0m failed"), "{out:?}");
        let (out, _) = logged(Config::default(), || tracing::error!("failed"));
        assert!(!out.contains('\x1b'), "{out:?}");
    }

    #[test]
    fn json_lines_parse_with_their_fields() {
        let (out, _) = logged(Config::default().with_format(Format::Json), || {
            let path = "/sp/savepoint-3";
            tracing::info!(pipeline = "q", checkpoint = 3_u64, path = %path, "savepoint 3 written to {path}");
            tracing::warn!(table = "clicks", "a \"quoted\"\nmulti-line warning");
        });
        let lines: Vec<serde_json::Value> =
            out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
        assert_eq!(lines.len(), 2, "{out}");
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["message"], "savepoint 3 written to /sp/savepoint-3");
        assert_eq!(first["pipeline"], "q");
        assert_eq!(first["checkpoint"], 3);
        assert_eq!(first["path"], "/sp/savepoint-3");
        assert_eq!(first["target"], "dfl::logging::tests");
        assert!(first["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");
        assert_eq!(lines[1]["message"], "a \"quoted\"\nmulti-line warning");
        assert_eq!(lines[1]["level"], "WARN");
    }

    #[test]
    fn rust_log_filters_and_a_bad_one_falls_back_to_info() {
        let events = || {
            tracing::debug!(target: "dfl::checkpoint", "checkpoint detail");
            tracing::info!(target: "dfl::pipeline", "running");
            tracing::info!(target: "other", "other info");
            tracing::warn!(target: "other", "other warning");
        };
        let (out, _) = logged(Config::default().with_filter("warn"), events);
        assert!(!out.contains("running") && out.contains("other warning"), "{out}");
        // A target named: that target at its level, the others at info.
        let (out, _) = logged(Config::default().with_filter("dfl=debug"), events);
        assert!(out.contains("checkpoint detail") && out.contains("other info"), "{out}");
        let (out, _) = logged(Config::default().with_filter("warn, dfl::checkpoint=debug"), events);
        assert!(out.contains("checkpoint detail") && !out.contains("running") && !out.contains("other info"), "{out}");
        let (out, problem) = logged(Config::default().with_filter("  "), events);
        assert!(problem.is_none() && out.contains("running") && !out.contains("checkpoint detail"), "{out}");
        // Not a filter: one warning, then info.
        let (out, problem) = logged(Config::default().with_filter("dfl=loud"), events);
        assert!(problem.is_some_and(|p| p.starts_with("RUST_LOG 'dfl=loud' is not a filter")), "{out}");
        let first = out.lines().next().unwrap();
        assert!(
            first.contains(" WARN RUST_LOG 'dfl=loud' is not a filter") && first.ends_with("logging at info"),
            "{out}"
        );
        assert!(out.contains("running") && !out.contains("checkpoint detail"), "{out}");
        assert!("yaml".parse::<Format>().is_err() && " JSON".parse::<Format>() == Ok(Format::Json));
    }

    #[test]
    fn secrets_are_redacted() {
        for key in ["password", "properties.sasl.jaas.config", "properties.ssl.key.pem", "properties.sasl.password"] {
            assert_eq!(redact(key, "hunter2"), HIDDEN, "{key}");
        }
        for key in ["oauth.token", "aws.credentials", "client.secret", "properties.ssl.keystore.password"] {
            assert!(is_secret(key), "{key}");
        }
        assert_eq!(redact("url", "redis://user:hunter2@host:6379/0"), "redis://user:***@host:6379/0");
        assert_eq!(redact("topic", "clicks"), "clicks");
        assert!(matches!(redact("url", "http://127.0.0.1:9249/metrics"), Cow::Borrowed(_)));
        assert_eq!(
            hide_url_passwords("a redis://:pw@h:1 and rediss://u:p%40ss@h2 and kafka://h3:9092, u@x"),
            "a redis://:***@h:1 and rediss://u:***@h2 and kafka://h3:9092, u@x"
        );
        assert_eq!(hide_url_passwords("redis://user@h:1 (database 3)"), "redis://user@h:1 (database 3)");
    }

    #[test]
    fn no_password_reaches_a_line_in_either_format() {
        for format in [Format::Text, Format::Json] {
            let (out, _) = logged(Config::default().with_format(format), || {
                tracing::warn!(url = "redis://app:hunter2@cache:6379", "redis://app:hunter2@cache:6379: refused");
                tracing::info!(password = %redact("password", "hunter2"), "options");
            });
            assert!(!out.contains("hunter2"), "{out}");
            assert_eq!(out.matches("redis://app:***@cache:6379").count(), 2, "{out}");
            assert!(out.contains("password=***") || out.contains("\"password\":\"***\""), "{out}");
        }
    }

    /// The Redis client's retry warnings, about a server with a password that refuses
    /// connections, show its URL without the password.
    #[cfg(feature = "redis")]
    #[test]
    fn redis_retries_are_logged_without_the_password() {
        use crate::connectors::redis::{RedisTable, lookup};
        use crate::options::TableOptions;
        let pairs = [("url", "redis://app:hunter2@127.0.0.1:1/0"), ("password", "s3cret"), ("lookup.max-retries", "1")];
        let table = || RedisTable::new(&TableOptions::new("dim", &pairs), &["id"], &["id"]).unwrap();
        for format in [Format::Text, Format::Json] {
            let (out, _) = logged(Config::default().with_format(format), || {
                let e = lookup::<serde_json::Value>(table()).err().expect("nothing listens on port 1").to_string();
                assert!(!e.contains("hunter2") && !e.contains("s3cret"), "{e}");
            });
            assert!(out.contains("retrying in 100 ms (retry 1 of 1)"), "{out}");
            assert!(out.contains("redis://app@127.0.0.1:1/0"), "{out}");
            assert!(!out.contains("hunter2") && !out.contains("s3cret"), "{out}");
            if format == Format::Json {
                let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
                assert_eq!(line["url"], "redis://app@127.0.0.1:1/0", "{out}");
                assert_eq!(line["level"], "WARN", "{out}");
            }
        }
    }
}
