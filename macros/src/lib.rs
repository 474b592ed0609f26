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
//! the binary), and the row structs of its tables are public. A query with errors is a
//! compile error carrying every diagnostic as `dflc check` prints it (code, message, the
//! query's line with the offending token marked, help).
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
    let file = format!("{name} (dfl::pipeline!)");
    let code = match dfl_compiler::embed::module(&name.to_string(), &file, &sql.value()) {
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
