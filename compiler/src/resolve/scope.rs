//! The columns a query can see: the relations of its FROM clause, each with the name
//! it is known by.

use crate::hir::Field;
use crate::span::Span;

/// One relation in a FROM clause.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its alias, or the table/view name; `None` for an unaliased subquery.
    pub qualifier: Option<String>,
    pub fields: Vec<Field>,
    /// Position of its first column in the combined input.
    pub offset: usize,
    pub span: Span,
}

/// The relations visible to expressions, in FROM order.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub entries: Vec<Entry>,
}

/// The result of looking a column up.
pub enum Lookup<'a> {
    Found { index: usize, field: &'a Field },
    Ambiguous(Vec<&'a Entry>),
    Missing,
}

impl Scope {
    pub fn single(qualifier: Option<String>, fields: Vec<Field>, span: Span) -> Self {
        Scope { entries: vec![Entry { qualifier, fields, offset: 0, span }] }
    }

    /// All columns, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.entries.iter().flat_map(|e| e.fields.iter())
    }

    pub fn width(&self) -> usize {
        self.entries.iter().map(|e| e.fields.len()).sum()
    }

    /// Appends `other`'s relations after this one's (for a join).
    pub fn join(mut self, other: Scope) -> Scope {
        let base = self.width();
        for mut e in other.entries {
            e.offset += base;
            self.entries.push(e);
        }
        self
    }

    pub fn qualified(&self, qualifier: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.qualifier.as_deref() == Some(qualifier))
    }

    /// An unqualified column.
    pub fn column(&self, name: &str) -> Lookup<'_> {
        let mut hits = self
            .entries
            .iter()
            .flat_map(|e| e.fields.iter().enumerate().filter(|(_, f)| f.name == name).map(move |(i, _)| (e, i)));
        match (hits.next(), hits.next()) {
            (Some((e, i)), None) => Lookup::Found { index: e.offset + i, field: &e.fields[i] },
            (Some(first), Some(second)) => {
                let mut entries = vec![first.0, second.0];
                entries.extend(hits.map(|(e, _)| e));
                Lookup::Ambiguous(entries)
            }
            _ => Lookup::Missing,
        }
    }

    /// `qualifier.name`.
    /// `qualifier.name`; `Err` with the entry when the name is there twice.
    pub fn qualified_column(&self, qualifier: &str, name: &str) -> Option<Result<(usize, &Field), &Entry>> {
        let e = self.qualified(qualifier)?;
        let mut hits = e.fields.iter().enumerate().filter(|(_, f)| f.name == name);
        let (i, f) = hits.next()?;
        if hits.next().is_some() {
            return Some(Err(e));
        }
        Some(Ok((e.offset + i, f)))
    }

    /// Every visible column name, for "did you mean".
    pub fn names(&self) -> Vec<&str> {
        self.fields().map(|f| f.name.as_str()).collect()
    }
}
