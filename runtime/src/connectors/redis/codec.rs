//! Values as text, the way Redis holds them in keys, hash fields and raw strings, and back.
//!
//! Writing: a scalar is its text — strings as they are, integers and floats as Rust prints
//! them (`42`, `-1.5`, `1e-7` as `0.0000001`, `NaN`, `inf`), booleans `true`/`false`,
//! dates, times and timestamps as the JSON format writes them (`2024-01-31`, `12:00:00.5`,
//! `2024-01-31 12:00:00.5`), DECIMALs as plain numbers (`12.5`; the digits the value has
//! when a double would not be exact). NULL is no text. ARRAY, MAP and ROW values are JSON.
//!
//! Reading ([`RowDe`]): every field's text is parsed as the type its column wants.

use crate::connectors::format::{FieldVisitor, SerError, Splitter};
use crate::types::{Date, Decimal, Str, Time, Timestamp};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::ser::{self, Impossible, Serialize, Serializer};
use std::fmt::Display;

/// The text of a key part, exactly as the sink writes it into a key (see the module
/// documentation of [`redis`](super)): generated lookups call it on the non-NULL values of
/// their key columns so that they find what the sink wrote.
pub trait KeyText {
    /// The text.
    fn key_text(&self) -> String;
}

macro_rules! key_text {
    ($($ty:ty),*) => {$(
        impl KeyText for $ty {
            fn key_text(&self) -> String {
                value_text(self).ok().flatten().unwrap_or_default()
            }
        }
    )*};
}

key_text!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool, Str, String, str, Decimal, Date, Time, Timestamp);

impl<T: KeyText + ?Sized> KeyText for &T {
    fn key_text(&self) -> String {
        (**self).key_text()
    }
}

/// The text of a value: `None` for NULL; compound values (ARRAY, MAP, ROW) as JSON.
pub(crate) fn value_text<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, String> {
    match value.serialize(ScalarText) {
        Ok(text) => Ok(text),
        Err(NotScalar) => serde_json::to_string(value).map(Some).map_err(|e| e.to_string()),
    }
}

/// Not a scalar: written as JSON instead.
#[derive(Debug)]
pub(crate) struct NotScalar;

impl Display for NotScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a scalar")
    }
}

impl std::error::Error for NotScalar {}

impl ser::Error for NotScalar {
    fn custom<T: Display>(_: T) -> Self {
        NotScalar
    }
}

/// Serializes a scalar into its text.
struct ScalarText;

macro_rules! display {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method(self, v: $ty) -> Result<Option<String>, NotScalar> {
            Ok(Some(v.to_string()))
        }
    )*};
}

macro_rules! compound {
    ($($method:ident($($arg:ty),*) -> $out:ty;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$out, NotScalar> {
            Err(NotScalar)
        }
    )*};
}

type No = Impossible<Option<String>, NotScalar>;

