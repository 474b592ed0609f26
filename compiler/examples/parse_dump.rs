//! Prints the AST (or the syntax errors) of the files given on the command line.
fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).expect("readable file");
        let source = dfl_compiler::SourceFile::new(&path, text);
        let parsed = dfl_compiler::parse(&source);
        if std::env::var("DUMP").is_ok() {
            println!("{:#?}", parsed.file);
        }
        let n = parsed.file.statements.len();
        println!("{path}: {n} statements, {} diagnostics", parsed.diagnostics.0.len());
        print!("{}", dfl_compiler::diagnostic::render::to_text(&source, &parsed.diagnostics.0, Default::default()));
    }
}
