//! Rust types for SQL types, and the row structs generated for tables and ROW values.

use crate::hir::ColumnKind;
use crate::types::{Type, TypeKind};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Rust keywords that cannot be field names as they are.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
    "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// A Rust identifier for a SQL name: kept when valid, otherwise made valid.
pub fn field_ident(name: &str, index: usize) -> Ident {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "_";
    if valid && !KEYWORDS.contains(&name) {
        return Ident::new(name, Span::call_site());
    }
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format_ident!("c{}_{}", index, cleaned)
}

/// A struct name from parts of a SQL name.
pub fn struct_ident(prefix: &str, name: &str) -> Ident {
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format_ident!("{}_{}", prefix, cleaned)
}

/// The generated struct of each distinct ROW type.
#[derive(Default)]
pub struct RowTypes {
    rows: Vec<(Vec<crate::types::Field>, Ident)>,
    /// Struct definitions, in the order they were needed.
    pub defs: Vec<TokenStream>,
}

impl RowTypes {
    /// The struct for a ROW type with these fields, defined on first use under `hint`.
    pub fn row(&mut self, fields: &[crate::types::Field], hint: &str) -> Ident {
        if let Some((_, id)) = self.rows.iter().find(|(f, _)| same_fields(f, fields)) {
            return id.clone();
        }
        let mut id = struct_ident("R", hint);
        if self.rows.iter().any(|(_, existing)| *existing == id) {
            id = format_ident!("{}_{}", id, self.rows.len());
        }
        self.rows.push((fields.to_vec(), id.clone()));
        let members: Vec<(String, Type)> = fields.iter().map(|f| (f.name.clone(), f.ty.clone())).collect();
        let def = self.struct_def(&id, &members, hint);
        self.defs.push(def);
        id
    }

    /// A struct with one `Option` field per member, with serde names.
    pub fn struct_def(&mut self, id: &Ident, members: &[(String, Type)], hint: &str) -> TokenStream {
        self.struct_def_reading(id, members, hint, &[])
    }

    /// [`RowTypes::struct_def`] for a row read by name (JSON), where the members marked in
    /// `unread` are never used: decoding skips them without allocating.
    pub fn struct_def_reading(
        &mut self,
        id: &Ident,
        members: &[(String, Type)],
        hint: &str,
        unread: &[bool],
    ) -> TokenStream {
        let fields: Vec<TokenStream> = members
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                let f = field_ident(name, i);
                let t = self.rust(ty, &format!("{hint}_{name}"));
                let skip = if unread.get(i).copied().unwrap_or(false) { quote!(skip_deserializing,) } else { quote!() };
                quote! {
                    #[serde(rename = #name, #skip default)]
                    pub #f: Option<#t>
                }
            })
            .collect();
        quote! {
            #[derive(Debug, Clone, Default, PartialEq, ::dfl::__private::serde::Serialize, ::dfl::__private::serde::Deserialize)]
            #[serde(crate = "::dfl::__private::serde")]
            pub struct #id { #(#fields,)* }
        }
    }

    /// The Rust type of values of `ty` (without the `Option`).
    pub fn rust(&mut self, ty: &Type, hint: &str) -> TokenStream {
        match &ty.kind {
            TypeKind::Boolean => quote!(bool),
            TypeKind::TinyInt => quote!(i8),
            TypeKind::SmallInt => quote!(i16),
            TypeKind::Int => quote!(i32),
            TypeKind::BigInt => quote!(i64),
            TypeKind::Float => quote!(f32),
            TypeKind::Double => quote!(f64),
            TypeKind::Decimal { .. } => quote!(rt::Decimal),
            TypeKind::Char(_) | TypeKind::Varchar(_) => quote!(rt::Str),
            TypeKind::Binary(_) | TypeKind::Varbinary(_) => quote!(Vec<u8>),
            TypeKind::Date => quote!(rt::Date),
            TypeKind::Time(_) => quote!(rt::Time),
            TypeKind::Timestamp(_) | TypeKind::TimestampLtz(_) => quote!(rt::Timestamp),
            TypeKind::IntervalDayTime | TypeKind::IntervalYearMonth => quote!(rt::Interval),
            TypeKind::Row(fields) => {
                let id = self.row(fields, hint);
                quote!(#id)
            }
            TypeKind::Array(e) | TypeKind::Multiset(e) => {
                let t = self.rust(e, hint);
                quote!(Vec<Option<#t>>)
            }
            TypeKind::Map(k, v) => {
                let k = self.rust(k, hint);
                let v = self.rust(v, hint);
                quote!(Vec<(Option<#k>, Option<#v>)>)
            }
            // Only an untyped NULL has this type; it is cast before use.
            TypeKind::Null => quote!(()),
        }
    }

    /// The position of a field in a ROW type's struct, and its identifier.
    pub fn field_of(fields: &[crate::types::Field], index: usize) -> Ident {
        field_ident(&fields[index].name, index)
    }
}

fn same_fields(a: &[crate::types::Field], b: &[crate::types::Field]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.name == y.name && x.ty.kind == y.ty.kind)
}

/// The `format::Column` descriptors of a table's columns (for connectors).
pub fn column_descriptors<'c>(columns: impl Iterator<Item = &'c crate::hir::Column>) -> TokenStream {
    let cols: Vec<TokenStream> = columns
        .map(|c| {
            let name = &c.name;
            let nullable = c.ty.nullable;
            let ty = column_type(&c.ty);
            quote!(rt::connectors::format::Column { name: #name, ty: #ty, nullable: #nullable })
        })
        .collect();
    quote!([#(#cols),*])
}

fn column_type(ty: &Type) -> TokenStream {
    let ct = quote!(rt::connectors::format::ColumnType);
    match &ty.kind {
        TypeKind::Boolean => quote!(#ct::Boolean),
        TypeKind::TinyInt => quote!(#ct::TinyInt),
        TypeKind::SmallInt => quote!(#ct::SmallInt),
        TypeKind::Int => quote!(#ct::Int),
        TypeKind::BigInt => quote!(#ct::BigInt),
        TypeKind::Float => quote!(#ct::Float),
        TypeKind::Double => quote!(#ct::Double),
        TypeKind::Decimal { precision, scale } => quote!(#ct::Decimal { precision: #precision, scale: #scale }),
        TypeKind::Char(n) => quote!(#ct::Char(#n)),
        TypeKind::Varchar(n) => quote!(#ct::Varchar(#n)),
        TypeKind::Binary(n) => quote!(#ct::Binary(#n)),
        TypeKind::Varbinary(n) => quote!(#ct::Varbinary(#n)),
        TypeKind::Date => quote!(#ct::Date),
        TypeKind::Time(p) => quote!(#ct::Time(#p)),
        TypeKind::Timestamp(p) => quote!(#ct::Timestamp(#p)),
        TypeKind::TimestampLtz(p) => quote!(#ct::TimestampLtz(#p)),
        _ => quote!(#ct::Other),
    }
}

/// Whether a column is written by INSERTs (not computed, not virtual metadata).
pub fn is_writable(kind: &ColumnKind) -> bool {
    match kind {
        ColumnKind::Physical => true,
        ColumnKind::Metadata { is_virtual, .. } => !is_virtual,
        ColumnKind::Computed(_) => false,
    }
}