impl Serializer for ScalarText {
    type Ok = Option<String>;
    type Error = NotScalar;
    type SerializeSeq = No;
    type SerializeTuple = No;
    type SerializeTupleStruct = No;
    type SerializeTupleVariant = No;
    type SerializeMap = No;
    type SerializeStruct = No;
    type SerializeStructVariant = No;
    display! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_i128(i128); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
        serialize_u128(u128); serialize_f32(f32); serialize_f64(f64); serialize_char(char); serialize_str(&str);
    }
    compound! {
        serialize_bytes(&[u8]) -> Option<String>;
        serialize_seq(Option<usize>) -> No;
        serialize_tuple(usize) -> No;
        serialize_tuple_struct(&'static str, usize) -> No;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> No;
        serialize_map(Option<usize>) -> No;
        serialize_struct(&'static str, usize) -> No;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> No;
    }
    fn collect_str<T: ?Sized + Display>(self, v: &T) -> Result<Option<String>, NotScalar> {
        Ok(Some(v.to_string()))
    }
    fn serialize_none(self) -> Result<Option<String>, NotScalar> {
        Ok(None)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<Option<String>, NotScalar> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Option<String>, NotScalar> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Option<String>, NotScalar> {
        Ok(None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Option<String>, NotScalar> {
        Ok(Some(variant.to_string()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Option<String>, NotScalar> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Option<String>, NotScalar> {
        Err(NotScalar)
    }
}

/// A row's columns as text, in order: `(name, None)` for NULL.
pub(crate) type RowText = Vec<(&'static str, Option<String>)>;

/// The columns of `row` (a struct with named fields) as text.
pub(crate) fn row_text<R: Serialize + ?Sized>(row: &R, out: &mut RowText) -> Result<(), String> {
    struct Fields<'a>(&'a mut RowText);
    impl FieldVisitor for Fields<'_> {
        fn field<T: ?Sized + Serialize>(&mut self, _: usize, name: &'static str, value: &T) -> Result<(), SerError> {
            if name.is_empty() {
                return Err(SerError("a row must be a struct with named fields".into()));
            }
            self.0.push((name, value_text(value).map_err(|e| SerError(format!("column `{name}`: {e}")))?));
            Ok(())
        }
    }
    out.clear();
    row.serialize(Splitter { fields: &mut Fields(out), index: 0 }).map_err(|e| e.0)
}

// ------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------

/// A row read from named texts: each field of the row struct takes the text of the entry
/// with its name (absent: NULL), parsed as the field's type wants it.
pub(crate) struct RowDe<'a> {
    pub(crate) entries: &'a [(&'a str, &'a str)],
}

/// Errors of [`RowDe`].
pub(crate) type DeError = de::value::Error;

impl<'de> Deserializer<'de> for RowDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let names: Vec<&str> = self.entries.iter().map(|e| e.0).collect();
        visitor.visit_map(Entries { names: names.into_iter(), entries: self.entries, current: "" })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let present: Vec<&str> = fields.iter().copied().filter(|f| self.entries.iter().any(|e| e.0 == *f)).collect();
        visitor.visit_map(Entries { names: present.into_iter(), entries: self.entries, current: "" })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

struct Entries<'a, I> {
    names: I,
    entries: &'a [(&'a str, &'a str)],
    current: &'a str,
}

impl<'de, 'a, I: Iterator<Item = &'a str>> MapAccess<'de> for Entries<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match self.names.next() {
            None => Ok(None),
            Some(name) => {
                self.current = name;
                let name: de::value::StrDeserializer<'_, DeError> = name.into_deserializer();
                seed.deserialize(name).map(Some)
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let name = self.current;
        let text = self.entries.iter().find(|e| e.0 == name).map(|e| e.1);
        seed.deserialize(FieldDe(text)).map_err(|e| de::Error::custom(format!("column `{name}`: {e}")))
    }
}

/// One field's text (`None`: NULL).
struct FieldDe<'a>(Option<&'a str>);

impl FieldDe<'_> {
    fn text(&self) -> Result<&str, DeError> {
        self.0.ok_or_else(|| de::Error::custom("is NULL"))
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, DeError> {
        let text = self.text()?;
        text.trim().parse().map_err(|_| de::Error::custom(format!("'{text}' is not {what}")))
    }

    /// A compound value (ARRAY, MAP, ROW), written as JSON.
    fn json(&self) -> Result<serde_json::Value, DeError> {
        let text = self.text()?;
        serde_json::from_str(text).map_err(|e| de::Error::custom(format!("'{text}' is not JSON: {e}")))
    }
}

macro_rules! parse_as {
    ($($method:ident => $visit:ident($ty:ty, $what:literal);)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit(self.parse::<$ty>($what)?)
        }
    )*};
}

macro_rules! from_json {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, DeError> {
            self.json()?.$method($($arg,)* visitor).map_err(de::Error::custom)
        }
    )*};
}

