//! `dflc`: the command-line front of the compiler.

use clap::{Parser, Subcommand, ValueEnum};
use dfl_compiler::diagnostic::render::{self, Style};
use dfl_compiler::{SourceFile, check};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "dflc", version, about = "Compiles streaming SQL into native Rust dataflow pipelines")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, resolve and type-check query files; report every error and warning.
    Check {
        /// Query files (`-` reads standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also print a stage's output: `ast` (the file as dflc reads it) or `hir` (resolved and typed).
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        /// Treat warnings as errors (exit 1 if there are any).
        #[arg(long)]
        deny_warnings: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    Ast,
    Hir,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files, format, emit, deny_warnings } => check_files(&files, format, emit, deny_warnings),
    }
}

fn read(path: &PathBuf) -> Result<SourceFile, String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(SourceFile::new("<stdin>", text));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(SourceFile::new(path.display().to_string(), text))
}

fn check_files(files: &[PathBuf], format: Format, emit: Option<Emit>, deny_warnings: bool) -> ExitCode {
    let style = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    };
    let mut failed = false;
    let mut json = Vec::new();
    for path in files {
        let source = match read(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
                continue;
            }
        };
        let checked = check(&source);
        match emit {
            Some(Emit::Ast) => print!("{}", checked.ast),
            Some(Emit::Hir) => print!("{}", checked.hir),
            None => {}
        }
        let diagnostics = &checked.diagnostics.0;
        failed |= checked.diagnostics.has_errors() || (deny_warnings && !diagnostics.is_empty());
        match format {
            Format::Text => eprint!("{}", render::to_text(&source, diagnostics, style)),
            Format::Json => json.extend(render::to_json(&source, diagnostics).as_array().cloned().unwrap_or_default()),
        }
    }
    if let Format::Json = format {
        println!("{}", serde_json::to_string_pretty(&serde_json::Value::Array(json)).unwrap_or_default());
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
