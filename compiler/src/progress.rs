//! `dflc run`'s progress line: the pipeline runs with its metrics endpoint on an ephemeral
//! loopback port, which `dflc` polls to show rows read and written and the rate — with a
//! bar when the input is bounded and its size known (`datagen` `number-of-rows` or
//! `sequence` columns, `nexmark` `events.num`, after `--set` overrides).

use crate::hir::Program;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many rows the pipeline's sources will read, if every one is bounded and says how
/// many; `args` are the pipeline's arguments (`--set table.option=value` overrides).
pub fn expected_rows(program: &Program, read: &[crate::hir::TableId], args: &[String]) -> Option<u64> {
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let assignment = if arg == "--set" { it.next().map(String::as_str) } else { arg.strip_prefix("--set=") };
        if let Some((key, value)) = assignment.and_then(|kv| kv.split_once('=')) {
            overrides.push((key.to_string(), value.to_string()));
        }
    }
    let mut total = 0u64;
    for &id in read {
        let t = &program.tables[id.0];
        let option = |key: &str| {
            overrides
                .iter()
                .rev()
                .find(|(k, _)| k == &format!("{}.{key}", t.name))
                .map(|(_, v)| v.clone())
                .or_else(|| t.options.get(key).cloned())
        };
        let rows = match t.connector.as_str() {
            "datagen" => {
                let sequences: Vec<u64> = t
                    .columns
                    .iter()
                    .filter(|c| option(&format!("fields.{}.kind", c.name)).as_deref() == Some("sequence"))
                    .filter_map(|c| {
                        let start: i128 = option(&format!("fields.{}.start", c.name))?.trim().parse().ok()?;
                        let end: i128 = option(&format!("fields.{}.end", c.name))?.trim().parse().ok()?;
                        u64::try_from(end - start + 1).ok()
                    })
                    .collect();
                let rows = option("number-of-rows").and_then(|v| v.trim().parse::<u64>().ok());
                rows.into_iter().chain(sequences).min()?
            }
            "nexmark" => option("events.num")?.trim().parse().ok()?,
            _ => return None,
        };
        total += rows;
    }
    Some(total)
}

/// Runs `binary` with `args`, showing progress on standard error when it is a terminal
/// (or `DFLC_PROGRESS=1`); its own standard error goes on to ours, line by line.
pub fn run(binary: &std::path::Path, args: &[String], total: Option<u64>) -> std::io::Result<ExitStatus> {
    let wanted = std::env::var("DFLC_PROGRESS").map_or_else(|_| std::io::stderr().is_terminal(), |v| v == "1");
    let has_addr = args.iter().any(|a| a.starts_with("--metrics-addr") || a.starts_with("--set=metrics.addr"))
        || args.windows(2).any(|w| w[0] == "--set" && w[1].starts_with("metrics.addr="));
    if !wanted || has_addr {
        return Command::new(binary).args(args).status();
    }
    let mut child =
        Command::new(binary).args(args).args(["--metrics-addr", "127.0.0.1:0"]).stderr(Stdio::piped()).spawn()?;
    let stderr = child.stderr.take().expect("piped");
    let shown = Arc::new(Mutex::new(Shown::default()));
    // The pipeline's lines, with the progress line cleared before each.
    let reader = {
        let shown = Arc::clone(&shown);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut s = shown.lock().unwrap_or_else(|p| p.into_inner());
                // `… pipeline=q: metrics: http://127.0.0.1:PORT/metrics`, or within a JSON line
                // (`DFL_LOG_FORMAT=json`).
                let said = line.split_once("metrics: http://").and_then(|(_, r)| r.split_once("/metrics"));
                if let Some((url, _)) = said {
                    s.addr = Some(url.to_string());
                }
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{line}\n{}", s.line);
                let _ = err.flush();
            }
        })
    };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(250));
        let addr = shown.lock().unwrap_or_else(|p| p.into_inner()).addr.clone();
        let Some(addr) = addr else { continue };
        let Some((read, written)) = scrape(&addr) else { continue };
        let line = progress_line(read, written, total, started.elapsed());
        let mut s = shown.lock().unwrap_or_else(|p| p.into_inner());
        s.line = line;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", s.line);
        let _ = err.flush();
    };
    let _ = reader.join();
    eprint!("\r\x1b[2K");
    Ok(status)
}

#[derive(Default)]
struct Shown {
    /// The pipeline's metrics address, once it said it.
    addr: Option<String>,
    /// The progress line shown last.
    line: String,
}

/// Rows read and written, from the pipeline's `/metrics`.
fn scrape(addr: &str) -> Option<(u64, u64)> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    let value = |name: &str| {
        body.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    };
    Some((value("dfl_rows_read_total"), value("dfl_rows_written_total")))
}

/// `[#####.....]  45%  450,000 / 1,000,000 rows read · 1.2 M rows/s · 449,000 written`.
pub fn progress_line(read: u64, written: u64, total: Option<u64>, elapsed: Duration) -> String {
    let rate = read as f64 / elapsed.as_secs_f64().max(1e-3);
    let rate = if rate >= 1e6 { format!("{:.1} M", rate / 1e6) } else { thousands(rate as u64) };
    let rows = match total {
        Some(total) if total > 0 => {
            let done = (read as f64 / total as f64).min(1.0);
            let filled = (done * 30.0).round() as usize;
            format!(
                "[{}{}] {:>3.0}%  {} / {} rows read",
                "#".repeat(filled),
                ".".repeat(30 - filled),
                done * 100.0,
                thousands(read),
                thousands(total)
            )
        }
        _ => format!("{} rows read", thousands(read)),
    };
    format!("{rows} · {rate} rows/s · {} written", thousands(written))
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::SourceFile;

    #[test]
    fn bounded_inputs_give_their_size_after_overrides() {
        let text = "CREATE TABLE a (x BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000');\n\
                    CREATE TABLE b (n BIGINT) WITH ('connector' = 'datagen', 'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '50');\n\
                    CREATE TABLE c (x BIGINT) WITH ('connector' = 'datagen');\n";
        let checked = crate::check(&SourceFile::new("t.sql", text.to_string()));
        let ids: Vec<crate::hir::TableId> = (0..3).map(crate::hir::TableId).collect();
        let p = &checked.hir;
        assert_eq!(expected_rows(p, &ids[..1], &[]), Some(1000));
        assert_eq!(expected_rows(p, &ids[..2], &[]), Some(1050));
        assert_eq!(expected_rows(p, &ids[..1], &["--set".into(), "a.number-of-rows=7".into()]), Some(7));
        assert_eq!(expected_rows(p, &ids[..1], &["--set=a.number-of-rows=9".into()]), Some(9));
        // An unbounded source: no size.
        assert_eq!(expected_rows(p, &ids, &[]), None);
    }

    #[test]
    fn the_line_shows_a_bar_only_with_a_size() {
        let line = progress_line(450_000, 449_000, Some(1_000_000), Duration::from_millis(500));
        assert!(line.starts_with("[##############................]  45%  450,000 / 1,000,000 rows read"), "{line}");
        assert!(line.contains("900,000 rows/s") && line.ends_with("449,000 written"), "{line}");
        let line = progress_line(1234, 0, None, Duration::from_secs(2));
        assert_eq!(line, "1,234 rows read · 617 rows/s · 0 written");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(999), "999");
    }
}
