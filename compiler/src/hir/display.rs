//! A readable rendering of the resolved program: one line per operator, indented by
//! depth, columns as `$i` with the output schema after each operator.

use super::*;
use std::fmt::{self, Display, Formatter, Write};

impl Display for Program {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.settings {
            writeln!(f, "SET '{k}' = '{v}'")?;
        }
        for t in &self.tables {
            write!(f, "{t}")?;
        }
        for i in &self.inserts {
            let t = &self.tables[i.table.0];
            let cols: Vec<&str> = i.columns.iter().map(|&c| t.columns[c].name.as_str()).collect();
            writeln!(f, "INSERT INTO {} ({})", t.name, cols.join(", "))?;
            write_rel(f, &i.query, 1)?;
        }
        Ok(())
    }
}

impl Display for Table {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "TABLE {} [{}]", self.name, self.connector)?;
        for (i, c) in self.columns.iter().enumerate() {
            write!(f, "  ${i} {} {}", c.name, c.ty)?;
            match &c.kind {
                ColumnKind::Physical => {}
                ColumnKind::Computed(e) => write!(f, " AS {e}")?,
                ColumnKind::Metadata { key, is_virtual } => {
                    write!(f, " METADATA FROM '{key}'{}", if *is_virtual { " VIRTUAL" } else { "" })?
                }
            }
            if let Some(t) = c.time {
                write!(f, " *{}*", time_name(t))?;
            }
            writeln!(f)?;
        }
        if let Some(w) = &self.watermark {
            write!(f, "  WATERMARK FOR ${} AS {}", w.column, w.expr)?;
            if let Some(ms) = w.max_out_of_orderness_ms {
                write!(f, " (bounded by {ms} ms)")?;
            }
            writeln!(f)?;
        }
        if !self.primary_key.is_empty() {
            writeln!(f, "  PRIMARY KEY {}", cols(&self.primary_key))?;
        }
        if !self.partitioned_by.is_empty() {
            writeln!(f, "  PARTITIONED BY {}", cols(&self.partitioned_by))?;
        }
        let options: Vec<String> =
            self.options.iter().filter(|(k, _)| *k != "connector").map(|(k, v)| format!("'{k}'='{v}'")).collect();
        if !options.is_empty() {
            writeln!(f, "  WITH {}", options.join(", "))?;
        }
        Ok(())
    }
}

fn cols(c: &[usize]) -> String {
    c.iter().map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn time_name(t: TimeAttribute) -> &'static str {
    match t {
        TimeAttribute::Rowtime => "ROWTIME",
        TimeAttribute::Proctime => "PROCTIME",
    }
}

fn list<T: Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn write_rel(f: &mut Formatter<'_>, rel: &Rel, depth: usize) -> fmt::Result {
    let pad = "  ".repeat(depth);
    write!(f, "{pad}")?;
    match &rel.kind {
        RelKind::Scan { name, .. } => write!(f, "Scan {name}")?,
        RelKind::Values { rows } => {
            let rows: Vec<String> = rows.iter().map(|r| format!("({})", list(r))).collect();
            write!(f, "Values {}", rows.join(", "))?
        }
        RelKind::Filter { predicate, .. } => write!(f, "Filter {predicate}")?,
        RelKind::Project { exprs, .. } => write!(f, "Project {}", list(exprs))?,
        RelKind::Window { window, time_column, .. } => write!(f, "Window {} on ${time_column}", window_name(window))?,
        RelKind::Aggregate(a) => {
            write!(f, "Aggregate group=[{}] aggs=[", list(&a.group_by))?;
            for (i, c) in a.aggregates.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}({}{})", c.function, if c.distinct { "DISTINCT " } else { "" }, list(&c.args))?;
                if let Some(filter) = &c.filter {
                    write!(f, " FILTER {filter}")?;
                }
            }
            f.write_char(']')?;
            match &a.windowing {
                Windowing::None => f.write_str(" unbounded")?,
                Windowing::Tvf { start, end } => write!(f, " windowed by group keys {start}, {end}")?,
                Windowing::Group { window, time_column } => {
                    write!(f, " group window {} on ${time_column}", window_name(window))?
                }
            }
        }
        RelKind::Join(j) => {
            write!(f, "Join {:?} {:?}", j.join_type, j.kind)?;
            if let Some(c) = &j.condition {
                write!(f, " on {c}")?;
            }
        }
        RelKind::Over { calls, .. } => {
            f.write_str("Over ")?;
            for (i, c) in calls.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(
                    f,
                    "{}({}) partition=[{}] order=[{}]",
                    c.function,
                    list(&c.args),
                    list(&c.partition_by),
                    sort_keys(&c.order_by)
                )?;
                if let Some(fr) = &c.frame {
                    let unit = if fr.rows { "rows" } else { "ms" };
                    match fr.preceding {
                        Some(n) => write!(f, " frame={n} {unit} preceding")?,
                        None => f.write_str(" frame=unbounded")?,
                    }
                }
            }
        }
        RelKind::Union { .. } => f.write_str("Union")?,
        RelKind::Sort { keys, limit, offset, .. } => {
            write!(f, "Sort [{}]", sort_keys(keys))?;
            if let Some(l) = limit {
                write!(f, " limit {l}")?;
            }
            if let Some(o) = offset {
                write!(f, " offset {o}")?;
            }
        }
    }
    writeln!(f, "{}", if rel.append_only { "" } else { " (updating)" })?;
    let fields: Vec<String> = rel
        .schema
        .iter()
        .map(|fl| {
            let mut s = format!("{} {}", fl.name, fl.ty);
            if let Some(t) = fl.time {
                s.push_str(&format!(" *{}*", time_name(t)));
            }
            s
        })
        .collect();
    writeln!(f, "{pad}  -> [{}]", fields.join(", "))?;
    match &rel.kind {
        RelKind::Scan { .. } | RelKind::Values { .. } => Ok(()),
        RelKind::Filter { input, .. }
        | RelKind::Project { input, .. }
        | RelKind::Window { input, .. }
        | RelKind::Over { input, .. }
        | RelKind::Sort { input, .. } => write_rel(f, input, depth + 1),
        RelKind::Aggregate(a) => write_rel(f, &a.input, depth + 1),
        RelKind::Join(j) => {
            write_rel(f, &j.left, depth + 1)?;
            write_rel(f, &j.right, depth + 1)
        }
        RelKind::Union { inputs } => inputs.iter().try_for_each(|i| write_rel(f, i, depth + 1)),
    }
}

