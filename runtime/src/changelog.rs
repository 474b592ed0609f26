//! Updating results: a changelog row is a row with the kind of change it makes to the
//! result — an insert, the old and new row of an update, or a delete — as Flink's
//! `RowKind`. Sinks that keep a table by key (`upsert-kafka`, `print`, `blackhole`) apply
//! them; append-only sinks are never given one (the compiler refuses such a query).

use serde::Serialize;

/// The change a row makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum RowKind {
    /// A new row.
    Insert,
    /// The row an update replaces (followed by its [`RowKind::UpdateAfter`]).
    UpdateBefore,
    /// The row an update leaves.
    UpdateAfter,
    /// A row removed.
    Delete,
}

impl RowKind {
    /// Flink's short form, as the `print` connector shows it: `+I`, `-U`, `+U`, `-D`.
    pub fn short(self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }

    /// Whether the row is taken out of the result (`-U`, `-D`).
    pub fn is_retraction(self) -> bool {
        matches!(self, RowKind::UpdateBefore | RowKind::Delete)
    }
}

/// A row and the change it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Change<R> {
    /// The kind of change.
    pub kind: RowKind,
    /// The row.
    pub row: R,
}

impl<R> Change<R> {
    /// A change of `kind` with `row`.
    #[inline]
    pub fn new(kind: RowKind, row: R) -> Self {
        Change { kind, row }
    }
}

/// What a change does to a table kept by key: the row stored under its key, or its key
/// removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// Store the row under its key.
    Put,
    /// Remove the row's key.
    Delete,
}

/// Where an [`UpsertFold`] writes: a table kept by key.
pub trait UpsertTarget<R> {
    /// Whether `a` and `b` have the same key.
    fn same_key(&mut self, a: &R, b: &R) -> bool;
    /// Stores `row` under its key, or removes its key.
    fn apply(&mut self, op: Upsert, row: &R) -> crate::Result<()>;
}

/// Turns a changelog into puts and deletes by key, as upsert sinks write it: inserts and
/// update-afters are puts, deletes are deletes, and an update-before is a delete unless
/// the change right after it is the update-after of the same key (then the put replaces
/// the row and the delete is not needed). An update-before whose successor is in the
/// next batch waits for it; [`UpsertFold::finish`] writes it at a flush.
#[derive(Debug)]
pub struct UpsertFold<R> {
    pending: Option<R>,
}

impl<R> Default for UpsertFold<R> {
    fn default() -> Self {
        UpsertFold { pending: None }
    }
}

impl<R> UpsertFold<R> {
    /// Folds `changes` (drained) into `target`.
    pub fn fold(&mut self, changes: &mut Vec<Change<R>>, target: &mut impl UpsertTarget<R>) -> crate::Result<()> {
        for Change { kind, row } in changes.drain(..) {
            if let Some(before) = self.pending.take()
                && !(kind == RowKind::UpdateAfter && target.same_key(&before, &row))
            {
                target.apply(Upsert::Delete, &before)?;
            }
            match kind {
                RowKind::Insert | RowKind::UpdateAfter => target.apply(Upsert::Put, &row)?,
                RowKind::Delete => target.apply(Upsert::Delete, &row)?,
                RowKind::UpdateBefore => self.pending = Some(row),
            }
        }
        Ok(())
    }

    /// Writes a waiting update-before as a delete (no update-after of its key followed).
    pub fn finish(&mut self, target: &mut impl UpsertTarget<R>) -> crate::Result<()> {
        match self.pending.take() {
            Some(before) => target.apply(Upsert::Delete, &before),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (u8, &'static str);

    struct Log(Vec<(Upsert, u8, &'static str)>);

    impl UpsertTarget<Row> for Log {
        fn same_key(&mut self, a: &Row, b: &Row) -> bool {
            a.0 == b.0
        }
        fn apply(&mut self, op: Upsert, row: &Row) -> crate::Result<()> {
            self.0.push((op, row.0, row.1));
            Ok(())
        }
    }

    fn run(batches: Vec<Vec<(RowKind, Row)>>) -> Vec<(Upsert, u8, &'static str)> {
        let mut fold = UpsertFold::default();
        let mut log = Log(Vec::new());
        for batch in batches {
            let mut changes: Vec<_> = batch.into_iter().map(|(k, r)| Change::new(k, r)).collect();
            fold.fold(&mut changes, &mut log).unwrap();
            assert!(changes.is_empty());
        }
        fold.finish(&mut log).unwrap();
        log.0
    }

    #[test]
    fn an_update_of_the_same_key_is_one_put() {
        use RowKind::*;
        let out = run(vec![vec![(Insert, (1, "a")), (UpdateBefore, (1, "a")), (UpdateAfter, (1, "b"))]]);
        assert_eq!(out, vec![(Upsert::Put, 1, "a"), (Upsert::Put, 1, "b")]);
    }

    #[test]
    fn an_update_that_moves_the_key_deletes_the_old_one() {
        use RowKind::*;
        let out = run(vec![vec![(UpdateBefore, (1, "a")), (UpdateAfter, (2, "a"))]]);
        assert_eq!(out, vec![(Upsert::Delete, 1, "a"), (Upsert::Put, 2, "a")]);
    }

    #[test]
    fn an_update_before_without_its_after_is_a_delete_even_across_batches_and_at_the_end() {
        use RowKind::*;
        // Split across batches: still one put.
        let out = run(vec![vec![(UpdateBefore, (1, "a"))], vec![(UpdateAfter, (1, "b"))]]);
        assert_eq!(out, vec![(Upsert::Put, 1, "b")]);
        // The after was filtered out: the key goes.
        let out = run(vec![vec![(UpdateBefore, (1, "a")), (Insert, (3, "c"))], vec![(UpdateBefore, (4, "d"))]]);
        assert_eq!(out, vec![(Upsert::Delete, 1, "a"), (Upsert::Put, 3, "c"), (Upsert::Delete, 4, "d")]);
        let out = run(vec![vec![(Delete, (5, "e"))]]);
        assert_eq!(out, vec![(Upsert::Delete, 5, "e")]);
    }
}
