//! Diagnostics as data: what went wrong, where, and how to fix it.
//!
//! Every stage reports problems by pushing [`Diagnostic`]s and carrying on, so that a
//! file's errors are all reported at once. Rendering (terminal, JSON, `compile_error!`)
//! lives in one place, [`render`].

pub mod render;

use crate::span::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $num:literal ),* $(,)?) => {
        /// The stable code of each kind of diagnostic, printed as `DFL0xxx`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code { $( $(#[$doc])* $name ),* }

        impl Code {
            /// All codes, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            /// The code as printed, e.g. `DFL0101`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$name => $num ),* }
            }
        }
    };
}

codes! {
    /// The text is not valid SQL of this dialect.
    Syntax = "DFL0001",
    /// A string, quoted identifier or comment is not closed.
    Unterminated = "DFL0002",
    /// Nesting or length beyond what the compiler accepts.
    TooComplex = "DFL0003",
    /// A statement Flink has and dflc does not.
    UnsupportedStatement = "DFL0004",
    /// A construct Flink has and dflc does not (yet).
    UnsupportedFeature = "DFL0005",

    /// No table or view of that name.
    UnknownTable = "DFL0101",
    /// No column of that name in scope.
    UnknownColumn = "DFL0102",
    /// A column name that more than one input provides.
    AmbiguousColumn = "DFL0103",
    /// A table, view or function defined twice.
    DuplicateName = "DFL0104",
    /// A column name used twice in one table or result.
    DuplicateColumn = "DFL0105",
    /// No function of that name.
    UnknownFunction = "DFL0106",
    /// A function called with the wrong number of arguments.
    WrongArgumentCount = "DFL0107",
    /// No type of that name, or bad type parameters.
    UnknownType = "DFL0108",
    /// No field of that name in a ROW.
    UnknownField = "DFL0109",
    /// The same alias twice in one FROM clause.
    DuplicateAlias = "DFL0110",
    /// A column list whose length does not match the query's.
    ColumnCountMismatch = "DFL0111",

    /// Operand types that do not fit the operator or function.
    TypeMismatch = "DFL0201",
    /// A cast between types that cannot be converted.
    InvalidCast = "DFL0202",
    /// A condition that is not BOOLEAN.
    NotBoolean = "DFL0203",
    /// INSERT with a different number of columns than the target.
    InsertArity = "DFL0204",
    /// INSERT of a value whose type the target column cannot take.
    InsertType = "DFL0205",
    /// A literal that is not a valid value of its type.
    InvalidLiteral = "DFL0206",
    /// Branches, UNION inputs or list items with no common type.
    NoCommonType = "DFL0207",

    /// A column outside GROUP BY that is not aggregated.
    NotGrouped = "DFL0301",
    /// An aggregate where none is allowed (WHERE, GROUP BY, inside another aggregate).
    MisplacedAggregate = "DFL0302",
    /// DISTINCT, FILTER or OVER on a function that is not an aggregate, or a window
    /// function without OVER.
    InvalidAggregateCall = "DFL0303",

    /// A window or OVER ordering on a column that is not a time attribute.
    NotTimeAttribute = "DFL0401",
    /// A WATERMARK on a column that is missing or not a timestamp.
    InvalidWatermark = "DFL0402",
    /// A window table function with wrong arguments.
    InvalidWindow = "DFL0403",
    /// A streaming query shape that cannot be computed incrementally.
    UnsupportedStreaming = "DFL0404",
    /// State that grows without bound (warning).
    UnboundedState = "DFL0450",

    /// A table without a `connector` option.
    MissingConnector = "DFL0501",
    /// A connector dflc does not have.
    UnknownConnector = "DFL0502",
    /// An option the connector or format does not take.
    UnknownOption = "DFL0503",
    /// A required option is missing.
    MissingOption = "DFL0504",
    /// An option value of the wrong form.
    InvalidOptionValue = "DFL0505",
    /// A format dflc does not have.
    UnknownFormat = "DFL0506",
    /// A table used in a role its connector cannot play (reading a sink-only table…).
    InvalidTableUse = "DFL0507",
    /// A `SET` key dflc does not know (warning).
    UnknownSetting = "DFL0508",
    /// A PRIMARY KEY or METADATA column the connector cannot have (or needs and lacks).
    ConnectorSchema = "DFL0509",

    /// A user-defined function dflc cannot call.
    UnsupportedFunction = "DFL0601",

    /// A query that checks but needs an operator or connector code generation does not
    /// have yet.
    NotYetCompiled = "DFL0700",

    /// A bug in dflc.
    Internal = "DFL0900",
}

/// A secondary label: another place that explains the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// Where it is, with what to say there.
    pub span: Option<Span>,
    pub label: Option<String>,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    /// A broken invariant inside dflc, reported instead of panicking.
    pub fn internal(message: impl Into<String>) -> Self {
        Diagnostic::error(Code::Internal, format!("internal error: {}", message.into()))
            .with_help("this is a bug in dflc; please report it with the query that caused it")
    }

    /// Points at `span`, labelled with `label`.
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        let label = label.into();
        self.label = (!label.is_empty()).then_some(label);
        self
    }

    pub fn also(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label { span, message: message.into() });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one file, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Without repeats: a view used twice reports its problems once.
    pub fn deduplicated(mut self) -> Self {
        let mut seen = std::collections::HashSet::new();
        self.0.retain(|d| seen.insert((d.code, d.span, d.message.clone())));
        self
    }

    /// Sorted by position (errors and warnings interleaved), as a reader expects.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by_key(|d| (d.span.map_or(usize::MAX, |s| s.start), d.severity));
        self
    }
}

/// "did you mean …?" for a misspelt name: the closest candidate within a small edit
/// distance, compared case-insensitively.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&name, &c.to_ascii_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edit distance over characters, counting a swap of neighbours as one edit (optimal
/// string alignment), since transposed letters are the commonest typo.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// Joins names as `a, b and c` (quoted with backquotes), for "valid ones are …" lists.
pub fn list_names<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.len() {
        0 => String::from("none"),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(s.len() == 7 && s.starts_with("DFL"), "{s}");
            assert!(seen.insert(s), "duplicate code {s}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("pirce", "price"), 1);
        assert_eq!(did_you_mean("pirce", ["price", "bidder", "auction"]), Some("price"));
        assert_eq!(did_you_mean("AUCTON", ["price", "auction"]), Some("auction"));
        assert_eq!(did_you_mean("zzz", ["price", "auction"]), None);
        assert_eq!(list_names(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
