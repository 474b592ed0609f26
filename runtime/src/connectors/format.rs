//! Record formats of the file (and message) connectors: newline-delimited JSON and
//! positional CSV, configured by Flink's `json.*` and `csv.*` options.
//!
//! A [`Decoder`] turns one record into a row `R: DeserializeOwned` (a generated struct of
//! `Option<T>` fields with `#[serde(default)]`); an [`Encoder`] writes a row `R: Serialize`
//! as one record. Decode errors are messages saying what is wrong (which field, what was
//! expected); callers add where (file and line, topic and offset).
//!
//! As in Flink, reading is lenient where it is unambiguous: JSON numbers and booleans
//! written as strings (`"42"`) are read into numeric columns, and scalars into string
//! columns (such records take a slower path). With `ignore-parse-errors`, a field that
//! cannot be read becomes NULL and only a record that cannot be read at all is an error
//! (which the connector then skips). Timestamps are read in both the SQL
//! (`2020-12-30 12:13:14.123`) and the ISO-8601 (`2020-12-30T12:13:14.123Z`) forms.
//!
//! CSV is positional and has no header: the n-th field is the n-th column. An empty field
//! is NULL for every column but a string one (where it is the empty string, as in Flink),
//! and `csv.null-literal` is NULL for every column. ARRAY and ROW values are written and
//! read as their elements joined by `csv.array-element-delimiter`; MAP columns are not
//! supported in CSV.
//!
//! Writing follows Flink: JSON objects keyed by column name, DECIMALs as plain numbers
//! with the column's scale, TIMESTAMP_LTZ values with a trailing `Z`, a `T` between date
//! and time with `json.timestamp-format.standard` = `ISO-8601`; CSV fields quoted where
//! needed, FLOAT and DOUBLE as Java writes them (`1.0E10`). Accepted without effect:
//! `json.map-null-key.*`, `json.encode.decimal-as-plain-number` (always plain),
//! `json.decode.json-parser.enabled`, `csv.write-bigdecimal-in-scientific-notation`.
//! BYTES values are written as arrays of numbers (JSON) or elements (CSV), not Flink's
//! base64.

use crate::error::{Error, Result};
use crate::options::TableOptions;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{self, Impossible, Serialize, Serializer};
use std::cell::Cell;
use std::fmt::{self, Display};
use std::marker::PhantomData;

mod csv;
mod json;
mod text;

use self::csv::{CsvFields, CsvState, decode_csv};
use self::json::{JsonFields, decode_json};
pub(crate) use self::text::{TextSer, TextStyle};

/// One column of a table, as the generated code describes it (`COLUMNS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The SQL column name (the key of JSON objects).
    pub name: &'static str,
    /// Its SQL type.
    pub ty: ColumnType,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// The SQL type of a [`Column`], as far as connectors care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// BOOLEAN.
    Boolean,
    /// TINYINT.
    TinyInt,
    /// SMALLINT.
    SmallInt,
    /// INT.
    Int,
    /// BIGINT.
    BigInt,
    /// FLOAT.
    Float,
    /// DOUBLE.
    Double,
    /// DECIMAL(precision, scale).
    Decimal {
        /// Digits in all.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// CHAR(n).
    Char(u32),
    /// VARCHAR(n); STRING is VARCHAR(2147483647).
    Varchar(u32),
    /// BINARY(n).
    Binary(u32),
    /// VARBINARY(n); BYTES is VARBINARY(2147483647).
    Varbinary(u32),
    /// DATE.
    Date,
    /// TIME(p).
    Time(u8),
    /// TIMESTAMP(p).
    Timestamp(u8),
    /// TIMESTAMP_LTZ(p).
    TimestampLtz(u8),
    /// Anything else (ARRAY, MAP, ROW, INTERVAL, …).
    Other,
}

/// The column at `index` if its name is `name`, else the column named `name`.
pub(crate) fn column<'a>(columns: &'a [Column], index: usize, name: &str) -> Option<&'a Column> {
    match columns.get(index) {
        Some(c) if c.name == name || name.is_empty() => Some(c),
        _ => columns.iter().find(|c| c.name == name),
    }
}

// ------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------

/// A record format with its options.
#[derive(Debug, Clone)]
pub enum Format {
    /// `'format' = 'json'`: one JSON object per record.
    Json(JsonOptions),
    /// `'format' = 'csv'`: one CSV record per record, fields in column order.
    Csv(CsvOptions),
}

