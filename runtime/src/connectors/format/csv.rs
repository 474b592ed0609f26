//! The CSV format: records decoded by position with a small serde deserializer over the
//! fields (empty fields, the null literal, nested values), and encoded with RFC 4180
//! quoting.

use super::text::{TextSer, TextStyle};
use super::{Column, CsvOptions, FieldVisitor, SerError, column};
use serde::Serialize;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use std::cell::Cell;
use std::fmt::{self, Display};

#[derive(Default)]
pub(super) struct CsvState {
    /// Columns (by position) known not to accept the empty string: empty means NULL there.
    non_string: Vec<bool>,
    /// Columns forced to NULL in the record being decoded (`ignore-parse-errors`).
    forced_null: Vec<bool>,
    /// The row struct's field names, once seen.
    fields: Cell<&'static [&'static str]>,
}

pub(super) fn decode_csv<R: DeserializeOwned>(
    opts: &CsvOptions,
    state: &mut CsvState,
    rec: &csv::ByteRecord,
) -> Result<R, String> {
    if state.non_string.len() < rec.len() {
        state.non_string.resize(rec.len(), false);
    }
    state.forced_null.clear();
    state.forced_null.resize(rec.len(), false);
    for _ in 0..=2 * rec.len() + 1 {
        let ctx =
            CsvCtx { opts, non_string: &state.non_string, forced_null: &state.forced_null, fields: &state.fields };
        let err = match R::deserialize(RecordDe { rec, ctx: &ctx }) {
            Ok(row) => return Ok(row),
            Err(e) => e,
        };
        match (err.empty_at, err.field) {
            (Some(i), _) if !state.non_string[i] => state.non_string[i] = true,
            (None, Some(i)) if opts.ignore_parse_errors && !state.forced_null[i] => state.forced_null[i] = true,
            (_, Some(i)) => {
                let name = state.fields.get().get(i).map(|f| format!("field `{f}` ")).unwrap_or_default();
                return Err(format!("{name}(column {}): {}", i + 1, err.msg));
            }
            _ => return Err(err.msg),
        }
    }
    Err("cannot decode the record".into())
}

/// Errors of the CSV deserializers: the message, the column (0-based) it concerns, and
/// whether it only says that the column does not take the empty string.
#[derive(Debug)]
struct DeError {
    msg: String,
    field: Option<usize>,
    empty_at: Option<usize>,
}

impl de::Error for DeError {
    fn custom<T: Display>(msg: T) -> Self {
        DeError { msg: msg.to_string(), field: None, empty_at: None }
    }
}

impl Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for DeError {}

struct CsvCtx<'a> {
    opts: &'a CsvOptions,
    non_string: &'a [bool],
    forced_null: &'a [bool],
    fields: &'a Cell<&'static [&'static str]>,
}

/// A whole record: a struct (or tuple) whose fields are the record's fields in order.
struct RecordDe<'a> {
    rec: &'a csv::ByteRecord,
    ctx: &'a CsvCtx<'a>,
}

impl<'de> Deserializer<'de> for RecordDe<'_> {
    type Error = DeError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(RecordSeq { rec: self.rec, pos: 0, ctx: self.ctx })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.ctx.fields.set(fields);
        if self.rec.len() < fields.len() && !self.ctx.opts.ignore_parse_errors {
            let msg = format!("the record has {} fields, the table {} columns", self.rec.len(), fields.len());
            return Err(DeError { msg, field: None, empty_at: None });
        }
        self.deserialize_any(visitor)
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

struct RecordSeq<'a> {
    rec: &'a csv::ByteRecord,
    pos: usize,
    ctx: &'a CsvCtx<'a>,
}

impl<'de> SeqAccess<'de> for RecordSeq<'_> {
    type Error = DeError;
    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, DeError> {
        let pos = self.pos;
        let Some(bytes) = self.rec.get(pos) else { return Ok(None) };
        self.pos += 1;
        let at = |mut e: DeError| {
            e.field.get_or_insert(pos);
            e
        };
        let text = std::str::from_utf8(bytes).map_err(|_| at(de::Error::custom("not valid UTF-8")))?;
        seed.deserialize(FieldDe { text, pos, ctx: self.ctx, top: true }).map(Some).map_err(at)
    }
}

/// One field's text (or one element of an ARRAY/ROW field).
struct FieldDe<'a> {
    text: &'a str,
    pos: usize,
    ctx: &'a CsvCtx<'a>,
    top: bool,
}

impl FieldDe<'_> {
    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, DeError> {
        self.text.trim().parse().map_err(|_| de::Error::custom(format!("expected {what}, found '{}'", self.text)))
    }
}

