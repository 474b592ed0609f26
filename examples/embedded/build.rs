//! Compiles every query of `queries/` into a module of `$OUT_DIR/queries.rs`.
fn main() {
    if let Err(diagnostics) = dfl_compiler::embed::compile_dir("queries") {
        panic!("the queries do not compile:\n{diagnostics}");
    }
}
