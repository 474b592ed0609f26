//! `hir`: the resolved, typed program. Names are bound (columns are positions in their
//! input), every expression has a type, views are expanded, and each query is a tree of
//! relational operators ([`Rel`]) with a typed output schema.
//!
//! Produced by [`crate::resolve`]; `Display` (in `display.rs`) prints it for snapshots and
//! `dflc check --emit hir`.

mod display;

use crate::ast::{JoinKind, TimeUnit};
use crate::span::Span;
use crate::types::Type;
use std::collections::BTreeMap;

/// A whole resolved file.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// `SET` options in effect at the end of the file.
    pub settings: BTreeMap<String, String>,
    pub tables: Vec<Table>,
    /// Each INSERT (statement sets are flattened), in file order.
    pub inserts: Vec<InsertPlan>,
}

/// An index into [`Program::tables`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(pub usize);

/// A `CREATE TABLE`: schema, event time, keys and connector.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub watermark: Option<WatermarkSpec>,
    /// Positions in `columns`.
    pub primary_key: Vec<usize>,
    pub partitioned_by: Vec<usize>,
    pub connector: String,
    /// All options as written (legacy `connector.*` keys already mapped), `connector` included.
    pub options: BTreeMap<String, String>,
    pub span: Span,
}

impl Table {
    /// Whether reading the table gives a changelog (updates and deletes by primary key, as
    /// a compacted `upsert-kafka` topic does) rather than appended rows.
    pub fn is_changelog_source(&self) -> bool {
        self.connector == "upsert-kafka"
    }

    /// Columns a source reads (physical) or a sink writes (physical and non-virtual metadata).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The schema a query sees when it reads the table.
    pub fn schema(&self) -> Vec<Field> {
        self.columns
            .iter()
            .map(|c| Field { name: c.name.clone(), ty: c.ty.clone(), time: c.time, window: None })
            .collect()
    }

    /// Positions of the columns an INSERT writes: all but computed and virtual metadata ones.
    pub fn writable_columns(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| match &self.columns[i].kind {
                ColumnKind::Physical => true,
                ColumnKind::Metadata { is_virtual, .. } => !is_virtual,
                ColumnKind::Computed(_) => false,
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: Type,
    pub kind: ColumnKind,
    pub time: Option<TimeAttribute>,
    /// Where the column is declared.
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ColumnKind {
    Physical,
    /// `name AS expr`, over the table's earlier columns.
    Computed(Expr),
    Metadata {
        key: String,
        is_virtual: bool,
    },
}

/// `WATERMARK FOR column AS expr`.
#[derive(Debug, Clone)]
pub struct WatermarkSpec {
    pub column: usize,
    pub expr: Expr,
    /// For the common `col - INTERVAL 'n' unit` form: the bound in milliseconds.
    pub max_out_of_orderness_ms: Option<i64>,
}

/// Whether a column carries event time (with a watermark) or processing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeAttribute {
    Rowtime,
    Proctime,
}

/// A column of a relation's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    pub time: Option<TimeAttribute>,
    /// Set on the `window_start` / `window_end` columns of a window TVF, and kept
    /// through projections and renames, so that GROUP BY and joins recognise them.
    pub window: Option<WindowBound>,
}

/// Which bound of a window a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowBound {
    Start,
    End,
}

/// `INSERT INTO table SELECT …`: the query's columns go to `columns` of the table, in order.
#[derive(Debug, Clone)]
pub struct InsertPlan {
    pub table: TableId,
    pub columns: Vec<usize>,
    pub query: Rel,
    pub span: Span,
}

// ---------------------------------------------------------------------------------
// Relational operators

