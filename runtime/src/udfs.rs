//! User-defined functions: native ports of well-known Java UDFs, so that queries naming
//! their classes run unchanged (`CREATE FUNCTION count_char AS
//! 'com.github.nexmark.flink.udf.CountChar'`), and [`AggregateFunction`], the trait of
//! aggregate functions written in Rust by a crate that embeds its queries.

use crate::agg::Accumulator;
use crate::types::Str;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An aggregate function written in Rust (a UDAF), called from SQL as
/// `CREATE FUNCTION weighted_avg AS 'crate::udfs::WeightedAvg'` by a query embedded in the
/// crate (`dfl::pipeline!` or a build script). The implementing type is the state of one
/// group: dflc creates it with `Default`, feeds it each row's arguments and asks it for
/// the result; it is kept in checkpoints (serde) like the built-in aggregates' state.
///
/// dflc reads the crate's sources to type the calls: `Input` is the SQL value of the one
/// argument (`Option<i64>`, `Option<dfl::types::Str>`, … — `None` is NULL) or a tuple of
/// them for several, and `Output` a SQL value. Unlike the built-in aggregates, NULL
/// arguments are given to `add` as they are.
///
/// `retract` and `merge` are optional; dflc calls them only when the `impl` defines them,
/// and says where a query needs one that is missing: `retract` for aggregating an
/// updating input (a GROUP BY over a join or another GROUP BY), `merge` for SESSION
/// windows (HOP and CUMULATE windows then share slices between windows, as for the
/// built-in aggregates).
///
/// ```
/// use dfl::udfs::AggregateFunction;
/// #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
/// pub struct WeightedAvg { sum: f64, weight: i64 }
/// impl AggregateFunction for WeightedAvg {
///     type Input = (Option<f64>, Option<i64>);
///     type Output = Option<f64>;
///     fn add(&mut self, (value, weight): Self::Input) {
///         if let (Some(v), Some(w)) = (value, weight) {
///             self.sum += v * w as f64;
///             self.weight += w;
///         }
///     }
///     fn result(&self) -> Option<f64> {
///         (self.weight != 0).then(|| self.sum / self.weight as f64)
///     }
/// }
/// let mut avg = WeightedAvg::default();
/// avg.add((Some(1.0), Some(1)));
/// avg.add((Some(4.0), Some(2)));
/// assert_eq!(avg.result(), Some(3.0));
/// ```
pub trait AggregateFunction: Default + Clone + Send + Serialize + DeserializeOwned + 'static {
    /// A row's arguments: one SQL value, or a tuple of them.
    type Input;
    /// The aggregate's value, a SQL value.
    type Output;

    /// Adds a row's arguments.
    fn add(&mut self, input: Self::Input);

    /// The aggregate's value over the rows added (and not retracted).
    fn result(&self) -> Self::Output;

    /// Removes a row's arguments added before (an updating input's `-U`/`-D` row). Called
    /// only when the `impl` defines it.
    fn retract(&mut self, input: Self::Input) {
        let _ = input;
    }

    /// Adds everything `other` has accumulated, as if its rows had been added after this
    /// one's (sessions joined by a row, slices of overlapping windows). Called only when
    /// the `impl` defines it.
    fn merge(&mut self, other: &Self) {
        let _ = other;
    }
}

/// A Rust aggregate function as the accumulator of an aggregate operator.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Udaf<F>(pub F);

impl<F: AggregateFunction> Accumulator for Udaf<F> {
    type Input = F::Input;
    type Output = F::Output;

    fn add(&mut self, v: F::Input) {
        self.0.add(v)
    }

    fn retract(&mut self, v: F::Input) -> bool {
        self.0.retract(v);
        true
    }

    fn merge(&mut self, other: &Self) {
        self.0.merge(&other.0)
    }

    fn result(&self) -> F::Output {
        self.0.result()
    }
}

/// Nexmark's `count_char(s, c)`: how many bytes of `s` equal the first byte of `c`.
/// NULL `s` counts 0; NULL or empty `c` is NULL.
pub fn count_char(s: Option<Str>, c: Option<Str>) -> Option<i64> {
    let needle = *c?.as_bytes().first()?;
    Some(s.map_or(0, |s| s.bytes().filter(|b| *b == needle).count() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bytes() {
        assert_eq!(count_char(Some(Str::from("banana")), Some(Str::from("a"))), Some(3));
        assert_eq!(count_char(None, Some(Str::from("a"))), Some(0));
        assert_eq!(count_char(Some(Str::from("x")), Some(Str::from(""))), None);
    }
}
