//! pest parse tree → AST. The grammar guarantees the shape of each pair, so the
//! converter walks children in order; a shape it does not expect is an internal error,
//! never a panic.

use super::expr::{self, Item, Postfix, prec};
use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use dfl_grammar::Rule;
use pest::iterators::Pair;

type P<'i> = Pair<'i, Rule>;
type R<T> = Result<T, Vec<Diagnostic>>;

/// What one statement chunk turns into.
pub enum Piece {
    Statement(Box<Statement>),
    /// `BEGIN STATEMENT SET` (Flink SQL client syntax).
    BeginSet(Span),
    /// `END` closing it.
    EndSet(Span),
}

pub struct Converter {
    /// Where the parsed chunk starts in the file.
    offset: usize,
}

fn internal(what: &str) -> Vec<Diagnostic> {
    vec![Diagnostic::internal(format!("unexpected parse tree: {what}"))]
}

/// The next child, or an internal error naming what was expected.
fn next<'i>(pairs: &mut impl Iterator<Item = P<'i>>, what: &str) -> R<P<'i>> {
    pairs.next().ok_or_else(|| internal(what))
}

fn is_kw(p: &P<'_>, rule: Rule) -> bool {
    p.as_rule() == rule
}

impl Converter {
    pub fn new(offset: usize) -> Self {
        Converter { offset }
    }

    /// Where a pair stands in the file, without the whitespace pest's implicit
    /// separators leave at its end.
    fn span(&self, p: &P<'_>) -> Span {
        let s = p.as_span();
        let trimmed = s.as_str().trim_end().len();
        Span::new(self.offset + s.start(), self.offset + s.start() + trimmed)
    }

    pub fn statement(&self, p: P<'_>) -> R<Piece> {
        let span = self.span(&p);
        let inner = next(&mut p.into_inner(), "statement body")?;
        let kind = match inner.as_rule() {
            Rule::create_table => StatementKind::CreateTable(self.create_table(inner)?),
            Rule::create_view => StatementKind::CreateView(self.create_view(inner)?),
            Rule::create_function => StatementKind::CreateFunction(self.create_function(inner)?),
            Rule::insert => StatementKind::Insert(self.insert(inner)?),
            Rule::execute_insert => {
                let insert = inner.into_inner().find(|p| p.as_rule() == Rule::insert);
                StatementKind::Insert(self.insert(insert.ok_or_else(|| internal("EXECUTE INSERT"))?)?)
            }
            Rule::statement_set => StatementKind::StatementSet(
                inner.into_inner().filter(|p| p.as_rule() == Rule::insert).map(|p| self.insert(p)).collect::<R<_>>()?,
            ),
            Rule::begin_statement_set => return Ok(Piece::BeginSet(span)),
            Rule::end_statement_set => return Ok(Piece::EndSet(span)),
            Rule::set_stmt => {
                let mut strings = inner.into_inner().filter(|p| p.as_rule() == Rule::string_lit);
                match (strings.next(), strings.next()) {
                    (Some(k), Some(v)) => StatementKind::Set(Some((self.str_lit(k), self.str_lit(v)))),
                    _ => StatementKind::Set(None),
                }
            }
            Rule::reset_stmt => StatementKind::Reset(
                inner.into_inner().find(|p| p.as_rule() == Rule::string_lit).map(|k| self.str_lit(k)),
            ),
            Rule::unsupported_stmt => {
                let head = next(&mut inner.into_inner(), "unsupported statement head")?;
                let keyword = head.as_str().split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
                StatementKind::Unsupported { keyword }
            }
            Rule::query_stmt => StatementKind::Query(self.query(next(&mut inner.into_inner(), "query")?)?),
            _ => return Err(internal("statement kind")),
        };
        Ok(Piece::Statement(Box::new(Statement { kind, span })))
    }

    // -----------------------------------------------------------------------------
    // DDL