/// A relational operator and its output schema.
#[derive(Debug, Clone)]
pub struct Rel {
    pub kind: RelKind,
    pub schema: Vec<Field>,
    /// Whether the output only ever appends rows (false: it updates earlier results).
    pub append_only: bool,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum RelKind {
    /// Reading a table; `lookup` for the right side of a processing-time temporal join.
    Scan {
        table: TableId,
        name: String,
    },
    Values {
        rows: Vec<Vec<Expr>>,
    },
    Filter {
        input: Box<Rel>,
        predicate: Expr,
    },
    Project {
        input: Box<Rel>,
        exprs: Vec<Expr>,
    },
    /// A window table function: the input's columns plus `window_start`, `window_end`,
    /// `window_time`.
    Window {
        input: Box<Rel>,
        window: WindowKind,
        time_column: usize,
    },
    Aggregate(Box<Aggregate>),
    Join(Box<Join>),
    /// OVER aggregates and ranking: the input's columns plus one per call.
    Over {
        input: Box<Rel>,
        calls: Vec<OverCall>,
    },
    Union {
        inputs: Vec<Rel>,
    },
    /// ORDER BY … [LIMIT n] / LIMIT n.
    Sort {
        input: Box<Rel>,
        keys: Vec<SortKey>,
        limit: Option<u64>,
        offset: Option<u64>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum WindowKind {
    Tumble {
        size_ms: i64,
        offset_ms: i64,
    },
    Hop {
        slide_ms: i64,
        size_ms: i64,
        offset_ms: i64,
    },
    Cumulate {
        step_ms: i64,
        size_ms: i64,
        offset_ms: i64,
    },
    /// Gaps split sessions per partition key (input column positions).
    Session {
        gap_ms: i64,
        partition_by: Vec<usize>,
    },
}

/// GROUP BY: output is the grouping expressions, then (for legacy group windows) the
/// window's start, end and time, then the aggregates.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub input: Rel,
    pub group_by: Vec<Expr>,
    pub aggregates: Vec<AggregateCall>,
    /// How state is bounded.
    pub windowing: Windowing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Windowing {
    /// A plain GROUP BY: one result per group, updated forever.
    None,
    /// Grouped by `window_start` and `window_end` of a window TVF (positions in group_by).
    Tvf { start: usize, end: usize },
    /// Legacy `GROUP BY TUMBLE(ts, …)`: the window, over input column `time_column`.
    Group { window: WindowKind, time_column: usize },
}

#[derive(Debug, Clone)]
pub struct AggregateCall {
    pub function: String,
    pub args: Vec<Expr>,
    pub distinct: bool,
    pub filter: Option<Expr>,
    pub ty: Type,
    /// A Rust aggregate function (`function` is then the name it was created under).
    pub rust: Option<RustAggregateCall>,
}

/// The Rust type implementing an aggregate function, and its optional methods.
#[derive(Debug, Clone, PartialEq)]
pub struct RustAggregateCall {
    /// `crate::udfs::WeightedAvg`.
    pub path: String,
    /// Whether it can retract (aggregate an updating input).
    pub retracts: bool,
    /// Whether it can merge (SESSION windows, shared slices of HOP/CUMULATE windows).
    pub merges: bool,
    /// The call, for messages.
    pub span: crate::span::Span,
}

#[derive(Debug, Clone)]
pub struct Join {
    pub left: Rel,
    pub right: Rel,
    pub kind: JoinKind,
    /// Over the left columns followed by the right columns.
    pub condition: Option<Expr>,
    pub join_type: JoinType,
}

/// How a join keeps its state.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinType {
    /// Both sides kept forever (or until the state TTL).
    Regular,
    /// Rows join only within time bounds between the two sides' event times.
    Interval,
    /// Both inputs are windowed and joined on their windows.
    Window,
    /// `FOR SYSTEM_TIME AS OF left.time`: versioned (event time) or lookup (processing time).
    Temporal { time: TimeAttribute, left_time_column: usize },
}

#[derive(Debug, Clone)]
pub struct OverCall {
    pub function: String,
    pub args: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<SortKey>,
    pub frame: Option<OverFrame>,
    pub ty: Type,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverFrame {
    pub rows: bool,
    /// Rows (or milliseconds for RANGE) before the current row; `None` = unbounded.
    pub preceding: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: Expr,
    pub desc: bool,
    pub nulls_first: bool,
}

// ---------------------------------------------------------------------------------
// Expressions

/// A typed scalar expression over the columns of its input.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// The input column at this position.
    Column(usize),
    Literal(Value),
    /// An operator or built-in function, by its upper-case name (`+`, `=`, `AND`,
    /// `IS NULL`, `LIKE`, `UPPER`, …).
    Call {
        function: String,
        args: Vec<Expr>,
    },
    Cast {
        expr: Box<Expr>,
        try_: bool,
    },
    Case {
        whens: Vec<(Expr, Expr)>,
        else_: Option<Box<Expr>>,
    },
    /// A field of a ROW value, by position.
    Field {
        expr: Box<Expr>,
        index: usize,
    },
    /// `EXTRACT(unit FROM e)`, `FLOOR(e TO unit)`, `CEIL(e TO unit)`.
    TimeUnitCall {
        function: String,
        unit: TimeUnit,
        expr: Box<Expr>,
    },
    /// A call of a user-defined function; `path` is the Rust function implementing it.
    Udf {
        name: String,
        path: String,
        args: Vec<Expr>,
    },
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    /// Integers and decimals as written (exact).
    Number(String),
    String(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since midnight.
    Time(i64),
    /// Milliseconds since the epoch (TIMESTAMP: as if UTC).
    Timestamp(i64),
    IntervalMs(i64),
    IntervalMonths(i64),
}

impl Expr {
    pub fn column(index: usize, ty: Type) -> Self {
        Expr { kind: ExprKind::Column(index), ty }
    }

    pub fn call(function: impl Into<String>, args: Vec<Expr>, ty: Type) -> Self {
        Expr { kind: ExprKind::Call { function: function.into(), args }, ty }
    }

    /// The expression with every column index lowered by `by` (an expression over the
    /// right side of a join, re-based onto that side alone).
    pub fn shifted_down(&self, by: usize) -> Expr {
        let mut e = self.clone();
        e.visit_columns(&mut |c| *c -= by);
        e
    }

    fn visit_columns(&mut self, f: &mut impl FnMut(&mut usize)) {
        match &mut self.kind {
            ExprKind::Column(i) => f(i),
            ExprKind::Literal(_) => {}
            ExprKind::Call { args, .. } | ExprKind::Udf { args, .. } => {
                args.iter_mut().for_each(|a| a.visit_columns(f))
            }
            ExprKind::Cast { expr, .. } | ExprKind::Field { expr, .. } | ExprKind::TimeUnitCall { expr, .. } => {
                expr.visit_columns(f)
            }
            ExprKind::Case { whens, else_ } => {
                for (w, t) in whens {
                    w.visit_columns(f);
                    t.visit_columns(f);
                }
                if let Some(e) = else_ {
                    e.visit_columns(f);
                }
            }
        }
    }

    /// The expression over the input of a projection whose output it reads: each column
    /// `i` replaced by `columns[i]`.
    pub fn substituted(&self, columns: &[Expr]) -> Expr {
        let sub = |e: &Expr| e.substituted(columns);
        let kind = match &self.kind {
            ExprKind::Column(i) => return columns.get(*i).cloned().unwrap_or_else(|| self.clone()),
            ExprKind::Literal(_) => return self.clone(),
            ExprKind::Call { function, args } => {
                ExprKind::Call { function: function.clone(), args: args.iter().map(sub).collect() }
            }
            ExprKind::Udf { name, path, args } => {
                ExprKind::Udf { name: name.clone(), path: path.clone(), args: args.iter().map(sub).collect() }
            }
            ExprKind::Cast { expr, try_ } => ExprKind::Cast { expr: Box::new(sub(expr)), try_: *try_ },
            ExprKind::Field { expr, index } => ExprKind::Field { expr: Box::new(sub(expr)), index: *index },
            ExprKind::TimeUnitCall { function, unit, expr } => {
                ExprKind::TimeUnitCall { function: function.clone(), unit: *unit, expr: Box::new(sub(expr)) }
            }
            ExprKind::Case { whens, else_ } => ExprKind::Case {
                whens: whens.iter().map(|(w, t)| (sub(w), sub(t))).collect(),
                else_: else_.as_ref().map(|e| Box::new(sub(e))),
            },
        };
        Expr { kind, ty: self.ty.clone() }
    }

    /// Every input column the expression reads.
    pub fn columns(&self, out: &mut Vec<usize>) {
        match &self.kind {
            ExprKind::Column(i) => out.push(*i),
            ExprKind::Literal(_) => {}
            ExprKind::Call { args, .. } | ExprKind::Udf { args, .. } => args.iter().for_each(|a| a.columns(out)),
            ExprKind::Cast { expr, .. } | ExprKind::Field { expr, .. } | ExprKind::TimeUnitCall { expr, .. } => {
                expr.columns(out)
            }
            ExprKind::Case { whens, else_ } => {
                for (w, t) in whens {
                    w.columns(out);
                    t.columns(out);
                }
                if let Some(e) = else_ {
                    e.columns(out);
                }
            }
        }
    }
}
