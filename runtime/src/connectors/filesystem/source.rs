//! Reading files of records.

use super::{io, local_path};
use crate::checkpoint::{Barriers, decode};
use crate::connectors::format::{CsvOptions, Decoder, Format};
use crate::connectors::{Source, SourceEvent};
use crate::error::{Error, Result};
use crate::fns::Regex;
use crate::metrics::{SkipReason, SourceMeter};
use crate::options::TableOptions;
use crate::pipeline::Context;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Rows between updates of the read counter and checks of [`Context::stopped`].
const CHECK_EVERY: u64 = 1024;
/// Read buffer size.
const BUFFER: usize = 1 << 20;

/// A `filesystem` table read as a stream of rows `R`; see [`source`].
pub struct FileSource<R> {
    table: String,
    root: PathBuf,
    format: Format,
    /// `source.path.regex-pattern`.
    filter: Option<Regex>,
    dead_letter: Option<PathBuf>,
    monitor: Option<Duration>,
    /// Where to go on from (a checkpoint's position).
    resume: Option<FilePosition>,
    _row: PhantomData<fn() -> R>,
}

/// Where a file source is: the files read to their end, the file being read and how many
/// of its records (lines, CSV records) are behind, and the next split's number.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct FilePosition {
    done: Vec<String>,
    current: Option<(String, u64)>,
    split: usize,
}

/// The source of a `filesystem` table (options `path`, `format` and the format's options,
/// `source.monitor-interval`, `source.dead-letter.path`).
pub fn source<R: DeserializeOwned>(opts: &TableOptions) -> Result<FileSource<R>> {
    let root = local_path(opts, "path")?;
    let format = Format::from_options(opts, "")?;
    let filter = match opts.get("source.path.regex-pattern") {
        None => None,
        Some(p) => {
            // Java's `matches()`: the whole absolute path.
            let re = Regex::new(&format!("\\A(?:{p})\\z"));
            if let Some(e) = re.error() {
                return Err(opts.error("source.path.regex-pattern", format!("invalid regular expression: {e}")));
            }
            Some(re)
        }
    };
    let monitor = match opts.duration_ms("source.monitor-interval")? {
        Some(0) => return Err(opts.error("source.monitor-interval", "must be longer than 0 s")),
        ms => ms.map(Duration::from_millis),
    };
    let dead_letter = match opts.get("source.dead-letter.path") {
        None => None,
        Some(_) => Some(local_path(opts, "source.dead-letter.path")?),
    };
    Ok(FileSource {
        table: opts.table.clone(),
        root,
        format,
        filter,
        dead_letter,
        monitor,
        resume: None,
        _row: PhantomData,
    })
}

impl<R: DeserializeOwned> Source for FileSource<R> {
    type Row = R;

    /// Each file is a split, numbered in the order files are read: it starts when the file
    /// is opened and ends when it has been read.
    /// While waiting for the next scan (`source.monitor-interval`) the source is idle.
    fn run_events<F: FnMut(SourceEvent<R>) -> Result<()>>(self, cx: &Context, mut emit: F) -> Result<()> {
        let dead_letters = match &self.dead_letter {
            Some(path) => Some(DeadLetters::open(path, &self.table)?),
            None => None,
        };
        let meter = cx.metrics().source(&self.table);
        meter.counts_bytes();
        let ignore = self.format.ignore_parse_errors();
        if dead_letters.is_some() {
            meter.expect_skips(SkipReason::DeadLetter);
        } else if ignore {
            meter.expect_skips(SkipReason::ParseError);
        }
        let mut run = Run {
            cx,
            decoder: Decoder::new(&self.format),
            ignore,
            dead_letters,
            meter,
            pending: 0,
            pending_records: 0,
            pending_bytes: 0,
            since_check: 0,
            barriers: Barriers::new(cx),
            position: self.resume.clone().unwrap_or_default(),
        };
        let mut result = self.read_all(&mut run, &mut emit);
        if result.is_ok() && cx.stopped() {
            // The final checkpoint of a graceful stop.
            if let Some(id) = run.barriers.at_stop() {
                result = run.barrier(id, &mut emit);
            }
        }
        run.publish();
        let flushed = match &mut run.dead_letters {
            Some(d) => d.out.flush().map_err(io(&d.path)),
            None => Ok(()),
        };
        result.and(flushed)
    }

