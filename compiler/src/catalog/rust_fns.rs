//! Rust functions a query may call (`CREATE FUNCTION f AS 'crate::udfs::f'`): the
//! functions a crate defines, found by reading its sources, and their SQL types from their
//! signatures. A UDF takes and returns SQL values as the runtime holds them —
//! `Option<i64>`, `Option<f64>`, `Option<bool>`, `Option<dfl::types::Str>`, … (`None` is
//! NULL) — so generated code calls it directly. Aggregate functions (UDAFs) are types
//! implementing `dfl::udfs::AggregateFunction`, typed from its `Input` and `Output`.

use crate::types::{Type, TypeKind};
use std::collections::HashMap;
use std::path::Path;

/// A Rust function a query can call: its SQL argument and result types.
#[derive(Debug, Clone, PartialEq)]
pub struct RustFn {
    pub args: Vec<Type>,
    pub result: Type,
    /// The signature as written, for messages.
    pub signature: String,
}

/// What a signature cannot be called with, by function path.
pub type Unusable = HashMap<String, String>;

/// A Rust aggregate function: a type implementing `dfl::udfs::AggregateFunction`.
#[derive(Debug, Clone, PartialEq)]
pub struct RustAggregate {
    /// The SQL types of its arguments (`type Input`: one value, or a tuple of them).
    pub args: Vec<Type>,
    /// `type Output`.
    pub result: Type,
    /// Whether the `impl` defines `retract` (needed over updating input).
    pub retracts: bool,
    /// Whether the `impl` defines `merge` (needed by SESSION windows).
    pub merges: bool,
    /// `impl AggregateFunction for T { type Input = …; type Output = …; }`, for messages.
    pub signature: String,
}

/// The Rust functions queries of a crate can call (none for `dflc build`: a standalone
/// pipeline has no crate of its own).
#[derive(Debug, Clone, Default)]
pub struct RustFunctions {
    pub fns: HashMap<String, RustFn>,
    /// Aggregate functions, by the path of their type (`crate::udfs::WeightedAvg`).
    pub aggregates: HashMap<String, RustAggregate>,
    /// Functions (and aggregate types) found that cannot be called from SQL, and why.
    pub unusable: Unusable,
}

impl RustFunctions {
    /// The functions of the crate whose sources are in `src` (see [`scan_crate`]).
    pub fn of_crate(src: &Path) -> Self {
        scan_crate(src)
    }

    /// Whether nothing was found (no crate, or a crate without functions).
    pub fn is_empty(&self) -> bool {
        self.fns.is_empty() && self.aggregates.is_empty() && self.unusable.is_empty()
    }
}

/// The functions of the crate whose sources are in `src` (`lib.rs` or `main.rs` the crate
/// root, `a.rs` or `a/mod.rs` module `a`, inline `mod` blocks followed), by path
/// (`crate::udfs::count_char`): those whose signature maps to SQL types, the aggregate
/// functions, and for the others why not.
pub fn scan_crate(src: &Path) -> RustFunctions {
    let mut found = RustFunctions::default();
    scan_dir(src, src, &mut found);
    found
}

/// The functions of a crate whose root is the single file `root` (an example, a test or a
/// bench target: its inline `mod` blocks followed, not its `mod x;` files).
pub fn scan_root_file(root: &Path) -> RustFunctions {
    let mut found = RustFunctions::default();
    if let Some(file) = std::fs::read_to_string(root).ok().and_then(|t| syn::parse_file(&t).ok()) {
        scan_items("crate", &file.items, &mut found);
    }
    found
}

fn scan_dir(root: &Path, dir: &Path, found: &mut RustFunctions) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            scan_dir(root, &path, found);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Ok(file) = syn::parse_file(&text) else { continue };
            let module = module_path(root, &path);
            scan_items(&module, &file.items, found);
        }
    }
}

/// `crate::a::b` for `src/a/b.rs` or `src/a/b/mod.rs`; `crate` for the crate root.
fn module_path(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().to_string()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    std::iter::once("crate".to_string()).chain(parts).collect::<Vec<_>>().join("::")
}

