//! Compiles every query of `queries/` into a module of `$OUT_DIR/queries.rs`, and Nexmark
//! q14 as published (`examples/nexmark/q14.sql`) with its `count_char` taken from this
//! crate's Rust function instead of the Java class, printed instead of discarded.
use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let sources = Path::new(&out).join("queries");
    std::fs::create_dir_all(&sources).expect("create the queries folder");
    for entry in std::fs::read_dir("queries").expect("queries/") {
        let path = entry.expect("queries/").path();
        std::fs::copy(&path, sources.join(path.file_name().expect("a file"))).expect("copy a query");
    }
    let q14 = "../nexmark/q14.sql";
    println!("cargo:rerun-if-changed={q14}");
    let text = std::fs::read_to_string(q14)
        .expect("examples/nexmark/q14.sql")
        .replace("'com.github.nexmark.flink.udf.CountChar'", "'crate::udfs::count_char'")
        .replace("'connector' = 'blackhole'", "'connector' = 'print'");
    std::fs::write(sources.join("q14.sql"), text).expect("write q14");
    println!("cargo:rerun-if-changed=queries");
    if let Err(diagnostics) = dfl_compiler::embed::compile_dir_into(&sources, Path::new(&out)) {
        panic!("the queries do not compile:\n{diagnostics}");
    }
}
