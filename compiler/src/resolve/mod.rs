//! `resolve`: AST → [`hir`](crate::hir). Binds names, infers and checks types, expands
//! views, validates connectors and options, and checks the streaming rules (time
//! attributes, windows, state that grows forever).
//!
//! Errors never stop resolution: a statement that fails is reported and skipped, and a
//! name it would have defined is remembered so that later uses of it are not reported
//! again.

mod datatype;
mod expr;
mod from;
mod literal;
mod options;
mod query;
mod scope;
mod streaming;
mod table;

use crate::ast::{self, StatementKind};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::hir::{self, Program, Rel, TableId};
use crate::span::Span;
use std::collections::{BTreeMap, HashMap, HashSet};

pub use literal::interval_ms;

/// A view: its resolved query, expanded where it is used.
#[derive(Debug, Clone)]
struct View {
    rel: Rel,
}

/// A `CREATE FUNCTION` whose implementation dflc has.
#[derive(Debug, Clone)]
pub(crate) struct Udf {
    pub(crate) args: Vec<crate::types::Type>,
    pub(crate) result: crate::types::Type,
    /// The Rust function generated code calls (`dfl::udfs::…` for a ported Java class,
    /// `crate::…` for one of the embedding crate).
    pub(crate) path: String,
    /// Its usage, for messages.
    pub(crate) doc: String,
    /// For a Rust aggregate function: which optional methods its `impl` defines.
    pub(crate) aggregate: Option<crate::hir::RustAggregateCall>,
}

/// Everything defined so far while walking the file.
pub(crate) struct Resolver {
    pub(crate) diagnostics: Diagnostics,
    tables: Vec<hir::Table>,
    table_ids: HashMap<String, TableId>,
    views: HashMap<String, View>,
    functions: HashMap<String, Udf>,
    /// Names that statements which failed to parse or resolve would have defined.
    poisoned: HashSet<String>,
    settings: BTreeMap<String, String>,
    /// Where each name was defined, for "defined here" labels.
    defined_at: HashMap<String, Span>,
    /// The Rust functions of the crate embedding the query.
    rust: crate::catalog::rust_fns::RustFunctions,
}

/// Resolves a parsed file. `failed_names` are names defined by statements that did not
/// parse. Returns the program (with whatever resolved) and the diagnostics.
pub fn resolve(
    file: &ast::File,
    failed_names: &[String],
    rust: &crate::catalog::rust_fns::RustFunctions,
) -> (Program, Diagnostics) {
    let mut r = Resolver {
        diagnostics: Diagnostics::default(),
        tables: Vec::new(),
        table_ids: HashMap::new(),
        views: HashMap::new(),
        functions: HashMap::new(),
        poisoned: failed_names.iter().cloned().collect(),
        settings: BTreeMap::new(),
        defined_at: HashMap::new(),
        rust: rust.clone(),
    };
    let mut inserts = Vec::new();
    for statement in &file.statements {
        r.statement(statement, &mut inserts);
    }
    let program = Program { settings: r.settings.clone(), tables: r.tables.clone(), inserts };
    (program, r.diagnostics)
}

impl Resolver {
    pub(crate) fn report(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Runs `f` with its diagnostics discarded, telling whether it reported an error.
    pub(crate) fn quietly<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, bool) {
        let before = self.diagnostics.0.len();
        let out = f(self);
        let failed = self.diagnostics.0[before..].iter().any(Diagnostic::is_error);
        self.diagnostics.0.truncate(before);
        (out, failed)
    }