macro_rules! parse_as {
    ($($method:ident => $ty:ty, $visit:ident, $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit(self.parse::<$ty>($what)?)
        }
    )*};
}

impl<'de> Deserializer<'de> for FieldDe<'_> {
    type Error = DeError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.text.trim() {
            t if t.eq_ignore_ascii_case("true") => visitor.visit_bool(true),
            t if t.eq_ignore_ascii_case("false") => visitor.visit_bool(false),
            _ => Err(de::Error::custom(format!("expected true or false, found '{}'", self.text))),
        }
    }
    parse_as! {
        deserialize_i8 => i64, visit_i64, "an integer";
        deserialize_i16 => i64, visit_i64, "an integer";
        deserialize_i32 => i64, visit_i64, "an integer";
        deserialize_i64 => i64, visit_i64, "an integer";
        deserialize_i128 => i128, visit_i128, "an integer";
        deserialize_u8 => u64, visit_u64, "a non-negative integer";
        deserialize_u16 => u64, visit_u64, "a non-negative integer";
        deserialize_u32 => u64, visit_u64, "a non-negative integer";
        deserialize_u64 => u64, visit_u64, "a non-negative integer";
        deserialize_u128 => u128, visit_u128, "a non-negative integer";
        deserialize_f32 => f64, visit_f64, "a number";
        deserialize_f64 => f64, visit_f64, "a number";
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(self.text.as_bytes())
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(self.text.as_bytes())
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let ctx = self.ctx;
        if ctx.opts.null_literal.as_deref() == Some(self.text) || (self.top && ctx.forced_null[self.pos]) {
            visitor.visit_none()
        } else if !self.text.is_empty() {
            visitor.visit_some(self)
        } else if ctx.non_string[self.pos] {
            visitor.visit_none()
        } else {
            visitor.visit_some(EmptyProbe(self.pos))
        }
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut parts = self.text.split(self.ctx.opts.array_delimiter.as_str());
        if self.text.is_empty() {
            parts.next();
        }
        visitor.visit_seq(ElementSeq { parts, pos: self.pos, ctx: self.ctx })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DeError> {
        Err(de::Error::custom("MAP columns are not supported by the csv format"))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_enum(de::value::StrDeserializer::new(self.text))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
    forward_to_deserialize_any! { char str string unit unit_struct identifier }
}

/// An empty field offered to a column whose type is not known yet: fine for strings
/// (the empty string); for any other type, the error tells the decoder to read the
/// column's empty fields as NULL from now on.
struct EmptyProbe(usize);

impl<'de> Deserializer<'de> for EmptyProbe {
    type Error = DeError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0;
        visitor.visit_str::<DeError>("").map_err(|_| DeError {
            msg: "empty".into(),
            field: Some(pos),
            empty_at: Some(pos),
        })
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct ElementSeq<'a> {
    parts: std::str::Split<'a, &'a str>,
    pos: usize,
    ctx: &'a CsvCtx<'a>,
}

impl<'de> SeqAccess<'de> for ElementSeq<'_> {
    type Error = DeError;
    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, DeError> {
        match self.parts.next() {
            None => Ok(None),
            Some(text) => seed.deserialize(FieldDe { text, pos: self.pos, ctx: self.ctx, top: false }).map(Some),
        }
    }
}

/// Writes the fields of a CSV record, quoted where needed (RFC 4180, as Flink).
pub(super) struct CsvFields<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) opts: &'a CsvOptions,
    pub(super) text: &'a mut String,
    pub(super) style: &'a TextStyle,
    pub(super) columns: &'a [Column],
    pub(super) first: bool,
}

impl FieldVisitor for CsvFields<'_> {
    fn field<T: ?Sized + Serialize>(&mut self, index: usize, name: &'static str, value: &T) -> Result<(), SerError> {
        self.text.clear();
        let hint = column(self.columns, index, name).map(|c| c.ty);
        value.serialize(TextSer { out: self.text, style: self.style, hint })?;
        if !self.first {
            self.out.push(self.opts.field_delimiter);
        }
        self.first = false;
        let field = self.text.as_bytes();
        let special = |b: &u8| {
            *b == self.opts.field_delimiter
                || *b == b'\n'
                || *b == b'\r'
                || Some(*b) == self.opts.quote
                || Some(*b) == self.opts.escape
        };
        match self.opts.quote {
            Some(q) if field.iter().any(special) => {
                self.out.push(q);
                for &b in field {
                    if b == q || Some(b) == self.opts.escape {
                        self.out.push(self.opts.escape.unwrap_or(q));
                    }
                    self.out.push(b);
                }
                self.out.push(q);
            }
            _ => self.out.extend_from_slice(field),
        }
        Ok(())
    }
}