/// The `json.*` options.
#[derive(Debug, Clone, Default)]
pub struct JsonOptions {
    /// `json.ignore-parse-errors`: unreadable fields become NULL, unreadable records are
    /// reported so that the connector skips them.
    pub ignore_parse_errors: bool,
    /// `json.fail-on-missing-field`: a column absent from an object is an error (else NULL).
    pub fail_on_missing_field: bool,
    /// `json.timestamp-format.standard` = `ISO-8601`: write `T` between date and time.
    pub iso_timestamps: bool,
    /// `json.encode.ignore-null-fields`: leave NULL columns out of written objects.
    pub ignore_null_fields: bool,
}

/// The `csv.*` options.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// `csv.field-delimiter` (default `,`).
    pub field_delimiter: u8,
    /// `csv.quote-character` (default `"`); `None` with `csv.disable-quote-character`.
    pub quote: Option<u8>,
    /// `csv.allow-comments`: skip lines starting with `#`.
    pub allow_comments: bool,
    /// `csv.ignore-parse-errors`: unreadable fields become NULL, unreadable records are
    /// reported so that the connector skips them.
    pub ignore_parse_errors: bool,
    /// `csv.null-literal`: the text of NULL.
    pub null_literal: Option<String>,
    /// `csv.escape-character`.
    pub escape: Option<u8>,
    /// `csv.array-element-delimiter` (default `;`): between elements of ARRAY and ROW values.
    pub array_delimiter: String,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            field_delimiter: b',',
            quote: Some(b'"'),
            allow_comments: false,
            ignore_parse_errors: false,
            null_literal: None,
            escape: None,
            array_delimiter: ";".into(),
        }
    }
}

impl Format {
    /// Reads `<prefix>format` and that format's `<prefix><format>.*` options (prefix `""`
    /// for the filesystem connector, `"value."` or `"key."` for Kafka).
    pub fn from_options(opts: &TableOptions, prefix: &str) -> Result<Format> {
        let format_key = format!("{prefix}format");
        let key = |name: &str, option: &str| format!("{prefix}{name}.{option}");
        let flag = |k: &str| -> Result<bool> { Ok(opts.bool(k)?.unwrap_or(false)) };
        match opts.required(&format_key)? {
            "json" => {
                let (ignore, fail) = (key("json", "ignore-parse-errors"), key("json", "fail-on-missing-field"));
                let json = JsonOptions {
                    ignore_parse_errors: flag(&ignore)?,
                    fail_on_missing_field: flag(&fail)?,
                    iso_timestamps: match opts.get(&key("json", "timestamp-format.standard")) {
                        None => false,
                        Some(v) if v.eq_ignore_ascii_case("SQL") => false,
                        Some(v) if v.eq_ignore_ascii_case("ISO-8601") => true,
                        Some(v) => {
                            let k = key("json", "timestamp-format.standard");
                            return Err(opts.error(&k, format!("'{v}' is not 'SQL' or 'ISO-8601'")));
                        }
                    },
                    ignore_null_fields: flag(&key("json", "encode.ignore-null-fields"))?,
                };
                if json.ignore_parse_errors && json.fail_on_missing_field {
                    return Err(opts.error(&fail, format!("cannot be true together with '{ignore}'")));
                }
                Ok(Format::Json(json))
            }
            "csv" => {
                let char_option = |option: &str| -> Result<Option<u8>> {
                    let k = key("csv", option);
                    opts.get(&k)
                        .map(|v| match v {
                            "\\t" => Ok(b'\t'),
                            _ => match v.as_bytes() {
                                [b] if b.is_ascii() => Ok(*b),
                                _ => Err(opts.error(&k, format!("'{v}' is not a single ASCII character"))),
                            },
                        })
                        .transpose()
                };
                let disable_quote = flag(&key("csv", "disable-quote-character"))?;
                let quote = char_option("quote-character")?;
                if disable_quote && quote.is_some() {
                    let k = key("csv", "quote-character");
                    return Err(opts.error(&k, "cannot be set when 'disable-quote-character' is true"));
                }
                let array_delimiter = opts.get(&key("csv", "array-element-delimiter")).unwrap_or(";");
                if array_delimiter.is_empty() {
                    return Err(opts.error(&key("csv", "array-element-delimiter"), "must not be empty"));
                }
                Ok(Format::Csv(CsvOptions {
                    field_delimiter: char_option("field-delimiter")?.unwrap_or(b','),
                    quote: if disable_quote { None } else { Some(quote.unwrap_or(b'"')) },
                    allow_comments: flag(&key("csv", "allow-comments"))?,
                    ignore_parse_errors: flag(&key("csv", "ignore-parse-errors"))?,
                    null_literal: opts.get(&key("csv", "null-literal")).map(str::to_string),
                    escape: char_option("escape-character")?,
                    array_delimiter: array_delimiter.to_string(),
                }))
            }
            other => {
                Err(opts.error(&format_key, format!("format '{other}' is not supported here; use 'json' or 'csv'")))
            }
        }
    }