    fn statement(&mut self, s: &ast::Statement, inserts: &mut Vec<hir::InsertPlan>) {
        match &s.kind {
            StatementKind::CreateTable(t) => {
                let name = t.name.base().name.clone();
                if !self.check_new_name(&t.name, t.if_not_exists) {
                    return;
                }
                match table::create_table(self, t, s.span) {
                    Some(table) => {
                        let id = TableId(self.tables.len());
                        self.tables.push(table);
                        self.table_ids.insert(name.clone(), id);
                        self.defined_at.insert(name, t.name.span);
                    }
                    None => {
                        self.poisoned.insert(name);
                    }
                }
            }
            StatementKind::CreateView(v) => {
                let name = v.name.base().name.clone();
                if !self.check_new_name(&v.name, v.if_not_exists) {
                    return;
                }
                match query::view(self, v) {
                    Some(rel) => {
                        self.views.insert(name.clone(), View { rel });
                        self.defined_at.insert(name, v.name.span);
                    }
                    None => {
                        self.poisoned.insert(name);
                    }
                }
            }
            StatementKind::CreateFunction(f) => self.create_function(f),
            StatementKind::Insert(insert) => self.insert(insert, inserts),
            StatementKind::StatementSet(set) => {
                for insert in set {
                    self.insert(insert, inserts);
                }
            }
            StatementKind::Set(Some((key, value))) => {
                options::check_setting(self, key, value);
                self.settings.insert(key.value.clone(), value.value.clone());
            }
            StatementKind::Set(None) => {}
            StatementKind::Reset(Some(key)) => {
                self.settings.remove(&key.value);
            }
            StatementKind::Reset(None) => self.settings.clear(),
            StatementKind::Query(q) => {
                // Resolve it for its errors, then say why it cannot run as it is.
                let _ = query::query(self, q, None);
                self.report(
                    Diagnostic::error(Code::UnsupportedStatement, "a query on its own has no sink to write to")
                        .at(s.span, "this result would go nowhere")
                        .with_help("write it into a table: CREATE TABLE out (…) WITH ('connector' = 'print'); INSERT INTO out SELECT …"),
                );
            }
            StatementKind::Unsupported { keyword } => {
                self.report(
                    Diagnostic::error(
                        Code::UnsupportedStatement,
                        format!("{keyword} statements are not supported by dflc"),
                    )
                    .at(s.span, "not supported")
                    .with_help("dflc compiles one file into one pipeline: define everything with CREATE TABLE / CREATE VIEW and write with INSERT INTO"),
                );
            }
        }
    }

    fn insert(&mut self, insert: &ast::Insert, inserts: &mut Vec<hir::InsertPlan>) {
        if let Some(plan) = query::insert(self, insert) {
            streaming::check_insert(&plan, self);
            inserts.push(plan);
        }
    }

    /// Checks that a new table/view/function name is free (or IF NOT EXISTS).
    /// Returns whether the definition should go ahead.
    fn check_new_name(&mut self, name: &ast::ObjectName, if_not_exists: bool) -> bool {
        let base = &name.base().name;
        if let Some(&first) = self.defined_at.get(base) {
            if if_not_exists {
                return false;
            }
            self.report(
                Diagnostic::error(Code::DuplicateName, format!("`{base}` is already defined"))
                    .at(name.span, "defined again here")
                    .also(first, "first defined here")
                    .with_help("choose another name, or add IF NOT EXISTS to keep the first definition"),
            );
            return false;
        }
        true
    }

    fn create_function(&mut self, f: &ast::CreateFunction) {
        let name = f.name.base().name.to_ascii_lowercase();
        if !self.check_new_name(&f.name, f.if_not_exists) {
            return;
        }
        let class = f.class.value.clone();
        let is_rust_path = class.contains("::");
        let language = f.language.as_ref().map(|l| l.name.to_ascii_uppercase());
        let message = if is_rust_path && language.as_deref().is_none_or(|l| l == "RUST") {
            self.rust_function(&name, f, &class)
        } else if let Some(builtin) = crate::catalog::udfs::known_class(&class) {
            // A Java class dflc ships a native port of (Nexmark's benchmark UDFs).
            let udf = Udf {
                args: (builtin.args)(),
                result: (builtin.result)(),
                path: format!("::{}", builtin.runtime_path),
                doc: builtin.doc.to_string(),
                aggregate: None,
            };
            self.functions.insert(name.clone(), udf);
            self.defined_at.insert(f.name.base().name.clone(), f.name.span);
            None
        } else {
            let what = match language.as_deref() {
                Some("PYTHON") => "Python functions",
                Some("SCALA") => "Scala classes",
                _ => "Java classes",
            };
            Some((
                format!("{what} cannot run in a dflc pipeline: `{class}`"),
                "dflc compiles queries to native code and cannot load JVM or Python functions; use a built-in function (docs/language.md), or a Rust function once Rust UDFs are supported".to_string(),
            ))
        };
        if let Some((message, help)) = message {
            self.report(
                Diagnostic::error(Code::UnsupportedFunction, message)
                    .at(f.class.span, "cannot be loaded")
                    .with_help(help),
            );
            self.poisoned.insert(name);
        }
    }

