//! The process's CPU time, memory and open files, under the names Prometheus client
//! libraries use; read from `/proc` when scraped (Linux; elsewhere none).

use super::exposition::{Exposition, Kind};

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;
/// Bytes per page of `/proc/self/statm` (4 KiB on the platforms dflc runs on).
const PAGE: f64 = 4096.0;

pub(super) fn render(ex: &mut Exposition) {
    if let Some(cpu) = std::fs::read_to_string("/proc/self/stat").ok().as_deref().and_then(cpu_seconds) {
        ex.sample("process_cpu_seconds_total", Kind::Counter, "User and system CPU time spent, in seconds.", &[], cpu);
    }
    if let Some(rss) = std::fs::read_to_string("/proc/self/statm").ok().as_deref().and_then(resident_pages) {
        ex.sample("process_resident_memory_bytes", Kind::Gauge, "Resident memory size, in bytes.", &[], rss * PAGE);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        ex.sample("process_open_fds", Kind::Gauge, "Open file descriptors.", &[], fds.count() as f64);
    }
}

/// utime + stime of `/proc/self/stat`, in seconds. The command name (field 2) may hold
/// spaces and parentheses: fields are counted after its last `)`.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line; `rest` starts at field 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS)
}

/// The resident pages of `/proc/self/statm` (its second field).
fn resident_pages(statm: &str) -> Option<f64> {
    statm.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_files() {
        let stat = "1234 (a) b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("garbage"), None);
        assert_eq!(resident_pages("100 25 3 1 0 20 0"), Some(25.0));
        if cfg!(target_os = "linux") {
            let mut ex = Exposition::default();
            render(&mut ex);
            let text = ex.finish();
            for name in ["process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds "] {
                assert!(text.contains(&format!("\n{name}")), "{name} in {text}");
            }
        }
    }
}
