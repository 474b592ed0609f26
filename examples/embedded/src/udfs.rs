//! Rust functions the crate's queries call (`CREATE FUNCTION … AS 'crate::udfs::…'`):
//! SQL values in and out, `None` for NULL; and an aggregate function (`WeightedAvg`).

use dfl::types::Str;
use dfl::udfs::AggregateFunction;

/// How many times the first character of `c` occurs in `s` (Nexmark q14's `count_char`).
pub fn count_char(s: Option<Str>, c: Option<Str>) -> Option<i64> {
    let needle = *c?.as_bytes().first()?;
    Some(s.map_or(0, |s| s.bytes().filter(|b| *b == needle).count() as i64))
}

/// A name's initials, upper-cased: "ada lovelace" → "AL".
pub fn initials(name: Option<Str>) -> Option<Str> {
    let initials: String =
        name?.split_whitespace().filter_map(|w| w.chars().next()).flat_map(char::to_uppercase).collect();
    Some(Str::from(initials.as_str()))
}

/// The average of prices weighted by quantities, an aggregate function
/// (`CREATE FUNCTION weighted_avg AS 'crate::udfs::WeightedAvg'`): rows with a NULL are
/// left out; NULL when there are none. It retracts and merges, so it serves updating
/// inputs and every kind of window.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct WeightedAvg {
    total: f64,
    weight: i64,
}

impl AggregateFunction for WeightedAvg {
    type Input = (Option<f64>, Option<i64>);
    type Output = Option<f64>;

    fn add(&mut self, (price, quantity): Self::Input) {
        if let (Some(p), Some(q)) = (price, quantity) {
            self.total += p * q as f64;
            self.weight += q;
        }
    }

    fn retract(&mut self, (price, quantity): Self::Input) {
        if let (Some(p), Some(q)) = (price, quantity) {
            self.total -= p * q as f64;
            self.weight -= q;
        }
    }

    fn merge(&mut self, other: &Self) {
        self.total += other.total;
        self.weight += other.weight;
    }

    fn result(&self) -> Option<f64> {
        (self.weight != 0).then(|| self.total / self.weight as f64)
    }
}
