//! `ast`: the syntax tree of a query file, exactly as written, with spans.
//!
//! Produced by [`crate::parse`]; nothing here is resolved or typed. Every node that a
//! diagnostic may point at carries a [`Span`]. `Display` (in `print.rs`) prints a node
//! back as SQL that parses to the same tree.

mod print;

use crate::span::Span;

/// A parsed query file: its statements in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub statements: Vec<Statement>,
}

/// An identifier as written: its name (unquoted; case kept), and whether it was quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

/// A possibly qualified name: `catalog.db.table`, `t.col`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectName {
    pub parts: Vec<Ident>,
    pub span: Span,
}

impl ObjectName {
    /// The last part: the object's own name.
    pub fn base(&self) -> &Ident {
        self.parts.last().expect("an object name has at least one part")
    }
}

/// A string literal: its value (with `''` unescaped) and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StatementKind {
    CreateTable(CreateTable),
    CreateView(CreateView),
    CreateFunction(CreateFunction),
    Insert(Insert),
    /// `EXECUTE STATEMENT SET BEGIN … END` or `BEGIN STATEMENT SET; … END;`.
    StatementSet(Vec<Insert>),
    /// `SET 'key' = 'value'`; `SET` alone lists options (`None`).
    Set(Option<(StrLit, StrLit)>),
    /// `RESET 'key'`; `RESET` alone resets all (`None`).
    Reset(Option<StrLit>),
    /// A bare query (Flink's SQL client prints its result).
    Query(Query),
    /// A statement Flink has and dflc does not (`DROP`, `ALTER`, `USE`, …).
    Unsupported {
        keyword: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub name: ObjectName,
    pub temporary: bool,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    pub watermark: Vec<Watermark>,
    pub primary_key: Vec<PrimaryKey>,
    pub comment: Option<StrLit>,
    pub partitioned_by: Vec<Ident>,
    pub options: Vec<TableOption>,
    /// `LIKE other (…)`: recognised, not supported.
    pub like: Option<ObjectName>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: Ident,
    pub kind: ColumnKind,
    pub comment: Option<StrLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    Physical { ty: DataType, not_null: bool },
    Computed { expr: Expr },
    Metadata { ty: DataType, key: Option<StrLit>, is_virtual: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    pub column: Ident,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryKey {
    pub columns: Vec<Ident>,
    pub not_enforced: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableOption {
    pub key: StrLit,
    pub value: StrLit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateView {
    pub name: ObjectName,
    pub temporary: bool,
    pub if_not_exists: bool,
    pub columns: Vec<Ident>,
    pub query: Query,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateFunction {
    pub name: ObjectName,
    pub temporary: bool,
    pub system: bool,
    pub if_not_exists: bool,
    /// The implementation: a Java class name in Flink, a Rust path in dflc.
    pub class: StrLit,
    pub language: Option<Ident>,
    pub jars: Vec<StrLit>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: ObjectName,
    pub overwrite: bool,
    pub partition: Vec<(Ident, Expr)>,
    pub columns: Vec<Ident>,
    pub query: Query,
    pub span: Span,
}

// ---------------------------------------------------------------------------------
// Queries

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub with: Vec<Cte>,
    pub body: SetExpr,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    pub name: Ident,
    pub columns: Vec<Ident>,
    pub query: Query,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetExpr {
    Select(Box<Select>),
    Values { rows: Vec<Vec<Expr>>, span: Span },
    Query(Box<Query>),
    SetOp { op: SetOp, all: bool, left: Box<SetExpr>, right: Box<SetExpr>, span: Span },
}

impl SetExpr {
    pub fn span(&self) -> Span {
        match self {
            SetExpr::Select(s) => s.span,
            SetExpr::Values { span, .. } | SetExpr::SetOp { span, .. } => *span,
            SetExpr::Query(q) => q.span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Intersect,
    Except,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub distinct: bool,
    pub items: Vec<SelectItem>,
    pub from: Vec<TableRef>,
    pub selection: Option<Expr>,
    pub group_by: Vec<GroupItem>,
    pub having: Option<Expr>,
    /// `WINDOW w AS (…), …` as written: recognised, not supported.
    pub window_clause: Option<(String, Span)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Expr { expr: Expr, alias: Option<Ident> },
    Wildcard(Span),
    QualifiedWildcard(ObjectName),
}

#[derive(Debug, Clone, PartialEq)]
pub enum GroupItem {
    Expr(Expr),
    /// `()`: the grand total.
    Empty(Span),
    /// `GROUPING SETS`, `ROLLUP`, `CUBE`: recognised, not supported.
    GroupingSets {
        kind: String,
        exprs: Vec<Expr>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub desc: bool,
    pub nulls_first: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableRef {
    pub kind: TableRefKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableRefKind {
    Named {
        name: ObjectName,
        /// `FOR SYSTEM_TIME AS OF expr`.
        system_time: Option<Expr>,
        alias: Option<TableAlias>,
    },
    Subquery {
        query: Box<Query>,
        alias: Option<TableAlias>,
    },
    /// `TABLE(f(args))`: a window TVF (`TUMBLE`, `HOP`, `CUMULATE`, `SESSION`) or another table function.
    Function {
        name: Ident,
        args: Vec<TvfArg>,
        alias: Option<TableAlias>,
    },
    /// `LATERAL …`, `UNNEST(…)`, `… MATCH_RECOGNIZE (…)`: recognised, not supported;
    /// kept as written (alias included) so that printing loses nothing.
    Unsupported {
        feature: String,
        text: String,
    },
    Join {
        kind: JoinKind,
        natural: bool,
        left: Box<TableRef>,
        right: Box<TableRef>,
        constraint: JoinConstraint,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableAlias {
    pub name: Ident,
    pub columns: Vec<Ident>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JoinConstraint {
    On(Expr),
    Using(Vec<Ident>),
    None,
}

/// An argument of a table function, possibly named (`SIZE => INTERVAL '1' MINUTE`).
#[derive(Debug, Clone, PartialEq)]
pub struct TvfArg {
    pub name: Option<Ident>,
    pub value: TvfArgValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TvfArgValue {
    /// `TABLE t [PARTITION BY …]` or `TABLE (subquery) …`.
    Table {
        source: TvfTable,
        partition_by: Vec<Expr>,
    },
    /// `DESCRIPTOR(col, …)`.
    Descriptor(Vec<Ident>),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TvfTable {
    Named(ObjectName),
    Query(Box<Query>),
}

// ---------------------------------------------------------------------------------
// Expressions

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ExprKind {
    Literal(Literal),
    /// `a`, `t.a`, `t.a.field`: resolved later (qualifier, column, ROW fields).
    Identifier(Vec<Ident>),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `expr IS [NOT] NULL|TRUE|FALSE|UNKNOWN`.
    Is {
        expr: Box<Expr>,
        test: IsTest,
        negated: bool,
    },
    /// `a IS [NOT] DISTINCT FROM b`.
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
        symmetric: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSubquery {
        expr: Box<Expr>,
        query: Box<Query>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<StrLit>,
        negated: bool,
        similar: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        ty: DataType,
        try_: bool,
    },
    Extract {
        unit: TimeUnit,
        expr: Box<Expr>,
    },
    /// `FLOOR(ts TO unit)` / `CEIL(ts TO unit)`.
    FloorCeil {
        ceil: bool,
        expr: Box<Expr>,
        unit: TimeUnit,
    },
    Trim {
        side: TrimSide,
        chars: Option<Box<Expr>>,
        expr: Box<Expr>,
    },
    Substring {
        expr: Box<Expr>,
        from: Box<Expr>,
        len: Option<Box<Expr>>,
    },
    Position {
        needle: Box<Expr>,
        haystack: Box<Expr>,
    },
    Function(Box<FunctionCall>),
    /// `(expr).field` on something other than a plain identifier.
    Field {
        expr: Box<Expr>,
        field: Ident,
    },
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    Row(Vec<Expr>),
    Array(Vec<Expr>),
    Map(Vec<Expr>),
    Exists(Box<Query>),
    Subquery(Box<Query>),
    /// `(expr)`, kept so that printing keeps the user's grouping.
    Nested(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// A number as written (`42`, `1.5`, `2e3`).
    Number(String),
    String(String),
    /// `X'0AFF'`: the hex digits.
    Binary(String),
    Date(String),
    Time(String),
    Timestamp(String),
    TimestampLtz(String),
    Interval(IntervalLiteral),
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntervalLiteral {
    pub negative: bool,
    /// The text between the quotes (or the bare number).
    pub value: String,
    pub quoted: bool,
    pub unit: TimeUnit,
    pub precision: Option<u32>,
    /// `… TO unit` for ranges like `DAY TO SECOND`.
    pub to: Option<TimeUnit>,
}

/// A unit of time as written in INTERVAL, EXTRACT, FLOOR/CEIL … TO (smallest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeUnit {
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Epoch,
    Dow,
    Doy,
    IsoDow,
    IsoYear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsTest {
    Null,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimSide {
    Both,
    Leading,
    Trailing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Concat,
    Plus,
    Minus,
    Multiply,
    Divide,
    Modulo,
}

impl BinaryOp {
    /// The operator as written in SQL (and named in the HIR).
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "OR",
            And => "AND",
            Eq => "=",
            NotEq => "<>",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            Concat => "||",
            Plus => "+",
            Minus => "-",
            Multiply => "*",
            Divide => "/",
            Modulo => "%",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    pub name: Ident,
    pub distinct: bool,
    /// `COUNT(*)`.
    pub star: bool,
    pub args: Vec<Expr>,
    pub filter: Option<Expr>,
    pub over: Option<Over>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Over {
    Window(WindowSpec),
    /// `OVER w`: a named window (recognised, not supported).
    Named(Ident),
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<OrderItem>,
    pub frame: Option<Frame>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub rows: bool,
    pub start: FrameBound,
    /// `None` for the one-bound form (`ROWS 5 PRECEDING`), which ends at CURRENT ROW.
    pub end: Option<FrameBound>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FrameBound {
    UnboundedPreceding,
    UnboundedFollowing,
    CurrentRow,
    Preceding(Box<Expr>),
    Following(Box<Expr>),
}

// ---------------------------------------------------------------------------------
// Types

/// A type as written; its name is checked during resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct DataType {
    pub kind: DataTypeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DataTypeKind {
    /// `INT`, `VARCHAR(10)`, `DECIMAL(10, 2)`, `TIMESTAMP(3) WITH LOCAL TIME ZONE`, `DOUBLE PRECISION`.
    Named {
        name: String,
        suffix: Option<String>,
        params: Vec<u64>,
        time_zone: Option<TimeZoneSpec>,
    },
    Row(Vec<RowField>),
    Array {
        element: Box<DataType>,
        not_null: bool,
    },
    Multiset {
        element: Box<DataType>,
        not_null: bool,
    },
    Map {
        key: Box<DataType>,
        key_not_null: bool,
        value: Box<DataType>,
        value_not_null: bool,
    },
    Interval {
        unit: TimeUnit,
        to: Option<TimeUnit>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZoneSpec {
    WithLocal,
    Without,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowField {
    pub name: Ident,
    pub ty: DataType,
    pub not_null: bool,
    pub comment: Option<StrLit>,
}

impl Expr {
    /// The expressions directly inside this one (not those inside subqueries).
    pub fn children(&self) -> Vec<&Expr> {
        use ExprKind::*;
        match &self.kind {
            Literal(_) | Identifier(_) | Exists(_) | Subquery(_) => Vec::new(),
            Unary { expr, .. }
            | Is { expr, .. }
            | Cast { expr, .. }
            | Extract { expr, .. }
            | FloorCeil { expr, .. }
            | Field { expr, .. }
            | InSubquery { expr, .. }
            | Nested(expr) => vec![expr],
            Binary { left, right, .. } | IsDistinctFrom { left, right, .. } => vec![left, right],
            Between { expr, low, high, .. } => vec![expr, low, high],
            InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
            Like { expr, pattern, .. } => vec![expr, pattern],
            Case { operand, whens, else_ } => operand
                .as_deref()
                .into_iter()
                .chain(whens.iter().flat_map(|(w, t)| [w, t]))
                .chain(else_.as_deref())
                .collect(),
            Trim { chars, expr, .. } => chars.as_deref().into_iter().chain([&**expr]).collect(),
            Substring { expr, from, len } => [&**expr, &**from].into_iter().chain(len.as_deref()).collect(),
            Position { needle, haystack } => vec![needle, haystack],
            Function(f) => f.args.iter().chain(f.filter.as_ref()).collect(),
            Index { expr, index } => vec![expr, index],
            Row(items) | Array(items) | Map(items) => items.iter().collect(),
        }
    }
}

/// Whether two expressions are the same as written, ignoring where they stand.
pub fn same_expr(a: &Expr, b: &Expr) -> bool {
    strip_spans(&format!("{a:?}")) == strip_spans(&format!("{b:?}"))
}

/// Removes the `@start..end` that spans print as in `Debug` output.
pub fn strip_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut chars = debug.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '@' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(|c| c.is_ascii_digit() || *c == '.') {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}