fn scan_items(module: &str, items: &[syn::Item], found: &mut RustFunctions) {
    for item in items {
        match item {
            syn::Item::Fn(f) => {
                let path = format!("{module}::{}", f.sig.ident);
                match signature(&f.sig) {
                    Ok(sig) if matches!(f.vis, syn::Visibility::Inherited) && module != "crate" => {
                        let why = format!("`{}` is private to its module: make it `pub`", sig.signature);
                        found.unusable.insert(path, why);
                    }
                    Ok(sig) => {
                        found.fns.insert(path, sig);
                    }
                    Err(why) => {
                        found.unusable.insert(path, why);
                    }
                }
            }
            syn::Item::Impl(imp) => {
                let Some((_, trait_path, _)) = &imp.trait_ else { continue };
                if trait_path.segments.last().is_none_or(|s| s.ident != "AggregateFunction") {
                    continue;
                }
                // The type's path: a plain name is of this module; `crate::…` as written.
                let syn::Type::Path(ty) = &*imp.self_ty else { continue };
                let written: Vec<String> = ty.path.segments.iter().map(|s| s.ident.to_string()).collect();
                let path = match written.first().map(String::as_str) {
                    Some("crate") => written.join("::"),
                    _ if written.len() == 1 => format!("{module}::{}", written[0]),
                    _ => continue,
                };
                match aggregate(imp) {
                    Ok(agg) => {
                        found.aggregates.insert(path, agg);
                    }
                    Err(why) => {
                        found.unusable.insert(path, why);
                    }
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    scan_items(&format!("{module}::{}", m.ident), items, found);
                }
            }
            _ => {}
        }
    }
}

