//! Rust functions a query may call (`CREATE FUNCTION f AS 'crate::udfs::f'`): the
//! functions a crate defines, found by reading its sources, and their SQL types from their
//! signatures. A UDF takes and returns SQL values as the runtime holds them —
//! `Option<i64>`, `Option<f64>`, `Option<bool>`, `Option<dfl::types::Str>`, … (`None` is
//! NULL) — so generated code calls it directly.

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

/// The Rust functions queries of a crate can call (none for `dflc build`: a standalone
/// pipeline has no crate of its own).
#[derive(Debug, Clone, Default)]
pub struct RustFunctions {
    pub fns: HashMap<String, RustFn>,
    /// Functions found whose signatures cannot be called from SQL, and why.
    pub unusable: Unusable,
}

impl RustFunctions {
    /// The functions of the crate whose sources are in `src` (see [`scan_crate`]).
    pub fn of_crate(src: &Path) -> Self {
        let (fns, unusable) = scan_crate(src);
        RustFunctions { fns, unusable }
    }
}

/// The functions of the crate whose sources are in `src` (`lib.rs` or `main.rs` the crate
/// root, `a.rs` or `a/mod.rs` module `a`, inline `mod` blocks followed), by path
/// (`crate::udfs::count_char`): those whose signature maps to SQL types, and for the others
/// why not.
pub fn scan_crate(src: &Path) -> (HashMap<String, RustFn>, Unusable) {
    let (mut fns, mut unusable) = (HashMap::new(), HashMap::new());
    scan_dir(src, src, &mut fns, &mut unusable);
    (fns, unusable)
}

fn scan_dir(root: &Path, dir: &Path, fns: &mut HashMap<String, RustFn>, unusable: &mut Unusable) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            scan_dir(root, &path, fns, unusable);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Ok(file) = syn::parse_file(&text) else { continue };
            let module = module_path(root, &path);
            scan_items(&module, &file.items, fns, unusable);
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

fn scan_items(module: &str, items: &[syn::Item], fns: &mut HashMap<String, RustFn>, unusable: &mut Unusable) {
    for item in items {
        match item {
            syn::Item::Fn(f) => {
                let path = format!("{module}::{}", f.sig.ident);
                match signature(&f.sig) {
                    Ok(sig) if matches!(f.vis, syn::Visibility::Inherited) && module != "crate" => {
                        unusable.insert(path, format!("`{}` is private to its module: make it `pub`", sig.signature));
                    }
                    Ok(sig) => {
                        fns.insert(path, sig);
                    }
                    Err(why) => {
                        unusable.insert(path, why);
                    }
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    scan_items(&format!("{module}::{}", m.ident), items, fns, unusable);
                }
            }
            _ => {}
        }
    }
}

/// The SQL types of a function's signature, or why it has none.
fn signature(sig: &syn::Signature) -> Result<RustFn, String> {
    let text = quote::quote!(#sig).to_string();
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

/// The SQL type of `Option<T>` for a runtime value type `T`.
fn sql_type(ty: &syn::Type) -> Result<Type, String> {
    let name = |ty: &syn::Type| match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| (s.ident.to_string(), s.arguments.clone())),
        _ => None,
    };
    let shown = quote::quote!(#ty).to_string();
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
        let (fns, unusable) = scan_crate(src);
        let f = &fns["crate::udfs::count_char"];
        assert_eq!(f.args, vec![Type::string(), Type::string()]);
        assert_eq!(f.result.kind, TypeKind::BigInt);
        assert_eq!(fns["crate::udfs::inner::twice"].result.kind, TypeKind::Double);
        assert_eq!(fns["crate::text::yes"].args[0].kind, TypeKind::Boolean);
        assert!(fns.contains_key("crate::root_fn"));
        assert!(unusable["crate::udfs::hidden"].contains("private"), "{unusable:?}");
        assert!(unusable["crate::udfs::raw"].contains("is not `Option<…>`"), "{unusable:?}");
    }
}
