//! Typed HIR expressions → straight-line Rust over `Option` values, calling the runtime's
//! operators (`rt::ops`) and functions (`rt::fns`). Implicit widening the resolver
//! allowed is made explicit here, so every runtime call sees operands of one type.

use super::functions::{Param, Params, regex_fn, rust_fn_arity};
use super::rows::RowTypes;
use crate::ast::TimeUnit;
use crate::hir::{Expr, ExprKind, Value};
use crate::types::{MAX_LENGTH, Type, TypeKind, common_type};
use proc_macro2::TokenStream;
use quote::quote;

/// Generates code for expressions over one input: `frame[i]` names the place (of type
/// `Option<T>`) holding column `i`; it is cloned where its value is used, and borrowed
/// for field access, so that reading one field of a ROW never copies the ROW.
pub struct ExprGen<'a> {
    pub rows: &'a mut RowTypes,
    pub frame: &'a [TokenStream],
}

/// Why an expression cannot be generated.
pub type GenError = String;

fn lit_i128(v: i128) -> TokenStream {
    let l = proc_macro2::Literal::i128_unsuffixed(v);
    quote!(#l)
}

impl ExprGen<'_> {
    /// Code of type `Option<T>` for `e`.
    pub fn expr(&mut self, e: &Expr) -> Result<TokenStream, GenError> {
        Ok(match &e.kind {
            ExprKind::Column(i) => {
                let place = self.frame.get(*i).ok_or_else(|| format!("column ${i} outside the input"))?;
                quote!(#place.clone())
            }
            ExprKind::Literal(v) => self.literal(v, &e.ty)?,
            ExprKind::Cast { expr, try_: _ } => {
                let inner = self.expr(expr)?;
                self.cast(inner, &expr.ty, &e.ty, true)?
            }
            ExprKind::Case { whens, else_ } => {
                let mut code = match else_ {
                    Some(x) => {
                        let v = self.expr(x)?;
                        self.cast(v, &x.ty, &e.ty, false)?
                    }
                    None => quote!(None),
                };
                for (cond, then) in whens.iter().rev() {
                    let c = self.expr(cond)?;
                    let t = self.expr(then)?;
                    let t = self.cast(t, &then.ty, &e.ty, false)?;
                    code = quote!(if rt::ops::is_true(#c) { #t } else { #code });
                }
                quote!({ #code })
            }
            ExprKind::Field { expr, index } => match self.borrowed(e)? {
                Some(place) => quote!(#place.cloned()),
                None => {
                    let TypeKind::Row(fields) = &expr.ty.kind else {
                        return Err("field access on a value that is not a ROW".into());
                    };
                    let inner = self.expr(expr)?;
                    let f = RowTypes::field_of(fields, *index);
                    quote!(#inner.and_then(|r| r.#f))
                }
            },
            ExprKind::TimeUnitCall { function, unit, expr } => self.time_unit(function, *unit, expr)?,
            ExprKind::Udf { name, path, args } => {
                let args = args.iter().map(|a| self.expr(a)).collect::<Result<Vec<_>, _>>()?;
                let f: TokenStream = path.parse().map_err(|_| format!("the function {name}"))?;
                quote!(#f(#(#args),*))
            }
            ExprKind::Call { function, args } => self.call(function, args, &e.ty)?,
        })
    }

    /// Code of type `Option<&T>` for a column or a field path of one, without copying.
    fn borrowed(&mut self, e: &Expr) -> Result<Option<TokenStream>, GenError> {
        Ok(match &e.kind {
            ExprKind::Column(i) => {
                let place = self.frame.get(*i).ok_or_else(|| format!("column ${i} outside the input"))?;
                Some(quote!(#place.as_ref()))
            }
            ExprKind::Field { expr, index } => {
                let TypeKind::Row(fields) = &expr.ty.kind else {
                    return Err("field access on a value that is not a ROW".into());
                };
                let f = RowTypes::field_of(fields, *index);
                self.borrowed(expr)?.map(|inner| quote!(#inner.and_then(|r| r.#f.as_ref())))
            }
            _ => None,
        })
    }

    fn literal(&mut self, v: &Value, ty: &Type) -> Result<TokenStream, GenError> {
        Ok(match v {
            Value::Null => quote!(None),
            Value::Boolean(b) => quote!(Some(#b)),
            Value::Number(n) => match &ty.kind {
                TypeKind::TinyInt | TypeKind::SmallInt | TypeKind::Int | TypeKind::BigInt => {
                    let v: i64 = n.parse().map_err(|_| format!("bad integer literal {n}"))?;
                    let t = self.rows.rust(ty, "lit");
                    let l = proc_macro2::Literal::i64_unsuffixed(v);
                    quote!(Some(#l as #t))
                }
                TypeKind::Float | TypeKind::Double => {
                    let v: f64 = n.parse().map_err(|_| format!("bad number literal {n}"))?;
                    let t = self.rows.rust(ty, "lit");
                    let l = proc_macro2::Literal::f64_unsuffixed(v);
                    quote!(Some(#l as #t))
                }
                TypeKind::Decimal { scale, .. } => {
                    let (int, frac) = n.split_once('.').unwrap_or((n, ""));
                    let digits = format!("{int}{frac:0<width$}", width = *scale as usize);
                    let units: i128 = digits.parse().map_err(|_| format!("bad decimal literal {n}"))?;
                    let u = lit_i128(units);
                    quote!(Some(rt::Decimal::new(#u, #scale)))
                }
                _ => return Err(format!("number literal of type {ty}")),
            },
            Value::String(s) => {
                if s.len() <= 23 {
                    quote!(Some(rt::Str::new_inline(#s)))
                } else {
                    quote!(Some(rt::Str::new_static(#s)))
                }
            }
            Value::Bytes(b) => quote!(Some(vec![#(#b),*])),
            Value::Date(d) => quote!(Some(rt::Date(#d))),
            Value::Time(ms) => {
                let nanos = ms * 1_000_000;
                quote!(Some(rt::Time(#nanos)))
            }
            Value::Timestamp(ms) => {
                let nanos = ms * 1_000_000;
                quote!(Some(rt::Timestamp(#nanos)))
            }
            Value::IntervalMs(ms) => quote!(Some(rt::Interval::Millis(#ms))),
            Value::IntervalMonths(m) => {
                let m = *m as i32;
                quote!(Some(rt::Interval::Months(#m)))
            }
        })
    }

    /// Converts `code` (a value of `from`) to `to`. `explicit`: a CAST, which also cuts
    /// strings to their length and timestamps to their precision.
    pub fn cast(&mut self, code: TokenStream, from: &Type, to: &Type, explicit: bool) -> Result<TokenStream, GenError> {
        use TypeKind::*;
        Ok(match (&from.kind, &to.kind) {
            (Null, _) => quote!(None),
            (Decimal { precision: p1, scale: s1 }, Decimal { precision, scale }) if (p1, s1) == (precision, scale) => {
                code
            }
            (_, Decimal { precision, scale }) => {
                let source = self.rows.rust(from, "cast");
                quote!(rt::ops::cast_decimal::<#source>(#code, #precision, #scale))
            }
            (Char(_) | Varchar(_), Char(n) | Varchar(n)) if !explicit || *n == MAX_LENGTH => code,
            (_, Char(n) | Varchar(n)) if *n != MAX_LENGTH => {
                let source = self.rows.rust(from, "cast");
                quote!(rt::ops::cast_str::<#source>(#code, #n))
            }
            (Timestamp(_) | TimestampLtz(_), Timestamp(p) | TimestampLtz(p)) => {
                if explicit {
                    quote!(rt::ops::truncate_timestamp(#code, #p))
                } else {
                    code
                }
            }
            (a, b) if a == b => code,
            (Time(_), Time(_)) | (IntervalDayTime, IntervalDayTime) | (IntervalYearMonth, IntervalYearMonth) => code,
            (Row(a), Row(b)) if a.len() == b.len() => {
                // Field by field into the target's struct.
                let target = self.rows.row(b, "row");
                let mut inits = Vec::new();
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    let from_f = RowTypes::field_of(a, i);
                    let to_f = RowTypes::field_of(b, i);
                    let v = self.cast(quote!(r.#from_f), &x.ty, &y.ty, explicit)?;
                    inits.push(quote!(#to_f: #v));
                }
                quote!(#code.map(|r| #target { #(#inits),* }))
            }
            (Array(x), Array(y)) | (Multiset(x), Multiset(y)) => {
                let element = self.cast(quote!(e), x, y, explicit)?;
                quote!(#code.map(|v| v.into_iter().map(|e| #element).collect::<Vec<_>>()))
            }
            (Map(xk, xv), Map(yk, yv)) => {
                let key = self.cast(quote!(k), xk, yk, explicit)?;
                let value = self.cast(quote!(v), xv, yv, explicit)?;
                let map = self.rows.rust(from, "cast");
                quote!(#code.map(|m: #map| m.into_iter().map(|(k, v)| (#key, #value)).collect::<Vec<_>>()))
            }
            (Row(_) | Array(_) | Map(..) | Multiset(_), _) | (_, Row(_) | Array(_) | Map(..) | Multiset(_)) => {
                return Err(format!("casting {from} to {to}"));
            }
            _ => {
                let source = self.rows.rust(from, "cast");
                let target = self.rows.rust(to, "cast");
                quote!(rt::ops::cast::<#source, #target>(#code))
            }
        })
    }

    /// Generates `args` converted to one common type (comparisons, IN, BETWEEN).
    fn common_args(&mut self, args: &[Expr]) -> Result<(Vec<TokenStream>, Type), GenError> {
        let mut ty = Type::null();
        for a in args {
            ty = common_type(&ty, &a.ty).ok_or_else(|| format!("no common type of {ty} and {}", a.ty))?;
        }
        // Decimals of different scales compare exactly as they are.
        let mut out = Vec::new();
        for a in args {
            let code = self.expr(a)?;
            out.push(match (&a.ty.kind, &ty.kind) {
                (TypeKind::Decimal { .. }, TypeKind::Decimal { .. }) => code,
                _ => self.cast(code, &a.ty, &ty, false)?,
            });
        }
        Ok((out, ty))
    }

    fn call(&mut self, function: &str, args: &[Expr], ty: &Type) -> Result<TokenStream, GenError> {
        let one = |g: &mut Self, i: usize| g.expr(&args[i]);
        Ok(match function {
            "AND" => {
                let (a, b) = (one(self, 0)?, one(self, 1)?);
                quote!(rt::ops::and(#a, #b))
            }
            "OR" => {
                let (a, b) = (one(self, 0)?, one(self, 1)?);
                quote!(rt::ops::or(#a, #b))
            }
            "NOT" => {
                let a = one(self, 0)?;
                quote!(rt::ops::not(#a))
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                let (v, _) = self.common_args(args)?;
                let (a, b) = (&v[0], &v[1]);
                match function {
                    "=" => quote!(rt::ops::eq(#a, #b)),
                    "<>" => quote!(rt::ops::ne(#a, #b)),
                    "<" => quote!(rt::ops::lt(#a, #b)),
                    "<=" => quote!(rt::ops::le(#a, #b)),
                    ">" => quote!(rt::ops::gt(#a, #b)),
                    _ => quote!(rt::ops::ge(#a, #b)),
                }
            }
            "IS DISTINCT FROM" | "IS NOT DISTINCT FROM" => {
                let (v, _) = self.common_args(args)?;
                let (a, b) = (&v[0], &v[1]);
                if function == "IS DISTINCT FROM" {
                    quote!(rt::ops::distinct(#a, #b))
                } else {
                    quote!(rt::ops::not(rt::ops::distinct(#a, #b)))
                }
            }
            "IS NULL" | "IS UNKNOWN" => {
                let a = one(self, 0)?;
                quote!(Some(#a.is_none()))
            }
            "IS TRUE" => {
                let a = one(self, 0)?;
                quote!(Some(#a == Some(true)))
            }
            "IS FALSE" => {
                let a = one(self, 0)?;
                quote!(Some(#a == Some(false)))
            }
            "BETWEEN" | "NOT BETWEEN" | "BETWEEN SYMMETRIC" | "NOT BETWEEN SYMMETRIC" => {
                let (v, _) = self.common_args(args)?;
                let (x, lo, hi) = (&v[0], &v[1], &v[2]);
                let symmetric = function.ends_with("SYMMETRIC");
                let call = quote!(rt::ops::between(#x, #lo, #hi, #symmetric));
                if function.starts_with("NOT") { quote!(rt::ops::not(#call)) } else { call }
            }
            "IN" | "NOT IN" => {
                let (v, _) = self.common_args(args)?;
                let (x, list) = (&v[0], &v[1..]);
                let call = quote!(rt::ops::in_list(#x, &[#(#list),*]));
                if function == "NOT IN" { quote!(rt::ops::not(#call)) } else { call }
            }
            "LIKE" | "NOT LIKE" => {
                let s = one(self, 0)?;
                let p = one(self, 1)?;
                let escape = match args.get(2).map(|a| &a.kind) {
                    Some(ExprKind::Literal(Value::String(e))) => {
                        let c = e.chars().next().unwrap_or('\\');
                        quote!(Some(#c))
                    }
                    _ => quote!(None),
                };
                let call = quote!(rt::ops::like(#s, #p, #escape));
                if function == "NOT LIKE" { quote!(rt::ops::not(#call)) } else { call }
            }
            "||" => {
                let a = one(self, 0)?;
                let b = one(self, 1)?;
                let a = self.cast(a, &args[0].ty, &Type::string(), false)?;
                let b = self.cast(b, &args[1].ty, &Type::string(), false)?;
                quote!(rt::ops::concat(#a, #b))
            }
            "NEGATE" => {
                let a = one(self, 0)?;
                quote!(rt::ops::neg(#a))
            }
            "+" | "-" | "*" | "/" | "%" => self.arithmetic(function, args, ty)?,
            "PROCTIME" | "NOW" | "CURRENT_TIMESTAMP" | "LOCALTIMESTAMP" | "CURRENT_ROW_TIMESTAMP" => {
                quote!(rt::ops::now())
            }
            "CURRENT_DATE" => quote!(rt::ops::now().map(|t| t.date())),
            "CURRENT_TIME" | "LOCALTIME" => quote!(rt::ops::now().map(|t| t.time())),
            "ROW" => {
                let TypeKind::Row(fields) = &ty.kind else { return Err("ROW(…) of a non-ROW type".into()) };
                let id = self.rows.row(fields, "row");
                let mut inits = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    let f = RowTypes::field_of(fields, i);
                    let v = self.expr(a)?;
                    let v = self.cast(v, &a.ty, &fields[i].ty, false)?;
                    inits.push(quote!(#f: #v));
                }
                quote!(Some(#id { #(#inits),* }))
            }
            "ARRAY" => {
                let TypeKind::Array(el) = &ty.kind else { return Err("ARRAY[…] of a non-ARRAY type".into()) };
                let mut items = Vec::new();
                for a in args {
                    let v = self.expr(a)?;
                    items.push(self.cast(v, &a.ty, el, false)?);
                }
                quote!(Some(vec![#(#items),*]))
            }
            "MAP" => {
                let TypeKind::Map(kt, vt) = &ty.kind else { return Err("MAP[…] of a non-MAP type".into()) };
                let mut entries = Vec::new();
                for pair in args.chunks(2) {
                    let [k, v] = pair else { return Err("MAP[…] with an odd number of arguments".into()) };
                    let (kc, vc) = (self.expr(k)?, self.expr(v)?);
                    let (kc, vc) = (self.cast(kc, &k.ty, kt, false)?, self.cast(vc, &v.ty, vt, false)?);
                    entries.push(quote!((#kc, #vc)));
                }
                // A key given twice keeps its last value (as Flink's MAP constructor).
                quote!(Some(rt::fns::map_of(vec![#(#entries),*])))
            }
            "ITEM" => {
                let x = one(self, 0)?;
                let i = one(self, 1)?;
                match &args[0].ty.kind {
                    TypeKind::Map(kt, _) => {
                        let k = self.cast(i, &args[1].ty, kt, false)?;
                        quote!(rt::fns::map_get(#x, #k))
                    }
                    TypeKind::Array(_) => {
                        let i = self.cast(i, &args[1].ty, &Type::bigint(), false)?;
                        quote!(match (#x, #i) {
                            (Some(v), Some(i)) if i >= 1 => v.get((i - 1) as usize).cloned().flatten(),
                            _ => None,
                        })
                    }
                    _ => return Err("MAP[key] access".into()),
                }
            }
            "TRIM" | "LTRIM" | "RTRIM" if args.len() == 2 => {
                let s = one(self, 0)?;
                let chars = one(self, 1)?;
                let side = match function {
                    "TRIM" => quote!(rt::fns::TrimSide::Both),
                    "LTRIM" => quote!(rt::fns::TrimSide::Leading),
                    _ => quote!(rt::fns::TrimSide::Trailing),
                };
                quote!(rt::fns::trim_chars(#s, #chars, #side))
            }
            "TIMESTAMPADD" | "TIMESTAMPDIFF" => self.timestamp_unit_call(function, args)?,
            name => self.builtin(name, args, ty)?,
        })
    }

    fn arithmetic(&mut self, op: &str, args: &[Expr], ty: &Type) -> Result<TokenStream, GenError> {
        let (l, r) = (&args[0], &args[1]);
        let a = self.expr(l)?;
        let b = self.expr(r)?;
        let opf = match op {
            "+" => quote!(add),
            "-" => quote!(sub),
            "*" => quote!(mul),
            "/" => quote!(div),
            _ => quote!(rem),
        };
        Ok(match (&l.ty.kind, &r.ty.kind, &ty.kind) {
            (
                TypeKind::Timestamp(_) | TypeKind::TimestampLtz(_),
                TypeKind::IntervalDayTime | TypeKind::IntervalYearMonth,
                _,
            ) => {
                if op == "+" {
                    quote!(rt::ops::ts_plus(#a, #b))
                } else {
                    quote!(rt::ops::ts_minus(#a, #b))
                }
            }
            (
                TypeKind::IntervalDayTime | TypeKind::IntervalYearMonth,
                TypeKind::Timestamp(_) | TypeKind::TimestampLtz(_),
                _,
            ) => {
                quote!(rt::ops::ts_plus(#b, #a))
            }
            (TypeKind::Date, TypeKind::IntervalDayTime | TypeKind::IntervalYearMonth, _) => {
                if op == "+" {
                    quote!(rt::ops::date_plus(#a, #b))
                } else {
                    quote!(rt::ops::date_minus(#a, #b))
                }
            }
            (_, _, TypeKind::Decimal { precision, scale }) => {
                let dec = |g: &mut Self, code, t: &Type| -> Result<TokenStream, GenError> {
                    Ok(if matches!(t.kind, TypeKind::Decimal { .. }) {
                        code
                    } else {
                        g.cast(code, t, &Type::new(TypeKind::Decimal { precision: 38, scale: 0 }), false)?
                    })
                };
                let a = dec(self, a, &l.ty)?;
                let b = dec(self, b, &r.ty)?;
                if op == "/" {
                    // Divided to the result's scale directly, not through an intermediate.
                    quote!(rt::ops::decimal_fit(rt::ops::decimal_div(#a, #b, #scale), #precision, #scale))
                } else {
                    quote!(rt::ops::decimal_fit(rt::ops::#opf(#a, #b), #precision, #scale))
                }
            }
            (_, _, k) if k.numeric_rank().is_some() => {
                let a = self.cast(a, &l.ty, ty, false)?;
                let b = self.cast(b, &r.ty, ty, false)?;
                quote!(rt::ops::#opf(#a, #b))
            }
            _ => return Err(format!("`{op}` on {} and {}", l.ty, r.ty)),
        })
    }

    fn builtin(&mut self, name: &str, args: &[Expr], ty: &Type) -> Result<TokenStream, GenError> {
        // A literal pattern is compiled once, in a static next to the call.
        if let (Some(r), Some(Expr { kind: ExprKind::Literal(Value::String(pattern)), .. })) =
            (regex_fn(name, args.len()), args.get(1))
        {
            let path: TokenStream = r.path.parse().map_err(|_| format!("bad runtime path {}", r.path))?;
            let mut code = Vec::new();
            let mut params = r.params.iter();
            for (i, a) in args.iter().enumerate() {
                if i == r.pattern_arg {
                    continue;
                }
                let v = self.expr(a)?;
                let p = params.next().copied().unwrap_or(Param::Any);
                code.push(self.as_param(v, &a.ty, p)?);
            }
            let subject = code.remove(0);
            return Ok(quote!({
                static RE: rt::fns::RegexCache = rt::fns::RegexCache::new();
                rt::#path(RE.get(#pattern), #subject #(, #code)*)
            }));
        }
        let f = rust_fn_arity(name, args.len()).ok_or_else(|| format!("the function {name}"))?;
        let path: TokenStream = f.path.parse().map_err(|_| format!("bad runtime path {}", f.path))?;
        let mut code = Vec::new();
        match f.params {
            Params::Exact(params) => {
                for (i, a) in args.iter().enumerate() {
                    let v = self.expr(a)?;
                    let p = params.get(i).copied().unwrap_or(Param::Any);
                    // IF's branches take the call's type.
                    let v = if name == "IF" && i > 0 {
                        self.cast(v, &a.ty, ty, false)?
                    } else {
                        self.as_param(v, &a.ty, p)?
                    };
                    code.push(v);
                }
                Ok(quote!(rt::#path(#(#code),*)))
            }
            Params::Variadic(p) => {
                for a in args {
                    let v = self.expr(a)?;
                    code.push(self.as_param(v, &a.ty, p)?);
                }
                Ok(quote!(rt::#path(vec![#(#code),*])))
            }
            Params::SameAsArgs => {
                // Generic functions: arguments of one common type; the result is of
                // that type, brought to the call's SQL type.
                let (v, common) = self.common_args(args)?;
                let variadic = matches!(name, "COALESCE" | "GREATEST" | "LEAST" | "CONCAT" | "CONCAT_WS");
                let call = if variadic { quote!(rt::#path(vec![#(#v),*])) } else { quote!(rt::#path(#(#v),*)) };
                // All but HASH_CODE return the arguments' type.
                if name != "HASH_CODE" && common.kind != ty.kind && common.kind != TypeKind::Null {
                    self.cast(call, &common, ty, false)
                } else {
                    Ok(call)
                }
            }
        }
    }

    fn as_param(&mut self, code: TokenStream, from: &Type, p: Param) -> Result<TokenStream, GenError> {
        let target = match p {
            Param::Any => return Ok(code),
            Param::Str => Type::string(),
            Param::Bool => Type::boolean(),
            Param::I32 => Type::int(),
            Param::I64 => Type::bigint(),
            Param::F64 => Type::double(),
            Param::Decimal => {
                return Ok(match from.kind {
                    TypeKind::Decimal { .. } => code,
                    _ => self.cast(code, from, &Type::new(TypeKind::Decimal { precision: 38, scale: 0 }), false)?,
                });
            }
            Param::Timestamp => {
                if from.is_timestamp() {
                    return Ok(code);
                }
                Type::timestamp(9)
            }
            Param::Date => Type::new(TypeKind::Date),
            Param::Time => Type::new(TypeKind::Time(9)),
            Param::Interval => return Ok(code),
            Param::Bytes => Type::new(TypeKind::Varbinary(MAX_LENGTH)),
        };
        self.cast(code, from, &target, false)
    }

    /// `TIMESTAMPADD(unit, n, t)` / `TIMESTAMPDIFF(unit, a, b)`: the resolver passes the
    /// unit as a string literal first.
    fn timestamp_unit_call(&mut self, function: &str, args: &[Expr]) -> Result<TokenStream, GenError> {
        let [unit, a, b] = args else { return Err(format!("{function} without three arguments")) };
        let ExprKind::Literal(Value::String(unit)) = &unit.kind else {
            return Err(format!("{function} with a unit that is not a literal"));
        };
        let u = match unit.as_str() {
            "SECOND" => quote!(Second),
            "MINUTE" => quote!(Minute),
            "HOUR" => quote!(Hour),
            "DAY" => quote!(Day),
            "WEEK" => quote!(Week),
            "MONTH" => quote!(Month),
            "QUARTER" => quote!(Quarter),
            "YEAR" => quote!(Year),
            other => return Err(format!("{function} by {other}")),
        };
        let unit = quote!(rt::ops::Unit::#u);
        // The date-time arguments: TIMESTAMPADD's last, both of TIMESTAMPDIFF's.
        let times = if function == "TIMESTAMPADD" { &args[2..] } else { &args[1..] };
        if times.iter().any(|t| t.ty.is_null()) {
            return Ok(quote!(None));
        }
        if let Some(t) = times.iter().find(|t| !(t.ty.is_timestamp() || t.ty.kind == TypeKind::Date)) {
            return Err(format!("{function} on {}", t.ty));
        }
        let (x, y) = (self.expr(a)?, self.expr(b)?);
        Ok(if function == "TIMESTAMPADD" {
            let n = self.cast(x, &a.ty, &Type::bigint(), false)?;
            quote!(rt::fns::timestampadd(#unit, #n, #y))
        } else {
            quote!(rt::fns::timestampdiff(#unit, #x, #y))
        })
    }

    fn time_unit(&mut self, function: &str, unit: TimeUnit, expr: &Expr) -> Result<TokenStream, GenError> {
        let x = self.expr(expr)?;
        let u = match unit {
            TimeUnit::Millisecond => quote!(Millisecond),
            TimeUnit::Second => quote!(Second),
            TimeUnit::Minute => quote!(Minute),
            TimeUnit::Hour => quote!(Hour),
            TimeUnit::Day => quote!(Day),
            TimeUnit::Week => quote!(Week),
            TimeUnit::Month => quote!(Month),
            TimeUnit::Quarter => quote!(Quarter),
            TimeUnit::Year => quote!(Year),
            TimeUnit::Dow => quote!(Dow),
            TimeUnit::Doy => quote!(Doy),
            TimeUnit::Epoch => quote!(Epoch),
            other => return Err(format!("the time unit {other:?}")),
        };
        let unit = quote!(rt::ops::Unit::#u);
        Ok(match (function, &expr.ty.kind) {
            ("EXTRACT", TypeKind::Date) => quote!(rt::ops::extract_date(#unit, #x)),
            ("EXTRACT", TypeKind::Timestamp(_) | TypeKind::TimestampLtz(_)) => quote!(rt::ops::extract(#unit, #x)),
            ("FLOOR", TypeKind::Timestamp(_) | TypeKind::TimestampLtz(_)) => quote!(rt::ops::floor(#unit, #x)),
            ("CEIL", TypeKind::Timestamp(_) | TypeKind::TimestampLtz(_)) => quote!(rt::ops::ceil(#unit, #x)),
            _ => return Err(format!("{function} on {}", expr.ty)),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::SourceFile;

    /// The generated code of `INSERT INTO o SELECT expr FROM t`, `o` having one column
    /// of type `ty`.
    fn generate(ty: &str, expr: &str) -> String {
        let text = format!(
            "CREATE TABLE t (n INT, d DATE, ts TIMESTAMP(3), ltz TIMESTAMP_LTZ(3)) WITH ('connector' = 'datagen');\n\
             CREATE TABLE o (a {ty}) WITH ('connector' = 'print');\n\
             INSERT INTO o SELECT {expr} FROM t;\n"
        );
        match crate::compile(&SourceFile::new("q.sql", text), "q") {
            Ok(c) => c.generated.main_rs,
            Err(d) => panic!("{expr}: {d:?}"),
        }
    }

    fn assert_calls(code: &str, function: &str, unit: &str) {
        let call = format!("rt::fns::{function}(");
        let at = code.find(&call).unwrap_or_else(|| panic!("no {call} in {code}"));
        let unit = format!("rt::ops::Unit::{unit},");
        assert!(code[at + call.len()..].trim_start().starts_with(&unit), "no {unit} in {code}");
    }

    #[test]
    fn timestampadd_and_timestampdiff_call_the_runtime() {
        assert_calls(&generate("TIMESTAMP(3)", "TIMESTAMPADD(MONTH, n, ts)"), "timestampadd", "Month");
        assert_calls(&generate("DATE", "TIMESTAMPADD(week, 2, d)"), "timestampadd", "Week");
        assert_calls(
            &generate("TIMESTAMP_LTZ(3)", "TIMESTAMPADD(SECOND, CAST(n AS BIGINT), ltz)"),
            "timestampadd",
            "Second",
        );
        assert_calls(&generate("INT", "TIMESTAMPDIFF(QUARTER, d, ts)"), "timestampdiff", "Quarter");
        assert_calls(&generate("INT", "TIMESTAMPDIFF(HOUR, ltz, ts)"), "timestampdiff", "Hour");
        // A NULL date-time makes the result NULL.
        let code = generate("INT", "TIMESTAMPDIFF(DAY, NULL, ts)");
        assert!(!code.contains("rt::fns::timestampdiff("), "{code}");
    }
}
