//! Folding an expression's flat sequence of operands and operators into a tree, by
//! precedence, with explicit stacks: no recursion, so a long chain of operators cannot
//! overflow the stack, and the tree's depth is bounded as it is built.

use crate::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// The deepest expression tree accepted; deeper ones get [`Code::TooComplex`].
pub const MAX_EXPR_DEPTH: usize = 200;

/// One element of the flat sequence, as the converter hands it over.
pub enum Item {
    Operand(Expr),
    Prefix(UnaryOp, Span),
    Infix(BinaryOp, Span),
    /// A postfix operator: it wraps the operand to its left (`IS NULL`, `BETWEEN …`,
    /// `.field`). The closure builds the node from that operand.
    Postfix(Postfix, Span),
}

pub struct Postfix {
    pub precedence: u8,
    pub build: Box<dyn FnOnce(Expr) -> ExprKind>,
}

/// Binding strength, weakest first (as PostgreSQL orders them).
pub mod prec {
    pub const OR: u8 = 1;
    pub const AND: u8 = 2;
    pub const NOT: u8 = 3;
    pub const IS: u8 = 4;
    pub const COMPARISON: u8 = 5;
    pub const PREDICATE: u8 = 6; // BETWEEN, IN, LIKE
    pub const CONCAT: u8 = 7;
    pub const ADDITIVE: u8 = 8;
    pub const MULTIPLICATIVE: u8 = 9;
    pub const UNARY: u8 = 10;
    pub const ACCESS: u8 = 11;
}

pub fn infix_precedence(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        Or => prec::OR,
        And => prec::AND,
        Eq | NotEq | Lt | LtEq | Gt | GtEq => prec::COMPARISON,
        Concat => prec::CONCAT,
        Plus | Minus => prec::ADDITIVE,
        Multiply | Divide | Modulo => prec::MULTIPLICATIVE,
    }
}

fn prefix_precedence(op: UnaryOp) -> u8 {
    match op {
        UnaryOp::Not => prec::NOT,
        UnaryOp::Neg | UnaryOp::Plus => prec::UNARY,
    }
}

enum Op {
    Prefix(UnaryOp, Span),
    Infix(BinaryOp, Span),
}

impl Op {
    fn precedence(&self) -> u8 {
        match self {
            Op::Prefix(op, _) => prefix_precedence(*op),
            Op::Infix(op, _) => infix_precedence(*op),
        }
    }
}

/// Folds `items` (operand, operator, operand, … as the grammar guarantees) into one tree.
pub fn fold(items: Vec<Item>) -> Result<Expr, Diagnostic> {
    let mut operands: Vec<(Expr, usize)> = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    for item in items {
        match item {
            Item::Operand(e) => {
                let depth = depth_hint(&e);
                operands.push((e, depth));
            }
            Item::Prefix(op, span) => ops.push(Op::Prefix(op, span)),
            Item::Infix(op, span) => {
                let p = infix_precedence(op);
                // All infix operators are left-associative.
                while ops.last().is_some_and(|top| top.precedence() >= p) {
                    apply(&mut operands, ops.pop().expect("checked above"))?;
                }
                ops.push(Op::Infix(op, span));
            }
            Item::Postfix(postfix, span) => {
                while ops.last().is_some_and(|top| top.precedence() > postfix.precedence) {
                    apply(&mut operands, ops.pop().expect("checked above"))?;
                }
                let (operand, depth) = pop(&mut operands)?;
                let expr = Expr { span: operand.span.to(span), kind: (postfix.build)(operand) };
                operands.push((expr, check_depth(depth + 1, span)?));
            }
        }
    }
    while let Some(op) = ops.pop() {
        apply(&mut operands, op)?;
    }
    let (expr, _) = pop(&mut operands)?;
    if !operands.is_empty() {
        return Err(Diagnostic::internal("expression folding left operands over"));
    }
    Ok(expr)
}

fn pop(operands: &mut Vec<(Expr, usize)>) -> Result<(Expr, usize), Diagnostic> {
    operands.pop().ok_or_else(|| Diagnostic::internal("expression folding ran out of operands"))
}

fn apply(operands: &mut Vec<(Expr, usize)>, op: Op) -> Result<(), Diagnostic> {
    match op {
        Op::Prefix(op, span) => {
            let (e, depth) = pop(operands)?;
            let span = span.to(e.span);
            let depth = check_depth(depth + 1, span)?;
            operands.push((Expr { kind: ExprKind::Unary { op, expr: Box::new(e) }, span }, depth));
        }
        Op::Infix(op, op_span) => {
            let (right, rd) = pop(operands)?;
            let (left, ld) = pop(operands)?;
            let span = left.span.to(right.span);
            let depth = check_depth(ld.max(rd) + 1, op_span)?;
            let kind = ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) };
            operands.push((Expr { kind, span }, depth));
        }
    }
    Ok(())
}

fn check_depth(depth: usize, span: Span) -> Result<usize, Diagnostic> {
    if depth > MAX_EXPR_DEPTH {
        return Err(Diagnostic::error(
            Code::TooComplex,
            format!("expression is nested deeper than {MAX_EXPR_DEPTH} levels"),
        )
        .at(span, "too deep here")
        .with_help("split the expression, or compute parts of it in a view"));
    }
    Ok(depth)
}

/// The depth an operand brings with it. Operands built by the converter are bounded by
/// the bracket-nesting limit, so a cheap upper estimate suffices.
fn depth_hint(e: &Expr) -> usize {
    match &e.kind {
        ExprKind::Nested(inner) => 1 + depth_hint(inner),
        ExprKind::Unary { expr, .. } => 1 + depth_hint(expr),
        ExprKind::Binary { left, right, .. } => 1 + depth_hint(left).max(depth_hint(right)),
        _ => 1,
    }
}