    /// Whether unreadable records are to be skipped rather than fail the job.
    pub fn ignore_parse_errors(&self) -> bool {
        match self {
            Format::Json(j) => j.ignore_parse_errors,
            Format::Csv(c) => c.ignore_parse_errors,
        }
    }

    /// The file name extension of the format (`json`, `csv`).
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Json(_) => "json",
            Format::Csv(_) => "csv",
        }
    }
}

impl CsvOptions {
    /// A CSV reader configured by these options (for streams of CSV records).
    pub fn reader_builder(&self) -> ::csv::ReaderBuilder {
        let mut b = ::csv::ReaderBuilder::new();
        b.has_headers(false)
            .flexible(true)
            .delimiter(self.field_delimiter)
            .quoting(self.quote.is_some())
            .quote(self.quote.unwrap_or(b'"'))
            .escape(self.escape)
            .comment(self.allow_comments.then_some(b'#'));
        b
    }
}

// ------------------------------------------------------------------------------------------
// Decoding
// ------------------------------------------------------------------------------------------

/// Decodes records of one format into rows `R`. Not shared between threads: it learns
/// about `R` as it goes (which CSV columns are strings).
pub struct Decoder<R> {
    kind: DecoderKind,
    _row: PhantomData<fn() -> R>,
}

enum DecoderKind {
    Json { opts: JsonOptions, fields: &'static [&'static str] },
    Csv { opts: CsvOptions, state: CsvState, record: ::csv::ByteRecord, builder: ::csv::ReaderBuilder },
}

impl<R: DeserializeOwned> Decoder<R> {
    /// A decoder for `format`.
    pub fn new(format: &Format) -> Self {
        let kind = match format {
            Format::Json(opts) => DecoderKind::Json { opts: opts.clone(), fields: struct_fields::<R>() },
            Format::Csv(opts) => DecoderKind::Csv {
                opts: opts.clone(),
                state: CsvState::default(),
                record: ::csv::ByteRecord::new(),
                builder: opts.reader_builder(),
            },
        };
        Decoder { kind, _row: PhantomData }
    }