    fn restore(&mut self, position: &[u8]) -> Result<()> {
        let mut input = position;
        self.resume = Some(decode(&mut input)?);
        Ok(())
    }
}

impl<R: DeserializeOwned> FileSource<R> {
    fn read_all<F: FnMut(SourceEvent<R>) -> Result<()>>(&self, run: &mut Run<'_, R>, emit: &mut F) -> Result<()> {
        let mut seen: HashSet<PathBuf> = run.position.done.iter().map(PathBuf::from).collect();
        loop {
            let mut files = Vec::new();
            for file in list_files(&self.root)? {
                let name = file.to_string_lossy().into_owned();
                if run.position.done.contains(&name) || (self.monitor.is_some() && !seen.insert(file.clone())) {
                    continue;
                }
                if let Some(re) = &self.filter {
                    let absolute = std::path::absolute(&file).unwrap_or_else(|_| file.clone());
                    if !re.is_match(&absolute.to_string_lossy()) {
                        continue;
                    }
                }
                files.push(file);
            }
            // A file is a split from when it is opened (as Flink's file source assigns
            // splits): files not read yet do not hold the watermark back, so the windows of
            // a large folder fire as it is read instead of all at its end.
            for file in files {
                let name = file.to_string_lossy().into_owned();
                // A file the checkpoint restored was in the middle of goes on where it was.
                let skip = match &run.position.current {
                    Some((current, n)) if *current == name => *n,
                    _ => 0,
                };
                let split = run.position.split;
                run.position.current = Some((name.clone(), skip));
                emit(SourceEvent::SplitStart(split))?;
                if !self.read_file(&file, split, skip, run, emit)? {
                    return Ok(());
                }
                emit(SourceEvent::SplitEnd(split))?;
                run.position.current = None;
                run.position.done.push(name);
                run.position.split += 1;
            }
            let Some(interval) = self.monitor else { return Ok(()) };
            // Waiting for new files: what was read shows in the counters meanwhile.
            run.publish();
            let until = Instant::now() + interval;
            while Instant::now() < until {
                if run.cx.stopped() {
                    return Ok(());
                }
                emit(SourceEvent::Idle)?;
                if let Some(id) = run.barriers.due_idle() {
                    run.barrier(id, emit)?;
                }
                std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
            }
        }
    }

    /// Reads one file as split `split`, after its first `skip` records; `false` if the
    /// pipeline was stopped meanwhile.
    fn read_file<F: FnMut(SourceEvent<R>) -> Result<()>>(
        &self,
        path: &Path,
        split: usize,
        skip: u64,
        run: &mut Run<'_, R>,
        emit: &mut F,
    ) -> Result<bool> {
        let file = File::open(path).map_err(io(path))?;
        match &self.format {
            Format::Json(_) => read_lines(path, file, split, skip, run, emit),
            Format::Csv(csv) => read_csv(path, file, csv, split, skip, run, emit),
        }
    }
}

/// What reading one table's files keeps.
struct Run<'a, R> {
    cx: &'a Context,
    decoder: Decoder<R>,
    ignore: bool,
    dead_letters: Option<DeadLetters>,
    meter: Arc<SourceMeter>,
    /// Rows read but not yet added to `rows_in`.
    pending: u64,
    /// Records (rows, and records skipped) and bytes read but not yet added to the
    /// table's meter.
    pending_records: u64,
    pending_bytes: u64,
    since_check: u64,
    barriers: Barriers<'a>,
    position: FilePosition,
}

