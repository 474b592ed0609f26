//! Message keys and values: which columns each holds (`key.fields`, the PRIMARY KEY,
//! `value.fields-include`, `key.fields-prefix`), in which format (`json`, `csv`, `raw`),
//! and how rows are read from and written to them.
//!
//! Reading builds rows `R` directly from the format's deserializer: a value that holds all
//! columns is decoded by the format's [`Decoder`] as a file would be; a part that holds
//! some columns (a key, a value without the key columns) is decoded through a small serde
//! adapter that maps the part's fields (by name in JSON, by position in CSV) to the
//! table's columns. Key columns are first captured as plain values typed by their
//! column, so that they can be set both in the key row and in the value row.
//!
//! The adapters learn the layout of the part being decoded from a thread-local slot set
//! around each decode: [`Decoder`] takes a type, not a value, to decode into.

use crate::connectors::format::{Column, ColumnType, Decoder, Encoder, FieldVisitor, Format, SerError, Splitter};
use crate::error::Result;
use crate::options::TableOptions;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{self, Impossible, Serialize, SerializeStruct, Serializer};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

// ------------------------------------------------------------------------------------------
// Layout
// ------------------------------------------------------------------------------------------

/// The format of a key or value.
#[derive(Debug, Clone)]
pub(super) enum PartFormat {
    /// `json` or `csv`, with their options.
    Text(Format),
    /// `raw`: the bytes of a single STRING or BYTES column.
    Raw,
}

/// One part of a message (key or value): its format and the table columns it holds.
#[derive(Debug, Clone)]
pub(super) struct Part {
    pub(super) format: PartFormat,
    /// The columns, in the part's order: (index in the table, name in the format).
    pub(super) fields: Vec<(usize, &'static str)>,
    /// Whether the part is every column of the table, in order, under its own name.
    pub(super) whole_row: bool,
}

/// Where the columns of a table's rows are in its messages.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub(super) columns: &'static [Column],
    /// The key part (`key.fields` or the PRIMARY KEY), if any.
    pub(super) key: Option<Part>,
    /// The value part.
    pub(super) value: Part,
}

/// What decides the key columns.
pub(super) enum KeySpec<'a> {
    /// `key.fields` (kafka): optional; needs `key.format`.
    Option,
    /// The PRIMARY KEY (upsert-kafka): needs `key.format`.
    PrimaryKey(&'a [&'a str]),
}

