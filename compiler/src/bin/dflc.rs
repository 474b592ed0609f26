//! `dflc`: the command-line front of the compiler.

use clap::{Parser, Subcommand, ValueEnum};
use dfl_compiler::diagnostic::render::{self, Style};
use dfl_compiler::project::{self, BuildOptions};
use dfl_compiler::{SourceFile, check, compile};
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
    /// Compile a query file into a Cargo project and build its pipeline binary.
    Build {
        /// The query file.
        file: PathBuf,
        /// The project folder to write (default: the file's stem, here).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Write the project without building it.
        #[arg(long)]
        emit_only: bool,
        #[command(flatten)]
        build: BuildArgs,
    },
    /// Build a query file's pipeline (cached) and run it.
    Run {
        /// The query file.
        file: PathBuf,
        #[command(flatten)]
        build: BuildArgs,
        /// Arguments for the pipeline (e.g. `--set clicks.path=data/`), after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Print the physical plan: tasks, sources, fused chains, operators with their keys,
    /// state and parallelism, joins, sinks.
    Explain {
        /// The query file.
        file: PathBuf,
        /// `text`, `mermaid` (a flowchart for Markdown) or `dot` (Graphviz).
        #[arg(long, default_value = "text")]
        format: dfl_compiler::explain::Format,
    },
}

#[derive(clap::Args)]
struct BuildArgs {
    /// Build without optimisations (faster to compile, slower to run).
    #[arg(long)]
    debug: bool,
    /// The shared target directory (default: $CARGO_TARGET_DIR, else ~/.cache/dflc/target).
    #[arg(long)]
    target_dir: Option<PathBuf>,
}

impl BuildArgs {
    fn options(&self) -> BuildOptions {
        let mut o = BuildOptions::default().with_release(!self.debug);
        if let Some(dir) = &self.target_dir {
            o = o.with_target_dir(dir.clone());
        }
        o
    }
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
        Command::Build { file, out, emit_only, build } => {
            let out = out.unwrap_or_else(|| PathBuf::from(stem(&file)));
            match build_file(&file, &out, emit_only, &build.options()) {
                Ok(Some(binary)) => {
                    eprintln!("built {}", binary.display());
                    ExitCode::SUCCESS
                }
                Ok(None) => ExitCode::SUCCESS,
                Err(code) => code,
            }
        }
        Command::Run { file, build, args } => run_file(&file, &build.options(), &args),
        Command::Explain { file, format } => explain_file(&file, format),
    }
}

fn stem(file: &std::path::Path) -> String {
    file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "pipeline".into())
}

fn style() -> Style {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() { Style::Color } else { Style::Plain }
}

/// Compiles `file` into a project in `out` and (unless `emit_only`) builds it.
fn build_file(
    file: &PathBuf,
    out: &std::path::Path,
    emit_only: bool,
    options: &BuildOptions,
) -> Result<Option<PathBuf>, ExitCode> {
    let source = read(file).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })?;
    let name = project::crate_name(&stem(file));
    let compiled = compile(&source, &name).map_err(|d| {
        eprint!("{}", render::to_text(&source, &d.sorted().0, style()));
        ExitCode::FAILURE
    })?;
    eprint!("{}", render::to_text(&source, &compiled.checked.diagnostics.0, style()));
    let options = &options.clone().with_features(&compiled.generated.features);
    project::write_project(out, &name, &compiled.generated.main_rs, options).map_err(|e| {
        eprintln!("error: cannot write {}: {e}", out.display());
        ExitCode::FAILURE
    })?;
    if emit_only {
        eprintln!("wrote {}", out.join("src/main.rs").display());
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let mut binary = project::build_project(out, &name, options).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })?;
    // The binary is named after the query file.
    let wanted = out.join(stem(file));
    if wanted != binary {
        std::fs::rename(&binary, &wanted).map_err(|e| {
            eprintln!("error: cannot rename {} to {}: {e}", binary.display(), wanted.display());
            ExitCode::FAILURE
        })?;
        binary = wanted;
    }
    eprintln!("compiled in {:.1} s", started.elapsed().as_secs_f64());
    Ok(Some(binary))
}

fn run_file(file: &PathBuf, options: &BuildOptions, args: &[String]) -> ExitCode {
    let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&canonical, &mut hash);
    let dir = options
        .target_dir
        .parent()
        .map(|p| p.join("pipelines"))
        .unwrap_or_else(|| PathBuf::from(".dflc"))
        .join(format!("{}-{:016x}", project::crate_name(&stem(file)), std::hash::Hasher::finish(&hash)));
    let binary = match build_file(file, &dir, false, options) {
        Ok(Some(b)) => b,
        Ok(None) => return ExitCode::SUCCESS,
        Err(code) => return code,
    };
    // The size of its input, for the progress bar, when every source says it.
    let total = read(file).ok().and_then(|source| {
        let checked = check(&source);
        let pipeline = dfl_compiler::plan::plan(&checked.hir).ok()?;
        let tables: Vec<_> = pipeline
            .tasks
            .iter()
            .flat_map(|t| match t.input {
                dfl_compiler::plan::Input::Table(a) => vec![a],
                dfl_compiler::plan::Input::Tables(a, b) => vec![a, b],
                dfl_compiler::plan::Input::Values(_) | dfl_compiler::plan::Input::Stage(_) => vec![],
            })
            .collect();
        dfl_compiler::progress::expected_rows(&checked.hir, &tables, args)
    });
    match dfl_compiler::progress::run(&binary, args, total) {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", binary.display());
            ExitCode::FAILURE
        }
    }
}

fn explain_file(file: &PathBuf, format: dfl_compiler::explain::Format) -> ExitCode {
    let source = match read(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checked = check(&source);
    eprint!("{}", render::to_text(&source, &checked.diagnostics.0, style()));
    if checked.diagnostics.has_errors() {
        return ExitCode::FAILURE;
    }
    match dfl_compiler::plan::plan(&checked.hir) {
        Ok(pipeline) => {
            print!("{}", dfl_compiler::explain::explain(&checked.hir, &pipeline, format));
            ExitCode::SUCCESS
        }
        Err(d) => {
            eprint!("{}", render::to_text(&source, &d.0, style()));
            ExitCode::FAILURE
        }
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
    let style = style();
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