fn sort_keys(keys: &[SortKey]) -> String {
    keys.iter().map(|k| format!("{}{}", k.expr, if k.desc { " DESC" } else { "" })).collect::<Vec<_>>().join(", ")
}

fn window_name(w: &WindowKind) -> String {
    match w {
        WindowKind::Tumble { size_ms, offset_ms } => {
            format!("TUMBLE(size={size_ms}ms, offset={offset_ms}ms)")
        }
        WindowKind::Hop { slide_ms, size_ms, offset_ms } => {
            format!("HOP(slide={slide_ms}ms, size={size_ms}ms, offset={offset_ms}ms)")
        }
        WindowKind::Cumulate { step_ms, size_ms, offset_ms } => {
            format!("CUMULATE(step={step_ms}ms, size={size_ms}ms, offset={offset_ms}ms)")
        }
        WindowKind::Session { gap_ms, partition_by } => {
            format!("SESSION(gap={gap_ms}ms, partition=[{}])", cols(partition_by))
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Column(i) => write!(f, "${i}"),
            ExprKind::Literal(v) => write!(f, "{v}"),
            ExprKind::Call { function, args } => {
                let symbolic = !function.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    || function == "AND"
                    || function == "OR";
                if symbolic && args.len() == 2 {
                    write!(f, "({} {function} {})", args[0], args[1])
                } else {
                    write!(f, "{function}({})", list(args))
                }
            }
            ExprKind::Cast { expr, try_ } => {
                write!(f, "{}({expr} AS {})", if *try_ { "TRY_CAST" } else { "CAST" }, self.ty)
            }
            ExprKind::Case { whens, else_ } => {
                f.write_str("CASE")?;
                for (w, t) in whens {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = else_ {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END")
            }
            ExprKind::Field { expr, index } => write!(f, "{expr}.{index}"),
            ExprKind::TimeUnitCall { function, unit, expr } => write!(f, "{function}({expr}, {unit:?})"),
            ExprKind::Udf { name, args, .. } => write!(f, "{name}({})", list(args)),
        }
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(b) => write!(f, "{}", if *b { "TRUE" } else { "FALSE" }),
            Value::Number(n) => f.write_str(n),
            Value::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Value::Bytes(b) => write!(f, "X'{}'", b.iter().map(|x| format!("{x:02X}")).collect::<String>()),
            Value::Date(d) => write!(f, "DATE({d})"),
            Value::Time(t) => write!(f, "TIME({t}ms)"),
            Value::Timestamp(t) => write!(f, "TIMESTAMP({t}ms)"),
            Value::IntervalMs(ms) => write!(f, "INTERVAL({ms}ms)"),
            Value::IntervalMonths(m) => write!(f, "INTERVAL({m} months)"),
        }
    }
}