impl<R> Run<'_, R> {
    /// Counts a record; every [`CHECK_EVERY`] records updates the counter and returns
    /// whether to go on.
    #[inline]
    fn tick(&mut self, row: bool) -> bool {
        self.pending += u64::from(row);
        self.pending_records += 1;
        self.since_check += 1;
        if self.since_check < CHECK_EVERY {
            return true;
        }
        self.since_check = 0;
        self.publish();
        !self.cx.stopped()
    }

    /// Adds the rows, records and bytes read since the last time to the counters.
    fn publish(&mut self) {
        self.cx.counters.rows_in.fetch_add(std::mem::take(&mut self.pending), Ordering::Relaxed);
        self.meter.add_records(std::mem::take(&mut self.pending_records));
        self.meter.add_bytes(std::mem::take(&mut self.pending_bytes));
    }

    /// A record of the current file was handled: a barrier follows if a checkpoint is due.
    #[inline]
    fn handled<F: FnMut(SourceEvent<R>) -> Result<()>>(&mut self, emit: &mut F) -> Result<()> {
        if let Some((_, n)) = &mut self.position.current {
            *n += 1;
        }
        match self.barriers.due() {
            Some(id) => self.barrier(id, emit),
            None => Ok(()),
        }
    }

    /// Emits the barrier of checkpoint `id` with the position after the records handled
    /// (dead letters before it made durable first).
    fn barrier<F: FnMut(SourceEvent<R>) -> Result<()>>(&mut self, id: u64, emit: &mut F) -> Result<()> {
        if let Some(d) = &mut self.dead_letters {
            d.out.flush().map_err(io(&d.path))?;
        }
        self.barriers.emit(id, &self.position, emit)
    }

    /// A record that cannot be read: dead-lettered, skipped, or the end of the run.
    fn bad(&mut self, file: &Path, line: u64, record: &[u8], reason: String) -> Result<()> {
        let why = if let Some(d) = &mut self.dead_letters {
            d.write(file, line, record, &reason)?;
            SkipReason::DeadLetter
        } else if self.ignore {
            SkipReason::ParseError
        } else {
            return Err(Error::BadRecord { file: file.to_path_buf(), line, reason });
        };
        self.meter.skip(why, &self.cx.counters);
        Ok(())
    }
}

fn read_lines<R: DeserializeOwned, F: FnMut(SourceEvent<R>) -> Result<()>>(
    path: &Path,
    file: File,
    split: usize,
    skip: u64,
    run: &mut Run<'_, R>,
    emit: &mut F,
) -> Result<bool> {
    let mut reader = BufReader::with_capacity(BUFFER, file);
    let mut line = Vec::with_capacity(4096);
    let mut number = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io(path))? == 0 {
            return Ok(true);
        }
        number += 1;
        if number <= skip {
            // Read before the checkpoint restored.
            continue;
        }
        run.pending_bytes += line.len() as u64;
        let mut record = line.as_slice();
        if let [rest @ .., b'\n'] = record {
            record = rest;
        }
        if let [rest @ .., b'\r'] = record {
            record = rest;
        }
        if number == 1 {
            record = record.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(record);
        }
        if record.iter().all(u8::is_ascii_whitespace) {
            run.handled(emit)?;
            continue;
        }
        let row = match run.decoder.decode(record) {
            Ok(row) => {
                emit(SourceEvent::Row(split, row))?;
                true
            }
            Err(reason) => {
                run.bad(path, number, record, reason)?;
                false
            }
        };
        run.handled(emit)?;
        if !run.tick(row) {
            return Ok(false);
        }
    }
}