/// The SQL types of an `impl AggregateFunction for T`, or why it has none.
fn aggregate(imp: &syn::ItemImpl) -> Result<RustAggregate, String> {
    let self_ty = &imp.self_ty;
    let assoc = |name: &str| {
        imp.items.iter().find_map(|item| match item {
            syn::ImplItem::Type(t) if t.ident == name => Some(t.ty.clone()),
            _ => None,
        })
    };
    let defines = |name: &str| imp.items.iter().any(|item| matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == name));
    let (Some(input), Some(output)) = (assoc("Input"), assoc("Output")) else {
        let ty = tidy(quote::quote!(#self_ty).to_string());
        return Err(format!("`impl AggregateFunction for {ty}` has no `type Input` or `type Output`"));
    };
    let signature = tidy(format!(
        "impl AggregateFunction for {} {{ type Input = {}; type Output = {}; }}",
        quote::quote!(#self_ty),
        quote::quote!(#input),
        quote::quote!(#output)
    ));
    let why = |what: String| format!("`{signature}`: {what}");
    if !imp.generics.params.is_empty() {
        return Err(why("an aggregate function is a type without generics".into()));
    }
    let args = match &input {
        syn::Type::Tuple(t) => t.elems.iter().map(sql_type).collect::<Result<Vec<_>, _>>().map_err(&why)?,
        other => vec![sql_type(other).map_err(&why)?],
    };
    let result = sql_type(&output).map_err(&why)?;
    Ok(RustAggregate { args, result, retracts: defines("retract"), merges: defines("merge"), signature })
}

/// The SQL types of a function's signature, or why it has none.
fn signature(sig: &syn::Signature) -> Result<RustFn, String> {
    let text = tidy(quote::quote!(#sig).to_string());
    let why = |what: String| format!("`{text}`: {what}");
    if !sig.generics.params.is_empty() || sig.asyncness.is_some() {
        return Err(why("a UDF is a plain function, without generics or async".into()));
    }
    let mut args = Vec::new();
    for input in &sig.inputs {
        let syn::FnArg::Typed(arg) = input else { return Err(why("a UDF takes no `self`".into())) };
        args.push(sql_type(&arg.ty).map_err(&why)?);
    }
    let result = match &sig.output {
        syn::ReturnType::Type(_, ty) => sql_type(ty).map_err(&why)?,
        syn::ReturnType::Default => return Err(why("a UDF returns a value".into())),
    };
    Ok(RustFn { args, result, signature: text })
}

/// Rust tokens as written by hand: `Option<dfl::types::Str>`, not `Option < dfl :: types :: Str >`.
fn tidy(tokens: String) -> String {
    let mut text = tokens;
    for (spaced, tight) in [
        (" :: ", "::"),
        (" < ", "<"),
        (" <", "<"),
        (" >", ">"),
        ("( ", "("),
        (" )", ")"),
        (" ,", ","),
        (" : ", ": "),
        (" ;", ";"),
        ("& ", "&"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// The SQL type of `Option<T>` for a runtime value type `T`.
fn sql_type(ty: &syn::Type) -> Result<Type, String> {
    let name = |ty: &syn::Type| match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| (s.ident.to_string(), s.arguments.clone())),
        _ => None,
    };
    let shown = tidy(quote::quote!(#ty).to_string());
    let Some((outer, syn::PathArguments::AngleBracketed(inner))) = name(ty).filter(|(n, _)| n == "Option") else {
        return Err(format!("`{shown}` is not `Option<…>`: a UDF takes and returns SQL values (None is NULL)"));
    };
    let Some(syn::GenericArgument::Type(inner)) = inner.args.first() else {
        return Err(format!("`{shown}`: no type in `{outer}<…>`"));
    };
    let kind = match name(inner).map(|(n, _)| n).as_deref() {
        Some("i8") => TypeKind::TinyInt,
        Some("i16") => TypeKind::SmallInt,
        Some("i32") => TypeKind::Int,
        Some("i64") => TypeKind::BigInt,
        Some("f32") => TypeKind::Float,
        Some("f64") => TypeKind::Double,
        Some("bool") => TypeKind::Boolean,
        Some("Str") => return Ok(Type::string()),
        Some("Date") => TypeKind::Date,
        Some("Timestamp") => TypeKind::Timestamp(3),
        _ => {
            return Err(format!(
                "`{shown}`: the values a UDF can take are Option of i8, i16, i32, i64, f32, f64, bool, dfl::types::Str, Date or Timestamp"
            ));
        }
    };
    Ok(Type::new(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_found_by_module_path_and_typed_from_their_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path();
        std::fs::create_dir_all(src.join("text")).unwrap();
        std::fs::write(src.join("lib.rs"), "pub mod udfs; fn root_fn(x: Option<i32>) -> Option<i32> { x }").unwrap();
        std::fs::write(
            src.join("udfs.rs"),
            "use dfl::types::Str;\n\
             pub fn count_char(s: Option<Str>, c: Option<Str>) -> Option<i64> { None }\n\
             fn hidden(x: Option<i64>) -> Option<i64> { x }\n\
             pub fn raw(x: i64) -> i64 { x }\n\
             pub mod inner { pub fn twice(x: Option<f64>) -> Option<f64> { x } }\n",
        )
        .unwrap();
        std::fs::write(src.join("text/mod.rs"), "pub fn yes(b: Option<bool>) -> Option<bool> { b }").unwrap();
        let RustFunctions { fns, unusable, .. } = scan_crate(src);
        let f = &fns["crate::udfs::count_char"];
        assert_eq!(f.args, vec![Type::string(), Type::string()]);
        assert_eq!(f.result.kind, TypeKind::BigInt);
        assert_eq!(fns["crate::udfs::inner::twice"].result.kind, TypeKind::Double);
        assert_eq!(fns["crate::text::yes"].args[0].kind, TypeKind::Boolean);
        assert!(fns.contains_key("crate::root_fn"));
        assert!(unusable["crate::udfs::hidden"].contains("private"), "{unusable:?}");
        assert!(unusable["crate::udfs::raw"].contains("is not `Option<…>`"), "{unusable:?}");
    }

    #[test]
    fn aggregate_functions_are_typed_from_their_input_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path();
        std::fs::write(src.join("lib.rs"), "pub mod aggs;").unwrap();
        std::fs::write(
            src.join("aggs.rs"),
            "use dfl::udfs::AggregateFunction;\n\
             #[derive(Clone, Default)] pub struct WeightedAvg { s: f64, w: i64 }\n\
             impl AggregateFunction for WeightedAvg {\n\
                 type Input = (Option<f64>, Option<i64>);\n\
                 type Output = Option<f64>;\n\
                 fn add(&mut self, i: Self::Input) {}\n\
                 fn result(&self) -> Option<f64> { None }\n\
                 fn merge(&mut self, o: &Self) {}\n\
             }\n\
             pub struct Longest;\n\
             impl dfl::udfs::AggregateFunction for Longest {\n\
                 type Input = Option<dfl::types::Str>;\n\
                 type Output = Option<dfl::types::Str>;\n\
                 fn retract(&mut self, i: Self::Input) {}\n\
             }\n\
             pub struct Bad;\n\
             impl AggregateFunction for Bad { type Input = Vec<u8>; type Output = Option<i64>; }\n\
             impl Clone for Other {}\n",
        )
        .unwrap();
        let found = scan_crate(src);
        let avg = &found.aggregates["crate::aggs::WeightedAvg"];
        assert_eq!(avg.args.iter().map(|t| t.kind.clone()).collect::<Vec<_>>(), [TypeKind::Double, TypeKind::BigInt]);
        assert_eq!(avg.result.kind, TypeKind::Double);
        assert!(avg.merges && !avg.retracts);
        let longest = &found.aggregates["crate::aggs::Longest"];
        assert_eq!(longest.args, vec![Type::string()]);
        assert!(longest.retracts && !longest.merges);
        assert!(found.unusable["crate::aggs::Bad"].contains("`Vec<u8>` is not `Option<…>`"), "{:?}", found.unusable);
        assert_eq!(found.aggregates.len(), 2);
    }
}
