//! `dfl-macros`: `pipeline!`, a query embedded in Rust, compiled when the crate is.
//!
//! ```text
//! dfl::pipeline!(clicks_per_user, r#"
//!     CREATE TABLE clicks (user_id BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'datagen');
//!     CREATE TABLE out (user_id BIGINT) WITH ('connector' = 'print');
//!     INSERT INTO out SELECT user_id FROM clicks;
//! "#);
//!
//! fn main() -> std::process::ExitCode {
//!     clicks_per_user::main(std::env::args().skip(1).collect())
//! }
//! ```
//!
//! expands to `pub mod clicks_per_user { … }` holding the code `dflc build` generates for
//! the query: `main(args)` runs the pipeline (the same `--set`, checkpoints and signals as
//! the binary), `pipeline()` returns it as a value a program runs (see `dfl::embedded`),
//! and the row structs of its tables are public. A query with errors is a compile error
//! carrying every diagnostic as `dflc check` prints it (code, message, help), each
//! pointing at the offending token by the Rust file's own line and column.
//!
//! Rust functions the query names (`CREATE FUNCTION f AS 'crate::udfs::f'`) are found in
//! the crate's `src/`, or — for a query in an example, test or bench target — in that
//! target's root file.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// `name, "SQL"`.
struct Input {
    name: Ident,
    sql: LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = input.parse()?;
        input.parse::<Token![,]>()?;
        let sql = input.parse()?;
        let _ = input.parse::<Option<Token![,]>>()?;
        Ok(Input { name, sql })
    }
}

/// `pipeline!(name, "SQL")`: the module `name` running the query (see the crate docs).
#[proc_macro]
pub fn pipeline(input: TokenStream) -> TokenStream {
    let Input { name, sql } = syn::parse_macro_input!(input as Input);
    let span = sql.span().unwrap();
    let rust = match span.local_file() {
        Some(file) => dfl_compiler::embed::functions_for(&file),
        None => dfl_compiler::embed::crate_functions(),
    };
    let text = sql.value();
    let compiled = match origin(&sql, &span) {
        Some(origin) => dfl_compiler::embed::module_at(&name.to_string(), &text, &origin, &rust),
        None => dfl_compiler::embed::module_with(&name.to_string(), &format!("{name} (dfl::pipeline!)"), &text, &rust),
    };
    let code = match compiled {
        Ok(code) => code,
        Err(diagnostics) => {
            return syn::Error::new(sql.span(), format!("the query does not compile:\n{diagnostics}"))
                .to_compile_error()
                .into();
        }
    };
    let body: proc_macro2::TokenStream = match code.parse() {
        Ok(body) => body,
        Err(e) => {
            return syn::Error::new(sql.span(), format!("internal error: generated code does not parse: {e}"))
                .to_compile_error()
                .into();
        }
    };
    let lints: proc_macro2::TokenStream = dfl_compiler::codegen::ALLOWED_LINTS.parse().unwrap_or_default();
    quote! {
        #[allow(#lints)]
        pub mod #name {
            #body
        }
    }
    .into()
}

/// Where the query's text starts in the Rust file: after the literal's opening quote
/// (`"`, `r"`, `r#"`…). Diagnostics then point at the offending token in the file itself
/// (rustc cannot be given a span inside a string literal on stable Rust). `None` when
/// the literal has escapes, whose text is not the file's.
fn origin(sql: &LitStr, span: &proc_macro::Span) -> Option<dfl_compiler::embed::Origin> {
    let written = sql.token().to_string();
    let quote = written.find('"')?;
    if quote == 0 && written.contains('\\') {
        return None;
    }
    Some(dfl_compiler::embed::Origin { file: span.file(), line: span.line(), column: span.column() + quote + 1 })
}