    /// Decodes one record (a JSON object, or one CSV record; a trailing newline is fine).
    pub fn decode(&mut self, record: &[u8]) -> Result<R, String> {
        match &mut self.kind {
            DecoderKind::Json { opts, fields } => decode_json(opts, fields, record),
            DecoderKind::Csv { opts, state, record: rec, builder } => {
                let mut reader = builder.from_reader(record);
                match reader.read_byte_record(rec) {
                    Ok(true) => decode_csv(opts, state, rec),
                    Ok(false) => Err("empty record".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }

    /// Decodes one record given as text.
    pub fn decode_str(&mut self, record: &str) -> Result<R, String> {
        self.decode(record.as_bytes())
    }

    /// Decodes a CSV record already split into fields (reading a CSV stream).
    pub fn decode_csv_record(&mut self, record: &::csv::ByteRecord) -> Result<R, String> {
        match &mut self.kind {
            DecoderKind::Csv { opts, state, .. } => decode_csv(opts, state, record),
            DecoderKind::Json { .. } => Err("not a CSV decoder".into()),
        }
    }
}

/// The field names of a struct `R` (empty if `R` is not a struct).
fn struct_fields<R: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a Cell<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.set(fields);
            Err(de::Error::custom("probed"))
        }
        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let fields = Cell::new(&[][..]);
    let _ = R::deserialize(Probe(&fields));
    fields.get()
}

// ------------------------------------------------------------------------------------------
// Encoding
// ------------------------------------------------------------------------------------------

/// Encodes rows as records of one format.
pub struct Encoder {
    kind: EncoderKind,
    columns: Vec<Column>,
}

enum EncoderKind {
    Json(JsonOptions),
    Csv { opts: CsvOptions, style: TextStyle, text: String },
}

impl Encoder {
    /// An encoder for `format` and a table of `columns` (used to write DECIMALs with their
    /// scale and TIMESTAMP_LTZ values with their `Z`).
    pub fn new(format: &Format, columns: &[Column]) -> Self {
        let kind = match format {
            Format::Json(opts) => EncoderKind::Json(opts.clone()),
            Format::Csv(opts) => {
                let style = TextStyle {
                    print: false,
                    null: opts.null_literal.clone().unwrap_or_default(),
                    separator: opts.array_delimiter.clone(),
                };
                EncoderKind::Csv { opts: opts.clone(), style, text: String::new() }
            }
        };
        Encoder { kind, columns: columns.to_vec() }
    }

    /// Appends `row` as one record to `out`, without a line terminator.
    pub fn encode<R: Serialize + ?Sized>(&mut self, row: &R, out: &mut Vec<u8>) -> Result<(), String> {
        match &mut self.kind {
            EncoderKind::Json(opts) => {
                let start = out.len();
                out.push(b'{');
                let mut fields = JsonFields { out: &mut *out, first: true, columns: &self.columns, opts };
                match row.serialize(Splitter { fields: &mut fields, index: 0 }) {
                    Ok(()) => out.push(b'}'),
                    Err(_) => {
                        // Not a struct: plain serde.
                        out.truncate(start);
                        serde_json::to_writer(&mut *out, row).map_err(|e| e.to_string())?;
                    }
                }
                Ok(())
            }
            EncoderKind::Csv { opts, style, text } => {
                let mut fields = CsvFields { out, opts, text, style, columns: &self.columns, first: true };
                row.serialize(Splitter { fields: &mut fields, index: 0 }).map_err(|e| e.0)
            }
        }
    }
}

/// Receives the top-level fields of a row, in order.
pub(crate) trait FieldVisitor {
    /// One field: its position, its name (empty for tuples) and its value.
    fn field<T: ?Sized + Serialize>(&mut self, index: usize, name: &'static str, value: &T) -> Result<(), SerError>;
}

/// Serialization errors.
#[derive(Debug)]
pub(crate) struct SerError(pub(crate) String);

impl ser::Error for SerError {
    fn custom<T: Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

impl Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

fn not_a_row() -> SerError {
    SerError("a row must serialize as a struct".into())
}

/// A serializer that takes a row struct (or tuple) apart into its fields.
pub(crate) struct Splitter<'a, F> {
    pub(crate) fields: &'a mut F,
    pub(crate) index: usize,
}

macro_rules! reject {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<(), SerError> { Err(not_a_row()) }
    )*};
}

impl<'a, F: FieldVisitor> Serializer for Splitter<'a, F> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = Impossible<(), SerError>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Impossible<(), SerError>;
    type SerializeMap = Impossible<(), SerError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), SerError>;
    reject! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64); serialize_f32(f32);
        serialize_f64(f64); serialize_char(char); serialize_str(&str); serialize_bytes(&[u8]); serialize_none();
        serialize_unit(); serialize_unit_struct(&'static str); serialize_unit_variant(&'static str, u32, &'static str);
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), SerError> {
        Err(not_a_row())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Result<(), SerError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), SerError> {
        Err(not_a_row())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SerError> {
        Err(not_a_row())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, SerError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, SerError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, SerError> {
        Err(not_a_row())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SerError> {
        Err(not_a_row())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, SerError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, SerError> {
        Err(not_a_row())
    }
}

impl<F: FieldVisitor> ser::SerializeStruct for Splitter<'_, F> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), SerError> {
        self.index += 1;
        self.fields.field(self.index - 1, key, value)
    }
    fn end(self) -> Result<(), SerError> {
        Ok(())
    }
}

impl<F: FieldVisitor> ser::SerializeTuple for Splitter<'_, F> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), SerError> {
        self.index += 1;
        self.fields.field(self.index - 1, "", value)
    }
    fn end(self) -> Result<(), SerError> {
        Ok(())
    }
}

impl<F: FieldVisitor> ser::SerializeTupleStruct for Splitter<'_, F> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), SerError> {
        ser::SerializeTuple::serialize_element(self, value)
    }
    fn end(self) -> Result<(), SerError> {
        Ok(())
    }
}

/// An error for a sink whose row could not be encoded.
pub(crate) fn write_error(table: &str, reason: impl Into<String>) -> Error {
    Error::Write { table: table.to_string(), reason: reason.into() }
}