impl Layout {
    /// The layout the options give a table of `columns`.
    pub(super) fn from_options(opts: &TableOptions, columns: &'static [Column], key: KeySpec<'_>) -> Result<Layout> {
        let find = |name: &str, option: &str| -> Result<usize> {
            columns.iter().position(|c| c.name == name).ok_or_else(|| {
                let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
                opts.error(option, format!("no column is named `{name}` (columns: {})", names.join(", ")))
            })
        };
        let key_columns: Option<Vec<usize>> = match key {
            KeySpec::Option => match opts.get("key.fields") {
                None => {
                    if opts.get("key.format").is_some() {
                        return Err(opts.error("key.format", "needs 'key.fields' (the columns of the key)"));
                    }
                    None
                }
                Some(list) => {
                    let names: Vec<&str> = list.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
                    if names.is_empty() {
                        return Err(opts.error("key.fields", "names no column"));
                    }
                    let mut idx = Vec::new();
                    for n in names {
                        let i = find(n, "key.fields")?;
                        if idx.contains(&i) {
                            return Err(opts.error("key.fields", format!("names `{n}` twice")));
                        }
                        idx.push(i);
                    }
                    Some(idx)
                }
            },
            KeySpec::PrimaryKey(pk) => {
                if pk.is_empty() {
                    return Err(opts.error("connector", "'upsert-kafka' needs a PRIMARY KEY"));
                }
                Some(pk.iter().map(|n| find(n, "connector")).collect::<Result<_>>()?)
            }
        };
        let except_key = match opts.get("value.fields-include") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("ALL") => false,
            Some(v) if v.eq_ignore_ascii_case("EXCEPT_KEY") => true,
            Some(v) => return Err(opts.error("value.fields-include", format!("'{v}' is not 'ALL' or 'EXCEPT_KEY'"))),
        };
        let prefix = opts.get("key.fields-prefix").unwrap_or("");
        if !prefix.is_empty() && !except_key {
            return Err(opts.error("key.fields-prefix", "needs 'value.fields-include' = 'EXCEPT_KEY'"));
        }
        let key = match &key_columns {
            None => None,
            Some(idx) => {
                let format = part_format(opts, "key.")?;
                let mut fields = Vec::new();
                for &i in idx {
                    let name = columns[i].name;
                    let Some(stripped) = name.strip_prefix(prefix) else {
                        return Err(opts.error(
                            "key.fields-prefix",
                            format!("key column `{name}` does not start with the prefix '{prefix}'"),
                        ));
                    };
                    if stripped.is_empty() {
                        return Err(opts.error("key.fields-prefix", format!("is all of key column `{name}`'s name")));
                    }
                    if let ColumnType::Other = columns[i].ty {
                        return Err(opts.error(
                            "key.fields",
                            format!("key column `{name}` has a type (ARRAY, MAP, ROW, …) that keys cannot hold"),
                        ));
                    }
                    fields.push((i, stripped));
                }
                Some(Part { format, fields, whole_row: false })
            }
        };
        let value_format = value_format(opts)?;
        let fields: Vec<(usize, &'static str)> = columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !except_key || !key_columns.as_ref().is_some_and(|k| k.contains(i)))
            .map(|(i, c)| (i, c.name))
            .collect();
        let whole_row = fields.len() == columns.len();
        let value = Part { format: value_format, fields, whole_row };
        let layout = Layout { columns, key, value };
        for (part, which) in [(layout.key.as_ref(), "key"), (Some(&layout.value), "value")] {
            let Some(part) = part else { continue };
            if let PartFormat::Raw = part.format {
                let option = if which == "key" { "key.format" } else { value_format_key(opts) };
                if part.fields.len() != 1 {
                    let names: Vec<&str> = part.fields.iter().map(|(i, _)| columns[*i].name).collect();
                    return Err(opts.error(
                        option,
                        format!(
                            "the 'raw' format holds exactly one column, but the {which} has {} ({}){}",
                            names.len(),
                            names.join(", "),
                            if which == "value" && !except_key && layout.key.is_some() {
                                "; set 'value.fields-include' = 'EXCEPT_KEY' to leave the key columns out"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                let c = &columns[part.fields[0].0];
                if raw_kind(c.ty).is_none() {
                    return Err(opts.error(
                        option,
                        format!(
                            "the 'raw' format reads and writes STRING or BYTES columns; `{}` is {:?}",
                            c.name, c.ty
                        ),
                    ));
                }
            }
        }
        Ok(layout)
    }
}

impl Layout {
    /// The layout without `columns` (metadata columns a sink writes into the record, not
    /// its key or value): an error names one that is a key column.
    pub(super) fn without(mut self, opts: &TableOptions, columns: &[usize]) -> Result<Layout> {
        if let Some(key) = &self.key
            && let Some((i, _)) = key.fields.iter().find(|(i, _)| columns.contains(i))
        {
            let name = self.columns[*i].name;
            return Err(opts.error("key.fields", format!("`{name}` is a metadata column, not part of the key")));
        }
        self.value.fields.retain(|(i, _)| !columns.contains(i));
        self.value.whole_row = self.value.fields.len() == self.columns.len();
        Ok(self)
    }
}

/// The key of the value's format option (`format` or `value.format`).
fn value_format_key(opts: &TableOptions) -> &'static str {
    if opts.get("value.format").is_some() { "value.format" } else { "format" }
}

/// The value format: `format` or `value.format` (only one).
fn value_format(opts: &TableOptions) -> Result<PartFormat> {
    match (opts.get("format"), opts.get("value.format")) {
        (Some(_), Some(_)) => Err(opts.error("value.format", "give either 'format' or 'value.format', not both")),
        (None, None) => Err(opts.error("format", "is required (or 'value.format')")),
        (Some(_), None) => part_format(opts, ""),
        (None, Some(_)) => part_format(opts, "value."),
    }
}

/// The format named by `<prefix>format`, with its `<prefix><format>.*` options.
fn part_format(opts: &TableOptions, prefix: &str) -> Result<PartFormat> {
    let key = format!("{prefix}format");
    match opts.required(&key)? {
        "raw" => {
            let charset = format!("{prefix}raw.charset");
            if let Some(c) = opts.get(&charset)
                && !c.eq_ignore_ascii_case("UTF-8")
                && !c.eq_ignore_ascii_case("UTF8")
            {
                return Err(opts.error(&charset, format!("'{c}' is not supported; only 'UTF-8' is")));
            }
            let endianness = format!("{prefix}raw.endianness");
            if let Some(e) = opts.get(&endianness)
                && !e.eq_ignore_ascii_case("big-endian")
                && !e.eq_ignore_ascii_case("little-endian")
            {
                return Err(opts.error(&endianness, format!("'{e}' is not 'big-endian' or 'little-endian'")));
            }
            Ok(PartFormat::Raw)
        }
        "json" | "csv" => Ok(PartFormat::Text(Format::from_options(opts, prefix)?)),
        other => {
            Err(opts
                .error(&key, format!("format '{other}' is not supported by Kafka tables; use 'json', 'csv' or 'raw'")))
        }
    }
}

/// How the raw format holds a column: as text (`true`) or bytes (`false`).
fn raw_kind(ty: ColumnType) -> Option<bool> {
    match ty {
        ColumnType::Char(_) | ColumnType::Varchar(_) => Some(true),
        ColumnType::Binary(_) | ColumnType::Varbinary(_) => Some(false),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------
// Plain values
// ------------------------------------------------------------------------------------------

/// A column value held between decoding a key and building rows from it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Dyn<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
}

/// A [`Dyn`] as a deserializer, with the error type of the caller.
struct DynDe<'a, 'b, E>(&'a Dyn<'b>, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for DynDe<'_, '_, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Dyn::Null => visitor.visit_none(),
            Dyn::Bool(b) => visitor.visit_bool(*b),
            Dyn::I64(i) => visitor.visit_i64(*i),
            Dyn::U64(u) => visitor.visit_u64(*u),
            Dyn::F64(f) => visitor.visit_f64(*f),
            Dyn::Str(s) => visitor.visit_str(s),
            Dyn::Bytes(b) => de::value::SeqDeserializer::new(b.iter().copied()).deserialize_any(visitor),
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Dyn::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Dyn::Bytes(b) => visitor.visit_bytes(b),
            Dyn::Str(s) => visitor.visit_bytes(s.as_bytes()),
            _ => self.deserialize_any(visitor),
        }
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_bytes(visitor)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// Named values as a struct (map) deserializer: `first`, then `then`.
struct EntriesDe<'a, 'b, E> {
    first: &'a [(&'static str, Dyn<'b>)],
    then: &'a [(&'static str, Dyn<'static>)],
    _e: PhantomData<E>,
}

impl<'de, E: de::Error> Deserializer<'de> for EntriesDe<'_, '_, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_map(EntriesAccess { first: self.first, then: self.then, pos: 0, _e: PhantomData })
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct EntriesAccess<'a, 'b, E> {
    first: &'a [(&'static str, Dyn<'b>)],
    then: &'a [(&'static str, Dyn<'static>)],
    pos: usize,
    _e: PhantomData<E>,
}

impl<'a, 'b, E> EntriesAccess<'a, 'b, E> {
    fn entry(&self, pos: usize) -> Option<(&'static str, &'a Dyn<'b>)> {
        match self.first.get(pos) {
            Some((n, v)) => Some((n, v)),
            None => self.then.get(pos - self.first.len()).map(|(n, v)| (*n, v)),
        }
    }
}

impl<'de, E: de::Error> MapAccess<'de> for EntriesAccess<'_, '_, E> {
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        match self.entry(self.pos) {
            None => Ok(None),
            Some((name, _)) => seed.deserialize(de::value::StrDeserializer::<E>::new(name)).map(Some),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        let (_, value) = self.entry(self.pos).ok_or_else(|| E::custom("no value"))?;
        self.pos += 1;
        seed.deserialize(DynDe(value, PhantomData))
    }
}

// ------------------------------------------------------------------------------------------
// Capturing key columns
// ------------------------------------------------------------------------------------------

/// The layout of the part being captured: its field names in the format and their types.
struct CaptureLayout {
    names: &'static [&'static str],
    types: Vec<ColumnType>,
}

thread_local! {
    static CAPTURE: Cell<Option<&'static CaptureLayout>> = const { Cell::new(None) };
    static PROJECT: Cell<Option<&'static ProjectLayout>> = const { Cell::new(None) };
    static EXTRAS: RefCell<Vec<(&'static str, Dyn<'static>)>> = const { RefCell::new(Vec::new()) };
}

/// Sets a thread-local slot for the duration of a decode.
struct SlotGuard<T: 'static + Copy> {
    slot: &'static std::thread::LocalKey<Cell<Option<T>>>,
    old: Option<T>,
}

impl<T: 'static + Copy> SlotGuard<T> {
    fn set(slot: &'static std::thread::LocalKey<Cell<Option<T>>>, value: T) -> Self {
        let old = slot.with(|c| c.replace(Some(value)));
        SlotGuard { slot, old }
    }
}

impl<T: 'static + Copy> Drop for SlotGuard<T> {
    fn drop(&mut self) {
        let old = self.old;
        self.slot.with(|c| c.set(old));
    }
}

/// The values of a part's columns, in the part's order, read with their columns' types.
struct Captured(Vec<Dyn<'static>>);

impl<'de> serde::Deserialize<'de> for Captured {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let layout = CAPTURE.with(Cell::get).ok_or_else(|| de::Error::custom("internal error: no key layout"))?;
        d.deserialize_struct("", layout.names, CaptureVisitor(layout))
    }
}

struct CaptureVisitor(&'static CaptureLayout);

impl<'de> Visitor<'de> for CaptureVisitor {
    type Value = Captured;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Captured, A::Error> {
        let layout = self.0;
        let mut values = vec![Dyn::Null; layout.names.len()];
        while let Some(key) = map.next_key_seed(KeyName)? {
            match layout.names.iter().position(|n| *n == key) {
                Some(i) => values[i] = map.next_value_seed(CaptureSeed(layout.types[i]))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Captured(values))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Captured, A::Error> {
        let layout = self.0;
        let mut values = Vec::with_capacity(layout.names.len());
        for ty in &layout.types {
            match seq.next_element_seed(CaptureSeed(*ty))? {
                Some(v) => values.push(v),
                None => break,
            }
        }
        values.resize(layout.names.len(), Dyn::Null);
        Ok(Captured(values))
    }
}

/// A map key as text, borrowed when the format allows.
struct KeyName;

impl<'de> DeserializeSeed<'de> for KeyName {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads one (nullable) column value as its type asks.
#[derive(Clone, Copy)]
struct CaptureSeed(ColumnType);

impl<'de> DeserializeSeed<'de> for CaptureSeed {
    type Value = Dyn<'static>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(OptionVisitor(self.0))
    }
}

struct OptionVisitor(ColumnType);

impl<'de> Visitor<'de> for OptionVisitor {
    type Value = Dyn<'static>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Dyn::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Dyn::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let v = ValueVisitor(self.0);
        match self.0 {
            ColumnType::Boolean => d.deserialize_bool(v),
            ColumnType::TinyInt | ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt => d.deserialize_i64(v),
            ColumnType::Float | ColumnType::Double => d.deserialize_f64(v),
            ColumnType::Char(_) | ColumnType::Varchar(_) => d.deserialize_string(v),
            ColumnType::Binary(_) | ColumnType::Varbinary(_) => d.deserialize_byte_buf(v),
            ColumnType::Date | ColumnType::Time(_) | ColumnType::Timestamp(_) | ColumnType::TimestampLtz(_) => {
                d.deserialize_str(v)
            }
            ColumnType::Decimal { .. } | ColumnType::Other => d.deserialize_any(v),
        }
    }
}

/// Accepts what a column of the type accepts (so that format deserializers that probe
/// with a value, as CSV does with empty fields, learn the same as for the row type).
struct ValueVisitor(ColumnType);

impl ValueVisitor {
    fn numeric(&self) -> bool {
        matches!(
            self.0,
            ColumnType::TinyInt
                | ColumnType::SmallInt
                | ColumnType::Int
                | ColumnType::BigInt
                | ColumnType::Float
                | ColumnType::Double
                | ColumnType::Decimal { .. }
                | ColumnType::Other
        )
    }
    fn texty(&self) -> bool {
        !matches!(
            self.0,
            ColumnType::Boolean
                | ColumnType::TinyInt
                | ColumnType::SmallInt
                | ColumnType::Int
                | ColumnType::BigInt
                | ColumnType::Float
                | ColumnType::Double
        )
    }
    fn reject<E: de::Error>(&self, what: de::Unexpected<'_>) -> E {
        E::invalid_type(what, self)
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Dyn<'static>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of type {:?}", self.0)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        match self.0 {
            ColumnType::Boolean | ColumnType::Other => Ok(Dyn::Bool(v)),
            _ => Err(self.reject(de::Unexpected::Bool(v))),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        if self.numeric() { Ok(Dyn::I64(v)) } else { Err(self.reject(de::Unexpected::Signed(v))) }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        if self.numeric() { Ok(Dyn::U64(v)) } else { Err(self.reject(de::Unexpected::Unsigned(v))) }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        match self.0 {
            ColumnType::Float | ColumnType::Double | ColumnType::Decimal { .. } | ColumnType::Other => Ok(Dyn::F64(v)),
            _ => Err(self.reject(de::Unexpected::Float(v))),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        match self.0 {
            ColumnType::Binary(_) | ColumnType::Varbinary(_) => Ok(Dyn::Bytes(Cow::Owned(v.into_bytes()))),
            ColumnType::Char(_) | ColumnType::Varchar(_) => Ok(Dyn::Str(Cow::Owned(v))),
            // No number, date or time is written as nothing (CSV reads such a field as NULL).
            _ if self.texty() && !v.is_empty() => Ok(Dyn::Str(Cow::Owned(v))),
            _ => Err(self.reject(de::Unexpected::Str(&v))),
        }
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        match self.0 {
            ColumnType::Binary(_) | ColumnType::Varbinary(_) => Ok(Dyn::Bytes(Cow::Owned(v.to_vec()))),
            _ => match std::str::from_utf8(v) {
                Ok(s) => self.visit_str(s),
                Err(_) => Err(self.reject(de::Unexpected::Bytes(v))),
            },
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        match self.0 {
            ColumnType::Binary(_) | ColumnType::Varbinary(_) => {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(Dyn::Bytes(Cow::Owned(out)))
            }
            _ => Err(self.reject(de::Unexpected::Seq)),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Rows from some columns plus captured ones
// ------------------------------------------------------------------------------------------

/// The layout of a value part that is not the whole row.
struct ProjectLayout {
    /// The part's field names in the format (deserializer's view).
    format_names: &'static [&'static str],
    /// The table names of the same fields (the row's view).
    table_names: &'static [&'static str],
    /// Table names of columns the part does not hold but whose names a JSON value may
    /// still carry (the key columns): ignored.
    ignored: &'static [&'static str],
}

/// A row `R` decoded from a part holding some of its columns (named in [`PROJECT`]),
/// with the captured values in [`EXTRAS`] added.
struct Projected<R>(R);

impl<'de, R: DeserializeOwned> serde::Deserialize<'de> for Projected<R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let layout = PROJECT.with(Cell::get).ok_or_else(|| de::Error::custom("internal error: no value layout"))?;
        d.deserialize_struct("", layout.format_names, ProjectVisitor::<R>(layout, PhantomData))
    }
}

struct ProjectVisitor<R>(&'static ProjectLayout, PhantomData<fn() -> R>);

impl<'de, R: DeserializeOwned> Visitor<'de> for ProjectVisitor<R> {
    type Value = Projected<R>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Projected<R>, A::Error> {
        EXTRAS.with(|extras| {
            let extras = extras.borrow();
            let access = ProjectAccess {
                src: Src::<A, NoAccess<A::Error>>::Map(map),
                layout: self.0,
                extras: &extras,
                pos: 0,
                in_src: true,
            };
            R::deserialize(ProjectDe(access)).map(Projected)
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Projected<R>, A::Error> {
        EXTRAS.with(|extras| {
            let extras = extras.borrow();
            let access = ProjectAccess {
                src: Src::<NoAccess<A::Error>, A>::Seq(seq),
                layout: self.0,
                extras: &extras,
                pos: 0,
                in_src: true,
            };
            R::deserialize(ProjectDe(access)).map(Projected)
        })
    }
}

enum Src<M, S> {
    Map(M),
    Seq(S),
}

/// The access of the kind a [`Src`] is not.
struct NoAccess<E>(PhantomData<E>);

impl<'de, E: de::Error> MapAccess<'de> for NoAccess<E> {
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Result<Option<K::Value>, E> {
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _: V) -> Result<V::Value, E> {
        Err(E::custom("no value"))
    }
}

impl<'de, E: de::Error> SeqAccess<'de> for NoAccess<E> {
    type Error = E;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, _: T) -> Result<Option<T::Value>, E> {
        Ok(None)
    }
}

/// The fields of the part (renamed to the table's names), then the extras.
struct ProjectAccess<'x, M, S> {
    src: Src<M, S>,
    layout: &'static ProjectLayout,
    extras: &'x [(&'static str, Dyn<'static>)],
    /// Fields yielded so far (of the sequence; then of the extras).
    pos: usize,
    /// Whether the part's fields are not exhausted yet.
    in_src: bool,
}

struct ProjectDe<'x, M, S>(ProjectAccess<'x, M, S>);

impl<'de, M, S, E> Deserializer<'de> for ProjectDe<'_, M, S>
where
    E: de::Error,
    M: MapAccess<'de, Error = E>,
    S: SeqAccess<'de, Error = E>,
{
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_map(self.0)
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, M, S, E> MapAccess<'de> for ProjectAccess<'_, M, S>
where
    E: de::Error,
    M: MapAccess<'de, Error = E>,
    S: SeqAccess<'de, Error = E>,
{
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        if self.in_src {
            match &mut self.src {
                Src::Map(map) => loop {
                    match map.next_key_seed(KeyName)? {
                        None => {
                            self.in_src = false;
                            break;
                        }
                        Some(key) => {
                            if self.layout.ignored.contains(&key.as_ref()) {
                                map.next_value::<IgnoredAny>()?;
                                continue;
                            }
                            let name = match self.layout.format_names.iter().position(|n| *n == key) {
                                Some(i) => self.layout.table_names[i],
                                // Not a column: the row ignores it.
                                None => return seed.deserialize(de::value::StrDeserializer::new(&key)).map(Some),
                            };
                            return seed.deserialize(de::value::StrDeserializer::new(name)).map(Some);
                        }
                    }
                },
                Src::Seq(_) => {
                    if self.pos < self.layout.table_names.len() {
                        let name = self.layout.table_names[self.pos];
                        return seed.deserialize(de::value::StrDeserializer::new(name)).map(Some);
                    }
                    self.in_src = false;
                    self.pos = 0;
                }
            }
            self.pos = 0;
        }
        match self.extras.get(self.pos) {
            None => Ok(None),
            Some((name, _)) => seed.deserialize(de::value::StrDeserializer::new(name)).map(Some),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        if self.in_src {
            match &mut self.src {
                Src::Map(map) => return map.next_value_seed(seed),
                Src::Seq(seq) => {
                    self.pos += 1;
                    let mut slot = Some(seed);
                    return match seq.next_element_seed(TakeSeed(&mut slot))? {
                        Some(v) => Ok(v),
                        // A short record (read leniently): the missing fields are NULL.
                        None => match slot.take() {
                            Some(seed) => seed.deserialize(DynDe(&Dyn::Null, PhantomData)),
                            None => Err(E::custom("internal error: field read twice")),
                        },
                    };
                }
            }
        }
        let (_, value) = self.extras.get(self.pos).ok_or_else(|| E::custom("no value"))?;
        self.pos += 1;
        seed.deserialize(DynDe(value, PhantomData))
    }
}

/// A seed taken from a slot when used, so that it is still there when it was not.
struct TakeSeed<'a, S>(&'a mut Option<S>);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for TakeSeed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        match self.0.take() {
            Some(seed) => seed.deserialize(d),
            None => Err(de::Error::custom("internal error: field read twice")),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Decoders
// ------------------------------------------------------------------------------------------

/// Reads the key columns of messages.
pub(super) struct KeyDecoder {
    kind: KeyDecoderKind,
    /// The key columns' table names, in the key's order.
    table_names: &'static [&'static str],
}

enum KeyDecoderKind {
    Text(Decoder<Captured>, &'static CaptureLayout),
    Raw { text: bool },
}

impl KeyDecoder {
    pub(super) fn new(layout: &Layout) -> Option<KeyDecoder> {
        let part = layout.key.as_ref()?;
        let table_names = leak(part.fields.iter().map(|(i, _)| layout.columns[*i].name).collect());
        let kind = match &part.format {
            PartFormat::Raw => {
                KeyDecoderKind::Raw { text: raw_kind(layout.columns[part.fields[0].0].ty) == Some(true) }
            }
            PartFormat::Text(format) => {
                let capture: &'static CaptureLayout = Box::leak(Box::new(CaptureLayout {
                    names: leak(part.fields.iter().map(|(_, n)| *n).collect()),
                    types: part.fields.iter().map(|(i, _)| layout.columns[*i].ty).collect(),
                }));
                // The decoder learns the field names of what it decodes when it is made.
                let _guard = SlotGuard::set(&CAPTURE, capture);
                KeyDecoderKind::Text(Decoder::new(format), capture)
            }
        };
        Some(KeyDecoder { kind, table_names })
    }

    /// The key columns of `key` as (table name, value), in `out`.
    pub(super) fn decode(&mut self, key: &[u8], out: &mut Vec<(&'static str, Dyn<'static>)>) -> Result<(), String> {
        out.clear();
        match &mut self.kind {
            KeyDecoderKind::Raw { text } => {
                let v = if *text {
                    Dyn::Str(Cow::Owned(
                        std::str::from_utf8(key).map_err(|_| "not valid UTF-8".to_string())?.to_string(),
                    ))
                } else {
                    Dyn::Bytes(Cow::Owned(key.to_vec()))
                };
                out.push((self.table_names[0], v));
            }
            KeyDecoderKind::Text(decoder, capture) => {
                let _guard = SlotGuard::set(&CAPTURE, *capture);
                let Captured(values) = decoder.decode(key)?;
                out.extend(self.table_names.iter().copied().zip(values));
            }
        }
        Ok(())
    }

    /// A row with only the key columns set.
    pub(super) fn row<R: DeserializeOwned>(values: &[(&'static str, Dyn<'static>)]) -> Result<R, String> {
        R::deserialize(EntriesDe::<de::value::Error> { first: &[], then: values, _e: PhantomData })
            .map_err(|e| e.to_string())
    }
}

/// Reads rows from message values.
pub(super) struct ValueDecoder<R> {
    kind: ValueDecoderKind<R>,
}

enum ValueDecoderKind<R> {
    /// The value holds the whole row.
    Whole(Decoder<R>),
    /// The value holds some columns; the key's are added.
    Projected(Decoder<Projected<R>>, &'static ProjectLayout),
    /// The single column of a raw value.
    Raw { name: &'static str, text: bool },
}

impl<R: DeserializeOwned> ValueDecoder<R> {
    pub(super) fn new(layout: &Layout) -> ValueDecoder<R> {
        let part = &layout.value;
        let kind = match &part.format {
            PartFormat::Raw => {
                let c = &layout.columns[part.fields[0].0];
                ValueDecoderKind::Raw { name: c.name, text: raw_kind(c.ty) == Some(true) }
            }
            PartFormat::Text(format) if part.whole_row => ValueDecoderKind::Whole(Decoder::new(format)),
            PartFormat::Text(format) => {
                let ignored = match &layout.key {
                    Some(k) => leak(k.fields.iter().map(|(i, _)| layout.columns[*i].name).collect()),
                    None => &[],
                };
                let project: &'static ProjectLayout = Box::leak(Box::new(ProjectLayout {
                    format_names: leak(part.fields.iter().map(|(_, n)| *n).collect()),
                    table_names: leak(part.fields.iter().map(|(i, _)| layout.columns[*i].name).collect()),
                    ignored,
                }));
                let _guard = SlotGuard::set(&PROJECT, project);
                ValueDecoderKind::Projected(Decoder::new(format), project)
            }
        };
        ValueDecoder { kind }
    }

    /// Whether the row needs the key's columns added ([`decode`](Self::decode)'s `extras`).
    pub(super) fn wants_key_columns(&self) -> bool {
        !matches!(self.kind, ValueDecoderKind::Whole(_))
    }

    /// Decodes `value` (`None`: a tombstone, only readable by `raw`) into a row, with the
    /// `extras` (the key columns) set too when the value does not hold them. `Ok(None)`: a
    /// tombstone that is no row.
    pub(super) fn decode(
        &mut self,
        value: Option<&[u8]>,
        extras: &mut Vec<(&'static str, Dyn<'static>)>,
    ) -> Result<Option<R>, String> {
        match &mut self.kind {
            ValueDecoderKind::Whole(decoder) => match value {
                None => Ok(None),
                Some(bytes) => decoder.decode(bytes).map(Some),
            },
            ValueDecoderKind::Projected(decoder, layout) => {
                let Some(bytes) = value else { return Ok(None) };
                let _guard = SlotGuard::set(&PROJECT, *layout);
                EXTRAS.with(|e| std::mem::swap(&mut *e.borrow_mut(), extras));
                let result = decoder.decode(bytes);
                EXTRAS.with(|e| std::mem::swap(&mut *e.borrow_mut(), extras));
                result.map(|Projected(row)| Some(row))
            }
            ValueDecoderKind::Raw { name, text } => {
                let v = match value {
                    None => Dyn::Null,
                    Some(bytes) if *text => {
                        Dyn::Str(Cow::Borrowed(std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())?))
                    }
                    Some(bytes) => Dyn::Bytes(Cow::Borrowed(bytes)),
                };
                let first = [(*name, v)];
                R::deserialize(EntriesDe::<de::value::Error> { first: &first, then: extras, _e: PhantomData })
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// A decoded message: the row, the key row (with `key.fields` and a message key), and
/// whether it is a tombstone (an `upsert-kafka` deletion: the row has the key columns only).
pub(super) type Decoded<R> = (R, Option<R>, bool);

/// How one table's messages become rows: its key and value formats, and the NOT NULL
/// checks its rows must pass.
pub(super) struct RowDecoder<R> {
    key: Option<KeyDecoder>,
    value: ValueDecoder<R>,
    validate: fn(&R) -> Result<(), String>,
    /// `upsert-kafka`: a message without a value deletes its key.
    upsert: bool,
    key_values: Vec<(&'static str, Dyn<'static>)>,
    no_values: Vec<(&'static str, Dyn<'static>)>,
}

impl<R: DeserializeOwned> RowDecoder<R> {
    /// The decoder of the table of `opts` and `columns`, its key as `key_spec` says.
    pub(super) fn new(
        opts: &TableOptions,
        columns: &'static [Column],
        key_spec: KeySpec<'_>,
        validate: fn(&R) -> Result<(), String>,
    ) -> Result<Self> {
        let upsert = matches!(key_spec, KeySpec::PrimaryKey(_));
        let layout = Layout::from_options(opts, columns, key_spec)?;
        Ok(RowDecoder {
            key: KeyDecoder::new(&layout),
            value: ValueDecoder::new(&layout),
            validate,
            upsert,
            key_values: Vec::new(),
            no_values: Vec::new(),
        })
    }

    /// The row of a message's `key` and `payload`; `None` for a message that is no row.
    pub(super) fn decode(&mut self, key: Option<&[u8]>, payload: Option<&[u8]>) -> Result<Option<Decoded<R>>, String> {
        let mut key_values = std::mem::take(&mut self.key_values);
        let result = self.decode_with(key, payload, &mut key_values);
        self.key_values = key_values;
        result
    }

    fn decode_with(
        &mut self,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        key_values: &mut Vec<(&'static str, Dyn<'static>)>,
    ) -> Result<Option<Decoded<R>>, String> {
        key_values.clear();
        let key = match (&mut self.key, key) {
            (Some(decoder), Some(bytes)) => {
                decoder.decode(bytes, key_values).map_err(|e| format!("key: {e}"))?;
                Some(KeyDecoder::row::<R>(key_values).map_err(|e| format!("key: {e}"))?)
            }
            _ => None,
        };
        if self.upsert && payload.is_none() {
            // A deletion: of its key, which it must have.
            let Some(key) = key else { return Err("a tombstone (no value) without a key".to_string()) };
            let row = KeyDecoder::row::<R>(key_values).map_err(|e| format!("key: {e}"))?;
            return Ok(Some((row, Some(key), true)));
        }
        let extras = if self.value.wants_key_columns() { key_values } else { &mut self.no_values };
        let Some(value) = self.value.decode(payload, extras).map_err(|e| format!("value: {e}"))? else {
            return Ok(None);
        };
        (self.validate)(&value)?;
        Ok(Some((value, key, false)))
    }
}

/// A slice that lives as long as the program (layouts are made once per table).
fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

// ------------------------------------------------------------------------------------------
// Encoding
// ------------------------------------------------------------------------------------------

/// Writes one part (key or value) of messages from rows.
pub(super) struct PartEncoder {
    kind: PartEncoderKind,
}

enum PartEncoderKind {
    /// JSON or CSV of the whole row.
    Whole(Encoder),
    /// JSON or CSV of some columns.
    Projected(Encoder, Projection),
    /// The single column's bytes.
    Raw { index: usize },
}

/// Some columns of a row, renamed and maybe reordered.
struct Projection {
    /// (index in the row, name in the format), in the part's order.
    fields: Vec<(usize, &'static str)>,
    /// Whether `fields` is in the row's order (one pass over the row suffices).
    in_order: bool,
    /// For each row field, its name in the part (in-order projections).
    by_index: Vec<Option<&'static str>>,
}

impl PartEncoder {
    pub(super) fn new(part: &Part, columns: &'static [Column]) -> PartEncoder {
        let kind = match &part.format {
            PartFormat::Raw => PartEncoderKind::Raw { index: part.fields[0].0 },
            PartFormat::Text(format) if part.whole_row => PartEncoderKind::Whole(Encoder::new(format, columns)),
            PartFormat::Text(format) => {
                let projected: Vec<Column> =
                    part.fields.iter().map(|&(i, name)| Column { name, ..columns[i] }).collect();
                let in_order = part.fields.windows(2).all(|w| w[0].0 < w[1].0);
                let mut by_index = vec![None; columns.len()];
                for (i, name) in &part.fields {
                    by_index[*i] = Some(*name);
                }
                let projection = Projection { fields: part.fields.clone(), in_order, by_index };
                PartEncoderKind::Projected(Encoder::new(format, &projected), projection)
            }
        };
        PartEncoder { kind }
    }

    /// Appends the part of `row` to `out`; `false` if it is NULL (a raw NULL column).
    pub(super) fn encode<R: Serialize>(&mut self, row: &R, out: &mut Vec<u8>) -> Result<bool, String> {
        match &mut self.kind {
            PartEncoderKind::Whole(encoder) => encoder.encode(row, out).map(|()| true),
            PartEncoderKind::Projected(encoder, projection) => {
                encoder.encode(&ProjectedRow { row, projection }, out).map(|()| true)
            }
            PartEncoderKind::Raw { index } => {
                let mut slot = None;
                let mut pick = Pick { want: Want::<Impossible<(), SerError>>::Raw(*index, &mut slot) };
                row.serialize(Splitter { fields: &mut pick, index: 0 }).map_err(|e| e.0)?;
                match slot {
                    Some(Some(bytes)) => {
                        out.extend_from_slice(&bytes);
                        Ok(true)
                    }
                    Some(None) => Ok(false),
                    None => Err(format!("the row has no field {}", *index + 1)),
                }
            }
        }
    }
}

/// A row seen through a projection.
struct ProjectedRow<'a, R> {
    row: &'a R,
    projection: &'a Projection,
}

impl<R: Serialize> Serialize for ProjectedRow<'_, R> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.projection;
        let mut out = s.serialize_struct("Row", p.fields.len())?;
        if p.in_order {
            let mut pick = Pick { want: Want::InOrder(&p.by_index, &mut out) };
            self.row.serialize(Splitter { fields: &mut pick, index: 0 }).map_err(ser_error::<S>)?;
        } else {
            for &(index, name) in &p.fields {
                let mut pick = Pick { want: Want::One(index, name, &mut out) };
                self.row.serialize(Splitter { fields: &mut pick, index: 0 }).map_err(ser_error::<S>)?;
            }
        }
        out.end()
    }
}

fn ser_error<S: Serializer>(e: SerError) -> S::Error {
    <S::Error as ser::Error>::custom(e.0)
}

/// What a [`Pick`] takes from a row's fields.
enum Want<'a, T> {
    /// Every field with a name in the list, into the struct.
    InOrder(&'a [Option<&'static str>], &'a mut T),
    /// Field `index`, as `name`, into the struct.
    One(usize, &'static str, &'a mut T),
    /// Field `index`'s bytes (`None`: NULL).
    Raw(usize, &'a mut Option<Option<Vec<u8>>>),
}

/// Takes some fields of a row (visited by a [`Splitter`]) and passes them on.
struct Pick<'a, T> {
    want: Want<'a, T>,
}

impl<T: SerializeStruct> FieldVisitor for Pick<'_, T> {
    fn field<V: ?Sized + Serialize>(&mut self, index: usize, _: &'static str, value: &V) -> Result<(), SerError> {
        let forward =
            |out: &mut T, name: &'static str| out.serialize_field(name, value).map_err(|e| SerError(e.to_string()));
        match &mut self.want {
            Want::InOrder(names, out) => match names.get(index) {
                Some(Some(name)) => forward(out, name),
                _ => Ok(()),
            },
            Want::One(want, name, out) if *want == index => forward(out, name),
            Want::One(..) => Ok(()),
            Want::Raw(want, slot) if *want == index => {
                **slot = Some(value.serialize(RawBytes)?);
                Ok(())
            }
            Want::Raw(..) => Ok(()),
        }
    }
}