fn read_csv<R: DeserializeOwned, F: FnMut(SourceEvent<R>) -> Result<()>>(
    path: &Path,
    file: File,
    csv: &CsvOptions,
    split: usize,
    skip: u64,
    run: &mut Run<'_, R>,
    emit: &mut F,
) -> Result<bool> {
    let mut reader = csv.reader_builder().buffer_capacity(BUFFER).from_reader(file);
    let mut record = csv::ByteRecord::new();
    let mut number = 0u64;
    let mut at = 0u64;
    loop {
        let result = reader.read_byte_record(&mut record);
        // Bytes read: up to the end of this record.
        let end = reader.position().byte();
        let bytes = end.saturating_sub(std::mem::replace(&mut at, end));
        if matches!(result, Ok(false)) {
            run.pending_bytes += bytes;
            return Ok(true);
        }
        number += 1;
        if number <= skip {
            // Read before the checkpoint restored.
            continue;
        }
        run.pending_bytes += bytes;
        let row = match result {
            Ok(false) => return Ok(true),
            Ok(true) => {
                if record.position().is_some_and(|p| p.line() == 1) {
                    strip_bom(&mut record);
                }
                match run.decoder.decode_csv_record(&record) {
                    Ok(row) => {
                        emit(SourceEvent::Row(split, row))?;
                        true
                    }
                    Err(reason) => {
                        let line = record.position().map_or(0, csv::Position::line);
                        run.bad(path, line, &raw_csv(csv, &record), reason)?;
                        false
                    }
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                if let csv::ErrorKind::Io(_) = e.kind() {
                    let csv::ErrorKind::Io(err) = e.into_kind() else { unreachable!() };
                    return Err(Error::io(path, err));
                }
                run.bad(path, line, b"", e.to_string())?;
                false
            }
        };
        run.handled(emit)?;
        if !run.tick(row) {
            return Ok(false);
        }
    }
}

fn strip_bom(record: &mut csv::ByteRecord) {
    if let Some(first) = record.get(0).and_then(|f| f.strip_prefix(b"\xEF\xBB\xBF")) {
        let mut fixed = csv::ByteRecord::new();
        fixed.push_field(first);
        for f in record.iter().skip(1) {
            fixed.push_field(f);
        }
        fixed.set_position(record.position().cloned());
        *record = fixed;
    }
}

/// A CSV record written back as text (its fields, re-quoted as needed), for dead letters.
fn raw_csv(csv: &CsvOptions, record: &csv::ByteRecord) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(csv.field_delimiter)
        .quote(csv.quote.unwrap_or(b'"'))
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_byte_record(record);
    let mut out = w.into_inner().unwrap_or_default();
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    out
}

/// The files to read under `root`, sorted by path: `root` itself if it is a file.
fn list_files(root: &Path) -> Result<Vec<PathBuf>> {
    let meta = fs::metadata(root).map_err(io(root))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        walk(root, &mut files)?;
        files.sort();
    } else {
        files.push(root.to_path_buf());
    }
    for f in &files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ["gz", "bz2", "xz", "zst", "zip", "deflate", "lz4", "snappy"].contains(&ext) {
            let e = std::io::Error::new(std::io::ErrorKind::Unsupported, "compressed files are not supported");
            return Err(Error::io(f, e));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(['.', '_']) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::metadata(&path) else { continue };
        if meta.is_dir() {
            walk(&path, files)?;
        } else if meta.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// The dead-letter file: one JSON object per unreadable record.
struct DeadLetters {
    path: PathBuf,
    table: String,
    out: BufWriter<File>,
}

#[derive(serde::Serialize)]
struct Letter<'a> {
    table: &'a str,
    file: &'a str,
    line: u64,
    reason: &'a str,
    record: &'a str,
}

impl DeadLetters {
    fn open(path: &Path, table: &str) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(io(path))?;
        Ok(DeadLetters { path: path.to_path_buf(), table: table.to_string(), out: BufWriter::new(file) })
    }

    fn write(&mut self, file: &Path, line: u64, record: &[u8], reason: &str) -> Result<()> {
        let letter = Letter {
            table: &self.table,
            file: &file.to_string_lossy(),
            line,
            reason,
            record: &String::from_utf8_lossy(record),
        };
        serde_json::to_writer(&mut self.out, &letter).map_err(|e| Error::io(&self.path, e.into()))?;
        self.out.write_all(b"\n").map_err(io(&self.path))
    }
}