impl<'de> Deserializer<'de> for FieldDe<'_> {
    type Error = DeError;

    /// Text: DECIMAL and anything else that takes what it is given reads the text.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            None => visitor.visit_none(),
            Some(t) => visitor.visit_str(t),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            None => visitor.visit_none(),
            Some(_) => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let text = self.text()?;
        match text.trim() {
            t if t.eq_ignore_ascii_case("true") => visitor.visit_bool(true),
            t if t.eq_ignore_ascii_case("false") => visitor.visit_bool(false),
            _ => Err(de::Error::custom(format!("'{text}' is not true or false"))),
        }
    }

    parse_as! {
        deserialize_i8 => visit_i8(i8, "a TINYINT");
        deserialize_i16 => visit_i16(i16, "a SMALLINT");
        deserialize_i32 => visit_i32(i32, "an INT");
        deserialize_i64 => visit_i64(i64, "a BIGINT");
        deserialize_i128 => visit_i128(i128, "an integer");
        deserialize_u8 => visit_u8(u8, "an integer from 0 to 255");
        deserialize_u16 => visit_u16(u16, "a non-negative integer");
        deserialize_u32 => visit_u32(u32, "a non-negative integer");
        deserialize_u64 => visit_u64(u64, "a non-negative integer");
        deserialize_u128 => visit_u128(u128, "a non-negative integer");
        deserialize_f32 => visit_f32(f32, "a FLOAT");
        deserialize_f64 => visit_f64(f64, "a DOUBLE");
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    from_json! {
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::types::time::{parse_date, parse_time, parse_timestamp};

    /// A row of every type a lookup or sink row has.
    #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
    pub(crate) struct Every {
        #[serde(default)]
        pub(crate) t: Option<i8>,
        #[serde(default)]
        pub(crate) s: Option<i16>,
        #[serde(default)]
        pub(crate) i: Option<i32>,
        #[serde(default)]
        pub(crate) b: Option<i64>,
        #[serde(default)]
        pub(crate) f: Option<f32>,
        #[serde(default)]
        pub(crate) d: Option<f64>,
        #[serde(default)]
        pub(crate) ok: Option<bool>,
        #[serde(default)]
        pub(crate) name: Option<Str>,
        #[serde(default)]
        pub(crate) amount: Option<Decimal>,
        #[serde(default)]
        pub(crate) day: Option<Date>,
        #[serde(default)]
        pub(crate) at: Option<Time>,
        #[serde(default)]
        pub(crate) ts: Option<Timestamp>,
        #[serde(default)]
        pub(crate) tags: Option<Vec<Option<Str>>>,
        #[serde(default)]
        pub(crate) bytes: Option<Vec<u8>>,
    }

    pub(crate) fn every() -> Every {
        Every {
            t: Some(-8),
            s: Some(1_600),
            i: Some(-32_000_000),
            b: Some(9_007_199_254_740_993),
            f: Some(0.1),
            d: Some(-1.5e-7),
            ok: Some(true),
            name: Some(Str::new("a:b {c} ü")),
            amount: Some("12345678901234567890.50".parse().unwrap()),
            day: parse_date("2024-02-29"),
            at: parse_time("23:59:58.123456"),
            ts: parse_timestamp("2024-02-29 23:59:58.5"),
            tags: Some(vec![Some("x".into()), None]),
            bytes: Some(vec![0, 255]),
        }
    }

    fn text(row: &Every) -> RowText {
        let mut out = Vec::new();
        row_text(row, &mut out).unwrap();
        out
    }

    fn read(entries: &[(&str, &str)]) -> Result<Every, DeError> {
        serde::Deserialize::deserialize(RowDe { entries })
    }

    #[test]
    fn every_type_has_its_text() {
        let t = text(&every());
        let got: Vec<(&str, Option<&str>)> = t.iter().map(|(n, v)| (*n, v.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("t", Some("-8")),
                ("s", Some("1600")),
                ("i", Some("-32000000")),
                ("b", Some("9007199254740993")),
                ("f", Some("0.1")),
                ("d", Some("-0.00000015")),
                ("ok", Some("true")),
                ("name", Some("a:b {c} ü")),
                ("amount", Some("12345678901234567890.50")),
                ("day", Some("2024-02-29")),
                ("at", Some("23:59:58.123456")),
                ("ts", Some("2024-02-29 23:59:58.500")),
                ("tags", Some(r#"["x",null]"#)),
                ("bytes", Some("[0,255]")),
            ]
        );
        let nulls = text(&Every::default());
        assert!(nulls.iter().all(|(_, v)| v.is_none()) && nulls.len() == 14);
    }

    #[test]
    fn key_text_is_the_text_the_sink_writes() {
        let row = every();
        let t = text(&row);
        let of = |name: &str| t.iter().find(|f| f.0 == name).unwrap().1.clone().unwrap();
        assert_eq!(row.t.unwrap().key_text(), of("t"));
        assert_eq!(row.s.unwrap().key_text(), of("s"));
        assert_eq!(row.i.unwrap().key_text(), of("i"));
        assert_eq!(row.b.unwrap().key_text(), of("b"));
        assert_eq!(row.f.unwrap().key_text(), of("f"));
        assert_eq!(row.d.unwrap().key_text(), of("d"));
        assert_eq!(row.ok.unwrap().key_text(), of("ok"));
        assert_eq!(row.name.as_ref().unwrap().key_text(), of("name"));
        assert_eq!(row.amount.unwrap().key_text(), of("amount"));
        assert_eq!(row.day.unwrap().key_text(), of("day"));
        assert_eq!(row.at.unwrap().key_text(), of("at"));
        assert_eq!(row.ts.unwrap().key_text(), of("ts"));
        // The forms themselves.
        assert_eq!(false.key_text(), "false");
        assert_eq!(f64::NAN.key_text(), "NaN");
        assert_eq!(f64::NEG_INFINITY.key_text(), "-inf");
        assert_eq!(1e21f64.key_text(), "1000000000000000000000");
        // DECIMALs a double holds exactly are written as that double.
        assert_eq!("1.50".parse::<Decimal>().unwrap().key_text(), "1.5");
        assert_eq!(Decimal::from_i64(-7).key_text(), "-7");
        assert_eq!(parse_timestamp("2024-01-01 00:00:00").unwrap().key_text(), "2024-01-01 00:00:00");
        assert_eq!("x".key_text(), "x");
        assert_eq!((&&7i32).key_text(), "7");
    }

    #[test]
    fn every_type_reads_back_from_its_text() {
        for row in [every(), Every::default(), Every { name: Some("".into()), ..Every::default() }] {
            let t = text(&row);
            let entries: Vec<(&str, &str)> = t.iter().filter_map(|(n, v)| Some((*n, v.as_deref()?))).collect();
            assert_eq!(read(&entries).unwrap(), row);
        }
        // Extra fields are ignored; absent ones are NULL.
        let row = read(&[("i", " 5 "), ("other", "x"), ("ok", "FALSE")]).unwrap();
        assert_eq!(row, Every { i: Some(5), ok: Some(false), ..Every::default() });
        // Floats as Rust and as Java print them.
        assert_eq!(read(&[("d", "1.0E7"), ("f", "inf")]).unwrap().d, Some(1e7));
        assert!(read(&[("d", "NaN")]).unwrap().d.unwrap().is_nan());
        // DECIMALs keep their digits.
        assert_eq!(read(&[("amount", "0.10")]).unwrap().amount.unwrap().to_string(), "0.10");
    }

    #[test]
    fn a_field_that_does_not_parse_names_its_column() {
        let cases = [
            (("i", "x1"), "column `i`: 'x1' is not an INT"),
            (("t", "300"), "column `t`: '300' is not a TINYINT"),
            (("ok", "yes"), "column `ok`: 'yes' is not true or false"),
            (("d", ""), "column `d`: '' is not a DOUBLE"),
            (("ts", "yesterday"), "column `ts`: 'yesterday' is not a timestamp"),
            (("day", "2023-02-29"), "column `day`: '2023-02-29' is not a date"),
            (("amount", "1,5"), "column `amount`: '1,5' is not a decimal number"),
            (("tags", "[1"), "column `tags`: '[1' is not JSON"),
        ];
        for ((name, value), expected) in cases {
            let e = read(&[(name, value)]).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{name}={value}: {e}");
        }
    }

    #[test]
    fn rows_must_have_named_fields() {
        let mut out = Vec::new();
        assert!(row_text(&(1, 2), &mut out).unwrap_err().contains("named fields"));
        assert!(row_text(&5, &mut out).is_err());
    }
}