    fn create_table(&self, p: P<'_>) -> R<CreateTable> {
        let mut t = CreateTable {
            name: ObjectName { parts: Vec::new(), span: Span::default() },
            temporary: false,
            if_not_exists: false,
            columns: Vec::new(),
            watermark: Vec::new(),
            primary_key: Vec::new(),
            comment: None,
            partitioned_by: Vec::new(),
            options: Vec::new(),
            like: None,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_temporary => t.temporary = true,
                Rule::if_not_exists => t.if_not_exists = true,
                Rule::object_name => t.name = self.object_name(c),
                Rule::table_element => {
                    let e = next(&mut c.into_inner(), "table element")?;
                    match e.as_rule() {
                        Rule::column_def => {
                            let (column, inline_pk) = self.column_def(e)?;
                            if let Some((span, not_enforced)) = inline_pk {
                                t.primary_key.push(PrimaryKey {
                                    columns: vec![column.name.clone()],
                                    not_enforced,
                                    span,
                                });
                            }
                            t.columns.push(column);
                        }
                        Rule::watermark_def => {
                            let span = self.span(&e);
                            let mut it = e.into_inner().filter(|p| matches!(p.as_rule(), Rule::ident | Rule::expr));
                            let column = self.ident(next(&mut it, "watermark column")?);
                            let expr = self.expr(next(&mut it, "watermark expression")?)?;
                            t.watermark.push(Watermark { column, expr, span });
                        }
                        Rule::primary_key_def => {
                            let span = self.span(&e);
                            let mut pk = PrimaryKey { columns: Vec::new(), not_enforced: false, span };
                            for k in e.into_inner() {
                                match k.as_rule() {
                                    Rule::ident_list => pk.columns = self.ident_list(k),
                                    Rule::not_enforced => pk.not_enforced = true,
                                    _ => {}
                                }
                            }
                            t.primary_key.push(pk);
                        }
                        _ => return Err(internal("table element kind")),
                    }
                }
                Rule::comment_clause => t.comment = Some(self.comment(c)?),
                Rule::partitioned_by => {
                    t.partitioned_by = c
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::ident_list)
                        .map(|l| self.ident_list(l))
                        .unwrap_or_default()
                }
                Rule::with_options => t.options = self.options(c)?,
                Rule::like_clause => {
                    t.like = c.into_inner().find(|p| p.as_rule() == Rule::object_name).map(|n| self.object_name(n))
                }
                _ => {}
            }
        }
        Ok(t)
    }

    /// A column, and its inline `PRIMARY KEY [NOT ENFORCED]` (span, not enforced) if any.
    fn column_def(&self, p: P<'_>) -> R<(ColumnDef, Option<(Span, bool)>)> {
        let span = self.span(&p);
        let mut inline_pk = None;
        let mut it = p.into_inner();
        let name = self.ident(next(&mut it, "column name")?);
        let body = next(&mut it, "column body")?;
        let kind = match body.as_rule() {
            Rule::computed_column => {
                let e = body.into_inner().find(|p| p.as_rule() == Rule::expr).ok_or_else(|| internal("computed"))?;
                ColumnKind::Computed { expr: self.expr(e)? }
            }
            Rule::metadata_column => {
                let mut ty = None;
                let mut key = None;
                let mut is_virtual = false;
                for c in body.into_inner() {
                    match c.as_rule() {
                        Rule::data_type => ty = Some(self.data_type(c)?),
                        Rule::string_lit => key = Some(self.str_lit(c)),
                        Rule::kw_virtual => is_virtual = true,
                        _ => {}
                    }
                }
                ColumnKind::Metadata { ty: ty.ok_or_else(|| internal("metadata type"))?, key, is_virtual }
            }
            Rule::physical_column => {
                let mut ty = None;
                let mut not_null = false;
                for c in body.into_inner() {
                    match c.as_rule() {
                        Rule::data_type => ty = Some(self.data_type(c)?),
                        Rule::nullability => not_null = c.into_inner().any(|k| is_kw(&k, Rule::kw_not)),
                        Rule::inline_primary_key => {
                            // An inline PRIMARY KEY implies NOT NULL, as in Flink.
                            not_null = true;
                            let not_enforced = c.clone().into_inner().any(|k| k.as_rule() == Rule::not_enforced);
                            inline_pk = Some((self.span(&c), not_enforced));
                        }
                        _ => {}
                    }
                }
                ColumnKind::Physical { ty: ty.ok_or_else(|| internal("column type"))?, not_null }
            }
            _ => return Err(internal("column kind")),
        };
        let comment = it.find(|p| p.as_rule() == Rule::comment_clause).map(|c| self.comment(c)).transpose()?;
        Ok((ColumnDef { name, kind, comment, span }, inline_pk))
    }

    fn comment(&self, p: P<'_>) -> R<StrLit> {
        p.into_inner()
            .find(|p| p.as_rule() == Rule::string_lit)
            .map(|s| self.str_lit(s))
            .ok_or_else(|| internal("comment"))
    }

    fn options(&self, p: P<'_>) -> R<Vec<TableOption>> {
        p.into_inner()
            .filter(|p| p.as_rule() == Rule::option_pair)
            .map(|pair| {
                let mut it = pair.into_inner();
                let key = self.str_lit(next(&mut it, "option key")?);
                let value = self.str_lit(next(&mut it, "option value")?);
                Ok(TableOption { key, value })
            })
            .collect()
    }

    fn create_view(&self, p: P<'_>) -> R<CreateView> {
        let mut name = None;
        let mut temporary = false;
        let mut if_not_exists = false;
        let mut columns = Vec::new();
        let mut query = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_temporary => temporary = true,
                Rule::if_not_exists => if_not_exists = true,
                Rule::object_name => name = Some(self.object_name(c)),
                Rule::ident_list => columns = self.ident_list(c),
                Rule::query => query = Some(self.query(c)?),
                _ => {}
            }
        }
        Ok(CreateView {
            name: name.ok_or_else(|| internal("view name"))?,
            temporary,
            if_not_exists,
            columns,
            query: query.ok_or_else(|| internal("view query"))?,
        })
    }

    fn create_function(&self, p: P<'_>) -> R<CreateFunction> {
        let mut name = None;
        let mut class = None;
        let mut f = (false, false, false, None, Vec::new());
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_temporary => f.0 = true,
                Rule::kw_system => f.1 = true,
                Rule::if_not_exists => f.2 = true,
                Rule::object_name => name = Some(self.object_name(c)),
                Rule::string_lit => class = Some(self.str_lit(c)),
                Rule::ident => f.3 = Some(self.ident(c)),
                Rule::using_jars => {
                    f.4 = c.into_inner().filter(|p| p.as_rule() == Rule::string_lit).map(|s| self.str_lit(s)).collect()
                }
                _ => {}
            }
        }
        Ok(CreateFunction {
            name: name.ok_or_else(|| internal("function name"))?,
            temporary: f.0,
            system: f.1,
            if_not_exists: f.2,
            class: class.ok_or_else(|| internal("function class"))?,
            language: f.3,
            jars: f.4,
        })
    }

    fn insert(&self, p: P<'_>) -> R<Insert> {
        let span = self.span(&p);
        let mut table = None;
        let mut overwrite = false;
        let mut partition = Vec::new();
        let mut columns = Vec::new();
        let mut query = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_overwrite => overwrite = true,
                Rule::object_name => table = Some(self.object_name(c)),
                Rule::static_partition => {
                    for pv in c.into_inner().filter(|p| p.as_rule() == Rule::partition_value) {
                        let mut it = pv.into_inner();
                        let name = self.ident(next(&mut it, "partition column")?);
                        let lit = next(&mut it, "partition value")?;
                        let span = self.span(&lit);
                        partition.push((name, Expr { kind: ExprKind::Literal(self.literal(lit)?), span }));
                    }
                }
                Rule::ident_list => columns = self.ident_list(c),
                Rule::query => query = Some(self.query(c)?),
                _ => {}
            }
        }
        Ok(Insert {
            table: table.ok_or_else(|| internal("insert target"))?,
            overwrite,
            partition,
            columns,
            query: query.ok_or_else(|| internal("insert query"))?,
            span,
        })
    }

    // -----------------------------------------------------------------------------
    // Queries

    pub fn query(&self, p: P<'_>) -> R<Query> {
        let span = self.span(&p);
        let mut q = Query {
            with: Vec::new(),
            body: SetExpr::Values { rows: Vec::new(), span },
            order_by: Vec::new(),
            limit: None,
            offset: None,
            span,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::with_clause => {
                    for cte in c.into_inner().filter(|p| p.as_rule() == Rule::cte) {
                        let mut name = None;
                        let mut columns = Vec::new();
                        let mut query = None;
                        for x in cte.into_inner() {
                            match x.as_rule() {
                                Rule::ident => name = Some(self.ident(x)),
                                Rule::ident_list => columns = self.ident_list(x),
                                Rule::query => query = Some(self.query(x)?),
                                _ => {}
                            }
                        }
                        q.with.push(Cte {
                            name: name.ok_or_else(|| internal("cte name"))?,
                            columns,
                            query: query.ok_or_else(|| internal("cte query"))?,
                        });
                    }
                }
                Rule::set_expr => q.body = self.set_expr(c)?,
                Rule::order_by => q.order_by = self.order_by(c)?,
                Rule::limit_clause => {
                    q.limit = c.into_inner().find(|p| p.as_rule() == Rule::expr).map(|e| self.expr(e)).transpose()?
                }
                Rule::offset_clause => {
                    q.offset = c.into_inner().find(|p| p.as_rule() == Rule::expr).map(|e| self.expr(e)).transpose()?
                }
                Rule::fetch_clause => {
                    let span = self.span(&c);
                    q.limit = Some(match c.into_inner().find(|p| p.as_rule() == Rule::expr) {
                        Some(e) => self.expr(e)?,
                        None => Expr { kind: ExprKind::Literal(Literal::Number("1".into())), span },
                    });
                }
                _ => {}
            }
        }
        Ok(q)
    }

    fn set_expr(&self, p: P<'_>) -> R<SetExpr> {
        let mut it = p.into_inner();
        let mut left = self.set_term(next(&mut it, "set term")?)?;
        while let Some(op) = it.next() {
            let mut kind = SetOp::Union;
            let mut all = false;
            for k in op.into_inner() {
                match k.as_rule() {
                    Rule::kw_union => kind = SetOp::Union,
                    Rule::kw_intersect => kind = SetOp::Intersect,
                    Rule::kw_except | Rule::kw_minus => kind = SetOp::Except,
                    Rule::kw_all => all = true,
                    _ => {}
                }
            }
            let right = self.set_term(next(&mut it, "set term")?)?;
            let span = left.span().to(right.span());
            left = SetExpr::SetOp { op: kind, all, left: Box::new(left), right: Box::new(right), span };
        }
        Ok(left)
    }

    fn set_term(&self, p: P<'_>) -> R<SetExpr> {
        let inner = next(&mut p.into_inner(), "set term body")?;
        Ok(match inner.as_rule() {
            Rule::select => SetExpr::Select(Box::new(self.select(inner)?)),
            Rule::values => {
                let span = self.span(&inner);
                let rows = inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::values_row)
                    .map(|row| {
                        row.into_inner()
                            .find(|p| p.as_rule() == Rule::expr_list)
                            .map(|l| self.expr_list(l))
                            .unwrap_or_else(|| Ok(Vec::new()))
                    })
                    .collect::<R<_>>()?;
                SetExpr::Values { rows, span }
            }
            Rule::query => SetExpr::Query(Box::new(self.query(inner)?)),
            _ => return Err(internal("set term kind")),
        })
    }

    fn select(&self, p: P<'_>) -> R<Select> {
        let span = self.span(&p);
        let mut s = Select {
            distinct: false,
            items: Vec::new(),
            from: Vec::new(),
            selection: None,
            group_by: Vec::new(),
            having: None,
            window_clause: None,
            span,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_distinct => s.distinct = true,
                Rule::select_item => s.items.push(self.select_item(c)?),
                Rule::table_ref => s.from.push(self.table_ref(c)?),
                Rule::where_clause => s.selection = Some(self.clause_expr(c)?),
                Rule::having_clause => s.having = Some(self.clause_expr(c)?),
                Rule::window_clause => s.window_clause = Some((c.as_str().trim_end().to_string(), self.span(&c))),
                Rule::group_by => {
                    for g in c.into_inner().filter(|p| p.as_rule() == Rule::group_item) {
                        let item = next(&mut g.into_inner(), "group item")?;
                        let span = self.span(&item);
                        s.group_by.push(match item.as_rule() {
                            Rule::expr => GroupItem::Expr(self.expr(item)?),
                            Rule::empty_group => GroupItem::Empty(span),
                            Rule::grouping_sets => {
                                let mut kind = Vec::new();
                                let mut exprs = Vec::new();
                                for k in item.into_inner() {
                                    match k.as_rule() {
                                        Rule::grouping_elem => {
                                            if let Some(e) = k.into_inner().find(|e| e.as_rule() == Rule::expr) {
                                                exprs.push(self.expr(e)?);
                                            }
                                        }
                                        Rule::comma => {}
                                        _ => kind.push(k.as_str().to_uppercase()),
                                    }
                                }
                                GroupItem::GroupingSets { kind: kind.join(" "), exprs, span }
                            }
                            _ => return Err(internal("group item kind")),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// The expression of `WHERE e` / `HAVING e`.
    fn clause_expr(&self, p: P<'_>) -> R<Expr> {
        let e = p.into_inner().find(|p| p.as_rule() == Rule::expr).ok_or_else(|| internal("clause expression"))?;
        self.expr(e)
    }

    fn select_item(&self, p: P<'_>) -> R<SelectItem> {
        let mut it = p.into_inner();
        let first = next(&mut it, "select item")?;
        Ok(match first.as_rule() {
            Rule::wildcard => SelectItem::Wildcard(self.span(&first)),
            Rule::qualified_wildcard => {
                let span = self.span(&first);
                let parts = first.into_inner().filter(|p| p.as_rule() == Rule::ident).map(|i| self.ident(i)).collect();
                SelectItem::QualifiedWildcard(ObjectName { parts, span })
            }
            Rule::expr => {
                let expr = self.expr(first)?;
                let alias = it.find(|p| p.as_rule() == Rule::ident).map(|i| self.ident(i));
                SelectItem::Expr { expr, alias }
            }
            _ => return Err(internal("select item kind")),
        })
    }

    fn order_by(&self, p: P<'_>) -> R<Vec<OrderItem>> {
        p.into_inner()
            .filter(|p| p.as_rule() == Rule::order_item)
            .map(|item| {
                let mut expr = None;
                let mut desc = false;
                let mut nulls_first = None;
                for c in item.into_inner() {
                    match c.as_rule() {
                        Rule::expr => expr = Some(self.expr(c)?),
                        Rule::kw_desc => desc = true,
                        Rule::kw_first => nulls_first = Some(true),
                        Rule::kw_last => nulls_first = Some(false),
                        _ => {}
                    }
                }
                Ok(OrderItem { expr: expr.ok_or_else(|| internal("order item"))?, desc, nulls_first })
            })
            .collect()
    }

    fn table_ref(&self, p: P<'_>) -> R<TableRef> {
        let mut it = p.into_inner();
        let mut left = self.table_primary(next(&mut it, "table primary")?)?;
        for join in it {
            let mut kind = JoinKind::Inner;
            let mut natural = false;
            let mut right = None;
            let mut constraint = JoinConstraint::None;
            for c in join.into_inner() {
                match c.as_rule() {
                    Rule::join_kind => {
                        let k = next(&mut c.into_inner(), "join kind")?;
                        kind = match k.as_rule() {
                            Rule::cross_join => JoinKind::Cross,
                            Rule::left_join => JoinKind::Left,
                            Rule::right_join => JoinKind::Right,
                            Rule::full_join => JoinKind::Full,
                            _ => JoinKind::Inner,
                        };
                        natural = k.into_inner().any(|w| is_kw(&w, Rule::kw_natural));
                    }
                    Rule::table_primary => right = Some(self.table_primary(c)?),
                    Rule::join_constraint => {
                        let mut ci = c.into_inner();
                        let kw = next(&mut ci, "join constraint keyword")?;
                        let body = next(&mut ci, "join constraint body")?;
                        constraint = if kw.as_rule() == Rule::kw_on {
                            JoinConstraint::On(self.expr(body)?)
                        } else {
                            JoinConstraint::Using(self.ident_list(body))
                        };
                    }
                    _ => {}
                }
            }
            let right = right.ok_or_else(|| internal("join right side"))?;
            let span = left.span.to(right.span);
            left = TableRef {
                kind: TableRefKind::Join { kind, natural, left: Box::new(left), right: Box::new(right), constraint },
                span,
            };
        }
        Ok(left)
    }

    fn table_primary(&self, p: P<'_>) -> R<TableRef> {
        let span = self.span(&p);
        let text = p.as_str().trim_end().to_string();
        let children: Vec<P<'_>> = p.into_inner().collect();
        if children.iter().any(|c| c.as_rule() == Rule::match_recognize) {
            return Ok(TableRef { kind: TableRefKind::Unsupported { feature: "MATCH_RECOGNIZE".into(), text }, span });
        }
        let mut it = children.into_iter();
        let body = next(&mut it, "table primary body")?;
        let alias = it.next().map(|a| self.table_alias(a)).transpose()?;
        let kind = match body.as_rule() {
            Rule::named_table => {
                let mut name = None;
                let mut system_time = None;
                for c in body.into_inner() {
                    match c.as_rule() {
                        Rule::object_name => name = Some(self.object_name(c)),
                        Rule::time_travel => {
                            let e = c
                                .into_inner()
                                .find(|p| p.as_rule() == Rule::expr)
                                .ok_or_else(|| internal("time travel"))?;
                            system_time = Some(self.expr(e)?);
                        }
                        _ => {}
                    }
                }
                TableRefKind::Named { name: name.ok_or_else(|| internal("table name"))?, system_time, alias }
            }
            Rule::subquery_ref => {
                let q = next(&mut body.into_inner(), "subquery")?;
                TableRefKind::Subquery { query: Box::new(self.query(q)?), alias }
            }
            Rule::table_function => {
                let mut name = None;
                let mut args = Vec::new();
                for c in body.into_inner() {
                    match c.as_rule() {
                        Rule::function_name => name = Some(self.word_ident(&c)),
                        Rule::tvf_arg => args.push(self.tvf_arg(c)?),
                        _ => {}
                    }
                }
                TableRefKind::Function { name: name.ok_or_else(|| internal("table function name"))?, args, alias }
            }
            Rule::lateral_ref => TableRefKind::Unsupported { feature: "LATERAL".into(), text },
            Rule::unnest_ref => TableRefKind::Unsupported { feature: "UNNEST".into(), text },
            _ => return Err(internal("table primary kind")),
        };
        Ok(TableRef { kind, span })
    }

    fn table_alias(&self, p: P<'_>) -> R<TableAlias> {
        let mut name = None;
        let mut columns = Vec::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::ident => name = Some(self.ident(c)),
                Rule::ident_list => columns = self.ident_list(c),
                _ => {}
            }
        }
        Ok(TableAlias { name: name.ok_or_else(|| internal("alias"))?, columns })
    }

    fn tvf_arg(&self, p: P<'_>) -> R<TvfArg> {
        let span = self.span(&p);
        let mut name = None;
        let mut value = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::ident => name = Some(self.ident(c)),
                Rule::table_arg => {
                    let mut source = None;
                    let mut partition_by = Vec::new();
                    for t in c.into_inner() {
                        match t.as_rule() {
                            Rule::object_name => source = Some(TvfTable::Named(self.object_name(t))),
                            Rule::query => source = Some(TvfTable::Query(Box::new(self.query(t)?))),
                            Rule::tvf_partition => {
                                for k in t.into_inner() {
                                    match k.as_rule() {
                                        Rule::expr_list => partition_by = self.expr_list(k)?,
                                        Rule::expr => partition_by = vec![self.expr(k)?],
                                        _ => {}
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    value =
                        Some(TvfArgValue::Table { source: source.ok_or_else(|| internal("table arg"))?, partition_by });
                }
                Rule::descriptor_arg => {
                    let l = c
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::ident_list)
                        .ok_or_else(|| internal("descriptor"))?;
                    value = Some(TvfArgValue::Descriptor(self.ident_list(l)));
                }
                Rule::expr => value = Some(TvfArgValue::Expr(self.expr(c)?)),
                _ => {}
            }
        }
        Ok(TvfArg { name, value: value.ok_or_else(|| internal("tvf arg value"))?, span })
    }

    // -----------------------------------------------------------------------------
    // Expressions

    pub fn expr_list(&self, p: P<'_>) -> R<Vec<Expr>> {
        p.into_inner().filter(|p| p.as_rule() == Rule::expr).map(|e| self.expr(e)).collect()
    }

    /// `expr` and `arith_expr`: collect the flat sequence, then fold it by precedence.
    pub fn expr(&self, p: P<'_>) -> R<Expr> {
        let mut items = Vec::new();
        for c in p.into_inner() {
            let span = self.span(&c);
            match c.as_rule() {
                Rule::prefix_op | Rule::arith_prefix => {
                    let op = next(&mut c.into_inner(), "prefix operator")?;
                    let op = match op.as_rule() {
                        Rule::kw_not => UnaryOp::Not,
                        Rule::neg => UnaryOp::Neg,
                        _ => UnaryOp::Plus,
                    };
                    items.push(Item::Prefix(op, span));
                }
                Rule::infix_op | Rule::arith_infix => items.push(Item::Infix(self.binary_op(c)?, span)),
                Rule::postfix_op | Rule::access_op => items.push(Item::Postfix(self.postfix(c)?, span)),
                Rule::operand => items.push(Item::Operand(self.operand(c)?)),
                _ => return Err(internal("expression element")),
            }
        }
        expr::fold(items).map_err(|d| vec![d])
    }

    fn binary_op(&self, p: P<'_>) -> R<BinaryOp> {
        let mut op = p;
        // infix_op → (kw_or | kw_and | cmp_op | arith_infix → concat | plus …)
        loop {
            let rule = op.as_rule();
            let text = op.as_str();
            let inner = op.clone().into_inner().next();
            let found = match rule {
                Rule::kw_or => Some(BinaryOp::Or),
                Rule::kw_and => Some(BinaryOp::And),
                Rule::cmp_op => Some(match text {
                    "=" => BinaryOp::Eq,
                    "<>" | "!=" => BinaryOp::NotEq,
                    "<" => BinaryOp::Lt,
                    "<=" => BinaryOp::LtEq,
                    ">" => BinaryOp::Gt,
                    _ => BinaryOp::GtEq,
                }),
                Rule::concat => Some(BinaryOp::Concat),
                Rule::plus => Some(BinaryOp::Plus),
                Rule::minus => Some(BinaryOp::Minus),
                Rule::times => Some(BinaryOp::Multiply),
                Rule::divide => Some(BinaryOp::Divide),
                Rule::modulo => Some(BinaryOp::Modulo),
                _ => None,
            };
            if let Some(found) = found {
                return Ok(found);
            }
            op = inner.ok_or_else(|| internal("binary operator"))?;
        }
    }

    fn postfix(&self, p: P<'_>) -> R<Postfix> {
        let mut op = next(&mut p.into_inner(), "postfix operator")?;
        if op.as_rule() == Rule::access_op {
            op = next(&mut op.into_inner(), "access operator")?;
        }
        // `NOT` is a direct child: `IS NOT NULL`, `NOT BETWEEN`, `NOT IN`, `NOT LIKE`.
        let negated = op.clone().into_inner().any(|k| is_kw(&k, Rule::kw_not));
        let postfix = |precedence, build: Box<dyn FnOnce(Expr) -> ExprKind>| Postfix { precedence, build };
        Ok(match op.as_rule() {
            Rule::field_access => {
                let field = self.ident(next(&mut op.into_inner(), "field name")?);
                postfix(prec::ACCESS, Box::new(move |e| ExprKind::Field { expr: Box::new(e), field }))
            }
            Rule::index_access => {
                let index = self.expr(next(&mut op.into_inner(), "index")?)?;
                postfix(prec::ACCESS, Box::new(move |e| ExprKind::Index { expr: Box::new(e), index: Box::new(index) }))
            }
            Rule::is_test => {
                let last = op.into_inner().last().ok_or_else(|| internal("IS test"))?;
                match last.as_rule() {
                    Rule::distinct_from => {
                        let rhs = last
                            .into_inner()
                            .find(|p| p.as_rule() == Rule::arith_expr)
                            .ok_or_else(|| internal("distinct from"))?;
                        let right = self.expr(rhs)?;
                        postfix(
                            prec::IS,
                            Box::new(move |e| ExprKind::IsDistinctFrom {
                                left: Box::new(e),
                                right: Box::new(right),
                                negated,
                            }),
                        )
                    }
                    rule => {
                        let test = match rule {
                            Rule::kw_true => IsTest::True,
                            Rule::kw_false => IsTest::False,
                            Rule::kw_unknown => IsTest::Unknown,
                            _ => IsTest::Null,
                        };
                        postfix(prec::IS, Box::new(move |e| ExprKind::Is { expr: Box::new(e), test, negated }))
                    }
                }
            }
            Rule::between_op => {
                let mut symmetric = false;
                let mut bounds = Vec::new();
                for c in op.into_inner() {
                    match c.as_rule() {
                        Rule::kw_symmetric => symmetric = true,
                        Rule::arith_expr => bounds.push(self.expr(c)?),
                        _ => {}
                    }
                }
                let high = bounds.pop().ok_or_else(|| internal("between high"))?;
                let low = bounds.pop().ok_or_else(|| internal("between low"))?;
                postfix(
                    prec::PREDICATE,
                    Box::new(move |e| ExprKind::Between {
                        expr: Box::new(e),
                        low: Box::new(low),
                        high: Box::new(high),
                        negated,
                        symmetric,
                    }),
                )
            }
            Rule::in_op => {
                let body = op
                    .into_inner()
                    .find(|p| matches!(p.as_rule(), Rule::query | Rule::expr_list))
                    .ok_or_else(|| internal("IN list"))?;
                if body.as_rule() == Rule::query {
                    let query = Box::new(self.query(body)?);
                    postfix(
                        prec::PREDICATE,
                        Box::new(move |e| ExprKind::InSubquery { expr: Box::new(e), query, negated }),
                    )
                } else {
                    let list = self.expr_list(body)?;
                    postfix(prec::PREDICATE, Box::new(move |e| ExprKind::InList { expr: Box::new(e), list, negated }))
                }
            }
            Rule::like_op => {
                let mut similar = false;
                let mut pattern = None;
                let mut escape = None;
                for c in op.into_inner() {
                    match c.as_rule() {
                        Rule::kw_similar => similar = true,
                        Rule::arith_expr => pattern = Some(self.expr(c)?),
                        Rule::string_lit => escape = Some(self.str_lit(c)),
                        _ => {}
                    }
                }
                let pattern = pattern.ok_or_else(|| internal("like pattern"))?;
                postfix(
                    prec::PREDICATE,
                    Box::new(move |e| ExprKind::Like {
                        expr: Box::new(e),
                        pattern: Box::new(pattern),
                        escape,
                        negated,
                        similar,
                    }),
                )
            }
            _ => return Err(internal("postfix kind")),
        })
    }

    fn operand(&self, p: P<'_>) -> R<Expr> {
        let span = self.span(&p);
        let inner = next(&mut p.into_inner(), "operand")?;
        let kind = match inner.as_rule() {
            Rule::literal => ExprKind::Literal(self.literal(inner)?),
            Rule::interval_lit => ExprKind::Literal(Literal::Interval(self.interval(inner)?)),
            Rule::typed_lit => {
                let mut it = inner.into_inner();
                let kw = next(&mut it, "typed literal keyword")?;
                let value = self.str_lit(next(&mut it, "typed literal value")?).value;
                ExprKind::Literal(match kw.as_rule() {
                    Rule::kw_date => Literal::Date(value),
                    Rule::kw_time => Literal::Time(value),
                    Rule::kw_timestamp_ltz => Literal::TimestampLtz(value),
                    _ => Literal::Timestamp(value),
                })
            }
            Rule::column_ref => ExprKind::Identifier(inner.into_inner().map(|i| self.ident(i)).collect()),
            Rule::paren_expr => ExprKind::Nested(Box::new(self.expr(next(&mut inner.into_inner(), "nested")?)?)),
            Rule::paren_list => ExprKind::Row(self.exprs(inner)?),
            Rule::scalar_subquery => {
                let q = inner.into_inner().find(|p| p.as_rule() == Rule::query).ok_or_else(|| internal("subquery"))?;
                ExprKind::Subquery(Box::new(self.query(q)?))
            }
            Rule::exists_expr => {
                let q = inner.into_inner().find(|p| p.as_rule() == Rule::query).ok_or_else(|| internal("exists"))?;
                ExprKind::Exists(Box::new(self.query(q)?))
            }
            Rule::cast_expr => {
                let mut try_ = false;
                let mut e = None;
                let mut ty = None;
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::kw_try_cast => try_ = true,
                        Rule::expr => e = Some(self.expr(c)?),
                        Rule::data_type => ty = Some(self.data_type(c)?),
                        _ => {}
                    }
                }
                ExprKind::Cast {
                    expr: Box::new(e.ok_or_else(|| internal("cast operand"))?),
                    ty: ty.ok_or_else(|| internal("cast type"))?,
                    try_,
                }
            }
            Rule::extract_expr => {
                let mut unit = None;
                let mut e = None;
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::time_unit => unit = Some(time_unit(c.as_str())),
                        Rule::expr => e = Some(self.expr(c)?),
                        _ => {}
                    }
                }
                ExprKind::Extract {
                    unit: unit.ok_or_else(|| internal("extract unit"))?,
                    expr: Box::new(e.ok_or_else(|| internal("extract operand"))?),
                }
            }
            Rule::floor_ceil_expr => {
                let mut ceil = false;
                let mut unit = None;
                let mut e = None;
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::kw_ceil | Rule::kw_ceiling => ceil = true,
                        Rule::time_unit => unit = Some(time_unit(c.as_str())),
                        Rule::expr => e = Some(self.expr(c)?),
                        _ => {}
                    }
                }
                ExprKind::FloorCeil {
                    ceil,
                    expr: Box::new(e.ok_or_else(|| internal("floor operand"))?),
                    unit: unit.ok_or_else(|| internal("floor unit"))?,
                }
            }
            Rule::trim_expr => {
                let mut side = TrimSide::Both;
                let mut exprs = Vec::new();
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::kw_leading => side = TrimSide::Leading,
                        Rule::kw_trailing => side = TrimSide::Trailing,
                        Rule::expr => exprs.push(self.expr(c)?),
                        _ => {}
                    }
                }
                let expr = Box::new(exprs.pop().ok_or_else(|| internal("trim operand"))?);
                ExprKind::Trim { side, chars: exprs.pop().map(Box::new), expr }
            }
            Rule::substring_expr => {
                let mut exprs = self.exprs(inner)?.into_iter();
                ExprKind::Substring {
                    expr: Box::new(exprs.next().ok_or_else(|| internal("substring operand"))?),
                    from: Box::new(exprs.next().ok_or_else(|| internal("substring start"))?),
                    len: exprs.next().map(Box::new),
                }
            }
            Rule::position_expr => {
                let mut it = inner.into_inner().filter(|p| matches!(p.as_rule(), Rule::expr | Rule::arith_expr));
                let needle = self.expr(next(&mut it, "position needle")?)?;
                let haystack = self.expr(next(&mut it, "position haystack")?)?;
                ExprKind::Position { needle: Box::new(needle), haystack: Box::new(haystack) }
            }
            Rule::row_ctor => ExprKind::Row(self.list_of(inner)?),
            Rule::array_ctor => ExprKind::Array(self.list_of(inner)?),
            Rule::map_ctor => ExprKind::Map(self.list_of(inner)?),
            Rule::case_expr => {
                let mut operand = None;
                let mut whens = Vec::new();
                let mut else_ = None;
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::expr => operand = Some(Box::new(self.expr(c)?)),
                        Rule::when_clause => {
                            let mut it = c.into_inner().filter(|p| p.as_rule() == Rule::expr);
                            let cond = self.expr(next(&mut it, "when condition")?)?;
                            let then = self.expr(next(&mut it, "then value")?)?;
                            whens.push((cond, then));
                        }
                        Rule::else_clause => {
                            let e =
                                c.into_inner().find(|p| p.as_rule() == Rule::expr).ok_or_else(|| internal("else"))?;
                            else_ = Some(Box::new(self.expr(e)?));
                        }
                        _ => {}
                    }
                }
                ExprKind::Case { operand, whens, else_ }
            }
            Rule::function_call => ExprKind::Function(Box::new(self.function_call(inner)?)),
            _ => return Err(internal("operand kind")),
        };
        Ok(Expr { kind, span })
    }

    /// The direct `expr` children of a pair.
    fn exprs(&self, p: P<'_>) -> R<Vec<Expr>> {
        p.into_inner().filter(|p| p.as_rule() == Rule::expr).map(|e| self.expr(e)).collect()
    }

    /// The items of an optional `expr_list` child.
    fn list_of(&self, p: P<'_>) -> R<Vec<Expr>> {
        match p.into_inner().find(|p| p.as_rule() == Rule::expr_list) {
            Some(l) => self.expr_list(l),
            None => Ok(Vec::new()),
        }
    }

    pub fn function_call(&self, p: P<'_>) -> R<FunctionCall> {
        let mut f = FunctionCall {
            name: Ident { name: String::new(), quoted: false, span: Span::default() },
            distinct: false,
            star: false,
            args: Vec::new(),
            filter: None,
            over: None,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::function_name => f.name = self.word_ident(&c),
                Rule::kw_distinct => f.distinct = true,
                Rule::star_arg => f.star = true,
                Rule::expr_list => f.args = self.expr_list(c)?,
                Rule::filter_clause => f.filter = Some(self.clause_expr(c)?),
                Rule::over_clause => {
                    let body = c.into_inner().find(|p| matches!(p.as_rule(), Rule::window_spec | Rule::ident));
                    let body = body.ok_or_else(|| internal("over"))?;
                    f.over = Some(if body.as_rule() == Rule::ident {
                        Over::Named(self.ident(body))
                    } else {
                        Over::Window(self.window_spec(body)?)
                    });
                }
                _ => {}
            }
        }
        Ok(f)
    }

    fn window_spec(&self, p: P<'_>) -> R<WindowSpec> {
        let span = self.span(&p);
        let mut w = WindowSpec { partition_by: Vec::new(), order_by: Vec::new(), frame: None, span };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::expr_list => w.partition_by = self.expr_list(c)?,
                Rule::order_by => w.order_by = self.order_by(c)?,
                Rule::frame => {
                    let span = self.span(&c);
                    let mut rows = false;
                    let mut bounds = Vec::new();
                    for b in c.into_inner() {
                        match b.as_rule() {
                            Rule::kw_rows => rows = true,
                            Rule::frame_bound => bounds.push(self.frame_bound(b)?),
                            _ => {}
                        }
                    }
                    let mut bounds = bounds.into_iter();
                    let start = bounds.next().ok_or_else(|| internal("frame start"))?;
                    w.frame = Some(Frame { rows, start, end: bounds.next(), span });
                }
                _ => {}
            }
        }
        Ok(w)
    }

    fn frame_bound(&self, p: P<'_>) -> R<FrameBound> {
        let parts: Vec<P<'_>> = p.into_inner().collect();
        let has = |r: Rule| parts.iter().any(|p| p.as_rule() == r);
        let value = parts.iter().find(|p| p.as_rule() == Rule::arith_expr);
        Ok(match value {
            Some(v) => {
                let e = Box::new(self.expr(v.clone())?);
                if has(Rule::kw_preceding) { FrameBound::Preceding(e) } else { FrameBound::Following(e) }
            }
            None if has(Rule::kw_current) => FrameBound::CurrentRow,
            None if has(Rule::kw_preceding) => FrameBound::UnboundedPreceding,
            None => FrameBound::UnboundedFollowing,
        })
    }

    fn literal(&self, p: P<'_>) -> R<Literal> {
        let inner = next(&mut p.into_inner(), "literal")?;
        Ok(match inner.as_rule() {
            Rule::number => Literal::Number(inner.as_str().to_string()),
            Rule::string_lit => Literal::String(self.str_lit(inner).value),
            Rule::binary_lit => {
                let s = inner.as_str();
                Literal::Binary(s[2..s.len() - 1].to_string())
            }
            Rule::kw_true => Literal::Boolean(true),
            Rule::kw_false => Literal::Boolean(false),
            _ => Literal::Null,
        })
    }

    fn interval(&self, p: P<'_>) -> R<IntervalLiteral> {
        let mut lit = IntervalLiteral {
            negative: false,
            value: String::new(),
            quoted: false,
            unit: TimeUnit::Second,
            precision: None,
            to: None,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::interval_sign => lit.negative = c.as_str() == "-",
                Rule::string_lit => {
                    lit.value = self.str_lit(c).value;
                    lit.quoted = true;
                }
                Rule::number => lit.value = c.as_str().to_string(),
                Rule::interval_qualifier => {
                    let (unit, precision, to) = self.qualifier(c);
                    lit.unit = unit.ok_or_else(|| internal("interval unit"))?;
                    lit.precision = precision;
                    lit.to = to;
                }
                _ => {}
            }
        }
        Ok(lit)
    }

    fn qualifier(&self, p: P<'_>) -> (Option<TimeUnit>, Option<u32>, Option<TimeUnit>) {
        let mut unit = None;
        let mut to = None;
        let mut precision = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::time_unit if unit.is_none() => unit = Some(time_unit(c.as_str())),
                Rule::time_unit => to = Some(time_unit(c.as_str())),
                Rule::unit_precision if to.is_none() => {
                    precision = c.into_inner().next().and_then(|n| n.as_str().parse().ok())
                }
                _ => {}
            }
        }
        (unit, precision, to)
    }

    // -----------------------------------------------------------------------------
    // Types

    pub fn data_type(&self, p: P<'_>) -> R<DataType> {
        let span = self.span(&p);
        let inner = next(&mut p.into_inner(), "data type")?;
        let kind = match inner.as_rule() {
            Rule::named_type => {
                let mut name = String::new();
                let mut suffix = None;
                let mut params = Vec::new();
                let mut time_zone = None;
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::type_word => name = c.as_str().to_string(),
                        Rule::type_params => {
                            for n in c.into_inner().filter(|n| n.as_rule() == Rule::number) {
                                let span = self.span(&n);
                                params.push(n.as_str().parse::<u64>().map_err(|_| {
                                    vec![
                                        Diagnostic::error(Code::UnknownType, "type parameter must be a whole number")
                                            .at(span, "not a whole number"),
                                    ]
                                })?);
                            }
                        }
                        Rule::time_zone => {
                            time_zone = Some(if c.into_inner().any(|k| is_kw(&k, Rule::kw_local)) {
                                TimeZoneSpec::WithLocal
                            } else {
                                TimeZoneSpec::Without
                            })
                        }
                        Rule::type_suffix => suffix = Some(c.as_str().to_uppercase()),
                        _ => {}
                    }
                }
                DataTypeKind::Named { name, suffix, params, time_zone }
            }
            Rule::row_type => {
                let mut fields = Vec::new();
                for f in inner.into_inner().filter(|p| p.as_rule() == Rule::row_field) {
                    let mut it = f.into_inner();
                    let name = self.ident(next(&mut it, "row field name")?);
                    let ty = self.data_type(next(&mut it, "row field type")?)?;
                    let mut not_null = false;
                    let mut comment = None;
                    for c in it {
                        match c.as_rule() {
                            Rule::nullability => not_null = c.into_inner().any(|k| is_kw(&k, Rule::kw_not)),
                            Rule::string_lit => comment = Some(self.str_lit(c)),
                            _ => {}
                        }
                    }
                    fields.push(RowField { name, ty, not_null, comment });
                }
                DataTypeKind::Row(fields)
            }
            Rule::collection_type => {
                let mut multiset = false;
                let mut element = None;
                let mut not_null = false;
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::kw_multiset => multiset = true,
                        Rule::data_type => element = Some(Box::new(self.data_type(c)?)),
                        Rule::nullability => not_null = c.into_inner().any(|k| is_kw(&k, Rule::kw_not)),
                        _ => {}
                    }
                }
                let element = element.ok_or_else(|| internal("element type"))?;
                if multiset {
                    DataTypeKind::Multiset { element, not_null }
                } else {
                    DataTypeKind::Array { element, not_null }
                }
            }
            Rule::map_type => {
                let mut types = Vec::new();
                let mut nulls = Vec::new();
                for c in inner.into_inner() {
                    match c.as_rule() {
                        Rule::data_type => {
                            types.push(Box::new(self.data_type(c)?));
                            nulls.push(false);
                        }
                        Rule::nullability => {
                            if let Some(last) = nulls.last_mut() {
                                *last = c.into_inner().any(|k| is_kw(&k, Rule::kw_not));
                            }
                        }
                        _ => {}
                    }
                }
                let mut types = types.into_iter();
                DataTypeKind::Map {
                    key: types.next().ok_or_else(|| internal("map key type"))?,
                    key_not_null: nulls.first().copied().unwrap_or(false),
                    value: types.next().ok_or_else(|| internal("map value type"))?,
                    value_not_null: nulls.get(1).copied().unwrap_or(false),
                }
            }
            Rule::interval_type => {
                let q = inner
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::interval_qualifier)
                    .ok_or_else(|| internal("interval type"))?;
                let (unit, _, to) = self.qualifier(q);
                DataTypeKind::Interval { unit: unit.ok_or_else(|| internal("interval type unit"))?, to }
            }
            _ => return Err(internal("data type kind")),
        };
        Ok(DataType { kind, span })
    }

    // -----------------------------------------------------------------------------
    // Names and strings

    pub fn ident(&self, p: P<'_>) -> Ident {
        let span = self.span(&p);
        let inner = p.into_inner().next();
        match inner {
            Some(q) if q.as_rule() == Rule::quoted_ident => {
                let s = q.as_str();
                Ident { name: s[1..s.len() - 1].replace("``", "`"), quoted: true, span }
            }
            Some(q) => Ident { name: q.as_str().to_string(), quoted: false, span },
            None => Ident { name: String::new(), quoted: false, span },
        }
    }

    /// A bare word (function name) as an identifier.
    fn word_ident(&self, p: &P<'_>) -> Ident {
        Ident { name: p.as_str().to_string(), quoted: false, span: self.span(p) }
    }

    fn ident_list(&self, p: P<'_>) -> Vec<Ident> {
        p.into_inner().filter(|p| p.as_rule() == Rule::ident).map(|i| self.ident(i)).collect()
    }

    fn object_name(&self, p: P<'_>) -> ObjectName {
        let span = self.span(&p);
        ObjectName { parts: self.ident_list(p), span }
    }

    fn str_lit(&self, p: P<'_>) -> StrLit {
        let span = self.span(&p);
        let s = p.as_str();
        StrLit { value: s[1..s.len() - 1].replace("''", "'"), span }
    }
}

/// The unit named by a `time_unit` token (plural or not, any case).
fn time_unit(word: &str) -> TimeUnit {
    let w = word.to_ascii_lowercase();
    let w = w.strip_suffix('s').unwrap_or(&w);
    match w {
        "nanosecond" => TimeUnit::Nanosecond,
        "microsecond" => TimeUnit::Microsecond,
        "millisecond" => TimeUnit::Millisecond,
        "second" => TimeUnit::Second,
        "minute" => TimeUnit::Minute,
        "hour" => TimeUnit::Hour,
        "day" => TimeUnit::Day,
        "week" => TimeUnit::Week,
        "month" => TimeUnit::Month,
        "quarter" => TimeUnit::Quarter,
        "year" => TimeUnit::Year,
        "decade" => TimeUnit::Decade,
        "century" => TimeUnit::Century,
        "millennium" => TimeUnit::Millennium,
        "epoch" => TimeUnit::Epoch,
        "dow" => TimeUnit::Dow,
        "doy" => TimeUnit::Doy,
        "isodow" => TimeUnit::IsoDow,
        _ => TimeUnit::IsoYear,
    }
}
