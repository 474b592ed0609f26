//! The JSON format: decoding with Flink's leniency, encoding with the columns' types.

use super::{Column, ColumnType, FieldVisitor, JsonOptions, SerError, column};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(super) fn decode_json<R: DeserializeOwned>(opts: &JsonOptions, fields: &[&str], bytes: &[u8]) -> Result<R, String> {
    if !opts.fail_on_missing_field
        && let Ok(row) = serde_json::from_slice::<R>(bytes)
    {
        return Ok(row);
    }
    // The slow path: find the field at fault, coerce it (Flink's leniency) or null it.
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let Value::Object(map) = value else {
        return Err(format!("expected a JSON object, found {}", json_kind(&value)));
    };
    if opts.fail_on_missing_field
        && let Some(missing) = fields.iter().find(|f| !map.contains_key(**f))
    {
        return Err(format!("missing field `{missing}`"));
    }
    let mut acc = serde_json::Map::new();
    let whole = R::deserialize(&map);
    if let Ok(row) = whole {
        return Ok(row);
    }
    for (key, value) in map {
        let candidates = json_coercions(&value);
        acc.insert(key.clone(), value);
        let Err(err) = R::deserialize(&acc) else { continue };
        let fixed = candidates.into_iter().any(|c| {
            acc.insert(key.clone(), c);
            R::deserialize(&acc).is_ok()
        });
        if !fixed {
            if !opts.ignore_parse_errors {
                return Err(format!("field `{key}`: {err}"));
            }
            acc.insert(key, Value::Null);
        }
    }
    R::deserialize(&acc).map_err(|e| e.to_string())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Other readings of a JSON value that Flink accepts: numbers and booleans in strings,
/// and anything as the text of a string column.
fn json_coercions(v: &Value) -> Vec<Value> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            let mut out = Vec::new();
            if let Ok(i) = t.parse::<i64>() {
                out.push(Value::from(i));
            } else if let Ok(u) = t.parse::<u64>() {
                out.push(Value::from(u));
            }
            if let Some(n) = t.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                out.push(Value::Number(n));
            }
            if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
                out.push(Value::Bool(t.eq_ignore_ascii_case("true")));
            }
            out
        }
        Value::Null => Vec::new(),
        other => vec![Value::String(other.to_string())],
    }
}

/// Writes the fields of a JSON object (the caller writes the braces).
pub(super) struct JsonFields<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) first: bool,
    pub(super) columns: &'a [Column],
    pub(super) opts: &'a JsonOptions,
}

impl FieldVisitor for JsonFields<'_> {
    fn field<T: ?Sized + Serialize>(&mut self, index: usize, name: &'static str, value: &T) -> Result<(), SerError> {
        let out = &mut *self.out;
        let mark = out.len();
        if !self.first {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, name).map_err(|e| SerError(e.to_string()))?;
        out.push(b':');
        let start = out.len();
        serde_json::to_writer(&mut *out, value).map_err(|e| SerError(e.to_string()))?;
        if &out[start..] == b"null" {
            if self.opts.ignore_null_fields {
                out.truncate(mark);
            } else {
                self.first = false;
            }
            return Ok(());
        }
        self.first = false;
        match column(self.columns, index, name).map(|c| c.ty) {
            Some(ColumnType::Timestamp(_)) if self.opts.iso_timestamps => iso_timestamp(out, start),
            Some(ColumnType::TimestampLtz(_)) => {
                if self.opts.iso_timestamps {
                    iso_timestamp(out, start);
                }
                if out.len() > start + 2 && out[out.len() - 1] == b'"' && out[out.len() - 2] != b'Z' {
                    out.insert(out.len() - 1, b'Z');
                }
            }
            Some(ColumnType::Decimal { scale, .. }) => plain_decimal(out, start, scale),
            _ => {}
        }
        Ok(())
    }
}

/// `"2020-12-30 12:13:14"` → `"2020-12-30T12:13:14"`.
fn iso_timestamp(out: &mut [u8], start: usize) {
    if out.get(start) == Some(&b'"')
        && let Some(space) = out[start..].iter().position(|&b| b == b' ')
    {
        out[start + space] = b'T';
    }
}

/// Writes a DECIMAL as a JSON number with the column's scale (the value serializes as a
/// double when exact, else as a string).
fn plain_decimal(out: &mut Vec<u8>, start: usize, scale: u8) {
    let text = &out[start..];
    if text.first() == Some(&b'"') {
        let inner = &text[1..text.len() - 1];
        if inner.iter().all(|b| b.is_ascii_digit() || *b == b'-' || *b == b'.') && !inner.is_empty() {
            out.pop();
            out.remove(start);
        }
    } else if let Some(v) = std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()) {
        let fixed = format!("{v:.*}", usize::from(scale));
        out.truncate(start);
        out.extend_from_slice(fixed.as_bytes());
    }
}