    /// `CREATE FUNCTION name AS 'crate::…'`: a Rust function of the crate embedding the
    /// query, typed from its signature; or why it cannot be called (message, help).
    fn rust_function(&mut self, name: &str, f: &ast::CreateFunction, path: &str) -> Option<(String, String)> {
        if let Some(rust) = self.rust.fns.get(path) {
            let udf = Udf {
                args: rust.args.clone(),
                result: rust.result.clone(),
                path: path.to_string(),
                doc: format!("the Rust function `{path}`: {}", rust.signature),
                aggregate: None,
            };
            self.functions.insert(name.to_string(), udf);
            self.defined_at.insert(f.name.base().name.clone(), f.name.span);
            return None;
        }
        if let Some(rust) = self.rust.aggregates.get(path) {
            let udf = Udf {
                args: rust.args.clone(),
                result: rust.result.clone(),
                path: path.to_string(),
                doc: format!("the Rust aggregate function `{path}`: {}", rust.signature),
                aggregate: Some(crate::hir::RustAggregateCall {
                    path: path.to_string(),
                    retracts: rust.retracts,
                    merges: rust.merges,
                    span: f.class.span,
                }),
            };
            self.functions.insert(name.to_string(), udf);
            self.defined_at.insert(f.name.base().name.clone(), f.name.span);
            return None;
        }
        if let Some(why) = self.rust.unusable.get(path) {
            return Some((format!("the Rust function `{path}` cannot be called from SQL: {why}"), "write it as `pub fn f(x: Option<i64>, s: Option<dfl::types::Str>) -> Option<…>`: SQL values in and out, None for NULL".to_string()));
        }
        if self.rust.is_empty() {
            return Some((
                format!("Rust functions (`{path}`) can only be called from queries compiled with their crate"),
                "embed the query with `dfl::pipeline!` or compile it from a build script (`dfl_compiler::embed::compile_dir`): `dflc build` has no crate to call into".to_string(),
            ));
        }
        Some((
            format!("no function `{path}` in this crate's sources"),
            "define it as `pub fn` in the module the path names (src/…), SQL values in and out: `Option<i64>`, `Option<dfl::types::Str>`, …".to_string(),
        ))
    }

    /// Looks up a table or view for reading. `None` (reported) if it does not exist.
    pub(crate) fn relation(&mut self, name: &ast::ObjectName) -> Option<Rel> {
        let base = &name.base().name;
        if let Some(view) = self.views.get(base) {
            let mut rel = view.rel.clone();
            rel.span = name.span;
            return Some(rel);
        }
        if let Some(&id) = self.table_ids.get(base) {
            let table = &self.tables[id.0];
            return Some(Rel {
                kind: hir::RelKind::Scan { table: id, name: table.name.clone() },
                schema: table.schema(),
                append_only: !table.is_changelog_source(),
                span: name.span,
            });
        }
        if !self.poisoned.contains(base) {
            self.unknown_table(name);
        }
        None
    }

    /// The table an INSERT writes to.
    pub(crate) fn sink_table(&mut self, name: &ast::ObjectName) -> Option<TableId> {
        let base = &name.base().name;
        if let Some(&id) = self.table_ids.get(base) {
            return Some(id);
        }
        if self.views.contains_key(base) {
            self.report(
                Diagnostic::error(Code::InvalidTableUse, format!("`{base}` is a view; INSERT needs a table"))
                    .at(name.span, "a view cannot be written to"),
            );
        } else if !self.poisoned.contains(base) {
            self.unknown_table(name);
        }
        None
    }

    fn unknown_table(&mut self, name: &ast::ObjectName) {
        let base = &name.base().name;
        let known: Vec<&str> = self.table_ids.keys().chain(self.views.keys()).map(String::as_str).collect();
        let mut d = Diagnostic::error(Code::UnknownTable, format!("no table or view named `{base}`"))
            .at(name.span, "not defined");
        d = match did_you_mean(base, known.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if known.is_empty() => d.with_help("define it first with CREATE TABLE or CREATE VIEW"),
            None => d.with_help("tables and views must be defined before they are used"),
        };
        self.report(d);
    }

    /// Defines a CTE for the query being resolved; returns what it shadows.
    pub(crate) fn define_local_view(&mut self, name: &str, rel: Rel) -> Option<Rel> {
        self.views.insert(name.to_string(), View { rel }).map(|v| v.rel)
    }

    /// Undoes [`Resolver::define_local_view`].
    pub(crate) fn restore_local_view(&mut self, name: &str, previous: Option<Rel>) {
        match previous {
            Some(rel) => {
                self.views.insert(name.to_string(), View { rel });
            }
            None => {
                self.views.remove(name);
            }
        }
    }

    /// Whether a table or view of that name exists.
    pub(crate) fn is_relation(&self, name: &str) -> bool {
        self.table_ids.contains_key(name) || self.views.contains_key(name)
    }

    pub(crate) fn table(&self, id: TableId) -> &hir::Table {
        &self.tables[id.0]
    }

    pub(crate) fn udf(&self, name: &str) -> Option<Udf> {
        self.functions.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Whether `name` is a Rust aggregate function defined with CREATE FUNCTION.
    pub(crate) fn is_rust_aggregate(&self, name: &str) -> bool {
        self.functions.get(&name.to_ascii_lowercase()).is_some_and(|f| f.aggregate.is_some())
    }

    pub(crate) fn function_poisoned(&self, name: &str) -> bool {
        self.poisoned.contains(&name.to_ascii_lowercase())
    }

    pub(crate) fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }
}
