//! Table options as the query declared them, with `--set` overrides applied and typed
//! accessors that say which table and option is wrong.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The `WITH (…)` options of one table.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// The table's name (for error messages).
    pub table: String,
    options: BTreeMap<String, String>,
}

impl TableOptions {
    /// Options of `table` from `(key, value)` pairs.
    pub fn new(table: &str, pairs: &[(&str, &str)]) -> Self {
        TableOptions {
            table: table.to_string(),
            options: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    /// Sets (or overrides) an option.
    pub fn set(&mut self, key: &str, value: &str) {
        self.options.insert(key.to_string(), value.to_string());
    }

    /// The raw value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// All options starting with `prefix` (prefix removed).
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.options.iter().filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }

    /// An error about `key`.
    pub fn error(&self, key: &str, message: impl Into<String>) -> Error {
        Error::Option { table: self.table.clone(), key: key.to_string(), message: message.into() }
    }

    /// A required option.
    pub fn required(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| self.error(key, "is required"))
    }

    /// A non-negative integer option.
    pub fn u64(&self, key: &str) -> Result<Option<u64>> {
        self.get(key)
            .map(|v| v.trim().parse::<u64>().map_err(|_| self.error(key, format!("'{v}' is not a whole number"))))
            .transpose()
    }

    /// A number option (may have a fraction).
    pub fn f64(&self, key: &str) -> Result<Option<f64>> {
        self.get(key)
            .map(|v| v.trim().parse::<f64>().map_err(|_| self.error(key, format!("'{v}' is not a number"))))
            .transpose()
    }

    /// A boolean option.
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(self.error(key, format!("'{v}' is not true or false"))),
            })
            .transpose()
    }

    /// A duration option (`'10 s'`, `'5min'`, `'100 ms'`), in milliseconds.
    pub fn duration_ms(&self, key: &str) -> Result<Option<u64>> {
        self.get(key)
            .map(|v| {
                parse_duration_ms(v).ok_or_else(|| self.error(key, format!("'{v}' is not a duration such as '10 s'")))
            })
            .transpose()
    }
}

/// Milliseconds of a Flink duration: a whole number and an optional unit.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().ok()?;
    let ms = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(ms)
}
