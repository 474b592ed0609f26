//! The `print` connector: writes every row as Flink's print sink does,
//! `+I[1, alice, 2024-01-01 10:00:00.000, null]`, to standard output (or standard error
//! with `'standard-error' = 'true'`), prefixed by `<print-identifier>> ` when set.
//!
//! Values are written as Flink casts them to strings: strings unquoted, NULL as `null`,
//! TIMESTAMP(p) and TIME(p) with p fraction digits, DECIMAL(p, s) with s, FLOAT and
//! DOUBLE as Java writes them (`1.0`, `1.0E10`), nested ROWs as `(a, b)`, ARRAYs as
//! `[a, b]` and MAPs as `{k=v}`. Each batch is written and flushed at once.

use crate::changelog::{Change, RowKind};
use crate::connectors::format::{Column, FieldVisitor, SerError, Splitter, TextSer, TextStyle, column, write_error};
use crate::error::{Error, Result};
use crate::options::TableOptions;
use crate::pipeline::Sink;
use serde::Serialize;
use std::io::Write;

/// A print sink writing to `W`; see [`sink`] and [`sink_to`].
pub struct PrintSink<W> {
    out: W,
    table: String,
    prefix: String,
    columns: Vec<Column>,
    style: TextStyle,
    text: String,
}

/// The sink of a `print` table with `columns` (options `print-identifier`, `standard-error`).
pub fn sink<R: Serialize>(opts: &TableOptions, columns: &[Column]) -> Result<PrintSink<Box<dyn Write + Send>>> {
    let out: Box<dyn Write + Send> = if opts.bool("standard-error")?.unwrap_or(false) {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    sink_to(opts, columns, out)
}

/// A print sink writing to `out` instead (tests, tools).
pub fn sink_to<W: Write + Send>(opts: &TableOptions, columns: &[Column], out: W) -> Result<PrintSink<W>> {
    let prefix = opts.get("print-identifier").map(|id| format!("{id}> ")).unwrap_or_default();
    let style = TextStyle { print: true, null: "null".into(), separator: ", ".into() };
    Ok(PrintSink { out, table: opts.table.clone(), prefix, columns: columns.to_vec(), style, text: String::new() })
}

impl<W> PrintSink<W> {
    /// What it writes to.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Takes what it writes to back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

struct PrintFields<'a> {
    text: &'a mut String,
    style: &'a TextStyle,
    columns: &'a [Column],
}

impl FieldVisitor for PrintFields<'_> {
    fn field<T: ?Sized + Serialize>(&mut self, index: usize, name: &'static str, value: &T) -> Result<(), SerError> {
        if index > 0 {
            self.text.push_str(", ");
        }
        let hint = column(self.columns, index, name).map(|c| c.ty);
        value.serialize(TextSer { out: self.text, style: self.style, hint })
    }
}

impl<W: Write + Send> PrintSink<W> {
    /// Appends `row` with its kind (`+I[a, b]`) to the text to print.
    fn push_row<R: Serialize>(&mut self, kind: RowKind, row: &R) -> Result<()> {
        self.text.push_str(&self.prefix);
        self.text.push_str(kind.short());
        self.text.push('[');
        let start = self.text.len();
        let mut fields = PrintFields { text: &mut self.text, style: &self.style, columns: &self.columns };
        if row.serialize(Splitter { fields: &mut fields, index: 0 }).is_err() {
            // Not a struct: the value as a whole.
            self.text.truncate(start);
            let ser = TextSer { out: &mut self.text, style: &self.style, hint: None };
            row.serialize(ser).map_err(|e| write_error(&self.table, e.0))?;
        }
        self.text.push_str("]\n");
        Ok(())
    }

    /// Prints the text collected.
    fn print(&mut self) -> Result<()> {
        let io = |e| Error::Write { table: self.table.clone(), reason: format!("cannot print: {e}") };
        self.out.write_all(self.text.as_bytes()).map_err(io)?;
        self.out.flush().map_err(io)
    }
}

impl<R: Serialize, W: Write + Send> Sink<R> for PrintSink<W> {
    fn write_batch(&mut self, rows: &mut Vec<R>) -> Result<()> {
        self.text.clear();
        for row in rows.drain(..) {
            self.push_row(RowKind::Insert, &row)?;
        }
        self.print()
    }

    /// Every change as Flink prints it: `+I[…]`, `-U[…]`, `+U[…]`, `-D[…]`.
    fn write_changes(&mut self, changes: &mut Vec<Change<R>>) -> Result<()> {
        self.text.clear();
        for c in changes.drain(..) {
            self.push_row(c.kind, &c.row)?;
        }
        self.print()
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::Write { table: self.table.clone(), reason: format!("cannot print: {e}") })
    }
}
