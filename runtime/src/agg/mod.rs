//! Aggregate-function accumulators with Flink's semantics, which generated aggregate
//! operators instantiate per group.
//!
//! # How an aggregate operator uses them
//!
//! For `SELECT k, COUNT(*), SUM(x), MAX(s) … GROUP BY k` the compiler generates a key type
//! (the GROUP BY columns) and a tuple of accumulators, one per aggregate call:
//!
//! ```
//! use dfl::agg::{Accumulator, Count, Max, Sum};
//! use dfl::types::Str;
//!
//! type Accs = (Count, Sum<i64>, Max<Str>);
//! let init = || -> Accs { (Count::default(), Sum::default(), Max::default()) };
//!
//! let mut accs = init();
//! for (x, s) in [(Some(3), Some(Str::new("b"))), (None, Some(Str::new("a"))), (Some(4), None)] {
//!     accs.0.add(true); // COUNT(*)
//!     accs.1.add(x); // SUM(x)
//!     accs.2.add(s); // MAX(s)
//! }
//! assert_eq!((accs.0.result(), accs.1.result(), accs.2.result()), (Some(3), Some(7), Some(Str::new("b"))));
//! ```
//!
//! The operator keeps `key → accumulator tuple` in a [`crate::state::KeyedMap`]
//! (`entry_or_insert_with(key, init)` per row), and emits `result()` of each accumulator
//! when the group's window fires (windowed aggregation: event-time timers in
//! [`crate::state::TimerQueue`]) or after every change (non-windowed aggregation, a
//! changelog: `-U` of the previous results, `+U` of the new). The tuple is the state
//! value, so accumulators are `Clone` and serializable (see [`crate::state::Value`]).
//!
//! - **NULL inputs** are skipped by every accumulator except `COUNT(*)`, as in SQL.
//! - **`FILTER (WHERE …)`** needs no support here: generated code evaluates the filter
//!   and calls `add` (and `retract`) only for the rows it accepts.
//! - **`DISTINCT`**: `COUNT(DISTINCT x)` is [`CountDistinct`]; any other aggregate
//!   `f(DISTINCT x)` is [`Distinct`]`<T, F>`, which forwards each value to `F` only when it
//!   is first seen (and retracts it when its last occurrence is retracted).
//! - **Retraction** (`retract`) serves changelog inputs (`-U`/`-D` rows) of non-windowed
//!   aggregation. MIN/MAX/FIRST_VALUE/LAST_VALUE cannot undo an input without remembering
//!   all of them: [`Min`]/[`Max`]/[`FirstValue`]/[`LastValue`] return `false` from
//!   `retract`, and the planner picks [`MinRetract`]/[`MaxRetract`]/
//!   [`FirstValueRetract`]/[`LastValueRetract`] (which keep the inputs) when the input is
//!   a changelog, as Flink does.
//! - **Merging** (`merge`) serves session windows (two sessions joined by a row) and
//!   two-phase (local/global) aggregation. `a.merge(&b)` is the same as having added
//!   `a`'s inputs and then `b`'s: for FIRST_VALUE/LAST_VALUE, `b`'s rows count as later.
//!
//! | SQL | accumulator | input | output |
//! |---|---|---|---|
//! | `COUNT(*)` | [`Count`] | `true` | `Some(n)` (never NULL) |
//! | `COUNT(x)` | [`Count`] | `x.is_some()` | `Some(n)` (never NULL) |
//! | `COUNT(DISTINCT x)` | [`CountDistinct<T>`] | `Option<T>` | `Some(n)` |
//! | `SUM(x)` | [`Sum<T>`] | `Option<T>` | `Option<T>` (type kept; DECIMAL(38, s)) |
//! | `AVG(x)` | [`Avg<T>`] | `Option<T>` | `Option<T>` (DECIMAL: scale [`avg_decimal_scale`]) |
//! | `MIN(x)`, `MAX(x)` | [`Min<T>`], [`Max<T>`] (or `…Retract`) | `Option<T>` | `Option<T>` |
//! | `FIRST_VALUE(x)`, `LAST_VALUE(x)` | [`FirstValue<T>`], [`LastValue<T>`] (or `…Retract`) | `Option<T>` | `Option<T>` |
//! | `f(DISTINCT x)` | [`Distinct<T, F>`] | `Option<T>` | `F`'s |
//!
//! Every accumulator's result is NULL when no non-NULL value was added (or all were
//! retracted), except the counts, which are 0.

mod count;
mod minmax;
mod ord;
mod sum;
mod value;

#[cfg(test)]
mod tests;

pub use count::{Count, CountDistinct, Distinct};
pub use minmax::{Max, MaxRetract, Min, MinMax, MinMaxRetract, MinRetract};
pub use ord::{Ordered, SqlOrd};
pub use sum::{Avg, AvgInput, Sum, SumInput, avg_decimal_scale};
pub use value::{FirstLast, FirstLastRetract, FirstValue, FirstValueRetract, LastValue, LastValueRetract};

/// The state of one aggregate call for one group: fed the argument of each row, asked
/// for the aggregate's value.
pub trait Accumulator: Clone + Send + 'static {
    /// The argument of each row (for most aggregates the SQL value, `Option<T>`).
    type Input;
    /// The aggregate's value (a SQL value, `Option<T>`).
    type Output;

    /// Adds a row's argument.
    fn add(&mut self, v: Self::Input);

    /// Removes a row's argument added before (a changelog's `-U`/`-D` row). Returns
    /// `false`, leaving the state unchanged, when this accumulator cannot retract (MIN,
    /// MAX, FIRST_VALUE and LAST_VALUE without their retractable variants).
    fn retract(&mut self, v: Self::Input) -> bool;

    /// Adds everything `other` has accumulated, as if `other`'s rows had been added after
    /// this one's.
    fn merge(&mut self, other: &Self);

    /// The aggregate's current value.
    fn result(&self) -> Self::Output;
}

/// Serializes a `BTreeMap` as a sequence of pairs, so that maps whose keys are not
/// strings (numbers, `Option`s, tuples) survive formats such as JSON.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub(super) fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