/// A STRING or BYTES value as bytes (`None`: NULL).
struct RawBytes;

fn not_raw() -> SerError {
    SerError("the 'raw' format writes only STRING and BYTES columns".into())
}

macro_rules! not_raw {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<Option<Vec<u8>>, SerError> { Err(not_raw()) }
    )*};
}

impl Serializer for RawBytes {
    type Ok = Option<Vec<u8>>;
    type Error = SerError;
    type SerializeSeq = ByteSeq;
    type SerializeTuple = Impossible<Option<Vec<u8>>, SerError>;
    type SerializeTupleStruct = Impossible<Option<Vec<u8>>, SerError>;
    type SerializeTupleVariant = Impossible<Option<Vec<u8>>, SerError>;
    type SerializeMap = Impossible<Option<Vec<u8>>, SerError>;
    type SerializeStruct = Impossible<Option<Vec<u8>>, SerError>;
    type SerializeStructVariant = Impossible<Option<Vec<u8>>, SerError>;
    not_raw! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64); serialize_f32(f32);
        serialize_f64(f64); serialize_char(char); serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok, SerError> {
        Ok(Some(v.as_bytes().to_vec()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok, SerError> {
        Ok(Some(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Self::Ok, SerError> {
        Ok(None)
    }
    fn serialize_unit(self) -> Result<Self::Ok, SerError> {
        Ok(None)
    }
    fn serialize_some<V: ?Sized + Serialize>(self, v: &V) -> Result<Self::Ok, SerError> {
        v.serialize(self)
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(self, _: &'static str, v: &V) -> Result<Self::Ok, SerError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<Self::Ok, SerError> {
        Err(not_raw())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ByteSeq, SerError> {
        Ok(ByteSeq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SerError> {
        Err(not_raw())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, SerError> {
        Err(not_raw())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, SerError> {
        Err(not_raw())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SerError> {
        Err(not_raw())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, SerError> {
        Err(not_raw())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, SerError> {
        Err(not_raw())
    }
}

/// A BYTES value (a sequence of numbers) collected.
struct ByteSeq(Vec<u8>);

impl ser::SerializeSeq for ByteSeq {
    type Ok = Option<Vec<u8>>;
    type Error = SerError;
    fn serialize_element<V: ?Sized + Serialize>(&mut self, v: &V) -> Result<(), SerError> {
        let byte = v.serialize(serde_json::value::Serializer).map_err(|e| SerError(e.to_string()))?;
        match byte.as_u64().and_then(|b| u8::try_from(b).ok()) {
            Some(b) => {
                self.0.push(b);
                Ok(())
            }
            None => Err(not_raw()),
        }
    }
    fn end(self) -> Result<Option<Vec<u8>>, SerError> {
        Ok(Some(self.0))
    }
}
